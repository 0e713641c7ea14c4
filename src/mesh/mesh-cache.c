/* The peer cache (mesh-cache.h): the member table as JSON, so a restarted
 * daemon reconnects before any discovery layer answers.
 *
 *   {"version": 1, "members": [{"announcement": "<base64>",
 *                               "endpoint": "192.0.2.1:51820",
 *                               "last_seen": 1700000000}, ...]}
 *
 * The file is ours, but it outlives the process that wrote it: a crash, a
 * full disk or a hand edit may have left anything in it.  So an entry that
 * does not parse costs that entry only, and everything is capped (8 MiB,
 * 4096 entries; a 50-member mesh writes about 50 kB). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sodium.h>

#include "mesh-cache.h"
#include "util/atomic-file.h"

#define CACHE_VERSION 1
#define MESH_CACHE_ERROR (g_quark_from_static_string("mesh-cache-error"))
/* "[" + 39 characters of IPv6 + "]:" + 5 digits + NUL */
#define ENDPOINT_STR_MAX 64

/* ---- endpoints as text ----------------------------------------------------- */

static void endpoint_format(const struct sig_addr *a, char out[ENDPOINT_STR_MAX])
{
	char host[INET6_ADDRSTRLEN];
	bool v6 = a->family == AF_INET6;

	inet_ntop(a->family, a->addr, host, sizeof(host));
	g_snprintf(out, ENDPOINT_STR_MAX, "%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "", a->port);
}

static bool port_parse(const char *s, uint16_t *ret)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > 65535)
		return false;
	*ret = (uint16_t)v;
	return true;
}

/* "ADDR:PORT" or "[V6]:PORT"; the brackets make the last colon the
 * port's, whatever the address holds. */
static bool endpoint_parse(const char *s, struct sig_addr *ret)
{
	char host[INET6_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	size_t host_len;
	bool v6 = s[0] == '[';

	if (!colon)
		return false;
	host_len = (size_t)(colon - s);
	if (v6 && (host_len < 2 || s[host_len - 1] != ']'))
		return false;
	if (v6)
		s++, host_len -= 2;
	if (host_len >= sizeof(host))
		return false;
	memcpy(host, s, host_len);
	host[host_len] = '\0';
	memset(ret, 0, sizeof(*ret));
	ret->family = v6 ? AF_INET6 : AF_INET;
	return inet_pton(ret->family, host, ret->addr) == 1 && port_parse(colon + 1, &ret->port);
}

/* ---- saving ---------------------------------------------------------------- */

static JsonNode *entry_to_json(const struct mesh_cache_entry *e)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	char b64[sodium_base64_ENCODED_LEN(MESH_ANNOUNCE_MAX, sodium_base64_VARIANT_ORIGINAL)];
	char endpoint[ENDPOINT_STR_MAX];

	sodium_bin2base64(b64, sizeof(b64), e->announcement, e->announcement_len, sodium_base64_VARIANT_ORIGINAL);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "announcement");
	json_builder_add_string_value(b, b64);
	if (e->has_endpoint) {
		endpoint_format(&e->endpoint, endpoint);
		json_builder_set_member_name(b, "endpoint");
		json_builder_add_string_value(b, endpoint);
	}
	json_builder_set_member_name(b, "last_seen");
	json_builder_add_int_value(b, (gint64)MIN(e->last_seen, (uint64_t)G_MAXINT64));
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

static char *cache_to_text(const struct mesh_cache_entry *entries, size_t n, size_t *ret_len)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "version");
	json_builder_add_int_value(b, CACHE_VERSION);
	json_builder_set_member_name(b, "members");
	json_builder_begin_array(b);
	for (size_t i = 0; i < n; i++)
		json_builder_add_value(b, entry_to_json(&entries[i]));
	json_builder_end_array(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	return json_generator_to_data(gen, ret_len);
}

bool mesh_cache_save(const char *path, const struct mesh_cache_entry *entries, size_t n, GError **error)
{
	size_t len;
	g_autofree char *text = cache_to_text(entries, MIN(n, MESH_CACHE_MAX_ENTRIES), &len);
	int r = atomic_file_write(path, text, len, 0600, NULL, false);

	if (r < 0)
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(-r), "%s: cannot write: %s", path,
			    g_strerror(-r));
	return r == 0;
}

/* ---- loading --------------------------------------------------------------- */

static bool json_uint(JsonObject *o, const char *name, uint64_t *ret)
{
	JsonNode *n = json_object_get_member(o, name);

	if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64 ||
	    json_node_get_int(n) < 0)
		return false;
	*ret = (uint64_t)json_node_get_int(n);
	return true;
}

static const char *json_string(JsonObject *o, const char *name)
{
	JsonNode *n = json_object_get_member(o, name);

	if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(n);
}

static bool announcement_parse(const char *b64, struct mesh_cache_entry *e)
{
	const char *end;

	if (sodium_base642bin(e->announcement, sizeof(e->announcement), b64, strlen(b64), NULL, &e->announcement_len,
			      &end, sodium_base64_VARIANT_ORIGINAL) != 0)
		return false;
	return *end == '\0' && e->announcement_len > 0;
}

static bool too_old(uint64_t last_seen, uint64_t now)
{
	return now > last_seen && now - last_seen > MESH_CACHE_MAX_AGE_S;
}

/* False for an entry to skip. */
static bool entry_from_json(JsonNode *node, uint64_t now, struct mesh_cache_entry *e)
{
	JsonObject *o = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
	const char *ann, *endpoint;

	memset(e, 0, sizeof(*e));
	if (!o || !(ann = json_string(o, "announcement")) || !announcement_parse(ann, e) ||
	    !json_uint(o, "last_seen", &e->last_seen) || too_old(e->last_seen, now))
		return false;
	if (json_object_has_member(o, "endpoint")) {
		endpoint = json_string(o, "endpoint");
		if (!endpoint || !endpoint_parse(endpoint, &e->endpoint))
			return false;
		e->has_endpoint = true;
	}
	return true;
}

static JsonArray *cache_members(JsonNode *root, GError **error)
{
	JsonObject *o = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
	JsonNode *members;
	uint64_t version;

	if (!o) {
		g_set_error(error, MESH_CACHE_ERROR, EINVAL, "not a peer cache (no JSON object)");
		return NULL;
	}
	if (!json_uint(o, "version", &version) || version != CACHE_VERSION) {
		g_set_error(error, MESH_CACHE_ERROR, EINVAL, "not a peer cache of version %d", CACHE_VERSION);
		return NULL;
	}
	members = json_object_get_member(o, "members");
	if (!members || !JSON_NODE_HOLDS_ARRAY(members)) {
		g_set_error(error, MESH_CACHE_ERROR, EINVAL, "not a peer cache (no members list)");
		return NULL;
	}
	return json_node_get_array(members);
}

GArray *mesh_cache_parse(const char *text, size_t len, uint64_t now, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	g_autoptr(GArray) out = g_array_new(FALSE, FALSE, sizeof(struct mesh_cache_entry));
	struct mesh_cache_entry e;
	JsonArray *members;
	guint n;

	if (len > MESH_CACHE_MAX_SIZE) {
		g_set_error(error, MESH_CACHE_ERROR, EFBIG, "longer than %u bytes", MESH_CACHE_MAX_SIZE);
		return NULL;
	}
	if (!json_parser_load_from_data(parser, text, (gssize)len, error))
		return NULL;
	members = cache_members(json_parser_get_root(parser), error);
	if (!members)
		return NULL;
	n = json_array_get_length(members);
	for (guint i = 0; i < n && out->len < MESH_CACHE_MAX_ENTRIES; i++)
		if (entry_from_json(json_array_get_element(members, i), now, &e))
			g_array_append_val(out, e);
	return g_steal_pointer(&out);
}

GArray *mesh_cache_load(const char *path, uint64_t now, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autoptr(GMappedFile) file = g_mapped_file_new(path, FALSE, &local);
	GArray *entries;
	size_t len;

	if (!file && g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
		return g_array_new(FALSE, FALSE, sizeof(struct mesh_cache_entry));
	if (!file) {
		g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}
	len = g_mapped_file_get_length(file);
	entries = mesh_cache_parse(len ? g_mapped_file_get_contents(file) : "", len, now, error);
	if (!entries)
		g_prefix_error(error, "%s: ", path);
	return entries;
}

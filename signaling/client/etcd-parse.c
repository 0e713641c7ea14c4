/* The etcd backend's parsers; see etcd-parse.h. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <json-glib/json-glib.h>

#include "etcd-parse.h"
#include "signaling/sig-envelope.h"

ssize_t etcd_stream_line(const uint8_t *buf, size_t len, size_t *scanned)
{
	size_t end = MIN(len, (size_t)ETCD_LINE_MAX), from = MIN(*scanned, end);
	const uint8_t *nl = memchr(buf + from, '\n', end - from);

	if (nl) {
		*scanned = 0;
		return nl - buf + 1;
	}
	*scanned = end;
	return len >= ETCD_LINE_MAX ? -EMSGSIZE : 0;
}

/* One object, nested at most ETCD_JSON_DEPTH_MAX deep, and nothing after
 * it but blanks.  Not a parser, a guard in front of json-glib 1.6, whose
 * parser recurses (a line of '[' overflows the stack) and which takes
 * several values in a row, keeps the last and leaks the others (a member
 * could make us leak with every line). */
static bool shape_ok(const char *text, size_t len)
{
	unsigned depth = 0;
	bool in_string = false;
	size_t i = 0;

	while (i < len && g_ascii_isspace(text[i]))
		i++;
	if (i == len || text[i] != '{')
		return false;
	for (; i < len; i++) {
		char c = text[i];

		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == '[' || c == '{') {
			if (++depth > ETCD_JSON_DEPTH_MAX)
				return false;
		} else if ((c == ']' || c == '}') && depth > 0 && --depth == 0) {
			break;
		}
	}
	while (++i < len)
		if (!g_ascii_isspace(text[i]))
			return false;
	return true;
}

/* The root object of @text, or NULL. */
static JsonNode *parse_object(const char *text, size_t len)
{
	g_autoptr(JsonParser) parser = NULL;
	JsonNode *root;

	if (len == 0 || len > G_MAXSSIZE || !shape_ok(text, len))
		return NULL;
	parser = json_parser_new_immutable();
	if (!json_parser_load_from_data(parser, text, (gssize)len, NULL))
		return NULL;
	root = json_parser_get_root(parser);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root))
		return NULL;
	return json_node_ref(root);
}

static JsonObject *member_object(JsonObject *o, const char *name)
{
	JsonNode *n = o ? json_object_get_member(o, name) : NULL;

	return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

/* An int64 member ("42" or 42), >= 0; absent is 0.  False for anything
 * else. */
static bool member_int(JsonObject *o, const char *name, int64_t *ret)
{
	JsonNode *n = json_object_get_member(o, name);
	const char *s, *end = NULL;
	guint64 v;

	*ret = 0;
	if (!n || JSON_NODE_HOLDS_NULL(n))
		return true;
	if (!JSON_NODE_HOLDS_VALUE(n))
		return false;
	if (json_node_get_value_type(n) == G_TYPE_INT64) {
		*ret = json_node_get_int(n);
		return *ret >= 0;
	}
	if (json_node_get_value_type(n) != G_TYPE_STRING)
		return false;
	s = json_node_get_string(n);
	if (!g_ascii_isdigit(*s))
		return false;
	errno = 0;
	v = g_ascii_strtoull(s, (char **)&end, 10);
	if (errno || *end || v > G_MAXINT64)
		return false;
	*ret = (int64_t)v;
	return true;
}

static bool member_bool(JsonObject *o, const char *name, bool *ret)
{
	JsonNode *n = json_object_get_member(o, name);

	*ret = false;
	if (!n || JSON_NODE_HOLDS_NULL(n))
		return true;
	if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_BOOLEAN)
		return false;
	*ret = json_node_get_boolean(n);
	return true;
}

/* A string member or NULL (absent, or not a string). */
static const char *member_string(JsonObject *o, const char *name)
{
	JsonNode *n = json_object_get_member(o, name);

	if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(n);
}

/* Standard base64, strictly: g_base64_decode() skips what it does not
 * know, and a key must not match a prefix by accident. */
static GBytes *member_base64(JsonObject *o, const char *name, bool *ok)
{
	const char *s = json_object_has_member(o, name) ? member_string(o, name) : "";
	size_t len, pad = 0;
	gsize out_len;
	guchar *out;

	*ok = s != NULL;
	if (!s)
		return NULL;
	len = strlen(s);
	while (pad < 2 && pad < len && s[len - 1 - pad] == '=')
		pad++;
	*ok = len % 4 == 0 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") ==
				      len - pad;
	if (!*ok)
		return NULL;
	out = len ? g_base64_decode(s, &out_len) : NULL;
	return g_bytes_new_take(out, len ? out_len : 0);
}

static void kv_free(gpointer data)
{
	struct etcd_kv *kv = data;

	g_bytes_unref(kv->key);
	g_bytes_unref(kv->value);
	g_free(kv);
}

static struct etcd_kv *kv_parse(JsonObject *o, bool deleted)
{
	struct etcd_kv kv = { .deleted = deleted };
	bool key_ok, value_ok;

	if (!o || !member_int(o, "mod_revision", &kv.mod_revision))
		return NULL;
	kv.key = member_base64(o, "key", &key_ok);
	kv.value = member_base64(o, "value", &value_ok);
	if (!key_ok || !value_ok) {
		g_clear_pointer(&kv.key, g_bytes_unref);
		g_clear_pointer(&kv.value, g_bytes_unref);
		return NULL;
	}
	return g_memdup2(&kv, sizeof(kv));
}

/* Adds the kvs of the array @name (absent: none) to @out. */
static bool kvs_parse(JsonObject *o, const char *name, bool events, GPtrArray *out)
{
	JsonNode *n = json_object_get_member(o, name);
	JsonArray *a;

	if (!n || JSON_NODE_HOLDS_NULL(n))
		return true;
	if (!JSON_NODE_HOLDS_ARRAY(n))
		return false;
	a = json_node_get_array(n);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonNode *e = json_array_get_element(a, i);
		JsonObject *eo = JSON_NODE_HOLDS_OBJECT(e) ? json_node_get_object(e) : NULL;
		const char *type = events && eo ? member_string(eo, "type") : NULL;
		struct etcd_kv *kv;

		if (!eo || (events && json_object_has_member(eo, "type") && !type))
			return false;
		kv = kv_parse(events ? member_object(eo, "kv") : eo, type && strcmp(type, "DELETE") == 0);
		if (!kv)
			return false;
		g_ptr_array_add(out, kv);
	}
	return true;
}

static bool header_revision(JsonObject *o, int64_t *ret)
{
	JsonObject *header = member_object(o, "header");

	*ret = 0;
	return !json_object_has_member(o, "header") || (header && member_int(header, "revision", ret));
}

/* {"error": {"message": ...}} (mid-stream) or {"error": "...", ...}. */
static char *error_text(JsonObject *o)
{
	JsonObject *e = member_object(o, "error");
	const char *text = e ? member_string(e, "message") : member_string(o, "error");

	return g_strdup(text ? text : "error without a message");
}

static bool watch_result(JsonObject *r, struct etcd_watch_msg *m)
{
	const char *reason;

	if (!header_revision(r, &m->revision) || !member_bool(r, "created", &m->created) ||
	    !member_bool(r, "canceled", &m->canceled) || !member_int(r, "compact_revision", &m->compact_revision) ||
	    !kvs_parse(r, "events", true, m->events))
		return false;
	reason = member_string(r, "cancel_reason");
	if (m->canceled)
		m->error = g_strdup(reason && *reason ? reason : m->compact_revision ? "compacted" : "canceled");
	return true;
}

bool etcd_watch_parse(const char *text, size_t len, struct etcd_watch_msg *ret)
{
	g_autoptr(JsonNode) root = parse_object(text, len);
	struct etcd_watch_msg m = { 0 };
	JsonObject *o, *r;
	bool ok;

	if (!root)
		return false;
	o = json_node_get_object(root);
	r = member_object(o, "result");
	if (!r && !json_object_has_member(o, "error"))
		return false;
	m.events = g_ptr_array_new_with_free_func(kv_free);
	if (r) {
		ok = watch_result(r, &m);
	} else {
		m.error = error_text(o);
		ok = true;
	}
	if (!ok) {
		etcd_watch_msg_clear(&m);
		return false;
	}
	*ret = m;
	return true;
}

void etcd_watch_msg_clear(struct etcd_watch_msg *msg)
{
	g_clear_pointer(&msg->events, g_ptr_array_unref);
	g_clear_pointer(&msg->error, g_free);
}

bool etcd_range_parse(const char *text, size_t len, struct etcd_range *ret)
{
	g_autoptr(JsonNode) root = parse_object(text, len);
	struct etcd_range r = { 0 };
	JsonObject *o;

	if (!root)
		return false;
	o = json_node_get_object(root);
	r.kvs = g_ptr_array_new_with_free_func(kv_free);
	if (!json_object_has_member(o, "header") || !header_revision(o, &r.revision) ||
	    !member_bool(o, "more", &r.more) || !kvs_parse(o, "kvs", false, r.kvs)) {
		etcd_range_clear(&r);
		return false;
	}
	*ret = r;
	return true;
}

void etcd_range_clear(struct etcd_range *range)
{
	g_clear_pointer(&range->kvs, g_ptr_array_unref);
}

bool etcd_lease_parse(const char *text, size_t len, int64_t *ret_id)
{
	g_autoptr(JsonNode) root = parse_object(text, len);
	int64_t id;

	if (!root || !member_int(json_node_get_object(root), "ID", &id) || id == 0)
		return false;
	*ret_id = id;
	return true;
}

bool etcd_take_envelope(const struct etcd_kv *kv, const char *prefix, int64_t seen, const uint8_t **ret_env,
			size_t *ret_len)
{
	size_t prefix_len = strlen(prefix), key_len, len;
	const uint8_t *key = g_bytes_get_data(kv->key, &key_len);
	const uint8_t *value = g_bytes_get_data(kv->value, &len);

	if (kv->mod_revision <= seen || kv->deleted || key_len <= prefix_len ||
	    memcmp(key, prefix, prefix_len) != 0 || len == 0 || len > SIG_ENVELOPE_MAX)
		return false;
	*ret_env = value;
	*ret_len = len;
	return true;
}

int64_t etcd_last_revision(const GPtrArray *kvs, int64_t seen)
{
	for (guint i = 0; i < kvs->len; i++)
		seen = MAX(seen, ((const struct etcd_kv *)g_ptr_array_index(kvs, i))->mod_revision);
	return seen;
}

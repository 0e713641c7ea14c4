/* The control protocol's codec (see control-proto.h). */
#include "config.h"

#include <string.h>

#include "control-proto.h"
#include "wg/wg-key.h"
#include "wg/wg-device.h"

/* Bad input is quoted in errors, but only this much of it. */
#define QUOTE_MAX 64

enum arg_rule {
	ARG_NONE,
	ARG_OPTIONAL,
	ARG_REQUIRED,
};

static const struct {
	const char *name;
	bool changes;
	enum arg_rule interface, peer, secret;
} commands[] = {
	[CONTROL_SHOW] = { "show", false, ARG_OPTIONAL, ARG_OPTIONAL },
	[CONTROL_MONITOR] = { "monitor", false, ARG_NONE, ARG_NONE },
	[CONTROL_ADD] = { "add", true, ARG_REQUIRED, ARG_NONE },
	[CONTROL_DELETE] = { "delete", true, ARG_REQUIRED, ARG_NONE },
	[CONTROL_RESTART] = { "restart", true, ARG_REQUIRED, ARG_REQUIRED },
	[CONTROL_SYNC] = { "sync", true, ARG_OPTIONAL, ARG_NONE },
	[CONTROL_RELOAD] = { "reload", true, ARG_NONE, ARG_NONE },
	[CONTROL_MESH_LEAVE] = { "mesh-leave", true, ARG_NONE, ARG_NONE },
	[CONTROL_MESH_ROTATE] = { "mesh-rotate", true, ARG_NONE, ARG_NONE, ARG_REQUIRED },
	/* one echo request through the tunnel: reading, like show */
	[CONTROL_PING] = { "ping", false, ARG_REQUIRED, ARG_REQUIRED },
};

const char *control_command_name(enum control_command command)
{
	return command < G_N_ELEMENTS(commands) ? commands[command].name : "?";
}

bool control_command_changes(enum control_command command)
{
	return command >= G_N_ELEMENTS(commands) || commands[command].changes;
}

/* @s (at most @len bytes) escaped and cut short, for an error message. */
static char *quote(const char *s, size_t len)
{
	g_autofree char *cut = g_strndup(s, MIN(len, QUOTE_MAX));
	g_autofree char *escaped = g_strescape(cut, NULL);

	return g_strdup_printf("'%s'%s", escaped, len > QUOTE_MAX ? "..." : "");
}

static bool fail(GError **error, const char *what, const char *bad, const char *why)
{
	g_autofree char *q = quote(bad, strlen(bad));

	g_set_error(error, CONTROL_ERROR, 1, "%s %s: %s", what, q, why);
	return false;
}

/* The string value of member @name, NULL when absent; false when present
 * but not a string. */
static bool string_member(JsonObject *obj, const char *name, const char **ret, GError **error)
{
	JsonNode *node = json_object_get_member(obj, name);

	*ret = NULL;
	if (!node)
		return true;
	if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING) {
		g_set_error(error, CONTROL_ERROR, 1, "member \"%s\" must be a string", name);
		return false;
	}
	*ret = json_node_get_string(node);
	return true;
}

static bool parse_command(const char *name, enum control_command *ret, GError **error)
{
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
		if (strcmp(name, commands[i].name) == 0) {
			*ret = (enum control_command)i;
			return true;
		}
	return fail(error, "unknown command", name,
		    "expected show, monitor, add, delete, restart, sync, reload, mesh-leave, mesh-rotate or ping");
}

static bool check_members(JsonObject *obj, GError **error)
{
	static const char *const known[] = { "command", "interface", "peer", "secret", "grace", NULL };
	g_autoptr(GList) members = json_object_get_members(obj);

	for (GList *l = members; l; l = l->next)
		if (!g_strv_contains(known, l->data))
			return fail(error, "unknown member", l->data, "expected command, interface, peer, secret or grace");
	return true;
}

static bool check_rule(enum arg_rule rule, const char *value, const char *member, const char *command,
		       GError **error)
{
	if (rule == ARG_REQUIRED && !value) {
		g_set_error(error, CONTROL_ERROR, 1, "command '%s' needs \"%s\"", command, member);
		return false;
	}
	if (rule == ARG_NONE && value) {
		g_set_error(error, CONTROL_ERROR, 1, "command '%s' takes no \"%s\"", command, member);
		return false;
	}
	return true;
}

/* "secret" is never quoted back: it would reach a log. */
static bool parse_rotation(JsonObject *obj, struct control_request *req, GError **error)
{
	const char *name = commands[req->command].name;
	JsonNode *grace = json_object_get_member(obj, "grace");
	const char *secret;

	if (!string_member(obj, "secret", &secret, error) ||
	    !check_rule(commands[req->command].secret, secret, "secret", name, error))
		return false;
	if (grace && commands[req->command].secret == ARG_NONE) {
		g_set_error(error, CONTROL_ERROR, 1, "command '%s' takes no \"grace\"", name);
		return false;
	}
	if (secret && strlen(secret) > CONTROL_SECRET_MAX) {
		g_set_error(error, CONTROL_ERROR, 1, "member \"secret\" is longer than a mesh secret");
		return false;
	}
	if (grace && (!JSON_NODE_HOLDS_VALUE(grace) || json_node_get_value_type(grace) != G_TYPE_INT64 ||
		      json_node_get_int(grace) < 1 || json_node_get_int(grace) > CONTROL_GRACE_MAX_S)) {
		g_set_error(error, CONTROL_ERROR, 1, "member \"grace\" must be a number of seconds from 1 to %u",
			    CONTROL_GRACE_MAX_S);
		return false;
	}
	if (secret)
		g_strlcpy(req->secret, secret, sizeof(req->secret));
	req->grace_s = grace ? (uint32_t)json_node_get_int(grace) : CONTROL_GRACE_DEFAULT_S;
	return true;
}

static bool parse_arguments(JsonObject *obj, struct control_request *req, GError **error)
{
	const char *name = commands[req->command].name;
	const char *ifname, *peer;

	if (!string_member(obj, "interface", &ifname, error) || !string_member(obj, "peer", &peer, error) ||
	    !check_rule(commands[req->command].interface, ifname, "interface", name, error) ||
	    !check_rule(commands[req->command].peer, peer, "peer", name, error))
		return false;
	if (peer && !ifname) {
		g_set_error(error, CONTROL_ERROR, 1, "\"peer\" needs \"interface\"");
		return false;
	}
	if (ifname && !wg_ifname_valid(ifname))
		return fail(error, "invalid interface name", ifname, "1 to 15 bytes, no blanks, '/' or ':'");
	if (ifname)
		g_strlcpy(req->interface, ifname, sizeof(req->interface));
	if (peer && !wg_key_from_base64(req->peer, peer))
		return fail(error, "invalid peer", peer, "expected a base64 public key of 44 characters");
	req->has_peer = peer != NULL;
	return true;
}

JsonObject *control_root_object(JsonParser *parser)
{
	JsonNode *root = json_parser_get_root(parser);

	return root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
}

static JsonObject *parse_object(JsonParser *parser, const char *line, size_t len, GError **error)
{
	g_autoptr(GError) why = NULL;
	g_autofree char *q = NULL;

	if (memchr(line, '\0', len) || !g_utf8_validate(line, (gssize)len, NULL)) {
		g_set_error(error, CONTROL_ERROR, 1, "request is not UTF-8 text");
		return NULL;
	}
	if (!json_parser_load_from_data(parser, line, (gssize)len, &why) || !control_root_object(parser)) {
		q = quote(line, len);
		g_set_error(error, CONTROL_ERROR, 1, "request %s is not a JSON object%s%s", q, why ? ": " : "",
			    why ? why->message : "");
		return NULL;
	}
	return control_root_object(parser);
}

bool control_request_parse(const char *line, size_t len, struct control_request *ret, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	struct control_request req = { 0 };
	JsonObject *obj = parse_object(parser, line, len, error);
	const char *command;

	if (!obj || !check_members(obj, error) || !string_member(obj, "command", &command, error))
		return false;
	if (!command) {
		g_set_error(error, CONTROL_ERROR, 1, "request has no \"command\"");
		return false;
	}
	if (!parse_command(command, &req.command, error) || !parse_arguments(obj, &req, error) ||
	    !parse_rotation(obj, &req, error)) {
		explicit_bzero(&req, sizeof(req));
		return false;
	}
	*ret = req;
	explicit_bzero(&req, sizeof(req));
	return true;
}

/* --- access ------------------------------------------------------------------ */

static bool in_group(const struct control_creds *creds, gid_t gid)
{
	if (creds->gid == gid)
		return true;
	for (size_t i = 0; i < creds->n_groups; i++)
		if (creds->groups[i] == gid)
			return true;
	return false;
}

enum control_access control_access(const struct control_creds *creds, const struct control_policy *policy)
{
	if (creds->uid == 0 || creds->uid == policy->owner)
		return CONTROL_ACCESS_ADMIN;
	if (policy->has_admin_gid && in_group(creds, policy->admin_gid))
		return CONTROL_ACCESS_ADMIN;
	if (in_group(creds, policy->read_gid))
		return CONTROL_ACCESS_READ;
	return CONTROL_ACCESS_NONE;
}

/* --- events ------------------------------------------------------------------ */

const char *wice_event_name(enum wice_event_type type)
{
	static const char *const names[] = {
		"interface-added", "interface-removed", "peer-added", "peer-removed", "peer-state",
		"selected-pair", "backend-up", "backend-down", "config-reloaded", "shutdown",
	};

	return type < G_N_ELEMENTS(names) ? names[type] : "?";
}

static void add_string(JsonBuilder *b, const char *name, const char *value)
{
	if (!value)
		return;
	json_builder_set_member_name(b, name);
	json_builder_add_string_value(b, value);
}

static void add_candidate(JsonBuilder *b, const char *name, const struct wice_event_candidate *c)
{
	if (!c->type)
		return;
	json_builder_set_member_name(b, name);
	json_builder_begin_object(b);
	add_string(b, "type", c->type);
	add_string(b, "address", c->address);
	json_builder_set_member_name(b, "port");
	json_builder_add_int_value(b, c->port);
	json_builder_end_object(b);
}

static char *format_time(gint64 real_time_us)
{
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(real_time_us / G_USEC_PER_SEC);
	g_autofree char *seconds = dt ? g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S") : g_strdup("?");

	return g_strdup_printf("%s.%03dZ", seconds, (int)(real_time_us % G_USEC_PER_SEC / 1000));
}

JsonNode *wice_event_to_json(const struct wice_event *ev, gint64 real_time_us)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autofree char *time = format_time(real_time_us);

	json_builder_begin_object(b);
	add_string(b, "event", wice_event_name(ev->type));
	add_string(b, "time", time);
	add_string(b, "interface", ev->interface);
	add_string(b, "peer", ev->peer);
	add_string(b, "old_state", ev->old_state);
	add_string(b, "state", ev->state);
	add_string(b, "url", ev->url);
	add_string(b, "path", ev->path);
	add_candidate(b, "local", &ev->local);
	add_candidate(b, "remote", &ev->remote);
	add_string(b, "proxy", ev->proxy);
	add_string(b, "reason", ev->reason);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

static const char *member(JsonObject *ev, const char *name)
{
	JsonNode *node = json_object_get_member(ev, name);

	if (!node || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
		return "?";
	return json_node_get_string(node);
}

/* "host 192.0.2.1:4000", "relay [2001:db8::1]:4000" */
static void append_candidate(GString *out, JsonObject *ev, const char *name)
{
	JsonNode *node = json_object_get_member(ev, name);
	JsonObject *c = node && JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
	const char *addr;

	if (!c) {
		g_string_append(out, "?");
		return;
	}
	addr = member(c, "address");
	g_string_append_printf(out, strchr(addr, ':') ? "%s [%s]:%" G_GINT64_FORMAT : "%s %s:%" G_GINT64_FORMAT,
			       member(c, "type"), addr, json_object_get_int_member_with_default(c, "port", 0));
}

static void append_subject(GString *out, JsonObject *ev, bool full_keys)
{
	const char *peer = json_object_has_member(ev, "peer") ? member(ev, "peer") : NULL;

	if (json_object_has_member(ev, "interface"))
		g_string_append(out, member(ev, "interface"));
	if (peer)
		g_string_append_printf(out, "/%.*s", full_keys ? (int)strlen(peer) : 11, peer);
	if (out->len)
		g_string_append(out, ": ");
}

static void append_body(GString *out, JsonObject *ev, const char *name)
{
	if (strcmp(name, "peer-state") == 0) {
		g_string_append_printf(out, "%s -> %s", member(ev, "old_state"), member(ev, "state"));
	} else if (strcmp(name, "selected-pair") == 0) {
		g_string_append(out, "selected pair ");
		append_candidate(out, ev, "local");
		g_string_append(out, " -> ");
		append_candidate(out, ev, "remote");
		g_string_append_printf(out, ", proxy %s", member(ev, "proxy"));
	} else if (g_str_has_prefix(name, "backend-")) {
		g_string_append_printf(out, "signaling %s %s", member(ev, "url"), name + 8);
	} else if (strcmp(name, "config-reloaded") == 0) {
		g_string_append_printf(out, "configuration reloaded from %s", member(ev, "path"));
	} else if (strcmp(name, "shutdown") == 0) {
		g_string_append(out, "shutting down");
	} else {
		/* "interface-added" -> "interface added" */
		g_autofree char *words = g_strdelimit(g_strdup(name), "-", ' ');

		g_string_append(out, words);
	}
}

char *wice_event_describe(JsonObject *ev, bool full_keys)
{
	GString *out = g_string_new(NULL);

	append_subject(out, ev, full_keys);
	append_body(out, ev, member(ev, "event"));
	if (json_object_has_member(ev, "reason"))
		g_string_append_printf(out, " (%s)", member(ev, "reason"));
	return g_string_free(out, FALSE);
}

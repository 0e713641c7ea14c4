/* `wice show [--json] [INTERFACE [PEER]] [dump]`: the daemon's view of its
 * interfaces and peers, read over the control socket.
 *
 * Three forms: a human view in the manner of `wg show` (coloured only on
 * a terminal; with a PEER named, also why its path is what it is: the
 * "why" and "checks" lines from its diagnosis, src/daemon/peer-diag.h),
 * the daemon's JSON as it is (--json, for programs), and a tab-separated
 * dump for scripts, one line per interface and per peer:
 *
 *   INTERFACE  PUBLIC-KEY  LISTEN-PORT  PROXY-MODE
 *   INTERFACE  PEER  STATE  ENDPOINT  LATEST-HANDSHAKE  RX-BYTES  TX-BYTES
 *     PROXY  LOCAL-TYPE  LOCAL-ADDRESS  REMOTE-TYPE  REMOTE-ADDRESS
 *     LOCAL-CANDIDATES  REMOTE-CANDIDATES  RESTARTS  ROLE  REASON
 *
 * Interface lines have 4 fields, peer lines 17; absent values are
 * "(none)", times are seconds since the epoch (0: never), addresses are
 * ADDRESS:PORT with IPv6 addresses in brackets. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "control/control-client.h"
#include "util/terminal.h"

static bool colour;
static bool show_why; /* one peer named: say why its path is what it is */

static const char *str(JsonObject *o, const char *name)
{
	JsonNode *n = o ? json_object_get_member(o, name) : NULL;

	if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(n);
}

static const char *str_or_empty(JsonObject *o, const char *name)
{
	return str(o, name) ? str(o, name) : "";
}

static gint64 num(JsonObject *o, const char *name)
{
	JsonNode *n = o ? json_object_get_member(o, name) : NULL;

	return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_INT64 ? json_node_get_int(n)
											     : 0;
}

static JsonObject *object(JsonObject *o, const char *name)
{
	JsonNode *n = o ? json_object_get_member(o, name) : NULL;

	return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

static GList *elements(JsonObject *o, const char *name)
{
	JsonNode *n = o ? json_object_get_member(o, name) : NULL;

	return n && JSON_NODE_HOLDS_ARRAY(n) ? json_array_get_elements(json_node_get_array(n)) : NULL;
}

/* "192.0.2.1:51820", "[2001:db8::1]:51820" */
static char *format_address(JsonObject *candidate)
{
	const char *addr = str(candidate, "address");

	if (!addr)
		return g_strdup("(none)");
	return g_strdup_printf(strchr(addr, ':') ? "[%s]:%" G_GINT64_FORMAT : "%s:%" G_GINT64_FORMAT, addr,
			       num(candidate, "port"));
}

static char *format_candidate(JsonObject *candidate)
{
	g_autofree char *addr = format_address(candidate);

	bool advertised = json_object_get_boolean_member_with_default(candidate, "advertised", FALSE);

	return g_strdup_printf("%s %s%s", str(candidate, "type") ? str(candidate, "type") : "?", addr,
			       advertised ? " (advertised)" : "");
}

static void append_unit(GString *out, gint64 n, const char *unit)
{
	if (n)
		g_string_append_printf(out, "%s%" G_GINT64_FORMAT " %s%s", out->len ? ", " : "", n, unit,
				       n == 1 ? "" : "s");
}

/* "1 hour, 2 minutes, 5 seconds ago" */
static char *format_ago(gint64 then)
{
	gint64 secs = g_get_real_time() / G_USEC_PER_SEC - then;
	GString *out;

	if (secs <= 0)
		return g_strdup("Now");
	out = g_string_new(NULL);
	append_unit(out, secs / (24 * 3600), "day");
	append_unit(out, secs / 3600 % 24, "hour");
	append_unit(out, secs / 60 % 60, "minute");
	append_unit(out, secs % 60, "second");
	g_string_append(out, " ago");
	return g_string_free(out, FALSE);
}

static char *format_bytes(gint64 n)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	size_t u = 0;

	if (n < 1024)
		return g_strdup_printf("%" G_GINT64_FORMAT " B", n);
	for (v /= 1024; v >= 1024 && u + 1 < G_N_ELEMENTS(units); u++)
		v /= 1024;
	return g_strdup_printf("%.2f %s", v, units[u]);
}

static void G_GNUC_PRINTF(2, 3) field(const char *label, const char *fmt, ...)
{
	va_list ap;

	printf("  %s%s%s: ", terminal_bold(colour), label, terminal_reset(colour));
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* "host,srflx" from an array of type names */
static char *join_types(JsonObject *o, const char *name)
{
	g_autoptr(GList) types = elements(o, name);
	GString *out = g_string_new(NULL);

	for (GList *l = types; l; l = l->next)
		g_string_append_printf(out, "%s%s", out->len ? "," : "", json_node_get_string(l->data));
	return g_string_free(out, FALSE);
}

/* --- the human view --------------------------------------------------------- */

static const char *state_colour(const char *state)
{
	if (g_strcmp0(state, "connected") == 0)
		return terminal_green(colour);
	return g_strcmp0(state, "failed") == 0 || g_strcmp0(state, "closed") == 0 ? terminal_red(colour)
										   : terminal_yellow(colour);
}

static void print_path(JsonObject *peer)
{
	JsonObject *pair = object(peer, "selected_pair");
	JsonObject *mapping = object(peer, "port_mapping");
	g_autofree char *local = NULL, *remote = NULL;

	if (g_strcmp0(str(peer, "reached"), "via") == 0)
		field("reached", "via %s", str(peer, "via") ? str(peer, "via") : "?");
	else if (str(peer, "reached"))
		field("reached", "%s", str(peer, "reached"));
	if (json_object_get_boolean_member_with_default(peer, "learned", FALSE))
		field("learned", "from a router's facts");
	if (pair) {
		local = format_candidate(object(pair, "local"));
		remote = format_candidate(object(pair, "remote"));
		field("selected pair", "%s -> %s", local, remote);
	}
	if (str(peer, "proxy"))
		field("proxy", "%s", str(peer, "proxy"));
	if (str(peer, "relay_allocation"))
		field("relay allocation", "%s", str(peer, "relay_allocation"));
	field("candidates", "%" G_GINT64_FORMAT " local, %" G_GINT64_FORMAT " remote", num(peer, "local_candidates"),
	      num(peer, "remote_candidates"));
	if (mapping)
		field("port mapping", "%s %s -> %s", str(mapping, "protocol") ? str(mapping, "protocol") : "?",
		      str(mapping, "external") ? str(mapping, "external") : "?",
		      str(mapping, "internal") ? str(mapping, "internal") : "?");
	field("role", "%s", str(peer, "role") ? str(peer, "role") : "?");
	field("restarts", "%" G_GINT64_FORMAT, num(peer, "restarts"));
}

static void print_wireguard(JsonObject *peer)
{
	g_autofree char *ago = NULL, *rx = NULL, *tx = NULL;

	if (str(peer, "endpoint"))
		field("endpoint", "%s", str(peer, "endpoint"));
	if (num(peer, "last_handshake")) {
		ago = format_ago(num(peer, "last_handshake"));
		field("latest handshake", "%s", ago);
	}
	if (num(peer, "rx_bytes") || num(peer, "tx_bytes")) {
		rx = format_bytes(num(peer, "rx_bytes"));
		tx = format_bytes(num(peer, "tx_bytes"));
		field("transfer", "%s received, %s sent", rx, tx);
	}
}

/* The mesh of interface @ifname in the show reply, NULL if it has none. */
static JsonObject *find_mesh(JsonObject *root, const char *ifname)
{
	g_autoptr(GList) meshes = elements(root, "mesh");

	for (GList *l = meshes; l; l = l->next)
		if (g_strcmp0(str(json_node_get_object(l->data), "interface"), ifname) == 0)
			return json_node_get_object(l->data);
	return NULL;
}

static JsonObject *find_member(JsonObject *mesh, const char *public_key)
{
	g_autoptr(GList) members = mesh ? elements(mesh, "members") : NULL;

	for (GList *l = members; l; l = l->next)
		if (g_strcmp0(str(json_node_get_object(l->data), "public_key"), public_key) == 0)
			return json_node_get_object(l->data);
	return NULL;
}

static void print_link_addresses(JsonObject *o, const char *label)
{
	JsonObject *link = object(o, "link_addresses");

	if (link)
		field(label, "%s, %s", str(link, "link_local"), str(link, "key"));
}

static void print_member(JsonObject *member)
{
	g_autoptr(GList) routes = elements(member, "routes");
	g_autoptr(GString) text = g_string_new(NULL);
	g_autofree char *ago = format_ago(num(member, "last_seen"));

	g_string_printf(text, "%s, %s, %s", str(member, "hostname"), str(member, "address4"), str(member, "address6"));
	for (GList *l = routes; l; l = l->next)
		g_string_append_printf(text, ", %s", json_node_get_string(l->data));
	g_string_append_printf(text, " (found by %s, heard %s)", str(member, "source"), ago);
	field("member", "%s", text->str);
}

static void print_mesh(JsonObject *mesh)
{
	g_autoptr(GList) members = elements(mesh, "members");

	field("mesh", "network %s, %u members", str(mesh, "network_id"), g_list_length(members) + 1);
	field("this host", "%s, %s, %s", str(mesh, "hostname"), str(mesh, "address4"), str(mesh, "address6"));
}

/* One line per fact the peer told us: "attribute value (subject)". */
static void print_facts(JsonObject *peer)
{
	g_autoptr(GList) facts = elements(peer, "facts");

	for (GList *l = facts; l; l = l->next) {
		JsonObject *f = json_node_get_object(l->data);
		const char *subject = str(f, "subject");
		bool self = g_strcmp0(subject, str(peer, "public_key")) == 0;

		field("fact", "%s%s%s%s%s%s, %" G_GINT64_FORMAT " s left", self ? "" : "about ",
		      self ? "" : (subject ? subject : "?"), self ? "" : ": ", str(f, "attribute"),
		      *str_or_empty(f, "value") ? " " : "", str_or_empty(f, "value"), num(f, "ttl"));
	}
}

/* `wice show IFACE PEER`: why the path is what it is (peer-diag.h). */
static void print_diagnosis(JsonObject *peer)
{
	JsonObject *diag = object(peer, "diagnosis");
	g_autoptr(GList) agents = elements(diag, "agents");

	if (!diag)
		return;
	field("why", "%s", str_or_empty(diag, "verdict"));
	for (GList *l = agents; l; l = l->next) {
		JsonObject *a = json_node_get_object(l->data);
		g_autofree char *local = join_types(a, "local_types"), *remote = join_types(a, "remote_types");

		field("checks", "%s agent: %s -> %s: %s%s%s%s", str_or_empty(a, "agent"), *local ? local : "none",
		      *remote ? remote : "none", str_or_empty(a, "state"), str(a, "reason") ? " (" : "",
		      str_or_empty(a, "reason"), str(a, "reason") ? ")" : "");
	}
}

static void print_peer(JsonObject *peer, JsonObject *mesh)
{
	const char *state = str(peer, "state");
	const char *reason = str(peer, "reason");

	printf("\n%s%speer%s: %s%s%s\n", terminal_yellow(colour), terminal_bold(colour), terminal_reset(colour),
	       terminal_yellow(colour), str(peer, "public_key"), terminal_reset(colour));
	field("ice", "%s%s%s%s%s%s", state_colour(state), state ? state : "?", terminal_reset(colour),
	      reason ? " (" : "", reason ? reason : "", reason ? ")" : "");
	if (json_object_get_boolean_member_with_default(peer, "restart_pending", FALSE))
		field("restart", "pending (the path below stays until the new session has a pair)");
	print_link_addresses(peer, "link addresses");
	if (find_member(mesh, str(peer, "public_key")))
		print_member(find_member(mesh, str(peer, "public_key")));
	print_path(peer);
	print_wireguard(peer);
	print_facts(peer);
	if (show_why)
		print_diagnosis(peer);
}

static char *format_backends(JsonObject *root)
{
	g_autoptr(GList) backends = elements(root, "signaling");
	GString *out = g_string_new(NULL);

	for (GList *l = backends; l; l = l->next) {
		JsonObject *b = json_node_get_object(l->data);
		bool up = json_object_get_boolean_member_with_default(b, "up", FALSE);

		g_string_append_printf(out, "%s%s (%s%s%s)", out->len ? ", " : "", str(b, "url"),
				       up ? terminal_green(colour) : terminal_red(colour), up ? "up" : "down",
				       terminal_reset(colour));
	}
	return g_string_free(out, FALSE);
}

static void print_routing(JsonObject *iface)
{
	JsonObject *relay = object(iface, "relay");
	JsonObject *dropped = object(iface, "facts_dropped");

	if (json_object_get_boolean_member_with_default(iface, "router", FALSE))
		field("router", "yes (tells its peers about each other)");
	if (relay)
		field("relaying", "%" G_GINT64_FORMAT " prefixes, %" G_GINT64_FORMAT " packets forwarded",
		      num(relay, "prefixes"), num(relay, "packets"));
	if (dropped && (num(dropped, "untrusted") || num(dropped, "rejected")))
		field("facts dropped", "%" G_GINT64_FORMAT " untrusted, %" G_GINT64_FORMAT " rejected",
		      num(dropped, "untrusted"), num(dropped, "rejected"));
}

static void print_iface(JsonObject *root, JsonObject *iface, const char *backends, bool first)
{
	g_autoptr(GList) peers = elements(iface, "peers");
	JsonObject *mesh = find_mesh(root, str(iface, "name"));

	printf("%s%s%sinterface%s: %s%s%s\n", first ? "" : "\n", terminal_green(colour), terminal_bold(colour),
	       terminal_reset(colour), terminal_green(colour), str(iface, "name"), terminal_reset(colour));
	field("public key", "%s", str(iface, "public_key") ? str(iface, "public_key") : "(none)");
	field("listening port", "%" G_GINT64_FORMAT, num(iface, "listen_port"));
	field("proxy mode", "%s", str(iface, "proxy_mode") ? str(iface, "proxy_mode") : "?");
	field("signaling", "%s", *backends ? backends : "(none)");
	print_link_addresses(iface, "link addresses");
	print_routing(iface);
	if (mesh)
		print_mesh(mesh);
	for (GList *l = peers; l; l = l->next)
		print_peer(json_node_get_object(l->data), mesh);
}

static void print_human(JsonObject *root)
{
	g_autoptr(GList) ifaces = elements(root, "interfaces");
	g_autofree char *backends = format_backends(root);

	colour = terminal_wants_colour();
	for (GList *l = ifaces; l; l = l->next)
		print_iface(root, json_node_get_object(l->data), backends, l == ifaces);
}

/* --- dump ---------------------------------------------------------------------- */

static const char *or_none(const char *s)
{
	return s && *s ? s : "(none)";
}

static void dump_peer(const char *ifname, JsonObject *peer)
{
	JsonObject *pair = object(peer, "selected_pair");
	JsonObject *local = object(pair, "local"), *remote = object(pair, "remote");
	g_autofree char *laddr = format_address(local), *raddr = format_address(remote);
	g_autofree char *reason = g_strdup(or_none(str(peer, "reason")));

	g_strdelimit(reason, "\t\n\r", ' ');
	printf("%s\t%s\t%s\t%s\t%" G_GINT64_FORMAT "\t%" G_GINT64_FORMAT "\t%" G_GINT64_FORMAT, ifname,
	       or_none(str(peer, "public_key")), or_none(str(peer, "state")), or_none(str(peer, "endpoint")),
	       num(peer, "last_handshake"), num(peer, "rx_bytes"), num(peer, "tx_bytes"));
	printf("\t%s\t%s\t%s\t%s\t%s", or_none(str(peer, "proxy")), or_none(str(local, "type")), laddr,
	       or_none(str(remote, "type")), raddr);
	printf("\t%" G_GINT64_FORMAT "\t%" G_GINT64_FORMAT "\t%" G_GINT64_FORMAT "\t%s\t%s\n",
	       num(peer, "local_candidates"), num(peer, "remote_candidates"), num(peer, "restarts"),
	       or_none(str(peer, "role")), reason);
}

static void print_dump(JsonObject *root)
{
	g_autoptr(GList) ifaces = elements(root, "interfaces");

	for (GList *l = ifaces; l; l = l->next) {
		JsonObject *iface = json_node_get_object(l->data);
		g_autoptr(GList) peers = elements(iface, "peers");
		const char *name = or_none(str(iface, "name"));

		printf("%s\t%s\t%" G_GINT64_FORMAT "\t%s\n", name, or_none(str(iface, "public_key")),
		       num(iface, "listen_port"), or_none(str(iface, "proxy_mode")));
		for (GList *p = peers; p; p = p->next)
			dump_peer(name, json_node_get_object(p->data));
	}
}

static void print_json(JsonObject *root)
{
	g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
	g_autofree char *text = NULL;

	json_object_remove_member(root, "ok");
	json_node_set_object(node, root);
	text = json_to_string(node, FALSE);
	printf("%s\n", text);
}

int cmd_show(int argc, char **argv)
{
	g_autofree char *socket = NULL;
	g_autoptr(JsonNode) request = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;
	gboolean json = FALSE;
	GOptionEntry entries[] = {
		{ "json", 'j', 0, G_OPTION_ARG_NONE, &json, "Print the daemon's JSON", NULL },
		{ 0 }
	};
	bool dump;
	JsonObject *root;

	if (!cmd_parse_client("show", "[INTERFACE [PEER]] [dump]", "show interfaces and peers", entries, 0, 3, &argc,
			      &argv, &socket))
		return 1;
	dump = argc > 1 && strcmp(argv[argc - 1], "dump") == 0;
	if (dump)
		argc--;
	if (argc > 3 || (dump && json)) {
		fprintf(stderr, "wice show: expected [INTERFACE [PEER]] [dump] or --json (see wice show --help)\n");
		return 1;
	}
	request = control_request_new("show", argc > 1 ? argv[1] : NULL, argc > 2 ? argv[2] : NULL);
	root = control_call(control_socket_path(socket), request, parser, &error);
	if (!root) {
		fprintf(stderr, "wice show: %s\n", error->message);
		return 1;
	}
	show_why = argc > 2;
	if (json)
		print_json(root);
	else if (dump)
		print_dump(root);
	else
		print_human(root);
	return 0;
}

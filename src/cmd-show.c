/* `wice show [--json] [-s SOCKET]`: the daemon's view of interfaces and
 * peers, read over the control socket. */
#include "config.h"

#include <errno.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cmd.h"
#include "control.h"

static void print_pair(JsonObject *peer)
{
	JsonNode *pair = json_object_get_member(peer, "selected_pair");
	JsonObject *p, *l, *r;

	if (!pair || JSON_NODE_HOLDS_NULL(pair))
		return;
	p = json_node_get_object(pair);
	l = json_object_get_object_member(p, "local");
	r = json_object_get_object_member(p, "remote");
	printf("  selected pair: %s %s:%" G_GINT64_FORMAT " -> %s %s:%" G_GINT64_FORMAT "\n",
	       json_object_get_string_member(l, "type"), json_object_get_string_member(l, "address"),
	       json_object_get_int_member(l, "port"), json_object_get_string_member(r, "type"),
	       json_object_get_string_member(r, "address"), json_object_get_int_member(r, "port"));
}

static void print_peer(JsonArray *a, guint i, JsonNode *node, gpointer data)
{
	JsonObject *peer = json_node_get_object(node);
	const char *ep = json_object_get_string_member_with_default(peer, "endpoint", NULL);
	const char *proxy = json_object_get_string_member_with_default(peer, "proxy", NULL);

	printf("\npeer: %s\n", json_object_get_string_member(peer, "public_key"));
	printf("  state: %s (%s)\n", json_object_get_string_member(peer, "state"),
	       json_object_get_string_member_with_default(peer, "reason", ""));
	printf("  endpoint: %s\n", ep ? ep : "(none)");
	print_pair(peer);
	printf("  proxy: %s\n", proxy ? proxy : "(none)");
	printf("  transfer: %" G_GINT64_FORMAT " B received, %" G_GINT64_FORMAT " B sent\n",
	       json_object_get_int_member(peer, "rx_bytes"), json_object_get_int_member(peer, "tx_bytes"));
}

static void print_iface(JsonArray *a, guint i, JsonNode *node, gpointer data)
{
	JsonObject *iface = json_node_get_object(node);

	printf("%sinterface: %s\n", i ? "\n" : "", json_object_get_string_member(iface, "name"));
	printf("  public key: %s\n", json_object_get_string_member_with_default(iface, "public_key", "(none)"));
	printf("  listening port: %" G_GINT64_FORMAT "\n", json_object_get_int_member(iface, "listen_port"));
	json_array_foreach_element(json_object_get_array_member(iface, "peers"), print_peer, NULL);
}

static int print_reply(const char *text, bool json)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *root;

	if (!json_parser_load_from_data(parser, text, -1, NULL) || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
		fprintf(stderr, "wice show: malformed reply from the daemon\n");
		return 1;
	}
	root = json_node_get_object(json_parser_get_root(parser));
	if (!json_object_get_boolean_member_with_default(root, "ok", FALSE)) {
		fprintf(stderr, "wice show: %s\n", json_object_get_string_member_with_default(root, "error", "failed"));
		return 1;
	}
	json_object_remove_member(root, "ok");
	if (json) {
		g_autofree char *out = json_to_string(json_parser_get_root(parser), FALSE);

		printf("%s\n", out);
		return 0;
	}
	json_array_foreach_element(json_object_get_array_member(root, "interfaces"), print_iface, NULL);
	return 0;
}

int cmd_show(int argc, char **argv)
{
	g_autofree char *socket_opt = NULL, *reply = NULL;
	gboolean json = FALSE;
	GOptionEntry entries[] = {
		{ "json", 'j', 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
		{ "socket", 's', 0, G_OPTION_ARG_FILENAME, &socket_opt, "Control socket", "PATH" },
		{ 0 }
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("- show interfaces and peers");
	g_autoptr(GError) error = NULL;

	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error) || argc > 1) {
		fprintf(stderr, "wice show: %s\n", error ? error->message : "unexpected arguments");
		return 1;
	}
	reply = control_request(control_socket_path(socket_opt), "{\"command\":\"show\"}", &error);
	if (!reply) {
		fprintf(stderr, "wice show: %s\n", error->message);
		return 1;
	}
	return print_reply(reply, json);
}

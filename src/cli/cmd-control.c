/* The commands that change what the daemon does, each one request over the
 * control socket:
 *   wice add INTERFACE          start managing INTERFACE
 *   wice delete INTERFACE       stop managing it, restoring what wice set
 *   wice restart INTERFACE PEER restart ICE for one peer now
 *   wice sync [INTERFACE]       re-read the WireGuard configuration now
 *   wice reload                 re-read the configuration file
 * They print nothing on success (like `wg set`) and exit 1 with the
 * daemon's reason otherwise.  The option parsing shared by every client
 * command lives here too. */
#include "config.h"

#include <stdio.h>

#include "cmd.h"
#include "control/control-client.h"

bool cmd_parse_client(const char *name, const char *params, const char *summary, GOptionEntry *extra,
		      int min_args, int max_args, int *argc, char ***argv, char **ret_socket)
{
	GOptionEntry entries[] = {
		{ "socket", 's', 0, G_OPTION_ARG_FILENAME, ret_socket,
		  "Control socket (default $WICE_SOCKET or " WICE_DEFAULT_SOCKET ")", "PATH" },
		{ 0 }
	};
	g_autofree char *prgname = g_strdup_printf("wice %s", name);
	g_autofree char *usage = g_strdup_printf("%s%s- %s", params, *params ? " " : "", summary);
	g_autoptr(GOptionContext) ctx = g_option_context_new(usage);
	g_autoptr(GError) error = NULL;

	g_set_prgname(prgname);
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (extra)
		g_option_context_add_main_entries(ctx, extra, NULL);
	if (!g_option_context_parse(ctx, argc, argv, &error)) {
		fprintf(stderr, "wice %s: %s\n", name, error->message);
		return false;
	}
	if (*argc - 1 < min_args || *argc - 1 > max_args) {
		fprintf(stderr, "wice %s: expected %s (see wice %s --help)\n", name, *params ? params : "no arguments",
			name);
		return false;
	}
	return true;
}

/* Sends {"command":@command} (with "interface" and "peer" when given) and
 * reports an error reply as "wice NAME: ..."; 0 or 1 for exit(). */
static int cmd_simple_request(const char *name, const char *socket, const char *command, const char *ifname,
		       const char *peer)
{
	g_autoptr(JsonNode) request = control_request_new(command, ifname, peer);
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;

	if (!control_call(control_socket_path(socket), request, parser, &error)) {
		fprintf(stderr, "wice %s: %s\n", name, error->message);
		return 1;
	}
	return 0;
}

int cmd_add(int argc, char **argv)
{
	g_autofree char *socket = NULL;

	if (!cmd_parse_client("add", "INTERFACE", "start managing a WireGuard interface", NULL, 1, 1, &argc, &argv,
			      &socket))
		return 1;
	return cmd_simple_request("add", socket, "add", argv[1], NULL);
}

int cmd_delete(int argc, char **argv)
{
	g_autofree char *socket = NULL;

	if (!cmd_parse_client("delete", "INTERFACE",
			      "stop managing a WireGuard interface, restoring the endpoints and nftables rules wice set",
			      NULL, 1, 1, &argc, &argv, &socket))
		return 1;
	return cmd_simple_request("delete", socket, "delete", argv[1], NULL);
}

int cmd_restart(int argc, char **argv)
{
	g_autofree char *socket = NULL;

	if (!cmd_parse_client("restart", "INTERFACE PEER", "restart ICE for one peer (PEER: its public key)", NULL,
			      2, 2, &argc, &argv, &socket))
		return 1;
	return cmd_simple_request("restart", socket, "restart", argv[1], argv[2]);
}

int cmd_sync(int argc, char **argv)
{
	g_autofree char *socket = NULL;

	if (!cmd_parse_client("sync", "[INTERFACE]", "re-read the WireGuard configuration now", NULL, 0, 1, &argc,
			      &argv, &socket))
		return 1;
	return cmd_simple_request("sync", socket, "sync", argc > 1 ? argv[1] : NULL, NULL);
}

int cmd_reload(int argc, char **argv)
{
	g_autofree char *socket = NULL;

	if (!cmd_parse_client("reload", "", "re-read the configuration file (as SIGHUP does)", NULL, 0, 0, &argc,
			      &argv, &socket))
		return 1;
	return cmd_simple_request("reload", socket, "reload", NULL, NULL);
}

/* wice: keeps WireGuard peers connected through NATs and firewalls.
 * This file only dispatches to the subcommands. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "wg/wg-key.h"

static const struct wice_cmd commands[] = {
	{ "daemon", cmd_daemon, "Run the daemon that connects WireGuard peers" },
	{ "show", cmd_show, "Show the daemon's interfaces and peers" },
	{ "monitor", cmd_monitor, "Print the daemon's events as they happen" },
	{ "add", cmd_add, "Start managing a WireGuard interface" },
	{ "delete", cmd_delete, "Stop managing a WireGuard interface" },
	{ "restart", cmd_restart, "Restart ICE for one peer" },
	{ "ping", cmd_ping, "Ping a peer through the tunnel and show the path" },
	{ "netcheck", cmd_netcheck, "Check UDP, the NAT in front of this host, port mapping and TURN" },
	{ "sync", cmd_sync, "Re-read the WireGuard configuration now" },
	{ "reload", cmd_reload, "Re-read the configuration file" },
	{ "interfaces", cmd_interfaces, "List the WireGuard interfaces wice can see and their backend" },
	{ "mesh", cmd_mesh, "A mesh from one secret: make it, join, leave, rotate" },
	{ "signal-server", cmd_signal_server, "Run the signal server (and STUN) that daemons behind NATs use" },
	{ "version", cmd_version, "Print the version" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

bool cmd_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return true;
	return false;
}

static void usage(FILE *out, const char *prgname, const struct wice_cmd *cmds, size_t n)
{
	fprintf(out, "Usage: %s <command> [arguments]\n\nCommands:\n", prgname);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "  %-14s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(out, "\nRun '%s <command> --help' for a command's options.\n", prgname);
}

int cmd_dispatch(const char *prgname, const struct wice_cmd *cmds, size_t n, int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr, prgname, cmds, n);
		return 1;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout, prgname, cmds, n);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].run(argc - 1, argv + 1);
	fprintf(stderr, "%s: unknown command '%s'\n", prgname, argv[1]);
	usage(stderr, prgname, cmds, n);
	return 1;
}

int main(int argc, char **argv)
{
	if (wg_key_init() < 0) {
		fprintf(stderr, "wice: cannot initialise libsodium\n");
		return 1;
	}
	return cmd_dispatch("wice", commands, N_COMMANDS, argc, argv);
}

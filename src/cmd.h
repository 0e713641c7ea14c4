/* The wice subcommands, one file each, dispatched from the table in wice.c. */
#pragma once

#include <stdbool.h>

struct wice_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

int cmd_version(int argc, char **argv);
int cmd_interfaces(int argc, char **argv);
int cmd_daemon(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_signal_server(int argc, char **argv);

/* True when argv holds -h or --help. */
bool cmd_wants_help(int argc, char **argv);

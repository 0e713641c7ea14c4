/* The wice subcommands, one file each, dispatched from the table in wice.c. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

struct wice_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

int cmd_version(int argc, char **argv);
int cmd_interfaces(int argc, char **argv);
int cmd_daemon(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_add(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_restart(int argc, char **argv);
int cmd_sync(int argc, char **argv);
int cmd_reload(int argc, char **argv);
int cmd_ping(int argc, char **argv);
int cmd_netcheck(int argc, char **argv);
int cmd_signal_server(int argc, char **argv);
int cmd_mesh(int argc, char **argv);

struct wice_config;
/* The configuration file and control socket when not given: the default
 * path, and $WICE_SOCKET or the default socket. */
void cmd_daemon_defaults(char **config_path, char **socket_path);
/* Runs the daemon with @cfg (taken) until it is told to stop: what `wice
 * daemon` and `wice mesh join` share.  The exit status. */
int cmd_run_daemon(struct wice_config *cfg, const char *config_path, char **ifaces, const char *socket_path,
		   bool foreground);
/* `wice mesh join`, `leave` and `rotate` (cmd-mesh-run.c). */
int cmd_mesh_join(int argc, char **argv);
int cmd_mesh_leave(int argc, char **argv);
int cmd_mesh_rotate(int argc, char **argv);
/* Reads a mesh secret from @path (NULL or "-": standard input); errors go
 * to stderr as "@prgname: ..." and never show the file's content. */
bool cmd_mesh_read_secret(const char *prgname, const char *path, uint8_t ret[32]);

/* Runs the command argv[1] names from @cmds, or prints the usage
 * (standard output for help, standard error for a wrong name);
 * "@prgname <command>" in messages.  The exit status. */
int cmd_dispatch(const char *prgname, const struct wice_cmd *cmds, size_t n, int argc, char **argv);

/* True when argv holds -h or --help. */
bool cmd_wants_help(int argc, char **argv);

/* Options of the commands that talk to the daemon: -s/--socket PATH and
 * @extra (may be NULL).  @params names the positional arguments, which
 * must number @min_args to @max_args and are left in @argv (argv[1]...).
 * On errors prints "wice NAME: ..." and returns false; --help prints the
 * usage and exits. */
bool cmd_parse_client(const char *name, const char *params, const char *summary, GOptionEntry *extra,
		      int min_args, int max_args, int *argc, char ***argv, char **ret_socket);

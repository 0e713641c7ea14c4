/* `wice daemon [-c FILE] [-s SOCKET] [-f] [-v|-q] [INTERFACE...]` */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cmd.h"
#include "control/control-client.h"
#include "daemon/daemon.h"
#include "util/log.h"

void cmd_daemon_defaults(char **config_path, char **socket_path)
{
	if (!*config_path)
		*config_path = g_strdup(WICE_CONFIG_DEFAULT_PATH);
	if (!*socket_path)
		*socket_path = g_strdup(g_getenv("WICE_SOCKET") ? g_getenv("WICE_SOCKET") : WICE_DEFAULT_SOCKET);
}

int cmd_daemon(int argc, char **argv)
{
	g_autofree char *config_path = NULL, *socket_path = NULL;
	g_auto(GStrv) ifaces = NULL;
	gboolean foreground = FALSE;
	gint verbose = 0;
	GOptionEntry entries[] = {
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "Configuration file (default "
		  WICE_CONFIG_DEFAULT_PATH ")", "FILE" },
		{ "socket", 's', 0, G_OPTION_ARG_FILENAME, &socket_path, "Control socket (default $WICE_SOCKET or "
		  WICE_DEFAULT_SOCKET ")", "PATH" },
		{ "foreground", 'f', 0, G_OPTION_ARG_NONE, &foreground, "Stay in the foreground, log to stderr", NULL },
		{ "verbose", 'v', G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK, log_more_verbose,
		  "More log output (twice: debug, three times: libraries' debug too)", NULL },
		{ "quiet", 'q', G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK, log_quiet, "Log only warnings and errors",
		  NULL },
		{ G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &ifaces, NULL, "[INTERFACE...]" },
		{ 0 }
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("[INTERFACE...] - keep WireGuard peers connected");
	g_autoptr(GError) error = NULL;
	struct wice_config *cfg;

	(void)verbose;
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_set_prgname("wice daemon");
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		fprintf(stderr, "wice daemon: %s\n", error->message);
		return 1;
	}
	g_set_prgname("wice"); /* the journal's SYSLOG_IDENTIFIER */
	cmd_daemon_defaults(&config_path, &socket_path);
	cfg = wice_config_load(config_path, &error);
	if (!cfg) {
		fprintf(stderr, "wice daemon: %s\n", error->message);
		return 1;
	}
	return cmd_run_daemon(cfg, config_path, ifaces, socket_path, foreground);
}

int cmd_run_daemon(struct wice_config *cfg, const char *config_path, char **ifaces, const char *socket_path,
		   bool foreground)
{
	g_autoptr(GError) error = NULL;
	struct wice_daemon *d;
	int status;

	log_setup(foreground);
	if (!foreground && daemon(0, 0) < 0) {
		fprintf(stderr, "wice daemon: cannot detach: %s\n", g_strerror(errno));
		wice_config_free(cfg);
		return 1;
	}
	d = daemon_new(cfg, config_path, ifaces, socket_path, &error);
	if (!d) {
		g_critical("%s", error->message);
		return 1;
	}
	g_message("wice %s running, control socket %s", PACKAGE_VERSION, socket_path);
	status = daemon_run(d);
	daemon_free(d);
	return status;
}

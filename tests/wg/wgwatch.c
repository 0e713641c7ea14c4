/* wgwatch: prints the WireGuard interface events of src/daemon/wg-watch.c,
 * one line each, for tests/wg/watch.test:
 *
 *   ready                     the watch is set up and the existing
 *                             interfaces have been reported
 *   added NAME kernel|userspace
 *   removed NAME
 *
 * Runs until SIGTERM or SIGINT and then exits 0. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <glib-unix.h>
#include <glib.h>

#include "daemon/wg-watch.h"
#include "util/source-util.h"
#include "wg/wg.h"

static void on_event(const char *ifname, bool added, enum wg_backend_kind kind, void *user_data)
{
	if (added)
		printf("added %s %s\n", ifname, wg_backend_name(kind));
	else
		printf("removed %s\n", ifname);
}

/* Runs after the watch's own start-up report, which has a higher priority. */
static gboolean on_ready(gpointer data)
{
	printf("ready\n");
	return G_SOURCE_REMOVE;
}

static gboolean on_signal(gpointer loop)
{
	g_main_loop_quit(loop);
	return G_SOURCE_CONTINUE;
}

int main(void)
{
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	struct wg_watch *watch = NULL;
	GSource *term, *intr, *ready;
	int r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	term = source_attach(g_unix_signal_source_new(SIGTERM), NULL, on_signal, loop);
	intr = source_attach(g_unix_signal_source_new(SIGINT), NULL, on_signal, loop);
	r = wg_watch_new(on_event, NULL, &watch);
	if (r < 0) {
		fprintf(stderr, "wgwatch: cannot watch interfaces: %s\n", strerror(-r));
		return 1;
	}
	ready = source_attach(g_idle_source_new(), NULL, on_ready, NULL);
	g_main_loop_run(loop);
	wg_watch_free(watch);
	source_free(ready);
	source_free(term);
	source_free(intr);
	return 0;
}

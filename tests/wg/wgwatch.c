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

static GSource *add_signal(int signum, GMainLoop *loop)
{
	GSource *source = g_unix_signal_source_new(signum);

	g_source_set_callback(source, on_signal, loop, NULL);
	g_source_attach(source, NULL);
	return source;
}

int main(void)
{
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	struct wg_watch *watch = NULL;
	GSource *term, *intr, *ready;
	int r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	term = add_signal(SIGTERM, loop);
	intr = add_signal(SIGINT, loop);
	r = wg_watch_new(on_event, NULL, &watch);
	if (r < 0) {
		fprintf(stderr, "wgwatch: cannot watch interfaces: %s\n", strerror(-r));
		return 1;
	}
	ready = g_idle_source_new();
	g_source_set_callback(ready, on_ready, NULL, NULL);
	g_source_attach(ready, NULL);
	g_main_loop_run(loop);
	wg_watch_free(watch);
	g_source_destroy(ready);
	g_source_unref(ready);
	g_source_destroy(term);
	g_source_unref(term);
	g_source_destroy(intr);
	g_source_unref(intr);
	return 0;
}

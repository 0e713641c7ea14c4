/* meshlink: opens the mesh interface of src/mesh/mesh-link.c for shell
 * tests (tests/lab/mesh-link.test, the kernel test VM).
 *
 *   meshlink IFNAME [-a ADDR/LEN]... [-r PREFIX/LEN]...
 *
 * Opens (creates or adopts) IFNAME, adds the addresses and routes, prints
 * "kind KIND" and "ready", then holds the link until SIGTERM, SIGINT or
 * the end of its standard input, frees it and exits 0.  Any failure is one
 * line on stderr and exit status 1, with nothing left behind. */
#include "config.h"

#include <glib-unix.h>
#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "mesh/mesh-link.h"
#include "util/source-util.h"
#include "wg/wg-device.h"

static char **addresses;
static char **routes;

static const GOptionEntry options[] = {
	{ "address", 'a', 0, G_OPTION_ARG_STRING_ARRAY, &addresses, "Add an address", "ADDR/LEN" },
	{ "route", 'r', 0, G_OPTION_ARG_STRING_ARRAY, &routes, "Route a prefix through the link", "PREFIX/LEN" },
	{ NULL, 0, 0, 0, NULL, NULL, NULL },
};

static bool add_each(struct mesh_link *link, char **prefixes, bool route, GError **error)
{
	for (char **p = prefixes; p && *p; p++) {
		struct wg_allowed_ip pfx;

		if (!wg_allowed_ip_parse(*p, &pfx)) {
			g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "invalid prefix '%s'", *p);
			return false;
		}
		if (!(route ? mesh_link_route_add : mesh_link_address_add)(link, pfx.family, &pfx.addr, pfx.cidr, error))
			return false;
	}
	return true;
}

static gboolean on_signal(gpointer loop)
{
	g_main_loop_quit(loop);
	return G_SOURCE_CONTINUE;
}

/* Input is ignored; its end (or an error) ends the program. */
static gboolean on_stdin(int fd, GIOCondition cond, gpointer loop)
{
	char buf[256];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n <= 0)
		g_main_loop_quit(loop);
	return n <= 0 ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

static void hold(void)
{
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	GSource *term = source_attach(g_unix_signal_source_new(SIGTERM), NULL, on_signal, loop);
	GSource *intr = source_attach(g_unix_signal_source_new(SIGINT), NULL, on_signal, loop);
	GSource *in = g_unix_fd_source_new(STDIN_FILENO, G_IO_IN | G_IO_HUP | G_IO_ERR);

	g_source_set_callback(in, G_SOURCE_FUNC(on_stdin), loop, NULL);
	g_source_attach(in, NULL);
	g_main_loop_run(loop);
	source_free(in);
	source_free(term);
	source_free(intr);
}

int main(int argc, char **argv)
{
	g_autoptr(GOptionContext) ctx = g_option_context_new("IFNAME");
	g_autoptr(GError) error = NULL;
	struct mesh_link *link;

	setvbuf(stdout, NULL, _IOLBF, 0);
	g_option_context_add_main_entries(ctx, options, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error) || argc != 2) {
		fprintf(stderr, "meshlink: %s\n", error ? error->message
							   : "usage: meshlink IFNAME [-a ADDR/LEN]... [-r PREFIX/LEN]...");
		return 2;
	}
	link = mesh_link_open(argv[1], &error);
	if (link && (!add_each(link, addresses, false, &error) || !add_each(link, routes, true, &error)))
		g_clear_pointer(&link, mesh_link_free);
	g_strfreev(addresses);
	g_strfreev(routes);
	if (!link) {
		fprintf(stderr, "meshlink: %s\n", error->message);
		return 1;
	}
	printf("kind %s\nready\n", mesh_link_kind(link));
	hold();
	mesh_link_free(link);
	return 0;
}

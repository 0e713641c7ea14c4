/* STUN and TURN server names looked up again while the daemon runs.
 *
 * libnice takes literal addresses, so names are resolved at start
 * (resolve.h), and a server that moves to another address would be
 * followed only by a restart of the daemon.  So the names are looked up
 * again every NAMES_REFRESH_S and whenever a peer's ICE fails (a TURN
 * server that is gone makes relayed sessions fail), at most every
 * NAMES_AFTER_FAILURE_S; a restarted session (1 s of backoff at least)
 * then gathers from the new address.  Lookups go through GResolver, off
 * the main loop; a name that does not resolve keeps its last address.
 * tests/lab/server-move.test: the hosts file names another server, the
 * old one stops, and the peers connect again through the new one. */
#include "config.h"

#include <glib.h>

#include "resolve.h"
#include "server-names.h"
#include "util/source-util.h"

#define NAMES_REFRESH_S 300
#define NAMES_AFTER_FAILURE_S 5

struct server_names {
	struct wice_config *cfg;
	struct config_resolve *lookup;
	GSource *timer;
	gint64 last_us; /* monotonic: the last lookup started */
};

static void on_looked_up(struct wice_config *cfg, void *data)
{
	struct server_names *n = data;

	n->lookup = NULL;
}

static void look_up(struct server_names *n)
{
	if (!n->cfg || n->lookup)
		return;
	n->last_us = g_get_monotonic_time();
	n->lookup = config_resolve_again(n->cfg, on_looked_up, n);
}

static gboolean on_timer(gpointer data)
{
	look_up(data);
	return G_SOURCE_CONTINUE;
}

struct server_names *server_names_new(void)
{
	return g_new0(struct server_names, 1);
}

void server_names_use(struct server_names *n, struct wice_config *cfg)
{
	config_resolve_cancel(n->lookup);
	n->lookup = NULL;
	n->cfg = cfg;
	source_clear(&n->timer);
	n->timer = source_timeout(NAMES_REFRESH_S * 1000, on_timer, n);
}

void server_names_failed(struct server_names *n)
{
	if (!n)
		return;
	if (n->last_us && g_get_monotonic_time() - n->last_us < NAMES_AFTER_FAILURE_S * G_USEC_PER_SEC)
		return;
	look_up(n);
}

void server_names_free(struct server_names *n)
{
	if (!n)
		return;
	config_resolve_cancel(n->lookup);
	source_clear(&n->timer);
	g_free(n);
}

/* The daemon: configuration, signaling backends, the nftables table, the
 * interfaces it manages and the main loop that runs them all.
 *
 * Start-up order matters: ICE server names are resolved (asynchronously)
 * before any interface is managed, because libnice wants literal
 * addresses and a peer that starts without its servers would gather an
 * incomplete candidate set. */
#include "config.h"

#include <glib-unix.h>
#include <string.h>

#include "control.h"
#include "daemon.h"
#include "nft-proxy.h"
#include "peer.h"
#include "wg-watch.h"
#include "wg.h"

/* How long shutdown waits for goodbyes and TURN releases to go out. */
#define SHUTDOWN_GRACE_MS 500

static void on_backend_receive(struct sig_backend *b, const uint8_t *data, size_t len, void *userdata)
{
	struct wice_daemon *d = userdata;
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, d->ifaces);
	while (g_hash_table_iter_next(&it, NULL, &value))
		iface_receive_envelope(value, data, len);
}

static void on_backend_state(struct sig_backend *b, bool up, const char *reason, void *userdata)
{
	struct wice_daemon *d = userdata;
	GHashTableIter it;
	gpointer value;

	g_message("signaling %s: %s%s%s", sig_backend_url(b), up ? "up" : "down", reason ? ": " : "",
		  reason ? reason : "");
	if (!up)
		return;
	/* What peers sent while no backend could carry it is lost: say it
	 * again now rather than at the next resend. */
	g_hash_table_iter_init(&it, d->ifaces);
	while (g_hash_table_iter_next(&it, NULL, &value))
		iface_on_signaling_up(value);
}

void daemon_publish(struct wice_daemon *d, const uint8_t relay_id[RELAY_ID_LEN], const uint8_t *data, size_t len)
{
	for (guint i = 0; i < d->backends->len; i++)
		sig_backend_publish(g_ptr_array_index(d->backends, i), relay_id, data, len);
}

void daemon_subscribe(struct wice_daemon *d, const struct sig_subscription *sub)
{
	for (guint i = 0; i < d->backends->len; i++)
		sig_backend_subscribe(g_ptr_array_index(d->backends, i), sub);
}

void daemon_unsubscribe(struct wice_daemon *d, const uint8_t relay_id[RELAY_ID_LEN])
{
	for (guint i = 0; i < d->backends->len; i++)
		sig_backend_unsubscribe(g_ptr_array_index(d->backends, i), relay_id);
}

bool daemon_is_excluded_netif(struct wice_daemon *d, const char *netif)
{
	return g_hash_table_contains(d->wg_names, netif) || wice_config_gather_excluded(d->config, netif);
}

static bool daemon_manages(struct wice_daemon *d, const char *ifname)
{
	if (d->only_ifaces && d->only_ifaces[0])
		return g_strv_contains((const char *const *)d->only_ifaces, ifname);
	return wice_config_manages(d->config, ifname);
}

bool daemon_add_iface(struct wice_daemon *d, const char *ifname)
{
	if (g_hash_table_contains(d->ifaces, ifname))
		return true;
	if (!g_hash_table_contains(d->wg_names, ifname))
		return false;
	g_hash_table_insert(d->ifaces, g_strdup(ifname), iface_new(d, ifname));
	return true;
}

bool daemon_remove_iface(struct wice_daemon *d, const char *ifname)
{
	return g_hash_table_remove(d->ifaces, ifname);
}

static void on_wg_event(const char *ifname, bool added, enum wg_backend_kind kind, void *userdata)
{
	struct wice_daemon *d = userdata;

	if (added) {
		g_hash_table_add(d->wg_names, g_strdup(ifname));
		if (daemon_manages(d, ifname))
			daemon_add_iface(d, ifname);
		return;
	}
	g_hash_table_remove(d->wg_names, ifname);
	if (g_hash_table_contains(d->ifaces, ifname)) {
		g_message("%s: interface gone", ifname);
		iface_forget_device(g_hash_table_lookup(d->ifaces, ifname));
		daemon_remove_iface(d, ifname);
	}
}

static void on_network_changed(GNetworkMonitor *monitor, gboolean available, gpointer data)
{
	struct wice_daemon *d = data;
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, d->ifaces);
	while (g_hash_table_iter_next(&it, NULL, &value))
		iface_on_network_changed(value);
}

static bool backend_excludes(const char *ifname, void *userdata)
{
	return daemon_is_excluded_netif(userdata, ifname);
}

static bool start_backends(struct wice_daemon *d, GError **error)
{
	struct sig_backend_callbacks cb = {
		.receive = on_backend_receive,
		.state_changed = on_backend_state,
		.exclude_interface = backend_excludes,
		.userdata = d,
	};

	for (unsigned i = 0; d->config->signaling_urls[i]; i++) {
		struct sig_backend *b = sig_backend_new(d->config->signaling_urls[i], &cb, error);

		if (!b)
			return false;
		g_ptr_array_add(d->backends, b);
	}
	return true;
}

static void start_nft(struct wice_daemon *d)
{
	g_autoptr(GError) error = NULL;

	if (d->config->proxy_mode == WICE_PROXY_USER)
		return;
	if (nft_proxy_available())
		d->nft = nft_proxy_new(d->nft_table, &error);
	if (!d->nft)
		g_message("nftables unusable (%s); all peers use the user proxy",
			  error ? error->message : "not available");
}

static void start_managing(struct wice_daemon *d)
{
	int r = wg_watch_new(on_wg_event, d, &d->watch);

	if (r < 0) {
		g_critical("cannot watch WireGuard interfaces: %s", g_strerror(-r));
		d->exit_status = 1;
		g_main_loop_quit(d->loop);
		return;
	}
	d->netmon = g_object_ref(g_network_monitor_get_default());
	d->netmon_handler = g_signal_connect(d->netmon, "network-changed", G_CALLBACK(on_network_changed), d);
}

/* --- ICE server names ------------------------------------------------------ */

struct resolve_job {
	struct wice_daemon *d;
	size_t index;
};

static void resolved_one(struct wice_daemon *d);

static void on_resolved(GObject *source, GAsyncResult *res, gpointer data)
{
	struct resolve_job *job = data;
	g_autoptr(GError) error = NULL;
	GList *addrs = g_resolver_lookup_by_name_finish(G_RESOLVER(source), res, &error);
	struct wice_ice_resolved *r = &job->d->ice[job->index];

	if (addrs) {
		g_autofree char *text = g_inet_address_to_string(addrs->data);

		g_strlcpy(r->address, text, sizeof(r->address));
		g_resolver_free_addresses(addrs);
	} else if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		g_warning("cannot resolve ICE server '%s': %s; skipping it", r->server.host, error->message);
	}
	if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		resolved_one(job->d);
	g_free(job);
}

static void resolved_one(struct wice_daemon *d)
{
	if (--d->resolving == 0)
		start_managing(d);
}

/* Literal addresses need no lookup; names go to GResolver. */
static void resolve_ice_servers(struct wice_daemon *d)
{
	const struct wice_config *cfg = d->config;
	g_autoptr(GResolver) resolver = g_resolver_get_default();

	d->n_ice = cfg->n_ice_servers;
	d->ice = g_new0(struct wice_ice_resolved, MAX(d->n_ice, 1));
	d->resolving = 1;
	for (size_t i = 0; i < d->n_ice; i++) {
		g_autoptr(GInetAddress) literal = g_inet_address_new_from_string(cfg->ice_servers[i].host);
		struct resolve_job *job;

		d->ice[i].server = cfg->ice_servers[i];
		if (literal) {
			g_strlcpy(d->ice[i].address, cfg->ice_servers[i].host, sizeof(d->ice[i].address));
			continue;
		}
		job = g_new0(struct resolve_job, 1);
		job->d = d;
		job->index = i;
		d->resolving++;
		g_resolver_lookup_by_name_async(resolver, cfg->ice_servers[i].host, d->cancel, on_resolved, job);
	}
	resolved_one(d);
}

/* --- life cycle -------------------------------------------------------------- */

static gboolean on_quit_signal(gpointer data)
{
	struct wice_daemon *d = data;

	g_message("shutting down");
	g_main_loop_quit(d->loop);
	return G_SOURCE_CONTINUE;
}

static gboolean on_hup(gpointer data)
{
	g_autoptr(GError) error = NULL;

	if (!daemon_reload(data, &error))
		g_warning("reload failed, keeping the old configuration: %s", error->message);
	return G_SOURCE_CONTINUE;
}

static void add_signal(struct wice_daemon *d, unsigned slot, int signum, GSourceFunc fn)
{
	d->signal_sources[slot] = g_unix_signal_source_new(signum);
	g_source_set_callback(d->signal_sources[slot], fn, d, NULL);
	g_source_attach(d->signal_sources[slot], NULL);
}

struct wice_daemon *daemon_new(struct wice_config *config, const char *config_path, char **only_ifaces,
			       const char *socket_path, GError **error)
{
	struct wice_daemon *d = g_new0(struct wice_daemon, 1);

	d->config = config;
	d->config_path = g_strdup(config_path);
	d->only_ifaces = g_strdupv(only_ifaces);
	d->socket_path = g_strdup(socket_path);
	d->loop = g_main_loop_new(NULL, FALSE);
	d->ifaces = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)iface_free);
	d->wg_names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	d->backends = g_ptr_array_new_with_free_func((GDestroyNotify)sig_backend_free);
	d->cancel = g_cancellable_new();
	d->nft_table = daemon_nft_table_name(socket_path);
	d->control = control_new(d, socket_path, error);
	if (!d->control || !start_backends(d, error)) {
		daemon_free(d);
		return NULL;
	}
	start_nft(d);
	add_signal(d, 0, SIGINT, on_quit_signal);
	add_signal(d, 1, SIGTERM, on_quit_signal);
	add_signal(d, 2, SIGHUP, on_hup);
	resolve_ice_servers(d);
	return d;
}

/* One table per daemon: the default socket gets "wice", others a name
 * derived from their socket path so daemons sharing a namespace differ. */
char *daemon_nft_table_name(const char *socket_path)
{
	if (!socket_path || strcmp(socket_path, WICE_DEFAULT_SOCKET) == 0)
		return g_strdup("wice");
	return g_strdup_printf("wice_%08x", g_str_hash(socket_path));
}

int daemon_run(struct wice_daemon *d)
{
	g_main_loop_run(d->loop);
	return d->exit_status;
}

static gboolean on_grace_over(gpointer data)
{
	g_main_loop_quit(data);
	return G_SOURCE_REMOVE;
}

/* Peers send goodbyes and release TURN allocations as they go; give the
 * loop a moment to put those on the wire. */
static void drain_loop(struct wice_daemon *d)
{
	GSource *timer = g_timeout_source_new(SHUTDOWN_GRACE_MS);

	g_source_set_callback(timer, on_grace_over, d->loop, NULL);
	g_source_attach(timer, NULL);
	g_main_loop_run(d->loop);
	g_source_destroy(timer);
	g_source_unref(timer);
}

void daemon_free(struct wice_daemon *d)
{
	if (!d)
		return;
	g_cancellable_cancel(d->cancel);
	for (unsigned i = 0; i < G_N_ELEMENTS(d->signal_sources); i++)
		if (d->signal_sources[i]) {
			g_source_destroy(d->signal_sources[i]);
			g_source_unref(d->signal_sources[i]);
		}
	if (d->netmon) {
		g_signal_handler_disconnect(d->netmon, d->netmon_handler);
		g_object_unref(d->netmon);
	}
	wg_watch_free(d->watch);
	control_free(d->control);
	g_hash_table_remove_all(d->ifaces);
	drain_loop(d);
	g_hash_table_destroy(d->ifaces);
	g_hash_table_destroy(d->wg_names);
	g_ptr_array_free(d->backends, TRUE);
	nft_proxy_free(d->nft);
	g_free(d->nft_table);
	g_free(d->ice);
	g_object_unref(d->cancel);
	wice_config_free(d->config);
	g_free(d->config_path);
	g_strfreev(d->only_ifaces);
	g_free(d->socket_path);
	g_main_loop_unref(d->loop);
	g_free(d);
}

/* Applies a new configuration file.  Settings that shape ICE sessions apply
 * to sessions started from now on; connected peers stay connected. */
bool daemon_reload(struct wice_daemon *d, GError **error)
{
	struct wice_config *cfg = wice_config_load(d->config_path, error);

	if (!cfg)
		return false;
	wice_config_free(d->config);
	d->config = cfg;
	g_message("configuration reloaded from %s", d->config_path);
	return true;
}

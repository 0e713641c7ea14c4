/* The daemon: configuration, signaling backends, the nftables table, the
 * interfaces it manages and the main loop that runs them all.
 *
 * Start-up order matters: ICE server names are resolved (asynchronously)
 * before any interface is managed, because libnice wants literal
 * addresses and a peer that starts without its servers would gather an
 * incomplete candidate set. */
#include "config.h"

#include <errno.h>
#include <glib-unix.h>
#include <string.h>
#include <unistd.h>

#include "control/control-client.h"
#include "control/control.h"
#include "daemon.h"
#include "local-addresses.h"
#include "mesh.h"
#include "mesh/mesh-announce.h"
#include "peer.h"
#include "portmap.h"
#include "priv-broker.h"
#include "privileges.h"
#include "proxy/nft-proxy.h"
#include "nat-watch.h"
#include "pinger.h"
#include "resolve.h"
#include "server-names.h"
#include "turns-proxy.h"
#include "heap-trim.h"
#include "util/sd-notify.h"
#include "util/source-util.h"
#include "wg/wg-uapi.h"
#include "wg-watch.h"

/* How long shutdown waits for goodbyes and TURN releases to go out. */
#define SHUTDOWN_GRACE_MS 500

static void daemon_emit(struct wice_daemon *d, const struct wice_event *ev);
static char *daemon_nft_table_name(const char *socket_path);

static void on_backend_receive(struct sig_backend *b, const uint8_t *data, size_t len, const struct sig_route *from,
			       void *userdata)
{
	struct wice_daemon *d = userdata;
	GHashTableIter it;
	gpointer value;

	if (mesh_frame_is_mesh(data, len)) {
		if (d->mesh)
			mesh_receive_frame(d->mesh, data, len, from);
		return;
	}
	d->counters.envelopes_received++;
	g_hash_table_iter_init(&it, d->ifaces);
	while (g_hash_table_iter_next(&it, NULL, &value))
		iface_receive_envelope(value, data, len, from);
}

static void on_backend_state(struct sig_backend *b, bool up, const char *reason, void *userdata)
{
	struct wice_daemon *d = userdata;
	struct wice_event ev = {
		.type = up ? WICE_EVENT_BACKEND_UP : WICE_EVENT_BACKEND_DOWN,
		.url = sig_backend_url(b),
		.reason = reason,
	};
	GHashTableIter it;
	gpointer value;

	daemon_emit(d, &ev);
	if (!up)
		return;
	if (d->mesh)
		mesh_on_backend(d->mesh, b);
	/* What peers sent while no backend could carry it is lost: say it
	 * again now rather than at the next resend. */
	g_hash_table_iter_init(&it, d->ifaces);
	while (g_hash_table_iter_next(&it, NULL, &value))
		iface_on_signaling_up(value);
}

/* --- what interfaces and peers get from the daemon (iface.h) --------------- */

static void host_emit(void *host, const struct wice_event *ev)
{
	daemon_emit(host, ev);
}

static void host_publish(void *host, const uint8_t relay_id[RELAY_ID_LEN], const uint8_t *data, size_t len,
			 const struct sig_route *via)
{
	struct wice_daemon *d = host;

	GHashTableIter it;
	gpointer value;

	for (guint i = 0; i < d->backends->len; i++)
		sig_backend_publish(g_ptr_array_index(d->backends, i), relay_id, data, len, via);
	d->counters.envelopes_sent += d->backends->len;
	g_hash_table_iter_init(&it, d->ifaces);
	while (g_hash_table_iter_next(&it, NULL, &value))
		tunnel_signal_publish(value, relay_id, data, len);
}

static void host_deliver(void *host, const uint8_t *data, size_t len)
{
	on_backend_receive(NULL, data, len, NULL, host);
}

static void host_subscribe(void *host, const struct sig_subscription *sub)
{
	struct wice_daemon *d = host;

	for (guint i = 0; i < d->backends->len; i++)
		sig_backend_subscribe(g_ptr_array_index(d->backends, i), sub);
}

static void host_unsubscribe(void *host, const uint8_t relay_id[RELAY_ID_LEN])
{
	struct wice_daemon *d = host;

	for (guint i = 0; i < d->backends->len; i++)
		sig_backend_unsubscribe(g_ptr_array_index(d->backends, i), relay_id);
}

/* Interface names libnice must not gather on: all WireGuard interfaces
 * and [ice] interfaces-exclude. */
static bool excluded_netif(const char *netif, void *data)
{
	struct wice_daemon *d = data;

	return g_hash_table_contains(d->wg_names, netif) || wice_config_gather_excluded(d->config, netif);
}

static const struct wice_iface_settings *host_settings(void *host, const char *ifname)
{
	struct wice_daemon *d = host;

	return wice_config_iface(d->config, ifname);
}

static void host_local_addresses(void *host, GArray *ret)
{
	struct wice_daemon *d = host;

	local_addresses_cached(&d->local_addrs, excluded_netif, d, ret);
}

static struct nft_proxy *host_nft(void *host)
{
	struct wice_daemon *d = host;

	return d->nft;
}

static const char *host_nft_table(void *host)
{
	struct wice_daemon *d = host;

	return d->nft ? d->nft_table : NULL;
}

static struct portmap *host_portmap(void *host)
{
	struct wice_daemon *d = host;

	return d->portmap;
}

static const struct iface_host_ops daemon_iface_host_ops = {
	.emit = host_emit,
	.publish = host_publish,
	.subscribe = host_subscribe,
	.unsubscribe = host_unsubscribe,
	.settings = host_settings,
	.local_addresses = host_local_addresses,
	.nft = host_nft,
	.portmap = host_portmap,
	.deliver = host_deliver,
	.nft_table = host_nft_table,
};

static bool daemon_manages(struct wice_daemon *d, const char *ifname)
{
	if (d->mesh && strcmp(mesh_ifname(d->mesh), ifname) == 0)
		return true;
	if (g_hash_table_contains(d->operator_removed, ifname))
		return false;
	if (g_hash_table_contains(d->operator_added, ifname))
		return true;
	if (d->only_ifaces && d->only_ifaces[0])
		return g_strv_contains((const char *const *)d->only_ifaces, ifname);
	return wice_config_manages(d->config, ifname);
}

struct wice_iface *daemon_find_iface(struct wice_daemon *d, const char *ifname)
{
	return g_hash_table_lookup(d->ifaces, ifname);
}

static void add_iface(struct wice_daemon *d, const char *ifname)
{
	struct wice_event ev = { .type = WICE_EVENT_INTERFACE_ADDED, .interface = ifname };
	struct iface_host host = { &daemon_iface_host_ops, d, &wg_system_ops };

	if (g_hash_table_contains(d->ifaces, ifname))
		return;
	struct wice_iface *iface;

	daemon_emit(d, &ev);
	iface = iface_new(&host, ifname);
	g_hash_table_insert(d->ifaces, g_strdup(ifname), iface);
	if (d->mesh && strcmp(mesh_ifname(d->mesh), ifname) == 0) {
		iface->is_mesh = true;
		mesh_attach_iface(d->mesh, iface);
	}
}

static void remove_iface(struct wice_daemon *d, const char *ifname, const char *reason)
{
	g_autofree char *name = g_strdup(ifname); /* @ifname may be the table's key */
	struct wice_event ev = { .type = WICE_EVENT_INTERFACE_REMOVED, .interface = name, .reason = reason };

	if (d->mesh && strcmp(mesh_ifname(d->mesh), name) == 0)
		mesh_attach_iface(d->mesh, NULL);
	if (g_hash_table_remove(d->ifaces, name))
		daemon_emit(d, &ev);
}

/* Members need a moment to get the goodbye through the tunnels before
 * the interface (and the tunnels) go. */
#define MESH_LEAVE_DRAIN_MS 300

static gboolean on_mesh_left(gpointer data)
{
	struct wice_daemon *d = data;

	source_clear(&d->mesh_leaving);
	if (d->mesh)
		remove_iface(d, mesh_ifname(d->mesh), "left the mesh");
	g_clear_pointer(&d->mesh, mesh_free);
	return G_SOURCE_REMOVE;
}

bool daemon_mesh_leave(struct wice_daemon *d, GError **error)
{
	if (!d->mesh || d->mesh_leaving) {
		g_set_error(error, CONTROL_ERROR, ENOENT, "no mesh to leave%s",
			    d->mesh ? ": leaving already" : "");
		return false;
	}
	mesh_leave(d->mesh);
	d->mesh_leaving = source_timeout(MESH_LEAVE_DRAIN_MS, on_mesh_left, d);
	return true;
}

bool daemon_add_iface_by_operator(struct wice_daemon *d, const char *ifname, GError **error)
{
	/* While ICE server names are still resolving the watcher has not
	 * listed the interfaces yet; ask WireGuard directly and remember the
	 * add, so a hook run at boot is not lost. */
	bool known = d->watch ? g_hash_table_contains(d->wg_names, ifname) : wg_is_device(ifname);

	if (!known) {
		g_set_error(error, CONTROL_ERROR, ENODEV, "'%s' is not a WireGuard interface", ifname);
		return false;
	}
	g_hash_table_remove(d->operator_removed, ifname);
	g_hash_table_add(d->operator_added, g_strdup(ifname));
	if (d->watch)
		add_iface(d, ifname);
	return true;
}

/* Succeeds for an interface that is not managed, so that hooks may call it
 * whatever happened before.  An interface that exists stays unmanaged
 * until `wice add`, also when it is deleted and created again.  The mesh
 * interface is the mesh's: `wice mesh leave` removes it. */
bool daemon_remove_iface_by_operator(struct wice_daemon *d, const char *ifname, GError **error)
{
	if (d->mesh && strcmp(mesh_ifname(d->mesh), ifname) == 0) {
		g_set_error(error, CONTROL_ERROR, EPERM, "'%s' is the mesh interface: use `wice mesh leave`", ifname);
		return false;
	}
	g_hash_table_remove(d->operator_added, ifname);
	if (g_hash_table_contains(d->wg_names, ifname))
		g_hash_table_add(d->operator_removed, g_strdup(ifname));
	remove_iface(d, ifname, "deleted by operator");
	return true;
}

static void on_wg_event(const char *ifname, bool added, enum wg_backend_kind kind, void *userdata)
{
	struct wice_daemon *d = userdata;

	local_addresses_invalidate(&d->local_addrs);
	if (added) {
		g_hash_table_add(d->wg_names, g_strdup(ifname));
		if (daemon_manages(d, ifname))
			add_iface(d, ifname);
		return;
	}
	g_hash_table_remove(d->wg_names, ifname);
	if (g_hash_table_contains(d->ifaces, ifname)) {
		iface_forget_device(g_hash_table_lookup(d->ifaces, ifname));
		remove_iface(d, ifname, "interface gone");
	}
}

static void on_network_changed(GNetworkMonitor *monitor, gboolean available, gpointer data)
{
	struct wice_daemon *d = data;
	GHashTableIter it;
	gpointer value;

	local_addresses_invalidate(&d->local_addrs);
	g_hash_table_iter_init(&it, d->ifaces);
	while (g_hash_table_iter_next(&it, NULL, &value))
		iface_on_network_changed(value);
	nat_watch_schedule(d->nat, &d->config->defaults, NAT_WATCH_DELAY_MS);
}

static bool backend_excludes(const char *ifname, void *userdata)
{
	return excluded_netif(ifname, userdata);
}

static struct sig_backend *new_backend(struct wice_daemon *d, const char *url, GError **error)
{
	struct sig_backend_callbacks cb = {
		.receive = on_backend_receive,
		.state_changed = on_backend_state,
		.exclude_interface = backend_excludes,
		.userdata = d,
	};

	struct sig_backend_options options = {
		.tls_ca = d->config->signaling_tls_ca,
		.tls_cert = d->config->signaling_tls_cert,
		.tls_key = d->config->signaling_tls_key,
	};

	return sig_backend_new_with(url, &options, &cb, error);
}

static bool start_backends(struct wice_daemon *d, GError **error)
{
	for (unsigned i = 0; d->config->signaling_urls[i]; i++) {
		struct sig_backend *b = new_backend(d, d->config->signaling_urls[i], error);

		if (!b)
			return false;
		g_ptr_array_add(d->backends, b);
	}
	return true;
}

static void start_nft(struct wice_daemon *d)
{
	g_autoptr(GError) error = NULL;

	if (!wice_config_wants_nft(d->config))
		return;
	/* No dry run first (nft_proxy_available): creating the table is one
	 * transaction that fails as a whole where the rules cannot work, and
	 * an aborted transaction with hooks costs the kernel as much as a
	 * committed one (~25 ms here, before ICE could start). */
	d->nft = nft_proxy_new(d->nft_table, &error);
	if (!d->nft) {
		g_message("nftables unusable (%s); all peers use the user proxy",
			  error ? error->message : "not available");
		return;
	}
	/* A firewall reload removes our table; put it back at once. */
	if (!nft_proxy_watch(d->nft, &error))
		g_warning("cannot watch nftables table %s, it will not be repaired: %s", d->nft_table,
			  error->message);
}

/* At start, before the watcher lists the interfaces (so the mesh
 * interface is among them), and while a failure can still stop the
 * daemon from starting at all. */
static bool start_mesh(struct wice_daemon *d, GError **error)
{
	struct iface_host host = { &daemon_iface_host_ops, d, &wg_system_ops };

	if (!d->config->mesh.enabled)
		return true;
	d->mesh = mesh_new(&d->config->mesh, &host, error);
	if (!d->mesh)
		g_prefix_error(error, "mesh: ");
	return d->mesh != NULL;
}

static bool start_metrics(struct wice_daemon *d, GError **error)
{
	if (!d->config->metrics_port)
		return true;
	d->metrics = metrics_new(d, d->config->metrics_host, d->config->metrics_port, error);
	return d->metrics != NULL;
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
	d->heap_trim = heap_trim_new();
	d->netmon = g_object_ref(g_network_monitor_get_default());
	d->netmon_handler = g_signal_connect(d->netmon, "network-changed", G_CALLBACK(on_network_changed), d);
}

/* --- life cycle -------------------------------------------------------------- */

static gboolean on_quit_signal(gpointer data)
{
	struct wice_daemon *d = data;
	struct wice_event ev = { .type = WICE_EVENT_SHUTDOWN };

	daemon_emit(d, &ev);
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
	d->signal_sources[slot] = source_attach(g_unix_signal_source_new(signum), NULL, fn, d);
}

static void on_config_resolved(struct wice_config *cfg, void *data);

struct wice_daemon *daemon_new(struct wice_config *config, const char *config_path, char **only_ifaces,
			       const char *socket_path, GError **error)
{
	struct wice_daemon *d;
	/* `wice ping`'s raw ICMP sockets take CAP_NET_RAW, which goes next */
	struct wice_pinger *pinger = pinger_new();

	/* Capabilities belong to threads: dropped before GLib starts any, or
	 * its worker would keep them all.  CAP_NET_ADMIN and CAP_CHOWN are
	 * what wice.service gives the whole daemon, binding the control socket
	 * and making the nftables table included.  [daemon] user= changes
	 * users later (daemon_run), and threads of before lose everything. */
	if (!config->user)
		privileges_drop(wice_config_wants_bpf(config));
	d = g_new0(struct wice_daemon, 1);
	d->config = config;
	d->config_path = g_strdup(config_path);
	d->only_ifaces = g_strdupv(only_ifaces);
	d->socket_path = g_strdup(socket_path);
	d->loop = g_main_loop_new(NULL, FALSE);
	d->ifaces = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)iface_free);
	d->wg_names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	d->operator_added = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	d->operator_removed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	d->backends = g_ptr_array_new_with_free_func((GDestroyNotify)sig_backend_free);
	d->turns = turns_proxies_new();
	d->names = server_names_new();
	d->portmap = portmap_new();
	d->nat = nat_watch_new();
	d->pinger = pinger;
	d->cancel = g_cancellable_new();
	d->nft_table = daemon_nft_table_name(socket_path);
	d->control = control_new(socket_path, &daemon_control_handler, d, error);
	if (!d->control || !start_backends(d, error) || !start_mesh(d, error) || !start_metrics(d, error)) {
		daemon_free(d);
		return NULL;
	}
	start_nft(d);
	add_signal(d, 0, SIGINT, on_quit_signal);
	add_signal(d, 1, SIGTERM, on_quit_signal);
	add_signal(d, 2, SIGHUP, on_hup);
	d->resolving = config_resolve_start(d->config, on_config_resolved, d);
	return d;
}

/* One table per daemon: the default socket gets "wice", others a name
 * derived from their socket path so daemons sharing a namespace differ. */
static char *daemon_nft_table_name(const char *socket_path)
{
	if (!socket_path || strcmp(socket_path, WICE_DEFAULT_SOCKET) == 0)
		return g_strdup("wice");
	return g_strdup_printf("wice_%08x", g_str_hash(socket_path));
}

/* [daemon] user=: the broker, still root, takes over what needs root's
 * file access (UAPI sockets, the configuration on reload, removing the
 * control socket) before the ids change.  The control socket becomes the
 * user's (its group stays [control] group, else it becomes the user's),
 * so that a reload can still set group and mode where the user may reach
 * the socket's directory, to groups the user is in. */
static bool become_user(struct wice_daemon *d)
{
	const struct wice_config *cfg = d->config;
	g_autoptr(GError) error = NULL;

	if (!priv_broker_start(d->config_path, d->socket_path)) {
		g_critical("cannot start the privilege broker: %s", g_strerror(errno));
		return false;
	}
	wg_uapi_set_connector(priv_broker_uapi);
	if (d->socket_path &&
	    chown(d->socket_path, cfg->user_uid, cfg->control_group ? cfg->control_gid : cfg->user_gid) < 0)
		g_warning("%s: cannot hand it to user %s: %s", d->socket_path, cfg->user, g_strerror(errno));
	if (!privileges_become(cfg->user, cfg->user_uid, cfg->user_gid, &error)) {
		g_critical("%s", error->message);
		return false;
	}
	d->user = g_strdup(cfg->user);
	g_message("running as user %s (uid %u) with CAP_NET_ADMIN only", cfg->user, (unsigned)cfg->user_uid);
	return true;
}

int daemon_run(struct wice_daemon *d)
{
	GSource *watchdog;

	/* The control socket is bound: the user may take over. */
	if (d->config->user && !become_user(d))
		return 1;
	watchdog = service_notify_ready();

	g_main_loop_run(d->loop);
	service_notify_stopping(watchdog);
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
	GSource *timer = source_timeout(SHUTDOWN_GRACE_MS, on_grace_over, d->loop);

	g_main_loop_run(d->loop);
	source_free(timer);
}

void daemon_free(struct wice_daemon *d)
{
	if (!d)
		return;
	g_cancellable_cancel(d->cancel);
	for (unsigned i = 0; i < G_N_ELEMENTS(d->signal_sources); i++)
		source_free(d->signal_sources[i]);
	if (d->netmon) {
		g_signal_handler_disconnect(d->netmon, d->netmon_handler);
		g_object_unref(d->netmon);
	}
	wg_watch_free(d->watch);
	g_clear_pointer(&d->pinger, pinger_free); /* answers the pings in flight */
	g_clear_pointer(&d->nat, nat_watch_free);
	g_clear_pointer(&d->control, control_free);
	config_resolve_cancel(d->resolving);
	g_clear_pointer(&d->names, server_names_free);
	wice_config_free(d->pending_config);
	source_clear(&d->mesh_leaving);
	source_clear(&d->heap_trim);
	g_clear_pointer(&d->metrics, metrics_free);
	if (d->mesh)
		mesh_attach_iface(d->mesh, NULL);
	g_hash_table_remove_all(d->ifaces);
	drain_loop(d);
	/* after the peers gave their mappings back and the loop sent the deletes */
	g_clear_pointer(&d->portmap, portmap_free);
	g_clear_pointer(&d->mesh, mesh_free);
	g_hash_table_destroy(d->ifaces);
	g_hash_table_destroy(d->wg_names);
	local_addresses_invalidate(&d->local_addrs);
	g_hash_table_destroy(d->operator_added);
	g_hash_table_destroy(d->operator_removed);
	g_ptr_array_free(d->backends, TRUE);
	nft_proxy_free(d->nft);
	turns_proxies_free(d->turns);
	g_free(d->nft_table);
	g_object_unref(d->cancel);
	wice_config_free(d->config);
	g_free(d->config_path);
	g_strfreev(d->only_ifaces);
	g_free(d->socket_path);
	g_free(d->user);
	g_main_loop_unref(d->loop);
	g_free(d);
}

/* --- configuration ------------------------------------------------------------ */

static struct sig_backend *steal_backend(GPtrArray *backends, const char *url)
{
	for (guint i = 0; i < backends->len; i++)
		if (strcmp(sig_backend_url(g_ptr_array_index(backends, i)), url) == 0)
			return g_ptr_array_steal_index(backends, i);
	return NULL;
}

static void subscribe_peers(struct wice_daemon *d, struct sig_backend *b)
{
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, d->ifaces);
	while (g_hash_table_iter_next(&it, NULL, &value))
		iface_subscribe_peers(value, b);
}

/* Backends whose URL stays keep running with their mailboxes; a new URL
 * gets a backend that reads every peer's mailbox; the rest are closed. */
static void update_backends(struct wice_daemon *d)
{
	GPtrArray *old = d->backends;

	d->backends = g_ptr_array_new_with_free_func((GDestroyNotify)sig_backend_free);
	for (unsigned i = 0; d->config->signaling_urls[i]; i++) {
		const char *url = d->config->signaling_urls[i];
		g_autoptr(GError) error = NULL;
		struct sig_backend *b = steal_backend(old, url);

		if (!b && (b = new_backend(d, url, &error)))
			subscribe_peers(d, b);
		if (b)
			g_ptr_array_add(d->backends, b);
		else
			g_warning("signaling %s: %s", url, error->message);
	}
	g_ptr_array_free(old, TRUE);
}

/* Interfaces the new configuration names start or stop being managed. */
static void update_managed(struct wice_daemon *d)
{
	g_autoptr(GList) names = g_hash_table_get_keys(d->wg_names);

	for (GList *l = names; l; l = l->next) {
		bool managed = g_hash_table_contains(d->ifaces, l->data);

		if (daemon_manages(d, l->data) && !managed)
			add_iface(d, l->data);
		else if (!daemon_manages(d, l->data) && managed)
			remove_iface(d, l->data, "not in the configuration any more");
	}
}

/* Running sessions keep what they were started with; everything started
 * from now on reads the new settings through d->config. */
static void apply_config(struct wice_daemon *d, struct wice_config *cfg)
{
	struct wice_event ev = { .type = WICE_EVENT_CONFIG_RELOADED, .path = d->config_path };
	struct wice_config *old = d->config;

	d->config = cfg;
	local_addresses_invalidate(&d->local_addrs);
	update_backends(d);
	if (!d->nft)
		start_nft(d);
	if (d->watch)
		update_managed(d);
	control_update_access(d->control);
	wice_config_free(old);
	daemon_emit(d, &ev);
}

static void on_config_resolved(struct wice_config *cfg, void *data)
{
	struct wice_daemon *d = data;

	d->resolving = NULL;
	turns_proxies_update(d->turns, cfg);
	if (cfg == d->pending_config) {
		d->pending_config = NULL;
		apply_config(d, cfg);
	}
	nat_watch_schedule(d->nat, &d->config->defaults, 0);
	server_names_use(d->names, d->config);
	if (!d->watch)
		start_managing(d);
}

/* A daemon that became [daemon] user= may not read root's 0600 file: the
 * broker opens it.  A missing file goes the usual way (the default path
 * means defaults). */
static struct wice_config *load_config(struct wice_daemon *d, GError **error)
{
	int fd = d->user ? priv_broker_config() : -ENOSYS;

	return fd >= 0 ? wice_config_load_fd(d->config_path, fd, error) : wice_config_load(d->config_path, error);
}

bool daemon_reload(struct wice_daemon *d, GError **error)
{
	struct wice_config *cfg = load_config(d, error);

	if (!cfg)
		return false;
	if (g_strcmp0(cfg->user, d->user) != 0)
		g_warning("[daemon] user = %s takes effect when the daemon restarts (it runs as %s)",
			  cfg->user ? cfg->user : "(none)", d->user ? d->user : "root");
	/* A reload during a reload: the newest file wins. */
	config_resolve_cancel(d->resolving);
	wice_config_free(d->pending_config);
	d->pending_config = cfg;
	d->resolving = config_resolve_start(cfg, on_config_resolved, d);
	return true;
}

static void add_field(GLogField *fields, gsize *n, const char *key, const char *value)
{
	if (!value)
		return;
	fields[*n].key = key;
	fields[*n].value = value;
	fields[*n].length = -1;
	(*n)++;
}

/* Journal fields let `journalctl WICE_INTERFACE=wg0` or `WICE_EVENT=
 * peer-state` pick out what matters; on stderr only MESSAGE shows. */
static void log_event(const struct wice_event *ev, const char *message)
{
	GLogField fields[10];
	gsize n = 0;

	add_field(fields, &n, "MESSAGE", message);
	add_field(fields, &n, "PRIORITY", "5"); /* notice, as g_message() */
	add_field(fields, &n, "SYSLOG_IDENTIFIER", g_get_prgname() ? g_get_prgname() : "wice");
	add_field(fields, &n, "WICE_EVENT", wice_event_name(ev->type));
	add_field(fields, &n, "WICE_INTERFACE", ev->interface);
	add_field(fields, &n, "WICE_PEER", ev->peer);
	add_field(fields, &n, "WICE_STATE", ev->state);
	add_field(fields, &n, "WICE_URL", ev->url);
	g_log_structured_array(G_LOG_LEVEL_MESSAGE, fields, n);
}

/* The time it took goes to the metrics; the mesh passes its table on. */
static void on_peer_connected(struct wice_daemon *d, const struct wice_event *ev)
{
	struct wice_iface *iface = ev->interface ? g_hash_table_lookup(d->ifaces, ev->interface) : NULL;
	struct wice_peer *peer = NULL;
	uint8_t key[32];

	if (iface && ev->peer && wg_key_from_base64(key, ev->peer))
		peer = iface_find_peer(iface, key);
	if (peer && peer->connecting_since_us)
		metrics_observe_connect(&d->counters,
					(double)(g_get_monotonic_time() - peer->connecting_since_us) / G_USEC_PER_SEC);
	if (d->mesh && iface && iface->is_mesh)
		mesh_on_peer_connected(d->mesh, ev->peer);
}

/* Tells monitors (`wice monitor`) and the log about @ev. */
static void daemon_emit(struct wice_daemon *d, const struct wice_event *ev)
{
	g_autoptr(JsonNode) node = wice_event_to_json(ev, g_get_real_time());
	g_autofree char *text = wice_event_describe(json_node_get_object(node), false);

	log_event(ev, text);
	if (d->control)
		control_broadcast(d->control, node);
	if (ev->type == WICE_EVENT_PEER_STATE && g_strcmp0(ev->state, "connected") == 0)
		on_peer_connected(d, ev);
	if (ev->type == WICE_EVENT_PEER_STATE && g_strcmp0(ev->state, "failed") == 0)
		server_names_failed(d->names);
}

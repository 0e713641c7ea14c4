/* One managed WireGuard interface: its identity (the interface's own key),
 * its peers, and a periodic sync with the device.
 *
 * WireGuard tells nobody when peers are added or removed: the kernel's
 * generic netlink family has no multicast group (linux/wireguard.h, 6.1),
 * wireguard-go's UAPI socket only answers, and neither changes a file that
 * inotify could see.  So the interface re-reads the device: that picks up
 * `wg set` changes and gives the handshake and transfer counters that show
 * a dead path.  The read is the whole device (peers with allowed IPs; no
 * cheaper "peer list" exists in either API), so how often is set by what
 * it costs: the next read comes SYNC_COST_FACTOR times the last one's
 * duration later, within [SYNC_FAST_MS, SYNC_INTERVAL_MS].  A small
 * device is read every 100 ms (a peer added with `wg set` starts ICE
 * within ~100 ms), a large one as rarely as once a second, and reads never
 * take more than ~1/SYNC_COST_FACTOR of the time.  The read runs on the
 * interface's WireGuard worker (wg-io.h); one sync is in flight at a time,
 * and a request during it is served by the next one. */
#include "config.h"

#include <string.h>

#include "util/source-util.h"
#include "peer.h"

#define SYNC_INTERVAL_MS 1000
#define SYNC_FAST_MS 100
/* Reads take at most 1/200 (0.5 %) of the wall-clock time; measured with
 * wireguard-go, a read costs ~0.3 ms at 1 peer, ~0.5 ms at 50 and ~2 ms at
 * 300 (its CPU and ours together), so up to ~50 peers read at the fast
 * interval. */
#define SYNC_COST_FACTOR 200
/* At most this often an extra sync for a message from an unknown key
 * (anyone on the LAN can send those). */
#define EARLY_SYNC_MIN_MS 250

static guint key_hash(gconstpointer key)
{
	return g_bytes_hash(key);
}

static gboolean key_equal(gconstpointer a, gconstpointer b)
{
	return g_bytes_equal(a, b);
}

struct wice_peer *iface_find_peer(struct wice_iface *iface, const uint8_t public_key[32])
{
	g_autoptr(GBytes) key = g_bytes_new(public_key, 32);

	return g_hash_table_lookup(iface->peers, key);
}

static struct sig_pair *lookup_pair(void *userdata, const uint8_t peer_public[SIG_KEY_LEN])
{
	struct wice_peer *peer = iface_find_peer(userdata, peer_public);

	return peer ? &peer->pair : NULL;
}

static gboolean on_sync_soon(gpointer data)
{
	struct wice_iface *iface = data;

	g_clear_pointer(&iface->sync_soon, g_source_unref);
	iface->early_sync_us = g_get_monotonic_time();
	iface_sync(iface, NULL, NULL);
	return G_SOURCE_REMOVE;
}

/* A message sealed to us by a key that is not one of our peers: most
 * likely the operator just added that peer on both sides (`wg set`), and
 * the other daemon saw it first.  WireGuard tells nobody about new peers,
 * so look now instead of at the next periodic sync, up to a second away;
 * its offer is resent or answered once we know the peer. */
static void sync_soon(struct wice_iface *iface)
{
	if (iface->sync_soon ||
	    g_get_monotonic_time() - iface->early_sync_us < EARLY_SYNC_MIN_MS * G_TIME_SPAN_MILLISECOND)
		return;
	iface->sync_soon = source_timeout(0, on_sync_soon, iface);
}

void iface_receive_envelope(struct wice_iface *iface, const uint8_t *data, size_t len, const struct sig_route *from)
{
	struct sig_msg msg;
	struct sig_pair *pair = NULL;
	struct wice_peer *peer;
	int r;

	if (!iface->have_identity)
		return;
	r = sig_envelope_open_msg(&iface->identity, lookup_pair, iface, data, len, &msg, &pair);
	if (r == -ENOKEY)
		sync_soon(iface);
	if (r < 0) {
		if (r != -ENXIO && r != -EALREADY)
			g_debug("%s: dropped signaling message: %s", iface->name, g_strerror(-r));
		return;
	}
	peer = iface_find_peer(iface, pair->peer_public);
	if (peer) {
		peer_note_route(peer, from);
		peer_receive(peer, &msg, r == 1);
	}
	sig_msg_wipe(&msg);
}

const struct wice_iface_settings *iface_settings(const struct wice_iface *iface)
{
	return iface->host.ops->settings(iface->host.data, iface->name);
}

void iface_emit(const struct wice_iface *iface, const struct wice_event *ev)
{
	iface->host.ops->emit(iface->host.data, ev);
}

static void emit_peer_event(struct wice_iface *iface, const uint8_t key[32], enum wice_event_type type,
			    const char *reason)
{
	char b64[WG_KEY_B64_LEN];
	struct wice_event ev = { .type = type, .interface = iface->name, .peer = b64, .reason = reason };

	wg_key_to_base64(b64, key);
	iface_emit(iface, &ev);
}

static void remove_all_peers(struct wice_iface *iface, const char *reason)
{
	GHashTableIter it;
	gpointer key;

	g_hash_table_iter_init(&it, iface->peers);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		emit_peer_event(iface, g_bytes_get_data(key, NULL), WICE_EVENT_PEER_REMOVED, reason);
		g_hash_table_iter_remove(&it);
	}
}

/* The interface's key changed (or appeared): every pair key changes. */
static void set_identity(struct wice_iface *iface, const struct wg_device *dev)
{
	if (iface->have_identity && memcmp(iface->identity.private_key, dev->private_key, 32) == 0)
		return;
	reroute_release(iface);
	remove_all_peers(iface, "interface key changed");
	sig_identity_wipe(&iface->identity);
	iface->have_identity = !wg_key_is_zero(dev->private_key) &&
			       sig_identity_init(&iface->identity, dev->private_key) == 0;
	if (iface->have_identity)
		g_message("%s: managing interface (listen port %u)", iface->name, dev->listen_port);
}

static void sync_peers(struct wice_iface *iface, const struct wg_device *dev)
{
	GHashTableIter it;
	gpointer key, value;

	iface->n_device_peers = dev->n_peers;
	iface->syncs++;
	for (size_t i = 0; i < dev->n_peers; i++) {
		const struct wg_peer *wgp = &dev->peers[i];
		struct wice_peer *peer = iface_find_peer(iface, wgp->public_key);

		if (!peer) {
			peer = peer_new(iface, wgp->public_key);
			if (!peer)
				continue;
			emit_peer_event(iface, wgp->public_key, WICE_EVENT_PEER_ADDED, NULL);
			peer->learned = facts_learned(iface, wgp->public_key);
			g_hash_table_insert(iface->peers, g_bytes_new(wgp->public_key, 32), peer);
			peer_update_wg(peer, wgp);
			link_addr_peer_apply(peer, wgp);
			tunnel_signal_refresh(iface);
			peer_start(peer);
		} else {
			peer_update_wg(peer, wgp);
		}
		peer->synced = iface->syncs;
	}
	/* Gone from the device: not marked above.  (Looking each key up in
	 * the device was 90,000 key compares per read at 300 peers.) */
	g_hash_table_iter_init(&it, iface->peers);
	while (g_hash_table_iter_next(&it, &key, &value))
		if (((struct wice_peer *)value)->synced != iface->syncs) {
			emit_peer_event(iface, g_bytes_get_data(key, NULL), WICE_EVENT_PEER_REMOVED,
					"removed from WireGuard");
			((struct wice_peer *)value)->endpoint_changed = false; /* nothing to restore */
			reroute_forget(iface, g_bytes_get_data(key, NULL));
			link_addr_peer_forget(value);
			g_hash_table_iter_remove(&it);
		}
}

/* `wg set IF listen-port` moves WireGuard under the peers' live paths
 * (nftables rules, user proxies): take them along. */
static void follow_listen_port(struct wice_iface *iface, uint16_t port)
{
	GHashTableIter it;
	gpointer value;

	if (port == iface->listen_port)
		return;
	if (iface->listen_port && port)
		g_message("%s: listen port %u -> %u", iface->name, iface->listen_port, port);
	iface->listen_port = port;
	if (!port)
		return;
	g_hash_table_iter_init(&it, iface->peers);
	while (g_hash_table_iter_next(&it, NULL, &value))
		peer_path_set_wg_port(value, port);
}

struct sync_waiter {
	iface_synced_fn fn;
	void *data;
};

static int read_device(const struct wg_ops *ops, const char *ifname, void *arg)
{
	return ops->get(ifname, arg);
}

static void free_device_slot(void *arg)
{
	struct wg_device **slot = arg;

	wg_device_free(*slot);
	g_free(slot);
}

static void apply_device(struct wice_iface *iface, const struct wg_device *dev)
{
	follow_listen_port(iface, dev->listen_port);
	set_identity(iface, dev);
	link_addr_iface_apply(iface);
	if (iface->have_identity)
		sync_peers(iface, dev);
}

static void start_read(struct wice_iface *iface);

/* The next periodic read, from what reads cost: the second shortest of
 * the last four, as the read alone took it (the worker's round trip, not
 * what applying it started).  A read that waited for a busy core, or a
 * sync that started ICE for a new peer, once took 5-18 ms where ~0.9 ms
 * was usual, and put the next read 1-3.6 s away: a peer added with `wg
 * set` right then waited that long (warm adds behind NATs, p95 ~900 ms).
 * Not the shortest, which undercounts what reads cost when they vary
 * (at 300 peers 0.73-2.5 ms). */
static void schedule_next_read(struct wice_iface *iface)
{
	gint64 least = G_MAXINT64, second = G_MAXINT64;
	gint64 next_ms;

	for (size_t i = 0; i < G_N_ELEMENTS(iface->read_costs_us); i++) {
		gint64 c = iface->read_costs_us[i];

		if (!c)
			continue;
		if (c < least) {
			second = least;
			least = c;
		} else if (c < second) {
			second = c;
		}
	}
	if (second == G_MAXINT64)
		second = least;
	next_ms = second == G_MAXINT64 ? SYNC_FAST_MS : second * SYNC_COST_FACTOR / G_TIME_SPAN_MILLISECOND;
	source_timer_arm(iface->sync_timer, (guint)CLAMP(next_ms, SYNC_FAST_MS, SYNC_INTERVAL_MS));
}

static void note_read_cost(struct wice_iface *iface)
{
	gint64 cost_us = MAX(g_get_monotonic_time() - iface->read_started_us, 1);

	iface->read_costs_us[iface->n_reads++ % G_N_ELEMENTS(iface->read_costs_us)] = cost_us;
}

static void on_device_read(int r, void *arg, void *data)
{
	struct wice_iface *iface = data;
	g_autoptr(GArray) waiters = iface->sync_waiters;

	iface->sync_waiters = iface->next_sync_waiters;
	iface->next_sync_waiters = NULL;
	iface->sync_busy = false;
	note_read_cost(iface);
	if (r == 0)
		apply_device(iface, *(struct wg_device **)arg);
	else if (r != -ENODEV) /* a device that is gone is the watcher's news */
		g_debug("%s: cannot read device: %s", iface->name, g_strerror(-r));
	schedule_next_read(iface);
	if (iface->sync_waiters)
		start_read(iface);
	for (guint i = 0; waiters && i < waiters->len; i++) {
		struct sync_waiter *w = &g_array_index(waiters, struct sync_waiter, i);

		w->fn(r, w->data);
	}
}

static void start_read(struct wice_iface *iface)
{
	iface->sync_busy = true;
	iface->read_started_us = g_get_monotonic_time();
	wg_io_submit(iface->io, read_device, g_new0(struct wg_device *, 1), free_device_slot, on_device_read, iface);
}

static void add_waiter(GArray **list, iface_synced_fn fn, void *data)
{
	struct sync_waiter w = { fn, data };

	if (!*list)
		*list = g_array_new(FALSE, FALSE, sizeof(struct sync_waiter));
	g_array_append_val(*list, w);
}

void iface_sync(struct wice_iface *iface, iface_synced_fn fn, void *data)
{
	if (!iface->sync_busy) {
		if (fn)
			add_waiter(&iface->sync_waiters, fn, data);
		start_read(iface);
	} else if (fn) {
		add_waiter(&iface->next_sync_waiters, fn, data);
	}
}

bool iface_device_stalled(const struct wice_iface *iface)
{
	return wg_io_busy_us(iface->io) > IFACE_STALLED_MS * G_TIME_SPAN_MILLISECOND;
}

static void fail_waiters(GArray *waiters)
{
	for (guint i = 0; waiters && i < waiters->len; i++) {
		struct sync_waiter *w = &g_array_index(waiters, struct sync_waiter, i);

		w->fn(-ENODEV, w->data);
	}
	if (waiters)
		g_array_free(waiters, TRUE);
}

static gboolean on_sync_timer(gpointer data)
{
	iface_sync(data, NULL, NULL);
	return G_SOURCE_CONTINUE; /* ignored: the read's end re-arms the timer */
}

static void for_each_peer(struct wice_iface *iface, void (*fn)(struct wice_peer *peer))
{
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, iface->peers);
	while (g_hash_table_iter_next(&it, NULL, &value))
		fn(value);
}

size_t iface_unsettled_peers(struct wice_iface *iface)
{
	GHashTableIter it;
	gpointer value;
	size_t connected = 0;

	g_hash_table_iter_init(&it, iface->peers);
	while (g_hash_table_iter_next(&it, NULL, &value))
		connected += ((struct wice_peer *)value)->state == PEER_CONNECTED;
	return iface->n_device_peers > connected ? iface->n_device_peers - connected : 1;
}

/* The device is gone: nothing of it can (or needs to) be restored. */
static void forget_endpoint(struct wice_peer *peer)
{
	peer->endpoint_changed = false;
}

void iface_on_network_changed(struct wice_iface *iface)
{
	for_each_peer(iface, peer_on_network_changed);
}

struct wice_iface *iface_new(const struct iface_host *host, const char *name)
{
	struct wice_iface *iface = g_new0(struct wice_iface, 1);

	iface->host = *host;
	iface->tunnel_fd = -1;
	iface->io = wg_io_new(name, host->wg);
	g_strlcpy(iface->name, name, sizeof(iface->name));
	iface->peers = g_hash_table_new_full(key_hash, key_equal, (GDestroyNotify)g_bytes_unref,
					     (GDestroyNotify)peer_free);
	iface->sync_timer = source_timer_new(NULL, on_sync_timer, iface);
	iface_sync(iface, NULL, NULL);
	return iface;
}

void iface_free(struct wice_iface *iface)
{
	if (!iface)
		return;
	source_clear(&iface->sync_timer);
	source_clear(&iface->sync_soon);
	reroute_release(iface);
	relay_for_peers_release(iface);
	g_hash_table_destroy(iface->peers);
	link_addr_iface_release(iface);
	/* The peers' last writes (endpoints put back) are queued: give them
	 * a moment, then let go of a device that does not answer. */
	wg_io_free(iface->io, IFACE_DRAIN_MS);
	fail_waiters(g_steal_pointer(&iface->sync_waiters));
	fail_waiters(g_steal_pointer(&iface->next_sync_waiters));
	sig_identity_wipe(&iface->identity);
	g_free(iface);
}

void iface_forget_device(struct wice_iface *iface)
{
	iface->device_gone = true;
	for_each_peer(iface, forget_endpoint);
}

void iface_on_signaling_up(struct wice_iface *iface)
{
	for_each_peer(iface, peer_on_signaling_up);
}

void iface_subscribe_peers(struct wice_iface *iface, struct sig_backend *b)
{
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, iface->peers);
	while (g_hash_table_iter_next(&it, NULL, &value))
		sig_backend_subscribe(b, &((struct wice_peer *)value)->sub);
}

/* The peer's writes to WireGuard: the endpoint of the selected path, the
 * handshake kick, and the endpoint put back at the end.
 *
 * They run on the interface's WireGuard worker (wg-io.h), in order, and
 * come back on the main loop.  A job carries the peer's key and id, not
 * the peer: the peer may be gone (or replaced by a new one with the same
 * key) by the time the result is back. */
#include "config.h"

#include <string.h>
#include <time.h>

#include "peer-internal.h"
#include "wg/wg-aip.h"
#include "util/source-util.h"

#define KICK_KEEPALIVE_SEC 25
/* WireGuard rekeys every 2 minutes while in use: older means no session. */
#define KICK_HANDSHAKE_AGE_SEC 180
#define KICK_MAX 5
#define KICK_CHECK_MS 250
/* A job's answer when the peer handshook already: no kick needed. */
#define HANDSHOOK 1

static void peer_wg_arm_kick(struct wice_peer *peer);

struct peer_job {
	uint8_t key[32];
	uint64_t peer_id;
	union wg_sockaddr endpoint; /* AF_UNSPEC: none */
	bool kick;
	int64_t void_handshake; /* peer.h */
};

static struct peer_job *job_new(const struct wice_peer *peer, const union wg_sockaddr *ep, bool kick)
{
	struct peer_job *job = g_new0(struct peer_job, 1);

	memcpy(job->key, peer->public_key, 32);
	job->peer_id = peer->id;
	if (ep)
		job->endpoint = *ep;
	job->kick = kick;
	job->void_handshake = peer->void_handshake;
	return job;
}

/* The peer the job was for, if it is still there. */
static struct wice_peer *job_peer(struct wice_iface *iface, const struct peer_job *job)
{
	struct wice_peer *peer = iface_find_peer(iface, job->key);

	return peer && peer->id == job->peer_id ? peer : NULL;
}

static void submit(struct wice_peer *peer, wg_io_job_fn fn, struct peer_job *job, wg_io_done_fn done)
{
	wg_io_submit(peer->iface->io, fn, job, g_free, done, peer->iface);
}

/* --- in the worker ------------------------------------------------------------ */

static int set_keepalive(const struct wg_ops *ops, const char *ifname, const uint8_t key[32], uint16_t keepalive)
{
	struct wg_peer change = { .persistent_keepalive = keepalive,
				  .set = WG_PEER_UPDATE_ONLY | WG_PEER_SET_KEEPALIVE };
	struct wg_device changes = { .peers = &change, .n_peers = 1 };

	memcpy(change.public_key, key, 32);
	return ops->set(ifname, &changes);
}

/* Removes the peer and adds it back with the same keys, allowed IPs and
 * keepalive, and the job's endpoint (none: the only way to clear an
 * endpoint in WireGuard).
 *
 * With a kick the new peer handshakes at once: a WireGuard peer that tried
 * to handshake before it had an endpoint waits out REKEY_TIMEOUT (5 s)
 * before trying again, a fresh one does not, and setting a keepalive makes
 * WireGuard send one (and so handshake) immediately; the operator's value
 * is put back right after. */
static int readd_in(const struct wg_ops *ops, const char *ifname, const struct peer_job *job,
		    const struct wg_device *dev)
{
	const struct wg_peer *wgp = wg_device_find_peer(dev, job->key);
	bool has_endpoint = wg_sockaddr_len(&job->endpoint) > 0;
	struct wg_peer copy;
	uint16_t keepalive;
	int r;

	if (!wgp)
		return has_endpoint ? -ENOENT : 0;
	copy = *wgp;
	keepalive = copy.persistent_keepalive;
	memset(&copy.endpoint, 0, sizeof(copy.endpoint));
	copy.set = WG_PEER_SET_KEEPALIVE | (wg_key_is_zero(copy.preshared_key) ? 0 : WG_PEER_SET_PRESHARED_KEY);
	if (has_endpoint) {
		copy.endpoint = job->endpoint;
		copy.set |= WG_PEER_SET_ENDPOINT;
	}
	if (job->kick && !keepalive)
		copy.persistent_keepalive = KICK_KEEPALIVE_SEC;
	r = wg_remove_peer(ops, ifname, job->key);
	if (r == 0)
		r = wg_put_peer(ops, ifname, &copy);
	if (r == 0 && job->kick && !keepalive)
		r = set_keepalive(ops, ifname, job->key, 0);
	return r;
}

static int readd(const struct wg_ops *ops, const char *ifname, void *arg)
{
	struct wg_device *dev = NULL;
	int r = ops->get(ifname, &dev);

	if (r == 0)
		r = readd_in(ops, ifname, arg, dev);
	wg_device_free(dev);
	return r;
}

/* A kick, unless the peer has a recent handshake (then HANDSHOOK): one
 * older than a session lives was not made on this path. */
static int kick_unless_handshook(const struct wg_ops *ops, const char *ifname, void *arg)
{
	struct peer_job *job = arg;
	struct wg_device *dev = NULL;
	const struct wg_peer *wgp;
	int r = ops->get(ifname, &dev);

	if (r < 0)
		return r;
	wgp = wg_device_find_peer(dev, job->key);
	if (!wgp)
		r = -ENOENT;
	else if (wgp->last_handshake_sec > job->void_handshake &&
		 time(NULL) - wgp->last_handshake_sec <= KICK_HANDSHAKE_AGE_SEC)
		r = HANDSHOOK;
	else
		r = readd_in(ops, ifname, job, dev);
	wg_device_free(dev);
	return r;
}

static int set_endpoint(const struct wg_ops *ops, const char *ifname, void *arg)
{
	struct peer_job *job = arg;

	return wg_set_peer_endpoint(ops, ifname, job->key, &job->endpoint);
}

/* --- back on the main loop --------------------------------------------------- */

static void on_endpoint_set(int r, void *arg, void *data)
{
	struct wice_peer *peer = job_peer(data, arg);

	if (r >= 0 || !peer)
		return;
	g_warning("%s/%s: cannot set WireGuard endpoint: %s", peer->iface->name, peer->name, g_strerror(-r));
	peer_schedule_restart(peer, "cannot set the WireGuard endpoint");
}

static void on_kicked(int r, void *arg, void *data)
{
	struct wice_peer *peer = job_peer(data, arg);

	if (!peer)
		return;
	if (r == 0 && peer->kicks < KICK_MAX)
		peer_wg_arm_kick(peer);
	else if (r < 0 && peer->kicks == 0)
		on_endpoint_set(r, arg, data);
}

/* The first initiation can arrive before the other side has its path in
 * place; check soon and try again rather than wait for WireGuard's 5 s. */
static gboolean on_kick_timer(gpointer data)
{
	struct wice_peer *peer = data;

	g_clear_pointer(&peer->kick_timer, g_source_unref);
	if (peer->kicks >= KICK_MAX)
		return G_SOURCE_REMOVE;
	g_debug("%s/%s: checking for a handshake", peer->iface->name, peer->name);
	submit(peer, kick_unless_handshook, job_new(peer, &peer->endpoint_set, true), on_kicked);
	return G_SOURCE_REMOVE;
}

static void peer_wg_arm_kick(struct wice_peer *peer)
{
	peer_wg_stop_kick(peer);
	peer->kicks++;
	peer->kick_timer = source_timeout(KICK_CHECK_MS << (peer->kicks - 1), on_kick_timer, peer);
}

void peer_wg_stop_kick(struct wice_peer *peer)
{
	source_clear(&peer->kick_timer);
}

static bool peer_has_session(const struct wice_peer *peer)
{
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;

	return peer->last_handshake > peer->void_handshake && now - peer->last_handshake <= KICK_HANDSHAKE_AGE_SEC;
}

/* Without a recent handshake there is no session to lose, so the
 * controlling side re-adds the peer to handshake at once (see readd_in).
 * Only one side does: WireGuard keeps one handshake per peer, and two
 * crossing initiations leave both sides waiting as responders until the
 * 5 s retry. */
void peer_wg_set_endpoint(struct wice_peer *peer, const union wg_sockaddr *ep)
{
	if (peer->endpoint_changed && memcmp(&peer->endpoint_set, ep, sizeof(*ep)) == 0)
		return;
	peer->endpoint_set = *ep;
	peer->endpoint_changed = true;
	if (peer->controlling && !peer_has_session(peer)) {
		peer_wg_stop_kick(peer);
		peer->kicks = 0;
		submit(peer, readd, job_new(peer, ep, true), on_kicked);
	} else {
		submit(peer, set_endpoint, job_new(peer, ep, false), on_endpoint_set);
	}
}

void peer_wg_kick_unless_handshook(struct wice_peer *peer)
{
	submit(peer, kick_unless_handshook, job_new(peer, &peer->endpoint_set, true), NULL);
}

static void on_restored(int r, void *arg, void *data)
{
	struct wice_iface *iface = data;
	char name[WG_KEY_B64_LEN];

	if (r >= 0 || r == -ENODEV || r == -ENOENT)
		return;
	wg_key_to_base64(name, ((struct peer_job *)arg)->key);
	g_warning("%s/%.11s: cannot restore WireGuard endpoint: %s", iface->name, name, g_strerror(-r));
}

void peer_wg_restore_endpoint(struct wice_peer *peer)
{
	if (!peer->endpoint_changed)
		return;
	if (wg_sockaddr_len(&peer->original_endpoint))
		submit(peer, set_endpoint, job_new(peer, &peer->original_endpoint, false), on_restored);
	else
		submit(peer, readd, job_new(peer, NULL, false), on_restored);
	peer->endpoint_changed = false;
}

/* --- allowed IPs (link-addr.c) ---------------------------------------------------- */

struct aips_job {
	uint8_t key[32];
	bool add;
	size_t n;
	struct wg_allowed_ip aips[2];
};

static bool in_job(const struct aips_job *job, const struct wg_allowed_ip *aip)
{
	return wg_aip_in(aip, job->aips, job->n);
}

static size_t without_job(const struct wg_peer *peer, struct wg_allowed_ip *out, void *data)
{
	size_t n = 0;

	for (size_t i = 0; i < peer->n_allowed_ips; i++)
		if (!in_job(data, &peer->allowed_ips[i]))
			out[n++] = peer->allowed_ips[i];
	return n;
}

static int change_aips(const struct wg_ops *ops, const char *ifname, void *arg)
{
	struct aips_job *job = arg;
	struct wg_peer change = { .set = WG_PEER_UPDATE_ONLY };

	if (!job->add)
		return wg_edit_allowed_ips(ops, ifname, job->key, 0, without_job, job);
	memcpy(change.public_key, job->key, 32);
	change.allowed_ips = job->aips;
	change.n_allowed_ips = job->n;
	return wg_change_peer(ops, ifname, &change); /* added to the peer's list, not replacing it */
}

static void on_aips_changed(int r, void *arg, void *data)
{
	struct wice_iface *iface = data;
	char name[WG_KEY_B64_LEN];

	if (r >= 0 || r == -ENODEV || r == -ENOENT)
		return;
	wg_key_to_base64(name, ((struct aips_job *)arg)->key);
	g_warning("%s/%.11s: cannot change allowed IPs: %s", iface->name, name, g_strerror(-r));
}

static void submit_aips(struct wice_peer *peer, bool add, const struct wg_allowed_ip *aips, size_t n)
{
	struct aips_job *job = g_new0(struct aips_job, 1);

	memcpy(job->key, peer->public_key, 32);
	job->add = add;
	job->n = MIN(n, G_N_ELEMENTS(job->aips));
	memcpy(job->aips, aips, job->n * sizeof(*aips));
	wg_io_submit(peer->iface->io, change_aips, job, g_free, on_aips_changed, peer->iface);
}

void peer_wg_add_allowed_ips(struct wice_peer *peer, const struct wg_allowed_ip *aips, size_t n)
{
	submit_aips(peer, true, aips, n);
}

void peer_wg_remove_allowed_ips(struct wice_peer *peer, const struct wg_allowed_ip *aips, size_t n)
{
	submit_aips(peer, false, aips, n);
}

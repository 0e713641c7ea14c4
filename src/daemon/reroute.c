/* Where each peer's addresses go (issue 13, sections 4 and 5): WireGuard
 * sends a packet to the peer whose allowed IPs hold its destination most
 * specifically, and accepts one from a peer only if its source is in that
 * peer's allowed IPs.  So moving a prefix between peers moves the traffic
 * both ways, and both ends move together because both run this.
 *
 *   hub and spoke: a learned peer (facts.c) gets its prefixes (as the hub
 *     told them) once its direct path works both ways, and loses them when
 *     it does not, so that the hub's wider prefix takes the traffic again
 *     (learned peers hear from us every 2 s, facts.c);
 *   relay by peer: a configured peer that has had no path for RELAY_AFTER_US
 *     has its prefixes carried by a connected peer that says it relays and
 *     reaches it; they go back when ICE connects the peer again.
 *
 * A move is recorded with who held the prefix before.  Giving it back
 * writes the holder's list as it was (WireGuard keeps allowed IPs in the
 * order they were added, and `wg showconf` shows that order), so on exit
 * every entry is where the operator put it.  The other end of relaying,
 * forwarding for others, is relay-for-peers.c. */
#include "config.h"

#include <string.h>

#include "peer.h"
#include "wg/wg-aip.h"

#define RELAY_AFTER_US (5 * G_USEC_PER_SEC)
/* A mesh coming up has many members not connected yet for a few seconds
 * each: moving all of them to relays and back would be churn. */
#define RELAY_AFTER_MESH_US (20 * G_USEC_PER_SEC)
#define MAX_PREFIXES 64

struct move {
	struct wg_allowed_ip aip;
	uint8_t owner[32];   /* whose address it is */
	uint8_t carrier[32]; /* the peer that holds it now */
	bool has_holder;     /* a peer held exactly this prefix before */
	uint8_t holder[32];
};

struct snapshot {
	uint8_t key[32];
	struct wg_allowed_ip *aips; /* the holder's list before the first move, in order */
	size_t n;
};

struct reroute {
	GArray *moves;     /* struct move */
	GArray *snapshots; /* struct snapshot */
};

static bool key_is(const uint8_t a[32], const uint8_t b[32])
{
	return memcmp(a, b, 32) == 0;
}

static struct reroute *state(struct wice_iface *iface)
{
	if (!iface->reroute) {
		iface->reroute = g_new0(struct reroute, 1);
		iface->reroute->moves = g_array_new(FALSE, FALSE, sizeof(struct move));
		iface->reroute->snapshots = g_array_new(FALSE, FALSE, sizeof(struct snapshot));
	}
	return iface->reroute;
}

/* --- WireGuard jobs ---------------------------------------------------------------- */

struct aip_job {
	uint8_t key[32];
	bool add;
	struct wg_allowed_ip aip;
};

static size_t without_one(const struct wg_peer *peer, struct wg_allowed_ip *out, void *data)
{
	size_t n = 0;

	for (size_t i = 0; i < peer->n_allowed_ips; i++)
		if (!wg_aip_equal(&peer->allowed_ips[i], data))
			out[n++] = peer->allowed_ips[i];
	return n;
}

static int change_one(const struct wg_ops *ops, const char *ifname, void *arg)
{
	struct aip_job *job = arg;
	struct wg_peer change = { .set = WG_PEER_UPDATE_ONLY, .allowed_ips = &job->aip, .n_allowed_ips = 1 };

	if (!job->add)
		return wg_edit_allowed_ips(ops, ifname, job->key, 0, without_one, &job->aip);
	memcpy(change.public_key, job->key, 32);
	return wg_change_peer(ops, ifname, &change); /* added, and taken from whoever had it */
}

struct restore_job {
	uint8_t key[32];
	struct wg_allowed_ip *orig, *excluded;
	size_t n_orig, n_excluded;
};

static void restore_job_free(void *arg)
{
	struct restore_job *job = arg;

	g_free(job->orig);
	g_free(job->excluded);
	g_free(job);
}

/* The holder's list as it was, but for what is still away, followed by
 * what came since (addresses wice added for the link, say). */
static size_t as_it_was(const struct wg_peer *peer, struct wg_allowed_ip *out, void *data)
{
	const struct restore_job *job = data;
	size_t n = 0;

	for (size_t i = 0; i < job->n_orig; i++)
		if (!wg_aip_in(&job->orig[i], job->excluded, job->n_excluded))
			out[n++] = job->orig[i];
	for (size_t i = 0; i < peer->n_allowed_ips; i++)
		if (!wg_aip_in(&peer->allowed_ips[i], job->orig, job->n_orig))
			out[n++] = peer->allowed_ips[i];
	return n;
}

static int restore_list(const struct wg_ops *ops, const char *ifname, void *arg)
{
	struct restore_job *job = arg;

	return wg_edit_allowed_ips(ops, ifname, job->key, job->n_orig, as_it_was, job);
}

static void on_changed(int r, void *arg, void *data)
{
	struct wice_iface *iface = data;

	if (r < 0 && r != -ENODEV && r != -ENOENT)
		g_warning("%s: cannot move allowed IPs: %s", iface->name, g_strerror(-r));
}

static void submit_one(struct wice_iface *iface, const uint8_t key[32], bool add, const struct wg_allowed_ip *aip)
{
	struct aip_job *job = g_new0(struct aip_job, 1);

	memcpy(job->key, key, 32);
	job->add = add;
	job->aip = *aip;
	wg_io_submit(iface->io, change_one, job, g_free, on_changed, iface);
}

/* --- moves ------------------------------------------------------------------------- */

static struct snapshot *find_snapshot(struct reroute *rr, const uint8_t key[32])
{
	for (guint i = 0; i < rr->snapshots->len; i++)
		if (key_is(g_array_index(rr->snapshots, struct snapshot, i).key, key))
			return &g_array_index(rr->snapshots, struct snapshot, i);
	return NULL;
}

static void take_snapshot(struct reroute *rr, const struct wice_peer *holder)
{
	struct snapshot s = { 0 };

	if (find_snapshot(rr, holder->public_key))
		return;
	memcpy(s.key, holder->public_key, 32);
	s.aips = g_memdup2(holder->aips, holder->n_aips * sizeof(*holder->aips));
	s.n = holder->n_aips;
	g_array_append_val(rr->snapshots, s);
}

/* The peer that holds exactly @aip now, if any. */
static struct wice_peer *exact_holder(struct wice_iface *iface, const struct wg_allowed_ip *aip)
{
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, iface->peers);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct wice_peer *peer = value;

		if (wg_aip_in(aip, peer->aips, peer->n_aips))
			return peer;
	}
	return NULL;
}

static struct move *find_move(struct reroute *rr, const uint8_t owner[32], const struct wg_allowed_ip *aip)
{
	for (guint i = 0; i < rr->moves->len; i++) {
		struct move *m = &g_array_index(rr->moves, struct move, i);

		if (key_is(m->owner, owner) && wg_aip_equal(&m->aip, aip))
			return m;
	}
	return NULL;
}

static void place(struct wice_iface *iface, const uint8_t owner[32], const struct wg_allowed_ip *aip,
		  const uint8_t carrier[32])
{
	struct reroute *rr = state(iface);
	struct move *m = find_move(rr, owner, aip);
	struct wice_peer *holder;

	if (m && key_is(m->carrier, carrier))
		return;
	if (!m) {
		struct move fresh = { .aip = *aip };

		memcpy(fresh.owner, owner, 32);
		holder = exact_holder(iface, aip);
		if (holder) {
			take_snapshot(rr, holder);
			fresh.has_holder = true;
			memcpy(fresh.holder, holder->public_key, 32);
		}
		g_array_append_val(rr->moves, fresh);
		m = &g_array_index(rr->moves, struct move, rr->moves->len - 1);
	}
	memcpy(m->carrier, carrier, 32);
	submit_one(iface, carrier, true, aip); /* WireGuard takes it from whoever had it */
}

/* Writes @holder's list back, keeping away what other moves still hold. */
static void restore_holder(struct wice_iface *iface, const uint8_t holder[32])
{
	struct reroute *rr = state(iface);
	struct snapshot *s = find_snapshot(rr, holder);
	struct restore_job *job;
	bool still_away = false;

	if (!s)
		return;
	job = g_new0(struct restore_job, 1);
	memcpy(job->key, holder, 32);
	job->orig = g_memdup2(s->aips, s->n * sizeof(*s->aips));
	job->n_orig = s->n;
	job->excluded = g_new0(struct wg_allowed_ip, rr->moves->len + 1);
	for (guint i = 0; i < rr->moves->len; i++) {
		const struct move *m = &g_array_index(rr->moves, struct move, i);

		job->excluded[job->n_excluded++] = m->aip;
		still_away |= m->has_holder && key_is(m->holder, holder);
	}
	wg_io_submit(iface->io, restore_list, job, restore_job_free, on_changed, iface);
	if (!still_away) {
		g_free(s->aips);
		g_array_remove_index_fast(rr->snapshots, (guint)(s - (struct snapshot *)(void *)rr->snapshots->data));
	}
}

static void give_back(struct wice_iface *iface, guint index)
{
	struct reroute *rr = state(iface);
	struct move m = g_array_index(rr->moves, struct move, index);

	g_array_remove_index_fast(rr->moves, index);
	if (m.has_holder)
		restore_holder(iface, m.holder);
	else
		submit_one(iface, m.carrier, false, &m.aip);
}

void reroute_forget(struct wice_iface *iface, const uint8_t key[32])
{
	struct reroute *rr = iface->reroute;

	for (guint i = rr ? rr->moves->len : 0; i-- > 0;) {
		const struct move *m = &g_array_index(rr->moves, struct move, i);

		if (key_is(m->owner, key) || key_is(m->carrier, key))
			give_back(iface, i);
	}
}

bool reroute_is_carrier(struct wice_iface *iface, const struct wice_peer *peer)
{
	struct reroute *rr = iface->reroute;

	for (guint i = 0; rr && i < rr->moves->len; i++)
		if (key_is(g_array_index(rr->moves, struct move, i).carrier, peer->public_key))
			return true;
	return false;
}

/* --- decisions ---------------------------------------------------------------------- */

static bool carried_for_other(struct reroute *rr, const struct wice_peer *peer, const struct wg_allowed_ip *aip)
{
	for (guint i = 0; i < rr->moves->len; i++) {
		const struct move *m = &g_array_index(rr->moves, struct move, i);

		if (key_is(m->carrier, peer->public_key) && !key_is(m->owner, peer->public_key) &&
		    wg_aip_equal(&m->aip, aip))
			return true;
	}
	return false;
}

/* The addresses that are @peer's own: what the routers told of a learned
 * peer; a configured peer's allowed IPs as the operator set them (before
 * any move), but for its link-local and what it carries for others. */
static size_t owned(struct wice_iface *iface, const struct wice_peer *peer, struct wg_allowed_ip *ret)
{
	struct snapshot *s = iface->reroute ? find_snapshot(iface->reroute, peer->public_key) : NULL;
	const struct wg_allowed_ip *list = s ? s->aips : peer->aips;
	size_t n_list = s ? s->n : peer->n_aips, n = 0;

	if (peer->learned)
		return facts_prefixes_of(iface, peer->public_key, ret, MAX_PREFIXES);
	for (size_t i = 0; i < n_list && n < MAX_PREFIXES; i++) {
		const struct wg_allowed_ip *aip = &list[i];
		const struct move *m = iface->reroute ? find_move(iface->reroute, peer->public_key, aip) : NULL;
		bool link_local = aip->family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&aip->addr.v6);

		if (link_local || (!m && iface->reroute && carried_for_other(iface->reroute, peer, aip)))
			continue;
		ret[n++] = *aip;
	}
	return n;
}

static bool up(const struct wice_peer *peer)
{
	return peer->state == PEER_CONNECTED && tunnel_signal_reachable(peer);
}

/* A direct path that carries both ways: ICE connected it without a
 * relay, we heard from the peer lately and it says it hears us (facts go
 * to learned peers every 2 s).  A path that fails one way only (a
 * firewall that drops what leaves) fails both checks on one side or the
 * other, and both sides give the addresses back. */
static bool alive_direct(const struct wice_peer *peer)
{
	return up(peer) && g_strcmp0(peer_reached(peer), "direct") == 0 && facts_hears(peer) &&
	       facts_heard_by(peer);
}

/* Asked this long before (at once on an interface that is not a mesh): our
 * bundle goes within FACTS_FAST_US (2 s) of the last one, the neighbour's
 * answer within FACTS_FAST_US of its last one (facts_soon on a new
 * MISSES), and the next tick sees it. */
#define RELAY_ASK_AHEAD_US (5 * G_USEC_PER_SEC)

static gint64 relay_after_us(const struct wice_iface *iface)
{
	return iface->is_mesh ? RELAY_AFTER_MESH_US : RELAY_AFTER_US;
}

bool reroute_wants_relay_soon(const struct wice_iface *iface, const struct wice_peer *peer)
{
	return peer->state != PEER_CONNECTED && peer->down_since_us &&
	       g_get_monotonic_time() - peer->down_since_us >= relay_after_us(iface) - RELAY_ASK_AHEAD_US;
}

static struct wice_peer *current_carrier(struct wice_iface *iface, const struct wice_peer *peer)
{
	struct reroute *rr = iface->reroute;

	for (guint i = 0; rr && i < rr->moves->len; i++) {
		const struct move *m = &g_array_index(rr->moves, struct move, i);

		if (key_is(m->owner, peer->public_key))
			return iface_find_peer(iface, m->carrier);
	}
	return NULL;
}

static bool can_relay(struct wice_iface *iface, const struct wice_peer *relay, const struct wice_peer *peer)
{
	return relay && relay != peer && up(relay) && facts_relays_to(iface, relay->public_key, peer->public_key);
}

/* A connected peer that relays and reaches @peer: the one we use already,
 * else the smallest key (any rule both ends share would do). */
static struct wice_peer *pick_relay(struct wice_iface *iface, const struct wice_peer *peer)
{
	struct wice_peer *best = current_carrier(iface, peer);
	GHashTableIter it;
	gpointer value;

	if (can_relay(iface, best, peer))
		return best;
	best = NULL;
	g_hash_table_iter_init(&it, iface->peers);
	while (g_hash_table_iter_next(&it, NULL, &value))
		if (can_relay(iface, value, peer) && (!best || memcmp(((struct wice_peer *)value)->public_key,
								   best->public_key, 32) < 0))
			best = value;
	return best;
}

/* Who should carry @peer's addresses; NULL: where the operator put them
 * (a learned peer's: the hub's wider prefix). */
static struct wice_peer *carrier_for(struct wice_iface *iface, struct wice_peer *peer)
{
	if (peer->learned)
		return alive_direct(peer) ? peer : NULL;
	if (peer->state == PEER_CONNECTED || !peer->down_since_us ||
	    g_get_monotonic_time() - peer->down_since_us < relay_after_us(iface))
		return NULL;
	return pick_relay(iface, peer);
}

static void note_via(struct wice_iface *iface, struct wice_peer *peer, const struct wice_peer *carrier)
{
	peer->rerouted = carrier != peer && (carrier || peer->learned);
	memset(peer->via, 0, sizeof(peer->via));
	if (carrier && carrier != peer)
		memcpy(peer->via, carrier->public_key, 32);
	else if (!carrier && peer->learned)
		peer->rerouted = facts_voucher(iface, peer->public_key, peer->via);
}

static void route_peer(struct wice_iface *iface, struct wice_peer *peer)
{
	struct wg_allowed_ip mine[MAX_PREFIXES];
	struct wice_peer *carrier = carrier_for(iface, peer);
	size_t n = owned(iface, peer, mine);
	struct reroute *rr;

	note_via(iface, peer, carrier);
	if (carrier && !(carrier == peer && !peer->learned))
		for (size_t i = 0; i < n; i++)
			place(iface, peer->public_key, &mine[i], carrier->public_key);
	rr = iface->reroute;
	for (guint i = rr ? rr->moves->len : 0; i-- > 0;) {
		const struct move *m = &g_array_index(rr->moves, struct move, i);

		if (key_is(m->owner, peer->public_key) && (!carrier || !wg_aip_in(&m->aip, mine, n)))
			give_back(iface, i);
	}
}

/* --- life cycle ----------------------------------------------------------------------- */

void reroute_update(struct wice_iface *iface)
{
	gint64 now = g_get_monotonic_time();
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, iface->peers);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct wice_peer *peer = value;

		if (peer->state == PEER_CONNECTED)
			peer->down_since_us = 0;
		else if (!peer->down_since_us)
			peer->down_since_us = now;
	}
	g_hash_table_iter_init(&it, iface->peers);
	while (g_hash_table_iter_next(&it, NULL, &value))
		route_peer(iface, value);
	relay_for_peers_update(iface);
}

/* Every prefix back where the operator put it, the relay table gone. */
void reroute_release(struct wice_iface *iface)
{
	struct reroute *rr = iface->reroute;

	if (!rr)
		return;
	while (rr->moves->len && !iface->device_gone)
		give_back(iface, rr->moves->len - 1);
	for (guint i = 0; i < rr->snapshots->len; i++)
		g_free(g_array_index(rr->snapshots, struct snapshot, i).aips);
	g_array_free(rr->snapshots, TRUE);
	g_array_free(rr->moves, TRUE);
	g_free(rr);
	iface->reroute = NULL;
}

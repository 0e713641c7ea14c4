/* Facts (issue 13, section 3; docs/PROTOCOL.md section 14): every node
 * tells each neighbour, through the tunnel, what it knows about itself
 * (alive, its endpoints and addresses, which peers it reaches, whether it
 * relays for peers) and, when it is a router, about its peers.  Each fact
 * lives for its TTL.
 *
 * Trust, on the receiving side: a bundle is sealed from the sender's
 * WireGuard key (sig-envelope.h), and must come from that peer's
 * link-local address, so who said it is known.  A fact about the sender
 * itself is believed; a fact about anyone else only when the sender is a
 * router for us: listed in `[interface NAME] trust`, or its allowed IPs
 * (in our configuration) cover an address of our interface or another
 * peer's allowed IPs, as a hub's do on its spokes.  Everything else is
 * dropped and counted.
 *
 * What the facts are for: a router's facts about other peers make the
 * spokes learn each other (learned peers are added to WireGuard with no
 * endpoint, ICE finds them a path, reroute.c moves their addresses to the
 * direct path); a peer's RELAYS and REACHES facts tell where to send what
 * has no direct path.  On a mesh interface the members are known already
 * (mesh gossip), so nobody publishes facts about others there. */
#include "config.h"

#include <ifaddrs.h>

#include "facts-internal.h"
#include "util/source-util.h"
#include "wg/wg-aip.h"

/* --- who is a router ------------------------------------------------------------ */

static void read_own_addresses(struct wice_iface *iface)
{
	struct iface_facts *fx = iface->facts;
	struct ifaddrs *list, *ifa;

	fx->n_own = 0;
	if (getifaddrs(&list) < 0)
		return;
	for (ifa = list; ifa && fx->n_own < OWN_MAX; ifa = ifa->ifa_next) {
		const struct sockaddr *sa = ifa->ifa_addr;
		const void *addr;

		if (!sa || strcmp(ifa->ifa_name, iface->name) != 0)
			continue;
		if (sa->sa_family == AF_INET) {
			addr = &((const struct sockaddr_in *)sa)->sin_addr;
		} else if (sa->sa_family == AF_INET6) {
			addr = &((const struct sockaddr_in6 *)sa)->sin6_addr;
			if (IN6_IS_ADDR_LINKLOCAL(addr) || !memcmp(addr, &iface->link_key, 16))
				continue;
		} else {
			continue;
		}
		fx->own[fx->n_own++] = wg_aip_host(sa->sa_family, addr);
	}
	freeifaddrs(list);
}

static bool covers_own(const struct iface_facts *fx, const struct wg_allowed_ip *aip)
{
	for (size_t i = 0; i < fx->n_own; i++)
		if (wg_aip_covers(aip, &fx->own[i]))
			return true;
	return false;
}

/* Some allowed IP of @peer strictly covers one of another peer. */
static bool covers_other_peer(struct wice_iface *iface, const struct wice_peer *peer)
{
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, iface->peers);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		const struct wice_peer *other = value;

		if (other == peer)
			continue;
		for (size_t i = 0; i < peer->n_aips; i++)
			for (size_t j = 0; j < other->n_aips; j++)
				if (peer->aips[i].cidr < other->aips[j].cidr &&
				    wg_aip_covers(&peer->aips[i], &other->aips[j]))
					return true;
	}
	return false;
}

bool facts_covers_own(const struct wice_iface *iface, const struct wg_allowed_ip *aip)
{
	return iface->facts && covers_own(iface->facts, aip);
}

bool facts_sender_is_router(struct wice_iface *iface, const struct wice_peer *peer)
{
	const struct wice_iface_settings *cfg = iface_settings(iface);

	for (size_t i = 0; i < cfg->n_trust; i++)
		if (facts_key_is(cfg->trust[i], peer->public_key))
			return true;
	for (size_t i = 0; i < peer->n_aips; i++)
		if (covers_own(iface->facts, &peer->aips[i]))
			return true;
	return covers_other_peer(iface, peer);
}

/* wirelink's rule for ourselves: a router is a node whose own address no
 * peer's allowed IPs cover (a spoke's hub covers the spoke's address). */
bool facts_we_are_router(struct wice_iface *iface)
{
	GHashTableIter it;
	gpointer value;

	if (!iface->facts || iface->is_mesh || !iface->facts->n_own)
		return false;
	g_hash_table_iter_init(&it, iface->peers);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		const struct wice_peer *peer = value;

		for (size_t i = 0; i < peer->n_aips; i++)
			if (covers_own(iface->facts, &peer->aips[i]))
				return false;
	}
	return true;
}

/* --- receiving ------------------------------------------------------------------ */

static struct sig_pair *lookup_pair(void *userdata, const uint8_t peer_public[SIG_KEY_LEN])
{
	struct wice_peer *peer = iface_find_peer(userdata, peer_public);

	return peer ? &peer->pair : NULL;
}

/* True when @f is news from @from (not known before). */
static bool remember(struct iface_facts *fx, const struct fact *f, const uint8_t from[32], gint64 expires_ms)
{
	struct fact_entry e = { .f = *f, .expires_ms = expires_ms };

	for (guint i = 0; i < fx->known->len; i++) {
		struct fact_entry *old = &g_array_index(fx->known, struct fact_entry, i);

		if (facts_key_is(old->from, from) && fact_same(&old->f, f)) {
			old->expires_ms = MAX(old->expires_ms, expires_ms);
			return false;
		}
	}
	if (fx->known->len >= FACTS_MAX)
		return false;
	memcpy(e.from, from, 32);
	g_array_append_val(fx->known, e);
	return true;
}

static void accept_bundle(struct wice_iface *iface, struct wice_peer *from, const struct fact_bundle *b)
{
	struct iface_facts *fx = iface->facts;
	bool router = facts_sender_is_router(iface, from);
	gint64 now = facts_now_ms();

	for (size_t i = 0; i < b->n; i++) {
		const struct fact *f = &b->facts[i];
		gint64 expires = (gint64)b->issued_ms + f->ttl_s * 1000;

		if (expires <= now) {
			fx->rejected++;
		} else if (!facts_key_is(f->subject, from->public_key) && !router) {
			fx->untrusted++;
			g_debug("%s/%s: dropped a fact about another node: the sender is not a router for us",
				iface->name, from->name);
		} else {
			/* Asked who reaches a peer: the answer should not wait
			 * for the next tick (a relay is picked 5 s after a path
			 * is lost, reroute.c). */
			if (remember(fx, f, from->public_key, expires) && f->attr == FACT_MISSES)
				facts_soon(iface);
			if (f->attr == FACT_REACHES && facts_key_is(f->subject, from->public_key) &&
			    facts_key_is(f->peer, iface->identity.public_key))
				from->heard_us_us = g_get_monotonic_time();
		}
	}
}

void facts_receive(struct wice_iface *iface, struct wice_peer *from, const uint8_t *env, size_t len)
{
	struct iface_facts *fx = iface->facts;
	uint8_t plain[SIG_PLAIN_MAX];
	struct fact_bundle b;
	struct sig_pair *pair;
	size_t n;

	if (!fx)
		return;
	/* Sealed by the peer whose tunnel it came through, newer than the
	 * last one, not from the future. */
	if (sig_envelope_open(&iface->identity, lookup_pair, iface, env, len, plain, sizeof(plain), &n, &pair) < 0 ||
	    pair != &from->pair || fact_bundle_decode(plain, n, &b) < 0 || b.issued_ms <= from->facts_issued_ms ||
	    b.issued_ms > (uint64_t)(facts_now_ms() + FACTS_FUTURE_MS)) {
		fx->rejected++;
		g_debug("%s/%s: dropped a facts bundle (forged, malformed, replayed or from the future)", iface->name,
			from->name);
		return;
	}
	from->facts_issued_ms = b.issued_ms;
	accept_bundle(iface, from, &b);
}

/* --- liveness and settings ---------------------------------------------------- */

/* We heard from @peer lately: its tunnel carries what it sends us (it
 * sends us a bundle every 2 s when that matters, see publish()). */
bool facts_hears(const struct wice_peer *peer)
{
	return peer->rx_changed_us && g_get_monotonic_time() - peer->rx_changed_us < FACTS_LIVE_US;
}

/* ... and it hears us: it said so in its last bundles. */
bool facts_heard_by(const struct wice_peer *peer)
{
	return peer->heard_us_us && g_get_monotonic_time() - peer->heard_us_us < FACTS_LIVE_US;
}

bool facts_relay_wanted(const struct wice_iface *iface)
{
	enum wice_tristate want = iface_settings(iface)->relay_for_peers;

	return want == WICE_YES || (want == WICE_DEFAULT && iface->is_mesh);
}

/* --- queries ---------------------------------------------------------------------- */

size_t facts_prefixes_of(const struct wice_iface *iface, const uint8_t subject[32], struct wg_allowed_ip *ret,
			 size_t max)
{
	const struct iface_facts *fx = iface->facts;
	size_t n = 0;

	for (guint i = 0; fx && i < fx->known->len && n < max; i++) {
		const struct fact_entry *e = &g_array_index(fx->known, struct fact_entry, i);
		struct wg_allowed_ip aip = { .family = e->f.family, .cidr = e->f.prefix };

		if (e->f.attr != FACT_ALLOWED_IP || !facts_key_is(e->f.subject, subject) || facts_key_is(e->from, subject))
			continue;
		memcpy(&aip.addr, e->f.addr, e->f.family == AF_INET ? 4 : 16);
		if (!wg_aip_in(&aip, ret, n))
			ret[n++] = aip;
	}
	return n;
}

const struct fact_entry *facts_find(const struct iface_facts *fx, const uint8_t *from, const uint8_t subject[32],
				    enum fact_attr attr, const uint8_t *peer)
{
	for (guint i = 0; i < fx->known->len; i++) {
		const struct fact_entry *e = &g_array_index(fx->known, struct fact_entry, i);

		if (e->f.attr == attr && facts_key_is(e->f.subject, subject) && (!from || facts_key_is(e->from, from)) &&
		    (!peer || facts_key_is(e->f.peer, peer)))
			return e;
	}
	return NULL;
}

const struct fact_entry *facts_vouching(const struct iface_facts *fx, const uint8_t subject[32])
{
	for (guint i = 0; i < fx->known->len; i++) {
		const struct fact_entry *e = &g_array_index(fx->known, struct fact_entry, i);

		if (e->f.attr == FACT_ALLOWED_IP && facts_key_is(e->f.subject, subject) && !facts_key_is(e->from, subject))
			return e;
	}
	return NULL;
}

bool facts_voucher(const struct wice_iface *iface, const uint8_t subject[32], uint8_t ret_router[32])
{
	const struct fact_entry *e = iface->facts ? facts_vouching(iface->facts, subject) : NULL;

	if (e)
		memcpy(ret_router, e->from, 32);
	return e != NULL;
}

bool facts_relays_to(const struct wice_iface *iface, const uint8_t relay[32], const uint8_t target[32])
{
	const struct iface_facts *fx = iface->facts;

	return fx && facts_find(fx, NULL, relay, FACT_RELAYS, NULL) && facts_find(fx, NULL, relay, FACT_REACHES, target);
}

void facts_foreach_from(const struct wice_iface *iface, const uint8_t from[32], facts_fn fn, void *data)
{
	const struct iface_facts *fx = iface->facts;
	gint64 now = facts_now_ms();

	for (guint i = 0; fx && i < fx->known->len; i++) {
		const struct fact_entry *e = &g_array_index(fx->known, struct fact_entry, i);

		if (facts_key_is(e->from, from))
			fn(&e->f, (e->expires_ms - now) / 1000, data);
	}
}

void facts_counters(const struct wice_iface *iface, unsigned *ret_untrusted, unsigned *ret_rejected)
{
	*ret_untrusted = iface->facts ? iface->facts->untrusted : 0;
	*ret_rejected = iface->facts ? iface->facts->rejected : 0;
}

/* --- life cycle ---------------------------------------------------------------------- */

static void expire(struct iface_facts *fx)
{
	gint64 now = facts_now_ms();

	for (guint i = fx->known->len; i-- > 0;)
		if (g_array_index(fx->known, struct fact_entry, i).expires_ms <= now)
			g_array_remove_index_fast(fx->known, i);
}

static gboolean on_tick(gpointer data)
{
	struct wice_iface *iface = data;

	read_own_addresses(iface);
	expire(iface->facts);
	facts_learn(iface);
	reroute_update(iface);
	facts_publish(iface);
	return G_SOURCE_CONTINUE;
}

static gboolean on_soon(gpointer data)
{
	struct wice_iface *iface = data;

	g_clear_pointer(&iface->facts->soon, g_source_unref);
	on_tick(iface);
	return G_SOURCE_REMOVE;
}

/* A peer connected or lost its path: where addresses go, and what we
 * say, should not wait for the next tick. */
void facts_soon(struct wice_iface *iface)
{
	if (iface->facts && !iface->facts->soon)
		iface->facts->soon = source_timeout(0, on_soon, iface);
}

void facts_open(struct wice_iface *iface)
{
	struct iface_facts *fx;

	if (iface->facts || iface->tunnel_fd < 0)
		return;
	fx = g_new0(struct iface_facts, 1);
	fx->known = g_array_new(FALSE, FALSE, sizeof(struct fact_entry));
	fx->learned = g_hash_table_new_full(g_bytes_hash, g_bytes_equal, (GDestroyNotify)g_bytes_unref, NULL);
	iface->facts = fx;
	read_own_addresses(iface);
	fx->timer = source_timeout(FACTS_TICK_MS, on_tick, iface);
}

/* On exit (after the peers are gone): the peers we added go too. */
void facts_close(struct wice_iface *iface)
{
	struct iface_facts *fx = iface->facts;

	if (!fx)
		return;
	source_clear(&fx->timer);
	source_clear(&fx->soon);
	facts_drop_learned(iface);
	g_hash_table_destroy(fx->learned);
	g_array_free(fx->known, TRUE);
	g_free(fx);
	iface->facts = NULL;
}

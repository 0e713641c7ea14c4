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

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <string.h>

#include "peer.h"
#include "signaling/fact-wire.h"
#include "signaling/tunnel-wire.h"
#include "util/source-util.h"
#include "wg/wg-aip.h"
#include "wg/wg-keyaddr.h"

#define FACTS_TICK_MS 1000
/* How often each neighbour hears from us; peers whose liveness decides
 * where addresses go (learned ones, carriers) more often: three missed
 * bundles are how reroute.c finds a dead direct path. */
#define FACTS_INTERVAL_US (10 * G_USEC_PER_SEC)
#define FACTS_FAST_US (2 * G_USEC_PER_SEC)
/* Two fast bundles missed, and a device read of slack.  Each side says
 * "I hear you" only while this holds, and believes "you hear me" only
 * this long: a path that breaks one way is given up on both sides within
 * about two windows. */
#define FACTS_LIVE_US (5 * G_USEC_PER_SEC)
#define FACTS_TTL_S 30
#define FACTS_FUTURE_MS (60 * 1000)
#define FACTS_MAX 4096
#define LEARNED_MAX 256
#define OWN_MAX 16
#define OWN_ENDPOINTS_MAX 4

struct fact_entry {
	struct fact f;
	uint8_t from[32];
	gint64 expires_ms; /* real time */
};

struct iface_facts {
	GArray *known;       /* struct fact_entry: believed and not expired */
	GHashTable *learned; /* GBytes(key): peers we added to WireGuard */
	GSource *timer, *soon;
	uint64_t last_issued_ms;
	guint said_hash;     /* of what we last said about ourselves */
	bool news_pending;   /* some peer has not heard it yet */
	/* own addresses on the interface, refreshed every tick */
	struct wg_allowed_ip own[OWN_MAX];
	size_t n_own;
	unsigned untrusted, rejected;
};

static gint64 now_ms(void)
{
	return g_get_real_time() / 1000;
}

static bool key_is(const uint8_t a[32], const uint8_t b[32])
{
	return memcmp(a, b, 32) == 0;
}

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
		if (key_is(cfg->trust[i], peer->public_key))
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

static void remember(struct iface_facts *fx, const struct fact *f, const uint8_t from[32], gint64 expires_ms)
{
	struct fact_entry e = { .f = *f, .expires_ms = expires_ms };

	for (guint i = 0; i < fx->known->len; i++) {
		struct fact_entry *old = &g_array_index(fx->known, struct fact_entry, i);

		if (key_is(old->from, from) && fact_same(&old->f, f)) {
			old->expires_ms = MAX(old->expires_ms, expires_ms);
			return;
		}
	}
	if (fx->known->len >= FACTS_MAX)
		return;
	memcpy(e.from, from, 32);
	g_array_append_val(fx->known, e);
}

static void accept_bundle(struct wice_iface *iface, struct wice_peer *from, const struct fact_bundle *b)
{
	struct iface_facts *fx = iface->facts;
	bool router = facts_sender_is_router(iface, from);
	gint64 now = now_ms();

	for (size_t i = 0; i < b->n; i++) {
		const struct fact *f = &b->facts[i];
		gint64 expires = (gint64)b->issued_ms + f->ttl_s * 1000;

		if (expires <= now) {
			fx->rejected++;
		} else if (!key_is(f->subject, from->public_key) && !router) {
			fx->untrusted++;
			g_debug("%s/%s: dropped a fact about another node: the sender is not a router for us",
				iface->name, from->name);
		} else {
			remember(fx, f, from->public_key, expires);
			if (f->attr == FACT_REACHES && key_is(f->subject, from->public_key) &&
			    key_is(f->peer, iface->identity.public_key))
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
	    b.issued_ms > (uint64_t)(now_ms() + FACTS_FUTURE_MS)) {
		fx->rejected++;
		g_debug("%s/%s: dropped a facts bundle (forged, malformed, replayed or from the future)", iface->name,
			from->name);
		return;
	}
	from->facts_issued_ms = b.issued_ms;
	accept_bundle(iface, from, &b);
}

/* --- what we say ------------------------------------------------------------------ */

struct composer {
	struct wice_iface *iface;
	struct wice_peer *to;
	struct fact_bundle b;
	size_t bytes;
};

static void flush(struct composer *c)
{
	struct iface_facts *fx = c->iface->facts;
	uint8_t plain[SIG_PLAIN_MAX], env[SIG_ENVELOPE_MAX], buf[TUNNEL_WIRE_MAX];
	size_t n, env_len;

	if (!c->b.n)
		return;
	/* Strictly increasing: the receiver drops what is not newer. */
	fx->last_issued_ms = MAX((uint64_t)now_ms(), fx->last_issued_ms + 1);
	c->b.issued_ms = fx->last_issued_ms;
	if (fact_bundle_encode(&c->b, plain, sizeof(plain), &n) == 0 &&
	    sig_envelope_seal(&c->iface->identity, &c->to->pair, plain, n, env, sizeof(env), &env_len) == 0)
		tunnel_signal_send(c->to, buf, tunnel_wire_facts(buf, env, env_len));
	c->b.n = 0;
	c->bytes = FACT_BUNDLE_HEADER;
}

static void say(struct composer *c, const struct fact *f)
{
	size_t size = fact_wire_size(f);

	if (!size)
		return;
	if (c->b.n == FACT_BUNDLE_MAX || c->bytes + size > SIG_PLAIN_MAX)
		flush(c);
	c->b.facts[c->b.n++] = *f;
	c->bytes += size;
}

static struct fact fact_new(const uint8_t subject[32], enum fact_attr attr)
{
	struct fact f = { .attr = attr, .ttl_s = FACTS_TTL_S };

	memcpy(f.subject, subject, 32);
	return f;
}

static void say_prefix(struct composer *c, const uint8_t subject[32], const struct wg_allowed_ip *aip)
{
	struct fact f = fact_new(subject, FACT_ALLOWED_IP);

	f.family = aip->family;
	memcpy(f.addr, &aip->addr, aip->family == AF_INET ? 4 : 16);
	f.prefix = aip->cidr;
	say(c, &f);
}

static void say_endpoint(struct composer *c, const uint8_t subject[32], const struct sockaddr *sa, uint16_t port)
{
	struct fact f = fact_new(subject, FACT_ENDPOINT);

	f.family = sa->sa_family;
	if (sa->sa_family == AF_INET)
		memcpy(f.addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	else if (sa->sa_family == AF_INET6)
		memcpy(f.addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	else
		return;
	f.port = port;
	say(c, &f);
}

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

/* A peer is "up" for facts when ICE connected it and WireGuard handshook. */
static bool peer_up(const struct wice_peer *peer)
{
	return peer->state == PEER_CONNECTED && tunnel_signal_reachable(peer);
}

bool facts_relay_wanted(const struct wice_iface *iface)
{
	enum wice_tristate want = iface_settings(iface)->relay_for_peers;

	return want == WICE_YES || (want == WICE_DEFAULT && iface->is_mesh);
}

static void say_about_us(struct composer *c)
{
	struct wice_iface *iface = c->iface;
	const uint8_t *me = iface->identity.public_key;
	g_autoptr(GArray) addrs = g_array_new(FALSE, FALSE, sizeof(struct sockaddr_storage));
	struct fact f = fact_new(me, FACT_ALIVE);
	GHashTableIter it;
	gpointer value;

	say(c, &f);
	if (facts_relay_wanted(iface)) {
		f.attr = FACT_RELAYS;
		say(c, &f);
	}
	for (size_t i = 0; i < iface->facts->n_own; i++)
		say_prefix(c, me, &iface->facts->own[i]);
	iface->host.ops->local_addresses(iface->host.data, addrs);
	for (guint i = 0; i < MIN(addrs->len, OWN_ENDPOINTS_MAX) && iface->listen_port; i++)
		say_endpoint(c, me, (const struct sockaddr *)&g_array_index(addrs, struct sockaddr_storage, i),
			     iface->listen_port);
	g_hash_table_iter_init(&it, iface->peers);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		const struct wice_peer *peer = value;

		if (!peer_up(peer) || (peer == c->to && !facts_hears(peer)))
			continue;
		f = fact_new(me, FACT_REACHES);
		memcpy(f.peer, peer->public_key, 32);
		say(c, &f);
	}
}

/* An allowed IP that is the peer's own and may be told: not its
 * link-local or key address (every node derives those from the key, and
 * wice adds them itself), nothing that covers us. */
static bool tellable_prefix(const struct wice_iface *iface, const struct wice_peer *peer,
			    const struct wg_allowed_ip *aip)
{
	struct in6_addr key;

	wg_key_address(peer->public_key, &key);
	return !(aip->family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&aip->addr.v6)) && !covers_own(iface->facts, aip) &&
	       !(aip->family == AF_INET6 && aip->cidr == 128 && !memcmp(&aip->addr.v6, &key, 16));
}

/* As a router, what we know of the peers other than @c->to. */
static void say_about_peers(struct composer *c)
{
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, c->iface->peers);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		const struct wice_peer *peer = value;
		struct fact f = fact_new(peer->public_key, FACT_ALIVE);

		if (peer == c->to || !tunnel_signal_reachable(peer))
			continue;
		say(c, &f);
		if (wg_sockaddr_len(&peer->wg_endpoint))
			say_endpoint(c, peer->public_key, &peer->wg_endpoint.sa, ntohs(peer->wg_endpoint.sa.sa_family == AF_INET ? peer->wg_endpoint.in.sin_port : peer->wg_endpoint.in6.sin6_port));
		for (size_t i = 0; i < peer->n_aips; i++)
			if (tellable_prefix(c->iface, peer, &peer->aips[i]))
				say_prefix(c, peer->public_key, &peer->aips[i]);
	}
}

static void publish_to(struct wice_iface *iface, struct wice_peer *to, bool router)
{
	struct composer c = { .iface = iface, .to = to, .bytes = FACT_BUNDLE_HEADER };

	say_about_us(&c);
	if (router)
		say_about_peers(&c);
	flush(&c);
	to->facts_sent_us = g_get_monotonic_time();
}

/* What we say about ourselves changed (a peer came or went): everyone
 * hears it at this tick rather than at their next turn. */
static bool news(struct wice_iface *iface)
{
	guint hash = facts_relay_wanted(iface) ? 1 : 2, h;
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, iface->peers);
	while (g_hash_table_iter_next(&it, NULL, &value))
		if (peer_up(value)) {
			memcpy(&h, ((struct wice_peer *)value)->public_key, sizeof(h));
			hash ^= h; /* the order of the table is no news */
		}
	if (hash == iface->facts->said_hash)
		return false;
	iface->facts->said_hash = hash;
	return true;
}

static void publish(struct wice_iface *iface)
{
	bool router = facts_we_are_router(iface), all = news(iface) || iface->facts->news_pending;
	gint64 now = g_get_monotonic_time();
	bool pending = false;
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, iface->peers);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct wice_peer *peer = value;
		gint64 every = peer->learned || reroute_is_carrier(iface, peer) ? FACTS_FAST_US : FACTS_INTERVAL_US;

		if (!tunnel_signal_reachable(peer) && peer->state != PEER_CONNECTED)
			continue;
		/* News goes out at once, but to each peer at most every
		 * FACTS_FAST_US: a mesh coming up is a peer connecting every
		 * few milliseconds. */
		if ((all && now - peer->facts_sent_us >= FACTS_FAST_US) || now - peer->facts_sent_us >= every)
			publish_to(iface, peer, router);
		else if (all)
			pending = true;
	}
	iface->facts->news_pending = pending;
}

/* --- learned peers ----------------------------------------------------------------- */

static int add_learned(const struct wg_ops *ops, const char *ifname, void *arg)
{
	struct wg_peer wgp = { 0 };

	memcpy(wgp.public_key, arg, 32);
	return wg_put_peer(ops, ifname, &wgp);
}

static int remove_learned(const struct wg_ops *ops, const char *ifname, void *arg)
{
	return wg_remove_peer(ops, ifname, arg);
}

static void on_learned_changed(int r, void *arg, void *data)
{
	struct wice_iface *iface = data;

	if (r < 0 && r != -ENODEV && r != -ENOENT)
		g_warning("%s: cannot change a learned peer: %s", iface->name, g_strerror(-r));
	else
		iface_sync(iface, NULL, NULL);
}

static bool vouched(const struct iface_facts *fx, const uint8_t subject[32])
{
	for (guint i = 0; i < fx->known->len; i++) {
		const struct fact_entry *e = &g_array_index(fx->known, struct fact_entry, i);

		if (e->f.attr == FACT_ALLOWED_IP && key_is(e->f.subject, subject) && !key_is(e->from, subject))
			return true;
	}
	return false;
}

/* A router told us of a node we have no peer for: add it.  Nodes no
 * router speaks of any more go again. */
static void learn(struct wice_iface *iface)
{
	struct iface_facts *fx = iface->facts;
	GHashTableIter it;
	gpointer key;

	for (guint i = 0; i < fx->known->len && g_hash_table_size(fx->learned) < LEARNED_MAX; i++) {
		const struct fact_entry *e = &g_array_index(fx->known, struct fact_entry, i);
		g_autoptr(GBytes) k = g_bytes_new(e->f.subject, 32);

		if (e->f.attr != FACT_ALLOWED_IP || key_is(e->f.subject, e->from) ||
		    key_is(e->f.subject, iface->identity.public_key) || iface_find_peer(iface, e->f.subject) ||
		    g_hash_table_contains(fx->learned, k))
			continue;
		g_message("%s: learned a peer from a router's facts", iface->name);
		g_hash_table_add(fx->learned, g_bytes_ref(k));
		wg_io_submit(iface->io, add_learned, g_memdup2(e->f.subject, 32), g_free, on_learned_changed, iface);
	}
	g_hash_table_iter_init(&it, fx->learned);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		const uint8_t *subject = g_bytes_get_data(key, NULL);

		if (vouched(fx, subject))
			continue;
		g_message("%s: a learned peer is gone from the routers' facts: removing it", iface->name);
		reroute_forget(iface, subject);
		wg_io_submit(iface->io, remove_learned, g_memdup2(subject, 32), g_free, on_learned_changed, iface);
		g_hash_table_iter_remove(&it);
	}
}

bool facts_learned(const struct wice_iface *iface, const uint8_t key[32])
{
	g_autoptr(GBytes) k = g_bytes_new(key, 32);

	return iface->facts && g_hash_table_contains(iface->facts->learned, k);
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

		if (e->f.attr != FACT_ALLOWED_IP || !key_is(e->f.subject, subject) || key_is(e->from, subject))
			continue;
		memcpy(&aip.addr, e->f.addr, e->f.family == AF_INET ? 4 : 16);
		if (!wg_aip_in(&aip, ret, n))
			ret[n++] = aip;
	}
	return n;
}

static bool has_fact(const struct iface_facts *fx, const uint8_t subject[32], enum fact_attr attr,
		     const uint8_t *peer)
{
	for (guint i = 0; i < fx->known->len; i++) {
		const struct fact_entry *e = &g_array_index(fx->known, struct fact_entry, i);

		if (e->f.attr == attr && key_is(e->f.subject, subject) && (!peer || key_is(e->f.peer, peer)))
			return true;
	}
	return false;
}

bool facts_voucher(const struct wice_iface *iface, const uint8_t subject[32], uint8_t ret_router[32])
{
	const struct iface_facts *fx = iface->facts;

	for (guint i = 0; fx && i < fx->known->len; i++) {
		const struct fact_entry *e = &g_array_index(fx->known, struct fact_entry, i);

		if (e->f.attr == FACT_ALLOWED_IP && key_is(e->f.subject, subject) && !key_is(e->from, subject)) {
			memcpy(ret_router, e->from, 32);
			return true;
		}
	}
	return false;
}

bool facts_relays_to(const struct wice_iface *iface, const uint8_t relay[32], const uint8_t target[32])
{
	const struct iface_facts *fx = iface->facts;

	return fx && has_fact(fx, relay, FACT_RELAYS, NULL) && has_fact(fx, relay, FACT_REACHES, target);
}

void facts_foreach_from(const struct wice_iface *iface, const uint8_t from[32], facts_fn fn, void *data)
{
	const struct iface_facts *fx = iface->facts;
	gint64 now = now_ms();

	for (guint i = 0; fx && i < fx->known->len; i++) {
		const struct fact_entry *e = &g_array_index(fx->known, struct fact_entry, i);

		if (key_is(e->from, from))
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
	gint64 now = now_ms();

	for (guint i = fx->known->len; i-- > 0;)
		if (g_array_index(fx->known, struct fact_entry, i).expires_ms <= now)
			g_array_remove_index_fast(fx->known, i);
}

static gboolean on_tick(gpointer data)
{
	struct wice_iface *iface = data;

	read_own_addresses(iface);
	expire(iface->facts);
	learn(iface);
	reroute_update(iface);
	publish(iface);
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
	fx->said_hash = G_MAXUINT;
	iface->facts = fx;
	read_own_addresses(iface);
	fx->timer = source_timeout(FACTS_TICK_MS, on_tick, iface);
}

/* On exit (after the peers are gone): the peers we added go too. */
void facts_close(struct wice_iface *iface)
{
	struct iface_facts *fx = iface->facts;
	GHashTableIter it;
	gpointer key;

	if (!fx)
		return;
	source_clear(&fx->timer);
	source_clear(&fx->soon);
	g_hash_table_iter_init(&it, fx->learned);
	while (g_hash_table_iter_next(&it, &key, NULL))
		if (!iface->device_gone)
			wg_io_submit(iface->io, remove_learned, g_memdup2(g_bytes_get_data(key, NULL), 32), g_free, NULL,
				     NULL);
	g_hash_table_destroy(fx->learned);
	g_array_free(fx->known, TRUE);
	g_free(fx);
	iface->facts = NULL;
}

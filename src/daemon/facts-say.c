/* What we tell each neighbour (facts.c says what facts are for): about
 * ourselves always, about our peers when we are a router.  A bundle is
 * sealed to the one neighbour it goes to; more facts than fit one
 * envelope make more bundles, each issued a millisecond after the last. */
#include "config.h"

#include <arpa/inet.h>

#include "facts-internal.h"
#include "signaling/tunnel-wire.h"
#include "wg/wg-aip.h"
#include "wg/wg-keyaddr.h"

/* What one neighbour is told this tick, gathered before anything goes out:
 * so that it can be compared with what it was told last time. */
struct composer {
	struct wice_iface *iface;
	struct wice_peer *to;
	GArray *facts; /* struct fact */
	guint hash;    /* of the facts but the liveness one (below) */
};

static void hash_in(struct composer *c, const struct fact *f);

/* @news: whether the fact counts in the hash (hash_in); "we hear you"
 * does not. */
static void say_as(struct composer *c, const struct fact *f, bool news)
{
	if (!fact_wire_size(f))
		return;
	g_array_append_val(c->facts, *f);
	if (news)
		hash_in(c, f);
}

static void say(struct composer *c, const struct fact *f)
{
	say_as(c, f, true);
}

/* Whether what a neighbour hears changed: the set of facts, ttl aside, in
 * whatever order (the order of the tables they come from is no news).
 * "We hear you" is left out, as it comes and goes with the neighbour's
 * own timing (it is what makes liveness two-way, not news). */
static guint hash_bytes(guint h, const void *data, size_t len)
{
	for (const uint8_t *p = data; p < (const uint8_t *)data + len; p++)
		h = h * 33 + *p;
	return h;
}

static void hash_in(struct composer *c, const struct fact *f)
{
	guint h = hash_bytes(5381, f->subject, sizeof(f->subject));

	h = hash_bytes(h, &f->attr, 1);
	h = hash_bytes(h, &f->family, sizeof(f->family));
	h = hash_bytes(h, f->addr, sizeof(f->addr));
	h = hash_bytes(h, &f->port, sizeof(f->port));
	h = hash_bytes(h, &f->prefix, 1);
	c->hash += hash_bytes(h, f->peer, sizeof(f->peer));
}

static void seal_and_send(struct composer *c, struct fact_bundle *b)
{
	struct iface_facts *fx = c->iface->facts;
	uint8_t plain[SIG_PLAIN_MAX], env[SIG_ENVELOPE_MAX], buf[TUNNEL_WIRE_MAX];
	size_t n, env_len;

	if (!b->n)
		return;
	/* Strictly increasing: the receiver drops what is not newer. */
	fx->last_issued_ms = MAX((uint64_t)facts_now_ms(), fx->last_issued_ms + 1);
	b->issued_ms = fx->last_issued_ms;
	if (fact_bundle_encode(b, plain, sizeof(plain), &n) == 0 &&
	    sig_envelope_seal(&c->iface->identity, &c->to->pair, plain, n, env, sizeof(env), &env_len) == 0)
		tunnel_signal_send(c->to, buf, tunnel_wire_facts(buf, env, env_len));
	b->n = 0;
}

/* As many bundles as the facts need. */
static void send_all(struct composer *c)
{
	struct fact_bundle b = { 0 };
	size_t bytes = FACT_BUNDLE_HEADER;

	for (guint i = 0; i < c->facts->len; i++) {
		const struct fact *f = &g_array_index(c->facts, struct fact, i);
		size_t size = fact_wire_size(f);

		if (b.n == FACT_BUNDLE_MAX || bytes + size > SIG_PLAIN_MAX) {
			seal_and_send(c, &b);
			bytes = FACT_BUNDLE_HEADER;
		}
		b.facts[b.n++] = *f;
		bytes += size;
	}
	seal_and_send(c, &b);
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

/* A peer is "up" for facts when ICE connected it and WireGuard handshook. */
static bool peer_up(const struct wice_peer *peer)
{
	return peer->state == PEER_CONNECTED && tunnel_signal_reachable(peer);
}

static void say_about_peer(struct composer *c, enum fact_attr attr, const struct wice_peer *peer, bool news)
{
	struct fact f = fact_new(c->iface->identity.public_key, attr);

	memcpy(f.peer, peer->public_key, 32);
	say_as(c, &f, news);
}

/* The neighbour said ASKS: it names the peers it lacks (MISSES). */
static bool neighbour_asks(const struct composer *c)
{
	return facts_find(c->iface->facts, c->to->public_key, c->to->public_key, FACT_ASKS, NULL) != NULL;
}

/* A neighbour of a version before MISSES: every peer we reach. */
static void say_reaches_all(struct composer *c)
{
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, c->iface->peers);
	while (g_hash_table_iter_next(&it, NULL, &value))
		if (value != c->to && peer_up(value))
			say_about_peer(c, FACT_REACHES, value, true);
}

/* REACHES for each peer the neighbour said it misses (and we reach): not
 * for every peer we reach, which made each bundle grow with the mesh
 * (a node of 50 sent 49 of them, 3.4 kB, to each neighbour). */
static void say_reaches_asked(struct composer *c)
{
	const struct iface_facts *fx = c->iface->facts;

	if (!neighbour_asks(c)) {
		say_reaches_all(c);
		return;
	}
	for (guint i = 0; i < fx->known->len; i++) {
		const struct fact_entry *e = &g_array_index(fx->known, struct fact_entry, i);
		const struct wice_peer *peer;

		if (e->f.attr != FACT_MISSES || !facts_key_is(e->from, c->to->public_key) ||
		    !facts_key_is(e->f.subject, c->to->public_key))
			continue;
		peer = iface_find_peer(c->iface, e->f.peer);
		if (peer && peer != c->to && peer_up(peer))
			say_about_peer(c, FACT_REACHES, peer, true);
	}
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
	f.attr = FACT_ASKS;
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

		if (peer != c->to && !peer->learned && reroute_wants_relay_soon(iface, peer))
			say_about_peer(c, FACT_MISSES, peer, true);
	}
	if (peer_up(c->to) && facts_hears(c->to))
		say_about_peer(c, FACT_REACHES, c->to, false);
	say_reaches_asked(c);
}

/* An allowed IP that is the peer's own and may be told: not its
 * link-local or key address (every node derives those from the key, and
 * wice adds them itself), nothing that covers us. */
static bool tellable_prefix(const struct wice_iface *iface, const struct wice_peer *peer,
			    const struct wg_allowed_ip *aip)
{
	struct in6_addr key;

	wg_key_address(peer->public_key, &key);
	return !(aip->family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&aip->addr.v6)) && !facts_covers_own(iface, aip) &&
	       !(aip->family == AF_INET6 && aip->cidr == 128 && !memcmp(&aip->addr.v6, &key, 16));
}

static uint16_t endpoint_port(const union wg_sockaddr *ep)
{
	return ntohs(ep->sa.sa_family == AF_INET ? ep->in.sin_port : ep->in6.sin6_port);
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
			say_endpoint(c, peer->public_key, &peer->wg_endpoint.sa, endpoint_port(&peer->wg_endpoint));
		for (size_t i = 0; i < peer->n_aips; i++)
			if (tellable_prefix(c->iface, peer, &peer->aips[i]))
				say_prefix(c, peer->public_key, &peer->aips[i]);
	}
}

static void publish_to(struct wice_iface *iface, struct wice_peer *to, bool router, gint64 every)
{
	struct composer c = { .iface = iface, .to = to, .facts = g_array_new(FALSE, FALSE, sizeof(struct fact)) };
	gint64 now = g_get_monotonic_time();

	say_about_us(&c);
	if (router)
		say_about_peers(&c);
	/* News goes out at once, but to each peer at most every
	 * FACTS_FAST_US: a mesh coming up is a peer connecting every few
	 * milliseconds.  Per peer: what this one hears may have changed
	 * while what the others hear did not. */
	if ((c.hash != to->facts_said_hash && now - to->facts_sent_us >= FACTS_FAST_US) ||
	    now - to->facts_sent_us >= every) {
		send_all(&c);
		to->facts_sent_us = now;
		to->facts_said_hash = c.hash;
	}
	g_array_free(c.facts, TRUE);
}

void facts_publish(struct wice_iface *iface)
{
	bool router = facts_we_are_router(iface);
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, iface->peers);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct wice_peer *peer = value;
		gint64 every = peer->learned || reroute_is_carrier(iface, peer) ? FACTS_FAST_US : FACTS_INTERVAL_US;

		if (tunnel_signal_reachable(peer) || peer->state == PEER_CONNECTED)
			publish_to(iface, peer, router, every);
	}
}

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
	fx->last_issued_ms = MAX((uint64_t)facts_now_ms(), fx->last_issued_ms + 1);
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

/* A peer is "up" for facts when ICE connected it and WireGuard handshook. */
static bool peer_up(const struct wice_peer *peer)
{
	return peer->state == PEER_CONNECTED && tunnel_signal_reachable(peer);
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

static void publish_to(struct wice_iface *iface, struct wice_peer *to, bool router)
{
	struct composer c = { .iface = iface, .to = to, .bytes = FACT_BUNDLE_HEADER };

	say_about_us(&c);
	if (router)
		say_about_peers(&c);
	flush(&c);
	to->facts_sent_us = g_get_monotonic_time();
	to->facts_owed = false;
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

void facts_publish(struct wice_iface *iface)
{
	bool router = facts_we_are_router(iface), changed = news(iface);
	gint64 now = g_get_monotonic_time();
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, iface->peers);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct wice_peer *peer = value;
		gint64 every = peer->learned || reroute_is_carrier(iface, peer) ? FACTS_FAST_US : FACTS_INTERVAL_US;

		peer->facts_owed |= changed;
		if (!tunnel_signal_reachable(peer) && peer->state != PEER_CONNECTED)
			continue;
		/* News goes out at once, but to each peer at most every
		 * FACTS_FAST_US: a mesh coming up is a peer connecting every
		 * few milliseconds.  Owed per peer: a peer that had the news
		 * waits its normal turn while others still wait for theirs. */
		if ((peer->facts_owed && now - peer->facts_sent_us >= FACTS_FAST_US) || now - peer->facts_sent_us >= every)
			publish_to(iface, peer, router);
	}
}

/* Signaling through the tunnels (issue 13, section 2): envelopes to a
 * connected peer go to it through WireGuard, UDP to its link-local address
 * (wg/wg-keyaddr.h) on TUNNEL_SIGNAL_PORT; an envelope to a peer that is
 * not connected goes to every connected peer, and one that reads the
 * envelope's mailbox passes it on.  So two peers with a common connected
 * peer signal each other with no server at all.
 *
 * To know who reads which mailbox, each daemon tells its connected peers
 * the mailboxes it reads (SUBSCRIBE: when a peer connects, when peers are
 * added, and every 4 minutes).
 * Mailbox ids are opaque and envelopes sealed: a forwarder learns nothing
 * but that some peer of its reads some mailbox.  WireGuard authenticates
 * where a datagram comes from; the envelope authenticates what it says.
 *
 * The datagrams are signaling/tunnel-wire.h's (docs/PROTOCOL.md section
 * 13).  Only on interfaces with link addresses (link-addr.c). */
#include "config.h"

#include <errno.h>
#include <glib-unix.h>
#include <net/if.h>
#include <string.h>
#include <unistd.h>

#include "peer.h"
#include "signaling/tunnel-wire.h"
#include "util/source-util.h"
#include "wg/wg-keyaddr.h"

/* The list goes out when it changes (peers added) and when a peer
 * connects; the round only repairs what was lost, and costs every peer
 * the whole list, so it is slow. */
#define SUBSCRIBE_INTERVAL_MS (240 * 1000)
/* A neighbour's list of mailboxes is forgotten this long after it was sent. */
#define SUBSCRIPTION_TTL_US (600 * G_USEC_PER_SEC)
#define MAX_SUBSCRIPTIONS 4096
/* Forwards per second, all neighbours together: a peer cannot turn us
 * into an amplifier. */
#define FORWARD_BUDGET 200
#define REFRESH_DELAY_MS 100
#define REFRESH_REPEAT_MS 2000
#define REFRESH_REPEATS 15

struct subscription {
	uint8_t reader[32]; /* the peer that reads the mailbox */
	gint64 until_us;
};

/* WireGuard keeps a session 180 s after its handshake. */
#define SESSION_LIFE_S 180

/* A WireGuard handshake is what proves the tunnel carries our datagrams:
 * an ICE pair can be selected on our side while the other side has no
 * path yet (its agent answered our checks before it had our credentials),
 * and what we send then is lost. */
bool tunnel_signal_reachable(const struct wice_peer *peer)
{
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;

	if (peer->tunnel_heard_us && g_get_monotonic_time() - peer->tunnel_heard_us < SESSION_LIFE_S * G_USEC_PER_SEC)
		return true;
	return peer->last_handshake && now - peer->last_handshake < SESSION_LIFE_S;
}

void tunnel_signal_send(struct wice_peer *peer, const uint8_t *buf, size_t len)
{
	struct wice_iface *iface = peer->iface;
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_port = htons(TUNNEL_SIGNAL_PORT) };

	if (iface->tunnel_fd < 0)
		return;
	to.sin6_addr = peer->link_ll;
	to.sin6_scope_id = iface->link_ifindex;
	if (sendto(iface->tunnel_fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to)) < 0)
		g_debug("%s: tunnel signaling: %s", iface->name, g_strerror(errno));
}

/* The peer of @iface whose mailbox (the one we post to) is @id. */
static struct wice_peer *recipient(struct wice_iface *iface, const uint8_t id[RELAY_ID_LEN])
{
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, iface->peers);
	while (g_hash_table_iter_next(&it, NULL, &value))
		if (!memcmp(((struct wice_peer *)value)->relay_send_id, id, RELAY_ID_LEN))
			return value;
	return NULL;
}

void tunnel_signal_publish(struct wice_iface *iface, const uint8_t id[RELAY_ID_LEN], const uint8_t *data, size_t len)
{
	uint8_t buf[TUNNEL_WIRE_MAX];
	struct wice_peer *to;
	GHashTableIter it;
	gpointer value;
	size_t n;

	if (iface->tunnel_fd < 0 || len > SIG_ENVELOPE_MAX || !(to = recipient(iface, id)))
		return;
	if (tunnel_signal_reachable(to)) {
		n = tunnel_wire_envelope(buf, TUNNEL_DELIVER, id, data, len);
		tunnel_signal_send(to, buf, n);
		return;
	}
	n = tunnel_wire_envelope(buf, TUNNEL_FORWARD, id, data, len);
	g_hash_table_iter_init(&it, iface->peers);
	while (g_hash_table_iter_next(&it, NULL, &value))
		if (value != to && tunnel_signal_reachable(value))
			tunnel_signal_send(value, buf, n);
}

/* --- subscriptions ----------------------------------------------------------------- */

static void send_subscriptions_to(struct wice_iface *iface, const struct wice_peer *to)
{
	uint8_t ids[TUNNEL_SUBSCRIBE_MAX_IDS * RELAY_ID_LEN], buf[TUNNEL_SUBSCRIBE_SIZE];
	GHashTableIter it;
	gpointer value;
	size_t n = 0;

	g_hash_table_iter_init(&it, iface->peers);
	for (bool more = true; more;) {
		more = g_hash_table_iter_next(&it, NULL, &value);
		if (more)
			memcpy(ids + n++ * RELAY_ID_LEN, ((struct wice_peer *)value)->sub.id, RELAY_ID_LEN);
		if (n && (!more || n == TUNNEL_SUBSCRIBE_MAX_IDS)) {
			tunnel_signal_send((struct wice_peer *)to, buf, tunnel_wire_subscribe(buf, ids, n));
			n = 0;
		}
	}
}

void tunnel_signal_peer_connected(struct wice_peer *peer)
{
	if (peer->iface->tunnel_fd >= 0)
		send_subscriptions_to(peer->iface, peer);
}

/* Sends our mailboxes to every peer whose tunnel works; true when some
 * peer's does not (it may need a forward that a lost list would stop). */
static bool send_subscriptions(struct wice_iface *iface)
{
	GHashTableIter it;
	gpointer value;
	bool unreachable = false;

	g_hash_table_iter_init(&it, iface->peers);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		if (tunnel_signal_reachable(value))
			send_subscriptions_to(iface, value);
		else
			unreachable = true;
	}
	return unreachable;
}

static gboolean on_subscribe_timer(gpointer data)
{
	send_subscriptions(data);
	return G_SOURCE_CONTINUE;
}

/* After peers were added, the list goes out again every few seconds for
 * a while as long as some peer is not reachable: a list lost on its way
 * would leave that peer's envelopes with nobody to pass them on. */
static gboolean on_refresh_timer(gpointer data)
{
	struct wice_iface *iface = data;

	if (send_subscriptions(iface) && iface->tunnel_refreshes_left > 0) {
		iface->tunnel_refreshes_left--;
		source_timer_arm(iface->tunnel_refresh, REFRESH_REPEAT_MS);
	}
	return G_SOURCE_CONTINUE;
}

/* A peer was added: the mailboxes we read changed, tell the neighbours
 * now rather than at the next round (soon: peers come in batches). */
void tunnel_signal_refresh(struct wice_iface *iface)
{
	if (iface->tunnel_fd < 0)
		return;
	iface->tunnel_refreshes_left = REFRESH_REPEATS;
	source_timer_arm(iface->tunnel_refresh, REFRESH_DELAY_MS);
}

static void note_subscriptions(struct wice_iface *iface, const struct wice_peer *from, const struct tunnel_msg *m)
{
	for (size_t i = 0; i < m->n_ids && g_hash_table_size(iface->tunnel_subs) < MAX_SUBSCRIPTIONS; i++) {
		struct subscription *s = g_new0(struct subscription, 1);

		memcpy(s->reader, from->public_key, 32);
		s->until_us = g_get_monotonic_time() + SUBSCRIPTION_TTL_US;
		g_hash_table_replace(iface->tunnel_subs, g_bytes_new(m->ids + i * RELAY_ID_LEN, RELAY_ID_LEN), s);
	}
}

/* --- receiving --------------------------------------------------------------------- */

static struct wice_peer *peer_at(struct wice_iface *iface, const struct in6_addr *addr)
{
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, iface->peers);
	while (g_hash_table_iter_next(&it, NULL, &value))
		if (!memcmp(&((struct wice_peer *)value)->link_ll, addr, sizeof(*addr)))
			return value;
	return NULL;
}

static bool forward_allowed(struct wice_iface *iface)
{
	gint64 second = g_get_monotonic_time() / G_USEC_PER_SEC;

	if (second != iface->tunnel_second) {
		iface->tunnel_second = second;
		iface->tunnel_forwards = 0;
	}
	return iface->tunnel_forwards++ < FORWARD_BUDGET;
}

static void forward(struct wice_iface *iface, const struct wice_peer *from, const struct tunnel_msg *m)
{
	g_autoptr(GBytes) id = g_bytes_new(m->id, RELAY_ID_LEN);
	struct subscription *s = g_hash_table_lookup(iface->tunnel_subs, id);
	struct wice_peer *reader = s && s->until_us > g_get_monotonic_time() ? iface_find_peer(iface, s->reader) : NULL;
	uint8_t buf[TUNNEL_WIRE_MAX];

	if (!reader || reader == from || !tunnel_signal_reachable(reader) || !forward_allowed(iface))
		return;
	tunnel_signal_send(reader, buf, tunnel_wire_envelope(buf, TUNNEL_DELIVER, m->id, m->envelope, m->envelope_len));
}

static void handle(struct wice_iface *iface, const struct sockaddr_in6 *src, const uint8_t *buf, size_t len)
{
	struct wice_peer *from = peer_at(iface, &src->sin6_addr);
	struct tunnel_msg m;

	/* Only peers of this interface, through the tunnel. */
	if (!from)
		return;
	/* Their datagram came through a WireGuard session: a handshake that
	 * our next device read would show only later.  An answer to their
	 * offer goes back through the tunnel now, not nowhere. */
	from->tunnel_heard_us = g_get_monotonic_time();
	if (tunnel_wire_parse(buf, len, &m) < 0)
		return;
	if (m.type == TUNNEL_SUBSCRIBE)
		note_subscriptions(iface, from, &m);
	else if (m.type == TUNNEL_DELIVER)
		iface->host.ops->deliver(iface->host.data, m.envelope, m.envelope_len);
	else if (m.type == TUNNEL_FORWARD)
		forward(iface, from, &m);
	else if (m.type == TUNNEL_FACTS)
		facts_receive(iface, from, m.envelope, m.envelope_len);
}

static gboolean on_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct wice_iface *iface = data;
	uint8_t buf[TUNNEL_WIRE_MAX + 1];

	for (unsigned i = 0; i < 64; i++) {
		struct sockaddr_in6 src;
		socklen_t src_len = sizeof(src);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&src, &src_len);

		if (n < 0)
			break;
		if (src.sin6_family == AF_INET6 && (size_t)n <= TUNNEL_WIRE_MAX)
			handle(iface, &src, buf, (size_t)n);
	}
	return G_SOURCE_CONTINUE;
}

/* --- life cycle -------------------------------------------------------------------- */

void tunnel_signal_open(struct wice_iface *iface)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(TUNNEL_SIGNAL_PORT) };
	int one = 1;

	if (iface->tunnel_fd >= 0 || !iface->link_own_added)
		return;
	sa.sin6_addr = iface->link_ll;
	sa.sin6_scope_id = iface->link_ifindex;
	iface->tunnel_fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (iface->tunnel_fd < 0 ||
	    setsockopt(iface->tunnel_fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one)) < 0 ||
	    bind(iface->tunnel_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		g_warning("%s: no signaling through the tunnels: %s", iface->name, g_strerror(errno));
		if (iface->tunnel_fd >= 0)
			close(iface->tunnel_fd);
		iface->tunnel_fd = -1;
		return;
	}
	iface->tunnel_subs = g_hash_table_new_full(g_bytes_hash, g_bytes_equal, (GDestroyNotify)g_bytes_unref, g_free);
	iface->tunnel_source = source_attach(g_unix_fd_source_new(iface->tunnel_fd, G_IO_IN), NULL,
					     G_SOURCE_FUNC(on_readable), iface);
	iface->tunnel_timer = source_timeout(SUBSCRIBE_INTERVAL_MS, on_subscribe_timer, iface);
	iface->tunnel_refresh = source_timer_new(NULL, on_refresh_timer, iface);
	facts_open(iface);
}

void tunnel_signal_close(struct wice_iface *iface)
{
	facts_close(iface);
	source_clear(&iface->tunnel_source);
	source_clear(&iface->tunnel_timer);
	source_clear(&iface->tunnel_refresh);
	g_clear_pointer(&iface->tunnel_subs, g_hash_table_destroy);
	if (iface->tunnel_fd >= 0)
		close(iface->tunnel_fd);
	iface->tunnel_fd = -1;
}

/* The peer's side of signaling: our offer and candidates out, theirs in.
 *
 * Messages are idempotent and the LAN backend is lossy, so until the peer
 * is connected we resend our whole state (offer, every candidate gathered,
 * end-of-candidates) on a timer that backs off; the replay window on the
 * other side drops true duplicates. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "util/backoff.h"
#include "util/source-util.h"
#include "peer-internal.h"

#define RESEND_FIRST_MS 1000
#define RESEND_PER_PEER_MS 100
#define RESEND_MAX_MS 16000
#define RESEND_COARSE_MS 3000
#define ANSWER_INTERVAL_MS 200
#define ROUTE_FRESH_MS 30000

static void sockaddr_to_sig(const NiceAddress *a, struct sig_addr *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->family = AF_UNSPEC;
	if (!nice_address_is_valid(a))
		return;
	ret->family = a->s.addr.sa_family;
	ret->port = (uint16_t)nice_address_get_port(a);
	if (ret->family == AF_INET)
		memcpy(ret->addr, &a->s.ip4.sin_addr, 4);
	else
		memcpy(ret->addr, &a->s.ip6.sin6_addr, 16);
}

static bool candidate_to_sig(const NiceCandidate *c, struct sig_candidate *ret)
{
	memset(ret, 0, sizeof(*ret));
	g_strlcpy(ret->foundation, c->foundation, sizeof(ret->foundation));
	ret->component = (uint8_t)c->component_id;
	ret->transport = (uint8_t)c->transport;
	ret->type = (uint8_t)c->type;
	ret->priority = c->priority;
	sockaddr_to_sig(&c->addr, &ret->addr);
	if (c->type != NICE_CANDIDATE_TYPE_HOST)
		sockaddr_to_sig(&c->base_addr, &ret->related);
	return ret->addr.family != AF_UNSPEC;
}

static void sig_to_address(const struct sig_addr *s, NiceAddress *ret)
{
	nice_address_init(ret);
	if (s->family == AF_INET)
		nice_address_set_ipv4(ret, ntohl(*(const uint32_t *)(const void *)s->addr));
	else if (s->family == AF_INET6)
		nice_address_set_ipv6(ret, s->addr);
	else
		return;
	nice_address_set_port(ret, s->port);
}

static NiceCandidate *candidate_from_sig(const struct wice_peer *peer, const struct sig_candidate *s)
{
	NiceCandidate *c;

	if (s->component != 1 || s->transport != SIG_TRANSPORT_UDP)
		return NULL; /* WireGuard is one UDP flow */
	c = nice_candidate_new((NiceCandidateType)s->type);
	c->transport = NICE_CANDIDATE_TRANSPORT_UDP;
	c->component_id = 1;
	c->priority = s->priority;
	g_strlcpy(c->foundation, s->foundation, sizeof(c->foundation));
	sig_to_address(&s->addr, &c->addr);
	sig_to_address(&s->related, &c->base_addr);
	return c;
}

/* The way the peer's last message came, while it is fresh: a peer that
 * moved or restarted its daemon is heard from a new address when it
 * sends, and one that went quiet gets the usual way again.  After two
 * resends without an answer the usual way is taken too, in case the
 * route went stale sooner. */
static const struct sig_route *route_for(const struct wice_peer *peer)
{
	if (!peer->route.backend || peer->resends_unanswered > 1 ||
	    g_get_monotonic_time() - peer->route_us > ROUTE_FRESH_MS * G_TIME_SPAN_MILLISECOND)
		return NULL;
	return &peer->route;
}

void peer_note_route(struct wice_peer *peer, const struct sig_route *from)
{
	peer->resends_unanswered = 0;
	if (!from)
		return;
	peer->route = *from;
	peer->route_us = g_get_monotonic_time();
}

/* The header publish() stamps, and the remote session our agent was built
 * for (docs/PROTOCOL.md, ANSWERS): the peer drops what we sent for an
 * agent of its that is gone.  A goodbye is for whatever session is there. */
static void address(struct wice_peer *peer, struct sig_msg *msg)
{
	msg->session_id = peer->session.id;
	msg->session_time = peer->session.time;
	msg->answers = msg->goodbye ? 0 : peer->remote_session;
}

static void publish(struct wice_peer *peer, struct sig_msg *msg)
{
	uint8_t buf[SIG_ENVELOPE_MAX];
	size_t len = 0;
	int r;

	address(peer, msg);
	if (sig_session_stamp(&peer->session, msg) < 0)
		return; /* counter spent: the next restart starts a new session */
	if (!msg->answers && msg->n_candidates)
		peer->sent_unbound = true;
	r = sig_envelope_seal_msg(&peer->iface->identity, &peer->pair, msg, buf, sizeof(buf), &len);
	if (r < 0) {
		g_warning("%s/%s: cannot seal message: %s", peer->iface->name, peer->name, g_strerror(-r));
		return;
	}
	peer->iface->host.ops->publish(peer->iface->host.data, peer->relay_send_id, buf, len, route_for(peer));
}

static bool fill_offer(struct wice_peer *peer, struct sig_msg *msg, bool please_answer)
{
	g_autofree char *ufrag = NULL, *pwd = NULL;

	if (!peer_ice_local_credentials(peer, &ufrag, &pwd))
		return false;
	msg->has_offer = true;
	g_strlcpy(msg->offer.ufrag, ufrag, sizeof(msg->offer.ufrag));
	g_strlcpy(msg->offer.pwd, pwd, sizeof(msg->offer.pwd));
	msg->offer.please_answer = please_answer;
	explicit_bzero(pwd, strlen(pwd));
	return true;
}

/* Adds a candidate to @msg, sending @msg first when it is full.  The
 * header is the one publish() stamps: sig_msg_encoded_len() measures only
 * a message that has one (without, every candidate went alone). */
static void add_or_flush(struct wice_peer *peer, struct sig_msg *msg, const struct sig_candidate *c)
{
	size_t len;

	address(peer, msg);
	if (sig_msg_add_candidate(msg, c) == 0) {
		len = sig_msg_encoded_len(msg);
		if (len > 0 && len <= SIG_MSG_MAX)
			return;
		msg->n_candidates--; /* the last one made it too big */
	}
	publish(peer, msg);
	sig_msg_wipe(msg);
	sig_msg_init(msg);
	sig_msg_add_candidate(msg, c);
}

void peer_send_state(struct wice_peer *peer, bool please_answer)
{
	struct sig_msg msg;
	struct sig_candidate c;

	sig_msg_init(&msg);
	if (!fill_offer(peer, &msg, please_answer))
		return;
	for (size_t i = 0; i < peer->n_local; i++)
		if (candidate_to_sig(peer->local[i], &c))
			add_or_flush(peer, &msg, &c);
	msg.end_of_candidates = peer_ice_gathering_done(peer);
	publish(peer, &msg);
	sig_msg_wipe(&msg);
}

static gboolean on_send_state(gpointer data)
{
	struct wice_peer *peer = data;

	g_clear_pointer(&peer->send_timer, g_source_unref);
	peer_send_state(peer, !peer->have_remote_credentials);
	return G_SOURCE_REMOVE;
}

/* Our state changed (started, a candidate, gathering done): send it all
 * once the loop is idle.  Host candidates and the end of gathering come
 * in one burst, and every datagram on the LAN backend reaches every
 * daemon there: one message per burst instead of one per candidate.
 * Candidates found later (STUN, TURN) still trickle out as they come. */
void peer_schedule_send_state(struct wice_peer *peer)
{
	if (!peer->send_timer)
		peer->send_timer = source_timeout(0, on_send_state, peer);
}

void peer_cancel_send_state(struct wice_peer *peer)
{
	source_clear(&peer->send_timer);
}

void peer_send_goodbye(struct wice_peer *peer)
{
	struct sig_msg msg;

	if (!peer->session.id)
		return;
	sig_msg_init(&msg);
	msg.goodbye = true;
	publish(peer, &msg);
}

static gboolean on_resend(gpointer data)
{
	struct wice_peer *peer = data;

	if ((peer->state == PEER_CONNECTED && !peer_restart_pending(peer)) || peer->state == PEER_CLOSED ||
	    !peer_ice_active(peer)) {
		peer_stop_resending(peer);
		return G_SOURCE_REMOVE;
	}
	peer->resends_unanswered++;
	peer_send_state(peer, !peer->have_remote_credentials);
	peer->resend_interval_ms = backoff_step_ms(peer->resend_interval_ms, RESEND_MAX_MS, 1);
	source_clear(&peer->resend_timer);
	/* Past the first, resends keep to whole seconds: at 300 peers that
	 * nobody answers they were ~20 wakeups a second, each a poll over
	 * every agent's sockets. */
	if (peer->resend_interval_ms >= RESEND_COARSE_MS)
		peer->resend_timer = source_timeout_seconds(peer->resend_interval_ms / 1000, on_resend, peer);
	else
		peer->resend_timer = source_timeout(peer->resend_interval_ms, on_resend, peer);
	return G_SOURCE_REMOVE;
}

/* A resend is for a message that got lost, but when a whole mesh starts
 * at once most of them are only waiting in a busy daemon's queue, and on
 * the LAN backend every resend lands in every daemon's queue: the first
 * resend waits longer the more of the interface's peers are still
 * connecting (1 s for one, 6 s for 49), with jitter so that they do not
 * come in waves. */
static unsigned first_resend_ms(struct wice_peer *peer)
{
	size_t n = iface_unsettled_peers(peer->iface);
	unsigned base = (unsigned)MIN(RESEND_FIRST_MS + RESEND_PER_PEER_MS * (n > 1 ? n - 1 : 0), RESEND_MAX_MS);

	/* Jitter takes [d/2, d]: d = 4/3 base keeps the mean wait at base. */
	return backoff_jitter_ms(base * 4 / 3);
}

void peer_start_resending(struct wice_peer *peer)
{
	peer_stop_resending(peer);
	peer->resend_interval_ms = first_resend_ms(peer);
	peer->resend_timer = source_timeout(peer->resend_interval_ms, on_resend, peer);
}

void peer_stop_resending(struct wice_peer *peer)
{
	source_clear(&peer->resend_timer);
}

/* A newer remote session: the peer restarted ICE (or its daemon).  Our
 * session stays (its credentials are still valid); only the agent is
 * rebuilt, so that the two sides never chase each other's restarts. */
static void on_remote_restart(struct wice_peer *peer, uint64_t session_id)
{
	g_info("%s/%s: peer restarted ICE", peer->iface->name, peer->name);
	/* The rebuilt agent is a fresh attempt: a restart of our own that was
	 * waiting would only throw it away again (peer_rebuild cancels it).
	 * But candidates this agent sent before it answered any session (a
	 * daemon's first offer) are taken by whatever session the peer has,
	 * this new one included, and ANSWERS cannot tell them from the new
	 * agent's: the peer's checks would find this agent's sockets until
	 * they close, and it could select a pair our new agent never has (seen
	 * after a daemon restart: each side on another pair, 15 s lost).  A
	 * session of our own then: the peer drops everything of the old one. */
	peer_rebuild(peer, peer->sent_unbound, session_id, "peer restarted ICE", true);
}

/* Binds our session to the remote session @msg belongs to, rebuilding the
 * agents when the peer moved to a newer one.  False when @msg is from a
 * session we no longer answer. */
static bool bind_remote_session(struct wice_peer *peer, const struct sig_msg *msg, bool new_session)
{
	if (!peer_ice_active(peer)) {
		/* waiting: any sign of life starts us again; closed: only a
		 * newer session (an older message may come after the goodbye) */
		if (peer->state == PEER_CLOSED && !new_session)
			return false;
		peer->remote_session = msg->session_id;
		peer_start(peer);
		/* A peer bound to our old session rebuilds its agent when our
		 * new offer comes: its candidates here would be stale by then. */
		return peer_ice_active(peer) && !msg->answers;
	}
	if (!peer->remote_session) {
		peer->remote_session = msg->session_id;
		return true;
	}
	if (msg->session_id == peer->remote_session)
		return true;
	if (!new_session)
		return false;
	on_remote_restart(peer, msg->session_id);
	return peer_ice_active(peer);
}

/* Answers with our state at most every ANSWER_INTERVAL_MS: offers asking
 * for an answer can come in bursts (resends, several backends). */
static void answer(struct wice_peer *peer)
{
	gint64 now = g_get_monotonic_time();

	if (now - peer->last_answer_us < ANSWER_INTERVAL_MS * 1000)
		return;
	peer->last_answer_us = now;
	peer_send_state(peer, !peer->have_remote_credentials);
}

void peer_receive(struct wice_peer *peer, const struct sig_msg *msg, bool new_session)
{
	/* Sent before the peer saw our restart, for an agent of ours that is
	 * gone: its candidates would sit beside the live ones under the same
	 * foundations and keep the direct pairs frozen. */
	if (msg->answers && msg->answers != peer->session.id) {
		g_debug("%s/%s: dropped a message for our previous session", peer->iface->name, peer->name);
		/* A newer session of the peer's is news all the same.  When
		 * both sides restart at once, each one's first message answers
		 * the other's previous session; dropping only those left each
		 * side bound to a session the other had left, and every later
		 * message of that session, no longer new, was dropped too
		 * (a peer removed and added again on both sides, which replays
		 * the pair's old mailbox, never connected again).  Bound to it,
		 * what we send next answers it. */
		if (new_session)
			bind_remote_session(peer, msg, true);
		return;
	}
	if (msg->goodbye) {
		peer->void_handshake = peer->last_handshake;
		peer_close(peer, "peer said goodbye");
		return;
	}
	if (!bind_remote_session(peer, msg, new_session))
		return;
	for (size_t i = 0; i < msg->n_candidates; i++) {
		NiceCandidate *c = candidate_from_sig(peer, &msg->candidates[i]);

		if (c)
			peer_ice_add_remote_candidate(peer, c);
	}
	if (msg->has_offer) {
		peer_ice_set_remote_credentials(peer, msg->offer.ufrag, msg->offer.pwd);
		if (msg->offer.please_answer)
			answer(peer);
	} else if (!peer->have_remote_credentials && msg->n_candidates) {
		answer(peer); /* candidates without an offer: ask for it */
	}
	if (msg->end_of_candidates)
		peer_ice_remote_gathering_done(peer);
}

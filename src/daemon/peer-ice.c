/* The peer's ICE agent: creation with the daemon's STUN/TURN servers and
 * local addresses, and libnice's signals turned into peer events.
 *
 * libnice gathers on every local address unless told otherwise; we add the
 * addresses ourselves so that no candidate ever sits on a WireGuard
 * interface (that would route the tunnel through itself). */
#include "config.h"

#include <string.h>

#include "peer-internal.h"
#include "util/source-util.h"
#include "turn-credentials.h"

/* Ta, the pacing of connectivity checks (libnice: 20 ms), is per agent,
 * and we have one agent per peer.  RFC 8445 wants at least 5 ms between
 * a host's checks, so the interval grows with the peers that are
 * checking at the same time: one peer checks every 5 ms, a mesh of 50
 * nodes starting at once every 245 ms per peer.  It also bounds the
 * wakeups: libnice's check timer ticks every Ta while checks are in
 * flight and for 5 s after, and each wakeup of the main loop polls every
 * agent's sockets. */
#define PEER_ICE_TA_MS 5u
#define PEER_ICE_TA_MAX_MS 250u
/* libnice gives a check 3 retransmissions (0.5, 1, 2 s, then 4 s more):
 * a peer whose daemon is busy for a few seconds (a mesh of 50 starting
 * on two cores) failed its checks, restarted ICE and made the other side
 * start over too, which kept the whole mesh busy.  5 give it ~30 s, as
 * long as the connect timeout; a working pair is still selected on its
 * first answer. */
#define PEER_ICE_CHECK_RETRANSMISSIONS 5u

static void peer_ice_drop_soon(struct wice_peer *peer);

static void on_new_candidate(NiceAgent *agent, NiceCandidate *c, gpointer data)
{
	struct wice_peer *peer = data;

	if (peer->n_local < PEER_MAX_LOCAL_CANDIDATES)
		peer->local[peer->n_local++] = nice_candidate_copy(c);
	peer_schedule_send_state(peer);
}

static void on_gathering_done(NiceAgent *agent, guint stream, gpointer data)
{
	struct wice_peer *peer = data;

	peer->gathering_done = true;
	g_debug("%s/%s: gathered %zu candidates", peer->iface->name, peer->name, peer->n_local);
	peer_schedule_send_state(peer);
}

static void on_component_state(NiceAgent *agent, guint stream, guint component, guint state, gpointer data)
{
	struct wice_peer *peer = data;

	g_debug("%s/%s: component %s", peer->iface->name, peer->name, nice_component_state_to_string(state));
	if (state == NICE_COMPONENT_STATE_FAILED) {
		peer_schedule_restart(peer, peer->state == PEER_CONNECTED ? "consent lost" : "checks failed");
		peer_ice_drop_soon(peer);
	} else if ((state == NICE_COMPONENT_STATE_CONNECTED || state == NICE_COMPONENT_STATE_READY) &&
		 peer->selected.valid)
		peer_on_connected(peer);
}

static void on_selected_pair(NiceAgent *agent, guint stream, guint component, NiceCandidate *local,
			     NiceCandidate *remote, gpointer data)
{
	peer_path_on_selected_pair(data, local, remote);
}

static void on_receive(NiceAgent *agent, guint stream, guint component, guint len, gchar *buf, gpointer data)
{
	peer_path_deliver(data, (const uint8_t *)buf, len);
}

/* Adds the addresses the host lets us gather on (never one on a
 * WireGuard interface: that would route the tunnel through itself). */
static void add_local_addresses(struct wice_peer *peer)
{
	const struct iface_host *host = &peer->iface->host;
	g_autoptr(GArray) addrs = g_array_new(FALSE, TRUE, sizeof(struct sockaddr_storage));

	host->ops->local_addresses(host->data, addrs);
	for (guint i = 0; i < addrs->len; i++) {
		NiceAddress addr;

		nice_address_init(&addr);
		nice_address_set_from_sockaddr(&addr, (const struct sockaddr *)&g_array_index(addrs, struct sockaddr_storage, i));
		nice_agent_add_local_address(peer->agent, &addr);
	}
}

static NiceRelayType relay_type(const struct wice_ice_server *s)
{
	if (s->scheme == WICE_ICE_TURNS)
		return NICE_RELAY_TYPE_TURN_TLS;
	return s->transport == WICE_ICE_TRANSPORT_TCP ? NICE_RELAY_TYPE_TURN_TCP : NICE_RELAY_TYPE_TURN_UDP;
}

/* Servers whose names did not resolve have no address and are skipped. */
static void configure_servers(struct wice_peer *peer, const struct wice_iface_settings *cfg)
{
	g_autofree char *user = NULL, *pass = NULL;

	turn_credentials(cfg, &user, &pass);
	for (size_t i = 0; i < cfg->n_ice_servers; i++) {
		const struct wice_ice_server *s = &cfg->ice_servers[i];

		if (!*s->address)
			continue;
		if (s->scheme == WICE_ICE_STUN) {
			if (cfg->candidate_types & WICE_CAND_SRFLX)
				g_object_set(peer->agent, "stun-server", s->address, "stun-server-port", (guint)s->port,
					     NULL);
		} else if (cfg->candidate_types & WICE_CAND_RELAY) {
			nice_agent_set_relay_info(peer->agent, peer->stream, 1, s->address, s->port, user ? user : "",
						  pass ? pass : "", relay_type(s));
		}
	}
	if (pass)
		explicit_bzero(pass, strlen(pass));
}

static void connect_signals(struct wice_peer *peer)
{
	g_signal_connect(peer->agent, "new-candidate-full", G_CALLBACK(on_new_candidate), peer);
	g_signal_connect(peer->agent, "candidate-gathering-done", G_CALLBACK(on_gathering_done), peer);
	g_signal_connect(peer->agent, "component-state-changed", G_CALLBACK(on_component_state), peer);
	g_signal_connect(peer->agent, "new-selected-pair-full", G_CALLBACK(on_selected_pair), peer);
}

static guint pacing_ms(const struct wice_peer *peer)
{
	size_t n = iface_unsettled_peers(peer->iface);

	return (guint)MIN(PEER_ICE_TA_MS * MAX(n, 1), PEER_ICE_TA_MAX_MS);
}

/* A connected path is watched by WireGuard's own traffic (peer.c): it
 * answers whatever it receives within 10 s, so sending unanswered for 15 s
 * means the path is gone, and an idle tunnel costs nothing but libnice's
 * keepalives (a STUN indication every 25 s each way, which keeps the NAT
 * mappings).  With "[ice] liveness = consent" the controlling side also
 * runs RFC 7675 consent checks (every ~5 s, lost after 10 s), which find a
 * dead path while idle too, at ~2 KB a minute per peer and a wakeup of
 * every daemon's loop per check; the answers prove the path for both
 * sides and the restart reaches the other side over signaling, so one
 * side checking is enough.
 *
 * Nomination stays aggressive (libnice's default): regular nomination
 * waits for a second valid pair or for the others to fail, and libnice's
 * 500 ms minimum check timeout made relay pairs take ~600 ms instead of
 * ~230 ms.  The rare pair the two sides disagree on is caught in
 * peer-path.c. */
static NiceAgentOption agent_options(const struct wice_peer *peer)
{
	NiceAgentOption opts = NICE_AGENT_OPTION_ICE_TRICKLE;

	if (peer->controlling && iface_settings(peer->iface)->liveness == WICE_LIVENESS_CONSENT)
		opts |= NICE_AGENT_OPTION_CONSENT_FRESHNESS;
	return opts;
}

/* Creates the agent.  With @ufrag/@pwd (non-NULL) the session keeps the
 * credentials it already announced: the remote side restarted, not us. */
bool peer_ice_create(struct wice_peer *peer, const char *ufrag, const char *pwd)
{
	const struct wice_iface_settings *cfg = iface_settings(peer->iface);
	bool host_only = cfg->candidate_types == WICE_CAND_HOST;

	peer->agent = nice_agent_new_full(g_main_context_get_thread_default(), NICE_COMPATIBILITY_RFC5245,
					  agent_options(peer));
	g_object_set(peer->agent, "controlling-mode", peer->controlling, "ice-tcp", FALSE, "upnp", FALSE,
		     "force-relay", cfg->candidate_types == WICE_CAND_RELAY, "stun-pacing-timer", pacing_ms(peer),
		     "stun-max-retransmissions", PEER_ICE_CHECK_RETRANSMISSIONS,
		     NULL);
	peer->stream = nice_agent_add_stream(peer->agent, 1);
	if (!peer->stream)
		return false;
	nice_agent_set_stream_name(peer->agent, peer->stream, "application");
	if (cfg->port_min)
		nice_agent_set_port_range(peer->agent, peer->stream, 1, cfg->port_min, cfg->port_max);
	add_local_addresses(peer);
	if (!host_only)
		configure_servers(peer, cfg);
	if (ufrag && pwd)
		nice_agent_set_local_credentials(peer->agent, peer->stream, ufrag, pwd);
	connect_signals(peer);
	nice_agent_attach_recv(peer->agent, peer->stream, 1, g_main_context_get_thread_default(), on_receive, peer);
	peer->gathering_done = false;
	return nice_agent_gather_candidates(peer->agent, peer->stream);
}

/* A failed agent must not live until the restart: libnice 0.1.21 aborts
 * the process (an assertion in agent_signal_component_state_change) when
 * a late answer moves a FAILED component back to CONNECTED, which a mesh
 * of 50 behind NATs hit within a minute.  Not from inside libnice's
 * signal: from the loop, right after. */
static gboolean on_drop_agent(gpointer data)
{
	struct wice_peer *peer = data;

	g_clear_pointer(&peer->drop_timer, g_source_unref);
	if (peer->state == PEER_FAILED)
		peer_teardown(peer);
	return G_SOURCE_REMOVE;
}

/* Destroys the agent from the loop soon after, if the peer is still
 * failed by then. */
static void peer_ice_drop_soon(struct wice_peer *peer)
{
	if (!peer->drop_timer)
		peer->drop_timer = source_timeout(0, on_drop_agent, peer);
}

static void peer_clear_candidates(struct wice_peer *peer)
{
	for (size_t i = 0; i < peer->n_pending; i++)
		nice_candidate_free(peer->pending[i]);
	peer->n_pending = 0;
	for (size_t i = 0; i < peer->n_local; i++)
		nice_candidate_free(peer->local[i]);
	peer->n_local = 0;
}

void peer_ice_destroy(struct wice_peer *peer)
{
	if (!peer->agent)
		return;
	nice_agent_attach_recv(peer->agent, peer->stream, 1, g_main_context_get_thread_default(), NULL, NULL);
	g_signal_handlers_disconnect_by_data(peer->agent, peer);
	peer_cancel_send_state(peer);
	source_clear(&peer->drop_timer);
	/* Closing releases TURN allocations; libnice finishes asynchronously. */
	nice_agent_close_async(peer->agent, NULL, NULL);
	g_clear_object(&peer->agent);
	peer->stream = 0;
	peer_clear_candidates(peer);
	peer->have_remote_credentials = false;
	peer->remote_gathering_done = false;
	peer->n_remote = 0;
	peer->selected.valid = false;
}

void peer_ice_set_remote_credentials(struct wice_peer *peer, const char *ufrag, const char *pwd)
{
	if (!peer->agent || peer->have_remote_credentials)
		return;
	if (!nice_agent_set_remote_credentials(peer->agent, peer->stream, ufrag, pwd))
		return;
	peer->have_remote_credentials = true;
	for (size_t i = 0; i < peer->n_pending; i++) {
		GSList one = { .data = peer->pending[i], .next = NULL };

		nice_agent_set_remote_candidates(peer->agent, peer->stream, 1, &one);
		nice_candidate_free(peer->pending[i]);
	}
	peer->n_pending = 0;
	if (peer->remote_gathering_done)
		nice_agent_peer_candidate_gathering_done(peer->agent, peer->stream);
	if (peer->state == PEER_GATHERING)
		peer_set_state(peer, PEER_CONNECTING, "remote credentials received");
}

/* Takes ownership of @c. */
void peer_ice_add_remote_candidate(struct wice_peer *peer, NiceCandidate *c)
{
	GSList one = { .data = c, .next = NULL };

	/* A peer may resend its candidates any number of times, but it cannot
	 * make us hold more than PEER_MAX_REMOTE_CANDIDATES per session. */
	if (!peer->agent || peer->n_remote >= PEER_MAX_REMOTE_CANDIDATES) {
		nice_candidate_free(c);
		return;
	}
	peer->n_remote++;
	if (!peer->have_remote_credentials) {
		if (peer->n_pending < PEER_MAX_PENDING_CANDIDATES)
			peer->pending[peer->n_pending++] = c;
		else
			nice_candidate_free(c);
		return;
	}
	nice_agent_set_remote_candidates(peer->agent, peer->stream, 1, &one);
	nice_candidate_free(c);
}

void peer_ice_remote_gathering_done(struct wice_peer *peer)
{
	peer->remote_gathering_done = true;
	if (peer->agent && peer->have_remote_credentials)
		nice_agent_peer_candidate_gathering_done(peer->agent, peer->stream);
}

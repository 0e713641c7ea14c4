/* The peer's ICE agents: creation with the daemon's STUN/TURN servers and
 * local addresses, and libnice's signals turned into peer events.
 *
 * libnice gathers on every local address unless told otherwise; we add the
 * addresses ourselves so that no candidate ever sits on a WireGuard
 * interface (that would route the tunnel through itself).
 *
 * A session has two agents that share its credentials, so that the peer
 * sees one ICE session:
 *
 *   - the direct agent gathers host and server reflexive candidates (STUN)
 *     and checks them against the peer's host and server reflexive ones;
 *   - the relay agent (libnice's force-relay) holds the TURN allocation and
 *     checks its relay candidate against the peer's relay candidates only.
 *
 * With one agent, libnice pairs the relay candidate with every remote
 * candidate, and its first relayed checks go to the peer's host addresses,
 * private ones included, which the TURN server cannot reach.  coturn 4.6.1
 * (and still 4.17.1) closes an allocation whose relayed send fails:
 * on a server without a default route (sendto: ENETUNREACH) or with an
 * egress firewall that keeps it out of private networks (EPERM) it logs
 * "udp send: Network is unreachable", sends nothing more for that
 * allocation and closes it ("closed (2nd stage) ... reason: general") at
 * its next input.  Every later request of the client then meets a new
 * server session ("438 Wrong nonce", "400 Bad Request"), which libnice
 * takes for a granted permission.  So the relay carried nothing, and
 * behind two NATs that remap ports no direct pair works either: in such a
 * test bed 0 of 5 runs connected, ICE failing and restarting every ~15 s
 * (tests/lab/nat-hard-*.test reproduce it).  A relay pair whose remote is
 * a relay candidate sends only to a TURN server's relay address, so what
 * direct checks meet can no longer take the relay path down; and the
 * direct agent, which has no allocation, is free to check anything.
 *
 * A peer that runs one agent (an older wice) still connects: relay-relay
 * in the lab's one-symmetric topology, either side old.  The relay
 * agent's pair carries WireGuard until the direct agent selects a pair
 * (peer-path.c). */
#include "config.h"

#include <string.h>

#include "peer-diag.h"
#include "peer-internal.h"
#include "util/source-util.h"
#include "turn-credentials.h"

/* Ta, the pacing of connectivity checks (libnice: 20 ms), is per agent,
 * and we have two agents per peer.  RFC 8445 wants at least 5 ms between
 * a host's checks, so the interval grows with the peers that are
 * checking at the same time: one peer checks every 5 ms, a mesh of 50
 * nodes starting at once every 245 ms per peer.  It also bounds the
 * wakeups: libnice's check timer ticks every Ta while checks are in
 * flight and for its idle-timeout after, and each wakeup of the main loop
 * polls every agent's sockets.  (The relay agent has one candidate and
 * few pairs.) */
#define PEER_ICE_TA_MS 5u
#define PEER_ICE_TA_MAX_MS 250u
/* libnice's idle-timeout (default 5 s) is a grace period before a
 * component without a valid pair is declared failed; its check timer keeps
 * ticking every Ta through it, doing nothing: ~200 wakeups a second for
 * 5 s after every connect, in both daemons, while the tunnel's first
 * traffic flows (the nft fast path's first iperf run lost ~10 %).  Once a
 * pair is selected there is nothing to wait for; checks still in flight
 * keep the timer going as before, and a late check from the peer starts
 * it again.  50 ms is libnice's minimum. */
#define PEER_ICE_IDLE_AFTER_SELECTED_MS 50u
/* libnice gives a check 3 retransmissions (0.5, 1, 2 s, then 4 s more):
 * a peer whose daemon is busy for a few seconds (a mesh of 50 starting
 * on two cores) failed its checks, restarted ICE and made the other side
 * start over too, which kept the whole mesh busy.  5 give it about 15 s
 * (0.5 + 1 + 2 + 4 + 8; measured 14.7-15.0 s in
 * tests/lab/restart-backoff.test), half the connect timeout; a working
 * pair is still selected on its first answer. */
#define PEER_ICE_CHECK_RETRANSMISSIONS 5u
/* The relay agent's candidate foundations get this prefix in our
 * messages: foundations are numbered per agent, and the two agents'
 * candidates must not look alike to a peer with one agent. */
#define RELAY_FOUNDATION_PREFIX "r"

static const char *const agent_names[] = { "direct", "relay" };

static void peer_agent_drop_soon(struct peer_agent *pa);
static void check_hope(struct wice_peer *peer, const char *reason);

static void on_new_candidate(NiceAgent *agent, NiceCandidate *c, gpointer data)
{
	struct peer_agent *pa = data;
	struct wice_peer *peer = pa->peer;
	NiceCandidate *copy;

	pa->n_local++;
	if (peer->n_local < PEER_MAX_LOCAL_CANDIDATES) {
		copy = nice_candidate_copy(c);
		if (pa->kind == PEER_AGENT_RELAY)
			g_snprintf(copy->foundation, sizeof(copy->foundation), RELAY_FOUNDATION_PREFIX "%s",
				   c->foundation);
		peer->local[peer->n_local++] = copy;
	}
	if (pa->kind == PEER_AGENT_DIRECT)
		peer_advertise_on_host_candidate(peer, c);
	peer_schedule_send_state(peer);
	peer_portmap_on_candidate(pa, c);
}

static void on_gathering_done(NiceAgent *agent, guint stream, gpointer data)
{
	struct peer_agent *pa = data;
	struct wice_peer *peer = pa->peer;

	pa->gathering_done = true;
	g_debug("%s/%s: %s agent gathered %zu candidates", peer->iface->name, peer->name, agent_names[pa->kind],
		pa->n_local);
	peer_schedule_send_state(peer);
	check_hope(peer, "checks failed");
}

/* An agent failed: its pair, if it carried WireGuard, gives way to the
 * other agent's, and the peer starts over only when neither agent can
 * still find one. */
static void on_agent_failed(struct peer_agent *pa)
{
	struct wice_peer *peer = pa->peer;
	const char *why = peer->state == PEER_CONNECTED ? "consent lost" : "checks failed";

	g_info("%s/%s: %s agent: %s", peer->iface->name, peer->name, agent_names[pa->kind], why);
	peer_diag_on_agent_failed(pa, why);
	pa->failed = true;
	peer_agent_drop_soon(pa);
	if (!peer_path_on_agent_lost(pa) && peer->state == PEER_CONNECTED)
		peer_set_state(peer, PEER_CONNECTING, why);
	check_hope(peer, why);
}

static void on_component_state(NiceAgent *agent, guint stream, guint component, guint state, gpointer data)
{
	struct peer_agent *pa = data;
	struct wice_peer *peer = pa->peer;

	g_debug("%s/%s: %s component %s", peer->iface->name, peer->name, agent_names[pa->kind],
		nice_component_state_to_string(state));
	if (state == NICE_COMPONENT_STATE_FAILED)
		on_agent_failed(pa);
	else if ((state == NICE_COMPONENT_STATE_CONNECTED || state == NICE_COMPONENT_STATE_READY) &&
		 peer->path_agent == pa)
		peer_on_connected(peer);
}

static void on_selected_pair(NiceAgent *agent, guint stream, guint component, NiceCandidate *local,
			     NiceCandidate *remote, gpointer data)
{
	struct peer_agent *pa = data;

	g_clear_pointer(&pa->selected_local, nice_candidate_free);
	g_clear_pointer(&pa->selected_remote, nice_candidate_free);
	pa->selected_local = nice_candidate_copy(local);
	pa->selected_remote = nice_candidate_copy(remote);
	g_object_set(agent, "idle-timeout", PEER_ICE_IDLE_AFTER_SELECTED_MS, NULL);
	peer_path_on_selected_pair(pa);
}

static void on_receive(NiceAgent *agent, guint stream, guint component, guint len, gchar *buf, gpointer data)
{
	struct peer_agent *pa = data;

	if (pa->kind == PEER_AGENT_RELAY)
		peer_relay_release_note_rx(pa->peer);
	peer_path_deliver(pa->peer, pa, (const uint8_t *)buf, len);
}

/* The addresses the host lets us gather on (never one on a WireGuard
 * interface: that would route the tunnel through itself). */
static GArray *list_local_addresses(const struct wice_peer *peer)
{
	const struct iface_host *host = &peer->iface->host;
	GArray *addrs = g_array_new(FALSE, TRUE, sizeof(struct sockaddr_storage));

	host->ops->local_addresses(host->data, addrs);
	return addrs;
}

static void add_local_addresses(struct peer_agent *pa, GArray *addrs)
{
	for (guint i = 0; i < addrs->len; i++) {
		NiceAddress addr;

		nice_address_init(&addr);
		nice_address_set_from_sockaddr(&addr, (const struct sockaddr *)&g_array_index(addrs, struct sockaddr_storage, i));
		nice_agent_add_local_address(pa->agent, &addr);
	}
}

static bool same_address(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)(const void *)a)->sin_addr,
			      &((const struct sockaddr_in *)(const void *)b)->sin_addr, sizeof(struct in_addr)) == 0;
	return memcmp(&((const struct sockaddr_in6 *)(const void *)a)->sin6_addr,
		      &((const struct sockaddr_in6 *)(const void *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
}

/* A route or address change while we connect restarts ICE only when an
 * address the agents gather on is gone: an address that appeared (an
 * IPv6 address done with duplicate address detection, ~1-2 s after the
 * link came up) is for the next session.  GLib signals a change of
 * network for every route the kernel adds, also where no address changed
 * (once ~10 s after start-up here); each restart costs both sides a new
 * agent, ~0.3 s of a connect right after boot, and threw away the relay
 * allocation just made. */
bool peer_ice_addresses_still_there(const struct wice_peer *peer)
{
	g_autoptr(GArray) now = NULL;

	if (!peer->local_addrs || !peer->local_addrs->len)
		return false;
	now = list_local_addresses(peer);
	for (guint i = 0; i < peer->local_addrs->len; i++) {
		const struct sockaddr_storage *a = &g_array_index(peer->local_addrs, struct sockaddr_storage, i);
		bool found = false;

		for (guint j = 0; j < now->len && !found; j++)
			found = same_address(a, &g_array_index(now, struct sockaddr_storage, j));
		if (!found)
			return false;
	}
	return true;
}

/* turns: goes through the daemon's own TLS (turns-proxy.h): libnice sees
 * a plain TCP TURN server on loopback. */
static NiceRelayType relay_type(const struct wice_ice_server *s)
{
	if (s->scheme == WICE_ICE_TURNS)
		return NICE_RELAY_TYPE_TURN_TCP;
	return s->transport == WICE_ICE_TRANSPORT_TCP ? NICE_RELAY_TYPE_TURN_TCP : NICE_RELAY_TYPE_TURN_UDP;
}

static bool relay_server(const struct wice_ice_server *s, const char **ret_address, guint *ret_port)
{
	if (s->scheme == WICE_ICE_STUN || !*s->address)
		return false;
	if (s->scheme == WICE_ICE_TURNS) {
		*ret_address = "127.0.0.1";
		*ret_port = s->local_port;
		return s->local_port != 0;
	}
	*ret_address = s->address;
	*ret_port = s->port;
	return true;
}

/* Servers whose names did not resolve have no address and are skipped. */
static bool have_turn_server(const struct wice_iface_settings *cfg)
{
	for (size_t i = 0; i < cfg->n_ice_servers; i++)
		if (cfg->ice_servers[i].scheme != WICE_ICE_STUN && *cfg->ice_servers[i].address)
			return true;
	return false;
}

static void configure_stun(struct peer_agent *pa, const struct wice_iface_settings *cfg)
{
	if (!(cfg->candidate_types & WICE_CAND_SRFLX))
		return;
	for (size_t i = 0; i < cfg->n_ice_servers; i++) {
		const struct wice_ice_server *s = &cfg->ice_servers[i];

		if (s->scheme == WICE_ICE_STUN && *s->address)
			g_object_set(pa->agent, "stun-server", s->address, "stun-server-port", (guint)s->port, NULL);
	}
}

static void configure_turn(struct peer_agent *pa, const struct wice_iface_settings *cfg)
{
	g_autofree char *user = NULL, *pass = NULL;

	turn_credentials(cfg, &user, &pass);
	for (size_t i = 0; i < cfg->n_ice_servers; i++) {
		const struct wice_ice_server *s = &cfg->ice_servers[i];
		const char *address;
		guint port;

		if (relay_server(s, &address, &port))
			nice_agent_set_relay_info(pa->agent, pa->stream, 1, address, port, user ? user : "",
						  pass ? pass : "", relay_type(s));
	}
	if (pass)
		explicit_bzero(pass, strlen(pass));
}

static void connect_signals(struct peer_agent *pa)
{
	g_signal_connect(pa->agent, "new-candidate-full", G_CALLBACK(on_new_candidate), pa);
	g_signal_connect(pa->agent, "candidate-gathering-done", G_CALLBACK(on_gathering_done), pa);
	g_signal_connect(pa->agent, "component-state-changed", G_CALLBACK(on_component_state), pa);
	g_signal_connect(pa->agent, "new-selected-pair-full", G_CALLBACK(on_selected_pair), pa);
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

/* A port-range of one port is the port a router forwards to ([ice]
 * advertise ADDRESS:PORT): the direct agent's.  The relay agent's socket
 * talks to the TURN server only, and it could not bind that port beside
 * the direct agent (libnice then fails the whole gathering). */
static bool uses_port_range(const struct peer_agent *pa, const struct wice_iface_settings *cfg)
{
	return cfg->port_min && !(pa->kind == PEER_AGENT_RELAY && cfg->port_min == cfg->port_max);
}

bool peer_agent_configure(struct peer_agent *pa, GArray *addrs, const char *ufrag, const char *pwd)
{
	struct wice_peer *peer = pa->peer;
	const struct wice_iface_settings *cfg = iface_settings(peer->iface);
	bool relay = pa->kind == PEER_AGENT_RELAY;

	pa->agent = nice_agent_new_full(g_main_context_get_thread_default(), NICE_COMPATIBILITY_RFC5245,
					agent_options(peer));
	g_object_set(pa->agent, "controlling-mode", peer->controlling, "ice-tcp", FALSE, "upnp", FALSE,
		     "force-relay", relay, "stun-pacing-timer", pacing_ms(peer), "stun-max-retransmissions",
		     PEER_ICE_CHECK_RETRANSMISSIONS, NULL);
	pa->stream = nice_agent_add_stream(pa->agent, 1);
	if (!pa->stream)
		return false;
	nice_agent_set_stream_name(pa->agent, pa->stream, "application");
	if (uses_port_range(pa, cfg))
		nice_agent_set_port_range(pa->agent, pa->stream, 1, cfg->port_min, cfg->port_max);
	add_local_addresses(pa, addrs);
	if (relay)
		configure_turn(pa, cfg);
	else
		configure_stun(pa, cfg);
	if (ufrag && pwd)
		nice_agent_set_local_credentials(pa->agent, pa->stream, ufrag, pwd);
	return true;
}

void peer_agent_attach(struct peer_agent *pa)
{
	connect_signals(pa);
	nice_agent_attach_recv(pa->agent, pa->stream, 1, g_main_context_get_thread_default(), on_receive, pa);
}

static bool peer_agent_create(struct peer_agent *pa, GArray *addrs, const char *ufrag, const char *pwd)
{
	if (!peer_agent_configure(pa, addrs, ufrag, pwd))
		return false;
	peer_agent_attach(pa);
	return nice_agent_gather_candidates(pa->agent, pa->stream);
}

static void peer_agent_reset(struct peer_agent *pa)
{
	g_clear_pointer(&pa->selected_local, nice_candidate_free);
	g_clear_pointer(&pa->selected_remote, nice_candidate_free);
	pa->gathering_done = false;
	pa->failed = false;
	pa->n_local = 0;
	pa->n_remote = 0;
}

/* Creates the agents of a session.  With @ufrag/@pwd (non-NULL) the
 * session keeps the credentials it already announced: the remote side
 * restarted, not us.  The relay agent takes the direct agent's (or
 * libnice's own) credentials, so that the two are one session. */
bool peer_ice_create(struct wice_peer *peer, const char *ufrag, const char *pwd)
{
	const struct wice_iface_settings *cfg = iface_settings(peer->iface);
	g_autofree char *own_ufrag = NULL, *own_pwd = NULL;
	struct peer_agent *direct = &peer->ice[PEER_AGENT_DIRECT], *relay = &peer->ice[PEER_AGENT_RELAY];

	direct->wanted = cfg->candidate_types != WICE_CAND_RELAY;
	relay->wanted = (cfg->candidate_types & WICE_CAND_RELAY) && have_turn_server(cfg);
	if (!direct->wanted && !relay->wanted)
		direct->wanted = true; /* relay only, but no TURN server: host candidates rather than nothing */
	if (peer->local_addrs)
		g_array_unref(peer->local_addrs);
	peer->local_addrs = list_local_addresses(peer);
	peer->relay_grace_over = false;
	peer->relay_released = false;
	peer->relay_rx_us = 0;
	for (size_t i = 0; i < PEER_N_AGENTS; i++) {
		struct peer_agent *pa = &peer->ice[i];

		peer_agent_reset(pa);
		if (!pa->wanted)
			continue;
		if (!peer_agent_create(pa, peer->local_addrs, ufrag, pwd))
			return false;
		if (!ufrag && !pwd && nice_agent_get_local_credentials(pa->agent, pa->stream, &own_ufrag, &own_pwd)) {
			ufrag = own_ufrag;
			pwd = own_pwd;
		}
	}
	if (own_pwd)
		explicit_bzero(own_pwd, strlen(own_pwd));
	peer_renew_start(peer);
	return true;
}

/* libnice closes an agent's sockets when the agent is finalized, a loop
 * iteration or two after nice_agent_close_async().  A port-range of one
 * port ([ice] advertise ADDRESS:PORT) has the next session's direct agent
 * bind that port at once, which failed (and cost a second restart, ~0.5
 * s) while the old socket was open.  The direct agent holds no TURN
 * allocation, so nothing is left to send: close its sockets now. */
static void release_single_port(struct peer_agent *pa)
{
	const struct wice_iface_settings *cfg = iface_settings(pa->peer->iface);
	GPtrArray *sockets;

	if (pa->kind != PEER_AGENT_DIRECT || !cfg->port_min || cfg->port_min != cfg->port_max)
		return;
	sockets = nice_agent_get_sockets(pa->agent, pa->stream, 1);
	for (guint i = 0; sockets && i < sockets->len; i++)
		g_socket_close(g_ptr_array_index(sockets, i), NULL);
	if (sockets)
		g_ptr_array_unref(sockets);
}

void peer_agent_destroy(struct peer_agent *pa)
{
	struct wice_peer *peer = pa->peer;

	source_clear(&pa->drop_timer);
	if (!pa->agent)
		return;
	peer_path_on_agent_lost(pa);
	nice_agent_attach_recv(pa->agent, pa->stream, 1, g_main_context_get_thread_default(), NULL, NULL);
	g_signal_handlers_disconnect_by_data(pa->agent, pa);
	release_single_port(pa);
	/* Closing releases TURN allocations; libnice finishes asynchronously. */
	nice_agent_close_async(pa->agent, NULL, NULL);
	g_clear_object(&pa->agent);
	pa->stream = 0;
	g_clear_pointer(&pa->selected_local, nice_candidate_free);
	g_clear_pointer(&pa->selected_remote, nice_candidate_free);
	g_debug("%s/%s: %s agent closed", peer->iface->name, peer->name, agent_names[pa->kind]);
}

/* A failed agent must not live until the restart: libnice 0.1.21 aborts
 * the process (an assertion in agent_signal_component_state_change) when
 * a late answer moves a FAILED component back to CONNECTED, which a mesh
 * of 50 behind NATs hit within a minute.  Not from inside libnice's
 * signal: from the loop, right after. */
static gboolean on_drop_agent(gpointer data)
{
	struct peer_agent *pa = data;
	struct wice_peer *peer = pa->peer;

	g_clear_pointer(&pa->drop_timer, g_source_unref);
	if (peer->state == PEER_FAILED)
		peer_teardown(peer);
	else if (pa->failed)
		peer_agent_destroy(pa);
	return G_SOURCE_REMOVE;
}

static void peer_agent_drop_soon(struct peer_agent *pa)
{
	if (!pa->drop_timer)
		pa->drop_timer = source_timeout(0, on_drop_agent, pa);
}

/* Whether @pa may still find a pair: it has one, or it is not failed and
 * still has candidates to gather or check. */
static bool peer_agent_hopeful(const struct peer_agent *pa)
{
	const struct wice_peer *peer = pa->peer;
	bool all_known = pa->gathering_done && peer->have_remote_credentials && peer->remote_gathering_done;

	if (!pa->agent || pa->failed)
		return false;
	return pa->selected_local || !all_known || (pa->n_local && pa->n_remote);
}

/* Neither agent can find a pair any more: start over (after the
 * backoff). */
static void check_hope(struct wice_peer *peer, const char *reason)
{
	if (peer->state != PEER_GATHERING && peer->state != PEER_CONNECTING && !peer_restart_pending(peer))
		return;
	for (size_t i = 0; i < PEER_N_AGENTS; i++)
		if (peer_agent_hopeful(&peer->ice[i]))
			return;
	peer_schedule_restart(peer, reason);
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

static void forget_remote_credentials(struct wice_peer *peer)
{
	if (peer->remote_pwd)
		explicit_bzero(peer->remote_pwd, strlen(peer->remote_pwd));
	g_clear_pointer(&peer->remote_pwd, g_free);
	g_clear_pointer(&peer->remote_ufrag, g_free);
}

void peer_ice_destroy(struct wice_peer *peer)
{
	peer_cancel_send_state(peer);
	peer_renew_stop(peer);
	peer_relay_release_cancel(peer);
	forget_remote_credentials(peer);
	/* all going: no path moves from one to the other meanwhile */
	for (size_t i = 0; i < PEER_N_AGENTS; i++)
		peer->ice[i].failed = true;
	for (size_t i = 0; i < PEER_N_AGENTS; i++) {
		peer_agent_destroy(&peer->ice[i]);
		peer->ice[i].wanted = false;
	}
	g_clear_pointer(&peer->local_addrs, g_array_unref);
	peer_portmap_release(peer);
	peer_clear_candidates(peer);
	peer->have_remote_credentials = false;
	peer->remote_gathering_done = false;
	peer->n_remote = 0;
}

bool peer_ice_active(const struct wice_peer *peer)
{
	return peer->ice[PEER_AGENT_DIRECT].agent || peer->ice[PEER_AGENT_RELAY].agent;
}

bool peer_ice_local_credentials(const struct wice_peer *peer, char **ret_ufrag, char **ret_pwd)
{
	for (size_t i = 0; i < PEER_N_AGENTS; i++) {
		const struct peer_agent *pa = &peer->ice[i];

		if (pa->agent && nice_agent_get_local_credentials(pa->agent, pa->stream, ret_ufrag, ret_pwd))
			return true;
	}
	return false;
}

bool peer_ice_gathering_done(const struct wice_peer *peer)
{
	for (size_t i = 0; i < PEER_N_AGENTS; i++)
		if (peer->ice[i].agent && !peer->ice[i].gathering_done)
			return false;
	return true;
}

size_t peer_remote_candidates(const struct wice_peer *peer)
{
	size_t n = 0;

	for (size_t i = 0; i < PEER_N_AGENTS; i++) {
		const struct peer_agent *pa = &peer->ice[i];
		GSList *list;

		if (!pa->agent)
			continue;
		list = nice_agent_get_remote_candidates(pa->agent, pa->stream, 1);
		n += g_slist_length(list);
		g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
	}
	return n;
}

/* The agent a remote candidate belongs to: relay candidates to the relay
 * agent, the others to the direct agent.  When the session has only one
 * agent by configuration, it takes every candidate, as the one agent of
 * earlier versions did.  NULL: that agent is gone (it failed). */
static struct peer_agent *agent_for(struct wice_peer *peer, const NiceCandidate *c)
{
	struct peer_agent *direct = &peer->ice[PEER_AGENT_DIRECT], *relay = &peer->ice[PEER_AGENT_RELAY];
	struct peer_agent *pa;

	if (c->type == NICE_CANDIDATE_TYPE_RELAYED)
		pa = relay->wanted ? relay : direct;
	else
		pa = direct->wanted ? direct : relay;
	return pa->agent ? pa : NULL;
}

/* Takes ownership of @c. */
static void give_remote_candidate(struct wice_peer *peer, NiceCandidate *c)
{
	struct peer_agent *pa = agent_for(peer, c);
	GSList one = { .data = c, .next = NULL };

	if (pa) {
		c->stream_id = pa->stream;
		nice_agent_set_remote_candidates(pa->agent, pa->stream, 1, &one);
		pa->n_remote++;
	}
	if (pa == &peer->ice[PEER_AGENT_RELAY])
		peer_renew_add_remote_candidate(peer, c);
	nice_candidate_free(c);
}

void peer_ice_set_remote_credentials(struct wice_peer *peer, const char *ufrag, const char *pwd)
{
	bool any = false;

	if (!peer_ice_active(peer) || peer->have_remote_credentials)
		return;
	for (size_t i = 0; i < PEER_N_AGENTS; i++) {
		struct peer_agent *pa = &peer->ice[i];

		if (pa->agent && nice_agent_set_remote_credentials(pa->agent, pa->stream, ufrag, pwd))
			any = true;
	}
	if (!any)
		return;
	peer->have_remote_credentials = true;
	forget_remote_credentials(peer);
	peer->remote_ufrag = g_strdup(ufrag);
	peer->remote_pwd = g_strdup(pwd);
	for (size_t i = 0; i < peer->n_pending; i++)
		give_remote_candidate(peer, peer->pending[i]);
	peer->n_pending = 0;
	if (peer->remote_gathering_done)
		peer_ice_remote_gathering_done(peer);
	if (peer->state == PEER_GATHERING)
		peer_set_state(peer, PEER_CONNECTING, "remote credentials received");
}

/* Takes ownership of @c. */
void peer_ice_add_remote_candidate(struct wice_peer *peer, NiceCandidate *c)
{
	/* A peer may resend its candidates any number of times, but it cannot
	 * make us hold more than PEER_MAX_REMOTE_CANDIDATES per session. */
	if (!peer_ice_active(peer) || peer->n_remote >= PEER_MAX_REMOTE_CANDIDATES) {
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
	give_remote_candidate(peer, c);
}

void peer_ice_remote_gathering_done(struct wice_peer *peer)
{
	peer->remote_gathering_done = true;
	if (!peer->have_remote_credentials)
		return;
	for (size_t i = 0; i < PEER_N_AGENTS; i++) {
		struct peer_agent *pa = &peer->ice[i];

		if (pa->agent)
			nice_agent_peer_candidate_gathering_done(pa->agent, pa->stream);
	}
	peer_renew_remote_gathering_done(peer);
	check_hope(peer, "checks failed");
}

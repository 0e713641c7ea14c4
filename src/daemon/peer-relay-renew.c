/* The relay agent renewed before its TURN credentials expire.
 *
 * Credentials derived from turn-secret are valid for
 * turn-credential-lifetime (24 h by default), and libnice refreshes an
 * allocation, its permissions and channels with the credentials it was
 * given when it gathered: 0.1.21 has no way to hand it new ones.  A TURN
 * server that checks the expiry on every request (pion/turn does) then
 * refuses the refreshes, and a relayed path older than the lifetime
 * drops.  (coturn 4.6.1 keeps the key of a session once it authenticated
 * it: in the lab a CreatePermission 220 s after the credentials expired
 * still succeeded.)
 *
 * So before they expire (a quarter of the lifetime before, at most 10
 * minutes) a new relay agent is made beside the old one, with the same
 * ICE credentials (the same session: no restart, nothing changes for the
 * direct agent) and fresh TURN credentials, and it gets the peer's
 * credentials and relay candidates.  Its relay candidate trickles to the
 * peer with a priority one above the last one's, so that the peer's
 * agent, which keeps a selected pair unless a nominated one of higher
 * priority comes, moves to it.  Once the new agent selects a pair it
 * takes the old one's place (WireGuard's traffic moves over at once, the
 * user proxy's loopback socket stays), and the old agent goes on
 * receiving for RETIRE_MS, while the peer moves over too, before it
 * releases its allocation.  A renewal that does not get a pair is
 * dropped and tried again, while the old allocation still works.
 * tests/lab/turn-renew.test: 20 s credentials, pings over the relay for
 * 75 s without a loss or a restart. */
#include "config.h"

#include <string.h>

#include "peer-internal.h"
#include "turn-credentials.h"
#include "util/source-util.h"

#define RENEW_MARGIN_MAX_S 600u
/* The peer's agent moves to our new candidate within ~0.1 s in the lab
 * (a signaling message and one check); this leaves room for a resend. */
#define RETIRE_MS 5000u

struct retiring_agent {
	struct wice_peer *peer;
	NiceAgent *agent;
	guint stream;
	GSource *timer;
};

static unsigned margin_s(unsigned lifetime)
{
	return MIN(lifetime / 4, RENEW_MARGIN_MAX_S);
}

/* A renewal that has no pair after half the margin is made again, while
 * the old credentials still work (2 s at least: gathering and checks over
 * the relay take ~0.2 s in the lab). */
static guint retry_ms(const struct wice_peer *peer)
{
	return 1000 * MAX(margin_s(turn_credentials_lifetime(iface_settings(peer->iface))) / 2, 2u);
}

static void schedule(struct wice_peer *peer, guint ms, GSourceFunc fn)
{
	source_clear(&peer->renew_timer);
	peer->renew_timer = source_timeout(ms, fn, peer);
}

static void close_agent(NiceAgent *agent, guint stream)
{
	nice_agent_attach_recv(agent, stream, 1, g_main_context_get_thread_default(), NULL, NULL);
	/* releases the TURN allocation; libnice finishes asynchronously */
	nice_agent_close_async(agent, NULL, NULL);
	g_object_unref(agent);
}

static void drop_renewal(struct wice_peer *peer)
{
	struct peer_agent *pa = &peer->renew;

	if (!pa->agent)
		return;
	g_signal_handlers_disconnect_by_data(pa->agent, pa);
	close_agent(g_steal_pointer(&pa->agent), pa->stream);
	g_clear_pointer(&pa->selected_local, nice_candidate_free);
	g_clear_pointer(&pa->selected_remote, nice_candidate_free);
	pa->stream = 0;
}

/* --- the new agent's signals -------------------------------------------------- */

static void on_renew_candidate(NiceAgent *agent, NiceCandidate *c, gpointer data)
{
	struct peer_agent *pa = data;
	struct wice_peer *peer = pa->peer;
	NiceCandidate *copy;

	if (c->type != NICE_CANDIDATE_TYPE_RELAYED || peer->n_local >= PEER_MAX_LOCAL_CANDIDATES)
		return;
	pa->n_local++;
	copy = nice_candidate_copy(c);
	g_snprintf(copy->foundation, sizeof(copy->foundation), "r%ug%s", peer->relay_generation, c->foundation);
	copy->priority = c->priority + peer->relay_generation;
	peer->local[peer->n_local++] = copy;
	peer_schedule_send_state(peer);
}

static void on_renew_gathering_done(NiceAgent *agent, guint stream, gpointer data)
{
	struct peer_agent *pa = data;

	pa->gathering_done = true;
	peer_schedule_send_state(pa->peer);
}

static gboolean on_renew_timer(gpointer data);
static gboolean on_renew_selected(gpointer data);

static gboolean on_renew_failed(gpointer data)
{
	struct wice_peer *peer = data;

	g_clear_pointer(&peer->renew_timer, g_source_unref);
	g_info("%s/%s: relay renewal found no pair; trying again", peer->iface->name, peer->name);
	drop_renewal(peer);
	schedule(peer, retry_ms(peer), on_renew_timer);
	return G_SOURCE_REMOVE;
}

/* Not from inside libnice's signal: from the loop, right after. */
static void on_renew_state(NiceAgent *agent, guint stream, guint component, guint state, gpointer data)
{
	struct peer_agent *pa = data;

	if (state == NICE_COMPONENT_STATE_FAILED)
		schedule(pa->peer, 0, on_renew_failed);
}

static void on_renew_pair(NiceAgent *agent, guint stream, guint component, NiceCandidate *local,
			  NiceCandidate *remote, gpointer data)
{
	struct peer_agent *pa = data;

	g_clear_pointer(&pa->selected_local, nice_candidate_free);
	g_clear_pointer(&pa->selected_remote, nice_candidate_free);
	pa->selected_local = nice_candidate_copy(local);
	pa->selected_remote = nice_candidate_copy(remote);
	schedule(pa->peer, 0, on_renew_selected);
}

static void on_renew_receive(NiceAgent *agent, guint stream, guint component, guint len, gchar *buf, gpointer data)
{
	struct peer_agent *pa = data;

	peer_path_deliver(pa->peer, pa, (const uint8_t *)buf, len);
}

/* --- starting a renewal ----------------------------------------------------------- */

/* The peer's side of the session, as the relay agent has it. */
static void give_remote_side(struct wice_peer *peer, struct peer_agent *from, struct peer_agent *to)
{
	GSList *list;

	if (!peer->remote_ufrag || !peer->remote_pwd)
		return;
	nice_agent_set_remote_credentials(to->agent, to->stream, peer->remote_ufrag, peer->remote_pwd);
	list = nice_agent_get_remote_candidates(from->agent, from->stream, 1);
	for (GSList *l = list; l; l = l->next)
		((NiceCandidate *)l->data)->stream_id = to->stream;
	if (list)
		nice_agent_set_remote_candidates(to->agent, to->stream, 1, list);
	to->n_remote = g_slist_length(list);
	g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
	if (peer->remote_gathering_done)
		nice_agent_peer_candidate_gathering_done(to->agent, to->stream);
}

static bool begin_renewal(struct wice_peer *peer)
{
	struct peer_agent *relay = &peer->ice[PEER_AGENT_RELAY], *pa = &peer->renew;
	g_autofree char *ufrag = NULL, *pwd = NULL;
	bool ok;

	if (!peer_ice_local_credentials(peer, &ufrag, &pwd))
		return false;
	peer->relay_generation++;
	pa->gathering_done = pa->failed = false;
	pa->n_local = pa->n_remote = 0;
	ok = peer_agent_configure(pa, peer->local_addrs, ufrag, pwd);
	explicit_bzero(pwd, strlen(pwd));
	if (!ok)
		return false;
	g_signal_connect(pa->agent, "new-candidate-full", G_CALLBACK(on_renew_candidate), pa);
	g_signal_connect(pa->agent, "candidate-gathering-done", G_CALLBACK(on_renew_gathering_done), pa);
	g_signal_connect(pa->agent, "component-state-changed", G_CALLBACK(on_renew_state), pa);
	g_signal_connect(pa->agent, "new-selected-pair-full", G_CALLBACK(on_renew_pair), pa);
	nice_agent_attach_recv(pa->agent, pa->stream, 1, g_main_context_get_thread_default(), on_renew_receive, pa);
	give_remote_side(peer, relay, pa);
	return nice_agent_gather_candidates(pa->agent, pa->stream);
}

/* Starts a renewal; one that has no pair when this fires again is
 * dropped and made again. */
static gboolean on_renew_timer(gpointer data)
{
	struct wice_peer *peer = data;
	const struct peer_agent *relay = &peer->ice[PEER_AGENT_RELAY];

	g_clear_pointer(&peer->renew_timer, g_source_unref);
	drop_renewal(peer);
	if (!relay->agent || relay->failed)
		return G_SOURCE_REMOVE; /* nothing to renew; a restart makes a new agent */
	g_debug("%s/%s: renewing the relay agent's TURN credentials", peer->iface->name, peer->name);
	if (!begin_renewal(peer))
		drop_renewal(peer);
	schedule(peer, retry_ms(peer), on_renew_timer);
	return G_SOURCE_REMOVE;
}

void peer_renew_start(struct wice_peer *peer)
{
	unsigned lifetime = turn_credentials_lifetime(iface_settings(peer->iface));

	peer->relay_generation = 0;
	if (!lifetime || !peer->ice[PEER_AGENT_RELAY].agent)
		return;
	schedule(peer, 1000 * (lifetime - margin_s(lifetime)), on_renew_timer);
}

/* --- the hand-over ---------------------------------------------------------------- */

static gboolean on_retired(gpointer data)
{
	struct retiring_agent *r = data;

	g_clear_pointer(&r->timer, g_source_unref);
	r->peer->retiring = g_slist_remove(r->peer->retiring, r);
	close_agent(r->agent, r->stream);
	g_free(r);
	return G_SOURCE_REMOVE;
}

static void on_retiring_receive(NiceAgent *agent, guint stream, guint component, guint len, gchar *buf,
				gpointer data)
{
	struct retiring_agent *r = data;

	peer_path_deliver(r->peer, NULL, (const uint8_t *)buf, len);
}

/* Our candidates of the agent going away: the peer need not check them
 * again if it starts over. */
void peer_forget_relay_candidates(struct wice_peer *peer, NiceAgent *agent, guint stream)
{
	GSList *list = nice_agent_get_local_candidates(agent, stream, 1);
	size_t kept = 0;

	for (size_t i = 0; i < peer->n_local; i++) {
		bool gone = false;

		for (GSList *l = list; l && !gone; l = l->next)
			gone = peer->local[i]->type == NICE_CANDIDATE_TYPE_RELAYED &&
			       nice_address_equal(&peer->local[i]->addr, &((NiceCandidate *)l->data)->addr);
		if (gone)
			nice_candidate_free(peer->local[i]);
		else
			peer->local[kept++] = peer->local[i];
	}
	peer->n_local = kept;
	g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
}

/* The old relay agent keeps receiving a while, then goes. */
static void retire(struct wice_peer *peer, struct peer_agent *relay)
{
	struct retiring_agent *r = g_new0(struct retiring_agent, 1);

	r->peer = peer;
	r->stream = relay->stream;
	r->agent = g_steal_pointer(&relay->agent);
	g_signal_handlers_disconnect_by_data(r->agent, relay);
	source_clear(&relay->drop_timer);
	nice_agent_attach_recv(r->agent, r->stream, 1, g_main_context_get_thread_default(), on_retiring_receive, r);
	peer_forget_relay_candidates(peer, r->agent, r->stream);
	r->timer = source_timeout(RETIRE_MS, on_retired, r);
	peer->retiring = g_slist_prepend(peer->retiring, r);
	g_clear_pointer(&relay->selected_local, nice_candidate_free);
	g_clear_pointer(&relay->selected_remote, nice_candidate_free);
}

static void take_over(struct peer_agent *relay, struct peer_agent *pa)
{
	g_signal_handlers_disconnect_by_data(pa->agent, pa);
	nice_agent_attach_recv(pa->agent, pa->stream, 1, g_main_context_get_thread_default(), NULL, NULL);
	source_clear(&relay->drop_timer);
	relay->agent = g_steal_pointer(&pa->agent);
	relay->stream = pa->stream;
	relay->gathering_done = pa->gathering_done;
	relay->failed = false;
	relay->n_local = pa->n_local;
	relay->n_remote = pa->n_remote;
	relay->selected_local = g_steal_pointer(&pa->selected_local);
	relay->selected_remote = g_steal_pointer(&pa->selected_remote);
	pa->stream = 0;
	peer_agent_attach(relay);
}

static gboolean on_renew_selected(gpointer data)
{
	struct wice_peer *peer = data;
	struct peer_agent *relay = &peer->ice[PEER_AGENT_RELAY];
	bool carried = peer->path_agent == relay || !peer->path_agent;
	unsigned lifetime = turn_credentials_lifetime(iface_settings(peer->iface));
	char addr[NICE_ADDRESS_STRING_LEN] = "";

	g_clear_pointer(&peer->renew_timer, g_source_unref);
	if (relay->agent)
		retire(peer, relay);
	take_over(relay, &peer->renew);
	nice_address_to_string(&relay->selected_local->addr, addr);
	g_info("%s/%s: relay renewed: new allocation %s:%u, TURN credentials for %u s", peer->iface->name, peer->name,
	       addr, nice_address_get_port(&relay->selected_local->addr), lifetime);
	if (carried) {
		/* the user proxy moves to the new agent, its socket stays */
		if (peer->user_proxy_agent == relay)
			peer->user_proxy_agent = NULL;
		peer_path_on_selected_pair(relay);
	}
	schedule(peer, 1000 * (lifetime - margin_s(lifetime)), on_renew_timer);
	return G_SOURCE_REMOVE;
}

/* --- the session's changes --------------------------------------------------------- */

void peer_renew_add_remote_candidate(struct wice_peer *peer, const NiceCandidate *c)
{
	struct peer_agent *pa = &peer->renew;
	NiceCandidate *copy;
	GSList one = { 0 };

	if (!pa->agent)
		return;
	copy = nice_candidate_copy(c);
	copy->stream_id = pa->stream;
	one.data = copy;
	nice_agent_set_remote_candidates(pa->agent, pa->stream, 1, &one);
	pa->n_remote++;
	nice_candidate_free(copy);
}

void peer_renew_remote_gathering_done(struct wice_peer *peer)
{
	if (peer->renew.agent)
		nice_agent_peer_candidate_gathering_done(peer->renew.agent, peer->renew.stream);
}

void peer_renew_stop(struct wice_peer *peer)
{
	source_clear(&peer->renew_timer);
	drop_renewal(peer);
	while (peer->retiring) {
		struct retiring_agent *r = peer->retiring->data;

		source_clear(&r->timer);
		on_retired(r);
	}
}

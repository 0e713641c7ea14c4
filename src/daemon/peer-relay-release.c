/* The relay agent's TURN allocation released once a direct pair carries
 * WireGuard.
 *
 * Every session gathers a relay candidate beside the direct ones
 * (peer-ice.c), so that a relay path is up as fast as a direct one where
 * no direct pair works.  Where one does, the allocation is dead weight:
 * in a mesh of 50 behind NATs that is 49 allocations per daemon, 2,450 on
 * one TURN server, each refreshed every few minutes, with its permissions
 * and channels, for pairs that never carry a packet over it.
 *
 * So once the direct agent's pair has carried WireGuard for
 * RELEASE_SETTLE_MS and the peer has sent nothing over the relay for as
 * long (its own direct pair carries its traffic too), the relay agent is
 * closed, which deletes the allocation on the server (a Refresh with
 * lifetime 0, tests/lab/turn-release.test).  The peer does the same on
 * its side; its relay pair with us, if any, is not used.
 *
 * Not waiting for the direct component to be READY: it stays CONNECTED
 * until every other direct check ends, and those to the peer's private
 * addresses time out only after ~12 s (5 retransmissions, peer-ice.c),
 * which would hold the allocation that long in nearly every session.
 * What they might still find is another direct pair of the same agent;
 * nothing moves WireGuard back to the relay agent but a failure.
 *
 * Not nice_agent_forget_relays(): in libnice 0.1.21 it drops the TURN
 * servers and the relayed local candidates that are not selected, but
 * keeps the selected one alive (refreshed) for an ICE restart, and our
 * relay agent has usually selected its relay pair by then.
 *
 * A later loss of the direct path finds no relay pair in this session:
 * the peer restarts (WireGuard unanswered, or the direct agent failing
 * under consent freshness), and every new session gathers a relay
 * candidate again (tests/lab/direct-to-relay.test). */
#include "config.h"

#include "peer-internal.h"
#include "util/source-util.h"

/* Both sides select a direct pair within a round trip of each other
 * (aggressive nomination); this leaves room for a busy daemon. */
#define RELEASE_SETTLE_MS 3000

/* The direct agent's pair carries WireGuard for good: nothing will
 * switch back to the relay agent in this session but a failure. */
static bool direct_settled(const struct wice_peer *peer)
{
	const struct peer_agent *direct = &peer->ice[PEER_AGENT_DIRECT];

	return peer->state == PEER_CONNECTED && !peer_restart_pending(peer) && peer->path_agent == direct &&
	       direct->agent && !direct->failed && direct->selected_local &&
	       !peer_pair_relayed(direct->selected_local, direct->selected_remote);
}

static bool relay_quiet(const struct wice_peer *peer)
{
	return g_get_monotonic_time() - peer->relay_rx_us >= RELEASE_SETTLE_MS * G_TIME_SPAN_MILLISECOND;
}

static void release(struct wice_peer *peer)
{
	struct peer_agent *relay = &peer->ice[PEER_AGENT_RELAY];

	g_info("%s/%s: direct pair settled; releasing the TURN allocation", peer->iface->name, peer->name);
	peer_renew_stop(peer); /* a renewal would allocate again */
	peer_forget_relay_candidates(peer, relay->agent, relay->stream);
	peer_agent_destroy(relay);
	peer->relay_released = true;
}

static gboolean on_release(gpointer data)
{
	struct wice_peer *peer = data;
	const struct peer_agent *relay = &peer->ice[PEER_AGENT_RELAY];

	g_clear_pointer(&peer->relay_release_timer, g_source_unref);
	if (!relay->agent || !direct_settled(peer))
		return G_SOURCE_REMOVE; /* the next direct pair schedules it again */
	if (!relay_quiet(peer)) {
		peer->relay_release_timer = source_timeout(RELEASE_SETTLE_MS, on_release, peer);
		return G_SOURCE_REMOVE;
	}
	release(peer);
	return G_SOURCE_REMOVE;
}

void peer_relay_release_schedule(struct wice_peer *peer)
{
	if (!peer->ice[PEER_AGENT_RELAY].agent || peer->relay_release_timer)
		return;
	peer->relay_release_timer = source_timeout(RELEASE_SETTLE_MS, on_release, peer);
}

void peer_relay_release_cancel(struct wice_peer *peer)
{
	source_clear(&peer->relay_release_timer);
}

void peer_relay_release_note_rx(struct wice_peer *peer)
{
	peer->relay_rx_us = g_get_monotonic_time();
}

/* An allocation is held by the relay agent once it has its candidate,
 * and by the agents still around for a moment after a switch (the old
 * session's, a renewal and the agents it replaced). */
const char *peer_relay_allocation(const struct wice_peer *peer)
{
	const struct peer_agent *relay = &peer->ice[PEER_AGENT_RELAY];

	if ((relay->agent && relay->n_local) || (peer->renew.agent && peer->renew.n_local) || peer->retiring ||
	    peer->old.agents[PEER_AGENT_RELAY])
		return "held";
	return peer->relay_released ? "released" : "none";
}

/* Make-before-break: a new path is in place before the old one goes.
 *
 * A restart of a connected peer (`wice restart`, the peer's own restart,
 * an attempt to leave a relay) builds a new session while the old
 * session's agents, and the data path on them (nftables elements or the
 * user proxy, WireGuard's endpoint), go on carrying WireGuard: the peer
 * stays connected, and `wice show` says a restart is pending.  The new
 * session's first pair takes over in place (peer-path.c); if it never
 * gets one (the signal server is down, its checks fail), the old path
 * stays, and the new session is retried with the usual backoff.  Before,
 * a restart while the signal server was down dropped a working tunnel
 * until the server came back.
 *
 * After any switch, the old path is kept PATH_RETIRE_MS more, delivering
 * to WireGuard what the peer still sends over it: the two sides switch a
 * round trip apart (more under load), and until the later one switches,
 * its packets come over the old path.  A user proxy keeps its socket (the
 * peer's packets through it make WireGuard roam back to it for that
 * moment, and its answers take the old path too), nftables elements keep
 * their rules under another name.  Without this, a relay-to-direct switch
 * lost the peer's packets of that round trip.
 *
 * A peer connected over a relay (controlling side only: the other side
 * follows its restart) looks for a direct pair again and again: a new
 * session UPGRADE_FIRST_MS after its direct agent gave up, doubling up to
 * UPGRADE_MAX_MS, for as long as it is relayed.  Each attempt costs a
 * TURN allocation per side and a round of signaling; a NAT that changed
 * (a router reconfigured, a port mapping that appeared) is found within
 * about UPGRADE_MAX_MS plus one round of checks (~15 s). */
#include "config.h"

#include <string.h>

#include "peer-internal.h"
#include "portmap.h"
#include "proxy/nft-proxy.h"
#include "proxy/user-proxy.h"
#include "util/backoff.h"
#include "util/source-util.h"

#define PATH_RETIRE_MS 5000
#define UPGRADE_FIRST_MS 5000
#define UPGRADE_MAX_MS 30000

static struct nft_proxy *peer_nft(const struct wice_peer *peer)
{
	const struct iface_host *host = &peer->iface->host;

	return host->ops->nft(host->data);
}

bool peer_restart_pending(const struct wice_peer *peer)
{
	return peer->old.carrying;
}

static void drop_old_nft(struct wice_peer *peer)
{
	g_autoptr(GError) error = NULL;

	if (!*peer->old.nft_handle || !peer_nft(peer))
		return;
	if (!nft_proxy_remove_peer(peer_nft(peer), peer->old.nft_handle, &error))
		g_warning("%s/%s: cannot remove nftables rules %s: %s", peer->iface->name, peer->name,
			  peer->old.nft_handle, error->message);
	*peer->old.nft_handle = '\0';
}

void peer_handover_drop(struct wice_peer *peer)
{
	struct peer_old_path *old = &peer->old;

	source_clear(&old->retire_timer);
	source_clear(&old->lost_timer);
	old->carrying = false;
	g_clear_pointer(&old->user_proxy, user_proxy_free);
	drop_old_nft(peer);
	for (size_t i = 0; i < PEER_N_AGENTS; i++) {
		if (!old->agents[i])
			continue;
		nice_agent_attach_recv(old->agents[i], old->streams[i], 1, g_main_context_get_thread_default(), NULL,
				       NULL);
		g_signal_handlers_disconnect_by_data(old->agents[i], peer);
		nice_agent_close_async(old->agents[i], NULL, NULL);
		g_clear_object(&old->agents[i]);
	}
	g_clear_pointer(&old->portmap, portmap_remove);
}

static gboolean on_retire(gpointer data)
{
	struct wice_peer *peer = data;

	bool had_path = peer->old.user_proxy || *peer->old.nft_handle;

	g_clear_pointer(&peer->old.retire_timer, g_source_unref);
	g_debug("%s/%s: old path dropped", peer->iface->name, peer->name);
	peer_handover_drop(peer);
	/* What came over the old path made WireGuard roam back to it: to the
	 * old user proxy's socket, or to the old pair's remote candidate,
	 * which the old nftables elements rewrote.  Those are gone now: point
	 * WireGuard at the current path again, or it sends into nothing until
	 * the peer happens to send first, and when both sides roamed, neither
	 * does (seen in a 50-node LAN mesh: a pair switched IPv4 -> IPv6
	 * within 20 ms of connecting, both WireGuards roamed back to the IPv4
	 * pair's ports, and the tunnel was dead until "WireGuard unanswered"
	 * restarted ICE 15 s later). */
	if (had_path)
		peer_wg_reassert_endpoint(peer);
	return G_SOURCE_REMOVE;
}

static void retire_soon(struct wice_peer *peer)
{
	source_clear(&peer->old.retire_timer);
	peer->old.retire_timer = source_timeout(PATH_RETIRE_MS, on_retire, peer);
}

/* The old path's agents failed (consent lost): while it still carries
 * WireGuard, the peer has no path until the new session finds one.  From
 * the loop, not from libnice's signal; the agent must go at once (see
 * on_drop_agent in peer-ice.c). */
static gboolean on_old_lost(gpointer data)
{
	struct wice_peer *peer = data;
	bool carrying = peer->old.carrying;

	g_clear_pointer(&peer->old.lost_timer, g_source_unref);
	g_info("%s/%s: the old path failed", peer->iface->name, peer->name);
	peer_handover_drop(peer);
	if (!carrying)
		return G_SOURCE_REMOVE;
	peer_path_release(peer);
	if (peer->restart_timer) /* the new session failed: its retry now breaks */
		peer_set_state(peer, PEER_FAILED, "old path lost");
	else if (peer_ice_active(peer))
		peer_set_state(peer, peer->have_remote_credentials ? PEER_CONNECTING : PEER_GATHERING,
			       "old path lost");
	else
		peer_schedule_restart(peer, "old path lost");
	return G_SOURCE_REMOVE;
}

static void on_old_component_state(NiceAgent *agent, guint stream, guint component, guint state, gpointer data)
{
	struct wice_peer *peer = data;

	if (state == NICE_COMPONENT_STATE_FAILED && !peer->old.lost_timer)
		peer->old.lost_timer = source_timeout(0, on_old_lost, peer);
}

/* What arrives over the old path goes to WireGuard through a user proxy,
 * the current one or the old one; with nftables it came through the
 * kernel, and an agent gets nothing but STUN. */
bool peer_handover_deliver(struct wice_peer *peer, const uint8_t *buf, size_t len)
{
	if (peer->proxy == PEER_PROXY_USER && peer->user_proxy)
		user_proxy_deliver(peer->user_proxy, buf, len);
	else if (peer->old.user_proxy)
		user_proxy_deliver(peer->old.user_proxy, buf, len);
	else
		return false;
	return true;
}

static void on_old_receive(NiceAgent *agent, guint stream, guint component, guint len, gchar *buf, gpointer data)
{
	peer_handover_deliver(data, (const uint8_t *)buf, len);
}

static void keep_agent(struct wice_peer *peer, struct peer_agent *pa)
{
	struct peer_old_path *old = &peer->old;

	source_clear(&pa->drop_timer);
	g_signal_handlers_disconnect_by_data(pa->agent, pa);
	old->agents[pa->kind] = g_steal_pointer(&pa->agent);
	old->streams[pa->kind] = pa->stream;
	pa->stream = 0;
	g_clear_pointer(&pa->selected_local, nice_candidate_free);
	g_clear_pointer(&pa->selected_remote, nice_candidate_free);
	g_signal_connect(old->agents[pa->kind], "component-state-changed", G_CALLBACK(on_old_component_state), peer);
	nice_agent_attach_recv(old->agents[pa->kind], old->streams[pa->kind], 1, g_main_context_get_thread_default(),
			       on_old_receive, peer);
}

/* peer_rebuild() of a connected peer: the current session's agents and
 * the path on them become the old path, and go on carrying WireGuard.
 * When a restart is pending already, the old path stays and the agents
 * of the session that was to replace it go. */
void peer_handover_keep(struct wice_peer *peer)
{
	if (peer->path_agent) {
		peer_handover_drop(peer); /* what an earlier switch left */
		for (size_t i = 0; i < PEER_N_AGENTS; i++)
			if (peer->ice[i].agent && !peer->ice[i].failed)
				keep_agent(peer, &peer->ice[i]);
		peer->old.portmap = g_steal_pointer(&peer->portmap);
		peer->path_agent = NULL;
		peer->user_proxy_agent = NULL;
		peer->old.carrying = true;
		/* its first handshake is long done */
		peer->lost_initiation = false;
	}
	source_clear(&peer->relay_grace);
	peer_ice_destroy(peer);
}

/* A pair of the current session carries WireGuard now. */
void peer_handover_took_over(struct wice_peer *peer)
{
	if (peer->old.carrying) {
		g_info("%s/%s: the new session took over", peer->iface->name, peer->name);
		peer->old.carrying = false;
	}
	if (peer->old.agents[0] || peer->old.agents[1] || peer->old.user_proxy || *peer->old.nft_handle ||
	    peer->old.portmap)
		retire_soon(peer);
}

/* The current path leaves the user proxy: it goes on delivering for a
 * while. */
void peer_handover_keep_user_proxy(struct wice_peer *peer)
{
	g_clear_pointer(&peer->old.user_proxy, user_proxy_free);
	peer->old.user_proxy = g_steal_pointer(&peer->user_proxy);
	peer->user_proxy_agent = NULL;
}

/* The current nftables elements (@handle) are about to be replaced: they
 * stay under another name for a while. */
void peer_handover_keep_nft(struct wice_peer *peer, const char *handle)
{
	drop_old_nft(peer);
	if (!peer_nft(peer))
		return;
	g_snprintf(peer->old.nft_handle, sizeof(peer->old.nft_handle), "%s_old", handle);
	if (!nft_proxy_rename_peer(peer_nft(peer), handle, peer->old.nft_handle))
		*peer->old.nft_handle = '\0';
}

/* The new elements have the old ones' flow (a clash): the old go now. */
void peer_handover_drop_nft(struct wice_peer *peer)
{
	drop_old_nft(peer);
}

static bool wants_upgrade(const struct wice_peer *peer)
{
	const struct peer_agent *direct = &peer->ice[PEER_AGENT_DIRECT];
	const char *reached = peer_reached(peer);

	return peer->controlling && !peer->old.carrying && !peer->restart_timer && reached &&
	       !strcmp(reached, "relay") && direct->wanted && (!direct->agent || direct->failed);
}

/* Called with every sync of the device (once a second). */
void peer_handover_consider_upgrade(struct wice_peer *peer)
{
	gint64 now = g_get_monotonic_time();

	if (peer_reached(peer) && !strcmp(peer_reached(peer), "direct"))
		peer->upgrades = 0;
	if (!wants_upgrade(peer)) {
		peer->upgrade_due_us = 0;
		return;
	}
	if (!peer->upgrade_due_us) {
		peer->upgrade_due_us =
			now + (gint64)backoff_delay_ms(UPGRADE_FIRST_MS, UPGRADE_MAX_MS, peer->upgrades) * 1000;
		return;
	}
	if (now < peer->upgrade_due_us)
		return;
	peer->upgrade_due_us = 0;
	peer->upgrades++;
	peer_try_upgrade(peer);
}

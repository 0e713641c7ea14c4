/* The peer's data path: once ICE selects a pair, make WireGuard's packets
 * for this peer flow over it.
 *
 * Of the session's two agents (peer-ice.c), the direct agent's pair is
 * taken whenever it has one; the relay agent's carries WireGuard until
 * then, and again if the direct pair fails (consent lost).  So a relay
 * path is up as soon as the relay agent finds it, and the tunnel moves to
 * a direct pair when there is one, without waiting for either to fail.
 *
 * Host, server- and peer-reflexive pairs use the nftables fast path when
 * nftables works here (WireGuard's endpoint is the remote candidate and
 * the kernel rewrites ports); relay pairs, and every pair when the proxy
 * mode is "user", go through the in-process proxy (WireGuard's endpoint is
 * a loopback socket of ours).  A relay pair of ours then moves to the
 * eBPF relay path where it loads (peer-bpf.c).  A new pair replaces the path in place: the
 * new path is set up before WireGuard is pointed at it. */
#include "config.h"

#include <string.h>

#include "util/source-util.h"
#include "proxy/nft-proxy.h"
#include "peer-diag.h"
#include "portmap.h"
#include "peer-internal.h"
#include "proxy/user-proxy.h"
#include "wg/wg.h"

/* How long after a path change packets on the old path are not a sign
 * that the two sides disagree on the pair. */
#define PATH_SETTLE_MS 1000
/* A relay pair selected while the direct agent still checks waits this
 * long for a direct one.  Behind port-preserving NATs both agents
 * selected within ~2-13 ms of each other in the lab, and taking the relay
 * pair at once lost the first handshake in 7 of 30 runs (the two sides
 * switched paths a few ms apart, mid-handshake): the first ping came
 * after ~300 ms (the next kicks) instead of ~40 ms.  With 50 ms none did.
 * When both NATs move ports (each side's server-reflexive port differs
 * from its base), no direct pair is coming soon, and the relay pair is
 * taken at once (connect median 90 -> 47 ms with both NATs symmetric). */
#define RELAY_GRACE_MS 50

static void kick_after_lost_initiation(struct wice_peer *peer);

static void record_pair(struct peer_pair_info *info, const NiceCandidate *local, const NiceCandidate *remote)
{
	info->valid = true;
	info->local_type = local->type;
	info->remote_type = remote->type;
	nice_address_to_string(&local->addr, info->local_addr);
	nice_address_to_string(&remote->addr, info->remote_addr);
	info->local_port = (uint16_t)nice_address_get_port(&local->addr);
	info->remote_port = (uint16_t)nice_address_get_port(&remote->addr);
}

static struct nft_proxy *peer_nft(const struct wice_peer *peer)
{
	const struct iface_host *host = &peer->iface->host;

	return host->ops->nft(host->data);
}

static enum peer_proxy_kind choose_proxy(struct wice_peer *peer, const NiceCandidate *local,
					 const NiceCandidate *remote)
{
	if (peer_pair_relayed(local, remote))
		return PEER_PROXY_USER;
	if (iface_settings(peer->iface)->proxy_mode == WICE_PROXY_USER || !peer_nft(peer))
		return PEER_PROXY_USER;
	return PEER_PROXY_NFT;
}

/* The name of the peer's nftables elements: the interface's index tells
 * the same key on two interfaces apart.  Named once, when the first rules
 * go in, and kept: an interface deleted and created again has another
 * index, and a name made afresh at removal would miss the old elements,
 * which would go on rewriting ports until the daemon exits. */
static const char *nft_handle(struct wice_peer *peer)
{
	const uint8_t *k = peer->public_key;

	if (!*peer->nft_handle)
		g_snprintf(peer->nft_handle, sizeof(peer->nft_handle), "p%u_%02x%02x%02x%02x%02x%02x",
			   if_nametoindex(peer->iface->name), k[0], k[1], k[2], k[3], k[4], k[5]);
	return peer->nft_handle;
}

static bool set_nft(struct wice_peer *peer, const char *handle, const NiceCandidate *local,
		    GSocketAddress *sa, GError **error)
{
	return nft_proxy_set_peer(peer_nft(peer), handle, peer->iface->listen_port,
				  (uint16_t)nice_address_get_port(&local->base_addr), G_INET_SOCKET_ADDRESS(sa), error);
}

/* A path on nftables replacing one on nftables: the old elements stay
 * beside the new ones for a while, under another name, unless the two
 * have the same flow. */
static bool use_nft(struct wice_peer *peer, const NiceCandidate *local, const NiceCandidate *remote)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GSocketAddress) sa = NULL;
	const char *handle = nft_handle(peer);
	union wg_sockaddr ep = { 0 };
	bool ok;

	nice_address_copy_to_sockaddr(&remote->addr, &ep.sa);
	sa = g_socket_address_new_from_native(&ep, wg_sockaddr_len(&ep));
	if (peer->proxy == PEER_PROXY_NFT)
		peer_handover_keep_nft(peer, handle);
	ok = set_nft(peer, handle, local, sa, &error);
	if (!ok && *peer->old.nft_handle && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_EXISTS)) {
		g_clear_error(&error);
		peer_handover_drop_nft(peer);
		ok = set_nft(peer, handle, local, sa, &error);
	}
	if (!ok) {
		g_warning("%s/%s: nftables: %s; using the user proxy", peer->iface->name, peer->name, error->message);
		return false;
	}
	peer_wg_set_endpoint(peer, &ep);
	return true;
}

/* The user proxy over @pa's pair: the other agent's proxy, if there is
 * one, moves to @pa in place (WireGuard's endpoint stays). */
static bool use_user_proxy(struct wice_peer *peer, struct peer_agent *pa)
{
	g_autoptr(GError) error = NULL;
	union wg_sockaddr ep;

	if (peer->user_proxy && peer->user_proxy_agent != pa)
		user_proxy_set_agent(peer->user_proxy, pa->agent, pa->stream, 1);
	if (!peer->user_proxy) {
		peer->user_proxy = user_proxy_new(pa->agent, pa->stream, 1, peer->iface->listen_port, &error);
		if (!peer->user_proxy) {
			g_warning("%s/%s: user proxy: %s", peer->iface->name, peer->name, error->message);
			return false;
		}
	}
	peer->user_proxy_agent = pa;
	user_proxy_get_endpoint(peer->user_proxy, &ep);
	peer_wg_set_endpoint(peer, &ep);
	return true;
}

static void drop_nft_rules(struct wice_peer *peer)
{
	g_autoptr(GError) error = NULL;

	if (!*peer->nft_handle || !peer_nft(peer))
		return;
	if (!nft_proxy_remove_peer(peer_nft(peer), peer->nft_handle, &error))
		g_warning("%s/%s: cannot remove nftables rules %s: %s", peer->iface->name, peer->name,
			  peer->nft_handle, error->message);
	*peer->nft_handle = '\0';
}

static void emit_selected_pair(struct wice_peer *peer)
{
	const struct peer_pair_info *p = &peer->selected;
	struct wice_event ev = {
		.type = WICE_EVENT_SELECTED_PAIR,
		.local = { peer_candidate_type_name(p->local_type), p->local_addr, p->local_port },
		.remote = { peer_candidate_type_name(p->remote_type), p->remote_addr, p->remote_port },
		.proxy = peer_proxy_name(peer->proxy),
	};

	peer_emit(peer, &ev);
}

/* The new path (@kind) is in place and WireGuard points at it: make it
 * the peer's, tell the monitors, and let the old one (@old) go; what the
 * peer still sends over it reaches WireGuard for a while
 * (peer-handover.c). */
static void switch_path(struct wice_peer *peer, enum peer_proxy_kind old, enum peer_proxy_kind kind)
{
	peer->proxy = kind;
	peer->path_since_us = g_get_monotonic_time();
	kick_after_lost_initiation(peer);
	emit_selected_pair(peer);
	if (old == PEER_PROXY_NFT && kind != PEER_PROXY_NFT)
		drop_nft_rules(peer);
	if ((old == PEER_PROXY_USER || old == PEER_PROXY_BPF) && kind != PEER_PROXY_USER)
		peer_handover_keep_user_proxy(peer);
	peer_handover_took_over(peer);
}

/* Moves WireGuard to @pa's selected pair. */
static bool use_pair(struct wice_peer *peer, struct peer_agent *pa)
{
	NiceCandidate *local = pa->selected_local, *remote = pa->selected_remote;
	enum peer_proxy_kind kind = choose_proxy(peer, local, remote);
	enum peer_proxy_kind old = peer->proxy;
	bool ok;

	peer_bpf_stop(peer);
	record_pair(&peer->selected, local, remote);
	peer_advertise_note_pair(peer, &peer->selected, local, remote);
	ok = kind == PEER_PROXY_NFT ? use_nft(peer, local, remote) : false;
	if (!ok) {
		kind = PEER_PROXY_USER;
		ok = use_user_proxy(peer, pa);
	}
	if (!ok)
		return false;
	peer->path_agent = pa;
	peer->kicked_for_lost = false;
	switch_path(peer, old, kind);
	if (pa->kind == PEER_AGENT_DIRECT)
		peer_relay_release_schedule(peer);
	if (kind == PEER_PROXY_USER)
		peer_bpf_start(peer, local, remote);
	return true;
}

void peer_path_bpf_ready(struct wice_peer *peer)
{
	peer->proxy = PEER_PROXY_BPF;
	emit_selected_pair(peer);
}

static bool direct_still_checking(const struct wice_peer *peer)
{
	const struct peer_agent *direct = &peer->ice[PEER_AGENT_DIRECT];

	return direct->agent && !direct->failed && !direct->selected_local;
}

/* Both sides' NATs gave their server-reflexive candidates other ports
 * than their bases (symmetric, or at least port-changing NATs), and no
 * router maps a port for us: hole punching has little to go on. */
static bool both_nats_move_ports(const struct wice_peer *peer)
{
	const struct peer_agent *direct = &peer->ice[PEER_AGENT_DIRECT];
	struct peer_nat_evidence ours, theirs;
	struct sockaddr_in mapped;

	if (!direct->agent || (peer->portmap && portmap_mapping_external(peer->portmap, &mapped)))
		return false;
	peer_diag_agent_evidence(direct, &ours, &theirs);
	return ours.port_preserved == 0 && theirs.port_preserved == 0;
}

static gboolean on_relay_grace(gpointer data)
{
	struct wice_peer *peer = data;
	struct peer_agent *relay = &peer->ice[PEER_AGENT_RELAY];

	g_clear_pointer(&peer->relay_grace, g_source_unref);
	peer->relay_grace_over = true;
	if (!peer->path_agent && relay->agent && !relay->failed && relay->selected_local)
		peer_path_on_selected_pair(relay);
	return G_SOURCE_REMOVE;
}

void peer_path_on_selected_pair(struct peer_agent *pa)
{
	struct wice_peer *peer = pa->peer;
	struct peer_agent *carrier = peer->path_agent;

	if (pa->kind == PEER_AGENT_RELAY) {
		if (carrier && carrier != pa) {
			g_debug("%s/%s: relay pair selected; staying on the direct pair", peer->iface->name,
				peer->name);
			return;
		}
		if (!carrier && !peer->relay_grace_over && direct_still_checking(peer) &&
		    !both_nats_move_ports(peer)) {
			if (!peer->relay_grace)
				peer->relay_grace = source_timeout(RELAY_GRACE_MS, on_relay_grace, peer);
			return;
		}
	}
	source_clear(&peer->relay_grace);
	if (!use_pair(peer, pa)) {
		peer_schedule_restart(peer, "cannot set up the data path");
		return;
	}
	peer_on_connected(peer);
}

bool peer_path_on_agent_lost(struct peer_agent *pa)
{
	struct wice_peer *peer = pa->peer;
	struct peer_agent *other = &peer->ice[pa->kind == PEER_AGENT_DIRECT ? PEER_AGENT_RELAY : PEER_AGENT_DIRECT];

	/* another agent's pair, or the old path (a restart pending) */
	if (peer->path_agent != pa && peer->proxy != PEER_PROXY_NONE)
		return true;
	if (other->agent && !other->failed && other->selected_local && use_pair(peer, other)) {
		if (peer->state == PEER_CONNECTED)
			g_message("%s/%s: %s pair lost, back on the %s pair", peer->iface->name, peer->name,
				  pa->kind == PEER_AGENT_DIRECT ? "direct" : "relay",
				  other->kind == PEER_AGENT_DIRECT ? "direct" : "relay");
		source_clear(&peer->relay_grace);
		peer_on_connected(peer);
		return true;
	}
	if (peer->path_agent)
		peer_path_release(peer);
	return false;
}

/* A WireGuard message: type 1-4 and three reserved zero bytes. */
static bool is_wg_message(const uint8_t *buf, size_t len)
{
	return len >= 32 && buf[0] >= 1 && buf[0] <= 4 && buf[1] == 0 && buf[2] == 0 && buf[3] == 0;
}

/* Type 1, 148 bytes. */
static bool is_wg_initiation(const uint8_t *buf, size_t len)
{
	return len == 148 && buf[0] == 1 && is_wg_message(buf, len);
}

/* The controlled side's answer to a lost first handshake.  The
 * controlling side kicks WireGuard as soon as its pair is selected, which
 * is when our answer to its nominating check arrives; we select the same
 * pair on that check but set up our path (nftables rules, or the user
 * proxy for a relay pair) only after answering, so its initiation often
 * overtakes them and lands in the agent with nowhere to go.  Instead
 * of leaving it to the other side's retry timer, handshake from here once
 * our path is in place.  Both sides initiating at once would stall
 * (see peer_wg_set_endpoint), but the other side's retry looks for a handshake
 * first and finds ours. */
static void kick_after_lost_initiation(struct wice_peer *peer)
{
	if (peer->controlling || !peer->lost_initiation || peer->kicked_for_lost || peer->proxy == PEER_PROXY_NONE)
		return;
	peer->kicked_for_lost = true;
	g_debug("%s/%s: first handshake reached the agent, handshaking from here", peer->iface->name, peer->name);
	peer_wg_kick_unless_handshook(peer);
}

/* WireGuard packets from the peer that reach the agent while our
 * nftables path is up did not match its rules: the peer sends over
 * another pair than the one we selected.  With aggressive nomination the
 * two sides almost always agree, but in a busy mesh one side was seen to
 * move on to a later, better pair that the other never selected, and
 * each side's rules then pointed at ports the other no longer used.  The
 * user proxy takes packets from any pair the agent has verified, so
 * moving this peer to it mends the path without another round of ICE. */
static void fall_back_to_user_proxy(struct wice_peer *peer)
{
	g_message("%s/%s: the peer sends over another pair than ours; moving it to the user proxy", peer->iface->name,
		  peer->name);
	if (!use_user_proxy(peer, peer->path_agent)) {
		peer_schedule_restart(peer, "cannot set up the data path");
		return;
	}
	switch_path(peer, PEER_PROXY_NFT, PEER_PROXY_USER);
}

/* The controlling side selects a pair when our answer to its nominating
 * check arrives, and handshakes over it at once; we select the same pair
 * on that check, a moment later.  When our relay pair got there first
 * (it carries WireGuard while the direct agent checks), that handshake
 * comes in on the direct agent: handed to WireGuard over the relay path,
 * its answer went back over the relay pair, which the other side no
 * longer listens to, and the tunnel waited for the other side's next
 * kick (~250 ms; 7 of 30 runs behind port-preserving NATs without the
 * relay grace).  Instead, take it as a lost first initiation: our direct
 * pair is selected in a moment, and we handshake over it from here
 * (kick_after_lost_initiation).  Once only, so that a direct pair we
 * never select cannot keep the handshake from going through. */
static bool initiation_ahead(const struct peer_agent *pa, const uint8_t *buf, size_t len)
{
	struct wice_peer *peer = pa->peer;

	if (peer->controlling || pa->kind != PEER_AGENT_DIRECT || pa->selected_local || pa->failed ||
	    !peer->path_agent || peer->path_agent->kind != PEER_AGENT_RELAY || peer->lost_initiation ||
	    peer->kicked_for_lost || !is_wg_initiation(buf, len))
		return false;
	g_debug("%s/%s: first handshake came over a direct pair we have yet to select; answering over it",
		peer->iface->name, peer->name);
	peer->lost_initiation = true;
	return true;
}

void peer_path_deliver(struct wice_peer *peer, const struct peer_agent *from, const uint8_t *buf, size_t len)
{
	if (from && initiation_ahead(from, buf, len))
		return;
	if (peer->user_proxy && (peer->proxy == PEER_PROXY_USER || peer->proxy == PEER_PROXY_BPF)) {
		user_proxy_deliver(peer->user_proxy, buf, len);
		return;
	}
	if (!is_wg_message(buf, len))
		return;
	/* The peer has not switched to the new path yet (ours switched a
	 * moment ago, or a restart is pending): the old user proxy takes
	 * it. */
	if (peer_handover_deliver(peer, buf, len))
		return;
	if (!peer->controlling && is_wg_initiation(buf, len) && !peer->kicked_for_lost) {
		peer->lost_initiation = true;
		kick_after_lost_initiation(peer);
		return;
	}
	/* Packets the peer sent before its own path switched are still on
	 * their way for a moment.  And only a pair of our path's agent tells
	 * that the peer settled on another pair: what comes over another
	 * agent (the relay's) is from a WireGuard that roamed back to an old
	 * path of the peer's, which its daemon points at the current one
	 * again when that path retires (peer-handover.c).  Taken as a sign
	 * of disagreement, it moved one side of a pair both had selected to
	 * the user proxy, and that pair carried nothing for 18 s (one of
	 * 1,225 in a mesh of 50 behind NATs). */
	if (peer->proxy == PEER_PROXY_NFT && peer->path_agent && from == peer->path_agent && !peer->old.retire_timer &&
	    g_get_monotonic_time() - peer->path_since_us > PATH_SETTLE_MS * G_TIME_SPAN_MILLISECOND)
		fall_back_to_user_proxy(peer);
}

void peer_path_release(struct wice_peer *peer)
{
	source_clear(&peer->relay_grace);
	peer_wg_stop_kick(peer);
	peer_bpf_stop(peer);
	if (peer->proxy == PEER_PROXY_NFT)
		drop_nft_rules(peer);
	g_clear_pointer(&peer->user_proxy, user_proxy_free);
	peer->user_proxy_agent = NULL;
	peer->path_agent = NULL;
	peer->proxy = PEER_PROXY_NONE;
	peer->selected.valid = false;
	peer->lost_initiation = false;
}

/* `wg set IF listen-port` moved WireGuard: the path follows, the pair and
 * WireGuard's endpoint stay, so no new round of ICE. */
void peer_path_set_wg_port(struct wice_peer *peer, uint16_t port)
{
	g_autoptr(GError) error = NULL;
	const char *handle = nft_handle(peer);

	if (peer->user_proxy)
		user_proxy_set_wg_port(peer->user_proxy, port);
	if (peer->old.user_proxy)
		user_proxy_set_wg_port(peer->old.user_proxy, port);
	if (peer->proxy == PEER_PROXY_BPF && peer->path_agent) {
		/* back to the user proxy, which follows the port */
		peer_bpf_stop(peer);
		if (use_user_proxy(peer, peer->path_agent))
			peer->proxy = PEER_PROXY_USER;
		return;
	}
	if (peer->proxy != PEER_PROXY_NFT || nft_proxy_set_peer_wg_port(peer_nft(peer), handle, port, &error))
		return;
	g_warning("%s/%s: nftables: %s; using the user proxy", peer->iface->name, peer->name, error->message);
	if (peer->path_agent && use_user_proxy(peer, peer->path_agent))
		switch_path(peer, PEER_PROXY_NFT, PEER_PROXY_USER);
	else
		peer_schedule_restart(peer, "cannot set up the data path");
}

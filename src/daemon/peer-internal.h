/* Functions shared by the files that make up a peer (peer.c, peer-ice.c,
 * peer-signal.c, peer-path.c); not for use elsewhere. */
#pragma once

#include "peer.h"

/* A pair with a relayed candidate on either side goes through a TURN
 * server. */
static inline bool peer_pair_relayed(const NiceCandidate *local, const NiceCandidate *remote)
{
	return local->type == NICE_CANDIDATE_TYPE_RELAYED || remote->type == NICE_CANDIDATE_TYPE_RELAYED;
}

/* peer.c */
/* Fills in the peer's interface and key and hands @ev to the host. */
void peer_emit(struct wice_peer *peer, struct wice_event *ev);
void peer_set_state(struct wice_peer *peer, enum peer_state state, const char *reason);
void peer_schedule_restart(struct wice_peer *peer, const char *reason);
void peer_on_connected(struct wice_peer *peer);
void peer_close(struct wice_peer *peer, const char *reason);
/* Drops the data path and the agent (its TURN allocations are released). */
void peer_teardown(struct wice_peer *peer);
/* Tears the agent down and builds a new one (peer.c says when).  With
 * @keep_path a connected peer's path stays until the new session's pair
 * takes over (peer-handover.c). */
void peer_rebuild(struct wice_peer *peer, bool own_session, uint64_t remote_session, const char *reason,
		  bool keep_path);
/* A restart of our own (a new session) that keeps the path meanwhile. */
/* A new session beside a working relay path, to find a direct one. */
void peer_try_upgrade(struct wice_peer *peer);

/* peer-ice.c: the agents of the current session. */
bool peer_ice_create(struct wice_peer *peer, const char *ufrag, const char *pwd);
void peer_ice_destroy(struct wice_peer *peer);
/* Whether the session has an agent left. */
bool peer_ice_active(const struct wice_peer *peer);
/* Our session's credentials (g_free them); false without an agent. */
bool peer_ice_local_credentials(const struct wice_peer *peer, char **ret_ufrag, char **ret_pwd);
/* Every agent has gathered all its candidates. */
bool peer_ice_gathering_done(const struct wice_peer *peer);
void peer_ice_set_remote_credentials(struct wice_peer *peer, const char *ufrag, const char *pwd);
void peer_ice_add_remote_candidate(struct wice_peer *peer, NiceCandidate *c);
void peer_ice_remote_gathering_done(struct wice_peer *peer);
/* Whether the local addresses the agents gather on are all still there. */
bool peer_ice_addresses_still_there(const struct wice_peer *peer);
/* Makes @pa's agent with the session's settings (servers, ports, local
 * addresses @addrs, our credentials when given), not yet gathering and
 * without signals. */
bool peer_agent_configure(struct peer_agent *pa, GArray *addrs, const char *ufrag, const char *pwd);
/* Connects @pa's agent to the peer: libnice's signals and its data. */
void peer_agent_attach(struct peer_agent *pa);
/* Closes @pa's agent (TURN allocations are released) without a failure. */
void peer_agent_destroy(struct peer_agent *pa);

/* peer-relay-renew.c: the relay agent renewed before its TURN
 * credentials expire. */
void peer_renew_start(struct wice_peer *peer);
void peer_renew_stop(struct wice_peer *peer);
void peer_renew_add_remote_candidate(struct wice_peer *peer, const NiceCandidate *c);
void peer_renew_remote_gathering_done(struct wice_peer *peer);
/* Drops our relay candidates of @agent from what we announce. */
void peer_forget_relay_candidates(struct wice_peer *peer, NiceAgent *agent, guint stream);

/* peer-relay-release.c: the relay agent closed (its TURN allocation
 * released) once a direct pair carries WireGuard for good. */
/* A direct pair carries WireGuard: release after a settle. */
void peer_relay_release_schedule(struct wice_peer *peer);
void peer_relay_release_cancel(struct wice_peer *peer);
/* The relay agent received data (the peer sends over the relay). */
void peer_relay_release_note_rx(struct wice_peer *peer);

/* peer-advertise.c: [ice] advertise. */
/* The direct agent found @host: the advertised addresses it stands for
 * join our local candidates. */
void peer_advertise_on_host_candidate(struct wice_peer *peer, const NiceCandidate *host);
/* Marks the sides of a selected pair that are advertised addresses. */
void peer_advertise_note_pair(const struct wice_peer *peer, struct peer_pair_info *info, const NiceCandidate *local,
			      const NiceCandidate *remote);

/* peer-portmap.c: a port mapping for the direct agent's host candidate
 * @c, which becomes a server reflexive candidate when the router makes it. */
void peer_portmap_on_candidate(struct peer_agent *pa, const NiceCandidate *c);
/* Deletes the session's mapping. */
void peer_portmap_release(struct wice_peer *peer);

/* peer-handover.c: make-before-break. */
/* peer_rebuild() with keep_path: the current agents and path become the
 * old path, which carries WireGuard until the new session takes over. */
void peer_handover_keep(struct wice_peer *peer);
/* A pair of the current session carries WireGuard: the old path goes
 * after a while. */
void peer_handover_took_over(struct wice_peer *peer);
/* The path leaves the user proxy, or replaces the nftables elements
 * @handle: the old ones keep delivering for a while. */
void peer_handover_keep_user_proxy(struct wice_peer *peer);
void peer_handover_keep_nft(struct wice_peer *peer, const char *handle);
void peer_handover_drop_nft(struct wice_peer *peer);
/* Hands a datagram to WireGuard over a user proxy, current or old; false
 * when there is none. */
bool peer_handover_deliver(struct wice_peer *peer, const uint8_t *buf, size_t len);
/* Drops the old path now. */
void peer_handover_drop(struct wice_peer *peer);
/* With each device sync: a relayed peer looks for a direct pair. */
void peer_handover_consider_upgrade(struct wice_peer *peer);

/* peer-signal.c */
void peer_send_state(struct wice_peer *peer, bool please_answer);
void peer_schedule_send_state(struct wice_peer *peer);

void peer_cancel_send_state(struct wice_peer *peer);
void peer_send_goodbye(struct wice_peer *peer);
void peer_start_resending(struct wice_peer *peer);
void peer_stop_resending(struct wice_peer *peer);

/* peer-path.c */
/* An agent selected a pair: WireGuard moves to it unless a direct pair
 * of the other agent already carries it. */
void peer_path_on_selected_pair(struct peer_agent *pa);
/* @pa failed or is going away: its path moves to the other agent's pair,
 * or is dropped.  True if a path is left. */
bool peer_path_on_agent_lost(struct peer_agent *pa);
/* A datagram from the peer that came in on @from (NULL: an agent on its
 * way out). */
void peer_path_deliver(struct wice_peer *peer, const struct peer_agent *from, const uint8_t *buf, size_t len);
/* Drops the proxy or nftables rules of the current agent. */
void peer_path_release(struct wice_peer *peer);
/* peer-bpf.c found the relay pair's channel and WireGuard now points at
 * the kernel path. */
void peer_path_bpf_ready(struct wice_peer *peer);

/* peer-bpf.c: the eBPF relay path beside the user proxy of a relay pair
 * (@local relayed); false where it does not apply or cannot load. */
bool peer_bpf_start(struct wice_peer *peer, const NiceCandidate *local, const NiceCandidate *remote);
bool peer_bpf_active(const struct wice_peer *peer);
void peer_bpf_stop(struct wice_peer *peer);

/* peer-wg.c: writes to WireGuard, on the interface's worker. */
/* Points WireGuard at @ep; the controlling side of a peer without a
 * recent handshake also makes WireGuard handshake at once (a kick). */
void peer_wg_set_endpoint(struct wice_peer *peer, const union wg_sockaddr *ep);
/* Writes the endpoint we set once more (WireGuard roamed away from it). */
void peer_wg_reassert_endpoint(struct wice_peer *peer);
/* A kick, unless the peer has handshaken since its path was set. */
void peer_wg_kick_unless_handshook(struct wice_peer *peer);
void peer_wg_stop_kick(struct wice_peer *peer);
/* Puts WireGuard's endpoint back to what it was before wice touched it. */
void peer_wg_restore_endpoint(struct wice_peer *peer);

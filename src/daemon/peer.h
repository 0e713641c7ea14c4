/* One WireGuard peer and the ICE session that finds it a path.
 *
 * Each peer has its own NiceAgents, each with one stream and one
 * component: the controlling role must be decided per peer (the smaller
 * public key controls) and libnice's role is a property of the whole
 * agent.  The session has two agents that share its credentials, one for
 * direct pairs and one for relay pairs (peer-ice.c says why).
 *
 * States: idle (waiting to start), gathering (collecting candidates, no
 * remote credentials yet), connecting (checks running), connected (a pair
 * is selected and WireGuard points at it), failed (waiting for the restart
 * timer), closed (the peer said goodbye or is being removed). */
#pragma once

#include <nice/agent.h>

#include "iface.h"
#include "signaling/sig-relay.h"

enum peer_state {
	PEER_IDLE,
	PEER_GATHERING,
	PEER_CONNECTING,
	PEER_CONNECTED,
	PEER_FAILED,
	PEER_CLOSED,
};

enum peer_proxy_kind {
	PEER_PROXY_NONE,
	PEER_PROXY_NFT,
	PEER_PROXY_USER,
	PEER_PROXY_BPF, /* relay pair framed in the kernel, the user proxy beside it */
};

/* Remote candidates that came before the session's credentials. */
#define PEER_MAX_PENDING_CANDIDATES 64
/* Remote candidates accepted per session (resends included). */
#define PEER_MAX_REMOTE_CANDIDATES 256
/* Local candidates we keep to resend when messages are lost. */
#define PEER_MAX_LOCAL_CANDIDATES 64

struct portmap_mapping;
struct peer_bpf;
struct user_proxy;
struct wice_peer;

/* The agents of a session (peer-ice.c). */
enum peer_agent_kind {
	PEER_AGENT_DIRECT, /* host and server reflexive candidates */
	PEER_AGENT_RELAY,  /* TURN relay candidates only */
	PEER_N_AGENTS,
};

/* What candidates show of the NAT in front of their side (peer-diag.h). */
struct peer_nat_evidence {
	unsigned types;      /* bits (1 << NiceCandidateType) of the list */
	int port_preserved;  /* a server reflexive candidate on its base's port: 1; on another: 0; -1 none */
	int per_destination; /* a peer reflexive candidate on a server reflexive address, another port: 1; -1 */
};

struct peer_agent {
	struct wice_peer *peer;
	enum peer_agent_kind kind;
	bool wanted; /* the configuration asks for it this session */
	NiceAgent *agent; /* NULL: not wanted, or dropped after it failed */
	guint stream;
	bool gathering_done;
	bool failed;
	size_t n_local, n_remote; /* candidates it gathered, remote ones it got */
	NiceCandidate *selected_local, *selected_remote; /* its selected pair */
	GSource *drop_timer; /* destroys it once it failed */
	/* peer-diag.c: what it had and why it failed, kept when it is gone */
	unsigned diag_local_types, diag_remote_types;
	const char *diag_failure;
};

/* The path WireGuard used before the current one (peer-handover.c): a
 * previous session's agents, kept carrying WireGuard while a new session
 * looks for a pair (make-before-break), and for a moment after any switch
 * what the peer still sends over the old path. */
struct peer_old_path {
	NiceAgent *agents[PEER_N_AGENTS]; /* a previous session's */
	guint streams[PEER_N_AGENTS];
	struct portmap_mapping *portmap; /* that session's port mapping */
	struct user_proxy *user_proxy;   /* the old user proxy, delivering only */
	char nft_handle[40];             /* the old nftables elements, "" none */
	bool carrying;                   /* a restart is pending: WireGuard still uses them */
	GSource *retire_timer;           /* the new path took over: drop these */
	GSource *lost_timer;             /* an old agent failed */
};

struct peer_pair_info {
	bool valid;
	NiceCandidateType local_type, remote_type;
	char local_addr[INET6_ADDRSTRLEN];
	char remote_addr[INET6_ADDRSTRLEN];
	uint16_t local_port, remote_port;
	bool local_advertised, remote_advertised; /* [ice] advertise (peer-advertise.c) */
};

struct wice_peer {
	struct wice_iface *iface;
	uint64_t id; /* unique in this process: results of WireGuard jobs find their peer by it */
	uint8_t public_key[32];
	struct in6_addr link_ll; /* its link-local address (wg/wg-keyaddr.h), computed once */
	char name[12]; /* short form of the key for logs */
	bool controlling;
	struct sig_pair pair;
	uint8_t relay_send_id[RELAY_ID_LEN];
	struct sig_subscription sub;

	enum peer_state state;
	char *state_reason;
	gint64 state_since; /* real time, seconds */
	struct peer_agent ice[PEER_N_AGENTS];
	struct peer_agent *path_agent; /* whose selected pair carries WireGuard */
	GSource *relay_grace;	       /* a relay pair waits for a direct one */
	bool relay_grace_over;	       /* this session's relay pair waited */
	/* peer-relay-release.c: the relay agent closed once a direct pair
	 * carries WireGuard */
	GSource *relay_release_timer;
	bool relay_released;  /* this session's allocation is gone */
	gint64 relay_rx_us;   /* the relay agent last received data */
	GArray *local_addrs; /* struct sockaddr_storage: what the agents gather on */
	/* peer-relay-renew.c: the relay agent's successor, made with fresh
	 * TURN credentials before the current ones expire */
	struct peer_agent renew;
	GSource *renew_timer;
	GSList *retiring;          /* relay agents that handed over, closed soon */
	unsigned relay_generation; /* renewals this session */
	char *remote_ufrag, *remote_pwd; /* the session's, for a renewed agent */

	/* our session and the remote session it answers (0: none yet) */
	struct sig_session session;
	uint64_t remote_session;
	bool sent_unbound; /* this agent's candidates went out before we answered a session */
	gint64 last_answer_us;
	bool have_remote_credentials;
	NiceCandidate *pending[PEER_MAX_PENDING_CANDIDATES];
	size_t n_pending;
	size_t n_remote; /* accepted this session, for the cap */
	bool remote_gathering_done;
	NiceCandidate *local[PEER_MAX_LOCAL_CANDIDATES];
	size_t n_local;
	/* peer-portmap.c: the router's mapping of the direct agent's port */
	struct portmap_mapping *portmap;
	struct sockaddr_in portmap_internal, portmap_advertised;

	GSource *send_timer; /* a coalesced send of our state */
	struct sig_route route; /* how the peer's last message came */
	gint64 route_us;
	unsigned resends_unanswered;
	GSource *resend_timer;
	unsigned resend_interval_ms;
	GSource *restart_timer;
	unsigned restarts;
	unsigned upgrade_attempts; /* new sessions beside a working relay path (peer-handover.c) */
	unsigned failures; /* consecutive, for backoff */
	gint64 connecting_since_us;

	enum peer_proxy_kind proxy;
	char nft_handle[32]; /* the name of our nftables elements, "" before any */
	struct user_proxy *user_proxy;
	struct peer_agent *user_proxy_agent; /* the agent the user proxy sends with */
	struct peer_bpf *bpf;                 /* peer-bpf.c, for a relay pair */
	struct peer_pair_info selected;
	struct peer_old_path old;
	unsigned upgrades;        /* attempts in a row to leave a relay for a direct pair */
	gint64 upgrade_due_us;    /* monotonic: the next attempt (0: none planned) */
	union wg_sockaddr endpoint_set;      /* what we last gave WireGuard */
	union wg_sockaddr original_endpoint; /* what it had before us */
	bool endpoint_changed;
	/* link-addr.c: what we added for this peer's addresses bound to its key */
	bool link_ll_added, link_key_added, link_route_added;
	GSource *kick_timer; /* checks that WireGuard handshook */
	unsigned kicks;
	/* controlled side: the peer's first handshake came to the agent
	 * instead of WireGuard (our path was not in place yet) */
	bool lost_initiation;
	bool kicked_for_lost; /* once per selected pair */
	gint64 path_since_us; /* monotonic: when the current path was set up */

	/* WireGuard facts from the last sync */
	union wg_sockaddr wg_endpoint;
	int64_t last_handshake;
	/* Monotonic: the last datagram from the peer's link-local address,
	 * which only its WireGuard session can have brought. */
	gint64 tunnel_heard_us;
	/* Handshakes up to this time made a session the peer has thrown away:
	 * it said goodbye, and its daemon's exit reset its WireGuard peer. */
	int64_t void_handshake;
	uint64_t rx_bytes, tx_bytes;
	gint64 unanswered_since_us; /* monotonic: WireGuard sent, nothing came back */
	unsigned silent_restarts;
	gint64 rx_changed_us; /* monotonic: when the received counter last grew */
	struct wg_allowed_ip *aips; /* its allowed IPs in the last sync */
	size_t n_aips;
	unsigned synced; /* iface->syncs when the device last listed it */

	/* facts.c and reroute.c (issue 13) */
	bool learned;              /* added by us from a router's facts */
	uint64_t facts_issued_ms;  /* the newest bundle accepted from it */
	gint64 facts_sent_us;      /* monotonic: our last bundle to it */
	guint facts_said_hash;     /* of what that bundle said (facts-say.c) */
	gint64 heard_us_us;        /* monotonic: it last said it hears us (REACHES us) */
	gint64 down_since_us;      /* monotonic: not connected since (0: connected) */
	bool rerouted;             /* reroute.c: its addresses are carried by peer @via */
	uint8_t via[32];

	/* peer-diag.c: the peer's NAT as its candidates showed it when the
	 * direct agent failed */
	struct peer_nat_evidence diag_peer_nat;
	bool diag_have_peer_nat;
};

struct wice_peer *peer_new(struct wice_iface *iface, const uint8_t public_key[32]);
/* Sends goodbye, releases the agent (TURN allocations), removes the data
 * path and leaves WireGuard's endpoint pointing at nothing of ours.
 * Accepts NULL. */
void peer_free(struct wice_peer *peer);
void peer_start(struct wice_peer *peer);
/* An operator asked for a restart: start over now, backoff forgotten.  A
 * connected peer keeps its path until the new session's pair takes over. */
void peer_restart_now(struct wice_peer *peer);
void peer_receive(struct wice_peer *peer, const struct sig_msg *msg, bool new_session);
/* Remembers the way back of an authenticated message from the peer
 * (@from may be NULL: that backend has none). */
void peer_note_route(struct wice_peer *peer, const struct sig_route *from);
/* Called by the interface sync with the peer's WireGuard counters. */
void peer_update_wg(struct wice_peer *peer, const struct wg_peer *wgp);
void peer_on_network_changed(struct wice_peer *peer);
void peer_on_signaling_up(struct wice_peer *peer);
/* WireGuard's listen port is now @port (peer-path.c). */
void peer_path_set_wg_port(struct wice_peer *peer, uint16_t port);
/* Adds @n allowed IPs to the peer in WireGuard, or removes them (the rest
 * of its list stays as it is). */
void peer_wg_add_allowed_ips(struct wice_peer *peer, const struct wg_allowed_ip *aips, size_t n);
void peer_wg_remove_allowed_ips(struct wice_peer *peer, const struct wg_allowed_ip *aips, size_t n);
/* How a connected peer is reached: "direct", "relay" (TURN), or NULL
 * while it is not connected. */
const char *peer_reached(const struct wice_peer *peer);
/* Whether a TURN allocation is kept for the peer: "held", "released"
 * (a direct pair carries WireGuard, peer-relay-release.c) or "none". */
const char *peer_relay_allocation(const struct wice_peer *peer);
/* A new session is being set up while the previous one's path still
 * carries WireGuard (a restart is pending). */
bool peer_restart_pending(const struct wice_peer *peer);
const char *peer_state_name(enum peer_state state);
const char *peer_proxy_name(enum peer_proxy_kind kind);
const char *peer_candidate_type_name(NiceCandidateType type);
/* Distinct remote candidates, as the agents keep them (resends do not count). */
size_t peer_remote_candidates(const struct wice_peer *peer);

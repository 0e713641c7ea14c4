/* Two WireGuard interfaces in one process, each the other's peer, for
 * tests of the daemon's peer core without root.
 *
 * Each node is a struct wice_iface with its own host table: events are
 * recorded, signaling is delivered to the other node from the main loop
 * (like a network: later, and as the link says: dropped, duplicated,
 * delayed), ICE gathers on 127.0.0.1 (and a node's extra_address), there
 * is no STUN or TURN server (so a session has its direct agent only) and
 * no nftables (so every pair uses the user proxy), and WireGuard is
 * fake-wg.h.  A node also owns a UDP socket on WireGuard's listen port, so
 * that a test can play WireGuard's side of the user proxy. */
#pragma once

#include "daemon/peer-internal.h"
#include "fake-wg.h"

struct fake_event {
	enum wice_event_type type;
	char *old_state, *state, *reason, *proxy;
	char *local_type, *local_addr, *remote_addr;
	unsigned local_port, remote_port;
};

/* What the network does to messages from one node to the other. */
struct fake_link {
	bool drop;
	bool hold; /* kept until fake_release() */
	bool duplicate;
	unsigned delay_ms;
	unsigned jitter_ms; /* up to this much more, at random: reorders */
	unsigned sent, dropped, delivered;
	GPtrArray *held; /* GBytes */
};

struct fake_world;

struct fake_node {
	struct fake_world *world;
	struct fake_node *other;
	char name[IFNAMSIZ];
	uint8_t private_key[WG_KEY_LEN], public_key[WG_KEY_LEN];
	/* the harness's own view of the pair, to read and forge messages */
	struct sig_identity identity;
	struct sig_pair pair;
	int wg_fd; /* "WireGuard": UDP on 127.0.0.1:listen_port */
	uint16_t listen_port;
	struct wice_config *config;
	struct wice_iface *iface;
	GPtrArray *events; /* struct fake_event */
	unsigned subscriptions;
	/* published or subscribed under a wrong mailbox id, or sealed so
	 * that the other node cannot open it */
	unsigned misaddressed;
	unsigned offers_sent, goodbyes_sent;
	struct fake_link link; /* messages from this node */
	/* ICE gathers on 127.0.0.1 and, when not 0, this address too (host
	 * byte order, 127.0.0.0/8) */
	uint32_t extra_address;
};

struct fake_world {
	struct fake_node a, b;
	GPtrArray *in_flight; /* GSource: messages on their way */
	GSource *tick;        /* wakes the loop while a test waits */
	GRand *rand;
};

/* Keys, devices (each holding the other as a peer), sockets; no
 * interfaces yet, so a test can set up the links first. */
void fake_world_init(struct fake_world *w);
/* Creates both interfaces, which read their devices and start ICE. */
void fake_world_start(struct fake_world *w);
void fake_world_free(struct fake_world *w);

/* The node's peer (the other node), or NULL. */
struct wice_peer *fake_peer(const struct fake_node *n);
/* The node's peer is in @state. */
bool fake_peer_in(const struct fake_node *n, enum peer_state state);
/* Both peers connected and each answering the other's current session. */
bool fake_world_connected(const struct fake_world *w);
/* The node whose peer controls ICE (the smaller public key). */
struct fake_node *fake_controlling(struct fake_world *w);

/* Events of @type recorded at @n; @state and @reason (substring), when
 * not NULL, must match too. */
unsigned fake_count_events(const struct fake_node *n, enum wice_event_type type, const char *state,
			   const char *reason);
/* The index of the first such event, or -1. */
int fake_find_event(const struct fake_node *n, enum wice_event_type type, const char *state, const char *reason);

/* Opens and decodes an envelope @from sent, as the other node would
 * (without its replay check).  The caller wipes *@ret. */
bool fake_open(const struct fake_node *from, const uint8_t *data, size_t len, struct sig_msg *ret);
/* Seals @msg as @from would (harness keys, no session bookkeeping) and
 * hands it to the other node's interface at once. */
void fake_inject(struct fake_node *from, const struct sig_msg *msg);
/* Stops holding messages from @from and sends those held. */
void fake_release(struct fake_node *from);
/* "WireGuard" of @n sends @len bytes to @to (its user proxy, say). */
void fake_wg_send(const struct fake_node *n, const union wg_sockaddr *to, const uint8_t *buf, size_t len);
/* One datagram that reached "WireGuard" of @n, or -1 (none waiting). */
ssize_t fake_wg_receive(const struct fake_node *n, uint8_t *buf, size_t size);

/* A UDP socket on 127.0.0.1 (non-blocking), port chosen by the kernel. */
int fake_udp_socket(uint16_t *ret_port);

/* Runs the main loop until @cond holds or @ms pass; the value of @cond. */
#define fake_wait_for(cond, ms)                                                    \
	({                                                                        \
		gint64 deadline_ = g_get_monotonic_time() + (gint64)(ms) * 1000;  \
		bool ok_;                                                         \
		while (!(ok_ = (cond)) && g_get_monotonic_time() < deadline_)     \
			g_main_context_iteration(NULL, TRUE);                     \
		ok_;                                                              \
	})
/* Runs the main loop for @ms. */
void fake_run(unsigned ms);

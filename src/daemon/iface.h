/* One managed WireGuard interface: its identity (the interface's own key),
 * its peers and the sync with the device (iface.c).
 *
 * An interface and its peers reach whatever owns them (the daemon, or a
 * unit test) only through the host table below: events, signaling,
 * settings, local addresses, the nftables table and WireGuard itself. */
#pragma once

#include <gio/gio.h>
#include <net/if.h>

#include "control/control-proto.h"
#include "signaling/client/sig-backend.h"
#include "signaling/sig-envelope.h"
#include "signaling/sig-msg.h"
#include "wg/wg.h"
#include "wg-io.h"
#include "wice-config.h"

/* A device read that takes longer than this makes the interface "stalled"
 * in `wice show`; the control socket waits no longer for it. */
#define IFACE_STALLED_MS 500
/* How long freeing an interface waits for its last WireGuard writes. */
#define IFACE_DRAIN_MS 2000

struct nft_proxy;
struct portmap;
struct wice_peer;

struct iface_host_ops {
	/* Tells monitors and the log about @ev. */
	void (*emit)(void *host, const struct wice_event *ev);
	/* Publishes on every signaling backend; @via (NULL: none) goes to
	 * the backend it belongs to and makes that one answer directly. */
	void (*publish)(void *host, const uint8_t relay_id[RELAY_ID_LEN], const uint8_t *data, size_t len,
			const struct sig_route *via);
	void (*subscribe)(void *host, const struct sig_subscription *sub);
	void (*unsubscribe)(void *host, const uint8_t relay_id[RELAY_ID_LEN]);
	/* The settings of interface @ifname in the current configuration. */
	const struct wice_iface_settings *(*settings)(void *host, const char *ifname);
	/* Appends the local addresses ICE may gather on (struct sockaddr_storage):
	 * never one on a WireGuard or excluded interface. */
	void (*local_addresses)(void *host, GArray *ret);
	/* The nftables fast path; NULL when nftables is unusable. */
	struct nft_proxy *(*nft)(void *host);
	/* Port mappings on the router (portmap.h); NULL (or no op): none. */
	struct portmap *(*portmap)(void *host);
	/* An envelope that came through a tunnel (tunnel-signal.c), as one
	 * from a signaling backend. */
	void (*deliver)(void *host, const uint8_t *data, size_t len);
	/* The name of the daemon's nftables table (tables of its own are
	 * named after it); NULL when nftables is unusable. */
	const char *(*nft_table)(void *host);
};

struct iface_host {
	const struct iface_host_ops *ops;
	void *data;
	/* WireGuard device access (wg_system_ops, or a fake in tests). */
	const struct wg_ops *wg;
};

struct wice_iface {
	struct iface_host host;
	char name[IFNAMSIZ];
	uint16_t listen_port;
	bool have_identity;
	struct sig_identity identity;
	GHashTable *peers; /* GBytes(public key) -> struct wice_peer */
	size_t n_device_peers; /* in the last device read */
	unsigned syncs;        /* device reads applied, to mark the peers each one listed */
	struct wg_io *io; /* this device's reads and writes, off the main loop */
	bool sync_busy;   /* a read is in flight */
	GArray *sync_waiters, *next_sync_waiters; /* of this read, of the next */
	GSource *sync_timer; /* the next periodic read (source_timer_new) */
	gint64 read_started_us; /* monotonic, of the read in flight */
	gint64 read_costs_us[4]; /* of the last reads (0: none yet), iface.c */
	unsigned n_reads;
	/* addresses bound to keys (link-addr.c) */
	bool is_mesh;           /* the daemon's [mesh] interface */
	bool link_own_added;    /* ours are on the interface */
	bool device_gone;
	unsigned link_ifindex;
	struct in6_addr link_ll, link_key;
	/* signaling through the tunnels (tunnel-signal.c) */
	int tunnel_fd;          /* -1: none */
	GSource *tunnel_source, *tunnel_timer, *tunnel_refresh;
	GHashTable *tunnel_subs; /* GBytes(mailbox id) -> who reads it */
	gint64 tunnel_second;
	unsigned tunnel_forwards;
	unsigned tunnel_refreshes_left;
	/* facts.c and reroute.c: what peers said, where addresses go */
	struct iface_facts *facts; /* NULL: no tunnel signaling */
	struct reroute *reroute;   /* NULL: nothing moved yet */
	struct peer_relay *peer_relay; /* relay-for-peers.c; NULL: none yet */
	GSource *sync_soon;  /* an early sync: a message from a peer we do not know yet */
	gint64 early_sync_us; /* monotonic, the last one */
};

struct wice_iface *iface_new(const struct iface_host *host, const char *name);
void iface_free(struct wice_iface *iface);
/* The settings of this interface (wice_config_iface of the current
 * configuration): they shape sessions started from now on. */
const struct wice_iface_settings *iface_settings(const struct wice_iface *iface);
/* Tells the host about @ev. */
void iface_emit(const struct wice_iface *iface, const struct wice_event *ev);
/* Reads all peers' mailboxes on backend @b too (a backend added by a reload). */
void iface_subscribe_peers(struct wice_iface *iface, struct sig_backend *b);
/* The device is gone: nothing of it can (or needs to) be restored. */
void iface_forget_device(struct wice_iface *iface);
/* 0 or a negative errno: how the device read went. */
typedef void (*iface_synced_fn)(int r, void *data);
/* Re-reads the WireGuard device (new and removed peers, key changes,
 * handshake staleness) on the worker; @fn (may be NULL) is called once a
 * read that started after this call is done, or with -ENODEV when the
 * interface goes first. */
void iface_sync(struct wice_iface *iface, iface_synced_fn fn, void *data);
/* The device has kept a request waiting for over IFACE_STALLED_MS. */
bool iface_device_stalled(const struct wice_iface *iface);
/* @from: where it came from (NULL: no way back but the usual). */
void iface_receive_envelope(struct wice_iface *iface, const uint8_t *data, size_t len, const struct sig_route *from);
void iface_on_network_changed(struct wice_iface *iface);
void iface_on_signaling_up(struct wice_iface *iface);
/* link-addr.c: addresses bound to keys (wg/wg-keyaddr.h) where the
 * interface wants them ([interface NAME] link-addresses; on by default on
 * the mesh interface): ours on the interface, each peer's /128s in its
 * allowed IPs, and all of it taken back when wice lets go. */
bool link_addr_wanted(const struct wice_iface *iface);
void link_addr_iface_apply(struct wice_iface *iface);
void link_addr_iface_release(struct wice_iface *iface);
void link_addr_peer_apply(struct wice_peer *peer, const struct wg_peer *wgp);
void link_addr_peer_release(struct wice_peer *peer);
/* The peer left the device: nothing of it to take back there. */
void link_addr_peer_forget(struct wice_peer *peer);
/* tunnel-signal.c: signaling through the tunnels, on interfaces with
 * link addresses.  UDP on the peers' link-local addresses. */
#define TUNNEL_SIGNAL_PORT 51818
void tunnel_signal_open(struct wice_iface *iface);
void tunnel_signal_close(struct wice_iface *iface);
/* An envelope for mailbox @id: straight to the peer that reads it if it is
 * connected, else to every connected peer to pass on. */
void tunnel_signal_publish(struct wice_iface *iface, const uint8_t id[RELAY_ID_LEN], const uint8_t *data, size_t len);
/* Peers were added: every connected peer learns the mailboxes we read. */
void tunnel_signal_refresh(struct wice_iface *iface);
/* A peer connected: it learns the mailboxes we read. */
void tunnel_signal_peer_connected(struct wice_peer *peer);
/* Sends one datagram to @peer's link-local address on TUNNEL_SIGNAL_PORT. */
void tunnel_signal_send(struct wice_peer *peer, const uint8_t *buf, size_t len);
/* WireGuard handshook with @peer lately: the tunnel carries datagrams. */
bool tunnel_signal_reachable(const struct wice_peer *peer);

/* facts.c: facts about nodes, through the tunnels (issue 13, section 3);
 * on interfaces with tunnel signaling. */
void facts_open(struct wice_iface *iface);
void facts_close(struct wice_iface *iface);
/* Runs the facts and reroute round soon (a peer's path changed). */
void facts_soon(struct wice_iface *iface);
/* A FACTS datagram's envelope from @from. */
void facts_receive(struct wice_iface *iface, struct wice_peer *from, const uint8_t *env, size_t len);
/* We added the peer of @key from a router's facts. */
bool facts_learned(const struct wice_iface *iface, const uint8_t key[32]);
/* The prefixes routers say belong to @subject (at most @max). */
size_t facts_prefixes_of(const struct wice_iface *iface, const uint8_t subject[32], struct wg_allowed_ip *ret,
			 size_t max);
/* A router that spoke of @subject. */
bool facts_voucher(const struct wice_iface *iface, const uint8_t subject[32], uint8_t ret_router[32]);
/* @relay says it relays for peers and reaches @target. */
bool facts_relays_to(const struct wice_iface *iface, const uint8_t relay[32], const uint8_t target[32]);
/* @aip covers an address of our interface. */
bool facts_covers_own(const struct wice_iface *iface, const struct wg_allowed_ip *aip);
bool facts_sender_is_router(struct wice_iface *iface, const struct wice_peer *peer);
bool facts_we_are_router(struct wice_iface *iface);
/* Liveness of a tunnel both ways: we heard from @peer lately; it said
 * lately that it hears us. */
bool facts_hears(const struct wice_peer *peer);
bool facts_heard_by(const struct wice_peer *peer);
/* [interface NAME] relay-for-peers, with its default. */
bool facts_relay_wanted(const struct wice_iface *iface);
struct fact;
typedef void (*facts_fn)(const struct fact *f, gint64 ttl_left_s, void *data);
/* Calls @fn for each fact we believe from @from. */
void facts_foreach_from(const struct wice_iface *iface, const uint8_t from[32], facts_fn fn, void *data);
/* Facts dropped: about others from a non-router; forged, stale or malformed. */
void facts_counters(const struct wice_iface *iface, unsigned *ret_untrusted, unsigned *ret_rejected);

/* reroute.c: peers' addresses moved to the peer that carries them
 * (issue 13, sections 4 and 5) and relaying for peers. */
void reroute_update(struct wice_iface *iface);
/* Everything moved for or through @key goes back. */
void reroute_forget(struct wice_iface *iface, const uint8_t key[32]);
void reroute_release(struct wice_iface *iface);
bool reroute_is_carrier(struct wice_iface *iface, const struct wice_peer *peer);
/* @peer has had no path for almost as long as it takes to look for a
 * relay: time to ask the neighbours who reaches it (facts MISSES). */
bool reroute_wants_relay_soon(const struct wice_iface *iface, const struct wice_peer *peer);
/* relay-for-peers.c: forwarding between peers that have no path of
 * their own, when the interface is willing. */
void relay_for_peers_update(struct wice_iface *iface);
bool relay_for_peers_counters(struct wice_iface *iface, size_t *ret_prefixes, uint64_t *ret_packets,
			      uint64_t *ret_bytes);
void relay_for_peers_release(struct wice_iface *iface);

struct wice_peer *iface_find_peer(struct wice_iface *iface, const uint8_t public_key[32]);
/* Peers of the device that are not connected (yet), counting those the
 * current sync is still about to start. */
size_t iface_unsettled_peers(struct wice_iface *iface);

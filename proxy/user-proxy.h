/* The in-process data path: WireGuard talks to a loopback UDP socket of the
 * daemon and the daemon carries each datagram over the ICE component.
 *
 * It works for every kind of selected pair, and is the only path for relayed
 * ones, where libnice must wrap each datagram for the TURN server.  It costs
 * two extra trips through the kernel per packet, so the nft proxy is
 * preferred where it applies.
 *
 * Datagrams from WireGuard are read in batches (recvmmsg) when the socket
 * becomes readable and handed to libnice with one
 * nice_agent_send_messages_nonblocking() per batch; datagrams from any other
 * local sender are dropped.  The other direction is the caller's: libnice
 * allows one receive callback per component, which the daemon owns (it also
 * serves the nft path), so the callback forwards to user_proxy_deliver().
 * The proxy's socket source is attached to the agent's main context, so
 * both directions run in the agent's thread and nothing ever blocks: what
 * cannot be sent at once is dropped and counted, as a network would. */
#pragma once

#include <nice/agent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wg/wg-device.h"

/* Datagrams read (and handed to libnice) per recvmmsg call at most. */
#define USER_PROXY_MAX_BATCH 64

struct user_proxy;

struct user_proxy_stats {
	uint64_t to_peer_packets, to_peer_bytes; /* WireGuard -> libnice */
	uint64_t to_wg_packets, to_wg_bytes;     /* libnice -> WireGuard */
	uint64_t drop_foreign;                   /* not from WireGuard's port, or truncated */
	uint64_t drop_to_peer;                   /* libnice refused: no pair yet, would block */
	uint64_t drop_to_wg;                     /* the loopback send failed */
};

/* Binds a UDP socket on 127.0.0.1 (port chosen by the kernel) for WireGuard
 * listening on @wg_port, carried over @stream/@component of @agent (which
 * the proxy keeps a reference to). */
struct user_proxy *user_proxy_new(NiceAgent *agent, guint stream, guint component, uint16_t wg_port,
				  GError **error);
/* The same on ::1 when @family is AF_INET6. */
struct user_proxy *user_proxy_new_full(NiceAgent *agent, guint stream, guint component, uint16_t wg_port,
				       int family, GError **error);

/* Where WireGuard's endpoint for the peer must point. */
void user_proxy_get_endpoint(const struct user_proxy *proxy, union wg_sockaddr *ret);

/* Sends a datagram libnice received on the component to WireGuard.  Call it
 * from the receive callback attached with the agent's own main context.
 * The datagram is copied into a queue that goes out with one sendmmsg()
 * per batch, once libnice has drained its socket at the latest. */
void user_proxy_deliver(struct user_proxy *proxy, const uint8_t *buf, size_t len);

/* From now on datagrams from WireGuard go over @stream/@component of
 * @agent, which must run in the same main context as the first one.  The
 * socket, and so WireGuard's endpoint, stays: the path moves without a
 * packet lost. */
void user_proxy_set_agent(struct user_proxy *proxy, NiceAgent *agent, guint stream, guint component);

/* WireGuard's listen port changed. */
void user_proxy_set_wg_port(struct user_proxy *proxy, uint16_t wg_port);

/* Datagrams per batch in both directions, 1 (no batching) to
 * USER_PROXY_MAX_BATCH (default). */
void user_proxy_set_batch(struct user_proxy *proxy, unsigned batch);

/* Sends what is queued for WireGuard first, so the counters are final. */
void user_proxy_get_stats(struct user_proxy *proxy, struct user_proxy_stats *ret);

/* Closes the socket and drops the agent reference.  Accepts NULL. */
void user_proxy_free(struct user_proxy *proxy);

typedef struct user_proxy user_proxy;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(user_proxy, user_proxy_free)

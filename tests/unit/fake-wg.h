/* An in-memory WireGuard for unit tests, behind struct wg_ops.
 *
 * Devices live in a table keyed by interface name.  get returns a deep
 * copy; set applies the flagged changes the way the kernel does (remove,
 * update-only, endpoint, keepalive, allowed IPs added or replaced) and logs
 * each peer it touches, so a test can see that the daemon removed and
 * re-added a peer (a handshake kick) or only moved its endpoint.  A peer
 * added anew starts with zero counters and no handshake, as in WireGuard.
 *
 * The daemon may read and write WireGuard from a worker thread, so every
 * function here takes one lock; tests wait on the main loop for the effect
 * they expect instead of assuming a write already happened. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wg/wg.h"

extern const struct wg_ops fake_wg_ops;

enum fake_wg_op_kind {
	FAKE_WG_ADD,    /* a peer created by a write */
	FAKE_WG_UPDATE, /* an existing peer changed by a write */
	FAKE_WG_REMOVE,
};

/* One peer touched by a write through fake_wg_ops. */
struct fake_wg_op {
	enum fake_wg_op_kind kind;
	unsigned set;               /* the write's enum wg_peer_set flags */
	union wg_sockaddr endpoint; /* the peer's endpoint after the write */
	uint16_t keepalive;         /* the peer's keepalive after the write */
	size_t n_allowed_ips;       /* the peer's allowed IPs after the write */
};

/* Creates device @ifname; replaces one of that name. */
void fake_wg_add_device(const char *ifname, const uint8_t private_key[WG_KEY_LEN], uint16_t listen_port);
/* Frees every device. */
void fake_wg_reset(void);

/* What the operator does with `wg set`: not logged as the daemon's. */
void fake_wg_add_peer(const char *ifname, const uint8_t public_key[WG_KEY_LEN], const char *allowed_ip);
void fake_wg_remove_peer(const char *ifname, const uint8_t public_key[WG_KEY_LEN]);
void fake_wg_set_endpoint(const char *ifname, const uint8_t public_key[WG_KEY_LEN], const char *endpoint);

/* What WireGuard itself does: traffic and handshakes. */
void fake_wg_add_traffic(const char *ifname, const uint8_t public_key[WG_KEY_LEN], uint64_t tx, uint64_t rx);
void fake_wg_set_handshake(const char *ifname, const uint8_t public_key[WG_KEY_LEN], int64_t sec);

/* A copy of the peer (allowed_ips cleared; n_allowed_ips kept).  False
 * when the device or the peer does not exist. */
bool fake_wg_get_peer(const char *ifname, const uint8_t public_key[WG_KEY_LEN], struct wg_peer *ret);
/* The writes that touched the peer, oldest first: copies up to @max into
 * @ret and returns how many there are. */
size_t fake_wg_log(const char *ifname, const uint8_t public_key[WG_KEY_LEN], struct fake_wg_op *ret, size_t max);
/* How many of them were of @kind. */
unsigned fake_wg_count(const char *ifname, const uint8_t public_key[WG_KEY_LEN], enum fake_wg_op_kind kind);

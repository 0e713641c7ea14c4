/* Mesh wire formats (docs/PROTOCOL.md section 11): the member
 * announcement, the sealed frame every mesh message travels in, and the
 * gossip list.  Pure C over (buf, len) with libsodium; decoding allocates
 * nothing.
 *
 * An announcement is what a member says about itself: its signing key
 * (which gives its WireGuard key, mesh-hostkey.h), the time, its host name,
 * its address collision counter, the routes it advertises and endpoints
 * where its WireGuard may be reached.  It carries a proof of the secret
 * bound to the key and the time (mesh_membership_proof) and is signed with
 * the member's key, so it can be forwarded (gossip, cache) and still be
 * checked by anyone holding the secret.
 *
 * Every mesh message is a frame sealed with the announce key: outsiders
 * see a constant first byte, a random nonce and ciphertext; a frame that
 * does not open is dropped without a word. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mesh-hostkey.h"
#include "mesh-secret.h"
#include "signaling/sig-msg.h" /* struct sig_addr */

#define MESH_HOSTNAME_MAX 63
#define MESH_MAX_ROUTES 16
#define MESH_MAX_ENDPOINTS 8
/* An announcement's clock may be this far from ours. */
#define MESH_MAX_SKEW_S 3600

/* The first byte of a frame; never SIG_ENVELOPE_VERSION, so a daemon
 * tells mesh frames from signaling envelopes on a shared backend. */
#define MESH_FRAME_MAGIC 0x4d
#define MESH_FRAME_NONCE_LEN 24
#define MESH_FRAME_OVERHEAD (1 + MESH_FRAME_NONCE_LEN + 16) /* magic, nonce, MAC */
/* Like a signaling envelope: one UDP datagram on any IPv6 path. */
#define MESH_FRAME_MAX 1200
#define MESH_FRAME_PLAIN_MAX (MESH_FRAME_MAX - MESH_FRAME_OVERHEAD)

enum mesh_frame_type {
	MESH_FRAME_ANNOUNCE = 1, /* one announcement */
	MESH_FRAME_GOSSIP = 2,   /* a list of announcements */
	MESH_FRAME_ROTATE = 3,   /* a new secret (over the tunnels only) */
};

enum mesh_announce_flags {
	MESH_ANNOUNCE_LEAVING = 1u << 0, /* the member leaves the mesh */
	MESH_ANNOUNCE_HELLO = 1u << 1,   /* it just started: please answer on the LAN */
};

struct mesh_prefix {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint8_t len;
};

struct mesh_announce {
	uint8_t sign_pk[32];
	uint64_t timestamp; /* unix seconds */
	uint8_t flags;
	uint8_t addr_counter;
	char hostname[MESH_HOSTNAME_MAX + 1]; /* letters, digits, '-', '.', '_' */
	uint8_t n_routes;
	struct mesh_prefix routes[MESH_MAX_ROUTES];
	uint8_t n_endpoints;
	struct sig_addr endpoints[MESH_MAX_ENDPOINTS];
};

/* Longest signed announcement. */
#define MESH_ANNOUNCE_MAX 700

/* Encodes @a, adds the proof and signs with @hk (whose key must be
 * a->sign_pk).  Returns 0, -EINVAL for an invalid field, -ENOBUFS. */
int mesh_announce_sign(const struct mesh_keys *k, const struct mesh_hostkey *hk, const struct mesh_announce *a,
		       uint8_t *buf, size_t size, size_t *ret_len);
/* Checks and decodes a signed announcement.  @now (unix seconds) bounds
 * the timestamp to +-MESH_MAX_SKEW_S; 0 skips that check (the peer cache,
 * whose entries are older).  Returns 0, -EBADMSG (malformed, bad proof or
 * signature), -ESTALE (outside the skew).  *ret is untouched on failure. */
int mesh_announce_verify(const struct mesh_keys *k, const uint8_t *buf, size_t len, uint64_t now,
			 struct mesh_announce *ret);

/* The signing key and the time of a signed announcement, without
 * checking anything else: enough to skip the checks of one that is not
 * newer than what we have.  Returns false when it is too short. */
bool mesh_announce_peek(const uint8_t *buf, size_t len, uint8_t ret_sign_pk[32], uint64_t *ret_timestamp);

/* Seals @plain (at most MESH_FRAME_PLAIN_MAX - 1 bytes) as a frame of
 * @type.  Returns 0, -EMSGSIZE, -ENOBUFS. */
int mesh_frame_seal(const struct mesh_keys *k, uint8_t type, const uint8_t *plain, size_t plain_len, uint8_t *buf,
		    size_t size, size_t *ret_len);
/* For tests and test vectors only: seals with the given nonce instead of
 * a random one.  Two frames with one nonce break the encryption. */
int mesh_frame_seal_fixed(const struct mesh_keys *k, uint8_t type, const uint8_t *plain, size_t plain_len,
			  const uint8_t nonce[MESH_FRAME_NONCE_LEN], uint8_t *buf, size_t size, size_t *ret_len);
/* Opens a frame; @plain must hold MESH_FRAME_PLAIN_MAX bytes (-ENOBUFS
 * when it cannot hold this frame's payload).  Returns 0, or -EBADMSG for
 * anything that is not a frame sealed with @k. */
int mesh_frame_open(const struct mesh_keys *k, const uint8_t *buf, size_t len, uint8_t *ret_type, uint8_t *plain,
		    size_t plain_size, size_t *ret_len);
bool mesh_frame_is_mesh(const uint8_t *buf, size_t len);

/* Gossip list: a count and length-prefixed signed announcements.
 * mesh_gossip_encode() takes as many of @anns as fit in @size bytes and
 * returns how many (0 when not even the first fits). */
size_t mesh_gossip_encode(const uint8_t *const *anns, const size_t *lens, size_t n, uint8_t *buf, size_t size,
			  size_t *ret_len);
/* Walks a decoded gossip list: *off starts at 0; returns 1 and the next
 * announcement's bytes, 0 at the end, -EBADMSG when malformed (the caller
 * drops the whole list). */
int mesh_gossip_next(const uint8_t *buf, size_t len, size_t *off, const uint8_t **ret_ann, size_t *ret_ann_len);

/* A rotation: the new secret and the end of the grace period (unix
 * seconds), signed by the member that started it. */
#define MESH_ROTATE_LEN (32 + MESH_SECRET_LEN + 8 + 64)
int mesh_rotate_sign(const struct mesh_hostkey *hk, const uint8_t new_secret[MESH_SECRET_LEN], uint64_t grace_end,
		     uint8_t out[MESH_ROTATE_LEN]);
int mesh_rotate_verify(const uint8_t *buf, size_t len, uint8_t ret_sign_pk[32],
		       uint8_t ret_new_secret[MESH_SECRET_LEN], uint64_t *ret_grace_end);

/* The host's mesh key: one Ed25519 key pair, generated once and kept in
 * the state directory (file "host.key", mode 0600, the base64url without
 * padding of the 32-byte seed and a newline: docs/PROTOCOL.md 10.3).  The
 * WireGuard key pair is the same key in Montgomery form
 * (crypto_sign_ed25519_{sk,pk}_to_curve25519), so the public key that
 * signs an announcement proves the WireGuard public key it stands for,
 * with no extra binding message. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define MESH_HOSTKEY_FILE "host.key"

struct mesh_hostkey {
	uint8_t sign_pk[32];
	uint8_t sign_sk[64];
	uint8_t wg_private[32];
	uint8_t wg_public[32];
};

/* Returns false for a seed whose public key has no Montgomery form. */
bool mesh_hostkey_from_seed(const uint8_t seed[32], struct mesh_hostkey *ret);
/* Reads @state_dir/host.key, or makes it (and @state_dir, mode 0700) when
 * missing: written to a temporary file and renamed, so a crash leaves
 * either no key or a whole one.  A file that is not a key is an error
 * quoting the path; so is one that group or others may read. */
bool mesh_hostkey_load_or_create(const char *state_dir, struct mesh_hostkey *ret, GError **error);
void mesh_hostkey_wipe(struct mesh_hostkey *hk);
/* The WireGuard public key that @sign_pk stands for; false when it has
 * none (not a point, small order). */
bool mesh_wg_public_from_sign_pk(const uint8_t sign_pk[32], uint8_t ret[32]);

/* The mesh secret and everything derived from it (docs/PROTOCOL.md,
 * section 10 "Mesh", has every byte and the test vectors).
 *
 * A mesh is named by one 32-byte random secret, written as
 * "wice://v1/" + base64url (no padding).  Each derived value is a keyed
 * BLAKE2b (crypto_generichash) of a distinct label under the secret, so
 * no value tells anything about another or about the secret.  Values that
 * belong to a member (its addresses, the pre-shared key of a pair) are
 * keyed hashes of the member's public key under a derived key.
 *
 * Plain C + libsodium, no GLib, no I/O. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signaling/relay-proto.h"

#define MESH_SECRET_LEN 32
#define MESH_SECRET_PREFIX "wice://v1/"
/* prefix + 43 characters of base64url + NUL */
#define MESH_SECRET_STR_LEN (sizeof(MESH_SECRET_PREFIX) - 1 + 43 + 1)
#define MESH_KEY_LEN 32
#define MESH_NETWORK_ID_LEN 8
#define MESH_NETWORK_ID_STR_LEN (2 * MESH_NETWORK_ID_LEN + 1)
/* The mesh listen port is MESH_PORT_BASE + (derived % MESH_PORT_SPAN). */
#define MESH_PORT_BASE 51821
#define MESH_PORT_SPAN 4000
/* The LAN port: above Linux's ephemeral range (32768-60999) and the
 * default multicast port 61820. */
#define MESH_LAN_PORT_BASE 61821
#define MESH_LAN_PORT_SPAN 3000

struct mesh_keys {
	uint8_t network_id[MESH_NETWORK_ID_LEN]; /* not secret: shown to users */
	uint8_t membership_key[MESH_KEY_LEN];    /* proofs of the secret */
	uint8_t announce_key[MESH_KEY_LEN];      /* seals every mesh frame */
	uint8_t psk_key[MESH_KEY_LEN];           /* pair pre-shared keys */
	uint8_t address_key[MESH_KEY_LEN];       /* member addresses */
	uint8_t rendezvous_key[MESH_KEY_LEN];    /* signal server mailboxes */
	uint16_t listen_port;                    /* WireGuard, every member */
	struct in_addr lan_group4;               /* 239.255.x.y */
	struct in6_addr lan_group6;              /* ff12::6d65:7368:x:y */
	uint16_t lan_port;
	struct in_addr net4;   /* 10.x.0.0/16 */
	struct in6_addr net6;  /* fdxx:xxxx:xxxx::/48, ULA (RFC 4193) */
};

/* Parses "wice://v1/<43 characters>", with surrounding white space (a
 * secret file ends with a newline).  Only the canonical base64url spelling
 * is accepted.  Returns false for anything else. */
bool mesh_secret_parse(const char *text, size_t len, uint8_t ret[MESH_SECRET_LEN]);
void mesh_secret_format(const uint8_t secret[MESH_SECRET_LEN], char out[MESH_SECRET_STR_LEN]);
/* A new random secret. */
void mesh_secret_generate(uint8_t ret[MESH_SECRET_LEN]);

void mesh_keys_derive(const uint8_t secret[MESH_SECRET_LEN], struct mesh_keys *ret);
void mesh_keys_wipe(struct mesh_keys *k);
/* Lower-case hex of the network id. */
void mesh_network_id_str(const struct mesh_keys *k, char out[MESH_NETWORK_ID_STR_LEN]);

/* The WireGuard pre-shared key of the pair (a, b): the same for (b, a). */
void mesh_pair_psk(const struct mesh_keys *k, const uint8_t a[32], const uint8_t b[32], uint8_t ret[32]);

/* A member's addresses: derived from its WireGuard public key and a
 * collision counter (0 first; a member that loses a collision re-derives
 * with counter + 1).  The IPv4 host part is never all zeros or all ones;
 * the IPv6 interface id is never zero. */
void mesh_address4(const struct mesh_keys *k, const uint8_t wg_public[32], uint8_t counter, struct in_addr *ret);
void mesh_address6(const struct mesh_keys *k, const uint8_t wg_public[32], uint8_t counter, struct in6_addr *ret);

/* The proof of the secret that every announcement carries: a MAC under
 * the membership key of the sender's signing key and the time. */
#define MESH_PROOF_LEN 32
void mesh_membership_proof(const struct mesh_keys *k, const uint8_t sign_pk[32], uint64_t timestamp,
			   uint8_t ret[MESH_PROOF_LEN]);
bool mesh_membership_proof_verify(const struct mesh_keys *k, const uint8_t sign_pk[32], uint64_t timestamp,
				  const uint8_t proof[MESH_PROOF_LEN]);

/* Signal server mailboxes (Ed25519 key pairs seeded from the keys, so
 * every member can post to and read them; the server sees opaque ids):
 * the rendezvous mailbox of one hour (unix time / 3600), and a member's
 * inbox, where others introduce themselves to it. */
void mesh_rendezvous_mailbox(const struct mesh_keys *k, uint64_t hour, uint8_t ret_id[RELAY_ID_LEN],
			     uint8_t ret_secret[RELAY_SECRET_KEY_LEN]);
void mesh_inbox_mailbox(const struct mesh_keys *k, const uint8_t wg_public[32], uint8_t ret_id[RELAY_ID_LEN],
			uint8_t ret_secret[RELAY_SECRET_KEY_LEN]);

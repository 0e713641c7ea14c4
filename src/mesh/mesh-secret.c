/* Derivations from the mesh secret; docs/PROTOCOL.md section 10 is the
 * specification, and this file must match it byte for byte. */
#include "mesh-secret.h"

#include <sodium.h>
#include <string.h>

#define LABEL_PREFIX "wice mesh v1 "

/* out = the first out_len bytes of BLAKE2b-256(key = key, message =
 * "wice mesh v1 " || label || data).  Always 32 bytes, then cut: BLAKE2b
 * outputs under 16 bytes are below libsodium's documented minimum. */
static void keyed_hash(uint8_t *out, size_t out_len, const uint8_t key[32], const char *label,
		       const uint8_t *data, size_t data_len)
{
	crypto_generichash_state st;
	uint8_t full[32];

	crypto_generichash_init(&st, key, 32, sizeof(full));
	crypto_generichash_update(&st, (const uint8_t *)LABEL_PREFIX, strlen(LABEL_PREFIX));
	crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
	if (data_len)
		crypto_generichash_update(&st, data, data_len);
	crypto_generichash_final(&st, full, sizeof(full));
	memcpy(out, full, out_len < sizeof(full) ? out_len : sizeof(full));
	sodium_memzero(full, sizeof(full));
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool mesh_secret_parse(const char *text, size_t len, uint8_t ret[MESH_SECRET_LEN])
{
	const size_t prefix_len = strlen(MESH_SECRET_PREFIX);
	uint8_t secret[MESH_SECRET_LEN];

	while (len && is_space(*text))
		text++, len--;
	while (len && is_space(text[len - 1]))
		len--;
	if (len != MESH_SECRET_STR_LEN - 1 || memcmp(text, MESH_SECRET_PREFIX, prefix_len) != 0)
		return false;
	if (!relay_b64_decode(secret, sizeof(secret), text + prefix_len, len - prefix_len))
		return false;
	memcpy(ret, secret, sizeof(secret));
	sodium_memzero(secret, sizeof(secret));
	return true;
}

void mesh_secret_format(const uint8_t secret[MESH_SECRET_LEN], char out[MESH_SECRET_STR_LEN])
{
	const size_t prefix_len = strlen(MESH_SECRET_PREFIX);

	memcpy(out, MESH_SECRET_PREFIX, prefix_len);
	relay_b64_encode(out + prefix_len, MESH_SECRET_STR_LEN - prefix_len, secret, MESH_SECRET_LEN);
}

void mesh_secret_generate(uint8_t ret[MESH_SECRET_LEN])
{
	randombytes_buf(ret, MESH_SECRET_LEN);
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

void mesh_keys_derive(const uint8_t secret[MESH_SECRET_LEN], struct mesh_keys *ret)
{
	uint8_t v[4];

	memset(ret, 0, sizeof(*ret));
	keyed_hash(ret->network_id, sizeof(ret->network_id), secret, "network-id", NULL, 0);
	keyed_hash(ret->membership_key, MESH_KEY_LEN, secret, "membership", NULL, 0);
	keyed_hash(ret->announce_key, MESH_KEY_LEN, secret, "announce", NULL, 0);
	keyed_hash(ret->psk_key, MESH_KEY_LEN, secret, "psk", NULL, 0);
	keyed_hash(ret->address_key, MESH_KEY_LEN, secret, "address", NULL, 0);
	keyed_hash(ret->rendezvous_key, MESH_KEY_LEN, secret, "rendezvous", NULL, 0);

	keyed_hash(v, 4, secret, "listen-port", NULL, 0);
	ret->listen_port = (uint16_t)(MESH_PORT_BASE + be16(v) % MESH_PORT_SPAN);

	/* 239.255.0.0/16 is organisation-local scope (RFC 2365); ff12::/16 is
	 * a transient link-local group, as the default signaling group. */
	keyed_hash(v, 4, secret, "lan", NULL, 0);
	uint8_t *g4 = (uint8_t *)&ret->lan_group4;
	g4[0] = 239, g4[1] = 255, g4[2] = v[0], g4[3] = v[1];
	static const uint8_t g6_head[12] = {0xff, 0x12, 0, 0, 0, 0, 0, 0, 0x6d, 0x65, 0x73, 0x68};
	memcpy(ret->lan_group6.s6_addr, g6_head, sizeof(g6_head));
	memcpy(ret->lan_group6.s6_addr + 12, v, 4);
	ret->lan_port = (uint16_t)(MESH_LAN_PORT_BASE + be16(v + 2) % MESH_LAN_PORT_SPAN);

	keyed_hash(v, 1, secret, "ipv4-net", NULL, 0);
	uint8_t *n4 = (uint8_t *)&ret->net4;
	n4[0] = 10, n4[1] = v[0];

	uint8_t gid[5];
	keyed_hash(gid, sizeof(gid), secret, "ipv6-net", NULL, 0);
	ret->net6.s6_addr[0] = 0xfd;
	memcpy(ret->net6.s6_addr + 1, gid, sizeof(gid));
	sodium_memzero(v, sizeof(v));
}

void mesh_keys_wipe(struct mesh_keys *k)
{
	sodium_memzero(k, sizeof(*k));
}

void mesh_network_id_str(const struct mesh_keys *k, char out[MESH_NETWORK_ID_STR_LEN])
{
	sodium_bin2hex(out, MESH_NETWORK_ID_STR_LEN, k->network_id, MESH_NETWORK_ID_LEN);
}

void mesh_pair_psk(const struct mesh_keys *k, const uint8_t a[32], const uint8_t b[32], uint8_t ret[32])
{
	uint8_t pair[64];
	bool a_first = memcmp(a, b, 32) <= 0;

	memcpy(pair, a_first ? a : b, 32);
	memcpy(pair + 32, a_first ? b : a, 32);
	keyed_hash(ret, 32, k->psk_key, "pair-psk", pair, sizeof(pair));
}

static void member_hash(const struct mesh_keys *k, const char *label, const uint8_t wg_public[32],
			uint8_t counter, uint8_t *out, size_t out_len)
{
	uint8_t data[33];

	memcpy(data, wg_public, 32);
	data[32] = counter;
	keyed_hash(out, out_len, k->address_key, label, data, sizeof(data));
}

void mesh_address4(const struct mesh_keys *k, const uint8_t wg_public[32], uint8_t counter, struct in_addr *ret)
{
	uint8_t v[4];
	uint8_t *a = (uint8_t *)ret;

	member_hash(k, "ipv4-host", wg_public, counter, v, sizeof(v));
	/* 1..65534: neither the network nor the broadcast address */
	uint32_t host = 1 + ((uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3]) % 65534;
	memcpy(a, &k->net4, 2);
	a[2] = (uint8_t)(host >> 8), a[3] = (uint8_t)host;
}

void mesh_address6(const struct mesh_keys *k, const uint8_t wg_public[32], uint8_t counter, struct in6_addr *ret)
{
	uint8_t iid[8];
	static const uint8_t zero[8];

	member_hash(k, "ipv6-iid", wg_public, counter, iid, sizeof(iid));
	if (memcmp(iid, zero, sizeof(zero)) == 0)
		iid[7] = 1;
	memcpy(ret->s6_addr, k->net6.s6_addr, 6);
	ret->s6_addr[6] = ret->s6_addr[7] = 0; /* subnet 0 */
	memcpy(ret->s6_addr + 8, iid, sizeof(iid));
}

static void proof_input(const uint8_t sign_pk[32], uint64_t timestamp, uint8_t out[40])
{
	memcpy(out, sign_pk, 32);
	for (int i = 0; i < 8; i++)
		out[32 + i] = (uint8_t)(timestamp >> (56 - 8 * i));
}

void mesh_membership_proof(const struct mesh_keys *k, const uint8_t sign_pk[32], uint64_t timestamp,
			   uint8_t ret[MESH_PROOF_LEN])
{
	uint8_t in[40];

	proof_input(sign_pk, timestamp, in);
	keyed_hash(ret, MESH_PROOF_LEN, k->membership_key, "proof", in, sizeof(in));
}

bool mesh_membership_proof_verify(const struct mesh_keys *k, const uint8_t sign_pk[32], uint64_t timestamp,
				  const uint8_t proof[MESH_PROOF_LEN])
{
	uint8_t want[MESH_PROOF_LEN];

	mesh_membership_proof(k, sign_pk, timestamp, want);
	bool ok = sodium_memcmp(want, proof, MESH_PROOF_LEN) == 0;
	sodium_memzero(want, sizeof(want));
	return ok;
}

static void mailbox_from_seed(const uint8_t seed[32], uint8_t ret_id[RELAY_ID_LEN],
			      uint8_t ret_secret[RELAY_SECRET_KEY_LEN])
{
	crypto_sign_seed_keypair(ret_id, ret_secret, seed);
}

void mesh_rendezvous_mailbox(const struct mesh_keys *k, uint64_t hour, uint8_t ret_id[RELAY_ID_LEN],
			     uint8_t ret_secret[RELAY_SECRET_KEY_LEN])
{
	uint8_t in[8], seed[32];

	for (int i = 0; i < 8; i++)
		in[i] = (uint8_t)(hour >> (56 - 8 * i));
	keyed_hash(seed, sizeof(seed), k->rendezvous_key, "hour", in, sizeof(in));
	mailbox_from_seed(seed, ret_id, ret_secret);
	sodium_memzero(seed, sizeof(seed));
}

void mesh_inbox_mailbox(const struct mesh_keys *k, const uint8_t wg_public[32], uint8_t ret_id[RELAY_ID_LEN],
			uint8_t ret_secret[RELAY_SECRET_KEY_LEN])
{
	uint8_t seed[32];

	keyed_hash(seed, sizeof(seed), k->rendezvous_key, "inbox", wg_public, 32);
	mailbox_from_seed(seed, ret_id, ret_secret);
	sodium_memzero(seed, sizeof(seed));
}

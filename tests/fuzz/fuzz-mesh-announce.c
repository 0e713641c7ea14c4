/* libFuzzer harness for the mesh wire formats (src/mesh/mesh-announce.c).
 *
 * The first input byte picks the target, the rest is its input:
 *   0  mesh_announce_verify() on raw bytes: the parser must refuse
 *      garbage without reading out of bounds
 *   1  mesh_frame_open() on raw bytes; whatever opens must look like a
 *      frame to mesh_frame_is_mesh()
 *   2  mesh_gossip_next() walking raw bytes; every entry it gives out lies
 *      inside the list and the walk ends
 *   3  the bytes as an announcement body under a fixed host key: the
 *      key and time are put in place and a true proof and signature
 *      added, so random bodies get past the crypto; what verifies must
 *      sign again to the same bytes (the codec agrees with itself)
 *   4  the bytes as the plaintext of a frame sealed with the fixed keys:
 *      it must open to the same type and bytes, and its payload goes to
 *      the parser its type names (announcement, gossip list, rotation)
 *   5  mesh_rotate_verify() on raw bytes
 * Any broken property aborts. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mesh/mesh-announce.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define T0 1700000000u

static struct mesh_keys keys;
static struct mesh_hostkey host;

static void check(int ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t secret[MESH_SECRET_LEN], seed[32];

	check(sodium_init() >= 0);
	for (int i = 0; i < 32; i++)
		secret[i] = (uint8_t)i, seed[i] = (uint8_t)(0x20 + i);
	mesh_keys_derive(secret, &keys);
	check(mesh_hostkey_from_seed(seed, &host));
	return 0;
}

static void fuzz_verify(const uint8_t *data, size_t size)
{
	struct mesh_announce a;
	int r = mesh_announce_verify(&keys, data, size, T0, &a);

	check(r == 0 || r == -EBADMSG || r == -ESTALE);
}

static void fuzz_open(const uint8_t *data, size_t size)
{
	uint8_t plain[MESH_FRAME_PLAIN_MAX], type;
	size_t len;

	if (mesh_frame_open(&keys, data, size, &type, plain, sizeof(plain), &len) == 0)
		check(mesh_frame_is_mesh(data, size) && len + 1 + MESH_FRAME_OVERHEAD == size);
}

/* Returns the number of entries, or -1 for a list refused. */
static int walk_gossip(const uint8_t *data, size_t size, bool verify)
{
	const uint8_t *ann;
	size_t off = 0, len;
	int r, n = 0;
	struct mesh_announce a;

	while ((r = mesh_gossip_next(data, size, &off, &ann, &len)) == 1) {
		check(ann >= data && len >= 1 && len <= MESH_ANNOUNCE_MAX && ann + len <= data + size);
		check(off <= size && n < 256);
		if (verify)
			(void)mesh_announce_verify(&keys, ann, len, 0, &a);
		n++;
	}
	check(r == 0 || (r == -EBADMSG && n == 0));
	return r == 0 ? n : -1;
}

static uint64_t get_time(const uint8_t *ann)
{
	uint64_t t = 0;

	for (int i = 0; i < 8; i++)
		t = t << 8 | ann[33 + i];
	return t;
}

static void fuzz_signed(const uint8_t *data, size_t size)
{
	uint8_t buf[MESH_ANNOUNCE_MAX + 128], again[MESH_ANNOUNCE_MAX];
	struct mesh_announce a;
	size_t len, again_len;

	if (size < 41 || size > MESH_ANNOUNCE_MAX - 96)
		return;
	memcpy(buf, data, size);
	memcpy(buf + 1, host.sign_pk, 32);
	mesh_membership_proof(&keys, host.sign_pk, get_time(buf), buf + size);
	crypto_sign_detached(buf + size + 32, NULL, buf, size + 32, host.sign_sk);
	len = size + 96;
	if (mesh_announce_verify(&keys, buf, len, 0, &a) != 0)
		return;
	check(mesh_announce_sign(&keys, &host, &a, again, sizeof(again), &again_len) == 0);
	check(again_len == len && memcmp(again, buf, len) == 0);
}

static void open_payload(uint8_t type, const uint8_t *p, size_t len)
{
	struct mesh_announce a;
	uint8_t pk[32], secret[MESH_SECRET_LEN];
	uint64_t grace;

	switch (type) {
	case MESH_FRAME_ANNOUNCE:
		(void)mesh_announce_verify(&keys, p, len, T0, &a);
		break;
	case MESH_FRAME_GOSSIP:
		(void)walk_gossip(p, len, true);
		break;
	case MESH_FRAME_ROTATE:
		(void)mesh_rotate_verify(p, len, pk, secret, &grace);
		break;
	default:
		break;
	}
}

static void fuzz_sealed(const uint8_t *data, size_t size)
{
	uint8_t frame[MESH_FRAME_MAX], plain[MESH_FRAME_PLAIN_MAX], nonce[MESH_FRAME_NONCE_LEN] = { 0 };
	uint8_t type;
	size_t len, plain_len;

	if (size < 1)
		return;
	if (mesh_frame_seal_fixed(&keys, data[0] % 4, data + 1, size - 1, nonce, frame, sizeof(frame), &len) != 0) {
		check(size - 1 > MESH_FRAME_PLAIN_MAX - 1);
		return;
	}
	check(mesh_frame_open(&keys, frame, len, &type, plain, sizeof(plain), &plain_len) == 0);
	check(type == data[0] % 4 && plain_len == size - 1 && memcmp(plain, data + 1, plain_len) == 0);
	open_payload(type, plain, plain_len);
}

static void fuzz_rotate(const uint8_t *data, size_t size)
{
	uint8_t pk[32], secret[MESH_SECRET_LEN];
	uint64_t grace;

	int r = mesh_rotate_verify(data, size, pk, secret, &grace);

	check(r == 0 || r == -EBADMSG);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 6) {
	case 0:
		fuzz_verify(data + 1, size - 1);
		break;
	case 1:
		fuzz_open(data + 1, size - 1);
		break;
	case 2:
		(void)walk_gossip(data + 1, size - 1, false);
		break;
	case 3:
		fuzz_signed(data + 1, size - 1);
		break;
	case 4:
		fuzz_sealed(data + 1, size - 1);
		break;
	default:
		fuzz_rotate(data + 1, size - 1);
		break;
	}
	return 0;
}

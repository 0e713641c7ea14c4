/* Mesh wire formats: the vectors of docs/PROTOCOL.md section 11, every
 * field's limits on both sides of the codec, and every way an outsider, a
 * forwarder or a broken network could alter an announcement, a frame, a
 * gossip list or a rotation. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "mesh/mesh-announce.h"

#define T0 1700000000u

/* Secret 0x00..0x1f, host key seed 0x20..0x3f, time T0: "alpha" with one
 * route and one endpoint of each family. */
#define VECTOR_ANNOUNCE_HEX \
	"0129acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966d" \
	"d7000000006553f100000005616c706861020418c0a832000640fd0000010000" \
	"000000000000000000000204c0000201ca6c0620010db8000000000000000000" \
	"000001ca6d7b00caf342609c4a8e4da6504abefa99cf242f9a7957679baa499f" \
	"2d994d74a5c406d8dc4ac501b6561be0d1fbb025f46473eed8f13f8b7561c464" \
	"a59ef67724d1839e73fd0eb5923471e60e94ee47627e8432c6349de0fa9d8b3a" \
	"a856f08107"
/* VECTOR_ANNOUNCE as a frame of type 1, nonce 0x40..0x57. */
#define VECTOR_FRAME_HEX \
	"4d404142434445464748494a4b4c4d4e4f5051525354555657890c700a0fdc2b" \
	"5e028f5bcfacd9ac483a8f27b6447cad84994dbfa82476c22594a4d223974846" \
	"fd050d00850bd7dc028ef94306c80ae91d1d67c21c9deed297c376d19621b13a" \
	"baf69529cabdf60d9e0c780e795e3f2615bfc8e131be635a1825201aaa3fd1b9" \
	"fed497989a2e36383f70275ddb875b1fb0b0573f200e0d5c58ff821b67bef725" \
	"ef338f9cb01482c8141656348bd40d05e41f84e07b7bd9955a11660c0383f9a5" \
	"fad785616dca0dbe08b2c93a54c225e187bdf22a1a58c456ad9ac42e2fd568c9" \
	"34407e1dea15b50546e77547f36eca"

static struct mesh_keys keys, other_keys;
static struct mesh_hostkey host, other_host;

static void setup(void)
{
	uint8_t secret[MESH_SECRET_LEN], seed[32];

	cr_assert(sodium_init() >= 0);
	for (int i = 0; i < 32; i++)
		secret[i] = (uint8_t)i, seed[i] = (uint8_t)(0x20 + i);
	mesh_keys_derive(secret, &keys);
	cr_assert(mesh_hostkey_from_seed(seed, &host));
	secret[0] ^= 1, seed[0] ^= 1;
	mesh_keys_derive(secret, &other_keys);
	cr_assert(mesh_hostkey_from_seed(seed, &other_host));
}

TestSuite(mesh_announce, .init = setup);
TestSuite(mesh_frame, .init = setup);
TestSuite(mesh_gossip, .init = setup);
TestSuite(mesh_rotate, .init = setup);

static size_t unhex(uint8_t *out, size_t size, const char *hex)
{
	size_t len = 0;

	cr_assert_eq(sodium_hex2bin(out, size, hex, strlen(hex), NULL, &len, NULL), 0);
	return len;
}

static void route(struct mesh_prefix *p, const char *addr, uint8_t len)
{
	memset(p, 0, sizeof(*p));
	p->family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	cr_assert_eq(inet_pton(p->family, addr, p->addr), 1);
	p->len = len;
}

static void endpoint(struct sig_addr *e, const char *addr, uint16_t port)
{
	memset(e, 0, sizeof(*e));
	e->family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	cr_assert_eq(inet_pton(e->family, addr, e->addr), 1);
	e->port = port;
}

/* The announcement of the vector. */
static void vector_model(struct mesh_announce *a)
{
	memset(a, 0, sizeof(*a));
	memcpy(a->sign_pk, host.sign_pk, 32);
	a->timestamp = T0;
	strcpy(a->hostname, "alpha");
	a->n_routes = 2;
	route(&a->routes[0], "192.168.50.0", 24);
	route(&a->routes[1], "fd00:1::", 64);
	a->n_endpoints = 2;
	endpoint(&a->endpoints[0], "192.0.2.1", 51820);
	endpoint(&a->endpoints[1], "2001:db8::1", 51821);
}

/* The largest announcement: every field at its cap. */
static void full_model(struct mesh_announce *a)
{
	memset(a, 0, sizeof(*a));
	memcpy(a->sign_pk, host.sign_pk, 32);
	a->timestamp = T0;
	a->flags = MESH_ANNOUNCE_LEAVING;
	a->addr_counter = 255;
	memset(a->hostname, 'h', MESH_HOSTNAME_MAX);
	memcpy(a->hostname, "Az09-._", 7);
	a->n_routes = MESH_MAX_ROUTES;
	for (int i = 0; i < MESH_MAX_ROUTES; i++)
		route(&a->routes[i], "fd00:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 128);
	a->n_endpoints = MESH_MAX_ENDPOINTS;
	for (int i = 0; i < MESH_MAX_ENDPOINTS; i++)
		endpoint(&a->endpoints[i], "2001:db8::ffff", 65535);
}

static size_t sign(const struct mesh_announce *a, uint8_t buf[MESH_ANNOUNCE_MAX])
{
	size_t len = 0;

	cr_assert_eq(mesh_announce_sign(&keys, &host, a, buf, MESH_ANNOUNCE_MAX, &len), 0);
	return len;
}

/* Adds a proof and a signature to hand-made body bytes, so that the
 * decoder's own checks are what refuses them. */
static size_t seal_body(uint8_t *buf, size_t body_len, const struct mesh_hostkey *hk)
{
	mesh_membership_proof(&keys, hk->sign_pk, T0, buf + body_len);
	crypto_sign_detached(buf + body_len + 32, NULL, buf, body_len + 32, hk->sign_sk);
	return body_len + 32 + 64;
}

/* The vector's body: "alpha", no routes, no endpoints, then @tail. */
static size_t raw_body(uint8_t *buf, const uint8_t *tail, size_t tail_len)
{
	uint8_t *p = buf;

	*p++ = 1;
	memcpy(p, host.sign_pk, 32), p += 32;
	for (int i = 0; i < 8; i++)
		*p++ = (uint8_t)((uint64_t)T0 >> (56 - 8 * i));
	*p++ = 0, *p++ = 0;
	*p++ = 5, memcpy(p, "alpha", 5), p += 5;
	memcpy(p, tail, tail_len), p += tail_len;
	return (size_t)(p - buf);
}

static int verify_raw(const uint8_t *tail, size_t tail_len)
{
	uint8_t buf[1024];
	struct mesh_announce out;
	size_t len = seal_body(buf, raw_body(buf, tail, tail_len), &host);

	return mesh_announce_verify(&keys, buf, len, T0, &out);
}

/* ---- announcements --------------------------------------------------------- */

Test(mesh_announce, vector)
{
	struct mesh_announce a, out;
	uint8_t want[MESH_ANNOUNCE_MAX], buf[MESH_ANNOUNCE_MAX];
	size_t want_len = unhex(want, sizeof(want), VECTOR_ANNOUNCE_HEX);

	vector_model(&a);
	cr_assert_eq(sign(&a, buf), want_len);
	cr_assert_arr_eq(buf, want, want_len);
	cr_assert_eq(mesh_announce_verify(&keys, want, want_len, T0, &out), 0);
	cr_assert_arr_eq(&out, &a, sizeof(a));
}

Test(mesh_announce, full_round_trip)
{
	struct mesh_announce a, out;
	uint8_t buf[MESH_ANNOUNCE_MAX];
	size_t len;

	full_model(&a);
	len = sign(&a, buf);
	cr_assert_eq(len, 645, "docs/PROTOCOL.md 11.1 gives the largest as 645 bytes");
	cr_assert_eq(mesh_announce_verify(&keys, buf, len, T0, &out), 0);
	cr_assert_arr_eq(&out, &a, sizeof(a));
}

Test(mesh_announce, smallest_round_trip)
{
	struct mesh_announce a, out;
	uint8_t buf[MESH_ANNOUNCE_MAX];
	size_t len;

	memset(&a, 0, sizeof(a));
	memcpy(a.sign_pk, host.sign_pk, 32);
	len = sign(&a, buf);
	cr_assert_eq(len, 43 + 3 + 32 + 64);
	cr_assert_eq(mesh_announce_verify(&keys, buf, len, 0, &out), 0);
	cr_assert_arr_eq(&out, &a, sizeof(a));
}

Test(mesh_announce, encoder_refuses_invalid_fields)
{
	struct mesh_announce a;
	uint8_t buf[MESH_ANNOUNCE_MAX];
	size_t len;

#define REFUSED(change)                                                                   \
	do {                                                                              \
		vector_model(&a);                                                         \
		change;                                                                   \
		cr_assert_eq(mesh_announce_sign(&keys, &host, &a, buf, sizeof(buf), &len), \
			     -EINVAL, "%s", #change);                                     \
	} while (0)
	REFUSED(a.flags = 4);
	REFUSED(a.flags = 0x80);
	REFUSED(strcpy(a.hostname, "al pha"));
	REFUSED(strcpy(a.hostname, "al\npha"));
	REFUSED(strcpy(a.hostname, "alpha:"));
	REFUSED(memset(a.hostname, 'a', sizeof(a.hostname)));
	REFUSED(a.n_routes = MESH_MAX_ROUTES + 1);
	REFUSED(a.n_endpoints = MESH_MAX_ENDPOINTS + 1);
	REFUSED(a.routes[0].len = 33);
	REFUSED(a.routes[1].len = 129);
	REFUSED(a.routes[0].len = 16);  /* 192.168.50.0/16: host bits set */
	REFUSED(a.routes[1].len = 15);  /* fd00:1::/15 */
	REFUSED(a.routes[0].family = AF_UNIX);
	REFUSED(a.endpoints[0].port = 0);
	REFUSED(a.endpoints[1].family = AF_UNSPEC);
	REFUSED(memset(a.endpoints[0].addr, 0, 4));
	REFUSED(memset(a.endpoints[1].addr, 0, 16));
	REFUSED(a.sign_pk[0] ^= 1); /* not the signing key */
#undef REFUSED
}

Test(mesh_announce, encoder_accepts_limits)
{
	struct mesh_announce a, out;
	uint8_t buf[MESH_ANNOUNCE_MAX];
	size_t len;

	vector_model(&a);
	a.routes[0].len = 32, a.routes[1].len = 128;
	len = sign(&a, buf);
	cr_assert_eq(mesh_announce_verify(&keys, buf, len, T0, &out), 0);
	a.routes[0].len = 0, memset(a.routes[0].addr, 0, 4);
	a.routes[1].len = 0, memset(a.routes[1].addr, 0, 16);
	a.endpoints[0].port = 1;
	len = sign(&a, buf);
	cr_assert_eq(mesh_announce_verify(&keys, buf, len, T0, &out), 0);
	cr_assert_arr_eq(&out, &a, sizeof(a));
}

Test(mesh_announce, short_buffer)
{
	struct mesh_announce a;
	uint8_t buf[MESH_ANNOUNCE_MAX];
	size_t len, want;

	vector_model(&a);
	want = sign(&a, buf);
	for (size_t size = 0; size < want; size++)
		cr_assert_eq(mesh_announce_sign(&keys, &host, &a, buf, size, &len), -ENOBUFS);
}

Test(mesh_announce, decoder_refuses_each_field)
{
	/* n_routes, route..., n_endpoints, endpoint... */
	static const struct {
		const char *what;
		const char *tail_hex;
		int want;
	} cases[] = {
		{ "good", "00" "00", 0 },
		{ "good route and endpoint", "01 04 18 c0a83200" "01 04 c0000201 ca6c", 0 },
		{ "17 routes", "11", -EBADMSG },
		{ "9 endpoints", "00 09", -EBADMSG },
		{ "route family 5", "01 05 00 00000000" "00", -EBADMSG },
		{ "route family 0", "01 00 00" "00", -EBADMSG },
		{ "route /33", "01 04 21 c0a83200" "00", -EBADMSG },
		{ "route /129", "01 06 81 fd000001000000000000000000000000" "00", -EBADMSG },
		{ "route host bits", "01 04 17 c0a83300" "00", -EBADMSG },
		{ "endpoint port 0", "00 01 04 c0000201 0000", -EBADMSG },
		{ "endpoint 0.0.0.0", "00 01 04 00000000 ca6c", -EBADMSG },
		{ "endpoint family 6 short", "00 01 06 c0000201 ca6c", -EBADMSG },
		{ "endpoint family 9", "00 01 09 c0000201 ca6c", -EBADMSG },
		{ "missing endpoint count", "00", -EBADMSG },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t tail[256];
		size_t len = 0;

		cr_assert_eq(sodium_hex2bin(tail, sizeof(tail), cases[i].tail_hex, strlen(cases[i].tail_hex), " ",
					    &len, NULL),
			     0);
		cr_assert_eq(verify_raw(tail, len), cases[i].want, "%s", cases[i].what);
	}
}

/* Header fields, with the proof and signature made right after the change. */
Test(mesh_announce, decoder_refuses_header_fields)
{
	uint8_t buf[1024];
	struct mesh_announce out;
	const uint8_t tail[] = { 0, 0 };
	size_t body = raw_body(buf, tail, sizeof(tail));

#define REFUSED(change, ...)                                                                              \
	do {                                                                                              \
		body = raw_body(buf, tail, sizeof(tail));                                                 \
		change;                                                                                   \
		cr_assert_eq(mesh_announce_verify(&keys, buf, seal_body(buf, body, &host), T0, &out), \
			     -EBADMSG, "%s", #change);                                                    \
	} while (0)
	REFUSED(buf[0] = 0);
	REFUSED(buf[0] = 2);
	REFUSED(buf[41] = 4);           /* an unknown flag */
	REFUSED(buf[43] = 64);          /* hostname longer than 63 */
	REFUSED(buf[43] = 6);           /* hostname runs into the counts */
	REFUSED(buf[44] = ' ');
	REFUSED(buf[44] = '\0');
	REFUSED(buf[48] = 0xc3);
	REFUSED(buf[body++] = 0);       /* a trailing byte before the proof */
#undef REFUSED
}

Test(mesh_announce, hostname_lengths)
{
	struct mesh_announce a, out;
	uint8_t buf[MESH_ANNOUNCE_MAX];

	for (size_t n = 0; n <= MESH_HOSTNAME_MAX; n++) {
		vector_model(&a);
		memset(a.hostname, 0, sizeof(a.hostname));
		memset(a.hostname, 'x', n);
		cr_assert_eq(mesh_announce_verify(&keys, buf, sign(&a, buf), T0, &out), 0);
		cr_assert_str_eq(out.hostname, a.hostname);
	}
}

Test(mesh_announce, every_changed_byte_rejected)
{
	struct mesh_announce a, out;
	uint8_t buf[MESH_ANNOUNCE_MAX];
	size_t len;

	vector_model(&a);
	len = sign(&a, buf);
	for (size_t i = 0; i < len; i++)
		for (int bit = 0; bit < 8; bit++) {
			buf[i] ^= (uint8_t)(1 << bit);
			cr_assert_eq(mesh_announce_verify(&keys, buf, len, T0, &out), -EBADMSG, "byte %zu bit %d",
				     i, bit);
			buf[i] ^= (uint8_t)(1 << bit);
		}
	cr_assert_eq(mesh_announce_verify(&keys, buf, len, T0, &out), 0);
}

Test(mesh_announce, every_prefix_and_extension_rejected)
{
	struct mesh_announce a, out;
	uint8_t buf[MESH_ANNOUNCE_MAX + 1];
	size_t len;

	full_model(&a);
	a.n_routes = 3, a.n_endpoints = 3;
	len = sign(&a, buf);
	memset(&out, 0xee, sizeof(out));
	for (size_t n = 0; n < len; n++)
		cr_assert_eq(mesh_announce_verify(&keys, buf, n, T0, &out), -EBADMSG, "length %zu", n);
	buf[len] = 0;
	cr_assert_eq(mesh_announce_verify(&keys, buf, len + 1, T0, &out), -EBADMSG);
	cr_assert_eq(out.sign_pk[0], 0xee, "*ret untouched on failure");
}

Test(mesh_announce, wrong_secret_rejected)
{
	struct mesh_announce a, out;
	uint8_t buf[MESH_ANNOUNCE_MAX];
	size_t len;

	vector_model(&a);
	len = sign(&a, buf);
	cr_assert_eq(mesh_announce_verify(&other_keys, buf, len, T0, &out), -EBADMSG);
	cr_assert_eq(mesh_announce_sign(&other_keys, &host, &a, buf, sizeof(buf), &len), 0);
	cr_assert_eq(mesh_announce_verify(&keys, buf, len, T0, &out), -EBADMSG);
}

/* A proof is bound to its key: another member's proof, carried under
 * one's own key and signature, is worth nothing (and so is a proof lifted
 * off a captured announcement). */
Test(mesh_announce, proof_of_another_key_rejected)
{
	uint8_t buf[1024];
	struct mesh_announce out;
	const uint8_t tail[] = { 0, 0 };
	size_t body = raw_body(buf, tail, sizeof(tail));

	memcpy(buf + 1, other_host.sign_pk, 32);
	mesh_membership_proof(&keys, host.sign_pk, T0, buf + body);
	crypto_sign_detached(buf + body + 32, NULL, buf, body + 32, other_host.sign_sk);
	cr_assert_eq(mesh_announce_verify(&keys, buf, body + 96, T0, &out), -EBADMSG);
	/* The same with the right proof passes: the test above fails for the
	 * proof alone. */
	mesh_membership_proof(&keys, other_host.sign_pk, T0, buf + body);
	crypto_sign_detached(buf + body + 32, NULL, buf, body + 32, other_host.sign_sk);
	cr_assert_eq(mesh_announce_verify(&keys, buf, body + 96, T0, &out), 0);
}

Test(mesh_announce, signature_of_another_key_rejected)
{
	uint8_t buf[1024];
	struct mesh_announce out;
	const uint8_t tail[] = { 0, 0 };
	size_t body = raw_body(buf, tail, sizeof(tail));

	mesh_membership_proof(&keys, host.sign_pk, T0, buf + body);
	crypto_sign_detached(buf + body + 32, NULL, buf, body + 32, other_host.sign_sk);
	cr_assert_eq(mesh_announce_verify(&keys, buf, body + 96, T0, &out), -EBADMSG);
}

Test(mesh_announce, skew)
{
	struct mesh_announce a, out;
	uint8_t buf[MESH_ANNOUNCE_MAX];
	size_t len;

	vector_model(&a);
	len = sign(&a, buf);
	cr_assert_eq(mesh_announce_verify(&keys, buf, len, T0 - MESH_MAX_SKEW_S, &out), 0);
	cr_assert_eq(mesh_announce_verify(&keys, buf, len, T0 + MESH_MAX_SKEW_S, &out), 0);
	cr_assert_eq(mesh_announce_verify(&keys, buf, len, T0 - MESH_MAX_SKEW_S - 1, &out), -ESTALE);
	cr_assert_eq(mesh_announce_verify(&keys, buf, len, T0 + MESH_MAX_SKEW_S + 1, &out), -ESTALE);
	cr_assert_eq(mesh_announce_verify(&keys, buf, len, UINT64_MAX, &out), -ESTALE);
	cr_assert_eq(mesh_announce_verify(&keys, buf, len, 0, &out), 0);
	a.timestamp = UINT64_MAX;
	len = sign(&a, buf);
	cr_assert_eq(mesh_announce_verify(&keys, buf, len, 1, &out), -ESTALE);
	cr_assert_eq(mesh_announce_verify(&keys, buf, len, UINT64_MAX - MESH_MAX_SKEW_S, &out), 0);
}

/* ---- frames ---------------------------------------------------------------- */

static void vector_nonce(uint8_t nonce[MESH_FRAME_NONCE_LEN])
{
	for (int i = 0; i < MESH_FRAME_NONCE_LEN; i++)
		nonce[i] = (uint8_t)(0x40 + i);
}

Test(mesh_frame, vector)
{
	uint8_t ann[MESH_ANNOUNCE_MAX], want[MESH_FRAME_MAX], buf[MESH_FRAME_MAX], nonce[MESH_FRAME_NONCE_LEN];
	uint8_t plain[MESH_FRAME_PLAIN_MAX], type = 0;
	size_t ann_len = unhex(ann, sizeof(ann), VECTOR_ANNOUNCE_HEX);
	size_t want_len = unhex(want, sizeof(want), VECTOR_FRAME_HEX), len, plain_len;

	vector_nonce(nonce);
	cr_assert_eq(mesh_frame_seal_fixed(&keys, MESH_FRAME_ANNOUNCE, ann, ann_len, nonce, buf, sizeof(buf), &len),
		     0);
	cr_assert_eq(len, want_len);
	cr_assert_arr_eq(buf, want, len);
	cr_assert_eq(mesh_frame_open(&keys, want, want_len, &type, plain, sizeof(plain), &plain_len), 0);
	cr_assert_eq(type, MESH_FRAME_ANNOUNCE);
	cr_assert_eq(plain_len, ann_len);
	cr_assert_arr_eq(plain, ann, ann_len);
}

Test(mesh_frame, round_trip_sizes)
{
	static uint8_t payload[MESH_FRAME_PLAIN_MAX];
	uint8_t buf[MESH_FRAME_MAX], plain[MESH_FRAME_PLAIN_MAX], type;
	size_t len, plain_len;

	randombytes_buf(payload, sizeof(payload));
	for (size_t n = 0; n < MESH_FRAME_PLAIN_MAX; n += 97) {
		cr_assert_eq(mesh_frame_seal(&keys, MESH_FRAME_GOSSIP, payload, n, buf, sizeof(buf), &len), 0);
		cr_assert_eq(len, n + 1 + MESH_FRAME_OVERHEAD);
		cr_assert(mesh_frame_is_mesh(buf, len));
		cr_assert_eq(mesh_frame_open(&keys, buf, len, &type, plain, sizeof(plain), &plain_len), 0);
		cr_assert_eq(type, MESH_FRAME_GOSSIP);
		cr_assert_eq(plain_len, n);
		cr_assert_arr_eq(plain, payload, n);
	}
	cr_assert_eq(mesh_frame_seal(&keys, 3, payload, MESH_FRAME_PLAIN_MAX - 1, buf, sizeof(buf), &len), 0);
	cr_assert_eq(len, MESH_FRAME_MAX);
	cr_assert_eq(mesh_frame_open(&keys, buf, len, &type, plain, sizeof(plain), &plain_len), 0);
	cr_assert_eq(mesh_frame_seal(&keys, 3, payload, MESH_FRAME_PLAIN_MAX, buf, sizeof(buf), &len), -EMSGSIZE);
	cr_assert_eq(mesh_frame_seal(&keys, 3, payload, 10, buf, 10 + MESH_FRAME_OVERHEAD, &len), -ENOBUFS);
	cr_assert_eq(mesh_frame_seal(&keys, 3, payload, 10, buf, 11 + MESH_FRAME_OVERHEAD, &len), 0);
	cr_assert_eq(mesh_frame_open(&keys, buf, len, &type, plain, 9, &plain_len), -ENOBUFS);
	cr_assert_eq(mesh_frame_open(&keys, buf, len, &type, plain, 10, &plain_len), 0);
}

Test(mesh_frame, nonces_differ)
{
	uint8_t a[MESH_FRAME_MAX], b[MESH_FRAME_MAX];
	size_t la, lb;

	cr_assert_eq(mesh_frame_seal(&keys, 1, (const uint8_t *)"x", 1, a, sizeof(a), &la), 0);
	cr_assert_eq(mesh_frame_seal(&keys, 1, (const uint8_t *)"x", 1, b, sizeof(b), &lb), 0);
	cr_assert_eq(la, lb);
	cr_assert_neq(memcmp(a + 1, b + 1, MESH_FRAME_NONCE_LEN), 0);
}

Test(mesh_frame, wrong_key_truncation_and_changes_rejected)
{
	uint8_t buf[MESH_FRAME_MAX + 1], plain[MESH_FRAME_PLAIN_MAX], type = 0xee;
	size_t len, plain_len = 0xeeee;

	cr_assert_eq(mesh_frame_seal(&keys, 1, (const uint8_t *)"hello", 5, buf, sizeof(buf), &len), 0);
	cr_assert_eq(mesh_frame_open(&other_keys, buf, len, &type, plain, sizeof(plain), &plain_len), -EBADMSG);
	for (size_t n = 0; n < len; n++)
		cr_assert_eq(mesh_frame_open(&keys, buf, n, &type, plain, sizeof(plain), &plain_len), -EBADMSG,
			     "length %zu", n);
	buf[len] = 0;
	cr_assert_eq(mesh_frame_open(&keys, buf, len + 1, &type, plain, sizeof(plain), &plain_len), -EBADMSG);
	for (size_t i = 0; i < len; i++) {
		buf[i] ^= 0x01;
		cr_assert_eq(mesh_frame_open(&keys, buf, len, &type, plain, sizeof(plain), &plain_len), -EBADMSG,
			     "byte %zu", i);
		buf[i] ^= 0x01;
	}
	cr_assert_eq(type, 0xee, "untouched on failure");
	cr_assert_eq(plain_len, 0xeeee);
	cr_assert_eq(mesh_frame_open(&keys, buf, len, &type, plain, sizeof(plain), &plain_len), 0);
}

Test(mesh_frame, is_mesh)
{
	uint8_t buf[MESH_FRAME_MAX + 1] = { MESH_FRAME_MAGIC };

	cr_assert_not(mesh_frame_is_mesh(buf, 0));
	cr_assert_not(mesh_frame_is_mesh(buf, MESH_FRAME_OVERHEAD));
	cr_assert(mesh_frame_is_mesh(buf, MESH_FRAME_OVERHEAD + 1));
	cr_assert(mesh_frame_is_mesh(buf, MESH_FRAME_MAX));
	cr_assert_not(mesh_frame_is_mesh(buf, MESH_FRAME_MAX + 1));
	buf[0] = 0x01; /* SIG_ENVELOPE_VERSION */
	cr_assert_not(mesh_frame_is_mesh(buf, 100));
}

/* ---- gossip lists ---------------------------------------------------------- */

struct three {
	uint8_t bufs[3][MESH_ANNOUNCE_MAX];
	const uint8_t *anns[3];
	size_t lens[3];
};

static void three_announcements(struct three *t)
{
	struct mesh_announce a;

	vector_model(&a);
	for (int i = 0; i < 3; i++) {
		a.n_routes = (uint8_t)i;
		a.timestamp = T0 + (uint64_t)i;
		t->lens[i] = sign(&a, t->bufs[i]);
		t->anns[i] = t->bufs[i];
	}
}

static size_t walk(const uint8_t *buf, size_t len, const struct three *t)
{
	const uint8_t *ann;
	size_t off = 0, ann_len, n = 0;
	int r;

	while ((r = mesh_gossip_next(buf, len, &off, &ann, &ann_len)) == 1) {
		cr_assert_eq(ann_len, t->lens[n]);
		cr_assert_arr_eq(ann, t->anns[n], ann_len);
		n++;
	}
	cr_assert_eq(r, 0);
	return n;
}

Test(mesh_gossip, all_fit)
{
	struct three t;
	uint8_t buf[MESH_FRAME_PLAIN_MAX];
	size_t len;

	three_announcements(&t);
	cr_assert_eq(mesh_gossip_encode(t.anns, t.lens, 3, buf, sizeof(buf), &len), 3);
	cr_assert_eq(len, 1 + 6 + t.lens[0] + t.lens[1] + t.lens[2]);
	cr_assert_eq(buf[0], 3);
	cr_assert_eq(walk(buf, len, &t), 3);
}

Test(mesh_gossip, overflow_takes_a_prefix)
{
	struct three t;
	uint8_t buf[MESH_FRAME_PLAIN_MAX];
	size_t len, two;

	three_announcements(&t);
	two = 1 + 4 + t.lens[0] + t.lens[1];
	cr_assert_eq(mesh_gossip_encode(t.anns, t.lens, 3, buf, two + 2 + t.lens[2] - 1, &len), 2);
	cr_assert_eq(len, two);
	cr_assert_eq(walk(buf, len, &t), 2);
	cr_assert_eq(mesh_gossip_encode(t.anns, t.lens, 3, buf, 2 + t.lens[0], &len), 0);
	cr_assert_eq(len, 1);
	cr_assert_eq(walk(buf, len, &t), 0);
	cr_assert_eq(mesh_gossip_encode(t.anns, t.lens, 3, buf, 0, &len), 0);
	cr_assert_eq(len, 0);
	cr_assert_eq(mesh_gossip_encode(t.anns, t.lens, 0, buf, sizeof(buf), &len), 0);
	cr_assert_eq(len, 1);
}

Test(mesh_gossip, every_prefix_and_extension_rejected)
{
	struct three t;
	uint8_t buf[MESH_FRAME_PLAIN_MAX + 1];
	const uint8_t *ann;
	size_t len, off, ann_len;

	three_announcements(&t);
	mesh_gossip_encode(t.anns, t.lens, 3, buf, sizeof(buf) - 1, &len);
	for (size_t n = 0; n < len; n++) {
		off = 0;
		cr_assert_eq(mesh_gossip_next(buf, n, &off, &ann, &ann_len), -EBADMSG, "length %zu", n);
	}
	buf[len] = 0;
	off = 0;
	cr_assert_eq(mesh_gossip_next(buf, len + 1, &off, &ann, &ann_len), -EBADMSG);
}

Test(mesh_gossip, malformed_lists)
{
	static const char *const lists[] = {
		"02 0001 aa",             /* fewer entries than the count */
		"01 0001 aa 0001 bb",     /* more */
		"01 0000",                /* an empty entry */
		"01 02bd",                /* 701 bytes announced: over the cap */
		"01 ffff aa",
		"00 00",                  /* a byte after the end */
	};
	uint8_t buf[64];
	const uint8_t *ann;
	size_t len, off, ann_len;

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		cr_assert_eq(sodium_hex2bin(buf, sizeof(buf), lists[i], strlen(lists[i]), " ", &len, NULL), 0);
		off = 0;
		cr_assert_eq(mesh_gossip_next(buf, len, &off, &ann, &ann_len), -EBADMSG, "%s", lists[i]);
	}
	buf[0] = 1, buf[1] = 0, buf[2] = 1, buf[3] = 0xaa;
	off = 0;
	cr_assert_eq(mesh_gossip_next(buf, 4, &off, &ann, &ann_len), 1);
	cr_assert_eq(ann_len, 1);
	cr_assert_eq(ann, buf + 3);
	cr_assert_eq(mesh_gossip_next(buf, 4, &off, &ann, &ann_len), 0);
	/* A caller's cursor out of range is not a crash. */
	off = 9;
	cr_assert_eq(mesh_gossip_next(buf, 4, &off, &ann, &ann_len), -EBADMSG);
}

/* ---- rotation -------------------------------------------------------------- */

Test(mesh_rotate, round_trip)
{
	uint8_t msg[MESH_ROTATE_LEN], secret[MESH_SECRET_LEN], pk[32], got[MESH_SECRET_LEN];
	uint64_t grace = 0;

	memset(secret, 0x5a, sizeof(secret));
	cr_assert_eq(mesh_rotate_sign(&host, secret, T0 + 86400, msg), 0);
	cr_assert_eq(mesh_rotate_verify(msg, sizeof(msg), pk, got, &grace), 0);
	cr_assert_arr_eq(pk, host.sign_pk, 32);
	cr_assert_arr_eq(got, secret, sizeof(secret));
	cr_assert_eq(grace, T0 + 86400);
}

Test(mesh_rotate, tampered_rejected)
{
	uint8_t msg[MESH_ROTATE_LEN + 1], secret[MESH_SECRET_LEN], pk[32], got[MESH_SECRET_LEN];
	uint64_t grace = 7;

	memset(secret, 0x5a, sizeof(secret));
	cr_assert_eq(mesh_rotate_sign(&host, secret, T0, msg), 0);
	for (size_t i = 0; i < MESH_ROTATE_LEN; i++)
		for (int bit = 0; bit < 8; bit++) {
			msg[i] ^= (uint8_t)(1 << bit);
			cr_assert_eq(mesh_rotate_verify(msg, MESH_ROTATE_LEN, pk, got, &grace), -EBADMSG,
				     "byte %zu bit %d", i, bit);
			msg[i] ^= (uint8_t)(1 << bit);
		}
	for (size_t n = 0; n < MESH_ROTATE_LEN; n++)
		cr_assert_eq(mesh_rotate_verify(msg, n, pk, got, &grace), -EBADMSG);
	cr_assert_eq(mesh_rotate_verify(msg, MESH_ROTATE_LEN + 1, pk, got, &grace), -EBADMSG);
	cr_assert_eq(grace, 7, "untouched on failure");
	/* Another member's key in place of the signer's. */
	memcpy(msg, other_host.sign_pk, 32);
	cr_assert_eq(mesh_rotate_verify(msg, MESH_ROTATE_LEN, pk, got, &grace), -EBADMSG);
}

/* An announcement's signature is no rotation's, and back: the context
 * string keeps the two apart though one key signs both. */
Test(mesh_rotate, not_an_announcement)
{
	struct mesh_announce out;
	uint8_t msg[MESH_ROTATE_LEN], secret[MESH_SECRET_LEN] = { 0 };

	cr_assert_eq(mesh_rotate_sign(&host, secret, T0, msg), 0);
	cr_assert_eq(mesh_announce_verify(&keys, msg, sizeof(msg), 0, &out), -EBADMSG);
}

Test(mesh_announce, hello_flag_and_peek)
{
	struct mesh_announce a, back;
	uint8_t buf[MESH_ANNOUNCE_MAX], pk[32];
	uint64_t ts;
	size_t len;

	vector_model(&a);
	a.flags = MESH_ANNOUNCE_HELLO;
	cr_assert_eq(mesh_announce_sign(&keys, &host, &a, buf, sizeof(buf), &len), 0);
	cr_assert_eq(mesh_announce_verify(&keys, buf, len, 0, &back), 0);
	cr_assert_eq(back.flags, MESH_ANNOUNCE_HELLO);
	cr_assert(mesh_announce_peek(buf, len, pk, &ts));
	cr_assert_eq(ts, a.timestamp);
	cr_assert_eq(memcmp(pk, a.sign_pk, 32), 0);
	cr_assert_not(mesh_announce_peek(buf, 40, pk, &ts));
	buf[0] = 2;
	cr_assert_not(mesh_announce_peek(buf, len, pk, &ts));
}

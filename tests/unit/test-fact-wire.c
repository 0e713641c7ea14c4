/* Fact bundles (signaling/fact-wire.c): round trips of every attribute in
 * both families, the test vector of docs/PROTOCOL.md section 14 (computed
 * by a separate encoder written from that text), every truncation and bit
 * flip of it, each rule a receiver enforces, and the cap that keeps the
 * largest bundle inside one envelope. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "signaling/fact-wire.h"
#include "signaling/sig-envelope.h"

#define ALICE_HEX "d89e3bad79437dbed9f843418304f460ff05c7fe81fe4a9577a804cb9367ff66"
#define BOB_HEX "79a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89af85a51a"

/* Issued 1700000000000 ms: Alice is alive (60 s), listens on
 * 192.0.2.1:51820 (120 s), owns 198.51.100.0/24 (300 s); Bob listens on
 * [2001:db8::1]:51820 (120 s), owns 2001:db8:1::/48 (300 s); Alice relays
 * (60 s) and reaches Bob (30 s). */
#define VECTOR_HEX \
	"01" "0000018bcfe56800" "07" \
	ALICE_HEX "01" "003c" "00" \
	ALICE_HEX "02" "0078" "07" "04" "c0000201" "ca6c" \
	ALICE_HEX "03" "012c" "06" "04" "18" "c6336400" \
	BOB_HEX "02" "0078" "13" "06" "20010db8000000000000000000000001" "ca6c" \
	BOB_HEX "03" "012c" "12" "06" "30" "20010db8000100000000000000000000" \
	ALICE_HEX "04" "003c" "00" \
	ALICE_HEX "05" "001e" "20" BOB_HEX
#define VECTOR_LEN 344

static uint8_t alice[FACT_KEY_LEN], bob[FACT_KEY_LEN];

static size_t unhex(uint8_t *out, size_t size, const char *hex)
{
	size_t len = 0;

	cr_assert_eq(sodium_hex2bin(out, size, hex, strlen(hex), NULL, &len, NULL), 0);
	return len;
}

static void keys(void)
{
	unhex(alice, sizeof(alice), ALICE_HEX);
	unhex(bob, sizeof(bob), BOB_HEX);
}

static struct fact simple(const uint8_t *subject, uint8_t attr, uint16_t ttl)
{
	struct fact f = { .attr = attr, .ttl_s = ttl };

	memcpy(f.subject, subject, FACT_KEY_LEN);
	return f;
}

static struct fact endpoint(const uint8_t *subject, int family, const char *addr_hex, uint16_t port,
			    uint16_t ttl)
{
	struct fact f = simple(subject, FACT_ENDPOINT, ttl);

	f.family = family;
	unhex(f.addr, sizeof(f.addr), addr_hex);
	f.port = port;
	return f;
}

static struct fact allowed_ip(const uint8_t *subject, int family, const char *addr_hex, uint8_t prefix,
			      uint16_t ttl)
{
	struct fact f = simple(subject, FACT_ALLOWED_IP, ttl);

	f.family = family;
	unhex(f.addr, sizeof(f.addr), addr_hex);
	f.prefix = prefix;
	return f;
}

static struct fact about_peer(const uint8_t *subject, uint8_t attr, const uint8_t *peer, uint16_t ttl)
{
	struct fact f = simple(subject, attr, ttl);

	memcpy(f.peer, peer, FACT_KEY_LEN);
	return f;
}

static struct fact reaches(const uint8_t *subject, const uint8_t *peer, uint16_t ttl)
{
	return about_peer(subject, FACT_REACHES, peer, ttl);
}

/* The bundle of VECTOR_HEX. */
static struct fact_bundle vector_bundle(void)
{
	struct fact_bundle b = { .issued_ms = 1700000000000ull, .n = 7 };

	keys();
	b.facts[0] = simple(alice, FACT_ALIVE, 60);
	b.facts[1] = endpoint(alice, AF_INET, "c0000201", 51820, 120);
	b.facts[2] = allowed_ip(alice, AF_INET, "c6336400", 24, 300);
	b.facts[3] = endpoint(bob, AF_INET6, "20010db8000000000000000000000001", 51820, 120);
	b.facts[4] = allowed_ip(bob, AF_INET6, "20010db8000100000000000000000000", 48, 300);
	b.facts[5] = simple(alice, FACT_RELAYS, 60);
	b.facts[6] = reaches(alice, bob, 30);
	return b;
}

static void assert_same_bundle(const struct fact_bundle *a, const struct fact_bundle *b)
{
	cr_assert_eq(a->issued_ms, b->issued_ms);
	cr_assert_eq(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		cr_assert(fact_same(&a->facts[i], &b->facts[i]), "fact %zu differs", i);
		cr_assert_eq(a->facts[i].ttl_s, b->facts[i].ttl_s, "fact %zu: ttl", i);
	}
}

/* Encodes a one-fact bundle, decodes it back and compares. */
static void round_trip(const struct fact *f, size_t value_len)
{
	struct fact_bundle b = { .issued_ms = 42, .n = 1 }, back;
	uint8_t buf[SIG_PLAIN_MAX];
	size_t len = 0;

	b.facts[0] = *f;
	cr_assert_eq(fact_wire_size(f), FACT_KEY_LEN + 4 + value_len, "attribute %u", f->attr);
	cr_assert_eq(fact_bundle_encode(&b, buf, sizeof(buf), &len), 0);
	cr_assert_eq(len, FACT_BUNDLE_HEADER + FACT_KEY_LEN + 4 + value_len);
	cr_assert_eq(buf[FACT_BUNDLE_HEADER + FACT_KEY_LEN + 3], value_len, "value length byte");
	cr_assert_eq(fact_bundle_decode(buf, len, &back), 0, "attribute %u", f->attr);
	assert_same_bundle(&b, &back);
}

Test(fact_wire, round_trip_every_attribute)
{
	keys();
	round_trip((struct fact[]){ simple(alice, FACT_ALIVE, 1) }, 0);
	round_trip((struct fact[]){ simple(alice, FACT_RELAYS, FACT_TTL_MAX) }, 0);
	round_trip((struct fact[]){ endpoint(alice, AF_INET, "0a000001", 1, 90) }, 7);
	round_trip((struct fact[]){ endpoint(bob, AF_INET6, "fe800000000000000000000000000001", 65535, 90) },
		   19);
	round_trip((struct fact[]){ allowed_ip(alice, AF_INET, "0a000001", 32, 90) }, 6);
	round_trip((struct fact[]){ allowed_ip(alice, AF_INET, "00000000", 0, 90) }, 6);
	round_trip((struct fact[]){ allowed_ip(bob, AF_INET6, "fc000000000000000000000000000000", 8, 90) }, 18);
	round_trip((struct fact[]){ allowed_ip(bob, AF_INET6, "fc7dcd744f856ad97113bdbb310bba2c", 128, 90) },
		   18);
	round_trip((struct fact[]){ reaches(alice, bob, 600) }, FACT_KEY_LEN);
	round_trip((struct fact[]){ about_peer(alice, FACT_MISSES, bob, 30) }, FACT_KEY_LEN);
	round_trip((struct fact[]){ simple(alice, FACT_ASKS, 30) }, 0);
}

Test(fact_wire, test_vector)
{
	struct fact_bundle b = vector_bundle(), back;
	uint8_t want[VECTOR_LEN], buf[SIG_PLAIN_MAX];
	size_t len = 0;

	cr_assert_eq(unhex(want, sizeof(want), VECTOR_HEX), VECTOR_LEN);
	cr_assert_eq(fact_bundle_encode(&b, buf, sizeof(buf), &len), 0);
	cr_assert_eq(len, VECTOR_LEN);
	cr_assert_eq(memcmp(buf, want, len), 0, "encoding differs from the vector");
	cr_assert_eq(fact_bundle_decode(want, VECTOR_LEN, &back), 0);
	assert_same_bundle(&b, &back);
	cr_assert_eq(back.facts[1].family, AF_INET);
	cr_assert_eq(back.facts[3].family, AF_INET6);
	cr_assert_eq(back.facts[3].port, 51820);
}

Test(fact_wire, every_truncation_fails)
{
	uint8_t buf[VECTOR_LEN];
	struct fact_bundle out = { .issued_ms = 7 };

	unhex(buf, sizeof(buf), VECTOR_HEX);
	for (size_t len = 0; len < VECTOR_LEN; len++)
		cr_assert_eq(fact_bundle_decode(buf, len, &out), -EBADMSG, "prefix of %zu bytes", len);
	cr_assert_eq(out.issued_ms, 7, "a refused bundle left its mark");
}

/* Every single-bit flip either is refused or decodes to a bundle that
 * encodes again (the fuzzer checks more; this runs on every `make check`
 * and under valgrind). */
Test(fact_wire, bit_flips)
{
	uint8_t buf[VECTOR_LEN], again[SIG_PLAIN_MAX];
	size_t accepted = 0;

	unhex(buf, sizeof(buf), VECTOR_HEX);
	for (size_t bit = 0; bit < 8 * VECTOR_LEN; bit++) {
		struct fact_bundle b;
		size_t len;

		buf[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
		if (fact_bundle_decode(buf, VECTOR_LEN, &b) == 0) {
			cr_assert_eq(fact_bundle_encode(&b, again, sizeof(again), &len), 0, "bit %zu", bit);
			accepted++;
		}
		buf[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
	}
	/* Keys, times, ttls and most address bits are free; structure is not. */
	cr_assert(accepted > 0 && accepted < 8 * VECTOR_LEN, "%zu flips accepted", accepted);
}

/* Byte offsets in VECTOR_HEX: the header, then each fact's attribute, ttl,
 * value length and value. */
#define FACT0 FACT_BUNDLE_HEADER
#define FACT1 (FACT0 + 36)                /* Alice ENDPOINT v4 */
#define FACT2 (FACT1 + 36 + 7)            /* Alice ALLOWED_IP v4 */
#define FACT3 (FACT2 + 36 + 6)            /* Bob ENDPOINT v6 */
#define FACT4 (FACT3 + 36 + 19)           /* Bob ALLOWED_IP v6 */
#define FACT6 (FACT4 + 36 + 18 + 36)      /* Alice REACHES Bob */
#define ATTR 32
#define TTL 33
#define VLEN 35
#define VALUE 36

/* Decodes VECTOR_HEX with one byte changed; expects @err (0 for a change
 * that keeps the bundle valid, to show the rule's edge). */
static void refused(size_t offset, uint8_t value, int err, const char *why)
{
	uint8_t buf[VECTOR_LEN];
	struct fact_bundle out = { .issued_ms = 7 };

	unhex(buf, sizeof(buf), VECTOR_HEX);
	buf[offset] = value;
	cr_assert_eq(fact_bundle_decode(buf, VECTOR_LEN, &out), err, "%s", why);
	if (err)
		cr_assert_eq(out.issued_ms, 7, "%s: left its mark", why);
}

Test(fact_wire, each_rule_refused)
{
	refused(0, 2, -EPROTONOSUPPORT, "version 2");
	refused(0, 0, -EPROTONOSUPPORT, "version 0");
	refused(9, 8, -EBADMSG, "count above the facts");
	refused(9, 6, -EBADMSG, "count below the facts (trailing fact)");
	refused(9, 0, -EBADMSG, "count 0 with facts");
	refused(FACT0 + TTL + 1, 0, -EBADMSG, "ttl 0");
	refused(FACT1 + VALUE, 6, -EBADMSG, "ENDPOINT family 6 with 4 address bytes");
	refused(FACT1 + VALUE, 5, -EBADMSG, "ENDPOINT family 5");
	refused(FACT2 + VALUE, 0, -EBADMSG, "ALLOWED_IP family 0");
	refused(FACT2 + VALUE + 1, 33, -EBADMSG, "IPv4 prefix 33");
	refused(FACT2 + VALUE + 1, 21, -EBADMSG, "198.51.100.0/21: host bit set");
	refused(FACT2 + VALUE + 1, 22, 0, "198.51.100.0/22 is canonical");
	refused(FACT2 + VALUE + 5, 1, -EBADMSG, "198.51.100.1/24: host bits set");
	refused(FACT4 + VALUE + 1, 129, -EBADMSG, "IPv6 prefix 129");
	refused(FACT4 + VALUE + 17, 1, -EBADMSG, "2001:db8:1::1/48: host bits set");
	refused(FACT4 + VALUE + 1, 128, 0, "2001:db8:1::/128 is canonical");
	refused(FACT0 + VLEN, 1, -EBADMSG, "ALIVE with a value");
	refused(FACT6 + VLEN, 31, -EBADMSG, "REACHES of 31 bytes");
	refused(FACT1 + VLEN, 8, -EBADMSG, "ENDPOINT v4 of 8 bytes");
	refused(FACT3 + VLEN, 18, -EBADMSG, "ENDPOINT v6 of 18 bytes");
	refused(FACT2 + VLEN, 5, -EBADMSG, "ALLOWED_IP v4 of 5 bytes");
	refused(FACT6 + VLEN, 0xff, -EBADMSG, "value past the end");
}

Test(fact_wire, trailing_and_port_zero_refused)
{
	uint8_t buf[VECTOR_LEN + 1];
	struct fact_bundle out;

	unhex(buf, sizeof(buf), VECTOR_HEX);
	buf[VECTOR_LEN] = 0;
	cr_assert_eq(fact_bundle_decode(buf, VECTOR_LEN + 1, &out), -EBADMSG, "trailing byte");
	buf[FACT1 + VALUE + 5] = 0;
	buf[FACT1 + VALUE + 6] = 0;
	cr_assert_eq(fact_bundle_decode(buf, VECTOR_LEN, &out), -EBADMSG, "IPv4 port 0");
	unhex(buf, sizeof(buf), VECTOR_HEX);
	buf[FACT3 + VALUE + 17] = 0;
	buf[FACT3 + VALUE + 18] = 0;
	cr_assert_eq(fact_bundle_decode(buf, VECTOR_LEN, &out), -EBADMSG, "IPv6 port 0");
}

/* A later version's attribute, with a value of its own, among known ones:
 * skipped, and the facts around it kept. */
Test(fact_wire, unknown_attribute_skipped)
{
	uint8_t buf[VECTOR_LEN + 36 + 3];
	struct fact_bundle want = vector_bundle(), out;
	const size_t at = FACT2;

	unhex(buf, VECTOR_LEN, VECTOR_HEX);
	memmove(buf + at + 39, buf + at, VECTOR_LEN - at);
	memcpy(buf + at, alice, FACT_KEY_LEN);
	memcpy(buf + at + ATTR, (uint8_t[]){ 200, 0x00, 0x3c, 3, 0xaa, 0xbb, 0xcc }, 7);
	buf[9] = 8;
	cr_assert_eq(fact_bundle_decode(buf, sizeof(buf), &out), 0);
	assert_same_bundle(&want, &out);
	buf[at + ATTR] = 0;
	cr_assert_eq(fact_bundle_decode(buf, sizeof(buf), &out), 0, "attribute 0 is unknown too");
	assert_same_bundle(&want, &out);
	buf[at + TTL + 1] = 0;
	cr_assert_eq(fact_bundle_decode(buf, sizeof(buf), &out), -EBADMSG, "ttl 0 even when unknown");
	buf[at + TTL + 1] = 60;
	buf[at + VLEN] = 4;
	cr_assert_eq(fact_bundle_decode(buf, sizeof(buf), &out), -EBADMSG, "skip past the next fact");
}

/* MISSES (6) is REACHES' framing: a key of exactly 32 bytes. */
Test(fact_wire, misses_value_is_a_key)
{
	struct fact_bundle b = { .issued_ms = 7, .n = 1 }, out;
	uint8_t buf[SIG_PLAIN_MAX];
	size_t len;

	keys();
	b.facts[0] = about_peer(alice, FACT_MISSES, bob, 30);
	cr_assert_eq(fact_bundle_encode(&b, buf, sizeof(buf), &len), 0);
	cr_assert_eq(buf[FACT_BUNDLE_HEADER + ATTR], 6, "attribute byte");
	cr_assert(!fact_same(&b.facts[0], (struct fact[]){ reaches(alice, bob, 30) }), "MISSES is not REACHES");
	buf[FACT_BUNDLE_HEADER + VLEN] = 31;
	cr_assert_eq(fact_bundle_decode(buf, len - 1, &out), -EBADMSG, "a 31-byte key");
}

/* The encoder refuses exactly what a receiver would. */
static void unencodable(struct fact f, const char *why)
{
	struct fact_bundle b = { .issued_ms = 1, .n = 1 };
	uint8_t buf[SIG_PLAIN_MAX];
	size_t len = 99;

	b.facts[0] = f;
	cr_assert_eq(fact_wire_size(&f), 0, "%s: size", why);
	cr_assert_eq(fact_bundle_encode(&b, buf, sizeof(buf), &len), -EINVAL, "%s", why);
	cr_assert_eq(len, 99, "%s: length set", why);
}

Test(fact_wire, encode_refuses)
{
	struct fact f;

	keys();
	unencodable(simple(alice, FACT_ALIVE, 0), "ttl 0");
	unencodable(simple(alice, 0, 60), "attribute 0");
	unencodable(simple(alice, FACT_ASKS + 1, 60), "attribute 8");
	unencodable(endpoint(alice, AF_INET, "0a000001", 0, 60), "port 0");
	unencodable(endpoint(alice, AF_UNSPEC, "0a000001", 1, 60), "no family");
	unencodable(allowed_ip(alice, AF_INET, "0a000000", 33, 60), "IPv4 prefix 33");
	unencodable(allowed_ip(alice, AF_INET6, "fc", 129, 60), "IPv6 prefix 129");
	unencodable(allowed_ip(alice, AF_INET, "0a000001", 24, 60), "IPv4 host bits");
	unencodable(allowed_ip(alice, AF_INET, "80000000", 0, 60), "IPv4 /0 host bits");
	unencodable(allowed_ip(alice, AF_INET6, "fc000000000000000000000000000001", 64, 60), "IPv6 host bits");
	f = allowed_ip(alice, AF_INET, "0a000000", 8, 60);
	f.family = 4;
	unencodable(f, "a wire family number in the model");
}

static struct fact_bundle smallest_full(size_t n)
{
	struct fact_bundle b = { .issued_ms = 1, .n = n };

	keys();
	for (size_t i = 0; i < FACT_BUNDLE_MAX; i++)
		b.facts[i] = simple(alice, FACT_ALIVE, 1);
	return b;
}

/* FACT_BUNDLE_MAX facts of the smallest size fill one envelope, sealed by
 * the real sig_envelope_seal(); one more would not fit. */
Test(fact_wire, largest_bundle_fits_an_envelope)
{
	struct fact_bundle b = smallest_full(FACT_BUNDLE_MAX), out;
	uint8_t buf[SIG_PLAIN_MAX], env[SIG_ENVELOPE_MAX], priv[SIG_KEY_LEN], peer_pub[SIG_KEY_LEN];
	struct sig_identity self, peer;
	struct sig_pair pair;
	size_t len = 0, env_len = 0, need = FACT_BUNDLE_HEADER + FACT_BUNDLE_MAX * (FACT_KEY_LEN + 4);

	cr_assert_eq(fact_bundle_encode(&b, buf, sizeof(buf), &len), 0);
	cr_assert_eq(len, need);
	cr_assert_leq(len, SIG_PLAIN_MAX);
	cr_assert_gt(len + FACT_KEY_LEN + 4, SIG_PLAIN_MAX, "FACT_BUNDLE_MAX could be larger");
	cr_assert_eq(fact_bundle_decode(buf, len, &out), 0);
	cr_assert_eq(out.n, FACT_BUNDLE_MAX);

	memset(priv, 0x11, sizeof(priv));
	cr_assert_eq(sig_identity_init(&self, priv), 0);
	memset(priv, 0x22, sizeof(priv));
	cr_assert_eq(sig_identity_init(&peer, priv), 0);
	memcpy(peer_pub, peer.public_key, SIG_KEY_LEN);
	cr_assert_eq(sig_pair_init(&pair, &self, peer_pub), 0);
	cr_assert_eq(sig_envelope_seal(&self, &pair, buf, len, env, sizeof(env), &env_len), 0);
	cr_assert_leq(env_len, SIG_ENVELOPE_MAX);

	cr_assert_eq(fact_bundle_encode(&b, buf, need - 1, &len), -ENOBUFS);
	cr_assert_eq(fact_bundle_encode(&b, buf, 0, &len), -ENOBUFS);
	b.n = FACT_BUNDLE_MAX + 1;
	cr_assert_eq(fact_bundle_encode(&b, buf, sizeof(buf), &len), -EINVAL, "too many facts");
	sig_identity_wipe(&self);
	sig_identity_wipe(&peer);
	sig_pair_wipe(&pair);
}

/* A count over FACT_BUNDLE_MAX is refused even when the facts are there
 * (skipped ones included: they would not fit an envelope either). */
Test(fact_wire, count_over_cap_refused)
{
	struct fact_bundle b = smallest_full(FACT_BUNDLE_MAX), out = { .issued_ms = 7 };
	uint8_t buf[FACT_BUNDLE_HEADER + (FACT_BUNDLE_MAX + 1) * 36];
	size_t len = 0;

	cr_assert_eq(fact_bundle_encode(&b, buf, sizeof(buf), &len), 0);
	memcpy(buf + len, buf + FACT_BUNDLE_HEADER, 36);
	buf[9] = FACT_BUNDLE_MAX + 1;
	cr_assert_eq(fact_bundle_decode(buf, sizeof(buf), &out), -EBADMSG);
	buf[len + ATTR] = 99;
	cr_assert_eq(fact_bundle_decode(buf, sizeof(buf), &out), -EBADMSG, "one of them unknown");
	cr_assert_eq(out.issued_ms, 7);
}

Test(fact_wire, same)
{
	struct fact_bundle v = vector_bundle();
	struct fact a, b;

	for (size_t i = 0; i < v.n; i++) {
		a = b = v.facts[i];
		b.ttl_s = 1;
		cr_assert(fact_same(&a, &b), "fact %zu: the ttl counts", i);
		b.subject[31] ^= 1;
		cr_assert_not(fact_same(&a, &b), "fact %zu: subject ignored", i);
	}
	cr_assert_not(fact_same(&v.facts[0], &v.facts[5]), "attribute ignored (ALIVE, RELAYS)");
	a = b = v.facts[1];
	b.port++;
	cr_assert_not(fact_same(&a, &b), "port ignored");
	b = a;
	b.addr[3] ^= 1;
	cr_assert_not(fact_same(&a, &b), "IPv4 address ignored");
	b = a;
	b.addr[4] ^= 1;
	cr_assert(fact_same(&a, &b), "bytes past an IPv4 address count");
	a = b = v.facts[4];
	b.addr[15] ^= 1;
	cr_assert_not(fact_same(&a, &b), "IPv6 address ignored");
	b = a;
	b.prefix = 64;
	cr_assert_not(fact_same(&a, &b), "prefix ignored");
	b = a;
	b.family = AF_INET;
	cr_assert_not(fact_same(&a, &b), "family ignored");
	a = b = v.facts[6];
	b.peer[0] ^= 1;
	cr_assert_not(fact_same(&a, &b), "REACHES peer ignored");
}

/* Signaling envelope: a fixed vector computed by an independent
 * implementation of docs/PROTOCOL.md, compatibility with libsodium's sealed
 * box, and every way a relay or a stranger could try to read, forge, alter,
 * redirect or replay a message. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "signaling/sig-envelope.h"
#include "wg/wg-key.h"

/* Fixed keys in wg(8) form; the public keys are what `wg pubkey` prints
 * for them. */
#define ALICE_PRIVATE "EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLm8="
#define ALICE_PUBLIC_HEX "d89e3bad79437dbed9f843418304f460ff05c7fe81fe4a9577a804cb9367ff66"
#define ALICE_MAILBOX_HEX "945955b6d5a62c4269fd54e93329d306"
#define BOB_PRIVATE "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8="
#define BOB_PUBLIC_HEX "79a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89af85a51a"
#define BOB_MAILBOX_HEX "11b6ef460f0b4df8a742aba1bdfd625d"
#define ALICE_TO_BOB_KEY_HEX "8cf5cfaf89969353d6b1c660a49c96739f286010203a1e384445005e3fcb9534"

/* The offer vector of test-sig-msg.c. */
#define OFFER_HEX "0123456789abcdef0000018bcfe5680000000001010100" \
		  "1d010441622b2f16303132333435363738396162636465666768696a6b6c"

/* Alice -> Bob, OFFER_HEX sealed with ephemeral private key 0x70..0x8f
 * (clamped) and inner nonce 0xa0..0xb7. */
#define ENVELOPE_HEX \
	"01" "11b6ef460f0b4df8a742aba1bdfd625d" \
	"23b7bb8c91ae008711fb12846780bcdf1e065f821bdfec49f57e7c7dcd4c4823" \
	"71286cb25ca9109e1db0cf2d696b269a84855a564b2cf57a0be0ee146a994c14" \
	"cc8e97c30897ad06767203b492d8fe589c0a7b5a5fe16a78a470cc1e2b5be4dd" \
	"47948dde62ae80ae45b8a90cced0b0fae1073d1a500a9372d7593be3167a717a" \
	"7b01853914803d0704dce9086fe2bb7d0a72dd30a03a56e3bc3e00f7392f3fe3" \
	"c3961e4dadda9599a6309925c3"

static size_t unhex(uint8_t *out, size_t size, const char *hex)
{
	size_t len = 0;

	cr_assert_eq(sodium_hex2bin(out, size, hex, strlen(hex), NULL, &len, NULL), 0);
	return len;
}

static void fixed_ephemeral(uint8_t e[SIG_KEY_LEN], uint8_t n[SIG_NONCE_LEN])
{
	for (int i = 0; i < SIG_KEY_LEN; i++)
		e[i] = (uint8_t)(0x70 + i);
	e[0] &= 248;
	e[31] = (e[31] & 127) | 64;
	for (int i = 0; i < SIG_NONCE_LEN; i++)
		n[i] = (uint8_t)(0xa0 + i);
}

/* One side of a conversation: its identity and the peers it knows. */
struct side {
	struct sig_identity id;
	struct sig_pair pairs[4];
	size_t n_pairs;
};

static struct sig_pair *lookup(void *userdata, const uint8_t peer_public[SIG_KEY_LEN])
{
	struct side *s = userdata;

	for (size_t i = 0; i < s->n_pairs; i++)
		if (wg_key_equal(s->pairs[i].peer_public, peer_public))
			return &s->pairs[i];
	return NULL;
}

static void side_init(struct side *s, const uint8_t private_key[WG_KEY_LEN])
{
	memset(s, 0, sizeof(*s));
	cr_assert_eq(sig_identity_init(&s->id, private_key), 0);
}

static void side_init_random(struct side *s)
{
	uint8_t private_key[WG_KEY_LEN];

	wg_key_generate_private(private_key);
	side_init(s, private_key);
	wg_key_wipe(private_key);
}

static void side_init_b64(struct side *s, const char *b64)
{
	uint8_t private_key[WG_KEY_LEN];

	cr_assert(wg_key_from_base64(private_key, b64));
	side_init(s, private_key);
	wg_key_wipe(private_key);
}

static struct sig_pair *side_add_peer(struct side *s, const struct side *peer)
{
	struct sig_pair *p = &s->pairs[s->n_pairs++];

	cr_assert_eq(sig_pair_init(p, &s->id, peer->id.public_key), 0);
	return p;
}

static struct side alice, bob, carol;

static void setup(void)
{
	cr_assert_eq(wg_key_init(), 0);
	side_init_b64(&alice, ALICE_PRIVATE);
	side_init_b64(&bob, BOB_PRIVATE);
	side_init_random(&carol);
	side_add_peer(&alice, &bob);
	side_add_peer(&bob, &alice);
	side_add_peer(&carol, &bob);
	side_add_peer(&bob, &carol);
}

static uint8_t offer[SIG_MSG_MAX];
static size_t offer_len;

/* The fixed vector: Alice's offer to Bob. */
static size_t seal_vector(uint8_t *buf, size_t size)
{
	uint8_t e[SIG_KEY_LEN], n[SIG_NONCE_LEN];
	size_t len = 0;

	offer_len = unhex(offer, sizeof(offer), OFFER_HEX);
	fixed_ephemeral(e, n);
	cr_assert_eq(sig_envelope_seal_fixed(&alice.id, &alice.pairs[0], offer, offer_len, e, n,
					     buf, size, &len), 0);
	return len;
}

static int bob_opens(const uint8_t *buf, size_t len, uint8_t *plain, size_t *ret_plain_len,
		     struct sig_pair **ret_pair)
{
	return sig_envelope_open(&bob.id, lookup, &bob, buf, len, plain, SIG_PLAIN_MAX,
				 ret_plain_len, ret_pair);
}

TestSuite(sig_envelope, .init = setup);

/* ---- vectors --------------------------------------------------------------- */

Test(sig_envelope, keys_and_mailboxes_match_vectors)
{
	uint8_t want[SIG_KEY_LEN];

	unhex(want, sizeof(want), ALICE_PUBLIC_HEX);
	cr_assert_arr_eq(alice.id.public_key, want, SIG_KEY_LEN);
	unhex(want, sizeof(want), BOB_PUBLIC_HEX);
	cr_assert_arr_eq(bob.id.public_key, want, SIG_KEY_LEN);
	unhex(want, sizeof(want), ALICE_MAILBOX_HEX);
	cr_assert_arr_eq(alice.id.mailbox, want, SIG_MAILBOX_LEN);
	cr_assert_arr_eq(bob.pairs[0].peer_mailbox, want, SIG_MAILBOX_LEN);
	unhex(want, sizeof(want), BOB_MAILBOX_HEX);
	cr_assert_arr_eq(bob.id.mailbox, want, SIG_MAILBOX_LEN);
	unhex(want, sizeof(want), ALICE_TO_BOB_KEY_HEX);
	cr_assert_arr_eq(alice.pairs[0].send_key, want, SIG_KEY_LEN);
	cr_assert_arr_eq(bob.pairs[0].receive_key, want, SIG_KEY_LEN);
}

Test(sig_envelope, vector_exact)
{
	uint8_t buf[SIG_ENVELOPE_MAX], want[SIG_ENVELOPE_MAX], plain[SIG_PLAIN_MAX];
	size_t len = seal_vector(buf, sizeof(buf)), want_len, plain_len;
	struct sig_pair *from = NULL;

	want_len = unhex(want, sizeof(want), ENVELOPE_HEX);
	cr_assert_eq(len, want_len);
	cr_assert_eq(len, offer_len + SIG_ENVELOPE_OVERHEAD);
	cr_assert_arr_eq(buf, want, len);
	cr_assert_eq(bob_opens(buf, len, plain, &plain_len, &from), 0);
	cr_assert_eq(from, &bob.pairs[0]);
	cr_assert_eq(plain_len, offer_len);
	cr_assert_arr_eq(plain, offer, offer_len);
}

Test(sig_envelope, layers_are_standard_libsodium)
{
	uint8_t buf[SIG_ENVELOPE_MAX], inner[SIG_ENVELOPE_MAX], plain[SIG_PLAIN_MAX];
	size_t len = seal_vector(buf, sizeof(buf)), inner_len = len - 17 - crypto_box_SEALBYTES;
	struct sig_pair *from;
	size_t plain_len;

	/* Outer: a sealed box to Bob, after version and mailbox. */
	cr_assert_eq(crypto_box_seal_open(inner, buf + 17, len - 17, bob.id.public_key,
					  bob.id.private_key), 0);
	cr_assert_arr_eq(inner, alice.id.public_key, SIG_KEY_LEN);
	/* Inner: crypto_box_easy_afternm under the Alice -> Bob key. */
	cr_assert_eq(crypto_box_open_easy_afternm(plain, inner + 56, inner_len - 56, inner + 32,
						  bob.pairs[0].receive_key), 0);
	cr_assert_arr_eq(plain, offer, offer_len);
	/* And the other way: libsodium's own crypto_box_seal opens with ours. */
	cr_assert_eq(crypto_box_seal(buf + 17, inner, inner_len, bob.id.public_key), 0);
	cr_assert_eq(bob_opens(buf, len, plain, &plain_len, &from), 0);
	cr_assert_arr_eq(plain, offer, offer_len);
}

Test(sig_envelope, relay_sees_no_public_key)
{
	uint8_t buf[SIG_ENVELOPE_MAX], mailbox[SIG_MAILBOX_LEN];
	size_t len = seal_vector(buf, sizeof(buf));

	cr_assert_null(memmem(buf, len, alice.id.public_key, SIG_KEY_LEN));
	cr_assert_null(memmem(buf, len, bob.id.public_key, SIG_KEY_LEN));
	cr_assert_null(memmem(buf, len, alice.id.mailbox, SIG_MAILBOX_LEN));
	cr_assert_null(memmem(buf, len, offer + 25, 4), "ufrag in clear");
	cr_assert_eq(sig_envelope_peek_mailbox(buf, len, mailbox), 0);
	cr_assert_arr_eq(mailbox, bob.id.mailbox, SIG_MAILBOX_LEN);
}

/* ---- round trips with real WireGuard keys -------------------------------- */

Test(sig_envelope, generated_keys_both_ways)
{
	struct side x, y;
	uint8_t buf[SIG_ENVELOPE_MAX], plain[SIG_PLAIN_MAX];
	size_t len, plain_len;
	struct sig_pair *from;
	static const uint8_t hello[] = "hello";

	side_init_random(&x);
	side_init_random(&y);
	side_add_peer(&x, &y);
	side_add_peer(&y, &x);
	cr_assert_eq(sig_envelope_seal(&x.id, &x.pairs[0], hello, sizeof(hello), buf, sizeof(buf),
				       &len), 0);
	cr_assert_eq(sig_envelope_open(&y.id, lookup, &y, buf, len, plain, sizeof(plain),
				       &plain_len, &from), 0);
	cr_assert_eq(from, &y.pairs[0]);
	cr_assert_arr_eq(plain, hello, sizeof(hello));
	cr_assert_eq(sig_envelope_seal(&y.id, &y.pairs[0], hello, 0, buf, sizeof(buf), &len), 0);
	cr_assert_eq(sig_envelope_open(&x.id, lookup, &x, buf, len, plain, sizeof(plain),
				       &plain_len, &from), 0);
	cr_assert_eq(plain_len, 0);
	cr_assert_eq(from, &x.pairs[0]);
}

Test(sig_envelope, every_seal_is_fresh)
{
	uint8_t a[SIG_ENVELOPE_MAX], b[SIG_ENVELOPE_MAX], plain[SIG_PLAIN_MAX];
	size_t la, lb, plain_len;
	struct sig_pair *from;

	offer_len = unhex(offer, sizeof(offer), OFFER_HEX);
	cr_assert_eq(sig_envelope_seal(&alice.id, &alice.pairs[0], offer, offer_len, a, sizeof(a),
				       &la), 0);
	cr_assert_eq(sig_envelope_seal(&alice.id, &alice.pairs[0], offer, offer_len, b, sizeof(b),
				       &lb), 0);
	cr_assert_eq(la, lb);
	cr_assert_arr_neq(a + 17, b + 17, la - 17);
	cr_assert_eq(bob_opens(a, la, plain, &plain_len, &from), 0);
	cr_assert_eq(bob_opens(b, lb, plain, &plain_len, &from), 0);
}

Test(sig_envelope, message_round_trip)
{
	struct sig_msg m, got;
	struct sig_session s = { 0 };
	uint8_t buf[SIG_ENVELOPE_MAX];
	size_t len;
	struct sig_pair *from = NULL;

	sig_msg_init(&m);
	sig_session_start(&s, 1000);
	cr_assert_eq(sig_session_stamp(&s, &m), 0);
	m.has_offer = true;
	strcpy(m.offer.ufrag, "wxyz");
	strcpy(m.offer.pwd, "abcdefghijklmnopqrstuv");
	cr_assert_eq(sig_envelope_seal_msg(&carol.id, &carol.pairs[0], &m, buf, sizeof(buf), &len),
		     0);
	cr_assert_eq(sig_envelope_open_msg(&bob.id, lookup, &bob, buf, len, &got, &from), 1);
	cr_assert_eq(from, &bob.pairs[1], "Bob knows it came from Carol");
	cr_assert_eq(got.session_id, s.id);
	cr_assert_str_eq(got.offer.pwd, "abcdefghijklmnopqrstuv");
	sig_msg_wipe(&got);
}

/* ---- rejection --------------------------------------------------------------- */

Test(sig_envelope, every_prefix_rejected)
{
	uint8_t buf[SIG_ENVELOPE_MAX], plain[SIG_PLAIN_MAX];
	size_t len = seal_vector(buf, sizeof(buf));

	for (size_t n = 0; n < len; n++) {
		size_t plain_len = 777;
		struct sig_pair *from = NULL;

		memset(plain, 0x5a, sizeof(plain));
		cr_assert_lt(bob_opens(buf, n, plain, &plain_len, &from), 0, "prefix %zu", n);
		cr_assert_eq(plain_len, 777);
		cr_assert_null(from);
		cr_assert_eq(plain[0], 0x5a);
	}
}

Test(sig_envelope, every_bit_flip_rejected)
{
	uint8_t buf[SIG_ENVELOPE_MAX], plain[SIG_PLAIN_MAX];
	size_t len = seal_vector(buf, sizeof(buf)), plain_len;
	struct sig_pair *from;

	for (size_t bit = 0; bit < len * 8; bit++) {
		int r;

		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		r = bob_opens(buf, len, plain, &plain_len, &from);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		/* The version, the mailbox, or authentication. */
		cr_assert(r == (bit < 8 ? -EPROTONOSUPPORT : bit < 8 * 17 ? -ENXIO : -EBADMSG),
			  "bit %zu: %d", bit, r);
	}
	cr_assert_eq(bob_opens(buf, len, plain, &plain_len, &from), 0);
}

Test(sig_envelope, oversized_rejected)
{
	uint8_t buf[SIG_ENVELOPE_MAX + 1], plain[SIG_PLAIN_MAX + 1] = { 0 };
	size_t len = 0, plain_len;
	struct sig_pair *from;

	cr_assert_eq(sig_envelope_seal(&alice.id, &alice.pairs[0], plain, SIG_PLAIN_MAX + 1, buf,
				       sizeof(buf), &len), -EMSGSIZE);
	cr_assert_eq(sig_envelope_seal(&alice.id, &alice.pairs[0], plain, SIG_PLAIN_MAX, buf,
				       SIG_ENVELOPE_MAX - 1, &len), -ENOBUFS);
	cr_assert_eq(len, 0);
	cr_assert_eq(sig_envelope_seal(&alice.id, &alice.pairs[0], plain, SIG_PLAIN_MAX, buf,
				       sizeof(buf), &len), 0);
	cr_assert_eq(len, SIG_ENVELOPE_MAX);
	cr_assert_eq(bob_opens(buf, len, plain, &plain_len, &from), 0);
	cr_assert_eq(bob_opens(buf, len + 1, plain, &plain_len, &from), -EMSGSIZE);
	cr_assert_eq(sig_envelope_open(&bob.id, lookup, &bob, buf, len, plain, SIG_PLAIN_MAX - 1,
				       &plain_len, &from), -ENOBUFS);
}

Test(sig_envelope, other_version_rejected)
{
	uint8_t buf[SIG_ENVELOPE_MAX], mailbox[SIG_MAILBOX_LEN], plain[SIG_PLAIN_MAX];
	size_t len = seal_vector(buf, sizeof(buf)), plain_len;
	struct sig_pair *from;

	buf[0] = 2;
	cr_assert_eq(sig_envelope_peek_mailbox(buf, len, mailbox), -EPROTONOSUPPORT);
	cr_assert_eq(sig_envelope_peek_mailbox(buf, 1, mailbox), -EPROTONOSUPPORT);
	cr_assert_eq(bob_opens(buf, len, plain, &plain_len, &from), -EPROTONOSUPPORT);
}

Test(sig_envelope, wrong_recipient_cannot_open)
{
	uint8_t buf[SIG_ENVELOPE_MAX], plain[SIG_PLAIN_MAX];
	size_t len = seal_vector(buf, sizeof(buf)), plain_len;
	struct sig_pair *from;

	cr_assert_eq(sig_envelope_open(&carol.id, lookup, &carol, buf, len, plain, sizeof(plain),
				       &plain_len, &from), -ENXIO);
	/* Readdressed to Carol's mailbox, it still is not a box to Carol. */
	memcpy(buf + 1, carol.id.mailbox, SIG_MAILBOX_LEN);
	cr_assert_eq(sig_envelope_open(&carol.id, lookup, &carol, buf, len, plain, sizeof(plain),
				       &plain_len, &from), -EBADMSG);
}

Test(sig_envelope, unknown_sender_rejected)
{
	uint8_t buf[SIG_ENVELOPE_MAX], plain[SIG_PLAIN_MAX];
	size_t len = seal_vector(buf, sizeof(buf)), plain_len;
	struct sig_pair *from;
	struct side stranger;

	/* Bob forgets Alice: he can open the outer layer but will not
	 * believe the inner one. */
	bob.n_pairs = 0;
	cr_assert_eq(bob_opens(buf, len, plain, &plain_len, &from), -ENOKEY);
	bob.n_pairs = 2;
	/* A stranger Bob never configured writes to him. */
	side_init_random(&stranger);
	side_add_peer(&stranger, &bob);
	cr_assert_eq(sig_envelope_seal(&stranger.id, &stranger.pairs[0], offer, offer_len, buf,
				       sizeof(buf), &len), 0);
	cr_assert_eq(bob_opens(buf, len, plain, &plain_len, &from), -ENOKEY);
}

static struct sig_pair *lookup_wrong(void *userdata, const uint8_t peer_public[SIG_KEY_LEN])
{
	return userdata;
}

Test(sig_envelope, lookup_returning_another_peer_rejected)
{
	uint8_t buf[SIG_ENVELOPE_MAX], plain[SIG_PLAIN_MAX];
	size_t len = seal_vector(buf, sizeof(buf)), plain_len;
	struct sig_pair *from;

	cr_assert_eq(sig_envelope_open(&bob.id, lookup_wrong, &bob.pairs[1], buf, len, plain,
				       sizeof(plain), &plain_len, &from), -ENOKEY);
}

Test(sig_envelope, forged_sender_rejected)
{
	uint8_t buf[SIG_ENVELOPE_MAX], plain[SIG_PLAIN_MAX];
	size_t len, plain_len;
	struct sig_pair *from;
	struct side mallory;

	/* Mallory knows both public keys and claims to be Alice. */
	side_init_random(&mallory);
	memcpy(mallory.id.public_key, alice.id.public_key, SIG_KEY_LEN);
	side_add_peer(&mallory, &bob);
	offer_len = unhex(offer, sizeof(offer), OFFER_HEX);
	cr_assert_eq(sig_envelope_seal(&mallory.id, &mallory.pairs[0], offer, offer_len, buf,
				       sizeof(buf), &len), 0);
	cr_assert_eq(bob_opens(buf, len, plain, &plain_len, &from), -EBADMSG);
}

Test(sig_envelope, reflection_rejected)
{
	uint8_t buf[SIG_ENVELOPE_MAX], inner[SIG_ENVELOPE_MAX], plain[SIG_PLAIN_MAX];
	size_t len = seal_vector(buf, sizeof(buf)), inner_len = len - 17 - crypto_box_SEALBYTES;
	size_t plain_len;
	struct sig_pair *from;

	/* Even someone holding Bob's key cannot pass Alice's own words back
	 * to her as Bob's: each direction has its own key. */
	cr_assert_eq(crypto_box_seal_open(inner, buf + 17, len - 17, bob.id.public_key,
					  bob.id.private_key), 0);
	memcpy(inner, bob.id.public_key, SIG_KEY_LEN);
	cr_assert_eq(crypto_box_seal(buf + 17, inner, inner_len, alice.id.public_key), 0);
	memcpy(buf + 1, alice.id.mailbox, SIG_MAILBOX_LEN);
	cr_assert_eq(sig_envelope_open(&alice.id, lookup, &alice, buf, len, plain, sizeof(plain),
				       &plain_len, &from), -EBADMSG);
	cr_assert_arr_neq(alice.pairs[0].send_key, alice.pairs[0].receive_key, SIG_KEY_LEN);
}

Test(sig_envelope, small_order_peer_key_refused)
{
	uint8_t zero[SIG_KEY_LEN] = { 0 }, one[SIG_KEY_LEN] = { 1 };
	struct sig_pair p;

	memset(&p, 0x77, sizeof(p));
	cr_assert_eq(sig_pair_init(&p, &alice.id, zero), -EINVAL);
	cr_assert_eq(sig_pair_init(&p, &alice.id, one), -EINVAL);
	cr_assert_eq(p.send_key[0], 0x77, "ret_pair touched on failure");
}

Test(sig_envelope, wipe)
{
	sig_pair_wipe(&alice.pairs[0]);
	cr_assert(sodium_is_zero(alice.pairs[0].send_key, SIG_KEY_LEN));
	sig_identity_wipe(&alice.id);
	cr_assert(sodium_is_zero(alice.id.private_key, SIG_KEY_LEN));
}

/* ---- replay -------------------------------------------------------------------- */

/* Carol seals one message of session (@id, @time) with @counter. */
static size_t carol_says(uint8_t *buf, uint64_t id, uint64_t time, uint32_t counter)
{
	struct sig_msg m;
	size_t len;

	sig_msg_init(&m);
	m.session_id = id;
	m.session_time = time;
	m.counter = counter;
	m.end_of_candidates = true;
	cr_assert_eq(sig_envelope_seal_msg(&carol.id, &carol.pairs[0], &m, buf, SIG_ENVELOPE_MAX,
					   &len), 0);
	return len;
}

static int bob_hears(const uint8_t *buf, size_t len)
{
	struct sig_msg m;
	struct sig_pair *from = NULL;
	int r = sig_envelope_open_msg(&bob.id, lookup, &bob, buf, len, &m, &from);

	if (r >= 0)
		cr_assert_eq(from, &bob.pairs[1]);
	return r;
}

Test(sig_envelope, replayed_envelope_dropped)
{
	uint8_t buf[SIG_ENVELOPE_MAX];
	size_t len = carol_says(buf, 7, 1000, 0);
	struct sig_replay before;

	cr_assert_eq(bob_hears(buf, len), 1);
	before = bob.pairs[1].replay;
	cr_assert_eq(bob_hears(buf, len), -EALREADY);
	cr_assert_arr_eq(&bob.pairs[1].replay, &before, sizeof(before));
}

Test(sig_envelope, out_of_order_and_duplicate_delivery)
{
	uint8_t e[4][SIG_ENVELOPE_MAX];
	size_t len[4];

	for (uint32_t i = 0; i < 4; i++)
		len[i] = carol_says(e[i], 7, 1000, i);
	cr_assert_eq(bob_hears(e[2], len[2]), 1);
	cr_assert_eq(bob_hears(e[0], len[0]), 0);
	cr_assert_eq(bob_hears(e[3], len[3]), 0);
	cr_assert_eq(bob_hears(e[1], len[1]), 0);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(bob_hears(e[i], len[i]), -EALREADY);
}

Test(sig_envelope, older_session_dropped)
{
	uint8_t old0[SIG_ENVELOPE_MAX], old1[SIG_ENVELOPE_MAX], cur[SIG_ENVELOPE_MAX];
	uint8_t twin[SIG_ENVELOPE_MAX];
	size_t l0 = carol_says(old0, 7, 1000, 0), l1 = carol_says(old1, 7, 1000, 1);
	size_t lc = carol_says(cur, 8, 2000, 0), lt = carol_says(twin, 9, 2000, 5);

	cr_assert_eq(bob_hears(old0, l0), 1);
	cr_assert_eq(bob_hears(cur, lc), 1, "a later session replaces it");
	cr_assert_eq(bob_hears(old1, l1), -ESTALE, "the old session is over");
	cr_assert_eq(bob_hears(twin, lt), -ESTALE, "same time, other id");
	cr_assert_eq(bob.pairs[1].replay.session_id, 8);
}

Test(sig_envelope, undecodable_plaintext_leaves_window_alone)
{
	uint8_t buf[SIG_ENVELOPE_MAX];
	static const uint8_t junk[SIG_MSG_HEADER_LEN] = { 1, 2, 3 };
	size_t len;

	cr_assert_eq(sig_envelope_seal(&carol.id, &carol.pairs[0], junk, sizeof(junk), buf,
				       sizeof(buf), &len), 0);
	cr_assert_eq(bob_hears(buf, len), -EBADMSG);
	cr_assert_eq(bob.pairs[1].replay.session_id, 0);
}

Test(sig_envelope, replay_window)
{
	struct sig_replay r = { 0 };

	cr_assert_eq(sig_replay_accept(&r, 7, 1000, 5), 1);
	cr_assert_eq(sig_replay_accept(&r, 7, 1000, 3), 0);
	cr_assert_eq(sig_replay_accept(&r, 7, 1000, 4), 0);
	cr_assert_eq(sig_replay_accept(&r, 7, 1000, 3), -EALREADY);
	cr_assert_eq(sig_replay_accept(&r, 7, 1000, 5), -EALREADY);
	cr_assert_eq(sig_replay_accept(&r, 7, 1000, 6), 0);
	cr_assert_eq(sig_replay_accept(&r, 7, 1000, 69), 0);
	cr_assert_eq(sig_replay_check(&r, 7, 1000, 6), -EALREADY, "age 63, seen");
	cr_assert_eq(sig_replay_check(&r, 7, 1000, 7), 0, "age 62, not seen");
	cr_assert_eq(sig_replay_check(&r, 7, 1000, 5), -ESTALE, "age 64");
	cr_assert_eq(sig_replay_check(&r, 7, 1000, 0), -ESTALE);
	/* A jump past the whole window forgets it. */
	cr_assert_eq(sig_replay_accept(&r, 7, 1000, 1000), 0);
	cr_assert_eq(sig_replay_check(&r, 7, 1000, 999), 0);
	cr_assert_eq(sig_replay_check(&r, 7, 1000, 936), -ESTALE);
	cr_assert_eq(sig_replay_accept(&r, 7, 1000, UINT32_MAX), 0);
	cr_assert_eq(sig_replay_check(&r, 7, 1000, UINT32_MAX), -EALREADY);
	/* check alone records nothing */
	cr_assert_eq(sig_replay_check(&r, 7, 1000, UINT32_MAX - 1), 0);
	cr_assert_eq(sig_replay_check(&r, 7, 1000, UINT32_MAX - 1), 0);
	/* A new session starts a new window, at any counter. */
	cr_assert_eq(sig_replay_accept(&r, 9, 1001, 3), 1);
	cr_assert_eq(sig_replay_check(&r, 9, 1001, 2), 0);
	cr_assert_eq(sig_replay_check(&r, 7, 1000, UINT32_MAX - 1), -ESTALE);
}

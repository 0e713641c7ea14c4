/* libFuzzer harness for the signaling message codec and envelope.
 *
 * The first input byte picks the target, the rest is its input:
 *   0  sig_msg_decode(); whatever decodes must encode again, and decode to
 *      the same bytes (the codec agrees with itself)
 *   1  sig_envelope_open_msg() on raw bytes sent to a fixed identity: the
 *      header checks and the crypto must reject garbage without reading
 *      out of bounds
 *   2  the bytes as plaintext, sealed with fixed keys and opened: the only
 *      way random input reaches the decoder and the replay window through
 *      the authenticated path; a second open must be a replay
 *   3  a sequence of (session, time, counter) triples through the replay
 *      window; nothing accepted may be accepted twice
 * Any broken property aborts. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "signaling/sig-envelope.h"
#include "signaling/sig-msg.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sig_identity alice, bob;
static struct sig_pair alice_to_bob, bob_from_alice;
static uint8_t ephemeral[SIG_KEY_LEN], nonce[SIG_NONCE_LEN];

static void check(int ok)
{
	if (!ok)
		abort();
}

static struct sig_pair *lookup(void *userdata, const uint8_t peer_public[SIG_KEY_LEN])
{
	return sodium_memcmp(peer_public, bob_from_alice.peer_public, SIG_KEY_LEN) == 0 ?
		       &bob_from_alice : NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t key[SIG_KEY_LEN];

	check(sodium_init() >= 0);
	memset(key, 0x11, sizeof(key));
	check(sig_identity_init(&alice, key) == 0);
	memset(key, 0x22, sizeof(key));
	check(sig_identity_init(&bob, key) == 0);
	check(sig_pair_init(&alice_to_bob, &alice, bob.public_key) == 0);
	check(sig_pair_init(&bob_from_alice, &bob, alice.public_key) == 0);
	memset(ephemeral, 0x33, sizeof(ephemeral));
	memset(nonce, 0x44, sizeof(nonce));
	return 0;
}

static void fuzz_decode(const uint8_t *data, size_t size)
{
	struct sig_msg m, again;
	uint8_t a[SIG_MSG_MAX], b[SIG_MSG_MAX];
	size_t la, lb;

	if (sig_msg_decode(data, size, &m) != 0)
		return;
	/* Only unknown items: nothing to say, so nothing to encode. */
	if (!m.has_offer && m.n_candidates == 0 && !m.end_of_candidates && !m.goodbye)
		return;
	check(sig_msg_encode(&m, a, sizeof(a), &la) == 0);
	check(la <= size);
	check(sig_msg_decode(a, la, &again) == 0);
	check(sig_msg_encode(&again, b, sizeof(b), &lb) == 0);
	check(la == lb && memcmp(a, b, la) == 0);
}

static void fuzz_open(const uint8_t *data, size_t size)
{
	struct sig_msg m;
	struct sig_pair *from = NULL;
	uint8_t mailbox[SIG_MAILBOX_LEN];

	bob_from_alice.replay = (struct sig_replay){ 0 };
	(void)sig_envelope_peek_mailbox(data, size, mailbox);
	if (sig_envelope_open_msg(&bob, lookup, NULL, data, size, &m, &from) >= 0)
		check(from == &bob_from_alice);
}

static void fuzz_sealed(const uint8_t *data, size_t size)
{
	uint8_t env[SIG_ENVELOPE_MAX];
	struct sig_msg m;
	size_t len;
	int r;

	if (sig_envelope_seal_fixed(&alice, &alice_to_bob, data, size, ephemeral, nonce, env,
				    sizeof(env), &len) != 0) {
		check(size > SIG_PLAIN_MAX);
		return;
	}
	bob_from_alice.replay = (struct sig_replay){ 0 };
	r = sig_envelope_open_msg(&bob, lookup, NULL, env, len, &m, NULL);
	check(r == 1 || r == -EBADMSG || r == -E2BIG || r == -EPROTONOSUPPORT);
	if (r == 1)
		check(sig_envelope_open_msg(&bob, lookup, NULL, env, len, &m, NULL) == -EALREADY);
}

static void fuzz_replay(const uint8_t *data, size_t size)
{
	struct sig_replay r = { 0 };

	for (; size >= 6; data += 6, size -= 6) {
		/* Small ids and times so that sessions collide often. */
		uint64_t id = 1 + (data[0] & 3), time = 1 + (data[1] & 7);
		uint32_t counter = (uint32_t)data[2] << 24 | (uint32_t)data[3] << 16 |
				   (uint32_t)data[4] << 8 | data[5];
		int k = sig_replay_accept(&r, id, time, counter);

		check(k == 0 || k == 1 || k == -EALREADY || k == -ESTALE);
		if (k >= 0)
			check(sig_replay_check(&r, id, time, counter) == -EALREADY &&
			      r.session_id == id && r.session_time == time);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 0:
		fuzz_decode(data + 1, size - 1);
		break;
	case 1:
		fuzz_open(data + 1, size - 1);
		break;
	case 2:
		fuzz_sealed(data + 1, size - 1);
		break;
	default:
		fuzz_replay(data + 1, size - 1);
		break;
	}
	return 0;
}

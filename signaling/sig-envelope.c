/* Signaling envelope: sealed outer layer, authenticated inner layer, mailbox
 * ids and the per-peer replay window.
 *
 *   envelope = version || mailbox(recipient) || E || box(E -> R: inner)
 *   inner    = S || nonce || secretbox(key(S -> R), nonce: message)
 *
 * The outer layer is libsodium's sealed box construction, written out here
 * only so that tests can fix the ephemeral key; crypto_box_seal_open()
 * opens it.  Every byte before the outer box is either a constant we check
 * or the recipient's own mailbox, so a relay cannot change anything that is
 * not authenticated.  Secrets on the stack are wiped before returning. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "sig-envelope.h"

#define OFF_MAILBOX 1
#define OFF_EPHEMERAL (OFF_MAILBOX + SIG_MAILBOX_LEN)
#define OFF_OUTER_BOX (OFF_EPHEMERAL + SIG_KEY_LEN)
#define INNER_HEADER_LEN (SIG_KEY_LEN + SIG_NONCE_LEN)
#define INNER_MAX (SIG_ENVELOPE_MAX - OFF_OUTER_BOX - crypto_box_MACBYTES)

_Static_assert(SIG_KEY_LEN == crypto_box_PUBLICKEYBYTES, "X25519 key size");
_Static_assert(SIG_KEY_LEN == crypto_box_SECRETKEYBYTES, "X25519 key size");
_Static_assert(SIG_KEY_LEN == crypto_box_BEFORENMBYTES, "pair key size");
_Static_assert(SIG_NONCE_LEN == crypto_box_NONCEBYTES, "nonce size");
_Static_assert(OFF_OUTER_BOX + crypto_box_MACBYTES + INNER_HEADER_LEN + crypto_box_MACBYTES ==
	       SIG_ENVELOPE_OVERHEAD, "envelope overhead");
_Static_assert(SIG_PLAIN_MAX == SIG_MSG_MAX, "a largest message fills a largest envelope");

/* BLAKE2b personalisation strings (16 bytes each): one per use, so a hash
 * made for one purpose can never stand in for another. */
static const uint8_t personal_mailbox[crypto_generichash_blake2b_PERSONALBYTES] =
	"wice-mailbox-v1";
static const uint8_t personal_direction[crypto_generichash_blake2b_PERSONALBYTES] =
	"wice-sig-dir-v1";
static const uint8_t zero_salt[crypto_generichash_blake2b_SALTBYTES];

/* The mailbox id of a public key: BLAKE2b-128 with a personalisation
 * string, so it names the key without revealing it. */
static void sig_mailbox_from_public(uint8_t ret_mailbox[SIG_MAILBOX_LEN],
			     const uint8_t public_key[SIG_KEY_LEN])
{
	crypto_generichash_blake2b_salt_personal(ret_mailbox, SIG_MAILBOX_LEN, public_key,
						 SIG_KEY_LEN, NULL, 0, zero_salt,
						 personal_mailbox);
}

int sig_identity_init(struct sig_identity *ret_id, const uint8_t private_key[SIG_KEY_LEN])
{
	struct sig_identity id;

	memcpy(id.private_key, private_key, SIG_KEY_LEN);
	if (crypto_scalarmult_curve25519_base(id.public_key, id.private_key) != 0) {
		sig_identity_wipe(&id);
		return -EINVAL;
	}
	sig_mailbox_from_public(id.mailbox, id.public_key);
	*ret_id = id;
	sig_identity_wipe(&id);
	return 0;
}

void sig_identity_wipe(struct sig_identity *id)
{
	sodium_memzero(id, sizeof(*id));
}

/* One key per direction, keyed by the pair key and bound to the order of
 * the two public keys: a message can only be opened as coming from the
 * side that sent it, never reflected back to its sender. */
static void derive_direction_key(uint8_t out[SIG_KEY_LEN], const uint8_t pair_key[SIG_KEY_LEN],
				 const uint8_t from[SIG_KEY_LEN], const uint8_t to[SIG_KEY_LEN])
{
	uint8_t keys[2 * SIG_KEY_LEN];

	memcpy(keys, from, SIG_KEY_LEN);
	memcpy(keys + SIG_KEY_LEN, to, SIG_KEY_LEN);
	crypto_generichash_blake2b_salt_personal(out, SIG_KEY_LEN, keys, sizeof(keys), pair_key,
						 SIG_KEY_LEN, zero_salt, personal_direction);
}

int sig_pair_init(struct sig_pair *ret_pair, const struct sig_identity *self,
		  const uint8_t peer_public[SIG_KEY_LEN])
{
	struct sig_pair pair = { 0 };
	uint8_t pair_key[SIG_KEY_LEN];

	if (crypto_box_beforenm(pair_key, peer_public, self->private_key) != 0)
		return -EINVAL;
	memcpy(pair.peer_public, peer_public, SIG_KEY_LEN);
	sig_mailbox_from_public(pair.peer_mailbox, peer_public);
	derive_direction_key(pair.send_key, pair_key, self->public_key, peer_public);
	derive_direction_key(pair.receive_key, pair_key, peer_public, self->public_key);
	sodium_memzero(pair_key, sizeof(pair_key));
	*ret_pair = pair;
	sig_pair_wipe(&pair);
	return 0;
}

void sig_pair_wipe(struct sig_pair *pair)
{
	sodium_memzero(pair, sizeof(*pair));
}

/* ---- sealing ------------------------------------------------------------- */

/* The sealed-box nonce: BLAKE2b-192(E || R), exactly as crypto_box_seal. */
static void seal_nonce(uint8_t nonce[SIG_NONCE_LEN], const uint8_t ephemeral[SIG_KEY_LEN],
		       const uint8_t recipient[SIG_KEY_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, SIG_NONCE_LEN);
	crypto_generichash_update(&st, ephemeral, SIG_KEY_LEN);
	crypto_generichash_update(&st, recipient, SIG_KEY_LEN);
	crypto_generichash_final(&st, nonce, SIG_NONCE_LEN);
}

static size_t build_inner(uint8_t inner[INNER_MAX], const struct sig_identity *self,
			  const struct sig_pair *pair, const uint8_t *plain, size_t plain_len,
			  const uint8_t nonce[SIG_NONCE_LEN])
{
	memcpy(inner, self->public_key, SIG_KEY_LEN);
	memcpy(inner + SIG_KEY_LEN, nonce, SIG_NONCE_LEN);
	crypto_box_easy_afternm(inner + INNER_HEADER_LEN, plain, plain_len, nonce, pair->send_key);
	return INNER_HEADER_LEN + crypto_box_MACBYTES + plain_len;
}

static int seal_outer(uint8_t *buf, const struct sig_pair *pair, const uint8_t *inner,
		      size_t inner_len, const uint8_t ephemeral_private[SIG_KEY_LEN])
{
	uint8_t outer_key[SIG_KEY_LEN], nonce[SIG_NONCE_LEN];
	uint8_t *ephemeral = buf + OFF_EPHEMERAL;

	if (crypto_scalarmult_curve25519_base(ephemeral, ephemeral_private) != 0 ||
	    crypto_box_beforenm(outer_key, pair->peer_public, ephemeral_private) != 0)
		return -EINVAL;
	seal_nonce(nonce, ephemeral, pair->peer_public);
	crypto_box_easy_afternm(buf + OFF_OUTER_BOX, inner, inner_len, nonce, outer_key);
	sodium_memzero(outer_key, sizeof(outer_key));
	return 0;
}

int sig_envelope_seal_fixed(const struct sig_identity *self, const struct sig_pair *pair,
			    const uint8_t *plain, size_t plain_len,
			    const uint8_t ephemeral_private[SIG_KEY_LEN],
			    const uint8_t nonce[SIG_NONCE_LEN],
			    uint8_t *buf, size_t size, size_t *ret_len)
{
	uint8_t inner[INNER_MAX];
	size_t inner_len;
	int r;

	if (plain_len > SIG_PLAIN_MAX)
		return -EMSGSIZE;
	if (size < plain_len + SIG_ENVELOPE_OVERHEAD)
		return -ENOBUFS;
	inner_len = build_inner(inner, self, pair, plain, plain_len, nonce);
	buf[0] = SIG_ENVELOPE_VERSION;
	memcpy(buf + OFF_MAILBOX, pair->peer_mailbox, SIG_MAILBOX_LEN);
	r = seal_outer(buf, pair, inner, inner_len, ephemeral_private);
	sodium_memzero(inner, inner_len);
	if (r < 0)
		return r;
	*ret_len = plain_len + SIG_ENVELOPE_OVERHEAD;
	return 0;
}

int sig_envelope_seal(const struct sig_identity *self, const struct sig_pair *pair,
		      const uint8_t *plain, size_t plain_len,
		      uint8_t *buf, size_t size, size_t *ret_len)
{
	uint8_t ephemeral_private[SIG_KEY_LEN], nonce[SIG_NONCE_LEN];
	int r;

	randombytes_buf(ephemeral_private, sizeof(ephemeral_private));
	randombytes_buf(nonce, sizeof(nonce));
	r = sig_envelope_seal_fixed(self, pair, plain, plain_len, ephemeral_private, nonce, buf,
				    size, ret_len);
	sodium_memzero(ephemeral_private, sizeof(ephemeral_private));
	return r;
}

int sig_envelope_seal_msg(const struct sig_identity *self, const struct sig_pair *pair,
			  const struct sig_msg *msg, uint8_t *buf, size_t size, size_t *ret_len)
{
	uint8_t plain[SIG_MSG_MAX];
	size_t plain_len = 0;
	int r;

	r = sig_msg_encode(msg, plain, sizeof(plain), &plain_len);
	if (r == 0)
		r = sig_envelope_seal(self, pair, plain, plain_len, buf, size, ret_len);
	sodium_memzero(plain, plain_len);
	return r;
}

/* ---- opening ------------------------------------------------------------- */

int sig_envelope_peek_mailbox(const uint8_t *buf, size_t len,
			      uint8_t ret_mailbox[SIG_MAILBOX_LEN])
{
	if (len > SIG_ENVELOPE_MAX)
		return -EMSGSIZE;
	if (len < 1)
		return -EBADMSG;
	/* The version first: a later format may be shorter or longer. */
	if (buf[0] != SIG_ENVELOPE_VERSION)
		return -EPROTONOSUPPORT;
	if (len < SIG_ENVELOPE_OVERHEAD)
		return -EBADMSG;
	memcpy(ret_mailbox, buf + OFF_MAILBOX, SIG_MAILBOX_LEN);
	return 0;
}

/* Opens the inner layer once the sender is known. */
static int open_inner(const uint8_t *inner, size_t inner_len, const struct sig_pair *pair,
		      uint8_t *plain)
{
	const uint8_t *nonce = inner + SIG_KEY_LEN;

	if (sodium_memcmp(inner, pair->peer_public, SIG_KEY_LEN) != 0)
		return -ENOKEY; /* the lookup handed back another peer */
	if (crypto_box_open_easy_afternm(plain, inner + INNER_HEADER_LEN,
					 inner_len - INNER_HEADER_LEN, nonce,
					 pair->receive_key) != 0)
		return -EBADMSG;
	return 0;
}

static int open_layers(const struct sig_identity *self, sig_pair_lookup_fn *lookup,
		       void *userdata, const uint8_t *buf, size_t len, uint8_t *plain,
		       struct sig_pair **ret_pair)
{
	uint8_t inner[INNER_MAX];
	size_t inner_len = len - OFF_OUTER_BOX - crypto_box_MACBYTES;
	struct sig_pair *pair;
	int r;

	/* E || box is exactly a sealed box to our key. */
	if (crypto_box_seal_open(inner, buf + OFF_EPHEMERAL, len - OFF_EPHEMERAL,
				 self->public_key, self->private_key) != 0)
		return -EBADMSG;
	pair = lookup(userdata, inner);
	r = pair ? open_inner(inner, inner_len, pair, plain) : -ENOKEY;
	sodium_memzero(inner, inner_len);
	if (r == 0)
		*ret_pair = pair;
	return r;
}

int sig_envelope_open(const struct sig_identity *self, sig_pair_lookup_fn *lookup, void *userdata,
		      const uint8_t *buf, size_t len,
		      uint8_t *plain, size_t plain_size, size_t *ret_plain_len,
		      struct sig_pair **ret_pair)
{
	uint8_t mailbox[SIG_MAILBOX_LEN], out[SIG_PLAIN_MAX];
	struct sig_pair *pair = NULL;
	size_t plain_len;
	int r;

	r = sig_envelope_peek_mailbox(buf, len, mailbox);
	if (r < 0)
		return r;
	if (sodium_memcmp(mailbox, self->mailbox, SIG_MAILBOX_LEN) != 0)
		return -ENXIO;
	plain_len = len - SIG_ENVELOPE_OVERHEAD;
	if (plain_size < plain_len)
		return -ENOBUFS;
	r = open_layers(self, lookup, userdata, buf, len, out, &pair);
	if (r == 0) {
		memcpy(plain, out, plain_len);
		*ret_plain_len = plain_len;
		*ret_pair = pair;
	}
	sodium_memzero(out, plain_len);
	return r;
}

int sig_envelope_open_msg(const struct sig_identity *self, sig_pair_lookup_fn *lookup,
			  void *userdata, const uint8_t *buf, size_t len,
			  struct sig_msg *ret_msg, struct sig_pair **ret_pair)
{
	uint8_t plain[SIG_PLAIN_MAX];
	size_t plain_len = 0;
	struct sig_pair *pair = NULL;
	struct sig_msg msg;
	int r;

	r = sig_envelope_open(self, lookup, userdata, buf, len, plain, sizeof(plain), &plain_len,
			      &pair);
	if (r == 0)
		r = sig_msg_decode(plain, plain_len, &msg);
	sodium_memzero(plain, plain_len);
	if (r < 0)
		return r;
	/* Only now, authenticated and well formed, may it move the window. */
	r = sig_replay_accept(&pair->replay, msg.session_id, msg.session_time, msg.counter);
	if (r >= 0) {
		*ret_msg = msg;
		if (ret_pair)
			*ret_pair = pair;
	}
	sig_msg_wipe(&msg);
	return r;
}

/* ---- replay -------------------------------------------------------------- */

int sig_replay_check(const struct sig_replay *r, uint64_t session_id, uint64_t session_time,
		     uint32_t counter)
{
	uint32_t age;

	if (r->session_id == 0 || session_time > r->session_time)
		return 1;
	/* An older session, or a second one claiming the same time: only a
	 * replay or a broken sender does that, and the first one stays. */
	if (session_time < r->session_time || session_id != r->session_id)
		return -ESTALE;
	if (counter > r->highest)
		return 0;
	age = r->highest - counter;
	if (age >= SIG_REPLAY_WINDOW)
		return -ESTALE;
	return r->seen & (UINT64_C(1) << age) ? -EALREADY : 0;
}

int sig_replay_accept(struct sig_replay *r, uint64_t session_id, uint64_t session_time,
		      uint32_t counter)
{
	int k = sig_replay_check(r, session_id, session_time, counter);
	uint32_t shift;

	if (k == 1) {
		*r = (struct sig_replay){ .session_id = session_id,
					  .session_time = session_time,
					  .highest = counter,
					  .seen = 1 };
	} else if (k == 0 && counter > r->highest) {
		shift = counter - r->highest;
		r->seen = shift >= SIG_REPLAY_WINDOW ? 1 : r->seen << shift | 1;
		r->highest = counter;
	} else if (k == 0) {
		r->seen |= UINT64_C(1) << (r->highest - counter);
	}
	return k;
}

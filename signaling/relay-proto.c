/* Signal server wire pieces: base64url ids, the subscription proof and the
 * stream framing, on top of libsodium. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sodium.h>

#include "relay-proto.h"

_Static_assert(RELAY_SECRET_KEY_LEN == crypto_sign_SECRETKEYBYTES, "secret key size");
_Static_assert(RELAY_ID_LEN == crypto_sign_PUBLICKEYBYTES, "mailbox id size");
_Static_assert(RELAY_SIGNATURE_LEN == crypto_sign_BYTES, "signature size");

void relay_b64_encode(char *out, size_t out_size, const uint8_t *in, size_t in_len)
{
	sodium_bin2base64(out, out_size, in, in_len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static bool is_b64url(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool relay_b64_decode(uint8_t *out, size_t out_len, const char *s, size_t s_len)
{
	size_t bin_len = 0;
	const char *end = NULL;

	if (s_len != sodium_base64_ENCODED_LEN(out_len, sodium_base64_VARIANT_URLSAFE_NO_PADDING) - 1)
		return false;
	/* libsodium 1.0.18 takes a byte above 0x7f for a letter of the
	 * alphabet (0xff for '_'), which would give an id a second spelling. */
	for (size_t i = 0; i < s_len; i++)
		if (!is_b64url(s[i]))
			return false;
	/* libsodium refuses non-zero leftover bits, which makes the
	 * encoding canonical. */
	if (sodium_base642bin(out, out_len, s, s_len, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return false;
	return bin_len == out_len && end == s + s_len;
}

void relay_proof_message(uint8_t out[RELAY_PROOF_LEN], const uint8_t id[RELAY_ID_LEN],
			 const uint8_t challenge[RELAY_CHALLENGE_LEN])
{
	memcpy(out, RELAY_PROOF_CONTEXT, RELAY_PROOF_CONTEXT_LEN);
	memcpy(out + RELAY_PROOF_CONTEXT_LEN, id, RELAY_ID_LEN);
	memcpy(out + RELAY_PROOF_CONTEXT_LEN + RELAY_ID_LEN, challenge, RELAY_CHALLENGE_LEN);
}

void relay_proof_sign(uint8_t sig[RELAY_SIGNATURE_LEN], const uint8_t id[RELAY_ID_LEN],
		      const uint8_t challenge[RELAY_CHALLENGE_LEN],
		      const uint8_t secret_key[RELAY_SECRET_KEY_LEN])
{
	uint8_t proof[RELAY_PROOF_LEN];

	relay_proof_message(proof, id, challenge);
	crypto_sign_detached(sig, NULL, proof, sizeof(proof), secret_key);
}

bool relay_proof_verify(const uint8_t sig[RELAY_SIGNATURE_LEN], const uint8_t id[RELAY_ID_LEN],
			const uint8_t challenge[RELAY_CHALLENGE_LEN])
{
	uint8_t proof[RELAY_PROOF_LEN];

	relay_proof_message(proof, id, challenge);
	/* Also refuses small-order and non-canonical public keys. */
	return crypto_sign_verify_detached(sig, proof, sizeof(proof), id) == 0;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = v & 0xff;
}

static uint64_t get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

void relay_frame_header(uint8_t out[RELAY_FRAME_HEADER_LEN], uint64_t seq, uint32_t body_len)
{
	put_be(out, seq, 8);
	put_be(out + 8, body_len, 4);
}

ssize_t relay_frame_parse(const uint8_t *buf, size_t len, size_t max_body, uint64_t *ret_seq,
			  const uint8_t **ret_body, size_t *ret_body_len)
{
	size_t body_len;

	if (len < RELAY_FRAME_HEADER_LEN)
		return 0;
	body_len = get_be(buf + 8, 4);
	if (body_len > max_body)
		return -EMSGSIZE;
	if (len - RELAY_FRAME_HEADER_LEN < body_len)
		return 0;
	*ret_seq = get_be(buf, 8);
	*ret_body = buf + RELAY_FRAME_HEADER_LEN;
	*ret_body_len = body_len;
	return RELAY_FRAME_HEADER_LEN + body_len;
}

void relay_batch_header(uint8_t out[RELAY_BATCH_HEADER_LEN], const uint8_t id[RELAY_ID_LEN],
			uint32_t body_len)
{
	memcpy(out, id, RELAY_ID_LEN);
	put_be(out + RELAY_ID_LEN, body_len, 4);
}

ssize_t relay_batch_parse(const uint8_t *buf, size_t len, size_t max_body, const uint8_t **ret_id,
			  const uint8_t **ret_body, size_t *ret_body_len)
{
	size_t body_len;

	if (len < RELAY_BATCH_HEADER_LEN)
		return 0;
	body_len = get_be(buf + RELAY_ID_LEN, 4);
	if (body_len > max_body)
		return -EMSGSIZE;
	if (len - RELAY_BATCH_HEADER_LEN < body_len)
		return 0;
	*ret_id = buf;
	*ret_body = buf + RELAY_BATCH_HEADER_LEN;
	*ret_body_len = body_len;
	return RELAY_BATCH_HEADER_LEN + body_len;
}

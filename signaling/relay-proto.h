/* The wire pieces of the signal server protocol that both ends need:
 * mailbox ids in URLs (base64url), the subscription proof (the bytes a
 * subscriber signs), the framing of the subscription stream and of batch
 * posts.  Pure C over (buf, len), no GLib, so the daemon's HTTP client can
 * share it with `wice signal-server`.  docs/SIGNAL-SERVER.md describes
 * every byte. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A mailbox id is an Ed25519 public key (libsodium crypto_sign). */
#define RELAY_ID_LEN 32
#define RELAY_CHALLENGE_LEN 32
#define RELAY_SIGNATURE_LEN 64
#define RELAY_SECRET_KEY_LEN 64 /* crypto_sign_SECRETKEYBYTES */
#define RELAY_INSTANCE_LEN 16

/* base64url without padding, plus the NUL. */
#define RELAY_ID_STR_LEN 44
#define RELAY_CHALLENGE_STR_LEN 44
#define RELAY_SIGNATURE_STR_LEN 87
#define RELAY_INSTANCE_STR_LEN 23

/* What a subscriber signs: context || mailbox id || challenge. */
#define RELAY_PROOF_CONTEXT "wice-signal-v1 subscribe"
#define RELAY_PROOF_CONTEXT_LEN (sizeof(RELAY_PROOF_CONTEXT) - 1)
#define RELAY_PROOF_LEN (RELAY_PROOF_CONTEXT_LEN + RELAY_ID_LEN + RELAY_CHALLENGE_LEN)

/* Stream frame: sequence number (u64) and body length (u32), big-endian,
 * then the body.  Sequence number 0 marks a control frame (today only the
 * empty keepalive); clients skip control frames. */
#define RELAY_FRAME_HEADER_LEN 12

/* Batch entry (POST /v1/batch): mailbox id (32 raw bytes) and body length
 * (u32, big-endian), then the body; entries follow each other. */
#define RELAY_BATCH_HEADER_LEN (RELAY_ID_LEN + 4)

#define RELAY_HEADER_INSTANCE "Wice-Instance"
#define RELAY_HEADER_CHALLENGE "Wice-Challenge"
#define RELAY_HEADER_SIGNATURE "Wice-Signature"
#define RELAY_HEADER_AFTER "Wice-After"
#define RELAY_STREAM_CONTENT_TYPE "application/x-wice-stream"
#define RELAY_BATCH_CONTENT_TYPE "application/x-wice-batch"

/* Encodes in_len bytes as base64url without padding; out_size must hold the
 * encoding and its NUL (the *_STR_LEN constants above). */
void relay_b64_encode(char *out, size_t out_size, const uint8_t *in, size_t in_len);
/* Decodes exactly out_len bytes from exactly s_len characters; only the
 * one canonical encoding is accepted, so an id has a single spelling. */
bool relay_b64_decode(uint8_t *out, size_t out_len, const char *s, size_t s_len);

void relay_proof_message(uint8_t out[RELAY_PROOF_LEN], const uint8_t id[RELAY_ID_LEN],
			 const uint8_t challenge[RELAY_CHALLENGE_LEN]);
void relay_proof_sign(uint8_t sig[RELAY_SIGNATURE_LEN], const uint8_t id[RELAY_ID_LEN],
		      const uint8_t challenge[RELAY_CHALLENGE_LEN],
		      const uint8_t secret_key[RELAY_SECRET_KEY_LEN]);
bool relay_proof_verify(const uint8_t sig[RELAY_SIGNATURE_LEN], const uint8_t id[RELAY_ID_LEN],
			const uint8_t challenge[RELAY_CHALLENGE_LEN]);

void relay_frame_header(uint8_t out[RELAY_FRAME_HEADER_LEN], uint64_t seq, uint32_t body_len);
/* Parses the frame at the start of buf.  Returns the bytes it spans, 0 when
 * buf holds only part of it, -EMSGSIZE when its body exceeds max_body. */
ssize_t relay_frame_parse(const uint8_t *buf, size_t len, size_t max_body, uint64_t *ret_seq,
			  const uint8_t **ret_body, size_t *ret_body_len);

void relay_batch_header(uint8_t out[RELAY_BATCH_HEADER_LEN], const uint8_t id[RELAY_ID_LEN],
			uint32_t body_len);
/* Parses the batch entry at the start of buf, like relay_frame_parse();
 * *ret_id points into buf. */
ssize_t relay_batch_parse(const uint8_t *buf, size_t len, size_t max_body, const uint8_t **ret_id,
			  const uint8_t **ret_body, size_t *ret_body_len);

/* The checks a request to `wice signal-server` passes before it costs the
 * server anything: the size of its body, the entries of a batch, the
 * stream cursor and the subscription proof.  Pure functions of the bytes
 * and header values that server.c takes from libsoup, so that they are
 * unit tested and fuzzed (tests/fuzz/fuzz-sigserver.c) without a server.
 * Refusals come as an HTTP status and a reason, which server.c sends. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signaling/relay-proto.h"

#define HTTP_BAD_REQUEST 400
#define HTTP_LENGTH_REQUIRED 411
#define HTTP_PAYLOAD_TOO_LARGE 413
#define HTTP_TOO_MANY_REQUESTS 429
#define HTTP_SERVICE_UNAVAILABLE 503

/* How the request headers frame a body. */
enum request_body {
	REQUEST_BODY_NONE,   /* no body */
	REQUEST_BODY_LENGTH, /* Content-Length */
	REQUEST_BODY_OTHER,  /* chunked, or up to the end of the connection */
};

/* Returns the refusal (status, and its reason in *ret_reason) for a body
 * that the server will not read, or 0: a POST body must declare its length
 * and stay within cap; other requests have no body. */
unsigned request_body_refusal(enum request_body body, int64_t length, bool post, int64_t cap,
			      const char **ret_reason);

/* Why the mailbox store refused a message (a negative errno of
 * mailbox_store_post()), as HTTP says it. */
const char *request_post_refusal(int r, unsigned *ret_status);

/* Checks every entry of a batch body before any is stored: a malformed
 * batch is refused whole, so that its sender knows none of it was posted.
 * Returns the number of entries, or 0 and the refusal. */
size_t request_batch_check(const uint8_t *data, size_t len, size_t max_message, unsigned *ret_status,
			   const char **ret_reason);

/* The stream cursor from the query's after= and instance= (NULL when
 * absent).  The cursor counts only in the instance that issued it (ours):
 * after a restart sequence numbers start again at 1, and everything queued
 * is new.  Never above last_seq.  False for a malformed after=. */
bool request_cursor(const char *after, const char *instance, const char *ours, uint64_t last_seq,
		    uint64_t *ret_after);

/* The subscription proof from the Wice-Challenge and Wice-Signature
 * headers (NULL when absent).  False when either is missing or is not
 * the one base64url spelling of its bytes. */
bool request_proof(const char *challenge, const char *signature, uint8_t ret_challenge[RELAY_CHALLENGE_LEN],
		   uint8_t ret_sig[RELAY_SIGNATURE_LEN]);

/* What the HTTP backend reads from `wice signal-server`: the frames of a
 * subscription stream, the instance header and the challenge.  Pure
 * functions over bytes, so that they are unit tested and fuzzed
 * (tests/fuzz/fuzz-http.c) without curl or a server; backend-http.c feeds
 * them what curl hands it, in pieces of any size. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "signaling/relay-proto.h"

/* The largest body `wice signal-server --max-message` allows: a frame up
 * to this size is read and skipped (it cannot be an envelope); anything
 * larger is a broken stream. */
#define HTTP_FRAME_BODY_MAX (1u << 20)

/* One frame of a subscription stream, as the subscriber whose last
 * sequence number is *cursor sees it. */
struct http_frame {
	bool empty;	     /* a keepalive or a repeat: it carries nothing */
	const uint8_t *env;  /* the envelope it brings (into buf), or NULL */
	size_t env_len;
};

/* Reads the frame at the start of buf.  Returns the bytes it spans (then
 * *cursor has moved to a new frame's number), 0 when buf holds only part
 * of it, or -EMSGSIZE when the stream is broken. */
ssize_t http_stream_frame(const uint8_t *buf, size_t len, uint64_t *cursor, struct http_frame *ret);

/* The value of header @name (case-insensitive), blanks trimmed, from one
 * header line data[0..len) as curl hands it (with its CRLF).  Copied to
 * out when it fits with its NUL; out is left alone otherwise, and for
 * other headers. */
void http_header_value(char *out, size_t size, const char *data, size_t len, const char *name);

/* The challenge in the body of GET /v1/challenge: its base64url spelling
 * and a line end. */
bool http_challenge_parse(const char *text, size_t len, uint8_t ret[RELAY_CHALLENGE_LEN]);

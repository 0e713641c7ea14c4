/* Facts (issue 13, section 3; docs/PROTOCOL.md section 14): what a node
 * says about itself and, when it is a router, about its peers, each with a
 * time to live.  A bundle of facts travels sealed in a signaling envelope
 * (sig-envelope.h) from one node to one neighbour through the tunnel, so
 * the envelope proves who said it; this codec is only the plain bytes.
 *
 * Plain C over (buf, len); decoding allocates nothing.
 *
 * Bundle:  version 1 | issued_ms 8 (big endian, Unix time) | count 1 |
 *          count x fact
 * Fact:    subject 32 (a WireGuard public key) | attribute 1 |
 *          ttl 2 (big endian seconds, > 0) | length 1 | value (length)
 * Values:  ALIVE, RELAYS: empty.
 *          ENDPOINT: family 1 (4 or 6) | address 4 or 16 | port 2 (BE, > 0)
 *          ALLOWED_IP: family 1 (4 or 6) | prefix length 1 | address 4 or 16
 *                      (host bits zero)
 *          REACHES: a WireGuard public key 32
 * A fact of an unknown attribute is skipped (later versions may add some);
 * a known one with a malformed value fails the whole bundle. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FACT_WIRE_VERSION 1
#define FACT_KEY_LEN 32
#define FACT_BUNDLE_HEADER 10
/* The most facts a bundle holds: what fits in one envelope at the
 * smallest fact size (sig-envelope.h's SIG_PLAIN_MAX = 1063). */
#define FACT_BUNDLE_MAX 29
#define FACT_TTL_MAX 65535

enum fact_attr {
	FACT_ALIVE = 1,      /* the subject is up (and, from a router, handshook with it) */
	FACT_ENDPOINT = 2,   /* where the subject's WireGuard listens or was seen */
	FACT_ALLOWED_IP = 3, /* addresses that belong to the subject */
	FACT_RELAYS = 4,     /* the subject forwards between its peers */
	FACT_REACHES = 5,    /* the subject has a working tunnel to the peer named in the value */
	FACT_MISSES = 6,     /* the subject has had no tunnel to that peer for a while: who reaches it? */
	FACT_ASKS = 7,       /* the subject says MISSES, and wants REACHES only for those */
};

struct fact {
	uint8_t subject[FACT_KEY_LEN];
	uint8_t attr;   /* enum fact_attr */
	uint16_t ttl_s; /* 1..FACT_TTL_MAX */
	/* ENDPOINT, ALLOWED_IP */
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* the first 4 bytes for AF_INET */
	uint16_t port;    /* ENDPOINT, host byte order */
	uint8_t prefix;   /* ALLOWED_IP */
	/* REACHES, MISSES */
	uint8_t peer[FACT_KEY_LEN];
};

struct fact_bundle {
	uint64_t issued_ms;
	size_t n;
	struct fact facts[FACT_BUNDLE_MAX];
};

/* The encoded size of @f, or 0 for a fact that cannot be encoded (unknown
 * attribute, ttl 0, bad family, prefix or port, host bits set). */
size_t fact_wire_size(const struct fact *f);
/* Writes @b into @buf.  Returns 0 and sets *ret_len, -EINVAL for a fact
 * that cannot be encoded or more than FACT_BUNDLE_MAX facts, -ENOBUFS when
 * @size is too small. */
int fact_bundle_encode(const struct fact_bundle *b, uint8_t *buf, size_t size, size_t *ret_len);
/* Reads a bundle.  Returns 0, -EPROTONOSUPPORT for another version, or
 * -EBADMSG for anything malformed: short, trailing bytes, a count that
 * does not match, more than FACT_BUNDLE_MAX facts, ttl 0, a bad value of a
 * known attribute.  *ret is untouched on failure. */
int fact_bundle_decode(const uint8_t *buf, size_t len, struct fact_bundle *ret);
/* True when the two facts say the same thing (ttl aside): same subject,
 * attribute and value. */
bool fact_same(const struct fact *a, const struct fact *b);

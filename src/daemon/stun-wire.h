/* The STUN (RFC 8489) messages of `wice netcheck` and of the daemon's own
 * NAT probe (nat-probe.h): Binding and unauthenticated TURN Allocate
 * requests, and the reading of what comes back.  Pure functions over
 * (buf, len), no sockets, so that unit tests and the fuzzer
 * (tests/fuzz/fuzz-netcheck.c) reach every branch.
 *
 * The requests are built here (a header and, for Allocate, one
 * attribute); the answers are read with libnice's STUN codec, which the
 * daemon links anyway: only the header checks and the transaction match
 * are ours. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define STUN_WIRE_HEADER_LEN 20
#define STUN_WIRE_TID_LEN 12
/* The longest request we build (Allocate with REQUESTED-TRANSPORT). */
#define STUN_WIRE_MAX_REQUEST 28
/* Answers longer than this are not read (a Binding or Allocate error
 * answer is well under 200 bytes). */
#define STUN_WIRE_MAX_REPLY 1500

enum stun_wire_method {
	STUN_WIRE_BINDING = 0x001,
	STUN_WIRE_ALLOCATE = 0x003,
};

struct stun_wire_reply {
	uint16_t method;
	bool success;        /* a success response; else an error response */
	int error_code;      /* error responses: 300-699 when given, else 0 */
	bool have_mapped;    /* (XOR-)MAPPED-ADDRESS */
	struct sockaddr_storage mapped;
};

/* Writes a request of @method with transaction @tid into @buf; its length,
 * or 0 when @len is too small. */
size_t stun_wire_request(enum stun_wire_method method, const uint8_t tid[STUN_WIRE_TID_LEN], uint8_t *buf,
			 size_t len);
/* The length of the whole STUN message @buf starts with (STUN over a
 * stream), 0 when more bytes are needed, -1 when it is not STUN. */
int stun_wire_message_len(const uint8_t *buf, size_t len);
/* Reads @buf as the answer to request @tid: true for a success or error
 * response of that transaction, with what it says in @ret (left untouched
 * otherwise). */
bool stun_wire_parse_reply(const uint8_t *buf, size_t len, const uint8_t tid[STUN_WIRE_TID_LEN],
			   struct stun_wire_reply *ret);
/* True when @buf is a request (of any method) with transaction @tid: a
 * hairpinned probe of our own. */
bool stun_wire_is_request(const uint8_t *buf, size_t len, const uint8_t tid[STUN_WIRE_TID_LEN]);

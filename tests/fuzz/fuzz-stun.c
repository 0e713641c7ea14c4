/* libFuzzer harness for the signal server's STUN responder
 * (signaling/server/stun-responder.c): the input is one datagram, from an
 * address its first three bytes pick (byte 0: IPv4, IPv6 or IPv4 through
 * a dual-stack socket; bytes 1-2: the port).  With bit 0x80 of byte 0 the
 * datagram's length field and magic cookie are set right first, so that
 * mutations reach the attributes (libnice's codec, which does the
 * parsing, is not instrumented: the fuzzer is blind inside it).
 *
 * An answer must be a whole STUN message that answers the request's
 * transaction, and a Binding success must give the sender's address as
 * the sender would see it (IPv4 for a mapped one).  Any broken property
 * aborts. */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <stun/stunagent.h>

#include "signaling/server/stun-responder.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STUN_HEADER_LEN 20
#define STUN_COOKIE 0x2112a442

static struct stun_responder *responder;

static void check(int ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	responder = stun_responder_new();
	return 0;
}

/* The sender, and the address it must be told. */
static socklen_t sender(uint8_t kind, uint16_t port, struct sockaddr_storage *from, struct sockaddr_storage *seen)
{
	struct sockaddr_in *in = (struct sockaddr_in *)seen;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)from;

	memset(from, 0, sizeof(*from));
	memset(seen, 0, sizeof(*seen));
	in->sin_family = AF_INET;
	in->sin_port = htons(port);
	inet_pton(AF_INET, "203.0.113.7", &in->sin_addr);
	switch (kind % 3) {
	case 0:
		memcpy(from, seen, sizeof(*in));
		return sizeof(*in);
	case 1:
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		inet_pton(AF_INET6, "2001:db8::7", &in6->sin6_addr);
		memcpy(seen, from, sizeof(*in6));
		return sizeof(*in6);
	default:
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		inet_pton(AF_INET6, "::ffff:203.0.113.7", &in6->sin6_addr);
		return sizeof(*in6);
	}
}

static void check_mapped(const StunMessage *answer, const struct sockaddr_storage *seen)
{
	struct sockaddr_storage mapped;
	socklen_t len = sizeof(mapped);

	check(stun_message_find_xor_addr(answer, STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS, &mapped, &len) ==
	      STUN_MESSAGE_RETURN_SUCCESS);
	check(mapped.ss_family == seen->ss_family);
	if (seen->ss_family == AF_INET)
		check(memcmp(&((struct sockaddr_in *)&mapped)->sin_addr, &((const struct sockaddr_in *)seen)->sin_addr,
			     4) == 0 &&
		      ((struct sockaddr_in *)&mapped)->sin_port == ((const struct sockaddr_in *)seen)->sin_port);
	else
		check(memcmp(&((struct sockaddr_in6 *)&mapped)->sin6_addr,
			     &((const struct sockaddr_in6 *)seen)->sin6_addr, 16) == 0 &&
		      ((struct sockaddr_in6 *)&mapped)->sin6_port == ((const struct sockaddr_in6 *)seen)->sin6_port);
}

/* Method and class as RFC 5389 spells them; libnice's getters read type
 * 0x0115 (an error answer to method 5) as a Google data indication. */
static unsigned method_of(const uint8_t *msg)
{
	unsigned t = (unsigned)msg[0] << 8 | msg[1];

	return (t & 0x3e00) >> 2 | (t & 0x00e0) >> 1 | (t & 0x000f);
}

static unsigned class_of(const uint8_t *msg)
{
	return (msg[0] & 0x01) << 1 | (msg[1] & 0x10) >> 4;
}

static void answer_and_check(const uint8_t *data, size_t size, const struct sockaddr_storage *from,
			     socklen_t from_len, const struct sockaddr_storage *seen)
{
	uint8_t out[1500];
	StunMessage answer;
	size_t n = stun_responder_answer(responder, data, size, from, from_len, out, sizeof(out));

	if (n == 0)
		return;
	check(n <= sizeof(out) && size >= STUN_HEADER_LEN);
	check(stun_message_validate_buffer_length(out, n, true) == (int)n);
	/* The request's transaction. */
	check(memcmp(out + 8, data + 8, STUN_HEADER_LEN - 8) == 0);
	check(class_of(data) == STUN_REQUEST && method_of(out) == method_of(data));
	answer = (StunMessage){ .buffer = out, .buffer_len = n };
	if (class_of(out) == STUN_RESPONSE) {
		check(method_of(out) == STUN_BINDING);
		check_mapped(&answer, seen);
	} else {
		check(class_of(out) == STUN_ERROR);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage from, seen;
	socklen_t from_len;
	uint8_t *copy;

	if (size < 3)
		return 0;
	from_len = sender(data[0], (uint16_t)(data[1] << 8 | data[2]), &from, &seen);
	if (!(data[0] & 0x80) || size < 3 + STUN_HEADER_LEN) {
		answer_and_check(data + 3, size - 3, &from, from_len, &seen);
		return 0;
	}
	copy = malloc(size - 3);
	memcpy(copy, data + 3, size - 3);
	copy[2] = (uint8_t)((size - 3 - STUN_HEADER_LEN) >> 8);
	copy[3] = (uint8_t)(size - 3 - STUN_HEADER_LEN);
	copy[4] = STUN_COOKIE >> 24;
	copy[5] = (STUN_COOKIE >> 16) & 0xff;
	copy[6] = (STUN_COOKIE >> 8) & 0xff;
	copy[7] = STUN_COOKIE & 0xff;
	answer_and_check(copy, size - 3, &from, from_len, &seen);
	free(copy);
	return 0;
}

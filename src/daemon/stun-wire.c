/* STUN requests and answers for the NAT probes; see stun-wire.h. */
#include "config.h"

#include <string.h>
#include <stun/stunmessage.h>

#include "stun-wire.h"

#define STUN_COOKIE 0x2112a442u
/* The class bits of a message type (RFC 8489, 5): C1 is 0x0100, C0 0x0010. */
#define CLASS_MASK 0x0110u
#define CLASS_REQUEST 0x0000u
#define CLASS_SUCCESS 0x0100u
#define CLASS_ERROR 0x0110u
#define ATTR_REQUESTED_TRANSPORT 0x0019u
#define PROTO_UDP 17

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

size_t stun_wire_request(enum stun_wire_method method, const uint8_t tid[STUN_WIRE_TID_LEN], uint8_t *buf,
			 size_t len)
{
	size_t body = method == STUN_WIRE_ALLOCATE ? 8 : 0;

	if (len < STUN_WIRE_HEADER_LEN + body)
		return 0;
	memset(buf, 0, STUN_WIRE_HEADER_LEN + body);
	put16(buf, (uint16_t)method); /* methods below 0x10: the type is the method */
	put16(buf + 2, (uint16_t)body);
	buf[4] = 0x21, buf[5] = 0x12, buf[6] = 0xa4, buf[7] = 0x42;
	memcpy(buf + 8, tid, STUN_WIRE_TID_LEN);
	if (method == STUN_WIRE_ALLOCATE) {
		/* TURN (RFC 8656, 7.1): a relay for UDP; without credentials the
		 * server answers 401 with its realm, which proves it is there. */
		put16(buf + 20, ATTR_REQUESTED_TRANSPORT);
		put16(buf + 22, 4);
		buf[24] = PROTO_UDP;
	}
	return STUN_WIRE_HEADER_LEN + body;
}

int stun_wire_message_len(const uint8_t *buf, size_t len)
{
	size_t total;

	if (len < STUN_WIRE_HEADER_LEN)
		return (len >= 1 && (buf[0] & 0xc0)) || (len >= 8 && get32(buf + 4) != STUN_COOKIE) ? -1 : 0;
	if ((buf[0] & 0xc0) || get32(buf + 4) != STUN_COOKIE || (get16(buf + 2) & 3))
		return -1;
	total = STUN_WIRE_HEADER_LEN + get16(buf + 2);
	if (total > STUN_WIRE_MAX_REPLY)
		return -1;
	return len < total ? 0 : (int)total;
}

/* The header is STUN of this transaction and the whole message is there
 * and well formed (attributes within the length, padded). */
static bool of_transaction(const uint8_t *buf, size_t len, const uint8_t tid[STUN_WIRE_TID_LEN])
{
	/* (an empty buffer "needs more", length 0: not a whole message) */
	if (len < STUN_WIRE_HEADER_LEN || stun_wire_message_len(buf, len) != (int)len)
		return false;
	if (memcmp(buf + 8, tid, STUN_WIRE_TID_LEN) != 0)
		return false;
	return stun_message_validate_buffer_length(buf, len, true) == (int)len;
}

static bool find_mapped(const StunMessage *msg, struct sockaddr_storage *ret)
{
	socklen_t alen = sizeof(*ret);

	if (stun_message_find_xor_addr(msg, STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS, ret, &alen) ==
	    STUN_MESSAGE_RETURN_SUCCESS)
		return true;
	alen = sizeof(*ret);
	return stun_message_find_addr(msg, STUN_ATTRIBUTE_MAPPED_ADDRESS, ret, &alen) == STUN_MESSAGE_RETURN_SUCCESS;
}

bool stun_wire_parse_reply(const uint8_t *buf, size_t len, const uint8_t tid[STUN_WIRE_TID_LEN],
			   struct stun_wire_reply *ret)
{
	struct stun_wire_reply r = { 0 };
	StunMessage msg = { .buffer = (uint8_t *)buf, .buffer_len = len };
	unsigned cls;
	int code;

	if (!of_transaction(buf, len, tid))
		return false;
	cls = get16(buf) & CLASS_MASK;
	if (cls != CLASS_SUCCESS && cls != CLASS_ERROR)
		return false;
	r.method = (uint16_t)stun_message_get_method(&msg);
	r.success = cls == CLASS_SUCCESS;
	if (!r.success && stun_message_find_error(&msg, &code) == STUN_MESSAGE_RETURN_SUCCESS && code >= 300 &&
	    code <= 699)
		r.error_code = code;
	if (r.success)
		r.have_mapped = find_mapped(&msg, &r.mapped);
	*ret = r;
	return true;
}

bool stun_wire_is_request(const uint8_t *buf, size_t len, const uint8_t tid[STUN_WIRE_TID_LEN])
{
	return of_transaction(buf, len, tid) && (get16(buf) & CLASS_MASK) == CLASS_REQUEST;
}

/* PCP and NAT-PMP on the wire (portmap-wire.h). */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "portmap-wire.h"

#define PCP_HEADER_LEN 24
#define PCP_OPCODE_MAP 1
#define PCP_R_BIT 0x80
#define PCP_PROTOCOL_UDP 17
#define NATPMP_OP_ADDR 0
#define NATPMP_OP_MAP_UDP 1
#define NATPMP_REPLY 0x80
#define NATPMP_HEADER_LEN 8 /* version, opcode, result, epoch */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* PCP carries IPv4 addresses as IPv4-mapped IPv6 (::ffff:a.b.c.d). */
static void put_mapped(uint8_t *p, struct in_addr a)
{
	memset(p, 0, 10);
	p[10] = p[11] = 0xff;
	memcpy(p + 12, &a, 4);
}

static bool get_mapped(const uint8_t *p, struct in_addr *ret)
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (memcmp(p, prefix, sizeof(prefix)) != 0)
		return false;
	memcpy(ret, p + 12, 4);
	return true;
}

size_t pcp_format_map(const struct pcp_map_request *req, uint8_t *buf, size_t len)
{
	if (len < PCP_MAP_LEN)
		return 0;
	memset(buf, 0, PCP_MAP_LEN);
	buf[0] = PCP_VERSION;
	buf[1] = PCP_OPCODE_MAP;
	put32(buf + 4, req->lifetime);
	put_mapped(buf + 8, req->client);
	memcpy(buf + 24, req->nonce, PCP_NONCE_LEN);
	buf[36] = PCP_PROTOCOL_UDP;
	put16(buf + 40, req->internal_port);
	put16(buf + 42, req->suggested_port);
	put_mapped(buf + 44, req->suggested_addr);
	return PCP_MAP_LEN;
}

size_t natpmp_format_addr(uint8_t *buf, size_t len)
{
	if (len < NATPMP_ADDR_REQUEST_LEN)
		return 0;
	buf[0] = NATPMP_VERSION;
	buf[1] = NATPMP_OP_ADDR;
	return NATPMP_ADDR_REQUEST_LEN;
}

size_t natpmp_format_map(uint16_t internal_port, uint16_t suggested_port, uint32_t lifetime, uint8_t *buf,
			 size_t len)
{
	if (len < NATPMP_MAP_REQUEST_LEN)
		return 0;
	buf[0] = NATPMP_VERSION;
	buf[1] = NATPMP_OP_MAP_UDP;
	put16(buf + 2, 0);
	put16(buf + 4, internal_port);
	put16(buf + 6, suggested_port);
	put32(buf + 8, lifetime);
	return NATPMP_MAP_REQUEST_LEN;
}

/* Options follow the MAP payload, each a 4-byte header and its data
 * padded to 4 bytes.  We ask for none and act on none, but one that
 * overruns the datagram makes it malformed. */
static bool pcp_options_fit(const uint8_t *p, size_t len)
{
	while (len) {
		size_t opt;

		if (len < 4)
			return false;
		opt = 4 + (((size_t)get16(p + 2) + 3) & ~(size_t)3);
		if (opt > len)
			return false;
		p += opt;
		len -= opt;
	}
	return true;
}

static int parse_pcp(const uint8_t *buf, size_t len, struct portmap_reply *ret)
{
	struct portmap_reply r = { .kind = PORTMAP_REPLY_PCP_MAP, .version = PCP_VERSION };

	if (len < PCP_HEADER_LEN || len > PCP_MAX_LEN || len % 4 || !(buf[1] & PCP_R_BIT))
		return -EBADMSG;
	r.result = buf[3];
	r.lifetime = get32(buf + 4);
	r.epoch = get32(buf + 8);
	if (r.result == PCP_RESULT_UNSUPP_VERSION) {
		r.kind = PORTMAP_REPLY_UNSUPP_VERSION;
		*ret = r;
		return 0;
	}
	if ((buf[1] & ~PCP_R_BIT) != PCP_OPCODE_MAP)
		return -ENOTSUP;
	if (len < PCP_MAP_LEN || !pcp_options_fit(buf + PCP_MAP_LEN, len - PCP_MAP_LEN))
		return -EBADMSG;
	memcpy(r.nonce, buf + 24, PCP_NONCE_LEN);
	r.protocol = buf[36];
	r.internal_port = get16(buf + 40);
	r.external_port = get16(buf + 42);
	r.have_external = get_mapped(buf + 44, &r.external);
	*ret = r;
	return 0;
}

static int parse_natpmp(const uint8_t *buf, size_t len, struct portmap_reply *ret)
{
	struct portmap_reply r = { .version = NATPMP_VERSION };

	if (len < 4 || !(buf[1] & NATPMP_REPLY))
		return -EBADMSG;
	r.result = get16(buf + 2);
	if (r.result == NATPMP_RESULT_UNSUPP_VERSION) {
		r.kind = PORTMAP_REPLY_UNSUPP_VERSION;
		*ret = r;
		return 0;
	}
	if (len < NATPMP_HEADER_LEN)
		return -EBADMSG;
	r.epoch = get32(buf + 4);
	switch (buf[1] & ~NATPMP_REPLY) {
	case NATPMP_OP_ADDR:
		if (len < NATPMP_ADDR_REPLY_LEN)
			return -EBADMSG;
		r.kind = PORTMAP_REPLY_NATPMP_ADDR;
		memcpy(&r.external, buf + 8, 4);
		r.have_external = true;
		break;
	case NATPMP_OP_MAP_UDP:
		if (len < NATPMP_MAP_REPLY_LEN)
			return -EBADMSG;
		r.kind = PORTMAP_REPLY_NATPMP_MAP;
		r.internal_port = get16(buf + 8);
		r.external_port = get16(buf + 10);
		r.lifetime = get32(buf + 12);
		break;
	default:
		return -ENOTSUP;
	}
	*ret = r;
	return 0;
}

int portmap_parse_reply(const uint8_t *buf, size_t len, struct portmap_reply *ret)
{
	if (len < 4)
		return -EBADMSG;
	switch (buf[0]) {
	case NATPMP_VERSION:
		return parse_natpmp(buf, len, ret);
	case PCP_VERSION:
		return parse_pcp(buf, len, ret);
	default:
		/* a PCP version of the future or of a draft: not ours */
		if (!(buf[1] & PCP_R_BIT))
			return -EBADMSG;
		*ret = (struct portmap_reply){ .kind = PORTMAP_REPLY_UNSUPP_VERSION, .version = buf[0] };
		return 0;
	}
}

const char *portmap_result_name(const struct portmap_reply *r)
{
	static const char *const pcp[] = {
		"success",	     "unsupported version",	     "not authorized",	 "malformed request",
		"unsupported opcode", "unsupported option",	     "malformed option", "network failure",
		"no resources",	     "unsupported protocol",	     "user exceeded quota",
		"cannot provide external", "address mismatch",	     "excessive remote peers",
	};
	static const char *const natpmp[] = {
		"success",	   "unsupported version", "not authorized",
		"network failure", "out of resources",	  "unsupported opcode",
	};

	if (r->version == PCP_VERSION && r->result < sizeof(pcp) / sizeof(pcp[0]))
		return pcp[r->result];
	if (r->version == NATPMP_VERSION && r->result < sizeof(natpmp) / sizeof(natpmp[0]))
		return natpmp[r->result];
	return r->kind == PORTMAP_REPLY_UNSUPP_VERSION ? "unsupported version" : "unknown error";
}

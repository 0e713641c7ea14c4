/* PCP and NAT-PMP on the wire (src/daemon/portmap-wire.c): the requests
 * byte for byte, replies as a router sends them, every truncated prefix,
 * and what is malformed or not ours refused without touching the
 * result. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "daemon/portmap-wire.h"

static const uint8_t nonce[PCP_NONCE_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

static struct pcp_map_request request(void)
{
	struct pcp_map_request req = { .lifetime = 7200, .internal_port = 51820, .suggested_port = 51820 };

	memcpy(req.nonce, nonce, sizeof(nonce));
	inet_pton(AF_INET, "10.0.1.10", &req.client);
	return req;
}

/* What miniupnpd sends back: the request with the R bit, a result, the
 * granted lifetime, an epoch and the assigned port and address. */
static size_t pcp_reply(uint8_t *buf, uint8_t result, uint32_t lifetime, uint16_t port, const char *addr)
{
	struct pcp_map_request req = request();
	size_t len = pcp_format_map(&req, buf, PCP_MAP_LEN);

	buf[1] |= 0x80;
	buf[3] = result;
	buf[4] = (uint8_t)(lifetime >> 24), buf[5] = (uint8_t)(lifetime >> 16);
	buf[6] = (uint8_t)(lifetime >> 8), buf[7] = (uint8_t)lifetime;
	memset(buf + 8, 0, 16);
	buf[11] = 42; /* epoch */
	buf[42] = (uint8_t)(port >> 8), buf[43] = (uint8_t)port;
	inet_pton(AF_INET, addr, buf + 56);
	return len;
}

Test(portmap_wire, pcp_map_request_bytes)
{
	struct pcp_map_request req = request();
	uint8_t buf[PCP_MAP_LEN + 4];
	static const uint8_t mapped_client[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 1, 10 };
	static const uint8_t any[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0 };

	cr_assert_eq(pcp_format_map(&req, buf, PCP_MAP_LEN - 1), 0, "too short a buffer");
	cr_assert_eq(pcp_format_map(&req, buf, sizeof(buf)), PCP_MAP_LEN);
	cr_assert_eq(buf[0], 2, "version");
	cr_assert_eq(buf[1], 1, "MAP, a request");
	cr_assert_eq(buf[2] | buf[3], 0);
	cr_assert_eq(buf[4] << 24 | buf[5] << 16 | buf[6] << 8 | buf[7], 7200);
	cr_assert_eq(memcmp(buf + 8, mapped_client, 16), 0, "client address, IPv4-mapped");
	cr_assert_eq(memcmp(buf + 24, nonce, 12), 0);
	cr_assert_eq(buf[36], 17, "UDP");
	cr_assert_eq(buf[37] | buf[38] | buf[39], 0);
	cr_assert_eq(buf[40] << 8 | buf[41], 51820);
	cr_assert_eq(buf[42] << 8 | buf[43], 51820);
	cr_assert_eq(memcmp(buf + 44, any, 16), 0, "no address suggested");
}

Test(portmap_wire, natpmp_request_bytes)
{
	uint8_t buf[16];
	static const uint8_t map[12] = { 0, 1, 0, 0, 0xca, 0x6c, 0, 0, 0, 0, 0x1c, 0x20 };

	cr_assert_eq(natpmp_format_addr(buf, 1), 0);
	cr_assert_eq(natpmp_format_addr(buf, sizeof(buf)), 2);
	cr_assert(buf[0] == 0 && buf[1] == 0);
	cr_assert_eq(natpmp_format_map(51820, 0, 7200, buf, 11), 0);
	cr_assert_eq(natpmp_format_map(51820, 0, 7200, buf, sizeof(buf)), 12);
	cr_assert_eq(memcmp(buf, map, sizeof(map)), 0);
}

Test(portmap_wire, pcp_success)
{
	uint8_t buf[PCP_MAP_LEN];
	struct portmap_reply r;
	char text[INET_ADDRSTRLEN];

	cr_assert_eq(portmap_parse_reply(buf, pcp_reply(buf, 0, 120, 40000, "100.1.0.1"), &r), 0);
	cr_assert_eq(r.kind, PORTMAP_REPLY_PCP_MAP);
	cr_assert_eq(r.version, 2);
	cr_assert_eq(r.result, 0);
	cr_assert_eq(r.lifetime, 120);
	cr_assert_eq(r.epoch, 42);
	cr_assert_eq(memcmp(r.nonce, nonce, sizeof(nonce)), 0);
	cr_assert_eq(r.protocol, 17);
	cr_assert_eq(r.internal_port, 51820);
	cr_assert_eq(r.external_port, 40000);
	cr_assert(r.have_external);
	cr_assert_str_eq(inet_ntop(AF_INET, &r.external, text, sizeof(text)), "100.1.0.1");
	cr_assert_str_eq(portmap_result_name(&r), "success");
}

Test(portmap_wire, pcp_error_and_ipv6_external)
{
	uint8_t buf[PCP_MAP_LEN];
	struct portmap_reply r;

	cr_assert_eq(portmap_parse_reply(buf, pcp_reply(buf, 2, 0, 0, "0.0.0.0"), &r), 0);
	cr_assert_eq(r.result, 2);
	cr_assert_str_eq(portmap_result_name(&r), "not authorized");
	pcp_reply(buf, 0, 120, 40000, "100.1.0.1");
	buf[44] = 0x20; /* 2001:...: an IPv6 external address */
	cr_assert_eq(portmap_parse_reply(buf, sizeof(buf), &r), 0);
	cr_assert_not(r.have_external);
	buf[3] = 200;
	cr_assert_eq(portmap_parse_reply(buf, sizeof(buf), &r), 0);
	cr_assert_str_eq(portmap_result_name(&r), "unknown error");
}

Test(portmap_wire, pcp_options)
{
	uint8_t buf[PCP_MAP_LEN + 12] = { 0 };
	struct portmap_reply r;

	pcp_reply(buf, 0, 120, 40000, "100.1.0.1");
	/* THIRD_PARTY (code 1) with 16 bytes does not fit in 12 */
	buf[60] = 1, buf[63] = 16;
	cr_assert_eq(portmap_parse_reply(buf, sizeof(buf), &r), -EBADMSG);
	/* PREFER_FAILURE (code 2), no data, and a 4-byte option after it */
	buf[60] = 2, buf[63] = 0;
	buf[64] = 3, buf[67] = 3;
	cr_assert_eq(portmap_parse_reply(buf, sizeof(buf), &r), 0);
	cr_assert_eq(r.external_port, 40000);
	cr_assert_eq(portmap_parse_reply(buf, PCP_MAP_LEN + 4, &r), 0);
}

Test(portmap_wire, natpmp_replies)
{
	static const uint8_t addr[12] = { 0, 128, 0, 0, 0, 0, 0, 9, 100, 1, 0, 1 };
	static const uint8_t map[16] = { 0, 129, 0, 0, 0, 0, 0, 9, 0xca, 0x6c, 0x9c, 0x40, 0, 0, 0x1c, 0x20 };
	static const uint8_t refused[16] = { 0, 129, 0, 2, 0, 0, 0, 9, 0xca, 0x6c, 0, 0, 0, 0, 0, 0 };
	struct portmap_reply r;
	char text[INET_ADDRSTRLEN];

	cr_assert_eq(portmap_parse_reply(addr, sizeof(addr), &r), 0);
	cr_assert_eq(r.kind, PORTMAP_REPLY_NATPMP_ADDR);
	cr_assert_eq(r.epoch, 9);
	cr_assert_str_eq(inet_ntop(AF_INET, &r.external, text, sizeof(text)), "100.1.0.1");
	cr_assert_eq(portmap_parse_reply(map, sizeof(map), &r), 0);
	cr_assert_eq(r.kind, PORTMAP_REPLY_NATPMP_MAP);
	cr_assert_eq(r.internal_port, 51820);
	cr_assert_eq(r.external_port, 40000);
	cr_assert_eq(r.lifetime, 7200);
	cr_assert_eq(portmap_parse_reply(refused, sizeof(refused), &r), 0);
	cr_assert_eq(r.result, 2);
	cr_assert_str_eq(portmap_result_name(&r), "not authorized");
}

/* How a router says it speaks another version: a NAT-PMP server answers
 * PCP with version 0 and result 1; a server of an old PCP draft answers
 * with its version. */
Test(portmap_wire, unsupported_version)
{
	static const uint8_t natpmp[8] = { 0, 0x81, 0, 1, 0, 0, 0, 5 };
	static const uint8_t natpmp_short[4] = { 0, 0x81, 0, 1 };
	uint8_t pcp1[PCP_MAP_LEN];
	struct portmap_reply r;

	cr_assert_eq(portmap_parse_reply(natpmp, sizeof(natpmp), &r), 0);
	cr_assert_eq(r.kind, PORTMAP_REPLY_UNSUPP_VERSION);
	cr_assert_eq(portmap_parse_reply(natpmp_short, sizeof(natpmp_short), &r), 0);
	cr_assert_eq(r.kind, PORTMAP_REPLY_UNSUPP_VERSION);
	pcp_reply(pcp1, 0, 0, 0, "0.0.0.0");
	pcp1[0] = 1;
	cr_assert_eq(portmap_parse_reply(pcp1, sizeof(pcp1), &r), 0);
	cr_assert_eq(r.kind, PORTMAP_REPLY_UNSUPP_VERSION);
	pcp_reply(pcp1, 1, 0, 0, "0.0.0.0");
	cr_assert_eq(portmap_parse_reply(pcp1, 24, &r), 0);
	cr_assert_eq(r.kind, PORTMAP_REPLY_UNSUPP_VERSION);
}

static void expect_refused(const uint8_t *buf, size_t len, int want, const char *what)
{
	struct portmap_reply r, before;

	memset(&r, 0x5a, sizeof(r));
	before = r;
	cr_assert_eq(portmap_parse_reply(buf, len, &r), want, "%s (%zu bytes)", what, len);
	cr_assert_eq(memcmp(&r, &before, sizeof(r)), 0, "%s changed the result", what);
}

Test(portmap_wire, truncated_prefixes_refused)
{
	uint8_t pcp[PCP_MAP_LEN];
	static const uint8_t map[16] = { 0, 129, 0, 0, 0, 0, 0, 9, 0xca, 0x6c, 0x9c, 0x40, 0, 0, 0x1c, 0x20 };
	static const uint8_t addr[12] = { 0, 128, 0, 0, 0, 0, 0, 9, 100, 1, 0, 1 };

	pcp_reply(pcp, 0, 120, 40000, "100.1.0.1");
	for (size_t len = 0; len < sizeof(pcp); len++)
		expect_refused(pcp, len, -EBADMSG, "a PCP prefix");
	for (size_t len = 0; len < sizeof(map); len++)
		expect_refused(map, len, -EBADMSG, "a NAT-PMP map prefix");
	for (size_t len = 0; len < sizeof(addr); len++)
		expect_refused(addr, len, -EBADMSG, "a NAT-PMP address prefix");
}

Test(portmap_wire, malformed_or_not_ours_refused)
{
	uint8_t buf[PCP_MAX_LEN + 4] = { 0 };
	struct pcp_map_request req = request();
	static const uint8_t tcp[16] = { 0, 130, 0, 0, 0, 0, 0, 9, 0, 22, 0, 22, 0, 0, 0, 60 };
	static const uint8_t natpmp_request[12] = { 0, 1, 0, 0, 0xca, 0x6c, 0, 0, 0, 0, 0x1c, 0x20 };

	pcp_format_map(&req, buf, sizeof(buf));
	expect_refused(buf, PCP_MAP_LEN, -EBADMSG, "our own request");
	expect_refused(natpmp_request, sizeof(natpmp_request), -EBADMSG, "a NAT-PMP request");
	pcp_reply(buf, 0, 120, 40000, "100.1.0.1");
	expect_refused(buf, PCP_MAP_LEN + 2, -EBADMSG, "not a multiple of 4");
	expect_refused(buf, PCP_MAX_LEN + 4, -EBADMSG, "longer than PCP allows");
	buf[1] = 0x80 | 2;
	expect_refused(buf, PCP_MAP_LEN, -ENOTSUP, "a PEER reply");
	buf[1] = 0x80 | 0;
	expect_refused(buf, 24, -ENOTSUP, "an ANNOUNCE reply");
	expect_refused(tcp, sizeof(tcp), -ENOTSUP, "a NAT-PMP TCP mapping");
	buf[0] = 7;
	buf[1] = 1;
	expect_refused(buf, PCP_MAP_LEN, -EBADMSG, "a request of another version");
}

/* libFuzzer harness for the PCP and NAT-PMP parser
 * (src/daemon/portmap-wire.c): the input is one datagram from the
 * gateway's port 5351, where anyone on the LAN can send.
 *
 * A refused datagram leaves the result untouched; an accepted one has the
 * length its kind needs, and a PCP MAP reply the nonce and ports of its
 * bytes.  Then a request built from the input's bytes must be refused as
 * a reply, and its echo with the response bit set (what a router sends)
 * must parse back to the same fields.  Any broken property aborts. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/portmap-wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		abort();
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void check_parse(const uint8_t *data, size_t size)
{
	struct portmap_reply r, before;
	int rc;

	memset(&r, 0xa5, sizeof(r));
	before = r;
	rc = portmap_parse_reply(data, size, &r);
	if (rc < 0) {
		check(rc == -EBADMSG || rc == -ENOTSUP);
		check(memcmp(&r, &before, sizeof(r)) == 0);
		return;
	}
	check(portmap_result_name(&r) != NULL);
	switch (r.kind) {
	case PORTMAP_REPLY_PCP_MAP:
		check(size >= PCP_MAP_LEN && size <= PCP_MAX_LEN && size % 4 == 0);
		check(memcmp(r.nonce, data + 24, PCP_NONCE_LEN) == 0);
		check(r.internal_port == get16(data + 40) && r.external_port == get16(data + 42));
		break;
	case PORTMAP_REPLY_NATPMP_ADDR:
		check(size >= NATPMP_ADDR_REPLY_LEN && r.have_external);
		break;
	case PORTMAP_REPLY_NATPMP_MAP:
		check(size >= NATPMP_MAP_REPLY_LEN && r.internal_port == get16(data + 8));
		break;
	case PORTMAP_REPLY_UNSUPP_VERSION:
		check(size >= 4);
		break;
	default:
		abort();
	}
}

static void check_round_trip(const uint8_t *data, size_t size)
{
	struct pcp_map_request req;
	struct portmap_reply r;
	uint8_t buf[PCP_MAP_LEN];

	if (size < 28)
		return;
	memcpy(req.nonce, data, PCP_NONCE_LEN);
	memcpy(&req.lifetime, data + 12, 4);
	memcpy(&req.client, data + 16, 4);
	req.internal_port = get16(data + 20);
	req.suggested_port = get16(data + 22);
	memcpy(&req.suggested_addr, data + 24, 4);
	check(pcp_format_map(&req, buf, sizeof(buf)) == PCP_MAP_LEN);
	check(portmap_parse_reply(buf, sizeof(buf), &r) == -EBADMSG);
	buf[1] |= 0x80;
	check(portmap_parse_reply(buf, sizeof(buf), &r) == 0);
	check(r.kind == PORTMAP_REPLY_PCP_MAP && r.result == 0 && r.lifetime == req.lifetime);
	check(memcmp(r.nonce, req.nonce, PCP_NONCE_LEN) == 0 && r.protocol == 17);
	check(r.internal_port == req.internal_port && r.external_port == req.suggested_port);
	check(r.have_external && r.external.s_addr == req.suggested_addr.s_addr);
	check(natpmp_format_map(req.internal_port, req.suggested_port, req.lifetime, buf, sizeof(buf)) ==
	      NATPMP_MAP_REQUEST_LEN);
	check(portmap_parse_reply(buf, NATPMP_MAP_REQUEST_LEN, &r) == -EBADMSG);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_parse(data, size);
	check_round_trip(data, size);
	return 0;
}

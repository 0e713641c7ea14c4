/* libFuzzer harness for what `wice netcheck` and the daemon's NAT probe
 * read from the network: STUN answers (src/daemon/stun-wire.c, on
 * libnice's attribute codec) from any server or anyone who can reach the
 * probe's socket, and ICMP echo replies (src/daemon/pinger.c) from
 * anyone at all.  With bit 0x01 of the first byte set, bytes 8-19 are
 * made the probe's transaction first, so that mutations reach the
 * attributes (libnice is not instrumented: the fuzzer is blind inside it).
 *
 * An accepted answer is a whole STUN message of that transaction whose
 * class is success or error, with an error code in range and a mapped
 * address of a real family; every prefix of it is refused; a datagram
 * that is not STUN is never taken for an answer.  Any broken property
 * aborts. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/pinger.h"
#include "daemon/stun-wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t tid[STUN_WIRE_TID_LEN] = { 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 7, 8, 9, 10, 11, 12 };

static void check(int ok)
{
	if (!ok)
		abort();
}

static void check_answer(const uint8_t *buf, size_t len)
{
	struct stun_wire_reply r, untouched = { .error_code = -5 };

	r = untouched;
	if (!stun_wire_parse_reply(buf, len, tid, &r)) {
		check(r.error_code == -5);
		return;
	}
	check(len >= STUN_WIRE_HEADER_LEN && stun_wire_message_len(buf, len) == (int)len);
	check(memcmp(buf + 8, tid, sizeof(tid)) == 0);
	check(r.error_code == 0 || (r.error_code >= 300 && r.error_code <= 699));
	check(!r.success || r.error_code == 0);
	check(!r.have_mapped || r.mapped.ss_family == AF_INET || r.mapped.ss_family == AF_INET6);
	check(!stun_wire_is_request(buf, len, tid));
	for (size_t n = 0; n < len; n += 1 + n / 8) {
		struct stun_wire_reply cut = untouched;

		check(!stun_wire_parse_reply(buf, n, tid, &cut) && cut.error_code == -5);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t buf[STUN_WIRE_MAX_REPLY + 64];
	uint16_t id, seq;
	int len;

	if (size > sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	if (size >= STUN_WIRE_HEADER_LEN && (buf[0] & 0x01))
		memcpy(buf + 8, tid, sizeof(tid));
	check_answer(buf, size);
	len = stun_wire_message_len(buf, size);
	check(len >= -1 && len <= (int)size && len <= STUN_WIRE_MAX_REPLY);
	if (len > 0)
		check_answer(buf, (size_t)len); /* the first message of a stream */
	if (size && (buf[0] & 0xc0))
		check(!stun_wire_parse_reply(buf, size, tid, &(struct stun_wire_reply){ 0 }));
	pinger_parse_reply(AF_INET, buf, size, &id, &seq);
	pinger_parse_reply(AF_INET6, buf, size, &id, &seq);
	pinger_checksum(buf, size);
	return 0;
}

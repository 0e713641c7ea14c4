/* The pure parts of the diagnostics: STUN requests and answers
 * (src/daemon/stun-wire.c) byte for byte with every truncated prefix,
 * what a set of answers says of the NAT (nat-probe.c), ICMP echo replies
 * (pinger.c), and what candidates show of a NAT (peer-diag.c). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

#include "daemon/nat-probe.h"
#include "daemon/peer-diag.h"
#include "daemon/pinger.h"
#include "daemon/stun-wire.h"

static const uint8_t tid[STUN_WIRE_TID_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* A Binding success response with XOR-MAPPED-ADDRESS @addr:@port. */
static size_t binding_success(uint8_t *buf, const char *addr, uint16_t port)
{
	struct in_addr a;

	inet_pton(AF_INET, addr, &a);
	put16(buf, 0x0101);
	put16(buf + 2, 12);
	buf[4] = 0x21, buf[5] = 0x12, buf[6] = 0xa4, buf[7] = 0x42;
	memcpy(buf + 8, tid, sizeof(tid));
	put16(buf + 20, 0x0020);
	put16(buf + 22, 8);
	buf[24] = 0, buf[25] = 1;
	put16(buf + 26, port ^ 0x2112);
	memcpy(buf + 28, &a, 4);
	buf[28] ^= 0x21, buf[29] ^= 0x12, buf[30] ^= 0xa4, buf[31] ^= 0x42;
	return 32;
}

/* An Allocate error response 401 "Unauthorized". */
static size_t allocate_401(uint8_t *buf)
{
	put16(buf, 0x0113);
	put16(buf + 2, 20);
	buf[4] = 0x21, buf[5] = 0x12, buf[6] = 0xa4, buf[7] = 0x42;
	memcpy(buf + 8, tid, sizeof(tid));
	put16(buf + 20, 0x0009);
	put16(buf + 22, 16);
	buf[24] = 0, buf[25] = 0, buf[26] = 4, buf[27] = 1;
	memcpy(buf + 28, "Unauthorized", 12);
	return 40;
}

Test(stun_wire, requests)
{
	uint8_t buf[STUN_WIRE_MAX_REQUEST];
	static const uint8_t binding[] = { 0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42 };
	static const uint8_t allocate[] = { 0x00, 0x03, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42 };

	cr_assert_eq(stun_wire_request(STUN_WIRE_BINDING, tid, buf, sizeof(buf)), 20);
	cr_assert_arr_eq(buf, binding, sizeof(binding));
	cr_assert_arr_eq(buf + 8, tid, sizeof(tid));
	cr_assert_eq(stun_wire_request(STUN_WIRE_ALLOCATE, tid, buf, sizeof(buf)), 28);
	cr_assert_arr_eq(buf, allocate, sizeof(allocate));
	/* REQUESTED-TRANSPORT: UDP */
	cr_assert(buf[20] == 0x00 && buf[21] == 0x19 && buf[23] == 4 && buf[24] == 17);
	cr_assert_eq(stun_wire_request(STUN_WIRE_ALLOCATE, tid, buf, 27), 0);
	cr_assert_eq(stun_wire_request(STUN_WIRE_BINDING, tid, buf, 19), 0);
	/* our own request, hairpinned back */
	stun_wire_request(STUN_WIRE_BINDING, tid, buf, sizeof(buf));
	cr_assert(stun_wire_is_request(buf, 20, tid));
	cr_assert_not(stun_wire_is_request(buf, 19, tid));
}

Test(stun_wire, binding_success)
{
	uint8_t buf[64];
	size_t len = binding_success(buf, "198.51.100.7", 40000);
	struct stun_wire_reply r;
	struct sockaddr_in *in = (struct sockaddr_in *)&r.mapped;

	cr_assert(stun_wire_parse_reply(buf, len, tid, &r));
	cr_assert(r.success);
	cr_assert_eq(r.method, STUN_WIRE_BINDING);
	cr_assert(r.have_mapped);
	cr_assert_eq(in->sin_family, AF_INET);
	cr_assert_eq(ntohs(in->sin_port), 40000);
	cr_assert_eq(in->sin_addr.s_addr, inet_addr("198.51.100.7"));
	cr_assert_eq(stun_wire_message_len(buf, len), (int)len);
	cr_assert_not(stun_wire_is_request(buf, len, tid));
}

Test(stun_wire, allocate_unauthorized)
{
	uint8_t buf[64];
	size_t len = allocate_401(buf);
	struct stun_wire_reply r;

	cr_assert(stun_wire_parse_reply(buf, len, tid, &r));
	cr_assert_not(r.success);
	cr_assert_eq(r.method, STUN_WIRE_ALLOCATE);
	cr_assert_eq(r.error_code, 401);
	cr_assert_not(r.have_mapped);
}

/* Every prefix is incomplete (0 from message_len) and no answer; the
 * result is left alone. */
Test(stun_wire, truncations)
{
	uint8_t buf[64], cut[64];
	size_t len = binding_success(buf, "198.51.100.7", 40000);
	struct stun_wire_reply r = { .error_code = 77 };

	for (size_t n = 0; n < len; n++) {
		memcpy(cut, buf, n);
		cr_assert_not(stun_wire_parse_reply(cut, n, tid, &r), "prefix %zu", n);
		cr_assert_geq(stun_wire_message_len(cut, n), 0, "prefix %zu", n);
		cr_assert_eq(r.error_code, 77);
	}
}

Test(stun_wire, not_ours)
{
	uint8_t buf[64];
	size_t len = binding_success(buf, "198.51.100.7", 40000);
	uint8_t other[STUN_WIRE_TID_LEN] = { 0 };
	struct stun_wire_reply r;

	cr_assert_not(stun_wire_parse_reply(buf, len, other, &r));
	buf[4] = 0; /* no magic cookie */
	cr_assert_not(stun_wire_parse_reply(buf, len, tid, &r));
	cr_assert_eq(stun_wire_message_len(buf, len), -1);
	binding_success(buf, "198.51.100.7", 40000);
	buf[0] = 0x80; /* WireGuard, RTP...: the top bits of STUN are zero */
	cr_assert_eq(stun_wire_message_len(buf, len), -1);
	binding_success(buf, "198.51.100.7", 40000);
	put16(buf + 2, 13); /* not a multiple of 4 */
	cr_assert_not(stun_wire_parse_reply(buf, len, tid, &r));
	binding_success(buf, "198.51.100.7", 40000);
	put16(buf + 22, 40); /* the attribute runs past the message */
	cr_assert_not(stun_wire_parse_reply(buf, len, tid, &r));
	binding_success(buf, "198.51.100.7", 40000);
	put16(buf, 0x0001); /* a request, not an answer */
	cr_assert_not(stun_wire_parse_reply(buf, len, tid, &r));
}

static struct nat_probe_result answer(const char *server, uint16_t server_port, const char *mapped, uint16_t port)
{
	struct nat_probe_result r = { .method = STUN_WIRE_BINDING, .answered = true };
	struct sockaddr_in *to = (struct sockaddr_in *)&r.to, *m = (struct sockaddr_in *)&r.reply.mapped;

	to->sin_family = AF_INET;
	to->sin_port = htons(server_port);
	inet_pton(AF_INET, server, &to->sin_addr);
	r.to_len = sizeof(*to);
	r.reply.success = r.reply.have_mapped = true;
	m->sin_family = AF_INET;
	m->sin_port = htons(port);
	inet_pton(AF_INET, mapped, &m->sin_addr);
	return r;
}

Test(nat, summary)
{
	struct nat_probe_result r[3];
	struct nat_summary s;

	/* one port everywhere, the socket's own */
	r[0] = answer("192.0.2.1", 3478, "198.51.100.7", 4000);
	r[1] = answer("192.0.2.1", 3479, "198.51.100.7", 4000);
	nat_summarize(r, 2, 4000, &s);
	cr_assert_eq(s.mapping, NAT_MAPPING_INDEPENDENT);
	cr_assert_eq(s.port_preserved, 1);
	cr_assert_eq(s.answered, 2);
	/* a port per destination */
	r[1] = answer("192.0.2.2", 3478, "198.51.100.7", 4001);
	nat_summarize(r, 2, 4000, &s);
	cr_assert_eq(s.mapping, NAT_MAPPING_DEPENDENT);
	/* one destination (twice): nothing said of the mapping */
	r[1] = answer("192.0.2.1", 3478, "198.51.100.7", 4001);
	nat_summarize(r, 2, 5000, &s);
	cr_assert_eq(s.mapping, NAT_MAPPING_UNKNOWN);
	cr_assert_eq(s.port_preserved, 0);
	/* unanswered and Allocate answers do not count */
	r[1] = answer("192.0.2.2", 3478, "198.51.100.7", 4001);
	r[1].answered = false;
	r[2] = answer("192.0.2.3", 3478, "198.51.100.7", 4002);
	r[2].method = STUN_WIRE_ALLOCATE;
	nat_summarize(r, 3, 4000, &s);
	cr_assert_eq(s.mapping, NAT_MAPPING_UNKNOWN);
	cr_assert_eq(s.answered, 1);
	nat_summarize(r, 0, 4000, &s);
	cr_assert_eq(s.port_preserved, -1);
	cr_assert_not(s.have_mapped);
	cr_assert_str_eq(nat_mapping_name(NAT_MAPPING_DEPENDENT), "endpoint-dependent");
}

Test(pinger, echo_reply)
{
	/* IPv4 header (20 bytes) + echo reply id 0x1234 seq 7 */
	uint8_t v4[28] = { 0x45 };
	uint8_t v6[8] = { 129, 0, 0, 0, 0x12, 0x34, 0, 7 };
	uint16_t id, seq;

	v4[20] = 0; /* echo reply */
	v4[24] = 0x12, v4[25] = 0x34, v4[27] = 7;
	cr_assert(pinger_parse_reply(AF_INET, v4, sizeof(v4), &id, &seq));
	cr_assert(id == 0x1234 && seq == 7);
	cr_assert(pinger_parse_reply(AF_INET6, v6, sizeof(v6), &id, &seq));
	cr_assert(id == 0x1234 && seq == 7);
	for (size_t n = 0; n < sizeof(v4); n++)
		cr_assert_not(pinger_parse_reply(AF_INET, v4, n, &id, &seq), "prefix %zu", n);
	v4[20] = 8; /* an echo request is not a reply */
	cr_assert_not(pinger_parse_reply(AF_INET, v4, sizeof(v4), &id, &seq));
	v4[20] = 0;
	v4[0] = 0x44; /* header shorter than 20 bytes */
	cr_assert_not(pinger_parse_reply(AF_INET, v4, sizeof(v4), &id, &seq));
	v6[0] = 128;
	cr_assert_not(pinger_parse_reply(AF_INET6, v6, sizeof(v6), &id, &seq));
}

Test(pinger, checksum)
{
	/* RFC 1071's example: 0x0001 0xf203 0xf4f5 0xf6f7 sums to 0xddf2 */
	static const uint8_t data[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	uint8_t odd[] = { 0x12 };

	cr_assert_eq(pinger_checksum(data, sizeof(data)), (uint16_t)~0xddf2);
	cr_assert_eq(pinger_checksum(odd, 1), (uint16_t)~0x1200);
}

static NiceCandidate *candidate(NiceCandidateType type, const char *addr, unsigned port, const char *base,
				unsigned base_port)
{
	NiceCandidate *c = nice_candidate_new(type);

	nice_address_set_from_string(&c->addr, addr);
	nice_address_set_port(&c->addr, port);
	if (base) {
		nice_address_set_from_string(&c->base_addr, base);
		nice_address_set_port(&c->base_addr, base_port);
	}
	return c;
}

Test(peer_diag, evidence)
{
	GSList *l = NULL;
	struct peer_nat_evidence e;

	peer_diag_evidence(NULL, &e);
	cr_assert(e.types == 0 && e.port_preserved == -1 && e.per_destination == -1);
	l = g_slist_append(l, candidate(NICE_CANDIDATE_TYPE_HOST, "10.0.1.10", 4000, NULL, 0));
	l = g_slist_append(l, candidate(NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE, "198.51.100.7", 4000, "10.0.1.10", 4000));
	peer_diag_evidence(l, &e);
	cr_assert_eq(e.port_preserved, 1);
	cr_assert_eq(e.per_destination, -1);
	cr_assert_eq(e.types, PEER_DIAG_TYPE_BIT(NICE_CANDIDATE_TYPE_HOST) |
				      PEER_DIAG_TYPE_BIT(NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE));
	/* the checks came from another port of the same public address */
	l = g_slist_append(l, candidate(NICE_CANDIDATE_TYPE_PEER_REFLEXIVE, "198.51.100.7", 61000, NULL, 0));
	peer_diag_evidence(l, &e);
	cr_assert_eq(e.per_destination, 1);
	g_slist_free_full(l, (GDestroyNotify)nice_candidate_free);
	l = g_slist_append(NULL, candidate(NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE, "198.51.100.7", 5123, "10.0.1.10", 4000));
	peer_diag_evidence(l, &e);
	cr_assert_eq(e.port_preserved, 0);
	g_slist_free_full(l, (GDestroyNotify)nice_candidate_free);
}

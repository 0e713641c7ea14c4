/* The datagrams of signaling through the tunnels (signaling/tunnel-wire.c):
 * round trips, and everything malformed refused. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "signaling/tunnel-wire.h"

static uint8_t id[RELAY_ID_LEN];

Test(tunnel_wire, envelope_round_trip)
{
	uint8_t buf[TUNNEL_WIRE_MAX], env[SIG_ENVELOPE_MAX];
	struct tunnel_msg m;

	memset(id, 7, sizeof(id));
	memset(env, 9, sizeof(env));
	for (uint8_t type = TUNNEL_DELIVER; type <= TUNNEL_FORWARD; type++) {
		size_t len = tunnel_wire_envelope(buf, type, id, env, sizeof(env));

		cr_assert_eq(len, TUNNEL_WIRE_MAX);
		cr_assert_eq(tunnel_wire_parse(buf, len, &m), 0);
		cr_assert_eq(m.type, type);
		cr_assert_eq(memcmp(m.id, id, RELAY_ID_LEN), 0);
		cr_assert_eq(m.envelope_len, sizeof(env));
		cr_assert_eq(m.envelope, buf + 2 + RELAY_ID_LEN);
	}
}

Test(tunnel_wire, facts_round_trip)
{
	uint8_t buf[TUNNEL_WIRE_MAX], env[SIG_ENVELOPE_MAX];
	struct tunnel_msg m;

	for (size_t i = 0; i < sizeof(env); i++)
		env[i] = (uint8_t)i;
	for (size_t n = 1; n <= SIG_ENVELOPE_MAX; n += SIG_ENVELOPE_MAX - 1) {
		size_t len = tunnel_wire_facts(buf, env, n);

		cr_assert_eq(len, 2 + n);
		cr_assert_eq(buf[0], TUNNEL_WIRE_MAGIC);
		cr_assert_eq(buf[1], 4, "FACTS is type 4 on the wire");
		cr_assert_eq(tunnel_wire_parse(buf, len, &m), 0);
		cr_assert_eq(m.type, TUNNEL_FACTS);
		cr_assert_eq(m.envelope, buf + 2, "the envelope follows the type");
		cr_assert_eq(m.envelope_len, n);
		cr_assert_null(m.id, "FACTS has no mailbox id");
		cr_assert_eq(memcmp(m.envelope, env, n), 0);
	}
}

Test(tunnel_wire, subscribe_round_trip)
{
	uint8_t ids[TUNNEL_SUBSCRIBE_MAX_IDS * RELAY_ID_LEN], buf[TUNNEL_SUBSCRIBE_SIZE];
	struct tunnel_msg m;

	for (size_t i = 0; i < sizeof(ids); i++)
		ids[i] = (uint8_t)i;
	for (size_t n = 1; n <= TUNNEL_SUBSCRIBE_MAX_IDS; n++) {
		size_t len = tunnel_wire_subscribe(buf, ids, n);

		cr_assert_eq(tunnel_wire_parse(buf, len, &m), 0);
		cr_assert_eq(m.type, TUNNEL_SUBSCRIBE);
		cr_assert_eq(m.n_ids, n);
		cr_assert_eq(memcmp(m.ids, ids, n * RELAY_ID_LEN), 0);
	}
}

Test(tunnel_wire, malformed_refused)
{
	uint8_t buf[TUNNEL_WIRE_MAX + 8] = { 0 }, env[1] = { 1 }, ids[2 * RELAY_ID_LEN] = { 0 };
	struct tunnel_msg m = { .type = 99 };
	size_t len;

	cr_assert_eq(tunnel_wire_parse(buf, 0, &m), -EBADMSG);
	len = tunnel_wire_envelope(buf, TUNNEL_DELIVER, id, env, 1);
	buf[0] = 0x55;
	cr_assert_eq(tunnel_wire_parse(buf, len, &m), -EBADMSG, "wrong magic");
	buf[0] = TUNNEL_WIRE_MAGIC;
	buf[1] = 9;
	cr_assert_eq(tunnel_wire_parse(buf, len, &m), -EBADMSG, "unknown type");
	buf[1] = TUNNEL_FORWARD;
	cr_assert_eq(tunnel_wire_parse(buf, len - 1, &m), -EBADMSG, "no envelope");
	cr_assert_eq(tunnel_wire_parse(buf, TUNNEL_WIRE_MAX + 1, &m), -EBADMSG, "too long");
	len = tunnel_wire_subscribe(buf, ids, 2);
	cr_assert_eq(tunnel_wire_parse(buf, len - 1, &m), -EBADMSG, "short id list");
	cr_assert_eq(tunnel_wire_parse(buf, len + 1, &m), -EBADMSG, "trailing byte");
	buf[2] = 0, buf[3] = 0;
	cr_assert_eq(tunnel_wire_parse(buf, 4, &m), -EBADMSG, "no ids");
	buf[3] = TUNNEL_SUBSCRIBE_MAX_IDS + 1;
	cr_assert_eq(tunnel_wire_parse(buf, 4 + (TUNNEL_SUBSCRIBE_MAX_IDS + 1) * RELAY_ID_LEN, &m), -EBADMSG,
		     "too many ids");
	len = tunnel_wire_facts(buf, env, 1);
	cr_assert_eq(tunnel_wire_parse(buf, len - 1, &m), -EBADMSG, "FACTS without an envelope");
	cr_assert_eq(tunnel_wire_parse(buf, 2 + SIG_ENVELOPE_MAX + 1, &m), -EBADMSG, "FACTS too long");
	cr_assert_eq(m.type, 99, "a refused datagram left its mark");
}

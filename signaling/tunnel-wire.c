/* Signaling-through-the-tunnels datagrams (tunnel-wire.h). */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "tunnel-wire.h"

#define HEADER_LEN 2

static int parse_envelope(const uint8_t *buf, size_t len, struct tunnel_msg *m)
{
	if (len <= HEADER_LEN + RELAY_ID_LEN || len > TUNNEL_WIRE_MAX)
		return -EBADMSG;
	m->id = buf + HEADER_LEN;
	m->envelope = buf + HEADER_LEN + RELAY_ID_LEN;
	m->envelope_len = len - HEADER_LEN - RELAY_ID_LEN;
	return 0;
}

static int parse_facts(const uint8_t *buf, size_t len, struct tunnel_msg *m)
{
	if (len <= HEADER_LEN || len > HEADER_LEN + SIG_ENVELOPE_MAX)
		return -EBADMSG;
	m->envelope = buf + HEADER_LEN;
	m->envelope_len = len - HEADER_LEN;
	return 0;
}

static int parse_subscribe(const uint8_t *buf, size_t len, struct tunnel_msg *m)
{
	size_t n;

	if (len < HEADER_LEN + 2)
		return -EBADMSG;
	n = (size_t)buf[2] << 8 | buf[3];
	if (n == 0 || n > TUNNEL_SUBSCRIBE_MAX_IDS || len != HEADER_LEN + 2 + n * RELAY_ID_LEN)
		return -EBADMSG;
	m->ids = buf + HEADER_LEN + 2;
	m->n_ids = n;
	return 0;
}

int tunnel_wire_parse(const uint8_t *buf, size_t len, struct tunnel_msg *ret)
{
	struct tunnel_msg m = { 0 };
	int r;

	if (len < HEADER_LEN || buf[0] != TUNNEL_WIRE_MAGIC)
		return -EBADMSG;
	m.type = buf[1];
	if (m.type == TUNNEL_DELIVER || m.type == TUNNEL_FORWARD)
		r = parse_envelope(buf, len, &m);
	else if (m.type == TUNNEL_SUBSCRIBE)
		r = parse_subscribe(buf, len, &m);
	else if (m.type == TUNNEL_FACTS)
		r = parse_facts(buf, len, &m);
	else
		r = -EBADMSG;
	if (r == 0)
		*ret = m;
	return r;
}

size_t tunnel_wire_envelope(uint8_t *buf, uint8_t type, const uint8_t id[RELAY_ID_LEN], const uint8_t *envelope,
			    size_t len)
{
	buf[0] = TUNNEL_WIRE_MAGIC;
	buf[1] = type;
	memcpy(buf + HEADER_LEN, id, RELAY_ID_LEN);
	memcpy(buf + HEADER_LEN + RELAY_ID_LEN, envelope, len);
	return HEADER_LEN + RELAY_ID_LEN + len;
}

size_t tunnel_wire_facts(uint8_t *buf, const uint8_t *envelope, size_t len)
{
	buf[0] = TUNNEL_WIRE_MAGIC;
	buf[1] = TUNNEL_FACTS;
	memcpy(buf + HEADER_LEN, envelope, len);
	return HEADER_LEN + len;
}

size_t tunnel_wire_subscribe(uint8_t *buf, const uint8_t *ids, size_t n)
{
	buf[0] = TUNNEL_WIRE_MAGIC;
	buf[1] = TUNNEL_SUBSCRIBE;
	buf[2] = (uint8_t)(n >> 8);
	buf[3] = (uint8_t)n;
	memcpy(buf + HEADER_LEN + 2, ids, n * RELAY_ID_LEN);
	return HEADER_LEN + 2 + n * RELAY_ID_LEN;
}

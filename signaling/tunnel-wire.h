/* The datagrams of signaling through the tunnels (docs/PROTOCOL.md
 * section 13; the daemon's side is src/daemon/tunnel-signal.c).  Pure C
 * over (buf, len); parsing allocates nothing and points into the buffer. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "relay-proto.h"
#include "sig-envelope.h"

#define TUNNEL_WIRE_MAGIC 0x54
#define TUNNEL_WIRE_MAX (2 + RELAY_ID_LEN + SIG_ENVELOPE_MAX)
#define TUNNEL_SUBSCRIBE_MAX_IDS 32

enum tunnel_type {
	TUNNEL_DELIVER = 1,   /* an envelope for the receiver */
	TUNNEL_FORWARD = 2,   /* an envelope to pass on to whoever reads the mailbox */
	TUNNEL_SUBSCRIBE = 3, /* the mailboxes the sender reads */
	TUNNEL_FACTS = 4,     /* a fact bundle (fact-wire.h) sealed to the receiver */
};

struct tunnel_msg {
	uint8_t type;
	const uint8_t *id;       /* DELIVER, FORWARD: the mailbox */
	const uint8_t *envelope; /* DELIVER, FORWARD, FACTS */
	size_t envelope_len;
	const uint8_t *ids;      /* SUBSCRIBE: n_ids ids of RELAY_ID_LEN bytes */
	size_t n_ids;
};

/* Returns 0, or -EBADMSG for anything but a well-formed datagram (unknown
 * type, wrong lengths, an empty or oversized envelope, an id count that
 * does not match or exceeds TUNNEL_SUBSCRIBE_MAX_IDS). */
int tunnel_wire_parse(const uint8_t *buf, size_t len, struct tunnel_msg *ret);
/* Writes a DELIVER or FORWARD datagram (@buf holds TUNNEL_WIRE_MAX bytes,
 * @len at most SIG_ENVELOPE_MAX); returns its length. */
size_t tunnel_wire_envelope(uint8_t *buf, uint8_t type, const uint8_t id[RELAY_ID_LEN], const uint8_t *envelope,
			    size_t len);
/* Writes a FACTS datagram: the envelope right after the type, with no
 * mailbox id (it goes to the neighbour at the other end of the tunnel and
 * no further).  @len is at most SIG_ENVELOPE_MAX; returns its length. */
size_t tunnel_wire_facts(uint8_t *buf, const uint8_t *envelope, size_t len);
/* Writes a SUBSCRIBE of @n ids (at most TUNNEL_SUBSCRIBE_MAX_IDS); returns
 * its length. */
size_t tunnel_wire_subscribe(uint8_t *buf, const uint8_t *ids, size_t n);
#define TUNNEL_SUBSCRIBE_SIZE (4 + TUNNEL_SUBSCRIBE_MAX_IDS * RELAY_ID_LEN)

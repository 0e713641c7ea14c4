/* libFuzzer harness for the datagrams of signaling through the tunnels
 * (signaling/tunnel-wire.c): whatever a peer sends to UDP 51818.  What
 * parses must point inside the input, have the lengths the type says, and
 * encode back to the same bytes; any broken property aborts. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "signaling/tunnel-wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1), again[TUNNEL_WIRE_MAX];
	struct tunnel_msg m;
	size_t len = 0;

	memcpy(copy, data, size);
	if (tunnel_wire_parse(copy, size, &m) == 0) {
		if (m.type == TUNNEL_SUBSCRIBE) {
			check(m.n_ids >= 1 && m.n_ids <= TUNNEL_SUBSCRIBE_MAX_IDS);
			check(m.ids + m.n_ids * RELAY_ID_LEN == copy + size);
			len = tunnel_wire_subscribe(again, m.ids, m.n_ids);
		} else if (m.type == TUNNEL_FACTS) {
			check(m.id == NULL && m.envelope == copy + 2);
			check(m.envelope_len >= 1 && m.envelope_len <= SIG_ENVELOPE_MAX);
			check(m.envelope + m.envelope_len == copy + size);
			len = tunnel_wire_facts(again, m.envelope, m.envelope_len);
		} else {
			check(m.type == TUNNEL_DELIVER || m.type == TUNNEL_FORWARD);
			check(m.envelope_len >= 1 && m.envelope_len <= SIG_ENVELOPE_MAX);
			check(m.envelope + m.envelope_len == copy + size);
			len = tunnel_wire_envelope(again, m.type, m.id, m.envelope, m.envelope_len);
		}
		check(len == size && memcmp(again, copy, size) == 0);
	}
	free(copy);
	return 0;
}

/* libFuzzer harness for the signal server's wire pieces
 * (signaling/relay-proto.c), which the server and the daemon's HTTP
 * backend both parse.
 *
 * The first byte sets the cap on a body; the rest is read three ways:
 *   - as a subscription stream and as a batch body, entry by entry: each
 *     entry lies inside the input, within the cap, and its header spelled
 *     again gives the same bytes;
 *   - as the base64url text of each fixed-size field (instance, id,
 *     signature): what decodes spells back to exactly the input, so an id
 *     has one spelling;
 *   - as bytes to spell: the spelling decodes back to them.
 * Any broken property aborts. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/relay-proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		abort();
}

static void fuzz_frames(const uint8_t *data, size_t size, size_t max_body)
{
	while (size > 0) {
		const uint8_t *body;
		uint8_t head[RELAY_FRAME_HEADER_LEN];
		size_t body_len;
		uint64_t seq;
		ssize_t n = relay_frame_parse(data, size, max_body, &seq, &body, &body_len);

		check(n == 0 || n == -EMSGSIZE || (n > 0 && (size_t)n <= size));
		if (n <= 0)
			return;
		check(body == data + RELAY_FRAME_HEADER_LEN && body_len <= max_body &&
		      (size_t)n == RELAY_FRAME_HEADER_LEN + body_len);
		relay_frame_header(head, seq, (uint32_t)body_len);
		check(memcmp(head, data, sizeof(head)) == 0);
		data += n;
		size -= n;
	}
}

static void fuzz_batch(const uint8_t *data, size_t size, size_t max_body)
{
	while (size > 0) {
		const uint8_t *id, *body;
		uint8_t head[RELAY_BATCH_HEADER_LEN];
		size_t body_len;
		ssize_t n = relay_batch_parse(data, size, max_body, &id, &body, &body_len);

		check(n == 0 || n == -EMSGSIZE || (n > 0 && (size_t)n <= size));
		if (n <= 0)
			return;
		check(id == data && body == data + RELAY_BATCH_HEADER_LEN && body_len <= max_body &&
		      (size_t)n == RELAY_BATCH_HEADER_LEN + body_len);
		relay_batch_header(head, id, (uint32_t)body_len);
		check(memcmp(head, data, sizeof(head)) == 0);
		data += n;
		size -= n;
	}
}

/* Decoding into bin_len bytes; the text is an exact-size copy, so that a
 * read past its end is caught. */
static void fuzz_decode(const uint8_t *data, size_t size, size_t bin_len)
{
	uint8_t bin[RELAY_SIGNATURE_LEN];
	char again[RELAY_SIGNATURE_STR_LEN];
	char *text = malloc(size ? size : 1);

	memcpy(text, data, size);
	if (relay_b64_decode(bin, bin_len, text, size)) {
		relay_b64_encode(again, sizeof(again), bin, bin_len);
		check(strlen(again) == size && memcmp(again, text, size) == 0);
	}
	free(text);
}

static void fuzz_encode(const uint8_t *data, size_t size)
{
	static const size_t lens[] = { RELAY_INSTANCE_LEN, RELAY_ID_LEN, RELAY_SIGNATURE_LEN };

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		char text[RELAY_SIGNATURE_STR_LEN];
		uint8_t back[RELAY_SIGNATURE_LEN];

		if (size < lens[i])
			return;
		relay_b64_encode(text, sizeof(text), data, lens[i]);
		check(relay_b64_decode(back, lens[i], text, strlen(text)) && memcmp(back, data, lens[i]) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t max_body;

	if (size < 1)
		return 0;
	/* Small caps, to reach the refusal, and the real 1 MiB. */
	max_body = data[0] == 0xff ? 1u << 20 : data[0];
	data++;
	size--;
	fuzz_frames(data, size, max_body);
	fuzz_batch(data, size, max_body);
	fuzz_decode(data, size, RELAY_INSTANCE_LEN);
	fuzz_decode(data, size, RELAY_ID_LEN);
	fuzz_decode(data, size, RELAY_SIGNATURE_LEN);
	fuzz_encode(data, size);
	return 0;
}

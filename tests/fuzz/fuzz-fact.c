/* libFuzzer harness for fact bundles (signaling/fact-wire.c): the plain
 * bytes a neighbour seals into a FACTS envelope.  A bundle that decodes
 * must encode again, decode to the same facts, and, when it had no fact
 * of an unknown attribute, encode to the same bytes; a refused one leaves
 * the output alone.  Any broken property aborts. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/fact-wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		abort();
}

static void check_same(const struct fact_bundle *a, const struct fact_bundle *b)
{
	check(a->issued_ms == b->issued_ms && a->n == b->n);
	for (size_t i = 0; i < a->n; i++) {
		check(fact_same(&a->facts[i], &b->facts[i]));
		check(a->facts[i].ttl_s == b->facts[i].ttl_s);
	}
}

static void check_round_trip(const uint8_t *data, size_t size, const struct fact_bundle *b)
{
	uint8_t *again = malloc(size);
	struct fact_bundle b2;
	size_t len = 0, short_len = 0;

	check(b->n <= FACT_BUNDLE_MAX);
	for (size_t i = 0; i < b->n; i++)
		check(fact_wire_size(&b->facts[i]) > 0);
	/* Skipped facts only make the encoding shorter than the input. */
	check(fact_bundle_encode(b, again, size, &len) == 0 && len <= size);
	check(fact_bundle_encode(b, again, len - 1, &short_len) == -ENOBUFS);
	check(fact_bundle_decode(again, len, &b2) == 0);
	check_same(b, &b2);
	if (data[FACT_BUNDLE_HEADER - 1] == b->n)
		check(len == size && memcmp(again, data, size) == 0);
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	struct fact_bundle b, untouched;
	int r;

	memcpy(copy, data, size);
	memset(&b, 0xa5, sizeof(b));
	memcpy(&untouched, &b, sizeof(b));
	r = fact_bundle_decode(copy, size, &b);
	if (r == 0)
		check_round_trip(copy, size, &b);
	else
		check((r == -EBADMSG || r == -EPROTONOSUPPORT) && memcmp(&b, &untouched, sizeof(b)) == 0);
	free(copy);
	return 0;
}

/* A read cursor over a received buffer, for the wire codecs (signaling
 * messages, mesh announcements): every read checks what is left, so a
 * short buffer fails the read instead of running past the end.  Integers
 * are big-endian. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct wire_reader {
	const uint8_t *p;
	size_t left;
};

/* The next @n bytes in place, or NULL (and nothing consumed). */
static inline const uint8_t *wire_read_span(struct wire_reader *r, size_t n)
{
	const uint8_t *p = r->p;

	if (r->left < n)
		return NULL;
	r->p += n;
	r->left -= n;
	return p;
}

static inline bool wire_read_bytes(struct wire_reader *r, void *out, size_t n)
{
	const uint8_t *p = wire_read_span(r, n);

	if (p)
		memcpy(out, p, n);
	return p != NULL;
}

static inline bool wire_read_u8(struct wire_reader *r, uint8_t *ret)
{
	return wire_read_bytes(r, ret, 1);
}

static inline bool wire_read_u16(struct wire_reader *r, uint16_t *ret)
{
	const uint8_t *b = wire_read_span(r, 2);

	if (b)
		*ret = (uint16_t)(b[0] << 8 | b[1]);
	return b != NULL;
}

static inline bool wire_read_u32(struct wire_reader *r, uint32_t *ret)
{
	const uint8_t *b = wire_read_span(r, 4);

	if (b)
		*ret = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return b != NULL;
}

static inline bool wire_read_u64(struct wire_reader *r, uint64_t *ret)
{
	uint32_t hi, lo;
	struct wire_reader save = *r;

	if (!wire_read_u32(r, &hi) || !wire_read_u32(r, &lo)) {
		*r = save;
		return false;
	}
	*ret = (uint64_t)hi << 32 | lo;
	return true;
}

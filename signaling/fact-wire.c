/* Fact bundle codec (fact-wire.h; docs/PROTOCOL.md section 14): plain C
 * over (buf, len), no allocation.
 *
 * The decoder is strict about everything it knows, because a fact changes
 * a peer's endpoint and allowed IPs: exact value lengths, canonical
 * prefixes (one spelling per network, so facts compare byte for byte), a
 * count that matches and nothing after the last fact.  It skips facts of
 * attributes it does not know, so a later version can add some without
 * older receivers dropping the whole bundle.  The encoder refuses whatever
 * the decoder would refuse, so both sides share one idea of a valid
 * bundle. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "fact-wire.h"
#include "wire-reader.h"

/* subject 32, attribute 1, ttl 2, value length 1 */
#define FACT_HEADER_LEN (FACT_KEY_LEN + 4)
#define WIRE_IPV4 4
#define WIRE_IPV6 6

static uint8_t wire_family(int family)
{
	return family == AF_INET ? WIRE_IPV4 : family == AF_INET6 ? WIRE_IPV6 : 0;
}

static size_t wire_addr_len(uint8_t wire)
{
	return wire == WIRE_IPV4 ? 4 : wire == WIRE_IPV6 ? 16 : 0;
}

static bool attr_known(uint8_t attr)
{
	return attr >= FACT_ALIVE && attr <= FACT_ASKS;
}

/* A prefix with host bits set names the same network two ways; refusing
 * it lets the daemon compare allowed IPs byte for byte. */
static bool prefix_canonical(const uint8_t *addr, size_t addr_len, uint8_t prefix)
{
	if (prefix > 8 * addr_len)
		return false;
	for (size_t bit = prefix; bit < 8 * addr_len; bit++)
		if (addr[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

/* The value length of a fact that can be encoded, or SIZE_MAX. */
static size_t value_len(const struct fact *f)
{
	size_t addr_len = wire_addr_len(wire_family(f->family));

	switch (f->attr) {
	case FACT_ALIVE:
	case FACT_RELAYS:
	case FACT_ASKS:
		return 0;
	case FACT_ENDPOINT:
		return addr_len && f->port ? 1 + addr_len + 2 : SIZE_MAX;
	case FACT_ALLOWED_IP:
		return addr_len && prefix_canonical(f->addr, addr_len, f->prefix) ? 2 + addr_len : SIZE_MAX;
	case FACT_REACHES:
	case FACT_MISSES:
		return FACT_KEY_LEN;
	default:
		return SIZE_MAX;
	}
}

size_t fact_wire_size(const struct fact *f)
{
	size_t v = value_len(f);

	if (f->ttl_s == 0 || v == SIZE_MAX)
		return 0;
	return FACT_HEADER_LEN + v;
}

/* ---- encoder --------------------------------------------------------------- */

/* The encoder sizes the bundle first, so writes cannot overrun. */
static uint8_t *write_bytes(uint8_t *p, const void *v, size_t n)
{
	memcpy(p, v, n);
	return p + n;
}

static uint8_t *write_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *write_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
	return p + 8;
}

static uint8_t *write_value(uint8_t *p, const struct fact *f)
{
	uint8_t wire = wire_family(f->family);

	switch (f->attr) {
	case FACT_ENDPOINT:
		*p++ = wire;
		p = write_bytes(p, f->addr, wire_addr_len(wire));
		return write_u16(p, f->port);
	case FACT_ALLOWED_IP:
		*p++ = wire;
		*p++ = f->prefix;
		return write_bytes(p, f->addr, wire_addr_len(wire));
	case FACT_REACHES:
	case FACT_MISSES:
		return write_bytes(p, f->peer, FACT_KEY_LEN);
	default:
		return p;
	}
}

static uint8_t *write_fact(uint8_t *p, const struct fact *f)
{
	p = write_bytes(p, f->subject, FACT_KEY_LEN);
	*p++ = f->attr;
	p = write_u16(p, f->ttl_s);
	*p++ = (uint8_t)value_len(f);
	return write_value(p, f);
}

/* The encoded size of @b, or 0 when it cannot be encoded. */
static size_t bundle_size(const struct fact_bundle *b)
{
	size_t len = FACT_BUNDLE_HEADER;

	if (b->n > FACT_BUNDLE_MAX)
		return 0;
	for (size_t i = 0; i < b->n; i++) {
		size_t n = fact_wire_size(&b->facts[i]);

		if (n == 0)
			return 0;
		len += n;
	}
	return len;
}

int fact_bundle_encode(const struct fact_bundle *b, uint8_t *buf, size_t size, size_t *ret_len)
{
	size_t len = bundle_size(b);
	uint8_t *p = buf;

	if (len == 0)
		return -EINVAL;
	if (len > size)
		return -ENOBUFS;
	*p++ = FACT_WIRE_VERSION;
	p = write_u64(p, b->issued_ms);
	*p++ = (uint8_t)b->n;
	for (size_t i = 0; i < b->n; i++)
		p = write_fact(p, &b->facts[i]);
	*ret_len = len;
	return 0;
}

/* ---- decoder --------------------------------------------------------------- */

/* Family byte and address of @len bytes in all: 1 + 4 or 1 + 16 plus
 * @extra bytes that the caller reads. */
static bool read_family(struct wire_reader *r, size_t len, size_t extra, struct fact *f)
{
	uint8_t wire;

	if (!wire_read_u8(r, &wire) || len != 1 + wire_addr_len(wire) + extra || wire_addr_len(wire) == 0)
		return false;
	f->family = wire == WIRE_IPV4 ? AF_INET : AF_INET6;
	return true;
}

static bool read_endpoint(struct wire_reader *r, size_t len, struct fact *f)
{
	if (!read_family(r, len, 2, f) || !wire_read_bytes(r, f->addr, len - 3) || !wire_read_u16(r, &f->port))
		return false;
	return f->port != 0;
}

static bool read_allowed_ip(struct wire_reader *r, size_t len, struct fact *f)
{
	if (len < 1 || !read_family(r, len - 1, 0, f) || !wire_read_u8(r, &f->prefix) ||
	    !wire_read_bytes(r, f->addr, len - 2))
		return false;
	return prefix_canonical(f->addr, len - 2, f->prefix);
}

/* Reads the value of a known attribute from @r, which holds exactly the
 * value's bytes. */
static bool read_value(struct wire_reader *r, struct fact *f)
{
	size_t len = r->left;

	switch (f->attr) {
	case FACT_ALIVE:
	case FACT_RELAYS:
	case FACT_ASKS:
		return len == 0;
	case FACT_ENDPOINT:
		return read_endpoint(r, len, f);
	case FACT_ALLOWED_IP:
		return read_allowed_ip(r, len, f);
	case FACT_REACHES:
	case FACT_MISSES:
		return len == FACT_KEY_LEN && wire_read_bytes(r, f->peer, FACT_KEY_LEN);
	default:
		return false;
	}
}

/* Reads one fact into @f.  Returns 1 for a fact of a known attribute, 0
 * for one to skip, -EBADMSG for a malformed one. */
static int read_fact(struct wire_reader *r, struct fact *f)
{
	struct wire_reader value;
	uint8_t value_len;

	memset(f, 0, sizeof(*f));
	if (!wire_read_bytes(r, f->subject, FACT_KEY_LEN) || !wire_read_u8(r, &f->attr) ||
	    !wire_read_u16(r, &f->ttl_s) || !wire_read_u8(r, &value_len) || f->ttl_s == 0)
		return -EBADMSG;
	value.p = wire_read_span(r, value_len);
	value.left = value_len;
	if (!value.p)
		return -EBADMSG;
	if (!attr_known(f->attr))
		return 0;
	return read_value(&value, f) ? 1 : -EBADMSG;
}

int fact_bundle_decode(const uint8_t *buf, size_t len, struct fact_bundle *ret)
{
	struct wire_reader r = { .p = buf, .left = len };
	struct fact_bundle b;
	uint8_t version, count;

	memset(&b, 0, sizeof(b));
	if (!wire_read_u8(&r, &version))
		return -EBADMSG;
	if (version != FACT_WIRE_VERSION)
		return -EPROTONOSUPPORT;
	if (!wire_read_u64(&r, &b.issued_ms) || !wire_read_u8(&r, &count) || count > FACT_BUNDLE_MAX)
		return -EBADMSG;
	for (size_t i = 0; i < count; i++) {
		struct fact f;
		int known = read_fact(&r, &f);

		if (known < 0)
			return known;
		if (known)
			b.facts[b.n++] = f;
	}
	if (r.left != 0)
		return -EBADMSG;
	*ret = b;
	return 0;
}

/* ---- comparison ------------------------------------------------------------ */

static size_t model_addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

bool fact_same(const struct fact *a, const struct fact *b)
{
	if (memcmp(a->subject, b->subject, FACT_KEY_LEN) != 0 || a->attr != b->attr)
		return false;
	switch (a->attr) {
	case FACT_ENDPOINT:
		return a->family == b->family && a->port == b->port &&
		       memcmp(a->addr, b->addr, model_addr_len(a->family)) == 0;
	case FACT_ALLOWED_IP:
		return a->family == b->family && a->prefix == b->prefix &&
		       memcmp(a->addr, b->addr, model_addr_len(a->family)) == 0;
	case FACT_REACHES:
	case FACT_MISSES:
		return memcmp(a->peer, b->peer, FACT_KEY_LEN) == 0;
	default:
		return true;
	}
}

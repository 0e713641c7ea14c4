/* Signaling message codec: plain C over (buf, len), no allocation.
 *
 * Big-endian integers, length-prefixed strings and type-length-value items.
 * The decoder checks every length against what is left before reading and
 * every count against its cap; the encoder refuses to write anything the
 * decoder would refuse, so both sides share one idea of a valid message.
 * The byte layout is in docs/PROTOCOL.md; keep the two in step. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "sig-msg.h"
#include "wire-reader.h"

#define ITEM_HEADER_LEN 3 /* type, 16-bit length */
#define PRIORITY_MAX 0x7fffffffu

#define WIRE_FAMILY_NONE 0
#define WIRE_FAMILY_IPV4 4
#define WIRE_FAMILY_IPV6 6

/* The encoder sizes the message first, so writes cannot overrun. */
static uint8_t *write_u8(uint8_t *p, uint8_t v)
{
	*p = v;
	return p + 1;
}

static uint8_t *write_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *write_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

static uint8_t *write_u64(uint8_t *p, uint64_t v)
{
	p = write_u32(p, (uint32_t)(v >> 32));
	return write_u32(p, (uint32_t)v);
}

static uint8_t *write_bytes(uint8_t *p, const void *v, size_t n)
{
	memcpy(p, v, n);
	return p + n;
}

/* RFC 8445 ice-char: ALPHA / DIGIT / "+" / "/".  Nothing else reaches
 * libnice, so neither NUL nor a line break nor SDP syntax can. */
static bool is_ice_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

static bool ice_string_valid(const char *s, size_t len, size_t min, size_t max)
{
	if (len < min || len > max)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_ice_char(s[i]))
			return false;
	return true;
}

/* Length of a NUL-terminated model string, or SIZE_MAX if it is not
 * terminated within its array or breaks the ice-char rules. */
static size_t model_string_len(const char *s, size_t array_len, size_t min, size_t max)
{
	size_t len = strnlen(s, array_len);

	if (len == array_len || !ice_string_valid(s, len, min, max))
		return SIZE_MAX;
	return len;
}

static uint8_t wire_family(int family)
{
	switch (family) {
	case AF_INET:
		return WIRE_FAMILY_IPV4;
	case AF_INET6:
		return WIRE_FAMILY_IPV6;
	default:
		return WIRE_FAMILY_NONE;
	}
}

static size_t wire_addr_len(uint8_t wire)
{
	return wire == WIRE_FAMILY_IPV4 ? 4 : wire == WIRE_FAMILY_IPV6 ? 16 : 0;
}

/* ---- validation and sizing of the model -------------------------------- */

static size_t offer_value_len(const struct sig_offer *o)
{
	size_t ufrag = model_string_len(o->ufrag, sizeof(o->ufrag), SIG_UFRAG_MIN, SIG_UFRAG_MAX);
	size_t pwd = model_string_len(o->pwd, sizeof(o->pwd), SIG_PWD_MIN, SIG_PWD_MAX);

	if (ufrag == SIZE_MAX || pwd == SIZE_MAX)
		return SIZE_MAX;
	return 1 + 1 + ufrag + 1 + pwd;
}

static bool candidate_enums_valid(const struct sig_candidate *c)
{
	return c->component != 0 && c->transport <= SIG_TRANSPORT_TCP_SO &&
	       c->type <= SIG_CANDIDATE_RELAY && c->priority != 0 && c->priority <= PRIORITY_MAX;
}

static size_t candidate_value_len(const struct sig_candidate *c)
{
	size_t foundation = model_string_len(c->foundation, sizeof(c->foundation), 1,
					     SIG_FOUNDATION_MAX);
	uint8_t family = wire_family(c->addr.family);
	uint8_t related = wire_family(c->related.family);

	if (foundation == SIZE_MAX || !candidate_enums_valid(c) || family == WIRE_FAMILY_NONE)
		return SIZE_MAX;
	if (related == WIRE_FAMILY_NONE && c->related.family != AF_UNSPEC)
		return SIZE_MAX;
	if (c->addr.port == 0 && c->transport != SIG_TRANSPORT_TCP_ACTIVE)
		return SIZE_MAX;
	return 3 + 4 + 1 + wire_addr_len(family) + 2 + 1 +
	       (related ? wire_addr_len(related) + 2 : 0) + 1 + foundation;
}

static size_t items_len(const struct sig_msg *msg)
{
	size_t len = 0, n_items = msg->n_candidates + msg->has_offer + msg->end_of_candidates +
				  msg->goodbye + (msg->answers != 0);

	if (n_items == 0 || msg->n_candidates > SIG_MSG_MAX_CANDIDATES)
		return SIZE_MAX;
	if (msg->has_offer) {
		size_t v = offer_value_len(&msg->offer);

		if (v == SIZE_MAX)
			return SIZE_MAX;
		len += ITEM_HEADER_LEN + v;
	}
	for (size_t i = 0; i < msg->n_candidates; i++) {
		size_t v = candidate_value_len(&msg->candidates[i]);

		if (v == SIZE_MAX)
			return SIZE_MAX;
		len += ITEM_HEADER_LEN + v;
	}
	if (msg->answers)
		len += ITEM_HEADER_LEN + 8;
	return len + ITEM_HEADER_LEN * (msg->end_of_candidates + msg->goodbye);
}

size_t sig_msg_encoded_len(const struct sig_msg *msg)
{
	size_t len;

	if (msg->session_id == 0 || msg->session_time == 0)
		return 0;
	len = items_len(msg);
	return len == SIZE_MAX ? 0 : SIG_MSG_HEADER_LEN + len;
}

/* ---- encoder -------------------------------------------------------------- */

static uint8_t *write_string(uint8_t *p, const char *s)
{
	size_t len = strlen(s); /* validated: short and terminated */

	p = write_u8(p, (uint8_t)len);
	return write_bytes(p, s, len);
}

static uint8_t *write_addr(uint8_t *p, const struct sig_addr *a)
{
	uint8_t family = wire_family(a->family);

	p = write_u8(p, family);
	if (family == WIRE_FAMILY_NONE)
		return p;
	p = write_bytes(p, a->addr, wire_addr_len(family));
	return write_u16(p, a->port);
}

static uint8_t *write_offer(uint8_t *p, const struct sig_offer *o)
{
	p = write_u8(p, SIG_ITEM_OFFER);
	p = write_u16(p, (uint16_t)offer_value_len(o));
	p = write_u8(p, o->please_answer ? SIG_OFFER_PLEASE_ANSWER : 0);
	p = write_string(p, o->ufrag);
	return write_string(p, o->pwd);
}

static uint8_t *write_candidate(uint8_t *p, const struct sig_candidate *c)
{
	p = write_u8(p, SIG_ITEM_CANDIDATE);
	p = write_u16(p, (uint16_t)candidate_value_len(c));
	p = write_u8(p, c->component);
	p = write_u8(p, c->transport);
	p = write_u8(p, c->type);
	p = write_u32(p, c->priority);
	p = write_addr(p, &c->addr);
	p = write_addr(p, &c->related);
	return write_string(p, c->foundation);
}

static uint8_t *write_empty_item(uint8_t *p, uint8_t type)
{
	p = write_u8(p, type);
	return write_u16(p, 0);
}

int sig_msg_encode(const struct sig_msg *msg, uint8_t *buf, size_t size, size_t *ret_len)
{
	size_t len = sig_msg_encoded_len(msg);
	uint8_t *p = buf;

	if (len == 0)
		return -EINVAL;
	if (len > SIG_MSG_MAX)
		return -EMSGSIZE;
	if (len > size)
		return -ENOBUFS;
	p = write_u64(p, msg->session_id);
	p = write_u64(p, msg->session_time);
	p = write_u32(p, msg->counter);
	p = write_u8(p, (uint8_t)(msg->n_candidates + msg->has_offer + msg->end_of_candidates +
				  msg->goodbye + (msg->answers != 0)));
	if (msg->has_offer)
		p = write_offer(p, &msg->offer);
	for (size_t i = 0; i < msg->n_candidates; i++)
		p = write_candidate(p, &msg->candidates[i]);
	if (msg->end_of_candidates)
		p = write_empty_item(p, SIG_ITEM_END_OF_CANDIDATES);
	if (msg->goodbye)
		p = write_empty_item(p, SIG_ITEM_GOODBYE);
	if (msg->answers) {
		p = write_u8(p, SIG_ITEM_ANSWERS);
		p = write_u16(p, 8);
		p = write_u64(p, msg->answers);
	}
	*ret_len = (size_t)(p - buf);
	return 0;
}

/* ---- decoder -------------------------------------------------------------- */

/* Reads a length-prefixed ice-char string into a NUL-terminated array. */
static bool read_string(struct wire_reader *r, char *out, size_t min, size_t max)
{
	uint8_t len;

	if (!wire_read_u8(r, &len) || r->left < len ||
	    !ice_string_valid((const char *)r->p, len, min, max))
		return false;
	wire_read_bytes(r, out, len);
	out[len] = '\0';
	return true;
}

static int decode_offer(struct wire_reader *r, struct sig_msg *msg)
{
	uint8_t flags;

	if (msg->has_offer)
		return -EBADMSG; /* two sets of credentials: which one? */
	/* Flags we do not know are ignored: they are for newer receivers. */
	if (!wire_read_u8(r, &flags) ||
	    !read_string(r, msg->offer.ufrag, SIG_UFRAG_MIN, SIG_UFRAG_MAX) ||
	    !read_string(r, msg->offer.pwd, SIG_PWD_MIN, SIG_PWD_MAX))
		return -EBADMSG;
	msg->offer.please_answer = flags & SIG_OFFER_PLEASE_ANSWER;
	msg->has_offer = true;
	return 0;
}

/* Returns 1 for a well-formed address, 0 for an unknown family (the item
 * cannot be understood but is not broken), -EBADMSG if truncated. */
static int read_addr(struct wire_reader *r, struct sig_addr *a, bool optional)
{
	uint8_t family;
	size_t len;

	memset(a, 0, sizeof(*a));
	if (!wire_read_u8(r, &family))
		return -EBADMSG;
	if (family == WIRE_FAMILY_NONE) {
		a->family = AF_UNSPEC;
		return optional ? 1 : -EBADMSG;
	}
	len = wire_addr_len(family);
	if (len == 0)
		return 0;
	if (!wire_read_bytes(r, a->addr, len) || !wire_read_u16(r, &a->port))
		return -EBADMSG;
	a->family = family == WIRE_FAMILY_IPV4 ? AF_INET : AF_INET6;
	return 1;
}

/* Reads the addresses and the foundation.  Returns 1, 0 to skip, or
 * -EBADMSG. */
static int read_candidate_tail(struct wire_reader *r, struct sig_candidate *c)
{
	int k;

	k = read_addr(r, &c->addr, false);
	if (k <= 0)
		return k;
	k = read_addr(r, &c->related, true);
	if (k <= 0)
		return k;
	if (!read_string(r, c->foundation, 1, SIG_FOUNDATION_MAX))
		return -EBADMSG;
	return 1;
}

static int decode_candidate(struct wire_reader *r, struct sig_msg *msg)
{
	struct sig_candidate c = { 0 };
	int k;

	if (!wire_read_u8(r, &c.component) || !wire_read_u8(r, &c.transport) || !wire_read_u8(r, &c.type))
		return -EBADMSG;
	/* A transport or type from a newer sender: skip this candidate only,
	 * the rest of the message is still good. */
	if (c.transport > SIG_TRANSPORT_TCP_SO || c.type > SIG_CANDIDATE_RELAY)
		return 0;
	if (!wire_read_u32(r, &c.priority) || c.component == 0 || c.priority == 0 ||
	    c.priority > PRIORITY_MAX)
		return -EBADMSG;
	k = read_candidate_tail(r, &c);
	if (k <= 0)
		return k;
	if (c.addr.port == 0 && c.transport != SIG_TRANSPORT_TCP_ACTIVE)
		return -EBADMSG;
	if (msg->n_candidates >= SIG_MSG_MAX_CANDIDATES)
		return -E2BIG;
	msg->candidates[msg->n_candidates++] = c;
	return 0;
}

static int decode_answers(struct wire_reader *r, struct sig_msg *msg)
{
	uint64_t session;

	if (msg->answers || !wire_read_u64(r, &session) || session == 0)
		return -EBADMSG;
	msg->answers = session;
	return 0;
}

static int decode_flag_item(bool *flag)
{
	if (*flag)
		return -EBADMSG;
	*flag = true;
	return 0;
}

/* Decodes one item value; bytes after the fields we know are ignored, that
 * is where a newer sender appends fields. */
static int decode_item(uint8_t type, struct wire_reader *value, struct sig_msg *msg)
{
	switch (type) {
	case SIG_ITEM_OFFER:
		return decode_offer(value, msg);
	case SIG_ITEM_CANDIDATE:
		return decode_candidate(value, msg);
	case SIG_ITEM_END_OF_CANDIDATES:
		return decode_flag_item(&msg->end_of_candidates);
	case SIG_ITEM_GOODBYE:
		return decode_flag_item(&msg->goodbye);
	case SIG_ITEM_ANSWERS:
		return decode_answers(value, msg);
	default:
		return type & SIG_ITEM_CRITICAL ? -EPROTONOSUPPORT : 0;
	}
}

static int decode_items(struct wire_reader *r, uint8_t n_items, struct sig_msg *msg)
{
	for (unsigned i = 0; i < n_items; i++) {
		struct wire_reader value;
		uint8_t type;
		uint16_t len;
		int k;

		if (!wire_read_u8(r, &type) || !wire_read_u16(r, &len) || r->left < len)
			return -EBADMSG;
		value = (struct wire_reader){ .p = r->p, .left = len };
		r->p += len;
		r->left -= len;
		k = decode_item(type, &value, msg);
		if (k < 0)
			return k;
	}
	/* New things come as new items, never as bytes after the last one; so
	 * anything left over means the count or a length is wrong. */
	return r->left == 0 ? 0 : -EBADMSG;
}

static int decode_header(struct wire_reader *r, struct sig_msg *msg, uint8_t *ret_n_items)
{
	if (!wire_read_u64(r, &msg->session_id) || !wire_read_u64(r, &msg->session_time) ||
	    !wire_read_u32(r, &msg->counter) || !wire_read_u8(r, ret_n_items))
		return -EBADMSG;
	if (msg->session_id == 0 || msg->session_time == 0 || *ret_n_items == 0)
		return -EBADMSG;
	return *ret_n_items > SIG_MSG_MAX_ITEMS ? -E2BIG : 0;
}

int sig_msg_decode(const uint8_t *buf, size_t len, struct sig_msg *ret_msg)
{
	struct wire_reader r = { .p = buf, .left = len };
	struct sig_msg msg;
	uint8_t n_items;
	int k;

	if (len > SIG_MSG_MAX)
		return -EMSGSIZE;
	sig_msg_init(&msg);
	k = decode_header(&r, &msg, &n_items);
	if (k == 0)
		k = decode_items(&r, n_items, &msg);
	if (k == 0)
		*ret_msg = msg;
	sig_msg_wipe(&msg);
	return k;
}

/* ---- model helpers -------------------------------------------------------- */

void sig_msg_init(struct sig_msg *msg)
{
	memset(msg, 0, sizeof(*msg));
}

void sig_msg_wipe(struct sig_msg *msg)
{
	sodium_memzero(msg, sizeof(*msg));
}

int sig_msg_add_candidate(struct sig_msg *msg, const struct sig_candidate *c)
{
	if (msg->n_candidates >= SIG_MSG_MAX_CANDIDATES)
		return -E2BIG;
	msg->candidates[msg->n_candidates++] = *c;
	return 0;
}

void sig_session_start(struct sig_session *s, uint64_t now_ms)
{
	uint64_t id;

	do
		randombytes_buf(&id, sizeof(id));
	while (id == 0 || id == s->id);
	s->time = now_ms > s->time ? now_ms : s->time + 1;
	s->id = id;
	s->next_counter = 0;
}

int sig_session_stamp(struct sig_session *s, struct sig_msg *msg)
{
	if (s->id == 0)
		return -EINVAL;
	if (s->next_counter == UINT32_MAX)
		return -EOVERFLOW;
	msg->session_id = s->id;
	msg->session_time = s->time;
	msg->counter = s->next_counter++;
	return 0;
}

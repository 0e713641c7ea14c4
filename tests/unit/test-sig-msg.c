/* Signaling message codec: fixed vectors written by hand from
 * docs/PROTOCOL.md, truncation sweeps, every cap and the extension rules
 * (unknown items, fields and enum values skipped, critical items not). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <criterion/criterion.h>

#include "signaling/sig-msg.h"

/* ---- the vectors --------------------------------------------------------- */

static const uint8_t vec_offer[] = {
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, /* session id */
	0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* session time 1700000000000 */
	0x00, 0x00, 0x00, 0x01,                         /* counter 1 */
	0x01,                                           /* 1 item */
	0x01, 0x00, 0x1d,                               /* OFFER, 29 bytes */
	0x01,                                           /* please answer */
	0x04, 'A', 'b', '+', '/',                       /* ufrag */
	0x16, '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f',
	'g', 'h', 'i', 'j', 'k', 'l',                   /* pwd */
};

static const uint8_t vec_candidates[] = {
	0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10, /* session id */
	0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* session time */
	0x00, 0x00, 0x00, 0x02,                         /* counter 2 */
	0x05,                                           /* 5 items */
	/* host udp 192.0.2.1:51820, foundation "1" */
	0x02, 0x00, 0x11,
	0x01, 0x00, 0x00, 0x7e, 0xff, 0xff, 0xff,
	0x04, 0xc0, 0x00, 0x02, 0x01, 0xca, 0x6c,
	0x00,
	0x01, '1',
	/* srflx udp [2001:db8::1]:40000 from [2001:db8::2]:51820, "2" */
	0x02, 0x00, 0x2f,
	0x01, 0x00, 0x01, 0x64, 0xff, 0xff, 0xff,
	0x06, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x9c, 0x40,
	0x06, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0xca, 0x6c,
	0x01, '2',
	/* host tcp-active 192.0.2.1:0, "tcp3" */
	0x02, 0x00, 0x14,
	0x01, 0x01, 0x00, 0x2a, 0x00, 0xff, 0xff,
	0x04, 0xc0, 0x00, 0x02, 0x01, 0x00, 0x00,
	0x00,
	0x04, 't', 'c', 'p', '3',
	/* relay udp 203.0.113.5:3478 from 198.51.100.7:54321, "r4" */
	0x02, 0x00, 0x18,
	0x01, 0x00, 0x03, 0x00, 0xff, 0xff, 0xff,
	0x04, 0xcb, 0x00, 0x71, 0x05, 0x0d, 0x96,
	0x04, 0xc6, 0x33, 0x64, 0x07, 0xd4, 0x31,
	0x02, 'r', '4',
	/* end of candidates */
	0x03, 0x00, 0x00,
};

static const uint8_t vec_goodbye[] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, /* session id 1 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, /* session time 2 */
	0xff, 0xff, 0xff, 0xfe,                         /* counter */
	0x01,                                           /* 1 item */
	0x04, 0x00, 0x00,                               /* GOODBYE */
};

/* An answer to the recipient's session 0x0123456789abcdef. */
static const uint8_t vec_answers[] = {
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, /* session id 3 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, /* session time 4 */
	0x00, 0x00, 0x00, 0x05,                         /* counter */
	0x02,                                           /* 2 items */
	0x03, 0x00, 0x00,                               /* END_OF_CANDIDATES */
	0x05, 0x00, 0x08,                               /* ANSWERS */
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
};

static void model_offer(struct sig_msg *m)
{
	sig_msg_init(m);
	m->session_id = UINT64_C(0x0123456789abcdef);
	m->session_time = UINT64_C(1700000000000);
	m->counter = 1;
	m->has_offer = true;
	strcpy(m->offer.ufrag, "Ab+/");
	strcpy(m->offer.pwd, "0123456789abcdefghijkl");
	m->offer.please_answer = true;
}

static void set_addr(struct sig_addr *a, int family, const char *text, uint16_t port)
{
	a->family = family;
	cr_assert_eq(inet_pton(family, text, a->addr), 1);
	a->port = port;
}

static struct sig_candidate candidate(const char *foundation, uint8_t transport, uint8_t type,
				      uint32_t priority)
{
	struct sig_candidate c = { .component = 1, .transport = transport, .type = type,
				   .priority = priority };

	strcpy(c.foundation, foundation);
	c.related.family = AF_UNSPEC;
	return c;
}

static void model_candidates(struct sig_msg *m)
{
	struct sig_candidate c;

	sig_msg_init(m);
	m->session_id = UINT64_C(0xfedcba9876543210);
	m->session_time = UINT64_C(1700000000000);
	m->counter = 2;
	c = candidate("1", SIG_TRANSPORT_UDP, SIG_CANDIDATE_HOST, 0x7effffff);
	set_addr(&c.addr, AF_INET, "192.0.2.1", 51820);
	cr_assert_eq(sig_msg_add_candidate(m, &c), 0);
	c = candidate("2", SIG_TRANSPORT_UDP, SIG_CANDIDATE_SRFLX, 0x64ffffff);
	set_addr(&c.addr, AF_INET6, "2001:db8::1", 40000);
	set_addr(&c.related, AF_INET6, "2001:db8::2", 51820);
	cr_assert_eq(sig_msg_add_candidate(m, &c), 0);
	c = candidate("tcp3", SIG_TRANSPORT_TCP_ACTIVE, SIG_CANDIDATE_HOST, 0x2a00ffff);
	set_addr(&c.addr, AF_INET, "192.0.2.1", 0);
	cr_assert_eq(sig_msg_add_candidate(m, &c), 0);
	c = candidate("r4", SIG_TRANSPORT_UDP, SIG_CANDIDATE_RELAY, 0x00ffffff);
	set_addr(&c.addr, AF_INET, "203.0.113.5", 3478);
	set_addr(&c.related, AF_INET, "198.51.100.7", 54321);
	cr_assert_eq(sig_msg_add_candidate(m, &c), 0);
	m->end_of_candidates = true;
}

static void model_goodbye(struct sig_msg *m)
{
	sig_msg_init(m);
	m->session_id = 1;
	m->session_time = 2;
	m->counter = 0xfffffffe;
	m->goodbye = true;
}

static void model_answers(struct sig_msg *m)
{
	sig_msg_init(m);
	m->session_id = 3;
	m->session_time = 4;
	m->counter = 5;
	m->end_of_candidates = true;
	m->answers = UINT64_C(0x0123456789abcdef);
}

struct vector {
	const char *name;
	const uint8_t *bytes;
	size_t len;
	void (*model)(struct sig_msg *m);
};

static const struct vector vectors[] = {
	{ "offer", vec_offer, sizeof(vec_offer), model_offer },
	{ "candidates", vec_candidates, sizeof(vec_candidates), model_candidates },
	{ "goodbye", vec_goodbye, sizeof(vec_goodbye), model_goodbye },
	{ "answers", vec_answers, sizeof(vec_answers), model_answers },
};

/* ---- helpers ------------------------------------------------------------- */

static void assert_addr_eq(const struct sig_addr *a, const struct sig_addr *b)
{
	cr_assert_eq(a->family, b->family);
	if (a->family == AF_UNSPEC)
		return;
	cr_assert_eq(a->port, b->port);
	cr_assert_arr_eq(a->addr, b->addr, a->family == AF_INET ? 4 : 16);
}

static void assert_msg_eq(const struct sig_msg *a, const struct sig_msg *b)
{
	cr_assert_eq(a->session_id, b->session_id);
	cr_assert_eq(a->session_time, b->session_time);
	cr_assert_eq(a->counter, b->counter);
	cr_assert_eq(a->has_offer, b->has_offer);
	if (a->has_offer) {
		cr_assert_str_eq(a->offer.ufrag, b->offer.ufrag);
		cr_assert_str_eq(a->offer.pwd, b->offer.pwd);
		cr_assert_eq(a->offer.please_answer, b->offer.please_answer);
	}
	cr_assert_eq(a->n_candidates, b->n_candidates);
	for (size_t i = 0; i < a->n_candidates; i++) {
		const struct sig_candidate *x = &a->candidates[i], *y = &b->candidates[i];

		cr_assert_str_eq(x->foundation, y->foundation, "candidate %zu", i);
		cr_assert_eq(x->component, y->component);
		cr_assert_eq(x->transport, y->transport);
		cr_assert_eq(x->type, y->type);
		cr_assert_eq(x->priority, y->priority);
		assert_addr_eq(&x->addr, &y->addr);
		assert_addr_eq(&x->related, &y->related);
	}
	cr_assert_eq(a->end_of_candidates, b->end_of_candidates);
	cr_assert_eq(a->goodbye, b->goodbye);
	cr_assert_eq(a->answers, b->answers);
}

static int decode(const uint8_t *buf, size_t len, struct sig_msg *m)
{
	return sig_msg_decode(buf, len, m);
}

/* Decodes a copy of vector @v with @patch applied at @off. */
static int decode_patched(const uint8_t *v, size_t len, size_t off, uint8_t patch,
			  struct sig_msg *m)
{
	uint8_t buf[SIG_MSG_MAX];

	memcpy(buf, v, len);
	buf[off] = patch;
	return decode(buf, len, m);
}

/* ---- fixed vectors --------------------------------------------------------- */

Test(sig_msg, encode_vectors_exact)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		struct sig_msg m;
		uint8_t buf[SIG_MSG_MAX];
		size_t len = 0;

		vectors[i].model(&m);
		cr_assert_eq(sig_msg_encode(&m, buf, sizeof(buf), &len), 0, "%s", vectors[i].name);
		cr_assert_eq(len, vectors[i].len, "%s: %zu bytes", vectors[i].name, len);
		cr_assert_eq(sig_msg_encoded_len(&m), len);
		cr_assert_arr_eq(buf, vectors[i].bytes, len, "%s", vectors[i].name);
	}
}

Test(sig_msg, decode_vectors)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		struct sig_msg want, got;

		vectors[i].model(&want);
		cr_assert_eq(decode(vectors[i].bytes, vectors[i].len, &got), 0, "%s",
			     vectors[i].name);
		assert_msg_eq(&got, &want);
	}
}

Test(sig_msg, every_prefix_rejected)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		for (size_t len = 0; len < vectors[i].len; len++) {
			struct sig_msg m;

			memset(&m, 0xa5, sizeof(m));
			cr_assert_eq(decode(vectors[i].bytes, len, &m), -EBADMSG, "%s: prefix %zu",
				     vectors[i].name, len);
			cr_assert_eq(m.session_id, UINT64_C(0xa5a5a5a5a5a5a5a5),
				     "output touched on failure");
		}
	}
}

Test(sig_msg, trailing_byte_rejected)
{
	uint8_t buf[sizeof(vec_offer) + 1];
	struct sig_msg m;

	memcpy(buf, vec_offer, sizeof(vec_offer));
	buf[sizeof(vec_offer)] = 0;
	cr_assert_eq(decode(buf, sizeof(buf), &m), -EBADMSG);
}

Test(sig_msg, every_model_round_trips)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct sig_msg m, got;
	uint8_t buf[SIG_MSG_MAX];
	size_t len;

	/* All transports x types x families, plus an offer without the flag. */
	model_offer(&m);
	m.offer.please_answer = false;
	for (uint8_t t = 0; t <= SIG_TRANSPORT_TCP_SO; t++)
		for (uint8_t y = 0; y <= SIG_CANDIDATE_RELAY; y++) {
			struct sig_candidate c = candidate("F00/+", t, y, 1 + t * 4 + y);
			int f = families[(t + y) % 2];

			set_addr(&c.addr, f, f == AF_INET ? "10.0.0.1" : "fd00::1", 1000 + y);
			if (y != SIG_CANDIDATE_HOST)
				set_addr(&c.related, families[y % 2],
					 y % 2 == 0 ? "10.0.0.2" : "fd00::2", 0);
			c.component = (uint8_t)(1 + t);
			cr_assert_eq(sig_msg_add_candidate(&m, &c), 0);
		}
	m.end_of_candidates = true;
	m.goodbye = true;
	cr_assert_eq(sig_msg_encode(&m, buf, sizeof(buf), &len), 0);
	cr_assert_eq(decode(buf, len, &got), 0);
	assert_msg_eq(&got, &m);
}

/* ---- caps ------------------------------------------------------------------ */

Test(sig_msg, oversized_input_rejected)
{
	uint8_t buf[SIG_MSG_MAX + 1] = { 0 };
	struct sig_msg m;

	cr_assert_eq(decode(buf, sizeof(buf), &m), -EMSGSIZE);
}

/* A padding item that makes the message exactly @len bytes long. */
static size_t padded_message(uint8_t *buf, size_t len)
{
	size_t pad = len - sizeof(vec_goodbye) - 3;

	memcpy(buf, vec_goodbye, sizeof(vec_goodbye));
	buf[20] = 2; /* goodbye + padding */
	buf[sizeof(vec_goodbye)] = SIG_ITEM_PADDING;
	buf[sizeof(vec_goodbye) + 1] = (uint8_t)(pad >> 8);
	buf[sizeof(vec_goodbye) + 2] = (uint8_t)pad;
	memset(buf + sizeof(vec_goodbye) + 3, 0, pad);
	return len;
}

Test(sig_msg, largest_message_accepted)
{
	uint8_t buf[SIG_MSG_MAX + 1];
	struct sig_msg m;

	cr_assert_eq(decode(buf, padded_message(buf, SIG_MSG_MAX), &m), 0);
	cr_assert(m.goodbye);
	cr_assert_eq(decode(buf, padded_message(buf, SIG_MSG_MAX + 1), &m), -EMSGSIZE);
}

/* Fills a model string with @n characters; @n of the array's size or more
 * leaves it unterminated, which the encoder must catch too. */
static void fill(char *s, size_t size, size_t n, char c)
{
	memset(s, c, n < size ? n : size);
	if (n < size)
		s[n] = '\0';
}

Test(sig_msg, ufrag_and_pwd_lengths)
{
	struct sig_msg m, got;
	uint8_t buf[SIG_MSG_MAX];
	size_t len;
	static const struct {
		size_t ufrag, pwd;
		int want;
	} cases[] = {
		{ 4, 22, 0 }, { 64, 128, 0 }, { 3, 22, -EINVAL }, { 65, 22, -EINVAL },
		{ 4, 21, -EINVAL }, { 4, 129, -EINVAL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		model_offer(&m);
		fill(m.offer.ufrag, sizeof(m.offer.ufrag), cases[i].ufrag, 'u');
		fill(m.offer.pwd, sizeof(m.offer.pwd), cases[i].pwd, 'p');
		cr_assert_eq(sig_msg_encode(&m, buf, sizeof(buf), &len), cases[i].want, "case %zu", i);
		if (cases[i].want == 0) {
			cr_assert_eq(decode(buf, len, &got), 0);
			cr_assert_str_eq(got.offer.ufrag, m.offer.ufrag);
		}
	}
}

Test(sig_msg, wire_lengths_out_of_range_rejected)
{
	struct sig_msg m;
	uint8_t buf[SIG_MSG_MAX];
	size_t off = 25; /* the ufrag length byte of vec_offer */

	/* Shrinking the ufrag to 3 keeps the item consistent otherwise. */
	memcpy(buf, vec_offer, sizeof(vec_offer));
	buf[off] = 3;
	memmove(buf + off + 4, buf + off + 5, sizeof(vec_offer) - off - 5);
	buf[23] = 0x1c;
	cr_assert_eq(decode(buf, sizeof(vec_offer) - 1, &m), -EBADMSG);
	/* pwd length 21 */
	cr_assert_eq(decode_patched(vec_offer, sizeof(vec_offer), 30, 21, &m), -EBADMSG);
}

Test(sig_msg, ice_chars_only)
{
	static const char bad[] = { '-', ' ', '\0', '\n', '=', ':', (char)0x80 };
	struct sig_msg m;
	uint8_t buf[SIG_MSG_MAX];
	size_t len;

	for (size_t i = 0; i < sizeof(bad); i++) {
		/* byte 27 is the second ufrag character */
		cr_assert_eq(decode_patched(vec_offer, sizeof(vec_offer), 27, (uint8_t)bad[i], &m),
			     -EBADMSG, "char 0x%02x", (uint8_t)bad[i]);
		model_offer(&m);
		m.offer.pwd[5] = bad[i];
		cr_assert_eq(sig_msg_encode(&m, buf, sizeof(buf), &len), -EINVAL);
	}
}

Test(sig_msg, foundation_length)
{
	struct sig_msg m, got;
	uint8_t buf[SIG_MSG_MAX];
	size_t len;

	model_candidates(&m);
	memset(m.candidates[0].foundation, 'f', SIG_FOUNDATION_MAX);
	cr_assert_eq(sig_msg_encode(&m, buf, sizeof(buf), &len), 0);
	cr_assert_eq(decode(buf, len, &got), 0);
	cr_assert_eq(strlen(got.candidates[0].foundation), SIG_FOUNDATION_MAX);
	m.candidates[0].foundation[SIG_FOUNDATION_MAX] = 'f'; /* 33, unterminated */
	cr_assert_eq(sig_msg_encode(&m, buf, sizeof(buf), &len), -EINVAL);
	m.candidates[0].foundation[0] = '\0';
	cr_assert_eq(sig_msg_encode(&m, buf, sizeof(buf), &len), -EINVAL);
	/* On the wire: the first candidate's foundation length 0. */
	cr_assert_eq(decode_patched(vec_candidates, sizeof(vec_candidates), 39, 0, &m), -EBADMSG);
}

Test(sig_msg, candidate_count_capped)
{
	struct sig_msg m;
	struct sig_candidate c = candidate("1", SIG_TRANSPORT_UDP, SIG_CANDIDATE_HOST, 1);
	uint8_t buf[SIG_MSG_MAX];
	size_t len = 0, off;

	set_addr(&c.addr, AF_INET, "10.0.0.1", 1);
	sig_msg_init(&m);
	m.session_id = m.session_time = 1;
	for (int i = 0; i < SIG_MSG_MAX_CANDIDATES; i++)
		cr_assert_eq(sig_msg_add_candidate(&m, &c), 0);
	cr_assert_eq(sig_msg_add_candidate(&m, &c), -E2BIG);
	cr_assert_eq(sig_msg_encode(&m, buf, sizeof(buf), &len), 0);
	/* Append a 17th candidate item on the wire. */
	off = len;
	memcpy(buf + off, buf + SIG_MSG_HEADER_LEN, len - SIG_MSG_HEADER_LEN);
	len = off + (off - SIG_MSG_HEADER_LEN) / SIG_MSG_MAX_CANDIDATES;
	buf[20] = SIG_MSG_MAX_CANDIDATES + 1;
	cr_assert_eq(decode(buf, len, &m), -E2BIG);
	m.n_candidates = SIG_MSG_MAX_CANDIDATES + 1;
	cr_assert_eq(sig_msg_encode(&m, buf, sizeof(buf), &len), -EINVAL);
}

Test(sig_msg, item_count_capped)
{
	uint8_t buf[SIG_MSG_MAX];
	struct sig_msg m;
	size_t len = SIG_MSG_HEADER_LEN;

	memcpy(buf, vec_goodbye, SIG_MSG_HEADER_LEN);
	for (int i = 0; i < SIG_MSG_MAX_ITEMS + 1; i++) {
		buf[len++] = 0x42; /* unknown, optional */
		buf[len++] = 0;
		buf[len++] = 0;
	}
	buf[20] = SIG_MSG_MAX_ITEMS;
	cr_assert_eq(decode(buf, len - 3, &m), 0);
	buf[20] = SIG_MSG_MAX_ITEMS + 1;
	cr_assert_eq(decode(buf, len, &m), -E2BIG);
	buf[20] = 0;
	cr_assert_eq(decode(buf, SIG_MSG_HEADER_LEN, &m), -EBADMSG);
}

Test(sig_msg, encoder_size_errors)
{
	struct sig_msg m;
	struct sig_candidate c = candidate("ffffffffffffffffffffffffffffffff", SIG_TRANSPORT_UDP,
					   SIG_CANDIDATE_RELAY, 1);
	uint8_t buf[SIG_MSG_MAX];
	size_t len = 12345;

	model_offer(&m);
	cr_assert_eq(sig_msg_encode(&m, buf, sizeof(vec_offer) - 1, &len), -ENOBUFS);
	cr_assert_eq(len, 12345, "ret_len touched on failure");
	/* 16 of the largest candidates do not fit in one message. */
	set_addr(&c.addr, AF_INET6, "2001:db8::1", 1);
	set_addr(&c.related, AF_INET6, "2001:db8::2", 2);
	sig_msg_init(&m);
	m.session_id = m.session_time = 1;
	while (sig_msg_add_candidate(&m, &c) == 0)
		;
	cr_assert_gt(sig_msg_encoded_len(&m), SIG_MSG_MAX);
	cr_assert_eq(sig_msg_encode(&m, buf, sizeof(buf), &len), -EMSGSIZE);
	/* The message must say something. */
	sig_msg_init(&m);
	m.session_id = m.session_time = 1;
	cr_assert_eq(sig_msg_encode(&m, buf, sizeof(buf), &len), -EINVAL);
}

Test(sig_msg, header_values)
{
	struct sig_msg m;
	uint8_t buf[SIG_MSG_MAX];
	size_t len;

	memcpy(buf, vec_goodbye, sizeof(vec_goodbye));
	buf[7] = 0; /* session id 0 */
	cr_assert_eq(decode(buf, sizeof(vec_goodbye), &m), -EBADMSG);
	cr_assert_eq(decode_patched(vec_goodbye, sizeof(vec_goodbye), 15, 0, &m), -EBADMSG);
	model_goodbye(&m);
	m.session_id = 0;
	cr_assert_eq(sig_msg_encode(&m, buf, sizeof(buf), &len), -EINVAL);
	model_goodbye(&m);
	m.session_time = 0;
	cr_assert_eq(sig_msg_encode(&m, buf, sizeof(buf), &len), -EINVAL);
}

/* Offsets into vec_candidates of the first candidate's fields. */
#define C1_COMPONENT 24
#define C1_TRANSPORT 25
#define C1_TYPE 26
#define C1_PRIORITY 27
#define C1_FAMILY 31
#define C1_PORT 36
#define C1_RELATED 38

Test(sig_msg, candidate_values)
{
	struct sig_msg m;
	const size_t n = sizeof(vec_candidates);

	cr_assert_eq(decode_patched(vec_candidates, n, C1_COMPONENT, 0, &m), -EBADMSG);
	cr_assert_eq(decode_patched(vec_candidates, n, C1_PRIORITY, 0x80, &m), -EBADMSG);
	/* priority 0 */
	{
		uint8_t buf[sizeof(vec_candidates)];

		memcpy(buf, vec_candidates, n);
		memset(buf + C1_PRIORITY, 0, 4);
		cr_assert_eq(decode(buf, n, &m), -EBADMSG);
		/* udp port 0 */
		memcpy(buf, vec_candidates, n);
		memset(buf + C1_PORT, 0, 2);
		cr_assert_eq(decode(buf, n, &m), -EBADMSG);
	}
	/* the main address may not be "none" */
	cr_assert_eq(decode_patched(vec_candidates, n, C1_FAMILY, 0, &m), -EBADMSG);
}

/* ---- extension rules --------------------------------------------------- */

Test(sig_msg, unknown_enum_skips_only_that_candidate)
{
	struct sig_msg m;
	const size_t n = sizeof(vec_candidates);
	const uint8_t patches[][2] = {
		{ C1_TRANSPORT, 4 }, { C1_TYPE, 4 }, { C1_FAMILY, 5 }, { C1_RELATED, 9 },
	};

	for (size_t i = 0; i < sizeof(patches) / sizeof(patches[0]); i++) {
		cr_assert_eq(decode_patched(vec_candidates, n, patches[i][0], patches[i][1], &m), 0,
			     "patch %zu", i);
		cr_assert_eq(m.n_candidates, 3);
		cr_assert_str_eq(m.candidates[0].foundation, "2");
		cr_assert(m.end_of_candidates);
	}
}

Test(sig_msg, unknown_items)
{
	uint8_t buf[SIG_MSG_MAX];
	struct sig_msg m;
	size_t len = sizeof(vec_offer);
	static const uint8_t optional[] = { 0x7f, 0x00, 0x03, 'x', 'y', 'z' };

	memcpy(buf, vec_offer, len);
	memcpy(buf + len, optional, sizeof(optional));
	buf[20] = 2;
	cr_assert_eq(decode(buf, len + sizeof(optional), &m), 0);
	cr_assert(m.has_offer);
	buf[len] = 0x80; /* the same item, critical */
	cr_assert_eq(decode(buf, len + sizeof(optional), &m), -EPROTONOSUPPORT);
	buf[len] = SIG_ITEM_PADDING;
	cr_assert_eq(decode(buf, len + sizeof(optional), &m), 0);
}

Test(sig_msg, fields_appended_to_known_items_ignored)
{
	uint8_t buf[SIG_MSG_MAX];
	struct sig_msg want, got;
	size_t len = sizeof(vec_offer);

	/* The offer item grows by two bytes a newer sender added. */
	memcpy(buf, vec_offer, len);
	buf[len] = 0xee;
	buf[len + 1] = 0xff;
	buf[23] += 2;
	cr_assert_eq(decode(buf, len + 2, &got), 0);
	model_offer(&want);
	assert_msg_eq(&got, &want);
	/* So does goodbye, and flags we do not know are ignored. */
	memcpy(buf, vec_goodbye, sizeof(vec_goodbye));
	buf[23] = 1;
	buf[24] = 0x99;
	cr_assert_eq(decode(buf, sizeof(vec_goodbye) + 1, &got), 0);
	cr_assert(got.goodbye);
	cr_assert_eq(decode_patched(vec_offer, sizeof(vec_offer), 24, 0xfe, &got), 0);
	cr_assert_not(got.offer.please_answer);
}

Test(sig_msg, item_length_past_end_rejected)
{
	struct sig_msg m;

	cr_assert_eq(decode_patched(vec_offer, sizeof(vec_offer), 23, 0x1e, &m), -EBADMSG);
	cr_assert_eq(decode_patched(vec_offer, sizeof(vec_offer), 22, 0x01, &m), -EBADMSG);
	/* A string running past the end of its item, not of the message. */
	cr_assert_eq(decode_patched(vec_offer, sizeof(vec_offer), 23, 0x1c, &m), -EBADMSG);
}

Test(sig_msg, singletons_not_repeated)
{
	uint8_t buf[SIG_MSG_MAX];
	struct sig_msg m;
	size_t len = sizeof(vec_offer);

	memcpy(buf, vec_offer, len);
	memcpy(buf + len, vec_offer + SIG_MSG_HEADER_LEN, len - SIG_MSG_HEADER_LEN);
	buf[20] = 2;
	cr_assert_eq(decode(buf, 2 * len - SIG_MSG_HEADER_LEN, &m), -EBADMSG);
	memcpy(buf, vec_goodbye, sizeof(vec_goodbye));
	memcpy(buf + sizeof(vec_goodbye), vec_goodbye + SIG_MSG_HEADER_LEN, 3);
	buf[20] = 2;
	cr_assert_eq(decode(buf, sizeof(vec_goodbye) + 3, &m), -EBADMSG);
}

Test(sig_msg, items_in_any_order)
{
	uint8_t buf[SIG_MSG_MAX];
	struct sig_msg want, got;
	size_t len = sizeof(vec_offer);
	static const uint8_t eoc[] = { SIG_ITEM_END_OF_CANDIDATES, 0, 0 };

	/* end-of-candidates before the offer */
	memcpy(buf, vec_offer, SIG_MSG_HEADER_LEN);
	memcpy(buf + SIG_MSG_HEADER_LEN, eoc, sizeof(eoc));
	memcpy(buf + SIG_MSG_HEADER_LEN + 3, vec_offer + SIG_MSG_HEADER_LEN,
	       len - SIG_MSG_HEADER_LEN);
	buf[20] = 2;
	cr_assert_eq(decode(buf, len + 3, &got), 0);
	model_offer(&want);
	want.end_of_candidates = true;
	assert_msg_eq(&got, &want);
}

/* ---- sessions -------------------------------------------------------------- */

Test(sig_msg, session_counter_and_restart)
{
	struct sig_session s = { 0 };
	struct sig_msg m;
	uint64_t first_id;

	sig_msg_init(&m);
	cr_assert_eq(sig_session_stamp(&s, &m), -EINVAL);
	sig_session_start(&s, 5000);
	first_id = s.id;
	cr_assert_neq(first_id, 0);
	cr_assert_eq(s.time, 5000);
	cr_assert_eq(sig_session_stamp(&s, &m), 0);
	cr_assert_eq(m.counter, 0);
	cr_assert_eq(sig_session_stamp(&s, &m), 0);
	cr_assert_eq(m.counter, 1);
	cr_assert_eq(m.session_id, first_id);
	/* The clock went back: the new session still sorts after the old. */
	sig_session_start(&s, 10);
	cr_assert_eq(s.time, 5001);
	cr_assert_neq(s.id, first_id);
	cr_assert_eq(sig_session_stamp(&s, &m), 0);
	cr_assert_eq(m.counter, 0);
	s.next_counter = UINT32_MAX;
	cr_assert_eq(sig_session_stamp(&s, &m), -EOVERFLOW);
}

Test(sig_msg, wipe_clears_password)
{
	struct sig_msg m;

	model_offer(&m);
	sig_msg_wipe(&m);
	cr_assert_eq(m.offer.pwd[0], '\0');
	cr_assert_not(m.has_offer);
}

Test(sig_msg, answers_must_name_one_session)
{
	uint8_t buf[sizeof(vec_answers) + 11];
	struct sig_msg m;

	/* session 0 names none */
	memcpy(buf, vec_answers, sizeof(vec_answers));
	memset(buf + sizeof(vec_answers) - 8, 0, 8);
	cr_assert_eq(decode(buf, sizeof(vec_answers), &m), -EBADMSG);
	/* twice in one message */
	memcpy(buf, vec_answers, sizeof(vec_answers));
	memcpy(buf + sizeof(vec_answers), vec_answers + sizeof(vec_answers) - 11, 11);
	buf[20] = 3;
	cr_assert_eq(decode(buf, sizeof(buf), &m), -EBADMSG);
	/* shorter than a session id */
	memcpy(buf, vec_answers, sizeof(vec_answers));
	buf[sizeof(vec_answers) - 9] = 7;
	cr_assert_eq(decode(buf, sizeof(vec_answers) - 1, &m), -EBADMSG);
}

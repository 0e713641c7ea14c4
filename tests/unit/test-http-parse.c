/* What the HTTP backend reads from a signal server: stream frames (new,
 * keepalive, repeat, empty, oversized, broken, and every truncation), the
 * instance header in its spellings, and the challenge body. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "signaling/client/http-parse.h"
#include "signaling/relay-proto.h"
#include "signaling/sig-envelope.h"

static size_t frame(uint8_t *out, uint64_t seq, const char *body)
{
	size_t len = strlen(body);

	relay_frame_header(out, seq, (uint32_t)len);
	memcpy(out + RELAY_FRAME_HEADER_LEN, body, len);
	return RELAY_FRAME_HEADER_LEN + len;
}

Test(http_parse, new_frame_carries_an_envelope)
{
	uint8_t buf[64];
	size_t len = frame(buf, 7, "sealed");
	struct http_frame f;
	uint64_t cursor = 3;

	cr_assert_eq(http_stream_frame(buf, len, &cursor, &f), (ssize_t)len);
	cr_assert_not(f.empty);
	cr_assert_eq(cursor, 7);
	cr_assert_eq(f.env_len, 6);
	cr_assert_arr_eq(f.env, "sealed", 6);
}

Test(http_parse, keepalives_and_repeats_are_empty)
{
	uint8_t buf[64];
	struct http_frame f;
	uint64_t cursor = 7;
	size_t len = frame(buf, 0, "");

	cr_assert_eq(http_stream_frame(buf, len, &cursor, &f), (ssize_t)len);
	cr_assert(f.empty);
	cr_assert_null(f.env);
	len = frame(buf, 7, "again");
	cr_assert_eq(http_stream_frame(buf, len, &cursor, &f), (ssize_t)len);
	cr_assert(f.empty);
	cr_assert_null(f.env);
	cr_assert_eq(cursor, 7);
}

/* A new number with nothing an envelope could be: the cursor moves on. */
Test(http_parse, new_frame_without_an_envelope)
{
	static uint8_t buf[RELAY_FRAME_HEADER_LEN + SIG_ENVELOPE_MAX + 1];
	struct http_frame f;
	uint64_t cursor = 0;
	size_t len = frame(buf, 1, "");

	cr_assert_eq(http_stream_frame(buf, len, &cursor, &f), (ssize_t)len);
	cr_assert_not(f.empty);
	cr_assert_null(f.env);
	cr_assert_eq(cursor, 1);
	relay_frame_header(buf, 2, SIG_ENVELOPE_MAX + 1);
	cr_assert_eq(http_stream_frame(buf, sizeof(buf), &cursor, &f), (ssize_t)sizeof(buf));
	cr_assert_not(f.empty);
	cr_assert_null(f.env);
	cr_assert_eq(cursor, 2);
}

Test(http_parse, oversized_frame_breaks_the_stream)
{
	uint8_t buf[RELAY_FRAME_HEADER_LEN];
	struct http_frame f;
	uint64_t cursor = 0;

	relay_frame_header(buf, 1, HTTP_FRAME_BODY_MAX + 1);
	cr_assert_eq(http_stream_frame(buf, sizeof(buf), &cursor, &f), -EMSGSIZE);
	cr_assert_eq(cursor, 0);
}

Test(http_parse, every_truncated_frame_waits)
{
	uint8_t buf[64];
	size_t len = frame(buf, 9, "envelope");

	for (size_t cut = 0; cut < len; cut++) {
		struct http_frame f;
		uint64_t cursor = 1;

		cr_assert_eq(http_stream_frame(buf, cut, &cursor, &f), 0, "parsed %zu of %zu bytes", cut, len);
		cr_assert_eq(cursor, 1);
	}
}

static void expect_instance(const char *line, const char *want)
{
	char out[RELAY_INSTANCE_STR_LEN] = "before";

	http_header_value(out, sizeof(out), line, strlen(line), RELAY_HEADER_INSTANCE);
	cr_assert_str_eq(out, want, "'%s' gave '%s'", line, out);
}

Test(http_parse, instance_header)
{
	expect_instance("Wice-Instance: abc\r\n", "abc");
	expect_instance("wice-instance:\tabc  \r\n", "abc");
	expect_instance("WICE-INSTANCE:\r\n", "");
	/* 22 characters fit, 23 do not. */
	expect_instance("Wice-Instance: 0123456789012345678901\r\n", "0123456789012345678901");
	expect_instance("Wice-Instance: 01234567890123456789012\r\n", "before");
}

Test(http_parse, other_headers)
{
	expect_instance("Content-Type: text/plain\r\n", "before");
	expect_instance("Wice-Instances: abc\r\n", "before");
	expect_instance("Wice-Instance abc\r\n", "before");
	expect_instance("Wice-Instance", "before");
	expect_instance("", "before");
}

Test(http_parse, challenge)
{
	uint8_t c[RELAY_CHALLENGE_LEN], got[RELAY_CHALLENGE_LEN];
	char text[RELAY_CHALLENGE_STR_LEN + 3];

	memset(c, 0x6b, sizeof(c));
	relay_b64_encode(text, RELAY_CHALLENGE_STR_LEN, c, sizeof(c));
	strcat(text, "\r\n");
	cr_assert(http_challenge_parse(text, strlen(text), got));
	cr_assert_arr_eq(got, c, sizeof(c));
	cr_assert(http_challenge_parse(text, RELAY_CHALLENGE_STR_LEN - 1, got));
	cr_assert_not(http_challenge_parse(text, RELAY_CHALLENGE_STR_LEN - 2, got));
	text[RELAY_CHALLENGE_STR_LEN - 1] = ' ';
	cr_assert_not(http_challenge_parse(text, strlen(text), got));
	cr_assert_not(http_challenge_parse("", 0, got));
}

/* What the signal server checks of a request before it costs anything:
 * which bodies it refuses unread, which batches it refuses whole (every
 * truncation of a good one), the stream cursor of this and of another
 * instance, and the one spelling of a proof it accepts. */
#include <criterion/criterion.h>
#include <glib.h>
#include <string.h>

#include "signaling/relay-proto.h"
#include "signaling/server/request-check.h"

Test(request_check, body_refusals)
{
	const char *reason = NULL;

	cr_assert_eq(request_body_refusal(REQUEST_BODY_NONE, 0, false, 0, &reason), 0);
	cr_assert_eq(request_body_refusal(REQUEST_BODY_NONE, 0, true, 4096, &reason), 0);
	cr_assert_eq(request_body_refusal(REQUEST_BODY_LENGTH, 4096, true, 4096, &reason), 0);
	cr_assert_eq(request_body_refusal(REQUEST_BODY_LENGTH, 0, false, 0, &reason), 0);
	cr_assert_null(reason);
	cr_assert_eq(request_body_refusal(REQUEST_BODY_LENGTH, 4097, true, 4096, &reason), 413);
	cr_assert_str_eq(reason, "request body too large");
	cr_assert_eq(request_body_refusal(REQUEST_BODY_LENGTH, 1, false, 0, &reason), 413);
	cr_assert_eq(request_body_refusal(REQUEST_BODY_OTHER, 0, true, 4096, &reason), 411);
	cr_assert_str_eq(reason, "Content-Length required");
	cr_assert_eq(request_body_refusal(REQUEST_BODY_OTHER, 0, false, 4096, &reason), 413);
}

/* Two entries for two mailboxes: 3 and 5 bytes. */
static size_t good_batch(uint8_t *out)
{
	uint8_t id[RELAY_ID_LEN];
	size_t len = 0;

	memset(id, 0xa1, sizeof(id));
	relay_batch_header(out, id, 3);
	memcpy(out + RELAY_BATCH_HEADER_LEN, "abc", 3);
	len = RELAY_BATCH_HEADER_LEN + 3;
	memset(id, 0xb2, sizeof(id));
	relay_batch_header(out + len, id, 5);
	memcpy(out + len + RELAY_BATCH_HEADER_LEN, "defgh", 5);
	return len + RELAY_BATCH_HEADER_LEN + 5;
}

Test(request_check, batch_of_two)
{
	uint8_t batch[128];
	size_t len = good_batch(batch);
	const char *reason;
	unsigned status;

	cr_assert_eq(request_batch_check(batch, len, 4096, &status, &reason), 2);
	cr_assert_eq(request_batch_check(batch, len, 5, &status, &reason), 2);
}

Test(request_check, batch_refusals)
{
	uint8_t batch[128], id[RELAY_ID_LEN] = { 0 };
	size_t len = good_batch(batch);
	const char *reason;
	unsigned status;

	cr_assert_eq(request_batch_check(batch, 0, 4096, &status, &reason), 0);
	cr_assert_eq(status, 400);
	cr_assert_str_eq(reason, "empty batch");
	cr_assert_eq(request_batch_check(batch, len, 4, &status, &reason), 0);
	cr_assert_eq(status, 413);
	cr_assert_str_eq(reason, "message too large");
	relay_batch_header(batch + len, id, 0);
	cr_assert_eq(request_batch_check(batch, len + RELAY_BATCH_HEADER_LEN, 4096, &status, &reason), 0);
	cr_assert_eq(status, 400);
	cr_assert_str_eq(reason, "empty message");
}

/* A batch cut anywhere but between entries is refused whole. */
Test(request_check, every_truncated_batch)
{
	uint8_t batch[128];
	size_t len = good_batch(batch), first = RELAY_BATCH_HEADER_LEN + 3;
	const char *reason;
	unsigned status;

	for (size_t cut = 1; cut < len; cut++) {
		size_t n = request_batch_check(batch, cut, 4096, &status, &reason);

		if (cut == first) {
			cr_assert_eq(n, 1);
			continue;
		}
		cr_assert_eq(n, 0, "accepted a batch cut at %zu", cut);
		cr_assert_eq(status, 400);
		cr_assert_str_eq(reason, "truncated batch");
	}
}

Test(request_check, cursor)
{
	uint64_t after = 99;

	cr_assert(request_cursor(NULL, NULL, "us", 10, &after));
	cr_assert_eq(after, 0);
	cr_assert(request_cursor("7", "us", "us", 10, &after));
	cr_assert_eq(after, 7);
	/* Never past what the store has handed out. */
	cr_assert(request_cursor("18446744073709551615", "us", "us", 10, &after));
	cr_assert_eq(after, 10);
	/* Another instance's numbers mean nothing here: replay everything. */
	cr_assert(request_cursor("7", "them", "us", 10, &after));
	cr_assert_eq(after, 0);
	cr_assert(request_cursor("7", NULL, "us", 10, &after));
	cr_assert_eq(after, 0);
}

Test(request_check, malformed_cursor)
{
	static const char *const bad[] = { "", "x", "7x", "-1", "+1", " 1", "1 ", "18446744073709551616" };

	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		uint64_t after = 42;

		cr_assert_not(request_cursor(bad[i], "us", "us", 10, &after), "accepted after=%s", bad[i]);
		cr_assert_eq(after, 42);
	}
}

Test(request_check, proof)
{
	uint8_t c[RELAY_CHALLENGE_LEN], s[RELAY_SIGNATURE_LEN], got_c[RELAY_CHALLENGE_LEN], got_s[RELAY_SIGNATURE_LEN];
	char c_str[RELAY_CHALLENGE_STR_LEN], s_str[RELAY_SIGNATURE_STR_LEN];

	memset(c, 0x5a, sizeof(c));
	memset(s, 0xc3, sizeof(s));
	relay_b64_encode(c_str, sizeof(c_str), c, sizeof(c));
	relay_b64_encode(s_str, sizeof(s_str), s, sizeof(s));
	cr_assert(request_proof(c_str, s_str, got_c, got_s));
	cr_assert_arr_eq(got_c, c, sizeof(c));
	cr_assert_arr_eq(got_s, s, sizeof(s));
	cr_assert_not(request_proof(NULL, s_str, got_c, got_s));
	cr_assert_not(request_proof(c_str, NULL, got_c, got_s));
	cr_assert_not(request_proof(s_str, c_str, got_c, got_s));
}

/* Only the one spelling: no padding, no blanks, no leftover bits. */
Test(request_check, proof_spelling)
{
	uint8_t c[RELAY_CHALLENGE_LEN] = { 0 }, s[RELAY_SIGNATURE_LEN] = { 0 }, out_c[RELAY_CHALLENGE_LEN],
		out_s[RELAY_SIGNATURE_LEN];
	char c_str[RELAY_CHALLENGE_STR_LEN], s_str[RELAY_SIGNATURE_STR_LEN];
	char padded[RELAY_CHALLENGE_STR_LEN + 1], spaced[RELAY_CHALLENGE_STR_LEN + 1];

	relay_b64_encode(c_str, sizeof(c_str), c, sizeof(c));
	relay_b64_encode(s_str, sizeof(s_str), s, sizeof(s));
	g_snprintf(padded, sizeof(padded), "%s=", c_str);
	g_snprintf(spaced, sizeof(spaced), " %s", c_str);
	cr_assert_not(request_proof(padded, s_str, out_c, out_s));
	cr_assert_not(request_proof(spaced, s_str, out_c, out_s));
	/* 32 bytes leave 2 spare bits in the last character: "B" sets one. */
	c_str[RELAY_CHALLENGE_STR_LEN - 2] = 'B';
	cr_assert_not(request_proof(c_str, s_str, out_c, out_s));
}

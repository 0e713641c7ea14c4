/* What the etcd backend reads from etcd's JSON gateway, in the spellings
 * etcd 3.4 sends (taken from a live member): watch messages (created,
 * events, deletes, a compacted start, errors), range and lease answers,
 * line framing with every truncation, what makes an envelope, and what
 * must be refused without a crash. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "signaling/client/etcd-parse.h"
#include "signaling/sig-envelope.h"

#define HEADER "\"header\":{\"cluster_id\":\"14841639068965178418\",\"member_id\":\"1027\",\"revision\":\"5\"," \
	       "\"raft_term\":\"2\"}"
/* "w/m/ID/abc", "w/m/ID/def", "other/key", "sealed" */
#define KEY_A "dy9tL0lEL2FiYw=="
#define KEY_B "dy9tL0lEL2RlZg=="
#define KEY_OTHER "b3RoZXIva2V5"
#define SEALED "c2VhbGVk"
#define PREFIX "w/m/ID/"

#define EVENTS                                                                                                    \
	"{\"result\":{" HEADER ",\"events\":[{\"kv\":{\"key\":\"" KEY_A "\",\"create_revision\":\"6\","          \
	"\"mod_revision\":\"6\",\"version\":\"1\",\"value\":\"" SEALED "\",\"lease\":\"75878\"}},{\"kv\":{\"key\":\"" \
	KEY_B "\",\"mod_revision\":\"6\",\"value\":\"" SEALED "\"}},{\"type\":\"DELETE\",\"kv\":{\"key\":\"" KEY_A \
	"\",\"mod_revision\":\"7\"}},{\"kv\":{\"key\":\"" KEY_OTHER "\",\"mod_revision\":\"8\",\"value\":\"" SEALED \
	"\"}}]}}"

static bool watch(const char *text, struct etcd_watch_msg *m)
{
	return etcd_watch_parse(text, strlen(text), m);
}

/* How many envelopes @m brings a subscriber at @cursor, which moves. */
static unsigned take_all(const struct etcd_watch_msg *m, int64_t *cursor)
{
	unsigned n = 0;

	for (guint i = 0; i < m->events->len; i++) {
		const uint8_t *env;
		size_t len;

		if (etcd_take_envelope(g_ptr_array_index(m->events, i), PREFIX, *cursor, &env, &len)) {
			cr_assert_eq(len, 6);
			cr_assert_arr_eq(env, "sealed", 6);
			n++;
		}
	}
	*cursor = etcd_last_revision(m->events, *cursor);
	return n;
}

Test(etcd_parse, created)
{
	struct etcd_watch_msg m;

	cr_assert(watch("{\"result\":{" HEADER ",\"created\":true}}", &m));
	cr_assert(m.created);
	cr_assert_not(m.canceled);
	cr_assert_eq(m.revision, 5);
	cr_assert_eq(m.events->len, 0);
	cr_assert_null(m.error);
	etcd_watch_msg_clear(&m);
}

Test(etcd_parse, events_of_one_transaction_are_all_taken)
{
	struct etcd_watch_msg m;
	int64_t cursor = 5;

	cr_assert(watch(EVENTS, &m));
	cr_assert_eq(m.events->len, 4);
	cr_assert(((struct etcd_kv *)g_ptr_array_index(m.events, 2))->deleted);
	/* Two puts share revision 6; the delete and the foreign key bring
	 * nothing but still move the cursor. */
	cr_assert_eq(take_all(&m, &cursor), 2);
	cr_assert_eq(cursor, 8);
	etcd_watch_msg_clear(&m);
}

Test(etcd_parse, a_repeat_after_reconnect_brings_nothing)
{
	struct etcd_watch_msg m;
	int64_t cursor = 6;

	cr_assert(watch(EVENTS, &m));
	cr_assert_eq(take_all(&m, &cursor), 0);
	cr_assert_eq(cursor, 8);
	etcd_watch_msg_clear(&m);
}

Test(etcd_parse, compacted_start_is_a_cancel)
{
	struct etcd_watch_msg m;

	cr_assert(watch("{\"result\":{\"header\":{\"cluster_id\":\"1\",\"raft_term\":\"2\"},\"canceled\":true,"
			"\"compact_revision\":\"5\"}}",
			&m));
	cr_assert(m.canceled);
	cr_assert_eq(m.compact_revision, 5);
	cr_assert_eq(m.revision, 0);
	cr_assert_str_eq(m.error, "compacted");
	etcd_watch_msg_clear(&m);
}

Test(etcd_parse, gateway_error)
{
	struct etcd_watch_msg m;

	cr_assert(watch("{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"etcdserver: no leader\"}}", &m));
	cr_assert_str_eq(m.error, "etcdserver: no leader");
	etcd_watch_msg_clear(&m);
}

Test(etcd_parse, numbers_as_json_numbers)
{
	struct etcd_watch_msg m;
	int64_t cursor = 0;

	cr_assert(watch("{\"result\":{\"header\":{\"revision\":9},\"events\":[{\"kv\":{\"key\":\"" KEY_A
			"\",\"mod_revision\":9,\"value\":\"" SEALED "\"}}]}}",
			&m));
	cr_assert_eq(m.revision, 9);
	cr_assert_eq(take_all(&m, &cursor), 1);
	cr_assert_eq(cursor, 9);
	etcd_watch_msg_clear(&m);
}

Test(etcd_parse, refuses_what_is_not_a_watch_message)
{
	static const char *const bad[] = {
		"",
		"null",
		"[]",
		"{}",
		"{\"result\":1}",
		"{\"result\":{\"header\":{\"revision\":\"-1\"}}}",
		"{\"result\":{\"header\":{\"revision\":\"12x\"}}}",
		"{\"result\":{\"header\":{\"revision\":\"99999999999999999999\"}}}",
		"{\"result\":{\"header\":{\"revision\":-3}}}",
		"{\"result\":{\"header\":{\"revision\":1.5}}}",
		"{\"result\":{\"header\":7}}",
		"{\"result\":{\"created\":\"yes\"}}",
		"{\"result\":{\"events\":{}}}",
		"{\"result\":{\"events\":[1]}}",
		"{\"result\":{\"events\":[{}]}}",
		"{\"result\":{\"events\":[{\"type\":3,\"kv\":{\"key\":\"" KEY_A "\"}}]}}",
		"{\"result\":{\"events\":[{\"kv\":{\"key\":\"not base64!\",\"mod_revision\":\"1\"}}]}}",
		"{\"result\":{\"events\":[{\"kv\":{\"key\":\"" KEY_A "\",\"value\":\"c2Vh=bGVk\"}}]}}",
		"{\"result\":{\"events\":[{\"kv\":{\"key\":\"" KEY_A "\",\"value\":\"c2VhbGV\"}}]}}",
		"{\"result\":{\"events\":[{\"kv\":{\"key\":7}}]}}",
		"{\"result\":{} ",
		"{\"result\":{}}{",
		/* json-glib would take the last of several and leak the rest */
		"{\"result\":{}}{\"result\":{}}",
		"{\"error\":\"x\"} {\"result\":{}}",
		"{\"result\":{}}\n{\"result\":{}}",
		"[{\"result\":{}}]",
	};

	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		struct etcd_watch_msg m = { .revision = 42 };

		cr_assert_not(watch(bad[i], &m), "took %s", bad[i]);
		cr_assert_eq(m.revision, 42, "changed the message for %s", bad[i]);
	}
}

/* Every prefix of a message is refused or read, never a crash. */
Test(etcd_parse, truncations)
{
	const char *text = EVENTS;

	for (size_t len = 0; len < strlen(text); len++) {
		struct etcd_watch_msg m;

		if (etcd_watch_parse(text, len, &m))
			etcd_watch_msg_clear(&m);
	}
}

Test(etcd_parse, deep_nesting_is_refused_before_the_parser)
{
	GString *s = g_string_new("{\"result\":");

	for (int i = 0; i < 100000; i++)
		g_string_append_c(s, '[');
	struct etcd_watch_msg m;

	cr_assert_not(etcd_watch_parse(s->str, s->len, &m));
	g_string_free(s, TRUE);
	/* Brackets inside a string do not count. */
	cr_assert(watch("{\"result\":{\"cancel_reason\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[[\"}}", &m));
	etcd_watch_msg_clear(&m);
}

Test(etcd_parse, oversized_values_are_no_envelopes)
{
	g_autofree uint8_t *big = g_malloc0(SIG_ENVELOPE_MAX + 1);
	g_autofree char *value = g_base64_encode(big, SIG_ENVELOPE_MAX + 1);
	g_autofree char *text = g_strdup_printf("{\"result\":{\"events\":[{\"kv\":{\"key\":\"" KEY_A
						"\",\"mod_revision\":\"3\",\"value\":\"%s\"}}]}}",
						value);
	struct etcd_watch_msg m;
	int64_t cursor = 0;

	cr_assert(watch(text, &m));
	cr_assert_eq(take_all(&m, &cursor), 0);
	cr_assert_eq(cursor, 3);
	etcd_watch_msg_clear(&m);
}

Test(etcd_parse, stream_lines)
{
	const uint8_t two[] = "{\"a\":1}\n{\"b\"";
	g_autofree uint8_t *huge = g_malloc(ETCD_LINE_MAX + 1);
	size_t scanned = 0;

	cr_assert_eq(etcd_stream_line(two, sizeof(two) - 1, &scanned), 8);
	cr_assert_eq(scanned, 0);
	cr_assert_eq(etcd_stream_line(two + 8, sizeof(two) - 9, &scanned), 0);
	cr_assert_eq(scanned, sizeof(two) - 9);
	scanned = 0;
	cr_assert_eq(etcd_stream_line(two, 0, &scanned), 0);
	memset(huge, ' ', ETCD_LINE_MAX + 1);
	cr_assert_eq(etcd_stream_line(huge, ETCD_LINE_MAX - 1, &scanned), 0);
	cr_assert_eq(etcd_stream_line(huge, ETCD_LINE_MAX + 1, &scanned), -EMSGSIZE);
	huge[ETCD_LINE_MAX - 1] = '\n';
	scanned = 0;
	cr_assert_eq(etcd_stream_line(huge, ETCD_LINE_MAX + 1, &scanned), ETCD_LINE_MAX);
}

/* A line that trickles in is searched only where it grew: what was
 * scanned is not searched again (a '\n' placed there is not seen). */
Test(etcd_parse, stream_lines_resume_the_search)
{
	uint8_t buf[] = "abcdef\nxyz";
	size_t scanned = 0;

	cr_assert_eq(etcd_stream_line(buf, 3, &scanned), 0);
	cr_assert_eq(scanned, 3);
	buf[1] = '\n';
	cr_assert_eq(etcd_stream_line(buf, sizeof(buf) - 1, &scanned), 7);
	cr_assert_eq(scanned, 0);
}

Test(etcd_parse, range_answer)
{
	const char *text = "{" HEADER ",\"kvs\":[{\"key\":\"" KEY_A "\",\"create_revision\":\"2\",\"mod_revision\":\"2\","
			   "\"version\":\"1\",\"value\":\"" SEALED "\"}],\"more\":true,\"count\":\"3\"}";
	struct etcd_range r;

	cr_assert(etcd_range_parse(text, strlen(text), &r));
	cr_assert_eq(r.revision, 5);
	cr_assert(r.more);
	cr_assert_eq(r.kvs->len, 1);
	cr_assert_eq(((struct etcd_kv *)g_ptr_array_index(r.kvs, 0))->mod_revision, 2);
	etcd_range_clear(&r);
	/* An empty mailbox: no kvs at all. */
	cr_assert(etcd_range_parse("{" HEADER "}", strlen("{" HEADER "}"), &r));
	cr_assert_eq(r.kvs->len, 0);
	cr_assert_not(r.more);
	etcd_range_clear(&r);
	cr_assert_not(etcd_range_parse("{\"kvs\":[]}", 10, &r));
	cr_assert_not(etcd_range_parse("{" HEADER ",\"kvs\":[{\"key\":1}]}", strlen("{" HEADER ",\"kvs\":[{\"key\":1}]}"), &r));
}

Test(etcd_parse, lease_answer)
{
	const char *ok = "{" HEADER ",\"ID\":\"7587899374134601990\",\"TTL\":\"150\"}";
	int64_t id = 0;

	cr_assert(etcd_lease_parse(ok, strlen(ok), &id));
	cr_assert_eq(id, 7587899374134601990LL);
	id = 1;
	cr_assert_not(etcd_lease_parse("{\"ID\":\"0\"}", 10, &id));
	cr_assert_not(etcd_lease_parse("{\"ID\":\"x\"}", 10, &id));
	cr_assert_not(etcd_lease_parse("{\"error\":\"lease not found\"}", 27, &id));
	cr_assert_eq(id, 1);
}

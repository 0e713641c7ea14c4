/* libFuzzer harness for what the etcd backend reads from etcd's JSON
 * gateway (signaling/client/etcd-parse.c).
 *
 * The first byte picks a piece size; the rest is a watch stream that
 * arrives in pieces of that size, the way curl hands it to backend-etcd.c,
 * which keeps the unsplit rest.  It must split into the same lines, and
 * end the same way (broken or not), as the whole stream at once.  The
 * lines are then read and envelopes taken the way backend-etcd.c does:
 * the cursor never goes back; an envelope is 1..SIG_ENVELOPE_MAX bytes of
 * a key under the mailbox prefix; and the same messages taken again from
 * where the first read stopped (a reconnect that got everything again)
 * bring nothing twice.  Each line is also
 * read as a range answer and a lease answer.  Any broken property
 * aborts. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "signaling/client/etcd-parse.h"
#include "signaling/sig-envelope.h"

#define PREFIX "w/m/ID/"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		abort();
}

struct seen {
	GByteArray *log; /* per envelope: its length, then its bytes */
	int64_t cursor;
	unsigned envelopes;
};

static void take(struct seen *s, const GPtrArray *events)
{
	int64_t before = s->cursor;

	for (guint i = 0; i < events->len; i++) {
		const struct etcd_kv *kv = g_ptr_array_index(events, i);
		const uint8_t *env;
		size_t len;
		uint32_t len32;

		if (!etcd_take_envelope(kv, PREFIX, s->cursor, &env, &len))
			continue;
		check(kv->mod_revision > before && len > 0 && len <= SIG_ENVELOPE_MAX && !kv->deleted);
		check(g_bytes_get_size(kv->key) > strlen(PREFIX) &&
		      memcmp(g_bytes_get_data(kv->key, NULL), PREFIX, strlen(PREFIX)) == 0);
		len32 = (uint32_t)len;
		g_byte_array_append(s->log, (const uint8_t *)&len32, sizeof(len32));
		g_byte_array_append(s->log, env, len);
		s->envelopes++;
	}
	s->cursor = etcd_last_revision(events, s->cursor);
	check(s->cursor >= before);
}

/* Where the lines of a stream end (offsets past their '\n'), as found by
 * etcd_stream_line() over what arrived so far. */
struct lines {
	GArray *ends; /* size_t */
	bool broken;
};

/* The stream in pieces of @piece bytes; the unsplit rest is kept in an
 * exact-size buffer, so that a read past it is caught. */
static void split_stream(struct lines *l, const uint8_t *data, size_t size, size_t piece)
{
	uint8_t *rest = NULL;
	size_t rest_len = 0, rest_at = 0, scanned = 0;

	for (size_t off = 0; off < size && !l->broken; off += piece) {
		size_t take_len = MIN(piece, size - off), used = 0;
		uint8_t *buf = malloc(rest_len + take_len);
		ssize_t n;

		if (rest_len)
			memcpy(buf, rest, rest_len);
		memcpy(buf + rest_len, data + off, take_len);
		free(rest);
		rest_len += take_len;
		while ((n = etcd_stream_line(buf + used, rest_len - used, &scanned)) > 0) {
			size_t end = rest_at + used + (size_t)n;

			check((size_t)n <= rest_len - used && buf[used + n - 1] == '\n');
			g_array_append_val(l->ends, end);
			used += (size_t)n;
		}
		check(n == 0 || n == -EMSGSIZE);
		check(scanned == MIN(rest_len - used, (size_t)ETCD_LINE_MAX));
		l->broken = n < 0;
		rest = malloc(rest_len - used + 1);
		memcpy(rest, buf + used, rest_len - used);
		rest_len -= used;
		rest_at += used;
		free(buf);
	}
	free(rest);
}

/* Reads the lines as backend-etcd.c does, until one ends the stream;
 * keeps the events of each message in @msgs. */
static void read_lines(struct seen *s, const uint8_t *data, const struct lines *l, GPtrArray *msgs)
{
	size_t start = 0;

	for (guint i = 0; i < l->ends->len; i++) {
		size_t end = g_array_index(l->ends, size_t, i);
		struct etcd_watch_msg m;

		if (!etcd_watch_parse((const char *)data + start, end - start - 1, &m))
			return;
		start = end;
		check(m.events != NULL && m.revision >= 0 && m.compact_revision >= 0);
		check(!m.canceled || m.error);
		if (m.error) {
			etcd_watch_msg_clear(&m);
			return;
		}
		take(s, m.events);
		g_ptr_array_add(msgs, g_steal_pointer(&m.events));
		etcd_watch_msg_clear(&m);
		check(m.events == NULL && m.error == NULL);
	}
}

static void fuzz_stream(const uint8_t *data, size_t size, size_t piece)
{
	struct lines whole = { .ends = g_array_new(FALSE, FALSE, sizeof(size_t)) };
	struct lines pieces = { .ends = g_array_new(FALSE, FALSE, sizeof(size_t)) };
	struct seen first = { .log = g_byte_array_new() }, again = { .log = g_byte_array_new() };
	GPtrArray *msgs = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);

	split_stream(&whole, data, size, size ? size : 1);
	split_stream(&pieces, data, size, piece);
	check(whole.broken == pieces.broken && whole.ends->len == pieces.ends->len);
	check(!whole.ends->len ||
	      memcmp(whole.ends->data, pieces.ends->data, whole.ends->len * sizeof(size_t)) == 0);
	read_lines(&first, data, &whole, msgs);
	/* Everything again from the cursor reached: nothing twice. */
	again.cursor = first.cursor;
	for (guint i = 0; i < msgs->len; i++)
		take(&again, g_ptr_array_index(msgs, i));
	check(again.envelopes == 0 && again.cursor == first.cursor);
	g_array_unref(whole.ends);
	g_array_unref(pieces.ends);
	g_byte_array_unref(first.log);
	g_byte_array_unref(again.log);
	g_ptr_array_unref(msgs);
}

static void fuzz_answers(const uint8_t *data, size_t size)
{
	char *text;
	struct etcd_range r;
	int64_t id = -1;

	if (size == 0)
		return;
	text = g_memdup2(data, size); /* exact size, no NUL */

	if (etcd_range_parse(text, size, &r)) {
		check(r.kvs != NULL && r.revision >= 0);
		for (guint i = 0; i < r.kvs->len; i++)
			check(((struct etcd_kv *)g_ptr_array_index(r.kvs, i))->mod_revision >= 0);
		etcd_range_clear(&r);
		check(r.kvs == NULL);
	}
	if (etcd_lease_parse(text, size, &id))
		check(id > 0);
	else
		check(id == -1);
	g_free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	fuzz_stream(data + 1, size - 1, 1 + data[0] % 64);
	fuzz_answers(data + 1, size - 1);
	return 0;
}

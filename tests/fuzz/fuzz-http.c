/* libFuzzer harness for what the HTTP backend reads from a signal server
 * (signaling/client/http-parse.c).
 *
 * The first byte picks a piece size; the rest is a subscription stream
 * that arrives in pieces of that size, the way curl hands them to
 * backend-http.c, which keeps the unparsed rest.  It must give the same
 * frames (envelopes, empty frames, the cursor) and the same end (broken
 * or not) as the whole stream parsed at once.  Each line of the input is
 * also read as a response header and as a challenge body: a value taken
 * is trimmed and fits with its NUL; a challenge taken spells back to the
 * line.  Any broken property aborts. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "signaling/client/http-parse.h"
#include "signaling/relay-proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		abort();
}

/* What a subscriber made of a stream. */
struct seen {
	GByteArray *log; /* per frame: its kind, then the envelope */
	uint64_t cursor;
	bool broken;
};

static void log_frame(struct seen *s, const struct http_frame *f)
{
	uint8_t kind = f->empty ? 'e' : f->env ? 'n' : '-';
	uint32_t len = (uint32_t)f->env_len;

	check(!f->empty || !f->env);
	g_byte_array_append(s->log, &kind, 1);
	if (f->env) {
		check(f->env_len > 0);
		g_byte_array_append(s->log, (const uint8_t *)&len, sizeof(len));
		g_byte_array_append(s->log, f->env, f->env_len);
	}
}

/* Parses the complete frames of buf[0..len) as backend-http.c does;
 * returns the bytes used, or -1 for a broken stream. */
static ssize_t parse_frames(struct seen *s, const uint8_t *buf, size_t len)
{
	size_t used = 0;

	for (;;) {
		struct http_frame f;
		uint64_t before = s->cursor;
		ssize_t n = http_stream_frame(buf + used, len - used, &s->cursor, &f);

		if (n < 0) {
			check(n == -EMSGSIZE && s->cursor == before);
			return -1;
		}
		if (n == 0) {
			check(s->cursor == before);
			return (ssize_t)used;
		}
		check((size_t)n <= len - used && (size_t)n >= RELAY_FRAME_HEADER_LEN);
		check(f.empty ? s->cursor == before : s->cursor > before);
		check(!f.env || (f.env >= buf + used && f.env + f.env_len <= buf + used + n));
		log_frame(s, &f);
		used += n;
	}
}

/* The stream in pieces of @piece bytes; the unparsed rest is kept in an
 * exact-size buffer, so that a read past it is caught. */
static void run_stream(struct seen *s, const uint8_t *data, size_t size, size_t piece)
{
	uint8_t *rest = NULL;
	size_t rest_len = 0;

	for (size_t off = 0; off < size && !s->broken; off += piece) {
		size_t take = MIN(piece, size - off);
		uint8_t *buf = malloc(rest_len + take);
		ssize_t used;

		if (rest_len)
			memcpy(buf, rest, rest_len);
		memcpy(buf + rest_len, data + off, take);
		free(rest);
		rest_len += take;
		used = parse_frames(s, buf, rest_len);
		if (used < 0) {
			s->broken = true;
			rest = buf;
			break;
		}
		rest = malloc(rest_len - (size_t)used + 1);
		memcpy(rest, buf + used, rest_len - (size_t)used);
		rest_len -= (size_t)used;
		free(buf);
	}
	free(rest);
}

static void fuzz_stream(const uint8_t *data, size_t size, size_t piece)
{
	struct seen whole = { .log = g_byte_array_new() }, pieces = { .log = g_byte_array_new() };

	run_stream(&whole, data, size, size ? size : 1);
	run_stream(&pieces, data, size, piece);
	check(whole.broken == pieces.broken && whole.cursor == pieces.cursor);
	check(whole.log->len == pieces.log->len &&
	      (!whole.log->len || memcmp(whole.log->data, pieces.log->data, whole.log->len) == 0));
	g_byte_array_unref(whole.log);
	g_byte_array_unref(pieces.log);
}

static void fuzz_header(const char *line, size_t len, size_t size)
{
	char out[RELAY_INSTANCE_STR_LEN] = "unchanged";
	size_t name_len = strlen(RELAY_HEADER_INSTANCE);

	http_header_value(out, size, line, len, RELAY_HEADER_INSTANCE);
	if (strcmp(out, "unchanged") == 0)
		return;
	check(strlen(out) < size);
	check(len > name_len && line[name_len] == ':' &&
	      g_ascii_strncasecmp(line, RELAY_HEADER_INSTANCE, name_len) == 0);
	check(!*out || (!g_ascii_isspace(out[0]) && !g_ascii_isspace(out[strlen(out) - 1])));
}

static void fuzz_challenge(const char *line, size_t len)
{
	uint8_t c[RELAY_CHALLENGE_LEN];
	char again[RELAY_CHALLENGE_STR_LEN];

	if (!http_challenge_parse(line, len, c))
		return;
	relay_b64_encode(again, sizeof(again), c, sizeof(c));
	check(len >= strlen(again) && memcmp(line, again, strlen(again)) == 0);
	for (size_t i = strlen(again); i < len; i++)
		check(line[i] == '\r' || line[i] == '\n');
}

/* Each line with its '\n', in an exact-size copy. */
static void fuzz_lines(const uint8_t *data, size_t size)
{
	while (size > 0) {
		const uint8_t *nl = memchr(data, '\n', size);
		size_t len = nl ? (size_t)(nl - data) + 1 : size;
		char *line = malloc(len);

		memcpy(line, data, len);
		fuzz_header(line, len, RELAY_INSTANCE_STR_LEN);
		fuzz_header(line, len, 8);
		fuzz_challenge(line, len);
		free(line);
		data += len;
		size -= len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	fuzz_stream(data + 1, size - 1, 1 + data[0] % 64);
	fuzz_lines(data + 1, size - 1);
	return 0;
}

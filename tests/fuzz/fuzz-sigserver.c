/* libFuzzer harness for what `wice signal-server` checks of a request
 * (signaling/server/request-check.c) and for its store
 * (signaling/server/mailbox.c), which takes what passes.
 *
 * Input: 8 bytes of request head, then four lines (after=, instance=,
 * Wice-Challenge, Wice-Signature; a missing line is a missing value),
 * then a batch body.  The head holds the method and body framing
 * (byte 0), the message cap (1-2), the declared length (3-6) and the
 * store's last sequence number (7).
 *
 * Properties: a refusal of the body is what the framing and cap call
 * for; a cursor never passes the store, and counts only in our instance;
 * a proof decodes only from its one spelling; a batch is accepted whole
 * or refused whole, and what is accepted goes into a store with small
 * caps, where it must be replayed within those caps to subscribers and
 * be gone once expired.  Any broken property aborts. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/relay-proto.h"
#include "signaling/server/mailbox.h"
#include "signaling/server/request-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEAD_LEN 8
#define OURS "ours-instance"
#define NOW (1000 * G_USEC_PER_SEC)

static void check(int ok)
{
	if (!ok)
		abort();
}

static void fuzz_body(uint8_t flags, int64_t length, size_t max_message)
{
	enum request_body body = (flags >> 1) & 3;
	bool post = flags & 1;
	int64_t cap = post ? (int64_t)max_message : 0;
	const char *reason = NULL;
	unsigned status;

	if (body > REQUEST_BODY_OTHER)
		body = REQUEST_BODY_OTHER;
	status = request_body_refusal(body, length, post, cap, &reason);
	if (body == REQUEST_BODY_NONE || (body == REQUEST_BODY_LENGTH && length <= cap))
		check(status == 0 && reason == NULL);
	else if (body == REQUEST_BODY_OTHER && post)
		check(status == HTTP_LENGTH_REQUIRED && reason);
	else
		check(status == HTTP_PAYLOAD_TOO_LARGE && reason);
}

static void fuzz_cursor(const char *after, const char *instance, uint64_t last_seq)
{
	uint64_t v = 12345;

	if (!request_cursor(after, instance, OURS, last_seq, &v)) {
		check(after && v == 12345);
		return;
	}
	check(v <= last_seq);
	if (!instance || strcmp(instance, OURS) != 0 || !after)
		check(v == 0);
}

static void fuzz_proof(const char *challenge, const char *signature)
{
	uint8_t c[RELAY_CHALLENGE_LEN], s[RELAY_SIGNATURE_LEN];
	char c_str[RELAY_CHALLENGE_STR_LEN], s_str[RELAY_SIGNATURE_STR_LEN];

	if (!request_proof(challenge, signature, c, s))
		return;
	relay_b64_encode(c_str, sizeof(c_str), c, sizeof(c));
	relay_b64_encode(s_str, sizeof(s_str), s, sizeof(s));
	check(strcmp(c_str, challenge) == 0 && strcmp(s_str, signature) == 0);
}

struct replay {
	size_t max_message;
	size_t frames;
};

static bool on_deliver(void *user, GBytes *frame, uint64_t seq)
{
	struct replay *r = user;
	gsize len;
	const uint8_t *data = g_bytes_get_data(frame, &len);
	const uint8_t *body;
	uint64_t fseq;
	size_t body_len;

	check(relay_frame_parse(data, len, r->max_message, &fseq, &body, &body_len) == (ssize_t)len);
	check(fseq == seq && body_len > 0);
	r->frames++;
	return true;
}

static void on_evicted(void *user)
{
}

static const struct mailbox_sub_ops replay_ops = { .deliver = on_deliver, .evicted = on_evicted };

/* Posts each entry as the server's batch_post() does, from one of a few
 * posters, then reads every mailbox back. */
static void store_batch(const uint8_t *data, size_t len, size_t n, size_t max_message)
{
	const struct mailbox_limits limits = {
		.max_message = max_message,
		.max_queue = 4,
		.max_mailboxes = 8,
		.max_subscribers = 2,
		/* At least one message, as `wice signal-server` requires. */
		.max_bytes = MAX(2048, max_message),
		.max_age = 10 * G_USEC_PER_SEC,
		.max_mailboxes_per_poster = 4,
		.max_bytes_per_poster = MAX(1024, max_message),
	};
	struct mailbox_store *store = mailbox_store_new(&limits);
	struct replay replay = { .max_message = max_message };
	size_t off = 0, posted = 0;

	for (size_t i = 0; i < n; i++) {
		const uint8_t *id, *body;
		uint8_t poster[MAILBOX_POSTER_LEN] = { 0 };
		size_t body_len;
		uint64_t seq;
		ssize_t k = relay_batch_parse(data + off, len - off, max_message, &id, &body, &body_len);
		int r;

		check(k > 0);
		off += k;
		poster[0] = id[0] & 3;
		r = mailbox_store_post(store, id, poster, body, body_len, NOW + (int64_t)i, &seq);
		check(r == 0 || r == -ENOSPC || r == -EDQUOT);
		posted += r == 0;
		check(mailbox_store_n_mailboxes(store) <= limits.max_mailboxes);
		check(mailbox_store_n_bytes(store) <= limits.max_bytes);
		check(mailbox_store_n_messages(store) <= posted);
	}
	check(off == len);
	off = 0;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *id, *body;
		size_t body_len;
		struct mailbox_sub *sub = NULL;

		off += relay_batch_parse(data + off, len - off, max_message, &id, &body, &body_len);
		if (mailbox_store_subscribe(store, id, 0, &replay_ops, &replay, NOW + 1, &sub) == 0)
			mailbox_store_unsubscribe(store, sub);
	}
	check(replay.frames <= n * limits.max_queue);
	check(mailbox_store_expire(store, NOW + limits.max_age + (int64_t)n + 1) == INT64_MAX);
	check(mailbox_store_n_messages(store) == 0 && mailbox_store_n_bytes(store) == 0 &&
	      mailbox_store_n_mailboxes(store) == 0 && mailbox_store_n_posters(store) == 0);
	mailbox_store_free(store);
}

static void fuzz_batch(const uint8_t *data, size_t len, size_t max_message)
{
	const char *reason = NULL;
	unsigned status = 0;
	size_t n = request_batch_check(data, len, max_message, &status, &reason);

	if (n == 0) {
		check(reason && (status == HTTP_BAD_REQUEST || status == HTTP_PAYLOAD_TOO_LARGE));
		return;
	}
	store_batch(data, len, n, max_message);
}

/* The next line, NUL-terminated in a copy of its own, or NULL when none
 * is left. */
static char *next_line(const uint8_t **data, size_t *size)
{
	const uint8_t *nl = memchr(*data, '\n', *size);
	size_t len;
	char *line;

	if (!nl)
		return NULL;
	len = (size_t)(nl - *data);
	line = malloc(len + 1);
	memcpy(line, *data, len);
	line[len] = '\0';
	*data += len + 1;
	*size -= len + 1;
	return line;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *after, *instance, *challenge, *signature;
	size_t max_message;
	int64_t length;
	uint64_t last_seq;
	uint8_t flags;

	if (size < HEAD_LEN)
		return 0;
	flags = data[0];
	max_message = (size_t)data[1] << 8 | data[2];
	length = (int64_t)data[3] << 24 | data[4] << 16 | data[5] << 8 | data[6];
	last_seq = data[7];
	data += HEAD_LEN;
	size -= HEAD_LEN;
	after = next_line(&data, &size);
	instance = next_line(&data, &size);
	challenge = next_line(&data, &size);
	signature = next_line(&data, &size);
	fuzz_body(flags, length, max_message);
	fuzz_cursor(after, instance, last_seq);
	fuzz_proof(challenge, signature);
	fuzz_batch(data, size, max_message);
	free(after);
	free(instance);
	free(challenge);
	free(signature);
	return 0;
}

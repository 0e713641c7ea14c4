/* Signaling through `wice signal-server` over HTTP(S), with libcurl driven
 * by the GLib main loop (curl-loop.h): no thread of ours and no blocking
 * call.
 *
 * Publishing POSTs each envelope to its mailbox from a capped queue; when
 * several wait, one POST /v1/batch carries them (a request costs the server
 * several times what a message does).  A failed post is retried after a
 * backoff, in order.  Each subscription fetches a challenge, signs it with
 * the mailbox's secret key and holds a GET stream of frames.  The stream is
 * resumed after a reconnect from the last sequence number seen, which only
 * means something to the server instance that issued it: a restarted server
 * (new instance id) starts counting again and sends everything it holds, so
 * nothing posted after the restart is lost, and within one instance nothing
 * is delivered twice.  docs/SIGNAL-SERVER.md describes the server side.
 *
 * libcurl must not be called from its own callbacks, and users of the
 * backend may call it from theirs: so curl callbacks only record, and
 * envelopes and state changes are handed up once curl has returned. */
#include "config.h"

#define G_LOG_DOMAIN "wice-signaling"

#include <errno.h>
#include <string.h>
#include "curl-dl.h"
#include <sodium.h>

#include "backend-impl.h"
#include "curl-loop.h"
#include "http-parse.h"
#include "post-queue.h"
#include "signaling/relay-proto.h"
#include "signaling/sig-envelope.h"
#include "util/backoff.h"
#include "util/source-util.h"

/* The queue's caps and timings are in post-queue.c. */
/* A batch stays within what every server takes (64 KiB). */
#define POST_BATCH_MAX 32
#define POST_BATCH_BYTES (64 * 1024)
#define BACKOFF_FIRST_MS 500
#define BACKOFF_CAP_MS 30000
#define CONNECT_TIMEOUT_MS 10000L
#define REQUEST_TIMEOUT_MS 20000L
/* The server sends a keepalive frame on a quiet stream every 25 s by
 * default: three missed ones mean the connection is dead. */
#define STREAM_IDLE_MS 75000
#define STREAM_KEEPALIVE_IDLE_S 10L
#define STREAM_KEEPALIVE_INTERVAL_S 5L
#define SMALL_BODY_MAX 256 /* a challenge, or the text of an error */
/* Frames that carry nothing (keepalives, repeats) a stream may bring per
 * window: the server sends one keepalive per 25 s by default (1 s at the
 * least).  A server (or anyone on the path of an http:// URL) that streams
 * them without end held a daemon at ~96 % of a core; past this budget the
 * stream is dropped and tried again only after the longest backoff. */
/* A stream the server ends before this counts as ended at once: the
 * next one waits longer (see stream_ended). */
#define STREAM_SHORT_US (10 * G_USEC_PER_SEC)
#define STREAM_EMPTY_FRAMES_MAX 64
#define STREAM_EMPTY_WINDOW_US (10 * G_USEC_PER_SEC)
#define BATCH_REPLY_MAX (POST_BATCH_MAX * 48) /* a line per envelope */
/* A reply other than a stream that goes on past this is no reply of a
 * signal server: the request is aborted rather than read to its end. */
#define REPLY_BYTES_MAX (64 * 1024)

enum req_kind { REQ_PROBE, REQ_POST, REQ_BATCH, REQ_CHALLENGE, REQ_STREAM };

struct http_backend;

struct http_req {
	struct http_backend *be;
	enum req_kind kind;
	CURL *easy;
	struct curl_slist *headers;
	GByteArray *body; /* small bodies; the unparsed rest of a stream */
	size_t received;  /* body bytes of a request other than a stream */
	long status;	  /* once the headers are in */
	char instance[RELAY_INSTANCE_STR_LEN];
	char errbuf[CURL_ERROR_SIZE];
	void *owner; /* struct http_sub, http_post or http_batch */
};

struct http_sub {
	struct http_backend *be;
	uint8_t id[RELAY_ID_LEN];
	char id_str[RELAY_ID_STR_LEN];
	uint8_t secret[RELAY_SECRET_KEY_LEN];
	char instance[RELAY_INSTANCE_STR_LEN]; /* of the server the cursor counts in */
	uint64_t cursor;		       /* the last sequence number seen */
	struct http_req *req;		       /* the challenge or the stream */
	bool streaming;
	bool failed; /* from a failed attempt until a stream is up again */
	char *error;
	struct backoff backoff;
	struct backoff ended_backoff; /* streams the server ended early, in a row */
	int64_t established_us;
	GSource *retry;
	GSource *idle;
	unsigned empty_frames; /* in the window that started at empty_since_us */
	int64_t empty_since_us;
	bool flooded; /* the stream went over STREAM_EMPTY_FRAMES_MAX */
};

struct http_post {
	struct post_queue_item item;
	uint8_t id[RELAY_ID_LEN];
	char id_str[RELAY_ID_STR_LEN];
	struct http_req *req; /* NULL while in a batch */
};

/* One POST /v1/batch in flight: its posts stay in be->posts.sending. */
struct http_batch {
	struct http_req *req;
	GPtrArray *posts; /* struct post_queue_item of http_post, in order */
	GByteArray *body;
	GList link;
};

struct http_backend {
	struct sig_backend base;
	char *base_url; /* without a trailing slash */
	struct curl_loop *loop;
	GSource *state_timer;
	GHashTable *subs;  /* id -> struct http_sub */
	struct post_queue posts; /* struct http_post */
	GQueue batches;		 /* struct http_batch */
	bool no_batch;		 /* the server has no /v1/batch: one by one */
	struct http_req *probe;
	GSource *probe_retry;
	struct backoff probe_backoff;
	bool settled;  /* some request has finished: there is a state to tell */
	bool answered; /* the server answered the last request that finished */
	char *error;   /* why not */
	char *reason;  /* what state_changed was told last */
	GQueue inbox;  /* GBytes: envelopes to hand up once curl returned */
};

static struct http_backend *http(struct sig_backend *b)
{
	return (struct http_backend *)b;
}

static void sub_start(struct http_sub *sub);
static void post_kick(struct http_backend *be);
static void probe_start(struct http_backend *be);

/* --- the state told to the user ---------------------------------------------- */

static void set_answered(struct http_backend *be, bool answered, char *error)
{
	be->settled = true;
	be->answered = answered;
	g_free(be->error);
	be->error = error;
}

/* Reachability, and in particular every subscription: a peer whose mailbox
 * we cannot read cannot reach us. */
static void update_state(struct http_backend *be)
{
	GHashTableIter it;
	gpointer value;

	if (!be->settled)
		return;
	g_free(be->reason);
	be->reason = NULL;
	if (!be->answered)
		be->reason = g_strdup(be->error);
	g_hash_table_iter_init(&it, be->subs);
	while (!be->reason && g_hash_table_iter_next(&it, NULL, &value)) {
		struct http_sub *sub = value;

		if (sub->failed)
			be->reason = g_strdup_printf("mailbox %.8s...: %s", sub->id_str, sub->error);
	}
	sig_backend_set_state(&be->base, !be->reason, be->reason);
}

static gboolean on_state_timer(gpointer data)
{
	update_state(data);
	return G_SOURCE_CONTINUE;
}

static void deliver_inbox(struct http_backend *be)
{
	GBytes *env;

	while ((env = g_queue_pop_head(&be->inbox))) {
		gsize len;
		const uint8_t *data = g_bytes_get_data(env, &len);

		sig_backend_deliver(&be->base, data, len, NULL);
		g_bytes_unref(env);
	}
}

/* --- requests ---------------------------------------------------------------- */

static void req_free(struct http_req *req)
{
	if (!req)
		return;
	curl_loop_remove(req->be->loop, req->easy);
	curl_easy_cleanup(req->easy);
	curl_slist_free_all(req->headers);
	g_byte_array_unref(req->body);
	g_free(req);
}

/* What went wrong, for people: curl's words, or the server's status and
 * the first line of its answer. */
static char *req_error(struct http_req *req, CURLcode result)
{
	g_autofree char *text = NULL;

	if (req->status == 0 || (result != CURLE_OK && req->status == 200))
		return g_strdup(req->errbuf[0] ? req->errbuf : curl_easy_strerror(result));
	text = g_strndup((const char *)req->body->data, req->body->len);
	text[strcspn(text, "\r\n")] = '\0';
	g_strcanon(text, G_CSET_a_2_z G_CSET_A_2_Z G_CSET_DIGITS " .,:;-_/()'", '?');
	return g_strdup_printf("HTTP %ld%s%s", req->status, *text ? " " : "", text);
}

/* A transport failure or a 5xx (a proxy in front of a dead server) means
 * the server is not there; any other answer means it is. */
static void req_note_answer(struct http_req *req, CURLcode result)
{
	bool answered = req->status != 0 && req->status < 500;

	if (answered && result != CURLE_OK && req->status == 200)
		answered = false; /* cut off mid-stream */
	set_answered(req->be, answered, answered ? NULL : req_error(req, result));
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata);
static size_t on_header(char *data, size_t size, size_t n, void *userdata);

/* A stream mostly carries data from the server, and a NAT router that
 * forgets its mapping (reboot, conntrack flush, timeout) then drops those
 * packets as new inbound ones: the stream dies silently.  TCP keepalives
 * after 10 s of silence are outbound packets that put the mapping back (or
 * draw a reset, and so a reconnect) long before the 75 s stream timeout. */
static void set_stream_keepalive(CURL *e)
{
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, STREAM_KEEPALIVE_IDLE_S);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, STREAM_KEEPALIVE_INTERVAL_S);
}

static struct http_req *req_new(struct http_backend *be, enum req_kind kind, void *owner, const char *url)
{
	struct http_req *req = g_new0(struct http_req, 1);
	CURL *e = curl_easy_init();

	if (!e) /* like g_malloc() */
		g_error("libcurl: cannot allocate a transfer");
	req->be = be;
	req->kind = kind;
	req->owner = owner;
	req->easy = e;
	req->body = g_byte_array_new();
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, req);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(e, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, req->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, req);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, req);
	/* A server that did not answer may have moved: look its name up
	 * again instead of taking libcurl's cached address (kept 60 s). */
	if (be->settled && !be->answered)
		curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
	if (kind != REQ_STREAM)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS);
	else
		set_stream_keepalive(e);
	return req;
}

static void req_add_header(struct http_req *req, const char *name, const char *value)
{
	g_autofree char *line = g_strdup_printf("%s: %s", name, value);

	req->headers = curl_slist_append(req->headers, line);
}

static void req_send(struct http_req *req)
{
	if (req->headers)
		curl_easy_setopt(req->easy, CURLOPT_HTTPHEADER, req->headers);
	curl_loop_add(req->be->loop, req->easy);
}

/* --- subscription streams ---------------------------------------------------- */

/* A new server instance counts from 1 again and replays what it holds.
 * Without an instance id we cannot tell a restart apart, so trust the
 * server to replay and let the envelope's replay check drop repeats. */
static void stream_established(struct http_sub *sub, const char *instance)
{
	if (!*instance || strcmp(instance, sub->instance) != 0) {
		g_strlcpy(sub->instance, instance, sizeof(sub->instance));
		sub->cursor = 0;
	}
	sub->streaming = true;
	sub->failed = false;
	sub->established_us = g_get_monotonic_time();
	backoff_reset(&sub->backoff);
	set_answered(sub->be, true, NULL);
}

static bool within_empty_budget(struct http_sub *sub)
{
	int64_t now = g_get_monotonic_time();

	if (now - sub->empty_since_us > STREAM_EMPTY_WINDOW_US) {
		sub->empty_since_us = now;
		sub->empty_frames = 0;
	}
	sub->flooded = ++sub->empty_frames > STREAM_EMPTY_FRAMES_MAX;
	return !sub->flooded;
}

/* Parses the complete frames at the start of the buffer.  Returns false
 * for a broken stream. */
static bool stream_parse(struct http_sub *sub, GByteArray *buf)
{
	size_t used = 0;

	for (;;) {
		struct http_frame frame;
		ssize_t n = http_stream_frame(buf->data + used, buf->len - used, &sub->cursor, &frame);

		if (n < 0)
			return false;
		if (n == 0)
			break;
		used += n;
		if (frame.empty && !within_empty_budget(sub))
			return false;
		if (frame.env)
			g_queue_push_tail(&sub->be->inbox, g_bytes_new(frame.env, frame.env_len));
	}
	g_byte_array_remove_range(buf, 0, used);
	return true;
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
	struct http_req *req = userdata;
	size_t len = size * n;

	if (req->kind != REQ_STREAM || req->status != 200) {
		size_t cap = req->kind == REQ_BATCH ? BATCH_REPLY_MAX : SMALL_BODY_MAX;

		g_byte_array_append(req->body, (const guint8 *)data, MIN(len, cap - MIN(req->body->len, cap)));
		req->received += len;
		return req->received <= REPLY_BYTES_MAX ? len : 0;
	}
	source_timer_arm(((struct http_sub *)req->owner)->idle, STREAM_IDLE_MS);
	g_byte_array_append(req->body, (const guint8 *)data, len);
	return stream_parse(req->owner, req->body) ? len : 0;
}

/* Only the instance id is wanted from the headers; the status comes from
 * curl once all of them are in. */
static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
	struct http_req *req = userdata;
	size_t len = size * n;

	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		req->instance[0] = '\0'; /* a new response (after a 1xx) */
	} else if (len <= 2 && (data[0] == '\r' || data[0] == '\n')) {
		curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &req->status);
		if (req->kind == REQ_STREAM && req->status == 200)
			stream_established(req->owner, req->instance);
	} else {
		http_header_value(req->instance, sizeof(req->instance), data, len, RELAY_HEADER_INSTANCE);
	}
	return len;
}

static void sub_fail(struct http_sub *sub, char *error)
{
	unsigned delay = backoff_next_ms(&sub->backoff, BACKOFF_FIRST_MS, BACKOFF_CAP_MS);

	if (sub->flooded) {
		sub->flooded = false;
		delay = BACKOFF_CAP_MS;
	}
	g_debug("http: mailbox %.8s...: %s; again in %u ms", sub->id_str, error, delay);
	g_free(sub->error);
	sub->error = error;
	sub->failed = true;
	sub->streaming = false;
	source_timer_disarm(sub->idle);
	source_timer_arm(sub->retry, delay);
}

/* The server ended a stream cleanly: it keeps a few readers per mailbox
 * and ends the oldest when another comes (a mesh's rendezvous mailbox has
 * many readers), or it is going away.  It answered, so this is no failure
 * to report: the backend stays up and nothing waits for it.  We come back
 * for what the mailbox gets later (the cursor keeps our place), slower
 * each time we are ended early, so that readers of one mailbox do not
 * take turns ending each other. */
static void stream_ended(struct http_sub *sub)
{
	unsigned delay;

	if (g_get_monotonic_time() - sub->established_us >= STREAM_SHORT_US)
		backoff_reset(&sub->ended_backoff);
	delay = backoff_next_ms(&sub->ended_backoff, BACKOFF_FIRST_MS, BACKOFF_CAP_MS);
	g_info("http: mailbox %.8s...: stream ended by the server; again in %u ms", sub->id_str, delay);
	sub->streaming = false;
	source_timer_disarm(sub->idle);
	source_timer_arm(sub->retry, delay);
}

static void stream_start(struct http_sub *sub, const uint8_t challenge[RELAY_CHALLENGE_LEN])
{
	struct http_backend *be = sub->be;
	uint8_t sig[RELAY_SIGNATURE_LEN];
	char sig_str[RELAY_SIGNATURE_STR_LEN], challenge_str[RELAY_CHALLENGE_STR_LEN];
	g_autofree char *url = NULL;

	url = g_strdup_printf("%s/v1/mailboxes/%s?after=%" G_GUINT64_FORMAT "%s%s", be->base_url, sub->id_str,
			      sub->cursor, *sub->instance ? "&instance=" : "", sub->instance);
	relay_proof_sign(sig, sub->id, challenge, sub->secret);
	relay_b64_encode(sig_str, sizeof(sig_str), sig, sizeof(sig));
	relay_b64_encode(challenge_str, sizeof(challenge_str), challenge, RELAY_CHALLENGE_LEN);
	sub->req = req_new(be, REQ_STREAM, sub, url);
	req_add_header(sub->req, RELAY_HEADER_CHALLENGE, challenge_str);
	req_add_header(sub->req, RELAY_HEADER_SIGNATURE, sig_str);
	source_timer_arm(sub->idle, STREAM_IDLE_MS);
	req_send(sub->req);
}

static void challenge_done(struct http_sub *sub, struct http_req *req, CURLcode result)
{
	uint8_t challenge[RELAY_CHALLENGE_LEN];
	g_autofree char *error = NULL;

	req_note_answer(req, result);
	if (result == CURLE_OK && req->status == 200 &&
	    http_challenge_parse((const char *)req->body->data, req->body->len, challenge)) {
		stream_start(sub, challenge);
		return;
	}
	if (result == CURLE_OK && req->status == 200)
		error = g_strdup("server sent a malformed challenge");
	else
		error = req_error(req, result);
	sub_fail(sub, g_strdup_printf("challenge: %s", error));
}

static void stream_done(struct http_sub *sub, struct http_req *req, CURLcode result)
{
	g_autofree char *error = NULL;

	req_note_answer(req, result);
	if (sub->flooded) {
		g_message("http: %s floods a stream with empty frames; trying again in %d s", sub->be->base_url,
			  BACKOFF_CAP_MS / 1000);
		sub_fail(sub, g_strdup("stream ended: flooded with empty frames"));
		return;
	}
	if (sub->streaming && result == CURLE_OK) {
		stream_ended(sub);
		return;
	}
	error = req_error(req, result);
	sub_fail(sub, g_strdup_printf("%s: %s", sub->streaming ? "stream ended" : "subscribe", error));
}

static gboolean on_sub_retry(gpointer data)
{
	sub_start(data);
	update_state(((struct http_sub *)data)->be);
	return G_SOURCE_CONTINUE;
}

/* A dead connection without a FIN or RST (a NAT forgot us, a cable was
 * pulled) shows as silence: the server would have sent keepalives. */
static gboolean on_sub_idle(gpointer data)
{
	struct http_sub *sub = data;

	if (!sub->req)
		return G_SOURCE_CONTINUE;
	req_free(g_steal_pointer(&sub->req));
	sub_fail(sub, g_strdup_printf("stream silent for %d s", STREAM_IDLE_MS / 1000));
	update_state(sub->be);
	return G_SOURCE_CONTINUE;
}

static void sub_start(struct http_sub *sub)
{
	g_autofree char *url = g_strdup_printf("%s/v1/challenge", sub->be->base_url);

	req_free(g_steal_pointer(&sub->req));
	sub->streaming = false;
	sub->req = req_new(sub->be, REQ_CHALLENGE, sub, url);
	req_send(sub->req);
}

static void sub_free(gpointer data)
{
	struct http_sub *sub = data;

	req_free(sub->req);
	source_free(sub->retry);
	source_free(sub->idle);
	sodium_memzero(sub->secret, sizeof(sub->secret));
	g_free(sub->error);
	g_free(sub);
}

static guint id_hash(gconstpointer key)
{
	guint h;

	/* Ids are public keys: their bytes are already uniform. */
	memcpy(&h, key, sizeof(h));
	return h;
}

static gboolean id_equal(gconstpointer a, gconstpointer b)
{
	return memcmp(a, b, RELAY_ID_LEN) == 0;
}

static int http_subscribe(struct sig_backend *b, const struct sig_subscription *s)
{
	struct http_backend *be = http(b);
	struct http_sub *sub = g_hash_table_lookup(be->subs, s->id);

	if (sub) {
		memcpy(sub->secret, s->secret, sizeof(sub->secret));
		return 0;
	}
	sub = g_new0(struct http_sub, 1);
	sub->be = be;
	memcpy(sub->id, s->id, RELAY_ID_LEN);
	memcpy(sub->secret, s->secret, sizeof(sub->secret));
	relay_b64_encode(sub->id_str, sizeof(sub->id_str), sub->id, RELAY_ID_LEN);
	sub->retry = source_timer_new(b->context, on_sub_retry, sub);
	sub->idle = source_timer_new(b->context, on_sub_idle, sub);
	g_hash_table_insert(be->subs, sub->id, sub);
	sub_start(sub);
	return 0;
}

static void http_unsubscribe(struct sig_backend *b, const uint8_t id[RELAY_ID_LEN])
{
	struct http_backend *be = http(b);

	/* A failed subscription may have held the backend down; tell the user
	 * from the loop, not from inside this call. */
	if (g_hash_table_remove(be->subs, id))
		source_timer_arm(be->state_timer, 0);
}

/* --- posting ----------------------------------------------------------------- */

static struct http_post *http_post(struct post_queue_item *item)
{
	return POST_QUEUE_POST(item, struct http_post);
}

static void post_free(struct post_queue_item *item)
{
	struct http_post *post = http_post(item);

	req_free(post->req);
	g_free(post);
}

static void post_start(struct http_backend *be)
{
	struct http_post *post = http_post(post_queue_take_one(&be->posts));
	g_autofree char *url = g_strdup_printf("%s/v1/mailboxes/%s", be->base_url, post->id_str);
	gsize len;
	const void *data = g_bytes_get_data(post->item.data, &len);

	post->req = req_new(be, REQ_POST, post, url);
	curl_easy_setopt(post->req->easy, CURLOPT_POSTFIELDS, data);
	curl_easy_setopt(post->req->easy, CURLOPT_POSTFIELDSIZE, (long)len);
	req_add_header(post->req, "Content-Type", "application/octet-stream");
	/* No "Expect: 100-continue" round trip for a body this small. */
	post->req->headers = curl_slist_append(post->req->headers, "Expect:");
	req_send(post->req);
}

static void batch_free(struct http_batch *batch)
{
	g_ptr_array_unref(batch->posts);
	g_byte_array_unref(batch->body);
	g_free(batch);
}

/* The oldest waiting posts, as many as one batch holds. */
static void batch_fill(struct http_backend *be, struct http_batch *batch)
{
	batch->posts = post_queue_take_batch(&be->posts, POST_BATCH_MAX, POST_BATCH_BYTES, RELAY_BATCH_HEADER_LEN);
	for (guint i = 0; i < batch->posts->len; i++) {
		struct http_post *post = http_post(g_ptr_array_index(batch->posts, i));
		gsize len;
		const guint8 *data = g_bytes_get_data(post->item.data, &len);
		uint8_t head[RELAY_BATCH_HEADER_LEN];

		relay_batch_header(head, post->id, len);
		g_byte_array_append(batch->body, head, sizeof(head));
		g_byte_array_append(batch->body, data, len);
	}
}

static void batch_start(struct http_backend *be)
{
	g_autofree char *url = g_strdup_printf("%s/v1/batch", be->base_url);
	struct http_batch *batch = g_new0(struct http_batch, 1);

	batch->body = g_byte_array_new();
	batch->link.data = batch;
	batch_fill(be, batch);
	g_debug("http: %u messages in one batch", batch->posts->len);
	g_queue_push_tail_link(&be->batches, &batch->link);
	batch->req = req_new(be, REQ_BATCH, batch, url);
	curl_easy_setopt(batch->req->easy, CURLOPT_POSTFIELDS, batch->body->data);
	curl_easy_setopt(batch->req->easy, CURLOPT_POSTFIELDSIZE, (long)batch->body->len);
	req_add_header(batch->req, "Content-Type", RELAY_BATCH_CONTENT_TYPE);
	batch->req->headers = curl_slist_append(batch->req->headers, "Expect:");
	req_send(batch->req);
}

static void post_kick(struct http_backend *be)
{
	if (!post_queue_ready(&be->posts))
		return;
	while (post_queue_can_start(&be->posts)) {
		if (be->posts.waiting.length > 1 && !be->no_batch)
			batch_start(be);
		else
			post_start(be);
	}
}

/* A refusal (4xx) will not change on retry; anything else may. */
static bool post_retriable(long status)
{
	return status == 0 || status == 408 || status == 429 || status >= 500;
}

/* What the server said about one post (status 0: no answer): done,
 * refused for good, or queued again after a backoff. */
static void post_settle(struct http_backend *be, struct http_post *post, long status, const char *error)
{
	post->req = NULL;
	if (status >= 200 && status < 300) {
		post_queue_succeeded(&be->posts);
		post_queue_sent(&be->posts, &post->item);
	} else if (!post_retriable(status)) {
		g_warning("%s: the server refused a message: %s", be->base.url, error);
		post_queue_sent(&be->posts, &post->item);
	} else {
		post_queue_requeue(&be->posts, &post->item);
		post_queue_back_off(&be->posts);
	}
}

static void post_done(struct http_backend *be, struct http_post *post, struct http_req *req, CURLcode result)
{
	long status = result == CURLE_OK ? req->status : 0;
	g_autofree char *error = status >= 200 && status < 300 ? NULL : req_error(req, result);

	post_queue_request_done(&be->posts);
	req_note_answer(req, result);
	post_settle(be, post, status, error);
}

/* Each post gets the line of the answer in its place: "202 SEQ" or
 * "STATUS REASON"; a missing line counts as no answer. */
static void batch_settle(struct http_backend *be, struct http_batch *batch, const GByteArray *answer)
{
	g_autofree char *text = g_strndup((const char *)answer->data, answer->len);
	g_auto(GStrv) lines = g_strsplit(text, "\n", POST_BATCH_MAX + 1);
	bool more = true;

	for (guint i = 0; i < batch->posts->len; i++) {
		const char *line = more && lines[i] ? lines[i] : "";
		g_autofree char *error = g_strdup_printf("HTTP %s", line);

		more = *line != '\0';
		post_settle(be, http_post(g_ptr_array_index(batch->posts, i)), g_ascii_strtoll(line, NULL, 10), error);
	}
}

static void batch_done(struct http_backend *be, struct http_batch *batch, struct http_req *req, CURLcode result)
{
	post_queue_request_done(&be->posts);
	g_queue_unlink(&be->batches, &batch->link);
	req_note_answer(req, result);
	if (result == CURLE_OK && req->status >= 400 && !post_retriable(req->status)) {
		/* An older server (404, or 413 for a body over its message
		 * cap), or a proxy that passes only the paths it knows: one post
		 * per request from now on, which gets each its own verdict. */
		if (!be->no_batch)
			g_message("%s: the server takes no batches; posting one by one", be->base.url);
		be->no_batch = true;
		for (guint i = 0; i < batch->posts->len; i++)
			post_queue_requeue(&be->posts, g_ptr_array_index(batch->posts, i));
	} else if (result == CURLE_OK && req->status == 200) {
		batch_settle(be, batch, req->body);
	} else {
		g_autofree char *error = req_error(req, result);

		for (guint i = 0; i < batch->posts->len; i++)
			post_settle(be, http_post(g_ptr_array_index(batch->posts, i)),
				    result == CURLE_OK ? req->status : 0, error);
	}
	batch_free(batch);
}

static void on_post_kick(void *data)
{
	post_kick(data);
}

static const struct post_queue_ops post_ops = { on_post_kick, post_free };

/* The relay is the only way: routes are never ours. */
static int http_publish(struct sig_backend *b, const uint8_t id[RELAY_ID_LEN], const uint8_t *data,
			size_t len, const struct sig_route *via)
{
	struct http_backend *be = http(b);
	struct http_post *post;

	if (post_queue_refuse(&be->posts, sig_backend_url(b)))
		return -ENOBUFS;
	post = g_new0(struct http_post, 1);
	memcpy(post->id, id, RELAY_ID_LEN);
	relay_b64_encode(post->id_str, sizeof(post->id_str), id, RELAY_ID_LEN);
	post->item.data = g_bytes_new(data, len);
	/* Not at once: what the caller publishes before returning to the
	 * loop (offers to many peers, a burst of candidates) goes in one
	 * batch. */
	post_queue_push(&be->posts, &post->item);
	return 0;
}

/* --- reachability before there is anything to do ------------------------------ */

static void probe_done(struct http_backend *be, struct http_req *req, CURLcode result)
{
	be->probe = NULL;
	req_note_answer(req, result);
	if (!be->answered)
		source_timer_arm(be->probe_retry,
				 backoff_next_ms(&be->probe_backoff, BACKOFF_FIRST_MS, BACKOFF_CAP_MS));
}

static void probe_start(struct http_backend *be)
{
	g_autofree char *url = g_strdup_printf("%s/v1/challenge", be->base_url);

	be->probe = req_new(be, REQ_PROBE, NULL, url);
	req_send(be->probe);
}

/* Only while nothing else tells whether the server is there. */
static gboolean on_probe_retry(gpointer data)
{
	struct http_backend *be = data;

	if (!be->answered && g_hash_table_size(be->subs) == 0 && be->posts.sending.length == 0)
		probe_start(be);
	return G_SOURCE_CONTINUE;
}

/* --- the curl multi handle in the main loop ------------------------------------ */

static void req_done(struct http_req *req, CURLcode result)
{
	struct http_backend *be = req->be;

	switch (req->kind) {
	case REQ_PROBE:
		probe_done(be, req, result);
		break;
	case REQ_POST:
		post_done(be, req->owner, req, result);
		break;
	case REQ_BATCH:
		batch_done(be, req->owner, req, result);
		break;
	case REQ_CHALLENGE:
		((struct http_sub *)req->owner)->req = NULL;
		challenge_done(req->owner, req, result);
		break;
	case REQ_STREAM:
		((struct http_sub *)req->owner)->req = NULL;
		stream_done(req->owner, req, result);
		break;
	}
	req_free(req);
}

static void on_curl_done(CURL *easy, CURLcode result, void *userdata)
{
	struct http_req *req = NULL;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&req);
	req_done(req, result);
}

/* Runs after every call into curl, once finished transfers are told:
 * what the user should hear. */
static void after_curl(void *userdata)
{
	struct http_backend *be = userdata;

	/* The server is back: posts waiting out a backoff go now. */
	if (be->answered && be->posts.sending.length == 0)
		post_queue_resume(&be->posts);
	post_kick(be);
	deliver_inbox(be);
	update_state(be);
}

/* --- life cycle -------------------------------------------------------------- */

static bool parse_url(struct http_backend *be, GUri *uri, const char *url, GError **error)
{
	const char *host = g_uri_get_host(uri);
	const char *why = NULL;

	if (!host || !*host)
		why = "no host";
	else if (g_uri_get_port(uri) == 0)
		why = "bad port '0'";
	else if (g_uri_get_userinfo(uri))
		why = "credentials in the URL are not supported";
	else if (g_uri_get_query(uri) || g_uri_get_fragment(uri))
		why = "no query or fragment expected";
	if (why) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "bad signaling URL '%s': %s", url, why);
		return false;
	}
	/* A path is a prefix (a server behind a reverse proxy). */
	be->base_url = g_strdup(url);
	while (g_str_has_suffix(be->base_url, "/"))
		be->base_url[strlen(be->base_url) - 1] = '\0';
	return true;
}

static void http_fini(struct sig_backend *b)
{
	struct http_backend *be = http(b);
	GBytes *env;
	GList *l;

	/* Transfers first: removing them makes curl drop its socket watches. */
	if (be->subs)
		g_hash_table_destroy(be->subs);
	while ((l = g_queue_pop_head_link(&be->batches))) {
		req_free(((struct http_batch *)l->data)->req);
		batch_free(l->data);
	}
	post_queue_fini(&be->posts);
	if (be->probe)
		req_free(be->probe);
	curl_loop_free(be->loop);
	source_free(be->state_timer);
	source_free(be->probe_retry);
	while ((env = g_queue_pop_head(&be->inbox)))
		g_bytes_unref(env);
	g_free(be->base_url);
	g_free(be->error);
	g_free(be->reason);
}

static bool http_init(struct sig_backend *b, GUri *uri, GError **error)
{
	struct http_backend *be = http(b);

	struct curl_loop_callbacks loop_cb = { on_curl_done, after_curl, be };

	if (!parse_url(be, uri, b->url, error) || !curl_loop_global_init(error)) {
		g_free(be->base_url);
		return false;
	}
	be->loop = curl_loop_new(b->context, &loop_cb);
	be->state_timer = source_timer_new(b->context, on_state_timer, be);
	post_queue_init(&be->posts, b->context, &post_ops, be);
	be->probe_retry = source_timer_new(b->context, on_probe_retry, be);
	be->subs = g_hash_table_new_full(id_hash, id_equal, NULL, sub_free);
	g_queue_init(&be->batches);
	g_queue_init(&be->inbox);
	probe_start(be);
	return true;
}

const struct sig_backend_ops sig_backend_http_ops = {
	.size = sizeof(struct http_backend),
	.init = http_init,
	.fini = http_fini,
	.publish = http_publish,
	.subscribe = http_subscribe,
	.unsubscribe = http_unsubscribe,
};

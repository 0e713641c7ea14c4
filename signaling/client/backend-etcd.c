/* Signaling through an etcd cluster, for fleets that already run one and
 * would rather not run a signal server beside it.  The daemon speaks etcd's
 * v3 JSON gateway (POST /v3/kv/txn, /v3/kv/range, /v3/watch,
 * /v3/lease/grant) with libcurl on the GLib main loop (curl-loop.h), so no
 * gRPC stack; what it reads is parsed by etcd-parse.c.
 *
 * An envelope to mailbox ID is the value of a key PREFIX/m/ID/RANDOM of its
 * own, attached to a lease: etcd deletes it when the lease runs out, which
 * does what the signal server's max-age does.  One lease takes the
 * messages of LEASE_USE_S and lives LEASE_TTL_S, so every message stays
 * between 120 and 150 s and no lease needs keeping alive.  What waits is
 * put in one transaction (a request costs etcd far more than a key).
 *
 * Each subscription reads its mailbox's keys with a range request, then
 * holds a watch from the revision after the last one it saw.  Revisions
 * are the cluster's, not a member's: after a reconnect, or a failover to
 * another member when one dies, the watch resumes where it stopped, so
 * nothing is lost and nothing comes twice.  Should that revision have been
 * compacted away, a range from it fills the gap.  Endpoints are tried in
 * turn, from a random one so that a fleet spreads over the members.
 *
 * libcurl must not be called from its own callbacks, and users of the
 * backend may call it from theirs: curl callbacks only record, and
 * envelopes and state changes are handed up once curl has returned. */
#include "config.h"

#define G_LOG_DOMAIN "wice-signaling"

#include <errno.h>
#include <string.h>
#include "curl-dl.h"
#include <sodium.h>

#include "backend-impl.h"
#include "curl-loop.h"
#include "etcd-parse.h"
#include "post-queue.h"
#include "signaling/relay-proto.h"
#include "signaling/sig-envelope.h"
#include "util/backoff.h"
#include "util/source-util.h"

/* The queue's caps and timings are those of the HTTP backend
 * (post-queue.c). */
#define TXN_OPS_MAX 32 /* etcd takes 128 by default (--max-txn-ops) */
#define TXN_BYTES_MAX (64 * 1024)
#define LEASE_TTL_S 150
#define LEASE_USE_S 30
#define RANGE_LIMIT 256 /* more than one transaction's puts to one mailbox */
#define BACKOFF_FIRST_MS 500
#define BACKOFF_CAP_MS 30000
#define CONNECT_TIMEOUT_MS 10000L
#define REQUEST_TIMEOUT_MS 20000L
/* etcd says nothing on a quiet watch: TCP keepalives find a dead member
 * (and keep a NAT mapping) where the HTTP backend has keepalive frames. */
#define STREAM_KEEPALIVE_IDLE_S 10L
#define STREAM_KEEPALIVE_INTERVAL_S 5L
/* Watch messages that bring nothing (a repeat, a delete, a key outside the
 * mailbox) a stream may bring per window before it is dropped and tried
 * again only after the longest backoff. */
#define STREAM_EMPTY_MAX 64
#define STREAM_EMPTY_WINDOW_US (10 * G_USEC_PER_SEC)
#define REPLY_BYTES_MAX (64 * 1024)
#define RANGE_REPLY_MAX (1024 * 1024) /* RANGE_LIMIT envelopes in JSON */
#define ERROR_TEXT_MAX 256
#define ENDPOINTS_MAX 16
#define DEFAULT_PORT 2379
#define DEFAULT_PREFIX "wice"
#define KEY_NONCE_LEN 12

enum req_kind { REQ_PROBE, REQ_LEASE, REQ_TXN, REQ_RANGE, REQ_WATCH };

struct etcd_backend;

struct etcd_req {
	struct etcd_backend *be;
	enum req_kind kind;
	unsigned endpoint; /* index into be->endpoints */
	CURL *easy;
	struct curl_slist *headers;
	char *request; /* the JSON posted */
	GByteArray *body; /* the reply; the unparsed rest of a watch */
	size_t scanned;	  /* bytes of body known to hold no line end */
	size_t received;
	long status; /* once the headers are in */
	char errbuf[CURL_ERROR_SIZE];
	void *owner; /* struct etcd_sub or etcd_txn */
};

struct etcd_sub {
	struct etcd_backend *be;
	uint8_t id[RELAY_ID_LEN];
	char id_str[RELAY_ID_STR_LEN];
	char *key;	   /* PREFIX/m/ID/ */
	int64_t cursor;	   /* every revision up to this one is read */
	bool need_range;   /* the keys already there are still to read */
	struct etcd_req *req; /* the range or the watch */
	bool watching;
	bool failed; /* from a failed attempt until a watch is up again */
	bool flooded;
	char *error;	    /* why it failed last */
	char *stream_error; /* why the watch was ended from our side */
	struct backoff backoff;
	GSource *retry;
	unsigned empty; /* in the window that started at empty_since_us */
	int64_t empty_since_us;
};

struct etcd_post {
	struct post_queue_item item;
	char *key; /* PREFIX/m/ID/NONCE, the same for every attempt */
};

/* One transaction in flight: its posts stay in be->posts.sending. */
struct etcd_txn {
	struct etcd_req *req;
	GPtrArray *posts; /* struct post_queue_item of etcd_post, in order */
	GList link;
};

struct etcd_backend {
	struct sig_backend base;
	char **endpoints; /* "http://HOST:PORT", NULL-terminated */
	unsigned n_endpoints;
	unsigned current; /* where new requests go */
	char *prefix;	  /* "PREFIX/" */
	struct curl_loop *loop;
	GSource *state_timer;
	GHashTable *subs; /* id -> struct etcd_sub */
	struct post_queue posts; /* struct etcd_post */
	GQueue txns;
	bool posts_unanswered; /* posts wait out a backoff for want of an answer */
	int64_t lease;	     /* 0: none */
	int64_t lease_until; /* monotonic: new puts take another after this */
	struct etcd_req *lease_req;
	struct etcd_req *probe;
	GSource *probe_retry;
	struct backoff probe_backoff;
	bool settled;  /* some request has finished */
	bool answered; /* etcd answered the last request that finished */
	char *error;
	char *reason;
	GQueue inbox; /* GBytes: envelopes to hand up once curl returned */
};

static struct etcd_backend *etcd(struct sig_backend *b)
{
	return (struct etcd_backend *)b;
}

static void sub_start(struct etcd_sub *sub);
static void post_kick(struct etcd_backend *be);

/* --- the state told to the user ---------------------------------------------- */

static void set_answered(struct etcd_backend *be, bool answered, char *error)
{
	be->settled = true;
	be->answered = answered;
	g_free(be->error);
	be->error = error;
}

static void update_state(struct etcd_backend *be)
{
	GHashTableIter it;
	gpointer value;

	if (!be->settled)
		return;
	g_clear_pointer(&be->reason, g_free);
	if (!be->answered)
		be->reason = g_strdup(be->error);
	g_hash_table_iter_init(&it, be->subs);
	while (!be->reason && g_hash_table_iter_next(&it, NULL, &value)) {
		struct etcd_sub *sub = value;

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

static void deliver_inbox(struct etcd_backend *be)
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

static void req_free(struct etcd_req *req)
{
	if (!req)
		return;
	curl_loop_remove(req->be->loop, req->easy);
	curl_easy_cleanup(req->easy);
	curl_slist_free_all(req->headers);
	g_byte_array_unref(req->body);
	g_free(req->request);
	g_free(req);
}

/* A member that does not answer, or answers 5xx (no leader, shutting
 * down), is left for the next one. */
static void endpoint_failed(struct etcd_backend *be, unsigned endpoint)
{
	if (be->n_endpoints < 2 || endpoint != be->current)
		return;
	be->current = (be->current + 1) % be->n_endpoints;
	g_debug("etcd: %s failed; now %s", be->endpoints[endpoint], be->endpoints[be->current]);
}

/* What went wrong, for people: curl's words, or etcd's status and the
 * start of its answer, made printable. */
static char *req_error(struct etcd_req *req, CURLcode result)
{
	g_autofree char *text = NULL;

	if (req->status == 0 || (result != CURLE_OK && req->status == 200))
		return g_strdup_printf("%s: %s", req->be->endpoints[req->endpoint],
				       req->errbuf[0] ? req->errbuf : curl_easy_strerror(result));
	text = g_strndup((const char *)req->body->data, MIN(req->body->len, ERROR_TEXT_MAX));
	text[strcspn(text, "\r\n")] = '\0';
	g_strcanon(text, G_CSET_a_2_z G_CSET_A_2_Z G_CSET_DIGITS " .,:;-_/()'\"{}", '?');
	return g_strdup_printf("%s: HTTP %ld %s", req->be->endpoints[req->endpoint], req->status, text);
}

/* Records whether the member answered, and moves on from one that did not. */
static bool req_note_answer(struct etcd_req *req, CURLcode result)
{
	bool answered = req->status != 0 && req->status < 500 && (result == CURLE_OK || req->status != 200);

	set_answered(req->be, answered, answered ? NULL : req_error(req, result));
	if (!answered)
		endpoint_failed(req->be, req->endpoint);
	return answered;
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata);
static size_t on_header(char *data, size_t size, size_t n, void *userdata);

static void req_tls(struct etcd_backend *be, CURL *e)
{
	const struct sig_backend_options *o = &be->base.options;

	if (o->tls_ca)
		curl_easy_setopt(e, CURLOPT_CAINFO, o->tls_ca);
	if (o->tls_cert)
		curl_easy_setopt(e, CURLOPT_SSLCERT, o->tls_cert);
	if (o->tls_key)
		curl_easy_setopt(e, CURLOPT_SSLKEY, o->tls_key);
}

/* A POST of @request (JSON) to @path on the current endpoint. */
static struct etcd_req *req_new(struct etcd_backend *be, enum req_kind kind, void *owner, const char *path,
				char *request)
{
	struct etcd_req *req = g_new0(struct etcd_req, 1);
	g_autofree char *url = g_strconcat(be->endpoints[be->current], path, NULL);
	CURL *e = curl_easy_init();

	if (!e) /* like g_malloc() */
		g_error("libcurl: cannot allocate a transfer");
	req->be = be;
	req->kind = kind;
	req->owner = owner;
	req->endpoint = be->current;
	req->easy = e;
	req->body = g_byte_array_new();
	req->request = request;
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
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->request);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(req->request));
	req_tls(be, e);
	req->headers = curl_slist_append(req->headers, "Content-Type: application/json");
	req->headers = curl_slist_append(req->headers, "Expect:");
	if (kind == REQ_WATCH) {
		/* A member cut off from the others cancels our watch rather
		 * than hold it silently (etcd's "hasleader" metadata). */
		req->headers = curl_slist_append(req->headers, "Grpc-Metadata-hasleader: true");
		curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
		curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, STREAM_KEEPALIVE_IDLE_S);
		curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, STREAM_KEEPALIVE_INTERVAL_S);
	} else {
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS);
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->headers);
	curl_loop_add(be->loop, e);
	return req;
}

static char *b64(const void *data, size_t len)
{
	return g_base64_encode(data, len);
}

/* The first key past every key that starts with @prefix, for range_end. */
static char *b64_prefix_end(const char *prefix)
{
	g_autofree char *end = g_strdup(prefix);

	end[strlen(end) - 1]++; /* prefixes end in '/' */
	return b64(end, strlen(end));
}

/* --- subscriptions ----------------------------------------------------------- */

static bool within_empty_budget(struct etcd_sub *sub)
{
	int64_t now = g_get_monotonic_time();

	if (now - sub->empty_since_us > STREAM_EMPTY_WINDOW_US) {
		sub->empty_since_us = now;
		sub->empty = 0;
	}
	sub->flooded = ++sub->empty > STREAM_EMPTY_MAX;
	return !sub->flooded;
}

/* Queues the envelopes among @kvs newer than the cursor; the cursor moves
 * past all of them only then (a transaction's puts share a revision).
 * Returns how many. */
static unsigned sub_take(struct etcd_sub *sub, const GPtrArray *kvs, int64_t upto)
{
	unsigned taken = 0;

	for (guint i = 0; i < kvs->len; i++) {
		const struct etcd_kv *kv = g_ptr_array_index(kvs, i);
		const uint8_t *env;
		size_t len;

		if (kv->mod_revision > upto)
			break;
		if (etcd_take_envelope(kv, sub->key, sub->cursor, &env, &len)) {
			g_queue_push_tail(&sub->be->inbox, g_bytes_new(env, len));
			taken++;
		}
	}
	return taken;
}

static void sub_watching(struct etcd_sub *sub)
{
	sub->watching = true;
	sub->failed = false;
	backoff_reset(&sub->backoff);
	set_answered(sub->be, true, NULL);
}

/* One line of the watch.  False ends the stream: broken, canceled,
 * flooded. */
static bool watch_line(struct etcd_sub *sub, const char *line, size_t len)
{
	struct etcd_watch_msg msg;
	bool ok = true;

	if (!etcd_watch_parse(line, len, &msg)) {
		g_free(sub->stream_error);
		sub->stream_error = g_strdup("etcd sent a malformed watch message");
		return false;
	}
	if (msg.error) {
		if (msg.compact_revision > 0)
			sub->need_range = true;
		g_free(sub->stream_error);
		sub->stream_error = g_strdup_printf("watch canceled: %s", msg.error);
		ok = false;
	} else {
		if (msg.created)
			sub_watching(sub);
		if (sub_take(sub, msg.events, G_MAXINT64) == 0)
			ok = within_empty_budget(sub);
		sub->cursor = etcd_last_revision(msg.events, sub->cursor);
	}
	etcd_watch_msg_clear(&msg);
	return ok;
}

static bool watch_parse(struct etcd_sub *sub, struct etcd_req *req)
{
	GByteArray *buf = req->body;
	size_t used = 0;
	ssize_t n;

	while ((n = etcd_stream_line(buf->data + used, buf->len - used, &req->scanned)) > 0) {
		bool ok = watch_line(sub, (const char *)buf->data + used, (size_t)n - 1);

		used += (size_t)n;
		if (!ok)
			return false;
	}
	g_byte_array_remove_range(buf, 0, used);
	return n == 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
	struct etcd_req *req = userdata;
	size_t len = size * n;
	size_t cap = req->kind == REQ_RANGE && req->status == 200 ? RANGE_REPLY_MAX : REPLY_BYTES_MAX;

	if (req->kind == REQ_WATCH && req->status == 200) {
		g_byte_array_append(req->body, (const guint8 *)data, len);
		return watch_parse(req->owner, req) ? len : 0;
	}
	req->received += len;
	if (req->received > cap)
		return 0; /* no answer of etcd's is this long */
	g_byte_array_append(req->body, (const guint8 *)data, len);
	return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
	struct etcd_req *req = userdata;
	size_t len = size * n;

	if (len <= 2 && (data[0] == '\r' || data[0] == '\n'))
		curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &req->status);
	return len;
}

static void sub_fail(struct etcd_sub *sub, char *error)
{
	unsigned delay = backoff_next_ms(&sub->backoff, BACKOFF_FIRST_MS, BACKOFF_CAP_MS);

	if (sub->flooded) {
		sub->flooded = false;
		delay = BACKOFF_CAP_MS;
	}
	g_debug("etcd: mailbox %.8s...: %s; again in %u ms", sub->id_str, error, delay);
	g_free(sub->error);
	sub->error = error;
	sub->failed = true;
	sub->watching = false;
	source_timer_arm(sub->retry, delay);
}

static void watch_start(struct etcd_sub *sub)
{
	g_autofree char *key = b64(sub->key, strlen(sub->key));
	g_autofree char *end = b64_prefix_end(sub->key);
	char *request = g_strdup_printf("{\"create_request\":{\"key\":\"%s\",\"range_end\":\"%s\","
					"\"start_revision\":\"%" G_GINT64_FORMAT "\"}}",
					key, end, sub->cursor + 1);

	sub->watching = false;
	sub->req = req_new(sub->be, REQ_WATCH, sub, "/v3/watch", request);
}

static void range_start(struct etcd_sub *sub)
{
	g_autofree char *key = b64(sub->key, strlen(sub->key));
	g_autofree char *end = b64_prefix_end(sub->key);
	char *request = g_strdup_printf("{\"key\":\"%s\",\"range_end\":\"%s\",\"limit\":\"%d\","
					"\"sort_order\":\"ASCEND\",\"sort_target\":\"MOD\","
					"\"min_mod_revision\":\"%" G_GINT64_FORMAT "\"}",
					key, end, RANGE_LIMIT, sub->cursor + 1);

	sub->req = req_new(sub->be, REQ_RANGE, sub, "/v3/kv/range", request);
}

/* Everything up to the answer's revision is read, unless it stopped at
 * the limit: then up to the revision before its last one, which the
 * watch reads again in full. */
static void range_take(struct etcd_sub *sub, const struct etcd_range *r)
{
	int64_t upto = r->revision;

	if (r->more && r->kvs->len > 0)
		upto = ((const struct etcd_kv *)g_ptr_array_index(r->kvs, r->kvs->len - 1))->mod_revision - 1;
	sub_take(sub, r->kvs, upto);
	sub->cursor = MAX(sub->cursor, upto);
	sub->need_range = false;
}

static void range_done(struct etcd_sub *sub, struct etcd_req *req, CURLcode result)
{
	struct etcd_range r;

	if (!req_note_answer(req, result) || req->status != 200) {
		g_autofree char *error = req_error(req, result);

		sub_fail(sub, g_strdup_printf("range: %s", error));
		return;
	}
	if (!etcd_range_parse((const char *)req->body->data, req->body->len, &r)) {
		sub_fail(sub, g_strdup("range: etcd sent a malformed answer"));
		return;
	}
	range_take(sub, &r);
	etcd_range_clear(&r);
	watch_start(sub);
}

static void watch_done(struct etcd_sub *sub, struct etcd_req *req, CURLcode result)
{
	g_autofree char *error = NULL;

	/* We ended it (flooded, canceled, malformed): etcd did answer. */
	if (sub->flooded || sub->stream_error) {
		set_answered(sub->be, true, NULL);
		if (sub->flooded)
			g_message("etcd: %s floods a watch with empty messages; trying again in %d s",
				  sub->be->endpoints[req->endpoint], BACKOFF_CAP_MS / 1000);
		sub_fail(sub, sub->flooded ? g_strdup("watch ended: flooded") : g_steal_pointer(&sub->stream_error));
		return;
	}
	/* A member that did not answer is left by req_note_answer(); one
	 * that closed a watch is most likely shutting down. */
	if (req_note_answer(req, result) && req->status == 200)
		endpoint_failed(sub->be, req->endpoint);
	if (req->status == 200 && result == CURLE_OK) {
		sub_fail(sub, g_strdup("watch ended: closed by etcd"));
		return;
	}
	error = req_error(req, result);
	sub_fail(sub, g_strdup_printf("%s: %s", sub->watching ? "watch ended" : "watch", error));
}

static gboolean on_sub_retry(gpointer data)
{
	sub_start(data);
	update_state(((struct etcd_sub *)data)->be);
	return G_SOURCE_CONTINUE;
}

static void sub_start(struct etcd_sub *sub)
{
	req_free(g_steal_pointer(&sub->req));
	g_clear_pointer(&sub->stream_error, g_free);
	sub->watching = false;
	if (sub->need_range)
		range_start(sub);
	else
		watch_start(sub);
}

static void sub_free(gpointer data)
{
	struct etcd_sub *sub = data;

	req_free(sub->req);
	source_free(sub->retry);
	g_free(sub->key);
	g_free(sub->error);
	g_free(sub->stream_error);
	g_free(sub);
}

static guint id_hash(gconstpointer key)
{
	guint h;

	/* Ids are hashes: their bytes are already uniform. */
	memcpy(&h, key, sizeof(h));
	return h;
}

static gboolean id_equal(gconstpointer a, gconstpointer b)
{
	return memcmp(a, b, RELAY_ID_LEN) == 0;
}

/* etcd has no mailbox secrets: who may read a prefix is etcd's own
 * business (users and roles, client certificates). */
static int etcd_subscribe(struct sig_backend *b, const struct sig_subscription *s)
{
	struct etcd_backend *be = etcd(b);
	struct etcd_sub *sub;

	if (g_hash_table_contains(be->subs, s->id))
		return 0;
	sub = g_new0(struct etcd_sub, 1);
	sub->be = be;
	memcpy(sub->id, s->id, RELAY_ID_LEN);
	relay_b64_encode(sub->id_str, sizeof(sub->id_str), sub->id, RELAY_ID_LEN);
	sub->key = g_strdup_printf("%sm/%s/", be->prefix, sub->id_str);
	sub->need_range = true;
	sub->retry = source_timer_new(b->context, on_sub_retry, sub);
	g_hash_table_insert(be->subs, sub->id, sub);
	sub_start(sub);
	return 0;
}

static void etcd_unsubscribe(struct sig_backend *b, const uint8_t id[RELAY_ID_LEN])
{
	struct etcd_backend *be = etcd(b);

	if (g_hash_table_remove(be->subs, id))
		source_timer_arm(be->state_timer, 0);
}

/* --- posting ----------------------------------------------------------------- */

static struct etcd_post *etcd_post(struct post_queue_item *item)
{
	return POST_QUEUE_POST(item, struct etcd_post);
}

static void post_free(struct post_queue_item *item)
{
	struct etcd_post *post = etcd_post(item);

	g_free(post->key);
	g_free(post);
}

/* A transaction stores each envelope under a key of its own, and only
 * if none of its keys exists yet: a retry of one that etcd carried out
 * but whose answer was lost (the member died on the way) stores nothing
 * again, and is told apart by "succeeded": false.  Without the compare
 * the retry would write its envelopes a second time. */
static void txn_append(struct etcd_backend *be, GString *compare, GString *success, struct post_queue_item *item)
{
	const char *key = etcd_post(item)->key;
	g_autofree char *key64 = b64(key, strlen(key));
	g_autofree char *value64 = NULL;
	gsize len;
	const void *data = g_bytes_get_data(item->data, &len);
	const char *sep = compare->str[compare->len - 1] == '[' ? "" : ",";

	value64 = b64(data, len);
	g_string_append_printf(compare, "%s{\"key\":\"%s\",\"target\":\"CREATE\",\"result\":\"EQUAL\","
			       "\"create_revision\":\"0\"}", sep, key64);
	g_string_append_printf(success, "%s{\"request_put\":{\"key\":\"%s\",\"value\":\"%s\",\"lease\":\"%"
			       G_GINT64_FORMAT "\"}}", sep, key64, value64, be->lease);
}

static void txn_free(struct etcd_txn *txn)
{
	g_ptr_array_unref(txn->posts);
	g_free(txn);
}

static void txn_start(struct etcd_backend *be)
{
	struct etcd_txn *txn = g_new0(struct etcd_txn, 1);
	GString *request = g_string_new("{\"compare\":[");
	g_autoptr(GString) success = g_string_new("\"success\":[");

	txn->posts = post_queue_take_batch(&be->posts, TXN_OPS_MAX, TXN_BYTES_MAX, 0);
	txn->link.data = txn;
	for (guint i = 0; i < txn->posts->len; i++)
		txn_append(be, request, success, g_ptr_array_index(txn->posts, i));
	g_string_append_printf(request, "],%s]}", success->str);
	g_queue_push_tail_link(&be->txns, &txn->link);
	txn->req = req_new(be, REQ_TXN, txn, "/v3/kv/txn", g_string_free(request, FALSE));
}

static bool lease_valid(struct etcd_backend *be)
{
	return be->lease != 0 && g_get_monotonic_time() < be->lease_until;
}

static void lease_start(struct etcd_backend *be)
{
	be->lease_req = req_new(be, REQ_LEASE, NULL, "/v3/lease/grant",
				g_strdup_printf("{\"TTL\":\"%d\"}", LEASE_TTL_S));
}

static void post_kick(struct etcd_backend *be)
{
	if (!post_queue_ready(&be->posts) || be->posts.waiting.length == 0)
		return;
	if (!lease_valid(be)) {
		if (!be->lease_req)
			lease_start(be);
		return;
	}
	while (post_queue_can_start(&be->posts))
		txn_start(be);
}

static void post_backoff(struct etcd_backend *be)
{
	be->posts_unanswered = !be->answered;
	post_queue_back_off(&be->posts);
}

static void lease_done(struct etcd_backend *be, struct etcd_req *req, CURLcode result)
{
	int64_t id;

	be->lease_req = NULL;
	if (req_note_answer(req, result) && req->status == 200 &&
	    etcd_lease_parse((const char *)req->body->data, req->body->len, &id)) {
		be->lease = id;
		be->lease_until = g_get_monotonic_time() + LEASE_USE_S * G_USEC_PER_SEC;
		return;
	}
	{
		g_autofree char *error = req->status == 200 ? g_strdup("malformed answer") : req_error(req, result);

		g_debug("etcd: lease: %s", error);
	}
	post_backoff(be);
}

/* A refused transaction most likely names a lease etcd no longer has (it
 * expired early, the cluster was restored): a new one, and again. */
static void txn_done(struct etcd_backend *be, struct etcd_txn *txn, struct etcd_req *req, CURLcode result)
{
	bool ok = req_note_answer(req, result) && req->status == 200;

	post_queue_request_done(&be->posts);
	g_queue_unlink(&be->txns, &txn->link);
	for (guint i = 0; i < txn->posts->len; i++) {
		struct post_queue_item *item = g_ptr_array_index(txn->posts, i);

		if (ok)
			post_queue_sent(&be->posts, item);
		else
			post_queue_requeue(&be->posts, item);
	}
	if (ok) {
		post_queue_succeeded(&be->posts);
	} else {
		g_autofree char *error = req_error(req, result);

		if (req->status >= 400 && req->status < 500) {
			g_warning("%s: etcd refused %u messages: %s", be->base.url, txn->posts->len, error);
			be->lease = 0;
		} else {
			g_debug("etcd: %u messages not stored: %s", txn->posts->len, error);
		}
		post_backoff(be);
	}
	txn_free(txn);
}

static void on_post_kick(void *data)
{
	post_kick(data);
}

static const struct post_queue_ops post_ops = { on_post_kick, post_free };

static char *post_key(struct etcd_backend *be, const uint8_t id[RELAY_ID_LEN])
{
	uint8_t nonce[KEY_NONCE_LEN];
	char id_str[RELAY_ID_STR_LEN], nonce_str[KEY_NONCE_LEN * 2];

	relay_b64_encode(id_str, sizeof(id_str), id, RELAY_ID_LEN);
	randombytes_buf(nonce, sizeof(nonce));
	relay_b64_encode(nonce_str, sizeof(nonce_str), nonce, sizeof(nonce));
	return g_strdup_printf("%sm/%s/%s", be->prefix, id_str, nonce_str);
}

static int etcd_publish(struct sig_backend *b, const uint8_t id[RELAY_ID_LEN], const uint8_t *data, size_t len,
			const struct sig_route *via)
{
	struct etcd_backend *be = etcd(b);
	struct etcd_post *post;

	if (post_queue_refuse(&be->posts, sig_backend_url(b)))
		return -ENOBUFS;
	post = g_new0(struct etcd_post, 1);
	post->key = post_key(be, id);
	post->item.data = g_bytes_new(data, len);
	/* What the caller publishes before returning to the loop goes in
	 * one transaction. */
	post_queue_push(&be->posts, &post->item);
	return 0;
}

/* --- reachability before there is anything to do ------------------------------ */

static void probe_done(struct etcd_backend *be, struct etcd_req *req, CURLcode result)
{
	be->probe = NULL;
	if (!req_note_answer(req, result))
		source_timer_arm(be->probe_retry, backoff_next_ms(&be->probe_backoff, BACKOFF_FIRST_MS, BACKOFF_CAP_MS));
}

static void probe_start(struct etcd_backend *be)
{
	be->probe = req_new(be, REQ_PROBE, NULL, "/v3/maintenance/status", g_strdup("{}"));
}

static gboolean on_probe_retry(gpointer data)
{
	struct etcd_backend *be = data;

	if (!be->answered && !be->probe && g_hash_table_size(be->subs) == 0 && be->posts.sending.length == 0)
		probe_start(be);
	return G_SOURCE_CONTINUE;
}

/* --- the curl loop ------------------------------------------------------------ */

static void on_curl_done(CURL *easy, CURLcode result, void *userdata)
{
	struct etcd_req *req = NULL;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&req);
	switch (req->kind) {
	case REQ_PROBE:
		probe_done(req->be, req, result);
		break;
	case REQ_LEASE:
		lease_done(req->be, req, result);
		break;
	case REQ_TXN:
		txn_done(req->be, req->owner, req, result);
		break;
	case REQ_RANGE:
		((struct etcd_sub *)req->owner)->req = NULL;
		range_done(req->owner, req, result);
		break;
	case REQ_WATCH:
		((struct etcd_sub *)req->owner)->req = NULL;
		watch_done(req->owner, req, result);
		break;
	}
	req_free(req);
}

static void after_curl(void *userdata)
{
	struct etcd_backend *be = userdata;

	/* etcd is back: posts waiting out a backoff for want of an answer
	 * go now (not those it refused: that would spin). */
	if (be->answered && be->posts_unanswered) {
		be->posts_unanswered = false;
		post_queue_resume(&be->posts);
	}
	post_kick(be);
	deliver_inbox(be);
	update_state(be);
}

/* --- the URL: etcd://HOST[:PORT][,HOST[:PORT]...][/PREFIX] ------------------- */

static bool endpoint_ok(const char *hostport)
{
	const char *port = NULL;
	guint64 n;

	if (*hostport == '[') {
		const char *close = strchr(hostport, ']');

		if (!close || close == hostport + 1 || (close[1] && close[1] != ':'))
			return false;
		port = close[1] ? close + 2 : NULL;
	} else {
		port = strchr(hostport, ':');
		if (port == hostport || (port && strchr(port + 1, ':')))
			return false;
		port = port ? port + 1 : NULL;
	}
	if (!*hostport || strpbrk(hostport, " \t/?#@%\\"))
		return false;
	return !port || (g_ascii_string_to_unsigned(port, 10, 1, 65535, &n, NULL));
}

static bool prefix_ok(const char *prefix)
{
	return *prefix && strlen(prefix) <= 128 && *prefix != '/' && !strstr(prefix, "//") &&
	       strspn(prefix, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-/") == strlen(prefix);
}

static char *endpoint_url(const char *scheme, const char *hostport)
{
	bool has_port = *hostport == '[' ? strstr(hostport, "]:") != NULL : strchr(hostport, ':') != NULL;

	return has_port ? g_strdup_printf("%s://%s", scheme, hostport)
			: g_strdup_printf("%s://%s:%d", scheme, hostport, DEFAULT_PORT);
}

static bool parse_url(struct etcd_backend *be, const char *url, GError **error)
{
	bool tls = g_ascii_strncasecmp(url, "etcds://", 8) == 0;
	const char *rest = url + (tls ? 8 : 7);
	g_autofree char *hosts = g_strndup(rest, strcspn(rest, "/"));
	g_autofree char *prefix = g_strdup(rest[strlen(hosts)] ? rest + strlen(hosts) + 1 : DEFAULT_PREFIX);
	g_auto(GStrv) parts = g_strsplit(hosts, ",", -1);
	const char *why = NULL;
	GPtrArray *endpoints;

	if (!*hosts)
		why = "no host";
	else if (g_strv_length(parts) > ENDPOINTS_MAX)
		why = "more than 16 hosts";
	while (g_str_has_suffix(prefix, "/"))
		prefix[strlen(prefix) - 1] = '\0';
	if (!why && !prefix_ok(prefix))
		why = "the prefix takes letters, digits, '.', '_', '-' and single '/' (at most 128)";
	for (unsigned i = 0; !why && parts[i]; i++)
		if (!endpoint_ok(parts[i]))
			why = "expected HOST[:PORT] between commas";
	if (why) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "bad signaling URL '%s': %s", url, why);
		return false;
	}
	endpoints = g_ptr_array_new();
	for (unsigned i = 0; parts[i]; i++)
		g_ptr_array_add(endpoints, endpoint_url(tls ? "https" : "http", parts[i]));
	be->n_endpoints = endpoints->len;
	g_ptr_array_add(endpoints, NULL);
	be->endpoints = (char **)g_ptr_array_free(endpoints, FALSE);
	be->prefix = g_strconcat(prefix, "/", NULL);
	return true;
}

/* --- life cycle -------------------------------------------------------------- */

static void etcd_fini(struct sig_backend *b)
{
	struct etcd_backend *be = etcd(b);
	GBytes *env;
	GList *l;

	if (be->subs)
		g_hash_table_destroy(be->subs);
	while ((l = g_queue_pop_head_link(&be->txns))) {
		req_free(((struct etcd_txn *)l->data)->req);
		txn_free(l->data);
	}
	post_queue_fini(&be->posts);
	req_free(be->probe);
	req_free(be->lease_req);
	curl_loop_free(be->loop);
	source_free(be->state_timer);
	source_free(be->probe_retry);
	while ((env = g_queue_pop_head(&be->inbox)))
		g_bytes_unref(env);
	g_strfreev(be->endpoints);
	g_free(be->prefix);
	g_free(be->error);
	g_free(be->reason);
}

static bool etcd_init(struct sig_backend *b, GUri *uri, GError **error)
{
	struct etcd_backend *be = etcd(b);
	struct curl_loop_callbacks loop_cb = { on_curl_done, after_curl, be };

	if (!parse_url(be, b->url, error))
		return false;
	if (!curl_loop_global_init(error)) {
		g_strfreev(be->endpoints);
		g_free(be->prefix);
		return false;
	}
	be->current = g_random_int_range(0, (gint32)be->n_endpoints);
	be->loop = curl_loop_new(b->context, &loop_cb);
	be->state_timer = source_timer_new(b->context, on_state_timer, be);
	post_queue_init(&be->posts, b->context, &post_ops, be);
	be->probe_retry = source_timer_new(b->context, on_probe_retry, be);
	be->subs = g_hash_table_new_full(id_hash, id_equal, NULL, sub_free);
	g_queue_init(&be->txns);
	g_queue_init(&be->inbox);
	probe_start(be);
	return true;
}

const struct sig_backend_ops sig_backend_etcd_ops = {
	.size = sizeof(struct etcd_backend),
	.own_url = true,
	.init = etcd_init,
	.fini = etcd_fini,
	.publish = etcd_publish,
	.subscribe = etcd_subscribe,
	.unsubscribe = etcd_unsubscribe,
};

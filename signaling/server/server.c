/* `wice signal-server` on libsoup: routing, proofs, batches, subscription
 * streams and the per-client caps.  See server.h and docs/SIGNAL-SERVER.md.
 *
 * Everything runs in the one GLib main loop; there is no per-connection
 * thread or timer.  A post costs O(subscribers of that mailbox); expiry is
 * one timer armed for the oldest message, keepalives one timer for all
 * streams. */
#include "config.h"

#define G_LOG_DOMAIN "wice-server"

#include <errno.h>
#include <string.h>
#include <libsoup/soup.h>
#include <sodium.h>

#include "challenge.h"
#include "http-listener.h"
#include "signaling/relay-proto.h"
#include "relay-stream.h"
#include "request-check.h"
#include "server.h"
#include "stun-responder.h"
#include "util/source-util.h"

#define MAILBOX_PATH "/v1/mailboxes/"
#define CHALLENGE_PATH "/v1/challenge"
#define BATCH_PATH "/v1/batch"
/* A batch body is held in memory like a message: this keeps it within
 * what a connection's request headers may already cost (64 KiB). */
#define BATCH_MAX (64u << 10)
/* Redeemed challenges are remembered for one ttl; this bounds that memory
 * (about 20 MiB) whatever the subscription rate. */
#define MAX_REDEEMED_CHALLENGES (1u << 18)

/* A subscriber: its place in the store and its connection.  Streams that
 * end go to the dead queue and are freed from the reaper source, never
 * from inside a store callback. */
struct stream {
	struct signal_server *srv;
	struct relay_stream *out;
	struct http_conn *conn;	 /* counts against the caps until freed */
	struct mailbox_sub *sub; /* NULL once the store has forgotten us */
	bool wrote;		 /* since the last keepalive tick */
	bool starting;		 /* still inside stream_start() */
	bool dead;
	GList link;
};

struct signal_server {
	struct signal_server_config cfg; /* without the listen array */
	SoupServer *soup;
	struct mailbox_store *store;
	struct challenger *challenger;
	struct stun_responder *stun;
	struct http_listener *listener;
	GQueue streams; /* live */
	GQueue dead;	/* to free from the reaper */
	GSource *expiry;
	GSource *keepalive;
	GSource *reaper;
	GBytes *keepalive_frame;
	size_t max_pending;
	size_t max_batch; /* bytes of a batch body */
	char instance[RELAY_INSTANCE_STR_LEN];
};

/* --- replies ------------------------------------------------------------ */

static void set_common_headers(struct signal_server *srv, SoupServerMessage *msg)
{
	SoupMessageHeaders *h = soup_server_message_get_response_headers(msg);

	/* Again here: a 100 Continue clears the headers set at the start. */
	soup_message_headers_replace(h, RELAY_HEADER_INSTANCE, srv->instance);
	soup_message_headers_replace(h, "Cache-Control", "no-store");
	/* libsoup closes our connections after one response (http-listener.h);
	 * say so. */
	soup_message_headers_replace(h, "Connection", "close");
}

static void reply_text(struct signal_server *srv, SoupServerMessage *msg, guint status,
		       const char *reason, const char *text)
{
	size_t len = strlen(text);
	char *body = g_malloc(len + 1);

	memcpy(body, text, len);
	body[len] = '\n';
	soup_server_message_set_status(msg, status, reason);
	soup_server_message_set_response(msg, "text/plain", SOUP_MEMORY_TAKE, body, len + 1);
	set_common_headers(srv, msg);
}

static void reply_error(struct signal_server *srv, SoupServerMessage *msg, guint status,
			const char *reason)
{
	g_debug("%s %s from %s: %u %s", soup_server_message_get_method(msg),
		g_uri_get_path(soup_server_message_get_uri(msg)),
		soup_server_message_get_remote_host(msg), status, reason);
	reply_text(srv, msg, status, reason, reason);
}

static void reply_method(struct signal_server *srv, SoupServerMessage *msg, const char *allow)
{
	reply_error(srv, msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "method not allowed");
	soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow", allow);
}

/* --- expiry ---------------------------------------------------------------- */

static void expiry_arm(struct signal_server *srv, int64_t when)
{
	if (when == INT64_MAX)
		source_timer_disarm(srv->expiry);
	else
		source_timer_arm_at(srv->expiry, when);
}

static gboolean on_expiry(gpointer data)
{
	struct signal_server *srv = data;

	expiry_arm(srv, mailbox_store_expire(srv->store, g_get_monotonic_time()));
	return G_SOURCE_CONTINUE;
}

/* --- streams ----------------------------------------------------------- */

static void stream_free(struct stream *st)
{
	if (st->sub)
		mailbox_store_unsubscribe(st->srv->store, st->sub);
	relay_stream_free(st->out);
	http_conn_release(st->conn);
	g_free(st);
}

/* Safe anywhere, also inside store callbacks: frees later. */
static void stream_doom(struct stream *st)
{
	struct signal_server *srv = st->srv;

	if (st->dead || st->starting)
		return;
	st->dead = true;
	g_queue_unlink(&srv->streams, &st->link);
	g_queue_push_tail_link(&srv->dead, &st->link);
	source_timer_arm(srv->reaper, 0);
}

static gboolean on_reap(gpointer data)
{
	struct signal_server *srv = data;
	GList *l;

	while ((l = g_queue_pop_head_link(&srv->dead)))
		stream_free(l->data);
	return G_SOURCE_CONTINUE;
}

static void stream_done(void *user)
{
	stream_doom(user);
}

static bool stream_deliver(void *user, GBytes *frame, uint64_t seq)
{
	struct stream *st = user;

	st->wrote = true;
	if (!st->dead && relay_stream_send(st->out, frame))
		return true;
	/* Too far behind, or gone: the store forgets us on false. */
	if (!st->dead)
		g_debug("dropping a stream: client too far behind or gone");
	st->sub = NULL;
	stream_doom(st);
	return false;
}

/* A newer subscriber of the mailbox took our place: end the stream
 * cleanly, the client may come back. */
static void stream_evicted(void *user)
{
	struct stream *st = user;

	st->sub = NULL;
	relay_stream_finish(st->out);
}

static const struct mailbox_sub_ops stream_ops = {
	.deliver = stream_deliver,
	.evicted = stream_evicted,
};

/* Takes the connection from libsoup, which has read and checked the
 * request; relay-stream.h says why.  msg must not be used afterwards. */
static bool stream_take_over(struct signal_server *srv, struct stream *st, SoupServerMessage *msg,
			     uint64_t after)
{
	bool http10 = soup_server_message_get_http_version(msg) == SOUP_HTTP_1_0;
	g_autoptr(GBytes) head = relay_stream_head(http10, srv->instance, after);
	GIOStream *io;

	st->conn = http_listener_take(msg);
	if (!st->conn) {
		reply_error(srv, msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "connection not ours");
		return false;
	}
	io = soup_server_message_steal_connection(msg);
	if (!io)
		return false;
	relay_stream_attach(st->out, io, http_conn_socket(st->conn), head);
	return true;
}

static void stream_start(struct signal_server *srv, SoupServerMessage *msg,
			 const uint8_t id[RELAY_ID_LEN], uint64_t after)
{
	struct stream *st = g_new0(struct stream, 1);
	int r;

	st->srv = srv;
	st->link.data = st;
	st->starting = true;
	st->out = relay_stream_new(srv->max_pending, stream_done, st);
	/* The replay is queued until the connection is ours. */
	r = mailbox_store_subscribe(srv->store, id, after, &stream_ops, st, g_get_monotonic_time(),
				    &st->sub);
	if (r < 0) {
		reply_error(srv, msg, SOUP_STATUS_SERVICE_UNAVAILABLE,
			    r == -ENOSPC ? "too many mailboxes" : "cannot subscribe");
		stream_free(st);
		return;
	}
	g_queue_push_tail_link(&srv->streams, &st->link);
	st->starting = false;
	if (!stream_take_over(srv, st, msg, after))
		stream_doom(st);
}

/* Quiet streams get an empty frame: it keeps NAT and proxy state alive
 * and lets both ends notice a dead connection. */
static gboolean on_keepalive(gpointer data)
{
	struct signal_server *srv = data;
	GList *next;

	for (GList *l = srv->streams.head; l; l = next) {
		struct stream *st = l->data;

		next = l->next;
		if (!st->wrote && !relay_stream_send(st->out, srv->keepalive_frame))
			stream_doom(st);
		st->wrote = false;
	}
	return G_SOURCE_CONTINUE;
}

/* --- requests ------------------------------------------------------------- */

static void handle_challenge(struct signal_server *srv, SoupServerMessage *msg)
{
	uint8_t challenge[RELAY_CHALLENGE_LEN];
	char text[RELAY_CHALLENGE_STR_LEN];

	challenger_issue(srv->challenger, g_get_monotonic_time(), challenge);
	relay_b64_encode(text, sizeof(text), challenge, sizeof(challenge));
	reply_text(srv, msg, SOUP_STATUS_OK, NULL, text);
}

/* Messages count against the quotas of their client's address. */
static void poster_of(SoupServerMessage *msg, uint8_t ret_poster[MAILBOX_POSTER_LEN])
{
	/* Every request comes through our listener; anything else would
	 * share one quota. */
	if (!http_listener_client_key(msg, ret_poster))
		memset(ret_poster, 0, MAILBOX_POSTER_LEN);
}

/* The expiry timer sleeps while the store is empty. */
static void expiry_wake(struct signal_server *srv, int64_t now)
{
	if (!source_timer_armed(srv->expiry))
		expiry_arm(srv, mailbox_store_expire(srv->store, now));
}

static GBytes *request_body(SoupServerMessage *msg, const uint8_t **ret_data, size_t *ret_len)
{
	GBytes *body = soup_message_body_flatten(soup_server_message_get_request_body(msg));
	gsize len = 0;

	/* libsoup has no bytes at all for an empty body. */
	*ret_data = body ? g_bytes_get_data(body, &len) : NULL;
	*ret_len = len;
	return body;
}

static void handle_post(struct signal_server *srv, SoupServerMessage *msg,
			const uint8_t id[RELAY_ID_LEN])
{
	const uint8_t *data;
	size_t len;
	g_autoptr(GBytes) body = request_body(msg, &data, &len);
	int64_t now = g_get_monotonic_time();
	uint8_t poster[MAILBOX_POSTER_LEN];
	char text[24];
	uint64_t seq;
	unsigned status;
	int r;

	poster_of(msg, poster);
	r = mailbox_store_post(srv->store, id, poster, data, len, now, &seq);
	if (r < 0) {
		const char *reason = request_post_refusal(r, &status);

		reply_error(srv, msg, status, reason);
		return;
	}
	expiry_wake(srv, now);
	g_snprintf(text, sizeof(text), "%" G_GUINT64_FORMAT, seq);
	reply_text(srv, msg, SOUP_STATUS_ACCEPTED, NULL, text);
}

/* One line per entry, in order: "202 SEQ" or "STATUS REASON". */
static char *batch_post(struct signal_server *srv, const uint8_t poster[MAILBOX_POSTER_LEN],
			const uint8_t *data, size_t len, size_t n, size_t *ret_len)
{
	GString *out = g_string_sized_new(n * 12);
	int64_t now = g_get_monotonic_time();
	size_t off = 0;

	while (off < len) {
		const uint8_t *id, *body;
		size_t body_len;
		uint64_t seq;
		unsigned status;
		int r;

		off += relay_batch_parse(data + off, len - off, srv->cfg.limits.max_message, &id, &body,
					 &body_len);
		r = mailbox_store_post(srv->store, id, poster, body, body_len, now, &seq);
		if (r == 0) {
			g_string_append_printf(out, "202 %" G_GUINT64_FORMAT "\n", seq);
		} else {
			const char *reason = request_post_refusal(r, &status);

			g_string_append_printf(out, "%u %s\n", status, reason);
		}
	}
	expiry_wake(srv, now);
	*ret_len = out->len;
	return g_string_free(out, FALSE);
}

static void handle_batch(struct signal_server *srv, SoupServerMessage *msg)
{
	const uint8_t *data;
	size_t len, n, text_len;
	g_autoptr(GBytes) body = request_body(msg, &data, &len);
	uint8_t poster[MAILBOX_POSTER_LEN];
	const char *reason;
	unsigned status;
	char *text;

	if (soup_server_message_get_method(msg) != SOUP_METHOD_POST) {
		reply_method(srv, msg, "POST");
		return;
	}
	n = request_batch_check(data, len, srv->cfg.limits.max_message, &status, &reason);
	if (n == 0) {
		reply_error(srv, msg, status, reason);
		return;
	}
	poster_of(msg, poster);
	text = batch_post(srv, poster, data, len, n, &text_len);
	soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
	soup_server_message_set_response(msg, "text/plain", SOUP_MEMORY_TAKE, text, text_len);
	set_common_headers(srv, msg);
}

static bool proof_from_headers(SoupServerMessage *msg, uint8_t challenge[RELAY_CHALLENGE_LEN],
			       uint8_t sig[RELAY_SIGNATURE_LEN])
{
	SoupMessageHeaders *h = soup_server_message_get_request_headers(msg);

	return request_proof(soup_message_headers_get_one(h, RELAY_HEADER_CHALLENGE),
			     soup_message_headers_get_one(h, RELAY_HEADER_SIGNATURE), challenge, sig);
}

static bool cursor_from_query(struct signal_server *srv, GHashTable *query, uint64_t *ret_after)
{
	return request_cursor(query ? g_hash_table_lookup(query, "after") : NULL,
			      query ? g_hash_table_lookup(query, "instance") : NULL, srv->instance,
			      mailbox_store_last_seq(srv->store), ret_after);
}

static void reply_redeem_error(struct signal_server *srv, SoupServerMessage *msg, int r)
{
	if (r == -ETIMEDOUT)
		reply_error(srv, msg, SOUP_STATUS_FORBIDDEN, "challenge expired");
	else if (r == -EALREADY)
		reply_error(srv, msg, SOUP_STATUS_FORBIDDEN, "challenge already used");
	else if (r == -EPERM)
		reply_error(srv, msg, SOUP_STATUS_FORBIDDEN, "bad signature");
	else if (r == -ENOSPC)
		reply_error(srv, msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "busy, try again");
	else
		reply_error(srv, msg, SOUP_STATUS_FORBIDDEN, "unknown challenge");
}

static void handle_subscribe(struct signal_server *srv, SoupServerMessage *msg,
			     const uint8_t id[RELAY_ID_LEN], GHashTable *query)
{
	uint8_t challenge[RELAY_CHALLENGE_LEN], sig[RELAY_SIGNATURE_LEN];
	uint64_t after;
	int r;

	if (!cursor_from_query(srv, query, &after)) {
		reply_error(srv, msg, SOUP_STATUS_BAD_REQUEST, "bad after");
		return;
	}
	if (!proof_from_headers(msg, challenge, sig)) {
		reply_error(srv, msg, SOUP_STATUS_BAD_REQUEST, "missing or malformed proof");
		return;
	}
	r = challenger_redeem(srv->challenger, id, challenge, sig, g_get_monotonic_time());
	if (r < 0)
		reply_redeem_error(srv, msg, r);
	else
		stream_start(srv, msg, id, after);
}

static void handle_mailbox(struct signal_server *srv, SoupServerMessage *msg, const char *id_str,
			   GHashTable *query)
{
	const char *method = soup_server_message_get_method(msg);
	uint8_t id[RELAY_ID_LEN];

	/* libsoup interns method names. */
	if (!relay_b64_decode(id, sizeof(id), id_str, strlen(id_str)))
		reply_error(srv, msg, SOUP_STATUS_BAD_REQUEST, "bad mailbox id");
	else if (method == SOUP_METHOD_POST)
		handle_post(srv, msg, id);
	else if (method == SOUP_METHOD_GET)
		handle_subscribe(srv, msg, id, query);
	else
		reply_method(srv, msg, "GET, POST");
}

static void on_request(SoupServer *soup, SoupServerMessage *msg, const char *path,
		       GHashTable *query, gpointer data)
{
	struct signal_server *srv = data;

	if (g_str_has_prefix(path, MAILBOX_PATH))
		handle_mailbox(srv, msg, path + strlen(MAILBOX_PATH), query);
	else if (strcmp(path, BATCH_PATH) == 0)
		handle_batch(srv, msg);
	else if (strcmp(path, CHALLENGE_PATH) != 0)
		reply_error(srv, msg, SOUP_STATUS_NOT_FOUND, "not found");
	else if (soup_server_message_get_method(msg) != SOUP_METHOD_GET)
		reply_method(srv, msg, "GET");
	else
		handle_challenge(srv, msg);
}

static enum request_body body_framing(SoupMessageHeaders *h)
{
	switch (soup_message_headers_get_encoding(h)) {
	case SOUP_ENCODING_NONE:
		return REQUEST_BODY_NONE;
	case SOUP_ENCODING_CONTENT_LENGTH:
		return REQUEST_BODY_LENGTH;
	default:
		return REQUEST_BODY_OTHER;
	}
}

static const char *allowed_methods(const char *path)
{
	if (strcmp(path, CHALLENGE_PATH) == 0)
		return "GET";
	return strcmp(path, BATCH_PATH) == 0 ? "POST" : "GET, POST";
}

/* Runs once the headers are in, before libsoup reads the body: only a body
 * of an accepted size is read, into memory. */
static void on_request_headers(SoupServer *soup, SoupServerMessage *msg, const char *path,
			       GHashTable *query, gpointer data)
{
	struct signal_server *srv = data;
	const char *method = soup_server_message_get_method(msg);
	bool post = method == SOUP_METHOD_POST, batch = strcmp(path, BATCH_PATH) == 0;
	const char *reason = NULL;
	SoupMessageHeaders *h;
	goffset cap = 0;
	unsigned status;

	if (!post && method != SOUP_METHOD_GET) {
		reply_method(srv, msg, allowed_methods(path));
		return;
	}
	if (post)
		cap = batch ? srv->max_batch : srv->cfg.limits.max_message;
	/* A refused body is not read: on_got_headers() answers and closes
	 * the connection. */
	h = soup_server_message_get_request_headers(msg);
	status = request_body_refusal(body_framing(h), soup_message_headers_get_content_length(h), post, cap,
				      &reason);
	if (status)
		reply_error(srv, msg, status, reason);
	else
		soup_message_body_set_accumulate(soup_server_message_get_request_body(msg), TRUE);
}

static bool has_body(SoupMessageHeaders *h)
{
	switch (soup_message_headers_get_encoding(h)) {
	case SOUP_ENCODING_NONE:
		return false;
	case SOUP_ENCODING_CONTENT_LENGTH:
		return soup_message_headers_get_content_length(h) > 0;
	default:
		return true;
	}
}

/* The answer that libsoup would write for msg, status line to body. */
static GBytes *answer_bytes(SoupServerMessage *msg)
{
	guint status = soup_server_message_get_status(msg);
	const char *reason = soup_server_message_get_reason_phrase(msg);
	bool http10 = soup_server_message_get_http_version(msg) == SOUP_HTTP_1_0;
	g_autoptr(GBytes) body = soup_message_body_flatten(soup_server_message_get_response_body(msg));
	GString *out = g_string_sized_new(512);
	SoupMessageHeadersIter it;
	const char *name, *value;

	g_string_append_printf(out, "HTTP/1.%c %u %s\r\n", http10 ? '0' : '1', status,
			       reason ? reason : soup_status_get_phrase(status));
	soup_message_headers_iter_init(&it, soup_server_message_get_response_headers(msg));
	while (soup_message_headers_iter_next(&it, &name, &value))
		if (g_ascii_strcasecmp(name, "Content-Length") != 0)
			g_string_append_printf(out, "%s: %s\r\n", name, value);
	g_string_append_printf(out, "Content-Length: %zu\r\n\r\n", g_bytes_get_size(body));
	g_string_append_len(out, g_bytes_get_data(body, NULL), g_bytes_get_size(body));
	return g_string_free_to_bytes(out);
}

/* libsoup reads a request body to its end before it writes the answer,
 * however long the declared length or the chunked stream (that streamed
 * at 1.1 GB/s into the void).  So when a request with a body is refused
 * at its headers (by on_request_headers(), or by libsoup's own checks),
 * the connection is taken from libsoup here and answered, and the body
 * never read. */
static void on_got_headers(SoupServerMessage *msg, gpointer data)
{
	g_autoptr(GBytes) answer = NULL;
	struct http_conn *conn;
	GIOStream *io;

	if (soup_server_message_get_status(msg) == 0 ||
	    !has_body(soup_server_message_get_request_headers(msg)))
		return;
	answer = answer_bytes(msg);
	conn = http_listener_take(msg);
	if (!conn)
		return;
	io = soup_server_message_steal_connection(msg);
	if (io)
		http_listener_answer_and_close(conn, io, answer);
	else
		http_conn_release(conn);
}

static void on_request_started(SoupServer *soup, SoupServerMessage *msg, gpointer data)
{
	/* Nothing reaches memory before on_request_headers() saw its size. */
	soup_message_body_set_accumulate(soup_server_message_get_request_body(msg), FALSE);
	set_common_headers(data, msg);
	/* After libsoup's own handler, which runs the early handlers. */
	g_signal_connect(msg, "got-headers", G_CALLBACK(on_got_headers), NULL);
}

/* --- set-up ------------------------------------------------------------- */

void signal_server_config_defaults(struct signal_server_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->limits.max_message = 4096;
	cfg->limits.max_queue = 64;
	cfg->limits.max_mailboxes = 100000;
	cfg->limits.max_subscribers = 4;
	cfg->limits.max_bytes = 256u << 20;
	cfg->limits.max_age = 120 * G_USEC_PER_SEC;
	cfg->limits.max_mailboxes_per_poster = 4096;
	cfg->limits.max_bytes_per_poster = 16u << 20;
	cfg->max_connections = 65536;
	cfg->max_conns_per_addr = 256;
	cfg->max_incomplete_per_addr = 32;
	cfg->idle_timeout = 30;
	cfg->header_timeout = 5;
	cfg->body_timeout = 10;
	cfg->keepalive = 25;
	cfg->challenge_ttl = 30;
}

static bool listen_stun(struct signal_server *srv, GInetSocketAddress *addr, GError **error)
{
	g_autoptr(GSocketAddress) stun_addr = NULL;
	g_autofree char *name = NULL;

	stun_addr = g_inet_socket_address_new(g_inet_socket_address_get_address(addr),
					      srv->cfg.stun_port);
	if (!stun_responder_listen(srv->stun, G_INET_SOCKET_ADDRESS(stun_addr), error))
		return false;
	name = g_socket_connectable_to_string(G_SOCKET_CONNECTABLE(stun_addr));
	g_message("answering STUN on udp %s", name);
	return true;
}

static bool listen_on(struct signal_server *srv, GInetSocketAddress *addr, GError **error)
{
	g_autoptr(GSocketAddress) bound = NULL;
	g_autofree char *name = NULL;

	bound = http_listener_add(srv->listener, addr, error);
	if (!bound)
		return false;
	name = g_socket_connectable_to_string(G_SOCKET_CONNECTABLE(bound));
	g_message("listening on http://%s", name);
	return !srv->stun || listen_stun(srv, addr, error);
}

static bool listen_all(struct signal_server *srv, const struct signal_server_config *cfg,
		       GError **error)
{
	unsigned n = 0;

	for (guint i = 0; i < cfg->listen->len; i++) {
		GInetSocketAddress *addr = g_ptr_array_index(cfg->listen, i);
		g_autoptr(GError) err = NULL;
		g_autofree char *name = NULL;

		if (listen_on(srv, addr, &err)) {
			n++;
			continue;
		}
		name = g_socket_connectable_to_string(G_SOCKET_CONNECTABLE(addr));
		/* The default [::] fails on hosts without IPv6. */
		if (cfg->listen_default && g_socket_address_get_family(G_SOCKET_ADDRESS(addr)) ==
						   G_SOCKET_FAMILY_IPV6) {
			g_message("not listening on %s: %s", name, err->message);
			continue;
		}
		/* GLib's messages name the address already. */
		g_propagate_error(error, g_steal_pointer(&err));
		return false;
	}
	if (n == 0)
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "no address to listen on");
	return n > 0;
}

static void make_instance(char out[RELAY_INSTANCE_STR_LEN])
{
	uint8_t id[RELAY_INSTANCE_LEN];

	randombytes_buf(id, sizeof(id));
	relay_b64_encode(out, RELAY_INSTANCE_STR_LEN, id, sizeof(id));
}

static void start_timers(struct signal_server *srv)
{
	srv->expiry = source_timer_new(NULL, on_expiry, srv);
	srv->reaper = source_timer_new(NULL, on_reap, srv);
	/* Whole seconds: GLib wakes for all such timers at once. */
	srv->keepalive = source_attach(g_timeout_source_new_seconds(srv->cfg.keepalive), NULL, on_keepalive, srv);
}

struct signal_server *signal_server_new(const struct signal_server_config *cfg, GError **error)
{
	struct signal_server *srv = g_new0(struct signal_server, 1);
	size_t frame_max = cfg->limits.max_message + RELAY_FRAME_HEADER_LEN;

	srv->cfg = *cfg;
	srv->cfg.listen = NULL;
	make_instance(srv->instance);
	/* Room for a full replay twice over before a stream counts as stuck. */
	srv->max_pending = 2 * cfg->limits.max_queue * frame_max;
	srv->max_batch = MAX(BATCH_MAX, cfg->limits.max_message + RELAY_BATCH_HEADER_LEN);
	srv->keepalive_frame = g_bytes_new_take(g_malloc0(RELAY_FRAME_HEADER_LEN),
						RELAY_FRAME_HEADER_LEN);
	srv->store = mailbox_store_new(&cfg->limits);
	srv->challenger = challenger_new((int64_t)cfg->challenge_ttl * G_USEC_PER_SEC,
					 MAX_REDEEMED_CHALLENGES);
	g_queue_init(&srv->streams);
	g_queue_init(&srv->dead);
	if (cfg->stun_port)
		srv->stun = stun_responder_new();
	srv->soup = soup_server_new(NULL, NULL);
	g_signal_connect(srv->soup, "request-started", G_CALLBACK(on_request_started), srv);
	soup_server_add_early_handler(srv->soup, NULL, on_request_headers, srv, NULL);
	soup_server_add_handler(srv->soup, NULL, on_request, srv, NULL);
	srv->listener = http_listener_new(srv->soup, &(struct http_listener_limits){
		.max_connections = cfg->max_connections,
		.max_per_addr = cfg->max_conns_per_addr,
		.max_incomplete = cfg->max_incomplete_per_addr,
		.idle_timeout = cfg->idle_timeout,
		.header_timeout = cfg->header_timeout,
		.body_timeout = cfg->body_timeout,
	});
	start_timers(srv);
	if (!listen_all(srv, cfg, error)) {
		signal_server_free(srv);
		return NULL;
	}
	g_message("instance %s", srv->instance);
	return srv;
}

void signal_server_free(struct signal_server *srv)
{
	if (!srv)
		return;
	http_listener_free(srv->listener);
	while (srv->streams.head)
		stream_doom(srv->streams.head->data);
	on_reap(srv);
	if (srv->soup) {
		g_signal_handlers_disconnect_by_data(srv->soup, srv);
		soup_server_disconnect(srv->soup);
		g_object_unref(srv->soup);
	}
	source_free(srv->expiry);
	source_free(srv->keepalive);
	source_free(srv->reaper);
	g_bytes_unref(srv->keepalive_frame);
	stun_responder_free(srv->stun);
	challenger_free(srv->challenger);
	mailbox_store_free(srv->store);
	g_free(srv);
}

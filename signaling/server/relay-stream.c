/* Writing one subscription stream without libsoup; see relay-stream.h. */
#include "config.h"

#define G_LOG_DOMAIN "wice-server"

#include <string.h>

#include "signaling/relay-proto.h"
#include "relay-stream.h"
#include "util/source-util.h"

/* Queued buffers handed to one send call. */
#define MAX_VECTORS 32

struct relay_stream {
	GIOStream *io;	 /* NULL until attached */
	GSocket *socket; /* borrowed from io */
	GQueue out;	 /* GBytes to write, oldest first */
	size_t head_offset;
	size_t pending;
	size_t max_pending;
	GSource *writable; /* only while the socket is full */
	bool finishing;
	bool over;
	void (*on_done)(void *user);
	void *user;
};

struct relay_stream *relay_stream_new(size_t max_pending, void (*on_done)(void *user), void *user)
{
	struct relay_stream *st = g_new0(struct relay_stream, 1);

	g_queue_init(&st->out);
	st->max_pending = max_pending;
	st->on_done = on_done;
	st->user = user;
	return st;
}

static void stop_watching(struct relay_stream *st)
{
	source_clear(&st->writable);
}

void relay_stream_free(struct relay_stream *st)
{
	if (!st)
		return;
	stop_watching(st);
	g_queue_clear_full(&st->out, (GDestroyNotify)g_bytes_unref);
	if (st->io) {
		g_io_stream_close(st->io, NULL, NULL);
		g_object_unref(st->io);
	}
	g_free(st);
}

static void stream_over(struct relay_stream *st)
{
	if (st->over)
		return;
	st->over = true;
	stop_watching(st);
	st->on_done(st->user);
}

/* Drops the first n written bytes from the queue. */
static void consume(struct relay_stream *st, size_t n)
{
	st->pending -= n;
	while (n > 0) {
		GBytes *b = g_queue_peek_head(&st->out);
		size_t left = g_bytes_get_size(b) - st->head_offset;

		if (n < left) {
			st->head_offset += n;
			return;
		}
		n -= left;
		st->head_offset = 0;
		g_bytes_unref(g_queue_pop_head(&st->out));
	}
}

static size_t gather(struct relay_stream *st, GOutputVector *v)
{
	size_t n = 0, offset = st->head_offset;

	for (GList *l = st->out.head; l && n < MAX_VECTORS; l = l->next, offset = 0) {
		gsize size;
		const guint8 *data = g_bytes_get_data(l->data, &size);

		v[n].buffer = data + offset;
		v[n].size = size - offset;
		n++;
	}
	return n;
}

static gboolean on_writable(GSocket *socket, GIOCondition cond, gpointer data);

static void watch_writable(struct relay_stream *st)
{
	if (st->writable)
		return;
	st->writable = source_attach(g_socket_create_source(st->socket, G_IO_OUT, NULL), NULL,
				     G_SOURCE_FUNC(on_writable), st);
}

/* Writes what the socket takes now.  Returns false once the stream is
 * over (failed, or finished and written out). */
static bool flush(struct relay_stream *st)
{
	GOutputVector v[MAX_VECTORS];

	while (st->io && st->out.length) {
		g_autoptr(GError) err = NULL;
		size_t nv = gather(st, v);
		gssize n = g_socket_send_message(st->socket, NULL, v, nv, NULL, 0, 0, NULL, &err);

		if (n < 0 && g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
			watch_writable(st);
			return true;
		}
		if (n < 0) {
			/* Gone, reset, or full for the whole idle timeout. */
			g_debug("stream ends: %s", err->message);
			stream_over(st);
			return false;
		}
		consume(st, n);
	}
	stop_watching(st);
	if (st->io && st->finishing) {
		stream_over(st);
		return false;
	}
	return true;
}

static gboolean on_writable(GSocket *socket, GIOCondition cond, gpointer data)
{
	struct relay_stream *st = data;

	/* flush() removes this source itself when it is no longer needed. */
	flush(st);
	return G_SOURCE_CONTINUE;
}

void relay_stream_attach(struct relay_stream *st, GIOStream *io, GSocket *socket, GBytes *head)
{
	st->io = io;
	st->socket = socket;
	g_socket_set_blocking(socket, FALSE);
	g_queue_push_head(&st->out, g_bytes_ref(head));
	st->pending += g_bytes_get_size(head);
	flush(st);
}

bool relay_stream_send(struct relay_stream *st, GBytes *bytes)
{
	size_t size = g_bytes_get_size(bytes);

	if (st->over || st->finishing || st->pending + size > st->max_pending)
		return false;
	g_queue_push_tail(&st->out, g_bytes_ref(bytes));
	st->pending += size;
	/* While the socket is full, the writable source takes care. */
	return st->writable ? true : flush(st);
}

void relay_stream_finish(struct relay_stream *st)
{
	st->finishing = true;
	if (!st->writable)
		flush(st);
}

GBytes *relay_stream_head(bool http10, const char *instance, guint64 after)
{
	char *head = g_strdup_printf("HTTP/1.%c 200 OK\r\n"
				     "Content-Type: " RELAY_STREAM_CONTENT_TYPE "\r\n"
				     "Cache-Control: no-store\r\n"
				     "Connection: close\r\n"
				     "X-Accel-Buffering: no\r\n"
				     RELAY_HEADER_INSTANCE ": %s\r\n"
				     RELAY_HEADER_AFTER ": %" G_GUINT64_FORMAT "\r\n"
				     "\r\n",
				     http10 ? '0' : '1', instance, after);

	return g_bytes_new_take(head, strlen(head));
}

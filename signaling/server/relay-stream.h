/* The sending half of one subscription stream of `wice signal-server`.
 *
 * libsoup parses and checks the subscription request; then the server
 * takes the connection over (soup_server_message_steal_connection()) and
 * this writes the response head and the frames itself.  libsoup keeps a
 * GSource for every paused response, which makes each main loop iteration
 * cost O(subscribers); a relay_stream holds none while its socket accepts
 * data, so ten thousand idle subscribers cost memory and nothing else.
 *
 * Bytes are queued as GBytes (frames are shared with the store and other
 * subscribers) and written with one vectored send per wake-up; a writable
 * GSource exists only while the socket is full.  The socket's timeout (set
 * when it was accepted) bounds how long a full socket may stay full. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <gio/gio.h>

struct relay_stream;

/* on_done(user) is called once, when the stream is over: written out after
 * relay_stream_finish(), or the connection failed.  It may be called from
 * inside relay_stream_send() or relay_stream_finish(). */
struct relay_stream *relay_stream_new(size_t max_pending, void (*on_done)(void *user), void *user);
/* Closes the connection (if attached) and frees; accepts NULL. */
void relay_stream_free(struct relay_stream *st);

/* Starts writing on io (whose socket is `socket`): head first, then
 * whatever was queued before. */
void relay_stream_attach(struct relay_stream *st, GIOStream *io, GSocket *socket, GBytes *head);

/* Queues bytes and writes what the socket takes.  Returns false when the
 * stream is over or more than max_pending bytes would wait. */
bool relay_stream_send(struct relay_stream *st, GBytes *bytes);

/* Ends the stream once everything queued is written. */
void relay_stream_finish(struct relay_stream *st);

/* The response head for a stream (HTTP/1.1 or 1.0 as the request was).
 * The body has no declared length: it runs until the server closes the
 * connection (RFC 9112, section 6.3). */
GBytes *relay_stream_head(bool http10, const char *instance, guint64 after);

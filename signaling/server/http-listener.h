/* Accepts the signal server's TCP connections and hands them to libsoup
 * with soup_server_accept_iostream(), after the connection caps.
 *
 * Why not soup_server_listen(): libsoup 3.2 (Debian 12) leaks the GSocket
 * of every connection its listener accepts, and the file descriptor of every
 * keep-alive connection that its client closes while idle (both fixed in
 * libsoup 3.3).  libsoup keeps a connection alive only while the server has
 * a listener of its own, so connections handed over this way are closed
 * after one response, which avoids both.  Clients with several messages
 * send them in one batch request instead.  Accepting ourselves also lets
 * the per-address and total caps refuse a connection before it costs
 * anything, and gives every connection an idle timeout.
 *
 * The idle timeout starts again with every byte, so a client that sends a
 * byte now and then would hold its connection for ever: the request head
 * has a deadline from the accept, the body one from the end of the head,
 * and connections whose request is still arriving have a cap per address
 * besides the caps on all connections.  After a surge of connections the
 * freed memory goes back to the system. */
#pragma once

#include <stdbool.h>
#include <libsoup/soup.h>

struct http_listener_limits {
	unsigned max_connections;  /* all clients together */
	unsigned max_per_addr;	   /* per IPv4 address or IPv6 /64 */
	unsigned max_incomplete;   /* per address, with the request still arriving */
	unsigned idle_timeout;	   /* seconds a connection may stall */
	unsigned header_timeout;   /* seconds from the accept to the end of the head */
	unsigned body_timeout;	   /* seconds from the end of the head to that of the body */
};

struct http_listener;

struct http_listener *http_listener_new(SoupServer *soup, const struct http_listener_limits *limits);
void http_listener_free(struct http_listener *hl);

/* Listens on addr (a literal address; port 0 picks one).  Returns the
 * address actually bound, or NULL. */
GSocketAddress *http_listener_add(struct http_listener *hl, GInetSocketAddress *addr, GError **error);

/* The key the caps count msg's client by (its IPv4 address mapped to
 * IPv6, or its IPv6 /64), for quotas elsewhere.  False if msg did not
 * come through a listener. */
bool http_listener_client_key(SoupServerMessage *msg, uint8_t ret_key[16]);

/* A connection's place under the caps. */
struct http_conn;

/* Takes the connection msg came in on out of libsoup's accounting, for a
 * caller about to steal it (soup_server_message_steal_connection()): the
 * connection then counts until http_conn_release().  NULL if not ours. */
struct http_conn *http_listener_take(SoupServerMessage *msg);
GSocket *http_conn_socket(const struct http_conn *conn);
void http_conn_release(struct http_conn *conn);

/* Answers a taken connection (io is its stream) whose request we refused
 * without reading its body, and closes it: writes answer (a few hundred
 * bytes), ends our direction so that the client sees the answer whole,
 * and closes the connection a little later, still counted by the caps,
 * without reading anything more.  Closing at once with unread bytes would
 * send a reset, which can destroy the answer on its way.  Takes conn and
 * io. */
void http_listener_answer_and_close(struct http_conn *conn, GIOStream *io, GBytes *answer);


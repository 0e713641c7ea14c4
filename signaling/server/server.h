/* `wice signal-server`: the HTTP relay through which wice daemons behind
 * NATs exchange their (end-to-end encrypted) ICE messages, on libsoup.
 *
 * Anyone may post to a mailbox, one message per request or a batch of them
 * to several mailboxes; reading one needs a signature by the mailbox's
 * secret key over a fresh server challenge.  Subscribers get a stream of
 * frames that runs until the connection closes.  Every resource a client
 * can make us hold has a cap.  docs/SIGNAL-SERVER.md is the protocol reference; mailbox.c holds
 * the store, challenge.c the proofs, stun-responder.c the optional STUN. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <gio/gio.h>

#include "mailbox.h"

struct signal_server_config {
	GPtrArray *listen;	 /* GInetSocketAddress; must not be empty */
	bool listen_default;	 /* listen holds the defaults: skip IPv6 if absent */
	uint16_t stun_port;	 /* 0: no STUN responder */
	struct mailbox_limits limits;
	unsigned max_connections;    /* all clients together */
	unsigned max_conns_per_addr; /* per IPv4 address or IPv6 /64 */
	unsigned max_incomplete_per_addr; /* of those, with the request still arriving */
	unsigned idle_timeout;	     /* seconds a connection may stall */
	unsigned header_timeout;     /* seconds for the request head, from the accept */
	unsigned body_timeout;	     /* seconds for the body, from the end of the head */
	unsigned keepalive;	     /* seconds between keepalive frames */
	unsigned challenge_ttl;	     /* seconds a challenge is valid */
};

#define SIGNAL_SERVER_DEFAULT_PORT 8080

/* Fills in the documented defaults (listen stays empty). */
void signal_server_config_defaults(struct signal_server_config *cfg);

struct signal_server;

/* Starts listening on the default GMainContext. */
struct signal_server *signal_server_new(const struct signal_server_config *cfg, GError **error);
void signal_server_free(struct signal_server *srv);

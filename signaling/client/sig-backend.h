/* The signaling backend interface: carries sealed envelopes (opaque bytes,
 * see sig-envelope.h) between wice daemons.
 *
 * The daemon does not care which backend carries a message; several run at
 * once and the same envelope may arrive through more than one of them, which
 * the envelope's replay protection makes harmless.  Backends run on the
 * thread-default GLib main context and never block it.
 *
 * Addressing: on a relay (the HTTP backend and `wice signal-server`) a
 * message goes to a per-direction mailbox id (sig-relay.h) and the reader
 * proves it holds the mailbox's secret key.  On etcd the same id names a
 * key prefix; etcd's own access control decides who may read it.  Backends without a relay (LAN
 * multicast) ignore the ids: every daemon receives every envelope and keeps
 * those addressed to it (sig_envelope_open checks the envelope's own
 * recipient field). */
#pragma once

#include <gio/gio.h>
#include <stdbool.h>
#include <stdint.h>

#include "signaling/relay-proto.h"

#include <netinet/in.h>

struct sig_backend;

/* Where an envelope came from, on a backend that can answer its sender
 * directly: LAN multicast gives the sending daemon's own unicast socket,
 * so that a reply reaches that daemon alone instead of every host on the
 * link.  Opaque to the daemon, which keeps the last one per peer and
 * hands it back when publishing to that peer. */
struct sig_route {
	struct sig_backend *backend; /* NULL: no route */
	union {
		struct sockaddr sa;
		struct sockaddr_in v4;
		struct sockaddr_in6 v6;
	} addr;
	int ifindex;
};

struct sig_backend_callbacks {
	/* An envelope arrived; @data and @from (NULL: no route back) are
	 * only valid during the call. */
	void (*receive)(struct sig_backend *b, const uint8_t *data, size_t len, const struct sig_route *from,
			void *userdata);
	/* The backend went up (can deliver) or down (@reason says why).  Also
	 * called once while still down, so that a first failure is seen. */
	void (*state_changed)(struct sig_backend *b, bool up, const char *reason, void *userdata);
	/* Optional: true for a network interface that a backend must not use
	 * (WireGuard interfaces and any other the daemon manages: signaling
	 * through the tunnel would depend on the tunnel).  LAN multicast asks
	 * whenever an interface appears or changes. */
	bool (*exclude_interface)(const char *ifname, void *userdata);
	void *userdata;
};

/* A mailbox we read, on backends that have mailboxes. */
struct sig_subscription {
	uint8_t id[RELAY_ID_LEN];
	uint8_t secret[RELAY_SECRET_KEY_LEN];
};

/* What a backend may need besides its URL: the TLS files for etcds://
 * (PEM paths; NULL: the system's CAs, no client certificate). */
struct sig_backend_options {
	const char *tls_ca;
	const char *tls_cert;
	const char *tls_key;
};

/* Creates a backend from a signaling URL: "mcast://", "mcast://GROUP:PORT",
 * "http://HOST:PORT", "https://HOST:PORT", "etcd://HOST:PORT[,...][/PREFIX]"
 * or "etcds://...".  It starts connecting at once and reports progress
 * through state_changed. */
struct sig_backend *sig_backend_new(const char *url, const struct sig_backend_callbacks *cb, GError **error);
/* The same with @options (NULL: none). */
struct sig_backend *sig_backend_new_with(const char *url, const struct sig_backend_options *options,
					 const struct sig_backend_callbacks *cb, GError **error);
/* Accepts NULL.  No callback runs after this returns.  Not to be called
 * from inside one of the backend's callbacks. */
void sig_backend_free(struct sig_backend *b);

/* Queues an envelope for the mailbox @id.  With @via (a route this
 * backend reported with an envelope from the recipient) it goes that way
 * only; a route of another backend, or NULL, means the usual way.
 * Returns 0, or a negative errno when the backend cannot take it now
 * (queue full, message too big). */
int sig_backend_publish(struct sig_backend *b, const uint8_t id[RELAY_ID_LEN], const uint8_t *data, size_t len,
			const struct sig_route *via);
/* Starts or stops reading a mailbox.  Subscribing twice is harmless. */
int sig_backend_subscribe(struct sig_backend *b, const struct sig_subscription *sub);
void sig_backend_unsubscribe(struct sig_backend *b, const uint8_t id[RELAY_ID_LEN]);

bool sig_backend_is_up(const struct sig_backend *b);
const char *sig_backend_url(const struct sig_backend *b);

/* A STUN Binding responder (RFC 5389, no authentication) for
 * `wice signal-server --stun-port`, so that one public host gives clients
 * both signaling and server-reflexive candidates.  Built on libnice's STUN
 * codec; stun_responder_answer() is pure and tested on its own, the rest
 * reads and answers datagrams on UDP sockets from the GLib main loop. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <gio/gio.h>

struct stun_responder;

struct stun_responder *stun_responder_new(void);
void stun_responder_free(struct stun_responder *r);

/* Builds the answer to the datagram req received from `from`.  Returns its
 * length, or 0 when nothing should be sent (not a STUN request, not for
 * us, a response, ...). */
size_t stun_responder_answer(struct stun_responder *r, const uint8_t *req, size_t len,
			     const struct sockaddr_storage *from, socklen_t from_len, uint8_t *out,
			     size_t out_size);

/* Answers Binding requests arriving at addr (a literal address and port). */
bool stun_responder_listen(struct stun_responder *r, GInetSocketAddress *addr, GError **error);

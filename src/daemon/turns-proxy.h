/* TURN over TLS (`turns:` URLs) done by wice itself: libnice 0.1.21 opens
 * a plain TCP connection for NICE_RELAY_TYPE_TURN_TLS in RFC 5245 mode
 * (its only TLS is the "pseudo-SSL" of the Google and OC2007 modes), so
 * it would speak plain TURN to the TLS port.  Instead libnice gets a
 * plain TCP TURN server on loopback, and each of its connections is
 * carried to the real server over TLS (GIO's, with the system's
 * certificate store and the URL's host name as the server identity).
 * A server whose certificate does not check out gets no relay at all. */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "wice-config.h"

struct turns_proxies;

struct turns_proxies *turns_proxies_new(void);
void turns_proxies_free(struct turns_proxies *p);
/* Gives every turns: server of @cfg (resolved) a loopback port
 * (wice_ice_server.local_port), starting a proxy for each server not
 * seen before; a server that cannot get one keeps port 0. */
void turns_proxies_update(struct turns_proxies *p, struct wice_config *cfg);

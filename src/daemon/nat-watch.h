/* The daemon's own view of the NAT in front of it, for `wice show` to
 * explain a path: at start, after a reload and when the network changes,
 * one nat-probe.h run from one UDP socket to every STUN server and UDP
 * TURN server of the configuration (Binding requests).  With two
 * destinations it tells a NAT that maps per destination from one that
 * does not; with one, only whether ports are preserved.
 *
 * A few datagrams per run; runs are at least NAT_WATCH_DELAY_MS apart
 * (GLib reports a network change for every route the kernel adds). */
#pragma once

#include <stdbool.h>

#include "nat-probe.h"
#include "wice-config.h"

#define NAT_WATCH_DELAY_MS 2000
#define NAT_WATCH_TIMEOUT_MS 3000

struct nat_watch;

struct nat_watch *nat_watch_new(void);
/* Accepts NULL. */
void nat_watch_free(struct nat_watch *w);
/* Probes with @cfg's servers after @delay_ms (a pending run is replaced). */
void nat_watch_schedule(struct nat_watch *w, const struct wice_iface_settings *cfg, guint delay_ms);
/* The newest finished run; false before the first, or when no server
 * answered. */
bool nat_watch_summary(const struct nat_watch *w, struct nat_summary *ret);
/* How many distinct servers the newest run asked. */
unsigned nat_watch_servers(const struct nat_watch *w);

/* The UDP STUN and TURN servers of @cfg with an address of @family, each
 * address once, at most @max: the destinations of Binding requests
 * (`wice netcheck` asks the same).  Their number. */
size_t nat_binding_servers(const struct wice_iface_settings *cfg, int family, struct sockaddr_storage *ret,
			   socklen_t *ret_lens, size_t max);
/* @s's address (filled in by the resolver) as a socket address. */
bool nat_server_sockaddr(const struct wice_ice_server *s, struct sockaddr_storage *ret, socklen_t *ret_len);

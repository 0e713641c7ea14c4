/* Allowed IPs as prefixes: equality and containment, for moving a peer's
 * addresses between peers (src/daemon/reroute.c) and telling routers by
 * what their allowed IPs cover (src/daemon/facts.c). */
#pragma once

#include <stdbool.h>
#include <sys/socket.h>

#include "wg-device.h"

bool wg_aip_equal(const struct wg_allowed_ip *a, const struct wg_allowed_ip *b);
/* Whether @outer holds every address of @inner (a prefix covers itself). */
bool wg_aip_covers(const struct wg_allowed_ip *outer, const struct wg_allowed_ip *inner);
/* Whether @aip holds the address @addr (4 or 16 bytes after @family). */
bool wg_aip_contains(const struct wg_allowed_ip *aip, sa_family_t family, const void *addr);
/* The host prefix (/32, /128) of one address. */
struct wg_allowed_ip wg_aip_host(sa_family_t family, const void *addr);
/* Whether @aip is among @n entries of @list. */
bool wg_aip_in(const struct wg_allowed_ip *aip, const struct wg_allowed_ip *list, size_t n);

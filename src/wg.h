/* WireGuard device access: one API, two backends.
 *
 * A device with a UAPI socket in /var/run/wireguard (wireguard-go, boringtun)
 * is served by the userspace backend, any other by the kernel's generic
 * netlink family.  All functions return 0 or a negative errno. */
#pragma once

#include "wg-device.h"

/* The names of all WireGuard interfaces in this network namespace. */
int wg_list(struct wg_names *names);
/* Whether @ifname is a WireGuard interface in this namespace. */
bool wg_is_device(const char *ifname);
int wg_get(const char *ifname, struct wg_device **ret_dev);
/* Applies the changes flagged in @changes; peers not named are untouched. */
int wg_set(const char *ifname, const struct wg_device *changes);
enum wg_backend_kind wg_backend_of(const char *ifname);

/* Convenience operations built on wg_set(). */
int wg_set_peer_endpoint(const char *ifname, const uint8_t public_key[WG_KEY_LEN], const union wg_sockaddr *endpoint);
int wg_remove_peer(const char *ifname, const uint8_t public_key[WG_KEY_LEN]);
/* Adds the peer, or updates it if it exists (allowed IPs are replaced). */
int wg_put_peer(const char *ifname, const struct wg_peer *peer);

const char *wg_backend_name(enum wg_backend_kind kind);

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

/* Reading and writing a device through a table, so that a test can put a
 * fake device where the daemon expects WireGuard.  Both may be called from
 * any thread. */
struct wg_ops {
	int (*get)(const char *ifname, struct wg_device **ret_dev);
	int (*set)(const char *ifname, const struct wg_device *changes);
};

/* wg_get and wg_set: the kernel's or userspace WireGuard. */
extern const struct wg_ops wg_system_ops;

/* Convenience operations built on @ops->set (NULL: wg_system_ops). */
int wg_set_peer_endpoint(const struct wg_ops *ops, const char *ifname, const uint8_t public_key[WG_KEY_LEN],
			 const union wg_sockaddr *endpoint);
int wg_remove_peer(const struct wg_ops *ops, const char *ifname, const uint8_t public_key[WG_KEY_LEN]);
/* Adds the peer, or updates it if it exists (allowed IPs are replaced). */
int wg_put_peer(const struct wg_ops *ops, const char *ifname, const struct wg_peer *peer);
/* Rewrites peer @public_key's allowed IPs: @edit gets the current peer
 * and room for its allowed IPs and @extra more, and returns how many it
 * wrote; they replace the list.  WireGuard adds allowed IPs one by one but
 * removes them only by replacing the list, so this is how one goes.
 * Returns 0 (also when there is no such peer) or a negative errno. */
typedef size_t (*wg_aips_edit_fn)(const struct wg_peer *peer, struct wg_allowed_ip *out, void *data);
int wg_edit_allowed_ips(const struct wg_ops *ops, const char *ifname, const uint8_t public_key[WG_KEY_LEN],
			size_t extra, wg_aips_edit_fn edit, void *data);
/* Applies @peer's change as its flags say (WG_PEER_UPDATE_ONLY, and
 * allowed IPs added unless WG_PEER_REPLACE_ALLOWED_IPS). */
int wg_change_peer(const struct wg_ops *ops, const char *ifname, const struct wg_peer *peer);

const char *wg_backend_name(enum wg_backend_kind kind);

/* Dispatch between the kernel and userspace WireGuard backends. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wg-netlink.h"
#include "wg-uapi.h"
#include "wg.h"

static enum wg_backend_kind wg_backend_of(const char *ifname)
{
	return wg_uapi_exists(ifname) ? WG_BACKEND_USERSPACE : WG_BACKEND_KERNEL;
}

const char *wg_backend_name(enum wg_backend_kind kind)
{
	switch (kind) {
	case WG_BACKEND_KERNEL:
		return "kernel";
	case WG_BACKEND_USERSPACE:
		return "userspace";
	default:
		return "none";
	}
}

int wg_list(struct wg_names *names)
{
	int r = wg_netlink_list(names);

	/* Without rtnetlink (odd sandboxes) userspace devices still count. */
	if (r < 0 && r != -EPROTONOSUPPORT && r != -EACCES && r != -EPERM)
		return r;
	return wg_uapi_list(names);
}

bool wg_is_device(const char *ifname)
{
	struct wg_names names = { 0 };
	bool found = wg_list(&names) == 0 && wg_names_contains(&names, ifname);

	wg_names_clear(&names);
	return found;
}

int wg_get(const char *ifname, struct wg_device **ret_dev)
{
	if (wg_backend_of(ifname) == WG_BACKEND_USERSPACE)
		return wg_uapi_get(ifname, ret_dev);
	return wg_netlink_get(ifname, ret_dev);
}

int wg_set(const char *ifname, const struct wg_device *changes)
{
	if (wg_backend_of(ifname) == WG_BACKEND_USERSPACE)
		return wg_uapi_set(ifname, changes);
	return wg_netlink_set(ifname, changes);
}

const struct wg_ops wg_system_ops = {
	.get = wg_get,
	.set = wg_set,
};

/* Sends a change that names one peer and nothing else on the device. */
static int set_one_peer(const struct wg_ops *ops, const char *ifname, const struct wg_peer *peer)
{
	struct wg_device changes = { 0 };

	changes.peers = (struct wg_peer *)peer;
	changes.n_peers = 1;
	return (ops ? ops : &wg_system_ops)->set(ifname, &changes);
}

int wg_set_peer_endpoint(const struct wg_ops *ops, const char *ifname, const uint8_t public_key[WG_KEY_LEN], const union wg_sockaddr *endpoint)
{
	struct wg_peer peer = { .set = WG_PEER_UPDATE_ONLY | WG_PEER_SET_ENDPOINT };

	if (!wg_sockaddr_len(endpoint))
		return -EAFNOSUPPORT;
	memcpy(peer.public_key, public_key, WG_KEY_LEN);
	peer.endpoint = *endpoint;
	return set_one_peer(ops, ifname, &peer);
}

int wg_remove_peer(const struct wg_ops *ops, const char *ifname, const uint8_t public_key[WG_KEY_LEN])
{
	struct wg_peer peer = { .set = WG_PEER_REMOVE };

	memcpy(peer.public_key, public_key, WG_KEY_LEN);
	return set_one_peer(ops, ifname, &peer);
}

int wg_change_peer(const struct wg_ops *ops, const char *ifname, const struct wg_peer *peer)
{
	return set_one_peer(ops, ifname, peer);
}

int wg_put_peer(const struct wg_ops *ops, const char *ifname, const struct wg_peer *peer)
{
	struct wg_peer change = *peer;

	change.set |= WG_PEER_REPLACE_ALLOWED_IPS;
	change.set &= ~(unsigned)(WG_PEER_REMOVE | WG_PEER_UPDATE_ONLY);
	return set_one_peer(ops, ifname, &change);
}

int wg_edit_allowed_ips(const struct wg_ops *ops, const char *ifname, const uint8_t public_key[WG_KEY_LEN],
			size_t extra, wg_aips_edit_fn edit, void *data)
{
	struct wg_peer change = { .set = WG_PEER_UPDATE_ONLY | WG_PEER_REPLACE_ALLOWED_IPS };
	struct wg_device *dev = NULL;
	const struct wg_peer *peer;
	int r = (ops ? ops : &wg_system_ops)->get(ifname, &dev);

	if (r == 0 && (peer = wg_device_find_peer(dev, public_key))) {
		memcpy(change.public_key, public_key, WG_KEY_LEN);
		change.allowed_ips = calloc(peer->n_allowed_ips + extra + 1, sizeof(*change.allowed_ips));
		if (!change.allowed_ips) {
			r = -ENOMEM;
		} else {
			change.n_allowed_ips = edit(peer, change.allowed_ips, data);
			r = set_one_peer(ops, ifname, &change);
		}
		free(change.allowed_ips);
	}
	wg_device_free(dev);
	return r;
}

/* Addresses bound to keys on a managed interface (iface.h): ours on the
 * interface (the link-local with a /64, whose on-link route reaches every
 * peer's, and the key address as a /128), each peer's two /128s in its
 * allowed IPs and a route for its key address through the interface.
 * What wice added, and only that, goes again when it lets go: allowed IPs
 * the operator had already listed stay. */
#include "config.h"

#include <net/if.h>
#include <string.h>

#include "mesh/mesh-rtnl.h"
#include "peer.h"
#include "wg/wg-keyaddr.h"

bool link_addr_wanted(const struct wice_iface *iface)
{
	enum wice_tristate want = iface_settings(iface)->link_addresses;

	return want == WICE_YES || (want == WICE_DEFAULT && iface->is_mesh);
}

static void rtnl_note(const struct wice_iface *iface, const char *what, int r, const struct mesh_rtnl_msg *msg)
{
	if (r < 0 && r != -EEXIST && r != -ENODEV)
		g_message("%s: cannot %s: %s%s%s", iface->name, what, g_strerror(-r), *msg->text ? ": " : "",
			  msg->text);
}

static void own_addresses(struct wice_iface *iface, bool add)
{
	struct mesh_rtnl_msg msg;
	int r;

	r = mesh_rtnl_address(add, iface->link_ifindex, AF_INET6, &iface->link_ll, 64, &msg);
	rtnl_note(iface, add ? "add the link-local address" : "remove the link-local address", r, &msg);
	r = mesh_rtnl_address(add, iface->link_ifindex, AF_INET6, &iface->link_key, 128, &msg);
	rtnl_note(iface, add ? "add the key address" : "remove the key address", r, &msg);
}

void link_addr_iface_apply(struct wice_iface *iface)
{
	struct in6_addr ll, key;

	if (!iface->have_identity || !link_addr_wanted(iface))
		return;
	wg_key_link_local(iface->identity.public_key, &ll);
	wg_key_address(iface->identity.public_key, &key);
	if (iface->link_own_added && !memcmp(&ll, &iface->link_ll, sizeof(ll)))
		return;
	if (iface->link_own_added) {
		tunnel_signal_close(iface); /* the interface's key changed */
		own_addresses(iface, false);
	}
	iface->link_ifindex = if_nametoindex(iface->name);
	iface->link_ll = ll;
	iface->link_key = key;
	iface->link_own_added = iface->link_ifindex != 0;
	if (iface->link_own_added)
		own_addresses(iface, true);
	tunnel_signal_open(iface);
}

void link_addr_iface_release(struct wice_iface *iface)
{
	tunnel_signal_close(iface);
	if (iface->link_own_added && !iface->device_gone)
		own_addresses(iface, false);
	iface->link_own_added = false;
}

static bool has_aip(const struct wg_peer *wgp, const struct in6_addr *a)
{
	for (size_t i = 0; i < wgp->n_allowed_ips; i++)
		if (wgp->allowed_ips[i].family == AF_INET6 && wgp->allowed_ips[i].cidr == 128 &&
		    !memcmp(&wgp->allowed_ips[i].addr.v6, a, sizeof(*a)))
			return true;
	return false;
}

static struct wg_allowed_ip host_aip(const struct in6_addr *a)
{
	struct wg_allowed_ip aip = { .family = AF_INET6, .cidr = 128 };

	aip.addr.v6 = *a;
	return aip;
}

static void peer_route(struct wice_peer *peer, bool add)
{
	struct wice_iface *iface = peer->iface;
	struct mesh_rtnl_msg msg;
	struct in6_addr key;
	int r;

	wg_key_address(peer->public_key, &key);
	r = mesh_rtnl_route(add, iface->link_ifindex, AF_INET6, &key, 128, &msg);
	rtnl_note(iface, add ? "add the route to a peer's key address" : "remove a route", r, &msg);
	peer->link_route_added = add && (r == 0 || r == -EEXIST);
}

void link_addr_peer_apply(struct wice_peer *peer, const struct wg_peer *wgp)
{
	struct wg_allowed_ip aips[2];
	struct in6_addr ll, key;
	size_t n = 0;

	if (!peer->iface->link_own_added)
		return;
	wg_key_link_local(peer->public_key, &ll);
	wg_key_address(peer->public_key, &key);
	/* Only what is missing, so that only what we added goes at the end. */
	if (!has_aip(wgp, &ll)) {
		aips[n++] = host_aip(&ll);
		peer->link_ll_added = true;
	}
	if (!has_aip(wgp, &key)) {
		aips[n++] = host_aip(&key);
		peer->link_key_added = true;
	}
	if (n)
		peer_wg_add_allowed_ips(peer, aips, n);
	peer_route(peer, true);
}

void link_addr_peer_release(struct wice_peer *peer)
{
	struct wg_allowed_ip aips[2];
	struct in6_addr a;
	size_t n = 0;

	if (peer->link_ll_added) {
		wg_key_link_local(peer->public_key, &a);
		aips[n++] = host_aip(&a);
	}
	if (peer->link_key_added) {
		wg_key_address(peer->public_key, &a);
		aips[n++] = host_aip(&a);
	}
	if (n && !peer->iface->device_gone)
		peer_wg_remove_allowed_ips(peer, aips, n);
	if (peer->link_route_added && !peer->iface->device_gone)
		peer_route(peer, false);
	link_addr_peer_forget(peer);
}

void link_addr_peer_forget(struct wice_peer *peer)
{
	peer->link_ll_added = peer->link_key_added = false;
	if (peer->link_route_added && !peer->iface->device_gone)
		peer_route(peer, false);
	peer->link_route_added = false;
}

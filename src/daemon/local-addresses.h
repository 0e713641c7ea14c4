/* The local addresses ICE may gather on (local-addresses.c). */
#pragma once

#include <glib.h>
#include <net/if.h>
#include <stdbool.h>

/* Appends (struct sockaddr_storage) every usable address on an interface
 * that is neither WireGuard nor @excluded. */
void local_addresses_list(bool (*excluded)(const char *netif, void *data), void *data, GArray *ret);

/* The list above, read again only when it may have changed: facts, mesh
 * announcements and every agent ask for it, and one read costs a netlink
 * dump, a WireGuard device listing and a socket per UAPI socket in
 * /var/run/wireguard (all the namespaces' on a host of many). */
struct local_addresses_cache {
	GArray *addrs; /* NULL: to be read */
	gint64 read_us;
};

/* Appends the cached list to @ret, reading it first when it is older than
 * a second or was invalidated. */
void local_addresses_cached(struct local_addresses_cache *cache, bool (*excluded)(const char *netif, void *data),
			    void *data, GArray *ret);
/* The network, the WireGuard interfaces or the exclusions changed. */
void local_addresses_invalidate(struct local_addresses_cache *cache);

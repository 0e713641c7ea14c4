/* The local addresses ICE may gather on.
 *
 * Every up, non-loopback address except those on WireGuard interfaces and
 * on [ice] interfaces-exclude, and no IPv6 link-local (it needs scope ids
 * end to end).  WireGuard interfaces are asked for here, not only taken
 * from the watcher: at start-up the watcher reports the interfaces one by
 * one, and a managed interface's peers start before a WireGuard interface
 * listed after it is known.  A peer then gathered on another tunnel's
 * address, and its traffic went through that tunnel (seen in the data
 * path benchmark, at half the throughput). */
#include "config.h"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <string.h>

#include "local-addresses.h"
#include "wg/wg.h"

static bool usable(const struct ifaddrs *ifa)
{
	if (!ifa->ifa_addr || !(ifa->ifa_flags & IFF_UP) || (ifa->ifa_flags & IFF_LOOPBACK))
		return false;
	if (ifa->ifa_addr->sa_family == AF_INET)
		return true;
	return ifa->ifa_addr->sa_family == AF_INET6 &&
	       !IN6_IS_ADDR_LINKLOCAL(&((const struct sockaddr_in6 *)(const void *)ifa->ifa_addr)->sin6_addr);
}

void local_addresses_list(bool (*excluded)(const char *netif, void *data), void *data, GArray *ret)
{
	struct wg_names wireguard = { 0 };
	struct ifaddrs *list = NULL;

	if (getifaddrs(&list) < 0)
		return;
	if (wg_list(&wireguard) < 0)
		g_debug("cannot list WireGuard interfaces; using the watcher's");
	for (struct ifaddrs *ifa = list; ifa; ifa = ifa->ifa_next) {
		struct sockaddr_storage ss = { 0 };

		if (!usable(ifa) || excluded(ifa->ifa_name, data) || wg_names_contains(&wireguard, ifa->ifa_name))
			continue;
		memcpy(&ss, ifa->ifa_addr,
		       ifa->ifa_addr->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
		g_array_append_val(ret, ss);
	}
	freeifaddrs(list);
	wg_names_clear(&wireguard);
}

/* A second bounds what a change nobody announced can go unseen. */
#define CACHE_FRESH_US G_USEC_PER_SEC

void local_addresses_cached(struct local_addresses_cache *cache, bool (*excluded)(const char *netif, void *data),
			    void *data, GArray *ret)
{
	gint64 now = g_get_monotonic_time();

	if (!cache->addrs || now - cache->read_us >= CACHE_FRESH_US) {
		if (!cache->addrs)
			cache->addrs = g_array_new(FALSE, FALSE, sizeof(struct sockaddr_storage));
		g_array_set_size(cache->addrs, 0);
		local_addresses_list(excluded, data, cache->addrs);
		cache->read_us = now;
	}
	g_array_append_vals(ret, cache->addrs->data, cache->addrs->len);
}

void local_addresses_invalidate(struct local_addresses_cache *cache)
{
	g_clear_pointer(&cache->addrs, g_array_unref);
}

/* Notices WireGuard interfaces appearing and disappearing in this network
 * namespace, without polling.
 *
 * Kernel devices are seen through rtnetlink link events; userspace devices
 * (wireguard-go, boringtun) through their UAPI sockets appearing in
 * /var/run/wireguard.  That directory is shared by all network namespaces,
 * so a socket only counts while an interface of its name exists here, and a
 * userspace device also goes away with its tun interface (a wireguard-go
 * killed with SIGKILL leaves its socket behind). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <linux/netlink.h>

#include "wg/wg-device.h"

struct wg_watch;

/* @kind is the backend of the interface; for a removal, the one it had.
 * The callback must not free the watch. */
typedef void (*wg_watch_fn)(const char *ifname, bool added, enum wg_backend_kind kind, void *user_data);

/* Starts watching in the thread-default GMainContext.  Interfaces that exist
 * already are reported as added from that context's loop, never from inside
 * this call; each interface is reported added once until it is removed.
 * Returns 0 or a negative errno. */
int wg_watch_new(wg_watch_fn fn, void *user_data, struct wg_watch **ret_watch);
/* Stops watching; no callback runs afterwards.  Accepts NULL. */
void wg_watch_free(struct wg_watch *watch);

/* One RTM_NEWLINK or RTM_DELLINK message as the watcher reads it; @name
 * points into the message.  Pure, for tests and tests/fuzz/fuzz-wg-watch.c. */
struct wg_link_event {
	uint32_t ifindex;
	const char *name; /* NUL-terminated, shorter than IFNAMSIZ */
	bool wireguard;
};

/* False for a message without an interface index or a usable name. */
bool wg_watch_parse_link(const struct nlmsghdr *nlh, struct wg_link_event *ret);

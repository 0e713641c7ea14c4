/* Kernel WireGuard backend: the generic netlink "wireguard" family, through
 * libmnl.  Listing uses an rtnetlink link dump filtered on the link kind.
 *
 * wg_netlink_parse_device_msg() is the pure half: it folds one
 * WG_CMD_GET_DEVICE reply message into a device, so that the multi-part
 * dump can be unit tested and fuzzed without a kernel. */
#pragma once

#include <linux/netlink.h>
#include <stddef.h>

#include "wg-device.h"

int wg_netlink_get(const char *ifname, struct wg_device **ret_dev);
int wg_netlink_set(const char *ifname, const struct wg_device *changes);
int wg_netlink_list(struct wg_names *names);
/* Whether an rtnetlink link message's IFLA_LINKINFO (may be NULL) says
 * the link is WireGuard (kind "wireguard"). */
bool wg_netlink_link_is_wireguard(const struct nlattr *linkinfo);
/* How many bytes at the start of a datagram that a netlink socket received
 * are whole messages of sane length: what may be walked with libmnl.
 * Before 1.0.5, libmnl's mnl_nlmsg_ok() (and so mnl_cb_run()) compares a
 * message's length as an int: one of 2 GiB or more passes, and the walk
 * jumps out of the buffer. */
size_t wg_netlink_msgs_len(const void *buf, size_t len);

/* Folds one message of a WG_CMD_GET_DEVICE dump into @dev.  A peer split over
 * two messages (the kernel does this for peers with many allowed IPs) is
 * continued, not duplicated.  Unknown attributes are skipped.  Returns 0 or a
 * negative errno (-EPROTO for malformed attributes, -E2BIG over a cap). */
int wg_netlink_parse_device_msg(const struct nlmsghdr *nlh, struct wg_device *dev);

/* PLACEHOLDER: replaced by the kernel backend. */
#include "config.h"
#include <errno.h>
#include "wg-netlink.h"
int wg_netlink_get(const char *ifname, struct wg_device **ret_dev) { return -EOPNOTSUPP; }
int wg_netlink_set(const char *ifname, const struct wg_device *changes) { return -EOPNOTSUPP; }
int wg_netlink_list(struct wg_names *names) { return 0; }
int wg_netlink_parse_device_msg(const struct nlmsghdr *nlh, struct wg_device *dev) { return -EOPNOTSUPP; }

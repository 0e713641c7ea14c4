/* The interface watcher's reading of link messages: a WireGuard device,
 * another kind, and the names and messages it must not take (no name,
 * no NUL, too long, no index, cut short). */
#include "config.h"

#include <criterion/criterion.h>
#include <stdalign.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "daemon/wg-watch.h"

static struct nlmsghdr *link_msg(void *buf, int ifindex, const char *kind)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = RTM_NEWLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_index = ifindex;
	if (kind) {
		struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);

		mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
		mnl_attr_nest_end(nlh, info);
	}
	return nlh;
}

Test(wg_watch, wireguard_link)
{
	alignas(struct nlmsghdr) uint8_t buf[256] = { 0 };
	struct nlmsghdr *nlh = link_msg(buf, 9, "wireguard");
	struct wg_link_event ev;

	mnl_attr_put_strz(nlh, IFLA_IFNAME, "wg0");
	cr_assert(wg_watch_parse_link(nlh, &ev));
	cr_assert_eq(ev.ifindex, 9);
	cr_assert_str_eq(ev.name, "wg0");
	cr_assert(ev.wireguard);
}

Test(wg_watch, other_link)
{
	alignas(struct nlmsghdr) uint8_t buf[256] = { 0 };
	struct nlmsghdr *nlh = link_msg(buf, 2, "veth");
	struct wg_link_event ev;

	mnl_attr_put_strz(nlh, IFLA_IFNAME, "veth0");
	cr_assert(wg_watch_parse_link(nlh, &ev));
	cr_assert_not(ev.wireguard);
}

Test(wg_watch, names_refused)
{
	alignas(struct nlmsghdr) uint8_t buf[256] = { 0 };
	struct wg_link_event ev;
	struct nlmsghdr *nlh;

	cr_assert_not(wg_watch_parse_link(link_msg(buf, 3, "wireguard"), &ev));
	nlh = link_msg(buf, 3, "wireguard");
	mnl_attr_put(nlh, IFLA_IFNAME, 3, "wg0");
	cr_assert_not(wg_watch_parse_link(nlh, &ev));
	nlh = link_msg(buf, 3, "wireguard");
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "sixteen-bytes-12");
	cr_assert_not(wg_watch_parse_link(nlh, &ev));
	nlh = link_msg(buf, 0, "wireguard");
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "wg0");
	cr_assert_not(wg_watch_parse_link(nlh, &ev));
}

/* A message cut short before its name is refused.  (libmnl reads a
 * message up to its aligned length, as netlink pads messages: a cut
 * within the padding of the last attribute does not count.) */
Test(wg_watch, every_truncation)
{
	alignas(struct nlmsghdr) uint8_t buf[256] = { 0 };
	struct nlmsghdr *nlh = link_msg(buf, 4, NULL);
	uint32_t full;

	mnl_attr_put_strz(nlh, IFLA_IFNAME, "wg1");
	full = nlh->nlmsg_len;
	for (uint32_t len = sizeof(*nlh); MNL_ALIGN(len) < full; len++) {
		struct wg_link_event ev;

		nlh->nlmsg_len = len;
		cr_assert_not(wg_watch_parse_link(nlh, &ev), "took a message of %u of %u bytes", len, full);
	}
}

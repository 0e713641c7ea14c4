/* The multicast backend's parsers; see mcast-input.h. */
#include "config.h"

#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <glib.h>

#include "mcast-input.h"
#include "wg/wg-netlink.h"

static int link_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, IFLA_MAX) > 0)
		tb[type] = attr;
	return MNL_CB_OK;
}

bool mcast_link_parse(const struct nlmsghdr *nlh, struct mcast_link *ret)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFLA_MAX + 1] = { NULL };
	struct mcast_link link = { 0 };

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifi)) || ifi->ifi_index <= 0)
		return false;
	mnl_attr_parse(nlh, sizeof(*ifi), link_attr_cb, tb);
	link.ifindex = ifi->ifi_index;
	if (tb[IFLA_IFNAME] && mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING) == 0) {
		link.has_name = true;
		g_strlcpy(link.name, mnl_attr_get_str(tb[IFLA_IFNAME]), sizeof(link.name));
	}
	link.flags = ifi->ifi_flags;
	link.has_master = tb[IFLA_MASTER] && mnl_attr_get_payload_len(tb[IFLA_MASTER]) >= 4 &&
			  mnl_attr_get_u32(tb[IFLA_MASTER]) != 0;
	link.wireguard = wg_netlink_link_is_wireguard(tb[IFLA_LINKINFO]);
	*ret = link;
	return true;
}

static int addr_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, IFA_MAX) > 0)
		tb[type] = attr;
	return MNL_CB_OK;
}

/* IPv6: only link-local addresses that can be used as a source (DAD
 * passed), because that is what link-scope multicast is sent from. */
bool mcast_addr_parse(const struct nlmsghdr *nlh, int *ret_ifindex, struct mcast_addr *ret, bool *ret_usable)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFA_MAX + 1] = { NULL };
	const struct nlattr *attr;
	struct mcast_addr a = { 0 };
	uint32_t flags;
	size_t len;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifa)) || ifa->ifa_index == 0 ||
	    (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
		return false;
	len = ifa->ifa_family == AF_INET ? 4 : 16;
	flags = ifa->ifa_flags;
	mnl_attr_parse(nlh, sizeof(*ifa), addr_attr_cb, tb);
	attr = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!attr || mnl_attr_get_payload_len(attr) != len)
		return false;
	if (tb[IFA_FLAGS] && mnl_attr_get_payload_len(tb[IFA_FLAGS]) >= 4)
		flags = mnl_attr_get_u32(tb[IFA_FLAGS]);
	a.af = ifa->ifa_family;
	memcpy(a.addr, mnl_attr_get_payload(attr), len);
	*ret_usable = a.af == AF_INET || (IN6_IS_ADDR_LINKLOCAL((const struct in6_addr *)a.addr) &&
					  !(flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)));
	*ret_ifindex = (int)ifa->ifa_index;
	*ret = a;
	return true;
}

/* Whether control message c carries size bytes of data within the
 * buffer: the kernel's always do, but CMSG_FIRSTHDR() and CMSG_NXTHDR()
 * only see that a header fits. */
static bool cmsg_holds(const struct msghdr *mh, const struct cmsghdr *c, size_t size)
{
	const uint8_t *end = (const uint8_t *)mh->msg_control + mh->msg_controllen;

	return c->cmsg_len >= CMSG_LEN(size) && (size_t)(end - CMSG_DATA(c)) >= size;
}

bool mcast_pktinfo_parse(const struct msghdr *mh, int af, int *ret_ifindex, struct mcast_addr *ret_dst)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR((struct msghdr *)mh, c)) {
		if (af == AF_INET && c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    cmsg_holds(mh, c, sizeof(struct in_pktinfo))) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			*ret_ifindex = pi.ipi_ifindex;
			*ret_dst = (struct mcast_addr){ .af = AF_INET };
			memcpy(ret_dst->addr, &pi.ipi_addr, sizeof(pi.ipi_addr));
			return true;
		}
		if (af == AF_INET6 && c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
		    cmsg_holds(mh, c, sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			*ret_ifindex = (int)pi.ipi6_ifindex;
			*ret_dst = (struct mcast_addr){ .af = AF_INET6 };
			memcpy(ret_dst->addr, &pi.ipi6_addr, sizeof(pi.ipi6_addr));
			return true;
		}
	}
	return false;
}

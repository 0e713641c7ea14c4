/* What the multicast backend reads from the kernel: links (name, flags,
 * bridge port, WireGuard), addresses (which ones multicast can be sent
 * from) and the packet info of a datagram. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdalign.h>
#include <arpa/inet.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "signaling/client/mcast-input.h"

static struct nlmsghdr *link_msg(void *buf, uint16_t type, int ifindex, unsigned flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = type;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = flags;
	return nlh;
}

Test(mcast_input, link)
{
	alignas(struct nlmsghdr) uint8_t buf[512] = { 0 };
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 3, IFF_UP | IFF_MULTICAST);
	struct mcast_link link;

	mnl_attr_put_strz(nlh, IFLA_IFNAME, "eth0");
	cr_assert(mcast_link_parse(nlh, &link));
	cr_assert_eq(link.ifindex, 3);
	cr_assert(link.has_name);
	cr_assert_str_eq(link.name, "eth0");
	cr_assert_eq(link.flags, IFF_UP | IFF_MULTICAST);
	cr_assert_not(link.has_master);
	cr_assert_not(link.wireguard);
}

Test(mcast_input, bridge_port_and_wireguard)
{
	alignas(struct nlmsghdr) uint8_t buf[512] = { 0 };
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 4, IFF_UP);
	struct nlattr *info;
	struct mcast_link link;

	mnl_attr_put_u32(nlh, IFLA_MASTER, 2);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "wireguard");
	mnl_attr_nest_end(nlh, info);
	cr_assert(mcast_link_parse(nlh, &link));
	cr_assert_not(link.has_name);
	cr_assert(link.has_master);
	cr_assert(link.wireguard);
}

Test(mcast_input, link_without_index)
{
	alignas(struct nlmsghdr) uint8_t buf[512] = { 0 };
	struct mcast_link link;

	cr_assert_not(mcast_link_parse(link_msg(buf, RTM_NEWLINK, 0, IFF_UP), &link));
	cr_assert_not(mcast_link_parse(link_msg(buf, RTM_DELLINK, -1, 0), &link));
}

static struct nlmsghdr *addr_msg(void *buf, int af, int ifindex, const char *ip, uint32_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	uint8_t addr[16];

	nlh->nlmsg_type = RTM_NEWADDR;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = af;
	ifa->ifa_index = ifindex;
	cr_assert_eq(inet_pton(af, ip, addr), 1);
	mnl_attr_put(nlh, IFA_ADDRESS, af == AF_INET ? 4 : 16, addr);
	mnl_attr_put_u32(nlh, IFA_FLAGS, flags);
	return nlh;
}

static bool usable(int af, const char *ip, uint32_t flags)
{
	alignas(struct nlmsghdr) uint8_t buf[512] = { 0 };
	struct mcast_addr a;
	int ifindex = 0;
	bool ok = false;

	cr_assert(mcast_addr_parse(addr_msg(buf, af, 5, ip, flags), &ifindex, &a, &ok));
	cr_assert_eq(ifindex, 5);
	cr_assert_eq(a.af, af);
	return ok;
}

Test(mcast_input, which_addresses_multicast_is_sent_from)
{
	cr_assert(usable(AF_INET, "192.168.1.2", 0));
	cr_assert(usable(AF_INET6, "fe80::1", 0));
	cr_assert_not(usable(AF_INET6, "fe80::1", IFA_F_TENTATIVE));
	cr_assert_not(usable(AF_INET6, "fe80::1", IFA_F_DADFAILED));
	cr_assert_not(usable(AF_INET6, "2001:db8::1", 0));
}

Test(mcast_input, local_address_wins)
{
	alignas(struct nlmsghdr) uint8_t buf[512] = { 0 };
	struct nlmsghdr *nlh = addr_msg(buf, AF_INET, 5, "10.0.0.2", 0);
	uint8_t local[4] = { 10, 0, 0, 1 };
	struct mcast_addr a;
	int ifindex;
	bool ok;

	mnl_attr_put(nlh, IFA_LOCAL, sizeof(local), local);
	cr_assert(mcast_addr_parse(nlh, &ifindex, &a, &ok));
	cr_assert_arr_eq(a.addr, local, sizeof(local));
}

Test(mcast_input, address_refusals)
{
	alignas(struct nlmsghdr) uint8_t buf[512] = { 0 };
	struct nlmsghdr *nlh = addr_msg(buf, AF_INET6, 1, "fe80::1", 0);
	struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct mcast_addr a;
	int ifindex;
	bool ok;

	/* An IPv4 message with an address of IPv6's size. */
	ifa->ifa_family = AF_INET;
	cr_assert_not(mcast_addr_parse(nlh, &ifindex, &a, &ok));
	ifa->ifa_family = AF_PACKET;
	cr_assert_not(mcast_addr_parse(nlh, &ifindex, &a, &ok));
	ifa->ifa_family = AF_INET6;
	ifa->ifa_index = 0;
	cr_assert_not(mcast_addr_parse(nlh, &ifindex, &a, &ok));
}

Test(mcast_input, pktinfo)
{
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
	} control = { 0 };
	struct msghdr mh = { .msg_control = control.buf, .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	struct in6_pktinfo pi6 = { .ipi6_ifindex = 7 };
	struct in_pktinfo pi4 = { .ipi_ifindex = 8 };
	struct mcast_addr dst;
	int ifindex;

	inet_pton(AF_INET6, "ff12::7769:6365", &pi6.ipi6_addr);
	inet_pton(AF_INET, "239.255.119.105", &pi4.ipi_addr);
	*c = (struct cmsghdr){ .cmsg_level = IPPROTO_IPV6, .cmsg_type = IPV6_PKTINFO, .cmsg_len = CMSG_LEN(sizeof(pi6)) };
	memcpy(CMSG_DATA(c), &pi6, sizeof(pi6));
	c = CMSG_NXTHDR(&mh, c);
	*c = (struct cmsghdr){ .cmsg_level = IPPROTO_IP, .cmsg_type = IP_PKTINFO, .cmsg_len = CMSG_LEN(sizeof(pi4)) };
	memcpy(CMSG_DATA(c), &pi4, sizeof(pi4));
	cr_assert(mcast_pktinfo_parse(&mh, AF_INET6, &ifindex, &dst));
	cr_assert_eq(ifindex, 7);
	cr_assert_eq(dst.af, AF_INET6);
	cr_assert_arr_eq(dst.addr, &pi6.ipi6_addr, 16);
	cr_assert(mcast_pktinfo_parse(&mh, AF_INET, &ifindex, &dst));
	cr_assert_eq(ifindex, 8);
	cr_assert_eq(dst.af, AF_INET);
	cr_assert_arr_eq(dst.addr, &pi4.ipi_addr, 4);
	mh.msg_controllen = 0;
	cr_assert_not(mcast_pktinfo_parse(&mh, AF_INET, &ifindex, &dst));
}

/* A message cut short (its length says so, whatever follows it in the
 * receive buffer) is read no further than its length. */
Test(mcast_input, link_cut_short)
{
	alignas(struct nlmsghdr) uint8_t buf[512] = { 0 };
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 3, IFF_UP | IFF_MULTICAST);
	uint32_t full;
	struct mcast_link link;

	mnl_attr_put_strz(nlh, IFLA_IFNAME, "eth0");
	full = nlh->nlmsg_len;
	for (uint32_t len = sizeof(*nlh); len < full; len++) {
		nlh->nlmsg_len = len;
		if (mcast_link_parse(nlh, &link)) {
			cr_assert_geq(len, NLMSG_LENGTH(sizeof(struct ifinfomsg)), "took the index from past %u bytes", len);
			cr_assert_not(link.has_name && MNL_ALIGN(len) < full, "took the name from past %u bytes", len);
		}
	}
}

Test(mcast_input, address_cut_short)
{
	alignas(struct nlmsghdr) uint8_t buf[512] = { 0 };
	struct nlmsghdr *nlh = addr_msg(buf, AF_INET6, 5, "fe80::1", 0);
	uint32_t full = nlh->nlmsg_len;
	struct mcast_addr a;
	int ifindex;
	bool ok;

	for (uint32_t len = sizeof(*nlh); len < NLMSG_LENGTH(sizeof(struct ifaddrmsg)); len++) {
		nlh->nlmsg_len = len;
		cr_assert_not(mcast_addr_parse(nlh, &ifindex, &a, &ok), "took %u of %u bytes", len, full);
	}
}

/* IFLA_IFNAME without its NUL is no name (it was read on into the next
 * attribute). */
Test(mcast_input, name_without_nul)
{
	alignas(struct nlmsghdr) uint8_t buf[512] = { 0 };
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 3, IFF_UP);
	struct mcast_link link;

	mnl_attr_put(nlh, IFLA_IFNAME, 4, "eth0");
	mnl_attr_put_u32(nlh, IFLA_MTU, 1500);
	cr_assert(mcast_link_parse(nlh, &link));
	cr_assert_not(link.has_name, "took the name '%s'", link.name);
}

/* A packet info control message shorter than its struct is not read. */
Test(mcast_input, pktinfo_cut_short)
{
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} control = { 0 };
	struct msghdr mh = { .msg_control = control.buf, .msg_controllen = CMSG_LEN(0) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	struct in6_pktinfo pi6 = { .ipi6_ifindex = 7 };
	struct mcast_addr dst;
	int ifindex;

	*c = (struct cmsghdr){ .cmsg_level = IPPROTO_IPV6, .cmsg_type = IPV6_PKTINFO, .cmsg_len = CMSG_LEN(0) };
	memcpy(CMSG_DATA(c), &pi6, sizeof(pi6));
	cr_assert_not(mcast_pktinfo_parse(&mh, AF_INET6, &ifindex, &dst));
	/* The header claims it all, the buffer holds less. */
	c->cmsg_len = CMSG_LEN(sizeof(pi6));
	mh.msg_controllen = CMSG_LEN(sizeof(pi6)) - 1;
	cr_assert_not(mcast_pktinfo_parse(&mh, AF_INET6, &ifindex, &dst));
	mh.msg_controllen = CMSG_LEN(sizeof(pi6));
	cr_assert(mcast_pktinfo_parse(&mh, AF_INET6, &ifindex, &dst));
	cr_assert_eq(ifindex, 7);
}

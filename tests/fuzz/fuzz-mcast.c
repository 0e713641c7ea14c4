/* libFuzzer harness for what the multicast backend reads from the kernel
 * (signaling/client/mcast-input.c).
 *
 * First byte even: the rest is an rtnetlink datagram, walked as
 * backend-mcast.c walks one (whole messages of sane length, see
 * wg_netlink_msgs_len()), each message read as a link or an address by
 * its type.  A link must have an index and a name that fits; an
 * address an index and a family of ours.
 * First byte odd: the rest is the control data of a received datagram,
 * read for IPv4 and for IPv6 packet info.
 * Every buffer is an exact-size copy (a netlink one rounded up to the
 * alignment that libmnl reads messages to, as a receive buffer always
 * is), so that a read past it is caught.  Any broken property aborts. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "signaling/client/mcast-input.h"
#include "wg/wg-netlink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		abort();
}

static void read_message(const struct nlmsghdr *nlh)
{
	struct mcast_link link;
	struct mcast_addr a;
	int ifindex;
	bool usable;

	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		if (mcast_link_parse(nlh, &link))
			check(link.ifindex > 0 && (!link.has_name || strnlen(link.name, IFNAMSIZ) < IFNAMSIZ));
		break;
	case RTM_NEWADDR:
	case RTM_DELADDR:
		if (mcast_addr_parse(nlh, &ifindex, &a, &usable))
			check(ifindex != 0 && (a.af == AF_INET || a.af == AF_INET6));
		break;
	default:
		break;
	}
}

static void fuzz_netlink(const uint8_t *data, size_t size)
{
	size_t alloc = MNL_ALIGN(size);
	uint8_t *buf = calloc(1, alloc ? alloc : 1);
	const struct nlmsghdr *nlh;
	int left;

	memcpy(buf, data, size);
	left = (int)wg_netlink_msgs_len(buf, size);
	for (nlh = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
		read_message(nlh);
	free(buf);
}

static void fuzz_pktinfo(const uint8_t *data, size_t size)
{
	struct msghdr mh = { .msg_controllen = size };
	struct mcast_addr dst;
	int ifindex;

	mh.msg_control = malloc(size ? size : 1);
	memcpy(mh.msg_control, data, size);
	if (mcast_pktinfo_parse(&mh, AF_INET, &ifindex, &dst))
		check(dst.af == AF_INET);
	if (mcast_pktinfo_parse(&mh, AF_INET6, &ifindex, &dst))
		check(dst.af == AF_INET6);
	free(mh.msg_control);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		fuzz_pktinfo(data + 1, size - 1);
	else
		fuzz_netlink(data + 1, size - 1);
	return 0;
}

/* rtnetlink requests for the mesh interface (mesh-rtnl.h).
 *
 * One socket per request: the requests are rare, and a fresh socket can
 * hold no stale reply of an earlier request that timed out.  The socket
 * asks for capped, extended ACKs, so that an error reply is small and
 * carries the kernel's own words. */
#include "config.h"

#include <errno.h>
#include <net/if.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>

#include "mesh-rtnl.h"
#include "wg/wg-netlink.h"

/* Our requests are a few attributes long. */
#define RTNL_REQ_SIZE 512
/* An ACK echoes at most our request (when the kernel ignores
 * NETLINK_CAP_ACK) plus a short text: 8 KiB is far more than enough. */
#define RTNL_RECV_SIZE 8192
/* The kernel answers these in microseconds; loading a module for
 * RTM_NEWLINK may take a second.  Five is a bound, not an estimate. */
#define RTNL_TIMEOUT_SEC 5

static void msg_clear(struct mesh_rtnl_msg *msg)
{
	if (msg)
		msg->text[0] = '\0';
}

static struct mnl_socket *rtnl_open(void)
{
	struct timeval tv = { .tv_sec = RTNL_TIMEOUT_SEC };
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	int on = 1;

	if (!nl)
		return NULL;
	/* Both are hints: an old kernel without them still ACKs. */
	mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &on, sizeof(on));
	mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &on, sizeof(on));
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = errno;

		mnl_socket_close(nl);
		errno = err;
		return NULL;
	}
	return nl;
}

/* Copies NLMSGERR_ATTR_MSG of an error ACK into @ret_msg, if there is one. */
static void take_ext_ack(const struct nlmsghdr *nlh, struct mesh_rtnl_msg *ret_msg)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	size_t len = nlh->nlmsg_len - MNL_NLMSG_HDRLEN;
	size_t off = sizeof(*err);
	const struct nlattr *attr;
	int left;

	if (!ret_msg || !(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && err->msg.nlmsg_len >= MNL_NLMSG_HDRLEN)
		off += err->msg.nlmsg_len - MNL_NLMSG_HDRLEN;
	off = MNL_ALIGN(off);
	if (off >= len)
		return;
	attr = (const struct nlattr *)((const uint8_t *)err + off);
	for (left = (int)(len - off); mnl_attr_ok(attr, left); attr = mnl_attr_next(attr)) {
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0) {
			snprintf(ret_msg->text, sizeof(ret_msg->text), "%s", mnl_attr_get_str(attr));
			return;
		}
		left -= (int)MNL_ALIGN(attr->nla_len);
	}
}

/* The answer to request @seq in one datagram: 0 or -errno when it was
 * there, 1 when the datagram held something else. */
static int find_ack(const void *buf, size_t len, uint32_t seq, uint32_t portid, struct mesh_rtnl_msg *ret_msg)
{
	const struct nlmsghdr *nlh = buf;
	int left = (int)wg_netlink_msgs_len(buf, len);

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		const struct nlmsgerr *err;

		if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != portid || nlh->nlmsg_type != NLMSG_ERROR)
			continue;
		if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err)))
			return -EPROTO;
		err = mnl_nlmsg_get_payload(nlh);
		if (err->error > 0 || err->error < -4095)
			return -EPROTO;
		if (err->error < 0)
			take_ext_ack(nlh, ret_msg);
		return err->error;
	}
	return 1;
}

/* Sends @nlh and waits for its ACK. */
static int rtnl_talk(struct nlmsghdr *nlh, struct mesh_rtnl_msg *ret_msg)
{
	alignas(struct nlmsghdr) uint8_t buf[RTNL_RECV_SIZE];
	struct mnl_socket *nl = rtnl_open();
	uint32_t portid;
	int r = 1;

	msg_clear(ret_msg);
	if (!nl)
		return -errno;
	portid = mnl_socket_get_portid(nl);
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		r = -errno;
	while (r == 1) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));

		if (n < 0)
			r = errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		else
			r = find_ack(buf, (size_t)n, nlh->nlmsg_seq, portid, ret_msg);
	}
	mnl_socket_close(nl);
	return r;
}

static struct nlmsghdr *put_header(void *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh;

	memset(buf, 0, RTNL_REQ_SIZE);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	return nlh;
}

static size_t family_addr_len(int family)
{
	return family == AF_INET ? sizeof(struct in_addr) : family == AF_INET6 ? sizeof(struct in6_addr) : 0;
}

int mesh_rtnl_link_add_wireguard(const char *ifname, struct mesh_rtnl_msg *ret_msg)
{
	alignas(struct nlmsghdr) uint8_t buf[RTNL_REQ_SIZE];
	struct nlmsghdr *nlh = put_header(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	struct nlattr *info;

	msg_clear(ret_msg);
	if (strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "wireguard");
	mnl_attr_nest_end(nlh, info);
	return rtnl_talk(nlh, ret_msg);
}

int mesh_rtnl_link_del(unsigned ifindex, struct mesh_rtnl_msg *ret_msg)
{
	alignas(struct nlmsghdr) uint8_t buf[RTNL_REQ_SIZE];
	struct nlmsghdr *nlh = put_header(buf, RTM_DELLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	return rtnl_talk(nlh, ret_msg);
}

int mesh_rtnl_link_up(unsigned ifindex, struct mesh_rtnl_msg *ret_msg)
{
	alignas(struct nlmsghdr) uint8_t buf[RTNL_REQ_SIZE];
	struct nlmsghdr *nlh = put_header(buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	return rtnl_talk(nlh, ret_msg);
}

/* The start of an address or route request (@type) for @family's
 * addresses of @prefix_len bits; NULL for what the kernel would refuse.
 * Sets *ret_len to the family's address length. */
static struct nlmsghdr *start_prefix_request(uint8_t *buf, uint16_t type, bool add, int family, unsigned prefix_len,
					     struct mesh_rtnl_msg *ret_msg, size_t *ret_len)
{
	size_t len = family_addr_len(family);

	msg_clear(ret_msg);
	*ret_len = len;
	if (!len || prefix_len > len * 8)
		return NULL;
	return put_header(buf, type, add ? NLM_F_CREATE | NLM_F_EXCL : 0);
}

int mesh_rtnl_address(bool add, unsigned ifindex, int family, const void *addr, unsigned prefix_len,
		      struct mesh_rtnl_msg *ret_msg)
{
	alignas(struct nlmsghdr) uint8_t buf[RTNL_REQ_SIZE];
	size_t len;
	struct nlmsghdr *nlh = start_prefix_request(buf, add ? RTM_NEWADDR : RTM_DELADDR, add, family, prefix_len,
						    ret_msg, &len);
	struct ifaddrmsg *ifa;

	if (!nlh)
		return -EINVAL;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = (uint8_t)prefix_len;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = ifindex;
	/* Members talk to the address as soon as it is announced: duplicate
	 * address detection would hold it back for a second or two, and
	 * derived addresses resolve collisions by announcements instead. */
	if (family == AF_INET6)
		ifa->ifa_flags = IFA_F_NODAD;
	/* As `ip addr add ADDR/LEN dev IF` does: no peer, so local and
	 * address are the same, which on a point-to-point link gives the
	 * on-link route of the prefix. */
	mnl_attr_put(nlh, IFA_LOCAL, len, addr);
	mnl_attr_put(nlh, IFA_ADDRESS, len, addr);
	return rtnl_talk(nlh, ret_msg);
}

/* @dst with the bits past @prefix_len cleared: the kernel refuses an IPv4
 * destination with host bits set. */
static void mask_prefix(uint8_t *out, const void *dst, size_t len, unsigned prefix_len)
{
	memcpy(out, dst, len);
	for (size_t i = 0; i < len; i++) {
		unsigned bits = i * 8 >= prefix_len ? 0 : prefix_len - i * 8;

		if (bits < 8)
			out[i] &= (uint8_t)(0xff00u >> bits);
	}
}

int mesh_rtnl_route(bool add, unsigned ifindex, int family, const void *dst, unsigned prefix_len,
		    struct mesh_rtnl_msg *ret_msg)
{
	alignas(struct nlmsghdr) uint8_t buf[RTNL_REQ_SIZE];
	uint8_t masked[sizeof(struct in6_addr)];
	size_t len;
	struct nlmsghdr *nlh = start_prefix_request(buf, add ? RTM_NEWROUTE : RTM_DELROUTE, add, family, prefix_len,
						    ret_msg, &len);
	struct rtmsg *rtm;

	if (!nlh)
		return -EINVAL;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_dst_len = (uint8_t)prefix_len;
	rtm->rtm_table = RT_TABLE_MAIN;
	/* The protocol is matched on removal too, so a route the operator
	 * set up by hand (protocol "boot") is never taken away. */
	rtm->rtm_protocol = RTPROT_STATIC;
	/* On removal, "nowhere" matches any scope, as `ip route del` does. */
	rtm->rtm_scope = add ? RT_SCOPE_LINK : RT_SCOPE_NOWHERE;
	rtm->rtm_type = add ? RTN_UNICAST : RTN_UNSPEC;
	mask_prefix(masked, dst, len, prefix_len);
	mnl_attr_put(nlh, RTA_DST, len, masked);
	mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
	return rtnl_talk(nlh, ret_msg);
}

/* What the multicast backend takes from the kernel: rtnetlink messages
 * about links and addresses, and the packet information that comes with
 * a datagram.  Pure functions over those bytes, so that they are unit
 * tested and fuzzed (tests/fuzz/fuzz-mcast.c) without sockets;
 * backend-mcast.c keeps the interface table and the sockets. */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <linux/netlink.h>

struct mcast_link {
	int ifindex;
	bool has_name;
	char name[IFNAMSIZ];
	unsigned flags;	 /* IFF_* */
	bool has_master; /* enslaved to a bridge or bond */
	bool wireguard;
};

/* Reads an RTM_NEWLINK or RTM_DELLINK message.  False when it names no
 * interface. */
bool mcast_link_parse(const struct nlmsghdr *nlh, struct mcast_link *ret);

struct mcast_addr {
	int af;
	uint8_t addr[16];
};

/* Reads an RTM_NEWADDR or RTM_DELADDR message: the interface, the address
 * (IPv4: the local one) and whether it is one link-scope multicast can
 * be sent from (IPv4, or IPv6 link-local past DAD).  False for another
 * family or a message without an address. */
bool mcast_addr_parse(const struct nlmsghdr *nlh, int *ret_ifindex, struct mcast_addr *ret, bool *ret_usable);

/* The interface a datagram came in on and the address it was sent to,
 * from the IP_PKTINFO (af AF_INET) or IPV6_PKTINFO control message that
 * recvmsg() gave with it.  False without one. */
bool mcast_pktinfo_parse(const struct msghdr *mh, int af, int *ret_ifindex, struct mcast_addr *ret_dst);

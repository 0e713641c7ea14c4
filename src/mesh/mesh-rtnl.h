/* The few rtnetlink requests the mesh interface needs: create a kernel
 * WireGuard link, bring it up, delete it, and add or remove addresses and
 * routes on it.
 *
 * Each request is synchronous on a short-lived socket and waits at most a
 * few seconds for the kernel's ACK: they run when the daemon starts and
 * when members come and go, never in a hot path.  The kernel's extended
 * ACK text ("Unknown device type") is kept, so that an error can say what
 * the kernel said and not only an errno.  All return 0 or a negative
 * errno. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define MESH_RTNL_MSG_MAX 128

/* The kernel's explanation of a refusal; "" when it gave none. */
struct mesh_rtnl_msg {
	char text[MESH_RTNL_MSG_MAX];
};

/* RTM_NEWLINK of kind "wireguard".  -EOPNOTSUPP: no WireGuard module. */
int mesh_rtnl_link_add_wireguard(const char *ifname, struct mesh_rtnl_msg *ret_msg);
int mesh_rtnl_link_del(unsigned ifindex, struct mesh_rtnl_msg *ret_msg);
int mesh_rtnl_link_up(unsigned ifindex, struct mesh_rtnl_msg *ret_msg);

/* RTM_NEWADDR (with IFA_F_NODAD for IPv6, so that the address is usable at
 * once) or RTM_DELADDR.  -EEXIST when adding one that is there. */
int mesh_rtnl_address(bool add, unsigned ifindex, int family, const void *addr, unsigned prefix_len,
		      struct mesh_rtnl_msg *ret_msg);
/* RTM_NEWROUTE or RTM_DELROUTE of @dst/@prefix_len through @ifindex in the
 * main table.  -EEXIST when adding one that is there. */
int mesh_rtnl_route(bool add, unsigned ifindex, int family, const void *dst, unsigned prefix_len,
		    struct mesh_rtnl_msg *ret_msg);

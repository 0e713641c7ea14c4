/* The mesh interface itself: wice creates it, addresses it, routes
 * through it and removes it (the user's own interfaces are never created
 * or removed by wice).
 *
 * Creation prefers the kernel's WireGuard (rtnetlink, kind "wireguard");
 * when the module is missing, it starts wireguard-go (found on PATH, or
 * WICE_WIREGUARD_GO) in the foreground as a child, with the environment
 * it needs, and waits for its UAPI socket.  Anything else is an error
 * that says what was tried.  libmnl for rtnetlink. */
#pragma once

#include <glib.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

struct mesh_link;

/* Creates @ifname if it does not exist (an existing WireGuard interface
 * is adopted: it stays when the link is freed, unless it was made here),
 * brings it up.  NULL with @error on failure, and nothing left behind. */
struct mesh_link *mesh_link_open(const char *ifname, GError **error);
/* Removes the interface if this link created it (and stops wireguard-go),
 * with every address and route added through it.  Accepts NULL. */
void mesh_link_free(struct mesh_link *link);
const char *mesh_link_name(const struct mesh_link *link);
unsigned mesh_link_ifindex(const struct mesh_link *link);
/* "kernel" or "wireguard-go" */
const char *mesh_link_kind(const struct mesh_link *link);

/* Adds or removes an address with its prefix length (the on-link route
 * of the mesh prefix comes with it).  Adding one that is there is fine. */
bool mesh_link_address_add(struct mesh_link *link, int family, const void *addr, unsigned prefix_len, GError **error);
bool mesh_link_address_del(struct mesh_link *link, int family, const void *addr, unsigned prefix_len, GError **error);
/* Routes a prefix (an advertised subnet) through the interface. */
bool mesh_link_route_add(struct mesh_link *link, int family, const void *dst, unsigned prefix_len, GError **error);
bool mesh_link_route_del(struct mesh_link *link, int family, const void *dst, unsigned prefix_len, GError **error);

/* Port mappings on the router in front of this host: a UDP port of ours
 * that the router forwards from its public address, asked for with PCP
 * (RFC 6887), NAT-PMP (RFC 6886) or UPnP IGD, whichever the router
 * answers, tried in that order.  A peer's direct agent asks for its local
 * port (peer-portmap.c); the mapped address becomes a server reflexive
 * candidate, so that a peer behind a NAT that maps per destination
 * (where STUN's answer is useless to others) can still be reached
 * directly.
 *
 * Everything runs on the main loop with non-blocking sockets (PCP and
 * NAT-PMP) or on a worker thread (UPnP, portmap-upnp.h).  Mappings are
 * renewed at half their lifetime and deleted when given back, and all
 * that are left when the daemon exits. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

enum portmap_protocol {
	PORTMAP_PCP = 1u << 0,
	PORTMAP_NATPMP = 1u << 1,
	PORTMAP_UPNP = 1u << 2,
	PORTMAP_ALL = 7,
};

/* What we ask for; routers may grant less (renewed at half of that). */
#define PORTMAP_LIFETIME_SEC 7200u
/* How long the daemon's exit waits for a UPnP router to delete. */
#define PORTMAP_EXIT_WAIT_MS 2000u

struct portmap;
struct portmap_mapping;

/* Called when the mapping is made, when its external address changes and
 * when it is lost (portmap_mapping_external() then says false). */
typedef void (*portmap_fn)(struct portmap_mapping *m, void *data);

struct portmap *portmap_new(void);
/* Deletes the mappings still held (waiting up to PORTMAP_EXIT_WAIT_MS
 * for a UPnP router).  Accepts NULL. */
void portmap_free(struct portmap *pm);

/* Asks for a mapping of UDP @internal (a local address and the port of
 * one of our sockets), by the first of @protocols (enum portmap_protocol)
 * that the gateway of the default IPv4 route answers.  NULL when there is
 * no such gateway or @internal's address is not the one we reach it from.
 * @fn is never called from inside this function. */
struct portmap_mapping *portmap_add(struct portmap *pm, const struct sockaddr_in *internal, unsigned protocols,
				    portmap_fn fn, void *data);
/* Deletes the mapping on the router and forgets @m (no more calls of its
 * fn).  Accepts NULL. */
void portmap_remove(struct portmap_mapping *m);

/* The router's public address and port for @m, while it is mapped. */
bool portmap_mapping_external(const struct portmap_mapping *m, struct sockaddr_in *ret);
/* "pcp", "natpmp" or "upnp": the protocol that made the mapping (or that
 * is being tried). */
const char *portmap_mapping_protocol(const struct portmap_mapping *m);
/* Seconds the router granted (0: permanent, or not mapped). */
uint32_t portmap_mapping_lifetime(const struct portmap_mapping *m);
const char *portmap_protocol_name(enum portmap_protocol p);

/* The plain data model of a WireGuard interface and its peers.
 *
 * Both WireGuard backends (kernel generic netlink and the userspace UAPI
 * socket) read into and write from these structures, so the rest of wice
 * never cares which kind of device it talks to.  The same structures carry
 * changes: the `set_*` flags say which fields a write should touch, so that
 * updating one peer never disturbs the others. */
#pragma once

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "wg-key.h"

/* Hard caps on what a device reply may make us allocate.  They are far above
 * anything real (the kernel's own peer limit is 2^20) but stop a broken or
 * hostile UAPI server from exhausting memory. */
#define WG_MAX_PEERS (1u << 20)
#define WG_MAX_ALLOWED_IPS_PER_PEER (1u << 16)

union wg_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

struct wg_allowed_ip {
	sa_family_t family; /* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} addr;
	uint8_t cidr;
};

enum wg_peer_set {
	WG_PEER_REMOVE = 1u << 0,              /* delete this peer */
	WG_PEER_UPDATE_ONLY = 1u << 1,         /* do not create it if absent */
	WG_PEER_SET_PRESHARED_KEY = 1u << 2,
	WG_PEER_SET_ENDPOINT = 1u << 3,
	WG_PEER_SET_KEEPALIVE = 1u << 4,
	WG_PEER_REPLACE_ALLOWED_IPS = 1u << 5, /* else allowed_ips are added */
};

struct wg_peer {
	uint8_t public_key[WG_KEY_LEN];
	uint8_t preshared_key[WG_KEY_LEN]; /* all zero: none */
	union wg_sockaddr endpoint;        /* sa_family AF_UNSPEC: none */
	struct wg_allowed_ip *allowed_ips;
	size_t n_allowed_ips;
	uint16_t persistent_keepalive; /* seconds, 0: off */
	int64_t last_handshake_sec;
	int64_t last_handshake_nsec;
	uint64_t rx_bytes;
	uint64_t tx_bytes;
	unsigned set; /* enum wg_peer_set, only for writes */
};

enum wg_device_set {
	WG_DEVICE_SET_PRIVATE_KEY = 1u << 0,
	WG_DEVICE_SET_LISTEN_PORT = 1u << 1,
	WG_DEVICE_SET_FWMARK = 1u << 2,
	WG_DEVICE_REPLACE_PEERS = 1u << 3,
};

enum wg_backend_kind {
	WG_BACKEND_NONE = 0,
	WG_BACKEND_KERNEL,
	WG_BACKEND_USERSPACE,
};

struct wg_device {
	char name[IFNAMSIZ];
	uint32_t ifindex;
	enum wg_backend_kind backend;
	uint8_t private_key[WG_KEY_LEN]; /* all zero: none */
	uint8_t public_key[WG_KEY_LEN];
	uint16_t listen_port;
	uint32_t fwmark;
	struct wg_peer *peers;
	size_t n_peers;
	size_t cap_peers;
	unsigned set; /* enum wg_device_set, only for writes */
};

struct wg_device *wg_device_new(const char *name);
/* Wipes key material.  Accepts NULL. */
void wg_device_free(struct wg_device *dev);

/* Appends a zeroed peer; NULL when out of memory or over WG_MAX_PEERS.  The
 * pointer stays valid only until the next append. */
struct wg_peer *wg_device_add_peer(struct wg_device *dev, const uint8_t public_key[WG_KEY_LEN]);
struct wg_peer *wg_device_find_peer(const struct wg_device *dev, const uint8_t public_key[WG_KEY_LEN]);
int wg_peer_add_allowed_ip(struct wg_peer *peer, const struct wg_allowed_ip *aip);

/* "1.2.3.4:51820" or "[fe80::1%eth0]:51820"; false (errno set) on bad input. */
bool wg_endpoint_parse(const char *text, union wg_sockaddr *ret);
/* Writes "(none)" for an unset endpoint.  buf should hold 64 bytes. */
void wg_endpoint_format(const union wg_sockaddr *ep, char *buf, size_t len);
/* "10.0.0.0/8" or "fd00::/64" */
bool wg_allowed_ip_parse(const char *text, struct wg_allowed_ip *ret);
void wg_allowed_ip_format(const struct wg_allowed_ip *aip, char *buf, size_t len);

static inline socklen_t wg_sockaddr_len(const union wg_sockaddr *sa)
{
	return sa->sa.sa_family == AF_INET6 ? sizeof(sa->in6) : sa->sa.sa_family == AF_INET ? sizeof(sa->in) : 0;
}

/* What Linux accepts as an interface name (dev_valid_name): 1-15 bytes,
 * no white space, '/' or ':', not "." or "..".  Every name that reaches a
 * socket path, a netlink request or the configuration is checked here. */
bool wg_ifname_valid(const char *name);

/* A set of interface names, kept unique. */
struct wg_names {
	char (*name)[IFNAMSIZ];
	size_t n;
};

int wg_names_add(struct wg_names *names, const char *name);
bool wg_names_contains(const struct wg_names *names, const char *name);
void wg_names_clear(struct wg_names *names);

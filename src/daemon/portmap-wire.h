/* The bytes of PCP (RFC 6887) and NAT-PMP (RFC 6886), the two port
 * mapping protocols a router serves on UDP port 5351: the requests we send
 * (a PCP MAP, NAT-PMP's external address and UDP mapping requests) and the
 * parser of whatever comes back.  Pure functions over (buf, len), no
 * sockets, so that unit tests and the fuzzer (tests/fuzz/fuzz-portmap.c)
 * reach every branch.
 *
 * One parser takes both protocols because one socket hears both: a
 * NAT-PMP-only router answers a PCP request with a NAT-PMP "unsupported
 * version" reply (RFC 6887, appendix A), which is how we learn to fall
 * back.  Only IPv4 mappings are asked for: IPv6 needs no NAT. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PORTMAP_SERVER_PORT 5351
#define PCP_VERSION 2
#define NATPMP_VERSION 0
#define PCP_NONCE_LEN 12
#define PCP_MAP_LEN 60
/* RFC 6887, 7: no PCP message is longer. */
#define PCP_MAX_LEN 1100
#define NATPMP_ADDR_REQUEST_LEN 2
#define NATPMP_MAP_REQUEST_LEN 12
#define NATPMP_ADDR_REPLY_LEN 12
#define NATPMP_MAP_REPLY_LEN 16

/* Result codes we act on; the others only name a failure (pcp_result_name). */
#define PCP_RESULT_SUCCESS 0
#define PCP_RESULT_UNSUPP_VERSION 1
#define NATPMP_RESULT_SUCCESS 0
#define NATPMP_RESULT_UNSUPP_VERSION 1

struct pcp_map_request {
	uint8_t nonce[PCP_NONCE_LEN]; /* the same for every renewal of one mapping */
	uint32_t lifetime;            /* seconds; 0 deletes the mapping */
	struct in_addr client;        /* our address, the one the request leaves from */
	uint16_t internal_port;
	uint16_t suggested_port; /* 0: any; a renewal suggests the port it has */
	struct in_addr suggested_addr; /* 0.0.0.0: any */
};

enum portmap_reply_kind {
	PORTMAP_REPLY_PCP_MAP,	       /* a PCP MAP response */
	PORTMAP_REPLY_NATPMP_ADDR,     /* NAT-PMP: the external address */
	PORTMAP_REPLY_NATPMP_MAP,      /* NAT-PMP: a UDP mapping */
	PORTMAP_REPLY_UNSUPP_VERSION, /* the server does not speak the version we asked in */
};

struct portmap_reply {
	enum portmap_reply_kind kind;
	uint8_t version; /* of the reply: 2 PCP, 0 NAT-PMP */
	uint16_t result; /* PCP's or NAT-PMP's result code */
	uint32_t lifetime;
	uint32_t epoch;
	/* PCP MAP */
	uint8_t nonce[PCP_NONCE_LEN];
	uint8_t protocol;
	/* PCP MAP and NAT-PMP MAP */
	uint16_t internal_port, external_port;
	/* PCP MAP (an IPv4-mapped address) and NAT-PMP ADDR; false when a PCP
	 * reply gave an IPv6 address or none */
	bool have_external;
	struct in_addr external;
};

/* Each writes its request to @buf and returns its length, or 0 when @len
 * is too short. */
size_t pcp_format_map(const struct pcp_map_request *req, uint8_t *buf, size_t len);
size_t natpmp_format_addr(uint8_t *buf, size_t len);
size_t natpmp_format_map(uint16_t internal_port, uint16_t suggested_port, uint32_t lifetime, uint8_t *buf,
			 size_t len);

/* Parses a datagram from the server: 0, or -EBADMSG for one that is
 * malformed (wrong length, a request, options that overrun) and -ENOTSUP
 * for a well-formed reply to something we never ask (PCP PEER or
 * ANNOUNCE, NAT-PMP TCP).  @ret is untouched on failure. */
int portmap_parse_reply(const uint8_t *buf, size_t len, struct portmap_reply *ret);

/* "success", "not authorized", ...: for logs. */
const char *portmap_result_name(const struct portmap_reply *r);

/* `wice ping`: ICMP echo requests through a WireGuard interface to a
 * peer's address, and their replies.  The probe goes wherever WireGuard
 * sends that address: over the selected pair (the nftables path or the
 * user proxy to a TURN relay), or through another peer that carries the
 * peer's prefixes.  So it proves the whole path, WireGuard included,
 * and needs nothing of the peer but a host that answers pings (any
 * WireGuard peer, with or without wice; with link addresses, its
 * link-local address on the tunnel).
 *
 * Raw ICMP sockets need CAP_NET_RAW, which the daemon gives up after
 * start-up (privileges.c): both sockets (IPv4 and IPv6) are opened
 * before that and kept, each with a filter that lets only echo replies
 * through.  Echo ids are one random number per daemon; a reply counts
 * when its id, sequence number and source match a probe in flight. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Probes in flight at once: every ping client holds one; the control
 * socket's client cap bounds them already. */
#define PINGER_MAX_PROBES 64

struct wice_pinger;
struct pinger_probe;

/* The answer to one probe: 0 and the round trip time, or a negative
 * errno (-ETIMEDOUT: no reply in time). */
typedef void (*pinger_fn)(int err, gint64 rtt_us, void *data);

/* Opens the sockets (needs CAP_NET_RAW); a family whose socket cannot be
 * opened fails its probes with that error.  Never NULL. */
struct wice_pinger *pinger_new(void);
/* Probes in flight are answered with -ECANCELED.  Accepts NULL. */
void pinger_free(struct wice_pinger *p);
/* Sends one echo request to @to, out of interface @ifindex; @fn runs
 * once, from the loop, with the reply or after @timeout_ms.  NULL when
 * too many probes are in flight (@fn is not called then). */
struct pinger_probe *pinger_send(struct wice_pinger *p, const struct sockaddr_storage *to, unsigned ifindex,
				 guint timeout_ms, pinger_fn fn, void *data);
/* Drops a probe in flight: its fn is not called.  Accepts NULL. */
void pinger_cancel(struct pinger_probe *probe);

/* Pure helpers (unit tested): the ICMP checksum (RFC 1071), and the echo
 * reply in @buf (IPv4: with the IP header the raw socket gives) as
 * @id/@seq; false for anything else. */
uint16_t pinger_checksum(const uint8_t *buf, size_t len);
bool pinger_parse_reply(int family, const uint8_t *buf, size_t len, uint16_t *ret_id, uint16_t *ret_seq);

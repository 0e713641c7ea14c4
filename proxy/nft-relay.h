/* Forwarding between the peers of one WireGuard interface, for a node that
 * relays for its peers (issue 13, section 5; `[interface NAME]
 * relay-for-peers`).
 *
 * A packet that comes out of the tunnel from peer A addressed to peer C is
 * sent back into the tunnel, where WireGuard's allowed IPs take it to C.
 * The kernel's IP forwarding is not turned on for this: IPv6 forwarding is
 * one switch for the whole host (and turns off router advertisements on
 * every interface).  Instead a netdev ingress chain on the interface
 * forwards (`fwd to`) exactly the packets whose source and destination are
 * both in the set of relayed prefixes, and nothing else; a relayed prefix
 * never covers an address of this host, so what is addressed to us stays
 * ours.  The chain counts what it forwarded.
 *
 * One table (netdev family) per interface, named after the daemon's table
 * and the interface; it goes with nft_relay_free(). */
#pragma once

#include <gio/gio.h>
#include <stdbool.h>
#include <stdint.h>

#include "wg/wg-device.h"

/* The most prefixes a relay forwards between. */
#define NFT_RELAY_MAX_PREFIXES 4096

struct nft_relay;

/* Creates the table for interface @ifname (table name from @table_prefix
 * and the interface's index, e.g. "wice_relay_7"), with empty sets: nothing
 * is forwarded yet.  First deletes one of that name a killed run left. */
struct nft_relay *nft_relay_new(const char *table_prefix, const char *ifname, GError **error);

/* Replaces the relayed prefixes (IPv4 and IPv6 mixed) in one transaction.
 * Packets from one to another are forwarded; n == 0 forwards nothing.
 * Overlapping prefixes are fine.  On failure the old set stays. */
bool nft_relay_set(struct nft_relay *relay, const struct wg_allowed_ip *prefixes, size_t n, GError **error);

/* Packets and bytes forwarded so far (both families), from the chain's
 * counters; false when they cannot be read. */
bool nft_relay_counters(struct nft_relay *relay, uint64_t *ret_packets, uint64_t *ret_bytes);

/* Deletes the table.  Accepts NULL. */
void nft_relay_free(struct nft_relay *relay);

/* Additions beyond the first design (nftrelay branch). */

/* The table's name, e.g. "wice_relay_7" (for logs and tests). */
const char *nft_relay_table(const struct nft_relay *relay);

/* A firewall reload (`nft flush ruleset`) deletes the table and the
 * relaying stops; nft_relay_restore() re-creates it with the prefixes of
 * the last successful nft_relay_set() in one transaction.  The proxy's
 * watcher (nft-watch.h) watches only its inet table, but a flush of the
 * ruleset removes both, so its repair is the moment to check this one. */
bool nft_relay_table_exists(struct nft_relay *relay);
bool nft_relay_restore(struct nft_relay *relay, GError **error);

typedef struct nft_relay nft_relay;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(nft_relay, nft_relay_free)

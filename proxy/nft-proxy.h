/* The kernel fast path: nftables rules that splice WireGuard's UDP flow onto
 * the 5-tuple ICE selected, so that packets never leave the kernel.
 *
 * WireGuard's endpoint for the peer is set (by the caller) to the remote
 * candidate.  On egress, WireGuard's packets to that remote get the ICE
 * socket's port as source port, so the remote and every NAT on the way see
 * the flow the connectivity checks opened.  On ingress, every non-STUN
 * datagram from the remote to the ICE port is given WireGuard's listen port;
 * STUN (magic cookie 0x2112A442 at payload offset 4) still reaches libnice,
 * so consent freshness and later checks keep working.  The rules are
 * stateless (raw priority, notrack) and see kernel WireGuard and
 * wireguard-go alike: both are plain UDP sockets.
 *
 * One table (inet family) per daemon instance holds fixed rules, four
 * maps (IPv4/IPv6, egress/ingress) and two sets of the ingress maps' keys;
 * a peer is an element in each of its family's two maps and set, so
 * updating a peer is one transaction that deletes the old elements and adds
 * the new ones, with no moment without a rule.  Not for relayed pairs: the
 * TURN server expects its own framing, use the user proxy there.
 *
 * A host firewall that drops untracked packets on input must accept
 * `ct state untracked` (or WireGuard's listen port) for this path to work. */
#pragma once

#include <gio/gio.h>
#include <stdbool.h>
#include <stdint.h>

/* A peer handle is what the caller names a peer by, e.g. a short key id.
 * It also appears as a comment on the peer's elements in `nft list`. */
#define NFT_PROXY_MAX_HANDLE 64
/* Peers come from the local configuration, but cap them anyway. */
#define NFT_PROXY_MAX_PEERS 65536

struct nft_proxy;

/* Whether this process can install the proxy's rules here (privilege,
 * kernel support for maps, raw payload matches and notrack): a dry run of
 * the whole table definition.  For proxy mode auto. */
bool nft_proxy_available(void);

/* Creates table inet @table (letters, digits and '_', starting with a
 * letter; at most 64), first deleting one of that name that a killed run
 * left behind. */
struct nft_proxy *nft_proxy_new(const char *table, GError **error);

/* Installs or replaces the rules of peer @handle: WireGuard listens on
 * @wg_port, the ICE socket of the selected pair's local candidate is bound
 * to @ice_port and @remote is the remote candidate.  On failure the peer's
 * previous rules (if any) stay. */
bool nft_proxy_set_peer(struct nft_proxy *proxy, const char *handle, uint16_t wg_port, uint16_t ice_port,
			GInetSocketAddress *remote, GError **error);

/* WireGuard's listen port changed: moves the rules of peer @handle to
 * @wg_port, with the ICE port and remote they had.  Fails for an unknown
 * peer; on failure the old rules stay. */
bool nft_proxy_set_peer_wg_port(struct nft_proxy *proxy, const char *handle, uint16_t wg_port, GError **error);

/* Peer @handle's rules go on under the name @new_handle, which must be
 * unused (no change in the kernel): a path being replaced keeps working
 * beside the new one until it is removed.  False if @handle is unknown or
 * @new_handle taken. */
bool nft_proxy_rename_peer(struct nft_proxy *proxy, const char *handle, const char *new_handle);

/* Removes the rules of peer @handle; removing an unknown peer succeeds. */
bool nft_proxy_remove_peer(struct nft_proxy *proxy, const char *handle, GError **error);

/* The number of peers with rules installed. */
unsigned nft_proxy_n_peers(const struct nft_proxy *proxy);

/* A firewall reload (`nft flush ruleset`, `systemctl reload nftables`)
 * deletes our table with everything in it.  nft_proxy_restore() re-creates
 * it with every peer's rules in one transaction (which also undoes partial
 * damage, e.g. a flushed map). */
bool nft_proxy_table_exists(struct nft_proxy *proxy);
bool nft_proxy_restore(struct nft_proxy *proxy, GError **error);

/* From now on, restores the table whenever another process changes it
 * (nft-watch.h: no polling), from the thread-default main context: at
 * once, and at most every 0.1 s, backing off to every 30 s while changes
 * keep coming.  Logs each repair.  Fails if the nftables monitor socket
 * cannot be opened. */
bool nft_proxy_watch(struct nft_proxy *proxy, GError **error);

/* Deletes the table.  Accepts NULL. */
void nft_proxy_free(struct nft_proxy *proxy);

typedef struct nft_proxy nft_proxy;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(nft_proxy, nft_proxy_free)

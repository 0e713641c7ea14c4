/* Relaying for peers (issue 13, section 5; `[interface NAME]
 * relay-for-peers`): the prefixes of every connected peer go into this
 * interface's relay table (proxy/nft-relay.h), which sends a packet from
 * one of them to another back into the tunnel.  Peers learn that we relay
 * from our facts (RELAYS, REACHES) and route through us (reroute.c).
 * A relayed prefix never covers an address of ours, and never includes a
 * link-local one. */
#include "config.h"

#include "peer.h"
#include "proxy/nft-relay.h"
#include "wg/wg-aip.h"

/* The relay table changes at most this often (a transaction each). */
#define RELAY_UPDATE_GAP_US (2 * G_USEC_PER_SEC)
#define RELAY_CHECK_US (5 * G_USEC_PER_SEC)

struct peer_relay {
	struct nft_relay *table;
	struct wg_allowed_ip *relayed; /* what the table holds */
	size_t n_relayed;
	bool failed; /* said once */
	gint64 updated_us, checked_us;
};

static bool up(const struct wice_peer *peer)
{
	return peer->state == PEER_CONNECTED && tunnel_signal_reachable(peer);
}

static struct peer_relay *state(struct wice_iface *iface)
{
	if (!iface->peer_relay)
		iface->peer_relay = g_new0(struct peer_relay, 1);
	return iface->peer_relay;
}


static size_t relayable(struct wice_iface *iface, struct wg_allowed_ip *ret, size_t max)
{
	GHashTableIter it;
	gpointer value;
	size_t n = 0, peers = 0;

	g_hash_table_iter_init(&it, iface->peers);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		const struct wice_peer *peer = value;
		size_t before = n;

		if (!up(peer))
			continue;
		for (size_t i = 0; i < peer->n_aips && n < max; i++) {
			const struct wg_allowed_ip *aip = &peer->aips[i];

			if ((aip->family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&aip->addr.v6)) ||
			    facts_covers_own(iface, aip) || wg_aip_in(aip, ret, n))
				continue;
			ret[n++] = *aip;
		}
		peers += n > before;
	}
	return peers >= 2 ? n : 0;
}

static bool same_list(const struct wg_allowed_ip *a, size_t na, const struct wg_allowed_ip *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!wg_aip_in(&a[i], b, nb))
			return false;
	return true;
}

/* `nft flush ruleset` (a firewall reload) takes the relay table too. */
static void repair(struct peer_relay *rr, const char *ifname)
{
	g_autoptr(GError) error = NULL;
	gint64 now = g_get_monotonic_time();

	if (!rr->table || now - rr->checked_us < RELAY_CHECK_US)
		return;
	rr->checked_us = now;
	if (nft_relay_table_exists(rr->table))
		return;
	if (nft_relay_restore(rr->table, &error))
		g_message("%s: the relay table was gone (a firewall reload?): restored", ifname);
	else
		g_warning("%s: cannot restore the relay table: %s", ifname, error->message);
}

void relay_for_peers_update(struct wice_iface *iface)
{
	struct peer_relay *rr = state(iface);
	g_autofree struct wg_allowed_ip *list = g_new0(struct wg_allowed_ip, NFT_RELAY_MAX_PREFIXES);
	size_t n = facts_relay_wanted(iface) ? relayable(iface, list, NFT_RELAY_MAX_PREFIXES) : 0;
	const char *table = iface->host.ops->nft_table ? iface->host.ops->nft_table(iface->host.data) : NULL;
	g_autoptr(GError) error = NULL;

	repair(rr, iface->name);
	if (same_list(list, n, rr->relayed, rr->n_relayed) || (!n && !rr->table) ||
	    g_get_monotonic_time() - rr->updated_us < RELAY_UPDATE_GAP_US)
		return;
	rr->updated_us = g_get_monotonic_time();
	if (!rr->table && table)
		rr->table = nft_relay_new(table, iface->name, &error);
	if (!rr->table || !nft_relay_set(rr->table, list, n, &error)) {
		if (!rr->failed)
			g_warning("%s: cannot relay for peers: %s", iface->name,
				  error ? error->message : "nftables is not usable");
		rr->failed = true;
		return;
	}
	g_free(rr->relayed);
	rr->relayed = g_memdup2(list, n * sizeof(*list));
	rr->n_relayed = n;
	g_message("%s: relaying between %zu prefixes of connected peers", iface->name, n);
}

bool relay_for_peers_counters(struct wice_iface *iface, size_t *ret_prefixes, uint64_t *ret_packets,
			      uint64_t *ret_bytes)
{
	struct peer_relay *rr = iface->peer_relay;

	if (!rr || !rr->table)
		return false;
	*ret_prefixes = rr->n_relayed;
	return nft_relay_counters(rr->table, ret_packets, ret_bytes);
}

void relay_for_peers_release(struct wice_iface *iface)
{
	struct peer_relay *rr = iface->peer_relay;

	if (!rr)
		return;
	nft_relay_free(rr->table);
	g_free(rr->relayed);
	g_free(rr);
	iface->peer_relay = NULL;
}

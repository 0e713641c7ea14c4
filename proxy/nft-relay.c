/* Forwarding between the peers of one WireGuard interface (see
 * nft-relay.h for why a netdev ingress chain and not IP forwarding).
 *
 * The rules are fixed; a change of the relayed prefixes is a flush and a
 * refill of the two sets in one transaction.  Interval sets refuse
 * overlapping elements, and CIDR prefixes either nest or are disjoint, so
 * the prefixes are reduced to those no other one covers before they are
 * written.
 *
 * `fib daddr type != local` keeps what is addressed to this host here even
 * when a relayed prefix covers one of its addresses (the caller should not
 * let that happen; without the check such a packet would go back into the
 * tunnel, where no peer takes it).  It costs one FIB lookup per relayed
 * packet, next to WireGuard's decryption and encryption of each.
 *
 * `fwd to` neither routes nor decrements the TTL: the relay behaves like a
 * switch for the WireGuard link.  A forwarded packet cannot loop, because
 * WireGuard only accepts a packet from a peer whose allowed IPs hold its
 * source: to circle between two relays, both the source and the destination
 * would have to be routed by each relay to the other (and the packet
 * injected by one of them), which the caller's sets, prefixes of peers it
 * reaches directly, never make.  Tried by hand: with such crossed routes
 * and sets, one ping circled ~17000 times a second until a table went. */
#include "config.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "nft-relay.h"
#include "nft-run.h"

/* Both rules count into it; nft_relay_counters() reads it. */
#define COUNTER "relayed"

struct nft_relay {
	struct nft_ctx *nft;
	char *table;
	char ifname[IF_NAMESIZE];
	struct wg_allowed_ip *prefixes; /* reduced, sorted; what the sets hold */
	size_t n_prefixes;
};

/* ---- the table ------------------------------------------------------------ */

static char *table_definition(const char *t, const char *ifname, bool replace)
{
	g_autofree char *body = g_strdup_printf(
		"table netdev %1$s {\n"
		"	counter " COUNTER " {\n"
		"	}\n"
		"	set prefixes4 { type ipv4_addr; flags interval; }\n"
		"	set prefixes6 { type ipv6_addr; flags interval; }\n"
		"	chain ingress {\n"
		"		type filter hook ingress device \"%2$s\" priority filter; policy accept;\n"
		"		ip saddr @prefixes4 ip daddr @prefixes4 fib daddr type != local"
		" counter name \"" COUNTER "\" fwd to \"%2$s\"\n"
		"		ip6 saddr @prefixes6 ip6 daddr @prefixes6 fib daddr type != local"
		" counter name \"" COUNTER "\" fwd to \"%2$s\"\n"
		"	}\n"
		"}\n",
		t, ifname);

	if (!replace)
		return g_steal_pointer(&body);
	/* "add; delete; add" in one transaction replaces a table a killed
	 * run left, whatever it holds. */
	return g_strdup_printf("add table netdev %1$s\ndelete table netdev %1$s\n%2$s", t, body);
}

/* The name goes into a quoted nft string: what Linux accepts as a name,
 * minus what nft's quoting cannot carry. */
static bool ifname_quotable(const char *ifname)
{
	if (!wg_ifname_valid(ifname))
		return false;
	for (const char *c = ifname; *c; c++)
		if (!g_ascii_isgraph(*c) || *c == '"' || *c == '\\')
			return false;
	return true;
}

static bool table_exists(struct nft_ctx *nft, const char *table)
{
	g_autofree char *cmd = g_strdup_printf("list table netdev %s\n", table);

	return nft_run(nft, cmd, NULL, NULL);
}

struct nft_relay *nft_relay_new(const char *table_prefix, const char *ifname, GError **error)
{
	g_autoptr(nft_relay) relay = g_new0(struct nft_relay, 1);
	g_autofree char *table = NULL, *def = NULL;
	unsigned ifindex;

	if (!nft_table_name_valid(table_prefix)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "invalid nftables table name '%s' (letters, digits, '_'; at most %d)", table_prefix,
			    NFT_TABLE_NAME_MAX);
		return NULL;
	}
	if (!ifname_quotable(ifname)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "invalid interface name '%s'", ifname);
		return NULL;
	}
	/* Checked here, not left to the kernel: a recent one (6.18 here)
	 * takes a netdev chain for a device that does not exist, and the
	 * table would forward nothing. */
	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no interface '%s'", ifname);
		return NULL;
	}
	relay->nft = nft_quiet_ctx_new();
	if (!relay->nft) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "nftables: cannot create a context");
		return NULL;
	}
	table = g_strdup_printf("%s_relay_%u", table_prefix, ifindex);
	def = table_definition(table, ifname, table_exists(relay->nft, table));
	if (!nft_run(relay->nft, def, NULL, error))
		return NULL;
	g_strlcpy(relay->ifname, ifname, sizeof(relay->ifname));
	relay->table = g_steal_pointer(&table);
	return g_steal_pointer(&relay);
}

void nft_relay_free(struct nft_relay *relay)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *cmd = NULL;

	if (!relay)
		return;
	if (relay->table) {
		cmd = g_strdup_printf("delete table netdev %s\n", relay->table);
		if (!nft_run(relay->nft, cmd, NULL, &error))
			g_warning("cannot remove nftables table %s: %s", relay->table, error->message);
	}
	if (relay->nft)
		nft_ctx_free(relay->nft);
	g_free(relay->table);
	g_free(relay->prefixes);
	g_free(relay);
}

const char *nft_relay_table(const struct nft_relay *relay)
{
	return relay->table;
}

/* ---- the prefixes ----------------------------------------------------------- */

static size_t addr_len(const struct wg_allowed_ip *p)
{
	return p->family == AF_INET ? sizeof(p->addr.v4) : sizeof(p->addr.v6);
}

static bool prefix_valid(const struct wg_allowed_ip *p)
{
	return (p->family == AF_INET && p->cidr <= 32) || (p->family == AF_INET6 && p->cidr <= 128);
}

/* Clears the host bits: nft wants the network address of a prefix. */
static void prefix_mask(struct wg_allowed_ip *p)
{
	uint8_t *bytes = (uint8_t *)&p->addr;

	for (size_t i = 0; i < addr_len(p); i++) {
		unsigned bits = i * 8 >= p->cidr ? 0 : MIN(8u, p->cidr - i * 8u);

		bytes[i] &= (uint8_t)(0xff00u >> bits);
	}
}

/* By family, then network address, then shorter first: a prefix comes
 * before every prefix it covers. */
static int prefix_compare(const void *a, const void *b)
{
	const struct wg_allowed_ip *p = a, *q = b;
	int r;

	if (p->family != q->family)
		return p->family < q->family ? -1 : 1;
	r = memcmp(&p->addr, &q->addr, addr_len(p));
	if (r)
		return r;
	return (int)p->cidr - (int)q->cidr;
}

static bool prefix_covers(const struct wg_allowed_ip *outer, const struct wg_allowed_ip *inner)
{
	struct wg_allowed_ip cut = *inner;

	if (outer->family != inner->family || outer->cidr > inner->cidr)
		return false;
	cut.cidr = outer->cidr;
	prefix_mask(&cut);
	return memcmp(&cut.addr, &outer->addr, addr_len(outer)) == 0;
}

/* Masks, sorts and drops every prefix another one covers, in place.  In
 * sorted order a covered prefix always follows the last one kept before
 * it, if any prefix covers it: CIDR prefixes nest or are disjoint. */
static size_t prefixes_reduce(struct wg_allowed_ip *p, size_t n)
{
	size_t kept = 0;

	for (size_t i = 0; i < n; i++)
		prefix_mask(&p[i]);
	qsort(p, n, sizeof(*p), prefix_compare);
	for (size_t i = 0; i < n; i++)
		if (!kept || !prefix_covers(&p[kept - 1], &p[i]))
			p[kept++] = p[i];
	return kept;
}

/* "flush set ...; add element ..." for one family. */
static void append_family(GString *cmds, const char *table, const struct wg_allowed_ip *p, size_t n, int family)
{
	const char *set = family == AF_INET ? "prefixes4" : "prefixes6";
	const char *sep = " ";
	bool any = false;

	g_string_append_printf(cmds, "flush set netdev %s %s\n", table, set);
	for (size_t i = 0; i < n; i++) {
		char text[INET6_ADDRSTRLEN];

		if (p[i].family != family)
			continue;
		if (!any)
			g_string_append_printf(cmds, "add element netdev %s %s {", table, set);
		any = true;
		inet_ntop(family, &p[i].addr, text, sizeof(text));
		g_string_append_printf(cmds, "%s%s/%u", sep, text, p[i].cidr);
		sep = ", ";
	}
	if (any)
		g_string_append(cmds, " }\n");
}

static void append_sets(GString *cmds, const char *table, const struct wg_allowed_ip *p, size_t n)
{
	append_family(cmds, table, p, n, AF_INET);
	append_family(cmds, table, p, n, AF_INET6);
}

bool nft_relay_set(struct nft_relay *relay, const struct wg_allowed_ip *prefixes, size_t n, GError **error)
{
	g_autofree struct wg_allowed_ip *next = NULL;
	g_autoptr(GString) cmds = g_string_new(NULL);

	if (n > NFT_RELAY_MAX_PREFIXES) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "more than %d relayed prefixes",
			    NFT_RELAY_MAX_PREFIXES);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (!prefix_valid(&prefixes[i])) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "relayed prefix %zu: family %u, length %u", i, prefixes[i].family,
				    prefixes[i].cidr);
			return false;
		}
	}
	next = n ? g_memdup2(prefixes, n * sizeof(*prefixes)) : NULL;
	n = prefixes_reduce(next, n);
	append_sets(cmds, relay->table, next, n);
	if (!nft_run(relay->nft, cmds->str, NULL, error))
		return false;
	g_free(relay->prefixes);
	relay->prefixes = g_steal_pointer(&next);
	relay->n_prefixes = n;
	return true;
}

/* ---- counters and repair ----------------------------------------------------- */

bool nft_relay_counters(struct nft_relay *relay, uint64_t *ret_packets, uint64_t *ret_bytes)
{
	g_autofree char *cmd = g_strdup_printf("list counter netdev %s " COUNTER "\n", relay->table);
	g_autofree char *out = NULL;
	uint64_t packets, bytes;
	const char *at;

	if (!nft_run(relay->nft, cmd, &out, NULL))
		return false;
	/* "table netdev T { counter relayed { packets N bytes M } }" */
	at = out ? strstr(out, "packets ") : NULL;
	if (!at || sscanf(at, "packets %" SCNu64 " bytes %" SCNu64, &packets, &bytes) != 2)
		return false;
	*ret_packets = packets;
	*ret_bytes = bytes;
	return true;
}

bool nft_relay_table_exists(struct nft_relay *relay)
{
	return table_exists(relay->nft, relay->table);
}

bool nft_relay_restore(struct nft_relay *relay, GError **error)
{
	g_autofree char *def = table_definition(relay->table, relay->ifname, true);
	g_autoptr(GString) cmds = g_string_new(def);

	append_sets(cmds, relay->table, relay->prefixes, relay->n_prefixes);
	return nft_run(relay->nft, cmds->str, NULL, error);
}

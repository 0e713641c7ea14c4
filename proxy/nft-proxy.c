/* The nftables fast path (see nft-proxy.h for what the rules do).
 *
 * Commands are nft's own text syntax run through libnftables: the rules are
 * few and fixed, they read in `nft list` exactly as written here, and the
 * only variable parts (table name, addresses, ports, peer handle) are
 * validated or formatted by us, so nothing from outside can change their
 * meaning.  The peer table in memory is what lets an update delete exactly
 * the elements it installed before, in the same transaction as the adds. */
#include "config.h"

#include <arpa/inet.h>
#include <string.h>

#include "nft-proxy.h"
#include "nft-run.h"
#include "nft-watch.h"

/* A name no daemon uses, for the dry run of nft_proxy_available(). */
#define PROBE_TABLE "wice_probe"
/* Repairs follow a change at once, then keep at least this far apart,
 * twice as far for each repair that follows the last within REPAIR_QUIET:
 * a firewall manager that keeps removing the table is not fought at the
 * speed of the main loop. */
#define REPAIR_GAP_MIN_MS 100
#define REPAIR_GAP_MAX_MS 30000
#define REPAIR_QUIET_MS 10000

struct nft_peer {
	char handle[NFT_PROXY_MAX_HANDLE + 1];
	char remote[INET6_ADDRSTRLEN];
	bool ipv6;
	uint16_t remote_port, wg_port, ice_port;
};

struct nft_proxy {
	struct nft_ctx *nft;
	char *table;
	GHashTable *peers; /* handle -> struct nft_peer */
	struct nft_watch *watch;
	GSource *repair_timer;
	gint64 last_repair_us; /* monotonic; 0: never */
	unsigned repair_gap_ms;
	char changed_by[48]; /* who changed the table, for the log */
};

/* ---- the table ------------------------------------------------------------ */

/* The fixed part.  With @replace, "add; delete; add" in one transaction
 * removes a table a killed run left behind, whether or not there is one;
 * the deletion makes the kernel wait for an RCU grace period (10-20 ms
 * here, on every daemon start), so it is left out when no such table
 * exists.
 *
 * Ingress checks the key first (one hash lookup for all the UDP traffic
 * that is not ours), then that the packet is for this host (a router must
 * not rewrite the flows it forwards), then what it is.  A WireGuard header
 * (type 1-4, three zero bytes) always goes to WireGuard: bytes 4-7 of its
 * messages are a random session index, which is the STUN cookie once in
 * 2^32 sessions.  Anything else goes to WireGuard unless it carries the
 * cookie.  A packet the first rule rewrote no longer matches the second,
 * whose lookup then has WireGuard's port in the key.
 *
 * The key is looked up in a set that mirrors the ingress map's keys, not
 * in the map itself: older kernels refuse a lookup of a map that returns
 * no value, and the whole table with it (Debian 12's 6.1 answers EINVAL,
 * tests/kernel/kernel.test boots it; 6.6 and later accept it). */
#define WG_HEADERS "{ 0x01000000, 0x02000000, 0x03000000, 0x04000000 }"
#define STUN_COOKIE "0x2112a442"
#define INGRESS_RULE(ip, map, what)                                                                       \
	"		meta l4proto udp " ip " saddr . udp sport . udp dport @" map "keys fib daddr type local " what \
	" udp dport set " ip " saddr . udp sport . udp dport map @" map " notrack\n"

static char *table_definition(const char *t, bool replace)
{
	g_autofree char *body = g_strdup_printf(
		"table inet %1$s {\n"
		"	map out4 { typeof ip daddr . udp dport . udp sport : udp sport; }\n"
		"	map out6 { typeof ip6 daddr . udp dport . udp sport : udp sport; }\n"
		"	map in4 { typeof ip saddr . udp sport . udp dport : udp dport; }\n"
		"	map in6 { typeof ip6 saddr . udp sport . udp dport : udp dport; }\n"
		"	set in4keys { typeof ip saddr . udp sport . udp dport; }\n"
		"	set in6keys { typeof ip6 saddr . udp sport . udp dport; }\n"
		"	chain egress {\n"
		"		type filter hook output priority raw; policy accept;\n"
		"		meta l4proto udp udp sport set ip daddr . udp dport . udp sport map @out4 notrack\n"
		"		meta l4proto udp udp sport set ip6 daddr . udp dport . udp sport map @out6 notrack\n"
		"	}\n"
		"	chain ingress {\n"
		"		type filter hook prerouting priority raw; policy accept;\n"
		INGRESS_RULE("ip", "in4", "@th,64,32 " WG_HEADERS)
		INGRESS_RULE("ip", "in4", "@th,96,32 != " STUN_COOKIE)
		INGRESS_RULE("ip6", "in6", "@th,64,32 " WG_HEADERS)
		INGRESS_RULE("ip6", "in6", "@th,96,32 != " STUN_COOKIE)
		"	}\n"
		"}\n",
		t);

	if (!replace)
		return g_steal_pointer(&body);
	return g_strdup_printf("add table inet %1$s\ndelete table inet %1$s\n%2$s", t, body);
}

/* Handles end up inside a quoted nft comment: no quotes, no spaces. */
static bool valid_handle(const char *handle)
{
	size_t len = strlen(handle);

	if (len == 0 || len > NFT_PROXY_MAX_HANDLE)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!g_ascii_isalnum(handle[i]) && !strchr("_-.:+/=", handle[i]))
			return false;
	return true;
}

/* A transaction of ours: the watcher must not take it for someone else's. */
static bool commit(struct nft_proxy *p, const char *cmds, GError **error)
{
	bool ok;

	if (p->watch)
		nft_watch_own_begin(p->watch);
	ok = nft_run(p->nft, cmds, NULL, error);
	if (p->watch)
		nft_watch_own_end(p->watch, ok);
	return ok;
}

static bool table_exists(struct nft_ctx *nft, const char *table)
{
	g_autofree char *cmd = g_strdup_printf("list table inet %s\n", table);

	return nft_run(nft, cmd, NULL, NULL);
}

bool nft_proxy_available(void)
{
	struct nft_ctx *nft = nft_quiet_ctx_new();
	g_autofree char *def = table_definition(PROBE_TABLE, false);
	bool ok;

	if (!nft)
		return false;
	/* A dry run still goes to the kernel, which checks privilege and
	 * that it knows every expression; then the transaction is aborted. */
	nft_ctx_set_dry_run(nft, true);
	ok = nft_run(nft, def, NULL, NULL);
	nft_ctx_free(nft);
	return ok;
}

struct nft_proxy *nft_proxy_new(const char *table, GError **error)
{
	g_autoptr(nft_proxy) p = g_new0(struct nft_proxy, 1);
	g_autofree char *def = NULL;

	if (!nft_table_name_valid(table)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "invalid nftables table name '%s' (letters, digits, '_'; at most %d)", table,
			    NFT_TABLE_NAME_MAX);
		return NULL;
	}
	p->peers = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
	p->nft = nft_quiet_ctx_new();
	if (!p->nft) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "nftables: cannot create a context");
		return NULL;
	}
	def = table_definition(table, table_exists(p->nft, table));
	if (!nft_run(p->nft, def, NULL, error))
		return NULL;
	p->table = g_strdup(table);
	return g_steal_pointer(&p);
}

void nft_proxy_free(struct nft_proxy *p)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *cmd = NULL;

	if (!p)
		return;
	nft_watch_free(p->watch);
	if (p->repair_timer) {
		g_source_destroy(p->repair_timer);
		g_source_unref(p->repair_timer);
	}
	if (p->table) {
		cmd = g_strdup_printf("delete table inet %s\n", p->table);
		if (!nft_run(p->nft, cmd, NULL, &error))
			g_warning("cannot remove nftables table %s: %s", p->table, error->message);
	}
	if (p->nft)
		nft_ctx_free(p->nft);
	if (p->peers)
		g_hash_table_destroy(p->peers);
	g_free(p->table);
	g_free(p);
}

/* ---- peers ------------------------------------------------------------------ */

static bool peer_from_args(struct nft_peer *peer, const char *handle, uint16_t wg_port, uint16_t ice_port,
			   GInetSocketAddress *remote, GError **error)
{
	GInetAddress *addr = g_inet_socket_address_get_address(remote);
	g_autofree char *text = g_inet_address_to_string(addr);

	if (!valid_handle(handle)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "invalid peer handle '%s'", handle);
		return false;
	}
	if (!wg_port || !ice_port || !g_inet_socket_address_get_port(remote) || strlen(text) >= sizeof(peer->remote)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "peer '%s': a port is 0 or the address is bad", handle);
		return false;
	}
	memset(peer, 0, sizeof(*peer));
	g_strlcpy(peer->handle, handle, sizeof(peer->handle));
	g_strlcpy(peer->remote, text, sizeof(peer->remote));
	peer->ipv6 = g_inet_address_get_family(addr) == G_SOCKET_FAMILY_IPV6;
	peer->remote_port = g_inet_socket_address_get_port(remote);
	peer->wg_port = wg_port;
	peer->ice_port = ice_port;
	return true;
}

static bool same_egress_key(const struct nft_peer *a, const struct nft_peer *b)
{
	return a->ipv6 == b->ipv6 && !strcmp(a->remote, b->remote) && a->remote_port == b->remote_port &&
	       a->wg_port == b->wg_port;
}

static bool same_ingress_key(const struct nft_peer *a, const struct nft_peer *b)
{
	return a->ipv6 == b->ipv6 && !strcmp(a->remote, b->remote) && a->remote_port == b->remote_port &&
	       a->ice_port == b->ice_port;
}

/* Two peers on one map key would steal each other's packets. */
static const struct nft_peer *find_clash(struct nft_proxy *p, const struct nft_peer *peer)
{
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, p->peers);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		const struct nft_peer *other = value;

		if (strcmp(other->handle, peer->handle) &&
		    (same_egress_key(other, peer) || same_ingress_key(other, peer)))
			return other;
	}
	return NULL;
}

static void append_delete(GString *cmds, const char *table, const struct nft_peer *peer)
{
	const char *v = peer->ipv6 ? "6" : "4";

	g_string_append_printf(cmds, "delete element inet %s out%s { %s . %u . %u }\n", table, v, peer->remote,
			       peer->remote_port, peer->wg_port);
	g_string_append_printf(cmds, "delete element inet %s in%s { %s . %u . %u }\n", table, v, peer->remote,
			       peer->remote_port, peer->ice_port);
	g_string_append_printf(cmds, "delete element inet %s in%skeys { %s . %u . %u }\n", table, v, peer->remote,
			       peer->remote_port, peer->ice_port);
}

static void append_add(GString *cmds, const char *table, const struct nft_peer *peer)
{
	const char *v = peer->ipv6 ? "6" : "4";

	g_string_append_printf(cmds, "add element inet %s out%s { %s . %u . %u comment \"%s\" : %u }\n", table, v,
			       peer->remote, peer->remote_port, peer->wg_port, peer->handle, peer->ice_port);
	g_string_append_printf(cmds, "add element inet %s in%s { %s . %u . %u comment \"%s\" : %u }\n", table, v,
			       peer->remote, peer->remote_port, peer->ice_port, peer->handle, peer->wg_port);
	/* No comment: the maps' elements name the peer, and a key alone
	 * rewrites nothing. */
	g_string_append_printf(cmds, "add element inet %s in%skeys { %s . %u . %u }\n", table, v, peer->remote,
			       peer->remote_port, peer->ice_port);
}

/* Replaces @old (NULL: a new peer) by @next. */
static bool install_peer(struct nft_proxy *p, struct nft_peer *old, const struct nft_peer *next, GError **error)
{
	const struct nft_peer *clash = find_clash(p, next);
	g_autoptr(GString) cmds = g_string_new(NULL);

	if (clash) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS, "peer '%s' has the same flow as peer '%s'",
			    next->handle, clash->handle);
		return false;
	}
	/* Deletes and adds are one transaction: the kernel switches at once. */
	if (old)
		append_delete(cmds, p->table, old);
	append_add(cmds, p->table, next);
	if (!commit(p, cmds->str, error))
		return false;
	if (old) {
		*old = *next;
	} else {
		old = g_new(struct nft_peer, 1);
		*old = *next;
		g_hash_table_insert(p->peers, old->handle, old);
	}
	return true;
}

bool nft_proxy_set_peer(struct nft_proxy *p, const char *handle, uint16_t wg_port, uint16_t ice_port,
			GInetSocketAddress *remote, GError **error)
{
	struct nft_peer next, *old;

	if (!peer_from_args(&next, handle, wg_port, ice_port, remote, error))
		return false;
	old = g_hash_table_lookup(p->peers, handle);
	if (!old && g_hash_table_size(p->peers) >= NFT_PROXY_MAX_PEERS) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "more than %u peers", NFT_PROXY_MAX_PEERS);
		return false;
	}
	return install_peer(p, old, &next, error);
}

bool nft_proxy_set_peer_wg_port(struct nft_proxy *p, const char *handle, uint16_t wg_port, GError **error)
{
	struct nft_peer *old = g_hash_table_lookup(p->peers, handle), next;

	if (!old) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no peer '%s'", handle);
		return false;
	}
	if (!wg_port) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "peer '%s': WireGuard port 0", handle);
		return false;
	}
	if (old->wg_port == wg_port)
		return true;
	next = *old;
	next.wg_port = wg_port;
	return install_peer(p, old, &next, error);
}

bool nft_proxy_rename_peer(struct nft_proxy *p, const char *handle, const char *new_handle)
{
	struct nft_peer *peer = g_hash_table_lookup(p->peers, handle);

	if (!peer || strlen(new_handle) > NFT_PROXY_MAX_HANDLE || g_hash_table_contains(p->peers, new_handle))
		return false;
	g_hash_table_steal(p->peers, handle);
	g_strlcpy(peer->handle, new_handle, sizeof(peer->handle));
	g_hash_table_insert(p->peers, peer->handle, peer);
	return true;
}

bool nft_proxy_remove_peer(struct nft_proxy *p, const char *handle, GError **error)
{
	struct nft_peer *old = g_hash_table_lookup(p->peers, handle);
	g_autoptr(GString) cmds = g_string_new(NULL);

	if (!old)
		return true;
	append_delete(cmds, p->table, old);
	if (!commit(p, cmds->str, error))
		return false;
	g_hash_table_remove(p->peers, handle);
	return true;
}

unsigned nft_proxy_n_peers(const struct nft_proxy *p)
{
	return g_hash_table_size(p->peers);
}

bool nft_proxy_table_exists(struct nft_proxy *p)
{
	return table_exists(p->nft, p->table);
}

bool nft_proxy_restore(struct nft_proxy *p, GError **error)
{
	g_autofree char *def = table_definition(p->table, true);
	g_autoptr(GString) cmds = g_string_new(def);
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, p->peers);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		append_add(cmds, p->table, value);
	return commit(p, cmds->str, error);
}

/* ---- repair ------------------------------------------------------------------- */

static gboolean on_repair_timer(gpointer data)
{
	struct nft_proxy *p = data;
	g_autoptr(GError) error = NULL;
	gint64 now = g_get_monotonic_time();

	g_clear_pointer(&p->repair_timer, g_source_unref);
	if (p->last_repair_us && now - p->last_repair_us < REPAIR_QUIET_MS * G_TIME_SPAN_MILLISECOND)
		p->repair_gap_ms = MIN(p->repair_gap_ms * 2, REPAIR_GAP_MAX_MS);
	else
		p->repair_gap_ms = REPAIR_GAP_MIN_MS;
	p->last_repair_us = now;
	if (nft_proxy_restore(p, &error))
		g_message("nftables table %s was changed by %s; restored it with %u peers", p->table, p->changed_by,
			  nft_proxy_n_peers(p));
	else
		g_warning("nftables table %s was changed by %s; cannot restore it: %s", p->table, p->changed_by,
			  error->message);
	return G_SOURCE_REMOVE;
}

static void on_table_changed(uint32_t pid, const char *comm, void *data)
{
	struct nft_proxy *p = data;
	gint64 wait_us = 0;

	if (p->repair_timer)
		return;
	if (pid)
		g_snprintf(p->changed_by, sizeof(p->changed_by), "%s[%u]", *comm ? comm : "?", pid);
	else
		g_strlcpy(p->changed_by, "someone (events were lost)", sizeof(p->changed_by));
	if (p->last_repair_us)
		wait_us = p->last_repair_us + p->repair_gap_ms * G_TIME_SPAN_MILLISECOND - g_get_monotonic_time();
	p->repair_timer = g_timeout_source_new(wait_us > 0 ? (guint)(wait_us / 1000) : 0);
	g_source_set_callback(p->repair_timer, on_repair_timer, p, NULL);
	g_source_attach(p->repair_timer, g_main_context_get_thread_default());
}

bool nft_proxy_watch(struct nft_proxy *p, GError **error)
{
	if (p->watch)
		return true;
	p->watch = nft_watch_new(p->table, on_table_changed, p, error);
	return p->watch != NULL;
}

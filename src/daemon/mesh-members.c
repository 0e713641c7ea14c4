/* The member table: who is in the mesh, at which addresses, and the
 * WireGuard peers, routes, cache and hosts file that follow from it. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>

#include "mesh-internal.h"
#include "mesh/mesh-hosts.h"
#include "peer.h"
#include "util/source-util.h"
#include "wg/wg-keyaddr.h"

#define RECONCILE_DELAY_MS 20
#define SAVE_DELAY_MS 2000
/* A WireGuard handshake this recent makes a member reachable over the
 * tunnel (WireGuard rekeys every two minutes while in use). */
#define HANDSHAKE_FRESH_S 180
#define KICK_KEEPALIVE_S 25

static void member_free(gpointer data)
{
	struct mesh_member *mm = data;

	g_free(mm->aips);
	g_free(mm);
}

void mesh_members_init(struct wice_mesh *m)
{
	m->members = g_hash_table_new_full(g_bytes_hash, g_bytes_equal, (GDestroyNotify)g_bytes_unref, member_free);
	m->departed = g_hash_table_new_full(g_bytes_hash, g_bytes_equal, (GDestroyNotify)g_bytes_unref, g_free);
	m->wg_of_sign = g_hash_table_new_full(g_bytes_hash, g_bytes_equal, (GDestroyNotify)g_bytes_unref, g_free);
}

void mesh_members_free(struct wice_mesh *m)
{
	source_clear(&m->reconcile_soon);
	source_clear(&m->save_soon);
	g_clear_pointer(&m->members, g_hash_table_destroy);
	g_clear_pointer(&m->departed, g_hash_table_destroy);
	g_clear_pointer(&m->wg_of_sign, g_hash_table_destroy);
}

const char *mesh_source_name(enum mesh_source source)
{
	static const char *const names[] = { "lan", "server", "gossip", "cache" };

	return names[source];
}

struct mesh_member *mesh_member_find(struct wice_mesh *m, const uint8_t wg_public[32])
{
	g_autoptr(GBytes) key = g_bytes_new(wg_public, 32);

	return g_hash_table_lookup(m->members, key);
}

/* Tests force collisions: WICE_TEST_MESH_HOST4=N pins every key's first
 * IPv4 host part to N, so that every member must re-derive but one. */
struct in_addr mesh_member_address4(const struct mesh_keyset *ks, const uint8_t wg_public[32], uint8_t counter)
{
	const char *pin = getenv("WICE_TEST_MESH_HOST4");
	struct in_addr a;

	mesh_address4(&ks->keys, wg_public, counter, &a);
	if (counter == 0 && pin && atoi(pin) > 0 && atoi(pin) < 65535) {
		uint8_t *b = (uint8_t *)&a;

		b[2] = (uint8_t)(atoi(pin) >> 8), b[3] = (uint8_t)atoi(pin);
	}
	return a;
}

/* --- the device ---------------------------------------------------------------- */

static void add_aip(GArray *aips, int family, const void *addr, uint8_t cidr)
{
	struct wg_allowed_ip aip = { .family = (sa_family_t)family, .cidr = cidr };

	memcpy(family == AF_INET ? (void *)&aip.addr.v4 : (void *)&aip.addr.v6, addr, family == AF_INET ? 4 : 16);
	g_array_append_val(aips, aip);
}

/* The member's addresses, its routes, and (unless the operator turned
 * them off) the addresses bound to its key, which the interface's own
 * handling (link-addr.c) would otherwise see replaced. */
static GArray *wanted_aips(const struct wice_mesh *m, const struct mesh_member *mm)
{
	GArray *aips = g_array_new(FALSE, TRUE, sizeof(struct wg_allowed_ip));
	struct in6_addr ll, key;

	add_aip(aips, AF_INET, &mm->addr4, 32);
	add_aip(aips, AF_INET6, &mm->addr6, 128);
	if (m->host.ops->settings(m->host.data, m->ifname)->link_addresses != WICE_NO) {
		wg_key_link_local(mm->wg_public, &ll);
		wg_key_address(mm->wg_public, &key);
		add_aip(aips, AF_INET6, &ll, 128);
		add_aip(aips, AF_INET6, &key, 128);
	}
	for (unsigned i = 0; i < mm->ann.n_routes; i++)
		add_aip(aips, mm->ann.routes[i].family, mm->ann.routes[i].addr, mm->ann.routes[i].len);
	return aips;
}

static bool sig_addr_to_endpoint(const struct sig_addr *a, union wg_sockaddr *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (a->family == AF_INET) {
		ret->in.sin_family = AF_INET;
		memcpy(&ret->in.sin_addr, a->addr, 4);
		ret->in.sin_port = htons(a->port);
		return true;
	}
	if (a->family == AF_INET6) {
		ret->in6.sin6_family = AF_INET6;
		memcpy(&ret->in6.sin6_addr, a->addr, 16);
		ret->in6.sin6_port = htons(a->port);
		return !IN6_IS_ADDR_LINKLOCAL(&ret->in6.sin6_addr);
	}
	return false;
}

/* Where WireGuard may try first, before ICE finds a path: where it
 * answered last (cache), else the first address the member announced. */
static bool first_endpoint(const struct mesh_member *mm, union wg_sockaddr *ret)
{
	if (mm->has_cached_endpoint && sig_addr_to_endpoint(&mm->cached_endpoint, ret))
		return true;
	for (unsigned i = 0; i < mm->ann.n_endpoints; i++)
		if (sig_addr_to_endpoint(&mm->ann.endpoints[i], ret))
			return true;
	return false;
}

static void update_routes(struct wice_mesh *m, const struct mesh_member *mm, bool add)
{
	for (unsigned i = 0; i < mm->ann.n_routes; i++) {
		const struct mesh_prefix *p = &mm->ann.routes[i];
		g_autoptr(GError) error = NULL;
		bool ok = add ? mesh_link_route_add(m->link, p->family, p->addr, p->len, &error)
			      : mesh_link_route_del(m->link, p->family, p->addr, p->len, &error);

		if (!ok)
			g_message("mesh %s: route: %s", m->ifname, error->message);
	}
}

/* WireGuard handshakes only when it has something to send; a keepalive
 * set and cleared makes it send one now.  So whichever side adds the
 * other second completes the handshake at once, instead of the first
 * side's retry 5 s later. */
static void kick(struct wice_mesh *m, const uint8_t key[32])
{
	struct wg_peer change = { .set = WG_PEER_UPDATE_ONLY | WG_PEER_SET_KEEPALIVE };
	struct wg_device changes = { .peers = &change, .n_peers = 1 };

	memcpy(change.public_key, key, 32);
	change.persistent_keepalive = KICK_KEEPALIVE_S;
	m->host.wg->set(m->ifname, &changes);
	change.persistent_keepalive = 0;
	m->host.wg->set(m->ifname, &changes);
}

static bool put_member(struct wice_mesh *m, struct mesh_member *mm)
{
	g_autoptr(GArray) aips = wanted_aips(m, mm);
	struct wg_peer peer = { 0 };
	int r;

	mesh_pair_psk(&mm->ks->keys, m->hostkey.wg_public, mm->wg_public, peer.preshared_key);
	if (mm->in_device && mm->n_aips == aips->len && sodium_memcmp(mm->psk, peer.preshared_key, 32) == 0 &&
	    memcmp(mm->aips, aips->data, aips->len * sizeof(struct wg_allowed_ip)) == 0) {
		sodium_memzero(peer.preshared_key, sizeof(peer.preshared_key));
		return false;
	}
	memcpy(mm->psk, peer.preshared_key, 32);
	memcpy(peer.public_key, mm->wg_public, 32);
	peer.allowed_ips = (struct wg_allowed_ip *)aips->data;
	peer.n_allowed_ips = aips->len;
	peer.set = WG_PEER_SET_PRESHARED_KEY | WG_PEER_REPLACE_ALLOWED_IPS;
	if (!mm->in_device && first_endpoint(mm, &peer.endpoint))
		peer.set |= WG_PEER_SET_ENDPOINT;
	r = wg_put_peer(m->host.wg, m->ifname, &peer);
	sodium_memzero(peer.preshared_key, sizeof(peer.preshared_key));
	if (r == 0 && (peer.set & WG_PEER_SET_ENDPOINT))
		kick(m, mm->wg_public);
	if (r < 0) {
		g_warning("mesh %s: cannot add member %s: %s", m->ifname, mm->ann.hostname, g_strerror(-r));
		return false;
	}
	if (!mm->in_device)
		update_routes(m, mm, true);
	mm->in_device = true;
	g_free(mm->aips);
	mm->n_aips = aips->len;
	mm->aips = g_memdup2(aips->data, aips->len * sizeof(struct wg_allowed_ip));
	return true;
}

static void remove_member(struct wice_mesh *m, struct mesh_member *mm, const char *why)
{
	g_autoptr(GBytes) key = g_bytes_new(mm->wg_public, 32);

	g_message("mesh %s: member %s leaves: %s", m->ifname, mm->ann.hostname, why);
	if (mm->in_device) {
		update_routes(m, mm, false);
		wg_remove_peer(m->host.wg, m->ifname, mm->wg_public);
	}
	g_hash_table_remove(m->members, key);
}

/* --- addresses ------------------------------------------------------------------- */

static int compare_keys(gconstpointer a, gconstpointer b)
{
	return memcmp(*(const uint8_t *const *)a, *(const uint8_t *const *)b, 32);
}

static bool address_taken(GHashTable *taken, struct in_addr a)
{
	return g_hash_table_contains(taken, GUINT_TO_POINTER(a.s_addr));
}

/* Every node assigns the same way: keys in ascending byte order, each
 * takes its first derived address no lower key holds.  Per secret: during
 * a rotation, members still on the old one keep its addresses. */
static void resolve_addresses(struct wice_mesh *m, struct mesh_keyset *ks)
{
	g_autoptr(GPtrArray) keys = g_ptr_array_new();
	g_autoptr(GHashTable) taken = g_hash_table_new(g_direct_hash, g_direct_equal);
	GHashTableIter it;
	gpointer value;

	g_ptr_array_add(keys, m->hostkey.wg_public);
	g_hash_table_iter_init(&it, m->members);
	while (g_hash_table_iter_next(&it, NULL, &value))
		if (((struct mesh_member *)value)->ks == ks)
			g_ptr_array_add(keys, ((struct mesh_member *)value)->wg_public);
	g_ptr_array_sort(keys, compare_keys);
	for (guint i = 0; i < keys->len; i++) {
		const uint8_t *key = g_ptr_array_index(keys, i);
		uint8_t counter = 0;
		struct in_addr a = mesh_member_address4(ks, key, 0);

		while (address_taken(taken, a) && counter < 255)
			a = mesh_member_address4(ks, key, ++counter);
		g_hash_table_add(taken, GUINT_TO_POINTER(a.s_addr));
		if (key == m->hostkey.wg_public) {
			mesh_keyset_set_address4(m, ks, a, counter);
			continue;
		}
		struct mesh_member *mm = mesh_member_find(m, key);
		mm->addr4 = a;
		mm->counter4 = counter;
		mesh_address6(&ks->keys, key, 0, &mm->addr6);
	}
}

/* --- keeping everything in step with the table ------------------------------- */

static void update_hosts_file(struct wice_mesh *m)
{
	g_autoptr(GArray) entries = g_array_new(FALSE, TRUE, sizeof(struct mesh_hosts_entry));
	g_autoptr(GError) error = NULL;
	GHashTableIter it;
	gpointer value;

	if (!m->hosts_file)
		return;
	g_hash_table_iter_init(&it, m->members);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		const struct mesh_member *mm = value;
		struct mesh_hosts_entry e4 = { 0 }, e6 = { 0 };

		inet_ntop(AF_INET, &mm->addr4, e4.address, sizeof(e4.address));
		inet_ntop(AF_INET6, &mm->addr6, e6.address, sizeof(e6.address));
		g_strlcpy(e4.hostname, mm->ann.hostname, sizeof(e4.hostname));
		g_strlcpy(e6.hostname, mm->ann.hostname, sizeof(e6.hostname));
		g_array_append_val(entries, e4);
		g_array_append_val(entries, e6);
	}
	if (!mesh_hosts_update(m->hosts_file, m->ifname, (struct mesh_hosts_entry *)entries->data, entries->len,
			       &error))
		g_warning("mesh %s: hosts file: %s", m->ifname, error->message);
}

static gboolean on_save_soon(gpointer data)
{
	struct wice_mesh *m = data;

	source_clear(&m->save_soon);
	mesh_members_save_cache(m);
	return G_SOURCE_REMOVE;
}

static gboolean on_reconcile(gpointer data)
{
	struct wice_mesh *m = data;
	struct mesh_keyset *kss[2];
	GHashTableIter it;
	gpointer value;
	bool device_changed = false;

	source_clear(&m->reconcile_soon);
	for (unsigned i = 0; i < mesh_keysets(m, kss); i++)
		resolve_addresses(m, kss[i]);
	g_hash_table_iter_init(&it, m->members);
	while (g_hash_table_iter_next(&it, NULL, &value))
		device_changed |= put_member(m, value);
	/* New peers in the device: start their sessions now, not at the
	 * next poll. */
	if (device_changed && m->iface)
		iface_sync(m->iface, NULL, NULL);
	/* Names resolve as soon as members arrive (rewritten only on change);
	 * the cache can wait for a quiet moment. */
	update_hosts_file(m);
	if (!m->save_soon)
		m->save_soon = source_timeout(SAVE_DELAY_MS, on_save_soon, m);
	return G_SOURCE_REMOVE;
}

void mesh_members_changed(struct wice_mesh *m)
{
	if (!m->reconcile_soon)
		m->reconcile_soon = source_timeout(RECONCILE_DELAY_MS, on_reconcile, m);
}

/* Departures are remembered as long as a member's announcements live,
 * so that gossip of its last words before the goodbye is ignored. */
static void remember_departure(struct wice_mesh *m, const uint8_t wg_public[32], uint64_t timestamp)
{
	g_hash_table_insert(m->departed, g_bytes_new(wg_public, 32), g_memdup2(&timestamp, sizeof(timestamp)));
}

static bool departed_after(struct wice_mesh *m, const uint8_t wg_public[32], uint64_t timestamp)
{
	g_autoptr(GBytes) key = g_bytes_new(wg_public, 32);
	const uint64_t *when = g_hash_table_lookup(m->departed, key);

	return when && timestamp <= *when;
}

static void forget_old_departures(struct wice_mesh *m, uint64_t now)
{
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, m->departed);
	while (g_hash_table_iter_next(&it, NULL, &value))
		if (*(const uint64_t *)value + MESH_MEMBER_TTL_S + MESH_MAX_SKEW_S < now)
			g_hash_table_iter_remove(&it);
}

/* The WireGuard key of a signing key: the conversion (a square root in
 * the field) cost more than half of a daemon's time in a mesh of 50 while
 * it forms, as every announcement of every frame needs it; remembered. */
#define WG_OF_SIGN_MAX 4096
/* version, signing key, time: then the flags (docs/PROTOCOL.md 11.1) */
#define ANNOUNCE_FLAGS_OFFSET (1 + 32 + 8)

bool mesh_wg_public_of(struct wice_mesh *m, const uint8_t sign_pk[32], uint8_t ret[32])
{
	g_autoptr(GBytes) key = g_bytes_new(sign_pk, 32);
	const uint8_t *known = g_hash_table_lookup(m->wg_of_sign, key);

	if (known) {
		memcpy(ret, known, 32);
		return true;
	}
	if (!mesh_wg_public_from_sign_pk(sign_pk, ret))
		return false;
	if (g_hash_table_size(m->wg_of_sign) >= WG_OF_SIGN_MAX)
		g_hash_table_remove_all(m->wg_of_sign);
	g_hash_table_insert(m->wg_of_sign, g_steal_pointer(&key), g_memdup2(ret, 32));
	return true;
}

/* Whether two announcements of a member say the same but for the time. */
static bool same_content(const struct mesh_announce *a, const struct mesh_announce *b)
{
	struct mesh_announce x = *a, y = *b;

	x.timestamp = y.timestamp = 0;
	return memcmp(&x, &y, sizeof(x)) == 0;
}

/* Most of what gossip brings is what we have already: a look at the key
 * and the time spares the signature check (the costly part) of those.
 * Only a skip: what passes is checked in full. */
static bool worth_checking(struct wice_mesh *m, struct mesh_keyset *ks, const uint8_t *buf, size_t len)
{
	uint8_t sign_pk[32], wg_public[32];
	struct mesh_member *mm;
	bool leaving;
	uint64_t ts;

	if (!mesh_announce_peek(buf, len, sign_pk, &ts) || !mesh_wg_public_of(m, sign_pk, wg_public))
		return false;
	mm = mesh_member_find(m, wg_public);
	/* A goodbye may share its second with the announcement before it. */
	leaving = len > ANNOUNCE_FLAGS_OFFSET && (buf[ANNOUNCE_FLAGS_OFFSET] & MESH_ANNOUNCE_LEAVING);
	return !mm || mm->ks != ks || ts > mm->ann.timestamp || (leaving && ts == mm->ann.timestamp);
}

struct mesh_member *mesh_members_accept(struct wice_mesh *m, struct mesh_keyset *ks, const uint8_t *signed_ann,
					size_t len, enum mesh_source source, bool *ret_new)
{
	uint64_t now = (uint64_t)(g_get_real_time() / G_USEC_PER_SEC);
	struct mesh_announce ann;
	uint8_t wg_public[32];
	struct mesh_member *mm;

	*ret_new = false;
	if (!worth_checking(m, ks, signed_ann, len))
		return NULL;
	if (len > MESH_ANNOUNCE_MAX ||
	    mesh_announce_verify(&ks->keys, signed_ann, len, source == MESH_SOURCE_CACHE ? 0 : now, &ann) < 0 ||
	    !mesh_wg_public_of(m, ann.sign_pk, wg_public) ||
	    memcmp(wg_public, m->hostkey.wg_public, 32) == 0)
		return NULL;
	mm = mesh_member_find(m, wg_public);
	/* A member that switched to the new secret is not taken back by
	 * what it said under the old one. */
	if (mm && ks != mm->ks && ks == m->old)
		return NULL;
	/* Timestamps are seconds: a goodbye may share one with the last
	 * announcement before it, and must still win. */
	if (mm && ks == mm->ks &&
	    (ann.flags & MESH_ANNOUNCE_LEAVING ? ann.timestamp < mm->ann.timestamp : ann.timestamp <= mm->ann.timestamp))
		return NULL;
	if (ann.flags & MESH_ANNOUNCE_LEAVING) {
		if (mm)
			remove_member(m, mm, "it left the mesh");
		remember_departure(m, wg_public, ann.timestamp);
		mesh_members_changed(m);
		return NULL;
	}
	/* What others still pass on about a member that left, or one silent
	 * for longer than members live, does not bring it back. */
	if (!mm && (departed_after(m, wg_public, ann.timestamp) ||
		    (source != MESH_SOURCE_CACHE && ann.timestamp + MESH_MEMBER_TTL_S < now)))
		return NULL;
	if (!mm) {
		mm = g_new0(struct mesh_member, 1);
		memcpy(mm->wg_public, wg_public, 32);
		g_hash_table_insert(m->members, g_bytes_new(wg_public, 32), mm);
		*ret_new = true;
		g_message("mesh %s: new member %s (%s)", m->ifname, ann.hostname, mesh_source_name(source));
	}
	if (*ret_new && source != MESH_SOURCE_CACHE)
		mesh_gossip_fresh(m, mm);
	if (*ret_new || mm->ks != ks || !same_content(&mm->ann, &ann))
		mm->changed_s = (gint64)now;
	mm->ks = ks;
	mm->ann = ann;
	memcpy(mm->signed_ann, signed_ann, len);
	mm->signed_len = len;
	/* The layer that found it; the cache only until a live one speaks. */
	if (*ret_new || mm->source == MESH_SOURCE_CACHE)
		mm->source = source;
	mm->last_seen = (gint64)now;
	mesh_members_changed(m);
	return mm;
}

void mesh_members_expire(struct wice_mesh *m)
{
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	GHashTableIter it;
	gpointer value;
	GPtrArray *gone = g_ptr_array_new();

	forget_old_departures(m, (uint64_t)now);
	/* A member whose path is up is alive, whatever the gossip says. */
	g_hash_table_iter_init(&it, m->members);
	while (g_hash_table_iter_next(&it, NULL, &value))
		if (now - ((struct mesh_member *)value)->last_seen > MESH_MEMBER_TTL_S && !mesh_member_connected(m, value))
			g_ptr_array_add(gone, value);
	for (guint i = 0; i < gone->len; i++)
		remove_member(m, g_ptr_array_index(gone, i), "silent for too long");
	if (gone->len)
		mesh_members_changed(m);
	g_ptr_array_free(gone, TRUE);
}

void mesh_members_remove_all(struct wice_mesh *m)
{
	GHashTableIter it;
	gpointer value;

	if (!m->members || !m->link)
		return;
	g_hash_table_iter_init(&it, m->members);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct mesh_member *mm = value;

		if (mm->in_device)
			update_routes(m, mm, false);
	}
	g_hash_table_remove_all(m->members);
}

bool mesh_member_connected(struct wice_mesh *m, const struct mesh_member *mm)
{
	struct wice_peer *peer = m->iface ? iface_find_peer(m->iface, mm->wg_public) : NULL;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;

	if (!peer)
		return false;
	return peer->state == PEER_CONNECTED ||
	       (peer->last_handshake > 0 && now - peer->last_handshake < HANDSHAKE_FRESH_S);
}

/* --- the peer cache ---------------------------------------------------------------- */

static char *cache_path(const struct wice_mesh *m)
{
	g_autofree char *name = g_strdup_printf("%s.cache.json", m->ifname);

	return g_build_filename(m->state_dir, name, NULL);
}

/* Where the member's WireGuard answered: only a path straight to its
 * listen port, not an ICE path (whose ports die with the daemons). */
static bool direct_endpoint(struct wice_mesh *m, const struct mesh_member *mm, struct sig_addr *ret)
{
	struct wice_peer *peer = m->iface ? iface_find_peer(m->iface, mm->wg_public) : NULL;
	/* Every announced endpoint carries the member's listen port. */
	uint16_t port = mm->ann.n_endpoints ? mm->ann.endpoints[0].port : 0;
	const union wg_sockaddr *ep;

	if (!peer || !port || !mesh_member_connected(m, mm))
		return false;
	ep = &peer->wg_endpoint;
	memset(ret, 0, sizeof(*ret));
	ret->port = port;
	if (ep->sa.sa_family == AF_INET && ntohs(ep->in.sin_port) == port &&
	    ep->in.sin_addr.s_addr != htonl(INADDR_LOOPBACK)) {
		ret->family = AF_INET;
		memcpy(ret->addr, &ep->in.sin_addr, 4);
		return true;
	}
	if (ep->sa.sa_family == AF_INET6 && ntohs(ep->in6.sin6_port) == port && !IN6_IS_ADDR_LOOPBACK(&ep->in6.sin6_addr)) {
		ret->family = AF_INET6;
		memcpy(ret->addr, &ep->in6.sin6_addr, 16);
		return true;
	}
	return false;
}

void mesh_members_save_cache(struct wice_mesh *m)
{
	g_autoptr(GArray) entries = g_array_new(FALSE, TRUE, sizeof(struct mesh_cache_entry));
	g_autofree char *path = cache_path(m);
	g_autoptr(GError) error = NULL;
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, m->members);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		const struct mesh_member *mm = value;
		struct mesh_cache_entry e = { .last_seen = (uint64_t)mm->last_seen };

		memcpy(e.announcement, mm->signed_ann, mm->signed_len);
		e.announcement_len = mm->signed_len;
		e.has_endpoint = direct_endpoint(m, mm, &e.endpoint);
		if (!e.has_endpoint && mm->has_cached_endpoint) {
			e.has_endpoint = true;
			e.endpoint = mm->cached_endpoint;
		}
		g_array_append_val(entries, e);
	}
	if (!mesh_cache_save(path, (struct mesh_cache_entry *)entries->data, entries->len, &error))
		g_warning("mesh %s: %s", m->ifname, error->message);
}

void mesh_members_load_cache(struct wice_mesh *m)
{
	g_autofree char *path = cache_path(m);
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) entries = mesh_cache_load(path, (uint64_t)(g_get_real_time() / G_USEC_PER_SEC), &error);
	unsigned n = 0;

	if (!entries) {
		g_warning("mesh %s: ignoring the peer cache: %s", m->ifname, error->message);
		return;
	}
	for (guint i = 0; i < entries->len; i++) {
		const struct mesh_cache_entry *e = &g_array_index(entries, struct mesh_cache_entry, i);
		struct mesh_keyset *kss[2];
		struct mesh_member *mm = NULL;
		bool is_new;

		for (unsigned k = 0; k < mesh_keysets(m, kss) && !mm; k++)
			mm = mesh_members_accept(m, kss[k], e->announcement, e->announcement_len, MESH_SOURCE_CACHE,
						 &is_new);

		if (!mm)
			continue;
		/* A fresh lease of life: the member has MESH_MEMBER_TTL_S to be
		 * heard again. */
		mm->has_cached_endpoint = e->has_endpoint;
		mm->cached_endpoint = e->endpoint;
		n++;
	}
	if (n)
		g_message("mesh %s: %u members from the peer cache", m->ifname, n);
}

void mesh_members_drop_keyset(struct wice_mesh *m, struct mesh_keyset *ks)
{
	g_autoptr(GPtrArray) gone = g_ptr_array_new();
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, m->members);
	while (g_hash_table_iter_next(&it, NULL, &value))
		if (((struct mesh_member *)value)->ks == ks)
			g_ptr_array_add(gone, value);
	for (guint i = 0; i < gone->len; i++)
		remove_member(m, g_ptr_array_index(gone, i), "it did not take the new secret in time");
	mesh_members_changed(m);
}

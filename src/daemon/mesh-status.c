/* The "mesh" member of `wice show --json`:
 *
 * [{"interface","network_id","hostname","public_key","address4","address6","kind",
 *   "rotation":{"old_network_id","grace_until"}|null,
 *   "members":[{"public_key","hostname","address4","address6","routes":[...],
 *               "source","last_seen","state","old_secret"}]}]
 *
 * "state" is the member's peer state on the interface (as in the
 * interface's own list), or "unknown" while the daemon is not managing it
 * yet.  Members are sorted by public key. */
#include "config.h"

#include <arpa/inet.h>
#include <string.h>

#include "json-out.h"
#include "mesh-internal.h"
#include "peer.h"

static void add_address(JsonBuilder *b, const char *name, int family, const void *addr)
{
	char text[INET6_ADDRSTRLEN];

	inet_ntop(family, addr, text, sizeof(text));
	json_add_string(b, name, text);
}

static void add_key(JsonBuilder *b, const char *name, const uint8_t key[32])
{
	char text[WG_KEY_B64_LEN];

	wg_key_to_base64(text, key);
	json_add_string(b, name, text);
}

static void add_routes(JsonBuilder *b, const struct mesh_announce *a)
{
	json_builder_set_member_name(b, "routes");
	json_builder_begin_array(b);
	for (unsigned i = 0; i < a->n_routes; i++) {
		char addr[INET6_ADDRSTRLEN];
		g_autofree char *text = NULL;

		inet_ntop(a->routes[i].family, a->routes[i].addr, addr, sizeof(addr));
		text = g_strdup_printf("%s/%u", addr, a->routes[i].len);
		json_builder_add_string_value(b, text);
	}
	json_builder_end_array(b);
}

static void add_member(struct wice_mesh *m, JsonBuilder *b, const struct mesh_member *mm)
{
	struct wice_peer *peer = m->iface ? iface_find_peer(m->iface, mm->wg_public) : NULL;

	json_builder_begin_object(b);
	add_key(b, "public_key", mm->wg_public);
	json_add_string(b, "hostname", mm->ann.hostname);
	add_address(b, "address4", AF_INET, &mm->addr4);
	add_address(b, "address6", AF_INET6, &mm->addr6);
	add_routes(b, &mm->ann);
	json_add_string(b, "source", mesh_source_name(mm->source));
	json_add_int(b, "last_seen", mm->last_seen);
	json_add_string(b, "state", peer ? peer_state_name(peer->state) : "unknown");
	json_add_bool(b, "old_secret", mm->ks != m->cur);
	json_builder_end_object(b);
}

/* During a rotation's grace period: the secret being replaced, and until
 * when it is still accepted. */
static void add_rotation(struct wice_mesh *m, JsonBuilder *b)
{
	char id[MESH_NETWORK_ID_STR_LEN];

	json_builder_set_member_name(b, "rotation");
	if (!m->old) {
		json_builder_add_null_value(b);
		return;
	}
	mesh_network_id_str(&m->old->keys, id);
	json_builder_begin_object(b);
	json_add_string(b, "old_network_id", id);
	json_add_int(b, "grace_until", (gint64)m->old_until);
	json_builder_end_object(b);
}

static gint compare_members(gconstpointer a, gconstpointer b)
{
	return memcmp(((const struct mesh_member *)a)->wg_public, ((const struct mesh_member *)b)->wg_public, 32);
}

void mesh_status(struct wice_mesh *m, JsonBuilder *b)
{
	g_autoptr(GList) members = g_list_sort(g_hash_table_get_values(m->members), compare_members);
	char id[MESH_NETWORK_ID_STR_LEN];

	mesh_network_id_str(&m->cur->keys, id);
	json_builder_begin_object(b);
	json_add_string(b, "interface", m->ifname);
	json_add_string(b, "network_id", id);
	json_add_string(b, "hostname", m->hostname);
	add_key(b, "public_key", m->hostkey.wg_public);
	add_address(b, "address4", AF_INET, &m->cur->addr4);
	add_address(b, "address6", AF_INET6, &m->cur->addr6);
	json_add_string(b, "kind", mesh_link_kind(m->link));
	add_rotation(m, b);
	json_builder_set_member_name(b, "members");
	json_builder_begin_array(b);
	for (GList *l = members; l; l = l->next)
		add_member(m, b, l->data);
	json_builder_end_array(b);
	json_builder_end_object(b);
}

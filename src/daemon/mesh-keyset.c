/* What one secret gives this host: keys, addresses on the interface, and
 * (mesh-discovery.c) a LAN group and mailboxes. */
#include "config.h"

#include <sodium.h>
#include <string.h>

#include "mesh-internal.h"

struct mesh_keyset *mesh_keyset_new(struct wice_mesh *m, const uint8_t secret[MESH_SECRET_LEN])
{
	struct mesh_keyset *ks = g_new0(struct mesh_keyset, 1);
	g_autoptr(GError) error = NULL;

	memcpy(ks->secret, secret, MESH_SECRET_LEN);
	mesh_keys_derive(secret, &ks->keys);
	mesh_address6(&ks->keys, m->hostkey.wg_public, 0, &ks->addr6);
	ks->addr6_set = mesh_link_address_add(m->link, AF_INET6, &ks->addr6, 48, &error);
	if (!ks->addr6_set)
		g_warning("mesh %s: %s", m->ifname, error->message);
	mesh_keyset_set_address4(m, ks, mesh_member_address4(ks, m->hostkey.wg_public, 0), 0);
	return ks;
}

static void del_address(struct wice_mesh *m, int family, const void *addr, unsigned len)
{
	g_autoptr(GError) error = NULL;

	if (!mesh_link_address_del(m->link, family, addr, len, &error))
		g_message("mesh %s: %s", m->ifname, error->message);
}

void mesh_keyset_free(struct wice_mesh *m, struct mesh_keyset *ks)
{
	if (!ks)
		return;
	mesh_discovery_remove_keyset(m, ks);
	if (m->link && ks->addr4_set)
		del_address(m, AF_INET, &ks->addr4, 16);
	if (m->link && ks->addr6_set)
		del_address(m, AF_INET6, &ks->addr6, 48);
	sodium_memzero(ks, sizeof(*ks));
	g_free(ks);
}

void mesh_keyset_set_address4(struct wice_mesh *m, struct mesh_keyset *ks, struct in_addr addr, uint8_t counter)
{
	g_autoptr(GError) error = NULL;

	if (ks->addr4_set && ks->addr4.s_addr == addr.s_addr)
		return;
	if (ks->addr4_set)
		del_address(m, AF_INET, &ks->addr4, 16);
	ks->addr4 = addr;
	ks->counter4 = counter;
	ks->addr4_set = mesh_link_address_add(m->link, AF_INET, &ks->addr4, 16, &error);
	if (!ks->addr4_set)
		g_warning("mesh %s: %s", m->ifname, error->message);
}

unsigned mesh_keysets(struct wice_mesh *m, struct mesh_keyset *ret[2])
{
	unsigned n = 0;

	if (m->cur)
		ret[n++] = m->cur;
	if (m->old)
		ret[n++] = m->old;
	return n;
}

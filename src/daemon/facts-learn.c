/* Learned peers (facts.c): a router told us of a node we have no peer
 * for, so it becomes one (no endpoint: ICE finds the path, reroute.c
 * moves its addresses once the path works); when no router speaks of it
 * any more, and when we exit, it goes again. */
#include "config.h"

#include "facts-internal.h"

static int add_learned(const struct wg_ops *ops, const char *ifname, void *arg)
{
	struct wg_peer wgp = { 0 };

	memcpy(wgp.public_key, arg, 32);
	return wg_put_peer(ops, ifname, &wgp);
}

static int remove_learned(const struct wg_ops *ops, const char *ifname, void *arg)
{
	return wg_remove_peer(ops, ifname, arg);
}

static void on_learned_changed(int r, void *arg, void *data)
{
	struct wice_iface *iface = data;

	if (r < 0 && r != -ENODEV && r != -ENOENT)
		g_warning("%s: cannot change a learned peer: %s", iface->name, g_strerror(-r));
	else
		iface_sync(iface, NULL, NULL);
}

/* A router told us of a node we have no peer for: add it.  Nodes no
 * router speaks of any more go again. */
void facts_learn(struct wice_iface *iface)
{
	struct iface_facts *fx = iface->facts;
	GHashTableIter it;
	gpointer key;

	for (guint i = 0; i < fx->known->len && g_hash_table_size(fx->learned) < LEARNED_MAX; i++) {
		const struct fact_entry *e = &g_array_index(fx->known, struct fact_entry, i);
		g_autoptr(GBytes) k = g_bytes_new(e->f.subject, 32);

		if (e->f.attr != FACT_ALLOWED_IP || facts_key_is(e->f.subject, e->from) ||
		    facts_key_is(e->f.subject, iface->identity.public_key) || iface_find_peer(iface, e->f.subject) ||
		    g_hash_table_contains(fx->learned, k))
			continue;
		g_message("%s: learned a peer from a router's facts", iface->name);
		g_hash_table_add(fx->learned, g_bytes_ref(k));
		wg_io_submit(iface->io, add_learned, g_memdup2(e->f.subject, 32), g_free, on_learned_changed, iface);
	}
	g_hash_table_iter_init(&it, fx->learned);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		const uint8_t *subject = g_bytes_get_data(key, NULL);

		if (facts_vouching(fx, subject))
			continue;
		g_message("%s: a learned peer is gone from the routers' facts: removing it", iface->name);
		reroute_forget(iface, subject);
		wg_io_submit(iface->io, remove_learned, g_memdup2(subject, 32), g_free, on_learned_changed, iface);
		g_hash_table_iter_remove(&it);
	}
}

bool facts_learned(const struct wice_iface *iface, const uint8_t key[32])
{
	g_autoptr(GBytes) k = g_bytes_new(key, 32);

	return iface->facts && g_hash_table_contains(iface->facts->learned, k);
}


/* On exit: the peers we added leave WireGuard with us. */
void facts_drop_learned(struct wice_iface *iface)
{
	GHashTableIter it;
	gpointer key;

	g_hash_table_iter_init(&it, iface->facts->learned);
	while (g_hash_table_iter_next(&it, &key, NULL))
		if (!iface->device_gone)
			wg_io_submit(iface->io, remove_learned, g_memdup2(g_bytes_get_data(key, NULL), 32), g_free, NULL,
				     NULL);
}

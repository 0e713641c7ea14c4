/* The daemon's state as JSON: the body of `wice show --json`.
 *
 * {"interfaces":[{"name","public_key","listen_port","peers":[{"public_key",
 *   "state","endpoint","proxy","selected_pair":{"local":{"type","address",
 *   "port"},"remote":{...}}|null,"last_handshake","rx_bytes","tx_bytes",...}]}],
 *  "signaling":[{"url","up"}]} */
#include "config.h"

#include "control.h"
#include "daemon.h"
#include "peer.h"

static void add_string(JsonBuilder *b, const char *name, const char *value)
{
	json_builder_set_member_name(b, name);
	if (value)
		json_builder_add_string_value(b, value);
	else
		json_builder_add_null_value(b);
}

static void add_int(JsonBuilder *b, const char *name, gint64 value)
{
	json_builder_set_member_name(b, name);
	json_builder_add_int_value(b, value);
}

static void add_candidate(JsonBuilder *b, const char *name, NiceCandidateType type, const char *addr, uint16_t port)
{
	json_builder_set_member_name(b, name);
	json_builder_begin_object(b);
	add_string(b, "type", peer_candidate_type_name(type));
	add_string(b, "address", addr);
	add_int(b, "port", port);
	json_builder_end_object(b);
}

static void add_selected_pair(JsonBuilder *b, const struct wice_peer *peer)
{
	const struct peer_pair_info *p = &peer->selected;

	json_builder_set_member_name(b, "selected_pair");
	if (!p->valid) {
		json_builder_add_null_value(b);
		return;
	}
	json_builder_begin_object(b);
	add_candidate(b, "local", p->local_type, p->local_addr, p->local_port);
	add_candidate(b, "remote", p->remote_type, p->remote_addr, p->remote_port);
	json_builder_end_object(b);
}

static void add_peer(JsonBuilder *b, const struct wice_peer *peer)
{
	char key[WG_KEY_B64_LEN], ep[128];

	wg_key_to_base64(key, peer->public_key);
	wg_endpoint_format(&peer->wg_endpoint, ep, sizeof(ep));
	json_builder_begin_object(b);
	add_string(b, "public_key", key);
	add_string(b, "state", peer_state_name(peer->state));
	add_string(b, "reason", peer->state_reason);
	add_string(b, "endpoint", wg_sockaddr_len(&peer->wg_endpoint) ? ep : NULL);
	add_string(b, "proxy", peer_proxy_name(peer->proxy));
	add_selected_pair(b, peer);
	add_int(b, "last_handshake", peer->last_handshake);
	add_int(b, "rx_bytes", (gint64)peer->rx_bytes);
	add_int(b, "tx_bytes", (gint64)peer->tx_bytes);
	add_string(b, "role", peer->controlling ? "controlling" : "controlled");
	add_int(b, "local_candidates", (gint64)peer->n_local);
	add_int(b, "restarts", peer->restarts);
	json_builder_end_object(b);
}

static void add_iface(JsonBuilder *b, const struct wice_iface *iface)
{
	char key[WG_KEY_B64_LEN];
	GHashTableIter it;
	gpointer value;

	json_builder_begin_object(b);
	add_string(b, "name", iface->name);
	if (iface->have_identity)
		wg_key_to_base64(key, iface->identity.public_key);
	add_string(b, "public_key", iface->have_identity ? key : NULL);
	add_int(b, "listen_port", iface->listen_port);
	json_builder_set_member_name(b, "peers");
	json_builder_begin_array(b);
	g_hash_table_iter_init(&it, iface->peers);
	while (g_hash_table_iter_next(&it, NULL, &value))
		add_peer(b, value);
	json_builder_end_array(b);
	json_builder_end_object(b);
}

static void add_backends(JsonBuilder *b, struct wice_daemon *d)
{
	json_builder_set_member_name(b, "signaling");
	json_builder_begin_array(b);
	for (guint i = 0; i < d->backends->len; i++) {
		struct sig_backend *be = g_ptr_array_index(d->backends, i);

		json_builder_begin_object(b);
		add_string(b, "url", sig_backend_url(be));
		json_builder_set_member_name(b, "up");
		json_builder_add_boolean_value(b, sig_backend_is_up(be));
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
}

JsonNode *status_build(struct wice_daemon *d)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(GList) names = g_list_sort(g_hash_table_get_keys(d->ifaces), (GCompareFunc)g_strcmp0);

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "ok");
	json_builder_add_boolean_value(b, TRUE);
	json_builder_set_member_name(b, "interfaces");
	json_builder_begin_array(b);
	for (GList *l = names; l; l = l->next) {
		struct wice_iface *iface = g_hash_table_lookup(d->ifaces, l->data);

		iface_sync(iface); /* fresh counters, not a second old */
		add_iface(b, iface);
	}
	json_builder_end_array(b);
	add_backends(b, d);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

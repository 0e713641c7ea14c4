/* The daemon's state as JSON: the body of `wice show --json`.
 *
 * {"version","interfaces":[{"name","public_key","listen_port","stalled","proxy_mode",
 *   "peers":[{"public_key","state","reason","restart_pending","state_since","endpoint",
 *   "proxy","relay_allocation":"held"|"released"|"none","reached":"direct"|"relay"|"via"|null,"via" (key)|null,"learned",
 *   "facts":[{"subject","attribute","value","ttl"}],"selected_pair":{"local":{"type","address","port",
 *   "advertised":true (only when it is an [ice] advertise address)},
 *   "remote":{...}}|null,"last_handshake","rx_bytes","tx_bytes","role",
 *   "local_candidates","remote_candidates","restarts","upgrade_attempts",
 *   "port_mapping":{"protocol","external","internal","lifetime"}|null,
 *   "link_addresses":{"link_local","key"}|null,"diagnosis":{...} (peer-diag.h)}],
 *   "link_addresses" (ours),
 *   "router","facts_dropped":{"untrusted","rejected"},
 *   "relay":{"prefixes","packets","bytes"}|null}],
 *  "mesh":[...] (mesh-status.c),
 *  "nat":{"mapping","port_preserved","mapped","servers","answered"}|null (nat-watch.h),
 *  "signaling":[{"url","up"}],"control":{"clients","monitors"}}
 *
 * Peers are sorted by public key, interfaces by name.  Private keys and
 * TURN credentials are never part of it. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "control/control.h"
#include "daemon.h"
#include "json-out.h"
#include "mesh.h"
#include "nat-watch.h"
#include "peer-diag.h"
#include "peer.h"
#include "portmap.h"
#include "signaling/fact-wire.h"
#include "wg/wg-keyaddr.h"

static gint compare_iface_names(gconstpointer a, gconstpointer b)
{
	return strcmp(((const struct wice_iface *)a)->name, ((const struct wice_iface *)b)->name);
}

static void add_candidate(JsonBuilder *b, const char *name, NiceCandidateType type, const char *addr, uint16_t port,
			  bool advertised)
{
	json_builder_set_member_name(b, name);
	json_builder_begin_object(b);
	json_add_string(b, "type", peer_candidate_type_name(type));
	json_add_string(b, "address", addr);
	json_add_int(b, "port", port);
	if (advertised) {
		json_add_bool(b, "advertised", TRUE);
	}
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
	add_candidate(b, "local", p->local_type, p->local_addr, p->local_port, p->local_advertised);
	add_candidate(b, "remote", p->remote_type, p->remote_addr, p->remote_port, p->remote_advertised);
	json_builder_end_object(b);
}

/* "link_addresses": {"link_local","key"} of @public_key, or null where
 * the interface does not use them. */
static void add_link_addresses(JsonBuilder *b, const struct wice_iface *iface, const uint8_t public_key[32])
{
	char text[INET6_ADDRSTRLEN];
	struct in6_addr a;

	json_builder_set_member_name(b, "link_addresses");
	if (!iface->link_own_added || !public_key) {
		json_builder_add_null_value(b);
		return;
	}
	json_builder_begin_object(b);
	wg_key_link_local(public_key, &a);
	json_add_string(b, "link_local", inet_ntop(AF_INET6, &a, text, sizeof(text)));
	wg_key_address(public_key, &a);
	json_add_string(b, "key", inet_ntop(AF_INET6, &a, text, sizeof(text)));
	json_builder_end_object(b);
}

static const char *fact_attr_name(uint8_t attr)
{
	static const char *const names[] = { [FACT_ALIVE] = "alive", [FACT_ENDPOINT] = "endpoint",
					     [FACT_ALLOWED_IP] = "allowed_ip", [FACT_RELAYS] = "relays",
					     [FACT_REACHES] = "reaches", [FACT_MISSES] = "misses",
					     [FACT_ASKS] = "asks" };

	return attr < G_N_ELEMENTS(names) && names[attr] ? names[attr] : "unknown";
}

static void fact_value(const struct fact *f, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN] = "";
	char key[WG_KEY_B64_LEN];

	if (f->attr == FACT_ENDPOINT || f->attr == FACT_ALLOWED_IP)
		inet_ntop(f->family, f->addr, addr, sizeof(addr));
	*buf = 0;
	if (f->attr == FACT_ENDPOINT)
		g_snprintf(buf, size, f->family == AF_INET6 ? "[%s]:%u" : "%s:%u", addr, f->port);
	else if (f->attr == FACT_ALLOWED_IP)
		g_snprintf(buf, size, "%s/%u", addr, f->prefix);
	if (f->attr != FACT_REACHES && f->attr != FACT_MISSES)
		return;
	wg_key_to_base64(key, f->peer);
	g_strlcpy(buf, key, size);
}

static void add_fact(const struct fact *f, gint64 ttl_left_s, void *data)
{
	JsonBuilder *b = data;
	char key[WG_KEY_B64_LEN], value[128];

	wg_key_to_base64(key, f->subject);
	fact_value(f, value, sizeof(value));
	json_builder_begin_object(b);
	json_add_string(b, "subject", key);
	json_add_string(b, "attribute", fact_attr_name(f->attr));
	json_add_string(b, "value", value);
	json_add_int(b, "ttl", MAX(ttl_left_s, 0));
	json_builder_end_object(b);
}

/* How the peer is reached ("direct", "relay", "via" another peer) and
 * the facts it told us. */
static void add_peer_routing(JsonBuilder *b, const struct wice_peer *peer)
{
	char via[WG_KEY_B64_LEN];

	json_add_string(b, "reached", peer->rerouted ? "via" : peer_reached(peer));
	if (peer->rerouted)
		wg_key_to_base64(via, peer->via);
	json_add_string(b, "via", peer->rerouted ? via : NULL);
	json_add_bool(b, "learned", peer->learned);
	json_builder_set_member_name(b, "facts");
	json_builder_begin_array(b);
	facts_foreach_from(peer->iface, peer->public_key, add_fact, b);
	json_builder_end_array(b);
}

static char *format_sockaddr(const struct sockaddr_in *a)
{
	char text[INET_ADDRSTRLEN];

	return g_strdup_printf("%s:%u", inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text)), ntohs(a->sin_port));
}

/* "port_mapping": what the router in front of us maps to the direct
 * agent's host candidate (peer-portmap.c), or null. */
static void add_port_mapping(JsonBuilder *b, const struct wice_peer *peer)
{
	struct sockaddr_in external;
	g_autofree char *ext = NULL, *in = NULL;

	json_builder_set_member_name(b, "port_mapping");
	if (!portmap_mapping_external(peer->portmap, &external)) {
		json_builder_add_null_value(b);
		return;
	}
	ext = format_sockaddr(&external);
	in = format_sockaddr(&peer->portmap_internal);
	json_builder_begin_object(b);
	json_add_string(b, "protocol", portmap_mapping_protocol(peer->portmap));
	json_add_string(b, "external", ext);
	json_add_string(b, "internal", in);
	json_add_int(b, "lifetime", portmap_mapping_lifetime(peer->portmap));
	json_builder_end_object(b);
}

static void add_peer(JsonBuilder *b, const struct wice_peer *peer, const struct nat_summary *ours)
{
	char key[WG_KEY_B64_LEN], ep[128];

	wg_key_to_base64(key, peer->public_key);
	wg_endpoint_format(&peer->wg_endpoint, ep, sizeof(ep));
	json_builder_begin_object(b);
	json_add_string(b, "public_key", key);
	json_add_string(b, "state", peer_state_name(peer->state));
	json_add_string(b, "reason", peer->state_reason);
	json_add_bool(b, "restart_pending", peer_restart_pending(peer));
	json_add_int(b, "state_since", peer->state_since);
	json_add_string(b, "endpoint", wg_sockaddr_len(&peer->wg_endpoint) ? ep : NULL);
	json_add_string(b, "proxy", peer_proxy_name(peer->proxy));
	json_add_string(b, "relay_allocation", peer_relay_allocation(peer));
	add_peer_routing(b, peer);
	add_selected_pair(b, peer);
	json_add_int(b, "last_handshake", peer->last_handshake);
	json_add_int(b, "rx_bytes", (gint64)peer->rx_bytes);
	json_add_int(b, "tx_bytes", (gint64)peer->tx_bytes);
	json_add_string(b, "role", peer->controlling ? "controlling" : "controlled");
	json_add_int(b, "local_candidates", (gint64)peer->n_local);
	json_add_int(b, "remote_candidates", (gint64)peer_remote_candidates(peer));
	json_add_int(b, "restarts", peer->restarts);
	json_add_int(b, "upgrade_attempts", peer->upgrade_attempts);
	add_port_mapping(b, peer);
	add_link_addresses(b, peer->iface, peer->public_key);
	peer_diag_add(b, peer, ours);
	json_builder_end_object(b);
}

static gint compare_peers(gconstpointer a, gconstpointer b)
{
	const struct wice_peer *pa = *(struct wice_peer *const *)a, *pb = *(struct wice_peer *const *)b;

	return memcmp(pa->public_key, pb->public_key, sizeof(pa->public_key));
}

static void add_peers(JsonBuilder *b, const struct wice_iface *iface, const uint8_t *only,
		      const struct nat_summary *ours)
{
	g_autoptr(GPtrArray) peers = g_ptr_array_new();
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, iface->peers);
	while (g_hash_table_iter_next(&it, NULL, &value))
		g_ptr_array_add(peers, value);
	g_ptr_array_sort(peers, compare_peers);
	json_builder_set_member_name(b, "peers");
	json_builder_begin_array(b);
	for (guint i = 0; i < peers->len; i++) {
		const struct wice_peer *peer = g_ptr_array_index(peers, i);

		if (!only || memcmp(peer->public_key, only, 32) == 0)
			add_peer(b, peer, ours);
	}
	json_builder_end_array(b);
}

/* "router", "facts_dropped" {"untrusted","rejected"}, "relay" {"prefixes",
 * "packets","bytes"} or null. */
static void add_iface_routing(JsonBuilder *b, struct wice_iface *iface)
{
	unsigned untrusted, rejected;
	uint64_t packets, bytes;
	size_t prefixes;

	json_add_bool(b, "router", facts_we_are_router(iface));
	facts_counters(iface, &untrusted, &rejected);
	json_builder_set_member_name(b, "facts_dropped");
	json_builder_begin_object(b);
	json_add_int(b, "untrusted", untrusted);
	json_add_int(b, "rejected", rejected);
	json_builder_end_object(b);
	json_builder_set_member_name(b, "relay");
	if (!relay_for_peers_counters(iface, &prefixes, &packets, &bytes)) {
		json_builder_add_null_value(b);
		return;
	}
	json_builder_begin_object(b);
	json_add_int(b, "prefixes", (gint64)prefixes);
	json_add_int(b, "packets", (gint64)packets);
	json_add_int(b, "bytes", (gint64)bytes);
	json_builder_end_object(b);
}

static void add_iface(JsonBuilder *b, const struct wice_iface *iface, const uint8_t *only,
		      const struct nat_summary *ours)
{
	char key[WG_KEY_B64_LEN];

	json_builder_begin_object(b);
	json_add_string(b, "name", iface->name);
	if (iface->have_identity)
		wg_key_to_base64(key, iface->identity.public_key);
	json_add_string(b, "public_key", iface->have_identity ? key : NULL);
	json_add_int(b, "listen_port", iface->listen_port);
	json_add_bool(b, "stalled", iface_device_stalled(iface));
	json_add_string(b, "proxy_mode", wice_proxy_mode_name(iface_settings(iface)->proxy_mode));
	add_link_addresses(b, iface, iface->have_identity ? iface->identity.public_key : NULL);
	add_iface_routing(b, (struct wice_iface *)iface);
	add_peers(b, iface, only, ours);
	json_builder_end_object(b);
}

static void add_backends(JsonBuilder *b, struct wice_daemon *d)
{
	json_builder_set_member_name(b, "signaling");
	json_builder_begin_array(b);
	for (guint i = 0; i < d->backends->len; i++) {
		struct sig_backend *be = g_ptr_array_index(d->backends, i);

		json_builder_begin_object(b);
		json_add_string(b, "url", sig_backend_url(be));
		json_add_bool(b, "up", sig_backend_is_up(be));
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
}

/* "nat": the daemon's own NAT probe (nat-watch.h), or null before one
 * was answered. */
static void add_nat(JsonBuilder *b, const struct nat_summary *nat, unsigned servers)
{
	g_autofree char *mapped = NULL;

	json_builder_set_member_name(b, "nat");
	if (!nat) {
		json_builder_add_null_value(b);
		return;
	}
	mapped = nat_format_address(&nat->mapped);
	json_builder_begin_object(b);
	json_add_string(b, "mapping", nat_mapping_name(nat->mapping));
	json_add_tristate(b, "port_preserved", nat->port_preserved);
	json_add_string(b, "mapped", mapped);
	json_add_int(b, "servers", servers);
	json_add_int(b, "answered", nat->answered);
	json_builder_end_object(b);
}

static void add_control(JsonBuilder *b, struct wice_daemon *d)
{
	json_builder_set_member_name(b, "control");
	json_builder_begin_object(b);
	json_add_int(b, "clients", d->control ? control_n_clients(d->control) : 0);
	json_add_int(b, "monitors", d->control ? control_n_monitors(d->control) : 0);
	json_builder_end_object(b);
}

/* The interfaces to show, sorted; an error for a filter that matches
 * nothing. */
static GList *select_ifaces(struct wice_daemon *d, const char *ifname, const uint8_t *peer, GError **error)
{
	struct wice_iface *iface;
	char key[WG_KEY_B64_LEN];

	if (!ifname)
		return g_list_sort(g_hash_table_get_values(d->ifaces), (GCompareFunc)compare_iface_names);
	iface = daemon_find_iface(d, ifname);
	if (!iface) {
		g_set_error(error, CONTROL_ERROR, ENODEV, "wice does not manage interface '%s'", ifname);
		return NULL;
	}
	if (peer && !iface_find_peer(iface, peer)) {
		wg_key_to_base64(key, peer);
		g_set_error(error, CONTROL_ERROR, ENOENT, "interface '%s' has no peer '%s'", ifname, key);
		return NULL;
	}
	return g_list_prepend(NULL, iface);
}

JsonNode *status_build(struct wice_daemon *d, const char *ifname, const uint8_t *peer, GError **error)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(GList) ifaces = NULL;
	GError *why = NULL;
	struct nat_summary nat;
	bool have_nat = nat_watch_summary(d->nat, &nat);

	ifaces = select_ifaces(d, ifname, peer, &why);
	if (why) {
		g_propagate_error(error, why);
		return NULL;
	}
	json_builder_begin_object(b);
	json_add_bool(b, "ok", TRUE);
	json_add_string(b, "version", PACKAGE_VERSION);
	json_builder_set_member_name(b, "interfaces");
	json_builder_begin_array(b);
	for (GList *l = ifaces; l; l = l->next) {
		add_iface(b, l->data, peer, have_nat ? &nat : NULL);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "mesh");
	json_builder_begin_array(b);
	if (d->mesh)
		mesh_status(d->mesh, b);
	json_builder_end_array(b);
	add_nat(b, have_nat ? &nat : NULL, nat_watch_servers(d->nat));
	add_backends(b, d);
	add_control(b, d);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

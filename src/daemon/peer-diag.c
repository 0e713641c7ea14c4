/* Why a peer's path is what it is; see peer-diag.h. */
#include "config.h"

#include <string.h>

#include "json-out.h"
#include "peer-diag.h"
#include "portmap.h"
#include "wg/wg-key.h"

static const char *const agent_names[] = { "direct", "relay" };

static bool same_ip(const NiceAddress *a, const NiceAddress *b)
{
	NiceAddress x = *a, y = *b;

	nice_address_set_port(&x, 0);
	nice_address_set_port(&y, 0);
	return nice_address_equal(&x, &y);
}

void peer_diag_evidence(GSList *candidates, struct peer_nat_evidence *ret)
{
	struct peer_nat_evidence e = { .port_preserved = -1, .per_destination = -1 };

	for (GSList *l = candidates; l; l = l->next) {
		const NiceCandidate *c = l->data;

		e.types |= PEER_DIAG_TYPE_BIT(c->type);
		if (c->type == NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE && nice_address_is_valid(&c->base_addr) &&
		    e.port_preserved != 1)
			e.port_preserved = nice_address_get_port(&c->addr) == nice_address_get_port(&c->base_addr);
	}
	for (GSList *l = candidates; l; l = l->next) {
		const NiceCandidate *p = l->data;

		if (p->type != NICE_CANDIDATE_TYPE_PEER_REFLEXIVE)
			continue;
		for (GSList *m = candidates; m; m = m->next) {
			const NiceCandidate *s = m->data;

			if (s->type == NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE && same_ip(&p->addr, &s->addr) &&
			    nice_address_get_port(&p->addr) != nice_address_get_port(&s->addr))
				e.per_destination = 1;
		}
	}
	*ret = e;
}

static void free_candidates(GSList *l)
{
	g_slist_free_full(l, (GDestroyNotify)nice_candidate_free);
}

void peer_diag_agent_evidence(const struct peer_agent *pa, struct peer_nat_evidence *local,
			      struct peer_nat_evidence *remote)
{
	GSList *ours = nice_agent_get_local_candidates(pa->agent, pa->stream, 1);
	GSList *theirs = nice_agent_get_remote_candidates(pa->agent, pa->stream, 1);

	peer_diag_evidence(ours, local);
	peer_diag_evidence(theirs, remote);
	free_candidates(ours);
	free_candidates(theirs);
}

void peer_diag_on_agent_failed(struct peer_agent *pa, const char *why)
{
	struct peer_nat_evidence local, e;

	/* the peer is connected through the other agent when this one's checks
	 * run out, which peer-ice.c calls "consent lost": not for an agent that
	 * never had a pair */
	pa->diag_failure = pa->selected_local ? why : "every check failed";
	if (!pa->agent)
		return;
	peer_diag_agent_evidence(pa, &local, &e);
	pa->diag_local_types = local.types;
	pa->diag_remote_types = e.types;
	if (pa->kind == PEER_AGENT_DIRECT) {
		pa->peer->diag_peer_nat = e;
		pa->peer->diag_have_peer_nat = true;
	}
}

/* --- the path ---------------------------------------------------------------------- */

static bool is_relay(const struct peer_pair_info *p)
{
	return p->local_type == NICE_CANDIDATE_TYPE_RELAYED || p->remote_type == NICE_CANDIDATE_TYPE_RELAYED;
}

/* "direct host" when both ends are host candidates, else "direct srflx":
 * the pair crosses a NAT, whether a STUN server told the address (server
 * reflexive) or the checks found it (peer reflexive: the address a NAT
 * gave the other side's checks).  The exact types go with it. */
static const char *direct_kind(const struct peer_pair_info *p)
{
	return p->local_type == NICE_CANDIDATE_TYPE_HOST && p->remote_type == NICE_CANDIDATE_TYPE_HOST ? "direct host"
													: "direct srflx";
}

void peer_diag_add_path(JsonBuilder *b, const struct wice_peer *peer)
{
	const struct peer_pair_info *p = &peer->selected;
	bool pair = peer->state == PEER_CONNECTED && p->valid;
	char via[WG_KEY_B64_LEN];
	g_autofree char *detail = NULL, *remote = NULL;

	if (peer->rerouted) {
		wg_key_to_base64(via, peer->via);
		detail = g_strdup_printf("via %s", via);
	} else if (pair) {
		detail = g_strdup(is_relay(p) ? "relay" : direct_kind(p));
	}
	json_add_string(b, "path", peer->rerouted ? "via" : pair ? (is_relay(p) ? "relay" : "direct") : NULL);
	json_add_string(b, "path_detail", detail);
	json_add_string(b, "local_type", pair ? peer_candidate_type_name(p->local_type) : NULL);
	json_add_string(b, "remote_type", pair ? peer_candidate_type_name(p->remote_type) : NULL);
	if (pair)
		remote = g_strdup_printf(strchr(p->remote_addr, ':') ? "[%s]:%u" : "%s:%u", p->remote_addr,
					 p->remote_port);
	json_add_string(b, "remote", remote);
	json_add_string(b, "via", peer->rerouted ? via : NULL);
}

/* --- the diagnosis -------------------------------------------------------------------- */

static void add_types(JsonBuilder *b, const char *name, unsigned types)
{
	json_builder_set_member_name(b, name);
	json_builder_begin_array(b);
	for (NiceCandidateType t = NICE_CANDIDATE_TYPE_HOST; t <= NICE_CANDIDATE_TYPE_RELAYED; t++)
		if (types & PEER_DIAG_TYPE_BIT(t))
			json_builder_add_string_value(b, peer_candidate_type_name(t));
	json_builder_end_array(b);
}

/* What one agent did this session. */
struct agent_view {
	const char *state; /* "off", "checking", "selected", "failed", "closed", "released" */
	const char *reason;
	unsigned local_types, remote_types;
	struct peer_nat_evidence remote, local;
};

static void view_agent(const struct peer_agent *pa, struct agent_view *v)
{
	memset(v, 0, sizeof(*v));
	v->remote.port_preserved = v->remote.per_destination = -1;
	v->local = v->remote;
	if (!pa->wanted && !pa->failed) {
		v->state = "off";
		return;
	}
	if (!pa->agent) {
		v->state = pa->failed ? "failed" : "closed";
		/* closed on purpose, with its allocation: peer-relay-release.c */
		if (!pa->failed && pa->kind == PEER_AGENT_RELAY && pa->peer->relay_released)
			v->state = "released";
		v->reason = pa->failed ? pa->diag_failure : NULL;
		v->local_types = pa->diag_local_types;
		v->remote_types = pa->diag_remote_types;
		return;
	}
	v->state = pa->failed ? "failed" : pa->selected_local ? "selected" : "checking";
	v->reason = pa->failed ? pa->diag_failure : NULL;
	peer_diag_agent_evidence(pa, &v->local, &v->remote);
	v->local_types = v->local.types;
	v->remote_types = v->remote.types;
}

static void add_agent(JsonBuilder *b, enum peer_agent_kind kind, const struct agent_view *v)
{
	json_builder_begin_object(b);
	json_add_string(b, "agent", agent_names[kind]);
	json_add_string(b, "state", v->state);
	json_add_string(b, "reason", v->reason);
	add_types(b, "local_types", v->local_types);
	add_types(b, "remote_types", v->remote_types);
	json_builder_end_object(b);
}

static void clause(GString *s, const char *text)
{
	g_string_append_printf(s, "%s%s", s->len ? "; " : "", text);
}

static void say_our_nat(GString *s, const struct nat_summary *ours, const struct peer_nat_evidence *local)
{
	if ((ours && ours->mapping == NAT_MAPPING_DEPENDENT) || local->per_destination == 1)
		clause(s, "this host's NAT maps per destination");
	else if (ours && ours->mapping == NAT_MAPPING_INDEPENDENT)
		clause(s, ours->port_preserved > 0 ? "this host's NAT maps one port for all destinations and preserves it"
						   : "this host's NAT maps one port for all destinations");
	else if (local->port_preserved == 1)
		clause(s, "this host's NAT preserves ports");
	else if (local->port_preserved == 0)
		clause(s, "this host's NAT changes ports");
	else if (!(local->types & PEER_DIAG_TYPE_BIT(NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE)))
		clause(s, "no server reflexive candidate here");
}

static void say_peer_nat(GString *s, const struct peer_nat_evidence *peer)
{
	if (peer->per_destination == 1)
		clause(s, "peer's NAT maps per destination");
	else if (peer->port_preserved == 1)
		clause(s, "peer's NAT preserves ports");
	else if (peer->port_preserved == 0)
		clause(s, "peer's NAT changes ports");
	else if (peer->types && !(peer->types & PEER_DIAG_TYPE_BIT(NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE)))
		clause(s, "peer sent no server reflexive candidate");
}

/* "off", "mapped", "offered none", "asking", "not asked"; @ret_protocol */
static const char *port_mapping_state(const struct wice_peer *peer, const char **ret_protocol)
{
	struct sockaddr_in external;

	*ret_protocol = NULL;
	if (!iface_settings(peer->iface)->port_mapping)
		return "off";
	if (!peer->portmap)
		return "not asked";
	*ret_protocol = portmap_mapping_protocol(peer->portmap);
	if (portmap_mapping_external(peer->portmap, &external))
		return "mapped";
	return strcmp(*ret_protocol, "none") == 0 ? "offered none" : "asking";
}

static void say_port_mapping(GString *s, const char *state, const char *protocol)
{
	g_autofree char *text = NULL;

	if (strcmp(state, "mapped") == 0)
		text = g_strdup_printf("the router mapped a port (%s)", protocol);
	else if (strcmp(state, "offered none") == 0)
		text = g_strdup("no port mapping offered");
	else if (strcmp(state, "asking") == 0)
		text = g_strdup("asking the router for a port mapping");
	else if (strcmp(state, "off") == 0)
		text = g_strdup("port mapping off");
	else
		text = g_strdup("no port mapping asked");
	clause(s, text);
}

static char *headline(const struct wice_peer *peer, const struct agent_view *direct)
{
	const struct peer_pair_info *p = &peer->selected;
	char via[WG_KEY_B64_LEN];

	if (peer->rerouted) {
		wg_key_to_base64(via, peer->via);
		return g_strdup_printf("via %s", via);
	}
	if (peer->state != PEER_CONNECTED || !p->valid)
		return g_strdup_printf("not connected (%s%s%s)", peer_state_name(peer->state),
				       peer->state_reason ? ": " : "", peer->state_reason ? peer->state_reason : "");
	if (!is_relay(p))
		return g_strdup_printf("direct (%s -> %s)", peer_candidate_type_name(p->local_type),
				       peer_candidate_type_name(p->remote_type));
	if (strcmp(direct->state, "failed") == 0)
		return g_strdup("relayed (direct checks failed)");
	if (strcmp(direct->state, "checking") == 0)
		return g_strdup("relayed (direct checks still running)");
	return g_strdup("relayed");
}

static void add_our_nat(JsonBuilder *b, const struct nat_summary *ours)
{
	g_autofree char *mapped = NULL;

	json_builder_set_member_name(b, "nat");
	if (!ours) {
		json_builder_add_null_value(b);
		return;
	}
	mapped = nat_format_address(&ours->mapped);
	json_builder_begin_object(b);
	json_add_string(b, "mapping", nat_mapping_name(ours->mapping));
	json_add_tristate(b, "port_preserved", ours->port_preserved);
	json_add_string(b, "mapped", ours->have_mapped ? mapped : NULL);
	json_builder_end_object(b);
}

static void add_peer_nat(JsonBuilder *b, const struct peer_nat_evidence *e)
{
	json_builder_set_member_name(b, "peer_nat");
	json_builder_begin_object(b);
	json_add_tristate(b, "port_preserved", e->port_preserved);
	json_add_tristate(b, "maps_per_destination", e->per_destination);
	json_builder_end_object(b);
}

/* Our candidates of the session (peer->local: both agents, kept after an
 * agent is gone) plus the direct agent's peer reflexive ones. */
static void our_evidence(const struct wice_peer *peer, const struct agent_view *direct,
			 struct peer_nat_evidence *ret)
{
	GSList *list = NULL;

	for (size_t i = 0; i < peer->n_local; i++)
		list = g_slist_prepend(list, peer->local[i]);
	peer_diag_evidence(list, ret);
	g_slist_free(list);
	ret->types |= direct->local_types;
	if (direct->local.per_destination == 1)
		ret->per_destination = 1;
}

void peer_diag_add(JsonBuilder *b, const struct wice_peer *peer, const struct nat_summary *ours)
{
	struct agent_view views[PEER_N_AGENTS];
	struct peer_nat_evidence local, remote;
	const char *pm_state, *pm_protocol;
	g_autofree char *head = NULL, *verdict = NULL;
	g_autoptr(GString) why = g_string_new(NULL);

	for (size_t i = 0; i < PEER_N_AGENTS; i++)
		view_agent(&peer->ice[i], &views[i]);
	our_evidence(peer, &views[PEER_AGENT_DIRECT], &local);
	remote = peer->ice[PEER_AGENT_DIRECT].agent || !peer->diag_have_peer_nat ? views[PEER_AGENT_DIRECT].remote
										  : peer->diag_peer_nat;
	remote.types = views[PEER_AGENT_DIRECT].remote_types | views[PEER_AGENT_RELAY].remote_types;
	pm_state = port_mapping_state(peer, &pm_protocol);
	head = headline(peer, &views[PEER_AGENT_DIRECT]);
	say_our_nat(why, ours, &local);
	say_peer_nat(why, &remote);
	say_port_mapping(why, pm_state, pm_protocol);
	verdict = g_strdup_printf("%s: %s", head, why->str);

	json_builder_set_member_name(b, "diagnosis");
	json_builder_begin_object(b);
	json_add_string(b, "verdict", verdict);
	add_types(b, "local_types", local.types);
	add_types(b, "remote_types", remote.types);
	json_builder_set_member_name(b, "agents");
	json_builder_begin_array(b);
	for (size_t i = 0; i < PEER_N_AGENTS; i++)
		add_agent(b, (enum peer_agent_kind)i, &views[i]);
	json_builder_end_array(b);
	add_our_nat(b, ours);
	add_peer_nat(b, &remote);
	json_add_string(b, "port_mapping", pm_state);
	json_builder_end_object(b);
}

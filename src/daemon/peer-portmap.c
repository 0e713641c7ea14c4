/* A port mapping for the peer's direct agent (portmap.h).
 *
 * When the direct agent has gathered its IPv4 host candidate on the
 * address that reaches the default gateway, we ask the gateway to map
 * that candidate's port, and the mapped address goes to the peer as one
 * more server reflexive candidate whose base is the host candidate.  Our
 * agent never learns of it, and needs not: a local server reflexive
 * candidate is never paired itself (RFC 8445, 6.1.2.4: pairs use its
 * base), and the peer's checks to the mapped address arrive on the host
 * candidate's socket, where libnice answers them and learns the peer's
 * address as peer reflexive.  So behind a NAT that maps per destination
 * (symmetric, where STUN's address is useless to others) the peer can
 * still reach us directly, and the relay stays the fallback.
 *
 * One mapping per session: a new session has new sockets, and the old
 * mapping is deleted with the old agent. */
#include "config.h"

#include <arpa/inet.h>
#include <string.h>

#include "peer-internal.h"
#include "portmap.h"

/* The two spell the protocols with the same bits. */
G_STATIC_ASSERT((unsigned)WICE_PORTMAP_PCP == (unsigned)PORTMAP_PCP);
G_STATIC_ASSERT((unsigned)WICE_PORTMAP_NATPMP == (unsigned)PORTMAP_NATPMP);
G_STATIC_ASSERT((unsigned)WICE_PORTMAP_UPNP == (unsigned)PORTMAP_UPNP);

/* RFC 8445, 5.1.2: server reflexive type preference (libnice's too) and
 * the highest local preference: a mapping the router made for us beats a
 * STUN address that may only work toward the STUN server. */
#define PORTMAP_TYPE_PREFERENCE 100u
#define PORTMAP_LOCAL_PREFERENCE 65535u
/* Every mapped candidate has this foundation: one type, one base. */
#define PORTMAP_FOUNDATION "pm"

static bool same_sockaddr(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
	return a->sin_addr.s_addr == b->sin_addr.s_addr && a->sin_port == b->sin_port;
}

static void advertise(struct wice_peer *peer, const struct sockaddr_in *external)
{
	NiceCandidate *c;

	if (peer->n_local >= PEER_MAX_LOCAL_CANDIDATES)
		return;
	c = nice_candidate_new(NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE);
	c->transport = NICE_CANDIDATE_TRANSPORT_UDP;
	c->component_id = 1;
	c->stream_id = peer->ice[PEER_AGENT_DIRECT].stream;
	c->priority = PORTMAP_TYPE_PREFERENCE << 24 | PORTMAP_LOCAL_PREFERENCE << 8 | (256u - c->component_id);
	g_strlcpy(c->foundation, PORTMAP_FOUNDATION, sizeof(c->foundation));
	nice_address_set_from_sockaddr(&c->addr, (const struct sockaddr *)external);
	nice_address_set_from_sockaddr(&c->base_addr, (const struct sockaddr *)&peer->portmap_internal);
	peer->local[peer->n_local++] = c;
	peer->portmap_advertised = *external;
	peer_schedule_send_state(peer);
}

static void on_mapping_changed(struct portmap_mapping *m, void *data)
{
	struct wice_peer *peer = data;
	struct sockaddr_in external;

	if (!portmap_mapping_external(m, &external)) {
		g_debug("%s/%s: no port mapping", peer->iface->name, peer->name);
		return; /* a candidate already sent stays: the peer's checks tell */
	}
	if (!same_sockaddr(&external, &peer->portmap_advertised))
		advertise(peer, &external);
}

static bool wants_mapping(const struct peer_agent *pa, const NiceCandidate *c)
{
	const struct wice_peer *peer = pa->peer;
	const struct wice_iface_settings *cfg = iface_settings(peer->iface);

	return pa->kind == PEER_AGENT_DIRECT && !peer->portmap && c->type == NICE_CANDIDATE_TYPE_HOST &&
	       c->transport == NICE_CANDIDATE_TRANSPORT_UDP && nice_address_ip_version(&c->addr) == 4 &&
	       cfg->port_mapping && (cfg->candidate_types & WICE_CAND_SRFLX);
}

void peer_portmap_on_candidate(struct peer_agent *pa, const NiceCandidate *c)
{
	struct wice_peer *peer = pa->peer;
	const struct iface_host *host = &peer->iface->host;
	struct portmap *pm;

	if (!wants_mapping(pa, c) || !host->ops->portmap || !(pm = host->ops->portmap(host->data)))
		return;
	memset(&peer->portmap_internal, 0, sizeof(peer->portmap_internal));
	nice_address_copy_to_sockaddr(&c->addr, (struct sockaddr *)&peer->portmap_internal);
	peer->portmap = portmap_add(pm, &peer->portmap_internal, iface_settings(peer->iface)->port_mapping,
				    on_mapping_changed, peer);
}

void peer_portmap_release(struct wice_peer *peer)
{
	g_clear_pointer(&peer->portmap, portmap_remove);
	memset(&peer->portmap_advertised, 0, sizeof(peer->portmap_advertised));
}

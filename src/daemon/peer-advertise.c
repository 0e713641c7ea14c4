/* Addresses the user says this host has ([ice] advertise): a port
 * forward or a 1:1 NAT (a cloud host's public address) that no STUN
 * server can find, because the router maps our own outgoing flows
 * differently (a symmetric NAT) or not at all.
 *
 * Each advertised address goes to the peer as a server reflexive
 * candidate whose base is one of our host candidates: ADDRESS:PORT stands
 * for the host candidates on the single port of port-range (the port the
 * router forwards to), a bare ADDRESS for every host candidate of its
 * family, at the host candidate's own port (a 1:1 NAT, or a forwarded
 * range that port-range names).
 *
 * libnice 0.1.21 cannot take a local candidate from us, so the agent
 * never learns of it, and it need not: the peer's checks to the
 * advertised address arrive, through the forward, at the host
 * candidate's socket; our agent answers them and learns the peer's
 * address as peer reflexive, and its own checks back leave through the
 * same forward (the router's connection tracking maps their source to
 * the advertised address), so both sides see a valid pair.  What the
 * agent does not know, the peer does: its pair names our candidate
 * (tests/lab/advertise.test: both NATs symmetric, a direct pair only
 * with the forward advertised). */
#include "config.h"

#include <arpa/inet.h>
#include <string.h>

#include "peer-internal.h"

/* The foundations of our advertised candidates start with this, so that
 * the peer can name them in `wice show`.  Foundations are ice-chars,
 * letters and digits. */
#define ADVERTISED_FOUNDATION_PREFIX "adv"
/* RFC 8445's type preference of server reflexive candidates, libnice's
 * too (NICE_CANDIDATE_TYPE_PREF_SERVER_REFLEXIVE). */
#define SRFLX_TYPE_PREFERENCE 100u

static void advertised_address(const struct wice_advertised *a, uint16_t port, NiceAddress *ret)
{
	nice_address_init(ret);
	if (a->family == AF_INET)
		nice_address_set_ipv4(ret, ntohl(*(const uint32_t *)(const void *)a->addr));
	else
		nice_address_set_ipv6(ret, a->addr);
	nice_address_set_port(ret, port);
}

static bool already_local(const struct wice_peer *peer, const NiceAddress *addr)
{
	for (size_t i = 0; i < peer->n_local; i++)
		if (nice_address_equal(&peer->local[i]->addr, addr))
			return true;
	return false;
}

/* The candidate @a stands for on @host's socket, or NULL when @a is not
 * for that socket. */
static NiceCandidate *advertised_candidate(const struct wice_iface_settings *cfg, size_t index,
					   const NiceCandidate *host)
{
	const struct wice_advertised *a = &cfg->advertise[index];
	guint host_port = nice_address_get_port(&host->addr);
	NiceCandidate *c;

	if (a->family != host->addr.s.addr.sa_family || (a->port && host_port != cfg->port_min))
		return NULL;
	c = nice_candidate_new(NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE);
	c->transport = NICE_CANDIDATE_TRANSPORT_UDP;
	c->component_id = host->component_id;
	c->stream_id = host->stream_id;
	/* the host candidate's local preference and component, a srflx type */
	c->priority = (SRFLX_TYPE_PREFERENCE << 24) | (host->priority & 0xffffffu);
	g_snprintf(c->foundation, sizeof(c->foundation), ADVERTISED_FOUNDATION_PREFIX "%zu%s", index, host->foundation);
	advertised_address(a, a->port ? a->port : (uint16_t)host_port, &c->addr);
	c->base_addr = host->addr;
	return c;
}

void peer_advertise_on_host_candidate(struct wice_peer *peer, const NiceCandidate *host)
{
	const struct wice_iface_settings *cfg = iface_settings(peer->iface);

	if (host->type != NICE_CANDIDATE_TYPE_HOST || host->transport != NICE_CANDIDATE_TRANSPORT_UDP)
		return;
	for (size_t i = 0; i < cfg->n_advertise; i++) {
		NiceCandidate *c = advertised_candidate(cfg, i, host);

		if (!c)
			continue;
		if (peer->n_local < PEER_MAX_LOCAL_CANDIDATES && !already_local(peer, &c->addr)) {
			peer->local[peer->n_local++] = c;
			continue;
		}
		nice_candidate_free(c);
	}
}

static bool is_advertised_foundation(const char *foundation)
{
	return g_str_has_prefix(foundation, ADVERTISED_FOUNDATION_PREFIX);
}

/* Our agent does not know the advertised candidate: a pair through it
 * shows our side as the host or peer reflexive candidate at the
 * advertised address. */
static bool local_is_advertised(const struct wice_peer *peer, const NiceCandidate *local)
{
	for (size_t i = 0; i < peer->n_local; i++)
		if (is_advertised_foundation(peer->local[i]->foundation) &&
		    nice_address_equal(&peer->local[i]->addr, &local->addr))
			return true;
	return false;
}

void peer_advertise_note_pair(const struct wice_peer *peer, struct peer_pair_info *info, const NiceCandidate *local,
			      const NiceCandidate *remote)
{
	info->local_advertised = local_is_advertised(peer, local);
	info->remote_advertised = remote->type == NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE &&
				  is_advertised_foundation(remote->foundation);
}

/* The eBPF relay path for a peer's relay pair (proxy/bpf-relay.h).
 *
 * A relay pair starts on the user proxy, as before.  Its traffic makes
 * libnice send ChannelData on the channel it bound for the pair, from
 * which the kernel program learns the TURN server and channel number;
 * polled here every POLL_MS, the learned channel moves WireGuard onto
 * the kernel path (its endpoint becomes the remote candidate).  The user
 * proxy stays beside it for what libnice still receives.
 *
 * The programs are loaded with the first relay pair and unloaded (filters
 * and all) with the last, so nothing stays behind when the daemon exits.
 * Only with `[proxy] relay-path = bpf` (the default is the user proxy:
 * the path works on virtual devices only, see bpf_relay_device_for());
 * WICE_BPF=off in the environment keeps every relay pair on the user
 * proxy all the same, and so does a kernel that refuses BPF, an IPv6
 * pair, or a device that may offload checksums. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "peer-internal.h"
#include "proxy/bpf-relay.h"
#include "util/source-util.h"
#include "wg/wg.h"

#define POLL_MS 20
#define LEARN_TIMEOUT_MS 30000

struct peer_bpf {
	struct wice_peer *peer;
	struct sockaddr_in local, remote;
	uint16_t wg_port;
	bool active;
	unsigned polls;
	GSource *poll;
};

static struct bpf_relay *relay;
static unsigned n_users;
static bool refused; /* the kernel said no once: do not ask per pair */

/* `[proxy] relay-path = bpf` asks for it; WICE_BPF=off still keeps it
 * off (for tests of the fallback). */
static bool disabled(const struct wice_peer *peer)
{
	const char *env = g_getenv("WICE_BPF");

	return refused || iface_settings(peer->iface)->relay_path != WICE_RELAY_PATH_BPF ||
	       (env && (!strcmp(env, "off") || !strcmp(env, "0")));
}

static struct bpf_relay *get_relay(void)
{
	g_autoptr(GError) error = NULL;

	if (relay) {
		n_users++;
		return relay;
	}
	relay = bpf_relay_new(&error);
	if (!relay) {
		g_message("eBPF relay path unavailable (%s); relay pairs use the user proxy", error->message);
		refused = true;
		return NULL;
	}
	n_users = 1;
	return relay;
}

static void put_relay(void)
{
	if (relay && --n_users == 0)
		g_clear_pointer(&relay, bpf_relay_free);
}

static bool to_sin(const NiceAddress *a, struct sockaddr_in *ret)
{
	union wg_sockaddr sa = { 0 };

	nice_address_copy_to_sockaddr(a, &sa.sa);
	if (sa.sa.sa_family != AF_INET)
		return false;
	*ret = sa.in;
	return true;
}

static gboolean on_poll(gpointer data)
{
	struct peer_bpf *b = data;
	struct wice_peer *peer = b->peer;
	g_autoptr(GError) error = NULL;
	struct sockaddr_in turn;
	uint16_t channel;
	union wg_sockaddr ep = { 0 };

	if (!bpf_relay_learned(relay, &b->local, &turn, &channel)) {
		if (++b->polls * POLL_MS < LEARN_TIMEOUT_MS)
			return G_SOURCE_CONTINUE;
		g_message("%s/%s: no TURN channel seen; staying on the user proxy", peer->iface->name, peer->name);
		g_clear_pointer(&b->poll, g_source_unref);
		return G_SOURCE_REMOVE;
	}
	g_clear_pointer(&b->poll, g_source_unref);
	if (!bpf_relay_set_peer(relay, &b->local, &turn, channel, &b->remote, b->wg_port, &error)) {
		g_warning("%s/%s: %s; staying on the user proxy", peer->iface->name, peer->name, error->message);
		return G_SOURCE_REMOVE;
	}
	b->active = true;
	ep.in = b->remote;
	peer_wg_set_endpoint(peer, &ep);
	g_debug("%s/%s: relay pair in the kernel (channel 0x%04x)", peer->iface->name, peer->name, channel);
	peer_path_bpf_ready(peer);
	return G_SOURCE_REMOVE;
}

static bool attach(const struct sockaddr_in *local)
{
	g_autoptr(GError) error = NULL;
	int ifindex = bpf_relay_device_for(&local->sin_addr);

	if (ifindex <= 0) {
		g_debug("eBPF relay: %s", ifindex < 0 ? "device may offload checksums" : "no device");
		return false;
	}
	if (!bpf_relay_attach(relay, ifindex, &error)) {
		g_message("%s; relay pairs use the user proxy", error->message);
		return false;
	}
	return true;
}

bool peer_bpf_start(struct wice_peer *peer, const NiceCandidate *local, const NiceCandidate *remote)
{
	g_autoptr(GError) error = NULL;
	struct peer_bpf *b;

	peer_bpf_stop(peer);
	if (local->type != NICE_CANDIDATE_TYPE_RELAYED || disabled(peer))
		return false;
	b = g_new0(struct peer_bpf, 1);
	b->peer = peer;
	b->wg_port = peer->iface->listen_port;
	if (!to_sin(&local->base_addr, &b->local) || !to_sin(&remote->addr, &b->remote) || !get_relay()) {
		g_free(b);
		return false;
	}
	if (!attach(&b->local) || !bpf_relay_watch(relay, &b->local, &error)) {
		put_relay();
		g_free(b);
		return false;
	}
	peer->bpf = b;
	b->poll = source_timeout(POLL_MS, on_poll, b);
	return true;
}

bool peer_bpf_active(const struct wice_peer *peer)
{
	return peer->bpf && peer->bpf->active;
}

void peer_bpf_stop(struct wice_peer *peer)
{
	struct peer_bpf *b = peer->bpf;

	if (!b)
		return;
	source_clear(&b->poll);
	bpf_relay_remove(relay, &b->local, &b->remote, b->wg_port);
	peer->bpf = NULL;
	g_free(b);
	put_relay();
}

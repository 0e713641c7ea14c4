/* A peer's life: start, state changes, restarts with backoff, WireGuard's
 * view of the path, and a clean end. */
#include "config.h"

#include <string.h>

#include <sodium.h>

#include "util/backoff.h"
#include "util/source-util.h"
#include "peer-internal.h"
#include "wg/wg-keyaddr.h"

#define RESTART_FIRST_MS 1000
#define RESTART_MAX_MS 30000
/* Checks that neither succeed nor fail (no remote candidates ever came)
 * are given up after this long. */
#define CONNECT_TIMEOUT_US (30 * G_USEC_PER_SEC)
/* WireGuard answers within 10 s whatever it receives (data, or a
 * keepalive after KEEPALIVE_TIMEOUT), so sending for this long without
 * hearing back means the path is gone; doubled for each such restart in a
 * row that brought nothing back (a peer whose WireGuard does not answer at
 * all), up to 16 times. */
#define PATH_SILENT_SEC 15
#define PATH_SILENT_MAX_SHIFT 4
/* A keepalive (an empty transport message: 16 bytes of header, 16 of
 * tag) is the one thing WireGuard sends that nobody answers: the passive
 * one 10 s after the last data received, and the persistent ones. */
#define WG_KEEPALIVE_BYTES 32

const char *peer_state_name(enum peer_state state)
{
	static const char *const names[] = { "idle", "gathering", "connecting", "connected", "failed", "closed" };

	return state < G_N_ELEMENTS(names) ? names[state] : "?";
}

const char *peer_proxy_name(enum peer_proxy_kind kind)
{
	return kind == PEER_PROXY_NFT ? "nft" : kind == PEER_PROXY_USER ? "user" : kind == PEER_PROXY_BPF ? "bpf" : NULL;
}

const char *peer_candidate_type_name(NiceCandidateType type)
{
	static const char *const names[] = { "host", "srflx", "prflx", "relay" };

	return type < G_N_ELEMENTS(names) ? names[type] : "?";
}

void peer_emit(struct wice_peer *peer, struct wice_event *ev)
{
	char key[WG_KEY_B64_LEN];

	wg_key_to_base64(key, peer->public_key);
	ev->interface = peer->iface->name;
	ev->peer = key;
	iface_emit(peer->iface, ev);
}

void peer_set_state(struct wice_peer *peer, enum peer_state state, const char *reason)
{
	struct wice_event ev = {
		.type = WICE_EVENT_PEER_STATE,
		.old_state = peer_state_name(peer->state),
		.state = peer_state_name(state),
		.reason = reason,
	};
	bool was_connected = peer->state == PEER_CONNECTED;

	/* The same state for a new reason is a new start (a restart while
	 * gathering): monitors hear of it and the connect timeout starts
	 * over. */
	if (peer->state == state && g_strcmp0(peer->state_reason, reason) == 0)
		return;
	peer_emit(peer, &ev);
	peer->state_since = g_get_real_time() / G_USEC_PER_SEC;
	peer->state = state;
	g_free(peer->state_reason);
	peer->state_reason = g_strdup(reason);
	if (state == PEER_CONNECTING || state == PEER_GATHERING)
		peer->connecting_since_us = g_get_monotonic_time();
	if (state == PEER_CONNECTED)
		tunnel_signal_peer_connected(peer);
	if ((state == PEER_CONNECTED) != was_connected)
		facts_soon(peer->iface);
}

struct wice_peer *peer_new(struct wice_iface *iface, const uint8_t public_key[32])
{
	static uint64_t last_id;
	struct wice_peer *peer = g_new0(struct wice_peer, 1);
	char b64[WG_KEY_B64_LEN];

	peer->iface = iface;
	peer->id = ++last_id;
	memcpy(peer->public_key, public_key, 32);
	wg_key_link_local(public_key, &peer->link_ll);
	wg_key_to_base64(b64, public_key);
	g_strlcpy(peer->name, b64, sizeof(peer->name));
	peer->controlling = memcmp(iface->identity.public_key, public_key, 32) < 0;
	for (size_t i = 0; i < PEER_N_AGENTS; i++) {
		peer->ice[i].peer = peer;
		peer->ice[i].kind = (enum peer_agent_kind)i;
	}
	peer->renew.peer = peer;
	peer->renew.kind = PEER_AGENT_RELAY;
	peer->state_since = g_get_real_time() / G_USEC_PER_SEC;
	if (sig_pair_init(&peer->pair, &iface->identity, public_key) < 0) {
		g_warning("%s/%s: unusable public key", iface->name, peer->name);
		g_free(peer);
		return NULL;
	}
	sig_relay_send_id(&peer->pair, peer->relay_send_id);
	sig_relay_receive_id(&peer->pair, peer->sub.id, peer->sub.secret);
	iface->host.ops->subscribe(iface->host.data, &peer->sub);
	return peer;
}

static void peer_cancel_restart(struct wice_peer *peer)
{
	source_clear(&peer->restart_timer);
}

void peer_teardown(struct wice_peer *peer)
{
	peer_handover_drop(peer);
	peer_path_release(peer);
	peer_ice_destroy(peer);
}

/* The one place an agent is torn down and built again.  With @own_session
 * we start a session of our own (new credentials); without, the peer
 * restarted and ours stays: the new agent keeps the credentials we
 * announced, so the two sides never chase each other's restarts.  With
 * @keep_path a connected peer stays connected over its path until the
 * new session has a pair (peer-handover.c). */
void peer_rebuild(struct wice_peer *peer, bool own_session, uint64_t remote_session, const char *reason,
		  bool keep_path)
{
	g_autofree char *ufrag = NULL, *pwd = NULL;
	const struct wice_iface_settings *cfg = iface_settings(peer->iface);
	/* A port range of one port (a port forward, `[ice] advertise`) has
	 * no room for the new session's socket beside the old one. */
	bool room = !cfg->port_min || cfg->port_max > cfg->port_min;
	bool keep = keep_path && room && peer->state == PEER_CONNECTED && peer->proxy != PEER_PROXY_NONE;

	peer_cancel_restart(peer);
	peer_stop_resending(peer);
	if (!own_session)
		peer_ice_local_credentials(peer, &ufrag, &pwd);
	if (keep)
		peer_handover_keep(peer);
	else
		peer_teardown(peer);
	peer->sent_unbound = false; /* of the agent that is gone */
	peer->remote_session = remote_session;
	if (own_session)
		sig_session_start(&peer->session, (uint64_t)(g_get_real_time() / 1000));
	if (keep) {
		/* Monitors hear of it; the state stays what it is. */
		struct wice_event ev = {
			.type = WICE_EVENT_PEER_STATE, .old_state = "connected", .state = "connected", .reason = reason
		};

		g_message("%s/%s: %s; the current path stays until the new session has a pair", peer->iface->name,
			  peer->name, reason);
		peer_emit(peer, &ev);
		peer->connecting_since_us = g_get_monotonic_time();
	} else {
		peer_set_state(peer, PEER_GATHERING, reason);
	}
	if (!peer_ice_create(peer, ufrag, pwd))
		peer_schedule_restart(peer, "cannot create ICE agent");
	else if (own_session)
		peer_schedule_send_state(peer);
	if (peer_ice_active(peer))
		peer_start_resending(peer);
	if (pwd)
		explicit_bzero(pwd, strlen(pwd));
}

/* Starts a new session of our own: new credentials, new agent. */
void peer_start(struct wice_peer *peer)
{
	peer_rebuild(peer, true, peer->remote_session, "starting ICE", false);
}

static void peer_restart(struct wice_peer *peer, const char *reason, bool keep_path)
{
	g_autofree char *why = g_strdup_printf("restarting ICE: %s", reason);

	peer->restarts++;
	peer_rebuild(peer, true, 0, why, keep_path);
}

/* A try for a better path while this one works: not a restart (nothing
 * failed), counted apart. */
void peer_try_upgrade(struct wice_peer *peer)
{
	peer->upgrade_attempts++;
	peer_rebuild(peer, true, 0, "looking for a direct path", true);
}

void peer_restart_now(struct wice_peer *peer)
{
	peer->failures = 0;
	peer_restart(peer, "requested by operator", true);
}

static gboolean on_restart_timer(gpointer data)
{
	struct wice_peer *peer = data;

	g_clear_pointer(&peer->restart_timer, g_source_unref);
	if (peer_restart_pending(peer))
		peer_restart(peer, "the new session found no pair", true);
	else
		peer_restart(peer, peer->state_reason ? peer->state_reason : "retry", false);
	return G_SOURCE_REMOVE;
}

/* Exponential backoff with jitter, capped: a peer that is down must not
 * cost more than a message every half minute. */
static unsigned restart_delay_ms(unsigned failures)
{
	return backoff_delay_ms(RESTART_FIRST_MS, RESTART_MAX_MS, failures);
}

void peer_schedule_restart(struct wice_peer *peer, const char *reason)
{
	unsigned delay;

	if (peer->restart_timer || peer->state == PEER_CLOSED)
		return;
	delay = restart_delay_ms(peer->failures++);
	/* A new session that failed while the old path carries WireGuard:
	 * the peer stays connected, and tries again after the backoff. */
	if (peer_restart_pending(peer))
		g_message("%s/%s: %s; staying on the current path, next try in %u ms", peer->iface->name,
			  peer->name, reason, delay);
	else
		peer_set_state(peer, PEER_FAILED, reason);
	peer_stop_resending(peer);
	peer->restart_timer = source_timeout(delay, on_restart_timer, peer);
}

void peer_on_connected(struct wice_peer *peer)
{
	/* also when a new session took over from the old path while the peer
	 * stayed connected */
	if (peer_restart_pending(peer))
		return;
	peer->failures = 0;
	/* The peer's session took our candidates and connected: what a later
	 * restart of its own brings is a new agent that never saw them. */
	peer->sent_unbound = false;
	/* Checks that timed out may still succeed before the restart. */
	peer_cancel_restart(peer);
	peer_stop_resending(peer);
	peer_set_state(peer, PEER_CONNECTED, "pair selected");
}

void peer_close(struct wice_peer *peer, const char *reason)
{
	peer_cancel_restart(peer);
	peer_stop_resending(peer);
	peer_teardown(peer);
	peer->remote_session = 0;
	peer_set_state(peer, PEER_CLOSED, reason);
}

/* Called on every device sync with what WireGuard sent and received since
 * the last one. */
static void watch_path(struct wice_peer *peer, uint64_t tx_delta, bool receiving)
{
	bool sending = tx_delta > WG_KEEPALIVE_BYTES;
	gint64 now = g_get_monotonic_time();
	gint64 limit = (gint64)PATH_SILENT_SEC << MIN(peer->silent_restarts, PATH_SILENT_MAX_SHIFT);

	if (receiving) {
		peer->unanswered_since_us = 0;
		peer->silent_restarts = 0;
		return;
	}
	if (peer->state != PEER_CONNECTED) {
		peer->unanswered_since_us = 0;
		return;
	}
	if (sending && !peer->unanswered_since_us)
		peer->unanswered_since_us = now;
	if (peer->unanswered_since_us && now - peer->unanswered_since_us > limit * G_USEC_PER_SEC) {
		peer->unanswered_since_us = 0;
		peer->silent_restarts++;
		peer_restart(peer, "WireGuard unanswered", false);
	}
}

void peer_update_wg(struct wice_peer *peer, const struct wg_peer *wgp)
{
	/* Counters start over when the peer is re-added (a kick). */
	uint64_t tx_delta = wgp->tx_bytes > peer->tx_bytes ? wgp->tx_bytes - peer->tx_bytes : 0;
	bool receiving = wgp->rx_bytes > peer->rx_bytes;

	peer->wg_endpoint = wgp->endpoint;
	peer->last_handshake = wgp->last_handshake_sec;
	if (receiving)
		peer->rx_changed_us = g_get_monotonic_time();
	if (peer->n_aips != wgp->n_allowed_ips ||
	    (peer->n_aips && memcmp(peer->aips, wgp->allowed_ips, wgp->n_allowed_ips * sizeof(*wgp->allowed_ips)))) {
		g_free(peer->aips);
		peer->aips = g_memdup2(wgp->allowed_ips, wgp->n_allowed_ips * sizeof(*wgp->allowed_ips));
		peer->n_aips = wgp->n_allowed_ips;
	}
	peer->rx_bytes = wgp->rx_bytes;
	peer->tx_bytes = wgp->tx_bytes;
	if (!peer->endpoint_changed)
		peer->original_endpoint = wgp->endpoint;
	watch_path(peer, tx_delta, receiving);
	if ((peer->state == PEER_CONNECTING || peer->state == PEER_GATHERING || peer_restart_pending(peer)) &&
	    peer->have_remote_credentials && g_get_monotonic_time() - peer->connecting_since_us > CONNECT_TIMEOUT_US)
		peer_schedule_restart(peer, "checks timed out");
	peer_handover_consider_upgrade(peer);
}

void peer_on_network_changed(struct wice_peer *peer)
{
	/* A connected pair whose local address is gone goes unanswered and
	 * restarts by itself; new addresses alone wait for the next session
	 * (peer_ice_addresses_still_there says why). */
	if ((peer->state == PEER_CONNECTED && !peer_restart_pending(peer)) || peer->state == PEER_CLOSED)
		return;
	if (peer_ice_active(peer) && peer_ice_addresses_still_there(peer)) {
		g_debug("%s/%s: network changed; the agents' addresses are all still there", peer->iface->name,
			peer->name);
		return;
	}
	/* while a restart is pending, only the new session starts over */
	peer_restart(peer, "local addresses changed", peer_restart_pending(peer));
}

void peer_on_signaling_up(struct wice_peer *peer)
{
	if (peer_ice_active(peer) &&
	    (peer->state == PEER_GATHERING || peer->state == PEER_CONNECTING || peer_restart_pending(peer)))
		peer_send_state(peer, !peer->have_remote_credentials);
}

void peer_free(struct wice_peer *peer)
{
	if (!peer)
		return;
	peer_send_goodbye(peer);
	peer_cancel_send_state(peer);
	peer_cancel_restart(peer);
	peer_stop_resending(peer);
	peer_handover_drop(peer);
	peer_path_release(peer);
	peer_wg_restore_endpoint(peer);
	link_addr_peer_release(peer);
	peer_ice_destroy(peer);
	peer->iface->host.ops->unsubscribe(peer->iface->host.data, peer->sub.id);
	sig_pair_wipe(&peer->pair);
	sodium_memzero(&peer->sub, sizeof(peer->sub));
	g_free(peer->state_reason);
	g_free(peer->aips);
	g_free(peer);
}

const char *peer_reached(const struct wice_peer *peer)
{
	if (peer->state != PEER_CONNECTED || !peer->selected.valid)
		return NULL;
	return peer->selected.local_type == NICE_CANDIDATE_TYPE_RELAYED ||
			       peer->selected.remote_type == NICE_CANDIDATE_TYPE_RELAYED
		       ? "relay"
		       : "direct";
}

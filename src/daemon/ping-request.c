/* `wice ping IFACE PEER`: one ICMP echo request through the tunnel to the
 * peer (pinger.h), answered when the reply comes, with the round trip
 * time and the path it took: the selected pair's types ("direct srflx",
 * "relay") or the peer that carries the peer's addresses ("via KEY").
 * The client sends one request per probe, so a count and the pacing
 * are its business.
 *
 * The address pinged: the peer's first allowed IP that is a single
 * address (a /32 or /128, what a tunnel address usually is), else its
 * link-local address on interfaces with link addresses (link-addr.c),
 * which every wice peer holds on its end of the tunnel. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <string.h>

#include "control/control.h"
#include "daemon.h"
#include "peer-diag.h"
#include "peer.h"
#include "pinger.h"
#include "wg/wg-keyaddr.h"

/* Below the control socket's 3 s for a client's request. */
#define PING_TIMEOUT_MS 2000

struct ping_request {
	struct wice_daemon *d;
	char ifname[IFNAMSIZ];
	uint8_t key[32];
	char address[INET6_ADDRSTRLEN];
	struct control_call *call;
};

static bool single_address(const struct wg_allowed_ip *a)
{
	return (a->family == AF_INET && a->cidr == 32) || (a->family == AF_INET6 && a->cidr == 128);
}

/* The first address of @aips that is one host. */
static const struct wg_allowed_ip *first_host(const struct wg_allowed_ip *aips, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (single_address(&aips[i]))
			return &aips[i];
	return NULL;
}

/* A peer whose addresses another peer carries (reroute.c) is reached at
 * those: what its router told of a learned peer, else its key address,
 * which moved to the carrier with its other allowed IPs. */
static const struct wg_allowed_ip *carried_target(const struct wice_peer *peer, struct wg_allowed_ip *buf,
						  size_t size)
{
	const struct wg_allowed_ip *a = first_host(buf, facts_prefixes_of(peer->iface, peer->public_key, buf, size));

	if (a || !peer->iface->link_own_added)
		return a;
	buf[0].family = AF_INET6;
	buf[0].cidr = 128;
	wg_key_address(peer->public_key, &buf[0].addr.v6);
	return &buf[0];
}

/* Where to send the echo request; false when the peer has no address
 * that is one host. */
static bool ping_target(const struct wice_peer *peer, struct sockaddr_storage *ret)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ret;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ret;
	struct wg_allowed_ip carried[8];
	const struct wg_allowed_ip *a = peer->rerouted ? carried_target(peer, carried, G_N_ELEMENTS(carried)) : NULL;

	memset(ret, 0, sizeof(*ret));
	if (!a)
		a = first_host(peer->aips, peer->n_aips);
	if (a && a->family == AF_INET) {
		in->sin_family = AF_INET;
		in->sin_addr = a->addr.v4;
		return true;
	}
	if (a) {
		in6->sin6_family = AF_INET6;
		in6->sin6_addr = a->addr.v6;
		if (IN6_IS_ADDR_LINKLOCAL(&a->addr.v6))
			in6->sin6_scope_id = if_nametoindex(peer->iface->name);
		return true;
	}
	if (!peer->iface->link_own_added)
		return false;
	in6->sin6_family = AF_INET6;
	in6->sin6_addr = peer->link_ll;
	in6->sin6_scope_id = peer->iface->link_ifindex;
	return true;
}

static void format_target(const struct sockaddr_storage *a, char *buf, size_t len)
{
	const void *addr = a->ss_family == AF_INET ? (const void *)&((const struct sockaddr_in *)a)->sin_addr
						    : (const void *)&((const struct sockaddr_in6 *)a)->sin6_addr;

	inet_ntop(a->ss_family, addr, buf, (socklen_t)len);
}

/* The peer looked up again: it may be gone since the probe went out. */
static struct wice_peer *find_peer(struct ping_request *r)
{
	struct wice_iface *iface = daemon_find_iface(r->d, r->ifname);

	return iface ? iface_find_peer(iface, r->key) : NULL;
}

static JsonNode *reply_body(struct ping_request *r, const struct wice_peer *peer, gint64 rtt_us)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "ok");
	json_builder_add_boolean_value(b, TRUE);
	json_builder_set_member_name(b, "address");
	json_builder_add_string_value(b, r->address);
	json_builder_set_member_name(b, "rtt_us");
	json_builder_add_int_value(b, rtt_us);
	json_builder_set_member_name(b, "state");
	json_builder_add_string_value(b, peer_state_name(peer->state));
	peer_diag_add_path(b, peer);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

static void on_echo(int err, gint64 rtt_us, void *data)
{
	struct ping_request *r = data;
	struct wice_peer *peer = find_peer(r);
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) body = NULL;

	if (err == -ETIMEDOUT)
		g_set_error(&error, CONTROL_ERROR, ETIMEDOUT, "no reply from %s within %u ms%s%s", r->address,
			    PING_TIMEOUT_MS, peer ? ": peer is " : "", peer ? peer_state_name(peer->state) : "");
	else if (err == -EPERM || err == -EACCES)
		g_set_error(&error, CONTROL_ERROR, -err, "cannot send ICMP to %s: %s (the daemon needs CAP_NET_RAW at start)",
			    r->address, g_strerror(-err));
	else if (err)
		g_set_error(&error, CONTROL_ERROR, -err, "cannot ping %s: %s", r->address, g_strerror(-err));
	else if (!peer)
		g_set_error(&error, CONTROL_ERROR, ENOENT, "the peer went away");
	else
		body = reply_body(r, peer, rtt_us);
	control_call_reply(r->call, body, error);
	g_free(r);
}

void ping_request_execute(struct wice_daemon *d, const struct control_request *req, struct control_call *call)
{
	g_autoptr(GError) error = NULL;
	struct wice_iface *iface = daemon_find_iface(d, req->interface);
	struct wice_peer *peer = iface ? iface_find_peer(iface, req->peer) : NULL;
	struct sockaddr_storage to;
	struct ping_request *r;
	char key[WG_KEY_B64_LEN];

	wg_key_to_base64(key, req->peer);
	if (!iface)
		g_set_error(&error, CONTROL_ERROR, ENODEV, "wice does not manage interface '%s'", req->interface);
	else if (!peer)
		g_set_error(&error, CONTROL_ERROR, ENOENT, "interface '%s' has no peer '%s'", req->interface, key);
	else if (!ping_target(peer, &to))
		g_set_error(&error, CONTROL_ERROR, EADDRNOTAVAIL,
			    "peer '%s' has no single address (/32 or /128) in its allowed IPs to ping", key);
	if (error) {
		control_call_reply(call, NULL, error);
		return;
	}
	r = g_new0(struct ping_request, 1);
	r->d = d;
	r->call = call;
	g_strlcpy(r->ifname, iface->name, sizeof(r->ifname));
	memcpy(r->key, req->peer, sizeof(r->key));
	format_target(&to, r->address, sizeof(r->address));
	if (!pinger_send(d->pinger, &to, if_nametoindex(iface->name), PING_TIMEOUT_MS, on_echo, r)) {
		g_set_error(&error, CONTROL_ERROR, EBUSY, "too many pings in flight");
		control_call_reply(call, NULL, error);
		g_free(r);
	}
}

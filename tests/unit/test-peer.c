/* The peer core: two interfaces in one process find each other over
 * in-process signaling and real libnice on loopback, and WireGuard (a fake,
 * fake-wg.h) is pointed at the path they find.  No root, no namespaces.
 *
 * Which side controls ICE depends on the random keys, so every test
 * computes the roles (fake_controlling) instead of assuming them.  Nothing
 * assumes that a WireGuard read or write, or a sync, has happened by the
 * time a call returns: tests run the loop until the effect shows. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

#include "fake-host.h"
#include "proxy/user-proxy.h"

/* Loopback ICE connects in tens of milliseconds; valgrind is slower. */
#define CONNECT_MS 8000
/* The fake host has no STUN or TURN server: a session has its direct
 * agent only. */
#define DIRECT(peer) ((peer)->ice[PEER_AGENT_DIRECT])

static struct fake_world world;

static void setup(void)
{
	fake_world_init(&world);
}

static void teardown(void)
{
	fake_world_free(&world);
}

TestSuite(peer, .init = setup, .fini = teardown, .timeout = 60);

static bool is_loopback_endpoint(const union wg_sockaddr *ep)
{
	return ep->sa.sa_family == AF_INET && ep->in.sin_addr.s_addr == htonl(INADDR_LOOPBACK) && ep->in.sin_port;
}

static bool same_endpoint(const union wg_sockaddr *a, const union wg_sockaddr *b)
{
	return a->sa.sa_family == AF_INET && b->sa.sa_family == AF_INET && a->in.sin_port == b->in.sin_port &&
	       a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
}

/* Where the node's WireGuard should send to reach the peer: its user
 * proxy's loopback socket. */
static bool proxy_endpoint(const struct fake_node *n, union wg_sockaddr *ret)
{
	struct wice_peer *p = fake_peer(n);

	if (!p || !p->user_proxy)
		return false;
	user_proxy_get_endpoint(p->user_proxy, ret);
	return true;
}

/* The node's fake WireGuard points at the node's user proxy for the peer. */
static bool wg_points_at_proxy(const struct fake_node *n)
{
	union wg_sockaddr ep;
	struct wg_peer wgp;

	return proxy_endpoint(n, &ep) && fake_wg_get_peer(n->name, n->other->public_key, &wgp) &&
	       same_endpoint(&wgp.endpoint, &ep);
}

static void connect_both(void)
{
	fake_world_start(&world);
	cr_assert(fake_wait_for(fake_world_connected(&world), CONNECT_MS), "peers did not connect");
	cr_assert(fake_wait_for(wg_points_at_proxy(&world.a) && wg_points_at_proxy(&world.b), CONNECT_MS),
		  "WireGuard does not point at the user proxies");
}

/* Not on the stack: a sync still waited for when a test fails ends with
 * the interface, after the test function. */
static int sync_result;

static void on_synced(int r, void *data)
{
	sync_result = r;
}

/* Re-reads @n's device (on its WireGuard worker) and waits until the
 * result is applied. */
static void sync_and_wait(struct fake_node *n)
{
	sync_result = 1;
	iface_sync(n->iface, on_synced, NULL);
	cr_assert(fake_wait_for(sync_result != 1, 3000), "%s: no device read", n->name);
	cr_assert_eq(sync_result, 0);
}

/* The links work again, and the backends say so. */
static void restore_signaling(void)
{
	world.a.link.drop = world.b.link.drop = false;
	iface_on_signaling_up(world.a.iface);
	iface_on_signaling_up(world.b.iface);
}

/* --- 1. offer and answer ---------------------------------------------------- */

static void assert_connect_events(const struct fake_node *n)
{
	int added = fake_find_event(n, WICE_EVENT_PEER_ADDED, NULL, NULL);
	int gathering = fake_find_event(n, WICE_EVENT_PEER_STATE, "gathering", "starting ICE");
	int connecting = fake_find_event(n, WICE_EVENT_PEER_STATE, "connecting", NULL);
	int connected = fake_find_event(n, WICE_EVENT_PEER_STATE, "connected", "pair selected");
	int pair = fake_find_event(n, WICE_EVENT_SELECTED_PAIR, NULL, NULL);
	const struct fake_event *e;

	cr_assert(added == 0, "%s: peer-added is not the first event", n->name);
	cr_assert(gathering > added && connecting > gathering && connected > connecting,
		  "%s: states out of order (%d %d %d)", n->name, gathering, connecting, connected);
	cr_assert(pair > connecting, "%s: no selected pair after connecting", n->name);
	e = g_ptr_array_index(n->events, pair);
	cr_assert_str_eq(e->proxy, "user");
	cr_assert_str_eq(e->local_type, "host");
	cr_assert_str_eq(e->local_addr, "127.0.0.1");
	cr_assert_str_eq(e->remote_addr, "127.0.0.1");
	cr_assert(e->local_port && e->remote_port);
}

Test(peer, offer_answer_connects)
{
	struct fake_node *ctl = fake_controlling(&world), *ced = ctl->other;
	struct fake_wg_op log[16];
	struct wg_peer wgp;
	size_t n;

	connect_both();
	cr_assert(fake_peer(ctl)->controlling && !fake_peer(ced)->controlling, "the smaller key must control");
	for (struct fake_node *x = &world.a; x; x = x == &world.a ? &world.b : NULL) {
		struct wice_peer *p = fake_peer(x);

		cr_assert(p->selected.valid, "%s: no selected pair", x->name);
		cr_assert_eq(p->proxy, PEER_PROXY_USER);
		cr_assert(is_loopback_endpoint(&p->endpoint_set));
		assert_connect_events(x);
		cr_assert_eq(x->subscriptions, 1);
		cr_assert_eq(x->misaddressed, 0);
		cr_assert(fake_wg_get_peer(x->name, x->other->public_key, &wgp));
		cr_assert_eq(wgp.n_allowed_ips, 1, "%s: allowed IPs lost", x->name);
	}

	/* The controlling side re-adds the peer with the new endpoint and a
	 * temporary keepalive (a handshake at once), then puts the
	 * operator's keepalive (none) back. */
	n = fake_wg_log(ctl->name, ced->public_key, log, G_N_ELEMENTS(log));
	cr_assert_geq(n, 3);
	cr_assert_eq(log[0].kind, FAKE_WG_REMOVE);
	cr_assert_eq(log[1].kind, FAKE_WG_ADD);
	cr_assert(same_endpoint(&log[1].endpoint, &fake_peer(ctl)->endpoint_set));
	cr_assert_neq(log[1].keepalive, 0);
	cr_assert_eq(log[1].n_allowed_ips, 1);
	cr_assert_eq(log[2].kind, FAKE_WG_UPDATE);
	cr_assert_eq(log[2].keepalive, 0);
	/* The controlled side only moves the endpoint: two crossing
	 * handshakes would stall. */
	n = fake_wg_log(ced->name, ctl->public_key, log, G_N_ELEMENTS(log));
	cr_assert_eq(n, 1);
	cr_assert_eq(log[0].kind, FAKE_WG_UPDATE);
	cr_assert_eq(log[0].set, WG_PEER_UPDATE_ONLY | WG_PEER_SET_ENDPOINT);
	cr_assert(same_endpoint(&log[0].endpoint, &fake_peer(ced)->endpoint_set));
}

/* WireGuard's datagrams go through both proxies and the ICE pair. */
Test(peer, datagrams_flow_both_ways)
{
	const uint8_t ping[] = "a datagram from WireGuard";
	uint8_t buf[64];
	union wg_sockaddr ep;
	ssize_t n = -1;

	connect_both();
	for (struct fake_node *x = &world.a; x; x = x == &world.a ? &world.b : NULL) {
		cr_assert(proxy_endpoint(x, &ep));
		fake_wg_send(x, &ep, ping, sizeof(ping));
		cr_assert(fake_wait_for((n = fake_wg_receive(x->other, buf, sizeof(buf))) >= 0, 2000),
			  "nothing reached %s", x->other->name);
		cr_assert_eq(n, sizeof(ping));
		cr_assert_arr_eq(buf, ping, sizeof(ping));
	}
}

/* --- 2. restarts and the session rule ------------------------------------- */

/* @n restarts (`wice restart`): it alone takes a new session; the other
 * side rebuilds its agent for it but keeps its own session. */
static void restart_from(struct fake_node *n)
{
	struct wice_peer *p = fake_peer(n), *q = fake_peer(n->other);
	uint64_t ours = p->session.id, theirs = q->session.id;
	unsigned restarts = p->restarts, other_restarts = q->restarts;
	unsigned rebuilt = fake_count_events(n->other, WICE_EVENT_PEER_STATE, NULL, "peer restarted ICE");

	/* make-before-break: connected all along, until the new session
	 * takes over (peer-handover.c) */
	peer_restart_now(p);
	cr_assert(peer_restart_pending(p) || p->state != PEER_CONNECTED);
	cr_assert(fake_wait_for(p->session.id != ours && !peer_restart_pending(p) && !peer_restart_pending(q) &&
					fake_world_connected(&world),
				CONNECT_MS),
		  "no reconnect after %s restarted", n->name);
	cr_assert_eq(p->restarts, restarts + 1);
	cr_assert_eq(q->session.id, theirs, "%s changed its session for the other's restart", n->other->name);
	cr_assert_eq(q->restarts, other_restarts);
	cr_assert_eq(q->remote_session, p->session.id);
	cr_assert_eq(fake_count_events(n->other, WICE_EVENT_PEER_STATE, NULL, "peer restarted ICE"), rebuilt + 1);
	cr_assert_geq(fake_count_events(n, WICE_EVENT_PEER_STATE, NULL, "requested by operator"), 1);
	cr_assert(fake_wait_for(wg_points_at_proxy(n) && wg_points_at_proxy(n->other), CONNECT_MS),
		  "WireGuard does not point at the new proxies");
}

Test(peer, restart_keeps_the_other_session)
{
	connect_both();
	restart_from(&world.a);
	restart_from(&world.b);
	restart_from(&world.a);
}

/* A connected pair stays (if its address went, WireGuard goes
 * unanswered).  A peer still looking starts over when an address its
 * agents gather on is gone, but not for a new address nor for a change of
 * routes alone: GLib reports every route the kernel adds, and an IPv6
 * address done with duplicate address detection, ~1 s after boot,
 * restarted both sides. */
Test(peer, network_change_restarts_only_for_lost_addresses)
{
	struct wice_peer *pa;
	uint64_t session;

	connect_both();
	pa = fake_peer(&world.a);
	session = pa->session.id;
	iface_on_network_changed(world.a.iface);
	fake_run(100);
	cr_assert_eq(pa->restarts, 0);
	cr_assert_eq(pa->session.id, session);
	cr_assert(fake_world_connected(&world));

	world.a.link.drop = world.b.link.drop = true;
	world.a.extra_address = INADDR_LOOPBACK + 1;
	peer_restart_now(pa);
	cr_assert_eq(pa->restarts, 1);
	session = pa->session.id;
	iface_on_network_changed(world.a.iface);
	cr_assert_eq(pa->restarts, 1, "restarted with every address still there");
	cr_assert_eq(pa->session.id, session);

	world.a.extra_address = 0;
	iface_on_network_changed(world.a.iface);
	cr_assert_eq(pa->restarts, 2, "no restart when an address went");
	cr_assert_neq(pa->session.id, session);

	session = pa->session.id;
	world.a.extra_address = INADDR_LOOPBACK + 2;
	iface_on_network_changed(world.a.iface);
	cr_assert_eq(pa->restarts, 2, "restarted for a new address");
	cr_assert_eq(pa->session.id, session);
	restore_signaling();
	cr_assert(fake_wait_for(fake_world_connected(&world), CONNECT_MS));
}

/* --- 3. a failed agent ---------------------------------------------------- */

/* A host candidate on 127.0.0.1:@port. */
static struct sig_candidate loopback_candidate(uint16_t port)
{
	struct sig_candidate c = {
		.foundation = "1",
		.component = 1,
		.transport = SIG_TRANSPORT_UDP,
		.type = SIG_CANDIDATE_HOST,
		.priority = 2130706431,
		.addr = { .family = AF_INET, .addr = { 127, 0, 0, 1 }, .port = port },
	};

	return c;
}

/* A message "from" @from's key with credentials nobody answers to and one
 * candidate where nobody answers, in a session older than @from's real
 * one (so that its real messages still count as newer). */
static void inject_dead_offer(struct fake_node *from, uint16_t dead_port)
{
	struct sig_session s = { .id = 0x5eed, .time = fake_peer(from)->session.time - 1 };
	struct sig_candidate c = loopback_candidate(dead_port);
	struct sig_msg msg;

	sig_msg_init(&msg);
	cr_assert_eq(sig_session_stamp(&s, &msg), 0);
	msg.has_offer = true;
	g_strlcpy(msg.offer.ufrag, "dead", sizeof(msg.offer.ufrag));
	g_strlcpy(msg.offer.pwd, "nobodyanswersthisone000", sizeof(msg.offer.pwd));
	cr_assert_eq(sig_msg_add_candidate(&msg, &c), 0);
	msg.end_of_candidates = true;
	fake_inject(from, &msg);
}

/* A's agent has only a candidate that never answers; signaling is down. */
static int start_towards_nothing(void)
{
	uint16_t dead_port;
	int dead = fake_udp_socket(&dead_port); /* bound, so nobody else gets the port */

	world.a.link.drop = world.b.link.drop = true;
	fake_world_start(&world);
	cr_assert(fake_wait_for(fake_peer(&world.a) && DIRECT(fake_peer(&world.a)).agent && fake_peer(&world.b), 2000));
	inject_dead_offer(&world.b, dead_port);
	cr_assert(fake_peer_in(&world.a, PEER_CONNECTING));
	return dead;
}

Test(peer, failed_checks_drop_the_agent_and_restart)
{
	int dead = start_towards_nothing();
	struct wice_peer *pa = fake_peer(&world.a);

	/* Five retransmissions and libnice's 5 s wait for late checks take
	 * 25 s; one retransmission (the minimum) and 100 ms take 850 ms. */
	g_object_set(DIRECT(pa).agent, "stun-max-retransmissions", 1u, "idle-timeout", 100u, NULL);
	cr_assert(fake_wait_for(pa->state == PEER_FAILED, 5000), "checks did not fail");
	cr_assert_str_eq(pa->state_reason, "checks failed");
	cr_assert_eq(fake_count_events(&world.a, WICE_EVENT_PEER_STATE, "failed", "checks failed"), 1);
	cr_assert(fake_wait_for(!DIRECT(pa).agent, 1000), "the failed agent lives on");
	cr_assert_not_null(pa->restart_timer);

	restore_signaling();
	cr_assert(fake_wait_for(fake_world_connected(&world), CONNECT_MS), "no reconnect after the failure");
	cr_assert_eq(fake_peer(&world.a), pa);
	close(dead);
}

Test(peer, timed_out_checks_restart)
{
	int dead = start_towards_nothing();
	struct wice_peer *pa = fake_peer(&world.a);

	pa->connecting_since_us -= 31 * G_USEC_PER_SEC;
	sync_and_wait(&world.a);
	cr_assert(fake_wait_for(pa->state == PEER_FAILED, 3000), "checks did not time out");
	cr_assert_str_eq(pa->state_reason, "checks timed out");
	cr_assert_not_null(pa->restart_timer);

	restore_signaling();
	cr_assert(fake_wait_for(fake_world_connected(&world), CONNECT_MS), "no reconnect after the timeout");
	close(dead);
}

/* Checks time out while the agent keeps trying; when it then succeeds
 * after all, the restart that was waiting must not tear the working path
 * down.  The controlled side's checks succeed at once (the other agent
 * answers before it has our credentials) but it waits for the other
 * side's nomination, which needs our offer: we hold that back. */
Test(peer, late_success_after_timeout_cancels_the_restart)
{
	struct fake_node *ctl = fake_controlling(&world), *ced = ctl->other;
	struct wice_peer *p;

	ced->link.hold = true;
	fake_world_start(&world);
	cr_assert(fake_wait_for(fake_peer_in(ced, PEER_CONNECTING), 2000));
	p = fake_peer(ced);
	p->failures = 3; /* a restart 4-8 s away: no race with the success */
	p->connecting_since_us -= 31 * G_USEC_PER_SEC;
	sync_and_wait(ced);
	cr_assert(fake_wait_for(p->state == PEER_FAILED, 3000), "checks did not time out");
	cr_assert_not_null(p->restart_timer);

	fake_release(ced);
	cr_assert(fake_wait_for(fake_world_connected(&world), CONNECT_MS), "no late success");
	cr_assert_null(p->restart_timer, "a connected peer still has a restart coming");
	fake_run(200);
	cr_assert_eq(p->restarts, 0);
	cr_assert(fake_peer_in(ced, PEER_CONNECTED));
}

/* --- 4. the controlled side's handshake ------------------------------------ */

static void wg_initiation(uint8_t buf[148])
{
	randombytes_buf(buf, 148);
	buf[0] = 1;
	buf[1] = buf[2] = buf[3] = 0;
}

/* The peer of @n gets (re)started with signaling down, and the other
 * side's first handshake reaches its agent before its path exists. */
static void lose_initiation_at(struct fake_node *n, bool restart)
{
	uint8_t init[148];

	world.a.link.drop = world.b.link.drop = true;
	if (restart)
		peer_restart_now(fake_peer(n));
	else
		fake_world_start(&world);
	cr_assert(fake_wait_for(fake_peer(n) &&
					(fake_peer_in(n, PEER_GATHERING) || peer_restart_pending(fake_peer(n))) &&
					DIRECT(fake_peer(n)).agent,
				2000));
	wg_initiation(init);
	for (int i = 0; i < 3; i++)
		peer_path_deliver(fake_peer(n), &DIRECT(fake_peer(n)), init, sizeof(init));
	restore_signaling();
}

Test(peer, controlled_side_handshakes_after_lost_initiation)
{
	struct fake_node *ctl = fake_controlling(&world), *ced = ctl->other;
	struct fake_wg_op log[8];
	union wg_sockaddr ep;
	uint8_t init[148], buf[256];
	ssize_t n = -1;

	lose_initiation_at(ced, false);
	cr_assert_eq(fake_wg_log(ced->name, ctl->public_key, log, 0), 0, "WireGuard touched before the path");
	cr_assert(fake_wait_for(fake_world_connected(&world), CONNECT_MS));
	cr_assert_not(fake_peer(ced)->controlling);

	/* The endpoint first, then the handshake: remove and add with a
	 * temporary keepalive, then the operator's keepalive back. */
	cr_assert(fake_wait_for(fake_wg_count(ced->name, ctl->public_key, FAKE_WG_REMOVE) == 1, 2000),
		  "the controlled side did not handshake");
	cr_assert(fake_wait_for(fake_wg_log(ced->name, ctl->public_key, log, G_N_ELEMENTS(log)) >= 4, 2000));
	cr_assert(proxy_endpoint(ced, &ep));
	cr_assert_eq(log[0].kind, FAKE_WG_UPDATE);
	cr_assert(same_endpoint(&log[0].endpoint, &ep));
	cr_assert_eq(log[1].kind, FAKE_WG_REMOVE);
	cr_assert_eq(log[2].kind, FAKE_WG_ADD);
	cr_assert(same_endpoint(&log[2].endpoint, &ep));
	cr_assert_neq(log[2].keepalive, 0);
	cr_assert_eq(log[2].n_allowed_ips, 1);
	cr_assert_eq(log[3].kind, FAKE_WG_UPDATE);
	cr_assert_eq(log[3].keepalive, 0);

	/* Once per selected pair: the controlled side has no retry timer,
	 * and an initiation now goes to WireGuard through the proxy. */
	fake_run(600);
	wg_initiation(init);
	peer_path_deliver(fake_peer(ced), fake_peer(ced)->path_agent, init, sizeof(init));
	cr_assert(fake_wait_for((n = fake_wg_receive(ced, buf, sizeof(buf))) >= 0, 2000));
	cr_assert_eq(n, sizeof(init));
	cr_assert_arr_eq(buf, init, sizeof(init));
	fake_run(300);
	cr_assert_eq(fake_wg_count(ced->name, ctl->public_key, FAKE_WG_REMOVE), 1);

	/* A new pair without a lost initiation: no handshake from here. */
	restart_from(ced);
	fake_run(300);
	cr_assert_eq(fake_wg_count(ced->name, ctl->public_key, FAKE_WG_REMOVE), 1);

	/* A restart keeps the old path (peer-handover.c): an initiation
	 * meanwhile reaches WireGuard over it, and needs no handshake from
	 * here. */
	lose_initiation_at(ced, true);
	cr_assert(fake_wait_for(fake_world_connected(&world) && !peer_restart_pending(fake_peer(ced)), CONNECT_MS));
	fake_run(300);
	cr_assert_eq(fake_wg_count(ced->name, ctl->public_key, FAKE_WG_REMOVE), 1);
}

/* The controlling side never takes this path: it kicks on its own. */
Test(peer, controlling_side_ignores_initiations_in_the_agent)
{
	struct fake_node *ctl = fake_controlling(&world), *ced = ctl->other;

	lose_initiation_at(ctl, false);
	cr_assert(fake_wait_for(fake_world_connected(&world), CONNECT_MS));
	cr_assert_not(fake_peer(ctl)->lost_initiation);
	cr_assert_eq(fake_wg_count(ced->name, ctl->public_key, FAKE_WG_REMOVE), 0);
}

/* --- 5. WireGuard unanswered ------------------------------------------------ */

/* WireGuard handshook on both sides: the controlling side stops kicking.
 * A kick that was under way when the handshake came re-adds the peer,
 * which forgets the handshake (as WireGuard does): handshake again. */
static void settle(void)
{
	struct fake_node *ctl = fake_controlling(&world);
	struct wg_peer wgp;

	for (int tries = 0; tries < 3; tries++) {
		gint64 now = g_get_real_time() / G_USEC_PER_SEC;

		fake_wg_set_handshake(world.a.name, world.b.public_key, now);
		fake_wg_set_handshake(world.b.name, world.a.public_key, now);
		cr_assert(fake_wait_for(!fake_peer(ctl)->kick_timer, 5000), "still kicking after a handshake");
		fake_run(50);
		if (fake_wg_get_peer(ctl->name, ctl->other->public_key, &wgp) && wgp.last_handshake_sec)
			return;
	}
	cr_assert_fail("kicks keep undoing the handshake");
}

/* Adds traffic to A's WireGuard and waits until A's peer has seen it. */
static void traffic(uint64_t tx, uint64_t rx)
{
	struct wice_peer *pa = fake_peer(&world.a);
	struct wg_peer wgp;

	fake_wg_add_traffic(world.a.name, world.b.public_key, tx, rx);
	cr_assert(fake_wg_get_peer(world.a.name, world.b.public_key, &wgp));
	sync_and_wait(&world.a);
	cr_assert(fake_wait_for(pa->tx_bytes == wgp.tx_bytes && pa->rx_bytes == wgp.rx_bytes, 3000),
		  "no sync saw the traffic");
}

Test(peer, unanswered_wireguard_restarts_ice)
{
	struct wice_peer *pa;
	uint64_t session;

	connect_both();
	settle();
	pa = fake_peer(&world.a);
	session = pa->session.id;

	/* A keepalive alone is not sending: nobody answers those. */
	traffic(32, 0);
	cr_assert_eq(pa->unanswered_since_us, 0);
	traffic(33, 0);
	cr_assert_neq(pa->unanswered_since_us, 0);
	/* An answer clears it. */
	traffic(0, 100);
	cr_assert_eq(pa->unanswered_since_us, 0);

	/* 15 s of sending and nothing back. */
	traffic(1000, 0);
	cr_assert_neq(pa->unanswered_since_us, 0);
	cr_assert_eq(pa->restarts, 0);
	pa->unanswered_since_us -= 16 * G_USEC_PER_SEC;
	sync_and_wait(&world.a);
	cr_assert(fake_wait_for(pa->restarts == 1, 3000), "no restart");
	cr_assert_eq(pa->silent_restarts, 1);
	cr_assert_neq(pa->session.id, session);
	cr_assert_eq(fake_count_events(&world.a, WICE_EVENT_PEER_STATE, "gathering", "WireGuard unanswered"), 1);
	cr_assert(fake_wait_for(fake_world_connected(&world), CONNECT_MS), "no reconnect");
	cr_assert(fake_wait_for(wg_points_at_proxy(&world.a) && wg_points_at_proxy(&world.b), CONNECT_MS));
}

/* --- 6. removing a peer ------------------------------------------------------ */

static void remove_b_from_a(void)
{
	struct wice_peer *pb = fake_peer(&world.b);

	fake_wg_remove_peer(world.a.name, world.b.public_key);
	sync_and_wait(&world.a);
	cr_assert(fake_wait_for(!fake_peer(&world.a), 3000), "the peer outlived its removal");
	cr_assert_eq(fake_count_events(&world.a, WICE_EVENT_PEER_REMOVED, NULL, "removed from WireGuard"), 1);
	cr_assert_eq(world.a.goodbyes_sent, 1);
	cr_assert_eq(world.a.subscriptions, 0);
	cr_assert(fake_wait_for(pb->state == PEER_CLOSED, 3000), "the other side did not close");
	cr_assert_str_eq(pb->state_reason, "peer said goodbye");
	cr_assert_null(DIRECT(pb).agent);
	/* Nothing of ours brings the removed peer back. */
	fake_run(300);
	cr_assert_not(fake_wg_get_peer(world.a.name, world.b.public_key, &(struct wg_peer){ 0 }));
}

Test(peer, removed_while_connecting)
{
	world.b.link.drop = true; /* A never hears from B: it keeps gathering */
	fake_world_start(&world);
	cr_assert(fake_wait_for(fake_peer_in(&world.b, PEER_CONNECTING) || fake_peer_in(&world.b, PEER_CONNECTED),
				CONNECT_MS));
	cr_assert(fake_peer_in(&world.a, PEER_GATHERING));
	remove_b_from_a();
	cr_assert_eq(fake_wg_log(world.a.name, world.b.public_key, NULL, 0), 0);
}

Test(peer, removed_while_connected_then_added_again)
{
	connect_both();
	remove_b_from_a();

	/* The operator adds it back: a new session wakes the closed side. */
	fake_wg_add_peer(world.a.name, world.b.public_key, "10.0.0.2/32");
	sync_and_wait(&world.a);
	cr_assert(fake_wait_for(fake_world_connected(&world), CONNECT_MS), "no reconnect after re-adding");
	cr_assert_eq(world.a.subscriptions, 1);
}

/* On exit WireGuard's endpoints go back to what they were before wice:
 * the operator's endpoint, or none (the peer re-added without one). */
Test(peer, exit_puts_endpoints_back)
{
	union wg_sockaddr original;
	struct wg_peer wgp;

	fake_wg_set_endpoint(world.a.name, world.b.public_key, "192.0.2.1:51820");
	cr_assert(wg_endpoint_parse("192.0.2.1:51820", &original));
	connect_both();

	g_clear_pointer(&world.a.iface, iface_free);
	cr_assert(fake_wait_for(fake_wg_get_peer(world.a.name, world.b.public_key, &wgp) &&
					same_endpoint(&wgp.endpoint, &original),
				2000),
		  "the operator's endpoint was not put back");
	cr_assert_eq(wgp.n_allowed_ips, 1);
	cr_assert_eq(wgp.persistent_keepalive, 0);
	cr_assert_eq(world.a.goodbyes_sent, 1);
	cr_assert(fake_wait_for(fake_peer_in(&world.b, PEER_CLOSED), 2000));

	g_clear_pointer(&world.b.iface, iface_free);
	cr_assert(fake_wait_for(fake_wg_get_peer(world.b.name, world.a.public_key, &wgp) &&
					wgp.endpoint.sa.sa_family == AF_UNSPEC,
				2000),
		  "the proxy endpoint outlived the daemon");
	cr_assert_eq(wgp.n_allowed_ips, 1);
	cr_assert_eq(wgp.persistent_keepalive, 0);
	cr_assert_eq(world.b.subscriptions, 0);
}

/* A new interface key changes every pair: the peers start over under the
 * new key, after a goodbye under the old one. */
Test(peer, key_change_starts_the_peers_over)
{
	struct wg_device change = { .set = WG_DEVICE_SET_PRIVATE_KEY };
	struct wice_peer *pa;

	connect_both();
	wg_key_generate_private(change.private_key);
	cr_assert_eq(fake_wg_ops.set(world.a.name, &change), 0);
	sync_and_wait(&world.a);
	cr_assert(fake_wait_for(fake_count_events(&world.a, WICE_EVENT_PEER_REMOVED, NULL, "interface key changed") == 1,
				2000));
	cr_assert(fake_wait_for((pa = fake_peer(&world.a)) && pa->state == PEER_GATHERING, 2000));
	cr_assert_eq(fake_count_events(&world.a, WICE_EVENT_PEER_ADDED, NULL, NULL), 2);
	cr_assert_eq(world.a.subscriptions, 1);
	cr_assert_eq(world.a.goodbyes_sent, 1);
	cr_assert(fake_wait_for(fake_peer_in(&world.b, PEER_CLOSED), 2000));
	/* B does not know the new key: it stays closed. */
	fake_run(300);
	cr_assert(fake_peer_in(&world.b, PEER_CLOSED));
}

/* A message "from" @from's current session, @ahead counters past the last
 * one it sent: an offer, or a goodbye. */
static void inject_in_session(struct fake_node *from, uint32_t ahead, bool goodbye)
{
	struct wice_peer *p = fake_peer(from);
	struct sig_msg msg;

	sig_msg_init(&msg);
	msg.session_id = p->session.id;
	msg.session_time = p->session.time;
	msg.counter = p->session.next_counter + ahead;
	msg.goodbye = goodbye;
	if (!goodbye) {
		msg.has_offer = true;
		g_strlcpy(msg.offer.ufrag, "ufrg", sizeof(msg.offer.ufrag));
		g_strlcpy(msg.offer.pwd, "0123456789abcdefghijkl", sizeof(msg.offer.pwd));
	}
	fake_inject(from, &msg);
}

/* A goodbye closes the peer until a message of a newer session: an older
 * message of the closed session that comes late (over another backend, or
 * overtaken) does not start it again. */
Test(peer, goodbye_holds_until_a_newer_session)
{
	connect_both();
	inject_in_session(&world.a, 1, true);
	cr_assert(fake_peer_in(&world.b, PEER_CLOSED));
	inject_in_session(&world.a, 0, false);
	fake_run(200);
	cr_assert(fake_peer_in(&world.b, PEER_CLOSED), "an old message revived a closed peer");
	cr_assert_null(DIRECT(fake_peer(&world.b)).agent);

	peer_restart_now(fake_peer(&world.a));
	cr_assert(fake_wait_for(fake_world_connected(&world), CONNECT_MS), "a new session did not wake it");
}

/* A candidate of @from's session, answering @answers of the recipient,
 * on 127.0.0.1:@port, handed over at once. */
static void inject_answer(struct fake_node *from, uint64_t answers, uint32_t ahead, uint16_t port)
{
	struct wice_peer *p = fake_peer(from);
	struct sig_candidate c = loopback_candidate(port);
	struct sig_msg msg;

	sig_msg_init(&msg);
	msg.session_id = p->session.id;
	msg.session_time = p->session.time;
	msg.counter = p->session.next_counter + ahead;
	msg.answers = answers;
	cr_assert_eq(sig_msg_add_candidate(&msg, &c), 0);
	fake_inject(from, &msg);
}

/* Whether @peer holds a remote candidate on @port (pending or in ICE). */
static bool has_remote_port(struct wice_peer *peer, uint16_t port)
{
	struct peer_agent *pa = &DIRECT(peer);
	GSList *list = pa->agent ? nice_agent_get_remote_candidates(pa->agent, pa->stream, 1) : NULL;
	bool found = false;

	for (size_t i = 0; i < peer->n_pending; i++)
		found |= nice_address_get_port(&peer->pending[i]->addr) == port;
	for (GSList *l = list; l; l = l->next)
		found |= nice_address_get_port(&((NiceCandidate *)l->data)->addr) == port;
	g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
	return found;
}

/* The other side keeps its session when it rebuilds its agent for our
 * restart, so its messages alone do not say which of our agents they were
 * for: ANSWERS does.  One sent before it saw our restart (for our old
 * session) is dropped whole; one for our current session is taken. */
Test(peer, messages_for_our_previous_session_are_dropped)
{
	struct wice_peer *pa;
	uint64_t old_session;

	connect_both();
	pa = fake_peer(&world.a);
	old_session = pa->session.id;
	world.b.link.hold = true;
	peer_restart_now(pa);
	cr_assert_neq(pa->session.id, old_session);
	inject_answer(&world.b, old_session, 10, 9);
	cr_assert(!has_remote_port(pa, 9), "a candidate for our previous session was taken");
	inject_answer(&world.b, pa->session.id, 11, 10);
	cr_assert(has_remote_port(pa, 10), "a candidate for our current session was dropped");
	fake_release(&world.b);
	cr_assert(fake_wait_for(fake_world_connected(&world), CONNECT_MS), "no reconnect after the restart");
}

/* A restart while still gathering is a new start all the same: monitors
 * hear of it, with its reason, and the connect timeout starts over. */
Test(peer, restart_while_gathering_is_reported)
{
	struct wice_peer *pa;
	gint64 since;

	world.a.link.drop = world.b.link.drop = true;
	fake_world_start(&world);
	cr_assert(fake_wait_for(fake_peer(&world.a) && DIRECT(fake_peer(&world.a)).agent, 2000));
	pa = fake_peer(&world.a);
	cr_assert(fake_peer_in(&world.a, PEER_GATHERING));
	since = pa->connecting_since_us;
	fake_run(20);
	peer_restart_now(pa);
	cr_assert_eq(fake_count_events(&world.a, WICE_EVENT_PEER_STATE, "gathering", "requested by operator"), 1,
		     "the restart was not reported");
	cr_assert_str_eq(pa->state_reason, "restarting ICE: requested by operator");
	cr_assert_gt(pa->connecting_since_us, since, "the connect timeout did not start over");
}

/* --- 7. signaling that misbehaves -------------------------------------------- */

Test(peer, duplicated_and_reordered_messages_connect)
{
	world.a.link.duplicate = world.b.link.duplicate = true;
	world.a.link.jitter_ms = world.b.link.jitter_ms = 40;
	connect_both();
	cr_assert(fake_wait_for(world.in_flight->len == 0, 1000));
	cr_assert_eq(world.a.link.delivered, 2 * world.a.link.sent);
	cr_assert_eq(world.b.link.delivered, 2 * world.b.link.sent);
	/* A copy of an offer is not a new session. */
	cr_assert_eq(fake_peer(&world.a)->restarts + fake_peer(&world.b)->restarts, 0);
	cr_assert_eq(fake_count_events(&world.a, WICE_EVENT_PEER_STATE, NULL, "peer restarted ICE"), 0);
	cr_assert_eq(fake_count_events(&world.b, WICE_EVENT_PEER_STATE, NULL, "peer restarted ICE"), 0);
}

Test(peer, slow_signaling_connects)
{
	world.a.link.delay_ms = world.b.link.delay_ms = 300;
	connect_both();
}

/* The node gathered and sent what it has. */
static bool sent_first_burst(const struct fake_node *n)
{
	struct wice_peer *p = fake_peer(n);

	return p && DIRECT(p).gathering_done && !p->send_timer && n->link.sent;
}

/* Our whole state goes in one message per burst: the offer, every
 * candidate gathered and the end of them (host candidates and the end of
 * gathering come together). */
Test(peer, one_message_per_burst)
{
	world.a.link.hold = world.b.link.hold = true;
	fake_world_start(&world);
	for (struct fake_node *x = &world.a; x; x = x == &world.a ? &world.b : NULL) {
		struct wice_peer *p;
		struct sig_msg msg;
		size_t len;
		const uint8_t *data;

		cr_assert(fake_wait_for(sent_first_burst(x), 2000));
		p = fake_peer(x);
		cr_assert_eq(x->link.held->len, 1, "%s sent its state in %u messages", x->name, x->link.held->len);
		data = g_bytes_get_data(g_ptr_array_index(x->link.held, 0), &len);
		cr_assert(fake_open(x, data, len, &msg));
		cr_assert(msg.has_offer && msg.offer.please_answer);
		cr_assert_eq(msg.n_candidates, p->n_local);
		cr_assert(msg.end_of_candidates);
		sig_msg_wipe(&msg);
	}
	fake_release(&world.a);
	fake_release(&world.b);
	cr_assert(fake_wait_for(fake_world_connected(&world), CONNECT_MS));
}

/* The first burst each way is lost: the resend brings them together. */
Test(peer, lost_first_messages_are_resent)
{
	world.a.link.drop = world.b.link.drop = true;
	fake_world_start(&world);
	cr_assert(fake_wait_for(sent_first_burst(&world.a) && sent_first_burst(&world.b), 2000));
	world.a.link.drop = world.b.link.drop = false;
	cr_assert(fake_wait_for(fake_world_connected(&world), CONNECT_MS), "no resend");
	cr_assert_geq(world.a.offers_sent + world.b.offers_sent, 3);
}

static void seal_offer(const struct sig_identity *from, const struct sig_pair *pair, uint8_t *buf, size_t size,
		       size_t *ret_len)
{
	struct sig_session s = { 0 };
	struct sig_msg msg;

	sig_session_start(&s, (uint64_t)(g_get_real_time() / 1000));
	sig_msg_init(&msg);
	cr_assert_eq(sig_session_stamp(&s, &msg), 0);
	msg.has_offer = true;
	msg.offer.please_answer = true;
	g_strlcpy(msg.offer.ufrag, "ufrg", sizeof(msg.offer.ufrag));
	g_strlcpy(msg.offer.pwd, "0123456789abcdefghijkl", sizeof(msg.offer.pwd));
	cr_assert_eq(sig_envelope_seal_msg(from, pair, &msg, buf, size, ret_len), 0);
}

/* What A's side of things looks like to a user and to B. */
struct snapshot {
	guint events, peers;
	enum peer_state state;
	uint64_t session, remote_session;
	unsigned sent;
};

static void take_snapshot(struct snapshot *s)
{
	struct wice_peer *pa = fake_peer(&world.a);

	*s = (struct snapshot){ world.a.events->len, g_hash_table_size(world.a.iface->peers), pa->state,
				pa->session.id, pa->remote_session, world.a.link.sent };
}

static void assert_unchanged(const struct snapshot *before)
{
	struct snapshot now;

	fake_run(300);
	take_snapshot(&now);
	cr_assert_eq(now.events, before->events);
	cr_assert_eq(now.peers, before->peers);
	cr_assert_eq(now.state, before->state);
	cr_assert_eq(now.session, before->session);
	cr_assert_eq(now.remote_session, before->remote_session);
	cr_assert_eq(now.sent, before->sent, "answered a message it should have dropped");
}

Test(peer, messages_from_unknown_keys_and_tampered_ones_are_dropped)
{
	uint8_t key[WG_KEY_LEN], buf[SIG_ENVELOPE_MAX];
	struct sig_identity stranger;
	struct sig_pair to_a;
	struct snapshot before;
	size_t len;

	connect_both();
	settle();
	take_snapshot(&before);

	wg_key_generate_private(key);
	cr_assert_eq(sig_identity_init(&stranger, key), 0);
	cr_assert_eq(sig_pair_init(&to_a, &stranger, world.a.public_key), 0);
	seal_offer(&stranger, &to_a, buf, sizeof(buf), &len);
	iface_receive_envelope(world.a.iface, buf, len, NULL);
	assert_unchanged(&before);

	/* B's key, a newer session, one bit flipped in the ciphertext. */
	seal_offer(&world.b.identity, &world.b.pair, buf, sizeof(buf), &len);
	buf[len - 1] ^= 1;
	iface_receive_envelope(world.a.iface, buf, len, NULL);
	assert_unchanged(&before);

	/* The same message intact is taken: the peer restarted. */
	buf[len - 1] ^= 1;
	iface_receive_envelope(world.a.iface, buf, len, NULL);
	cr_assert(fake_wait_for(fake_count_events(&world.a, WICE_EVENT_PEER_STATE, NULL, "peer restarted ICE") == 1,
				1000));
	sig_pair_wipe(&to_a);
	sig_identity_wipe(&stranger);
}

/* The candidate of @p's local ones that is an [ice] advertise address. */
static const NiceCandidate *advertised(const struct wice_peer *p, const NiceCandidate **ret_host)
{
	const NiceCandidate *adv = NULL;

	*ret_host = NULL;
	for (size_t i = 0; i < p->n_local; i++) {
		const NiceCandidate *c = p->local[i];

		if (c->type == NICE_CANDIDATE_TYPE_HOST)
			*ret_host = c;
		if (c->type == NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE && g_str_has_prefix(c->foundation, "adv"))
			adv = c;
	}
	return adv;
}

static bool has_remote_address(const struct wice_peer *p, const char *addr)
{
	GSList *list = nice_agent_get_remote_candidates(DIRECT(p).agent, DIRECT(p).stream, 1);
	bool found = false;

	for (GSList *l = list; l && !found; l = l->next) {
		char text[NICE_ADDRESS_STRING_LEN];

		nice_address_to_string(&((NiceCandidate *)l->data)->addr, text);
		found = strcmp(text, addr) == 0 && ((NiceCandidate *)l->data)->type == NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE;
	}
	g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
	return found;
}

/* [ice] advertise: a bare address goes out as a server reflexive
 * candidate at the host candidate's port, based on it, and the other side
 * takes it; the pair on loopback stays host-host. */
Test(peer, advertised_address_is_a_server_reflexive_candidate)
{
	struct wice_iface_settings *s = &world.a.config->defaults;
	const NiceCandidate *host, *adv;
	char addr[NICE_ADDRESS_STRING_LEN];

	s->advertise[0] = (struct wice_advertised){ .family = AF_INET, .addr = { 198, 51, 100, 7 } };
	s->n_advertise = 1;
	connect_both();
	adv = advertised(fake_peer(&world.a), &host);
	cr_assert_not_null(adv, "no advertised candidate");
	cr_assert_not_null(host);
	nice_address_to_string(&adv->addr, addr);
	cr_assert_str_eq(addr, "198.51.100.7");
	cr_assert_eq(nice_address_get_port(&adv->addr), nice_address_get_port(&host->addr));
	cr_assert(nice_address_equal(&adv->base_addr, &host->addr));
	cr_assert_eq(adv->priority >> 24, 100, "not a server reflexive priority: %u", adv->priority);
	cr_assert(fake_wait_for(has_remote_address(fake_peer(&world.b), "198.51.100.7"), CONNECT_MS),
		  "b did not get the advertised candidate");
	cr_assert_null(advertised(fake_peer(&world.b), &host), "b advertises nothing");
	cr_assert_not(fake_peer(&world.a)->selected.local_advertised);
	cr_assert_not(fake_peer(&world.b)->selected.remote_advertised);
}

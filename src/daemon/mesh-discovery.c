/* Finding members: announcements on the LAN (a multicast group and port
 * derived from the secret), on the signal server (the hour's rendezvous
 * mailbox and each member's inbox), and the frames that come back from
 * all of them.  Everything per keyset: during a rotation's grace period
 * we speak under both secrets. */
#include "config.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <string.h>

#include "mesh-internal.h"
#include "util/backoff.h"
#include "util/source-util.h"
#include "wg/wg.h"

/* Quick announcements after start (ms from start), then one per
 * MESH_ANNOUNCE_INTERVAL_MS: multicast has no retransmission. */
static const unsigned lan_burst_ms[] = { 0, 300, 1000, 3000 };
/* A member we answered gets no second answer this soon. */
#define REPLY_INTERVAL_US (2 * G_USEC_PER_SEC)
#define EXPIRE_INTERVAL_MS 10000
/* A server that came up is read within this long (jittered, see
 * mesh_on_backend). */
#define RENDEZVOUS_AFTER_UP_MS 2000

static uint64_t unix_now(void)
{
	return (uint64_t)(g_get_real_time() / G_USEC_PER_SEC);
}

static void add_endpoint(struct mesh_announce *a, const struct sockaddr_storage *ss, uint16_t port)
{
	struct sig_addr *e = &a->endpoints[a->n_endpoints];

	memset(e, 0, sizeof(*e));
	if (ss->ss_family == AF_INET) {
		e->family = AF_INET;
		memcpy(e->addr, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6 &&
		   !IN6_IS_ADDR_LINKLOCAL(&((const struct sockaddr_in6 *)ss)->sin6_addr)) {
		e->family = AF_INET6;
		memcpy(e->addr, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	} else {
		return;
	}
	e->port = port;
	a->n_endpoints++;
}

/* Gossip and answers go out several times a second while a mesh forms:
 * they reuse one signed announcement this long (members still hear a
 * fresh one from the periodic announcements). */
#define OWN_REUSE_US (10 * G_USEC_PER_SEC)

static bool sign_own_now(struct wice_mesh *m, struct mesh_keyset *ks, uint8_t flags, uint8_t *buf, size_t *ret_len);

bool mesh_sign_own(struct wice_mesh *m, struct mesh_keyset *ks, uint8_t flags, uint8_t *buf, size_t *ret_len)
{
	gint64 now = g_get_monotonic_time();

	if (flags)
		return sign_own_now(m, ks, flags, buf, ret_len);
	if (!ks->own_len || now - ks->own_signed_us >= OWN_REUSE_US ||
	    ks->counter4 != ks->own_ann[1 + 32 + 8 + 1]) {
		if (!sign_own_now(m, ks, 0, ks->own_ann, &ks->own_len))
			return false;
		ks->own_signed_us = now;
	}
	memcpy(buf, ks->own_ann, ks->own_len);
	*ret_len = ks->own_len;
	return true;
}

static bool sign_own_now(struct wice_mesh *m, struct mesh_keyset *ks, uint8_t flags, uint8_t *buf, size_t *ret_len)
{
	g_autoptr(GArray) addrs = g_array_new(FALSE, TRUE, sizeof(struct sockaddr_storage));
	struct mesh_announce a = { .timestamp = unix_now(), .flags = flags, .addr_counter = ks->counter4 };

	memcpy(a.sign_pk, m->hostkey.sign_pk, 32);
	g_strlcpy(a.hostname, m->hostname, sizeof(a.hostname));
	a.n_routes = (uint8_t)m->n_routes;
	memcpy(a.routes, m->routes, m->n_routes * sizeof(m->routes[0]));
	m->host.ops->local_addresses(m->host.data, addrs);
	for (guint i = 0; i < addrs->len && a.n_endpoints < MESH_MAX_ENDPOINTS; i++)
		add_endpoint(&a, &g_array_index(addrs, struct sockaddr_storage, i), m->listen_port);
	return mesh_announce_sign(&ks->keys, &m->hostkey, &a, buf, MESH_ANNOUNCE_MAX, ret_len) == 0;
}

bool mesh_seal(struct mesh_keyset *ks, uint8_t type, const uint8_t *plain, size_t len, uint8_t *frame,
	       size_t *ret_len)
{
	return mesh_frame_seal(&ks->keys, type, plain, len, frame, MESH_FRAME_MAX, ret_len) == 0;
}

/* Our announcement as a frame. */
static bool own_frame(struct wice_mesh *m, struct mesh_keyset *ks, uint8_t flags, uint8_t frame[MESH_FRAME_MAX],
		      size_t *ret_len)
{
	uint8_t ann[MESH_ANNOUNCE_MAX];
	size_t len;

	return mesh_sign_own(m, ks, flags, ann, &len) && mesh_seal(ks, MESH_FRAME_ANNOUNCE, ann, len, frame, ret_len);
}

static void current_rendezvous(struct mesh_keyset *ks)
{
	uint64_t hour = unix_now() / 3600;

	mesh_rendezvous_mailbox(&ks->keys, hour, ks->rendezvous[0].id, ks->rendezvous[0].secret);
	mesh_rendezvous_mailbox(&ks->keys, hour - 1, ks->rendezvous[1].id, ks->rendezvous[1].secret);
}

static void post_to_inbox(struct wice_mesh *m, struct mesh_keyset *ks, const uint8_t wg_public[32],
			  const uint8_t *frame, size_t len)
{
	uint8_t id[RELAY_ID_LEN], secret[RELAY_SECRET_KEY_LEN];

	mesh_inbox_mailbox(&ks->keys, wg_public, id, secret);
	sodium_memzero(secret, sizeof(secret));
	m->host.ops->publish(m->host.data, id, frame, len, NULL);
}

/* On the LAN, and with @to_server in the signal server's rendezvous: the
 * server keeps a mailbox's last 64 messages (its --max-queue), so each
 * member posts there once when a server comes up and then every
 * MESH_ANNOUNCE_INTERVAL_MS, not with every announcement of the LAN burst:
 * 50 members starting together, four posts each, pushed the first ones'
 * out, and members that started last found them only by gossip, 20 s
 * later. */
static void announce_under(struct wice_mesh *m, struct mesh_keyset *ks, uint8_t flags, bool to_server)
{
	uint8_t frame[MESH_FRAME_MAX];
	size_t len;
	GHashTableIter it;
	gpointer value;

	if (!own_frame(m, ks, flags, frame, &len))
		return;
	for (guint i = 0; ks->lan && i < ks->lan->len; i++)
		sig_backend_publish(g_ptr_array_index(ks->lan, i), ks->rendezvous[0].id, frame, len, NULL);
	current_rendezvous(ks);
	if (to_server)
		m->host.ops->publish(m->host.data, ks->rendezvous[0].id, frame, len, NULL);
	if (!(flags & MESH_ANNOUNCE_LEAVING))
		return;
	/* Leaving: every member hears it at once, in its inbox and through
	 * the tunnel. */
	g_hash_table_iter_init(&it, m->members);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct mesh_member *mm = value;

		if (mm->ks != ks)
			continue;
		post_to_inbox(m, ks, mm->wg_public, frame, len);
		mesh_gossip_send_frame(m, mm, frame, len);
	}
}

void mesh_announce_now(struct wice_mesh *m, uint8_t flags, bool to_server)
{
	struct mesh_keyset *kss[2];

	for (unsigned i = 0; i < mesh_keysets(m, kss); i++)
		announce_under(m, kss[i], flags, to_server);
}

/* A new member learns of us at once: on the LAN straight back to the
 * daemon that announced, on the server in its inbox. */
static void reply(struct wice_mesh *m, struct mesh_member *mm, struct sig_backend *lan, const struct sig_route *from)
{
	gint64 now = g_get_monotonic_time();
	uint8_t frame[MESH_FRAME_MAX];
	size_t len;

	if (mm->replied_us && now - mm->replied_us < REPLY_INTERVAL_US)
		return;
	if (!own_frame(m, mm->ks, 0, frame, &len))
		return;
	mm->replied_us = now;
	if (lan)
		sig_backend_publish(lan, mm->ks->rendezvous[0].id, frame, len, from);
	else
		post_to_inbox(m, mm->ks, mm->wg_public, frame, len);
	mesh_rotate_tell(m, mm);
}

static void handle_gossip(struct wice_mesh *m, struct mesh_keyset *ks, const uint8_t *list, size_t len)
{
	const uint8_t *ann;
	size_t off = 0, ann_len;
	bool is_new;

	/* A malformed list is dropped whole, but what came before the fault
	 * was checked one by one and may stay. */
	while (mesh_gossip_next(list, len, &off, &ann, &ann_len) == 1)
		mesh_members_accept(m, ks, ann, ann_len, MESH_SOURCE_GOSSIP, &is_new);
}

static void handle_plain(struct wice_mesh *m, struct mesh_keyset *ks, uint8_t type, const uint8_t *plain,
			 size_t len, enum mesh_source source, struct sig_backend *lan, const struct sig_route *from)
{
	struct mesh_member *mm;
	bool is_new;

	switch (type) {
	case MESH_FRAME_GOSSIP:
		handle_gossip(m, ks, plain, len);
		break;
	case MESH_FRAME_ROTATE:
		mesh_rotate_receive(m, plain, len);
		break;
	case MESH_FRAME_ANNOUNCE:
		/* A member we did not know, or one that just started (and so
		 * may not know us), hears from us at once; nobody else, or
		 * every announcement on a LAN would set off answers that
		 * answer answers. */
		mm = mesh_members_accept(m, ks, plain, len, source, &is_new);
		if (mm && (is_new || (lan && (mm->ann.flags & MESH_ANNOUNCE_HELLO))))
			reply(m, mm, lan, from);
		break;
	default:
		break;
	}
}

void mesh_handle_frame(struct wice_mesh *m, struct mesh_keyset *only, const uint8_t *data, size_t len,
		       enum mesh_source source, struct sig_backend *lan, const struct sig_route *from)
{
	struct mesh_keyset *kss[2];
	unsigned n = only ? 1 : mesh_keysets(m, kss);
	uint8_t plain[MESH_FRAME_PLAIN_MAX];
	size_t plain_len;
	uint8_t type;

	if (only)
		kss[0] = only;
	/* Not ours (another mesh, an outsider, garbage): not a word back. */
	for (unsigned i = 0; i < n; i++)
		if (mesh_frame_open(&kss[i]->keys, data, len, &type, plain, sizeof(plain), &plain_len) == 0) {
			handle_plain(m, kss[i], type, plain, plain_len, source, lan, from);
			break;
		}
	sodium_memzero(plain, sizeof(plain));
}

void mesh_receive_frame(struct wice_mesh *m, const uint8_t *data, size_t len, const struct sig_route *from)
{
	bool lan = from && from->backend;

	mesh_handle_frame(m, NULL, data, len, lan ? MESH_SOURCE_LAN : MESH_SOURCE_SERVER, lan ? from->backend : NULL,
			  from);
}

/* --- LAN --------------------------------------------------------------------------- */

struct lan_ctx {
	struct wice_mesh *m;
	struct mesh_keyset *ks;
};

static void on_lan_receive(struct sig_backend *b, const uint8_t *data, size_t len, const struct sig_route *from,
			   void *userdata)
{
	struct lan_ctx *c = userdata;

	mesh_handle_frame(c->m, c->ks, data, len, MESH_SOURCE_LAN, b, from);
}

static void on_lan_state(struct sig_backend *b, bool up, const char *reason, void *userdata)
{
	struct lan_ctx *c = userdata;
	uint8_t frame[MESH_FRAME_MAX];
	size_t len;

	if (!up) {
		g_debug("mesh %s: LAN %s down: %s", c->m->ifname, sig_backend_url(b), reason);
		return;
	}
	if (own_frame(c->m, c->ks, MESH_ANNOUNCE_HELLO, frame, &len))
		sig_backend_publish(b, c->ks->rendezvous[0].id, frame, len, NULL);
}

/* Never into a tunnel: the LAN layer must not depend on the mesh. */
static bool lan_excludes(const char *ifname, void *userdata)
{
	return wg_is_device(ifname);
}

static void start_lan(struct wice_mesh *m, struct mesh_keyset *ks)
{
	struct lan_ctx *c = g_new0(struct lan_ctx, 1);
	struct sig_backend_callbacks cb = {
		.receive = on_lan_receive,
		.state_changed = on_lan_state,
		.exclude_interface = lan_excludes,
		.userdata = c,
	};
	char group4[INET_ADDRSTRLEN], group6[INET6_ADDRSTRLEN];
	g_autofree char *url4 = NULL, *url6 = NULL;

	c->m = m;
	c->ks = ks;
	inet_ntop(AF_INET, &ks->keys.lan_group4, group4, sizeof(group4));
	inet_ntop(AF_INET6, &ks->keys.lan_group6, group6, sizeof(group6));
	url4 = g_strdup_printf("mcast://%s:%u", group4, ks->keys.lan_port);
	url6 = g_strdup_printf("mcast://[%s]:%u", group6, ks->keys.lan_port);
	ks->lan_ctx = c;
	ks->lan = g_ptr_array_new_with_free_func((GDestroyNotify)sig_backend_free);
	for (unsigned i = 0; i < 2; i++) {
		g_autoptr(GError) error = NULL;
		struct sig_backend *b = sig_backend_new(i ? url6 : url4, &cb, &error);

		if (b)
			g_ptr_array_add(ks->lan, b);
		else
			g_warning("mesh %s: no LAN discovery on %s: %s", m->ifname, i ? url6 : url4, error->message);
	}
}

/* The context goes after the backends, which call back no more once
 * freed. */
static void stop_lan(struct mesh_keyset *ks)
{
	g_clear_pointer(&ks->lan, g_ptr_array_unref);
	g_clear_pointer(&ks->lan_ctx, g_free);
}

/* --- mailboxes ---------------------------------------------------------------------- */

static void rendezvous_subscribe(struct wice_mesh *m, struct mesh_keyset *ks, bool on)
{
	for (unsigned i = 0; i < G_N_ELEMENTS(ks->rendezvous); i++) {
		if (on)
			m->host.ops->subscribe(m->host.data, &ks->rendezvous[i]);
		else
			m->host.ops->unsubscribe(m->host.data, ks->rendezvous[i].id);
	}
}

static void rendezvous_all(struct wice_mesh *m, bool on)
{
	struct mesh_keyset *kss[2];

	for (unsigned i = 0; i < mesh_keysets(m, kss); i++) {
		if (on)
			current_rendezvous(kss[i]);
		rendezvous_subscribe(m, kss[i], on);
	}
	m->reading_rendezvous = on;
}

void mesh_discovery_add_keyset(struct wice_mesh *m, struct mesh_keyset *ks)
{
	current_rendezvous(ks);
	mesh_inbox_mailbox(&ks->keys, m->hostkey.wg_public, ks->inbox.id, ks->inbox.secret);
	m->host.ops->subscribe(m->host.data, &ks->inbox);
	if (m->reading_rendezvous)
		rendezvous_subscribe(m, ks, true);
	start_lan(m, ks);
	/* At start-up the server hears from us when it comes up
	 * (mesh_on_backend); a keyset added later (rotation) is posted now. */
	announce_under(m, ks, MESH_ANNOUNCE_HELLO, m->announce_timer != NULL);
}

void mesh_discovery_remove_keyset(struct wice_mesh *m, struct mesh_keyset *ks)
{
	if (!ks->lan)
		return; /* not added, or removed already */
	if (m->reading_rendezvous)
		rendezvous_subscribe(m, ks, false);
	m->host.ops->unsubscribe(m->host.data, ks->inbox.id);
	stop_lan(ks);
	sodium_memzero(&ks->inbox, sizeof(ks->inbox));
}

void mesh_on_backend(struct wice_mesh *m, struct sig_backend *b)
{
	struct mesh_keyset *kss[2];
	uint8_t frame[MESH_FRAME_MAX];
	size_t len;

	for (unsigned k = 0; k < mesh_keysets(m, kss); k++) {
		struct mesh_keyset *ks = kss[k];

		sig_backend_subscribe(b, &ks->inbox);
		if (m->reading_rendezvous)
			for (unsigned i = 0; i < G_N_ELEMENTS(ks->rendezvous); i++)
				sig_backend_subscribe(b, &ks->rendezvous[i]);
		current_rendezvous(ks);
		if (own_frame(m, ks, 0, frame, &len))
			sig_backend_publish(b, ks->rendezvous[0].id, frame, len, NULL);
	}
	/* The whole of a visit to the rendezvous with the server up: the one
	 * at start-up may have ended before the server answered (a 50-node
	 * mesh on two cores took up to 3 s to get there, and the last members
	 * to start then read nothing for a minute).  A visit under way goes
	 * on for its full length from now; else one comes soon, at a random
	 * moment, so that members coming back with a restarted server do not
	 * all read at once (the server keeps four readers per mailbox). */
	if (m->reading_rendezvous)
		source_timer_arm(m->rendezvous_stop, MESH_RENDEZVOUS_READ_MS);
	else if (m->rendezvous_timer)
		source_timer_arm(m->rendezvous_timer, backoff_jitter_ms(RENDEZVOUS_AFTER_UP_MS));
}

/* --- timers ------------------------------------------------------------------------- */

static gboolean on_announce(gpointer data)
{
	struct wice_mesh *m = data;

	bool burst = m->lan_burst < G_N_ELEMENTS(lan_burst_ms);

	/* The start burst says hello: members on the LAN answer it.  It
	 * stays on the LAN (see announce_under). */
	mesh_announce_now(m, burst ? MESH_ANNOUNCE_HELLO : 0, !burst);
	m->lan_burst++;
	source_timer_arm(m->announce_timer, m->lan_burst < G_N_ELEMENTS(lan_burst_ms)
						    ? lan_burst_ms[m->lan_burst] - lan_burst_ms[m->lan_burst - 1]
						    : MESH_ANNOUNCE_INTERVAL_MS);
	return G_SOURCE_CONTINUE;
}

/* The server keeps only a few readers per mailbox, so members read the
 * rendezvous in short visits; between them, newcomers reach us through
 * our inbox. */
static gboolean on_rendezvous_stop(gpointer data)
{
	rendezvous_all(data, false);
	return G_SOURCE_CONTINUE;
}

static gboolean on_rendezvous(gpointer data)
{
	struct wice_mesh *m = data;

	if (m->reading_rendezvous)
		rendezvous_all(m, false);
	rendezvous_all(m, true);
	source_timer_arm(m->rendezvous_stop, MESH_RENDEZVOUS_READ_MS);
	source_timer_arm(m->rendezvous_timer, backoff_jitter_ms(MESH_RENDEZVOUS_INTERVAL_MS));
	return G_SOURCE_CONTINUE;
}

static gboolean on_expire(gpointer data)
{
	mesh_members_expire(data);
	return G_SOURCE_CONTINUE;
}

void mesh_discovery_start(struct wice_mesh *m)
{
	struct mesh_keyset *kss[2];

	for (unsigned i = 0; i < mesh_keysets(m, kss); i++)
		mesh_discovery_add_keyset(m, kss[i]);
	m->announce_timer = source_timer_new(NULL, on_announce, m);
	m->rendezvous_timer = source_timer_new(NULL, on_rendezvous, m);
	m->rendezvous_stop = source_timer_new(NULL, on_rendezvous_stop, m);
	m->expire_timer = source_timer_new(NULL, on_expire, m);
	m->lan_burst = 1; /* the first went out with the keyset */
	source_timer_arm(m->announce_timer, lan_burst_ms[1]);
	source_timer_arm(m->rendezvous_timer, 0);
	source_timer_arm(m->expire_timer, EXPIRE_INTERVAL_MS);
}

void mesh_discovery_stop(struct wice_mesh *m)
{
	struct mesh_keyset *kss[2];

	for (unsigned i = 0; i < mesh_keysets(m, kss); i++)
		mesh_discovery_remove_keyset(m, kss[i]);
	m->reading_rendezvous = false;
	source_clear(&m->announce_timer);
	source_clear(&m->rendezvous_timer);
	source_clear(&m->rendezvous_stop);
	source_clear(&m->expire_timer);
}

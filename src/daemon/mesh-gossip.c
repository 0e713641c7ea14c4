/* Gossip over the tunnels: every few seconds a random connected member
 * gets our member table (its members' own signed announcements, so the
 * receiver checks each as if it came from its member), and answers with
 * its own.  This is how A, which knows only B, learns C.
 *
 * UDP on our mesh IPv6 address, MESH_GOSSIP_PORT: only WireGuard
 * delivers there, from a member's address inside the mesh prefix. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "mesh-internal.h"
#include "util/backoff.h"
#include "util/source-util.h"

/* A member we sent our table gets it again no sooner than this, even
 * when it gossips to us first (push-pull, but not ping-pong). */
#define ANSWER_INTERVAL_US (2 * G_USEC_PER_SEC)
/* One round sends at most this many datagrams (a 1,200-byte frame holds
 * about three announcements). */
#define MAX_FRAMES_PER_ROUND 64
/* New members wait this long for others to go out with them. */
#define PUSH_DELAY_MS 100
/* Each member gets our whole table at least this often: well within the
 * time after which members that are not connected expire. */
#define FULL_TABLE_INTERVAL_S (MESH_MEMBER_TTL_S / 3)

void mesh_gossip_send_frame(struct wice_mesh *m, const struct mesh_member *mm, const uint8_t *frame, size_t len)
{
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_port = htons(MESH_GOSSIP_PORT) };

	to.sin6_addr = mm->addr6;
	if (m->gossip_fd >= 0 && sendto(m->gossip_fd, frame, len, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to)) < 0)
		g_debug("mesh %s: gossip to %s: %s", m->ifname, mm->ann.hostname, g_strerror(errno));
}

static void send_list(struct wice_mesh *m, const struct mesh_member *mm, const uint8_t *list, size_t len)
{
	uint8_t frame[MESH_FRAME_MAX];
	size_t frame_len;

	if (mesh_seal(mm->ks, MESH_FRAME_GOSSIP, list, len, frame, &frame_len))
		mesh_gossip_send_frame(m, mm, frame, frame_len);
}

/* What we last sent a member: so that a round carries our own
 * announcement and only the members that said something new since (not
 * merely re-signed: each round to each member would carry the whole table
 * again), with the whole table every few minutes, should a datagram have
 * been lost and to keep members that are not connected from expiring. */
struct gossip_state {
	gint64 sent_us;      /* monotonic: the last table or delta */
	gint64 since_s;      /* real time of that send */
	gint64 full_s;       /* real time of the last whole table */
};

static struct gossip_state *gossip_state(struct wice_mesh *m, const struct mesh_member *mm)
{
	g_autoptr(GBytes) key = g_bytes_new(mm->wg_public, 32);
	struct gossip_state *st = g_hash_table_lookup(m->gossip_sent, key);

	if (!st) {
		st = g_new0(struct gossip_state, 1);
		g_hash_table_insert(m->gossip_sent, g_bytes_ref(key), st);
	}
	return st;
}

/* Our own announcement first, then the newest of every member on the
 * same secret as @to (the others would not check out there) that is new
 * since @since_s (0: all). */
static GPtrArray *table_announcements(struct wice_mesh *m, const struct mesh_member *to, gint64 since_s,
				      GArray *lens, uint8_t own[MESH_ANNOUNCE_MAX])
{
	GPtrArray *anns = g_ptr_array_new();
	GHashTableIter it;
	gpointer value;
	size_t len;

	if (mesh_sign_own(m, to->ks, 0, own, &len)) {
		g_ptr_array_add(anns, own);
		g_array_append_val(lens, len);
	}
	g_hash_table_iter_init(&it, m->members);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct mesh_member *mm = value;

		if (mm->ks != to->ks || mm == to || mm->changed_s < since_s)
			continue;
		g_ptr_array_add(anns, mm->signed_ann);
		g_array_append_val(lens, mm->signed_len);
	}
	return anns;
}

/* As many frames as the announcements need, up to a round's worth. */
static void send_announcements(struct wice_mesh *m, const struct mesh_member *mm, GPtrArray *anns, GArray *lens)
{
	uint8_t list[MESH_FRAME_PLAIN_MAX - 1];
	size_t done = 0;

	for (unsigned n = 0; done < anns->len && n < MAX_FRAMES_PER_ROUND; n++) {
		size_t len, taken = mesh_gossip_encode((const uint8_t *const *)anns->pdata + done,
						       (size_t *)lens->data + done, anns->len - done, list,
						       sizeof(list), &len);

		if (!taken)
			break;
		send_list(m, mm, list, len);
		done += taken;
	}
}

void mesh_gossip_send(struct wice_mesh *m, const struct mesh_member *mm)
{
	g_autoptr(GArray) lens = g_array_new(FALSE, FALSE, sizeof(size_t));
	gint64 now_s = g_get_real_time() / G_USEC_PER_SEC;
	struct gossip_state *st;
	uint8_t own[MESH_ANNOUNCE_MAX];
	g_autoptr(GPtrArray) anns = NULL;
	bool full;

	if (m->gossip_fd < 0)
		return;
	st = gossip_state(m, mm);
	full = !st->full_s || now_s - st->full_s >= FULL_TABLE_INTERVAL_S;
	/* One second back: what came in the second of the last send. */
	anns = table_announcements(m, mm, full ? 0 : st->since_s - 1, lens, own);
	mesh_rotate_tell(m, mm);
	st->sent_us = g_get_monotonic_time();
	st->since_s = now_s;
	if (full)
		st->full_s = now_s;
	send_announcements(m, mm, anns, lens);
}

/* New members go to every connected member at once, not at the next
 * round: only their announcements, so a mesh forming does not send whole
 * tables to everyone for every member. */
static gboolean on_push_fresh(gpointer data)
{
	struct wice_mesh *m = data;
	g_autoptr(GArray) lens = g_array_new(FALSE, FALSE, sizeof(size_t));
	g_autoptr(GPtrArray) anns = g_ptr_array_new();
	GHashTableIter it;
	gpointer value;

	source_clear(&m->push_soon);
	for (guint i = 0; i < m->fresh->len; i++) {
		struct mesh_member *mm = g_hash_table_lookup(m->members, g_ptr_array_index(m->fresh, i));

		if (mm && mm->ks == m->cur) {
			g_ptr_array_add(anns, mm->signed_ann);
			g_array_append_val(lens, mm->signed_len);
		}
	}
	g_hash_table_iter_init(&it, m->members);
	while (anns->len && g_hash_table_iter_next(&it, NULL, &value))
		if (((struct mesh_member *)value)->ks == m->cur && mesh_member_connected(m, value))
			send_announcements(m, value, anns, lens);
	g_ptr_array_set_size(m->fresh, 0);
	return G_SOURCE_REMOVE;
}

void mesh_gossip_fresh(struct wice_mesh *m, const struct mesh_member *mm)
{
	if (m->gossip_fd < 0)
		return;
	g_ptr_array_add(m->fresh, g_bytes_new(mm->wg_public, 32));
	if (!m->push_soon)
		m->push_soon = source_timeout(PUSH_DELAY_MS, on_push_fresh, m);
}

static bool answered_lately(struct wice_mesh *m, const struct mesh_member *mm)
{
	g_autoptr(GBytes) key = g_bytes_new(mm->wg_public, 32);
	const struct gossip_state *st = g_hash_table_lookup(m->gossip_sent, key);

	return st && g_get_monotonic_time() - st->sent_us < ANSWER_INTERVAL_US;
}

static struct mesh_member *member_at(struct wice_mesh *m, const struct in6_addr *addr)
{
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, m->members);
	while (g_hash_table_iter_next(&it, NULL, &value))
		if (memcmp(&((struct mesh_member *)value)->addr6, addr, 16) == 0)
			return value;
	return NULL;
}

/* Only from inside a mesh prefix, that is through the tunnel (frames are
 * sealed anyway: this just spares the work on anything else). */
static bool from_mesh(struct wice_mesh *m, const struct in6_addr *a)
{
	struct mesh_keyset *kss[2];

	for (unsigned i = 0; i < mesh_keysets(m, kss); i++)
		if (memcmp(a, &kss[i]->keys.net6, 6) == 0)
			return true;
	return false;
}

static gboolean on_gossip_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct wice_mesh *m = data;
	uint8_t buf[MESH_FRAME_MAX + 1];
	struct sockaddr_in6 from;
	socklen_t from_len = sizeof(from);

	for (unsigned i = 0; i < 64; i++) {
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &from_len);

		if (n < 0)
			break;
		if (from.sin6_family != AF_INET6 || !from_mesh(m, &from.sin6_addr) || (size_t)n > MESH_FRAME_MAX)
			continue;
		mesh_handle_frame(m, NULL, buf, (size_t)n, MESH_SOURCE_GOSSIP, NULL, NULL);
		struct mesh_member *mm = member_at(m, &from.sin6_addr);
		if (mm && !answered_lately(m, mm))
			mesh_gossip_send(m, mm);
	}
	return G_SOURCE_CONTINUE;
}

static gboolean on_gossip_round(gpointer data)
{
	struct wice_mesh *m = data;
	g_autoptr(GPtrArray) connected = g_ptr_array_new();
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, m->members);
	while (g_hash_table_iter_next(&it, NULL, &value))
		if (mesh_member_connected(m, value))
			g_ptr_array_add(connected, value);
	if (connected->len)
		mesh_gossip_send(m, g_ptr_array_index(connected, g_random_int_range(0, (gint32)connected->len)));
	source_timer_arm(m->gossip_timer, backoff_jitter_ms(MESH_GOSSIP_INTERVAL_MS));
	return G_SOURCE_CONTINUE;
}

/* On every address: during a rotation members speak from two prefixes,
 * and our own addresses move with collisions.  One mesh per network
 * namespace, then. */
bool mesh_gossip_start(struct wice_mesh *m, GError **error)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(MESH_GOSSIP_PORT) };
	int one = 1;

	m->gossip_fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (m->gossip_fd < 0 || setsockopt(m->gossip_fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0 ||
	    bind(m->gossip_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "mesh %s: gossip socket on port %u: %s",
			    m->ifname, MESH_GOSSIP_PORT, g_strerror(errno));
		return false;
	}
	m->fresh = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	m->gossip_sent = g_hash_table_new_full(g_bytes_hash, g_bytes_equal, (GDestroyNotify)g_bytes_unref, g_free);
	m->gossip_source = source_attach(g_unix_fd_source_new(m->gossip_fd, G_IO_IN), NULL,
					 G_SOURCE_FUNC(on_gossip_readable), m);
	m->gossip_timer = source_timer_new(NULL, on_gossip_round, m);
	source_timer_arm(m->gossip_timer, backoff_jitter_ms(MESH_GOSSIP_INTERVAL_MS));
	return true;
}

void mesh_gossip_stop(struct wice_mesh *m)
{
	source_clear(&m->gossip_source);
	source_clear(&m->gossip_timer);
	source_clear(&m->push_soon);
	g_clear_pointer(&m->fresh, g_ptr_array_unref);
	g_clear_pointer(&m->gossip_sent, g_hash_table_destroy);
	if (m->gossip_fd >= 0)
		close(m->gossip_fd);
	m->gossip_fd = -1;
}

void mesh_on_peer_connected(struct wice_mesh *m, const char *peer)
{
	uint8_t key[32];
	g_autoptr(GBytes) k = NULL;
	struct mesh_member *mm;

	if (!peer || !wg_key_from_base64(key, peer))
		return;
	k = g_bytes_new(key, 32);
	mm = g_hash_table_lookup(m->members, k);
	if (!mm)
		return;
	/* A path that came (back) up: it gets all of the table. */
	gossip_state(m, mm)->full_s = 0;
	mesh_gossip_send(m, mm);
}

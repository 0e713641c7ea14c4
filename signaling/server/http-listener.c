/* TCP accept loop and connection caps of the signal server; see
 * http-listener.h for why it exists. */
#include "config.h"

#define G_LOG_DOMAIN "wice-server"

#include <errno.h>
#include <fcntl.h>
#ifdef HAVE_MALLOC_TRIM
#include <malloc.h>
#endif
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sodium.h>

#include "http-listener.h"
#include "util/source-util.h"

#define LISTEN_BACKLOG 4096
/* Connections taken per wake-up: fair to the rest of the main loop. */
#define ACCEPT_BATCH 64
/* A connection whose request we refused unread stays open after the
 * answer until the client closes it, for at most a few round trips: time
 * for the answer to arrive before the reset that closing with unread
 * bytes sends.  What the client still sends is read and dropped up to a
 * budget, so that its close arrives; past that it is left unread. */
#define LINGER_SECONDS 2
#define LINGER_BUDGET (256u << 10)
/* glibc keeps the heap that a surge of connections leaves behind: 2000
 * connections with half-sent bodies left the server at 116 MiB.  A second
 * after the count falls below a quarter of a peak of at least SURGE_MIN
 * (time for the rest of the surge to go), the free memory goes back to
 * the system, at most once per TRIM_INTERVAL. */
#define SURGE_MIN 512
#define TRIM_DELAY G_USEC_PER_SEC
#define TRIM_INTERVAL (10 * G_USEC_PER_SEC)

/* IPv4 addresses are kept as ::ffff:a.b.c.d, IPv6 ones cut to their /64
 * (one host usually holds a whole /64).  The hash is keyed: clients pick
 * their IPv6 prefixes. */
struct addr_key {
	uint8_t addr[16];
	guint hash;
};

struct addr_entry {
	struct addr_key key; /* first: the table's key points here */
	unsigned conns;
	unsigned incomplete; /* of conns, with the request still arriving */
};

/* What a connection waits for, against a deadline.  Each phase has one
 * timeout, so its queue is in the order of the deadlines and one timer
 * for the earliest head serves all. */
enum conn_phase {
	PHASE_HEAD,    /* the request head, from the accept */
	PHASE_BODY,    /* the request body, from the end of the head */
	PHASE_LINGER,  /* answered and refused: the close, after the answer */
	N_PHASES,
	PHASE_NONE = N_PHASES, /* the request is in */
};

/* Shared with every connection's record, which libsoup may keep after the
 * listener is gone. */
struct conn_table {
	grefcount refs;
	GHashTable *by_addr; /* struct addr_key -> struct addr_entry */
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
	size_t total;
	GQueue phases[N_PHASES];    /* struct http_conn, earliest deadline first */
	int64_t timeouts[N_PHASES]; /* microseconds */
	GSource *deadline;	    /* for the earliest head of the queues */
	size_t peak;		    /* of total since the last trim */
	int64_t trimmed;	    /* when, monotonic microseconds */
	GSource *trim;
};

/* Hangs on the remote address object handed to libsoup, which libsoup
 * drops when the connection is gone: that is our "closed" event.  A
 * stolen connection's record moves to its new owner. */
struct http_conn {
	struct conn_table *table;
	struct addr_entry *entry;
	GSocket *socket;
	enum conn_phase phase;
	int64_t deadline; /* monotonic microseconds */
	GList link;	  /* in table->phases[phase] */
	/* While lingering: the connection (ours now), its input and how many
	 * bytes were dropped. */
	GIOStream *io;
	GSource *drain;
	size_t drained;
};

struct listen_socket {
	struct http_listener *owner;
	GSocket *socket;
	GSource *source;
};

struct http_listener {
	SoupServer *soup;
	struct http_listener_limits limits;
	struct conn_table *conns;
	GPtrArray *sockets; /* struct listen_socket */
	int spare_fd;	    /* given up to turn connections away at EMFILE */
};

static GQuark conn_quark(void)
{
	return g_quark_from_static_string("wice-http-conn");
}

static guint addr_hash(gconstpointer key)
{
	return ((const struct addr_key *)key)->hash;
}

static gboolean addr_equal(gconstpointer a, gconstpointer b)
{
	return memcmp(((const struct addr_key *)a)->addr, ((const struct addr_key *)b)->addr, 16) == 0;
}

static bool addr_key_from(const struct conn_table *t, GSocketAddress *sa, struct addr_key *key)
{
	uint8_t h[crypto_shorthash_BYTES];
	const guint8 *bytes;
	GInetAddress *ia;

	if (!G_IS_INET_SOCKET_ADDRESS(sa))
		return false;
	ia = g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(sa));
	bytes = g_inet_address_to_bytes(ia);
	memset(key, 0, sizeof(*key));
	if (g_inet_address_get_family(ia) == G_SOCKET_FAMILY_IPV4) {
		key->addr[10] = key->addr[11] = 0xff;
		memcpy(key->addr + 12, bytes, 4);
	} else {
		memcpy(key->addr, bytes, 16);
		if (!IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)key->addr))
			memset(key->addr + 8, 0, 8);
	}
	crypto_shorthash(h, key->addr, sizeof(key->addr), t->hash_key);
	memcpy(&key->hash, h, sizeof(key->hash));
	return true;
}

/* --- the request's deadlines ------------------------------------------ */

static bool incomplete(enum conn_phase phase)
{
	return phase == PHASE_HEAD || phase == PHASE_BODY;
}

static void phase_leave(struct http_conn *rec)
{
	if (rec->phase == PHASE_NONE)
		return;
	g_queue_unlink(&rec->table->phases[rec->phase], &rec->link);
	rec->entry->incomplete -= incomplete(rec->phase);
	rec->phase = PHASE_NONE;
}

static void deadline_arm(struct conn_table *t)
{
	int64_t next = INT64_MAX;

	for (int p = 0; p < N_PHASES; p++) {
		struct http_conn *rec = g_queue_peek_head(&t->phases[p]);

		if (rec && rec->deadline < next)
			next = rec->deadline;
	}
	if (next == INT64_MAX)
		source_timer_disarm(t->deadline);
	else
		source_timer_arm_at(t->deadline, next);
}

static void phase_enter(struct http_conn *rec, enum conn_phase phase)
{
	struct conn_table *t = rec->table;
	GQueue *q = &t->phases[phase];

	phase_leave(rec);
	rec->entry->incomplete += incomplete(phase);
	rec->phase = phase;
	rec->deadline = g_get_monotonic_time() + t->timeouts[phase];
	g_queue_push_tail_link(q, &rec->link);
	/* Only a new head of its queue can be the earliest deadline. */
	if (q->length == 1)
		deadline_arm(t);
}

static void http_conn_free(gpointer data);

/* A connection with an incomplete request is shut down in both
 * directions under libsoup, which sees the end of its input, gives up the
 * request and drops the connection; a lingering one is ours to close. */
static void expire(struct http_conn *rec)
{
	if (rec->phase == PHASE_LINGER) {
		http_conn_free(rec);
		return;
	}
	g_debug("closing a connection: request %s not complete in time",
		rec->phase == PHASE_HEAD ? "head" : "body");
	phase_leave(rec);
	g_socket_shutdown(rec->socket, TRUE, TRUE, NULL);
}

static gboolean on_deadline(gpointer data)
{
	struct conn_table *t = data;
	int64_t now = g_get_monotonic_time();

	for (int p = 0; p < N_PHASES; p++) {
		struct http_conn *rec;

		while ((rec = g_queue_peek_head(&t->phases[p])) && rec->deadline <= now)
			expire(rec);
	}
	deadline_arm(t);
	return G_SOURCE_CONTINUE;
}

/* --- memory after a surge ---------------------------------------------- */

static gboolean on_trim(gpointer data)
{
	struct conn_table *t = data;

	g_debug("%zu connections after a peak of %zu: giving memory back", t->total, t->peak);
#ifdef HAVE_MALLOC_TRIM
	malloc_trim(0);
#endif
	t->peak = t->total;
	t->trimmed = g_get_monotonic_time();
	return G_SOURCE_CONTINUE;
}

static void surge_check(struct conn_table *t)
{
	if (t->peak < SURGE_MIN || t->total >= t->peak / 4 || source_timer_armed(t->trim))
		return;
	source_timer_arm_at(t->trim, MAX(g_get_monotonic_time() + TRIM_DELAY, t->trimmed + TRIM_INTERVAL));
}

static struct conn_table *conn_table_new(const struct http_listener_limits *limits)
{
	struct conn_table *t = g_new0(struct conn_table, 1);

	g_ref_count_init(&t->refs);
	t->by_addr = g_hash_table_new_full(addr_hash, addr_equal, NULL, g_free);
	randombytes_buf(t->hash_key, sizeof(t->hash_key));
	t->timeouts[PHASE_HEAD] = (int64_t)limits->header_timeout * G_USEC_PER_SEC;
	t->timeouts[PHASE_BODY] = (int64_t)limits->body_timeout * G_USEC_PER_SEC;
	t->timeouts[PHASE_LINGER] = LINGER_SECONDS * G_USEC_PER_SEC;
	t->deadline = source_timer_new(NULL, on_deadline, t);
	t->trim = source_timer_new(NULL, on_trim, t);
	t->trimmed = g_get_monotonic_time() - TRIM_INTERVAL;
	return t;
}

static void conn_table_unref(struct conn_table *t)
{
	if (!t || !g_ref_count_dec(&t->refs))
		return;
	source_free(t->deadline);
	source_free(t->trim);
	g_hash_table_destroy(t->by_addr);
	g_free(t);
}

static struct http_conn *conn_of(SoupServerMessage *msg)
{
	GSocketAddress *remote = soup_server_message_get_remote_address(msg);

	return remote ? g_object_get_qdata(G_OBJECT(remote), conn_quark()) : NULL;
}

static void on_got_headers(SoupServerMessage *msg, gpointer data)
{
	struct http_conn *rec = conn_of(msg);

	if (rec && rec->phase == PHASE_HEAD)
		phase_enter(rec, PHASE_BODY);
}

static void on_request_started(SoupServer *soup, SoupServerMessage *msg, gpointer data)
{
	g_signal_connect(msg, "got-headers", G_CALLBACK(on_got_headers), NULL);
}

static void on_request_read(SoupServer *soup, SoupServerMessage *msg, gpointer data)
{
	struct http_conn *rec = conn_of(msg);

	if (rec)
		phase_leave(rec);
}

/* --- connection records ------------------------------------------------ */

static void http_conn_free(gpointer data)
{
	struct http_conn *rec = data;
	struct conn_table *t = rec->table;

	phase_leave(rec);
	source_free(rec->drain);
	if (rec->io) {
		g_io_stream_close(rec->io, NULL, NULL);
		g_object_unref(rec->io);
	}
	t->total--;
	if (--rec->entry->conns == 0)
		g_hash_table_remove(t->by_addr, &rec->entry->key);
	surge_check(t);
	g_object_unref(rec->socket);
	conn_table_unref(t);
	g_free(rec);
}

/* Counts a connection against its address.  Returns 0 and the record, or
 * -ENFILE / -EUSERS / -EBUSY when the total, the per-address cap or that
 * on incomplete requests is reached. */
static int conn_admit(struct http_listener *hl, GSocket *sock, GSocketAddress *remote,
		      struct http_conn **ret_rec)
{
	struct conn_table *t = hl->conns;
	struct http_conn *rec;
	struct addr_entry *entry;
	struct addr_key key;

	if (t->total >= hl->limits.max_connections)
		return -ENFILE;
	if (!addr_key_from(t, remote, &key))
		return -EAFNOSUPPORT;
	entry = g_hash_table_lookup(t->by_addr, &key);
	if (entry && entry->conns >= hl->limits.max_per_addr)
		return -EUSERS;
	if (entry && entry->incomplete >= hl->limits.max_incomplete)
		return -EBUSY;
	if (!entry) {
		entry = g_new0(struct addr_entry, 1);
		entry->key = key;
		g_hash_table_add(t->by_addr, &entry->key);
	}
	entry->conns++;
	t->total++;
	t->peak = MAX(t->peak, t->total);
	rec = g_new0(struct http_conn, 1);
	rec->table = t;
	rec->entry = entry;
	rec->socket = g_object_ref(sock);
	rec->phase = PHASE_NONE;
	rec->link.data = rec;
	g_ref_count_inc(&t->refs);
	*ret_rec = rec;
	return 0;
}

static const char *refusal_reason(int r)
{
	switch (r) {
	case -EUSERS:
		return "too many from this address";
	case -EBUSY:
		return "too many incomplete requests from this address";
	default:
		return "too many connections";
	}
}

static void hand_over(struct http_listener *hl, GSocket *sock)
{
	g_autoptr(GSocketAddress) remote = g_socket_get_remote_address(sock, NULL);
	g_autoptr(GSocketAddress) local = g_socket_get_local_address(sock, NULL);
	g_autoptr(GSocketConnection) conn = NULL;
	struct http_conn *rec;
	int r;

	if (!remote || !local)
		return; /* already gone */
	r = conn_admit(hl, sock, remote, &rec);
	if (r < 0) {
		/* Answering would cost what the cap protects: just close. */
		g_debug("refusing a connection: %s", refusal_reason(r));
		return;
	}
	phase_enter(rec, PHASE_HEAD);
	g_object_set_qdata_full(G_OBJECT(remote), conn_quark(), rec, http_conn_free);
	/* A stalled request, or a subscriber that stops reading, is dropped
	 * after this long.  A stream waiting for messages has no I/O pending
	 * and is not affected. */
	g_socket_set_timeout(sock, hl->limits.idle_timeout);
	/* Frames are small and must not wait for an ACK. */
	g_socket_set_option(sock, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
	conn = g_socket_connection_factory_create_connection(sock);
	soup_server_accept_iostream(hl->soup, G_IO_STREAM(conn), local, remote, NULL);
}

/* Out of descriptors: give up the spare one to accept and close a waiting
 * connection, so the backlog drains instead of the loop spinning on it. */
static void turn_one_away(struct http_listener *hl, int listen_fd)
{
	int fd;

	if (hl->spare_fd < 0)
		return;
	close(hl->spare_fd);
	fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0)
		close(fd);
	hl->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	g_message("out of file descriptors: turning connections away");
}

static gboolean on_incoming(GSocket *socket, GIOCondition cond, gpointer data)
{
	struct listen_socket *l = data;
	int listen_fd = g_socket_get_fd(l->socket);

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		g_autoptr(GSocket) sock = NULL;
		int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			int err = errno;

			if (err == EMFILE || err == ENFILE)
				turn_one_away(l->owner, listen_fd);
			if (err != EINTR && err != ECONNABORTED)
				break;
			continue;
		}
		sock = g_socket_new_from_fd(fd, NULL);
		if (!sock) {
			close(fd);
			continue;
		}
		hand_over(l->owner, sock);
	}
	return G_SOURCE_CONTINUE;
}

static void listen_socket_free(gpointer data)
{
	struct listen_socket *l = data;

	source_free(l->source);
	g_object_unref(l->socket);
	g_free(l);
}

struct http_listener *http_listener_new(SoupServer *soup, const struct http_listener_limits *limits)
{
	struct http_listener *hl = g_new0(struct http_listener, 1);

	hl->soup = g_object_ref(soup);
	hl->limits = *limits;
	hl->conns = conn_table_new(limits);
	hl->sockets = g_ptr_array_new_with_free_func(listen_socket_free);
	hl->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	g_signal_connect(soup, "request-started", G_CALLBACK(on_request_started), hl);
	g_signal_connect(soup, "request-read", G_CALLBACK(on_request_read), hl);
	return hl;
}

void http_listener_free(struct http_listener *hl)
{
	if (!hl)
		return;
	g_signal_handlers_disconnect_by_data(hl->soup, hl);
	/* Lingering connections are no longer libsoup's but ours. */
	while (hl->conns->phases[PHASE_LINGER].head)
		http_conn_free(hl->conns->phases[PHASE_LINGER].head->data);
	g_ptr_array_unref(hl->sockets);
	if (hl->spare_fd >= 0)
		close(hl->spare_fd);
	conn_table_unref(hl->conns);
	g_object_unref(hl->soup);
	g_free(hl);
}

static GSocket *listen_tcp(GInetSocketAddress *addr, GError **error)
{
	GSocketFamily family = g_socket_address_get_family(G_SOCKET_ADDRESS(addr));
	g_autoptr(GSocket) sock = NULL;

	sock = g_socket_new(family, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
	if (!sock)
		return NULL;
	/* IPv6 sockets serve IPv6 only, so [::] and 0.0.0.0 can share a port. */
	if (family == G_SOCKET_FAMILY_IPV6 &&
	    !g_socket_set_option(sock, IPPROTO_IPV6, IPV6_V6ONLY, 1, error))
		return NULL;
	g_socket_set_listen_backlog(sock, LISTEN_BACKLOG);
	if (!g_socket_bind(sock, G_SOCKET_ADDRESS(addr), TRUE, error) || !g_socket_listen(sock, error))
		return NULL;
	return g_steal_pointer(&sock);
}

GSocketAddress *http_listener_add(struct http_listener *hl, GInetSocketAddress *addr, GError **error)
{
	struct listen_socket *l;
	GSocket *sock;

	sock = listen_tcp(addr, error);
	if (!sock)
		return NULL;
	l = g_new0(struct listen_socket, 1);
	l->owner = hl;
	l->socket = sock;
	l->source = source_attach(g_socket_create_source(sock, G_IO_IN, NULL), NULL, G_SOURCE_FUNC(on_incoming), l);
	g_ptr_array_add(hl->sockets, l);
	return g_socket_get_local_address(sock, error);
}

bool http_listener_client_key(SoupServerMessage *msg, uint8_t ret_key[16])
{
	struct http_conn *rec = conn_of(msg);

	if (!rec)
		return false;
	memcpy(ret_key, rec->entry->key.addr, sizeof(rec->entry->key.addr));
	return true;
}

struct http_conn *http_listener_take(SoupServerMessage *msg)
{
	GSocketAddress *remote = soup_server_message_get_remote_address(msg);
	struct http_conn *rec = remote ? g_object_steal_qdata(G_OBJECT(remote), conn_quark()) : NULL;

	if (rec)
		phase_leave(rec);
	return rec;
}

GSocket *http_conn_socket(const struct http_conn *conn)
{
	return conn->socket;
}

void http_conn_release(struct http_conn *conn)
{
	if (conn)
		http_conn_free(conn);
}

/* Drops what a client whose request was refused still sends, until it
 * closes (then so do we) or the budget is spent. */
static gboolean on_linger_input(GSocket *socket, GIOCondition cond, gpointer data)
{
	struct http_conn *rec = data;
	char buf[16384];
	ssize_t n;

	while ((n = recv(g_socket_get_fd(socket), buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		rec->drained += n;
		if (rec->drained > LINGER_BUDGET) {
			source_clear(&rec->drain);
			return G_SOURCE_CONTINUE;
		}
	}
	if (n == 0 || (errno != EAGAIN && errno != EINTR))
		http_conn_free(rec);
	return G_SOURCE_CONTINUE;
}

void http_listener_answer_and_close(struct http_conn *conn, GIOStream *io, GBytes *answer)
{
	gsize len;
	const char *data = g_bytes_get_data(answer, &len);

	conn->io = io;
	/* Nothing was written on the connection yet, so the socket's send
	 * buffer (4 KiB at the least) takes the answer whole: a client that
	 * keeps its receive window shut gets less, and deserves no wait. */
	g_socket_set_blocking(conn->socket, FALSE);
	g_socket_send(conn->socket, data, len, NULL, NULL);
	/* The client sees the end of the answer. */
	g_socket_shutdown(conn->socket, FALSE, TRUE, NULL);
	conn->drain = source_attach(g_socket_create_source(conn->socket, G_IO_IN, NULL), NULL,
				    G_SOURCE_FUNC(on_linger_input), conn);
	phase_enter(conn, PHASE_LINGER);
}

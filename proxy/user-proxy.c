/* The user proxy (see user-proxy.h): a loopback UDP socket spliced onto a
 * libnice component.
 *
 * The receive buffers are per thread, not per proxy: a proxy needs room for
 * a whole batch of maximum-size datagrams (WireGuard's MTU may be jumbo), a
 * daemon may have many peers, and all proxies of a thread take turns in one
 * main loop, so one set of buffers serves them all.
 *
 * The other direction is batched too: libnice hands over one datagram per
 * callback, so user_proxy_deliver() queues a copy (one queue per thread,
 * owned by one proxy at a time) and the queue goes to WireGuard with one
 * sendmmsg() when it is full, when another proxy of the thread delivers,
 * or when the main loop comes round to the proxy's flush source, which is
 * ready whenever the proxy owns queued datagrams: after libnice has
 * drained its socket.  Datagrams of one size go out as one UDP GSO
 * send (UDP_SEGMENT), so the kernel routes and builds one packet per run
 * and cuts it up on WireGuard's side. */
#include "config.h"

#include <errno.h>
#include <glib-unix.h>
#include <string.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "user-proxy.h"

#define UDP_MAX_PAYLOAD 65535
/* Batches per wakeup before other sources get their turn. */
#define MAX_BATCHES_PER_WAKEUP 8
/* The delivery queue's bytes: room for a full batch of 1500-byte
 * datagrams, and always for one of the largest. */
#define DELIVER_ARENA (128 * 1024)

/* Room for bursts while the main loop is busy elsewhere (the kernel caps
 * it at net.core.rmem_max). */
#define SOCKET_BUFFER (1 << 20)

struct user_proxy {
	NiceAgent *agent;
	guint stream, component;
	int fd;
	GSource *source;
	GSource *flush; /* a struct flush_source */
	union wg_sockaddr local; /* our socket: WireGuard's endpoint */
	union wg_sockaddr wg;    /* WireGuard's listen address */
	unsigned batch;
	bool no_gso; /* the kernel refused UDP_SEGMENT */
	struct user_proxy_stats stats;
};

struct batch_buffers {
	struct mmsghdr hdr[USER_PROXY_MAX_BATCH];
	struct iovec iov[USER_PROXY_MAX_BATCH];
	union wg_sockaddr from[USER_PROXY_MAX_BATCH];
	GOutputVector vec[USER_PROXY_MAX_BATCH];
	NiceOutputMessage out[USER_PROXY_MAX_BATCH];
	uint8_t data[USER_PROXY_MAX_BATCH][UDP_MAX_PAYLOAD];
};

/* Datagrams from libnice on their way to WireGuard. */
struct deliver_queue {
	struct user_proxy *owner; /* whose datagrams are queued, or NULL */
	unsigned n;
	size_t used;
	struct mmsghdr hdr[USER_PROXY_MAX_BATCH];
	struct iovec iov[USER_PROXY_MAX_BATCH];
	/* the same datagrams as GSO runs (pack_runs) */
	struct mmsghdr out[USER_PROXY_MAX_BATCH];
	struct iovec run_iov[USER_PROXY_MAX_BATCH];
	unsigned run_first[USER_PROXY_MAX_BATCH], run_len[USER_PROXY_MAX_BATCH];
	uint8_t control[USER_PROXY_MAX_BATCH][CMSG_SPACE(sizeof(uint16_t))] __attribute__((aligned(8)));
	uint8_t arena[DELIVER_ARENA];
};

struct flush_source {
	GSource source;
	struct user_proxy *proxy;
};

static GPrivate thread_buffers = G_PRIVATE_INIT(g_free);
static GPrivate thread_queue = G_PRIVATE_INIT(g_free);

static struct batch_buffers *get_buffers(void)
{
	struct batch_buffers *b = g_private_get(&thread_buffers);

	if (!b) {
		b = g_new(struct batch_buffers, 1);
		g_private_set(&thread_buffers, b);
	}
	return b;
}

/* ---- WireGuard -> peer ------------------------------------------------------- */

static bool from_wireguard(const struct user_proxy *p, const struct mmsghdr *h)
{
	const union wg_sockaddr *from = h->msg_hdr.msg_name;

	if (h->msg_hdr.msg_flags & MSG_TRUNC || h->msg_hdr.msg_namelen < wg_sockaddr_len(&p->wg))
		return false;
	if (p->wg.sa.sa_family == AF_INET)
		return from->sa.sa_family == AF_INET && from->in.sin_port == p->wg.in.sin_port &&
		       from->in.sin_addr.s_addr == p->wg.in.sin_addr.s_addr;
	return from->sa.sa_family == AF_INET6 && from->in6.sin6_port == p->wg.in6.sin6_port &&
	       IN6_ARE_ADDR_EQUAL(&from->in6.sin6_addr, &p->wg.in6.sin6_addr);
}

static int receive_batch(struct user_proxy *p, struct batch_buffers *b)
{
	for (unsigned i = 0; i < p->batch; i++) {
		b->iov[i] = (struct iovec){ .iov_base = b->data[i], .iov_len = UDP_MAX_PAYLOAD };
		b->hdr[i].msg_hdr = (struct msghdr){
			.msg_name = &b->from[i],
			.msg_namelen = sizeof(b->from[i]),
			.msg_iov = &b->iov[i],
			.msg_iovlen = 1,
		};
	}
	return recvmmsg(p->fd, b->hdr, p->batch, MSG_DONTWAIT, NULL);
}

/* Hands the datagrams from WireGuard to libnice in one call. */
static void send_batch(struct user_proxy *p, struct batch_buffers *b, unsigned n)
{
	unsigned n_out = 0, bytes = 0;
	gint sent;

	for (unsigned i = 0; i < n; i++) {
		if (!from_wireguard(p, &b->hdr[i])) {
			p->stats.drop_foreign++;
			continue;
		}
		b->vec[n_out] = (GOutputVector){ .buffer = b->data[i], .size = b->hdr[i].msg_len };
		b->out[n_out] = (NiceOutputMessage){ .buffers = &b->vec[n_out], .n_buffers = 1 };
		n_out++;
	}
	if (!n_out)
		return;
	sent = nice_agent_send_messages_nonblocking(p->agent, p->stream, p->component, b->out, n_out, NULL, NULL);
	if (sent < 0)
		sent = 0;
	for (gint i = 0; i < sent; i++)
		bytes += b->vec[i].size;
	p->stats.to_peer_packets += (unsigned)sent;
	p->stats.to_peer_bytes += bytes;
	p->stats.drop_to_peer += n_out - (unsigned)sent;
}

static gboolean on_readable(gint fd, GIOCondition condition, gpointer data)
{
	struct user_proxy *p = data;
	struct batch_buffers *b = get_buffers();

	for (unsigned round = 0; round < MAX_BATCHES_PER_WAKEUP; round++) {
		int n = receive_batch(p, b);

		if (n <= 0)
			break; /* EAGAIN: drained; a UDP error was consumed by the read */
		send_batch(p, b, (unsigned)n);
		if ((unsigned)n < p->batch)
			break;
	}
	return G_SOURCE_CONTINUE;
}

/* ---- peer -> WireGuard ------------------------------------------------------- */

static struct deliver_queue *get_queue(void)
{
	struct deliver_queue *q = g_private_get(&thread_queue);

	if (!q) {
		q = g_new(struct deliver_queue, 1);
		q->owner = NULL;
		q->n = 0;
		q->used = 0;
		g_private_set(&thread_queue, q);
	}
	return q;
}

/* The most segments and bytes one UDP_SEGMENT send may carry (the
 * kernel's UDP_MAX_SEGMENTS in older releases, and an IP packet's
 * length). */
#define GSO_MAX_SEGMENTS 64
#define GSO_MAX_BYTES (65535 - 8 - 40)

/* How many datagrams from @i on form one GSO run: datagrams lie back to
 * back in the arena, so a run of one size (the last may be shorter) is one
 * buffer the kernel cuts into datagrams. */
static unsigned gso_run(const struct deliver_queue *q, unsigned i, size_t *ret_bytes)
{
	size_t size = q->iov[i].iov_len, total = size;
	unsigned k = i + 1;

	while (k < q->n && k - i < GSO_MAX_SEGMENTS && q->iov[k].iov_len <= size && q->iov[k].iov_len &&
	       total + q->iov[k].iov_len <= GSO_MAX_BYTES) {
		total += q->iov[k++].iov_len;
		if (q->iov[k - 1].iov_len < size)
			break;
	}
	*ret_bytes = total;
	return k - i;
}

/* One message per GSO run: the kernel builds and routes one packet for a
 * whole run instead of one per datagram, which is most of what a
 * datagram costs on loopback.  Returns the number of messages. */
static unsigned pack_runs(struct deliver_queue *q, const struct user_proxy *p)
{
	unsigned m = 0;

	for (unsigned i = 0; i < q->n; m++) {
		size_t bytes = q->iov[i].iov_len;
		unsigned n = p->no_gso ? 1 : gso_run(q, i, &bytes);
		struct msghdr *h = &q->out[m].msg_hdr;

		q->run_iov[m] = (struct iovec){ .iov_base = q->iov[i].iov_base, .iov_len = bytes };
		q->run_first[m] = i;
		q->run_len[m] = n;
		*h = q->hdr[i].msg_hdr;
		h->msg_iov = &q->run_iov[m];
		if (n > 1) {
			struct cmsghdr *c = (struct cmsghdr *)q->control[m];
			uint16_t gso_size = (uint16_t)q->iov[i].iov_len;

			/* the padding after the value goes to the kernel too */
			memset(q->control[m], 0, sizeof(q->control[m]));
			h->msg_control = q->control[m];
			h->msg_controllen = sizeof(q->control[m]);
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(gso_size));
			memcpy(CMSG_DATA(c), &gso_size, sizeof(gso_size));
		}
		i += n;
	}
	return m;
}

/* A run the kernel refused as GSO (an old kernel): GSO off for the proxy,
 * the run again datagram by datagram. */
static void send_run_unsegmented(struct user_proxy *p, const struct deliver_queue *q, unsigned m)
{
	p->no_gso = true;
	for (unsigned k = q->run_first[m]; k < q->run_first[m] + q->run_len[m]; k++) {
		if (sendmsg(p->fd, &q->hdr[k].msg_hdr, MSG_DONTWAIT) < 0) {
			p->stats.drop_to_wg++;
			continue;
		}
		p->stats.to_wg_packets++;
		p->stats.to_wg_bytes += q->iov[k].iov_len;
	}
}

/* Sends what @q holds for its owner; a datagram refused otherwise (say,
 * ECONNREFUSED after WireGuard's port closed) is dropped, not retried. */
static void flush_queue(struct deliver_queue *q)
{
	struct user_proxy *p = q->owner;
	unsigned m = pack_runs(q, p), i = 0;

	while (i < m) {
		int r = sendmmsg(p->fd, q->out + i, m - i, MSG_DONTWAIT);

		for (unsigned k = i; r > 0 && k < i + (unsigned)r; k++) {
			p->stats.to_wg_packets += q->run_len[k];
			p->stats.to_wg_bytes += q->run_iov[k].iov_len;
		}
		if (r > 0)
			i += (unsigned)r;
		else if (q->run_len[i] > 1 && (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT))
			send_run_unsegmented(p, q, i++);
		else
			p->stats.drop_to_wg += q->run_len[i++];
	}
	q->owner = NULL;
	q->n = 0;
	q->used = 0;
}

void user_proxy_deliver(struct user_proxy *p, const uint8_t *buf, size_t len)
{
	struct deliver_queue *q = get_queue();
	uint8_t *slot;

	if (len > UDP_MAX_PAYLOAD) {
		p->stats.drop_to_wg++;
		return;
	}
	if (q->owner && (q->owner != p || q->used + len > sizeof(q->arena)))
		flush_queue(q);
	slot = q->arena + q->used;
	memcpy(slot, buf, len);
	q->iov[q->n] = (struct iovec){ .iov_base = slot, .iov_len = len };
	q->hdr[q->n].msg_hdr = (struct msghdr){
		.msg_name = &p->wg,
		.msg_namelen = wg_sockaddr_len(&p->wg),
		.msg_iov = &q->iov[q->n],
		.msg_iovlen = 1,
	};
	q->owner = p;
	q->n++;
	q->used += len;
	if (q->n >= p->batch)
		flush_queue(q);
}

/* Ready while the proxy owns queued datagrams: libnice's socket source
 * has drained its socket for now. */
static gboolean flush_prepare(GSource *source, gint *timeout)
{
	const struct deliver_queue *q = g_private_get(&thread_queue);

	*timeout = -1;
	return q && q->n && q->owner == ((struct flush_source *)source)->proxy;
}

static gboolean flush_dispatch(GSource *source, GSourceFunc callback, gpointer data)
{
	struct deliver_queue *q = g_private_get(&thread_queue);

	if (q && q->n && q->owner == ((struct flush_source *)source)->proxy)
		flush_queue(q);
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs flush_funcs = {
	.prepare = flush_prepare,
	.check = NULL,
	.dispatch = flush_dispatch,
};

/* Datagrams still queued for @p: sent while its socket is still open
 * (free), or with the old port (set_wg_port). */
static void flush_own(struct user_proxy *p)
{
	struct deliver_queue *q = g_private_get(&thread_queue);

	if (q && q->owner == p)
		flush_queue(q);
}

/* ---- life cycle ---------------------------------------------------------------- */

static void loopback(union wg_sockaddr *sa, int family, uint16_t port)
{
	memset(sa, 0, sizeof(*sa));
	if (family == AF_INET6) {
		sa->in6.sin6_family = AF_INET6;
		sa->in6.sin6_addr = in6addr_loopback;
		sa->in6.sin6_port = htons(port);
	} else {
		sa->in.sin_family = AF_INET;
		sa->in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sa->in.sin_port = htons(port);
	}
}

static int open_socket(struct user_proxy *p, int family)
{
	socklen_t len = sizeof(p->local);
	int size = SOCKET_BUFFER;

	p->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0)
		return -errno;
	/* Best effort: a smaller buffer only means earlier drops. */
	(void)setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	(void)setsockopt(p->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	loopback(&p->local, family, 0);
	if (bind(p->fd, &p->local.sa, wg_sockaddr_len(&p->local)) < 0 ||
	    getsockname(p->fd, &p->local.sa, &len) < 0)
		return -errno;
	return 0;
}

struct user_proxy *user_proxy_new_full(NiceAgent *agent, guint stream, guint component, uint16_t wg_port,
				       int family, GError **error)
{
	g_autoptr(user_proxy) p = g_new0(struct user_proxy, 1);
	GMainContext *context = NULL;
	int r;

	g_return_val_if_fail(family == AF_INET || family == AF_INET6, NULL);
	p->fd = -1;
	p->agent = g_object_ref(agent);
	p->stream = stream;
	p->component = component;
	p->batch = USER_PROXY_MAX_BATCH;
	loopback(&p->wg, family, wg_port);
	r = open_socket(p, family);
	if (r < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-r), "user proxy: cannot bind a %s socket: %s",
			    family == AF_INET6 ? "::1" : "127.0.0.1", g_strerror(-r));
		return NULL;
	}
	/* The agent's context: deliver() is called from there too, so both
	 * directions stay in one thread. */
	g_object_get(agent, "main-context", &context, NULL);
	p->source = g_unix_fd_source_new(p->fd, G_IO_IN);
	g_source_set_callback(p->source, G_SOURCE_FUNC(on_readable), p, NULL);
	g_source_attach(p->source, context);
	p->flush = g_source_new(&flush_funcs, sizeof(struct flush_source));
	((struct flush_source *)p->flush)->proxy = p;
	g_source_attach(p->flush, context);
	return g_steal_pointer(&p);
}

struct user_proxy *user_proxy_new(NiceAgent *agent, guint stream, guint component, uint16_t wg_port,
				  GError **error)
{
	return user_proxy_new_full(agent, stream, component, wg_port, AF_INET, error);
}

void user_proxy_get_endpoint(const struct user_proxy *p, union wg_sockaddr *ret)
{
	*ret = p->local;
}

void user_proxy_set_agent(struct user_proxy *p, NiceAgent *agent, guint stream, guint component)
{
	g_object_ref(agent);
	g_clear_object(&p->agent);
	p->agent = agent;
	p->stream = stream;
	p->component = component;
}

void user_proxy_set_wg_port(struct user_proxy *p, uint16_t wg_port)
{
	flush_own(p);
	loopback(&p->wg, p->wg.sa.sa_family, wg_port);
}

void user_proxy_set_batch(struct user_proxy *p, unsigned batch)
{
	p->batch = CLAMP(batch, 1, USER_PROXY_MAX_BATCH);
}

void user_proxy_get_stats(struct user_proxy *p, struct user_proxy_stats *ret)
{
	flush_own(p);
	*ret = p->stats;
}

void user_proxy_free(struct user_proxy *p)
{
	if (!p)
		return;
	if (p->fd >= 0)
		flush_own(p);
	if (p->source) {
		g_source_destroy(p->source);
		g_source_unref(p->source);
	}
	if (p->flush) {
		g_source_destroy(p->flush);
		g_source_unref(p->flush);
	}
	if (p->fd >= 0)
		close(p->fd);
	g_clear_object(&p->agent);
	g_free(p);
}

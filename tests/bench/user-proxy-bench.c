/* user-proxy-bench: datagrams per second through the user proxy on
 * loopback, with and without batching.  Not part of `make check`; build and
 * run it with `make bench-user-proxy`.
 *
 * Two NiceAgents connect over 127.0.0.1 in one process.  Agent A (main
 * thread) carries the proxy; agent B has its own thread and main context and
 * counts what arrives.  A third thread plays WireGuard: it blasts datagrams
 * at the proxy's socket with sendmmsg, so that the proxy, not the sender, is
 * the bottleneck.  Each run reports what was offered, what the proxy handed
 * to libnice and what B received; the difference is what the proxy's socket
 * buffer or libnice dropped under overload.  A last run measures the other
 * direction: B sends, A's receive callback calls user_proxy_deliver(),
 * again with and without batching.
 *
 *   user-proxy-bench [SECONDS-PER-RUN [DATAGRAM-SIZE]]   (default 2, 1400) */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proxy/user-proxy.h"

#define SEND_BATCH 64

struct side {
	NiceAgent *agent;
	guint stream;
	GMainContext *context;
	GMainLoop *loop;
	gint gathered, selected, received; /* atomic */
	struct user_proxy *proxy;
};

struct bench {
	struct side a, b;
	int wg_fd; /* the fake WireGuard's socket */
	union wg_sockaddr proxy_ep;
	size_t size;
	gint stop; /* atomic */
	uint64_t offered;
	double cpu_seconds; /* of the proxy's thread in the last run */
};

static void on_gathered(NiceAgent *agent, guint stream, gpointer data)
{
	g_atomic_int_set(&((struct side *)data)->gathered, 1);
}

static void on_selected(NiceAgent *agent, guint stream, guint component, NiceCandidate *l, NiceCandidate *r,
			gpointer data)
{
	g_atomic_int_set(&((struct side *)data)->selected, 1);
}

static void on_receive(NiceAgent *agent, guint stream, guint component, guint len, gchar *buf, gpointer data)
{
	struct side *s = data;

	g_atomic_int_inc(&s->received);
	if (s->proxy)
		user_proxy_deliver(s->proxy, (const uint8_t *)buf, len);
}

static void side_init(struct side *s, GMainContext *context, bool controlling)
{
	NiceAddress addr;

	s->context = context;
	s->loop = g_main_loop_new(context, FALSE);
	s->agent = nice_agent_new(context, NICE_COMPATIBILITY_RFC5245);
	g_object_set(s->agent, "controlling-mode", controlling, "ice-tcp", FALSE, "upnp", FALSE, NULL);
	nice_address_set_from_string(&addr, "127.0.0.1");
	nice_agent_add_local_address(s->agent, &addr);
	s->stream = nice_agent_add_stream(s->agent, 1);
	g_signal_connect(s->agent, "candidate-gathering-done", G_CALLBACK(on_gathered), s);
	g_signal_connect(s->agent, "new-selected-pair-full", G_CALLBACK(on_selected), s);
	nice_agent_attach_recv(s->agent, s->stream, 1, context, on_receive, s);
	nice_agent_gather_candidates(s->agent, s->stream);
}

/* Gives @to the credentials and candidates of @from. */
static void introduce(struct side *from, struct side *to)
{
	g_autofree char *ufrag = NULL, *pwd = NULL;
	GSList *cands = nice_agent_get_local_candidates(from->agent, from->stream, 1);

	nice_agent_get_local_credentials(from->agent, from->stream, &ufrag, &pwd);
	nice_agent_set_remote_credentials(to->agent, to->stream, ufrag, pwd);
	nice_agent_set_remote_candidates(to->agent, to->stream, 1, cands);
	g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
}

static gpointer run_loop(gpointer data)
{
	g_main_loop_run(((struct side *)data)->loop);
	return NULL;
}

/* Runs the main context until *@flag is set or 10 s pass. */
static bool wait_flag(gint *flag)
{
	gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

	while (!g_atomic_int_get(flag) && g_get_monotonic_time() < deadline)
		g_main_context_iteration(NULL, TRUE);
	return g_atomic_int_get(flag);
}

/* WireGuard at full speed: SEND_BATCH datagrams per system call. */
static gpointer blast_wireguard(gpointer data)
{
	struct bench *b = data;
	g_autofree uint8_t *buf = g_malloc0(b->size);
	struct mmsghdr msgs[SEND_BATCH];
	struct iovec iov = { .iov_base = buf, .iov_len = b->size };

	for (int i = 0; i < SEND_BATCH; i++)
		msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1 };
	while (!g_atomic_int_get(&b->stop)) {
		int n = sendmmsg(b->wg_fd, msgs, SEND_BATCH, 0);

		if (n > 0)
			b->offered += (unsigned)n;
	}
	return NULL;
}

/* The peer at full speed, towards A and its proxy. */
static gpointer blast_peer(gpointer data)
{
	struct bench *b = data;
	g_autofree uint8_t *buf = g_malloc0(b->size);
	GOutputVector vec = { .buffer = buf, .size = b->size };
	NiceOutputMessage msgs[SEND_BATCH];

	for (int i = 0; i < SEND_BATCH; i++)
		msgs[i] = (NiceOutputMessage){ .buffers = &vec, .n_buffers = 1 };
	while (!g_atomic_int_get(&b->stop)) {
		gint n = nice_agent_send_messages_nonblocking(b->b.agent, b->b.stream, 1, msgs, SEND_BATCH, NULL, NULL);

		if (n > 0)
			b->offered += (unsigned)n;
		else
			g_thread_yield();
	}
	return NULL;
}

static gboolean quit_loop(gpointer data)
{
	g_main_loop_quit(data);
	return G_SOURCE_REMOVE;
}

static double thread_cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One timed run with @blaster sending; returns the proxy's counters. */
static void timed_run(struct bench *b, GThreadFunc blaster, unsigned seconds, struct user_proxy_stats *ret)
{
	GSource *timer = g_timeout_source_new_seconds(seconds);
	struct user_proxy_stats before;
	GThread *thread;

	user_proxy_get_stats(b->a.proxy, &before);
	g_atomic_int_set(&b->b.received, 0);
	g_atomic_int_set(&b->stop, 0);
	b->offered = 0;
	g_source_set_callback(timer, quit_loop, b->a.loop, NULL);
	g_source_attach(timer, NULL);
	thread = g_thread_new("blaster", blaster, b);
	b->cpu_seconds = thread_cpu_seconds();
	g_main_loop_run(b->a.loop);
	b->cpu_seconds = thread_cpu_seconds() - b->cpu_seconds;
	g_atomic_int_set(&b->stop, 1);
	g_thread_join(thread);
	g_source_destroy(timer);
	g_source_unref(timer);
	user_proxy_get_stats(b->a.proxy, ret);
	ret->to_peer_packets -= before.to_peer_packets;
	ret->to_wg_packets -= before.to_wg_packets;
	ret->drop_to_peer -= before.drop_to_peer;
	ret->drop_to_wg -= before.drop_to_wg;
}

/* The proxy thread's CPU time per datagram is the figure that contention
 * on a small machine does not distort: its inverse is what one core could
 * carry. */
static void print_cpu(const struct bench *b, uint64_t packets)
{
	double us = packets ? b->cpu_seconds * 1e6 / (double)packets : 0;

	printf("    proxy thread: %.2f us CPU per datagram (one core: ~%.0f/s)\n", us, us > 0 ? 1e6 / us : 0);
}

static void run_to_peer(struct bench *b, unsigned batch, unsigned seconds)
{
	struct user_proxy_stats s;

	user_proxy_set_batch(b->a.proxy, batch);
	timed_run(b, blast_wireguard, seconds, &s);
	printf("wg->peer batch %2u: offered %8.0f/s  proxied %8.0f/s  received by peer %8.0f/s  "
	       "libnice drops %" G_GUINT64_FORMAT "\n",
	       batch, (double)b->offered / seconds, (double)s.to_peer_packets / seconds,
	       (double)g_atomic_int_get(&b->b.received) / seconds, s.drop_to_peer);
	print_cpu(b, s.to_peer_packets);
}

static void run_to_wg(struct bench *b, unsigned batch, unsigned seconds)
{
	struct user_proxy_stats s;

	user_proxy_set_batch(b->a.proxy, batch);
	timed_run(b, blast_peer, seconds, &s);
	printf("peer->wg batch %2u: offered %8.0f/s  delivered %8.0f/s  send failures %" G_GUINT64_FORMAT "\n",
	       batch, (double)b->offered / seconds, (double)s.to_wg_packets / seconds, s.drop_to_wg);
	print_cpu(b, s.to_wg_packets);
}

/* The fake WireGuard: a socket on 127.0.0.1 connected to the proxy. */
static int open_wireguard(struct bench *b, uint16_t *ret_port)
{
	union wg_sockaddr sa = { .in = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) } };
	socklen_t len = sizeof(sa.in);

	b->wg_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (b->wg_fd < 0 || bind(b->wg_fd, &sa.sa, len) < 0 || getsockname(b->wg_fd, &sa.sa, &len) < 0)
		return -errno;
	*ret_port = ntohs(sa.in.sin_port);
	return 0;
}

static int connect_agents(struct bench *b)
{
	GMainContext *b_context = g_main_context_new();
	GThread *b_thread;

	side_init(&b->a, NULL, true);
	side_init(&b->b, b_context, false);
	b_thread = g_thread_new("peer", run_loop, &b->b);
	g_thread_unref(b_thread);
	g_main_context_unref(b_context);
	if (!wait_flag(&b->a.gathered) || !wait_flag(&b->b.gathered))
		return -ETIMEDOUT;
	introduce(&b->a, &b->b);
	introduce(&b->b, &b->a);
	if (!wait_flag(&b->a.selected) || !wait_flag(&b->b.selected))
		return -ETIMEDOUT;
	return 0;
}

int main(int argc, char **argv)
{
	struct bench b = { .size = 1400 };
	unsigned seconds = argc > 1 ? (unsigned)atoi(argv[1]) : 2;
	g_autoptr(GError) error = NULL;
	uint16_t wg_port = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 2)
		b.size = (size_t)atoi(argv[2]);
	if (!seconds || seconds > 60 || b.size < 1 || b.size > 65000) {
		fprintf(stderr, "usage: user-proxy-bench [SECONDS 1-60 [SIZE 1-65000]]\n");
		return 2;
	}
	if (open_wireguard(&b, &wg_port) < 0 || connect_agents(&b) < 0) {
		fprintf(stderr, "user-proxy-bench: setup failed\n");
		return 1;
	}
	b.a.proxy = user_proxy_new(b.a.agent, b.a.stream, 1, wg_port, &error);
	if (!b.a.proxy) {
		fprintf(stderr, "user-proxy-bench: %s\n", error->message);
		return 1;
	}
	user_proxy_get_endpoint(b.a.proxy, &b.proxy_ep);
	if (connect(b.wg_fd, &b.proxy_ep.sa, wg_sockaddr_len(&b.proxy_ep)) < 0)
		return 1;
	printf("%zu-byte datagrams, %u s per run, loopback\n", b.size, seconds);
	run_to_peer(&b, USER_PROXY_MAX_BATCH, seconds);
	run_to_peer(&b, 1, seconds);
	run_to_wg(&b, USER_PROXY_MAX_BATCH, seconds);
	run_to_wg(&b, 1, seconds);
	/* The process ends here: the agents, threads and sockets go with it. */
	return 0;
}

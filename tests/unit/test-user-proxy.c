/* The user proxy's batching (proxy/user-proxy.c) with real libnice: two
 * agents connect over 127.0.0.1 in one main context, agent A carries a
 * proxy, and a plain UDP socket plays WireGuard.  Bursts of numbered
 * datagrams of mixed sizes (runs of one size, as the GSO sends group them,
 * and sizes up to a 1500-byte MTU) must arrive complete, in order and
 * intact in both directions, and the counters must agree. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "proxy/user-proxy.h"

#define BURSTS 12
#define BURST 48
#define MAX_SIZE 1472 /* a 1500-byte MTU's UDP payload */

struct side {
	NiceAgent *agent;
	guint stream;
	bool gathered, selected;
	struct user_proxy *proxy;
	unsigned next; /* B: the sequence number expected next */
	unsigned bad;  /* B: out of order, wrong size or content */
};

static struct side a, b;
static int wg_fd;

/* Runs of 5 datagrams of one size, the sizes all over 8..MAX_SIZE. */
static size_t size_of(unsigned seq)
{
	unsigned run = seq / 5;

	return seq % 5 == 4 && run % 2 ? 8 + run % 50 : 8 + (run * 389u) % (MAX_SIZE - 7);
}

static void fill(uint8_t *buf, unsigned seq)
{
	size_t len = size_of(seq);

	memcpy(buf, &seq, sizeof(seq));
	for (size_t i = sizeof(seq); i < len; i++)
		buf[i] = (uint8_t)(seq + i);
}

static bool intact(const uint8_t *buf, size_t len, unsigned seq)
{
	unsigned got;

	if (len != size_of(seq))
		return false;
	memcpy(&got, buf, sizeof(got));
	if (got != seq)
		return false;
	for (size_t i = sizeof(seq); i < len; i++)
		if (buf[i] != (uint8_t)(seq + i))
			return false;
	return true;
}

static void on_gathered(NiceAgent *agent, guint stream, gpointer data)
{
	((struct side *)data)->gathered = true;
}

static void on_selected(NiceAgent *agent, guint stream, guint component, NiceCandidate *l, NiceCandidate *r,
			gpointer data)
{
	((struct side *)data)->selected = true;
}

static void on_receive(NiceAgent *agent, guint stream, guint component, guint len, gchar *buf, gpointer data)
{
	struct side *s = data;

	if (s->proxy) {
		user_proxy_deliver(s->proxy, (const uint8_t *)buf, len);
		return;
	}
	if (!intact((const uint8_t *)buf, len, s->next))
		s->bad++;
	s->next++;
}

static void side_init(struct side *s, bool controlling)
{
	NiceAddress addr;

	s->agent = nice_agent_new(NULL, NICE_COMPATIBILITY_RFC5245);
	g_object_set(s->agent, "controlling-mode", controlling, "ice-tcp", FALSE, "upnp", FALSE, NULL);
	nice_address_set_from_string(&addr, "127.0.0.1");
	nice_agent_add_local_address(s->agent, &addr);
	s->stream = nice_agent_add_stream(s->agent, 1);
	g_signal_connect(s->agent, "candidate-gathering-done", G_CALLBACK(on_gathered), s);
	g_signal_connect(s->agent, "new-selected-pair-full", G_CALLBACK(on_selected), s);
	nice_agent_attach_recv(s->agent, s->stream, 1, NULL, on_receive, s);
	cr_assert(nice_agent_gather_candidates(s->agent, s->stream));
}

static void introduce(struct side *to, struct side *from)
{
	g_autofree gchar *ufrag = NULL, *pwd = NULL;
	GSList *cands;

	nice_agent_get_local_credentials(from->agent, from->stream, &ufrag, &pwd);
	nice_agent_set_remote_credentials(to->agent, to->stream, ufrag, pwd);
	cands = nice_agent_get_local_candidates(from->agent, from->stream, 1);
	nice_agent_set_remote_candidates(to->agent, to->stream, 1, cands);
	g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
}

static bool iterate_until(bool *flag)
{
	gint64 deadline = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;

	while (!*flag && g_get_monotonic_time() < deadline)
		g_main_context_iteration(NULL, FALSE);
	return *flag;
}

static void setup(void)
{
	union wg_sockaddr sa = { .in = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) } };
	socklen_t len = sizeof(sa.in);
	union wg_sockaddr ep;
	int size = 4 << 20;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	wg_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	cr_assert(wg_fd >= 0 && bind(wg_fd, &sa.sa, len) == 0 && getsockname(wg_fd, &sa.sa, &len) == 0);
	(void)setsockopt(wg_fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	side_init(&a, true);
	side_init(&b, false);
	cr_assert(iterate_until(&a.gathered) && iterate_until(&b.gathered));
	introduce(&a, &b);
	introduce(&b, &a);
	cr_assert(iterate_until(&a.selected) && iterate_until(&b.selected), "ICE selected no pair");
	a.proxy = user_proxy_new(a.agent, a.stream, 1, ntohs(sa.in.sin_port), NULL);
	cr_assert(a.proxy);
	user_proxy_get_endpoint(a.proxy, &ep);
	cr_assert(connect(wg_fd, &ep.sa, wg_sockaddr_len(&ep)) == 0);
}

static void teardown(void)
{
	user_proxy_free(a.proxy);
	g_object_unref(a.agent);
	g_object_unref(b.agent);
	close(wg_fd);
}

TestSuite(user_proxy, .init = setup, .fini = teardown, .timeout = 60);

/* B -> libnice -> proxy (queued, GSO runs) -> the WireGuard socket. */
Test(user_proxy, to_wireguard_in_order_and_whole)
{
	static uint8_t buf[65536];
	struct user_proxy_stats st;
	unsigned seq = 0, expect = 0, bytes = 0;

	for (unsigned burst = 0; burst < BURSTS; burst++) {
		gint64 deadline = g_get_monotonic_time() + 5 * G_TIME_SPAN_SECOND;

		for (unsigned i = 0; i < BURST; i++, seq++) {
			fill(buf, seq);
			cr_assert_eq(nice_agent_send(b.agent, b.stream, 1, (guint)size_of(seq), (gchar *)buf),
				     (gint)size_of(seq));
		}
		while (expect < seq && g_get_monotonic_time() < deadline) {
			ssize_t n = recv(wg_fd, buf, sizeof(buf), 0);

			if (n < 0) {
				cr_assert_eq(errno, EAGAIN);
				g_main_context_iteration(NULL, FALSE);
				continue;
			}
			cr_assert(intact(buf, (size_t)n, expect), "datagram %u: %zd bytes, out of order or damaged",
				  expect, n);
			bytes += (unsigned)n;
			expect++;
		}
		cr_assert_eq(expect, seq, "burst %u: %u of %u datagrams reached WireGuard", burst, expect, seq);
	}
	user_proxy_get_stats(a.proxy, &st);
	cr_assert_eq(st.to_wg_packets, seq);
	cr_assert_eq(st.to_wg_bytes, bytes);
	cr_assert_eq(st.drop_to_wg, 0);
}

/* The WireGuard socket -> proxy (recvmmsg, one libnice call) -> B. */
Test(user_proxy, to_peer_in_order_and_whole)
{
	static uint8_t data[BURST][MAX_SIZE];
	struct mmsghdr hdr[BURST];
	struct iovec iov[BURST];
	struct user_proxy_stats st;
	unsigned seq = 0;

	for (unsigned burst = 0; burst < BURSTS; burst++) {
		gint64 deadline = g_get_monotonic_time() + 5 * G_TIME_SPAN_SECOND;

		for (unsigned i = 0; i < BURST; i++, seq++) {
			fill(data[i], seq);
			iov[i] = (struct iovec){ .iov_base = data[i], .iov_len = size_of(seq) };
			hdr[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
		}
		cr_assert_eq(sendmmsg(wg_fd, hdr, BURST, 0), BURST);
		while (b.next < seq && g_get_monotonic_time() < deadline)
			g_main_context_iteration(NULL, FALSE);
		cr_assert_eq(b.next, seq, "burst %u: %u of %u datagrams reached the peer", burst, b.next, seq);
	}
	cr_assert_eq(b.bad, 0, "%u datagrams out of order or damaged", b.bad);
	user_proxy_get_stats(a.proxy, &st);
	cr_assert_eq(st.to_peer_packets, seq);
	cr_assert_eq(st.drop_to_peer + st.drop_foreign, 0);
}

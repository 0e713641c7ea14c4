/* icepeer: one side of tests/proxy/user.test.  Runs a real NiceAgent (host
 * candidates on one given address, no servers), swaps its SDP with the other
 * side through two FIFOs, and once a pair is selected starts a user proxy and
 * points the local WireGuard's peer at it, as the daemon does for relayed
 * pairs.  On SIGTERM it prints the proxy's counters and exits.
 *
 *   icepeer IFNAME PEER-PUBKEY LOCAL-ADDR SEND-FIFO RECV-FIFO controlling|controlled [ipv6]
 *
 * With "ipv6" the proxy listens on ::1 instead of 127.0.0.1.
 *
 * Each SDP travels as one line of base64.  Both FIFOs are opened read-write,
 * so neither side waits for the other to open them and a side that starts
 * late still finds the other's line in the pipe. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proxy/user-proxy.h"
#include "wg/wg.h"

struct icepeer {
	const char *ifname;
	uint8_t peer_key[WG_KEY_LEN];
	uint16_t wg_port;
	int proxy_family;
	NiceAgent *agent;
	guint stream;
	int send_fd, recv_fd;
	GSource *recv_source;
	GString *inbox;
	struct user_proxy *proxy;
	GMainLoop *loop;
	int status;
};

static void fail(struct icepeer *ip, const char *what, const char *why)
{
	fprintf(stderr, "icepeer: %s: %s\n", what, why);
	ip->status = 1;
	g_main_loop_quit(ip->loop);
}

static void on_gathering_done(NiceAgent *agent, guint stream, gpointer data)
{
	struct icepeer *ip = data;
	g_autofree char *sdp = nice_agent_generate_local_sdp(agent);
	g_autofree char *b64 = g_base64_encode((const guchar *)sdp, strlen(sdp));
	g_autofree char *line = g_strconcat(b64, "\n", NULL);

	if (write(ip->send_fd, line, strlen(line)) != (ssize_t)strlen(line))
		fail(ip, "cannot send the SDP", g_strerror(errno));
}

/* One line from the other side: its SDP. */
static gboolean on_sdp_readable(gint fd, GIOCondition condition, gpointer data)
{
	struct icepeer *ip = data;
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));
	char *nl;
	gsize len;
	g_autofree char *sdp = NULL;

	if (n > 0)
		g_string_append_len(ip->inbox, buf, n);
	nl = strchr(ip->inbox->str, '\n');
	if (!nl)
		return G_SOURCE_CONTINUE;
	*nl = '\0';
	sdp = (char *)g_base64_decode(ip->inbox->str, &len);
	sdp = g_realloc(sdp, len + 1);
	sdp[len] = '\0';
	if (nice_agent_parse_remote_sdp(ip->agent, sdp) < 0)
		fail(ip, "cannot parse the remote SDP", ip->inbox->str);
	g_source_unref(g_steal_pointer(&ip->recv_source));
	return G_SOURCE_REMOVE;
}

static void print_candidate(const char *label, const NiceCandidate *c)
{
	char addr[NICE_ADDRESS_STRING_LEN];

	nice_address_to_string(&c->addr, addr);
	printf(" %s %s:%u", label, addr, nice_address_get_port(&c->addr));
}

static int start_proxy(struct icepeer *ip)
{
	g_autoptr(GError) error = NULL;
	union wg_sockaddr ep;
	char text[64];

	ip->proxy = user_proxy_new_full(ip->agent, ip->stream, 1, ip->wg_port, ip->proxy_family, &error);
	if (!ip->proxy) {
		fail(ip, "cannot start the user proxy", error->message);
		return -EIO;
	}
	user_proxy_get_endpoint(ip->proxy, &ep);
	wg_endpoint_format(&ep, text, sizeof(text));
	printf("proxy %s\n", text);
	return wg_set_peer_endpoint(NULL, ip->ifname, ip->peer_key, &ep);
}

static void on_selected_pair(NiceAgent *agent, guint stream, guint component, NiceCandidate *local,
			     NiceCandidate *remote, gpointer data)
{
	struct icepeer *ip = data;
	int r;

	printf("selected");
	print_candidate("local", local);
	print_candidate("remote", remote);
	printf("\n");
	/* The proxy sends over whichever pair is selected: a later pair
	 * needs no change. */
	if (ip->proxy)
		return;
	r = start_proxy(ip);
	if (r < 0)
		fail(ip, "cannot set the WireGuard endpoint", g_strerror(-r));
}

static void on_receive(NiceAgent *agent, guint stream, guint component, guint len, gchar *buf, gpointer data)
{
	struct icepeer *ip = data;

	if (ip->proxy)
		user_proxy_deliver(ip->proxy, (const uint8_t *)buf, len);
}

static gboolean on_signal(gpointer data)
{
	struct icepeer *ip = data;

	g_main_loop_quit(ip->loop);
	return G_SOURCE_CONTINUE;
}

static int start_agent(struct icepeer *ip, const char *local_addr, bool controlling)
{
	NiceAddress addr;

	if (!nice_address_set_from_string(&addr, local_addr))
		return -EINVAL;
	ip->agent = nice_agent_new(NULL, NICE_COMPATIBILITY_RFC5245);
	g_object_set(ip->agent, "controlling-mode", controlling, "ice-tcp", FALSE, "upnp", FALSE, NULL);
	nice_agent_add_local_address(ip->agent, &addr);
	ip->stream = nice_agent_add_stream(ip->agent, 1);
	nice_agent_set_stream_name(ip->agent, ip->stream, "application");
	g_signal_connect(ip->agent, "candidate-gathering-done", G_CALLBACK(on_gathering_done), ip);
	g_signal_connect(ip->agent, "new-selected-pair-full", G_CALLBACK(on_selected_pair), ip);
	nice_agent_attach_recv(ip->agent, ip->stream, 1, NULL, on_receive, ip);
	return nice_agent_gather_candidates(ip->agent, ip->stream) ? 0 : -EIO;
}

static void print_stats(const struct icepeer *ip)
{
	struct user_proxy_stats s;

	if (!ip->proxy) {
		printf("stats none\n");
		return;
	}
	user_proxy_get_stats(ip->proxy, &s);
	printf("stats to_peer %" G_GUINT64_FORMAT " packets %" G_GUINT64_FORMAT " bytes, to_wg %" G_GUINT64_FORMAT
	       " packets %" G_GUINT64_FORMAT " bytes, drops foreign %" G_GUINT64_FORMAT " to_peer %" G_GUINT64_FORMAT
	       " to_wg %" G_GUINT64_FORMAT "\n",
	       s.to_peer_packets, s.to_peer_bytes, s.to_wg_packets, s.to_wg_bytes, s.drop_foreign, s.drop_to_peer,
	       s.drop_to_wg);
}

static int setup(struct icepeer *ip, char **argv)
{
	struct wg_device *dev = NULL;
	int r;

	ip->ifname = argv[1];
	ip->proxy_family = argv[7] && !strcmp(argv[7], "ipv6") ? AF_INET6 : AF_INET;
	if (wg_key_init() < 0 || !wg_key_from_base64(ip->peer_key, argv[2])) {
		fprintf(stderr, "icepeer: invalid key '%s'\n", argv[2]);
		return -EINVAL;
	}
	r = wg_get(ip->ifname, &dev);
	if (r < 0) {
		fprintf(stderr, "icepeer: cannot read '%s': %s\n", ip->ifname, strerror(-r));
		return r;
	}
	ip->wg_port = dev->listen_port;
	wg_device_free(dev);
	ip->send_fd = open(argv[4], O_RDWR | O_CLOEXEC);
	ip->recv_fd = open(argv[5], O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (ip->send_fd < 0 || ip->recv_fd < 0) {
		fprintf(stderr, "icepeer: cannot open the FIFOs: %s\n", strerror(errno));
		return -errno;
	}
	r = start_agent(ip, argv[3], !strcmp(argv[6], "controlling"));
	if (r < 0)
		fprintf(stderr, "icepeer: cannot start the agent on '%s'\n", argv[3]);
	return r;
}

int main(int argc, char **argv)
{
	struct icepeer ip = { .send_fd = -1, .recv_fd = -1 };
	GSource *sigterm, *sigint;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 7 && argc != 8) {
		fprintf(stderr, "usage: icepeer IFNAME PEER-PUBKEY LOCAL-ADDR SEND-FIFO RECV-FIFO "
				"controlling|controlled [ipv6]\n");
		return 2;
	}
	ip.loop = g_main_loop_new(NULL, FALSE);
	ip.inbox = g_string_new(NULL);
	if (setup(&ip, argv) < 0)
		return 1;
	ip.recv_source = g_unix_fd_source_new(ip.recv_fd, G_IO_IN);
	g_source_set_callback(ip.recv_source, G_SOURCE_FUNC(on_sdp_readable), &ip, NULL);
	g_source_attach(ip.recv_source, NULL);
	sigterm = g_unix_signal_source_new(SIGTERM);
	sigint = g_unix_signal_source_new(SIGINT);
	g_source_set_callback(sigterm, on_signal, &ip, NULL);
	g_source_set_callback(sigint, on_signal, &ip, NULL);
	/* Below the sockets: datagrams that arrived before the signal are
	 * counted before the counters are printed. */
	g_source_set_priority(sigterm, G_PRIORITY_LOW);
	g_source_set_priority(sigint, G_PRIORITY_LOW);
	g_source_attach(sigterm, NULL);
	g_source_attach(sigint, NULL);
	g_main_loop_run(ip.loop);

	print_stats(&ip);
	g_source_destroy(sigterm);
	g_source_destroy(sigint);
	g_source_unref(sigterm);
	g_source_unref(sigint);
	if (ip.recv_source) {
		g_source_destroy(ip.recv_source);
		g_source_unref(ip.recv_source);
	}
	user_proxy_free(ip.proxy);
	g_object_unref(ip.agent);
	g_string_free(ip.inbox, TRUE);
	g_main_loop_unref(ip.loop);
	close(ip.send_fd);
	close(ip.recv_fd);
	return ip.status;
}

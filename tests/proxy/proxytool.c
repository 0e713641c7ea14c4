/* proxytool: drives proxy/nft-proxy.c from tests/proxy/nft.test and
 * proxy/nft-relay.c from tests/proxy/relay.test, and plays the small UDP
 * parts of the first.
 *
 *   proxytool nft-available            exit 0 if the nft proxy can work here
 *   proxytool nft TABLE CMDFILE        create the table, then run commands
 *                                      read from CMDFILE (a FIFO) until EOF:
 *                                        set HANDLE WG-PORT ICE-PORT ADDR PORT
 *                                        remove HANDLE
 *                                        restore (if the table is gone)
 *                                      answering "ok" or "error: ..." each
 *   proxytool relay PREFIX IFNAME CMDFILE
 *                                      create the relay table for IFNAME,
 *                                      print "ready TABLE", then run
 *                                      commands read from CMDFILE until EOF
 *                                      or SIGTERM, then free the table:
 *                                        set [PREFIX/LEN...]
 *                                        counters
 *                                        restore (if the table is gone)
 *                                      answering "ok ..." or "error: ..."
 *   proxytool udp-record PORT          print one line per datagram received
 *                                      on [::]:PORT (IPv4 too)
 *   proxytool udp-send SPORT ADDR PORT HEX
 *                                      send one datagram from source port
 *                                      SPORT, even if a socket holds it: the
 *                                      test must imitate a peer's ICE socket
 *                                      on the port its WireGuard listens on
 *
 * Output is line-buffered so that tests can wait for lines in its log. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>

#include "proxy/nft-proxy.h"
#include "proxy/nft-relay.h"

static int usage(void)
{
	fprintf(stderr, "usage: proxytool nft-available | nft TABLE CMDFILE | relay PREFIX IFNAME CMDFILE |\n"
			"                 udp-record PORT | udp-send SPORT ADDR PORT HEX\n");
	return 2;
}

static bool parse_port(const char *text, uint16_t *ret)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(text, &end, 10);
	if (*text < '0' || *text > '9' || errno || *end || n > 65535) {
		fprintf(stderr, "proxytool: invalid port '%s'\n", text);
		return false;
	}
	*ret = (uint16_t)n;
	return true;
}

/* ---- nft ------------------------------------------------------------------- */

/* "set HANDLE WG-PORT ICE-PORT ADDR PORT" */
static bool nft_set(struct nft_proxy *proxy, char **argv, GError **error)
{
	uint16_t wg_port, ice_port, port;
	g_autoptr(GInetAddress) addr = g_inet_address_new_from_string(argv[4]);
	g_autoptr(GSocketAddress) remote = NULL;

	if (!parse_port(argv[2], &wg_port) || !parse_port(argv[3], &ice_port) || !parse_port(argv[5], &port) ||
	    !addr) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "bad arguments");
		return false;
	}
	remote = g_inet_socket_address_new(addr, port);
	return nft_proxy_set_peer(proxy, argv[1], wg_port, ice_port, G_INET_SOCKET_ADDRESS(remote), error);
}

static bool nft_command(struct nft_proxy *proxy, char *line, GError **error)
{
	g_auto(GStrv) argv = NULL;
	guint argc;

	g_strstrip(line);
	argv = g_strsplit_set(line, " \t", 0);
	argc = g_strv_length(argv);
	if (argc == 6 && !strcmp(argv[0], "set"))
		return nft_set(proxy, argv, error);
	if (argc == 2 && !strcmp(argv[0], "remove"))
		return nft_proxy_remove_peer(proxy, argv[1], error);
	if (argc == 1 && !strcmp(argv[0], "restore"))
		return nft_proxy_table_exists(proxy) || nft_proxy_restore(proxy, error);
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "unknown command '%s'", line);
	return false;
}

static int cmd_nft(const char *table, const char *cmdfile)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(nft_proxy) proxy = nft_proxy_new(table, &error);
	char line[256];
	FILE *in;

	if (!proxy) {
		fprintf(stderr, "proxytool: %s\n", error->message);
		return 1;
	}
	printf("ready\n");
	in = fopen(cmdfile, "r");
	if (!in) {
		fprintf(stderr, "proxytool: cannot open '%s': %s\n", cmdfile, strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof(line), in)) {
		if (nft_command(proxy, line, &error))
			printf("ok %u peers\n", nft_proxy_n_peers(proxy));
		else
			printf("error: %s\n", error->message);
		g_clear_error(&error);
	}
	fclose(in);
	return 0;
}

/* ---- relay ------------------------------------------------------------------ */

/* "set PREFIX/LEN..." */
static bool relay_set(struct nft_relay *relay, char **argv, guint argc, GError **error)
{
	g_autofree struct wg_allowed_ip *prefixes = g_new0(struct wg_allowed_ip, argc);

	for (guint i = 0; i < argc; i++) {
		if (!wg_allowed_ip_parse(argv[i], &prefixes[i])) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "bad prefix '%s'", argv[i]);
			return false;
		}
	}
	return nft_relay_set(relay, prefixes, argc, error);
}

static bool relay_command(struct nft_relay *relay, char *line, GError **error)
{
	g_auto(GStrv) argv = NULL;
	guint argc;
	uint64_t packets, bytes;

	g_strstrip(line);
	argv = g_strsplit_set(line, " \t", 0);
	argc = g_strv_length(argv);
	if (argc >= 1 && !strcmp(argv[0], "set"))
		return relay_set(relay, argv + 1, argc - 1, error);
	if (argc == 1 && !strcmp(argv[0], "counters")) {
		if (!nft_relay_counters(relay, &packets, &bytes)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot read the counters");
			return false;
		}
		printf("counters %" PRIu64 " packets %" PRIu64 " bytes\n", packets, bytes);
		return true;
	}
	if (argc == 1 && !strcmp(argv[0], "restore"))
		return nft_relay_table_exists(relay) || nft_relay_restore(relay, error);
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "unknown command '%s'", line);
	return false;
}

static volatile sig_atomic_t stop_signal;

/* Interrupts the read (no SA_RESTART) or stops before the next one. */
static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

static int cmd_relay(const char *prefix, const char *ifname, const char *cmdfile)
{
	struct sigaction sa = { .sa_handler = on_stop_signal }; /* no SA_RESTART */
	g_autoptr(GError) error = NULL;
	g_autoptr(nft_relay) relay = nft_relay_new(prefix, ifname, &error);
	char line[8192];
	FILE *in;

	if (!relay) {
		fprintf(stderr, "proxytool: %s\n", error->message);
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	printf("ready %s\n", nft_relay_table(relay));
	in = fopen(cmdfile, "r");
	if (!in) {
		fprintf(stderr, "proxytool: cannot open '%s': %s\n", cmdfile, strerror(errno));
		return 1;
	}
	while (!stop_signal && fgets(line, sizeof(line), in)) {
		if (relay_command(relay, line, &error))
			printf("ok\n");
		else
			printf("error: %s\n", error->message);
		g_clear_error(&error);
	}
	fclose(in);
	return 0;
}

/* ---- UDP ------------------------------------------------------------------- */

static int cmd_udp_record(const char *port_text)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	uint8_t buf[2048];
	int off = 0, fd = socket(AF_INET6, SOCK_DGRAM, 0);
	uint16_t port;

	if (!parse_port(port_text, &port) || fd < 0)
		return 1;
	sin6.sin6_port = htons(port);
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	if (bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) < 0) {
		fprintf(stderr, "proxytool: cannot bind port %u: %s\n", port, strerror(errno));
		return 1;
	}
	printf("listening\n");
	for (;;) {
		struct sockaddr_in6 from;
		socklen_t flen = sizeof(from);
		char addr[INET6_ADDRSTRLEN];
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);

		if (n < 0)
			return 1;
		inet_ntop(AF_INET6, &from.sin6_addr, addr, sizeof(addr));
		printf("from [%s]:%u len %zd head", addr, ntohs(from.sin6_port), n);
		for (ssize_t i = 0; i < n && i < 8; i++)
			printf(" %02x", buf[i]);
		printf("\n");
	}
}

static bool parse_hex(const char *hex, uint8_t *buf, size_t cap, size_t *ret_len)
{
	size_t len = strlen(hex);

	if (len % 2 || len / 2 > cap)
		return false;
	for (size_t i = 0; i < len / 2; i++) {
		int hi = g_ascii_xdigit_value(hex[2 * i]), lo = g_ascii_xdigit_value(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		buf[i] = (uint8_t)(hi << 4 | lo);
	}
	*ret_len = len / 2;
	return true;
}

/* A raw socket writes the UDP header itself, so the source port can be one
 * that another socket is bound to.  IPv4 allows a zero checksum; for IPv6
 * the kernel fills it in (IPV6_CHECKSUM). */
static int cmd_udp_send(char **argv)
{
	uint8_t pkt[1500];
	struct udphdr *udp = (struct udphdr *)pkt;
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} dst = { 0 };
	uint16_t sport, dport;
	size_t len;
	int fd, six = strchr(argv[1], ':') != NULL, csum_offset = 6;

	if (!parse_port(argv[0], &sport) || !parse_port(argv[2], &dport) ||
	    !parse_hex(argv[3], pkt + sizeof(*udp), sizeof(pkt) - sizeof(*udp), &len))
		return usage();
	*udp = (struct udphdr){ .source = htons(sport), .dest = htons(dport), .len = htons(sizeof(*udp) + len) };
	dst.sa.sa_family = six ? AF_INET6 : AF_INET;
	if (six ? inet_pton(AF_INET6, argv[1], &dst.in6.sin6_addr) != 1 : inet_pton(AF_INET, argv[1], &dst.in.sin_addr) != 1)
		return usage();
	fd = socket(dst.sa.sa_family, SOCK_RAW, IPPROTO_UDP);
	if (fd < 0 || (six && setsockopt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, &csum_offset, sizeof(csum_offset)) < 0)) {
		fprintf(stderr, "proxytool: raw socket: %s\n", strerror(errno));
		return 1;
	}
	if (sendto(fd, pkt, sizeof(*udp) + len, 0, &dst.sa, six ? sizeof(dst.in6) : sizeof(dst.in)) < 0) {
		fprintf(stderr, "proxytool: send to %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && !strcmp(argv[1], "nft-available")) {
		bool ok = nft_proxy_available();

		printf("%s\n", ok ? "yes" : "no");
		return ok ? 0 : 1;
	}
	if (argc == 4 && !strcmp(argv[1], "nft"))
		return cmd_nft(argv[2], argv[3]);
	if (argc == 5 && !strcmp(argv[1], "relay"))
		return cmd_relay(argv[2], argv[3], argv[4]);
	if (argc == 3 && !strcmp(argv[1], "udp-record"))
		return cmd_udp_record(argv[2]);
	if (argc == 6 && !strcmp(argv[1], "udp-send"))
		return cmd_udp_send(argv + 2);
	return usage();
}

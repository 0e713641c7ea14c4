/* `wice ping IFACE PEER [-c N] [--until-direct]`: asks the daemon for one
 * echo request through the tunnel at a time (src/daemon/ping-request.c)
 * and prints, per reply, the round trip and the path it took:
 *
 *   reply from 10.99.0.2: 1.23 ms, path direct srflx (srflx -> prflx 198.51.100.2:51820)
 *   reply from 10.99.0.2: 4.56 ms, path relay (relay -> relay 198.18.0.1:50000)
 *   reply from fe80::1:2: 3.45 ms, path via KEY
 *   no reply from 10.99.0.2 within 2000 ms: peer is connecting
 *
 * A probe goes out every second (or right after the previous one timed
 * out).  Exit 0 when a reply came, 1 when none did; with --until-direct,
 * it stops at the first reply over a direct path (exit 0) and exits 1
 * when N probes brought none, the way `tailscale ping` does. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "control/control-client.h"

#define PING_DEFAULT_COUNT 5
#define PING_MAX_COUNT 100000
#define PING_INTERVAL_US G_USEC_PER_SEC

static const char *member(JsonObject *o, const char *name)
{
	JsonNode *n = json_object_get_member(o, name);

	return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING ? json_node_get_string(n)
											      : NULL;
}

/* Prints one reply line; true when it came over a direct path. */
static bool print_reply(JsonObject *reply)
{
	const char *path = member(reply, "path"), *detail = member(reply, "path_detail");
	const char *remote = member(reply, "remote");
	gint64 rtt = json_object_get_int_member_with_default(reply, "rtt_us", 0);
	g_autofree char *pair = NULL;

	if (remote && g_strcmp0(path, "via") != 0)
		pair = g_strdup_printf(" (%s -> %s %s)", member(reply, "local_type"), member(reply, "remote_type"), remote);
	printf("reply from %s: %" G_GINT64_FORMAT ".%02" G_GINT64_FORMAT " ms, path %s%s\n",
	       member(reply, "address") ? member(reply, "address") : "?", rtt / 1000, rtt % 1000 / 10,
	       detail ? detail : "none (no selected pair)", pair ? pair : "");
	fflush(stdout);
	return g_strcmp0(path, "direct") == 0;
}

static bool parse_count(const char *text, unsigned *ret)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || end == text || *end || *text == '-' || v < 1 || v > PING_MAX_COUNT) {
		fprintf(stderr, "wice ping: invalid count '%s': expected a number from 1 to %u\n", text, PING_MAX_COUNT);
		return false;
	}
	*ret = (unsigned)v;
	return true;
}

/* One probe: 1 reply (2 over a direct path), 0 no reply, -1 an error
 * that the next probe would meet too (bad interface or peer). */
static int probe(const char *socket, const char *ifname, const char *peer)
{
	g_autoptr(JsonNode) request = control_request_new("ping", ifname, peer);
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;
	JsonObject *reply = control_call(control_socket_path(socket), request, parser, &error);

	if (reply)
		return print_reply(reply) ? 2 : 1;
	if (g_error_matches(error, CONTROL_ERROR, ETIMEDOUT) || strstr(error->message, "no reply from")) {
		printf("%s\n", error->message);
		fflush(stdout);
		return 0;
	}
	fprintf(stderr, "wice ping: %s\n", error->message);
	return -1;
}

int cmd_ping(int argc, char **argv)
{
	g_autofree char *socket = NULL, *count_text = NULL;
	gboolean until_direct = FALSE;
	GOptionEntry entries[] = {
		{ "count", 'c', 0, G_OPTION_ARG_STRING, &count_text, "Probes to send (default 5)", "N" },
		{ "until-direct", 0, 0, G_OPTION_ARG_NONE, &until_direct,
		  "Stop at the first reply over a direct path; exit 1 if none came", NULL },
		{ 0 }
	};
	unsigned count = PING_DEFAULT_COUNT, replies = 0;

	if (!cmd_parse_client("ping", "INTERFACE PEER",
			      "ping a peer through the tunnel and show the path each reply took", entries, 2, 2, &argc,
			      &argv, &socket))
		return 1;
	if (count_text && !parse_count(count_text, &count))
		return 1;
	for (unsigned i = 0; i < count; i++) {
		gint64 start = g_get_monotonic_time();
		int r = probe(socket, argv[1], argv[2]);

		if (r < 0)
			return 1;
		replies += r > 0;
		if (until_direct && r == 2)
			return 0;
		if (i + 1 < count && g_get_monotonic_time() - start < PING_INTERVAL_US)
			g_usleep((gulong)(PING_INTERVAL_US - (g_get_monotonic_time() - start)));
	}
	if (until_direct) {
		fprintf(stderr, "wice ping: no direct path after %u probes\n", count);
		return 1;
	}
	return replies ? 0 : 1;
}

/* `wice signal-server`: runs the relay that wice daemons behind NATs use to
 * exchange ICE messages (signaling/server.c), optionally with a STUN
 * responder, until SIGINT or SIGTERM.  This file only turns the command
 * line into a configuration. */
#include "config.h"

#define G_LOG_DOMAIN "wice-server"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <glib-unix.h>

#include "cmd.h"
#include "signaling/server/server.h"
#include "util/source-util.h"

/* File descriptors kept back for listeners, STUN and the rest. */
#define FD_RESERVE 64

enum {
	OPT_LISTEN = 'l',
	OPT_STUN_PORT = 256,
	OPT_MAX_MESSAGE,
	OPT_MAX_QUEUE,
	OPT_MAX_AGE,
	OPT_MAX_MAILBOXES,
	OPT_MAX_SUBSCRIBERS,
	OPT_MAX_STORE,
	OPT_MAX_MAILBOXES_PER_ADDR,
	OPT_MAX_STORE_PER_ADDR,
	OPT_MAX_CONNECTIONS,
	OPT_MAX_CONNS_PER_ADDR,
	OPT_MAX_INCOMPLETE_PER_ADDR,
	OPT_IDLE_TIMEOUT,
	OPT_HEADER_TIMEOUT,
	OPT_BODY_TIMEOUT,
	OPT_KEEPALIVE,
	OPT_CHALLENGE_TTL,
};

static const struct option options[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "stun-port", required_argument, NULL, OPT_STUN_PORT },
	{ "max-message", required_argument, NULL, OPT_MAX_MESSAGE },
	{ "max-queue", required_argument, NULL, OPT_MAX_QUEUE },
	{ "max-age", required_argument, NULL, OPT_MAX_AGE },
	{ "max-mailboxes", required_argument, NULL, OPT_MAX_MAILBOXES },
	{ "max-subscribers", required_argument, NULL, OPT_MAX_SUBSCRIBERS },
	{ "max-store", required_argument, NULL, OPT_MAX_STORE },
	{ "max-mailboxes-per-addr", required_argument, NULL, OPT_MAX_MAILBOXES_PER_ADDR },
	{ "max-store-per-addr", required_argument, NULL, OPT_MAX_STORE_PER_ADDR },
	{ "max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS },
	{ "max-conns-per-addr", required_argument, NULL, OPT_MAX_CONNS_PER_ADDR },
	{ "max-incomplete-per-addr", required_argument, NULL, OPT_MAX_INCOMPLETE_PER_ADDR },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
	{ "header-timeout", required_argument, NULL, OPT_HEADER_TIMEOUT },
	{ "body-timeout", required_argument, NULL, OPT_BODY_TIMEOUT },
	{ "keepalive", required_argument, NULL, OPT_KEEPALIVE },
	{ "challenge-ttl", required_argument, NULL, OPT_CHALLENGE_TTL },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: wice signal-server [--listen ADDR:PORT]... [--stun-port PORT] [caps]\n"
		"\n"
		"  --listen ADDR:PORT        literal address to serve HTTP on, repeatable\n"
		"                            (default: 0.0.0.0:8080 and [::]:8080)\n"
		"  --stun-port PORT          also answer STUN on UDP PORT at each listen address\n"
		"\n"
		"Caps (sizes take a k, M or G suffix):\n"
		"  --max-message BYTES       one message (default 4k)\n"
		"  --max-queue N             messages kept per mailbox, oldest dropped (64)\n"
		"  --max-age SECONDS         how long a message is kept (120)\n"
		"  --max-mailboxes N         mailboxes with messages or subscribers (100000)\n"
		"  --max-subscribers N       streams per mailbox, oldest ended (4)\n"
		"  --max-store BYTES         all queued messages, oldest dropped (256M)\n"
		"  --max-mailboxes-per-addr N\n"
		"                            made by the posts of one IPv4 address or IPv6 /64 (4096)\n"
		"  --max-store-per-addr BYTES\n"
		"                            its queued messages, its oldest dropped (16M)\n"
		"  --max-connections N       all clients together (65536)\n"
		"  --max-conns-per-addr N    per IPv4 address or IPv6 /64 (256)\n"
		"  --max-incomplete-per-addr N\n"
		"                            of those, with the request still arriving (32)\n"
		"  --idle-timeout SECONDS    a stalled or idle connection is closed (30)\n"
		"  --header-timeout SECONDS  for the request head, from the accept (5)\n"
		"  --body-timeout SECONDS    for the request body, from the end of the head (10)\n"
		"  --keepalive SECONDS       empty frame on quiet streams (25)\n"
		"  --challenge-ttl SECONDS   how long a challenge is valid (30)\n");
}

/* The numeric options: their names come from options[], their ranges
 * from here.  Sizes take a k, M or G suffix. */
struct number_opt {
	int opt;
	unsigned long long min, max;
	bool size;
};

static const struct number_opt number_opts[] = {
	{ OPT_STUN_PORT, 1, 65535, false },
	{ OPT_MAX_MESSAGE, 1, 1 << 20, true },
	{ OPT_MAX_QUEUE, 1, 65536, false },
	{ OPT_MAX_AGE, 1, 86400, false },
	{ OPT_MAX_MAILBOXES, 1, 10000000, false },
	{ OPT_MAX_SUBSCRIBERS, 1, 1024, false },
	{ OPT_MAX_STORE, 1, 64ull << 30, true },
	{ OPT_MAX_MAILBOXES_PER_ADDR, 1, 10000000, false },
	{ OPT_MAX_STORE_PER_ADDR, 1, 64ull << 30, true },
	{ OPT_MAX_CONNECTIONS, 1, 1 << 20, false },
	{ OPT_MAX_CONNS_PER_ADDR, 1, 1 << 20, false },
	{ OPT_MAX_INCOMPLETE_PER_ADDR, 1, 1 << 20, false },
	{ OPT_IDLE_TIMEOUT, 1, 3600, false },
	{ OPT_HEADER_TIMEOUT, 1, 3600, false },
	{ OPT_BODY_TIMEOUT, 1, 3600, false },
	{ OPT_KEEPALIVE, 1, 3600, false },
	{ OPT_CHALLENGE_TTL, 1, 3600, false },
};

static const char *option_name(int opt)
{
	for (const struct option *o = options; o->name; o++)
		if (o->val == opt)
			return o->name;
	return "?";
}

static unsigned suffix_shift(const char *end)
{
	static const char units[] = "kMG";
	const char *u = end[0] && !end[1] ? strchr(units, end[0]) : NULL;

	return u ? 10 * (u - units + 1) : 0;
}

static bool parse_number(const struct number_opt *n, const char *s, unsigned long long *ret)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (n->size && end != s)
		shift = suffix_shift(end);
	if (shift && v <= n->max >> shift) {
		v <<= shift;
		end++;
	}
	if (!g_ascii_isdigit(s[0]) || errno || *end || v < n->min || v > n->max) {
		fprintf(stderr, "wice signal-server: bad value '%s' for --%s (%llu..%llu)\n", s,
			option_name(n->opt), n->min, n->max);
		return false;
	}
	*ret = v;
	return true;
}

static void apply_number(struct signal_server_config *cfg, int opt, unsigned long long v)
{
	struct mailbox_limits *l = &cfg->limits;

	switch (opt) {
	case OPT_STUN_PORT:
		cfg->stun_port = v;
		break;
	case OPT_MAX_MESSAGE:
		l->max_message = v;
		break;
	case OPT_MAX_QUEUE:
		l->max_queue = v;
		break;
	case OPT_MAX_AGE:
		l->max_age = (int64_t)v * G_USEC_PER_SEC;
		break;
	case OPT_MAX_MAILBOXES:
		l->max_mailboxes = v;
		break;
	case OPT_MAX_SUBSCRIBERS:
		l->max_subscribers = v;
		break;
	case OPT_MAX_STORE:
		l->max_bytes = v;
		break;
	case OPT_MAX_MAILBOXES_PER_ADDR:
		l->max_mailboxes_per_poster = v;
		break;
	case OPT_MAX_STORE_PER_ADDR:
		l->max_bytes_per_poster = v;
		break;
	case OPT_MAX_CONNECTIONS:
		cfg->max_connections = v;
		break;
	case OPT_MAX_CONNS_PER_ADDR:
		cfg->max_conns_per_addr = v;
		break;
	case OPT_MAX_INCOMPLETE_PER_ADDR:
		cfg->max_incomplete_per_addr = v;
		break;
	case OPT_IDLE_TIMEOUT:
		cfg->idle_timeout = v;
		break;
	case OPT_HEADER_TIMEOUT:
		cfg->header_timeout = v;
		break;
	case OPT_BODY_TIMEOUT:
		cfg->body_timeout = v;
		break;
	case OPT_KEEPALIVE:
		cfg->keepalive = v;
		break;
	case OPT_CHALLENGE_TTL:
		cfg->challenge_ttl = v;
		break;
	}
}

static bool set_number(struct signal_server_config *cfg, int opt, const char *arg)
{
	unsigned long long v;

	for (size_t i = 0; i < G_N_ELEMENTS(number_opts); i++) {
		if (number_opts[i].opt != opt)
			continue;
		if (!parse_number(&number_opts[i], arg, &v))
			return false;
		apply_number(cfg, opt, v);
		return true;
	}
	return false;
}

/* Literal addresses only: resolving a name here would block, and a listen
 * address that changes with DNS is not what anyone wants. */
static bool parse_listen(const char *s, GPtrArray *out)
{
	g_autoptr(GSocketConnectable) parsed = NULL;
	g_autoptr(GSocketAddress) addr = NULL;
	g_autoptr(GError) err = NULL;

	parsed = g_network_address_parse(s, SIGNAL_SERVER_DEFAULT_PORT, &err);
	if (parsed) {
		GNetworkAddress *na = G_NETWORK_ADDRESS(parsed);

		addr = g_inet_socket_address_new_from_string(g_network_address_get_hostname(na),
							     g_network_address_get_port(na));
	}
	if (!addr) {
		fprintf(stderr, "wice signal-server: bad --listen '%s': want ADDR:PORT or [ADDR]:PORT "
				"with a literal address\n", s);
		return false;
	}
	g_ptr_array_add(out, g_steal_pointer(&addr));
	return true;
}

static void add_default_listen(struct signal_server_config *cfg)
{
	static const char *const any[] = { "0.0.0.0", "::" };

	for (size_t i = 0; i < G_N_ELEMENTS(any); i++)
		g_ptr_array_add(cfg->listen,
				g_inet_socket_address_new_from_string(any[i], SIGNAL_SERVER_DEFAULT_PORT));
	cfg->listen_default = true;
}

static bool parse_args(int argc, char **argv, struct signal_server_config *cfg)
{
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "l:h", options, NULL)) != -1) {
		if (opt == OPT_LISTEN) {
			if (!parse_listen(optarg, cfg->listen))
				return false;
		} else if (opt == '?' || opt == 'h' || !set_number(cfg, opt, optarg)) {
			return false;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "wice signal-server: unexpected argument '%s'\n", argv[optind]);
		return false;
	}
	if (cfg->limits.max_bytes < cfg->limits.max_message ||
	    cfg->limits.max_bytes_per_poster < cfg->limits.max_message) {
		fprintf(stderr, "wice signal-server: --max-store and --max-store-per-addr must be at "
				"least --max-message\n");
		return false;
	}
	if (cfg->listen->len == 0)
		add_default_listen(cfg);
	return true;
}

/* Every client holds a socket: take all the descriptors we may, and never
 * promise more connections than that. */
static void fit_fd_limit(struct signal_server_config *cfg)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0 && getrlimit(RLIMIT_NOFILE, &rl) < 0)
			return;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (rlim_t)cfg->max_connections + FD_RESERVE)
		return;
	cfg->max_connections = rl.rlim_cur > 2 * FD_RESERVE ? rl.rlim_cur - FD_RESERVE : FD_RESERVE;
	g_message("only %llu file descriptors: at most %u connections", (unsigned long long)rl.rlim_cur,
		  cfg->max_connections);
}

static gboolean on_signal(gpointer data)
{
	g_message("signal received, exiting");
	g_main_loop_quit(data);
	return G_SOURCE_CONTINUE;
}

static int run(const struct signal_server_config *cfg)
{
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
	GSource *sigint = source_attach(g_unix_signal_source_new(SIGINT), NULL, on_signal, loop);
	GSource *sigterm = source_attach(g_unix_signal_source_new(SIGTERM), NULL, on_signal, loop);
	g_autoptr(GError) err = NULL;
	struct signal_server *srv;
	bool ok;

	srv = signal_server_new(cfg, &err);
	ok = srv != NULL;
	if (ok) {
		g_main_loop_run(loop);
		signal_server_free(srv);
	} else {
		fprintf(stderr, "wice signal-server: %s\n", err->message);
	}
	source_free(sigint);
	source_free(sigterm);
	return ok ? 0 : 1;
}

int cmd_signal_server(int argc, char **argv)
{
	struct signal_server_config cfg;
	int r;

	signal_server_config_defaults(&cfg);
	cfg.listen = g_ptr_array_new_with_free_func(g_object_unref);
	if (cmd_wants_help(argc, argv)) {
		usage(stdout);
		g_ptr_array_unref(cfg.listen);
		return 0;
	}
	if (!parse_args(argc, argv, &cfg)) {
		fprintf(stderr, "Run 'wice signal-server --help' for the options.\n");
		g_ptr_array_unref(cfg.listen);
		return 1;
	}
	/* A client that vanishes mid-write must not kill the server. */
	signal(SIGPIPE, SIG_IGN);
	fit_fd_limit(&cfg);
	r = run(&cfg);
	g_ptr_array_unref(cfg.listen);
	return r;
}

/* sigpeer: one end of a signaling conversation for the backend tests
 * (tests/signaling/mcast.test and http.test).  It seals real messages with
 * WireGuard keys, sends them through a backend
 * (signaling/client/sig-backend.h) and prints, one line each, what the
 * application layer gets: only messages that open, decode and pass the
 * replay check count.
 *
 *   sigpeer --url URL --key PRIVATE-KEY-FILE --peer PUBLIC-KEY
 *           [--count N] [--interval MS] [--expect N] [--now] [--timeout S]
 *           [--exclude IFNAME]
 *       sends N messages (counters 0..N-1) to the peer, one every MS ms,
 *       starting on SIGUSR1 (or at once with --now); prints
 *       "mailbox ID" (the relay mailbox it reads), "up", "down REASON",
 *       "sent C", "recv C" (a new message with counter C), "dup C" (a
 *       repeat the replay check dropped) and "complete" once N distinct
 *       messages came in.  Runs until SIGTERM (exit 0) or the timeout
 *       (exit 1).
 *   sigpeer --url URL --spy ID [--timeout S]
 *       subscribes to relay mailbox ID with a key that is not its own;
 *       prints "refused REASON" and exits 0 when the server says no, exits
 *       2 if an envelope ever arrives, 1 on timeout.
 *
 * --exclude IFNAME makes the exclusion callback refuse that interface;
 * --tls-ca, --tls-cert, --tls-key FILE pass TLS files (etcds://). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib-unix.h>
#include <sodium.h>

#include "signaling/client/sig-backend.h"
#include "signaling/sig-envelope.h"
#include "signaling/sig-relay.h"
#include "util/source-util.h"

struct peer {
	struct sig_identity self;
	struct sig_pair pair;
	struct sig_session session;
	uint8_t send_id[RELAY_ID_LEN];
	struct sig_backend *backend;
	GMainLoop *loop;
	GSource *sender;
	unsigned count, sent, expect, received;
	unsigned interval_ms;
	bool spy;
	const char *exclude;
	bool seen[UINT16_MAX + 1];
	int status;
};

static bool read_key(uint8_t key[SIG_KEY_LEN], const char *b64)
{
	size_t len = 0;

	return sodium_base642bin(key, SIG_KEY_LEN, b64, strlen(b64), " \t\r\n", &len, NULL,
				 sodium_base64_VARIANT_ORIGINAL) == 0 &&
	       len == SIG_KEY_LEN;
}

static bool read_key_file(uint8_t key[SIG_KEY_LEN], const char *path)
{
	g_autofree char *text = NULL;
	bool ok;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return false;
	ok = read_key(key, text);
	sodium_memzero(text, strlen(text));
	return ok;
}

static struct sig_pair *lookup(void *userdata, const uint8_t peer_public[SIG_KEY_LEN])
{
	struct peer *p = userdata;

	return memcmp(peer_public, p->pair.peer_public, SIG_KEY_LEN) == 0 ? &p->pair : NULL;
}

static void on_receive(struct sig_backend *b, const uint8_t *data, size_t len, const struct sig_route *route,
		       void *userdata)
{
	struct peer *p = userdata;
	struct sig_pair *from = NULL;
	struct sig_msg msg;
	int r;

	if (p->spy) {
		printf("received an envelope of %zu bytes\n", len);
		p->status = 2;
		g_main_loop_quit(p->loop);
		return;
	}
	r = sig_envelope_open_msg(&p->self, lookup, p, data, len, &msg, &from);
	if (r >= 0 && !p->seen[msg.counter & UINT16_MAX]) {
		p->seen[msg.counter & UINT16_MAX] = true;
		printf("recv %u\n", msg.counter);
		if (++p->received == p->expect)
			printf("complete\n");
	} else if (r >= 0) {
		printf("app-dup %u\n", msg.counter); /* the replay check let a repeat through */
	} else if (r == -EALREADY) {
		printf("dup\n");
	} else if (r != -ENXIO) {
		printf("drop %s\n", g_strerror(-r));
	}
	sig_msg_wipe(&msg);
}

static void on_state(struct sig_backend *b, bool up, const char *reason, void *userdata)
{
	struct peer *p = userdata;

	if (up) {
		printf("up\n");
	} else if (p->spy && strstr(reason, "HTTP 403")) {
		printf("refused %s\n", reason);
		g_main_loop_quit(p->loop);
	} else {
		printf("down %s\n", reason);
	}
}

static bool on_exclude(const char *ifname, void *userdata)
{
	struct peer *p = userdata;

	return p->exclude && strcmp(ifname, p->exclude) == 0;
}

static void send_one(struct peer *p)
{
	uint8_t buf[SIG_ENVELOPE_MAX];
	struct sig_msg msg;
	size_t len;
	int r;

	sig_msg_init(&msg);
	msg.has_offer = true;
	g_snprintf(msg.offer.ufrag, sizeof(msg.offer.ufrag), "m%04u", p->sent);
	g_strlcpy(msg.offer.pwd, "abcdefghijklmnopqrstuv", sizeof(msg.offer.pwd));
	r = sig_session_stamp(&p->session, &msg);
	if (r == 0)
		r = sig_envelope_seal_msg(&p->self, &p->pair, &msg, buf, sizeof(buf), &len);
	if (r == 0)
		r = sig_backend_publish(p->backend, p->send_id, buf, len, NULL);
	if (r == 0)
		printf("sent %u\n", msg.counter);
	else
		printf("send-failed %u %s\n", msg.counter, g_strerror(-r));
	sig_msg_wipe(&msg);
	p->sent++;
}

static gboolean on_send_tick(gpointer data)
{
	struct peer *p = data;

	send_one(p);
	return p->sent < p->count ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void start_sending(struct peer *p)
{
	if (p->sender || p->count == 0)
		return;
	p->sender = source_timeout(p->interval_ms, on_send_tick, p);
}

static gboolean on_usr1(gpointer data)
{
	start_sending(data);
	return G_SOURCE_CONTINUE;
}

static gboolean on_term(gpointer data)
{
	struct peer *p = data;

	g_main_loop_quit(p->loop);
	return G_SOURCE_CONTINUE;
}

static gboolean on_timeout(gpointer data)
{
	struct peer *p = data;

	printf("timeout\n");
	p->status = 1;
	g_main_loop_quit(p->loop);
	return G_SOURCE_REMOVE;
}

static int usage(void)
{
	fprintf(stderr, "usage: sigpeer --url URL (--key FILE --peer PUBKEY | --spy ID) [--count N] "
			"[--interval MS] [--expect N] [--now] [--timeout S] [--exclude IFNAME]\n"
			"               [--tls-ca FILE] [--tls-cert FILE] [--tls-key FILE]\n");
	return 64;
}

struct options {
	const char *url, *key_file, *peer_key, *spy_id, *exclude;
	struct sig_backend_options tls;
	unsigned count, interval_ms, expect, timeout_s;
	bool now;
};

static bool parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },      { "key", required_argument, NULL, 'k' },
		{ "peer", required_argument, NULL, 'p' },     { "spy", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'c' },    { "interval", required_argument, NULL, 'i' },
		{ "expect", required_argument, NULL, 'e' },   { "timeout", required_argument, NULL, 't' },
		{ "now", no_argument, NULL, 'n' },	      { "exclude", required_argument, NULL, 'x' },
		{ "tls-ca", required_argument, NULL, 'A' },   { "tls-cert", required_argument, NULL, 'C' },
		{ "tls-key", required_argument, NULL, 'K' },  { NULL, 0, NULL, 0 },
	};
	int opt;

	*o = (struct options){ .interval_ms = 100, .timeout_s = 60 };
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'u': o->url = optarg; break;
		case 'k': o->key_file = optarg; break;
		case 'p': o->peer_key = optarg; break;
		case 's': o->spy_id = optarg; break;
		case 'c': o->count = strtoul(optarg, NULL, 10); break;
		case 'i': o->interval_ms = strtoul(optarg, NULL, 10); break;
		case 'e': o->expect = strtoul(optarg, NULL, 10); break;
		case 't': o->timeout_s = strtoul(optarg, NULL, 10); break;
		case 'n': o->now = true; break;
		case 'x': o->exclude = optarg; break;
		case 'A': o->tls.tls_ca = optarg; break;
		case 'C': o->tls.tls_cert = optarg; break;
		case 'K': o->tls.tls_key = optarg; break;
		default: return false;
		}
	}
	return o->url && (o->spy_id || (o->key_file && o->peer_key)) && o->count <= UINT16_MAX;
}

static bool setup_keys(struct peer *p, const struct options *o, struct sig_subscription *sub)
{
	uint8_t priv[SIG_KEY_LEN], peer_pub[SIG_KEY_LEN];
	char id_str[RELAY_ID_STR_LEN];
	bool ok;

	if (o->spy_id) {
		uint8_t pk[RELAY_ID_LEN];

		/* A real key pair, just not the mailbox's. */
		crypto_sign_keypair(pk, sub->secret);
		return relay_b64_decode(sub->id, RELAY_ID_LEN, o->spy_id, strlen(o->spy_id));
	}
	ok = read_key_file(priv, o->key_file) && read_key(peer_pub, o->peer_key) &&
	     sig_identity_init(&p->self, priv) == 0 && sig_pair_init(&p->pair, &p->self, peer_pub) == 0;
	sodium_memzero(priv, sizeof(priv));
	if (!ok)
		return false;
	sig_relay_send_id(&p->pair, p->send_id);
	sig_relay_receive_id(&p->pair, sub->id, sub->secret);
	relay_b64_encode(id_str, sizeof(id_str), sub->id, RELAY_ID_LEN);
	printf("mailbox %s\n", id_str);
	return true;
}

static int run(struct peer *p, const struct options *o, const struct sig_subscription *sub)
{
	struct sig_backend_callbacks cb = {
		.receive = on_receive,
		.state_changed = on_state,
		.exclude_interface = on_exclude,
		.userdata = p,
	};
	g_autoptr(GError) err = NULL;
	GSource *sources[4];

	p->backend = sig_backend_new_with(o->url, &o->tls, &cb, &err);
	if (!p->backend) {
		fprintf(stderr, "sigpeer: %s\n", err->message);
		return 1;
	}
	sig_backend_subscribe(p->backend, sub);
	p->loop = g_main_loop_new(NULL, FALSE);
	sources[0] = source_attach(g_unix_signal_source_new(SIGUSR1), NULL, on_usr1, p);
	sources[1] = source_attach(g_unix_signal_source_new(SIGTERM), NULL, on_term, p);
	sources[2] = source_attach(g_unix_signal_source_new(SIGINT), NULL, on_term, p);
	sources[3] = source_attach(g_timeout_source_new_seconds(o->timeout_s), NULL, on_timeout, p);
	if (o->now)
		start_sending(p);
	g_main_loop_run(p->loop);
	sig_backend_free(p->backend);
	for (size_t i = 0; i < G_N_ELEMENTS(sources); i++)
		source_free(sources[i]);
	source_free(p->sender);
	g_main_loop_unref(p->loop);
	return p->status;
}

int main(int argc, char **argv)
{
	static struct peer p;
	struct sig_subscription sub;
	struct options o;
	int r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!parse_args(argc, argv, &o))
		return usage();
	if (sodium_init() < 0 || !setup_keys(&p, &o, &sub)) {
		fprintf(stderr, "sigpeer: bad key or mailbox id\n");
		return 1;
	}
	p.count = o.count;
	p.interval_ms = o.interval_ms;
	p.expect = o.expect ? o.expect : o.count;
	p.spy = o.spy_id != NULL;
	p.exclude = o.exclude;
	sig_session_start(&p.session, g_get_real_time() / 1000);
	r = run(&p, &o, &sub);
	sodium_memzero(&sub, sizeof(sub));
	sig_identity_wipe(&p.self);
	sig_pair_wipe(&p.pair);
	return r;
}

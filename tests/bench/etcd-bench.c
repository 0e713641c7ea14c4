/* etcd-bench: what signaling through etcd costs, beside signal-bench's
 * figures for `wice signal-server`.  Not a test: it prints figures
 * (`make bench-etcd`).
 *
 * It starts one etcd member (Debian's etcd-server) on loopback, in a
 * network namespace of its own when run as root, and drives it through the
 * daemon's own etcd backend (signaling/client/backend-etcd.c): one backend
 * holds N subscriptions (a watch each), P backends publish flat out to
 * random subscribed mailboxes (each keeps its queue full; what it takes it
 * stores in transactions).  Every message carries its send time and a
 * serial number, so that delivery latency, losses and repeats are counted
 * where it arrives.  etcd's CPU time and RSS come from /proc.
 *
 *   etcd-bench [--etcd PATH] [--clients N] [--seconds S] [--posters P]
 *              [--size BYTES] */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib.h>
#include <sodium.h>

#include "signaling/client/sig-backend.h"
#include "signaling/sig-envelope.h"

#define PORT 23790
#define MAX_POSTERS 64
#define MAX_SAMPLES (1u << 22)

static struct {
	const char *etcd;
	unsigned clients, seconds, posters, size;
} opt = { "etcd", 1000, 10, 4, 300 };

struct bench {
	GMainLoop *loop;
	pid_t etcd;
	char *dir;
	struct sig_backend *subs;
	struct sig_backend *posters[MAX_POSTERS];
	uint8_t (*ids)[RELAY_ID_LEN];
	bool measuring, posting;
	uint64_t post_limit; /* serials below it */
	uint64_t next_serial, sent, received, repeats;
	uint8_t *seen; /* one bit per serial */
	uint64_t seen_bits;
	double *samples;
	size_t n_samples;
};

static struct bench B;

static void die(const char *what)
{
	fprintf(stderr, "etcd-bench: %s\n", what);
	if (B.etcd > 0)
		kill(B.etcd, SIGKILL);
	exit(1);
}

/* --- etcd ------------------------------------------------------------------------ */

static void enter_netns(void)
{
	if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0 || system("ip link set lo up") != 0)
		printf("(host loopback: not root or no namespace)\n");
}

static void start_etcd(void)
{
	char client[64], peer[64];

	B.dir = g_dir_make_tmp("etcd-bench-XXXXXX", NULL);
	if (!B.dir)
		die("cannot make a data directory");
	snprintf(client, sizeof(client), "http://127.0.0.1:%d", PORT);
	snprintf(peer, sizeof(peer), "http://127.0.0.1:%d", PORT + 1);
	B.etcd = fork();
	if (B.etcd == 0) {
		g_autofree char *data = g_build_filename(B.dir, "data", NULL);

		if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
			_exit(127);
		execlp(opt.etcd, opt.etcd, "--data-dir", data, "--listen-client-urls", client,
		       "--advertise-client-urls", client, "--listen-peer-urls", peer, "--initial-advertise-peer-urls",
		       peer, "--initial-cluster", g_strdup_printf("default=%s", peer), "--log-level", "error",
		       (char *)NULL);
		_exit(127);
	}
	if (B.etcd < 0)
		die("fork");
}

static void stop_etcd(void)
{
	g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", B.dir);

	kill(B.etcd, SIGTERM);
	waitpid(B.etcd, NULL, 0);
	if (system(cmd) != 0)
		fprintf(stderr, "etcd-bench: could not remove %s\n", B.dir);
}

/* utime + stime in seconds, and VmRSS in MiB, of etcd. */
static double etcd_cpu_s(void)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/stat", B.etcd);
	g_autofree char *text = NULL;
	unsigned long ut = 0, st = 0;
	const char *p;

	if (!g_file_get_contents(path, &text, NULL, NULL) || !(p = strrchr(text, ')')))
		return 0;
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double etcd_rss_mib(void)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/status", B.etcd);
	g_autofree char *text = NULL;
	const char *p;

	if (!g_file_get_contents(path, &text, NULL, NULL) || !(p = strstr(text, "VmRSS:")))
		return 0;
	return g_ascii_strtod(p + 6, NULL) / 1024.0;
}

/* --- the backends ------------------------------------------------------------------ */

static void on_receive(struct sig_backend *b, const uint8_t *data, size_t len, const struct sig_route *from,
		       void *userdata)
{
	int64_t sent_us, now = g_get_monotonic_time();
	uint64_t serial;

	if (len < 16)
		return;
	memcpy(&sent_us, data, 8);
	memcpy(&serial, data + 8, 8);
	if (serial >= B.seen_bits)
		return;
	if (B.seen[serial / 8] & (1u << (serial % 8))) {
		B.repeats++;
		return;
	}
	B.seen[serial / 8] |= (uint8_t)(1u << (serial % 8));
	B.received++;
	if (B.measuring && B.n_samples < MAX_SAMPLES)
		B.samples[B.n_samples++] = (double)(now - sent_us) / 1000.0;
}

static void on_state(struct sig_backend *b, bool up, const char *reason, void *userdata)
{
}

static struct sig_backend *new_backend(void)
{
	struct sig_backend_callbacks cb = { .receive = on_receive, .state_changed = on_state };
	g_autofree char *url = g_strdup_printf("etcd://127.0.0.1:%d/bench", PORT);
	GError *error = NULL;
	struct sig_backend *b = sig_backend_new(url, &cb, &error);

	if (!b)
		die(error->message);
	return b;
}

/* Keeps every poster's queue full while posting. */
static gboolean on_post(gpointer data)
{
	uint8_t msg[SIG_ENVELOPE_MAX] = { 0 };

	if (!B.posting)
		return G_SOURCE_CONTINUE;
	for (unsigned p = 0; p < opt.posters; p++) {
		for (;;) {
			int64_t now = g_get_monotonic_time();

			/* The first message of each mailbox goes in order. */
			unsigned to = B.next_serial < opt.clients ? (unsigned)B.next_serial
								  : randombytes_uniform(opt.clients);

			if (B.next_serial >= B.post_limit)
				break;
			memcpy(msg, &now, 8);
			memcpy(msg + 8, &B.next_serial, 8);
			if (sig_backend_publish(B.posters[p], B.ids[to], msg, opt.size, NULL) != 0)
				break;
			B.next_serial++;
			B.sent++;
		}
	}
	return G_SOURCE_CONTINUE;
}

static gboolean on_stop(gpointer data)
{
	g_main_loop_quit(B.loop);
	return G_SOURCE_REMOVE;
}

/* Runs the loop for @ms, or until @done says so (checked every 10 ms). */
static bool run_until(unsigned ms, bool (*done)(void))
{
	int64_t deadline = g_get_monotonic_time() + (int64_t)ms * 1000;

	while (g_get_monotonic_time() < deadline) {
		GSource *t = g_timeout_source_new(10);

		g_source_set_callback(t, on_stop, NULL, NULL);
		g_source_attach(t, NULL);
		g_main_loop_run(B.loop);
		g_source_destroy(t);
		g_source_unref(t);
		if (done && done())
			return true;
	}
	return false;
}

static bool subs_up(void)
{
	return sig_backend_is_up(B.subs);
}

static bool all_delivered(void)
{
	return B.received >= B.sent;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* --- main ---------------------------------------------------------------------- */

static void run(void)
{
	double t0, cpu0, cpu1, setup_s, rss_idle, rss_after, secs;
	uint64_t received0;
	int64_t start;

	B.loop = g_main_loop_new(NULL, FALSE);
	B.subs = new_backend();
	if (!run_until(30000, subs_up))
		die("etcd did not come up in 30 s");
	B.ids = g_malloc((size_t)opt.clients * RELAY_ID_LEN);
	t0 = (double)g_get_monotonic_time();
	for (unsigned i = 0; i < opt.clients; i++) {
		struct sig_subscription s = { 0 };

		randombytes_buf(B.ids[i], RELAY_ID_LEN);
		memcpy(s.id, B.ids[i], RELAY_ID_LEN);
		sig_backend_subscribe(B.subs, &s);
	}
	/* Every subscription reads: one message to each mailbox arrived. */
	for (unsigned p = 0; p < opt.posters; p++)
		B.posters[p] = new_backend();
	B.seen_bits = 1u << 24;
	B.seen = g_malloc0(B.seen_bits / 8);
	B.samples = g_malloc(MAX_SAMPLES * sizeof(double));
	g_timeout_add(1, on_post, NULL);
	B.post_limit = opt.clients;
	B.posting = true;
	if (!run_until(120000, all_delivered))
		die("the subscriptions did not all read in 120 s");
	setup_s = ((double)g_get_monotonic_time() - t0) / 1e6;
	B.posting = false;
	run_until(1000, NULL);
	rss_idle = etcd_rss_mib();
	B.post_limit = B.seen_bits;
	B.posting = true;
	run_until(1000, NULL); /* warm up */
	B.measuring = true;
	received0 = B.received;
	cpu0 = etcd_cpu_s();
	start = g_get_monotonic_time();
	run_until(opt.seconds * 1000, NULL);
	secs = (double)(g_get_monotonic_time() - start) / 1e6;
	cpu1 = etcd_cpu_s();
	B.measuring = false;
	B.posting = false;
	run_until(15000, all_delivered);
	rss_after = etcd_rss_mib();
	qsort(B.samples, B.n_samples, sizeof(double), cmp_double);
	printf("%-52s %u\n", "watches (subscriptions) held", opt.clients);
	printf("%-52s %.2f\n", "time until every mailbox read its first message, s", setup_s);
	printf("%-52s %.1f\n", "etcd RSS, idle watches, MiB", rss_idle);
	printf("%-52s %.0f\n", "delivered end to end, msgs/s", (double)(B.received - received0) / secs);
	printf("%-52s %.0f\n", "etcd CPU during, % of a core", 100 * (cpu1 - cpu0) / secs);
	if (B.n_samples) {
		printf("%-52s %.1f\n", "latency publish to delivery p50, ms", B.samples[B.n_samples / 2]);
		printf("%-52s %.1f\n", "latency publish to delivery p99, ms", B.samples[B.n_samples * 99 / 100]);
	}
	printf("%-52s %.1f\n", "etcd RSS after, MiB", rss_after);
	printf("%-52s %" G_GUINT64_FORMAT " / %" G_GUINT64_FORMAT "\n", "accepted / delivered, whole run", B.sent,
	       B.received);
	printf("%-52s %" G_GUINT64_FORMAT "\n", "delivered twice", B.repeats);
	for (unsigned p = 0; p < opt.posters; p++)
		sig_backend_free(B.posters[p]);
	sig_backend_free(B.subs);
}

static bool parse_count(const char *name, const char *s, unsigned min, unsigned max, unsigned *ret)
{
	guint64 v;

	if (!g_ascii_string_to_unsigned(s, 10, min, max, &v, NULL)) {
		fprintf(stderr, "etcd-bench: bad value '%s' for --%s (%u..%u)\n", s, name, min, max);
		return false;
	}
	*ret = (unsigned)v;
	return true;
}

static bool parse_args(int argc, char **argv)
{
	static const struct option options[] = {
		{ "etcd", required_argument, NULL, 'e' },    { "clients", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 's' }, { "posters", required_argument, NULL, 'p' },
		{ "size", required_argument, NULL, 'z' },    { NULL, 0, NULL, 0 },
	};
	int o;

	while ((o = getopt_long(argc, argv, "", options, NULL)) != -1) {
		bool ok = true;

		if (o == 'e')
			opt.etcd = optarg;
		else if (o == 'n')
			ok = parse_count("clients", optarg, 1, 20000, &opt.clients);
		else if (o == 's')
			ok = parse_count("seconds", optarg, 1, 60, &opt.seconds);
		else if (o == 'p')
			ok = parse_count("posters", optarg, 1, MAX_POSTERS, &opt.posters);
		else if (o == 'z')
			ok = parse_count("size", optarg, 16, SIG_ENVELOPE_MAX, &opt.size);
		else
			ok = false;
		if (!ok)
			return false;
	}
	return optind == argc;
}

int main(int argc, char **argv)
{
	if (!parse_args(argc, argv)) {
		fprintf(stderr, "usage: etcd-bench [--etcd PATH] [--clients N] [--seconds S] [--posters P] "
				"[--size BYTES]\n");
		return 2;
	}
	if (sodium_init() < 0)
		die("sodium_init");
	signal(SIGPIPE, SIG_IGN);
	enter_netns();
	start_etcd();
	printf("etcd (one member, loopback): %u watches, %u posting backends, %u-byte messages, %u s; "
	       "%ld CPUs\n\n",
	       opt.clients, opt.posters, opt.size, opt.seconds, sysconf(_SC_NPROCESSORS_ONLN));
	fflush(stdout);
	run();
	stop_etcd();
	return 0;
}

/* signal-bench: how many subscribers `wice signal-server` holds, and how
 * many messages a second it relays to them, on this machine.  Not a test:
 * it prints figures (`make bench-signal`).
 *
 * Each round starts a fresh server (in a network namespace of its own when
 * run as root, so nobody else's loopback traffic mixes in), opens N
 * subscription streams, each with its own mailbox key, challenge and
 * signature, and keeps them all open.  Then posters run flat out against
 * random subscribed mailboxes, first one message per request
 * (POST /v1/mailboxes/ID), then batches (POST /v1/batch), while every frame
 * is counted where it arrives: at its subscriber.  Server CPU and RSS come
 * from /proc.  One thread, one epoll set, non-blocking sockets; every
 * phase has a deadline and an alarm bounds the whole run.
 *
 *   signal-bench [--wice PATH] [--clients N] [--seconds S] [--rounds R]
 *                [--posters P] [--batch B] [--size BYTES] */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "signaling/relay-proto.h"

#define HANDSHAKES_IN_FLIGHT 256
#define SOURCE_ADDRS 64	    /* 127.0.1.1 .. : room for many client ports */
#define WARMUP_NS 1000000000LL
#define SETUP_LIMIT_NS 120000000000LL
#define DRAIN_LIMIT_NS 10000000000LL
#define SCRATCH (256 * 1024)
#define MAX_SAMPLES (1u << 22)
#define MAX_ROUNDS 9
#define MIN(a, b) ((a) < (b) ? (a) : (b))

enum conn_kind { CONN_CHALLENGE, CONN_SUBSCRIBE, CONN_STREAM, CONN_POST };

struct conn {
	struct conn *prev, *next; /* every open connection */
	int fd;
	enum conn_kind kind;
	uint32_t box;	  /* challenge, subscribe, stream: the mailbox */
	uint32_t n_msgs;  /* post: messages in the request */
	char *out;	  /* request still to write */
	size_t out_len, out_off;
	uint8_t *in;	  /* response so far; a stream's unparsed rest */
	size_t in_len;
};

struct mailbox {
	uint8_t pk[RELAY_ID_LEN];
	uint8_t sk[RELAY_SECRET_KEY_LEN];
	char id[RELAY_ID_STR_LEN];
};

struct opts {
	const char *wice;
	unsigned clients, seconds, rounds, posters, batch, size;
};

/* One relay measurement. */
struct relay_figures {
	double msgs_per_s, server_cpu, bench_cpu, rss_mib, p50_ms, p99_ms;
	double accepted, undelivered; /* after the drain */
};

/* Doubles throughout, for the table. */
struct round_figures {
	double established, setup_s, idle_rss_mib, load1, streams_lost;
	struct relay_figures single, batch;
};

static struct opts opt = {
	.wice = "./wice", .clients = 10000, .seconds = 5, .rounds = 3, .posters = 8, .batch = 32, .size = 200,
};

/* --- state of the current round ------------------------------------------ */

static int ep;
static pid_t server_pid;
static char server_log[64];
static struct sockaddr_in server_addr;
static struct mailbox *boxes;
static unsigned next_box, handshakes, established, streams_lost, posting_conns;
static bool posting, batch_mode, post_failed;
static uint64_t accepted, delivered;
static uint32_t *samples;
static size_t n_samples;
static bool sampling;
static unsigned next_source;
static uint8_t scratch[SCRATCH];
static struct conn *conns;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "signal-bench: %s: %s\n", what, strerror(errno));
	if (server_pid > 0) {
		kill(server_pid, SIGKILL);
		fprintf(stderr, "signal-bench: the server's log is %s\n", server_log);
	}
	exit(1);
}

/* --- the machine ------------------------------------------------------------ */

/* A namespace of our own keeps the figures free of other loopback users and
 * leaves the host's ports alone. */
static bool enter_netns(void)
{
	struct ifreq ifr = { 0 };
	int s;

	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0)
		return false;
	s = socket(AF_INET, SOCK_DGRAM, 0);
	strcpy(ifr.ifr_name, "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		die("lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		die("bringing lo up");
	close(s);
	return true;
}

/* The server raises its own soft limit to the hard one it inherits. */
static void raise_fd_limit(rlim_t want)
{
	struct rlimit rl;

	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want;
	if (rl.rlim_max < want)
		rl.rlim_max = want; /* needs CAP_SYS_RESOURCE */
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		fprintf(stderr, "signal-bench: %llu file descriptors needed; raise the hard limit "
				"(ulimit -Hn) or lower --clients\n", (unsigned long long)want);
		exit(1);
	}
}

static double load_average(void)
{
	double l = -1;
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = -1;
		fclose(f);
	}
	return l;
}

/* utime + stime of a process, in seconds. */
static double process_cpu(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long ut = 0, st = 0;
	ssize_t n;
	char *p;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The command name may hold spaces: count fields after its ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / sysconf(_SC_CLK_TCK);
}

static double self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double rss_mib(pid_t pid)
{
	char path[64], line[256];
	double kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %lf kB", &kib) == 1)
			break;
	fclose(f);
	return kib / 1024;
}

/* --- the server -------------------------------------------------------------- */

static void exec_server(unsigned max_conns)
{
	char cap[32];
	int fd = open(server_log, O_WRONLY | O_APPEND);

	snprintf(cap, sizeof(cap), "%u", max_conns);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	execl(opt.wice, opt.wice, "signal-server", "--listen", "127.0.0.1:0", "--max-connections", cap,
	      "--max-conns-per-addr", "1048576", (char *)NULL);
	perror("exec wice");
	_exit(127);
}

/* The server picks its port and logs it. */
static bool read_server_port(void)
{
	char line[512];
	unsigned port;
	FILE *f = fopen(server_log, "r");
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "listening on http://127.0.0.1:");

		found = p && sscanf(p, "listening on http://127.0.0.1:%u", &port) == 1;
	}
	fclose(f);
	if (found)
		server_addr.sin_port = htons(port);
	return found;
}

static void start_server(void)
{
	int64_t deadline = now_ns() + 5000000000LL;

	server_addr.sin_family = AF_INET;
	server_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* Emptied here, not in the child: the port of the last round's
	 * server must not be read as this one's. */
	if (truncate(server_log, 0) < 0)
		die("truncate");
	server_pid = fork();
	if (server_pid < 0)
		die("fork");
	if (server_pid == 0)
		exec_server(opt.clients + 4 * opt.posters + HANDSHAKES_IN_FLIGHT + 64);
	while (!read_server_port()) {
		if (now_ns() > deadline || waitpid(server_pid, NULL, WNOHANG) != 0) {
			errno = ETIMEDOUT;
			die("the server did not start (see its log)");
		}
		usleep(20000);
	}
}

static void stop_server(void)
{
	int status;

	kill(server_pid, SIGTERM);
	for (int i = 0; i < 500; i++) {
		if (waitpid(server_pid, &status, WNOHANG) == server_pid) {
			server_pid = 0;
			return;
		}
		usleep(10000);
	}
	kill(server_pid, SIGKILL);
	waitpid(server_pid, &status, 0);
	server_pid = 0;
}

static void on_alarm(int sig)
{
	static const char msg[] = "signal-bench: out of time\n";

	if (server_pid > 0)
		kill(server_pid, SIGKILL);
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(2);
}

/* --- connections --------------------------------------------------------- */

static struct conn *conn_open(enum conn_kind kind, char *request, size_t len)
{
	struct conn *c = calloc(1, sizeof(*c));
	struct sockaddr_in src = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN, .data.ptr = c };
	int one = 1;

	/* Spread clients over source addresses: one address has only
	 * about 28000 ports. */
	src.sin_addr.s_addr = htonl(0x7f000101u + next_source++ % SOURCE_ADDRS);
	c->kind = kind;
	c->out = request;
	c->out_len = len;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die("socket");
	setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) < 0)
		die("bind");
	if (connect(c->fd, (struct sockaddr *)&server_addr, sizeof(server_addr)) < 0 && errno != EINPROGRESS)
		die("connect");
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		die("epoll_ctl");
	c->next = conns;
	if (conns)
		conns->prev = c;
	conns = c;
	return c;
}

static void conn_free(struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	close(c->fd);
	free(c->out);
	free(c->in);
	free(c);
}

/* Writes what the socket takes; then only reading is of interest. */
static void conn_write(struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0)
			return; /* the read side sees the error */
		c->out_off += n;
	}
	free(c->out);
	c->out = NULL;
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Reads the response into c->in.  Returns 1 at end of file, 0 for more to
 * come, -1 on error. */
static int conn_read_all(struct conn *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, scratch, sizeof(scratch), 0);

		if (n == 0)
			return 1;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->in = realloc(c->in, c->in_len + n + 1);
		memcpy(c->in + c->in_len, scratch, n);
		c->in_len += n;
		c->in[c->in_len] = '\0';
	}
}

static const char *response_body(const struct conn *c)
{
	const char *p = c->in ? strstr((const char *)c->in, "\r\n\r\n") : NULL;

	return p ? p + 4 : NULL;
}

static bool response_status(const struct conn *c, const char *status)
{
	return c->in && c->in_len > 12 && memcmp(c->in + 9, status, 3) == 0;
}

/* --- subscribing ----------------------------------------------------------- */

static char *format(size_t *ret_len, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static char *format(size_t *ret_len, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		die("vasprintf");
	*ret_len = n;
	return s;
}

static void challenge_start(uint32_t box)
{
	size_t len;
	char *req = format(&len, "GET /v1/challenge HTTP/1.1\r\nHost: bench\r\n\r\n");

	conn_open(CONN_CHALLENGE, req, len)->box = box;
	handshakes++;
}

static void handshake_more(void)
{
	while (handshakes < HANDSHAKES_IN_FLIGHT && next_box < opt.clients)
		challenge_start(next_box++);
}

static void subscribe_start(uint32_t box, const char *challenge_text)
{
	struct mailbox *mb = &boxes[box];
	uint8_t challenge[RELAY_CHALLENGE_LEN], sig[RELAY_SIGNATURE_LEN];
	char sig_text[RELAY_SIGNATURE_STR_LEN];
	size_t len;
	char *req;

	if (!relay_b64_decode(challenge, sizeof(challenge), challenge_text, RELAY_CHALLENGE_STR_LEN - 1)) {
		errno = EPROTO;
		die("malformed challenge");
	}
	relay_proof_sign(sig, mb->pk, challenge, mb->sk);
	relay_b64_encode(sig_text, sizeof(sig_text), sig, sizeof(sig));
	req = format(&len,
		     "GET /v1/mailboxes/%s HTTP/1.1\r\nHost: bench\r\n" RELAY_HEADER_CHALLENGE ": %.43s\r\n"
		     RELAY_HEADER_SIGNATURE ": %s\r\n\r\n",
		     mb->id, challenge_text, sig_text);
	conn_open(CONN_SUBSCRIBE, req, len)->box = box;
}

static void on_challenge(struct conn *c)
{
	int r = conn_read_all(c);
	const char *body = response_body(c);

	if (r == 0)
		return;
	if (r < 0 || !response_status(c, "200") || !body || strlen(body) < RELAY_CHALLENGE_STR_LEN - 1) {
		fprintf(stderr, "signal-bench: no challenge (%s): %.80s\n", r < 0 ? strerror(errno) : "answer",
			c->in ? (const char *)c->in : "");
		errno = EPROTO;
		die("challenge");
	}
	subscribe_start(c->box, body);
	conn_free(c);
}

/* --- streams ------------------------------------------------------------------ */

static void count_frame(uint64_t seq, const uint8_t *body, size_t len, int64_t now)
{
	int64_t sent;

	if (seq == 0)
		return; /* keepalive */
	delivered++;
	if (!sampling || len < sizeof(sent) || n_samples >= MAX_SAMPLES)
		return;
	memcpy(&sent, body, sizeof(sent));
	samples[n_samples++] = (uint32_t)MIN((now - sent) / 1000, (int64_t)UINT32_MAX);
}

/* Parses whole frames at the start of buf; returns the bytes used. */
static size_t parse_frames(const uint8_t *buf, size_t len)
{
	int64_t now = now_ns();
	size_t used = 0;

	for (;;) {
		const uint8_t *body;
		size_t body_len;
		uint64_t seq;
		ssize_t n = relay_frame_parse(buf + used, len - used, 1 << 20, &seq, &body, &body_len);

		if (n < 0) {
			errno = EPROTO;
			die("bad frame");
		}
		if (n == 0)
			return used;
		count_frame(seq, body, body_len, now);
		used += n;
	}
}

static void stream_lost(struct conn *c)
{
	streams_lost++;
	conn_free(c);
}

/* A stream's unparsed rest lives in c->in; new bytes go after it in the
 * scratch buffer, so most streams hold no buffer at all. */
static void on_stream(struct conn *c)
{
	for (;;) {
		size_t have = c->in_len, used;
		ssize_t n;

		if (have)
			memcpy(scratch, c->in, have);
		n = recv(c->fd, scratch + have, sizeof(scratch) - have, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			stream_lost(c);
			return;
		}
		have += n;
		used = parse_frames(scratch, have);
		c->in_len = have - used;
		free(c->in);
		c->in = c->in_len ? malloc(c->in_len) : NULL;
		if (c->in_len)
			memcpy(c->in, scratch + used, c->in_len);
	}
}

/* The head ends at an empty line; frames may follow in the same read. */
static void on_subscribe(struct conn *c)
{
	int r = conn_read_all(c);
	const char *body = response_body(c);
	size_t rest;

	if (r != 0 || !body) {
		if (r == 0)
			return;
		errno = EPROTO;
		die(c->in_len ? (const char *)c->in : "subscription closed without an answer");
	}
	if (!response_status(c, "200")) {
		errno = EPROTO;
		die((const char *)c->in);
	}
	rest = c->in_len - (size_t)((const uint8_t *)body - c->in);
	memmove(c->in, body, rest);
	c->in_len = rest;
	c->in_len -= parse_frames(c->in, rest);
	memmove(c->in, c->in + rest - c->in_len, c->in_len);
	c->kind = CONN_STREAM;
	handshakes--;
	established++;
	handshake_more();
}

/* --- posting ------------------------------------------------------------------ */

static void fill_body(uint8_t *p, int64_t stamp)
{
	memcpy(p, &stamp, sizeof(stamp));
	memset(p + sizeof(stamp), 'm', opt.size - sizeof(stamp));
}

static char *single_request(size_t *ret_len)
{
	const struct mailbox *mb = &boxes[randombytes_uniform(opt.clients)];
	size_t head_len;
	char *head = format(&head_len,
			    "POST /v1/mailboxes/%s HTTP/1.1\r\nHost: bench\r\n"
			    "Content-Type: application/octet-stream\r\nContent-Length: %u\r\n\r\n",
			    mb->id, opt.size);
	char *req = realloc(head, head_len + opt.size);

	fill_body((uint8_t *)req + head_len, now_ns());
	*ret_len = head_len + opt.size;
	return req;
}

static char *batch_request(size_t *ret_len)
{
	size_t entry = RELAY_BATCH_HEADER_LEN + opt.size, head_len;
	char *head = format(&head_len,
			    "POST /v1/batch HTTP/1.1\r\nHost: bench\r\n"
			    "Content-Type: " RELAY_BATCH_CONTENT_TYPE "\r\nContent-Length: %zu\r\n\r\n",
			    entry * opt.batch);
	char *req = realloc(head, head_len + entry * opt.batch);
	uint8_t *p = (uint8_t *)req + head_len;
	int64_t now = now_ns();

	for (unsigned i = 0; i < opt.batch; i++, p += entry) {
		relay_batch_header(p, boxes[randombytes_uniform(opt.clients)].pk, opt.size);
		fill_body(p + RELAY_BATCH_HEADER_LEN, now);
	}
	*ret_len = head_len + entry * opt.batch;
	return req;
}

static void post_start(void)
{
	size_t len;
	char *req = batch_mode ? batch_request(&len) : single_request(&len);

	conn_open(CONN_POST, req, len)->n_msgs = batch_mode ? opt.batch : 1;
	posting_conns++;
}

/* Counts the messages the server took: one per "202 SEQ" line of a batch. */
static uint64_t accepted_in(const struct conn *c)
{
	const char *p = response_body(c);
	uint64_t n = 0;

	if (!batch_mode)
		return response_status(c, "202");
	if (!response_status(c, "200") || !p)
		return 0;
	for (; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : "")
		n += strncmp(p, "202 ", 4) == 0;
	return n;
}

static void on_post(struct conn *c)
{
	int r = conn_read_all(c);
	uint64_t n;

	if (r == 0)
		return;
	n = r > 0 ? accepted_in(c) : 0;
	if (n < c->n_msgs && !post_failed) {
		post_failed = true;
		fprintf(stderr, "signal-bench: a post was refused: %.80s\n", c->in ? (char *)c->in : "(nothing)");
	}
	accepted += n;
	conn_free(c);
	posting_conns--;
	if (posting && !post_failed)
		post_start();
}

/* --- the loop -------------------------------------------------------------- */

static void dispatch(struct conn *c, uint32_t events)
{
	if ((events & EPOLLOUT) && c->out)
		conn_write(c);
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	switch (c->kind) {
	case CONN_CHALLENGE:
		on_challenge(c);
		break;
	case CONN_SUBSCRIBE:
		on_subscribe(c);
		break;
	case CONN_STREAM:
		on_stream(c);
		break;
	case CONN_POST:
		on_post(c);
		break;
	}
}

/* Runs until done() or the deadline; returns done(). */
static bool run_until(bool (*done)(void), int64_t deadline)
{
	struct epoll_event ev[256];

	while (!done()) {
		int64_t left = deadline - now_ns();
		int n;

		if (left <= 0)
			return false;
		n = epoll_wait(ep, ev, 256, (int)MIN(left / 1000000 + 1, 100));
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < n; i++)
			dispatch(ev[i].data.ptr, ev[i].events);
	}
	return true;
}

static bool never(void)
{
	return false;
}

static bool all_subscribed(void)
{
	return established == opt.clients;
}

static bool drained(void)
{
	return posting_conns == 0 && delivered >= accepted;
}

/* --- phases ------------------------------------------------------------------ */

static void make_mailboxes(void)
{
	boxes = calloc(opt.clients, sizeof(*boxes));
	for (unsigned i = 0; i < opt.clients; i++) {
		crypto_sign_keypair(boxes[i].pk, boxes[i].sk);
		relay_b64_encode(boxes[i].id, sizeof(boxes[i].id), boxes[i].pk, RELAY_ID_LEN);
	}
}

static void subscribe_all(struct round_figures *rf)
{
	int64_t start = now_ns();

	next_box = handshakes = established = streams_lost = 0;
	handshake_more();
	if (!run_until(all_subscribed, start + SETUP_LIMIT_NS))
		fprintf(stderr, "signal-bench: only %u of %u subscriptions in time\n", established, opt.clients);
	rf->setup_s = (now_ns() - start) / 1e9;
	rf->established = established;
	/* Let the server's allocator settle before reading its size. */
	run_until(never, now_ns() + 200000000LL);
	rf->idle_rss_mib = rss_mib(server_pid);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void latency_figures(struct relay_figures *f)
{
	if (n_samples == 0)
		return;
	qsort(samples, n_samples, sizeof(*samples), cmp_u32);
	f->p50_ms = samples[n_samples / 2] / 1000.0;
	f->p99_ms = samples[n_samples * 99 / 100] / 1000.0;
}

/* Flat out for opt.seconds after a warm-up; then stops posting and waits
 * for every accepted message to arrive. */
static void relay(bool batch, struct relay_figures *f)
{
	double cpu0, self0;
	uint64_t got0;
	int64_t t0;

	batch_mode = batch;
	posting = true;
	post_failed = false;
	accepted = delivered = 0;
	n_samples = 0;
	for (unsigned i = 0; i < opt.posters; i++)
		post_start();
	run_until(never, now_ns() + WARMUP_NS);
	got0 = delivered, cpu0 = process_cpu(server_pid), self0 = self_cpu(), t0 = now_ns();
	sampling = true;
	run_until(never, t0 + opt.seconds * 1000000000LL);
	sampling = false;
	f->msgs_per_s = (delivered - got0) / ((now_ns() - t0) / 1e9);
	f->server_cpu = 100 * (process_cpu(server_pid) - cpu0) / ((now_ns() - t0) / 1e9);
	f->bench_cpu = 100 * (self_cpu() - self0) / ((now_ns() - t0) / 1e9);
	f->rss_mib = rss_mib(server_pid);
	posting = false;
	run_until(drained, now_ns() + DRAIN_LIMIT_NS);
	f->accepted = accepted;
	f->undelivered = accepted > delivered ? accepted - delivered : 0;
	latency_figures(f);
}

static void run_round(struct round_figures *rf)
{
	double l0 = load_average();

	start_server();
	subscribe_all(rf);
	relay(false, &rf->single);
	relay(true, &rf->batch);
	rf->streams_lost = streams_lost;
	rf->load1 = (l0 + load_average()) / 2;
	while (conns)
		conn_free(conns);
	posting_conns = 0;
	stop_server();
}

/* --- the table ---------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One line: the figure in every round, then median (min..max). */
static void print_row(const char *name, const struct round_figures *rf, size_t offset, int decimals)
{
	double v[MAX_ROUNDS];

	printf("%-40s", name);
	for (unsigned i = 0; i < opt.rounds; i++) {
		v[i] = *(const double *)((const char *)&rf[i] + offset);
		printf(" %10.*f", decimals, v[i]);
	}
	qsort(v, opt.rounds, sizeof(double), cmp_double);
	printf("   %10.*f (%.*f..%.*f)\n", decimals, v[opt.rounds / 2], decimals, v[0], decimals,
	       v[opt.rounds - 1]);
}

#define ROW(name, field, decimals) print_row(name, rf, offsetof(struct round_figures, field), decimals)

static void print_relay_rows(const char *mode, const struct round_figures *rf, size_t off)
{
	static const struct {
		const char *what;
		int decimals;
		size_t field;
	} rows[] = {
		{ "msgs/s delivered", 0, offsetof(struct relay_figures, msgs_per_s) },
		{ "server CPU %", 0, offsetof(struct relay_figures, server_cpu) },
		{ "bench CPU %", 0, offsetof(struct relay_figures, bench_cpu) },
		{ "server RSS MiB", 1, offsetof(struct relay_figures, rss_mib) },
		{ "latency p50 ms", 2, offsetof(struct relay_figures, p50_ms) },
		{ "latency p99 ms", 2, offsetof(struct relay_figures, p99_ms) },
		{ "accepted, whole run", 0, offsetof(struct relay_figures, accepted) },
		{ "accepted, never delivered", 0, offsetof(struct relay_figures, undelivered) },
	};
	char name[64];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(name, sizeof(name), "%s: %s", mode, rows[i].what);
		print_row(name, rf, off + rows[i].field, rows[i].decimals);
	}
}

static void print_table(const struct round_figures *rf)
{
	char mode[32];

	printf("%-40s", "figure");
	for (unsigned i = 0; i < opt.rounds; i++)
		printf("   round %u", i + 1);
	printf("   %10s (min..max)\n", "median");
	ROW("subscribed clients", established, 0);
	ROW("time to subscribe all, s", setup_s, 2);
	ROW("server RSS, idle streams, MiB", idle_rss_mib, 1);
	print_relay_rows("single POST", rf, offsetof(struct round_figures, single));
	snprintf(mode, sizeof(mode), "batch of %u", opt.batch);
	print_relay_rows(mode, rf, offsetof(struct round_figures, batch));
	ROW("streams lost", streams_lost, 0);
	ROW("load average (1 min) during", load1, 2);
}

/* --- main ---------------------------------------------------------------------- */

static const struct option options[] = {
	{ "wice", required_argument, NULL, 'w' },
	{ "clients", required_argument, NULL, 'n' },
	{ "seconds", required_argument, NULL, 's' },
	{ "rounds", required_argument, NULL, 'r' },
	{ "posters", required_argument, NULL, 'p' },
	{ "batch", required_argument, NULL, 'b' },
	{ "size", required_argument, NULL, 'z' },
	{ NULL, 0, NULL, 0 },
};

static bool parse_count(const char *name, const char *s, unsigned min, unsigned max, unsigned *ret)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "signal-bench: bad value '%s' for --%s (%u..%u)\n", s, name, min, max);
		return false;
	}
	*ret = v;
	return true;
}

static bool parse_args(int argc, char **argv)
{
	int o;

	while ((o = getopt_long(argc, argv, "", options, NULL)) != -1) {
		bool ok = true;

		if (o == 'w')
			opt.wice = optarg;
		else if (o == 'n')
			ok = parse_count("clients", optarg, 1, 500000, &opt.clients);
		else if (o == 's')
			ok = parse_count("seconds", optarg, 1, 60, &opt.seconds);
		else if (o == 'r')
			ok = parse_count("rounds", optarg, 1, MAX_ROUNDS, &opt.rounds);
		else if (o == 'p')
			ok = parse_count("posters", optarg, 1, 1000, &opt.posters);
		else if (o == 'b')
			ok = parse_count("batch", optarg, 1, 1000, &opt.batch);
		else if (o == 'z')
			ok = parse_count("size", optarg, 8, 4096, &opt.size);
		else
			ok = false;
		if (!ok)
			return false;
	}
	return optind == argc;
}

int main(int argc, char **argv)
{
	struct round_figures rf[MAX_ROUNDS] = { 0 };
	bool netns;
	int fd;

	if (!parse_args(argc, argv)) {
		fprintf(stderr, "usage: signal-bench [--wice PATH] [--clients N] [--seconds S] [--rounds R]\n"
				"                    [--posters P] [--batch B] [--size BYTES]\n");
		return 2;
	}
	if (sodium_init() < 0)
		die("sodium_init");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	alarm(opt.rounds * (SETUP_LIMIT_NS / 1000000000LL + 2 * (opt.seconds + 12) + 10));
	netns = enter_netns();
	/* Streams, handshakes and posts in flight, and some to spare. */
	raise_fd_limit((rlim_t)opt.clients + 2 * opt.posters + HANDSHAKES_IN_FLIGHT + 256);
	snprintf(server_log, sizeof(server_log), "/tmp/signal-bench-XXXXXX");
	fd = mkstemp(server_log);
	if (fd < 0)
		die("mkstemp");
	close(fd);
	ep = epoll_create1(EPOLL_CLOEXEC);
	samples = malloc(MAX_SAMPLES * sizeof(*samples));
	make_mailboxes();
	printf("wice signal-server: %u subscribers, %u posters, %u-byte messages, batches of %u, "
	       "%u s per figure, %u rounds\n%ld CPUs, %s, load average %.2f at start\n\n",
	       opt.clients, opt.posters, opt.size, opt.batch, opt.seconds, opt.rounds,
	       sysconf(_SC_NPROCESSORS_ONLN), netns ? "own network namespace" : "host loopback",
	       load_average());
	fflush(stdout);
	for (unsigned i = 0; i < opt.rounds; i++)
		run_round(&rf[i]);
	print_table(rf);
	unlink(server_log);
	return 0;
}

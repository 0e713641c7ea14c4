/* sigclient: the client-side pieces that tests/signaling/server.test needs
 * besides curl: mailbox keys, subscription proofs, a decoder for the
 * subscription stream and a STUN Binding client (libnice's codec); and
 * the abusive clients of the other tests there: slow requests and bodies
 * sent flat out.
 *
 *   sigclient keygen KEYFILE          new mailbox key; prints the mailbox id
 *   sigclient sign KEYFILE CHALLENGE...  prints a proof signature for each
 *   sigclient frames                  stdin stream -> "SEQ BODY" lines
 *   sigclient batch ID BODY...        a POST /v1/batch body on stdout
 *   sigclient stun ADDR PORT          prints the mapped "ADDR PORT"
 *   sigclient slow ADDR PORT N SECONDS head|body
 *                                     N requests trickled a byte at a time
 *   sigclient flood ADDR PORT METHOD PATH LENGTH|chunked SECONDS
 *                                     a request body sent flat out */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include <stun/stunagent.h>
#include <stun/usages/bind.h>

#include "signaling/relay-proto.h"

#define MAX_BODY (1 << 20)

static int fail(const char *what)
{
	fprintf(stderr, "sigclient: %s\n", what);
	return 1;
}

static int keygen(const char *path)
{
	uint8_t pk[RELAY_ID_LEN], sk[RELAY_SECRET_KEY_LEN];
	char id[RELAY_ID_STR_LEN];
	FILE *f;

	crypto_sign_keypair(pk, sk);
	f = fopen(path, "wb");
	if (!f || fwrite(sk, sizeof(sk), 1, f) != 1 || fclose(f) != 0)
		return fail("cannot write the key file");
	relay_b64_encode(id, sizeof(id), pk, sizeof(pk));
	printf("%s\n", id);
	return 0;
}

static int sign(const char *path, char **challenges, int n)
{
	uint8_t sk[RELAY_SECRET_KEY_LEN], challenge[RELAY_CHALLENGE_LEN], sig[RELAY_SIGNATURE_LEN];
	char out[RELAY_SIGNATURE_STR_LEN];
	FILE *f = fopen(path, "rb");

	if (!f || fread(sk, sizeof(sk), 1, f) != 1)
		return fail("cannot read the key file");
	fclose(f);
	for (int i = 0; i < n; i++) {
		if (!relay_b64_decode(challenge, sizeof(challenge), challenges[i], strlen(challenges[i])))
			return fail("bad challenge");
		/* The public half (the mailbox id) ends a libsodium secret key. */
		relay_proof_sign(sig, sk + 32, challenge, sk);
		relay_b64_encode(out, sizeof(out), sig, sizeof(sig));
		printf("%s\n", out);
	}
	return 0;
}

/* Prints whole frames as they complete; keepalives as "0 -". */
static size_t print_frames(uint8_t *buf, size_t len, int *err)
{
	size_t used = 0;

	for (;;) {
		const uint8_t *body;
		size_t body_len;
		uint64_t seq;
		ssize_t n = relay_frame_parse(buf + used, len - used, MAX_BODY, &seq, &body, &body_len);

		if (n <= 0) {
			*err = n < 0;
			return used;
		}
		if (seq == 0)
			printf("0 -\n");
		else
			printf("%llu %.*s\n", (unsigned long long)seq, (int)body_len, (const char *)body);
		fflush(stdout);
		used += n;
	}
}

static int frames(void)
{
	static uint8_t buf[2 * (MAX_BODY + RELAY_FRAME_HEADER_LEN)];
	size_t len = 0;
	ssize_t n;
	int err = 0;

	while ((n = read(STDIN_FILENO, buf + len, sizeof(buf) - len)) > 0) {
		size_t used = print_frames(buf, len + n, &err);

		if (err)
			return fail("bad frame");
		len = len + n - used;
		memmove(buf, buf + used, len);
	}
	return len ? fail("stream ends inside a frame") : 0;
}

/* ID BODY pairs -> batch entries; an empty BODY makes an empty entry. */
static int batch(char **args, int n)
{
	for (int i = 0; i + 1 < n; i += 2) {
		uint8_t id[RELAY_ID_LEN], head[RELAY_BATCH_HEADER_LEN];
		size_t len = strlen(args[i + 1]);

		if (!relay_b64_decode(id, sizeof(id), args[i], strlen(args[i])))
			return fail("bad mailbox id");
		relay_batch_header(head, id, len);
		if (fwrite(head, sizeof(head), 1, stdout) != 1 || fwrite(args[i + 1], 1, len, stdout) != len)
			return fail("cannot write");
	}
	return fflush(stdout) == 0 ? 0 : fail("cannot write");
}

static const uint16_t stun_known[] = {
	STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS, STUN_ATTRIBUTE_MAPPED_ADDRESS, STUN_ATTRIBUTE_ERROR_CODE, 0,
};

static int resolve(const char *host, const char *port, int socktype, struct sockaddr_storage *ss,
		   socklen_t *len)
{
	struct addrinfo hints = { .ai_socktype = socktype, .ai_flags = AI_NUMERICHOST };
	struct addrinfo *ai;

	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return -EINVAL;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static int print_mapped(StunMessage *resp)
{
	struct sockaddr_storage mapped, alt;
	socklen_t mapped_len = sizeof(mapped), alt_len = sizeof(alt);
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	if (stun_usage_bind_process(resp, (struct sockaddr *)&mapped, &mapped_len, (struct sockaddr *)&alt,
				    &alt_len) != STUN_USAGE_BIND_RETURN_SUCCESS ||
	    getnameinfo((struct sockaddr *)&mapped, mapped_len, host, sizeof(host), serv, sizeof(serv),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return fail("bad STUN response");
	printf("%s %s\n", host, serv);
	return 0;
}

static int stun(const char *host, const char *port)
{
	uint8_t req[STUN_MAX_MESSAGE_SIZE], buf[1500];
	struct sockaddr_storage server;
	socklen_t server_len;
	StunAgent agent;
	StunMessage msg, resp;
	size_t req_len;
	int fd;

	if (resolve(host, port, SOCK_DGRAM, &server, &server_len) < 0)
		return fail("bad STUN server address");
	stun_agent_init(&agent, stun_known, STUN_COMPATIBILITY_RFC5389, STUN_AGENT_USAGE_USE_FINGERPRINT);
	req_len = stun_usage_bind_create(&agent, &msg, req, sizeof(req));
	fd = socket(server.ss_family, SOCK_DGRAM, 0);
	if (fd < 0)
		return fail("no socket");
	for (int attempt = 0; attempt < 4; attempt++) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		sendto(fd, req, req_len, 0, (struct sockaddr *)&server, server_len);
		if (poll(&pfd, 1, 500) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n > 0 &&
		    stun_agent_validate(&agent, &resp, buf, n, NULL, NULL) == STUN_VALIDATION_SUCCESS) {
			close(fd);
			return print_mapped(&resp);
		}
	}
	close(fd);
	return fail("no STUN answer");
}

/* --- clients that abuse the server ------------------------------------- */

#define MAX_SLOW 256
/* One byte per connection this often: far more often than any idle
 * timeout, so only a deadline on the whole request closes them. */
#define TRICKLE_MS 250
#define FLOOD_CHUNK (64 << 10)

static int64_t clock_ms(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A connected, non-blocking TCP socket, or -1. */
static int tcp_connect(const char *host, const char *port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	if (resolve(host, port, SOCK_STREAM, &ss, &len) < 0)
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 || fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads what the server sent, keeping the first `size` bytes in keep (if
 * not NULL).  Returns false once the server has closed the connection. */
static bool still_open(int fd, char *keep, size_t size, size_t *len)
{
	char scratch[4096];

	for (;;) {
		bool keeping = keep && *len < size;
		ssize_t n = recv(fd, keeping ? keep + *len : scratch, keeping ? size - *len : sizeof(scratch), 0);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		if (n == 0)
			return false;
		if (keeping)
			*len += n;
	}
}

struct slow_conn {
	int fd;		/* -1 once closed */
	int64_t closed; /* ms after the start */
};

/* Sends one more byte on every open connection; one the server closed
 * (EPIPE, ECONNRESET) is noticed by the next read. */
static void trickle(struct slow_conn *c, int n)
{
	for (int i = 0; i < n; i++)
		if (c[i].fd >= 0)
			send(c[i].fd, "a", 1, MSG_NOSIGNAL);
}

static int slow_summary(struct slow_conn *c, int n, int64_t start)
{
	int closed = 0, at_once = 0;
	int64_t last = 0;

	for (int i = 0; i < n; i++) {
		if (c[i].fd >= 0) {
			close(c[i].fd);
			continue;
		}
		closed++;
		at_once += c[i].closed < 1000;
		last = c[i].closed > last ? c[i].closed : last;
	}
	/* The wall clock, to compare with the caller's. */
	printf("closed %d of %d, %d at once, the last at %lld\n", closed, n, at_once,
	       (long long)(clock_ms(CLOCK_REALTIME) - (clock_ms(CLOCK_MONOTONIC) - start - last)));
	return 0;
}

/* n connections that send a request (POST /v1/batch) one byte every
 * TRICKLE_MS: its head ("head"), or after a whole head its body ("body"),
 * for at most `seconds`.  Prints "connected N" once all are open, and at
 * the end how many the server closed, how many within a second, and when
 * it closed the last one (wall clock, ms). */
static int slow(const char *host, const char *port, const char *count, const char *secs,
		const char *mode)
{
	static struct slow_conn c[MAX_SLOW];
	int n = atoi(count), open_n = n, seconds = atoi(secs);
	bool body = strcmp(mode, "body") == 0;
	char head[256];
	int64_t start;

	if (n < 1 || n > MAX_SLOW || seconds < 1 || (!body && strcmp(mode, "head") != 0))
		return fail("bad slow arguments");
	snprintf(head, sizeof(head), "POST /v1/batch HTTP/1.1\r\nHost: %s\r\n%s", host,
		 body ? "Content-Length: 1000\r\n\r\n" : "X-Slow: ");
	for (int i = 0; i < n; i++) {
		c[i].fd = tcp_connect(host, port);
		if (c[i].fd < 0)
			return fail("cannot connect");
		send(c[i].fd, head, strlen(head), MSG_NOSIGNAL);
	}
	printf("connected %d\n", n);
	fflush(stdout);
	start = clock_ms(CLOCK_MONOTONIC);
	for (int64_t now = start, tick = start; open_n > 0 && now < start + seconds * 1000;) {
		struct pollfd pfd[MAX_SLOW];

		if (now >= tick) {
			trickle(c, n);
			tick += TRICKLE_MS;
		}
		for (int i = 0; i < n; i++)
			pfd[i] = (struct pollfd){ .fd = c[i].fd, .events = POLLIN };
		poll(pfd, n, tick - now);
		now = clock_ms(CLOCK_MONOTONIC);
		for (int i = 0; i < n; i++) {
			if (c[i].fd < 0 || !pfd[i].revents || still_open(c[i].fd, NULL, 0, NULL))
				continue;
			close(c[i].fd);
			c[i].fd = -1;
			c[i].closed = now - start;
			open_n--;
		}
	}
	return slow_summary(c, n, start);
}

/* The request head of flood(), and the body bytes it repeats. */
static size_t flood_request(const char *host, const char *method, const char *path,
			    const char *length, char *head, size_t head_size, uint8_t **ret_body)
{
	static uint8_t body[FLOOD_CHUNK + 16];
	bool chunked = strcmp(length, "chunked") == 0;
	int prefix = chunked ? snprintf((char *)body, 16, "%x\r\n", FLOOD_CHUNK) : 0;

	snprintf(head, head_size, "%s %s HTTP/1.1\r\nHost: %s\r\n%s%s\r\n\r\n", method, path, host,
		 chunked ? "Transfer-Encoding: chunked" : "Content-Length: ", chunked ? "" : length);
	memset(body + prefix, 0, FLOOD_CHUNK);
	if (chunked)
		memcpy(body + prefix + FLOOD_CHUNK, "\r\n", 2);
	*ret_body = body;
	return prefix + FLOOD_CHUNK + (chunked ? 2 : 0);
}

/* Sends the head of METHOD PATH with a Content-Length of `length` (or
 * chunked), then its body flat out, also after the answer, until the
 * server resets the connection or `seconds` pass.  Prints "STATUS ANSWER
 * END RESET SENT": the answer's status, the milliseconds until it came,
 * until the server ended its side and until the reset (-1: never), and
 * the bytes sent. */
static int flood(const char *host, const char *port, const char *method, const char *path,
		 const char *length, const char *secs)
{
	char head[512], answer[512] = "";
	size_t answer_len = 0, off = 0, body_len;
	int64_t start = clock_ms(CLOCK_MONOTONIC), now = start, answered = -1, ended = -1, reset = -1;
	unsigned long long sent;
	uint8_t *body;
	int fd = tcp_connect(host, port);

	if (fd < 0)
		return fail("cannot connect");
	body_len = flood_request(host, method, path, length, head, sizeof(head), &body);
	sent = send(fd, head, strlen(head), MSG_NOSIGNAL);
	while (reset < 0 && now < start + atoi(secs) * 1000) {
		struct pollfd pfd = { .fd = fd, .events = (ended < 0 ? POLLIN : 0) | POLLOUT };
		ssize_t n;

		poll(&pfd, 1, 100);
		now = clock_ms(CLOCK_MONOTONIC);
		if (ended < 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR))) {
			if (!still_open(fd, answer, sizeof(answer) - 1, &answer_len))
				ended = now - start;
			if (answer_len && answered < 0)
				answered = now - start;
		}
		if (!(pfd.revents & (POLLOUT | POLLHUP | POLLERR)))
			continue;
		n = send(fd, body + off, body_len - off, MSG_NOSIGNAL);
		if (n > 0) {
			sent += n;
			off = (off + n) % body_len;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			reset = now - start;
		}
	}
	close(fd);
	printf("%d %lld %lld %lld %llu\n", strncmp(answer, "HTTP/1.", 7) == 0 ? atoi(answer + 9) : 0,
	       (long long)answered, (long long)ended, (long long)reset, sent);
	return 0;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return fail("cannot initialise libsodium");
	if (argc == 3 && strcmp(argv[1], "keygen") == 0)
		return keygen(argv[2]);
	if (argc >= 4 && strcmp(argv[1], "sign") == 0)
		return sign(argv[2], argv + 3, argc - 3);
	if (argc == 2 && strcmp(argv[1], "frames") == 0)
		return frames();
	if (argc >= 4 && argc % 2 == 0 && strcmp(argv[1], "batch") == 0)
		return batch(argv + 2, argc - 2);
	if (argc == 4 && strcmp(argv[1], "stun") == 0)
		return stun(argv[2], argv[3]);
	if (argc == 7 && strcmp(argv[1], "slow") == 0)
		return slow(argv[2], argv[3], argv[4], argv[5], argv[6]);
	if (argc == 8 && strcmp(argv[1], "flood") == 0)
		return flood(argv[2], argv[3], argv[4], argv[5], argv[6], argv[7]);
	fprintf(stderr, "usage: sigclient keygen KEYFILE | sign KEYFILE CHALLENGE... | frames\n"
			"       sigclient batch ID BODY [ID BODY]... | stun ADDR PORT\n"
			"       sigclient slow ADDR PORT N SECONDS head|body\n"
			"       sigclient flood ADDR PORT METHOD PATH LENGTH|chunked SECONDS\n");
	return 2;
}

/* sigclient: the client-side pieces that tests/signaling/server.test needs
 * besides curl: mailbox keys, subscription proofs, a decoder for the
 * subscription stream and a STUN Binding client (libnice's codec).
 *
 *   sigclient keygen KEYFILE          new mailbox key; prints the mailbox id
 *   sigclient sign KEYFILE CHALLENGE...  prints a proof signature for each
 *   sigclient frames                  stdin stream -> "SEQ BODY" lines
 *   sigclient batch ID BODY...        a POST /v1/batch body on stdout
 *   sigclient stun ADDR PORT          prints the mapped "ADDR PORT" */
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

static int stun_resolve(const char *host, const char *port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICHOST };
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

	if (stun_resolve(host, port, &server, &server_len) < 0)
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
	fprintf(stderr, "usage: sigclient keygen KEYFILE | sign KEYFILE CHALLENGE... | frames\n"
			"       sigclient batch ID BODY [ID BODY]... | stun ADDR PORT\n");
	return 2;
}

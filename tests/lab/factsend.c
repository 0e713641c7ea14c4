/* factsend: sends one FACTS datagram through a tunnel, the way a daemon
 * would, to test how a receiving daemon treats facts it must not believe
 * (tests/lab/facts-trust.test).
 *
 *   factsend PRIVATE-KEY-FILE RECIPIENT-PUBLIC-KEY IFNAME SUBJECT-KEY
 *            ATTRIBUTE VALUE [--ttl S] [--age MS] [--forge] [--twice]
 *
 * ATTRIBUTE is alive, relays, allowed_ip (VALUE ADDRESS/LEN), endpoint
 * (VALUE ADDRESS PORT as "ADDRESS,PORT") or reaches (VALUE a key); VALUE is
 * ignored for alive and relays.  The datagram leaves from the sender's
 * link-local address (derived from its key) for the recipient's, port
 * 51818.  --age issues the bundle MS milliseconds in the past; --forge
 * seals it with a fresh key instead of the sender's (it still comes
 * through the sender's tunnel); --twice sends the same datagram again
 * (a replay).  Exits 0 once sent. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "signaling/fact-wire.h"
#include "signaling/sig-envelope.h"
#include "signaling/tunnel-wire.h"
#include "wg/wg-key.h"
#include "wg/wg-keyaddr.h"

#define PORT 51818

static void die(const char *what)
{
	fprintf(stderr, "factsend: %s\n", what);
	exit(2);
}

static void read_key_file(const char *path, uint8_t key[32])
{
	char text[128] = "";
	FILE *f = fopen(path, "r");

	if (!f || !fgets(text, sizeof(text), f))
		die("cannot read the private key file");
	fclose(f);
	text[strcspn(text, "\r\n")] = 0;
	if (!wg_key_from_base64(key, text))
		die("bad private key");
}

static void parse_key(const char *text, uint8_t key[32])
{
	if (!wg_key_from_base64(key, text))
		die("bad public key");
}

static void parse_value(struct fact *f, const char *attr, const char *value)
{
	char addr[64];
	const char *sep;

	if (!strcmp(attr, "alive")) {
		f->attr = FACT_ALIVE;
	} else if (!strcmp(attr, "relays")) {
		f->attr = FACT_RELAYS;
	} else if (!strcmp(attr, "reaches")) {
		f->attr = FACT_REACHES;
		parse_key(value, f->peer);
	} else if (!strcmp(attr, "allowed_ip") || !strcmp(attr, "endpoint")) {
		bool prefix = !strcmp(attr, "allowed_ip");

		f->attr = prefix ? FACT_ALLOWED_IP : FACT_ENDPOINT;
		sep = strchr(value, prefix ? '/' : ',');
		if (!sep || (size_t)(sep - value) >= sizeof(addr))
			die("bad value");
		memcpy(addr, value, (size_t)(sep - value));
		addr[sep - value] = 0;
		f->family = strchr(addr, ':') ? AF_INET6 : AF_INET;
		if (inet_pton(f->family, addr, f->addr) != 1)
			die("bad address");
		if (prefix)
			f->prefix = (uint8_t)atoi(sep + 1);
		else
			f->port = (uint16_t)atoi(sep + 1);
	} else {
		die("unknown attribute");
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static size_t seal(const uint8_t own_private[32], const uint8_t recipient[32], const struct fact_bundle *b,
		   bool forge, uint8_t *out)
{
	uint8_t plain[SIG_PLAIN_MAX], env[SIG_ENVELOPE_MAX], priv[32];
	struct sig_identity id;
	struct sig_pair pair;
	size_t n, env_len;

	memcpy(priv, own_private, 32);
	if (forge)
		randombytes_buf(priv, sizeof(priv));
	if (sig_identity_init(&id, priv) < 0 || sig_pair_init(&pair, &id, recipient) < 0 ||
	    fact_bundle_encode(b, plain, sizeof(plain), &n) < 0 ||
	    sig_envelope_seal(&id, &pair, plain, n, env, sizeof(env), &env_len) < 0)
		die("cannot build the datagram");
	return tunnel_wire_facts(out, env, env_len);
}

int main(int argc, char **argv)
{
	uint8_t priv[32], pub[32], recipient[32], buf[TUNNEL_WIRE_MAX];
	struct sockaddr_in6 from = { .sin6_family = AF_INET6 }, to = { .sin6_family = AF_INET6 };
	struct fact_bundle b = { .n = 1 };
	bool forge = false, twice = false;
	long age_ms = 0;
	size_t len;
	int fd;

	if (argc < 7 || sodium_init() < 0)
		die("usage: factsend PRIVATE-KEY-FILE RECIPIENT IFNAME SUBJECT ATTRIBUTE VALUE [--ttl S] [--age MS] "
		    "[--forge] [--twice]");
	read_key_file(argv[1], priv);
	parse_key(argv[2], recipient);
	parse_key(argv[4], b.facts[0].subject);
	b.facts[0].ttl_s = 30;
	parse_value(&b.facts[0], argv[5], argv[6]);
	for (int i = 7; i < argc; i++) {
		if (!strcmp(argv[i], "--forge"))
			forge = true;
		else if (!strcmp(argv[i], "--twice"))
			twice = true;
		else if (!strcmp(argv[i], "--ttl") && i + 1 < argc)
			b.facts[0].ttl_s = (uint16_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--age") && i + 1 < argc)
			age_ms = atol(argv[++i]);
		else
			die("unknown option");
	}
	b.issued_ms = now_ms() - (uint64_t)age_ms;
	len = seal(priv, recipient, &b, forge, buf);

	wg_key_public_from_private(pub, priv);
	wg_key_link_local(pub, &from.sin6_addr);
	wg_key_link_local(recipient, &to.sin6_addr);
	from.sin6_scope_id = to.sin6_scope_id = if_nametoindex(argv[3]);
	to.sin6_port = htons(PORT);
	if (!to.sin6_scope_id)
		die("no such interface");
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&from, sizeof(from)) < 0)
		die(strerror(errno));
	for (int i = 0; i < (twice ? 2 : 1); i++)
		if (sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
			die(strerror(errno));
	close(fd);
	return 0;
}

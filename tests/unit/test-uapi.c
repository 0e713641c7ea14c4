/* The UAPI codec: replies as wireguard-go writes them, every truncation of
 * them, hostile replies, and the exact bytes of set requests. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wg/wg-uapi.h"

#define PRIV "e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a"
#define PUB1 "b85996fecc9c7f1fc6d2572a76eda11d59bcd20be8e543b15ce4bd85a8e75a33"
#define PUB2 "58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376"
#define PSK "188515093e952f5f22e865cef3012e72f8b5f0b598ac0309d5dacce3b70fcf52"

static const char reply[] =
	"private_key=" PRIV "\n"
	"listen_port=51820\n"
	"fwmark=4660\n"
	"public_key=" PUB1 "\n"
	"preshared_key=" PSK "\n"
	"protocol_version=1\n"
	"endpoint=192.0.2.1:51820\n"
	"last_handshake_time_sec=1700000000\n"
	"last_handshake_time_nsec=123456789\n"
	"tx_bytes=38333\n"
	"rx_bytes=2224\n"
	"persistent_keepalive_interval=25\n"
	"allowed_ip=10.1.0.0/16\n"
	"allowed_ip=fd00:1::/64\n"
	"public_key=" PUB2 "\n"
	"endpoint=[2001:db8::1]:4500\n"
	"allowed_ip=10.2.0.1/32\n"
	"errno=0\n"
	"\n";

static struct wg_device *dev;

static void setup(void)
{
	cr_assert_eq(wg_key_init(), 0);
	dev = wg_device_new("wg0");
}

static void teardown(void)
{
	wg_device_free(dev);
}

TestSuite(uapi, .init = setup, .fini = teardown);

static int parse(const char *text)
{
	wg_device_free(dev);
	dev = wg_device_new("wg0");
	return wg_uapi_parse_get(text, strlen(text), dev, NULL);
}

Test(uapi, parses_a_full_reply)
{
	char hex[WG_KEY_HEX_LEN], text[128];
	const struct wg_peer *p;

	cr_assert_eq(parse(reply), 0);
	wg_key_to_hex(hex, dev->private_key);
	cr_assert_str_eq(hex, PRIV);
	cr_assert_not(wg_key_is_zero(dev->public_key));
	cr_assert_eq(dev->listen_port, 51820);
	cr_assert_eq(dev->fwmark, 4660);
	cr_assert_eq(dev->n_peers, 2);
	p = &dev->peers[0];
	wg_key_to_hex(hex, p->public_key);
	cr_assert_str_eq(hex, PUB1);
	wg_key_to_hex(hex, p->preshared_key);
	cr_assert_str_eq(hex, PSK);
	wg_endpoint_format(&p->endpoint, text, sizeof(text));
	cr_assert_str_eq(text, "192.0.2.1:51820");
	cr_assert_eq(p->last_handshake_sec, 1700000000);
	cr_assert_eq(p->last_handshake_nsec, 123456789);
	cr_assert_eq(p->tx_bytes, 38333);
	cr_assert_eq(p->rx_bytes, 2224);
	cr_assert_eq(p->persistent_keepalive, 25);
	cr_assert_eq(p->n_allowed_ips, 2);
	wg_allowed_ip_format(&p->allowed_ips[1], text, sizeof(text));
	cr_assert_str_eq(text, "fd00:1::/64");
	p = &dev->peers[1];
	wg_endpoint_format(&p->endpoint, text, sizeof(text));
	cr_assert_str_eq(text, "[2001:db8::1]:4500");
	cr_assert(wg_key_is_zero(p->preshared_key));
}

Test(uapi, empty_device)
{
	cr_assert_eq(parse("errno=0\n\n"), 0);
	cr_assert_eq(dev->n_peers, 0);
	cr_assert(wg_key_is_zero(dev->private_key));
}

Test(uapi, error_reply)
{
	cr_assert_eq(parse("errno=19\n\n"), -19);
	cr_assert_eq(parse("listen_port=1\nerrno=5\n\n"), -5);
}

Test(uapi, every_truncation_is_rejected)
{
	for (size_t len = 0; len < sizeof(reply) - 1; len++) {
		char *copy = malloc(len ? len : 1);

		memcpy(copy, reply, len);
		wg_device_free(dev);
		dev = wg_device_new("wg0");
		cr_assert_eq(wg_uapi_parse_get(copy, len, dev, NULL), -EPROTO, "prefix of %zu bytes accepted", len);
		free(copy);
	}
}

Test(uapi, unknown_keys_are_skipped)
{
	cr_assert_eq(parse("future_device_key=1\npublic_key=" PUB1 "\nfuture_peer_key=xyz\n"
			   "allowed_ip=10.0.0.0/8\nerrno=0\n\n"), 0);
	cr_assert_eq(dev->n_peers, 1);
	cr_assert_eq(dev->peers[0].n_allowed_ips, 1);
}

Test(uapi, hostile_replies_are_rejected)
{
	static const char *bad[] = {
		"listen_port=65536\nerrno=0\n\n",
		"listen_port=-1\nerrno=0\n\n",
		"listen_port=\nerrno=0\n\n",
		"listen_port=1x\nerrno=0\n\n",
		"listen_port= 1\nerrno=0\n\n",
		"fwmark=4294967296\nerrno=0\n\n",
		"private_key=" PRIV "00\nerrno=0\n\n",
		"private_key=zz\nerrno=0\n\n",
		"public_key=" PUB1 "\nendpoint=nonsense\nerrno=0\n\n",
		"public_key=" PUB1 "\nallowed_ip=10.0.0.0/33\nerrno=0\n\n",
		"public_key=" PUB1 "\nlast_handshake_time_nsec=1000000000\nerrno=0\n\n",
		"public_key=" PUB1 "\nrx_bytes=18446744073709551616\nerrno=0\n\n",
		"public_key=" PUB1 "\npersistent_keepalive_interval=65536\nerrno=0\n\n",
		"endpoint=192.0.2.1:1\nerrno=0\n\n", /* peer field before any peer */
		"no equals sign\nerrno=0\n\n",
		"=value\nerrno=0\n\n",
		"errno=0\nlisten_port=1\n\n", /* data after errno */
		"errno=0\nerrno=0\n\n",
		"errno=0\n\nextra",
		"errno=0\n\n\n",
		"errno=x\n\n",
		"errno=4096\n\n",
		"\n",
		"",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_lt(parse(bad[i]), 0, "accepted '%s'", bad[i]);
}

Test(uapi, nul_bytes_and_long_lines_are_rejected)
{
	static const char with_nul[] = "listen_port=1\0junk\nerrno=0\n\n";
	size_t bad_line = 99;
	char *longline = malloc(WG_UAPI_MAX_LINE + 64);
	int n;

	cr_assert_eq(wg_uapi_parse_get(with_nul, sizeof(with_nul) - 1, dev, &bad_line), -EPROTO);
	cr_assert_eq(bad_line, 0);
	n = snprintf(longline, WG_UAPI_MAX_LINE + 64, "unknown=%0*d\nerrno=0\n\n", WG_UAPI_MAX_LINE, 0);
	cr_assert_eq(wg_uapi_parse_get(longline, (size_t)n, dev, NULL), -EPROTO);
	free(longline);
}

Test(uapi, allowed_ip_cap)
{
	size_t n = WG_MAX_ALLOWED_IPS_PER_PEER + 1, cap = n * 32 + 256, len = 0;
	char *buf = malloc(cap);

	len += (size_t)sprintf(buf, "public_key=%s\n", PUB1);
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(buf + len, "allowed_ip=10.%zu.%zu.0/24\n", i / 256 % 256, i % 256);
	len += (size_t)sprintf(buf + len, "errno=0\n\n");
	cr_assert_eq(wg_uapi_parse_get(buf, len, dev, NULL), -E2BIG);
	free(buf);
}

Test(uapi, set_reply)
{
	cr_assert_eq(wg_uapi_parse_set_reply("errno=0\n\n", 9), 0);
	cr_assert_eq(wg_uapi_parse_set_reply("errno=22\n\n", 10), -22);
	cr_assert_eq(wg_uapi_parse_set_reply("errno=0\n", 8), -EPROTO);
	cr_assert_eq(wg_uapi_parse_set_reply("", 0), -EPROTO);
	cr_assert_eq(wg_uapi_parse_set_reply("listen_port=5\nerrno=0\n\n", 23), -EPROTO);
}

Test(uapi, formats_set_requests_exactly)
{
	static const char expect[] =
		"set=1\n"
		"private_key=" PRIV "\n"
		"listen_port=51820\n"
		"fwmark=0\n"
		"replace_peers=true\n"
		"public_key=" PUB1 "\n"
		"update_only=true\n"
		"preshared_key=" PSK "\n"
		"endpoint=[2001:db8::1]:4500\n"
		"persistent_keepalive_interval=25\n"
		"replace_allowed_ips=true\n"
		"allowed_ip=10.1.0.0/16\n"
		"allowed_ip=fd00::/8\n"
		"public_key=" PUB2 "\n"
		"remove=true\n"
		"\n";
	struct wg_device *changes = wg_device_new("wg0");
	struct wg_allowed_ip aip;
	struct wg_peer *p;
	uint8_t key[WG_KEY_LEN];
	char *out = NULL;
	size_t len = 0;

	changes->set = WG_DEVICE_SET_PRIVATE_KEY | WG_DEVICE_SET_LISTEN_PORT | WG_DEVICE_SET_FWMARK |
		       WG_DEVICE_REPLACE_PEERS;
	cr_assert(wg_key_from_hex(changes->private_key, PRIV, 64));
	changes->listen_port = 51820;
	cr_assert(wg_key_from_hex(key, PUB1, 64));
	p = wg_device_add_peer(changes, key);
	p->set = WG_PEER_UPDATE_ONLY | WG_PEER_SET_PRESHARED_KEY | WG_PEER_SET_ENDPOINT | WG_PEER_SET_KEEPALIVE |
		 WG_PEER_REPLACE_ALLOWED_IPS;
	cr_assert(wg_key_from_hex(p->preshared_key, PSK, 64));
	cr_assert(wg_endpoint_parse("[2001:db8::1]:4500", &p->endpoint));
	p->persistent_keepalive = 25;
	cr_assert(wg_allowed_ip_parse("10.1.0.0/16", &aip));
	cr_assert_eq(wg_peer_add_allowed_ip(p, &aip), 0);
	cr_assert(wg_allowed_ip_parse("fd00::/8", &aip));
	cr_assert_eq(wg_peer_add_allowed_ip(p, &aip), 0);
	cr_assert(wg_key_from_hex(key, PUB2, 64));
	p = wg_device_add_peer(changes, key);
	p->set = WG_PEER_REMOVE;
	cr_assert_eq(wg_uapi_format_set(changes, &out, &len), 0);
	cr_assert_eq(len, strlen(expect));
	cr_assert_str_eq(out, expect);
	wg_uapi_buf_free(out, len);
	wg_device_free(changes);
}

Test(uapi, set_request_round_trips_through_the_parser)
{
	/* What we would set, read back as a get reply, is what we meant. */
	struct wg_device *changes = wg_device_new("wg0");
	struct wg_allowed_ip aip;
	struct wg_peer *p;
	uint8_t key[WG_KEY_LEN];
	char *out = NULL, *as_reply;
	size_t len = 0;

	changes->set = WG_DEVICE_SET_LISTEN_PORT;
	changes->listen_port = 1234;
	cr_assert(wg_key_from_hex(key, PUB1, 64));
	p = wg_device_add_peer(changes, key);
	p->set = WG_PEER_SET_ENDPOINT;
	cr_assert(wg_endpoint_parse("198.51.100.1:9", &p->endpoint));
	cr_assert(wg_allowed_ip_parse("10.0.0.0/8", &aip));
	cr_assert_eq(wg_peer_add_allowed_ip(p, &aip), 0);
	cr_assert_eq(wg_uapi_format_set(changes, &out, &len), 0);
	/* drop "set=1\n", replace the closing empty line with errno=0 */
	as_reply = malloc(len + 16);
	len = (size_t)sprintf(as_reply, "%.*serrno=0\n\n", (int)(len - 7), out + 6);
	cr_assert_eq(wg_uapi_parse_get(as_reply, len, dev, NULL), 0);
	cr_assert_eq(dev->listen_port, 1234);
	cr_assert_eq(dev->n_peers, 1);
	cr_assert_eq(ntohs(dev->peers[0].endpoint.in.sin_port), 9);
	cr_assert_eq(dev->peers[0].n_allowed_ips, 1);
	free(as_reply);
	wg_uapi_buf_free(out, strlen(out));
	wg_device_free(changes);
}

Test(uapi, cannot_clear_an_endpoint)
{
	struct wg_device *changes = wg_device_new("wg0");
	uint8_t key[WG_KEY_LEN] = { 1 };
	struct wg_peer *p = wg_device_add_peer(changes, key);
	char *out = NULL;
	size_t len = 0;

	p->set = WG_PEER_SET_ENDPOINT; /* endpoint left AF_UNSPEC */
	cr_assert_eq(wg_uapi_format_set(changes, &out, &len), -EINVAL);
	cr_assert_null(out);
	wg_device_free(changes);
}

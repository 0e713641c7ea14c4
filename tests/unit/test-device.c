/* The data model's text forms (endpoints, allowed IPs) and its caps. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "wg/wg-device.h"

static void endpoint_round_trip(const char *text, const char *expect)
{
	union wg_sockaddr ep;
	char buf[128];

	cr_assert(wg_endpoint_parse(text, &ep), "rejected '%s'", text);
	wg_endpoint_format(&ep, buf, sizeof(buf));
	cr_assert_str_eq(buf, expect);
}

Test(endpoint, parses_and_formats)
{
	endpoint_round_trip("192.0.2.1:51820", "192.0.2.1:51820");
	endpoint_round_trip("[2001:db8::1]:1", "[2001:db8::1]:1");
	endpoint_round_trip("[2001:0db8:0::1]:65535", "[2001:db8::1]:65535");
	endpoint_round_trip("[fe80::1%lo]:5", "[fe80::1%lo]:5");
	endpoint_round_trip("0.0.0.0:0", "0.0.0.0:0");
}

Test(endpoint, rejects_bad_input)
{
	static const char *bad[] = {
		"", ":", "192.0.2.1", "192.0.2.1:", "192.0.2.1:65536", "192.0.2.1:-1", "192.0.2.1:+5",
		"192.0.2.1:1x", "192.0.2:1", "host.example:1", "[2001:db8::1]", "[2001:db8::1]:",
		"2001:db8::1:5", "[]:5", "[2001:db8::1:5", "[192.0.2.1]:5", "[fe80::1%nosuchif0]:5",
		"192.0.2.1:99999999999999999999",
	};
	union wg_sockaddr ep;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_not(wg_endpoint_parse(bad[i], &ep), "accepted '%s'", bad[i]);
}

Test(endpoint, unset_formats_as_none)
{
	union wg_sockaddr ep = { 0 };
	char buf[64];

	wg_endpoint_format(&ep, buf, sizeof(buf));
	cr_assert_str_eq(buf, "(none)");
}

Test(allowed_ip, parses_and_formats)
{
	static const char *good[] = { "10.0.0.0/8", "0.0.0.0/0", "192.0.2.1/32", "::/0", "fd00::/64",
				      "2001:db8::1/128" };
	struct wg_allowed_ip aip;
	char buf[64];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		cr_assert(wg_allowed_ip_parse(good[i], &aip), "rejected '%s'", good[i]);
		wg_allowed_ip_format(&aip, buf, sizeof(buf));
		cr_assert_str_eq(buf, good[i]);
	}
}

Test(allowed_ip, rejects_bad_input)
{
	static const char *bad[] = { "", "10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "fd00::/129", "/8",
				     "10.0.0.0/8x", "10.0.0.0/-1", "10.0.0/8", "x/8", "10.0.0.0/ 8" };
	struct wg_allowed_ip aip;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_not(wg_allowed_ip_parse(bad[i], &aip), "accepted '%s'", bad[i]);
}

Test(device, peers_and_caps)
{
	struct wg_device *dev = wg_device_new("wg0");
	uint8_t key[WG_KEY_LEN] = { 0 };
	struct wg_allowed_ip aip = { .family = AF_INET, .cidr = 32 };
	struct wg_peer *peer;

	cr_assert_str_eq(dev->name, "wg0");
	for (int i = 0; i < 100; i++) {
		key[0] = (uint8_t)i;
		cr_assert_not_null(wg_device_add_peer(dev, key));
	}
	key[0] = 42;
	peer = wg_device_find_peer(dev, key);
	cr_assert_not_null(peer);
	cr_assert_eq(peer->public_key[0], 42);
	for (unsigned i = 0; i < WG_MAX_ALLOWED_IPS_PER_PEER; i++)
		cr_assert_eq(wg_peer_add_allowed_ip(peer, &aip), 0);
	cr_assert_eq(wg_peer_add_allowed_ip(peer, &aip), -E2BIG);
	cr_assert_eq(peer->n_allowed_ips, WG_MAX_ALLOWED_IPS_PER_PEER);
	key[0] = 200;
	cr_assert_null(wg_device_find_peer(dev, key));
	wg_device_free(dev);
	wg_device_free(NULL);
}

Test(names, unique_and_bounded)
{
	struct wg_names names = { 0 };

	cr_assert_eq(wg_names_add(&names, "wg0"), 0);
	cr_assert_eq(wg_names_add(&names, "wg1"), 0);
	cr_assert_eq(wg_names_add(&names, "wg0"), 0);
	cr_assert_eq(names.n, 2);
	cr_assert(wg_names_contains(&names, "wg1"));
	cr_assert_eq(wg_names_add(&names, "a-name-far-too-long"), -ENAMETOOLONG);
	wg_names_clear(&names);
	cr_assert_eq(names.n, 0);
}

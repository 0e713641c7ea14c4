/* Unit tests of the kernel WireGuard backend without a kernel.
 *
 * Reply messages are built here with libmnl, exactly as the kernel lays them
 * out, and fed to wg_netlink_parse_device_msg(); crafted variants check that
 * bad lengths are refused and that no prefix of a message is read past its
 * end (a guard page follows every truncated copy).  The source file is
 * included so that the static builder of WG_CMD_SET_DEVICE requests can be
 * checked too: its split messages are parsed back and compared.
 *
 * With WICE_NETLINK_SEED_DIR set, the seed test also writes the fuzzer seeds
 * (tests/fuzz/corpus/netlink) into that directory. */
#include "wg/wg-netlink.c"

#include <arpa/inet.h>
#include <dirent.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include <criterion/criterion.h>

#define FAMILY_ID 0x1d
#define MSG_SIZE 70000 /* room for the allowed-IP cap test */

static uint8_t msg_buf[MSG_SIZE] __attribute__((aligned(4)));
static uint8_t msg_buf2[MSG_SIZE] __attribute__((aligned(4)));

static void fill_key(uint8_t key[WG_KEY_LEN], uint8_t seed)
{
	for (int i = 0; i < WG_KEY_LEN; i++)
		key[i] = (uint8_t)(seed + i * 7);
}

static struct nlmsghdr *msg_begin(void *buf)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *genl;

	memset(buf, 0, MSG_SIZE);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = FAMILY_ID;
	nlh->nlmsg_flags = NLM_F_MULTI;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = WG_CMD_GET_DEVICE;
	genl->version = WG_GENL_VERSION;
	return nlh;
}

static void put_key(struct nlmsghdr *nlh, uint16_t type, uint8_t seed)
{
	uint8_t key[WG_KEY_LEN];

	fill_key(key, seed);
	mnl_attr_put(nlh, type, WG_KEY_LEN, key);
}

static void put_aip(struct nlmsghdr *nlh, int family, const char *addr, uint8_t cidr)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, 0 | NLA_F_NESTED);
	struct in6_addr a;

	cr_assert_eq(inet_pton(family, addr, &a), 1);
	mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, (uint16_t)family);
	mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, family == AF_INET ? 4 : 16, &a);
	mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, cidr);
	mnl_attr_nest_end(nlh, nest);
}

static void put_endpoint4(struct nlmsghdr *nlh, const char *addr, uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };

	inet_pton(AF_INET, addr, &sin.sin_addr);
	mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(sin), &sin);
}

static void put_endpoint6(struct nlmsghdr *nlh, const char *addr, uint16_t port)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };

	inet_pton(AF_INET6, addr, &sin6.sin6_addr);
	mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(sin6), &sin6);
}

/* Appends raw bytes at the tail, padded like an attribute. */
static void *put_raw(struct nlmsghdr *nlh, const void *data, size_t len)
{
	void *tail = mnl_nlmsg_get_payload_tail(nlh);

	memcpy(tail, data, len);
	nlh->nlmsg_len += MNL_ALIGN(len);
	return tail;
}

static void put_peer_a(struct nlmsghdr *nlh)
{
	struct nlattr *peer = mnl_attr_nest_start(nlh, 0 | NLA_F_NESTED);
	struct __kernel_timespec ts = { .tv_sec = 1700000000, .tv_nsec = 123456789 };
	struct nlattr *aips;

	put_key(nlh, WGPEER_A_PUBLIC_KEY, 0xa0);
	put_key(nlh, WGPEER_A_PRESHARED_KEY, 0x50);
	put_endpoint4(nlh, "192.0.2.1", 51821);
	mnl_attr_put_u16(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 25);
	mnl_attr_put(nlh, WGPEER_A_LAST_HANDSHAKE_TIME, sizeof(ts), &ts);
	mnl_attr_put_u64(nlh, WGPEER_A_RX_BYTES, (1ull << 40) + 5);
	mnl_attr_put_u64(nlh, WGPEER_A_TX_BYTES, 77);
	mnl_attr_put_u32(nlh, WGPEER_A_PROTOCOL_VERSION, 1);
	aips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS | NLA_F_NESTED);
	put_aip(nlh, AF_INET, "10.0.0.0", 24);
	put_aip(nlh, AF_INET6, "fd00::", 64);
	mnl_attr_nest_end(nlh, aips);
	mnl_attr_nest_end(nlh, peer);
}

static void put_peer_b(struct nlmsghdr *nlh)
{
	struct nlattr *peer = mnl_attr_nest_start(nlh, 0 | NLA_F_NESTED);
	struct nlattr *aips;

	put_key(nlh, WGPEER_A_PUBLIC_KEY, 0xb0);
	put_endpoint6(nlh, "2001:db8::1", 51822);
	aips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS | NLA_F_NESTED);
	put_aip(nlh, AF_INET6, "fd00:1::2", 128);
	mnl_attr_nest_end(nlh, aips);
	mnl_attr_nest_end(nlh, peer);
}

static void put_device_fields_test(struct nlmsghdr *nlh)
{
	mnl_attr_put_u32(nlh, WGDEVICE_A_IFINDEX, 7);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "wgtest0");
	put_key(nlh, WGDEVICE_A_PRIVATE_KEY, 0x10);
	put_key(nlh, WGDEVICE_A_PUBLIC_KEY, 0x20);
	mnl_attr_put_u16(nlh, WGDEVICE_A_LISTEN_PORT, 51820);
	mnl_attr_put_u32(nlh, WGDEVICE_A_FWMARK, 0x1234);
}

/* A whole device in one message, the way the kernel sends a small one. */
static struct nlmsghdr *build_full(void *buf)
{
	struct nlmsghdr *nlh = msg_begin(buf);
	struct nlattr *peers;

	put_device_fields_test(nlh);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS | NLA_F_NESTED);
	put_peer_a(nlh);
	put_peer_b(nlh);
	mnl_attr_nest_end(nlh, peers);
	return nlh;
}

/* The next message of a dump: only the name, peer B continued with more
 * allowed IPs, then peer A in full. */
static struct nlmsghdr *build_second(void *buf)
{
	struct nlmsghdr *nlh = msg_begin(buf);
	struct nlattr *peers, *peer, *aips;

	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "wgtest0");
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS | NLA_F_NESTED);
	peer = mnl_attr_nest_start(nlh, 0 | NLA_F_NESTED);
	put_key(nlh, WGPEER_A_PUBLIC_KEY, 0xb0);
	aips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS | NLA_F_NESTED);
	put_aip(nlh, AF_INET, "10.2.0.0", 16);
	put_aip(nlh, AF_INET6, "fd00:3::", 64);
	mnl_attr_nest_end(nlh, aips);
	mnl_attr_nest_end(nlh, peer);
	put_peer_a(nlh);
	mnl_attr_nest_end(nlh, peers);
	return nlh;
}

static void assert_key(const uint8_t key[WG_KEY_LEN], uint8_t seed)
{
	uint8_t expected[WG_KEY_LEN];

	fill_key(expected, seed);
	cr_assert(memcmp(key, expected, WG_KEY_LEN) == 0, "key with seed %#x differs", seed);
}

static void assert_aip(const struct wg_allowed_ip *aip, const char *text)
{
	char buf[64];

	wg_allowed_ip_format(aip, buf, sizeof(buf));
	cr_assert_str_eq(buf, text);
}

static void assert_endpoint(const union wg_sockaddr *ep, const char *text)
{
	char buf[64];

	wg_endpoint_format(ep, buf, sizeof(buf));
	cr_assert_str_eq(buf, text);
}

static void assert_full_device(const struct wg_device *dev)
{
	const struct wg_peer *a = &dev->peers[0], *b = &dev->peers[1];

	cr_assert_str_eq(dev->name, "wgtest0");
	cr_assert_eq(dev->ifindex, 7);
	assert_key(dev->private_key, 0x10);
	assert_key(dev->public_key, 0x20);
	cr_assert_eq(dev->listen_port, 51820);
	cr_assert_eq(dev->fwmark, 0x1234);
	cr_assert_eq(dev->n_peers, 2);
	assert_key(a->public_key, 0xa0);
	assert_key(a->preshared_key, 0x50);
	assert_endpoint(&a->endpoint, "192.0.2.1:51821");
	cr_assert_eq(a->persistent_keepalive, 25);
	cr_assert_eq(a->last_handshake_sec, 1700000000);
	cr_assert_eq(a->last_handshake_nsec, 123456789);
	cr_assert_eq(a->rx_bytes, (1ull << 40) + 5);
	cr_assert_eq(a->tx_bytes, 77);
	cr_assert_eq(a->n_allowed_ips, 2);
	assert_aip(&a->allowed_ips[0], "10.0.0.0/24");
	assert_aip(&a->allowed_ips[1], "fd00::/64");
	assert_key(b->public_key, 0xb0);
	cr_assert(wg_key_is_zero(b->preshared_key));
	assert_endpoint(&b->endpoint, "[2001:db8::1]:51822");
	cr_assert_eq(b->persistent_keepalive, 0);
	cr_assert_eq(b->n_allowed_ips, 1);
	assert_aip(&b->allowed_ips[0], "fd00:1::2/128");
}

static int parse_one(const struct nlmsghdr *nlh, struct wg_device **ret_dev)
{
	struct wg_device *dev = wg_device_new("x");
	int r;

	cr_assert_not_null(dev);
	r = wg_netlink_parse_device_msg(nlh, dev);
	if (ret_dev)
		*ret_dev = dev;
	else
		wg_device_free(dev);
	return r;
}

Test(netlink_parse, full_device)
{
	struct wg_device *dev;

	cr_assert_eq(parse_one(build_full(msg_buf), &dev), 0);
	assert_full_device(dev);
	wg_device_free(dev);
}

Test(netlink_parse, nests_without_nested_flag)
{
	struct nlmsghdr *nlh = msg_begin(msg_buf);
	struct nlattr *peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	struct nlattr *peer = mnl_attr_nest_start(nlh, 0);
	struct nlattr *aips;
	struct wg_device *dev;

	put_key(nlh, WGPEER_A_PUBLIC_KEY, 0xa0);
	aips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
	put_aip(nlh, AF_INET, "10.1.0.0", 16);
	mnl_attr_nest_end(nlh, aips);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
	cr_assert_eq(parse_one(nlh, &dev), 0);
	cr_assert_eq(dev->n_peers, 1);
	assert_aip(&dev->peers[0].allowed_ips[0], "10.1.0.0/16");
	wg_device_free(dev);
}

/* Message 1: device and peer A with one allowed IP.  Message 2: only the name
 * and A again (key and allowed IPs), then B.  Message 3: B continued. */
Test(netlink_parse, peer_split_across_messages)
{
	struct wg_device *dev = wg_device_new("x");
	struct nlmsghdr *nlh;
	struct nlattr *peers, *peer, *aips;

	nlh = msg_begin(msg_buf);
	put_device_fields_test(nlh);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS | NLA_F_NESTED);
	put_peer_a(nlh);
	mnl_attr_nest_end(nlh, peers);
	cr_assert_eq(wg_netlink_parse_device_msg(nlh, dev), 0);

	nlh = msg_begin(msg_buf);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "wgtest0");
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS | NLA_F_NESTED);
	peer = mnl_attr_nest_start(nlh, 0 | NLA_F_NESTED);
	put_key(nlh, WGPEER_A_PUBLIC_KEY, 0xa0);
	aips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS | NLA_F_NESTED);
	put_aip(nlh, AF_INET, "10.0.1.0", 24);
	put_aip(nlh, AF_INET6, "fd00:2::", 48);
	mnl_attr_nest_end(nlh, aips);
	mnl_attr_nest_end(nlh, peer);
	put_peer_b(nlh);
	mnl_attr_nest_end(nlh, peers);
	cr_assert_eq(wg_netlink_parse_device_msg(nlh, dev), 0);

	nlh = msg_begin(msg_buf);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "wgtest0");
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS | NLA_F_NESTED);
	peer = mnl_attr_nest_start(nlh, 0 | NLA_F_NESTED);
	put_key(nlh, WGPEER_A_PUBLIC_KEY, 0xb0);
	aips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS | NLA_F_NESTED);
	put_aip(nlh, AF_INET, "172.16.0.1", 32);
	mnl_attr_nest_end(nlh, aips);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
	cr_assert_eq(wg_netlink_parse_device_msg(nlh, dev), 0);

	cr_assert_eq(dev->n_peers, 2);
	cr_assert_eq(dev->peers[0].n_allowed_ips, 4);
	assert_aip(&dev->peers[0].allowed_ips[0], "10.0.0.0/24");
	assert_aip(&dev->peers[0].allowed_ips[1], "fd00::/64");
	assert_aip(&dev->peers[0].allowed_ips[2], "10.0.1.0/24");
	assert_aip(&dev->peers[0].allowed_ips[3], "fd00:2::/48");
	/* The continuation did not wipe what the first part said. */
	cr_assert_eq(dev->peers[0].persistent_keepalive, 25);
	assert_endpoint(&dev->peers[0].endpoint, "192.0.2.1:51821");
	cr_assert_eq(dev->peers[1].n_allowed_ips, 2);
	assert_aip(&dev->peers[1].allowed_ips[1], "172.16.0.1/32");
	wg_device_free(dev);
}

Test(netlink_parse, unknown_attributes_skipped)
{
	struct nlmsghdr *nlh = msg_begin(msg_buf);
	struct nlattr *peers, *peer, *aips, *aip, *unknown, *inner;
	struct wg_device *dev;

	mnl_attr_put_u32(nlh, 200, 0xdeadbeef);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "wgtest1");
	mnl_attr_put_u32(nlh, WGDEVICE_A_FLAGS, 0); /* known, only for set */
	/* An unknown nest whose insides are not even valid attributes. */
	unknown = mnl_attr_nest_start(nlh, 201 | NLA_F_NESTED);
	put_raw(nlh, "\xff\xff\xff\xff\x01\x02", 6);
	mnl_attr_nest_end(nlh, unknown);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS | NLA_F_NESTED);
	peer = mnl_attr_nest_start(nlh, 0 | NLA_F_NESTED);
	mnl_attr_put_u8(nlh, 50, 1);
	unknown = mnl_attr_nest_start(nlh, 51 | NLA_F_NESTED);
	inner = mnl_attr_nest_start(nlh, 1 | NLA_F_NESTED);
	mnl_attr_put_u64(nlh, 3, 42);
	mnl_attr_nest_end(nlh, inner);
	mnl_attr_nest_end(nlh, unknown);
	put_key(nlh, WGPEER_A_PUBLIC_KEY, 0xa0);
	aips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS | NLA_F_NESTED);
	aip = mnl_attr_nest_start(nlh, 0 | NLA_F_NESTED);
	mnl_attr_put_u32(nlh, 9, 1); /* e.g. a future per-IP flag */
	mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, AF_INET);
	mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, 4, "\x0a\x00\x00\x01");
	mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, 32);
	mnl_attr_nest_end(nlh, aip);
	mnl_attr_nest_end(nlh, aips);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
	mnl_attr_put_u16(nlh, WGDEVICE_A_LISTEN_PORT, 1234);

	cr_assert_eq(parse_one(nlh, &dev), 0);
	cr_assert_str_eq(dev->name, "wgtest1");
	cr_assert_eq(dev->listen_port, 1234);
	cr_assert_eq(dev->n_peers, 1);
	cr_assert_eq(dev->peers[0].n_allowed_ips, 1);
	assert_aip(&dev->peers[0].allowed_ips[0], "10.0.0.1/32");
	wg_device_free(dev);
}

/* A copy of the first @len bytes whose last byte sits at most three bytes
 * before a PROT_NONE page, so that a read past the end faults. */
struct guarded {
	uint8_t *map;
	size_t map_len;
	struct nlmsghdr *nlh;
};

static void guarded_copy(struct guarded *g, const void *src, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t room = MNL_ALIGN(len);
	size_t pages = (room + page - 1) / page + 1;

	g->map_len = pages * page;
	g->map = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(g->map, MAP_FAILED);
	cr_assert_eq(mprotect(g->map + g->map_len - page, page, PROT_NONE), 0);
	g->nlh = (struct nlmsghdr *)(g->map + g->map_len - page - room);
	memcpy(g->nlh, src, len);
	g->nlh->nlmsg_len = (uint32_t)len;
}

static void guarded_free(struct guarded *g)
{
	munmap(g->map, g->map_len);
}

/* True when the message cut at @len ends at a top-level attribute boundary
 * (or inside the last attribute's padding): only those prefixes are whole
 * messages. */
static bool is_top_level_boundary(const struct nlmsghdr *full, size_t len)
{
	size_t off = mnl_nlmsg_size(GENL_HDRLEN);

	while (off < full->nlmsg_len) {
		const struct nlattr *attr = (const struct nlattr *)((const uint8_t *)full + off);

		if (len == off)
			return true;
		if (len >= off + attr->nla_len && len <= off + MNL_ALIGN(attr->nla_len))
			return true;
		off += MNL_ALIGN(attr->nla_len);
	}
	return len == off;
}

Test(netlink_parse, truncation_sweep)
{
	const struct nlmsghdr *full = build_full(msg_buf);
	size_t accepted = 0, rejected = 0;

	for (size_t len = sizeof(struct nlmsghdr); len <= full->nlmsg_len; len++) {
		struct guarded g;
		int r;

		guarded_copy(&g, full, len);
		r = parse_one(g.nlh, NULL);
		guarded_free(&g);
		if (len < mnl_nlmsg_size(GENL_HDRLEN) || !is_top_level_boundary(full, len)) {
			cr_assert_eq(r, -EPROTO, "prefix of %zu bytes: %d", len, r);
			rejected++;
		} else {
			cr_assert_eq(r, 0, "prefix of %zu bytes: %d", len, r);
			accepted++;
		}
	}
	cr_assert_gt(rejected, 100);
	cr_assert_gt(accepted, 5);
}

/* The same sweep over the second message of a split dump (peer B continued,
 * then A again): the parser must stay inside it while continuing B. */
Test(netlink_parse, truncation_sweep_continuation)
{
	const struct nlmsghdr *first = build_full(msg_buf);
	const struct nlmsghdr *second = build_second(msg_buf2);
	size_t accepted = 0;

	for (size_t len = sizeof(struct nlmsghdr); len <= second->nlmsg_len; len++) {
		struct wg_device *dev = wg_device_new("x");
		struct guarded g;
		int r;

		cr_assert_eq(wg_netlink_parse_device_msg(first, dev), 0);
		guarded_copy(&g, second, len);
		r = wg_netlink_parse_device_msg(g.nlh, dev);
		guarded_free(&g);
		cr_assert(r == 0 || r == -EPROTO, "prefix of %zu bytes: %d", len, r);
		cr_assert_eq(r == 0, len >= mnl_nlmsg_size(GENL_HDRLEN) && is_top_level_boundary(second, len));
		if (r == 0 && len == second->nlmsg_len) {
			cr_assert_eq(dev->n_peers, 3);
			cr_assert_eq(dev->peers[1].n_allowed_ips, 3);
		}
		cr_assert_leq(dev->n_peers, 3);
		accepted += r == 0;
		wg_device_free(dev);
	}
	cr_assert_gt(accepted, 2);
}

typedef void (*build_fn)(struct nlmsghdr *nlh);

struct bad_case {
	const char *name;
	build_fn build;
};

static void bad_top_len_short(struct nlmsghdr *nlh)
{
	struct nlattr a = { .nla_len = 2, .nla_type = WGDEVICE_A_FWMARK };

	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "wg0");
	put_raw(nlh, &a, sizeof(a));
}

static void bad_top_len_zero(struct nlmsghdr *nlh)
{
	struct nlattr a = { .nla_len = 0, .nla_type = 0 };

	put_raw(nlh, &a, sizeof(a));
}

static void bad_top_len_long(struct nlmsghdr *nlh)
{
	struct nlattr a = { .nla_len = 100, .nla_type = WGDEVICE_A_IFNAME };

	put_raw(nlh, &a, sizeof(a));
	put_raw(nlh, "wg0", 4);
}

static void bad_trailing_bytes(struct nlmsghdr *nlh)
{
	mnl_attr_put_u32(nlh, WGDEVICE_A_FWMARK, 1);
	nlh->nlmsg_len += 2;
}

/* An attribute inside a peer that runs past the peer's nest, though not
 * past the message (the unknown attribute after it gives it room). */
static void bad_nested_overrun(struct nlmsghdr *nlh)
{
	struct nlattr *peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS | NLA_F_NESTED);
	struct nlattr *peer = mnl_attr_nest_start(nlh, 0 | NLA_F_NESTED);
	struct nlattr a = { .nla_len = 64, .nla_type = WGPEER_A_PRESHARED_KEY };
	uint8_t filler[64] = { 0 };

	put_key(nlh, WGPEER_A_PUBLIC_KEY, 1);
	put_raw(nlh, &a, sizeof(a));
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
	mnl_attr_put(nlh, 99, sizeof(filler), filler);
}

static void bad_nested_trailing(struct nlmsghdr *nlh)
{
	struct nlattr *peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS | NLA_F_NESTED);
	struct nlattr *peer = mnl_attr_nest_start(nlh, 0 | NLA_F_NESTED);

	put_key(nlh, WGPEER_A_PUBLIC_KEY, 1);
	mnl_attr_nest_end(nlh, peer);
	put_raw(nlh, "\x01\x02", 2);
	mnl_attr_nest_end(nlh, peers);
	peers->nla_len -= 2; /* two stray bytes after the peer */
}

static void bad_aip_len(struct nlmsghdr *nlh)
{
	struct nlattr *peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS | NLA_F_NESTED);
	struct nlattr *peer = mnl_attr_nest_start(nlh, 0 | NLA_F_NESTED);
	struct nlattr *aips, *aip;
	struct nlattr a = { .nla_len = 3, .nla_type = WGALLOWEDIP_A_FAMILY };

	put_key(nlh, WGPEER_A_PUBLIC_KEY, 1);
	aips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS | NLA_F_NESTED);
	aip = mnl_attr_nest_start(nlh, 0 | NLA_F_NESTED);
	put_raw(nlh, &a, sizeof(a));
	mnl_attr_nest_end(nlh, aip);
	mnl_attr_nest_end(nlh, aips);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
}

static void bad_short_private_key(struct nlmsghdr *nlh)
{
	mnl_attr_put(nlh, WGDEVICE_A_PRIVATE_KEY, 31, msg_buf2);
}

static void bad_long_public_key(struct nlmsghdr *nlh)
{
	mnl_attr_put(nlh, WGDEVICE_A_PUBLIC_KEY, 33, msg_buf2);
}

static void bad_port_u32(struct nlmsghdr *nlh)
{
	mnl_attr_put_u32(nlh, WGDEVICE_A_LISTEN_PORT, 51820);
}

static void bad_ifindex_u16(struct nlmsghdr *nlh)
{
	mnl_attr_put_u16(nlh, WGDEVICE_A_IFINDEX, 3);
}

static void bad_fwmark_u64(struct nlmsghdr *nlh)
{
	mnl_attr_put_u64(nlh, WGDEVICE_A_FWMARK, 3);
}

static void bad_ifname_long(struct nlmsghdr *nlh)
{
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "abcdefghijklmnop"); /* 16 + NUL */
}

static void bad_ifname_unterminated(struct nlmsghdr *nlh)
{
	mnl_attr_put(nlh, WGDEVICE_A_IFNAME, 3, "wg0");
}

/* One peer; @fn adds its fields after the public key. */
static void with_peer(struct nlmsghdr *nlh, build_fn fn)
{
	struct nlattr *peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS | NLA_F_NESTED);
	struct nlattr *peer = mnl_attr_nest_start(nlh, 0 | NLA_F_NESTED);

	put_key(nlh, WGPEER_A_PUBLIC_KEY, 1);
	fn(nlh);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
}

static void psk_short(struct nlmsghdr *nlh)
{
	mnl_attr_put(nlh, WGPEER_A_PRESHARED_KEY, 31, msg_buf2);
}

static void endpoint4_as_6(struct nlmsghdr *nlh)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET };

	mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(sin6), &sin6);
}

static void endpoint6_short(struct nlmsghdr *nlh)
{
	struct sockaddr_in sin = { .sin_family = AF_INET6 };

	mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(sin), &sin);
}

static void endpoint_one_byte(struct nlmsghdr *nlh)
{
	mnl_attr_put(nlh, WGPEER_A_ENDPOINT, 1, "\x02");
}

static void endpoint_unix(struct nlmsghdr *nlh)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_UNIX };

	mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(sin6), &sin6);
}

static void handshake_short(struct nlmsghdr *nlh)
{
	mnl_attr_put_u64(nlh, WGPEER_A_LAST_HANDSHAKE_TIME, 1);
}

static void handshake_bad_nsec(struct nlmsghdr *nlh)
{
	struct __kernel_timespec ts = { .tv_sec = 1, .tv_nsec = 1000000000 };

	mnl_attr_put(nlh, WGPEER_A_LAST_HANDSHAKE_TIME, sizeof(ts), &ts);
}

static void rx_u32(struct nlmsghdr *nlh)
{
	mnl_attr_put_u32(nlh, WGPEER_A_RX_BYTES, 1);
}

static void keepalive_u32(struct nlmsghdr *nlh)
{
	mnl_attr_put_u32(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 1);
}

static void put_raw_aip(struct nlmsghdr *nlh, uint16_t family, size_t addr_len, uint8_t cidr, bool with_cidr)
{
	struct nlattr *aips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS | NLA_F_NESTED);
	struct nlattr *aip = mnl_attr_nest_start(nlh, 0 | NLA_F_NESTED);
	uint8_t addr[16] = { 10 };

	mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, family);
	mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, addr_len, addr);
	if (with_cidr)
		mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, cidr);
	mnl_attr_nest_end(nlh, aip);
	mnl_attr_nest_end(nlh, aips);
}

static void aip4_long(struct nlmsghdr *nlh)
{
	put_raw_aip(nlh, AF_INET, 16, 8, true);
}

static void aip6_short(struct nlmsghdr *nlh)
{
	put_raw_aip(nlh, AF_INET6, 4, 8, true);
}

static void aip4_cidr33(struct nlmsghdr *nlh)
{
	put_raw_aip(nlh, AF_INET, 4, 33, true);
}

static void aip6_cidr129(struct nlmsghdr *nlh)
{
	put_raw_aip(nlh, AF_INET6, 16, 129, true);
}

static void aip_no_cidr(struct nlmsghdr *nlh)
{
	put_raw_aip(nlh, AF_INET, 4, 0, false);
}

static void aip_family_unix(struct nlmsghdr *nlh)
{
	put_raw_aip(nlh, AF_UNIX, 4, 8, true);
}

#define PEER_CASE(fn) \
	static void bad_peer_##fn(struct nlmsghdr *nlh) \
	{ \
		with_peer(nlh, fn); \
	}
PEER_CASE(psk_short)
PEER_CASE(endpoint4_as_6)
PEER_CASE(endpoint6_short)
PEER_CASE(endpoint_one_byte)
PEER_CASE(endpoint_unix)
PEER_CASE(handshake_short)
PEER_CASE(handshake_bad_nsec)
PEER_CASE(rx_u32)
PEER_CASE(keepalive_u32)
PEER_CASE(aip4_long)
PEER_CASE(aip6_short)
PEER_CASE(aip4_cidr33)
PEER_CASE(aip6_cidr129)
PEER_CASE(aip_no_cidr)
PEER_CASE(aip_family_unix)

static void bad_peer_without_key(struct nlmsghdr *nlh)
{
	struct nlattr *peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS | NLA_F_NESTED);
	struct nlattr *peer = mnl_attr_nest_start(nlh, 0 | NLA_F_NESTED);

	mnl_attr_put_u16(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 5);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
}

static void bad_peer_key_short(struct nlmsghdr *nlh)
{
	struct nlattr *peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS | NLA_F_NESTED);
	struct nlattr *peer = mnl_attr_nest_start(nlh, 0 | NLA_F_NESTED);

	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, 16, msg_buf2);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
}

#define CASE(fn) { #fn, fn }
static const struct bad_case bad_cases[] = {
	CASE(bad_top_len_short),
	CASE(bad_top_len_zero),
	CASE(bad_top_len_long),
	CASE(bad_trailing_bytes),
	CASE(bad_nested_overrun),
	CASE(bad_nested_trailing),
	CASE(bad_aip_len),
	CASE(bad_short_private_key),
	CASE(bad_long_public_key),
	CASE(bad_port_u32),
	CASE(bad_ifindex_u16),
	CASE(bad_fwmark_u64),
	CASE(bad_ifname_long),
	CASE(bad_ifname_unterminated),
	CASE(bad_peer_psk_short),
	CASE(bad_peer_endpoint4_as_6),
	CASE(bad_peer_endpoint6_short),
	CASE(bad_peer_endpoint_one_byte),
	CASE(bad_peer_endpoint_unix),
	CASE(bad_peer_handshake_short),
	CASE(bad_peer_handshake_bad_nsec),
	CASE(bad_peer_rx_u32),
	CASE(bad_peer_keepalive_u32),
	CASE(bad_peer_aip4_long),
	CASE(bad_peer_aip6_short),
	CASE(bad_peer_aip4_cidr33),
	CASE(bad_peer_aip6_cidr129),
	CASE(bad_peer_aip_no_cidr),
	CASE(bad_peer_aip_family_unix),
	CASE(bad_peer_without_key),
	CASE(bad_peer_key_short),
};

Test(netlink_parse, malformed_rejected)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct nlmsghdr *nlh = msg_begin(msg_buf);
		struct guarded g;
		int r;

		bad_cases[i].build(nlh);
		guarded_copy(&g, nlh, nlh->nlmsg_len);
		r = parse_one(g.nlh, NULL);
		guarded_free(&g);
		cr_expect_eq(r, -EPROTO, "%s: got %d", bad_cases[i].name, r);
	}
}

Test(netlink_parse, header_checks)
{
	struct nlmsghdr *nlh = build_full(msg_buf);
	struct genlmsghdr *genl = mnl_nlmsg_get_payload(nlh);

	genl->cmd = WG_CMD_SET_DEVICE;
	cr_assert_eq(parse_one(nlh, NULL), -EPROTO);
	genl->cmd = WG_CMD_GET_DEVICE;
	nlh->nlmsg_len = sizeof(*nlh) + 2; /* no room for the genl header */
	cr_assert_eq(parse_one(nlh, NULL), -EPROTO);
	nlh->nlmsg_len = 3;
	cr_assert_eq(parse_one(nlh, NULL), -EPROTO);
	nlh->nlmsg_len = mnl_nlmsg_size(GENL_HDRLEN); /* empty but whole */
	cr_assert_eq(parse_one(nlh, NULL), 0);
}

/* Continuations of one peer, 2000 allowed IPs per message, until the cap. */
Test(netlink_parse, allowed_ip_cap)
{
	struct wg_device *dev = wg_device_new("x");
	int r = 0;
	unsigned n = 0;

	for (int m = 0; r == 0 && m < 40; m++) {
		struct nlmsghdr *nlh = msg_begin(msg_buf);
		struct nlattr *peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS | NLA_F_NESTED);
		struct nlattr *peer = mnl_attr_nest_start(nlh, 0 | NLA_F_NESTED);
		struct nlattr *aips;

		put_key(nlh, WGPEER_A_PUBLIC_KEY, 1);
		aips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS | NLA_F_NESTED);
		for (int i = 0; i < 2000; i++, n++) {
			char addr[32];

			snprintf(addr, sizeof(addr), "10.%u.%u.%u", n >> 16 & 255, n >> 8 & 255, n & 255);
			put_aip(nlh, AF_INET, addr, 32);
		}
		mnl_attr_nest_end(nlh, aips);
		mnl_attr_nest_end(nlh, peer);
		mnl_attr_nest_end(nlh, peers);
		cr_assert_lt(nlh->nlmsg_len, 65536);
		r = wg_netlink_parse_device_msg(nlh, dev);
	}
	cr_assert_eq(r, -E2BIG);
	cr_assert_eq(dev->n_peers, 1);
	cr_assert_eq(dev->peers[0].n_allowed_ips, WG_MAX_ALLOWED_IPS_PER_PEER);
	wg_device_free(dev);
}

/* A device already at the peer cap: a new peer is refused, a continuation of
 * the last one is not.  The peer array is mapped lazily, so only the pages
 * touched here cost memory. */
Test(netlink_parse, peer_cap)
{
	struct wg_device *dev = wg_device_new("x");
	struct nlmsghdr *nlh;
	struct nlattr *peers;

	dev->peers = calloc(WG_MAX_PEERS, sizeof(*dev->peers));
	cr_assert_not_null(dev->peers);
	dev->n_peers = dev->cap_peers = WG_MAX_PEERS;
	fill_key(dev->peers[WG_MAX_PEERS - 1].public_key, 0xb0);

	nlh = msg_begin(msg_buf);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS | NLA_F_NESTED);
	put_peer_b(nlh);
	mnl_attr_nest_end(nlh, peers);
	cr_assert_eq(wg_netlink_parse_device_msg(nlh, dev), 0);
	cr_assert_eq(dev->peers[WG_MAX_PEERS - 1].n_allowed_ips, 1);

	nlh = msg_begin(msg_buf);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS | NLA_F_NESTED);
	put_peer_a(nlh);
	mnl_attr_nest_end(nlh, peers);
	cr_assert_eq(wg_netlink_parse_device_msg(nlh, dev), -E2BIG);
	cr_assert_eq(dev->n_peers, WG_MAX_PEERS);

	free(dev->peers[WG_MAX_PEERS - 1].allowed_ips);
	free(dev->peers);
	dev->peers = NULL;
	dev->n_peers = 0;
	wg_device_free(dev);
}

/* ---- WG_CMD_SET_DEVICE requests ----------------------------------------- */

#define MAX_SET_MSGS 512

struct built_set {
	uint8_t (*msg)[NL_SET_SIZE];
	size_t n;
};

static void build_all(const struct wg_device *changes, struct built_set *out)
{
	struct set_cursor cur = { 0 };

	out->msg = calloc(MAX_SET_MSGS, NL_SET_SIZE);
	out->n = 0;
	cr_assert_not_null(out->msg);
	while (!set_done(changes, &cur)) {
		struct nlmsghdr *nlh;

		cr_assert_lt(out->n, MAX_SET_MSGS);
		cr_assert_eq(build_set_msg(out->msg[out->n], FAMILY_ID, "wgset0", changes, &cur, &nlh), 0);
		cr_assert_eq((void *)nlh, (void *)out->msg[out->n]);
		cr_assert_leq(nlh->nlmsg_len, NL_SET_SIZE);
		out->n++;
	}
}

/* Reads a set request back with the reply parser (same attribute tree). */
static struct wg_device *reassemble(const struct built_set *b)
{
	struct wg_device *dev = wg_device_new(NULL);

	for (size_t i = 0; i < b->n; i++) {
		struct nlmsghdr *nlh = (struct nlmsghdr *)b->msg[i];
		struct genlmsghdr *genl = mnl_nlmsg_get_payload(nlh);

		cr_assert_eq(nlh->nlmsg_type, FAMILY_ID);
		cr_assert_eq(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
		cr_assert_eq(genl->cmd, WG_CMD_SET_DEVICE);
		genl->cmd = WG_CMD_GET_DEVICE;
		cr_assert_eq(wg_netlink_parse_device_msg(nlh, dev), 0, "message %zu", i);
		genl->cmd = WG_CMD_SET_DEVICE;
		cr_assert_str_eq(dev->name, "wgset0");
	}
	return dev;
}

struct flag_seen {
	uint8_t key[WG_KEY_LEN];
	bool seen_before;
	uint32_t flags;
	bool has_psk, has_endpoint, has_keepalive, has_aips, all_nested;
};

static int peer_flags_cb(const struct nlattr *nest, void *data)
{
	const struct nlattr *tb[WGPEER_A_MAX + 1] = { 0 };
	struct flag_seen *seen = data;

	cr_assert_eq(nested_to_table(nest, tb, WGPEER_A_MAX), 0);
	seen->all_nested = seen->all_nested && (nest->nla_type & NLA_F_NESTED);
	if (tb[WGPEER_A_ALLOWEDIPS])
		seen->all_nested = seen->all_nested && (tb[WGPEER_A_ALLOWEDIPS]->nla_type & NLA_F_NESTED);
	memcpy(seen->key, mnl_attr_get_payload(tb[WGPEER_A_PUBLIC_KEY]), WG_KEY_LEN);
	seen->flags = tb[WGPEER_A_FLAGS] ? mnl_attr_get_u32(tb[WGPEER_A_FLAGS]) : 0;
	seen->has_psk = tb[WGPEER_A_PRESHARED_KEY];
	seen->has_endpoint = tb[WGPEER_A_ENDPOINT];
	seen->has_keepalive = tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL];
	seen->has_aips = tb[WGPEER_A_ALLOWEDIPS];
	return 0;
}

/* Checks the per-fragment rules over all messages: device fields and
 * REPLACE_PEERS only in the first message; a peer's fields and
 * REPLACE_ALLOWEDIPS only in its first fragment; UPDATE_ONLY in all. */
static void check_fragments(const struct built_set *b, const struct wg_device *changes)
{
	size_t peer = 0;
	bool begun = false;

	for (size_t i = 0; i < b->n; i++) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)b->msg[i];
		const struct nlattr *tb[WGDEVICE_A_MAX + 1] = { 0 };
		const struct nlattr *peers;

		cr_assert_eq(attrs_to_table(mnl_nlmsg_get_payload_offset(nlh, GENL_HDRLEN),
					    nlh->nlmsg_len - mnl_nlmsg_size(GENL_HDRLEN), tb, WGDEVICE_A_MAX), 0);
		cr_assert_eq(!!tb[WGDEVICE_A_FLAGS], i == 0 && (changes->set & WG_DEVICE_REPLACE_PEERS));
		cr_assert_eq(!!tb[WGDEVICE_A_PRIVATE_KEY], i == 0 && (changes->set & WG_DEVICE_SET_PRIVATE_KEY));
		peers = tb[WGDEVICE_A_PEERS];
		if (!peers)
			continue;
		cr_assert(peers->nla_type & NLA_F_NESTED);
		for (const struct nlattr *p = mnl_attr_get_payload(peers);
		     mnl_attr_ok(p, (int)((const char *)mnl_attr_get_payload(peers) + mnl_attr_get_payload_len(peers) - (const char *)p));
		     p = mnl_attr_next(p)) {
			struct flag_seen seen = { .all_nested = true };
			const struct wg_peer *want;

			peer_flags_cb(p, &seen);
			if (begun && !wg_key_equal(seen.key, changes->peers[peer].public_key)) {
				peer++;
				begun = false;
			}
			cr_assert_lt(peer, changes->n_peers);
			want = &changes->peers[peer];
			cr_assert(wg_key_equal(seen.key, want->public_key));
			cr_assert(seen.all_nested);
			cr_assert_eq(!!(seen.flags & WGPEER_F_REMOVE_ME), !!(want->set & WG_PEER_REMOVE));
			cr_assert_eq(!!(seen.flags & WGPEER_F_UPDATE_ONLY),
				     (want->set & WG_PEER_UPDATE_ONLY) && !(want->set & WG_PEER_REMOVE));
			cr_assert_eq(!!(seen.flags & WGPEER_F_REPLACE_ALLOWEDIPS),
				     !begun && (want->set & WG_PEER_REPLACE_ALLOWED_IPS) && !(want->set & WG_PEER_REMOVE));
			cr_assert_eq(seen.has_psk, !begun && (want->set & WG_PEER_SET_PRESHARED_KEY) && !(want->set & WG_PEER_REMOVE));
			cr_assert_eq(seen.has_endpoint, !begun && (want->set & WG_PEER_SET_ENDPOINT) && !(want->set & WG_PEER_REMOVE));
			cr_assert_eq(seen.has_keepalive, !begun && (want->set & WG_PEER_SET_KEEPALIVE) && !(want->set & WG_PEER_REMOVE));
			if (want->set & WG_PEER_REMOVE)
				cr_assert(!seen.has_aips);
			/* A continuation exists only to carry allowed IPs. */
			if (begun)
				cr_assert(seen.has_aips);
			begun = true;
		}
	}
	cr_assert_eq(peer + 1, changes->n_peers);
}

static void add_aip(struct wg_peer *peer, const char *text)
{
	struct wg_allowed_ip aip;

	cr_assert(wg_allowed_ip_parse(text, &aip), "%s", text);
	cr_assert_eq(wg_peer_add_allowed_ip(peer, &aip), 0);
}

static void assert_same_peers(const struct wg_device *got, const struct wg_device *want)
{
	cr_assert_eq(got->n_peers, want->n_peers);
	for (size_t i = 0; i < want->n_peers; i++) {
		const struct wg_peer *g = &got->peers[i], *w = &want->peers[i];
		size_t n = w->set & WG_PEER_REMOVE ? 0 : w->n_allowed_ips;

		cr_assert(wg_key_equal(g->public_key, w->public_key), "peer %zu", i);
		cr_assert_eq(g->n_allowed_ips, n, "peer %zu: %zu allowed IPs", i, g->n_allowed_ips);
		cr_assert(n == 0 || memcmp(g->allowed_ips, w->allowed_ips, n * sizeof(*w->allowed_ips)) == 0);
	}
}

static void free_built(struct built_set *b)
{
	free(b->msg);
}

Test(netlink_set, one_message)
{
	struct wg_device *changes = wg_device_new("wgset0");
	struct wg_device *got;
	struct built_set b;
	struct wg_peer *p;

	changes->set = WG_DEVICE_SET_PRIVATE_KEY | WG_DEVICE_SET_LISTEN_PORT | WG_DEVICE_SET_FWMARK |
		       WG_DEVICE_REPLACE_PEERS;
	fill_key(changes->private_key, 0x10);
	changes->listen_port = 51820;
	changes->fwmark = 77;
	fill_key(msg_buf2, 0xa0);
	p = wg_device_add_peer(changes, msg_buf2);
	p->set = WG_PEER_SET_PRESHARED_KEY | WG_PEER_SET_ENDPOINT | WG_PEER_SET_KEEPALIVE | WG_PEER_REPLACE_ALLOWED_IPS;
	fill_key(p->preshared_key, 0x50);
	cr_assert(wg_endpoint_parse("[2001:db8::7]:4242", &p->endpoint));
	p->persistent_keepalive = 21;
	add_aip(p, "10.0.0.0/8");
	add_aip(p, "fd00::/8");
	fill_key(msg_buf2, 0xb0);
	p = wg_device_add_peer(changes, msg_buf2);
	p->set = WG_PEER_REMOVE;
	add_aip(p, "10.9.9.9/32"); /* must not be sent with a removal */

	build_all(changes, &b);
	cr_assert_eq(b.n, 1);
	check_fragments(&b, changes);
	got = reassemble(&b);
	assert_key(got->private_key, 0x10);
	cr_assert_eq(got->listen_port, 51820);
	cr_assert_eq(got->fwmark, 77);
	assert_key(got->peers[0].preshared_key, 0x50);
	assert_endpoint(&got->peers[0].endpoint, "[2001:db8::7]:4242");
	cr_assert_eq(got->peers[0].persistent_keepalive, 21);
	assert_same_peers(got, changes);
	wg_device_free(got);
	wg_device_free(changes);
	free_built(&b);
}

Test(netlink_set, device_only_and_empty)
{
	struct wg_device *changes = wg_device_new("wgset0");
	struct built_set b;

	build_all(changes, &b);
	cr_assert_eq(b.n, 1); /* a no-op still names the device */
	free_built(&b);
	changes->set = WG_DEVICE_SET_LISTEN_PORT;
	build_all(changes, &b);
	cr_assert_eq(b.n, 1);
	free_built(&b);
	wg_device_free(changes);
}

/* Many peers with many allowed IPs: split over many messages, and read back
 * they are the same peers with the same allowed IPs in the same order. */
Test(netlink_set, split_many_peers)
{
	struct wg_device *changes = wg_device_new("wgset0");
	struct wg_device *got;
	struct built_set b;

	changes->set = WG_DEVICE_REPLACE_PEERS | WG_DEVICE_SET_PRIVATE_KEY;
	for (unsigned i = 0; i < 300; i++) {
		struct wg_peer *p;

		fill_key(msg_buf2, (uint8_t)i);
		msg_buf2[31] = (uint8_t)(i >> 8); /* keys unique beyond 256 */
		p = wg_device_add_peer(changes, msg_buf2);
		p->set = (i % 3 ? WG_PEER_REPLACE_ALLOWED_IPS : 0) | (i % 5 ? 0 : WG_PEER_UPDATE_ONLY) |
			 (i % 7 ? WG_PEER_SET_ENDPOINT : WG_PEER_REMOVE) | WG_PEER_SET_KEEPALIVE;
		cr_assert(wg_endpoint_parse("192.0.2.9:1", &p->endpoint));
		for (unsigned j = 0; j < i % 90; j++) {
			char text[64];

			if (j % 2)
				snprintf(text, sizeof(text), "fd%02x::%x/128", i & 0xff, j);
			else
				snprintf(text, sizeof(text), "10.%u.%u.0/24", i & 0xff, j);
			add_aip(p, text);
		}
	}
	build_all(changes, &b);
	cr_assert_gt(b.n, 20);
	check_fragments(&b, changes);
	got = reassemble(&b);
	assert_same_peers(got, changes);
	wg_device_free(got);
	wg_device_free(changes);
	free_built(&b);
}

Test(netlink_set, one_peer_many_allowed_ips)
{
	struct wg_device *changes = wg_device_new("wgset0");
	struct wg_device *got;
	struct wg_peer *p;
	struct built_set b;

	fill_key(msg_buf2, 3);
	p = wg_device_add_peer(changes, msg_buf2);
	p->set = WG_PEER_UPDATE_ONLY | WG_PEER_REPLACE_ALLOWED_IPS | WG_PEER_SET_PRESHARED_KEY;
	for (unsigned j = 0; j < 5000; j++) {
		char text[64];

		snprintf(text, sizeof(text), "fd00::%x:%x/128", j >> 8, j);
		add_aip(p, text);
	}
	build_all(changes, &b);
	cr_assert_gt(b.n, 30);
	check_fragments(&b, changes);
	got = reassemble(&b);
	assert_same_peers(got, changes);
	wg_device_free(got);
	wg_device_free(changes);
	free_built(&b);
}

Test(netlink_set, invalid_changes_refused_before_io)
{
	struct wg_device *changes = wg_device_new("wgset0");
	struct wg_peer *p;
	struct wg_allowed_ip bad = { .family = AF_INET, .cidr = 33 };

	fill_key(msg_buf2, 3);
	p = wg_device_add_peer(changes, msg_buf2);
	p->set = WG_PEER_SET_ENDPOINT; /* AF_UNSPEC: cannot be cleared */
	cr_assert_eq(wg_netlink_set("wgset0", changes), -EINVAL);
	cr_assert(wg_endpoint_parse("192.0.2.1:1", &p->endpoint));
	cr_assert_eq(wg_peer_add_allowed_ip(p, &bad), 0);
	cr_assert_eq(wg_netlink_set("wgset0", changes), -EINVAL);
	cr_assert_eq(wg_netlink_set("an-interface-name-too-long", changes), -EINVAL);
	wg_device_free(changes);
}

/* ---- against this machine's kernel (no WireGuard needed) ---------------- */

Test(netlink_kernel, missing_device)
{
	struct wg_device *dev = NULL;

	cr_assert_eq(wg_netlink_get("wice-no-such0", &dev), -ENODEV);
	cr_assert_null(dev);
	cr_assert_eq(wg_netlink_get("", &dev), -EINVAL);
}

Test(netlink_kernel, list_skips_other_links)
{
	struct wg_names names = { 0 };

	cr_assert_eq(wg_netlink_list(&names), 0);
	cr_assert(!wg_names_contains(&names, "lo"));
	wg_names_clear(&names);
}

/* ---- fuzzer seeds --------------------------------------------------------- */

/* Feeds a seed file to the parser the way tests/fuzz/fuzz-netlink.c does:
 * a sequence of messages folded into one device. */
static int parse_stream(const uint8_t *data, size_t size, struct wg_device *dev)
{
	while (size >= sizeof(struct nlmsghdr)) {
		struct nlmsghdr hdr;
		struct guarded g;
		size_t len;
		int r;

		memcpy(&hdr, data, sizeof(hdr));
		len = hdr.nlmsg_len < size ? hdr.nlmsg_len : size;
		if (len < sizeof(hdr))
			return -EPROTO;
		guarded_copy(&g, data, len);
		r = wg_netlink_parse_device_msg(g.nlh, dev);
		guarded_free(&g);
		if (r < 0)
			return r;
		len = MNL_ALIGN(len) < size ? MNL_ALIGN(len) : size;
		data += len;
		size -= len;
	}
	return size ? -EPROTO : 0;
}

static void write_seed(const char *dir, const char *name, const void *a, size_t alen, const void *b, size_t blen)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fwrite(a, 1, alen, f), alen);
	if (blen)
		cr_assert_eq(fwrite(b, 1, blen, f), blen);
	cr_assert_eq(fclose(f), 0);
}

static void write_seeds(const char *dir)
{
	struct nlmsghdr *nlh = build_full(msg_buf), *second;
	struct nlattr *peers;

	write_seed(dir, "full.bin", nlh, nlh->nlmsg_len, NULL, 0);

	second = build_second(msg_buf2);
	write_seed(dir, "split.bin", nlh, nlh->nlmsg_len, second, second->nlmsg_len);

	nlh = msg_begin(msg_buf);
	mnl_attr_put_u32(nlh, 200, 1);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "wgtest1");
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS | NLA_F_NESTED);
	put_peer_b(nlh);
	mnl_attr_nest_end(nlh, peers);
	write_seed(dir, "unknown.bin", nlh, nlh->nlmsg_len, NULL, 0);
}

Test(netlink_seeds, committed_seeds_parse)
{
	const char *top = getenv("top_srcdir");
	const char *out = getenv("WICE_NETLINK_SEED_DIR");
	char dir[4096];
	struct dirent *ent;
	DIR *d;
	int n = 0;

	if (out)
		write_seeds(out);
	if (!top)
		cr_skip_test("top_srcdir not set (run from make check)");
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/netlink", top);
	d = opendir(dir);
	cr_assert_not_null(d, "%s", dir);
	while ((ent = readdir(d))) {
		static uint8_t data[MSG_SIZE];
		struct wg_device *dev;
		char path[8192];
		size_t size;
		FILE *f;

		if (ent->d_name[0] == '.')
			continue;
		dev = wg_device_new(NULL);
		snprintf(path, sizeof(path), "%s/%s", dir, ent->d_name);
		f = fopen(path, "rb");
		cr_assert_not_null(f, "%s", path);
		size = fread(data, 1, sizeof(data), f);
		fclose(f);
		cr_assert_eq(parse_stream(data, size, dev), 0, "%s", path);
		cr_assert_gt(dev->n_peers, 0, "%s", path);
		wg_device_free(dev);
		n++;
	}
	closedir(d);
	cr_assert_geq(n, 3);
}

/* --- walking a received datagram ------------------------------------------ */

static size_t put_msg(uint8_t *at, uint32_t len)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)at;

	memset(at, 0, MNL_ALIGN(len));
	nlh->nlmsg_len = len;
	nlh->nlmsg_type = RTM_NEWLINK;
	return MNL_ALIGN(len);
}

Test(netlink_walk, whole_messages)
{
	alignas(struct nlmsghdr) uint8_t buf[256];
	size_t len = put_msg(buf, 32);

	len += put_msg(buf + len, 21);
	cr_assert_eq(wg_netlink_msgs_len(buf, len), len);
	/* Without the last message's padding. */
	cr_assert_eq(wg_netlink_msgs_len(buf, len - 3), len - 3);
	cr_assert_eq(wg_netlink_msgs_len(buf, 0), 0);
}

/* libmnl before 1.0.5 takes a length of 2 GiB or more (negative as an
 * int) and jumps that far: only the messages before it may be walked. */
Test(netlink_walk, stops_at_a_bad_length)
{
	alignas(struct nlmsghdr) uint8_t buf[256];
	size_t first = put_msg(buf, 32), len = first + put_msg(buf + first, 32);
	struct nlmsghdr *second = (struct nlmsghdr *)(buf + first);

	second->nlmsg_len = 0x8d8d8d8d;
	cr_assert_eq(wg_netlink_msgs_len(buf, len), first);
	second->nlmsg_len = 33; /* past the datagram */
	cr_assert_eq(wg_netlink_msgs_len(buf, len), first);
	second->nlmsg_len = 15; /* shorter than its header */
	cr_assert_eq(wg_netlink_msgs_len(buf, len), first);
	cr_assert_eq(wg_netlink_msgs_len(buf, first + 15), first);
}

/* Kernel WireGuard backend: generic netlink ("wireguard" family) for reading
 * and writing devices, rtnetlink for listing them.
 *
 * Every request opens its own short-lived socket: an interrupted dump leaves
 * stale messages queued, and a fresh socket is the simplest way to be rid of
 * them.  Replies come from the kernel, but the message parser still treats
 * them as hostile input, because the same code is fed crafted buffers by the
 * unit tests and the fuzzer: every attribute length is checked against its
 * container, and an attribute that overruns it fails the whole message. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/rtnetlink.h>
#include <linux/time_types.h>
#include <linux/wireguard.h>
#include <sodium.h>

#include "wg-netlink.h"

/* Big enough for any message of a kernel dump (the kernel sizes dump skbs up
 * to 32 KiB); a smaller buffer would get MSG_TRUNC. */
#define NL_RECV_SIZE 32768
/* Requests we build: small enough to be accepted everywhere, big enough that
 * a peer's fixed fields and one allowed IP always fit in a fresh message. */
#define NL_SET_SIZE 4096
#define NL_TIMEOUT_SEC 5
/* Retries of a dump that the kernel flagged as interrupted (NLM_F_DUMP_INTR,
 * because the device changed while we read it). */
#define NL_DUMP_ATTEMPTS 5

/* ---- attribute walking ------------------------------------------------- */

typedef int (*attr_fn)(const struct nlattr *attr, void *data);

/* Calls @fn for each attribute in [buf, buf + len).  Unlike
 * mnl_attr_parse(), which silently stops at the first bad attribute, an
 * attribute that overruns the container (or trailing bytes too short to be
 * an attribute) fails with -EPROTO: a truncated reply must not look like a
 * complete one. */
static int for_each_attr(const void *buf, size_t len, attr_fn fn, void *data)
{
	const struct nlattr *attr = buf;
	int left, r;

	if (len > INT_MAX)
		return -EPROTO;
	left = (int)len;
	while (left > 0) {
		if (!mnl_attr_ok(attr, left))
			return -EPROTO;
		r = fn(attr, data);
		if (r < 0)
			return r;
		/* The last attribute's padding may lie beyond the container. */
		left -= (int)MNL_ALIGN(attr->nla_len);
		attr = mnl_attr_next(attr);
	}
	return 0;
}

static int for_each_nested(const struct nlattr *nest, attr_fn fn, void *data)
{
	return for_each_attr(mnl_attr_get_payload(nest), mnl_attr_get_payload_len(nest), fn, data);
}

struct attr_table {
	const struct nlattr **tb;
	uint16_t max;
};

static int table_add(const struct nlattr *attr, void *data)
{
	struct attr_table *t = data;
	uint16_t type = mnl_attr_get_type(attr);

	/* Types beyond max come from a newer kernel: skip them. */
	if (type <= t->max)
		t->tb[type] = attr;
	return 0;
}

static int attrs_to_table(const void *buf, size_t len, const struct nlattr **tb, uint16_t max)
{
	struct attr_table t = { tb, max };

	return for_each_attr(buf, len, table_add, &t);
}

static int nested_to_table(const struct nlattr *nest, const struct nlattr **tb, uint16_t max)
{
	return attrs_to_table(mnl_attr_get_payload(nest), mnl_attr_get_payload_len(nest), tb, max);
}

static bool attr_is(const struct nlattr *attr, enum mnl_attr_data_type type)
{
	return mnl_attr_validate(attr, type) == 0;
}

static bool attr_has_len(const struct nlattr *attr, size_t len)
{
	return mnl_attr_validate2(attr, MNL_TYPE_BINARY, len) == 0;
}

/* ---- parsing a WG_CMD_GET_DEVICE reply ---------------------------------- */

static int parse_allowed_ip(const struct nlattr *nest, void *data)
{
	const struct nlattr *tb[WGALLOWEDIP_A_MAX + 1] = { 0 };
	struct wg_allowed_ip aip = { 0 };
	const struct nlattr *addr;
	int r = nested_to_table(nest, tb, WGALLOWEDIP_A_MAX);

	if (r < 0)
		return r;
	addr = tb[WGALLOWEDIP_A_IPADDR];
	if (!tb[WGALLOWEDIP_A_FAMILY] || !addr || !tb[WGALLOWEDIP_A_CIDR_MASK] ||
	    !attr_is(tb[WGALLOWEDIP_A_FAMILY], MNL_TYPE_U16) || !attr_is(tb[WGALLOWEDIP_A_CIDR_MASK], MNL_TYPE_U8))
		return -EPROTO;
	aip.family = mnl_attr_get_u16(tb[WGALLOWEDIP_A_FAMILY]);
	aip.cidr = mnl_attr_get_u8(tb[WGALLOWEDIP_A_CIDR_MASK]);
	if (aip.family == AF_INET && attr_has_len(addr, sizeof(aip.addr.v4)) && aip.cidr <= 32)
		memcpy(&aip.addr.v4, mnl_attr_get_payload(addr), sizeof(aip.addr.v4));
	else if (aip.family == AF_INET6 && attr_has_len(addr, sizeof(aip.addr.v6)) && aip.cidr <= 128)
		memcpy(&aip.addr.v6, mnl_attr_get_payload(addr), sizeof(aip.addr.v6));
	else
		return -EPROTO;
	return wg_peer_add_allowed_ip(data, &aip);
}

static int parse_endpoint(const struct nlattr *attr, union wg_sockaddr *ret)
{
	sa_family_t family;

	if (mnl_attr_get_payload_len(attr) < sizeof(family))
		return -EPROTO;
	memcpy(&family, mnl_attr_get_payload(attr), sizeof(family));
	if (family == AF_INET && attr_has_len(attr, sizeof(ret->in)))
		memcpy(&ret->in, mnl_attr_get_payload(attr), sizeof(ret->in));
	else if (family == AF_INET6 && attr_has_len(attr, sizeof(ret->in6)))
		memcpy(&ret->in6, mnl_attr_get_payload(attr), sizeof(ret->in6));
	else
		return -EPROTO;
	return 0;
}

static int parse_handshake(const struct nlattr *attr, struct wg_peer *peer)
{
	struct __kernel_timespec ts;

	if (!attr_has_len(attr, sizeof(ts)))
		return -EPROTO;
	memcpy(&ts, mnl_attr_get_payload(attr), sizeof(ts));
	if (ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec > 999999999)
		return -EPROTO;
	peer->last_handshake_sec = ts.tv_sec;
	peer->last_handshake_nsec = ts.tv_nsec;
	return 0;
}

static int parse_peer_fields(const struct nlattr **tb, struct wg_peer *peer)
{
	const struct nlattr *a;

	if ((a = tb[WGPEER_A_PRESHARED_KEY])) {
		if (!attr_has_len(a, WG_KEY_LEN))
			return -EPROTO;
		memcpy(peer->preshared_key, mnl_attr_get_payload(a), WG_KEY_LEN);
	}
	if ((a = tb[WGPEER_A_ENDPOINT]) && parse_endpoint(a, &peer->endpoint) < 0)
		return -EPROTO;
	if ((a = tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL])) {
		if (!attr_is(a, MNL_TYPE_U16))
			return -EPROTO;
		peer->persistent_keepalive = mnl_attr_get_u16(a);
	}
	if ((a = tb[WGPEER_A_LAST_HANDSHAKE_TIME]) && parse_handshake(a, peer) < 0)
		return -EPROTO;
	if ((a = tb[WGPEER_A_RX_BYTES])) {
		if (!attr_is(a, MNL_TYPE_U64))
			return -EPROTO;
		peer->rx_bytes = mnl_attr_get_u64(a);
	}
	if ((a = tb[WGPEER_A_TX_BYTES])) {
		if (!attr_is(a, MNL_TYPE_U64))
			return -EPROTO;
		peer->tx_bytes = mnl_attr_get_u64(a);
	}
	if ((a = tb[WGPEER_A_PROTOCOL_VERSION]) && !attr_is(a, MNL_TYPE_U32))
		return -EPROTO;
	return 0;
}

/* The kernel repeats a peer whose allowed IPs overflow a message at the
 * start of the next one, so a peer with the same key as the last one
 * continues it. */
static struct wg_peer *peer_for_key(struct wg_device *dev, const uint8_t key[WG_KEY_LEN])
{
	struct wg_peer *peer;

	if (dev->n_peers && wg_key_equal(dev->peers[dev->n_peers - 1].public_key, key))
		return &dev->peers[dev->n_peers - 1];
	errno = 0;
	peer = wg_device_add_peer(dev, key);
	if (!peer && !errno)
		errno = ENOMEM;
	return peer;
}

static int parse_peer(const struct nlattr *nest, void *data)
{
	const struct nlattr *tb[WGPEER_A_MAX + 1] = { 0 };
	struct wg_device *dev = data;
	struct wg_peer *peer;
	int r = nested_to_table(nest, tb, WGPEER_A_MAX);

	if (r < 0)
		return r;
	if (!tb[WGPEER_A_PUBLIC_KEY] || !attr_has_len(tb[WGPEER_A_PUBLIC_KEY], WG_KEY_LEN))
		return -EPROTO;
	peer = peer_for_key(dev, mnl_attr_get_payload(tb[WGPEER_A_PUBLIC_KEY]));
	if (!peer)
		return -errno;
	r = parse_peer_fields(tb, peer);
	if (r == 0 && tb[WGPEER_A_ALLOWEDIPS])
		r = for_each_nested(tb[WGPEER_A_ALLOWEDIPS], parse_allowed_ip, peer);
	return r;
}

static int parse_key(const struct nlattr *attr, uint8_t key[WG_KEY_LEN])
{
	if (!attr_has_len(attr, WG_KEY_LEN))
		return -EPROTO;
	memcpy(key, mnl_attr_get_payload(attr), WG_KEY_LEN);
	return 0;
}

static int parse_device_fields(const struct nlattr **tb, struct wg_device *dev)
{
	const struct nlattr *a;

	if ((a = tb[WGDEVICE_A_IFINDEX])) {
		if (!attr_is(a, MNL_TYPE_U32))
			return -EPROTO;
		dev->ifindex = mnl_attr_get_u32(a);
	}
	if ((a = tb[WGDEVICE_A_IFNAME])) {
		if (!attr_is(a, MNL_TYPE_NUL_STRING) || mnl_attr_get_payload_len(a) > IFNAMSIZ)
			return -EPROTO;
		/* Embedded NULs only make it shorter; it still fits. */
		strcpy(dev->name, mnl_attr_get_str(a));
	}
	if ((a = tb[WGDEVICE_A_PRIVATE_KEY]) && parse_key(a, dev->private_key) < 0)
		return -EPROTO;
	if ((a = tb[WGDEVICE_A_PUBLIC_KEY]) && parse_key(a, dev->public_key) < 0)
		return -EPROTO;
	if ((a = tb[WGDEVICE_A_LISTEN_PORT])) {
		if (!attr_is(a, MNL_TYPE_U16))
			return -EPROTO;
		dev->listen_port = mnl_attr_get_u16(a);
	}
	if ((a = tb[WGDEVICE_A_FWMARK])) {
		if (!attr_is(a, MNL_TYPE_U32))
			return -EPROTO;
		dev->fwmark = mnl_attr_get_u32(a);
	}
	return 0;
}

int wg_netlink_parse_device_msg(const struct nlmsghdr *nlh, struct wg_device *dev)
{
	const struct nlattr *tb[WGDEVICE_A_MAX + 1] = { 0 };
	const struct genlmsghdr *genl;
	int r;

	if (nlh->nlmsg_len < mnl_nlmsg_size(GENL_HDRLEN))
		return -EPROTO;
	genl = mnl_nlmsg_get_payload(nlh);
	if (genl->cmd != WG_CMD_GET_DEVICE)
		return -EPROTO;
	/* Bounded by nlmsg_len itself, not by the aligned end that
	 * mnl_attr_parse() would use. */
	r = attrs_to_table(mnl_nlmsg_get_payload_offset(nlh, GENL_HDRLEN), nlh->nlmsg_len - mnl_nlmsg_size(GENL_HDRLEN),
			   tb, WGDEVICE_A_MAX);
	if (r == 0)
		r = parse_device_fields(tb, dev);
	if (r == 0 && tb[WGDEVICE_A_PEERS])
		r = for_each_nested(tb[WGDEVICE_A_PEERS], parse_peer, dev);
	return r;
}

/* ---- sockets and replies ------------------------------------------------ */

struct nl_conn {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
};

static void nl_close(struct nl_conn *c)
{
	if (c->nl)
		mnl_socket_close(c->nl);
	c->nl = NULL;
}

static int nl_open(struct nl_conn *c, int bus)
{
	struct timeval timeout = { .tv_sec = NL_TIMEOUT_SEC };
	int one = 1;

	c->nl = mnl_socket_open2(bus, SOCK_CLOEXEC);
	if (!c->nl)
		return -errno;
	/* Error replies would otherwise echo our request, keys and all. */
	mnl_socket_setsockopt(c->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	if (setsockopt(mnl_socket_get_fd(c->nl), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) < 0 ||
	    mnl_socket_bind(c->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = -errno;

		nl_close(c);
		return err;
	}
	c->portid = mnl_socket_get_portid(c->nl);
	c->seq = 1;
	return 0;
}

static int nl_send(struct nl_conn *c, struct nlmsghdr *nlh)
{
	nlh->nlmsg_seq = c->seq;
	if (mnl_socket_sendto(c->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	return 0;
}

typedef int (*nl_msg_fn)(const struct nlmsghdr *nlh, void *data);

struct nl_reply {
	nl_msg_fn on_msg; /* each data message; NULL: none expected */
	void *data;
	int err;
};

static int reply_data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_reply *reply = data;

	reply->err = reply->on_msg ? reply->on_msg(nlh, reply->data) : -EPROTO;
	return reply->err < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

static int reply_error_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	struct nl_reply *reply = data;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)) || e->error > 0 || e->error < -4095) {
		reply->err = -EPROTO;
		return MNL_CB_ERROR;
	}
	if (e->error == 0)
		return MNL_CB_STOP; /* the ACK */
	reply->err = e->error;
	return MNL_CB_ERROR;
}

/* NLMSG_DONE of a dump carries the dump's own error code, which libmnl's
 * default handler ignores. */
static int reply_done_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_reply *reply = data;
	int code;

	if (nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(code))) {
		memcpy(&code, mnl_nlmsg_get_payload(nlh), sizeof(code));
		if (code < 0 && code >= -4095) {
			reply->err = code;
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_STOP;
}

/* Reads replies to the last request until its ACK, NLMSG_DONE or an error.
 * -EINTR means the dump was interrupted and should be repeated. */
static int nl_wait_reply(struct nl_conn *c, struct nl_reply *reply)
{
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = reply_error_cb,
		[NLMSG_DONE] = reply_done_cb,
	};
	uint8_t *buf = malloc(NL_RECV_SIZE);
	int r;

	if (!buf)
		return -ENOMEM;
	do {
		ssize_t n = mnl_socket_recvfrom(c->nl, buf, NL_RECV_SIZE);

		if (n <= 0) {
			r = n == 0 ? -EPROTO : errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
			break;
		}
		/* libmnl < 1.0.5 would walk out of the buffer. */
		if (wg_netlink_msgs_len(buf, (size_t)n) != (size_t)n) {
			r = -EPROTO;
			break;
		}
		errno = 0;
		r = mnl_cb_run2(buf, (size_t)n, c->seq, c->portid, reply_data_cb, reply, ctl, NLMSG_MIN_TYPE);
		if (r == MNL_CB_ERROR)
			r = reply->err ? reply->err : errno ? -errno : -EPROTO;
	} while (r == MNL_CB_OK);
	/* Device replies carry private and preshared keys. */
	sodium_memzero(buf, NL_RECV_SIZE);
	free(buf);
	c->seq++;
	return r;
}

/* ---- generic netlink family --------------------------------------------- */

static int family_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[CTRL_ATTR_MAX + 1] = { 0 };
	uint16_t *ret_id = data;
	int r;

	if (nlh->nlmsg_len < mnl_nlmsg_size(GENL_HDRLEN))
		return -EPROTO;
	r = attrs_to_table(mnl_nlmsg_get_payload_offset(nlh, GENL_HDRLEN), nlh->nlmsg_len - mnl_nlmsg_size(GENL_HDRLEN),
			   tb, CTRL_ATTR_MAX);
	if (r < 0)
		return r;
	if (!tb[CTRL_ATTR_FAMILY_ID] || !attr_is(tb[CTRL_ATTR_FAMILY_ID], MNL_TYPE_U16))
		return -EPROTO;
	*ret_id = mnl_attr_get_u16(tb[CTRL_ATTR_FAMILY_ID]);
	return 0;
}

static struct nlmsghdr *put_genl_header(void *buf, uint16_t type, uint16_t flags, uint8_t cmd, uint8_t version)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *genl;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = cmd;
	genl->version = version;
	return nlh;
}

static int resolve_family(struct nl_conn *c, uint16_t *ret_id)
{
	alignas(struct nlmsghdr) uint8_t buf[256];
	struct nl_reply reply = { .on_msg = family_msg_cb };
	struct nlmsghdr *nlh;
	uint16_t id = 0;
	int r;

	memset(buf, 0, sizeof(buf));
	nlh = put_genl_header(buf, GENL_ID_CTRL, NLM_F_ACK, CTRL_CMD_GETFAMILY, 1);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, WG_GENL_NAME);
	r = nl_send(c, nlh);
	if (r < 0)
		return r;
	reply.data = &id;
	r = nl_wait_reply(c, &reply);
	if (r == -ENOENT)
		return -EPROTONOSUPPORT; /* no wireguard module */
	if (r < 0)
		return r;
	if (id == 0)
		return -EPROTO;
	*ret_id = id;
	return 0;
}

static bool ifname_ok(const char *ifname)
{
	return wg_ifname_valid(ifname);
}

/* Opens a generic netlink socket and finds the wireguard family on it. */
static int wg_conn_open(struct nl_conn *c, uint16_t *ret_family)
{
	int r = nl_open(c, NETLINK_GENERIC);

	if (r < 0)
		return r;
	r = resolve_family(c, ret_family);
	if (r < 0)
		nl_close(c);
	return r;
}

/* ---- WG_CMD_GET_DEVICE ------------------------------------------------- */

struct get_ctx {
	struct wg_device *dev;
	uint16_t family;
};

static int device_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct get_ctx *ctx = data;

	if (nlh->nlmsg_type != ctx->family)
		return -EPROTO;
	return wg_netlink_parse_device_msg(nlh, ctx->dev);
}

static int get_device_once(const char *ifname, struct wg_device **ret_dev)
{
	alignas(struct nlmsghdr) uint8_t buf[128];
	struct get_ctx ctx = { 0 };
	struct nl_reply reply = { .on_msg = device_msg_cb, .data = &ctx };
	struct nl_conn c = { 0 };
	struct nlmsghdr *nlh;
	int r = wg_conn_open(&c, &ctx.family);

	if (r < 0)
		return r;
	ctx.dev = wg_device_new(ifname);
	if (!ctx.dev) {
		nl_close(&c);
		return -ENOMEM;
	}
	memset(buf, 0, sizeof(buf));
	nlh = put_genl_header(buf, ctx.family, NLM_F_DUMP, WG_CMD_GET_DEVICE, WG_GENL_VERSION);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, ifname);
	r = nl_send(&c, nlh);
	if (r == 0)
		r = nl_wait_reply(&c, &reply);
	nl_close(&c);
	if (r < 0) {
		wg_device_free(ctx.dev);
		return r;
	}
	*ret_dev = ctx.dev;
	return 0;
}

int wg_netlink_get(const char *ifname, struct wg_device **ret_dev)
{
	struct wg_device *dev = NULL;
	int r = -EINTR;

	if (!ifname_ok(ifname))
		return -EINVAL;
	/* Without this, a missing interface on a kernel without WireGuard would
	 * be reported as a missing protocol. */
	if (if_nametoindex(ifname) == 0)
		return -ENODEV;
	for (int i = 0; i < NL_DUMP_ATTEMPTS && r == -EINTR; i++)
		r = get_device_once(ifname, &dev);
	if (r == -EINTR)
		return -EAGAIN;
	if (r < 0)
		return r;
	dev->backend = WG_BACKEND_KERNEL;
	if (!dev->ifindex)
		dev->ifindex = if_nametoindex(ifname);
	*ret_dev = dev;
	return 0;
}

/* ---- WG_CMD_SET_DEVICE ------------------------------------------------- */

/* Where the next message of a split request starts. */
struct set_cursor {
	size_t peer;       /* next peer to write */
	size_t aip;        /* its next allowed IP */
	bool peer_begun;   /* its fields went out in an earlier message */
	bool device_sent;  /* the device fields went out */
};

static bool put_device_fields(struct nlmsghdr *nlh, const struct wg_device *c)
{
	bool ok = true;

	if (c->set & WG_DEVICE_SET_PRIVATE_KEY)
		ok = ok && mnl_attr_put_check(nlh, NL_SET_SIZE, WGDEVICE_A_PRIVATE_KEY, WG_KEY_LEN, c->private_key);
	if (c->set & WG_DEVICE_SET_LISTEN_PORT)
		ok = ok && mnl_attr_put_u16_check(nlh, NL_SET_SIZE, WGDEVICE_A_LISTEN_PORT, c->listen_port);
	if (c->set & WG_DEVICE_SET_FWMARK)
		ok = ok && mnl_attr_put_u32_check(nlh, NL_SET_SIZE, WGDEVICE_A_FWMARK, c->fwmark);
	/* Only in the first message: later ones would wipe the peers that the
	 * earlier ones added. */
	if (c->set & WG_DEVICE_REPLACE_PEERS)
		ok = ok && mnl_attr_put_u32_check(nlh, NL_SET_SIZE, WGDEVICE_A_FLAGS, WGDEVICE_F_REPLACE_PEERS);
	return ok;
}

static uint32_t peer_flags(const struct wg_peer *peer, bool first_fragment)
{
	uint32_t flags = 0;

	if (peer->set & WG_PEER_REMOVE)
		return WGPEER_F_REMOVE_ME; /* nothing else matters for a removal */
	/* Kept on continuations, or they would create a peer that the first
	 * fragment was told not to create. */
	if (peer->set & WG_PEER_UPDATE_ONLY)
		flags |= WGPEER_F_UPDATE_ONLY;
	if ((peer->set & WG_PEER_REPLACE_ALLOWED_IPS) && first_fragment)
		flags |= WGPEER_F_REPLACE_ALLOWEDIPS;
	return flags;
}

static bool put_peer_fields(struct nlmsghdr *nlh, const struct wg_peer *peer, bool first_fragment)
{
	uint32_t flags = peer_flags(peer, first_fragment);
	bool ok = mnl_attr_put_check(nlh, NL_SET_SIZE, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, peer->public_key);

	if (flags)
		ok = ok && mnl_attr_put_u32_check(nlh, NL_SET_SIZE, WGPEER_A_FLAGS, flags);
	if (!first_fragment || (peer->set & WG_PEER_REMOVE))
		return ok;
	if (peer->set & WG_PEER_SET_PRESHARED_KEY)
		ok = ok && mnl_attr_put_check(nlh, NL_SET_SIZE, WGPEER_A_PRESHARED_KEY, WG_KEY_LEN, peer->preshared_key);
	if (peer->set & WG_PEER_SET_ENDPOINT)
		ok = ok && mnl_attr_put_check(nlh, NL_SET_SIZE, WGPEER_A_ENDPOINT, wg_sockaddr_len(&peer->endpoint),
					      &peer->endpoint);
	if (peer->set & WG_PEER_SET_KEEPALIVE)
		ok = ok && mnl_attr_put_u16_check(nlh, NL_SET_SIZE, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
						  peer->persistent_keepalive);
	return ok;
}

static bool put_allowed_ip(struct nlmsghdr *nlh, const struct wg_allowed_ip *aip)
{
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, NL_SET_SIZE, 0 | NLA_F_NESTED);
	size_t len = aip->family == AF_INET6 ? sizeof(aip->addr.v6) : sizeof(aip->addr.v4);

	if (!nest)
		return false;
	if (!mnl_attr_put_u16_check(nlh, NL_SET_SIZE, WGALLOWEDIP_A_FAMILY, aip->family) ||
	    !mnl_attr_put_check(nlh, NL_SET_SIZE, WGALLOWEDIP_A_IPADDR, len, &aip->addr) ||
	    !mnl_attr_put_u8_check(nlh, NL_SET_SIZE, WGALLOWEDIP_A_CIDR_MASK, aip->cidr)) {
		mnl_attr_nest_cancel(nlh, nest);
		return false;
	}
	mnl_attr_nest_end(nlh, nest);
	return true;
}

/* Writes allowed IPs from @from on; returns how many fitted. */
static size_t put_allowed_ips(struct nlmsghdr *nlh, const struct wg_peer *peer, size_t from)
{
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, NL_SET_SIZE, WGPEER_A_ALLOWEDIPS | NLA_F_NESTED);
	size_t i = from;

	if (!nest)
		return 0;
	while (i < peer->n_allowed_ips && put_allowed_ip(nlh, &peer->allowed_ips[i]))
		i++;
	if (i == from)
		mnl_attr_nest_cancel(nlh, nest);
	else
		mnl_attr_nest_end(nlh, nest);
	return i - from;
}

/* Writes as much of the peer at the cursor as fits.  Returns false when the
 * message is full. */
static bool put_peer(struct nlmsghdr *nlh, const struct wg_peer *peer, struct set_cursor *cur)
{
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, NL_SET_SIZE, 0 | NLA_F_NESTED);
	size_t n_aips = peer->set & WG_PEER_REMOVE ? 0 : peer->n_allowed_ips;
	size_t written = 0;

	if (!nest)
		return false;
	if (!put_peer_fields(nlh, peer, !cur->peer_begun)) {
		mnl_attr_nest_cancel(nlh, nest);
		return false;
	}
	if (cur->aip < n_aips)
		written = put_allowed_ips(nlh, peer, cur->aip);
	/* A continuation that carries no allowed IP would be an empty repeat. */
	if (cur->peer_begun && written == 0) {
		mnl_attr_nest_cancel(nlh, nest);
		return false;
	}
	mnl_attr_nest_end(nlh, nest);
	cur->peer_begun = true;
	cur->aip += written;
	if (cur->aip < n_aips)
		return false;
	cur->peer++;
	cur->aip = 0;
	cur->peer_begun = false;
	return true;
}

static void put_peers(struct nlmsghdr *nlh, const struct wg_device *changes, struct set_cursor *cur)
{
	struct nlattr *nest;

	if (cur->peer == changes->n_peers)
		return;
	nest = mnl_attr_nest_start_check(nlh, NL_SET_SIZE, WGDEVICE_A_PEERS | NLA_F_NESTED);
	if (!nest)
		return;
	while (cur->peer < changes->n_peers && put_peer(nlh, &changes->peers[cur->peer], cur))
		;
	mnl_attr_nest_end(nlh, nest);
	if (mnl_attr_get_payload_len(nest) == 0)
		mnl_attr_nest_cancel(nlh, nest);
}

/* Builds the next message of a set request into @buf (NL_SET_SIZE bytes) and
 * advances @cur.  -EMSGSIZE if nothing fitted, which would loop forever. */
static int build_set_msg(void *buf, uint16_t family, const char *ifname, const struct wg_device *changes,
			 struct set_cursor *cur, struct nlmsghdr **ret_nlh)
{
	struct set_cursor before = *cur;
	struct nlmsghdr *nlh;

	memset(buf, 0, NL_SET_SIZE);
	nlh = put_genl_header(buf, family, NLM_F_ACK, WG_CMD_SET_DEVICE, WG_GENL_VERSION);
	if (!mnl_attr_put_strz_check(nlh, NL_SET_SIZE, WGDEVICE_A_IFNAME, ifname))
		return -EMSGSIZE;
	if (!cur->device_sent) {
		if (!put_device_fields(nlh, changes))
			return -EMSGSIZE;
		cur->device_sent = true;
	}
	put_peers(nlh, changes, cur);
	if (!before.device_sent || cur->peer != before.peer || cur->aip != before.aip || cur->peer_begun != before.peer_begun) {
		*ret_nlh = nlh;
		return 0;
	}
	return -EMSGSIZE;
}

static bool set_done(const struct wg_device *changes, const struct set_cursor *cur)
{
	return cur->device_sent && cur->peer == changes->n_peers;
}

static int validate_changes(const struct wg_device *changes)
{
	for (size_t i = 0; i < changes->n_peers; i++) {
		const struct wg_peer *peer = &changes->peers[i];

		/* The kernel cannot clear an endpoint either. */
		if ((peer->set & WG_PEER_SET_ENDPOINT) && !wg_sockaddr_len(&peer->endpoint))
			return -EINVAL;
		for (size_t j = 0; j < peer->n_allowed_ips; j++) {
			const struct wg_allowed_ip *aip = &peer->allowed_ips[j];

			if (aip->family == AF_INET ? aip->cidr > 32 : aip->family != AF_INET6 || aip->cidr > 128)
				return -EINVAL;
		}
	}
	return 0;
}

/* Sends the request in as many messages as needed, one ACK each. */
static int send_set(struct nl_conn *c, uint16_t family, const char *ifname, const struct wg_device *changes)
{
	struct set_cursor cur = { 0 };
	struct nl_reply reply = { 0 };
	struct nlmsghdr *nlh = NULL;
	void *buf = malloc(NL_SET_SIZE);
	int r = 0;

	if (!buf)
		return -ENOMEM;
	while (r == 0 && !set_done(changes, &cur)) {
		r = build_set_msg(buf, family, ifname, changes, &cur, &nlh);
		if (r == 0)
			r = nl_send(c, nlh);
		sodium_memzero(buf, NL_SET_SIZE);
		if (r == 0)
			r = nl_wait_reply(c, &reply);
	}
	free(buf);
	return r;
}

int wg_netlink_set(const char *ifname, const struct wg_device *changes)
{
	struct nl_conn c = { 0 };
	uint16_t family;
	int r;

	if (!ifname_ok(ifname))
		return -EINVAL;
	r = validate_changes(changes);
	if (r < 0)
		return r;
	if (if_nametoindex(ifname) == 0)
		return -ENODEV;
	r = wg_conn_open(&c, &family);
	if (r < 0)
		return r;
	r = send_set(&c, family, ifname, changes);
	nl_close(&c);
	return r;
}

/* ---- listing: RTM_GETLINK dump ----------------------------------------- */

bool wg_netlink_link_is_wireguard(const struct nlattr *linkinfo)
{
	const struct nlattr *tb[IFLA_INFO_MAX + 1] = { 0 };
	const struct nlattr *kind;

	if (!linkinfo || nested_to_table(linkinfo, tb, IFLA_INFO_MAX) < 0)
		return false;
	kind = tb[IFLA_INFO_KIND];
	return kind && attr_is(kind, MNL_TYPE_NUL_STRING) && strcmp(mnl_attr_get_str(kind), "wireguard") == 0;
}

size_t wg_netlink_msgs_len(const void *buf, size_t len)
{
	size_t off = 0;

	while (len - off >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)((const uint8_t *)buf + off);

		if (nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > len - off)
			break;
		/* The last message's padding may be missing. */
		if (MNL_ALIGN(nlh->nlmsg_len) >= len - off)
			return len;
		off += MNL_ALIGN(nlh->nlmsg_len);
	}
	return off;
}

static int link_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[IFLA_MAX + 1] = { 0 };
	const struct nlattr *name;
	int r;

	if (nlh->nlmsg_type != RTM_NEWLINK || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct ifinfomsg)))
		return -EPROTO;
	r = attrs_to_table(mnl_nlmsg_get_payload_offset(nlh, sizeof(struct ifinfomsg)),
			   nlh->nlmsg_len - mnl_nlmsg_size(sizeof(struct ifinfomsg)), tb, IFLA_MAX);
	if (r < 0)
		return r;
	name = tb[IFLA_IFNAME];
	if (!tb[IFLA_LINKINFO] || !name || !wg_netlink_link_is_wireguard(tb[IFLA_LINKINFO]))
		return 0;
	if (!attr_is(name, MNL_TYPE_NUL_STRING))
		return -EPROTO;
	return wg_names_add(data, mnl_attr_get_str(name));
}

static int list_links_once(struct wg_names *found)
{
	alignas(struct nlmsghdr) uint8_t buf[128];
	struct nl_reply reply = { .on_msg = link_msg_cb, .data = found };
	struct nl_conn c = { 0 };
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	int r = nl_open(&c, NETLINK_ROUTE);

	if (r < 0)
		return r;
	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	r = nl_send(&c, nlh);
	if (r == 0)
		r = nl_wait_reply(&c, &reply);
	nl_close(&c);
	return r;
}

int wg_netlink_list(struct wg_names *names)
{
	struct wg_names found = { 0 };
	int r = -EINTR;

	/* Each attempt starts afresh, so an interrupted dump cannot leave a
	 * removed interface behind in the result. */
	for (int i = 0; i < NL_DUMP_ATTEMPTS && r == -EINTR; i++) {
		wg_names_clear(&found);
		r = list_links_once(&found);
	}
	if (r == -EINTR)
		r = -EAGAIN;
	for (size_t i = 0; r == 0 && i < found.n; i++)
		r = wg_names_add(names, found.name[i]);
	wg_names_clear(&found);
	return r;
}

/* The UAPI text protocol: codec and socket I/O.
 *
 * Requests and replies are "key=value" lines closed by an empty line; see
 * https://www.wireguard.com/xplatform/.  Every number is range checked, every
 * line and the whole reply are capped, and keys we do not know are skipped so
 * that newer implementations keep working. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "wg-uapi.h"

/* A reply from a live device must arrive within this time; a hung daemon
 * must not hang wice. */
#define UAPI_TIMEOUT_SEC 5

struct get_parser {
	struct wg_device *dev;
	struct wg_peer *peer;
	bool saw_errno;
	int reply_errno;
};

static bool parse_u64(const char *text, uint64_t max, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (*text < '0' || *text > '9')
		return false;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || *end || v > max)
		return false;
	*ret = v;
	return true;
}

static int parse_device_key(struct get_parser *p, const char *key, const char *value)
{
	uint64_t v;

	if (strcmp(key, "private_key") == 0) {
		if (!wg_key_from_hex(p->dev->private_key, value, strlen(value)))
			return -EPROTO;
		wg_key_public_from_private(p->dev->public_key, p->dev->private_key);
	} else if (strcmp(key, "listen_port") == 0) {
		if (!parse_u64(value, UINT16_MAX, &v))
			return -EPROTO;
		p->dev->listen_port = (uint16_t)v;
	} else if (strcmp(key, "fwmark") == 0) {
		if (!parse_u64(value, UINT32_MAX, &v))
			return -EPROTO;
		p->dev->fwmark = (uint32_t)v;
	} else {
		return 1; /* not a device key */
	}
	return 0;
}

static int parse_peer_number(struct wg_peer *peer, const char *key, const char *value)
{
	uint64_t v;

	if (strcmp(key, "persistent_keepalive_interval") == 0) {
		if (!parse_u64(value, UINT16_MAX, &v))
			return -EPROTO;
		peer->persistent_keepalive = (uint16_t)v;
	} else if (strcmp(key, "last_handshake_time_sec") == 0) {
		if (!parse_u64(value, INT64_MAX, &v))
			return -EPROTO;
		peer->last_handshake_sec = (int64_t)v;
	} else if (strcmp(key, "last_handshake_time_nsec") == 0) {
		if (!parse_u64(value, 999999999, &v))
			return -EPROTO;
		peer->last_handshake_nsec = (int64_t)v;
	} else if (strcmp(key, "rx_bytes") == 0) {
		if (!parse_u64(value, UINT64_MAX, &peer->rx_bytes))
			return -EPROTO;
	} else if (strcmp(key, "tx_bytes") == 0) {
		if (!parse_u64(value, UINT64_MAX, &peer->tx_bytes))
			return -EPROTO;
	} else if (strcmp(key, "protocol_version") == 0) {
		if (!parse_u64(value, UINT32_MAX, &v))
			return -EPROTO;
	}
	/* Any other key is from a newer protocol: skip it. */
	return 0;
}

static int parse_peer_key(struct wg_peer *peer, const char *key, const char *value)
{
	struct wg_allowed_ip aip;

	if (strcmp(key, "preshared_key") == 0)
		return wg_key_from_hex(peer->preshared_key, value, strlen(value)) ? 0 : -EPROTO;
	if (strcmp(key, "endpoint") == 0)
		return wg_endpoint_parse(value, &peer->endpoint) ? 0 : -EPROTO;
	if (strcmp(key, "allowed_ip") == 0) {
		if (!wg_allowed_ip_parse(value, &aip))
			return -EPROTO;
		return wg_peer_add_allowed_ip(peer, &aip);
	}
	return parse_peer_number(peer, key, value);
}

static bool is_peer_key(const char *key)
{
	static const char *const peer_keys[] = {
		"preshared_key", "endpoint", "allowed_ip", "persistent_keepalive_interval",
		"last_handshake_time_sec", "last_handshake_time_nsec", "rx_bytes", "tx_bytes",
		"protocol_version",
	};

	for (size_t i = 0; i < sizeof(peer_keys) / sizeof(peer_keys[0]); i++)
		if (strcmp(key, peer_keys[i]) == 0)
			return true;
	return false;
}

static int parse_line(struct get_parser *p, const char *key, const char *value)
{
	uint8_t public_key[WG_KEY_LEN];
	uint64_t v;
	int r;

	if (p->saw_errno)
		return -EPROTO; /* nothing may follow errno= but the empty line */
	if (strcmp(key, "errno") == 0) {
		if (!parse_u64(value, 4095, &v))
			return -EPROTO;
		p->saw_errno = true;
		p->reply_errno = (int)v;
		return 0;
	}
	if (strcmp(key, "public_key") == 0) {
		if (!wg_key_from_hex(public_key, value, strlen(value)))
			return -EPROTO;
		p->peer = wg_device_add_peer(p->dev, public_key);
		return p->peer ? 0 : -errno;
	}
	r = parse_device_key(p, key, value);
	if (r <= 0)
		return r;
	if (p->peer)
		return parse_peer_key(p->peer, key, value);
	return is_peer_key(key) ? -EPROTO : 0; /* a peer field with no peer */
}

/* Splits one "key=value" line (not NUL terminated) and parses it. */
static int parse_raw_line(struct get_parser *p, const char *line, size_t len)
{
	char copy[WG_UAPI_MAX_LINE + 1];
	char *eq;
	int r;

	if (len > WG_UAPI_MAX_LINE || memchr(line, '\0', len))
		return -EPROTO;
	memcpy(copy, line, len);
	copy[len] = '\0';
	eq = strchr(copy, '=');
	if (!eq || eq == copy)
		r = -EPROTO;
	else {
		*eq = '\0';
		r = parse_line(p, copy, eq + 1);
	}
	sodium_memzero(copy, len);
	return r;
}

int wg_uapi_parse_get(const char *buf, size_t len, struct wg_device *dev, size_t *ret_bad_line)
{
	struct get_parser p = { .dev = dev };
	size_t off = 0;
	int r;

	if (len > WG_UAPI_MAX_REPLY)
		return -E2BIG;
	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);

		if (!nl)
			break; /* truncated: the last line has no newline */
		if (nl == buf + off) /* the empty line ends the reply */
			return !p.saw_errno || nl + 1 != buf + len ? -EPROTO : -p.reply_errno;
		r = parse_raw_line(&p, buf + off, (size_t)(nl - (buf + off)));
		if (r < 0) {
			if (ret_bad_line)
				*ret_bad_line = off;
			return r;
		}
		off = (size_t)(nl - buf) + 1;
	}
	return -EPROTO;
}

int wg_uapi_parse_set_reply(const char *buf, size_t len)
{
	struct wg_device *scratch = wg_device_new(NULL);
	int r;

	if (!scratch)
		return -ENOMEM;
	r = wg_uapi_parse_get(buf, len, scratch, NULL);
	/* A set reply carries nothing but errno. */
	if (r == 0 && (scratch->n_peers || scratch->listen_port || scratch->fwmark ||
		       !wg_key_is_zero(scratch->private_key)))
		r = -EPROTO;
	wg_device_free(scratch);
	return r;
}

/* A growable request buffer; it may hold keys, so growth wipes the old copy. */
struct req_buf {
	char *data;
	size_t len;
	size_t cap;
	bool failed;
};

static void req_append(struct req_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void req_append(struct req_buf *b, const char *fmt, ...)
{
	char line[WG_UAPI_MAX_LINE];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (b->failed || n < 0 || (size_t)n >= sizeof(line)) {
		b->failed = true;
		goto out;
	}
	if (b->len + (size_t)n + 1 > b->cap) {
		size_t cap = (b->cap ? b->cap * 2 : 1024) + (size_t)n;
		char *grown = malloc(cap);

		if (!grown) {
			b->failed = true;
			goto out;
		}
		if (b->data)
			memcpy(grown, b->data, b->len);
		wg_uapi_buf_free(b->data, b->cap);
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, line, (size_t)n + 1);
	b->len += (size_t)n;
out:
	sodium_memzero(line, sizeof(line));
}

static void format_key(struct req_buf *b, const char *name, const uint8_t key[WG_KEY_LEN])
{
	char hex[WG_KEY_HEX_LEN];

	wg_key_to_hex(hex, key);
	req_append(b, "%s=%s\n", name, hex);
	sodium_memzero(hex, sizeof(hex));
}

static void format_peer(struct req_buf *b, const struct wg_peer *peer)
{
	char text[128];

	format_key(b, "public_key", peer->public_key);
	if (peer->set & WG_PEER_REMOVE) {
		req_append(b, "remove=true\n");
		return;
	}
	if (peer->set & WG_PEER_UPDATE_ONLY)
		req_append(b, "update_only=true\n");
	if (peer->set & WG_PEER_SET_PRESHARED_KEY)
		format_key(b, "preshared_key", peer->preshared_key);
	if (peer->set & WG_PEER_SET_ENDPOINT) {
		wg_endpoint_format(&peer->endpoint, text, sizeof(text));
		req_append(b, "endpoint=%s\n", text);
	}
	if (peer->set & WG_PEER_SET_KEEPALIVE)
		req_append(b, "persistent_keepalive_interval=%u\n", peer->persistent_keepalive);
	if (peer->set & WG_PEER_REPLACE_ALLOWED_IPS)
		req_append(b, "replace_allowed_ips=true\n");
	for (size_t i = 0; i < peer->n_allowed_ips; i++) {
		wg_allowed_ip_format(&peer->allowed_ips[i], text, sizeof(text));
		req_append(b, "allowed_ip=%s\n", text);
	}
}

int wg_uapi_format_set(const struct wg_device *changes, char **ret_buf, size_t *ret_len)
{
	struct req_buf b = { 0 };

	req_append(&b, "set=1\n");
	if (changes->set & WG_DEVICE_SET_PRIVATE_KEY)
		format_key(&b, "private_key", changes->private_key);
	if (changes->set & WG_DEVICE_SET_LISTEN_PORT)
		req_append(&b, "listen_port=%u\n", changes->listen_port);
	if (changes->set & WG_DEVICE_SET_FWMARK)
		req_append(&b, "fwmark=%" PRIu32 "\n", changes->fwmark);
	if (changes->set & WG_DEVICE_REPLACE_PEERS)
		req_append(&b, "replace_peers=true\n");
	for (size_t i = 0; i < changes->n_peers; i++) {
		const struct wg_peer *peer = &changes->peers[i];

		if ((peer->set & WG_PEER_SET_ENDPOINT) && !wg_sockaddr_len(&peer->endpoint))
			b.failed = true; /* the protocol cannot clear an endpoint */
		format_peer(&b, peer);
	}
	req_append(&b, "\n");
	if (b.failed) {
		wg_uapi_buf_free(b.data, b.cap);
		return -EINVAL;
	}
	*ret_buf = b.data;
	*ret_len = b.len;
	return 0;
}

void wg_uapi_buf_free(char *buf, size_t len)
{
	if (!buf)
		return;
	sodium_memzero(buf, len);
	free(buf);
}

static wg_uapi_connector connector;

void wg_uapi_set_connector(wg_uapi_connector connect)
{
	__atomic_store_n(&connector, connect, __ATOMIC_RELEASE);
}

static int connect_here(const char *ifname)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, n;

	n = snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s.sock", WG_UAPI_DIR, ifname);
	if (n < 0 || (size_t)n >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int uapi_connect(const char *ifname)
{
	wg_uapi_connector via = __atomic_load_n(&connector, __ATOMIC_ACQUIRE);
	struct timeval timeout = { .tv_sec = UAPI_TIMEOUT_SEC };
	int fd;

	if (!wg_ifname_valid(ifname))
		return -EINVAL;
	fd = via ? via(ifname) : connect_here(ifname);
	if (fd < 0)
		return fd;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static bool reply_complete(const char *buf, size_t len)
{
	return len >= 2 && buf[len - 1] == '\n' && buf[len - 2] == '\n';
}

/* Reads until the closing empty line, EOF, timeout or the size cap. */
static int read_reply(int fd, char **ret_buf, size_t *ret_len)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	while (!reply_complete(buf, len)) {
		ssize_t n;

		if (len == cap) {
			char *grown = cap >= WG_UAPI_MAX_REPLY ? NULL : realloc(buf, cap * 2);

			if (!grown) {
				wg_uapi_buf_free(buf, len);
				return cap >= WG_UAPI_MAX_REPLY ? -E2BIG : -ENOMEM;
			}
			buf = grown;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* the parser reports the truncation */
		len += (size_t)n;
	}
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

static int uapi_transact(const char *ifname, const char *req, size_t req_len, char **ret_buf, size_t *ret_len)
{
	int fd = uapi_connect(ifname);
	int r;

	if (fd < 0)
		return fd;
	r = write_all(fd, req, req_len);
	if (r == 0)
		r = read_reply(fd, ret_buf, ret_len);
	close(fd);
	return r;
}

bool wg_uapi_exists(const char *ifname)
{
	int fd = uapi_connect(ifname);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

int wg_uapi_get(const char *ifname, struct wg_device **ret_dev)
{
	static const char request[] = "get=1\n\n";
	struct wg_device *dev;
	char *reply = NULL;
	size_t len = 0;
	int r;

	r = uapi_transact(ifname, request, sizeof(request) - 1, &reply, &len);
	if (r < 0)
		return r;
	dev = wg_device_new(ifname);
	if (!dev) {
		wg_uapi_buf_free(reply, len);
		return -ENOMEM;
	}
	r = wg_uapi_parse_get(reply, len, dev, NULL);
	wg_uapi_buf_free(reply, len);
	if (r < 0) {
		wg_device_free(dev);
		return r;
	}
	dev->backend = WG_BACKEND_USERSPACE;
	dev->ifindex = if_nametoindex(ifname);
	*ret_dev = dev;
	return 0;
}

int wg_uapi_set(const char *ifname, const struct wg_device *changes)
{
	char *req = NULL, *reply = NULL;
	size_t req_len = 0, len = 0;
	int r;

	r = wg_uapi_format_set(changes, &req, &req_len);
	if (r < 0)
		return r;
	r = uapi_transact(ifname, req, req_len, &reply, &len);
	wg_uapi_buf_free(req, req_len);
	if (r < 0)
		return r;
	r = wg_uapi_parse_set_reply(reply, len);
	wg_uapi_buf_free(reply, len);
	return r;
}

int wg_uapi_list(struct wg_names *names)
{
	DIR *dir = opendir(WG_UAPI_DIR);
	struct dirent *ent;
	int r = 0;

	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while (r == 0 && (ent = readdir(dir))) {
		char name[IFNAMSIZ];
		size_t len = strlen(ent->d_name);

		if (len <= 5 || len - 5 >= IFNAMSIZ || strcmp(ent->d_name + len - 5, ".sock") != 0)
			continue;
		memcpy(name, ent->d_name, len - 5);
		name[len - 5] = '\0';
		if (if_nametoindex(name) != 0)
			r = wg_names_add(names, name);
	}
	closedir(dir);
	return r;
}

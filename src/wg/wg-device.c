/* Construction, destruction and text forms of the WireGuard data model. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wg-device.h"

struct wg_device *wg_device_new(const char *name)
{
	struct wg_device *dev = calloc(1, sizeof(*dev));

	if (dev && name)
		snprintf(dev->name, sizeof(dev->name), "%s", name);
	return dev;
}

void wg_device_free(struct wg_device *dev)
{
	if (!dev)
		return;
	for (size_t i = 0; i < dev->n_peers; i++) {
		wg_key_wipe(dev->peers[i].preshared_key);
		free(dev->peers[i].allowed_ips);
	}
	free(dev->peers);
	wg_key_wipe(dev->private_key);
	free(dev);
}

struct wg_peer *wg_device_add_peer(struct wg_device *dev, const uint8_t public_key[WG_KEY_LEN])
{
	struct wg_peer *peer;

	if (dev->n_peers >= WG_MAX_PEERS) {
		errno = E2BIG;
		return NULL;
	}
	if (dev->n_peers == dev->cap_peers) {
		size_t cap = dev->cap_peers ? dev->cap_peers * 2 : 4;
		struct wg_peer *grown = reallocarray(dev->peers, cap, sizeof(*grown));

		if (!grown)
			return NULL;
		dev->peers = grown;
		dev->cap_peers = cap;
	}
	peer = &dev->peers[dev->n_peers++];
	memset(peer, 0, sizeof(*peer));
	memcpy(peer->public_key, public_key, WG_KEY_LEN);
	return peer;
}

struct wg_peer *wg_device_find_peer(const struct wg_device *dev, const uint8_t public_key[WG_KEY_LEN])
{
	for (size_t i = 0; i < dev->n_peers; i++)
		if (wg_key_equal(dev->peers[i].public_key, public_key))
			return &dev->peers[i];
	return NULL;
}

int wg_peer_add_allowed_ip(struct wg_peer *peer, const struct wg_allowed_ip *aip)
{
	struct wg_allowed_ip *grown;

	if (peer->n_allowed_ips >= WG_MAX_ALLOWED_IPS_PER_PEER)
		return -E2BIG;
	/* Grow in powers of two: count is a power of two exactly when full. */
	if ((peer->n_allowed_ips & (peer->n_allowed_ips - 1)) == 0) {
		size_t cap = peer->n_allowed_ips ? peer->n_allowed_ips * 2 : 1;

		grown = reallocarray(peer->allowed_ips, cap, sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		peer->allowed_ips = grown;
	}
	peer->allowed_ips[peer->n_allowed_ips++] = *aip;
	return 0;
}

static bool parse_port(const char *text, uint16_t *ret)
{
	char *end;
	unsigned long port;

	if (*text < '0' || *text > '9')
		return false;
	errno = 0;
	port = strtoul(text, &end, 10);
	if (errno || *end || port > 65535)
		return false;
	*ret = (uint16_t)port;
	return true;
}

static bool parse_endpoint_v6(const char *text, union wg_sockaddr *ret)
{
	char host[INET6_ADDRSTRLEN + IFNAMSIZ + 2];
	const char *close = strchr(text, ']');
	struct addrinfo hints = { .ai_family = AF_INET6, .ai_flags = AI_NUMERICHOST };
	struct addrinfo *res = NULL;
	uint16_t port;
	size_t len;

	if (!close || close[1] != ':' || !parse_port(close + 2, &port))
		return false;
	len = (size_t)(close - text - 1);
	if (len == 0 || len >= sizeof(host))
		return false;
	memcpy(host, text + 1, len);
	host[len] = '\0';
	/* getaddrinfo with AI_NUMERICHOST never does DNS; it is the only libc
	 * call that understands the %scope suffix of link-local addresses. */
	if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
		return false;
	memset(ret, 0, sizeof(*ret));
	memcpy(&ret->in6, res->ai_addr, sizeof(ret->in6));
	ret->in6.sin6_port = htons(port);
	freeaddrinfo(res);
	return true;
}

bool wg_endpoint_parse(const char *text, union wg_sockaddr *ret)
{
	char host[INET_ADDRSTRLEN];
	const char *colon;
	uint16_t port;
	size_t len;

	if (text[0] == '[')
		return parse_endpoint_v6(text, ret);
	colon = strchr(text, ':');
	if (!colon || !parse_port(colon + 1, &port))
		return false;
	len = (size_t)(colon - text);
	if (len == 0 || len >= sizeof(host))
		return false;
	memcpy(host, text, len);
	host[len] = '\0';
	memset(ret, 0, sizeof(*ret));
	if (inet_pton(AF_INET, host, &ret->in.sin_addr) != 1)
		return false;
	ret->in.sin_family = AF_INET;
	ret->in.sin_port = htons(port);
	return true;
}

void wg_endpoint_format(const union wg_sockaddr *ep, char *buf, size_t len)
{
	char host[NI_MAXHOST];

	if (ep->sa.sa_family != AF_INET && ep->sa.sa_family != AF_INET6) {
		snprintf(buf, len, "(none)");
		return;
	}
	if (getnameinfo(&ep->sa, wg_sockaddr_len(ep), host, sizeof(host), NULL, 0, NI_NUMERICHOST) != 0) {
		snprintf(buf, len, "(invalid)");
		return;
	}
	if (ep->sa.sa_family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", host, ntohs(ep->in6.sin6_port));
	else
		snprintf(buf, len, "%s:%u", host, ntohs(ep->in.sin_port));
}

bool wg_allowed_ip_parse(const char *text, struct wg_allowed_ip *ret)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	unsigned long cidr;
	size_t len;
	char *end;

	if (!slash || slash[1] < '0' || slash[1] > '9')
		return false;
	len = (size_t)(slash - text);
	if (len == 0 || len >= sizeof(addr))
		return false;
	memcpy(addr, text, len);
	addr[len] = '\0';
	memset(ret, 0, sizeof(*ret));
	if (inet_pton(AF_INET, addr, &ret->addr.v4) == 1)
		ret->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, &ret->addr.v6) == 1)
		ret->family = AF_INET6;
	else
		return false;
	errno = 0;
	cidr = strtoul(slash + 1, &end, 10);
	if (errno || *end || cidr > (ret->family == AF_INET ? 32u : 128u))
		return false;
	ret->cidr = (uint8_t)cidr;
	return true;
}

void wg_allowed_ip_format(const struct wg_allowed_ip *aip, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN] = "?";

	inet_ntop(aip->family, &aip->addr, addr, sizeof(addr));
	snprintf(buf, len, "%s/%u", addr, aip->cidr);
}

bool wg_names_contains(const struct wg_names *names, const char *name)
{
	for (size_t i = 0; i < names->n; i++)
		if (strcmp(names->name[i], name) == 0)
			return true;
	return false;
}

bool wg_ifname_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len >= IFNAMSIZ || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '/' || *p == ':')
			return false;
	return true;
}

int wg_names_add(struct wg_names *names, const char *name)
{
	char(*grown)[IFNAMSIZ];

	if (strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	if (wg_names_contains(names, name))
		return 0;
	grown = reallocarray(names->name, names->n + 1, sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	names->name = grown;
	snprintf(names->name[names->n++], IFNAMSIZ, "%s", name);
	return 0;
}

void wg_names_clear(struct wg_names *names)
{
	free(names->name);
	names->name = NULL;
	names->n = 0;
}

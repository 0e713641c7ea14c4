/* ICMP echo through the tunnels; see pinger.h. */
#include "config.h"

#include <errno.h>
#include <glib-unix.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <linux/icmp.h> /* ICMP_FILTER; its ICMP_ECHO clashes with <netinet/ip_icmp.h> */
#include <sodium.h>
#include <string.h>
#include <unistd.h>

#include "pinger.h"
#include "util/source-util.h"

#define ECHO_HEADER_LEN 8
#define IPV4_MIN_HEADER_LEN 20
/* The payload marks our probes to whoever captures them. */
#define ECHO_PAYLOAD "wice ping"
#define ECHO_LEN (ECHO_HEADER_LEN + sizeof(ECHO_PAYLOAD) - 1)

struct pinger_probe {
	struct wice_pinger *owner;
	uint16_t seq;
	struct sockaddr_storage to;
	gint64 sent_us;
	int send_error;
	GSource *timeout;
	pinger_fn fn;
	void *data;
};

struct wice_pinger {
	int fd4, fd6;
	int err4, err6; /* why a socket could not be opened */
	GSource *io4, *io6;
	uint16_t id;
	uint16_t next_seq;
	GHashTable *probes; /* seq -> struct pinger_probe */
};

uint16_t pinger_checksum(const uint8_t *buf, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(buf[i] << 8 | buf[i + 1]);
	if (len & 1)
		sum += (uint32_t)buf[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

bool pinger_parse_reply(int family, const uint8_t *buf, size_t len, uint16_t *ret_id, uint16_t *ret_seq)
{
	size_t off = 0;
	uint8_t want = family == AF_INET ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY;

	if (family == AF_INET) {
		/* a raw IPv4 socket hands us the IP header too */
		if (len < IPV4_MIN_HEADER_LEN || (buf[0] >> 4) != 4)
			return false;
		off = (size_t)(buf[0] & 0x0f) * 4;
		if (off < IPV4_MIN_HEADER_LEN)
			return false;
	}
	if (len < off + ECHO_HEADER_LEN || buf[off] != want || buf[off + 1] != 0)
		return false;
	*ret_id = (uint16_t)(buf[off + 4] << 8 | buf[off + 5]);
	*ret_seq = (uint16_t)(buf[off + 6] << 8 | buf[off + 7]);
	return true;
}

static void probe_free(gpointer data)
{
	struct pinger_probe *probe = data;

	source_free(probe->timeout);
	g_free(probe);
}

static bool same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr == ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &((const struct sockaddr_in6 *)b)->sin6_addr,
		      sizeof(struct in6_addr)) == 0;
}

/* Calls the probe's fn and forgets it; the fn may free the pinger. */
static void answer(struct wice_pinger *p, struct pinger_probe *probe, int err)
{
	pinger_fn fn = probe->fn;
	void *data = probe->data;
	gint64 rtt = g_get_monotonic_time() - probe->sent_us;

	g_hash_table_remove(p->probes, GUINT_TO_POINTER(probe->seq));
	fn(err, err ? 0 : rtt, data);
}

static void on_echo_reply(struct wice_pinger *p, int fd, int family)
{
	uint8_t buf[512];
	struct sockaddr_storage from;
	socklen_t from_len = sizeof(from);
	ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &from_len);
	struct pinger_probe *probe;
	uint16_t id, seq;

	if (n <= 0 || !pinger_parse_reply(family, buf, (size_t)n, &id, &seq) || id != p->id)
		return;
	probe = g_hash_table_lookup(p->probes, GUINT_TO_POINTER(seq));
	if (probe && same_host(&probe->to, &from))
		answer(p, probe, 0);
}

static gboolean on_readable4(gint fd, GIOCondition cond, gpointer data)
{
	on_echo_reply(data, fd, AF_INET);
	return G_SOURCE_CONTINUE;
}

static gboolean on_readable6(gint fd, GIOCondition cond, gpointer data)
{
	on_echo_reply(data, fd, AF_INET6);
	return G_SOURCE_CONTINUE;
}

static int open_icmp(int family, int *ret_err)
{
	int fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6);
	struct icmp_filter f4 = { .data = ~(1u << ICMP_ECHOREPLY) };
	struct icmp6_filter f6;

	*ret_err = fd < 0 ? errno : 0;
	if (fd < 0)
		return -1;
	/* every echo reply of the host reaches a raw socket: the kernel
	 * drops all other ICMP before it wakes us */
	if (family == AF_INET) {
		setsockopt(fd, SOL_RAW, ICMP_FILTER, &f4, sizeof(f4));
	} else {
		ICMP6_FILTER_SETBLOCKALL(&f6);
		ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f6);
		setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f6, sizeof(f6));
	}
	return fd;
}

struct wice_pinger *pinger_new(void)
{
	struct wice_pinger *p = g_new0(struct wice_pinger, 1);

	p->fd4 = open_icmp(AF_INET, &p->err4);
	p->fd6 = open_icmp(AF_INET6, &p->err6);
	if (p->fd4 >= 0)
		p->io4 = source_attach(g_unix_fd_source_new(p->fd4, G_IO_IN), NULL, G_SOURCE_FUNC(on_readable4), p);
	if (p->fd6 >= 0)
		p->io6 = source_attach(g_unix_fd_source_new(p->fd6, G_IO_IN), NULL, G_SOURCE_FUNC(on_readable6), p);
	randombytes_buf(&p->id, sizeof(p->id));
	p->next_seq = 1;
	p->probes = g_hash_table_new_full(NULL, NULL, NULL, probe_free);
	return p;
}

void pinger_free(struct wice_pinger *p)
{
	GHashTableIter it;
	gpointer value;

	if (!p)
		return;
	/* every probe is answered, so that no request waits for ever */
	g_hash_table_iter_init(&it, p->probes);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct pinger_probe *probe = value;

		probe->fn(-ECANCELED, 0, probe->data);
		g_hash_table_iter_remove(&it);
	}
	g_hash_table_destroy(p->probes);
	source_free(p->io4);
	source_free(p->io6);
	if (p->fd4 >= 0)
		close(p->fd4);
	if (p->fd6 >= 0)
		close(p->fd6);
	g_free(p);
}

static gboolean on_timeout(gpointer data)
{
	struct pinger_probe *probe = data;

	g_clear_pointer(&probe->timeout, g_source_unref);
	answer(probe->owner, probe, -ETIMEDOUT);
	return G_SOURCE_REMOVE;
}

/* An error of sendmsg, reported from the loop like a reply. */
static gboolean on_send_failed(gpointer data)
{
	struct pinger_probe *probe = data;
	g_clear_pointer(&probe->timeout, g_source_unref);
	answer(probe->owner, probe, probe->send_error);
	return G_SOURCE_REMOVE;
}

static void echo_request(struct wice_pinger *p, uint16_t seq, int family, uint8_t *buf)
{
	uint16_t sum;

	memset(buf, 0, ECHO_HEADER_LEN);
	buf[0] = family == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
	buf[4] = (uint8_t)(p->id >> 8), buf[5] = (uint8_t)p->id;
	buf[6] = (uint8_t)(seq >> 8), buf[7] = (uint8_t)seq;
	memcpy(buf + ECHO_HEADER_LEN, ECHO_PAYLOAD, sizeof(ECHO_PAYLOAD) - 1);
	if (family == AF_INET) { /* the kernel sums ICMPv6 (it needs the pseudo header) */
		sum = pinger_checksum(buf, ECHO_LEN);
		buf[2] = (uint8_t)(sum >> 8), buf[3] = (uint8_t)sum;
	}
}

/* Out of @ifindex whatever the routes say: IP_PKTINFO/IPV6_PKTINFO
 * name the interface. */
static int send_echo(struct wice_pinger *p, const struct pinger_probe *probe, unsigned ifindex)
{
	int family = probe->to.ss_family, fd = family == AF_INET ? p->fd4 : p->fd6;
	uint8_t buf[ECHO_LEN];
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} control = { 0 };
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr msg = { .msg_name = (void *)&probe->to, .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = control.buf };
	struct cmsghdr *cm = (struct cmsghdr *)control.buf;

	if (fd < 0)
		return -(family == AF_INET ? p->err4 : p->err6);
	echo_request(p, probe->seq, family, buf);
	msg.msg_namelen = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	if (family == AF_INET) {
		struct in_pktinfo info = { .ipi_ifindex = (int)ifindex };

		cm->cmsg_level = IPPROTO_IP, cm->cmsg_type = IP_PKTINFO, cm->cmsg_len = CMSG_LEN(sizeof(info));
		memcpy(CMSG_DATA(cm), &info, sizeof(info));
		msg.msg_controllen = CMSG_SPACE(sizeof(info));
	} else {
		struct in6_pktinfo info = { .ipi6_ifindex = ifindex };

		cm->cmsg_level = IPPROTO_IPV6, cm->cmsg_type = IPV6_PKTINFO, cm->cmsg_len = CMSG_LEN(sizeof(info));
		memcpy(CMSG_DATA(cm), &info, sizeof(info));
		msg.msg_controllen = CMSG_SPACE(sizeof(info));
	}
	return sendmsg(fd, &msg, MSG_DONTWAIT) < 0 ? -errno : 0;
}

struct pinger_probe *pinger_send(struct wice_pinger *p, const struct sockaddr_storage *to, unsigned ifindex,
				 guint timeout_ms, pinger_fn fn, void *data)
{
	struct pinger_probe *probe;
	int r;

	if (g_hash_table_size(p->probes) >= PINGER_MAX_PROBES)
		return NULL;
	while (g_hash_table_contains(p->probes, GUINT_TO_POINTER(p->next_seq)))
		p->next_seq++;
	probe = g_new0(struct pinger_probe, 1);
	probe->owner = p;
	probe->seq = p->next_seq++;
	probe->to = *to;
	probe->fn = fn;
	probe->data = data;
	g_hash_table_insert(p->probes, GUINT_TO_POINTER(probe->seq), probe);
	probe->sent_us = g_get_monotonic_time();
	r = send_echo(p, probe, ifindex);
	if (r < 0) {
		probe->send_error = r;
		probe->timeout = source_timeout(0, on_send_failed, probe);
	} else {
		probe->timeout = source_timeout(timeout_ms, on_timeout, probe);
	}
	return probe;
}

void pinger_cancel(struct pinger_probe *probe)
{
	if (probe)
		g_hash_table_remove(probe->owner->probes, GUINT_TO_POINTER(probe->seq));
}

/* LAN multicast signaling: no server and nothing to configure, the default
 * backend.  Every envelope is one UDP datagram to a fixed group on every
 * suitable interface; every daemon on the link receives it and keeps what
 * its own mailbox filter (in the envelope) lets through.
 *
 * Groups: 239.255.119.105 (IPv4 Local Scope, RFC 2365 section 6.1: meant
 * for use inside a site without any registration, unlike 224.0.0.x, whose
 * addresses IANA hands out to link-local control protocols one by one) and
 * ff12::7769:6365 (link-local scope with the T flag set: a transient group,
 * RFC 4291, which is what an address not assigned by IANA must be; ff02::
 * is the permanent, IANA-assigned range).  TTL and hop limit 1 keep both on
 * the link whatever the routers do.  The cost of 239.255/16 over 224.0.0.x:
 * switches with IGMP snooping and no querier may stop forwarding it after
 * their membership timeout; the IPv6 group is sent as well, and an operator
 * can pick another group with mcast://GROUP:PORT.  Port 61820: above Linux's
 * ephemeral range (32768-60999), so no outgoing socket of the host (libnice's
 * candidates included) already holds it; in the IANA dynamic range, so no
 * registered service uses it.
 *
 * Our own datagrams are not looped back (IP_MULTICAST_LOOP off).  The price
 * is that two daemons in one network namespace do not hear each other; a
 * host runs one daemon per namespace, which manages all its interfaces.
 *
 * Interfaces come and go: an rtnetlink socket reports links and addresses,
 * and a group is joined on an interface that is up, multicast-capable, not
 * loopback, not point-to-point (WireGuard, tun, ppp), not enslaved to a
 * bridge or bond, not excluded by the daemon, and has an address of the
 * family (for IPv6 a link-local one that has passed DAD). */
#include "config.h"

#define G_LOG_DOMAIN "wice-signaling"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <glib-unix.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <sodium.h>

#include "backend-impl.h"
#include "mcast-input.h"
#include "signaling/sig-envelope.h"
#include "util/source-util.h"
#include "wg/wg-netlink.h"

#define MCAST_GROUP4 "239.255.119.105"
#define MCAST_GROUP6 "ff12::7769:6365"
#define MCAST_PORT 61820
/* Datagrams read per wakeup, so that a flood cannot starve the loop. */
#define MCAST_RECV_BURST 32
/* Room for a burst of link and address events. */
#define MCAST_NL_RCVBUF (1 << 20)
/* Every daemon on the link hears every envelope (twice, v4 and v6): when a
 * whole mesh starts at once, thousands arrive within a second.  The
 * default receive buffer (rmem_default, ~90 such datagrams) drops most of
 * them and each loss costs a resend a second later. */
#define MCAST_DATA_RCVBUF (4 << 20)
/* The largest datagram the kernel puts a dump into. */
#define MCAST_NL_RECV_SIZE 32768

/* Envelopes remembered to drop the second copy (IPv6 after IPv4, or a
 * second interface): enough for the datagrams in flight in a burst. */
#define MCAST_RECENT 1024

enum { FAM4, FAM6, N_FAMS };

struct mcast_family {
	int af;
	int fd; /* the group's port: receives the group */
	GSource *source;
	/* Our own port: every datagram leaves from it, so its source address
	 * names this daemon, and answers to that address come back on it. */
	int ufd;
	GSource *usource;
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} group;
};

struct mcast_if {
	int ifindex;
	char name[IFNAMSIZ];
	unsigned flags;
	bool has_master;
	bool wireguard;
	bool seen; /* in the current resync */
	GArray *addrs; /* struct mcast_addr: IPv4 ones, usable IPv6 link-local ones */
	bool joined[N_FAMS];
};

enum dump_phase { DUMP_NONE, DUMP_LINKS, DUMP_ADDRS };

struct mcast_backend {
	struct sig_backend base;
	uint16_t port;
	struct mcast_family fam[N_FAMS];
	struct mnl_socket *nl;
	GSource *nl_source;
	uint8_t *nl_buf;
	uint32_t nl_seq;
	enum dump_phase dump;
	bool dump_again;     /* a dump was interrupted or events were lost */
	GHashTable *ifs;     /* ifindex -> struct mcast_if */
	unsigned n_joined;
	/* keyed hashes of the envelopes delivered last */
	uint8_t recent_key[crypto_shorthash_KEYBYTES];
	uint64_t recent[MCAST_RECENT];
	unsigned recent_next;
};

static struct mcast_backend *mcast(struct sig_backend *b)
{
	return (struct mcast_backend *)b;
}

/* --- URL ------------------------------------------------------------------ */

static bool parse_group(struct mcast_backend *m, const char *host, const char *url, GError **error)
{
	if (!*host) {
		inet_pton(AF_INET, MCAST_GROUP4, &m->fam[FAM4].group.v4);
		inet_pton(AF_INET6, MCAST_GROUP6, &m->fam[FAM6].group.v6);
		return true;
	}
	if (inet_pton(AF_INET, host, &m->fam[FAM4].group.v4) == 1 &&
	    IN_MULTICAST(ntohl(m->fam[FAM4].group.v4.s_addr))) {
		m->fam[FAM6].af = AF_UNSPEC;
		return true;
	}
	if (inet_pton(AF_INET6, host, &m->fam[FAM6].group.v6) == 1 &&
	    IN6_IS_ADDR_MULTICAST(&m->fam[FAM6].group.v6)) {
		m->fam[FAM4].af = AF_UNSPEC;
		return true;
	}
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
		    "bad signaling URL '%s': '%s' is not a multicast group address", url, host);
	return false;
}

static bool parse_url(struct mcast_backend *m, GUri *uri, const char *url, GError **error)
{
	const char *path = g_uri_get_path(uri);
	int port = g_uri_get_port(uri);

	if (g_uri_get_userinfo(uri) || g_uri_get_query(uri) || g_uri_get_fragment(uri) ||
	    (*path && strcmp(path, "/") != 0)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "bad signaling URL '%s': expected mcast://GROUP:PORT and nothing else", url);
		return false;
	}
	if (port == 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "bad signaling URL '%s': bad port '0'", url);
		return false;
	}
	m->port = port > 0 ? port : MCAST_PORT;
	m->fam[FAM4].af = AF_INET;
	m->fam[FAM6].af = AF_INET6;
	return parse_group(m, g_uri_get_host(uri) ? g_uri_get_host(uri) : "", url, error);
}

/* --- the interface table -------------------------------------------------- */

static void mcast_if_free(gpointer data)
{
	struct mcast_if *i = data;

	g_array_unref(i->addrs);
	g_free(i);
}

static struct mcast_if *if_get(struct mcast_backend *m, int ifindex)
{
	struct mcast_if *i = g_hash_table_lookup(m->ifs, GINT_TO_POINTER(ifindex));

	if (i)
		return i;
	i = g_new0(struct mcast_if, 1);
	i->ifindex = ifindex;
	i->addrs = g_array_new(FALSE, FALSE, sizeof(struct mcast_addr));
	g_hash_table_insert(m->ifs, GINT_TO_POINTER(ifindex), i);
	return i;
}

static bool if_has_addr(const struct mcast_if *i, int af)
{
	for (guint k = 0; k < i->addrs->len; k++)
		if (g_array_index(i->addrs, struct mcast_addr, k).af == af)
			return true;
	return false;
}

static void if_set_addr(struct mcast_if *i, const struct mcast_addr *a, bool present)
{
	size_t len = a->af == AF_INET ? 4 : 16;

	for (guint k = 0; k < i->addrs->len; k++) {
		struct mcast_addr *e = &g_array_index(i->addrs, struct mcast_addr, k);

		if (e->af == a->af && memcmp(e->addr, a->addr, len) == 0) {
			if (!present)
				g_array_remove_index_fast(i->addrs, k);
			return;
		}
	}
	if (present)
		g_array_append_val(i->addrs, *a);
}

static bool if_usable(struct mcast_backend *m, const struct mcast_if *i)
{
	unsigned need = IFF_UP | IFF_MULTICAST;

	return i->name[0] && (i->flags & need) == need &&
	       !(i->flags & (IFF_LOOPBACK | IFF_POINTOPOINT)) && !i->has_master && !i->wireguard &&
	       !sig_backend_excludes(&m->base, i->name);
}

/* --- joining and leaving -------------------------------------------------- */

static int membership(struct mcast_family *f, int ifindex, bool join)
{
	int r;

	if (f->af == AF_INET) {
		struct ip_mreqn mr = { .imr_multiaddr = f->group.v4, .imr_ifindex = ifindex };

		r = setsockopt(f->fd, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &mr,
			       sizeof(mr));
	} else {
		struct ipv6_mreq mr = { .ipv6mr_multiaddr = f->group.v6, .ipv6mr_interface = ifindex };

		r = setsockopt(f->fd, IPPROTO_IPV6, join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP, &mr,
			       sizeof(mr));
	}
	/* Already a member (we lost track during a resync) counts as joined. */
	return r < 0 && !(join && errno == EADDRINUSE) ? -errno : 0;
}

static void if_join(struct mcast_backend *m, struct mcast_if *i, int fam)
{
	int r = membership(&m->fam[fam], i->ifindex, true);

	if (r < 0) {
		g_warning("mcast: cannot join the group on %s: %s", i->name, g_strerror(-r));
		return;
	}
	g_debug("mcast: joined IPv%c group on %s", fam == FAM4 ? '4' : '6', i->name);
	i->joined[fam] = true;
	m->n_joined++;
}

/* The kernel has already left the groups of an interface that is gone. */
static void if_leave(struct mcast_backend *m, struct mcast_if *i, int fam, bool gone)
{
	if (!gone)
		membership(&m->fam[fam], i->ifindex, false);
	g_debug("mcast: left IPv%c group on %s", fam == FAM4 ? '4' : '6', i->name);
	i->joined[fam] = false;
	m->n_joined--;
}

static void update_state(struct mcast_backend *m)
{
	sig_backend_set_state(&m->base, m->n_joined > 0, "no usable multicast interface");
}

static void if_evaluate(struct mcast_backend *m, struct mcast_if *i)
{
	bool usable = if_usable(m, i);

	for (int fam = 0; fam < N_FAMS; fam++) {
		bool want = usable && m->fam[fam].fd >= 0 && if_has_addr(i, m->fam[fam].af);

		if (want && !i->joined[fam])
			if_join(m, i, fam);
		else if (!want && i->joined[fam])
			if_leave(m, i, fam, false);
	}
}

static void if_remove(struct mcast_backend *m, struct mcast_if *i)
{
	for (int fam = 0; fam < N_FAMS; fam++)
		if (i->joined[fam])
			if_leave(m, i, fam, true);
	g_hash_table_remove(m->ifs, GINT_TO_POINTER(i->ifindex));
}

/* After a dump: interfaces it did not list are gone, the rest are judged
 * again.  Until then events only update the table, so that a resync does
 * not leave and rejoin groups while it runs. */
static void evaluate_all(struct mcast_backend *m, bool after_resync)
{
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, m->ifs);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct mcast_if *i = value;

		if (after_resync && !i->seen) {
			for (int fam = 0; fam < N_FAMS; fam++)
				if (i->joined[fam])
					if_leave(m, i, fam, true);
			g_hash_table_iter_remove(&it);
			continue;
		}
		if_evaluate(m, i);
	}
	update_state(m);
}

/* --- rtnetlink -------------------------------------------------------------- */

/* Returns the interface to judge again, or NULL. */
static struct mcast_if *on_link(struct mcast_backend *m, const struct nlmsghdr *nlh)
{
	struct mcast_link link;
	struct mcast_if *i;

	if (!mcast_link_parse(nlh, &link))
		return NULL;
	if (nlh->nlmsg_type == RTM_DELLINK) {
		i = g_hash_table_lookup(m->ifs, GINT_TO_POINTER(link.ifindex));
		if (i)
			if_remove(m, i);
		return NULL;
	}
	i = if_get(m, link.ifindex);
	if (link.has_name)
		g_strlcpy(i->name, link.name, sizeof(i->name));
	i->flags = link.flags;
	i->has_master = link.has_master;
	i->wireguard = link.wireguard;
	i->seen = true;
	return i;
}

static struct mcast_if *on_addr(struct mcast_backend *m, const struct nlmsghdr *nlh)
{
	struct mcast_addr a;
	struct mcast_if *i;
	int ifindex;
	bool usable;

	if (!mcast_addr_parse(nlh, &ifindex, &a, &usable))
		return NULL;
	i = if_get(m, ifindex);
	if_set_addr(i, &a, usable && nlh->nlmsg_type == RTM_NEWADDR);
	return i;
}

static void nl_dump(struct mcast_backend *m, enum dump_phase phase)
{
	char buf[256]; /* a dump request is a header and a byte */
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtgenmsg *g;

	nlh->nlmsg_type = phase == DUMP_LINKS ? RTM_GETLINK : RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++m->nl_seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->rtgen_family = AF_UNSPEC;
	m->dump = phase;
	if (mnl_socket_sendto(m->nl, nlh, nlh->nlmsg_len) < 0) {
		g_warning("mcast: cannot list interfaces: %s", g_strerror(errno));
		m->dump = DUMP_NONE;
	}
}

/* A fresh listing, after start-up or lost events: every interface must be
 * seen again or it is gone. */
static void nl_resync(struct mcast_backend *m)
{
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, m->ifs);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct mcast_if *i = value;

		i->seen = false;
		g_array_set_size(i->addrs, 0);
	}
	m->dump_again = false;
	nl_dump(m, DUMP_LINKS);
}

static void on_dump_done(struct mcast_backend *m)
{
	if (m->dump_again) {
		nl_resync(m);
	} else if (m->dump == DUMP_LINKS) {
		nl_dump(m, DUMP_ADDRS);
	} else {
		m->dump = DUMP_NONE;
		evaluate_all(m, true);
	}
}

static void nl_message(struct mcast_backend *m, const struct nlmsghdr *nlh)
{
	bool ours = m->dump != DUMP_NONE && nlh->nlmsg_seq == m->nl_seq;
	struct mcast_if *i = NULL;

	if (ours && (nlh->nlmsg_flags & NLM_F_DUMP_INTR))
		m->dump_again = true;
	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		i = on_link(m, nlh);
		break;
	case RTM_NEWADDR:
	case RTM_DELADDR:
		i = on_addr(m, nlh);
		break;
	case NLMSG_DONE:
	case NLMSG_ERROR:
		if (ours)
			on_dump_done(m);
		return;
	default:
		return;
	}
	/* While a dump runs, evaluate_all() judges everything at its end. */
	if (m->dump != DUMP_NONE)
		return;
	if (i)
		if_evaluate(m, i);
	update_state(m);
}

static gboolean on_netlink(int fd, GIOCondition cond, gpointer data)
{
	struct mcast_backend *m = data;
	ssize_t n = mnl_socket_recvfrom(m->nl, m->nl_buf, MCAST_NL_RECV_SIZE);
	const struct nlmsghdr *nlh;
	int left;

	if (n < 0) {
		/* The kernel dropped events: list everything again. */
		if (errno == ENOBUFS && m->dump == DUMP_NONE)
			nl_resync(m);
		else if (errno == ENOBUFS)
			m->dump_again = true;
		return G_SOURCE_CONTINUE;
	}
	left = (int)wg_netlink_msgs_len(m->nl_buf, (size_t)n);
	for (nlh = (const struct nlmsghdr *)m->nl_buf; mnl_nlmsg_ok(nlh, left);
	     nlh = mnl_nlmsg_next(nlh, &left))
		nl_message(m, nlh);
	return G_SOURCE_CONTINUE;
}

static bool nl_open(struct mcast_backend *m, GError **error)
{
	int rcvbuf = MCAST_NL_RCVBUF;
	unsigned groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;

	m->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!m->nl || mnl_socket_bind(m->nl, groups, MNL_SOCKET_AUTOPID) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "mcast: cannot watch network interfaces: %s", g_strerror(errno));
		return false;
	}
	setsockopt(mnl_socket_get_fd(m->nl), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	m->nl_buf = g_malloc(MCAST_NL_RECV_SIZE);
	m->nl_source = source_attach(g_unix_fd_source_new(mnl_socket_get_fd(m->nl), G_IO_IN), m->base.context,
				     G_SOURCE_FUNC(on_netlink), m);
	nl_resync(m);
	return true;
}

/* --- datagrams ---------------------------------------------------------- */

union mcast_dest {
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
};

static bool joined_on(struct mcast_backend *m, int fam, int ifindex)
{
	struct mcast_if *i = g_hash_table_lookup(m->ifs, GINT_TO_POINTER(ifindex));

	return i && i->joined[fam];
}

/* Only datagrams to our group, on an interface where we joined it: the
 * socket is bound to the wildcard address, so it would also take unicast
 * to the port and the group arriving on an interface we keep out of. */
static bool datagram_wanted(struct mcast_backend *m, int fam, struct msghdr *mh, int *ret_ifindex)
{
	struct mcast_family *f = &m->fam[fam];
	struct mcast_addr dst;

	if (!mcast_pktinfo_parse(mh, fam == FAM4 ? AF_INET : AF_INET6, ret_ifindex, &dst))
		return false;
	if (fam == FAM4 ? memcmp(dst.addr, &f->group.v4, 4) != 0 : memcmp(dst.addr, &f->group.v6, 16) != 0)
		return false;
	return joined_on(m, fam, *ret_ifindex);
}

/* Every envelope is sent once per family and interface, so a daemon
 * hears most of them twice.  The replay window would drop the copy too,
 * but only after opening it, which costs an X25519 operation; in a mesh
 * starting at once that was most of our crypto.  Envelopes carry a fresh
 * ephemeral key, so two equal datagrams are one envelope. */
static bool seen_recently(struct mcast_backend *m, const uint8_t *buf, size_t len)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, buf, len, m->recent_key);
	memcpy(&v, h, sizeof(v));
	for (unsigned i = 0; i < MCAST_RECENT; i++)
		if (m->recent[i] == v)
			return true;
	m->recent[m->recent_next] = v;
	m->recent_next = (m->recent_next + 1) % MCAST_RECENT;
	return false;
}

/* Unicast to our own port: from a host on an interface we joined. */
static bool unicast_wanted(struct mcast_backend *m, int fam, struct msghdr *mh, int *ret_ifindex)
{
	struct mcast_addr dst;

	return mcast_pktinfo_parse(mh, fam == FAM4 ? AF_INET : AF_INET6, ret_ifindex, &dst) &&
	       joined_on(m, fam, *ret_ifindex);
}

/* The way back to the daemon that sent a datagram.  Daemons before
 * version 0.2 sent from the group's port, where nobody reads unicast:
 * those get no route, and answers to them go to the group as before. */
static bool route_from(struct mcast_backend *m, const union mcast_dest *src, socklen_t len, int ifindex,
		       struct sig_route *ret)
{
	uint16_t port = src->v4.sin_family == AF_INET ? ntohs(src->v4.sin_port) : ntohs(src->v6.sin6_port);

	if (len > sizeof(ret->addr) || port == m->port || port == 0)
		return false;
	memset(ret, 0, sizeof(*ret));
	ret->backend = &m->base;
	memcpy(&ret->addr, src, len);
	ret->ifindex = ifindex;
	return true;
}

/* Returns false when the socket has nothing more to read. */
static bool receive_one(struct mcast_backend *m, int fam, bool unicast)
{
	/* One byte more than an envelope may have, to tell an oversized
	 * datagram from a full-size one. */
	uint8_t buf[SIG_ENVELOPE_MAX + 1];
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	union mcast_dest src;
	struct sig_route route;
	int ifindex = -1;
	bool wanted;
	struct msghdr mh = {
		.msg_name = &src,
		.msg_namelen = sizeof(src),
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	ssize_t n = recvmsg(unicast ? m->fam[fam].ufd : m->fam[fam].fd, &mh, MSG_DONTWAIT);

	if (n < 0)
		return errno == EINTR;
	if (n == 0 || n > SIG_ENVELOPE_MAX || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		return true;
	wanted = unicast ? unicast_wanted(m, fam, &mh, &ifindex) : datagram_wanted(m, fam, &mh, &ifindex);
	if (!wanted || seen_recently(m, buf, (size_t)n))
		return true;
	sig_backend_deliver(&m->base, buf, n, route_from(m, &src, mh.msg_namelen, ifindex, &route) ? &route : NULL);
	return true;
}

static gboolean on_datagram(int fd, GIOCondition cond, gpointer data)
{
	struct mcast_backend *m = data;
	int fam = fd == m->fam[FAM4].fd || fd == m->fam[FAM4].ufd ? FAM4 : FAM6;
	bool unicast = fd == m->fam[fam].ufd;

	for (int k = 0; k < MCAST_RECV_BURST; k++)
		if (!receive_one(m, fam, unicast))
			break;
	return G_SOURCE_CONTINUE;
}

/* Sends from our own socket of the family, out of interface @ifindex
 * (pktinfo), so one socket serves every interface. */
static int send_datagram(struct mcast_backend *m, int fam, const union mcast_dest *dst, int ifindex,
			 const uint8_t *data, size_t len)
{
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} control = { 0 };
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr mh = { .msg_name = (void *)dst, .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf };
	struct cmsghdr *c = &control.align;

	if (fam == FAM4) {
		struct in_pktinfo pi = { .ipi_ifindex = ifindex };

		*c = (struct cmsghdr){ .cmsg_level = IPPROTO_IP, .cmsg_type = IP_PKTINFO, .cmsg_len = CMSG_LEN(sizeof(pi)) };
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		mh.msg_namelen = sizeof(dst->v4);
		mh.msg_controllen = CMSG_SPACE(sizeof(pi));
	} else {
		struct in6_pktinfo pi = { .ipi6_ifindex = ifindex };

		*c = (struct cmsghdr){ .cmsg_level = IPPROTO_IPV6, .cmsg_type = IPV6_PKTINFO,
				       .cmsg_len = CMSG_LEN(sizeof(pi)) };
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		mh.msg_namelen = sizeof(dst->v6);
		mh.msg_controllen = CMSG_SPACE(sizeof(pi));
	}
	return sendmsg(m->fam[fam].ufd, &mh, MSG_DONTWAIT) < 0 ? -errno : 0;
}

/* To the group on one interface. */
static int send_on(struct mcast_backend *m, int fam, int ifindex, const uint8_t *data, size_t len)
{
	union mcast_dest dst = { 0 };

	if (fam == FAM4)
		dst.v4 = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(m->port),
					       .sin_addr = m->fam[FAM4].group.v4 };
	else
		dst.v6 = (struct sockaddr_in6){ .sin6_family = AF_INET6, .sin6_port = htons(m->port),
						.sin6_addr = m->fam[FAM6].group.v6, .sin6_scope_id = ifindex };
	return send_datagram(m, fam, &dst, ifindex, data, len);
}

/* Straight to the daemon @via names, out of the interface it came in on. */
static int send_via(struct mcast_backend *m, const struct sig_route *via, const uint8_t *data, size_t len)
{
	int fam = via->addr.sa.sa_family == AF_INET ? FAM4 : FAM6;
	union mcast_dest dst = { 0 };

	if (m->fam[fam].ufd < 0 || !joined_on(m, fam, via->ifindex))
		return -ENETUNREACH;
	if (fam == FAM4)
		dst.v4 = via->addr.v4;
	else
		dst.v6 = via->addr.v6;
	return send_datagram(m, fam, &dst, via->ifindex, data, len);
}

/* With a route, to that daemon alone: in a LAN mesh every group datagram
 * costs every host on the link a wakeup, and answers are most of the
 * traffic.  Else sent on every joined interface of both families; success
 * when at least one copy left.  Multicast is best effort: senders repeat
 * what matters. */
static int mcast_publish(struct sig_backend *b, const uint8_t id[RELAY_ID_LEN], const uint8_t *data,
			 size_t len, const struct sig_route *via)
{
	struct mcast_backend *m = mcast(b);
	GHashTableIter it;
	gpointer value;
	int r = -ENETDOWN, sent = 0;

	if (via && send_via(m, via, data, len) == 0)
		return 0;

	g_hash_table_iter_init(&it, m->ifs);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct mcast_if *i = value;

		for (int fam = 0; fam < N_FAMS; fam++) {
			int s = i->joined[fam] ? send_on(m, fam, i->ifindex, data, len) : 1;

			if (s == 0)
				sent++;
			else if (s < 0)
				r = s;
		}
	}
	return sent ? 0 : r;
}

/* Every envelope is delivered; the recipient field filters. */
static int mcast_subscribe(struct sig_backend *b, const struct sig_subscription *sub)
{
	return 0;
}

static void mcast_unsubscribe(struct sig_backend *b, const uint8_t id[RELAY_ID_LEN])
{
}

/* --- sockets ------------------------------------------------------------- */

static int set_int(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value));
}

static int family_options(int fd, int af)
{
	int r;

	if (af == AF_INET)
		r = set_int(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 0) | set_int(fd, IPPROTO_IP, IP_MULTICAST_TTL, 1) |
		    set_int(fd, IPPROTO_IP, IP_PKTINFO, 1);
	else
		r = set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1) | set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0) |
		    set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 1) |
		    set_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
	if (r < 0)
		return -errno;
	/* Beyond rmem_max needs CAP_NET_ADMIN (which the daemon has); else
	 * take what rmem_max allows. */
	if (set_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, MCAST_DATA_RCVBUF) < 0)
		set_int(fd, SOL_SOCKET, SO_RCVBUF, MCAST_DATA_RCVBUF);
	/* Else the wildcard socket also gets every other group joined on the
	 * host.  Best effort (Linux 4.20 for IPv6): datagram_wanted() checks
	 * the destination anyway. */
	if (af == AF_INET)
		set_int(fd, IPPROTO_IP, IP_MULTICAST_ALL, 0);
	else
		set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0);
	return 0;
}

static int bind_any(int fd, int af, uint16_t port)
{
	struct sockaddr_in v4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };

	/* Several listeners may share the port (another daemon in this
	 * namespace, a packet capture tool); each gets every datagram. */
	if (set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0)
		return -errno;
	if (af == AF_INET)
		return bind(fd, (struct sockaddr *)&v4, sizeof(v4)) < 0 ? -errno : 0;
	return bind(fd, (struct sockaddr *)&v6, sizeof(v6)) < 0 ? -errno : 0;
}

static GSource *watch_fd(struct mcast_backend *m, int fd)
{
	return source_attach(g_unix_fd_source_new(fd, G_IO_IN), m->base.context, G_SOURCE_FUNC(on_datagram), m);
}

static int family_open(struct mcast_backend *m, struct mcast_family *f)
{
	int fd = socket(f->af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	int r;

	if (fd < 0)
		return -errno;
	r = family_options(fd, f->af);
	if (r == 0)
		r = bind_any(fd, f->af, m->port);
	if (r < 0) {
		close(fd);
		return r;
	}
	f->fd = fd;
	f->source = watch_fd(m, fd);
	fd = socket(f->af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0)
		return -errno;
	r = family_options(fd, f->af);
	if (r == 0)
		r = bind_any(fd, f->af, 0);
	if (r < 0) {
		close(fd);
		return r;
	}
	f->ufd = fd;
	f->usource = watch_fd(m, fd);
	return 0;
}

/* A host without IPv6 (or without IPv4) still gets the other family. */
static bool families_open(struct mcast_backend *m, const char *url, GError **error)
{
	int r = 0, opened = 0;

	for (int fam = 0; fam < N_FAMS; fam++) {
		int k;

		if (m->fam[fam].af == AF_UNSPEC)
			continue;
		k = family_open(m, &m->fam[fam]);
		if (k == 0)
			opened++;
		else
			r = k;
		if (k < 0 && k != -EAFNOSUPPORT)
			g_warning("mcast: no IPv%c: %s", fam == FAM4 ? '4' : '6', g_strerror(-k));
	}
	if (!opened)
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-r), "%s: cannot open udp port %u: %s", url,
			    m->port, g_strerror(-r));
	return opened > 0;
}

/* --- life cycle --------------------------------------------------------- */

static void mcast_fini(struct sig_backend *b)
{
	struct mcast_backend *m = mcast(b);

	for (int fam = 0; fam < N_FAMS; fam++) {
		source_free(m->fam[fam].source);
		if (m->fam[fam].fd >= 0)
			close(m->fam[fam].fd); /* leaves the groups */
		source_free(m->fam[fam].usource);
		if (m->fam[fam].ufd >= 0)
			close(m->fam[fam].ufd);
	}
	source_free(m->nl_source);
	if (m->nl)
		mnl_socket_close(m->nl);
	g_free(m->nl_buf);
	if (m->ifs)
		g_hash_table_destroy(m->ifs);
}

static bool mcast_init(struct sig_backend *b, GUri *uri, GError **error)
{
	struct mcast_backend *m = mcast(b);

	m->fam[FAM4].fd = m->fam[FAM6].fd = -1;
	m->fam[FAM4].ufd = m->fam[FAM6].ufd = -1;
	m->ifs = g_hash_table_new_full(NULL, NULL, NULL, mcast_if_free);
	crypto_shorthash_keygen(m->recent_key);
	if (parse_url(m, uri, b->url, error) && families_open(m, b->url, error) && nl_open(m, error))
		return true;
	mcast_fini(b);
	return false;
}

const struct sig_backend_ops sig_backend_mcast_ops = {
	.size = sizeof(struct mcast_backend),
	.init = mcast_init,
	.fini = mcast_fini,
	.publish = mcast_publish,
	.subscribe = mcast_subscribe,
	.unsubscribe = mcast_unsubscribe,
};

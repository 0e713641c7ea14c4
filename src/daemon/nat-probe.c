/* STUN probes from one UDP socket; see nat-probe.h. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib-unix.h>
#include <sodium.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nat-probe.h"
#include "util/source-util.h"

#define FIRST_RESEND_MS 200
#define HAIRPIN_SENDS 3

struct nat_probe {
	int fd, hairpin_fd;
	int family;
	uint16_t local_port;
	GSource *io, *resend, *deadline;
	struct nat_probe_result results[NAT_PROBE_MAX_TARGETS];
	uint8_t tids[NAT_PROBE_MAX_TARGETS][STUN_WIRE_TID_LEN];
	gint64 sent_us[NAT_PROBE_MAX_TARGETS];
	size_t n;
	guint resend_ms;
	/* hairpinning */
	uint8_t hairpin_tid[STUN_WIRE_TID_LEN];
	struct sockaddr_storage hairpin_to;
	unsigned hairpin_sends;
	bool hairpinning, hairpinned;
	nat_probe_fn fn;
	void *data;
};

static void finish(struct nat_probe *p)
{
	nat_probe_fn fn = p->fn;

	source_clear(&p->resend);
	source_clear(&p->deadline);
	p->fn = NULL;
	if (fn)
		fn(p, p->data);
}

static gboolean on_deadline(gpointer data);

/* From the loop: @fn may free the probe. */
static void finish_soon(struct nat_probe *p)
{
	source_clear(&p->deadline);
	p->deadline = source_timeout(0, on_deadline, p);
}

static bool all_answered(const struct nat_probe *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (!p->results[i].answered)
			return false;
	return true;
}

static void on_datagram(struct nat_probe *p, const uint8_t *buf, size_t len)
{
	if (p->hairpinning && stun_wire_is_request(buf, len, p->hairpin_tid)) {
		p->hairpinned = true;
		finish_soon(p);
		return;
	}
	for (size_t i = 0; i < p->n; i++) {
		struct nat_probe_result *r = &p->results[i];

		if (r->answered || !stun_wire_parse_reply(buf, len, p->tids[i], &r->reply))
			continue;
		r->answered = true;
		r->rtt_us = g_get_monotonic_time() - p->sent_us[i];
		if (!p->hairpinning && all_answered(p))
			finish_soon(p);
		return;
	}
}

static gboolean on_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct nat_probe *p = data;
	uint8_t buf[STUN_WIRE_MAX_REPLY];

	/* a few per wake-up: what a server floods us with cannot starve the loop */
	for (unsigned i = 0; i < 16; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0 && errno != ECONNREFUSED)
			break;
		if (n > 0)
			on_datagram(p, buf, (size_t)n);
	}
	return G_SOURCE_CONTINUE;
}

static int open_udp(int family, uint16_t *ret_port)
{
	struct sockaddr_storage sa = { .ss_family = (sa_family_t)family };
	socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &(int){ 1 }, sizeof(int));
	if (bind(fd, (struct sockaddr *)&sa, len) < 0 || getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	if (ret_port)
		*ret_port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&sa)->sin_port
						    : ((struct sockaddr_in6 *)&sa)->sin6_port);
	return fd;
}

struct nat_probe *nat_probe_new(int family, GError **error)
{
	struct nat_probe *p = g_new0(struct nat_probe, 1);

	p->family = family;
	p->hairpin_fd = -1;
	p->fd = open_udp(family, &p->local_port);
	if (p->fd < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(-p->fd), "UDP socket: %s", g_strerror(-p->fd));
		g_free(p);
		return NULL;
	}
	p->io = source_attach(g_unix_fd_source_new(p->fd, G_IO_IN), NULL, G_SOURCE_FUNC(on_readable), p);
	return p;
}

void nat_probe_free(struct nat_probe *p)
{
	if (!p)
		return;
	source_clear(&p->io);
	source_clear(&p->resend);
	source_clear(&p->deadline);
	close(p->fd);
	if (p->hairpin_fd >= 0)
		close(p->hairpin_fd);
	g_free(p);
}

bool nat_probe_add(struct nat_probe *p, const struct sockaddr *to, socklen_t len, enum stun_wire_method method)
{
	struct nat_probe_result *r;

	if (p->n >= NAT_PROBE_MAX_TARGETS || to->sa_family != p->family || len > sizeof(r->to))
		return false;
	r = &p->results[p->n];
	memset(r, 0, sizeof(*r));
	memcpy(&r->to, to, len);
	r->to_len = len;
	r->method = method;
	randombytes_buf(p->tids[p->n], STUN_WIRE_TID_LEN);
	p->n++;
	return true;
}

static void send_requests(struct nat_probe *p)
{
	uint8_t buf[STUN_WIRE_MAX_REQUEST];

	for (size_t i = 0; i < p->n; i++) {
		struct nat_probe_result *r = &p->results[i];
		size_t len;

		if (r->answered)
			continue;
		len = stun_wire_request(r->method, p->tids[i], buf, sizeof(buf));
		p->sent_us[i] = g_get_monotonic_time();
		if (sendto(p->fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&r->to, r->to_len) < 0)
			g_debug("STUN probe: %s", g_strerror(errno));
	}
}

static gboolean on_resend(gpointer data)
{
	struct nat_probe *p = data;

	g_clear_pointer(&p->resend, g_source_unref);
	send_requests(p);
	p->resend_ms *= 2;
	p->resend = source_timeout(p->resend_ms, on_resend, p);
	return G_SOURCE_REMOVE;
}

static gboolean on_deadline(gpointer data)
{
	struct nat_probe *p = data;

	g_clear_pointer(&p->deadline, g_source_unref);
	finish(p);
	return G_SOURCE_REMOVE;
}

void nat_probe_run(struct nat_probe *p, guint timeout_ms, nat_probe_fn fn, void *data)
{
	p->fn = fn;
	p->data = data;
	p->hairpinning = false;
	send_requests(p);
	p->resend_ms = FIRST_RESEND_MS;
	source_clear(&p->resend);
	p->resend = source_timeout(p->resend_ms, on_resend, p);
	source_clear(&p->deadline);
	/* nothing to ask: the answer comes from the loop all the same */
	p->deadline = source_timeout(p->n ? timeout_ms : 0, on_deadline, p);
}

static gboolean on_hairpin_resend(gpointer data)
{
	struct nat_probe *p = data;
	uint8_t buf[STUN_WIRE_MAX_REQUEST];
	size_t len = stun_wire_request(STUN_WIRE_BINDING, p->hairpin_tid, buf, sizeof(buf));
	socklen_t to_len = p->family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);

	g_clear_pointer(&p->resend, g_source_unref);
	if (sendto(p->hairpin_fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&p->hairpin_to, to_len) < 0)
		g_debug("STUN hairpin probe: %s", g_strerror(errno));
	if (++p->hairpin_sends < HAIRPIN_SENDS)
		p->resend = source_timeout(FIRST_RESEND_MS, on_hairpin_resend, p);
	return G_SOURCE_REMOVE;
}

void nat_probe_hairpin(struct nat_probe *p, const struct sockaddr_storage *mapped, guint timeout_ms,
		       nat_probe_fn fn, void *data)
{
	p->fn = fn;
	p->data = data;
	p->hairpinning = true;
	p->hairpinned = false;
	p->hairpin_sends = 0;
	p->hairpin_to = *mapped;
	randombytes_buf(p->hairpin_tid, sizeof(p->hairpin_tid));
	if (p->hairpin_fd < 0)
		p->hairpin_fd = open_udp(p->family, NULL);
	source_clear(&p->resend);
	source_clear(&p->deadline);
	p->deadline = source_timeout(timeout_ms, on_deadline, p);
	if (p->hairpin_fd >= 0 && mapped->ss_family == p->family)
		p->resend = source_timeout(0, on_hairpin_resend, p);
}

bool nat_probe_hairpinned(const struct nat_probe *p)
{
	return p->hairpinned;
}

size_t nat_probe_n_results(const struct nat_probe *p)
{
	return p->n;
}

const struct nat_probe_result *nat_probe_get_result(const struct nat_probe *p, size_t i)
{
	return i < p->n ? &p->results[i] : NULL;
}

uint16_t nat_probe_local_port(const struct nat_probe *p)
{
	return p->local_port;
}

/* --- what the answers say ------------------------------------------------------- */

static uint16_t port_of(const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)a)->sin_port);
	if (a->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
	return 0;
}

static bool same_address(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family || port_of(a) != port_of(b))
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr == ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &((const struct sockaddr_in6 *)b)->sin6_addr,
		      sizeof(struct in6_addr)) == 0;
}

void nat_summarize(const struct nat_probe_result *results, size_t n, uint16_t local_port, struct nat_summary *ret)
{
	struct nat_summary s = { .mapping = NAT_MAPPING_UNKNOWN, .port_preserved = -1 };
	const struct sockaddr_storage *first_to = NULL;
	bool differs = false, second_destination = false;

	for (size_t i = 0; i < n; i++) {
		const struct nat_probe_result *r = &results[i];

		if (!r->answered || !r->reply.success || !r->reply.have_mapped || r->method != STUN_WIRE_BINDING)
			continue;
		s.answered++;
		if (!s.have_mapped) {
			s.have_mapped = true;
			s.mapped = r->reply.mapped;
			first_to = &r->to;
			continue;
		}
		/* two answers from one destination say nothing about mapping */
		if (same_address(&r->to, first_to))
			continue;
		second_destination = true;
		differs |= !same_address(&r->reply.mapped, &s.mapped);
	}
	if (second_destination)
		s.mapping = differs ? NAT_MAPPING_DEPENDENT : NAT_MAPPING_INDEPENDENT;
	if (s.have_mapped)
		s.port_preserved = port_of(&s.mapped) == local_port;
	*ret = s;
}

const char *nat_mapping_name(enum nat_mapping m)
{
	switch (m) {
	case NAT_MAPPING_INDEPENDENT:
		return "endpoint-independent";
	case NAT_MAPPING_DEPENDENT:
		return "endpoint-dependent";
	case NAT_MAPPING_UNKNOWN:
		break;
	}
	return "unknown";
}

char *nat_format_address(const struct sockaddr_storage *a)
{
	char text[INET6_ADDRSTRLEN] = "?";

	if (a->ss_family == AF_INET)
		return g_strdup_printf("%s:%u", inet_ntop(AF_INET, &((const struct sockaddr_in *)a)->sin_addr, text,
							 sizeof(text)), port_of(a));
	if (a->ss_family == AF_INET6)
		return g_strdup_printf("[%s]:%u", inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)a)->sin6_addr,
							   text, sizeof(text)), port_of(a));
	return g_strdup("?");
}

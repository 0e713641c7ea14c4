/* Port mappings on the gateway (portmap.h): PCP and NAT-PMP on the main
 * loop, one non-blocking UDP socket per mapping bound to the mapped
 * address (both protocols map the address a request comes from), UPnP on
 * the worker of portmap-upnp.c.
 *
 * A mapping tries the protocols in turn.  One that fails (no answer after
 * four tries over 3.75 s, ICMP port unreachable, an error or "unsupported
 * version") is not tried again on the same gateway for a minute, so that
 * the peers starting after the first one skip straight to what works;
 * one that worked is tried first.  In the lab a router answers PCP in
 * under a millisecond; a router without any of them costs each mapping a
 * refused datagram (~1 ms) for PCP and NAT-PMP and the worker one SSDP
 * search (2 s) for UPnP, all off the loop's critical path: the candidate
 * trickles to the peer whenever it comes. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib-unix.h>
#include <net/if.h>
#include <net/route.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "portmap-upnp.h"
#include "portmap-wire.h"
#include "portmap.h"
#include "util/source-util.h"

#define PORTMAP_RETRY_MS 250u
#define PORTMAP_TRIES 4u
#define PORTMAP_DELETE_TRIES 3u
#define PORTMAP_DELETE_RETRY_MS 150u
#define PORTMAP_FAILED_FOR_US (60 * G_USEC_PER_SEC)
/* Renewals come at half the lifetime, but at least this often. */
#define PORTMAP_MAX_RENEW_SEC (12u * 3600u)

enum mapping_state {
	MAPPING_TRYING,
	MAPPING_MAPPED,
	MAPPING_RENEWING,
	MAPPING_DELETING,
	MAPPING_FAILED,
};

struct portmap {
	GHashTable *mappings; /* id -> struct portmap_mapping, the owner's and those being deleted */
	uint64_t next_id;
	struct upnp_worker *upnp;
	/* what the gateway answered lately */
	struct in_addr gateway;
	unsigned failed; /* protocols */
	gint64 failed_us;
	unsigned works; /* the protocol that mapped last, 0: none yet */
};

struct portmap_mapping {
	struct portmap *pm;
	uint64_t id;
	enum mapping_state state;
	unsigned to_try; /* protocols not tried yet */
	enum portmap_protocol protocol;
	struct sockaddr_in internal;
	struct in_addr gateway;
	int fd;
	GSource *io, *timer;
	GSource *notify_soon; /* the owner hears of changes from the loop, never from inside our calls */
	unsigned tries;
	bool sent; /* the router may hold a mapping: delete it when given back */
	uint8_t nonce[PCP_NONCE_LEN];
	bool have_natpmp_address;
	struct in_addr external;
	uint16_t external_port;
	uint32_t lifetime;
	gint64 expires_us;
	portmap_fn fn;
	void *data;
};

static void try_next(struct portmap_mapping *m);
static void send_request(struct portmap_mapping *m);

const char *portmap_protocol_name(enum portmap_protocol p)
{
	switch (p) {
	case PORTMAP_PCP:
		return "pcp";
	case PORTMAP_NATPMP:
		return "natpmp";
	case PORTMAP_UPNP:
		return "upnp";
	default:
		return "none";
	}
}

static const char *internal_text(const struct portmap_mapping *m, char *buf, size_t len)
{
	char a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &m->internal.sin_addr, a, sizeof(a));
	g_snprintf(buf, len, "%s:%u", a, ntohs(m->internal.sin_port));
	return buf;
}

/* --- the gateway ------------------------------------------------------------- */

/* The gateway of the default IPv4 route with the lowest metric, from
 * /proc/net/route (this namespace's; a few lines). */
static bool default_gateway(struct in_addr *ret)
{
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	unsigned best_metric = G_MAXUINT;
	bool found = false;

	if (!g_file_get_contents("/proc/net/route", &text, NULL, NULL))
		return false;
	lines = g_strsplit(text, "\n", -1);
	for (unsigned i = 1; lines[i]; i++) {
		char ifname[IFNAMSIZ + 1];
		unsigned dest, gw, flags, refcnt, use, metric, mask;

		if (sscanf(lines[i], "%16s %x %x %x %u %u %u %x", ifname, &dest, &gw, &flags, &refcnt, &use, &metric,
			   &mask) != 8)
			continue;
		if (dest || mask || !(flags & RTF_UP) || !(flags & RTF_GATEWAY) || metric >= best_metric)
			continue;
		ret->s_addr = gw; /* the kernel prints it in network order */
		best_metric = metric;
		found = true;
	}
	return found;
}

/* Whether the kernel sends to @gw from @local (a mapping asked from
 * another address would be for the wrong one). */
static bool reaches_gateway_from(struct in_addr gw, struct in_addr local)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(PORTMAP_SERVER_PORT), .sin_addr = gw };
	struct sockaddr_in from;
	socklen_t len = sizeof(from);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool same;

	if (fd < 0)
		return false;
	same = connect(fd, (struct sockaddr *)&to, sizeof(to)) == 0 &&
	       getsockname(fd, (struct sockaddr *)&from, &len) == 0 && from.sin_addr.s_addr == local.s_addr;
	close(fd);
	return same;
}

/* The protocols worth trying on @gw now. */
static unsigned worth_trying(struct portmap *pm, struct in_addr gw, unsigned protocols)
{
	if (pm->gateway.s_addr != gw.s_addr) {
		pm->gateway = gw;
		pm->failed = 0;
		pm->works = 0;
	}
	if (pm->failed && g_get_monotonic_time() - pm->failed_us > PORTMAP_FAILED_FOR_US)
		pm->failed = 0;
	return protocols & ~pm->failed;
}

static void note_failed(struct portmap_mapping *m)
{
	struct portmap *pm = m->pm;

	if (pm->gateway.s_addr != m->gateway.s_addr)
		return;
	pm->failed |= m->protocol;
	pm->failed_us = g_get_monotonic_time();
	if (pm->works == m->protocol)
		pm->works = 0;
}

/* --- life of a mapping --------------------------------------------------------- */

static void close_socket(struct portmap_mapping *m)
{
	source_clear(&m->io);
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}

static void mapping_free(struct portmap_mapping *m)
{
	source_clear(&m->timer);
	source_clear(&m->notify_soon);
	close_socket(m);
	g_hash_table_remove(m->pm->mappings, &m->id);
	g_free(m);
}

static gboolean on_notify(gpointer data)
{
	struct portmap_mapping *m = data;

	g_clear_pointer(&m->notify_soon, g_source_unref);
	if (m->fn)
		m->fn(m, m->data);
	return G_SOURCE_REMOVE;
}

static void notify(struct portmap_mapping *m)
{
	if (!m->notify_soon)
		m->notify_soon = source_timeout(0, on_notify, m);
}

static void arm(struct portmap_mapping *m, guint ms, GSourceFunc fn)
{
	source_clear(&m->timer);
	m->timer = source_timeout(ms, fn, m);
}

static gboolean on_renew(gpointer data);

static void schedule_renewal(struct portmap_mapping *m, guint sec)
{
	source_clear(&m->timer);
	m->timer = source_attach(g_timeout_source_new_seconds(MAX(sec, 1u)), NULL, on_renew, m);
}

static void on_mapped(struct portmap_mapping *m, struct in_addr external, uint16_t port, uint32_t lifetime)
{
	char in[32], ext[INET_ADDRSTRLEN];
	bool changed = m->state == MAPPING_TRYING || m->external.s_addr != external.s_addr || m->external_port != port;

	source_clear(&m->timer);
	m->state = MAPPING_MAPPED;
	m->external = external;
	m->external_port = port;
	m->lifetime = lifetime;
	m->expires_us = g_get_monotonic_time() + (gint64)lifetime * G_USEC_PER_SEC;
	m->pm->works = m->protocol;
	if (lifetime)
		schedule_renewal(m, MIN(lifetime / 2, PORTMAP_MAX_RENEW_SEC));
	if (!changed)
		return;
	g_info("port mapping: %s: %s -> %s:%u for %u s", portmap_protocol_name(m->protocol),
	       internal_text(m, in, sizeof(in)), inet_ntop(AF_INET, &external, ext, sizeof(ext)), port, lifetime);
	notify(m);
}

static void on_lost(struct portmap_mapping *m, const char *why)
{
	char in[32];

	g_info("port mapping: %s: %s lost: %s", portmap_protocol_name(m->protocol), internal_text(m, in, sizeof(in)),
	       why);
	source_clear(&m->timer);
	m->state = MAPPING_FAILED;
	m->external_port = 0;
	notify(m);
}

/* The current protocol will not do: the next one, or failure. */
static void protocol_failed(struct portmap_mapping *m, const char *why)
{
	char in[32];

	if (m->state == MAPPING_RENEWING || m->state == MAPPING_MAPPED) {
		on_lost(m, why);
		return;
	}
	g_debug("port mapping: %s: %s: %s", portmap_protocol_name(m->protocol), internal_text(m, in, sizeof(in)),
		why);
	note_failed(m);
	try_next(m);
}

/* --- PCP and NAT-PMP ------------------------------------------------------------ */

static bool nonce_matches(const struct portmap_mapping *m, const struct portmap_reply *r)
{
	return sodium_memcmp(m->nonce, r->nonce, PCP_NONCE_LEN) == 0;
}

static void on_pcp_reply(struct portmap_mapping *m, const struct portmap_reply *r)
{
	if (r->kind == PORTMAP_REPLY_UNSUPP_VERSION) {
		protocol_failed(m, "unsupported version");
		return;
	}
	if (r->kind != PORTMAP_REPLY_PCP_MAP || !nonce_matches(m, r) || r->internal_port != ntohs(m->internal.sin_port))
		return; /* not an answer to this mapping's request */
	if (r->result != PCP_RESULT_SUCCESS)
		protocol_failed(m, portmap_result_name(r));
	else if (!r->have_external || !r->lifetime || !r->external_port)
		protocol_failed(m, "no IPv4 address or port granted");
	else
		on_mapped(m, r->external, r->external_port, r->lifetime);
}

static void on_natpmp_reply(struct portmap_mapping *m, const struct portmap_reply *r)
{
	if (r->kind == PORTMAP_REPLY_UNSUPP_VERSION) {
		protocol_failed(m, "unsupported version");
		return;
	}
	if (r->kind == PORTMAP_REPLY_NATPMP_MAP && r->internal_port != ntohs(m->internal.sin_port))
		return;
	if (r->kind != PORTMAP_REPLY_NATPMP_ADDR && r->kind != PORTMAP_REPLY_NATPMP_MAP)
		return;
	if (r->result != NATPMP_RESULT_SUCCESS) {
		protocol_failed(m, portmap_result_name(r));
	} else if (r->kind == PORTMAP_REPLY_NATPMP_ADDR) {
		if (m->have_natpmp_address)
			return;
		m->external = r->external;
		m->have_natpmp_address = true;
		m->tries = 0;
		send_request(m);
	} else if (!m->have_natpmp_address || !r->lifetime || !r->external_port) {
		protocol_failed(m, "no port granted");
	} else {
		on_mapped(m, m->external, r->external_port, r->lifetime);
	}
}

static void on_reply(struct portmap_mapping *m, const uint8_t *buf, size_t len)
{
	struct portmap_reply r;

	if (portmap_parse_reply(buf, len, &r) < 0)
		return; /* bad input changes nothing */
	if (m->state == MAPPING_DELETING) {
		/* any answer to our delete (or to what came before it) will do */
		if (r.kind == PORTMAP_REPLY_NATPMP_MAP || r.kind == PORTMAP_REPLY_UNSUPP_VERSION ||
		    (r.kind == PORTMAP_REPLY_PCP_MAP && nonce_matches(m, &r)))
			mapping_free(m);
		return;
	}
	if (m->state == MAPPING_FAILED)
		return;
	if (m->protocol == PORTMAP_PCP)
		on_pcp_reply(m, &r);
	else if (m->protocol == PORTMAP_NATPMP)
		on_natpmp_reply(m, &r);
}

/* One datagram per wakeup: handling it may free @m (a delete answered). */
static gboolean on_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct portmap_mapping *m = data;
	uint8_t buf[PCP_MAX_LEN + 4];
	ssize_t n = recv(fd, buf, sizeof(buf), 0);

	if (n < 0 && errno == ECONNREFUSED) {
		if (m->state == MAPPING_DELETING)
			mapping_free(m);
		else
			protocol_failed(m, "the gateway refused it (port unreachable)");
	} else if (n >= 0 && (size_t)n <= PCP_MAX_LEN) {
		on_reply(m, buf, (size_t)n);
	}
	return G_SOURCE_CONTINUE;
}

static bool open_socket(struct portmap_mapping *m)
{
	struct sockaddr_in local = m->internal, gw = { .sin_family = AF_INET, .sin_port = htons(PORTMAP_SERVER_PORT) };

	if (m->fd >= 0)
		return true;
	local.sin_port = 0;
	gw.sin_addr = m->gateway;
	m->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->fd < 0 || bind(m->fd, (struct sockaddr *)&local, sizeof(local)) < 0 ||
	    connect(m->fd, (struct sockaddr *)&gw, sizeof(gw)) < 0) {
		close_socket(m);
		return false;
	}
	m->io = source_attach(g_unix_fd_source_new(m->fd, G_IO_IN), NULL, G_SOURCE_FUNC(on_readable), m);
	return true;
}

static size_t format_request(const struct portmap_mapping *m, uint32_t lifetime, uint8_t *buf, size_t len)
{
	struct pcp_map_request req = { .lifetime = lifetime, .client = m->internal.sin_addr };
	bool renewal = m->state != MAPPING_TRYING;

	if (m->protocol == PORTMAP_PCP) {
		memcpy(req.nonce, m->nonce, PCP_NONCE_LEN);
		req.internal_port = ntohs(m->internal.sin_port);
		/* the same port again, or (first) the internal one: a router
		 * that preserves ports keeps the two alike */
		req.suggested_port = renewal ? m->external_port : req.internal_port;
		if (renewal)
			req.suggested_addr = m->external;
		return pcp_format_map(&req, buf, len);
	}
	if (!m->have_natpmp_address)
		return natpmp_format_addr(buf, len);
	/* RFC 6886, 3.4: a delete suggests port 0 */
	return natpmp_format_map(ntohs(m->internal.sin_port),
				 lifetime ? (renewal ? m->external_port : ntohs(m->internal.sin_port)) : 0, lifetime, buf,
				 len);
}

static gboolean on_retry(gpointer data);

static void send_request(struct portmap_mapping *m)
{
	uint8_t buf[PCP_MAP_LEN];
	uint32_t lifetime = m->state == MAPPING_DELETING ? 0 : PORTMAP_LIFETIME_SEC;
	size_t len = format_request(m, lifetime, buf, sizeof(buf));

	m->tries++;
	if (send(m->fd, buf, len, 0) < 0 && errno == ECONNREFUSED && m->state != MAPPING_DELETING) {
		protocol_failed(m, "the gateway refused it (port unreachable)");
		return;
	}
	if (lifetime)
		m->sent = true;
	if (m->state == MAPPING_DELETING)
		arm(m, PORTMAP_DELETE_RETRY_MS, on_retry);
	else
		arm(m, PORTMAP_RETRY_MS << (m->tries - 1), on_retry);
}

static gboolean on_retry(gpointer data)
{
	struct portmap_mapping *m = data;
	unsigned max = m->state == MAPPING_DELETING ? PORTMAP_DELETE_TRIES : PORTMAP_TRIES;

	g_clear_pointer(&m->timer, g_source_unref);
	if (m->tries < max) {
		send_request(m);
	} else if (m->state == MAPPING_DELETING) {
		mapping_free(m);
	} else if (m->state == MAPPING_RENEWING && g_get_monotonic_time() < m->expires_us) {
		/* the router may be rebooting: try again before it expires */
		m->state = MAPPING_MAPPED;
		schedule_renewal(m, (guint)((m->expires_us - g_get_monotonic_time()) / G_USEC_PER_SEC / 2));
	} else {
		protocol_failed(m, "no answer");
	}
	return G_SOURCE_REMOVE;
}

/* --- UPnP ------------------------------------------------------------------------ */

static void on_upnp_result(const struct upnp_result *r, void *data)
{
	struct portmap *pm = data;
	struct portmap_mapping *m = g_hash_table_lookup(pm->mappings, &r->id);

	if (!m || m->protocol != PORTMAP_UPNP || m->state == MAPPING_DELETING || m->state == MAPPING_FAILED)
		return; /* given back meanwhile: its unmap job follows */
	if (r->ok)
		on_mapped(m, r->external, r->external_port, r->lifetime);
	else
		protocol_failed(m, r->why);
}

/* --- trying, renewing -------------------------------------------------------------- */

static void start_protocol(struct portmap_mapping *m)
{
	m->tries = 0;
	if (m->protocol == PORTMAP_UPNP) {
		close_socket(m);
		m->sent = true;
		upnp_worker_map(m->pm->upnp, m->id, &m->internal, PORTMAP_LIFETIME_SEC);
		return;
	}
	m->have_natpmp_address = false;
	if (!open_socket(m)) {
		protocol_failed(m, g_strerror(errno));
		return;
	}
	send_request(m);
}

static void try_next(struct portmap_mapping *m)
{
	char in[32];
	unsigned works = m->pm->works & m->to_try;
	unsigned next = works ? works : m->to_try & -m->to_try; /* the lowest bit: PCP, NAT-PMP, UPnP */

	if (!next) {
		g_debug("port mapping: %s: the gateway offers none", internal_text(m, in, sizeof(in)));
		m->state = MAPPING_FAILED;
		m->protocol = 0;
		close_socket(m);
		notify(m);
		return;
	}
	m->to_try &= ~next;
	m->protocol = next;
	start_protocol(m);
}

static gboolean on_start(gpointer data)
{
	struct portmap_mapping *m = data;

	g_clear_pointer(&m->timer, g_source_unref);
	try_next(m);
	return G_SOURCE_REMOVE;
}

static gboolean on_renew(gpointer data)
{
	struct portmap_mapping *m = data;

	g_clear_pointer(&m->timer, g_source_unref);
	m->state = MAPPING_RENEWING;
	m->tries = 0;
	if (m->protocol == PORTMAP_UPNP)
		upnp_worker_map(m->pm->upnp, m->id, &m->internal, PORTMAP_LIFETIME_SEC);
	else
		send_request(m);
	return G_SOURCE_REMOVE;
}

/* --- the API --------------------------------------------------------------------- */

struct portmap *portmap_new(void)
{
	struct portmap *pm = g_new0(struct portmap, 1);

	pm->mappings = g_hash_table_new(g_int64_hash, g_int64_equal);
	pm->upnp = upnp_worker_new(on_upnp_result, pm);
	return pm;
}

struct portmap_mapping *portmap_add(struct portmap *pm, const struct sockaddr_in *internal, unsigned protocols,
				    portmap_fn fn, void *data)
{
	struct portmap_mapping *m;
	struct in_addr gw = { 0 };

	if (!pm || !(protocols & PORTMAP_ALL) || !default_gateway(&gw) || !reaches_gateway_from(gw, internal->sin_addr))
		return NULL;
	m = g_new0(struct portmap_mapping, 1);
	m->pm = pm;
	m->id = ++pm->next_id;
	m->fd = -1;
	m->internal = *internal;
	m->gateway = gw;
	m->to_try = worth_trying(pm, gw, protocols & PORTMAP_ALL);
	m->fn = fn;
	m->data = data;
	randombytes_buf(m->nonce, sizeof(m->nonce));
	g_hash_table_insert(pm->mappings, &m->id, m);
	m->timer = source_timeout(0, on_start, m);
	return m;
}

void portmap_remove(struct portmap_mapping *m)
{
	if (!m)
		return;
	m->fn = NULL;
	if (m->protocol == PORTMAP_UPNP && m->sent) {
		upnp_worker_unmap(m->pm->upnp, &m->internal);
		mapping_free(m);
		return;
	}
	if (!m->sent || m->fd < 0 || m->state == MAPPING_FAILED) {
		mapping_free(m);
		return;
	}
	/* PCP or NAT-PMP: a delete, resent a few times until answered */
	m->state = MAPPING_DELETING;
	m->tries = 0;
	send_request(m);
}

void portmap_free(struct portmap *pm)
{
	GHashTableIter it;
	gpointer value;

	if (!pm)
		return;
	/* what is still being deleted gets its last try now */
	g_hash_table_iter_init(&it, pm->mappings);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct portmap_mapping *m = value;

		g_hash_table_iter_steal(&it);
		m->fn = NULL;
		if (m->protocol == PORTMAP_UPNP && m->sent)
			upnp_worker_unmap(pm->upnp, &m->internal);
		else if (m->sent && m->fd >= 0 && m->state != MAPPING_FAILED && m->state != MAPPING_DELETING) {
			m->state = MAPPING_DELETING;
			send_request(m);
		}
		source_clear(&m->timer);
		source_clear(&m->notify_soon);
		close_socket(m);
		g_free(m);
	}
	upnp_worker_free(pm->upnp, PORTMAP_EXIT_WAIT_MS);
	g_hash_table_destroy(pm->mappings);
	g_free(pm);
}

bool portmap_mapping_external(const struct portmap_mapping *m, struct sockaddr_in *ret)
{
	if (!m || (m->state != MAPPING_MAPPED && m->state != MAPPING_RENEWING))
		return false;
	*ret = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(m->external_port), .sin_addr = m->external };
	return true;
}

const char *portmap_mapping_protocol(const struct portmap_mapping *m)
{
	return portmap_protocol_name(m ? m->protocol : 0);
}

uint32_t portmap_mapping_lifetime(const struct portmap_mapping *m)
{
	return m && (m->state == MAPPING_MAPPED || m->state == MAPPING_RENEWING) ? m->lifetime : 0;
}

/* `wice netcheck`; see netcheck.h. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

#include "json-out.h"
#include "nat-probe.h"
#include "nat-watch.h"
#include "netcheck.h"
#include "portmap.h"
#include "util/source-util.h"

#define HAIRPIN_TIMEOUT_MS 600
/* PCP and NAT-PMP deletions go out on the loop after portmap_remove(). */
#define PORTMAP_DRAIN_MS 300
#define N_PORTMAP 3

static const enum portmap_protocol portmap_protocols[N_PORTMAP] = { PORTMAP_PCP, PORTMAP_NATPMP, PORTMAP_UPNP };

struct portmap_try {
	struct portmap_mapping *m;
	int fd;
	int result; /* -1 pending, 0 none, 1 mapped */
};

struct netcheck {
	const struct wice_iface_settings *cfg;
	struct nat_probe *v4, *v6, *turn;
	bool v4_done, v6_done, turn_done;
	bool hairpin_tried, hairpin_done;
	struct portmap *pm;
	bool have_gateway;
	struct sockaddr_in internal;
	struct portmap_try maps[N_PORTMAP];
};

/* --- waiting --------------------------------------------------------------------- */

static gboolean on_wait_over(gpointer data)
{
	*(bool *)data = true;
	return G_SOURCE_REMOVE;
}

/* Runs the loop until @done says so or @ms passed. */
static void run_until(struct netcheck *nc, bool (*done)(const struct netcheck *), guint ms)
{
	bool over = false;
	GSource *timer = source_timeout(ms, on_wait_over, &over);

	while (!over && !done(nc))
		g_main_context_iteration(NULL, TRUE);
	source_free(timer);
}

static bool portmap_done(const struct netcheck *nc)
{
	for (size_t i = 0; i < N_PORTMAP; i++)
		if (nc->maps[i].result < 0)
			return false;
	return true;
}

static bool first_round_done(const struct netcheck *nc)
{
	return nc->v4_done && nc->v6_done && nc->turn_done && portmap_done(nc);
}

static bool hairpin_done(const struct netcheck *nc)
{
	return nc->hairpin_done;
}

static bool never(const struct netcheck *nc)
{
	return false;
}

/* --- the probes -------------------------------------------------------------------- */

static void on_v4(struct nat_probe *p, void *data)
{
	((struct netcheck *)data)->v4_done = true;
}

static void on_v6(struct nat_probe *p, void *data)
{
	((struct netcheck *)data)->v6_done = true;
}

static void on_turn(struct nat_probe *p, void *data)
{
	((struct netcheck *)data)->turn_done = true;
}

static void on_hairpin(struct nat_probe *p, void *data)
{
	((struct netcheck *)data)->hairpin_done = true;
}

static struct nat_probe *start_binding(struct netcheck *nc, int family, nat_probe_fn fn, bool *done)
{
	struct sockaddr_storage servers[NAT_PROBE_MAX_TARGETS];
	socklen_t lens[NAT_PROBE_MAX_TARGETS];
	size_t n = nat_binding_servers(nc->cfg, family, servers, lens, NAT_PROBE_MAX_TARGETS);
	struct nat_probe *p = n ? nat_probe_new(family, NULL) : NULL;

	if (!p) {
		*done = true;
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		nat_probe_add(p, (struct sockaddr *)&servers[i], lens[i], STUN_WIRE_BINDING);
	nat_probe_run(p, NETCHECK_STUN_TIMEOUT_MS, fn, nc);
	return p;
}

/* An unauthenticated Allocate over UDP to every TURN server (turn: with
 * either transport: coturn and most servers listen on both). */
static void start_turn_udp(struct netcheck *nc)
{
	for (size_t i = 0; i < nc->cfg->n_ice_servers; i++) {
		const struct wice_ice_server *s = &nc->cfg->ice_servers[i];
		struct sockaddr_storage sa;
		socklen_t len;

		if (s->scheme != WICE_ICE_TURN || !nat_server_sockaddr(s, &sa, &len) || sa.ss_family != AF_INET)
			continue;
		if (!nc->turn)
			nc->turn = nat_probe_new(AF_INET, NULL);
		if (nc->turn)
			nat_probe_add(nc->turn, (struct sockaddr *)&sa, len, STUN_WIRE_ALLOCATE);
	}
	if (nc->turn)
		nat_probe_run(nc->turn, NETCHECK_STUN_TIMEOUT_MS, on_turn, nc);
	else
		nc->turn_done = true;
}

/* The address this host reaches the default gateway from: connecting a
 * UDP socket sends nothing, it only picks the route. */
static bool default_source(struct sockaddr_in *ret)
{
	struct sockaddr_in probe = { .sin_family = AF_INET, .sin_port = htons(9) };
	socklen_t len = sizeof(*ret);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok;

	inet_pton(AF_INET, "192.0.2.1", &probe.sin_addr); /* TEST-NET-1: never sent to */
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&probe, sizeof(probe)) == 0 &&
	     getsockname(fd, (struct sockaddr *)ret, &len) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static void on_portmap(struct portmap_mapping *m, void *data)
{
	struct portmap_try *t = data;
	struct sockaddr_in external;

	t->result = portmap_mapping_external(m, &external) ? 1 : 0;
}

/* A mapping of a port of our own per protocol, each on a socket of its
 * own, so that the three do not meet on the router. */
static void start_portmap(struct netcheck *nc)
{
	nc->pm = portmap_new();
	nc->have_gateway = default_source(&nc->internal);
	for (size_t i = 0; i < N_PORTMAP; i++) {
		struct portmap_try *t = &nc->maps[i];
		struct sockaddr_in in = nc->internal;
		socklen_t len = sizeof(in);

		t->result = 0;
		in.sin_port = 0;
		t->fd = nc->have_gateway ? socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0) : -1;
		if (t->fd < 0 || bind(t->fd, (struct sockaddr *)&in, sizeof(in)) < 0 ||
		    getsockname(t->fd, (struct sockaddr *)&in, &len) < 0)
			continue;
		t->m = portmap_add(nc->pm, &in, portmap_protocols[i], on_portmap, t);
		t->result = t->m ? -1 : 0;
		nc->have_gateway &= t->m != NULL;
	}
}

static void stop_portmap(struct netcheck *nc)
{
	for (size_t i = 0; i < N_PORTMAP; i++) {
		g_clear_pointer(&nc->maps[i].m, portmap_remove);
		if (nc->maps[i].fd >= 0)
			close(nc->maps[i].fd);
	}
	run_until(nc, never, PORTMAP_DRAIN_MS);
	g_clear_pointer(&nc->pm, portmap_free);
}

static bool address_is_local(const struct sockaddr_storage *a)
{
	struct ifaddrs *list, *i;
	bool found = false;

	if (getifaddrs(&list) < 0)
		return false;
	for (i = list; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != a->ss_family)
			continue;
		if (a->ss_family == AF_INET)
			found = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr ==
				((const struct sockaddr_in *)a)->sin_addr.s_addr;
		else
			found = memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
				       &((const struct sockaddr_in6 *)a)->sin6_addr, sizeof(struct in6_addr)) == 0;
	}
	freeifaddrs(list);
	return found;
}

static bool have_global_ipv6(void)
{
	struct ifaddrs *list, *i;
	bool found = false;

	if (getifaddrs(&list) < 0)
		return false;
	for (i = list; i && !found; i = i->ifa_next) {
		const struct in6_addr *a;

		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET6 || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		a = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
		/* not link-local, not unique local (fc00::/7) */
		found = !IN6_IS_ADDR_LINKLOCAL(a) && !IN6_IS_ADDR_LOOPBACK(a) && (a->s6_addr[0] & 0xfe) != 0xfc;
	}
	freeifaddrs(list);
	return found;
}

/* --- TURN over TCP and TLS ----------------------------------------------------------- */

struct stream_result {
	bool reachable;
	double connect_ms, rtt_ms;
	char answer[128];
};

static double ms_since(gint64 t0)
{
	return (double)(g_get_monotonic_time() - t0) / 1000.0;
}

static void describe_answer(const struct stun_wire_reply *r, char *buf, size_t len)
{
	if (r->success)
		g_strlcpy(buf, "success", len);
	else if (r->error_code == 401)
		g_strlcpy(buf, "401 Unauthorized (credentials asked for)", len);
	else
		g_snprintf(buf, len, "error %d", r->error_code);
}

/* Reads one STUN message from @in into @buf; its length, or 0. */
static size_t read_message(GInputStream *in, uint8_t *buf, size_t size, GError **error)
{
	size_t have = 0;

	for (;;) {
		int len = stun_wire_message_len(buf, have);
		gssize n;

		if (len < 0) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "the answer is not STUN");
			return 0;
		}
		if (len > 0)
			return (size_t)len;
		n = g_input_stream_read(in, buf + have, size - have, NULL, error);
		if (n <= 0) {
			if (n == 0)
				g_set_error(error, G_IO_ERROR, G_IO_ERROR_CLOSED, "the server closed the connection");
			return 0;
		}
		have += (size_t)n;
	}
}

static void probe_stream(const struct wice_ice_server *s, bool tls, struct stream_result *ret)
{
	g_autoptr(GSocketClient) client = g_socket_client_new();
	g_autoptr(GSocketConnectable) where = g_network_address_new(s->host, s->port);
	g_autoptr(GSocketConnection) conn = NULL;
	g_autoptr(GError) error = NULL;
	uint8_t tid[STUN_WIRE_TID_LEN], req[STUN_WIRE_MAX_REQUEST], buf[STUN_WIRE_MAX_REPLY];
	struct stun_wire_reply reply;
	size_t len;
	gint64 t0 = g_get_monotonic_time();

	memset(ret, 0, sizeof(*ret));
	g_socket_client_set_timeout(client, NETCHECK_TCP_TIMEOUT_S);
	g_socket_client_set_tls(client, tls);
	conn = g_socket_client_connect(client, where, NULL, &error);
	if (!conn) {
		g_strlcpy(ret->answer, error->message, sizeof(ret->answer));
		return;
	}
	ret->connect_ms = ms_since(t0);
	randombytes_buf(tid, sizeof(tid));
	len = stun_wire_request(STUN_WIRE_ALLOCATE, tid, req, sizeof(req));
	t0 = g_get_monotonic_time();
	if (!g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(conn)), req, len, NULL, NULL,
				       &error) ||
	    !(len = read_message(g_io_stream_get_input_stream(G_IO_STREAM(conn)), buf, sizeof(buf), &error))) {
		g_strlcpy(ret->answer, error->message, sizeof(ret->answer));
		return;
	}
	ret->rtt_ms = ms_since(t0);
	if (!stun_wire_parse_reply(buf, len, tid, &reply)) {
		g_strlcpy(ret->answer, "an answer to another request", sizeof(ret->answer));
		return;
	}
	ret->reachable = true;
	describe_answer(&reply, ret->answer, sizeof(ret->answer));
}

/* --- the report ---------------------------------------------------------------------- */

static void add_ms(JsonBuilder *b, const char *name, double ms)
{
	json_builder_set_member_name(b, name);
	json_builder_add_double_value(b, (double)(gint64)(ms * 100) / 100);
}

static void summarize(const struct nat_probe *p, struct nat_summary *ret)
{
	size_t n = p ? nat_probe_n_results(p) : 0;
	g_autofree struct nat_probe_result *results = g_new0(struct nat_probe_result, MAX(n, 1));

	for (size_t i = 0; i < n; i++)
		results[i] = *nat_probe_get_result(p, i);
	nat_summarize(results, n, p ? nat_probe_local_port(p) : 0, ret);
}

/* "stun": one entry per server asked. */
static void add_servers(JsonBuilder *b, const struct nat_probe *p)
{
	for (size_t i = 0; p && i < nat_probe_n_results(p); i++) {
		const struct nat_probe_result *r = nat_probe_get_result(p, i);
		g_autofree char *server = nat_format_address(&r->to), *mapped = NULL;

		json_builder_begin_object(b);
		json_add_string(b, "server", server);
		json_add_tristate(b, "answered", r->answered);
		if (r->answered)
			add_ms(b, "rtt_ms", (double)r->rtt_us / 1000.0);
		if (r->answered && r->reply.have_mapped)
			mapped = nat_format_address(&r->reply.mapped);
		json_add_string(b, "mapped", mapped);
		json_builder_end_object(b);
	}
}

static void add_family(JsonBuilder *b, const char *name, const struct nat_probe *p, int extra_global)
{
	struct nat_summary s;
	g_autofree char *mapped = NULL;

	summarize(p, &s);
	json_builder_set_member_name(b, name);
	json_builder_begin_object(b);
	if (extra_global >= 0)
		json_add_tristate(b, "global_address", extra_global);
	json_add_tristate(b, "udp", s.answered > 0);
	if (s.have_mapped)
		mapped = nat_format_address(&s.mapped);
	json_add_string(b, "mapped", mapped);
	json_add_int(b, "local_port", p ? nat_probe_local_port(p) : 0);
	json_builder_set_member_name(b, "stun");
	json_builder_begin_array(b);
	add_servers(b, p);
	json_builder_end_array(b);
	json_builder_end_object(b);
}

static void add_mapping(JsonBuilder *b, const struct netcheck *nc)
{
	struct nat_summary s;

	summarize(nc->v4, &s);
	json_add_tristate(b, "udp", s.answered > 0);
	json_add_tristate(b, "behind_nat", s.have_mapped ? !address_is_local(&s.mapped) : -1);
	json_add_string(b, "mapping", nat_mapping_name(s.mapping));
	json_add_tristate(b, "port_preserved", s.port_preserved);
	json_add_tristate(b, "hairpinning", nc->hairpin_tried ? nat_probe_hairpinned(nc->v4) : -1);
}

static void add_portmap(JsonBuilder *b, const struct netcheck *nc)
{
	json_builder_set_member_name(b, "port_mapping");
	json_builder_begin_object(b);
	json_add_tristate(b, "gateway", nc->have_gateway);
	for (size_t i = 0; i < N_PORTMAP; i++)
		json_add_tristate(b, portmap_protocol_name(portmap_protocols[i]), nc->maps[i].result > 0);
	json_builder_end_object(b);
}

static char *turn_url(const struct wice_ice_server *s)
{
	const char *host = s->host ? s->host : s->address;
	bool v6 = strchr(host, ':') != NULL;

	return g_strdup_printf("%s:%s%s%s:%u%s", s->scheme == WICE_ICE_TURNS ? "turns" : "turn", v6 ? "[" : "", host,
			       v6 ? "]" : "", s->port,
			       s->scheme == WICE_ICE_TURN && s->transport == WICE_ICE_TRANSPORT_TCP ? "?transport=tcp" : "");
}

static void add_turn_entry(JsonBuilder *b, const char *url, const char *transport, bool reachable, double connect_ms,
			   double rtt_ms, const char *answer)
{
	json_builder_begin_object(b);
	json_add_string(b, "url", url);
	json_add_string(b, "transport", transport);
	json_add_tristate(b, "reachable", reachable);
	if (connect_ms > 0)
		add_ms(b, "connect_ms", connect_ms);
	if (reachable)
		add_ms(b, "rtt_ms", rtt_ms);
	json_add_string(b, "answer", answer);
	json_builder_end_object(b);
}

/* The UDP result of @s in the Allocate probe. */
static void add_turn_udp(JsonBuilder *b, const struct netcheck *nc, const struct wice_ice_server *s, const char *url)
{
	struct sockaddr_storage sa;
	socklen_t len;
	char answer[128] = "no answer";

	if (!nc->turn || !nat_server_sockaddr(s, &sa, &len))
		return;
	for (size_t i = 0; i < nat_probe_n_results(nc->turn); i++) {
		const struct nat_probe_result *r = nat_probe_get_result(nc->turn, i);

		if (r->to_len != len || memcmp(&r->to, &sa, len) != 0)
			continue;
		if (r->answered)
			describe_answer(&r->reply, answer, sizeof(answer));
		add_turn_entry(b, url, "udp", r->answered, 0, (double)r->rtt_us / 1000.0, answer);
		return;
	}
}

static void add_turn(JsonBuilder *b, const struct netcheck *nc)
{
	json_builder_set_member_name(b, "turn");
	json_builder_begin_array(b);
	for (size_t i = 0; i < nc->cfg->n_ice_servers; i++) {
		const struct wice_ice_server *s = &nc->cfg->ice_servers[i];
		g_autofree char *url = NULL;
		struct stream_result r;

		if (s->scheme == WICE_ICE_STUN)
			continue;
		url = turn_url(s);
		if (s->scheme == WICE_ICE_TURN) {
			add_turn_udp(b, nc, s, url);
			probe_stream(s, false, &r);
			add_turn_entry(b, url, "tcp", r.reachable, r.connect_ms, r.rtt_ms, r.answer);
		} else {
			probe_stream(s, true, &r);
			add_turn_entry(b, url, "tls", r.reachable, r.connect_ms, r.rtt_ms, r.answer);
		}
	}
	json_builder_end_array(b);
}

JsonNode *netcheck_run(const struct wice_iface_settings *cfg)
{
	struct netcheck nc = { .cfg = cfg };
	g_autoptr(JsonBuilder) b = json_builder_new();
	struct nat_summary s;

	nc.v4 = start_binding(&nc, AF_INET, on_v4, &nc.v4_done);
	nc.v6 = start_binding(&nc, AF_INET6, on_v6, &nc.v6_done);
	start_turn_udp(&nc);
	start_portmap(&nc);
	run_until(&nc, first_round_done, NETCHECK_DEADLINE_MS);
	summarize(nc.v4, &s);
	if (s.have_mapped && !address_is_local(&s.mapped)) {
		nc.hairpin_tried = true;
		nat_probe_hairpin(nc.v4, &s.mapped, HAIRPIN_TIMEOUT_MS, on_hairpin, &nc);
		run_until(&nc, hairpin_done, HAIRPIN_TIMEOUT_MS + 100);
	}
	json_builder_begin_object(b);
	add_mapping(b, &nc);
	add_family(b, "ipv4", nc.v4, -1);
	add_family(b, "ipv6", nc.v6, have_global_ipv6());
	add_portmap(b, &nc);
	add_turn(b, &nc);
	json_builder_end_object(b);
	stop_portmap(&nc);
	nat_probe_free(nc.v4);
	nat_probe_free(nc.v6);
	nat_probe_free(nc.turn);
	return json_builder_get_root(b);
}

/* The daemon's view of its NAT; see nat-watch.h. */
#include "config.h"

#include <arpa/inet.h>
#include <string.h>

#include "nat-watch.h"
#include "util/source-util.h"

struct nat_watch {
	struct sockaddr_storage servers[NAT_PROBE_MAX_TARGETS];
	socklen_t lens[NAT_PROBE_MAX_TARGETS];
	size_t n_servers, n_asked;
	GSource *timer;
	struct nat_probe *probe;
	bool have_summary;
	struct nat_summary summary;
};

bool nat_server_sockaddr(const struct wice_ice_server *s, struct sockaddr_storage *ret, socklen_t *ret_len)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ret;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ret;

	memset(ret, 0, sizeof(*ret));
	if (inet_pton(AF_INET, s->address, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(s->port);
		*ret_len = sizeof(*in);
		return true;
	}
	if (inet_pton(AF_INET6, s->address, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(s->port);
		*ret_len = sizeof(*in6);
		return true;
	}
	return false;
}

static bool answers_binding_over_udp(const struct wice_ice_server *s)
{
	return s->scheme == WICE_ICE_STUN || (s->scheme == WICE_ICE_TURN && s->transport != WICE_ICE_TRANSPORT_TCP);
}

size_t nat_binding_servers(const struct wice_iface_settings *cfg, int family, struct sockaddr_storage *ret,
			   socklen_t *ret_lens, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < cfg->n_ice_servers && n < max; i++) {
		bool dup = false;

		if (!answers_binding_over_udp(&cfg->ice_servers[i]) ||
		    !nat_server_sockaddr(&cfg->ice_servers[i], &ret[n], &ret_lens[n]) || ret[n].ss_family != family)
			continue;
		for (size_t j = 0; j < n && !dup; j++)
			dup = ret_lens[j] == ret_lens[n] && memcmp(&ret[j], &ret[n], ret_lens[n]) == 0;
		if (!dup)
			n++;
	}
	return n;
}

struct nat_watch *nat_watch_new(void)
{
	return g_new0(struct nat_watch, 1);
}

void nat_watch_free(struct nat_watch *w)
{
	if (!w)
		return;
	source_clear(&w->timer);
	nat_probe_free(w->probe);
	g_free(w);
}

static void on_probed(struct nat_probe *p, void *data)
{
	struct nat_watch *w = data;
	size_t n = nat_probe_n_results(p);
	g_autofree struct nat_probe_result *results = g_new(struct nat_probe_result, MAX(n, 1));
	g_autofree char *mapped = NULL;

	for (size_t i = 0; i < n; i++)
		results[i] = *nat_probe_get_result(p, i);
	nat_summarize(results, n, nat_probe_local_port(p), &w->summary);
	w->have_summary = w->summary.answered > 0;
	w->n_asked = n;
	if (w->have_summary) {
		mapped = nat_format_address(&w->summary.mapped);
		g_info("NAT: %u of %zu STUN servers answered; mapped %s, mapping %s, port %s", w->summary.answered, n,
		       mapped, nat_mapping_name(w->summary.mapping),
		       w->summary.port_preserved > 0 ? "preserved" : "changed");
	}
	g_clear_pointer(&w->probe, nat_probe_free);
}

static gboolean on_timer(gpointer data)
{
	struct nat_watch *w = data;
	g_autoptr(GError) error = NULL;

	g_clear_pointer(&w->timer, g_source_unref);
	g_clear_pointer(&w->probe, nat_probe_free);
	if (!w->n_servers)
		return G_SOURCE_REMOVE;
	w->probe = nat_probe_new(AF_INET, &error);
	if (!w->probe) {
		g_debug("NAT probe: %s", error->message);
		return G_SOURCE_REMOVE;
	}
	for (size_t i = 0; i < w->n_servers; i++)
		nat_probe_add(w->probe, (struct sockaddr *)&w->servers[i], w->lens[i], STUN_WIRE_BINDING);
	nat_probe_run(w->probe, NAT_WATCH_TIMEOUT_MS, on_probed, w);
	return G_SOURCE_REMOVE;
}

void nat_watch_schedule(struct nat_watch *w, const struct wice_iface_settings *cfg, guint delay_ms)
{
	/* the servers are copied now: @cfg may be gone by the time it runs;
	 * a configuration without server reflexive candidates asked for no
	 * traffic to STUN servers, and gets none */
	w->n_servers = (cfg->candidate_types & WICE_CAND_SRFLX)
			       ? nat_binding_servers(cfg, AF_INET, w->servers, w->lens, NAT_PROBE_MAX_TARGETS)
			       : 0;
	if (w->timer)
		return; /* the pending run takes the new servers */
	w->timer = source_timeout(delay_ms, on_timer, w);
}

bool nat_watch_summary(const struct nat_watch *w, struct nat_summary *ret)
{
	if (!w || !w->have_summary)
		return false;
	*ret = w->summary;
	return true;
}

unsigned nat_watch_servers(const struct nat_watch *w)
{
	return w ? (unsigned)w->n_asked : 0;
}

/* libFuzzer harness for the configuration: wice_config_parse() on the
 * input as wice.conf, and wice_ice_server_parse() on its first line as an
 * ICE URI.
 *
 * A file that parses must hold what the parser promises: at most 16 URLs
 * of each kind, named hosts with a port, a candidate type at least, port
 * ranges in order, valid and distinct interface sections, advertised
 * addresses of a known family whose port has a single-port range, a
 * credential lifetime in range.  A URI that
 * parses must come back the same from its canonical spelling.  A refusal
 * must say why.  Group names are looked up in a table of our own (the
 * getgrnam() below), so that runs depend neither on /etc/group nor on NSS
 * and stay fast. */
#include "config.h"

#include <grp.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/wice-config.h"
#include "wg/wg-device.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		abort();
}

struct group *getgrnam(const char *name)
{
	static struct group wice = { .gr_name = (char *)"wice", .gr_gid = 990 };
	static struct group admin = { .gr_name = (char *)"wheel", .gr_gid = 10 };

	if (strcmp(name, wice.gr_name) == 0)
		return &wice;
	return strcmp(name, admin.gr_name) == 0 ? &admin : NULL;
}

static void check_server(const struct wice_ice_server *s)
{
	check(s->host && *s->host && !strpbrk(s->host, " \t/?#@[]") && s->port != 0);
	check(s->scheme != WICE_ICE_STUN || s->transport == WICE_ICE_TRANSPORT_UDP);
}

static void check_settings(const struct wice_iface_settings *s)
{
	check(s->n_ice_servers <= WICE_CONFIG_MAX_URLS && s->ice_servers);
	for (size_t i = 0; i < s->n_ice_servers; i++)
		check_server(&s->ice_servers[i]);
	check(s->candidate_types != 0 && (s->candidate_types & ~(unsigned)WICE_CAND_ALL) == 0);
	check(s->port_min <= s->port_max && (s->port_min == 0) == (s->port_max == 0));
	check(s->proxy_mode <= WICE_PROXY_USER && s->liveness <= WICE_LIVENESS_CONSENT);
	check(s->turn_credential_lifetime >= WICE_TURN_CREDENTIAL_LIFETIME_MIN &&
	      s->turn_credential_lifetime <= WICE_TURN_CREDENTIAL_LIFETIME_MAX);
	check(s->n_advertise <= WICE_CONFIG_MAX_ADVERTISE);
	for (size_t i = 0; i < s->n_advertise; i++) {
		const struct wice_advertised *a = &s->advertise[i];

		check(a->family == AF_INET || a->family == AF_INET6);
		check(!a->port || (s->port_min && s->port_min == s->port_max));
	}
}

static void check_config(const struct wice_config *cfg)
{
	size_t n = 0;

	while (cfg->signaling_urls[n])
		n++;
	check(n >= 1 && n <= WICE_CONFIG_MAX_URLS);
	check(cfg->interfaces && cfg->interfaces_exclude);
	for (size_t i = 0; cfg->interfaces[i]; i++)
		check(wg_ifname_valid(cfg->interfaces[i]));
	check_settings(&cfg->defaults);
	check(cfg->n_ifaces <= WICE_CONFIG_MAX_IFACES);
	for (size_t i = 0; i < cfg->n_ifaces; i++) {
		check(wg_ifname_valid(cfg->ifaces[i].name));
		check(wice_config_iface(cfg, cfg->ifaces[i].name) == &cfg->ifaces[i].settings);
		check_settings(&cfg->ifaces[i].settings);
	}
	check(!cfg->control_group || cfg->control_gid == getgrnam(cfg->control_group)->gr_gid);
	check(!cfg->admin_group || cfg->admin_gid == getgrnam(cfg->admin_group)->gr_gid);
	check(!wice_config_exposes_secrets(cfg, 0600));
	(void)wice_config_wants_nft(cfg);
	(void)wice_config_manages(cfg, "wg0");
}

static void fuzz_config(const uint8_t *data, size_t size)
{
	g_autoptr(GError) error = NULL;
	struct wice_config *cfg = wice_config_parse("fuzz.conf", (const char *)data, size, &error);

	check((cfg == NULL) == (error != NULL));
	if (!cfg) {
		check(error->message && *error->message);
		return;
	}
	check_config(cfg);
	wice_config_free(cfg);
}

static char *spell(const struct wice_ice_server *s)
{
	static const char *const schemes[] = { "stun", "turn", "turns" };
	bool v6 = strchr(s->host, ':') != NULL;

	return g_strdup_printf("%s:%s%s%s:%u%s", schemes[s->scheme], v6 ? "[" : "", s->host, v6 ? "]" : "", s->port,
			       s->scheme == WICE_ICE_STUN			? ""
			       : s->transport == WICE_ICE_TRANSPORT_TCP ? "?transport=tcp"
									: "?transport=udp");
}

static void fuzz_uri(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	g_autofree char *uri = g_strndup((const char *)data, nl ? (size_t)(nl - data) : size);
	g_autoptr(GError) error = NULL;
	struct wice_ice_server s, again;
	g_autofree char *canonical = NULL;

	if (!wice_ice_server_parse(uri, &s, &error)) {
		check(error && error->message && *error->message);
		return;
	}
	check_server(&s);
	canonical = spell(&s);
	check(wice_ice_server_parse(canonical, &again, NULL));
	check(again.scheme == s.scheme && again.transport == s.transport && again.port == s.port &&
	      strcmp(again.host, s.host) == 0);
	g_free(again.host);
	g_free(s.host);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_config(data, size);
	fuzz_uri(data, size);
	return 0;
}

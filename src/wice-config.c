/* Parsing and validation of wice.conf.
 *
 * GLib's key file parser does the syntax; this file checks every value and
 * says where a bad one is.  GKeyFile does not keep line numbers, so an
 * error looks the key up in the text to quote its line. */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "wice-config.h"

#define WICE_CONFIG_ERROR (g_quark_from_static_string("wice-config-error"))

struct parse_ctx {
	const char *path;
	const char *text;
	size_t len;
	GKeyFile *kf;
};

/* The 1-based line of "key" (at the start of a line, after whitespace) in
 * [group], or 0 when not found. */
static unsigned line_of(const struct parse_ctx *c, const char *group, const char *key)
{
	g_auto(GStrv) lines = NULL;
	g_autofree char *text = g_strndup(c->text, c->len);
	g_autofree char *header = g_strdup_printf("[%s]", group);
	bool in_group = false;

	lines = g_strsplit(text, "\n", -1);
	for (unsigned i = 0; lines[i]; i++) {
		const char *l = lines[i] + strspn(lines[i], " \t");
		size_t klen = strlen(key);

		if (*l == '[')
			in_group = g_str_has_prefix(l, header);
		else if (in_group && strncmp(l, key, klen) == 0 && strchr(" \t=", l[klen]))
			return i + 1;
	}
	return 0;
}

static bool bad_value(const struct parse_ctx *c, const char *group, const char *key, const char *value,
		      const char *why, GError **error)
{
	g_set_error(error, WICE_CONFIG_ERROR, EINVAL, "%s:%u: [%s] %s: invalid value '%s': %s", c->path,
		    line_of(c, group, key), group, key, value, why);
	return false;
}

static bool parse_port(const char *text, uint16_t *ret)
{
	char *end;
	unsigned long v;

	if (!g_ascii_isdigit(*text))
		return false;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || *end || v == 0 || v > 65535)
		return false;
	*ret = (uint16_t)v;
	return true;
}

/* "host:port", "[v6]:port" or "host" (then @default_port). */
static bool split_host_port(const char *text, char **ret_host, uint16_t *ret_port, uint16_t default_port)
{
	const char *colon;
	g_autofree char *host = NULL;
	uint16_t port = default_port;

	if (*text == '[') {
		const char *close = strchr(text, ']');

		if (!close || close == text + 1 || (close[1] && (close[1] != ':' || !parse_port(close + 2, &port))))
			return false;
		host = g_strndup(text + 1, (size_t)(close - text - 1));
	} else {
		colon = strchr(text, ':');
		if (colon && (strchr(colon + 1, ':') || !parse_port(colon + 1, &port)))
			return false;
		host = colon ? g_strndup(text, (size_t)(colon - text)) : g_strdup(text);
	}
	if (!*host || strpbrk(host, " \t/?#@"))
		return false;
	*ret_host = g_steal_pointer(&host);
	*ret_port = port;
	return true;
}

static bool parse_ice_query(const char *query, enum wice_ice_transport *ret)
{
	if (!query)
		return true;
	if (strcmp(query, "transport=udp") == 0)
		*ret = WICE_ICE_TRANSPORT_UDP;
	else if (strcmp(query, "transport=tcp") == 0)
		*ret = WICE_ICE_TRANSPORT_TCP;
	else
		return false;
	return true;
}

bool wice_ice_server_parse(const char *uri, struct wice_ice_server *ret, GError **error)
{
	struct wice_ice_server s = { 0 };
	g_autofree char *rest = NULL;
	char *query;
	const char *after;

	if (g_str_has_prefix(uri, "stun:"))
		s.scheme = WICE_ICE_STUN, after = uri + 5;
	else if (g_str_has_prefix(uri, "turn:"))
		s.scheme = WICE_ICE_TURN, after = uri + 5;
	else if (g_str_has_prefix(uri, "turns:"))
		s.scheme = WICE_ICE_TURNS, after = uri + 6;
	else {
		g_set_error(error, WICE_CONFIG_ERROR, EINVAL, "not a stun:, turn: or turns: URI");
		return false;
	}
	s.transport = s.scheme == WICE_ICE_TURNS ? WICE_ICE_TRANSPORT_TCP : WICE_ICE_TRANSPORT_UDP;
	rest = g_strdup(after);
	query = strchr(rest, '?');
	if (query)
		*query++ = '\0';
	if ((query && s.scheme == WICE_ICE_STUN) || !parse_ice_query(query, &s.transport)) {
		g_set_error(error, WICE_CONFIG_ERROR, EINVAL, "bad query (only transport=udp|tcp, and not for stun:)");
		return false;
	}
	if (!split_host_port(rest, &s.host, &s.port, s.scheme == WICE_ICE_TURNS ? 5349 : 3478)) {
		g_set_error(error, WICE_CONFIG_ERROR, EINVAL, "bad host or port");
		return false;
	}
	*ret = s;
	return true;
}

static bool signaling_url_ok(const char *url)
{
	g_autofree char *host = NULL;
	uint16_t port;

	if (strcmp(url, "mcast://") == 0 || g_str_has_prefix(url, "mcast://") )
		return strcmp(url, "mcast://") == 0 ||
		       split_host_port(url + 8, &host, &port, 0); /* mcast://GROUP:PORT */
	if (g_str_has_prefix(url, "http://"))
		url += 7;
	else if (g_str_has_prefix(url, "https://"))
		url += 8;
	else
		return false;
	{
		g_autofree char *hostport = g_strndup(url, strcspn(url, "/"));

		return split_host_port(hostport, &host, &port, 80);
	}
}

/* Lists accept ',' ';' and blanks as separators. */
static char **split_list(const char *value)
{
	g_auto(GStrv) parts = g_strsplit_set(value, ",; \t", -1);
	GPtrArray *out = g_ptr_array_new();

	for (unsigned i = 0; parts[i]; i++)
		if (*parts[i])
			g_ptr_array_add(out, g_strdup(parts[i]));
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
}

static bool parse_signaling(const struct parse_ctx *c, struct wice_config *cfg, GError **error)
{
	g_autofree char *value = g_key_file_get_value(c->kf, "signaling", "urls", NULL);
	g_auto(GStrv) urls = NULL;

	if (!value)
		return true;
	urls = split_list(value);
	if (!urls[0] || g_strv_length(urls) > WICE_CONFIG_MAX_URLS)
		return bad_value(c, "signaling", "urls", value, "need 1 to 16 URLs", error);
	for (unsigned i = 0; urls[i]; i++)
		if (!signaling_url_ok(urls[i]))
			return bad_value(c, "signaling", "urls", urls[i],
					 "expected mcast://, mcast://GROUP:PORT, http://HOST:PORT or https://HOST:PORT",
					 error);
	g_strfreev(cfg->signaling_urls);
	cfg->signaling_urls = g_steal_pointer(&urls);
	return true;
}

static bool parse_ice_urls(const struct parse_ctx *c, struct wice_config *cfg, const char *value, GError **error)
{
	g_auto(GStrv) uris = split_list(value);
	size_t n = g_strv_length(uris);

	if (n > WICE_CONFIG_MAX_URLS)
		return bad_value(c, "ice", "urls", value, "at most 16 URLs", error);
	cfg->ice_servers = g_new0(struct wice_ice_server, n ? n : 1);
	for (size_t i = 0; i < n; i++) {
		g_autoptr(GError) why = NULL;

		if (!wice_ice_server_parse(uris[i], &cfg->ice_servers[i], &why))
			return bad_value(c, "ice", "urls", uris[i], why->message, error);
		cfg->n_ice_servers = i + 1;
	}
	return true;
}

static bool parse_candidate_types(const struct parse_ctx *c, struct wice_config *cfg, const char *value,
				  GError **error)
{
	g_auto(GStrv) types = split_list(value);

	cfg->candidate_types = 0;
	for (unsigned i = 0; types[i]; i++) {
		if (strcmp(types[i], "host") == 0)
			cfg->candidate_types |= WICE_CAND_HOST;
		else if (strcmp(types[i], "srflx") == 0)
			cfg->candidate_types |= WICE_CAND_SRFLX;
		else if (strcmp(types[i], "relay") == 0)
			cfg->candidate_types |= WICE_CAND_RELAY;
		else
			return bad_value(c, "ice", "candidate-types", types[i], "expected host, srflx or relay", error);
	}
	if (!cfg->candidate_types)
		return bad_value(c, "ice", "candidate-types", value, "name at least one type", error);
	return true;
}

static bool parse_port_range(const struct parse_ctx *c, struct wice_config *cfg, const char *value,
			     GError **error)
{
	g_auto(GStrv) ends = g_strsplit(value, "-", 3);

	if (g_strv_length(ends) != 2 || !parse_port(ends[0], &cfg->port_min) || !parse_port(ends[1], &cfg->port_max) ||
	    cfg->port_min > cfg->port_max)
		return bad_value(c, "ice", "port-range", value, "expected MIN-MAX with 1 <= MIN <= MAX <= 65535", error);
	return true;
}

static bool parse_ice(const struct parse_ctx *c, struct wice_config *cfg, GError **error)
{
	g_autofree char *urls = g_key_file_get_value(c->kf, "ice", "urls", NULL);
	g_autofree char *types = g_key_file_get_value(c->kf, "ice", "candidate-types", NULL);
	g_autofree char *range = g_key_file_get_value(c->kf, "ice", "port-range", NULL);
	g_autofree char *exclude = g_key_file_get_value(c->kf, "ice", "interfaces-exclude", NULL);

	if (urls && !parse_ice_urls(c, cfg, urls, error))
		return false;
	if (types && !parse_candidate_types(c, cfg, types, error))
		return false;
	if (range && !parse_port_range(c, cfg, range, error))
		return false;
	if (exclude) {
		g_strfreev(cfg->interfaces_exclude);
		cfg->interfaces_exclude = split_list(exclude);
	}
	cfg->turn_username = g_key_file_get_value(c->kf, "ice", "username", NULL);
	cfg->turn_password = g_key_file_get_value(c->kf, "ice", "password", NULL);
	cfg->turn_secret = g_key_file_get_value(c->kf, "ice", "turn-secret", NULL);
	return true;
}

static bool parse_proxy(const struct parse_ctx *c, struct wice_config *cfg, GError **error)
{
	g_autofree char *mode = g_key_file_get_value(c->kf, "proxy", "mode", NULL);

	if (!mode || strcmp(mode, "auto") == 0)
		cfg->proxy_mode = WICE_PROXY_AUTO;
	else if (strcmp(mode, "nft") == 0)
		cfg->proxy_mode = WICE_PROXY_NFT;
	else if (strcmp(mode, "user") == 0)
		cfg->proxy_mode = WICE_PROXY_USER;
	else
		return bad_value(c, "proxy", "mode", mode, "expected auto, nft or user", error);
	return true;
}

static bool parse_daemon(const struct parse_ctx *c, struct wice_config *cfg, GError **error)
{
	g_autofree char *ifaces = g_key_file_get_value(c->kf, "daemon", "interfaces", NULL);

	if (!ifaces)
		return true;
	g_strfreev(cfg->interfaces);
	cfg->interfaces = split_list(ifaces);
	for (unsigned i = 0; cfg->interfaces[i]; i++)
		if (strlen(cfg->interfaces[i]) >= 16)
			return bad_value(c, "daemon", "interfaces", cfg->interfaces[i], "interface names are < 16 bytes",
					 error);
	return true;
}

/* Every group and key must be one we know: a typo must not silently fall
 * back to a default. */
static bool check_known_keys(const struct parse_ctx *c, GError **error)
{
	static const char *const known[] = {
		"signaling/urls", "ice/urls", "ice/username", "ice/password", "ice/turn-secret",
		"ice/candidate-types", "ice/port-range", "ice/interfaces-exclude", "proxy/mode",
		"daemon/interfaces",
	};
	static const char *const known_groups[] = { "signaling", "ice", "proxy", "daemon", NULL };
	g_auto(GStrv) groups = g_key_file_get_groups(c->kf, NULL);

	for (unsigned g = 0; groups[g]; g++) {
		g_auto(GStrv) keys = g_key_file_get_keys(c->kf, groups[g], NULL, NULL);

		if (!g_strv_contains(known_groups, groups[g])) {
			g_set_error(error, WICE_CONFIG_ERROR, EINVAL, "%s: unknown section '[%s]'", c->path, groups[g]);
			return false;
		}
		for (unsigned k = 0; keys[k]; k++) {
			g_autofree char *full = g_strdup_printf("%s/%s", groups[g], keys[k]);
			bool ok = false;

			for (size_t i = 0; i < G_N_ELEMENTS(known); i++)
				ok = ok || strcmp(full, known[i]) == 0;
			if (!ok)
				return bad_value(c, groups[g], keys[k], keys[k], "unknown key", error);
		}
	}
	return true;
}

struct wice_config *wice_config_new_default(void)
{
	struct wice_config *cfg = g_new0(struct wice_config, 1);

	cfg->signaling_urls = g_strsplit("mcast://", ",", -1);
	cfg->ice_servers = g_new0(struct wice_ice_server, 1);
	cfg->candidate_types = WICE_CAND_ALL;
	cfg->interfaces_exclude = g_new0(char *, 1);
	cfg->interfaces = g_new0(char *, 1);
	cfg->proxy_mode = WICE_PROXY_AUTO;
	return cfg;
}

struct wice_config *wice_config_parse(const char *path, const char *text, size_t len, GError **error)
{
	g_autoptr(wice_config) cfg = wice_config_new_default();
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) syntax = NULL;
	struct parse_ctx c = { .path = path, .text = text, .len = len, .kf = kf };

	if (len > WICE_CONFIG_MAX_SIZE || memchr(text, '\0', len)) {
		g_set_error(error, WICE_CONFIG_ERROR, EINVAL, "%s: not a text file of at most 1 MiB", path);
		return NULL;
	}
	if (!g_key_file_load_from_data(kf, text, len, G_KEY_FILE_NONE, &syntax)) {
		g_set_error(error, WICE_CONFIG_ERROR, EINVAL, "%s: %s", path, syntax->message);
		return NULL;
	}
	g_free(cfg->ice_servers);
	cfg->ice_servers = NULL;
	if (!check_known_keys(&c, error) || !parse_signaling(&c, cfg, error) || !parse_ice(&c, cfg, error) ||
	    !parse_proxy(&c, cfg, error) || !parse_daemon(&c, cfg, error))
		return NULL;
	if (!cfg->ice_servers)
		cfg->ice_servers = g_new0(struct wice_ice_server, 1);
	return g_steal_pointer(&cfg);
}

struct wice_config *wice_config_load(const char *path, GError **error)
{
	g_autofree char *text = NULL;
	g_autoptr(GError) read_error = NULL;
	gsize len = 0;

	if (!g_file_get_contents(path, &text, &len, &read_error)) {
		if (strcmp(path, WICE_CONFIG_DEFAULT_PATH) == 0 &&
		    g_error_matches(read_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return wice_config_new_default();
		g_set_error(error, WICE_CONFIG_ERROR, EIO, "%s", read_error->message);
		return NULL;
	}
	return wice_config_parse(path, text, len, error);
}

void wice_config_free(struct wice_config *cfg)
{
	if (!cfg)
		return;
	g_strfreev(cfg->signaling_urls);
	for (size_t i = 0; i < cfg->n_ice_servers; i++)
		g_free(cfg->ice_servers[i].host);
	g_free(cfg->ice_servers);
	g_free(cfg->turn_username);
	if (cfg->turn_password)
		explicit_bzero(cfg->turn_password, strlen(cfg->turn_password));
	g_free(cfg->turn_password);
	if (cfg->turn_secret)
		explicit_bzero(cfg->turn_secret, strlen(cfg->turn_secret));
	g_free(cfg->turn_secret);
	g_strfreev(cfg->interfaces_exclude);
	g_strfreev(cfg->interfaces);
	g_free(cfg);
}

bool wice_config_manages(const struct wice_config *cfg, const char *ifname)
{
	return !cfg->interfaces[0] || g_strv_contains((const char *const *)cfg->interfaces, ifname);
}

bool wice_config_gather_excluded(const struct wice_config *cfg, const char *netif)
{
	for (unsigned i = 0; cfg->interfaces_exclude[i]; i++)
		if (fnmatch(cfg->interfaces_exclude[i], netif, 0) == 0)
			return true;
	return false;
}

const char *wice_proxy_mode_name(enum wice_proxy_mode mode)
{
	return mode == WICE_PROXY_NFT ? "nft" : mode == WICE_PROXY_USER ? "user" : "auto";
}

/* Parsing and validation of wice.conf.
 *
 * GLib's key file parser does the syntax; this file checks every value and
 * says where a bad one is.  GKeyFile does not keep line numbers, so an
 * error looks the key up in the text to quote its line. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "wice-config.h"
#include "util/read-bounded.h"
#include "mesh/mesh-secret.h"
#include "wg/wg-device.h"

#define WICE_CONFIG_ERROR (g_quark_from_static_string("wice-config-error"))

struct parse_ctx {
	const char *path;
	const char *text;
	size_t len;
	GKeyFile *kf;
};

/* The 1-based line of "key" (at the start of a line, after whitespace) in
 * [group], or of the [group] header when @key is NULL; 0 when not found. */
static unsigned line_of(const struct parse_ctx *c, const char *group, const char *key)
{
	g_auto(GStrv) lines = NULL;
	g_autofree char *text = g_strndup(c->text, c->len);
	g_autofree char *header = g_strdup_printf("[%s]", group);
	bool in_group = false;

	lines = g_strsplit(text, "\n", -1);
	for (unsigned i = 0; lines[i]; i++) {
		const char *l = lines[i] + strspn(lines[i], " \t");
		size_t klen = key ? strlen(key) : 0;

		if (*l == '[')
			in_group = g_str_has_prefix(l, header);
		if (*l == '[' && in_group && !key)
			return i + 1;
		if (*l != '[' && in_group && key && strncmp(l, key, klen) == 0 && strchr(" \t=", l[klen]))
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
	/* A bracket only goes around an IPv6 literal. */
	if (!*host || strpbrk(host, " \t/?#@[]"))
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

/* etcd://HOST[:PORT][,HOST[:PORT]...][/PREFIX]; the backend reads the
 * prefix and says what is wrong with it. */
static bool etcd_url_ok(const char *url)
{
	g_autofree char *hosts = g_strndup(url, strcspn(url, "/"));
	g_auto(GStrv) parts = g_strsplit(hosts, ",", -1);

	for (unsigned i = 0; parts[i]; i++) {
		g_autofree char *host = NULL;
		uint16_t port;

		if (!split_host_port(parts[i], &host, &port, 2379))
			return false;
	}
	return parts[0] != NULL;
}

static bool signaling_url_ok(const char *url)
{
	g_autofree char *host = NULL;
	uint16_t port;

	if (strcmp(url, "mcast://") == 0 || g_str_has_prefix(url, "mcast://") )
		return strcmp(url, "mcast://") == 0 ||
		       split_host_port(url + 8, &host, &port, 0); /* mcast://GROUP:PORT */
	if (g_str_has_prefix(url, "etcd://") || g_str_has_prefix(url, "etcds://"))
		return etcd_url_ok(url + (url[4] == 's' ? 8 : 7));
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

/* An etcd URL whose list of hosts may go on: no prefix yet. */
static bool etcd_url_open(const char *url)
{
	const char *hosts = g_str_has_prefix(url, "etcd://") ? url + 7 : g_str_has_prefix(url, "etcds://") ? url + 8 : NULL;

	return hosts && !strchr(hosts, '/');
}

/* An etcd URL lists its hosts with commas, which also separate URLs: a
 * piece without a scheme after an etcd URL is one of its hosts. */
static char **split_urls(const char *value)
{
	g_auto(GStrv) parts = split_list(value);
	GPtrArray *out = g_ptr_array_new();

	for (unsigned i = 0; parts[i]; i++) {
		char **last = out->len ? (char **)&out->pdata[out->len - 1] : NULL;

		if (last && !strstr(parts[i], "://") && etcd_url_open(*last)) {
			char *joined = g_strconcat(*last, ",", parts[i], NULL);

			g_free(*last);
			*last = joined;
		} else {
			g_ptr_array_add(out, g_strdup(parts[i]));
		}
	}
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
}

/* The TLS files of etcds:// URLs: absolute paths, the key with the
 * certificate. */
static bool parse_signaling_tls(const struct parse_ctx *c, struct wice_config *cfg, GError **error)
{
	static const char *const keys[] = { "etcd-cacert", "etcd-cert", "etcd-key" };
	char **fields[] = { &cfg->signaling_tls_ca, &cfg->signaling_tls_cert, &cfg->signaling_tls_key };

	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
		g_autofree char *value = g_key_file_get_value(c->kf, "signaling", keys[i], NULL);

		if (value && !g_path_is_absolute(value))
			return bad_value(c, "signaling", keys[i], value, "not an absolute path", error);
		g_free(*fields[i]);
		*fields[i] = g_steal_pointer(&value);
	}
	if (!cfg->signaling_tls_cert != !cfg->signaling_tls_key)
		return bad_value(c, "signaling", cfg->signaling_tls_cert ? "etcd-cert" : "etcd-key",
				 cfg->signaling_tls_cert ? cfg->signaling_tls_cert : cfg->signaling_tls_key,
				 "etcd-cert and etcd-key go together", error);
	return true;
}

static bool parse_signaling(const struct parse_ctx *c, struct wice_config *cfg, GError **error)
{
	g_autofree char *value = g_key_file_get_value(c->kf, "signaling", "urls", NULL);
	g_auto(GStrv) urls = NULL;

	if (!parse_signaling_tls(c, cfg, error))
		return false;
	if (!value)
		return true;
	urls = split_urls(value);
	if (!urls[0] || g_strv_length(urls) > WICE_CONFIG_MAX_URLS)
		return bad_value(c, "signaling", "urls", value, "need 1 to 16 URLs", error);
	for (unsigned i = 0; urls[i]; i++)
		if (!signaling_url_ok(urls[i]))
			return bad_value(c, "signaling", "urls", urls[i],
					 "expected mcast://, mcast://GROUP:PORT, http://HOST:PORT, https://HOST:PORT "
					 "or etcd[s]://HOST:PORT[,HOST:PORT...][/PREFIX]",
					 error);
	g_strfreev(cfg->signaling_urls);
	cfg->signaling_urls = g_steal_pointer(&urls);
	return true;
}

/* --- the settings an [interface] section may override ------------------------ */

/* Where a value sits, for error messages. */
struct key_ref {
	const struct parse_ctx *c;
	const char *group;
	const char *key;
};

static bool bad_setting(const struct key_ref *k, const char *value, const char *why, GError **error)
{
	return bad_value(k->c, k->group, k->key, value, why, error);
}

static void free_servers(struct wice_iface_settings *s)
{
	for (size_t i = 0; i < s->n_ice_servers; i++)
		g_free(s->ice_servers[i].host);
	g_free(s->ice_servers);
	s->ice_servers = NULL;
	s->n_ice_servers = 0;
}

static void free_secret(char **secret)
{
	if (*secret)
		explicit_bzero(*secret, strlen(*secret));
	g_clear_pointer(secret, g_free);
}

static void settings_clear(struct wice_iface_settings *s)
{
	free_servers(s);
	g_clear_pointer(&s->turn_username, g_free);
	free_secret(&s->turn_password);
	free_secret(&s->turn_secret);
	g_clear_pointer(&s->trust, g_free);
	s->n_trust = 0;
}

static void settings_copy(struct wice_iface_settings *dst, const struct wice_iface_settings *src)
{
	*dst = *src;
	dst->ice_servers = g_new0(struct wice_ice_server, MAX(src->n_ice_servers, 1));
	for (size_t i = 0; i < src->n_ice_servers; i++) {
		dst->ice_servers[i] = src->ice_servers[i];
		dst->ice_servers[i].host = g_strdup(src->ice_servers[i].host);
	}
	dst->turn_username = g_strdup(src->turn_username);
	dst->turn_password = g_strdup(src->turn_password);
	dst->turn_secret = g_strdup(src->turn_secret);
	dst->trust = src->n_trust ? g_memdup2(src->trust, src->n_trust * sizeof(*src->trust)) : NULL;
}

static bool parse_ice_urls(const struct key_ref *k, const char *value, struct wice_iface_settings *s,
			   GError **error)
{
	g_auto(GStrv) uris = split_list(value);
	size_t n = g_strv_length(uris);

	if (n > WICE_CONFIG_MAX_URLS)
		return bad_setting(k, value, "at most 16 URLs", error);
	free_servers(s);
	s->ice_servers = g_new0(struct wice_ice_server, n ? n : 1);
	for (size_t i = 0; i < n; i++) {
		g_autoptr(GError) why = NULL;

		if (!wice_ice_server_parse(uris[i], &s->ice_servers[i], &why))
			return bad_setting(k, uris[i], why->message, error);
		s->n_ice_servers = i + 1;
	}
	return true;
}

static bool parse_username(const struct key_ref *k, const char *value, struct wice_iface_settings *s,
			   GError **error)
{
	g_free(s->turn_username);
	s->turn_username = g_strdup(value);
	return true;
}

static bool parse_password(const struct key_ref *k, const char *value, struct wice_iface_settings *s,
			   GError **error)
{
	free_secret(&s->turn_password);
	s->turn_password = g_strdup(value);
	return true;
}

static bool parse_turn_secret(const struct key_ref *k, const char *value, struct wice_iface_settings *s,
			      GError **error)
{
	free_secret(&s->turn_secret);
	s->turn_secret = g_strdup(value);
	return true;
}

static bool parse_candidate_types(const struct key_ref *k, const char *value, struct wice_iface_settings *s,
				  GError **error)
{
	g_auto(GStrv) types = split_list(value);

	s->candidate_types = 0;
	for (unsigned i = 0; types[i]; i++) {
		if (strcmp(types[i], "host") == 0)
			s->candidate_types |= WICE_CAND_HOST;
		else if (strcmp(types[i], "srflx") == 0)
			s->candidate_types |= WICE_CAND_SRFLX;
		else if (strcmp(types[i], "relay") == 0)
			s->candidate_types |= WICE_CAND_RELAY;
		else
			return bad_setting(k, types[i], "expected host, srflx or relay", error);
	}
	if (!s->candidate_types)
		return bad_setting(k, value, "name at least one type", error);
	return true;
}

static bool parse_port_range(const struct key_ref *k, const char *value, struct wice_iface_settings *s,
			     GError **error)
{
	g_auto(GStrv) ends = g_strsplit(value, "-", 3);

	if (g_strv_length(ends) != 2 || !parse_port(ends[0], &s->port_min) || !parse_port(ends[1], &s->port_max) ||
	    s->port_min > s->port_max)
		return bad_setting(k, value, "expected MIN-MAX with 1 <= MIN <= MAX <= 65535", error);
	return true;
}

static bool parse_credential_lifetime(const struct key_ref *k, const char *value, struct wice_iface_settings *s,
				      GError **error)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = g_ascii_isdigit(*value) ? strtoul(value, &end, 10) : 0;
	if (!v || errno || *end || v < WICE_TURN_CREDENTIAL_LIFETIME_MIN || v > WICE_TURN_CREDENTIAL_LIFETIME_MAX)
		return bad_setting(k, value, "expected seconds from 10 to 2592000 (30 days)", error);
	s->turn_credential_lifetime = (unsigned)v;
	return true;
}

/* Addresses a peer can never reach us at. */
static bool advertisable(const struct wice_advertised *a)
{
	static const uint8_t zero[16], loop6[16] = { [15] = 1 };

	if (a->family == AF_INET)
		return a->addr[0] != 0 && a->addr[0] != 127 && a->addr[0] < 224;
	return memcmp(a->addr, zero, 16) != 0 && memcmp(a->addr, loop6, 16) != 0 && a->addr[0] != 0xff;
}

/* "ADDRESS", "ADDRESS:PORT", "IPV6" or "[IPV6]:PORT", a literal address. */
static bool parse_advertised(const char *text, struct wice_advertised *ret)
{
	g_autofree char *host = NULL;
	struct wice_advertised a = { 0 };
	const char *colon = strchr(text, ':');

	if (*text != '[' && colon && strchr(colon + 1, ':'))
		host = g_strdup(text); /* a bare IPv6 address, no port */
	else if (!split_host_port(text, &host, &a.port, 0))
		return false;
	if (inet_pton(AF_INET, host, a.addr) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, host, a.addr) == 1)
		a.family = AF_INET6;
	if (!a.family || !advertisable(&a))
		return false;
	*ret = a;
	return true;
}

static bool parse_advertise(const struct key_ref *k, const char *value, struct wice_iface_settings *s,
			    GError **error)
{
	g_auto(GStrv) items = split_list(value);
	size_t n = g_strv_length(items);

	if (n > WICE_CONFIG_MAX_ADVERTISE)
		return bad_setting(k, value, "at most 8 addresses", error);
	s->n_advertise = 0;
	for (size_t i = 0; i < n; i++) {
		if (!parse_advertised(items[i], &s->advertise[i]))
			return bad_setting(k, items[i],
					   "expected ADDRESS[:PORT] ([ADDRESS]:PORT for IPv6), a literal unicast address",
					   error);
		s->n_advertise = i + 1;
	}
	return true;
}

/* yes (every protocol), no, or a list of pcp, natpmp and upnp. */
static bool parse_port_mapping(const struct key_ref *k, const char *value, struct wice_iface_settings *s,
			       GError **error)
{
	static const char *const names[] = { "pcp", "natpmp", "upnp" };
	g_auto(GStrv) protocols = split_list(value);

	if (strcmp(value, "yes") == 0 || strcmp(value, "no") == 0) {
		s->port_mapping = strcmp(value, "yes") == 0 ? WICE_PORTMAP_ALL : 0;
		return true;
	}
	s->port_mapping = 0;
	for (unsigned i = 0; protocols[i]; i++) {
		unsigned bit = 0;

		for (unsigned j = 0; j < G_N_ELEMENTS(names); j++)
			if (strcmp(protocols[i], names[j]) == 0)
				bit = 1u << j;
		if (!bit)
			return bad_setting(k, protocols[i], "expected yes, no, or a list of pcp, natpmp and upnp", error);
		s->port_mapping |= bit;
	}
	if (!s->port_mapping)
		return bad_setting(k, value, "expected yes, no, or a list of pcp, natpmp and upnp", error);
	return true;
}

static bool parse_relay_path(const struct key_ref *k, const char *value, struct wice_iface_settings *s,
			     GError **error)
{
	if (strcmp(value, "user") == 0)
		s->relay_path = WICE_RELAY_PATH_USER;
	else if (strcmp(value, "bpf") == 0)
		s->relay_path = WICE_RELAY_PATH_BPF;
	else
		return bad_setting(k, value, "expected user or bpf", error);
	return true;
}

static bool parse_proxy_mode(const struct key_ref *k, const char *value, struct wice_iface_settings *s,
			     GError **error)
{
	if (strcmp(value, "auto") == 0)
		s->proxy_mode = WICE_PROXY_AUTO;
	else if (strcmp(value, "nft") == 0)
		s->proxy_mode = WICE_PROXY_NFT;
	else if (strcmp(value, "user") == 0)
		s->proxy_mode = WICE_PROXY_USER;
	else
		return bad_setting(k, value, "expected auto, nft or user", error);
	return true;
}

static bool parse_liveness(const struct key_ref *k, const char *value, struct wice_iface_settings *s,
			   GError **error)
{
	if (strcmp(value, "wireguard") == 0)
		s->liveness = WICE_LIVENESS_WIREGUARD;
	else if (strcmp(value, "consent") == 0)
		s->liveness = WICE_LIVENESS_CONSENT;
	else
		return bad_setting(k, value, "expected wireguard or consent", error);
	return true;
}

static bool parse_yes_no(const struct key_ref *k, const char *value, enum wice_tristate *ret, GError **error)
{
	if (strcmp(value, "yes") == 0 || strcmp(value, "no") == 0) {
		*ret = strcmp(value, "yes") == 0 ? WICE_YES : WICE_NO;
		return true;
	}
	return bad_setting(k, value, "expected yes or no", error);
}

static bool parse_link_addresses(const struct key_ref *k, const char *value, struct wice_iface_settings *s,
				 GError **error)
{
	return parse_yes_no(k, value, &s->link_addresses, error);
}

static bool parse_relay_for_peers(const struct key_ref *k, const char *value, struct wice_iface_settings *s,
				  GError **error)
{
	return parse_yes_no(k, value, &s->relay_for_peers, error);
}

static bool parse_trust(const struct key_ref *k, const char *value, struct wice_iface_settings *s, GError **error)
{
	g_auto(GStrv) keys = split_list(value);
	size_t n = g_strv_length(keys);

	if (n > WICE_CONFIG_MAX_TRUST)
		return bad_setting(k, value, "at most 64 keys", error);
	g_clear_pointer(&s->trust, g_free);
	s->trust = g_malloc0(MAX(n, 1) * sizeof(*s->trust));
	s->n_trust = 0;
	for (size_t i = 0; i < n; i++)
		if (!wg_key_from_base64(s->trust[s->n_trust++], keys[i]))
			return bad_setting(k, keys[i], "expected a WireGuard public key (base64)", error);
	return true;
}

typedef bool (*setting_parser)(const struct key_ref *k, const char *value, struct wice_iface_settings *s,
			       GError **error);

static const struct setting {
	const char *group, *key; /* in the global sections */
	const char *iface_key;   /* in an [interface NAME] section */
	setting_parser parse;
} settings[] = {
	{ "ice", "urls", "ice-urls", parse_ice_urls },
	{ "ice", "username", "ice-username", parse_username },
	{ "ice", "password", "ice-password", parse_password },
	{ "ice", "turn-secret", "ice-turn-secret", parse_turn_secret },
	{ "ice", "turn-credential-lifetime", "ice-turn-credential-lifetime", parse_credential_lifetime },
	{ "ice", "candidate-types", "ice-candidate-types", parse_candidate_types },
	{ "ice", "port-range", "ice-port-range", parse_port_range },
	{ "ice", "advertise", "ice-advertise", parse_advertise },
	{ "ice", "liveness", "ice-liveness", parse_liveness },
	{ "ice", "port-mapping", "ice-port-mapping", parse_port_mapping },
	{ "proxy", "mode", "proxy-mode", parse_proxy_mode },
	{ "proxy", "relay-path", "proxy-relay-path", parse_relay_path },
	/* per interface only */
	{ NULL, NULL, "link-addresses", parse_link_addresses },
	{ NULL, NULL, "relay-for-peers", parse_relay_for_peers },
	{ NULL, NULL, "trust", parse_trust },
};

/* An advertised PORT is where a router forwards to one local port, and
 * only a single-port range makes our ICE socket sit on it (a range or no
 * port-range leaves the port to chance).  Checked once a section's keys
 * are all read, since an [interface] section may change either. */
static bool check_advertise_ports(const struct parse_ctx *c, const char *group, bool global,
				  const struct wice_iface_settings *s, GError **error)
{
	for (size_t i = 0; i < s->n_advertise; i++) {
		struct key_ref k = { c, group, global ? "advertise" : "ice-advertise" };
		char addr[INET6_ADDRSTRLEN], text[INET6_ADDRSTRLEN + 8];
		const struct wice_advertised *a = &s->advertise[i];

		if (!a->port || (s->port_min && s->port_min == s->port_max))
			continue;
		inet_ntop(a->family, a->addr, addr, sizeof(addr));
		g_snprintf(text, sizeof(text), a->family == AF_INET ? "%s:%u" : "[%s]:%u", addr, a->port);
		return bad_setting(&k, text,
				   "an advertised port needs a port-range of one port (the port the router forwards to)",
				   error);
	}
	return true;
}

/* Applies the settings found in @group (a global section when @global,
 * else an [interface] section) to @s. */
static bool parse_settings(const struct parse_ctx *c, const char *group, bool global, struct wice_iface_settings *s,
			   GError **error)
{
	for (size_t i = 0; i < G_N_ELEMENTS(settings); i++) {
		struct key_ref k = { c, global ? settings[i].group : group, global ? settings[i].key : settings[i].iface_key };
		g_autofree char *value = NULL;

		if (global && (!settings[i].group || strcmp(settings[i].group, group) != 0))
			continue;
		value = g_key_file_get_value(c->kf, k.group, k.key, NULL);
		if (value && !settings[i].parse(&k, value, s, error))
			return false;
	}
	return strcmp(group, "proxy") == 0 || check_advertise_ports(c, group, global, s, error);
}

/* --- global sections --------------------------------------------------------- */

static bool parse_ice(const struct parse_ctx *c, struct wice_config *cfg, GError **error)
{
	g_autofree char *exclude = g_key_file_get_value(c->kf, "ice", "interfaces-exclude", NULL);

	if (!parse_settings(c, "ice", true, &cfg->defaults, error))
		return false;
	if (exclude) {
		g_strfreev(cfg->interfaces_exclude);
		cfg->interfaces_exclude = split_list(exclude);
	}
	return true;
}

/* [daemon] user: looked up when the file is read, like the groups, so that
 * a typo fails the load instead of leaving the daemon root. */
static bool parse_user(const struct parse_ctx *c, struct wice_config *cfg, GError **error)
{
	g_autofree char *value = g_key_file_get_value(c->kf, "daemon", "user", NULL);
	struct passwd *pw;

	if (!value)
		return true;
	pw = *value ? getpwnam(value) : NULL;
	if (!pw)
		return bad_value(c, "daemon", "user", value, "no such user", error);
	if (pw->pw_uid == 0)
		return bad_value(c, "daemon", "user", value, "the daemon starts as root; name the user it becomes", error);
	cfg->user_uid = pw->pw_uid;
	cfg->user_gid = pw->pw_gid;
	cfg->user = g_steal_pointer(&value);
	return true;
}

static bool parse_daemon(const struct parse_ctx *c, struct wice_config *cfg, GError **error)
{
	g_autofree char *ifaces = g_key_file_get_value(c->kf, "daemon", "interfaces", NULL);

	if (!parse_user(c, cfg, error))
		return false;
	if (!ifaces)
		return true;
	g_strfreev(cfg->interfaces);
	cfg->interfaces = split_list(ifaces);
	for (unsigned i = 0; cfg->interfaces[i]; i++)
		if (!wg_ifname_valid(cfg->interfaces[i]))
			return bad_value(c, "daemon", "interfaces", cfg->interfaces[i],
					 "interface names are 1 to 15 bytes without blanks, '/' or ':'", error);
	return true;
}

/* Group names are looked up when the file is read (getgrnam: /etc/group or
 * NSS), so that a typo fails the load, not the first request. */
static bool parse_group(const struct parse_ctx *c, const char *key, char **ret_name, gid_t *ret_gid, GError **error)
{
	g_autofree char *value = g_key_file_get_value(c->kf, "control", key, NULL);
	struct group *gr;

	if (!value)
		return true;
	gr = *value ? getgrnam(value) : NULL;
	if (!gr)
		return bad_value(c, "control", key, value, "no such group", error);
	*ret_gid = gr->gr_gid;
	*ret_name = g_steal_pointer(&value);
	return true;
}

static bool parse_control(const struct parse_ctx *c, struct wice_config *cfg, GError **error)
{
	return parse_group(c, "group", &cfg->control_group, &cfg->control_gid, error) &&
	       parse_group(c, "admin-group", &cfg->admin_group, &cfg->admin_gid, error);
}

/* --- [mesh] ------------------------------------------------------------------ */

static char *mesh_value(const struct parse_ctx *c, const char *key)
{
	char *v = g_key_file_get_value(c->kf, "mesh", key, NULL);

	return v ? g_strstrip(v) : NULL;
}

/* The secret is never quoted back: an error message reaches logs. */
static bool parse_mesh_secret(const struct parse_ctx *c, struct wice_mesh_config *m, GError **error)
{
	uint8_t secret[MESH_SECRET_LEN];

	m->secret = mesh_value(c, "secret");
	m->secret_file = mesh_value(c, "secret-file");
	if (!m->secret == !m->secret_file)
		return bad_value(c, "mesh", m->secret ? "secret" : "secret-file", m->secret ? "(hidden)" : "(none)",
				 "set exactly one of secret and secret-file", error);
	if (m->secret_file && !g_path_is_absolute(m->secret_file))
		return bad_value(c, "mesh", "secret-file", m->secret_file, "not an absolute path", error);
	if (m->secret && !mesh_secret_parse(m->secret, strlen(m->secret), secret))
		return bad_value(c, "mesh", "secret", "(hidden)", "not a wice://v1/ secret (make one with `wice mesh init`)",
				 error);
	explicit_bzero(secret, sizeof(secret));
	return true;
}

static bool hostname_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > 63)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!g_ascii_isalnum(name[i]) && !strchr("-._", name[i]))
			return false;
	return true;
}

static bool host_bits_zero(const struct wg_allowed_ip *aip)
{
	const uint8_t *a = aip->family == AF_INET ? (const uint8_t *)&aip->addr.v4 : aip->addr.v6.s6_addr;
	unsigned bits = aip->family == AF_INET ? 32 : 128;

	for (unsigned i = aip->cidr; i < bits; i++)
		if (a[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

static bool parse_mesh_routes(const struct parse_ctx *c, struct wice_mesh_config *m, GError **error)
{
	g_autofree char *value = mesh_value(c, "advertise-routes");
	size_t n;

	m->advertise_routes = value ? split_list(value) : g_new0(char *, 1);
	n = g_strv_length(m->advertise_routes);
	if (n > WICE_MESH_MAX_ROUTES)
		return bad_value(c, "mesh", "advertise-routes", value, "more than 16 routes", error);
	for (size_t i = 0; i < n; i++) {
		struct wg_allowed_ip aip;

		if (!strchr(m->advertise_routes[i], '/') || !wg_allowed_ip_parse(m->advertise_routes[i], &aip))
			return bad_value(c, "mesh", "advertise-routes", m->advertise_routes[i],
					 "expected ADDRESS/LENGTH", error);
		if (!host_bits_zero(&aip))
			return bad_value(c, "mesh", "advertise-routes", m->advertise_routes[i],
					 "the address has bits set past the prefix length", error);
	}
	return true;
}

static bool parse_mesh(const struct parse_ctx *c, struct wice_config *cfg, GError **error)
{
	struct wice_mesh_config *m = &cfg->mesh;
	g_autofree char *ifname = NULL;

	m->enabled = g_key_file_has_group(c->kf, "mesh");
	if (!m->enabled)
		return true;
	ifname = mesh_value(c, "interface");
	if (ifname && !wg_ifname_valid(ifname))
		return bad_value(c, "mesh", "interface", ifname,
				 "interface names are 1 to 15 bytes without blanks, '/' or ':'", error);
	g_strlcpy(m->ifname, ifname ? ifname : WICE_MESH_DEFAULT_IFACE, sizeof(m->ifname));
	m->state_dir = mesh_value(c, "state-dir");
	if (!m->state_dir)
		m->state_dir = g_strdup(WICE_MESH_DEFAULT_STATE_DIR);
	if (!g_path_is_absolute(m->state_dir))
		return bad_value(c, "mesh", "state-dir", m->state_dir, "not an absolute path", error);
	m->hostname = mesh_value(c, "hostname");
	if (m->hostname && !hostname_valid(m->hostname))
		return bad_value(c, "mesh", "hostname", m->hostname,
				 "1 to 63 letters, digits, '-', '.' or '_'", error);
	m->hosts_file = mesh_value(c, "hosts-file");
	if (m->hosts_file && !g_path_is_absolute(m->hosts_file))
		return bad_value(c, "mesh", "hosts-file", m->hosts_file, "not an absolute path", error);
	return parse_mesh_secret(c, m, error) && parse_mesh_routes(c, m, error);
}

static void mesh_config_clear(struct wice_mesh_config *m)
{
	if (m->secret)
		explicit_bzero(m->secret, strlen(m->secret));
	g_free(m->secret);
	g_free(m->secret_file);
	g_free(m->state_dir);
	g_free(m->hostname);
	g_free(m->hosts_file);
	g_strfreev(m->advertise_routes);
}

/* --- [metrics] --------------------------------------------------------------- */

/* A literal address only: the endpoint exposes state, so where it listens
 * must be plain to see (and loopback by intent). */
static bool parse_metrics(const struct parse_ctx *c, struct wice_config *cfg, GError **error)
{
	g_autofree char *value = g_key_file_get_value(c->kf, "metrics", "listen", NULL);
	g_autofree char *host = NULL;
	uint8_t addr[16];

	if (!value)
		return true;
	g_strstrip(value);
	if (!split_host_port(value, &host, &cfg->metrics_port, WICE_METRICS_DEFAULT_PORT) ||
	    (inet_pton(AF_INET, host, addr) != 1 && inet_pton(AF_INET6, host, addr) != 1))
		return bad_value(c, "metrics", "listen", value,
				 "expected ADDRESS[:PORT] with a literal address, e.g. 127.0.0.1:9586", error);
	g_strlcpy(cfg->metrics_host, host, sizeof(cfg->metrics_host));
	return true;
}

/* --- [interface NAME] sections ----------------------------------------------- */

#define IFACE_PREFIX "interface"

static bool is_iface_group(const char *group)
{
	return g_str_has_prefix(group, IFACE_PREFIX) &&
	       (group[strlen(IFACE_PREFIX)] == '\0' || g_ascii_isspace(group[strlen(IFACE_PREFIX)]));
}

static bool bad_section(const struct parse_ctx *c, const char *group, const char *why, GError **error)
{
	g_set_error(error, WICE_CONFIG_ERROR, EINVAL, "%s:%u: invalid section '[%s]': %s", c->path, line_of(c, group, NULL),
		    group, why);
	return false;
}

static bool add_iface_section(const struct parse_ctx *c, struct wice_config *cfg, const char *group, GError **error)
{
	g_autofree char *name = g_strstrip(g_strdup(group + strlen(IFACE_PREFIX)));
	struct wice_iface_config *ic;

	if (!wg_ifname_valid(name))
		return bad_section(c, group, "expected [interface NAME], NAME 1 to 15 bytes without blanks, '/' or ':'",
				   error);
	if (wice_config_iface(cfg, name) != &cfg->defaults)
		return bad_section(c, group, "a second section for this interface", error);
	if (cfg->n_ifaces >= WICE_CONFIG_MAX_IFACES)
		return bad_section(c, group, "more than 256 interface sections", error);
	cfg->ifaces = g_renew(struct wice_iface_config, cfg->ifaces, cfg->n_ifaces + 1);
	ic = &cfg->ifaces[cfg->n_ifaces++];
	g_strlcpy(ic->name, name, sizeof(ic->name));
	settings_copy(&ic->settings, &cfg->defaults);
	return parse_settings(c, group, false, &ic->settings, error);
}

static bool parse_iface_sections(const struct parse_ctx *c, struct wice_config *cfg, GError **error)
{
	g_auto(GStrv) groups = g_key_file_get_groups(c->kf, NULL);

	for (unsigned g = 0; groups[g]; g++)
		if (is_iface_group(groups[g]) && !add_iface_section(c, cfg, groups[g], error))
			return false;
	return true;
}

/* --- the whole file ---------------------------------------------------------- */

static bool key_known(const char *group, const char *key)
{
	static const char *const others[] = {
		"signaling/urls", "signaling/etcd-cacert", "signaling/etcd-cert", "signaling/etcd-key",
		"ice/interfaces-exclude", "daemon/interfaces", "daemon/user", "control/group",
		"control/admin-group", "mesh/secret", "mesh/secret-file", "mesh/interface", "mesh/state-dir",
		"mesh/hostname", "mesh/hosts-file", "mesh/advertise-routes", "metrics/listen",
	};
	g_autofree char *full = g_strdup_printf("%s/%s", group, key);

	for (size_t i = 0; i < G_N_ELEMENTS(settings); i++)
		if (is_iface_group(group) ? strcmp(key, settings[i].iface_key) == 0
					  : settings[i].group && strcmp(group, settings[i].group) == 0 &&
						    strcmp(key, settings[i].key) == 0)
			return true;
	for (size_t i = 0; i < G_N_ELEMENTS(others); i++)
		if (strcmp(full, others[i]) == 0)
			return true;
	return false;
}

/* Every group and key must be one we know: a typo must not silently fall
 * back to a default. */
static bool check_known_keys(const struct parse_ctx *c, GError **error)
{
	static const char *const known_groups[] = { "signaling", "ice", "proxy", "daemon", "control", "mesh", "metrics", NULL };
	g_auto(GStrv) groups = g_key_file_get_groups(c->kf, NULL);

	for (unsigned g = 0; groups[g]; g++) {
		g_auto(GStrv) keys = g_key_file_get_keys(c->kf, groups[g], NULL, NULL);

		if (!g_strv_contains(known_groups, groups[g]) && !is_iface_group(groups[g])) {
			g_set_error(error, WICE_CONFIG_ERROR, EINVAL, "%s:%u: unknown section '[%s]'", c->path,
				    line_of(c, groups[g], NULL), groups[g]);
			return false;
		}
		for (unsigned k = 0; keys[k]; k++)
			if (!key_known(groups[g], keys[k]))
				return bad_value(c, groups[g], keys[k], keys[k], "unknown key", error);
	}
	return true;
}

static struct wice_config *wice_config_new_default(void)
{
	struct wice_config *cfg = g_new0(struct wice_config, 1);

	cfg->signaling_urls = g_strsplit("mcast://", ",", -1);
	cfg->defaults.ice_servers = g_new0(struct wice_ice_server, 1);
	cfg->defaults.candidate_types = WICE_CAND_ALL;
	cfg->defaults.turn_credential_lifetime = WICE_TURN_CREDENTIAL_LIFETIME_DEFAULT;
	cfg->defaults.port_mapping = WICE_PORTMAP_ALL;
	cfg->defaults.proxy_mode = WICE_PROXY_AUTO;
	cfg->interfaces_exclude = g_new0(char *, 1);
	cfg->interfaces = g_new0(char *, 1);
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
	/* Global sections first: interface sections start from their values. */
	if (!check_known_keys(&c, error) || !parse_signaling(&c, cfg, error) || !parse_ice(&c, cfg, error) ||
	    !parse_settings(&c, "proxy", true, &cfg->defaults, error) || !parse_daemon(&c, cfg, error) ||
	    !parse_control(&c, cfg, error) || !parse_mesh(&c, cfg, error) || !parse_metrics(&c, cfg, error) ||
	    !parse_iface_sections(&c, cfg, error))
		return NULL;
	return g_steal_pointer(&cfg);
}

static bool has_secret(const struct wice_iface_settings *s)
{
	return (s->turn_password && *s->turn_password) || (s->turn_secret && *s->turn_secret);
}

bool wice_config_exposes_secrets(const struct wice_config *cfg, mode_t mode)
{
	bool secret = has_secret(&cfg->defaults);

	for (size_t i = 0; i < cfg->n_ifaces && !secret; i++)
		secret = has_secret(&cfg->ifaces[i].settings);
	secret = secret || cfg->mesh.secret;
	return secret && (mode & (S_IRGRP | S_IROTH | S_IWGRP | S_IWOTH));
}

/* A TURN password or REST secret in a file others can read lets them use
 * the relay as us: say so, as ssh does for keys (but go on, since the
 * daemon that refused would leave its peers without a path). */
static void warn_if_exposed(const char *path, mode_t mode, const struct wice_config *cfg)
{
	if (wice_config_exposes_secrets(cfg, mode))
		g_warning("%s holds TURN credentials or a mesh secret but group or others may access it (mode %04o): chmod 600 %s",
			  path, (unsigned)(mode & 07777), path);
}

struct wice_config *wice_config_load(const char *path, GError **error)
{
	g_autofree char *text = NULL;
	g_autoptr(GError) read_error = NULL;
	struct wice_config *cfg;
	struct stat st;
	gsize len = 0;

	if (!g_file_get_contents(path, &text, &len, &read_error)) {
		if (strcmp(path, WICE_CONFIG_DEFAULT_PATH) == 0 &&
		    g_error_matches(read_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return wice_config_new_default();
		g_set_error(error, WICE_CONFIG_ERROR, EIO, "%s", read_error->message);
		return NULL;
	}
	cfg = wice_config_parse(path, text, len, error);
	if (cfg && stat(path, &st) == 0)
		warn_if_exposed(path, st.st_mode, cfg);
	explicit_bzero(text, len);
	return cfg;
}

static void set_read_error(GError **error, const char *path, int err)
{
	if (err == EFBIG)
		g_set_error(error, WICE_CONFIG_ERROR, EFBIG, "%s: larger than %u bytes", path, WICE_CONFIG_MAX_SIZE);
	else
		g_set_error(error, WICE_CONFIG_ERROR, EIO, "%s: %s", path, g_strerror(err));
}

struct wice_config *wice_config_load_fd(const char *path, int fd, GError **error)
{
	g_autofree char *text = g_malloc(WICE_CONFIG_MAX_SIZE + 1);
	struct wice_config *cfg = NULL;
	struct stat st;
	size_t len = 0;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		g_set_error(error, WICE_CONFIG_ERROR, EIO, "%s: not a regular file", path);
	else if (!read_bounded(fd, text, WICE_CONFIG_MAX_SIZE + 1, &len))
		set_read_error(error, path, errno);
	else if ((cfg = wice_config_parse(path, text, len, error)))
		warn_if_exposed(path, st.st_mode, cfg);
	explicit_bzero(text, len);
	close(fd);
	return cfg;
}

void wice_config_free(struct wice_config *cfg)
{
	if (!cfg)
		return;
	g_strfreev(cfg->signaling_urls);
	g_free(cfg->signaling_tls_ca);
	g_free(cfg->signaling_tls_cert);
	g_free(cfg->signaling_tls_key);
	settings_clear(&cfg->defaults);
	for (size_t i = 0; i < cfg->n_ifaces; i++)
		settings_clear(&cfg->ifaces[i].settings);
	g_free(cfg->ifaces);
	g_strfreev(cfg->interfaces_exclude);
	g_strfreev(cfg->interfaces);
	g_free(cfg->user);
	g_free(cfg->control_group);
	g_free(cfg->admin_group);
	mesh_config_clear(&cfg->mesh);
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

const struct wice_iface_settings *wice_config_iface(const struct wice_config *cfg, const char *ifname)
{
	for (size_t i = 0; ifname && i < cfg->n_ifaces; i++)
		if (strcmp(cfg->ifaces[i].name, ifname) == 0)
			return &cfg->ifaces[i].settings;
	return &cfg->defaults;
}

bool wice_config_wants_bpf(const struct wice_config *cfg)
{
	if (cfg->defaults.relay_path == WICE_RELAY_PATH_BPF)
		return true;
	for (size_t i = 0; i < cfg->n_ifaces; i++)
		if (cfg->ifaces[i].settings.relay_path == WICE_RELAY_PATH_BPF)
			return true;
	return false;
}

bool wice_config_wants_nft(const struct wice_config *cfg)
{
	bool wants = cfg->defaults.proxy_mode != WICE_PROXY_USER;

	for (size_t i = 0; i < cfg->n_ifaces; i++)
		wants = wants || cfg->ifaces[i].settings.proxy_mode != WICE_PROXY_USER;
	return wants;
}

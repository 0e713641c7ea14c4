/* The daemon's configuration: /etc/wice/wice.conf, a GLib key file.
 *
 * Parsing is pure (text in, struct out) so that unit tests can feed it any
 * file; every bad value is reported with the file, the line and the value
 * quoted.  Defaults make an empty file a working configuration: LAN
 * multicast signaling, host candidates, proxy mode auto. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define WICE_CONFIG_DEFAULT_PATH "/etc/wice/wice.conf"
#define WICE_CONFIG_MAX_SIZE (1u << 20)
#define WICE_CONFIG_MAX_URLS 16

enum wice_ice_scheme {
	WICE_ICE_STUN,
	WICE_ICE_TURN,
	WICE_ICE_TURNS,
};

enum wice_ice_transport {
	WICE_ICE_TRANSPORT_UDP,
	WICE_ICE_TRANSPORT_TCP,
};

/* One [ice] urls= entry, RFC 7064 / RFC 7065. */
struct wice_ice_server {
	enum wice_ice_scheme scheme;
	enum wice_ice_transport transport;
	char *host; /* a name or a literal address, resolved later */
	uint16_t port;
};

enum wice_candidate_types {
	WICE_CAND_HOST = 1u << 0,
	WICE_CAND_SRFLX = 1u << 1,
	WICE_CAND_RELAY = 1u << 2,
	WICE_CAND_ALL = 7,
};

enum wice_proxy_mode {
	WICE_PROXY_AUTO,
	WICE_PROXY_NFT,
	WICE_PROXY_USER,
};

struct wice_config {
	char **signaling_urls;                /* NULL-terminated */
	struct wice_ice_server *ice_servers;
	size_t n_ice_servers;
	char *turn_username;
	char *turn_password;
	char *turn_secret; /* coturn's REST API shared secret */
	unsigned candidate_types;
	uint16_t port_min, port_max; /* 0, 0: any */
	char **interfaces_exclude;   /* no gathering on these netifs (globs) */
	char **interfaces;           /* manage only these WireGuard ifs (empty: all) */
	enum wice_proxy_mode proxy_mode;
};

/* Parses @text (the content of @path, which is only used in messages). */
struct wice_config *wice_config_parse(const char *path, const char *text, size_t len, GError **error);
/* Reads and parses @path; a missing file at the default path means defaults. */
struct wice_config *wice_config_load(const char *path, GError **error);
struct wice_config *wice_config_new_default(void);
void wice_config_free(struct wice_config *cfg);
typedef struct wice_config wice_config;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(wice_config, wice_config_free)

/* Parses one ICE URI ("stun:host:port", "turn:[v6]:3478?transport=tcp"). */
bool wice_ice_server_parse(const char *uri, struct wice_ice_server *ret, GError **error);
/* Whether the daemon manages this WireGuard interface ([daemon] interfaces). */
bool wice_config_manages(const struct wice_config *cfg, const char *ifname);
/* Whether candidates must not be gathered on this network interface
 * ([ice] interfaces-exclude, glob patterns). */
bool wice_config_gather_excluded(const struct wice_config *cfg, const char *netif);
const char *wice_proxy_mode_name(enum wice_proxy_mode mode);

/* The daemon's configuration: /etc/wice/wice.conf, a GLib key file.
 *
 * Parsing is pure (text in, struct out) so that unit tests can feed it any
 * file; every bad value is reported with the file, the line and the value
 * quoted.  Defaults make an empty file a working configuration: LAN
 * multicast signaling, host candidates, proxy mode auto.
 *
 * Global sections: [signaling] [ice] [proxy] [daemon] [control] [mesh].  An
 * [interface NAME] section overrides the [ice] and [proxy] keys for one
 * WireGuard interface, under the names ice-urls, ice-username,
 * ice-password, ice-turn-secret, ice-turn-credential-lifetime,
 * ice-candidate-types, ice-port-range, ice-advertise, ice-port-mapping and
 * proxy-mode; what it does not set comes from the global sections. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

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
	char *host; /* a name or a literal address */
	uint16_t port;
	char address[64]; /* @host as a literal address; filled in by the daemon */
	uint16_t local_port; /* turns: the loopback port of its TLS proxy (turns-proxy.h); 0: none */
};

enum wice_candidate_types {
	WICE_CAND_HOST = 1u << 0,
	WICE_CAND_SRFLX = 1u << 1,
	WICE_CAND_RELAY = 1u << 2,
	WICE_CAND_ALL = 7,
};

/* [ice] port-mapping: the protocols that may ask the router in front of
 * us for a port mapping (src/daemon/portmap.h uses the same bits). */
enum wice_port_mapping {
	WICE_PORTMAP_PCP = 1u << 0,
	WICE_PORTMAP_NATPMP = 1u << 1,
	WICE_PORTMAP_UPNP = 1u << 2,
	WICE_PORTMAP_ALL = 7,
};

/* What carries a relay pair: the in-process proxy, or the eBPF path
 * (src/daemon/peer-bpf.c) where it loads. */
enum wice_relay_path {
	WICE_RELAY_PATH_USER,
	WICE_RELAY_PATH_BPF,
};

enum wice_proxy_mode {
	WICE_PROXY_AUTO,
	WICE_PROXY_NFT,
	WICE_PROXY_USER,
};

/* How a connected path is found dead: by WireGuard going unanswered
 * (no traffic while idle), or by RFC 7675 consent checks as well. */
enum wice_liveness {
	WICE_LIVENESS_WIREGUARD,
	WICE_LIVENESS_CONSENT,
};

enum wice_tristate {
	WICE_DEFAULT = 0,
	WICE_NO,
	WICE_YES,
};

#define WICE_CONFIG_MAX_ADVERTISE 8
/* Lifetime of credentials derived from turn-secret, in seconds. */
#define WICE_TURN_CREDENTIAL_LIFETIME_DEFAULT (24 * 3600)
#define WICE_TURN_CREDENTIAL_LIFETIME_MIN 10
#define WICE_TURN_CREDENTIAL_LIFETIME_MAX (30 * 24 * 3600)

/* One [ice] advertise entry: an address of this host that a port forward
 * or a 1:1 NAT gives it (src/daemon/peer-advertise.c). */
struct wice_advertised {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network order, 4 or 16 bytes */
	uint16_t port;    /* 0: the port of the host candidate it stands for */
};

/* What shapes the sessions of one interface: the [ice] and [proxy] keys,
 * which an [interface NAME] section may override (as ice-urls, ...,
 * proxy-mode). */
struct wice_iface_settings {
	struct wice_ice_server *ice_servers;
	size_t n_ice_servers;
	char *turn_username;
	char *turn_password;
	char *turn_secret; /* coturn's REST API shared secret */
	unsigned turn_credential_lifetime; /* seconds, for turn_secret */
	unsigned candidate_types;
	uint16_t port_min, port_max; /* 0, 0: any */
	struct wice_advertised advertise[WICE_CONFIG_MAX_ADVERTISE];
	size_t n_advertise;
	unsigned port_mapping;       /* enum wice_port_mapping; 0: none */
	enum wice_proxy_mode proxy_mode;
	enum wice_relay_path relay_path; /* [proxy] relay-path */
	enum wice_liveness liveness;
	/* [interface NAME] link-addresses: addresses bound to the keys
	 * (wg/wg-keyaddr.h); by default on for a mesh interface only */
	enum wice_tristate link_addresses;
	/* [interface NAME] relay-for-peers: forward between peers that have
	 * no direct path (issue 13); by default on for a mesh interface only */
	enum wice_tristate relay_for_peers;
	/* [interface NAME] trust: peers believed about anyone (facts.c) */
	uint8_t (*trust)[32];
	size_t n_trust;
};
#define WICE_CONFIG_MAX_TRUST 64

/* An [interface NAME] section: the global settings with its overrides
 * applied. */
struct wice_iface_config {
	char name[16];
	struct wice_iface_settings settings;
};

#define WICE_CONFIG_MAX_IFACES 256
#define WICE_MESH_DEFAULT_IFACE "wgmesh0"
#define WICE_MESH_DEFAULT_STATE_DIR "/var/lib/wice"
#define WICE_MESH_MAX_ROUTES 16

/* [mesh]: an interface that wice creates and fills with the members of
 * the mesh named by a secret (src/daemon/mesh.c). */
struct wice_mesh_config {
	bool enabled;            /* the file has a [mesh] section */
	char *secret;            /* secret = wice://v1/... (wiped when freed) */
	char *secret_file;       /* or secret-file = PATH */
	char ifname[16];
	char *state_dir;
	char *hostname;          /* NULL: the host's name */
	char *hosts_file;        /* NULL: none */
	char **advertise_routes; /* NULL-terminated "ADDRESS/LEN", host bits zero */
};

struct wice_config {
	char **signaling_urls;                /* NULL-terminated */
	char *signaling_tls_ca;               /* [signaling] etcd-cacert; NULL: the system's */
	char *signaling_tls_cert;             /* etcd-cert, etcd-key: a client certificate */
	char *signaling_tls_key;
	struct wice_iface_settings defaults;  /* [ice], [proxy] */
	struct wice_iface_config *ifaces;     /* [interface NAME] */
	size_t n_ifaces;
	char **interfaces_exclude;   /* no gathering on these netifs (globs) */
	char **interfaces;           /* manage only these WireGuard ifs (empty: all) */
	char *user;                  /* [daemon] user; NULL: stay root */
	uid_t user_uid;
	gid_t user_gid;              /* the user's primary group */
	char *control_group;         /* [control] group; NULL: the daemon's group */
	gid_t control_gid;
	char *admin_group;           /* [control] admin-group; NULL: none */
	gid_t admin_gid;
	struct wice_mesh_config mesh;
	/* [metrics] listen: Prometheus text on this literal address (port
	 * 0: none) */
	char metrics_host[64];
	uint16_t metrics_port;
};
#define WICE_METRICS_DEFAULT_PORT 9586

/* Parses @text (the content of @path, which is only used in messages). */
struct wice_config *wice_config_parse(const char *path, const char *text, size_t len, GError **error);
/* Reads and parses @path; a missing file at the default path means defaults. */
struct wice_config *wice_config_load(const char *path, GError **error);
/* Reads and parses the file open on @fd (named @path in messages), at
 * most WICE_CONFIG_MAX_SIZE bytes; closes @fd.  A daemon that is no
 * longer root reloads so, through src/daemon/priv-broker.h. */
struct wice_config *wice_config_load_fd(const char *path, int fd, GError **error);
/* Whether @cfg holds a TURN password or secret and a file of @mode lets
 * group or others at it (wice_config_load warns then). */
bool wice_config_exposes_secrets(const struct wice_config *cfg, mode_t mode);
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
/* The settings for WireGuard interface @ifname: its [interface] section's,
 * else the global ones.  Every per-interface lookup goes through here. */
const struct wice_iface_settings *wice_config_iface(const struct wice_config *cfg, const char *ifname);
/* Whether any interface asks for the eBPF relay path. */
bool wice_config_wants_bpf(const struct wice_config *cfg);
/* Whether any interface may use the nftables path (proxy mode not user). */
bool wice_config_wants_nft(const struct wice_config *cfg);

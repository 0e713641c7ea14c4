/* The wice daemon: one daemon, many WireGuard interfaces, many peers per
 * interface.
 *
 * Ownership: the daemon owns interfaces (iface.c), an interface owns its
 * peers (peer.c), a peer owns its ICE agent and data path.  Signaling
 * backends and the nftables table belong to the daemon and are shared;
 * interfaces and peers reach them only through the host table the daemon
 * gives each interface (iface.h), never by calling daemon_* by name. */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "iface.h"
#include "local-addresses.h"
#include "metrics.h"

struct config_resolve;
struct control_call;
struct control_request;
struct nat_watch;
struct wice_pinger;
struct turns_proxies;
struct nft_proxy;
struct wg_watch;
struct wice_control;

struct wice_daemon {
	struct wice_config *config;
	char *config_path;
	char **only_ifaces; /* from the command line; empty: all */
	GMainLoop *loop;
	struct wg_watch *watch;
	GHashTable *ifaces; /* name -> struct wice_iface */
	GPtrArray *backends; /* struct sig_backend * */
	struct nft_proxy *nft; /* NULL when nftables is unusable */
	struct wice_mesh *mesh; /* [mesh]; NULL: none */
	GSource *mesh_leaving;  /* `wice mesh leave`: the goodbye drains */
	GSource *heap_trim;     /* heap-trim.h */
	struct local_addresses_cache local_addrs;
	struct wice_metrics *metrics; /* [metrics] listen; NULL: none */
	struct turns_proxies *turns;  /* TLS for turns: servers */
	struct portmap *portmap;      /* mappings on the router in front of us */
	struct nat_watch *nat;        /* our own view of that NAT, for `wice show` */
	struct wice_pinger *pinger;   /* `wice ping` (raw sockets opened at start) */
	struct wice_counters counters;
	char *nft_table;
	/* ICE server lookups of config (at start) or of pending_config (a
	 * reload), which replaces config once they are done */
	struct config_resolve *resolving;
	struct wice_config *pending_config;
	struct server_names *names; /* config's names looked up again */
	GCancellable *cancel;
	struct wice_control *control;
	char *socket_path;
	char *user; /* [daemon] user= it became at start; NULL: root */
	GSource *signal_sources[3];
	GHashTable *wg_names; /* every WireGuard interface here, managed or not */
	/* `wice add` and `wice delete` outrank the configuration */
	GHashTable *operator_added, *operator_removed;
	GNetworkMonitor *netmon;
	gulong netmon_handler;
	int exit_status;
};

/* daemon.c */
struct wice_daemon *daemon_new(struct wice_config *config, const char *config_path, char **only_ifaces,
			       const char *socket_path, GError **error);
int daemon_run(struct wice_daemon *d);
/* Leaves no trace: goodbyes sent, endpoints restored, nftables table and
 * control socket removed.  Accepts NULL. */
void daemon_free(struct wice_daemon *d);
/* Re-reads the configuration file.  An invalid file changes nothing.  New
 * settings apply to sessions started from now on; connected peers stay
 * connected. */
bool daemon_reload(struct wice_daemon *d, GError **error);
/* `wice add` and `wice delete`: start and stop managing an interface at run
 * time, whatever the configuration says.  Stopping restores what wice
 * changed (endpoints, nftables rules). */
bool daemon_add_iface_by_operator(struct wice_daemon *d, const char *ifname, GError **error);
bool daemon_remove_iface_by_operator(struct wice_daemon *d, const char *ifname, GError **error);
/* `wice mesh leave`: the mesh says goodbye on every layer and its
 * interface goes, until the daemon starts again. */
bool daemon_mesh_leave(struct wice_daemon *d, GError **error);
struct wice_iface *daemon_find_iface(struct wice_daemon *d, const char *ifname);

/* commands.c: what the control socket's requests do. */
extern const struct control_handler daemon_control_handler;

/* ping-request.c: `wice ping`: one echo request through the tunnel to
 * the peer the request names, answered with the round trip and the path. */
void ping_request_execute(struct wice_daemon *d, const struct control_request *req, struct control_call *call);

/* status.c: the `show` reply body: every interface, or only @ifname, and
 * then only @peer (NULL: all); an error when they are not there. */
JsonNode *status_build(struct wice_daemon *d, const char *ifname, const uint8_t *peer, GError **error);

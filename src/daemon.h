/* The wice daemon's shared state: one daemon, many WireGuard interfaces,
 * many peers per interface.
 *
 * Ownership: the daemon owns interfaces (iface.c), an interface owns its
 * peers (peer.c), a peer owns its ICE agent and data path.  Signaling
 * backends and the nftables table belong to the daemon and are shared. */
#pragma once

#include <gio/gio.h>
#include <net/if.h>

#include "sig-backend.h"
#include "sig-envelope.h"
#include "sig-msg.h"
#include "wg-device.h"
#include "wice-config.h"

struct nft_proxy;
struct wg_watch;
struct wice_control;
struct wice_peer;

/* An ICE server with its name resolved to a literal address for libnice. */
struct wice_ice_resolved {
	struct wice_ice_server server;
	char address[64];
};

struct wice_daemon {
	struct wice_config *config;
	char *config_path;
	char **only_ifaces; /* from the command line; empty: all */
	GMainLoop *loop;
	struct wg_watch *watch;
	GHashTable *ifaces; /* name -> struct wice_iface */
	GPtrArray *backends; /* struct sig_backend * */
	struct nft_proxy *nft; /* NULL when nftables is unusable */
	char *nft_table;
	struct wice_ice_resolved *ice; /* resolved config->ice_servers */
	size_t n_ice;
	GCancellable *cancel;
	struct wice_control *control;
	char *socket_path;
	GSource *signal_sources[3];
	GHashTable *wg_names; /* every WireGuard interface here, managed or not */
	unsigned resolving;   /* ICE server names still being looked up */
	GNetworkMonitor *netmon;
	gulong netmon_handler;
	int exit_status;
};

struct wice_iface {
	struct wice_daemon *daemon;
	char name[IFNAMSIZ];
	uint16_t listen_port;
	bool have_identity;
	struct sig_identity identity;
	GHashTable *peers; /* GBytes(public key) -> struct wice_peer */
	GSource *sync_timer;
};

/* iface.c */
struct wice_iface *iface_new(struct wice_daemon *d, const char *name);
void iface_free(struct wice_iface *iface);
/* The device is gone: nothing of it can (or needs to) be restored. */
void iface_forget_device(struct wice_iface *iface);
/* Re-reads the WireGuard device: new and removed peers, key changes,
 * handshake staleness.  Returns 0 or a negative errno. */
int iface_sync(struct wice_iface *iface);
void iface_receive_envelope(struct wice_iface *iface, const uint8_t *data, size_t len);
void iface_on_network_changed(struct wice_iface *iface);
void iface_on_signaling_up(struct wice_iface *iface);
struct wice_peer *iface_find_peer(struct wice_iface *iface, const uint8_t public_key[32]);

/* daemon.c */
void daemon_publish(struct wice_daemon *d, const uint8_t relay_id[RELAY_ID_LEN], const uint8_t *data, size_t len);
void daemon_subscribe(struct wice_daemon *d, const struct sig_subscription *sub);
void daemon_unsubscribe(struct wice_daemon *d, const uint8_t relay_id[RELAY_ID_LEN]);
#define WICE_DEFAULT_SOCKET "/run/wice/wice.sock"

struct wice_daemon *daemon_new(struct wice_config *config, const char *config_path, char **only_ifaces,
			       const char *socket_path, GError **error);
int daemon_run(struct wice_daemon *d);
/* Leaves no trace: goodbyes sent, endpoints restored, nftables table and
 * control socket removed.  Accepts NULL. */
void daemon_free(struct wice_daemon *d);
bool daemon_reload(struct wice_daemon *d, GError **error);
char *daemon_nft_table_name(const char *socket_path);
/* Start and stop managing an interface at run time. */
bool daemon_add_iface(struct wice_daemon *d, const char *ifname);
bool daemon_remove_iface(struct wice_daemon *d, const char *ifname);

/* Interface names libnice must not gather on: all WireGuard interfaces. */
bool daemon_is_excluded_netif(struct wice_daemon *d, const char *netif);

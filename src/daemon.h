/* The wice daemon's shared state: one daemon, many WireGuard interfaces,
 * many peers per interface.
 *
 * Ownership: the daemon owns interfaces (iface.c), an interface owns its
 * peers (peer.c), a peer owns its ICE agent and data path.  Signaling
 * backends and the nftables table belong to the daemon and are shared. */
#pragma once

#include <gio/gio.h>
#include <net/if.h>

#include "control-proto.h"
#include "sig-backend.h"
#include "sig-envelope.h"
#include "sig-msg.h"
#include "wg-device.h"
#include "wice-config.h"

struct config_resolve;
struct nft_proxy;
struct wg_watch;
struct wice_control;
struct wice_peer;

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
	/* ICE server lookups of config (at start) or of pending_config (a
	 * reload), which replaces config once they are done */
	struct config_resolve *resolving;
	struct wice_config *pending_config;
	GCancellable *cancel;
	struct wice_control *control;
	char *socket_path;
	GSource *signal_sources[3];
	GHashTable *wg_names; /* every WireGuard interface here, managed or not */
	/* `wice add` and `wice delete` outrank the configuration */
	GHashTable *operator_added, *operator_removed;
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
	size_t n_device_peers; /* in the last device read */
	GSource *sync_timer;
	GSource *sync_soon;  /* an early sync: a message from a peer we do not know yet */
	gint64 early_sync_us; /* monotonic, the last one */
};

/* iface.c */
struct wice_iface *iface_new(struct wice_daemon *d, const char *name);
/* The settings of this interface (wice_config_iface of the current
 * configuration): they shape sessions started from now on. */
const struct wice_iface_settings *iface_settings(const struct wice_iface *iface);
/* Reads all peers' mailboxes on backend @b too (a backend added by a reload). */
void iface_subscribe_peers(struct wice_iface *iface, struct sig_backend *b);
void iface_free(struct wice_iface *iface);
/* The device is gone: nothing of it can (or needs to) be restored. */
void iface_forget_device(struct wice_iface *iface);
/* Re-reads the WireGuard device: new and removed peers, key changes,
 * handshake staleness.  Returns 0 or a negative errno. */
int iface_sync(struct wice_iface *iface);
/* @from: where it came from (NULL: no way back but the usual). */
void iface_receive_envelope(struct wice_iface *iface, const uint8_t *data, size_t len, const struct sig_route *from);
void iface_on_network_changed(struct wice_iface *iface);
void iface_on_signaling_up(struct wice_iface *iface);
struct wice_peer *iface_find_peer(struct wice_iface *iface, const uint8_t public_key[32]);
/* Peers of the device that are not connected (yet), counting those the
 * current sync is still about to start. */
size_t iface_unsettled_peers(struct wice_iface *iface);

/* daemon.c */
/* Publishes on every backend; @via (NULL: none) goes to the backend it
 * belongs to and makes that one answer directly. */
void daemon_publish(struct wice_daemon *d, const uint8_t relay_id[RELAY_ID_LEN], const uint8_t *data, size_t len,
		    const struct sig_route *via);
void daemon_subscribe(struct wice_daemon *d, const struct sig_subscription *sub);
void daemon_unsubscribe(struct wice_daemon *d, const uint8_t relay_id[RELAY_ID_LEN]);
#define WICE_DEFAULT_SOCKET "/run/wice/wice.sock"

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
char *daemon_nft_table_name(const char *socket_path);
/* `wice add` and `wice delete`: start and stop managing an interface at run
 * time, whatever the configuration says.  Stopping restores what wice
 * changed (endpoints, nftables rules). */
bool daemon_add_iface_by_operator(struct wice_daemon *d, const char *ifname, GError **error);
bool daemon_remove_iface_by_operator(struct wice_daemon *d, const char *ifname, GError **error);
struct wice_iface *daemon_find_iface(struct wice_daemon *d, const char *ifname);
/* Tells monitors (`wice monitor`) and the log about @ev. */
void daemon_emit(struct wice_daemon *d, const struct wice_event *ev);

/* Interface names libnice must not gather on: all WireGuard interfaces. */
bool daemon_is_excluded_netif(struct wice_daemon *d, const char *netif);

/* What the mesh files share (mesh.c, mesh-keyset.c, mesh-members.c,
 * mesh-discovery.c, mesh-gossip.c, mesh-rotate.c, mesh-status.c). */
#pragma once

#include "mesh.h"
#include "mesh/mesh-announce.h"
#include "mesh/mesh-cache.h"
#include "mesh/mesh-hostkey.h"
#include "mesh/mesh-link.h"
#include "mesh/mesh-secret.h"
#include "signaling/client/sig-backend.h"

/* Members whose newest announcement is older than this are dropped. */
#define MESH_MEMBER_TTL_S 300
/* We sign a fresh announcement this often (and spread it on every layer). */
#define MESH_ANNOUNCE_INTERVAL_MS 30000
/* Gossip rounds: a random connected member gets our table. */
#define MESH_GOSSIP_INTERVAL_MS 5000
/* The UDP port of gossip, on members' mesh addresses (inside the
 * tunnels): below the default signaling multicast port, above Linux's
 * ephemeral range, so nothing else picks it. */
#define MESH_GOSSIP_PORT 61819
/* A rendezvous read keeps the hour's mailboxes open this long. */
#define MESH_RENDEZVOUS_READ_MS 5000
#define MESH_RENDEZVOUS_INTERVAL_MS 60000

enum mesh_source {
	MESH_SOURCE_LAN,
	MESH_SOURCE_SERVER,
	MESH_SOURCE_GOSSIP,
	MESH_SOURCE_CACHE,
};

/* Everything one secret gives this host.  Outside a rotation there is
 * one; during a rotation's grace period the new one (current) and the one
 * it replaces (old), each with its own addresses, LAN group and mailboxes,
 * so that members that have not switched yet still reach us. */
struct mesh_keyset {
	uint8_t secret[MESH_SECRET_LEN];
	struct mesh_keys keys;
	struct in_addr addr4;
	uint8_t counter4;
	bool addr4_set, addr6_set;
	struct in6_addr addr6;
	GPtrArray *lan; /* LAN backends (IPv4 and IPv6 groups) */
	void *lan_ctx;  /* what their callbacks get */
	struct sig_subscription inbox;
	struct sig_subscription rendezvous[2]; /* this hour's and the last */
	/* our last plain announcement under this secret, reused for a while:
	 * every signature costs each receiver a check */
	uint8_t own_ann[MESH_ANNOUNCE_MAX];
	size_t own_len;
	gint64 own_signed_us;
};

struct mesh_member {
	uint8_t wg_public[32];
	struct mesh_keyset *ks;   /* the secret its newest announcement proved */
	struct mesh_announce ann; /* the newest we checked */
	uint8_t signed_ann[MESH_ANNOUNCE_MAX];
	size_t signed_len;
	enum mesh_source source; /* the layer that found it */
	gint64 last_seen;        /* real time (s) we got its newest announcement */
	gint64 changed_s;        /* real time (s) it said something new (not only the time) */
	struct in_addr addr4;    /* after collisions are resolved */
	uint8_t counter4;
	struct in6_addr addr6;
	bool in_device;          /* a peer of the mesh interface */
	struct wg_allowed_ip *aips; /* what the device has for it */
	size_t n_aips;
	uint8_t psk[32];            /* and the pre-shared key */
	gint64 replied_us;       /* monotonic: our announcement went to it */
	bool has_cached_endpoint;
	struct sig_addr cached_endpoint;
};

struct wice_mesh {
	struct iface_host host;
	char ifname[16];
	char *state_dir;
	char *hostname;
	char *hosts_file;
	struct mesh_prefix routes[MESH_MAX_ROUTES];
	size_t n_routes;
	struct mesh_hostkey hostkey;
	struct mesh_link *link;
	uint16_t listen_port;
	struct wice_iface *iface; /* the daemon's, while it manages ours */
	struct mesh_keyset *cur, *old; /* old: only during a grace period */
	uint64_t old_until;            /* unix seconds: the grace period's end */
	uint8_t rotation[MESH_ROTATE_LEN]; /* the rotation to pass on */
	bool has_rotation;
	GSource *grace_timer;
	GHashTable *members; /* GBytes(wg public key) -> struct mesh_member */
	GHashTable *departed; /* GBytes(wg public key) -> uint64_t: its goodbye's time */
	GHashTable *wg_of_sign; /* GBytes(signing key) -> its WireGuard key (32 bytes) */
	bool reading_rendezvous;
	GSource *announce_timer, *rendezvous_timer, *rendezvous_stop, *gossip_timer, *expire_timer;
	GSource *reconcile_soon, *save_soon;
	unsigned lan_burst; /* quick LAN announcements at start */
	int gossip_fd;
	GSource *gossip_source;
	GHashTable *gossip_sent; /* GBytes(key) -> gint64 monotonic us: last table sent */
	GPtrArray *fresh;        /* GBytes(key): new members to push */
	GSource *push_soon;
};

/* mesh-keyset.c */
struct mesh_keyset *mesh_keyset_new(struct wice_mesh *m, const uint8_t secret[MESH_SECRET_LEN]);
/* Removes its addresses and LAN backends, leaves its mailboxes. */
void mesh_keyset_free(struct wice_mesh *m, struct mesh_keyset *ks);
/* Our IPv4 address in @ks moves when a lower key claims it. */
void mesh_keyset_set_address4(struct wice_mesh *m, struct mesh_keyset *ks, struct in_addr addr, uint8_t counter);
/* Keysets in the order frames are tried: current, then old. */
unsigned mesh_keysets(struct wice_mesh *m, struct mesh_keyset *ret[2]);

/* mesh-members.c */
void mesh_members_init(struct wice_mesh *m);
void mesh_members_free(struct wice_mesh *m);
/* A signed announcement from @source, checked under @ks.  Returns the
 * member it made or updated (NULL: dropped, ours, or not newer).
 * *ret_new tells a member we did not know. */
struct mesh_member *mesh_members_accept(struct wice_mesh *m, struct mesh_keyset *ks, const uint8_t *signed_ann,
					size_t len, enum mesh_source source, bool *ret_new);
/* Addresses, WireGuard peers, cache and hosts file follow the table soon. */
void mesh_members_changed(struct wice_mesh *m);
void mesh_members_expire(struct wice_mesh *m);
/* Drops the members still on @ks (the grace period is over). */
void mesh_members_drop_keyset(struct wice_mesh *m, struct mesh_keyset *ks);
void mesh_members_load_cache(struct wice_mesh *m);
void mesh_members_save_cache(struct wice_mesh *m);
void mesh_members_remove_all(struct wice_mesh *m);
bool mesh_member_connected(struct wice_mesh *m, const struct mesh_member *mm);
struct mesh_member *mesh_member_find(struct wice_mesh *m, const uint8_t wg_public[32]);
/* mesh_wg_public_from_sign_pk(), remembered. */
bool mesh_wg_public_of(struct wice_mesh *m, const uint8_t sign_pk[32], uint8_t ret[32]);
struct in_addr mesh_member_address4(const struct mesh_keyset *ks, const uint8_t wg_public[32], uint8_t counter);
const char *mesh_source_name(enum mesh_source source);

/* mesh-discovery.c */
void mesh_discovery_start(struct wice_mesh *m);
void mesh_discovery_stop(struct wice_mesh *m);
/* The LAN backends and mailboxes of a keyset (mesh_discovery_start does
 * those of the first). */
void mesh_discovery_add_keyset(struct wice_mesh *m, struct mesh_keyset *ks);
void mesh_discovery_remove_keyset(struct wice_mesh *m, struct mesh_keyset *ks);
/* Our announcement under @ks, signed now; false if it cannot be made. */
bool mesh_sign_own(struct wice_mesh *m, struct mesh_keyset *ks, uint8_t flags, uint8_t *buf, size_t *ret_len);
/* Seals @plain as a frame of @type under @ks; false when too big. */
bool mesh_seal(struct mesh_keyset *ks, uint8_t type, const uint8_t *plain, size_t len, uint8_t *frame,
	       size_t *ret_len);
/* A frame from anywhere: opened under @only (a LAN backend's keyset) or
 * under each keyset in turn. */
void mesh_handle_frame(struct wice_mesh *m, struct mesh_keyset *only, const uint8_t *data, size_t len,
		       enum mesh_source source, struct sig_backend *lan, const struct sig_route *from);
void mesh_announce_now(struct wice_mesh *m, uint8_t flags, bool to_server);

/* mesh-gossip.c */
bool mesh_gossip_start(struct wice_mesh *m, GError **error);
void mesh_gossip_stop(struct wice_mesh *m);
/* Sends our table to @mm over the tunnel. */
void mesh_gossip_send(struct wice_mesh *m, const struct mesh_member *mm);
/* @mm is new: its announcement goes to every connected member soon. */
void mesh_gossip_fresh(struct wice_mesh *m, const struct mesh_member *mm);
/* Sends one sealed frame to @mm over the tunnel. */
void mesh_gossip_send_frame(struct wice_mesh *m, const struct mesh_member *mm, const uint8_t *frame, size_t len);

/* mesh-rotate.c */
/* At start: the secret of the configuration, or what a rotation made of
 * it (the state directory remembers); sets m->cur and m->old. */
bool mesh_rotate_load(struct wice_mesh *m, const uint8_t config_secret[MESH_SECRET_LEN], GError **error);
/* A rotation frame's content, opened under some keyset. */
void mesh_rotate_receive(struct wice_mesh *m, const uint8_t *msg, size_t len);
/* Members on the old secret get the rotation (each round and when they
 * first speak). */
void mesh_rotate_tell(struct wice_mesh *m, const struct mesh_member *mm);
void mesh_rotate_stop(struct wice_mesh *m);

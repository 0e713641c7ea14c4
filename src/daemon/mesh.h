/* A mesh from one secret: the interface wice creates for a [mesh]
 * section and the members it fills it with (docs/MESH.md tells the
 * story, docs/PROTOCOL.md sections 10 and 11 the bytes).
 *
 * The mesh finds members (LAN announcements, the signal server's
 * rendezvous mailbox and inboxes, gossip over the tunnels, the peer
 * cache), checks that each holds the secret, and makes each a WireGuard
 * peer of the mesh interface with its derived addresses.  From there the
 * interface is managed like any other: its peers find paths with ICE. */
#pragma once

#include <json-glib/json-glib.h>

#include "iface.h"
#include "wice-config.h"

struct wice_mesh;

/* Reads the secret and the host key, creates and addresses the interface,
 * loads the peer cache and starts discovery.  NULL with @error (quoting
 * the file or value at fault) and nothing left behind on failure. */
struct wice_mesh *mesh_new(const struct wice_mesh_config *cfg, const struct iface_host *host, GError **error);
/* Says goodbye on every layer, saves the cache and removes the interface.
 * Accepts NULL. */
void mesh_free(struct wice_mesh *m);
const char *mesh_ifname(const struct wice_mesh *m);
/* The daemon manages the mesh interface through @iface (NULL: not any
 * more): the mesh reads its peers' paths from it. */
void mesh_attach_iface(struct wice_mesh *m, struct wice_iface *iface);
/* A mesh frame (mesh_frame_is_mesh) that arrived on one of the daemon's
 * signaling backends. */
void mesh_receive_frame(struct wice_mesh *m, const uint8_t *data, size_t len, const struct sig_route *from);
/* A backend came up or was added: read the inbox there too. */
void mesh_on_backend(struct wice_mesh *m, struct sig_backend *b);
/* A peer of the mesh interface connected (@peer: its base64 key): it
 * gets our member table at once, so that membership spreads as fast as
 * paths come up. */
void mesh_on_peer_connected(struct wice_mesh *m, const char *peer);
/* `wice mesh rotate`: @new_secret replaces the current one; members get
 * it over the tunnels, and the old one is still accepted for @grace_s
 * seconds.  False with @error for the current secret. */
bool mesh_rotate(struct wice_mesh *m, const uint8_t new_secret[32], uint32_t grace_s, GError **error);
/* Announces departure (flag LEAVING) to every member. */
void mesh_leave(struct wice_mesh *m);
unsigned mesh_member_count(const struct wice_mesh *m);
/* The "mesh" member of `wice show --json`. */
void mesh_status(struct wice_mesh *m, JsonBuilder *b);

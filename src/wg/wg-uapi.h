/* Userspace WireGuard backend: the UAPI text protocol spoken over
 * /var/run/wireguard/IFNAME.sock by wireguard-go and boringtun.
 *
 * The codec half is pure (no I/O) so that it can be unit tested and fuzzed;
 * the I/O half connects, writes one request and reads one bounded reply. */
#pragma once

#include <stddef.h>

#include "wg-device.h"

#define WG_UAPI_DIR "/var/run/wireguard"
/* Longest line we accept in a reply, and the largest whole reply. */
#define WG_UAPI_MAX_LINE 4096
#define WG_UAPI_MAX_REPLY (64u << 20)

/* Parses the reply to "get=1": key=value lines ending in "errno=N" and an
 * empty line.  Fills @dev (which must be empty).  Returns 0, -EPROTO for a
 * malformed or truncated reply (and sets *ret_bad_line to the offending line's
 * offset when not NULL), -E2BIG when over a cap, or -N for "errno=N". */
int wg_uapi_parse_get(const char *buf, size_t len, struct wg_device *dev, size_t *ret_bad_line);

/* Parses the reply to "set=1": exactly "errno=N\n\n".  Returns 0, -N or
 * -EPROTO. */
int wg_uapi_parse_set_reply(const char *buf, size_t len);

/* Formats the "set=1" request for the changes in @changes (its `set` flags and
 * each peer's `set` flags).  The caller frees *ret_buf with wg_uapi_buf_free. */
int wg_uapi_format_set(const struct wg_device *changes, char **ret_buf, size_t *ret_len);
/* Wipes (the request may hold keys) and frees. Accepts NULL. */
void wg_uapi_buf_free(char *buf, size_t len);

/* How a UAPI socket is reached: by default connect() from this process.
 * A daemon that gave up root has a helper that kept root's file access
 * connect for it (src/daemon/priv-broker.c).  Returns a connected socket
 * or -errno; NULL restores the default. */
typedef int (*wg_uapi_connector)(const char *ifname);
void wg_uapi_set_connector(wg_uapi_connector connect);

/* I/O against a live device. */
bool wg_uapi_exists(const char *ifname);
int wg_uapi_get(const char *ifname, struct wg_device **ret_dev);
int wg_uapi_set(const char *ifname, const struct wg_device *changes);
/* Adds the names of userspace devices that exist in this network namespace.
 * /var/run/wireguard is shared by all namespaces, so a socket only counts
 * when an interface of that name exists here too. */
int wg_uapi_list(struct wg_names *names);

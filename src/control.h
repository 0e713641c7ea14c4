/* The control socket: a Unix stream socket speaking JSON lines.  Each
 * request is one JSON object on one line ({"command":"show"}), each reply
 * one JSON object on one line ({"ok":true,...} or {"ok":false,"error":"..."}).
 * Requests are capped in size; garbage gets an error reply, an oversized
 * or endless line gets the connection closed.  Nothing a client sends can
 * block the main loop. */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#define CONTROL_MAX_REQUEST 4096
#define CONTROL_MAX_CLIENTS 64

struct wice_daemon;
struct wice_control;

struct wice_control *control_new(struct wice_daemon *d, const char *path, GError **error);
/* Closes every connection and removes the socket file.  Accepts NULL. */
void control_free(struct wice_control *c);

/* Client side (control-client.c): the socket path from an option, the
 * environment (WICE_SOCKET) or the default; one request, one reply line. */
const char *control_socket_path(const char *option);
char *control_request(const char *path, const char *request, GError **error);

/* The `show` reply body (status.c). */
JsonNode *status_build(struct wice_daemon *d);

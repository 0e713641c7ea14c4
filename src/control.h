/* The control socket: a Unix stream socket speaking JSON lines.  Each
 * request is one JSON object on one line (control-proto.h), each reply
 * one JSON object on one line ({"ok":true,...} or {"ok":false,"error":"..."}).
 * After {"command":"monitor"} and its reply the connection carries events,
 * one JSON object per line ({"event":...}), until either side closes it.
 *
 * The socket trusts nothing: it is mode 0660 with the group of [control]
 * group=, and the sender's credentials (SO_PEERCRED, SO_PEERGROUPS) are
 * checked for every request: show and monitor need the socket's group,
 * commands that change the daemon need root or [control] admin-group=.
 * Requests are capped in size and must arrive whole within a few seconds;
 * a client is served one request at a time (the next is read once the
 * reply is out), and a monitor that does not read its events is dropped
 * rather than buffered for.  Nothing a client sends can block the loop. */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "control-proto.h"

#define CONTROL_MAX_REQUEST 4096
#define CONTROL_MAX_CLIENTS 64
#define CONTROL_MAX_MONITORS 16
/* Events a monitor may leave unread before it is dropped. */
#define CONTROL_MAX_BACKLOG (256u * 1024)
/* A request must be complete this long after the connection or the last
 * reply; idle connections are closed after it too (monitors excepted). */
#define CONTROL_REQUEST_TIMEOUT_MS 3000

struct wice_daemon;
struct wice_control;

struct wice_control *control_new(struct wice_daemon *d, const char *path, GError **error);
/* Closes every connection and removes the socket file.  Accepts NULL. */
void control_free(struct wice_control *c);
/* Gives the socket the group of the current configuration. */
void control_update_access(struct wice_control *c);
/* Sends @event (wice_event_to_json) to every monitor. */
void control_broadcast(struct wice_control *c, JsonNode *event);
unsigned control_n_clients(const struct wice_control *c);
unsigned control_n_monitors(const struct wice_control *c);

/* What the requests other than monitor do (control-commands.c): a reply
 * body, or NULL and @error. */
JsonNode *control_execute(struct wice_daemon *d, const struct control_request *req, GError **error);

/* The `show` reply body (status.c): every interface, or only @ifname, and
 * then only @peer (NULL: all); an error when they are not there. */
JsonNode *status_build(struct wice_daemon *d, const char *ifname, const uint8_t *peer, GError **error);

/* Client side (control-client.c). */
/* The socket path from an option, the environment (WICE_SOCKET) or the
 * default. */
const char *control_socket_path(const char *option);
/* Connects and sends @request (a JSON object); returns the socket or -1. */
int control_connect(const char *path, JsonNode *request, GError **error);
/* Reads one line (at most 16 MiB) from @fd; NULL at end of file or on
 * error (then @error is set). */
char *control_read_line(int fd, GString *buf, GError **error);
/* Parses a reply line: its object when "ok" is true; else NULL and the
 * daemon's error in @error. */
JsonObject *control_parse_reply(JsonParser *parser, const char *line, GError **error);
/* One request, one reply: connect, send, read, parse, close. */
JsonObject *control_call(const char *path, JsonNode *request, JsonParser *parser, GError **error);
/* {"command":COMMAND} with "interface" and "peer" when not NULL. */
JsonNode *control_request_new(const char *command, const char *ifname, const char *peer);

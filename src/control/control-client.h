/* The client side of the control socket: `wice show`, `wice monitor` and
 * the commands that change the daemon (src/cli/) use it. */
#pragma once

#include <json-glib/json-glib.h>

#include "control-proto.h"

#define WICE_DEFAULT_SOCKET "/run/wice/wice.sock"

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

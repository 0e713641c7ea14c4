/* The control socket server: a Unix stream socket speaking JSON lines.
 * Each request is one JSON object on one line (control-proto.h), each
 * reply one JSON object on one line ({"ok":true,...} or
 * {"ok":false,"error":"..."}).  After {"command":"monitor"} and its reply
 * the connection carries events, one JSON object per line ({"event":...}),
 * until either side closes it.
 *
 * The socket knows nothing of what it controls: the owner registers a
 * handler table (the daemon, src/daemon/commands.c) that answers requests,
 * now or later, and names the groups that may use the socket.
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
#include <sys/types.h>

#include "control-proto.h"

#define CONTROL_MAX_REQUEST 4096
#define CONTROL_MAX_CLIENTS 64
/* Of those, slots only root and the admin group can take, and the most
 * one user without admin rights may hold at once. */
#define CONTROL_ADMIN_SLOTS 16
#define CONTROL_MAX_CLIENTS_PER_USER 8
#define CONTROL_MAX_MONITORS 16
/* Events a monitor may leave unread before it is dropped. */
#define CONTROL_MAX_BACKLOG (256u * 1024)
/* A request must be complete this long after the connection or the last
 * reply; idle connections are closed after it too (monitors excepted). */
#define CONTROL_REQUEST_TIMEOUT_MS 3000

struct wice_control;
/* A request being answered; see control_call_reply(). */
struct control_call;

/* Who may use the socket: members of @read_group read (show, monitor),
 * members of @admin_group change things too; NULL: nobody but root (and
 * for reading, the daemon's own group). */
struct control_groups {
	const char *read_group;
	gid_t read_gid;
	const char *admin_group;
	gid_t admin_gid;
};

struct control_handler {
	/* Answers @req (any command but monitor, which the socket serves
	 * itself; access was checked) by calling control_call_reply() with
	 * @call exactly once, now or later. */
	void (*execute)(void *data, const struct control_request *req, struct control_call *call);
	/* Fills in the groups of the current configuration. */
	void (*groups)(void *data, struct control_groups *ret);
};

struct wice_control *control_new(const char *path, const struct control_handler *handler, void *data,
				 GError **error);
/* Closes every connection and removes the socket file.  Accepts NULL. */
void control_free(struct wice_control *c);
/* Gives the socket the group named by the handler now. */
void control_update_access(struct wice_control *c);
/* Sends @event (wice_event_to_json) to every monitor. */
void control_broadcast(struct wice_control *c, JsonNode *event);
unsigned control_n_clients(const struct wice_control *c);
unsigned control_n_monitors(const struct wice_control *c);
/* The answer to @call: @body (a reply object), or an error reply with
 * @error's message.  Frees @call; a client that left meanwhile gets
 * nothing. */
void control_call_reply(struct control_call *call, JsonNode *body, const GError *error);

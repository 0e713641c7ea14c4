/* The control protocol's codec: requests parsed and checked, who may send
 * which, and events turned into JSON and into one human line.
 *
 * Pure functions over text and plain structs (json-glib, no sockets, no
 * main loop), so that unit tests and fuzzers can feed them anything.
 *
 * A request is one JSON object on one line:
 *   {"command":"show"}            {"command":"show","interface":"wg0","peer":KEY}
 *   {"command":"monitor"}         {"command":"reload"}
 *   {"command":"mesh-leave"}
 *   {"command":"mesh-rotate","secret":"wice://v1/...","grace":SECONDS}
 *   {"command":"add","interface":"wg0"}   {"command":"delete","interface":"wg0"}
 *   {"command":"restart","interface":"wg0","peer":KEY}
 *   {"command":"sync"}            {"command":"sync","interface":"wg0"}
 *   {"command":"ping","interface":"wg0","peer":KEY}
 * KEY is a WireGuard public key in base64.  Members other than these are
 * errors: a misspelt member must not be silently ignored. */
#pragma once

#include <json-glib/json-glib.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define CONTROL_ERROR (g_quark_from_static_string("wice-control-error"))

enum control_command {
	CONTROL_SHOW,
	CONTROL_MONITOR,
	CONTROL_ADD,
	CONTROL_DELETE,
	CONTROL_RESTART,
	CONTROL_SYNC,
	CONTROL_RELOAD,
	CONTROL_MESH_LEAVE,
	CONTROL_MESH_ROTATE,
	CONTROL_PING,
};

/* mesh-rotate: the new secret (as `wice mesh init` prints it; checked by
 * the daemon) and the grace period. */
#define CONTROL_SECRET_MAX 63
#define CONTROL_GRACE_DEFAULT_S (24 * 3600)
#define CONTROL_GRACE_MAX_S (30 * 24 * 3600)

struct control_request {
	enum control_command command;
	char interface[IFNAMSIZ]; /* "" when not given */
	bool has_peer;
	uint8_t peer[32];
	char secret[CONTROL_SECRET_MAX + 1]; /* mesh-rotate; wiped after use */
	uint32_t grace_s;
};

/* Parses one request line (without its newline).  Errors quote the bad
 * part of the input. */
bool control_request_parse(const char *line, size_t len, struct control_request *ret, GError **error);
const char *control_command_name(enum control_command command);
/* The parsed document's top-level object; NULL for anything else,
 * including an empty document. */
JsonObject *control_root_object(JsonParser *parser);
/* Commands that change the daemon need admin access; show and monitor
 * only read. */
bool control_command_changes(enum control_command command);

/* Who is on the other end of a connection (SO_PEERCRED, SO_PEERGROUPS). */
struct control_creds {
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	size_t n_groups;
};

/* Root and the daemon's own user may do anything; members of the admin
 * group too; members of the read group may read. */
struct control_policy {
	uid_t owner;
	gid_t read_gid;
	bool has_admin_gid;
	gid_t admin_gid;
};

enum control_access {
	CONTROL_ACCESS_NONE,
	CONTROL_ACCESS_READ,
	CONTROL_ACCESS_ADMIN,
};

enum control_access control_access(const struct control_creds *creds, const struct control_policy *policy);

/* --- events (`wice monitor`) ---------------------------------------------- */

enum wice_event_type {
	WICE_EVENT_INTERFACE_ADDED,
	WICE_EVENT_INTERFACE_REMOVED,
	WICE_EVENT_PEER_ADDED,
	WICE_EVENT_PEER_REMOVED,
	WICE_EVENT_PEER_STATE,
	WICE_EVENT_SELECTED_PAIR,
	WICE_EVENT_BACKEND_UP,
	WICE_EVENT_BACKEND_DOWN,
	WICE_EVENT_CONFIG_RELOADED,
	WICE_EVENT_SHUTDOWN,
};

struct wice_event_candidate {
	const char *type;
	const char *address;
	unsigned port;
};

/* Members that are NULL (or a candidate without a type) are left out. */
struct wice_event {
	enum wice_event_type type;
	const char *interface;
	const char *peer; /* base64 public key */
	const char *old_state;
	const char *state;
	const char *reason;
	const char *url;
	const char *proxy;
	const char *path;
	struct wice_event_candidate local, remote;
};

const char *wice_event_name(enum wice_event_type type);
/* {"event":NAME,"time":ISO-8601,...}; @real_time_us from g_get_real_time(). */
JsonNode *wice_event_to_json(const struct wice_event *ev, gint64 real_time_us);
/* One line for a log or a terminal, e.g. "wg0/xTIBA5rboUv: connecting ->
 * connected (pair selected)"; peer keys shortened unless @full_keys.
 * Works on what wice_event_to_json made, or what a daemon sent. */
char *wice_event_describe(JsonObject *ev, bool full_keys);

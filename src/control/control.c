/* The control socket server (see control.h).
 *
 * Each connection is a non-blocking GSocket with at most one read source,
 * one write source and one deadline timer, all kept as GSource objects.
 * A client is freed only from its own callbacks, from control_broadcast()
 * (monitors, which send no requests) or from control_free(), so no request
 * handler ever runs on a freed client. */
#include "config.h"

#include <errno.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "util/source-util.h"

/* Supplementary groups of a client we look at; more are ignored. */
#define MAX_PEER_GROUPS 4096

struct client {
	struct wice_control *control;
	GSocketConnection *conn;
	GSocket *socket;
	GSource *in_source, *out_source, *timer;
	char buf[CONTROL_MAX_REQUEST];
	size_t len;
	GString *out;
	size_t out_pos;
	struct control_call *call; /* a request the handler has not answered yet */
	bool in_handler;           /* the handler runs: it may answer at once */
	bool admin;                /* may change the daemon (when it connected) */
	bool monitoring;
	bool closing; /* free once the output is out */
	bool broken;  /* writing failed: free now */
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	size_t n_groups;
};

struct wice_control {
	const struct control_handler *handler;
	void *data;
	char *path;
	GSocketService *service;
	GHashTable *clients; /* struct client * set */
	unsigned n_monitors;
	bool bound;
};

/* A request handed to the handler.  It outlives a client that goes away
 * before the answer: the answer is then dropped. */
struct control_call {
	struct client *client;
};

static void client_free(struct client *cl)
{
	if (cl->call)
		cl->call->client = NULL;
	source_clear(&cl->in_source);
	source_clear(&cl->out_source);
	source_clear(&cl->timer);
	if (cl->monitoring)
		cl->control->n_monitors--;
	g_io_stream_close(G_IO_STREAM(cl->conn), NULL, NULL);
	g_object_unref(cl->conn);
	g_string_free(cl->out, TRUE);
	g_free(cl->groups);
	g_free(cl);
}

static size_t out_pending(const struct client *cl)
{
	return cl->out->len - cl->out_pos;
}

static void flush(struct client *cl)
{
	while (out_pending(cl) && !cl->broken) {
		g_autoptr(GError) error = NULL;
		gssize n = g_socket_send(cl->socket, cl->out->str + cl->out_pos, out_pending(cl), NULL, &error);

		if (n < 0 && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
			return;
		if (n <= 0)
			cl->broken = cl->closing = true;
		else
			cl->out_pos += (size_t)n;
	}
	g_string_truncate(cl->out, 0);
	cl->out_pos = 0;
}

static void queue_node(struct client *cl, JsonNode *node)
{
	g_autofree char *text = json_to_string(node, FALSE);

	g_string_append(cl->out, text);
	g_string_append_c(cl->out, '\n');
	flush(cl);
}

static void reply_error(struct client *cl, const char *message)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) node = NULL;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "ok");
	json_builder_add_boolean_value(b, FALSE);
	json_builder_set_member_name(b, "error");
	json_builder_add_string_value(b, message);
	json_builder_end_object(b);
	node = json_builder_get_root(b);
	queue_node(cl, node);
}

static void reply_ok(struct client *cl)
{
	static const char ok[] = "{\"ok\":true}\n";

	g_string_append(cl->out, ok);
	flush(cl);
}

static void update_io(struct client *cl);

static gboolean on_timeout(gpointer data)
{
	struct client *cl = data;

	g_clear_pointer(&cl->timer, g_source_unref);
	if (cl->len && !cl->closing)
		reply_error(cl, "incomplete request: no newline in time");
	/* Also a client that does not take its reply or error: give up on it. */
	cl->closing = cl->broken = true;
	update_io(cl);
	return G_SOURCE_REMOVE;
}

static void arm_timer(struct client *cl)
{
	source_clear(&cl->timer);
	cl->timer = source_timeout(CONTROL_REQUEST_TIMEOUT_MS, on_timeout, cl);
}

/* --- requests ------------------------------------------------------------------ */

static struct control_groups current_groups(struct wice_control *c)
{
	struct control_groups g = { 0 };

	c->handler->groups(c->data, &g);
	return g;
}

static struct control_policy current_policy(struct wice_control *c)
{
	struct control_groups g = current_groups(c);
	struct control_policy p = {
		.owner = geteuid(),
		.read_gid = g.read_group ? g.read_gid : getegid(),
		.has_admin_gid = g.admin_group != NULL,
		.admin_gid = g.admin_gid,
	};

	return p;
}

static enum control_access client_access(struct client *cl)
{
	struct control_creds creds = { cl->uid, cl->gid, cl->groups, cl->n_groups };
	struct control_policy policy = current_policy(cl->control);

	return control_access(&creds, &policy);
}

static bool permitted(struct client *cl, enum control_command command)
{
	const char *admin = current_groups(cl->control).admin_group;
	enum control_access access = client_access(cl);
	g_autofree char *message = NULL;

	if (access == CONTROL_ACCESS_ADMIN || (access == CONTROL_ACCESS_READ && !control_command_changes(command)))
		return true;
	message = g_strdup_printf("permission denied: '%s' needs %s%s%s", control_command_name(command),
				  control_command_changes(command) ? "root" : "the control socket's group",
				  admin ? " or group " : "", admin ? admin : "");
	reply_error(cl, message);
	return false;
}

static void start_monitoring(struct client *cl)
{
	if (cl->control->n_monitors >= CONTROL_MAX_MONITORS) {
		reply_error(cl, "too many monitors");
		return;
	}
	cl->monitoring = true;
	cl->control->n_monitors++;
	source_clear(&cl->timer);
	reply_ok(cl);
}

static void process_requests(struct client *cl);

void control_call_reply(struct control_call *call, JsonNode *body, const GError *error)
{
	struct client *cl = call->client;

	g_free(call);
	if (!cl)
		return;
	cl->call = NULL;
	if (body)
		queue_node(cl, body);
	else
		reply_error(cl, error ? error->message : "failed");
	if (cl->in_handler)
		return; /* process_requests() goes on from here */
	if (!cl->monitoring)
		arm_timer(cl);
	if (!out_pending(cl))
		process_requests(cl);
	update_io(cl);
}

static void handle_line(struct client *cl, const char *line, size_t len)
{
	g_autoptr(GError) error = NULL;
	struct control_request req;

	if (!control_request_parse(line, len, &req, &error)) {
		reply_error(cl, error->message);
		return;
	}
	if (!permitted(cl, req.command))
		return;
	if (req.command == CONTROL_MONITOR) {
		start_monitoring(cl);
		return;
	}
	/* No deadline while the handler works on it (it has its own). */
	source_clear(&cl->timer);
	cl->call = g_new0(struct control_call, 1);
	cl->call->client = cl;
	cl->in_handler = true;
	cl->control->handler->execute(cl->control->data, &req, cl->call);
	cl->in_handler = false;
}

/* One request at a time: the next is taken once the reply is out. */
static void process_requests(struct client *cl)
{
	char *nl;

	while (!cl->closing && !cl->monitoring && !cl->call && !out_pending(cl) &&
	       (nl = memchr(cl->buf, '\n', cl->len))) {
		size_t line_len = (size_t)(nl - cl->buf);

		if (line_len && cl->buf[line_len - 1] == '\r')
			line_len--;
		if (line_len)
			handle_line(cl, cl->buf, line_len);
		cl->len -= (size_t)(nl + 1 - cl->buf);
		memmove(cl->buf, nl + 1, cl->len);
		if (!cl->monitoring && !cl->call)
			arm_timer(cl);
	}
	if (!cl->closing && !cl->monitoring && !cl->call && cl->len == sizeof(cl->buf) && !memchr(cl->buf, '\n', cl->len)) {
		reply_error(cl, "request too long (the limit is " G_STRINGIFY(CONTROL_MAX_REQUEST) " bytes)");
		cl->closing = true;
	}
}

/* --- I/O --------------------------------------------------------------------- */

static gboolean on_readable(GSocket *socket, GIOCondition cond, gpointer data)
{
	struct client *cl = data;
	g_autoptr(GError) error = NULL;
	char discard[512];
	/* A monitor's input is only read to notice when it goes away. */
	char *to = cl->monitoring ? discard : cl->buf + cl->len;
	size_t room = cl->monitoring ? sizeof(discard) : sizeof(cl->buf) - cl->len;
	gssize n = g_socket_receive(socket, to, room, NULL, &error);

	if (n < 0 && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
		return G_SOURCE_CONTINUE;
	if (n < 0) {
		cl->closing = cl->broken = true;
	} else if (n == 0) {
		/* The client is done sending; what it still waits for goes out. */
		if (cl->len && !cl->monitoring && !cl->closing && !cl->call && !out_pending(cl))
			reply_error(cl, "incomplete request: no newline before the end");
		cl->closing = true;
	} else if (!cl->monitoring) {
		cl->len += (size_t)n;
		process_requests(cl);
	}
	update_io(cl);
	return G_SOURCE_CONTINUE;
}

static gboolean on_writable(GSocket *socket, GIOCondition cond, gpointer data)
{
	struct client *cl = data;

	flush(cl);
	if (!out_pending(cl))
		process_requests(cl);
	update_io(cl);
	return G_SOURCE_CONTINUE;
}

static void watch(struct client *cl, GSource **slot, GIOCondition cond, bool wanted, GSocketSourceFunc fn)
{
	if (!wanted) {
		source_clear(slot);
		return;
	}
	if (*slot)
		return;
	*slot = source_attach(g_socket_create_source(cl->socket, cond, NULL), NULL, G_SOURCE_FUNC(fn), cl);
}

/* Reads while there is room and no reply waits (monitors: always), writes
 * while output waits; frees a client that is done. */
static void update_io(struct client *cl)
{
	bool want_in = !cl->closing &&
		       (cl->monitoring || (!out_pending(cl) && !cl->call && cl->len < sizeof(cl->buf)));

	if (cl->broken || (cl->closing && !out_pending(cl))) {
		g_hash_table_remove(cl->control->clients, cl);
		return;
	}
	watch(cl, &cl->in_source, G_IO_IN | G_IO_HUP | G_IO_ERR, want_in, on_readable);
	watch(cl, &cl->out_source, G_IO_OUT | G_IO_HUP | G_IO_ERR, out_pending(cl) > 0, on_writable);
}

/* --- connections ----------------------------------------------------------------- */

static void read_groups(struct client *cl, int fd)
{
	socklen_t len = 64 * sizeof(gid_t);
	int r;

	cl->groups = g_malloc(len);
	r = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, cl->groups, &len);
	if (r < 0 && errno == ERANGE && len <= MAX_PEER_GROUPS * sizeof(gid_t)) {
		cl->groups = g_realloc(cl->groups, len);
		r = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, cl->groups, &len);
	}
	cl->n_groups = r == 0 ? len / sizeof(gid_t) : 0;
}

/* The credentials of the process that connected (fixed at connect()). */
static bool read_credentials(struct client *cl)
{
	int fd = g_socket_get_fd(cl->socket);
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	cl->uid = cred.uid;
	cl->gid = cred.gid;
	read_groups(cl, fd);
	return true;
}

static struct client *client_new(struct wice_control *c, GSocketConnection *conn)
{
	struct client *cl = g_new0(struct client, 1);

	cl->control = c;
	cl->conn = g_object_ref(conn);
	cl->socket = g_socket_connection_get_socket(conn);
	cl->out = g_string_new(NULL);
	g_socket_set_blocking(cl->socket, FALSE);
	g_hash_table_add(c->clients, cl);
	return cl;
}

/* Connections of readers are capped per user and in all, below the
 * socket's limit: a member of the socket's group holding half-written
 * requests must not lock root or the admin group out. */
static bool over_user_limits(struct wice_control *c, const struct client *cl)
{
	unsigned readers = 0, same_user = 0;
	GHashTableIter it;
	gpointer key;

	g_hash_table_iter_init(&it, c->clients);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		const struct client *other = key;

		if (other == cl || other->admin || other->closing)
			continue;
		readers++;
		same_user += other->uid == cl->uid;
	}
	return readers >= CONTROL_MAX_CLIENTS - CONTROL_ADMIN_SLOTS || same_user >= CONTROL_MAX_CLIENTS_PER_USER;
}

static gboolean on_incoming(GSocketService *service, GSocketConnection *conn, GObject *source, gpointer data)
{
	struct wice_control *c = data;
	enum control_access access;
	struct client *cl;

	if (g_hash_table_size(c->clients) >= CONTROL_MAX_CLIENTS) {
		static const char refusal[] = "{\"ok\":false,\"error\":\"too many connections\"}\n";

		g_debug("control: too many connections, refusing one");
		g_socket_set_blocking(g_socket_connection_get_socket(conn), FALSE);
		g_socket_send(g_socket_connection_get_socket(conn), refusal, sizeof(refusal) - 1, NULL, NULL);
		return FALSE; /* GIO closes it */
	}
	cl = client_new(c, conn);
	if (!read_credentials(cl)) {
		cl->closing = cl->broken = true;
	} else if ((access = client_access(cl)) == CONTROL_ACCESS_NONE) {
		reply_error(cl, "permission denied");
		cl->closing = true;
	} else if (!(cl->admin = access == CONTROL_ACCESS_ADMIN) && over_user_limits(c, cl)) {
		g_debug("control: too many connections of uid %u, refusing one", (unsigned)cl->uid);
		reply_error(cl, "too many connections");
		cl->closing = true;
	}
	arm_timer(cl);
	update_io(cl);
	return TRUE;
}

/* --- the socket ------------------------------------------------------------------ */

static bool socket_in_use(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool in_use;

	if (fd < 0)
		return false;
	g_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	in_use = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return in_use;
}

static bool prepare_path(const char *path, GError **error)
{
	g_autofree char *dir = g_path_get_dirname(path);

	if (g_mkdir_with_parents(dir, 0755) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot create %s: %s", dir,
			    g_strerror(errno));
		return false;
	}
	if (socket_in_use(path)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
			    "%s: another daemon is listening there", path);
		return false;
	}
	/* A socket file left by a killed daemon would make bind fail. */
	if (g_unlink(path) < 0 && errno != ENOENT) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot remove stale %s: %s", path,
			    g_strerror(errno));
		return false;
	}
	return true;
}

/* The umask makes the socket 0660 from the start: no moment in which
 * anyone could connect. */
static bool bind_socket(struct wice_control *c, GError **error)
{
	g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(c->path);
	mode_t old = umask(0117);
	bool ok = g_socket_listener_add_address(G_SOCKET_LISTENER(c->service), addr, G_SOCKET_TYPE_STREAM,
						G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL, error);

	umask(old);
	return ok;
}

void control_update_access(struct wice_control *c)
{
	struct control_groups g;
	gid_t gid;

	if (!c || !c->bound)
		return;
	g = current_groups(c);
	gid = g.read_group ? g.read_gid : getegid();
	if (chown(c->path, (uid_t)-1, gid) < 0 || chmod(c->path, 0660) < 0)
		g_warning("%s: cannot set group %s and mode 0660: %s", c->path, g.read_group ? g.read_group : "(own)",
			  g_strerror(errno));
}

struct wice_control *control_new(const char *path, const struct control_handler *handler, void *data,
				 GError **error)
{
	struct wice_control *c = g_new0(struct wice_control, 1);

	c->handler = handler;
	c->data = data;
	c->path = g_strdup(path);
	c->clients = g_hash_table_new_full(NULL, NULL, (GDestroyNotify)client_free, NULL);
	c->service = g_socket_service_new();
	if (!prepare_path(path, error) || !bind_socket(c, error)) {
		control_free(c);
		return NULL;
	}
	c->bound = true;
	control_update_access(c);
	g_signal_connect(c->service, "incoming", G_CALLBACK(on_incoming), c);
	g_socket_service_start(c->service);
	return c;
}

void control_free(struct wice_control *c)
{
	if (!c)
		return;
	g_socket_service_stop(c->service);
	g_socket_listener_close(G_SOCKET_LISTENER(c->service));
	g_object_unref(c->service);
	g_hash_table_destroy(c->clients);
	if (c->bound)
		g_unlink(c->path);
	g_free(c->path);
	g_free(c);
}

void control_broadcast(struct wice_control *c, JsonNode *event)
{
	g_autofree char *text = json_to_string(event, FALSE);
	g_autoptr(GPtrArray) done = g_ptr_array_new();
	size_t len = strlen(text) + 1;
	GHashTableIter it;
	gpointer key;

	g_hash_table_iter_init(&it, c->clients);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		struct client *cl = key;

		if (!cl->monitoring || cl->closing)
			continue;
		if (out_pending(cl) + len > CONTROL_MAX_BACKLOG) {
			g_message("control: dropping a monitor that does not read its events");
			cl->closing = cl->broken = true;
		} else {
			g_string_append(cl->out, text);
			g_string_append_c(cl->out, '\n');
			flush(cl);
		}
		g_ptr_array_add(done, cl);
	}
	for (guint i = 0; i < done->len; i++)
		update_io(g_ptr_array_index(done, i));
}

unsigned control_n_clients(const struct wice_control *c)
{
	return g_hash_table_size(c->clients);
}

unsigned control_n_monitors(const struct wice_control *c)
{
	return c->n_monitors;
}

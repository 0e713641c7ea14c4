/* The control socket server (see control.h). */
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
#include "daemon.h"

struct client {
	struct wice_control *control;
	GSocketConnection *conn;
	GCancellable *cancel;
	char buf[CONTROL_MAX_REQUEST];
	size_t len;
};

struct wice_control {
	struct wice_daemon *d;
	char *path;
	GSocketService *service;
	GHashTable *clients; /* struct client * set */
	bool bound;
};

static void client_free(struct client *cl)
{
	g_cancellable_cancel(cl->cancel);
	g_object_unref(cl->cancel);
	g_io_stream_close(G_IO_STREAM(cl->conn), NULL, NULL);
	g_object_unref(cl->conn);
	g_free(cl);
}

static void client_drop(struct client *cl)
{
	g_hash_table_remove(cl->control->clients, cl);
}

static void reply(struct client *cl, JsonNode *node)
{
	g_autofree char *text = json_to_string(node, FALSE);
	g_autofree char *line = g_strconcat(text, "\n", NULL);
	GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(cl->conn));

	/* Replies are small; a client that does not read them within the
	 * socket buffer is dropped rather than waited for. */
	if (!g_pollable_output_stream_write_nonblocking(G_POLLABLE_OUTPUT_STREAM(out), line, strlen(line), NULL,
							 NULL))
		client_drop(cl);
}

static JsonNode *error_node(const char *message)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "ok");
	json_builder_add_boolean_value(b, FALSE);
	json_builder_set_member_name(b, "error");
	json_builder_add_string_value(b, message);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

static JsonNode *handle_request(struct wice_control *c, const char *line)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonObject *req;
	const char *cmd;

	if (!json_parser_load_from_data(parser, line, -1, NULL) || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)))
		return error_node("request is not a JSON object");
	req = json_node_get_object(json_parser_get_root(parser));
	cmd = json_object_has_member(req, "command") ? json_object_get_string_member_with_default(req, "command", NULL)
						     : NULL;
	if (!cmd)
		return error_node("request has no \"command\" string");
	if (strcmp(cmd, "show") == 0)
		return status_build(c->d);
	return error_node("unknown command");
}

static bool process_lines(struct client *cl)
{
	char *nl;

	while ((nl = memchr(cl->buf, '\n', cl->len))) {
		g_autoptr(JsonNode) node = NULL;

		*nl = '\0';
		node = handle_request(cl->control, cl->buf);
		cl->len -= (size_t)(nl + 1 - cl->buf);
		memmove(cl->buf, nl + 1, cl->len);
		reply(cl, node);
		if (!g_hash_table_contains(cl->control->clients, cl))
			return false;
	}
	return cl->len < sizeof(cl->buf); /* a full buffer without a newline: too long */
}

static void read_more(struct client *cl);

static void on_read(GObject *source, GAsyncResult *res, gpointer data)
{
	struct client *cl = data;
	g_autoptr(GError) error = NULL;
	gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), res, &error);

	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return; /* cl is already freed */
	if (n <= 0) {
		client_drop(cl);
		return;
	}
	cl->len += (size_t)n;
	if (!process_lines(cl)) {
		if (g_hash_table_contains(cl->control->clients, cl))
			client_drop(cl);
		return;
	}
	read_more(cl);
}

static void read_more(struct client *cl)
{
	GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(cl->conn));

	g_input_stream_read_async(in, cl->buf + cl->len, sizeof(cl->buf) - cl->len, G_PRIORITY_DEFAULT, cl->cancel,
				  on_read, cl);
}

static gboolean on_incoming(GSocketService *service, GSocketConnection *conn, GObject *source, gpointer data)
{
	struct wice_control *c = data;
	struct client *cl;

	if (g_hash_table_size(c->clients) >= CONTROL_MAX_CLIENTS)
		return FALSE; /* GIO closes it */
	cl = g_new0(struct client, 1);
	cl->control = c;
	cl->conn = g_object_ref(conn);
	cl->cancel = g_cancellable_new();
	g_hash_table_add(c->clients, cl);
	read_more(cl);
	return TRUE;
}

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

struct wice_control *control_new(struct wice_daemon *d, const char *path, GError **error)
{
	struct wice_control *c = g_new0(struct wice_control, 1);
	g_autoptr(GSocketAddress) addr = NULL;

	c->d = d;
	c->path = g_strdup(path);
	c->clients = g_hash_table_new_full(NULL, NULL, (GDestroyNotify)client_free, NULL);
	c->service = g_socket_service_new();
	addr = g_unix_socket_address_new(path);
	if (!prepare_path(path, error) ||
	    !g_socket_listener_add_address(G_SOCKET_LISTENER(c->service), addr, G_SOCKET_TYPE_STREAM,
					   G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL, error)) {
		control_free(c);
		return NULL;
	}
	c->bound = true;
	chmod(path, 0660);
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

/* The client side of the control socket, for the wice subcommands.  Plain
 * blocking I/O: a command line tool has nothing else to do meanwhile. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control-client.h"

#define REPLY_MAX (16u << 20)

static int connect_socket(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

static bool write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		data += n;
		len -= (size_t)n;
	}
	return true;
}

/* A daemon that closes at once may have said why (too many connections). */
static char *read_refusal(int fd)
{
	g_autoptr(GString) buf = g_string_new(NULL);
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autofree char *line = control_read_line(fd, buf, NULL);
	g_autoptr(GError) error = NULL;

	if (!line || control_parse_reply(parser, line, &error))
		return NULL;
	return g_strdup(error->message);
}

int control_connect(const char *path, JsonNode *request, GError **error)
{
	g_autofree char *text = json_to_string(request, FALSE);
	g_autofree char *line = g_strconcat(text, "\n", NULL);
	int fd = connect_socket(path);

	if (fd < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot connect to %s: %s%s", path,
			    g_strerror(errno), errno == ENOENT || errno == ECONNREFUSED ? " (is the daemon running?)" : "");
		return -1;
	}
	if (!write_all(fd, line, strlen(line))) {
		int saved = errno;
		g_autofree char *why = read_refusal(fd);

		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved), "cannot send to %s: %s", path,
			    why ? why : g_strerror(saved));
		close(fd);
		return -1;
	}
	return fd;
}

/* Takes the first line out of @buf (which keeps what follows it). */
static char *take_line(GString *buf)
{
	char *nl = memchr(buf->str, '\n', buf->len);
	char *line;

	if (!nl)
		return NULL;
	line = g_strndup(buf->str, (gsize)(nl - buf->str));
	g_string_erase(buf, 0, nl + 1 - buf->str);
	return line;
}

char *control_read_line(int fd, GString *buf, GError **error)
{
	char chunk[4096];
	char *line;

	while (!(line = take_line(buf))) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot read from the daemon: %s",
				    g_strerror(errno));
		if (n <= 0)
			return NULL;
		if (buf->len + (size_t)n > REPLY_MAX) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE, "reply longer than 16 MiB");
			return NULL;
		}
		g_string_append_len(buf, chunk, n);
	}
	return line;
}

JsonObject *control_parse_reply(JsonParser *parser, const char *line, GError **error)
{
	JsonObject *root;

	if (!json_parser_load_from_data(parser, line, -1, NULL) || !control_root_object(parser)) {
		g_set_error(error, CONTROL_ERROR, EPROTO, "malformed reply from the daemon");
		return NULL;
	}
	root = control_root_object(parser);
	if (!json_object_get_boolean_member_with_default(root, "ok", FALSE)) {
		g_set_error(error, CONTROL_ERROR, EPROTO, "%s",
			    json_object_get_string_member_with_default(root, "error", "request failed"));
		return NULL;
	}
	return root;
}

JsonObject *control_call(const char *path, JsonNode *request, JsonParser *parser, GError **error)
{
	g_autoptr(GString) buf = g_string_new(NULL);
	g_autofree char *line = NULL;
	int fd = control_connect(path, request, error);

	if (fd < 0)
		return NULL;
	line = control_read_line(fd, buf, error);
	close(fd);
	if (!line) {
		if (error && !*error)
			g_set_error(error, CONTROL_ERROR, EPROTO, "the daemon closed the connection without a reply");
		return NULL;
	}
	return control_parse_reply(parser, line, error);
}

JsonNode *control_request_new(const char *command, const char *ifname, const char *peer)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "command");
	json_builder_add_string_value(b, command);
	if (ifname) {
		json_builder_set_member_name(b, "interface");
		json_builder_add_string_value(b, ifname);
	}
	if (peer) {
		json_builder_set_member_name(b, "peer");
		json_builder_add_string_value(b, peer);
	}
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

const char *control_socket_path(const char *option)
{
	if (option)
		return option;
	return g_getenv("WICE_SOCKET") ? g_getenv("WICE_SOCKET") : WICE_DEFAULT_SOCKET;
}

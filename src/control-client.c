/* The client side of the control socket, for the wice subcommands. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "daemon.h"

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

/* Sends one request line and reads one reply line. */
char *control_request(const char *path, const char *request, GError **error)
{
	g_autoptr(GString) reply = g_string_new(NULL);
	char buf[4096];
	int fd = connect_socket(path);

	if (fd < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot connect to %s: %s (is the daemon running?)",
			    path, g_strerror(errno));
		return NULL;
	}
	if (write(fd, request, strlen(request)) != (ssize_t)strlen(request) || write(fd, "\n", 1) != 1) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot send to %s", path);
		close(fd);
		return NULL;
	}
	while (!strchr(reply->str, '\n') && reply->len < REPLY_MAX) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n <= 0)
			break;
		g_string_append_len(reply, buf, n);
	}
	close(fd);
	if (!strchr(reply->str, '\n')) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "no reply from %s", path);
		return NULL;
	}
	return g_string_free(g_steal_pointer(&reply), FALSE);
}

const char *control_socket_path(const char *option)
{
	if (option)
		return option;
	return g_getenv("WICE_SOCKET") ? g_getenv("WICE_SOCKET") : WICE_DEFAULT_SOCKET;
}


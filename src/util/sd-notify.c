/* systemd service notifications (see sd-notify.h), spoken directly: one
 * datagram per state to the socket in $NOTIFY_SOCKET, and the watchdog
 * interval from $WATCHDOG_USEC (for this process when $WATCHDOG_PID names
 * it), as systemd documents in sd_notify(3) and sd_watchdog_enabled(3).
 * Not linking libsystemd spares the daemon it and the libraries it pulls in
 * (libgcrypt, liblz4, libcap, ...) at every start (issue 14). */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/sd-notify.h"
#include "util/source-util.h"

/* 0 without $NOTIFY_SOCKET, else the socket address; "@name" is an abstract
 * socket.  -EINVAL for a value that names neither. */
static int notify_address(struct sockaddr_un *sa, socklen_t *len)
{
	const char *path = getenv("NOTIFY_SOCKET");
	size_t n;

	if (!path || !*path)
		return 0;
	n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sa->sun_path))
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, n);
	if (path[0] == '@')
		sa->sun_path[0] = '\0';
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	return 1;
}

/* 0 when not run by systemd, 1 when sent, or a negative errno. */
static int notify(const char *state)
{
	struct sockaddr_un sa;
	socklen_t len = 0;
	int fd, r = notify_address(&sa, &len);

	if (r <= 0)
		return r;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len) < 0 ? -errno : 1;
	close(fd);
	return r;
}

/* 1 with the interval in @usec when this process has a watchdog, 0 when it
 * has none, -EINVAL for settings that do not parse. */
static int watchdog_usec(uint64_t *usec)
{
	const char *s = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	guint64 v, p;

	if (!s)
		return 0;
	if (!g_ascii_string_to_unsigned(s, 10, 1, G_MAXUINT64 - 1, &v, NULL))
		return -EINVAL;
	if (pid) {
		if (!g_ascii_string_to_unsigned(pid, 10, 1, G_MAXINT, &p, NULL))
			return -EINVAL;
		if ((pid_t)p != getpid())
			return 0;
	}
	*usec = v;
	return 1;
}

static gboolean on_watchdog_tick(gpointer data)
{
	notify("WATCHDOG=1");
	return G_SOURCE_CONTINUE;
}

/* A watchdog source at half of WATCHDOG_USEC, or NULL without one. */
static GSource *start_watchdog(void)
{
	uint64_t usec = 0;
	guint ms;
	int r = watchdog_usec(&usec);

	if (r < 0)
		g_warning("ignoring the systemd watchdog settings: %s", g_strerror(-r));
	if (r <= 0 || usec == 0)
		return NULL;
	ms = (guint)CLAMP(usec / 2 / 1000, 1, G_MAXUINT);
	g_debug("systemd watchdog every %u ms", ms);
	return source_timeout(ms, on_watchdog_tick, NULL);
}

GSource *service_notify_ready(void)
{
	int r = notify("READY=1");

	if (r < 0)
		g_warning("cannot notify systemd: %s", g_strerror(-r));
	return start_watchdog();
}

void service_notify_stopping(GSource *watchdog)
{
	source_free(watchdog);
	notify("STOPPING=1");
}

/* The privilege broker: a child that stays root when the daemon becomes
 * [daemon] user= (priv-broker.h).
 *
 * wireguard-go and boringtun make their UAPI sockets root's with mode
 * 0700, and connect() needs write access to the socket file, so a daemon
 * of another user could reach them only with CAP_DAC_OVERRIDE, which would
 * let it write any file of the system.  Instead this child, forked while
 * the daemon is still root, keeps uid 0 but drops every capability: as
 * the owner it needs none for root's 0700 sockets, 0600 files and /run
 * directories.  Over a socketpair it answers one-packet requests of at
 * most 16 bytes: a connected UAPI socket for a valid interface name, or
 * the configuration file opened for reading (a reload), both passed back
 * as file descriptors; and when the daemon is gone (the pair closes) it
 * removes the control socket, which the daemon's user may not.
 *
 * The daemon has threads when it forks, so the child runs only
 * async-signal-safe code, and it never execs. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "priv-broker.h"
#include "wg/wg-device.h"
#include "wg/wg-uapi.h"

#define REQ_MAX 16 /* an operation byte and an interface name */
#define OP_UAPI 'U'
#define OP_CONFIG 'C'

static char config_path[PATH_MAX];
static char socket_path[PATH_MAX];
static int broker_sock = -1;
static GMutex broker_lock;

/* --- the child (async-signal-safe only) -------------------------------------- */

/* Signals meant for the daemon (a terminal's ^C, systemd's SIGTERM to the
 * whole unit) must not end the broker before the daemon has put its
 * endpoints back through it: it ends when the daemon is gone. */
static void child_signals(void)
{
	struct sigaction ignore = { .sa_handler = SIG_IGN }, dfl = { .sa_handler = SIG_DFL };
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigaction(SIGINT, &ignore, NULL);
	sigaction(SIGTERM, &ignore, NULL);
	sigaction(SIGHUP, &ignore, NULL);
	sigaction(SIGQUIT, &ignore, NULL);
	sigaction(SIGPIPE, &ignore, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Only our end of the pair stays open, as fd 3; no capability is left,
 * and none can come back (no exec happens, and no new privileges). */
static int child_setup(int sock)
{
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { { 0 } };
	int devnull = open("/dev/null", O_RDWR);

	child_signals();
	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(devnull, 2) < 0 ||
	    dup2(sock, 3) < 0 || close_range(4, ~0u, 0) < 0)
		return -1;
	prctl(PR_SET_NAME, "wice-broker", 0, 0, 0);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	for (unsigned cap = 0; cap <= CAP_LAST_CAP; cap++)
		prctl(PR_CAPBSET_DROP, cap, 0, 0, 0); /* where CAP_SETPCAP allows */
	if (syscall(SYS_capset, &header, data) < 0)
		return -1;
	return 3;
}

/* Non-blocking, so that a wedged wireguard-go with a full backlog makes
 * the request fail instead of stalling every interface's I/O behind it. */
static int child_uapi(const char *req, size_t len)
{
	static const char dir[] = WG_UAPI_DIR "/", suffix[] = ".sock";
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char name[REQ_MAX];
	int fd;

	if (len == 0 || len >= sizeof(name))
		return -EINVAL;
	memcpy(name, req, len);
	name[len] = '\0';
	if (strlen(name) != len || !wg_ifname_valid(name))
		return -EINVAL;
	memcpy(addr.sun_path, dir, sizeof(dir) - 1);
	memcpy(addr.sun_path + sizeof(dir) - 1, name, len);
	memcpy(addr.sun_path + sizeof(dir) - 1 + len, suffix, sizeof(suffix));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || fcntl(fd, F_SETFL, 0) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static void child_reply(int sock, int fd)
{
	int32_t status = fd < 0 ? fd : 0;
	struct iovec iov = { .iov_base = &status, .iov_len = sizeof(status) };
	union {
		struct cmsghdr header;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;

	memset(&control, 0, sizeof(control));
	if (fd >= 0) {
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof(control.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	}
	sendmsg(sock, &msg, MSG_NOSIGNAL);
	if (fd >= 0)
		close(fd);
}

/* O_NONBLOCK: a FIFO put at the path would not hold the broker. */
static int child_config(size_t len)
{
	int fd;

	if (len != 0)
		return -EINVAL;
	fd = open(config_path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

static int child_answer(const char *req, size_t len)
{
	switch (req[0]) {
	case OP_UAPI:
		return child_uapi(req + 1, len - 1);
	case OP_CONFIG:
		return child_config(len - 1);
	default:
		return -EINVAL;
	}
}

static _Noreturn void child_run(int sock)
{
	char req[REQ_MAX + 1];

	sock = child_setup(sock);
	if (sock < 0)
		_exit(1);
	for (;;) {
		ssize_t n = recv(sock, req, sizeof(req), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		child_reply(sock, (size_t)n > REQ_MAX ? -EINVAL : child_answer(req, (size_t)n));
	}
	/* the daemon is gone */
	if (socket_path[0])
		unlink(socket_path);
	_exit(0);
}

/* --- the daemon's side ------------------------------------------------------- */

static bool copy_path(char *dst, const char *src)
{
	size_t len = src ? strlen(src) : 0;

	if (len >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return false;
	}
	memcpy(dst, src ? src : "", len + 1);
	return true;
}

bool priv_broker_start(const char *config, const char *socket)
{
	int pair[2];
	pid_t pid;

	if (!copy_path(config_path, config) || !copy_path(socket_path, socket))
		return false;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
		return false;
	pid = fork();
	if (pid < 0) {
		int err = errno;

		close(pair[0]);
		close(pair[1]);
		errno = err;
		return false;
	}
	if (pid == 0) {
		close(pair[0]);
		child_run(pair[1]);
	}
	close(pair[1]);
	broker_sock = pair[0];
	return true;
}

static int receive_fd(int sock)
{
	int32_t status;
	struct iovec iov = { .iov_base = &status, .iov_len = sizeof(status) };
	union {
		struct cmsghdr header;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *cmsg;
	ssize_t n;
	int fd;

	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET; /* the broker is gone */
	cmsg = CMSG_FIRSTHDR(&msg);
	if (cmsg && cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS &&
	    cmsg->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	else
		fd = -1;
	if (n != sizeof(status) || status > 0 || (status == 0) != (fd >= 0)) {
		if (fd >= 0)
			close(fd);
		return -EPROTO;
	}
	return status < 0 ? status : fd;
}

static int request(char op, const char *name)
{
	char req[REQ_MAX];
	size_t len = strlen(name);
	int r;

	if (broker_sock < 0)
		return -ENOSYS;
	if (len >= sizeof(req))
		return -ENAMETOOLONG;
	req[0] = op;
	memcpy(req + 1, name, len);
	g_mutex_lock(&broker_lock);
	r = send(broker_sock, req, len + 1, MSG_NOSIGNAL) < 0 ? -errno : receive_fd(broker_sock);
	g_mutex_unlock(&broker_lock);
	return r;
}

int priv_broker_uapi(const char *ifname)
{
	return request(OP_UAPI, ifname);
}

int priv_broker_config(void)
{
	return request(OP_CONFIG, "");
}

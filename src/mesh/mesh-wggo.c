/* wireguard-go as a child of wice (mesh-wggo.h).
 *
 * Readiness is polled every 20 ms for at most 5 s: wireguard-go has no
 * way to say it is ready but its UAPI socket, and this runs once, before
 * the main loop exists.  It was ready in under 50 ms here.  The socket
 * is only connected to, never removed while it answers:
 * /var/run/wireguard is shared by every network namespace, and a socket
 * that answers may belong to a wireguard-go of another namespace. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mesh-wggo.h"
#include "wg/wg-uapi.h"

#define WGGO_START_TIMEOUT_MS 5000
#define WGGO_STOP_TIMEOUT_MS 3000
#define WGGO_POLL_MS 20
#define WGGO_START_ATTEMPTS 3

char *mesh_wggo_find(GError **error)
{
	const char *env = g_getenv("WICE_WIREGUARD_GO");
	char *path;

	if (env && *env) {
		if (g_file_test(env, G_FILE_TEST_IS_EXECUTABLE) && !g_file_test(env, G_FILE_TEST_IS_DIR))
			return g_strdup(env);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "wireguard-go was not found: WICE_WIREGUARD_GO='%s' is not an executable file", env);
		return NULL;
	}
	path = g_find_program_in_path("wireguard-go");
	if (!path)
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "wireguard-go was not found on PATH (Debian: wireguard-go, or set WICE_WIREGUARD_GO)");
	return path;
}

/* Runs in the child between fork and exec. */
static void child_setup(gpointer parent)
{
	/* A wice killed without a chance to clean up takes its wireguard-go,
	 * and so the interface, with it instead of leaving an orphan that the
	 * next start would find in its way. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != *(pid_t *)parent)
		_exit(1); /* the parent is gone already */
}

static char **child_environ(void)
{
	char **env = g_get_environ();

	/* Debian's wireguard-go refuses to run on a kernel that could have
	 * the module unless told otherwise; the second variable silences the
	 * banner that recommends the module. */
	env = g_environ_setenv(env, "WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD", "1", TRUE);
	env = g_environ_setenv(env, "WG_PROCESS_FOREGROUND", "1", TRUE);
	/* Descriptors that a daemonizing wireguard-go hands itself: ours are
	 * none of its business. */
	env = g_environ_unsetenv(env, "WG_TUN_FD");
	env = g_environ_unsetenv(env, "WG_UAPI_FD");
	return env;
}

static bool spawn(const char *path, const char *ifname, GPid *ret_pid, GError **error)
{
	g_auto(GStrv) env = child_environ();
	const char *argv[] = { path, "-f", ifname, NULL };
	pid_t parent = getpid();
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/* A copy: GLib 2.74 lost the child's stderr when handed fd 2 for
	 * both of its outputs. */
	int log_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	bool ok = devnull >= 0 && log_fd >= 0;

	if (!ok)
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot start wireguard-go: %s",
			    g_strerror(errno));
	else
		ok = g_spawn_async_with_fds(NULL, (char **)argv, env, G_SPAWN_DO_NOT_REAP_CHILD, child_setup, &parent,
					    ret_pid, devnull, log_fd, log_fd, error);
	if (devnull >= 0)
		close(devnull);
	if (log_fd >= 0)
		close(log_fd);
	return ok;
}

/* Reaps @pid if it has exited, within @timeout_ms; true if it did. */
static bool reap_within(GPid pid, unsigned timeout_ms, int *ret_status)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	int status = 0;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid || (r < 0 && errno == ECHILD)) {
			if (ret_status)
				*ret_status = status;
			return true;
		}
		if (g_get_monotonic_time() >= deadline)
			return false;
		g_usleep(WGGO_POLL_MS * 1000);
	}
}

static bool ready(const char *ifname)
{
	return if_nametoindex(ifname) != 0 && wg_uapi_exists(ifname);
}

/* 0 once ready, -ECHILD if it exited first (status in @ret_status),
 * -ETIMEDOUT. */
static int wait_ready(GPid pid, const char *ifname, int *ret_status)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)WGGO_START_TIMEOUT_MS * 1000;

	for (;;) {
		if (reap_within(pid, 0, ret_status))
			return -ECHILD;
		if (ready(ifname))
			return 0;
		if (g_get_monotonic_time() >= deadline)
			return -ETIMEDOUT;
		g_usleep(WGGO_POLL_MS * 1000);
	}
}

static void set_exit_error(GError **error, const char *ifname, int status)
{
	if (WIFSIGNALED(status))
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "wireguard-go was killed by signal %d before '%s' was ready", WTERMSIG(status), ifname);
	else
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "wireguard-go exited with status %d before '%s' was ready (its own words are in the log)",
			    WEXITSTATUS(status), ifname);
}

/* The socket of a wireguard-go that died without removing it.  One that
 * answers belongs to someone else. */
static void remove_stale_socket(const char *ifname)
{
	g_autofree char *path = g_strdup_printf("%s/%s.sock", WG_UAPI_DIR, ifname);

	if (!wg_uapi_exists(ifname) && unlink(path) < 0 && errno != ENOENT)
		g_warning("cannot remove %s: %s", path, g_strerror(errno));
}

/* One start: 0 with the child running, -ECHILD (status in @ret_status)
 * or -ETIMEDOUT with nothing left running, or -EIO with @error set. */
static int start_once(const char *path, const char *ifname, GPid *ret_pid, int *ret_status, GError **error)
{
	GPid pid;
	int r;

	if (!spawn(path, ifname, &pid, error))
		return -EIO;
	r = wait_ready(pid, ifname, ret_status);
	if (r == 0)
		*ret_pid = pid;
	else if (r == -ECHILD)
		remove_stale_socket(ifname);
	else
		mesh_wggo_stop(pid, ifname);
	return r;
}

bool mesh_wggo_start(const char *path, const char *ifname, GPid *ret_pid, GError **error)
{
	int status = 0, r = -ECHILD;

	if (wg_uapi_exists(ifname)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
			    "%s/%s.sock is in use by another wireguard-go (of another network namespace?)", WG_UAPI_DIR,
			    ifname);
		return false;
	}
	/* wg(8) removes a socket that refuses its connection, and there is a
	 * moment between wireguard-go's bind() and listen() when it does: a
	 * `wg show` from anywhere on the host (the directory is shared) then
	 * makes wireguard-go exit.  The lab saw it; another try gets past it. */
	for (int attempt = 1; attempt <= WGGO_START_ATTEMPTS && r == -ECHILD; attempt++) {
		if (attempt > 1)
			g_message("%s: wireguard-go exited before it was ready; starting it again", ifname);
		r = start_once(path, ifname, ret_pid, &status, error);
	}
	if (r == 0)
		g_message("%s: started %s (pid %d)", ifname, path, (int)*ret_pid);
	else if (r == -ECHILD)
		set_exit_error(error, ifname, status);
	else if (r == -ETIMEDOUT)
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
			    "wireguard-go did not bring up '%s' and its UAPI socket within %u s", ifname,
			    WGGO_START_TIMEOUT_MS / 1000);
	return r == 0;
}

void mesh_wggo_stop(GPid pid, const char *ifname)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	if (!reap_within(pid, WGGO_STOP_TIMEOUT_MS, NULL)) {
		g_warning("%s: wireguard-go (pid %d) still runs %u s after SIGTERM; killing it", ifname, (int)pid,
			  WGGO_STOP_TIMEOUT_MS / 1000);
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	remove_stale_socket(ifname);
}

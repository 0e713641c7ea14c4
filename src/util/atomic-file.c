/* Atomic file replacement (atomic-file.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "atomic-file.h"

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A chown to ourselves is skipped, so that an unprivileged writer can keep
 * a file of its own. */
static int set_owner_and_mode(int fd, mode_t mode, const struct stat *owner)
{
	if (owner && (owner->st_uid != geteuid() || owner->st_gid != getegid()) &&
	    fchown(fd, owner->st_uid, owner->st_gid) < 0)
		return -errno;
	return fchmod(fd, mode & 07777) < 0 ? -errno : 0;
}

static int sync_dir(const char *path)
{
	g_autofree char *dir = g_path_get_dirname(path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = fd < 0 || fsync(fd) < 0 ? -errno : 0;

	if (fd >= 0)
		close(fd);
	return r;
}

static int install(const char *tmp, const char *path, bool no_replace)
{
	int r = no_replace ? renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) : rename(tmp, path);

	return r < 0 ? -errno : 0;
}

int atomic_file_write(const char *path, const void *data, size_t len, mode_t mode, const struct stat *owner,
		      bool no_replace)
{
	g_autofree char *tmp = g_strconcat(path, ".XXXXXX", NULL);
	int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0600);
	int r;

	if (fd < 0)
		return -errno;
	r = set_owner_and_mode(fd, mode, owner);
	if (r == 0)
		r = write_all(fd, data, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0)
		r = install(tmp, path, no_replace);
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	/* The file is in place; a failed directory sync only weakens the
	 * promise after a crash. */
	(void)sync_dir(path);
	return 0;
}

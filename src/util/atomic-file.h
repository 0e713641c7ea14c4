/* Replacing a file so that a crash leaves the old one or the new one,
 * never a mix: a temporary file beside it, synced, renamed into place, and
 * the directory synced so the rename itself survives. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* Writes @len bytes of @data to @path with @mode (and, when @owner is not
 * NULL, @owner's user and group, which keeps a system file's owner when
 * the writer is root).  With @no_replace, an existing @path stands and the
 * result is -EEXIST.  0 or a negative errno; on failure the temporary
 * file is gone and @path untouched. */
int atomic_file_write(const char *path, const void *data, size_t len, mode_t mode, const struct stat *owner,
		      bool no_replace);

/* `[mesh] hosts-file`: keeps a marked block of "address hostname" lines
 * for the mesh members in a hosts(5) file, rewriting the file atomically
 * (temporary file, fsync, rename, the original's mode and owner kept) and
 * never touching a line outside the block. */
#pragma once

#include <glib.h>
#include <stdbool.h>

struct mesh_hosts_entry {
	char address[64]; /* a literal IPv4 or IPv6 address */
	char hostname[64];
};

/* The file's text with the block of @ifname replaced by @entries (n == 0
 * removes the block).  Entries that could not be a hosts(5) line are left
 * out.  NULL for an invalid @ifname, or when the block has a BEGIN line
 * but no END line: the lines after it may be the user's, so such a file
 * is left for a person to mend.  Pure, for tests. */
char *mesh_hosts_rewrite(const char *text, const char *ifname, const struct mesh_hosts_entry *entries, size_t n);
/* Applies mesh_hosts_rewrite() to @path (through a symbolic link, to the
 * file it names); leaves the file alone when nothing changes.  A missing
 * file is created (mode 0644) when there are entries. */
bool mesh_hosts_update(const char *path, const char *ifname, const struct mesh_hosts_entry *entries, size_t n,
		       GError **error);

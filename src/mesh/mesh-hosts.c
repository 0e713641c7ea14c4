/* `[mesh] hosts-file` (mesh-hosts.h): our block in a file that belongs to
 * someone else.
 *
 *   # BEGIN wice mesh wgmesh0
 *   10.42.7.9	alpha
 *   fd3c:1a2b:3c4d::9f1e:22a0:5b6c:7d8e	alpha
 *   # END wice mesh wgmesh0
 *
 * One block per interface, so two meshes never fight over one file.  The
 * rewrite copies every line outside the block as it is (byte for byte,
 * line ends and all) and drops only what lies between our markers.
 *
 * A BEGIN marker without its END is not ours to mend: the lines after it
 * may be the user's, and deleting them is worse than a stale block.  Such
 * a file is left alone and the update fails with a message saying why. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "mesh-hosts.h"
#include "util/atomic-file.h"

#define MESH_HOSTS_ERROR (g_quark_from_static_string("mesh-hosts-error"))
#define MARKER_BEGIN "# BEGIN wice mesh "
#define MARKER_END "# END wice mesh "
/* A hosts file of a few thousand lines is already unusual. */
#define HOSTS_MAX_SIZE (16u << 20)
#define IFNAME_MAX 15 /* IFNAMSIZ - 1 */

/* ---- the pure rewrite ------------------------------------------------------ */

static bool ifname_valid(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > IFNAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] == '/' || s[i] > '~')
			return false;
	return true;
}

static bool hostname_valid(const char *s, size_t array_len)
{
	size_t len = strnlen(s, array_len);

	if (len == 0 || len == array_len || s[0] == '-' || s[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!g_ascii_isalnum(s[i]) && s[i] != '-' && s[i] != '.' && s[i] != '_')
			return false;
	return true;
}

static bool address_valid(const char *s, size_t array_len)
{
	uint8_t buf[16];

	if (strnlen(s, array_len) == array_len)
		return false;
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* A member's name comes from its announcement, whose rules are looser
 * than a hosts(5) name's ("-x" is a fine label for `wice show`): such an
 * entry is left out rather than costing everyone else their line. */
static bool entry_valid(const struct mesh_hosts_entry *e)
{
	return address_valid(e->address, sizeof(e->address)) && hostname_valid(e->hostname, sizeof(e->hostname));
}

/* Is the line [p, p + len) (without its line end) exactly @marker @ifname,
 * give or take trailing white space (an editor's, or a CR)? */
static bool is_marker(const char *p, size_t len, const char *marker, const char *ifname)
{
	size_t m = strlen(marker), i = strlen(ifname);

	while (len > 0 && g_ascii_isspace(p[len - 1]))
		len--;
	return len == m + i && memcmp(p, marker, m) == 0 && memcmp(p + m, ifname, i) == 0;
}

static size_t count_valid(const struct mesh_hosts_entry *entries, size_t n)
{
	size_t valid = 0;

	for (size_t i = 0; i < n; i++)
		valid += entry_valid(&entries[i]);
	return valid;
}

static void append_block(GString *out, const char *ifname, const struct mesh_hosts_entry *entries, size_t n)
{
	if (count_valid(entries, n) == 0)
		return;
	g_string_append_printf(out, "%s%s\n", MARKER_BEGIN, ifname);
	for (size_t i = 0; i < n; i++)
		if (entry_valid(&entries[i]))
			g_string_append_printf(out, "%s\t%s\n", entries[i].address, entries[i].hostname);
	g_string_append_printf(out, "%s%s\n", MARKER_END, ifname);
}

/* Returns 0 and the new text, -EINVAL for a bad interface name, -EBADMSG
 * for a block with no end. */
static int rewrite(const char *text, const char *ifname, const struct mesh_hosts_entry *entries, size_t n,
		   char **ret)
{
	g_autoptr(GString) out = g_string_sized_new(strlen(text) + 64 * n + 64);
	bool in_block = false, placed = false;

	if (!ifname_valid(ifname))
		return -EINVAL;
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		size_t whole = nl ? len + 1 : len;

		if (!in_block && is_marker(p, len, MARKER_BEGIN, ifname)) {
			in_block = true;
			/* A second block (a merge gone wrong) is dropped: one
			 * block per interface. */
			if (!placed)
				append_block(out, ifname, entries, n);
			placed = true;
		} else if (in_block) {
			in_block = !is_marker(p, len, MARKER_END, ifname);
		} else {
			g_string_append_len(out, p, (gssize)whole);
		}
		p += whole;
	}
	if (in_block)
		return -EBADMSG;
	if (!placed && count_valid(entries, n) > 0) {
		if (out->len > 0 && out->str[out->len - 1] != '\n')
			g_string_append_c(out, '\n');
		append_block(out, ifname, entries, n);
	}
	*ret = g_string_free(g_steal_pointer(&out), FALSE);
	return 0;
}

char *mesh_hosts_rewrite(const char *text, const char *ifname, const struct mesh_hosts_entry *entries, size_t n)
{
	char *out = NULL;

	return rewrite(text, ifname, entries, n, &out) == 0 ? out : NULL;
}

/* ---- the file -------------------------------------------------------------- */

static bool replace_file(const char *path, const char *text, const struct stat *st, GError **error)
{
	/* Owner and mode as the original's, so that a 0644 root:root
	 * /etc/hosts stays readable by every resolver. */
	int r = atomic_file_write(path, text, strlen(text), st->st_mode, st, false);

	if (r < 0)
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(-r), "%s: cannot rewrite: %s", path,
			    g_strerror(-r));
	return r == 0;
}

/* The file's text, or "" with a default mode for a file that is not there
 * yet.  Text only: a NUL inside would cut the rewrite short. */
static char *read_hosts(const char *path, struct stat *st, GError **error)
{
	g_autofree char *text = NULL;
	size_t len;

	if (stat(path, st) < 0) {
		int saved = errno;

		if (saved == ENOENT) {
			st->st_mode = 0644, st->st_uid = geteuid(), st->st_gid = getegid();
			return g_strdup("");
		}
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "%s: %s", path, g_strerror(saved));
		return NULL;
	}
	if (st->st_size > HOSTS_MAX_SIZE) {
		g_set_error(error, MESH_HOSTS_ERROR, EFBIG, "%s: longer than 16 MiB; left alone", path);
		return NULL;
	}
	if (!g_file_get_contents(path, &text, &len, error))
		return NULL;
	if (strlen(text) != len) {
		g_set_error(error, MESH_HOSTS_ERROR, EINVAL, "%s: holds a NUL byte, not text; left alone", path);
		return NULL;
	}
	return g_steal_pointer(&text);
}

bool mesh_hosts_update(const char *path, const char *ifname, const struct mesh_hosts_entry *entries, size_t n,
		       GError **error)
{
	/* Rewrite the file a symbolic link points to, not the link. */
	g_autofree char *real = realpath(path, NULL);
	const char *target = real ? real : path;
	g_autofree char *old = NULL, *new = NULL;
	struct stat st;
	int r;

	old = read_hosts(target, &st, error);
	if (!old)
		return false;
	r = rewrite(old, ifname, entries, n, &new);
	if (r == -EBADMSG) {
		g_set_error(error, MESH_HOSTS_ERROR, EBADMSG, "%s: '%s%s' has no '%s%s' line; left alone", path,
			    MARKER_BEGIN, ifname, MARKER_END, ifname);
		return false;
	}
	if (r < 0) {
		g_set_error(error, MESH_HOSTS_ERROR, EINVAL, "%s: bad interface name '%s'", path, ifname);
		return false;
	}
	if (strcmp(old, new) == 0)
		return true;
	return replace_file(target, new, &st, error);
}

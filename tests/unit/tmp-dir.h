/* A temporary directory for one test, and its removal with every file in
 * it (the tests that write files: mesh cache, hosts file). */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>

/* A fresh directory from @template ("name-XXXXXX"); NULL on failure. */
static inline char *tmp_dir_new(const char *template)
{
	return g_dir_make_tmp(template, NULL);
}

/* Removes @dir's files and @dir itself, and frees @dir. */
static inline void tmp_dir_free(char *dir)
{
	g_autoptr(GDir) d = dir ? g_dir_open(dir, 0, NULL) : NULL;
	const char *name;

	while (d && (name = g_dir_read_name(d))) {
		g_autofree char *p = g_build_filename(dir, name, NULL);
		g_unlink(p);
	}
	if (dir)
		g_rmdir(dir);
	g_free(dir);
}

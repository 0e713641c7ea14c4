/* libFuzzer harness for the hosts file rewrite (src/mesh/mesh-hosts.c).
 * The first input byte picks how many of three fixed entries to write
 * (0 removes the block); the rest is the file's text, up to its first
 * NUL.  Properties: a rewrite that succeeds is idempotent (writing the
 * same entries again changes nothing), and removing the block afterwards
 * gives the same text as removing it from the original (the rewrite
 * touched nothing outside the block).  Any broken property aborts. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mesh/mesh-hosts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct mesh_hosts_entry entries[] = {
	{ "10.42.7.9", "alpha" },
	{ "fd3c:1a2b:3c4d::9f1e:22a0:5b6c:7d8e", "alpha" },
	{ "10.42.0.2", "beta.example" },
};

static void check(int ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *text = NULL, *once = NULL, *twice = NULL, *removed = NULL, *removed_once = NULL;
	size_t n;

	if (size < 1)
		return 0;
	n = data[0] % 4;
	text = g_strndup((const char *)data + 1, size - 1);
	once = mesh_hosts_rewrite(text, "wgmesh0", entries, n);
	removed = mesh_hosts_rewrite(text, "wgmesh0", NULL, 0);
	check((once == NULL) == (removed == NULL));
	if (!once)
		return 0;
	twice = mesh_hosts_rewrite(once, "wgmesh0", entries, n);
	check(twice && strcmp(once, twice) == 0);
	removed_once = mesh_hosts_rewrite(once, "wgmesh0", NULL, 0);
	check(removed_once != NULL);
	/* Appending may have added the newline the last line lacked. */
	check(strcmp(removed_once, removed) == 0 ||
	      (strlen(removed_once) == strlen(removed) + 1 && strncmp(removed_once, removed, strlen(removed)) == 0));
	return 0;
}

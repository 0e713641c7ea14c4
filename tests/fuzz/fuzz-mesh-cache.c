/* libFuzzer harness for the peer cache parser (src/mesh/mesh-cache.c):
 * any text either is refused with an error or gives entries that keep
 * the header's promises (an announcement of 1..MESH_ANNOUNCE_MAX bytes,
 * an endpoint of a known family with a port, nothing expired), and never
 * more of them than the cap.  Any broken property aborts. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "mesh/mesh-cache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1700000000u

static void check(int ok)
{
	if (!ok)
		abort();
}

static void check_entry(const struct mesh_cache_entry *e)
{
	check(e->announcement_len >= 1 && e->announcement_len <= MESH_ANNOUNCE_MAX);
	check(e->last_seen >= NOW - MESH_CACHE_MAX_AGE_S);
	if (e->has_endpoint)
		check((e->endpoint.family == AF_INET || e->endpoint.family == AF_INET6) && e->endpoint.port != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) entries = mesh_cache_parse((const char *)data, size, NOW, &error);

	check((entries == NULL) == (error != NULL));
	if (!entries)
		return 0;
	check(entries->len <= MESH_CACHE_MAX_ENTRIES);
	for (guint i = 0; i < entries->len; i++)
		check_entry(&g_array_index(entries, struct mesh_cache_entry, i));
	return 0;
}

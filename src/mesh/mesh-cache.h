/* The peer cache: the member table saved in the state directory
 * ("<interface>.cache.json", mode 0600, written to a temporary file and
 * renamed), so that a restarted daemon knows its members, and where their
 * WireGuard answered last, before any discovery layer speaks.
 *
 * Each entry keeps the member's signed announcement (checked again on load
 * against the current secret, so a cache of another mesh yields nothing),
 * its last working endpoint and when it was last seen.  json-glib. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "mesh-announce.h"

#define MESH_CACHE_MAX_AGE_S (24 * 3600)
#define MESH_CACHE_MAX_ENTRIES 4096
#define MESH_CACHE_MAX_SIZE (8u << 20)

struct mesh_cache_entry {
	uint8_t announcement[MESH_ANNOUNCE_MAX];
	size_t announcement_len;
	bool has_endpoint;
	struct sig_addr endpoint; /* where its WireGuard answered last */
	uint64_t last_seen;       /* unix seconds */
};

/* Writes @n entries to @path atomically.  False with @error quoting the
 * path. */
bool mesh_cache_save(const char *path, const struct mesh_cache_entry *entries, size_t n, GError **error);
/* Parses a cache file's text: entries last seen more than
 * MESH_CACHE_MAX_AGE_S before @now, and entries that are malformed, are
 * skipped one by one; text that is not a cache at all is an error.
 * Announcements are not verified here (the caller does, with its keys).
 * Returns a GArray of struct mesh_cache_entry, or NULL. */
GArray *mesh_cache_parse(const char *text, size_t len, uint64_t now, GError **error);
/* Reads and parses @path; a missing file is an empty cache. */
GArray *mesh_cache_load(const char *path, uint64_t now, GError **error);

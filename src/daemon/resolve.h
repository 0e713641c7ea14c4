/* ICE server names of a configuration turned into literal addresses.
 *
 * libnice takes STUN and TURN servers as literal addresses only, and name
 * lookups must not block the main loop, so every server of the
 * configuration (global and per-interface) is looked up with GResolver
 * before the configuration is used, and again while it is in use
 * (server-names.h).  Results go into the servers' address fields; a name
 * that does not resolve at first leaves its server without an address
 * (peers skip it) and a warning in the log. */
#pragma once

#include "wice-config.h"

struct config_resolve;

typedef void (*config_resolved_fn)(struct wice_config *cfg, void *userdata);

/* Starts resolving @cfg's servers and calls @done once all are resolved.
 * When nothing needs a lookup, @done runs before this returns and the
 * result is NULL; otherwise the result may be cancelled until @done runs,
 * and frees itself after @done returns. */
struct config_resolve *config_resolve_start(struct wice_config *cfg, config_resolved_fn done, void *userdata);
/* The same for a configuration in use: names are looked up again, a
 * changed address replaces the old one (agents made from then on use it),
 * and a name that does not resolve now keeps its last address. */
struct config_resolve *config_resolve_again(struct wice_config *cfg, config_resolved_fn done, void *userdata);
/* @done will not be called; @cfg is not touched any more (the caller may
 * free it).  Accepts NULL. */
void config_resolve_cancel(struct config_resolve *r);

/* The STUN and TURN server names of the configuration in use, looked up
 * again while the daemon runs (server-names.c). */
#pragma once

#include "wice-config.h"

struct server_names;

struct server_names *server_names_new(void);
/* @cfg is the configuration in use now (its names resolved once): look
 * its names up every few minutes.  A lookup on the one before stops. */
void server_names_use(struct server_names *n, struct wice_config *cfg);
/* A peer's ICE failed, which is also what a server that moved looks
 * like: look the names up now, unless that was done a moment ago.
 * Accepts NULL (a daemon going away). */
void server_names_failed(struct server_names *n);
/* Accepts NULL. */
void server_names_free(struct server_names *n);

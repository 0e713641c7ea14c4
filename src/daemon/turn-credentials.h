/* TURN credentials: static ones from the configuration, or coturn's
 * time-limited "REST API" ones derived from a shared secret
 * (username "EXPIRY:wice", password base64(HMAC-SHA1(secret, username))). */
#pragma once

#include <glib.h>

#include "wice-config.h"

/* Lifetime of derived credentials: long enough for any allocation. */
#define TURN_CREDENTIAL_LIFETIME_SEC (24 * 3600)

void turn_credentials(const struct wice_iface_settings *cfg, char **ret_user, char **ret_pass);

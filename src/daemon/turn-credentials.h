/* TURN credentials: static ones from the configuration, or coturn's
 * time-limited "REST API" ones derived from a shared secret
 * (username "EXPIRY:wice", password base64(HMAC-SHA1(secret, username))),
 * valid for [ice] turn-credential-lifetime (default 24 h). */
#pragma once

#include <glib.h>

#include "wice-config.h"

void turn_credentials(const struct wice_iface_settings *cfg, char **ret_user, char **ret_pass);
/* How long credentials made now stay valid, in seconds; 0: for ever
 * (static ones). */
unsigned turn_credentials_lifetime(const struct wice_iface_settings *cfg);

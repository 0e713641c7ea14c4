/* TURN credentials, static or derived (see turn-credentials.h). */
#include "config.h"

#include <string.h>

#include "turn-credentials.h"

/* The password for @user under @secret; exposed for tests. */
static char *turn_rest_password(const char *secret, const char *user)
{
	g_autoptr(GHmac) hmac = g_hmac_new(G_CHECKSUM_SHA1, (const guchar *)secret, strlen(secret));
	guint8 digest[20];
	gsize len = sizeof(digest);
	char *b64;

	g_hmac_update(hmac, (const guchar *)user, (gssize)strlen(user));
	g_hmac_get_digest(hmac, digest, &len);
	b64 = g_base64_encode(digest, len);
	explicit_bzero(digest, sizeof(digest));
	return b64;
}

unsigned turn_credentials_lifetime(const struct wice_iface_settings *cfg)
{
	if (!cfg->turn_secret)
		return 0;
	return cfg->turn_credential_lifetime ? cfg->turn_credential_lifetime : WICE_TURN_CREDENTIAL_LIFETIME_DEFAULT;
}

void turn_credentials(const struct wice_iface_settings *cfg, char **ret_user, char **ret_pass)
{
	if (cfg->turn_secret) {
		gint64 expiry = g_get_real_time() / G_USEC_PER_SEC + turn_credentials_lifetime(cfg);

		*ret_user = g_strdup_printf("%" G_GINT64_FORMAT ":wice", expiry);
		*ret_pass = turn_rest_password(cfg->turn_secret, *ret_user);
		return;
	}
	*ret_user = g_strdup(cfg->turn_username);
	*ret_pass = g_strdup(cfg->turn_password);
}

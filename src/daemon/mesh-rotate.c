/* Secret rotation: `wice mesh rotate` signs the new secret and the end of
 * a grace period; the message goes to every member over the tunnels,
 * sealed with the old secret, and each member passes it on.  Until the
 * grace period ends both secrets are accepted (each with its own
 * addresses, LAN group and mailboxes: mesh-keyset.c); after it, members
 * still on the old one are dropped and the old one is refused.
 *
 * The state directory keeps what a rotation made of the configured
 * secret ("<interface>.rotation"), so that a restart before the operator
 * has changed the secret file does not fall back to the old secret:
 *
 *   new = wice://v1/...          the secret in use
 *   old = HEX                    BLAKE2b-256 of the secret it replaced
 *   until = UNIX                 end of the grace period
 *   message = HEX                the signed rotation, passed on in grace */
#include "config.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "mesh-internal.h"
#include "util/source-util.h"

#define MESH_ERROR (g_quark_from_static_string("wice-mesh-error"))
/* A grace period further away than this (plus clock skew) is refused. */
#define MAX_GRACE_S (30u * 24 * 3600)

static uint64_t unix_now(void)
{
	return (uint64_t)(g_get_real_time() / G_USEC_PER_SEC);
}

static void secret_hash(const uint8_t secret[MESH_SECRET_LEN], char out[65])
{
	static const char label[] = "wice mesh v1 rotation-old";
	uint8_t h[32];
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const uint8_t *)label, sizeof(label) - 1);
	crypto_generichash_update(&st, secret, MESH_SECRET_LEN);
	crypto_generichash_final(&st, h, sizeof(h));
	sodium_bin2hex(out, 65, h, sizeof(h));
}

static char *state_path(const struct wice_mesh *m)
{
	g_autofree char *name = g_strdup_printf("%s.rotation", m->ifname);

	return g_build_filename(m->state_dir, name, NULL);
}

static void save_state(struct wice_mesh *m, const uint8_t old_secret[MESH_SECRET_LEN])
{
	g_autofree char *path = state_path(m);
	g_autoptr(GError) error = NULL;
	char secret[MESH_SECRET_STR_LEN], old[65], msg[2 * MESH_ROTATE_LEN + 1];
	g_autofree char *text = NULL;

	mesh_secret_format(m->cur->secret, secret);
	secret_hash(old_secret, old);
	sodium_bin2hex(msg, sizeof(msg), m->rotation, sizeof(m->rotation));
	text = g_strdup_printf("new = %s\nold = %s\nuntil = %" G_GUINT64_FORMAT "\nmessage = %s\n", secret, old,
			       m->old_until, msg);
	if (!g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error))
		g_warning("mesh %s: the rotation is not saved: %s", m->ifname, error->message);
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(text, strlen(text));
}

struct rotation_state {
	uint8_t new_secret[MESH_SECRET_LEN];
	char old_hash[65];
	uint64_t until;
	uint8_t message[MESH_ROTATE_LEN];
	bool has_message;
};

static bool parse_line(const char *line, struct rotation_state *st, unsigned *seen)
{
	const char *eq = strstr(line, " = ");
	const char *v = eq ? eq + 3 : NULL;
	size_t bin_len;

	if (!v)
		return false;
	if (g_str_has_prefix(line, "new ="))
		return mesh_secret_parse(v, strlen(v), st->new_secret) && (*seen |= 1);
	if (g_str_has_prefix(line, "old =") && strlen(v) == 64)
		return g_strlcpy(st->old_hash, v, sizeof(st->old_hash)) && (*seen |= 2);
	if (g_str_has_prefix(line, "until ="))
		return (st->until = g_ascii_strtoull(v, NULL, 10)) > 0 && (*seen |= 4);
	if (g_str_has_prefix(line, "message ="))
		return sodium_hex2bin(st->message, sizeof(st->message), v, strlen(v), NULL, &bin_len, NULL) == 0 &&
		       bin_len == sizeof(st->message) && (st->has_message = true);
	return false;
}

static bool load_state(struct wice_mesh *m, struct rotation_state *st)
{
	g_autofree char *path = state_path(m);
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	unsigned seen = 0;
	gsize len;

	memset(st, 0, sizeof(*st));
	if (!g_file_get_contents(path, &text, &len, NULL))
		return false;
	lines = g_strsplit(text, "\n", 8);
	for (unsigned i = 0; lines[i]; i++)
		if (*lines[i] && !parse_line(lines[i], st, &seen))
			seen = 0;
	sodium_memzero(text, len);
	if (seen != 7)
		g_warning("mesh %s: ignoring %s: not a rotation state", m->ifname, path);
	return seen == 7;
}

static gboolean on_grace_over(gpointer data);

static void arm_grace(struct wice_mesh *m)
{
	uint64_t now = unix_now();

	if (!m->grace_timer)
		m->grace_timer = source_timer_new(NULL, on_grace_over, m);
	source_timer_arm(m->grace_timer, m->old_until > now ? (guint)MIN((m->old_until - now) * 1000, G_MAXUINT) : 0);
}

bool mesh_rotate_load(struct wice_mesh *m, const uint8_t config_secret[MESH_SECRET_LEN], GError **error)
{
	struct rotation_state st;
	char hash[65];
	bool rotated;

	secret_hash(config_secret, hash);
	rotated = load_state(m, &st) && strcmp(st.old_hash, hash) == 0;
	m->cur = mesh_keyset_new(m, rotated ? st.new_secret : config_secret);
	if (rotated && unix_now() < st.until) {
		m->old = mesh_keyset_new(m, config_secret);
		m->old_until = st.until;
		memcpy(m->rotation, st.message, sizeof(m->rotation));
		m->has_rotation = st.has_message;
		arm_grace(m);
	}
	if (rotated)
		g_message("mesh %s: using the secret a rotation replaced the configured one with", m->ifname);
	sodium_memzero(&st, sizeof(st));
	(void)error;
	return true;
}

/* The grace period is over: members still on the old secret go, and so
 * does the old secret. */
static gboolean on_grace_over(gpointer data)
{
	struct wice_mesh *m = data;
	struct mesh_keyset *old = m->old;

	if (!old)
		return G_SOURCE_CONTINUE;
	g_message("mesh %s: the grace period of the old secret is over", m->ifname);
	m->old = NULL;
	m->has_rotation = false;
	mesh_members_drop_keyset(m, old);
	mesh_keyset_free(m, old);
	return G_SOURCE_CONTINUE;
}

void mesh_rotate_tell(struct wice_mesh *m, const struct mesh_member *mm)
{
	uint8_t frame[MESH_FRAME_MAX];
	size_t len;

	if (m->has_rotation && m->old && mm->ks == m->old &&
	    mesh_seal(m->old, MESH_FRAME_ROTATE, m->rotation, sizeof(m->rotation), frame, &len))
		mesh_gossip_send_frame(m, mm, frame, len);
}

static void adopt(struct wice_mesh *m, const uint8_t new_secret[MESH_SECRET_LEN], uint64_t until,
		  const uint8_t message[MESH_ROTATE_LEN])
{
	uint8_t old_secret[MESH_SECRET_LEN];
	GHashTableIter it;
	gpointer value;
	char id[MESH_NETWORK_ID_STR_LEN];

	/* A rotation in the grace period of another: the oldest goes now. */
	if (m->old) {
		struct mesh_keyset *older = m->old;

		m->old = NULL;
		mesh_members_drop_keyset(m, older);
		mesh_keyset_free(m, older);
	}
	memcpy(old_secret, m->cur->secret, sizeof(old_secret));
	m->old = m->cur;
	m->cur = mesh_keyset_new(m, new_secret);
	m->old_until = until;
	memcpy(m->rotation, message, MESH_ROTATE_LEN);
	m->has_rotation = true;
	arm_grace(m);
	mesh_discovery_add_keyset(m, m->cur);
	save_state(m, old_secret);
	sodium_memzero(old_secret, sizeof(old_secret));
	mesh_network_id_str(&m->cur->keys, id);
	g_message("mesh %s: new secret (network %s); the old one is accepted for %" G_GUINT64_FORMAT " s", m->ifname,
		  id, until - unix_now());
	/* Every member is on the old secret now: tell them all. */
	g_hash_table_iter_init(&it, m->members);
	while (g_hash_table_iter_next(&it, NULL, &value))
		mesh_rotate_tell(m, value);
	mesh_members_changed(m);
}

void mesh_rotate_receive(struct wice_mesh *m, const uint8_t *msg, size_t len)
{
	uint8_t sign_pk[32], wg_public[32], secret[MESH_SECRET_LEN];
	uint64_t until, now = unix_now();

	if (mesh_rotate_verify(msg, len, sign_pk, secret, &until) < 0 ||
	    !mesh_wg_public_of(m, sign_pk, wg_public) || !mesh_member_find(m, wg_public) ||
	    until <= now || until > now + MAX_GRACE_S + MESH_MAX_SKEW_S ||
	    sodium_memcmp(secret, m->cur->secret, MESH_SECRET_LEN) == 0 ||
	    (m->old && sodium_memcmp(secret, m->old->secret, MESH_SECRET_LEN) == 0)) {
		sodium_memzero(secret, sizeof(secret));
		return;
	}
	g_message("mesh %s: member %s rotated the secret", m->ifname, mesh_member_find(m, wg_public)->ann.hostname);
	adopt(m, secret, until, msg);
	sodium_memzero(secret, sizeof(secret));
}

bool mesh_rotate(struct wice_mesh *m, const uint8_t new_secret[32], uint32_t grace_s, GError **error)
{
	uint8_t msg[MESH_ROTATE_LEN];
	uint64_t until = unix_now() + grace_s;

	if (sodium_memcmp(new_secret, m->cur->secret, MESH_SECRET_LEN) == 0 ||
	    (m->old && sodium_memcmp(new_secret, m->old->secret, MESH_SECRET_LEN) == 0)) {
		g_set_error(error, MESH_ERROR, EEXIST, "that secret is the mesh's current or previous one");
		return false;
	}
	if (mesh_rotate_sign(&m->hostkey, new_secret, until, msg) < 0) {
		g_set_error(error, MESH_ERROR, EINVAL, "cannot sign the rotation");
		return false;
	}
	adopt(m, new_secret, until, msg);
	return true;
}

void mesh_rotate_stop(struct wice_mesh *m)
{
	source_clear(&m->grace_timer);
}

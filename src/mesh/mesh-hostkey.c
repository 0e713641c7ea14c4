/* The host's mesh key (mesh-hostkey.h).
 *
 * host.key holds the 32-byte Ed25519 seed as base64url without padding
 * (43 characters, the alphabet of the mesh secret and the relay ids)
 * followed by a newline; everything else is derived from the seed.  The
 * file is the host's identity in every mesh it joins, so it is never
 * overwritten: a file that cannot be read as a key is reported and left
 * for the administrator to look at. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mesh-hostkey.h"
#include "signaling/relay-proto.h"
#include "util/atomic-file.h"

#define SEED_LEN 32
#define SEED_B64_LEN 43
/* The key, a newline and room to tell a longer file from a key. */
#define KEY_FILE_MAX (SEED_B64_LEN + 16)

bool mesh_wg_public_from_sign_pk(const uint8_t sign_pk[32], uint8_t ret[32])
{
	return crypto_sign_ed25519_pk_to_curve25519(ret, sign_pk) == 0;
}

bool mesh_hostkey_from_seed(const uint8_t seed[32], struct mesh_hostkey *ret)
{
	struct mesh_hostkey hk;

	crypto_sign_seed_keypair(hk.sign_pk, hk.sign_sk, seed);
	if (crypto_sign_ed25519_sk_to_curve25519(hk.wg_private, hk.sign_sk) != 0 ||
	    !mesh_wg_public_from_sign_pk(hk.sign_pk, hk.wg_public)) {
		sodium_memzero(&hk, sizeof(hk));
		return false;
	}
	*ret = hk;
	sodium_memzero(&hk, sizeof(hk));
	return true;
}

void mesh_hostkey_wipe(struct mesh_hostkey *hk)
{
	sodium_memzero(hk, sizeof(*hk));
}

static void set_errno_error(GError **error, int err, const char *what, const char *path)
{
	g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err), "cannot %s '%s': %s", what, path,
		    g_strerror(err));
}

/* The key is as good as the file's permissions: another user who reads it
 * can impersonate the host in every mesh. */
static bool check_private(const char *path, const struct stat *st, GError **error)
{
	if (!S_ISREG(st->st_mode)) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "'%s' is not a regular file", path);
		return false;
	}
	if (st->st_mode & (S_IRWXG | S_IRWXO)) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_PERM,
			    "'%s' holds the host's private key but group or others may access it (mode %04o); "
			    "make it 0600",
			    path, (unsigned)(st->st_mode & 07777));
		return false;
	}
	return true;
}

/* "<43 characters>\n"; a missing newline or a CR LF from an editor is
 * accepted, anything else is not a key. */
static bool parse_key_text(const char *path, const char *text, size_t len, struct mesh_hostkey *ret,
			   GError **error)
{
	uint8_t seed[SEED_LEN];
	bool ok;

	while (len > SEED_B64_LEN && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	ok = relay_b64_decode(seed, sizeof(seed), text, len) && mesh_hostkey_from_seed(seed, ret);
	sodium_memzero(seed, sizeof(seed));
	if (!ok)
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "'%s' is not a wice host key (43 characters of base64url and a newline); "
			    "move it away to make a new key",
			    path);
	return ok;
}

static bool read_key_fd(const char *path, int fd, struct mesh_hostkey *ret, GError **error)
{
	char text[KEY_FILE_MAX];
	struct stat st;
	ssize_t n;
	bool ok;

	if (fstat(fd, &st) < 0) {
		set_errno_error(error, errno, "read", path);
		return false;
	}
	if (!check_private(path, &st, error))
		return false;
	do
		n = read(fd, text, sizeof(text));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		set_errno_error(error, errno, "read", path);
		return false;
	}
	/* A file that fills the buffer is too long to be a key. */
	ok = parse_key_text(path, text, n < (ssize_t)sizeof(text) ? (size_t)n : 0, ret, error);
	sodium_memzero(text, sizeof(text));
	return ok;
}

/* 1: loaded; 0: there is no file; -1: an error. */
static int load_key(const char *path, struct mesh_hostkey *ret, GError **error)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	bool ok;

	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0) {
		set_errno_error(error, errno, "open", path);
		return -1;
	}
	ok = read_key_fd(path, fd, ret, error);
	close(fd);
	return ok ? 1 : -1;
}

/* Writes the key file without replacing anything: if another wice made
 * a key in the meantime, that key stands and ours is dropped.  0,
 * -EEXIST, or another negative errno with @error set. */
static int write_key_file(const char *path, const char *text, GError **error)
{
	int r = atomic_file_write(path, text, strlen(text), 0600, NULL, true);

	if (r < 0 && r != -EEXIST)
		set_errno_error(error, -r, "write", path);
	return r;
}

/* 1: made; 0: another process made one first; -1: an error. */
static int create_key(const char *path, struct mesh_hostkey *ret, GError **error)
{
	uint8_t seed[SEED_LEN];
	char text[SEED_B64_LEN + 2];
	struct mesh_hostkey hk;
	int r;

	/* Every seed has a usable key (its point has prime order); the check
	 * is for the impossible. */
	do
		randombytes_buf(seed, sizeof(seed));
	while (!mesh_hostkey_from_seed(seed, &hk));
	relay_b64_encode(text, sizeof(text) - 1, seed, sizeof(seed));
	strcat(text, "\n");
	sodium_memzero(seed, sizeof(seed));
	r = write_key_file(path, text, error);
	sodium_memzero(text, sizeof(text));
	if (r == 0)
		*ret = hk;
	mesh_hostkey_wipe(&hk);
	return r == 0 ? 1 : r == -EEXIST ? 0 : -1;
}

bool mesh_hostkey_load_or_create(const char *state_dir, struct mesh_hostkey *ret, GError **error)
{
	g_autofree char *path = g_build_filename(state_dir, MESH_HOSTKEY_FILE, NULL);
	int r;

	if (g_mkdir_with_parents(state_dir, 0700) < 0) {
		set_errno_error(error, errno, "create", state_dir);
		return false;
	}
	r = load_key(path, ret, error);
	if (r == 0)
		r = create_key(path, ret, error);
	if (r == 0) /* lost the race: the other process's key is the key */
		r = load_key(path, ret, error);
	return r == 1;
}

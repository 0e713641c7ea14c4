/* `wice mesh COMMAND`: a WireGuard mesh formed from one shared secret
 * (docs/PROTOCOL.md section 10).  `init` makes the secret and `qr` shows
 * it to a phone or to the camera of the next host; the commands that
 * join, leave and rotate a mesh go into the same table.
 *
 * The secret is never taken from the command line, where ps(1) and the
 * shell's history would show it: it comes from a file or standard input,
 * and an error names where it came from, never what it said. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "mesh/mesh-secret.h"
#include "qr-draw.h"
#include "util/read-bounded.h"

/* A secret file is one line of 54 bytes; more is not a secret file. */
#define SECRET_FILE_MAX 4096

static int mesh_init(int argc, char **argv);
static int mesh_qr(int argc, char **argv);

static const struct wice_cmd mesh_commands[] = {
	{ "init", mesh_init, "Print a new mesh secret, optionally as a QR code too" },
	{ "qr", mesh_qr, "Draw a mesh secret as a QR code in the terminal or in a PNG file" },
	{ "join", cmd_mesh_join, "Run the daemon in the foreground with a mesh from a secret file" },
	{ "leave", cmd_mesh_leave, "Announce departure and remove the mesh interface" },
	{ "rotate", cmd_mesh_rotate, "Replace the mesh secret, accepting the old one for a grace period" },
};

int cmd_mesh(int argc, char **argv)
{
	return cmd_dispatch("wice mesh", mesh_commands, G_N_ELEMENTS(mesh_commands), argc, argv);
}

/* The options of `wice mesh NAME`, which takes no positional argument. */
static bool parse_options(const char *name, const char *summary, GOptionEntry *entries, int *argc, char ***argv)
{
	g_autofree char *prgname = g_strdup_printf("wice mesh %s", name);
	g_autoptr(GOptionContext) ctx = g_option_context_new(summary);
	g_autoptr(GError) error = NULL;

	g_set_prgname(prgname);
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, argc, argv, &error)) {
		fprintf(stderr, "%s: %s\n", prgname, error->message);
		return false;
	}
	if (*argc > 1) {
		fprintf(stderr, "%s: unexpected argument '%s' (see %s --help)\n", prgname, (*argv)[1], prgname);
		return false;
	}
	return true;
}

/* Standard output is where the secret goes: a failed write (a full disk,
 * a closed pipe) must not look like success. */
static int flush_stdout(const char *prgname)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "%s: cannot write to standard output: %s\n", prgname, g_strerror(errno));
		return 1;
	}
	return 0;
}

static int draw_terminal(const char *prgname, const char *text)
{
	g_autoptr(GError) error = NULL;

	if (!qr_draw_terminal(stdout, text, &error)) {
		fprintf(stderr, "%s: %s\n", prgname, error->message);
		return 1;
	}
	return 0;
}

/* `wice mesh init > FILE` under the usual umask makes a secret file that
 * every user may read, and the secret lets its reader join the mesh. */
static void warn_if_stdout_shared(const char *prgname)
{
	struct stat st;

	if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & (S_IRWXG | S_IRWXO)))
		fprintf(stderr, "%s: warning: the secret goes to a file that group or others may read (mode %04o)\n",
			prgname, (unsigned)(st.st_mode & 07777));
}

static int mesh_init(int argc, char **argv)
{
	gboolean qr = FALSE;
	GOptionEntry entries[] = {
		{ "qr", 0, 0, G_OPTION_ARG_NONE, &qr, "Also draw the secret as a QR code", NULL },
		{ 0 }
	};
	uint8_t secret[MESH_SECRET_LEN];
	char text[MESH_SECRET_STR_LEN];
	int status = 0;

	if (!parse_options("init", "- print a new mesh secret", entries, &argc, &argv))
		return 1;
	warn_if_stdout_shared("wice mesh init");
	mesh_secret_generate(secret);
	mesh_secret_format(secret, text);
	printf("%s\n", text);
	if (qr)
		status = draw_terminal("wice mesh init", text);
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(text, sizeof(text));
	return status | flush_stdout("wice mesh init");
}

/* The secret in @path, or on standard input for NULL or "-". */
bool cmd_mesh_read_secret(const char *prgname, const char *path, uint8_t ret[MESH_SECRET_LEN])
{
	bool from_stdin = !path || strcmp(path, "-") == 0;
	const char *name = from_stdin ? "standard input" : path;
	int fd = from_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	char buf[SECRET_FILE_MAX];
	size_t len = 0;
	bool ok;

	if (fd < 0) {
		fprintf(stderr, "%s: cannot open '%s': %s\n", prgname, path, g_strerror(errno));
		return false;
	}
	if (from_stdin && isatty(fd))
		fprintf(stderr, "%s: reading the mesh secret from standard input\n", prgname);
	ok = read_bounded(fd, buf, sizeof(buf), &len);
	if (!ok)
		fprintf(stderr, "%s: cannot read '%s': %s\n", prgname, name, g_strerror(errno));
	if (!from_stdin)
		close(fd);
	if (ok && !mesh_secret_parse(buf, len, ret)) {
		fprintf(stderr, "%s: '%s' does not hold a mesh secret (" MESH_SECRET_PREFIX
			" and 43 characters of base64url, as 'wice mesh init' prints)\n", prgname, name);
		ok = false;
	}
	sodium_memzero(buf, sizeof(buf));
	return ok;
}

static int mesh_qr(int argc, char **argv)
{
	g_autofree char *png_path = NULL, *secret_path = NULL;
	GOptionEntry entries[] = {
		{ "png", 0, 0, G_OPTION_ARG_FILENAME, &png_path, "Write a PNG image (mode 0600) instead", "FILE" },
		{ "secret-file", 0, 0, G_OPTION_ARG_FILENAME, &secret_path,
		  "Read the secret from FILE (default: standard input)", "FILE" },
		{ 0 }
	};
	g_autoptr(GError) error = NULL;
	uint8_t secret[MESH_SECRET_LEN];
	char text[MESH_SECRET_STR_LEN];
	int status = 0;

	if (!parse_options("qr", "- draw a mesh secret as a QR code", entries, &argc, &argv))
		return 1;
	if (!cmd_mesh_read_secret("wice mesh qr", secret_path, secret))
		return 1;
	/* The canonical spelling, whatever white space the file had. */
	mesh_secret_format(secret, text);
	sodium_memzero(secret, sizeof(secret));
	if (png_path && !qr_write_png(png_path, text, &error)) {
		fprintf(stderr, "wice mesh qr: %s\n", error->message);
		status = 1;
	} else if (!png_path) {
		status = draw_terminal("wice mesh qr", text) | flush_stdout("wice mesh qr");
	}
	sodium_memzero(text, sizeof(text));
	return status;
}

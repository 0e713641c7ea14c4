/* The hosts file block: ours replaced, everyone else's lines kept byte
 * for byte, and the file left alone when nothing changes or when it is
 * not in a state we can safely edit. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <glib/gstdio.h>

#include "mesh/mesh-hosts.h"
#include "tmp-dir.h"

static const struct mesh_hosts_entry two[] = {
	{ "10.42.7.9", "alpha" },
	{ "fd3c:1a2b:3c4d::9f1e:22a0:5b6c:7d8e", "alpha" },
};
static const struct mesh_hosts_entry one[] = { { "10.42.0.2", "beta" } };

#define BLOCK_TWO \
	"# BEGIN wice mesh wgmesh0\n" \
	"10.42.7.9\talpha\n" \
	"fd3c:1a2b:3c4d::9f1e:22a0:5b6c:7d8e\talpha\n" \
	"# END wice mesh wgmesh0\n"
#define BLOCK_ONE \
	"# BEGIN wice mesh wgmesh0\n" \
	"10.42.0.2\tbeta\n" \
	"# END wice mesh wgmesh0\n"

/* Lines a user wrote, with the oddities a real file has: CRLF, tabs,
 * trailing blanks, a comment that looks almost like our marker. */
#define USER_HEAD "127.0.0.1\tlocalhost \r\n# BEGIN wice mesh wgmesh00\n\n::1 localhost ip6-localhost\n"
#define USER_TAIL "192.0.2.7  printer # the office one\n#END wice mesh wgmesh0\n"

static void expect_rewrite(const char *text, const struct mesh_hosts_entry *e, size_t n, const char *want)
{
	g_autofree char *got = mesh_hosts_rewrite(text, "wgmesh0", e, n);

	cr_assert(got);
	cr_assert_str_eq(got, want);
}

Test(mesh_hosts, block_replaced_rest_untouched)
{
	expect_rewrite(USER_HEAD BLOCK_TWO USER_TAIL, one, 1, USER_HEAD BLOCK_ONE USER_TAIL);
	expect_rewrite(USER_HEAD BLOCK_ONE USER_TAIL, two, 2, USER_HEAD BLOCK_TWO USER_TAIL);
	expect_rewrite(BLOCK_ONE, two, 2, BLOCK_TWO);
}

Test(mesh_hosts, appended_when_absent)
{
	expect_rewrite(USER_HEAD, two, 2, USER_HEAD BLOCK_TWO);
	expect_rewrite("", two, 2, BLOCK_TWO);
	/* The user's last line keeps its bytes and gets the newline it lacked. */
	expect_rewrite("127.0.0.1 localhost", two, 2, "127.0.0.1 localhost\n" BLOCK_TWO);
}

Test(mesh_hosts, removed_with_no_entries)
{
	expect_rewrite(USER_HEAD BLOCK_TWO USER_TAIL, NULL, 0, USER_HEAD USER_TAIL);
	expect_rewrite(USER_HEAD, NULL, 0, USER_HEAD);
	expect_rewrite("", NULL, 0, "");
	expect_rewrite("no newline", NULL, 0, "no newline");
}

Test(mesh_hosts, last_line_without_newline)
{
	/* An END marker without a newline still ends the block. */
	expect_rewrite(USER_HEAD "# BEGIN wice mesh wgmesh0\n10.0.0.1\tx\n# END wice mesh wgmesh0", one, 1,
		       USER_HEAD BLOCK_ONE);
	expect_rewrite(BLOCK_ONE "tail", one, 1, BLOCK_ONE "tail");
}

Test(mesh_hosts, markers_with_trailing_blanks_and_crlf)
{
	expect_rewrite("a\n# BEGIN wice mesh wgmesh0 \r\nold\n# END wice mesh wgmesh0\r\nb\n", one, 1,
		       "a\n" BLOCK_ONE "b\n");
}

Test(mesh_hosts, two_interfaces_independent)
{
	g_autofree char *a = mesh_hosts_rewrite(USER_HEAD, "wgmesh0", one, 1);
	g_autofree char *b = mesh_hosts_rewrite(a, "wgmesh1", two, 2);
	g_autofree char *c = mesh_hosts_rewrite(b, "wgmesh0", two, 2);
	g_autofree char *d = mesh_hosts_rewrite(c, "wgmesh1", NULL, 0);
	g_autofree char *want_b = g_strconcat(USER_HEAD, BLOCK_ONE, "# BEGIN wice mesh wgmesh1\n",
					      "10.42.7.9\talpha\n", "fd3c:1a2b:3c4d::9f1e:22a0:5b6c:7d8e\talpha\n",
					      "# END wice mesh wgmesh1\n", NULL);

	cr_assert_str_eq(b, want_b);
	cr_assert(strstr(c, "# BEGIN wice mesh wgmesh1\n10.42.7.9\talpha\n"));
	cr_assert_str_eq(d, USER_HEAD BLOCK_TWO);
}

/* A BEGIN with no END: the lines after it may be the user's. */
Test(mesh_hosts, unterminated_block_left_alone)
{
	cr_assert_null(mesh_hosts_rewrite(USER_HEAD "# BEGIN wice mesh wgmesh0\n10.0.0.1 x\nmine\n", "wgmesh0", one, 1));
	cr_assert_null(mesh_hosts_rewrite("# BEGIN wice mesh wgmesh0\n# END wice mesh wgmesh1\n", "wgmesh0", NULL, 0));
}

Test(mesh_hosts, duplicate_blocks_merged)
{
	expect_rewrite(BLOCK_TWO "mine\n" BLOCK_TWO, one, 1, BLOCK_ONE "mine\n");
}

Test(mesh_hosts, bad_input)
{
	static const struct mesh_hosts_entry bad[] = {
		{ "10.0.0.1", "ok" },        { "not-an-address", "x" }, { "10.0.0.2", "two words" },
		{ "10.0.0.3", "new\nline" }, { "10.0.0.4", "" },        { "10.0.0.5", "-dash" },
		{ "10.0.0.6\n", "x" },
	};

	cr_assert_null(mesh_hosts_rewrite("", "wg mesh", one, 1));
	cr_assert_null(mesh_hosts_rewrite("", "wg\nmesh", one, 1));
	cr_assert_null(mesh_hosts_rewrite("", "", one, 1));
	cr_assert_null(mesh_hosts_rewrite("", "sixteen-chars-xx", one, 1));
	/* Entries that could not be a hosts(5) line are left out, and cost
	 * the others nothing. */
	expect_rewrite("", bad, G_N_ELEMENTS(bad),
		       "# BEGIN wice mesh wgmesh0\n10.0.0.1\tok\n# END wice mesh wgmesh0\n");
	expect_rewrite(BLOCK_ONE, bad + 1, G_N_ELEMENTS(bad) - 1, "");
}

/* ---- the file -------------------------------------------------------------- */

static char *dir, *path;

static void setup(void)
{
	dir = tmp_dir_new("test-mesh-hosts-XXXXXX");
	cr_assert(dir);
	path = g_build_filename(dir, "hosts", NULL);
}

static void teardown(void)
{
	g_free(path);
	tmp_dir_free(dir);
}

TestSuite(mesh_hosts_file, .init = setup, .fini = teardown);

static char *contents(const char *p)
{
	char *text = NULL;

	cr_assert(g_file_get_contents(p, &text, NULL, NULL));
	return text;
}

static int count_files(void)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	int n = 0;

	while (g_dir_read_name(d))
		n++;
	return n;
}

Test(mesh_hosts_file, update_keeps_mode_and_other_lines)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *text = NULL;
	struct stat st;

	cr_assert(g_file_set_contents(path, USER_HEAD USER_TAIL, -1, NULL));
	cr_assert_eq(chmod(path, 0640), 0);
	cr_assert(mesh_hosts_update(path, "wgmesh0", two, 2, &error), "%s", error ? error->message : "");
	text = contents(path);
	cr_assert_str_eq(text, USER_HEAD USER_TAIL BLOCK_TWO);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0640);
	cr_assert_eq(count_files(), 1, "no temporary file left behind");
}

Test(mesh_hosts_file, no_write_when_unchanged)
{
	struct stat before, after;

	cr_assert(g_file_set_contents(path, USER_HEAD BLOCK_TWO, -1, NULL));
	cr_assert_eq(stat(path, &before), 0);
	cr_assert(mesh_hosts_update(path, "wgmesh0", two, 2, NULL));
	cr_assert_eq(stat(path, &after), 0);
	cr_assert_eq(before.st_ino, after.st_ino, "the file was replaced");
	cr_assert(mesh_hosts_update(path, "wgmesh0", one, 1, NULL));
	cr_assert_eq(stat(path, &after), 0);
	cr_assert_neq(before.st_ino, after.st_ino, "a change is a new file, renamed into place");
}

Test(mesh_hosts_file, unterminated_block_is_an_error_and_no_write)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *text = NULL;
	const char *orig = "# BEGIN wice mesh wgmesh0\nmine\n";

	cr_assert(g_file_set_contents(path, orig, -1, NULL));
	cr_assert_not(mesh_hosts_update(path, "wgmesh0", two, 2, &error));
	cr_assert(strstr(error->message, path), "%s", error->message);
	text = contents(path);
	cr_assert_str_eq(text, orig);
}

Test(mesh_hosts_file, missing_file_created_or_left_missing)
{
	g_autofree char *text = NULL;
	struct stat st;

	cr_assert(mesh_hosts_update(path, "wgmesh0", NULL, 0, NULL));
	cr_assert_neq(stat(path, &st), 0);
	umask(022);
	cr_assert(mesh_hosts_update(path, "wgmesh0", one, 1, NULL));
	text = contents(path);
	cr_assert_str_eq(text, BLOCK_ONE);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0644);
}

Test(mesh_hosts_file, symlink_kept_target_rewritten)
{
	g_autofree char *link = g_build_filename(dir, "link", NULL);
	g_autofree char *text = NULL;
	struct stat st;

	cr_assert(g_file_set_contents(path, "a\n", -1, NULL));
	cr_assert_eq(symlink("hosts", link), 0);
	cr_assert(mesh_hosts_update(link, "wgmesh0", one, 1, NULL));
	cr_assert_eq(lstat(link, &st), 0);
	cr_assert(S_ISLNK(st.st_mode));
	text = contents(path);
	cr_assert_str_eq(text, "a\n" BLOCK_ONE);
}

Test(mesh_hosts_file, nul_byte_is_an_error)
{
	g_autoptr(GError) error = NULL;

	cr_assert(g_file_set_contents(path, "a\0b\n", 4, NULL));
	cr_assert_not(mesh_hosts_update(path, "wgmesh0", one, 1, &error));
	cr_assert(error);
}

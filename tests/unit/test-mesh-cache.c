/* The peer cache: what a restarted daemon gets back from its file, what
 * it skips, and that the file is written whole and private. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <criterion/criterion.h>
#include <glib/gstdio.h>

#include "mesh/mesh-cache.h"
#include "tmp-dir.h"

#define NOW 1700000000u

static char *dir;

static void setup(void)
{
	dir = tmp_dir_new("test-mesh-cache-XXXXXX");
	cr_assert(dir);
}

static void teardown(void)
{
	tmp_dir_free(dir);
}

TestSuite(mesh_cache, .init = setup, .fini = teardown);

static void entry(struct mesh_cache_entry *e, uint8_t fill, size_t len, const char *addr, uint16_t port,
		  uint64_t last_seen)
{
	memset(e, 0, sizeof(*e));
	memset(e->announcement, fill, len);
	e->announcement_len = len;
	e->last_seen = last_seen;
	if (!addr)
		return;
	e->has_endpoint = true;
	e->endpoint.family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	cr_assert_eq(inet_pton(e->endpoint.family, addr, e->endpoint.addr), 1);
	e->endpoint.port = port;
}

static GArray *parse(const char *text, GError **error)
{
	return mesh_cache_parse(text, strlen(text), NOW, error);
}

Test(mesh_cache, save_load_round_trip)
{
	struct mesh_cache_entry in[3];
	g_autofree char *path = g_build_filename(dir, "wgmesh0.cache.json", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) out = NULL;

	entry(&in[0], 0xa1, 197, "192.0.2.1", 51820, NOW - 10);
	entry(&in[1], 0xb2, MESH_ANNOUNCE_MAX, "2001:db8::1", 65535, NOW);
	entry(&in[2], 0xc3, 1, NULL, 0, NOW - MESH_CACHE_MAX_AGE_S);
	cr_assert(mesh_cache_save(path, in, 3, &error), "%s", error ? error->message : "");
	out = mesh_cache_load(path, NOW, &error);
	cr_assert(out, "%s", error ? error->message : "");
	cr_assert_eq(out->len, 3);
	for (guint i = 0; i < 3; i++)
		cr_assert_arr_eq(&g_array_index(out, struct mesh_cache_entry, i), &in[i], sizeof(in[i]), "entry %u", i);
}

Test(mesh_cache, file_is_private_and_replaced_whole)
{
	struct mesh_cache_entry in;
	g_autofree char *path = g_build_filename(dir, "c.json", NULL);
	g_autoptr(GDir) d = NULL;
	struct stat st;
	int files = 0;

	umask(0);
	entry(&in, 1, 10, NULL, 0, NOW);
	cr_assert(g_file_set_contents(path, "old", -1, NULL));
	cr_assert_eq(chmod(path, 0644), 0);
	cr_assert(mesh_cache_save(path, &in, 1, NULL));
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600);
	d = g_dir_open(dir, 0, NULL);
	while (g_dir_read_name(d))
		files++;
	cr_assert_eq(files, 1, "no temporary file left behind");
}

Test(mesh_cache, save_error_quotes_path)
{
	struct mesh_cache_entry in;
	g_autoptr(GError) error = NULL;

	entry(&in, 1, 10, NULL, 0, NOW);
	cr_assert_not(mesh_cache_save("/nonexistent-dir/x.json", &in, 1, &error));
	cr_assert(strstr(error->message, "/nonexistent-dir/x.json"), "%s", error->message);
}

Test(mesh_cache, missing_file_is_empty)
{
	g_autofree char *path = g_build_filename(dir, "none.json", NULL);
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) out = mesh_cache_load(path, NOW, &error);

	cr_assert(out);
	cr_assert_eq(out->len, 0);
	cr_assert_null(error);
}

Test(mesh_cache, expiry_at_24_hours)
{
	struct mesh_cache_entry in[4];
	g_autofree char *path = g_build_filename(dir, "c.json", NULL);
	g_autoptr(GArray) out = NULL;

	entry(&in[0], 1, 10, NULL, 0, NOW - MESH_CACHE_MAX_AGE_S);     /* kept */
	entry(&in[1], 2, 10, NULL, 0, NOW - MESH_CACHE_MAX_AGE_S - 1); /* gone */
	entry(&in[2], 3, 10, NULL, 0, NOW + 60);                       /* our clock went back: kept */
	entry(&in[3], 4, 10, NULL, 0, 0);                              /* gone */
	cr_assert(mesh_cache_save(path, in, 4, NULL));
	out = mesh_cache_load(path, NOW, NULL);
	cr_assert_eq(out->len, 2);
	cr_assert_eq(g_array_index(out, struct mesh_cache_entry, 0).announcement[0], 1);
	cr_assert_eq(g_array_index(out, struct mesh_cache_entry, 1).announcement[0], 3);
}

Test(mesh_cache, bad_entries_skipped_one_by_one)
{
	const char *text =
		"{\"version\": 1, \"members\": ["
		"{\"announcement\": \"AQID\", \"last_seen\": 1700000000},"                          /* good */
		"{\"announcement\": \"AQID\", \"last_seen\": -1},"
		"{\"announcement\": \"AQID\", \"last_seen\": \"1700000000\"},"
		"{\"announcement\": \"AQID\"},"
		"{\"announcement\": \"AQI\", \"last_seen\": 1700000000},"                           /* bad padding */
		"{\"announcement\": \"AQ-D\", \"last_seen\": 1700000000},"                          /* base64url */
		"{\"announcement\": \"\", \"last_seen\": 1700000000},"
		"{\"announcement\": 5, \"last_seen\": 1700000000},"
		"{\"last_seen\": 1700000000},"
		"{\"announcement\": \"AQID\", \"last_seen\": 1700000000, \"endpoint\": \"192.0.2.1\"},"
		"{\"announcement\": \"AQID\", \"last_seen\": 1700000000, \"endpoint\": \"192.0.2.1:0\"},"
		"{\"announcement\": \"AQID\", \"last_seen\": 1700000000, \"endpoint\": \"192.0.2.1:65536\"},"
		"{\"announcement\": \"AQID\", \"last_seen\": 1700000000, \"endpoint\": \"192.0.2.1:+5\"},"
		"{\"announcement\": \"AQID\", \"last_seen\": 1700000000, \"endpoint\": \"2001:db8::1:5\"},"
		"{\"announcement\": \"AQID\", \"last_seen\": 1700000000, \"endpoint\": \"[192.0.2.1]:5\"},"
		"{\"announcement\": \"AQID\", \"last_seen\": 1700000000, \"endpoint\": null},"
		"[], 7, null,"
		"{\"announcement\": \"AQID\", \"last_seen\": 1700000001, \"endpoint\": \"[2001:db8::1]:51820\"}" /* good */
		"]}";
	g_autoptr(GError) error = NULL;
	g_autoptr(GArray) out = parse(text, &error);
	struct mesh_cache_entry *e;

	cr_assert(out, "%s", error ? error->message : "");
	cr_assert_eq(out->len, 2);
	e = &g_array_index(out, struct mesh_cache_entry, 0);
	cr_assert_eq(e->announcement_len, 3);
	cr_assert_eq(e->announcement[2], 3);
	cr_assert_not(e->has_endpoint);
	e = &g_array_index(out, struct mesh_cache_entry, 1);
	cr_assert(e->has_endpoint);
	cr_assert_eq(e->endpoint.family, AF_INET6);
	cr_assert_eq(e->endpoint.port, 51820);
	cr_assert_eq(e->last_seen, NOW + 1);
}

Test(mesh_cache, announcement_over_the_cap_skipped)
{
	g_autofree char *big = g_malloc0(MESH_ANNOUNCE_MAX + 1);
	g_autofree char *b64 = g_base64_encode((const guchar *)big, MESH_ANNOUNCE_MAX + 1);
	g_autofree char *text = g_strdup_printf("{\"version\":1,\"members\":[{\"announcement\":\"%s\",\"last_seen\":%u}]}",
						b64, NOW);
	g_autoptr(GArray) out = parse(text, NULL);

	cr_assert_eq(out->len, 0);
}

Test(mesh_cache, entries_capped)
{
	GString *s = g_string_new("{\"version\":1,\"members\":[");
	g_autoptr(GArray) out = NULL;

	for (int i = 0; i < MESH_CACHE_MAX_ENTRIES + 10; i++)
		g_string_append_printf(s, "%s{\"announcement\":\"AQID\",\"last_seen\":%u}", i ? "," : "", NOW);
	g_string_append(s, "]}");
	out = mesh_cache_parse(s->str, s->len, NOW, NULL);
	cr_assert_eq(out->len, MESH_CACHE_MAX_ENTRIES);
	g_string_free(s, TRUE);
}

Test(mesh_cache, not_a_cache_is_an_error)
{
	static const char *const texts[] = {
		"", "hello", "[]", "1", "null", "{}", "{\"members\": []}", "{\"version\": 2, \"members\": []}",
		"{\"version\": \"1\", \"members\": []}", "{\"version\": 1}", "{\"version\": 1, \"members\": {}}",
		"{\"version\": 1, \"members\": [",
	};

	for (size_t i = 0; i < G_N_ELEMENTS(texts); i++) {
		g_autoptr(GError) error = NULL;
		GArray *out = parse(texts[i], &error);

		cr_assert_null(out, "'%s'", texts[i]);
		cr_assert(error, "'%s'", texts[i]);
	}
	{
		g_autoptr(GError) error = NULL;
		g_autoptr(GArray) out = parse("{\"version\": 1, \"members\": []}", &error);

		cr_assert(out);
		cr_assert_eq(out->len, 0);
	}
}

Test(mesh_cache, load_error_quotes_path)
{
	g_autofree char *path = g_build_filename(dir, "c.json", NULL);
	g_autoptr(GError) error = NULL;

	cr_assert(g_file_set_contents(path, "# not json\n", -1, NULL));
	cr_assert_null(mesh_cache_load(path, NOW, &error));
	cr_assert(strstr(error->message, path), "%s", error->message);
	g_clear_error(&error);
	cr_assert(g_file_set_contents(path, "{\"version\": 9, \"members\": []}", -1, NULL));
	cr_assert_null(mesh_cache_load(path, NOW, &error));
	cr_assert(strstr(error->message, path), "%s", error->message);
}

Test(mesh_cache, oversized_text_is_an_error)
{
	g_autoptr(GError) error = NULL;

	cr_assert_null(mesh_cache_parse("{}", MESH_CACHE_MAX_SIZE + 1, NOW, &error));
	cr_assert(error);
}

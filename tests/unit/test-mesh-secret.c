/* The mesh secret, what every member derives from it, and the host key
 * file.  The vectors come from tests/unit/mesh-vectors.py, which computes
 * them from docs/PROTOCOL.md section 10 with Python's hashlib, not from
 * the C code; two members that disagree on any of them never meet. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>

#include "mesh/mesh-hostkey.h"
#include "mesh/mesh-secret.h"

#define VECTOR_SECRET "wice://v1/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
#define VECTOR_TIME 1700000000ull

static void setup(void)
{
	cr_assert_geq(sodium_init(), 0);
}

TestSuite(secret, .init = setup);
TestSuite(derive, .init = setup);
TestSuite(member, .init = setup);
TestSuite(hostkey, .init = setup);

/* bytes first, first + 1, ... */
static void counting(uint8_t *out, size_t len, uint8_t first)
{
	for (size_t i = 0; i < len; i++)
		out[i] = (uint8_t)(first + i);
}

static void assert_hex(const uint8_t *bin, size_t len, const char *want, const char *what)
{
	char hex[2 * 64 + 1];

	cr_assert_leq(len, 64);
	sodium_bin2hex(hex, sizeof(hex), bin, len);
	cr_assert_str_eq(hex, want, "%s", what);
}

static void assert_addr(int af, const void *addr, const char *want, const char *what)
{
	char text[INET6_ADDRSTRLEN];

	cr_assert_not_null(inet_ntop(af, addr, text, sizeof(text)));
	cr_assert_str_eq(text, want, "%s", what);
}

static bool parses(const char *text)
{
	uint8_t secret[MESH_SECRET_LEN];

	return mesh_secret_parse(text, strlen(text), secret);
}

/* The keys of the vector secret (bytes 0x00..0x1f). */
static void vector_keys(struct mesh_keys *ret)
{
	uint8_t secret[MESH_SECRET_LEN];

	counting(secret, sizeof(secret), 0);
	mesh_keys_derive(secret, ret);
}

/* The host key of the vector seed (bytes 0x20..0x3f). */
static void vector_hostkey(struct mesh_hostkey *ret)
{
	uint8_t seed[32];

	counting(seed, sizeof(seed), 0x20);
	cr_assert(mesh_hostkey_from_seed(seed, ret));
}

Test(secret, formats_vector)
{
	uint8_t secret[MESH_SECRET_LEN];
	char text[MESH_SECRET_STR_LEN];

	counting(secret, sizeof(secret), 0);
	mesh_secret_format(secret, text);
	cr_assert_str_eq(text, VECTOR_SECRET);
}

Test(secret, round_trip)
{
	uint8_t secret[MESH_SECRET_LEN], back[MESH_SECRET_LEN];
	char text[MESH_SECRET_STR_LEN];

	for (int i = 0; i < 1000; i++) {
		mesh_secret_generate(secret);
		mesh_secret_format(secret, text);
		cr_assert_eq(strlen(text), MESH_SECRET_STR_LEN - 1);
		cr_assert(mesh_secret_parse(text, strlen(text), back), "%s", text);
		cr_assert_arr_eq(back, secret, sizeof(secret));
	}
}

Test(secret, generate_differs)
{
	uint8_t a[MESH_SECRET_LEN], b[MESH_SECRET_LEN];

	mesh_secret_generate(a);
	mesh_secret_generate(b);
	cr_assert_arr_neq(a, b, sizeof(a));
}

Test(secret, surrounding_white_space)
{
	cr_assert(parses(VECTOR_SECRET "\n"));
	cr_assert(parses(VECTOR_SECRET "\r\n"));
	cr_assert(parses("  \t" VECTOR_SECRET " \n\n"));
	cr_assert(parses("\n" VECTOR_SECRET));
}

Test(secret, rejects_other_spellings)
{
	static const char *const bad[] = {
		"",
		"\n",
		"wice://v2/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
		"WICE://v1/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
		"wice:/v1/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
		"wice://v1/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh",   /* 42 */
		"wice://v1/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8A", /* 44 */
		"wice://v1/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9", /* leftover bits */
		"wice://v1/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		"wice://v1/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh=",
		"wice://v1/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8==",
		"wice://v1/AAECAwQFBgcICQoLDA0ODxAREhMUF RYXGBkaGxwdHh8",
		"wice://v1/AAECAwQFBgcICQoLDA0ODxAREhMUF\nRYXGBkaGxwdHh8",
		"wice://v1/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH h8",
		"wice://v1/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+", /* standard base64 */
		"wice://v1/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh/",
		"wice://v1/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh\xc3",
		"wice://v1/ AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
	};

	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
		cr_assert_not(parses(bad[i]), "accepted '%s'", bad[i]);
}

Test(secret, rejects_every_truncation)
{
	uint8_t secret[MESH_SECRET_LEN];

	for (size_t len = 0; len < strlen(VECTOR_SECRET); len++)
		cr_assert_not(mesh_secret_parse(VECTOR_SECRET, len, secret), "accepted %zu bytes", len);
	cr_assert(mesh_secret_parse(VECTOR_SECRET, strlen(VECTOR_SECRET), secret));
}

/* The NUL is not white space: a secret file with a NUL in it is damaged. */
Test(secret, rejects_embedded_nul)
{
	static const char text[] = VECTOR_SECRET "\0\n";
	uint8_t secret[MESH_SECRET_LEN];

	cr_assert_not(mesh_secret_parse(text, sizeof(text) - 1, secret));
}

Test(secret, failed_parse_leaves_output_alone)
{
	uint8_t secret[MESH_SECRET_LEN], want[MESH_SECRET_LEN];

	memset(secret, 0xaa, sizeof(secret));
	memcpy(want, secret, sizeof(want));
	cr_assert_not(mesh_secret_parse("wice://v1/x", 11, secret));
	cr_assert_arr_eq(secret, want, sizeof(want));
}

Test(derive, vector_keys)
{
	struct mesh_keys k;
	char id[MESH_NETWORK_ID_STR_LEN];

	vector_keys(&k);
	mesh_network_id_str(&k, id);
	cr_assert_str_eq(id, "2d7fdebc4a9022c6");
	assert_hex(k.membership_key, 32, "4c3f49c683e26ad4b61e0e8ee2af5e30222ef3b9d870380a9cfccf6c9812a424",
		   "membership");
	assert_hex(k.announce_key, 32, "3464af9124fda2aa0638cebc29f7568a04fc8c6d1008afd528f67515081baa1f",
		   "announce");
	assert_hex(k.psk_key, 32, "3ba119a38da8a5fbe2af18e249fe740fdd259a49b3238a70192898fa2b95d9f5", "psk");
	assert_hex(k.address_key, 32, "9e1c240a9e04859ae2da9b72ce2fcbf1eff697b7db8611dc511145586ad6b06e",
		   "address");
	assert_hex(k.rendezvous_key, 32, "89cdca10941ab83e45ce1871838a511406660e038309b140237e0dd62eec13bf",
		   "rendezvous");
}

Test(derive, vector_network)
{
	struct mesh_keys k;

	vector_keys(&k);
	cr_assert_eq(k.listen_port, 54256);
	assert_addr(AF_INET, &k.lan_group4, "239.255.253.182", "lan group4");
	assert_addr(AF_INET6, &k.lan_group6, "ff12::6d65:7368:fdb6:59c", "lan group6");
	cr_assert_eq(k.lan_port, 63257);
	assert_addr(AF_INET, &k.net4, "10.95.0.0", "net4");
	assert_addr(AF_INET6, &k.net6, "fdaf:ab56:c922::", "net6");
}

/* What a user notices: two meshes on one host or LAN do not share a port,
 * group or prefix (for these two secrets; by chance they may). */
Test(derive, secrets_differ)
{
	uint8_t s1[MESH_SECRET_LEN], s2[MESH_SECRET_LEN];
	struct mesh_keys a, b;

	counting(s1, sizeof(s1), 0);
	counting(s2, sizeof(s2), 1);
	mesh_keys_derive(s1, &a);
	mesh_keys_derive(s2, &b);
	cr_assert_arr_neq(a.network_id, b.network_id, MESH_NETWORK_ID_LEN);
	cr_assert_arr_neq(a.membership_key, b.membership_key, MESH_KEY_LEN);
	cr_assert_neq(a.listen_port, b.listen_port);
	cr_assert_neq(a.lan_port, b.lan_port);
	cr_assert_arr_neq(&a.net6, &b.net6, 6);
}

Test(derive, ranges)
{
	uint8_t secret[MESH_SECRET_LEN];
	struct mesh_keys k;

	for (int i = 0; i < 2000; i++) {
		mesh_secret_generate(secret);
		mesh_keys_derive(secret, &k);
		cr_assert(k.listen_port >= MESH_PORT_BASE && k.listen_port < MESH_PORT_BASE + MESH_PORT_SPAN);
		cr_assert(k.lan_port >= MESH_LAN_PORT_BASE && k.lan_port < MESH_LAN_PORT_BASE + MESH_LAN_PORT_SPAN);
		cr_assert(IN_MULTICAST(ntohl(k.lan_group4.s_addr)));
		cr_assert(IN6_IS_ADDR_MC_LINKLOCAL(&k.lan_group6));
		cr_assert_eq(((uint8_t *)&k.net4)[0], 10);
		cr_assert_eq(k.net6.s6_addr[0], 0xfd);
	}
}

Test(derive, wipe)
{
	static const struct mesh_keys zero;
	struct mesh_keys k;

	vector_keys(&k);
	mesh_keys_wipe(&k);
	cr_assert_arr_eq(&k, &zero, sizeof(k));
}

Test(member, vector_addresses)
{
	struct mesh_keys k;
	struct mesh_hostkey hk;
	struct in_addr a4;
	struct in6_addr a6;

	vector_keys(&k);
	vector_hostkey(&hk);
	mesh_address4(&k, hk.wg_public, 0, &a4);
	assert_addr(AF_INET, &a4, "10.95.240.27", "address4 counter 0");
	mesh_address6(&k, hk.wg_public, 0, &a6);
	assert_addr(AF_INET6, &a6, "fdaf:ab56:c922:0:408b:b452:779c:ca7b", "address6 counter 0");
	mesh_address4(&k, hk.wg_public, 1, &a4);
	assert_addr(AF_INET, &a4, "10.95.63.251", "address4 counter 1");
	mesh_address6(&k, hk.wg_public, 1, &a6);
	assert_addr(AF_INET6, &a6, "fdaf:ab56:c922:0:43c2:9525:bd35:414a", "address6 counter 1");
}

Test(member, addresses_inside_the_mesh_prefixes)
{
	struct mesh_keys k;
	uint8_t pub[32];
	struct in_addr a4;
	struct in6_addr a6;

	vector_keys(&k);
	for (int i = 0; i < 20000; i++) {
		randombytes_buf(pub, sizeof(pub));
		mesh_address4(&k, pub, (uint8_t)i, &a4);
		const uint8_t *b = (const uint8_t *)&a4;
		uint16_t host = (uint16_t)(b[2] << 8 | b[3]);
		cr_assert_arr_eq(b, &k.net4, 2);
		cr_assert(host != 0 && host != 0xffff, "host part %u", host);
		mesh_address6(&k, pub, (uint8_t)i, &a6);
		cr_assert_arr_eq(a6.s6_addr, k.net6.s6_addr, 6);
		cr_assert(a6.s6_addr[6] == 0 && a6.s6_addr[7] == 0);
		cr_assert(memcmp(a6.s6_addr + 8, (uint8_t[8]){ 0 }, 8) != 0);
	}
}

Test(member, counter_moves_the_address)
{
	struct mesh_keys k;
	struct mesh_hostkey hk;
	struct in_addr a, b;
	struct in6_addr a6, b6;

	vector_keys(&k);
	vector_hostkey(&hk);
	for (unsigned c = 0; c < 255; c++) {
		mesh_address4(&k, hk.wg_public, (uint8_t)c, &a);
		mesh_address4(&k, hk.wg_public, (uint8_t)(c + 1), &b);
		cr_assert_neq(a.s_addr, b.s_addr, "counter %u", c);
		mesh_address6(&k, hk.wg_public, (uint8_t)c, &a6);
		mesh_address6(&k, hk.wg_public, (uint8_t)(c + 1), &b6);
		cr_assert_arr_neq(&a6, &b6, sizeof(a6), "counter %u", c);
	}
}

Test(member, pair_psk)
{
	struct mesh_keys k;
	uint8_t a[32], b[32], c[32], ab[32], ba[32], ac[32], bc[32];

	vector_keys(&k);
	counting(a, sizeof(a), 0x20);
	counting(b, sizeof(b), 0x40);
	counting(c, sizeof(c), 0x60);
	mesh_pair_psk(&k, a, b, ab);
	mesh_pair_psk(&k, b, a, ba);
	mesh_pair_psk(&k, a, c, ac);
	mesh_pair_psk(&k, b, c, bc);
	assert_hex(ab, 32, "e5e70fb2a1c195513d0629dbff9550811ab03c4d3add8259ce05263c1e7db050", "pair psk");
	cr_assert_arr_eq(ab, ba, 32, "not symmetric");
	cr_assert_arr_neq(ab, ac, 32);
	cr_assert_arr_neq(ab, bc, 32);
	cr_assert_arr_neq(ac, bc, 32);
}

Test(member, proof)
{
	struct mesh_keys k, other;
	struct mesh_hostkey hk, hk2;
	uint8_t proof[MESH_PROOF_LEN], secret2[MESH_SECRET_LEN];

	vector_keys(&k);
	vector_hostkey(&hk);
	mesh_membership_proof(&k, hk.sign_pk, VECTOR_TIME, proof);
	assert_hex(proof, MESH_PROOF_LEN, "7b00caf342609c4a8e4da6504abefa99cf242f9a7957679baa499f2d994d74a5", "proof");
	cr_assert(mesh_membership_proof_verify(&k, hk.sign_pk, VECTOR_TIME, proof));

	cr_assert_not(mesh_membership_proof_verify(&k, hk.sign_pk, VECTOR_TIME + 1, proof), "another time");
	counting(secret2, sizeof(secret2), 0x80);
	cr_assert(mesh_hostkey_from_seed(secret2, &hk2));
	cr_assert_not(mesh_membership_proof_verify(&k, hk2.sign_pk, VECTOR_TIME, proof), "another key");
	mesh_keys_derive(secret2, &other);
	cr_assert_not(mesh_membership_proof_verify(&other, hk.sign_pk, VECTOR_TIME, proof), "another mesh");
	proof[MESH_PROOF_LEN - 1] ^= 1;
	cr_assert_not(mesh_membership_proof_verify(&k, hk.sign_pk, VECTOR_TIME, proof), "a flipped bit");
}

Test(member, rendezvous_mailbox)
{
	struct mesh_keys k;
	uint8_t id[RELAY_ID_LEN], again[RELAY_ID_LEN], next[RELAY_ID_LEN];
	uint8_t sk[RELAY_SECRET_KEY_LEN], sk_again[RELAY_SECRET_KEY_LEN], pk_of_sk[RELAY_ID_LEN];
	const uint64_t hour = VECTOR_TIME / 3600;

	vector_keys(&k);
	mesh_rendezvous_mailbox(&k, hour, id, sk);
	assert_hex(id, RELAY_ID_LEN, "4b1e994f0e308baa4d66e35631576267fd5c8d539d7f95de8fc268aef225ea08", "id");
	/* The secret key signs for the id: a member can post and subscribe. */
	crypto_sign_ed25519_sk_to_pk(pk_of_sk, sk);
	cr_assert_arr_eq(pk_of_sk, id, RELAY_ID_LEN);
	mesh_rendezvous_mailbox(&k, hour, again, sk_again);
	cr_assert_arr_eq(again, id, RELAY_ID_LEN);
	cr_assert_arr_eq(sk_again, sk, RELAY_SECRET_KEY_LEN);
	mesh_rendezvous_mailbox(&k, hour + 1, next, sk_again);
	cr_assert_arr_neq(next, id, RELAY_ID_LEN);
	mesh_rendezvous_mailbox(&k, hour - 1, next, sk_again);
	cr_assert_arr_neq(next, id, RELAY_ID_LEN);
}

Test(member, inbox_mailbox)
{
	struct mesh_keys k;
	struct mesh_hostkey hk;
	uint8_t id[RELAY_ID_LEN], again[RELAY_ID_LEN], other[RELAY_ID_LEN], rv[RELAY_ID_LEN];
	uint8_t sk[RELAY_SECRET_KEY_LEN], pub[32];

	vector_keys(&k);
	vector_hostkey(&hk);
	mesh_inbox_mailbox(&k, hk.wg_public, id, sk);
	assert_hex(id, RELAY_ID_LEN, "6c8e7893ac09c837f9a2e61f7e024a599055ff8b2ba5c91d91a302e1e41adc01", "inbox id");
	mesh_inbox_mailbox(&k, hk.wg_public, again, sk);
	cr_assert_arr_eq(again, id, RELAY_ID_LEN);
	memcpy(pub, hk.wg_public, sizeof(pub));
	pub[0] ^= 1;
	mesh_inbox_mailbox(&k, pub, other, sk);
	cr_assert_arr_neq(other, id, RELAY_ID_LEN);
	mesh_rendezvous_mailbox(&k, VECTOR_TIME / 3600, rv, sk);
	cr_assert_arr_neq(rv, id, RELAY_ID_LEN);
}

Test(hostkey, vector)
{
	struct mesh_hostkey hk;
	uint8_t base[32], from_sign[32];

	vector_hostkey(&hk);
	assert_hex(hk.sign_pk, 32, "29acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7", "sign_pk");
	assert_hex(hk.wg_private, 32, "887af58a36202e05c4c1cfec5bf6c61fad66bca851536004074b31f1b56e4a49",
		   "wg_private");
	assert_hex(hk.wg_public, 32, "5730800ab340fcb18ce5111eda9d705f91388b41e4544cbd103ba5942db2233e",
		   "wg_public");
	/* The WireGuard key pair is a key pair: what wg(8) derives from the
	 * private key is the public key the announcements vouch for. */
	cr_assert_eq(crypto_scalarmult_base(base, hk.wg_private), 0);
	cr_assert_arr_eq(base, hk.wg_public, 32);
	cr_assert(mesh_wg_public_from_sign_pk(hk.sign_pk, from_sign));
	cr_assert_arr_eq(from_sign, hk.wg_public, 32);
}

Test(hostkey, random_seeds_are_key_pairs)
{
	struct mesh_hostkey hk;
	uint8_t seed[32], base[32];

	for (int i = 0; i < 200; i++) {
		randombytes_buf(seed, sizeof(seed));
		cr_assert(mesh_hostkey_from_seed(seed, &hk));
		crypto_scalarmult_base(base, hk.wg_private);
		cr_assert_arr_eq(base, hk.wg_public, 32);
	}
}

Test(hostkey, no_montgomery_form)
{
	uint8_t small_order[32] = { 1 }; /* the identity point */
	uint8_t out[32];

	cr_assert_not(mesh_wg_public_from_sign_pk(small_order, out));
}

Test(hostkey, wipe)
{
	static const struct mesh_hostkey zero;
	struct mesh_hostkey hk;

	vector_hostkey(&hk);
	mesh_hostkey_wipe(&hk);
	cr_assert_arr_eq(&hk, &zero, sizeof(hk));
}

/* --- host.key on disk ------------------------------------------------ */

static char *tmp_dir;

static void make_tmp_dir(void)
{
	setup();
	umask(022);
	tmp_dir = g_dir_make_tmp("wice-hostkey-XXXXXX", NULL);
	cr_assert_not_null(tmp_dir);
}

static void remove_tree(const char *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *name;

	while (d && (name = g_dir_read_name(d))) {
		g_autofree char *path = g_build_filename(dir, name, NULL);

		if (g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK))
			remove_tree(path);
		else
			g_unlink(path);
	}
	g_rmdir(dir);
}

static void remove_tmp_dir(void)
{
	remove_tree(tmp_dir);
	g_free(tmp_dir);
}

TestSuite(hostkey_file, .init = make_tmp_dir, .fini = remove_tmp_dir);

static mode_t mode_of(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "%s", path);
	return st.st_mode & 07777;
}

static char *write_key_file(const char *text, mode_t mode)
{
	char *path = g_build_filename(tmp_dir, MESH_HOSTKEY_FILE, NULL);

	cr_assert(g_file_set_contents(path, text, -1, NULL));
	cr_assert_eq(chmod(path, mode), 0);
	return path;
}

/* Loading fails with an error that names the file, and the file is left
 * as it was. */
static void assert_refused(const char *text, mode_t mode, const char *why)
{
	g_autofree char *path = write_key_file(text, mode);
	g_autoptr(GError) error = NULL;
	g_autofree char *after = NULL;
	struct mesh_hostkey hk, untouched;

	memset(&hk, 0xaa, sizeof(hk));
	untouched = hk;
	cr_assert_not(mesh_hostkey_load_or_create(tmp_dir, &hk, &error), "%s", why);
	cr_assert_arr_eq(&hk, &untouched, sizeof(hk), "%s: the output was changed", why);
	cr_assert_not_null(error);
	cr_assert_not_null(strstr(error->message, path), "%s: '%s' does not name the file", why, error->message);
	cr_assert(g_file_get_contents(path, &after, NULL, NULL));
	cr_assert_str_eq(after, text, "%s: the file was changed", why);
	cr_assert_eq(mode_of(path), mode);
}

Test(hostkey_file, creates_private_dir_and_file)
{
	g_autofree char *dir = g_build_filename(tmp_dir, "state", "wice", NULL);
	g_autofree char *path = g_build_filename(dir, MESH_HOSTKEY_FILE, NULL);
	g_autofree char *text = NULL;
	g_autoptr(GError) error = NULL;
	struct mesh_hostkey hk, from_text;
	uint8_t seed[32];
	size_t len;

	cr_assert(mesh_hostkey_load_or_create(dir, &hk, &error), "%s", error ? error->message : "");
	cr_assert_eq(mode_of(dir), 0700);
	cr_assert_eq(mode_of(path), 0600);
	/* The documented format: base64url of the seed and a newline. */
	cr_assert(g_file_get_contents(path, &text, &len, NULL));
	cr_assert_eq(len, 44, "'%s'", text);
	cr_assert_eq(text[43], '\n');
	cr_assert(relay_b64_decode(seed, sizeof(seed), text, 43));
	cr_assert(mesh_hostkey_from_seed(seed, &from_text));
	cr_assert_arr_eq(&from_text, &hk, sizeof(hk));
	/* Only host.key is left: no temporary file. */
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	cr_assert_str_eq(g_dir_read_name(d), MESH_HOSTKEY_FILE);
	cr_assert_null(g_dir_read_name(d));
}

Test(hostkey_file, keeps_the_key)
{
	g_autoptr(GError) error = NULL;
	struct mesh_hostkey first, second;

	cr_assert(mesh_hostkey_load_or_create(tmp_dir, &first, &error));
	cr_assert(mesh_hostkey_load_or_create(tmp_dir, &second, &error));
	cr_assert_arr_eq(&first, &second, sizeof(first));
}

Test(hostkey_file, two_hosts_two_keys)
{
	g_autofree char *a = g_build_filename(tmp_dir, "a", NULL);
	g_autofree char *b = g_build_filename(tmp_dir, "b", NULL);
	struct mesh_hostkey ka, kb;

	cr_assert(mesh_hostkey_load_or_create(a, &ka, NULL));
	cr_assert(mesh_hostkey_load_or_create(b, &kb, NULL));
	cr_assert_arr_neq(ka.sign_pk, kb.sign_pk, 32);
}

Test(hostkey_file, loads_a_written_key)
{
	g_autofree char *path = NULL;
	g_autoptr(GError) error = NULL;
	struct mesh_hostkey hk, want;

	vector_hostkey(&want);
	/* base64url of the bytes 0x20..0x3f */
	path = write_key_file("ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8\n", 0600);
	cr_assert(mesh_hostkey_load_or_create(tmp_dir, &hk, &error), "%s", error ? error->message : "");
	cr_assert_arr_eq(&hk, &want, sizeof(hk));
}

Test(hostkey_file, refuses_a_corrupt_file)
{
	assert_refused("", 0600, "empty");
	assert_refused("not a key\n", 0600, "text");
	assert_refused("ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj\n", 0600, "42 characters");
	assert_refused("ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n", 0600, "padding");
	assert_refused("ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8\nICEi\n", 0600, "two lines");
	assert_refused("ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8\n"
		       "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8\n",
		       0600, "twice");
}

Test(hostkey_file, refuses_a_file_others_may_read)
{
	assert_refused("ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8\n", 0644, "0644");
	assert_refused("ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8\n", 0640, "0640");
}

Test(hostkey_file, refuses_a_directory)
{
	g_autofree char *path = g_build_filename(tmp_dir, MESH_HOSTKEY_FILE, NULL);
	g_autoptr(GError) error = NULL;
	struct mesh_hostkey hk;

	cr_assert_eq(mkdir(path, 0700), 0);
	cr_assert_not(mesh_hostkey_load_or_create(tmp_dir, &hk, &error));
	cr_assert_not_null(strstr(error->message, path), "%s", error->message);
}

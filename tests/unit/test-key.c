/* Key encoding and derivation: base64 exactly as wg(8) writes it, hex as
 * the UAPI protocol does, and the RFC 7748 Curve25519 base point vector. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <string.h>

#include "wg/wg-key.h"
#include "wg/wg-keyaddr.h"

/* RFC 7748 section 6.1: Alice's private and public key. */
static const char alice_priv_hex[] = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
static const char alice_pub_hex[] = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";

static void setup(void)
{
	cr_assert_eq(wg_key_init(), 0);
}

TestSuite(key, .init = setup);

Test(key, rfc7748_public_key)
{
	uint8_t priv[WG_KEY_LEN], pub[WG_KEY_LEN];
	char hex[WG_KEY_HEX_LEN];

	cr_assert(wg_key_from_hex(priv, alice_priv_hex, strlen(alice_priv_hex)));
	wg_key_public_from_private(pub, priv);
	wg_key_to_hex(hex, pub);
	cr_assert_str_eq(hex, alice_pub_hex);
}

Test(key, base64_round_trip)
{
	uint8_t key[WG_KEY_LEN], back[WG_KEY_LEN];
	char b64[WG_KEY_B64_LEN];

	for (int i = 0; i < 100; i++) {
		wg_key_generate_private(key);
		wg_key_to_base64(b64, key);
		cr_assert_eq(strlen(b64), 44);
		cr_assert_eq(b64[43], '=');
		cr_assert(wg_key_from_base64(back, b64));
		cr_assert(wg_key_equal(key, back));
	}
}

Test(key, base64_known_value)
{
	uint8_t key[WG_KEY_LEN];
	char b64[WG_KEY_B64_LEN];

	memset(key, 0, sizeof(key));
	wg_key_to_base64(b64, key);
	cr_assert_str_eq(b64, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	cr_assert(wg_key_from_base64(key, "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="));
	cr_assert_eq(key[0], 0xc8);
	cr_assert_eq(key[31], 0x69);
}

Test(key, base64_rejects_bad_input)
{
	static const char *bad[] = {
		"",
		"yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk",   /* no pad */
		"yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk==", /* too long */
		"yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBm!=",  /* bad char */
		"yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmkA",  /* no '=' at end */
		"yAnz5TF-lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=",  /* url-safe alphabet */
		" yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBm=",
	};
	uint8_t key[WG_KEY_LEN] = { 1 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_not(wg_key_from_base64(key, bad[i]), "accepted '%s'", bad[i]);
		cr_assert_eq(key[0], 1, "output changed on failure for '%s'", bad[i]);
	}
}

Test(key, hex_rejects_bad_input)
{
	uint8_t key[WG_KEY_LEN] = { 7 };
	char hex[WG_KEY_HEX_LEN];

	cr_assert_not(wg_key_from_hex(key, alice_priv_hex, 63));
	cr_assert_not(wg_key_from_hex(key, "zz", 2));
	memcpy(hex, alice_priv_hex, sizeof(hex));
	hex[10] = 'g';
	cr_assert_not(wg_key_from_hex(key, hex, 64));
	cr_assert_eq(key[0], 7);
}

Test(key, generated_keys_are_clamped)
{
	uint8_t key[WG_KEY_LEN];

	for (int i = 0; i < 100; i++) {
		wg_key_generate_private(key);
		cr_assert_eq(key[0] & 7, 0);
		cr_assert_eq(key[31] & 0xc0, 0x40);
	}
}

Test(key, wipe_and_zero)
{
	uint8_t key[WG_KEY_LEN];

	wg_key_generate_private(key);
	cr_assert_not(wg_key_is_zero(key));
	wg_key_wipe(key);
	cr_assert(wg_key_is_zero(key));
}

/* docs/PROTOCOL.md section 12: computed with Python's hashlib, not this
 * code:  blake2b(label + key, digest_size=32), cut and prefixed. */
static void assert_addr(const struct in6_addr *a, const char *want)
{
	char text[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET6, a, text, sizeof(text));
	cr_assert_str_eq(text, want);
}

Test(key, addresses_bound_to_keys)
{
	uint8_t counting[WG_KEY_LEN], fortytwo[WG_KEY_LEN];
	struct in6_addr a, b;

	for (int i = 0; i < WG_KEY_LEN; i++)
		counting[i] = (uint8_t)i, fortytwo[i] = 0x42;
	wg_key_link_local(counting, &a);
	assert_addr(&a, "fe80::a8b0:ff0d:bb94:77c8");
	wg_key_address(counting, &a);
	assert_addr(&a, "fc7d:cd74:4f85:6ad9:7113:bdbb:310b:ba2c");
	wg_key_link_local(fortytwo, &a);
	assert_addr(&a, "fe80::be16:6f3d:587f:2a03");
	wg_key_address(fortytwo, &a);
	assert_addr(&a, "fcc8:87e9:3fdc:c85a:4aae:626:3f3c:807a");
	/* the same key, the same address; another key, another one */
	wg_key_address(fortytwo, &b);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
	wg_key_address(counting, &b);
	cr_assert_neq(memcmp(&a, &b, sizeof(a)), 0);
}

/* WireGuard key encoding and derivation on top of libsodium. */
#include "config.h"

#include <string.h>
#include <sodium.h>

#include "wg-key.h"

int wg_key_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

bool wg_key_from_base64(uint8_t key[WG_KEY_LEN], const char *b64)
{
	uint8_t tmp[WG_KEY_LEN];
	size_t bin_len = 0;
	const char *end = NULL;

	/* wg(8) accepts exactly 44 characters ending in '='; so do we, which
	 * also rejects trailing garbage and keys of the wrong length. */
	if (strlen(b64) != WG_KEY_B64_LEN - 1 || b64[WG_KEY_B64_LEN - 2] != '=')
		return false;
	if (sodium_base642bin(tmp, sizeof(tmp), b64, WG_KEY_B64_LEN - 1, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bin_len != WG_KEY_LEN || *end != '\0') {
		sodium_memzero(tmp, sizeof(tmp));
		return false;
	}
	memcpy(key, tmp, WG_KEY_LEN);
	sodium_memzero(tmp, sizeof(tmp));
	return true;
}

void wg_key_to_base64(char b64[WG_KEY_B64_LEN], const uint8_t key[WG_KEY_LEN])
{
	sodium_bin2base64(b64, WG_KEY_B64_LEN, key, WG_KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

bool wg_key_from_hex(uint8_t key[WG_KEY_LEN], const char *hex, size_t len)
{
	uint8_t tmp[WG_KEY_LEN];
	size_t bin_len = 0;
	const char *end = NULL;
	bool ok;

	if (len != WG_KEY_HEX_LEN - 1)
		return false;
	ok = sodium_hex2bin(tmp, sizeof(tmp), hex, len, NULL, &bin_len, &end) == 0 &&
	     bin_len == WG_KEY_LEN && end == hex + len;
	if (ok)
		memcpy(key, tmp, WG_KEY_LEN);
	sodium_memzero(tmp, sizeof(tmp));
	return ok;
}

void wg_key_to_hex(char hex[WG_KEY_HEX_LEN], const uint8_t key[WG_KEY_LEN])
{
	sodium_bin2hex(hex, WG_KEY_HEX_LEN, key, WG_KEY_LEN);
}

bool wg_key_is_zero(const uint8_t key[WG_KEY_LEN])
{
	return sodium_is_zero(key, WG_KEY_LEN);
}

bool wg_key_equal(const uint8_t a[WG_KEY_LEN], const uint8_t b[WG_KEY_LEN])
{
	return sodium_memcmp(a, b, WG_KEY_LEN) == 0;
}

void wg_key_public_from_private(uint8_t public_key[WG_KEY_LEN], const uint8_t private_key[WG_KEY_LEN])
{
	/* libsodium clamps the scalar itself, exactly as wg(8) does.  It can
	 * only fail on an all-zero result, which clamping rules out. */
	if (crypto_scalarmult_curve25519_base(public_key, private_key) != 0)
		sodium_memzero(public_key, WG_KEY_LEN);
}

void wg_key_generate_private(uint8_t private_key[WG_KEY_LEN])
{
	randombytes_buf(private_key, WG_KEY_LEN);
	private_key[0] &= 248;
	private_key[31] = (private_key[31] & 127) | 64;
}

void wg_key_wipe(uint8_t key[WG_KEY_LEN])
{
	sodium_memzero(key, WG_KEY_LEN);
}

/* WireGuard keys: Curve25519 scalars and points, 32 bytes each.
 *
 * Base64 in the exact form wg(8) uses (44 characters, one '=' pad), hex for
 * the UAPI protocol, public key derivation identical to `wg pubkey`.  Callers
 * wipe private keys with wg_key_wipe() when they are done with them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WG_KEY_LEN 32
#define WG_KEY_B64_LEN 45 /* 44 characters + NUL */
#define WG_KEY_HEX_LEN 65 /* 64 characters + NUL */

bool wg_key_from_base64(uint8_t key[WG_KEY_LEN], const char *b64);
void wg_key_to_base64(char b64[WG_KEY_B64_LEN], const uint8_t key[WG_KEY_LEN]);
bool wg_key_from_hex(uint8_t key[WG_KEY_LEN], const char *hex, size_t len);
void wg_key_to_hex(char hex[WG_KEY_HEX_LEN], const uint8_t key[WG_KEY_LEN]);
bool wg_key_is_zero(const uint8_t key[WG_KEY_LEN]);
bool wg_key_equal(const uint8_t a[WG_KEY_LEN], const uint8_t b[WG_KEY_LEN]);
void wg_key_public_from_private(uint8_t public_key[WG_KEY_LEN], const uint8_t private_key[WG_KEY_LEN]);
void wg_key_generate_private(uint8_t private_key[WG_KEY_LEN]);
void wg_key_wipe(uint8_t key[WG_KEY_LEN]);
/* libsodium must be initialised once before any of the above; idempotent. */
int wg_key_init(void);

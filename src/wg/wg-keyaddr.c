/* Addresses bound to a key (wg-keyaddr.h); docs/PROTOCOL.md section 12 is
 * the specification. */
#include "config.h"

#include <sodium.h>
#include <string.h>

#include "wg-keyaddr.h"

/* out = the first @len bytes of BLAKE2b-256(label || key), no BLAKE2b key */
static void key_hash(const char *label, const uint8_t public_key[WG_KEY_LEN], uint8_t *out, size_t len)
{
	crypto_generichash_state st;
	uint8_t h[32];

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
	crypto_generichash_update(&st, public_key, WG_KEY_LEN);
	crypto_generichash_final(&st, h, sizeof(h));
	memcpy(out, h, len);
}

void wg_key_link_local(const uint8_t public_key[WG_KEY_LEN], struct in6_addr *ret)
{
	static const uint8_t zero[8];

	memset(ret, 0, sizeof(*ret));
	ret->s6_addr[0] = 0xfe;
	ret->s6_addr[1] = 0x80;
	key_hash("wice link-local v1", public_key, ret->s6_addr + 8, 8);
	/* An all-zero interface id is the subnet-router anycast address. */
	if (memcmp(ret->s6_addr + 8, zero, sizeof(zero)) == 0)
		ret->s6_addr[15] = 1;
}

void wg_key_address(const uint8_t public_key[WG_KEY_LEN], struct in6_addr *ret)
{
	ret->s6_addr[0] = 0xfc;
	key_hash("wice key address v1", public_key, ret->s6_addr + 1, 15);
}

/* The host's mesh key (mesh-hostkey.h). */
#include "mesh-hostkey.h"

#include <sodium.h>
#include <string.h>

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

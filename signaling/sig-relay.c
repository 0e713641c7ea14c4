/* Per-direction relay mailbox keys; see sig-relay.h for why. */
#include "config.h"

#include <sodium.h>
#include <string.h>

#include "sig-relay.h"

static const char relay_label[] = "wice relay mailbox v1";

static void direction_keypair(const uint8_t direction_key[SIG_KEY_LEN], uint8_t pk[RELAY_ID_LEN],
			      uint8_t sk[RELAY_SECRET_KEY_LEN])
{
	uint8_t seed[crypto_sign_SEEDBYTES];

	crypto_generichash(seed, sizeof(seed), (const uint8_t *)relay_label, sizeof(relay_label) - 1,
			   direction_key, SIG_KEY_LEN);
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(seed, sizeof(seed));
}

void sig_relay_send_id(const struct sig_pair *pair, uint8_t ret_id[RELAY_ID_LEN])
{
	uint8_t sk[RELAY_SECRET_KEY_LEN];

	direction_keypair(pair->send_key, ret_id, sk);
	sodium_memzero(sk, sizeof(sk));
}

void sig_relay_receive_id(const struct sig_pair *pair, uint8_t ret_id[RELAY_ID_LEN],
			  uint8_t ret_secret[RELAY_SECRET_KEY_LEN])
{
	direction_keypair(pair->receive_key, ret_id, ret_secret);
}

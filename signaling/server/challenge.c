/* Stateless challenges with a bounded memory of spent ones; see
 * challenge.h for why.
 *
 * Layout (32 bytes, opaque to clients): issue time in microseconds of this
 * process's monotonic clock (u64, big-endian) || 8 random bytes || the first
 * 16 bytes of HMAC-SHA-512-256(secret, "wice-signal-v1 challenge" || the
 * first 16 bytes). */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <glib.h>
#include <sodium.h>

#include "challenge.h"

#define CHALLENGE_CONTEXT "wice-signal-v1 challenge"
#define STAMP_LEN 8
#define NONCE_LEN 8
#define MAC_OFFSET (STAMP_LEN + NONCE_LEN)
#define MAC_LEN (RELAY_CHALLENGE_LEN - MAC_OFFSET)

struct spent {
	uint8_t challenge[RELAY_CHALLENGE_LEN];
	int64_t redeemed_at;
	GList link;
};

struct challenger {
	uint8_t secret[crypto_auth_hmacsha512256_KEYBYTES];
	int64_t ttl;
	size_t max_redeemed;
	GHashTable *spent; /* challenge bytes -> struct spent */
	GQueue by_age;	   /* struct spent, oldest redemption first */
};

/* Only challenges with a valid MAC enter the table, and the MAC is a keyed
 * function nobody else can steer: its bytes are a flood-proof hash. */
static guint spent_hash(gconstpointer key)
{
	guint v;

	memcpy(&v, (const uint8_t *)key + MAC_OFFSET, sizeof(v));
	return v;
}

static gboolean spent_equal(gconstpointer a, gconstpointer b)
{
	return memcmp(a, b, RELAY_CHALLENGE_LEN) == 0;
}

struct challenger *challenger_new(int64_t ttl_us, size_t max_redeemed)
{
	struct challenger *c = g_new0(struct challenger, 1);

	crypto_auth_hmacsha512256_keygen(c->secret);
	c->ttl = ttl_us;
	c->max_redeemed = max_redeemed;
	c->spent = g_hash_table_new(spent_hash, spent_equal);
	g_queue_init(&c->by_age);
	return c;
}

void challenger_free(struct challenger *c)
{
	GList *l;

	if (!c)
		return;
	while ((l = g_queue_pop_head_link(&c->by_age)))
		g_free(l->data);
	g_hash_table_destroy(c->spent);
	sodium_memzero(c->secret, sizeof(c->secret));
	g_free(c);
}

static void challenge_mac(const struct challenger *c, const uint8_t challenge[RELAY_CHALLENGE_LEN],
			  uint8_t mac[crypto_auth_hmacsha512256_BYTES])
{
	crypto_auth_hmacsha512256_state st;

	crypto_auth_hmacsha512256_init(&st, c->secret, sizeof(c->secret));
	crypto_auth_hmacsha512256_update(&st, (const uint8_t *)CHALLENGE_CONTEXT,
					 sizeof(CHALLENGE_CONTEXT) - 1);
	crypto_auth_hmacsha512256_update(&st, challenge, MAC_OFFSET);
	crypto_auth_hmacsha512256_final(&st, mac);
}

void challenger_issue(struct challenger *c, int64_t now, uint8_t out[RELAY_CHALLENGE_LEN])
{
	uint8_t mac[crypto_auth_hmacsha512256_BYTES];
	uint64_t stamp = (uint64_t)now;

	for (int i = STAMP_LEN - 1; i >= 0; i--, stamp >>= 8)
		out[i] = stamp & 0xff;
	randombytes_buf(out + STAMP_LEN, NONCE_LEN);
	challenge_mac(c, out, mac);
	memcpy(out + MAC_OFFSET, mac, MAC_LEN);
}

static int64_t challenge_stamp(const uint8_t challenge[RELAY_CHALLENGE_LEN])
{
	uint64_t stamp = 0;

	for (int i = 0; i < STAMP_LEN; i++)
		stamp = stamp << 8 | challenge[i];
	return (int64_t)stamp;
}

/* Anything redeemed a ttl ago has expired (it was issued before it was
 * redeemed), so pruning from the oldest redemption is enough. */
static void prune_spent(struct challenger *c, int64_t now)
{
	struct spent *s;

	while ((s = g_queue_peek_head(&c->by_age)) && now - s->redeemed_at >= c->ttl) {
		g_queue_pop_head_link(&c->by_age);
		g_hash_table_remove(c->spent, s->challenge);
		g_free(s);
	}
}

static int check_challenge(const struct challenger *c, const uint8_t challenge[RELAY_CHALLENGE_LEN],
			   int64_t now)
{
	uint8_t mac[crypto_auth_hmacsha512256_BYTES];
	int64_t stamp;

	challenge_mac(c, challenge, mac);
	if (sodium_memcmp(mac, challenge + MAC_OFFSET, MAC_LEN) != 0)
		return -EBADMSG;
	stamp = challenge_stamp(challenge);
	if (stamp > now || now - stamp >= c->ttl)
		return -ETIMEDOUT;
	if (g_hash_table_contains(c->spent, challenge))
		return -EALREADY;
	return 0;
}

int challenger_redeem(struct challenger *c, const uint8_t id[RELAY_ID_LEN],
		      const uint8_t challenge[RELAY_CHALLENGE_LEN],
		      const uint8_t sig[RELAY_SIGNATURE_LEN], int64_t now)
{
	struct spent *s;
	int r;

	prune_spent(c, now);
	r = check_challenge(c, challenge, now);
	if (r < 0)
		return r;
	/* The signature is the expensive check: last. */
	if (!relay_proof_verify(sig, id, challenge))
		return -EPERM;
	if (g_hash_table_size(c->spent) >= c->max_redeemed)
		return -ENOSPC;
	s = g_new0(struct spent, 1);
	memcpy(s->challenge, challenge, RELAY_CHALLENGE_LEN);
	s->redeemed_at = now;
	s->link.data = s;
	g_queue_push_tail_link(&c->by_age, &s->link);
	g_hash_table_add(c->spent, s->challenge);
	return 0;
}

size_t challenger_n_redeemed(const struct challenger *c)
{
	return g_hash_table_size(c->spent);
}

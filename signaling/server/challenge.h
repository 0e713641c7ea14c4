/* Subscription challenges of `wice signal-server`: free to hand out, single
 * use to redeem.
 *
 * A challenge is issue time || random nonce || MAC under a per-process
 * secret, so issuing stores nothing and a flood of GET /v1/challenge cannot
 * fill a table that honest subscribers need.  Single use is enforced by
 * remembering only redeemed challenges, and only until they expire; a
 * redemption needs a valid signature, so that memory grows only with real
 * subscriptions and is capped besides.  Times are the caller's monotonic
 * clock in microseconds, which keeps this unit testable. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "signaling/relay-proto.h"

struct challenger;

struct challenger *challenger_new(int64_t ttl_us, size_t max_redeemed);
void challenger_free(struct challenger *c);

void challenger_issue(struct challenger *c, int64_t now, uint8_t out[RELAY_CHALLENGE_LEN]);

/* Checks that challenge came from this process, is younger than the ttl and
 * unused, and that sig proves possession of the secret key of mailbox id;
 * then spends it.  Returns 0, -EBADMSG (not ours), -ETIMEDOUT (expired),
 * -EALREADY (used), -EPERM (bad signature) or -ENOSPC (too many redeemed
 * challenges alive; try again later). */
int challenger_redeem(struct challenger *c, const uint8_t id[RELAY_ID_LEN],
		      const uint8_t challenge[RELAY_CHALLENGE_LEN],
		      const uint8_t sig[RELAY_SIGNATURE_LEN], int64_t now);

size_t challenger_n_redeemed(const struct challenger *c);

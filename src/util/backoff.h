/* Exponential backoff with jitter, one formula for every retry in wice:
 * after the n-th failure in a row (counting from 0) wait a random time
 * between half and all of min(first * 2^n, cap).  The cap bounds what a
 * thing that stays down costs; the jitter keeps many daemons (or peers)
 * that failed together from retrying in step. */
#pragma once

struct backoff {
	unsigned failures; /* in a row */
};

/* min(@first_ms * 2^@n, @cap_ms), without overflow. */
unsigned backoff_step_ms(unsigned first_ms, unsigned cap_ms, unsigned n);
/* A random time in [@ms / 2, @ms]. */
unsigned backoff_jitter_ms(unsigned ms);
/* The wait after the @n-th failure in a row: backoff_jitter_ms() of
 * backoff_step_ms(). */
unsigned backoff_delay_ms(unsigned first_ms, unsigned cap_ms, unsigned n);
/* backoff_delay_ms() for @bo's failures so far, then counts one more. */
unsigned backoff_next_ms(struct backoff *bo, unsigned first_ms, unsigned cap_ms);

/* After a success: the next failure waits about @first_ms again. */
static inline void backoff_reset(struct backoff *bo)
{
	bo->failures = 0;
}

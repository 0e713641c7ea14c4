/* Exponential backoff with jitter (see backoff.h). */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <glib.h>

#include "util/backoff.h"

unsigned backoff_step_ms(unsigned first_ms, unsigned cap_ms, unsigned n)
{
	if (first_ms == 0 || first_ms >= cap_ms)
		return MIN(first_ms, cap_ms);
	/* first * 2^n > cap, asked without computing first * 2^n. */
	if (n >= sizeof(unsigned) * CHAR_BIT || first_ms > cap_ms >> n)
		return cap_ms;
	return first_ms << n;
}

unsigned backoff_jitter_ms(unsigned ms)
{
	uint64_t span = (uint64_t)ms / 2 + 1; /* ms/2 .. ms: ms/2 + 1 values */

	/* Multiply and shift: uniform enough over 32 random bits, and no
	 * signed range to overflow as g_random_int_range()'s would. */
	return ms - (unsigned)((g_random_int() * span) >> 32);
}

unsigned backoff_delay_ms(unsigned first_ms, unsigned cap_ms, unsigned n)
{
	return backoff_jitter_ms(backoff_step_ms(first_ms, cap_ms, n));
}

unsigned backoff_next_ms(struct backoff *bo, unsigned first_ms, unsigned cap_ms)
{
	unsigned delay = backoff_delay_ms(first_ms, cap_ms, bo->failures);

	if (bo->failures < UINT_MAX)
		bo->failures++;
	return delay;
}

/* The GLib helpers in src/util: the backoff every retry in wice uses
 * (growth, cap, jitter, reset; the figures the callers rely on) and the
 * re-armable timer the signaling backends and server keep per purpose. */
#include <criterion/criterion.h>
#include <limits.h>

#include "util/backoff.h"
#include "util/source-util.h"

#define SAMPLES 10000

/* Lowest and highest of SAMPLES draws of backoff_jitter_ms(@ms). */
static void jitter_range(unsigned ms, unsigned *ret_lo, unsigned *ret_hi)
{
	unsigned lo = UINT_MAX, hi = 0;

	for (int i = 0; i < SAMPLES; i++) {
		unsigned d = backoff_jitter_ms(ms);

		lo = MIN(lo, d);
		hi = MAX(hi, d);
	}
	*ret_lo = lo;
	*ret_hi = hi;
}

Test(backoff, step_doubles_from_first)
{
	for (unsigned n = 0; n <= 5; n++)
		cr_assert_eq(backoff_step_ms(500, 30000, n), 500u << n, "n=%u", n);
}

Test(backoff, step_stops_at_cap)
{
	cr_assert_eq(backoff_step_ms(500, 30000, 6), 30000);
	cr_assert_eq(backoff_step_ms(500, 30000, 40), 30000);
	cr_assert_eq(backoff_step_ms(500, 30000, UINT_MAX), 30000);
	cr_assert_eq(backoff_step_ms(40000, 30000, 0), 30000, "first above the cap");
	cr_assert_eq(backoff_step_ms(0, 30000, 7), 0);
}

Test(backoff, step_does_not_overflow)
{
	cr_assert_eq(backoff_step_ms(1, UINT_MAX, 31), 1u << 31);
	cr_assert_eq(backoff_step_ms(3, UINT_MAX, 31), UINT_MAX);
	cr_assert_eq(backoff_step_ms(UINT_MAX / 2 + 1, UINT_MAX, 1), UINT_MAX);
	cr_assert_eq(backoff_step_ms(1, UINT_MAX, 32), UINT_MAX);
}

Test(backoff, jitter_stays_within_half_and_all)
{
	static const unsigned ms[] = { 0, 1, 2, 3, 999, 1000, 30000, UINT_MAX };
	unsigned lo, hi;

	for (size_t i = 0; i < G_N_ELEMENTS(ms); i++) {
		jitter_range(ms[i], &lo, &hi);
		cr_assert_geq(lo, ms[i] / 2, "%u: %u below half", ms[i], lo);
		cr_assert_leq(hi, ms[i], "%u: %u above", ms[i], hi);
	}
}

/* Jitter that always gave the same value would not spread retries. */
Test(backoff, jitter_covers_the_range)
{
	unsigned lo, hi;
	double sum = 0;

	jitter_range(1000, &lo, &hi);
	cr_assert_lt(lo, 550, "lowest %u", lo);
	cr_assert_gt(hi, 950, "highest %u", hi);
	/* Uniform: the mean is 3/4 of the step (peer-signal.c relies on it). */
	for (int i = 0; i < SAMPLES; i++)
		sum += backoff_jitter_ms(1000);
	cr_assert_float_eq(sum / SAMPLES, 750, 15);
}

/* The peer restart schedule: 1, 2, 4, 8, 16 s, then 30 s for good. */
Test(backoff, delay_is_a_jittered_step)
{
	for (unsigned n = 0; n < 40; n++) {
		unsigned step = backoff_step_ms(1000, 30000, n);

		for (int i = 0; i < 100; i++) {
			unsigned d = backoff_delay_ms(1000, 30000, n);

			cr_assert(d >= step / 2 && d <= step, "n=%u: %u outside [%u, %u]", n, d, step / 2, step);
		}
	}
	cr_assert_eq(backoff_step_ms(1000, 30000, 4), 16000);
	cr_assert_eq(backoff_step_ms(1000, 30000, 5), 30000);
}

Test(backoff, next_counts_failures_and_reset_starts_over)
{
	struct backoff bo = { 0 };
	unsigned d;

	for (unsigned n = 0; n < 8; n++) {
		unsigned step = backoff_step_ms(500, 30000, n);

		d = backoff_next_ms(&bo, 500, 30000);
		cr_assert(d >= step / 2 && d <= step, "failure %u: %u", n, d);
		cr_assert_eq(bo.failures, n + 1);
	}
	backoff_reset(&bo);
	cr_assert_eq(bo.failures, 0);
	d = backoff_next_ms(&bo, 500, 30000);
	cr_assert(d >= 250 && d <= 500, "after reset: %u", d);
}

/* --- the re-armable timer ------------------------------------------------- */

static GMainContext *context;

static void timer_setup(void)
{
	context = g_main_context_new();
	g_main_context_push_thread_default(context);
}

static void timer_teardown(void)
{
	g_main_context_pop_thread_default(context);
	g_main_context_unref(context);
}

TestSuite(timer, .init = timer_setup, .fini = timer_teardown);

struct fired {
	GSource *timer;
	unsigned count;
	bool armed_in_callback;
	bool rearm;
};

static gboolean on_fire(gpointer data)
{
	struct fired *f = data;

	f->count++;
	f->armed_in_callback = source_timer_armed(f->timer);
	if (f->rearm) {
		f->rearm = false;
		source_timer_arm(f->timer, 0);
	}
	return G_SOURCE_REMOVE; /* ignored: the timer stays */
}

/* Runs @context until nothing is ready now. */
static void drain(void)
{
	while (g_main_context_iteration(context, FALSE))
		;
}

Test(timer, created_disarmed_and_fires_once_when_armed)
{
	struct fired f = { 0 };

	f.timer = source_timer_new(NULL, on_fire, &f);
	drain();
	cr_assert_eq(f.count, 0);
	cr_assert_not(source_timer_armed(f.timer));
	source_timer_arm(f.timer, 0);
	cr_assert(source_timer_armed(f.timer));
	drain();
	cr_assert_eq(f.count, 1);
	cr_assert_not(f.armed_in_callback, "the callback runs disarmed");
	cr_assert_not(source_timer_armed(f.timer));
	drain();
	cr_assert_eq(f.count, 1, "a one-shot");
	/* Its callback's G_SOURCE_REMOVE did not destroy it. */
	source_timer_arm(f.timer, 0);
	drain();
	cr_assert_eq(f.count, 2);
	source_clear(&f.timer);
	cr_assert_null(f.timer);
}

Test(timer, rearms_from_its_callback)
{
	struct fired f = { .rearm = true };

	f.timer = source_timer_new(context, on_fire, &f);
	source_timer_arm(f.timer, 0);
	drain();
	cr_assert_eq(f.count, 2);
	source_free(f.timer);
}

Test(timer, disarm_and_later_time_hold_it_back)
{
	struct fired f = { 0 };

	f.timer = source_timer_new(NULL, on_fire, &f);
	source_timer_arm(f.timer, 0);
	source_timer_disarm(f.timer);
	drain();
	cr_assert_eq(f.count, 0);
	source_timer_arm_at(f.timer, g_get_monotonic_time() + 60 * G_USEC_PER_SEC);
	drain();
	cr_assert_eq(f.count, 0);
	source_timer_arm(f.timer, 0); /* replaces the later time */
	drain();
	cr_assert_eq(f.count, 1);
	source_free(f.timer);
}

static gboolean count_and_remove(gpointer data)
{
	++*(unsigned *)data;
	return G_SOURCE_REMOVE;
}

Test(timer, timeout_goes_to_the_thread_default_context)
{
	unsigned count = 0;
	GSource *t = source_timeout(0, count_and_remove, &count);

	cr_assert_eq(g_source_get_context(t), context);
	drain();
	cr_assert_eq(count, 1);
	source_clear(&t);
	source_clear(&t); /* NULL is fine */
	source_free(NULL);
}

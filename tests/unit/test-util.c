/* The GLib helpers in src/util: the re-armable timer the signaling
 * backends and server keep per purpose. */
#include <criterion/criterion.h>

#include "util/source-util.h"

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

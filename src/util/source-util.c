/* GSource helpers (see source-util.h).  The re-armable timer is a bare
 * GSource with a ready time: arming it costs no allocation and no
 * attach, which matters for timers re-armed on every chunk of a stream. */
#include "config.h"

#include "util/source-util.h"

void source_free(GSource *source)
{
	if (!source)
		return;
	g_source_destroy(source);
	g_source_unref(source);
}

void source_clear(GSource **source)
{
	source_free(g_steal_pointer(source));
}

GSource *source_attach(GSource *source, GMainContext *context, GSourceFunc fn, gpointer data)
{
	g_source_set_callback(source, fn, data, NULL);
	g_source_attach(source, context ? context : g_main_context_get_thread_default());
	return source;
}

GSource *source_timeout(guint ms, GSourceFunc fn, gpointer data)
{
	return source_attach(g_timeout_source_new(ms), NULL, fn, data);
}

GSource *source_timeout_seconds(guint s, GSourceFunc fn, gpointer data)
{
	return source_attach(g_timeout_source_new_seconds(s), NULL, fn, data);
}

static gboolean timer_dispatch(GSource *timer, GSourceFunc callback, gpointer data)
{
	source_timer_disarm(timer);
	callback(data);
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs timer_funcs = {
	.dispatch = timer_dispatch,
};

GSource *source_timer_new(GMainContext *context, GSourceFunc fn, gpointer data)
{
	GSource *timer = g_source_new(&timer_funcs, sizeof(GSource));

	source_timer_disarm(timer);
	return source_attach(timer, context, fn, data);
}

void source_timer_arm(GSource *timer, guint ms)
{
	source_timer_arm_at(timer, g_get_monotonic_time() + (int64_t)ms * (G_USEC_PER_SEC / 1000));
}

void source_timer_arm_at(GSource *timer, int64_t when_us)
{
	g_source_set_ready_time(timer, MAX(when_us, 0));
}

void source_timer_disarm(GSource *timer)
{
	g_source_set_ready_time(timer, -1);
}

bool source_timer_armed(GSource *timer)
{
	return g_source_get_ready_time(timer) != -1;
}

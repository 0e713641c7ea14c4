/* GSource helpers.  wice keeps GSource objects rather than numeric ids
 * (a stale id can name another source); these make that as short as ids. */
#pragma once

#include <glib.h>

/* Destroys and releases *@source, if any, and clears the pointer. */
static inline void source_clear(GSource **source)
{
	if (!*source)
		return;
	g_source_destroy(*source);
	g_clear_pointer(source, g_source_unref);
}

/* A one-shot or repeating timer on the thread-default context. */
static inline GSource *source_timeout(guint ms, GSourceFunc fn, gpointer data)
{
	GSource *source = g_timeout_source_new(ms);

	g_source_set_callback(source, fn, data, NULL);
	g_source_attach(source, g_main_context_get_thread_default());
	return source;
}

/* GSource helpers.  wice keeps GSource objects rather than numeric ids
 * (a stale id can name another source); these make that as short as ids.
 * A source goes to the thread-default main context unless one is named,
 * so that code run from a thread with its own context stays there. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

/* Destroys and unrefs @source; accepts NULL.  A GDestroyNotify. */
void source_free(GSource *source);
/* source_free(*@source) and clears the pointer. */
void source_clear(GSource **source);

/* Sets @fn as @source's callback and attaches @source to @context (NULL:
 * the thread-default context).  Returns @source, whose reference the
 * caller keeps: release it with source_clear(). */
GSource *source_attach(GSource *source, GMainContext *context, GSourceFunc fn, gpointer data);

/* A one-shot (@fn returns G_SOURCE_REMOVE) or repeating timer on the
 * thread-default context; 0 ms runs @fn on the next turn of the loop. */
GSource *source_timeout(guint ms, GSourceFunc fn, gpointer data);
/* The same in whole seconds: GLib fires all such timers of a process
 * that fall in one second together, so that many slow timers (one per
 * peer) cost one wakeup, not one each. */
GSource *source_timeout_seconds(guint s, GSourceFunc fn, gpointer data);

/* A one-shot timer that stays allocated and is armed and disarmed by its
 * ready time, for an owner that keeps one timer per purpose and re-arms
 * it often (a retry, an idle check).  Created disarmed.  @fn runs with
 * the timer disarmed, may re-arm it, and its return value is ignored: the
 * timer lives until source_free(). */
GSource *source_timer_new(GMainContext *context, GSourceFunc fn, gpointer data);
/* (Re-)arms @timer to fire in @ms, replacing any earlier time. */
void source_timer_arm(GSource *timer, guint ms);
/* (Re-)arms @timer to fire at @when_us on g_get_monotonic_time()'s clock. */
void source_timer_arm_at(GSource *timer, int64_t when_us);
void source_timer_disarm(GSource *timer);
bool source_timer_armed(GSource *timer);

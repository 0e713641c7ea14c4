/* One logging path for the daemon: GLib's structured logging, to stderr in
 * the foreground and to the journal otherwise (also in the foreground
 * when stderr is a journal stream, as under systemd), with a verbosity
 * level set by -v and -q.  Keys never go to the log: peers appear by
 * their public key, shortened in messages. */
#pragma once

#include <glib.h>
#include <stdbool.h>


void log_setup(bool foreground);
/* GOptionArgFunc for -v (repeatable) and -q (warnings and errors only). */
gboolean log_more_verbose(const char *option, const char *value, gpointer data, GError **error);
gboolean log_quiet(const char *option, const char *value, gpointer data, GError **error);

/* One logging path for the daemon: GLib's structured logging, to stderr in
 * the foreground and to the journal otherwise, with a verbosity level set
 * by -v.  Keys never go to the log. */
#pragma once

#include <glib.h>

void log_setup(bool foreground);
gboolean log_more_verbose(const char *option, const char *value, gpointer data, GError **error);

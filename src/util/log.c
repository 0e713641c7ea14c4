/* Log levels and destinations (see log.h). */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>

#include "log.h"

static int verbosity; /* -1: warnings, 0: message and worse, 1: info, 2: debug */
static bool to_stderr = true;

gboolean log_more_verbose(const char *option, const char *value, gpointer data, GError **error)
{
	verbosity++;
	return TRUE;
}

gboolean log_quiet(const char *option, const char *value, gpointer data, GError **error)
{
	verbosity = -1;
	return TRUE;
}

static const char *field_domain(const GLogField *fields, gsize n_fields)
{
	for (gsize i = 0; i < n_fields; i++)
		if (g_strcmp0(fields[i].key, "GLIB_DOMAIN") == 0)
			return fields[i].value;
	return NULL;
}

/* Our own debug output at -vv; libraries' (libnice is chatty) at -vvv. */
static bool level_enabled(GLogLevelFlags level, const char *domain)
{
	if (level & G_LOG_LEVEL_DEBUG)
		return verbosity >= (!domain || g_str_has_prefix(domain, "wice") ? 2 : 3);
	if (level & G_LOG_LEVEL_INFO)
		return verbosity >= 1;
	if (level & G_LOG_LEVEL_MESSAGE)
		return verbosity >= 0;
	return true;
}

static GLogWriterOutput write_log(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
	if (!level_enabled(level, field_domain(fields, n_fields)))
		return G_LOG_WRITER_HANDLED;
	if (!to_stderr && g_log_writer_journald(level, fields, n_fields, data) == G_LOG_WRITER_HANDLED)
		return G_LOG_WRITER_HANDLED;
	return g_log_writer_standard_streams(level, fields, n_fields, data);
}

void log_setup(bool foreground)
{
	/* Under systemd (JOURNAL_STREAM set) or detached, log to the journal
	 * with its native fields; in a terminal, to stderr. */
	to_stderr = foreground && !g_log_writer_is_journald(fileno(stderr));
	if (verbosity >= 2)
		g_setenv("G_MESSAGES_DEBUG", "all", TRUE);
	g_log_set_writer_func(write_log, NULL, NULL);
}

/* systemd service notifications (see sd-notify.h) through libsystemd. */
#include "config.h"

#include <systemd/sd-daemon.h>

#include "sd-notify.h"

static gboolean on_watchdog_tick(gpointer data)
{
	sd_notify(0, "WATCHDOG=1");
	return G_SOURCE_CONTINUE;
}

/* A watchdog source at half of WATCHDOG_USEC, or NULL without one. */
static GSource *start_watchdog(void)
{
	uint64_t usec = 0;
	GSource *source;
	int r = sd_watchdog_enabled(0, &usec);

	if (r < 0)
		g_warning("ignoring the systemd watchdog settings: %s", g_strerror(-r));
	if (r <= 0 || usec == 0)
		return NULL;
	source = g_timeout_source_new(MAX(usec / 2 / 1000, 1));
	g_source_set_callback(source, on_watchdog_tick, NULL, NULL);
	g_source_attach(source, NULL);
	g_debug("systemd watchdog every %" G_GUINT64_FORMAT " ms", MAX(usec / 2 / 1000, 1));
	return source;
}

GSource *service_notify_ready(void)
{
	int r = sd_notify(0, "READY=1");

	if (r < 0)
		g_warning("cannot notify systemd: %s", g_strerror(-r));
	return start_watchdog();
}

void service_notify_stopping(GSource *watchdog)
{
	if (watchdog) {
		g_source_destroy(watchdog);
		g_source_unref(watchdog);
	}
	sd_notify(0, "STOPPING=1");
}

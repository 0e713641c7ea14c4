/* systemd service notifications (see sd-notify.h) through libsystemd. */
#include "config.h"

#include <systemd/sd-daemon.h>

#include "util/sd-notify.h"
#include "util/source-util.h"

static gboolean on_watchdog_tick(gpointer data)
{
	sd_notify(0, "WATCHDOG=1");
	return G_SOURCE_CONTINUE;
}

/* A watchdog source at half of WATCHDOG_USEC, or NULL without one. */
static GSource *start_watchdog(void)
{
	uint64_t usec = 0;
	guint ms;
	int r = sd_watchdog_enabled(0, &usec);

	if (r < 0)
		g_warning("ignoring the systemd watchdog settings: %s", g_strerror(-r));
	if (r <= 0 || usec == 0)
		return NULL;
	ms = (guint)CLAMP(usec / 2 / 1000, 1, G_MAXUINT);
	g_debug("systemd watchdog every %u ms", ms);
	return source_timeout(ms, on_watchdog_tick, NULL);
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
	source_free(watchdog);
	sd_notify(0, "STOPPING=1");
}

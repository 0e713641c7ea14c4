/* Service notifications for systemd (Type=notify): READY=1 once the
 * daemon serves its control socket, STOPPING=1 when it begins to shut
 * down, and WATCHDOG=1 from the main loop for as long as the loop turns,
 * so that a daemon stuck in a callback is restarted.  Without
 * NOTIFY_SOCKET (not started by systemd) every call does nothing. */
#pragma once

#include <glib.h>

/* Sends READY=1.  When the service has a watchdog (WATCHDOG_USEC for this
 * process), returns a source on the thread-default main context that sends
 * WATCHDOG=1 at half the interval; otherwise NULL. */
GSource *service_notify_ready(void);
/* Sends STOPPING=1 and destroys @watchdog (NULL is fine). */
void service_notify_stopping(GSource *watchdog);

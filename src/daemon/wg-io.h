/* WireGuard device I/O off the main loop: one worker thread per managed
 * interface runs that interface's reads and writes in order.
 *
 * A userspace WireGuard answers on its UAPI socket, and one that is wedged
 * keeps a request waiting up to the socket timeout (5 s).  On the main
 * loop that froze every peer, the control socket and the watchdog; on the
 * interface's own thread it delays only that interface.  Results come back
 * on the main context that created the worker. */
#pragma once

#include <glib.h>

#include "wg/wg.h"

struct wg_io;

/* Runs in the worker; returns 0 or a negative errno. */
typedef int (*wg_io_job_fn)(const struct wg_ops *ops, const char *ifname, void *arg);
/* Runs on the main context with the job's result. */
typedef void (*wg_io_done_fn)(int r, void *arg, void *data);

struct wg_io *wg_io_new(const char *ifname, const struct wg_ops *ops);
/* Queues @job.  @done (may be NULL) gets its result, unless the worker
 * was freed first; @free_arg (may be NULL) frees @arg after that. */
void wg_io_submit(struct wg_io *io, wg_io_job_fn job, void *arg, GDestroyNotify free_arg, wg_io_done_fn done,
		  void *data);
/* Microseconds the job running now has taken so far (0: idle). */
gint64 wg_io_busy_us(struct wg_io *io);
/* Lets queued jobs finish for at most @drain_ms (endpoints are put back
 * on exit), then lets go: results are dropped from now on, and a thread
 * stuck on a wedged device ends on its own.  Accepts NULL. */
void wg_io_free(struct wg_io *io, unsigned drain_ms);

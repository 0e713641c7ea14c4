/* The worker behind wg-io.h.
 *
 * Every job holds a reference to the worker, so the worker's state lives
 * until the last result was handed back (or dropped) on the main context;
 * the owner's wg_io_free() only marks it closed.  Jobs are never dropped
 * unrun: the writes that put WireGuard's endpoints back at exit must
 * happen even though nobody waits for their results. */
#include "config.h"

#include "wg-io.h"

struct wg_io {
	gint refs;
	char *ifname;
	const struct wg_ops *ops;
	GMainContext *context; /* where results go */
	GAsyncQueue *queue;    /* struct job; a job without fn stops the worker */
	GThread *thread;
	GMutex lock;
	GCond drained;
	unsigned queued;  /* submitted, not finished; under lock */
	gint64 started_us; /* the running job's start, 0: idle; under lock */
	bool closed;      /* main context only */
};

struct job {
	struct wg_io *io;
	wg_io_job_fn fn;
	void *arg;
	GDestroyNotify free_arg;
	wg_io_done_fn done;
	void *data;
	int r;
};

static struct wg_io *io_ref(struct wg_io *io)
{
	g_atomic_int_inc(&io->refs);
	return io;
}

static void io_unref(struct wg_io *io)
{
	if (!g_atomic_int_dec_and_test(&io->refs))
		return;
	g_async_queue_unref(io->queue);
	g_main_context_unref(io->context);
	g_mutex_clear(&io->lock);
	g_cond_clear(&io->drained);
	g_free(io->ifname);
	g_free(io);
}

static void job_free(struct job *job)
{
	if (job->free_arg)
		job->free_arg(job->arg);
	io_unref(job->io);
	g_free(job);
}

/* On the main context. */
static gboolean hand_back(gpointer data)
{
	struct job *job = data;

	if (!job->io->closed && job->done)
		job->done(job->r, job->arg, job->data);
	return G_SOURCE_REMOVE;
}

static void set_running(struct wg_io *io, bool running)
{
	g_mutex_lock(&io->lock);
	io->started_us = running ? g_get_monotonic_time() : 0;
	if (!running && --io->queued == 0)
		g_cond_broadcast(&io->drained);
	g_mutex_unlock(&io->lock);
}

static void run_job(struct job *job)
{
	struct wg_io *io = job->io;
	GSource *source;

	set_running(io, true);
	job->r = job->fn(io->ops, io->ifname, job->arg);
	set_running(io, false);
	source = g_idle_source_new();
	g_source_set_priority(source, G_PRIORITY_DEFAULT);
	g_source_set_callback(source, hand_back, job, (GDestroyNotify)job_free);
	g_source_attach(source, io->context);
	g_source_unref(source);
}

static gpointer worker(gpointer data)
{
	struct wg_io *io = data;

	for (;;) {
		struct job *job = g_async_queue_pop(io->queue);

		if (!job->fn) {
			job_free(job);
			break;
		}
		run_job(job);
	}
	io_unref(io);
	return NULL;
}

struct wg_io *wg_io_new(const char *ifname, const struct wg_ops *ops)
{
	struct wg_io *io = g_new0(struct wg_io, 1);

	io->refs = 1;
	io->ifname = g_strdup(ifname);
	io->ops = ops;
	io->context = g_main_context_ref_thread_default();
	io->queue = g_async_queue_new();
	g_mutex_init(&io->lock);
	g_cond_init(&io->drained);
	io->thread = g_thread_new("wg-io", worker, io_ref(io));
	return io;
}

static void push(struct wg_io *io, wg_io_job_fn fn, void *arg, GDestroyNotify free_arg, wg_io_done_fn done,
		 void *data)
{
	struct job *job = g_new0(struct job, 1);

	job->io = io_ref(io);
	job->fn = fn;
	job->arg = arg;
	job->free_arg = free_arg;
	job->done = done;
	job->data = data;
	g_async_queue_push(io->queue, job);
}

void wg_io_submit(struct wg_io *io, wg_io_job_fn job, void *arg, GDestroyNotify free_arg, wg_io_done_fn done,
		  void *data)
{
	g_mutex_lock(&io->lock);
	io->queued++;
	g_mutex_unlock(&io->lock);
	push(io, job, arg, free_arg, done, data);
}

gint64 wg_io_busy_us(struct wg_io *io)
{
	gint64 started;

	g_mutex_lock(&io->lock);
	started = io->started_us;
	g_mutex_unlock(&io->lock);
	return started ? g_get_monotonic_time() - started : 0;
}

void wg_io_free(struct wg_io *io, unsigned drain_ms)
{
	gint64 deadline;

	if (!io)
		return;
	io->closed = true;
	push(io, NULL, NULL, NULL, NULL, NULL);
	deadline = g_get_monotonic_time() + (gint64)drain_ms * G_TIME_SPAN_MILLISECOND;
	g_mutex_lock(&io->lock);
	while (io->queued && g_cond_wait_until(&io->drained, &io->lock, deadline))
		;
	if (io->queued)
		g_warning("%s: WireGuard did not answer in %u ms; leaving %u requests behind", io->ifname, drain_ms,
			  io->queued);
	g_mutex_unlock(&io->lock);
	g_thread_unref(io->thread);
	io_unref(io);
}

/* libcurl's multi socket API on a GLib main context; see curl-loop.h. */
#include "config.h"

#include "curl-loop.h"
#include "util/source-util.h"

struct curl_watch {
	GSource source;
	struct curl_loop *loop;
	curl_socket_t fd;
	gpointer tag;
};

struct curl_loop {
	CURLM *multi;
	GMainContext *context;
	GSource *timer;
	GHashTable *watches; /* struct curl_watch: the sockets curl asked for */
	struct curl_loop_callbacks cb;
};

bool curl_loop_global_init(GError **error)
{
	static gsize done;
	static CURLcode result;

	if (!curl_dl_load(error))
		return false;
	if (g_once_init_enter(&done)) {
		result = curl_global_init(CURL_GLOBAL_DEFAULT);
		g_once_init_leave(&done, 1);
	}
	if (result != CURLE_OK)
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot start libcurl: %s",
			    curl_easy_strerror(result));
	return result == CURLE_OK;
}

/* libcurl calls the timer function only when its next deadline changes.
 * Our timer fires a moment after the deadline curl gave in milliseconds,
 * which can still be a moment before curl's own, finer one: curl then has
 * nothing due, keeps the same deadline, says nothing, and with our timer
 * spent no transfer moves until one of its sockets wakes us.  Seen with 50
 * daemons on two cores: requests past their 20 s timeout still waiting
 * 55 s later, and the messages queued behind them.  So the deadline is
 * asked for after every action. */
static void rearm(struct curl_loop *loop)
{
	long ms = -1;

	if (curl_multi_timeout(loop->multi, &ms) != CURLM_OK || ms < 0)
		source_timer_disarm(loop->timer);
	else
		source_timer_arm(loop->timer, (guint)MIN(ms, (long)G_MAXUINT));
}

static void socket_action(struct curl_loop *loop, curl_socket_t fd, int mask)
{
	CURLMsg *msg;
	int running, left;

	curl_multi_socket_action(loop->multi, fd, mask, &running);
	while ((msg = curl_multi_info_read(loop->multi, &left)))
		if (msg->msg == CURLMSG_DONE)
			loop->cb.done(msg->easy_handle, msg->data.result, loop->cb.userdata);
	rearm(loop);
	loop->cb.after(loop->cb.userdata);
}

static gboolean watch_dispatch(GSource *source, GSourceFunc callback, gpointer data)
{
	struct curl_watch *w = (struct curl_watch *)source;
	GIOCondition cond = g_source_query_unix_fd(source, w->tag);
	int mask = 0;

	if (cond & G_IO_IN)
		mask |= CURL_CSELECT_IN;
	if (cond & G_IO_OUT)
		mask |= CURL_CSELECT_OUT;
	if (cond & (G_IO_ERR | G_IO_HUP))
		mask |= CURL_CSELECT_ERR;
	socket_action(w->loop, w->fd, mask);
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs watch_funcs = {
	.dispatch = watch_dispatch,
};

static GIOCondition poll_condition(int what)
{
	return (what & CURL_POLL_IN ? G_IO_IN : 0) | (what & CURL_POLL_OUT ? G_IO_OUT : 0);
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct curl_loop *loop = userp;
	struct curl_watch *w = socketp;

	if (what == CURL_POLL_REMOVE) {
		if (w) {
			curl_multi_assign(loop->multi, fd, NULL);
			g_hash_table_remove(loop->watches, w);
		}
		return 0;
	}
	if (w) {
		g_source_modify_unix_fd(&w->source, w->tag, poll_condition(what));
		return 0;
	}
	w = (struct curl_watch *)g_source_new(&watch_funcs, sizeof(*w));
	w->loop = loop;
	w->fd = fd;
	w->tag = g_source_add_unix_fd(&w->source, fd, poll_condition(what));
	g_source_attach(&w->source, loop->context);
	g_hash_table_add(loop->watches, w);
	curl_multi_assign(loop->multi, fd, w);
	return 0;
}

/* Only arms our timer: curl must not be called back from here. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct curl_loop *loop = userp;

	if (timeout_ms < 0)
		source_timer_disarm(loop->timer);
	else
		source_timer_arm(loop->timer, (guint)MIN(timeout_ms, (long)G_MAXUINT));
	return 0;
}

static gboolean on_curl_timeout(gpointer data)
{
	socket_action(data, CURL_SOCKET_TIMEOUT, 0);
	return G_SOURCE_CONTINUE;
}

struct curl_loop *curl_loop_new(GMainContext *context, const struct curl_loop_callbacks *cb)
{
	struct curl_loop *loop = g_new0(struct curl_loop, 1);

	loop->cb = *cb;
	loop->context = g_main_context_ref(context);
	loop->multi = curl_multi_init();
	if (!loop->multi) /* like g_malloc() */
		g_error("libcurl: cannot allocate a multi handle");
	curl_multi_setopt(loop->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(loop->multi, CURLMOPT_SOCKETDATA, loop);
	curl_multi_setopt(loop->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(loop->multi, CURLMOPT_TIMERDATA, loop);
	loop->watches = g_hash_table_new_full(NULL, NULL, (GDestroyNotify)source_free, NULL);
	loop->timer = source_timer_new(context, on_curl_timeout, loop);
	return loop;
}

void curl_loop_free(struct curl_loop *loop)
{
	if (!loop)
		return;
	curl_multi_cleanup(loop->multi);
	/* Whatever curl did not take back must not fire into freed memory. */
	g_hash_table_destroy(loop->watches);
	source_free(loop->timer);
	g_main_context_unref(loop->context);
	g_free(loop);
}

void curl_loop_add(struct curl_loop *loop, CURL *easy)
{
	curl_multi_add_handle(loop->multi, easy);
}

void curl_loop_remove(struct curl_loop *loop, CURL *easy)
{
	curl_multi_remove_handle(loop->multi, easy);
}

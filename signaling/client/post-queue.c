/* The outgoing queue of the HTTP and etcd backends (post-queue.h).  The
 * links live inside the posts, so a post moves between waiting and sending
 * without an allocation, and the queues are emptied link by link. */
#include "config.h"

#include "post-queue.h"

#include "util/source-util.h"

/* Envelopes waiting or in flight.  A daemon that meets 49 peers at once
 * publishes a few hundred (offers, candidates, answers, for two agents
 * each); at 64, a 50-node mesh behind NATs dropped up to 160 per daemon
 * while the server was slow, and each waited for a resend seconds later.
 * At most 1024 x 1.2 kB, and none older than POST_MAX_AGE. */
#define POST_QUEUE_MAX 1024
/* The signal server keeps a message this long by default, and an etcd
 * lease about as long; one that waited longer here describes ICE state
 * that has moved on. */
#define POST_MAX_AGE (120 * G_USEC_PER_SEC)
/* One warning about a full queue per this long. */
#define DROP_WARN_INTERVAL (10 * G_USEC_PER_SEC)
#define POSTS_IN_FLIGHT 4 /* requests, each one envelope or a batch */
#define BACKOFF_FIRST_MS 500
#define BACKOFF_CAP_MS 30000

static gboolean on_post_timer(gpointer data)
{
	struct post_queue *q = data;

	q->ops->kick(q->userdata);
	return G_SOURCE_CONTINUE;
}

void post_queue_init(struct post_queue *q, GMainContext *context, const struct post_queue_ops *ops,
		     void *userdata)
{
	g_queue_init(&q->waiting);
	g_queue_init(&q->sending);
	q->ops = ops;
	q->userdata = userdata;
	q->retry = source_timer_new(context, on_post_timer, q);
	q->soon = source_timer_new(context, on_post_timer, q);
}

static void item_free(struct post_queue *q, struct post_queue_item *item)
{
	g_bytes_unref(item->data);
	item->data = NULL;
	q->ops->free_post(item);
}

void post_queue_fini(struct post_queue *q)
{
	GList *l;

	while ((l = g_queue_pop_head_link(&q->waiting)))
		item_free(q, l->data);
	while ((l = g_queue_pop_head_link(&q->sending)))
		item_free(q, l->data);
	source_clear(&q->retry);
	source_clear(&q->soon);
}

static void expire(struct post_queue *q)
{
	int64_t now = g_get_monotonic_time();
	struct post_queue_item *item;

	while ((item = g_queue_peek_head(&q->waiting)) && now - item->queued > POST_MAX_AGE) {
		g_queue_unlink(&q->waiting, &item->link);
		item_free(q, item);
	}
}

bool post_queue_full(struct post_queue *q)
{
	expire(q);
	return q->waiting.length + q->sending.length >= POST_QUEUE_MAX;
}

bool post_queue_refuse(struct post_queue *q, const char *url)
{
	int64_t now = g_get_monotonic_time();

	if (!post_queue_full(q))
		return false;
	/* Lost messages are found again only by the peers' resends, seconds
	 * later: say so, but not for every one. */
	q->dropped++;
	if (!q->dropped_said || now - q->dropped_said >= DROP_WARN_INTERVAL) {
		g_warning("signaling %s: %u messages waiting for the server, dropped %" G_GUINT64_FORMAT
			  " since start",
			  url, POST_QUEUE_MAX, q->dropped);
		q->dropped_said = now;
	}
	return true;
}

void post_queue_push(struct post_queue *q, struct post_queue_item *item)
{
	item->serial = q->next_serial++;
	item->queued = g_get_monotonic_time();
	item->link.data = item;
	g_queue_push_tail_link(&q->waiting, &item->link);
	if (!source_timer_armed(q->soon))
		source_timer_arm(q->soon, 0);
}

bool post_queue_ready(struct post_queue *q)
{
	if (source_timer_armed(q->retry))
		return false;
	expire(q);
	return true;
}

bool post_queue_can_start(const struct post_queue *q)
{
	return q->reqs < POSTS_IN_FLIGHT && q->waiting.length > 0;
}

static void take(struct post_queue *q, struct post_queue_item *item)
{
	g_queue_unlink(&q->waiting, &item->link);
	g_queue_push_tail_link(&q->sending, &item->link);
}

struct post_queue_item *post_queue_take_one(struct post_queue *q)
{
	struct post_queue_item *item = g_queue_peek_head(&q->waiting);

	take(q, item);
	q->reqs++;
	return item;
}

GPtrArray *post_queue_take_batch(struct post_queue *q, guint max_posts, size_t max_bytes, size_t overhead)
{
	GPtrArray *items = g_ptr_array_new();
	struct post_queue_item *item;
	size_t bytes = 0;

	while (items->len < max_posts && (item = g_queue_peek_head(&q->waiting))) {
		bytes += overhead + g_bytes_get_size(item->data);
		if (bytes > max_bytes && items->len > 0)
			break;
		take(q, item);
		g_ptr_array_add(items, item);
	}
	q->reqs++;
	return items;
}

void post_queue_request_done(struct post_queue *q)
{
	q->reqs--;
}

void post_queue_sent(struct post_queue *q, struct post_queue_item *item)
{
	g_queue_unlink(&q->sending, &item->link);
	item_free(q, item);
}

void post_queue_requeue(struct post_queue *q, struct post_queue_item *item)
{
	GList *l = q->waiting.head;

	g_queue_unlink(&q->sending, &item->link);
	while (l && ((struct post_queue_item *)l->data)->serial < item->serial)
		l = l->next;
	if (l)
		g_queue_insert_before_link(&q->waiting, l, &item->link);
	else
		g_queue_push_tail_link(&q->waiting, &item->link);
}

void post_queue_back_off(struct post_queue *q)
{
	if (!source_timer_armed(q->retry))
		source_timer_arm(q->retry, backoff_next_ms(&q->backoff, BACKOFF_FIRST_MS, BACKOFF_CAP_MS));
}

void post_queue_succeeded(struct post_queue *q)
{
	backoff_reset(&q->backoff);
}

void post_queue_resume(struct post_queue *q)
{
	source_timer_disarm(q->retry);
}

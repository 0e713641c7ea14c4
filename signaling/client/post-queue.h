/* The outgoing side shared by the backends that post over HTTP (http,
 * etcd): a capped queue of envelopes kept in the order they were
 * published, dropped when they wait too long, sent at most POSTS_IN_FLIGHT
 * requests at a time, gathered into batches, and retried after a backoff.
 *
 * A backend embeds struct post_queue_item in its own post type and
 * struct post_queue in itself; the queue calls back to start sending
 * (kick) and to free a post.  What a request looks like and how an answer
 * is judged stay with the backend. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/backoff.h"

struct post_queue_item {
	uint64_t serial; /* publication order */
	int64_t queued;	 /* monotonic */
	GBytes *data;	 /* the envelope */
	GList link;	 /* in waiting or sending; data: this item */
};

/* The backend's post of type @type around @i, its member `item`. */
#define POST_QUEUE_POST(i, type) ((type *)(void *)((char *)(i) - G_STRUCT_OFFSET(type, item)))

struct post_queue_ops {
	/* Starts what the queue allows: post_queue_ready(), then
	 * post_queue_can_start() and post_queue_take*(). */
	void (*kick)(void *userdata);
	/* Frees the backend's post around @item (item->data is gone). */
	void (*free_post)(struct post_queue_item *item);
};

struct post_queue {
	GQueue waiting; /* by serial */
	GQueue sending; /* in requests in flight */
	unsigned reqs;	/* requests in flight */
	uint64_t next_serial;
	GSource *retry; /* armed: a backoff holds the queue */
	GSource *soon;	/* gathers what is published in one go */
	struct backoff backoff;
	uint64_t dropped;     /* posts refused: the queue was full */
	int64_t dropped_said; /* monotonic: when that was last logged */
	const struct post_queue_ops *ops;
	void *userdata;
};

void post_queue_init(struct post_queue *q, GMainContext *context, const struct post_queue_ops *ops,
		     void *userdata);
/* Frees every post, waiting or sending, and the timers. */
void post_queue_fini(struct post_queue *q);

/* Drops what waited too long, then tells whether one more fits. */
bool post_queue_full(struct post_queue *q);
/* post_queue_full(), counted and logged (at most every 10 s, naming
 * @url): the caller drops the post.  Logged here, not by the callers:
 * they publish hundreds at a time and leave losses to their resends. */
bool post_queue_refuse(struct post_queue *q, const char *url);
/* Queues @item (data set) last and kicks from the loop, so that what the
 * caller publishes before returning to it can go in one request. */
void post_queue_push(struct post_queue *q, struct post_queue_item *item);

/* False while a backoff holds the queue; drops what waited too long. */
bool post_queue_ready(struct post_queue *q);
/* Something waits and another request may go. */
bool post_queue_can_start(const struct post_queue *q);
/* The oldest waiting post, moved to sending for a request of its own. */
struct post_queue_item *post_queue_take_one(struct post_queue *q);
/* The oldest waiting posts, moved to sending for one request: at most
 * @max_posts, and at most @max_bytes of data plus @overhead a post unless
 * the first alone is larger.  Returns them in order. */
GPtrArray *post_queue_take_batch(struct post_queue *q, guint max_posts, size_t max_bytes, size_t overhead);
/* A request taken for has finished (its posts settled with the below). */
void post_queue_request_done(struct post_queue *q);

/* A post in flight is done with: delivered, or refused for good. */
void post_queue_sent(struct post_queue *q, struct post_queue_item *item);
/* A post in flight goes back to waiting, in publication order. */
void post_queue_requeue(struct post_queue *q, struct post_queue_item *item);

/* After a failure: nothing goes until the next backoff step has passed. */
void post_queue_back_off(struct post_queue *q);
/* After a success: the next failure waits the shortest step again. */
void post_queue_succeeded(struct post_queue *q);
/* The far end is back: the backoff under way ends now. */
void post_queue_resume(struct post_queue *q);

/* Mailboxes, their queues and subscribers; see mailbox.h. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sodium.h>

#include "mailbox.h"

/* Clients choose mailbox ids, so the table hashes them with a per-process
 * key; the hash is computed once and kept beside the id. */
struct mailbox_key {
	uint8_t id[RELAY_ID_LEN];
	guint hash;
};

/* Keyed too: IPv6 clients pick their prefixes. */
struct poster_key {
	uint8_t addr[MAILBOX_POSTER_LEN];
	guint hash;
};

/* Lives while it has made a mailbox or has a message queued. */
struct poster {
	struct poster_key key; /* first: the table's key points here */
	size_t mailboxes;      /* made by its messages, still there */
	size_t bytes;
	GQueue msgs; /* struct message, oldest first */
};

struct mailbox {
	struct mailbox_key key; /* first: the table's key points here */
	GQueue msgs;		/* struct message, oldest first */
	GQueue subs;		/* struct mailbox_sub, oldest first */
	struct poster *maker;	/* NULL: made by a subscriber */
};

struct message {
	uint64_t seq;
	int64_t posted;
	size_t len;
	struct mailbox *box;
	struct poster *poster;
	GBytes *frame;
	GList store_link;
	GList box_link;
	GList poster_link;
};

struct mailbox_sub {
	struct mailbox *box;
	const struct mailbox_sub_ops *ops;
	void *user;
	GList link;
};

struct mailbox_store {
	struct mailbox_limits limits;
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
	GHashTable *boxes;   /* struct mailbox_key -> struct mailbox */
	GHashTable *posters; /* struct poster_key -> struct poster */
	GQueue msgs;	     /* all messages, oldest first */
	size_t bytes;
	uint64_t last_seq;
};

static guint key_hash(gconstpointer key)
{
	return ((const struct mailbox_key *)key)->hash;
}

static gboolean key_equal(gconstpointer a, gconstpointer b)
{
	return memcmp(((const struct mailbox_key *)a)->id, ((const struct mailbox_key *)b)->id,
		      RELAY_ID_LEN) == 0;
}

static guint poster_hash(gconstpointer key)
{
	return ((const struct poster_key *)key)->hash;
}

static gboolean poster_equal(gconstpointer a, gconstpointer b)
{
	return memcmp(((const struct poster_key *)a)->addr, ((const struct poster_key *)b)->addr,
		      MAILBOX_POSTER_LEN) == 0;
}

static guint keyed_hash(const struct mailbox_store *store, const uint8_t *bytes, size_t len)
{
	uint8_t h[crypto_shorthash_BYTES];
	guint hash;

	crypto_shorthash(h, bytes, len, store->hash_key);
	memcpy(&hash, h, sizeof(hash));
	return hash;
}

static void make_key(const struct mailbox_store *store, const uint8_t id[RELAY_ID_LEN],
		     struct mailbox_key *key)
{
	memcpy(key->id, id, RELAY_ID_LEN);
	key->hash = keyed_hash(store, id, RELAY_ID_LEN);
}

struct mailbox_store *mailbox_store_new(const struct mailbox_limits *limits)
{
	struct mailbox_store *store = g_new0(struct mailbox_store, 1);

	store->limits = *limits;
	randombytes_buf(store->hash_key, sizeof(store->hash_key));
	store->boxes = g_hash_table_new(key_hash, key_equal);
	store->posters = g_hash_table_new_full(poster_hash, poster_equal, NULL, g_free);
	g_queue_init(&store->msgs);
	return store;
}

static void message_free(struct message *msg)
{
	g_bytes_unref(msg->frame);
	g_free(msg);
}

static void mailbox_free(struct mailbox *box)
{
	GList *l;

	while ((l = g_queue_pop_head_link(&box->msgs)))
		message_free(l->data);
	while ((l = g_queue_pop_head_link(&box->subs)))
		g_free(l->data);
	g_free(box);
}

void mailbox_store_free(struct mailbox_store *store)
{
	GHashTableIter it;
	gpointer box;

	if (!store)
		return;
	g_hash_table_iter_init(&it, store->boxes);
	while (g_hash_table_iter_next(&it, NULL, &box))
		mailbox_free(box);
	g_hash_table_destroy(store->boxes);
	g_hash_table_destroy(store->posters);
	g_free(store);
}

static struct poster *poster_get(struct mailbox_store *store, const uint8_t addr[MAILBOX_POSTER_LEN])
{
	struct poster_key key;
	struct poster *p;

	memcpy(key.addr, addr, MAILBOX_POSTER_LEN);
	key.hash = keyed_hash(store, addr, MAILBOX_POSTER_LEN);
	p = g_hash_table_lookup(store->posters, &key);
	if (p)
		return p;
	p = g_new0(struct poster, 1);
	p->key = key;
	g_queue_init(&p->msgs);
	g_hash_table_add(store->posters, &p->key);
	return p;
}

static void poster_put(struct mailbox_store *store, struct poster *p)
{
	if (!p->mailboxes && !p->msgs.length)
		g_hash_table_remove(store->posters, &p->key);
}

/* Makes the mailbox key names; a poster whose message makes it counts it
 * against its quota, a subscriber does not (its connection counts). */
static int mailbox_make(struct mailbox_store *store, const struct mailbox_key *key,
			struct poster *maker, struct mailbox **ret_box)
{
	struct mailbox *box;

	if (g_hash_table_size(store->boxes) >= store->limits.max_mailboxes)
		return -ENOSPC;
	if (maker && maker->mailboxes >= store->limits.max_mailboxes_per_poster)
		return -EDQUOT;
	box = g_new0(struct mailbox, 1);
	box->key = *key;
	g_queue_init(&box->msgs);
	g_queue_init(&box->subs);
	box->maker = maker;
	if (maker)
		maker->mailboxes++;
	g_hash_table_add(store->boxes, &box->key);
	*ret_box = box;
	return 0;
}

/* A mailbox lives while it holds messages or subscribers. */
static void mailbox_put(struct mailbox_store *store, struct mailbox *box)
{
	if (box->msgs.length || box->subs.length)
		return;
	g_hash_table_remove(store->boxes, &box->key);
	if (box->maker) {
		box->maker->mailboxes--;
		poster_put(store, box->maker);
	}
	g_free(box);
}

static void message_drop(struct mailbox_store *store, struct message *msg)
{
	struct mailbox *box = msg->box;
	struct poster *p = msg->poster;

	g_queue_unlink(&store->msgs, &msg->store_link);
	g_queue_unlink(&box->msgs, &msg->box_link);
	g_queue_unlink(&p->msgs, &msg->poster_link);
	store->bytes -= msg->len;
	p->bytes -= msg->len;
	message_free(msg);
	/* If p made box, it counts it still: it outlives mailbox_put(). */
	poster_put(store, p);
	mailbox_put(store, box);
}

static struct message *message_new(uint64_t seq, const void *body, size_t len, int64_t now)
{
	struct message *msg = g_new0(struct message, 1);
	uint8_t *frame = g_malloc(RELAY_FRAME_HEADER_LEN + len);

	relay_frame_header(frame, seq, len);
	memcpy(frame + RELAY_FRAME_HEADER_LEN, body, len);
	msg->frame = g_bytes_new_take(frame, RELAY_FRAME_HEADER_LEN + len);
	msg->seq = seq;
	msg->posted = now;
	msg->len = len;
	msg->store_link.data = msg;
	msg->box_link.data = msg;
	msg->poster_link.data = msg;
	return msg;
}

static void message_enqueue(struct mailbox_store *store, struct mailbox *box, struct poster *p,
			    struct message *msg)
{
	msg->box = box;
	msg->poster = p;
	g_queue_push_tail_link(&store->msgs, &msg->store_link);
	g_queue_push_tail_link(&box->msgs, &msg->box_link);
	g_queue_push_tail_link(&p->msgs, &msg->poster_link);
	store->bytes += msg->len;
	p->bytes += msg->len;
	while (box->msgs.length > store->limits.max_queue)
		message_drop(store, g_queue_peek_head(&box->msgs));
	/* The new message is never the oldest while others are queued, and
	 * alone it fits: each byte cap is at least one maximal message.  The
	 * poster's own go before anyone else's. */
	while (p->bytes > store->limits.max_bytes_per_poster && g_queue_peek_head(&p->msgs) != msg)
		message_drop(store, g_queue_peek_head(&p->msgs));
	while (store->bytes > store->limits.max_bytes && g_queue_peek_head(&store->msgs) != msg)
		message_drop(store, g_queue_peek_head(&store->msgs));
}

static void subscriber_remove(struct mailbox *box, struct mailbox_sub *sub)
{
	g_queue_unlink(&box->subs, &sub->link);
	g_free(sub);
}

static void deliver_all(struct mailbox *box, struct message *msg)
{
	GList *next;

	for (GList *l = box->subs.head; l; l = next) {
		struct mailbox_sub *sub = l->data;

		next = l->next;
		if (!sub->ops->deliver(sub->user, msg->frame, msg->seq))
			subscriber_remove(box, sub);
	}
}

int mailbox_store_post(struct mailbox_store *store, const uint8_t id[RELAY_ID_LEN],
		       const uint8_t poster[MAILBOX_POSTER_LEN], const void *body, size_t len,
		       int64_t now, uint64_t *ret_seq)
{
	struct mailbox_key key;
	struct mailbox *box;
	struct message *msg;
	struct poster *p;
	int r;

	if (len == 0)
		return -ENODATA;
	if (len > store->limits.max_message)
		return -EMSGSIZE;
	mailbox_store_expire(store, now);
	make_key(store, id, &key);
	p = poster_get(store, poster);
	box = g_hash_table_lookup(store->boxes, &key);
	if (!box && (r = mailbox_make(store, &key, p, &box)) < 0) {
		poster_put(store, p);
		return r;
	}
	msg = message_new(++store->last_seq, body, len, now);
	message_enqueue(store, box, p, msg);
	/* The mailbox still holds msg, so removing subscribers here cannot
	 * free it. */
	deliver_all(box, msg);
	*ret_seq = msg->seq;
	return 0;
}

static void evict_oldest(struct mailbox *box)
{
	struct mailbox_sub *old = g_queue_peek_head(&box->subs);
	const struct mailbox_sub_ops *ops = old->ops;
	void *user = old->user;

	subscriber_remove(box, old);
	ops->evicted(user);
}

static bool replay(struct mailbox *box, struct mailbox_sub *sub, uint64_t after)
{
	for (GList *l = box->msgs.head; l; l = l->next) {
		struct message *msg = l->data;

		if (msg->seq > after && !sub->ops->deliver(sub->user, msg->frame, msg->seq))
			return false;
	}
	return true;
}

int mailbox_store_subscribe(struct mailbox_store *store, const uint8_t id[RELAY_ID_LEN],
			    uint64_t after, const struct mailbox_sub_ops *ops, void *user,
			    int64_t now, struct mailbox_sub **ret_sub)
{
	struct mailbox_key key;
	struct mailbox_sub *sub;
	struct mailbox *box;

	mailbox_store_expire(store, now);
	make_key(store, id, &key);
	box = g_hash_table_lookup(store->boxes, &key);
	if (!box && mailbox_make(store, &key, NULL, &box) < 0)
		return -ENOSPC;
	/* The newest subscriber is the likely live one: an older one is often
	 * a connection whose client has gone without us noticing yet. */
	if (box->subs.length >= store->limits.max_subscribers)
		evict_oldest(box);
	sub = g_new0(struct mailbox_sub, 1);
	sub->box = box;
	sub->ops = ops;
	sub->user = user;
	sub->link.data = sub;
	if (!replay(box, sub, after)) {
		g_free(sub);
		mailbox_put(store, box);
		return -ENOBUFS;
	}
	g_queue_push_tail_link(&box->subs, &sub->link);
	*ret_sub = sub;
	return 0;
}

void mailbox_store_unsubscribe(struct mailbox_store *store, struct mailbox_sub *sub)
{
	struct mailbox *box;

	if (!sub)
		return;
	box = sub->box;
	subscriber_remove(box, sub);
	mailbox_put(store, box);
}

int64_t mailbox_store_expire(struct mailbox_store *store, int64_t now)
{
	struct message *msg;

	while ((msg = g_queue_peek_head(&store->msgs))) {
		if (now - msg->posted < store->limits.max_age)
			return msg->posted + store->limits.max_age;
		message_drop(store, msg);
	}
	return INT64_MAX;
}

uint64_t mailbox_store_last_seq(const struct mailbox_store *store)
{
	return store->last_seq;
}

size_t mailbox_store_n_mailboxes(const struct mailbox_store *store)
{
	return g_hash_table_size(store->boxes);
}

size_t mailbox_store_n_messages(const struct mailbox_store *store)
{
	return store->msgs.length;
}

size_t mailbox_store_n_bytes(const struct mailbox_store *store)
{
	return store->bytes;
}

size_t mailbox_store_n_posters(const struct mailbox_store *store)
{
	return g_hash_table_size(store->posters);
}

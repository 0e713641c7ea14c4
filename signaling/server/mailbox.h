/* The message store of `wice signal-server`: mailboxes addressed by opaque
 * 32-byte ids, each a short queue of messages, plus the subscribers waiting
 * on it.  No HTTP and no clock of its own (callers pass `now` in monotonic
 * microseconds), so it is unit tested directly.
 *
 * Sequence numbers come from one counter for the whole store: they never
 * repeat within a process even when a mailbox is freed and made again, so a
 * subscriber's cursor stays valid.  Messages are kept in their wire form
 * (relay frame header + body) in a GBytes, so one allocation serves every
 * subscriber and the HTTP layer sends it without copying.
 *
 * Every operation costs O(1) per message, apart from the replay that
 * mailbox_store_subscribe() does over one mailbox's queue: expiry and the
 * byte cap work from the oldest end of one store-wide queue.
 *
 * Posting is free and anonymous, so whoever posts fastest could take all
 * the mailboxes (one client made the 100000 of the default cap in half a
 * second) or all the bytes.  Hence quotas per poster, an opaque key that
 * the server takes from the client's address: mailboxes made by its
 * messages, and the bytes of its queued messages, of which its own oldest
 * go first. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "signaling/relay-proto.h"

struct mailbox_limits {
	size_t max_message;	/* bytes of one message body */
	size_t max_queue;	/* messages per mailbox; the oldest goes first */
	size_t max_mailboxes;	/* mailboxes with messages or subscribers */
	size_t max_subscribers; /* per mailbox; the oldest is evicted */
	size_t max_bytes;	/* bodies of all queued messages; oldest go first */
	int64_t max_age;	/* microseconds a message is kept */
	size_t max_mailboxes_per_poster; /* made by one poster's messages */
	size_t max_bytes_per_poster;	 /* of one poster's queued messages */
};

/* A poster's key: the server uses the client's IPv4 address (mapped to
 * IPv6) or IPv6 /64. */
#define MAILBOX_POSTER_LEN 16

/* The callbacks must not call back into the store. */
struct mailbox_sub_ops {
	/* A message for the subscriber (frame is borrowed: ref it to keep
	 * it).  Returning false ends the subscription (e.g. the client is
	 * too far behind); the store then forgets it without evicted(). */
	bool (*deliver)(void *user, GBytes *frame, uint64_t seq);
	/* A newer subscriber of the same mailbox took this one's place; the
	 * subscription is gone when this is called. */
	void (*evicted)(void *user);
};

struct mailbox_store;
struct mailbox_sub;

struct mailbox_store *mailbox_store_new(const struct mailbox_limits *limits);
void mailbox_store_free(struct mailbox_store *store);

/* Queues a copy of body from poster and hands it to the mailbox's
 * subscribers.  Returns 0 and the message's sequence number, -ENODATA
 * (empty body), -EMSGSIZE (body over the cap), -ENOSPC (too many
 * mailboxes) or -EDQUOT (the poster has made its quota of mailboxes). */
int mailbox_store_post(struct mailbox_store *store, const uint8_t id[RELAY_ID_LEN],
		       const uint8_t poster[MAILBOX_POSTER_LEN], const void *body, size_t len,
		       int64_t now, uint64_t *ret_seq);

/* Subscribes to mailbox id: first delivers the queued messages with a
 * sequence number above after, then every new one.  Returns 0, -ENOSPC (too
 * many mailboxes) or -ENOBUFS (deliver() refused the replay). */
int mailbox_store_subscribe(struct mailbox_store *store, const uint8_t id[RELAY_ID_LEN],
			    uint64_t after, const struct mailbox_sub_ops *ops, void *user,
			    int64_t now, struct mailbox_sub **ret_sub);
void mailbox_store_unsubscribe(struct mailbox_store *store, struct mailbox_sub *sub);

/* Drops expired messages; returns when the next one expires (INT64_MAX if
 * the store is empty). */
int64_t mailbox_store_expire(struct mailbox_store *store, int64_t now);

uint64_t mailbox_store_last_seq(const struct mailbox_store *store);
size_t mailbox_store_n_mailboxes(const struct mailbox_store *store);
size_t mailbox_store_n_messages(const struct mailbox_store *store);
size_t mailbox_store_n_bytes(const struct mailbox_store *store);
/* Posters with queued messages or mailboxes made. */
size_t mailbox_store_n_posters(const struct mailbox_store *store);

/* What the etcd backend reads from etcd's v3 JSON gateway (grpc-gateway
 * in front of the KV, Watch and Lease services): the messages of a watch
 * stream, one JSON object per line, and the answers to range and lease
 * requests; and which events bring a subscriber an envelope.  Pure
 * functions over bytes (json-glib underneath), unit tested and fuzzed
 * (tests/fuzz/fuzz-etcd.c) without curl or etcd; backend-etcd.c feeds
 * them what curl hands it, in pieces of any size.
 *
 * proto3's JSON mapping spells int64 as a string ("revision": "42");
 * both spellings are taken.  Keys and values are standard base64. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <glib.h>

/* One watch message carries the events of up to 1,000 revisions
 * (etcd's watchBatchMaxRevs); with envelopes of at most 1,200 bytes,
 * base64 and the JSON around them that is under 4 MiB for one mailbox.
 * A longer line is a broken stream. */
#define ETCD_LINE_MAX (4u << 20)
/* etcd's own messages nest 5 deep; json-glib's parser recurses, so a
 * line that nests deeper is refused before it gets there. */
#define ETCD_JSON_DEPTH_MAX 16

struct etcd_kv {
	int64_t mod_revision;
	bool deleted;	/* a DELETE event (the lease expired) */
	GBytes *key;
	GBytes *value;	/* empty for a delete */
};

struct etcd_watch_msg {
	bool created;
	bool canceled;
	int64_t revision;	  /* header.revision; 0 when absent */
	int64_t compact_revision; /* > 0: the start revision is compacted away */
	GPtrArray *events;	  /* struct etcd_kv, in revision order */
	char *error;		  /* an error message, or why it was canceled */
};

struct etcd_range {
	int64_t revision; /* header.revision: the store when it answered */
	bool more;	  /* kvs stopped at the limit */
	GPtrArray *kvs;	  /* struct etcd_kv */
};

/* The length of the line at the start of buf with its '\n', 0 when buf
 * holds only part of it, or -EMSGSIZE past ETCD_LINE_MAX.  *scanned
 * counts the bytes at the start known to hold no '\n' (0 for a new
 * line): the search starts there and it is updated on 0, so that a line
 * that trickles in a byte at a time is not searched again from its start
 * each time (a hostile member could make that cost O(n^2)). */
ssize_t etcd_stream_line(const uint8_t *buf, size_t len, size_t *scanned);

/* One message of a watch stream (a line without its '\n').  False for
 * anything that is not the JSON of a watch response or an error; *ret is
 * set only on success: clear it with etcd_watch_msg_clear(). */
bool etcd_watch_parse(const char *text, size_t len, struct etcd_watch_msg *ret);
void etcd_watch_msg_clear(struct etcd_watch_msg *msg);

/* The answer to POST /v3/kv/range.  Same contract. */
bool etcd_range_parse(const char *text, size_t len, struct etcd_range *ret);
void etcd_range_clear(struct etcd_range *range);

/* The lease id in the answer to POST /v3/lease/grant. */
bool etcd_lease_parse(const char *text, size_t len, int64_t *ret_id);

/* The envelope @kv brings a subscriber whose keys start with @prefix and
 * who has seen every revision up to @seen: a put of a newer revision
 * under the prefix with a value that can be an envelope.  The puts of
 * one transaction share a revision, and etcd never splits a revision
 * across watch messages: so @seen is the cursor from before the message
 * (or range answer) that holds @kv, and moves only once all of it is
 * taken; a revision seen before (a repeat after a reconnect or a
 * failover) is never taken twice. */
bool etcd_take_envelope(const struct etcd_kv *kv, const char *prefix, int64_t seen, const uint8_t **ret_env,
			size_t *ret_len);
/* The newest revision among @kvs, or @seen when that is newer. */
int64_t etcd_last_revision(const GPtrArray *kvs, int64_t seen);

/* Tells when another process changes one nftables table, without polling:
 * a netlink socket in the nftables monitor group (NFNLGRP_NFTABLES, what
 * `nft monitor` reads) on the main loop.
 *
 * The kernel sends the messages of one transaction (new or deleted table,
 * chain, rule, set, element) and then NFT_MSG_NEWGEN, which ends them and
 * names the thread that committed.  A transaction any of whose messages
 * names the watched table changed it.
 *
 * Our own transactions produce the same messages, and a watcher that took
 * them for someone else's would repair the table after every repair.  They
 * are told apart by bracketing: nft_watch_own_begin() reads whatever is
 * pending, the caller commits, and nft_watch_own_end() reads what the
 * commit produced.  This works because the kernel runs a transaction and
 * sends its messages before the sender's netlink call returns; it does not
 * need the committing pid (the kernel reports it as seen from the initial
 * PID namespace, which a daemon in a container cannot compare with its
 * own).  Transactions of others that end inside a bracket are told apart
 * by that pid once a bracket with one transaction in it has shown ours. */
#pragma once

#include <gio/gio.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NFT_WATCH_MAX_TABLE 64

/* What one message of the nftables monitor group says. */
enum nft_event_kind {
	NFT_EVENT_IGNORED,    /* another subsystem, another table, a type we do not know */
	NFT_EVENT_TABLE,      /* a change to the watched table */
	NFT_EVENT_GENERATION, /* the end of one transaction's messages */
};

struct nft_event {
	enum nft_event_kind kind;
	/* NFT_EVENT_GENERATION: the committing thread (0 and "" if not said) */
	uint32_t pid;
	char comm[16];
};

/* Parses the first netlink message in @buf (@len bytes) for the inet table
 * @table.  Returns 0, or -EINVAL for a malformed message; @ret is left
 * untouched on failure.  Pure: no I/O. */
int nft_event_parse(const void *buf, size_t len, const char *table, struct nft_event *ret);

struct nft_watch;

/* Another process changed the table.  @pid and @comm name it; pid 0 and
 * comm "" when events were lost (the socket's buffer overflowed), so
 * that any change may have happened. */
typedef void (*nft_watch_fn)(uint32_t pid, const char *comm, void *data);

/* Watches table inet @table in the current network namespace and calls
 * @fn from the thread-default main context, once per transaction that
 * changed the table. */
struct nft_watch *nft_watch_new(const char *table, nft_watch_fn fn, void *data, GError **error);

/* Around each transaction of this process: before it, and after it with
 * whether it committed (a failed one changed nothing, so whatever ended
 * inside the bracket was someone else's). */
void nft_watch_own_begin(struct nft_watch *watch);
void nft_watch_own_end(struct nft_watch *watch, bool committed);

/* Accepts NULL. */
void nft_watch_free(struct nft_watch *watch);

typedef struct nft_watch nft_watch;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(nft_watch, nft_watch_free)

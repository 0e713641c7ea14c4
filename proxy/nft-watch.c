/* The nftables table watcher (see nft-watch.h).
 *
 * The parser is plain C over one message; the socket half reads on the
 * main loop and sorts whole transactions into ours and others'.  The
 * socket buffer is raised to 4 MiB: a transaction sends one message per
 * map element (a restore of 1000 peers is ~4000 messages of ~150 bytes,
 * which the default ~200 KiB cannot hold); if it still overflows, the
 * owner hears that any change may have happened. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib-unix.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nft-watch.h"
#include "wg/wg-netlink.h"

#define RCVBUF (4 << 20)
/* Transactions of others that end inside one bracket of ours: there is
 * room for more than a millisecond's worth; the rest count as ours. */
#define MAX_IN_BRACKET 8

/* ---- parsing ------------------------------------------------------------- */

/* The message types that name a table in their first attribute
 * (NFTA_TABLE_NAME, NFTA_CHAIN_TABLE, NFTA_RULE_TABLE, NFTA_SET_TABLE,
 * NFTA_SET_ELEM_LIST_TABLE, NFTA_OBJ_TABLE, NFTA_FLOWTABLE_TABLE). */
static bool names_table(uint16_t type)
{
	switch (type) {
	case NFT_MSG_NEWTABLE:
	case NFT_MSG_DELTABLE:
	case NFT_MSG_NEWCHAIN:
	case NFT_MSG_DELCHAIN:
	case NFT_MSG_NEWRULE:
	case NFT_MSG_DELRULE:
	case NFT_MSG_NEWSET:
	case NFT_MSG_DELSET:
	case NFT_MSG_NEWSETELEM:
	case NFT_MSG_DELSETELEM:
	case NFT_MSG_NEWOBJ:
	case NFT_MSG_DELOBJ:
	case NFT_MSG_NEWFLOWTABLE:
	case NFT_MSG_DELFLOWTABLE:
		return true;
	default:
		return false;
	}
}

#define ATTR_TABLE 1 /* see names_table() */
#define ATTR_MAX 3   /* NFTA_GEN_PROC_NAME */

/* Keeps the attributes we know, skips the others (newer kernels may add
 * some), and refuses an attribute that runs past the message. */
static int parse_attrs(const struct nlmsghdr *nlh, const struct nlattr **tb)
{
	size_t off = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg));

	while (off < nlh->nlmsg_len) {
		const struct nlattr *attr = (const struct nlattr *)((const uint8_t *)nlh + off);
		size_t left = nlh->nlmsg_len - off;

		if (left < sizeof(*attr) || attr->nla_len < sizeof(*attr) || attr->nla_len > left)
			return -EINVAL;
		if (mnl_attr_get_type(attr) <= ATTR_MAX)
			tb[mnl_attr_get_type(attr)] = attr;
		off += MNL_ALIGN(attr->nla_len);
	}
	return 0;
}

static bool attr_string(const struct nlattr *attr, char *buf, size_t size)
{
	const char *s;
	size_t len;

	if (!attr || mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
		return false;
	s = mnl_attr_get_str(attr);
	len = strnlen(s, mnl_attr_get_payload_len(attr));
	if (len >= size)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return true;
}

static void parse_generation(const struct nlattr *const *tb, struct nft_event *ev)
{
	const struct nlattr *pid = tb[NFTA_GEN_PROC_PID];

	ev->kind = NFT_EVENT_GENERATION;
	if (pid && mnl_attr_validate(pid, MNL_TYPE_U32) == 0)
		ev->pid = ntohl(mnl_attr_get_u32(pid));
	if (!attr_string(tb[NFTA_GEN_PROC_NAME], ev->comm, sizeof(ev->comm)))
		ev->comm[0] = '\0';
}

int nft_event_parse(const void *buf, size_t len, const char *table, struct nft_event *ret)
{
	const struct nlmsghdr *nlh = buf;
	const struct nlattr *tb[ATTR_MAX + 1] = { 0 };
	const struct nfgenmsg *gen;
	struct nft_event ev = { .kind = NFT_EVENT_IGNORED };
	char name[NFT_WATCH_MAX_TABLE + 1];
	uint16_t type;

	/* Not mnl_nlmsg_ok(): it compares lengths as int, so a length of
	 * 2 GiB or more passes it. */
	if (len < sizeof(*nlh) || nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > len)
		return -EINVAL;
	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES) {
		*ret = ev;
		return 0;
	}
	type = NFNL_MSG_TYPE(nlh->nlmsg_type);
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*gen) || parse_attrs(nlh, tb) < 0)
		return -EINVAL;
	gen = mnl_nlmsg_get_payload(nlh);
	if (type == NFT_MSG_NEWGEN)
		parse_generation(tb, &ev);
	else if (names_table(type) && gen->nfgen_family == NFPROTO_INET &&
		 attr_string(tb[ATTR_TABLE], name, sizeof(name)) && strcmp(name, table) == 0)
		ev.kind = NFT_EVENT_TABLE;
	*ret = ev;
	return 0;
}

/* ---- the socket -------------------------------------------------------------- */

struct nft_batch {
	uint32_t pid;
	char comm[16];
};

struct nft_watch {
	struct mnl_socket *nl;
	GSource *source;
	char table[NFT_WATCH_MAX_TABLE + 1];
	nft_watch_fn fn;
	void *data;
	bool touched; /* the current transaction's messages so far name the table */
	/* between own_begin and own_end: the transactions that ended */
	bool in_bracket;
	unsigned bracket_ends;
	struct nft_batch bracket[MAX_IN_BRACKET];
	unsigned n_bracket; /* those of them that touched the table */
	bool bracket_lost;  /* events were lost inside the bracket */
	uint32_t own_pid;   /* the kernel's name for our committing thread, once known */
	uint8_t buf[65536];
};

static void on_batch_end(struct nft_watch *w, const struct nft_event *ev)
{
	bool touched = w->touched;

	w->touched = false;
	if (w->in_bracket) {
		w->bracket_ends++;
		if (touched && w->n_bracket < MAX_IN_BRACKET) {
			w->bracket[w->n_bracket].pid = ev->pid;
			memcpy(w->bracket[w->n_bracket].comm, ev->comm, sizeof(ev->comm));
			w->n_bracket++;
		}
		return;
	}
	if (touched)
		w->fn(ev->pid, ev->comm, w->data);
}

static int message_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nft_watch *w = data;
	struct nft_event ev;

	if (nft_event_parse(nlh, nlh->nlmsg_len, w->table, &ev) < 0)
		return MNL_CB_OK; /* the kernel's own messages: skip what we cannot read */
	if (ev.kind == NFT_EVENT_TABLE)
		w->touched = true;
	else if (ev.kind == NFT_EVENT_GENERATION)
		on_batch_end(w, &ev);
	return MNL_CB_OK;
}

/* Messages were dropped: whatever transaction was in flight is unknown. */
static void on_overflow(struct nft_watch *w)
{
	w->touched = false;
	if (w->in_bracket)
		w->bracket_lost = true;
	else
		w->fn(0, "", w->data);
}

static void read_pending(struct nft_watch *w)
{
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(w->nl, w->buf, sizeof(w->buf));

		/* ENOBUFS: the kernel dropped messages; ENOSPC: one was cut */
		if (n < 0 && (errno == ENOBUFS || errno == ENOSPC)) {
			on_overflow(w);
			continue;
		}
		if (n <= 0)
			return; /* EAGAIN: all read */
		mnl_cb_run(w->buf, wg_netlink_msgs_len(w->buf, (size_t)n), 0, 0, message_cb, w);
	}
}

static gboolean on_readable(gint fd, GIOCondition condition, gpointer data)
{
	read_pending(data);
	return G_SOURCE_CONTINUE;
}

void nft_watch_own_begin(struct nft_watch *w)
{
	read_pending(w);
	w->in_bracket = true;
	w->bracket_ends = 0;
	w->n_bracket = 0;
	w->bracket_lost = false;
}

/* Which transactions of the bracket were someone else's: all of them if
 * ours failed; none if only ours ended (which shows what pid the kernel
 * gives us); otherwise those of another pid, once we know ours. */
static bool batch_is_foreign(const struct nft_watch *w, const struct nft_batch *b, bool committed)
{
	if (!committed)
		return true;
	return w->bracket_ends > 1 && w->own_pid && b->pid != w->own_pid;
}

void nft_watch_own_end(struct nft_watch *w, bool committed)
{
	const struct nft_batch *foreign = NULL;

	read_pending(w);
	w->in_bracket = false;
	if (committed && !w->bracket_lost && w->bracket_ends == 1 && w->n_bracket == 1)
		w->own_pid = w->bracket[0].pid;
	for (unsigned i = 0; i < w->n_bracket; i++)
		if (batch_is_foreign(w, &w->bracket[i], committed))
			foreign = &w->bracket[i];
	if (foreign)
		w->fn(foreign->pid, foreign->comm, w->data);
	else if (w->bracket_lost && !committed)
		w->fn(0, "", w->data);
}

struct nft_watch *nft_watch_new(const char *table, nft_watch_fn fn, void *data, GError **error)
{
	g_autoptr(nft_watch) w = g_new0(struct nft_watch, 1);
	int group = NFNLGRP_NFTABLES, size = RCVBUF;

	if (strlen(table) > NFT_WATCH_MAX_TABLE) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "table name '%s' is too long", table);
		return NULL;
	}
	g_strlcpy(w->table, table, sizeof(w->table));
	w->fn = fn;
	w->data = data;
	w->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!w->nl || mnl_socket_bind(w->nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_setsockopt(w->nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0) {
		int err = errno;

		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err), "nftables monitor socket: %s",
			    g_strerror(err));
		return NULL;
	}
	/* Root may go past net.core.rmem_max; anyone else gets what it allows. */
	if (setsockopt(mnl_socket_get_fd(w->nl), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(mnl_socket_get_fd(w->nl), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	w->source = g_unix_fd_source_new(mnl_socket_get_fd(w->nl), G_IO_IN);
	g_source_set_callback(w->source, G_SOURCE_FUNC(on_readable), w, NULL);
	g_source_attach(w->source, g_main_context_get_thread_default());
	return g_steal_pointer(&w);
}

void nft_watch_free(struct nft_watch *w)
{
	if (!w)
		return;
	if (w->source) {
		g_source_destroy(w->source);
		g_source_unref(w->source);
	}
	if (w->nl)
		mnl_socket_close(w->nl);
	g_free(w);
}

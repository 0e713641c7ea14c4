/* Unit tests of the nftables monitor parser (proxy/nft-watch.c).
 *
 * Messages are built with libmnl as the kernel lays them out: which ones
 * name the watched table (by message type, family and name), what a new
 * generation says, and every prefix of each message is either refused or
 * read inside its bounds (a guard page follows every truncated copy). */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "proxy/nft-watch.h"

#define TABLE "wice_0123abcd"

static uint8_t msg_buf[4096] __attribute__((aligned(4)));

static struct nlmsghdr *msg_begin(uint16_t type, uint8_t family)
{
	struct nlmsghdr *nlh;
	struct nfgenmsg *gen;

	memset(msg_buf, 0, sizeof(msg_buf));
	nlh = mnl_nlmsg_put_header(msg_buf);
	nlh->nlmsg_type = (uint16_t)(NFNL_SUBSYS_NFTABLES << 8 | type);
	gen = mnl_nlmsg_put_extra_header(nlh, sizeof(*gen));
	gen->nfgen_family = family;
	gen->version = NFNETLINK_V0;
	gen->res_id = htons(42);
	return nlh;
}

/* A deleted table as the kernel announces it: name, flags, use, handle. */
static struct nlmsghdr *table_msg(uint16_t type, uint8_t family, const char *name)
{
	struct nlmsghdr *nlh = msg_begin(type, family);

	mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, name);
	mnl_attr_put_u32(nlh, NFTA_TABLE_FLAGS, 0);
	mnl_attr_put_u32(nlh, NFTA_TABLE_USE, htonl(6));
	mnl_attr_put_u64(nlh, NFTA_TABLE_HANDLE, 7);
	return nlh;
}

/* Elements of a map: the list names table and set, then nests elements. */
static struct nlmsghdr *setelem_msg(uint16_t type, const char *table)
{
	struct nlmsghdr *nlh = msg_begin(type, NFPROTO_INET);
	struct nlattr *list, *elem;

	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, "in4");
	list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	elem = mnl_attr_nest_start(nlh, 1);
	mnl_attr_put_u32(nlh, NFTA_SET_ELEM_FLAGS, 0);
	mnl_attr_nest_end(nlh, elem);
	mnl_attr_nest_end(nlh, list);
	return nlh;
}

static struct nlmsghdr *gen_msg(uint32_t pid, const char *comm)
{
	struct nlmsghdr *nlh = msg_begin(NFT_MSG_NEWGEN, NFPROTO_UNSPEC);

	mnl_attr_put_u32(nlh, NFTA_GEN_ID, htonl(1234));
	mnl_attr_put_u32(nlh, NFTA_GEN_PROC_PID, htonl(pid));
	mnl_attr_put_strz(nlh, NFTA_GEN_PROC_NAME, comm);
	return nlh;
}

static struct nft_event parse_ok(const struct nlmsghdr *nlh)
{
	struct nft_event ev;

	memset(&ev, 0xaa, sizeof(ev));
	cr_assert_eq(nft_event_parse(nlh, nlh->nlmsg_len, TABLE, &ev), 0);
	return ev;
}

Test(nft_event, our_table_deleted)
{
	cr_assert_eq(parse_ok(table_msg(NFT_MSG_DELTABLE, NFPROTO_INET, TABLE)).kind, NFT_EVENT_TABLE);
	cr_assert_eq(parse_ok(table_msg(NFT_MSG_NEWTABLE, NFPROTO_INET, TABLE)).kind, NFT_EVENT_TABLE);
}

Test(nft_event, other_tables_ignored)
{
	cr_assert_eq(parse_ok(table_msg(NFT_MSG_DELTABLE, NFPROTO_INET, "wice")).kind, NFT_EVENT_IGNORED);
	cr_assert_eq(parse_ok(table_msg(NFT_MSG_DELTABLE, NFPROTO_INET, TABLE "x")).kind, NFT_EVENT_IGNORED);
	cr_assert_eq(parse_ok(table_msg(NFT_MSG_DELTABLE, NFPROTO_IPV4, TABLE)).kind, NFT_EVENT_IGNORED);
	cr_assert_eq(parse_ok(table_msg(NFT_MSG_DELTABLE, NFPROTO_IPV6, TABLE)).kind, NFT_EVENT_IGNORED);
}

Test(nft_event, elements_of_our_maps)
{
	cr_assert_eq(parse_ok(setelem_msg(NFT_MSG_DELSETELEM, TABLE)).kind, NFT_EVENT_TABLE);
	cr_assert_eq(parse_ok(setelem_msg(NFT_MSG_NEWSETELEM, TABLE)).kind, NFT_EVENT_TABLE);
	cr_assert_eq(parse_ok(setelem_msg(NFT_MSG_DELSETELEM, "filter")).kind, NFT_EVENT_IGNORED);
}

Test(nft_event, generation)
{
	struct nft_event ev = parse_ok(gen_msg(4242, "nft"));

	cr_assert_eq(ev.kind, NFT_EVENT_GENERATION);
	cr_assert_eq(ev.pid, 4242);
	cr_assert_str_eq(ev.comm, "nft");
}

/* Older kernels say neither pid nor name; a name that does not fit is dropped. */
Test(nft_event, generation_without_process)
{
	struct nlmsghdr *nlh = msg_begin(NFT_MSG_NEWGEN, NFPROTO_UNSPEC);
	struct nft_event ev;

	mnl_attr_put_u32(nlh, NFTA_GEN_ID, htonl(1));
	ev = parse_ok(nlh);
	cr_assert_eq(ev.kind, NFT_EVENT_GENERATION);
	cr_assert_eq(ev.pid, 0);
	cr_assert_str_eq(ev.comm, "");
	ev = parse_ok(gen_msg(7, "a-name-longer-than-16"));
	cr_assert_eq(ev.pid, 7);
	cr_assert_str_eq(ev.comm, "");
}

/* Not a string: no NUL at the end of the table name. */
Test(nft_event, unterminated_name)
{
	struct nlmsghdr *nlh = msg_begin(NFT_MSG_DELTABLE, NFPROTO_INET);

	mnl_attr_put(nlh, NFTA_TABLE_NAME, strlen(TABLE), TABLE);
	cr_assert_eq(parse_ok(nlh).kind, NFT_EVENT_IGNORED);
}

Test(nft_event, other_subsystems_and_types)
{
	struct nlmsghdr *nlh = table_msg(NFT_MSG_DELTABLE, NFPROTO_INET, TABLE);

	nlh->nlmsg_type = (uint16_t)(NFNL_SUBSYS_CTNETLINK << 8 | NFT_MSG_DELTABLE);
	cr_assert_eq(parse_ok(nlh).kind, NFT_EVENT_IGNORED);
	nlh = table_msg(NFT_MSG_GETTABLE, NFPROTO_INET, TABLE);
	cr_assert_eq(parse_ok(nlh).kind, NFT_EVENT_IGNORED);
}

Test(nft_event, unknown_attributes_skipped)
{
	struct nlmsghdr *nlh = table_msg(NFT_MSG_DELTABLE, NFPROTO_INET, TABLE);

	mnl_attr_put_u32(nlh, 200, 1);
	cr_assert_eq(parse_ok(nlh).kind, NFT_EVENT_TABLE);
}

Test(nft_event, bad_lengths)
{
	struct nlmsghdr *nlh = table_msg(NFT_MSG_DELTABLE, NFPROTO_INET, TABLE);
	struct nlattr *first = (struct nlattr *)((uint8_t *)nlh + MNL_NLMSG_HDRLEN + sizeof(struct nfgenmsg));
	struct nft_event ev = { .kind = NFT_EVENT_TABLE };

	cr_assert_eq(nft_event_parse(nlh, nlh->nlmsg_len - 1, TABLE, &ev), -EINVAL); /* longer than the buffer */
	cr_assert_eq(nft_event_parse(nlh, 3, TABLE, &ev), -EINVAL);
	nlh->nlmsg_len = 0xffff0030; /* negative as an int: mnl_nlmsg_ok() would take it */
	cr_assert_eq(nft_event_parse(nlh, 0x30, TABLE, &ev), -EINVAL);
	nlh->nlmsg_len = 8;
	cr_assert_eq(nft_event_parse(nlh, 0x30, TABLE, &ev), -EINVAL);
	nlh = table_msg(NFT_MSG_DELTABLE, NFPROTO_INET, TABLE);
	first->nla_len = 2;
	cr_assert_eq(nft_event_parse(nlh, nlh->nlmsg_len, TABLE, &ev), -EINVAL);
	first->nla_len = 0xffff;
	cr_assert_eq(nft_event_parse(nlh, nlh->nlmsg_len, TABLE, &ev), -EINVAL);
	cr_assert_eq(ev.kind, NFT_EVENT_TABLE, "left untouched on failure");
}

/* A copy of the first @len bytes of @src that ends right before a page
 * that cannot be read, with nlmsg_len set to @len. */
struct guarded {
	uint8_t *map;
	size_t map_len;
	struct nlmsghdr *nlh;
};

static void guarded_copy(struct guarded *g, const struct nlmsghdr *src, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t room = MNL_ALIGN(len);

	g->map_len = 2 * page;
	g->map = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(g->map, MAP_FAILED);
	cr_assert_eq(mprotect(g->map + page, page, PROT_NONE), 0);
	g->nlh = (struct nlmsghdr *)(g->map + page - room);
	memcpy(g->nlh, src, len);
	g->nlh->nlmsg_len = (uint32_t)len;
}

/* Whole messages end between attributes (or in the last one's padding). */
static bool is_boundary(const struct nlmsghdr *full, size_t len)
{
	size_t off = MNL_NLMSG_HDRLEN + sizeof(struct nfgenmsg);

	while (off < full->nlmsg_len) {
		const struct nlattr *attr = (const struct nlattr *)((const uint8_t *)full + off);

		if (len == off || (len >= off + attr->nla_len && len <= off + MNL_ALIGN(attr->nla_len)))
			return true;
		off += MNL_ALIGN(attr->nla_len);
	}
	return len == off;
}

static void sweep(const struct nlmsghdr *full, enum nft_event_kind whole)
{
	uint8_t copy[4096];
	unsigned accepted = 0;

	memcpy(copy, full, full->nlmsg_len);
	full = (const struct nlmsghdr *)copy;
	for (size_t len = 0; len <= full->nlmsg_len; len++) {
		struct guarded g;
		struct nft_event ev;
		int r;

		if (len < sizeof(struct nlmsghdr)) {
			cr_assert_eq(nft_event_parse(full, len, TABLE, &ev), -EINVAL, "%zu bytes", len);
			continue;
		}
		guarded_copy(&g, full, len);
		r = nft_event_parse(g.nlh, len, TABLE, &ev);
		munmap(g.map, g.map_len);
		if (len < MNL_NLMSG_HDRLEN + sizeof(struct nfgenmsg) || !is_boundary(full, len)) {
			cr_assert_eq(r, -EINVAL, "prefix of %zu bytes: %d", len, r);
			continue;
		}
		cr_assert_eq(r, 0, "prefix of %zu bytes: %d", len, r);
		accepted++;
		if (len == full->nlmsg_len)
			cr_assert_eq(ev.kind, whole);
	}
	cr_assert_gt(accepted, 2);
}

Test(nft_event, truncation_sweep)
{
	sweep(table_msg(NFT_MSG_DELTABLE, NFPROTO_INET, TABLE), NFT_EVENT_TABLE);
	sweep(setelem_msg(NFT_MSG_DELSETELEM, TABLE), NFT_EVENT_TABLE);
	sweep(gen_msg(99, "nft"), NFT_EVENT_GENERATION);
}

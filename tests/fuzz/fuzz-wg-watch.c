/* libFuzzer harness for the interface watcher's link messages
 * (wg_watch_parse_link() in src/daemon/wg-watch.c): the input is an
 * rtnetlink datagram, run through mnl_cb_run() as the watcher runs one
 * (whole messages of sane length, see wg_netlink_msgs_len()).
 * A link it takes must have an index and a NUL-terminated name shorter
 * than IFNAMSIZ, since the watcher copies and compares names as C
 * strings.  The datagram is an exact-size copy, rounded up to the
 * alignment that libmnl reads messages to, as a receive buffer always
 * is.  Any broken property aborts. */
#include "config.h"

#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "daemon/wg-watch.h"
#include "wg/wg-netlink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		abort();
}

static int on_message(const struct nlmsghdr *nlh, void *data)
{
	struct wg_link_event ev;

	if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
		return MNL_CB_OK;
	if (wg_watch_parse_link(nlh, &ev))
		check(ev.ifindex > 0 && ev.name && strnlen(ev.name, IFNAMSIZ) < IFNAMSIZ);
	return MNL_CB_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t alloc = MNL_ALIGN(size);
	uint8_t *buf = calloc(1, alloc ? alloc : 1);

	memcpy(buf, data, size);
	mnl_cb_run(buf, wg_netlink_msgs_len(buf, size), 0, 0, on_message, NULL);
	free(buf);
	return 0;
}

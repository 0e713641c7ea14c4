/* libFuzzer harness for the nftables monitor parser: the input is read as
 * a datagram of netlink messages, each parsed as the watcher would. */
#include <libmnl/libmnl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/nft-watch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size, aligned copy, so that reads past the end are caught. */
	void *buf = malloc(size ? size : 1);
	size_t off = 0;
	struct nft_event ev;

	memcpy(buf, data, size);
	while (off + sizeof(struct nlmsghdr) <= size) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)((const uint8_t *)buf + off);

		if (nft_event_parse(nlh, size - off, "wice", &ev) < 0)
			break;
		off += MNL_ALIGN(nlh->nlmsg_len);
	}
	free(buf);
	return 0;
}

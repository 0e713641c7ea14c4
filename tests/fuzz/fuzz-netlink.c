/* libFuzzer harness for wg_netlink_parse_device_msg().
 *
 * The input is read as a WG_CMD_GET_DEVICE dump: a sequence of netlink
 * messages folded into one device, so that peers continued across messages
 * are exercised too.  Each message is copied into a heap block of exactly
 * its nlmsg_len (clamped to the bytes left), so that AddressSanitizer flags
 * any read past the message, and the parser's contract ("never read beyond
 * nlmsg_len") is what is checked, not merely "stay inside the input". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>

#include "wg/wg-netlink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parses one message; returns how many input bytes it used, 0 to stop. */
static size_t parse_next(const uint8_t *data, size_t size, struct wg_device *dev)
{
	struct nlmsghdr hdr, *copy;
	size_t len, alloc;
	int r;

	if (size < sizeof(hdr))
		return 0;
	memcpy(&hdr, data, sizeof(hdr));
	len = hdr.nlmsg_len < size ? hdr.nlmsg_len : size;
	/* A claimed length below the header still needs the header readable. */
	alloc = len < sizeof(hdr) ? sizeof(hdr) : len;
	copy = malloc(alloc);
	if (!copy)
		return 0;
	memcpy(copy, data, alloc);
	copy->nlmsg_len = (uint32_t)len;
	r = wg_netlink_parse_device_msg(copy, dev);
	free(copy);
	if (r < 0 || len < sizeof(hdr))
		return 0;
	len = MNL_ALIGN(len);
	return len < size ? len : size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wg_device *dev = wg_device_new("fuzz0");
	size_t used;

	if (!dev)
		return 0;
	while ((used = parse_next(data, size, dev)) > 0) {
		data += used;
		size -= used;
	}
	wg_device_free(dev);
	return 0;
}

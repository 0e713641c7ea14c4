/* libFuzzer harness for the UAPI codec.
 *
 * Feeds arbitrary bytes to the get and set reply parsers.  When a reply
 * parses, it also checks a round trip: the parsed device, formatted as a set
 * request and read back, must give the same peers and allowed IPs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wg/wg-uapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(struct wg_device *dev)
{
	struct wg_device *back = wg_device_new("fuzz");
	char *req = NULL, *reply;
	size_t len = 0;

	for (size_t i = 0; i < dev->n_peers; i++)
		dev->peers[i].set = wg_sockaddr_len(&dev->peers[i].endpoint) ? WG_PEER_SET_ENDPOINT : 0;
	if (wg_uapi_format_set(dev, &req, &len) == 0) {
		/* "set=1\n...\n" becomes "...errno=0\n\n" */
		reply = malloc(len + 16);
		memcpy(reply, req + 6, len - 7);
		memcpy(reply + len - 7, "errno=0\n\n", 9);
		if (wg_uapi_parse_get(reply, len + 2, back, NULL) != 0 || back->n_peers != dev->n_peers)
			abort();
		for (size_t i = 0; i < dev->n_peers; i++)
			if (back->peers[i].n_allowed_ips != dev->peers[i].n_allowed_ips)
				abort();
		free(reply);
		wg_uapi_buf_free(req, len);
	}
	wg_device_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wg_device *dev = wg_device_new("fuzz");

	if (wg_uapi_parse_get((const char *)data, size, dev, NULL) == 0)
		check_round_trip(dev);
	wg_device_free(dev);
	(void)wg_uapi_parse_set_reply((const char *)data, size);
	return 0;
}

/* `wice interfaces [--json]`: the WireGuard interfaces wice can see in this
 * network namespace, read directly through the device API (no daemon). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "wg/wg.h"

static void print_device(const struct wg_device *dev, bool json, bool first)
{
	char pub[WG_KEY_B64_LEN] = "";

	if (!wg_key_is_zero(dev->public_key))
		wg_key_to_base64(pub, dev->public_key);
	if (json)
		printf("%s{\"name\":\"%s\",\"backend\":\"%s\",\"public_key\":%s%s%s,\"listen_port\":%u,\"peers\":%zu}",
		       first ? "" : ",", dev->name, wg_backend_name(dev->backend), *pub ? "\"" : "",
		       *pub ? pub : "null", *pub ? "\"" : "", dev->listen_port, dev->n_peers);
	else
		printf("%s\t%s\t%s\t%u\t%zu peers\n", dev->name, wg_backend_name(dev->backend),
		       *pub ? pub : "(none)", dev->listen_port, dev->n_peers);
}

int cmd_interfaces(int argc, char **argv)
{
	struct wg_names names = { 0 };
	bool json = argc > 1 && strcmp(argv[1], "--json") == 0;
	int r, failed = 0, printed = 0;

	if (cmd_wants_help(argc, argv) || argc > 2 || (argc == 2 && !json)) {
		printf("Usage: wice interfaces [--json]\n");
		return argc > 2 || (argc == 2 && !json && !cmd_wants_help(argc, argv));
	}
	r = wg_list(&names);
	if (r < 0) {
		fprintf(stderr, "wice: cannot list WireGuard interfaces: %s\n", strerror(-r));
		return 1;
	}
	if (json)
		printf("{\"interfaces\":[");
	for (size_t i = 0; i < names.n; i++) {
		struct wg_device *dev = NULL;

		r = wg_get(names.name[i], &dev);
		if (r < 0) {
			fprintf(stderr, "wice: cannot read '%s': %s\n", names.name[i], strerror(-r));
			failed = 1;
			continue;
		}
		print_device(dev, json, printed++ == 0);
		wg_device_free(dev);
	}
	if (json)
		printf("]}\n");
	wg_names_clear(&names);
	return failed;
}

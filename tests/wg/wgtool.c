/* wgtool: drives wice's WireGuard API from shell tests.
 *
 * Its `dump` output has exactly the format of `wg show IF dump`, so tests can
 * compare our reading of a device with the real tool's byte for byte; the
 * other commands change a device through our API so that `wg` can check the
 * result.  It links only libwg (no GLib) because it also runs in the kernel
 * test VM. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wg/wg.h"

static int fail(const char *what, const char *arg, int err)
{
	fprintf(stderr, "wgtool: %s '%s': %s\n", what, arg, strerror(err));
	return 1;
}

static void print_peer(const struct wg_peer *peer)
{
	char pub[WG_KEY_B64_LEN], psk[WG_KEY_B64_LEN] = "(none)", ep[128], aip[64];

	wg_key_to_base64(pub, peer->public_key);
	if (!wg_key_is_zero(peer->preshared_key))
		wg_key_to_base64(psk, peer->preshared_key);
	wg_endpoint_format(&peer->endpoint, ep, sizeof(ep));
	printf("%s\t%s\t%s\t", pub, psk, ep);
	for (size_t i = 0; i < peer->n_allowed_ips; i++) {
		wg_allowed_ip_format(&peer->allowed_ips[i], aip, sizeof(aip));
		printf("%s%s", i ? "," : "", aip);
	}
	printf("%s\t%" PRId64 "\t%" PRIu64 "\t%" PRIu64 "\t", peer->n_allowed_ips ? "" : "(none)",
	       peer->last_handshake_sec, peer->rx_bytes, peer->tx_bytes);
	if (peer->persistent_keepalive)
		printf("%u\n", peer->persistent_keepalive);
	else
		printf("off\n");
}

static int cmd_dump(const char *ifname)
{
	struct wg_device *dev = NULL;
	char priv[WG_KEY_B64_LEN] = "(none)", pub[WG_KEY_B64_LEN] = "(none)";
	int r = wg_get(ifname, &dev);

	if (r < 0)
		return fail("cannot read", ifname, -r);
	if (!wg_key_is_zero(dev->private_key)) {
		wg_key_to_base64(priv, dev->private_key);
		wg_key_to_base64(pub, dev->public_key);
	}
	printf("%s\t%s\t%u\t", priv, pub, dev->listen_port);
	if (dev->fwmark)
		printf("0x%x\n", dev->fwmark);
	else
		printf("off\n");
	for (size_t i = 0; i < dev->n_peers; i++)
		print_peer(&dev->peers[i]);
	wg_device_free(dev);
	return 0;
}

static int cmd_list(void)
{
	struct wg_names names = { 0 };
	int r = wg_list(&names);

	if (r < 0)
		return fail("cannot list", "interfaces", -r);
	for (size_t i = 0; i < names.n; i++)
		printf("%s\n", names.name[i]);
	wg_names_clear(&names);
	return 0;
}

static int cmd_pubkey(void)
{
	char line[128];
	uint8_t priv[WG_KEY_LEN], pub[WG_KEY_LEN];
	char b64[WG_KEY_B64_LEN];

	if (!fgets(line, sizeof(line), stdin))
		return fail("cannot read", "stdin", EIO);
	line[strcspn(line, "\n")] = '\0';
	if (!wg_key_from_base64(priv, line))
		return fail("invalid key", line, EINVAL);
	wg_key_public_from_private(pub, priv);
	wg_key_wipe(priv);
	wg_key_to_base64(b64, pub);
	printf("%s\n", b64);
	return 0;
}

static bool parse_number(const char *text, unsigned long max, unsigned long *ret)
{
	char *end;

	errno = 0;
	*ret = strtoul(text, &end, 0);
	return *text >= '0' && *text <= '9' && !errno && !*end && *ret <= max;
}

static bool parse_allowed_ips(struct wg_peer *peer, char *list)
{
	struct wg_allowed_ip aip;

	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ","))
		if (!wg_allowed_ip_parse(tok, &aip) || wg_peer_add_allowed_ip(peer, &aip) < 0)
			return false;
	return true;
}

/* put-peer IF KEY [allowed-ips LIST] [endpoint EP] [keepalive N] [preshared-key B64] */
static bool parse_peer_options(struct wg_peer *peer, int argc, char **argv)
{
	unsigned long n;

	for (int i = 0; i + 1 < argc; i += 2) {
		const char *opt = argv[i];
		char *val = argv[i + 1];
		bool ok;

		if (strcmp(opt, "allowed-ips") == 0)
			ok = parse_allowed_ips(peer, val);
		else if (strcmp(opt, "endpoint") == 0)
			ok = wg_endpoint_parse(val, &peer->endpoint), peer->set |= WG_PEER_SET_ENDPOINT;
		else if (strcmp(opt, "keepalive") == 0)
			ok = parse_number(val, 65535, &n), peer->persistent_keepalive = (uint16_t)n,
			peer->set |= WG_PEER_SET_KEEPALIVE;
		else if (strcmp(opt, "preshared-key") == 0)
			ok = wg_key_from_base64(peer->preshared_key, val), peer->set |= WG_PEER_SET_PRESHARED_KEY;
		else
			ok = false;
		if (!ok) {
			fprintf(stderr, "wgtool: invalid %s '%s'\n", opt, val);
			return false;
		}
	}
	return argc % 2 == 0;
}

static int cmd_put_peer(const char *ifname, const char *key, int argc, char **argv)
{
	struct wg_peer peer = { 0 };
	int r;

	if (!wg_key_from_base64(peer.public_key, key))
		return fail("invalid key", key, EINVAL);
	if (!parse_peer_options(&peer, argc, argv)) {
		free(peer.allowed_ips);
		return 1;
	}
	r = wg_put_peer(NULL, ifname, &peer);
	free(peer.allowed_ips);
	return r < 0 ? fail("cannot put peer on", ifname, -r) : 0;
}

static int cmd_peer_op(const char *op, const char *ifname, const char *key, const char *arg)
{
	uint8_t pub[WG_KEY_LEN];
	union wg_sockaddr ep;
	int r;

	if (!wg_key_from_base64(pub, key))
		return fail("invalid key", key, EINVAL);
	if (strcmp(op, "remove-peer") == 0) {
		r = wg_remove_peer(NULL, ifname, pub);
	} else {
		if (!arg || !wg_endpoint_parse(arg, &ep))
			return fail("invalid endpoint", arg ? arg : "", EINVAL);
		r = wg_set_peer_endpoint(NULL, ifname, pub, &ep);
	}
	return r < 0 ? fail(op, ifname, -r) : 0;
}

/* set-device IF [private-key B64] [listen-port N] [fwmark N] [replace-peers] */
static int cmd_set_device(const char *ifname, int argc, char **argv)
{
	struct wg_device changes = { 0 };
	unsigned long n;
	int r;

	for (int i = 0; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : "";

		if (strcmp(opt, "replace-peers") == 0) {
			changes.set |= WG_DEVICE_REPLACE_PEERS;
			continue;
		}
		i++;
		if (strcmp(opt, "private-key") == 0 && wg_key_from_base64(changes.private_key, val))
			changes.set |= WG_DEVICE_SET_PRIVATE_KEY;
		else if (strcmp(opt, "listen-port") == 0 && parse_number(val, 65535, &n))
			changes.listen_port = (uint16_t)n, changes.set |= WG_DEVICE_SET_LISTEN_PORT;
		else if (strcmp(opt, "fwmark") == 0 && parse_number(val, UINT32_MAX, &n))
			changes.fwmark = (uint32_t)n, changes.set |= WG_DEVICE_SET_FWMARK;
		else
			return fail("invalid option", opt, EINVAL);
	}
	r = wg_set(ifname, &changes);
	wg_key_wipe(changes.private_key);
	return r < 0 ? fail("cannot set", ifname, -r) : 0;
}

static int usage(void)
{
	fprintf(stderr, "Usage: wgtool list | dump IF | pubkey < KEY | set-device IF [OPTIONS]\n"
			"       | put-peer IF KEY [OPTIONS] | remove-peer IF KEY\n"
			"       | set-endpoint IF KEY HOST:PORT\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	if (wg_key_init() < 0)
		return fail("cannot initialise", "libsodium", EIO);
	if (strcmp(cmd, "list") == 0)
		return cmd_list();
	if (strcmp(cmd, "pubkey") == 0)
		return cmd_pubkey();
	if (strcmp(cmd, "dump") == 0 && argc == 3)
		return cmd_dump(argv[2]);
	if (strcmp(cmd, "set-device") == 0 && argc >= 3)
		return cmd_set_device(argv[2], argc - 3, argv + 3);
	if (strcmp(cmd, "put-peer") == 0 && argc >= 4)
		return cmd_put_peer(argv[2], argv[3], argc - 4, argv + 4);
	if ((strcmp(cmd, "remove-peer") == 0 && argc == 4) || (strcmp(cmd, "set-endpoint") == 0 && argc == 5))
		return cmd_peer_op(cmd, argv[2], argv[3], argc == 5 ? argv[4] : NULL);
	return usage();
}

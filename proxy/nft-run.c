/* Running nftables commands through libnftables (see nft-run.h). */
#include "config.h"

#include <linux/netlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nft-run.h"

bool nft_table_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > NFT_TABLE_NAME_MAX || !g_ascii_isalpha(name[0]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!g_ascii_isalnum(name[i]) && name[i] != '_')
			return false;
	return true;
}

/* libnftables exits the process when it cannot open its netlink socket
 * (a kernel without nfnetlink): find out first. */
static bool netfilter_netlink_works(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

struct nft_ctx *nft_quiet_ctx_new(void)
{
	struct nft_ctx *nft;

	if (!netfilter_netlink_works())
		return NULL;
	nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!nft)
		return NULL;
	if (nft_ctx_buffer_output(nft) < 0 || nft_ctx_buffer_error(nft) < 0) {
		nft_ctx_free(nft);
		return NULL;
	}
	return nft;
}

bool nft_run(struct nft_ctx *nft, const char *cmds, char **ret_output, GError **error)
{
	int r = nft_run_cmd_from_buffer(nft, cmds);
	g_autofree char *msg = g_strdup(nft_ctx_get_error_buffer(nft));
	const char *out = nft_ctx_get_output_buffer(nft); /* also drops it for the next run */

	if (r == 0) {
		if (ret_output)
			*ret_output = g_strdup(out);
		return true;
	}
	if (msg)
		msg[strcspn(msg, "\n")] = '\0';
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "nftables: %s", msg && *msg ? msg : "command failed");
	return false;
}

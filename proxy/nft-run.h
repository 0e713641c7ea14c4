/* What the nftables users of libproxy share: a libnftables context that
 * keeps off our stdout and stderr, one call that runs a batch of commands
 * in nft's text syntax as one transaction with the error in a GError, and
 * the rule for the table names we put into those commands. */
#pragma once

#include <gio/gio.h>
#include <nftables/libnftables.h>
#include <stdbool.h>

/* Table names (or their prefixes) we accept: letters, digits and '_',
 * starting with a letter, at most this long. */
#define NFT_TABLE_NAME_MAX 64

bool nft_table_name_valid(const char *name);

/* A context whose output and errors are buffered, not printed; NULL when
 * this kernel has no nfnetlink (libnftables would exit the process). */
struct nft_ctx *nft_quiet_ctx_new(void);

/* Runs @cmds as one transaction.  On success, if @ret_output is not NULL,
 * it gets what nft printed (for list commands).  On failure the error
 * names the first line of nft's message (the rest repeats the command with
 * carets). */
bool nft_run(struct nft_ctx *nft, const char *cmds, char **ret_output, GError **error);

/* The daemon gives up what it does not need once it runs (privileges.c). */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

/* Keeps CAP_NET_ADMIN (WireGuard, nftables, netlink, receive buffers) and
 * CAP_CHOWN (the control socket's group on a reload), drops every other
 * capability from the effective, permitted, inheritable, ambient and, when
 * allowed, bounding sets, and sets no-new-privileges.  Returns false (and
 * logs why) only when the capabilities could not be changed at all. */
/* @bpf: keep CAP_BPF too (the eBPF relay path is wanted). */
bool privileges_drop(bool bpf);
/* [daemon] user=: becomes @user (@uid, primary group @gid, its
 * supplementary groups) with CAP_NET_ADMIN alone, bounded to it when
 * allowed, and no-new-privileges.  Failing that (no CAP_SETUID or
 * CAP_SETGID), returns false: the daemon must not go on as root. */
bool privileges_become(const char *user, uid_t uid, gid_t gid, GError **error);

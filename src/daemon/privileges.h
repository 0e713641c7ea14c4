/* The daemon gives up what it does not need once it runs (privileges.c). */
#pragma once

#include <stdbool.h>

/* Keeps CAP_NET_ADMIN (WireGuard, nftables, netlink, receive buffers) and
 * CAP_CHOWN (the control socket's group on a reload), drops every other
 * capability from the effective, permitted, inheritable, ambient and, when
 * allowed, bounding sets, and sets no-new-privileges.  Returns false (and
 * logs why) only when the capabilities could not be changed at all. */
bool privileges_drop(void);

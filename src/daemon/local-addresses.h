/* The local addresses ICE may gather on (local-addresses.c). */
#pragma once

#include <glib.h>
#include <net/if.h>
#include <stdbool.h>

/* Appends (struct sockaddr_storage) every usable address on an interface
 * that is neither WireGuard nor @excluded. */
void local_addresses_list(bool (*excluded)(const char *netif, void *data), void *data, GArray *ret);

/* Addresses bound to a WireGuard public key (docs/PROTOCOL.md section 12),
 * the same wherever the key is, with no configuration and no mesh:
 *
 *   link-local  fe80::/64 and an interface id from the key: any two peers
 *               reach each other over the tunnel (scoped to the interface)
 *   key address fc00::/8 and 120 bits from the key: one address per key,
 *               routable across interfaces
 *
 * Each is a BLAKE2b-256 of a label and the key, cut to size. */
#pragma once

#include <netinet/in.h>
#include <stdint.h>

#include "wg-key.h"

void wg_key_link_local(const uint8_t public_key[WG_KEY_LEN], struct in6_addr *ret);
void wg_key_address(const uint8_t public_key[WG_KEY_LEN], struct in6_addr *ret);

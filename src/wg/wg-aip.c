/* Allowed IPs as prefixes (wg-aip.h). */
#include "config.h"

#include <string.h>

#include "wg-aip.h"

static size_t addr_len(sa_family_t family)
{
	return family == AF_INET ? 4 : 16;
}

bool wg_aip_equal(const struct wg_allowed_ip *a, const struct wg_allowed_ip *b)
{
	return a->family == b->family && a->cidr == b->cidr && !memcmp(&a->addr, &b->addr, addr_len(a->family));
}

/* The first @bits bits of @a and @b agree. */
static bool same_bits(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));

	return !memcmp(a, b, whole) && (!rest || ((a[whole] ^ b[whole]) & mask) == 0);
}

bool wg_aip_contains(const struct wg_allowed_ip *aip, sa_family_t family, const void *addr)
{
	return aip->family == family && aip->cidr <= addr_len(family) * 8 &&
	       same_bits((const uint8_t *)&aip->addr, addr, aip->cidr);
}

bool wg_aip_covers(const struct wg_allowed_ip *outer, const struct wg_allowed_ip *inner)
{
	return outer->family == inner->family && outer->cidr <= inner->cidr &&
	       wg_aip_contains(outer, inner->family, &inner->addr);
}

struct wg_allowed_ip wg_aip_host(sa_family_t family, const void *addr)
{
	struct wg_allowed_ip aip = { .family = family, .cidr = (uint8_t)(addr_len(family) * 8) };

	memcpy(&aip.addr, addr, addr_len(family));
	return aip;
}

bool wg_aip_in(const struct wg_allowed_ip *aip, const struct wg_allowed_ip *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (wg_aip_equal(aip, &list[i]))
			return true;
	return false;
}

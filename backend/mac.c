/* SPDX-License-Identifier: MIT */
/* MAC address text over DPDK's rte_ether_format_addr()/rte_ether_unformat_addr(). */
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "vnicd/mac.h"
#include "vnicd/port.h"

void vn_mac_format(const struct rte_ether_addr *mac, char out[VN_MAC_STRLEN])
{
	rte_ether_format_addr(out, VN_MAC_STRLEN, mac); /* "%02X:..." */
	for (char *p = out; *p; p++)
		*p = g_ascii_tolower(*p);
}

int vn_mac_parse(const char *s, struct rte_ether_addr *mac)
{
	if (!s || strlen(s) != VN_MAC_STRLEN - 1)
		return -EINVAL;
	for (int i = 0; i < VN_MAC_STRLEN - 1; i++)
		if (i % 3 == 2 ? s[i] != ':' : !g_ascii_isxdigit(s[i]))
			return -EINVAL;
	return rte_ether_unformat_addr(s, mac) < 0 ? -EINVAL : 0;
}

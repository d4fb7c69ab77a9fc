/* SPDX-License-Identifier: MIT */
/* MAC address text: the one format vnicd prints and accepts ("aa:bb:cc:dd:ee:ff"). */
#ifndef VNICD_MAC_H
#define VNICD_MAC_H

#include <rte_ether.h>

/** VN_MAC_STRLEN - size of the buffer vn_mac_format() fills, NUL included. */
#define VN_MAC_STRLEN RTE_ETHER_ADDR_FMT_SIZE

/**
 * vn_mac_format() - write @mac as six lowercase hex pairs separated by colons
 * ("aa:bb:cc:dd:ee:ff") into @out. Thread: any.
 */
void vn_mac_format(const struct rte_ether_addr *mac, char out[VN_MAC_STRLEN]);

/**
 * vn_mac_parse() - parse @s, exactly six hex pairs (either case) separated by colons,
 * into *@mac; nothing else (not the three-group spelling, no dashes, no spaces) is accepted.
 * Thread: any. Return: 0, or -EINVAL (@s NULL or malformed; *@mac untouched).
 */
int vn_mac_parse(const char *s, struct rte_ether_addr *mac);

#endif

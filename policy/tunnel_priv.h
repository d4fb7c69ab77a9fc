/* SPDX-License-Identifier: MIT */
/* Helpers shared by the tunnel wire formats (policy/tunnel.c) and their ICMP replies. */
#ifndef VNICD_POLICY_TUNNEL_PRIV_H
#define VNICD_POLICY_TUNNEL_PRIV_H

#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "vnicd/cksum.h"

#define VN_ETH_IPV4 0x0800
#define VN_ETH_IPV6 0x86dd
#define VN_ETH_TEB 0x6558 /* transparent Ethernet bridging: the GRE/Geneve protocol */

static inline uint16_t vn_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void vn_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void vn_put32(uint8_t *p, uint32_t v)
{
	vn_put16(p, (uint16_t)(v >> 16));
	vn_put16(p + 2, (uint16_t)v);
}

/* Store the complement of raw sum @sum at @p (the native order of network bytes). */
static inline void vn_put_csum(uint8_t *p, uint32_t sum)
{
	uint16_t c = (uint16_t)~vn_fold(sum);

	memcpy(p, &c, 2);
}

/*
 * The raw sum of the pseudo-header of a transport payload of @len bytes, protocol
 * @proto, between addresses @src and @dst of @alen (4 or 16) bytes each.
 */
static inline uint32_t vn_phdr_sum(const uint8_t *src, const uint8_t *dst, unsigned alen,
				   uint8_t proto, uint32_t len)
{
	/* the length (32 bits) and the protocol (after 3 zero bytes) in network order, as
	 * native-order 16-bit words: no bytes stored and read back as words */
	return (uint32_t)vn_raw_cksum_from(src, alen, 0) + vn_raw_cksum_from(dst, alen, 0) +
	       rte_cpu_to_be_16((uint16_t)(len >> 16)) + rte_cpu_to_be_16((uint16_t)len) +
	       rte_cpu_to_be_16(proto);
}

/*
 * Find the L3 header of Ethernet frame @m past up to two 802.1Q/802.1ad tags.
 * Return: its offset with its EtherType in *@etype, or 0 with *@etype 0 (cut short).
 */
static inline uint32_t vn_tun_inner_l3(const struct rte_mbuf *m, uint16_t *etype)
{
	uint8_t b[2];
	uint32_t off = 12;

	for (int i = 0; i < 3; i++) {
		const uint8_t *p = rte_pktmbuf_read(m, off, 2, b);
		uint16_t et;

		if (!p)
			break;
		et = vn_get16(p);
		if ((et != 0x8100 && et != 0x88a8) || i == 2) {
			*etype = et;
			return off + 2;
		}
		off += 4;
	}
	*etype = 0;
	return 0;
}

#endif

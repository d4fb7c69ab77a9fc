/* SPDX-License-Identifier: MIT */
/* Internet checksums over mbuf chains that stay right whatever the segments' lengths. */
#ifndef VNICD_CKSUM_H
#define VNICD_CKSUM_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

/** vn_fold() - fold a sum of native-order 16-bit words (rte_raw_cksum()) to 16 bits. Return: the
 * sum. */
static inline uint16_t vn_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/**
 * vn_raw_cksum_from() - the sum of vn_raw_cksum() over @len bytes at @p, starting from the
 * 64-bit sum @a of 32-bit words before them (0: none). 32-bit words into four 64-bit sums,
 * 16 bytes a step. Return: the folded sum. Thread: any (pure).
 */
static inline uint16_t vn_raw_cksum_from(const uint8_t *p, size_t len, uint64_t a)
{
	uint64_t b = 0, c = 0, d = 0;
	uint32_t w0, w1, w2, w3;
	uint16_t h;

	for (; len >= 16; p += 16, len -= 16) {
		memcpy(&w0, p, 4);
		memcpy(&w1, p + 4, 4);
		memcpy(&w2, p + 8, 4);
		memcpy(&w3, p + 12, 4);
		a += w0, b += w1, c += w2, d += w3;
	}
	a += b + c + d; /* at most len * 2^30: no overflow below 8 GiB */
	for (; len >= 4; p += 4, len -= 4) {
		memcpy(&w0, p, 4);
		a += w0;
	}
	if (len >= 2) {
		memcpy(&h, p, 2);
		a += h;
		p += 2, len -= 2;
	}
	if (len) {
		h = 0;
		memcpy(&h, p, 1); /* the byte where a 16-bit word's first byte goes */
		a += h;
	}
	a = (a & 0xffffffff) + (a >> 32);
	a = (a & 0xffffffff) + (a >> 32);
	return vn_fold((uint32_t)a);
}

/**
 * vn_ip4_hdr20_sum() - the raw sum of the 20 bytes at @p (an IPv4 header without options),
 * folded as rte_raw_cksum(@p, 20) folds it: vn_raw_cksum_from() with a constant length
 * (five 32-bit loads). Return: the sum (0xffff: the header's checksum is right).
 */
static inline uint16_t vn_ip4_hdr20_sum(const uint8_t *p)
{
	return vn_raw_cksum_from(p, 20, 0);
}

/** vn_raw_cksum_long() - vn_raw_cksum() for long buffers (AVX2 when the CPU has it). */
uint16_t vn_raw_cksum_long(const void *buf, size_t len);

/**
 * vn_raw_cksum() - rte_raw_cksum(@buf, @len): the one's complement sum of the @len bytes at
 * @buf as native-order 16-bit words (an odd last byte as a word of its own), folded to 16
 * bits; the same modulo 0xffff as DPDK 22.11's loop over 16-bit words, and zero only for
 * zero bytes, in about a quarter of its instructions (vn_raw_cksum_from()), or 32 bytes a
 * step with AVX2 from 256 bytes on. Thread: any (pure).
 */
static inline uint16_t vn_raw_cksum(const void *buf, size_t len)
{
	if (len >= 256)
		return vn_raw_cksum_long(buf, len);
	return vn_raw_cksum_from((const uint8_t *)buf, len, 0);
}

/**
 * vn_cksum_mbuf() - the raw sum of @len bytes at offset @off of @m, across segments of any length
 * (DPDK 22.11's rte_raw_cksum_mbuf() drops carries when a segment starts at an odd offset). Return:
 * the sum, or -1 when @m is shorter. Thread: any (pure).
 */
static inline int64_t vn_cksum_mbuf(const struct rte_mbuf *m, uint32_t off, uint32_t len)
{
	uint32_t sum = 0, done = 0;

	if ((uint64_t)off + len > rte_pktmbuf_pkt_len(m))
		return -1;
	for (const struct rte_mbuf *s = m; s && done < len; s = s->next) {
		uint32_t n;
		uint16_t c;

		if (off >= s->data_len) {
			off -= s->data_len;
			continue;
		}
		n = RTE_MIN(len - done, (uint32_t)s->data_len - off);
		c = vn_raw_cksum(rte_pktmbuf_mtod_offset(s, const uint8_t *, off), n);
		sum += done & 1 ? rte_bswap16(c) : c;
		done += n;
		off = 0;
	}
	return vn_fold(sum);
}

/**
 * vn_l4_cksum_mbuf() - the TCP or UDP checksum of the transport header and payload from
 * offset @l4_off to the end of @m, with the pseudo-header of IPv4 header @ip4 (or IPv6
 * header @ip6 when @ip4 is NULL), whose lengths must be set. As stored in the header:
 * complemented; for UDP (@udp) 0 is sent as 0xffff (0 means "no checksum"), for TCP 0 stays
 * 0 (0xffff would be the same sum, but receivers and dissectors expect 0, RFC 1624). Return: the
 * checksum, or 0 when @m is shorter than @l4_off. Thread: any (pure).
 */
static inline uint16_t vn_l4_cksum_mbuf(const struct rte_mbuf *m, const struct rte_ipv4_hdr *ip4,
					const struct rte_ipv6_hdr *ip6, uint32_t l4_off, bool udp)
{
	int64_t raw;
	uint16_t c;

	if (l4_off > rte_pktmbuf_pkt_len(m))
		return 0;
	raw = vn_cksum_mbuf(m, l4_off, rte_pktmbuf_pkt_len(m) - l4_off);
	if (raw < 0)
		return 0;
	c = (uint16_t)~vn_fold((uint32_t)raw +
			       (ip4 ? rte_ipv4_phdr_cksum(ip4, 0) : rte_ipv6_phdr_cksum(ip6, 0)));
	return c == 0 && udp ? 0xffff : c;
}

#endif

/* SPDX-License-Identifier: MIT */
/* ICMP "fragmentation needed" / ICMPv6 "packet too big" replies to frames too big to tunnel. */
#include <netinet/in.h>
#include <string.h>

#include <rte_mbuf.h>

#include "policy/tunnel_priv.h"
#include "vnicd/tunnel.h"

#define ICMP4_MAX 576  /* RFC 1812 4.3.2.3: an ICMP error fits in 576 bytes */
#define ICMP6_MAX 1280 /* RFC 4443 2.4(c): ... and in the IPv6 minimum MTU */
#define ICMP_HDR 8

/* Copy @len bytes at @off of @m to @d. */
static void copy_out(const struct rte_mbuf *m, uint32_t off, uint32_t len, uint8_t *d)
{
	const void *p = rte_pktmbuf_read(m, off, len, d);

	if (p != d)
		memcpy(d, p, len);
}

/*
 * A reply to frame @m in a new mbuf from @mp: its Ethernet header and tags up to @l3 with the
 * MAC addresses swapped, then room for an IP packet of @hlen header bytes and up to @want
 * bytes of the offending packet, which *@q says how many fit.
 * Return: the start of the IP header, or NULL.
 */
static uint8_t *reply_start(const struct rte_mbuf *m, uint32_t l3, uint32_t hlen, uint32_t want,
			    struct rte_mempool *mp, struct rte_mbuf **out, uint32_t *q)
{
	struct rte_mbuf *r = rte_pktmbuf_alloc(mp);
	uint32_t room;
	uint8_t *d;

	if (!r)
		return NULL;
	room = rte_pktmbuf_tailroom(r);
	if (room < l3 + hlen + 28) {
		rte_pktmbuf_free(r);
		return NULL;
	}
	*q = RTE_MIN(want, room - l3 - hlen);
	d = (uint8_t *)rte_pktmbuf_append(r, (uint16_t)(l3 + hlen + *q));
	copy_out(m, 0, l3, d);
	memcpy(d, d + 6, 6); /* the reply comes from the frame's destination */
	copy_out(m, 0, 6, d + 6);
	*out = r;
	return d + l3;
}

/* Is IPv4 @a no single host's address (RFC 1122 3.2.2: no ICMP error about it)? */
static bool v4_not_unicast(const uint8_t *a)
{
	return a[0] == 0 || a[0] >= 224 || a[0] == 127;
}

static bool icmp4_is_error(const struct rte_mbuf *m, uint32_t off)
{
	uint8_t b;
	const uint8_t *t = rte_pktmbuf_read(m, off, 1, &b);

	return !t || *t == 3 || *t == 4 || *t == 5 || *t == 11 || *t == 12;
}

/* Types below 128 are ICMPv6 errors (RFC 4443 2.1). */
static bool icmp6_is_error(const struct rte_mbuf *m, uint32_t off)
{
	uint8_t b;
	const uint8_t *t = rte_pktmbuf_read(m, off, 1, &b);

	return !t || *t < 128;
}

static struct rte_mbuf *too_big4(const struct rte_mbuf *m, uint32_t l3, uint16_t mtu,
				 struct rte_mempool *mp)
{
	uint8_t b[20], *ip;
	const uint8_t *p = rte_pktmbuf_read(m, l3, 20, b);
	uint32_t ihl, avail, q;
	struct rte_mbuf *r = NULL;

	if (!p || p[0] >> 4 != 4 || (p[0] & 0xf) < 5)
		return NULL;
	ihl = (p[0] & 0xfu) * 4;
	avail = RTE_MIN((uint32_t)vn_get16(p + 2), rte_pktmbuf_pkt_len(m) - l3);
	if (!(p[6] & 0x40) || (vn_get16(p + 6) & 0x1fff) || avail < ihl)
		return NULL; /* DF unset, or a later fragment (RFC 1812 4.3.2.7) */
	if (v4_not_unicast(p + 12) || v4_not_unicast(p + 16))
		return NULL;
	if (p[9] == IPPROTO_ICMP && icmp4_is_error(m, l3 + ihl))
		return NULL;
	memcpy(b, p, 20);
	ip = reply_start(m, l3, 20 + ICMP_HDR, RTE_MIN(avail, ICMP4_MAX - 20u - ICMP_HDR), mp, &r,
			 &q);
	if (!ip)
		return NULL;
	memset(ip, 0, 20 + ICMP_HDR);
	ip[0] = 0x45;
	vn_put16(ip + 2, (uint16_t)(20 + ICMP_HDR + q));
	ip[8] = 64;
	ip[9] = IPPROTO_ICMP;
	memcpy(ip + 12, b + 16, 4);
	memcpy(ip + 16, b + 12, 4);
	vn_put_csum(ip + 10, rte_raw_cksum(ip, 20));
	ip[20] = 3; /* destination unreachable */
	ip[21] = 4; /* fragmentation needed and DF set */
	vn_put16(ip + 26, mtu);
	copy_out(m, l3, q, ip + 20 + ICMP_HDR);
	vn_put_csum(ip + 22, rte_raw_cksum(ip + 20, ICMP_HDR + q));
	return r;
}

static struct rte_mbuf *too_big6(const struct rte_mbuf *m, uint32_t l3, uint16_t mtu,
				 struct rte_mempool *mp)
{
	static const uint8_t any[16];
	uint8_t b[40], *ip;
	const uint8_t *p = rte_pktmbuf_read(m, l3, 40, b);
	uint32_t avail, q, len;
	struct rte_mbuf *r = NULL;

	if (!p || p[0] >> 4 != 6)
		return NULL;
	if (!memcmp(p + 8, any, 16) || p[8] == 0xff || p[24] == 0xff)
		return NULL; /* no single source, or no unicast address to reply from */
	if (p[6] == IPPROTO_ICMPV6 && icmp6_is_error(m, l3 + 40))
		return NULL; /* RFC 4443 2.4(e): never about an ICMPv6 error */
	avail = RTE_MIN(40u + vn_get16(p + 4), rte_pktmbuf_pkt_len(m) - l3);
	memcpy(b, p, 40);
	ip = reply_start(m, l3, 40 + ICMP_HDR, RTE_MIN(avail, ICMP6_MAX - 40u - ICMP_HDR), mp, &r,
			 &q);
	if (!ip)
		return NULL;
	len = ICMP_HDR + q;
	memset(ip, 0, 40 + ICMP_HDR);
	ip[0] = 0x60;
	vn_put16(ip + 4, (uint16_t)len);
	ip[6] = IPPROTO_ICMPV6;
	ip[7] = 64;
	memcpy(ip + 8, b + 24, 16);
	memcpy(ip + 24, b + 8, 16);
	ip[40] = 2; /* packet too big */
	vn_put32(ip + 44, mtu);
	copy_out(m, l3, q, ip + 40 + ICMP_HDR);
	vn_put_csum(ip + 42, vn_phdr_sum(ip + 8, ip + 24, 16, IPPROTO_ICMPV6, len) +
				 rte_raw_cksum(ip + 40, len));
	return r;
}

struct rte_mbuf *vn_tun_too_big(const struct rte_mbuf *m, uint16_t mtu, struct rte_mempool *mp)
{
	uint16_t et;
	uint32_t l3 = vn_tun_inner_l3(m, &et);

	if (et == VN_ETH_IPV4)
		return too_big4(m, l3, mtu, mp);
	if (et == VN_ETH_IPV6)
		return too_big6(m, l3, mtu, mp);
	return NULL;
}

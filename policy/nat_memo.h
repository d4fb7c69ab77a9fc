/* SPDX-License-Identifier: MIT */
/*
 * Private to policy/ and the NAT legs (backend/nat_leg.c): the memo's quick path of the NAT
 * engine (include/vnicd/nat.h, struct vn_nat_memo), inline where the leg takes its frames,
 * and the checksum arithmetic it shares with policy/nat.c. Worker threads.
 */
#ifndef VNICD_POLICY_NAT_MEMO_H
#define VNICD_POLICY_NAT_MEMO_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "vnicd/cksum.h"
#include "vnicd/conntrack.h"
#include "vnicd/nat.h"

/* A one's complement sum (of native-order words, RFC 1071) folded to 16 bits. */
static inline uint16_t vn_nat_fold64(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	return vn_fold((uint32_t)s);
}

/* RFC 1624 eqn. 3 with the sum of ~old + new words @delta: checksum @hc (as stored) after. */
static inline uint16_t vn_nat_csum_apply(uint16_t hc, uint64_t delta)
{
	return (uint16_t)~vn_nat_fold64((uint16_t)~hc + delta);
}

/* A router's hop: TTL - 1, stored without reading back the 16-bit word it is in (a narrow
 * store then a wider load of it stalls store forwarding). @ow, @nw: that word (TTL,
 * protocol) before and after, for the header checksum's update. */
static inline void vn_nat_ttl_dec(struct rte_ipv4_hdr *ip, uint16_t *ow, uint16_t *nw)
{
	uint8_t b[2] = {ip->time_to_live, ip->next_proto_id};

	memcpy(ow, b, 2);
	b[0]--;
	memcpy(nw, b, 2);
	ip->time_to_live = b[0];
}

/*
 * vn_nat_memo_rewrite() - translate the IPv4 datagram @ip (@ip_len bytes, no options) with
 * transport header @l4 of protocol @proto (TCP, UDP or ICMP echo, all there) as @mm says:
 * its ports (or ICMP identifier) and transport checksum, the addresses, TTL - 1 and the
 * header checksum once for both; counted in @mm.
 * Every word is read before the first store and written once. Return: @mm->where.
 */
static __rte_always_inline int vn_nat_memo_rewrite(struct vn_nat_memo *mm, struct rte_ipv4_hdr *ip,
						   uint8_t *l4, uint8_t proto, uint32_t ip_len)
{
	uint32_t w8, op;
	uint16_t ow, nw, ck, hc;

	memcpy(&w8, &ip->time_to_live, 4); /* TTL, protocol, header checksum */
	memcpy(&op, &mm->o.sport, 4);
	if (proto == IPPROTO_TCP) {
		memcpy(&ck, l4 + offsetof(struct rte_tcp_hdr, cksum), 2);
		ck = vn_nat_csum_apply(ck, mm->dl4);
		memcpy(l4 + offsetof(struct rte_tcp_hdr, cksum), &ck, 2);
		memcpy(l4, &op, 4);
	} else if (proto == IPPROTO_UDP) { /* ports, length and checksum in one word */
		uint64_t uh;
		memcpy(&uh, l4, 8);
		ck = (uint16_t)(uh >> 48);
		if (ck) { /* 0: none (IPv4) */
			ck = vn_nat_csum_apply(ck, mm->dl4);
			ck = ck ? ck : 0xffff;
		}
		uh = (uh & 0x0000ffff00000000ull) | op | (uint64_t)ck << 48;
		memcpy(l4, &uh, 8);
	} else { /* ICMP echo: its checksum and identifier */
		memcpy(&ck, l4 + offsetof(struct rte_icmp_hdr, icmp_cksum), 2);
		ck = vn_nat_csum_apply(ck, mm->dl4);
		memcpy(l4 + offsetof(struct rte_icmp_hdr, icmp_cksum), &ck, 2);
		memcpy(l4 + offsetof(struct rte_icmp_hdr, icmp_ident), &mm->o.sport, 2);
	}
	mm->packets++;
	mm->bytes += ip_len;
	ow = (uint16_t)w8;
	nw = (uint16_t)((ow & 0xff00) | ((ow - 1) & 0xff)); /* the TTL byte alone */
	hc = vn_nat_csum_apply((uint16_t)(w8 >> 16), mm->dip + (uint16_t)~ow + nw);
	w8 = nw | (uint32_t)hc << 16;
	memcpy(&ip->time_to_live, &w8, 4);
	memcpy(&ip->src_addr, &mm->q.to_addrs, 8);
	return mm->where;
}

/*
 * vn_nat_memo_take() - the first, cheap try of vn_nat_process_memo(): if @m is a frame of
 * @mm's connection from the same side (@from_inside) that the memo translates without the
 * whole parse (an untagged IPv4 TCP or UDP frame of its tuple, no IP options, not a
 * fragment, TTL above 1, checksums complete, no SYN, FIN or RST; the checks are words
 * against what memo_fill() prepared in @mm->q), it is translated in place as the whole way
 * would (ports, addresses, TTL, the checksums; a TCP state step) and counted in @mm. Such a
 * frame is never one a NAT leg punts (ARP, DHCP, DNS to the gateway): those never fill a
 * memo. @m must be the caller's to edit (one direct segment). Return: where it goes
 * (VN_NAT_INSIDE or VN_NAT_OUTSIDE: to @mm->dmac), or -1 (@m untouched: the whole way).
 */
static __rte_always_inline int vn_nat_memo_take(struct vn_nat_memo *mm, struct rte_mbuf *m,
						bool from_inside)
{
	uint8_t *d = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(d + RTE_ETHER_HDR_LEN);
	uint8_t *l4 = (uint8_t *)(ip + 1);
	uint32_t ports, w6, ip_len;
	uint16_t type;
	uint64_t addrs;

	/* the tuple first: in a burst of many flows, that is what differs */
	if (!mm->e || mm->from_inside != from_inside || rte_pktmbuf_data_len(m) < mm->q.min)
		return -1;
	memcpy(&addrs, &ip->src_addr, 8);
	memcpy(&ports, l4, 4);
	if (addrs != mm->q.addrs || ports != mm->q.ports)
		return -1;
	memcpy(&type, d + 12, 2);
	memcpy(&w6, &ip->fragment_offset, 4); /* fragment offset and flags, TTL, protocol */
	ip_len = rte_be_to_cpu_16(ip->total_length);
	if (type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) || ip->version_ihl != 0x45 ||
	    (w6 & mm->q.w6_mask) != mm->q.w6 || ip->time_to_live <= 1 ||
	    ip_len + RTE_ETHER_HDR_LEN < mm->q.min ||
	    RTE_ETHER_HDR_LEN + ip_len > rte_pktmbuf_pkt_len(m) ||
	    (m->ol_flags & (RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_IP_CKSUM)))
		return -1;
	if (mm->t.proto == IPPROTO_TCP) {
		uint8_t flags = ((struct rte_tcp_hdr *)l4)->tcp_flags;
		if (flags & (RTE_TCP_SYN_FLAG | RTE_TCP_FIN_FLAG | RTE_TCP_RST_FLAG))
			return -1;
		vn_ct_step(mm->e, mm->d, flags);
	}
	return vn_nat_memo_rewrite(mm, ip, l4, mm->t.proto, ip_len);
}

#endif

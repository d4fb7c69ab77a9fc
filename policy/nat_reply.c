/* SPDX-License-Identifier: MIT */
/* Replies the NAT makes of frames in place: gateway echo, ICMP errors, TCP resets. */
#include <netinet/in.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include "vnicd/cksum.h"
#include "vnicd/nat.h"
#include "nat_priv.h"

/* A ping of the gateway's (or the external) address: answered in place (back to @smac,
 * out of the side it came in by). */
int vn_nat_gateway_echo(struct vn_nat *nt, struct pkt *p, const struct rte_ether_addr *smac,
			struct vn_nat_res *r, int where)
{
	struct rte_icmp_hdr *ih = (struct rte_icmp_hdr *)p->l4;
	uint16_t o = 0x0800, n = 0x0000; /* type 8 code 0 -> type 0 code 0, as stored */

	vn_nat_ip_rewrite(p->ip, p->ip->dst_addr, p->ip->src_addr);
	ih->icmp_cksum = vn_nat_csum_adjust(ih->icmp_cksum, &(uint16_t){rte_cpu_to_be_16(o)},
					    &(uint16_t){rte_cpu_to_be_16(n)}, 2);
	ih->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	__atomic_fetch_add(&nt->gateway_echo, 1, __ATOMIC_RELAXED);
	r->dmac = *smac;
	r->where = where;
	return where;
}

/* At most this many ICMP errors and resets a network sends per 100 ms (Linux limits its
 * errors too: icmp_msgs_per_sec). */
#define REPLIES_PER_100MS 100

static bool reply_allowed(struct vn_nat *nt, uint64_t now)
{
	uint64_t win = now / 100;

	if (__atomic_load_n(&nt->reply_win, __ATOMIC_RELAXED) != win) {
		__atomic_store_n(&nt->reply_win, win, __ATOMIC_RELAXED);
		__atomic_store_n(&nt->reply_n, 0, __ATOMIC_RELAXED);
	}
	return __atomic_fetch_add(&nt->reply_n, 1, __ATOMIC_RELAXED) < REPLIES_PER_100MS;
}

/* A fresh IPv4 header of @len bytes of payload @proto from @src to @dst at @ip. */
static void ip_fresh(struct rte_ipv4_hdr *ip, uint32_t src, uint32_t dst, uint8_t proto,
		     uint32_t len, uint8_t tos)
{
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = 0x45;
	ip->type_of_service = tos;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(20 + len));
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	ip->src_addr = src;
	ip->dst_addr = dst;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
}

/*
 * Frame @m becomes, in place, the ICMP error @type/@code (RFC 792, RFC 1812 4.3.2.7: its IP
 * header and 8 bytes quoted) that @src sends back to its sender (@smac). Not for ICMP
 * errors and later fragments, nor beyond the rate limit: then only dropped. Counted as
 * @why either way. Return: where it goes, or VN_NAT_DROPPED.
 */
int vn_nat_icmp_reply(struct vn_nat *nt, struct rte_mbuf *m, struct pkt *p, uint8_t type,
		      uint8_t code, uint32_t src, const struct rte_ether_addr *smac, int where,
		      enum vn_nat_drop why, uint64_t now, struct vn_nat_res *r)
{
	uint32_t ihl = (p->ip->version_ihl & 0xf) * 4u, qlen = RTE_MIN(ihl + 8u, p->ip_len);
	uint32_t len = RTE_ETHER_HDR_LEN + 28u + qlen;
	uint8_t quote[68], *icmp;
	uint32_t dst;
	uint16_t cs;

	if (p->later_frag ||
	    (p->t.proto == IPPROTO_ICMP && p->icmp_type != RTE_IP_ICMP_ECHO_REQUEST &&
	     p->icmp_type != RTE_IP_ICMP_ECHO_REPLY) ||
	    len > rte_pktmbuf_data_len(m) + rte_pktmbuf_tailroom(m) || !reply_allowed(nt, now))
		return vn_nat_dropped(nt, why, r);
	memcpy(quote, p->ip, qlen);
	memcpy(&dst, quote + 12, 4);
	m->data_len = (uint16_t)len;
	m->pkt_len = len;
	ip_fresh(p->ip, src, dst, IPPROTO_ICMP, 8 + qlen, 0xc0); /* as Linux sends errors */
	icmp = (uint8_t *)(p->ip + 1);
	memset(icmp, 0, 8);
	icmp[0] = type;
	icmp[1] = code;
	memcpy(icmp + 8, quote, qlen);
	cs = (uint16_t)~vn_fold((uint32_t)rte_raw_cksum(icmp, 8 + qlen));
	memcpy(icmp + 2, &cs, 2);
	m->ol_flags &= ~(RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_IPV4);
	__atomic_fetch_add(&nt->drops[why], 1, __ATOMIC_RELAXED);
	r->dmac = *smac;
	r->where = where;
	return where;
}

/* A TCP segment to a closed port of ours becomes, in place, its reset (RFC 9293 3.10.7.1):
 * RST with SEQ = its ACK, or RST+ACK acknowledging it when it had none. */
static int tcp_reset(struct vn_nat *nt, struct rte_mbuf *m, struct pkt *p,
		     const struct rte_ether_addr *smac, uint64_t now, struct vn_nat_res *r)
{
	struct rte_tcp_hdr th = *(const struct rte_tcp_hdr *)p->l4, *o;
	uint32_t seglen = p->l4_len - (uint32_t)(th.data_off >> 4) * 4u, src = p->t.dst,
		 dst = p->t.src;

	if ((th.tcp_flags & RTE_TCP_RST_FLAG) || p->l4_len < (uint32_t)(th.data_off >> 4) * 4u ||
	    RTE_ETHER_HDR_LEN + 40u > rte_pktmbuf_data_len(m) + rte_pktmbuf_tailroom(m) ||
	    !reply_allowed(nt, now))
		return vn_nat_dropped(nt, VN_NAT_NO_CONNECTION, r);
	seglen += !!(th.tcp_flags & RTE_TCP_SYN_FLAG) + !!(th.tcp_flags & RTE_TCP_FIN_FLAG);
	m->data_len = RTE_ETHER_HDR_LEN + 40;
	m->pkt_len = RTE_ETHER_HDR_LEN + 40;
	ip_fresh(p->ip, src, dst, IPPROTO_TCP, 20, 0);
	o = (struct rte_tcp_hdr *)(p->ip + 1);
	memset(o, 0, sizeof(*o));
	o->src_port = th.dst_port;
	o->dst_port = th.src_port;
	o->data_off = 0x50;
	if (th.tcp_flags & RTE_TCP_ACK_FLAG) {
		o->sent_seq = th.recv_ack;
		o->tcp_flags = RTE_TCP_RST_FLAG;
	} else {
		o->recv_ack = rte_cpu_to_be_32(rte_be_to_cpu_32(th.sent_seq) + seglen);
		o->tcp_flags = RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG;
	}
	o->cksum = rte_ipv4_udptcp_cksum(p->ip, o);
	m->ol_flags &= ~(RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_IPV4);
	__atomic_fetch_add(&nt->drops[VN_NAT_NO_CONNECTION], 1, __ATOMIC_RELAXED);
	r->dmac = *smac;
	r->where = VN_NAT_OUTSIDE;
	return VN_NAT_OUTSIDE;
}

/* Untracked traffic from the outside to one of our addresses: refused as a host would,
 * with a reset (TCP) or a port unreachable (UDP); anything else only dropped. */
int vn_nat_refuse(struct vn_nat *nt, struct rte_mbuf *m, struct pkt *p,
		  const struct rte_ether_addr *smac, uint64_t now, struct vn_nat_res *r)
{
	if (nt->host_ext && p->t.dst == nt->ext) /* the host's traffic: its stack answers */
		return vn_nat_dropped(nt, VN_NAT_NO_CONNECTION, r);
	if (p->t.proto == IPPROTO_TCP && !p->later_frag)
		return tcp_reset(nt, m, p, smac, now, r);
	if (p->t.proto == IPPROTO_UDP)
		return vn_nat_icmp_reply(nt, m, p, 3, 3, p->t.dst, smac, VN_NAT_OUTSIDE,
					 VN_NAT_NO_CONNECTION, now, r);
	if (p->t.proto == IPPROTO_ICMP && p->icmp_type == RTE_IP_ICMP_ECHO_REQUEST &&
	    p->t.dst == nt->ext && reply_allowed(nt, now))
		return vn_nat_gateway_echo(nt, p, smac, r, VN_NAT_OUTSIDE);
	return vn_nat_dropped(nt, VN_NAT_NO_CONNECTION, r);
}

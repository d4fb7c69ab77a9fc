/* SPDX-License-Identifier: MIT */
/* ARP and IPv6 Neighbor Discovery (NS/NA) frames on byte buffers: building and validation. */
#include <errno.h>
#include <string.h>

#include "vnicd/neigh.h"

#define ETH_HLEN 14
#define ETH_P_ARP 0x0806
#define ETH_P_IPV6 0x86dd
#define IP6_HLEN 40
#define ICMP6_PROTO 58
#define ND_HLEN 24 /* type, code, checksum, flags/reserved, target */
#define ND_OPT_SLLA 1
#define ND_OPT_TLLA 2
#define ND_NS 135
#define ND_NA 136
#define ARP_REQUEST 1
#define ARP_REPLY 2

static const struct rte_ether_addr bcast = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
static const uint8_t all_nodes[16] = {0xff, 0x02, [15] = 0x01};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_eth(uint8_t *buf, const struct rte_ether_addr *dst,
		    const struct rte_ether_addr *src, uint16_t type)
{
	memcpy(buf, dst->addr_bytes, 6);
	memcpy(buf + 6, src->addr_bytes, 6);
	put16(buf + 12, type);
}

/* ---- ARP --------------------------------------------------------------------------------- */

/* Ethernet + ARP: @tha NULL means zero. */
static int build_arp(uint8_t *buf, size_t len, uint16_t op, const struct rte_ether_addr *eth_dst,
		     const struct rte_ether_addr *sha, const struct vn_tun_addr *spa,
		     const struct rte_ether_addr *tha, const struct vn_tun_addr *tpa)
{
	uint8_t *a = buf + ETH_HLEN;

	if (spa->v6 || tpa->v6)
		return -EINVAL;
	if (len < VN_NEIGH_ARP_LEN)
		return -ENOSPC;
	put_eth(buf, eth_dst, sha, ETH_P_ARP);
	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, sha->addr_bytes, 6);
	memcpy(a + 14, spa->a, 4);
	if (tha)
		memcpy(a + 18, tha->addr_bytes, 6);
	else
		memset(a + 18, 0, 6);
	memcpy(a + 24, tpa->a, 4);
	return VN_NEIGH_ARP_LEN;
}

int vn_neigh_build_arp_request(uint8_t *buf, size_t len, const struct rte_ether_addr *mac,
			       const struct vn_tun_addr *sip, const struct vn_tun_addr *tip,
			       const struct rte_ether_addr *dst)
{
	return build_arp(buf, len, ARP_REQUEST, dst ? dst : &bcast, mac, sip, NULL, tip);
}

int vn_neigh_build_arp_reply(uint8_t *buf, size_t len, const struct rte_ether_addr *mac,
			     const struct vn_tun_addr *ip, const struct vn_neigh_pkt *req)
{
	return build_arp(buf, len, ARP_REPLY, &req->sender_mac, mac, ip, &req->sender_mac,
			 &req->sender_ip);
}

int vn_neigh_build_garp(uint8_t *buf, size_t len, const struct rte_ether_addr *mac,
			const struct vn_tun_addr *ip)
{
	return build_arp(buf, len, ARP_REQUEST, &bcast, mac, ip, NULL, ip);
}

/* ---- ICMPv6 ------------------------------------------------------------------------------ */

static uint32_t sum16(uint32_t s, const uint8_t *p, size_t len)
{
	for (; len > 1; p += 2, len -= 2)
		s += get16(p);
	if (len)
		s += (uint32_t)p[0] << 8;
	return s;
}

uint16_t vn_neigh_icmp6_csum(const uint8_t src[16], const uint8_t dst[16], const uint8_t *icmp,
			     size_t len)
{
	uint32_t s = sum16(0, src, 16);

	s = sum16(s, dst, 16);
	s += (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff) + ICMP6_PROTO;
	s = sum16(s, icmp, len);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/*
 * Ethernet + IPv6 + NS/NA with one link-layer option (@opt, @mac): @type, @flags, @target,
 * from @src to @dst at @eth_dst.
 */
static int build_nd(uint8_t *buf, size_t len, uint8_t type, uint8_t flags,
		    const struct rte_ether_addr *eth_dst, const struct rte_ether_addr *mac,
		    const uint8_t src[16], const uint8_t dst[16], const uint8_t target[16],
		    uint8_t opt)
{
	uint8_t *ip = buf + ETH_HLEN, *icmp = ip + IP6_HLEN;
	const uint16_t plen = ND_HLEN + 8;

	if (len < VN_NEIGH_ND_LEN)
		return -ENOSPC;
	put_eth(buf, eth_dst, mac, ETH_P_IPV6);
	memset(ip, 0, IP6_HLEN);
	ip[0] = 0x60;
	put16(ip + 4, plen);
	ip[6] = ICMP6_PROTO;
	ip[7] = 255;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	memset(icmp, 0, plen);
	icmp[0] = type;
	icmp[4] = flags;
	memcpy(icmp + 8, target, 16);
	icmp[24] = opt;
	icmp[25] = 1;
	memcpy(icmp + 26, mac->addr_bytes, 6);
	put16(icmp + 2, vn_neigh_icmp6_csum(src, dst, icmp, plen));
	return VN_NEIGH_ND_LEN;
}

int vn_neigh_build_ns(uint8_t *buf, size_t len, const struct rte_ether_addr *mac,
		      const struct vn_tun_addr *sip, const struct vn_tun_addr *target,
		      const struct rte_ether_addr *dst)
{
	uint8_t snm[16] = {0xff, 0x02, [11] = 0x01, 0xff};
	struct rte_ether_addr eth = {{0x33, 0x33, 0xff}};

	if (!sip->v6 || !target->v6)
		return -EINVAL;
	memcpy(snm + 13, target->a + 13, 3);
	memcpy(eth.addr_bytes + 3, target->a + 13, 3);
	if (dst)
		return build_nd(buf, len, ND_NS, 0, dst, mac, sip->a, target->a, target->a,
				ND_OPT_SLLA);
	return build_nd(buf, len, ND_NS, 0, &eth, mac, sip->a, snm, target->a, ND_OPT_SLLA);
}

int vn_neigh_build_na(uint8_t *buf, size_t len, const struct rte_ether_addr *mac,
		      const struct vn_tun_addr *ip, const struct vn_neigh_pkt *ns)
{
	static const uint8_t unspec[16];
	const struct rte_ether_addr *eth = ns->has_lladdr ? &ns->lladdr : &ns->sender_mac;

	if (!ip->v6 || !ns->sender_ip.v6)
		return -EINVAL;
	if (!memcmp(ns->sender_ip.a, unspec, 16)) /* DAD: to all-nodes, not solicited */
		return build_nd(buf, len, ND_NA, VN_ND_NA_OVERRIDE,
				&(struct rte_ether_addr){{0x33, 0x33, 0, 0, 0, 1}}, mac, ip->a,
				all_nodes, ip->a, ND_OPT_TLLA);
	return build_nd(buf, len, ND_NA, VN_ND_NA_SOLICITED | VN_ND_NA_OVERRIDE, eth, mac, ip->a,
			ns->sender_ip.a, ip->a, ND_OPT_TLLA);
}

int vn_neigh_build_na_unsolicited(uint8_t *buf, size_t len, const struct rte_ether_addr *mac,
				  const struct vn_tun_addr *ip)
{
	if (!ip->v6)
		return -EINVAL;
	return build_nd(buf, len, ND_NA, VN_ND_NA_OVERRIDE,
			&(struct rte_ether_addr){{0x33, 0x33, 0, 0, 0, 1}}, mac, ip->a, all_nodes,
			ip->a, ND_OPT_TLLA);
}

/* ---- parsing ----------------------------------------------------------------------------- */

static void set_v4(struct vn_tun_addr *a, const uint8_t *p)
{
	*a = (struct vn_tun_addr){.v6 = false};
	memcpy(a->a, p, 4);
}

static void set_v6(struct vn_tun_addr *a, const uint8_t *p)
{
	a->v6 = true;
	memcpy(a->a, p, 16);
}

static int parse_arp(const uint8_t *a, size_t len, struct vn_neigh_pkt *p)
{
	uint16_t op;

	if (len < 28)
		return -EBADMSG;
	if (get16(a) != 1 || get16(a + 2) != 0x0800 || a[4] != 6 || a[5] != 4)
		return -EBADMSG;
	op = get16(a + 6);
	if (op != ARP_REQUEST && op != ARP_REPLY)
		return 0; /* InARP and others: not ours to handle */
	memcpy(p->sender_mac.addr_bytes, a + 8, 6);
	if (!rte_is_unicast_ether_addr(&p->sender_mac) || rte_is_zero_ether_addr(&p->sender_mac))
		return -EBADMSG;
	set_v4(&p->sender_ip, a + 14);
	memcpy(p->target_mac.addr_bytes, a + 18, 6);
	set_v4(&p->target_ip, a + 24);
	p->kind = op == ARP_REQUEST ? VN_NEIGH_ARP_REQUEST : VN_NEIGH_ARP_REPLY;
	return 0;
}

/* Walk the options at @o (@len bytes); take the first Ethernet-sized one of type @want. */
static int parse_nd_opts(const uint8_t *o, size_t len, uint8_t want, struct vn_neigh_pkt *p)
{
	while (len > 0) {
		size_t olen;

		if (len < 2 || o[1] == 0)
			return -EBADMSG;
		olen = (size_t)o[1] * 8;
		if (olen > len)
			return -EBADMSG;
		if (o[0] == want && olen == 8 && !p->has_lladdr) {
			memcpy(p->lladdr.addr_bytes, o + 2, 6);
			if (!rte_is_unicast_ether_addr(&p->lladdr) ||
			    rte_is_zero_ether_addr(&p->lladdr))
				return -EBADMSG;
			p->has_lladdr = true;
		}
		o += olen;
		len -= olen;
	}
	return 0;
}

static bool is_solicited_node(const uint8_t a[16])
{
	static const uint8_t pfx[13] = {0xff, 0x02, [11] = 0x01, 0xff};

	return !memcmp(a, pfx, sizeof(pfx));
}

/* RFC 4861 7.1.1 / 7.1.2 for the NS/NA at @icmp (@ilen bytes) in IPv6 header @ip. */
static int check_nd(const uint8_t *ip, const uint8_t *icmp, size_t ilen, struct vn_neigh_pkt *p)
{
	static const uint8_t unspec[16];
	bool from_unspec = !memcmp(ip + 8, unspec, 16);

	if (ilen < ND_HLEN || ip[7] != 255 || icmp[1] != 0)
		return -EBADMSG;
	if (vn_neigh_icmp6_csum(ip + 8, ip + 24, icmp, ilen) != 0)
		return -EBADMSG;
	if (icmp[8] == 0xff || ip[8] == 0xff) /* multicast target or source */
		return -EBADMSG;
	set_v6(&p->sender_ip, ip + 8);
	set_v6(&p->dst_ip, ip + 24);
	set_v6(&p->target_ip, icmp + 8);
	if (parse_nd_opts(icmp + ND_HLEN, ilen - ND_HLEN,
			  icmp[0] == ND_NS ? ND_OPT_SLLA : ND_OPT_TLLA, p) < 0)
		return -EBADMSG;
	if (icmp[0] == ND_NS) {
		if (from_unspec && (!is_solicited_node(ip + 24) || p->has_lladdr))
			return -EBADMSG;
		p->kind = VN_NEIGH_NS;
		return 0;
	}
	p->na_flags = icmp[4] & (VN_ND_NA_ROUTER | VN_ND_NA_SOLICITED | VN_ND_NA_OVERRIDE);
	if (ip[24] == 0xff && (p->na_flags & VN_ND_NA_SOLICITED))
		return -EBADMSG;
	p->kind = VN_NEIGH_NA;
	return 0;
}

static int parse_ipv6(const uint8_t *ip, size_t len, struct vn_neigh_pkt *p)
{
	size_t plen;

	if (len <= IP6_HLEN || (ip[0] >> 4) != 6 || ip[6] != ICMP6_PROTO)
		return 0;
	if (ip[IP6_HLEN] != ND_NS && ip[IP6_HLEN] != ND_NA)
		return 0; /* other ICMPv6 */
	plen = get16(ip + 4);
	if (plen > len - IP6_HLEN)
		return -EBADMSG;
	return check_nd(ip, ip + IP6_HLEN, plen, p);
}

int vn_neigh_parse(const uint8_t *buf, size_t len, struct vn_neigh_pkt *p)
{
	memset(p, 0, sizeof(*p));
	if (len < ETH_HLEN)
		return 0;
	memcpy(p->eth_dst.addr_bytes, buf, 6);
	memcpy(p->eth_src.addr_bytes, buf + 6, 6);
	switch (get16(buf + 12)) {
	case ETH_P_ARP:
		return parse_arp(buf + ETH_HLEN, len - ETH_HLEN, p);
	case ETH_P_IPV6:
		if (parse_ipv6(buf + ETH_HLEN, len - ETH_HLEN, p) < 0)
			return -EBADMSG;
		if (p->kind != VN_NEIGH_OTHER)
			p->sender_mac = p->eth_src;
		return 0;
	default:
		return 0;
	}
}

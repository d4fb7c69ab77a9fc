/* SPDX-License-Identifier: MIT */
/* Anti-spoofing on the data path: libvirt clean-traffic checks of frames a guest sends. */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "policy/fastpath.h"
#include "vnicd/policy.h"

#define ET_IPV4 0x0800
#define ET_ARP 0x0806
#define ET_RARP 0x8035
#define ET_IPV6 0x86dd
#define UDP 17
#define ICMP6 58

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static bool ip4_allowed(const struct vn_port_policy *p, const uint8_t *a)
{
	uint32_t v;

	memcpy(&v, a, 4);
	for (unsigned i = 0; i < p->nr_ip4; i++)
		if (p->ip4[i] == v)
			return true;
	return false;
}

static bool ip6_listed(const struct vn_port_policy *p, const uint8_t *a)
{
	for (unsigned i = 0; i < p->nr_ip6; i++)
		if (memcmp(p->ip6[i], a, 16) == 0)
			return true;
	return false;
}

static bool ip6_unspecified(const uint8_t *a)
{
	static const uint8_t zero[16];
	return memcmp(a, zero, 16) == 0;
}

static bool ip6_link_local(const uint8_t *a)
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

/* A link-local @a is the port's own: its EUI-64 address or one in --allowed-ip. */
static bool ip6_own_link_local(const struct vn_port_policy *p, const uint8_t *a)
{
	return (p->has_eui64 && memcmp(p->eui64, a, 16) == 0) || ip6_listed(p, a);
}

/* Guarded source or NA target @a: listed, or the port's own link-local address. */
static bool ip6_allowed(const struct vn_port_policy *p, const uint8_t *a)
{
	return ip6_listed(p, a) || (ip6_link_local(a) && ip6_own_link_local(p, a));
}

static bool check_arp(const struct vn_port_policy *p, const struct rte_mbuf *m, uint16_t off,
		      const struct rte_ether_addr *src)
{
	uint8_t buf[28];
	const uint8_t *a = rte_pktmbuf_read(m, off, sizeof(buf), buf);
	uint16_t op;

	if (!a || be16(a) != 1 || be16(a + 2) != ET_IPV4 || a[4] != 6 || a[5] != 4)
		return false; /* only Ethernet/IPv4 ARP */
	op = be16(a + 6);
	if (op != 1 && op != 2)
		return false;
	if (memcmp(a + 8, src->addr_bytes, 6) != 0)
		return false; /* sender MAC is not the frame's */
	if ((p->nr_ip4 || p->nr_ip6) && !ip4_allowed(p, a + 14) &&
	    !(op == 1 && a[14] == 0 && a[15] == 0 && a[16] == 0 && a[17] == 0))
		return false; /* sender IP not the guest's (0.0.0.0: an ARP probe) */
	return true;
}

/*
 * RARP: only the announcement a guest (QEMU's announce-self, DPDK's vhost library after a
 * migration) makes, as libvirt's qemu-announce-self-rarp filter allows it: a reverse
 * request with sender and target MAC the frame's source, addresses 0.0.0.0.
 */
static bool check_rarp(const struct rte_mbuf *m, uint16_t off, const struct rte_ether_addr *src)
{
	static const uint8_t zero[4];
	uint8_t buf[28];
	const uint8_t *a = rte_pktmbuf_read(m, off, sizeof(buf), buf);

	if (!a || be16(a) != 1 || be16(a + 2) != ET_IPV4 || a[4] != 6 || a[5] != 4 ||
	    be16(a + 6) != 3)
		return false;
	return memcmp(a + 8, src->addr_bytes, 6) == 0 && memcmp(a + 18, src->addr_bytes, 6) == 0 &&
	       memcmp(a + 14, zero, 4) == 0 && memcmp(a + 24, zero, 4) == 0;
}

/*
 * DHCPv4 server guard: a server's messages are BOOTREPLYs, sent from port 67 to a client's
 * port 68 (or to a relay's port 67). From a guest without --allow-dhcp-server, anything from
 * port 67, anything to port 68, and a BOOTREPLY (op 2) to port 67 are dropped; so is a
 * datagram to port 67 too short to hold the op. @udp: the UDP header at @l4 of @m.
 */
static bool dhcp4_ok(const struct vn_port_policy *p, const struct rte_mbuf *m, uint32_t l4,
		     uint16_t sport, uint16_t dport)
{
	uint8_t ob[1];
	const uint8_t *op;

	if (p->allow_dhcp_server)
		return true;
	if (sport == 67 || dport == 68)
		return false;
	if (dport != 67)
		return true;
	op = rte_pktmbuf_read(m, l4 + 8, 1, ob);
	return op && op[0] != 2;
}

static bool check_ipv4(const struct vn_port_policy *p, const struct rte_mbuf *m,
		       const struct vn_meta *md)
{
	uint8_t buf[24];
	const uint8_t *ip = rte_pktmbuf_read(m, md->l3_off, 20, buf);
	uint16_t sport = 0, dport = 0;
	bool udp_ports = false;

	if (!ip || (ip[0] >> 4) != 4 || (ip[0] & 0xf) < 5)
		return false;
	if (md->l4_off && md->l4_proto == UDP) { /* a first fragment: the ports are there */
		uint8_t ub[4];
		const uint8_t *udp = rte_pktmbuf_read(m, md->l4_off, 4, ub);
		if (!udp)
			return false; /* UDP without its ports: cannot be checked */
		sport = be16(udp);
		dport = be16(udp + 2);
		udp_ports = true;
	}
	if (p->nr_ip4 || p->nr_ip6) {
		static const uint8_t any[4];
		bool dhcp_client = memcmp(ip + 12, any, 4) == 0 && sport == 68 && dport == 67;
		if (!dhcp_client && !ip4_allowed(p, ip + 12))
			return false;
	}
	if (udp_ports && !dhcp4_ok(p, m, md->l4_off, sport, dport))
		return false; /* a DHCP server message from a guest */
	return true;
}

/* Link-layer address option @type (1 source, 2 target) of an ND message must be @mac. */
static bool nd_lla_ok(const struct rte_mbuf *m, uint32_t opt, uint32_t end, uint8_t type,
		      const struct rte_ether_addr *mac)
{
	while (opt + 2 <= end) {
		uint8_t ob[8];
		const uint8_t *o = rte_pktmbuf_read(m, opt, 2, ob);
		if (!o || o[1] == 0)
			return false;
		if (o[0] == type) {
			o = rte_pktmbuf_read(m, opt, 8, ob);
			if (!o || o[1] != 1 || memcmp(o + 2, mac->addr_bytes, 6) != 0)
				return false;
		}
		opt += o[1] * 8u;
	}
	return true;
}

/*
 * DHCPv6 server guard (RFC 8415 7.2, 7.3): servers and relays send to a client's port 546,
 * and ADVERTISE (2), REPLY (7), RECONFIGURE (10) and RELAY-REPL (13) are server messages.
 * From a guest without --allow-dhcp-server: anything from port 547 or to port 546, and a
 * server message (or no message type at all) to port 547, are dropped.
 */
static bool dhcp6_ok(const struct vn_port_policy *p, const struct rte_mbuf *m, uint32_t l4,
		     uint16_t sport, uint16_t dport)
{
	uint8_t tb[1];
	const uint8_t *t;

	if (p->allow_dhcp_server)
		return true;
	if (sport == 547 || dport == 546)
		return false;
	if (dport != 547)
		return true;
	t = rte_pktmbuf_read(m, l4 + 8, 1, tb);
	return t && t[0] != 2 && t[0] != 7 && t[0] != 10 && t[0] != 13;
}

/*
 * IPv6 from a guest. The whole extension header chain was walked by the parse (a chain it
 * could not walk is VN_META_TRUNC: dropped). Fragments: a first fragment must hold its
 * UDP/ICMPv6 header (8 bytes) within its payload, and neighbour discovery messages are
 * never fragmented (RFC 6980: dropped); later fragments carry no transport header and pass
 * on the source check alone: without their first fragment (checked, or dropped) the
 * receiver cannot reassemble them, and overlapping fragments are discarded (RFC 5722).
 */
static bool check_ipv6(const struct vn_port_policy *p, const struct rte_mbuf *m,
		       const struct vn_meta *md, const struct rte_ether_addr *src)
{
	uint8_t buf[40];
	const uint8_t *ip = rte_pktmbuf_read(m, md->l3_off, 40, buf);
	uint32_t l4 = md->l4_off, end;
	uint8_t nh = md->l4_proto;

	if (!ip || (ip[0] >> 4) != 6 || (md->flags & VN_META_TRUNC))
		return false;
	if (p->ip_guard && !ip6_allowed(p, ip + 8) && !ip6_unspecified(ip + 8))
		return false; /* link-local: only the port's own */
	if (md->flags & VN_META_FRAG)
		return true; /* a later fragment: no transport header (above) */
	end = md->l3_off + 40u + be16(ip + 4);
	if (end > rte_pktmbuf_pkt_len(m))
		end = rte_pktmbuf_pkt_len(m);
	if ((md->flags & VN_META_FRAG1) && (nh == UDP || nh == ICMP6) && l4 + 8u > end)
		return false; /* a first fragment without its transport header */
	if (nh == UDP) {
		uint8_t ub[4];
		const uint8_t *u = rte_pktmbuf_read(m, l4, 4, ub);
		if (!u)
			return false; /* UDP without its ports */
		return dhcp6_ok(p, m, l4, be16(u), be16(u + 2));
	}
	if (nh != ICMP6)
		return true;
	{
		uint8_t ib[24];
		const uint8_t *ic = rte_pktmbuf_read(m, l4, 1, ib);
		if (!ic)
			return false;
		if ((md->flags & VN_META_FRAG1) && ic[0] >= 133 && ic[0] <= 137)
			return false; /* fragmented neighbour discovery (RFC 6980) */
		switch (ic[0]) {
		case 134: /* router advertisement */
		case 137: /* redirect */
			return p->allow_ra;
		case 133: /* router solicitation: source LLA at 8 */
			return nd_lla_ok(m, l4 + 8, end, 1, src);
		case 135: /* neighbour solicitation: target at 8, options at 24 */
			return nd_lla_ok(m, l4 + 24, end, 1, src);
		case 136: /* neighbour advertisement: the target must be the guest's */
			ic = rte_pktmbuf_read(m, l4, 24, ib);
			if (!ic)
				return false;
			if (p->ip_guard && !ip6_allowed(p, ic + 8))
				return false;
			return nd_lla_ok(m, l4 + 24, end, 2, src);
		default:
			return true;
		}
	}
}

bool vn_antispoof_check_slow(const struct vn_port_policy *p, const struct rte_mbuf *m,
			     const struct vn_meta *md)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);

	if (p->lock_mac && !rte_is_same_ether_addr(&eth->src_addr, &p->mac))
		return false;
	if (md->flags & VN_META_TRUNC && md->etype != ET_IPV6)
		return false; /* cut short, or tags hiding the protocol */
	switch (md->etype) {
	case ET_ARP:
		return check_arp(p, m, md->l3_off, &eth->src_addr);
	case ET_RARP:
		return check_rarp(m, md->l3_off, &eth->src_addr);
	case ET_IPV4:
		return check_ipv4(p, m, md);
	case ET_IPV6:
		return check_ipv6(p, m, md, &eth->src_addr);
	default:
		return true;
	}
}

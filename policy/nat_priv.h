/* SPDX-License-Identifier: MIT */
/* Internals of the NAT engine shared by policy/nat.c and policy/nat_neigh.c. */
#ifndef VNICD_POLICY_NAT_PRIV_H
#define VNICD_POLICY_NAT_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "vnicd/nat.h"

#include <rte_ip.h>

#include "vnicd/conntrack.h"
#include "nat_memo.h"

/* The parsed frame: its IPv4 header and transport header in the first segment. */
struct pkt {
	struct rte_ipv4_hdr *ip;
	uint8_t *l4;
	uint32_t l4_len; /* bytes of transport header and payload in the datagram */
	struct vn_ct_tuple t;
	uint8_t tcp_flags;
	uint8_t icmp_type;
	uint16_t ip_len;
	bool first_frag; /* offset 0, more fragments */
	bool later_frag; /* offset > 0: no transport header */
};

/* Count a drop for @why on @nt into @r. Return: VN_NAT_DROPPED. */
static inline int vn_nat_dropped(struct vn_nat *nt, enum vn_nat_drop why, struct vn_nat_res *r)
{
	__atomic_fetch_add(&nt->drops[why], 1, __ATOMIC_RELAXED);
	r->where = VN_NAT_DROPPED;
	return VN_NAT_DROPPED;
}

/* Rewrite addresses @src/@dst of IPv4 header @ip (its checksum adjusted) */
static inline void vn_nat_ip_rewrite(struct rte_ipv4_hdr *ip, uint32_t src, uint32_t dst)
{
	uint32_t o[2] = {ip->src_addr, ip->dst_addr}, n[2] = {src, dst};

	ip->hdr_checksum = vn_nat_csum_adjust(ip->hdr_checksum, o, n, 8);
	ip->src_addr = src;
	ip->dst_addr = dst;
}

/* ---- replies vnicd makes of frames in place (policy/nat_reply.c) ---- */

/* A ping of the gateway's (or the external) address, answered (back to @smac, @where). */
int vn_nat_gateway_echo(struct vn_nat *nt, struct pkt *p, const struct rte_ether_addr *smac,
			struct vn_nat_res *r, int where);

/*
 * Frame @m becomes, in place, the ICMP error @type/@code (RFC 792, RFC 1812 4.3.2.7: its IP
 * header and 8 bytes quoted) that @src sends back to its sender (@smac). Not for ICMP
 * errors and later fragments, nor beyond the rate limit: then only dropped. Counted as
 * @why either way. Return: where it goes, or VN_NAT_DROPPED.
 */
int vn_nat_icmp_reply(struct vn_nat *nt, struct rte_mbuf *m, struct pkt *p, uint8_t type,
		      uint8_t code, uint32_t src, const struct rte_ether_addr *smac, int where,
		      enum vn_nat_drop why, uint64_t now, struct vn_nat_res *r);

/* Untracked traffic from the outside to one of our addresses: refused as a host would,
 * with a reset (TCP) or a port unreachable (UDP); an echo of the external address answered;
 * anything else only dropped. Return: where it goes, or VN_NAT_DROPPED. */
int vn_nat_refuse(struct vn_nat *nt, struct rte_mbuf *m, struct pkt *p,
		  const struct rte_ether_addr *smac, uint64_t now, struct vn_nat_res *r);

/**
 * vn_nat_neigh_get() - side @side's (0 inside, 1 outside) MAC of @ip into *@mac, without
 * the lock: an entry changing meanwhile reads as absent. Thread: any. Return: found.
 */
bool vn_nat_neigh_get(const struct vn_nat *nt, int side, uint32_t ip, struct rte_ether_addr *mac);

/** vn_nat_neigh_put() - map @ip to @mac (NULL: forget it) on side @side. Lock held. */
void vn_nat_neigh_put(struct vn_nat *nt, int side, uint32_t ip, const struct rte_ether_addr *mac);

/**
 * vn_nat_hold() - keep later fragment @m (it came before its first one) until
 * vn_nat_hold_release() or its expiry; expired ones are dropped on the way. Lock held.
 * Return: 0 (held: the engine owns @m), -1 (no room: the caller drops it).
 */
int vn_nat_hold(struct vn_nat *nt, struct rte_mbuf *m, bool from_inside, uint64_t now);

/**
 * vn_nat_hold_release() - the held later fragments of the datagram whose first fragment
 * @f describes (as it came from the inside or not), translated as it was, into @r->more.
 * Lock held.
 */
void vn_nat_hold_release(struct vn_nat *nt, const struct vn_nat_frag *f, bool from_inside,
			 struct vn_nat_res *r);

#endif

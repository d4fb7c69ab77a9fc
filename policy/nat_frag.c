/* SPDX-License-Identifier: MIT */
/* NAT: later IP fragments that come before their first one, held until it is translated. */
#include <string.h>

#include <rte_ip.h>
#include <rte_mbuf.h>

#include "vnicd/nat.h"
#include "nat_priv.h"

static struct rte_ipv4_hdr *ip_of(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
}

static void held_drop(struct vn_nat *nt, struct vn_nat_held *h, enum vn_nat_drop why)
{
	rte_pktmbuf_free(h->m);
	h->m = NULL;
	__atomic_fetch_add(&nt->drops[why], 1, __ATOMIC_RELAXED);
}

int vn_nat_hold(struct vn_nat *nt, struct rte_mbuf *m, bool from_inside, uint64_t now)
{
	const struct rte_ipv4_hdr *ip = ip_of(m);
	struct vn_nat_held *slot = NULL;

	for (unsigned i = 0; i < VN_NAT_HOLD; i++) {
		struct vn_nat_held *h = &nt->held[i];
		if (h->m && h->expires <= now)
			held_drop(nt, h, VN_NAT_FRAGMENT);
		if (!h->m && !slot)
			slot = h;
	}
	if (!slot)
		return -1;
	*slot = (struct vn_nat_held){.m = m,
				     .src = ip->src_addr,
				     .dst = ip->dst_addr,
				     .id = ip->packet_id,
				     .proto = ip->next_proto_id,
				     .from_inside = from_inside,
				     .expires = now + VN_NAT_HOLD_MS};
	__atomic_fetch_add(&nt->frag_held, 1, __ATOMIC_RELAXED);
	return 0;
}

void vn_nat_hold_release(struct vn_nat *nt, const struct vn_nat_frag *f, bool from_inside,
			 struct vn_nat_res *r)
{
	for (unsigned i = 0; i < VN_NAT_HOLD; i++) {
		struct vn_nat_held *h = &nt->held[i];
		struct rte_ipv4_hdr *ip;
		uint32_t o[2], n[2] = {f->nsrc, f->ndst};
		uint16_t ow, nw;

		if (!h->m || h->src != f->src || h->dst != f->dst || h->id != f->id ||
		    h->proto != f->proto || h->from_inside != from_inside)
			continue;
		ip = ip_of(h->m);
		if (ip->time_to_live <= 1 || r->nmore >= VN_NAT_MORE) {
			held_drop(nt, h, ip->time_to_live <= 1 ? VN_NAT_TTL : VN_NAT_FRAGMENT);
			continue;
		}
		/* as a later fragment in order goes: the addresses, then a router's hop */
		o[0] = ip->src_addr, o[1] = ip->dst_addr;
		ip->hdr_checksum = vn_nat_csum_adjust(ip->hdr_checksum, o, n, 8);
		ip->src_addr = f->nsrc;
		ip->dst_addr = f->ndst;
		vn_nat_ttl_dec(ip, &ow, &nw);
		ip->hdr_checksum = vn_nat_csum_adjust(ip->hdr_checksum, &ow, &nw, 2);
		r->more[r->nmore++] = h->m;
		h->m = NULL;
		__atomic_fetch_add(&nt->frag_released, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&nt->translated[f->where == VN_NAT_INSIDE], 1, __ATOMIC_RELAXED);
	}
}

void vn_nat_hold_expire(struct vn_nat *nt, uint64_t now)
{
	vn_ct_lock(nt->ct);
	for (unsigned i = 0; i < VN_NAT_HOLD; i++)
		if (nt->held[i].m && nt->held[i].expires <= now)
			held_drop(nt, &nt->held[i], VN_NAT_FRAGMENT);
	vn_ct_unlock(nt->ct);
}

/* SPDX-License-Identifier: MIT */
/*
 * A vhost-user guest's offload requests, read off the flags librte_vhost set on its frames
 * (completed by vnicd, or passed on as mbuf tx flags), and the completion of frames with
 * pending offloads for a guest that does not take them.
 */
#include <errno.h>
#include <string.h>

#include <linux/virtio_net.h>
#include <rte_mbuf.h>
#include <rte_net.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "vnicd/tap.h"
#include "vnicd/vhost.h"

#define VHOST_RX_FLAGS (RTE_MBUF_F_RX_L4_CKSUM_MASK | RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_LRO)

void vn_vhost_offload_meta(struct rte_mbuf *m, struct vn_vnet_meta *meta)
{
	uint64_t f = m->ol_flags;
	struct rte_net_hdr_lens hl;
	uint32_t pt;

	memset(meta, 0, sizeof(*meta));
	if (likely(!(f & VHOST_RX_FLAGS)))
		return;
	m->ol_flags &= ~VHOST_RX_FLAGS;
	if ((f & RTE_MBUF_F_RX_L4_CKSUM_MASK) != RTE_MBUF_F_RX_L4_CKSUM_NONE)
		return; /* nothing left to do (the library completed an odd one itself) */
	pt = rte_net_get_ptype(m, &hl, RTE_PTYPE_L2_MASK | RTE_PTYPE_L3_MASK | RTE_PTYPE_L4_MASK);
	meta->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	meta->csum_start = (uint16_t)(hl.l2_len + hl.l3_len);
	switch (pt & RTE_PTYPE_L4_MASK) {
	case RTE_PTYPE_L4_TCP:
		meta->csum_offset = offsetof(struct rte_tcp_hdr, cksum);
		break;
	case RTE_PTYPE_L4_UDP:
		meta->csum_offset = offsetof(struct rte_udp_hdr, dgram_cksum);
		break;
	default:
		meta->csum_start = UINT16_MAX; /* refused by the completion, counted */
		return;
	}
	if (!(f & RTE_MBUF_F_RX_LRO))
		return;
	meta->gso_size = m->tso_segsz;
	if ((pt & RTE_PTYPE_L4_MASK) != RTE_PTYPE_L4_TCP)
		meta->gso_type = VIRTIO_NET_HDR_GSO_UDP; /* UFO: not offered, refused */
	else if (RTE_ETH_IS_IPV4_HDR(pt))
		meta->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	else
		meta->gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
}

int vn_vhost_offload_mark(struct rte_mbuf *m)
{
	uint64_t f = m->ol_flags;
	struct rte_net_hdr_lens hl;
	uint32_t pt, l4;

	if (likely(!(f & VHOST_RX_FLAGS)))
		return 0;
	m->ol_flags &= ~VHOST_RX_FLAGS;
	if ((f & RTE_MBUF_F_RX_L4_CKSUM_MASK) != RTE_MBUF_F_RX_L4_CKSUM_NONE)
		return 0;
	pt = rte_net_get_ptype(m, &hl, RTE_PTYPE_L2_MASK | RTE_PTYPE_L3_MASK | RTE_PTYPE_L4_MASK);
	l4 = pt & RTE_PTYPE_L4_MASK;
	if ((l4 != RTE_PTYPE_L4_TCP && l4 != RTE_PTYPE_L4_UDP) ||
	    (uint32_t)hl.l2_len + hl.l3_len + hl.l4_len > rte_pktmbuf_data_len(m))
		return -EINVAL; /* headers beyond the first buffer: the receiver could not read */
	m->l2_len = hl.l2_len;
	m->l3_len = hl.l3_len;
	m->l4_len = hl.l4_len;
	m->ol_flags |= (RTE_ETH_IS_IPV4_HDR(pt) ? RTE_MBUF_F_TX_IPV4 : RTE_MBUF_F_TX_IPV6) |
		       (l4 == RTE_PTYPE_L4_TCP ? RTE_MBUF_F_TX_TCP_CKSUM : RTE_MBUF_F_TX_UDP_CKSUM);
	if (!(f & RTE_MBUF_F_RX_LRO))
		return 0;
	if (l4 != RTE_PTYPE_L4_TCP || m->tso_segsz < VN_GSO_MIN_MSS) {
		m->ol_flags &= ~VN_VHOST_TX_FLAGS;
		return -EINVAL;
	}
	m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG;
	return 0;
}

bool vn_vhost_tx_takes(uint64_t ol_flags, uint64_t features)
{
	uint64_t f = ol_flags & VN_VHOST_TX_FLAGS;

	if (likely(!f))
		return true;
	if (!(features & (1ULL << VIRTIO_NET_F_GUEST_CSUM)))
		return false;
	if (!(f & RTE_MBUF_F_TX_TCP_SEG))
		return true;
	return features & (1ULL << ((f & RTE_MBUF_F_TX_IPV4) ? VIRTIO_NET_F_GUEST_TSO4
							      : VIRTIO_NET_F_GUEST_TSO6));
}

int vn_vhost_tx_prepare(struct rte_mbuf **mp, struct rte_mempool *pool, struct vn_gso *g)
{
	struct rte_mbuf *m = *mp;
	uint64_t f = m->ol_flags;
	struct vn_vnet_meta meta = {
	    .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
	    .csum_start = (uint16_t)(m->l2_len + m->l3_len),
	    .csum_offset = (f & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_UDP_CKSUM
			       ? offsetof(struct rte_udp_hdr, dgram_cksum)
			       : offsetof(struct rte_tcp_hdr, cksum)};
	int rc;

	if (f & RTE_MBUF_F_TX_TCP_SEG) {
		meta.gso_type = (f & RTE_MBUF_F_TX_IPV4) ? VIRTIO_NET_HDR_GSO_TCPV4
							 : VIRTIO_NET_HDR_GSO_TCPV6;
		meta.gso_size = m->tso_segsz;
	}
	if (rte_mbuf_refcnt_read(m) > 1 || !RTE_MBUF_DIRECT(m)) {
		/* shared with other destinations (flooded): complete a copy of our own */
		struct rte_mbuf *c = rte_pktmbuf_copy(m, pool, 0, UINT32_MAX);
		rte_pktmbuf_free(m);
		if (!c)
			return -ENOMEM;
		*mp = m = c;
	}
	m->ol_flags &= ~VN_VHOST_TX_FLAGS;
	rc = vn_offload_prepare(m, &meta, g);
	if (rc < 0)
		rte_pktmbuf_free(m);
	return rc;
}

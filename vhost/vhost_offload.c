/* SPDX-License-Identifier: MIT */
/* A vhost-user guest's offload requests, read off the flags librte_vhost set on its frames. */
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

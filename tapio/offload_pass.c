/* SPDX-License-Identifier: MIT */
/*
 * Offloads passed on whole: a kernel's request (virtio-net header) carried across the switch
 * as mbuf tx flags, and the virtio-net header a TAP destination is given from those flags.
 */
#include <errno.h>
#include <string.h>

#include <linux/virtio_net.h>
#include <rte_byteorder.h>
#include <rte_mbuf.h>
#include <rte_net.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "vnicd/tap.h"

uint32_t vn_offl_sources;

int vn_offload_mark(struct rte_mbuf *m, const struct vn_vnet_meta *meta)
{
	struct rte_net_hdr_lens hl;
	uint8_t gso = meta->gso_type;
	uint32_t pt, l4;

	if (gso == VIRTIO_NET_HDR_GSO_NONE && !(meta->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return 0; /* complete already */
	if (!(meta->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) ||
	    (gso != VIRTIO_NET_HDR_GSO_NONE && gso != VIRTIO_NET_HDR_GSO_TCPV4 &&
	     gso != VIRTIO_NET_HDR_GSO_TCPV6))
		return -ENOTSUP; /* USO, ECN, a GSO frame without a partial checksum */
	pt = rte_net_get_ptype(m, &hl, RTE_PTYPE_L2_MASK | RTE_PTYPE_L3_MASK | RTE_PTYPE_L4_MASK);
	l4 = pt & RTE_PTYPE_L4_MASK;
	if (l4 != RTE_PTYPE_L4_TCP && l4 != RTE_PTYPE_L4_UDP)
		return -ENOTSUP;
	if (meta->csum_start != hl.l2_len + hl.l3_len ||
	    meta->csum_offset != (l4 == RTE_PTYPE_L4_TCP
				      ? offsetof(struct rte_tcp_hdr, cksum)
				      : offsetof(struct rte_udp_hdr, dgram_cksum)) ||
	    (uint32_t)hl.l2_len + hl.l3_len + hl.l4_len > rte_pktmbuf_data_len(m))
		return -ENOTSUP;
	if (gso != VIRTIO_NET_HDR_GSO_NONE &&
	    (l4 != RTE_PTYPE_L4_TCP || meta->gso_size < VN_GSO_MIN_MSS ||
	     (gso == VIRTIO_NET_HDR_GSO_TCPV4) != !!RTE_ETH_IS_IPV4_HDR(pt)))
		return -ENOTSUP;
	m->l2_len = hl.l2_len;
	m->l3_len = hl.l3_len;
	m->l4_len = hl.l4_len;
	m->ol_flags |= (RTE_ETH_IS_IPV4_HDR(pt) ? RTE_MBUF_F_TX_IPV4 : RTE_MBUF_F_TX_IPV6) |
		       (l4 == RTE_PTYPE_L4_TCP ? RTE_MBUF_F_TX_TCP_CKSUM : RTE_MBUF_F_TX_UDP_CKSUM);
	if (gso != VIRTIO_NET_HDR_GSO_NONE) {
		m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG;
		m->tso_segsz = meta->gso_size;
	}
	return 0;
}

void vn_vnet_hdr_from_mbuf(const struct rte_mbuf *m, void *hdr)
{
	struct virtio_net_hdr h = {0};
	uint64_t f = m->ol_flags, l4 = f & RTE_MBUF_F_TX_L4_MASK;

	if (l4 == RTE_MBUF_F_TX_TCP_CKSUM || l4 == RTE_MBUF_F_TX_UDP_CKSUM) {
		h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h.csum_start = rte_cpu_to_le_16((uint16_t)(m->l2_len + m->l3_len));
		h.csum_offset = rte_cpu_to_le_16(l4 == RTE_MBUF_F_TX_TCP_CKSUM
						     ? offsetof(struct rte_tcp_hdr, cksum)
						     : offsetof(struct rte_udp_hdr, dgram_cksum));
	}
	if (f & RTE_MBUF_F_TX_TCP_SEG) {
		h.gso_type =
		    (f & RTE_MBUF_F_TX_IPV4) ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
		h.gso_size = rte_cpu_to_le_16(m->tso_segsz);
		h.hdr_len = rte_cpu_to_le_16((uint16_t)(m->l2_len + m->l3_len + m->l4_len));
	}
	memcpy(hdr, &h, sizeof(h));
}

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
#include <rte_vhost.h>

#include "vnicd/args.h"
#include "vnicd/tap.h"
#include "vnicd/vhost.h"
#include "vhost_priv.h"

#define VHOST_RX_FLAGS                                                                             \
	(RTE_MBUF_F_RX_L4_CKSUM_MASK | RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_LRO)

/*
 * Take the rx flags of @m: Return: 0 when it asks for nothing (left: a checksum the library
 * completed itself, an odd one), else 1 with *@f its flags, *@pt its packet type and @hl its
 * header lengths.
 */
static int rx_request(struct rte_mbuf *m, uint64_t *f, uint32_t *pt, struct rte_net_hdr_lens *hl)
{
	*f = m->ol_flags;
	if (likely(!(*f & VHOST_RX_FLAGS)))
		return 0;
	m->ol_flags &= ~VHOST_RX_FLAGS;
	if ((*f & RTE_MBUF_F_RX_L4_CKSUM_MASK) != RTE_MBUF_F_RX_L4_CKSUM_NONE)
		return 0;
	*pt = rte_net_get_ptype(m, hl, RTE_PTYPE_L2_MASK | RTE_PTYPE_L3_MASK | RTE_PTYPE_L4_MASK);
	return 1;
}

void vn_vhost_offload_meta(struct rte_mbuf *m, struct vn_vnet_meta *meta)
{
	struct rte_net_hdr_lens hl;
	uint64_t f;
	uint32_t pt;

	memset(meta, 0, sizeof(*meta));
	if (!rx_request(m, &f, &pt, &hl))
		return;
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
	struct rte_net_hdr_lens hl;
	uint64_t f;
	uint32_t pt, l4;

	if (!rx_request(m, &f, &pt, &hl))
		return 0;
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
	struct vn_vnet_meta meta = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				    .csum_start = (uint16_t)(m->l2_len + m->l3_len),
				    .csum_offset =
					(f & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_UDP_CKSUM
					    ? offsetof(struct rte_udp_hdr, dgram_cksum)
					    : offsetof(struct rte_tcp_hdr, cksum)};
	int rc;

	if (f & RTE_MBUF_F_TX_TCP_SEG) {
		meta.gso_type =
		    (f & RTE_MBUF_F_TX_IPV4) ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
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

/* ---- the port's offload paths ---- */

void vn_vhost_offq_reset(struct vhost_port *vp)
{
	for (uint16_t q = 0; q < vp->queues; q++)
		vn_offq_reset(&vp->oq[q]);
	if (__atomic_exchange_n(&vp->offloads, 0, __ATOMIC_ACQ_REL))
		__atomic_sub_fetch(&vn_offl_sources, 1, __ATOMIC_RELAXED);
}

/* vn_offq's fill: a dequeue burst, the offload requests read off the mbufs' flags. */
struct offq_fill {
	int vid;
	uint16_t vring;
	struct rte_mempool *mp;
};

static uint16_t offq_fill(void *ctx, struct rte_mbuf **pkts, struct vn_vnet_meta *meta, uint16_t n)
{
	const struct offq_fill *f = ctx;
	uint16_t k = rte_vhost_dequeue_burst(f->vid, f->vring, f->mp, pkts, n);

	for (uint16_t i = 0; i < k; i++)
		vn_vhost_offload_meta(pkts[i], &meta[i]);
	return k;
}

/* Frames of a guest with offloads, their requests passed on as tx flags (offl_pass). */
static uint16_t rx_pass(struct vhost_port *vp, int vid, uint16_t q, struct rte_mbuf **pkts,
			uint16_t n)
{
	uint16_t k = rte_vhost_dequeue_burst(vid, (uint16_t)(q * 2 + 1), vp->mp, pkts, n), out = 0;
	unsigned passed = 0, bad = 0;

	for (uint16_t i = 0; i < k; i++) {
		struct rte_mbuf *m = pkts[i];
		bool asked = m->ol_flags != 0;
		if (unlikely(vn_vhost_offload_mark(m) < 0)) {
			rte_pktmbuf_free(m);
			bad++;
			continue;
		}
		passed += asked && (m->ol_flags & VN_VHOST_TX_FLAGS);
		pkts[out++] = m;
	}
	if (passed)
		__atomic_add_fetch(&vp->rx_passed, passed, __ATOMIC_RELAXED);
	if (unlikely(bad))
		__atomic_add_fetch(&vp->rx_bad_pass, bad, __ATOMIC_RELAXED);
	return out;
}

uint16_t vn_vhost_rx_offloads(struct vhost_port *vp, int vid, uint16_t q, struct rte_mbuf **pkts,
			      uint16_t n)
{
	struct vn_offq *oq = &vp->oq[q];
	struct offq_fill f = {vid, (uint16_t)(q * 2 + 1), vp->mp};

	if (__atomic_load_n(&vp->base.offl_pass, __ATOMIC_ACQUIRE) && !oq->fcount && !oq->in_gso)
		return rx_pass(vp, vid, q, pkts, n);
	return vn_offq_rx(oq, offq_fill, &f, vp->mp, pkts, n, false);
}

bool vn_vhost_tx_takes_all(const struct vhost_port *vp, struct rte_mbuf **pkts, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++)
		if (unlikely(!vn_vhost_tx_takes(pkts[i]->ol_flags, vp->features)))
			return false;
	return true;
}

/* Enqueue @n frames of @out on pair @q and release them; count what did not fit. */
static void tx_flush(struct vhost_port *vp, int vid, uint16_t q, struct rte_mbuf **out, uint16_t n)
{
	uint16_t sent;

	if (vp->base.tx_shared)
		rte_spinlock_lock(&vp->txlock[q]);
	sent = rte_vhost_enqueue_burst(vid, (uint16_t)(q * 2), out, n);
	if (vp->base.tx_shared)
		rte_spinlock_unlock(&vp->txlock[q]);
	if (sent < n)
		__atomic_add_fetch(&vp->tx_dropped, n - sent, __ATOMIC_RELAXED);
	rte_pktmbuf_free_bulk(out, n);
}

uint16_t vn_vhost_tx_completing(struct vhost_port *vp, int vid, uint16_t q, struct rte_mbuf **pkts,
				uint16_t n)
{
	struct rte_mbuf *out[VN_BURST];
	unsigned done = 0, segs = 0, lost = 0;
	uint16_t k = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct vn_gso g;
		int rc = 0;

		if (!vn_vhost_tx_takes(m->ol_flags, vp->features)) {
			rc = vn_vhost_tx_prepare(&m, vp->mp, &g);
			done += rc >= 0;
			lost += rc < 0;
		}
		if (rc == VN_OFFLOAD_DONE)
			out[k++] = m;
		while (rc == VN_OFFLOAD_SEGMENT && !vn_gso_done(&g)) {
			int c = vn_gso_next(&g, vp->mp, out + k, (uint16_t)(VN_BURST - k));
			if (c < 0) {
				lost++; /* the rest of the frame */
				break;
			}
			k = (uint16_t)(k + c);
			segs += (unsigned)c;
			if (k == VN_BURST) {
				tx_flush(vp, vid, q, out, k);
				k = 0;
			}
		}
		if (rc == VN_OFFLOAD_SEGMENT)
			rte_pktmbuf_free(g.src);
		if (k == VN_BURST) {
			tx_flush(vp, vid, q, out, k);
			k = 0;
		}
	}
	if (k)
		tx_flush(vp, vid, q, out, k);
	__atomic_add_fetch(&vp->tx_completed, done, __ATOMIC_RELAXED);
	__atomic_add_fetch(&vp->tx_segments, segs, __ATOMIC_RELAXED);
	if (lost)
		__atomic_add_fetch(&vp->tx_dropped, lost, __ATOMIC_RELAXED);
	return n;
}

void vn_vhost_describe_offloads(const struct vhost_port *vp, bool up, JsonBuilder *b)
{
	static const struct {
		int bit;
		bool to; /* towards the guest */
		const char *name;
	} names[] = {
	    {VIRTIO_NET_F_CSUM, false, "csum"},	     {VIRTIO_NET_F_HOST_TSO4, false, "tso4"},
	    {VIRTIO_NET_F_HOST_TSO6, false, "tso6"}, {VIRTIO_NET_F_HOST_ECN, false, "ecn"},
	    {VIRTIO_NET_F_GUEST_CSUM, true, "csum"}, {VIRTIO_NET_F_GUEST_TSO4, true, "tso4"},
	    {VIRTIO_NET_F_GUEST_TSO6, true, "tso6"}};
	struct vn_offq_stats st = {0};

	for (int to = 0; to < 2; to++) {
		json_builder_set_member_name(b, to ? "offloads_to_guest" : "guest_offloads");
		json_builder_begin_array(b);
		for (size_t i = 0; up && i < G_N_ELEMENTS(names); i++)
			if (names[i].to == to && (vp->features & (1ULL << names[i].bit)))
				json_builder_add_string_value(b, names[i].name);
		json_builder_end_array(b);
	}
	vn_json_bool(b, "offload_pass", __atomic_load_n(&vp->base.offl_pass, __ATOMIC_RELAXED));
	for (uint16_t q = 0; q < vp->queues; q++)
		vn_offq_stats_add(&st, &vp->oq[q]);
	vn_offq_stats_json(b, &st);
	vn_json_int(b, "rx_offload_passed",
		    (gint64)__atomic_load_n(&vp->rx_passed, __ATOMIC_RELAXED));
	vn_json_int(b, "rx_offload_refused",
		    (gint64)__atomic_load_n(&vp->rx_bad_pass, __ATOMIC_RELAXED));
	vn_json_int(b, "tx_offload_completed",
		    (gint64)__atomic_load_n(&vp->tx_completed, __ATOMIC_RELAXED));
	vn_json_int(b, "tx_gso_segments",
		    (gint64)__atomic_load_n(&vp->tx_segments, __ATOMIC_RELAXED));
	vn_json_int(b, "tx_offload_dropped",
		    (gint64)__atomic_load_n(&vp->tx_dropped, __ATOMIC_RELAXED));
}

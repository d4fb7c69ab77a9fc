/* SPDX-License-Identifier: MIT */
/* The tunnel steps of the frames' path: encapsulation towards a remote VTEP at flush, and
 * decapsulated frames switched into their overlay (see overlay.h). */
#include <rte_branch_prediction.h>

#include "vnicd/bridge.h"
#include "vnicd/capture.h"
#include "vnicd/overlay.h"
#include "vnicd/trace.h"
#include "worker.h"

void vn_tun_rx(struct vn_worker *w, const struct vn_dp_table *t, struct rte_mbuf **m,
	       const uint16_t *slot, uint16_t n, uint64_t now)
{
	uint16_t a = 0;

	while (a < n) {
		uint16_t b = a + 1;
		while (b < n && slot[b] == slot[a])
			b++;
		vn_dp_switch_burst(w, t, slot[a], &m[a], b - a, now);
		a = b;
	}
}

/* Frame @m of overlay @ov will not fit the underlay: tell its sender (found in the FDB of
 * the frame's VNI) the MTU to use, as Linux does for a bridged tunnel. */
static void too_big(struct vn_worker *w, const struct vn_dp_table *t, struct vn_overlay *ov,
		    struct rte_mbuf *m, struct rte_mempool *mp)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	int seg = vn_ov_seg_of_vni(ov, m->hash.usr);
	int d = seg < 0 ? -1 : vn_fdb_lookup(ov->base.fdb, (uint16_t)seg, &eth->src_addr);
	struct rte_mbuf *r;

	VN_TRACE(
	    w->trace, "encap", "drop",
	    "%u bytes: too big for the underlay (MTU %u); an ICMP error goes back to the sender",
	    rte_pktmbuf_pkt_len(m), ov->mtu);
	if (likely(w->trace == NULL))
		vn_ov_count(ov, VN_OV_TOO_BIG, 1);
	if (d < 0 || d >= t->nr_slots || t->slots[d].net != &ov->base || t->slots[d].tun)
		return;
	r = vn_tun_too_big(m, (uint16_t)(ov->mtu - ov->overhead), mp);
	if (r)
		vn_tx_push(w, t, (uint16_t)d, r, VN_UCAST, VN_LOC_LOCAL);
}

void vn_tun_flush(struct vn_worker *w, const struct vn_dp_table *t, uint16_t slot)
{
	struct txq *tq = &w->tx[slot];
	const struct vn_slot *s = &t->slots[slot];
	struct vn_port_counters *c = &w->ctr[slot];
	struct vn_tun_port *r = s->tun;
	const struct vn_tun_tx *tx = __atomic_load_n(&r->tx, __ATOMIC_ACQUIRE);
	struct vn_overlay *ov = r->ov;
	uint32_t limit = (uint32_t)ov->mtu - ov->overhead + RTE_ETHER_HDR_LEN;
	uint16_t n = tq->n, k = 0;

	tq->n = 0;
	if (unlikely(s->cap != NULL) && likely(w->trace == NULL))
		s->cap->burst(s->cap, tq->pkts, n, w->id, RTE_PCAPNG_DIRECTION_OUT);
	if (unlikely(tx == NULL)) { /* the next hop is being resolved */
		VN_TRACE(w->trace, "encap", "drop",
			 "remote VTEP %s: its next hop is not resolved yet", s->port->name);
		c->drops[VN_DROP_LINK_DOWN] += n;
		if (likely(w->trace == NULL))
			vn_ov_count(ov, VN_OV_UNRESOLVED, n);
		rte_pktmbuf_free_bulk(tq->pkts, n);
		return;
	}
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = tq->pkts[i], *e;
		uint32_t vni = m->hash.usr;
		if (unlikely(rte_pktmbuf_pkt_len(m) > limit)) {
			too_big(w, t, ov, m, r->mp);
			c->drops[VN_DROP_POLICY]++;
			rte_pktmbuf_free(m);
			continue;
		}
		e = vn_tun_encap(&tx->tmpl, vni, m, r->mp);
		if (unlikely(e == NULL)) {
			c->drops[VN_DROP_NO_MBUF]++;
			continue;
		}
		if (unlikely(w->trace != NULL))
			vn_trace_encap(w->trace, e, slot, vni, &tx->tmpl);
		tq->aux[k] = tq->aux[i];
		tq->len[k++] = tq->len[i];
		vn_tx_push(w, t, tx->uplink_slot, e, VN_UCAST, VN_LOC_TUNNEL);
	}
	vn_tx_count(c, tq, k);
}

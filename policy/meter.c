/* SPDX-License-Identifier: MIT */
/*
 * Rate limits with rte_meter, libvirt <bandwidth> semantics: average and peak in kilobytes
 * (1000 bytes) per second, burst in kibibytes. Two single-rate buckets (srTCM with no
 * excess bucket, so green or red): the average bucket fills at `average` up to `burst`
 * (default: one second of average, as libvirt gives tc's police when burst is not set; at
 * least 64 KiB); the peak bucket, when `peak` is given, fills at `peak` up to the largest of
 * 64 KiB, 50 ms of peak and 300 ms of average. A frame passes when both have its length in
 * tokens; so over any interval t no more than peak x t + the peak depth passes.
 *
 * Why those depths: a policer drops whatever exceeds its bucket, and a TCP sender at a
 * sub-millisecond RTT cannot slow down to a few kB/s by its window (one segment per RTT is
 * already far above the rate), so it overruns the bucket, loses its retransmissions too and
 * ends in a retransmission timeout: a stall of RTO_min = 200 ms. During the stall both buckets
 * fill; after it, TCP sends at most what the shallower bucket holds before the next loss.
 * Measured (iperf3 through tap ports, average 1500 KBps, peak 3000 KBps): with a peak depth
 * of 50 ms of peak (150 kB) TCP got 730 KB/s, 75 ms 1150 KB/s, 100 ms (300 kB = 200 ms of
 * average) 1440-1540 KB/s: throughput ~ depth / 200 ms. Hence at least 300 ms of average in
 * the peak bucket (margin over RTO_min), and a default burst of one second of average. A
 * user-given burst below ~300 ms of average keeps TCP below the average for this reason.
 */
#include <errno.h>
#include <string.h>

#include <rte_cycles.h>

#include "policy/fastpath.h"
#include "vnicd/policy.h"

#define MIN_DEPTH (64u * 1024u)
#define PEAK_DEPTH_PEAK_MS 50 /* peak bucket: at least this much of peak ... */
#define PEAK_DEPTH_AVG_MS 300 /* ... and of average (see above: TCP and RTO_min) */

static int bucket(struct rte_meter_srtcm_profile *prof, struct rte_meter_srtcm *m,
		  uint64_t rate_Bps, uint64_t depth, const struct rte_meter_srtcm *prev)
{
	struct rte_meter_srtcm_params prm = {.cir = rate_Bps, .cbs = depth, .ebs = 0};

	if (rte_meter_srtcm_profile_config(prof, &prm) != 0 || rte_meter_srtcm_config(m, prof) != 0)
		return -EINVAL;
	if (prev && prev->tc < m->tc)
		m->tc = prev->tc;
	return 0;
}

int vn_meter_init(struct vn_meter *mt, uint64_t average_kBps, uint64_t peak_kBps,
		  uint64_t burst_kib, const struct vn_meter *prev)
{
	uint64_t avg = average_kBps * 1000, peak = peak_kBps * 1000;

	if (average_kBps == 0 || average_kBps > VN_METER_MAX_KBPS ||
	    peak_kBps > VN_METER_MAX_KBPS || (peak_kBps && peak_kBps < average_kBps) ||
	    burst_kib > VN_METER_MAX_BURST_KIB)
		return -EINVAL;
	memset(mt, 0, sizeof(*mt));
	rte_spinlock_init(&mt->lock);
	mt->average_kBps = average_kBps;
	mt->peak_kBps = peak_kBps;
	mt->burst_kib = burst_kib;
	mt->cbs = burst_kib ? burst_kib * 1024 : RTE_MAX(avg, (uint64_t)MIN_DEPTH);
	if (bucket(&mt->avg_prof, &mt->avg, avg, mt->cbs, prev ? &prev->avg : NULL) < 0)
		return -EINVAL;
	if (peak_kBps) {
		mt->has_peak = true;
		mt->pbs = RTE_MAX(peak * PEAK_DEPTH_PEAK_MS / 1000, avg * PEAK_DEPTH_AVG_MS / 1000);
		mt->pbs = RTE_MAX(mt->pbs, (uint64_t)MIN_DEPTH);
		if (bucket(&mt->peak_prof, &mt->peak, peak, mt->pbs,
			   prev && prev->has_peak ? &prev->peak : NULL) < 0)
			return -EINVAL;
	}
	return 0;
}

/*
 * The bytes frame @m of length @l is charged: @l, or for a TCP GSO frame passed on whole
 * (offload pass-through: RTE_MBUF_F_TX_TCP_SEG) the bytes of the segments it becomes, each
 * with the headers, i.e. what its destination receives: a limit means the same whether
 * vnicd segments the frame or a guest, the kernel or a NIC does (Linux's qdiscs count a GSO
 * packet so too). Its length as received stays what accounting counts.
 */
static inline uint32_t charged(const struct rte_mbuf *m, uint32_t l)
{
	uint32_t hdr, segs;

	if (likely(!(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG)) || m->tso_segsz == 0)
		return l;
	hdr = (uint32_t)m->l2_len + m->l3_len + m->l4_len;
	if (l <= hdr)
		return l;
	segs = (l - hdr + m->tso_segsz - 1) / m->tso_segsz;
	return l + (segs - 1) * hdr;
}

/*
 * Frames @from..@n-1 of @pkts (lengths @len, or their own; charged()), all at once: when
 * their bytes fit in the committed bucket (and the peak bucket) that vn_meter_conform() just
 * brought up to this burst's time, each would be green one by one: the buckets are charged
 * their sum. Caller holds @mt->lock. Return: true if they all passed, false (nothing
 * charged) if not.
 */
static bool meter_rest(struct vn_meter *mt, struct rte_mbuf **pkts, const uint32_t *len,
		       uint16_t from, uint16_t n)
{
	uint64_t sum = 0;

	for (uint16_t i = from; i < n; i++)
		sum += charged(pkts[i], len ? len[i] : rte_pktmbuf_pkt_len(pkts[i]));
	if (sum > mt->avg.tc || (mt->has_peak && sum > mt->peak.tc))
		return false;
	mt->avg.tc -= sum;
	if (mt->has_peak)
		mt->peak.tc -= sum;
	return true;
}

uint16_t vn_meter_burst(struct vn_meter *mt, struct rte_mbuf **pkts, uint32_t *len, uint16_t *aux,
			uint16_t n, uint64_t tsc)
{
	uint16_t kept = 0;

	rte_spinlock_lock(&mt->lock);
	tsc = vn_meter_clamp(mt, tsc);
	for (uint16_t i = 0; i < n; i++) {
		uint32_t l = len ? len[i] : rte_pktmbuf_pkt_len(pkts[i]);
		if (vn_meter_conform(mt, charged(pkts[i], l), tsc)) {
			pkts[kept] = pkts[i];
			if (len)
				len[kept] = l;
			if (aux)
				aux[kept] = aux[i];
			kept++;
		} else {
			rte_pktmbuf_free(pkts[i]);
		}
		if (i == 0 && kept == 1 && n > 1 && meter_rest(mt, pkts, len, 1, n)) {
			kept = n; /* the common case: the whole burst within the rate */
			break;
		}
	}
	rte_spinlock_unlock(&mt->lock);
	return kept;
}

/* ---- storm control: GCRA on one atomic word ---- */

int vn_storm_init(struct vn_storm *st, uint64_t pps, const struct vn_storm *prev)
{
	uint64_t hz = rte_get_tsc_hz(), now = rte_get_tsc_cycles();

	if (pps == 0 || pps > VN_STORM_MAX_PPS)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	st->pps = pps;
	st->burst = (uint32_t)RTE_MAX(pps / 10, (uint64_t)VN_STORM_MIN_BURST);
	st->interval = RTE_MAX(hz / pps, (uint64_t)1);
	st->tau = (st->burst - 1) * st->interval;
	if (prev) { /* the old level: as far ahead of now as before, within the new depth */
		uint64_t tat = __atomic_load_n(&prev->tat, __ATOMIC_RELAXED);
		if (tat > now)
			st->tat = now + RTE_MIN(tat - now, st->tau + st->interval);
	}
	return 0;
}

uint16_t vn_storm_admit(struct vn_storm *st, uint16_t n, uint64_t tsc)
{
	uint64_t old = __atomic_load_n(&st->tat, __ATOMIC_RELAXED), nw;
	uint16_t k;

	do {
		uint64_t tat = old > tsc ? old : tsc, ahead = tat - tsc, can;
		if (ahead > st->tau)
			return 0; /* empty: nothing to store */
		can = (st->tau - ahead) / st->interval + 1;
		k = (uint16_t)RTE_MIN((uint64_t)n, can);
		nw = tat + k * st->interval;
	} while (!__atomic_compare_exchange_n(&st->tat, &old, nw, true, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return k;
}

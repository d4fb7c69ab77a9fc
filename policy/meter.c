/* SPDX-License-Identifier: MIT */
/*
 * Rate limits with rte_meter, libvirt <bandwidth> semantics: average and peak in kilobytes
 * (1000 bytes) per second, burst in kibibytes. Two single-rate buckets (srTCM with no
 * excess bucket, so green or red): the average bucket fills at `average` up to `burst`
 * (default: one second of average, as libvirt gives tc's police when burst is not set; at
 * least 64 KiB); the peak bucket, when `peak` is given, fills at `peak` up to 50 ms of peak
 * (at least 64 KiB: a TCP sender's line-rate bursts of 64 KiB segmentation batches must fit,
 * or TCP stalls in retransmission timeouts). A frame passes when both have its length in
 * tokens; so over any interval t no more than peak x t + the peak depth passes.
 */
#include <errno.h>
#include <string.h>

#include <rte_cycles.h>

#include "vnicd/policy.h"

#define MIN_DEPTH (64u * 1024u)

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

	if (average_kBps == 0 || average_kBps > VN_METER_MAX_KBPS || peak_kBps > VN_METER_MAX_KBPS ||
	    (peak_kBps && peak_kBps < average_kBps) || burst_kib > VN_METER_MAX_BURST_KIB)
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
		mt->pbs = RTE_MAX(peak / 20, (uint64_t)MIN_DEPTH);
		if (bucket(&mt->peak_prof, &mt->peak, peak, mt->pbs,
			   prev && prev->has_peak ? &prev->peak : NULL) < 0)
			return -EINVAL;
	}
	return 0;
}

uint16_t vn_meter_burst(struct vn_meter *mt, struct rte_mbuf **pkts, uint32_t *len, uint16_t n,
			uint64_t tsc)
{
	uint16_t kept = 0;

	rte_spinlock_lock(&mt->lock);
	tsc = vn_meter_clamp(mt, tsc);
	for (uint16_t i = 0; i < n; i++) {
		uint32_t l = len ? len[i] : rte_pktmbuf_pkt_len(pkts[i]);
		if (vn_meter_conform(mt, l, tsc)) {
			pkts[kept] = pkts[i];
			if (len)
				len[kept] = l;
			kept++;
		} else {
			rte_pktmbuf_free(pkts[i]);
		}
	}
	rte_spinlock_unlock(&mt->lock);
	return kept;
}

/* SPDX-License-Identifier: MIT */
/* Rx queue placement and load-based re-balancing of rx queues over workers (rxq_sched.h). */
#include <string.h>

#include "vnicd/rxq_sched.h"

#define MAX_W 16

unsigned vn_rxq_place(const uint64_t *wload, const unsigned *wqueues, unsigned nr_workers,
		      enum vn_rxq_assign mode)
{
	unsigned best = 0;

	for (unsigned w = 1; w < nr_workers && w < MAX_W; w++) {
		if (mode == VN_RXQ_CYCLES && wload[w] != wload[best]) {
			if (wload[w] < wload[best])
				best = w;
			continue;
		}
		if (wqueues[w] < wqueues[best])
			best = w;
	}
	return best;
}

static void worker_loads(const struct vn_rxq_load *qs, unsigned n, unsigned nr_workers,
			 uint64_t *wl)
{
	memset(wl, 0, sizeof(*wl) * MAX_W);
	for (unsigned i = 0; i < n; i++)
		if (qs[i].worker < nr_workers)
			wl[qs[i].worker] += qs[i].load;
}

uint64_t vn_rxq_max_load(const struct vn_rxq_load *qs, unsigned n, unsigned nr_workers)
{
	uint64_t wl[MAX_W], max = 0;

	worker_loads(qs, n, nr_workers, wl);
	for (unsigned w = 0; w < nr_workers && w < MAX_W; w++)
		if (wl[w] > max)
			max = wl[w];
	return max;
}

/* The queue of worker @hi whose move to a worker @gap less loaded leaves the pair's busier
 * one least loaded; -1 when no queue's move lowers it. */
static int best_move(const struct vn_rxq_load *qs, const unsigned *cur, unsigned n, unsigned hi,
		     uint64_t gap)
{
	uint64_t best_after = gap; /* the pair's busier side after the move, relative to lo */
	int best = -1;

	for (unsigned i = 0; i < n; i++) {
		uint64_t x = qs[i].load, after;
		if (cur[i] != hi || x == 0 || x >= gap)
			continue;
		after = x > gap - x ? x : gap - x;
		if (after < best_after) {
			best_after = after;
			best = (int)i;
		}
	}
	return best;
}

unsigned vn_rxq_rebalance(struct vn_rxq_load *qs, unsigned n, unsigned nr_workers,
			  unsigned min_gain_pct)
{
	unsigned cur[n ? n : 1], moved = 0;
	uint64_t wl[MAX_W], before, after = 0;

	if (nr_workers < 2 || nr_workers > MAX_W || n == 0)
		return 0;
	worker_loads(qs, n, nr_workers, wl);
	before = vn_rxq_max_load(qs, n, nr_workers);
	if (before == 0)
		return 0;
	for (unsigned i = 0; i < n; i++)
		cur[i] = qs[i].worker;
	/* each move strictly lowers the busier of its pair: bounded, but cap it anyway */
	for (unsigned iter = 0; iter < n * nr_workers; iter++) {
		unsigned hi = 0, lo = 0;
		int i;
		for (unsigned w = 1; w < nr_workers; w++) {
			if (wl[w] > wl[hi])
				hi = w;
			if (wl[w] < wl[lo])
				lo = w;
		}
		i = best_move(qs, cur, n, hi, wl[hi] - wl[lo]);
		if (i < 0)
			break;
		cur[i] = lo;
		wl[hi] -= qs[i].load;
		wl[lo] += qs[i].load;
	}
	for (unsigned w = 0; w < nr_workers; w++)
		if (wl[w] > after)
			after = wl[w];
	/* keep the moves only for a gain of min_gain_pct % of the busiest worker's load */
	if ((before - after) * 100 < (uint64_t)min_gain_pct * before || after >= before)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		moved += cur[i] != qs[i].worker;
		qs[i].worker = cur[i];
	}
	return moved;
}

/* SPDX-License-Identifier: MIT */
/*
 * Rx queue scheduling contract: where a new rx queue goes and which queues move when the
 * workers' measured loads are uneven (as OVS's pmd-rxq-assign=cycles and pmd-auto-lb).
 * Pure functions of the loads given: no data path, no clock, no allocation.
 */
#ifndef VNICD_RXQ_SCHED_H
#define VNICD_RXQ_SCHED_H

#include <stdbool.h>
#include <stdint.h>

/** enum vn_rxq_assign - how rx queues are placed on workers (config key `rxq_assign`). */
enum vn_rxq_assign {
	VN_RXQ_CYCLES,	   /* by measured load, re-balanced when it shifts (default) */
	VN_RXQ_ROUNDROBIN, /* by count, never moved once placed */
};

/**
 * struct vn_rxq_load - one placed rx queue: which port slot and queue, the worker polling it
 * and its load (TSC cycles spent on its bursts over the last interval).
 */
struct vn_rxq_load {
	uint16_t slot, q;
	unsigned worker;
	uint64_t load;
};

/**
 * vn_rxq_place() - pick the worker for a new rx queue.
 * @wload: each worker's load (sum of its queues' loads); @wqueues: each one's queue count;
 * @nr_workers: 1..16; @mode: VN_RXQ_CYCLES takes the least loaded worker (ties: fewest
 * queues, then the lowest number), VN_RXQ_ROUNDROBIN the one with fewest queues (ties: the
 * lowest number), which spreads queues added one by one in turn.
 * Return: the worker's number.
 */
unsigned vn_rxq_place(const uint64_t *wload, const unsigned *wqueues, unsigned nr_workers,
		      enum vn_rxq_assign mode);

/**
 * vn_rxq_rebalance() - hand queues from the busiest workers to the least busy ones until no
 * single move lowers the busier of the two, then keep the result only if it lowers the
 * busiest worker's load by at least @min_gain_pct percent (hysteresis: no moves for small
 * gains). Queues with no load never move.
 * @qs: the @n placed queues; their .worker is rewritten in place when moves are kept, left
 * untouched otherwise. @nr_workers: 1..16.
 * Return: the number of queues whose worker changed (0: keep the placement).
 */
unsigned vn_rxq_rebalance(struct vn_rxq_load *qs, unsigned n, unsigned nr_workers,
			  unsigned min_gain_pct);

/**
 * vn_rxq_max_load() - Return: the highest per-worker sum of the loads in @qs.
 */
uint64_t vn_rxq_max_load(const struct vn_rxq_load *qs, unsigned n, unsigned nr_workers);

#endif

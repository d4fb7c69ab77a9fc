/* SPDX-License-Identifier: MIT */
/*
 * Private to the data path (datapath.c: workers and tables; pipeline.c: the frames' path):
 * a worker's state, with its per-destination tx buffers and per-slot counters.
 */
#ifndef VNICD_WORKER_H
#define VNICD_WORKER_H

#include <stdint.h>

#include <rte_mbuf.h>

#include "vnicd/datapath.h"

#define VN_MAX_WORKERS 16

/* Frames buffered for one destination slot: each with its length and, packed in @aux, its
 * destination class (low byte) and the locality it counts as coming from (high byte). */
struct txq {
	uint16_t n;
	uint16_t aux[VN_BURST];
	uint32_t len[VN_BURST];
	struct rte_mbuf *pkts[VN_BURST];
};

struct vn_worker {
	struct vn_dp *dp;
	unsigned id;
	int wake_fd; /* eventfd: table changed, device came, stop */
	struct vn_dp_worker_stats st;
	uint16_t ndirty;
	uint16_t dirty[VN_MAX_PORTS_HARD];
	struct vn_port_counters ctr[VN_MAX_PORTS_HARD];
	struct txq tx[VN_MAX_PORTS_HARD];
};

struct vn_dp {
	unsigned nr_workers;
	unsigned idle_sleep_us;
	volatile int stop;
	struct vn_dp_table *table; /* published with release/acquire */
	struct rte_rcu_qsbr *qsbr;
	struct vn_worker *w[VN_MAX_WORKERS];
	struct vn_slot staged[VN_MAX_PORTS_HARD];      /* control thread: the next table's slots */
	struct vn_port_policy *pol[VN_MAX_PORTS_HARD]; /* owned policies, as staged */
	uint64_t commit_failures;		       /* tables that could not be made */
};

#endif

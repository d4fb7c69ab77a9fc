/* SPDX-License-Identifier: MIT */
/*
 * Private to the data path (datapath.c: workers and tables; pipeline.c: the frames' path):
 * a worker's state, with its per-destination tx buffers and per-slot counters.
 */
#ifndef VNICD_WORKER_H
#define VNICD_WORKER_H

#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "vnicd/datapath.h"
#include "vnicd/net.h"
#include "vnicd/rxq_sched.h"
#include "vnicd/stats.h"

#define VN_MAX_WORKERS 16

/* Frames buffered for one destination slot: each with its length and, packed in @aux, its
 * destination class (low byte) and the locality it counts as coming from (high byte). */
struct txq {
	uint16_t n;
	uint16_t aux[VN_BURST];
	uint32_t len[VN_BURST];
	struct rte_mbuf *pkts[VN_BURST];
};

struct vn_trace;

/* What a worker spent on one rx queue: TSC cycles of its bursts that had frames, frames. */
struct vn_rxq_ctr {
	uint64_t cycles, frames;
};

/* The control thread's view of one rx queue's load (datapath_rxq.c). */
struct vn_rxq_sample {
	uint64_t prev_cycles, prev_frames; /* sums over the workers at the last sample */
	uint64_t cycles, frames;	   /* their growth over the last interval */
};

#define RXQ_HELD 0x80 /* owner flag: placed but not polled (being handed over) */

struct vn_worker {
	struct vn_dp *dp;
	unsigned id;
	struct vn_trace *trace; /* a trace's scratch worker (trace.h); NULL for real workers */
	int wake_fd;		/* eventfd: table changed, device came, stop */
	struct vn_dp_worker_stats st;
	struct vn_rxq_ctr (*rxq)[VN_MAX_QUEUES]; /* by slot and queue; NULL in trace workers */
	uint64_t gen_seen;	    /* the table generation it polls; older ones it is done with */
	int running;		    /* in vn_dp_worker_run() */
	uint64_t poll_window;	    /* TSC cycles it polls an idle streak before sleeping */
	uint64_t idle_since;	    /* when the idle streak's window began */
	uint64_t slept;		    /* cycles of the sleep just ended without frames (0: none) */
	uint64_t sec_now, sec_next; /* vn_dp_now() of the last poll, the TSC it changes at */
	uint16_t ndirty;
	uint16_t dirty[VN_MAX_PORTS_HARD];
	struct vn_port_counters ctr[VN_MAX_PORTS_HARD];
	struct vn_fwd_memo fmemo[VN_MAX_PORTS_HARD]; /* by ingress slot (struct vn_fwd_ctx) */
	struct txq tx[VN_MAX_PORTS_HARD];
	/* out of the way of ndirty/dirty[], read together on every burst */
	uint8_t handing;	/* draining @hand: the bursts it switches add to it, not drain */
	struct vn_handoff hand; /* frames ports gave back while delivering (tx_handoff()) */
};

struct vn_dp {
	unsigned nr_workers;
	unsigned idle_sleep_us;
	uint64_t idle_poll_cycles; /* idle_poll_us: longest adaptive poll window, 0 = off */
	volatile int stop;
	struct vn_dp_table *table; /* published with release/acquire */
	struct rte_rcu_qsbr *qsbr;
	struct vn_worker *w[VN_MAX_WORKERS];
	struct vn_slot staged[VN_MAX_PORTS_HARD];      /* control thread: the next table's slots */
	struct vn_port_policy *pol[VN_MAX_PORTS_HARD]; /* owned policies, as staged */
	uint64_t commit_failures;		       /* tables that could not be made */
	struct rte_ring *inj; /* frames the control thread injects as received on a slot
				 (struct vn_dp_inj; control thread in, worker 0 out) */
	uint64_t inj_drops;   /* ring full or port gone: control thread / worker 0 */
	uint64_t gen;	      /* generation of the last table built */
	/* rx queue placement (datapath_rxq.c): worker + 1 of each queue, 0 = not placed yet,
	 * | RXQ_HELD while handed over; for the port owner_port[slot] */
	uint8_t owner[VN_MAX_PORTS_HARD][VN_MAX_QUEUES];
	const struct vn_port *owner_port[VN_MAX_PORTS_HARD];
	struct vn_rxq_sample (*smp)[VN_MAX_QUEUES]; /* by slot and queue */
	uint64_t smp_tsc, smp_cycles;		    /* last sample, its interval */
	enum vn_rxq_assign assign;
	unsigned gain_pct; /* rxq_rebalance_threshold */
	struct vn_dp_rxq_stats rxq_st;
};

/* One injected frame: @m as if port @port (still at @slot) had received it. */
struct vn_dp_inj {
	struct rte_mbuf *m;
	const struct vn_port *port; /* identity only: compared, never dereferenced */
	uint16_t slot;
	uint16_t pad[3];
};

/**
 * vn_dp_workers_past() - wait (up to 1 s) until every running worker is at the top of its
 * loop with a table of generation @gen or later: done polling, arming and disarming the
 * queues of older tables, including what it armed before a sleep. Return: true, false on
 * timeout. Thread: control.
 */
bool vn_dp_workers_past(struct vn_dp *dp, uint64_t gen);

/**
 * vn_dp_rxq_placement() - place the rx queues of table @t's ports not placed yet, forget
 * those of ports gone (datapath_rxq.c). Thread: control, while building @t.
 */
void vn_dp_rxq_placement(struct vn_dp *dp, const struct vn_dp_table *t);

/**
 * vn_tx_flush() - send what worker @w buffered for slot @slot of table @t: the slot's
 * inbound meter, capture, the port's tx burst (or encapsulation for a remote VTEP), and
 * the counters (pipeline.c).
 */
void vn_tx_flush(struct vn_worker *w, const struct vn_dp_table *t, uint16_t slot);

/* Return: true if the first @n frames of @tq are all of class @aux, and their bytes in
 * @bytes (four classes and four lengths a step, as words: two sums share a word, each of
 * at most VN_BURST lengths of a frame, under 2^26 bytes, so 32 bits hold it). */
static inline bool vn_txq_alike(const struct txq *tq, uint16_t n, uint16_t aux, uint64_t *bytes)
{
	uint64_t a4 = aux * 0x0001000100010001ull, diff = 0, acc = 0, w, l0, l1;
	uint16_t i = 0;

	for (; i + 4 <= n; i += 4) {
		memcpy(&w, &tq->aux[i], 8);
		memcpy(&l0, &tq->len[i], 8);
		memcpy(&l1, &tq->len[i + 2], 8);
		diff |= w ^ a4;
		acc += l0 + l1;
	}
	for (; i < n; i++) {
		diff |= tq->aux[i] ^ aux;
		acc += tq->len[i];
	}
	*bytes = (acc & 0xffffffffu) + (acc >> 32);
	return diff == 0;
}

/* Count the first @sent frames of @tq as sent on @c: runs of one class (destination cast
 * and source locality, usually the whole burst) are added up in registers. */
static inline void vn_tx_count(struct vn_port_counters *c, const struct txq *tq, uint16_t sent)
{
	uint64_t bytes = 0, run_bytes = 0;
	uint32_t run = 0;
	uint16_t aux = sent ? tq->aux[0] : 0;

	_Static_assert(VN_BURST <= 64, "vn_txq_alike()'s sums fit 32 bits");
	if (likely(sent) && vn_txq_alike(tq, sent, aux, &bytes)) { /* one class: the usual */
		c->tx_cast_pkts[aux & 0xff] += sent;
		c->tx_cast_bytes[aux & 0xff] += bytes;
		c->tx_loc_pkts[aux >> 8] += sent;
		c->tx_loc_bytes[aux >> 8] += bytes;
		c->tx_packets += sent;
		c->tx_bytes += bytes;
		return;
	}
	bytes = 0;
	for (uint16_t i = 0; i < sent; i++) {
		if (unlikely(tq->aux[i] != aux)) {
			c->tx_cast_pkts[aux & 0xff] += run;
			c->tx_cast_bytes[aux & 0xff] += run_bytes;
			c->tx_loc_pkts[aux >> 8] += run;
			c->tx_loc_bytes[aux >> 8] += run_bytes;
			bytes += run_bytes;
			aux = tq->aux[i];
			run = 0;
			run_bytes = 0;
		}
		run++;
		run_bytes += tq->len[i];
	}
	c->tx_cast_pkts[aux & 0xff] += run;
	c->tx_cast_bytes[aux & 0xff] += run_bytes;
	c->tx_loc_pkts[aux >> 8] += run;
	c->tx_loc_bytes[aux >> 8] += run_bytes;
	c->tx_packets += sent;
	c->tx_bytes += bytes + run_bytes;
}

/* Buffer @m for slot @slot (sent when VN_BURST are buffered or the burst ends). */
static inline void vn_tx_push(struct vn_worker *w, const struct vn_dp_table *t, uint16_t slot,
			      struct rte_mbuf *m, uint8_t cast, uint8_t loc)
{
	struct txq *tq = &w->tx[slot];

	if (tq->n == 0)
		w->dirty[w->ndirty++] = slot;
	tq->pkts[tq->n] = m;
	tq->aux[tq->n] = (uint16_t)(cast | loc << 8);
	tq->len[tq->n] = rte_pktmbuf_pkt_len(m);
	if (++tq->n == VN_BURST)
		vn_tx_flush(w, t, slot);
}

/* vn_tx_push() of the @n frames @m alike (one cast and locality). Return: their bytes. */
static inline uint64_t vn_tx_push_n(struct vn_worker *w, const struct vn_dp_table *t, uint16_t slot,
				    struct rte_mbuf *const *m, uint16_t n, uint8_t cast,
				    uint8_t loc)
{
	struct txq *tq = &w->tx[slot];
	uint16_t aux = (uint16_t)(cast | loc << 8);
	uint64_t bytes = 0;

	while (n) {
		uint16_t k = RTE_MIN(n, (uint16_t)(VN_BURST - tq->n)), at = tq->n;
		if (at == 0)
			w->dirty[w->ndirty++] = slot;
		for (uint16_t i = 0; i < k; i++) {
			uint32_t len = rte_pktmbuf_pkt_len(m[i]);
			tq->pkts[at + i] = m[i];
			tq->aux[at + i] = aux;
			tq->len[at + i] = len;
			bytes += len;
		}
		tq->n = (uint16_t)(at + k);
		m += k;
		n = (uint16_t)(n - k);
		if (tq->n == VN_BURST)
			vn_tx_flush(w, t, slot);
	}
	return bytes;
}

#endif

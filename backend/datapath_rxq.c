/* SPDX-License-Identifier: MIT */
/* Rx queue placement on workers: loads sampled per queue, re-balancing, safe hand-over. */
#include <errno.h>
#include <string.h>

#include <glib.h>
#include <rte_cycles.h>

#include "vnicd/datapath.h"
#include "vnicd/log.h"
#include "vnicd/rxq_sched.h"
#include "worker.h"

#define REBALANCE_MIN_LOAD 10 /* % of a core the busiest worker must have been busy */

void vn_dp_rxq_config(struct vn_dp *dp, enum vn_rxq_assign mode, unsigned gain_pct)
{
	dp->assign = mode;
	dp->gain_pct = gain_pct;
}

static unsigned port_rxqs(const struct vn_port *p)
{
	return p->nr_rxq < VN_MAX_QUEUES ? p->nr_rxq : VN_MAX_QUEUES;
}

void vn_dp_rxq_placement(struct vn_dp *dp, const struct vn_dp_table *t)
{
	uint64_t wl[VN_MAX_WORKERS] = {0};
	unsigned wq[VN_MAX_WORKERS] = {0};

	for (unsigned s = 0; s < VN_MAX_PORTS_HARD; s++) {
		const struct vn_port *p = s < t->nr_slots ? t->slots[s].port : NULL;
		if (dp->owner_port[s] != p) { /* a port came, went or took a freed slot */
			memset(dp->owner[s], 0, sizeof(dp->owner[s]));
			dp->owner_port[s] = p;
		}
		for (unsigned q = 0; p && q < port_rxqs(p); q++) {
			unsigned o = dp->owner[s][q] & ~RXQ_HELD;
			if (o && o <= dp->nr_workers) {
				wl[o - 1] += dp->smp[s][q].cycles;
				wq[o - 1]++;
			}
		}
	}
	for (unsigned s = 0; s < t->nr_slots; s++) {
		const struct vn_port *p = t->slots[s].port;
		for (unsigned q = 0; p && q < port_rxqs(p); q++) {
			unsigned w;
			if (dp->owner[s][q])
				continue;
			w = vn_rxq_place(wl, wq, dp->nr_workers, dp->assign);
			dp->owner[s][q] = (uint8_t)(w + 1);
			wq[w]++;
		}
	}
}

struct rxq_move {
	uint16_t slot, q;
	unsigned to;
};

/*
 * Hand the queues of @mv over: published on no worker first, then, once every worker is
 * past that table (the old one no longer polls them nor sleeps armed on them: it stores the
 * generation only at the top of its loop), on their new workers. Frames wait in the queues
 * meanwhile. Return: 0, or -ETIMEDOUT (queues left on their old workers).
 */
static int handover(struct vn_dp *dp, const struct rxq_move *mv, unsigned n)
{
	bool ok;

	for (unsigned i = 0; i < n; i++)
		dp->owner[mv[i].slot][mv[i].q] |= RXQ_HELD;
	vn_dp_commit(dp); /* wakes sleeping workers, waits for RCU quiescence */
	ok = vn_dp_workers_past(dp, __atomic_load_n(&dp->gen, __ATOMIC_ACQUIRE));
	for (unsigned i = 0; i < n; i++) {
		uint8_t *o = &dp->owner[mv[i].slot][mv[i].q];
		*o = ok ? (uint8_t)(mv[i].to + 1) : (uint8_t)(*o & ~RXQ_HELD);
	}
	vn_dp_commit(dp);
	if (!ok) {
		dp->rxq_st.handover_timeouts++;
		VN_WARN("rx queue hand-over: a worker did not let go in time; queues stay");
		return -ETIMEDOUT;
	}
	return 0;
}

int vn_dp_rxq_move(struct vn_dp *dp, uint16_t slot, uint16_t q, unsigned worker)
{
	int cur = vn_dp_rxq_worker(dp, slot, q);
	struct rxq_move mv = {slot, q, worker};

	if (worker >= dp->nr_workers)
		return -EINVAL;
	if (cur < 0)
		return -ENOENT;
	if ((unsigned)cur == worker)
		return 0;
	return handover(dp, &mv, 1);
}

int vn_dp_rxq_worker(const struct vn_dp *dp, uint16_t slot, uint16_t q)
{
	unsigned o;

	if (slot >= VN_MAX_PORTS_HARD || q >= VN_MAX_QUEUES || !dp->owner_port[slot] ||
	    q >= port_rxqs(dp->owner_port[slot]))
		return -1;
	o = dp->owner[slot][q] & ~RXQ_HELD;
	return o ? (int)o - 1 : -1;
}

/* Loads since the last sample: the growth of the workers' per-queue sums. */
static void sample(struct vn_dp *dp)
{
	uint64_t now = rte_rdtsc();

	dp->rxq_st.interval_cycles = now - dp->smp_tsc;
	dp->smp_tsc = now;
	for (unsigned s = 0; s < VN_MAX_PORTS_HARD; s++) {
		for (unsigned q = 0; q < VN_MAX_QUEUES; q++) {
			struct vn_rxq_sample *m = &dp->smp[s][q];
			uint64_t c = 0, f = 0;
			for (unsigned i = 0; i < dp->nr_workers; i++) {
				c += dp->w[i]->rxq[s][q].cycles;
				f += dp->w[i]->rxq[s][q].frames;
			}
			m->cycles = c - m->prev_cycles;
			m->frames = f - m->prev_frames;
			m->prev_cycles = c;
			m->prev_frames = f;
		}
	}
}

/* The published queues with their loads into @qs (room for @max). Return: how many. */
static unsigned placed_loads(struct vn_dp *dp, struct vn_rxq_load *qs, unsigned max)
{
	const struct vn_dp_table *t = vn_dp_table(dp);
	unsigned n = 0;

	for (unsigned w = 0; t && w < dp->nr_workers; w++)
		for (unsigned i = 0; i < t->nr_rxqs[w] && n < max; i++) {
			const struct vn_dp_rxq *r = &t->rxqs[w][i];
			qs[n++] = (struct vn_rxq_load){r->port->slot, r->q, w,
						       dp->smp[r->port->slot][r->q].cycles};
		}
	return n;
}

/* Move queues when the loads are uneven enough. Return: queues moved. */
static unsigned rebalance(struct vn_dp *dp)
{
	enum { MAX = 1024 };
	g_autofree struct vn_rxq_load *qs = g_new(struct vn_rxq_load, MAX);
	g_autofree struct vn_rxq_load *was = g_new(struct vn_rxq_load, MAX);
	struct rxq_move mv[64];
	unsigned n = placed_loads(dp, qs, MAX), nmv = 0;
	uint64_t max = vn_rxq_max_load(qs, n, dp->nr_workers);

	if (max * 100 < (uint64_t)REBALANCE_MIN_LOAD * dp->rxq_st.interval_cycles)
		return 0;
	memcpy(was, qs, sizeof(*qs) * n);
	if (!vn_rxq_rebalance(qs, n, dp->nr_workers, dp->gain_pct))
		return 0;
	for (unsigned i = 0; i < n && nmv < G_N_ELEMENTS(mv); i++)
		if (qs[i].worker != was[i].worker)
			mv[nmv++] = (struct rxq_move){qs[i].slot, qs[i].q, qs[i].worker};
	for (unsigned i = 0; i < nmv; i++)
		VN_INFO("rx queue %s/%u: worker %d -> %u (load %.0f%% of a core)",
			dp->owner_port[mv[i].slot]->name, mv[i].q,
			vn_dp_rxq_worker(dp, mv[i].slot, mv[i].q), mv[i].to,
			100.0 * vn_dp_rxq_load(dp, mv[i].slot, mv[i].q, NULL));
	if (handover(dp, mv, nmv) < 0)
		return 0;
	dp->rxq_st.rebalances++;
	dp->rxq_st.queues_moved += nmv;
	return nmv;
}

unsigned vn_dp_rxq_tick(struct vn_dp *dp, bool rebalance_now)
{
	sample(dp);
	if (!rebalance_now || dp->assign != VN_RXQ_CYCLES || dp->nr_workers < 2)
		return 0;
	return rebalance(dp);
}

double vn_dp_rxq_load(const struct vn_dp *dp, uint16_t slot, uint16_t q, double *frames_ps)
{
	const struct vn_rxq_sample *m;
	double iv = (double)dp->rxq_st.interval_cycles;

	if (slot >= VN_MAX_PORTS_HARD || q >= VN_MAX_QUEUES || iv <= 0) {
		if (frames_ps)
			*frames_ps = 0;
		return 0;
	}
	m = &dp->smp[slot][q];
	if (frames_ps)
		*frames_ps = (double)m->frames * (double)rte_get_tsc_hz() / iv;
	return (double)m->cycles / iv;
}

double vn_dp_worker_load(const struct vn_dp *dp, unsigned w)
{
	const struct vn_dp_table *t = __atomic_load_n(&dp->table, __ATOMIC_ACQUIRE);
	double sum = 0;

	for (unsigned i = 0; t && w < dp->nr_workers && i < t->nr_rxqs[w]; i++)
		sum += vn_dp_rxq_load(dp, t->rxqs[w][i].port->slot, t->rxqs[w][i].q, NULL);
	return sum;
}

void vn_dp_rxq_stats(const struct vn_dp *dp, struct vn_dp_rxq_stats *out)
{
	*out = dp->rxq_st;
}

/* SPDX-License-Identifier: MIT */
/*
 * Data-path contract: worker threads that poll port rx queues, run the frames through the
 * pipeline (pipeline.h) and transmit in bursts; the control thread publishes immutable
 * tables of per-slot facts to them with RCU (rte_rcu_qsbr) and sums their per-port
 * counters. Nothing here names a network kind.
 */
#ifndef VNICD_DATAPATH_H
#define VNICD_DATAPATH_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_rcu_qsbr.h>

#include "vnicd/port.h"
#include "vnicd/pipeline.h"
#include "vnicd/rxq_sched.h"
#include "vnicd/stats.h"

struct vn_net;
struct vn_capture;
struct vn_port_policy;
struct vn_tun_port;
struct vn_vtep;

/**
 * struct vn_slot - what the data path knows of one port slot: the port and the facts that
 * the network kinds, the policy and capture attach to it. Part of the published table, so
 * immutable for the workers; the control thread stages changes (vn_dp_slot_set()) and
 * publishes them together (vn_dp_commit()).
 */
struct vn_slot {
	struct vn_port *port;		  /* NULL: free */
	struct vn_net *net;		  /* the network it belongs to */
	const struct vn_port_policy *pol; /* its policy, or NULL (transparent, no checks) */
	struct vn_capture *cap;		  /* capture of its frames, or NULL */
	uint8_t locality;		  /* enum vn_locality: guests local, uplinks external */
	uint8_t relay;			  /* frames may go back out of this port (a bridge
					     port's hairpin flag) */
	uint8_t kmode;			  /* the network kind's own byte (macvtap: the mode) */
	struct vn_tun_port *tun; /* a remote VTEP: frames to it are encapsulated (overlay.h) */
	struct vn_vtep *vtep;	 /* frames received here may be tunnel traffic to this local
				    VTEP: decapsulated before the network sees them */
	const struct vn_vlan_map *vmap; /* frames tagged per their segment (pipeline.h) */
};

/** struct vn_dp_rxq - one rx queue a worker polls. */
struct vn_dp_rxq {
	struct vn_port *port;
	uint16_t q;
};

/**
 * struct vn_dp_table - what the workers see; immutable once published.
 * Built by the control thread from the staged slots, freed after RCU quiescence.
 */
struct vn_dp_table {
	uint64_t gen;	   /* generation: each table built gets a higher one */
	uint16_t nr_slots; /* highest used slot + 1 */
	unsigned nr_pol;   /* slots with a policy */
	unsigned nr_vmap;  /* slots with a VLAN map */
	struct vn_slot slots[VN_MAX_PORTS_HARD];  /* by slot */
	const uint16_t *flood[VN_MAX_PORTS_HARD]; /* slots of the port's network, incl. itself */
	uint16_t flood_n[VN_MAX_PORTS_HARD];
	unsigned nr_workers;
	struct vn_dp_rxq *rxqs[16]; /* per worker */
	unsigned nr_rxqs[16];
	uint16_t *members; /* storage behind flood[] */
};

struct vn_dp;
struct vn_worker;

/**
 * vn_dp_create() - allocate the data path for @nr_workers workers (1..16).
 * @idle_sleep_us: longest sleep of an idle worker (0 = always busy-poll).
 * Return: the data path, or NULL (errno set). Thread: control.
 */
struct vn_dp *vn_dp_create(unsigned nr_workers, unsigned idle_sleep_us);

/**
 * vn_dp_set_idle_poll() - let idle workers keep polling up to @idle_poll_us before they sleep,
 * adapted per worker (0 = off: they sleep after 2048 empty polls). Thread: control, before
 * the workers start.
 */
void vn_dp_set_idle_poll(struct vn_dp *dp, unsigned idle_poll_us);

/** vn_dp_worker_poll_window_us() - Return: worker @id's adaptive poll window now (µs). */
unsigned vn_dp_worker_poll_window_us(const struct vn_dp *dp, unsigned id);

/** vn_dp_free() - free @dp after the workers returned. Frees the published table. */
void vn_dp_free(struct vn_dp *dp);

/** vn_dp_qsbr() - Return: the workers' RCU variable (for FDBs and port kinds). */
struct rte_rcu_qsbr *vn_dp_qsbr(struct vn_dp *dp);

/** vn_dp_nr_workers() - Return: the number of workers. */
unsigned vn_dp_nr_workers(const struct vn_dp *dp);

/**
 * vn_dp_slot() - Return: the staged facts of slot @slot (what the next commit publishes).
 * Thread: control.
 */
const struct vn_slot *vn_dp_slot(const struct vn_dp *dp, uint16_t slot);

/**
 * vn_dp_slot_set() - stage @s (a copy is kept; NULL or s->port NULL: the slot is free) as the
 * facts of slot @slot; workers see it after vn_dp_commit(). The policy in @s must be the one
 * staged already (vn_dp_policy_set() changes policies). Thread: control.
 */
void vn_dp_slot_set(struct vn_dp *dp, uint16_t slot, const struct vn_slot *s);

/**
 * vn_dp_commit() - publish a table of the staged slots (rx queues on the workers they are
 * placed on, new ones placed per vn_dp_rxq_config(); flood lists per network), wait until no
 * worker uses the previous one, and free it.
 * Thread: control.
 */
void vn_dp_commit(struct vn_dp *dp);

/** vn_dp_table() - Return: the published table (tests drive the pipeline with it). */
const struct vn_dp_table *vn_dp_table(struct vn_dp *dp);

/** vn_dp_synchronize() - wait until every worker passed a quiescent state. Thread: any non-worker.
 */
void vn_dp_synchronize(struct vn_dp *dp);

/**
 * vn_dp_worker_run() - the loop of worker @id until vn_dp_stop(); for rte_eal_remote_launch.
 * @arg: the struct vn_worker * from vn_dp_worker(). Return: 0.
 */
int vn_dp_worker_run(void *arg);

/** vn_dp_worker() - Return: worker @id's context. */
struct vn_worker *vn_dp_worker(struct vn_dp *dp, unsigned id);

/** vn_dp_stop() - ask every worker to return. Thread: control. */
void vn_dp_stop(struct vn_dp *dp);

/**
 * vn_dp_switch_burst() - run @n frames received on slot @in by worker @w through the
 * pipeline of table @t (pipeline.c) and flush what it buffered. Takes ownership of @pkts.
 * Exposed so that tests can drive the pipeline without ports. Thread: that worker.
 */
void vn_dp_switch_burst(struct vn_worker *w, const struct vn_dp_table *t, uint16_t in,
			struct rte_mbuf **pkts, uint16_t n, uint64_t now);

/**
 * vn_dp_port_counters() - sum every worker's counters of slot @slot into @out (overwrites).
 * Thread: control.
 */
void vn_dp_port_counters(struct vn_dp *dp, uint16_t slot, struct vn_port_counters *out);

/*
 * A busy iteration that takes longer than this was, most likely, descheduled (one burst
 * from every queue takes microseconds): counted apart so that busy_cycles - stall_cycles
 * is the worker's own cost even when it shares its core (a benchmark on a small host).
 */
#define VN_DP_STALL_US 500

/** struct vn_dp_worker_stats - how a worker spends its time. */
struct vn_dp_worker_stats {
	uint64_t loops;	       /* poll iterations */
	uint64_t busy;	       /* iterations that moved at least one frame */
	uint64_t busy_cycles;  /* TSC cycles those iterations took (rte_get_tsc_hz() per second) */
	uint64_t frames;       /* frames they moved (received from the ports) */
	uint64_t stalls;       /* of those iterations, the ones over VN_DP_STALL_US: preempted */
	uint64_t stall_cycles; /* TSC cycles the stalls took (part of busy_cycles) */
	uint64_t sleeps;       /* times it slept for lack of work */
	uint64_t wake_errors;  /* failed eventfd reads/writes (should stay 0) */
};

/**
 * vn_dp_wake() - wake every sleeping worker so it re-reads the table and re-arms its
 * queues (a device connected, a queue was enabled). Thread: any.
 */
void vn_dp_wake(struct vn_dp *dp);

/** vn_dp_worker_stats() - read worker @id's loop statistics. Thread: control. */
void vn_dp_worker_stats(struct vn_dp *dp, unsigned id, struct vn_dp_worker_stats *out);

/**
 * vn_dp_capture_set() - make workers copy slot @slot's frames (both directions) into @cap,
 * or stop with NULL: staged and committed at once (waits until no worker uses the old
 * table). Thread: control.
 */
void vn_dp_capture_set(struct vn_dp *dp, uint16_t slot, struct vn_capture *cap);

/** vn_dp_capture_get() - Return: the capture attached to @slot, or NULL. Thread: control. */
struct vn_capture *vn_dp_capture_get(struct vn_dp *dp, uint16_t slot);

/**
 * vn_dp_policy_set() - make @pol (NULL: none) the policy workers apply to slot @slot; takes
 * ownership of @pol. It is staged and committed at once; the previous one is freed once no
 * worker can see it, so `port set` applies while traffic flows. Thread: control.
 */
void vn_dp_policy_set(struct vn_dp *dp, uint16_t slot, struct vn_port_policy *pol);

/** vn_dp_policy_get() - Return: the policy of slot @slot, or NULL. Thread: control. */
const struct vn_port_policy *vn_dp_policy_get(struct vn_dp *dp, uint16_t slot);

/**
 * vn_dp_inject() - run frame @m through the pipeline as if @port (published) had received
 * it: ingress policy, learning, forwarding, counted as its rx (the control thread's own
 * frames, e.g. a migrated guest's announcement). Worker 0 takes it on its next poll (woken).
 * Takes ownership of @m. Return: 0, or -ENOBUFS (queue full: @m freed, counted).
 * Thread: control.
 */
int vn_dp_inject(struct vn_dp *dp, const struct vn_port *port, struct rte_mbuf *m);

/** struct vn_dp_rxq_stats - what rx queue placement did. */
struct vn_dp_rxq_stats {
	uint64_t rebalances;	    /* re-balancings that moved queues */
	uint64_t queues_moved;	    /* queues they moved */
	uint64_t handover_timeouts; /* moves given up: a worker did not let go in time */
	uint64_t interval_cycles;   /* TSC cycles of the last load sample's interval */
};

/**
 * vn_dp_rxq_config() - how new rx queues are placed (@mode) and the least gain, in percent
 * of the busiest worker's load, for which vn_dp_rxq_tick() moves queues. Thread: control.
 */
void vn_dp_rxq_config(struct vn_dp *dp, enum vn_rxq_assign mode, unsigned gain_pct);

/**
 * vn_dp_rxq_tick() - sample every rx queue's load since the last tick and, with
 * @rebalance in the cycles mode, move queues from busy workers to idle ones
 * (vn_rxq_rebalance()) when the busiest worker was busy at least 10% of the interval.
 * A queue is handed over in two commits: first published on no worker, and only once its
 * old worker is past that table (not polling it, not sleeping armed on it) on the new
 * one, so no two workers poll a queue at once; its frames wait in the queue meanwhile.
 * Return: queues moved. Thread: control.
 */
unsigned vn_dp_rxq_tick(struct vn_dp *dp, bool rebalance);

/**
 * vn_dp_rxq_move() - hand rx queue @q of slot @slot to worker @worker as vn_dp_rxq_tick()
 * does. Return: 0, -ENOENT (no such placed queue), -EINVAL (no such worker), -ETIMEDOUT
 * (its worker did not let go in time: left where it was). Thread: control.
 */
int vn_dp_rxq_move(struct vn_dp *dp, uint16_t slot, uint16_t q, unsigned worker);

/**
 * vn_dp_rxq_worker() - Return: the worker rx queue @q of slot @slot is placed on, or -1.
 * Thread: control.
 */
int vn_dp_rxq_worker(const struct vn_dp *dp, uint16_t slot, uint16_t q);

/**
 * vn_dp_rxq_load() - the share of a core rx queue @q of slot @slot took over the last
 * sampled interval (0..1), and its frames a second in @frames_ps (may be NULL).
 * Thread: control.
 */
double vn_dp_rxq_load(const struct vn_dp *dp, uint16_t slot, uint16_t q, double *frames_ps);

/** vn_dp_worker_load() - Return: the sum of worker @w's queues' loads (0..1). Thread: control. */
double vn_dp_worker_load(const struct vn_dp *dp, unsigned w);

/** vn_dp_rxq_stats() - Return in @out: what placement did. Thread: control. */
void vn_dp_rxq_stats(const struct vn_dp *dp, struct vn_dp_rxq_stats *out);

/** vn_dp_now() - Return: the data path's clock, in whole seconds (FDB time). */
uint64_t vn_dp_now(void);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Data-path contract: worker threads that poll port rx queues, switch frames through the
 * networks' bridges, and transmit in bursts; the control thread publishes immutable tables
 * to them with RCU (rte_rcu_qsbr) and sums their per-port counters.
 */
#ifndef VNICD_DATAPATH_H
#define VNICD_DATAPATH_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_rcu_qsbr.h>

#include "vnicd/port.h"
#include "vnicd/stats.h"

struct vn_fdb;

/**
 * struct vn_net - a named network (an L2 domain). Frames never cross networks.
 * Owned by the control thread; workers reach it through published ports only.
 */
struct vn_net {
	char name[VN_NAME_MAX];
	uint16_t id;
	char type[16];		/* "bridge" or "macvtap" */
	struct vn_fdb *fdb;	/* bridge networks; macvtap networks: the ports' MACs (static) */
	unsigned nr_ports;	/* including its uplink */
	uint8_t fwd;		/* enum vn_net_fwd (uplink.h): learning bridge or macvtap rules */
	uint8_t mode;		/* macvtap: enum vn_mvt_mode of its ports */
	uint8_t hairpin;	/* macvtap: enum vn_hairpin; atomic (`net set` changes it live) */
	bool nopromisc;		/* passthru: leave the uplink's promiscuity alone */
	struct vn_port *uplink; /* its uplink (also one of its ports), or NULL */
};

/** struct vn_dp_rxq - one rx queue a worker polls. */
struct vn_dp_rxq {
	struct vn_port *port;
	uint16_t q;
};

/**
 * struct vn_dp_table - what the workers see; immutable once published.
 * Built by the control thread (vn_dp_table_build()), freed after RCU quiescence.
 */
struct vn_dp_table {
	uint16_t nr_slots;			  /* highest used slot + 1 */
	struct vn_port *ports[VN_MAX_PORTS_HARD]; /* by slot; NULL = free */
	const uint16_t *flood[VN_MAX_PORTS_HARD]; /* slots of the port's network, incl. itself */
	uint16_t flood_n[VN_MAX_PORTS_HARD];
	uint8_t flood_loc[VN_MAX_PORTS_HARD]; /* farthest locality a flood from the port reaches */
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

/** vn_dp_free() - free @dp after the workers returned. Frees the published table. */
void vn_dp_free(struct vn_dp *dp);

/** vn_dp_qsbr() - Return: the workers' RCU variable (for FDBs and port kinds). */
struct rte_rcu_qsbr *vn_dp_qsbr(struct vn_dp *dp);

/** vn_dp_nr_workers() - Return: the number of workers. */
unsigned vn_dp_nr_workers(const struct vn_dp *dp);

/**
 * vn_dp_table_build() - build a table from the live ports (@ports indexed by slot, @n
 * slots), spreading their rx queues over the workers. Return: the new table (g_free'able
 * through vn_dp_table_free()). Thread: control.
 */
struct vn_dp_table *vn_dp_table_build(struct vn_dp *dp, struct vn_port *const *ports, unsigned n);

/** vn_dp_table_free() - free a table no worker can see any more. */
void vn_dp_table_free(struct vn_dp_table *t);

/**
 * vn_dp_publish() - make @t the workers' table, wait until no worker uses the previous
 * one, and free it. Takes ownership of @t. Thread: control.
 */
void vn_dp_publish(struct vn_dp *dp, struct vn_dp_table *t);

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
 * vn_dp_switch_burst() - switch @n frames received on @in by worker @w through table @t:
 * learn, look up, flood, buffer per destination, and flush. Takes ownership of @pkts.
 * Exposed so that tests can drive the pipeline without ports. Thread: that worker.
 */
void vn_dp_switch_burst(struct vn_worker *w, const struct vn_dp_table *t, struct vn_port *in,
			struct rte_mbuf **pkts, uint16_t n, uint64_t now);

/**
 * vn_dp_port_counters() - sum every worker's counters of slot @slot into @out (overwrites).
 * Thread: control.
 */
void vn_dp_port_counters(struct vn_dp *dp, uint16_t slot, struct vn_port_counters *out);

/** struct vn_dp_worker_stats - how a worker spends its time. */
struct vn_dp_worker_stats {
	uint64_t loops;	      /* poll iterations */
	uint64_t busy;	      /* iterations that moved at least one frame */
	uint64_t busy_cycles; /* TSC cycles those iterations took (rte_get_tsc_hz() per second) */
	uint64_t frames;      /* frames they moved (received from the ports) */
	uint64_t sleeps;      /* times it slept for lack of work */
	uint64_t wake_errors; /* failed eventfd reads/writes (should stay 0) */
};

/**
 * vn_dp_wake() - wake every sleeping worker so it re-reads the table and re-arms its
 * queues (a device connected, a queue was enabled). Thread: any.
 */
void vn_dp_wake(struct vn_dp *dp);

/** vn_dp_worker_stats() - read worker @id's loop statistics. Thread: control. */
void vn_dp_worker_stats(struct vn_dp *dp, unsigned id, struct vn_dp_worker_stats *out);

struct vn_capture;

/**
 * vn_dp_capture_set() - make workers copy slot @slot's frames (both directions) into @cap,
 * or stop with NULL; clearing waits until no worker uses the old capture. Thread: control.
 */
void vn_dp_capture_set(struct vn_dp *dp, uint16_t slot, struct vn_capture *cap);

/** vn_dp_capture_get() - Return: the capture attached to @slot, or NULL. */
struct vn_capture *vn_dp_capture_get(struct vn_dp *dp, uint16_t slot);

struct vn_port_policy;

/**
 * vn_dp_policy_set() - make @pol (NULL: none) the policy workers apply to slot @slot; takes
 * ownership of @pol. The previous one is freed once no worker can see it (this waits for a
 * quiescent state), so `port set` applies while traffic flows. While no slot has a policy
 * the workers take the plain switching path. Thread: control.
 */
void vn_dp_policy_set(struct vn_dp *dp, uint16_t slot, struct vn_port_policy *pol);

/** vn_dp_policy_get() - Return: the policy of slot @slot, or NULL. Thread: control. */
const struct vn_port_policy *vn_dp_policy_get(struct vn_dp *dp, uint16_t slot);

/* ---- for forwarding modules other than the bridge (uplink.h: macvtap); worker thread ---- */

struct vn_vlan_cls;

/** vn_dp_worker_ctr() - Return: worker @w's counters of slot @slot. */
struct vn_port_counters *vn_dp_worker_ctr(struct vn_worker *w, uint16_t slot);

/**
 * vn_dp_egress_form() - Return: how frame @m, classified @cl, would leave slot @slot: 0
 * untagged, 1 tagged, -1 not at all (the port does not carry its segment).
 */
int vn_dp_egress_form(struct vn_worker *w, uint16_t slot, const struct vn_vlan_cls *cl,
		      const struct rte_mbuf *m);

/**
 * vn_dp_deliver() - send frame @m, classified @cl, to those of the @nd slots @dst that carry
 * its segment, except slot @skip (-1: none), each counted as coming from locality @txloc:
 * tagged or untagged per destination, one buffer per form (a copy only when both forms are
 * needed), buffered per destination. Buffers that cannot be had are counted as no_mbuf in
 * @c. Takes one reference of @m (freed when it reaches nobody).
 * Return: 1 + the farthest locality it went to, or 0 when no destination carries it.
 */
int vn_dp_deliver(struct vn_worker *w, const struct vn_dp_table *t, struct vn_port_counters *c,
		  const uint16_t *dst, uint16_t nd, int skip, struct rte_mbuf *m,
		  const struct vn_vlan_cls *cl, uint8_t cast, uint8_t txloc);

/** vn_dp_now() - Return: the data path's clock, in whole seconds (FDB time). */
uint64_t vn_dp_now(void);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Frame trace contract (`vnicctl trace`): one synthetic frame run through the real pipeline
 * in a dry-run mode, every decision recorded in order with its reason.
 *
 * How it stays the real code path: the trace runs vn_dp_switch_burst() itself on a scratch
 * worker (its own counters and tx buffers, never summed into the daemon's) whose
 * struct vn_worker.trace points at a struct vn_trace. The pipeline and the network kinds
 * test that pointer once per burst (or once per flush) and run a second copy of their own
 * code, made by the compiler from the same always-inline body with the trace pointer as a
 * parameter; in the fast-path copy it is the constant NULL and every note vanishes. In the
 * traced copy the few side effects are redirected:
 *   - FDB learning becomes a lookup that says what learning would do (vn_fwd_learn());
 *   - meters and storm control run on a private copy of their buckets (no token taken);
 *   - transmission is replaced by recording the frame as it would leave (vn_trace_tx());
 *   - capture and the overlay's global drop counters are skipped;
 *   - counters go to the scratch worker's array, from which the drop reasons are read.
 *
 * Threads: vn_dp_trace() runs on the control thread, which owns the published table and is
 * the only thread that deletes FDB entries or frees tables, so its lock-free FDB lookups and
 * table reads are safe while workers forward; meters are copied under their lock.
 */
#ifndef VNICD_TRACE_H
#define VNICD_TRACE_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_branch_prediction.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "vnicd/stats.h"

#define VN_TRACE_MAX_STEPS 64
#define VN_TRACE_MAX_DESTS 64
#define VN_TRACE_REASON_MAX 240
#define VN_TRACE_MAX_ENC 16

struct vn_dp;
struct vn_dp_table;
struct vn_fdb;
struct vn_meter;
struct vn_storm;
struct vn_tun_tmpl;

/** struct vn_trace_step - one decision: what was decided (@step), how, and why. */
struct vn_trace_step {
	char step[16];	  /* "admission", "parse", "vlan", "antispoof", "meter", "forward", ... */
	char verdict[16]; /* "pass", "drop", "flood", "unicast", "tagged", ... */
	char reason[VN_TRACE_REASON_MAX];
};

/** struct vn_trace_dest - one frame as it would leave a port. */
struct vn_trace_dest {
	uint16_t slot;
	int32_t vlan;  /* VID of its outer tag, -1: untagged */
	uint16_t tpid; /* of that tag */
	uint32_t len;  /* bytes on the wire */
	bool encap;    /* encapsulated for remote VTEP @via */
	uint8_t encap_type;
	uint16_t via;
	uint32_t vni;
	char outer_src[46], outer_dst[46];
};

/** struct vn_trace - the record of one trace (control thread; filled by the pipeline). */
struct vn_trace {
	unsigned nsteps;
	bool truncated; /* more steps than VN_TRACE_MAX_STEPS */
	struct vn_trace_step steps[VN_TRACE_MAX_STEPS];
	unsigned ndest;
	struct vn_trace_dest dest[VN_TRACE_MAX_DESTS];
	uint64_t drops[VN_DROP__MAX]; /* what the pipeline counted, by reason */
	unsigned nenc;		      /* frames encapsulated, until they leave the uplink */
	struct {
		const struct rte_mbuf *m;
		struct vn_trace_dest d;
	} enc[VN_TRACE_MAX_ENC];
	const struct vn_dp_table *t;
	bool learned; /* a learn that would succeed: later look-ups of it find it (@lport) */
	uint16_t lseg, lport;
	struct rte_ether_addr lmac;
	uint8_t scratch[1024] __rte_cache_aligned; /* a meter's or storm bucket's private copy */
};

/**
 * vn_trace_note() - record decision @step with @verdict and a printf-style reason.
 * Thread: the one running the trace.
 */
void vn_trace_note(struct vn_trace *tr, const char *step, const char *verdict, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** VN_TRACE() - vn_trace_note() when @tr is not NULL (a constant NULL in the fast path). */
#define VN_TRACE(tr, ...)                                                                          \
	do {                                                                                       \
		if (unlikely((tr) != NULL))                                                        \
			vn_trace_note((tr), __VA_ARGS__);                                          \
	} while (0)

/** vn_trace_slot_name() - Return: the name of the port at slot @slot of @tr's table. */
const char *vn_trace_slot_name(const struct vn_trace *tr, uint16_t slot);

/**
 * vn_trace_learn() - what vn_fdb_learn() of @mac in @seg on slot @port at @now would do
 * (vn_fdb_learn_peek()), noted; the FDB is not changed, but a learn that would succeed is
 * remembered for vn_trace_fdb_lookup(). Return: as vn_fdb_learn().
 */
int vn_trace_learn(struct vn_trace *tr, struct vn_fdb *fdb, uint16_t seg,
		   const struct rte_ether_addr *mac, uint16_t port, uint64_t now);

/**
 * vn_trace_fdb_lookup() - vn_fdb_lookup() as it would answer after the learn the trace only
 * remembered (a frame to its own source). Return: as vn_fdb_lookup().
 */
int vn_trace_fdb_lookup(struct vn_trace *tr, struct vn_fdb *fdb, uint16_t seg,
			const struct rte_ether_addr *mac);

/** vn_trace_lookup() - note the FDB lookup of @mac in @seg that found slot @dst (-1: none). */
void vn_trace_lookup(struct vn_trace *tr, const char *table, uint16_t seg,
		     const struct rte_ether_addr *mac, int dst);

/**
 * vn_trace_meter() / vn_trace_storm() - Return: a private copy of @mt / @st (taken under the
 * meter's lock) for the pipeline to police with instead, so that no token is taken.
 */
struct vn_meter *vn_trace_meter(struct vn_trace *tr, struct vn_meter *mt);
struct vn_storm *vn_trace_storm(struct vn_trace *tr, struct vn_storm *st);

/** vn_trace_parse() - note what the pipeline parsed of frame @m (@md: its metadata). */
struct vn_meta;
void vn_trace_parse(struct vn_trace *tr, const struct rte_mbuf *m, const struct vn_meta *md);

struct vn_port_policy;
/** vn_trace_spoof() - note the anti-spoofing verdict @pass of @p on @m (@md), and which check. */
void vn_trace_spoof(struct vn_trace *tr, const struct vn_port_policy *p, const struct rte_mbuf *m,
		    const struct vn_meta *md, bool pass);

struct vn_fwd;
/**
 * vn_trace_fwd() - note the network kind's decision @f for frame @m (received on slot @in)
 * and, per candidate destination, the egress form the delivery stage will pick.
 */
void vn_trace_fwd(struct vn_trace *tr, uint16_t in, const struct rte_mbuf *m,
		  const struct vn_fwd *f);

/**
 * vn_trace_encap() - frame @e is @m encapsulated for remote slot @via with VNI @vni using
 * @tmpl: remembered until it leaves (vn_trace_tx()), noted.
 */
void vn_trace_encap(struct vn_trace *tr, const struct rte_mbuf *e, uint16_t via, uint32_t vni,
		    const struct vn_tun_tmpl *tmpl);

/**
 * vn_trace_tx() - instead of the port's tx_burst: record the @n frames for slot @slot as
 * destinations (their tag, length, encapsulation) and free them, or, when the port's link
 * is down, take none (the caller counts them as link_down, as a real burst would be).
 * Return: frames taken.
 */
uint16_t vn_trace_tx(struct vn_trace *tr, uint16_t slot, struct rte_mbuf **pkts, uint16_t n);

/**
 * vn_dp_trace() - run frame @m (ownership taken) through the pipeline as received on slot
 * @slot of @dp's published table, in dry-run mode, recording into @tr (zeroed here).
 * Return: 0, -ENODEV when @slot holds no published port, or -ENOMEM. Thread: control.
 */
int vn_dp_trace(struct vn_dp *dp, uint16_t slot, struct rte_mbuf *m, struct vn_trace *tr);

#endif

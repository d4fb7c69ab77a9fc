/* SPDX-License-Identifier: MIT */
/*
 * Bridge contract: the forwarding database (FDB) of an 802.1D learning bridge, keyed by
 * (segment, MAC) on rte_hash, with aging, MAC moves, static entries and a size limit.
 *
 * Threads: learn/lookup run lock-free on worker threads (rte_hash RW_CONCURRENCY_LF, with
 * concurrent writers serialised inside rte_hash); add_static/del/age/flush/walk run on the
 * control thread. Deleted slots are reclaimed through the RCU QSBR variable given at
 * creation, after every worker passed a quiescent state.
 */
#ifndef VNICD_BRIDGE_H
#define VNICD_BRIDGE_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_rcu_qsbr.h>

struct vn_fdb;

/** struct vn_fdb_key - an FDB key: segment (VLAN) and MAC, 8 bytes as rte_hash compares them. */
struct vn_fdb_key {
	uint16_t seg;
	struct rte_ether_addr mac;
};
_Static_assert(sizeof(struct vn_fdb_key) == 8, "an FDB key is 8 bytes, no padding");

/* Keys one vn_fdb_lookup_bulk() takes at most (rte_hash's RTE_HASH_LOOKUP_BULK_MAX). */
#define VN_FDB_BULK 64

/** struct vn_fdb_stats - counters of one FDB (read on the control thread). */
struct vn_fdb_stats {
	uint64_t entries; /* current number of entries */
	uint64_t learned; /* new dynamic entries */
	uint64_t moved;	  /* dynamic entries whose port changed */
	uint64_t aged;	  /* dynamic entries removed by aging */
	uint64_t full;	  /* learn/add refused because the table is at its limit */
};

/** struct vn_fdb_port_stats - one port's learning in one FDB (read on the control thread). */
struct vn_fdb_port_stats {
	uint64_t entries;   /* dynamic entries on the port */
	uint64_t refused;   /* learns refused: the port at its limit (fdb_max_per_port) */
	uint64_t throttled; /* learns refused: over the port's rate (fdb_learn_rate) */
};

/** struct vn_fdb_entry - one entry, as walked or looked up on the control thread. */
struct vn_fdb_entry {
	uint16_t seg;
	struct rte_ether_addr mac;
	uint16_t port;
	bool is_static;
	uint64_t age; /* now - last seen, in the caller's time unit (at most one fold late) */
};

/**
 * vn_fdb_create() - make an empty FDB holding at most @max_entries entries.
 * @name: unique among live FDBs (rte_hash name); @qsbr: the workers' RCU variable, or NULL
 * when a single thread uses the table (tests). Thread: control.
 * Return: the FDB, or NULL (errno set) on failure.
 *
 * Last-seen times: inserts and moves set an entry's time; a refresh of a known entry (a
 * worker's vn_fdb_learn() or vn_fdb_learn_res() that finds it on its port) only marks it, a
 * bit in a bitmap, and vn_fdb_age() and vn_fdb_walk() first give every entry marked since the
 * last of them their @now: an entry's time is at most one such fold late.
 */
struct vn_fdb *vn_fdb_create(const char *name, uint32_t max_entries, struct rte_rcu_qsbr *qsbr);

/**
 * vn_fdb_set_port_limits() - limit what one port may learn: at most @max_per_port dynamic
 * entries, and at most @learn_rate new or moved MACs per second (the unit of vn_fdb_learn()'s
 * @now); 0: no limit. A refused learn leaves the table as it was (the frame is still
 * forwarded, as from an unknown source). Thread: any.
 */
void vn_fdb_set_port_limits(struct vn_fdb *fdb, uint32_t max_per_port, uint32_t learn_rate);

/** vn_fdb_port_stats() - the learning counters of slot @port into @st. Thread: control. */
void vn_fdb_port_stats(const struct vn_fdb *fdb, uint16_t port, struct vn_fdb_port_stats *st);

/** vn_fdb_free() - free @fdb (NULL is fine). No worker may still use it. Thread: control. */
void vn_fdb_free(struct vn_fdb *fdb);

/**
 * vn_fdb_learn() - note that @mac was seen on @port in segment @seg at time @now.
 * Static entries are never moved.
 * Return: 0 known and unchanged, 1 learned, 2 moved, -ENOSPC when the table or the port's
 * share of it is full, -EBUSY when the port learns faster than its rate
 * (vn_fdb_set_port_limits()).
 */
int vn_fdb_learn(struct vn_fdb *fdb, uint16_t seg, const struct rte_ether_addr *mac, uint16_t port,
		 uint64_t now);

/**
 * vn_fdb_learn_peek() - what vn_fdb_learn() would return now, without changing anything
 * (a trace's dry run). Thread: any.
 */
int vn_fdb_learn_peek(struct vn_fdb *fdb, uint16_t seg, const struct rte_ether_addr *mac,
		      uint16_t port, uint64_t now);

/**
 * vn_fdb_gen() - Return: how many times what a key maps to changed (an entry added, moved or
 * removed; not a refresh of its last-seen time). A lookup made after reading a count stays
 * true while the count is the same. Thread: any.
 */
uint64_t vn_fdb_gen(const struct vn_fdb *fdb);

/**
 * vn_fdb_lookup() - Return: the port @mac was learned on in @seg, or -ENOENT.
 * Entries older than the aging time are still returned until vn_fdb_age() removes them.
 */
int vn_fdb_lookup(struct vn_fdb *fdb, uint16_t seg, const struct rte_ether_addr *mac);

/**
 * vn_fdb_lookup_bulk() - look the @n (at most VN_FDB_BULK) keys @keys up at once, so that
 * their cache misses overlap (rte_hash_lookup_bulk_data): @res[i] is what the table holds
 * for @keys[i], 0 when it holds nothing (vn_fdb_res_port()). The first @nlearn keys are
 * sources about to be learned (vn_fdb_learn_res()): their seen marks are prefetched.
 * Thread: any (workers).
 */
void vn_fdb_lookup_bulk(struct vn_fdb *fdb, const struct vn_fdb_key *keys, unsigned n,
			unsigned nlearn, uint64_t *res);

/** vn_fdb_res_port() - Return: the port of a vn_fdb_lookup_bulk() result, or -ENOENT. */
static inline int vn_fdb_res_port(uint64_t res)
{
	return res ? (int)(res & 0xffff) : -ENOENT;
}

/**
 * vn_fdb_learn_res() - vn_fdb_learn() of key @k on @port, which vn_fdb_lookup_bulk() found
 * as @res: when that says the MAC is known there (or static) only its last-seen time is
 * refreshed, without looking it up again. A @res made stale by a learn since (another
 * port's entry, or none) only costs the full vn_fdb_learn(). Return: as vn_fdb_learn().
 */
int vn_fdb_learn_res(struct vn_fdb *fdb, uint64_t res, const struct vn_fdb_key *k, uint16_t port,
		     uint64_t now);

/* Frames one struct vn_fdb_bulk gathers at most (a source and a destination key each). */
#define VN_FDB_BULK_FRAMES (VN_FDB_BULK / 2)

/**
 * struct vn_fdb_bulk - a burst's FDB look-ups, made at once before any of its frames is
 * decided so that their cache misses overlap (vn_fdb_lookup_bulk()): the keys (the sources
 * first, @ns of them, then the unicast destinations), what the FDB held for each, and by
 * frame the index of its source's and destination's key (-1: none, the frame looks up on
 * its own). Consecutive frames with one source (or destination) share its key, as a
 * kind's memo shares the learn (or lookup). Filled by vn_fdb_bulk_add() frame by frame
 * (with a struct vn_fdb_gather from vn_fdb_gather_init()), then vn_fdb_bulk_lookup().
 * Used by the bridge and overlay kinds; thread: the worker.
 */
struct vn_fdb_bulk {
	struct vn_fdb_key keys[VN_FDB_BULK];
	uint64_t res[VN_FDB_BULK];
	int8_t src[VN_FDB_BULK_FRAMES], dst[VN_FDB_BULK_FRAMES];
	unsigned ns;
	struct vn_fdb_key dk[VN_FDB_BULK_FRAMES]; /* the destinations, until the lookup */
};

/** struct vn_fdb_gather - the state of filling one struct vn_fdb_bulk (a local: registers). */
struct vn_fdb_gather {
	uint64_t last_s, last_d; /* the last key of each (UINT64_MAX: none) */
	unsigned ns, nd;
};

static __rte_always_inline void vn_fdb_gather_init(struct vn_fdb_gather *g)
{
	g->last_s = g->last_d = UINT64_MAX;
	g->ns = g->nd = 0;
}

/** vn_fdb_bulk_none() - frame @i has no keys (it looks up on its own, or shares a memo). */
static __rte_always_inline void vn_fdb_bulk_none(struct vn_fdb_bulk *bk, unsigned i)
{
	bk->src[i] = bk->dst[i] = -1;
}

/**
 * vn_fdb_bulk_add() - the keys of frame @i (at most VN_FDB_BULK_FRAMES - 1) of segment
 * @seg, Ethernet header @eth: its source, and its destination if @ucast.
 */
static __rte_always_inline void vn_fdb_bulk_add(struct vn_fdb_bulk *bk, struct vn_fdb_gather *g,
						unsigned i, uint16_t seg,
						const struct rte_ether_hdr *eth, bool ucast)
{
	struct vn_fdb_key k = {.seg = seg, .mac = eth->src_addr};
	uint64_t kv;

	memcpy(&kv, &k, sizeof(kv));
	if (kv != g->last_s) {
		bk->keys[g->ns++] = k;
		g->last_s = kv;
	}
	bk->src[i] = (int8_t)(g->ns - 1);
	bk->dst[i] = -1;
	if (!ucast)
		return;
	k.mac = eth->dst_addr;
	memcpy(&kv, &k, sizeof(kv));
	if (kv != g->last_d) {
		bk->dk[g->nd++] = k;
		g->last_d = kv;
	}
	bk->dst[i] = (int8_t)(g->nd - 1);
}

/** vn_fdb_bulk_lookup() - look every key vn_fdb_bulk_add() gathered up in @fdb at once. */
static __rte_always_inline void
vn_fdb_bulk_lookup(struct vn_fdb_bulk *bk, const struct vn_fdb_gather *g, struct vn_fdb *fdb)
{
	memcpy(&bk->keys[g->ns], bk->dk, g->nd * sizeof(bk->dk[0]));
	bk->ns = g->ns;
	vn_fdb_lookup_bulk(fdb, bk->keys, g->ns + g->nd, g->ns, bk->res);
}

/**
 * vn_fdb_add_static() - add or replace a static entry (never aged, never moved).
 * Return: 0, or -ENOSPC when the table is full.
 */
int vn_fdb_add_static(struct vn_fdb *fdb, uint16_t seg, const struct rte_ether_addr *mac,
		      uint16_t port, uint64_t now);

/**
 * vn_fdb_set_dynamic() - a dynamic entry for @mac on @port, as if learned at @now, put there
 * by the control plane (EVPN): no learning limits; an entry on another port is moved only
 * when @move; static entries are never touched. Thread: control.
 * Return: 0 refreshed, 1 added, 2 moved, -EEXIST static, -EBUSY elsewhere (!@move), -ENOSPC.
 */
int vn_fdb_set_dynamic(struct vn_fdb *fdb, uint16_t seg, const struct rte_ether_addr *mac,
		       uint16_t port, uint64_t now, bool move);

/** vn_fdb_del() - remove one entry. Return: 0, or -ENOENT. Thread: control. */
int vn_fdb_del(struct vn_fdb *fdb, uint16_t seg, const struct rte_ether_addr *mac);

/**
 * vn_fdb_age() - remove dynamic entries not seen for more than @max_age (same unit as
 * @now). Return: how many were removed. Thread: control.
 */
unsigned vn_fdb_age(struct vn_fdb *fdb, uint64_t now, uint64_t max_age);

/**
 * vn_fdb_flush() - remove dynamic entries (and static ones when @with_static); when
 * @port >= 0 only those on that port. Return: how many were removed. Thread: control.
 * Flushing a port with @with_static (it left its slot) also zeroes its refusal counters.
 */
unsigned vn_fdb_flush(struct vn_fdb *fdb, int port, bool with_static);

/**
 * vn_fdb_walk() - call @cb for every entry until it returns non-zero. Thread: control.
 * Return: what the last @cb returned, or 0.
 */
int vn_fdb_walk(struct vn_fdb *fdb, uint64_t now, int (*cb)(const struct vn_fdb_entry *e, void *ud),
		void *ud);

/** vn_fdb_get_stats() - copy the counters. Thread: control. */
void vn_fdb_get_stats(const struct vn_fdb *fdb, struct vn_fdb_stats *st);

#endif

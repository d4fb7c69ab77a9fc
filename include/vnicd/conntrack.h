/* SPDX-License-Identifier: MIT */
/*
 * Connection tracking for NAT networks (policy/conntrack.c): a bounded table of
 * connections, each known by two tuples (the original direction, as its first packet
 * went, and the reply direction, as the answers come, after translation), TCP states with
 * Linux's names and default timeouts, UDP and ICMP echo.
 *
 * Memory: every entry and the bucket array are allocated when the table is made (@max
 * entries); nothing is allocated per packet. A full table refuses new connections and
 * counts them (full_drops).
 *
 * Threads: the tuples are keys of an rte_hash made for lock-free readers
 * (RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF): workers look up without any lock
 * (vn_ct_lookup()) and update what they found with atomics (vn_ct_seen()). Writers
 * (inserting: a worker's new connection; removing: the control thread's expiry and flush)
 * hold the table's lock (vn_ct_lock()/vn_ct_unlock(), a spinlock held for one packet's
 * work or one slice of at most 1024 entries). A removed entry and its key slots are not
 * reused before every worker has passed a quiescent state of the workers' RCU variable
 * (rte_rcu_qsbr) given to vn_ct_new(): vn_ct_reclaim(), called by vn_ct_expire() and
 * vn_ct_flush(), waits for that without the lock. Without an RCU variable (tests, one
 * thread) entries are reused at once. A lookup racing with an insertion may miss the new
 * connection (the caller then looks again under the lock); one racing with a removal may
 * still find the entry, which stays readable until reclaimed. Times are milliseconds of a
 * monotonic clock the caller supplies.
 */
#ifndef VNICD_CONNTRACK_H
#define VNICD_CONNTRACK_H

#include <stdbool.h>
#include <stdint.h>

#include <string.h>

#include <rte_ether.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_rcu_qsbr.h>
#include <rte_spinlock.h>

/**
 * struct vn_ct_tuple - one direction of a connection: addresses and ports in network byte
 * order; ICMP echo uses its identifier as both ports. 16 bytes, padding zero.
 */
struct vn_ct_tuple {
	uint32_t src, dst;
	uint16_t sport, dport;
	uint8_t proto;
	uint8_t pad[3];
};

/** enum vn_ct_state - a connection's state (JSON names in vn_ct_state_name()). */
enum vn_ct_state {
	VN_CT_SYN_SENT = 0,
	VN_CT_SYN_RECV,
	VN_CT_ESTABLISHED,
	VN_CT_FIN_WAIT,
	VN_CT_CLOSE_WAIT,
	VN_CT_LAST_ACK,
	VN_CT_TIME_WAIT,
	VN_CT_CLOSE,
	VN_CT_UDP_UNREPLIED, /* UDP, nothing came back yet (udp timeout) */
	VN_CT_UDP_REPLIED,   /* UDP, answered (udp_stream timeout) */
	VN_CT_ICMP,
	VN_CT__MAX
};

/**
 * struct vn_ct_timeouts - seconds an entry lives in each state after its last packet
 * (Linux's nf_conntrack defaults: vn_ct_timeouts_default()). JSON/`net add` names: the
 * field names.
 */
struct vn_ct_timeouts {
	uint32_t tcp_syn_sent, tcp_syn_recv, tcp_established, tcp_fin_wait, tcp_close_wait,
	    tcp_last_ack, tcp_time_wait, tcp_close, udp, udp_stream, icmp;
};

/* struct vn_ct_entry.flags */
#define VN_CT_F_SNAT 0x1    /* the source of the original direction is rewritten */
#define VN_CT_F_DNAT 0x2    /* the destination of the original direction is rewritten */
#define VN_CT_F_REPLIED 0x4 /* a packet came in the reply direction */
#define VN_CT_F_FIN0 0x8    /* FIN seen in the original direction */
#define VN_CT_F_FIN1 0x10   /* FIN seen in the reply direction */
#define VN_CT_F_PORT 0x20   /* its reply tuple's destination port is counted (port_refs) */

/**
 * struct vn_ct_entry - a tracked connection. @t[0] the original tuple, @t[1] the reply
 * tuple; a packet matching @t[d] leaves as the inverse of @t[!d]. @mac[d]: the MAC of the
 * inside host that sends @t[d] (zero when it is outside). @t, @mac and @flags' NAT bits
 * are written before the entry is published and never change while it is; @state, the
 * reply and FIN flags (together @sf, one compare-and-swap), @expires and the counters
 * change with atomics.
 */
struct vn_ct_entry {
	struct vn_ct_tuple t[2];
	int32_t pos[2]; /* key positions of @t in the hash once removed (-1: none) */
	uint32_t link;	/* free or removed entries: the next one, index + 1 (0 ends) */
	union {
		struct {
			uint8_t state; /* enum vn_ct_state */
			uint8_t flags; /* VN_CT_F_* */
		};
		uint16_t sf;
	};
	uint64_t expires; /* ms */
	uint64_t packets[2], bytes[2];
	struct rte_ether_addr mac[2];
	/* odd while the entry is in the table (vn_ct_in_table()): bumped when it is inserted
	 * and when removed (a memo that outlives a burst checks it: vn_ct_seq()); last, in
	 * what was padding: the entry stays 104 bytes */
	uint32_t seq;
};

/** struct vn_ct - the table (fields read by views under the lock). */
struct vn_ct {
	rte_spinlock_t lock;
	uint32_t max, used;
	struct rte_hash *h;	  /* tuple -> (index << 1 | direction) */
	struct rte_rcu_qsbr *rcu; /* the workers' (NULL: entries reused at once) */
	struct vn_ct_entry *e;
	uint32_t free_head;  /* free entries chained through link, index + 1 */
	uint32_t limbo_head; /* removed, not yet reclaimed, chained the same way */
	uint32_t scan;	     /* expiry cursor */
	uint32_t gen;	     /* insertions so far (vn_ct_gen()) */
	struct vn_ct_timeouts to;
	uint64_t created, expired, full_drops;
	/* counts by port (TCP: [0..65535], UDP: [65536..]) of the entries inserted with
	 * VN_CT_F_PORT and other holders (vn_ct_port_ref()); NULL: none kept. Set before the
	 * table is used, cleared before the counts go. */
	uint32_t *port_refs;
};

/** vn_ct_tuple_hash() - Return: a CRC32-C hash of @t with @seed (any alignment of @t). */
static inline uint32_t vn_ct_tuple_hash(const struct vn_ct_tuple *t, uint32_t seed)
{
	uint64_t w[2];

	memcpy(w, t, sizeof(w));
	return rte_hash_crc_8byte(w[1], rte_hash_crc_8byte(w[0], seed));
}

/**
 * vn_ct_port_ref() - add @delta to the count of TCP or UDP port @port (network order) in
 * @ct->port_refs, when there are counts (other protocols: nothing). Lock held (or the table
 * not yet in use). An entry inserted with VN_CT_F_PORT counts its reply tuple's @dport
 * this way until it is removed (without counts the flag is dropped at insertion).
 */
void vn_ct_port_ref(struct vn_ct *ct, uint8_t proto, uint16_t port, int delta);

/** vn_ct_timeouts_default() - Linux's defaults into @to. */
void vn_ct_timeouts_default(struct vn_ct_timeouts *to);

/** vn_ct_state_name() - Return: "syn_sent" ... "time_wait", "udp_unreplied", "icmp". */
const char *vn_ct_state_name(unsigned s);

/**
 * vn_ct_new() - a table of @max entries (1..2^24) with timeouts @to, read lock-free by
 * the threads of RCU variable @rcu (the workers'; NULL: no concurrent readers). Thread:
 * control (EAL initialised: the hash is rte_malloc'd). Return: the table (vn_ct_free()),
 * or NULL (no memory, @max out of range).
 */
struct vn_ct *vn_ct_new(uint32_t max, const struct vn_ct_timeouts *to, struct rte_rcu_qsbr *rcu);

/** vn_ct_free() - free @ct (NULL allowed); no worker may use it any more. */
void vn_ct_free(struct vn_ct *ct);

static inline void vn_ct_lock(struct vn_ct *ct)
{
	rte_spinlock_lock(&ct->lock);
}

static inline void vn_ct_unlock(struct vn_ct *ct)
{
	rte_spinlock_unlock(&ct->lock);
}

/**
 * vn_ct_gen() - Return: a count of insertions: a lookup that missed after it was read
 * still misses while it has not changed (a second lookup under the lock can be saved).
 */
static inline uint32_t vn_ct_gen(const struct vn_ct *ct)
{
	return __atomic_load_n(&ct->gen, __ATOMIC_ACQUIRE);
}

/** vn_ct_in_table() - Return: true if @e is a tracked connection (lock held). */
static inline bool vn_ct_in_table(const struct vn_ct_entry *e)
{
	return e->seq & 1;
}

/**
 * vn_ct_seq() - Return: @e's sequence: odd while it is in the table, another number once it
 * is removed or reused (an entry's memory stays the table's while the table lives).
 */
static inline uint32_t vn_ct_seq(const struct vn_ct_entry *e)
{
	return __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE);
}

/**
 * vn_ct_lookup() - the entry one of whose tuples is @t, and in *@dir which one. No lock
 * needed (a worker between two quiescent states, or the lock held). Return: the entry,
 * or NULL.
 */
struct vn_ct_entry *vn_ct_lookup(struct vn_ct *ct, const struct vn_ct_tuple *t, int *dir);

/**
 * vn_ct_insert() - a new connection of original tuple @orig and reply tuple @reply (both
 * unknown to the table, and different), in its protocol's first state, expiring per its
 * timeout from @now. Lock held. Return: the entry, or NULL when the table is full
 * (counted).
 */
struct vn_ct_entry *vn_ct_insert(struct vn_ct *ct, const struct vn_ct_tuple *orig,
				 const struct vn_ct_tuple *reply, uint64_t now);

/**
 * vn_ct_insert_nat() - vn_ct_insert() with NAT flags @flags (VN_CT_F_SNAT, VN_CT_F_DNAT)
 * and the inside MACs @mac (NULL: none) set before lock-free readers can find it.
 */
struct vn_ct_entry *vn_ct_insert_nat(struct vn_ct *ct, const struct vn_ct_tuple *orig,
				     const struct vn_ct_tuple *reply, uint8_t flags,
				     const struct rte_ether_addr mac[2], uint64_t now);

/**
 * vn_ct_seen() - a packet of @len bytes went in direction @dir of @e at @now, with TCP
 * flags @tcp_flags (TCP only): the state moves, the counters and the expiry too
 * (atomically: no lock needed, as vn_ct_lookup()).
 */
void vn_ct_seen(struct vn_ct *ct, struct vn_ct_entry *e, int dir, uint8_t tcp_flags, uint32_t len,
		uint64_t now);

/**
 * vn_ct_step() - vn_ct_seen()'s state move alone, for a packet in direction @dir with TCP
 * flags @tcp_flags (no lock needed). Return: the state after it.
 */
unsigned vn_ct_step(struct vn_ct_entry *e, int dir, uint8_t tcp_flags);

/**
 * vn_ct_count() - vn_ct_seen()'s counters and expiry for @packets packets (their states
 * moved by vn_ct_step() one by one) of @bytes bytes in all in direction @dir at @now: the
 * expiry per the state now (no lock needed).
 */
void vn_ct_count(struct vn_ct *ct, struct vn_ct_entry *e, int dir, uint32_t packets, uint64_t bytes,
		 uint64_t now);

/**
 * vn_ct_remove() - forget @e: lookups stop finding it; without an RCU variable it is free
 * at once, else once vn_ct_reclaim() has seen the readers quiescent. Lock held.
 */
void vn_ct_remove(struct vn_ct *ct, struct vn_ct_entry *e);

/**
 * vn_ct_reclaim() - wait until no worker can hold an entry removed so far (RCU grace
 * period), then make them free. Thread: control, lock NOT held (workers waiting for it
 * would never become quiescent).
 */
void vn_ct_reclaim(struct vn_ct *ct);

/**
 * vn_ct_expire() - remove the entries past their expiry among the next @budget of the
 * table (a cursor goes round), taking the lock itself, then reclaim them
 * (vn_ct_reclaim()). Thread: control. Return: how many went.
 */
unsigned vn_ct_expire(struct vn_ct *ct, uint64_t now, uint32_t budget);

/**
 * vn_ct_flush() - remove every entry (taking the lock) and reclaim them. Thread: control.
 * Return: how many went.
 */
unsigned vn_ct_flush(struct vn_ct *ct);

#endif

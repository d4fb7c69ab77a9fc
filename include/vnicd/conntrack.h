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
 * Threads: workers look up, insert and update with the table's lock held
 * (vn_ct_lock()/vn_ct_unlock(): a spinlock held for one packet's work); the control thread
 * expires (vn_ct_expire(), in slices of a bounded number of entries so that it never holds
 * the lock long), flushes and walks with it held too. Times are milliseconds of a
 * monotonic clock the caller supplies.
 */
#ifndef VNICD_CONNTRACK_H
#define VNICD_CONNTRACK_H

#include <stdbool.h>
#include <stdint.h>

#include <string.h>

#include <rte_ether.h>
#include <rte_hash_crc.h>
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

/**
 * struct vn_ct_entry - a tracked connection. @t[0] the original tuple, @t[1] the reply
 * tuple; a packet matching @t[d] leaves as the inverse of @t[!d]. @mac[d]: the MAC of the
 * inside host that sends @t[d] (zero when it is outside).
 */
struct vn_ct_entry {
	struct vn_ct_tuple t[2];
	uint32_t next[2]; /* bucket chains: (index << 1 | direction) + 1, 0 ends */
	uint64_t expires; /* ms */
	uint64_t packets[2], bytes[2];
	struct rte_ether_addr mac[2];
	uint8_t state; /* enum vn_ct_state */
	uint8_t flags; /* VN_CT_F_* */
	bool used;
};

/** struct vn_ct - the table (fields read by views under the lock). */
struct vn_ct {
	rte_spinlock_t lock;
	uint32_t max, mask, used;
	uint32_t *bucket; /* mask + 1 heads */
	struct vn_ct_entry *e;
	uint32_t free_head; /* free entries chained through next[0], index + 1 */
	uint32_t scan;	    /* expiry cursor */
	struct vn_ct_timeouts to;
	uint64_t created, expired, full_drops;
};

/** vn_ct_tuple_hash() - Return: a CRC32-C hash of @t with @seed (any alignment of @t). */
static inline uint32_t vn_ct_tuple_hash(const struct vn_ct_tuple *t, uint32_t seed)
{
	uint64_t w[2];

	memcpy(w, t, sizeof(w));
	return rte_hash_crc_8byte(w[1], rte_hash_crc_8byte(w[0], seed));
}

/** vn_ct_timeouts_default() - Linux's defaults into @to. */
void vn_ct_timeouts_default(struct vn_ct_timeouts *to);

/** vn_ct_state_name() - Return: "syn_sent" ... "time_wait", "udp_unreplied", "icmp". */
const char *vn_ct_state_name(unsigned s);

/**
 * vn_ct_new() - a table of @max entries (1..2^24) with timeouts @to. Thread: control.
 * Return: the table (vn_ct_free()), or NULL (no memory, @max out of range).
 */
struct vn_ct *vn_ct_new(uint32_t max, const struct vn_ct_timeouts *to);

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
 * vn_ct_lookup() - the entry one of whose tuples is @t, and in *@dir which one.
 * Lock held. Return: the entry, or NULL.
 */
struct vn_ct_entry *vn_ct_lookup(struct vn_ct *ct, const struct vn_ct_tuple *t, int *dir);

/**
 * vn_ct_insert() - a new connection of original tuple @orig and reply tuple @reply (both
 * unknown to the table), in its protocol's first state, expiring per its timeout from
 * @now. Lock held. Return: the entry, or NULL when the table is full (counted).
 */
struct vn_ct_entry *vn_ct_insert(struct vn_ct *ct, const struct vn_ct_tuple *orig,
				 const struct vn_ct_tuple *reply, uint64_t now);

/**
 * vn_ct_seen() - a packet of @len bytes went in direction @dir of @e at @now, with TCP
 * flags @tcp_flags (TCP only): the state moves, the counters and the expiry too.
 * Lock held.
 */
void vn_ct_seen(struct vn_ct *ct, struct vn_ct_entry *e, int dir, uint8_t tcp_flags, uint32_t len,
		uint64_t now);

/** vn_ct_remove() - forget @e. Lock held. */
void vn_ct_remove(struct vn_ct *ct, struct vn_ct_entry *e);

/**
 * vn_ct_expire() - remove the entries past their expiry among the next @budget of the
 * table (a cursor goes round), taking the lock itself. Thread: control.
 * Return: how many went.
 */
unsigned vn_ct_expire(struct vn_ct *ct, uint64_t now, uint32_t budget);

/** vn_ct_flush() - remove every entry (taking the lock). Return: how many went. */
unsigned vn_ct_flush(struct vn_ct *ct);

#endif

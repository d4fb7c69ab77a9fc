/* SPDX-License-Identifier: MIT */
/* Per-port traffic counters and drop reasons, shared by the data path and the control plane. */
#ifndef VNICD_STATS_H
#define VNICD_STATS_H

#include <stddef.h>
#include <stdint.h>

/** Why the data path dropped a frame. Names (vn_drop_name()) are part of the JSON API. */
enum vn_drop_reason {
	VN_DROP_MALFORMED = 0, /* shorter than an Ethernet header */
	VN_DROP_INVALID_SRC,   /* multicast/broadcast or zero source MAC */
	VN_DROP_SAME_PORT,     /* destination learned on the ingress port */
	VN_DROP_NO_DEST,       /* flooded, but no other port in the network */
	VN_DROP_LINK_DOWN,     /* destination port has no guest connected */
	VN_DROP_QUEUE_FULL,    /* destination queue full (guest not reading) */
	VN_DROP_NO_MBUF,       /* packet buffer pool exhausted */
	VN_DROP_POLICY,	       /* refused by the port's policy (VLAN admission, ...) */
	VN_DROP_SPOOFED,       /* anti-spoofing: source MAC/IP not the port's */
	VN_DROP_RATE_LIMIT,    /* over the port's rate limit */
	VN_DROP_NAT_FULL,      /* NAT/conntrack table full */
	VN_DROP_FILTERED,      /* a macvtap network's rules deliver it to nobody (private
				  isolation, a reflection of what vnicd already reflected) */
	VN_DROP_STORM,	       /* broadcast, multicast or flooded beyond the port's storm control */
	VN_DROP__MAX,
};

/** Traffic class by destination MAC. */
enum vn_cast { VN_UCAST = 0, VN_MCAST = 1, VN_BCAST = 2, VN_CAST__MAX };

/**
 * Where traffic comes from or goes to: another port on this host, the physical network
 * (an uplink), or a tunnel. A port has a locality of its own (guests: local).
 */
enum vn_locality { VN_LOC_LOCAL = 0, VN_LOC_EXTERNAL = 1, VN_LOC_TUNNEL = 2, VN_LOC__MAX };

/**
 * struct vn_port_counters - one worker's counters for one port slot.
 *
 * Written by exactly one worker without atomics; read (summed) by the control thread.
 * rx_* counts what the port delivered to vnicd (frames the guest sent); tx_* what vnicd
 * delivered to the port (frames the guest received). Every rx frame is counted in exactly
 * one rx cast class; rx locality is where it went (the destination port's locality; for a
 * flood, the farthest recipient's), so rx_local + rx_external + rx_tunnel + the ingress
 * drops = rx_packets. tx locality is where the frame came from (the ingress port's).
 */
struct vn_port_counters {
	uint64_t rx_packets;
	uint64_t rx_bytes;
	uint64_t tx_packets;
	uint64_t tx_bytes;
	uint64_t rx_cast_pkts[VN_CAST__MAX];
	uint64_t rx_cast_bytes[VN_CAST__MAX];
	uint64_t tx_cast_pkts[VN_CAST__MAX];
	uint64_t tx_cast_bytes[VN_CAST__MAX];
	uint64_t rx_loc_pkts[VN_LOC__MAX];
	uint64_t rx_loc_bytes[VN_LOC__MAX];
	uint64_t tx_loc_pkts[VN_LOC__MAX];
	uint64_t tx_loc_bytes[VN_LOC__MAX];
	uint64_t drops[VN_DROP__MAX];
} __attribute__((aligned(64)));

/** struct vn_counter_field - name and place of one counter, for JSON, ledger and metrics. */
struct vn_counter_field {
	const char *name; /* "rx_packets", "rx_unicast_bytes", "drops.queue_full", ... */
	size_t off;	  /* byte offset in struct vn_port_counters */
};

/**
 * vn_counter_fields() - every counter, in a stable order: totals, cast, locality, drops.
 * @n: set to the number of fields. Return: the table.
 */
const struct vn_counter_field *vn_counter_fields(size_t *n);

/** vn_counter_get() - Return: the value of field @f in @c. */
static inline uint64_t vn_counter_get(const struct vn_port_counters *c,
				      const struct vn_counter_field *f)
{
	return *(const uint64_t *)((const char *)c + f->off);
}

/** vn_counter_set() - set field @f of @c to @v. */
static inline void vn_counter_set(struct vn_port_counters *c, const struct vn_counter_field *f,
				  uint64_t v)
{
	*(uint64_t *)((char *)c + f->off) = v;
}

/**
 * vn_drop_name() - Return: the stable snake_case name of @reason ("queue_full", ...).
 */
const char *vn_drop_name(enum vn_drop_reason reason);

/**
 * vn_counters_add() - @acc += @c, field by field. Thread: control.
 */
void vn_counters_add(struct vn_port_counters *acc, const struct vn_port_counters *c);

/**
 * vn_counters_sub() - @acc -= @c, field by field (baseline removal). Thread: control.
 */
void vn_counters_sub(struct vn_port_counters *acc, const struct vn_port_counters *c);

#endif

/* SPDX-License-Identifier: MIT */
/* Per-port traffic counters and drop reasons, shared by the data path and the control plane. */
#ifndef VNICD_STATS_H
#define VNICD_STATS_H

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
	VN_DROP__MAX,
};

/** Traffic class by destination MAC. */
enum vn_cast { VN_UCAST = 0, VN_MCAST = 1, VN_BCAST = 2, VN_CAST__MAX };

/**
 * struct vn_port_counters - one worker's counters for one port slot.
 *
 * Written by exactly one worker without atomics; read (summed) by the control thread.
 * rx_* counts what the port delivered to vnicd (frames the guest sent); tx_* what vnicd
 * delivered to the port (frames the guest received).
 */
struct vn_port_counters {
	uint64_t rx_packets;
	uint64_t rx_bytes;
	uint64_t tx_packets;
	uint64_t tx_bytes;
	uint64_t rx_cast[VN_CAST__MAX];
	uint64_t tx_cast[VN_CAST__MAX];
	uint64_t drops[VN_DROP__MAX];
} __attribute__((aligned(64)));

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

/* SPDX-License-Identifier: MIT */
/* Internals of the NAT engine shared by policy/nat.c and policy/nat_neigh.c. */
#ifndef VNICD_POLICY_NAT_PRIV_H
#define VNICD_POLICY_NAT_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "vnicd/nat.h"

/**
 * vn_nat_neigh_get() - side @side's (0 inside, 1 outside) MAC of @ip into *@mac, without
 * the lock: an entry changing meanwhile reads as absent. Thread: any. Return: found.
 */
bool vn_nat_neigh_get(const struct vn_nat *nt, int side, uint32_t ip, struct rte_ether_addr *mac);

/** vn_nat_neigh_put() - map @ip to @mac (NULL: forget it) on side @side. Lock held. */
void vn_nat_neigh_put(struct vn_nat *nt, int side, uint32_t ip, const struct rte_ether_addr *mac);

/**
 * vn_nat_hold() - keep later fragment @m (it came before its first one) until
 * vn_nat_hold_release() or its expiry; expired ones are dropped on the way. Lock held.
 * Return: 0 (held: the engine owns @m), -1 (no room: the caller drops it).
 */
int vn_nat_hold(struct vn_nat *nt, struct rte_mbuf *m, bool from_inside, uint64_t now);

/**
 * vn_nat_hold_release() - the held later fragments of the datagram whose first fragment
 * @f describes (as it came from the inside or not), translated as it was, into @r->more.
 * Lock held.
 */
void vn_nat_hold_release(struct vn_nat *nt, const struct vn_nat_frag *f, bool from_inside,
			 struct vn_nat_res *r);

#endif

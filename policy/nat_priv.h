/* SPDX-License-Identifier: MIT */
/* Internals of the NAT engine shared by policy/nat.c and policy/nat_neigh.c. */
#ifndef VNICD_POLICY_NAT_PRIV_H
#define VNICD_POLICY_NAT_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>

#include "vnicd/nat.h"

/**
 * vn_nat_neigh_get() - side @side's (0 inside, 1 outside) MAC of @ip into *@mac, without
 * the lock: an entry changing meanwhile reads as absent. Thread: any. Return: found.
 */
bool vn_nat_neigh_get(const struct vn_nat *nt, int side, uint32_t ip, struct rte_ether_addr *mac);

/** vn_nat_neigh_put() - map @ip to @mac (NULL: forget it) on side @side. Lock held. */
void vn_nat_neigh_put(struct vn_nat *nt, int side, uint32_t ip, const struct rte_ether_addr *mac);

#endif

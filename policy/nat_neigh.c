/* SPDX-License-Identifier: MIT */
/* NAT neighbour maps: open addressing written under the table's lock, read without it. */
#include <string.h>

#include <rte_hash_crc.h>

#include "vnicd/nat.h"
#include "nat_priv.h"

static inline uint32_t neigh_home(uint32_t ip)
{
	return rte_hash_crc_4byte(ip, 0x6e656967) & (VN_NAT_NEIGH - 1);
}

/* The slot of @ip, or (@add) where it goes. Lock held. */
static struct vn_nat_neigh_e *neigh_slot(struct vn_nat *nt, int side, uint32_t ip, bool add)
{
	uint32_t h = neigh_home(ip);

	for (uint32_t i = 0; i < VN_NAT_NEIGH; i++) {
		struct vn_nat_neigh_e *e = &nt->neigh[side][(h + i) & (VN_NAT_NEIGH - 1)];
		if ((e->w & VN_NAT_NEIGH_VALID) && e->ip == ip)
			return e;
		if (!(e->w & VN_NAT_NEIGH_VALID) && e->ip == 0)
			return add ? e : NULL; /* never used: the probe ends here */
	}
	if (add) /* full of tombstones and entries: reuse the home slot */
		return &nt->neigh[side][h];
	return NULL;
}

bool vn_nat_neigh_get(const struct vn_nat *nt, int side, uint32_t ip, struct rte_ether_addr *mac)
{
	uint32_t h = neigh_home(ip);

	for (uint32_t i = 0; i < VN_NAT_NEIGH; i++) {
		const struct vn_nat_neigh_e *e = &nt->neigh[side][(h + i) & (VN_NAT_NEIGH - 1)];
		uint64_t w = __atomic_load_n(&e->w, __ATOMIC_ACQUIRE);
		uint32_t a = __atomic_load_n(&e->ip, __ATOMIC_ACQUIRE);
		if ((w & VN_NAT_NEIGH_VALID) && a == ip) {
			if (__atomic_load_n(&e->w, __ATOMIC_RELAXED) != w)
				return false;
			memcpy(mac, &w, RTE_ETHER_ADDR_LEN); /* little-endian: the low bytes */
			return true;
		}
		if (!(w & VN_NAT_NEIGH_VALID) && a == 0)
			return false;
	}
	return false;
}

void vn_nat_neigh_put(struct vn_nat *nt, int side, uint32_t ip, const struct rte_ether_addr *mac)
{
	struct vn_nat_neigh_e *e = neigh_slot(nt, side, ip, mac != NULL);
	uint64_t w = VN_NAT_NEIGH_VALID;

	if (!e)
		return;
	if (mac)
		memcpy(&w, mac, RTE_ETHER_ADDR_LEN);
	if (mac && e->ip == ip && e->w == (w | VN_NAT_NEIGH_VALID))
		return; /* as it was (each new connection from an inside host says it again) */
	if (!mac) {	/* a tombstone: @ip stays so probes go on past it */
		__atomic_store_n(&e->w, e->w & ~VN_NAT_NEIGH_VALID, __ATOMIC_RELEASE);
	} else {
		if (e->ip != ip) { /* readers never see the new address with the old MAC */
			__atomic_store_n(&e->w, 0, __ATOMIC_RELEASE);
			__atomic_store_n(&e->ip, ip, __ATOMIC_RELEASE);
		}
		__atomic_store_n(&e->w, w | VN_NAT_NEIGH_VALID, __ATOMIC_RELEASE);
	}
	/* after the change: a memo filled with the count before it is void (struct vn_nat) */
	__atomic_store_n(&nt->route_gen, nt->route_gen + 1, __ATOMIC_RELEASE);
}

void vn_nat_neigh_set(struct vn_nat *nt, int side, uint32_t ip, const struct rte_ether_addr *mac)
{
	vn_ct_lock(nt->ct);
	vn_nat_neigh_put(nt, side, ip, mac);
	vn_ct_unlock(nt->ct);
}

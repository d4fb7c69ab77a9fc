/* SPDX-License-Identifier: MIT */
/*
 * EVPN's kernel mirror (backend/evpn_kernel.c), as backend/evpn.c uses it. See evpn.h.
 */
#ifndef VNICD_EVPN_PRIV_H
#define VNICD_EVPN_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "vnicd/tunnel.h"

/** struct evk_dev - the kernel devices of one VNI (ifindexes in FRR's namespace). */
struct evk_dev {
	uint32_t vni;
	int br, vx, md, mp; /* bridge, vxlan, mirror port, its peer */
};

/** struct evk_entry - one bridge FDB entry as the kernel reported it. */
struct evk_entry {
	int ifindex;
	bool master;  /* an entry of the bridge (NDA_MASTER): else the device's own */
	bool has_dst; /* @dst: a vxlan entry's remote VTEP */
	struct vn_tun_addr dst;
	uint8_t mac[6];
	uint16_t state; /* NUD_* */
	uint8_t flags;	/* NTF_* */
};

/** evk_cb - one entry came (@add) or went. */
typedef void (*evk_cb)(void *ud, bool add, const struct evk_entry *e);

struct evk; /* netlink sockets in one namespace */

/** evk_open() - sockets in namespace @ns (requests; events of RTNLGRP_NEIGH). */
int evk_open(const char *ns, struct evk **out, GError **err);
void evk_close(struct evk *k);
/** evk_event_fd() - the events socket (readable: call evk_read()). */
int evk_event_fd(const struct evk *k);

/**
 * evk_vni_user() - the name of a vxlan device other than ours with VNI @vni in the
 * namespace into @who. Return: 1 found, 0 none, -errno.
 */
int evk_vni_user(struct evk *k, uint32_t vni, char *who, size_t len);

/**
 * evk_make() - the devices of VNI @vni with VTEP address @local and UDP @dstport into @d,
 * made, or taken over when a previous vnicd left them (checked and fixed). On failure what
 * this call made is removed. Return: 0, or -errno with @err.
 */
int evk_make(struct evk *k, uint32_t vni, const struct vn_tun_addr *local, uint16_t dstport,
	     struct evk_dev *d, GError **err);
/** evk_remove() - delete the devices of @d (zebra withdraws the VNI). */
void evk_remove(struct evk *k, const struct evk_dev *d);

/** evk_mirror() - add ("replace") or delete `@mac master static` on @d's mirror port. */
int evk_mirror(struct evk *k, const struct evk_dev *d, const uint8_t mac[6], bool add);
/** evk_del_remote() - delete `@mac dst @dst self` on @d's vxlan device. */
int evk_del_remote(struct evk *k, const struct evk_dev *d, const uint8_t mac[6],
		   const struct vn_tun_addr *dst);

/** evk_dump() - @cb(add) for every bridge FDB entry of the namespace. Return: 0 or -errno. */
int evk_dump(struct evk *k, evk_cb cb, void *ud);
/**
 * evk_read() - the events queued on the events socket, to @cb.
 * Return: 0, or -ENOBUFS when events were lost (dump again), or another -errno.
 */
int evk_read(struct evk *k, evk_cb cb, void *ud);

/** evk_zebra_runs() - Return: 1 a zebra process runs in namespace @ns, 0 none, -errno unknown. */
int evk_zebra_runs(const char *ns);

#endif

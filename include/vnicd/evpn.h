/* SPDX-License-Identifier: MIT */
/*
 * BGP EVPN for overlay networks (`net add ... overlay --type vxlan --control evpn`), with FRR
 * as the routing daemon. vnicd does not speak BGP: it keeps a kernel *mirror* of its state
 * in the namespace where FRR's zebra runs, as SONiC's fdbsyncd does, and zebra advertises
 * and installs what it finds there. The data never passes through the kernel.
 *
 * Per VNI, in that namespace (backend/evpn_kernel.c): a bridge `vnb<VNI>`, a `vxlan` device
 * `vnx<VNI>` (the VNI, --local, dstport, nolearning) in it, and a veth `vnm<VNI>` in it whose
 * peer `vnp<VNI>` stays up and out of the bridge (this kernel has no `dummy`): the *mirror
 * port*. Neither carries traffic (no IPv6 link-local addresses: nothing is ever sent).
 *
 * The reconcile (backend/evpn.c, control thread, every EVPN_TICK_MS and when the kernel
 * reports a change):
 * - local MACs (entries of the overlay's FDB on its guest ports, learned or --mac) are
 *   written as `master static` FDB entries on the mirror port; zebra advertises them
 *   (type-2) and withdraws them when vnicd removes them;
 * - remote MACs (`dst VTEP self extern_learn` on the vxlan device, installed by zebra) go
 *   into the overlay's FDB as entries on the remote VTEP's slot, refreshed so they never
 *   age while zebra has them; the flood list (all-zero MAC `dst VTEP`) is the overlay's
 *   flooding remotes;
 * - a MAC move: a remote entry that appears or changes overrides a local learned entry (the
 *   guest moved away: zebra took the MAC off the mirror port); a MAC learned locally after
 *   its remote entry was applied moved here: mirrored again with "replace" and the stale
 *   `dst OLD self` entry removed, and zebra advertises it with a higher sequence number.
 * - After a restart, mirror entries that vnicd did not learn again are kept for
 *   evpn_restart_grace seconds (30; at most the FDB aging time; guests are re-learned from
 *   their traffic meanwhile), so routes do not flap.
 * - VNIs that ports were put in (`port set --vni`) get devices of their own while used.
 */
#ifndef VNICD_EVPN_H
#define VNICD_EVPN_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <json-glib/json-glib.h>

struct vn_overlay;
struct vn_config;

/** struct vn_evpn_args - the `--control evpn [--evpn-netns NS]` of an overlay. */
struct vn_evpn_args {
	bool on;
	const char *netns; /* --evpn-netns, or NULL: the VTEP holder's namespace */
};

/**
 * vn_evpn_parse() - read "control" and "evpn_netns" from @args into @a.
 * Return: 0, or -EINVAL with @err.
 */
int vn_evpn_parse(JsonObject *args, struct vn_evpn_args *a, GError **err);

/**
 * vn_evpn_attach() - run EVPN for overlay @ov: find FRR's namespace, check zebra runs there
 * (when @check_frr; a restore does not require it), make the kernel mirror (or take over
 * the one a previous vnicd left: its entries kept up to @grace_s seconds unless learned
 * again),
 * read its state and start the reconcile. On failure
 * nothing is left made. Thread: control.
 * Return: 0, or -errno with @err.
 */
int vn_evpn_attach(struct vn_overlay *ov, const struct vn_evpn_args *a, unsigned grace_s,
		   bool check_frr, GError **err);

/**
 * vn_evpn_detach() - stop EVPN on @ov; remove the kernel mirror unless @keep_kernel (vnicd
 * is stopping: a restart takes it over). Thread: control.
 */
void vn_evpn_detach(struct vn_overlay *ov, bool keep_kernel);

/**
 * vn_evpn_set() - `net set NAME --control evpn|static [--evpn-netns NS]` on @ov (@remote:
 * --remote comes too, refused with EVPN). Return: 0, or -errno with @err.
 */
int vn_evpn_set(struct vn_overlay *ov, JsonObject *args, bool remote, GError **err);

/** vn_evpn_has_remote() - Return: whether BGP gave @mac in @vni of @ov (a remote MAC). */
bool vn_evpn_has_remote(const struct vn_overlay *ov, uint32_t vni, const uint8_t *mac);

/** vn_evpn_on() - Return: whether @ov runs EVPN. */
bool vn_evpn_on(const struct vn_overlay *ov);

/** vn_evpn_describe() - "control", and "evpn" {netns, devices, counts} of @ov into @b. */
void vn_evpn_describe(const struct vn_overlay *ov, JsonBuilder *b);

/** vn_evpn_persist() - "control" and "evpn_netns" (when given) of @ov into @b. */
void vn_evpn_persist(const struct vn_overlay *ov, JsonBuilder *b);

#endif

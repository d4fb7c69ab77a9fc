/* SPDX-License-Identifier: MIT */
/*
 * Per-port L2 policy contract: VLAN membership and tagging (802.1Q access/trunk/native,
 * 802.1ad dot1q-tunnel), anti-spoofing (libvirt clean-traffic semantics) and rate limits
 * (libvirt <bandwidth> semantics on rte_meter), as the control thread builds it and the
 * data path applies it.
 *
 * Life cycle: the control thread parses and validates a policy *spec* (a JSON object, the
 * same members as the `port.set` arguments; that is also what is persisted), builds an
 * immutable struct vn_port_policy from it, and publishes it with vn_dp_policy_set(); the old
 * one is freed after every worker passed a quiescent state. A port without a policy (NULL)
 * is VLAN-transparent: all its frames are switched unmodified in segment 0, with no check.
 *
 * Segments: the bridge keys its FDB and floods by segment = VLAN ID. Segment 0 is the
 * untagged LAN: ports without a VLAN mode live there, and a trunk may carry it untagged
 * (the default of uplinks). Frames never cross segments.
 *
 * Meter and storm-control state are the only mutable parts of a policy: each meter has a
 * spinlock taken once per burst (not per packet) by the worker that meters it, because a
 * port's rx queues and the frames sent to it can be handled by several workers; storm
 * control is one atomic word (struct vn_storm).
 */
#ifndef VNICD_POLICY_H
#define VNICD_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_meter.h>
#include <rte_spinlock.h>

#include "vnicd/pipeline.h"
#include "vnicd/stats.h"

#define VN_VID_MAX 4094	     /* highest usable VLAN ID; 4095 is reserved */
#define VN_POLICY_MAX_IPS 16 /* addresses in --allowed-ip */
#define VN_TPID_8021Q 0x8100
#define VN_TPID_8021AD 0x88a8
#define VN_METER_MAX_KBPS 100000000ULL /* 100 GB/s */
#define VN_METER_MAX_BURST_KIB (4ULL << 20)
#define VN_STORM_MAX_PPS 100000000ULL /* --storm-control: 100 Mpps */
#define VN_STORM_MIN_BURST 32	      /* its bucket: at least one receive burst (VN_BURST) */

/** VLAN mode of a port (names: vn_vlan_mode_name()). */
enum vn_vlan_mode {
	VN_VLAN_NONE = 0,	 /* transparent, segment 0 only */
	VN_VLAN_ACCESS,		 /* untagged in VLAN vlan; tagged frames refused */
	VN_VLAN_TRUNK,		 /* tagged frames of the allowed set; untagged only if bit 0 set */
	VN_VLAN_NATIVE_UNTAGGED, /* trunk + untagged frames are VLAN vlan, sent untagged */
	VN_VLAN_NATIVE_TAGGED,	 /* trunk + untagged frames are VLAN vlan, sent tagged */
	VN_VLAN_DOT1Q_TUNNEL,	 /* every frame is in S-VLAN vlan; S-tag pushed on trunks */
	VN_VLAN__MAX,
};

/** struct vn_meter - one direction's policer (peak bucket first, then average bucket). */
struct vn_meter {
	rte_spinlock_t lock;
	bool has_peak;
	struct rte_meter_srtcm_profile avg_prof, peak_prof;
	struct rte_meter_srtcm avg, peak;	     /* mutable: under @lock */
	uint64_t average_kBps, peak_kBps, burst_kib; /* as configured (0: not given) */
	uint64_t cbs, pbs;			     /* bucket depths in bytes, in force */
} __rte_cache_aligned;

/**
 * struct vn_storm - storm control of a port: broadcast, multicast and flooded frames it sends
 * are limited to @pps frames a second with a bucket of @burst frames, as GCRA (the virtual
 * scheduling form of a token bucket) on one atomic word, @tat, updated once per burst by
 * whichever worker receives from the port (compare-and-swap, no lock).
 */
struct vn_storm {
	uint64_t tat; /* mutable (atomic): TSC time the bucket is empty until; full below now */
	uint64_t interval; /* TSC cycles per frame at @pps */
	uint64_t tau;	   /* (@burst - 1) * @interval: how far @tat may run ahead of now */
	uint64_t pps;	   /* as configured */
	uint32_t burst;	   /* bucket depth in frames: max(pps / 10, VN_STORM_MIN_BURST) */
} __rte_cache_aligned;

/**
 * struct vn_port_policy - what the data path applies to one port; immutable once
 * published except the meters' state.
 */
struct vn_port_policy {
	uint8_t vlan_mode;    /* enum vn_vlan_mode */
	bool vlan_aware;      /* vlan_mode != NONE */
	uint16_t vlan;	      /* access VID, native VID, or S-VID of a tunnel */
	uint16_t tpid;	      /* dot1q-tunnel: TPID of the pushed S-tag */
	int16_t untagged_seg; /* segment of an untagged frame received; -1: refused or a tunnel */
	bool tagged_in;	      /* 802.1Q-tagged frames of admitted VLANs received (trunk, native) */
	uint64_t vlans[64];   /* allowed segments (bit 0: untagged LAN on a trunk) */
	bool antispoof;	      /* any of the checks below */
	bool lock_mac;
	bool allow_dhcp_server, allow_ra;
	struct rte_ether_addr mac; /* the port's MAC (lock_mac, ARP/ND checks) */
	uint8_t nr_ip4, nr_ip6;
	bool ip_guard;			 /* nr_ip4 || nr_ip6: the source address is checked */
	uint32_t ip4[VN_POLICY_MAX_IPS]; /* network order */
	uint8_t ip6[VN_POLICY_MAX_IPS][16];
	bool has_eui64;		   /* the port has a MAC: @eui64 is its link-local address */
	uint8_t eui64[16];	   /* fe80::/64 with the modified EUI-64 of @mac (RFC 4291 2.5.1) */
	struct vn_meter *in, *out; /* NULL: no limit. in = to the guest, out = from it */
	struct vn_storm *storm;	   /* NULL: no storm control */
	bool default_uplink;	   /* built as the default of an external port */
};

/* ---- data path (worker threads) ---- */

/*
 * The per-frame operations (VLAN classification and tag edits, anti-spoofing checks, meter
 * conformance) are inline for the pipeline's sake and private to it and policy/: see
 * policy/fastpath.h. What other modules may call is below.
 */

/**
 * vn_meter_burst() - police @n frames of @pkts through @mt at time @tsc (TSC cycles),
 * compacting the conforming ones to the front; their lengths in @len (NULL: their packet
 * lengths) and the caller's tags in @aux (NULL: none) are compacted alike. A TCP GSO frame
 * passed on whole is charged the bytes of its segments (each with the headers), not its
 * length. Frees the others. Takes @mt's lock once, never over a transmission. Return:
 * frames kept.
 */
uint16_t vn_meter_burst(struct vn_meter *mt, struct rte_mbuf **pkts, uint32_t *len, uint16_t *aux,
			uint16_t n, uint64_t tsc);

/**
 * vn_storm_admit() - take up to @n frames' worth from @st's bucket at time @tsc (TSC
 * cycles). Lock-free: one compare-and-swap (retried on a race with another worker).
 * Return: how many of the @n frames conform (the first ones); the rest are over the limit.
 */
uint16_t vn_storm_admit(struct vn_storm *st, uint16_t n, uint64_t tsc);

/* ---- control thread ---- */

/** vn_vlan_mode_name() - Return: "none", "access", "trunk", "native-untagged", ... */
const char *vn_vlan_mode_name(enum vn_vlan_mode m);

/**
 * vn_policy_spec_merge() - apply the `port.set` changes @chg (members: vlan_mode, vlan,
 * vlans, tpid, lock_mac, allowed_ip, allow_dhcp_server, allow_ra, inbound, outbound,
 * storm_control) to the
 * current spec @cur (NULL: none), validating every value and their combination.
 * @has_mac: the port has a MAC (needed by lock_mac).
 * Return: 0 and *@out (a new normalised spec, json_object_unref it; members at their default
 * are left out, so an empty object means "no policy"), or -EINVAL with a one-line @err.
 */
int vn_policy_spec_merge(JsonObject *cur, JsonObject *chg, bool has_mac, JsonObject **out,
			 GError **err);

/**
 * vn_policy_build() - build the data-path policy of a port from normalised @spec (NULL or
 * empty: the default). @mac: the port's MAC or NULL; @external: the port is an uplink (its
 * default is a trunk of every VLAN plus the untagged LAN). @prev: the policy it replaces
 * (its meters' levels carry over so a lower limit bites at once), or NULL.
 * Return: 0 and *@out (NULL when the port needs no policy at all), or -errno with @err.
 */
int vn_policy_build(JsonObject *spec, const struct rte_ether_addr *mac, bool external,
		    const struct vn_port_policy *prev, struct vn_port_policy **out, GError **err);

/** vn_policy_free() - free @p (NULL is fine); no worker may still see it. */
void vn_policy_free(struct vn_port_policy *p);

/**
 * vn_policy_describe() - add the policy in force, @p (NULL: none), as one JSON object value
 * to @b: {vlan_mode, vlan, vlans, tpid, untagged_lan, lock_mac, allowed_ip, allow_dhcp_server,
 * allow_ra, inbound, outbound, storm_control}.
 */
void vn_policy_describe(const struct vn_port_policy *p, JsonBuilder *b);

/**
 * vn_meter_init() - set up @mt for @average_kBps [@peak_kBps, @burst_kib] (0: not given),
 * timed by the TSC; buckets start full, or at @prev's levels when given (capped to the new
 * depths), so that lowering a limit under load bites at once. Return: 0 or -EINVAL.
 */
int vn_meter_init(struct vn_meter *mt, uint64_t average_kBps, uint64_t peak_kBps,
		  uint64_t burst_kib, const struct vn_meter *prev);

/**
 * vn_storm_init() - set up @st for @pps frames a second (1..VN_STORM_MAX_PPS), timed by the
 * TSC; the bucket starts full, or at @prev's level when given (capped to the new depth).
 * Return: 0 or -EINVAL.
 */
int vn_storm_init(struct vn_storm *st, uint64_t pps, const struct vn_storm *prev);

#endif

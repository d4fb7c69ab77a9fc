/* SPDX-License-Identifier: MIT */
/*
 * Pipeline contract: what the data path knows of a frame once it is parsed (struct vn_meta,
 * kept in the mbuf), and how a network kind tells the pipeline where a frame goes (struct
 * vn_fwd: up to two "legs", each a set of destination slots) without calling into it.
 *
 * The packet's path (backend/pipeline.c):
 *   rx burst -> admit and parse (vn_meta) -> ingress policy (VLAN, anti-spoofing, meter)
 *   -> the network kind's forward() for the burst (struct vn_fwd per frame)
 *   -> delivery: per destination egress form (tag/untag), inbound meter, accounting,
 *      capture, batched per tx queue -> tx burst.
 *
 * Threads: everything here runs on worker threads, on one burst at a time.
 */
#ifndef VNICD_PIPELINE_H
#define VNICD_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "vnicd/stats.h"

/** struct vn_vlan_cls - how ingress classified one frame. */
struct vn_vlan_cls {
	uint16_t seg;	   /* segment (VLAN ID, 0 = untagged LAN) */
	uint16_t pcp_dei;  /* PCP and DEI bits to put in a tag sent out (0xf000 of the TCI) */
	uint16_t tpid;	   /* TPID to use when the frame leaves tagged */
	bool tagged;	   /* the frame holds an outer tag at offset 12 that classification used */
	uint16_t tag_tci;  /* that tag's TCI as received (valid when @tagged) */
	uint16_t tag_tpid; /* that tag's TPID as received */
};

/* struct vn_meta.flags. VN_META_TRUNC: a header is cut short, more than three tags hide the
 * protocol, or more IPv6 extension headers than parse_ipv6() walks. VN_META_FRAG1: IPv6, the
 * first fragment of a datagram (a Fragment header with offset 0). */
#define VN_META_L34 0x1	  /* etype, l3_off, l4_off, l4_proto are parsed */
#define VN_META_FRAG 0x2  /* an IP fragment other than the first: no transport header */
#define VN_META_TRUNC 0x4 /* cut short (above) */
#define VN_META_FRAG1 0x8 /* an IPv6 first fragment (above) */

/**
 * struct vn_meta - a frame as the pipeline parsed it, once, at ingress; kept in the mbuf
 * (a registered dynamic field: vn_meta_of()). Written by the worker that received the
 * frame before forwarding; read-only afterwards (a flooded mbuf is shared).
 * L2 facts (@cast, @cl) are always set; L3/L4 facts only when @flags has VN_META_L34
 * (parsed on demand by vn_meta_parse_l34(), e.g. for anti-spoofing).
 */
struct vn_meta {
	struct vn_vlan_cls cl; /* VLAN classification (segment 0, untagged, without a policy) */
	uint8_t cast;	       /* enum vn_cast of the destination MAC */
	uint8_t l4_proto;      /* IP protocol of the transport header (valid when l4_off) */
	uint16_t etype;	       /* ethertype after every tag, host order */
	uint16_t l3_off;       /* offset of the network header */
	uint16_t l4_off;       /* offset of the transport header; 0: none or not parsed */
	uint16_t flags;	       /* VN_META_* */
};

/** Offset of struct vn_meta in every mbuf (vn_pipeline_init()). */
extern int vn_meta_offset;

/**
 * vn_pipeline_init() - register the mbuf dynamic field of struct vn_meta (once per process;
 * later calls return at once). Needs the EAL. Return: 0 or -errno.
 */
int vn_pipeline_init(void);

/**
 * vn_meta_at() - Return: the metadata of @m at offset @off (vn_meta_offset, read once per
 * burst into a local: a global is reloaded after every store the compiler cannot rule out).
 */
static inline struct vn_meta *vn_meta_at(const struct rte_mbuf *m, int off)
{
	return RTE_MBUF_DYNFIELD(m, off, struct vn_meta *);
}

/** vn_meta_of() - Return: the metadata of @m. */
static inline struct vn_meta *vn_meta_of(const struct rte_mbuf *m)
{
	return vn_meta_at(m, vn_meta_offset);
}

/** vn_meta_parse_l34_slow() - vn_meta_parse_l34() for every frame (tags, IPv6, chains). */
void vn_meta_parse_l34_slow(const struct rte_mbuf *m, struct vn_meta *md);

/**
 * vn_meta_parse_l34() - parse the network and transport headers of @m into @md, starting
 * after the tag that VLAN classification consumed (@md->cl), skipping up to two more tags
 * (802.1Q or 802.1ad); IPv4 without a chained first segment inline, the rest out of line
 * through rte_pktmbuf_read() (chained and short frames are safe).
 */
static __rte_always_inline void vn_meta_parse_l34(const struct rte_mbuf *m, struct vn_meta *md)
{
	const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
	uint16_t off = md->cl.tagged ? 16 : 12;
	const uint8_t *ip = d + off + 2;
	uint16_t et, frag;

	if (unlikely(rte_pktmbuf_data_len(m) < off + 2u + 24u))
		return vn_meta_parse_l34_slow(m, md);
	memcpy(&et, d + off, 2);
	if (unlikely(et != RTE_BE16(0x0800) || ip[0] < 0x45 || ip[0] > 0x4f))
		return vn_meta_parse_l34_slow(m, md);
	md->flags = VN_META_L34;
	md->etype = 0x0800;
	md->l3_off = off + 2;
	md->l4_proto = ip[9];
	memcpy(&frag, ip + 6, 2);
	if (unlikely(frag & RTE_BE16(0x1fff))) {
		md->flags |= VN_META_FRAG;
		md->l4_off = 0;
		return;
	}
	md->l4_off = (uint16_t)(off + 2 + (ip[0] & 0xf) * 4u);
}

/**
 * struct vn_vlan_map - a port whose frames carry their segment as an 802.1Q tag of their
 * own (an overlay port's --vni-map): at ingress the pipeline takes the outer 802.1Q tag off
 * each frame and leaves its VLAN ID in the mbuf's hash.usr (0: untagged) for the kind; at
 * delivery it tags each frame with @vlan[i] for the first @key[i] equal to the frame's
 * hash.usr (the kind's key: an overlay's VNI), sends it untagged for @vlan[i] 0, and drops
 * it when no key matches. Immutable once published.
 */
struct vn_vlan_map {
	uint8_t n;
	uint32_t key[8];
	uint16_t vlan[8];
};

/** vn_vlan_map_find() - Return: the VLAN of @key in @vm (0: untagged), or -1 when none. */
static inline int vn_vlan_map_find(const struct vn_vlan_map *vm, uint32_t key)
{
	for (uint8_t i = 0; i < vm->n; i++)
		if (vm->key[i] == key)
			return vm->vlan[i];
	return -1;
}

/* ---- the forwarding result of a network kind (struct vn_net_kind.forward) ---- */

/**
 * struct vn_leg - one delivery of a frame: to the single slot @one (when @dst is NULL), or to
 * the slots @dst[0..@nd) except @skip (-1: none) and, when @mask is not 0, only to slots
 * whose kind byte (struct vn_slot.kmode) has a bit of @mask. Each destination gets the frame
 * in its own VLAN form. What it reached is counted on slot @acct's rx_loc counters (the
 * farthest locality reached), or, when it reached nobody, as drop @none there. At the
 * destinations the frame counts as coming from locality @txloc.
 */
struct vn_leg {
	const uint16_t *dst;
	uint16_t one;
	uint16_t nd;
	int16_t skip;
	uint16_t acct;
	uint8_t mask;
	uint8_t txloc;
	uint8_t none; /* enum vn_drop_reason */
};

/** struct vn_fwd.drop when the kind already counted why it dropped the frame. */
#define VN_FWD_COUNTED VN_DROP__MAX

/** struct vn_fwd.nlegs of the common case: to slot @to, as vn_fwd_to() says. */
#define VN_FWD_TO 0xff

/**
 * struct vn_fwd - where one frame goes: @nlegs legs (0: dropped, @drop counted on the
 * ingress slot unless it is VN_FWD_COUNTED), or, with @nlegs VN_FWD_TO, to the single slot
 * @to (vn_fwd_to()). The pipeline owns the frame throughout; the kind only decides.
 */
struct vn_fwd {
	uint8_t nlegs;
	uint8_t drop;
	uint16_t to;
	struct vn_leg leg[2];
};

/**
 * vn_fwd_to() - the common case in two stores: the frame goes to slot @to only, counted on
 * the ingress slot (rx_loc, or drop policy when @to does not carry its segment), as coming
 * from the ingress port's locality.
 */
static inline void vn_fwd_to(struct vn_fwd *f, uint16_t to)
{
	f->nlegs = VN_FWD_TO;
	f->to = to;
}

/** vn_fwd_drop() - decide that the frame is dropped for @why (counted on the ingress slot). */
static inline void vn_fwd_drop(struct vn_fwd *f, enum vn_drop_reason why)
{
	f->nlegs = 0;
	f->drop = (uint8_t)why;
}

/** vn_leg_unicast() - Return: a leg to the single slot @dst (see struct vn_leg). */
static inline struct vn_leg vn_leg_unicast(uint16_t dst, uint16_t acct, uint8_t txloc,
					   enum vn_drop_reason none)
{
	return (struct vn_leg){
	    .one = dst, .nd = 1, .skip = -1, .acct = acct, .txloc = txloc, .none = (uint8_t)none};
}

/**
 * vn_fwd_leg() - add a leg to the slots @dst[0..@nd) but @skip (see struct vn_leg).
 * Return: the leg (to set its mask).
 */
static inline struct vn_leg *vn_fwd_leg(struct vn_fwd *f, const uint16_t *dst, uint16_t nd,
					int skip, uint16_t acct, uint8_t txloc,
					enum vn_drop_reason none)
{
	struct vn_leg *l = &f->leg[f->nlegs++];

	*l = (struct vn_leg){.dst = dst,
			     .nd = nd,
			     .skip = (int16_t)skip,
			     .acct = acct,
			     .txloc = txloc,
			     .none = (uint8_t)none};
	return l;
}

/** vn_fwd_unicast() - add a leg to the single slot @dst. */
static inline void vn_fwd_unicast(struct vn_fwd *f, uint16_t dst, uint16_t acct, uint8_t txloc,
				  enum vn_drop_reason none)
{
	f->leg[f->nlegs++] = vn_leg_unicast(dst, acct, txloc, none);
}

#endif

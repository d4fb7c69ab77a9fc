/* SPDX-License-Identifier: MIT */
/*
 * Private to policy/ and the pipeline (backend/pipeline.c, network kinds): the inline fast
 * paths of the per-vNIC policy contract (include/vnicd/policy.h) and their out-of-line
 * full versions. Worker threads; no allocation except the mbuf copies documented.
 */
#ifndef VNICD_POLICY_FASTPATH_H
#define VNICD_POLICY_FASTPATH_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_meter.h>

#include "vnicd/pipeline.h"
#include "vnicd/policy.h"

/** vn_policy_admits() - Return: true if @p (NULL: transparent port) carries segment @seg. */
static inline bool vn_policy_admits(const struct vn_port_policy *p, uint16_t seg)
{
	if (!p || !p->vlan_aware)
		return seg == 0;
	return (p->vlans[seg >> 6] >> (seg & 63)) & 1;
}

/** vn_vlan_classify_slow() - vn_vlan_classify() for every frame (tags, tunnels, refusals). */
int vn_vlan_classify_slow(const struct vn_port_policy *p, const struct rte_mbuf *m,
			  struct vn_vlan_cls *c);

/**
 * vn_vlan_classify() - classify frame @m (at least an Ethernet header in its first segment)
 * received on a port with policy @p (vlan_aware). Untagged frames on access, native and
 * trunk ports are classified inline; the rest goes to vn_vlan_classify_slow().
 * Return: 0 and @c filled, or -1 when the port's VLAN policy refuses it (VID 4095, a tag
 * cut short, a VLAN not admitted, a tagged frame on an access port).
 */
static __rte_always_inline int vn_vlan_classify(const struct vn_port_policy *p,
						const struct rte_mbuf *m, struct vn_vlan_cls *c)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	uint16_t et = rte_be_to_cpu_16(eth->ether_type);

	/* every TPID a port can use is 0x8100 or above (IPv4 and ARP are below) */
	if (likely(p->untagged_seg >= 0 &&
		   (et < VN_TPID_8021Q ||
		    (et != VN_TPID_8021Q && et != VN_TPID_8021AD && et != p->tpid)))) {
		c->seg = (uint16_t)p->untagged_seg;
		c->pcp_dei = 0;
		c->tpid = VN_TPID_8021Q;
		c->tagged = false;
		return 0;
	}
	if (et == VN_TPID_8021Q && p->tagged_in &&
	    rte_pktmbuf_data_len(m) >= RTE_ETHER_HDR_LEN + 4) {
		uint16_t tci = rte_be_to_cpu_16(*(const unaligned_uint16_t *)(eth + 1));
		uint16_t vid = tci & 0x0fff;

		if (likely(vid != 0 && vid != 0xfff && vn_policy_admits(p, vid))) {
			c->seg = vid;
			c->pcp_dei = tci & 0xf000;
			c->tpid = VN_TPID_8021Q;
			c->tagged = true;
			c->tag_tci = tci;
			c->tag_tpid = VN_TPID_8021Q;
			return 0;
		}
	}
	return vn_vlan_classify_slow(p, m, c);
}

/**
 * vn_vlan_egress_tagged() - Return: 1 if a frame of segment @seg leaves port @p tagged, 0
 * untagged, -1 if @p does not carry @seg.
 */
int vn_vlan_egress_tagged(const struct vn_port_policy *p, uint16_t seg);

/** vn_vlan_has_tag_ethertype() - Return: true if @m's ethertype at offset 12 is a TPID. */
static inline bool vn_vlan_has_tag_ethertype(const struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);

	return eth->ether_type == RTE_BE16(VN_TPID_8021Q) ||
	       eth->ether_type == RTE_BE16(VN_TPID_8021AD);
}

/**
 * vn_vlan_egress_seg_form() - the part of vn_vlan_egress_form() that depends on the segment
 * only (callers memoise it): the form in which a frame of segment @seg leaves a port with
 * policy @p (NULL: none), and in *@hop_check whether an untagged frame must still be checked
 * for a tag of its own. Return: 0 untagged, 1 tagged, -1 not at all.
 */
static inline int vn_vlan_egress_seg_form(const struct vn_port_policy *p, uint16_t seg,
					  bool *hop_check)
{
	int form = vn_vlan_egress_tagged(p, seg);

	*hop_check = form >= 0 && seg == 0 && p && p->vlan_aware;
	return form;
}

/**
 * vn_vlan_egress_form() - how frame @m, classified @cl, leaves a port with policy @p: 0
 * untagged, 1 tagged, -1 not at all (the port does not carry the segment, or a VLAN-aware
 * port would receive a frame that a transparent port sent with a tag of its own in the
 * untagged LAN: no VLAN hopping).
 */
static inline int vn_vlan_egress_form(const struct vn_port_policy *p, const struct vn_vlan_cls *cl,
				      const struct rte_mbuf *m)
{
	bool hop_check;
	int form = vn_vlan_egress_seg_form(p, cl->seg, &hop_check);

	if (hop_check && !cl->tagged && vn_vlan_has_tag_ethertype(m))
		return -1;
	return form;
}

/**
 * vn_vlan_needs_edit() - Return: true if a frame classified as @c must be changed to leave
 * @tagged (as vn_vlan_egress_tagged() said).
 */
static inline bool vn_vlan_needs_edit(const struct vn_vlan_cls *c, int tagged)
{
	if (!tagged)
		return c->tagged;
	return !c->tagged || c->tag_tpid != c->tpid ||
	       c->tag_tci != (uint16_t)(c->pcp_dei | c->seg);
}

/** vn_vlan_edit_slow() - vn_vlan_edit() on a copy of @m (shared, indirect or no headroom). */
struct rte_mbuf *vn_vlan_edit_slow(struct rte_mbuf *m, const struct vn_vlan_cls *c, int tagged);

/**
 * vn_vlan_writable() - Return: true if @m, classified as @c (so its first segment holds the
 * Ethernet header and the tag that @c says it has), may be edited in place to leave @tagged.
 */
static inline bool vn_vlan_writable(const struct rte_mbuf *m, const struct vn_vlan_cls *c,
				    int tagged)
{
	if (!RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) != 1)
		return false;
	return !tagged || c->tagged || rte_pktmbuf_headroom(m) >= 4;
}

/* Move the 12 bytes of MAC addresses at @from to @to (overlapping by 4 or 8 bytes) through
 * registers: both loads before the stores. */
static inline void vn_vlan_move_macs(uint8_t *to, const uint8_t *from)
{
	uint64_t a;
	uint32_t b;

	memcpy(&a, from, 8);
	memcpy(&b, from + 8, 4);
	memcpy(to, &a, 8);
	memcpy(to + 8, &b, 4);
}

/** vn_vlan_edit_in_place() - push, rewrite or strip the outer tag of @m (vn_vlan_writable()). */
static __rte_always_inline struct rte_mbuf *
vn_vlan_edit_in_place(struct rte_mbuf *m, const struct vn_vlan_cls *c, int tagged)
{
	uint8_t *d = rte_pktmbuf_mtod(m, uint8_t *);
	uint32_t tag;

	if (!tagged) { /* strip the outer tag */
		vn_vlan_move_macs(d + 4, d);
		m->data_off = (uint16_t)(m->data_off + 4);
		m->data_len = (uint16_t)(m->data_len - 4);
		m->pkt_len -= 4;
		return m;
	}
	if (!c->tagged) { /* push one: the MAC addresses move 4 bytes into the headroom */
		d -= 4;
		vn_vlan_move_macs(d, d + 4);
		m->data_off = (uint16_t)(m->data_off - 4);
		m->data_len = (uint16_t)(m->data_len + 4);
		m->pkt_len += 4;
	}
	tag = rte_cpu_to_be_32((uint32_t)c->tpid << 16 | (uint32_t)(c->pcp_dei | c->seg));
	memcpy(d + 12, &tag, 4);
	return m;
}

/**
 * vn_vlan_edit() - make @m leave @tagged (push, rewrite or strip the outer tag of @c).
 * Edits in place when the caller owns @m exclusively (refcnt 1, direct, headroom), else
 * works on a copy from @m's pool and drops one reference of @m.
 * Return: the frame to send (@m or the copy), or NULL when no buffer was free (@m's
 * reference dropped; count no_mbuf).
 */
static __rte_always_inline struct rte_mbuf *vn_vlan_edit(struct rte_mbuf *m,
							 const struct vn_vlan_cls *c, int tagged)
{
	if (likely(vn_vlan_writable(m, c, tagged)))
		return vn_vlan_edit_in_place(m, c, tagged);
	return vn_vlan_edit_slow(m, c, tagged);
}

/** vn_vlan_copy() - Return: a private copy of @m edited to leave @tagged, or NULL. */
struct rte_mbuf *vn_vlan_copy(const struct rte_mbuf *m, const struct vn_vlan_cls *c, int tagged);

/** vn_antispoof_check_slow() - vn_antispoof_check() for every frame. */
bool vn_antispoof_check_slow(const struct vn_port_policy *p, const struct rte_mbuf *m,
			     const struct vn_meta *md);

/**
 * vn_antispoof_dhcp_port() - Return: true if a UDP datagram from port @sport to port @dport
 * (both network order) may be DHCPv4 that the full check must see: from the server port 67,
 * or to port 67 (a client's request, or a reply to a relay) or 68 (a reply to a client).
 */
static __rte_always_inline bool vn_antispoof_dhcp_port(uint16_t sport, uint16_t dport)
{
	return sport == RTE_BE16(67) || dport == RTE_BE16(67) || dport == RTE_BE16(68);
}

/**
 * vn_antispoof_check() - clean-traffic checks of frame @m from a port with policy @p
 * (p->antispoof set), parsed into @md (VN_META_L34): source MAC, IPv4/IPv6 source, ARP
 * sender, ND options, DHCP server messages and router advertisements. The common case, an
 * IPv4 frame from an allowed source that is not a UDP datagram from port 67 or to port 67
 * or 68 (vn_antispoof_dhcp_port()), passes inline;
 * anything else goes to vn_antispoof_check_slow(), which reads through rte_pktmbuf_read(),
 * so chained and short frames are safe. @mac_ok: the caller knows the source MAC passes (a
 * frame of the same burst from it passed), so the lock-MAC compare is skipped.
 * Return: true if it may pass.
 */
static __rte_always_inline bool vn_antispoof_check(const struct vn_port_policy *p,
						   const struct rte_mbuf *m,
						   const struct vn_meta *md, bool mac_ok)
{
	const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t src;
	uint16_t sport, dport;

	if (p->lock_mac && !mac_ok &&
	    !rte_is_same_ether_addr((const struct rte_ether_addr *)(d + 6), &p->mac))
		return false;
	/* IPv4, not a later fragment, the source address and the UDP ports in the first
	 * segment */
	if (unlikely(md->etype != 0x0800 || md->l4_off == 0 ||
		     rte_pktmbuf_data_len(m) < md->l4_off + 4u))
		return vn_antispoof_check_slow(p, m, md);
	memcpy(&src, d + md->l3_off + 12, 4);
	if (unlikely(p->ip_guard && !(p->nr_ip4 && src == p->ip4[0])))
		return vn_antispoof_check_slow(p, m, md); /* not the first IP */
	if (md->l4_proto != 17)
		return true;
	memcpy(&sport, d + md->l4_off, 2);
	memcpy(&dport, d + md->l4_off + 2, 2);
	if (unlikely(vn_antispoof_dhcp_port(sport, dport)))
		return vn_antispoof_check_slow(p, m, md); /* a DHCP server? */
	return true;
}

/**
 * vn_meter_conform() - police one frame of @len bytes at time @tsc: the peak bucket first
 * (when there is one), then the average bucket; only a frame that conforms to both passes,
 * so the long-run rate is the average and no interval exceeds peak x time + its depth.
 * The caller holds @mt->lock and passes a @tsc that does not go backwards (vn_meter_clamp()).
 * Return: true if it may pass.
 */
static inline bool vn_meter_conform(struct vn_meter *mt, uint32_t len, uint64_t tsc)
{
	if (mt->has_peak && rte_meter_srtcm_color_blind_check(&mt->peak, &mt->peak_prof, tsc,
							      len) != RTE_COLOR_GREEN)
		return false;
	return rte_meter_srtcm_color_blind_check(&mt->avg, &mt->avg_prof, tsc, len) ==
	       RTE_COLOR_GREEN;
}

/**
 * vn_meter_clamp() - Return: @tsc, or the meter's own last time when @tsc is older (a burst
 * that read the clock before the meter was made). Caller holds @mt->lock.
 */
static inline uint64_t vn_meter_clamp(const struct vn_meter *mt, uint64_t tsc)
{
	if ((int64_t)(tsc - mt->avg.time) < 0)
		tsc = mt->avg.time;
	if (mt->has_peak && (int64_t)(tsc - mt->peak.time) < 0)
		tsc = mt->peak.time;
	return tsc;
}

/**
 * vn_antispoof_ingress() - parse frame @m's network and transport headers into @md
 * (vn_meta_parse_l34()) and apply the clean-traffic checks of @p (vn_antispoof_check()) in
 * one go: an IPv4 frame without options, whose header and UDP ports are in the first
 * segment, is parsed and checked inline without validating twice; anything else takes the
 * out-of-line parse and check. @mac_ok as for vn_antispoof_check(). Return: true if it may
 * pass.
 */
static __rte_always_inline bool vn_antispoof_ingress(const struct vn_port_policy *p,
						     const struct rte_mbuf *m, struct vn_meta *md,
						     bool mac_ok)
{
	const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
	uint16_t off = md->cl.tagged ? 16 : 12, frag, sport, dport;
	const uint8_t *ip = d + off + 2;
	uint32_t head, src;

	if (p->lock_mac && !mac_ok &&
	    !rte_is_same_ether_addr((const struct rte_ether_addr *)(d + 6), &p->mac))
		return false;
	/* ethertype 0x0800 and version/IHL 0x45 in one load, the UDP ports in the segment */
	if (unlikely(rte_pktmbuf_data_len(m) < off + 2u + 24u))
		goto out_slow;
	memcpy(&head, d + off, 4);
	if (unlikely((head & RTE_BE32(0xffffff00)) != RTE_BE32(0x08004500)))
		goto out_slow;
	md->flags = VN_META_L34;
	md->etype = 0x0800;
	md->l3_off = off + 2;
	md->l4_proto = ip[9];
	memcpy(&frag, ip + 6, 2);
	if (unlikely(frag & RTE_BE16(0x1fff))) { /* a later fragment: the full check */
		md->flags |= VN_META_FRAG;
		md->l4_off = 0;
		return vn_antispoof_check_slow(p, m, md);
	}
	md->l4_off = off + 22;
	memcpy(&src, ip + 12, 4);
	if (unlikely(p->ip_guard && !(p->nr_ip4 && src == p->ip4[0])))
		return vn_antispoof_check_slow(p, m, md); /* not the first IP */
	if (ip[9] != 17)
		return true;
	memcpy(&sport, ip + 20, 2);
	memcpy(&dport, ip + 22, 2);
	if (unlikely(vn_antispoof_dhcp_port(sport, dport)))
		return vn_antispoof_check_slow(p, m, md); /* a DHCP server? */
	return true;

out_slow:
	vn_meta_parse_l34_slow(m, md);
	return vn_antispoof_check_slow(p, m, md);
}

#endif

/* SPDX-License-Identifier: MIT */
/* VLAN on the data path: classify a received frame to a segment, tag/untag it per egress port. */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "policy/fastpath.h"
#include "vnicd/policy.h"

static inline bool is_tpid(uint16_t t, const struct vn_port_policy *p)
{
	return t == VN_TPID_8021Q || t == VN_TPID_8021AD || t == p->tpid;
}

int vn_vlan_classify_slow(const struct vn_port_policy *p, const struct rte_mbuf *m,
			  struct vn_vlan_cls *c)
{
	const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
	uint16_t etype = (uint16_t)(d[12] << 8 | d[13]);
	uint16_t vid;

	c->tagged = false;
	c->pcp_dei = 0;
	c->tpid = VN_TPID_8021Q;
	if (p->vlan_mode == VN_VLAN_DOT1Q_TUNNEL) {
		/* the customer's frame, tags and all, travels inside S-VLAN p->vlan */
		c->seg = p->vlan;
		c->tpid = p->tpid;
		return 0;
	}
	if (is_tpid(etype, p)) {
		if (rte_pktmbuf_data_len(m) < RTE_ETHER_HDR_LEN + 4)
			return -1; /* tag cut short */
		c->tagged = true;
		c->tag_tpid = etype;
		c->tag_tci = (uint16_t)(d[14] << 8 | d[15]);
		c->pcp_dei = c->tag_tci & 0xf000;
		c->tpid = etype;
		vid = c->tag_tci & 0x0fff;
		if (vid == 0xfff)
			return -1;
		if (vid != 0) { /* VID 0 is a priority tag: untagged for membership */
			if (p->vlan_mode == VN_VLAN_ACCESS)
				return -1;
			if (!vn_policy_admits(p, vid))
				return -1;
			c->seg = vid;
			return 0;
		}
		c->tpid = VN_TPID_8021Q;
	}
	switch (p->vlan_mode) {
	case VN_VLAN_ACCESS:
	case VN_VLAN_NATIVE_UNTAGGED:
	case VN_VLAN_NATIVE_TAGGED:
		c->seg = p->vlan;
		return 0;
	case VN_VLAN_TRUNK:
		if (!(p->vlans[0] & 1))
			return -1; /* untagged on a trunk without the untagged LAN */
		c->seg = 0;
		return 0;
	default:
		c->seg = 0;
		return 0;
	}
}

int vn_vlan_egress_tagged(const struct vn_port_policy *p, uint16_t seg)
{
	if (!p || !p->vlan_aware)
		return seg == 0 ? 0 : -1;
	switch (p->vlan_mode) {
	case VN_VLAN_ACCESS:
	case VN_VLAN_DOT1Q_TUNNEL:
		return seg == p->vlan ? 0 : -1;
	case VN_VLAN_NATIVE_UNTAGGED:
		if (seg == p->vlan)
			return 0;
		break;
	case VN_VLAN_NATIVE_TAGGED:
		if (seg == p->vlan)
			return 1;
		break;
	default:
		break;
	}
	if (!vn_policy_admits(p, seg))
		return -1;
	return seg == 0 ? 0 : 1;
}

struct rte_mbuf *vn_vlan_copy(const struct rte_mbuf *m, const struct vn_vlan_cls *c, int tagged)
{
	struct rte_mbuf *n = rte_pktmbuf_copy(m, m->pool, 0, UINT32_MAX);

	if (!n)
		return NULL;
	if (!vn_vlan_writable(n, c, tagged)) { /* a copy always has headroom; guard anyway */
		rte_pktmbuf_free(n);
		return NULL;
	}
	return vn_vlan_edit_in_place(n, c, tagged);
}

struct rte_mbuf *vn_vlan_edit_slow(struct rte_mbuf *m, const struct vn_vlan_cls *c, int tagged)
{
	struct rte_mbuf *n = vn_vlan_copy(m, c, tagged);

	rte_pktmbuf_free(m);
	return n;
}

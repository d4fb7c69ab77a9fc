/* SPDX-License-Identifier: MIT */
/* Macvtap networks: the frame-by-frame rules of Linux drivers/net/macvlan.c, hairpin emulation. */
#include <errno.h>
#include <string.h>

#include <rte_branch_prediction.h>

#include "vnicd/bridge.h"
#include "vnicd/policy.h"
#include "vnicd/uplink.h"

/*
 * The kernel's rules, as this file applies them (macvlan_queue_xmit, macvlan_handle_frame,
 * macvlan_multicast_rx; "local" = a port of the network other than its uplink):
 *
 * From a local port:
 *   passthru             everything to the uplink
 *   bridge, multicast    to the other bridge-mode ports, and to the uplink
 *   bridge, unicast      to the destination if it is a bridge-mode port, else to the uplink
 *   vepa, private        everything to the uplink
 * From the uplink (the wire, or vnicd's own reflection with --hairpin emulated):
 *   passthru network     everything to its one port
 *   multicast, source not local           to every local port
 *   multicast, source a vepa port         to the vepa and bridge ports but the source
 *   multicast, source a bridge port       to the vepa ports but the source
 *   multicast, source private/passthru    back to the source only ("forward to original
 *                                         port")
 *   unicast              to the local port owning the destination MAC, else nowhere.
 *                        Deliberate difference: a private port does not get a unicast whose
 *                        source is another local port (the kernel delivers it).
 *
 * Hairpin emulation: what a local port sends to the uplink is also taken as received from
 * the uplink (after the uplink's egress, so it keeps its VLAN segment when the uplink carries
 * it), exactly as an adjacent bridge in hairpin mode would reflect it, and counted on the
 * uplink port as sent and received. A unicast to a local port is then not put on the wire
 * at all; a multicast goes out and is reflected. Frames from the wire whose source is a
 * local port are dropped (filtered): vnicd already reflected them.
 */

/* Everything a decision needs about the frame being forwarded. */
struct mvt {
	struct vn_worker *w;
	const struct vn_dp_table *t;
	const struct vn_net *net;
	uint16_t up; /* slot of the uplink */
	struct rte_mbuf *m;
	const struct rte_ether_hdr *eth;
	const struct vn_vlan_cls *cl;
	uint8_t cast;
	uint32_t len;
};

#define ALL_MODES (VN_MVT_PRIVATE | VN_MVT_VEPA | VN_MVT_BRIDGE | VN_MVT_PASSTHRU)

const char *vn_mvt_mode_name(unsigned mode)
{
	switch (mode) {
	case VN_MVT_PRIVATE:
		return "private";
	case VN_MVT_VEPA:
		return "vepa";
	case VN_MVT_BRIDGE:
		return "bridge";
	case VN_MVT_PASSTHRU:
		return "passthru";
	default:
		return "?";
	}
}

int vn_mvt_mode_parse(const char *s)
{
	static const unsigned modes[] = {VN_MVT_VEPA, VN_MVT_BRIDGE, VN_MVT_PRIVATE,
					 VN_MVT_PASSTHRU};

	for (size_t i = 0; s && i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(s, vn_mvt_mode_name(modes[i])) == 0)
			return (int)modes[i];
	return -EINVAL;
}

const char *vn_hairpin_name(unsigned hairpin)
{
	return hairpin == VN_HAIRPIN_EMULATED ? "emulated" : "external";
}

int vn_hairpin_parse(const char *s)
{
	if (s && strcmp(s, "external") == 0)
		return VN_HAIRPIN_EXTERNAL;
	if (s && strcmp(s, "emulated") == 0)
		return VN_HAIRPIN_EMULATED;
	return -EINVAL;
}

/* The local port that owns MAC @a, or -1. */
static inline int owner(const struct mvt *x, const struct rte_ether_addr *a)
{
	int s = vn_fdb_lookup(x->net->fdb, 0, a);

	if (s < 0 || s >= x->t->nr_slots || s == x->up || !x->t->ports[s] ||
	    x->t->ports[s]->net != x->net)
		return -1;
	return s;
}

/* The local ports whose mode is in @modes, except @skip, into @d. Return: how many. */
static uint16_t pick(const struct mvt *x, unsigned modes, int skip, uint16_t *d)
{
	const uint16_t *mem = x->t->flood[x->up];
	uint16_t n = 0;

	for (uint16_t i = 0; i < x->t->flood_n[x->up]; i++) {
		uint16_t s = mem[i];
		if (s != x->up && (int)s != skip && (x->t->ports[s]->mvt_mode & modes))
			d[n++] = s;
	}
	return n;
}

/* Count what reached its destinations (1 + locality from vn_dp_deliver()) or the drop. */
static inline void account(struct vn_port_counters *c, int r, enum vn_drop_reason none,
			   uint32_t len)
{
	if (likely(r > 0)) {
		c->rx_loc_pkts[r - 1]++;
		c->rx_loc_bytes[r - 1] += len;
	} else {
		c->drops[none]++;
	}
}

static inline void drop(struct vn_port_counters *c, enum vn_drop_reason why, struct rte_mbuf *m)
{
	c->drops[why]++;
	rte_pktmbuf_free(m);
}

/*
 * A frame (one reference of @m) that the uplink received, counted on @cu; @src is the local
 * port its source MAC belongs to, or -1.
 */
static void from_uplink(const struct mvt *x, struct vn_port_counters *cu, struct rte_mbuf *m,
			int src)
{
	uint16_t d[VN_MAX_PORTS_HARD];
	uint16_t nd;
	int dst, r;

	if (x->net->mode == VN_MVT_PASSTHRU) {
		nd = pick(x, ALL_MODES, -1, d);
	} else if (x->cast != VN_UCAST) {
		if (src < 0) {
			nd = pick(x, ALL_MODES, -1, d);
		} else if (x->t->ports[src]->mvt_mode == VN_MVT_VEPA) {
			nd = pick(x, VN_MVT_VEPA | VN_MVT_BRIDGE, src, d);
		} else if (x->t->ports[src]->mvt_mode == VN_MVT_BRIDGE) {
			nd = pick(x, VN_MVT_VEPA, src, d); /* bridge ports saw it on the way out */
		} else {
			d[0] = (uint16_t)src; /* private: back to the original port only */
			nd = 1;
		}
	} else {
		dst = owner(x, &x->eth->dst_addr);
		if (dst < 0) {
			drop(cu, VN_DROP_NO_DEST, m);
			return;
		}
		if (src >= 0 && src != dst && x->t->ports[dst]->mvt_mode == VN_MVT_PRIVATE) {
			drop(cu, VN_DROP_FILTERED, m); /* private isolation, also for unicast */
			return;
		}
		d[0] = (uint16_t)dst;
		nd = 1;
	}
	if (nd == 0) {
		drop(cu, VN_DROP_NO_DEST, m);
		return;
	}
	r = vn_dp_deliver(x->w, x->t, cu, d, nd, -1, m, x->cl, x->cast, VN_LOC_EXTERNAL);
	account(cu, r, x->cast == VN_UCAST ? VN_DROP_POLICY : VN_DROP_NO_DEST, x->len);
}

/*
 * Hairpin emulation: the uplink sends one reference of @m back as an adjacent bridge in
 * hairpin mode would; it is counted as the uplink's rx. @src: the local port that sent it.
 */
static void reflect(const struct mvt *x, struct rte_mbuf *m, int src)
{
	struct vn_port_counters *cu = vn_dp_worker_ctr(x->w, x->up);

	cu->rx_packets++;
	cu->rx_bytes += x->len;
	cu->rx_cast_pkts[x->cast]++;
	cu->rx_cast_bytes[x->cast] += x->len;
	from_uplink(x, cu, m, src);
}

void vn_mvt_forward(struct vn_worker *w, const struct vn_dp_table *t, struct vn_port *in,
		    struct rte_mbuf *m, const struct vn_vlan_cls *cl, uint8_t cast, uint32_t len)
{
	struct vn_port_counters *c = vn_dp_worker_ctr(w, in->slot);
	const struct vn_port *up = in->net->uplink;
	struct mvt x = {.w = w,
			.t = t,
			.net = in->net,
			.m = m,
			.eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *),
			.cl = cl,
			.cast = cast,
			.len = len};
	bool emulated = __atomic_load_n(&in->net->hairpin, __ATOMIC_RELAXED) == VN_HAIRPIN_EMULATED;
	uint16_t d[VN_MAX_PORTS_HARD];
	uint16_t nd;
	int dst, r;

	if (unlikely(!up || up->slot >= t->nr_slots || t->ports[up->slot] != up)) {
		drop(c, VN_DROP_NO_DEST, m); /* the network is being made or removed */
		return;
	}
	x.up = up->slot;
	if (in == up) {
		int src = owner(&x, &x.eth->src_addr);
		if (src >= 0 && emulated) {
			drop(c, VN_DROP_FILTERED, m);
			return;
		}
		from_uplink(&x, c, m, src);
		return;
	}
	if (in->mvt_mode == VN_MVT_PASSTHRU) {
		r = vn_dp_deliver(w, t, c, &x.up, 1, -1, m, cl, cast, in->locality);
		account(c, r, VN_DROP_POLICY, len);
		return;
	}
	if (cast != VN_UCAST) {
		nd = in->mvt_mode == VN_MVT_BRIDGE ? pick(&x, VN_MVT_BRIDGE, in->slot, d) : 0;
		d[nd++] = x.up;
		if (emulated && vn_dp_egress_form(w, x.up, cl, m) >= 0) {
			/* one reference for the wire, one reflected */
			rte_mbuf_refcnt_update(m, 1);
			r = vn_dp_deliver(w, t, c, d, nd, -1, m, cl, cast, in->locality);
			account(c, r, VN_DROP_NO_DEST, len);
			reflect(&x, m, in->slot);
			return;
		}
		r = vn_dp_deliver(w, t, c, d, nd, -1, m, cl, cast, in->locality);
		account(c, r, VN_DROP_NO_DEST, len);
		return;
	}
	dst = owner(&x, &x.eth->dst_addr);
	if (in->mvt_mode == VN_MVT_BRIDGE && dst >= 0 && t->ports[dst]->mvt_mode == VN_MVT_BRIDGE) {
		if (unlikely(dst == in->slot)) {
			drop(c, VN_DROP_SAME_PORT, m);
			return;
		}
		d[0] = (uint16_t)dst;
		r = vn_dp_deliver(w, t, c, d, 1, -1, m, cl, cast, in->locality);
		account(c, r, VN_DROP_POLICY, len);
		return;
	}
	if (emulated && dst >= 0) {
		/* the relay turns it around before the wire: sent and received by the uplink */
		struct vn_port_counters *cu = vn_dp_worker_ctr(w, x.up);

		if (vn_dp_egress_form(w, x.up, cl, m) < 0) {
			drop(c, VN_DROP_POLICY, m); /* the uplink does not carry its VLAN */
			return;
		}
		c->rx_loc_pkts[VN_LOC_EXTERNAL]++;
		c->rx_loc_bytes[VN_LOC_EXTERNAL] += len;
		cu->tx_packets++;
		cu->tx_bytes += len;
		cu->tx_cast_pkts[cast]++;
		cu->tx_cast_bytes[cast] += len;
		cu->tx_loc_pkts[in->locality]++;
		cu->tx_loc_bytes[in->locality] += len;
		reflect(&x, m, in->slot);
		return;
	}
	r = vn_dp_deliver(w, t, c, &x.up, 1, -1, m, cl, cast, in->locality);
	account(c, r, VN_DROP_POLICY, len);
}

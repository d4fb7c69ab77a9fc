/* SPDX-License-Identifier: MIT */
/* The macvtap network kind: the frame-by-frame rules of Linux drivers/net/macvlan.c around one
 * uplink, VEPA hairpin emulation, and the networks' control (modes, MACs, passthru). */
#include <errno.h>
#include <string.h>

#include <rte_branch_prediction.h>

#include "vnicd/args.h"
#include "vnicd/bridge.h"
#include "vnicd/datapath.h"
#include "vnicd/log.h"
#include "vnicd/mac.h"
#include "vnicd/macvtap.h"
#include "vnicd/net.h"
#include "policy/fastpath.h"
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

#define ALL_MODES (VN_MVT_PRIVATE | VN_MVT_VEPA | VN_MVT_BRIDGE | VN_MVT_PASSTHRU)

/* A macvtap network: the common part, its ports' mode, who reflects, the uplink's promiscuity. */
struct mvt_net {
	struct vn_net base;
	uint8_t mode;	 /* enum vn_mvt_mode of its ports */
	uint8_t hairpin; /* enum vn_hairpin; atomic (`net set` changes it under traffic) */
	bool nopromisc;	 /* passthru: leave the uplink's promiscuity alone */
};

static inline struct mvt_net *mvt_of(struct vn_net *n)
{
	return (struct mvt_net *)n;
}

static inline const struct mvt_net *cmvt_of(const struct vn_net *n)
{
	return (const struct mvt_net *)n;
}

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

/* Everything a decision needs about the frame being forwarded. */
struct mvt {
	const struct vn_fwd_ctx *x;
	const struct mvt_net *net;
	uint16_t up; /* slot of the uplink */
	struct rte_mbuf *m;
	const struct rte_ether_hdr *eth;
	const struct vn_meta *md;
	struct vn_trace *tr; /* a dry run (trace.h); NULL, a constant, on the fast path */
};

/* The local port that owns MAC @a, or -1. */
static __rte_always_inline int owner(const struct mvt *x, const struct rte_ether_addr *a)
{
	const struct vn_dp_table *t = x->x->t;
	int s = vn_fdb_lookup(x->net->base.fdb, 0, a);

	if (s < 0 || s >= t->nr_slots || s == x->up || !t->slots[s].port ||
	    t->slots[s].net != &x->net->base)
		return -1;
	return s;
}

/* Return: true if some local port whose mode is in @modes, other than @skip, exists. */
static __rte_always_inline bool any(const struct mvt *x, unsigned modes, int skip)
{
	const struct vn_dp_table *t = x->x->t;
	const uint16_t *mem = t->flood[x->up];

	for (uint16_t i = 0; i < t->flood_n[x->up]; i++)
		if ((int)mem[i] != skip && (t->slots[mem[i]].kmode & modes))
			return true;
	return false;
}

/* A leg to the local ports whose mode is in @modes, except @skip. */
static __rte_always_inline void pick(const struct mvt *x, struct vn_fwd *f, unsigned modes,
				     int skip, uint16_t acct, uint8_t txloc,
				     enum vn_drop_reason none)
{
	const struct vn_dp_table *t = x->x->t;

	vn_fwd_leg(f, t->flood[x->up], t->flood_n[x->up], skip, acct, txloc, none)->mask =
	    (uint8_t)modes;
}

/* Count drop @why on the uplink's counters (what it received goes nowhere). */
static __rte_always_inline void up_drop(const struct mvt *x, struct vn_fwd *f,
					enum vn_drop_reason why)
{
	VN_TRACE(x->tr, "forward", "drop", "macvtap: counted on the uplink as %s",
		 vn_drop_name(why));
	x->x->ctr[x->up].drops[why]++;
	if (f->nlegs == 0)
		f->drop = VN_FWD_COUNTED;
}

/*
 * A frame that the uplink received (from the wire, or reflected): its leg, counted on the
 * uplink's counters; @src is the local port its source MAC belongs to, or -1.
 */
static __rte_always_inline void from_uplink(const struct mvt *x, struct vn_fwd *f, int src)
{
	const struct vn_slot *sl = x->x->t->slots;
	uint8_t cast = x->md->cast;
	enum vn_drop_reason none = cast == VN_UCAST ? VN_DROP_POLICY : VN_DROP_NO_DEST;
	int dst;

	if (x->net->mode == VN_MVT_PASSTHRU || (cast != VN_UCAST && src < 0)) {
		VN_TRACE(x->tr, "macvtap", "rule", "from the uplink: %s: to every local port",
			 x->net->mode == VN_MVT_PASSTHRU ? "passthru network"
							 : "multicast whose source is not local");
		if (!any(x, ALL_MODES, -1))
			return up_drop(x, f, VN_DROP_NO_DEST);
		return pick(x, f, ALL_MODES, -1, x->up, VN_LOC_EXTERNAL, none);
	}
	if (cast != VN_UCAST) {
		unsigned modes = sl[src].kmode == VN_MVT_VEPA ? VN_MVT_VEPA | VN_MVT_BRIDGE
				 : sl[src].kmode == VN_MVT_BRIDGE
				     ? VN_MVT_VEPA /* saw it going out */
				     : 0;
		VN_TRACE(x->tr, "macvtap", "rule",
			 "from the uplink: multicast whose source is local port %s (%s mode): %s",
			 vn_trace_slot_name(x->tr, (uint16_t)src), vn_mvt_mode_name(sl[src].kmode),
			 modes == (VN_MVT_VEPA | VN_MVT_BRIDGE)
			     ? "to the vepa and bridge ports but it"
			 : modes ? "to the vepa ports but it"
				 : "back to the original port only");
		if (!modes) /* private: back to the original port only */
			return vn_fwd_unicast(f, (uint16_t)src, x->up, VN_LOC_EXTERNAL, none);
		if (!any(x, modes, src))
			return up_drop(x, f, VN_DROP_NO_DEST);
		return pick(x, f, modes, src, x->up, VN_LOC_EXTERNAL, none);
	}
	dst = owner(x, &x->eth->dst_addr);
	if (unlikely(x->tr != NULL))
		vn_trace_lookup(x->tr, "port MACs", 0, &x->eth->dst_addr, dst);
	if (dst < 0) {
		VN_TRACE(x->tr, "macvtap", "rule", "from the uplink: unicast to no local port");
		return up_drop(x, f, VN_DROP_NO_DEST);
	}
	if (src >= 0 && src != dst && sl[dst].kmode == VN_MVT_PRIVATE) {
		VN_TRACE(x->tr, "macvtap", "rule",
			 "from the uplink: private port %s does not get a unicast from local "
			 "port %s",
			 vn_trace_slot_name(x->tr, (uint16_t)dst),
			 vn_trace_slot_name(x->tr, (uint16_t)src));
		return up_drop(x, f, VN_DROP_FILTERED); /* private isolation, also for unicast */
	}
	VN_TRACE(x->tr, "macvtap", "rule", "from the uplink: unicast to local port %s",
		 vn_trace_slot_name(x->tr, (uint16_t)dst));
	vn_fwd_unicast(f, (uint16_t)dst, x->up, VN_LOC_EXTERNAL, none);
}

/*
 * Hairpin emulation: the uplink takes the frame back as an adjacent bridge in hairpin mode
 * would; it is counted as the uplink's rx. @src: the local port that sent it.
 */
static __rte_always_inline void reflect(const struct mvt *x, struct vn_fwd *f, int src)
{
	struct vn_port_counters *cu = &x->x->ctr[x->up];
	uint32_t len = rte_pktmbuf_pkt_len(x->m);

	cu->rx_packets++;
	cu->rx_bytes += len;
	cu->rx_cast_pkts[x->md->cast]++;
	cu->rx_cast_bytes[x->md->cast] += len;
	VN_TRACE(x->tr, "macvtap", "hairpin",
		 "hairpin emulated: taken back as received on the uplink (as an adjacent bridge "
		 "in hairpin mode would reflect it)");
	from_uplink(x, f, src);
}

/* A unicast to local port @dst that the relay turns around before the wire: sent and
 * received by the uplink, counted so, then reflected. */
static __rte_always_inline void hairpin_unicast(const struct mvt *x, struct vn_fwd *f)
{
	const struct vn_fwd_ctx *c = x->x;
	struct vn_port_counters *ci = &c->ctr[c->in_slot], *cu = &c->ctr[x->up];
	uint32_t len = rte_pktmbuf_pkt_len(x->m);
	uint8_t cast = x->md->cast;

	if (vn_vlan_egress_form(c->t->slots[x->up].pol, &x->md->cl, x->m) < 0) {
		VN_TRACE(x->tr, "forward", "drop", "the uplink does not carry VLAN %u",
			 x->md->cl.seg);
		return vn_fwd_drop(f, VN_DROP_POLICY); /* the uplink does not carry its VLAN */
	}
	VN_TRACE(x->tr, "macvtap", "hairpin",
		 "unicast to a local port: turned around before the wire (hairpin emulated)");
	ci->rx_loc_pkts[VN_LOC_EXTERNAL]++;
	ci->rx_loc_bytes[VN_LOC_EXTERNAL] += len;
	cu->tx_packets++;
	cu->tx_bytes += len;
	cu->tx_cast_pkts[cast]++;
	cu->tx_cast_bytes[cast] += len;
	cu->tx_loc_pkts[c->in->locality]++;
	cu->tx_loc_bytes[c->in->locality] += len;
	reflect(x, f, c->in_slot);
}

/* A frame from local port in (mode @mode): the kernel's rules for its mode. */
static __rte_always_inline void from_local(const struct mvt *x, struct vn_fwd *f, uint8_t mode,
					   bool emulated)
{
	const struct vn_fwd_ctx *c = x->x;
	uint16_t in = c->in_slot;
	uint8_t loc = c->in->locality;
	int dst;

	if (mode == VN_MVT_PASSTHRU) {
		VN_TRACE(x->tr, "macvtap", "rule", "passthru: everything to the uplink");
		return vn_fwd_unicast(f, x->up, in, loc, VN_DROP_POLICY);
	}
	if (x->md->cast != VN_UCAST) { /* to the other bridge ports (bridge mode) and the wire */
		VN_TRACE(x->tr, "macvtap", "rule", "%s mode, multicast: %s%s",
			 vn_mvt_mode_name(mode),
			 mode == VN_MVT_BRIDGE ? "to the other bridge ports and the uplink"
					       : "to the uplink",
			 emulated ? "; reflected (hairpin emulated)" : "");
		if (mode == VN_MVT_BRIDGE)
			pick(x, f, VN_MVT_BRIDGE | VN_MVT_UPLINK, in, in, loc, VN_DROP_NO_DEST);
		else
			vn_fwd_unicast(f, x->up, in, loc, VN_DROP_NO_DEST);
		if (emulated && vn_vlan_egress_form(c->t->slots[x->up].pol, &x->md->cl, x->m) >= 0)
			reflect(x, f, in); /* and reflected */
		return;
	}
	dst = owner(x, &x->eth->dst_addr);
	if (unlikely(x->tr != NULL))
		vn_trace_lookup(x->tr, "port MACs", 0, &x->eth->dst_addr, dst);
	if (mode == VN_MVT_BRIDGE && dst >= 0 && c->t->slots[dst].kmode == VN_MVT_BRIDGE) {
		if (unlikely(dst == in))
			return vn_fwd_drop(f, VN_DROP_SAME_PORT);
		VN_TRACE(x->tr, "macvtap", "rule",
			 "bridge mode, unicast to bridge port %s: delivered directly",
			 vn_trace_slot_name(x->tr, (uint16_t)dst));
		return vn_fwd_unicast(f, (uint16_t)dst, in, loc, VN_DROP_POLICY);
	}
	if (emulated && dst >= 0)
		return hairpin_unicast(x, f);
	VN_TRACE(x->tr, "macvtap", "rule", "%s mode, unicast%s: to the uplink",
		 vn_mvt_mode_name(mode), dst >= 0 ? " to a local port" : "");
	vn_fwd_unicast(f, x->up, in, loc, VN_DROP_POLICY);
}

static __rte_always_inline void mvt_forward_as(const struct vn_fwd_ctx *c,
					       struct rte_mbuf *const *pkts, uint16_t n,
					       struct vn_fwd *f, struct vn_trace *tr)
{
	const struct mvt_net *net = cmvt_of(c->in->net);
	const struct vn_port *up = net->base.uplink;
	const struct vn_dp_table *t = c->t;
	bool emulated = __atomic_load_n(&net->hairpin, __ATOMIC_RELAXED) == VN_HAIRPIN_EMULATED;
	struct mvt x = {.x = c, .net = net, .tr = tr};

	for (uint16_t i = 0; i < n; i++) {
		f[i].nlegs = 0;
		if (unlikely(!up || up->slot >= t->nr_slots || t->slots[up->slot].port != up)) {
			VN_TRACE(tr, "forward", "drop", "macvtap: the network has no uplink now");
			vn_fwd_drop(&f[i], VN_DROP_NO_DEST); /* being made or removed */
			continue;
		}
		x.up = up->slot;
		x.m = pkts[i];
		x.eth = rte_pktmbuf_mtod(pkts[i], const struct rte_ether_hdr *);
		x.md = vn_meta_of(pkts[i]);
		if (c->in_slot == x.up) {
			int src = owner(&x, &x.eth->src_addr);
			if (src >= 0 && emulated) { /* vnicd reflected it already */
				VN_TRACE(
				    tr, "macvtap", "rule",
				    "from the wire with a local port's source: vnicd reflected "
				    "it already (hairpin emulated)");
				vn_fwd_drop(&f[i], VN_DROP_FILTERED);
			} else {
				from_uplink(&x, &f[i], src);
			}
			continue;
		}
		from_local(&x, &f[i], c->in->kmode, emulated);
	}
}

static __rte_noinline void mvt_forward_traced(const struct vn_fwd_ctx *c,
					      struct rte_mbuf *const *pkts, uint16_t n,
					      struct vn_fwd *f)
{
	mvt_forward_as(c, pkts, n, f, c->trace);
}

static void mvt_forward(const struct vn_fwd_ctx *c, struct rte_mbuf *const *pkts, uint16_t n,
			struct vn_fwd *f)
{
	if (unlikely(c->trace != NULL)) /* a dry run (trace.h): once per burst */
		return mvt_forward_traced(c, pkts, n, f);
	mvt_forward_as(c, pkts, n, f, NULL);
}

/* ---- control (the control thread) ---- */

static const char *const mvt_keys[] = {"mode", "hairpin", "nopromisc", NULL};
static const char *const mvt_set_keys[] = {"mode", "hairpin", NULL};

/* The mode, hairpin and nopromisc arguments of `net add` (defaults: vepa, external). */
static int mvt_parse(JsonObject *args, int *m, int *h, bool *nopromisc, GError **err)
{
	const char *mode = NULL, *hairpin = NULL;
	int rc;

	*m = VN_MVT_VEPA;
	*h = VN_HAIRPIN_EXTERNAL;
	*nopromisc = false;
	if ((rc = vn_arg_str(args, "mode", false, &mode, err)) < 0 ||
	    (rc = vn_arg_str(args, "hairpin", false, &hairpin, err)) < 0 ||
	    (rc = vn_arg_bool(args, "nopromisc", nopromisc, err)) < 0)
		return rc;
	if (!json_object_has_member(args, "uplink"))
		VN_FAIL(err, EINVAL, "macvtap networks need --uplink DEVARGS (the lower device)");
	if (mode && (*m = vn_mvt_mode_parse(mode)) < 0)
		VN_FAIL(err, EINVAL, "unknown --mode '%s' (vepa, bridge, private or passthru)",
			mode);
	if (hairpin && (*h = vn_hairpin_parse(hairpin)) < 0)
		VN_FAIL(err, EINVAL, "unknown --hairpin '%s' (external or emulated)", hairpin);
	if (*m == VN_MVT_PASSTHRU && *h == VN_HAIRPIN_EMULATED)
		VN_FAIL(err, EINVAL,
			"--hairpin emulated needs two local ports: not with --mode passthru");
	if (*nopromisc && *m != VN_MVT_PASSTHRU)
		VN_FAIL(err, EINVAL, "--nopromisc applies to --mode passthru");
	return 0;
}

static int mvt_check(JsonObject *args, GError **err)
{
	int m, h;
	bool np;

	return mvt_parse(args, &m, &h, &np, err);
}

static int mvt_create(const char *name, uint16_t id, JsonObject *args, const struct vn_net_env *env,
		      struct vn_net **out, GError **err)
{
	struct mvt_net *n = g_new0(struct mvt_net, 1);
	int m, h, rc;
	bool np;

	if ((rc = mvt_parse(args, &m, &h, &np, err)) < 0 ||
	    (rc = vn_net_init(&n->base, &vn_macvtap_net_kind, name, id, env, err)) < 0) {
		g_free(n);
		return rc;
	}
	n->mode = (uint8_t)m;
	n->hairpin = (uint8_t)h;
	n->nopromisc = np;
	*out = &n->base;
	return 0;
}

static void mvt_destroy(struct vn_net *n)
{
	vn_net_fini(n);
	g_free(mvt_of(n));
}

/* `net set`: the mode only while no port is attached, the hairpin at once (under traffic). */
static int mvt_set(struct vn_net *vn, JsonObject *args, unsigned guests, GError **err)
{
	struct mvt_net *n = mvt_of(vn);
	const char *mode = NULL, *hairpin = NULL;
	int rc, m = n->mode, h = n->hairpin;

	if ((rc = vn_arg_str(args, "mode", false, &mode, err)) < 0 ||
	    (rc = vn_arg_str(args, "hairpin", false, &hairpin, err)) < 0)
		return rc;
	if (mode && (m = vn_mvt_mode_parse(mode)) < 0)
		VN_FAIL(err, EINVAL, "unknown --mode '%s' (vepa, bridge, private or passthru)",
			mode);
	if (hairpin && (h = vn_hairpin_parse(hairpin)) < 0)
		VN_FAIL(err, EINVAL, "unknown --hairpin '%s' (external or emulated)", hairpin);
	if (m != n->mode && guests)
		VN_FAIL(err, EBUSY,
			"network '%s' has %u port(s) attached: its mode can change only "
			"while it has none",
			vn->name, guests);
	if (m == VN_MVT_PASSTHRU && h == VN_HAIRPIN_EMULATED)
		VN_FAIL(err, EINVAL,
			"--hairpin emulated needs two local ports: not with --mode passthru");
	if (m != VN_MVT_PASSTHRU && n->nopromisc)
		VN_FAIL(err, EINVAL, "network '%s' has --nopromisc, which only passthru mode takes",
			vn->name);
	n->mode = (uint8_t)m;
	__atomic_store_n(&n->hairpin, (uint8_t)h, __ATOMIC_RELAXED);
	VN_INFO("network %s: mode %s, hairpin %s", vn->name, vn_mvt_mode_name(n->mode),
		vn_hairpin_name(n->hairpin));
	return 0;
}

/*
 * A port joins: macvlan delivers by MAC, so each port needs a unicast MAC, unique in the
 * network and not the uplink's own; a passthru network takes one port, which gets the
 * uplink's MAC when it brings none (*@mac then points to @inherited).
 */
static int mvt_join_check(const struct vn_net *vn, const struct vn_net_member *mb, unsigned nm,
			  JsonObject *args, const char **mac, char inherited[18], GError **err)
{
	const struct mvt_net *n = cmvt_of(vn);
	struct rte_ether_addr um, pm;

	for (unsigned i = 0; i < nm; i++) {
		if (mb[i].uplink)
			continue;
		if (n->mode == VN_MVT_PASSTHRU)
			VN_FAIL(err, EBUSY,
				"network '%s' is in passthru mode and port '%s' already owns "
				"its uplink",
				vn->name, mb[i].name);
		if (*mac && mb[i].mac && g_ascii_strcasecmp(mb[i].mac, *mac) == 0)
			VN_FAIL(err, EADDRINUSE,
				"MAC %s is already used by port '%s' of network '%s'", *mac,
				mb[i].name, vn->name);
	}
	if (n->mode == VN_MVT_PASSTHRU && !*mac && vn->uplink) {
		vn_uplink_get_mac(vn->uplink, &um);
		vn_mac_format(&um, inherited);
		*mac = inherited;
	}
	if (!*mac && n->mode != VN_MVT_PASSTHRU)
		VN_FAIL(err, EINVAL,
			"ports of macvtap network '%s' need --mac (macvlan delivers by MAC)",
			vn->name);
	if (*mac && n->mode != VN_MVT_PASSTHRU && vn->uplink) {
		vn_uplink_get_mac(vn->uplink, &um);
		if (vn_mac_parse(*mac, &pm) == 0 && rte_is_same_ether_addr(&um, &pm))
			VN_FAIL(err, EADDRINUSE, "MAC %s is the uplink's own (network '%s')", *mac,
				vn->name);
	}
	return 0;
}

/* Its mode; its MAC into the network's table; a passthru port lends it to the uplink. */
static int mvt_join(struct vn_net *vn, struct vn_port *port, struct vn_slot *s, JsonObject *args,
		    GError **err)
{
	struct mvt_net *n = mvt_of(vn);

	if (s->locality == VN_LOC_EXTERNAL) { /* the uplink itself */
		s->kmode = VN_MVT_UPLINK;
		return 0;
	}
	s->kmode = n->mode;
	if (!port->has_mac)
		VN_FAIL(err, EINVAL, "ports of macvtap network '%s' need --mac", vn->name);
	if (n->mode == VN_MVT_PASSTHRU && vn->uplink) {
		int rc = vn_uplink_set_mac(vn->uplink, &port->mac, err);
		if (rc < 0)
			return rc;
	}
	if (vn->fdb && vn_fdb_add_static(vn->fdb, 0, &port->mac, port->slot, vn_dp_now()) < 0) {
		if (n->mode == VN_MVT_PASSTHRU && vn->uplink)
			vn_uplink_set_mac(vn->uplink, NULL, NULL);
		VN_FAIL(err, ENOSPC, "the MAC table of network '%s' is full", vn->name);
	}
	return 0;
}

static void mvt_leave(struct vn_net *vn, struct vn_port *port, uint16_t slot, bool guest)
{
	g_autoptr(GError) e = NULL;

	if (vn->fdb)
		vn_fdb_flush(vn->fdb, slot, true);
	if (guest && vn->uplink && mvt_of(vn)->mode == VN_MVT_PASSTHRU &&
	    vn_uplink_set_mac(vn->uplink, NULL, &e) < 0) /* its own MAC back */
		VN_WARN("network %s: %s", vn->name, e->message);
}

/* A passthru port's MAC is the uplink's own; it is promiscuous unless --nopromisc. */
static void mvt_uplink_filter(const struct vn_net *vn, bool guests, unsigned *nmacs, bool *promisc)
{
	const struct mvt_net *n = cmvt_of(vn);

	if (n->mode != VN_MVT_PASSTHRU)
		return;
	*nmacs = 0;
	*promisc = guests && !n->nopromisc;
}

static void mvt_describe(const struct vn_net *vn, JsonBuilder *b)
{
	const struct mvt_net *n = cmvt_of(vn);

	vn_json_str(b, "mode", vn_mvt_mode_name(n->mode));
	vn_json_str(b, "hairpin", vn_hairpin_name(__atomic_load_n(&n->hairpin, __ATOMIC_RELAXED)));
	vn_json_bool(b, "nopromisc", n->nopromisc);
}

static void mvt_port_describe(const struct vn_net *vn, bool uplink, JsonBuilder *b)
{
	if (!uplink)
		vn_json_str(b, "macvtap_mode", vn_mvt_mode_name(cmvt_of(vn)->mode));
}

static void mvt_persist(const struct vn_net *vn, JsonBuilder *b)
{
	const struct mvt_net *n = cmvt_of(vn);

	vn_json_str(b, "mode", vn_mvt_mode_name(n->mode));
	vn_json_str(b, "hairpin", vn_hairpin_name(n->hairpin));
	if (n->nopromisc)
		vn_json_bool(b, "nopromisc", true);
}

static int mvt_fdb_check(const struct vn_net *vn, bool flush, GError **err)
{
	if (flush)
		VN_FAIL(err, EINVAL,
			"network '%s' is a macvtap network: its table holds its ports' MACs "
			"and is not flushed",
			vn->name);
	VN_FAIL(err, EINVAL,
		"network '%s' is a macvtap network: it delivers by its ports' --mac, "
		"not by FDB entries",
		vn->name);
}

const struct vn_net_kind vn_macvtap_net_kind = {
    .name = "macvtap",
    .keys = mvt_keys,
    .set_keys = mvt_set_keys,
    .needs_uplink = true,
    .check = mvt_check,
    .create = mvt_create,
    .destroy = mvt_destroy,
    .set = mvt_set,
    .join_check = mvt_join_check,
    .join = mvt_join,
    .leave = mvt_leave,
    .uplink_filter = mvt_uplink_filter,
    .describe = mvt_describe,
    .port_describe = mvt_port_describe,
    .persist = mvt_persist,
    .fdb_check = mvt_fdb_check,
    .forward = mvt_forward,
};

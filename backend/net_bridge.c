/* SPDX-License-Identifier: MIT */
/* The bridge network kind: an 802.1D learning bridge per VLAN segment, with reflective relay. */
#include <errno.h>

#include <rte_branch_prediction.h>

#include "vnicd/args.h"
#include "vnicd/bridge.h"
#include "vnicd/datapath.h"
#include "vnicd/net.h"

static const char *const bridge_port_keys[] = {"reflective_relay", NULL};

static int bridge_check(JsonObject *args, GError **err)
{
	if (json_object_has_member(args, "mode") || json_object_has_member(args, "hairpin") ||
	    json_object_has_member(args, "nopromisc"))
		VN_FAIL(err, EINVAL, "--mode, --hairpin and --nopromisc apply to macvtap networks");
	return 0;
}

static int bridge_create(const char *name, uint16_t id, JsonObject *args,
			 const struct vn_net_env *env, struct vn_net **out, GError **err)
{
	struct vn_net *n = g_new0(struct vn_net, 1);
	int rc = vn_net_init(n, &vn_bridge_net_kind, name, id, env, err);

	if (rc < 0) {
		g_free(n);
		return rc;
	}
	*out = n;
	return 0;
}

static void bridge_destroy(struct vn_net *n)
{
	vn_net_fini(n);
	g_free(n);
}

static int bridge_join(struct vn_net *n, struct vn_port *port, struct vn_slot *s, JsonObject *args,
		       GError **err)
{
	bool relay = false;
	int rc = vn_arg_bool(args, "reflective_relay", &relay, err);

	if (rc < 0)
		return rc;
	s->relay = relay;
	return 0;
}

/* `port set NAME --reflective-relay on|off`: frames may go back out of the port they came in
 * by, as through a Linux bridge port with the hairpin flag, so that VEPA hosts behind it can
 * talk to each other. */
static int bridge_port_set(struct vn_net *n, struct vn_port *port, struct vn_slot *s,
			   JsonObject *chg, GError **err)
{
	return bridge_join(n, port, s, chg, err);
}

static void bridge_leave(struct vn_net *n, struct vn_port *port, uint16_t slot, bool guest)
{
	if (n->fdb)
		vn_fdb_flush(n->fdb, slot, true);
}

static void bridge_describe(const struct vn_net *n, JsonBuilder *b)
{
}

static void bridge_tick(struct vn_net *n, uint64_t now, const struct vn_config *cfg)
{
	if (n->fdb)
		vn_fdb_age(n->fdb, now, cfg->fdb_aging);
}

/* Return: @dst, the slot a lookup found, if it holds a port of network @net; else -1. */
static inline int valid_dst(const struct vn_dp_table *t, const struct vn_net *net, int dst)
{
	if (dst >= 0 && dst < t->nr_slots && t->slots[dst].port && t->slots[dst].net == net)
		return dst;
	return -1;
}

/*
 * Learn each source in its segment, look the destination up there: a known unicast goes to
 * its port (not back to the ingress port unless that is a reflective relay), anything else
 * floods to the ports of the network (the pipeline keeps those that carry the segment).
 * The last learned source and the last lookup are memoised for the burst.
 */
static void bridge_forward(const struct vn_fwd_ctx *x, struct rte_mbuf *const *pkts, uint16_t n,
			   struct vn_fwd *f)
{
	const struct vn_dp_table *t = x->t;
	const struct vn_net *net = x->in->net;
	struct vn_fdb *fdb = net->fdb;
	uint16_t in = x->in_slot;
	bool relay = x->in->relay, have_src = false, have_dst = false;
	uint8_t loc = x->in->locality;
	uint16_t src_seg = 0, dst_seg = 0;
	int dst_port = -1;
	struct rte_ether_addr src = {0}, dst = {0};
	const int moff = vn_meta_offset;

	for (uint16_t i = 0; i < n; i++) {
		const struct rte_ether_hdr *eth =
		    rte_pktmbuf_mtod(pkts[i], const struct rte_ether_hdr *);
		const struct vn_meta *md = vn_meta_at(pkts[i], moff);
		uint16_t seg = md->cl.seg;

		if (!have_src || src_seg != seg || !rte_is_same_ether_addr(&src, &eth->src_addr)) {
			if (vn_fdb_learn(fdb, seg, &eth->src_addr, in, x->now) > 0)
				have_dst = false; /* a move may change the memoised lookup */
			rte_ether_addr_copy(&eth->src_addr, &src);
			src_seg = seg;
			have_src = true;
		}
		if (md->cast == VN_UCAST) {
			if (!have_dst || dst_seg != seg ||
			    !rte_is_same_ether_addr(&dst, &eth->dst_addr)) {
				dst_port =
				    valid_dst(t, net, vn_fdb_lookup(fdb, seg, &eth->dst_addr));
				rte_ether_addr_copy(&eth->dst_addr, &dst);
				dst_seg = seg;
				have_dst = true;
			}
			if (dst_port >= 0) {
				if (unlikely(dst_port == in && !relay)) {
					vn_fwd_drop(&f[i], VN_DROP_SAME_PORT);
					continue;
				}
				/* dropped as policy when not carried: its policy changed
				 * since it was learned */
				vn_fwd_to(&f[i], (uint16_t)dst_port);
				continue;
			}
		}
		f[i].nlegs = 0;
		vn_fwd_leg(&f[i], t->flood[in], t->flood_n[in], relay ? -1 : in, in, loc,
			   VN_DROP_NO_DEST);
	}
}

const struct vn_net_kind vn_bridge_net_kind = {
    .name = "bridge",
    .port_keys = bridge_port_keys,
    .check = bridge_check,
    .create = bridge_create,
    .destroy = bridge_destroy,
    .join = bridge_join,
    .port_set = bridge_port_set,
    .leave = bridge_leave,
    .describe = bridge_describe,
    .tick = bridge_tick,
    .forward = bridge_forward,
};

/* SPDX-License-Identifier: MIT */
/* The bridge network kind: an 802.1D learning bridge per VLAN segment, with reflective relay. */
#include <errno.h>
#include <string.h>

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

/* The burst's memo: the last learned source, the last lookup, and the last frame's
 * addresses (12 bytes), segment and decision, when that decision was to one port. @stale: a
 * learn of this burst changed the FDB, so what the bulk look-up found may be out of date. */
struct memo {
	struct vn_fwd_seen s; /* the source and lookup (carried across bursts: vn_fwd_memo) */
	bool have_prev, stale;
	uint16_t prev_seg;
	uint64_t prev_a; /* the destination and the first two bytes of the source */
	uint32_t prev_b; /* the rest of the source */
	uint16_t prev_to;
};

_Static_assert(VN_BURST <= VN_FDB_BULK_FRAMES, "a burst's keys fit one bulk look-up");

/*
 * The source learned and the lookup made by the slot's last burst on this worker
 * (struct vn_fwd_memo), while the FDB, the table and the FDB's second are what they were
 * then: learning that source again would change nothing (not even its last-seen time, a
 * second long) and the lookup would find the same port.
 */
static inline void memo_from(struct memo *mm, const struct vn_fwd_memo *pm)
{
	mm->s = pm->seen;
}

static inline void memo_to(struct vn_fwd_memo *pm, const struct memo *mm, const struct vn_fdb *fdb,
			   uint64_t gen, uint64_t tgen, uint64_t now)
{
	pm->owner = fdb;
	pm->gen = gen;
	pm->tgen = tgen;
	pm->now = now;
	pm->seen = mm->s;
}

/* Decide where frame @i, @eth of segment @seg and class @cast, goes (learning its source),
 * with what the bulk look-up @bk found if there is one (never on a trace's dry run, @tr). */
static __rte_always_inline void bridge_one(const struct vn_fwd_ctx *x, struct memo *mm,
					   const struct rte_ether_hdr *eth, uint16_t seg,
					   uint8_t cast, struct vn_fwd *f, struct vn_trace *tr,
					   const struct vn_fdb_bulk *bk, uint16_t i)
{
	const struct vn_dp_table *t = x->t;
	struct vn_fdb *fdb = x->in->net->fdb;
	uint16_t in = x->in_slot;

	if (!mm->s.have_src || mm->s.src_seg != seg ||
	    !rte_is_same_ether_addr(&mm->s.src, &eth->src_addr)) {
		int ks = bk ? bk->src[i] : -1;
		int rc = tr == NULL && ks >= 0
			     ? vn_fdb_learn_res(fdb, bk->res[ks], &bk->keys[ks], in, x->now)
			     : vn_fwd_learn(x, tr, fdb, seg, &eth->src_addr);
		if (rc > 0) { /* a move may change the memoised lookup and the bulk's */
			mm->s.have_dst = false;
			mm->stale = true;
		}
		rte_ether_addr_copy(&eth->src_addr, &mm->s.src);
		mm->s.src_seg = seg;
		mm->s.have_src = true;
	}
	if (cast == VN_UCAST) {
		if (!mm->s.have_dst || mm->s.dst_seg != seg ||
		    !rte_is_same_ether_addr(&mm->s.dst, &eth->dst_addr)) {
			int kd = bk ? bk->dst[i] : -1;
			int d = tr == NULL && kd >= 0 && !mm->stale
				    ? vn_fdb_res_port(bk->res[bk->ns + (unsigned)kd])
				    : vn_fwd_lookup(tr, fdb, seg, &eth->dst_addr);
			mm->s.dst_port = valid_dst(t, x->in->net, d);
			if (unlikely(tr != NULL))
				vn_trace_lookup(tr, "FDB", seg, &eth->dst_addr, mm->s.dst_port);
			rte_ether_addr_copy(&eth->dst_addr, &mm->s.dst);
			mm->s.dst_seg = seg;
			mm->s.have_dst = true;
		}
		if (mm->s.dst_port >= 0) {
			if (unlikely(mm->s.dst_port == in && !x->in->relay)) {
				VN_TRACE(tr, "forward", "drop",
					 "bridge: the destination is on the port it came in by "
					 "(no reflective relay)");
				return vn_fwd_drop(f, VN_DROP_SAME_PORT);
			}
			VN_TRACE(tr, "forward", "unicast", "bridge: FDB hit, to port %s",
				 vn_trace_slot_name(tr, (uint16_t)mm->s.dst_port));
			/* dropped as policy when not carried: its policy changed since it was
			 * learned */
			vn_fwd_to(f, (uint16_t)mm->s.dst_port);
			mm->have_prev = true;
			mm->prev_seg = seg;
			mm->prev_to = (uint16_t)mm->s.dst_port;
			memcpy(&mm->prev_a, eth, 8);
			memcpy(&mm->prev_b, (const uint8_t *)eth + 8, 4);
			return;
		}
	}
	VN_TRACE(tr, "forward", "flood", "bridge: %s: flooded in VLAN %u%s",
		 cast == VN_UCAST   ? "unknown unicast"
		 : cast == VN_BCAST ? "broadcast"
				    : "multicast",
		 seg, x->in->relay ? " (reflective relay: back out of the ingress port too)" : "");
	f->nlegs = 0;
	vn_fwd_leg(f, t->flood[in], t->flood_n[in], x->in->relay ? -1 : in, in, x->in->locality,
		   VN_DROP_NO_DEST);
}

/* bridge_one() of the fast path, out of line: the loop over a burst's frames keeps its
 * registers for the memo of the frame before. */
static __rte_noinline void bridge_one_fast(const struct vn_fwd_ctx *x, struct memo *mm,
					   const struct rte_ether_hdr *eth, uint16_t seg,
					   uint8_t cast, struct vn_fwd *f,
					   const struct vn_fdb_bulk *bk, uint16_t i)
{
	bridge_one(x, mm, eth, seg, cast, f, NULL, bk, i);
}

/* The keys of the @n (at most VN_BURST) frames @pkts into @bk, and what @fdb holds for them.
 * A frame with the addresses and segment of the frame before it has no keys of its own (its
 * memos are that frame's). */
static __rte_always_inline void bulk_gather(struct vn_fdb_bulk *bk, struct rte_mbuf *const *pkts,
					    uint16_t n, int moff, struct vn_fdb *fdb)
{
	uint64_t pa = 0;
	uint32_t pb = 0;
	uint16_t pseg = UINT16_MAX; /* no segment: the first frame is no duplicate */
	struct vn_fdb_gather g;

	vn_fdb_gather_init(&g);
	for (uint16_t i = 0; i < n; i++) {
		const struct rte_ether_hdr *eth =
		    rte_pktmbuf_mtod(pkts[i], const struct rte_ether_hdr *);
		const struct vn_meta *md = vn_meta_at(pkts[i], moff);
		uint16_t seg = md->cl.seg;
		uint64_t a;
		uint32_t b;

		memcpy(&a, eth, 8);
		memcpy(&b, (const uint8_t *)eth + 8, 4);
		if (a == pa && b == pb && seg == pseg) /* its memos are the frame before's */
			continue;
		pa = a;
		pb = b;
		pseg = seg;
		vn_fdb_bulk_add(bk, &g, i, seg, eth, md->cast == VN_UCAST);
	}
	vn_fdb_bulk_lookup(bk, &g, fdb);
}

/* Return: true if frame @m has the addresses (12 bytes) and segment of frame @p. */
static inline bool same_as(const struct rte_mbuf *m, const struct rte_mbuf *p, int moff)
{
	return memcmp(rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_mtod(p, const uint8_t *),
		      12) == 0 &&
	       vn_meta_at(m, moff)->cl.seg == vn_meta_at(p, moff)->cl.seg;
}

/*
 * Learn each source in its segment, look the destination up there: a known unicast goes to
 * its port (not back to the ingress port unless that is a reflective relay), anything else
 * floods to the ports of the network (the pipeline keeps those that carry the segment).
 * A frame with the addresses and segment of the one before it, which went to one port,
 * goes there too: one 12-byte compare instead of the learning and lookup memos. Unless the
 * burst starts as a steady flow (its second frame like the first), its look-ups are made at
 * once first (struct vn_fdb_bulk); a learn that changes the FDB sends the later look-ups of the
 * burst back to the FDB one by one.
 */
static __rte_always_inline void bridge_forward_as(const struct vn_fwd_ctx *x,
						  struct rte_mbuf *const *pkts, uint16_t n,
						  struct vn_fwd *f, struct vn_trace *tr)
{
	struct memo mm = {.s.dst_port = -1};
	const int moff = vn_meta_offset;
	const struct vn_fdb_bulk *bp = NULL;
	struct vn_fwd_memo *pm = tr == NULL ? x->memo : NULL;
	struct vn_fdb *fdb = x->in->net->fdb;
	uint64_t gen = 0;
	struct vn_fdb_bulk bk;

	if (pm) { /* read before any lookup: a change after it makes the next burst look again */
		gen = vn_fdb_gen(fdb);
		if (pm->owner == fdb && pm->gen == gen && pm->tgen == x->t->gen &&
		    pm->now == x->now)
			memo_from(&mm, pm);
	}
	if (tr == NULL && n > 2 && n <= VN_BURST && !same_as(pkts[1], pkts[0], moff)) {
		bulk_gather(&bk, pkts, n, moff, x->in->net->fdb);
		bp = &bk;
	}
	for (uint16_t i = 0; i < n; i++) {
		const struct rte_ether_hdr *eth =
		    rte_pktmbuf_mtod(pkts[i], const struct rte_ether_hdr *);
		const struct vn_meta *md = vn_meta_at(pkts[i], moff);
		uint64_t a;
		uint32_t b;

		memcpy(&a, eth, 8);
		memcpy(&b, (const uint8_t *)eth + 8, 4);
		if (mm.have_prev && a == mm.prev_a && b == mm.prev_b && md->cl.seg == mm.prev_seg) {
			vn_fwd_to(&f[i], mm.prev_to);
			continue;
		}
		mm.have_prev = false;
		if (tr == NULL)
			bridge_one_fast(x, &mm, eth, md->cl.seg, md->cast, &f[i], bp, i);
		else
			bridge_one(x, &mm, eth, md->cl.seg, md->cast, &f[i], tr, bp, i);
	}
	if (pm)
		memo_to(pm, &mm, fdb, gen, x->t->gen, x->now);
}

static __rte_noinline void bridge_forward_traced(const struct vn_fwd_ctx *x,
						 struct rte_mbuf *const *pkts, uint16_t n,
						 struct vn_fwd *f)
{
	bridge_forward_as(x, pkts, n, f, x->trace);
}

static void bridge_forward(const struct vn_fwd_ctx *x, struct rte_mbuf *const *pkts, uint16_t n,
			   struct vn_fwd *f)
{
	if (unlikely(x->trace != NULL)) /* a dry run (trace.h): once per burst */
		return bridge_forward_traced(x, pkts, n, f);
	bridge_forward_as(x, pkts, n, f, NULL);
}

const struct vn_net_kind vn_bridge_net_kind = {
    .name = "bridge",
    .by_l2 = true,
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

/* SPDX-License-Identifier: MIT */
/* Worker loop: poll rx queues, switch through the bridge, transmit per destination in bursts. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>
#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_malloc.h>

#include "vnicd/bridge.h"
#include "vnicd/capture.h"
#include "vnicd/datapath.h"
#include "vnicd/log.h"
#include "vnicd/policy.h"
#include "vnicd/uplink.h"

#define VN_MAX_WORKERS 16
#define IDLE_SPINS 2048 /* empty polls before a worker starts sleeping */
#define SLEEP_MIN_US 8
#define INTR_TIMEOUT_US 100000 /* longest sleep when every queue can notify */
#define WAIT_FDS_MAX 256

struct txq {
	uint16_t n;
	uint8_t cast[VN_BURST];
	uint8_t loc[VN_BURST]; /* locality of the ingress port */
	uint32_t len[VN_BURST];
	struct rte_mbuf *pkts[VN_BURST];
};

struct vn_worker {
	struct vn_dp *dp;
	unsigned id;
	int wake_fd; /* eventfd: table changed, device came, stop */
	struct vn_dp_worker_stats st;
	uint16_t ndirty;
	uint16_t dirty[VN_MAX_PORTS_HARD];
	struct vn_port_counters ctr[VN_MAX_PORTS_HARD];
	struct txq tx[VN_MAX_PORTS_HARD];
};

struct vn_dp {
	unsigned nr_workers;
	unsigned idle_sleep_us;
	volatile int stop;
	struct vn_dp_table *table; /* published with release/acquire */
	struct rte_rcu_qsbr *qsbr;
	struct vn_worker *w[VN_MAX_WORKERS];
	struct vn_capture *cap[VN_MAX_PORTS_HARD]; /* per slot, published with release/acquire */
	struct vn_port_policy
	    *pol[VN_MAX_PORTS_HARD]; /* per slot, published with release/acquire */
	unsigned nr_pol; /* slots with a policy: 0 keeps the workers on the plain path */
};

static uint64_t tsc_hz;

uint64_t vn_dp_now(void)
{
	if (unlikely(tsc_hz == 0)) {
		tsc_hz = rte_get_tsc_hz();
		if (tsc_hz == 0) /* EAL not initialised (control-plane tests) */
			return (uint64_t)(g_get_monotonic_time() / G_USEC_PER_SEC);
	}
	return rte_get_tsc_cycles() / tsc_hz;
}

struct vn_dp *vn_dp_create(unsigned nr_workers, unsigned idle_sleep_us)
{
	struct vn_dp *dp;
	size_t sz;

	if (nr_workers == 0 || nr_workers > VN_MAX_WORKERS) {
		errno = EINVAL;
		return NULL;
	}
	dp = rte_zmalloc("vn_dp", sizeof(*dp), RTE_CACHE_LINE_SIZE);
	if (!dp)
		goto out_nomem;
	dp->nr_workers = nr_workers;
	dp->idle_sleep_us = idle_sleep_us;
	sz = rte_rcu_qsbr_get_memsize(nr_workers);
	dp->qsbr = rte_zmalloc("vn_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (!dp->qsbr || rte_rcu_qsbr_init(dp->qsbr, nr_workers) != 0)
		goto out_free;
	for (unsigned i = 0; i < nr_workers; i++) {
		dp->w[i] = rte_zmalloc("vn_worker", sizeof(struct vn_worker), RTE_CACHE_LINE_SIZE);
		if (!dp->w[i])
			goto out_free;
		dp->w[i]->dp = dp;
		dp->w[i]->id = i;
		dp->w[i]->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (dp->w[i]->wake_fd < 0)
			goto out_free;
	}
	return dp;

out_free:
	vn_dp_free(dp);
out_nomem:
	errno = ENOMEM;
	return NULL;
}

void vn_dp_free(struct vn_dp *dp)
{
	if (!dp)
		return;
	for (unsigned i = 0; i < VN_MAX_WORKERS; i++) {
		if (dp->w[i] && dp->w[i]->wake_fd >= 0)
			close(dp->w[i]->wake_fd);
		rte_free(dp->w[i]);
	}
	vn_dp_table_free(dp->table);
	for (unsigned s = 0; s < VN_MAX_PORTS_HARD; s++)
		vn_policy_free(dp->pol[s]);
	rte_free(dp->qsbr);
	rte_free(dp);
}

struct rte_rcu_qsbr *vn_dp_qsbr(struct vn_dp *dp)
{
	return dp->qsbr;
}

unsigned vn_dp_nr_workers(const struct vn_dp *dp)
{
	return dp->nr_workers;
}

struct vn_worker *vn_dp_worker(struct vn_dp *dp, unsigned id)
{
	return id < dp->nr_workers ? dp->w[id] : NULL;
}

struct vn_dp_table *vn_dp_table_build(struct vn_dp *dp, struct vn_port *const *ports, unsigned n)
{
	struct vn_dp_table *t = g_new0(struct vn_dp_table, 1);
	unsigned total_rxq = 0, rr = 0, fill = 0;

	t->nr_workers = dp->nr_workers;
	t->members = g_new0(uint16_t, n ? n * 2 : 1);
	for (unsigned s = 0; s < n; s++) {
		if (!ports[s])
			continue;
		t->ports[s] = ports[s];
		t->nr_slots = s + 1;
		total_rxq += ports[s]->nr_rxq;
	}
	/* flood lists: one array per network, shared by its ports */
	for (unsigned s = 0; s < t->nr_slots; s++) {
		struct vn_port *p = t->ports[s];
		unsigned start = fill, cnt = 0;

		if (!p || t->flood[s])
			continue;
		for (unsigned o = s; o < t->nr_slots; o++) {
			if (t->ports[o] && t->ports[o]->net == p->net) {
				t->members[fill++] = o;
				cnt++;
			}
		}
		for (unsigned i = start; i < start + cnt; i++) {
			uint16_t me = t->members[i];
			t->flood[me] = &t->members[start];
			t->flood_n[me] = cnt;
			for (unsigned j = start; j < start + cnt; j++)
				if (t->members[j] != me &&
				    t->ports[t->members[j]]->locality > t->flood_loc[me])
					t->flood_loc[me] = t->ports[t->members[j]]->locality;
		}
	}
	for (unsigned w = 0; w < dp->nr_workers; w++)
		t->rxqs[w] = g_new0(struct vn_dp_rxq, total_rxq ? total_rxq : 1);
	for (unsigned s = 0; s < t->nr_slots; s++) {
		struct vn_port *p = t->ports[s];
		if (!p)
			continue;
		for (uint16_t q = 0; q < p->nr_rxq; q++) {
			unsigned w = rr++ % dp->nr_workers;
			t->rxqs[w][t->nr_rxqs[w]++] = (struct vn_dp_rxq){p, q};
		}
	}
	return t;
}

void vn_dp_table_free(struct vn_dp_table *t)
{
	if (!t)
		return;
	for (unsigned w = 0; w < VN_MAX_WORKERS; w++)
		g_free(t->rxqs[w]);
	g_free(t->members);
	g_free(t);
}

void vn_dp_synchronize(struct vn_dp *dp)
{
	rte_rcu_qsbr_synchronize(dp->qsbr, RTE_QSBR_THRID_INVALID);
}

void vn_dp_publish(struct vn_dp *dp, struct vn_dp_table *t)
{
	struct vn_dp_table *old = __atomic_exchange_n(&dp->table, t, __ATOMIC_ACQ_REL);

	vn_dp_wake(dp); /* sleeping workers re-arm on the new queues */
	vn_dp_synchronize(dp);
	vn_dp_table_free(old);
}

void vn_dp_stop(struct vn_dp *dp)
{
	__atomic_store_n(&dp->stop, 1, __ATOMIC_RELEASE);
	vn_dp_wake(dp);
}

static void tx_flush(struct vn_worker *w, const struct vn_dp_table *t, uint16_t slot)
{
	struct txq *tq = &w->tx[slot];
	struct vn_port_counters *c = &w->ctr[slot];
	struct vn_port *p = t->ports[slot];
	uint16_t n = tq->n, sent = 0;

	struct vn_capture *cap = __atomic_load_n(&w->dp->cap[slot], __ATOMIC_ACQUIRE);
	struct vn_port_policy *pol = __atomic_load_n(&w->dp->pol[slot], __ATOMIC_ACQUIRE);

	tq->n = 0;
	if (unlikely(pol != NULL && pol->in != NULL)) { /* inbound: what the guest receives */
		struct vn_meter *mt = pol->in;
		uint16_t kept = 0;
		uint64_t tsc = rte_get_tsc_cycles();

		rte_spinlock_lock(&mt->lock);
		tsc = vn_meter_clamp(mt, tsc);
		for (uint16_t i = 0; i < n; i++) {
			if (!vn_meter_conform(mt, tq->len[i], tsc)) {
				rte_pktmbuf_free(tq->pkts[i]);
				continue;
			}
			tq->pkts[kept] = tq->pkts[i];
			tq->cast[kept] = tq->cast[i];
			tq->loc[kept] = tq->loc[i];
			tq->len[kept++] = tq->len[i];
		}
		rte_spinlock_unlock(&mt->lock);
		c->drops[VN_DROP_RATE_LIMIT] += n - kept;
		n = kept;
		if (!n)
			return;
	}
	if (unlikely(cap != NULL))
		vn_capture_burst(cap, tq->pkts, n, w->id, RTE_PCAPNG_DIRECTION_OUT);
	if (likely(p != NULL))
		sent = p->ops->tx_burst(p, (uint16_t)(w->id % p->nr_txq), tq->pkts, n);
	for (uint16_t i = 0; i < sent; i++) {
		c->tx_bytes += tq->len[i];
		c->tx_cast_pkts[tq->cast[i]]++;
		c->tx_cast_bytes[tq->cast[i]] += tq->len[i];
		c->tx_loc_pkts[tq->loc[i]]++;
		c->tx_loc_bytes[tq->loc[i]] += tq->len[i];
	}
	c->tx_packets += sent;
	if (unlikely(sent < n)) {
		enum vn_drop_reason r =
		    (p && p->ops->link_up(p)) ? VN_DROP_QUEUE_FULL : VN_DROP_LINK_DOWN;
		c->drops[r] += n - sent;
		rte_pktmbuf_free_bulk(&tq->pkts[sent], n - sent);
	}
}

static inline void tx_push(struct vn_worker *w, const struct vn_dp_table *t, uint16_t slot,
			   struct rte_mbuf *m, uint8_t cast, uint8_t loc, uint32_t len)
{
	struct txq *tq = &w->tx[slot];

	if (tq->n == 0)
		w->dirty[w->ndirty++] = slot;
	tq->pkts[tq->n] = m;
	tq->cast[tq->n] = cast;
	tq->loc[tq->n] = loc;
	tq->len[tq->n] = len;
	if (++tq->n == VN_BURST)
		tx_flush(w, t, slot);
}

static inline uint8_t cast_of(const struct rte_ether_addr *a)
{
	if (rte_is_unicast_ether_addr(a))
		return VN_UCAST;
	return rte_is_broadcast_ether_addr(a) ? VN_BCAST : VN_MCAST;
}

/*
 * Count a received frame and check what every path requires of it: an Ethernet header and
 * a unicast, non-zero source. A source equal to @known (a memoised one that passed, or NULL)
 * is not checked again; *@same says whether it was. Return: its header (and *@cast), or NULL
 * after counting the drop and freeing it.
 */
static inline struct rte_ether_hdr *rx_admit(struct vn_port_counters *c, struct rte_mbuf *m,
					     uint32_t len, uint8_t *cast,
					     const struct rte_ether_addr *known, bool *same)
{
	struct rte_ether_hdr *eth;

	c->rx_packets++;
	c->rx_bytes += len;
	if (unlikely(rte_pktmbuf_data_len(m) < RTE_ETHER_HDR_LEN)) {
		c->drops[VN_DROP_MALFORMED]++;
		rte_pktmbuf_free(m);
		return NULL;
	}
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	*cast = cast_of(&eth->dst_addr);
	c->rx_cast_pkts[*cast]++;
	c->rx_cast_bytes[*cast] += len;
	*same = known && rte_is_same_ether_addr(known, &eth->src_addr);
	if (unlikely(!*same && !rte_is_valid_assigned_ether_addr(&eth->src_addr))) {
		c->drops[VN_DROP_INVALID_SRC]++;
		rte_pktmbuf_free(m);
		return NULL;
	}
	return eth;
}

/* Return: @dst, the slot a lookup found, if it holds a port of @in's network; else -1. */
static inline int valid_dst(const struct vn_dp_table *t, const struct vn_port *in, int dst)
{
	if (dst >= 0 && dst < t->nr_slots && t->ports[dst] && t->ports[dst]->net == in->net)
		return dst;
	return -1;
}

static inline bool has_tag_ethertype(const struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);

	return eth->ether_type == RTE_BE16(VN_TPID_8021Q) ||
	       eth->ether_type == RTE_BE16(VN_TPID_8021AD);
}

/*
 * The part of egress_form() that depends on the segment only (the unicast path memoises
 * it): the form in which a frame of segment @seg leaves a port with policy @dp_pol, and in
 * *@hop_check whether an untagged frame must still be checked for a tag of its own.
 */
static inline int egress_seg_form(const struct vn_port_policy *dp_pol, uint16_t seg,
				  bool *hop_check)
{
	int form = vn_vlan_egress_tagged(dp_pol, seg);

	*hop_check = form >= 0 && seg == 0 && dp_pol && dp_pol->vlan_aware;
	return form;
}

/*
 * How a frame of segment @cl->seg leaves port @d: 0 untagged, 1 tagged, -1 not at all (the
 * port does not carry the segment, or a VLAN-aware port would receive a frame that a
 * transparent port sent with a tag of its own in the untagged LAN: no VLAN hopping).
 */
static inline int egress_form(struct vn_dp *dp, uint16_t d, const struct vn_vlan_cls *cl,
			      const struct rte_mbuf *m)
{
	bool hop_check;
	int form =
	    egress_seg_form(__atomic_load_n(&dp->pol[d], __ATOMIC_ACQUIRE), cl->seg, &hop_check);

	if (hop_check && !cl->tagged && has_tag_ethertype(m))
		return -1;
	return form;
}

int vn_dp_deliver(struct vn_worker *w, const struct vn_dp_table *t, struct vn_port_counters *c,
		  const uint16_t *dst, uint16_t nd, int skip, struct rte_mbuf *m,
		  const struct vn_vlan_cls *cl, uint8_t cast, uint8_t txloc)
{
	struct rte_mbuf *mf[2] = {NULL, NULL};
	uint16_t cnt[2] = {0, 0};
	int8_t fm[VN_MAX_PORTS_HARD];
	uint8_t loc = 0;

	for (uint16_t f = 0; f < nd; f++) {
		uint16_t d = dst[f];
		fm[f] = d == skip ? -1 : (int8_t)egress_form(w->dp, d, cl, m);
		if (fm[f] >= 0) {
			cnt[fm[f]]++;
			if (t->ports[d]->locality > loc)
				loc = t->ports[d]->locality;
		}
	}
	if (unlikely(cnt[0] + cnt[1] == 0)) {
		rte_pktmbuf_free(m);
		return 0;
	}
	if (cnt[0] && cnt[1]) {
		int keep = vn_vlan_needs_edit(cl, 0) ? 1 : 0; /* the form @m already has */
		if (vn_vlan_needs_edit(cl, keep)) { /* neither: copy one, edit @m to the other */
			mf[0] = vn_vlan_copy(m, cl, 0);
			mf[1] = vn_vlan_edit(m, cl, 1);
		} else {
			mf[keep] = m;
			mf[!keep] = vn_vlan_copy(m, cl, !keep);
		}
	} else {
		int only = cnt[1] ? 1 : 0;
		mf[only] = vn_vlan_needs_edit(cl, only) ? vn_vlan_edit(m, cl, only) : m;
	}
	for (int g = 0; g < 2; g++) {
		if (!cnt[g])
			continue;
		if (!mf[g]) {
			c->drops[VN_DROP_NO_MBUF]++;
			cnt[g] = 0;
			continue;
		}
		if (cnt[g] > 1)
			rte_mbuf_refcnt_update(mf[g], (int16_t)(cnt[g] - 1));
	}
	for (uint16_t f = 0; f < nd; f++)
		if (fm[f] >= 0 && cnt[fm[f]])
			tx_push(w, t, dst[f], mf[fm[f]], cast, txloc,
				rte_pktmbuf_pkt_len(mf[fm[f]]));
	return loc + 1;
}

struct vn_port_counters *vn_dp_worker_ctr(struct vn_worker *w, uint16_t slot)
{
	return &w->ctr[slot];
}

int vn_dp_egress_form(struct vn_worker *w, uint16_t slot, const struct vn_vlan_cls *cl,
		      const struct rte_mbuf *m)
{
	return egress_form(w->dp, slot, cl, m);
}

/* State of one burst through the policy pipeline: where it came from and the memo of the
 * last learned source, the last lookup and the egress form of the last destination. */
struct pol_burst {
	struct vn_worker *w;
	const struct vn_dp_table *t;
	struct vn_port *in;
	struct vn_port_counters *c;
	const struct vn_port_policy *ipol;
	uint64_t now;
	bool relay, mvt;
	bool have_src, have_dst;
	/* the memoised lookup (dst, dst_seg): its slot (-1: none, flood), and what the frames
	 * to it need: drop as a hairpin, egress form, the no-VLAN-hopping check, locality */
	bool dst_self;
	bool dst_hop_check;
	int8_t dst_form;
	uint8_t dst_loc;
	uint16_t src_seg, dst_seg;
	int dst_port;
	struct rte_ether_addr src, dst;
};

/*
 * Ingress half: count and validate frame @m, classify it into a segment (@cl), apply the
 * port's anti-spoofing. Return: true if it goes on (*@cast, *@len set), false after counting
 * the drop and freeing it.
 */
static __rte_always_inline bool policy_ingress(struct pol_burst *b, struct rte_mbuf *m,
					       struct vn_vlan_cls *cl, uint8_t *cast, uint32_t *len,
					       bool *same_src)
{
	const struct vn_port_policy *ipol = b->ipol;

	/* a source equal to the memoised one (a frame of this burst that passed every check of
	 * this function) needs neither the validity check nor the lock-MAC compare again */
	*len = rte_pktmbuf_pkt_len(m);
	if (unlikely(!rx_admit(b->c, m, *len, cast, b->have_src ? &b->src : NULL, same_src)))
		return false;
	if (ipol && ipol->vlan_aware) {
		if (unlikely(vn_vlan_classify(ipol, m, cl) < 0)) {
			b->c->drops[VN_DROP_POLICY]++;
			rte_pktmbuf_free(m);
			return false;
		}
	} else {
		cl->seg = 0;
		cl->pcp_dei = 0;
		cl->tpid = VN_TPID_8021Q;
		cl->tagged = false;
	}
	if (ipol && ipol->antispoof &&
	    unlikely(!vn_antispoof_check(ipol, m, cl->tagged ? 16 : 12, *same_src))) {
		b->c->drops[VN_DROP_SPOOFED]++;
		rte_pktmbuf_free(m);
		return false;
	}
	return true;
}

/*
 * Forwarding half: learn, look up in the frame's segment, tag/untag for a known destination
 * or flood to the ports that carry the segment. @same_src: its source is the memoised one
 * (b->src), so it needs no learning unless its segment differs.
 */
static __rte_always_inline void policy_forward(struct pol_burst *b, struct rte_mbuf *m,
					       const struct vn_vlan_cls *cl, uint8_t cast,
					       uint32_t len, bool same_src)
{
	struct vn_port *in = b->in;
	struct vn_port_counters *c = b->c;
	const struct vn_dp_table *t = b->t;
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	uint8_t loc;
	int dst, form;

	if (b->mvt) { /* macvtap network: macvlan.c rules instead of the learning bridge */
		vn_mvt_forward(b->w, t, in, m, cl, cast, len);
		return;
	}
	if (!same_src || b->src_seg != cl->seg) {
		if (vn_fdb_learn(in->net->fdb, cl->seg, &eth->src_addr, in->slot, b->now) > 0)
			b->have_dst = false; /* a move may change the lookup */
		rte_ether_addr_copy(&eth->src_addr, &b->src);
		b->src_seg = cl->seg;
		b->have_src = true;
	}
	if (cast == VN_UCAST) {
		if (!b->have_dst || b->dst_seg != cl->seg ||
		    !rte_is_same_ether_addr(&b->dst, &eth->dst_addr)) {
			dst =
			    valid_dst(t, in, vn_fdb_lookup(in->net->fdb, cl->seg, &eth->dst_addr));
			if (dst >= 0) {
				const struct vn_port_policy *dpol =
				    __atomic_load_n(&b->w->dp->pol[dst], __ATOMIC_ACQUIRE);
				b->dst_self = dst == in->slot && !b->relay;
				b->dst_form =
				    (int8_t)egress_seg_form(dpol, cl->seg, &b->dst_hop_check);
				b->dst_loc = t->ports[dst]->locality;
			}
			b->dst_port = dst;
			rte_ether_addr_copy(&eth->dst_addr, &b->dst);
			b->dst_seg = cl->seg;
			b->have_dst = true;
		}
		if (b->dst_port >= 0) {
			dst = b->dst_port;
			if (unlikely(b->dst_self)) {
				c->drops[VN_DROP_SAME_PORT]++;
				rte_pktmbuf_free(m);
				return;
			}
			form = b->dst_form;
			if (unlikely(b->dst_hop_check) && !cl->tagged && has_tag_ethertype(m))
				form = -1;
			if (unlikely(form < 0)) { /* its policy changed since it was learned */
				c->drops[VN_DROP_POLICY]++;
				rte_pktmbuf_free(m);
				return;
			}
			if (vn_vlan_needs_edit(cl, form) &&
			    unlikely(!(m = vn_vlan_edit(m, cl, form)))) {
				c->drops[VN_DROP_NO_MBUF]++;
				return;
			}
			c->rx_loc_pkts[b->dst_loc]++;
			c->rx_loc_bytes[b->dst_loc] += len;
			tx_push(b->w, t, (uint16_t)dst, m, cast, in->locality,
				rte_pktmbuf_pkt_len(m));
			return;
		}
	}
	/* flood to the ports of the network that carry the segment */
	loc = (uint8_t)vn_dp_deliver(b->w, t, c, t->flood[in->slot], t->flood_n[in->slot],
				     b->relay ? -1 : in->slot, m, cl, cast, in->locality);
	if (unlikely(loc == 0)) {
		c->drops[VN_DROP_NO_DEST]++;
		return;
	}
	c->rx_loc_pkts[loc - 1]++;
	c->rx_loc_bytes[loc - 1] += len;
}

/*
 * The pipeline when some port has a policy: per frame, VLAN classification, anti-spoofing
 * (common cases inline, policy.h) and the outbound meter of the ingress port; learning and
 * lookup in the frame's segment, flooding to the ports that carry the segment, and
 * tagging/untagging per destination. A frame is edited in place when it goes to one
 * destination; a flood shares one buffer per egress form (untagged, tagged) and copies
 * only when both forms are needed. Without an outbound meter each frame goes through in
 * one pass; with one, the meter's lock is held over the ingress half of the burst only
 * (never over a transmission), so that half runs first for the whole burst.
 */
static void switch_policy(struct vn_worker *w, const struct vn_dp_table *t, struct vn_port *in,
			  struct rte_mbuf **pkts, uint16_t n, uint64_t now)
{
	struct pol_burst b = {
	    .w = w,
	    .t = t,
	    .in = in,
	    .c = &w->ctr[in->slot],
	    .ipol = __atomic_load_n(&w->dp->pol[in->slot], __ATOMIC_ACQUIRE),
	    .now = now,
	    .relay = __atomic_load_n(&in->reflective_relay, __ATOMIC_RELAXED),
	    .mvt = in->net->fwd == VN_FWD_MACVTAP,
	};
	struct vn_meter *omt = b.ipol ? b.ipol->out : NULL;
	struct vn_vlan_cls cls[VN_BURST];
	uint8_t casts[VN_BURST];
	uint32_t lens[VN_BURST];
	uint16_t k = 0, metered = 0;
	uint64_t tsc;

	if (likely(omt == NULL)) {
		for (uint16_t i = 0; i < n; i++) {
			bool same_src;

			if (policy_ingress(&b, pkts[i], &cls[0], &casts[0], &lens[0], &same_src))
				policy_forward(&b, pkts[i], &cls[0], casts[0], lens[0], same_src);
		}
		return;
	}
	/* outbound meter: what the guest sends, one lock per burst */
	tsc = rte_get_tsc_cycles();
	rte_spinlock_lock(&omt->lock);
	tsc = vn_meter_clamp(omt, tsc);
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		bool same_src; /* false: nothing is memoised before the forwarding half */

		if (!policy_ingress(&b, m, &cls[k], &casts[k], &lens[k], &same_src))
			continue;
		if (!vn_meter_conform(omt, lens[k], tsc)) {
			metered++;
			rte_pktmbuf_free(m);
			continue;
		}
		pkts[k++] = m;
	}
	rte_spinlock_unlock(&omt->lock);
	b.c->drops[VN_DROP_RATE_LIMIT] += metered;
	for (uint16_t i = 0; i < k; i++) {
		const struct rte_ether_hdr *eth =
		    rte_pktmbuf_mtod(pkts[i], const struct rte_ether_hdr *);

		policy_forward(&b, pkts[i], &cls[i], casts[i], lens[i],
			       b.have_src && rte_is_same_ether_addr(&b.src, &eth->src_addr));
	}
}

void vn_dp_switch_burst(struct vn_worker *w, const struct vn_dp_table *t, struct vn_port *in,
			struct rte_mbuf **pkts, uint16_t n, uint64_t now)
{
	struct vn_port_counters *c = &w->ctr[in->slot];
	struct vn_fdb *fdb = in->net->fdb;
	const uint16_t *flood = t->flood[in->slot];
	uint16_t flood_n = t->flood_n[in->slot];
	struct rte_ether_addr last_src = {0}, last_dst = {0};
	int last_dst_port = -1;
	bool have_src = false, have_dst = false;
	struct vn_capture *cap = __atomic_load_n(&w->dp->cap[in->slot], __ATOMIC_ACQUIRE);
	bool relay = __atomic_load_n(&in->reflective_relay, __ATOMIC_RELAXED);
	bool mvt = in->net->fwd == VN_FWD_MACVTAP;
	uint16_t nflood = flood_n && !relay ? flood_n - 1 : flood_n; /* flood recipients */
	uint8_t flood_loc = t->flood_loc[in->slot];

	if (unlikely(cap != NULL))
		vn_capture_burst(cap, pkts, n, w->id, RTE_PCAPNG_DIRECTION_IN);

	if (unlikely(__atomic_load_n(&w->dp->nr_pol, __ATOMIC_ACQUIRE) != 0)) {
		switch_policy(w, t, in, pkts, n, now);
		n = 0; /* done; only the flush below remains */
	}
	if (relay && in->locality > flood_loc)
		flood_loc = in->locality;
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct rte_ether_hdr *eth;
		uint32_t len = rte_pktmbuf_pkt_len(m);
		uint8_t cast;
		bool same_src;
		int dst;

		eth = rx_admit(c, m, len, &cast, have_src ? &last_src : NULL, &same_src);
		if (unlikely(!eth))
			continue;
		if (mvt) { /* macvtap network: macvlan.c rules instead of the learning bridge */
			static const struct vn_vlan_cls untagged = {.seg = 0,
								    .tpid = VN_TPID_8021Q};
			vn_mvt_forward(w, t, in, m, &untagged, cast, len);
			continue;
		}
		if (!same_src) {
			if (vn_fdb_learn(fdb, 0, &eth->src_addr, in->slot, now) > 0)
				have_dst = false; /* a move may change the memoised lookup */
			rte_ether_addr_copy(&eth->src_addr, &last_src);
			have_src = true;
		}
		if (cast == VN_UCAST) {
			if (!have_dst || !rte_is_same_ether_addr(&last_dst, &eth->dst_addr)) {
				last_dst_port =
				    valid_dst(t, in, vn_fdb_lookup(fdb, 0, &eth->dst_addr));
				rte_ether_addr_copy(&eth->dst_addr, &last_dst);
				have_dst = true;
			}
			dst = last_dst_port;
			if (dst >= 0) {
				if (unlikely(dst == in->slot && !relay)) {
					c->drops[VN_DROP_SAME_PORT]++;
					rte_pktmbuf_free(m);
					continue;
				}
				c->rx_loc_pkts[t->ports[dst]->locality]++;
				c->rx_loc_bytes[t->ports[dst]->locality] += len;
				tx_push(w, t, (uint16_t)dst, m, cast, in->locality, len);
				continue;
			}
		}
		/* flood: unknown unicast, broadcast, multicast — back out of the ingress port only
		 * when it is a reflective relay */
		if (unlikely(nflood == 0)) {
			c->drops[VN_DROP_NO_DEST]++;
			rte_pktmbuf_free(m);
			continue;
		}
		c->rx_loc_pkts[flood_loc]++;
		c->rx_loc_bytes[flood_loc] += len;
		if (nflood > 1)
			rte_mbuf_refcnt_update(m, (int16_t)(nflood - 1));
		for (uint16_t f = 0; f < flood_n; f++)
			if (flood[f] != in->slot || relay)
				tx_push(w, t, flood[f], m, cast, in->locality, len);
	}
	for (uint16_t d = 0; d < w->ndirty; d++)
		if (w->tx[w->dirty[d]].n)
			tx_flush(w, t, w->dirty[d]);
	w->ndirty = 0;
}

/* Poll every rx queue of worker @w once. Return: frames moved. */
static unsigned poll_once(struct vn_worker *w, const struct vn_dp_table *t)
{
	struct rte_mbuf *pkts[VN_BURST];
	const struct vn_dp_rxq *rq = t->rxqs[w->id];
	uint64_t now = vn_dp_now();
	unsigned moved = 0;

	for (unsigned i = 0; i < t->nr_rxqs[w->id]; i++) {
		struct vn_port *p = rq[i].port;
		uint16_t n = p->ops->rx_burst(p, rq[i].q, pkts, VN_BURST);
		if (n) {
			vn_dp_switch_burst(w, t, p, pkts, n, now);
			moved += n;
		}
	}
	return moved;
}

/* One rx queue armed for notification while a worker sleeps. */
struct armed_q {
	struct vn_port *port; /* rx_intr kinds: disarmed only if still published */
	uint16_t q, slot;
	int64_t token; /* rx_intr_token kinds: armed/disarmed offline */
	int (*arm)(int64_t token, bool enable);
};

static void go_offline(struct vn_worker *w)
{
	rte_rcu_qsbr_thread_offline(w->dp->qsbr, w->id);
}

static void go_online(struct vn_worker *w)
{
	rte_rcu_qsbr_thread_online(w->dp->qsbr, w->id);
}

/*
 * Idle: arm rx notifications where ports offer them, check the queues once more (a frame
 * may have come between the last poll and arming), then sleep outside the RCU reader set
 * until a notification, a wake-up (table change, new device) or the timeout: long when
 * every queue can notify, the backoff @sleep_us when one cannot.
 *
 * Kinds whose arming can block on a lock their device's callbacks hold while they wait
 * for the workers (vhost: the virtqueue lock, held by the vhost library around
 * destroy_device) give a token while online and are armed and disarmed offline, so such a
 * callback never waits for a worker stuck behind its own lock. Descriptors are dup'ed so
 * that a device that goes away meanwhile cannot hand us a reused number.
 * Return: frames moved by the re-check (0 when it slept).
 */
static unsigned worker_sleep(struct vn_worker *w, const struct vn_dp_table *t, unsigned sleep_us)
{
	struct pollfd pfd[WAIT_FDS_MAX];
	struct armed_q armed[WAIT_FDS_MAX];
	const struct vn_dp_rxq *rq = t ? t->rxqs[w->id] : NULL;
	unsigned nr = t ? t->nr_rxqs[w->id] : 0, nfd = 1, narmed = 0, moved = 0;
	bool timer = false, offline_arms = false;
	struct timespec ts;

	pfd[0] = (struct pollfd){.fd = w->wake_fd, .events = POLLIN};
	for (unsigned i = 0; i < nr && narmed < WAIT_FDS_MAX - 1; i++) {
		struct vn_port *p = rq[i].port;
		struct armed_q *a = &armed[narmed];
		int fd;

		*a = (struct armed_q){.port = p, .q = rq[i].q, .slot = p->slot, .token = -1};
		if (p->ops->rx_intr_token && p->ops->rx_intr_arm) {
			a->token = p->ops->rx_intr_token(p, rq[i].q);
			if (a->token == -ENOTCONN)
				continue; /* nothing can arrive; a connect wakes us */
			if (a->token < 0) {
				timer = true;
				continue;
			}
			a->arm = p->ops->rx_intr_arm;
			offline_arms = true;
			pfd[nfd++] = (struct pollfd){.fd = -1, .events = POLLIN};
			narmed++;
			continue;
		}
		if (!p->ops->rx_intr) {
			timer = true;
			continue;
		}
		fd = p->ops->rx_intr(p, rq[i].q, true);
		if (fd == -ENOTCONN)
			continue;
		if (fd < 0 || (fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
			timer = true;
			continue;
		}
		pfd[nfd++] = (struct pollfd){.fd = fd, .events = POLLIN};
		narmed++;
	}
	if (nr > WAIT_FDS_MAX - 1)
		timer = true;
	if (offline_arms) {
		go_offline(w);
		for (unsigned i = 0; i < narmed; i++) {
			int fd;
			if (!armed[i].arm)
				continue;
			fd = armed[i].arm(armed[i].token, true);
			if (fd >= 0)
				fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
			if (fd < 0)
				timer = true;
			pfd[i + 1].fd = fd; /* poll() ignores negative descriptors */
		}
		go_online(w);
		t = __atomic_load_n(&w->dp->table, __ATOMIC_ACQUIRE);
	}
	if (t)
		moved = poll_once(w, t);
	if (!moved) {
		unsigned us = timer ? sleep_us : INTR_TIMEOUT_US;
		ts.tv_sec = us / 1000000;
		ts.tv_nsec = (long)(us % 1000000) * 1000;
		w->st.sleeps++;
		go_offline(w);
		if (ppoll(pfd, nfd, &ts, NULL) > 0) {
			uint64_t v;
			for (unsigned i = 0; i < nfd; i++)
				if (pfd[i].fd >= 0 && (pfd[i].revents & POLLIN) &&
				    read(pfd[i].fd, &v, sizeof(v)) < 0)
					w->st.wake_errors++;
		}
		go_online(w);
	}
	if (offline_arms) {
		go_offline(w);
		for (unsigned i = 0; i < narmed; i++)
			if (armed[i].arm)
				armed[i].arm(armed[i].token, false);
		go_online(w);
	}
	/*
	 * Offline, we did not hold back port removals: a port deleted meanwhile may be freed.
	 * Only ports still in the table we see now are safe to touch.
	 */
	t = __atomic_load_n(&w->dp->table, __ATOMIC_ACQUIRE);
	for (unsigned i = 0; i < narmed; i++) {
		struct armed_q *a = &armed[i];
		if (!a->arm && t && a->slot < t->nr_slots && t->ports[a->slot] == a->port)
			a->port->ops->rx_intr(a->port, a->q, false);
		if (pfd[i + 1].fd >= 0)
			close(pfd[i + 1].fd);
	}
	return moved;
}

int vn_dp_worker_run(void *arg)
{
	struct vn_worker *w = arg;
	struct vn_dp *dp = w->dp;
	unsigned idle = 0, sleep_us = SLEEP_MIN_US;
	uint64_t tsc = rte_rdtsc();

	rte_rcu_qsbr_thread_register(dp->qsbr, w->id);
	rte_rcu_qsbr_thread_online(dp->qsbr, w->id);
	VN_INFO("worker %u running on lcore %u", w->id, rte_lcore_id());
	while (!__atomic_load_n(&dp->stop, __ATOMIC_ACQUIRE)) {
		const struct vn_dp_table *t = __atomic_load_n(&dp->table, __ATOMIC_ACQUIRE);
		unsigned moved = likely(t != NULL) ? poll_once(w, t) : 0;
		uint64_t now = rte_rdtsc();

		/* time spent on iterations that moved frames: the worker's cost per frame */
		if (moved) {
			w->st.busy_cycles += now - tsc;
			w->st.frames += moved;
		}
		tsc = now;
		rte_rcu_qsbr_quiescent(dp->qsbr, w->id);
		w->st.loops++;
		/* no pause instruction on empty polls: it costs ~100+ cycles of latency */
		if (!moved && dp->idle_sleep_us && ++idle >= IDLE_SPINS) {
			moved = worker_sleep(w, t, sleep_us);
			tsc = rte_rdtsc(); /* the sleep is not work */
		}
		if (moved) {
			w->st.busy++;
			idle = 0;
			sleep_us = SLEEP_MIN_US;
		} else if (idle >= IDLE_SPINS && sleep_us < dp->idle_sleep_us) {
			sleep_us =
			    sleep_us * 2 > dp->idle_sleep_us ? dp->idle_sleep_us : sleep_us * 2;
		}
	}
	rte_rcu_qsbr_thread_offline(dp->qsbr, w->id);
	rte_rcu_qsbr_thread_unregister(dp->qsbr, w->id);
	return 0;
}

void vn_dp_wake(struct vn_dp *dp)
{
	uint64_t one = 1;

	for (unsigned i = 0; i < dp->nr_workers; i++)
		if (dp->w[i]->wake_fd >= 0 && write(dp->w[i]->wake_fd, &one, sizeof(one)) < 0)
			dp->w[i]->st.wake_errors++;
}

void vn_dp_port_counters(struct vn_dp *dp, uint16_t slot, struct vn_port_counters *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < dp->nr_workers; i++)
		vn_counters_add(out, &dp->w[i]->ctr[slot]);
}

void vn_dp_capture_set(struct vn_dp *dp, uint16_t slot, struct vn_capture *cap)
{
	struct vn_capture *old = __atomic_exchange_n(&dp->cap[slot], cap, __ATOMIC_ACQ_REL);

	if (old && old != cap)
		vn_dp_synchronize(dp);
}

struct vn_capture *vn_dp_capture_get(struct vn_dp *dp, uint16_t slot)
{
	return __atomic_load_n(&dp->cap[slot], __ATOMIC_ACQUIRE);
}

void vn_dp_worker_stats(struct vn_dp *dp, unsigned id, struct vn_dp_worker_stats *out)
{
	if (id < dp->nr_workers)
		*out = dp->w[id]->st;
	else
		memset(out, 0, sizeof(*out));
}

void vn_dp_policy_set(struct vn_dp *dp, uint16_t slot, struct vn_port_policy *pol)
{
	struct vn_port_policy *old;

	if (pol && !dp->pol[slot])
		__atomic_store_n(&dp->nr_pol, dp->nr_pol + 1, __ATOMIC_RELEASE);
	old = __atomic_exchange_n(&dp->pol[slot], pol, __ATOMIC_ACQ_REL);
	if (!pol && old)
		__atomic_store_n(&dp->nr_pol, dp->nr_pol - 1, __ATOMIC_RELEASE);
	if (old) {
		vn_dp_synchronize(dp);
		vn_policy_free(old);
	}
}

const struct vn_port_policy *vn_dp_policy_get(struct vn_dp *dp, uint16_t slot)
{
	return __atomic_load_n(&dp->pol[slot], __ATOMIC_ACQUIRE);
}

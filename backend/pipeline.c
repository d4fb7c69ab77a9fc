/* SPDX-License-Identifier: MIT */
/* The frames' path through a worker: admit and parse, ingress policy, the kind's forward, delivery.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_errno.h>

#include "vnicd/capture.h"
#include "vnicd/datapath.h"
#include "vnicd/net.h"
#include "vnicd/overlay.h"
#include "vnicd/pipeline.h"
#include "policy/fastpath.h"
#include "vnicd/policy.h"
#include "vnicd/trace.h"
#include "worker.h"

int vn_meta_offset = -1;

int vn_pipeline_init(void)
{
	static const struct rte_mbuf_dynfield desc = {
	    .name = "vnicd_meta",
	    .size = sizeof(struct vn_meta),
	    .align = __alignof__(struct vn_meta),
	};
	int off;

	if (vn_meta_offset >= 0)
		return 0;
	off = rte_mbuf_dynfield_register(&desc);
	if (off < 0)
		return -rte_errno;
	vn_meta_offset = off;
	return 0;
}

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Extension headers walked (RFC 8200 4, RFC 7045): past this many the frame is cut short
 * (VN_META_TRUNC), which anti-spoofing drops. */
#define VN_IPV6_MAX_EXT 10

/*
 * IPv6 after its fixed header at @off: the transport header past the whole chain of
 * extension headers (hop-by-hop, routing, fragment, destination options, AH, mobility, HIP,
 * shim6, experimental), at most VN_IPV6_MAX_EXT of them. A Fragment header with a non-zero
 * offset ends the walk: no transport header (VN_META_FRAG, @l4_proto its next header); with
 * offset 0 (a first fragment) the walk goes on and VN_META_FRAG1 is set. A chain that runs
 * out of the frame or past the bound sets VN_META_TRUNC. ESP (50) and "no next header" (59)
 * end the chain as a transport of their own.
 */
static void parse_ipv6(const struct rte_mbuf *m, struct vn_meta *md, uint32_t off)
{
	uint8_t buf[40];
	const uint8_t *ip = rte_pktmbuf_read(m, off, 40, buf);
	uint32_t l4 = off + 40u;
	uint8_t nh;

	if (!ip) {
		md->flags |= VN_META_TRUNC;
		return;
	}
	nh = ip[6];
	for (int i = 0;; i++) {
		uint8_t eb[4];
		const uint8_t *e;

		switch (nh) {
		case 0:	  /* hop-by-hop options */
		case 43:  /* routing */
		case 44:  /* fragment */
		case 51:  /* authentication header */
		case 60:  /* destination options */
		case 135: /* mobility */
		case 139: /* HIP */
		case 140: /* shim6 */
		case 253: /* experimental (RFC 3692) */
		case 254:
			break;
		default:
			goto out_transport;
		}
		if (i == VN_IPV6_MAX_EXT || l4 > UINT16_MAX ||
		    !(e = rte_pktmbuf_read(m, l4, 4, eb))) {
			md->flags |= VN_META_TRUNC;
			return;
		}
		if (nh == 44) {
			if (be16(e + 2) & 0xfff8) { /* a later fragment: no transport header */
				md->flags |= VN_META_FRAG;
				md->l4_proto = e[0];
				return;
			}
			md->flags |= VN_META_FRAG1;
			l4 += 8;
		} else if (nh == 51) {
			l4 += (e[1] + 2u) * 4u;
		} else {
			l4 += (e[1] + 1u) * 8u;
		}
		nh = e[0];
	}
out_transport:
	if (l4 > UINT16_MAX) {
		md->flags |= VN_META_TRUNC;
		return;
	}
	md->l4_proto = nh;
	md->l4_off = (uint16_t)l4;
}

void vn_meta_parse_l34_slow(const struct rte_mbuf *m, struct vn_meta *md)
{
	uint32_t off = md->cl.tagged ? 16 : 12;
	uint8_t tb[2], ib[20];
	const uint8_t *t, *ip;

	md->flags = VN_META_L34;
	md->l4_off = 0;
	md->l4_proto = 0;
	for (int i = 0;; i++) { /* up to two more tags after the one classification used */
		t = rte_pktmbuf_read(m, off, 2, tb);
		if (!t) {
			md->flags |= VN_META_TRUNC;
			md->etype = 0;
			md->l3_off = (uint16_t)off;
			return;
		}
		md->etype = be16(t);
		if (md->etype != VN_TPID_8021Q && md->etype != VN_TPID_8021AD)
			break;
		if (i == 2) {
			md->flags |= VN_META_TRUNC; /* tags hiding the protocol */
			return;
		}
		off += 4;
	}
	md->l3_off = (uint16_t)(off + 2);
	if (md->etype == 0x86dd) {
		parse_ipv6(m, md, off + 2);
		return;
	}
	if (md->etype != 0x0800)
		return;
	ip = rte_pktmbuf_read(m, off + 2, 20, ib);
	if (!ip || (ip[0] >> 4) != 4 || (ip[0] & 0xf) < 5)
		return; /* no transport header known: the checks look at the IP header */
	md->l4_proto = ip[9];
	if (be16(ip + 6) & 0x1fff)
		md->flags |= VN_META_FRAG;
	else
		md->l4_off = (uint16_t)(off + 2 + (ip[0] & 0xf) * 4u);
}

/* ---- delivery: per-destination buffers, inbound meter, accounting, capture ---- */

void vn_tx_flush(struct vn_worker *w, const struct vn_dp_table *t, uint16_t slot)
{
	struct txq *tq = &w->tx[slot];
	struct vn_port_counters *c = &w->ctr[slot];
	const struct vn_slot *s = &t->slots[slot];
	struct vn_port *p = s->port;
	struct vn_trace *tr = w->trace; /* a dry run: no meter token, capture or transmission */
	uint16_t n = tq->n, sent = 0;

	if (unlikely(s->tun != NULL))
		return vn_tun_flush(w, t, slot);
	tq->n = 0;
	if (unlikely(s->pol != NULL && s->pol->in != NULL)) { /* what the guest receives */
		struct vn_meter *mt =
		    unlikely(tr != NULL) ? vn_trace_meter(tr, s->pol->in) : s->pol->in;
		uint16_t kept =
		    vn_meter_burst(mt, tq->pkts, tq->len, tq->aux, n, rte_get_tsc_cycles());
		VN_TRACE(tr, "meter", kept < n ? "drop" : "pass",
			 "port %s's inbound limit (average %" PRIu64 " KBps): %u of %u would pass",
			 p ? p->name : "?", s->pol->in->average_kBps, kept, n);
		c->drops[VN_DROP_RATE_LIMIT] += n - kept;
		n = kept;
		if (!n)
			return;
	}
	if (unlikely(s->cap != NULL) && likely(tr == NULL))
		s->cap->burst(s->cap, tq->pkts, n, w->id, RTE_PCAPNG_DIRECTION_OUT);
	if (unlikely(tr != NULL))
		sent = vn_trace_tx(tr, slot, tq->pkts, n);
	else if (unlikely(p != NULL && p->ops->tx_handoff != NULL))
		sent = p->ops->tx_handoff(p, (uint16_t)(w->id % p->nr_txq), tq->pkts, n, &w->hand);
	else if (likely(p != NULL))
		sent = p->ops->tx_burst(p, (uint16_t)(w->id % p->nr_txq), tq->pkts, n);
	vn_tx_count(c, tq, sent);
	if (unlikely(sent < n)) {
		enum vn_drop_reason r =
		    (p && p->ops->link_up(p)) ? VN_DROP_QUEUE_FULL : VN_DROP_LINK_DOWN;
		c->drops[r] += n - sent;
		rte_pktmbuf_free_bulk(&tq->pkts[sent], n - sent);
	}
}

/* One burst: where it came from, and the memos of the last admitted source and of the
 * egress form of the last single destination. */
struct burst {
	struct vn_worker *w;
	const struct vn_dp_table *t;
	const struct vn_slot *in;
	struct vn_port_counters *c;
	bool have_src;
	struct rte_ether_addr src;
	bool plain;   /* no slot has a policy: every port carries every frame as it is */
	int memo_dst; /* -1: none */
	uint16_t memo_seg;
	int8_t memo_form;
	bool memo_hop;
	uint8_t memo_loc;
};

/*
 * Send @m (one reference) to slot @d, which tags frames per their segment (struct
 * vn_vlan_map): tagged with the VLAN of @m's key, untagged for VLAN 0, or not at all.
 * Return: as deliver_one().
 */
static int deliver_vmap(struct burst *b, struct rte_mbuf *m, const struct vn_meta *md, uint16_t d,
			uint8_t txloc, struct vn_port_counters *c)
{
	int vlan = vn_vlan_map_find(b->t->slots[d].vmap, m->hash.usr);
	struct vn_vlan_cls cl = {.seg = (uint16_t)vlan, .tpid = VN_TPID_8021Q};

	if (vlan < 0) {
		rte_pktmbuf_free(m);
		return 0;
	}
	if (vlan && unlikely(!(m = vn_vlan_edit(m, &cl, 1)))) {
		c->drops[VN_DROP_NO_MBUF]++;
		return -1;
	}
	vn_tx_push(b->w, b->t, d, m, md->cast, txloc);
	return b->t->slots[d].locality + 1;
}

/*
 * Send @m (one reference) to the single slot @d, in the VLAN form @d takes. Return: 1 + the
 * locality of @d, 0 when @d does not carry the frame (freed), -1 when no buffer could be had
 * for an edit (counted as no_mbuf on @c).
 */
static __rte_always_inline int deliver_one(struct burst *b, struct rte_mbuf *m,
					   const struct vn_meta *md, uint16_t d, uint8_t txloc,
					   struct vn_port_counters *c)
{
	int form;

	if (likely(b->plain)) {
		vn_tx_push(b->w, b->t, d, m, md->cast, txloc);
		return b->t->slots[d].locality + 1;
	}
	if (b->memo_dst != d ||
	    b->memo_seg != md->cl.seg) { /* a slot with a VLAN map: never memo'd */
		bool hop;
		if (unlikely(b->t->slots[d].vmap != NULL))
			return deliver_vmap(b, m, md, d, txloc, c);
		b->memo_form =
		    (int8_t)vn_vlan_egress_seg_form(b->t->slots[d].pol, md->cl.seg, &hop);
		b->memo_hop = hop;
		b->memo_loc = b->t->slots[d].locality;
		b->memo_dst = d;
		b->memo_seg = md->cl.seg;
	}
	form = b->memo_form;
	if (unlikely(b->memo_hop) && !md->cl.tagged && vn_vlan_has_tag_ethertype(m))
		form = -1;
	if (unlikely(form < 0)) {
		rte_pktmbuf_free(m);
		return 0;
	}
	if (vn_vlan_needs_edit(&md->cl, form) && unlikely(!(m = vn_vlan_edit(m, &md->cl, form)))) {
		c->drops[VN_DROP_NO_MBUF]++;
		return -1;
	}
	vn_tx_push(b->w, b->t, d, m, md->cast, txloc);
	return b->memo_loc + 1;
}

/*
 * Send @m (one reference) to the slots of leg @l: tagged or untagged per destination, one
 * buffer per form (a copy only when both forms are needed), buffered per destination.
 * Buffers that cannot be had are counted as no_mbuf on @c. Return: 1 + the farthest
 * locality it went to, or 0 when no destination carries it (freed).
 */
static int deliver_many(struct burst *b, struct rte_mbuf *m, const struct vn_meta *md,
			const struct vn_leg *l, struct vn_port_counters *c)
{
	const struct vn_dp_table *t = b->t;
	const struct vn_vlan_cls *cl = &md->cl;
	struct rte_mbuf *mf[2] = {NULL, NULL};
	uint16_t cnt[2] = {0, 0};
	int8_t fm[VN_MAX_PORTS_HARD];
	uint8_t loc = 0;
	bool any = false; /* a destination with a VLAN map took it */

	for (uint16_t f = 0; f < l->nd; f++) {
		uint16_t d = l->dst[f];
		const struct vn_slot *s = &t->slots[d];
		fm[f] = (d == l->skip || (l->mask && !(s->kmode & l->mask)))
			    ? -1
			    : (int8_t)vn_vlan_egress_form(s->pol, cl, m);
		if (unlikely(s->vmap != NULL) && fm[f] >= 0) { /* tagged its own way */
			int r;
			rte_pktmbuf_refcnt_update(m, 1);
			r = deliver_vmap(b, m, md, d, l->txloc, c);
			if (r > 0 && r - 1 > loc)
				loc = (uint8_t)(r - 1);
			any |= r > 0;
			fm[f] = -1;
			continue;
		}
		if (fm[f] >= 0) {
			cnt[fm[f]]++;
			if (s->locality > loc)
				loc = s->locality;
		}
	}
	if (unlikely(cnt[0] + cnt[1] == 0)) {
		rte_pktmbuf_free(m);
		return any ? loc + 1 : 0;
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
			rte_pktmbuf_refcnt_update(mf[g], (int16_t)(cnt[g] - 1));
	}
	for (uint16_t f = 0; f < l->nd; f++)
		if (fm[f] >= 0 && cnt[fm[f]])
			vn_tx_push(b->w, t, l->dst[f], mf[fm[f]], md->cast, l->txloc);
	return loc + 1;
}

/* Deliver one reference of @m along leg @l and count the outcome on the leg's slot. */
static __rte_always_inline void deliver_leg(struct burst *b, struct rte_mbuf *m,
					    const struct vn_meta *md, uint32_t len,
					    const struct vn_leg *l)
{
	struct vn_port_counters *c = &b->w->ctr[l->acct];
	int r;

	if (likely(l->dst == NULL))
		r = deliver_one(b, m, md, l->one, l->txloc, c);
	else
		r = deliver_many(b, m, md, l, c);
	if (likely(r > 0)) {
		c->rx_loc_pkts[r - 1]++;
		c->rx_loc_bytes[r - 1] += len;
	} else if (r == 0) {
		c->drops[l->none]++;
	}
}

/* ---- ingress: admit, parse, the ingress port's policy ---- */

static inline uint8_t cast_of(const struct rte_ether_addr *a)
{
	if (rte_is_unicast_ether_addr(a))
		return VN_UCAST;
	return rte_is_broadcast_ether_addr(a) ? VN_BCAST : VN_MCAST;
}

static inline void drop(struct vn_port_counters *c, enum vn_drop_reason why, struct rte_mbuf *m)
{
	c->drops[why]++;
	rte_pktmbuf_free(m);
}

/*
 * Count frame @m as received, check what every path requires of it (an Ethernet header, a
 * unicast non-zero source), parse it into its vn_meta and apply the ingress port's policy:
 * VLAN classification and anti-spoofing. With a policy, a source equal to the burst's memo
 * (one that passed all this) is not checked again. Return: true if it goes on, false after counting
 * the drop and freeing it.
 */
static __rte_always_inline bool ingress(struct burst *b, struct rte_mbuf *m, uint32_t len, int moff,
					struct vn_trace *tr)
{
	const struct vn_port_policy *ipol = b->in->pol;
	struct vn_port_counters *c = b->c;
	struct vn_meta *md = vn_meta_at(m, moff);
	const struct rte_ether_hdr *eth;
	uint8_t cast;
	bool same;

	if (unlikely(rte_pktmbuf_data_len(m) < RTE_ETHER_HDR_LEN)) {
		VN_TRACE(tr, "admission", "drop", "%u bytes: shorter than an Ethernet header", len);
		drop(c, VN_DROP_MALFORMED, m);
		return false;
	}
	eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	cast = cast_of(&eth->dst_addr);
	c->rx_cast_pkts[cast]++;
	c->rx_cast_bytes[cast] += len;
	*md = (struct vn_meta){.cl = {.tpid = VN_TPID_8021Q}, .cast = cast};
	if (unlikely(tr != NULL))
		vn_trace_parse(tr, m, md);
	if (likely(ipol == NULL)) { /* the validity check is cheaper than the memo's compare */
		if (unlikely(!rte_is_valid_assigned_ether_addr(&eth->src_addr))) {
			VN_TRACE(tr, "admission", "drop", "source MAC is multicast or zero");
			drop(c, VN_DROP_INVALID_SRC, m);
			return false;
		}
		VN_TRACE(tr, "admission", "pass",
			 "valid source; the port has no policy "
			 "(transparent: VLAN 0, no checks)");
		return true;
	}
	same = b->have_src && rte_is_same_ether_addr(&b->src, &eth->src_addr);
	if (unlikely(!same && !rte_is_valid_assigned_ether_addr(&eth->src_addr))) {
		VN_TRACE(tr, "admission", "drop", "source MAC is multicast or zero");
		drop(c, VN_DROP_INVALID_SRC, m);
		return false;
	}
	VN_TRACE(tr, "admission", "pass", "valid unicast source");
	if (ipol->vlan_aware && unlikely(vn_vlan_classify(ipol, m, &md->cl) < 0)) {
		VN_TRACE(tr, "vlan", "drop", "refused by the port's VLAN policy (%s, VLAN %u)",
			 vn_vlan_mode_name(ipol->vlan_mode), ipol->vlan);
		drop(c, VN_DROP_POLICY, m);
		return false;
	}
	VN_TRACE(tr, "vlan", md->cl.tagged ? "tagged" : "untagged",
		 "%s port%s: classified to VLAN %u", vn_vlan_mode_name(ipol->vlan_mode),
		 md->cl.tagged ? ", by its tag" : ", untagged frame", md->cl.seg);
	if (ipol->antispoof) {
		bool ok = vn_antispoof_ingress(ipol, m, md, same); /* parses L3/L4 */
		if (unlikely(tr != NULL))
			vn_trace_spoof(tr, ipol, m, md, ok);
		if (unlikely(!ok)) {
			drop(c, VN_DROP_SPOOFED, m);
			return false;
		}
	}
	if (!same) {
		rte_ether_addr_copy(&eth->src_addr, &b->src);
		b->have_src = true;
	}
	return true;
}

/* Frames from a port with a VLAN map: each loses its outer 802.1Q tag, whose VLAN ID goes in
 * hash.usr (0: the frame came untagged). Frames received are the worker's own. */
static void vmap_pop(struct rte_mbuf **pkts, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint8_t *d = rte_pktmbuf_mtod(m, uint8_t *);
		m->hash.usr = 0;
		if (rte_pktmbuf_data_len(m) < RTE_ETHER_HDR_LEN + 4 || d[12] != 0x81 || d[13] != 0)
			continue;
		m->hash.usr = (uint32_t)((d[14] & 0x0f) << 8 | d[15]);
		memmove(d + 4, d, 12);
		rte_pktmbuf_adj(m, 4);
	}
}

/* Take the tunnel frames to the local VTEP out of @pkts (see vn_vtep_intercept()), counted
 * as received on the ingress slot. Return: the frames left for the underlay. */
static uint16_t vtep_take(struct burst *b, struct rte_mbuf **pkts, uint16_t n,
			  struct rte_mbuf **tun, uint16_t *tun_slot, uint16_t *ntun)
{
	struct vn_trace *tr = b->w->trace; /* once per burst */
	uint64_t bytes = 0, left_bytes = 0;
	uint16_t left;

	for (uint16_t i = 0; i < n; i++)
		bytes += rte_pktmbuf_pkt_len(pkts[i]);
	left = vn_vtep_intercept(b->in->vtep, pkts, n, tun, tun_slot, ntun, tr);
	VN_TRACE(tr, "decap", left < n ? "taken" : "left",
		 left < n
		     ? "tunnel traffic to the local VTEP: decapsulated, switched into its overlay "
		       "after the underlay's burst"
		     : "not tunnel traffic to the local VTEP: the underlay switches it");
	for (uint16_t i = 0; i < left; i++)
		left_bytes += rte_pktmbuf_pkt_len(pkts[i]);
	b->c->rx_packets += n - left;
	b->c->rx_bytes += bytes - left_bytes;
	b->c->rx_cast_pkts[VN_UCAST] += n - left;
	b->c->rx_cast_bytes[VN_UCAST] += bytes - left_bytes;
	b->c->rx_loc_pkts[VN_LOC_LOCAL] += n - left;
	b->c->rx_loc_bytes[VN_LOC_LOCAL] += bytes - left_bytes;
	return left;
}

/*
 * Storm control of the ingress port @st: of the @k frames forwarded, those that are broadcast,
 * multicast or flooded (a leg to a list of slots) take a token each from the port's bucket;
 * those beyond it are turned into drops (storm), which the delivery loop counts and frees.
 */
static __rte_always_inline void storm_police(struct vn_storm *st, struct rte_mbuf **pkts,
					     struct vn_fwd *fwd, uint16_t k, int moff,
					     struct vn_trace *tr)
{
	uint16_t idx[VN_BURST], ns = 0, ok;

	for (uint16_t i = 0; i < k; i++) {
		const struct vn_fwd *f = &fwd[i];
		bool flood = f->nlegs != 0 && f->nlegs != VN_FWD_TO &&
			     (f->leg[0].dst != NULL || (f->nlegs == 2 && f->leg[1].dst != NULL));
		if (f->nlegs != 0 && (flood || vn_meta_at(pkts[i], moff)->cast != VN_UCAST))
			idx[ns++] = i;
	}
	if (!ns)
		return;
	if (unlikely(tr != NULL)) /* its bucket's copy: no token taken */
		st = vn_trace_storm(tr, st);
	ok = vn_storm_admit(st, ns, rte_get_tsc_cycles());
	VN_TRACE(tr, "storm", ok < ns ? "drop" : "pass",
		 "storm control (%" PRIu64 " pps): %u of %u broadcast/multicast/flooded frame(s) "
		 "would pass",
		 st->pps, ok, ns);
	for (uint16_t j = ok; j < ns; j++)
		vn_fwd_drop(&fwd[idx[j]], VN_DROP_STORM);
}

/* The port's outbound limit over the @k frames of @pkts. Return: how many it kept (first). */
static __rte_always_inline uint16_t meter_out(struct burst *b, struct rte_mbuf **pkts, uint16_t k,
					      struct vn_trace *tr)
{
	const struct vn_slot *is = b->in;
	struct vn_meter *mt =
	    unlikely(tr != NULL) ? vn_trace_meter(tr, is->pol->out) : is->pol->out;
	uint16_t kept = vn_meter_burst(mt, pkts, NULL, NULL, k, rte_get_tsc_cycles());

	VN_TRACE(tr, "meter", kept < k ? "drop" : "pass",
		 "the port's outbound limit (average %" PRIu64 " KBps, bucket %" PRIu64
		 " bytes): %u of %u would pass",
		 is->pol->out->average_kBps, is->pol->out->cbs, kept, k);
	b->c->drops[VN_DROP_RATE_LIMIT] += k - kept;
	return kept;
}

/*
 * Push the @n frames @m of cast @cast, with no policy anywhere (b->plain), to slot @d as they
 * are, counted at once on @d's locality. Return: their bytes.
 */
static __rte_always_inline uint64_t plain_push(struct burst *b, uint16_t d, struct rte_mbuf **m,
					       uint16_t n, uint8_t cast)
{
	int loc = b->t->slots[d].locality;
	uint64_t bytes = vn_tx_push_n(b->w, b->t, d, m, n, cast, b->in->locality);

	b->c->rx_loc_pkts[loc] += n;
	b->c->rx_loc_bytes[loc] += bytes;
	return bytes;
}

/*
 * Deliver, with no policy anywhere (b->plain), frame @i of @pkts and the frames after it
 * before @k that go to the same single slot with the same cast: pushed as they are, counted
 * at once on the locality of their destination. Return: the index after the run.
 */
static __rte_always_inline uint16_t plain_run(struct burst *b, struct rte_mbuf **pkts,
					      const struct vn_fwd *fwd, uint16_t i, uint16_t k,
					      uint8_t cast, const int moff)
{
	uint16_t d = fwd[i].to, j = (uint16_t)(i + 1);

	while (j < k && fwd[j].nlegs == VN_FWD_TO && fwd[j].to == d &&
	       vn_meta_at(pkts[j], moff)->cast == cast)
		j++;
	plain_push(b, d, &pkts[i], (uint16_t)(j - i), cast);
	return j;
}

/* Deliver frame @m, which floods (@f: one or two legs) or is dropped (no leg). */
static __rte_always_inline void deliver_legs(struct burst *b, struct rte_mbuf *m,
					     const struct vn_meta *md, uint32_t len,
					     const struct vn_fwd *f)
{
	if (unlikely(f->nlegs == 0)) {
		if (f->drop != VN_FWD_COUNTED)
			b->c->drops[f->drop]++;
		rte_pktmbuf_free(m);
		return;
	}
	if (unlikely(f->nlegs == 2)) {
		rte_pktmbuf_refcnt_update(m, 1); /* one reference per leg, every segment */
		deliver_leg(b, m, md, len, &f->leg[0]);
		deliver_leg(b, m, md, len, &f->leg[1]);
		return;
	}
	deliver_leg(b, m, md, len, &f->leg[0]);
}

/*
 * Deliver the @k frames of @pkts as the network kind decided (@fwd); the frames delivered to
 * one destination are counted by locality, in runs of one locality (with no policy
 * anywhere, runs to one slot are pushed at once: plain_run()).
 */
static __rte_always_inline void deliver_burst(struct burst *b, struct rte_mbuf **pkts,
					      const struct vn_fwd *fwd, uint16_t k, const int moff)
{
	uint64_t run_bytes = 0;
	uint32_t run = 0;
	int run_loc = 0;

	if (likely(b->plain)) { /* a loop of its own: the other keeps its registers */
		for (uint16_t i = 0; i < k;) {
			struct rte_mbuf *m = pkts[i];
			const struct vn_meta *md = vn_meta_at(m, moff);
			if (likely(fwd[i].nlegs == VN_FWD_TO)) {
				i = plain_run(b, pkts, fwd, i, k, md->cast, moff);
				continue;
			}
			deliver_legs(b, m, md, rte_pktmbuf_pkt_len(m), &fwd[i]);
			i++;
		}
		return;
	}
	for (uint16_t i = 0; i < k; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct vn_meta *md = vn_meta_at(m, moff);
		const struct vn_fwd *f = &fwd[i];
		uint32_t len = rte_pktmbuf_pkt_len(m); /* as received: delivery may edit it */

		if (likely(f->nlegs == VN_FWD_TO)) {
			int r = deliver_one(b, m, md, f->to, b->in->locality, b->c);
			if (likely(r > 0)) { /* counted in runs of one locality */
				if (unlikely(r - 1 != run_loc)) {
					b->c->rx_loc_pkts[run_loc] += run;
					b->c->rx_loc_bytes[run_loc] += run_bytes;
					run_loc = r - 1;
					run = 0;
					run_bytes = 0;
				}
				run++;
				run_bytes += len;
			} else if (r == 0) {
				b->c->drops[VN_DROP_POLICY]++;
			}
			continue;
		}
		deliver_legs(b, m, md, len, f);
	}
	b->c->rx_loc_pkts[run_loc] += run;
	b->c->rx_loc_bytes[run_loc] += run_bytes;
}

static void handoff_drain(struct vn_worker *w, const struct vn_dp_table *t, uint64_t now);

/* Send what the burst left in the destinations' buffers. */
static __rte_always_inline void flush_dirty(struct vn_worker *w, const struct vn_dp_table *t)
{
	for (uint16_t d = 0; d < w->ndirty; d++)
		if (w->tx[w->dirty[d]].n)
			vn_tx_flush(w, t, w->dirty[d]);
	w->ndirty = 0;
}

/* A burst from slot @in, and the forwarding context of its network's kind (@tr: a trace). */
static __rte_always_inline struct burst burst_of(struct vn_worker *w, const struct vn_dp_table *t,
						 uint16_t in)
{
	return (struct burst){.w = w,
			      .t = t,
			      .in = &t->slots[in],
			      .c = &w->ctr[in],
			      .plain = t->nr_pol == 0 && t->nr_vmap == 0,
			      .memo_dst = -1};
}

static __rte_always_inline struct vn_fwd_ctx fwd_ctx_of(struct vn_worker *w,
							const struct vn_dp_table *t, uint16_t in,
							uint64_t now, struct vn_trace *tr)
{
	return (struct vn_fwd_ctx){.t = t,
				   .in = &t->slots[in],
				   .in_slot = in,
				   .ctr = w->ctr,
				   .now = now,
				   .trace = tr,
				   .memo = &w->fmemo[in]};
}

/*
 * The burst's path; @tr is NULL on the fast path (a constant: every trace note and dry-run
 * branch folds away) and the trace being recorded in the copy vn_dp_switch_burst() makes for
 * a trace's scratch worker (trace.h).
 */
static __rte_always_inline void switch_burst(struct vn_worker *w, const struct vn_dp_table *t,
					     uint16_t in, struct rte_mbuf **pkts, uint16_t n,
					     uint64_t now, struct vn_trace *tr)
{
	const struct vn_slot *is = &t->slots[in];
	struct burst b = burst_of(w, t, in);
	struct vn_fwd_ctx ctx = fwd_ctx_of(w, t, in, now, tr);
	struct vn_fwd fwd[VN_BURST];
	const int moff = vn_meta_offset;
	uint64_t bytes = 0;
	uint16_t k = 0, ntun = 0;
	struct rte_mbuf *tun[VN_BURST];
	uint16_t tun_slot[VN_BURST];

	if (unlikely(is->cap != NULL) && !tr)
		is->cap->burst(is->cap, pkts, n, w->id, RTE_PCAPNG_DIRECTION_IN);
	VN_TRACE(tr, "ingress", "received", "port %s (%s) of network %s (%s)", is->port->name,
		 is->port->ops->kind, is->net->name, is->net->kind->name);
	if (unlikely(is->vtep != NULL)) /* tunnel traffic to the local VTEP is taken out */
		n = vtep_take(&b, pkts, n, tun, tun_slot, &ntun);
	if (unlikely(is->vmap != NULL)) { /* the port's tags are the kind's to read */
		vmap_pop(pkts, n);
		VN_TRACE(tr, "vlan", "vlan-map",
			 "the port's VLAN map: outer VLAN %u (0: untagged) "
			 "taken off for the network kind",
			 n ? pkts[0]->hash.usr : 0);
	}
	for (uint16_t i = 0; i < n; i++) {
		uint32_t len = rte_pktmbuf_pkt_len(pkts[i]);
		bytes += len;
		if (ingress(&b, pkts[i], len, moff, tr))
			pkts[k++] = pkts[i];
	}
	b.c->rx_packets += n;
	b.c->rx_bytes += bytes;
	if (unlikely(is->pol != NULL && is->pol->out != NULL && k)) /* what the guest sends */
		k = meter_out(&b, pkts, k, tr);
	if (likely(k))
		is->net->kind->forward(&ctx, pkts, k, fwd);
	for (uint16_t i = 0; unlikely(tr != NULL) && i < k; i++)
		vn_trace_fwd(tr, in, pkts[i], &fwd[i]);
	if (unlikely(is->pol != NULL) && is->pol->storm != NULL && k)
		storm_police(is->pol->storm, pkts, fwd, k, moff, tr);
	deliver_burst(&b, pkts, fwd, k, moff);
	flush_dirty(w, t);
	if (unlikely(ntun)) /* the underlay's burst is done: into the overlays */
		vn_tun_rx(w, t, tun, tun_slot, ntun, now);
	if (unlikely(w->hand.n != 0) && !w->handing)
		handoff_drain(w, t, now);
}

/*
 * The @n frames alike (one Ethernet header, untagged: a vn_handoff run) that slot @in gave
 * back: the first is taken in and forwarded as switch_burst() would; when it goes to one
 * slot of a network whose kind forwards by the Ethernet header (by_l2), the others follow
 * it there, counted as it was, with neither ingress nor forwarding of their own. Otherwise,
 * and for a slot with policy, capture, a VLAN map or a VTEP (none of which a NAT leg has),
 * they go the whole way.
 */
static __rte_noinline void switch_alike(struct vn_worker *w, const struct vn_dp_table *t,
					uint16_t in, struct rte_mbuf **pkts, uint16_t n,
					uint64_t now)
{
	const struct vn_slot *is = &t->slots[in];
	struct burst b = burst_of(w, t, in);
	struct vn_fwd_ctx ctx = fwd_ctx_of(w, t, in, now, NULL);
	const int moff = vn_meta_offset;
	struct vn_fwd fwd[VN_BURST];
	const struct vn_meta *md;
	uint64_t bytes = 0;
	uint8_t cast;

	if (n < 2 || w->trace || !is->net->kind->by_l2 || is->pol || is->cap || is->vmap ||
	    is->vtep)
		return vn_dp_switch_burst(w, t, in, pkts, n, now);
	b.c->rx_packets++;
	b.c->rx_bytes += rte_pktmbuf_pkt_len(pkts[0]);
	if (!ingress(&b, pkts[0], rte_pktmbuf_pkt_len(pkts[0]), moff, NULL))
		return vn_dp_switch_burst(w, t, in, pkts + 1, n - 1, now);
	is->net->kind->forward(&ctx, pkts, 1, fwd);
	if (fwd[0].nlegs != VN_FWD_TO) { /* a flood or a drop: each frame its own way */
		deliver_burst(&b, pkts, fwd, 1, moff);
		return vn_dp_switch_burst(w, t, in, pkts + 1, n - 1, now); /* flushes both */
	}
	md = vn_meta_at(pkts[0], moff);
	cast = md->cast; /* once pushed, the frames are no longer ours to read */
	if (b.plain) {	 /* deliver_one() of each: pushed as they are, counted at once */
		uint64_t first = rte_pktmbuf_pkt_len(pkts[0]);
		bytes = plain_push(&b, fwd[0].to, pkts, n, cast) - first;
	} else { /* the delivery reads each one's parse: the first one's */
		for (uint16_t i = 1; i < n; i++) {
			*vn_meta_at(pkts[i], moff) = *md;
			fwd[i] = fwd[0];
			bytes += rte_pktmbuf_pkt_len(pkts[i]);
		}
	}
	b.c->rx_packets += n - 1u;
	b.c->rx_bytes += bytes;
	b.c->rx_cast_pkts[cast] += n - 1u;
	b.c->rx_cast_bytes[cast] += bytes;
	if (!b.plain)
		deliver_burst(&b, pkts, fwd, n, moff);
	flush_dirty(w, t);
}

/*
 * Switch what ports gave back while the burst was delivered (a NAT leg's translated frames)
 * as received on their slots, in rounds: the bursts of one round give back into the next.
 * A slot whose port is not the one that gave (a table change) drops its run; after
 * HANDOFF_ROUNDS (a loop between networks) what is left is dropped. Both count on the slot.
 */
#define HANDOFF_ROUNDS 4
static __rte_noinline void handoff_drain(struct vn_worker *w, const struct vn_dp_table *t,
					 uint64_t now)
{
	struct vn_handoff h;

	w->handing = 1;
	for (unsigned round = 0; w->hand.n && round <= HANDOFF_ROUNDS; round++) {
		memcpy(&h, &w->hand, offsetof(struct vn_handoff, m) + w->hand.n * sizeof(h.m[0]));
		w->hand.n = w->hand.nruns = 0;
		for (uint16_t r = 0; r < h.nruns; r++) {
			uint16_t s = h.run[r].slot, n = h.run[r].n;
			struct rte_mbuf **m = &h.m[h.run[r].first];
			if (unlikely(round == HANDOFF_ROUNDS || s >= t->nr_slots ||
				     t->slots[s].port != h.run[r].port)) {
				w->ctr[s].drops[VN_DROP_LINK_DOWN] += n;
				rte_pktmbuf_free_bulk(m, n);
				continue;
			}
			for (uint16_t i = 0; i < n; i += VN_BURST) {
				uint16_t k = RTE_MIN(n - i, VN_BURST);
				if (h.run[r].alike)
					switch_alike(w, t, s, m + i, k, now);
				else
					vn_dp_switch_burst(w, t, s, m + i, k, now);
			}
		}
	}
	w->handing = 0;
}

/* The traced copy of switch_burst(), out of line: never in the fast path's instruction cache. */
static __rte_noinline void switch_burst_traced(struct vn_worker *w, const struct vn_dp_table *t,
					       uint16_t in, struct rte_mbuf **pkts, uint16_t n,
					       uint64_t now)
{
	switch_burst(w, t, in, pkts, n, now, w->trace);
}

void vn_dp_switch_burst(struct vn_worker *w, const struct vn_dp_table *t, uint16_t in,
			struct rte_mbuf **pkts, uint16_t n, uint64_t now)
{
	if (unlikely(w->trace != NULL))
		return switch_burst_traced(w, t, in, pkts, n, now);
	switch_burst(w, t, in, pkts, n, now, NULL);
}

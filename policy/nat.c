/* SPDX-License-Identifier: MIT */
/* NAT translation on mbufs: SNAT/masquerade, port forwards, hairpin, ICMP echo and errors. */
#include <netinet/in.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_byteorder.h>
#include <rte_hash_crc.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "vnicd/cksum.h"
#include "vnicd/nat.h"
#include "nat_priv.h"

static const char *const drop_names[VN_NAT_DROP__MAX] = {
    "table_full", "no_port",   "no_route",    "bad_icmp_error", "no_connection",
    "fragment",	  "malformed", "unsupported", "ttl_exceeded"};

const char *vn_nat_drop_name(unsigned why)
{
	return why < VN_NAT_DROP__MAX ? drop_names[why] : "?";
}

uint16_t vn_nat_csum_adjust(uint16_t hc, const void *old, const void *new, unsigned len)
{
	const uint8_t *o = old, *n = new;
	uint32_t s = (uint16_t)~hc;

	for (unsigned i = 0; i + 1 < len; i += 2) {
		uint16_t ow, nw;
		memcpy(&ow, o + i, 2);
		memcpy(&nw, n + i, 2);
		s += (uint16_t)~ow;
		s += nw;
	}
	return (uint16_t)~vn_fold(s);
}

/* ---- headers ---- */

static inline bool inside(const struct vn_nat *nt, uint32_t a)
{
	return (a & nt->mask) == nt->net;
}

/* Complete checksums an offload would have finished (virtio/TAP "needs checksum"). */
static void csum_finish(struct rte_mbuf *m, struct pkt *p)
{
	uint64_t l4 = m->ol_flags & RTE_MBUF_F_TX_L4_MASK;

	if (m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM) {
		p->ip->hdr_checksum = 0;
		p->ip->hdr_checksum = rte_ipv4_cksum(p->ip);
	}
	if (l4 == RTE_MBUF_F_TX_TCP_CKSUM && p->t.proto == IPPROTO_TCP) {
		struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)p->l4;
		th->cksum = 0;
		th->cksum = vn_l4_cksum_mbuf(
		    m, p->ip, NULL, (uint32_t)(p->l4 - rte_pktmbuf_mtod(m, uint8_t *)), false);
	} else if (l4 == RTE_MBUF_F_TX_UDP_CKSUM && p->t.proto == IPPROTO_UDP) {
		struct rte_udp_hdr *uh = (struct rte_udp_hdr *)p->l4;
		uh->dgram_cksum = 0;
		uh->dgram_cksum = vn_l4_cksum_mbuf(
		    m, p->ip, NULL, (uint32_t)(p->l4 - rte_pktmbuf_mtod(m, uint8_t *)), true);
	}
	m->ol_flags &= ~(RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_IPV4);
}

/* The transport of @p into its tuple. Return: 0, or a drop reason. */
static int l4_parse(struct pkt *p, uint32_t have)
{
	struct vn_ct_tuple *t = &p->t;

	t->proto = p->ip->next_proto_id;
	t->src = p->ip->src_addr;
	t->dst = p->ip->dst_addr;
	switch (t->proto) {
	case IPPROTO_TCP: {
		const struct rte_tcp_hdr *th = (const void *)p->l4;
		if (have < sizeof(*th) || p->l4_len < sizeof(*th))
			return VN_NAT_MALFORMED;
		t->sport = th->src_port;
		t->dport = th->dst_port;
		p->tcp_flags = th->tcp_flags;
		return 0;
	}
	case IPPROTO_UDP: {
		const struct rte_udp_hdr *uh = (const void *)p->l4;
		if (have < sizeof(*uh) || p->l4_len < sizeof(*uh))
			return VN_NAT_MALFORMED;
		t->sport = uh->src_port;
		t->dport = uh->dst_port;
		return 0;
	}
	case IPPROTO_ICMP: {
		const struct rte_icmp_hdr *ih = (const void *)p->l4;
		if (have < sizeof(*ih) || p->l4_len < sizeof(*ih))
			return VN_NAT_MALFORMED;
		p->icmp_type = ih->icmp_type;
		if (ih->icmp_type == RTE_IP_ICMP_ECHO_REQUEST ||
		    ih->icmp_type == RTE_IP_ICMP_ECHO_REPLY) {
			t->sport = t->dport = ih->icmp_ident;
			return 0;
		}
		if (ih->icmp_type == 3 || ih->icmp_type == 11 || ih->icmp_type == 12)
			return 0; /* an error: vn_nat_process() looks at what it quotes */
		return VN_NAT_UNSUPPORTED;
	}
	default:
		return VN_NAT_UNSUPPORTED;
	}
}

/* Frame @m's IPv4 datagram at offset 14 into @p. Return: 0, or a drop reason. */
static int parse(struct rte_mbuf *m, struct pkt *p)
{
	uint32_t dlen = rte_pktmbuf_data_len(m), ihl;

	memset(p, 0, sizeof(*p));
	if (dlen < RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr) ||
	    rte_pktmbuf_mtod(m, const struct rte_ether_hdr *)->ether_type !=
		rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
		return VN_NAT_MALFORMED;
	p->ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
	ihl = (p->ip->version_ihl & 0xf) * 4u;
	p->ip_len = rte_be_to_cpu_16(p->ip->total_length);
	if ((p->ip->version_ihl >> 4) != 4 || ihl < 20 || p->ip_len < ihl ||
	    RTE_ETHER_HDR_LEN + (uint32_t)p->ip_len > rte_pktmbuf_pkt_len(m) ||
	    dlen < RTE_ETHER_HDR_LEN + ihl)
		return VN_NAT_MALFORMED;
	p->l4 = (uint8_t *)p->ip + ihl;
	p->l4_len = p->ip_len - ihl;
	if (p->ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_OFFSET_MASK)) {
		p->later_frag = true;
		p->t = (struct vn_ct_tuple){
		    .src = p->ip->src_addr, .dst = p->ip->dst_addr, .proto = p->ip->next_proto_id};
		return 0;
	}
	p->first_frag = (p->ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG)) != 0;
	return l4_parse(p, dlen - RTE_ETHER_HDR_LEN - ihl);
}

/*
 * Rewrite transport header @l4 (@proto, @have bytes of it present) from tuple @o to tuple
 * @n: ports (or the ICMP echo identifier) and, for TCP and UDP, the checksum for the
 * pseudo-header's addresses too. The IP header is the caller's.
 */
static void l4_rewrite(uint8_t *l4, uint32_t have, uint8_t proto, const struct vn_ct_tuple *o,
		       const struct vn_ct_tuple *n)
{
	uint16_t ow[6], nw[6];

	memcpy(ow, &o->src, 4), memcpy(ow + 2, &o->dst, 4), ow[4] = o->sport, ow[5] = o->dport;
	memcpy(nw, &n->src, 4), memcpy(nw + 2, &n->dst, 4), nw[4] = n->sport, nw[5] = n->dport;
	if (proto == IPPROTO_TCP && have >= 18) {
		struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)l4;
		th->cksum = vn_nat_csum_adjust(th->cksum, ow, nw, 12);
	} else if (proto == IPPROTO_UDP && have >= 8) {
		struct rte_udp_hdr *uh = (struct rte_udp_hdr *)l4;
		if (uh->dgram_cksum) {
			uh->dgram_cksum = vn_nat_csum_adjust(uh->dgram_cksum, ow, nw, 12);
			if (!uh->dgram_cksum)
				uh->dgram_cksum = 0xffff;
		}
	} else if (proto == IPPROTO_ICMP && have >= 8) {
		struct rte_icmp_hdr *ih = (struct rte_icmp_hdr *)l4;
		ih->icmp_cksum = vn_nat_csum_adjust(ih->icmp_cksum, &o->sport, &n->sport, 2);
		ih->icmp_ident = n->sport;
		return;
	}
	if (have >= 4) {
		memcpy(l4, &n->sport, 2);
		memcpy(l4 + 2, &n->dport, 2);
	}
}

/* The tuple that leaves for a packet matching direction @d of @e: the inverse of the other. */
static struct vn_ct_tuple out_of(const struct vn_ct_entry *e, int d)
{
	const struct vn_ct_tuple *r = &e->t[!d];

	return (struct vn_ct_tuple){
	    .src = r->dst, .dst = r->src, .sport = r->dport, .dport = r->sport, .proto = r->proto};
}

/* ---- new connections (lock held) ---- */

/* A reply tuple @rep (its dport the external port to choose) that no entry has: the
 * original port @keep when free, else one of the range. Return: 0, or -1 (none free). */
static int port_pick(struct vn_nat *nt, struct vn_ct_tuple *rep, uint16_t keep)
{
	uint32_t span = (uint32_t)nt->port_hi - nt->port_lo + 1u, start;
	int d;

	bool icmp = rep->proto == IPPROTO_ICMP; /* the identifier is both ports */

	rep->dport = keep;
	if (icmp)
		rep->sport = keep;
	/* on the host's own address, only ports of the range (kept apart from the host's own
	 * by the user: see the host filter), as iptables' MASQUERADE --to-ports */
	if ((icmp || !nt->host_ext || rep->dst != nt->ext ||
	     (rte_be_to_cpu_16(keep) >= nt->port_lo && rte_be_to_cpu_16(keep) <= nt->port_hi)) &&
	    !vn_ct_lookup(nt->ct, rep, &d))
		return 0;
	start = vn_ct_tuple_hash(rep, 0x706f7274) % span;
	for (uint32_t i = 0; i < span && i < VN_NAT_PORT_TRIES; i++) {
		rep->dport = rte_cpu_to_be_16((uint16_t)(nt->port_lo + (start + i) % span));
		if (icmp)
			rep->sport = rep->dport;
		if (!vn_ct_lookup(nt->ct, rep, &d))
			return 0;
	}
	return -1;
}

static const struct vn_nat_fwd *fwd_find(const struct vn_nat *nt, uint8_t proto, uint16_t port)
{
	for (unsigned i = 0; i < nt->nfwd; i++)
		if (nt->fwd[i].proto == proto && nt->fwd[i].ext_port == port && nt->fwd[i].to)
			return &nt->fwd[i];
	return NULL;
}

/* The floating IP whose outside address (@by_in false) or inside host (true) is @a. */
static const struct vn_nat_float *float_find(const struct vn_nat *nt, uint32_t a, bool by_in)
{
	for (unsigned i = 0; i < nt->nfloat; i++)
		if ((by_in ? nt->floats[i].in : nt->floats[i].fip) == a && nt->floats[i].in)
			return &nt->floats[i];
	return NULL;
}

/* Is @a one of the network's outside addresses (the external address, a floating IP)? */
static bool ours(const struct vn_nat *nt, uint32_t a)
{
	return a == nt->ext || float_find(nt, a, false);
}

/* May this packet start a connection? TCP: a SYN alone; UDP; ICMP: an echo request. */
static bool may_start(const struct pkt *p)
{
	if (p->t.proto == IPPROTO_TCP)
		return (p->tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG | RTE_TCP_RST_FLAG)) ==
		       RTE_TCP_SYN_FLAG;
	if (p->t.proto == IPPROTO_ICMP)
		return p->icmp_type == RTE_IP_ICMP_ECHO_REQUEST;
	return true;
}

/* A new connection for @p from the inside (source MAC @smac) or the outside. Return: the
 * entry, or NULL with the drop reason in *@why. */
static struct vn_ct_entry *conn_new(struct vn_nat *nt, const struct pkt *p, bool from_inside,
				    const struct rte_ether_addr *smac, uint64_t now, int *why,
				    struct vn_nat_res *r)
{
	const struct vn_nat_fwd *f = NULL;
	const struct vn_nat_float *fl = NULL;
	struct vn_nat_fwd fl_fwd;
	struct vn_ct_tuple rep = {.proto = p->t.proto};
	struct rte_ether_addr mac[2] = {0};
	struct vn_ct_entry *e;
	uint8_t flags = 0;

	*why = VN_NAT_NO_CONNECTION;
	if (!may_start(p))
		return NULL;
	if (p->t.dst == nt->ext && p->t.proto != IPPROTO_ICMP)
		f = fwd_find(nt, p->t.proto, p->t.dport);
	else if ((fl = float_find(nt, p->t.dst, false))) { /* 1:1: every port, echo too */
		fl_fwd = (struct vn_nat_fwd){.proto = p->t.proto,
					     .ext_port = p->t.dport,
					     .to = fl->in,
					     .to_port = p->t.dport};
		f = &fl_fwd;
	}
	if (f) { /* a port forward (from the outside, or hairpin from the inside) */
		if (!vn_nat_neigh_get(nt, 0, f->to, &mac[1])) {
			r->resolve = f->to;
			r->resolve_side = 0;
			*why = VN_NAT_NO_ROUTE;
			return NULL;
		}
		rep.src = f->to;
		rep.sport = f->to_port;
		flags |= VN_CT_F_DNAT;
	} else if (!from_inside || inside(nt, p->t.dst) || ours(nt, p->t.dst)) {
		return NULL;
	} else {
		rep.src = p->t.dst;
		rep.sport = p->t.dport;
	}
	if (from_inside) { /* the source goes too: to the outside, or back in (hairpin) */
		const struct vn_nat_float *own = float_find(nt, p->t.src, true);
		/* hairpin: from the gateway's address, as MASQUERADE out of the inside
		 * interface does, so that the answer comes back through vnicd */
		rep.dst = f ? nt->gw : own ? own->fip : nt->ext;
		flags |= VN_CT_F_SNAT;
		if (rep.dst == nt->ext && nt->host_ext && p->t.proto != IPPROTO_ICMP)
			flags |= VN_CT_F_PORT; /* kept from the host's stack while it lasts */
		if (port_pick(nt, &rep, p->t.sport) < 0) {
			*why = VN_NAT_NO_PORT;
			return NULL;
		}
	} else {
		rep.dst = p->t.src;
		rep.dport = p->t.sport;
		int d;
		if (vn_ct_lookup(nt->ct, &rep, &d)) {
			*why = VN_NAT_NO_PORT;
			return NULL;
		}
	}
	if (rep.proto == IPPROTO_ICMP)
		rep.sport = rep.dport; /* the identifier both ways */
	if (from_inside)
		mac[0] = *smac;
	e = vn_ct_insert_nat(nt->ct, &p->t, &rep, flags, mac, now);
	if (!e) {
		*why = VN_NAT_TABLE_FULL;
		return NULL;
	}
	if (from_inside)
		vn_nat_neigh_put(nt, 0, p->t.src, smac);
	return e;
}

/* ---- ICMP errors ---- */

/*
 * ICMP error @p (type 3, 11, 12): the datagram it quotes was sent in some direction of a
 * tracked connection; the quote and the outer destination are translated as the packets of
 * that connection going the other way. Return: the entry and *@dir the direction the error
 * travels (lock held), or NULL.
 */
static struct vn_ct_entry *icmp_error(struct vn_nat *nt, struct pkt *p, uint32_t have, int *dir)
{
	struct rte_icmp_hdr *ih = (struct rte_icmp_hdr *)p->l4;
	struct rte_ipv4_hdr *q = (struct rte_ipv4_hdr *)(p->l4 + 8);
	struct vn_ct_tuple qt, rev, o;
	struct vn_ct_entry *e;
	uint32_t qihl, qhave;
	uint8_t *ql4;
	int d;

	if (have < 8 + 20 || (q->version_ihl >> 4) != 4)
		return NULL;
	qihl = (q->version_ihl & 0xf) * 4u;
	if (qihl < 20 || have < 8 + qihl + 8)
		return NULL;
	ql4 = (uint8_t *)q + qihl;
	qhave = have - 8 - qihl;
	qt =
	    (struct vn_ct_tuple){.src = q->src_addr, .dst = q->dst_addr, .proto = q->next_proto_id};
	if (qt.proto == IPPROTO_TCP || qt.proto == IPPROTO_UDP) {
		memcpy(&qt.sport, ql4, 2);
		memcpy(&qt.dport, ql4 + 2, 2);
	} else if (qt.proto == IPPROTO_ICMP && ql4[0] == RTE_IP_ICMP_ECHO_REQUEST) {
		memcpy(&qt.sport, ql4 + 4, 2);
		qt.dport = qt.sport;
	} else {
		return NULL;
	}
	/* the quoted datagram went as the inverse of direction d's tuple: the error comes back
	 * in direction d */
	rev = (struct vn_ct_tuple){
	    .src = qt.dst, .dst = qt.src, .sport = qt.dport, .dport = qt.sport, .proto = qt.proto};
	if (!(e = vn_ct_lookup(nt->ct, &rev, &d)))
		return NULL;
	/* the quote becomes what the other side sent: the inverse of out_of(e, d) */
	o = out_of(e, d);
	rev = (struct vn_ct_tuple){
	    .src = o.dst, .dst = o.src, .sport = o.dport, .dport = o.sport, .proto = o.proto};
	{
		uint32_t ow[2] = {q->src_addr, q->dst_addr}, nw[2] = {rev.src, rev.dst};
		uint16_t ocs = q->hdr_checksum;
		q->hdr_checksum = vn_nat_csum_adjust(q->hdr_checksum, ow, nw, 8);
		q->src_addr = rev.src;
		q->dst_addr = rev.dst;
		/* the ICMP checksum covers the quote: adjust it for every word changed */
		ih->icmp_cksum = vn_nat_csum_adjust(ih->icmp_cksum, ow, nw, 8);
		ih->icmp_cksum = vn_nat_csum_adjust(ih->icmp_cksum, &ocs, &q->hdr_checksum, 2);
	}
	{ /* ports and, when quoted, the transport checksum: the ICMP checksum follows */
		uint8_t before[20];
		unsigned n = qhave >= 20 ? 20 : 8;
		memcpy(before, ql4, n);
		l4_rewrite(ql4, qhave, qt.proto, &qt, &rev);
		ih->icmp_cksum = vn_nat_csum_adjust(ih->icmp_cksum, before, ql4, n);
	}
	*dir = d;
	return e;
}

/* ---- fragments (lock held) ---- */

static struct vn_nat_frag *frag_slot(struct vn_nat *nt, const struct pkt *p, bool add, uint64_t now)
{
	uint32_t h = rte_hash_crc_4byte(p->t.src ^ p->t.dst, p->ip->packet_id ^ p->t.proto);
	struct vn_nat_frag *f = &nt->frag[h & (VN_NAT_FRAGS - 1)];

	if (f->expires > now && f->src == p->t.src && f->dst == p->t.dst &&
	    f->id == p->ip->packet_id && f->proto == p->t.proto)
		return f;
	if (!add)
		return NULL;
	*f = (struct vn_nat_frag){.src = p->t.src,
				  .dst = p->t.dst,
				  .id = p->ip->packet_id,
				  .proto = p->t.proto,
				  .expires = now + VN_NAT_FRAG_MS};
	return f; /* a slot in use by another datagram is taken over */
}

/* ---- the frame ---- */

/* The Ethernet destination of translated tuple @o: an inside host (@e's MAC for it, or the
 * map's) or the outside next hop. Return: where it goes, or VN_NAT_DROPPED. */
static int route(struct vn_nat *nt, const struct vn_ct_entry *e, int d, const struct vn_ct_tuple *o,
		 struct vn_nat_res *r)
{
	uint32_t nh;

	if (inside(nt, o->dst)) {
		if (e && !rte_is_zero_ether_addr(&e->mac[!d]))
			r->dmac = e->mac[!d];
		else if (!vn_nat_neigh_get(nt, 0, o->dst, &r->dmac)) {
			r->resolve = o->dst;
			r->resolve_side = 0;
			return VN_NAT_DROPPED;
		}
		return VN_NAT_INSIDE;
	}
	nh = nt->ext_gw && (!nt->ext_mask || (o->dst & nt->ext_mask) != (nt->ext & nt->ext_mask))
		 ? nt->ext_gw
		 : o->dst;
	if (!vn_nat_neigh_get(nt, 1, nh, &r->dmac)) {
		r->resolve = nh;
		r->resolve_side = 1;
		return VN_NAT_DROPPED;
	}
	return VN_NAT_OUTSIDE;
}

/* A router's hop on translated @p going @where: TTL - 1 (the checksum's high byte). */
static int hop(struct vn_nat *nt, struct pkt *p, int where, struct vn_nat_res *r)
{
	uint16_t ow, nw;

	vn_nat_ttl_dec(p->ip, &ow, &nw);
	p->ip->hdr_checksum = vn_nat_csum_adjust(p->ip->hdr_checksum, &ow, &nw, 2);
	__atomic_fetch_add(&nt->translated[where == VN_NAT_INSIDE], 1, __ATOMIC_RELAXED);
	r->where = where;
	return where;
}

static inline bool icmp_error_type(const struct pkt *p)
{
	return p->t.proto == IPPROTO_ICMP && p->icmp_type != RTE_IP_ICMP_ECHO_REQUEST &&
	       p->icmp_type != RTE_IP_ICMP_ECHO_REPLY;
}

/* A TCP SYN alone: most likely a new connection, looked up once, under the lock. */
static inline bool may_be_new(const struct pkt *p)
{
	return p->t.proto == IPPROTO_TCP &&
	       (p->tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) == RTE_TCP_SYN_FLAG;
}

/* ---- the lock-free path: tracked connections, through a memo ---- */

/* ~@o + @n of 32-bit words: their share of a delta (2^16 = 1 in one's complement). */
static inline uint64_t delta32(uint32_t o, uint32_t n)
{
	return (uint64_t)(uint32_t)~o + n;
}

void vn_nat_memo_settle(struct vn_nat *nt, struct vn_nat_memo *mm)
{
	if (!mm->e || !mm->packets)
		return;
	vn_ct_count(nt->ct, mm->e, mm->d, mm->packets, mm->bytes, mm->now);
	__atomic_fetch_add(&nt->translated[mm->where == VN_NAT_INSIDE], mm->packets,
			   __ATOMIC_RELAXED);
	mm->packets = 0, mm->bytes = 0;
}

void vn_nat_memo_flush(struct vn_nat *nt, struct vn_nat_memo *mm)
{
	vn_nat_memo_settle(nt, mm);
	mm->e = NULL;
}

/*
 * Memo @mm for frames of tuple @t in direction @d of tracked connection @e (found without
 * the lock: conntrack.h), from the inside or not: where they go, what they leave as, the
 * checksum deltas. Return: 0, or -1 (no route: @r says what to resolve; @mm unset).
 */
static int memo_fill(struct vn_nat *nt, struct vn_nat_memo *mm, struct vn_ct_entry *e, int d,
		     const struct vn_ct_tuple *t, bool from_inside, uint64_t now,
		     struct vn_nat_res *r)
{
	/* what it depends on, read before it is used: a change after makes the next check fail */
	uint32_t rgen = __atomic_load_n(&nt->route_gen, __ATOMIC_ACQUIRE), seq = vn_ct_seq(e);
	struct vn_ct_tuple o = out_of(e, d);
	int where = route(nt, e, d, &o, r);
	uint32_t op, np;

	if (where == VN_NAT_DROPPED)
		return -1;
	/* removed already (even): a sequence that it never has, the memo ends with the burst */
	mm->seq = seq | 1, mm->rgen = rgen;
	mm->e = e, mm->d = d, mm->t = *t, mm->o = o, mm->where = where;
	mm->from_inside = from_inside, mm->dmac = r->dmac, mm->now = now;
	mm->packets = 0, mm->bytes = 0;
	mm->dip = delta32(t->src, o.src) + delta32(t->dst, o.dst);
	memcpy(&op, &t->sport, 4); /* sport and dport, adjacent as in the header */
	memcpy(&np, &o.sport, 4);
	mm->dl4 = t->proto == IPPROTO_ICMP ? (uint64_t)(uint16_t)~t->sport + o.sport
					   : mm->dip + delta32(op, np);
	/* vn_nat_memo_take()'s words: ICMP never goes that way (q.min too large for a frame) */
	mm->q.min = t->proto == IPPROTO_TCP   ? RTE_ETHER_HDR_LEN + 20 + sizeof(struct rte_tcp_hdr)
		    : t->proto == IPPROTO_UDP ? RTE_ETHER_HDR_LEN + 20 + sizeof(struct rte_udp_hdr)
					      : UINT16_MAX + 1;
	memcpy(&mm->q.addrs, &t->src, 4);
	memcpy((uint8_t *)&mm->q.addrs + 4, &t->dst, 4);
	memcpy(&mm->q.to_addrs, &o.src, 4);
	memcpy((uint8_t *)&mm->q.to_addrs + 4, &o.dst, 4);
	mm->q.ports = op;
	{ /* offset (13 bits) and MF must be 0, DF is free, TTL is checked apart */
		const uint8_t mask[4] = {0x3f, 0xff, 0, 0xff}, want[4] = {0, 0, 0, t->proto};
		memcpy(&mm->q.w6_mask, mask, 4);
		memcpy(&mm->q.w6, want, 4);
	}
	return 0;
}

static inline bool memo_hit(const struct vn_nat_memo *mm, const struct pkt *p, bool from_inside)
{
	return mm->e && mm->from_inside == from_inside &&
	       memcmp(&mm->t, &p->t, sizeof(p->t)) == 0 &&
	       !(p->tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_FIN_FLAG | RTE_TCP_RST_FLAG)) &&
	       likely(!p->later_frag && !p->first_frag && !icmp_error_type(p));
}

/*
 * Frame @p of @mm's connection, translated as @mm says: the state moves (TCP; UDP and ICMP
 * only on the first frame, @step), counted in @mm, the transport's ports (or ICMP
 * identifier) and checksum, the addresses, TTL and header checksum (each checksum once).
 */
static __rte_always_inline int memo_translate(struct vn_nat_memo *mm, struct pkt *p, bool step)
{
	if (step || p->t.proto == IPPROTO_TCP)
		vn_ct_step(mm->e, mm->d, p->tcp_flags);
	/* the transport header is all there (parse() checked it: no fragment) */
	return vn_nat_memo_rewrite(mm, p->ip, p->l4, p->t.proto, p->ip_len);
}

static __rte_always_inline int memo_apply(struct vn_nat_memo *mm, struct pkt *p, bool step,
					  struct vn_nat_res *r)
{
	r->dmac = mm->dmac;
	r->where = mm->where;
	return memo_translate(mm, p, step);
}

int vn_nat_process(struct vn_nat *nt, struct rte_mbuf *m, bool from_inside, uint64_t now,
		   struct vn_nat_res *r)
{
	struct vn_nat_memo mm = {.e = NULL};
	int where = vn_nat_process_memo(nt, m, from_inside, now, r, &mm);

	vn_nat_memo_flush(nt, &mm);
	return where;
}

/*
 * The rest of vn_nat_process() under the lock, for frame @m parsed in @p (@have bytes of
 * its transport header there): @looked, a lookup without the lock missed (@e NULL) at
 * insertion count @gen. Out of line: the lock-free path stays small.
 */
static __rte_noinline int locked(struct vn_nat *nt, struct rte_mbuf *m, struct pkt *pp,
				 uint32_t have, bool from_inside, uint64_t now, bool looked,
				 struct vn_ct_entry *e, uint32_t gen, struct vn_nat_res *r)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	struct rte_ether_addr smac = eth->src_addr;
	struct vn_ct_tuple o;
	struct pkt p = *pp;
	int why, d = 0, where;
	bool to_us = false;

	vn_ct_lock(nt->ct);
	looked = looked && !e && vn_ct_gen(nt->ct) == gen; /* no insertion since: still a miss */
	if (!from_inside && !ours(nt, p.t.dst)) {
		why = VN_NAT_NO_CONNECTION;
		goto out_drop;
	}
	to_us = !from_inside;
	if (p.later_frag) {
		struct vn_nat_frag *f = frag_slot(nt, &p, false, now);
		if (!f && vn_nat_hold(nt, m, from_inside, now) == 0) { /* out of order */
			vn_ct_unlock(nt->ct);
			return r->where = VN_NAT_HELD;
		}
		if (!f) {
			why = VN_NAT_FRAGMENT;
			goto out_drop;
		}
		vn_nat_ip_rewrite(p.ip, f->nsrc, f->ndst);
		r->dmac = f->dmac;
		where = f->where;
		vn_ct_unlock(nt->ct);
		return hop(nt, &p, where, r);
	}
	if (icmp_error_type(&p)) {
		if (!(e = icmp_error(nt, &p, have, &d))) {
			why = VN_NAT_BAD_ICMP_ERROR;
			goto out_drop;
		}
		o = out_of(e, d);
		o.src = p.t.src; /* the router that sent it stays the source ... */
		if (!inside(nt, o.dst) && inside(nt, o.src)) { /* ... unless it is an inside
								 host's error going out */
			const struct vn_nat_float *own = float_find(nt, o.src, true);
			o.src = own ? own->fip : nt->ext;
		}
		vn_nat_ip_rewrite(p.ip, o.src, o.dst);
		goto out_route;
	}
	if (!looked)
		e = vn_ct_lookup(nt->ct, &p.t, &d);
	if (!e && from_inside && p.t.dst == nt->gw) { /* to the gateway itself, untracked */
		vn_ct_unlock(nt->ct);
		if (p.t.proto == IPPROTO_ICMP && p.icmp_type == RTE_IP_ICMP_ECHO_REQUEST)
			return vn_nat_gateway_echo(nt, &p, &smac, r, VN_NAT_INSIDE);
		return vn_nat_dropped(nt, VN_NAT_UNSUPPORTED, r);
	}
	if (!e) {
		e = conn_new(nt, &p, from_inside, &smac, now, &why, r);
		if (!e)
			goto out_drop;
		d = 0;
	}
	vn_ct_seen(nt->ct, e, d, p.tcp_flags, p.ip_len, now);
	o = out_of(e, d);
	l4_rewrite(p.l4, have, p.t.proto, &p.t, &o);
	vn_nat_ip_rewrite(p.ip, o.src, o.dst);
out_route:
	where = route(nt, e, d, &o, r);
	if (where != VN_NAT_DROPPED && p.first_frag) {
		struct vn_nat_frag *f = frag_slot(nt, &p, true, now);
		f->nsrc = o.src, f->ndst = o.dst, f->where = (uint8_t)where, f->dmac = r->dmac;
		vn_nat_hold_release(nt, f, from_inside, r);
	}
	vn_ct_unlock(nt->ct);
	if (where == VN_NAT_DROPPED)
		return vn_nat_dropped(nt, VN_NAT_NO_ROUTE, r);
	return hop(nt, &p, where, r);
out_drop:
	vn_ct_unlock(nt->ct);
	if (why == VN_NAT_NO_CONNECTION && to_us)
		return vn_nat_refuse(nt, m, &p, &smac, now, r);
	return vn_nat_dropped(nt, why, r);
}

int vn_nat_process_memo(struct vn_nat *nt, struct rte_mbuf *m, bool from_inside, uint64_t now,
			struct vn_nat_res *r, struct vn_nat_memo *mm)
{
	struct vn_ct_entry *e = NULL;
	struct pkt p;
	int why, d;
	bool looked;
	uint32_t have, gen;

	r->resolve = 0, r->resolve_side = 0, r->nmore = 0;
	if ((why = vn_nat_memo_take(mm, m, from_inside)) >= 0) {
		r->dmac = mm->dmac; /* the burst's last connection again */
		return r->where = why;
	}
	r->where = VN_NAT_DROPPED;
	memset(&r->dmac, 0, sizeof(r->dmac));
	if ((why = parse(m, &p)) != 0)
		return vn_nat_dropped(nt, why, r);
	have = rte_pktmbuf_data_len(m) - (uint32_t)(p.l4 - rte_pktmbuf_mtod(m, uint8_t *));
	if (unlikely(m->ol_flags & (RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_IP_CKSUM)))
		csum_finish(m, &p);
	if (unlikely(p.ip->time_to_live <= 1) && !(from_inside && p.t.dst == nt->gw)) {
		if (!from_inside && nt->host_ext && p.t.dst == nt->ext)
			return vn_nat_dropped(nt, VN_NAT_TTL, r); /* the host's copy answers */
		return vn_nat_icmp_reply(
		    nt, m, &p, 11, 0, from_inside ? nt->gw : nt->ext,
		    &rte_pktmbuf_mtod(m, const struct rte_ether_hdr *)->src_addr,
		    from_inside ? VN_NAT_INSIDE : VN_NAT_OUTSIDE, VN_NAT_TTL, now, r);
	}
	if (memo_hit(mm, &p, from_inside)) /* the burst's last connection again */
		return memo_apply(mm, &p, false, r);
	/* the fast path, no lock: a tracked connection's frame (from the outside only to one
	 * of our addresses: a tuple an inside host sends, seen outside, is no reply) */
	gen = vn_ct_gen(nt->ct);
	looked = likely(!p.later_frag && !p.first_frag && !icmp_error_type(&p)) && !may_be_new(&p);
	if (looked && (e = vn_ct_lookup(nt->ct, &p.t, &d)) != NULL &&
	    (from_inside || !inside(nt, p.t.src))) {
		vn_nat_memo_flush(nt, mm);
		if (memo_fill(nt, mm, e, d, &p.t, from_inside, now, r) < 0) {
			vn_ct_seen(nt->ct, e, d, p.tcp_flags, p.ip_len, now);
			return vn_nat_dropped(nt, VN_NAT_NO_ROUTE, r);
		}
		return memo_apply(mm, &p, true, r);
	}
	return locked(nt, m, &p, have, from_inside, now, looked, e, gen, r);
}

/* ---- a dry run (vnicctl trace): what vn_nat_process() would do, changing nothing ---- */

static const char *proto_name(uint8_t p)
{
	return p == IPPROTO_TCP ? "tcp" : p == IPPROTO_UDP ? "udp" : "icmp";
}

/* "A:P > B:Q" of tuple @t (ICMP: "A > B id N") into @buf. */
static const char *tuple_str(const struct vn_ct_tuple *t, char *buf, size_t n)
{
	char s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &t->src, s, sizeof(s));
	inet_ntop(AF_INET, &t->dst, d, sizeof(d));
	if (t->proto == IPPROTO_ICMP)
		snprintf(buf, n, "%s > %s id %u", s, d, rte_be_to_cpu_16(t->sport));
	else
		snprintf(buf, n, "%s:%u > %s:%u", s, rte_be_to_cpu_16(t->sport), d,
			 rte_be_to_cpu_16(t->dport));
	return buf;
}

/* The decision for a packet @p no connection matches (lock held). Return: 1 if it passes. */
static int peek_new(struct vn_nat *nt, const struct pkt *p, bool from_inside, char *out, size_t n)
{
	char a[96], ip[INET_ADDRSTRLEN];
	const struct vn_nat_float *fl;
	const struct vn_nat_fwd *fw;

	tuple_str(&p->t, a, sizeof(a));
	if (from_inside && p->t.dst == nt->gw) {
		snprintf(out, n, "%s: to the gateway itself: %s", a,
			 p->t.proto == IPPROTO_ICMP && p->icmp_type == RTE_IP_ICMP_ECHO_REQUEST
			     ? "vnicd answers the echo"
			     : "dropped (unsupported)");
		return p->t.proto == IPPROTO_ICMP;
	}
	if (from_inside) {
		fl = float_find(nt, p->t.src, true);
		inet_ntop(AF_INET, fl ? &fl->fip : &nt->ext, ip, sizeof(ip));
		snprintf(
		    out, n, "%s %s: new connection, SNAT to %s%s", proto_name(p->t.proto), a, ip,
		    fl ? " (floating IP)" : " (source port kept when free, else from the range)");
		return 1;
	}
	fl = ours(nt, p->t.dst) ? float_find(nt, p->t.dst, false) : NULL;
	fw = p->t.proto != IPPROTO_ICMP && p->t.dst == nt->ext
		 ? fwd_find(nt, p->t.proto, p->t.dport)
		 : NULL;
	if (fl || fw) {
		inet_ntop(AF_INET, fl ? &fl->in : &fw->to, ip, sizeof(ip));
		snprintf(out, n, "%s %s: new connection, DNAT to %s%s", proto_name(p->t.proto), a,
			 ip, fl ? " (floating IP)" : " (port forward)");
		return 1;
	}
	snprintf(out, n, "%s %s: no connection%s", proto_name(p->t.proto), a,
		 nt->host_ext && p->t.dst == nt->ext
		     ? ": the host's own traffic (its stack answers): dropped"
		 : ours(nt, p->t.dst) ? ": refused (TCP RST, port unreachable) or, for an echo, "
					"answered by vnicd"
				      : " and not an outside address: dropped");
	return 0;
}

int vn_nat_peek(struct vn_nat *nt, struct rte_mbuf *m, bool from_inside, char *out, size_t n)
{
	struct vn_ct_entry *e;
	struct vn_ct_tuple o;
	struct pkt p;
	char a[96], b[96];
	int d, rc = 1;

	if (parse(m, &p) != 0) {
		snprintf(out, n, "not an IPv4 packet NAT can translate: dropped (%s)",
			 vn_nat_drop_name(VN_NAT_MALFORMED));
		return 0;
	}
	if (p.later_frag || icmp_error_type(&p)) {
		snprintf(out, n, "%s: translated as the connection it belongs to says",
			 p.later_frag ? "a later fragment" : "an ICMP error");
		return 1;
	}
	vn_ct_lock(nt->ct);
	e = vn_ct_lookup(nt->ct, &p.t, &d);
	if (e) {
		o = out_of(e, d);
		snprintf(out, n, "%s %s: tracked (%s, %s), leaves as %s", proto_name(p.t.proto),
			 tuple_str(&p.t, a, sizeof(a)), vn_ct_state_name(e->state),
			 d ? "reply" : "original", tuple_str(&o, b, sizeof(b)));
	} else {
		rc = peek_new(nt, &p, from_inside, out, n);
	}
	vn_ct_unlock(nt->ct);
	return rc;
}

/* SPDX-License-Identifier: MIT */
/* The switching pipeline over ring ports: learning, flooding, isolation, counters, buffers. */
#include <string.h>

#include <glib.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "backend/worker.h"
#include "testutil.h"
#include "vnicd/bridge.h"
#include "vnicd/datapath.h"
#include "vnicd/ringport.h"

#define NP 4

static struct rte_mempool *mp;
static struct vn_dp *dp;
static struct vn_port *ports[NP];
static struct rte_ring *rx[NP], *tx[NP];
static struct vn_net *net_a, *net_b;

static struct rte_ether_addr mac(unsigned i)
{
	struct rte_ether_addr m = {{0x02, 0, 0, 0, 0, (uint8_t)i}};
	return m;
}

static struct rte_mbuf *frame(struct rte_ether_addr dst, struct rte_ether_addr src, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	struct rte_ether_hdr *eth;

	g_assert_nonnull(m);
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, len);
	if (!eth) /* not g_assert: -O3 must see that memset() never gets NULL */
		g_error("no room for a %u-byte frame", len);
	memset(eth, 0xab, len);
	eth->dst_addr = dst;
	eth->src_addr = src;
	eth->ether_type = rte_cpu_to_be_16(0x88b5);
	return m;
}

/* Send one frame in from port @in; return a bitmask of ports that received it. */
static unsigned send_one(unsigned in, struct rte_ether_addr dst, struct rte_ether_addr src)
{
	struct rte_mbuf *m = frame(dst, src, 64);
	unsigned got = 0;

	vn_dp_switch_burst(vn_dp_worker(dp, 0), vn_dp_table(dp), ports[in]->slot, &m, 1, 100);
	for (unsigned p = 0; p < NP; p++) {
		void *o;
		while (rte_ring_dequeue(tx[p], &o) == 0) {
			struct rte_mbuf *r = o;
			struct rte_ether_hdr *eth = rte_pktmbuf_mtod(r, struct rte_ether_hdr *);
			g_assert_true(rte_is_same_ether_addr(&eth->src_addr, &src));
			got |= 1u << p;
			rte_pktmbuf_free(r);
		}
	}
	return got;
}

static void test_switching(void)
{
	struct rte_ether_addr bc = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
	struct rte_ether_addr mc = {{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}};
	struct vn_port_counters c;
	unsigned avail = rte_mempool_avail_count(mp);

	/* ports 0,1,2 in net a; port 3 alone in net b */
	g_assert_cmpuint(send_one(0, bc, mac(10)), ==, 0x6);	  /* broadcast: all but sender */
	g_assert_cmpuint(send_one(0, mc, mac(10)), ==, 0x6);	  /* multicast floods too */
	g_assert_cmpuint(send_one(0, mac(11), mac(10)), ==, 0x6); /* unknown unicast floods */
	g_assert_cmpuint(send_one(1, mac(10), mac(11)), ==, 0x1); /* learned: only the owner */
	g_assert_cmpuint(send_one(0, mac(11), mac(10)), ==, 0x2);
	g_assert_cmpuint(send_one(2, mac(11), mac(10)), ==, 0x2); /* MAC move of 10 to port 2 */
	g_assert_cmpuint(send_one(1, mac(10), mac(11)), ==, 0x4);
	g_assert_cmpuint(send_one(1, mac(11), mac(12)), ==, 0x0); /* dst on ingress: filtered */
	g_assert_cmpuint(send_one(3, bc, mac(13)), ==, 0x0);	  /* net b: nobody else */
	g_assert_cmpuint(send_one(3, mac(10), mac(13)), ==, 0x0); /* never crosses networks */
	g_assert_cmpuint(send_one(0, bc, bc), ==, 0x0);		  /* broadcast source: invalid */

	vn_dp_port_counters(dp, 0, &c);
	g_assert_cmpuint(c.rx_packets, ==, 5);
	g_assert_cmpuint(c.rx_cast_pkts[VN_BCAST], ==, 2);
	g_assert_cmpuint(c.rx_cast_pkts[VN_MCAST], ==, 1);
	g_assert_cmpuint(c.tx_packets, ==, 1);
	g_assert_cmpuint(c.drops[VN_DROP_INVALID_SRC], ==, 1);
	/* every frame that was not dropped at ingress is classified by where it went */
	g_assert_cmpuint(c.rx_loc_pkts[VN_LOC_LOCAL], ==, 4);
	g_assert_cmpuint(c.rx_loc_bytes[VN_LOC_LOCAL], ==, 4 * 64);
	g_assert_cmpuint(c.tx_loc_pkts[VN_LOC_LOCAL], ==, 1);
	vn_dp_port_counters(dp, 1, &c);
	g_assert_cmpuint(c.drops[VN_DROP_SAME_PORT], ==, 1);
	g_assert_cmpuint(c.tx_packets, ==, 5);
	vn_dp_port_counters(dp, 3, &c);
	g_assert_cmpuint(c.drops[VN_DROP_NO_DEST], ==, 2);
	/* every buffer (including the shared flood copies) came back */
	g_assert_cmpuint(rte_mempool_avail_count(mp), ==, avail);
}

/* The bridge's memo across bursts (struct vn_fwd_memo): a steady flow from port 0 follows its
 * destination's move, a static entry, its removal and the flush of the FDB, within one
 * second of the FDB's clock. */
static void test_memo_across_bursts(void)
{
	struct rte_ether_addr x = mac(30), y = mac(31);
	unsigned avail = rte_mempool_avail_count(mp);

	g_assert_cmpuint(send_one(1, y, x), ==, 0x5); /* x learned on port 1 */
	for (int i = 0; i < 3; i++)
		g_assert_cmpuint(send_one(0, x, y), ==, 0x2); /* memo'd: to port 1 */
	g_assert_cmpuint(send_one(2, y, x), ==, 0x1);	      /* x moves to port 2 */
	g_assert_cmpuint(send_one(0, x, y), ==, 0x4);
	g_assert_cmpuint(vn_fdb_add_static(net_a->fdb, 0, &x, 1, 100), >=, 0);
	g_assert_cmpuint(send_one(0, x, y), ==, 0x2);
	g_assert_cmpint(vn_fdb_del(net_a->fdb, 0, &x), ==, 0);
	g_assert_cmpuint(send_one(0, x, y), ==, 0x6); /* unknown: flooded */
	g_assert_cmpuint(send_one(2, y, x), ==, 0x1);
	g_assert_cmpuint(send_one(0, x, y), ==, 0x4);
	vn_fdb_flush(net_a->fdb, -1, false);
	g_assert_cmpuint(send_one(0, x, y), ==, 0x6);
	vn_fdb_flush(net_a->fdb, -1, true);
	g_assert_cmpuint(rte_mempool_avail_count(mp), ==, avail);
}

static void test_link_down_and_full(void)
{
	struct rte_ether_addr bc = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
	struct rte_mbuf *burst[VN_BURST];
	struct vn_port_counters c0, c1;
	unsigned avail = rte_mempool_avail_count(mp);

	vn_dp_port_counters(dp, 2, &c0);
	vn_ring_port_set_link(ports[2], false);
	g_assert_cmpuint(send_one(0, bc, mac(20)), ==, 0x2);
	vn_ring_port_set_link(ports[2], true);
	vn_dp_port_counters(dp, 2, &c1);
	g_assert_cmpuint(c1.drops[VN_DROP_LINK_DOWN] - c0.drops[VN_DROP_LINK_DOWN], ==, 1);

	/* tx ring of port 1 holds 63 frames: a burst of 32 twice overflows it */
	vn_dp_port_counters(dp, 1, &c0);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < VN_BURST; i++)
			burst[i] = frame(mac(21), mac(22), 128);
		vn_dp_switch_burst(vn_dp_worker(dp, 0), vn_dp_table(dp), ports[0]->slot, burst,
				   VN_BURST, 100);
	}
	vn_dp_port_counters(dp, 1, &c1);
	g_assert_cmpuint(c1.tx_packets - c0.tx_packets, ==, 63);
	g_assert_cmpuint(c1.tx_bytes - c0.tx_bytes, ==, 63 * 128);
	g_assert_cmpuint(c1.drops[VN_DROP_QUEUE_FULL] - c0.drops[VN_DROP_QUEUE_FULL], ==,
			 3 * 32 - 63);
	for (unsigned p = 0; p < NP; p++) {
		void *o;
		while (rte_ring_dequeue(tx[p], &o) == 0)
			rte_pktmbuf_free(o);
	}
	g_assert_cmpuint(rte_mempool_avail_count(mp), ==, avail);
}

/*
 * A network kind written here, in one table, drives the pipeline as the built-in ones do:
 * a frame to MAC ..:01 goes to port 1 and, as a second leg counted on port 2, to every
 * port of the network but the ingress one and port 2 (a kind byte mask picks them); a
 * frame to ..:02 is dropped as filtered; anything else the kind counts itself.
 */
/* Every port back on the bridge networks (port 3 on net_b), as the tests found them. */
static void back_to_bridges(void)
{
	for (unsigned p = 0; p < NP; p++) {
		struct vn_slot s = *vn_dp_slot(dp, (uint16_t)p);
		s.net = p == 3 ? net_b : net_a;
		s.kmode = 0;
		vn_dp_slot_set(dp, (uint16_t)p, &s);
	}
	vn_dp_commit(dp);
}

static void hub_forward(const struct vn_fwd_ctx *x, struct rte_mbuf *const *pkts, uint16_t n,
			struct vn_fwd *f)
{
	for (uint16_t i = 0; i < n; i++) {
		const struct rte_ether_hdr *eth =
		    rte_pktmbuf_mtod(pkts[i], const struct rte_ether_hdr *);
		uint8_t last = eth->dst_addr.addr_bytes[5];

		f[i].nlegs = 0;
		if (last == 1) {
			vn_fwd_unicast(&f[i], 1, x->in_slot, VN_LOC_LOCAL, VN_DROP_POLICY);
			vn_fwd_leg(&f[i], x->t->flood[x->in_slot], x->t->flood_n[x->in_slot],
				   x->in_slot, 2, VN_LOC_EXTERNAL, VN_DROP_NO_DEST)
			    ->mask = 0x1;
		} else if (last == 2) {
			vn_fwd_drop(&f[i], VN_DROP_FILTERED);
		} else {
			x->ctr[x->in_slot].drops[VN_DROP_NAT_FULL]++;
			vn_fwd_drop(&f[i], VN_FWD_COUNTED);
		}
	}
}

static const struct vn_net_kind hub_kind = {.name = "hub", .forward = hub_forward};

static void test_custom_kind(void)
{
	struct vn_net hub = {.name = "hub", .kind = &hub_kind};
	struct vn_port_counters c0[NP], c1[NP];
	unsigned avail = rte_mempool_avail_count(mp);

	for (unsigned p = 0; p < NP; p++) {
		vn_dp_port_counters(dp, (uint16_t)p, &c0[p]);
		struct vn_slot s = *vn_dp_slot(dp, (uint16_t)p);
		s.net = &hub;
		s.kmode = p == 3 ? 0x1 : 0x2; /* the second leg's mask picks port 3 only */
		vn_dp_slot_set(dp, (uint16_t)p, &s);
	}
	vn_dp_commit(dp);
	g_assert_cmpuint(send_one(0, mac(1), mac(30)), ==, 0x2 | 0x8);
	g_assert_cmpuint(send_one(0, mac(2), mac(30)), ==, 0);
	g_assert_cmpuint(send_one(0, mac(9), mac(30)), ==, 0);
	for (unsigned p = 0; p < NP; p++)
		vn_dp_port_counters(dp, (uint16_t)p, &c1[p]);
	g_assert_cmpuint(c1[0].rx_packets - c0[0].rx_packets, ==, 3);
	g_assert_cmpuint(c1[0].rx_loc_pkts[VN_LOC_LOCAL] - c0[0].rx_loc_pkts[VN_LOC_LOCAL], ==, 1);
	g_assert_cmpuint(c1[2].rx_loc_pkts[VN_LOC_LOCAL] - c0[2].rx_loc_pkts[VN_LOC_LOCAL], ==, 1);
	g_assert_cmpuint(c1[3].tx_loc_pkts[VN_LOC_EXTERNAL] - c0[3].tx_loc_pkts[VN_LOC_EXTERNAL],
			 ==, 1);
	g_assert_cmpuint(c1[1].tx_loc_pkts[VN_LOC_LOCAL] - c0[1].tx_loc_pkts[VN_LOC_LOCAL], ==, 1);
	g_assert_cmpuint(c1[0].drops[VN_DROP_FILTERED] - c0[0].drops[VN_DROP_FILTERED], ==, 1);
	g_assert_cmpuint(c1[0].drops[VN_DROP_NAT_FULL] - c0[0].drops[VN_DROP_NAT_FULL], ==, 1);
	g_assert_cmpuint(rte_mempool_avail_count(mp), ==, avail); /* both legs' references */
	back_to_bridges();
}

/* Where each frame of a burst from port @in went (@got[i]: a mask of ports, by the sequence
 * number the frame carries after its Ethernet header); Return: the frames delivered. */
static unsigned burst_deliver(unsigned in, struct rte_mbuf **b, unsigned n, unsigned *got)
{
	unsigned total = 0;

	memset(got, 0, n * sizeof(*got));
	vn_dp_switch_burst(vn_dp_worker(dp, 0), vn_dp_table(dp), ports[in]->slot, b, (uint16_t)n,
			   100);
	for (unsigned p = 0; p < NP; p++) {
		void *o;
		while (rte_ring_dequeue(tx[p], &o) == 0) {
			struct rte_mbuf *r = o;
			uint8_t seq = rte_pktmbuf_mtod(r, const uint8_t *)[14];
			g_assert_cmpuint(seq, <, n);
			g_assert_false(got[seq] & (1u << p));
			got[seq] |= 1u << p;
			total++;
			rte_pktmbuf_free(r);
		}
	}
	return total;
}

/* Ports 0-3 into overlay @ov: 0-2 in its first segment, 3 in the second. */
static void overlay_enter(struct vn_net *ov)
{
	for (unsigned p = 0; p < NP; p++) {
		struct vn_slot s = *vn_dp_slot(dp, (uint16_t)p);
		s.net = ov;
		s.kmode = p == 3 ? 0x2 : 0x1;
		vn_dp_slot_set(dp, (uint16_t)p, &s);
	}
	vn_dp_commit(dp);
}

/*
 * The overlay kind decides a burst (memos of learn and lookup, the frame before, look-ups
 * made at once for a burst of distinct addresses) exactly as it decides its frames one at a
 * time: random bursts (few MACs, so moves, runs of one flow, broadcasts, frames to their
 * own port) into overlay A, the same frames one by one into overlay B; every frame reaches
 * the same ports and both FDBs end the same.
 */
static void test_overlay_bursts(void)
{
	const char *j = "{\"type\": \"overlay\", \"encap\": \"vxlan\", \"vni\": 100, "
			"\"local\": \"10.0.0.1/24\", \"underlay\": \"ul\"}";
	struct vn_net *ova = vn_test_net(dp, "ova", 8, j), *ovb = vn_test_net(dp, "ovb", 9, j);
	struct rte_ether_addr bc = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
	unsigned avail = rte_mempool_avail_count(mp), na = 0, nb = 0;
	g_autoptr(GRand) rnd = g_rand_new_with_seed(12);

	for (unsigned r = 0; r < 300; r++) {
		unsigned in = (unsigned)g_rand_int_range(rnd, 0, NP);
		unsigned n = (unsigned)g_rand_int_range(rnd, 1, VN_BURST + 1);
		struct rte_ether_addr d[VN_BURST], s[VN_BURST];
		struct rte_mbuf *b[VN_BURST];
		unsigned ga[VN_BURST], gb;

		for (unsigned i = 0; i < n; i++) {
			bool again = i > 0 && g_rand_int_range(rnd, 0, 3) == 0;
			d[i] = again ? d[i - 1]
			       : g_rand_int_range(rnd, 0, 8) == 0
				   ? bc
				   : mac(40 + (unsigned)g_rand_int_range(rnd, 0, 10));
			s[i] = again ? s[i - 1] : mac(40 + (unsigned)g_rand_int_range(rnd, 0, 10));
			b[i] = frame(d[i], s[i], 64);
			rte_pktmbuf_mtod(b[i], uint8_t *)[14] = (uint8_t)i;
		}
		overlay_enter(ova);
		na += burst_deliver(in, b, n, ga);
		overlay_enter(ovb);
		for (unsigned i = 0; i < n; i++) {
			struct rte_mbuf *m = frame(d[i], s[i], 64);
			rte_pktmbuf_mtod(m, uint8_t *)[14] = 0;
			nb += burst_deliver(in, &m, 1, &gb);
			g_assert_cmphex(ga[i], ==, gb);
		}
	}
	g_assert_cmpuint(na, ==, nb);
	g_assert_cmpuint(na, >, 1000);
	for (unsigned seg = 0; seg < 2; seg++)
		for (unsigned i = 40; i < 50; i++) {
			struct rte_ether_addr m = mac(i);
			g_assert_cmpint(vn_fdb_lookup(ova->fdb, (uint16_t)seg, &m), ==,
					vn_fdb_lookup(ovb->fdb, (uint16_t)seg, &m));
		}
	g_assert_cmpuint(rte_mempool_avail_count(mp), ==, avail);
	back_to_bridges();
	ova->kind->destroy(ova);
	ovb->kind->destroy(ovb);
}

/* A port that gives what it is sent back to the worker, as received by port @to (a NAT leg's
 * translated frames): copies of shared frames, since the worker may edit what it switches. */
struct relay {
	struct vn_port base;
	struct vn_port *to;
	bool alike;   /* gives its runs back as alike (one Ethernet header) */
	bool has_dst; /* rewrites their destination to @dst first */
	struct rte_ether_addr dst;
};

static uint16_t relay_rx(struct vn_port *port, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	return 0;
}

static uint16_t relay_tx(struct vn_port *port, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	g_assert_not_reached(); /* workers use tx_handoff */
	return 0;
}

static uint16_t relay_handoff(struct vn_port *port, uint16_t q, struct rte_mbuf **pkts, uint16_t n,
			      struct vn_handoff *h)
{
	struct rte_mbuf *own[VN_BURST];

	struct relay *r = (struct relay *)port;

	for (uint16_t i = 0; i < n; i++) {
		own[i] = rte_pktmbuf_copy(pkts[i], mp, 0, UINT32_MAX);
		g_assert_nonnull(own[i]);
		rte_pktmbuf_free(pkts[i]);
		if (r->has_dst)
			rte_pktmbuf_mtod(own[i], struct rte_ether_hdr *)->dst_addr = r->dst;
	}
	g_assert_cmpuint(vn_handoff_add(h, r->to, own, n, r->alike), ==, n);
	return n;
}

static bool relay_up(const struct vn_port *port)
{
	return true;
}

static const struct vn_port_ops relay_ops = {.kind = "relay",
					     .rx_burst = relay_rx,
					     .tx_burst = relay_tx,
					     .tx_handoff = relay_handoff,
					     .link_up = relay_up};

/* Broadcasts from port 0 (net a); relay A1 in net a gives them back as B1 in net b, where
 * port 3 gets them. Then relays B2 (net b) and A2 (net a) give each other's frames back: a
 * loop between the two networks, cut after a few rounds of hand-offs and counted, every mbuf
 * back in the pool. */
static void test_handoff(void)
{
	struct relay r[4] = {0}; /* A1, B1, B2, A2 at slots 4-7 */
	struct vn_port_counters c0[8], c1[8];
	unsigned avail = rte_mempool_avail_count(mp), got[NP] = {0};
	uint64_t cut = 0;
	struct rte_ether_addr bc = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

	for (unsigned i = 0; i < 4; i++) {
		r[i].base =
		    (struct vn_port){.ops = &relay_ops, .slot = (uint16_t)(4 + i), .nr_txq = 1};
		snprintf(r[i].base.name, sizeof(r[i].base.name), "relay%u", i);
		r[i].to = &r[i ^ 1].base; /* A1 -> B1, B2 -> A2 */
		vn_dp_slot_set(dp, (uint16_t)(4 + i),
			       &(struct vn_slot){.port = i < 2 ? &r[i].base : NULL,
						 .net = i == 0 ? net_a : net_b,
						 .locality = VN_LOC_LOCAL});
	}
	vn_dp_commit(dp);
	for (unsigned i = 0; i < 8; i++)
		vn_dp_port_counters(dp, (uint16_t)i, &c0[i]);
	g_assert_cmpuint(send_one(0, bc, mac(60)), ==, 0x2 | 0x4 | 0x8);
	vn_dp_port_counters(dp, 5, &c1[5]);
	vn_dp_port_counters(dp, 3, &c1[3]);
	g_assert_cmpuint(c1[5].rx_packets - c0[5].rx_packets, ==, 1); /* as received by B1 */
	g_assert_cmpuint(c1[3].tx_loc_pkts[VN_LOC_LOCAL] - c0[3].tx_loc_pkts[VN_LOC_LOCAL], ==, 1);

	for (unsigned i = 2; i < 4; i++) /* B2 and A2 join: the loop */
		vn_dp_slot_set(dp, (uint16_t)(4 + i),
			       &(struct vn_slot){.port = &r[i].base,
						 .net = i == 3 ? net_a : net_b,
						 .locality = VN_LOC_LOCAL});
	vn_dp_commit(dp);
	for (unsigned i = 4; i < 8; i++)
		vn_dp_port_counters(dp, (uint16_t)i, &c0[i]);
	{
		struct rte_mbuf *m = frame(bc, mac(61), 64);
		vn_dp_switch_burst(vn_dp_worker(dp, 0), vn_dp_table(dp), 0, &m, 1, 100);
	}
	for (unsigned p = 0; p < NP; p++) {
		void *o;
		while (rte_ring_dequeue(tx[p], &o) == 0) {
			got[p]++;
			rte_pktmbuf_free(o);
		}
	}
	/* it went round (port 3 had it once without the loop) and was cut: HANDOFF_ROUNDS */
	g_assert_cmpuint(got[3], >=, 2);
	g_assert_cmpuint(got[3], <=, 16);
	for (unsigned i = 4; i < 8; i++) {
		vn_dp_port_counters(dp, (uint16_t)i, &c1[i]);
		cut += c1[i].drops[VN_DROP_LINK_DOWN] - c0[i].drops[VN_DROP_LINK_DOWN];
	}
	g_assert_cmpuint(cut, >, 0);
	g_assert_cmpuint(rte_mempool_avail_count(mp), ==, avail);
	for (unsigned i = 4; i < 8; i++)
		vn_dp_slot_set(dp, (uint16_t)i, &(struct vn_slot){0});
	vn_dp_commit(dp);
}

/* Send @n frames alike from port 0 to relay A1 (slot 4, MAC 70), which gives them back as
 * B1 (slot 5) in net b, @alike or not; Return: frames port 3 got, each checked (source 69,
 * destination @dst, length 100); B1's counters and port 3's as they changed in *@cb and
 * *@c3. */
static unsigned alike_round(struct relay *r, bool alike, struct rte_ether_addr dst, unsigned n,
			    struct vn_port_counters *cb, struct vn_port_counters *c3)
{
	struct vn_port_counters b0, b1, p0, p1;
	struct rte_mbuf *m[VN_BURST];
	unsigned got = 0;
	void *o;

	memset(&b0, 0, sizeof(b0)); /* padding included: the deltas are compared whole */
	memset(&b1, 0, sizeof(b1));
	memset(&p0, 0, sizeof(p0));
	memset(&p1, 0, sizeof(p1));
	r[0].alike = alike;
	r[0].dst = dst;
	vn_dp_port_counters(dp, 5, &b0);
	vn_dp_port_counters(dp, 3, &p0);
	for (unsigned i = 0; i < n; i++)
		m[i] = frame(mac(70), mac(69), 100);
	vn_dp_switch_burst(vn_dp_worker(dp, 0), vn_dp_table(dp), 0, m, (uint16_t)n, 100);
	while (rte_ring_dequeue(tx[3], &o) == 0) {
		struct rte_mbuf *x = o;
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(x, struct rte_ether_hdr *);
		g_assert_cmpmem(&eth->src_addr, 6, mac(69).addr_bytes, 6);
		g_assert_true(rte_is_same_ether_addr(&eth->dst_addr, &dst));
		g_assert_cmpuint(rte_pktmbuf_pkt_len(x), ==, 100);
		got++;
		rte_pktmbuf_free(x);
	}
	vn_dp_port_counters(dp, 5, &b1);
	vn_dp_port_counters(dp, 3, &p1);
	for (size_t i = 0; i < sizeof(b0) / sizeof(uint64_t); i++) {
		((uint64_t *)cb)[i] = ((uint64_t *)&b1)[i] - ((uint64_t *)&b0)[i];
		((uint64_t *)c3)[i] = ((uint64_t *)&p1)[i] - ((uint64_t *)&p0)[i];
	}
	return got;
}

/* Runs given back alike (switch_alike()) go where runs given back frame by frame go, counted
 * the same: to a known destination, with and without a policy somewhere (the delivery frame
 * by frame), and to an unknown one (a flood: each its own way). */
static void test_handoff_alike(void)
{
	struct relay r[2] = {0}; /* A1 (net a, slot 4) gives back as B1 (net b, slot 5) */
	struct vn_port_counters cb[2], c3[2];
	unsigned avail = rte_mempool_avail_count(mp);
	struct rte_ether_addr m70 = mac(70), m71 = mac(71);

	for (unsigned i = 0; i < 2; i++) {
		r[i].base =
		    (struct vn_port){.ops = &relay_ops, .slot = (uint16_t)(4 + i), .nr_txq = 1};
		snprintf(r[i].base.name, sizeof(r[i].base.name), "relay%u", i);
		vn_dp_slot_set(dp, (uint16_t)(4 + i),
			       &(struct vn_slot){.port = &r[i].base,
						 .net = i == 0 ? net_a : net_b,
						 .locality = VN_LOC_EXTERNAL});
	}
	r[0].to = &r[1].base;
	r[0].has_dst = true;
	vn_dp_commit(dp);
	vn_fdb_add_static(net_a->fdb, 0, &m70, 4, 100);
	vn_fdb_add_static(net_b->fdb, 0, &m71, 3, 100);
	for (int pol = 0; pol < 2; pol++) {
		if (pol) /* not plain: delivered frame by frame */
			vn_test_policy_set(dp, 3, &m71, "{\"inbound\": \"average=10000000\"}");
		for (unsigned n = 1; n <= VN_BURST; n += 7) {
			g_assert_cmpuint(alike_round(r, false, m71, n, &cb[0], &c3[0]), ==, n);
			g_assert_cmpuint(alike_round(r, true, m71, n, &cb[1], &c3[1]), ==, n);
			g_assert_cmpmem(&cb[0], sizeof(cb[0]), &cb[1], sizeof(cb[1]));
			g_assert_cmpmem(&c3[0], sizeof(c3[0]), &c3[1], sizeof(c3[1]));
			g_assert_cmpuint(cb[1].rx_packets, ==, n);
			g_assert_cmpuint(cb[1].rx_loc_pkts[VN_LOC_LOCAL], ==, n);
			g_assert_cmpuint(c3[1].tx_loc_pkts[VN_LOC_EXTERNAL], ==, n);
		}
		vn_test_policy_set(dp, 3, &m71, NULL);
	}
	for (unsigned n = 2; n <= VN_BURST; n += 10) { /* unknown: flooded to port 3 */
		g_assert_cmpuint(alike_round(r, false, mac(72), n, &cb[0], &c3[0]), ==, n);
		g_assert_cmpuint(alike_round(r, true, mac(72), n, &cb[1], &c3[1]), ==, n);
		g_assert_cmpmem(&cb[0], sizeof(cb[0]), &cb[1], sizeof(cb[1]));
		g_assert_cmpmem(&c3[0], sizeof(c3[0]), &c3[1], sizeof(c3[1]));
	}
	vn_fdb_flush(net_a->fdb, -1, true);
	vn_fdb_flush(net_b->fdb, -1, true);
	g_assert_cmpuint(rte_mempool_avail_count(mp), ==, avail);
	for (unsigned i = 4; i < 6; i++)
		vn_dp_slot_set(dp, (uint16_t)i, &(struct vn_slot){0});
	vn_dp_commit(dp);
}

/* vn_tx_count(): every count as a frame-by-frame sum has it, for every number of frames
 * sent (the word-at-a-time path and its tail), one class or a class changing anywhere. */
/* One burst from port 0 of frames to ports 1 and 2, broadcast, multicast and an unknown
 * destination, mixed: per frame, where it went and in what order each port got its frames,
 * and every counter are the same with no policy anywhere (runs pushed at once, plain_run())
 * as with a policy on another network's port (each frame delivered on its own). */
static unsigned mixed_round(bool plain, unsigned *got, struct vn_port_counters *delta)
{
	static const char pat[] = "1121b1m22u11112221111111112m1bb1";
	struct rte_ether_addr bc = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
	struct rte_ether_addr mc = {{0x01, 0x00, 0x5e, 0x00, 0x00, 0x02}};
	struct vn_port_counters c0[NP], c1[NP];
	struct rte_mbuf *b[VN_BURST];
	unsigned total = 0, last[NP];

	_Static_assert(sizeof(pat) - 1 == VN_BURST, "one frame per pattern letter");
	vn_test_policy_set(dp, 3, NULL, plain ? NULL : "{\"inbound\": \"average=10000000\"}");
	for (unsigned p = 0; p < NP; p++)
		vn_dp_port_counters(dp, (uint16_t)p, &c0[p]);
	for (unsigned i = 0; i < VN_BURST; i++) {
		struct rte_ether_addr d = pat[i] == '1'	  ? mac(40)
					  : pat[i] == '2' ? mac(41)
					  : pat[i] == 'b' ? bc
					  : pat[i] == 'm' ? mc
					  : pat[i] == 'u' ? mac(43)
							  : mac(40);
		b[i] = frame(d, mac(42), (uint16_t)(64 + i));
		rte_pktmbuf_mtod(b[i], uint8_t *)[14] = (uint8_t)i;
	}
	memset(got, 0, VN_BURST * sizeof(*got));
	memset(last, 0xff, sizeof(last));
	vn_dp_switch_burst(vn_dp_worker(dp, 0), vn_dp_table(dp), ports[0]->slot, b, VN_BURST, 100);
	for (unsigned p = 0; p < NP; p++) {
		void *o;
		while (rte_ring_dequeue(tx[p], &o) == 0) {
			struct rte_mbuf *r = o;
			uint8_t seq = rte_pktmbuf_mtod(r, const uint8_t *)[14];
			g_assert_cmpuint(seq, <, VN_BURST);
			g_assert_true(last[p] == UINT_MAX || seq > last[p]); /* in order */
			g_assert_cmpuint(rte_pktmbuf_pkt_len(r), ==, 64 + seq);
			last[p] = seq;
			got[seq] |= 1u << p;
			total++;
			rte_pktmbuf_free(r);
		}
	}
	for (unsigned p = 0; p < NP; p++) {
		vn_dp_port_counters(dp, (uint16_t)p, &c1[p]);
		for (size_t i = 0; i < sizeof(c1[p]) / 8; i++)
			((uint64_t *)&delta[p])[i] =
			    ((uint64_t *)&c1[p])[i] - ((uint64_t *)&c0[p])[i];
	}
	vn_test_policy_set(dp, 3, NULL, NULL);
	return total;
}

static void test_plain_runs(void)
{
	unsigned got[2][VN_BURST], avail = rte_mempool_avail_count(mp);
	struct rte_ether_addr bc = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
	struct vn_port_counters d[2][NP];
	uint64_t bytes = 0;

	g_assert_cmpuint(send_one(0, bc, mac(42)), ==, 0x6);	  /* 42 on port 0 */
	g_assert_cmpuint(send_one(1, mac(42), mac(40)), ==, 0x1); /* 40 on port 1 */
	g_assert_cmpuint(send_one(2, mac(42), mac(41)), ==, 0x1); /* 41 on port 2 */
	g_assert_cmpuint(mixed_round(true, got[0], d[0]), ==, 38);
	g_assert_cmpuint(mixed_round(false, got[1], d[1]), ==, 38);
	g_assert_cmpmem(got[0], sizeof(got[0]), got[1], sizeof(got[1]));
	g_assert_cmpmem(d[0], sizeof(d[0]), d[1], sizeof(d[1]));
	g_assert_cmpuint(got[0][0], ==, 0x2);
	g_assert_cmpuint(got[0][2], ==, 0x4);
	g_assert_cmpuint(got[0][4], ==, 0x6); /* broadcast */
	g_assert_cmpuint(got[0][9], ==, 0x6); /* unknown */
	for (unsigned i = 0; i < VN_BURST; i++)
		bytes += 64 + i;
	g_assert_cmpuint(d[0][0].rx_packets, ==, VN_BURST);
	g_assert_cmpuint(d[0][0].rx_bytes, ==, bytes);
	g_assert_cmpuint(d[0][0].rx_loc_pkts[VN_LOC_LOCAL], ==, VN_BURST);
	g_assert_cmpuint(d[0][0].rx_loc_bytes[VN_LOC_LOCAL], ==, bytes);
	g_assert_cmpuint(d[0][1].tx_packets + d[0][2].tx_packets, ==, 38);
	g_assert_cmpuint(d[0][1].tx_cast_pkts[VN_BCAST] + d[0][2].tx_cast_pkts[VN_BCAST], ==, 6);
	vn_fdb_flush(net_a->fdb, -1, true);
	g_assert_cmpuint(rte_mempool_avail_count(mp), ==, avail);
}

static void test_tx_count(void)
{
	struct txq tq = {0};

	for (unsigned sent = 0; sent <= VN_BURST; sent++) {
		for (int odd = -1; odd < (int)sent; odd++) { /* -1: all alike; else frame @odd */
			struct vn_port_counters c = {0}, want = {0};
			for (unsigned i = 0; i < VN_BURST; i++) {
				uint16_t cast = (int)i == odd ? VN_BCAST : VN_UCAST;
				tq.aux[i] = (uint16_t)(cast | (i >= 20 && odd >= 0 ? 2 : 1) << 8);
				tq.len[i] = 60 + 997 * i + (i == 7 ? 65000 : 0);
			}
			for (unsigned i = 0; i < sent; i++) {
				want.tx_packets++;
				want.tx_bytes += tq.len[i];
				want.tx_cast_pkts[tq.aux[i] & 0xff]++;
				want.tx_cast_bytes[tq.aux[i] & 0xff] += tq.len[i];
				want.tx_loc_pkts[tq.aux[i] >> 8]++;
				want.tx_loc_bytes[tq.aux[i] >> 8] += tq.len[i];
			}
			vn_tx_count(&c, &tq, (uint16_t)sent);
			g_assert_cmpmem(&c, sizeof(c), &want, sizeof(want));
		}
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	vn_test_pool_dp(&mp, &dp);
	net_a = vn_test_net(dp, "a", 0, "{\"type\": \"bridge\"}");
	net_b = vn_test_net(dp, "b", 1, "{\"type\": \"bridge\"}");
	vn_test_ring_ports(dp, ports, rx, tx, NP, 64, 64, net_a);
	VN_TEST_SLOT(dp, 3, net, net_b); /* ports 0-2 in net a, port 3 alone in net b */
	g_test_add_func("/datapath/switching", test_switching);
	g_test_add_func("/datapath/memo_across_bursts", test_memo_across_bursts);
	g_test_add_func("/datapath/handoff_alike", test_handoff_alike);
	g_test_add_func("/datapath/link_down_and_full", test_link_down_and_full);
	g_test_add_func("/datapath/custom_kind", test_custom_kind);
	g_test_add_func("/datapath/overlay_bursts", test_overlay_bursts);
	g_test_add_func("/datapath/handoff", test_handoff);
	g_test_add_func("/datapath/tx_count", test_tx_count);
	g_test_add_func("/datapath/plain_runs", test_plain_runs);
	return g_test_run();
}

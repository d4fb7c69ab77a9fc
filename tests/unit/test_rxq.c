/* SPDX-License-Identifier: MIT */
/*
 * Rx queue placement: the assignment algorithm (loads in, assignment out) and the hand-over
 * of queues between two running workers under traffic (no frame lost, duplicated or
 * reordered, never two workers polling one queue).
 */
#include <pthread.h>
#include <string.h>

#include <glib.h>
#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_malloc.h>
#include <rte_ring.h>

#include "testutil.h"
#include "vnicd/datapath.h"
#include "vnicd/rxq_sched.h"

/* ---- the algorithm ---- */

static void test_place(void)
{
	uint64_t wl[4] = {50, 10, 10, 0};
	unsigned wq[4] = {1, 3, 2, 2};

	/* round robin: fewest queues, ties to the lowest number */
	g_assert_cmpuint(vn_rxq_place(wl, wq, 4, VN_RXQ_ROUNDROBIN), ==, 0);
	wq[0] = 3;
	g_assert_cmpuint(vn_rxq_place(wl, wq, 4, VN_RXQ_ROUNDROBIN), ==, 2);
	/* cycles: least load, ties by fewest queues */
	g_assert_cmpuint(vn_rxq_place(wl, wq, 4, VN_RXQ_CYCLES), ==, 3);
	wl[3] = 10;
	g_assert_cmpuint(vn_rxq_place(wl, wq, 4, VN_RXQ_CYCLES), ==, 2);
	g_assert_cmpuint(vn_rxq_place(wl, wq, 1, VN_RXQ_CYCLES), ==, 0);
}

static void test_overloaded_hands_one(void)
{
	/* two busy queues on worker 0, worker 1 idle with an idle queue: one moves */
	struct vn_rxq_load qs[] = {{0, 0, 0, 900}, {1, 0, 1, 0}, {2, 0, 0, 800}, {3, 0, 1, 0}};

	g_assert_cmpuint(vn_rxq_max_load(qs, 4, 2), ==, 1700);
	g_assert_cmpuint(vn_rxq_rebalance(qs, 4, 2, 25), ==, 1);
	g_assert_cmpuint(qs[0].worker != qs[2].worker, ==, 1);
	g_assert_cmpuint(qs[1].worker, ==, 1); /* idle queues stay */
	g_assert_cmpuint(qs[3].worker, ==, 1);
	g_assert_cmpuint(vn_rxq_max_load(qs, 4, 2), ==, 900);
	/* balanced now: nothing more to do */
	g_assert_cmpuint(vn_rxq_rebalance(qs, 4, 2, 1), ==, 0);
}

static void test_hysteresis(void)
{
	/* the best move takes the busiest from 60 to 50: 17%, under 25% */
	struct vn_rxq_load qs[] = {{0, 0, 0, 50}, {0, 1, 0, 10}, {1, 0, 1, 40}};

	g_assert_cmpuint(vn_rxq_rebalance(qs, 3, 2, 25), ==, 0);
	g_assert_cmpuint(qs[1].worker, ==, 0); /* untouched when not kept */
	g_assert_cmpuint(vn_rxq_rebalance(qs, 3, 2, 10), ==, 1);
	g_assert_cmpuint(qs[1].worker, ==, 1);
	g_assert_cmpuint(vn_rxq_max_load(qs, 3, 2), ==, 50);
}

static void test_cannot_split(void)
{
	/* one queue carries everything: moving it gains nothing */
	struct vn_rxq_load qs[] = {{0, 0, 0, 1000}, {1, 0, 0, 0}, {2, 0, 1, 0}};

	g_assert_cmpuint(vn_rxq_rebalance(qs, 3, 2, 1), ==, 0);
	g_assert_cmpuint(qs[0].worker, ==, 0);
	g_assert_cmpuint(vn_rxq_rebalance(qs, 3, 1, 1), ==, 0); /* one worker */
	g_assert_cmpuint(vn_rxq_rebalance(qs, 0, 2, 1), ==, 0);
}

static void test_many_workers(void)
{
	/* 8 queues of 10..80 on worker 0 of 4: spread so that no worker exceeds 4/3 of ideal */
	struct vn_rxq_load qs[8];
	uint64_t total = 0;

	for (unsigned i = 0; i < 8; i++) {
		qs[i] = (struct vn_rxq_load){(uint16_t)i, 0, 0, 10 * (i + 1)};
		total += qs[i].load;
	}
	g_assert_cmpuint(vn_rxq_rebalance(qs, 8, 4, 25), >=, 3);
	g_assert_cmpuint(vn_rxq_max_load(qs, 8, 4) * 3, <=, total / 4 * 4);
	for (unsigned i = 0; i < 8; i++)
		g_assert_cmpuint(qs[i].worker, <, 4);
}

/* Random loads and placements: either nothing moves, or the busiest worker gains the
 * threshold, every queue on a valid worker. */
static void test_random(void)
{
	GRand *r = g_rand_new_with_seed(17);

	for (unsigned round = 0; round < 2000; round++) {
		struct vn_rxq_load qs[24], was[24];
		unsigned n = (unsigned)g_rand_int_range(r, 1, 25);
		unsigned nw = (unsigned)g_rand_int_range(r, 1, 17);
		unsigned gain = (unsigned)g_rand_int_range(r, 1, 60), moved, diff = 0;
		uint64_t before, after;

		for (unsigned i = 0; i < n; i++)
			qs[i] = (struct vn_rxq_load){
			    (uint16_t)i, 0, (unsigned)g_rand_int_range(r, 0, (gint32)nw),
			    g_rand_boolean(r) ? 0 : g_rand_int(r) % 100000};
		memcpy(was, qs, sizeof(qs));
		before = vn_rxq_max_load(qs, n, nw);
		moved = vn_rxq_rebalance(qs, n, nw, gain);
		after = vn_rxq_max_load(qs, n, nw);
		for (unsigned i = 0; i < n; i++) {
			g_assert_cmpuint(qs[i].worker, <, nw);
			diff += qs[i].worker != was[i].worker;
			if (qs[i].load == 0)
				g_assert_cmpuint(qs[i].worker, ==, was[i].worker);
		}
		g_assert_cmpuint(diff, ==, moved);
		if (moved)
			g_assert_cmpuint((before - after) * 100, >=, (uint64_t)gain * before);
		else
			g_assert_cmpuint(after, ==, before);
	}
	g_rand_free(r);
}

/* ---- hand-over between running workers ---- */

#define NQ 2
#define PER_Q 150000

/* A ring port of NQ rx queues that counts overlapping rx_burst calls on one queue. */
struct gport {
	struct vn_port base;
	struct rte_ring *rx[NQ], *tx;
	int busy[NQ];
	uint64_t overlaps;
};

static uint16_t g_rx(struct vn_port *port, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	struct gport *gp = (struct gport *)port;
	uint16_t got;

	if (__atomic_exchange_n(&gp->busy[q], 1, __ATOMIC_ACQ_REL))
		__atomic_add_fetch(&gp->overlaps, 1, __ATOMIC_RELAXED);
	for (volatile int spin = 0; spin < 50; spin++) /* widen the window */
		;
	got = (uint16_t)rte_ring_dequeue_burst(gp->rx[q], (void **)pkts, n, NULL);
	__atomic_store_n(&gp->busy[q], 0, __ATOMIC_RELEASE);
	return got;
}

static uint16_t g_tx(struct vn_port *port, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	(void)q;
	return (uint16_t)rte_ring_enqueue_burst(((struct gport *)port)->tx, (void **)pkts, n, NULL);
}

static bool g_up(const struct vn_port *port)
{
	(void)port;
	return true;
}

static const struct vn_port_ops gport_ops = {
    .kind = "guarded", .rx_burst = g_rx, .tx_burst = g_tx, .link_up = g_up};

struct traffic {
	struct rte_mempool *mp;
	struct gport *in, *out;
	uint32_t next_rx[NQ];
	uint64_t received, bad;
	unsigned moves; /* done by the main thread: the frames sent keep pace with them */
	volatile int done;
};

static struct rte_mbuf *seq_frame(struct rte_mempool *mp, unsigned q, uint32_t seq)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint8_t *d;

	if (!m)
		return NULL;
	d = (uint8_t *)rte_pktmbuf_append(m, 64);
	if (!d) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memset(d, 0, 64);
	memset(d, 0x02, 6);			  /* unknown unicast: flooded to the other port */
	d[6] = 0x02, d[11] = (uint8_t)(0x40 + q); /* source per queue */
	d[12] = 0x88, d[13] = 0xb5;
	memcpy(d + 14, &seq, sizeof(seq));
	d[18] = (uint8_t)q;
	return m;
}

/* Feed PER_Q numbered frames into each rx queue and check what comes out, in order. The
 * feed keeps pace with the main thread's queue moves (PER_Q / MOVE_STEPS frames a queue per
 * move), so that at least MOVE_STEPS - 1 moves happen while frames flow, however fast the
 * workers switch. */
#define MOVE_STEPS 20
static void *traffic_run(void *arg)
{
	struct traffic *tr = arg;
	uint32_t sent[NQ] = {0};
	uint64_t deadline = rte_get_tsc_cycles() + 60 * rte_get_tsc_hz();

	while (tr->received < (uint64_t)NQ * PER_Q && rte_get_tsc_cycles() < deadline) {
		void *o[64];
		unsigned n;
		for (unsigned q = 0; q < NQ; q++) {
			uint32_t upto = RTE_MIN(
			    (uint32_t)PER_Q, (__atomic_load_n(&tr->moves, __ATOMIC_RELAXED) + 1) *
						 (PER_Q / MOVE_STEPS));
			for (unsigned k = 0; k < 16 && sent[q] < upto; k++) {
				struct rte_mbuf *m = seq_frame(tr->mp, q, sent[q]);
				if (!m)
					break;
				if (rte_ring_enqueue(tr->in->rx[q], m) != 0) {
					rte_pktmbuf_free(m);
					break;
				}
				sent[q]++;
			}
		}
		n = rte_ring_dequeue_burst(tr->out->tx, o, 64, NULL);
		for (unsigned i = 0; i < n; i++) {
			const uint8_t *d =
			    rte_pktmbuf_mtod((struct rte_mbuf *)o[i], const uint8_t *);
			uint32_t seq;
			unsigned q = d[18];
			memcpy(&seq, d + 14, sizeof(seq));
			if (q >= NQ || seq != tr->next_rx[q])
				tr->bad++;
			else
				tr->next_rx[q]++;
			tr->received++;
			rte_pktmbuf_free(o[i]);
		}
	}
	__atomic_store_n(&tr->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static struct gport *gport_new(const char *name, uint16_t slot, uint16_t nrx)
{
	struct gport *gp = rte_zmalloc("gport", sizeof(*gp), 0);
	char rn[32];

	g_assert_nonnull(gp);
	gp->base.ops = &gport_ops;
	snprintf(gp->base.name, sizeof(gp->base.name), "%s", name);
	gp->base.slot = slot;
	gp->base.nr_rxq = nrx;
	gp->base.nr_txq = 1;
	gp->base.tx_shared = true;
	for (unsigned q = 0; q < nrx; q++) {
		snprintf(rn, sizeof(rn), "%s_rx%u", name, q);
		gp->rx[q] = rte_ring_create(rn, 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
		g_assert_nonnull(gp->rx[q]);
	}
	snprintf(rn, sizeof(rn), "%s_tx", name);
	gp->tx = rte_ring_create(rn, 4096, 0, RING_F_SC_DEQ); /* workers may both send */
	g_assert_nonnull(gp->tx);
	return gp;
}

static void test_handover(void)
{
	struct rte_mempool *mp =
	    rte_pktmbuf_pool_create("rxq_mp", 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	struct vn_dp *dp = vn_dp_create(2, 50);
	struct traffic tr = {0};
	unsigned lc[2], nlc = 0, lcore;
	pthread_t tt;
	struct vn_net *net;
	struct vn_port_counters c;
	unsigned moves = 0, avail;
	struct vn_dp_rxq_stats st;

	g_assert_nonnull(mp);
	g_assert_nonnull(dp);
	avail = rte_mempool_avail_count(mp);
	vn_dp_rxq_config(dp, VN_RXQ_ROUNDROBIN, 25);
	net = vn_test_net(dp, "h", 0, "{\"type\": \"bridge\"}");
	tr.mp = mp;
	tr.in = gport_new("in", 0, NQ);
	tr.out = gport_new("out", 1, 1);
	vn_dp_slot_set(dp, 0, &(struct vn_slot){.port = &tr.in->base, .net = net});
	vn_dp_slot_set(dp, 1, &(struct vn_slot){.port = &tr.out->base, .net = net});
	vn_dp_commit(dp);
	/* round robin in slot order: in/0 -> 0, in/1 -> 1, out/0 -> 0 */
	g_assert_cmpint(vn_dp_rxq_worker(dp, 0, 0), ==, 0);
	g_assert_cmpint(vn_dp_rxq_worker(dp, 0, 1), ==, 1);
	g_assert_cmpint(vn_dp_rxq_worker(dp, 1, 0), ==, 0);
	g_assert_cmpint(vn_dp_rxq_move(dp, 0, 0, 5), ==, -EINVAL);
	g_assert_cmpint(vn_dp_rxq_move(dp, 2, 0, 1), ==, -ENOENT);
	RTE_LCORE_FOREACH_WORKER(lcore)
	{
		if (nlc < 2) {
			lc[nlc] = lcore;
			g_assert_cmpint(
			    rte_eal_remote_launch(vn_dp_worker_run, vn_dp_worker(dp, nlc), lcore),
			    ==, 0);
			nlc++;
		}
	}
	g_assert_cmpuint(nlc, ==, 2);
	g_assert_cmpint(pthread_create(&tt, NULL, traffic_run, &tr), ==, 0);
	/* move both queues back and forth while the frames flow */
	while (!__atomic_load_n(&tr.done, __ATOMIC_ACQUIRE)) {
		uint16_t q = (uint16_t)(moves % NQ);
		int to = 1 - vn_dp_rxq_worker(dp, 0, q);
		g_assert_cmpint(vn_dp_rxq_move(dp, 0, q, (unsigned)to), ==, 0);
		g_assert_cmpint(vn_dp_rxq_worker(dp, 0, q), ==, to);
		moves++;
		__atomic_store_n(&tr.moves, moves, __ATOMIC_RELAXED);
		g_usleep(300);
	}
	pthread_join(tt, NULL);
	vn_dp_rxq_tick(dp, false);
	g_assert_cmpfloat(vn_dp_rxq_load(dp, 0, 0, NULL), >, 0);
	vn_dp_stop(dp);
	for (unsigned i = 0; i < 2; i++)
		rte_eal_wait_lcore(lc[i]);
	g_test_message("%u moves, %" PRIu64 " frames", moves, tr.received);
	g_assert_cmpuint(tr.received, ==, (uint64_t)NQ * PER_Q);
	g_assert_cmpuint(tr.bad, ==, 0);
	g_assert_cmpuint(tr.in->overlaps, ==, 0);
	g_assert_cmpuint(moves, >=, MOVE_STEPS - 1);
	vn_dp_rxq_stats(dp, &st);
	g_assert_cmpuint(st.handover_timeouts, ==, 0);
	vn_dp_port_counters(dp, 0, &c);
	g_assert_cmpuint(c.rx_packets, ==, (uint64_t)NQ * PER_Q);
	vn_dp_port_counters(dp, 1, &c);
	g_assert_cmpuint(c.tx_packets, ==, (uint64_t)NQ * PER_Q);
	g_assert_cmpuint(rte_mempool_avail_count(mp), ==, avail);
	for (uint16_t s = 0; s < 2; s++)
		vn_dp_slot_set(dp, s, NULL);
	vn_dp_commit(dp);
	net->kind->destroy(net);
	vn_dp_free(dp);
}

int main(int argc, char **argv)
{
	/* three lcores on whatever CPUs there are: workers are EAL lcores (per-lcore FDB state) */
	char *eal[] = {"unit",	   "--no-huge",	     "-m",	    "256",
		       "--no-pci", "--no-telemetry", "--no-shconf", "--log-level=*:error",
		       "--lcores", "(0-2)@(0-1)",    NULL};

	g_test_init(&argc, &argv, NULL);
	g_assert_cmpint(rte_eal_init(G_N_ELEMENTS(eal) - 1, eal), >=, 0);
	g_test_add_func("/rxq/place", test_place);
	g_test_add_func("/rxq/overloaded_hands_one", test_overloaded_hands_one);
	g_test_add_func("/rxq/hysteresis", test_hysteresis);
	g_test_add_func("/rxq/cannot_split", test_cannot_split);
	g_test_add_func("/rxq/many_workers", test_many_workers);
	g_test_add_func("/rxq/random", test_random);
	g_test_add_func("/rxq/handover", test_handover);
	return g_test_run();
}

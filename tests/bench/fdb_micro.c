/* SPDX-License-Identifier: MIT */
/* Switching cost per frame as the FDB grows (10 to 1,000,000 MACs) and ports grow (2 to 256). */
/*
 * Usage: fdb_micro [SECONDS_PER_CASE] [ROUNDS]      the curve, cases interleaved in rounds
 *        fdb_micro --frames N MACS PORTS           one case, N frames (for callgrind:
 *          valgrind --tool=callgrind --toggle-collect=vn_dp_switch_burst \
 *              build/tests/bench/fdb_micro --frames 200000 1000000 2
 *          and divide the Ir total by the frames it prints)
 *
 * One bridge network of PORTS ring ports whose FDB (fdb_max = MACS, no per-port limits)
 * holds MACS dynamic entries, learned before the clock starts in a random order (as a host
 * learns them, as they first appear): MAC j (02:cc:j) is on port j % PORTS.
 * FDB_MICRO_ORDER=rotation learns them in order of j instead, i.e. port by port in turn: with
 * 256 ports a port's keys then sit 4 KiB apart in rte_hash's key store (slots are handed out
 * in order), so a burst's prefetched keys share one L1 set (see the README). Ports are paired (p
 * and p ^ 1, as two guests talking); every port sends bursts of 32 IPv4/UDP 64-byte frames to its
 * pair, each frame from a random MAC of its own and to a random MAC of the pair (xorshift64*, over
 * every MAC of the port), so with many MACs nearly every frame learns (refreshes) one entry and
 * looks up another somewhere in the whole table, as on a host whose guests talk to many peers. Each
 * burst takes fresh buffers from the pool and what a port is sent is freed, as vhost ports do. Only
 * vn_dp_switch_burst() is timed (rte_rdtsc around each burst) or counted; writing the frames
 * (which, like a vhost copy, brings them into the cache) and freeing them are not, nor are bursts
 * longer than PREEMPTED_US (preempted: --frames prints how many); every frame must reach its port.
 * Prints ns per frame (median of the rounds) and its ratio to the first case.
 * FDB_MICRO_KIND=overlay: the network is an overlay (VXLAN, VNI 100, no underlay or remote: the
 * ports are guests of one VNI) instead of a bridge, so that the overlay kind's forwarding is what
 * is measured.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "vnicd/bridge.h"
#include "vnicd/datapath.h"
#include "vnicd/net.h"
#include "vnicd/ringport.h"

#define MAXP 256
#define MAXR 32
#define NOW 1000 /* the FDB clock: constant, as within one second */

struct fcase {
	unsigned macs, ports;
	struct vn_net *net;
};

static bool overlay;  /* FDB_MICRO_KIND=overlay */
static bool rotation; /* FDB_MICRO_ORDER=rotation */

static struct fcase CASES[] = {
    {10, 2},	{1000, 2},  {100000, 2}, {1000000, 2},
    {1000, 16}, {1000, 64}, {1000, 256}, {1000000, 256},
};
#define NCASES G_N_ELEMENTS(CASES)

static struct rte_mempool *mp;
static struct vn_dp *dp;
static struct vn_port *ports[MAXP];
static struct rte_ring *rx[MAXP], *tx[MAXP];
static uint64_t rs = 88172645463325252ull;

static void mac_of(uint32_t j, struct rte_ether_addr *a)
{
	a->addr_bytes[0] = 0x02;
	a->addr_bytes[1] = 0xcc;
	a->addr_bytes[2] = (uint8_t)(j >> 24);
	a->addr_bytes[3] = (uint8_t)(j >> 16);
	a->addr_bytes[4] = (uint8_t)(j >> 8);
	a->addr_bytes[5] = (uint8_t)j;
}

/* A random MAC of port @p in case @c. */
static inline uint32_t pick(const struct fcase *c, unsigned p)
{
	uint32_t per = c->macs / c->ports + (p < c->macs % c->ports);

	rs ^= rs >> 12; /* xorshift64*: every MAC of the port, not a repeating sample */
	rs ^= rs << 25;
	rs ^= rs >> 27;
	return p + c->ports * ((uint32_t)((rs * 0x2545f4914f6cdd1dull) >> 32) % per);
}

/* A bridge network of @c->ports ring ports (slots 0..) whose FDB holds @c->macs entries. */
static void case_make(struct fcase *c, unsigned idx)
{
	struct vn_config cfg = {.fdb_max = c->macs < 16 ? 16 : c->macs, .fdb_aging = 300};
	struct vn_net_env env = {&cfg, dp, NULL};
	g_autoptr(JsonObject) args = json_object_new();
	g_autoptr(GError) err = NULL;
	char name[32];

	snprintf(name, sizeof(name), "c%u", idx);
	if (overlay) {
		json_object_set_string_member(args, "encap", "vxlan");
		json_object_set_int_member(args, "vni", 100);
		json_object_set_string_member(args, "local", "10.0.0.1/24");
		json_object_set_string_member(args, "underlay", "ul");
	}
	if ((overlay ? &vn_overlay_net_kind : &vn_bridge_net_kind)
		->create(name, (uint16_t)idx, args, &env, &c->net, &err) < 0) {
		fprintf(stderr, "fdb_micro: %s\n", err->message);
		exit(1);
	}
	g_autofree uint32_t *order = g_new(uint32_t, c->macs);
	for (uint32_t j = 0; j < c->macs; j++)
		order[j] = j;
	for (uint32_t j = c->macs - 1; !rotation && j > 0; j--) {
		uint32_t k = (uint32_t)g_random_int_range(0, (gint32)j + 1), t = order[j];
		order[j] = order[k];
		order[k] = t;
	}
	for (uint32_t i = 0; i < c->macs; i++) {
		uint32_t j = order[i];
		struct rte_ether_addr a;
		mac_of(j, &a);
		if (vn_fdb_learn(c->net->fdb, 0, &a, (uint16_t)(j % c->ports), NOW) != 1) {
			fprintf(stderr, "fdb_micro: could not learn MAC %u of %u\n", j, c->macs);
			exit(1);
		}
	}
}

/* Publish case @c's ports in slots 0..ports-1 (the rest empty). */
static void case_enter(const struct fcase *c)
{
	for (unsigned p = 0; p < MAXP; p++) {
		struct vn_slot s = {.port = ports[p],
				    .net = c->net,
				    .locality = VN_LOC_LOCAL,
				    .kmode = overlay ? 1 : 0}; /* an overlay guest of VNI 100 */
		vn_dp_slot_set(dp, (uint16_t)p, p < c->ports ? &s : &(struct vn_slot){0});
	}
	vn_dp_commit(dp);
}

/* Port @p's next burst in @b: fresh buffers (from the pool's cache, as a vhost port's
 * receive takes them), from its MACs to its pair's. */
static void burst_of(const struct fcase *c, unsigned p, struct rte_mbuf **b)
{
	static const uint8_t l3[] = {0x08, 0,  0x45, 0,	   0,	 46,   0, 0,  0,   0,
				     64,   17, 0,    0,	   198,	 18,   0, 1,  198, 18,
				     0,	   2,  0x04, 0xd2, 0x16, 0x2e, 0, 26, 0,   0};

	if (rte_pktmbuf_alloc_bulk(mp, b, VN_BURST) != 0) {
		fprintf(stderr, "fdb_micro: no mbuf\n");
		exit(1);
	}
	for (unsigned i = 0; i < VN_BURST; i++) {
		uint8_t *d = (uint8_t *)rte_pktmbuf_append(b[i], 60);
		mac_of(pick(c, p ^ 1), (struct rte_ether_addr *)d);
		mac_of(pick(c, p), (struct rte_ether_addr *)(d + 6));
		memcpy(d + 12, l3, sizeof(l3));
	}
}

/* Free what port @p was sent (as its guest would take it); Return: how many. */
static unsigned drain(unsigned p)
{
	struct rte_mbuf *b[VN_BURST];
	unsigned n, got = 0;

	while ((n = rte_ring_dequeue_burst(tx[p], (void **)b, VN_BURST, NULL)) > 0) {
		rte_pktmbuf_free_bulk(b, n);
		got += n;
	}
	return got;
}

/* Run case @c for @secs seconds or @max_frames frames; Return: ns per switched frame, over the
 * bursts not preempted (@skipped: those longer than PREEMPTED_US, left out; this machine's
 * cores are shared, and a burst takes at most a few microseconds). */
#define PREEMPTED_US 100
static double run(const struct fcase *c, double secs, uint64_t max_frames, uint64_t *done,
		  uint64_t *skipped)
{
	struct vn_worker *w = vn_dp_worker(dp, 0);
	uint64_t hz = rte_get_tsc_hz(), frames = 0, timed = 0, busy = 0, got = 0, end, nskip = 0;
	uint64_t lim = hz / 1000000 * PREEMPTED_US;
	struct rte_mbuf *b[VN_BURST];

	case_enter(c);
	end = rte_rdtsc() + (uint64_t)(secs * (double)hz);
	do {
		for (unsigned p = 0; p < c->ports; p++) {
			uint64_t t0, dt;
			burst_of(c, p, b);
			t0 = rte_rdtsc();
			vn_dp_switch_burst(w, vn_dp_table(dp), (uint16_t)p, b, VN_BURST, NOW);
			dt = rte_rdtsc() - t0;
			frames += VN_BURST;
			if (dt > lim) {
				nskip++;
			} else {
				busy += dt;
				timed += VN_BURST;
			}
			got += drain(p ^ 1);
		}
	} while (max_frames ? frames < max_frames : rte_rdtsc() < end);
	if (done)
		*done = frames;
	if (skipped)
		*skipped = nskip;
	if (got != frames) {
		fprintf(stderr,
			"fdb_micro: %u MACs, %u ports: %" PRIu64 " of %" PRIu64
			" frames reached their port\n",
			c->macs, c->ports, got, frames);
		exit(1);
	}
	return (double)busy * 1e9 / (double)hz / (double)(timed ? timed : 1);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	char *eal[] = {
	    "fdb_micro",   "--no-huge",		  "-m", "1536", "--no-pci", "--no-telemetry",
	    "--no-shconf", "--log-level=*:error", "-l", "0",	NULL};
	const char *huge = getenv("FDB_MICRO_HUGE");   /* "1": hugepages, as vnicd runs */
	const char *kind = getenv("FDB_MICRO_KIND");   /* "overlay", or a bridge */
	const char *order = getenv("FDB_MICRO_ORDER"); /* "rotation", or random */

	overlay = kind && strcmp(kind, "overlay") == 0;
	rotation = order && strcmp(order, "rotation") == 0;

	if (huge && strcmp(huge, "1") == 0) {
		eal[1] = "--in-memory";
		eal[2] = "--no-shconf";
		eal[3] = "--no-shconf";
	}
	bool fixed = argc > 1 && strcmp(argv[1], "--frames") == 0;
	double secs = !fixed && argc > 1 ? atof(argv[1]) : 0.5;
	int rounds = !fixed && argc > 2 ? atoi(argv[2]) : 3;
	static double ns[NCASES][MAXR];
	struct fcase one = {0};

	if (fixed) {
		if (argc != 5 || !(one.macs = (unsigned)atoi(argv[3])) ||
		    (one.ports = (unsigned)atoi(argv[4])) < 2 || one.ports > MAXP ||
		    one.ports % 2 || one.macs < one.ports || one.macs > 1048576) {
			fprintf(stderr, "usage: fdb_micro --frames N MACS(PORTS-1048576) "
					"PORTS(2-256, even)\n");
			return 2;
		}
	} else if (rounds < 1 || rounds > MAXR || secs <= 0) {
		fprintf(stderr, "usage: fdb_micro [SECONDS_PER_CASE] [ROUNDS<=%d]\n", MAXR);
		return 2;
	}
	if (rte_eal_init(G_N_ELEMENTS(eal) - 1, eal) < 0)
		return 1;
	mp = rte_pktmbuf_pool_create("fdb_mp", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	dp = vn_dp_create(1, 0);
	if (!mp || !dp)
		return 1;
	rs |= g_random_int(); /* nonzero */
	for (unsigned p = 0; p < MAXP; p++) {
		char name[32];
		snprintf(name, sizeof(name), "rx%u", p);
		rx[p] = rte_ring_create(name, 128, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "tx%u", p);
		tx[p] = rte_ring_create(name, 128, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "p%u", p);
		if (!rx[p] || !tx[p] || !(ports[p] = vn_ring_port_create(name, rx[p], tx[p])))
			return 1;
		ports[p]->slot = (uint16_t)p;
	}
	if (fixed) {
		uint64_t n = strtoull(argv[2], NULL, 10), done = 0, skipped = 0;
		case_make(&one, 0);
		double t = run(&one, 0, n, &done, &skipped);
		printf("%u MACs, %u ports: %" PRIu64 " frames switched, %.1f ns/frame (%" PRIu64
		       " preempted bursts left out)\n",
		       one.macs, one.ports, done, t, skipped);
		return 0;
	}
	for (unsigned i = 0; i < NCASES; i++)
		case_make(&CASES[i], i);
	for (int r = 0; r < rounds; r++)
		for (unsigned i = 0; i < NCASES; i++)
			ns[i][r] = run(&CASES[i], secs, 0, NULL, NULL);
	printf("%10s %6s %10s %8s\n", "MACs", "ports", "ns/frame", "ratio");
	double base = 0;
	for (unsigned i = 0; i < NCASES; i++) {
		qsort(ns[i], (size_t)rounds, sizeof(double), cmp_d);
		double med = ns[i][rounds / 2];
		if (i == 0)
			base = med;
		printf("%10u %6u %10.1f %8.2f\n", CASES[i].macs, CASES[i].ports, med, med / base);
	}
	return 0;
}

/* SPDX-License-Identifier: MIT */
/* Switching cost per frame with and without per-vNIC policy (VLAN tag/untag, anti-spoofing), over
 * ring ports, no guest. */
/*
 * Usage: policy_micro [SECONDS_PER_MODE] [ROUNDS] [MODE_INDEX (profiling: plain and it only)]
 *        policy_micro --frames N MODE_INDEX   (switch N frames in that mode only, then print
 *        the count: for instruction counts, e.g. valgrind --tool=callgrind
 *        --toggle-collect=vn_dp_switch_burst, which divide by N into instructions per frame)
 *
 * Two ring ports in one network; 64 frames of 64 bytes (IPv4/UDP 198.18.0.1 -> .2, like
 * testpmd's tx_first) bounce between them in bursts of 32 through vn_dp_switch_burst(): what
 * port 1 transmits is fed back as what port 1 receives (source/destination MAC swapped, as a
 * guest's mac forwarding does) and likewise for port 0, so with "vlan" (port 0 access VLAN
 * 10, port 1 trunk of VLAN 10) every frame is tagged on its way to port 1 and untagged on
 * its way back. All frames start from port 0 (port 1 only sends what it received, tagged). Modes:
 * plain, vlan, antispoof (--lock-mac, --allowed-ip 198.18.0.1 on both), vlan+antispoof, meter
 * (--outbound and --inbound average=10000000 KBps on both: never dropping here); interleaved
 * for ROUNDS rounds. Prints ns per switched frame and the ratio of each mode's rate to plain's
 * (median over rounds). The worker's whole cost is measured, including the ring ports (cheaper than
 * vhost), so the ratio is a lower bound of what a vhost loop would show.
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
#include "vnicd/policy.h"
#include "vnicd/ringport.h"

#include "../unit/testutil.h"

#define NF 64

static struct rte_mempool *mp;
static struct vn_dp *dp;
static struct vn_port *ports[2];
static struct rte_ring *rx[2], *tx[2];
static struct vn_net *net;

static const char *const MODES[][2] = {
    {NULL, NULL},
    {"{\"vlan_mode\": \"access\", \"vlan\": 10}", "{\"vlan_mode\": \"trunk\", \"vlans\": \"10\"}"},
    {"{\"lock_mac\": true, \"allowed_ip\": \"198.18.0.1\"}",
     "{\"lock_mac\": true, \"allowed_ip\": \"198.18.0.1\"}"},
    {"{\"vlan_mode\": \"access\", \"vlan\": 10, \"lock_mac\": true, \"allowed_ip\": "
     "\"198.18.0.1\"}",
     "{\"vlan_mode\": \"trunk\", \"vlans\": \"10\", \"lock_mac\": true, \"allowed_ip\": "
     "\"198.18.0.1\"}"},
    /* rate limits both ways that never drop here (10 GB/s): the meters' own cost */
    {"{\"outbound\": \"average=10000000\", \"inbound\": \"average=10000000\"}",
     "{\"outbound\": \"average=10000000\", \"inbound\": \"average=10000000\"}"},
};
static const char *const NAMES[] = {"plain", "vlan", "antispoof", "vlan+antispoof", "meter"};
#define NMODES 5

static void mac_of(unsigned i, struct rte_ether_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->addr_bytes[0] = 0x02;
	a->addr_bytes[5] = (uint8_t)(0x10 + i);
}

static void set_policy(unsigned slot, const char *json)
{
	struct rte_ether_addr mac;

	mac_of(slot, &mac);
	vn_test_policy_set(dp, slot, &mac, json);
}

/* A 64-byte IPv4/UDP frame from port @from to the other port. */
static struct rte_mbuf *frame(unsigned from)
{
	static const uint8_t ip[] = {0x45, 0, 0,   46, 0, 0, 0,	   0,	 64,   17,   0, 0,  198, 18,
				     0,	   1, 198, 18, 0, 2, 0x04, 0xd2, 0x16, 0x2e, 0, 26, 0,	 0};
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint8_t *d;

	if (!m)
		exit(1);
	d = (uint8_t *)rte_pktmbuf_append(m, 64);
	if (!d)
		exit(1);
	memset(d, 0, 64);
	mac_of(!from, (struct rte_ether_addr *)d);
	mac_of(from, (struct rte_ether_addr *)(d + 6));
	d[12] = 0x08;
	memcpy(d + 14, ip, sizeof(ip));
	return m;
}

/* Swap the MACs of what port @p transmitted and return the frames; Return: how many. */
static unsigned bounce(unsigned p, struct rte_mbuf **out)
{
	unsigned n = rte_ring_dequeue_burst(tx[p], (void **)out, VN_BURST, NULL);

	for (unsigned i = 0; i < n; i++) {
		struct rte_ether_hdr *e = rte_pktmbuf_mtod(out[i], struct rte_ether_hdr *);
		struct rte_ether_addr t = e->dst_addr;
		e->dst_addr = e->src_addr;
		e->src_addr = t;
	}
	return n;
}

/* Run mode @mode for @secs seconds, or for @max_frames frames when not 0; Return: ns per
 * switched frame. */
static double run(unsigned mode, double secs, uint64_t max_frames)
{
	struct vn_worker *w = vn_dp_worker(dp, 0);
	struct rte_mbuf *b[VN_BURST];
	uint64_t hz = rte_get_tsc_hz(), frames = 0, t0, t1, end;
	unsigned n;

	set_policy(0, MODES[mode][0]);
	set_policy(1, MODES[mode][1]);
	vn_fdb_flush(net->fdb, -1, true);
	for (unsigned i = 0; i < NF; i += VN_BURST) { /* all sent by port 0 first */
		for (unsigned k = 0; k < VN_BURST; k++)
			b[k] = frame(0);
		vn_dp_switch_burst(w, vn_dp_table(dp), ports[0]->slot, b, VN_BURST, 100);
	}
	t0 = rte_rdtsc();
	end = t0 + (uint64_t)(secs * (double)hz);
	do {
		for (int it = 0; it < 64; it++) {
			/* what port 0 sent goes back in through port 0 (a guest replying) */
			n = bounce(0, b);
			if (n) {
				vn_dp_switch_burst(w, vn_dp_table(dp), ports[0]->slot, b,
						   (uint16_t)n, 100);
				frames += n;
			}
			n = bounce(1, b);
			if (n) {
				vn_dp_switch_burst(w, vn_dp_table(dp), ports[1]->slot, b,
						   (uint16_t)n, 100);
				frames += n;
			}
		}
		t1 = rte_rdtsc();
	} while (max_frames ? frames < max_frames : t1 < end);
	/* drain and check nothing was lost */
	unsigned left = 0;
	for (unsigned p = 0; p < 2; p++)
		while ((n = rte_ring_dequeue_burst(tx[p], (void **)b, VN_BURST, NULL)) > 0) {
			left += n;
			rte_pktmbuf_free_bulk(b, n);
		}
	if (left != NF) {
		fprintf(stderr, "mode %s: %u of %u frames left in flight (dropped?)\n", NAMES[mode],
			left, NF);
		exit(1);
	}
	return (double)(t1 - t0) * 1e9 / (double)hz / (double)frames;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* A mode by name (plain, vlan, ...) or index; -1 when it is neither. */
static int mode_of(const char *s)
{
	char *end;
	long i;

	for (int m = 0; m < NMODES; m++)
		if (strcmp(s, NAMES[m]) == 0)
			return m;
	i = strtol(s, &end, 10);
	return *s && !*end && i >= 0 && i < NMODES ? (int)i : -1;
}

int main(int argc, char **argv)
{
	char *eal[] = {
	    "policy_micro", "--no-huge",	   "-m", "256", "--no-pci", "--no-telemetry",
	    "--no-shconf",  "--log-level=*:error", "-l", "0",	NULL};
	bool fixed = argc > 1 && strcmp(argv[1], "--frames") == 0;
	uint64_t max_frames = fixed && argc > 2 ? strtoull(argv[2], NULL, 10) : 0;
	double secs = !fixed && argc > 1 ? atof(argv[1]) : 1.0;
	int rounds = !fixed && argc > 2 ? atoi(argv[2]) : 5;
	int only = argc > 3 ? mode_of(argv[3]) : -1; /* profiling: plain and this mode only */
	double ns[NMODES][64];

	if (fixed && (max_frames == 0 || only < 0 || only >= NMODES)) {
		fprintf(stderr, "usage: policy_micro --frames N MODE (a name or 0-%d)\n",
			NMODES - 1);
		return 2;
	}
	if (rounds < 1 || rounds > 64 || secs <= 0) {
		fprintf(stderr, "usage: policy_micro [SECONDS_PER_MODE] [ROUNDS<=64]\n");
		return 2;
	}
	if (rte_eal_init(G_N_ELEMENTS(eal) - 1, eal) < 0)
		return 1;
	mp = rte_pktmbuf_pool_create("bench_mp", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	dp = vn_dp_create(1, 0);
	if (!mp || !dp)
		return 1;
	net = vn_test_net(dp, "bench", 0, "{\"type\": \"bridge\"}");
	vn_test_ring_ports(dp, ports, rx, tx, 2, 256, 256, net);
	if (fixed) {
		double t = run((unsigned)only, 0, max_frames);
		printf("%s: %" PRIu64 "+ frames switched, %.1f ns/frame\n", NAMES[only], max_frames,
		       t);
		for (unsigned p = 0; p < 2; p++)
			vn_dp_policy_set(dp, (uint16_t)p, NULL);
		return 0;
	}
	for (int r = 0; r < rounds; r++)
		for (unsigned m = 0; m < NMODES; m++)
			ns[m][r] = only < 0 || (unsigned)only == m || m == 0 ? run(m, secs, 0) : 0;
	printf("%-16s %10s %10s %8s\n", "mode", "ns/frame", "Mfps", "ratio");
	double base = 0;
	for (unsigned m = 0; m < NMODES; m++) {
		qsort(ns[m], (size_t)rounds, sizeof(double), cmp_d);
		double med = ns[m][rounds / 2];
		if (m == 0)
			base = med;
		printf("%-16s %10.1f %10.2f %8.2f\n", NAMES[m], med, 1e3 / med, base / med);
	}
	for (unsigned p = 0; p < 2; p++)
		vn_dp_policy_set(dp, (uint16_t)p, NULL);
	return 0;
}

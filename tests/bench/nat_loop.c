/* SPDX-License-Identifier: MIT */
/*
 * An established UDP flow through a NAT network against plain switching, through the whole
 * pipeline of one vnicd switch (the NAT legs, the hand-off, the second network), over ring
 * ports: the worker's own cost per frame, without guests or vhost copies (issue 14's
 * benchmark on a harness that is the same in every run; nat_pvp.py measures it with testpmd
 * guests).
 *
 * Usage: nat_loop [SECONDS_PER_MODE] [ROUNDS]
 *        nat_loop --frames N plain|nat   (that mode only, N frames: for instruction counts,
 *        valgrind --tool=callgrind --toggle-collect=worker_pass, Ir / N per frame)
 *
 * One switch, as nat_pvp.py builds it: guest A's ports a0 (NAT network nt, 192.168.100.0/24,
 * external network ext as 10.0.0.1) and a1 (bridge br0); guest B's b0 (ext: it answers ARP
 * for 10.0.0.2) and b1 (br0), static FDB entries for B's MACs. A sends bursts of 32 fresh
 * 64-byte UDP frames (192.168.100.10:1024 -> 10.0.0.2:5678, a template copied as testpmd's
 * txonly does) to the gateway's MAC on a0 (nat) or to b1's MAC on a1 (plain); B frees what
 * it receives. A pass of the worker polls every port of the table once and switches what it
 * got (what vnicd's worker does); only the passes are timed (rdtsc), not A or B. Modes are
 * interleaved; the ratio is plain's ns per frame sent over NAT's (median of the rounds').
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

#include "vnicd/config.h"
#include "vnicd/datapath.h"
#include "vnicd/neigh.h"
#include "vnicd/portkind.h"
#include "vnicd/ringport.h"
#include "vnicd/switch.h"

#define RING 1024
#define FRAME 60 /* 64 on the wire with the FCS */
#define MAXR 64

enum { A0, A1, B0, B1, NG };
static const char *const GNAME[NG] = {"a0", "a1", "b0", "b1"};
static const char *const GNET[NG] = {"nt", "br0", "ext", "br0"};
static const char *const GMAC[NG] = {"02:00:00:00:a0:00", "02:00:00:00:a1:00", "02:00:00:00:b0:00",
				     "02:00:00:00:b1:00"};

static struct rte_mempool *mp;
static struct vn_switch *sw;
static struct vn_dp *dp;
static struct rte_ring *grx[NG], *gtx[NG]; /* what the guest sends / receives */
static struct rte_ether_addr gw_mac;
static uint64_t received[NG];

/* ---- the ring port kind: rings named by the "rx" and "tx" arguments ---- */

static const char *const ring_keys[] = {"rx", "tx", NULL};

static int ring_check(JsonObject *args, const struct vn_config *cfg, GError **err)
{
	return 0;
}

static int ring_create(const char *name, JsonObject *args, const struct vn_port_env *env,
		       struct vn_port **out, GError **err)
{
	struct rte_ring *rx = rte_ring_lookup(json_object_get_string_member(args, "rx"));
	struct rte_ring *tx = rte_ring_lookup(json_object_get_string_member(args, "tx"));

	*out = rx && tx ? vn_ring_port_create(name, rx, tx) : NULL;
	if (!*out) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_NOMEM, "ring port %s", name);
		return -ENOMEM;
	}
	return 0;
}

static char *ring_summary(JsonObject *args)
{
	return g_strdup("rings");
}

static const struct vn_port_kind ring_kind = {
    .name = "ring",
    .keys = ring_keys,
    .check = ring_check,
    .create = ring_create,
    .summary = ring_summary,
};

static void must(int rc, GError *err, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "nat_loop: %s: %s\n", what, err ? err->message : "failed");
		exit(1);
	}
}

static void setup(void)
{
	g_autoptr(JsonParser) jp = json_parser_new();
	GError *err = NULL;
	char js[512], rn[2][16];

	if (vn_switch_net_add(sw, "br0", "bridge", &err) < 0) /* vnicd's default network */
		g_clear_error(&err);
	must(vn_switch_net_add(sw, "ext", "bridge", &err), err, "net add ext");
	snprintf(js, sizeof(js),
		 "{\"name\": \"nt\", \"type\": \"nat\", \"subnet\": \"192.168.100.0/24\", "
		 "\"external\": \"ext\", \"external_ip\": \"10.0.0.1/24\", \"conntrack_max\": "
		 "1024}");
	if (!json_parser_load_from_data(jp, js, -1, NULL))
		exit(1);
	must(vn_switch_net_create(sw, json_node_get_object(json_parser_get_root(jp)), &err), err,
	     "net add nt");
	for (int g = 0; g < NG; g++) {
		snprintf(rn[0], sizeof(rn[0]), "%s_rx", GNAME[g]);
		snprintf(rn[1], sizeof(rn[1]), "%s_tx", GNAME[g]);
		grx[g] = rte_ring_create(rn[0], RING, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
		gtx[g] = rte_ring_create(rn[1], RING, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(js, sizeof(js),
			 "{\"name\": \"%s\", \"kind\": \"ring\", \"net\": \"%s\", \"mac\": \"%s\", "
			 "\"rx\": \"%s\", \"tx\": \"%s\"}",
			 GNAME[g], GNET[g], GMAC[g], rn[0], rn[1]);
		if (!grx[g] || !gtx[g] || !json_parser_load_from_data(jp, js, -1, NULL))
			exit(1);
		must(vn_switch_port_add_kind(sw, json_node_get_object(json_parser_get_root(jp)),
					     &ring_kind, &err),
		     err, GNAME[g]);
	}
	must(vn_switch_fdb_add(sw, GMAC[B0], "b0", &err), err, "fdb add b0");
	must(vn_switch_fdb_add(sw, GMAC[B1], "b1", &err), err, "fdb add b1");
}

/* A burst of @n fresh frames from A's port @g (to the gateway from a0, to b1 from a1). */
static void guest_a_send(int g, unsigned n)
{
	static const uint8_t ip[] = {0x45, 0,	 0,    46,   0,	  0,  0,  0, 64, 17,
				     0,	   0,	 192,  168,  100, 10, 10, 0, 0,	 2,
				     0x04, 0x00, 0x16, 0x2e, 0,	  26, 0,  0};
	struct rte_mbuf *m[VN_BURST];
	uint8_t t[FRAME] = {0};

	if (g == A0)
		memcpy(t, &gw_mac, 6);
	else
		rte_ether_unformat_addr(GMAC[B1], (struct rte_ether_addr *)t);
	rte_ether_unformat_addr(GMAC[g], (struct rte_ether_addr *)(t + 6));
	t[12] = 0x08;
	memcpy(t + 14, ip, sizeof(ip));
	/* the IPv4 header checksum */
	uint32_t s = 0;
	for (int i = 14; i < 34; i += 2)
		s += (uint32_t)(t[i] << 8 | t[i + 1]);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	t[24] = (uint8_t)(~s >> 8), t[25] = (uint8_t)~s;
	if (rte_pktmbuf_alloc_bulk(mp, m, n) < 0)
		return;
	for (unsigned i = 0; i < n; i++)
		memcpy(rte_pktmbuf_append(m[i], FRAME), t, FRAME);
	n = rte_ring_sp_enqueue_burst(grx[g], (void **)m, n, NULL) ? n : 0;
	if (!n)
		rte_pktmbuf_free_bulk(m, VN_BURST);
}

/* B takes what it was sent: ARP requests for 10.0.0.2 answered, the rest counted. */
static void guest_b_receive(void)
{
	struct rte_mbuf *m[VN_BURST];
	unsigned n;

	for (int g = B0; g <= B1; g++)
		while ((n = rte_ring_sc_dequeue_burst(gtx[g], (void **)m, VN_BURST, NULL)) > 0) {
			for (unsigned i = 0; i < n; i++) {
				const uint8_t *d = rte_pktmbuf_mtod(m[i], const uint8_t *);
				struct vn_neigh_pkt p;
				struct rte_ether_addr me;
				struct rte_mbuf *r;
				if (d[12] != 0x08 || d[13] != 0x06) {
					received[g]++;
					continue;
				}
				if (vn_neigh_parse(d, rte_pktmbuf_data_len(m[i]), &p) < 0 ||
				    p.kind != VN_NEIGH_ARP_REQUEST || !(r = rte_pktmbuf_alloc(mp)))
					continue;
				rte_ether_unformat_addr(GMAC[g], &me);
				int len = vn_neigh_build_arp_reply(
				    (uint8_t *)rte_pktmbuf_append(r, VN_NEIGH_ARP_LEN),
				    VN_NEIGH_ARP_LEN, &me, &p.target_ip, &p);
				if (len < 0 || rte_ring_sp_enqueue(grx[g], r) < 0)
					rte_pktmbuf_free(r);
			}
			rte_pktmbuf_free_bulk(m, n);
		}
}

/* One pass of the worker: every port polled once, what came switched. */
static __attribute__((noinline)) void worker_pass(struct vn_worker *w)
{
	const struct vn_dp_table *t = vn_dp_table(dp);
	uint64_t now = vn_dp_now();
	struct rte_mbuf *b[VN_BURST];

	for (uint16_t s = 0; s < t->nr_slots; s++) {
		struct vn_port *p = t->slots[s].port;
		uint16_t n = p ? p->ops->rx_burst(p, 0, b, VN_BURST) : 0;
		if (n)
			vn_dp_switch_burst(w, t, s, b, n, now);
	}
}

/* The gateway's MAC, from `net show nt`. */
static void read_gw_mac(void)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) root = NULL;
	GError *err = NULL;

	must(vn_switch_json_net(sw, "nt", b, &err), err, "net show nt");
	root = json_builder_get_root(b);
	if (rte_ether_unformat_addr(
		json_object_get_string_member(json_node_get_object(root), "gateway_mac"), &gw_mac) <
	    0)
		exit(1);
}

/* Until frames cross the NAT network: 10.0.0.2 resolved by the control thread (its GLib
 * sources run here, between passes) through B's ARP answer. */
static void warm_up(struct vn_worker *w)
{
	for (int i = 0; i < 2000 && !received[B0]; i++) {
		guest_a_send(A0, 1);
		worker_pass(w);
		guest_b_receive();
		while (g_main_context_iteration(NULL, FALSE))
			;
		g_usleep(1000);
	}
	if (!received[B0]) {
		fprintf(stderr, "nat_loop: no frame crossed the NAT network\n");
		exit(1);
	}
}

/* Mode @nat for @secs seconds or @frames frames; Return: the worker's ns per frame sent. */
static double run(bool nat, double secs, uint64_t frames)
{
	struct vn_worker *w = vn_dp_worker(dp, 0);
	uint64_t hz = rte_get_tsc_hz(), sent = 0, busy = 0, t0 = rte_rdtsc(), t;
	uint64_t end = t0 + (uint64_t)(secs * (double)hz);
	int g = nat ? A0 : A1, dst = nat ? B0 : B1;
	uint64_t got = received[dst];

	do {
		for (int it = 0; it < 64; it++) {
			guest_a_send(g, VN_BURST);
			t = rte_rdtsc();
			worker_pass(w);
			busy += rte_rdtsc() - t;
			guest_b_receive();
			sent += VN_BURST;
		}
	} while (frames ? sent < frames : rte_rdtsc() < end);
	if (received[dst] - got < sent - sent / 1000) {
		fprintf(stderr, "nat_loop: %s: %" PRIu64 " of %" PRIu64 " frames reached B\n",
			nat ? "nat" : "plain", received[dst] - got, sent);
		exit(1);
	}
	return (double)busy * 1e9 / (double)hz / (double)sent;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	char *eal[] = {
	    "nat_loop",	   "--no-huge",		  "-m", "512", "--no-pci", "--no-telemetry",
	    "--no-shconf", "--log-level=*:error", "-l", "0",   NULL};
	bool fixed = argc > 1 && strcmp(argv[1], "--frames") == 0;
	uint64_t frames = fixed && argc > 2 ? strtoull(argv[2], NULL, 10) : 0;
	double secs = !fixed && argc > 1 ? atof(argv[1]) : 1.0;
	int rounds = !fixed && argc > 2 ? atoi(argv[2]) : 5;
	double ns[2][MAXR], ratio[MAXR];
	struct vn_config cfg;

	if ((fixed &&
	     (!frames || argc < 4 || (strcmp(argv[3], "plain") && strcmp(argv[3], "nat")))) ||
	    (!fixed && (secs <= 0 || rounds < 1 || rounds > MAXR))) {
		fprintf(stderr,
			"usage: nat_loop [SECONDS_PER_MODE] [ROUNDS<=%d]\n"
			"       nat_loop --frames N plain|nat\n",
			MAXR);
		return 2;
	}
	if (rte_eal_init(G_N_ELEMENTS(eal) - 1, eal) < 0)
		return 1;
	vn_config_defaults(&cfg);
	mp = rte_pktmbuf_pool_create("bench_mp", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	dp = vn_dp_create(1, 0);
	if (!mp || !dp)
		return 1;
	sw = vn_switch_new(&cfg, dp, mp);
	setup();
	read_gw_mac();
	warm_up(vn_dp_worker(dp, 0));
	if (fixed) {
		double t = run(strcmp(argv[3], "nat") == 0, 0, frames);
		printf("%s: %" PRIu64 "+ frames, %.1f ns/frame\n", argv[3], frames, t);
		return 0;
	}
	for (int r = 0; r < rounds; r++) {
		for (int k = 0; k < 2; k++) { /* alternated: plain first in even rounds */
			bool nat = (r + k) % 2;
			ns[nat][r] = run(nat, secs, 0);
		}
		ratio[r] = ns[0][r] / ns[1][r];
		printf("nat_loop: round %d plain %.1f ns/frame nat %.1f ns/frame capacity %.2f\n",
		       r + 1, ns[0][r], ns[1][r], ratio[r]);
	}
	qsort(ns[0], (size_t)rounds, sizeof(double), cmp_d);
	qsort(ns[1], (size_t)rounds, sizeof(double), cmp_d);
	qsort(ratio, (size_t)rounds, sizeof(double), cmp_d);
	printf("nat_loop: plain %.1f ns/frame, nat %.1f ns/frame (medians): nat capacity %.2f of "
	       "plain (%.2f-%.2f)\n",
	       ns[0][rounds / 2], ns[1][rounds / 2], ratio[rounds / 2], ratio[0],
	       ratio[rounds - 1]);
	return 0;
}

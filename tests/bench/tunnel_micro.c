/* SPDX-License-Identifier: MIT */
/* Cost per frame of the tunnel transformations alone: vn_tun_encap, vn_tun_parse and vn_tun_decap.
 */
/*
 * Usage: tunnel_micro [SECONDS_PER_CASE] [ROUNDS]
 *        tunnel_micro --frames N TYPE AF SIZE [shared]   (one case, N frames, then print the
 *        count: for instruction counts, e.g.
 *          valgrind --tool=callgrind --callgrind-out-file=cg.out \
 *              build/tests/bench/tunnel_micro --frames 100000 vxlan 4 64
 *          callgrind_annotate --inclusive=yes cg.out | grep -E 'vn_tun_(encap|parse|decap)'
 *        and divide each function's inclusive Ir by N)
 *
 * Cases: VXLAN, Geneve and NVGRE over an IPv4 and an IPv6 underlay, inner frames of 64 and
 * 1518 bytes (RFC 2544 sizes with the FCS, as in pvp.sh: 60 and 1514 bytes of frame data;
 * IPv4/UDP 198.18.0.1 -> 198.18.0.2 with UDP checksum 0, as testpmd sends them; the rows
 * "vxlan/6+c", "geneve/6+c" give the inner frames a UDP checksum, as Linux sends them, which
 * the IPv6 encapsulation takes instead of reading the payload). 32 private mbufs go round:
 * vn_tun_encap in place (the data path's case for a frame from a guest: direct, refcnt 1,
 * headroom), then vn_tun_parse as the receiving VTEP (the remote's address) and vn_tun_decap, which
 * gives back the inner frame for the next turn; each of the three is timed over the whole burst of
 * 32 with rte_rdtsc, so the clock's cost is spread over 32 frames. "encap shared" takes a reference
 * on each frame first (refcnt 2, as a flooded frame has): vn_tun_encap then chains a header
 * mbuf from the pool in front of it (timed), and freeing that chain (untimed) drops the
 * reference again. Interleaved for ROUNDS rounds; prints the median ns per frame of each.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_mbuf.h>

#include "vnicd/cksum.h"
#include "vnicd/tunnel.h"

#define B 32
#define MAXR 64

static struct rte_mempool *mp;

struct tcase {
	enum vn_tun_type type;
	bool v6;
	unsigned size; /* RFC 2544: with the 4-byte FCS */
	bool csum;     /* the inner UDP checksum filled in (else 0: none) */
};

static const char *const TNAMES[] = {"vxlan", "geneve", "nvgre"};

/* An inner IPv4/UDP frame of @len bytes of frame data, with its UDP checksum if @csum. */
static struct rte_mbuf *frame(unsigned len, bool csum)
{
	static const uint8_t mac[12] = {0x02, 0, 0, 0, 0, 0x11, 0x02, 0, 0, 0, 0, 0x10};
	static const uint8_t ip[] = {0x45, 0, 0,   0,  0, 0, 0,	   0,	 64,   17,   0, 0, 198, 18,
				     0,	   1, 198, 18, 0, 2, 0x04, 0xd2, 0x16, 0x2e, 0, 0, 0,	0};
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint8_t *d;

	if (!m || !(d = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len))) {
		fprintf(stderr, "tunnel_micro: no mbuf\n");
		exit(1);
	}
	memset(d, 0, len);
	memcpy(d, mac, sizeof(mac));
	d[12] = 0x08;
	memcpy(d + 14, ip, sizeof(ip));
	d[16] = (uint8_t)((len - 14) >> 8); /* IPv4 total length */
	d[17] = (uint8_t)(len - 14);
	d[38] = (uint8_t)((len - 34) >> 8); /* UDP length */
	d[39] = (uint8_t)(len - 34);
	if (csum) {
		uint16_t c =
		    vn_l4_cksum_mbuf(m, (const struct rte_ipv4_hdr *)(d + 14), NULL, 34, true);
		memcpy(d + 40, &c, 2);
	}
	return m;
}

static void addr(struct vn_tun_addr *a, bool v6, uint8_t last)
{
	memset(a, 0, sizeof(*a));
	a->v6 = v6;
	if (v6) {
		a->a[0] = 0xfd;
		a->a[15] = last;
	} else {
		a->a[0] = 10;
		a->a[3] = last;
	}
}

/* Cycles spent per stage over a run. */
struct acc {
	uint64_t encap, shared, parse, decap, frames, sframes;
};

/* Run case @c over @max_frames frames, or for @secs seconds when 0. */
static void run(const struct tcase *c, double secs, uint64_t max_frames, bool shared_only,
		struct acc *a)
{
	static const struct rte_ether_addr src = {{0x02, 0x76, 0, 0, 0, 1}};
	static const struct rte_ether_addr dst = {{0x02, 0x76, 0, 0, 0, 2}};
	uint16_t port = c->type == VN_TUN_VXLAN	   ? VN_TUN_VXLAN_PORT
			: c->type == VN_TUN_GENEVE ? VN_TUN_GENEVE_PORT
						   : 0;
	struct vn_tun_addr local, remote;
	struct vn_tun_tmpl t;
	struct vn_tun_local loc;
	struct vn_tun_rx rx[B];
	struct rte_mbuf *m[B];
	uint64_t hz = rte_get_tsc_hz(), end, t0, t1, t2, t3;

	addr(&local, c->v6, 1);
	addr(&remote, c->v6, 2);
	if (vn_tun_tmpl_build(&t, c->type, &local, &remote, port, &src, &dst) < 0) {
		fprintf(stderr, "tunnel_micro: template\n");
		exit(1);
	}
	loc.type = (uint8_t)c->type;
	loc.addr = remote;
	loc.dstport = port;
	for (unsigned i = 0; i < B; i++)
		m[i] = frame(c->size - 4, c->csum);
	memset(a, 0, sizeof(*a));
	end = rte_rdtsc() + (uint64_t)(secs * (double)hz);
	do {
		if (!shared_only) {
			t0 = rte_rdtsc();
			for (unsigned i = 0; i < B; i++)
				m[i] = vn_tun_encap(&t, 100, m[i], mp);
			t1 = rte_rdtsc();
			for (unsigned i = 0; i < B; i++)
				if (!m[i] || vn_tun_parse(m[i], &loc, &rx[i]) != VN_TUN_OK) {
					fprintf(stderr, "tunnel_micro: %s/IPv%d: parse failed\n",
						TNAMES[c->type], c->v6 ? 6 : 4);
					exit(1);
				}
			t2 = rte_rdtsc();
			for (unsigned i = 0; i < B; i++)
				if (vn_tun_decap(m[i], &rx[i]) != VN_TUN_OK) {
					fprintf(stderr, "tunnel_micro: decap failed\n");
					exit(1);
				}
			t3 = rte_rdtsc();
			a->encap += t1 - t0;
			a->parse += t2 - t1;
			a->decap += t3 - t2;
			a->frames += B;
		}
		if (shared_only || !max_frames) { /* a flooded frame: refcnt 2, header chained */
			struct rte_mbuf *e[B];
			for (unsigned i = 0; i < B; i++)
				rte_mbuf_refcnt_update(m[i], 1);
			t0 = rte_rdtsc();
			for (unsigned i = 0; i < B; i++)
				e[i] = vn_tun_encap(&t, 100, m[i], mp);
			t1 = rte_rdtsc();
			for (unsigned i = 0; i < B; i++) {
				if (!e[i] || e[i] == m[i] || e[i]->nb_segs != 2) {
					fprintf(stderr, "tunnel_micro: shared encap not chained\n");
					exit(1);
				}
				rte_pktmbuf_free(e[i]);
			}
			a->shared += t1 - t0;
			a->sframes += B;
		}
	} while (max_frames ? (shared_only ? a->sframes : a->frames) < max_frames
			    : rte_rdtsc() < end);
	if (m[0]->pkt_len != c->size - 4 || m[0]->nb_segs != 1) {
		fprintf(stderr, "tunnel_micro: frame not restored by decap\n");
		exit(1);
	}
	rte_pktmbuf_free_bulk(m, B);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double med(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	char *eal[] = {
	    "tunnel_micro", "--no-huge",	   "-m", "256", "--no-pci", "--no-telemetry",
	    "--no-shconf",  "--log-level=*:error", "-l", "0",	NULL};
	bool fixed = argc > 1 && strcmp(argv[1], "--frames") == 0;
	double secs = !fixed && argc > 1 ? atof(argv[1]) : 0.5;
	int rounds = !fixed && argc > 2 ? atoi(argv[2]) : 3;
	static struct tcase cases[3 * 2 * 2 + 2 * 2];
	static double ns[3 * 2 * 2 + 2 * 2][4][MAXR];
	unsigned nc = 0;
	struct acc a;

	if (fixed && (argc < 6 || strtoull(argv[2], NULL, 10) == 0)) {
		fprintf(stderr,
			"usage: tunnel_micro --frames N vxlan|geneve|nvgre 4|6 SIZE [shared]\n");
		return 2;
	}
	if (!fixed && (rounds < 1 || rounds > MAXR || secs <= 0)) {
		fprintf(stderr, "usage: tunnel_micro [SECONDS_PER_CASE] [ROUNDS<=%d]\n", MAXR);
		return 2;
	}
	if (rte_eal_init(G_N_ELEMENTS(eal) - 1, eal) < 0)
		return 1;
	mp = rte_pktmbuf_pool_create("bench_mp", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (!mp)
		return 1;
	double hz = (double)rte_get_tsc_hz();
	if (fixed) {
		struct tcase c = {VN_TUN__MAX, !strcmp(argv[4], "6"), (unsigned)atoi(argv[5]),
				  false};
		uint64_t n = strtoull(argv[2], NULL, 10);
		bool shared = argc > 6 && !strcmp(argv[6], "shared");
		for (unsigned i = 0; i < 3; i++)
			if (!strcmp(argv[3], TNAMES[i]))
				c.type = (enum vn_tun_type)i;
		if (c.type == VN_TUN__MAX || c.size < 64 || c.size > 1518) {
			fprintf(stderr, "tunnel_micro: TYPE vxlan|geneve|nvgre, SIZE 64..1518\n");
			return 2;
		}
		run(&c, 0, n, shared, &a);
		if (shared)
			printf("%s/IPv%d %u: %" PRIu64 " frames, encap shared %.1f ns/frame\n",
			       argv[3], c.v6 ? 6 : 4, c.size, a.sframes,
			       (double)a.shared * 1e9 / hz / (double)a.sframes);
		else
			printf("%s/IPv%d %u: %" PRIu64
			       " frames, encap %.1f, parse %.1f, decap %.1f ns/frame\n",
			       argv[3], c.v6 ? 6 : 4, c.size, a.frames,
			       (double)a.encap * 1e9 / hz / (double)a.frames,
			       (double)a.parse * 1e9 / hz / (double)a.frames,
			       (double)a.decap * 1e9 / hz / (double)a.frames);
		return 0;
	}
	for (unsigned s = 0; s < 2; s++) {
		for (unsigned v = 0; v < 2; v++)
			for (unsigned ty = 0; ty < 3; ty++)
				cases[nc++] = (struct tcase){(enum vn_tun_type)ty, v == 1,
							     s ? 1518u : 64u, false};
		for (unsigned ty = 0; ty < 2; ty++) /* IPv6 UDP tunnels, inner UDP checksum */
			cases[nc++] =
			    (struct tcase){(enum vn_tun_type)ty, true, s ? 1518u : 64u, true};
	}
	for (int r = 0; r < rounds; r++)
		for (unsigned i = 0; i < nc; i++) {
			run(&cases[i], secs, 0, false, &a);
			ns[i][0][r] = (double)a.encap * 1e9 / hz / (double)a.frames;
			ns[i][1][r] = (double)a.shared * 1e9 / hz / (double)a.sframes;
			ns[i][2][r] = (double)a.parse * 1e9 / hz / (double)a.frames;
			ns[i][3][r] = (double)a.decap * 1e9 / hz / (double)a.frames;
		}
	printf("%-6s %-10s %8s %13s %8s %8s %13s   (ns per frame, median of %d)\n", "size",
	       "tunnel", "encap", "encap-shared", "parse", "decap", "parse+decap", rounds);
	for (unsigned i = 0; i < nc; i++) {
		double e = med(ns[i][0], rounds), sh = med(ns[i][1], rounds);
		double p = med(ns[i][2], rounds), d = med(ns[i][3], rounds);
		char name[16];
		snprintf(name, sizeof(name), "%s/%d%s", TNAMES[cases[i].type], cases[i].v6 ? 6 : 4,
			 cases[i].csum ? "+c" : "");
		printf("%-6u %-10s %8.1f %13.1f %8.1f %8.1f %13.1f\n", cases[i].size, name, e, sh,
		       p, d, p + d);
	}
	return 0;
}

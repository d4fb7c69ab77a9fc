/* SPDX-License-Identifier: MIT */
/* Cost of NAT translation alone (vn_nat_process): established flows, new connections, memory. */
/*
 * Usage: nat_micro [FLOWS] [ROUNDS]
 *
 * A NAT engine as a NAT network has it (65536 connections at most), the next hop and the
 * guests resolved. "established": FLOWS UDP flows (64-byte frames) set up first, then
 * bursts of 32 frames going out (SNAT) and coming back (reverse), timed with rte_rdtsc
 * over each burst; "new": TCP SYNs of fresh flows (each a new connection: port choice,
 * insertion), the table flushed between rounds (untimed). Prints the median ns per frame
 * of each over ROUNDS rounds, and the memory one tracked connection costs (its entry and
 * its share of the buckets). Never a test: numbers for the README's Performance section.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "vnicd/nat.h"

#define B 32
#define MAXR 64

static struct rte_mempool *mp;

/* A 60-byte IPv4 frame @src:@sp -> @dst:@dp of @proto (UDP or a TCP SYN). */
static struct rte_mbuf *frame(uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp, uint8_t proto)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint8_t *d = m ? (uint8_t *)rte_pktmbuf_append(m, 60) : NULL;
	struct rte_ipv4_hdr *ip;
	uint8_t *l4;

	if (!d) {
		fprintf(stderr, "nat_micro: no mbuf\n");
		exit(1);
	}
	memset(d, 0, 60);
	d[6] = 0x02, d[11] = 1, d[12] = 0x08;
	ip = (struct rte_ipv4_hdr *)(d + 14);
	ip->version_ihl = 0x45;
	ip->total_length = htons(46);
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	ip->src_addr = src;
	ip->dst_addr = dst;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	l4 = (uint8_t *)(ip + 1);
	memcpy(l4, &(uint16_t){htons(sp)}, 2);
	memcpy(l4 + 2, &(uint16_t){htons(dp)}, 2);
	if (proto == IPPROTO_TCP) {
		l4[12] = 0x50, l4[13] = 0x02;
		memcpy(l4 + 16, &(uint16_t){rte_ipv4_udptcp_cksum(ip, l4)}, 2);
	} else {
		memcpy(l4 + 4, &(uint16_t){htons(26)}, 2);
		memcpy(l4 + 6, &(uint16_t){rte_ipv4_udptcp_cksum(ip, l4)}, 2);
	}
	return m;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	char *eal[] = {
	    "nat_micro",   "--no-huge",		  "-m", "256", "--no-pci", "--no-telemetry",
	    "--no-shconf", "--log-level=*:error", "-l", "0"};
	unsigned flows = argc > 1 ? (unsigned)atoi(argv[1]) : 1024;
	unsigned rounds = argc > 2 ? (unsigned)atoi(argv[2]) : 9;
	const struct rte_ether_addr mac = {{2, 0, 0, 0, 0, 9}};
	static struct vn_nat nt;
	struct vn_ct_timeouts to;
	double est[MAXR], fresh[MAXR];
	uint64_t hz;

	if (rte_eal_init(G_N_ELEMENTS(eal), eal) < 0 || flows < B || rounds > MAXR)
		return 1;
	hz = rte_get_tsc_hz();
	mp = rte_pktmbuf_pool_create("nat_micro", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	vn_ct_timeouts_default(&to);
	nt.ct = vn_ct_new(65536, &to);
	nt.gw = inet_addr("192.168.100.1");
	nt.net = inet_addr("192.168.100.0");
	nt.mask = inet_addr("255.255.0.0");
	nt.ext = inet_addr("10.0.0.2");
	nt.ext_mask = inet_addr("255.255.255.0");
	nt.ext_gw = inet_addr("10.0.0.1");
	nt.port_lo = 1024, nt.port_hi = 65535;
	vn_nat_neigh_set(&nt, 1, nt.ext_gw, &mac);
	for (unsigned r = 0; r < rounds; r++) {
		uint64_t t_est = 0, t_new = 0, n_est = 0, n_new = 0;
		struct vn_nat_res res;

		vn_ct_flush(nt.ct);
		for (unsigned f = 0; f < flows; f++) { /* set up, untimed */
			struct rte_mbuf *m =
			    frame(htonl(0xc0a86400u + 10 + f % 200), inet_addr("8.8.8.8"),
				  (uint16_t)(10000 + f), 53, IPPROTO_UDP);
			vn_nat_process(&nt, m, true, 0, &res);
			rte_pktmbuf_free(m);
		}
		for (unsigned f = 0; f + B <= flows; f += B) {
			struct rte_mbuf *m[B];
			uint64_t t0;
			for (int dir = 0; dir < 2; dir++) {
				for (unsigned i = 0; i < B; i++)
					m[i] =
					    dir ? frame(inet_addr("8.8.8.8"), nt.ext, 53,
							(uint16_t)(10000 + f + i), IPPROTO_UDP)
						: frame(htonl(0xc0a86400u + 10 + (f + i) % 200),
							inet_addr("8.8.8.8"),
							(uint16_t)(10000 + f + i), 53, IPPROTO_UDP);
				t0 = rte_rdtsc();
				for (unsigned i = 0; i < B; i++)
					vn_nat_process(&nt, m[i], !dir, 1, &res);
				t_est += rte_rdtsc() - t0;
				n_est += B;
				rte_pktmbuf_free_bulk(m, B);
			}
		}
		for (unsigned f = 0; f + B <= flows; f += B) {
			struct rte_mbuf *m[B];
			uint64_t t0;
			for (unsigned i = 0; i < B; i++)
				m[i] = frame(htonl(0xc0a86400u + 10 + (f + i) % 200),
					     inet_addr("1.1.1.1"), (uint16_t)(20000 + f + i), 443,
					     IPPROTO_TCP);
			t0 = rte_rdtsc();
			for (unsigned i = 0; i < B; i++)
				vn_nat_process(&nt, m[i], true, 2, &res);
			t_new += rte_rdtsc() - t0;
			n_new += B;
			rte_pktmbuf_free_bulk(m, B);
		}
		est[r] = (double)t_est * 1e9 / (double)hz / (double)n_est;
		fresh[r] = (double)t_new * 1e9 / (double)hz / (double)n_new;
	}
	qsort(est, rounds, sizeof(double), cmp);
	qsort(fresh, rounds, sizeof(double), cmp);
	printf("established flows (%u): %.1f ns/frame (median of %u)\n", flows, est[rounds / 2],
	       rounds);
	printf("new connections: %.1f ns each (%.2f M/s on one core)\n", fresh[rounds / 2],
	       1e3 / fresh[rounds / 2]);
	printf("memory per tracked connection: %zu bytes entry + %.1f bytes buckets\n",
	       sizeof(struct vn_ct_entry), (double)(nt.ct->mask + 1) * 4 / nt.ct->max);
	vn_ct_free(nt.ct);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/* Cost of NAT translation alone (vn_nat_process): established flows, new connections, memory. */
/*
 * Usage: nat_micro [FLOWS] [ROUNDS]
 *        nat_micro mem [ENTRIES]
 *
 * A NAT engine as a NAT network has it (65536 connections at most), the next hop and the
 * guests resolved. "established": FLOWS UDP flows (64-byte frames) set up first, then
 * bursts of 32 frames going out (SNAT) and coming back (reverse), timed with rte_rdtsc
 * over each burst, each burst with one memo (vn_nat_process_memo(), as a NAT leg calls it:
 * 32 flows a burst, so the memo never hits); "one flow": the same with every frame of a
 * burst of one flow (as tests/bench/nat_pvp.py sends: the memo hits); "new": TCP SYNs of fresh
 * flows (each a new connection: port choice, insertion), the table flushed between rounds
 * (untimed). Prints the median ns per frame of each over ROUNDS rounds, and the memory one tracked
 * connection costs (its entry and its share of the buckets). "mem": a table of ENTRIES (1,000,000
 * by default) filled with as many TCP connections; the resident memory (and DPDK heap) it took, per
 * connection. Never a test: numbers for the README's Performance section.
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
#include <rte_malloc.h>
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

static struct vn_nat nt;

/* One burst of B frames of established flows f..f+B-1, out (@dir 0) or back (1), timed
 * (callgrind: --toggle-collect=est_burst counts these alone). Return: its TSC cycles. */
static __attribute__((noinline)) uint64_t est_burst(unsigned f, int dir)
{
	struct rte_mbuf *m[B];
	struct vn_nat_memo mm = {.e = NULL};
	struct vn_nat_res res;
	uint64_t t0, t;

	for (unsigned i = 0; i < B; i++)
		m[i] = dir ? frame(inet_addr("8.8.8.8"), nt.ext, 53, (uint16_t)(10000 + f + i),
				   IPPROTO_UDP)
			   : frame(htonl(0xc0a86400u + 10 + (f + i) % 200), inet_addr("8.8.8.8"),
				   (uint16_t)(10000 + f + i), 53, IPPROTO_UDP);
	t0 = rte_rdtsc();
	for (unsigned i = 0; i < B; i++)
		vn_nat_process_memo(&nt, m[i], !dir, 1, &res, &mm);
	vn_nat_memo_flush(&nt, &mm);
	t = rte_rdtsc() - t0;
	rte_pktmbuf_free_bulk(m, B);
	return t;
}

/* One burst of B frames of established flow @f (callgrind: --toggle-collect=est1_burst). */
static __attribute__((noinline)) uint64_t est1_burst(unsigned f, int dir)
{
	struct rte_mbuf *m[B];
	struct vn_nat_memo mm = {.e = NULL};
	struct vn_nat_res res;
	uint64_t t0, t;

	for (unsigned i = 0; i < B; i++)
		m[i] = dir ? frame(inet_addr("8.8.8.8"), nt.ext, 53, (uint16_t)(10000 + f),
				   IPPROTO_UDP)
			   : frame(htonl(0xc0a86400u + 10 + f % 200), inet_addr("8.8.8.8"),
				   (uint16_t)(10000 + f), 53, IPPROTO_UDP);
	t0 = rte_rdtsc();
	for (unsigned i = 0; i < B; i++)
		vn_nat_process_memo(&nt, m[i], !dir, 1, &res, &mm);
	vn_nat_memo_flush(&nt, &mm);
	t = rte_rdtsc() - t0;
	rte_pktmbuf_free_bulk(m, B);
	return t;
}

/* One burst of B TCP SYNs of new connections (callgrind: --toggle-collect=new_burst). */
static __attribute__((noinline)) uint64_t new_burst(unsigned f)
{
	struct rte_mbuf *m[B];
	struct vn_nat_res res;
	uint64_t t0, t;

	for (unsigned i = 0; i < B; i++)
		m[i] = frame(htonl(0xc0a86400u + 10 + (f + i) % 200), inet_addr("1.1.1.1"),
			     (uint16_t)(20000 + f + i), 443, IPPROTO_TCP);
	t0 = rte_rdtsc();
	for (unsigned i = 0; i < B; i++)
		vn_nat_process(&nt, m[i], true, 2, &res);
	t = rte_rdtsc() - t0;
	rte_pktmbuf_free_bulk(m, B);
	return t;
}

static long rss_kib(void)
{
	long kib = -1;
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

static size_t heap_bytes(void)
{
	struct rte_malloc_socket_stats st;

	return rte_malloc_get_socket_stats(0, &st) == 0 ? st.heap_allocsz_bytes : 0;
}

/* "mem": the memory of a table of @n entries, every one a TCP connection. */
static int mem_run(uint32_t n)
{
	struct vn_ct_timeouts to;
	long rss0 = rss_kib();
	size_t heap0 = heap_bytes();
	struct vn_ct *ct;

	vn_ct_timeouts_default(&to);
	if (!(ct = vn_ct_new(n, &to, NULL)))
		return 1;
	vn_ct_lock(ct);
	for (uint32_t i = 0; i < n; i++) {
		struct vn_ct_tuple o = {.src = htonl(0xc0a80000u + i / 50000),
					.dst = htonl(0x01010101u + i % 50000),
					.sport = htons(40000),
					.dport = htons(443),
					.proto = IPPROTO_TCP},
				   r = {.src = o.dst,
					.dst = htonl(0x0a000002u + i / 60000),
					.sport = o.dport,
					.dport = htons((uint16_t)(1024 + i % 60000)),
					.proto = IPPROTO_TCP};
		if (!vn_ct_insert(ct, &o, &r, 0)) {
			fprintf(stderr, "nat_micro: insert %u failed\n", i);
			return 1;
		}
	}
	vn_ct_unlock(ct);
	printf("%u tracked connections: %.1f bytes each resident (RSS +%ld KiB, of which DPDK "
	       "heap +%zu KiB); entry %zu bytes\n",
	       n, (double)(rss_kib() - rss0) * 1024.0 / n, rss_kib() - rss0,
	       (heap_bytes() - heap0) / 1024, sizeof(struct vn_ct_entry));
	vn_ct_free(ct);
	return 0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	char *eal[] = {
	    "nat_micro",   "--no-huge",		  "-m", "1536", "--no-pci", "--no-telemetry",
	    "--no-shconf", "--log-level=*:error", "-l", "0"};
	unsigned flows = argc > 1 ? (unsigned)atoi(argv[1]) : 1024; /* "mem": 0 */
	unsigned rounds = argc > 2 ? (unsigned)atoi(argv[2]) : 9;
	const struct rte_ether_addr mac = {{2, 0, 0, 0, 0, 9}};
	struct vn_ct_timeouts to;
	double est[MAXR], est1[MAXR], fresh[MAXR];
	uint64_t hz;

	if (rte_eal_init(G_N_ELEMENTS(eal), eal) < 0)
		return 1;
	if (argc > 1 && strcmp(argv[1], "mem") == 0)
		return mem_run(argc > 2 ? (uint32_t)atoi(argv[2]) : 1000000);
	if (flows < B || rounds > MAXR)
		return 1;
	hz = rte_get_tsc_hz();
	mp = rte_pktmbuf_pool_create("nat_micro", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	vn_ct_timeouts_default(&to);
	nt.ct = vn_ct_new(65536, &to, NULL);
	nt.gw = inet_addr("192.168.100.1");
	nt.net = inet_addr("192.168.100.0");
	nt.mask = inet_addr("255.255.0.0");
	nt.ext = inet_addr("10.0.0.2");
	nt.ext_mask = inet_addr("255.255.255.0");
	nt.ext_gw = inet_addr("10.0.0.1");
	nt.port_lo = 1024, nt.port_hi = 65535;
	vn_nat_neigh_set(&nt, 1, nt.ext_gw, &mac);
	for (unsigned r = 0; r < rounds; r++) {
		uint64_t t_est = 0, t_new = 0, n_est = 0, n_new = 0, t_est1 = 0, n_est1 = 0;
		struct vn_nat_res res;

		vn_ct_flush(nt.ct);
		for (unsigned f = 0; f < flows; f++) { /* set up, untimed */
			struct rte_mbuf *m =
			    frame(htonl(0xc0a86400u + 10 + f % 200), inet_addr("8.8.8.8"),
				  (uint16_t)(10000 + f), 53, IPPROTO_UDP);
			vn_nat_process(&nt, m, true, 0, &res);
			rte_pktmbuf_free(m);
		}
		for (unsigned f = 0; f + B <= flows; f += B)
			for (int dir = 0; dir < 2; dir++) {
				t_est += est_burst(f, dir);
				n_est += B;
			}
		for (unsigned f = 0; f + B <= flows; f += B)
			for (int dir = 0; dir < 2; dir++) {
				t_est1 += est1_burst(f, dir);
				n_est1 += B;
			}
		for (unsigned f = 0; f + B <= flows; f += B) {
			t_new += new_burst(f);
			n_new += B;
		}
		est[r] = (double)t_est * 1e9 / (double)hz / (double)n_est;
		est1[r] = (double)t_est1 * 1e9 / (double)hz / (double)n_est1;
		fresh[r] = (double)t_new * 1e9 / (double)hz / (double)n_new;
	}
	qsort(est, rounds, sizeof(double), cmp);
	qsort(est1, rounds, sizeof(double), cmp);
	qsort(fresh, rounds, sizeof(double), cmp);
	printf("established flows (%u): %.1f ns/frame (median of %u)\n", flows, est[rounds / 2],
	       rounds);
	printf("established, one flow a burst: %.1f ns/frame (median of %u)\n", est1[rounds / 2],
	       rounds);
	printf("new connections: %.1f ns each (%.2f M/s on one core)\n", fresh[rounds / 2],
	       1e3 / fresh[rounds / 2]);
	printf("memory per tracked connection: %zu bytes entry + two rte_hash keys (see \"mem\")\n",
	       sizeof(struct vn_ct_entry));
	vn_ct_free(nt.ct);
	return 0;
}

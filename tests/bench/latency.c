/* SPDX-License-Identifier: MIT */
/*
 * Benchmark: round-trip time through a switch, one frame at a time, between two virtio-user
 * "guests" (ports 0 and 1 of this DPDK process, given with --vdev): port 0 sends a frame to
 * port 1's MAC, port 1 sends it back to port 0 (MACs swapped) as soon as it polls it, and
 * the time from port 0's send to its receive is one round trip (rte_rdtsc). Pings leave at a
 * fixed low rate, so the switch may go idle between them, as with a guest's ping.
 *
 *     latency [EAL args: --vdev net_virtio_user0,path=A --vdev net_virtio_user1,path=B]
 *             -- [--count N] [--interval-us U] [--warmup N]
 *
 * Prints one line: "latency: n=N lost=L min=.. p50=.. p90=.. p99=.. max=.. us".
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#define TIMEOUT_MS 200 /* a ping not back by then is lost */

struct opts {
	unsigned count, interval_us, warmup;
};

static int port_init(uint16_t port, struct rte_mempool *mp)
{
	struct rte_eth_conf conf;
	int rc;

	memset(&conf, 0, sizeof(conf));
	rc = rte_eth_dev_configure(port, 1, 1, &conf);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(port, 0, 256, rte_eth_dev_socket_id(port), NULL, mp);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(port, 0, 256, rte_eth_dev_socket_id(port), NULL);
	if (rc == 0)
		rc = rte_eth_dev_start(port);
	return rc;
}

/* A 60-byte frame from @src to @dst carrying @seq. */
static struct rte_mbuf *ping(struct rte_mempool *mp, const struct rte_ether_addr *dst,
			     const struct rte_ether_addr *src, uint32_t seq)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	struct rte_ether_hdr *eth;

	if (!m)
		return NULL;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, 60);
	if (!eth) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memset(eth, 0, 60);
	eth->dst_addr = *dst;
	eth->src_addr = *src;
	eth->ether_type = rte_cpu_to_be_16(0x88b5);
	memcpy(eth + 1, &seq, sizeof(seq));
	return m;
}

static uint32_t seq_of(struct rte_mbuf *m)
{
	uint32_t seq;

	memcpy(&seq, rte_pktmbuf_mtod(m, struct rte_ether_hdr *) + 1, sizeof(seq));
	return seq;
}

/* Poll @port until a frame of @seq comes (others are freed) or @deadline. Return: it or NULL. */
static struct rte_mbuf *wait_seq(uint16_t port, uint32_t seq, uint64_t deadline)
{
	struct rte_mbuf *pk[32], *hit = NULL;

	while (!hit && rte_rdtsc() < deadline) {
		uint16_t n = rte_eth_rx_burst(port, 0, pk, 32);
		for (uint16_t i = 0; i < n; i++) {
			if (!hit && seq_of(pk[i]) == seq)
				hit = pk[i];
			else
				rte_pktmbuf_free(pk[i]);
		}
	}
	return hit;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* One round trip of @seq. Return: its TSC cycles, 0 when lost. */
static uint64_t round_trip(struct rte_mempool *mp, const struct rte_ether_addr *mac, uint32_t seq)
{
	uint64_t hz = rte_get_tsc_hz(), t0;
	struct rte_mbuf *m = ping(mp, &mac[1], &mac[0], seq), *r;
	struct rte_ether_hdr *eth;

	if (!m)
		return 0;
	t0 = rte_rdtsc();
	if (rte_eth_tx_burst(0, 0, &m, 1) != 1) {
		rte_pktmbuf_free(m);
		return 0;
	}
	r = wait_seq(1, seq, t0 + hz * TIMEOUT_MS / 1000);
	if (!r)
		return 0;
	eth = rte_pktmbuf_mtod(r, struct rte_ether_hdr *);
	eth->dst_addr = mac[0];
	eth->src_addr = mac[1];
	if (rte_eth_tx_burst(1, 0, &r, 1) != 1) {
		rte_pktmbuf_free(r);
		return 0;
	}
	r = wait_seq(0, seq, t0 + hz * TIMEOUT_MS / 1000);
	if (!r)
		return 0;
	rte_pktmbuf_free(r);
	return rte_rdtsc() - t0;
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {{"count", required_argument, NULL, 'c'},
					   {"interval-us", required_argument, NULL, 'i'},
					   {"warmup", required_argument, NULL, 'w'},
					   {NULL, 0, NULL, 0}};
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'c')
			o->count = (unsigned)atoi(optarg);
		else if (c == 'i')
			o->interval_us = (unsigned)atoi(optarg);
		else if (c == 'w')
			o->warmup = (unsigned)atoi(optarg);
		else
			return -1;
	}
	return o->count ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct opts o = {2000, 1000, 100};
	struct rte_ether_addr mac[2];
	struct rte_mempool *mp;
	uint64_t *rtt, hz;
	unsigned n = 0, lost = 0;
	int used = rte_eal_init(argc, argv);

	if (used < 0 || parse(argc - used, argv + used, &o) < 0 || rte_eth_dev_count_avail() < 2) {
		fprintf(stderr, "usage: latency EAL-ARGS (two virtio-user ports) -- [--count N] "
				"[--interval-us U] [--warmup N]\n");
		return 2;
	}
	hz = rte_get_tsc_hz();
	mp = rte_pktmbuf_pool_create("lat", 2047, 64, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	rtt = calloc(o.count, sizeof(*rtt));
	if (!mp || !rtt || port_init(0, mp) || port_init(1, mp)) {
		fprintf(stderr, "latency: cannot set up the ports\n");
		return 1;
	}
	rte_eth_macaddr_get(0, &mac[0]);
	rte_eth_macaddr_get(1, &mac[1]);
	for (uint32_t seq = 1; seq <= o.warmup + o.count; seq++) {
		uint64_t start = rte_rdtsc(), c = round_trip(mp, mac, seq);
		if (seq > o.warmup) {
			if (c)
				rtt[n++] = c;
			else
				lost++;
		}
		while (rte_rdtsc() < start + hz * o.interval_us / 1000000)
			rte_pause();
	}
	qsort(rtt, n, sizeof(*rtt), cmp_u64);
#define US(i) (n ? (double)rtt[(i)] * 1e6 / (double)hz : 0.0)
	printf("latency: n=%u lost=%u min=%.1f p50=%.1f p90=%.1f p99=%.1f max=%.1f us\n", n, lost,
	       US(0), US(n / 2), US(n * 90 / 100), US(n * 99 / 100), US(n ? n - 1 : 0));
	fflush(stdout);
	free(rtt);
	rte_eth_dev_stop(0);
	rte_eth_dev_stop(1);
	rte_eal_cleanup();
	return lost ? 3 : 0;
}

/* SPDX-License-Identifier: MIT */
/* libFuzzer target: arbitrary frames through NAT translation (both directions) and the DHCP server.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "fuzzutil.h"
#include "vnicd/dhcp.h"
#include "vnicd/nat.h"

#define MAX_FRAME 1900

static struct rte_mempool *mp;
static struct vn_nat nt;
static struct vn_dhcp *dhcp;
static uint64_t clock_ms;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t ip4(const char *s)
{
	uint32_t a = 0;

	inet_pton(AF_INET, s, &a);
	return a;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const struct rte_ether_addr mac = {{2, 0, 0, 0, 0, 9}};
	struct vn_ct_timeouts to;
	struct vn_dhcp_cfg dc;

	vn_fuzz_eal_init();
	mp = rte_pktmbuf_pool_create("fuzz_mp", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	vn_ct_timeouts_default(&to);
	to.udp = to.icmp = 1;
	nt.ct = vn_ct_new(256, &to, NULL);
	if (!mp || !nt.ct)
		__builtin_trap();
	nt.gw = ip4("192.168.100.1");
	nt.net = ip4("192.168.100.0");
	nt.mask = ip4("255.255.255.0");
	nt.ext = ip4("10.0.0.2");
	nt.ext_mask = ip4("255.255.255.0");
	nt.ext_gw = ip4("10.0.0.1");
	nt.port_lo = 1024, nt.port_hi = 1100;
	nt.fwd[nt.nfwd++] = (struct vn_nat_fwd){6, htons(2222), ip4("192.168.100.10"), htons(22)};
	nt.fwd[nt.nfwd++] = (struct vn_nat_fwd){17, htons(53), ip4("192.168.100.11"), htons(53)};
	vn_nat_neigh_set(&nt, 1, nt.ext_gw, &mac);
	vn_nat_neigh_set(&nt, 0, ip4("192.168.100.10"), &mac);
	dc = (struct vn_dhcp_cfg){.server = nt.gw,
				  .router = nt.gw,
				  .mask = nt.mask,
				  .lo = ip4("192.168.100.10"),
				  .hi = ip4("192.168.100.12")};
	dhcp = vn_dhcp_new(&dc);
	return 0;
}

/* Make the input's IPv4 header checksum right (so that the output's can be checked). */
static bool fix_ip(uint8_t *f, size_t len)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + 14);
	size_t ihl;

	if (len < 34 || f[12] != 0x08 || f[13] != 0)
		return false;
	ihl = (f[14] & 0xfu) * 4u;
	if ((f[14] >> 4) != 4 || ihl < 20 || len < 14 + ihl)
		return false;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip); /* options included: rte_ipv4_cksum reads ihl */
	return true;
}

static struct rte_mbuf *mbuf_of(const uint8_t *f, size_t len, uint8_t how)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);

	if (!m)
		__builtin_trap();
	memcpy(rte_pktmbuf_append(m, (uint16_t)len), f, len);
	if (how & 2)
		m->ol_flags |= how & 4 ? RTE_MBUF_F_TX_UDP_CKSUM : RTE_MBUF_F_TX_TCP_CKSUM;
	return m;
}

/* The frame twice in one burst (struct vn_nat_memo): when the first was a tracked
 * connection's, the second (from the memo, or looked up for a SYN, FIN or RST) goes the
 * same way with the same bytes. */
static void memo_twice(const uint8_t *f, size_t len, uint8_t how)
{
	struct rte_mbuf *a = mbuf_of(f, len, how), *b = mbuf_of(f, len, how);
	struct vn_nat_memo mm = {.e = NULL};
	struct vn_nat_res ra, rb;
	int wa = vn_nat_process_memo(&nt, a, how & 1, clock_ms, &ra, &mm);

	if (mm.e) {
		int wb = vn_nat_process_memo(&nt, b, how & 1, clock_ms, &rb, &mm);
		if (wb != wa || rb.nmore || ra.nmore ||
		    rte_pktmbuf_data_len(a) != rte_pktmbuf_data_len(b) ||
		    memcmp(rte_pktmbuf_mtod(a, void *), rte_pktmbuf_mtod(b, void *),
			   rte_pktmbuf_data_len(a)) != 0 ||
		    !rte_is_same_ether_addr(&ra.dmac, &rb.dmac))
			__builtin_trap();
	}
	vn_nat_memo_flush(&nt, &mm);
	for (unsigned i = 0; i < ra.nmore; i++)
		rte_pktmbuf_free(ra.more[i]);
	if (wa != VN_NAT_HELD)
		rte_pktmbuf_free(a);
	rte_pktmbuf_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t f[MAX_FRAME], out[VN_DHCP_REPLY_MAX];
	const struct rte_ether_addr mac = {{2, 0, 0, 0, 0, 1}};
	struct rte_mbuf *m;
	struct vn_nat_res r;
	bool ip_ok;
	size_t len;

	if (size < 2 || size - 1 > MAX_FRAME)
		return 0;
	len = size - 1;
	memcpy(f, data + 1, len);
	ip_ok = fix_ip(f, len);
	m = rte_pktmbuf_alloc(mp);
	if (!m)
		__builtin_trap();
	memcpy(rte_pktmbuf_append(m, (uint16_t)len), f, len);
	if (data[0] & 2)
		m->ol_flags |= data[0] & 4 ? RTE_MBUF_F_TX_UDP_CKSUM : RTE_MBUF_F_TX_TCP_CKSUM;
	clock_ms += data[0] >> 3;
	vn_nat_process(&nt, m, data[0] & 1, clock_ms, &r);
	if (r.where == VN_NAT_HELD) { /* an out-of-order fragment: the engine keeps it */
		if (!ip_ok || r.nmore)
			__builtin_trap();
		m = NULL;
	} else if (r.where != VN_NAT_DROPPED) {
		const struct rte_ipv4_hdr *ip =
		    rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
		if (!ip_ok)
			__builtin_trap();
		if (rte_ipv4_cksum(ip) != 0)
			__builtin_trap(); /* an IP header that was right stays right */
	}
	for (unsigned i = 0; i < r.nmore; i++) { /* fragments it released: translated too */
		if (r.where == VN_NAT_DROPPED ||
		    rte_ipv4_cksum(rte_pktmbuf_mtod_offset(r.more[i], struct rte_ipv4_hdr *, 14)))
			__builtin_trap();
		rte_pktmbuf_free(r.more[i]);
	}
	rte_pktmbuf_free(m);
	if (ip_ok)
		memo_twice(f, len, data[0]);
	vn_dhcp_input(dhcp, f, len, clock_ms, &mac, out, sizeof(out));
	if ((data[0] & 0xf8) == 0xf8) {
		vn_ct_expire(nt.ct, clock_ms, 256);
		vn_nat_hold_expire(&nt, clock_ms);
	}
	return 0;
}

/* SPDX-License-Identifier: MIT */
/* Software completion of virtio-net offloads (tapio/offload.c) against a naive reference. */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <glib.h>
#include <linux/virtio_net.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "testutil.h"
#include "vnicd/cksum.h"
#include "vnicd/config.h"
#include "vnicd/policy.h"
#include "vnicd/tap.h"
#include "vnicd/vhost.h"

#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

static struct rte_mempool *big, *small;

/* ---- naive reference: RFC 1071 over a flat byte array ---- */

/* Flatten an mbuf chain. */
static GByteArray *flat(const struct rte_mbuf *m)
{
	GByteArray *a = g_byte_array_new();

	for (const struct rte_mbuf *s = m; s; s = s->next)
		g_byte_array_append(a, rte_pktmbuf_mtod(s, const uint8_t *), s->data_len);
	g_assert_cmpuint(a->len, ==, rte_pktmbuf_pkt_len(m));
	return a;
}

/* true if the IPv4 header checksum and the TCP/UDP checksum of frame @p verify. */
static bool ref_verify(const uint8_t *p, size_t len, size_t l3, bool v6, uint8_t proto)
{
	uint32_t sum = 0;
	size_t l4, l4len;

	if (!v6) {
		size_t ihl = (p[l3] & 0xf) * 4u;
		if (vn_test_ref_fold(vn_test_ref_sum(p + l3, ihl, 0)) != 0xffff)
			return false;
		l4 = l3 + ihl;
		l4len = (size_t)(p[l3 + 2] << 8 | p[l3 + 3]) - ihl;
		sum = vn_test_ref_sum(p + l3 + 12, 8, 0);
	} else {
		l4 = l3 + 40;
		l4len = (size_t)(p[l3 + 4] << 8 | p[l3 + 5]);
		sum = vn_test_ref_sum(p + l3 + 8, 32, 0);
	}
	g_assert_cmpuint(l4 + l4len, ==, len);
	sum += proto + (uint32_t)l4len;
	return vn_test_ref_fold(vn_test_ref_sum(p + l4, l4len, sum)) == 0xffff;
}

/* ---- frame builders ---- */

struct spec {
	bool v6, vlan;
	uint8_t proto; /* IPPROTO_TCP / IPPROTO_UDP */
	uint32_t payload;
	uint8_t tcp_flags;
};

static const uint8_t mac_d[6] = {2, 0, 0, 0, 0, 2}, mac_s[6] = {2, 0, 0, 0, 0, 1};

/* A frame with a partial (pseudo-header) checksum, as a kernel hands it over. */
static struct rte_mbuf *build(const struct spec *s, size_t *l3_out, size_t *l4_out)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(big);
	size_t l3 = s->vlan ? 18 : 14, l3len = s->v6 ? 40 : 20;
	size_t l4 = l3 + l3len, l4h = s->proto == IPPROTO_TCP ? 32 : 8;
	size_t len = l4 + l4h + s->payload;
	uint8_t *p;
	uint32_t ps;

	g_assert_nonnull(m);
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len);
	g_assert_nonnull(p);
	memset(p, 0, len);
	memcpy(p, mac_d, 6);
	memcpy(p + 6, mac_s, 6);
	if (s->vlan) {
		p[12] = 0x81, p[13] = 0x00, p[14] = 0x00, p[15] = 0x07;
	}
	p[l3 - 2] = s->v6 ? 0x86 : 0x08;
	p[l3 - 1] = s->v6 ? 0xdd : 0x00;
	if (!s->v6) {
		p[l3] = 0x45;
		p[l3 + 2] = (uint8_t)((len - l3) >> 8), p[l3 + 3] = (uint8_t)(len - l3);
		p[l3 + 4] = 0x12, p[l3 + 5] = 0x34; /* id */
		p[l3 + 6] = 0x40;		    /* DF */
		p[l3 + 8] = 64;
		p[l3 + 9] = s->proto;
		memcpy(p + l3 + 12, (uint8_t[]){10, 0, 0, 1, 10, 0, 0, 2}, 8);
		ps = vn_test_ref_sum(p + l3 + 12, 8, 0);
	} else {
		p[l3] = 0x60;
		p[l3 + 4] = (uint8_t)((len - l4) >> 8), p[l3 + 5] = (uint8_t)(len - l4);
		p[l3 + 6] = s->proto;
		p[l3 + 7] = 64;
		p[l3 + 8] = 0xfd, p[l3 + 23] = 1;
		p[l3 + 24] = 0xfd, p[l3 + 39] = 2;
		ps = vn_test_ref_sum(p + l3 + 8, 32, 0);
	}
	if (s->proto == IPPROTO_TCP) {
		p[l4] = 0x9c, p[l4 + 1] = 0x40;			      /* sport 40000 */
		p[l4 + 2] = 0x14, p[l4 + 3] = 0x51;		      /* dport 5201 */
		p[l4 + 4] = 0x01, p[l4 + 5] = 0x02, p[l4 + 6] = 0x03; /* seq 0x010203f0 */
		p[l4 + 7] = 0xf0;
		p[l4 + 12] = 0x80; /* 32-byte header */
		p[l4 + 13] = s->tcp_flags;
		p[l4 + 15] = 0xff;
	} else {
		p[l4] = 0x9c, p[l4 + 1] = 0x40, p[l4 + 3] = 53;
		p[l4 + 4] = (uint8_t)((len - l4) >> 8), p[l4 + 5] = (uint8_t)(len - l4);
	}
	for (size_t i = 0; i < s->payload; i++)
		p[l4 + l4h + i] = (uint8_t)(i * 7 + (i >> 8));
	/* partial checksum: pseudo header only (as CHECKSUM_PARTIAL skbs carry it) */
	ps = vn_test_ref_fold(ps + s->proto + (uint32_t)(len - l4));
	p[l4 + (s->proto == IPPROTO_TCP ? 16 : 6)] = (uint8_t)(ps >> 8);
	p[l4 + (s->proto == IPPROTO_TCP ? 17 : 7)] = (uint8_t)ps;
	if (!s->v6) { /* a kernel GSO frame has a valid IPv4 header checksum */
		uint16_t c = (uint16_t)~vn_test_ref_fold(vn_test_ref_sum(p + l3, 20, 0));
		p[l3 + 10] = (uint8_t)(c >> 8), p[l3 + 11] = (uint8_t)c;
	}
	*l3_out = l3;
	*l4_out = l4;
	return m;
}

/*
 * @m copied into a chain of buffers from small: @first bytes in the first, @rest in each
 * other (as vhost-user's dequeue chains a guest's GSO frame); @m is freed.
 */
static struct rte_mbuf *rechain(struct rte_mbuf *m, uint16_t first, uint16_t rest)
{
	g_autoptr(GByteArray) a = flat(m);
	struct rte_mbuf *head = NULL;
	size_t off = 0;

	rte_pktmbuf_free(m);
	while (off < a->len) {
		uint16_t n = (uint16_t)MIN((size_t)(head ? rest : first), a->len - off);
		struct rte_mbuf *b = rte_pktmbuf_alloc(small);

		g_assert_nonnull(b);
		memcpy(rte_pktmbuf_append(b, n), a->data + off, n);
		off += n;
		if (!head)
			head = b;
		else
			g_assert_cmpint(rte_pktmbuf_chain(head, b), ==, 0);
	}
	return head;
}

static void test_csum_fill(void)
{
	for (int v6 = 0; v6 < 2; v6++)
		for (int udp = 0; udp < 2; udp++)
			for (uint32_t pl = 0; pl < 40; pl += 13) {
				struct spec s = {.v6 = v6,
						 .proto = udp ? IPPROTO_UDP : IPPROTO_TCP,
						 .payload = pl,
						 .vlan = pl == 13};
				size_t l3, l4;
				struct rte_mbuf *m = build(&s, &l3, &l4);
				struct vn_vnet_meta meta = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
							    .csum_start = (uint16_t)l4,
							    .csum_offset = udp ? 6 : 16};
				struct vn_gso g;
				g_autoptr(GByteArray) a = NULL;

				g_assert_cmpint(vn_offload_prepare(m, &meta, &g), ==,
						VN_OFFLOAD_DONE);
				a = flat(m);
				g_assert_true(ref_verify(a->data, a->len, l3, v6, s.proto));
				rte_pktmbuf_free(m);
			}
}

static void check_segments_in(const struct spec *s, uint8_t gso_type, uint16_t mss,
			      struct rte_mempool *outpool, uint16_t first, uint16_t rest)
{
	size_t l3, l4;
	struct rte_mbuf *m = build(s, &l3, &l4);
	g_autoptr(GByteArray) orig = flat(m);
	struct vn_vnet_meta meta = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				    .gso_type = gso_type,
				    .gso_size = mss,
				    .csum_start = (uint16_t)l4,
				    .csum_offset = s->proto == IPPROTO_TCP ? 16 : 6};
	size_t hl = l4 + (s->proto == IPPROTO_TCP ? 32 : 8);
	unsigned want = (unsigned)((s->payload + mss - 1) / mss), got = 0;
	g_autoptr(GByteArray) joined = g_byte_array_new();
	struct vn_gso g;
	int rc;

	if (first)
		m = rechain(m, first, rest);
	rc = vn_offload_prepare(m, &meta, &g);
	if (want <= 1) {
		g_assert_cmpint(rc, ==, VN_OFFLOAD_DONE);
		g_autoptr(GByteArray) a = flat(m);
		g_assert_true(ref_verify(a->data, a->len, l3, s->v6, s->proto));
		rte_pktmbuf_free(m);
		return;
	}
	g_assert_cmpint(rc, ==, VN_OFFLOAD_SEGMENT);
	while (!vn_gso_done(&g)) {
		struct rte_mbuf *out[5];
		int k = vn_gso_next(&g, outpool, out, G_N_ELEMENTS(out));
		g_assert_cmpint(k, >, 0);
		for (int i = 0; i < k; i++, got++) {
			g_autoptr(GByteArray) a = flat(out[i]);
			const uint8_t *p = a->data;
			size_t pl = a->len - hl;
			bool last = got + 1 == want;

			g_assert_cmpuint(pl, ==, last ? s->payload - (size_t)mss * got : mss);
			g_assert_true(ref_verify(p, a->len, l3, s->v6, s->proto));
			g_assert_cmpmem(p, l3, orig->data, l3); /* L2 incl. VLAN unchanged */
			if (!s->v6)				/* IPv4 id increments per segment */
				g_assert_cmpuint((unsigned)(p[l3 + 4] << 8 | p[l3 + 5]), ==,
						 0x1234 + got);
			if (s->proto == IPPROTO_TCP) {
				uint32_t seq = (uint32_t)p[l4 + 4] << 24 |
					       (uint32_t)p[l4 + 5] << 16 |
					       (uint32_t)p[l4 + 6] << 8 | p[l4 + 7];
				uint8_t fl = p[l4 + 13];
				g_assert_cmpuint(seq, ==, 0x010203f0u + (uint32_t)mss * got);
				g_assert_cmpuint(!!(fl & 0x09), ==, last && (s->tcp_flags & 0x09));
				g_assert_cmpuint(!!(fl & 0x80), ==,
						 got == 0 && (s->tcp_flags & 0x80));
				g_assert_cmpuint(fl & 0x10, ==, s->tcp_flags & 0x10); /* ACK kept */
			}
			g_byte_array_append(joined, p + hl, (guint)pl);
			rte_pktmbuf_free(out[i]);
		}
	}
	g_assert_cmpuint(got, ==, want);
	g_assert_cmpmem(joined->data, joined->len, orig->data + hl, s->payload);
	rte_pktmbuf_free(m);
}

static void check_segments(const struct spec *s, uint8_t gso_type, uint16_t mss,
			   struct rte_mempool *outpool)
{
	check_segments_in(s, gso_type, mss, outpool, 0, 0);
}

static void test_gso(void)
{
	static const uint16_t msses[] = {1448, 1000, 536, 8, 1440};
	static const uint32_t payloads[] = {1, 1448, 1449, 20000, 64000, 4097};

	for (int v6 = 0; v6 < 2; v6++)
		for (int vlan = 0; vlan < 2; vlan++)
			for (size_t i = 0; i < G_N_ELEMENTS(msses); i++)
				for (size_t j = 0; j < G_N_ELEMENTS(payloads); j++) {
					struct spec s = {.v6 = v6,
							 .vlan = vlan,
							 .proto = IPPROTO_TCP,
							 .payload = payloads[j],
							 .tcp_flags = 0x99};
					if (msses[i] == 8 && payloads[j] > 5000)
						continue;
					check_segments(&s,
						       v6 ? VIRTIO_NET_HDR_GSO_TCPV6
							  : VIRTIO_NET_HDR_GSO_TCPV4,
						       msses[i], small);
					s.proto = IPPROTO_UDP;
					check_segments(&s, VIRTIO_NET_HDR_GSO_UDP_L4, msses[i],
						       small);
				}
}

/* Segments larger than one small buffer (jumbo MSS) come out chained and still verify. */
static void test_gso_chained(void)
{
	struct spec s = {.proto = IPPROTO_TCP, .payload = 30000, .tcp_flags = 0x18};

	check_segments(&s, VIRTIO_NET_HDR_GSO_TCPV4, 8960, small);
	s.v6 = true;
	check_segments(&s, VIRTIO_NET_HDR_GSO_TCPV6, 8940, small);
}

/*
 * GSO frames that arrive chained (a vhost-user guest's 64 KiB frame in 2 KiB buffers): cut
 * the same, also when a buffer ends at an odd offset or right after the headers, and a
 * chained frame's partial checksum is filled in over the whole chain.
 */
static void test_gso_chained_source(void)
{
	static const uint16_t cuts[][2] = {{2048, 2048}, {66, 1001}, {200, 61}, {1514, 1448}};

	for (size_t i = 0; i < G_N_ELEMENTS(cuts); i++)
		for (int v6 = 0; v6 < 2; v6++) {
			struct spec s = {
			    .v6 = v6, .proto = IPPROTO_TCP, .payload = 30000, .tcp_flags = 0x99};
			uint32_t hl = (v6 ? 54 + 20 : 34 + 20) + 12u;

			if (cuts[i][0] < hl)
				continue;
			check_segments_in(&s,
					  v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4,
					  1448, small, cuts[i][0], cuts[i][1]);
			s.proto = IPPROTO_UDP;
			s.payload = 5000;
			check_segments_in(&s, VIRTIO_NET_HDR_GSO_UDP_L4, 1000, small, cuts[i][0],
					  cuts[i][1]);
		}
	for (uint16_t first = 60; first < 200; first += 47) {
		struct spec s = {.proto = IPPROTO_UDP, .payload = 3000};
		size_t l3, l4;
		struct rte_mbuf *m = rechain(build(&s, &l3, &l4), first, 333);
		struct vn_vnet_meta meta = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					    .csum_start = (uint16_t)l4,
					    .csum_offset = 6};
		struct vn_gso g;
		g_autoptr(GByteArray) a = NULL;

		g_assert_cmpint(vn_offload_prepare(m, &meta, &g), ==, VN_OFFLOAD_DONE);
		a = flat(m);
		g_assert_true(ref_verify(a->data, a->len, l3, false, s.proto));
		rte_pktmbuf_free(m);
	}
	/* the checksum field beyond the first buffer: refused, not written out of bounds */
	{
		struct spec s = {.proto = IPPROTO_TCP, .payload = 3000};
		size_t l3, l4;
		struct rte_mbuf *m = rechain(build(&s, &l3, &l4), 40, 500);
		struct vn_vnet_meta meta = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					    .csum_start = (uint16_t)l4,
					    .csum_offset = 16};
		struct vn_gso g;

		g_assert_cmpint(vn_offload_prepare(m, &meta, &g), ==, -EINVAL);
		meta =
		    (struct vn_vnet_meta){.gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1448};
		g_assert_cmpint(vn_offload_prepare(m, &meta, &g), ==, -EINVAL);
		rte_pktmbuf_free(m);
	}
}

/*
 * Segments in buffers of an odd size (1001 bytes): the second buffer of each segment starts
 * at an odd offset of the TCP/UDP data, where DPDK 22.11's rte_raw_cksum_mbuf() (used by
 * rte_ipv4/6_udptcp_cksum_mbuf()) drops the carries of the buffer's sum.
 */
static void test_gso_odd_split(void)
{
	struct rte_mempool *odd =
	    rte_pktmbuf_pool_create("odd", 512, 0, 0, RTE_PKTMBUF_HEADROOM + 1001, 0);
	struct spec s = {.proto = IPPROTO_TCP, .payload = 12000, .tcp_flags = 0x18};

	g_assert_nonnull(odd);
	check_segments(&s, VIRTIO_NET_HDR_GSO_TCPV4, 2900, odd);
	s.v6 = true;
	check_segments(&s, VIRTIO_NET_HDR_GSO_TCPV6, 2880, odd);
	s.proto = IPPROTO_UDP;
	check_segments(&s, VIRTIO_NET_HDR_GSO_UDP_L4, 2000, odd);
	rte_mempool_free(odd);
}

/*
 * A vhost-user guest's requests as librte_vhost's compliant flags report them, turned into
 * the metadata of the completion: partial checksums, GSO frames (chained), nothing asked.
 */
static void test_vhost_meta(void)
{
	for (int v6 = 0; v6 < 2; v6++)
		for (int udp = 0; udp < 2; udp++) {
			struct spec s = {.v6 = v6,
					 .proto = udp ? IPPROTO_UDP : IPPROTO_TCP,
					 .payload = 9000,
					 .tcp_flags = 0x10};
			size_t l3, l4;
			struct rte_mbuf *m = rechain(build(&s, &l3, &l4), 1000, 2048);
			struct vn_vnet_meta meta;
			struct vn_gso g;
			g_autoptr(GByteArray) a = NULL;

			m->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_NONE | RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN;
			vn_vhost_offload_meta(m, &meta);
			g_assert_cmpuint(meta.flags, ==, VIRTIO_NET_HDR_F_NEEDS_CSUM);
			g_assert_cmpuint(meta.csum_start, ==, l4);
			g_assert_cmpuint(meta.csum_offset, ==, udp ? 6 : 16);
			g_assert_cmpuint(meta.gso_type, ==, VIRTIO_NET_HDR_GSO_NONE);
			g_assert_cmphex(m->ol_flags, ==, 0);
			g_assert_cmpint(vn_offload_prepare(m, &meta, &g), ==, VN_OFFLOAD_DONE);
			a = flat(m);
			g_assert_true(ref_verify(a->data, a->len, l3, v6, s.proto));
			if (!udp) { /* the same frame as a TSO request: cut */
				m->ol_flags = RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_NONE;
				m->tso_segsz = 1400;
				vn_vhost_offload_meta(m, &meta);
				g_assert_cmpuint(meta.gso_type, ==,
						 v6 ? VIRTIO_NET_HDR_GSO_TCPV6
						    : VIRTIO_NET_HDR_GSO_TCPV4);
				g_assert_cmpuint(meta.gso_size, ==, 1400);
				g_assert_cmpint(vn_offload_prepare(m, &meta, &g), ==,
						VN_OFFLOAD_SEGMENT);
			}
			rte_pktmbuf_free(m);
		}
	/* nothing asked, or a checksum the library already made good: nothing to do */
	{
		struct spec s = {.proto = IPPROTO_TCP, .payload = 100};
		size_t l3, l4;
		struct rte_mbuf *m = build(&s, &l3, &l4);
		struct vn_vnet_meta meta;
		const uint64_t none[] = {0, RTE_MBUF_F_RX_L4_CKSUM_GOOD |
						RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN};

		for (size_t i = 0; i < G_N_ELEMENTS(none); i++) {
			m->ol_flags = none[i];
			vn_vhost_offload_meta(m, &meta);
			g_assert_cmpuint(meta.flags, ==, 0);
			g_assert_cmpuint(meta.gso_type, ==, 0);
		}
		/* a partial checksum on a frame that is neither TCP nor UDP: refused */
		rte_pktmbuf_mtod(m, uint8_t *)[l3 + 9] = IPPROTO_ICMP;
		m->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_NONE;
		vn_vhost_offload_meta(m, &meta);
		g_assert_cmpint(vn_offload_prepare(m, &meta, &(struct vn_gso){0}), ==, -EINVAL);
		rte_pktmbuf_free(m);
	}
}

/*
 * Offloads passed on as mbuf tx flags (vn_vhost_offload_mark), which guests take them
 * (vn_vhost_tx_takes), and their completion for one that does not, of a frame shared with
 * another destination (vn_vhost_tx_prepare: a copy is cut, the original stays as it was).
 */
static void test_vhost_pass(void)
{
	struct spec s = {.proto = IPPROTO_TCP, .payload = 9000, .tcp_flags = 0x18};
	size_t l3, l4;
	struct rte_mbuf *m = rechain(build(&s, &l3, &l4), 1000, 2048), *out[16];
	g_autoptr(GByteArray) orig = flat(m);
	const uint64_t csum = 1ULL << VIRTIO_NET_F_GUEST_CSUM;
	const uint64_t tso4 = 1ULL << VIRTIO_NET_F_GUEST_TSO4,
		       tso6 = 1ULL << VIRTIO_NET_F_GUEST_TSO6;
	struct vn_gso g;
	unsigned segs = 0;

	m->ol_flags = RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_NONE;
	m->tso_segsz = 1400;
	g_assert_cmpint(vn_vhost_offload_mark(m), ==, 0);
	g_assert_cmphex(m->ol_flags, ==,
			RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IPV4);
	g_assert_cmpuint(m->l2_len, ==, 14);
	g_assert_cmpuint(m->l3_len, ==, 20);
	g_assert_cmpuint(m->l4_len, ==, 32);
	g_assert_true(vn_vhost_tx_takes(m->ol_flags, csum | tso4));
	g_assert_false(vn_vhost_tx_takes(m->ol_flags, csum | tso6));
	g_assert_false(vn_vhost_tx_takes(m->ol_flags, tso4));
	g_assert_true(vn_vhost_tx_takes(RTE_MBUF_F_TX_UDP_CKSUM | RTE_MBUF_F_TX_IPV6, csum));
	g_assert_false(vn_vhost_tx_takes(RTE_MBUF_F_TX_UDP_CKSUM | RTE_MBUF_F_TX_IPV6, 0));
	g_assert_true(vn_vhost_tx_takes(0, 0));

	rte_pktmbuf_refcnt_update(m, 1); /* flooded: another destination holds it too */
	struct rte_mbuf *c = m;
	g_assert_cmpint(vn_vhost_tx_prepare(&c, small, &g), ==, VN_OFFLOAD_SEGMENT);
	g_assert_true(c != m);
	g_assert_cmpuint(rte_mbuf_refcnt_read(m), ==, 1);
	while (!vn_gso_done(&g)) {
		int k = vn_gso_next(&g, small, out, G_N_ELEMENTS(out));
		g_assert_cmpint(k, >, 0);
		for (int i = 0; i < k; i++, segs++) {
			g_autoptr(GByteArray) a = flat(out[i]);
			g_assert_true(ref_verify(a->data, a->len, l3, false, IPPROTO_TCP));
			g_assert_cmphex(out[i]->ol_flags, ==, 0);
		}
		rte_pktmbuf_free_bulk(out, (unsigned)k);
	}
	g_assert_cmpuint(segs, ==, (9000 + 1399) / 1400);
	rte_pktmbuf_free(c);
	{ /* the original, still the other destination's, unchanged */
		g_autoptr(GByteArray) a = flat(m);
		g_assert_cmpmem(a->data, a->len, orig->data, orig->len);
	}
	/* refused: GSO of UDP, and an MSS below the minimum */
	m->ol_flags = RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_NONE;
	m->tso_segsz = 4;
	g_assert_cmpint(vn_vhost_offload_mark(m), ==, -EINVAL);
	rte_pktmbuf_free(m);
}

/* A kernel's request (TAP): passed on as tx flags and written back into a TAP destination's
 * virtio-net header as it came; requests that cannot be are refused (completed instead). */
static void test_tap_pass(void)
{
	static const struct {
		struct spec s;
		uint8_t gso;
		uint16_t mss;
		int want;
	} cases[] = {
	    {{.proto = IPPROTO_TCP, .payload = 9000}, VIRTIO_NET_HDR_GSO_TCPV4, 1448, 0},
	    {{.v6 = true, .proto = IPPROTO_TCP, .payload = 9000},
	     VIRTIO_NET_HDR_GSO_TCPV6,
	     1428,
	     0},
	    {{.vlan = true, .proto = IPPROTO_TCP, .payload = 3000},
	     VIRTIO_NET_HDR_GSO_TCPV4,
	     1000,
	     0},
	    {{.proto = IPPROTO_UDP, .payload = 700}, VIRTIO_NET_HDR_GSO_NONE, 0, 0},
	    {{.v6 = true, .proto = IPPROTO_TCP, .payload = 100}, VIRTIO_NET_HDR_GSO_NONE, 0, 0},
	    {{.proto = IPPROTO_UDP, .payload = 5000}, VIRTIO_NET_HDR_GSO_UDP_L4, 1000, -ENOTSUP},
	    {{.proto = IPPROTO_TCP, .payload = 5000},
	     VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN,
	     1000,
	     -ENOTSUP},
	    {{.proto = IPPROTO_TCP, .payload = 5000}, VIRTIO_NET_HDR_GSO_TCPV6, 1000, -ENOTSUP},
	    {{.proto = IPPROTO_TCP, .payload = 5000}, VIRTIO_NET_HDR_GSO_TCPV4, 4, -ENOTSUP},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		size_t l3, l4;
		struct rte_mbuf *m = build(&cases[i].s, &l3, &l4);
		g_autoptr(GByteArray) orig = flat(m);
		struct vn_vnet_meta meta = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					    .gso_type = cases[i].gso,
					    .gso_size = cases[i].mss,
					    .csum_start = (uint16_t)l4,
					    .csum_offset =
						cases[i].s.proto == IPPROTO_TCP ? 16 : 6};
		struct vn_vnet_meta back;
		uint8_t hdr[VN_VNET_HDR_LEN];

		g_assert_cmpint(vn_offload_mark(m, &meta), ==, cases[i].want);
		if (cases[i].want == 0) {
			g_autoptr(GByteArray) a = flat(m);
			vn_vnet_hdr_from_mbuf(m, hdr);
			vn_vnet_meta_decode(hdr, &back);
			g_assert_cmpuint(back.flags, ==, meta.flags);
			g_assert_cmpuint(back.gso_type, ==, meta.gso_type);
			g_assert_cmpuint(back.gso_size, ==, meta.gso_size);
			g_assert_cmpuint(back.csum_start, ==, meta.csum_start);
			g_assert_cmpuint(back.csum_offset, ==, meta.csum_offset);
			/* hdr_len: the headers up to the TCP payload */
			if (cases[i].gso)
				g_assert_cmpuint(hdr[2] | hdr[3] << 8, ==, l4 + 32);
			g_assert_cmpmem(a->data, a->len, orig->data, orig->len); /* untouched */
		} else {
			g_assert_cmphex(m->ol_flags, ==, 0);
		}
		rte_pktmbuf_free(m);
	}
	{ /* nothing asked: nothing marked, an all-zero header */
		struct spec s = {.proto = IPPROTO_UDP, .payload = 10};
		size_t l3, l4;
		struct rte_mbuf *m = build(&s, &l3, &l4);
		struct vn_vnet_meta none = {0};
		uint8_t hdr[VN_VNET_HDR_LEN], zero[VN_VNET_HDR_LEN] = {0};
		g_assert_cmpint(vn_offload_mark(m, &none), ==, 0);
		g_assert_cmphex(m->ol_flags, ==, 0);
		vn_vnet_hdr_from_mbuf(m, hdr);
		g_assert_cmpmem(hdr, sizeof(hdr), zero, sizeof(zero));
		/* a checksum offset that is not the TCP/UDP checksum's: refused */
		struct vn_vnet_meta odd = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					   .csum_start = (uint16_t)l4,
					   .csum_offset = 2};
		g_assert_cmpint(vn_offload_mark(m, &odd), ==, -ENOTSUP);
		rte_pktmbuf_free(m);
	}
}

/* The frames of one fill, for test_offq_pass(). */
struct one_fill {
	struct rte_mbuf *m[2];
	struct vn_vnet_meta meta[2];
	uint16_t n;
};

static uint16_t fill_once(void *ctx, struct rte_mbuf **pkts, struct vn_vnet_meta *meta, uint16_t n)
{
	struct one_fill *f = ctx;
	uint16_t k = f->n < n ? f->n : n;

	for (uint16_t i = 0; i < k; i++) {
		pkts[i] = f->m[i];
		meta[i] = f->meta[i];
	}
	f->n = 0;
	return k;
}

/* vn_offq_rx(): with pass a TCP GSO frame crosses whole and a USO one is cut all the same;
 * without, both are cut. */
static void test_offq_pass(void)
{
	for (int pass = 0; pass < 2; pass++) {
		struct spec t = {.proto = IPPROTO_TCP, .payload = 4000};
		struct spec u = {.proto = IPPROTO_UDP, .payload = 3000};
		struct vn_offq q = {0};
		struct one_fill f = {.n = 2};
		struct rte_mbuf *out[32];
		size_t l3, l4t, l4u;
		uint16_t k, total = 0;

		f.m[0] = build(&t, &l3, &l4t);
		f.m[1] = build(&u, &l3, &l4u);
		f.meta[0] = (struct vn_vnet_meta){
		    VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 1000, (uint16_t)l4t, 16};
		f.meta[1] = (struct vn_vnet_meta){
		    VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_UDP_L4, 1000, (uint16_t)l4u, 6};
		while ((k = vn_offq_rx(&q, fill_once, &f, small, out + total,
				       (uint16_t)(G_N_ELEMENTS(out) - total), pass)) > 0)
			total = (uint16_t)(total + k);
		/* TCP: 4 segments, or 1 frame passed on; UDP: 3 segments either way */
		g_assert_cmpuint(total, ==, pass ? 1 + 3 : 4 + 3);
		g_assert_cmpuint(q.passed, ==, (unsigned)pass);
		g_assert_cmpuint(q.gso_frames, ==, pass ? 1u : 2u);
		if (pass) {
			g_assert_true(out[0]->ol_flags & RTE_MBUF_F_TX_TCP_SEG);
			g_assert_cmpuint(out[0]->tso_segsz, ==, 1000);
			g_assert_cmpuint(rte_pktmbuf_pkt_len(out[0]), ==, l4t + 32 + 4000);
		}
		for (uint16_t i = pass; i < total; i++) {
			g_autoptr(GByteArray) a = flat(out[i]);
			g_assert_cmphex(out[i]->ol_flags, ==, 0);
			g_assert_true(ref_verify(a->data, a->len, l3, false, a->data[l3 + 9]));
		}
		rte_pktmbuf_free_bulk(out, total);
		vn_offq_reset(&q);
	}
}

/* vn_cksum_mbuf() against the flat reference, split at every offset of a 0xff-heavy frame. */
static void test_cksum_mbuf_split(void)
{
	uint8_t buf[600];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = i % 5 ? 0xff : (uint8_t)i;
	for (uint16_t cut = 1; cut < sizeof(buf); cut += 37) {
		struct rte_mbuf *a = rte_pktmbuf_alloc(small), *b = rte_pktmbuf_alloc(small);

		g_assert_nonnull(a);
		g_assert_nonnull(b);
		memcpy(rte_pktmbuf_append(a, cut), buf, cut);
		memcpy(rte_pktmbuf_append(b, (uint16_t)(sizeof(buf) - cut)), buf + cut,
		       sizeof(buf) - cut);
		g_assert_cmpint(rte_pktmbuf_chain(a, b), ==, 0);
		for (uint32_t off = 0; off < 40; off += 13) {
			uint16_t got = (uint16_t)vn_cksum_mbuf(a, off, (uint32_t)sizeof(buf) - off);
			uint16_t want =
			    vn_test_ref_fold(vn_test_ref_sum(buf + off, sizeof(buf) - off, 0));

			/* vn_cksum_mbuf() sums native-order words: compare in network order */
			g_assert_cmphex(rte_be_to_cpu_16(got), ==, want);
		}
		g_assert_cmpint(vn_cksum_mbuf(a, 1, sizeof(buf)), ==, -1);
		rte_pktmbuf_free(a);
	}
}

static void test_malformed(void)
{
	struct spec s4 = {.proto = IPPROTO_TCP, .payload = 5000};
	struct spec s6 = {.v6 = true, .proto = IPPROTO_TCP, .payload = 5000};
	size_t l3, l4;
	struct vn_gso g;
	struct {
		const struct spec *s;
		struct vn_vnet_meta meta;
		int want;
	} cases[] = {
	    {&s4, {.gso_type = VIRTIO_NET_HDR_GSO_TCPV6, .gso_size = 1448}, -EINVAL},
	    {&s6, {.gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1448}, -EINVAL},
	    {&s4, {.gso_type = VIRTIO_NET_HDR_GSO_UDP_L4, .gso_size = 1448}, -EINVAL},
	    {&s4, {.gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 0}, -EINVAL},
	    {&s4, {.gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 7}, -EINVAL},
	    {&s4, {.gso_type = VIRTIO_NET_HDR_GSO_UDP, .gso_size = 1448}, -ENOTSUP},
	    {&s4, {.gso_type = 9, .gso_size = 1448}, -ENOTSUP},
	    {&s4,
	     {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 5060, .csum_offset = 16},
	     -EINVAL},
	    {&s4,
	     {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 60, .csum_offset = 5005},
	     -EINVAL},
	    {&s4, {.flags = VIRTIO_NET_HDR_F_DATA_VALID}, VN_OFFLOAD_DONE},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct rte_mbuf *m = build(cases[i].s, &l3, &l4);
		g_test_message("case %zu", i);
		g_assert_cmpint(vn_offload_prepare(m, &cases[i].meta, &g), ==, cases[i].want);
		rte_pktmbuf_free(m);
	}
	/* truncated headers: a GSO header on a frame too short for its IP/TCP headers */
	for (uint16_t len = 0; len < 14 + 20 + 32; len += 3) {
		struct rte_mbuf *m = build(&s4, &l3, &l4);
		struct vn_vnet_meta meta = {.gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 100};
		rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - len));
		g_assert_cmpint(vn_offload_prepare(m, &meta, &g), ==, -EINVAL);
		rte_pktmbuf_free(m);
	}
	/* a TCP header length field pointing past the frame */
	{
		struct rte_mbuf *m = build(&s4, &l3, &l4);
		struct vn_vnet_meta meta = {.gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 100};
		rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - (l4 + 20)));
		g_assert_cmpint(vn_offload_prepare(m, &meta, &g), ==, -EINVAL);
		rte_pktmbuf_free(m);
	}
}

/* Running out of buffers mid-frame is reported, never crashes, and leaks nothing. */
static void test_gso_nomem(void)
{
	struct rte_mempool *tiny = rte_pktmbuf_pool_create("tiny", 7, 0, 0, 2048, 0);
	struct spec s = {.proto = IPPROTO_TCP, .payload = 64000};
	size_t l3, l4;
	struct rte_mbuf *m = build(&s, &l3, &l4), *out[16];
	struct vn_vnet_meta meta = {.gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1448};
	struct vn_gso g;
	int k;

	g_assert_nonnull(tiny);
	g_assert_cmpint(vn_offload_prepare(m, &meta, &g), ==, VN_OFFLOAD_SEGMENT);
	k = vn_gso_next(&g, tiny, out, 16);
	g_assert_cmpint(k, ==, 7);
	g_assert_cmpint(vn_gso_next(&g, tiny, out + 7, 1), ==, -ENOMEM);
	rte_pktmbuf_free_bulk(out, 7);
	g_assert_cmpuint(rte_mempool_avail_count(tiny), ==, 7);
	rte_pktmbuf_free(m);
	rte_mempool_free(tiny);
}

/* vn_raw_cksum() is rte_raw_cksum(): random bytes at every alignment and length up to
 * 3000, and the extremes (all 0xff: the most carries; all zero). */
static void test_raw_cksum(void)
{
	static uint8_t buf[3008];
	GRand *r = g_rand_new_with_seed(3);

	for (int i = 0; i < 20000; i++) {
		size_t off = (size_t)g_rand_int_range(r, 0, 8);
		size_t len = (size_t)(i < 3000 ? i : g_rand_int_range(r, 0, 3001));
		int fill = g_rand_int_range(r, 0, 10);
		for (size_t k = 0; k < len; k++)
			buf[off + k] = fill == 0 ? 0xff : fill == 1 ? 0 : (uint8_t)g_rand_int(r);
		g_assert_cmpuint(vn_raw_cksum(buf + off, len), ==, rte_raw_cksum(buf + off, len));
	}
	g_rand_free(r);
}

static void test_flow_hash(void)
{
	struct spec s = {.proto = IPPROTO_TCP, .payload = 10};
	size_t l3, l4;
	struct rte_mbuf *a = build(&s, &l3, &l4), *b = build(&s, &l3, &l4);
	uint8_t *p = rte_pktmbuf_mtod(b, uint8_t *), t[4];

	/* b = a with addresses and ports swapped: same hash */
	memcpy(t, p + l3 + 12, 4), memcpy(p + l3 + 12, p + l3 + 16, 4), memcpy(p + l3 + 16, t, 4);
	memcpy(t, p + l4, 2), memcpy(p + l4, p + l4 + 2, 2), memcpy(p + l4 + 2, t, 2);
	g_assert_cmpuint(vn_flow_hash(a), ==, vn_flow_hash(b));
	p[l4 + 1] ^= 1; /* another source port: (almost surely) another hash */
	g_assert_cmpuint(vn_flow_hash(a), !=, vn_flow_hash(b));
	rte_pktmbuf_free(a);
	rte_pktmbuf_free(b);
}

static void test_config_key(void)
{
	struct vn_config c;
	g_autoptr(GError) err = NULL;
	const char ok[] = "[vnicd]\nio_uring = no\n", bad[] = "[vnicd]\nio_uring = maybe\n";

	vn_config_defaults(&c);
	g_assert_cmpstr(c.io_uring, ==, "auto");
	g_assert_cmpint(vn_config_load_data(&c, ok, sizeof(ok) - 1, &err), ==, 0);
	g_assert_cmpstr(c.io_uring, ==, "no");
	g_assert_cmpint(vn_config_load_data(&c, bad, sizeof(bad) - 1, &err), ==, -EINVAL);
	g_assert_nonnull(strstr(err->message, "io_uring"));
	vn_config_clear(&c);
}

/* @pay bytes of TCP payload behind 54 bytes of headers; a GSO frame of @mss if @mss */
static struct rte_mbuf *meter_frame(uint32_t pay, uint16_t mss)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(big);

	g_assert_nonnull(m);
	g_assert_nonnull(rte_pktmbuf_append(m, (uint16_t)(54 + pay)));
	if (mss) {
		m->l2_len = 14;
		m->l3_len = 20;
		m->l4_len = 20;
		m->tso_segsz = mss;
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_TCP_SEG;
	}
	return m;
}

/* A meter charges a GSO frame passed on whole the bytes of its segments, headers each, one
 * by one and a burst at once; the lengths handed back (accounting's) stay the frames'. */
static void test_meter_gso(void)
{
	struct vn_meter mt;
	struct rte_mbuf *m[3];
	uint32_t len[3];
	uint64_t tc0;

	g_assert_cmpint(vn_meter_init(&mt, 1000, 0, 0, NULL), ==, 0);
	tc0 = mt.avg.tc;
	m[0] = meter_frame(14480, 1448); /* 10 segments: 9 more headers */
	g_assert_cmpuint(vn_meter_burst(&mt, m, NULL, NULL, 1, mt.avg.time), ==, 1);
	g_assert_cmpuint(tc0 - mt.avg.tc, ==, 14534 + 9 * 54);
	rte_pktmbuf_free(m[0]);
	tc0 = mt.avg.tc;
	m[0] = meter_frame(14481, 1448); /* 11 segments, the last of one byte */
	m[1] = meter_frame(1448, 0);	 /* plain: its length */
	m[2] = meter_frame(100, 1448);	 /* one segment: its length */
	for (int i = 0; i < 3; i++)
		len[i] = rte_pktmbuf_pkt_len(m[i]);
	g_assert_cmpuint(vn_meter_burst(&mt, m, len, NULL, 3, mt.avg.time), ==, 3);
	g_assert_cmpuint(tc0 - mt.avg.tc, ==, (14535 + 10 * 54) + 1502 + 154);
	g_assert_cmpuint(len[0], ==, 14535);
	g_assert_cmpuint(len[1], ==, 1502);
	g_assert_cmpuint(len[2], ==, 154);
	rte_pktmbuf_free_bulk(m, 3);
	/* charged more than the bucket holds: dropped, where its length alone would pass */
	mt.avg.tc = 14534 + 100;
	m[0] = meter_frame(14480, 1448);
	g_assert_cmpuint(vn_meter_burst(&mt, m, NULL, NULL, 1, mt.avg.time), ==, 0);
	m[0] = meter_frame(14480, 0);
	g_assert_cmpuint(vn_meter_burst(&mt, m, NULL, NULL, 1, mt.avg.time), ==, 1);
	rte_pktmbuf_free(m[0]);
}

int main(int argc, char **argv)
{
	int rc;

	g_test_init(&argc, &argv, NULL);
	vn_test_eal_init();
	big = rte_pktmbuf_pool_create("big", 64, 0, 0, 65535, 0);
	small = rte_pktmbuf_pool_create("small", 4096, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	g_assert_nonnull(big);
	g_assert_nonnull(small);
	g_test_add_func("/offload/csum_fill", test_csum_fill);
	g_test_add_func("/offload/raw_cksum", test_raw_cksum);
	g_test_add_func("/offload/gso", test_gso);
	g_test_add_func("/offload/gso_chained", test_gso_chained);
	g_test_add_func("/offload/gso_odd_split", test_gso_odd_split);
	g_test_add_func("/offload/gso_chained_source", test_gso_chained_source);
	g_test_add_func("/offload/vhost_meta", test_vhost_meta);
	g_test_add_func("/offload/vhost_pass", test_vhost_pass);
	g_test_add_func("/offload/tap_pass", test_tap_pass);
	g_test_add_func("/offload/offq_pass", test_offq_pass);
	g_test_add_func("/offload/cksum_mbuf_split", test_cksum_mbuf_split);
	g_test_add_func("/offload/malformed", test_malformed);
	g_test_add_func("/offload/gso_nomem", test_gso_nomem);
	g_test_add_func("/offload/flow_hash", test_flow_hash);
	g_test_add_func("/offload/config_key", test_config_key);
	g_test_add_func("/offload/meter_gso", test_meter_gso);
	rc = g_test_run();
	g_assert_cmpuint(rte_mempool_in_use_count(small), ==, 0);
	g_assert_cmpuint(rte_mempool_in_use_count(big), ==, 0);
	rte_mempool_free(big);
	rte_mempool_free(small);
	rte_eal_cleanup();
	return rc;
}

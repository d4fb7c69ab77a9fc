/* SPDX-License-Identifier: MIT */
/* Tunnel wire formats (policy/tunnel.c): round trips, known bytes, every drop reason, ICMP. */
#include <netinet/in.h>
#include <string.h>

#include <glib.h>
#include <rte_mbuf.h>

#include "testutil.h"
#include "vnicd/tunnel.h"

static struct rte_mempool *mp;

static const struct vn_tun_addr a4 = {false, {192, 0, 2, 1}}, b4 = {false, {192, 0, 2, 2}};
static const struct vn_tun_addr a6 = {true, {0x20, 0x01, 0x0d, 0xb8, [15] = 1}},
				b6 = {true, {0x20, 0x01, 0x0d, 0xb8, [15] = 2}};
static const struct rte_ether_addr vtep_a = {{2, 0xaa, 0, 0, 0, 1}},
				   vtep_b = {{2, 0xbb, 0, 0, 0, 2}};
static const uint16_t ports[VN_TUN__MAX] = {VN_TUN_VXLAN_PORT, VN_TUN_GENEVE_PORT, 0};

/* ---- naive reference sums (RFC 1071) over flat bytes ---- */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}

/* The transport checksum over flat IPv6/IPv4 datagram @ip (header @ihl bytes) verifies. */
static bool ref_l4_ok(const uint8_t *ip, size_t ihl, bool v6, uint8_t proto, size_t l4len)
{
	uint32_t s = v6 ? vn_test_ref_sum(ip + 8, 32, 0) : vn_test_ref_sum(ip + 12, 8, 0);

	return vn_test_ref_fold(vn_test_ref_sum(ip + ihl, l4len, s + proto + (uint32_t)l4len)) ==
	       0xffff;
}

/* ---- mbufs ---- */

/* An mbuf of @len bytes @p, in two segments split at @split when it is inside. */
static struct rte_mbuf *mk(const uint8_t *p, size_t len, size_t split)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp), *t;

	g_assert_nonnull(m);
	if (split == 0 || split >= len) {
		memcpy(rte_pktmbuf_append(m, (uint16_t)len), p, len);
		return m;
	}
	memcpy(rte_pktmbuf_append(m, (uint16_t)split), p, split);
	t = rte_pktmbuf_alloc(mp);
	g_assert_nonnull(t);
	memcpy(rte_pktmbuf_append(t, (uint16_t)(len - split)), p + split, len - split);
	g_assert_cmpint(rte_pktmbuf_chain(m, t), ==, 0);
	return m;
}

static GByteArray *flat(const struct rte_mbuf *m)
{
	GByteArray *a = g_byte_array_new();

	for (const struct rte_mbuf *s = m; s; s = s->next)
		g_byte_array_append(a, rte_pktmbuf_mtod(s, const uint8_t *), s->data_len);
	g_assert_cmpuint(a->len, ==, rte_pktmbuf_pkt_len(m));
	return a;
}

static void assert_bytes(const struct rte_mbuf *m, const GByteArray *want)
{
	g_autoptr(GByteArray) a = flat(m);

	g_assert_cmpmem(a->data, a->len, want->data, want->len);
}

/* ---- inner frames ---- */

struct inner {
	bool v6, vlan, arp;
	uint8_t tos, proto;
	uint16_t sport;
	uint32_t payload;
	bool no_df;
	uint8_t icmp_type;
};

static GByteArray *inner_frame(const struct inner *s)
{
	GByteArray *a = g_byte_array_new();
	size_t l3 = s->vlan ? 18 : 14, ihl = s->v6 ? 40 : 20, l4h = 8;
	size_t len = s->arp ? 42 : l3 + ihl + l4h + s->payload;
	uint8_t *p;

	g_byte_array_set_size(a, (guint)len);
	p = a->data;
	memset(p, 0, len);
	memcpy(p, (uint8_t[]){2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1}, 12);
	if (s->vlan)
		memcpy(p + 12, (uint8_t[]){0x81, 0x00, 0x20, 0x07}, 4);
	if (s->arp) {
		put16(p + l3 - 2, 0x0806);
		return a;
	}
	put16(p + l3 - 2, s->v6 ? 0x86dd : 0x0800);
	if (s->v6) {
		p[l3] = (uint8_t)(0x60 | s->tos >> 4), p[l3 + 1] = (uint8_t)(s->tos << 4);
		put16(p + l3 + 4, (uint32_t)(l4h + s->payload));
		p[l3 + 6] = s->proto, p[l3 + 7] = 64;
		p[l3 + 8] = 0xfd, p[l3 + 23] = 1, p[l3 + 24] = 0xfd, p[l3 + 39] = 2;
	} else {
		p[l3] = 0x45, p[l3 + 1] = s->tos;
		put16(p + l3 + 2, (uint32_t)(len - l3));
		p[l3 + 6] = s->no_df ? 0 : 0x40, p[l3 + 8] = 64, p[l3 + 9] = s->proto;
		memcpy(p + l3 + 12, (uint8_t[]){10, 0, 0, 1, 10, 0, 0, 2}, 8);
		put16(p + l3 + 10, (uint16_t)~vn_test_ref_fold(vn_test_ref_sum(p + l3, 20, 0)));
	}
	put16(p + l3 + ihl, s->sport), put16(p + l3 + ihl + 2, 80);
	p[l3 + ihl] = s->icmp_type ? s->icmp_type : p[l3 + ihl];
	for (size_t i = l3 + ihl + l4h; i < len; i++)
		p[i] = (uint8_t)(i * 7 + (i >> 8));
	return a;
}

static GByteArray *udp4_frame(uint16_t sport)
{
	return inner_frame(&(struct inner){.proto = IPPROTO_UDP, .sport = sport, .payload = 50});
}

/* ---- encapsulation from VTEP A to VTEP B ---- */

static void tmpl(struct vn_tun_tmpl *t, int type, bool v6)
{
	g_assert_cmpint(vn_tun_tmpl_build(t, type, v6 ? &a6 : &a4, v6 ? &b6 : &b4, ports[type],
					  &vtep_a, &vtep_b),
			==, 0);
}

static struct vn_tun_local local_b(int type, bool v6)
{
	return (struct vn_tun_local){
	    .type = (uint8_t)type, .addr = v6 ? b6 : b4, .dstport = ports[type]};
}

/* The flat encapsulation of flat inner frame @in. */
static GByteArray *encap_flat(int type, bool v6, uint32_t vni, const GByteArray *in)
{
	struct vn_tun_tmpl t;
	struct rte_mbuf *m;
	GByteArray *a;

	tmpl(&t, type, v6);
	m = vn_tun_encap(&t, vni, mk(in->data, in->len, 0), mp);
	g_assert_nonnull(m);
	a = flat(m);
	rte_pktmbuf_free(m);
	return a;
}

static enum vn_tun_err parse_flat(int type, bool v6, const GByteArray *o, size_t split,
				  struct vn_tun_rx *rx)
{
	struct vn_tun_local loc = local_b(type, v6);
	struct rte_mbuf *m = mk(o->data, o->len, split);
	enum vn_tun_err e = vn_tun_parse(m, &loc, rx);

	rte_pktmbuf_free(m);
	return e;
}

/* Parse and decapsulate @m (consumed) at B; its inner frame must be @want. */
static void rx_check(int type, bool v6, struct rte_mbuf *m, uint32_t vni, const GByteArray *want)
{
	struct vn_tun_local loc = local_b(type, v6);
	struct vn_tun_rx rx;

	g_assert_cmpint(vn_tun_parse(m, &loc, &rx), ==, VN_TUN_OK);
	g_assert_cmpuint(rx.vni, ==, vni);
	g_assert_true(rx.remote.v6 == v6);
	g_assert_cmpmem(rx.remote.a, v6 ? 16 : 4, v6 ? a6.a : a4.a, v6 ? 16 : 4);
	g_assert_cmpuint(rx.inner_len, ==, want->len);
	g_assert_cmpint(vn_tun_decap(m, &rx), ==, VN_TUN_OK);
	assert_bytes(m, want);
	rte_pktmbuf_free(m);
}

/* A mutated copy of IPv4 tunnel frame @o: up to three random bytes of its outer headers
 * changed, its IPv4 header checksum then made right or not. */
static GByteArray *mutate(GRand *r, const GByteArray *o, size_t hdrs)
{
	GByteArray *f = g_byte_array_new();

	g_byte_array_append(f, o->data, o->len);
	for (int k = g_rand_int_range(r, 0, 4); k > 0; k--)
		f->data[g_rand_int_range(r, 12, (gint32)hdrs)] = (uint8_t)g_rand_int(r);
	if (g_rand_int_range(r, 0, 8) == 0) /* a UDP checksum */
		f->data[40] = (uint8_t)g_rand_int(r);
	if (g_rand_int_range(r, 0, 4) != 0) {
		put16(f->data + 24, 0);
		put16(f->data + 24,
		      (uint16_t)~vn_test_ref_fold(vn_test_ref_sum(f->data + 14, 20, 0)));
	}
	if (g_rand_int_range(r, 0, 8) == 0) /* cut short */
		g_byte_array_set_size(f, (guint)g_rand_int_range(r, 14, (gint32)f->len));
	return f;
}

/* The in-place parse of an IPv4 tunnel frame (first segment holding the outer headers)
 * decides and reports as the general path does (the same frame with a 13-byte first
 * segment): valid frames and random mutations of them, every tunnel type. */
static void test_parse_paths(void)
{
	g_autoptr(GByteArray) in = udp4_frame(4321);
	GRand *r = g_rand_new_with_seed(7);
	unsigned ok = 0;

	for (int type = 0; type < VN_TUN__MAX; type++) {
		g_autoptr(GByteArray) o = encap_flat(type, false, 0xabcdef, in);
		size_t hdrs = o->len - in->len + 2;
		for (int i = 0; i < 3000; i++) {
			g_autoptr(GByteArray) f = i ? mutate(r, o, hdrs) : g_byte_array_new();
			struct vn_tun_rx a, b;
			enum vn_tun_err ea, eb;
			if (!i)
				g_byte_array_append(f, o->data, o->len);
			memset(&a, 0, sizeof(a));
			memset(&b, 0, sizeof(b));
			ea = parse_flat(type, false, f, 0, &a);
			eb = parse_flat(type, false, f, 13, &b);
			g_assert_cmpint(ea, ==, eb);
			if (ea != VN_TUN_OK)
				continue;
			ok++;
			g_assert_cmpuint(a.vni, ==, b.vni);
			g_assert_cmpuint(a.inner_off, ==, b.inner_off);
			g_assert_cmpuint(a.inner_len, ==, b.inner_len);
			g_assert_cmpuint(a.outer_tos, ==, b.outer_tos);
			g_assert_true(!a.remote.v6 && !b.remote.v6);
			g_assert_cmpmem(a.remote.a, 4, b.remote.a, 4);
		}
	}
	g_assert_cmpuint(ok, >, 1000); /* the in-place path was taken */
	g_rand_free(r);
}

static void test_round_trip(void)
{
	g_autoptr(GByteArray) in = udp4_frame(1234);
	g_autoptr(GByteArray) in6 =
	    inner_frame(&(struct inner){.v6 = true, .vlan = true, .proto = 6, .payload = 333});

	for (int type = 0; type < VN_TUN__MAX; type++)
		for (int v6 = 0; v6 < 2; v6++)
			for (int how = 0; how < 4; how++) {
				const GByteArray *f = how & 1 ? in6 : in;
				struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
				struct vn_tun_tmpl t;

				tmpl(&t, type, v6);
				if (how == 2) { /* no headroom: a header mbuf in front */
					m->data_off = 0;
					memcpy(rte_pktmbuf_append(m, (uint16_t)f->len), f->data,
					       f->len);
				} else {
					rte_pktmbuf_free(m);
					m = mk(f->data, f->len, how == 3 ? 20 : 0);
				}
				m = vn_tun_encap(&t, 0xabcdef, m, mp);
				g_assert_nonnull(m);
				g_assert_cmpuint(m->nb_segs, ==, how >= 2 ? 2 : 1);
				g_assert_cmpuint(m->pkt_len, ==, f->len + t.len);
				rx_check(type, v6, m, 0xabcdef, f);
			}
	g_assert_cmpuint(rte_mempool_in_use_count(mp), ==, 0);
}

/* Every split of an encapsulated frame in two segments parses and decapsulates alike. */
static void test_segments(void)
{
	g_autoptr(GByteArray) in = udp4_frame(99);

	for (int type = 0; type < VN_TUN__MAX; type++)
		for (int v6 = 0; v6 < 2; v6++) {
			g_autoptr(GByteArray) o = encap_flat(type, v6, 77, in);

			for (size_t split = 1; split < o->len; split++)
				rx_check(type, v6, mk(o->data, o->len, split), 77, in);
		}
	g_assert_cmpuint(rte_mempool_in_use_count(mp), ==, 0);
}

static void check_ip(const uint8_t *o, bool v6, uint8_t proto, size_t len)
{
	g_assert_cmpmem(o, 6, vtep_b.addr_bytes, 6);
	g_assert_cmpmem(o + 6, 6, vtep_a.addr_bytes, 6);
	g_assert_cmpuint(get16(o + 12), ==, v6 ? 0x86dd : 0x0800);
	if (v6) {
		g_assert_cmpuint(o[14] >> 4, ==, 6);
		g_assert_cmpuint(get16(o + 18), ==, len - 54);
		g_assert_cmpuint(o[20], ==, proto);
		g_assert_cmpuint(o[21], ==, 64);
		g_assert_cmpmem(o + 22, 16, a6.a, 16);
		g_assert_cmpmem(o + 38, 16, b6.a, 16);
		return;
	}
	g_assert_cmpmem(o + 14, 4, ((uint8_t[]){0x45, 0, (len - 14) >> 8, (uint8_t)(len - 14)}), 4);
	g_assert_cmpuint(o[20], ==, 0x40); /* DF */
	g_assert_cmpuint(o[22], ==, 64);
	g_assert_cmpuint(o[23], ==, proto);
	g_assert_cmpuint(vn_test_ref_fold(vn_test_ref_sum(o + 14, 20, 0)), ==, 0xffff);
	g_assert_cmpmem(o + 26, 4, a4.a, 4);
	g_assert_cmpmem(o + 30, 4, b4.a, 4);
}

static void test_known_bytes(void)
{
	g_autoptr(GByteArray) in = udp4_frame(5555);
	struct rte_mbuf *m = mk(in->data, in->len, 0);
	uint32_t hash = vn_tun_flow_hash(m), vni = 0x123456;

	rte_pktmbuf_free(m);

	for (int type = 0; type < VN_TUN__MAX; type++)
		for (int v6 = 0; v6 < 2; v6++) {
			g_autoptr(GByteArray) a = encap_flat(type, v6, vni, in);
			const uint8_t *o = a->data, *l4 = o + (v6 ? 54 : 34);

			check_ip(o, v6, type == VN_TUN_NVGRE ? IPPROTO_GRE : IPPROTO_UDP, a->len);
			g_assert_cmpmem(o + a->len - in->len, in->len, in->data, in->len);
			if (type == VN_TUN_NVGRE) {
				g_assert_cmpmem(l4, 4, ((uint8_t[]){0x20, 0x00, 0x65, 0x58}), 4);
				g_assert_cmpmem(l4 + 4, 4,
						((uint8_t[]){0x12, 0x34, 0x56, (uint8_t)hash}), 4);
				continue;
			}
			g_assert_cmpuint(get16(l4), ==, 49152 + hash % 16384);
			g_assert_cmpuint(get16(l4 + 2), ==, ports[type]);
			g_assert_cmpuint(get16(l4 + 4), ==, a->len - (size_t)(l4 - o));
			if (!v6)
				g_assert_cmpuint(get16(l4 + 6), ==, 0);
			if (type == VN_TUN_VXLAN)
				g_assert_cmpmem(l4 + 8, 8,
						((uint8_t[]){8, 0, 0, 0, 0x12, 0x34, 0x56, 0}), 8);
			else
				g_assert_cmpmem(
				    l4 + 8, 8, ((uint8_t[]){0, 0, 0x65, 0x58, 0x12, 0x34, 0x56, 0}),
				    8);
		}
}

static uint16_t sport_of(int type, const GByteArray *in)
{
	g_autoptr(GByteArray) o = encap_flat(type, false, 1, in);

	return type == VN_TUN_NVGRE ? o->data[34 + 7] : get16(o->data + 34);
}

static uint32_t hash_flat(const GByteArray *f)
{
	struct rte_mbuf *m = mk(f->data, f->len, 0);
	uint32_t h = vn_tun_flow_hash(m);

	rte_pktmbuf_free(m);
	return h;
}

/* The in-place hash of an untagged IPv4 frame (registers) is flow_hash_any()'s (a chain
 * whose first segment is too short for it): random addresses, protocols, ports, fragments. */
static void test_hash_paths(void)
{
	static const uint8_t protos[] = {IPPROTO_UDP, IPPROTO_TCP, IPPROTO_ICMP, IPPROTO_SCTP, 99};
	GRand *r = g_rand_new_with_seed(12);

	for (int i = 0; i < 2000; i++) {
		struct inner s = {.proto = protos[g_rand_int_range(r, 0, 5)],
				  .sport = (uint16_t)g_rand_int(r),
				  .payload = (uint32_t)g_rand_int_range(r, 0, 40)};
		g_autoptr(GByteArray) f = inner_frame(&s);
		struct rte_mbuf *a, *b;

		for (int k = 0; k < 12; k++) /* MACs */
			f->data[k] = (uint8_t)g_rand_int(r);
		for (int k = 26; k < 38; k++) /* addresses, ports */
			f->data[k] = (uint8_t)g_rand_int(r);
		if (g_rand_int_range(r, 0, 4) == 0) /* a fragment: no ports */
			put16(f->data + 20, g_rand_int_range(r, 0, 2) ? 0x2000 : 0x0010);
		a = mk(f->data, f->len, 0);
		b = mk(f->data, f->len, 20);
		g_assert_cmpuint(vn_tun_flow_hash(a), ==, vn_tun_flow_hash(b));
		rte_pktmbuf_free(a);
		rte_pktmbuf_free(b);
	}
	g_rand_free(r);
}

static void test_source_ports(void)
{
	g_autoptr(GHashTable) seen = g_hash_table_new(NULL, NULL);
	g_autoptr(GHashTable) ids = g_hash_table_new(NULL, NULL);
	struct inner s6 = {.v6 = true, .proto = IPPROTO_TCP, .sport = 1, .payload = 10};
	g_autoptr(GByteArray) t6 = NULL, u6 = inner_frame(&s6), tag = NULL, untag = NULL;
	uint32_t h;

	for (uint16_t i = 0; i < 256; i++) {
		g_autoptr(GByteArray) in = udp4_frame((uint16_t)(1000 + i));
		uint16_t sp = sport_of(VN_TUN_VXLAN, in);

		g_assert_cmpuint(sp, >=, 49152);
		g_assert_cmpuint(sp, ==, sport_of(VN_TUN_GENEVE, in)); /* stable per flow */
		g_hash_table_add(seen, GUINT_TO_POINTER(sp));
		g_hash_table_add(ids, GUINT_TO_POINTER(sport_of(VN_TUN_NVGRE, in)));
	}
	g_assert_cmpuint(g_hash_table_size(seen), >, 240);
	g_assert_cmpuint(g_hash_table_size(ids), >, 128);
	/* the ports of IPv6 flows count too; VLAN tags do not */
	s6.sport = 2;
	t6 = inner_frame(&s6);
	g_assert_cmpuint(hash_flat(t6), !=, hash_flat(u6));
	s6.vlan = true;
	tag = inner_frame(&s6);
	g_assert_cmpuint(hash_flat(tag), ==, hash_flat(t6));
	untag = udp4_frame(1);
	h = hash_flat(untag);
	g_assert_cmpuint(h, !=, hash_flat(t6));
	g_assert_cmpuint(h, ==, hash_flat(untag));
	untag->data[5] ^= 1; /* another MAC pair */
	g_assert_cmpuint(hash_flat(untag), !=, h);
}

/* After editing flat outer frame @o (UDP or GRE at @l4): lengths and checksums again. */
static void refix(GByteArray *o, int type, bool v6, size_t l4)
{
	uint8_t *p = o->data;
	size_t len = o->len;

	if (v6) {
		put16(p + 18, (uint32_t)(len - 54));
	} else {
		put16(p + 16, (uint32_t)(len - 14));
		put16(p + 24, 0);
		put16(p + 24,
		      (uint16_t)~vn_test_ref_fold(vn_test_ref_sum(p + 14, (p[14] & 0xfu) * 4, 0)));
	}
	if (type == VN_TUN_NVGRE || len < l4 + 8)
		return;
	put16(p + l4 + 4, (uint32_t)(len - l4));
	if (v6) {
		uint16_t c;

		put16(p + l4 + 6, 0);
		c = (uint16_t)~vn_test_ref_fold(vn_test_ref_sum(
		    p + l4, len - l4, vn_test_ref_sum(p + 22, 32, 0) + 17 + (uint32_t)(len - l4)));
		put16(p + l4 + 6, c ? c : 0xffff);
	}
}

static void insert(GByteArray *o, size_t at, const uint8_t *b, size_t n)
{
	g_array_insert_vals((GArray *)o, (guint)at, b, (guint)n);
}

static void test_checksums(void)
{
	g_autoptr(GByteArray) in = udp4_frame(4242);
	struct vn_tun_rx rx;

	for (int type = 0; type < 2; type++) {
		g_autoptr(GByteArray) o6 = encap_flat(type, true, 3, in);
		g_autoptr(GByteArray) o4 = encap_flat(type, false, 3, in);
		uint16_t c;

		/* IPv6: computed over the whole datagram, checked by a naive sum */
		g_assert_cmpuint(get16(o6->data + 60), !=, 0);
		g_assert_true(ref_l4_ok(o6->data + 14, 40, true, 17, o6->len - 54));
		o6->data[o6->len - 1] ^= 0x40;
		g_assert_cmpint(parse_flat(type, true, o6, 0, &rx), ==, VN_TUN_BAD_CSUM);
		o6->data[o6->len - 1] ^= 0x40;
		put16(o6->data + 60, 0); /* zero-checksum IPv6 tunnels are refused */
		g_assert_cmpint(parse_flat(type, true, o6, 0, &rx), ==, VN_TUN_BAD_CSUM);
		/* IPv4: 0 accepted, a right one accepted, a wrong one refused */
		g_assert_cmpint(parse_flat(type, false, o4, 0, &rx), ==, VN_TUN_OK);
		c = (uint16_t)~vn_test_ref_fold(vn_test_ref_sum(
		    o4->data + 34, o4->len - 34,
		    vn_test_ref_sum(o4->data + 26, 8, 0) + 17 + (uint32_t)(o4->len - 34)));
		put16(o4->data + 40, c);
		for (size_t split = 1; split < o4->len; split += 7)
			g_assert_cmpint(parse_flat(type, false, o4, split, &rx), ==, VN_TUN_OK);
		put16(o4->data + 40, (uint16_t)(c + 1));
		g_assert_cmpint(parse_flat(type, false, o4, 0, &rx), ==, VN_TUN_BAD_CSUM);
		put16(o4->data + 40, c);
		o4->data[24] ^= 1; /* the IPv4 header checksum */
		g_assert_cmpint(parse_flat(type, false, o4, 0, &rx), ==, VN_TUN_BAD_CSUM);
	}
}

/* Fill in the transport checksum of flat inner frame @a (untagged; @proto TCP or UDP). */
static void fill_l4(GByteArray *a, bool v6, uint8_t proto)
{
	uint8_t *ip = a->data + 14;
	size_t ihl = v6 ? 40 : 20, l4len = v6 ? get16(ip + 4) : get16(ip + 2) - ihl;
	size_t co = 14 + ihl + (proto == IPPROTO_TCP ? 16 : 6);
	uint32_t s = v6 ? vn_test_ref_sum(ip + 8, 32, 0) : vn_test_ref_sum(ip + 12, 8, 0);
	uint16_t c;

	put16(a->data + co, 0);
	c = (uint16_t)~vn_test_ref_fold(
	    vn_test_ref_sum(ip + ihl, l4len, s + proto + (uint32_t)l4len));
	put16(a->data + co, c == 0 && proto == IPPROTO_UDP ? 0xffff : c);
}

/* Encapsulate flat inner frame @in over IPv6 (a first segment of @split bytes, or a shared
 * mbuf: a header mbuf chained in front); Return: whether the outer UDP checksum verifies by
 * a naive sum over the whole datagram, and the parse's verdict in *@e. */
static bool lco_case(int type, const GByteArray *in, size_t split, bool shared, enum vn_tun_err *e)
{
	struct vn_tun_local loc = local_b(type, true);
	struct rte_mbuf *m = mk(in->data, in->len, split), *o;
	g_autoptr(GByteArray) f = NULL;
	struct vn_tun_tmpl t;
	struct vn_tun_rx rx;

	tmpl(&t, type, true);
	for (struct rte_mbuf *s = m; shared && s; s = s->next)
		rte_mbuf_refcnt_update(s, 1); /* one more reference, every segment */
	o = vn_tun_encap(&t, 5, m, mp);
	g_assert_nonnull(o);
	f = flat(o);
	*e = vn_tun_parse(o, &loc, &rx);
	rte_pktmbuf_free(o);
	if (shared)
		rte_pktmbuf_free(m);
	return ref_l4_ok(f->data + 14, 40, true, IPPROTO_UDP, f->len - 54);
}

/*
 * IPv6 outer checksums from the inner checksum (LCO): for inner TCP and UDP over IPv4 and
 * IPv6 with a valid checksum, padded or not, odd lengths, inner frames in pieces and shared,
 * the outer checksum verifies over the whole datagram; frames without such a checksum (UDP
 * with none, a fragment, ICMP, a VLAN tag) are summed whole and verify too; an inner
 * checksum that is wrong gives an outer one that is wrong (the far end drops the frame).
 */
static void test_lco(void)
{
	static const uint32_t payloads[] = {2, 3, 12, 13, 100, 1001, 1400};
	enum vn_tun_err e;

	for (int type = 0; type < 2; type++) /* VXLAN, Geneve: NVGRE has no UDP */
		for (int v6 = 0; v6 < 2; v6++)
			for (int tcp = 0; tcp < 2; tcp++)
				for (size_t i = 0; i < G_N_ELEMENTS(payloads); i++) {
					uint8_t proto = tcp ? IPPROTO_TCP : IPPROTO_UDP;
					g_autoptr(GByteArray) in = inner_frame(&(struct inner){
					    .v6 = v6,
					    .proto = proto,
					    .sport = 7,
					    .payload = payloads[i] + (tcp ? 12 : 0)});
					size_t pad = in->len < 60 ? 60 - in->len : 0;
					fill_l4(in, v6, proto);
					for (size_t k = 0; k < pad; k++) /* Ethernet padding */
						g_byte_array_append(
						    in, (uint8_t[]){(uint8_t)(0xa5 + k)}, 1);
					for (size_t split = 0; split < in->len; split += 37)
						for (int shared = 0; shared < 2; shared++) {
							g_assert_true(
							    lco_case(type, in, split, shared, &e));
							g_assert_cmpint(e, ==, VN_TUN_OK);
						}
					in->data[in->len - pad - 1] ^=
					    0x10; /* the payload, not the sum */
					g_assert_false(lco_case(type, in, 0, false, &e));
					g_assert_cmpint(e, ==, VN_TUN_BAD_CSUM);
				}
	for (int type = 0; type < 2; type++) { /* summed whole: they verify as they are */
		g_autoptr(GByteArray) udp0 = udp4_frame(9); /* UDP over IPv4 without a checksum */
		g_autoptr(GByteArray) frag =
		    inner_frame(&(struct inner){.proto = IPPROTO_TCP, .sport = 7, .payload = 40});
		g_autoptr(GByteArray) icmp = inner_frame(
		    &(struct inner){.proto = IPPROTO_ICMP, .payload = 30, .icmp_type = 8});
		g_autoptr(GByteArray) vlan = inner_frame(
		    &(struct inner){.vlan = true, .proto = IPPROTO_TCP, .sport = 7, .payload = 40});
		put16(frag->data + 20, 0x2001); /* MF, offset 8: its TCP checksum is garbage */
		for (int k = 0; k < 4; k++) {
			const GByteArray *a = k == 0 ? udp0 : k == 1 ? frag : k == 2 ? icmp : vlan;
			g_assert_true(lco_case(type, a, 0, false, &e));
			g_assert_cmpint(e, ==, VN_TUN_OK);
		}
	}
	g_assert_cmpuint(rte_mempool_in_use_count(mp), ==, 0);
}

static void test_shared(void)
{
	g_autoptr(GByteArray) in = udp4_frame(31);

	for (int type = 0; type < VN_TUN__MAX; type++)
		for (int v6 = 0; v6 < 2; v6++)
			for (int indirect = 0; indirect < 2; indirect++) {
				struct rte_mbuf *m = mk(in->data, in->len, 0), *c = m, *o;
				uint16_t off = m->data_off;
				struct vn_tun_tmpl t;
				struct vn_tun_rx rx;
				struct vn_tun_local loc = local_b(type, v6);

				tmpl(&t, type, v6);
				if (indirect)
					c = rte_pktmbuf_clone(m, mp);
				else
					rte_mbuf_refcnt_update(m, 1);
				o = vn_tun_encap(&t, 9, c, mp);
				g_assert_true(o != m && o != c && o->next == c);
				g_assert_cmpuint(o->pkt_len, ==, in->len + t.len);
				g_assert_cmpuint(m->data_off, ==, off);
				g_assert_cmpuint(m->pkt_len, ==, in->len);
				g_assert_cmpuint(m->nb_segs, ==, 1);
				assert_bytes(m, in);
				g_assert_cmpint(vn_tun_parse(o, &loc, &rx), ==, VN_TUN_OK);
				g_assert_cmpuint(rx.inner_off, ==, t.len);
				rte_pktmbuf_free(o);
				g_assert_cmpuint(rte_mbuf_refcnt_read(m), ==, 1);
				assert_bytes(m, in);
				rte_pktmbuf_free(m);
			}
	g_assert_cmpuint(rte_mempool_in_use_count(mp), ==, 0);
}

static void test_no_mbuf(void)
{
	struct rte_mempool *none = rte_pktmbuf_pool_create("none", 1, 0, 0, 256, 0);
	struct rte_mbuf *hold = rte_pktmbuf_alloc(none);
	g_autoptr(GByteArray) in = udp4_frame(1);
	struct rte_mbuf *m = mk(in->data, in->len, 0);
	struct vn_tun_tmpl t;

	g_assert_nonnull(hold);
	tmpl(&t, VN_TUN_VXLAN, false);
	rte_mbuf_refcnt_update(m, 1);
	g_assert_null(vn_tun_encap(&t, 1, m, none));
	g_assert_cmpuint(rte_mbuf_refcnt_read(m), ==, 1); /* the reference passed was dropped */
	assert_bytes(m, in);
	rte_pktmbuf_free(m);
	rte_pktmbuf_free(hold);
	rte_mempool_free(none);
}

#define EXPECT(want, edit)                                                                         \
	do {                                                                                       \
		g_autoptr(GByteArray) c = g_byte_array_new();                                      \
		struct vn_tun_rx rx;                                                               \
		g_byte_array_append(c, o->data, o->len);                                           \
		edit;                                                                              \
		g_assert_cmpint(parse_flat(type, v6, c, 0, &rx), ==, want);                        \
	} while (0)

static void errors_common(int type, bool v6, const GByteArray *o)
{
	size_t l4 = v6 ? 54 : 34, tun = l4 + (type == VN_TUN_NVGRE ? 0 : 8), inner = tun + 8;
	struct vn_tun_local other = local_b(type, !v6);
	struct rte_mbuf *m = mk(o->data, o->len, 0);
	struct vn_tun_rx rx0;

	g_assert_cmpint(vn_tun_parse(m, &other, &rx0), ==, VN_TUN_NOT_MINE);
	rte_pktmbuf_free(m);
	EXPECT(VN_TUN_OK, (void)0);
	EXPECT(VN_TUN_NOT_MINE, g_byte_array_set_size(c, 14));
	EXPECT(VN_TUN_NOT_MINE, c->data[v6 ? 53 : 33] ^= 1); /* another address */
	EXPECT(VN_TUN_NOT_MINE, (c->data[v6 ? 20 : 23] = 6, refix(c, type, v6, l4)));
	EXPECT(VN_TUN_NOT_MINE, put16(c->data + 12, 0x0806));
	EXPECT(VN_TUN_TRUNC, g_byte_array_set_size(c, (guint)inner));
	for (size_t cut = l4; cut < inner; cut += 4) { /* the IP length says more */
		EXPECT(VN_TUN_TRUNC, g_byte_array_set_size(c, (guint)cut));
		EXPECT(VN_TUN_TRUNC,
		       (g_byte_array_set_size(c, (guint)cut), refix(c, type, v6, l4)));
	}
	EXPECT(VN_TUN_INNER_SHORT,
	       (g_byte_array_set_size(c, (guint)inner + 13), refix(c, type, v6, l4)));
	EXPECT(VN_TUN_OK, (g_byte_array_set_size(c, (guint)inner + 14), refix(c, type, v6, l4)));
	EXPECT(VN_TUN_OK, g_byte_array_append(c, (uint8_t[6]){0}, 6)); /* Ethernet padding */
	if (!v6) {
		EXPECT(VN_TUN_BAD_CSUM, c->data[25] ^= 1);
		EXPECT(VN_TUN_OUTER_FRAG, (c->data[20] |= 0x20, refix(c, type, v6, l4)));
		/* a later fragment: GRE is still ours, a UDP port cannot be seen */
		EXPECT(type == VN_TUN_NVGRE ? VN_TUN_OUTER_FRAG : VN_TUN_NOT_MINE,
		       (c->data[21] = 5, refix(c, type, v6, l4)));
	} else {
		uint8_t fh[8] = {o->data[20], 0, 0, 1, 0, 0, 0, 9};

		EXPECT(VN_TUN_OUTER_FRAG,
		       (insert(c, 54, fh, 8), c->data[20] = 44, refix(c, type, v6, l4 + 8)));
		fh[3] = 8 << 3;
		EXPECT(type == VN_TUN_NVGRE ? VN_TUN_OUTER_FRAG : VN_TUN_NOT_MINE,
		       (insert(c, 54, fh, 8), c->data[20] = 44, refix(c, type, v6, l4 + 8)));
		EXPECT(VN_TUN_TRUNC,
		       (g_byte_array_set_size(c, 58), c->data[20] = 60, refix(c, type, v6, l4)));
	}
}

/* A valid frame with extra outer bytes (IPv4 options, an IPv6 extension header, Geneve
 * options) still parses and decapsulates to @in. */
static void errors_extra(int type, bool v6, const GByteArray *o, const GByteArray *in)
{
	static const uint8_t nops[4] = {1, 1, 1, 1}, gopt[8] = {1, 2, 3, 1, 9, 9, 9, 9};
	size_t l4 = v6 ? 54 : 34;
	g_autoptr(GByteArray) c = g_byte_array_new();

	g_byte_array_append(c, o->data, o->len);
	if (!v6) {
		insert(c, 34, nops, 4);
		c->data[14] = 0x46;
		l4 += 4;
	} else {
		uint8_t dopt[8] = {o->data[20], 0, 1, 4, 0, 0, 0, 0}; /* PadN */

		insert(c, 54, dopt, 8);
		c->data[20] = 60;
		l4 += 8;
	}
	if (type == VN_TUN_GENEVE) {
		insert(c, l4 + 16, gopt, 8);
		c->data[l4 + 8] = 2;
	}
	refix(c, type, v6, l4);
	rx_check(type, v6, mk(c->data, c->len, 0), 5, in);
	rx_check(type, v6, mk(c->data, c->len, l4 + 3), 5, in);
}

static void errors_tunnel(int type, bool v6, const GByteArray *o)
{
	size_t l4 = v6 ? 54 : 34, tun = l4 + (type == VN_TUN_NVGRE ? 0 : 8);
	uint8_t *p;

#define EDIT(...) (p = c->data + tun, __VA_ARGS__, refix(c, type, v6, l4))
	if (type == VN_TUN_VXLAN) {
		EXPECT(VN_TUN_BAD_FLAGS, EDIT(p[0] = 0));
		EXPECT(VN_TUN_BAD_FLAGS, EDIT(p[0] = 0xf7));
		EXPECT(VN_TUN_OK, EDIT(p[0] = 0xff, p[1] = p[2] = p[3] = p[7] = 0xff));
	} else if (type == VN_TUN_GENEVE) {
		EXPECT(VN_TUN_BAD_VERSION, EDIT(p[0] = 0x40));
		EXPECT(VN_TUN_OAM, EDIT(p[1] = 0x80));
		EXPECT(VN_TUN_CRIT_OPT, EDIT(p[1] = 0x40));
		EXPECT(VN_TUN_BAD_PROTO, EDIT(put16(p + 2, 0x0800)));
		EXPECT(VN_TUN_TRUNC, EDIT(p[0] = 0x3f));	   /* options past the end */
		EXPECT(VN_TUN_OK, EDIT(p[1] = 0x3f, p[7] = 0xff)); /* reserved bits */
	} else {
		static const uint16_t bad[] = {0x3000, 0xa000, 0x2001, 0x0000, 0x2080, 0x6000};

		for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
			EXPECT(VN_TUN_BAD_FLAGS, EDIT(put16(p, bad[i])));
		EXPECT(VN_TUN_BAD_PROTO, EDIT(put16(p + 2, 0x0800)));
	}
	if (type != VN_TUN_NVGRE)
		EXPECT(VN_TUN_NOT_MINE, EDIT(put16(c->data + l4 + 2, 4790)));
#undef EDIT
}

static void test_errors(void)
{
	g_autoptr(GByteArray) in = udp4_frame(7);

	for (int type = 0; type < VN_TUN__MAX; type++)
		for (int v6 = 0; v6 < 2; v6++) {
			g_autoptr(GByteArray) o = encap_flat(type, v6, 5, in);

			errors_common(type, v6, o);
			errors_extra(type, v6, o, in);
			errors_tunnel(type, v6, o);
		}
	g_assert_cmpuint(rte_mempool_in_use_count(mp), ==, 0);
}
#undef EXPECT

/* Outer ECN @oecn on the encapsulation of an inner frame of ECN @iecn: what decap does. */
static void ecn_case(bool v6, bool iv6, uint8_t iecn, uint8_t oecn)
{
	struct inner s = {.v6 = iv6, .tos = (uint8_t)(0xb8 | iecn), .proto = 17, .payload = 30};
	g_autoptr(GByteArray) in = inner_frame(&s);
	g_autoptr(GByteArray) o = encap_flat(VN_TUN_VXLAN, v6, 8, in), out = NULL;
	uint8_t *p = o->data, tos = v6 ? (uint8_t)(p[14] << 4 | p[15] >> 4) : p[15];
	struct vn_tun_local loc = local_b(VN_TUN_VXLAN, v6);
	struct rte_mbuf *m;
	struct vn_tun_rx rx;
	enum vn_tun_err e;

	g_assert_cmpuint(tos, ==, s.tos); /* RFC 6040 normal mode: DSCP and ECN copied */
	if (v6)
		p[15] = (uint8_t)((p[15] & 0xcf) | oecn << 4);
	else
		p[15] = (uint8_t)((p[15] & 0xfc) | oecn);
	refix(o, VN_TUN_VXLAN, v6, v6 ? 54 : 34);
	m = mk(o->data, o->len, v6 ? 75 : 55); /* the inner IP header split across segments */
	g_assert_cmpint(vn_tun_parse(m, &loc, &rx), ==, VN_TUN_OK);
	g_assert_cmpuint(rx.outer_tos & 3, ==, oecn);
	e = vn_tun_decap(m, &rx);
	if (oecn == 3 && iecn == 0) {
		g_assert_cmpint(e, ==, VN_TUN_ECN);
		rte_pktmbuf_free(m);
		return;
	}
	g_assert_cmpint(e, ==, VN_TUN_OK);
	out = flat(m);
	rte_pktmbuf_free(m);
	if (oecn == 3) { /* ECT becomes CE */
		if (iv6)
			in->data[15] |= 0x30;
		else
			in->data[15] |= 3;
		if (!iv6) {
			put16(in->data + 24, 0);
			put16(in->data + 24,
			      (uint16_t)~vn_test_ref_fold(vn_test_ref_sum(in->data + 14, 20, 0)));
		}
	}
	g_assert_cmpmem(out->data, out->len, in->data, in->len);
	if (!iv6)
		g_assert_cmpuint(vn_test_ref_fold(vn_test_ref_sum(out->data + 14, 20, 0)), ==,
				 0xffff);
}

static void test_ecn(void)
{
	struct inner arp = {.arp = true};
	g_autoptr(GByteArray) in = inner_frame(&arp);
	g_autoptr(GByteArray) o = NULL;
	struct vn_tun_local loc = local_b(VN_TUN_GENEVE, false);
	struct rte_mbuf *m;
	struct vn_tun_rx rx;

	for (int v6 = 0; v6 < 2; v6++)
		for (int iv6 = 0; iv6 < 2; iv6++)
			for (uint8_t i = 0; i < 4; i++)
				for (uint8_t e = 0; e < 4; e++)
					ecn_case(v6, iv6, i, e);
	/* not IP inside: outer DSCP/ECN 0, and an outer CE leaves it alone */
	o = encap_flat(VN_TUN_GENEVE, false, 8, in);
	g_assert_cmpuint(o->data[15], ==, 0);
	o->data[15] = 3;
	refix(o, VN_TUN_GENEVE, false, 34);
	m = mk(o->data, o->len, 0);
	g_assert_cmpint(vn_tun_parse(m, &loc, &rx), ==, VN_TUN_OK);
	g_assert_cmpint(vn_tun_decap(m, &rx), ==, VN_TUN_OK);
	assert_bytes(m, in);
	rte_pktmbuf_free(m);
	g_assert_cmpuint(rte_mempool_in_use_count(mp), ==, 0);
}

/* ---- ICMP too big ---- */

static struct rte_mbuf *too_big(const GByteArray *in, uint16_t mtu)
{
	struct rte_mbuf *m = mk(in->data, in->len, 40), *r = vn_tun_too_big(m, mtu, mp);

	rte_pktmbuf_free(m);
	return r;
}

/* Ethernet and tags of reply @r to @in; Return: the flat reply. */
static GByteArray *reply_eth(struct rte_mbuf *r, const GByteArray *in, size_t l3)
{
	GByteArray *a;

	g_assert_nonnull(r);
	a = flat(r);
	rte_pktmbuf_free(r);
	g_assert_cmpmem(a->data, 6, in->data + 6, 6);
	g_assert_cmpmem(a->data + 6, 6, in->data, 6);
	g_assert_cmpmem(a->data + 12, l3 - 12, in->data + 12, l3 - 12);
	return a;
}

static void check_too_big4(const struct inner *s, uint16_t mtu)
{
	g_autoptr(GByteArray) in = inner_frame(s);
	size_t l3 = s->vlan ? 18 : 14, iplen = in->len - l3;
	g_autoptr(GByteArray) a = reply_eth(too_big(in, mtu), in, l3);
	const uint8_t *ip = a->data + l3, *icmp = ip + 20;
	size_t tot = get16(ip + 2);

	g_assert_cmpuint(tot, ==, a->len - l3);
	g_assert_cmpuint(tot, ==, MIN(576, 28 + iplen));
	g_assert_cmpuint(ip[0], ==, 0x45);
	g_assert_cmpuint(ip[8], ==, 64);
	g_assert_cmpuint(ip[9], ==, IPPROTO_ICMP);
	g_assert_cmpuint(vn_test_ref_fold(vn_test_ref_sum(ip, 20, 0)), ==, 0xffff);
	g_assert_cmpmem(ip + 12, 4, in->data + l3 + 16, 4);
	g_assert_cmpmem(ip + 16, 4, in->data + l3 + 12, 4);
	g_assert_cmpmem(icmp, 2, ((uint8_t[]){3, 4}), 2);
	g_assert_cmpuint(get16(icmp + 6), ==, mtu);
	g_assert_cmpuint(vn_test_ref_fold(vn_test_ref_sum(icmp, tot - 20, 0)), ==, 0xffff);
	g_assert_cmpmem(icmp + 8, tot - 28, in->data + l3, tot - 28);
}

static void check_too_big6(const struct inner *s, uint16_t mtu)
{
	g_autoptr(GByteArray) in = inner_frame(s);
	size_t l3 = s->vlan ? 18 : 14, iplen = in->len - l3;
	g_autoptr(GByteArray) a = reply_eth(too_big(in, mtu), in, l3);
	const uint8_t *ip = a->data + l3, *icmp = ip + 40;
	size_t plen = get16(ip + 4);

	g_assert_cmpuint(plen + 40, ==, a->len - l3);
	g_assert_cmpuint(plen + 40, ==, MIN(1280, 48 + iplen));
	g_assert_cmpuint(ip[0], ==, 0x60);
	g_assert_cmpuint(ip[6], ==, IPPROTO_ICMPV6);
	g_assert_cmpuint(ip[7], ==, 64);
	g_assert_cmpmem(ip + 8, 16, in->data + l3 + 24, 16);
	g_assert_cmpmem(ip + 24, 16, in->data + l3 + 8, 16);
	g_assert_cmpmem(icmp, 2, ((uint8_t[]){2, 0}), 2);
	g_assert_cmpmem(icmp + 4, 4, ((uint8_t[]){0, 0, mtu >> 8, (uint8_t)mtu}), 4);
	g_assert_true(ref_l4_ok(ip, 40, true, IPPROTO_ICMPV6, plen));
	g_assert_cmpmem(icmp + 8, plen - 8, in->data + l3, plen - 8);
}

static void test_too_big(void)
{
	struct inner s = {.proto = IPPROTO_UDP, .payload = 1400};
	g_autoptr(GByteArray) arp = inner_frame(&(struct inner){.arp = true});

	for (int vlan = 0; vlan < 2; vlan++) {
		s = (struct inner){.vlan = vlan, .proto = IPPROTO_UDP, .payload = 1400};
		check_too_big4(&s, 1450);
		check_too_big6(
		    &(struct inner){.v6 = true, .vlan = vlan, .proto = 6, .payload = 1400}, 1400);
	}
	s.payload = 21;
	check_too_big4(&s, 1450);
	check_too_big6(&(struct inner){.v6 = true, .proto = 17, .payload = 3}, 1280);
	s = (struct inner){.proto = IPPROTO_ICMP, .icmp_type = 8, .payload = 600};
	check_too_big4(&s, 1000); /* an echo request gets one */
	check_too_big6(&(struct inner){.v6 = true, .proto = 58, .icmp_type = 128, .payload = 9},
		       1280);
	/* none for: DF unset, an ICMP error, not IP, a multicast source */
	const struct inner none[] = {
	    {.proto = IPPROTO_UDP, .payload = 1400, .no_df = true},
	    {.proto = IPPROTO_ICMP, .icmp_type = 3, .payload = 600},
	    {.proto = IPPROTO_ICMP, .icmp_type = 11, .payload = 600},
	    {.v6 = true, .proto = 58, .icmp_type = 1, .payload = 600},
	    {.v6 = true, .proto = 58, .icmp_type = 2, .payload = 600},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(none); i++) {
		g_autoptr(GByteArray) in = inner_frame(&none[i]);

		g_assert_null(too_big(in, 1000));
	}
	g_assert_null(too_big(arp, 1000));
	g_autoptr(GByteArray) mc = inner_frame(&(struct inner){.v6 = true, .proto = 17});
	mc->data[14 + 8] = 0xff;
	g_assert_null(too_big(mc, 1280));
	mc = (g_byte_array_unref(mc), udp4_frame(1));
	mc->data[14 + 12] = 224;
	g_assert_null(too_big(mc, 1280));
	g_assert_cmpuint(rte_mempool_in_use_count(mp), ==, 0);
}

static void test_misc(void)
{
	struct vn_tun_tmpl t;
	struct rte_ether_addr nh = {{2, 9, 9, 9, 9, 9}};
	GHashTable *names = g_hash_table_new(g_str_hash, g_str_equal);

	g_assert_cmpint(vn_tun_tmpl_build(&t, VN_TUN_VXLAN, &a4, &b6, 1, &vtep_a, &vtep_b), ==,
			-EINVAL);
	g_assert_cmpint(vn_tun_tmpl_build(&t, VN_TUN__MAX, &a4, &b4, 1, &vtep_a, &vtep_b), ==,
			-EINVAL);
	tmpl(&t, VN_TUN_GENEVE, true);
	g_assert_cmpuint(t.len, ==, 70);
	vn_tun_tmpl_set_dst(&t, &nh);
	g_assert_cmpmem(t.h, 6, nh.addr_bytes, 6);
	g_assert_cmpmem(t.h + 6, 6, vtep_a.addr_bytes, 6);
	tmpl(&t, VN_TUN_NVGRE, false);
	g_assert_cmpuint(t.len, ==, 42);
	for (int e = 0; e < VN_TUN_ERR__MAX; e++)
		g_hash_table_add(names, (gpointer)vn_tun_err_name(e));
	g_assert_cmpuint(g_hash_table_size(names), ==, VN_TUN_ERR__MAX);
	g_assert_cmpstr(vn_tun_err_name(VN_TUN_NOT_MINE), ==, "not_mine");
	g_assert_cmpstr(vn_tun_err_name(VN_TUN_OUTER_FRAG), ==, "outer_fragment");
	g_assert_cmpstr(vn_tun_err_name(VN_TUN_CRIT_OPT), ==, "critical_option");
	g_assert_cmpstr(vn_tun_err_name(VN_TUN_ECN), ==, "ecn");
	g_hash_table_unref(names);
}

int main(int argc, char **argv)
{
	int rc;

	g_test_init(&argc, &argv, NULL);
	vn_test_eal_init();
	mp = rte_pktmbuf_pool_create("tun", 1024, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	g_assert_nonnull(mp);
	g_test_add_func("/tunnel/round_trip", test_round_trip);
	g_test_add_func("/tunnel/parse_paths", test_parse_paths);
	g_test_add_func("/tunnel/segments", test_segments);
	g_test_add_func("/tunnel/known_bytes", test_known_bytes);
	g_test_add_func("/tunnel/source_ports", test_source_ports);
	g_test_add_func("/tunnel/hash_paths", test_hash_paths);
	g_test_add_func("/tunnel/checksums", test_checksums);
	g_test_add_func("/tunnel/shared", test_shared);
	g_test_add_func("/tunnel/lco", test_lco);
	g_test_add_func("/tunnel/no_mbuf", test_no_mbuf);
	g_test_add_func("/tunnel/errors", test_errors);
	g_test_add_func("/tunnel/ecn", test_ecn);
	g_test_add_func("/tunnel/too_big", test_too_big);
	g_test_add_func("/tunnel/misc", test_misc);
	rc = g_test_run();
	g_assert_cmpuint(rte_mempool_in_use_count(mp), ==, 0);
	return rc;
}

/* SPDX-License-Identifier: MIT */
/* NAT (policy/nat.c, conntrack.c, dhcp.c): checksum math, the table against a reference,
 * translation. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include <glib.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>
#include <rte_malloc.h>
#include <rte_pause.h>
#include <rte_mbuf.h>

#include "testutil.h"
#include "vnicd/conntrack.h"
#include "vnicd/dhcp.h"
#include "vnicd/nat.h"

static struct rte_mempool *mp;

static uint32_t ip4(const char *s)
{
	uint32_t a;

	g_assert_cmpint(inet_pton(AF_INET, s, &a), ==, 1);
	return a;
}

/* ---- RFC 1624 against sums from scratch ---- */

static uint16_t full_sum(const uint8_t *p, size_t len)
{
	return (uint16_t)~vn_test_ref_fold(vn_test_ref_sum(p, len, 0));
}

static void test_csum_adjust(void)
{
	GRand *r = g_rand_new_with_seed(1624);

	for (int it = 0; it < 20000; it++) {
		uint8_t buf[40], old[12];
		size_t len = 20 + 2 * (size_t)g_rand_int_range(r, 0, 10), off;
		uint16_t cs, want, got;
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)g_rand_int(r);
		if (it % 7 == 0)
			memset(buf, it % 2 ? 0xff : 0, len); /* the edges of ones' complement */
		buf[10] = buf[11] = 0;
		cs = full_sum(buf, len);
		memcpy(buf + 10, &(uint16_t){htons(cs)}, 2);
		off = 12 + 2 * (size_t)g_rand_int_range(r, 0, (int)(len - 12) / 2 - 1);
		size_t n = RTE_MIN((size_t)2 * g_rand_int_range(r, 1, 7), len - off);
		memcpy(old, buf + off, n);
		for (size_t i = 0; i < n; i++)
			buf[off + i] = it % 11 == 0 ? (uint8_t)~old[i] : (uint8_t)g_rand_int(r);
		got = vn_nat_csum_adjust(htons(cs), old, buf + off, (unsigned)n);
		memcpy(buf + 10, &got, 2);
		want = vn_test_ref_fold(vn_test_ref_sum(buf, len, 0));
		/* a valid header sums to 0xffff (or 0 for the all-zero header with sum 0xffff) */
		g_assert_true(want == 0xffff || want == 0);
	}
	g_rand_free(r);
}

/* ---- the table against a reference ---- */

static struct vn_ct_tuple tup(uint32_t s, uint32_t d, uint16_t sp, uint16_t dp, uint8_t p)
{
	return (struct vn_ct_tuple){.src = s, .dst = d, .sport = sp, .dport = dp, .proto = p};
}

static void test_conntrack_reference(void)
{
	struct vn_ct_timeouts to;
	struct vn_ct *ct;
	GHashTable *ref = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	GRand *r = g_rand_new_with_seed(7);
	uint64_t now = 1000;

	vn_ct_timeouts_default(&to);
	to.udp = 1;
	ct = vn_ct_new(500, &to, NULL);
	g_assert_nonnull(ct);
	g_assert_null(vn_ct_new(0, &to, NULL));
	for (int it = 0; it < 20000; it++) {
		uint32_t a = (uint32_t)g_rand_int_range(r, 1, 20);
		uint16_t sp = (uint16_t)g_rand_int_range(r, 1, 20);
		struct vn_ct_tuple o = tup(a, 99, sp, 53, IPPROTO_UDP),
				   rep = tup(99, 1000, 53, (uint16_t)(a * 100 + sp), IPPROTO_UDP);
		gint64 *ko = g_new(gint64, 1);
		struct vn_ct_entry *e;
		int d = -1;

		*ko = (gint64)a << 16 | sp;
		vn_ct_lock(ct);
		e = vn_ct_lookup(ct, &o, &d);
		g_assert_cmpint(e != NULL, ==, g_hash_table_contains(ref, ko));
		if (e) {
			g_assert_cmpint(d, ==, 0);
			g_assert_nonnull(vn_ct_lookup(ct, &rep, &d));
			g_assert_cmpint(d, ==, 1);
			if (g_rand_boolean(r)) {
				vn_ct_remove(ct, e);
				g_hash_table_remove(ref, ko);
			}
			g_free(ko);
		} else {
			e = vn_ct_insert(ct, &o, &rep, now);
			g_assert_nonnull(e); /* 19 * 19 < 500: never full */
			g_hash_table_add(ref, ko);
		}
		vn_ct_unlock(ct);
		g_assert_cmpuint(ct->used, ==, g_hash_table_size(ref));
	}
	g_assert_cmpuint(vn_ct_expire(ct, now + 500, 100000), ==, 0);
	g_assert_cmpuint(vn_ct_expire(ct, now + 1000, 100000), ==, g_hash_table_size(ref));
	g_assert_cmpuint(ct->used, ==, 0);
	g_hash_table_destroy(ref);
	g_rand_free(r);
	vn_ct_free(ct);
}

static void test_conntrack_full_and_tcp(void)
{
	struct vn_ct_timeouts to;
	struct vn_ct *ct;
	struct vn_ct_entry *e;
	struct vn_ct_tuple o, rep;

	vn_ct_timeouts_default(&to);
	g_assert_cmpuint(to.tcp_established, ==, 432000);
	g_assert_cmpuint(to.tcp_syn_sent, ==, 120);
	g_assert_cmpuint(to.tcp_time_wait, ==, 120);
	g_assert_cmpuint(to.udp, ==, 30);
	g_assert_cmpuint(to.udp_stream, ==, 120);
	g_assert_cmpuint(to.icmp, ==, 30);
	ct = vn_ct_new(2, &to, NULL);
	for (uint16_t i = 0; i < 3; i++) {
		o = tup(1, 2, i, 80, IPPROTO_TCP), rep = tup(2, 3, 80, i, IPPROTO_TCP);
		e = vn_ct_insert(ct, &o, &rep, 0);
		g_assert_true((e != NULL) == (i < 2));
	}
	g_assert_cmpuint(ct->full_drops, ==, 1);
	vn_ct_flush(ct);
	o = tup(1, 2, 5, 80, IPPROTO_TCP), rep = tup(2, 3, 80, 5, IPPROTO_TCP);
	e = vn_ct_insert(ct, &o, &rep, 0);
	g_assert_cmpint(e->state, ==, VN_CT_SYN_SENT);
	g_assert_cmpuint(e->expires, ==, 120000);
	vn_ct_seen(ct, e, 1, 0x12, 60, 10); /* SYN+ACK */
	g_assert_cmpint(e->state, ==, VN_CT_SYN_RECV);
	vn_ct_seen(ct, e, 0, 0x10, 60, 20); /* ACK */
	g_assert_cmpint(e->state, ==, VN_CT_ESTABLISHED);
	g_assert_cmpuint(e->expires, ==, 20 + 432000000ull);
	vn_ct_seen(ct, e, 0, 0x11, 60, 30); /* FIN+ACK */
	g_assert_cmpint(e->state, ==, VN_CT_FIN_WAIT);
	vn_ct_seen(ct, e, 1, 0x10, 60, 40); /* its ACK */
	g_assert_cmpint(e->state, ==, VN_CT_CLOSE_WAIT);
	vn_ct_seen(ct, e, 1, 0x11, 60, 50); /* the other FIN */
	g_assert_cmpint(e->state, ==, VN_CT_LAST_ACK);
	vn_ct_seen(ct, e, 0, 0x10, 60, 60); /* the last ACK */
	g_assert_cmpint(e->state, ==, VN_CT_TIME_WAIT);
	g_assert_cmpuint(e->expires, ==, 60 + 120000);
	vn_ct_seen(ct, e, 1, 0x04, 40, 70); /* RST */
	g_assert_cmpint(e->state, ==, VN_CT_CLOSE);
	g_assert_cmpstr(vn_ct_state_name(VN_CT_TIME_WAIT), ==, "time_wait");
	vn_ct_free(ct);
}

/* 100,000 connections, every one found both ways, then one flush; the memory it costs. */
static void test_conntrack_100k(void)
{
	struct vn_ct_timeouts to;
	struct vn_ct *ct;
	int d;

	vn_ct_timeouts_default(&to);
	ct = vn_ct_new(100000, &to, NULL);
	g_assert_nonnull(ct);
	for (uint32_t i = 0; i < 100000; i++) {
		struct vn_ct_tuple o = tup(i / 60000 + 1, 7, (uint16_t)(i % 60000), 80,
					   IPPROTO_TCP),
				   rep = tup(7, 9, 80, (uint16_t)i, IPPROTO_TCP);
		rep.src = i / 65536 + 7;
		g_assert_nonnull(vn_ct_insert(ct, &o, &rep, 0));
	}
	g_assert_null(vn_ct_insert(ct, &(struct vn_ct_tuple){.proto = 6, .src = 99},
				   &(struct vn_ct_tuple){.proto = 6, .src = 98}, 0));
	for (uint32_t i = 0; i < 100000; i += 7) {
		struct vn_ct_tuple rep = tup(i / 65536 + 7, 9, 80, (uint16_t)i, IPPROTO_TCP);
		g_assert_nonnull(vn_ct_lookup(ct, &rep, &d));
		g_assert_cmpint(d, ==, 1);
	}
	g_assert_cmpuint(vn_ct_flush(ct), ==, 100000);
	g_assert_cmpuint(ct->used, ==, 0);
	g_test_message("%zu bytes per entry (plus two rte_hash keys)", sizeof(struct vn_ct_entry));
	g_assert_cmpuint(sizeof(struct vn_ct_entry), <=, 112);
	vn_ct_free(ct);
}

/* ---- lock-free readers: a removed entry is not reused while a reader may hold it ---- */

struct lf_run {
	struct vn_ct *ct;
	struct rte_rcu_qsbr *v;
	int stop;
	uint64_t found, bad;
};

static gpointer lf_reader(gpointer p)
{
	struct lf_run *a = p;

	rte_rcu_qsbr_thread_register(a->v, 0);
	rte_rcu_qsbr_thread_online(a->v, 0);
	while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) {
		for (uint16_t i = 0; i < 64; i++) {
			struct vn_ct_tuple t = tup(i + 1, 99, i, 53, IPPROTO_UDP);
			struct vn_ct_entry *e;
			int d;
			if (!(e = vn_ct_lookup(a->ct, &t, &d)))
				continue;
			__atomic_fetch_add(&a->found, 1, __ATOMIC_RELAXED);
			for (int k = 0; k < 200;
			     k++) /* hold it a while, as a worker's burst does */
				rte_pause();
			if (d != 0 || memcmp(&e->t[0], &t, sizeof(t)) != 0)
				a->bad++;
		}
		rte_rcu_qsbr_quiescent(a->v, 0);
	}
	rte_rcu_qsbr_thread_offline(a->v, 0);
	rte_rcu_qsbr_thread_unregister(a->v, 0);
	return NULL;
}

static void test_conntrack_lockfree(void)
{
	struct rte_rcu_qsbr *v = rte_zmalloc(NULL, rte_rcu_qsbr_get_memsize(1), 64);
	struct lf_run a = {0};
	struct vn_ct_timeouts to;
	GRand *r = g_rand_new_with_seed(3);
	GThread *th;

	g_assert_nonnull(v);
	g_assert_cmpint(rte_rcu_qsbr_init(v, 1), ==, 0);
	vn_ct_timeouts_default(&to);
	a.ct = vn_ct_new(32, &to, v); /* few entries: removed ones are reused at once */
	a.v = v;
	th = g_thread_new("lf_reader", lf_reader, &a);
	/* until the reader has looked a while (it may start late on a loaded machine) */
	for (int it = 0;
	     it < 1000 || (__atomic_load_n(&a.found, __ATOMIC_RELAXED) < 5000 && it < 1000000);
	     it++) {
		vn_ct_lock(a.ct);
		for (int n = 0; n < 8; n++) { /* keys 1..128: entries go to other keys */
			uint16_t i = (uint16_t)g_rand_int_range(r, 0, 128);
			struct vn_ct_tuple o = tup(i + 1, 99, i, 53, IPPROTO_UDP),
					   rep = tup(99, 7, 53, i, IPPROTO_UDP);
			struct vn_ct_entry *e;
			int d;
			if ((e = vn_ct_lookup(a.ct, &o, &d)))
				vn_ct_remove(a.ct, e);
			else
				vn_ct_insert(a.ct, &o, &rep, 0);
		}
		vn_ct_unlock(a.ct);
		vn_ct_reclaim(a.ct);
	}
	__atomic_store_n(&a.stop, 1, __ATOMIC_RELEASE);
	g_thread_join(th);
	g_test_message("reader: %" G_GUINT64_FORMAT " found, %" G_GUINT64_FORMAT " changed",
		       a.found, a.bad);
	g_assert_cmpuint(a.found, >, 0);
	g_assert_cmpuint(a.bad, ==, 0);
	vn_ct_flush(a.ct); /* and every entry is free again after the reclaim */
	g_assert_cmpuint(a.ct->used, ==, 0);
	vn_ct_lock(a.ct);
	for (uint16_t i = 0; i < 32; i++)
		g_assert_nonnull(vn_ct_insert(a.ct, &(struct vn_ct_tuple){.src = i, .proto = 17},
					      &(struct vn_ct_tuple){.dst = i, .proto = 17}, 0));
	vn_ct_unlock(a.ct);
	vn_ct_free(a.ct);
	rte_free(v);
	g_rand_free(r);
}

/* ---- translation ---- */

static struct vn_nat *nat_new(void)
{
	struct vn_nat *nt = g_new0(struct vn_nat, 1);
	struct vn_ct_timeouts to;

	vn_ct_timeouts_default(&to);
	nt->ct = vn_ct_new(64, &to, NULL);
	nt->gw = ip4("192.168.100.1");
	nt->net = ip4("192.168.100.0");
	nt->mask = ip4("255.255.255.0");
	nt->ext = ip4("10.0.0.2");
	nt->ext_mask = ip4("255.255.255.0");
	nt->ext_gw = ip4("10.0.0.254");
	nt->port_lo = 20000, nt->port_hi = 20003;
	return nt;
}

static void nat_free(struct vn_nat *nt)
{
	vn_nat_hold_expire(nt, UINT64_MAX);
	vn_ct_free(nt->ct);
	g_free(nt);
}

static const struct rte_ether_addr gmac = {{2, 0, 0, 0, 0, 1}}, nhmac = {{2, 0, 0, 0, 0, 0xfe}};

/* A frame: IPv4 @src -> @dst, @proto with ports (or ICMP echo id @sp), @plen payload bytes. */
static struct rte_mbuf *mkpkt(const char *src, const char *dst, uint8_t proto, uint16_t sp,
			      uint16_t dp, uint16_t plen)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint16_t l4len = (uint16_t)((proto == IPPROTO_TCP ? 20 : 8) + plen);
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(14 + 20 + l4len));
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + 14);
	uint8_t *l4 = p + 34;

	if (!p)
		g_error("no room in an mbuf");
	memset(p, 0, 14u + 20u + l4len);
	memcpy(p + 6, &gmac, 6);
	p[12] = 0x08;
	ip->version_ihl = 0x45;
	ip->total_length = htons((uint16_t)(20 + l4len));
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	ip->src_addr = ip4(src);
	ip->dst_addr = ip4(dst);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	for (uint16_t i = 0; i < plen; i++)
		l4[l4len - plen + i] = (uint8_t)(i * 7 + 3);
	if (proto == IPPROTO_ICMP) {
		l4[0] = 8;
		memcpy(l4 + 4, &(uint16_t){htons(sp)}, 2);
		memcpy(l4 + 2, &(uint16_t){htons(full_sum(l4, l4len))}, 2);
		return m;
	}
	memcpy(l4, &(uint16_t){htons(sp)}, 2);
	memcpy(l4 + 2, &(uint16_t){htons(dp)}, 2);
	if (proto == IPPROTO_TCP) {
		l4[12] = 0x50;
		l4[13] = 0x02; /* SYN */
		memcpy(l4 + 16, &(uint16_t){rte_ipv4_udptcp_cksum(ip, l4)}, 2);
	} else {
		memcpy(l4 + 4, &(uint16_t){htons(l4len)}, 2);
		memcpy(l4 + 6, &(uint16_t){rte_ipv4_udptcp_cksum(ip, l4)}, 2);
	}
	return m;
}

/* The frame's IPv4 and transport checksums verify. */
static void assert_sums(struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
	uint8_t *l4 = (uint8_t *)(ip + 1);

	g_assert_cmpuint(rte_ipv4_cksum(ip), ==, 0);
	if (ip->next_proto_id == IPPROTO_ICMP)
		g_assert_cmpuint(full_sum(l4, ntohs(ip->total_length) - 20u), ==, 0);
	else
		g_assert_cmpuint(rte_ipv4_udptcp_cksum_verify(ip, l4), ==, 0);
}

static void test_snat_round_trip(void)
{
	struct vn_nat *nt = nat_new();
	static const uint8_t protos[] = {IPPROTO_UDP, IPPROTO_TCP, IPPROTO_ICMP};
	struct vn_nat_res r;

	for (size_t k = 0; k < G_N_ELEMENTS(protos); k++) {
		uint8_t pr = protos[k];
		struct rte_mbuf *m = mkpkt("192.168.100.10", "8.8.8.8", pr, 4000, 53, 33);
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
		uint16_t port;

		if (k ==
		    0) { /* the next hop (the external gateway) unresolved: dropped, asked for */
			g_assert_cmpint(vn_nat_process(nt, m, true, 0, &r), ==, VN_NAT_DROPPED);
			g_assert_cmpuint(r.resolve, ==, ip4("10.0.0.254"));
			g_assert_cmpint(r.resolve_side, ==, 1);
			g_assert_cmpuint(nt->drops[VN_NAT_NO_ROUTE], ==, 1);
			rte_pktmbuf_free(m);
			vn_nat_neigh_set(nt, 1, ip4("10.0.0.254"), &nhmac);
			m = mkpkt("192.168.100.10", "8.8.8.8", pr, 4000, 53, 33);
		}
		ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
		g_assert_cmpint(vn_nat_process(nt, m, true, 0, &r), ==, VN_NAT_OUTSIDE);
		g_assert_true(rte_is_same_ether_addr(&r.dmac, &nhmac));
		g_assert_cmpuint(ip->src_addr, ==, ip4("10.0.0.2"));
		g_assert_cmpuint(ip->time_to_live, ==, 63);
		memcpy(&port, (uint8_t *)(ip + 1) + (pr == IPPROTO_ICMP ? 4 : 0), 2);
		g_assert_cmpuint(ntohs(port), ==, 4000); /* kept: free */
		assert_sums(m);
		rte_pktmbuf_free(m);
		/* the answer comes back to the guest */
		m = mkpkt("8.8.8.8", "10.0.0.2", pr, 53, 4000, 12);
		ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
		if (pr == IPPROTO_ICMP) {
			uint8_t *ic = (uint8_t *)(ip + 1);
			ic[0] = 0; /* echo reply */
			ic[2] = ic[3] = 0;
			memcpy(ic + 4, &(uint16_t){htons(4000)}, 2);
			memcpy(ic + 2, &(uint16_t){htons(full_sum(ic, 20))}, 2);
		} else if (pr == IPPROTO_TCP) {
			uint8_t *th = (uint8_t *)(ip + 1);
			th[13] = 0x12, th[16] = th[17] = 0;
			memcpy(th + 16, &(uint16_t){rte_ipv4_udptcp_cksum(ip, th)}, 2);
		}
		g_assert_cmpint(vn_nat_process(nt, m, false, 0, &r), ==, VN_NAT_INSIDE);
		g_assert_true(rte_is_same_ether_addr(&r.dmac, &gmac));
		g_assert_cmpuint(ip->dst_addr, ==, ip4("192.168.100.10"));
		assert_sums(m);
		rte_pktmbuf_free(m);
	}
	nat_free(nt);
}

/* A TCP segment of @plen bytes with flags @fl (checksum set). */
static struct rte_mbuf *mktcp(const char *src, const char *dst, uint16_t sp, uint16_t dp,
			      uint8_t fl, uint16_t plen)
{
	struct rte_mbuf *m = mkpkt(src, dst, IPPROTO_TCP, sp, dp, plen);
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
	uint8_t *th = (uint8_t *)(ip + 1);

	th[13] = fl, th[16] = th[17] = 0;
	memcpy(th + 16, &(uint16_t){rte_ipv4_udptcp_cksum(ip, th)}, 2);
	return m;
}

/* A burst through one memo (as a NAT leg translates): every frame as vn_nat_process() would
 * have it, the TCP state moving at the frame that moves it (FIN: never from the memo), the
 * counters all there once the memo is flushed, the other side never taken for the memo's. */
static void test_memo_burst(void)
{
	static const uint8_t fl[] = {0x10, 0x18, 0x18, 0x11, 0x10, 0x10};
	static const uint8_t st[] = {VN_CT_ESTABLISHED, VN_CT_ESTABLISHED, VN_CT_ESTABLISHED,
				     VN_CT_FIN_WAIT,	VN_CT_FIN_WAIT,	   VN_CT_FIN_WAIT};
	struct vn_nat *nt = nat_new();
	struct vn_nat_memo mm = {.e = NULL};
	struct vn_ct_tuple rt =
	    tup(ip4("1.1.1.1"), ip4("10.0.0.2"), htons(443), htons(4000), IPPROTO_TCP);
	struct vn_ct_entry *e;
	struct vn_nat_res r;
	struct rte_mbuf *m;
	uint64_t bytes = 0;
	int d;

	vn_nat_neigh_set(nt, 1, ip4("10.0.0.254"), &nhmac);
	m = mktcp("192.168.100.10", "1.1.1.1", 4000, 443, 0x02, 0);
	g_assert_cmpint(vn_nat_process(nt, m, true, 0, &r), ==, VN_NAT_OUTSIDE);
	rte_pktmbuf_free(m);
	m = mktcp("1.1.1.1", "10.0.0.2", 443, 4000, 0x12, 0);
	g_assert_cmpint(vn_nat_process(nt, m, false, 0, &r), ==, VN_NAT_INSIDE);
	rte_pktmbuf_free(m);
	e = vn_ct_lookup(nt->ct, &rt, &d);
	g_assert_nonnull(e);
	g_assert_cmpuint(e->state, ==, VN_CT_SYN_RECV);
	for (size_t i = 0; i < G_N_ELEMENTS(fl); i++) {
		struct rte_ipv4_hdr *ip;
		uint16_t port;

		m = mktcp("192.168.100.10", "1.1.1.1", 4000, 443, fl[i], (uint16_t)(10 * i));
		ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
		bytes += ntohs(ip->total_length);
		g_assert_cmpint(vn_nat_process_memo(nt, m, true, 5, &r, &mm), ==, VN_NAT_OUTSIDE);
		g_assert_true(rte_is_same_ether_addr(&r.dmac, &nhmac));
		g_assert_cmpuint(ip->src_addr, ==, ip4("10.0.0.2"));
		g_assert_cmpuint(ip->dst_addr, ==, ip4("1.1.1.1"));
		g_assert_cmpuint(ip->time_to_live, ==, 63);
		memcpy(&port, ip + 1, 2);
		g_assert_cmpuint(ntohs(port), ==, 4000);
		assert_sums(m);
		g_assert_cmpuint(e->state, ==, st[i]);
		rte_pktmbuf_free(m);
		if (i == 2) { /* the other side between: its own lookup, not the memo's */
			m = mktcp("1.1.1.1", "10.0.0.2", 443, 4000, 0x10, 3);
			ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
			g_assert_cmpint(vn_nat_process_memo(nt, m, false, 5, &r, &mm), ==,
					VN_NAT_INSIDE);
			g_assert_cmpuint(ip->dst_addr, ==, ip4("192.168.100.10"));
			assert_sums(m);
			rte_pktmbuf_free(m);
		}
	}
	vn_nat_memo_flush(nt, &mm);
	g_assert_null(mm.e);
	g_assert_cmpuint(e->packets[0], ==, 1 + G_N_ELEMENTS(fl));
	g_assert_cmpuint(e->packets[1], ==, 2);
	g_assert_cmpuint(e->bytes[0], ==, 40 + bytes);
	g_assert_cmpuint(nt->translated[0], ==, 1 + G_N_ELEMENTS(fl));
	g_assert_cmpuint(nt->translated[1], ==, 2);
	g_assert_cmpuint(e->expires, ==, 5 + 120 * 1000u); /* tcp_fin_wait from the last */
	/* UDP: the same, and a frame of the memo's flow at TTL 1 is not translated */
	m = mkpkt("192.168.100.10", "8.8.8.8", IPPROTO_UDP, 5000, 53, 7);
	g_assert_cmpint(vn_nat_process(nt, m, true, 0, &r), ==, VN_NAT_OUTSIDE);
	rte_pktmbuf_free(m);
	for (int i = 0; i < 4; i++) {
		struct rte_ipv4_hdr *ip;
		uint16_t port;

		m = mkpkt("192.168.100.10", "8.8.8.8", IPPROTO_UDP, 5000, 53, (uint16_t)(i * 9));
		ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
		if (i == 2) {
			ip->time_to_live = 1;
			ip->hdr_checksum = 0;
			ip->hdr_checksum = rte_ipv4_cksum(ip);
			g_assert_cmpint(vn_nat_process_memo(nt, m, true, 6, &r, &mm), ==,
					VN_NAT_INSIDE); /* time exceeded, back to the guest */
			g_assert_cmpuint(ip->next_proto_id, ==, IPPROTO_ICMP);
			rte_pktmbuf_free(m);
			continue;
		}
		g_assert_cmpint(vn_nat_process_memo(nt, m, true, 6, &r, &mm), ==, VN_NAT_OUTSIDE);
		g_assert_cmpuint(ip->src_addr, ==, ip4("10.0.0.2"));
		g_assert_cmpuint(ip->time_to_live, ==, 63);
		memcpy(&port, ip + 1, 2);
		g_assert_cmpuint(ntohs(port), ==, 5000);
		assert_sums(m);
		rte_pktmbuf_free(m);
	}
	vn_nat_memo_flush(nt, &mm);
	g_assert_cmpuint(nt->translated[0], ==, 1 + G_N_ELEMENTS(fl) + 4);
	nat_free(nt);
}

/* One UDP frame of 192.168.100.10:5000 -> 8.8.8.8:53 through memo @mm at @now (a worker's
 * burst of one); Return: where it went, @r's MAC in @dmac. */
static int memo_one(struct vn_nat *nt, struct vn_nat_memo *mm, uint64_t now,
		    struct rte_ether_addr *dmac)
{
	struct rte_mbuf *m = mkpkt("192.168.100.10", "8.8.8.8", IPPROTO_UDP, 5000, 53, 5);
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
	struct vn_nat_res r;
	int where;

	vn_nat_memo_resume(nt, mm, now);
	where = vn_nat_process_memo(nt, m, true, now, &r, mm);
	if (where == VN_NAT_OUTSIDE) {
		g_assert_cmpuint(ip->src_addr, ==, ip4("10.0.0.2"));
		assert_sums(m);
	}
	*dmac = r.dmac;
	vn_nat_memo_settle(nt, mm);
	rte_pktmbuf_free(m);
	return where;
}

/* A memo a worker keeps from one burst to the next (a NAT leg's): kept while its connection
 * is in the table and no route changed; void once the entry is removed, reused by another
 * connection, or a neighbour or the external next hop changed. Counters at every settle. */
static void test_memo_across_bursts(void)
{
	static const struct rte_ether_addr other = {{2, 0, 0, 0, 0, 0xfd}};
	struct vn_nat *nt = nat_new();
	struct vn_nat_memo mm = {.e = NULL};
	struct rte_ether_addr dmac;
	struct vn_ct_entry *e;

	vn_nat_neigh_set(nt, 1, ip4("10.0.0.254"), &nhmac);
	g_assert_cmpint(memo_one(nt, &mm, 1, &dmac), ==, VN_NAT_OUTSIDE); /* inserted */
	g_assert_cmpint(memo_one(nt, &mm, 2, &dmac), ==, VN_NAT_OUTSIDE); /* looked up */
	e = mm.e;
	g_assert_nonnull(e);
	g_assert_cmpuint(e->packets[0], ==, 2); /* settled, kept */
	g_assert_cmpuint(nt->translated[0], ==, 2);
	g_assert_cmpuint(mm.packets, ==, 0);
	/* the next bursts: the memo's, no lookup; the expiry follows each settle */
	g_assert_cmpint(memo_one(nt, &mm, 3, &dmac), ==, VN_NAT_OUTSIDE);
	g_assert_cmpint(memo_one(nt, &mm, 4000, &dmac), ==, VN_NAT_OUTSIDE);
	g_assert_true(mm.e == e);
	g_assert_cmpuint(e->packets[0], ==, 4);
	g_assert_cmpuint(e->expires, ==, 4000 + 30 * 1000u);
	/* the same neighbour said again: nothing changed, kept */
	vn_nat_neigh_set(nt, 1, ip4("10.0.0.254"), &nhmac);
	vn_nat_memo_resume(nt, &mm, 4001);
	g_assert_true(mm.e == e);
	/* the next hop's MAC changes: void, the next frame takes the new one */
	vn_nat_neigh_set(nt, 1, ip4("10.0.0.254"), &other);
	vn_nat_memo_resume(nt, &mm, 4002);
	g_assert_null(mm.e);
	g_assert_cmpint(memo_one(nt, &mm, 4003, &dmac), ==, VN_NAT_OUTSIDE);
	g_assert_true(rte_is_same_ether_addr(&dmac, &other));
	g_assert_true(mm.e == e);
	/* removed (a flush): void */
	g_assert_cmpuint(vn_ct_flush(nt->ct), ==, 1);
	vn_nat_memo_resume(nt, &mm, 4004);
	g_assert_null(mm.e);
	/* removed and the entry reused by another connection: void too */
	g_assert_cmpint(memo_one(nt, &mm, 4005, &dmac), ==, VN_NAT_OUTSIDE); /* inserted */
	g_assert_null(mm.e);
	g_assert_cmpint(memo_one(nt, &mm, 4005, &dmac), ==, VN_NAT_OUTSIDE);
	e = mm.e;
	g_assert_nonnull(e);
	g_assert_cmpuint(vn_ct_flush(nt->ct), ==, 1);
	{
		struct rte_mbuf *m = mkpkt("192.168.100.11", "9.9.9.9", IPPROTO_UDP, 7, 7, 1);
		struct vn_nat_res r;
		g_assert_cmpint(vn_nat_process(nt, m, true, 4006, &r), ==, VN_NAT_OUTSIDE);
		rte_pktmbuf_free(m);
	}
	g_assert_true(vn_ct_in_table(e)); /* the same memory, another connection */
	vn_nat_memo_resume(nt, &mm, 4007);
	g_assert_null(mm.e);
	/* the external address or next hop changing (--masquerade) counts as a route change */
	g_assert_cmpint(memo_one(nt, &mm, 4008, &dmac), ==, VN_NAT_OUTSIDE); /* inserted */
	g_assert_cmpint(memo_one(nt, &mm, 4008, &dmac), ==, VN_NAT_OUTSIDE);
	g_assert_nonnull(mm.e);
	__atomic_store_n(&nt->route_gen, nt->route_gen + 1, __ATOMIC_RELEASE);
	vn_nat_memo_resume(nt, &mm, 4009);
	g_assert_null(mm.e);
	nat_free(nt);
}

static void test_ports_and_drops(void)
{
	struct rte_mbuf *held;
	struct vn_nat *nt = nat_new();
	struct vn_nat_res r;
	struct rte_ipv4_hdr *ip;
	struct rte_mbuf *m;

	vn_nat_neigh_set(nt, 1, ip4("10.0.0.254"), &nhmac);
	/* five guests with the same source port to one server: the first keeps it, the next
	 * take the range's four ports, the last finds none */
	for (int i = 0; i < 6; i++) {
		char src[32];
		uint16_t sp;
		snprintf(src, sizeof(src), "192.168.100.%d", 10 + i);
		m = mkpkt(src, "1.1.1.1", IPPROTO_UDP, 5000, 53, 4);
		ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
		g_assert_cmpint(vn_nat_process(nt, m, true, 0, &r), ==,
				i < 5 ? VN_NAT_OUTSIDE : VN_NAT_DROPPED);
		memcpy(&sp, ip + 1, 2);
		if (i == 0)
			g_assert_cmpuint(ntohs(sp), ==, 5000);
		else if (i < 5)
			g_assert_true(ntohs(sp) >= 20000 && ntohs(sp) <= 20003);
		rte_pktmbuf_free(m);
	}
	g_assert_cmpuint(nt->drops[VN_NAT_NO_PORT], ==, 1);
	/* unsolicited from the outside, a TCP ACK without a connection, a fragment, cut short */
	m = mkpkt("1.1.1.1", "10.0.0.2", IPPROTO_UDP, 53, 7777, 4);
	g_assert_cmpint(vn_nat_process(nt, m, false, 0, &r), ==, VN_NAT_OUTSIDE); /* refused */
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
	g_assert_cmpuint(((uint8_t *)(ip + 1))[0], ==, 3); /* port unreachable */
	g_assert_cmpuint(ip->src_addr, ==, ip4("10.0.0.2"));
	g_assert_cmpuint(ip->dst_addr, ==, ip4("1.1.1.1"));
	assert_sums(m);
	rte_pktmbuf_free(m);
	g_assert_cmpuint(nt->drops[VN_NAT_NO_CONNECTION], ==, 1);
	m = mkpkt("1.1.1.1", "10.0.0.2", IPPROTO_TCP, 5555, 81, 0); /* a SYN to a closed port */
	g_assert_cmpint(vn_nat_process(nt, m, false, 0, &r), ==, VN_NAT_OUTSIDE);
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
	g_assert_cmpuint(((struct rte_tcp_hdr *)(ip + 1))->tcp_flags, ==,
			 RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG);
	g_assert_cmpuint(ntohl(((struct rte_tcp_hdr *)(ip + 1))->recv_ack), ==,
			 1); /* SEQ 0 + SYN */
	assert_sums(m);
	rte_pktmbuf_free(m);
	g_assert_cmpuint(nt->drops[VN_NAT_NO_CONNECTION], ==, 2);
	m = mkpkt("192.168.100.10", "1.1.1.1", IPPROTO_TCP, 5000, 80, 0);
	rte_pktmbuf_mtod_offset(m, uint8_t *, 34 + 13)[0] = 0x10;
	g_assert_cmpint(vn_nat_process(nt, m, true, 0, &r), ==, VN_NAT_DROPPED);
	rte_pktmbuf_free(m);
	g_assert_cmpuint(nt->drops[VN_NAT_NO_CONNECTION], ==, 3);
	/* fragments: a later one of an unknown datagram is held (out of order); the first one
	 * is translated and releases it, and the later ones of its datagram follow it */
	m = mkpkt("192.168.100.12", "1.1.1.1", IPPROTO_UDP, 0x1111, 0x2222, 8);
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
	ip->packet_id = htons(99);
	ip->fragment_offset = htons(1); /* 8 bytes on */
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	g_assert_cmpint(vn_nat_process(nt, m, true, 0, &r), ==, VN_NAT_HELD);
	g_assert_cmpuint(nt->frag_held, ==, 1);
	g_assert_cmpuint(nt->drops[VN_NAT_FRAGMENT], ==, 0);
	held = m;
	m = mkpkt("192.168.100.12", "1.1.1.1", IPPROTO_UDP, 4444, 53, 4);
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
	ip->packet_id = htons(99);
	ip->fragment_offset = htons(RTE_IPV4_HDR_MF_FLAG);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	g_assert_cmpint(vn_nat_process(nt, m, true, 1, &r), ==, VN_NAT_OUTSIDE);
	g_assert_cmpuint(ip->src_addr, ==, ip4("10.0.0.2"));
	g_assert_cmpuint(r.nmore, ==, 1);
	g_assert_true(r.more[0] == held);
	ip = rte_pktmbuf_mtod_offset(held, struct rte_ipv4_hdr *, 14);
	g_assert_cmpuint(ip->src_addr, ==, ip4("10.0.0.2"));
	g_assert_cmpuint(ip->time_to_live, ==, 63);
	g_assert_cmpuint(rte_ipv4_cksum(ip), ==, 0);
	g_assert_cmpuint(nt->frag_released, ==, 1);
	rte_pktmbuf_free(held);
	rte_pktmbuf_free(m);
	m = mkpkt("192.168.100.12", "1.1.1.1", IPPROTO_UDP, 0x1111, 0x2222, 8);
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
	ip->packet_id = htons(99);
	ip->fragment_offset = htons(1);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	g_assert_cmpint(vn_nat_process(nt, m, true, 2, &r), ==, VN_NAT_OUTSIDE);
	g_assert_cmpuint(ip->src_addr, ==, ip4("10.0.0.2"));
	g_assert_cmpuint(ntohs(*(uint16_t *)(ip + 1)), ==, 0x1111); /* payload untouched */
	g_assert_cmpuint(rte_ipv4_cksum(ip), ==, 0);
	g_assert_true(rte_is_same_ether_addr(&r.dmac, &nhmac));
	rte_pktmbuf_free(m);
	for (uint16_t cut = 14; cut < 14 + 20 + 8; cut += 3) {
		m = mkpkt("192.168.100.10", "1.1.1.1", IPPROTO_UDP, 5000, 53, 0);
		rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - cut));
		g_assert_cmpint(vn_nat_process(nt, m, true, 0, &r), ==, VN_NAT_DROPPED);
		rte_pktmbuf_free(m);
	}
	g_assert_cmpuint(nt->drops[VN_NAT_MALFORMED], >=, 9);
	/* TTL 1: the frame comes back as the gateway's time exceeded quoting it */
	m = mkpkt("192.168.100.10", "1.1.1.1", IPPROTO_UDP, 33434, 33434, 32);
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
	ip->time_to_live = 1;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	{
		uint8_t orig[28];
		memcpy(orig, ip, 28);
		g_assert_cmpint(vn_nat_process(nt, m, true, 0, &r), ==, VN_NAT_INSIDE);
		g_assert_true(rte_is_same_ether_addr(&r.dmac, &gmac));
		g_assert_cmpuint(rte_pktmbuf_pkt_len(m), ==, 14 + 20 + 8 + 28);
		g_assert_cmpuint(ip->src_addr, ==, ip4("192.168.100.1"));
		g_assert_cmpuint(ip->dst_addr, ==, ip4("192.168.100.10"));
		g_assert_cmpuint(((uint8_t *)(ip + 1))[0], ==, 11);
		g_assert_cmpmem((uint8_t *)(ip + 1) + 8, 28, orig, 28);
		assert_sums(m);
	}
	rte_pktmbuf_free(m);
	nat_free(nt);
}

static void test_forward_and_icmp_error(void)
{
	struct vn_nat *nt = nat_new();
	const struct rte_ether_addr g2 = {{2, 0, 0, 0, 0, 2}};
	struct vn_nat_res r;
	struct rte_mbuf *m, *e;
	struct rte_ipv4_hdr *ip;
	uint8_t *p;

	vn_nat_neigh_set(nt, 1, ip4("10.0.0.254"), &nhmac);
	nt->fwd[nt->nfwd++] =
	    (struct vn_nat_fwd){IPPROTO_TCP, htons(2222), ip4("192.168.100.20"), htons(22)};
	m = mkpkt("5.5.5.5", "10.0.0.2", IPPROTO_TCP, 6000, 2222, 0);
	g_assert_cmpint(vn_nat_process(nt, m, false, 0, &r), ==, VN_NAT_DROPPED);
	g_assert_cmpuint(r.resolve, ==, ip4("192.168.100.20")); /* the guest's MAC is wanted */
	g_assert_cmpint(r.resolve_side, ==, 0);
	rte_pktmbuf_free(m);
	vn_nat_neigh_set(nt, 0, ip4("192.168.100.20"), &g2);
	m = mkpkt("5.5.5.5", "10.0.0.2", IPPROTO_TCP, 6000, 2222, 0);
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
	g_assert_cmpint(vn_nat_process(nt, m, false, 0, &r), ==, VN_NAT_INSIDE);
	g_assert_true(rte_is_same_ether_addr(&r.dmac, &g2));
	g_assert_cmpuint(ip->dst_addr, ==, ip4("192.168.100.20"));
	g_assert_cmpuint(ntohs(((struct rte_tcp_hdr *)(ip + 1))->dst_port), ==, 22);
	assert_sums(m);
	rte_pktmbuf_free(m);

	/* an outbound UDP flow, then a port unreachable about it from a router */
	m = mkpkt("192.168.100.10", "9.9.9.9", IPPROTO_UDP, 7000, 33434, 10);
	g_assert_cmpint(vn_nat_process(nt, m, true, 0, &r), ==, VN_NAT_OUTSIDE);
	e = rte_pktmbuf_alloc(mp);
	p = (uint8_t *)rte_pktmbuf_append(e, 14 + 20 + 8 + 28);
	memset(p, 0, 14 + 20 + 8);
	p[12] = 0x08;
	ip = (struct rte_ipv4_hdr *)(p + 14);
	ip->version_ihl = 0x45;
	ip->total_length = htons(20 + 8 + 28);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_ICMP;
	ip->src_addr = ip4("7.7.7.7");
	ip->dst_addr = ip4("10.0.0.2");
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	p[34] = 3, p[35] = 3;					       /* port unreachable */
	memcpy(p + 42, rte_pktmbuf_mtod_offset(m, uint8_t *, 14), 28); /* the quote */
	memcpy(p + 36, &(uint16_t){htons(full_sum(p + 34, 36))}, 2);
	rte_pktmbuf_free(m);
	g_assert_cmpint(vn_nat_process(nt, e, false, 0, &r), ==, VN_NAT_INSIDE);
	g_assert_cmpuint(ip->dst_addr, ==, ip4("192.168.100.10"));
	g_assert_cmpuint(ip->src_addr, ==, ip4("7.7.7.7"));
	{
		struct rte_ipv4_hdr *q = (struct rte_ipv4_hdr *)(p + 42);
		g_assert_cmpuint(q->src_addr, ==, ip4("192.168.100.10"));
		g_assert_cmpuint(rte_ipv4_cksum(q), ==, 0);
		g_assert_cmpuint(ntohs(*(uint16_t *)(q + 1)), ==, 7000);
	}
	assert_sums(e);
	rte_pktmbuf_free(e);
	/* an error quoting nothing tracked */
	m = mkpkt("5.5.5.5", "10.0.0.2", IPPROTO_ICMP, 1, 0, 28);
	rte_pktmbuf_mtod_offset(m, uint8_t *, 34)[0] = 11;
	g_assert_cmpint(vn_nat_process(nt, m, false, 0, &r), ==, VN_NAT_DROPPED);
	g_assert_cmpuint(nt->drops[VN_NAT_BAD_ICMP_ERROR], ==, 1);
	rte_pktmbuf_free(m);
	nat_free(nt);
}

/* A guest's frame whose UDP checksum an offload would finish (pseudo-header sum only). */
/* Out-of-order fragments: at most VN_NAT_HOLD held, the others dropped; held ones expire. */
static void test_fragments_held(void)
{
	struct vn_nat *nt = nat_new();
	struct vn_nat_res r;

	for (uint16_t id = 0; id < VN_NAT_HOLD + 1; id++) {
		struct rte_mbuf *m = mkpkt("192.168.100.12", "1.1.1.1", IPPROTO_UDP, 1, 2, 8);
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
		ip->packet_id = htons(id);
		ip->fragment_offset = htons(2);
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		g_assert_cmpint(vn_nat_process(nt, m, true, 10, &r), ==,
				id < VN_NAT_HOLD ? VN_NAT_HELD : VN_NAT_DROPPED);
		if (id == VN_NAT_HOLD)
			rte_pktmbuf_free(m);
	}
	g_assert_cmpuint(nt->frag_held, ==, VN_NAT_HOLD);
	g_assert_cmpuint(nt->drops[VN_NAT_FRAGMENT], ==, 1);
	vn_nat_hold_expire(nt, 10 + VN_NAT_HOLD_MS - 1); /* not yet */
	g_assert_cmpuint(nt->drops[VN_NAT_FRAGMENT], ==, 1);
	vn_nat_hold_expire(nt, 10 + VN_NAT_HOLD_MS);
	g_assert_cmpuint(nt->drops[VN_NAT_FRAGMENT], ==, 1 + VN_NAT_HOLD);
	nat_free(nt);
}

static void test_unfinished_checksum(void)
{
	struct vn_nat *nt = nat_new();
	struct rte_mbuf *m = mkpkt("192.168.100.10", "8.8.8.8", IPPROTO_UDP, 4000, 53, 21);
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
	struct rte_udp_hdr *uh = (struct rte_udp_hdr *)(ip + 1);
	struct vn_nat_res r;

	vn_nat_neigh_set(nt, 1, ip4("10.0.0.254"), &nhmac);
	uh->dgram_cksum = rte_ipv4_phdr_cksum(ip, 0);
	m->ol_flags |= RTE_MBUF_F_TX_UDP_CKSUM | RTE_MBUF_F_TX_IPV4;
	m->l2_len = 14, m->l3_len = 20;
	g_assert_cmpint(vn_nat_process(nt, m, true, 0, &r), ==, VN_NAT_OUTSIDE);
	g_assert_cmpuint(m->ol_flags & RTE_MBUF_F_TX_L4_MASK, ==, 0);
	assert_sums(m);
	rte_pktmbuf_free(m);
	nat_free(nt);
}

/* ---- DHCP ---- */

static size_t dhcp_msg(uint8_t *f, uint8_t type, const struct rte_ether_addr *ch, uint32_t want,
		       uint32_t sid)
{
	uint8_t *b = f + 42, *o;

	memset(f, 0, 400);
	memset(f, 0xff, 6);
	memcpy(f + 6, ch, 6);
	f[12] = 0x08;
	f[14] = 0x45, f[23] = 17;
	f[36] = 0, f[37] = 67;
	b[0] = 1, b[1] = 1, b[2] = 6;
	memcpy(b + 28, ch, 6);
	memcpy(b + 236, &(uint32_t){htonl(0x63825363)}, 4);
	o = b + 240;
	*o++ = 53, *o++ = 1, *o++ = type;
	if (want)
		*o++ = 50, *o++ = 4, memcpy(o, &want, 4), o += 4;
	if (sid)
		*o++ = 54, *o++ = 4, memcpy(o, &sid, 4), o += 4;
	*o++ = 255;
	return (size_t)(o - f);
}

static uint32_t yiaddr_of(const uint8_t *reply, uint8_t *type)
{
	uint32_t a;

	memcpy(&a, reply + 42 + 16, 4);
	*type = reply[42 + 240 + 2];
	return a;
}

static void test_dhcp(void)
{
	struct vn_dhcp_cfg c = {.server = ip4("192.168.100.1"),
				.router = ip4("192.168.100.1"),
				.mask = ip4("255.255.255.0"),
				.dns = ip4("9.9.9.9"),
				.lo = ip4("192.168.100.10"),
				.hi = ip4("192.168.100.11")};
	g_autoptr(vn_dhcp) d = vn_dhcp_new(&c);
	const struct rte_ether_addr srv = {{2, 0x67, 1, 2, 3, 4}};
	struct rte_ether_addr ch[3] = {
	    {{2, 0, 0, 0, 1, 1}}, {{2, 0, 0, 0, 1, 2}}, {{2, 0, 0, 0, 1, 3}}};
	uint8_t f[400], out[VN_DHCP_REPLY_MAX], type;
	int n;

	for (int i = 0; i < 3; i++) {
		n = vn_dhcp_input(d, f, dhcp_msg(f, 1, &ch[i], 0, 0), 1000, &srv, out, sizeof(out));
		if (i == 2) { /* the pool has two addresses */
			g_assert_cmpint(n, ==, 0);
			break;
		}
		g_assert_cmpint(n, >, 0);
		g_assert_cmpuint(yiaddr_of(out, &type), ==, htonl(ntohl(c.lo) + (uint32_t)i));
		g_assert_cmpuint(type, ==, 2); /* OFFER */
		g_assert_cmpuint(rte_ipv4_cksum((struct rte_ipv4_hdr *)(out + 14)), ==, 0);
		n = vn_dhcp_input(d, f, dhcp_msg(f, 3, &ch[i], yiaddr_of(out, &type), c.server),
				  1000, &srv, out, sizeof(out));
		g_assert_cmpint(n, >, 0);
		yiaddr_of(out, &type);
		g_assert_cmpuint(type, ==, 5); /* ACK */
		g_assert_cmpuint(vn_dhcp_lease_of(d, &ch[i], 2000), ==,
				 htonl(ntohl(c.lo) + (uint32_t)i));
	}
	/* asking for another's address: NAK; a release frees it for the third client */
	n = vn_dhcp_input(d, f, dhcp_msg(f, 3, &ch[2], c.lo, c.server), 1000, &srv, out,
			  sizeof(out));
	yiaddr_of(out, &type);
	g_assert_cmpuint(type, ==, 6);
	g_assert_cmpint(
	    vn_dhcp_input(d, f, dhcp_msg(f, 7, &ch[0], 0, 0), 1000, &srv, out, sizeof(out)), ==, 0);
	g_assert_cmpuint(vn_dhcp_lease_of(d, &ch[0], 2000), ==, 0);
	n = vn_dhcp_input(d, f, dhcp_msg(f, 1, &ch[2], 0, 0), 1000, &srv, out, sizeof(out));
	g_assert_cmpuint(yiaddr_of(out, &type), ==, c.lo);
	/* a static lease: its client gets it whatever it asks for, nobody else does */
	{
		const struct rte_ether_addr sc = {{2, 0, 0, 0, 2, 9}};
		uint32_t sip = ip4("192.168.100.50");
		g_assert_cmpint(vn_dhcp_static_add(d, &sc, sip), ==, 0);
		g_assert_cmpint(vn_dhcp_static_add(d, &ch[0], sip), ==, -EEXIST);
		n = vn_dhcp_input(d, f, dhcp_msg(f, 1, &sc, c.lo, 0), 1000, &srv, out, sizeof(out));
		g_assert_cmpuint(yiaddr_of(out, &type), ==, sip);
		n = vn_dhcp_input(d, f, dhcp_msg(f, 3, &sc, c.lo, c.server), 1000, &srv, out,
				  sizeof(out));
		yiaddr_of(out, &type);
		g_assert_cmpuint(type, ==, 6); /* NAK: not its address */
		n = vn_dhcp_input(d, f, dhcp_msg(f, 3, &sc, sip, c.server), 1000, &srv, out,
				  sizeof(out));
		g_assert_cmpuint(yiaddr_of(out, &type), ==, sip);
		g_assert_cmpuint(type, ==, 5);
		n = vn_dhcp_input(d, f, dhcp_msg(f, 3, &ch[1], sip, c.server), 1000, &srv, out,
				  sizeof(out));
		yiaddr_of(out, &type);
		g_assert_cmpuint(type, ==, 6); /* another's static address */
	}
	/* malformed: cut BOOTP, a bad magic */
	g_assert_cmpint(vn_dhcp_input(d, f, 60, 1000, &srv, out, sizeof(out)), ==, -EBADMSG);
	dhcp_msg(f, 1, &ch[2], 0, 0);
	f[42 + 236] = 0;
	g_assert_cmpint(vn_dhcp_input(d, f, 300, 1000, &srv, out, sizeof(out)), ==, -EBADMSG);
}

/* --masquerade: SNAT to the host's address counts its ports; a forward too; the host's own
 * traffic is only dropped (no RST, unreachable or echo reply of vnicd's). */
static void test_host_ports(void)
{
	static uint32_t refs[2 * 65536];
	struct vn_nat *nt = nat_new();
	struct vn_nat_res r;
	struct rte_mbuf *m;
	struct rte_ipv4_hdr *ip;

	memset(refs, 0, sizeof(refs));
	nt->host_ext = true;
	nt->ct->port_refs = refs;
	vn_nat_neigh_set(nt, 1, ip4("10.0.0.254"), &nhmac);
	/* source ports in the range (20000-20003) are kept; 4000 is not on the host's address */
	m = mkpkt("192.168.100.10", "1.1.1.1", IPPROTO_TCP, 20000, 80, 0);
	g_assert_cmpint(vn_nat_process(nt, m, true, 0, &r), ==, VN_NAT_OUTSIDE);
	rte_pktmbuf_free(m);
	m = mkpkt("192.168.100.10", "1.1.1.1", IPPROTO_UDP, 20001, 53, 4);
	g_assert_cmpint(vn_nat_process(nt, m, true, 0, &r), ==, VN_NAT_OUTSIDE);
	rte_pktmbuf_free(m);
	m = mkpkt("192.168.100.10", "1.1.1.1", IPPROTO_ICMP, 20002, 0, 4); /* not counted */
	g_assert_cmpint(vn_nat_process(nt, m, true, 0, &r), ==, VN_NAT_OUTSIDE);
	rte_pktmbuf_free(m);
	g_assert_cmpuint(refs[20000], ==, 1);
	g_assert_cmpuint(refs[65536 + 20001], ==, 1);
	g_assert_cmpuint(refs[20002] + refs[65536 + 20002] + refs[20001] + refs[65536 + 20000], ==,
			 0);
	m = mkpkt("192.168.100.10", "1.1.1.2", IPPROTO_TCP, 4000, 80, 0);
	g_assert_cmpint(vn_nat_process(nt, m, true, 0, &r), ==, VN_NAT_OUTSIDE);
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
	{
		uint16_t sp = rte_be_to_cpu_16(((struct rte_tcp_hdr *)(ip + 1))->src_port);
		g_assert_cmpuint(sp, >=, 20000);
		g_assert_cmpuint(sp, <=, 20003);
		g_assert_cmpuint(refs[sp], ==, sp == 20000 ? 2 : 1);
	}
	g_assert_cmpuint(refs[4000], ==, 0);
	rte_pktmbuf_free(m);
	vn_ct_lock(nt->ct);
	vn_ct_port_ref(nt->ct, IPPROTO_TCP, htons(2222), 1); /* a forward */
	vn_ct_port_ref(nt->ct, IPPROTO_ICMP, htons(2222), 1);
	vn_ct_unlock(nt->ct);
	g_assert_cmpuint(refs[2222], ==, 1);
	/* the host's own: a SYN-ACK and UDP to ports NAT does not know, a ping: only dropped */
	m = mkpkt("1.1.1.1", "10.0.0.2", IPPROTO_TCP, 80, 40000, 0);
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
	((uint8_t *)(ip + 1))[13] = 0x12;
	g_assert_cmpint(vn_nat_process(nt, m, false, 0, &r), ==, VN_NAT_DROPPED);
	rte_pktmbuf_free(m);
	m = mkpkt("1.1.1.1", "10.0.0.2", IPPROTO_UDP, 53, 40001, 4);
	g_assert_cmpint(vn_nat_process(nt, m, false, 0, &r), ==, VN_NAT_DROPPED);
	rte_pktmbuf_free(m);
	m = mkpkt("1.1.1.1", "10.0.0.2", IPPROTO_ICMP, 7, 0, 4);
	g_assert_cmpint(vn_nat_process(nt, m, false, 0, &r), ==, VN_NAT_DROPPED);
	rte_pktmbuf_free(m);
	g_assert_cmpuint(nt->drops[VN_NAT_NO_CONNECTION], ==, 3);
	/* the entries go: their counts with them */
	g_assert_cmpuint(vn_ct_flush(nt->ct), ==, 4);
	for (unsigned port = 20000; port <= 20003; port++)
		g_assert_cmpuint(refs[port] + refs[65536 + port], ==, 0);
	g_assert_cmpuint(refs[2222], ==, 1);
	nt->ct->port_refs = NULL;
	nat_free(nt);
}

int main(int argc, char **argv)
{
	int rc;

	g_test_init(&argc, &argv, NULL);
	vn_test_eal_init();
	mp = rte_pktmbuf_pool_create("nat", 1024, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	g_assert_nonnull(mp);
	g_test_add_func("/nat/csum_adjust", test_csum_adjust);
	g_test_add_func("/nat/conntrack_reference", test_conntrack_reference);
	g_test_add_func("/nat/conntrack_full_tcp", test_conntrack_full_and_tcp);
	g_test_add_func("/nat/conntrack_100k", test_conntrack_100k);
	g_test_add_func("/nat/conntrack_lockfree", test_conntrack_lockfree);
	g_test_add_func("/nat/snat_round_trip", test_snat_round_trip);
	g_test_add_func("/nat/memo_burst", test_memo_burst);
	g_test_add_func("/nat/memo_across_bursts", test_memo_across_bursts);
	g_test_add_func("/nat/ports_and_drops", test_ports_and_drops);
	g_test_add_func("/nat/forward_icmp_error", test_forward_and_icmp_error);
	g_test_add_func("/nat/unfinished_checksum", test_unfinished_checksum);
	g_test_add_func("/nat/fragments_held", test_fragments_held);
	g_test_add_func("/nat/dhcp", test_dhcp);
	g_test_add_func("/nat/host_ports", test_host_ports);
	rc = g_test_run();
	g_assert_cmpuint(rte_mempool_in_use_count(mp), ==, 0);
	return rc;
}

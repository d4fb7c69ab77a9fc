/* SPDX-License-Identifier: MIT */
/* Chains for an uplink that cannot send them: vn_mbuf_linearize() copies or refuses. */
#include <string.h>

#include <glib.h>
#include <rte_mbuf.h>

#include "testutil.h"
#include "vnicd/uplink.h"

static struct rte_mempool *mp;

/* A chain of @nseg segments of the lengths in @lens, bytes numbered from 0 across it. */
static struct rte_mbuf *chain(const uint16_t *lens, unsigned nseg)
{
	struct rte_mbuf *head = NULL;
	uint8_t v = 0;

	for (unsigned i = 0; i < nseg; i++) {
		struct rte_mbuf *s = rte_pktmbuf_alloc(mp);
		uint8_t *p;

		g_assert_nonnull(s);
		p = (uint8_t *)rte_pktmbuf_append(s, lens[i]);
		g_assert_nonnull(p);
		for (unsigned j = 0; j < lens[i]; j++)
			p[j] = v++;
		if (!head)
			head = s;
		else
			g_assert_cmpint(rte_pktmbuf_chain(head, s), ==, 0);
	}
	return head;
}

static void check_flat(const struct rte_mbuf *m, uint32_t len)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);

	g_assert_cmpuint(m->nb_segs, ==, 1);
	g_assert_cmpuint(rte_pktmbuf_pkt_len(m), ==, len);
	g_assert_cmpuint(rte_pktmbuf_data_len(m), ==, len);
	for (uint32_t j = 0; j < len; j++)
		g_assert_cmpuint(p[j], ==, (uint8_t)j);
}

static void test_two_three_segments(void)
{
	static const uint16_t two[] = {54, 1400}, three[] = {14, 501, 999};
	unsigned avail = rte_mempool_avail_count(mp);
	struct rte_mbuf *m = chain(two, 2), *l;

	m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_VLAN;
	m->l2_len = 14;
	m->l3_len = 20;
	m->vlan_tci = 42;
	l = vn_mbuf_linearize(m, mp);
	g_assert_nonnull(l);
	check_flat(l, 1454);
	g_assert_cmphex(l->ol_flags, ==,
			RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_VLAN);
	g_assert_cmpuint(l->l2_len, ==, 14);
	g_assert_cmpuint(l->l3_len, ==, 20);
	g_assert_cmpuint(l->vlan_tci, ==, 42);
	rte_pktmbuf_free(l);

	m = chain(three, 3); /* odd lengths */
	l = vn_mbuf_linearize(m, mp);
	g_assert_nonnull(l);
	check_flat(l, 14 + 501 + 999);
	rte_pktmbuf_free(l);
	g_assert_cmpuint(rte_mempool_avail_count(mp), ==, avail); /* the chains went back */
}

/* A flood shares the chain (refcnt 2): the copy leaves the other reference intact. */
static void test_shared(void)
{
	static const uint16_t two[] = {100, 200};
	struct rte_mbuf *m = chain(two, 2), *l;

	rte_pktmbuf_refcnt_update(m, 1);
	l = vn_mbuf_linearize(m, mp);
	g_assert_nonnull(l);
	g_assert_true(l != m);
	check_flat(l, 300);
	g_assert_cmpuint(rte_mbuf_refcnt_read(m), ==, 1);
	g_assert_cmpuint(m->nb_segs, ==, 2);
	g_assert_cmpuint(rte_pktmbuf_pkt_len(m), ==, 300);
	rte_pktmbuf_free(l);
	rte_pktmbuf_free(m);
}

static void test_single_and_too_large(void)
{
	static const uint16_t one[] = {60}, big[] = {1500, 1500, 1500};
	struct rte_mbuf *m = chain(one, 1), *b;
	unsigned avail;

	g_assert_true(vn_mbuf_linearize(m, mp) == m); /* nothing to do */
	rte_pktmbuf_free(m);

	b = chain(big, 3); /* 4500 bytes: more than one mbuf of the pool holds */
	avail = rte_mempool_avail_count(mp);
	g_assert_null(vn_mbuf_linearize(b, mp));
	g_assert_cmpuint(b->nb_segs, ==, 3); /* untouched, still ours */
	g_assert_cmpuint(rte_pktmbuf_pkt_len(b), ==, 4500);
	g_assert_cmpuint(rte_mbuf_refcnt_read(b), ==, 1);
	g_assert_cmpuint(rte_mempool_avail_count(mp), ==, avail); /* no copy leaked */
	rte_pktmbuf_free(b);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	vn_test_eal_init();
	mp = rte_pktmbuf_pool_create("t_uplink", 256, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     SOCKET_ID_ANY);
	g_assert_nonnull(mp);
	g_test_add_func("/uplink/linearize_two_three", test_two_three_segments);
	g_test_add_func("/uplink/linearize_shared", test_shared);
	g_test_add_func("/uplink/linearize_single_too_large", test_single_and_too_large);
	return g_test_run();
}

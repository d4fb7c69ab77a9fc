/* SPDX-License-Identifier: MIT */
/* The bounds of guest-supplied vhost-user queue indices: only the pairs a port allocated. */
#include <glib.h>

#include "vnicd/port.h"
#include "vnicd/vhost.h"

/* A vring the front end names maps to a mask bit only when the port allocated its pair. */
static void test_pair_bit(void)
{
	g_assert_cmpuint(vn_vhost_pair_bit(0, 1), ==, 1);
	g_assert_cmpuint(vn_vhost_pair_bit(1, 1), ==, 0);
	g_assert_cmpuint(vn_vhost_pair_bit(15, VN_MAX_QUEUES), ==, 1u << 15);
	for (uint32_t qp = VN_MAX_QUEUES; qp < 200; qp++) /* the library allows up to 128 pairs */
		g_assert_cmpuint(vn_vhost_pair_bit(qp, VN_MAX_QUEUES), ==, 0);
	g_assert_cmpuint(vn_vhost_pair_bit(3, 4), ==, 1u << 3);
	g_assert_cmpuint(vn_vhost_pair_bit(4, 4), ==, 0);
}

/*
 * Issue 16: a front end enabling only guest-RX vrings of pairs >= 16 (mask bits 16..31)
 * made the worker pick pair 16+ and lock txlock[16+] of a 16-entry array.
 */
static void test_tx_pair_bounded(void)
{
	for (uint16_t queues = 1; queues <= VN_MAX_QUEUES; queues++)
		for (uint16_t q = 0; q < VN_MAX_QUEUES; q++) {
			/* only pairs the port never allocated are enabled: nothing to enqueue on */
			g_assert_cmpint(vn_vhost_tx_pair(0xffff0000u, queues, q), ==, -1);
			g_assert_cmpint(vn_vhost_tx_pair(~0u << queues, queues, q), ==, -1);
			g_assert_cmpint(vn_vhost_tx_pair(0, queues, q), ==, -1);
			/* every result is an allocated pair */
			for (uint32_t en = 1; en < (1u << 20); en = en * 3 + 1) {
				int p = vn_vhost_tx_pair(en, queues, q);
				g_assert_cmpint(p, <, queues);
				if (p >= 0)
					g_assert_true(en & (1u << p));
			}
		}
}

static void test_tx_pair_choice(void)
{
	g_assert_cmpint(vn_vhost_tx_pair(0xf, 4, 2), ==, 2);	       /* its own when enabled */
	g_assert_cmpint(vn_vhost_tx_pair(0x3, 4, 3), ==, 0);	       /* else the lowest */
	g_assert_cmpint(vn_vhost_tx_pair(0x10004, 4, 0), ==, 2);       /* bit 16 not allocated */
	g_assert_cmpint(vn_vhost_tx_pair(0x80000000u, 16, 0), ==, -1); /* pair 31 */
	g_assert_cmpint(vn_vhost_tx_pair(0xfffff, 1, 0), ==, 0); /* 20 pairs on a 1-pair port */
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/vhost/pair_bit", test_pair_bit);
	g_test_add_func("/vhost/tx_pair_bounded", test_tx_pair_bounded);
	g_test_add_func("/vhost/tx_pair_choice", test_tx_pair_choice);
	return g_test_run();
}

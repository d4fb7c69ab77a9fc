/* SPDX-License-Identifier: MIT */
/* Shared set-up of the unit tests: a small DPDK EAL without hugepages or shared files. */
#ifndef VNICD_TESTUTIL_H
#define VNICD_TESTUTIL_H

#include <glib.h>
#include <rte_eal.h>

/** vn_test_eal_init() - initialise EAL in memory only; aborts the test on failure. */
static inline void vn_test_eal_init(void)
{
	char *argv[] = {"unit", "--no-huge", "-m", "256", "--no-pci", "--no-telemetry",
			"--no-shconf", "--log-level=*:error", "-l", "0", NULL};

	g_assert_cmpint(rte_eal_init(G_N_ELEMENTS(argv) - 1, argv), >=, 0);
}

#endif

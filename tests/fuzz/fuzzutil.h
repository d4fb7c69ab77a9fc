/* SPDX-License-Identifier: MIT */
/* Shared set-up of the libFuzzer targets that need DPDK. */
#ifndef VNICD_FUZZUTIL_H
#define VNICD_FUZZUTIL_H

#include <glib.h>
#include <rte_eal.h>

#include "vnicd/log.h"

/** vn_fuzz_eal_init() - a small EAL in memory, quiet logs; traps on failure. */
static inline void vn_fuzz_eal_init(void)
{
	char *eal[] = {
	    "fuzz",	   "--no-huge",		  "-m", "256", "--no-pci", "--no-telemetry",
	    "--no-shconf", "--log-level=*:error", "-l", "0",   NULL};

	vn_log_set_level(VN_LOG_ERR);
	if (rte_eal_init(G_N_ELEMENTS(eal) - 1, eal) < 0)
		__builtin_trap();
}

#endif

/* SPDX-License-Identifier: MIT */
/* Counter arithmetic and the stable names of drop reasons. */
#include <stddef.h>

#include "vnicd/stats.h"

static const char *const drop_names[VN_DROP__MAX] = {
	[VN_DROP_MALFORMED] = "malformed",     [VN_DROP_INVALID_SRC] = "invalid_src_mac",
	[VN_DROP_SAME_PORT] = "same_port",     [VN_DROP_NO_DEST] = "no_destination",
	[VN_DROP_LINK_DOWN] = "link_down",     [VN_DROP_QUEUE_FULL] = "queue_full",
	[VN_DROP_NO_MBUF] = "no_mbuf",
};

const char *vn_drop_name(enum vn_drop_reason reason)
{
	return (unsigned)reason < VN_DROP__MAX ? drop_names[reason] : "unknown";
}

#define NWORDS (sizeof(struct vn_port_counters) / sizeof(uint64_t))

void vn_counters_add(struct vn_port_counters *acc, const struct vn_port_counters *c)
{
	uint64_t *a = (uint64_t *)acc;
	const uint64_t *b = (const uint64_t *)c;

	for (size_t i = 0; i < NWORDS; i++)
		a[i] += b[i];
}

void vn_counters_sub(struct vn_port_counters *acc, const struct vn_port_counters *c)
{
	uint64_t *a = (uint64_t *)acc;
	const uint64_t *b = (const uint64_t *)c;

	for (size_t i = 0; i < NWORDS; i++)
		a[i] -= b[i];
}

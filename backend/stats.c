/* SPDX-License-Identifier: MIT */
/* Counter arithmetic and the stable names of drop reasons. */
#include <stddef.h>
#include <stdio.h>

#include <glib.h>

#include "vnicd/stats.h"

static const char *const drop_names[VN_DROP__MAX] = {
    [VN_DROP_MALFORMED] = "malformed",
    [VN_DROP_INVALID_SRC] = "invalid_src_mac",
    [VN_DROP_SAME_PORT] = "same_port",
    [VN_DROP_NO_DEST] = "no_destination",
    [VN_DROP_LINK_DOWN] = "link_down",
    [VN_DROP_QUEUE_FULL] = "queue_full",
    [VN_DROP_NO_MBUF] = "no_mbuf",
    [VN_DROP_POLICY] = "policy",
    [VN_DROP_SPOOFED] = "spoofed",
    [VN_DROP_RATE_LIMIT] = "rate_limited",
    [VN_DROP_NAT_FULL] = "nat_table_full",
    [VN_DROP_FILTERED] = "filtered",
    [VN_DROP_STORM] = "storm",
};

static struct vn_counter_field fields[4 + 4 * VN_CAST__MAX + 4 * VN_LOC__MAX + VN_DROP__MAX];
static size_t nfields;

#define OFF(f) offsetof(struct vn_port_counters, f)

const struct vn_counter_field *vn_counter_fields(size_t *n)
{
	static const char *const casts[] = {"unicast", "multicast", "broadcast"};
	static const char *const locs[] = {"local", "external", "tunnel"};
	static char names[G_N_ELEMENTS(fields)][40];

	if (!nfields) {
		size_t i = 0;
#define ADD(name_, off_)                                                                           \
	do {                                                                                       \
		g_strlcpy(names[i], name_, sizeof(names[i]));                                      \
		fields[i].name = names[i];                                                         \
		fields[i++].off = (off_);                                                          \
	} while (0)
		ADD("rx_packets", OFF(rx_packets));
		ADD("rx_bytes", OFF(rx_bytes));
		ADD("tx_packets", OFF(tx_packets));
		ADD("tx_bytes", OFF(tx_bytes));
		for (int d = 0; d < 2; d++)
			for (int c = 0; c < VN_CAST__MAX; c++) {
				char nm[40];
				snprintf(nm, sizeof(nm), "%s_%s_packets", d ? "tx" : "rx",
					 casts[c]);
				ADD(nm, (d ? OFF(tx_cast_pkts) : OFF(rx_cast_pkts)) + c * 8);
				snprintf(nm, sizeof(nm), "%s_%s_bytes", d ? "tx" : "rx", casts[c]);
				ADD(nm, (d ? OFF(tx_cast_bytes) : OFF(rx_cast_bytes)) + c * 8);
			}
		for (int d = 0; d < 2; d++)
			for (int l = 0; l < VN_LOC__MAX; l++) {
				char nm[40];
				snprintf(nm, sizeof(nm), "%s_%s_packets", d ? "tx" : "rx", locs[l]);
				ADD(nm, (d ? OFF(tx_loc_pkts) : OFF(rx_loc_pkts)) + l * 8);
				snprintf(nm, sizeof(nm), "%s_%s_bytes", d ? "tx" : "rx", locs[l]);
				ADD(nm, (d ? OFF(tx_loc_bytes) : OFF(rx_loc_bytes)) + l * 8);
			}
		for (int r = 0; r < VN_DROP__MAX; r++) {
			char nm[40];
			snprintf(nm, sizeof(nm), "drops.%s", drop_names[r]);
			ADD(nm, OFF(drops) + r * 8);
		}
#undef ADD
		nfields = i;
	}
	*n = nfields;
	return fields;
}

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

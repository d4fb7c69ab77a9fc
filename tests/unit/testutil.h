/* SPDX-License-Identifier: MIT */
/* Shared set-up of the unit tests: a small DPDK EAL without hugepages or shared files. */
#ifndef VNICD_TESTUTIL_H
#define VNICD_TESTUTIL_H

#include <stdio.h>

#include <glib.h>
#include <json-glib/json-glib.h>
#include <rte_eal.h>
#include <rte_ring.h>

#include "vnicd/datapath.h"
#include "vnicd/net.h"
#include "vnicd/policy.h"
#include "vnicd/ringport.h"

/** vn_test_eal_init() - initialise EAL in memory only; aborts the test on failure. */
static inline void vn_test_eal_init(void)
{
	char *argv[] = {
	    "unit",	   "--no-huge",		  "-m", "256", "--no-pci", "--no-telemetry",
	    "--no-shconf", "--log-level=*:error", "-l", "0",   NULL};

	g_assert_cmpint(rte_eal_init(G_N_ELEMENTS(argv) - 1, argv), >=, 0);
}

/** VN_TEST_SLOT() - set @field of slot @slot's facts to @value in @dp and publish it. */
#define VN_TEST_SLOT(dp, slot, field, value)                                                       \
	do {                                                                                       \
		struct vn_slot s_ = *vn_dp_slot((dp), (uint16_t)(slot));                           \
		s_.field = (value);                                                                \
		vn_dp_slot_set((dp), (uint16_t)(slot), &s_);                                       \
		vn_dp_commit(dp);                                                                  \
	} while (0)

/**
 * vn_test_net() - make network @name (id @id) of the kind and arguments in JSON @json
 * ({"type": "bridge"}, ...) over data path @dp; aborts the test on failure.
 */
static inline struct vn_net *vn_test_net(struct vn_dp *dp, const char *name, uint16_t id,
					 const char *json)
{
	static struct vn_config cfg = {.fdb_max = 1024};
	struct vn_net_env env = {&cfg, dp};
	g_autoptr(JsonParser) p = json_parser_new();
	g_autoptr(GError) err = NULL;
	const struct vn_net_kind *kind;
	struct vn_net *n = NULL;
	JsonObject *args;

	g_assert_true(json_parser_load_from_data(p, json, -1, NULL));
	args = json_node_get_object(json_parser_get_root(p));
	kind = vn_net_kind_find(json_object_get_string_member(args, "type"));
	g_assert_nonnull(kind);
	if (kind->create(name, id, args, &env, &n, &err) < 0)
		g_error("%s: %s", json, err->message);
	return n;
}

/** vn_test_net_set() - `net set` network @n with the JSON arguments @json; aborts on error. */
static inline void vn_test_net_set(struct vn_net *n, const char *json)
{
	g_autoptr(JsonParser) p = json_parser_new();
	g_autoptr(GError) err = NULL;

	g_assert_true(json_parser_load_from_data(p, json, -1, NULL));
	if (n->kind->set(n, json_node_get_object(json_parser_get_root(p)), 0, &err) < 0)
		g_error("%s: %s", json, err->message);
}

/**
 * vn_test_ring_ports() - make @n ring ports p0.. in @net at slots 0..n-1 of @dp (published),
 * their rx rings (@rx_size) and tx rings (@tx_size, where what the switch sends them lands)
 * in @rx/@tx.
 */
static inline void vn_test_ring_ports(struct vn_dp *dp, struct vn_port **ports,
				      struct rte_ring **rx, struct rte_ring **tx, unsigned n,
				      unsigned rx_size, unsigned tx_size, struct vn_net *net)
{
	for (unsigned p = 0; p < n; p++) {
		char name[32];
		snprintf(name, sizeof(name), "rx%u", p);
		rx[p] = rte_ring_create(name, rx_size, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "tx%u", p);
		tx[p] = rte_ring_create(name, tx_size, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "p%u", p);
		g_assert_true(rx[p] && tx[p]);
		ports[p] = vn_ring_port_create(name, rx[p], tx[p]);
		g_assert_nonnull(ports[p]);
		ports[p]->slot = (uint16_t)p;
		vn_dp_slot_set(
		    dp, (uint16_t)p,
		    &(struct vn_slot){.port = ports[p], .net = net, .locality = VN_LOC_LOCAL});
	}
	vn_dp_commit(dp);
}

/**
 * vn_test_policy_build() - the data-path policy of the `port set` changes @json (NULL: an
 * empty spec) for a port with MAC @mac, @external as an uplink's; aborts the test on a
 * validation error. Return: the policy (NULL when it needs none).
 */
static inline struct vn_port_policy *vn_test_policy_build(const struct rte_ether_addr *mac,
							  const char *json, bool external)
{
	g_autoptr(JsonParser) p = json_parser_new();
	g_autoptr(GError) err = NULL;
	g_autoptr(JsonObject) spec = NULL;
	struct vn_port_policy *pol = NULL;

	if (json) {
		JsonObject *chg;

		g_assert_true(json_parser_load_from_data(p, json, -1, NULL));
		chg = json_node_get_object(json_parser_get_root(p));
		if (vn_policy_spec_merge(NULL, chg, true, &spec, &err) < 0)
			g_error("%s: %s", json, err->message);
	}
	g_assert_cmpint(vn_policy_build(spec, mac, external, NULL, &pol, &err), ==, 0);
	return pol;
}

/**
 * vn_test_policy_set() - apply the `port set` changes @json (NULL: no policy) to slot @slot
 * of @dp, for a port with MAC @mac; aborts the test on a validation error.
 */
static inline void vn_test_policy_set(struct vn_dp *dp, unsigned slot,
				      const struct rte_ether_addr *mac, const char *json)
{
	vn_dp_policy_set(dp, (uint16_t)slot, json ? vn_test_policy_build(mac, json, false) : NULL);
}

/**
 * vn_test_pool_dp() - EAL, a pool of 4095 mbufs in *@mp and a data path of one worker in
 * *@dp, as the switching unit tests use; aborts the test on failure.
 */
static inline void vn_test_pool_dp(struct rte_mempool **mp, struct vn_dp **dp)
{
	vn_test_eal_init();
	*mp = rte_pktmbuf_pool_create("test_mp", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	g_assert_nonnull(*mp);
	*dp = vn_dp_create(1, 0);
	g_assert_nonnull(*dp);
}

/* ---- naive reference checksums (RFC 1071) over flat bytes, to check the data path's ---- */

/** vn_test_ref_sum() - @sum plus the 16-bit big-endian words of @p[0..@len). */
static inline uint32_t vn_test_ref_sum(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

/** vn_test_ref_fold() - @sum folded to 16 bits (not complemented). */
static inline uint16_t vn_test_ref_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

#endif

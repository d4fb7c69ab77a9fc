/* SPDX-License-Identifier: MIT */
/* Macvtap forwarding and reflective relay over ring ports, against a model of macvlan.c. */
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "testutil.h"
#include "vnicd/bridge.h"
#include "vnicd/datapath.h"
#include "vnicd/policy.h"
#include "vnicd/ringport.h"
#include "vnicd/macvtap.h"
#include "vnicd/uplink.h"

/*
 * Slots: 0 uplink of "mv", 1..3 its ports; 4 uplink of "pt" (passthru), 5 its port;
 * 6 and 7 ports of the bridge network "br".
 */
#define NP 8
#define UP 0
#define NG 3
#define PT_UP 4
#define PT_G 5
#define BR_A 6
#define BR_B 7

static struct rte_mempool *mp;
static struct vn_dp *dp;
static struct vn_port *ports[NP];
static struct rte_ring *rx[NP], *tx[NP];
static struct vn_net *mv, *pt, *br;

static const struct rte_ether_addr BCAST = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
static const struct rte_ether_addr MCAST = {{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}};
static const struct rte_ether_addr EXT = {{0x02, 0xee, 0, 0, 0, 0x01}};	    /* behind the uplink */
static const struct rte_ether_addr UNKNOWN = {{0x02, 0xee, 0, 0, 0, 0x77}}; /* nobody's */

static struct rte_ether_addr gmac(unsigned slot)
{
	struct rte_ether_addr m = {{0x02, 0, 0, 0, 0, (uint8_t)slot}};
	return m;
}

/* Send one 64-byte frame in from @in; count the copies each port transmitted into @got. */
static void send_one(unsigned in, struct rte_ether_addr dst, struct rte_ether_addr src,
		     unsigned got[NP], unsigned len[NP])
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	struct rte_ether_hdr *eth;

	g_assert_nonnull(m);
	g_assert_nonnull(rte_pktmbuf_append(m, 64));
	memset(rte_pktmbuf_mtod(m, void *), 0xab, 64);
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	eth->dst_addr = dst;
	eth->src_addr = src;
	eth->ether_type = rte_cpu_to_be_16(0x88b5);
	vn_dp_switch_burst(vn_dp_worker(dp, 0), vn_dp_table(dp), ports[in]->slot, &m, 1, 100);
	memset(got, 0, sizeof(unsigned) * NP);
	for (unsigned p = 0; p < NP; p++) {
		void *o;
		while (rte_ring_dequeue(tx[p], &o) == 0) {
			struct rte_mbuf *r = o;
			const struct rte_ether_hdr *e = rte_pktmbuf_mtod(r, struct rte_ether_hdr *);
			g_assert_true(rte_is_same_ether_addr(&e->src_addr, &src));
			g_assert_true(rte_is_same_ether_addr(&e->dst_addr, &dst));
			got[p]++;
			if (len)
				len[p] = rte_pktmbuf_pkt_len(r);
			rte_pktmbuf_free(r);
		}
	}
}

/* ---- the reference: drivers/net/macvlan.c as the README describes vnicd's take on it ---- */

static int ref_owner(struct rte_ether_addr a)
{
	for (unsigned g = 1; g <= NG; g++) {
		struct rte_ether_addr m = gmac(g);
		if (rte_is_same_ether_addr(&a, &m))
			return (int)g;
	}
	return -1;
}

static void ref_from_uplink(const unsigned mode[NP], int src, struct rte_ether_addr dst,
			    unsigned exp[NP])
{
	if (!rte_is_unicast_ether_addr(&dst)) {
		for (unsigned g = 1; g <= NG; g++) {
			if (src < 0)
				exp[g]++; /* external source: everybody */
			else if ((int)g == src)
				exp[g] += mode[src] == VN_MVT_PRIVATE; /* private: to itself */
			else if (mode[src] == VN_MVT_VEPA)
				exp[g] += mode[g] == VN_MVT_VEPA || mode[g] == VN_MVT_BRIDGE;
			else if (mode[src] == VN_MVT_BRIDGE)
				exp[g] += mode[g] == VN_MVT_VEPA;
		}
		return;
	}
	int d = ref_owner(dst);
	if (d < 0)
		return;
	if (src >= 0 && src != d && mode[d] == VN_MVT_PRIVATE)
		return; /* vnicd's deliberate difference: private isolation for unicast too */
	exp[d]++;
}

static void ref(const unsigned mode[NP], bool emulated, unsigned in, struct rte_ether_addr dst,
		struct rte_ether_addr src, unsigned exp[NP])
{
	memset(exp, 0, sizeof(unsigned) * NP);
	if (in == UP) {
		int s = ref_owner(src);
		if (s >= 0 && emulated)
			return; /* vnicd reflected it already */
		ref_from_uplink(mode, s, dst, exp);
		return;
	}
	if (!rte_is_unicast_ether_addr(&dst)) {
		exp[UP]++;
		if (mode[in] == VN_MVT_BRIDGE)
			for (unsigned g = 1; g <= NG; g++)
				exp[g] += g != in && mode[g] == VN_MVT_BRIDGE;
		if (emulated)
			ref_from_uplink(mode, (int)in, dst, exp);
		return;
	}
	int d = ref_owner(dst);
	if (mode[in] == VN_MVT_BRIDGE && d >= 0 && mode[d] == VN_MVT_BRIDGE) {
		if (d != (int)in)
			exp[d]++;
		return;
	}
	if (emulated && d >= 0)
		ref_from_uplink(mode, (int)in, dst, exp);
	else
		exp[UP]++;
}

static const char *mode_str(const unsigned mode[NP])
{
	static char s[64];
	snprintf(s, sizeof(s), "%s/%s/%s", vn_mvt_mode_name(mode[1]), vn_mvt_mode_name(mode[2]),
		 vn_mvt_mode_name(mode[3]));
	return s;
}

static unsigned check_one(const unsigned mode[NP], bool emulated, unsigned in,
			  struct rte_ether_addr dst, struct rte_ether_addr src)
{
	unsigned got[NP], exp[NP];

	send_one(in, dst, src, got, NULL);
	ref(mode, emulated, in, dst, src, exp);
	for (unsigned p = 0; p < NP; p++)
		if (got[p] != exp[p]) {
			char d[RTE_ETHER_ADDR_FMT_SIZE], s[RTE_ETHER_ADDR_FMT_SIZE];
			rte_ether_format_addr(d, sizeof(d), &dst);
			rte_ether_format_addr(s, sizeof(s), &src);
			g_test_message(
			    "modes %s, hairpin %s: from slot %u %s -> %s: slot %u got %u "
			    "copies, expected %u",
			    mode_str(mode), emulated ? "emulated" : "external", in, s, d, p, got[p],
			    exp[p]);
			return 1;
		}
	return 0;
}

/* Every frame kind from every port, for every mode mix of the three ports, both hairpins. */
static void run_matrix(void)
{
	static const unsigned modes[] = {VN_MVT_VEPA, VN_MVT_BRIDGE, VN_MVT_PRIVATE};
	unsigned mode[NP] = {0}, bad = 0, frames = 0;

	for (unsigned combo = 0; combo < 27; combo++) {
		mode[1] = modes[combo % 3];
		mode[2] = modes[combo / 3 % 3];
		mode[3] = modes[combo / 9];
		for (unsigned g = 1; g <= NG; g++)
			VN_TEST_SLOT(dp, g, kmode, (uint8_t)mode[g]);
		for (int h = 0; h < 2; h++) {
			bool emu = h == 1;
			vn_test_net_set(mv, emu ? "{\"hairpin\": \"emulated\"}"
						: "{\"hairpin\": \"external\"}");
			for (unsigned g = 1; g <= NG; g++) {
				/* from a port: to every port, outside, unknown, bc, mc */
				for (unsigned d = 1; d <= NG; d++, frames++)
					bad += check_one(mode, emu, g, gmac(d), gmac(g));
				bad += check_one(mode, emu, g, EXT, gmac(g));
				bad += check_one(mode, emu, g, UNKNOWN, gmac(g));
				bad += check_one(mode, emu, g, BCAST, gmac(g));
				bad += check_one(mode, emu, g, MCAST, gmac(g));
				/* from the wire: to it, and reflections of its frames */
				bad += check_one(mode, emu, UP, gmac(g), EXT);
				for (unsigned s = 1; s <= NG; s++)
					bad += check_one(mode, emu, UP, gmac(g), gmac(s));
				bad += check_one(mode, emu, UP, BCAST, gmac(g));
				bad += check_one(mode, emu, UP, MCAST, gmac(g));
				frames += 11 + NG;
			}
			bad += check_one(mode, emu, UP, BCAST, EXT);
			bad += check_one(mode, emu, UP, MCAST, EXT);
			bad += check_one(mode, emu, UP, UNKNOWN, EXT);
			frames += 3;
		}
	}
	g_test_message("%u frames checked against the model", frames);
	g_assert_cmpuint(bad, ==, 0);
}

static void check_counters(void)
{
	for (unsigned p = 0; p < NP; p++) {
		struct vn_port_counters c;
		uint64_t sum = 0;
		vn_dp_port_counters(dp, (uint16_t)p, &c);
		for (int l = 0; l < VN_LOC__MAX; l++)
			sum += c.rx_loc_pkts[l];
		for (int r = 0; r < VN_DROP__MAX; r++)
			sum += c.drops[r];
		if (sum != c.rx_packets)
			g_error("slot %u: rx %" PRIu64 " != localities + drops %" PRIu64, p,
				c.rx_packets, sum);
	}
}

static void test_modes(void)
{
	unsigned avail = rte_mempool_avail_count(mp);

	run_matrix();
	check_counters();
	g_assert_cmpuint(rte_mempool_avail_count(mp), ==, avail);
}

/* The same through the policy path (every port has a policy: the uplink's default trunk). */
static void test_modes_policy_path(void)
{
	unsigned avail = rte_mempool_avail_count(mp);
	g_autoptr(GError) err = NULL;

	for (unsigned p = 0; p < NP; p++) {
		struct vn_port_policy *pol = NULL;
		g_assert_cmpint(vn_policy_build(NULL, NULL, true, NULL, &pol, &err), ==, 0);
		vn_dp_policy_set(dp, (uint16_t)p, pol);
	}
	run_matrix();
	check_counters();
	for (unsigned p = 0; p < NP; p++)
		vn_dp_policy_set(dp, (uint16_t)p, NULL);
	g_assert_cmpuint(rte_mempool_avail_count(mp), ==, avail);
}

/* Hairpin emulation accounts a reflection as the uplink's tx and rx, and the guests' external. */
static void test_hairpin_accounting(void)
{
	struct vn_port_counters u0, u1, a0, a1, b0, b1;
	unsigned got[NP];

	for (unsigned g = 1; g <= NG; g++)
		VN_TEST_SLOT(dp, g, kmode, VN_MVT_VEPA);
	vn_test_net_set(mv, "{\"hairpin\": \"emulated\"}");
	vn_dp_port_counters(dp, UP, &u0);
	vn_dp_port_counters(dp, 1, &a0);
	vn_dp_port_counters(dp, 2, &b0);
	send_one(1, gmac(2), gmac(1), got, NULL); /* unicast: never on the wire */
	g_assert_cmpuint(got[UP], ==, 0);
	g_assert_cmpuint(got[2], ==, 1);
	send_one(1, BCAST, gmac(1), got, NULL); /* broadcast: on the wire and reflected */
	g_assert_cmpuint(got[UP], ==, 1);
	g_assert_cmpuint(got[1], ==, 0); /* source pruning */
	vn_dp_port_counters(dp, UP, &u1);
	vn_dp_port_counters(dp, 1, &a1);
	vn_dp_port_counters(dp, 2, &b1);
	g_assert_cmpuint(u1.tx_packets - u0.tx_packets, ==, 2);
	g_assert_cmpuint(u1.rx_packets - u0.rx_packets, ==, 2);
	g_assert_cmpuint(a1.rx_loc_pkts[VN_LOC_EXTERNAL] - a0.rx_loc_pkts[VN_LOC_EXTERNAL], ==, 2);
	g_assert_cmpuint(b1.tx_loc_pkts[VN_LOC_EXTERNAL] - b0.tx_loc_pkts[VN_LOC_EXTERNAL], ==, 2);
	/* what the adjacent bridge reflects as well is a duplicate: filtered on the uplink */
	send_one(UP, BCAST, gmac(1), got, NULL);
	g_assert_cmpuint(got[1] + got[2] + got[3], ==, 0);
	vn_dp_port_counters(dp, UP, &u0);
	g_assert_cmpuint(u0.drops[VN_DROP_FILTERED] - u1.drops[VN_DROP_FILTERED], ==, 1);
	vn_test_net_set(mv, "{\"hairpin\": \"external\"}");
}

static void set_spec(unsigned slot, const char *json, bool external)
{
	g_autoptr(JsonParser) p = json_parser_new();
	g_autoptr(GError) err = NULL;
	g_autoptr(JsonObject) spec = NULL;
	struct vn_port_policy *pol = NULL;
	struct rte_ether_addr mac = gmac(slot);

	g_assert_true(json_parser_load_from_data(p, json, -1, NULL));
	g_assert_cmpint(vn_policy_spec_merge(NULL, json_node_get_object(json_parser_get_root(p)),
					     true, &spec, &err),
			==, 0);
	g_assert_cmpint(vn_policy_build(spec, &mac, external, NULL, &pol, &err), ==, 0);
	vn_dp_policy_set(dp, (uint16_t)slot, pol);
}

/* VLANs: the reflection passes the uplink's egress (tagged on its trunk) and keeps the VLAN. */
static void test_hairpin_vlan(void)
{
	unsigned got[NP], len[NP] = {0};
	unsigned avail = rte_mempool_avail_count(mp);

	for (unsigned g = 1; g <= NG; g++)
		VN_TEST_SLOT(dp, g, kmode, VN_MVT_VEPA);
	set_spec(UP, "{}", true); /* the uplink's default: a trunk of every VLAN */
	set_spec(1, "{\"vlan_mode\": \"access\", \"vlan\": 10}", false);
	set_spec(2, "{\"vlan_mode\": \"access\", \"vlan\": 10}", false);
	set_spec(3, "{\"vlan_mode\": \"access\", \"vlan\": 20}", false);
	vn_test_net_set(mv, "{\"hairpin\": \"emulated\"}");
	send_one(1, BCAST, gmac(1), got, len);
	g_assert_cmpuint(got[UP], ==, 1);
	g_assert_cmpuint(len[UP], ==, 68); /* tagged VLAN 10 on the trunk */
	g_assert_cmpuint(got[2], ==, 1);
	g_assert_cmpuint(len[2], ==, 64);	  /* reflected, untagged on the access port */
	g_assert_cmpuint(got[1] + got[3], ==, 0); /* pruned; VLAN 20 does not get it */
	send_one(1, gmac(3), gmac(1), got, len);  /* a unicast across VLANs goes nowhere */
	g_assert_cmpuint(got[2] + got[3] + got[UP], ==, 0);
	vn_test_net_set(mv, "{\"hairpin\": \"external\"}");
	for (unsigned p = 0; p < NP; p++)
		vn_dp_policy_set(dp, (uint16_t)p, NULL);
	g_assert_cmpuint(rte_mempool_avail_count(mp), ==, avail);
}

static void test_passthru(void)
{
	unsigned got[NP];

	send_one(PT_G, EXT, gmac(PT_G), got, NULL);
	g_assert_cmpuint(got[PT_UP], ==, 1);
	send_one(PT_G, BCAST, gmac(PT_G), got, NULL);
	g_assert_cmpuint(got[PT_UP], ==, 1);
	g_assert_cmpuint(got[PT_G], ==, 0);
	send_one(PT_UP, UNKNOWN, EXT, got, NULL); /* passthru: everything, whatever the MAC */
	g_assert_cmpuint(got[PT_G], ==, 1);
	send_one(PT_UP, MCAST, EXT, got, NULL);
	g_assert_cmpuint(got[PT_G], ==, 1);
	for (unsigned p = 0; p < NP; p++)
		if (p != PT_G && p != PT_UP)
			g_assert_cmpuint(got[p], ==, 0);
}

/* Reflective relay on a bridge port: floods and known unicast go back out of it too. */
static void test_reflective_relay(void)
{
	unsigned got[NP];
	struct rte_ether_addr h1 = {{0x02, 0xaa, 0, 0, 0, 1}}, h2 = {{0x02, 0xaa, 0, 0, 0, 2}};
	g_autoptr(GError) err = NULL;

	for (int pass = 0; pass < 2; pass++) { /* plain path, then the policy path */
		if (pass == 1)
			for (unsigned p = BR_A; p <= BR_B; p++) {
				struct vn_port_policy *pol = NULL;
				g_assert_cmpint(vn_policy_build(NULL, NULL, true, NULL, &pol, &err),
						==, 0);
				vn_dp_policy_set(dp, (uint16_t)p, pol);
			}
		vn_fdb_flush(br->fdb, -1, true);
		send_one(BR_A, BCAST, h1, got, NULL); /* h1 and h2 are VEPA hosts behind BR_A */
		g_assert_cmpuint(got[BR_A], ==, 0);
		g_assert_cmpuint(got[BR_B], ==, 1);
		send_one(BR_A, h1, h2, got, NULL); /* learned on the ingress port: same_port */
		g_assert_cmpuint(got[BR_A] + got[BR_B], ==, 0);
		VN_TEST_SLOT(dp, BR_A, relay, 1);
		send_one(BR_A, h1, h2, got, NULL);
		g_assert_cmpuint(got[BR_A], ==, 1);
		g_assert_cmpuint(got[BR_B], ==, 0);
		send_one(BR_A, BCAST, h1, got, NULL);
		g_assert_cmpuint(got[BR_A], ==, 1);
		g_assert_cmpuint(got[BR_B], ==, 1);
		send_one(BR_B, BCAST, gmac(BR_B), got, NULL); /* only the relay port reflects */
		g_assert_cmpuint(got[BR_A], ==, 1);
		g_assert_cmpuint(got[BR_B], ==, 0);
		VN_TEST_SLOT(dp, BR_A, relay, 0);
	}
	for (unsigned p = 0; p < NP; p++)
		vn_dp_policy_set(dp, (uint16_t)p, NULL);
}

int main(int argc, char **argv)
{
	struct vn_net **nets[NP] = {&mv, &mv, &mv, &mv, &pt, &pt, &br, &br};
	static const uint8_t loc[NP] = {VN_LOC_EXTERNAL, VN_LOC_LOCAL, VN_LOC_LOCAL, VN_LOC_LOCAL,
					VN_LOC_EXTERNAL, VN_LOC_LOCAL, VN_LOC_LOCAL, VN_LOC_LOCAL};
	static const uint8_t kmode[NP] = {VN_MVT_UPLINK, VN_MVT_VEPA,	  VN_MVT_VEPA, VN_MVT_VEPA,
					  VN_MVT_UPLINK, VN_MVT_PASSTHRU, 0,	       0};

	g_test_init(&argc, &argv, NULL);
	vn_test_pool_dp(&mp, &dp);
	mv = vn_test_net(dp, "mv", 0,
			 "{\"type\": \"macvtap\", \"mode\": \"vepa\", \"uplink\": \"x\"}");
	pt = vn_test_net(dp, "pt", 1,
			 "{\"type\": \"macvtap\", \"mode\": \"passthru\", \"uplink\": \"y\"}");
	br = vn_test_net(dp, "br", 2, "{\"type\": \"bridge\"}");
	vn_test_ring_ports(dp, ports, rx, tx, NP, 64, 64, mv);
	for (unsigned p = 0; p < NP; p++) {
		struct vn_slot s = {
		    .port = ports[p], .net = *nets[p], .locality = loc[p], .kmode = kmode[p]};
		ports[p]->has_mac = true;
		ports[p]->mac = gmac(p);
		if (kmode[p] && kmode[p] != VN_MVT_UPLINK)
			vn_fdb_add_static((*nets[p])->fdb, 0, &ports[p]->mac, (uint16_t)p, 0);
		vn_dp_slot_set(dp, (uint16_t)p, &s);
	}
	mv->uplink = ports[UP];
	pt->uplink = ports[PT_UP];
	vn_dp_commit(dp);
	g_test_add_func("/macvtap/modes", test_modes);
	g_test_add_func("/macvtap/modes_policy_path", test_modes_policy_path);
	g_test_add_func("/macvtap/hairpin_accounting", test_hairpin_accounting);
	g_test_add_func("/macvtap/hairpin_vlan", test_hairpin_vlan);
	g_test_add_func("/macvtap/passthru", test_passthru);
	g_test_add_func("/macvtap/reflective_relay", test_reflective_relay);
	return g_test_run();
}

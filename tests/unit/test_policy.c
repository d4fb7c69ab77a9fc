/* SPDX-License-Identifier: MIT */
/* Per-port policy over ring ports: VLAN classification, tagging and flooding, QinQ, anti-spoofing,
 * meters, specs. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "testutil.h"
#include "vnicd/bridge.h"
#include "vnicd/ctl.h"
#include "vnicd/datapath.h"
#include "policy/fastpath.h"
#include "vnicd/policy.h"
#include "vnicd/ringport.h"

#define NP 5

static struct rte_mempool *mp;
static struct vn_dp *dp;
static struct vn_port *ports[NP];
static struct rte_ring *rx[NP], *tx[NP];
static struct vn_net *net_a;

/* What one port received: frame bytes (the first one) and how many. */
struct got {
	unsigned n;
	uint8_t d[256];
	unsigned len;
};

static const uint8_t BC[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static void mac_of(unsigned i, uint8_t out[6])
{
	const uint8_t m[6] = {0x02, 0, 0, 0, 0, (uint8_t)i};
	memcpy(out, m, 6);
}

/* Frame builder: dst, src, then tags (tpid, tci pairs), ethertype and @plen payload bytes. */
static unsigned build(uint8_t *b, const uint8_t dst[6], const uint8_t src[6], const uint16_t *tags,
		      unsigned ntags, uint16_t etype, const void *payload, unsigned plen)
{
	unsigned o = 12;

	memcpy(b, dst, 6);
	memcpy(b + 6, src, 6);
	for (unsigned i = 0; i < ntags; i++) {
		b[o++] = (uint8_t)(tags[2 * i] >> 8);
		b[o++] = (uint8_t)tags[2 * i];
		b[o++] = (uint8_t)(tags[2 * i + 1] >> 8);
		b[o++] = (uint8_t)tags[2 * i + 1];
	}
	b[o++] = (uint8_t)(etype >> 8);
	b[o++] = (uint8_t)etype;
	if (payload)
		memcpy(b + o, payload, plen);
	else
		memset(b + o, 0x5a, plen);
	return o + plen;
}

static void drain(struct got g[NP])
{
	for (unsigned p = 0; p < NP; p++) {
		void *o;
		memset(&g[p], 0, sizeof(g[p]));
		while (rte_ring_dequeue(tx[p], &o) == 0) {
			struct rte_mbuf *r = o;
			if (g[p].n++ == 0) {
				g[p].len = rte_pktmbuf_pkt_len(r);
				unsigned l = RTE_MIN(g[p].len, sizeof(g[p].d));
				const void *d = rte_pktmbuf_read(r, 0, l, g[p].d);
				if (d != g[p].d)
					memcpy(g[p].d, d, l);
			}
			rte_pktmbuf_free(r);
		}
	}
}

/* Send the @len bytes at @b in from port @in; Return: bitmask of ports that got it. */
static unsigned send_raw(unsigned in, const uint8_t *b, unsigned len, struct got g[NP])
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	unsigned mask = 0;

	g_assert_nonnull(m);
	memcpy(rte_pktmbuf_append(m, (uint16_t)len), b, len);
	vn_dp_switch_burst(vn_dp_worker(dp, 0), vn_dp_table(dp), ports[in]->slot, &m, 1, 100);
	drain(g);
	for (unsigned p = 0; p < NP; p++)
		if (g[p].n)
			mask |= 1u << p;
	return mask;
}

static uint16_t tag_at(const struct got *g, unsigned off)
{
	return (uint16_t)(g->d[off] << 8 | g->d[off + 1]);
}

/* Apply `port set` changes @json to slot @slot (with MAC 02::slot). */
static void set_policy(unsigned slot, const char *json)
{
	struct rte_ether_addr mac;

	mac_of(slot, mac.addr_bytes);
	vn_test_policy_set(dp, slot, &mac, json);
}

static void clear_policies(void)
{
	for (unsigned p = 0; p < NP; p++)
		vn_dp_policy_set(dp, (uint16_t)p, NULL);
	vn_fdb_flush(net_a->fdb, -1, true);
}

static uint64_t drops(unsigned slot, enum vn_drop_reason r)
{
	struct vn_port_counters c;

	vn_dp_port_counters(dp, (uint16_t)slot, &c);
	return c.drops[r];
}

static void test_vlan(void)
{
	uint8_t b[256], s0[6], s1[6], s3[6];
	uint16_t t10[] = {0x8100, 10}, t20p5[] = {0x8100, 0xa000 | 20}, t30[] = {0x8100, 30};
	uint16_t prio3[] = {0x8100, 0x6000}, t4095[] = {0x8100, 0x0fff}, t10b[] = {0x8100, 10};
	struct got g[NP];
	unsigned avail = rte_mempool_avail_count(mp), len;
	uint64_t pol0 = drops(0, VN_DROP_POLICY), pol3 = drops(3, VN_DROP_POLICY);

	mac_of(10, s0);
	mac_of(11, s1);
	mac_of(13, s3);
	set_policy(0, "{\"vlan_mode\": \"access\", \"vlan\": 10}");
	set_policy(1, "{\"vlan_mode\": \"access\", \"vlan\": \"10\"}");
	set_policy(2, "{\"vlan_mode\": \"access\", \"vlan\": 20}");
	set_policy(3, "{\"vlan_mode\": \"trunk\", \"vlans\": \"10,20\"}");
	set_policy(4, "{\"vlan_mode\": \"native-untagged\", \"vlan\": 20, \"vlans\": [10]}");

	/* untagged broadcast on access 10: untagged to 1, tagged 10 to the trunk and native port */
	len = build(b, BC, s0, NULL, 0, 0x88b5, NULL, 46);
	g_assert_cmpuint(send_raw(0, b, len, g), ==, 0x1a);
	g_assert_cmpuint(g[1].len, ==, len);
	g_assert_cmpmem(g[1].d, len, b, len);
	g_assert_cmpuint(g[3].len, ==, len + 4);
	g_assert_cmphex(tag_at(&g[3], 12), ==, 0x8100);
	g_assert_cmphex(tag_at(&g[3], 14), ==, 10);
	g_assert_cmphex(tag_at(&g[3], 16), ==, 0x88b5);
	g_assert_cmpmem(g[3].d + 16, len - 12, b + 12, len - 12);
	g_assert_cmphex(tag_at(&g[4], 14), ==, 10);

	/* tagged 20 with PCP 5 from the trunk: untagged to access 20 and to native-untagged 20 */
	len = build(b, BC, s3, t20p5, 1, 0x88b5, NULL, 46);
	g_assert_cmpuint(send_raw(3, b, len, g), ==, 0x14);
	g_assert_cmpuint(g[2].len, ==, len - 4);
	g_assert_cmphex(tag_at(&g[2], 12), ==, 0x88b5);
	g_assert_cmpuint(g[4].len, ==, len - 4);

	/* not admitted: VLAN 30 on the trunk, untagged on the trunk, tagged on access, VID 4095 */
	len = build(b, BC, s3, t30, 1, 0x88b5, NULL, 46);
	g_assert_cmpuint(send_raw(3, b, len, g), ==, 0);
	len = build(b, BC, s3, NULL, 0, 0x88b5, NULL, 46);
	g_assert_cmpuint(send_raw(3, b, len, g), ==, 0);
	len = build(b, BC, s3, t4095, 1, 0x88b5, NULL, 46);
	g_assert_cmpuint(send_raw(3, b, len, g), ==, 0);
	len = build(b, BC, s0, t10b, 1, 0x88b5, NULL, 46);
	g_assert_cmpuint(send_raw(0, b, len, g), ==, 0);
	/* a tag cut short: 16 bytes */
	len = build(b, BC, s3, t10, 1, 0x88b5, NULL, 0);
	g_assert_cmpuint(send_raw(3, b, 16, g), ==, 0);
	g_assert_cmpuint(drops(3, VN_DROP_POLICY) - pol3, ==, 4);
	g_assert_cmpuint(drops(0, VN_DROP_POLICY) - pol0, ==, 1);

	/* priority-tagged (VID 0, PCP 3) on access 10: VLAN 10, PCP kept when tagged */
	len = build(b, BC, s0, prio3, 1, 0x88b5, NULL, 46);
	g_assert_cmpuint(send_raw(0, b, len, g), ==, 0x1a);
	g_assert_cmpuint(g[1].len, ==, len - 4); /* untagged on access */
	g_assert_cmphex(tag_at(&g[3], 12), ==, 0x8100);
	g_assert_cmphex(tag_at(&g[3], 14), ==, 0x6000 | 10);
	g_assert_cmpuint(g[3].len, ==, len);

	/* learning per VLAN: s0 is known in VLAN 10 only; unicast to it from VLAN 20 floods */
	len = build(b, s0, s3, t10, 1, 0x88b5, NULL, 46);
	g_assert_cmpuint(send_raw(3, b, len, g), ==, 0x1); /* known in 10: only port 0, untagged */
	g_assert_cmpuint(g[0].len, ==, len - 4);
	len = build(b, s0, s3, t20p5, 1, 0x88b5, NULL, 46);
	g_assert_cmpuint(send_raw(3, b, len, g), ==, 0x14); /* unknown in 20: flood in 20 */
	/* the same MAC learned in two VLANs on two ports */
	len = build(b, BC, s1, NULL, 0, 0x88b5, NULL, 46);
	send_raw(1, b, len, g);
	len = build(b, BC, s1, NULL, 0, 0x88b5, NULL, 46);
	send_raw(2, b, len, g);
	g_assert_cmpint(vn_fdb_lookup(net_a->fdb, 10, (struct rte_ether_addr *)s1), ==, 1);
	g_assert_cmpint(vn_fdb_lookup(net_a->fdb, 20, (struct rte_ether_addr *)s1), ==, 2);
	g_assert_cmpint(vn_fdb_lookup(net_a->fdb, 0, (struct rte_ether_addr *)s1), <, 0);

	/* native-tagged: untagged in is the native VLAN, sent out tagged */
	set_policy(4, "{\"vlan_mode\": \"native-tagged\", \"vlan\": 20, \"vlans\": \"10\"}");
	len = build(b, BC, s3, t20p5, 1, 0x88b5, NULL, 46);
	g_assert_cmpuint(send_raw(3, b, len, g), ==, 0x14);
	g_assert_cmpuint(g[4].len, ==, len);
	g_assert_cmphex(tag_at(&g[4], 14), ==, 0xa000 | 20);
	clear_policies();
	g_assert_cmpuint(rte_mempool_avail_count(mp), ==, avail);
}

/* One burst mixing VLANs and destinations: the per-burst memo of learning, lookup and egress
 * form (switch_policy()) must give every frame the delivery a burst of one would. */
static void test_burst_memo(void)
{
	uint8_t b[128], s1[6], s2[6], s3[6];
	uint16_t t10[] = {0x8100, 10}, t20[] = {0x8100, 20};
	struct rte_mbuf *burst[6];
	struct got g[NP];
	unsigned len, avail = rte_mempool_avail_count(mp);

	mac_of(21, s1);
	mac_of(22, s2);
	mac_of(23, s3);
	set_policy(1, "{\"vlan_mode\": \"access\", \"vlan\": 10}");
	set_policy(2, "{\"vlan_mode\": \"access\", \"vlan\": 20}");
	set_policy(3, "{\"vlan_mode\": \"trunk\", \"vlans\": \"10,20\"}");
	set_policy(4, "{\"vlan_mode\": \"access\", \"vlan\": 30}");
	len = build(b, BC, s1, NULL, 0, 0x88b5, NULL, 46); /* s1 learned in 10 on port 1 */
	send_raw(1, b, len, g);
	len = build(b, BC, s2, NULL, 0, 0x88b5, NULL, 46); /* s2 learned in 20 on port 2 */
	send_raw(2, b, len, g);
	/* from the trunk: 10->s1, 20->s1 (unknown in 20: flood in 20), 10->s1, 20->s2, 10->s2
	 * (unknown in 10: flood in 10), 20->s2 */
	const uint8_t *dsts[6] = {s1, s1, s1, s2, s2, s2};
	const uint16_t *tags[6] = {t10, t20, t10, t20, t10, t20};
	for (unsigned i = 0; i < 6; i++) {
		len = build(b, dsts[i], s3, tags[i], 1, 0x88b5, NULL, 46);
		burst[i] = rte_pktmbuf_alloc(mp);
		g_assert_nonnull(burst[i]);
		memcpy(rte_pktmbuf_append(burst[i], (uint16_t)len), b, len);
	}
	vn_dp_switch_burst(vn_dp_worker(dp, 0), vn_dp_table(dp), ports[3]->slot, burst, 6, 100);
	drain(g);
	/* port 1: 10->s1 twice and the flood in 10; port 2: the flood in 20 and 20->s2 twice;
	 * untagged on those access ports */
	g_assert_cmpuint(g[1].n, ==, 3);
	g_assert_cmpuint(g[2].n, ==, 3);
	g_assert_cmpuint(g[1].len, ==, len - 4);
	g_assert_cmpuint(g[2].len, ==, len - 4);
	g_assert_cmpuint(g[0].n + g[3].n + g[4].n, ==, 0);
	g_assert_cmpuint(rte_mempool_avail_count(mp), ==, avail);
	clear_policies();
}

static void test_untagged_lan(void)
{
	uint8_t b[256], s0[6];
	uint16_t t10[] = {0x8100, 10};
	struct got g[NP];
	struct vn_port_policy *up = NULL;
	g_autoptr(GError) err = NULL;
	unsigned len;

	mac_of(20, s0);
	/* port 3: an uplink's default (every VLAN tagged + the untagged LAN); 0,1 transparent */
	g_assert_cmpint(vn_policy_build(NULL, NULL, true, NULL, &up, &err), ==, 0);
	g_assert_true(up->default_uplink && vn_policy_admits(up, 0) && vn_policy_admits(up, 4094) &&
		      !vn_policy_admits(up, 4095));
	vn_dp_policy_set(dp, 3, up);
	set_policy(2, "{\"vlan_mode\": \"access\", \"vlan\": 10}");
	len = build(b, BC, s0, NULL, 0, 0x88b5, NULL, 46);
	g_assert_cmpuint(send_raw(0, b, len, g), ==, 0x1a); /* 1, 3 (untagged LAN) and 4 */
	g_assert_cmpuint(g[3].len, ==, len);
	/* a transparent port's own tag does not hop into VLAN 10 through the uplink */
	len = build(b, BC, s0, t10, 1, 0x88b5, NULL, 46);
	g_assert_cmpuint(send_raw(0, b, len, g), ==, 0x12);
	/* the uplink's VLAN 10 reaches access 10 only */
	g_assert_cmpuint(send_raw(3, b, len, g), ==, 0x4);
	clear_policies();
}

static void test_qinq(void)
{
	uint8_t b[256], s0[6], s3[6];
	uint16_t ctag5[] = {0x8100, 5}, stag[] = {0x88a8, 100, 0x8100, 5};
	struct got g[NP];
	unsigned len;

	mac_of(30, s0);
	mac_of(33, s3);
	set_policy(0, "{\"vlan_mode\": \"dot1q-tunnel\", \"vlan\": 100}");
	set_policy(3, "{\"vlan_mode\": \"trunk\", \"vlans\": \"100\"}");
	set_policy(1, "{\"vlan_mode\": \"dot1q-tunnel\", \"vlan\": 200, \"tpid\": \"0x9100\"}");
	/* customer frame with C-tag 5: S-tag 0x88a8/100 pushed on the trunk, C-tag kept */
	len = build(b, BC, s0, ctag5, 1, 0x0800, NULL, 46);
	g_assert_cmpuint(send_raw(0, b, len, g), ==, 0x8);
	g_assert_cmpuint(g[3].len, ==, len + 4);
	g_assert_cmphex(tag_at(&g[3], 12), ==, 0x88a8);
	g_assert_cmphex(tag_at(&g[3], 14), ==, 100);
	g_assert_cmphex(tag_at(&g[3], 16), ==, 0x8100);
	g_assert_cmphex(tag_at(&g[3], 18), ==, 5);
	/* back: the S-tag is removed, the customer sees its own frame */
	len = build(b, s0, s3, stag, 2, 0x0800, NULL, 46);
	g_assert_cmpuint(send_raw(3, b, len, g), ==, 0x1);
	g_assert_cmpuint(g[0].len, ==, len - 4);
	g_assert_cmphex(tag_at(&g[0], 12), ==, 0x8100);
	g_assert_cmphex(tag_at(&g[0], 14), ==, 5);
	/* configurable TPID: S-VLAN 200 with 0x9100 on a trunk that carries 200 */
	set_policy(3, "{\"vlan_mode\": \"trunk\", \"vlans\": \"100,200\"}");
	len = build(b, BC, s0, NULL, 0, 0x0800, NULL, 46);
	g_assert_cmpuint(send_raw(1, b, len, g), ==, 0x8);
	g_assert_cmphex(tag_at(&g[3], 12), ==, 0x9100);
	g_assert_cmphex(tag_at(&g[3], 14), ==, 200);
	clear_policies();
}

/* IPv4 header + @l4 bytes. */
static unsigned ip4(uint8_t *p, const char *src, const char *dst, uint8_t proto, const uint8_t *l4,
		    unsigned l4len)
{
	memset(p, 0, 20);
	p[0] = 0x45;
	p[2] = (uint8_t)((20 + l4len) >> 8);
	p[3] = (uint8_t)(20 + l4len);
	p[8] = 64;
	p[9] = proto;
	inet_pton(AF_INET, src, p + 12);
	inet_pton(AF_INET, dst, p + 16);
	memcpy(p + 20, l4, l4len);
	return 20 + l4len;
}

static unsigned ip6(uint8_t *p, const char *src, const char *dst, uint8_t nh, const uint8_t *l4,
		    unsigned l4len)
{
	memset(p, 0, 40);
	p[0] = 0x60;
	p[4] = (uint8_t)(l4len >> 8);
	p[5] = (uint8_t)l4len;
	p[6] = nh;
	p[7] = 255;
	inet_pton(AF_INET6, src, p + 8);
	inet_pton(AF_INET6, dst, p + 24);
	memcpy(p + 40, l4, l4len);
	return 40 + l4len;
}

/* IPv6 with the extension headers @ext (@next: the protocol after them) and @l4. */
static unsigned ip6_ext(uint8_t *p, const char *src, const char *dst, const uint8_t *ext,
			unsigned extlen, uint8_t first, const uint8_t *l4, unsigned l4len)
{
	uint8_t body[200];

	memcpy(body, ext, extlen);
	memcpy(body + extlen, l4, l4len);
	return ip6(p, src, dst, first, body, extlen + l4len);
}

/*
 * Issue 16 (6): what got past anti-spoofing before: an RA behind six extension headers or
 * behind a Fragment header, a first fragment without its transport header, fragmented ND,
 * a link-local source or NA target that is not the port's own, DHCP server messages from
 * another source port or by message type.
 */
static void test_antispoof_bypasses(void)
{
	uint8_t b[256], pl[200], ext[96], me[6];
	uint8_t ra[16] = {134}, echo[8] = {128}, na[32] = {136};
	uint8_t offer[9] = {0x04, 0xd2, 0, 68, 0, 9, 0, 0, 2};	       /* 1234 -> 68, BOOTREPLY */
	uint8_t relay_reply[9] = {0, 68, 0, 67, 0, 9, 0, 0, 2};	       /* 68 -> 67, BOOTREPLY */
	uint8_t request[9] = {0, 68, 0, 67, 0, 9, 0, 0, 1};	       /* 68 -> 67, BOOTREQUEST */
	uint8_t v6_reply[9] = {0x04, 0xd2, 0x02, 0x22, 0, 9, 0, 0, 7}; /* 1234 -> 546 REPLY */
	uint8_t v6_relrepl[9] = {0x02, 0x22, 0x02, 0x23, 0, 9, 0, 0, 13}; /* 546 -> 547 */
	uint8_t v6_solicit[9] = {0x02, 0x22, 0x02, 0x23, 0, 9, 0, 0, 1};
	char my_ll[INET6_ADDRSTRLEN];
	struct got g[NP];
	unsigned n, el;
	uint64_t sp = drops(0, VN_DROP_SPOOFED);

	mac_of(0, me);
	snprintf(my_ll, sizeof(my_ll), "fe80::%x:%xff:fe%02x:%x", (me[0] ^ 2) << 8 | me[1], me[2],
		 me[3], me[4] << 8 | me[5]);
	set_policy(0, "{\"lock_mac\": true, \"allowed_ip\": \"10.0.0.1, fd00::1, fe80::77\"}");
#define SEND(n) send_raw(0, b, build(b, BC, me, NULL, 0, 0x86dd, pl, n), g)
#define SEND4(n) send_raw(0, b, build(b, BC, me, NULL, 0, 0x0800, pl, n), g)
	/* six destination-options headers (8 bytes each), then an RA */
	memset(ext, 0, sizeof(ext));
	for (unsigned i = 0; i < 6; i++)
		ext[8 * i] = i < 5 ? 60 : 58;
	n = ip6_ext(pl, my_ll, "ff02::1", ext, 48, 60, ra, 16);
	g_assert_cmpuint(SEND(n), ==, 0);
	n = ip6_ext(pl, my_ll, "ff02::1", ext, 48, 60, echo, 8);
	g_assert_cmpuint(SEND(n), ==, 0x1e); /* the same chain before an echo request passes */
	/* more extension headers than walked: dropped */
	for (unsigned i = 0; i < 12; i++)
		ext[8 * i] = i < 11 ? 60 : 58;
	n = ip6_ext(pl, my_ll, "ff02::1", ext, 96, 60, echo, 8);
	g_assert_cmpuint(SEND(n), ==, 0);
	/* hop-by-hop, routing, AH (length in 4-byte units) then the RA */
	memset(ext, 0, sizeof(ext));
	ext[0] = 43, ext[8] = 51, ext[9] = 0, ext[16] = 58, ext[17] = 1; /* AH of 12 bytes */
	n = ip6_ext(pl, my_ll, "ff02::1", ext, 28, 0, ra, 16);
	g_assert_cmpuint(SEND(n), ==, 0);
	/* a Fragment header (offset 0, more fragments) hiding an RA */
	memset(ext, 0, sizeof(ext));
	ext[0] = 58, ext[3] = 1, ext[7] = 42;
	n = ip6_ext(pl, my_ll, "ff02::1", ext, 8, 44, ra, 16);
	g_assert_cmpuint(SEND(n), ==, 0);
	/* a fragmented NA of our own address: ND is never fragmented (RFC 6980) */
	inet_pton(AF_INET6, "fd00::1", na + 8);
	na[24] = 2, na[25] = 1;
	memcpy(na + 26, me, 6);
	n = ip6_ext(pl, "fd00::1", "ff02::1", ext, 8, 44, na, 32);
	g_assert_cmpuint(SEND(n), ==, 0);
	/* a first fragment ending inside its destination options: no transport header */
	ext[0] = 60, ext[8] = 58, ext[9] = 2; /* 24 bytes of options, the fragment has 16 */
	n = ip6_ext(pl, my_ll, "ff02::1", ext, 24, 44, echo, 0);
	g_assert_cmpuint(SEND(n), ==, 0);
	/* a first fragment whose ICMPv6 header is cut (4 of 8 bytes) */
	ext[0] = 58;
	n = ip6_ext(pl, my_ll, "ff02::1", ext, 8, 44, echo, 4);
	g_assert_cmpuint(SEND(n), ==, 0);
	/* a fragmented echo request passes, and so does a later fragment of it */
	n = ip6_ext(pl, my_ll, "ff02::1", ext, 8, 44, echo, 8);
	g_assert_cmpuint(SEND(n), ==, 0x1e);
	ext[2] = 0, ext[3] = 0x11; /* offset 16 bytes, more fragments */
	n = ip6_ext(pl, "fd00::1", "ff02::1", ext, 8, 44, ra, 16);
	g_assert_cmpuint(SEND(n), ==, 0x1e);
	n = ip6_ext(pl, "fd00::5", "ff02::1", ext, 8, 44, ra, 16);
	g_assert_cmpuint(SEND(n), ==, 0); /* ... but not from another source */
	/* link-local sources: the port's EUI-64 one and --allowed-ip's pass, others do not */
	el = ip6(pl, my_ll, "ff02::1", 58, echo, 8);
	g_assert_cmpuint(SEND(el), ==, 0x1e);
	n = ip6(pl, "fe80::77", "ff02::1", 58, echo, 8);
	g_assert_cmpuint(SEND(n), ==, 0x1e);
	n = ip6(pl, "fe80::1", "ff02::1", 58, echo, 8);
	g_assert_cmpuint(SEND(n), ==, 0); /* the router's */
	/* NA targets: a guest claiming another fe80:: */
	inet_pton(AF_INET6, "fe80::1", na + 8);
	n = ip6(pl, my_ll, "ff02::1", 58, na, 32);
	g_assert_cmpuint(SEND(n), ==, 0);
	inet_pton(AF_INET6, my_ll, na + 8);
	n = ip6(pl, my_ll, "ff02::1", 58, na, 32);
	g_assert_cmpuint(SEND(n), ==, 0x1e);
	/* DHCPv4: an OFFER from source port 1234, a BOOTREPLY to a relay's port 67 */
	n = ip4(pl, "10.0.0.1", "255.255.255.255", 17, offer, 9);
	g_assert_cmpuint(SEND4(n), ==, 0);
	n = ip4(pl, "10.0.0.1", "10.0.0.2", 17, relay_reply, 9);
	g_assert_cmpuint(SEND4(n), ==, 0);
	n = ip4(pl, "10.0.0.1", "10.0.0.2", 17, request, 9);
	g_assert_cmpuint(SEND4(n), ==, 0x1e); /* a client's request passes */
	n = ip4(pl, "10.0.0.1", "10.0.0.2", 17, request, 8);
	g_assert_cmpuint(SEND4(n), ==, 0); /* without a message: cannot be told apart */
	/* DHCPv6: a REPLY from port 1234 to 546, a RELAY-REPL to 547, a client's SOLICIT */
	n = ip6(pl, my_ll, "ff02::1:2", 17, v6_reply, 9);
	g_assert_cmpuint(SEND(n), ==, 0);
	n = ip6(pl, my_ll, "ff02::1:2", 17, v6_relrepl, 9);
	g_assert_cmpuint(SEND(n), ==, 0);
	n = ip6(pl, my_ll, "ff02::1:2", 17, v6_solicit, 9);
	g_assert_cmpuint(SEND(n), ==, 0x1e);
	g_assert_cmpuint(drops(0, VN_DROP_SPOOFED) - sp, ==, 15);
	/* --allow-dhcp-server lets the server messages through */
	set_policy(0, "{\"lock_mac\": true, \"allowed_ip\": \"10.0.0.1, fd00::1\", "
		      "\"allow_dhcp_server\": true}");
	n = ip4(pl, "10.0.0.1", "255.255.255.255", 17, offer, 9);
	g_assert_cmpuint(SEND4(n), ==, 0x1e);
	n = ip6(pl, my_ll, "ff02::1:2", 17, v6_reply, 9);
	g_assert_cmpuint(SEND(n), ==, 0x1e);
#undef SEND
#undef SEND4
	clear_policies();
}

static void test_antispoof(void)
{
	uint8_t b[256], pl[200], me[6], other[6];
	uint8_t udp_dhcp_srv[8] = {0, 67, 0, 68, 0, 8, 0, 0},
		udp_dhcp_cli[9] = {0, 68, 0, 67, 0, 9, 0, 0, 1}; /* a BOOTREQUEST */
	uint8_t udp_x[8] = {0x30, 0x39, 0x30, 0x39, 0, 8}, ra[16] = {134}, ns[24] = {135};
	uint8_t na[32] = {136}, arp[28] = {0, 1, 8, 0, 6, 4, 0, 1};
	struct got g[NP];
	unsigned pl_len;
	uint64_t sp = drops(0, VN_DROP_SPOOFED);

	mac_of(0, me); /* the port's MAC (set_policy gives slot 0 02::00) */
	mac_of(40, other);
	set_policy(0, "{\"lock_mac\": true, \"allowed_ip\": \"10.0.0.1, fd00::1\"}");
#define SEND(src, et, n) send_raw(0, b, build(b, BC, src, NULL, 0, et, pl, n), g)
	pl_len = ip4(pl, "10.0.0.1", "10.0.0.2", 17, udp_x, 8);
	g_assert_cmpuint(SEND(me, 0x0800, pl_len), ==, 0x1e);
	g_assert_cmpuint(SEND(other, 0x0800, pl_len), ==, 0); /* locked MAC */
	pl_len = ip4(pl, "10.0.0.9", "10.0.0.2", 17, udp_x, 8);
	g_assert_cmpuint(SEND(me, 0x0800, pl_len), ==, 0); /* source IP */
	pl_len = ip4(pl, "0.0.0.0", "255.255.255.255", 17, udp_dhcp_cli, 9);
	g_assert_cmpuint(SEND(me, 0x0800, pl_len), ==, 0x1e); /* DHCP client from 0.0.0.0 */
	pl_len = ip4(pl, "10.0.0.1", "10.0.0.2", 17, udp_dhcp_srv, 8);
	g_assert_cmpuint(SEND(me, 0x0800, pl_len), ==, 0); /* DHCP server reply */
	/* ARP: sender MAC and IP */
	memcpy(arp + 8, me, 6);
	inet_pton(AF_INET, "10.0.0.1", arp + 14);
	memcpy(pl, arp, 28);
	g_assert_cmpuint(SEND(me, 0x0806, 28), ==, 0x1e);
	inet_pton(AF_INET, "10.0.0.7", pl + 14);
	g_assert_cmpuint(SEND(me, 0x0806, 28), ==, 0); /* sender IP not ours */
	memcpy(pl, arp, 28);
	memcpy(pl + 8, other, 6);
	g_assert_cmpuint(SEND(me, 0x0806, 28), ==, 0); /* sender MAC not the frame's */
	g_assert_cmpuint(SEND(me, 0x0806, 20), ==, 0); /* truncated ARP */
	g_assert_cmpuint(SEND(me, 0x8035, 28), ==, 0); /* RARP, not an announcement */
	/* RARP: only the announcement (QEMU's, DPDK vhost's after a migration) passes */
	memset(pl, 0, 28);
	memcpy(pl, arp, 6);
	pl[7] = 3; /* reverse request */
	memcpy(pl + 8, me, 6);
	memcpy(pl + 18, me, 6);
	g_assert_cmpuint(SEND(me, 0x8035, 28), ==, 0x1e);
	pl[7] = 4; /* reverse reply: a RARP server's */
	g_assert_cmpuint(SEND(me, 0x8035, 28), ==, 0);
	pl[7] = 3;
	memcpy(pl + 18, other, 6);
	g_assert_cmpuint(SEND(me, 0x8035, 28), ==, 0); /* about another MAC */
	memcpy(pl + 18, me, 6);
	pl[14] = 10;
	g_assert_cmpuint(SEND(me, 0x8035, 28), ==, 0); /* with an address */
	/* IPv6: source, RA, NS from ::, NA target and target link-layer address */
	pl_len = ip6(pl, "fd00::1", "fd00::2", 17, udp_x, 8);
	g_assert_cmpuint(SEND(me, 0x86dd, pl_len), ==, 0x1e);
	pl_len = ip6(pl, "fd00::5", "fd00::2", 17, udp_x, 8);
	g_assert_cmpuint(SEND(me, 0x86dd, pl_len), ==, 0);
	pl_len = ip6(pl, "fe80::1", "ff02::1", 58, ra, 16);
	g_assert_cmpuint(SEND(me, 0x86dd, pl_len), ==, 0); /* router advertisement */
	inet_pton(AF_INET6, "fd00::1", ns + 8);
	pl_len = ip6(pl, "::", "ff02::1:ff00:1", 58, ns, 24);
	g_assert_cmpuint(SEND(me, 0x86dd, pl_len), ==, 0x1e); /* DAD */
	inet_pton(AF_INET6, "fd00::1", na + 8);
	na[24] = 2;
	na[25] = 1;
	memcpy(na + 26, me, 6);
	pl_len = ip6(pl, "fd00::1", "ff02::1", 58, na, 32);
	g_assert_cmpuint(SEND(me, 0x86dd, pl_len), ==, 0x1e);
	memcpy(na + 26, other, 6);
	pl_len = ip6(pl, "fd00::1", "ff02::1", 58, na, 32);
	g_assert_cmpuint(SEND(me, 0x86dd, pl_len), ==, 0); /* target LLA not ours */
	memcpy(na + 26, me, 6);
	inet_pton(AF_INET6, "fd00::9", na + 8);
	pl_len = ip6(pl, "fd00::1", "ff02::1", 58, na, 32);
	g_assert_cmpuint(SEND(me, 0x86dd, pl_len), ==, 0); /* target not ours */
	g_assert_cmpuint(drops(0, VN_DROP_SPOOFED) - sp, ==, 14);
	clear_policies();
	test_antispoof_bypasses();
	set_policy(0, "{\"lock_mac\": true, \"allowed_ip\": \"10.0.0.1, fd00::1\"}");
	/* allowed roles */
	set_policy(0, "{\"lock_mac\": true, \"allow_ra\": true, \"allow_dhcp_server\": true}");
	pl_len = ip6(pl, "fe80::1", "ff02::1", 58, ra, 16);
	g_assert_cmpuint(SEND(me, 0x86dd, pl_len), ==, 0x1e);
	pl_len = ip4(pl, "10.0.0.99", "10.0.0.2", 17, udp_dhcp_srv, 8);
	g_assert_cmpuint(SEND(me, 0x0800, pl_len), ==, 0x1e); /* no IP list: any source */
#undef SEND
	clear_policies();
}

static void test_meter(void)
{
	struct vn_meter mt, mt2;
	uint64_t hz = rte_get_tsc_hz(), t0, passed = 0, win = 0, win_max = 0;
	const unsigned pkt = 1000;

	/* average 1000 KBps, peak 2000 KBps, burst 200 KiB; offered 10 MB/s for 10 s */
	g_assert_cmpint(vn_meter_init(&mt, 1000, 2000, 200, NULL), ==, 0);
	g_assert_cmpuint(mt.pbs, ==, 300 * 1000); /* 300 ms of average > 50 ms of peak */
	t0 = mt.avg.time;
	for (uint64_t i = 0; i < 100000; i++) {
		uint64_t t = t0 + i * hz / 10000; /* one frame every 100 us */
		rte_spinlock_lock(&mt.lock);
		bool ok = vn_meter_conform(&mt, pkt, vn_meter_clamp(&mt, t));
		rte_spinlock_unlock(&mt.lock);
		if (i % 1000 == 0) { /* 100 ms windows */
			win_max = RTE_MAX(win_max, win);
			win = 0;
		}
		if (ok) {
			passed += pkt;
			win += pkt;
		}
	}
	/* long run: average x 10 s + the burst; never more than peak in 100 ms + its bucket */
	g_assert_cmpuint(passed, <=, 10 * 1000 * 1000 + 200 * 1024 + pkt);
	g_assert_cmpuint(passed, >=, 10 * 1000 * 1000 * 99 / 100);
	g_assert_cmpuint(win_max, <=, 2000 * 1000 / 10 + mt.pbs + pkt);
	g_assert_cmpuint(win_max, >, 1000 * 1000 / 10 * 3 / 2); /* the burst went at peak */

	/* a lower limit keeps the old level (capped): no fresh burst */
	mt.avg.tc = 1000;
	g_assert_cmpint(vn_meter_init(&mt2, 500, 0, 0, &mt), ==, 0);
	g_assert_cmpuint(mt2.avg.tc, ==, 1000);
	g_assert_cmpuint(mt2.cbs, ==, 500 * 1000); /* default burst: one second of average */
	/* a clock read before the meter was made does not wrap */
	rte_spinlock_lock(&mt2.lock);
	g_assert_true(vn_meter_conform(&mt2, 500, vn_meter_clamp(&mt2, mt2.avg.time - hz)));
	g_assert_false(vn_meter_conform(&mt2, 1000, vn_meter_clamp(&mt2, mt2.avg.time - hz)));
	rte_spinlock_unlock(&mt2.lock);
	g_assert_cmpint(vn_meter_init(&mt2, 0, 0, 0, NULL), <, 0);
	g_assert_cmpint(vn_meter_init(&mt2, 500, 400, 0, NULL), <, 0);
}

static void test_meter_pipeline(void)
{
	uint8_t b[1100], s0[6];
	struct rte_mbuf *burst[VN_BURST];
	struct vn_port_counters c0, c1, p1;
	unsigned len;

	mac_of(50, s0);
	/* outbound 64 KB/s, burst 64 KiB: of 4 bursts of 32 x 1000 B, 65 frames fit the bucket */
	set_policy(0, "{\"outbound\": \"average=64,burst=64\"}");
	set_policy(1, "{\"inbound\": {\"average\": 64, \"burst\": 32}}");
	vn_dp_port_counters(dp, 0, &c0);
	vn_dp_port_counters(dp, 1, &p1);
	len = build(b, BC, s0, NULL, 0, 0x88b5, NULL, 1000 - 14);
	for (int r = 0; r < 4; r++) {
		for (int i = 0; i < VN_BURST; i++) {
			burst[i] = rte_pktmbuf_alloc(mp);
			memcpy(rte_pktmbuf_append(burst[i], (uint16_t)len), b, len);
		}
		vn_dp_switch_burst(vn_dp_worker(dp, 0), vn_dp_table(dp), ports[0]->slot, burst,
				   VN_BURST, 100);
		struct got g[NP];
		drain(g);
	}
	vn_dp_port_counters(dp, 0, &c1);
	/* (a slow run refills a few frames' worth meanwhile) */
	g_assert_cmpuint(c1.drops[VN_DROP_RATE_LIMIT] - c0.drops[VN_DROP_RATE_LIMIT], >=, 128 - 75);
	g_assert_cmpuint(c1.drops[VN_DROP_RATE_LIMIT] - c0.drops[VN_DROP_RATE_LIMIT], <=, 128 - 65);
	vn_dp_port_counters(dp, 1, &c1);
	g_assert_cmpuint(c1.tx_packets - p1.tx_packets, >=, 32);
	g_assert_cmpuint(c1.tx_packets - p1.tx_packets, <=, 40);
	g_assert_cmpuint(c1.drops[VN_DROP_RATE_LIMIT] - p1.drops[VN_DROP_RATE_LIMIT], >=, 65 - 40);
	clear_policies();
}

/* Send @n copies of the @len bytes at @b in one burst from port @in; drain every port. */
static void send_copies(unsigned in, const uint8_t *b, unsigned len, unsigned n)
{
	struct rte_mbuf *burst[VN_BURST];
	struct got g[NP];

	g_assert_cmpuint(n, <=, VN_BURST);
	for (unsigned i = 0; i < n; i++) {
		burst[i] = rte_pktmbuf_alloc(mp);
		g_assert_nonnull(burst[i]);
		memcpy(rte_pktmbuf_append(burst[i], (uint16_t)len), b, len);
	}
	vn_dp_switch_burst(vn_dp_worker(dp, 0), vn_dp_table(dp), ports[in]->slot, burst,
			   (uint16_t)n, 100);
	drain(g);
}

/* --storm-control: broadcast, multicast and unknown unicast limited per port, known unicast not */
static void test_storm_control(void)
{
	uint8_t b[128], s0[6], s1[6], unknown[6], mc[6] = {0x01, 0x00, 0x5e, 0, 0, 1};
	struct vn_port_counters c0, c1, p1;
	uint64_t t0, elapsed_us, passed, storm;
	unsigned len;

	mac_of(60, s0);
	mac_of(61, s1);
	mac_of(62, unknown);
	set_policy(0, "{\"storm_control\": 100}");
	g_assert_nonnull(vn_dp_policy_get(dp, 0));
	g_assert_nonnull(vn_dp_policy_get(dp, 0)->storm);
	g_assert_cmpuint(vn_dp_policy_get(dp, 0)->storm->burst, ==, VN_STORM_MIN_BURST);
	len = build(b, s0, s1, NULL, 0, 0x88b5, NULL, 46);
	send_copies(1, b, len, 1); /* port 1 teaches s1 */
	vn_dp_port_counters(dp, 0, &c0);
	vn_dp_port_counters(dp, 1, &p1);

	/* 1000 broadcast frames within about a second: 100 a second + the bucket (32) pass */
	len = build(b, BC, s0, NULL, 0, 0x88b5, NULL, 46);
	t0 = rte_get_tsc_cycles();
	for (int r = 0; r < 100; r++) {
		send_copies(0, b, len, 10);
		g_usleep(9000);
	}
	elapsed_us = (rte_get_tsc_cycles() - t0) * 1000000 / rte_get_tsc_hz();
	vn_dp_port_counters(dp, 0, &c1);
	passed = c1.rx_loc_pkts[VN_LOC_LOCAL] - c0.rx_loc_pkts[VN_LOC_LOCAL];
	storm = c1.drops[VN_DROP_STORM] - c0.drops[VN_DROP_STORM];
	g_test_message("storm: %" PRIu64 " passed, %" PRIu64 " dropped in %" PRIu64 " us", passed,
		       storm, elapsed_us);
	g_assert_cmpuint(c1.rx_packets - c0.rx_packets, ==, 1000);
	g_assert_cmpuint(passed + storm, ==, 1000);
	g_assert_cmpuint(passed, >=, 100 * 9 / 10 + VN_STORM_MIN_BURST / 2);
	g_assert_cmpuint(passed, <=, VN_STORM_MIN_BURST + 100 * elapsed_us / 1000000 + 2);
	vn_dp_port_counters(dp, 1, &c1);
	g_assert_cmpuint(c1.tx_packets - p1.tx_packets, ==, passed); /* each reached port 1 */

	/* the bucket is empty now: known unicast still passes, all of it */
	vn_dp_port_counters(dp, 0, &c0);
	len = build(b, s1, s0, NULL, 0, 0x88b5, NULL, 46);
	for (int r = 0; r < 10; r++)
		send_copies(0, b, len, VN_BURST);
	vn_dp_port_counters(dp, 0, &c1);
	g_assert_cmpuint(c1.drops[VN_DROP_STORM], ==, c0.drops[VN_DROP_STORM]);
	g_assert_cmpuint(c1.rx_loc_pkts[VN_LOC_LOCAL] - c0.rx_loc_pkts[VN_LOC_LOCAL], ==,
			 10 * VN_BURST);

	/* unknown unicast (flooded) and multicast are limited like broadcast */
	vn_dp_port_counters(dp, 0, &c0);
	len = build(b, unknown, s0, NULL, 0, 0x88b5, NULL, 46);
	send_copies(0, b, len, VN_BURST);
	len = build(b, mc, s0, NULL, 0, 0x88b5, NULL, 46);
	send_copies(0, b, len, VN_BURST);
	vn_dp_port_counters(dp, 0, &c1);
	g_assert_cmpuint(c1.drops[VN_DROP_STORM] - c0.drops[VN_DROP_STORM], >=, 2 * VN_BURST - 4);

	/* another port is not limited; none clears it */
	vn_dp_port_counters(dp, 2, &c0);
	mac_of(63, s1);
	len = build(b, BC, s1, NULL, 0, 0x88b5, NULL, 46);
	send_copies(2, b, len, VN_BURST);
	vn_dp_port_counters(dp, 2, &c1);
	g_assert_cmpuint(c1.drops[VN_DROP_STORM], ==, c0.drops[VN_DROP_STORM]);
	set_policy(0, "{\"storm_control\": \"none\"}");
	g_assert_null(vn_dp_policy_get(dp, 0));
	vn_dp_port_counters(dp, 0, &c0);
	len = build(b, BC, s0, NULL, 0, 0x88b5, NULL, 46);
	send_copies(0, b, len, VN_BURST);
	vn_dp_port_counters(dp, 0, &c1);
	g_assert_cmpuint(c1.drops[VN_DROP_STORM], ==, c0.drops[VN_DROP_STORM]);
	clear_policies();
}

/* port.set validation: @json must fail with a message containing @want. */
static void spec_fails(const char *json, bool has_mac, const char *want)
{
	g_autoptr(JsonParser) p = json_parser_new();
	g_autoptr(GError) err = NULL;
	g_autoptr(JsonObject) out = NULL;

	g_assert_true(json_parser_load_from_data(p, json, -1, NULL));
	g_assert_cmpint(vn_policy_spec_merge(NULL, json_node_get_object(json_parser_get_root(p)),
					     has_mac, &out, &err),
			==, -EINVAL);
	g_assert_null(out);
	if (!strstr(err->message, want))
		g_error("%s: got '%s', want '%s'", json, err->message, want);
	g_assert_null(strchr(err->message, '\n'));
}

static JsonObject *merge(JsonObject *cur, const char *json)
{
	g_autoptr(JsonParser) p = json_parser_new();
	g_autoptr(GError) err = NULL;
	JsonObject *out = NULL;

	g_assert_true(json_parser_load_from_data(p, json, -1, NULL));
	if (vn_policy_spec_merge(cur, json_node_get_object(json_parser_get_root(p)), true, &out,
				 &err) < 0)
		g_error("%s: %s", json, err->message);
	return out;
}

static void test_spec(void)
{
	g_autoptr(JsonObject) a = NULL, b2 = NULL, c = NULL, d = NULL;
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) n = json_node_new(JSON_NODE_OBJECT);
	g_autofree char *txt = NULL;

	spec_fails("{\"vlan_mode\": \"access\", \"vlan\": 0}", true, "invalid --vlan 0");
	spec_fails("{\"vlan_mode\": \"access\", \"vlan\": 4095}", true, "1-4094");
	spec_fails("{\"vlan_mode\": \"access\", \"vlan\": \"5000\"}", true, "invalid --vlan");
	spec_fails("{\"vlan_mode\": \"access\"}", true, "needs --vlan");
	spec_fails("{\"vlan_mode\": \"trunk\", \"vlans\": \"10,x\"}", true, "invalid --vlans");
	spec_fails("{\"vlan_mode\": \"trunk\", \"vlans\": \"30-20\"}", true, "invalid --vlans");
	spec_fails("{\"vlan_mode\": \"trunk\", \"vlans\": \"1-4095\"}", true, "invalid --vlans");
	spec_fails("{\"vlan_mode\": \"trunk\"}", true, "needs --vlans");
	spec_fails("{\"vlan_mode\": \"trunk\", \"vlans\": \"10\", \"vlan\": 5}", true,
		   "--vlan does not apply");
	spec_fails("{\"vlan_mode\": \"access\", \"vlan\": 5, \"vlans\": \"7\"}", true,
		   "--vlans does not apply");
	spec_fails("{\"vlan_mode\": \"bogus\"}", true, "invalid --vlan-mode");
	spec_fails("{\"vlan\": 5}", true, "need a --vlan-mode");
	spec_fails("{\"vlan_mode\": \"access\", \"vlan\": 5, \"tpid\": \"0x88a8\"}", true,
		   "dot1q-tunnel only");
	spec_fails("{\"vlan_mode\": \"dot1q-tunnel\", \"vlan\": 5, \"tpid\": \"0x1234\"}", true,
		   "invalid --tpid");
	spec_fails("{\"lock_mac\": true}", false, "needs the port's MAC");
	spec_fails("{\"allowed_ip\": \"10.0.0.300\"}", true, "invalid address '10.0.0.300'");
	spec_fails("{\"inbound\": \"average=10,peak=5\"}", true, "peak is below average");
	spec_fails("{\"inbound\": \"peak=5\"}", true, "average=KBps is required");
	spec_fails("{\"outbound\": \"average=abc\"}", true, "invalid --outbound");
	spec_fails("{\"outbound\": \"average=10,speed=5\"}", true, "invalid --outbound");
	spec_fails("{\"outbound\": \"average=0\"}", true, "invalid --outbound");
	spec_fails("{\"colour\": 1}", true, "unknown policy setting 'colour'");
	spec_fails("{\"storm_control\": 0}", true, "invalid --storm-control 0 (frames per second");
	spec_fails("{\"storm_control\": \"0\"}", true, "invalid --storm-control 0");
	spec_fails("{\"storm_control\": \"lots\"}", true, "invalid --storm-control lots");
	spec_fails("{\"storm_control\": \"100pps\"}", true, "invalid --storm-control 100pps");
	spec_fails("{\"storm_control\": -5}", true, "invalid --storm-control -5");
	spec_fails("{\"storm_control\": true}", true, "invalid --storm-control true");
	spec_fails("{\"storm_control\": 100000001}", true, "1-100000000, or none");

	/* merging: a new mode starts afresh; other settings are kept until cleared */
	a = merge(NULL,
		  "{\"vlan_mode\": \"trunk\", \"vlans\": [20, 10, 11, 12], \"lock_mac\": true,"
		  " \"inbound\": \"average=100,burst=10\"}");
	g_assert_cmpstr(json_object_get_string_member(a, "vlans"), ==, "10-12,20");
	b2 = merge(a, "{\"vlans\": \"5\", \"allowed_ip\": \"fd00:0::1,10.0.0.1\"}");
	g_assert_cmpstr(json_object_get_string_member(b2, "vlan_mode"), ==, "trunk");
	g_assert_cmpstr(json_object_get_string_member(b2, "vlans"), ==, "5");
	g_assert_true(json_object_get_boolean_member(b2, "lock_mac"));
	g_assert_cmpstr(
	    json_array_get_string_element(json_object_get_array_member(b2, "allowed_ip"), 0), ==,
	    "fd00::1");
	c = merge(b2, "{\"vlan_mode\": \"access\", \"vlan\": 7, \"lock_mac\": false, "
		      "\"inbound\": \"none\", \"allowed_ip\": \"none\"}");
	json_node_set_object(n, c);
	json_generator_set_root(gen, n);
	txt = json_generator_to_data(gen, NULL);
	g_assert_cmpstr(txt, ==, "{\"vlan_mode\":\"access\",\"vlan\":7}");
	d = merge(c, "{\"vlan_mode\": \"none\"}");
	g_assert_cmpuint(json_object_get_size(d), ==, 0);
	{ /* storm control: a number (or its text), kept by later changes, cleared by none */
		g_autoptr(JsonObject) e = merge(d, "{\"storm_control\": \"250\"}");
		g_autoptr(JsonObject) f = merge(e, "{\"lock_mac\": true}");
		g_autoptr(JsonObject) h = merge(f, "{\"storm_control\": \"none\"}");
		g_assert_cmpint(json_object_get_int_member(e, "storm_control"), ==, 250);
		g_assert_cmpint(json_object_get_int_member(f, "storm_control"), ==, 250);
		g_assert_false(json_object_has_member(h, "storm_control"));
		g_assert_true(json_object_has_member(h, "lock_mac"));
	}
}

static char *ctl(struct vn_switch *sw, const char *line)
{
	return vn_ctl_handle_line(sw, line, strlen(line));
}

/* port.set through the control protocol, persistence and port.show (validation-only switch). */
static void test_ctl(void)
{
	struct vn_config cfg;
	struct vn_switch *sw, *sw2;
	g_autofree char *dir = g_dir_make_tmp("vnpol-XXXXXX", NULL);
	g_autofree char *state = g_build_filename(dir, "state.json", NULL);
	g_autoptr(GError) err = NULL;
	static const struct {
		const char *req, *want;
	} cases[] = {
	    {"{\"cmd\": \"port.set\", \"args\": {\"name\": \"a\", \"vlan_mode\": \"access\", "
	     "\"vlan\": 10, \"lock_mac\": true, \"allowed_ip\": \"10.0.0.1\", "
	     "\"inbound\": \"average=100\"}}",
	     "\"ok\":true"},
	    {"{\"cmd\": \"port.set\", \"args\": {\"name\": \"a\", \"vlan\": 4095}}",
	     "invalid --vlan 4095"},
	    {"{\"cmd\": \"port.set\", \"args\": {\"name\": \"b\", \"lock_mac\": true}}",
	     "needs the port's MAC"},
	    {"{\"cmd\": \"port.set\", \"args\": {\"name\": \"b\"}}", "nothing to set"},
	    {"{\"cmd\": \"port.set\", \"args\": {\"name\": \"zz\", \"lock_mac\": true}}",
	     "no port 'zz'"},
	    {"{\"cmd\": \"port.set\", \"args\": {\"name\": \"b\", \"vlan_mode\": \"trunk\", "
	     "\"vlans\": \"5,7-9\"}}",
	     "\"ok\":true"},
	    {"{\"cmd\": \"port.set\", \"args\": {\"name\": \"b\", \"storm_control\": \"500\"}}",
	     "\"ok\":true"},
	    {"{\"cmd\": \"port.set\", \"args\": {\"name\": \"b\", \"storm_control\": \"0\"}}",
	     "invalid --storm-control 0 (frames per second, 1-100000000, or none)"},
	    {"{\"cmd\": \"port.add\", \"args\": {\"name\": \"c\", \"kind\": \"vhost\", "
	     "\"path\": \"/tmp/c.sock\", \"policy\": {\"vlan\": 3}}}",
	     "need a --vlan-mode"},
	    {"{\"cmd\": \"port.add\", \"args\": {\"name\": \"c\", \"kind\": \"vhost\", "
	     "\"path\": \"/tmp/c.sock\", \"policy\": 5}}",
	     "'policy' must be an object"},
	};

	vn_config_defaults(&cfg);
	sw = vn_switch_new(&cfg, NULL, NULL);
	g_assert_cmpint(vn_switch_net_add(sw, "br0", "bridge", &err), ==, 0);
	g_free(ctl(sw, "{\"cmd\": \"port.add\", \"args\": {\"name\": \"a\", \"kind\": \"vhost\", "
		       "\"path\": \"/tmp/a.sock\", \"mac\": \"02:00:00:00:00:0a\"}}"));
	g_free(ctl(sw, "{\"cmd\": \"port.add\", \"args\": {\"name\": \"b\", \"kind\": \"vhost\", "
		       "\"path\": \"/tmp/b.sock\"}}"));
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *r = ctl(sw, cases[i].req);
		if (!strstr(r, cases[i].want))
			g_error("%s: got %s, want %s", cases[i].req, r, cases[i].want);
	}
	g_assert_cmpint(vn_switch_save(sw, state, &err), ==, 0);
	sw2 = vn_switch_new(&cfg, NULL, NULL);
	g_assert_cmpint(vn_switch_restore(sw2, state, &err), ==, 0);
	{
		g_autofree char *r =
		    ctl(sw2, "{\"cmd\": \"port.show\", \"args\": {\"name\": \"a\"}}");
		g_autofree char *r2 =
		    ctl(sw2, "{\"cmd\": \"port.show\", \"args\": {\"name\": \"b\"}}");
		g_assert_nonnull(strstr(r, "\"policy\":{\"vlan_mode\":\"access\",\"vlan\":10,"
					   "\"lock_mac\":true,\"allowed_ip\":[\"10.0.0.1\"],"
					   "\"inbound\":{\"average\":100}}"));
		g_assert_nonnull(strstr(r2,
					"\"policy\":{\"vlan_mode\":\"trunk\",\"vlans\":\"5,7-9\","
					"\"storm_control\":500}"));
	}
	vn_switch_free(sw);
	vn_switch_free(sw2);
	g_unlink(state);
	g_rmdir(dir);
	vn_config_clear(&cfg);
}

/* Build the data-path policy of `port set` changes @json for a port with MAC 02::00
 * ("uplink": an uplink's default policy). */
static struct vn_port_policy *policy_of(const char *json)
{
	struct rte_ether_addr mac;
	struct vn_port_policy *pol;

	mac_of(0, mac.addr_bytes);
	if (strcmp(json, "uplink") == 0)
		pol = vn_test_policy_build(&mac, NULL, true);
	else
		pol = vn_test_policy_build(&mac, json, false);
	g_assert_nonnull(pol);
	return pol;
}

/*
 * Fill @n bytes at @p with a random IPv6 header (source fd00::1, fe80::1, the EUI-64 address
 * of 02::00 or another) and a chain of up to 12 extension headers (hop-by-hop, routing,
 * fragment at random offsets, destination options, AH) before UDP (DHCP ports or not) or
 * ICMPv6 (RA, NS, NA, echo), cut wherever @n ends.
 */
static void rand_ipv6(uint8_t *p, unsigned n)
{
	static const char *const srcs[] = {"fd00::1", "fe80::1", "fe80::ff:fe00:0", "fe80::9"};
	static const uint8_t exts[] = {0, 43, 44, 60, 51};
	static const uint8_t icmp[] = {134, 135, 136, 128};
	uint8_t b[256] = {0x60};
	unsigned o = 40, nh_at = 6;

	inet_pton(AF_INET6, srcs[g_test_rand_int_range(0, 4)], b + 8);
	inet_pton(AF_INET6, "ff02::1", b + 24);
	for (int k = g_test_rand_int_range(0, 4) ? g_test_rand_int_range(0, 13) : 0; k > 0; k--) {
		uint8_t e = exts[g_test_rand_int_range(0, 5)];
		b[nh_at] = e;
		nh_at = o;
		if (e == 44) {
			b[o + 3] = g_test_rand_int_range(0, 2) ? 1 : 0x11; /* offset 0 or 16 */
			o += 8;
		} else if (e == 51) {
			b[o + 1] = 1; /* 12 bytes */
			o += 12;
		} else {
			b[o + 1] = (uint8_t)g_test_rand_int_range(0, 2);
			o += 8 + 8u * b[o + 1];
		}
	}
	if (g_test_rand_int_range(0, 2)) {
		static const uint16_t ports[] = {546, 547, 1234};
		uint16_t sp = ports[g_test_rand_int_range(0, 3)],
			 dp = ports[g_test_rand_int_range(0, 3)];
		b[nh_at] = 17;
		b[o] = (uint8_t)(sp >> 8), b[o + 1] = (uint8_t)sp;
		b[o + 2] = (uint8_t)(dp >> 8), b[o + 3] = (uint8_t)dp;
		b[o + 8] = (uint8_t)g_test_rand_int_range(1, 14);
	} else {
		b[nh_at] = 58;
		b[o] = icmp[g_test_rand_int_range(0, 4)];
		inet_pton(AF_INET6, srcs[g_test_rand_int_range(0, 4)], b + o + 8);
		b[o + 24] = 2, b[o + 25] = 1, b[o + 26] = 0x02; /* target LLA 02::00 */
	}
	o += 32;
	b[4] = (uint8_t)((o - 40) >> 8), b[5] = (uint8_t)(o - 40);
	if (g_test_rand_int_range(0, 4) == 0)
		b[5] = (uint8_t)g_test_rand_int(); /* a payload length that lies */
	memcpy(p, b, RTE_MIN(n, sizeof(b)));
}

/*
 * The inline fast paths of policy.h (vn_vlan_classify(), vn_antispoof_check()) must decide
 * every frame exactly as the full checks do: random frames, built around the cases the fast
 * paths take (IPv4 with the allowed source, UDP, fragments, tags) and mutated byte by byte,
 * through every kind of policy.
 */
static void test_fast_paths(void)
{
	static const char *const specs[] = {
	    "{\"vlan_mode\": \"access\", \"vlan\": 10}",
	    "{\"vlan_mode\": \"trunk\", \"vlans\": \"10,20\"}",
	    "uplink", /* the default of an uplink: every VLAN and the untagged LAN */
	    "{\"vlan_mode\": \"native-untagged\", \"vlan\": 10, \"vlans\": \"20\"}",
	    "{\"vlan_mode\": \"native-tagged\", \"vlan\": 10, \"vlans\": \"4094\"}",
	    "{\"vlan_mode\": \"dot1q-tunnel\", \"vlan\": 30, \"tpid\": \"0x9100\"}",
	    "{\"lock_mac\": true, \"allowed_ip\": \"10.0.0.1\"}",
	    "{\"allowed_ip\": \"10.0.0.1, 10.0.0.2, fd00::1\"}",
	    "{\"allowed_ip\": \"fd00::1\"}",
	    "{\"lock_mac\": true}",
	    "{\"lock_mac\": true, \"allowed_ip\": \"0.0.0.0\", \"allow_dhcp_server\": true}",
	    "{\"vlan_mode\": \"trunk\", \"vlans\": \"10\", \"lock_mac\": true, \"allowed_ip\": "
	    "\"10.0.0.1\"}",
	    "{\"allowed_ip\": \"10.0.0.1, fd00::1, fe80::1\", \"allow_ra\": true}",
	};
	static const uint16_t etypes[] = {0x0800, 0x0806, 0x86dd, 0x8100, 0x88a8, 0x9100, 0x1234};
	static const uint8_t ips[][4] = {{10, 0, 0, 1}, {10, 0, 0, 2}, {0, 0, 0, 0}, {10, 0, 0, 9}};
	unsigned taken = 0, v6[2] = {0, 0}, v6frag[2] = {0, 0};

	for (unsigned si = 0; si < G_N_ELEMENTS(specs); si++) {
		struct vn_port_policy *pol = policy_of(specs[si]);

		for (unsigned it = 0; it < 20000; it++) {
			struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
			unsigned len = (unsigned)g_test_rand_int_range(14, 200), o = 12;
			uint8_t *d;

			g_assert_nonnull(m);
			d = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len);
			memset(d, 0, len);
			mac_of(g_test_rand_int_range(0, 3) ? 0 : 7, d + 6);
			d[0] = 0x02;
			/* up to two tags, then an ethertype and an IPv4/UDP header */
			for (int t = g_test_rand_int_range(0, 3); t > 0 && o + 4 <= len;
			     t--, o += 4) {
				uint16_t tp = etypes[g_test_rand_int_range(3, 6)];
				uint16_t tci = (uint16_t)(g_test_rand_int_range(0, 2)
							      ? (10 * g_test_rand_int_range(0, 4))
							      : g_test_rand_int_range(0, 0x10000));
				d[o] = (uint8_t)(tp >> 8), d[o + 1] = (uint8_t)tp;
				if (o + 4 <= len)
					d[o + 2] = (uint8_t)(tci >> 8), d[o + 3] = (uint8_t)tci;
			}
			if (o + 2 <= len) {
				uint16_t et = etypes[g_test_rand_int_range(0, 3)
							 ? 0
							 : g_test_rand_int_range(0, 7)];
				d[o] = (uint8_t)(et >> 8), d[o + 1] = (uint8_t)et;
			}
			uint8_t ip[29] = {0x45, 0, 0, 29, 0, 0, 0, 0, 64, 17};
			static const uint8_t ports[] = {67, 68, 0x39};
			memcpy(ip + 12, ips[g_test_rand_int_range(0, 4)], 4);
			ip[20] = 0, ip[21] = ports[g_test_rand_int_range(0, 3)];
			ip[22] = 0, ip[23] = ports[g_test_rand_int_range(0, 3)];
			ip[28] = (uint8_t)g_test_rand_int_range(1, 3); /* BOOTREQUEST, BOOTREPLY */
			if (!g_test_rand_int_range(0, 4))
				ip[9] = 6;
			if (!g_test_rand_int_range(0, 4))
				ip[7] = 8; /* a later fragment */
			for (unsigned i = 0; i < sizeof(ip) && o + 2 + i < len; i++)
				d[o + 2 + i] = ip[i];
			if (o + 2 <= len && d[o] == 0x86 && d[o + 1] == 0xdd)
				rand_ipv6(d + o + 2, len - o - 2);
			for (int k = g_test_rand_int_range(0, 3); k > 0; k--) /* mutations */
				d[g_test_rand_int_range(0, (gint32)len)] =
				    (uint8_t)g_test_rand_int();

			struct vn_vlan_cls a = {0}, b = {0};
			int ra = -1, rb = -1;
			if (pol->vlan_aware) {
				ra = vn_vlan_classify(pol, m, &a);
				rb = vn_vlan_classify_slow(pol, m, &b);
				g_assert_cmpint(ra, ==, rb);
				if (ra == 0) {
					g_assert_cmpuint(a.seg, ==, b.seg);
					g_assert_cmpuint(a.pcp_dei, ==, b.pcp_dei);
					g_assert_cmpuint(a.tpid, ==, b.tpid);
					g_assert_cmpint(a.tagged, ==, b.tagged);
					if (a.tagged) {
						g_assert_cmpuint(a.tag_tci, ==, b.tag_tci);
						g_assert_cmpuint(a.tag_tpid, ==, b.tag_tpid);
					}
				}
			}
			if (pol->antispoof)
				for (uint16_t off = 12; off <= 16; off += 4) {
					/* inline parse and check against the out-of-line ones */
					struct vn_meta ma = {.cl.tagged = off == 16}, ms = ma;
					vn_meta_parse_l34(m, &ma);
					vn_meta_parse_l34_slow(m, &ms);
					bool fa = vn_antispoof_check(pol, m, &ma, false);
					bool fs = vn_antispoof_check_slow(pol, m, &ms);
					/* the pipeline's fused parse-and-check: same verdict,
					 * same parse */
					struct vn_meta mi = {.cl.tagged = off == 16};
					g_assert_cmpint(vn_antispoof_ingress(pol, m, &mi, false),
							==, fs);
					if (mi.flags & VN_META_L34) {
						g_assert_cmpuint(mi.flags, ==, ms.flags);
						g_assert_cmpuint(mi.etype, ==, ms.etype);
						g_assert_cmpuint(mi.l3_off, ==, ms.l3_off);
						g_assert_cmpuint(mi.l4_off, ==, ms.l4_off);
						if (ms.l4_off)
							g_assert_cmpuint(mi.l4_proto, ==,
									 ms.l4_proto);
					}
					g_assert_cmpint(fa, ==, fs);
					taken += fa;
					if (ms.etype == 0x86dd &&
					    (ms.flags & (VN_META_FRAG1 | VN_META_FRAG)))
						v6frag[fs]++;
					else if (ms.etype == 0x86dd && ms.l4_off)
						v6[fs]++;
					/* a source already let through (mac_ok) skips only the MAC
					 * compare: same verdict for frames from the port's MAC */
					if (!pol->lock_mac ||
					    rte_is_same_ether_addr(
						rte_pktmbuf_mtod_offset(m, struct rte_ether_addr *,
									6),
						&pol->mac))
						g_assert_cmpint(
						    vn_antispoof_check(pol, m, &ma, true), ==, fs);
				}
			rte_pktmbuf_free(m);
		}
		vn_policy_free(pol);
	}
	g_assert_cmpuint(taken, >, 1000); /* the frames exercised passing cases too */
	/* and IPv6 with extension headers and fragments, passing and dropped */
	g_assert_cmpuint(v6[0], >, 100);
	g_assert_cmpuint(v6[1], >, 100);
	g_assert_cmpuint(v6frag[0], >, 100);
	g_assert_cmpuint(v6frag[1], >, 100);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	vn_test_pool_dp(&mp, &dp);
	net_a = vn_test_net(dp, "a", 0, "{\"type\": \"bridge\"}");
	vn_test_ring_ports(dp, ports, rx, tx, NP, 64, 256, net_a);
	g_test_add_func("/policy/vlan", test_vlan);
	g_test_add_func("/policy/untagged_lan", test_untagged_lan);
	g_test_add_func("/policy/burst_memo", test_burst_memo);
	g_test_add_func("/policy/qinq", test_qinq);
	g_test_add_func("/policy/antispoof", test_antispoof);
	g_test_add_func("/policy/fast_paths", test_fast_paths);
	g_test_add_func("/policy/meter", test_meter);
	g_test_add_func("/policy/meter_pipeline", test_meter_pipeline);
	g_test_add_func("/policy/storm_control", test_storm_control);
	g_test_add_func("/policy/spec", test_spec);
	g_test_add_func("/policy/ctl", test_ctl);
	return g_test_run();
}

/* SPDX-License-Identifier: MIT */
/* ARP/ND wire formats (known answers from scapy, rejections) and the neighbour cache's states. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "vnicd/neigh.h"

/* Frames built by scapy 2.5 (us 02:00:00:00:00:01 192.0.2.1 / 2001:db8::1, them
 * 02:aa:bb:cc:dd:ee 192.0.2.77 / 2001:db8::12:3456:789a). */
static const uint8_t kat_arp_request[42] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    0xc0, 0x00, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x4d,
};
static const uint8_t kat_arp_reply[42] = {
    0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    0xc0, 0x00, 0x02, 0x01, 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xc0, 0x00, 0x02, 0x4d,
};
static const uint8_t kat_garp[42] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    0xc0, 0x00, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x01,
};
static const uint8_t kat_ns[86] = {
    0x33, 0x33, 0xff, 0x56, 0x78, 0x9a, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86, 0xdd, 0x60,
    0x00, 0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x56, 0x78, 0x9a, 0x87, 0x00, 0xf6, 0x37, 0x00, 0x00,
    0x00, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x12, 0x34,
    0x56, 0x78, 0x9a, 0x01, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
};
static const uint8_t kat_na[86] = {
    0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86, 0xdd, 0x60,
    0x00, 0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x12, 0x34, 0x56, 0x78, 0x9a, 0x88, 0x00, 0xdd, 0x72, 0x60, 0x00,
    0x00, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x02, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
};
static const uint8_t kat_na_unsol[86] = {
    0x33, 0x33, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86, 0xdd, 0x60,
    0x00, 0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x88, 0x00, 0xf9, 0x2a, 0x20, 0x00,
    0x00, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x02, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
};
static const uint8_t kat_ns_in[86] = {
    0x33, 0x33, 0xff, 0x00, 0x00, 0x01, 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x86, 0xdd, 0x60,
    0x00, 0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x00, 0x00, 0x01, 0x87, 0x00, 0xd4, 0xc2, 0x00, 0x00,
    0x00, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x01, 0x01, 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,
};

static const struct rte_ether_addr us_mac = {{0x02, 0, 0, 0, 0, 0x01}};
static const struct rte_ether_addr them_mac = {{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee}};

static struct vn_tun_addr ip(const char *s)
{
	struct vn_tun_addr a = {.v6 = strchr(s, ':') != NULL};

	g_assert_cmpint(inet_pton(a.v6 ? AF_INET6 : AF_INET, s, a.a), ==, 1);
	return a;
}

/* IPP() - a pointer to ip(@s), valid in the enclosing block. */
#define IPP(s) (&(struct vn_tun_addr[1]){ip(s)}[0])

static void assert_frame(const uint8_t *got, int len, const uint8_t *want, size_t want_len)
{
	g_assert_cmpint(len, ==, (int)want_len);
	g_assert_cmpmem(got, want_len, want, want_len);
}

/* Recompute the ICMPv6 checksum of the untagged NS/NA @f after an edit. */
static void fix_csum(uint8_t *f)
{
	size_t plen = (size_t)(f[18] << 8 | f[19]);
	uint16_t c;

	f[56] = f[57] = 0;
	c = vn_neigh_icmp6_csum(f + 22, f + 38, f + 54, plen);
	f[56] = (uint8_t)(c >> 8);
	f[57] = (uint8_t)c;
}

/* ---- wire ------------------------------------------------------------------------------ */

static void test_arp_kat(void)
{
	struct vn_tun_addr us = ip("192.0.2.1"), them = ip("192.0.2.77");
	uint8_t f[VN_NEIGH_FRAME_MAX], req[VN_NEIGH_FRAME_MAX];
	struct vn_neigh_pkt p;
	int len;

	len = vn_neigh_build_arp_request(f, sizeof(f), &us_mac, &us, &them, NULL);
	assert_frame(f, len, kat_arp_request, sizeof(kat_arp_request));
	len = vn_neigh_build_garp(f, sizeof(f), &us_mac, &us);
	assert_frame(f, len, kat_garp, sizeof(kat_garp));
	/* their request for us, parsed, then our reply */
	len = vn_neigh_build_arp_request(req, sizeof(req), &them_mac, &them, &us, NULL);
	g_assert_cmpint(vn_neigh_parse(req, (size_t)len, &p), ==, 0);
	g_assert_cmpint(p.kind, ==, VN_NEIGH_ARP_REQUEST);
	g_assert_true(rte_is_same_ether_addr(&p.sender_mac, &them_mac));
	g_assert_cmpmem(p.sender_ip.a, 4, them.a, 4);
	g_assert_cmpmem(p.target_ip.a, 4, us.a, 4);
	g_assert_false(p.sender_ip.v6);
	len = vn_neigh_build_arp_reply(f, sizeof(f), &us_mac, &us, &p);
	assert_frame(f, len, kat_arp_reply, sizeof(kat_arp_reply));
	g_assert_cmpint(vn_neigh_parse(kat_arp_reply, sizeof(kat_arp_reply), &p), ==, 0);
	g_assert_cmpint(p.kind, ==, VN_NEIGH_ARP_REPLY);
	g_assert_true(rte_is_same_ether_addr(&p.target_mac, &them_mac));
	/* errors */
	g_assert_cmpint(vn_neigh_build_arp_request(f, 41, &us_mac, &us, &them, NULL), ==, -ENOSPC);
	g_assert_cmpint(vn_neigh_build_garp(f, sizeof(f), &us_mac, &(struct vn_tun_addr){.v6 = 1}),
			==, -EINVAL);
}

static void test_nd_kat(void)
{
	struct vn_tun_addr us = ip("2001:db8::1"), them = ip("2001:db8::12:3456:789a");
	uint8_t f[VN_NEIGH_FRAME_MAX];
	struct vn_neigh_pkt p;
	int len;

	len = vn_neigh_build_ns(f, sizeof(f), &us_mac, &us, &them, NULL);
	assert_frame(f, len, kat_ns, sizeof(kat_ns));
	len = vn_neigh_build_na_unsolicited(f, sizeof(f), &us_mac, &us);
	assert_frame(f, len, kat_na_unsol, sizeof(kat_na_unsol));
	g_assert_cmpint(vn_neigh_parse(kat_ns_in, sizeof(kat_ns_in), &p), ==, 0);
	g_assert_cmpint(p.kind, ==, VN_NEIGH_NS);
	g_assert_true(p.has_lladdr && rte_is_same_ether_addr(&p.lladdr, &them_mac));
	g_assert_true(rte_is_same_ether_addr(&p.sender_mac, &them_mac));
	g_assert_cmpmem(p.sender_ip.a, 16, them.a, 16);
	g_assert_cmpmem(p.target_ip.a, 16, us.a, 16);
	len = vn_neigh_build_na(f, sizeof(f), &us_mac, &us, &p);
	assert_frame(f, len, kat_na, sizeof(kat_na));
	g_assert_cmpint(vn_neigh_parse(kat_na, sizeof(kat_na), &p), ==, 0);
	g_assert_cmpint(p.kind, ==, VN_NEIGH_NA);
	g_assert_cmpint(p.na_flags, ==, VN_ND_NA_SOLICITED | VN_ND_NA_OVERRIDE);
	g_assert_true(p.has_lladdr && rte_is_same_ether_addr(&p.lladdr, &us_mac));
	/* every ND frame above carries a checksum that verifies */
	g_assert_cmpuint(vn_neigh_icmp6_csum(kat_ns + 22, kat_ns + 38, kat_ns + 54, 32), ==, 0);
	g_assert_cmpuint(vn_neigh_icmp6_csum(kat_na + 22, kat_na + 38, kat_na + 54, 32), ==, 0);
	/* unicast re-probe: to the target itself at its MAC */
	len = vn_neigh_build_ns(f, sizeof(f), &us_mac, &us, &them, &them_mac);
	g_assert_cmpint(vn_neigh_parse(f, (size_t)len, &p), ==, 0);
	g_assert_true(rte_is_same_ether_addr(&p.eth_dst, &them_mac));
	g_assert_cmpmem(p.dst_ip.a, 16, them.a, 16);
	g_assert_cmpint(vn_neigh_build_ns(f, 85, &us_mac, &us, &them, NULL), ==, -ENOSPC);
}

static void test_nd_dad_answer(void)
{
	struct vn_tun_addr us = ip("2001:db8::1");
	uint8_t ns[VN_NEIGH_FRAME_MAX], f[VN_NEIGH_FRAME_MAX];
	struct vn_neigh_pkt p;
	int len;

	/* a DAD probe for our address: source ::, no option */
	memcpy(ns, kat_ns_in, sizeof(kat_ns_in));
	memset(ns + 22, 0, 16);
	ns[19] = 24;
	fix_csum(ns);
	g_assert_cmpint(vn_neigh_parse(ns, 78, &p), ==, 0);
	g_assert_cmpint(p.kind, ==, VN_NEIGH_NS);
	g_assert_false(p.has_lladdr);
	len = vn_neigh_build_na(f, sizeof(f), &us_mac, &us, &p);
	g_assert_cmpint(vn_neigh_parse(f, (size_t)len, &p), ==, 0);
	g_assert_cmpint(p.na_flags, ==, VN_ND_NA_OVERRIDE);
	g_assert_cmpmem(p.dst_ip.a, 16, ip("ff02::1").a, 16);
	/* ... with an option it is invalid */
	memcpy(ns, kat_ns_in, sizeof(kat_ns_in));
	memset(ns + 22, 0, 16);
	fix_csum(ns);
	g_assert_cmpint(vn_neigh_parse(ns, sizeof(kat_ns_in), &p), ==, -EBADMSG);
}

static void test_parse_reject(void)
{
	uint8_t f[128];
	struct vn_neigh_pkt p;

#define EDIT(src, stmt, fix)                                                                       \
	do {                                                                                       \
		memcpy(f, src, sizeof(src));                                                       \
		stmt;                                                                              \
		if (fix)                                                                           \
			fix_csum(f);                                                               \
	} while (0)
	EDIT(kat_ns, f[21] = 254, true); /* hop limit */
	g_assert_cmpint(vn_neigh_parse(f, sizeof(kat_ns), &p), ==, -EBADMSG);
	EDIT(kat_ns, f[57] ^= 1, false); /* checksum */
	g_assert_cmpint(vn_neigh_parse(f, sizeof(kat_ns), &p), ==, -EBADMSG);
	EDIT(kat_ns, f[55] = 1, true); /* code */
	g_assert_cmpint(vn_neigh_parse(f, sizeof(kat_ns), &p), ==, -EBADMSG);
	EDIT(kat_ns, f[79] = 0, true); /* zero-length option */
	g_assert_cmpint(vn_neigh_parse(f, sizeof(kat_ns), &p), ==, -EBADMSG);
	EDIT(kat_ns, f[79] = 2, true); /* option past the end */
	g_assert_cmpint(vn_neigh_parse(f, sizeof(kat_ns), &p), ==, -EBADMSG);
	EDIT(kat_ns, f[62] = 0xff, true); /* multicast target */
	g_assert_cmpint(vn_neigh_parse(f, sizeof(kat_ns), &p), ==, -EBADMSG);
	EDIT(kat_na_unsol, f[58] |= VN_ND_NA_SOLICITED, true); /* solicited to multicast */
	g_assert_cmpint(vn_neigh_parse(f, sizeof(kat_na_unsol), &p), ==, -EBADMSG);
	EDIT(kat_ns, (f[19] = 20, f[85] = 0), true); /* shorter than an NS */
	g_assert_cmpint(vn_neigh_parse(f, sizeof(kat_ns), &p), ==, -EBADMSG);
	EDIT(kat_ns, f[80] = 0x01, true); /* multicast link-layer option */
	g_assert_cmpint(vn_neigh_parse(f, sizeof(kat_ns), &p), ==, -EBADMSG);
	/* truncation: never accepted, never read past the end */
	for (size_t l = 0; l < sizeof(kat_ns); l++) {
		g_assert_cmpint(vn_neigh_parse(kat_ns, l, &p), <=, 0);
		g_assert_cmpint(p.kind, ==, VN_NEIGH_OTHER);
	}
	for (size_t l = 15; l < sizeof(kat_arp_reply); l++)
		g_assert_cmpint(vn_neigh_parse(kat_arp_reply, l, &p), ==, -EBADMSG);
	/* ARP header fields */
	EDIT(kat_arp_reply, f[18] = 8, false);
	g_assert_cmpint(vn_neigh_parse(f, 42, &p), ==, -EBADMSG);
	EDIT(kat_arp_reply, f[17] = 0xdd, false);
	g_assert_cmpint(vn_neigh_parse(f, 42, &p), ==, -EBADMSG);
	EDIT(kat_arp_reply, f[22] = 0xff, false); /* broadcast sender */
	g_assert_cmpint(vn_neigh_parse(f, 42, &p), ==, -EBADMSG);
	/* not ours: other opcode, other next header, other ICMPv6, VLAN tag */
	EDIT(kat_arp_reply, f[21] = 8, false);
	g_assert_cmpint(vn_neigh_parse(f, 42, &p), ==, 0);
	g_assert_cmpint(p.kind, ==, VN_NEIGH_OTHER);
	EDIT(kat_ns, f[20] = 0, false);
	g_assert_cmpint(vn_neigh_parse(f, sizeof(kat_ns), &p), ==, 0);
	g_assert_cmpint(p.kind, ==, VN_NEIGH_OTHER);
	EDIT(kat_ns, f[54] = 128, false);
	g_assert_cmpint(vn_neigh_parse(f, sizeof(kat_ns), &p), ==, 0);
	g_assert_cmpint(p.kind, ==, VN_NEIGH_OTHER);
	EDIT(kat_ns, (f[12] = 0x81, f[13] = 0), false);
	g_assert_cmpint(vn_neigh_parse(f, sizeof(kat_ns), &p), ==, 0);
	g_assert_cmpint(p.kind, ==, VN_NEIGH_OTHER);
	/* Ethernet padding is fine */
	memset(f, 0, sizeof(f));
	memcpy(f, kat_arp_reply, sizeof(kat_arp_reply));
	g_assert_cmpint(vn_neigh_parse(f, 60, &p), ==, 0);
	g_assert_cmpint(p.kind, ==, VN_NEIGH_ARP_REPLY);
	memcpy(f, kat_ns, sizeof(kat_ns));
	g_assert_cmpint(vn_neigh_parse(f, sizeof(f), &p), ==, 0);
	g_assert_cmpint(p.kind, ==, VN_NEIGH_NS);
#undef EDIT
}

/* ---- the cache ------------------------------------------------------------------------- */

/* What the callbacks saw. */
struct cap {
	GPtrArray *sent; /* GBytes */
	unsigned changes;
	struct vn_tun_addr last_ip;
	bool last_has_mac;
	struct rte_ether_addr last_mac;
};

static void cap_send(void *ud, const uint8_t *frame, size_t len)
{
	struct cap *c = ud;

	g_ptr_array_add(c->sent, g_bytes_new(frame, len));
}

static void cap_changed(void *ud, const struct vn_tun_addr *a, const struct rte_ether_addr *mac)
{
	struct cap *c = ud;

	c->changes++;
	c->last_ip = *a;
	c->last_has_mac = mac != NULL;
	if (mac)
		c->last_mac = *mac;
}

/* The @i-th frame sent, parsed (valid until the next call). */
static const struct vn_neigh_pkt *sent_pkt(struct cap *c, guint i)
{
	static struct vn_neigh_pkt p;
	gsize len;
	const uint8_t *f;

	g_assert_cmpuint(i, <, c->sent->len);
	f = g_bytes_get_data(g_ptr_array_index(c->sent, i), &len);
	g_assert_cmpint(vn_neigh_parse(f, len, &p), ==, 0);
	return &p;
}

static struct vn_neigh *cache(struct cap *c, const char *addr, uint8_t prefix, const char *gw)
{
	struct vn_neigh_cfg cfg = {.mac = us_mac,
				   .addr = ip(addr),
				   .prefix_len = prefix,
				   .has_gateway = gw != NULL,
				   .send = cap_send,
				   .changed = cap_changed,
				   .ud = c};
	struct vn_neigh *n;

	memset(c, 0, sizeof(*c));
	c->sent = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	if (gw)
		cfg.gateway = ip(gw);
	n = vn_neigh_new(&cfg);
	g_assert_nonnull(n);
	return n;
}

static void cap_clear(struct cap *c)
{
	g_ptr_array_unref(c->sent);
}

/* Feed the ARP reply (@v6 false) or solicited NA of @who at @mac to us. */
static bool answer(struct vn_neigh *n, const char *who, const struct rte_ether_addr *mac,
		   uint64_t now)
{
	struct vn_tun_addr a = ip(who), us = a.v6 ? ip("2001:db8::1") : ip("192.0.2.1");
	uint8_t f[VN_NEIGH_FRAME_MAX];
	struct vn_neigh_pkt req = {.sender_mac = us_mac, .sender_ip = us};
	int len;

	if (a.v6)
		len = vn_neigh_build_na(f, sizeof(f), mac, &a, &req);
	else
		len = vn_neigh_build_arp_reply(f, sizeof(f), mac, &a, &req);
	g_assert_cmpint(len, >, 0);
	return vn_neigh_input(n, f, (size_t)len, now);
}

static void test_resolve(gconstpointer data)
{
	const char *us = data, *them = strchr(us, ':') ? "2001:db8::12:3456:789a" : "192.0.2.77";
	struct vn_tun_addr t = ip(them);
	struct rte_ether_addr mac;
	struct cap c;
	g_autoptr(vn_neigh) n = cache(&c, us, 0, NULL);

	g_assert_cmpint(vn_neigh_lookup(n, &t, 0, &mac), ==, -EAGAIN);
	g_assert_cmpuint(c.sent->len, ==, 1);
	g_assert_cmpmem(g_bytes_get_data(g_ptr_array_index(c.sent, 0), NULL),
			strchr(us, ':') ? sizeof(kat_ns) : sizeof(kat_arp_request),
			strchr(us, ':') ? kat_ns : kat_arp_request,
			strchr(us, ':') ? sizeof(kat_ns) : sizeof(kat_arp_request));
	g_assert_cmpint(vn_neigh_lookup(n, &t, 10, &mac), ==, -EAGAIN);
	g_assert_cmpuint(c.sent->len, ==, 1); /* in progress: no second request */
	g_assert_true(answer(n, them, &them_mac, 20));
	g_assert_cmpuint(c.changes, ==, 1);
	g_assert_true(c.last_has_mac && rte_is_same_ether_addr(&c.last_mac, &them_mac));
	g_assert_cmpmem(c.last_ip.a, 16, ip(them).a, 16);
	g_assert_cmpint(vn_neigh_lookup(n, &t, 30, &mac), ==, 0);
	g_assert_true(rte_is_same_ether_addr(&mac, &them_mac));
	/* a reply from someone we do not track is not learnt */
	g_assert_false(answer(n, strchr(us, ':') ? "2001:db8::99" : "192.0.2.99", &them_mac, 40));
	g_assert_cmpuint(vn_neigh_counters(n)->requests_sent, ==, 1);
	g_assert_cmpuint(vn_neigh_counters(n)->replies_received, ==, 1);
	g_assert_cmpuint(vn_neigh_counters(n)->resolved, ==, 1);
	/* a frame of ours looped back is ignored */
	g_assert_false(vn_neigh_input(n, g_bytes_get_data(g_ptr_array_index(c.sent, 0), NULL),
				      g_bytes_get_size(g_ptr_array_index(c.sent, 0)), 50));
	cap_clear(&c);
}

static void test_retries_failed(void)
{
	struct vn_tun_addr t = ip("192.0.2.77");
	struct rte_ether_addr mac;
	struct cap c;
	g_autoptr(vn_neigh) n = cache(&c, "192.0.2.1", 24, NULL);

	g_assert_cmpint(vn_neigh_lookup(n, &t, 0, &mac), ==, -EAGAIN);
	g_assert_cmpuint(vn_neigh_tick(n, 999), ==, 1000); /* nothing due yet */
	g_assert_cmpuint(c.sent->len, ==, 1);
	g_assert_cmpuint(vn_neigh_tick(n, 1000), ==, 2000);
	g_assert_cmpuint(vn_neigh_tick(n, 2000), ==, 3000);
	g_assert_cmpuint(c.sent->len, ==, 3); /* three probes, all broadcast */
	for (guint i = 0; i < 3; i++)
		g_assert_true(rte_is_broadcast_ether_addr(&sent_pkt(&c, i)->eth_dst));
	g_assert_cmpuint(vn_neigh_tick(n, 3000), ==, 13000); /* FAILED, retry in 10 s */
	g_assert_cmpuint(c.sent->len, ==, 3);
	g_assert_cmpuint(c.changes, ==, 0); /* it never had a MAC */
	g_assert_cmpint(vn_neigh_lookup(n, &t, 5000, &mac), ==, -EHOSTUNREACH);
	g_assert_cmpuint(vn_neigh_counters(n)->failures, ==, 1);
	g_assert_cmpuint(vn_neigh_tick(n, 13000), ==, 14000); /* resolved again */
	g_assert_cmpuint(c.sent->len, ==, 4);
	g_assert_cmpint(vn_neigh_lookup(n, &t, 13500, &mac), ==, -EAGAIN);
	g_assert_true(answer(n, "192.0.2.77", &them_mac, 13600));
	g_assert_cmpint(vn_neigh_lookup(n, &t, 13700, &mac), ==, 0);
	g_assert_cmpint(vn_neigh_forget(n, &t), ==, 0);
	g_assert_cmpint(vn_neigh_forget(n, &t), ==, -ENOENT);
	/* a lookup of a FAILED entry past its retry time restarts it too */
	g_assert_cmpint(vn_neigh_lookup(n, &t, 20000, &mac), ==, -EAGAIN);
	for (uint64_t ms = 21000; ms <= 23000; ms += 1000)
		vn_neigh_tick(n, ms);
	g_assert_cmpint(vn_neigh_lookup(n, &t, 32999, &mac), ==, -EHOSTUNREACH);
	g_assert_cmpuint(c.sent->len, ==, 7);
	g_assert_cmpint(vn_neigh_lookup(n, &t, 33000, &mac), ==, -EAGAIN);
	g_assert_cmpuint(c.sent->len, ==, 8);
	cap_clear(&c);
}

static void test_stale_probe(void)
{
	struct vn_tun_addr t = ip("192.0.2.77");
	struct rte_ether_addr mac;
	struct vn_neigh_pkt p;
	struct cap c;
	g_autoptr(vn_neigh) n = cache(&c, "192.0.2.1", 24, NULL);

	g_assert_cmpint(vn_neigh_lookup(n, &t, 0, &mac), ==, -EAGAIN);
	g_assert_true(answer(n, "192.0.2.77", &them_mac, 100));
	g_assert_cmpuint(vn_neigh_tick(n, 29000), ==, 30100);
	g_assert_cmpuint(c.sent->len, ==, 1);
	/* aged: STALE and a unicast probe; the MAC is still used */
	g_assert_cmpuint(vn_neigh_tick(n, 30100), ==, 31100);
	g_assert_cmpuint(c.sent->len, ==, 2);
	p = *sent_pkt(&c, 1);
	g_assert_true(rte_is_same_ether_addr(&p.eth_dst, &them_mac));
	g_assert_cmpint(p.kind, ==, VN_NEIGH_ARP_REQUEST);
	g_assert_cmpint(vn_neigh_lookup(n, &t, 30200, &mac), ==, 0);
	g_assert_cmpuint(c.sent->len, ==, 2); /* already being probed */
	/* answered: REACHABLE again, same MAC: no changed() */
	g_assert_true(answer(n, "192.0.2.77", &them_mac, 30300));
	g_assert_cmpuint(c.changes, ==, 1);
	g_assert_cmpuint(vn_neigh_tick(n, 31100), ==, 60300);
	/* aged again, never answered: unicast, unicast, broadcast, then FAILED and lost */
	vn_neigh_tick(n, 60300);
	vn_neigh_tick(n, 61300);
	vn_neigh_tick(n, 62300);
	g_assert_cmpuint(c.sent->len, ==, 5);
	g_assert_true(rte_is_same_ether_addr(&sent_pkt(&c, 3)->eth_dst, &them_mac));
	g_assert_true(rte_is_broadcast_ether_addr(&sent_pkt(&c, 4)->eth_dst));
	g_assert_cmpuint(c.changes, ==, 1);
	vn_neigh_tick(n, 63300);
	g_assert_cmpuint(c.changes, ==, 2);
	g_assert_false(c.last_has_mac);
	g_assert_cmpint(vn_neigh_lookup(n, &t, 63400, &mac), ==, -EHOSTUNREACH);
	cap_clear(&c);
}

static void test_override(void)
{
	struct vn_tun_addr t = ip("2001:db8::12:3456:789a"), us = ip("2001:db8::1");
	const struct rte_ether_addr other = {{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}};
	struct vn_neigh_pkt req = {.sender_mac = us_mac, .sender_ip = us};
	uint8_t f[VN_NEIGH_FRAME_MAX];
	struct rte_ether_addr mac;
	struct cap c;
	g_autoptr(vn_neigh) n = cache(&c, "2001:db8::1", 64, NULL);

	g_assert_cmpint(vn_neigh_lookup(n, &t, 0, &mac), ==, -EAGAIN);
	g_assert_true(answer(n, "2001:db8::12:3456:789a", &them_mac, 10));
	/* a solicited NA with another MAC and no override: ignored, entry goes STALE */
	g_assert_cmpint(vn_neigh_build_na(f, sizeof(f), &other, &t, &req), ==, 86);
	f[58] = VN_ND_NA_SOLICITED;
	fix_csum(f);
	g_assert_true(vn_neigh_input(n, f, 86, 20));
	g_assert_cmpint(vn_neigh_lookup(n, &t, 30, &mac), ==, 0);
	g_assert_true(rte_is_same_ether_addr(&mac, &them_mac));
	g_assert_cmpuint(c.changes, ==, 1);
	/* the unsolicited NA of the new MAC (override): replaces it */
	g_assert_cmpint(vn_neigh_build_na_unsolicited(f, sizeof(f), &other, &t), ==, 86);
	g_assert_true(vn_neigh_input(n, f, 86, 40));
	g_assert_cmpuint(c.changes, ==, 2);
	g_assert_true(rte_is_same_ether_addr(&c.last_mac, &other));
	g_assert_cmpuint(vn_neigh_counters(n)->mac_changes, ==, 1);
	cap_clear(&c);
}

static void test_answer(void)
{
	struct vn_tun_addr us4 = ip("192.0.2.1"), them4 = ip("192.0.2.77"), x = ip("192.0.2.9");
	uint8_t f[VN_NEIGH_FRAME_MAX];
	struct cap c, c6;
	g_autoptr(vn_neigh) n = cache(&c, "192.0.2.1", 24, NULL);
	g_autoptr(vn_neigh) n6 = cache(&c6, "2001:db8::1", 64, NULL);
	int len;

	len = vn_neigh_build_arp_request(f, sizeof(f), &them_mac, &them4, &us4, NULL);
	g_assert_true(vn_neigh_input(n, f, (size_t)len, 0));
	g_assert_cmpuint(c.sent->len, ==, 1);
	g_assert_cmpmem(g_bytes_get_data(g_ptr_array_index(c.sent, 0), NULL), 42, kat_arp_reply,
			42);
	/* for someone else; an IPv6 frame to an IPv4 cache: not ours, nothing sent */
	len = vn_neigh_build_arp_request(f, sizeof(f), &them_mac, &them4, &x, NULL);
	g_assert_false(vn_neigh_input(n, f, (size_t)len, 0));
	g_assert_false(vn_neigh_input(n, kat_ns_in, sizeof(kat_ns_in), 0));
	/* another host claiming our address */
	len = vn_neigh_build_garp(f, sizeof(f), &them_mac, &us4);
	g_assert_true(vn_neigh_input(n, f, (size_t)len, 0));
	g_assert_cmpuint(c.sent->len, ==, 1);
	g_assert_cmpuint(vn_neigh_counters(n)->address_conflicts, ==, 1);
	/* malformed */
	memcpy(f, kat_arp_reply, 42);
	f[18] = 7;
	g_assert_false(vn_neigh_input(n, f, 42, 0));
	g_assert_cmpuint(vn_neigh_counters(n)->malformed, ==, 1);
	/* NS for our IPv6 address */
	g_assert_true(vn_neigh_input(n6, kat_ns_in, sizeof(kat_ns_in), 0));
	g_assert_cmpuint(c6.sent->len, ==, 1);
	g_assert_cmpmem(g_bytes_get_data(g_ptr_array_index(c6.sent, 0), NULL), 86, kat_na, 86);
	g_assert_cmpuint(vn_neigh_counters(n6)->replies_sent, ==, 1);
	/* announcements */
	vn_neigh_announce(n);
	vn_neigh_announce(n6);
	g_assert_cmpmem(g_bytes_get_data(g_ptr_array_index(c.sent, 1), NULL), 42, kat_garp, 42);
	g_assert_cmpmem(g_bytes_get_data(g_ptr_array_index(c6.sent, 1), NULL), 86, kat_na_unsol,
			86);
	cap_clear(&c);
	cap_clear(&c6);
}

static void test_learn_from_request(void)
{
	struct vn_tun_addr us4 = ip("192.0.2.1"), them4 = ip("192.0.2.77");
	uint8_t f[VN_NEIGH_FRAME_MAX];
	struct rte_ether_addr mac;
	struct cap c;
	g_autoptr(vn_neigh) n = cache(&c, "192.0.2.1", 24, NULL);
	int len;

	g_assert_cmpint(vn_neigh_lookup(n, &them4, 0, &mac), ==, -EAGAIN);
	len = vn_neigh_build_arp_request(f, sizeof(f), &them_mac, &them4, &us4, NULL);
	g_assert_true(vn_neigh_input(n, f, (size_t)len, 5));
	g_assert_cmpuint(c.changes, ==, 1);
	/* learnt STALE from a request: usable, and re-probed at the next tick */
	g_assert_cmpint(vn_neigh_lookup(n, &them4, 6, &mac), ==, 0);
	g_assert_cmpuint(c.sent->len, ==, 3); /* request, reply, unicast probe */
	g_assert_true(rte_is_same_ether_addr(&sent_pkt(&c, 2)->eth_dst, &them_mac));
	cap_clear(&c);
}

static void test_limit(void)
{
	struct vn_tun_addr a = ip("192.0.2.10"), b = ip("192.0.2.11"), d = ip("192.0.2.12");
	struct vn_neigh_cfg cfg = {
	    .mac = us_mac, .addr = ip("192.0.2.1"), .max_entries = 2, .send = cap_send};
	struct rte_ether_addr mac;
	struct cap c = {.sent = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref)};
	g_autoptr(vn_neigh) n = NULL;

	cfg.ud = &c;
	n = vn_neigh_new(&cfg);
	g_assert_cmpint(vn_neigh_lookup(n, &a, 0, &mac), ==, -EAGAIN);
	g_assert_cmpint(vn_neigh_lookup(n, &b, 0, &mac), ==, -EAGAIN);
	g_assert_cmpint(vn_neigh_lookup(n, &d, 0, &mac), ==, -ENOSPC);
	g_assert_cmpint(vn_neigh_lookup(n, &a, 0, &mac), ==, -EAGAIN); /* existing: fine */
	g_assert_cmpuint(vn_neigh_counters(n)->table_full, ==, 1);
	g_assert_cmpint(vn_neigh_forget(n, &a), ==, 0);
	g_assert_cmpint(vn_neigh_lookup(n, &d, 0, &mac), ==, -EAGAIN);
	/* addresses that are never neighbours */
	g_assert_cmpint(vn_neigh_lookup(n, &cfg.addr, 0, &mac), ==, -EINVAL);
	g_assert_cmpint(vn_neigh_lookup(n, &(struct vn_tun_addr){.a = {224, 0, 0, 1}}, 0, &mac), ==,
			-EINVAL);
	g_assert_cmpint(vn_neigh_lookup(n, &(struct vn_tun_addr){.v6 = true, .a = {0x20}}, 0, &mac),
			==, -EINVAL);
	cap_clear(&c);
}

static void test_gateway(void)
{
	struct vn_tun_addr far = ip("198.51.100.7"), near = ip("192.0.2.77"), nh;
	struct vn_neigh_cfg bad = {.mac = us_mac,
				   .addr = ip("192.0.2.1"),
				   .prefix_len = 24,
				   .has_gateway = true,
				   .gateway = ip("192.0.3.254"),
				   .send = cap_send};
	struct rte_ether_addr mac;
	struct cap c;
	g_autoptr(vn_neigh) n = cache(&c, "192.0.2.1", 24, "192.0.2.254");
	g_autoptr(vn_neigh) all = NULL;

	g_assert_null(vn_neigh_new(&bad)); /* gateway outside the prefix */
	g_assert_cmpint(vn_neigh_nexthop(n, &far, &nh), ==, 0);
	g_assert_cmpmem(nh.a, 4, ip("192.0.2.254").a, 4);
	g_assert_cmpint(vn_neigh_nexthop(n, &near, &nh), ==, 0);
	g_assert_cmpmem(nh.a, 4, near.a, 4);
	g_assert_cmpint(vn_neigh_lookup(n, &far, 0, &mac), ==, -EAGAIN);
	g_assert_cmpmem(sent_pkt(&c, 0)->target_ip.a, 4, ip("192.0.2.254").a, 4);
	g_assert_true(answer(n, "192.0.2.254", &them_mac, 10));
	g_assert_cmpmem(c.last_ip.a, 4, ip("192.0.2.254").a, 4);
	g_assert_cmpint(vn_neigh_lookup(n, &far, 20, &mac), ==, 0);
	g_assert_true(rte_is_same_ether_addr(&mac, &them_mac));
	g_assert_cmpint(vn_neigh_lookup(n, IPP("198.51.100.8"), 20, &mac), ==, 0);
	/* no prefix, a gateway: everything through it; no prefix, no gateway: all on-link */
	bad.prefix_len = 0;
	all = vn_neigh_new(&bad);
	g_assert_cmpint(vn_neigh_nexthop(all, &near, &nh), ==, 0);
	g_assert_cmpmem(nh.a, 4, ip("192.0.3.254").a, 4);
	cap_clear(&c);
	vn_neigh_free(g_steal_pointer(&n));
	n = cache(&c, "192.0.2.1", 0, NULL);
	g_assert_cmpint(vn_neigh_nexthop(n, &far, &nh), ==, 0);
	g_assert_cmpmem(nh.a, 4, far.a, 4);
	cap_clear(&c);
}

static void test_describe(void)
{
	struct vn_tun_addr a = ip("192.0.2.77"), b = ip("192.0.2.10");
	g_autoptr(JsonBuilder) jb = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree char *s = NULL;
	struct rte_ether_addr mac;
	struct cap c;
	g_autoptr(vn_neigh) n = cache(&c, "192.0.2.1", 24, NULL);

	vn_neigh_lookup(n, &a, 0, &mac);
	vn_neigh_lookup(n, &b, 0, &mac);
	answer(n, "192.0.2.77", &them_mac, 1);
	json_builder_begin_object(jb);
	vn_neigh_describe(n, jb);
	json_builder_end_object(jb);
	root = json_builder_get_root(jb);
	json_generator_set_root(gen, root);
	s = json_generator_to_data(gen, NULL);
	g_assert_nonnull(strstr(s, "\"neighbours\":[{\"ip\":\"192.0.2.10\",\"mac\":null,"
				   "\"state\":\"incomplete\",\"probes\":1},{\"ip\":\"192.0.2.77\","
				   "\"mac\":\"02:aa:bb:cc:dd:ee\",\"state\":\"reachable\","
				   "\"probes\":0}]"));
	g_assert_nonnull(strstr(s, "\"neighbour_counters\":{\"requests_sent\":2,"));
	g_assert_nonnull(strstr(s, "\"table_full\":0"));
	cap_clear(&c);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/neigh/wire/arp", test_arp_kat);
	g_test_add_func("/neigh/wire/nd", test_nd_kat);
	g_test_add_func("/neigh/wire/dad", test_nd_dad_answer);
	g_test_add_func("/neigh/wire/reject", test_parse_reject);
	g_test_add_data_func("/neigh/cache/resolve4", "192.0.2.1", test_resolve);
	g_test_add_data_func("/neigh/cache/resolve6", "2001:db8::1", test_resolve);
	g_test_add_func("/neigh/cache/failed", test_retries_failed);
	g_test_add_func("/neigh/cache/stale", test_stale_probe);
	g_test_add_func("/neigh/cache/override", test_override);
	g_test_add_func("/neigh/cache/answer", test_answer);
	g_test_add_func("/neigh/cache/learn_request", test_learn_from_request);
	g_test_add_func("/neigh/cache/limit", test_limit);
	g_test_add_func("/neigh/cache/gateway", test_gateway);
	g_test_add_func("/neigh/cache/describe", test_describe);
	return g_test_run();
}

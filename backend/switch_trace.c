/* SPDX-License-Identifier: MIT */
/* The `trace` control request: build a synthetic frame, run it dry through the pipeline (trace.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "vnicd/args.h"
#include "vnicd/mac.h"
#include "vnicd/stats.h"
#include "vnicd/trace.h"
#include "vnicd/tunnel.h"
#include "switch_priv.h"
#include "vnicd/nat.h"

#define TRACE_MIN_LEN 60 /* an Ethernet frame without its FCS */

/* What the request asks for (the synthetic frame's fields). */
struct frame_spec {
	struct rte_ether_addr src, dst;
	gint64 vlan; /* -1: untagged */
	bool has_ip, v6;
	uint8_t sip[16], dip[16];
	uint8_t proto; /* IP protocol */
	guint64 sport, dport, len;
};

static int parse_ips(const char *s, struct frame_spec *fs, GError **err)
{
	g_auto(GStrv) p = g_strsplit(s, ",", 3);
	bool v6;

	if (!p[0] || !p[1] || p[2])
		VN_FAIL(err, EINVAL, "--ip takes SRC,DST (two IPv4 or two IPv6 addresses)");
	g_strstrip(p[0]);
	g_strstrip(p[1]);
	v6 = strchr(p[0], ':') != NULL;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, p[0], fs->sip) != 1 ||
	    inet_pton(v6 ? AF_INET6 : AF_INET, p[1], fs->dip) != 1)
		VN_FAIL(err, EINVAL, "invalid --ip '%s' (SRC,DST of one family)", s);
	fs->has_ip = true;
	fs->v6 = v6;
	return 0;
}

static int parse_proto(const char *s, struct frame_spec *fs, GError **err)
{
	if (!s || strcmp(s, "udp") == 0)
		fs->proto = 17;
	else if (strcmp(s, "tcp") == 0)
		fs->proto = 6;
	else if (strcmp(s, "icmp") == 0)
		fs->proto = fs->v6 ? 58 : 1;
	else
		VN_FAIL(err, EINVAL, "unknown --proto '%s' (tcp, udp or icmp)", s);
	return 0;
}

/* The fields of @a into @fs; the source MAC defaults to port @sp's. */
static int spec_parse(JsonObject *a, const struct sw_port *sp, struct frame_spec *fs, GError **err)
{
	const char *src = NULL, *dst = NULL, *ip = NULL, *proto = NULL;
	guint64 vlan = G_MAXUINT64;
	int rc;

	*fs = (struct frame_spec){.vlan = -1, .len = TRACE_MIN_LEN};
	if ((rc = vn_arg_str(a, "src", false, &src, err)) < 0 ||
	    (rc = vn_arg_str(a, "dst", false, &dst, err)) < 0 ||
	    (rc = vn_arg_str(a, "ip", false, &ip, err)) < 0 ||
	    (rc = vn_arg_str(a, "proto", false, &proto, err)) < 0 ||
	    (rc = vn_arg_uint(a, "vlan", 0, 4095, &vlan, err)) < 0 ||
	    (rc = vn_arg_uint(a, "sport", 0, 65535, &fs->sport, err)) < 0 ||
	    (rc = vn_arg_uint(a, "dport", 0, 65535, &fs->dport, err)) < 0 ||
	    (rc = vn_arg_uint(a, "len", 14, 9000, &fs->len, err)) < 0)
		return rc;
	if (src && vn_mac_parse(src, &fs->src) < 0)
		VN_FAIL(err, EINVAL, "invalid --src '%s' (a MAC address)", src);
	if (!src && sp->port && sp->port->has_mac)
		fs->src = sp->port->mac;
	else if (!src)
		vn_mac_parse("02:00:00:00:00:01", &fs->src);
	if (dst && vn_mac_parse(dst, &fs->dst) < 0)
		VN_FAIL(err, EINVAL, "invalid --dst '%s' (a MAC address)", dst);
	if (!dst)
		memset(&fs->dst, 0xff, sizeof(fs->dst));
	if (vlan != G_MAXUINT64)
		fs->vlan = (gint64)vlan;
	if (ip && (rc = parse_ips(ip, fs, err)) < 0)
		return rc;
	if (!ip &&
	    (proto || json_object_has_member(a, "sport") || json_object_has_member(a, "dport")))
		VN_FAIL(err, EINVAL, "--proto, --sport and --dport need --ip SRC,DST");
	return fs->has_ip ? parse_proto(proto, fs, err) : 0;
}

/* Put the transport header of @fs at @l4 (@n bytes to the end of the frame). */
static void put_l4(const struct frame_spec *fs, uint8_t *l4, uint32_t n)
{
	if (fs->proto == 17) {
		struct rte_udp_hdr *u = (struct rte_udp_hdr *)l4;
		u->src_port = rte_cpu_to_be_16((uint16_t)fs->sport);
		u->dst_port = rte_cpu_to_be_16((uint16_t)fs->dport);
		u->dgram_len = rte_cpu_to_be_16((uint16_t)n);
	} else if (fs->proto == 6) {
		struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)l4;
		t->src_port = rte_cpu_to_be_16((uint16_t)fs->sport);
		t->dst_port = rte_cpu_to_be_16((uint16_t)fs->dport);
		t->data_off = 5 << 4;
		t->tcp_flags = RTE_TCP_SYN_FLAG;
		t->rx_win = RTE_BE16(65535);
	} else {
		l4[0] = fs->proto == 58 ? 128 : 8; /* echo request */
	}
}

/* Write the IP packet of @fs at @ip, @n bytes to the end of the frame. Return: 0 or -EINVAL
 * when they do not hold the headers. */
static int put_ip(const struct frame_spec *fs, uint8_t *ip, uint32_t n)
{
	uint32_t hl = fs->v6 ? 40 : 20, l4h = fs->proto == 6 ? 20 : 8;
	uint8_t *l4 = ip + hl;

	if (n < hl + l4h)
		return -EINVAL;
	put_l4(fs, l4, n - hl);
	if (fs->v6) {
		struct rte_ipv6_hdr *h = (struct rte_ipv6_hdr *)ip;
		h->vtc_flow = RTE_BE32(6u << 28);
		h->payload_len = rte_cpu_to_be_16((uint16_t)(n - hl));
		h->proto = fs->proto;
		h->hop_limits = 64;
		memcpy((uint8_t *)h + 8, fs->sip, 16);
		memcpy((uint8_t *)h + 24, fs->dip, 16);
		((uint16_t *)l4)[fs->proto == 6	   ? 8
				 : fs->proto == 17 ? 3
						   : 1] = rte_ipv6_udptcp_cksum(h, l4);
		return 0;
	}
	struct rte_ipv4_hdr *h = (struct rte_ipv4_hdr *)ip;
	h->version_ihl = 0x45;
	h->total_length = rte_cpu_to_be_16((uint16_t)n);
	h->time_to_live = 64;
	h->next_proto_id = fs->proto;
	memcpy(&h->src_addr, fs->sip, 4);
	memcpy(&h->dst_addr, fs->dip, 4);
	h->hdr_checksum = rte_ipv4_cksum(h);
	if (fs->proto == 1)
		((uint16_t *)l4)[1] = (uint16_t)~rte_raw_cksum(l4, n - hl);
	else
		((uint16_t *)l4)[fs->proto == 6 ? 8 : 3] = rte_ipv4_udptcp_cksum(h, l4);
	return 0;
}

/* The frame of @fs into @d (zeroed, @fs->len bytes). Return: 0 or -EINVAL with @err. */
static int frame_build(const struct frame_spec *fs, uint8_t *d, GError **err)
{
	uint32_t off = 12;

	memcpy(d, &fs->dst, 6);
	memcpy(d + 6, &fs->src, 6);
	if (fs->vlan >= 0) {
		d[12] = 0x81;
		d[14] = (uint8_t)(fs->vlan >> 8);
		d[15] = (uint8_t)fs->vlan;
		off = 16;
	}
	if (fs->len < off + 2)
		VN_FAIL(err, EINVAL, "--len %u is shorter than the headers", (unsigned)fs->len);
	if (!fs->has_ip) { /* the local experimental EtherType */
		d[off] = 0x88;
		d[off + 1] = 0xb5;
		return 0;
	}
	d[off] = fs->v6 ? 0x86 : 0x08;
	d[off + 1] = fs->v6 ? 0xdd : 0x00;
	if (put_ip(fs, d + off + 2, (uint32_t)fs->len - off - 2) < 0)
		VN_FAIL(err, EINVAL, "--len %u is shorter than the headers", (unsigned)fs->len);
	return 0;
}

/* The request's frame (--frame HEX, or built from its fields) in an mbuf into *@out. */
static int frame_make(struct vn_switch *sw, JsonObject *a, const struct sw_port *sp,
		      struct rte_mbuf **out, GError **err)
{
	const char *hex = NULL;
	struct frame_spec fs;
	struct rte_mbuf *m;
	uint8_t *d;
	size_t len;
	int rc;

	if ((rc = vn_arg_str(a, "frame", false, &hex, err)) < 0)
		return rc;
	if (!hex && (rc = spec_parse(a, sp, &fs, err)) < 0)
		return rc;
	len = hex ? strlen(hex) / 2 : fs.len;
	if (hex && (strlen(hex) % 2 || len < 14))
		VN_FAIL(err, EINVAL,
			"--frame takes an even number of hex digits, 14 bytes or more");
	m = rte_pktmbuf_alloc(sw->mp);
	if (!m)
		VN_FAIL(err, ENOBUFS, "no packet buffer free for the trace");
	if (len > rte_pktmbuf_tailroom(m) ||
	    !(d = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len))) {
		rte_pktmbuf_free(m);
		VN_FAIL(err, EINVAL, "the frame is longer than one packet buffer");
	}
	memset(d, 0, len);
	for (size_t i = 0; hex && i < len; i++) {
		int hi = g_ascii_xdigit_value(hex[2 * i]),
		    lo = g_ascii_xdigit_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			rte_pktmbuf_free(m);
			VN_FAIL(err, EINVAL, "--frame: '%c%c' is not a hex byte", hex[2 * i],
				hex[2 * i + 1]);
		}
		d[i] = (uint8_t)(hi << 4 | lo);
	}
	if (!hex && (rc = frame_build(&fs, d, err)) < 0) {
		rte_pktmbuf_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

static void json_dest(const struct vn_trace *tr, const struct vn_trace_dest *d, JsonBuilder *b)
{
	static const char *const encaps[VN_TUN__MAX] = {"vxlan", "geneve", "nvgre"};
	char tpid[8];

	json_builder_begin_object(b);
	vn_json_str(b, "port", vn_trace_slot_name(tr, d->slot));
	json_builder_set_member_name(b, "vlan");
	if (d->vlan >= 0) {
		json_builder_add_int_value(b, d->vlan);
		snprintf(tpid, sizeof(tpid), "0x%04x", d->tpid);
		vn_json_str(b, "tpid", tpid);
	} else {
		json_builder_add_null_value(b);
		vn_json_str(b, "tpid", NULL);
	}
	vn_json_bool(b, "tagged", d->vlan >= 0);
	vn_json_int(b, "len", d->len);
	json_builder_set_member_name(b, "encap");
	if (!d->encap) {
		json_builder_add_null_value(b);
	} else {
		json_builder_begin_object(b);
		vn_json_str(b, "type", encaps[d->encap_type % VN_TUN__MAX]);
		vn_json_int(b, "vni", d->vni);
		vn_json_str(b, "remote_vtep", vn_trace_slot_name(tr, d->via));
		vn_json_str(b, "outer_src", d->outer_src);
		vn_json_str(b, "outer_dst", d->outer_dst);
		json_builder_end_object(b);
	}
	json_builder_end_object(b);
}

/* The result of trace @tr of @m's bytes (@hex) from @sp into @b. */
static void json_trace(const struct vn_trace *tr, const struct sw_port *sp, const char *hex,
		       JsonBuilder *b)
{
	json_builder_begin_object(b);
	vn_json_str(b, "port", sp->name);
	vn_json_str(b, "net", sp->vnet->name);
	vn_json_str(b, "net_type", sp->vnet->kind->name);
	vn_json_str(b, "frame", hex);
	json_builder_set_member_name(b, "steps");
	json_builder_begin_array(b);
	for (unsigned i = 0; i < tr->nsteps; i++) {
		json_builder_begin_object(b);
		vn_json_str(b, "step", tr->steps[i].step);
		vn_json_str(b, "verdict", tr->steps[i].verdict);
		vn_json_str(b, "reason", tr->steps[i].reason);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	vn_json_bool(b, "truncated", tr->truncated);
	json_builder_set_member_name(b, "destinations");
	json_builder_begin_array(b);
	for (unsigned i = 0; i < tr->ndest; i++)
		json_dest(tr, &tr->dest[i], b);
	json_builder_end_array(b);
	json_builder_set_member_name(b, "drops");
	json_builder_begin_object(b);
	for (unsigned r = 0; r < VN_DROP__MAX; r++)
		if (tr->drops[r])
			vn_json_int(b, vn_drop_name(r), (gint64)tr->drops[r]);
	json_builder_end_object(b);
	vn_json_str(b, "verdict", tr->ndest ? "forwarded" : "dropped");
	json_builder_end_object(b);
}

/*
 * A destination that is a NAT network's leg (its gateway, its external address): what the
 * translation would do with the frame there, as step "nat" (nothing tracked or rewritten).
 */
static void trace_nat(struct vn_switch *sw, struct vn_trace *tr, const void *bytes, uint16_t len)
{
	for (unsigned i = 0; i < tr->ndest; i++) {
		for (guint k = 0; k < sw->nets->len; k++) {
			struct vn_net *n = sw->nets->pdata[k];
			struct rte_mbuf *m;
			char what[256];
			int rc;

			if (n->kind != &vn_nat_net_kind || !(m = rte_pktmbuf_alloc(sw->mp)))
				continue;
			if (rte_pktmbuf_append(m, len))
				memcpy(rte_pktmbuf_mtod(m, void *), bytes, len);
			rc = vn_nat_trace_leg(n, tr->dest[i].slot, m, what, sizeof(what));
			rte_pktmbuf_free(m);
			if (rc >= 0)
				vn_trace_note(tr, "nat", rc ? "translate" : "drop",
					      "network %s: %s", n->name, what);
		}
	}
}

int vn_switch_trace(struct vn_switch *sw, JsonObject *a, JsonBuilder *b, GError **err)
{
	g_autofree struct vn_trace *tr = NULL;
	g_autofree char *hex = NULL;
	g_autofree void *bytes = NULL;
	uint16_t blen;
	const char *name = NULL;
	struct sw_port *sp;
	struct rte_mbuf *m;
	int rc;

	if ((rc = vn_arg_str(a, "port", true, &name, err)) < 0)
		return rc;
	if (!(sp = find_port(sw, name)))
		VN_FAIL(err, ENOENT, "no port '%s'", name);
	if (!sw->dp || !sp->port || !sp->vnet)
		VN_FAIL(err, EOPNOTSUPP, "port '%s' has no data path to trace", name);
	if ((rc = frame_make(sw, a, sp, &m, err)) < 0)
		return rc;
	hex = g_malloc(2 * rte_pktmbuf_pkt_len(m) + 1);
	for (uint32_t i = 0; i < rte_pktmbuf_pkt_len(m); i++)
		snprintf(hex + 2 * i, 3, "%02x", rte_pktmbuf_mtod(m, const uint8_t *)[i]);
	tr = g_try_malloc0(sizeof(*tr));
	if (!tr) {
		rte_pktmbuf_free(m);
		VN_FAIL(err, ENOMEM, "no memory for the trace");
	}
	bytes = g_memdup2(rte_pktmbuf_mtod(m, const void *), rte_pktmbuf_data_len(m));
	blen = rte_pktmbuf_data_len(m);
	if ((rc = vn_dp_trace(sw->dp, sp->slot, m, tr)) < 0)
		VN_FAIL(err, -rc, "the trace could not run (%s)", g_strerror(-rc));
	trace_nat(sw, tr, bytes, blen);
	json_trace(tr, sp, hex, b);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * The NAT network kind: guests on a learning bridge behind vnicd as their gateway, DHCP
 * server and NAT router towards another network (--external). See nat.h for the model.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nat_priv.h"
#include "vnicd/args.h"
#include "vnicd/bridge.h"
#include "vnicd/log.h"
#include "vnicd/mac.h"
#include "vnicd/uplink.h"

static const char *const nat_keys[] = {
    "subnet",	  "gateway",	"external",	    "external_ip",   "masquerade",
    "port_range", "dhcp_range", "external_gateway", "conntrack_max", "conntrack_timeouts",
    "forwards",	  "mtu",	"leases",	    "dhcp_host",     "dns",
    NULL};

static const char *const nat_port_keys[] = {"floating_ip", "forward", NULL};

#define CT_MAX_DEFAULT 65536u
#define CT_MAX_LIMIT (1u << 22)
#define CT_EXPIRE_BUDGET 65536u

static struct nat_net *nn_of(struct vn_net *n)
{
	return (struct nat_net *)n;
}

const char *vn_nat_external_of(const struct vn_net *n)
{
	return ((const struct nat_net *)n)->external;
}

/* ---- arguments ---- */

struct nat_args {
	const char *subnet, *gateway, *external, *external_ip, *external_gw, *port_range,
	    *dhcp_range, *timeouts, *dhcp_host, *dns;
	bool masquerade;
	guint64 ct_max, mtu;
	uint32_t net, mask, gw, ext, ext_gw, dhcp_lo, dhcp_hi;
	unsigned prefix, ext_prefix;
	uint16_t port_lo, port_hi;
	struct vn_ct_timeouts to;
};

/* IPv4 @s ("A.B.C.D", or "A.B.C.D/N" with @plen) into *@a (network order). */
static bool ip4_parse(const char *s, uint32_t *a, unsigned *plen)
{
	g_autofree char *ip = g_strdup(s);
	char *slash = strchr(ip, '/');
	guint64 p = 32;

	if (slash) {
		*slash = '\0';
		if (!plen || !g_ascii_string_to_unsigned(slash + 1, 10, 1, 32, &p, NULL))
			return false;
	}
	if (plen)
		*plen = slash ? (unsigned)p : 0;
	return inet_pton(AF_INET, ip, a) == 1;
}

static uint32_t mask_of(unsigned plen)
{
	return plen ? htonl(~0u << (32 - plen)) : 0;
}

/* "A-B" of numbers (ports) or of addresses. */
static bool range_split(const char *s, char **a, char **b)
{
	const char *dash = strchr(s, '-');

	if (!dash)
		return false;
	*a = g_strndup(s, (gsize)(dash - s));
	*b = g_strdup(dash + 1);
	return true;
}

/* --conntrack-timeouts NAME=SECONDS[,...] on top of Linux's defaults in @to. */
static int timeouts_parse(const char *s, struct vn_ct_timeouts *to, GError **err)
{
	static const char *const names[] = {
	    "tcp_syn_sent", "tcp_syn_recv",  "tcp_established", "tcp_fin_wait", "tcp_close_wait",
	    "tcp_last_ack", "tcp_time_wait", "tcp_close",	"udp",		"udp_stream",
	    "icmp"};
	uint32_t *f[] = {&to->tcp_syn_sent,
			 &to->tcp_syn_recv,
			 &to->tcp_established,
			 &to->tcp_fin_wait,
			 &to->tcp_close_wait,
			 &to->tcp_last_ack,
			 &to->tcp_time_wait,
			 &to->tcp_close,
			 &to->udp,
			 &to->udp_stream,
			 &to->icmp};
	g_auto(GStrv) parts = g_strsplit(s, ",", -1);

	for (char **p = parts; *p; p++) {
		g_auto(GStrv) kv = g_strsplit(g_strstrip(*p), "=", 2);
		guint64 v;
		size_t i;
		if (!**p)
			continue;
		for (i = 0; i < G_N_ELEMENTS(names); i++)
			if (kv[0] && strcmp(kv[0], names[i]) == 0)
				break;
		if (i == G_N_ELEMENTS(names) || !kv[1] ||
		    !g_ascii_string_to_unsigned(kv[1], 10, 1, 10000000, &v, NULL))
			VN_FAIL(
			    err, EINVAL,
			    "invalid --conntrack-timeouts entry '%s' (NAME=SECONDS, NAME one of "
			    "tcp_syn_sent, tcp_syn_recv, tcp_established, tcp_fin_wait, "
			    "tcp_close_wait, tcp_last_ack, tcp_time_wait, tcp_close, udp, "
			    "udp_stream, icmp)",
			    *p);
		*f[i] = (uint32_t)v;
	}
	return 0;
}

static int ranges_parse(struct nat_args *o, GError **err)
{
	g_autofree char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
	guint64 lo, hi;

	o->port_lo = 1024, o->port_hi = 65535;
	if (o->port_range) {
		if (!range_split(o->port_range, &a, &b) ||
		    !g_ascii_string_to_unsigned(a, 10, 1, 65535, &lo, NULL) ||
		    !g_ascii_string_to_unsigned(b, 10, lo, 65535, &hi, NULL))
			VN_FAIL(err, EINVAL, "invalid --port-range '%s' (LOW-HIGH, 1-65535)",
				o->port_range);
		o->port_lo = (uint16_t)lo, o->port_hi = (uint16_t)hi;
	}
	if (o->dhcp_range) {
		if (!range_split(o->dhcp_range, &c, &d) || !ip4_parse(c, &o->dhcp_lo, NULL) ||
		    !ip4_parse(d, &o->dhcp_hi, NULL) || ntohl(o->dhcp_lo) > ntohl(o->dhcp_hi) ||
		    (o->dhcp_lo & o->mask) != o->net || (o->dhcp_hi & o->mask) != o->net)
			VN_FAIL(err, EINVAL,
				"invalid --dhcp-range '%s' (FIRST-LAST, addresses of --subnet)",
				o->dhcp_range);
	}
	return 0;
}

static int nat_parse(JsonObject *args, struct nat_args *o, GError **err)
{
	int rc;

	memset(o, 0, sizeof(*o));
	vn_ct_timeouts_default(&o->to);
	if (json_object_has_member(args, "uplink"))
		VN_FAIL(err, EINVAL,
			"a NAT network has no --uplink: it reaches out via --external");
	if ((rc = vn_arg_str(args, "subnet", false, &o->subnet, err)) < 0 ||
	    (rc = vn_arg_str(args, "gateway", false, &o->gateway, err)) < 0 ||
	    (rc = vn_arg_str(args, "external", false, &o->external, err)) < 0 ||
	    (rc = vn_arg_str(args, "external_ip", false, &o->external_ip, err)) < 0 ||
	    (rc = vn_arg_bool(args, "masquerade", &o->masquerade, err)) < 0 ||
	    (rc = vn_arg_str(args, "external_gateway", false, &o->external_gw, err)) < 0 ||
	    (rc = vn_arg_str(args, "port_range", false, &o->port_range, err)) < 0 ||
	    (rc = vn_arg_str(args, "dhcp_range", false, &o->dhcp_range, err)) < 0 ||
	    (rc = vn_arg_str(args, "dhcp_host", false, &o->dhcp_host, err)) < 0 ||
	    (rc = vn_arg_str(args, "dns", false, &o->dns, err)) < 0 ||
	    (rc = vn_arg_str(args, "conntrack_timeouts", false, &o->timeouts, err)) < 0 ||
	    (rc = vn_arg_uint(args, "conntrack_max", 1, CT_MAX_LIMIT, &o->ct_max, err)) < 0 ||
	    (rc = vn_arg_uint(args, "mtu", 576, 65535, &o->mtu, err)) < 0)
		return rc;
	if (!o->subnet)
		VN_FAIL(err, EINVAL, "a NAT network needs --subnet A.B.C.D/N");
	if (!o->external)
		VN_FAIL(err, EINVAL,
			"a NAT network needs --external NET (the network it reaches "
			"out to)");
	if (!!o->external_ip == o->masquerade)
		VN_FAIL(err, EINVAL,
			"a NAT network needs --external-ip IP[/PREFIX] or --masquerade");
	if (!ip4_parse(o->subnet, &o->net, &o->prefix) || !o->prefix || o->prefix > 30)
		VN_FAIL(err, EINVAL, "invalid --subnet '%s' (A.B.C.D/N, N 1-30)", o->subnet);
	o->mask = mask_of(o->prefix);
	o->net &= o->mask;
	o->gw = htonl(ntohl(o->net) + 1);
	if (o->gateway && (!ip4_parse(o->gateway, &o->gw, NULL) || (o->gw & o->mask) != o->net ||
			   o->gw == o->net || (o->gw | ~o->mask) == o->gw))
		VN_FAIL(err, EINVAL, "invalid --gateway '%s' (a host address of --subnet)",
			o->gateway);
	if (o->external_ip &&
	    (!ip4_parse(o->external_ip, &o->ext, &o->ext_prefix) || (o->ext & o->mask) == o->net))
		VN_FAIL(err, EINVAL, "invalid --external-ip '%s' (IPv4[/PREFIX], outside --subnet)",
			o->external_ip);
	if (o->external_gw && !ip4_parse(o->external_gw, &o->ext_gw, NULL))
		VN_FAIL(err, EINVAL, "invalid --external-gateway '%s' (an IPv4 address)",
			o->external_gw);
	if (o->timeouts && (rc = timeouts_parse(o->timeouts, &o->to, err)) < 0)
		return rc;
	if (!o->ct_max)
		o->ct_max = CT_MAX_DEFAULT;
	return ranges_parse(o, err);
}

/* --dhcp-host MAC=IP[,MAC=IP...]: static leases (into @d when given). */
static int hosts_parse(const struct nat_args *o, struct vn_dhcp *d, GError **err)
{
	g_auto(GStrv) parts = NULL;

	if (!o->dhcp_host)
		return 0;
	if (!o->dhcp_range)
		VN_FAIL(err, EINVAL, "--dhcp-host needs --dhcp-range (the DHCP server)");
	parts = g_strsplit(o->dhcp_host, ",", -1);
	for (char **p = parts; *p; p++) {
		g_auto(GStrv) kv = g_strsplit(g_strstrip(*p), "=", 2);
		struct rte_ether_addr mac;
		uint32_t ip;
		if (!**p)
			continue;
		if (!kv[0] || !kv[1] || vn_mac_parse(kv[0], &mac) < 0 ||
		    !rte_is_valid_assigned_ether_addr(&mac) || !ip4_parse(kv[1], &ip, NULL) ||
		    (ip & o->mask) != o->net || ip == o->gw || ip == o->net ||
		    (ip | ~o->mask) == ip)
			VN_FAIL(err, EINVAL,
				"invalid --dhcp-host entry '%s' (MAC=IP, IP a host address of "
				"--subnet)",
				*p);
		if (d && vn_dhcp_static_add(d, &mac, ip) < 0)
			VN_FAIL(err, EINVAL, "--dhcp-host names a MAC or an address twice ('%s')",
				*p);
	}
	return 0;
}

static int dns_parse(const char *s, uint32_t *ip, uint16_t *port, GError **err);

static int nat_check(JsonObject *args, GError **err)
{
	struct nat_args o;
	uint32_t ip;
	uint16_t port;
	int rc = nat_parse(args, &o, err);

	if (rc == 0 && o.dns)
		rc = dns_parse(o.dns, &ip, &port, err);
	return rc < 0 ? rc : hosts_parse(&o, NULL, err);
}

/* The host's first IPv4 resolver (@loopback: any, else not a loopback one; 0: none). */
static uint32_t host_resolver(bool loopback)
{
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	uint32_t a;

	if (!g_file_get_contents("/etc/resolv.conf", &text, NULL, NULL))
		return 0;
	lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++) {
		g_auto(GStrv) w = g_strsplit_set(g_strstrip(*l), " \t", -1);
		if (w[0] && strcmp(w[0], "nameserver") == 0 && w[1] &&
		    inet_pton(AF_INET, w[1], &a) == 1 && (loopback || (ntohl(a) >> 24) != 127))
			return a;
	}
	return 0;
}

/* --dns IP[:PORT]|none into *@ip, *@port (network order; *@ip 0: none). */
static int dns_parse(const char *s, uint32_t *ip, uint16_t *port, GError **err)
{
	g_autofree char *a = g_strdup(s);
	char *colon = strchr(a, ':');
	guint64 p = 53;

	*ip = 0;
	if (strcmp(s, "none") == 0)
		return 0;
	if (colon)
		*colon = '\0';
	if (!ip4_parse(a, ip, NULL) || !*ip ||
	    (colon && !g_ascii_string_to_unsigned(colon + 1, 10, 1, 65535, &p, NULL)))
		VN_FAIL(err, EINVAL,
			"invalid --dns '%s' (IP[:PORT] of the upstream resolver, or none)", s);
	*port = htons((uint16_t)p);
	return 0;
}

/* ---- life cycle ---- */

static void nat_destroy(struct vn_net *n)
{
	struct nat_net *nn = nn_of(n);

	nat_dns_stop(nn);
	nat_legs_free(nn);
	g_free(nn->ports);
	if (nn->nat.ct) {
		vn_nat_hold_expire(&nn->nat, UINT64_MAX); /* the fragments it holds */
		nn->nat.ct->port_refs = NULL;		  /* the host filter's, going */
	}
	vn_ct_free(nn->nat.ct);
	vn_hfilter_free(nn->hfilter);
	vn_dhcp_free(nn->dhcp);
	g_free(nn->subnet_s);
	g_free(nn->gateway_s);
	g_free(nn->external);
	g_free(nn->external_ip_s);
	g_free(nn->external_gw_s);
	g_free(nn->port_range_s);
	g_free(nn->dhcp_range_s);
	g_free(nn->timeouts_s);
	g_free(nn->dhcp_host_s);
	g_free(nn->dns_s);
	vn_net_fini(n);
	g_free(nn);
}

static int forwards_restore(struct nat_net *nn, JsonObject *args, GError **err);

static void fill(struct nat_net *nn, const struct nat_args *o, const struct vn_net_env *env)
{
	struct vn_nat *nt = &nn->nat;

	nn->subnet_s = g_strdup(o->subnet);
	nn->gateway_s = g_strdup(o->gateway);
	nn->external = g_strdup(o->external);
	nn->external_ip_s = g_strdup(o->external_ip);
	nn->external_gw_s = g_strdup(o->external_gw);
	nn->port_range_s = g_strdup(o->port_range);
	nn->dhcp_range_s = g_strdup(o->dhcp_range);
	nn->timeouts_s = g_strdup(o->timeouts);
	nn->dhcp_host_s = g_strdup(o->dhcp_host);
	nn->dns_s = g_strdup(o->dns);
	nn->masquerade = o->masquerade;
	nn->prefix = (uint8_t)o->prefix;
	nn->ext_prefix = (uint8_t)o->ext_prefix;
	nn->ct_max = (uint32_t)o->ct_max;
	nn->mtu = (uint16_t)o->mtu;
	nn->host = env->host;
	nn->dp = env->dp;
	nt->gw = o->gw, nt->net = o->net, nt->mask = o->mask;
	nt->ext = o->ext, nt->ext_mask = mask_of(o->ext_prefix), nt->ext_gw = o->ext_gw;
	nt->port_lo = o->port_lo, nt->port_hi = o->port_hi;
	nt->host_ext = o->masquerade;
}

/* --masquerade: the host filter on the uplink's interface (best effort), and a word when
 * the host's own connections may take ports of --port-range. */
static void host_filter_start(struct nat_net *nn)
{
	int ifindex = vn_uplink_ifindex(nn->ext_net->uplink);
	uint16_t lo = 0, hi = 0;
	unsigned n;

	nn->hfilter = vn_hfilter_new(ifindex, nn->base.name);
	nn->nat.ct->port_refs = vn_hfilter_refs(nn->hfilter);
	vn_hfilter_set_addr(nn->hfilter, nn->nat.ext);
	n = vn_host_ephemeral_overlap(nn->nat.port_lo, nn->nat.port_hi, &lo, &hi);
	if (n)
		VN_WARN("network %s: --port-range %u-%u shares %u ports with the host's own "
			"connections (net.ipv4.ip_local_port_range %u-%u): a host connection and a "
			"NAT mapping on one port disturb each other; a disjoint range (e.g. "
			"--port-range 61000-65535) or net.ipv4.ip_local_reserved_ports avoids it",
			nn->base.name, nn->nat.port_lo, nn->nat.port_hi, n, lo, hi);
}

static int nat_create(const char *name, uint16_t id, JsonObject *args, const struct vn_net_env *env,
		      struct vn_net **out, GError **err)
{
	struct nat_net *nn = g_new0(struct nat_net, 1);
	struct nat_args o;
	int rc;

	if ((rc = nat_parse(args, &o, err)) < 0 ||
	    (rc = vn_net_init(&nn->base, &vn_nat_net_kind, name, id, env, err)) < 0) {
		g_free(nn);
		return rc;
	}
	fill(nn, &o, env);
	nn->ports = g_new0(struct nat_port, VN_MAX_PORTS_HARD);
	nn->nat.ct = vn_ct_new(nn->ct_max, &o.to, env->dp ? vn_dp_qsbr(env->dp) : NULL);
	if (!nn->nat.ct) {
		nat_destroy(&nn->base);
		VN_FAIL(err, ENOMEM, "no memory for %u tracked connections", (unsigned)o.ct_max);
	}
	if (env->dp) { /* the DNS forwarder: --dns, else the host's resolver */
		uint32_t up = host_resolver(true);
		uint16_t port = htons(53);
		if (o.dns && (rc = dns_parse(o.dns, &up, &port, err)) < 0) {
			nat_destroy(&nn->base);
			return rc;
		}
		if (up && nat_dns_start(nn, up, port) < 0)
			VN_WARN("network %s: no DNS forwarder (no socket)", name);
	}
	if (o.dhcp_range) {
		struct vn_dhcp_cfg dc = {.server = o.gw,
					 .router = o.gw,
					 .mask = o.mask,
					 .lo = o.dhcp_lo,
					 .hi = o.dhcp_hi,
					 /* the gateway when it forwards DNS */
					 .dns = nn->dns ? o.gw : host_resolver(false),
					 .mtu = (uint16_t)o.mtu};
		nn->dhcp = vn_dhcp_new(&dc);
		if ((rc = hosts_parse(&o, nn->dhcp, err)) < 0) {
			nat_destroy(&nn->base);
			return rc;
		}
		vn_dhcp_restore(nn->dhcp,
				json_object_has_member(args, "leases")
				    ? json_object_get_array_member(args, "leases")
				    : NULL,
				nat_now_ms());
	}
	if (env->host) {
		nn->ext_net = env->host->net_find(env->host->sw, o.external);
		rc = 0;
		if (!nn->ext_net)
			rc = -ENOENT, g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
						  "no network '%s' (--external)", o.external);
		else if (nn->ext_net->kind != &vn_bridge_net_kind)
			rc = -EINVAL,
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "--external '%s' is a %s network (a bridge network "
				    "with an uplink or a tap port is needed)",
				    o.external, nn->ext_net->kind->name);
		else if (o.masquerade &&
			 !(nn->ext_net->uplink && vn_uplink_ifindex(nn->ext_net->uplink) > 0))
			rc = -EINVAL,
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "--masquerade needs --external '%s' to have an uplink "
				    "on a kernel interface (its address is followed)",
				    o.external);
		else if (o.masquerade && env->dp && nat_masquerade_read(nn) < 0)
			rc = -EADDRNOTAVAIL,
			g_set_error(
			    err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "--masquerade: the uplink interface of '%s' has no IPv4 address",
			    o.external);
		if (rc == 0 && env->dp && o.masquerade)
			host_filter_start(nn);
		if (rc == 0 && env->dp)
			rc = nat_legs_make(nn, err);
	}
	if (rc == 0)
		rc = forwards_restore(nn, args, err);
	if (rc < 0) {
		nat_destroy(&nn->base);
		return rc;
	}
	*out = &nn->base;
	return 0;
}

static int nat_join(struct vn_net *n, struct vn_port *port, struct vn_slot *s, JsonObject *args,
		    GError **err)
{
	return nat_port_apply(nn_of(n), port, args, err);
}

/* `port set PORT --floating-ip IP|none --forward tcp:2222:22,...|none` */
static int nat_port_set(struct vn_net *n, struct vn_port *port, struct vn_slot *s, JsonObject *chg,
			GError **err)
{
	return nat_port_apply(nn_of(n), port, chg, err);
}

static void nat_leave(struct vn_net *n, struct vn_port *port, uint16_t slot, bool guest)
{
	nat_port_leave(nn_of(n), slot);
	if (n->fdb)
		vn_fdb_flush(n->fdb, slot, true);
}

static void nat_tick(struct vn_net *n, uint64_t now, const struct vn_config *cfg)
{
	struct nat_net *nn = nn_of(n);

	if (n->fdb)
		vn_fdb_age(n->fdb, now, cfg->fdb_aging);
	vn_ct_expire(nn->nat.ct, nat_now_ms(), CT_EXPIRE_BUDGET);
	vn_nat_hold_expire(&nn->nat, nat_now_ms());
	nat_port_refresh(nn);
}

/* Guests switch among themselves as on a bridge; the gateway leg is one more port. */
static void nat_forward(const struct vn_fwd_ctx *x, struct rte_mbuf *const *pkts, uint16_t n,
			struct vn_fwd *f)
{
	vn_bridge_net_kind.forward(x, pkts, n, f);
}

/* ---- port forwards ---- */

static int fwd_parse(struct nat_net *nn, JsonObject *args, bool with_to, struct vn_nat_fwd *f,
		     GError **err)
{
	const char *proto = NULL, *to = NULL;
	guint64 port = 0, tport;
	int rc;

	if ((rc = vn_arg_str(args, "proto", true, &proto, err)) < 0 ||
	    (rc = vn_arg_uint(args, "external_port", 1, 65535, &port, err)) < 0 ||
	    (rc = vn_arg_str(args, "to", with_to, &to, err)) < 0)
		return rc;
	if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0)
		VN_FAIL(err, EINVAL, "invalid --proto '%s' (tcp or udp)", proto);
	if (!port)
		VN_FAIL(err, EINVAL, "a port forward needs --external-port P (1-65535)");
	memset(f, 0, sizeof(*f));
	f->proto = proto[0] == 't' ? IPPROTO_TCP : IPPROTO_UDP;
	f->owner = VN_NAT_FWD_NET;
	f->ext_port = htons((uint16_t)port);
	if (!with_to)
		return 0;
	{
		g_autofree char *ip = g_strdup(to);
		char *colon = strrchr(ip, ':');
		if (!colon || (*colon = '\0', !ip4_parse(ip, &f->to, NULL)) ||
		    !g_ascii_string_to_unsigned(colon + 1, 10, 1, 65535, &tport, NULL) ||
		    (f->to & nn->nat.mask) != nn->nat.net || f->to == nn->nat.gw)
			VN_FAIL(err, EINVAL,
				"invalid --to '%s' (IP:PORT, IP a guest address of %s)", to,
				nn->subnet_s);
		f->to_port = htons((uint16_t)tport);
	}
	return 0;
}

static int fwd_index(const struct vn_nat *nt, const struct vn_nat_fwd *f)
{
	for (unsigned i = 0; i < nt->nfwd; i++)
		if (nt->fwd[i].proto == f->proto && nt->fwd[i].ext_port == f->ext_port)
			return (int)i;
	return -1;
}

int vn_nat_forward_add(struct vn_net *n, JsonObject *args, GError **err)
{
	struct nat_net *nn = nn_of(n);
	struct vn_nat *nt = &nn->nat;
	struct vn_nat_fwd f;
	int rc;

	if ((rc = fwd_parse(nn, args, true, &f, err)) < 0)
		return rc;
	if (fwd_index(nt, &f) >= 0)
		VN_FAIL(err, EEXIST, "%s has a forward of %s port %u already", n->name,
			f.proto == IPPROTO_TCP ? "tcp" : "udp", ntohs(f.ext_port));
	if (nt->nfwd >= VN_NAT_MAX_FWD)
		VN_FAIL(err, ENOSPC, "%s has %d port forwards already", n->name, VN_NAT_MAX_FWD);
	vn_ct_lock(nt->ct);
	nt->fwd[nt->nfwd++] = f;
	vn_ct_port_ref(nt->ct, f.proto, f.ext_port, 1); /* kept from the host's stack */
	vn_ct_unlock(nt->ct);
	return 0;
}

int vn_nat_forward_del(struct vn_net *n, JsonObject *args, GError **err)
{
	struct nat_net *nn = nn_of(n);
	struct vn_nat *nt = &nn->nat;
	struct vn_nat_fwd f;
	int rc, i;

	if ((rc = fwd_parse(nn, args, false, &f, err)) < 0)
		return rc;
	if ((i = fwd_index(nt, &f)) < 0 || nt->fwd[i].owner != VN_NAT_FWD_NET)
		VN_FAIL(err, ENOENT, "%s has no forward of %s port %u", n->name,
			f.proto == IPPROTO_TCP ? "tcp" : "udp", ntohs(f.ext_port));
	vn_ct_lock(nt->ct); /* new connections stop; tracked ones go on */
	vn_ct_port_ref(nt->ct, f.proto, f.ext_port, -1);
	nt->fwd[i] = nt->fwd[--nt->nfwd];
	vn_ct_unlock(nt->ct);
	return 0;
}

static void fwd_json(const struct nat_net *nn, const struct vn_nat_fwd *f, JsonBuilder *b, bool net)
{
	char ip[INET_ADDRSTRLEN], to[INET_ADDRSTRLEN + 8];

	inet_ntop(AF_INET, &f->to, ip, sizeof(ip));
	snprintf(to, sizeof(to), "%s:%u", f->to ? ip : "unknown", ntohs(f->to_port));
	json_builder_begin_object(b);
	if (net)
		vn_json_str(b, "net", nn->base.name);
	if (f->owner != VN_NAT_FWD_NET)
		vn_json_str(b, "port", nat_port_name(nn, f->owner));
	vn_json_str(b, "proto", f->proto == IPPROTO_TCP ? "tcp" : "udp");
	vn_json_int(b, "external_port", ntohs(f->ext_port));
	vn_json_str(b, "to", to);
	json_builder_end_object(b);
}

void vn_nat_forward_list(struct vn_net *n, JsonBuilder *b)
{
	struct nat_net *nn = nn_of(n);

	for (unsigned i = 0; i < nn->nat.nfwd; i++)
		fwd_json(nn, &nn->nat.fwd[i], b, true);
}

/* Forwards saved with the network ("forwards": [{proto, external_port, to}]). */
static int forwards_restore(struct nat_net *nn, JsonObject *args, GError **err)
{
	JsonNode *node = json_object_get_member(args, "forwards");
	JsonArray *a;
	int rc;

	if (!node)
		return 0;
	if (!JSON_NODE_HOLDS_ARRAY(node))
		VN_FAIL(err, EINVAL, "'forwards' must be a list of {proto, external_port, to}");
	a = json_node_get_array(node);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonObject *o = json_array_get_object_element(a, i);
		if (!o)
			VN_FAIL(err, EINVAL,
				"'forwards' must be a list of {proto, external_port, to}");
		if ((rc = vn_nat_forward_add(&nn->base, o, err)) < 0)
			return rc;
	}
	return 0;
}

/* ---- connections ---- */

static void tuple_json(const char *name, const struct vn_ct_tuple *t, JsonBuilder *b)
{
	char s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];

	json_builder_set_member_name(b, name);
	json_builder_begin_object(b);
	vn_json_str(b, "src", inet_ntop(AF_INET, &t->src, s, sizeof(s)));
	vn_json_str(b, "dst", inet_ntop(AF_INET, &t->dst, d, sizeof(d)));
	if (t->proto == IPPROTO_ICMP) {
		vn_json_int(b, "id", ntohs(t->sport));
	} else {
		vn_json_int(b, "sport", ntohs(t->sport));
		vn_json_int(b, "dport", ntohs(t->dport));
	}
	json_builder_end_object(b);
}

static void conn_json(struct nat_net *nn, const struct vn_ct_entry *e, uint64_t now, JsonBuilder *b)
{
	uint8_t p = e->t[0].proto;

	json_builder_begin_object(b);
	vn_json_str(b, "net", nn->base.name);
	vn_json_str(b, "proto", p == IPPROTO_TCP ? "tcp" : p == IPPROTO_UDP ? "udp" : "icmp");
	vn_json_str(b, "state", vn_ct_state_name(e->state));
	tuple_json("original", &e->t[0], b);
	tuple_json("reply", &e->t[1], b);
	vn_json_bool(b, "snat", e->flags & VN_CT_F_SNAT);
	vn_json_bool(b, "dnat", e->flags & VN_CT_F_DNAT);
	vn_json_int(b, "expires_in", e->expires > now ? (gint64)((e->expires - now) / 1000u) : 0);
	vn_json_int(b, "packets_original", (gint64)e->packets[0]);
	vn_json_int(b, "bytes_original", (gint64)e->bytes[0]);
	vn_json_int(b, "packets_reply", (gint64)e->packets[1]);
	vn_json_int(b, "bytes_reply", (gint64)e->bytes[1]);
	json_builder_end_object(b);
}

void vn_nat_conntrack_list(struct vn_net *n, JsonBuilder *b)
{
	struct nat_net *nn = nn_of(n);
	struct vn_ct *ct = nn->nat.ct;
	g_autoptr(GArray) chunk = g_array_new(FALSE, FALSE, sizeof(struct vn_ct_entry));
	uint64_t now = nat_now_ms();

	for (uint32_t i = 0; i < ct->max; i += 4096) { /* never long under the lock */
		g_array_set_size(chunk, 0);
		vn_ct_lock(ct);
		for (uint32_t k = i; k < ct->max && k < i + 4096; k++)
			if (vn_ct_in_table(&ct->e[k]))
				g_array_append_val(chunk, ct->e[k]);
		vn_ct_unlock(ct);
		for (guint k = 0; k < chunk->len; k++)
			conn_json(nn, &g_array_index(chunk, struct vn_ct_entry, k), now, b);
	}
}

unsigned vn_nat_conntrack_flush(struct vn_net *n)
{
	return vn_ct_flush(nn_of(n)->nat.ct);
}

/* ---- a dry run (vnicctl trace) ---- */

int vn_nat_trace_leg(struct vn_net *n, uint16_t slot, struct rte_mbuf *m, char *out, size_t len)
{
	struct nat_net *nn = nn_of(n);

	for (int side = 0; side < 2; side++)
		if (nn->leg[side] && nn->leg[side]->base.slot == slot)
			return vn_nat_peek(&nn->nat, m, side == 0, out, len);
	return -ENOENT;
}

/* ---- views ---- */

static void counters_json(struct nat_net *nn, JsonBuilder *b)
{
	struct vn_nat *nt = &nn->nat;
	struct vn_ct *ct = nt->ct;

	json_builder_set_member_name(b, "conntrack");
	json_builder_begin_object(b);
	vn_json_int(b, "entries", ct->used);
	vn_json_int(b, "max", ct->max);
	vn_json_int(b, "created", (gint64)ct->created);
	vn_json_int(b, "expired", (gint64)ct->expired);
	vn_json_int(b, "full_drops", (gint64)ct->full_drops);
	json_builder_end_object(b);
	json_builder_set_member_name(b, "translated");
	json_builder_begin_object(b);
	vn_json_int(b, "outbound", (gint64)__atomic_load_n(&nt->translated[0], __ATOMIC_RELAXED));
	vn_json_int(b, "inbound", (gint64)__atomic_load_n(&nt->translated[1], __ATOMIC_RELAXED));
	vn_json_int(b, "gateway_echo",
		    (gint64)__atomic_load_n(&nt->gateway_echo, __ATOMIC_RELAXED));
	vn_json_int(b, "fragments_held", (gint64)__atomic_load_n(&nt->frag_held, __ATOMIC_RELAXED));
	vn_json_int(b, "fragments_released",
		    (gint64)__atomic_load_n(&nt->frag_released, __ATOMIC_RELAXED));
	json_builder_end_object(b);
	json_builder_set_member_name(b, "nat_drops");
	json_builder_begin_object(b);
	for (unsigned i = 0; i < VN_NAT_DROP__MAX; i++)
		vn_json_int(b, vn_nat_drop_name(i),
			    (gint64)__atomic_load_n(&nt->drops[i], __ATOMIC_RELAXED));
	json_builder_end_object(b);
}

static void timeouts_json(const struct vn_ct_timeouts *to, JsonBuilder *b)
{
	json_builder_set_member_name(b, "conntrack_timeouts");
	json_builder_begin_object(b);
	vn_json_int(b, "tcp_syn_sent", to->tcp_syn_sent);
	vn_json_int(b, "tcp_syn_recv", to->tcp_syn_recv);
	vn_json_int(b, "tcp_established", to->tcp_established);
	vn_json_int(b, "tcp_fin_wait", to->tcp_fin_wait);
	vn_json_int(b, "tcp_close_wait", to->tcp_close_wait);
	vn_json_int(b, "tcp_last_ack", to->tcp_last_ack);
	vn_json_int(b, "tcp_time_wait", to->tcp_time_wait);
	vn_json_int(b, "tcp_close", to->tcp_close);
	vn_json_int(b, "udp", to->udp);
	vn_json_int(b, "udp_stream", to->udp_stream);
	vn_json_int(b, "icmp", to->icmp);
	json_builder_end_object(b);
}

static void nat_describe(const struct vn_net *cn, JsonBuilder *b)
{
	struct nat_net *nn = nn_of((struct vn_net *)cn);
	char ip[INET_ADDRSTRLEN], buf[32];

	vn_json_str(b, "subnet", nn->subnet_s);
	vn_json_str(b, "gateway", inet_ntop(AF_INET, &nn->nat.gw, ip, sizeof(ip)));
	vn_json_str(b, "external", nn->external);
	vn_json_str(b, "external_ip",
		    nn->nat.ext ? inet_ntop(AF_INET, &nn->nat.ext, ip, sizeof(ip)) : NULL);
	vn_json_bool(b, "masquerade", nn->masquerade);
	vn_json_str(b, "external_gateway",
		    nn->nat.ext_gw ? inet_ntop(AF_INET, &nn->nat.ext_gw, ip, sizeof(ip)) : NULL);
	snprintf(buf, sizeof(buf), "%u-%u", nn->nat.port_lo, nn->nat.port_hi);
	vn_json_str(b, "port_range", buf);
	vn_json_str(b, "dhcp_range", nn->dhcp_range_s);
	vn_json_str(b, "dhcp_host", nn->dhcp_host_s);
	if (nn->mtu)
		vn_json_int(b, "mtu", nn->mtu);
	else
		vn_json_str(b, "mtu", NULL);
	timeouts_json(&nn->nat.ct->to, b);
	counters_json(nn, b);
	json_builder_set_member_name(b, "forwards");
	json_builder_begin_array(b);
	for (unsigned i = 0; i < nn->nat.nfwd; i++)
		fwd_json(nn, &nn->nat.fwd[i], b, false);
	json_builder_end_array(b);
	nat_port_describe(nn, b);
	nat_dns_describe(nn, b);
	if (nn->dhcp)
		vn_dhcp_describe(nn->dhcp, nat_now_ms(), b);
	nat_legs_describe(nn, b);
	vn_hfilter_describe(nn->hfilter, b);
}

static void nat_persist(const struct vn_net *cn, JsonBuilder *b)
{
	const struct nat_net *nn = (const struct nat_net *)cn;
	const char *keys[] = {"subnet",		  "gateway",	"external",   "external_ip",
			      "external_gateway", "port_range", "dhcp_range", "conntrack_timeouts",
			      "dhcp_host",	  "dns"};
	const char *vals[G_N_ELEMENTS(keys)] = {
	    nn->subnet_s,      nn->gateway_s,	 nn->external,	   nn->external_ip_s,
	    nn->external_gw_s, nn->port_range_s, nn->dhcp_range_s, nn->timeouts_s,
	    nn->dhcp_host_s,   nn->dns_s};

	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
		if (vals[i])
			vn_json_str(b, keys[i], vals[i]);
	if (nn->masquerade)
		vn_json_bool(b, "masquerade", true);
	if (nn->ct_max != CT_MAX_DEFAULT)
		vn_json_int(b, "conntrack_max", nn->ct_max);
	if (nn->mtu)
		vn_json_int(b, "mtu", nn->mtu);
	json_builder_set_member_name(b, "forwards");
	json_builder_begin_array(b);
	for (unsigned i = 0; i < nn->nat.nfwd; i++)
		if (nn->nat.fwd[i].owner == VN_NAT_FWD_NET) /* the ports' come with them */
			fwd_json(nn, &nn->nat.fwd[i], b, false);
	json_builder_end_array(b);
	if (nn->dhcp) {
		json_builder_set_member_name(b, "leases");
		vn_dhcp_save(nn->dhcp, nat_now_ms(), b);
	}
}

const struct vn_net_kind vn_nat_net_kind = {
    .name = "nat",
    .by_l2 = true, /* its forward() is the bridge's */
    .keys = nat_keys,
    .port_keys = nat_port_keys,
    .check = nat_check,
    .create = nat_create,
    .destroy = nat_destroy,
    .join = nat_join,
    .port_set = nat_port_set,
    .leave = nat_leave,
    .describe = nat_describe,
    .persist = nat_persist,
    .tick = nat_tick,
    .forward = nat_forward,
};

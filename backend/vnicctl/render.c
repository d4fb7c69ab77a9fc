/* SPDX-License-Identifier: MIT */
/* vnicctl's renderers: the human-readable output of vnicd's answers to the read commands. */
#include <stdio.h>
#include <string.h>

#include "vnicctl.h"

/** vc_str() - Return: string member @k of @o, or @def when missing, null or not a string. */
const char *vc_str(JsonObject *o, const char *k, const char *def)
{
	JsonNode *n = json_object_get_member(o, k);

	if (!n || JSON_NODE_HOLDS_NULL(n))
		return def;
	if (json_node_get_value_type(n) == G_TYPE_STRING)
		return json_node_get_string(n);
	return def;
}

/** vc_int() - Return: integer member @k of @o, 0 when missing. */
gint64 vc_int(JsonObject *o, const char *k)
{
	return json_object_has_member(o, k) ? json_object_get_int_member(o, k) : 0;
}

static bool b_or(JsonObject *o, const char *k)
{
	return json_object_get_boolean_member_with_default(o, k, FALSE);
}

/** vc_print_json() - print @n (may be NULL) as pretty JSON and a newline on stdout. */
void vc_print_json(JsonNode *n)
{
	g_autoptr(JsonGenerator) pg = json_generator_new();
	g_autofree char *text = NULL;

	json_generator_set_root(pg, n);
	json_generator_set_pretty(pg, TRUE);
	text = json_generator_to_data(pg, NULL);
	printf("%s\n", text);
}

/* The device side of a tap/vnet port (see tapio/tap_port.c: tap_describe()). */
static void print_tap(JsonObject *o)
{
	JsonObject *s = json_object_has_member(o, "io_stats")
			    ? json_object_get_object_member(o, "io_stats")
			    : NULL;
	JsonArray *off = json_object_has_member(o, "offloads")
			     ? json_object_get_array_member(o, "offloads")
			     : NULL;

	printf("  device %s (%s%s, ifindex %" G_GINT64_FORMAT ", %s), mac %s, %s, carrier %s, "
	       "mtu %" G_GINT64_FORMAT ", queues %" G_GINT64_FORMAT "\n",
	       vc_str(o, "ifname", "?"), vc_str(o, "netns", NULL) ? "namespace " : "host namespace",
	       vc_str(o, "netns", ""), vc_int(o, "ifindex"),
	       b_or(o, "created") ? "made by vnicd" : "existing", vc_str(o, "device_mac", "?"),
	       b_or(o, "deleted") ? "deleted" : (b_or(o, "admin_up") ? "up" : "down"),
	       b_or(o, "carrier") ? "on" : "off", vc_int(o, "mtu"), vc_int(o, "queues"));
	if (b_or(o, "io_uring"))
		printf("  io: %s\n", vc_str(o, "io", "?"));
	else
		printf("  io: %s (io_uring not used: %s)\n", vc_str(o, "io", "?"),
		       vc_str(o, "io_uring_fallback", "?"));
	if (off) {
		printf("  offloads from the kernel:");
		for (guint i = 0; i < json_array_get_length(off); i++)
			printf(" %s", json_array_get_string_element(off, i));
		printf("%s\n", json_array_get_length(off) ? "" : " none");
	}
	if (json_object_has_member(o, "host_stack_isolated")) {
		JsonNode *on = json_object_get_member(o, "owner");
		g_autofree char *owner =
		    on && JSON_NODE_HOLDS_VALUE(on)
			? g_strdup_printf("uid %" G_GINT64_FORMAT, vc_int(o, "owner"))
			: g_strdup("-");
		printf("  owner %s, host stack %s\n", owner,
		       b_or(o, "host_stack_isolated") ? "isolated (ingress dropped after vnicd)"
						      : "NOT isolated");
	}
	if (s)
		printf("  kernel io: rx %" G_GINT64_FORMAT " frames (%" G_GINT64_FORMAT
		       " GSO -> %" G_GINT64_FORMAT " segments, %" G_GINT64_FORMAT
		       " checksums filled, %" G_GINT64_FORMAT " bad offload, %" G_GINT64_FORMAT
		       " truncated, %" G_GINT64_FORMAT " no buffer), tx %" G_GINT64_FORMAT
		       " frames (%" G_GINT64_FORMAT " errors); syscalls rx %" G_GINT64_FORMAT
		       ", tx %" G_GINT64_FORMAT "\n",
		       vc_int(s, "rx_frames"), vc_int(s, "rx_gso_frames"),
		       vc_int(s, "rx_gso_segments"), vc_int(s, "rx_csum_filled"),
		       vc_int(s, "rx_bad_offload"), vc_int(s, "rx_truncated"),
		       vc_int(s, "rx_nombuf"), vc_int(s, "tx_frames"), vc_int(s, "tx_errors"),
		       vc_int(s, "rx_syscalls"), vc_int(s, "tx_syscalls"));
}

static void print_counters(JsonObject *o, const char *indent)
{
	static const char *const dirs[] = {"rx", "tx"};
	JsonObject *d = json_object_get_object_member(o, "drops");
	g_autoptr(GList) keys = d ? json_object_get_members(d) : NULL;

	for (int i = 0; i < 2; i++) {
		char k[6][40];
		const char *cls[] = {"unicast", "multicast", "broadcast",
				     "local",	"external",  "tunnel"};
		for (int c = 0; c < 6; c++)
			snprintf(k[c], sizeof(k[c]), "%s_%s_packets", dirs[i], cls[c]);
		printf("%s%s: %" G_GINT64_FORMAT " packets, %" G_GINT64_FORMAT
		       " bytes; unicast %" G_GINT64_FORMAT ", multicast %" G_GINT64_FORMAT
		       ", broadcast %" G_GINT64_FORMAT "; local %" G_GINT64_FORMAT
		       ", external %" G_GINT64_FORMAT ", tunnel %" G_GINT64_FORMAT "\n",
		       indent, dirs[i], vc_int(o, i ? "tx_packets" : "rx_packets"),
		       vc_int(o, i ? "tx_bytes" : "rx_bytes"), vc_int(o, k[0]), vc_int(o, k[1]),
		       vc_int(o, k[2]), vc_int(o, k[3]), vc_int(o, k[4]), vc_int(o, k[5]));
	}
	printf("%sdrops: %" G_GINT64_FORMAT, indent, vc_int(o, "drops_total"));
	for (GList *l = keys; l; l = l->next)
		if (json_object_get_int_member(d, l->data))
			printf(" %s=%" G_GINT64_FORMAT, (char *)l->data,
			       json_object_get_int_member(d, l->data));
	printf("\n");
}

/**
 * vc_render_stats() - domifstat-like: one line per NIC, then one per VM; with @detail, each
 * one's counters by direction, class and drop reason.
 */
void vc_render_stats(JsonNode *res, bool detail)
{
	JsonObject *r = json_node_get_object(res);
	JsonArray *a = json_object_get_array_member(r, "ports");
	JsonArray *v = json_object_get_array_member(r, "vms");

	if (detail) {
		for (guint i = 0; a && i < json_array_get_length(a); i++) {
			JsonObject *o = json_array_get_object_element(a, i);
			printf("%s (net %s, vm %s)\n", vc_str(o, "name", "?"),
			       vc_str(o, "net", "?"),
			       vc_str(o, "vm_name", vc_str(o, "vm_uuid", "-")));
			print_counters(o, "  ");
		}
		for (guint i = 0; v && i < json_array_get_length(v); i++) {
			JsonObject *o = json_array_get_object_element(v, i);
			printf("VM %s (%s)\n", vc_str(o, "vm_uuid", "?"),
			       vc_str(o, "vm_name", "-"));
			print_counters(o, "  ");
		}
		return;
	}
	printf("%-16s %-16s %12s %14s %12s %14s %10s\n", "PORT", "VM", "RX_PACKETS", "RX_BYTES",
	       "TX_PACKETS", "TX_BYTES", "DROPS");
	for (guint i = 0; a && i < json_array_get_length(a); i++) {
		JsonObject *o = json_array_get_object_element(a, i);
		printf("%-16s %-16s %12" G_GINT64_FORMAT " %14" G_GINT64_FORMAT
		       " %12" G_GINT64_FORMAT " %14" G_GINT64_FORMAT " %10" G_GINT64_FORMAT "\n",
		       vc_str(o, "name", "?"), vc_str(o, "vm_name", vc_str(o, "vm_uuid", "-")),
		       vc_int(o, "rx_packets"), vc_int(o, "rx_bytes"), vc_int(o, "tx_packets"),
		       vc_int(o, "tx_bytes"), vc_int(o, "drops_total"));
	}
	for (guint i = 0; v && i < json_array_get_length(v); i++) {
		JsonObject *o = json_array_get_object_element(v, i);
		printf("%-16s %-16s %12" G_GINT64_FORMAT " %14" G_GINT64_FORMAT
		       " %12" G_GINT64_FORMAT " %14" G_GINT64_FORMAT " %10" G_GINT64_FORMAT "\n",
		       "(vm total)", vc_str(o, "vm_name", vc_str(o, "vm_uuid", "?")),
		       vc_int(o, "rx_packets"), vc_int(o, "rx_bytes"), vc_int(o, "tx_packets"),
		       vc_int(o, "tx_bytes"), vc_int(o, "drops_total"));
	}
}

/* The uplink's link facts in `net show` (see vn_uplink_describe_link()). */
static void print_uplink(const char *name, JsonObject *u)
{
	JsonObject *f =
	    json_object_has_member(u, "filter") ? json_object_get_object_member(u, "filter") : NULL;
	JsonArray *ad = json_object_has_member(u, "addresses")
			    ? json_object_get_array_member(u, "addresses")
			    : NULL;

	printf("  uplink %s: %s", name, vc_str(u, "devargs", "?"));
	if (vc_str(u, "ifname", NULL))
		printf(" (interface %s)", vc_str(u, "ifname", "?"));
	if (!json_object_has_member(u, "carrier")) {
		printf("\n");
		return;
	}
	printf(", carrier %s (%s, %" G_GINT64_FORMAT " change%s), mtu %" G_GINT64_FORMAT
	       ", mac %s\n",
	       b_or(u, "carrier") ? "on" : "OFF: not transmitting", vc_str(u, "operstate", "-"),
	       vc_int(u, "carrier_changes"), vc_int(u, "carrier_changes") == 1 ? "" : "s",
	       vc_int(u, "mtu"), vc_str(u, "uplink_mac", "?"));
	printf("  addresses:");
	for (guint i = 0; ad && i < json_array_get_length(ad); i++)
		printf(" %s", json_array_get_string_element(ad, i));
	printf("%s\n", ad && json_array_get_length(ad) ? "" : " none");
	if (f) {
		JsonArray *uc = json_object_get_array_member(f, "unicast");
		printf("  receive filter (%s):", vc_str(f, "method", "?"));
		for (guint i = 0; uc && i < json_array_get_length(uc); i++)
			printf(" %s", json_array_get_string_element(uc, i));
		printf("%s%s%s\n", b_or(f, "promiscuous") ? " promiscuous" : "",
		       b_or(f, "allmulticast") ? " allmulticast" : "",
		       b_or(f, "mac_lent") ? " (MAC lent by the passthru port)" : "");
	}
}

/* port show of an uplink: its link, then what the PMD itself counted on the wire. */
static void print_uplink_port(JsonObject *o)
{
	JsonObject *w =
	    json_object_has_member(o, "wire") ? json_object_get_object_member(o, "wire") : NULL;

	print_uplink(vc_str(o, "name", "?"), o);
	printf("  ethdev port %" G_GINT64_FORMAT " (%s), %" G_GINT64_FORMAT
	       " queue(s)%s, host's own frames skipped %" G_GINT64_FORMAT "\n",
	       vc_int(o, "ethdev_port"), vc_str(o, "driver", "?"), vc_int(o, "queues"),
	       b_or(o, "reflective_relay") ? ", reflective relay on" : "",
	       vc_int(o, "host_frames_skipped"));
	if (w)
		printf("  wire (PMD): rx %" G_GINT64_FORMAT " packets %" G_GINT64_FORMAT
		       " bytes, tx %" G_GINT64_FORMAT " packets %" G_GINT64_FORMAT
		       " bytes, rx missed %" G_GINT64_FORMAT ", errors rx %" G_GINT64_FORMAT
		       " tx %" G_GINT64_FORMAT "\n",
		       vc_int(w, "rx_packets"), vc_int(w, "rx_bytes"), vc_int(w, "tx_packets"),
		       vc_int(w, "tx_bytes"), vc_int(w, "rx_missed"), vc_int(w, "rx_errors"),
		       vc_int(w, "tx_errors"));
}

static void print_policy(JsonObject *o)
{
	JsonObject *p = json_object_get_object_member(o, "policy");
	JsonArray *v, *ips;
	static const char *const dirs[] = {"inbound", "outbound"};

	if (!p)
		return;
	printf("  policy: vlan-mode %s", vc_str(p, "vlan_mode", "none"));
	if (json_object_has_member(p, "vlan") && !json_object_get_null_member(p, "vlan"))
		printf(" vlan %" G_GINT64_FORMAT, vc_int(p, "vlan"));
	v = json_object_get_array_member(p, "vlans");
	if (v && json_array_get_length(v)) {
		guint n = json_array_get_length(v);
		printf(" vlans ");
		for (guint i = 0; i < n; i++) {
			gint64 lo = json_array_get_int_element(v, i), hi = lo;
			while (i + 1 < n && json_array_get_int_element(v, i + 1) == hi + 1)
				hi = json_array_get_int_element(v, ++i);
			printf(hi > lo ? "%s%" G_GINT64_FORMAT "-%" G_GINT64_FORMAT
				       : "%s%" G_GINT64_FORMAT,
			       lo == json_array_get_int_element(v, 0) ? "" : ",", lo, hi);
		}
	}
	if (json_object_get_boolean_member_with_default(p, "untagged_lan", FALSE) &&
	    strcmp(vc_str(p, "vlan_mode", "none"), "none") != 0)
		printf(" +untagged");
	if (vc_str(p, "tpid", NULL))
		printf(" tpid %s", vc_str(p, "tpid", ""));
	printf("; lock-mac %s",
	       json_object_get_boolean_member_with_default(p, "lock_mac", FALSE) ? "on" : "off");
	ips = json_object_get_array_member(p, "allowed_ip");
	for (guint i = 0; ips && i < json_array_get_length(ips); i++)
		printf("%s%s", i ? "," : "; allowed-ip ", json_array_get_string_element(ips, i));
	for (int d = 0; d < 2; d++) {
		JsonNode *n = json_object_get_member(p, dirs[d]);
		if (n && JSON_NODE_HOLDS_OBJECT(n)) {
			JsonObject *r = json_node_get_object(n);
			printf("; %s average=%" G_GINT64_FORMAT, dirs[d], vc_int(r, "average"));
			if (!json_object_get_null_member(r, "peak"))
				printf(",peak=%" G_GINT64_FORMAT, vc_int(r, "peak"));
			if (!json_object_get_null_member(r, "burst"))
				printf(",burst=%" G_GINT64_FORMAT, vc_int(r, "burst"));
		}
	}
	{
		JsonNode *n = json_object_get_member(p, "storm_control");
		if (n && JSON_NODE_HOLDS_OBJECT(n))
			printf("; storm-control %" G_GINT64_FORMAT " pps",
			       vc_int(json_node_get_object(n), "pps"));
	}
	printf("\n");
}

/** vc_render_libvirt_status() - the listener's state and counters, "key: value" lines. */
void vc_render_libvirt_status(JsonNode *res, bool detail)
{
	JsonObject *o = json_node_get_object(res);
	g_autoptr(GList) members = json_object_get_members(o);

	if (!json_object_get_boolean_member_with_default(o, "enabled", FALSE)) {
		printf("libvirt listener: off\n");
		return;
	}
	for (GList *m = members; m; m = m->next) {
		JsonNode *n = json_object_get_member(o, m->data);
		if (!strcmp(m->data, "enabled"))
			continue;
		if (json_node_get_value_type(n) == G_TYPE_BOOLEAN)
			printf("%-17s %s\n", (char *)m->data,
			       json_node_get_boolean(n) ? "yes" : "no");
		else if (json_node_get_value_type(n) == G_TYPE_INT64)
			printf("%-17s %" G_GINT64_FORMAT "\n", (char *)m->data,
			       json_node_get_int(n));
		else
			printf("%-17s %s\n", (char *)m->data, json_node_get_string(n));
	}
}

/** vc_render_ping() - "vnicd VERSION". */
void vc_render_ping(JsonNode *res, bool detail)
{
	printf("vnicd %s\n", vc_str(json_node_get_object(res), "version", "?"));
}

/** vc_render_log_level() - "log level LEVEL" (and the one it replaced). */
void vc_render_log_level(JsonNode *res, bool detail)
{
	JsonObject *o = json_node_get_object(res);

	if (vc_str(o, "previous", NULL))
		printf("log level %s (was %s)\n", vc_str(o, "level", "?"),
		       vc_str(o, "previous", "?"));
	else
		printf("log level %s\n", vc_str(o, "level", "?"));
}

/** vc_render_net_list() - one line per network. */
void vc_render_net_list(JsonNode *res, bool detail)
{
	JsonArray *a = json_node_get_array(res);

	printf("%-16s %-8s %6s %8s  %-9s %s\n", "NAME", "TYPE", "PORTS", "FDB", "MODE", "UPLINK");
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonObject *o = json_array_get_object_element(a, i);
		printf("%-16s %-8s %6" G_GINT64_FORMAT " %8" G_GINT64_FORMAT "  %-9s %s\n",
		       vc_str(o, "name", "?"), vc_str(o, "type", "?"), vc_int(o, "ports"),
		       vc_int(o, "fdb_entries"), vc_str(o, "state", vc_str(o, "mode", "-")),
		       vc_str(o, "uplink", "-"));
	}
}

/* An overlay's tunnel, remote VTEPs and drops. */
static void print_overlay(JsonObject *o)
{
	JsonArray *r = json_object_get_array_member(o, "remotes");
	JsonObject *d = json_object_get_object_member(o, "tunnel_drops");
	g_autoptr(GList) keys = d ? json_object_get_members(d) : NULL;

	printf("  %s VNI %" G_GINT64_FORMAT
	       ", local %s (MAC %s) on %s, underlay MTU %" G_GINT64_FORMAT
	       ", guest MTU %" G_GINT64_FORMAT "\n",
	       vc_str(o, "encap", "?"), vc_int(o, "vni"), vc_str(o, "local", "?"),
	       vc_str(o, "vtep_mac", "-"), vc_str(o, "underlay", "?"), vc_int(o, "mtu"),
	       vc_int(o, "guest_mtu"));
	if (json_object_has_member(o, "evpn")) {
		JsonObject *ev = json_object_get_object_member(o, "evpn");
		printf(
		    "  control evpn: FRR in netns %s; %" G_GINT64_FORMAT
		    " local MACs advertised, %" G_GINT64_FORMAT " remote MACs, %" G_GINT64_FORMAT
		    " flood entries; moves here %" G_GINT64_FORMAT ", away %" G_GINT64_FORMAT "\n",
		    vc_str(ev, "netns", "?"), vc_int(ev, "local_macs"), vc_int(ev, "remote_macs"),
		    vc_int(ev, "flood_vteps"), vc_int(ev, "moved_here"), vc_int(ev, "moved_away"));
	}
	for (guint i = 0; r && i < json_array_get_length(r); i++) {
		JsonObject *e = json_array_get_object_element(r, i);
		printf("  remote %s: %s%s%s, rx %" G_GINT64_FORMAT " tx %" G_GINT64_FORMAT
		       " frames\n",
		       vc_str(e, "ip", "?"), vc_str(e, "state", "?"),
		       e && vc_str(e, "mac", NULL) ? " " : "", vc_str(e, "mac", ""),
		       vc_int(e, "rx_packets"), vc_int(e, "tx_packets"));
	}
	printf("  tunnel drops:");
	for (GList *l = keys; l; l = l->next)
		if (vc_int(d, l->data))
			printf(" %s %" G_GINT64_FORMAT, (const char *)l->data, vc_int(d, l->data));
	printf("\n");
}

/* A NAT network's router, connections, drops, forwards and leases. */
static void print_nat(JsonObject *o)
{
	JsonObject *ct = json_object_get_object_member(o, "conntrack");
	JsonObject *tr = json_object_get_object_member(o, "translated");
	JsonObject *d = json_object_get_object_member(o, "nat_drops");
	JsonArray *fw = json_object_get_array_member(o, "forwards");
	JsonArray *ls =
	    json_object_has_member(o, "leases") ? json_object_get_array_member(o, "leases") : NULL;
	g_autoptr(GList) keys = d ? json_object_get_members(d) : NULL;

	printf("  nat %s, gateway %s (MAC %s), external %s on %s (MAC %s)%s, ports %s\n",
	       vc_str(o, "subnet", "?"), vc_str(o, "gateway", "?"), vc_str(o, "gateway_mac", "-"),
	       vc_str(o, "external_ip", "?"), vc_str(o, "external", "?"),
	       vc_str(o, "external_mac", "-"), b_or(o, "masquerade") ? " (masquerade)" : "",
	       vc_str(o, "port_range", "?"));
	printf("  conntrack %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT ", created %" G_GINT64_FORMAT
	       ", expired %" G_GINT64_FORMAT ", full drops %" G_GINT64_FORMAT
	       "; translated out %" G_GINT64_FORMAT " in %" G_GINT64_FORMAT "\n",
	       vc_int(ct, "entries"), vc_int(ct, "max"), vc_int(ct, "created"),
	       vc_int(ct, "expired"), vc_int(ct, "full_drops"), vc_int(tr, "outbound"),
	       vc_int(tr, "inbound"));
	printf("  drops:");
	for (GList *l = keys; l; l = l->next)
		printf(" %s %" G_GINT64_FORMAT, (const char *)l->data, vc_int(d, l->data));
	printf("\n");
	if (b_or(o, "masquerade") && json_object_has_member(o, "host_filter")) {
		JsonObject *h = json_object_get_object_member(o, "host_filter");
		if (b_or(h, "attached"))
			printf("  host filter on %s: %" G_GINT64_FORMAT
			       " ports kept from the host\n",
			       vc_str(h, "ifname", "?"), vc_int(h, "ports"));
		else
			printf("  host filter on %s: not attached (%s)\n", vc_str(h, "ifname", "?"),
			       vc_str(h, "note", "?"));
	}
	for (guint i = 0; fw && i < json_array_get_length(fw); i++) {
		JsonObject *e = json_array_get_object_element(fw, i);
		printf("  forward %s %" G_GINT64_FORMAT " -> %s\n", vc_str(e, "proto", "?"),
		       vc_int(e, "external_port"), vc_str(e, "to", "?"));
	}
	for (guint i = 0; ls && i < json_array_get_length(ls); i++) {
		JsonObject *e = json_array_get_object_element(ls, i);
		printf("  lease %s %s %s, %" G_GINT64_FORMAT " s left\n", vc_str(e, "ip", "?"),
		       vc_str(e, "mac", "?"), vc_str(e, "state", "?"), vc_int(e, "expires_in"));
	}
}

/* A network or port kept from the state file that could not be made: why, and when next. */
static bool print_failed(JsonObject *o)
{
	if (g_strcmp0(vc_str(o, "state", NULL), "failed") != 0)
		return false;
	printf("  FAILED since start-up: %s\n  retried %" G_GINT64_FORMAT
	       " time(s), next in %" G_GINT64_FORMAT " s; kept in the state file until it is "
	       "made or deleted\n",
	       vc_str(o, "reason", "?"), vc_int(o, "retries"), vc_int(o, "next_retry_s"));
	return true;
}

/** vc_render_net_show() - a network, its FDB (or macvtap MAC table) and its uplink's link. */
void vc_render_net_show(JsonNode *res, bool detail)
{
	JsonObject *o = json_node_get_object(res);
	JsonObject *f = json_object_get_object_member(o, "fdb");
	JsonArray *pn = json_object_get_array_member(o, "port_names");

	printf("network %s (%s), %" G_GINT64_FORMAT " port(s):", vc_str(o, "name", "?"),
	       vc_str(o, "type", "?"), vc_int(o, "ports"));
	if (print_failed(o))
		return;
	for (guint i = 0; pn && i < json_array_get_length(pn); i++)
		printf(" %s", json_array_get_string_element(pn, i));
	if (json_object_has_member(o, "mode")) /* macvtap: no learning */
		printf("\n  MAC table: %" G_GINT64_FORMAT " entries (the ports' --mac)\n",
		       vc_int(f, "entries"));
	else
		printf("\n  fdb: %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT
		       " entries, aging %" G_GINT64_FORMAT " s, learned %" G_GINT64_FORMAT
		       ", moved %" G_GINT64_FORMAT ", aged %" G_GINT64_FORMAT
		       ", limit hits %" G_GINT64_FORMAT "\n",
		       vc_int(f, "entries"), vc_int(f, "max"), vc_int(f, "aging_s"),
		       vc_int(f, "learned"), vc_int(f, "moved"), vc_int(f, "aged"),
		       vc_int(f, "limit_hits"));
	if (json_object_has_member(o, "mode"))
		printf("  macvtap mode %s, hairpin %s%s\n", vc_str(o, "mode", "?"),
		       vc_str(o, "hairpin", "?"), b_or(o, "nopromisc") ? ", nopromisc" : "");
	if (json_object_has_member(o, "encap"))
		print_overlay(o);
	if (json_object_has_member(o, "conntrack"))
		print_nat(o);
	if (json_object_has_member(o, "uplink_link"))
		print_uplink(vc_str(o, "uplink", "?"),
			     json_object_get_object_member(o, "uplink_link"));
}

/** vc_render_port_list() - one line per port: its device (tap, vnet) or socket (vhost). */
void vc_render_port_list(JsonNode *res, bool detail)
{
	JsonArray *a = json_node_get_array(res);

	printf("%-16s %-6s %-12s %-5s %-17s %s\n", "NAME", "KIND", "NET", "LINK", "MAC", "PATH");
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonObject *o = json_array_get_object_element(a, i);
		gboolean srv = json_object_get_boolean_member_with_default(o, "server", FALSE);
		g_autofree char *where = NULL;
		if (json_object_has_member(o, "ifname")) /* tap, vnet: the device */
			where = g_strdup_printf("%s%s%s", vc_str(o, "ifname", "?"),
						json_object_has_member(o, "netns") &&
							vc_str(o, "netns", NULL)
						    ? " netns "
						    : "",
						vc_str(o, "netns", ""));
		printf("%-16s %-6s %-12s %-5s %-17s %s%s\n", vc_str(o, "name", "?"),
		       vc_str(o, "kind", "?"), vc_str(o, "net", "?"),
		       vc_str(o, "state", vc_str(o, "link", "?")), vc_str(o, "mac", "-"),
		       where ? where : vc_str(o, "path", "-"), srv ? " (server)" : "");
	}
}

/** vc_render_port_show() - a port: its kind's side (uplink, device or socket), policy, counters. */
/* " a b c" (or " none") of the string array @k of @o. */
static void print_names(JsonObject *o, const char *k)
{
	JsonArray *a = json_object_get_array_member(o, k);

	for (guint i = 0; a && i < json_array_get_length(a); i++)
		printf(" %s", json_array_get_string_element(a, i));
	if (!a || !json_array_get_length(a))
		printf(" none");
}

/* A vhost port's offloads, both ways, and what completing or passing them on took. */
static void print_vhost_offloads(JsonObject *o)
{
	if (!json_object_has_member(o, "guest_offloads"))
		return;
	printf("  offloads from the guest:");
	print_names(o, "guest_offloads");
	printf("; to the guest:");
	print_names(o, "offloads_to_guest");
	printf("; passed on whole: %s\n",
	       json_object_get_boolean_member_with_default(o, "offload_pass", FALSE) ? "yes"
										     : "no");
	printf("  offloads: rx %" G_GINT64_FORMAT " passed on, %" G_GINT64_FORMAT
	       " refused, %" G_GINT64_FORMAT " GSO -> %" G_GINT64_FORMAT
	       " segments, %" G_GINT64_FORMAT " checksums filled, %" G_GINT64_FORMAT
	       " bad, %" G_GINT64_FORMAT " short of buffers; tx %" G_GINT64_FORMAT
	       " completed (%" G_GINT64_FORMAT " segments), %" G_GINT64_FORMAT " dropped\n",
	       vc_int(o, "rx_offload_passed"), vc_int(o, "rx_offload_refused"),
	       vc_int(o, "rx_gso_frames"), vc_int(o, "rx_gso_segments"),
	       vc_int(o, "rx_csum_filled"), vc_int(o, "rx_bad_offload"), vc_int(o, "rx_gso_nomem"),
	       vc_int(o, "tx_offload_completed"), vc_int(o, "tx_gso_segments"),
	       vc_int(o, "tx_offload_dropped"));
}

void vc_render_port_show(JsonNode *res, bool detail)
{
	JsonObject *o = json_node_get_object(res);

	printf("port %s: kind %s, network %s, link %s, mac %s\n", vc_str(o, "name", "?"),
	       vc_str(o, "kind", "?"), vc_str(o, "net", "?"), vc_str(o, "link", "?"),
	       vc_str(o, "mac", "-"));
	if (print_failed(o))
		return;
	if (g_strcmp0(vc_str(o, "kind", NULL), "uplink") == 0)
		print_uplink_port(o);
	else if (json_object_has_member(o, "ifname"))
		print_tap(o);
	else {
		printf("  path %s (%s), queues %" G_GINT64_FORMAT " (guest uses %" G_GINT64_FORMAT
		       "), connects %" G_GINT64_FORMAT ", disconnects %" G_GINT64_FORMAT,
		       vc_str(o, "path", "-"),
		       json_object_get_boolean_member_with_default(o, "server", FALSE) ? "server"
										       : "client",
		       vc_int(o, "queues"), vc_int(o, "guest_queues"), vc_int(o, "connects"),
		       vc_int(o, "disconnects"));
		if (vc_int(o, "refused")) /* front ends whose guest memory was refused */
			printf(", refused %" G_GINT64_FORMAT, vc_int(o, "refused"));
		printf("\n");
		print_vhost_offloads(o);
	}
	print_policy(o);
	if (json_object_has_member(o, "stats"))
		print_counters(json_object_get_object_member(o, "stats"), "  ");
}

/** vc_render_fdb_show() - one line per FDB entry. */
void vc_render_fdb_show(JsonNode *res, bool detail)
{
	JsonArray *a = json_node_get_array(res);

	printf("%-12s %4s %-17s %-16s %-7s %s\n", "NET", "VLAN", "MAC", "PORT", "TYPE", "AGE");
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonObject *o = json_array_get_object_element(a, i);
		printf("%-12s %4" G_GINT64_FORMAT " %-17s %-16s %-7s %" G_GINT64_FORMAT "\n",
		       vc_str(o, "net", "?"), vc_int(o, "vlan"), vc_str(o, "mac", "?"),
		       vc_str(o, "port", "-"), vc_str(o, "type", "?"), vc_int(o, "age"));
	}
}

/** vc_render_vtep_show() - one line per remote MAC of an overlay. */
void vc_render_vtep_show(JsonNode *res, bool detail)
{
	JsonArray *a = json_node_get_array(res);

	printf("%-12s %8s %-17s %-39s %-7s %s\n", "NET", "VNI", "MAC", "REMOTE", "TYPE", "AGE");
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonObject *o = json_array_get_object_element(a, i);
		printf("%-12s %8" G_GINT64_FORMAT " %-17s %-39s %-7s %" G_GINT64_FORMAT "\n",
		       vc_str(o, "net", "?"), vc_int(o, "vni"), vc_str(o, "mac", "?"),
		       vc_str(o, "remote", "?"),
		       vc_str(o, "source", b_or(o, "static") ? "static" : "learned"),
		       vc_int(o, "age"));
	}
}

/** vc_render_fdb_flush() - how many entries were removed. */
void vc_render_fdb_flush(JsonNode *res, bool detail)
{
	printf("removed %" G_GINT64_FORMAT " entries\n",
	       vc_int(json_node_get_object(res), "removed"));
}

/** vc_render_stats_reset() - how many ledger entries were reset. */
void vc_render_stats_reset(JsonNode *res, bool detail)
{
	gint64 n = vc_int(json_node_get_object(res), "reset");

	printf("reset %" G_GINT64_FORMAT " ledger entr%s\n", n, n == 1 ? "y" : "ies");
}

/**
 * vc_render_capture() - the end of capture @id of @port into @out: its status @st as one line
 * (or as JSON when @json).
 */
void vc_render_capture(JsonObject *st, gint64 id, const char *port, const char *out, bool json)
{
	if (json) {
		g_autoptr(JsonNode) n = json_node_new(JSON_NODE_OBJECT);

		json_node_set_object(n, st);
		vc_print_json(n);
		return;
	}
	printf("capture %" G_GINT64_FORMAT " of %s %s (%s): %" G_GINT64_FORMAT
	       " packets, %" G_GINT64_FORMAT " bytes written to %s, %" G_GINT64_FORMAT " dropped\n",
	       id, port, vc_str(st, "state", "?"), vc_str(st, "reason", "-"), vc_int(st, "packets"),
	       vc_int(st, "bytes"), out, vc_int(st, "dropped"));
}

/** vc_render_nat_forwards() - one line per port forward of a NAT network. */
void vc_render_nat_forwards(JsonNode *res, bool detail)
{
	JsonArray *a = json_node_get_array(res);

	printf("%-12s %-5s %8s %s\n", "NET", "PROTO", "EXTERNAL", "TO");
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonObject *o = json_array_get_object_element(a, i);
		printf("%-12s %-5s %8" G_GINT64_FORMAT " %s\n", vc_str(o, "net", "?"),
		       vc_str(o, "proto", "?"), vc_int(o, "external_port"), vc_str(o, "to", "?"));
	}
}

/* "SRC:SPORT > DST:DPORT" (ICMP: "SRC > DST id N") of tuple object @t. */
static void tuple_print(JsonObject *t)
{
	if (!t) {
		printf("%-45s", "?");
		return;
	}
	if (json_object_has_member(t, "id"))
		printf("%-15s > %-15s id %-7" G_GINT64_FORMAT, vc_str(t, "src", "?"),
		       vc_str(t, "dst", "?"), vc_int(t, "id"));
	else
		printf("%15s:%-5" G_GINT64_FORMAT " > %15s:%-5" G_GINT64_FORMAT,
		       vc_str(t, "src", "?"), vc_int(t, "sport"), vc_str(t, "dst", "?"),
		       vc_int(t, "dport"));
}

/** vc_render_nat_conntrack() - one line per tracked connection of a NAT network. */
void vc_render_nat_conntrack(JsonNode *res, bool detail)
{
	JsonArray *a = json_node_get_array(res);

	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonObject *o = json_array_get_object_element(a, i);
		JsonObject *org = json_object_has_member(o, "original")
				      ? json_object_get_object_member(o, "original")
				      : NULL;
		JsonObject *rep = json_object_has_member(o, "reply")
				      ? json_object_get_object_member(o, "reply")
				      : NULL;
		printf("%-10s %-4s %-13s ", vc_str(o, "net", "?"), vc_str(o, "proto", "?"),
		       vc_str(o, "state", "?"));
		tuple_print(org);
		printf("  reply ");
		tuple_print(rep);
		printf("  %" G_GINT64_FORMAT "s\n", vc_int(o, "expires_in"));
	}
}

/* SPDX-License-Identifier: MIT */
/* Control-protocol requests (port.add, port.set, port.del) for the NICs of a parsed domain. */
#include <string.h>

#include "vnicd/domxml.h"

/* Add @k = the rate @r ({average, [peak], [burst]}), or "none" when @explicit and unset. */
static void add_rate(JsonBuilder *b, const char *k, const struct vn_domxml_rate *r, bool explicit)
{
	if (!r->average) {
		if (explicit) {
			json_builder_set_member_name(b, k);
			json_builder_add_string_value(b, "none");
		}
		return;
	}
	json_builder_set_member_name(b, k);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "average");
	json_builder_add_int_value(b, (gint64)r->average);
	if (r->peak) {
		json_builder_set_member_name(b, "peak");
		json_builder_add_int_value(b, (gint64)r->peak);
	}
	if (r->burst) {
		json_builder_set_member_name(b, "burst");
		json_builder_add_int_value(b, (gint64)r->burst);
	}
	json_builder_end_object(b);
}

static void add_str(JsonBuilder *b, const char *k, const char *v)
{
	json_builder_set_member_name(b, k);
	json_builder_add_string_value(b, v);
}

static void add_int(JsonBuilder *b, const char *k, gint64 v)
{
	json_builder_set_member_name(b, k);
	json_builder_add_int_value(b, v);
}

static void add_bool(JsonBuilder *b, const char *k, bool v)
{
	json_builder_set_member_name(b, k);
	json_builder_add_boolean_value(b, v);
}

/* The VLAN members of @nic's effective policy (metadata over libvirt's <vlan>). */
static void add_vlan(JsonBuilder *b, const struct vn_domxml_nic *nic, bool explicit)
{
	const struct vn_domxml_policy *p = nic->policy;
	const char *mode = NULL, *vlans = NULL, *tpid = NULL;
	guint vlan = 0;

	if (p && p->vlan_mode) {
		mode = p->vlan_mode;
		vlan = p->vlan;
		vlans = p->vlans;
		tpid = p->tpid;
	} else if (nic->lv_vlan_mode) {
		mode = nic->lv_vlan_mode;
		vlan = nic->lv_vlan;
		vlans = nic->lv_vlans;
	}
	if (!mode || !strcmp(mode, "none")) {
		if (explicit)
			add_str(b, "vlan_mode", "none");
		return;
	}
	add_str(b, "vlan_mode", mode);
	if (vlan)
		add_int(b, "vlan", vlan);
	if (vlans)
		add_str(b, "vlans", vlans);
	if (tpid)
		add_str(b, "tpid", tpid);
}

/*
 * The policy settings of @nic into the open object of @b: with @explicit every setting
 * (cleared ones as "none"/false, for port.set), else only those not at their default.
 */
static void add_policy(JsonBuilder *b, const struct vn_domxml_nic *nic, bool explicit)
{
	const struct vn_domxml_policy *p = nic->policy;
	bool as = p && p->has_antispoof;
	bool bw = p && p->has_bandwidth;
	const char *flags[] = {"lock_mac", "allow_dhcp_server", "allow_ra"};
	bool vals[] = {as && p->lock_mac, as && p->allow_dhcp_server, as && p->allow_ra};

	add_vlan(b, nic, explicit);
	for (int i = 0; i < 3; i++)
		if (vals[i] || explicit)
			add_bool(b, flags[i], vals[i]);
	if (as && p->allowed_ip)
		add_str(b, "allowed_ip", p->allowed_ip);
	else if (explicit)
		add_str(b, "allowed_ip", "none");
	add_rate(b, "inbound", bw ? &p->inbound : &nic->bw_in, explicit);
	add_rate(b, "outbound", bw ? &p->outbound : &nic->bw_out, explicit);
	if (p && p->storm_pps)
		add_int(b, "storm_control", (gint64)p->storm_pps);
	else if (explicit)
		add_str(b, "storm_control", "none");
}

/*
 * The network-kind settings the metadata gives, into the open object of @b: the overlay
 * VNI; the NAT floating IP and forwards when it has <nat> (with @explicit, for port.set,
 * an absent one as "none", so removing it from <nat> removes it from the port).
 */
static void add_kind_settings(JsonBuilder *b, const struct vn_domxml_nic *nic, bool explicit)
{
	const struct vn_domxml_policy *p = nic->policy;
	g_autoptr(GString) fwd = g_string_new(NULL);

	if (p && p->vni)
		add_int(b, "vni", p->vni);
	if (p && p->vni_map)
		add_str(b, "vni_map", p->vni_map);
	if (!p || !p->has_nat)
		return;
	for (guint i = 0; i < p->forwards->len; i++) {
		const struct vn_domxml_forward *f =
		    &g_array_index(p->forwards, struct vn_domxml_forward, i);
		g_string_append_printf(fwd, "%s%s:%u:%u", i ? "," : "", f->proto, f->port,
				       f->to_port);
	}
	if (p->floating_ip || explicit)
		add_str(b, "floating_ip", p->floating_ip ? p->floating_ip : "none");
	if (fwd->len || explicit)
		add_str(b, "forward", fwd->len ? fwd->str : "none");
}

/* {"cmd": @cmd, "args": {...}}: begin it in a new builder; the caller adds the args. */
static JsonBuilder *req_begin(const char *cmd, const char *port)
{
	JsonBuilder *b = json_builder_new();

	json_builder_begin_object(b);
	add_str(b, "cmd", cmd);
	json_builder_set_member_name(b, "args");
	json_builder_begin_object(b);
	add_str(b, "name", port);
	return b;
}

static JsonNode *req_end(JsonBuilder *b)
{
	JsonNode *n;

	json_builder_end_object(b);
	json_builder_end_object(b);
	n = json_builder_get_root(b);
	g_object_unref(b);
	return n;
}

/**
 * vn_domxml_port_add() - the `port.add` request for @nic of @dom; notes to @notes (may be
 * NULL). Return: a new node (json_node_unref it).
 */
JsonNode *vn_domxml_port_add(const struct vn_domxml *dom, const struct vn_domxml_nic *nic,
			     GPtrArray *notes)
{
	JsonBuilder *b = req_begin("port.add", nic->port);
	const struct vn_domxml_policy *p = nic->policy;

	if (nic->type == VN_DOMXML_VHOSTUSER) {
		add_str(b, "kind", "vhost");
		add_str(b, "path", nic->path);
		if (nic->vnicd_server)
			add_bool(b, "server", true);
	} else {
		add_str(b, "kind", "vnet");
		add_str(b, "ifname", nic->ifname);
	}
	if (*nic->mac)
		add_str(b, "mac", nic->mac);
	if (nic->queues)
		add_int(b, "queues", nic->queues);
	if (nic->mtu)
		add_int(b, "mtu", nic->mtu);
	add_str(b, "net", p ? p->network : VN_DOMXML_DEFAULT_NET);
	add_str(b, "vm_uuid", dom->uuid);
	add_str(b, "vm_name", dom->name);
	json_builder_set_member_name(b, "policy");
	json_builder_begin_object(b);
	add_policy(b, nic, false);
	json_builder_end_object(b);
	add_kind_settings(b, nic, false);
	(void)notes; /* everything the parser keeps is applied now */
	return req_end(b);
}

/**
 * vn_domxml_port_set() - the `port.set` request giving @nic's port exactly its effective
 * policy. Return: a new node (json_node_unref it).
 */
JsonNode *vn_domxml_port_set(const struct vn_domxml_nic *nic)
{
	JsonBuilder *b = req_begin("port.set", nic->port);

	add_policy(b, nic, true);
	add_kind_settings(b, nic, true);
	return req_end(b);
}

/**
 * vn_domxml_port_set_libvirt() - port.set for @port with what libvirt's elements of @nic
 * state. Return: a new node, or NULL when they state nothing.
 */
JsonNode *vn_domxml_port_set_libvirt(const struct vn_domxml_nic *nic, const char *port)
{
	JsonBuilder *b;

	if (!nic->lv_vlan_mode && !nic->bw_in.average && !nic->bw_out.average)
		return NULL;
	b = req_begin("port.set", port);
	if (nic->lv_vlan_mode) {
		add_str(b, "vlan_mode", nic->lv_vlan_mode);
		if (nic->lv_vlan)
			add_int(b, "vlan", nic->lv_vlan);
		if (nic->lv_vlans)
			add_str(b, "vlans", nic->lv_vlans);
	}
	add_rate(b, "inbound", &nic->bw_in, false);
	add_rate(b, "outbound", &nic->bw_out, false);
	return req_end(b);
}

/** vn_domxml_port_del() - Return: a new node {"cmd": "port.del", "args": {"name": port}}. */
JsonNode *vn_domxml_port_del(const struct vn_domxml_nic *nic)
{
	return req_end(req_begin("port.del", nic->port));
}

/**
 * vn_domxml_nic_requests() - port.add then port.set for @nic, appended to @reqs; notes to
 * @notes (may be NULL).
 */
void vn_domxml_nic_requests(const struct vn_domxml *dom, const struct vn_domxml_nic *nic,
			    GPtrArray *reqs, GPtrArray *notes)
{
	g_ptr_array_add(reqs, vn_domxml_port_add(dom, nic, notes));
	g_ptr_array_add(reqs, vn_domxml_port_set(nic));
}

/** vn_domxml_request_line() - Return: @req as one JSON line without the newline (g_free it). */
char *vn_domxml_request_line(JsonNode *req)
{
	g_autoptr(JsonGenerator) g = json_generator_new();

	json_generator_set_root(g, req);
	return json_generator_to_data(g, NULL);
}

/* SPDX-License-Identifier: MIT */
/* JSON views of the switch for the control protocol: networks, ports, FDB entries. */
#include <errno.h>
#include <string.h>

#include "switch_priv.h"
#include "vnicd/args.h"
#include "vnicd/bridge.h"
#include "vnicd/mac.h"
#include "vnicd/policy.h"
#include "vnicd/uplink.h"

static const char *const label_keys[] = {"vm_uuid", "vm_name", NULL};

static void json_net(struct vn_switch *sw, struct vn_net *n, JsonBuilder *b, bool detail)
{
	struct vn_fdb_stats fs = {0};

	if (n->fdb)
		vn_fdb_get_stats(n->fdb, &fs);
	json_builder_begin_object(b);
	vn_json_str(b, "name", n->name);
	vn_json_str(b, "type", n->kind->name);
	vn_json_int(b, "ports", n->nr_ports);
	vn_json_int(b, "fdb_entries", (gint64)fs.entries);
	sw_json_net_uplink(sw, n, b, detail);
	if (detail) {
		json_builder_set_member_name(b, "port_names");
		json_builder_begin_array(b);
		for (guint i = 0; i < sw->ports->len; i++) {
			struct sw_port *sp = sw->ports->pdata[i];
			if (sp->vnet == n)
				json_builder_add_string_value(b, sp->name);
		}
		json_builder_end_array(b);
		json_builder_set_member_name(b, "fdb");
		json_builder_begin_object(b);
		vn_json_int(b, "entries", (gint64)fs.entries);
		vn_json_int(b, "max", sw->cfg->fdb_max);
		vn_json_int(b, "aging_s", sw->cfg->fdb_aging);
		vn_json_int(b, "learned", (gint64)fs.learned);
		vn_json_int(b, "moved", (gint64)fs.moved);
		vn_json_int(b, "aged", (gint64)fs.aged);
		vn_json_int(b, "limit_hits", (gint64)fs.full);
		vn_json_int(b, "max_per_port", sw->cfg->fdb_max_per_port);
		vn_json_int(b, "learn_rate", sw->cfg->fdb_learn_rate);
		json_builder_set_member_name(b, "ports"); /* each port's share and refusals */
		json_builder_begin_object(b);
		for (guint i = 0; i < sw->ports->len; i++) {
			struct sw_port *sp = sw->ports->pdata[i];
			struct vn_fdb_port_stats ps;
			if (sp->vnet != n || !n->fdb)
				continue;
			vn_fdb_port_stats(n->fdb, sp->slot, &ps);
			json_builder_set_member_name(b, sp->name);
			json_builder_begin_object(b);
			vn_json_int(b, "entries", (gint64)ps.entries);
			vn_json_int(b, "learn_refused", (gint64)ps.refused);
			vn_json_int(b, "learn_throttled", (gint64)ps.throttled);
			json_builder_end_object(b);
		}
		json_builder_end_object(b);
		json_builder_end_object(b);
	}
	json_builder_end_object(b);
}

void vn_switch_json_nets(struct vn_switch *sw, JsonBuilder *b)
{
	json_builder_begin_array(b);
	for (guint i = 0; i < sw->nets->len; i++)
		json_net(sw, sw->nets->pdata[i], b, false);
	sw_pending_json_list(sw, SW_PEND_NET, b);
	json_builder_end_array(b);
}

int vn_switch_json_net(struct vn_switch *sw, const char *name, JsonBuilder *b, GError **err)
{
	struct vn_net *n = name ? find_net(sw, name) : NULL;

	if (!n && sw_pending_json_show(sw, SW_PEND_NET, name, b))
		return 0;
	if (!n)
		SET_ERR(ENOENT, "no network '%s'", name ? name : "");
	json_net(sw, n, b, true);
	return 0;
}

/* Network-kind settings of a port that `port show` reports with its policy (an overlay
 * port's VNI). */
static const char *const policy_kind_keys[] = {"vni", "vni_map", "floating_ip", "forward", NULL};

/* The port's policy as `port show` gives it: the data path's, with the kind's settings. */
static JsonNode *port_policy(struct vn_switch *sw, struct sw_port *sp)
{
	g_autoptr(JsonBuilder) pb = json_builder_new();
	JsonNode *node;
	JsonObject *o;

	vn_policy_describe(vn_dp_policy_get(sw->dp, sp->slot), pb);
	node = json_builder_get_root(pb);
	for (const char *const *k = policy_kind_keys; *k; k++) {
		JsonNode *v = json_object_get_member(sp->args, *k);
		if (!v)
			continue;
		if (!JSON_NODE_HOLDS_OBJECT(node)) {
			json_node_unref(node);
			node = json_node_new(JSON_NODE_OBJECT);
			json_node_take_object(node, json_object_new());
		}
		o = json_node_get_object(node);
		json_object_set_member(o, *k, json_node_copy(v));
	}
	return node;
}

static void json_port(struct vn_switch *sw, struct sw_port *sp, JsonBuilder *b, bool detail)
{
	json_builder_begin_object(b);
	vn_json_str(b, "name", sp->name);
	vn_json_str(b, "kind", sp->kind->name);
	vn_json_str(b, "net", sp->net);
	vn_json_str(b, "mac", sp->mac);
	vn_json_str(b, "link", sp->port && sp->port->ops->link_up(sp->port) ? "up" : "down");
	for (const char *const *k = label_keys; *k; k++) {
		const char *v = NULL;
		vn_arg_str(sp->args, *k, false, &v, NULL);
		vn_json_str(b, *k, v);
	}
	vn_json_bool(b, "announce_pending", sp->ann_pending);
	vn_json_int(b, "announcements", (gint64)sp->announcements);
	json_builder_set_member_name(b, "reflective_relay");
	json_builder_add_boolean_value(
	    b, json_object_get_boolean_member_with_default(sp->args, "reflective_relay", FALSE));
	if (sp->vnet->kind->port_describe)
		sp->vnet->kind->port_describe(sp->vnet, sp->kind == &vn_uplink_kind, b);
	if (sp->port) {
		sp->port->ops->describe(sp->port, b);
	} else { /* validation-only mode: what was asked for */
		for (const char *const *k = sp->kind->keys; *k; k++) {
			JsonNode *v = json_object_get_member(sp->args, *k);
			if (v) {
				json_builder_set_member_name(b, *k);
				json_builder_add_value(b, json_node_copy(v));
			}
		}
		vn_json_int(b, "queues", sp->queues);
	}
	json_builder_set_member_name(b, "policy");
	if (sw->dp && sp->port) {
		json_builder_add_value(b, port_policy(sw, sp));
	} else { /* validation-only mode: the spec as set */
		JsonNode *pn = json_object_get_member(sp->args, "policy");
		if (pn)
			json_builder_add_value(b, json_node_copy(pn));
		else
			json_builder_add_null_value(b);
	}
	if (detail) {
		vn_json_int(b, "slot", sp->slot);
		json_builder_set_member_name(b, "stats");
		json_builder_begin_object(b);
		sw_json_counters(sw, sp, b);
		json_builder_end_object(b);
	}
	json_builder_end_object(b);
}

void vn_switch_json_ports(struct vn_switch *sw, JsonBuilder *b)
{
	json_builder_begin_array(b);
	for (guint i = 0; i < sw->ports->len; i++)
		json_port(sw, sw->ports->pdata[i], b, false);
	sw_pending_json_list(sw, SW_PEND_PORT, b);
	json_builder_end_array(b);
}

int vn_switch_json_port(struct vn_switch *sw, const char *name, JsonBuilder *b, GError **err)
{
	struct sw_port *sp = name ? find_port(sw, name) : NULL;

	if (!sp && sw_pending_json_show(sw, SW_PEND_PORT, name, b))
		return 0;
	if (!sp)
		SET_ERR(ENOENT, "no port '%s'", name ? name : "");
	json_port(sw, sp, b, true);
	return 0;
}

struct fdb_walk_ctx {
	struct vn_switch *sw;
	struct vn_net *net;
	JsonBuilder *b;
};

static int fdb_walk_cb(const struct vn_fdb_entry *e, void *ud)
{
	struct fdb_walk_ctx *c = ud;
	struct sw_port *sp = e->port < VN_MAX_PORTS_HARD ? c->sw->slots[e->port] : NULL;
	char m[VN_MAC_STRLEN];

	vn_mac_format(&e->mac, m);
	json_builder_begin_object(c->b);
	vn_json_str(c->b, "net", c->net->name);
	vn_json_int(c->b, "vlan", e->seg);
	vn_json_str(c->b, "mac", m);
	vn_json_str(c->b, "port", sp ? sp->name : NULL);
	vn_json_str(c->b, "type", e->is_static ? "static" : "dynamic");
	vn_json_int(c->b, "age", e->is_static ? 0 : (gint64)e->age);
	json_builder_end_object(c->b);
	return 0;
}

int vn_switch_json_fdb(struct vn_switch *sw, const char *net, JsonBuilder *b, GError **err)
{
	struct vn_net *only = NULL;
	uint64_t now = vn_dp_now();

	if (net && !(only = find_net(sw, net)))
		SET_ERR(ENOENT, "no network '%s'", net);
	json_builder_begin_array(b);
	for (guint i = 0; i < sw->nets->len; i++) {
		struct vn_net *n = sw->nets->pdata[i];
		struct fdb_walk_ctx c = {sw, n, b};
		if ((only && n != only) || !n->fdb)
			continue;
		vn_fdb_walk(n->fdb, now, fdb_walk_cb, &c);
	}
	json_builder_end_array(b);
	return 0;
}

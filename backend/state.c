/* SPDX-License-Identifier: MIT */
/* Persistence of the switch: networks, ports and static FDB entries in the state file. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_ether.h>

#include "switch_priv.h"
#include "vnicd/args.h"
#include "vnicd/fileio.h"
#include "vnicd/log.h"
#include "vnicd/mac.h"
#include "vnicd/uplink.h"

#define STATE_VERSION 1

static char *state_text(struct vn_switch *sw, gsize *len);

/* The change is written to STATE.latest-N before the reply; the saver makes it durable. */
static int state_put(struct vn_switch *sw, const char *path, GError **err)
{
	gsize len = 0;
	char *text = state_text(sw, &len);

	(void)path; /* the saver's */
	return vn_saver_put(sw->saver, text, len, err);
}

void vn_switch_set_state_file(struct vn_switch *sw, const char *path)
{
	if (vn_saver_free(g_steal_pointer(&sw->saver)) < 0)
		VN_ERR("state: the last change is not saved in %s, only in %s%s*", sw->state_file,
		       sw->state_file, VN_SAVER_LATEST);
	g_free(sw->state_file);
	sw->state_file = g_strdup(path);
	sw->saver = path ? vn_saver_new(path) : NULL;
	sw->save = path ? state_put : NULL;
}

int vn_switch_save(struct vn_switch *sw, const char *path, GError **err)
{
	gsize len = 0;
	g_autofree char *text = state_text(sw, &len);

	return vn_file_write_atomic(path, text, len, err);
}

/* The state as the state file's JSON text, with the next generation (g_free it). */
static char *state_text(struct vn_switch *sw, gsize *len)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(b);
	vn_json_int(b, "version", STATE_VERSION);
	vn_json_int(b, "generation", (gint64)++sw->state_gen);
	json_builder_set_member_name(b, "nets");
	json_builder_begin_array(b);
	for (guint i = 0; i < sw->nets->len; i++) {
		struct vn_net *n = sw->nets->pdata[i];
		struct sw_port *up = sw_net_uplink_port(sw, n);
		json_builder_begin_object(b);
		vn_json_str(b, "name", n->name);
		vn_json_str(b, "type", n->kind->name);
		if (up) {
			const char *d = NULL;
			struct rte_ether_addr orig;
			vn_arg_str(up->args, "devargs", false, &d, NULL);
			vn_json_str(b, "uplink", d);
			if (up->port && vn_uplink_lent_mac(up->port, &orig)) {
				/* a passthru port has it: given back at restart */
				char m[VN_MAC_STRLEN];
				vn_mac_format(&orig, m);
				vn_json_str(b, "uplink_own_mac", m);
			}
		}
		if (n->kind->persist)
			n->kind->persist(n, b);
		json_builder_end_object(b);
	}
	sw_pending_persist(sw, SW_PEND_NET, b);
	json_builder_end_array(b);
	json_builder_set_member_name(b, "ports");
	json_builder_begin_array(b);
	for (guint i = 0; i < sw->ports->len; i++) {
		struct sw_port *sp = sw->ports->pdata[i];
		JsonNode *node;
		if (sp->internal) /* its network makes it again */
			continue;
		node = json_node_new(JSON_NODE_OBJECT);
		json_node_set_object(node, sp->args);
		json_builder_add_value(b, node);
	}
	sw_pending_persist(sw, SW_PEND_UPLINK, b);
	sw_pending_persist(sw, SW_PEND_PORT, b);
	json_builder_end_array(b);
	json_builder_set_member_name(b, "fdb");
	json_builder_begin_array(b);
	for (guint i = 0; i < sw->statics->len; i++) {
		struct sw_static *st = sw->statics->pdata[i];
		json_builder_begin_object(b);
		vn_json_str(b, "mac", st->mac);
		vn_json_str(b, "port", st->port);
		json_builder_end_object(b);
	}
	sw_pending_persist(sw, SW_PEND_FDB, b);
	json_builder_end_array(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	return json_generator_to_data(gen, len);
}

int sw_restore_uplink_settings(struct vn_switch *sw, JsonObject *po, GError **err)
{
	g_autoptr(JsonObject) chg = json_object_new();
	JsonNode *pn = json_object_get_member(po, "policy");
	JsonNode *rr = json_object_get_member(po, "reflective_relay");
	const char *name = vn_obj_str(po, "name");
	struct sw_port *sp = name ? find_port(sw, name) : NULL;

	if (!sp || sp->kind != &vn_uplink_kind)
		SET_ERR(ENOENT, "its network did not make it");
	json_object_set_string_member(chg, "name", name);
	if (pn && JSON_NODE_HOLDS_OBJECT(pn)) {
		g_autoptr(GList) keys = json_object_get_members(json_node_get_object(pn));
		for (GList *l = keys; l; l = l->next)
			json_object_set_member(chg, l->data,
					       json_node_copy(json_object_get_member(
						   json_node_get_object(pn), l->data)));
	}
	if (rr)
		json_object_set_member(chg, "reflective_relay", json_node_copy(rr));
	if (json_object_get_size(chg) == 1)
		return 0;
	return vn_switch_port_set(sw, chg, err);
}

/* Give the uplink of network @net its own MAC @mac back (recorded while it was lent). */
static void restore_uplink_mac(struct vn_switch *sw, const char *net, const char *mac)
{
	g_autoptr(GError) e = NULL;
	struct vn_net *n = net ? find_net(sw, net) : NULL;
	struct rte_ether_addr a;

	if (!n || !n->uplink)
		return;
	if (rte_ether_unformat_addr(mac, &a) < 0 || vn_uplink_reclaim_mac(n->uplink, &a, &e) < 0) {
		VN_ERR("state: network %s: the uplink's own MAC %s not restored: %s", net, mac,
		       e ? e->message : "invalid MAC");
		return;
	}
	sw_uplink_mac_sync(sw_net_uplink_port(sw, n));
	sw_net_sync_uplink(sw, n);
}

/*
 * Make saved object @o now; if that fails it is kept as failed and retried (issue: what
 * fails at start-up is often temporary: a namespace, socket directory or NIC not there
 * yet). Return: 0 if it was made.
 */
static int restore_one(struct vn_switch *sw, enum sw_pending_what what, JsonObject *o, GError **err)
{
	g_autoptr(JsonObject) saved = json_object_ref(o);
	g_autoptr(GError) e = NULL;
	int rc;

	switch (what) {
	case SW_PEND_NET:
		rc = vn_switch_net_create(sw, o, &e);
		break;
	case SW_PEND_UPLINK:
		rc = sw_restore_uplink_settings(sw, o, &e);
		break;
	case SW_PEND_PORT:
		rc = vn_switch_port_add(sw, o, &e);
		break;
	default:
		rc = vn_switch_fdb_add(sw, vn_obj_str(o, "mac"), vn_obj_str(o, "port"), &e);
		break;
	}
	if (rc < 0)
		sw_pending_add(sw, what, saved, e ? e->message : "failed");
	return rc;
}

static int restore_parse(struct vn_switch *sw, JsonNode *root, GError **err)
{
	JsonObject *o;
	JsonArray *nets, *ports, *fdb;

	if (!root || !JSON_NODE_HOLDS_OBJECT(root))
		SET_ERR(EINVAL, "not a JSON object");
	o = json_node_get_object(root);
	if (!json_object_has_member(o, "version") ||
	    json_object_get_int_member(o, "version") != STATE_VERSION)
		SET_ERR(EINVAL, "unknown state version");
	nets = json_object_has_member(o, "nets") ? json_object_get_array_member(o, "nets") : NULL;
	ports =
	    json_object_has_member(o, "ports") ? json_object_get_array_member(o, "ports") : NULL;
	fdb = json_object_has_member(o, "fdb") ? json_object_get_array_member(o, "fdb") : NULL;
	if (!nets || !ports || !fdb)
		SET_ERR(EINVAL, "missing nets, ports or fdb");
	for (guint i = 0; i < json_array_get_length(nets); i++) {
		g_autoptr(GError) e = NULL;
		JsonNode *nn = json_array_get_element(nets, i);
		JsonObject *no = JSON_NODE_HOLDS_OBJECT(nn) ? json_node_get_object(nn) : NULL;
		const char *own = no ? vn_obj_str(no, "uplink_own_mac") : NULL;
		g_autofree char *own_mac = g_strdup(own);
		if (own) /* not a net.add argument */
			json_object_remove_member(no, "uplink_own_mac");
		if (!no || !vn_obj_str(no, "name")) {
			VN_ERR("state: network %u is malformed: dropped", i);
			continue;
		}
		if (restore_one(sw, SW_PEND_NET, no, &e) < 0)
			continue;
		if (own_mac) /* vnicd ended while a passthru port had lent its MAC */
			restore_uplink_mac(sw, vn_obj_str(no, "name"), own_mac);
	}
	for (guint i = 0; i < json_array_get_length(ports); i++) {
		g_autoptr(GError) e = NULL;
		JsonNode *pn = json_array_get_element(ports, i);
		JsonObject *po = JSON_NODE_HOLDS_OBJECT(pn) ? json_node_get_object(pn) : NULL;
		if (po && g_strcmp0(vn_obj_str(po, "kind"), vn_uplink_kind.name) == 0) {
			restore_one(sw, SW_PEND_UPLINK, po, &e); /* made with its network */
			continue;
		}
		if (!po || !vn_obj_str(po, "name")) {
			VN_ERR("state: port %u is malformed: dropped", i);
			continue;
		}
		restore_one(sw, SW_PEND_PORT, po, &e);
	}
	for (guint i = 0; i < json_array_get_length(fdb); i++) {
		g_autoptr(GError) e = NULL;
		JsonNode *fn = json_array_get_element(fdb, i);
		JsonObject *fo = JSON_NODE_HOLDS_OBJECT(fn) ? json_node_get_object(fn) : NULL;
		if (!fo || !vn_obj_str(fo, "mac") || !vn_obj_str(fo, "port")) {
			VN_ERR("state: static FDB entry %u is malformed: dropped", i);
			continue;
		}
		restore_one(sw, SW_PEND_FDB, fo, &e);
	}
	return 0;
}

int vn_switch_restore(struct vn_switch *sw, const char *path, GError **err)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) perr = NULL;
	int rc = 0;

	gint64 latest_gen;

	sw->restoring = true;
	latest_gen = vn_saver_take_latest(path, "state");
	if (latest_gen > 0) /* generations only grow, whatever is restored */
		sw->state_gen = MAX(sw->state_gen, (uint64_t)latest_gen);
	if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
		VN_INFO("no state at %s: starting with the default network %s", path, DEFAULT_NET);
		rc = vn_switch_net_add(sw, DEFAULT_NET, "bridge", err);
		goto out;
	}
	if (!json_parser_load_from_file(parser, path, &perr) ||
	    restore_parse(sw, json_parser_get_root(parser), &perr) < 0) {
		g_autofree char *bad = g_strdup_printf("%s.bad", path);
		rename(path, bad);
		VN_ERR("state file %s is unreadable (%s); kept as %s, starting from defaults", path,
		       perr ? perr->message : "?", bad);
		if (!find_net(sw, DEFAULT_NET))
			rc = vn_switch_net_add(sw, DEFAULT_NET, "bridge", err);
		goto out;
	}
	/* its saves continue the generations */
	sw->state_gen =
	    MAX(sw->state_gen, (uint64_t)vn_json_generation(json_parser_get_root(parser)));
	VN_INFO("restored %u network(s), %u port(s), %u static FDB entr%s from %s", sw->nets->len,
		sw->ports->len, sw->statics->len, sw->statics->len == 1 ? "y" : "ies", path);
out:
	sw->restoring = false;
	if (rc == 0)
		sw_changed(sw);
	return rc;
}

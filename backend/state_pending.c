/* SPDX-License-Identifier: MIT */
/*
 * What the state file holds but start-up could not make (yet): a port whose network
 * namespace, socket directory or device is absent, a network whose uplink NIC is gone.
 * Such an object is kept (saved again, shown as failed with its reason) and retried with
 * back-off until it can be made, or until the operator deletes it.
 */
#include <errno.h>
#include <string.h>

#include "switch_priv.h"
#include "vnicd/args.h"
#include "vnicd/log.h"

#define RETRY_FIRST_S 1
#define RETRY_MAX_S 30

struct sw_pending {
	enum sw_pending_what what;
	char *name;	  /* network or port name; the port of a static FDB entry */
	JsonObject *args; /* as the state file had it (own deep copy) */
	char *reason;
	unsigned retries;
	unsigned backoff_s;
	gint64 next_try; /* g_get_monotonic_time() */
};

static const char *const what_names[] = {
    [SW_PEND_NET] = "network",
    [SW_PEND_UPLINK] = "uplink settings",
    [SW_PEND_PORT] = "port",
    [SW_PEND_FDB] = "static FDB entry",
};

static void pending_free(struct sw_pending *p)
{
	g_free(p->name);
	json_object_unref(p->args);
	g_free(p->reason);
	g_free(p);
}

static JsonObject *obj_copy(JsonObject *o)
{
	g_autoptr(JsonNode) n = json_node_new(JSON_NODE_OBJECT);
	g_autofree char *text = NULL;
	g_autoptr(JsonNode) back = NULL;

	json_node_set_object(n, o);
	text = json_to_string(n, FALSE);
	back = json_from_string(text, NULL);
	return back && JSON_NODE_HOLDS_OBJECT(back) ? json_node_dup_object(back)
						    : json_object_new();
}

void sw_pending_init(struct vn_switch *sw)
{
	sw->pending = g_ptr_array_new_with_free_func((GDestroyNotify)pending_free);
}

static struct sw_pending *pending_find(struct vn_switch *sw, enum sw_pending_what what,
				       const char *name)
{
	for (guint i = 0; sw->pending && i < sw->pending->len; i++) {
		struct sw_pending *p = sw->pending->pdata[i];
		if (p->what == what && g_strcmp0(p->name, name) == 0)
			return p;
	}
	return NULL;
}

void sw_pending_add(struct vn_switch *sw, enum sw_pending_what what, JsonObject *args,
		    const char *reason)
{
	struct sw_pending *p = g_new0(struct sw_pending, 1);
	const char *name = vn_obj_str(args, what == SW_PEND_FDB ? "port" : "name");

	p->what = what;
	p->name = g_strdup(name ? name : "?");
	p->args = obj_copy(args);
	p->reason = g_strdup(reason);
	p->backoff_s = RETRY_FIRST_S;
	p->next_try = g_get_monotonic_time() + (gint64)p->backoff_s * G_USEC_PER_SEC;
	g_ptr_array_add(sw->pending, p);
	VN_WARN("state: %s %s kept as failed (%s); retried until it can be made or is deleted",
		what_names[what], p->name, reason);
}

/* One attempt at @p; 0 when it was made. */
static int pending_try(struct vn_switch *sw, struct sw_pending *p, GError **err)
{
	g_autoptr(JsonObject) a = obj_copy(p->args);
	int rc = -EINVAL;

	sw->restoring = true; /* saved once it left the pending set, never twice */
	switch (p->what) {
	case SW_PEND_NET:
		rc = vn_switch_net_create(sw, a, err);
		break;
	case SW_PEND_UPLINK:
		rc = sw_restore_uplink_settings(sw, a, err);
		break;
	case SW_PEND_PORT:
		rc = vn_switch_port_add(sw, a, err);
		break;
	case SW_PEND_FDB:
		rc = vn_switch_fdb_add(sw, vn_obj_str(a, "mac"), vn_obj_str(a, "port"), err);
		break;
	}
	sw->restoring = false;
	return rc;
}

/* The operator made or deleted the object since: the saved one no longer applies. */
static bool pending_superseded(struct vn_switch *sw, struct sw_pending *p)
{
	switch (p->what) {
	case SW_PEND_NET:
		return find_net(sw, p->name) != NULL;
	case SW_PEND_PORT:
		return find_port(sw, p->name) != NULL;
	default:
		return false;
	}
}

void sw_pending_retry(struct vn_switch *sw)
{
	gint64 now = g_get_monotonic_time();
	bool made = false;

	/* networks first, then what sits on them */
	for (int what = SW_PEND_NET; what <= SW_PEND_FDB; what++) {
		for (guint i = 0; i < sw->pending->len;) {
			struct sw_pending *p = sw->pending->pdata[i];
			g_autoptr(GError) e = NULL;

			if (p->what != (enum sw_pending_what)what || now < p->next_try) {
				i++;
				continue;
			}
			if (pending_superseded(sw, p) || pending_try(sw, p, &e) == 0) {
				VN_INFO("state: %s %s %s after %u retr%s", what_names[p->what],
					p->name, e ? "superseded" : "restored", p->retries + 1,
					p->retries ? "ies" : "y");
				g_ptr_array_remove_index(sw->pending, i);
				made = true;
				continue;
			}
			p->retries++;
			if (g_strcmp0(p->reason, e->message) != 0) {
				VN_WARN("state: %s %s still failed: %s", what_names[p->what],
					p->name, e->message);
				g_free(p->reason);
				p->reason = g_strdup(e->message);
			}
			p->backoff_s = MIN(p->backoff_s * 2, RETRY_MAX_S);
			p->next_try = now + (gint64)p->backoff_s * G_USEC_PER_SEC;
			i++;
		}
	}
	if (made)
		sw_changed(sw);
}

int sw_pending_del(struct vn_switch *sw, enum sw_pending_what what, const char *name)
{
	struct sw_pending *p = pending_find(sw, what, name);

	if (!p)
		return -ENOENT;
	VN_INFO("state: failed %s %s deleted", what_names[what], name);
	g_ptr_array_remove(sw->pending, p);
	/* what was kept for it goes too */
	for (guint i = 0; i < sw->pending->len;) {
		struct sw_pending *q = sw->pending->pdata[i];
		bool gone = (what == SW_PEND_NET && q->what == SW_PEND_UPLINK &&
			     g_strcmp0(vn_obj_str(q->args, "net"), name) == 0) ||
			    (what == SW_PEND_PORT && q->what == SW_PEND_FDB &&
			     g_strcmp0(q->name, name) == 0);
		if (gone)
			g_ptr_array_remove_index(sw->pending, i);
		else
			i++;
	}
	sw_changed(sw);
	return 0;
}

unsigned sw_pending_ports_on(struct vn_switch *sw, const char *net)
{
	unsigned n = 0;

	for (guint i = 0; i < sw->pending->len; i++) {
		struct sw_pending *p = sw->pending->pdata[i];
		n += p->what == SW_PEND_PORT && g_strcmp0(vn_obj_str(p->args, "net"), net) == 0;
	}
	return n;
}

void sw_pending_persist(struct vn_switch *sw, enum sw_pending_what what, JsonBuilder *b)
{
	for (guint i = 0; i < sw->pending->len; i++) {
		struct sw_pending *p = sw->pending->pdata[i];
		JsonNode *node;

		if (p->what != what)
			continue;
		node = json_node_new(JSON_NODE_OBJECT);
		json_node_take_object(node, obj_copy(p->args));
		json_builder_add_value(b, node);
	}
}

/* Saved settings a failed object shows as a made one would (string members). */
static const char *const shown_keys[] = {"uplink", "mac",     "path",	 "ifname",
					 "netns",  "vm_uuid", "vm_name", NULL};

static void pending_json(struct sw_pending *p, JsonBuilder *b, bool detail)
{
	bool net = p->what == SW_PEND_NET;
	const char *sub = vn_obj_str(p->args, net ? "type" : "kind");
	const char *pnet = vn_obj_str(p->args, "net");

	json_builder_begin_object(b);
	vn_json_str(b, "name", p->name);
	vn_json_str(b, net ? "type" : "kind", sub ? sub : "?");
	if (net) {
		vn_json_int(b, "ports", 0);
		vn_json_int(b, "fdb_entries", 0);
	} else {
		vn_json_str(b, "net", pnet ? pnet : DEFAULT_NET);
		vn_json_str(b, "link", "down");
	}
	for (const char *const *k = shown_keys; *k; k++)
		if (vn_obj_str(p->args, *k))
			vn_json_str(b, *k, vn_obj_str(p->args, *k));
	vn_json_str(b, "state", "failed");
	vn_json_str(b, "reason", p->reason);
	vn_json_int(b, "retries", p->retries);
	if (detail) {
		vn_json_int(b, "next_retry_s",
			    MAX(0, (p->next_try - g_get_monotonic_time()) / G_USEC_PER_SEC));
		json_builder_set_member_name(b, "saved");
		json_builder_add_value(b, json_node_init_object(json_node_alloc(), p->args));
	}
	json_builder_end_object(b);
}

void sw_pending_json_list(struct vn_switch *sw, enum sw_pending_what what, JsonBuilder *b)
{
	for (guint i = 0; i < sw->pending->len; i++) {
		struct sw_pending *p = sw->pending->pdata[i];
		if (p->what == what)
			pending_json(p, b, false);
	}
}

bool sw_pending_json_show(struct vn_switch *sw, enum sw_pending_what what, const char *name,
			  JsonBuilder *b)
{
	struct sw_pending *p = name ? pending_find(sw, what, name) : NULL;

	if (!p)
		return false;
	pending_json(p, b, true);
	return true;
}

/* SPDX-License-Identifier: MIT */
/* The libvirt listener's side of the switch: domains' NICs to ports, through the dispatcher. */
#include <errno.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "virt_priv.h"
#include "vnicd/ctl.h"
#include "vnicd/log.h"
#include "vnicd/vhost_hotplug.h"

void virt_dom_free(gpointer p)
{
	struct virt_dom *d = p;

	vn_domxml_free(d->dom);
	g_hash_table_unref(d->alias_port);
	g_free(d);
}

/*
 * Run the request line @line through the control protocol's dispatcher.
 * Return: the "result" member (json_node_unref it; a null node for null), or NULL with
 * *@errmsg (g_free it) when vnicd refused.
 */
static JsonNode *ctl_call(struct vn_virt *v, const char *line, char **errmsg)
{
	g_autofree char *resp = vn_ctl_handle_line(v->sw, line, strlen(line));
	g_autoptr(JsonParser) p = json_parser_new();
	JsonObject *o;
	JsonNode *res;

	if (!json_parser_load_from_data(p, resp, -1, NULL) ||
	    !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))) {
		*errmsg = g_strdup("unreadable response");
		return NULL;
	}
	o = json_node_get_object(json_parser_get_root(p));
	if (!json_object_get_boolean_member_with_default(o, "ok", FALSE)) {
		*errmsg = g_strdup(json_object_get_string_member_with_default(o, "error", "?"));
		return NULL;
	}
	res = json_object_get_member(o, "result");
	return res ? json_node_copy(res) : json_node_new(JSON_NODE_NULL);
}

/* Apply request @req (port.add/port.set/port.del), counting and logging a refusal. */
static bool apply_req(struct vn_virt *v, JsonNode *req, const char *dom_name)
{
	g_autofree char *line = vn_domxml_request_line(req);
	g_autofree char *err = NULL;
	g_autoptr(JsonNode) res = NULL;
	JsonObject *ro = json_node_get_object(req);

	v->st.requests++;
	res = ctl_call(v, line, &err);
	if (!res) {
		v->st.requests_failed++;
		VN_LOG_RL(VN_LOG_WARN, "libvirt: domain %s: %s refused: %s", dom_name,
			  json_object_get_string_member_with_default(ro, "cmd", "?"), err);
		return false;
	}
	VN_DBG("libvirt: domain %s: %s", dom_name, line);
	return true;
}

/* Does port @name exist? Its vm_uuid label into @uuid ("" when it has none). */
static bool port_label(struct vn_virt *v, const char *name, char uuid[VN_DOMXML_UUID_LEN])
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) req = NULL, res = NULL;
	g_autofree char *line = NULL, *err = NULL;
	const char *label;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "cmd");
	json_builder_add_string_value(b, "port.show");
	json_builder_set_member_name(b, "args");
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "name");
	json_builder_add_string_value(b, name);
	json_builder_end_object(b);
	json_builder_end_object(b);
	req = json_builder_get_root(b);
	json_generator_set_root(gen, req);
	line = json_generator_to_data(gen, NULL);
	res = ctl_call(v, line, &err);
	if (!res || !JSON_NODE_HOLDS_OBJECT(res))
		return false;
	label =
	    json_object_get_string_member_with_default(json_node_get_object(res), "vm_uuid", NULL);
	g_strlcpy(uuid, label ? label : "", VN_DOMXML_UUID_LEN);
	return true;
}

/* The naming rule's shape: "<domain>-net<N>". */
static bool rule_name(const char *name)
{
	const char *p = g_strrstr(name, "-net");

	if (!p || p == name || !p[4])
		return false;
	for (p += 4; *p; p++)
		if (!g_ascii_isdigit(*p))
			return false;
	return true;
}

/* Remove port @name when domain @uuid owns it (its label and the naming rule). */
static void remove_owned(struct vn_virt *v, const char *name, const char *uuid,
			 const char *dom_name)
{
	char owner[VN_DOMXML_UUID_LEN];
	struct vn_domxml_nic nic = {0};
	g_autoptr(JsonNode) req = NULL;

	if (!rule_name(name) || !port_label(v, name, owner) || g_ascii_strcasecmp(owner, uuid))
		return;
	g_strlcpy(nic.port, name, sizeof(nic.port));
	req = vn_domxml_port_del(&nic);
	if (apply_req(v, req, dom_name))
		VN_INFO("libvirt: domain %s: port %s removed", dom_name, name);
}

/*
 * Remove the provisional port (vhost_hotplug.h) connected to the socket of @nic, a
 * mode='server' vhost-user NIC whose own port is missing: @nic's port replaces it (QEMU,
 * the socket's server, takes the new connection as after a vnicd restart).
 */
static void release_provisional(struct vn_virt *v, const struct vn_domxml *dom,
				const struct vn_domxml_nic *nic)
{
	g_autofree char *err = NULL;
	g_autoptr(JsonNode) list = NULL;
	JsonArray *a;

	if (nic->type != VN_DOMXML_VHOSTUSER || nic->vnicd_server)
		return;
	list = ctl_call(v, "{\"cmd\":\"port.list\"}", &err);
	if (!list || !JSON_NODE_HOLDS_ARRAY(list))
		return;
	a = json_node_get_array(list);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonObject *p = json_array_get_object_element(a, i);
		const char *name = json_object_get_string_member_with_default(p, "name", "");
		const char *path = json_object_get_string_member_with_default(p, "path", "");
		struct vn_domxml_nic tmp = {0};
		g_autoptr(JsonNode) req = NULL;
		if (!vn_hotplug_port_is_provisional(name) || strcmp(path, nic->path) ||
		    json_object_get_string_member_with_default(p, "vm_uuid", NULL))
			continue;
		g_strlcpy(tmp.port, name, sizeof(tmp.port));
		req = vn_domxml_port_del(&tmp);
		if (apply_req(v, req, dom->name))
			VN_INFO("libvirt: domain %s: provisional port %s gives way to %s",
				dom->name, name, nic->port);
	}
}

/* Create @nic's port when missing, else give it @nic's policy; an operator's port is left. */
static void ensure_nic(struct vn_virt *v, const struct vn_domxml *dom,
		       const struct vn_domxml_nic *nic)
{
	char owner[VN_DOMXML_UUID_LEN];

	if (port_label(v, nic->port, owner)) {
		if (g_ascii_strcasecmp(owner, dom->uuid) != 0) {
			v->st.conflicts++;
			VN_LOG_RL(VN_LOG_WARN,
				  "libvirt: domain %s: port %s exists and is not this domain's "
				  "(vm_uuid '%s'): left alone",
				  dom->name, nic->port, owner);
			return;
		}
		g_autoptr(JsonNode) req = vn_domxml_port_set(nic);
		apply_req(v, req, dom->name);
		return;
	}
	g_autoptr(GPtrArray) reqs = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);
	g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);
	release_provisional(v, dom, nic);
	vn_domxml_nic_requests(dom, nic, reqs, notes);
	for (guint i = 0; i < reqs->len; i++)
		if (!apply_req(v, reqs->pdata[i], dom->name))
			return;
	for (guint i = 0; i < notes->len; i++)
		VN_INFO("libvirt: domain %s: port %s: %s", dom->name, nic->port,
			(char *)notes->pdata[i]);
	VN_INFO("libvirt: domain %s: port %s created", dom->name, nic->port);
}

void virt_announce_domain(struct vn_virt *v, const char *uuid)
{
	struct virt_dom *d = g_hash_table_lookup(v->doms, uuid);

	for (guint i = 0; d && d->dom && i < d->dom->nics->len; i++) {
		const struct vn_domxml_nic *n = d->dom->nics->pdata[i];
		g_autoptr(JsonBuilder) b = json_builder_new();
		g_autoptr(JsonNode) req = NULL;
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "cmd");
		json_builder_add_string_value(b, "port.announce");
		json_builder_set_member_name(b, "args");
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "name");
		json_builder_add_string_value(b, n->port);
		json_builder_end_object(b);
		json_builder_end_object(b);
		req = json_builder_get_root(b);
		if (apply_req(v, req, d->dom->name))
			VN_INFO("libvirt: domain %s moved here: port %s announced", d->dom->name,
				n->port);
	}
}

static bool has_port(const struct vn_domxml *dom, const char *port)
{
	for (guint i = 0; i < dom->nics->len; i++) {
		const struct vn_domxml_nic *n = dom->nics->pdata[i];
		if (strcmp(n->port, port) == 0)
			return true;
	}
	return false;
}

static void rebuild_aliases(struct virt_dom *d)
{
	g_hash_table_remove_all(d->alias_port);
	for (guint i = 0; i < d->dom->nics->len; i++) {
		const struct vn_domxml_nic *n = d->dom->nics->pdata[i];
		if (n->alias)
			g_hash_table_insert(d->alias_port, g_strdup(n->alias), g_strdup(n->port));
	}
}

/* Make the ports match @dom (taken); @old (may be NULL) is what the domain had before. */
static void apply_nics(struct vn_virt *v, struct virt_dom *d, struct vn_domxml *dom)
{
	for (guint i = 0; i < dom->nics->len; i++)
		ensure_nic(v, dom, dom->nics->pdata[i]);
	if (d->dom)
		for (guint i = 0; i < d->dom->nics->len; i++) {
			const struct vn_domxml_nic *n = d->dom->nics->pdata[i];
			if (!has_port(dom, n->port))
				remove_owned(v, n->port, dom->uuid, dom->name);
		}
	if (d->dom != dom)
		vn_domxml_free(d->dom);
	d->dom = dom;
	rebuild_aliases(d);
}

void virt_apply_domain(struct vn_virt *v, const char *uuid, const char *xml)
{
	g_autoptr(GError) err = NULL;
	struct vn_domxml *dom = vn_domxml_parse(xml, strlen(xml), &err);
	struct virt_dom *d;

	if (!dom) {
		v->st.xml_errors++;
		VN_LOG_RL(VN_LOG_WARN, "libvirt: domain %s: XML not applied: %s", uuid,
			  err ? err->message : "?");
		return;
	}
	d = g_hash_table_lookup(v->doms, dom->uuid);
	if (!d) {
		if (g_hash_table_size(v->doms) >= VN_VIRT_MAX_DOMAINS) {
			v->st.libvirt_errors++;
			VN_LOG_RL(VN_LOG_WARN, "libvirt: more than %u running domains: %s ignored",
				  VN_VIRT_MAX_DOMAINS, dom->name);
			vn_domxml_free(dom);
			return;
		}
		d = g_new0(struct virt_dom, 1);
		g_strlcpy(d->uuid, dom->uuid, sizeof(d->uuid));
		d->alias_port = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
		g_hash_table_insert(v->doms, d->uuid, d);
	}
	apply_nics(v, d, dom);
}

bool virt_apply_metadata(struct vn_virt *v, const char *uuid, const char *meta)
{
	struct virt_dom *d = g_hash_table_lookup(v->doms, uuid);
	g_autoptr(GError) err = NULL;
	g_autoptr(GPtrArray) before = g_ptr_array_new_with_free_func(g_free);

	if (!d || !d->dom)
		return false;
	for (guint i = 0; i < d->dom->nics->len; i++)
		g_ptr_array_add(before,
				g_strdup(((struct vn_domxml_nic *)d->dom->nics->pdata[i])->port));
	if (vn_domxml_set_metadata(d->dom, meta, meta ? strlen(meta) : 0, &err) < 0) {
		v->st.xml_errors++;
		VN_LOG_RL(VN_LOG_WARN, "libvirt: domain %s: policy metadata not applied: %s",
			  d->dom->name, err ? err->message : "?");
		return true;
	}
	VN_INFO("libvirt: domain %s: policy metadata changed", d->dom->name);
	for (guint i = 0; i < d->dom->nics->len; i++)
		ensure_nic(v, d->dom, d->dom->nics->pdata[i]);
	for (guint i = 0; i < before->len; i++) /* an ethernet NIC the policy no longer names */
		if (!has_port(d->dom, before->pdata[i]))
			remove_owned(v, before->pdata[i], d->dom->uuid, d->dom->name);
	rebuild_aliases(d);
	return true;
}

/* Every port (name, vm_uuid) through the dispatcher: a port.list result. */
static JsonNode *port_list(struct vn_virt *v)
{
	g_autofree char *err = NULL;
	JsonNode *res = ctl_call(v, "{\"cmd\":\"port.list\"}", &err);

	if (res && !JSON_NODE_HOLDS_ARRAY(res))
		g_clear_pointer(&res, json_node_unref);
	return res;
}

/* Remove the listener's ports whose domain is @uuid, or (@uuid NULL) not in @running. */
static void sweep(struct vn_virt *v, const char *uuid, GHashTable *running)
{
	g_autoptr(JsonNode) ports = port_list(v);
	JsonArray *a = ports ? json_node_get_array(ports) : NULL;

	for (guint i = 0; a && i < json_array_get_length(a); i++) {
		JsonObject *o = json_array_get_object_element(a, i);
		const char *name = json_object_get_string_member_with_default(o, "name", NULL);
		const char *pu = json_object_get_string_member_with_default(o, "vm_uuid", NULL);
		const char *pn = json_object_get_string_member_with_default(o, "vm_name", NULL);
		g_autofree char *lower = pu ? g_ascii_strdown(pu, -1) : NULL;

		if (!name || !lower || !*lower)
			continue;
		if (uuid ? strcmp(lower, uuid) != 0 : g_hash_table_contains(running, lower))
			continue;
		remove_owned(v, name, lower, pn && *pn ? pn : lower);
	}
}

void virt_domain_gone(struct vn_virt *v, const char *uuid)
{
	g_autofree char *lower = g_ascii_strdown(uuid, -1);

	sweep(v, lower, NULL);
	g_hash_table_remove(v->doms, lower);
}

void virt_device_removed(struct vn_virt *v, const char *uuid, const char *alias)
{
	g_autofree char *lower = g_ascii_strdown(uuid, -1);
	struct virt_dom *d = g_hash_table_lookup(v->doms, lower);
	const char *port = d ? g_hash_table_lookup(d->alias_port, alias) : NULL;

	if (!port)
		return; /* not a NIC vnicd serves */
	remove_owned(v, port, lower, d->dom->name);
	g_hash_table_remove(d->alias_port, alias);
}

void virt_reconcile(struct vn_virt *v, GPtrArray *snaps)
{
	g_autoptr(GHashTable) running =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	GHashTableIter it;
	gpointer key;

	v->st.reconciles++;
	for (guint i = 0; i < snaps->len; i++) {
		struct virt_snap *s = snaps->pdata[i];
		g_hash_table_add(running, g_ascii_strdown(s->uuid, -1));
		virt_apply_domain(v, s->uuid, s->xml);
	}
	g_hash_table_iter_init(&it, v->doms);
	while (g_hash_table_iter_next(&it, &key, NULL))
		if (!g_hash_table_contains(running, key))
			g_hash_table_iter_remove(&it);
	sweep(v, NULL, running);
}

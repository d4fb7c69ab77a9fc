/* SPDX-License-Identifier: MIT */
/* The switch model on the control thread: networks, ports, static FDB entries; publication. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_ether.h>

#include "switch_priv.h"
#include "vnicd/args.h"
#include "vnicd/bridge.h"
#include "vnicd/log.h"
#include "vnicd/mac.h"
#include "vnicd/net.h"
#include "vnicd/policy.h"
#include "vnicd/uplink.h"
#include "vnicd/vhost.h"

static void sw_port_free(struct sw_port *sp)
{
	g_free(sp->name);
	g_free(sp->net);
	g_free(sp->mac);
	if (sp->args)
		json_object_unref(sp->args);
	g_free(sp);
}

static void sw_static_free(struct sw_static *st)
{
	g_free(st->mac);
	g_free(st->port);
	g_free(st);
}

struct vn_switch *vn_switch_new(const struct vn_config *cfg, struct vn_dp *dp,
				struct rte_mempool *mp)
{
	struct vn_switch *sw = g_new0(struct vn_switch, 1);

	sw->cfg = cfg;
	sw->dp = dp;
	sw->mp = mp;
	sw->nets = g_ptr_array_new();
	sw->ports = g_ptr_array_new();
	sw->statics = g_ptr_array_new_with_free_func((GDestroyNotify)sw_static_free);
	sw->ledger = vn_ledger_new(cfg->ledger_max);
	sw_pending_init(sw);
	sw_host_init(sw);
	return sw;
}

void sw_publish(struct vn_switch *sw)
{
	if (sw->dp)
		vn_dp_commit(sw->dp);
}

void vn_switch_free(struct vn_switch *sw)
{
	if (!sw)
		return;
	vn_switch_set_state_file(sw, NULL); /* the pending save first; none while tearing down */
	sw_announce_stop(sw);
	/* unpublish everything once, then destroy the ports */
	if (sw->dp) {
		for (unsigned s = 0; s < VN_MAX_PORTS_HARD; s++)
			vn_dp_slot_set(sw->dp, (uint16_t)s, NULL);
		vn_dp_commit(sw->dp);
	}
	for (guint i = 0; i < sw->ports->len; i++) {
		struct sw_port *sp = sw->ports->pdata[i];
		if (sp->port)
			sp->port->ops->destroy(sp->port);
		sw_port_free(sp);
	}
	sw->host.closing = true; /* kinds free what they made, touching nothing else */
	for (guint i = sw->nets->len; i-- > 0;) /* an overlay before its underlay */
		((struct vn_net *)sw->nets->pdata[i])->kind->destroy(sw->nets->pdata[i]);
	g_ptr_array_free(sw->ports, TRUE);
	g_ptr_array_free(sw->nets, TRUE);
	g_ptr_array_free(sw->statics, TRUE);
	g_ptr_array_free(sw->pending, TRUE);
	vn_switch_ledger_close(sw);
	vn_ledger_free(sw->ledger);
	g_free(sw->ledger_file);
	g_free(sw->ledger_recovered);
	g_free(sw);
}

bool vn_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len >= VN_NAME_MAX || name[0] == '-' || name[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!g_ascii_isalnum(name[i]) && !strchr("_.-", name[i]))
			return false;
	return true;
}

static const struct vn_port_kind *const kinds[] = {&vn_vhost_kind, &vn_tap_kind, &vn_vnet_kind};

static const struct vn_port_kind *find_kind(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++)
		if (strcmp(kinds[i]->name, name) == 0)
			return kinds[i];
	return NULL;
}

static const char *const common_keys[] = {"name",    "kind",	"net",	  "mac", "queues",
					  "vm_uuid", "vm_name", "policy", NULL};

/* A copy of the (flat) @args with defaults made explicit (net, queues), for persistence. */
static JsonObject *normalise_args(JsonObject *args, const char *net, unsigned queues)
{
	JsonObject *o = json_object_new();
	g_autoptr(GList) keys = json_object_get_members(args);

	for (GList *l = keys; l; l = l->next)
		json_object_set_member(o, l->data,
				       json_node_copy(json_object_get_member(args, l->data)));
	json_object_set_string_member(o, "net", net);
	json_object_set_int_member(o, "queues", queues);
	return o;
}

static char *kinds_list(void)
{
	GString *s = g_string_new(NULL);

	for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++)
		g_string_append_printf(s, "%s%s", i ? ", " : "", kinds[i]->name);
	return g_string_free(s, FALSE);
}

/* The port's normalised policy spec (the "policy" member of its args), or NULL. */
static JsonObject *port_spec(struct sw_port *sp)
{
	JsonNode *n = json_object_get_member(sp->args, "policy");

	return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

/* Build the policy of @sp from @spec and hand it to the data path (no-op without one). */
static int port_apply_policy(struct vn_switch *sw, struct sw_port *sp, JsonObject *spec,
			     GError **err)
{
	struct vn_port_policy *pol = NULL;
	int rc;

	if (!sw->dp || !sp->port)
		return 0;
	rc = vn_policy_build(spec, sp->port->has_mac ? &sp->port->mac : NULL,
			     sp->kind == &vn_uplink_kind, vn_dp_policy_get(sw->dp, sp->slot), &pol,
			     err);
	if (rc < 0)
		return rc;
	if (pol || vn_dp_policy_get(sw->dp, sp->slot))
		vn_dp_policy_set(sw->dp, sp->slot, pol);
	return 0;
}

/* A checked `port add` request: its arguments, kind, network and MAC. */
struct port_req {
	const char *name, *netname, *macs, *vm_uuid, *vm_name;
	const struct vn_port_kind *kind;
	guint64 queues;
	struct rte_ether_addr mac;
	struct vn_net *n;
	char inherited[VN_MAC_STRLEN]; /* a MAC the network gave the port */
	JsonObject *spec;	       /* its normalised policy, or NULL (owned) */
};

/* Every argument is a common one, the port kind's, or some network kind's. */
static int port_keys_check(JsonObject *args, const struct vn_port_kind *kind, GError **err)
{
	g_autoptr(GList) keys = json_object_get_members(args);

	for (GList *l = keys; l; l = l->next) {
		const char *k = l->data;
		if (vn_net_kind_of_port_key(k))
			continue;
		if (vn_key_listed(k, common_keys) || vn_key_listed(k, kind->keys))
			continue;
		g_autofree char *opt = g_strdelimit(g_strdup(k), "_", '-');
		SET_ERR(EINVAL, "option --%s does not apply to %s ports", opt, kind->name);
	}
	return 0;
}

/*
 * Network-kind arguments of @args for a port of network @n: those of another kind are
 * refused, when set (@set_only false: a `port add` may carry them as false) or at all.
 */
static int port_net_keys_check(struct vn_net *n, JsonObject *args, bool any_value, GError **err)
{
	g_autoptr(GList) keys = json_object_get_members(args);

	for (GList *l = keys; l; l = l->next) {
		const struct vn_net_kind *owner = vn_net_kind_of_port_key(l->data);
		JsonNode *v = json_object_get_member(args, l->data);
		if (!owner || owner == n->kind)
			continue;
		if (!any_value && JSON_NODE_HOLDS_VALUE(v) &&
		    json_node_get_value_type(v) == G_TYPE_BOOLEAN && !json_node_get_boolean(v))
			continue;
		g_autofree char *opt = g_strdelimit(g_strdup(l->data), "_", '-');
		SET_ERR(EINVAL, "--%s applies to ports of %s networks ('%s' is a %s network)", opt,
			owner->name, n->name, n->kind->name);
	}
	return 0;
}

/* A port's --mtu (libvirt's <mtu size=>) fits what network @n carries. */
static int port_mtu_check(struct vn_switch *sw, struct vn_net *n, JsonObject *args, GError **err)
{
	guint64 mtu = 0;
	unsigned max;

	if (!json_object_has_member(args, "mtu") ||
	    vn_arg_uint(args, "mtu", 68, 65535, &mtu, NULL) < 0 || !mtu)
		return 0; /* absent, or the kind's check refuses it */
	max = sw_net_guest_mtu(sw, n);
	if (max && mtu > max)
		SET_ERR(EINVAL, "--mtu %u is larger than network '%s' carries (%u)", (unsigned)mtu,
			n->name, max);
	return 0;
}

/* The plain arguments: name, kind, labels, queues, MAC; the kind's own check. */
static int port_req_args(struct vn_switch *sw, JsonObject *args, const struct vn_port_kind *own,
			 struct port_req *r, GError **err)
{
	const char *kname;
	int rc;

	if ((rc = vn_arg_str(args, "name", true, &r->name, err)) < 0 ||
	    (rc = vn_arg_str(args, "kind", true, &kname, err)) < 0 ||
	    (rc = vn_arg_str(args, "net", false, &r->netname, err)) < 0 ||
	    (rc = vn_arg_str(args, "mac", false, &r->macs, err)) < 0 ||
	    (rc = vn_arg_uint(args, "queues", 1, VN_MAX_QUEUES, &r->queues, err)) < 0 ||
	    (rc = vn_arg_str(args, "vm_uuid", false, &r->vm_uuid, err)) < 0 ||
	    (rc = vn_arg_str(args, "vm_name", false, &r->vm_name, err)) < 0)
		return rc;
	if (r->vm_uuid && !vn_uuid_valid(r->vm_uuid))
		SET_ERR(EINVAL, "invalid --vm-uuid '%s' (expected 8-4-4-4-12 hex digits)",
			r->vm_uuid);
	if (r->vm_name &&
	    (!*r->vm_name || strlen(r->vm_name) > 200 || !g_utf8_validate(r->vm_name, -1, NULL)))
		SET_ERR(EINVAL, "invalid --vm-name (1-200 characters of UTF-8)");
	if (!vn_name_valid(r->name))
		SET_ERR(EINVAL, "invalid port name '%s' (1-31 characters of A-Z a-z 0-9 _ . -)",
			r->name);
	if (find_port(sw, r->name))
		SET_ERR(EEXIST, "port '%s' already exists", r->name);
	r->kind = own ? own : find_kind(kname);
	if (!r->kind && strcmp(kname, vn_uplink_kind.name) == 0)
		SET_ERR(EINVAL, "uplinks are made with their network: vnicctl net add NAME "
				"bridge|macvtap --uplink DEVARGS");
	if (!r->kind) {
		g_autofree char *l = kinds_list();
		SET_ERR(EINVAL, "unsupported port kind '%s' (supported: %s)", kname, l);
	}
	if ((rc = port_keys_check(args, r->kind, err)) < 0 ||
	    (rc = r->kind->check(args, sw->cfg, err)) < 0)
		return rc;
	return 0;
}

/* The network, what its kind asks of a port, the policy, and --unique-key uniqueness. */
static int port_req_net(struct vn_switch *sw, JsonObject *args, const struct vn_port_kind *own,
			struct port_req *r, GError **err)
{
	const char *uniq = NULL;
	int rc;

	if (!r->netname)
		r->netname = DEFAULT_NET;
	r->n = find_net(sw, r->netname);
	if (!r->n)
		SET_ERR(ENOENT, "no network '%s' (see: vnicctl net list)", r->netname);
	if (r->macs && vn_mac_parse(r->macs, &r->mac) < 0)
		SET_ERR(EINVAL, "invalid MAC address '%s' (expected aa:bb:cc:dd:ee:ff)", r->macs);
	if (r->macs && !rte_is_valid_assigned_ether_addr(&r->mac))
		SET_ERR(EINVAL, "MAC address '%s' is not a unicast address", r->macs);
	if (!own && (rc = port_net_keys_check(r->n, args, false, err)) < 0)
		return rc;
	if (!own && r->n->kind->join_check) {
		g_autoptr(GArray) m = sw_net_members(sw, r->n);
		rc = r->n->kind->join_check(r->n, (struct vn_net_member *)(void *)m->data, m->len,
					    args, &r->macs, r->inherited, err);
		if (rc < 0)
			return rc;
	}
	if (*r->inherited)
		vn_mac_parse(r->inherited, &r->mac);
	if ((rc = port_mtu_check(sw, r->n, args, err)) < 0)
		return rc;
	if (json_object_has_member(args, "policy")) {
		JsonNode *pn = json_object_get_member(args, "policy");
		if (!JSON_NODE_HOLDS_OBJECT(pn))
			SET_ERR(EINVAL, "'policy' must be an object of port set settings");
		if ((rc = vn_policy_spec_merge(NULL, json_node_get_object(pn), r->macs != NULL,
					       &r->spec, err)) < 0)
			return rc;
	}
	if (r->kind->unique_key)
		vn_arg_str(args, r->kind->unique_key, false, &uniq, NULL);
	for (guint i = 0; uniq && i < sw->ports->len; i++) {
		struct sw_port *o = sw->ports->pdata[i];
		const char *ov = NULL;
		if (o->kind != r->kind)
			continue;
		vn_arg_str(o->args, r->kind->unique_key, false, &ov, NULL);
		if (ov && strcmp(ov, uniq) == 0) {
			g_autofree char *opt =
			    g_strdelimit(g_strdup(r->kind->unique_key), "_", '-');
			SET_ERR(EEXIST, "--%s '%s' is already used by port '%s'", opt, uniq,
				o->name);
		}
	}
	return 0;
}

/* A free slot within the limits. Return: the slot, or -errno (@err). */
static int port_slot(struct vn_switch *sw, GError **err)
{
	if (sw->ports->len >= sw->cfg->max_ports) {
		sw->ports_limit_hits++;
		SET_ERR(ENOSPC, "port limit reached (max_ports = %u)", sw->cfg->max_ports);
	}
	for (unsigned s = 0; s < VN_MAX_PORTS_HARD; s++)
		if (!sw->slots[s] && !sw->reserved[s])
			return (int)s;
	SET_ERR(ENOSPC, "no free port slot");
}

/*
 * Create the port of request @r at @slot from its normalised @args and join it to its
 * network (its slot's facts staged, not yet published). Return: 0 and *@out, or -errno
 * (@err) with nothing left behind.
 */
static int port_make(struct vn_switch *sw, struct port_req *r, JsonObject *args, uint16_t slot,
		     bool uplink, struct vn_port **out, GError **err)
{
	struct vn_port_env env = {sw->cfg, sw->mp, sw->dp};
	struct vn_slot s = {.net = r->n, .locality = uplink ? VN_LOC_EXTERNAL : VN_LOC_LOCAL};
	struct vn_port *port = NULL;
	int rc = r->kind->create(r->name, args, &env, &port, err);

	if (rc < 0)
		return rc;
	port->slot = slot;
	port->tx_shared = vn_dp_nr_workers(sw->dp) > 1;
	if (r->macs) {
		port->has_mac = true;
		port->mac = r->mac;
	}
	s.port = port;
	if ((rc = r->n->kind->join(r->n, port, &s, args, err)) < 0) {
		port->deleting = true;
		port->ops->destroy(port);
		return rc;
	}
	vn_dp_slot_set(sw->dp, slot, &s);
	*out = port;
	return 0;
}

/* port.add; @own: the kind when the switch makes the port itself (an uplink), else NULL. */
int sw_port_add(struct vn_switch *sw, JsonObject *args, const struct vn_port_kind *own,
		GError **err)
{
	struct port_req r = {.queues = 1};
	g_autoptr(JsonObject) spec = NULL;
	g_autofree char *summary = NULL;
	g_autoptr(GError) pe = NULL;
	struct vn_port *port = NULL;
	struct sw_port *sp;
	int slot, rc;

	rc = port_req_args(sw, args, own, &r, err);
	if (rc == 0)
		rc = port_req_net(sw, args, own, &r, err);
	spec = r.spec;
	if (rc < 0 || (slot = rc = port_slot(sw, err)) < 0)
		return rc;
	sp = g_new0(struct sw_port, 1);
	sp->args = normalise_args(args, r.netname, (unsigned)r.queues);
	json_object_remove_member(sp->args, "policy");
	if (spec && json_object_get_size(spec))
		json_object_set_object_member(sp->args, "policy", json_object_ref(spec));
	if (*r.inherited) /* a passthru port takes the uplink's MAC, as the kernel's does */
		json_object_set_string_member(sp->args, "mac", r.inherited);
	if (sw->dp && (rc = port_make(sw, &r, sp->args, (uint16_t)slot, own == &vn_uplink_kind,
				      &port, err)) < 0) {
		sw_port_free(sp);
		return rc;
	}
	sp->name = g_strdup(r.name);
	sp->kind = r.kind;
	sp->net = g_strdup(r.netname);
	sp->mac = r.macs ? g_ascii_strdown(r.macs, -1) : NULL;
	sp->queues = (unsigned)r.queues;
	sp->slot = (uint16_t)slot;
	sp->port = port;
	sp->vnet = r.n;
	if (sw->dp)
		vn_dp_port_counters(sw->dp, sp->slot, &sp->base);
	sp->acct = vn_ledger_attach(sw->ledger, r.vm_uuid, r.name, r.vm_name);
	sw->slots[slot] = sp;
	g_ptr_array_add(sw->ports, sp);
	r.n->nr_ports++;
	if (port_apply_policy(sw, sp, spec, &pe) < 0) /* a valid spec builds: unexpected */
		VN_ERR("port %s: policy not applied: %s", r.name, pe->message);
	sw_publish(sw);
	if (own != &vn_uplink_kind)
		sw_net_sync_uplink(sw, r.n);
	summary = r.kind->summary(sp->args);
	vn_log_ctx(VN_LOG_INFO,
		   &(struct vn_log_ctx){sp->name, r.netname, r.vm_name ? r.vm_name : r.vm_uuid},
		   "port %s (%s, %u queue%s) added to %s", sp->name, summary, sp->queues,
		   sp->queues > 1 ? "s" : "", r.netname);
	sw_changed(sw);
	return 0;
}

int vn_switch_port_add(struct vn_switch *sw, JsonObject *args, GError **err)
{
	return sw_port_add(sw, args, NULL, err);
}

int vn_switch_port_add_kind(struct vn_switch *sw, JsonObject *args, const struct vn_port_kind *kind,
			    GError **err)
{
	return sw_port_add(sw, args, kind, err);
}

int vn_switch_port_slot(struct vn_switch *sw, const char *name)
{
	struct sw_port *sp = find_port(sw, name);

	return sp ? sp->slot : -ENOENT;
}

struct vn_dp *vn_switch_dp(struct vn_switch *sw)
{
	return sw->dp;
}

int vn_switch_port_del(struct vn_switch *sw, const char *name, GError **err)
{
	struct sw_port *sp = name ? find_port(sw, name) : NULL;

	if (!sp && name && sw_pending_del(sw, SW_PEND_PORT, name) == 0)
		return 0;
	if (!sp)
		SET_ERR(ENOENT, "no port '%s'", name ? name : "");
	if (sp->kind == &vn_uplink_kind)
		SET_ERR(EBUSY,
			"port '%s' is the uplink of network '%s': it goes with the network "
			"(vnicctl net del %s)",
			name, sp->net, sp->net);
	if (sp->internal)
		SET_ERR(EBUSY,
			"port '%s' is the local VTEP of network '%s': it goes with the "
			"overlays on that network",
			name, sp->net);
	sw_port_del(sw, sp);
	return 0;
}

/* Unpublish, forget and destroy @sp; the network's uplink follows the change. */
void sw_port_del(struct vn_switch *sw, struct sw_port *sp)
{
	struct vn_net *n = sp->vnet;
	bool guest = sp->kind != &vn_uplink_kind;

	sw->slots[sp->slot] = NULL;
	if (sw->dp && vn_dp_capture_get(sw->dp, sp->slot))
		vn_dp_capture_set(sw->dp, sp->slot, NULL); /* its capture ends: "port removed" */
	if (sw->dp)
		vn_dp_slot_set(sw->dp, sp->slot, NULL);
	sw_publish(sw); /* waits until no worker can see the port */
	if (sw->dp && vn_dp_policy_get(sw->dp, sp->slot))
		vn_dp_policy_set(sw->dp, sp->slot, NULL);
	if (sp->port)
		n->kind->leave(n, sp->port, sp->slot, guest);
	for (guint i = 0; i < sw->statics->len;) {
		struct sw_static *st = sw->statics->pdata[i];
		if (strcmp(st->port, sp->name) == 0)
			g_ptr_array_remove_index(sw->statics, i);
		else
			i++;
	}
	if (sp->port) {
		sp->port->deleting = true;
		sp->port->ops->destroy(sp->port);
	}
	{
		struct vn_port_counters live;
		sw_port_live(sw, sp, &live);
		vn_ledger_detach(sw->ledger, sp->acct, &live);
	}
	n->nr_ports--;
	g_ptr_array_remove(sw->ports, sp);
	vn_log_ctx(VN_LOG_INFO, &(struct vn_log_ctx){.port = sp->name, .net = sp->net},
		   "port %s deleted", sp->name);
	sw_port_free(sp);
	if (guest)
		sw_net_sync_uplink(sw, n);
	sw_changed(sw);
}

/*
 * The network kind's settings in `port set` @chg (`--reflective-relay on|off` of bridge
 * ports): applied to the port's slot and published, kept in its arguments, and taken out
 * of @chg. Settings of another kind than the port's network's are refused.
 */
static int port_set_kind(struct vn_switch *sw, struct sw_port *sp, JsonObject *chg, GError **err)
{
	g_autoptr(JsonObject) kc = json_object_new();
	g_autoptr(GList) keys = json_object_get_members(chg);
	struct vn_net *n = sp->vnet;
	struct vn_slot s = {0};
	int rc;

	if ((rc = port_net_keys_check(n, chg, true, err)) < 0)
		return rc;
	for (GList *l = keys; l; l = l->next)
		if (vn_net_kind_of_port_key(l->data))
			json_object_set_member(
			    kc, l->data, json_node_copy(json_object_get_member(chg, l->data)));
	if (json_object_get_size(kc) == 0)
		return 0;
	if (sw->dp && sp->port)
		s = *vn_dp_slot(sw->dp, sp->slot);
	if ((rc = n->kind->port_set(n, sp->port, &s, kc, err)) < 0)
		return rc;
	if (sw->dp && sp->port) {
		vn_dp_slot_set(sw->dp, sp->slot, &s);
		vn_dp_commit(sw->dp);
	}
	for (GList *l = keys; l; l = l->next) {
		JsonNode *v = json_object_get_member(chg, l->data);
		if (!json_object_has_member(kc, l->data))
			continue;
		if (JSON_NODE_HOLDS_VALUE(v) && json_node_get_value_type(v) == G_TYPE_BOOLEAN &&
		    !json_node_get_boolean(v))
			json_object_remove_member(sp->args, l->data);
		else
			json_object_set_member(sp->args, l->data, json_node_copy(v));
		if (JSON_NODE_HOLDS_VALUE(v) && json_node_get_value_type(v) == G_TYPE_BOOLEAN)
			VN_INFO("port %s: %s %s", sp->name, (const char *)l->data,
				json_node_get_boolean(v) ? "on" : "off");
		else if (JSON_NODE_HOLDS_VALUE(v) && json_node_get_value_type(v) == G_TYPE_INT64)
			VN_INFO("port %s: %s %" G_GINT64_FORMAT, sp->name, (const char *)l->data,
				json_node_get_int(v));
		json_object_remove_member(chg, l->data);
	}
	sw_net_sync_uplink(sw, n);
	return 0;
}

int vn_switch_port_set(struct vn_switch *sw, JsonObject *args, GError **err)
{
	g_autoptr(JsonObject) chg = json_object_new();
	g_autoptr(JsonObject) spec = NULL;
	g_autoptr(GList) keys = NULL;
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
	g_autofree char *text = NULL;
	const char *name;
	struct sw_port *sp;
	int rc;

	if ((rc = vn_arg_str(args, "name", true, &name, err)) < 0)
		return rc;
	sp = find_port(sw, name);
	if (!sp)
		SET_ERR(ENOENT, "no port '%s'", name);
	keys = json_object_get_members(args);
	for (GList *l = keys; l; l = l->next)
		if (strcmp(l->data, "name") != 0)
			json_object_set_member(
			    chg, l->data, json_node_copy(json_object_get_member(args, l->data)));
	if (json_object_get_size(chg) == 0)
		SET_ERR(EINVAL, "port set %s: nothing to set (see vnicctl --help)", name);
	if ((rc = port_set_kind(sw, sp, chg, err)) < 0)
		return rc;
	if (json_object_get_size(chg) == 0) { /* nothing for the policy */
		sw_changed(sw);
		return 0;
	}
	if ((rc = vn_policy_spec_merge(port_spec(sp), chg, sp->mac != NULL, &spec, err)) < 0 ||
	    (rc = port_apply_policy(sw, sp, spec, err)) < 0)
		return rc;
	json_object_remove_member(sp->args, "policy");
	if (json_object_get_size(spec))
		json_object_set_object_member(sp->args, "policy", json_object_ref(spec));
	json_node_set_object(node, spec);
	json_generator_set_root(gen, node);
	text = json_generator_to_data(gen, NULL);
	vn_log_ctx(VN_LOG_INFO, &(struct vn_log_ctx){.port = name}, "port %s: policy %s", name,
		   text);
	sw_changed(sw);
	return 0;
}

int vn_switch_fdb_add(struct vn_switch *sw, const char *mac, const char *port, GError **err)
{
	struct rte_ether_addr a;
	struct sw_port *sp;
	struct sw_static *st;
	char norm[VN_MAC_STRLEN];
	int rc;

	if (!mac || vn_mac_parse(mac, &a) < 0)
		SET_ERR(EINVAL, "invalid MAC address '%s' (expected aa:bb:cc:dd:ee:ff)",
			mac ? mac : "");
	if (!rte_is_valid_assigned_ether_addr(&a))
		SET_ERR(EINVAL, "MAC address '%s' is not a unicast address", mac);
	sp = port ? find_port(sw, port) : NULL;
	if (!sp)
		SET_ERR(ENOENT, "no port '%s'", port ? port : "");
	if (sp->vnet->kind->fdb_check && (rc = sp->vnet->kind->fdb_check(sp->vnet, false, err)) < 0)
		return rc;
	if (sp->vnet->fdb && vn_fdb_add_static(sp->vnet->fdb, 0, &a, sp->slot, vn_dp_now()) < 0)
		SET_ERR(ENOSPC, "the FDB of network '%s' is full (fdb_max = %u)", sp->net,
			sw->cfg->fdb_max);
	vn_mac_format(&a, norm);
	for (guint i = 0; i < sw->statics->len; i++) {
		st = sw->statics->pdata[i];
		struct sw_port *o = find_port(sw, st->port);
		if (strcmp(st->mac, norm) == 0 && o && o->vnet == sp->vnet) {
			g_free(st->port);
			st->port = g_strdup(port);
			sw_changed(sw);
			return 0;
		}
	}
	st = g_new0(struct sw_static, 1);
	st->mac = g_strdup(norm);
	st->port = g_strdup(port);
	g_ptr_array_add(sw->statics, st);
	sw_changed(sw);
	return 0;
}

int vn_switch_fdb_flush(struct vn_switch *sw, const char *net, GError **err)
{
	struct vn_net *only = NULL;
	int removed = 0;

	if (net && !(only = find_net(sw, net)))
		SET_ERR(ENOENT, "no network '%s'", net);
	if (only && only->kind->fdb_check && (removed = only->kind->fdb_check(only, true, err)) < 0)
		return removed;
	for (guint i = 0; i < sw->nets->len; i++) {
		struct vn_net *n = sw->nets->pdata[i];
		if ((only && n != only) || !n->fdb ||
		    (n->kind->fdb_check && n->kind->fdb_check(n, true, NULL) < 0))
			continue;
		removed += (int)vn_fdb_flush(n->fdb, -1, true);
	}
	for (guint i = 0; i < sw->statics->len;) {
		struct sw_static *st = sw->statics->pdata[i];
		struct sw_port *sp = find_port(sw, st->port);
		if (!only || !sp || sp->vnet == only)
			g_ptr_array_remove_index(sw->statics, i);
		else
			i++;
	}
	sw_changed(sw);
	return removed;
}

void vn_switch_tick(struct vn_switch *sw)
{
	uint64_t now = vn_dp_now();

	if (sw->pending->len)
		sw_pending_retry(sw);
	for (guint i = 0; i < sw->nets->len; i++) {
		struct vn_net *n = sw->nets->pdata[i];
		if (n->kind->tick)
			n->kind->tick(n, now, sw->cfg);
		if (n->uplink)
			vn_uplink_tick(n->uplink);
	}
}

/* ---- what ports and networks share: the network's members and its uplink's filter ---- */

void sw_changed(struct vn_switch *sw)
{
	g_autoptr(GError) err = NULL;

	if (sw->restoring || !sw->state_file || !sw->save)
		return;
	if (sw->save(sw, sw->state_file, &err) < 0)
		VN_ERR("saving state to %s failed: %s", sw->state_file, err->message);
}

struct sw_port *sw_net_uplink_port(struct vn_switch *sw, struct vn_net *n)
{
	for (guint i = 0; i < sw->ports->len; i++) {
		struct sw_port *sp = sw->ports->pdata[i];
		if (sp->vnet == n && sp->kind == &vn_uplink_kind)
			return sp;
	}
	return NULL;
}

GArray *sw_net_members(struct vn_switch *sw, struct vn_net *n)
{
	GArray *m = g_array_new(FALSE, TRUE, sizeof(struct vn_net_member));

	for (guint i = 0; i < sw->ports->len; i++) {
		struct sw_port *sp = sw->ports->pdata[i];
		struct vn_net_member e = {.name = sp->name, .mac = sp->mac};
		if (sp->vnet != n)
			continue;
		e.uplink = sp->kind == &vn_uplink_kind;
		e.relay = json_object_get_boolean_member_with_default(sp->args, "reflective_relay",
								      FALSE);
		g_array_append_val(m, e);
	}
	return m;
}

void sw_uplink_mac_sync(struct sw_port *sp)
{
	char m[VN_MAC_STRLEN];

	if (!sp || !sp->port)
		return;
	vn_uplink_get_mac(sp->port, &sp->port->mac);
	vn_mac_format(&sp->port->mac, m);
	g_free(sp->mac);
	sp->mac = g_strdup(m);
}

/*
 * Tell @n's uplink what to receive: the MACs of the ports behind it (a kernel interface gets
 * them as its unicast list, like macvlan's lower device), or everything when a port has no
 * --mac or the uplink is a reflective relay; the kind may adjust (a passthru port).
 */
void sw_net_sync_uplink(struct vn_switch *sw, struct vn_net *n)
{
	g_autofree struct rte_ether_addr *macs = NULL;
	g_autoptr(GError) e = NULL;
	bool promisc = false, guests = false;
	unsigned k = 0;

	if (!n->uplink)
		return;
	macs = g_new0(struct rte_ether_addr, sw->ports->len + 1);
	for (guint i = 0; i < sw->ports->len; i++) {
		struct sw_port *sp = sw->ports->pdata[i];
		if (sp->vnet != n || !sp->port)
			continue;
		if (sp->kind == &vn_uplink_kind) {
			promisc |= json_object_get_boolean_member_with_default(
			    sp->args, "reflective_relay", FALSE); /* VEPA hosts behind it */
			continue;
		}
		guests = true;
		if (sp->port->has_mac)
			macs[k++] = sp->port->mac;
		else
			promisc = true; /* its guest's MAC is not known */
	}
	if (n->kind->uplink_filter)
		n->kind->uplink_filter(n, guests, &k, &promisc);
	if (vn_uplink_filter(n->uplink, macs, k, promisc, &e) < 0)
		VN_WARN("network %s: %s", n->name, e->message);
}

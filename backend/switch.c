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

static void net_free(struct vn_net *n)
{
	vn_fdb_free(n->fdb);
	g_free(n);
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
	return sw;
}

static void sw_publish(struct vn_switch *sw)
{
	struct vn_port *ports[VN_MAX_PORTS_HARD] = {0};
	unsigned n = 0;

	if (!sw->dp)
		return;
	for (unsigned s = 0; s < VN_MAX_PORTS_HARD; s++) {
		if (sw->slots[s] && sw->slots[s]->port) {
			ports[s] = sw->slots[s]->port;
			n = s + 1;
		}
	}
	vn_dp_publish(sw->dp, vn_dp_table_build(sw->dp, ports, n));
}

void vn_switch_free(struct vn_switch *sw)
{
	if (!sw)
		return;
	/* unpublish everything once, then destroy the ports */
	if (sw->dp)
		vn_dp_publish(sw->dp, vn_dp_table_build(sw->dp, NULL, 0));
	for (guint i = 0; i < sw->ports->len; i++) {
		struct sw_port *sp = sw->ports->pdata[i];
		if (sp->port)
			sp->port->ops->destroy(sp->port);
		sw_port_free(sp);
	}
	for (guint i = 0; i < sw->nets->len; i++)
		net_free(sw->nets->pdata[i]);
	g_ptr_array_free(sw->ports, TRUE);
	g_ptr_array_free(sw->nets, TRUE);
	g_ptr_array_free(sw->statics, TRUE);
	g_free(sw->state_file);
	vn_ledger_free(sw->ledger);
	g_free(sw->ledger_file);
	g_free(sw->ledger_recovered);
	g_free(sw);
}

static struct sw_port *net_uplink_sp(struct vn_switch *sw, struct vn_net *n);
static int net_spec_check(struct vn_switch *sw, JsonObject *args, struct vn_net *spec,
			  const char **devargs, GError **err);
static int net_attach_uplink(struct vn_switch *sw, struct vn_net *n, const char *devargs,
			     GError **err);
static void port_del(struct vn_switch *sw, struct sw_port *sp);

int vn_switch_net_add(struct vn_switch *sw, const char *name, const char *type, GError **err)
{
	g_autoptr(JsonObject) a = json_object_new();

	if (name)
		json_object_set_string_member(a, "name", name);
	if (type)
		json_object_set_string_member(a, "type", type);
	return vn_switch_net_create(sw, a, err);
}

int vn_switch_net_create(struct vn_switch *sw, JsonObject *args, GError **err)
{
	struct vn_net *n, spec = {0};
	const char *name = NULL, *type = NULL, *devargs = NULL;
	int rc;

	if ((rc = vn_arg_str(args, "name", true, &name, err)) < 0 ||
	    (rc = vn_arg_str(args, "type", true, &type, err)) < 0)
		return rc;
	if (!vn_name_valid(name))
		SET_ERR(EINVAL, "invalid network name '%s' (1-31 characters of A-Z a-z 0-9 _ . -)",
			name);
	if (strcmp(type, "bridge") != 0 && strcmp(type, "macvtap") != 0)
		SET_ERR(EINVAL, "unsupported network type '%s' (supported: bridge, macvtap)", type);
	if ((rc = net_spec_check(sw, args, &spec, &devargs, err)) < 0)
		return rc;
	if (find_net(sw, name))
		SET_ERR(EEXIST, "network '%s' already exists", name);
	if (sw->nets->len >= sw->cfg->max_nets) {
		sw->nets_limit_hits++;
		SET_ERR(ENOSPC, "network limit reached (max_nets = %u)", sw->cfg->max_nets);
	}
	n = g_new0(struct vn_net, 1);
	g_strlcpy(n->name, name, sizeof(n->name));
	g_strlcpy(n->type, type, sizeof(n->type));
	n->fwd = spec.fwd;
	n->mode = spec.mode;
	n->hairpin = spec.hairpin;
	n->nopromisc = spec.nopromisc;
	n->id = sw->next_net_id++;
	if (sw->dp) {
		char hname[48];
		snprintf(hname, sizeof(hname), "%u_%s", n->id, name);
		n->fdb = vn_fdb_create(hname, sw->cfg->fdb_max, vn_dp_qsbr(sw->dp));
		if (!n->fdb) {
			int e = errno;
			g_free(n);
			SET_ERR(e, "cannot create the FDB of network '%s': %s", name,
				g_strerror(e));
		}
	}
	g_ptr_array_add(sw->nets, n);
	if (devargs && (rc = net_attach_uplink(sw, n, devargs, err)) < 0) {
		g_ptr_array_remove(sw->nets, n);
		net_free(n);
		return rc;
	}
	VN_INFO("network %s (%s%s%s%s%s) added", name, type, devargs ? ", uplink " : "",
		devargs ? devargs : "", n->fwd == VN_FWD_MACVTAP ? ", mode " : "",
		n->fwd == VN_FWD_MACVTAP ? vn_mvt_mode_name(n->mode) : "");
	sw_changed(sw);
	return 0;
}

int vn_switch_net_del(struct vn_switch *sw, const char *name, GError **err)
{
	struct vn_net *n = name ? find_net(sw, name) : NULL;

	struct sw_port *up;

	if (!n)
		SET_ERR(ENOENT, "no network '%s'", name ? name : "");
	up = net_uplink_sp(sw, n);
	if (n->nr_ports > (up ? 1u : 0u))
		SET_ERR(EBUSY, "network '%s' still has %u port(s); delete them first", name,
			n->nr_ports - (up ? 1u : 0u));
	if (up) {
		port_del(sw, up);
		n->uplink = NULL;
	}
	/* no port of it is published, so no worker can reach its FDB */
	for (guint i = 0; i < sw->statics->len;) {
		struct sw_static *st = sw->statics->pdata[i];
		struct sw_port *sp = find_port(sw, st->port);
		if (!sp || sp->vnet == n)
			g_ptr_array_remove_index(sw->statics, i);
		else
			i++;
	}
	g_ptr_array_remove(sw->nets, n);
	net_free(n);
	VN_INFO("network %s deleted", name);
	sw_changed(sw);
	return 0;
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

static const char *const common_keys[] = {
    "name", "kind", "net", "mac", "queues", "vm_uuid", "vm_name", "policy", "reflective_relay",
    NULL};

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
			     sp->port->locality == VN_LOC_EXTERNAL,
			     vn_dp_policy_get(sw->dp, sp->slot), &pol, err);
	if (rc < 0)
		return rc;
	if (pol || vn_dp_policy_get(sw->dp, sp->slot))
		vn_dp_policy_set(sw->dp, sp->slot, pol);
	return 0;
}

static int net_join_check(struct vn_switch *sw, struct vn_net *n, JsonObject *args,
			  const char **macs, char inherited[18], GError **err);
static int net_join(struct vn_switch *sw, struct vn_net *n, struct vn_port *port, JsonObject *args,
		    GError **err);
static void net_sync_uplink(struct vn_switch *sw, struct vn_net *n);

/* port.add; @own: the kind when the switch makes the port itself (an uplink), else NULL. */
static int port_add(struct vn_switch *sw, JsonObject *args, const struct vn_port_kind *own,
		    GError **err)
{
	g_autoptr(JsonObject) spec = NULL;
	char inherited[18] = "";
	const char *name, *kname, *netname, *macs, *uniq = NULL, *vm_uuid, *vm_name;
	const struct vn_port_kind *kind;
	guint64 queues = 1;
	struct rte_ether_addr mac;
	struct vn_net *n;
	struct sw_port *sp;
	struct vn_port *port = NULL;
	g_autofree char *what = NULL, *summary = NULL;
	int slot = -1, rc;

	if ((rc = vn_arg_str(args, "name", true, &name, err)) < 0 ||
	    (rc = vn_arg_str(args, "kind", true, &kname, err)) < 0 ||
	    (rc = vn_arg_str(args, "net", false, &netname, err)) < 0 ||
	    (rc = vn_arg_str(args, "mac", false, &macs, err)) < 0 ||
	    (rc = vn_arg_uint(args, "queues", 1, VN_MAX_QUEUES, &queues, err)) < 0 ||
	    (rc = vn_arg_str(args, "vm_uuid", false, &vm_uuid, err)) < 0 ||
	    (rc = vn_arg_str(args, "vm_name", false, &vm_name, err)) < 0)
		return rc;
	if (vm_uuid && !vn_uuid_valid(vm_uuid))
		SET_ERR(EINVAL, "invalid --vm-uuid '%s' (expected 8-4-4-4-12 hex digits)", vm_uuid);
	if (vm_name && (!*vm_name || strlen(vm_name) > 200 || !g_utf8_validate(vm_name, -1, NULL)))
		SET_ERR(EINVAL, "invalid --vm-name (1-200 characters of UTF-8)");
	if (!vn_name_valid(name))
		SET_ERR(EINVAL, "invalid port name '%s' (1-31 characters of A-Z a-z 0-9 _ . -)",
			name);
	if (find_port(sw, name))
		SET_ERR(EEXIST, "port '%s' already exists", name);
	kind = own ? own : find_kind(kname);
	if (!kind && strcmp(kname, vn_uplink_kind.name) == 0)
		SET_ERR(EINVAL, "uplinks are made with their network: vnicctl net add NAME "
				"bridge|macvtap --uplink DEVARGS");
	if (!kind) {
		g_autofree char *l = kinds_list();
		SET_ERR(EINVAL, "unsupported port kind '%s' (supported: %s)", kname, l);
	}
	what = g_strdup_printf("%s ports", kind->name);
	if ((rc = vn_args_only(args, common_keys, kind->keys, what, err)) < 0 ||
	    (rc = kind->check(args, err)) < 0)
		return rc;
	if (!netname)
		netname = DEFAULT_NET;
	n = find_net(sw, netname);
	if (!n)
		SET_ERR(ENOENT, "no network '%s' (see: vnicctl net list)", netname);
	if (macs && vn_mac_parse(macs, &mac) < 0)
		SET_ERR(EINVAL, "invalid MAC address '%s' (expected aa:bb:cc:dd:ee:ff)", macs);
	if (macs && !rte_is_valid_assigned_ether_addr(&mac))
		SET_ERR(EINVAL, "MAC address '%s' is not a unicast address", macs);
	if (!own && (rc = net_join_check(sw, n, args, &macs, inherited, err)) < 0)
		return rc;
	if (*inherited)
		vn_mac_parse(inherited, &mac);
	if (json_object_has_member(args, "policy")) {
		JsonNode *pn = json_object_get_member(args, "policy");
		if (!JSON_NODE_HOLDS_OBJECT(pn))
			SET_ERR(EINVAL, "'policy' must be an object of port set settings");
		if ((rc = vn_policy_spec_merge(NULL, json_node_get_object(pn), macs != NULL, &spec,
					       err)) < 0)
			return rc;
	}
	if (kind->unique_key)
		vn_arg_str(args, kind->unique_key, false, &uniq, NULL);
	for (guint i = 0; uniq && i < sw->ports->len; i++) {
		struct sw_port *o = sw->ports->pdata[i];
		const char *ov = NULL;
		if (o->kind != kind)
			continue;
		vn_arg_str(o->args, kind->unique_key, false, &ov, NULL);
		if (ov && strcmp(ov, uniq) == 0) {
			g_autofree char *opt = g_strdelimit(g_strdup(kind->unique_key), "_", '-');
			SET_ERR(EEXIST, "--%s '%s' is already used by port '%s'", opt, uniq,
				o->name);
		}
	}
	if (sw->ports->len >= sw->cfg->max_ports) {
		sw->ports_limit_hits++;
		SET_ERR(ENOSPC, "port limit reached (max_ports = %u)", sw->cfg->max_ports);
	}
	for (unsigned s = 0; s < VN_MAX_PORTS_HARD; s++)
		if (!sw->slots[s]) {
			slot = (int)s;
			break;
		}
	if (slot < 0)
		SET_ERR(ENOSPC, "no free port slot");

	sp = g_new0(struct sw_port, 1);
	sp->args = normalise_args(args, netname, (unsigned)queues);
	json_object_remove_member(sp->args, "policy");
	if (spec && json_object_get_size(spec))
		json_object_set_object_member(sp->args, "policy", json_object_ref(spec));
	if (*inherited) /* a passthru port takes the uplink's MAC, as the kernel's does */
		json_object_set_string_member(sp->args, "mac", inherited);
	if (sw->dp) {
		struct vn_port_env env = {sw->cfg, sw->mp, sw->dp};
		rc = kind->create(name, sp->args, &env, &port, err);
		if (rc < 0) {
			sw_port_free(sp);
			return rc;
		}
		port->slot = (uint16_t)slot;
		port->net = n;
		port->tx_shared = vn_dp_nr_workers(sw->dp) > 1;
		if (macs) {
			port->has_mac = true;
			port->mac = mac;
		}
		if (!own && (rc = net_join(sw, n, port, sp->args, err)) < 0) {
			port->deleting = true;
			port->ops->destroy(port);
			sw_port_free(sp);
			return rc;
		}
	}
	sp->name = g_strdup(name);
	sp->kind = kind;
	sp->net = g_strdup(netname);
	sp->mac = macs ? g_ascii_strdown(macs, -1) : NULL;
	sp->queues = (unsigned)queues;
	sp->slot = (uint16_t)slot;
	sp->port = port;
	sp->vnet = n;
	if (sw->dp)
		vn_dp_port_counters(sw->dp, sp->slot, &sp->base);
	sp->acct = vn_ledger_attach(sw->ledger, vm_uuid, name, vm_name);
	sw->slots[slot] = sp;
	g_ptr_array_add(sw->ports, sp);
	n->nr_ports++;
	{
		g_autoptr(GError) pe = NULL;
		if (port_apply_policy(sw, sp, spec, &pe) < 0) /* a valid spec builds: unexpected */
			VN_ERR("port %s: policy not applied: %s", name, pe->message);
	}
	sw_publish(sw);
	if (!own)
		net_sync_uplink(sw, n);
	summary = kind->summary(sp->args);
	VN_INFO("port %s (%s, %u queue%s) added to %s", sp->name, summary, sp->queues,
		sp->queues > 1 ? "s" : "", netname);
	sw_changed(sw);
	return 0;
}

int vn_switch_port_add(struct vn_switch *sw, JsonObject *args, GError **err)
{
	return port_add(sw, args, NULL, err);
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

	if (!sp)
		SET_ERR(ENOENT, "no port '%s'", name ? name : "");
	if (sp->kind == &vn_uplink_kind)
		SET_ERR(EBUSY,
			"port '%s' is the uplink of network '%s': it goes with the network "
			"(vnicctl net del %s)",
			name, sp->net, sp->net);
	port_del(sw, sp);
	return 0;
}

/* Unpublish, forget and destroy @sp; the network's uplink follows the change. */
static void port_del(struct vn_switch *sw, struct sw_port *sp)
{
	struct vn_net *n = sp->vnet;
	bool guest = sp->kind != &vn_uplink_kind;

	sw->slots[sp->slot] = NULL;
	if (sw->dp && vn_dp_capture_get(sw->dp, sp->slot))
		vn_dp_capture_set(sw->dp, sp->slot, NULL); /* its capture ends: "port removed" */
	sw_publish(sw); /* waits until no worker can see the port */
	if (sw->dp && vn_dp_policy_get(sw->dp, sp->slot))
		vn_dp_policy_set(sw->dp, sp->slot, NULL);
	if (sp->vnet->fdb)
		vn_fdb_flush(sp->vnet->fdb, sp->slot, true);
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
	sp->vnet->nr_ports--;
	g_ptr_array_remove(sw->ports, sp);
	VN_INFO("port %s deleted", sp->name);
	sw_port_free(sp);
	if (guest && n->uplink && n->fwd == VN_FWD_MACVTAP && n->mode == VN_MVT_PASSTHRU) {
		g_autoptr(GError) e = NULL;
		if (vn_uplink_set_mac(n->uplink, NULL, &e) < 0) /* its own MAC back */
			VN_WARN("network %s: %s", n->name, e->message);
	}
	if (guest)
		net_sync_uplink(sw, n);
	sw_changed(sw);
}

/*
 * `port set NAME --reflective-relay on|off` (@chg.reflective_relay): frames may go back out
 * of the port they came in by, as through a Linux bridge port with the hairpin flag, so
 * that VEPA hosts behind it can talk to each other. Ports of bridge networks only.
 */
static int port_set_relay(struct vn_switch *sw, struct sw_port *sp, JsonObject *chg, GError **err)
{
	bool on = false;
	int rc;

	if ((rc = vn_arg_bool(chg, "reflective_relay", &on, err)) < 0)
		return rc;
	if (sp->vnet->fwd != VN_FWD_BRIDGE)
		SET_ERR(EINVAL,
			"--reflective-relay applies to ports of bridge networks ('%s' is a "
			"%s network)",
			sp->net, sp->vnet->type);
	if (on)
		json_object_set_boolean_member(sp->args, "reflective_relay", TRUE);
	else
		json_object_remove_member(sp->args, "reflective_relay");
	if (sp->port)
		__atomic_store_n(&sp->port->reflective_relay, on, __ATOMIC_RELAXED);
	VN_INFO("port %s: reflective relay (hairpin) %s", sp->name, on ? "on" : "off");
	net_sync_uplink(sw, sp->vnet);
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
	if (json_object_has_member(chg, "reflective_relay")) {
		if ((rc = port_set_relay(sw, sp, chg, err)) < 0)
			return rc;
		json_object_remove_member(chg, "reflective_relay");
		if (json_object_get_size(chg) == 0) { /* nothing for the policy */
			sw_changed(sw);
			return 0;
		}
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
	VN_INFO("port %s: policy %s", name, text);
	sw_changed(sw);
	return 0;
}

int vn_switch_fdb_add(struct vn_switch *sw, const char *mac, const char *port, GError **err)
{
	struct rte_ether_addr a;
	struct sw_port *sp;
	struct sw_static *st;
	char norm[VN_MAC_STRLEN];

	if (!mac || vn_mac_parse(mac, &a) < 0)
		SET_ERR(EINVAL, "invalid MAC address '%s' (expected aa:bb:cc:dd:ee:ff)",
			mac ? mac : "");
	if (!rte_is_valid_assigned_ether_addr(&a))
		SET_ERR(EINVAL, "MAC address '%s' is not a unicast address", mac);
	sp = port ? find_port(sw, port) : NULL;
	if (!sp)
		SET_ERR(ENOENT, "no port '%s'", port ? port : "");
	if (sp->vnet->fwd == VN_FWD_MACVTAP)
		SET_ERR(EINVAL,
			"network '%s' is a macvtap network: it delivers by its ports' --mac, "
			"not by FDB entries",
			sp->net);
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
	if (only && only->fwd == VN_FWD_MACVTAP)
		SET_ERR(EINVAL,
			"network '%s' is a macvtap network: its table holds its ports' MACs "
			"and is not flushed",
			net);
	for (guint i = 0; i < sw->nets->len; i++) {
		struct vn_net *n = sw->nets->pdata[i];
		if ((only && n != only) || !n->fdb || n->fwd == VN_FWD_MACVTAP)
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

	for (guint i = 0; i < sw->nets->len; i++) {
		struct vn_net *n = sw->nets->pdata[i];
		if (n->fdb && n->fwd == VN_FWD_BRIDGE)
			vn_fdb_age(n->fdb, now, sw->cfg->fdb_aging);
		if (n->uplink)
			vn_uplink_tick(n->uplink);
	}
}

/* ---- networks with an uplink; macvtap networks ---- */

static struct sw_port *net_uplink_sp(struct vn_switch *sw, struct vn_net *n)
{
	for (guint i = 0; i < sw->ports->len; i++) {
		struct sw_port *sp = sw->ports->pdata[i];
		if (sp->vnet == n && sp->kind == &vn_uplink_kind)
			return sp;
	}
	return NULL;
}

static const char *const net_keys[] = {"name",	  "type",      "uplink", "mode",
				       "hairpin", "nopromisc", NULL};

/*
 * Validate the uplink, mode, hairpin and nopromisc arguments of net.add into @spec (fwd,
 * mode, hairpin, nopromisc) and *@devargs, without making anything.
 */
static int net_spec_check(struct vn_switch *sw, JsonObject *args, struct vn_net *spec,
			  const char **devargs, GError **err)
{
	const char *name = NULL, *type = NULL, *mode = NULL, *hairpin = NULL;
	bool nopromisc = false;
	int rc, m = VN_MVT_VEPA, h = VN_HAIRPIN_EXTERNAL;

	if ((rc = vn_args_only(args, net_keys, NULL, "networks", err)) < 0 ||
	    (rc = vn_arg_str(args, "name", true, &name, err)) < 0 ||
	    (rc = vn_arg_str(args, "type", true, &type, err)) < 0 ||
	    (rc = vn_arg_str(args, "uplink", false, devargs, err)) < 0 ||
	    (rc = vn_arg_str(args, "mode", false, &mode, err)) < 0 ||
	    (rc = vn_arg_str(args, "hairpin", false, &hairpin, err)) < 0 ||
	    (rc = vn_arg_bool(args, "nopromisc", &nopromisc, err)) < 0)
		return rc;
	spec->fwd = strcmp(type, "macvtap") == 0 ? VN_FWD_MACVTAP : VN_FWD_BRIDGE;
	if (spec->fwd == VN_FWD_BRIDGE && (mode || hairpin || nopromisc))
		SET_ERR(EINVAL, "--mode, --hairpin and --nopromisc apply to macvtap networks");
	if (spec->fwd == VN_FWD_MACVTAP && !*devargs)
		SET_ERR(EINVAL, "macvtap networks need --uplink DEVARGS (the lower device)");
	if (mode && (m = vn_mvt_mode_parse(mode)) < 0)
		SET_ERR(EINVAL, "unknown --mode '%s' (vepa, bridge, private or passthru)", mode);
	if (hairpin && (h = vn_hairpin_parse(hairpin)) < 0)
		SET_ERR(EINVAL, "unknown --hairpin '%s' (external or emulated)", hairpin);
	if (m == VN_MVT_PASSTHRU && h == VN_HAIRPIN_EMULATED)
		SET_ERR(EINVAL,
			"--hairpin emulated needs two local ports: not with --mode passthru");
	if (nopromisc && m != VN_MVT_PASSTHRU)
		SET_ERR(EINVAL, "--nopromisc applies to --mode passthru");
	spec->mode = spec->fwd == VN_FWD_MACVTAP ? (uint8_t)m : 0;
	spec->hairpin = (uint8_t)h;
	spec->nopromisc = nopromisc;
	if (*devargs) {
		g_autoptr(JsonObject) ua = json_object_new();
		char upname[VN_NAME_MAX + 8];

		snprintf(upname, sizeof(upname), "%s-uplink", name);
		if (!vn_name_valid(upname))
			SET_ERR(EINVAL,
				"network name '%s' is too long for its uplink port '%s' (at "
				"most %d characters)",
				name, upname, VN_NAME_MAX - 1 - 7);
		if (find_port(sw, upname))
			SET_ERR(EEXIST, "a port named '%s' already exists", upname);
		json_object_set_string_member(ua, "devargs", *devargs);
		if ((rc = vn_uplink_kind.check(ua, err)) < 0)
			return rc;
		for (guint i = 0; i < sw->ports->len; i++) {
			struct sw_port *o = sw->ports->pdata[i];
			const char *od = NULL;
			if (o->kind != &vn_uplink_kind)
				continue;
			vn_arg_str(o->args, "devargs", false, &od, NULL);
			if (od && strcmp(od, *devargs) == 0)
				SET_ERR(EEXIST,
					"--uplink '%s' is already the uplink of network '%s'",
					*devargs, o->net);
		}
	}
	return 0;
}

/* The MAC that uplink port @sp shows (port list, its FDB role) is the one it has now. */
static void uplink_mac_sync(struct sw_port *sp)
{
	char m[18];

	if (!sp || !sp->port)
		return;
	vn_uplink_get_mac(sp->port, &sp->port->mac);
	vn_mac_format(&sp->port->mac, m);
	g_free(sp->mac);
	sp->mac = g_strdup(m);
}

/* Make port NET-uplink of @n (already listed) from @devargs. */
static int net_attach_uplink(struct vn_switch *sw, struct vn_net *n, const char *devargs,
			     GError **err)
{
	g_autoptr(JsonObject) a = json_object_new();
	g_autofree char *upname = g_strdup_printf("%s-uplink", n->name);
	bool restoring = sw->restoring;
	struct sw_port *sp;
	int rc;

	json_object_set_string_member(a, "name", upname);
	json_object_set_string_member(a, "kind", vn_uplink_kind.name);
	json_object_set_string_member(a, "net", n->name);
	json_object_set_string_member(a, "devargs", devargs);
	sw->restoring = true; /* saved once, with the network */
	rc = port_add(sw, a, &vn_uplink_kind, err);
	sw->restoring = restoring;
	if (rc < 0)
		return rc;
	sp = find_port(sw, upname);
	n->uplink = sp->port;
	uplink_mac_sync(sp);
	net_sync_uplink(sw, n);
	return 0;
}

/*
 * A port joins network @n: a macvtap network needs a unicast MAC per port (the kernel's
 * macvlan delivers by it), unique in the network and not the uplink's own; a passthru
 * network takes one port, which gets the uplink's MAC when it brings none (*@macs then
 * points to @inherited). --reflective-relay is for ports of bridge networks.
 */
static int net_join_check(struct vn_switch *sw, struct vn_net *n, JsonObject *args,
			  const char **macs, char inherited[18], GError **err)
{
	bool relay = false;
	int rc;

	if ((rc = vn_arg_bool(args, "reflective_relay", &relay, err)) < 0)
		return rc;
	if (relay && n->fwd != VN_FWD_BRIDGE)
		SET_ERR(EINVAL,
			"--reflective-relay applies to ports of bridge networks ('%s' is a "
			"%s network)",
			n->name, n->type);
	if (n->fwd != VN_FWD_MACVTAP)
		return 0;
	for (guint i = 0; i < sw->ports->len; i++) {
		struct sw_port *o = sw->ports->pdata[i];
		if (o->vnet != n || o->kind == &vn_uplink_kind)
			continue;
		if (n->mode == VN_MVT_PASSTHRU)
			SET_ERR(EBUSY,
				"network '%s' is in passthru mode and port '%s' already owns "
				"its uplink",
				n->name, o->name);
		if (*macs && o->mac && g_ascii_strcasecmp(o->mac, *macs) == 0)
			SET_ERR(EADDRINUSE, "MAC %s is already used by port '%s' of network '%s'",
				*macs, o->name, n->name);
	}
	if (n->mode == VN_MVT_PASSTHRU && !*macs && n->uplink) {
		struct rte_ether_addr um;
		vn_uplink_get_mac(n->uplink, &um);
		vn_mac_format(&um, inherited);
		*macs = inherited;
	}
	if (!*macs && n->mode != VN_MVT_PASSTHRU)
		SET_ERR(EINVAL,
			"ports of macvtap network '%s' need --mac (macvlan delivers by MAC)",
			n->name);
	if (*macs && n->mode != VN_MVT_PASSTHRU && n->uplink) {
		struct rte_ether_addr um, pm;
		vn_uplink_get_mac(n->uplink, &um);
		if (vn_mac_parse(*macs, &pm) == 0 && rte_is_same_ether_addr(&um, &pm))
			SET_ERR(EADDRINUSE, "MAC %s is the uplink's own (network '%s')", *macs,
				n->name);
	}
	return 0;
}

/*
 * Port @port (made, not yet published) joins @n: its mode and reflective relay; in a
 * macvtap network its MAC goes into the network's table and a passthru port lends it to
 * the uplink. On failure nothing is left changed.
 */
static int net_join(struct vn_switch *sw, struct vn_net *n, struct vn_port *port, JsonObject *args,
		    GError **err)
{
	bool relay = false;

	vn_arg_bool(args, "reflective_relay", &relay, NULL);
	port->reflective_relay = relay;
	if (n->fwd != VN_FWD_MACVTAP)
		return 0;
	port->mvt_mode = n->mode;
	if (!port->has_mac)
		SET_ERR(EINVAL, "ports of macvtap network '%s' need --mac", n->name);
	if (n->mode == VN_MVT_PASSTHRU && n->uplink) {
		int rc = vn_uplink_set_mac(n->uplink, &port->mac, err);
		if (rc < 0)
			return rc;
	}
	if (vn_fdb_add_static(n->fdb, 0, &port->mac, port->slot, vn_dp_now()) < 0) {
		if (n->mode == VN_MVT_PASSTHRU && n->uplink)
			vn_uplink_set_mac(n->uplink, NULL, NULL);
		SET_ERR(ENOSPC, "the MAC table of network '%s' is full (fdb_max = %u)", n->name,
			sw->cfg->fdb_max);
	}
	return 0;
}

/*
 * Tell @n's uplink what to receive: the MACs of the ports behind it (a kernel interface gets
 * them as its unicast list, like macvlan's lower device), or everything when a bridge port
 * has no --mac or is a reflective relay, or for a passthru port (unless --nopromisc).
 */
static void net_sync_uplink(struct vn_switch *sw, struct vn_net *n)
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
			promisc |= sp->port->reflective_relay != 0; /* VEPA hosts behind it */
			continue;
		}
		guests = true;
		if (sp->port->has_mac)
			macs[k++] = sp->port->mac;
		else
			promisc = true; /* its guest's MAC is not known */
	}
	if (n->fwd == VN_FWD_MACVTAP && n->mode == VN_MVT_PASSTHRU) {
		k = 0; /* the port's MAC is the uplink's own */
		promisc = guests && !n->nopromisc;
	}
	if (vn_uplink_filter(n->uplink, macs, k, promisc, &e) < 0)
		VN_WARN("network %s: %s", n->name, e->message);
}

static void json_net_uplink(struct vn_switch *sw, struct vn_net *n, JsonBuilder *b, bool detail)
{
	struct sw_port *up = net_uplink_sp(sw, n);

	vn_json_str(b, "uplink", up ? up->name : NULL);
	if (n->fwd == VN_FWD_MACVTAP) {
		vn_json_str(b, "mode", vn_mvt_mode_name(n->mode));
		vn_json_str(b, "hairpin",
			    vn_hairpin_name(__atomic_load_n(&n->hairpin, __ATOMIC_RELAXED)));
		json_builder_set_member_name(b, "nopromisc");
		json_builder_add_boolean_value(b, n->nopromisc);
	}
	if (!detail || !up)
		return;
	json_builder_set_member_name(b, "uplink_link");
	json_builder_begin_object(b);
	if (n->uplink) {
		vn_uplink_describe_link(n->uplink, b);
	} else { /* validation-only mode */
		const char *d = NULL;
		vn_arg_str(up->args, "devargs", false, &d, NULL);
		vn_json_str(b, "devargs", d);
	}
	json_builder_end_object(b);
}

int vn_switch_net_set(struct vn_switch *sw, JsonObject *args, GError **err)
{
	static const char *const keys[] = {"name", "mode", "hairpin", NULL};
	const char *name = NULL, *mode = NULL, *hairpin = NULL;
	struct vn_net *n;
	struct sw_port *up;
	int rc, m, h;
	unsigned guests;

	if ((rc = vn_args_only(args, keys, NULL, "net set", err)) < 0 ||
	    (rc = vn_arg_str(args, "name", true, &name, err)) < 0 ||
	    (rc = vn_arg_str(args, "mode", false, &mode, err)) < 0 ||
	    (rc = vn_arg_str(args, "hairpin", false, &hairpin, err)) < 0)
		return rc;
	n = find_net(sw, name);
	if (!n)
		SET_ERR(ENOENT, "no network '%s'", name);
	if (!mode && !hairpin)
		SET_ERR(EINVAL, "net set %s: nothing to set (--mode M, --hairpin H)", name);
	if (n->fwd != VN_FWD_MACVTAP)
		SET_ERR(EINVAL,
			"--mode and --hairpin apply to macvtap networks ('%s' is a %s "
			"network)",
			name, n->type);
	m = n->mode;
	h = n->hairpin;
	if (mode && (m = vn_mvt_mode_parse(mode)) < 0)
		SET_ERR(EINVAL, "unknown --mode '%s' (vepa, bridge, private or passthru)", mode);
	if (hairpin && (h = vn_hairpin_parse(hairpin)) < 0)
		SET_ERR(EINVAL, "unknown --hairpin '%s' (external or emulated)", hairpin);
	up = net_uplink_sp(sw, n);
	guests = n->nr_ports - (up ? 1u : 0u);
	if (m != n->mode && guests)
		SET_ERR(EBUSY,
			"network '%s' has %u port(s) attached: its mode can change only "
			"while it has none",
			name, guests);
	if (m == VN_MVT_PASSTHRU && h == VN_HAIRPIN_EMULATED)
		SET_ERR(EINVAL,
			"--hairpin emulated needs two local ports: not with --mode passthru");
	if (m != VN_MVT_PASSTHRU && n->nopromisc)
		SET_ERR(EINVAL, "network '%s' has --nopromisc, which only passthru mode takes",
			name);
	n->mode = (uint8_t)m;
	__atomic_store_n(&n->hairpin, (uint8_t)h, __ATOMIC_RELAXED);
	VN_INFO("network %s: mode %s, hairpin %s", name, vn_mvt_mode_name(n->mode),
		vn_hairpin_name(n->hairpin));
	sw_changed(sw);
	return 0;
}

/* ---- the network-kind functions above, for switch_json.c and state.c (switch_priv.h) ---- */

struct sw_port *sw_net_uplink_port(struct vn_switch *sw, struct vn_net *n)
{
	return net_uplink_sp(sw, n);
}

void sw_net_sync_uplink(struct vn_switch *sw, struct vn_net *n)
{
	net_sync_uplink(sw, n);
}

void sw_uplink_mac_sync(struct sw_port *sp)
{
	uplink_mac_sync(sp);
}

void sw_json_net_uplink(struct vn_switch *sw, struct vn_net *n, JsonBuilder *b, bool detail)
{
	json_net_uplink(sw, n, b, detail);
}

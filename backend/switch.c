/* SPDX-License-Identifier: MIT */
/* Networks, ports and static FDB entries on the control thread; persistence; publication. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ether.h>

#include "vnicd/accounting.h"
#include "vnicd/args.h"
#include "vnicd/bridge.h"
#include "vnicd/fileio.h"
#include "vnicd/log.h"
#include "vnicd/mac.h"
#include "vnicd/policy.h"
#include "vnicd/portkind.h"
#include "vnicd/switch.h"
#include "vnicd/uplink.h"
#include "vnicd/vhost.h"

#define DEFAULT_NET "br0"
#define STATE_VERSION 1

struct sw_port {
	char *name, *net, *mac;
	const struct vn_port_kind *kind;
	JsonObject *args; /* the port.add arguments, normalised: what is persisted */
	unsigned queues;
	uint16_t slot;
	struct vn_port *port; /* NULL in validation-only mode (no data path) */
	struct vn_net *vnet;
	struct vn_port_counters base; /* counters of the slot when the port took it */
	struct vn_ledger_entry *acct; /* its totals across lives and restarts */
};

struct sw_static {
	char *mac, *port;
};

struct vn_switch {
	const struct vn_config *cfg;
	struct vn_dp *dp;
	struct rte_mempool *mp;
	GPtrArray *nets;    /* struct vn_net *, creation order */
	GPtrArray *ports;   /* struct sw_port *, creation order */
	GPtrArray *statics; /* struct sw_static *, persisted static FDB entries */
	struct sw_port *slots[VN_MAX_PORTS_HARD];
	uint16_t next_net_id;
	char *state_file;
	bool restoring;
	struct vn_ledger *ledger;
	char *ledger_file;
	char *ledger_recovered; /* where a damaged ledger was kept, if one was found */
	gint64 last_checkpoint;
	uint64_t checkpoints, checkpoint_failures;
	uint64_t ports_limit_hits, nets_limit_hits;
};

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

void vn_switch_set_state_file(struct vn_switch *sw, const char *path)
{
	g_free(sw->state_file);
	sw->state_file = g_strdup(path);
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

static void sw_changed(struct vn_switch *sw)
{
	g_autoptr(GError) err = NULL;

	if (sw->restoring || !sw->state_file)
		return;
	if (vn_switch_save(sw, sw->state_file, &err) < 0)
		VN_ERR("saving state to %s failed: %s", sw->state_file, err->message);
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

static struct vn_net *find_net(struct vn_switch *sw, const char *name)
{
	for (guint i = 0; i < sw->nets->len; i++) {
		struct vn_net *n = sw->nets->pdata[i];
		if (strcmp(n->name, name) == 0)
			return n;
	}
	return NULL;
}

static struct sw_port *find_port(struct vn_switch *sw, const char *name)
{
	for (guint i = 0; i < sw->ports->len; i++) {
		struct sw_port *sp = sw->ports->pdata[i];
		if (strcmp(sp->name, name) == 0)
			return sp;
	}
	return NULL;
}

#define SET_ERR(code, ...)                                                                         \
	do {                                                                                       \
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, __VA_ARGS__);                      \
		return -(code);                                                                    \
	} while (0)

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

static const char *const label_keys[] = {"vm_uuid", "vm_name", NULL};
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

/* Counters of the port's current life (since it took its slot). */
static void port_live(struct vn_switch *sw, struct sw_port *sp, struct vn_port_counters *out)
{
	memset(out, 0, sizeof(*out));
	if (!sw->dp)
		return;
	vn_dp_port_counters(sw->dp, sp->slot, out);
	vn_counters_sub(out, &sp->base);
}

/* Totals of a port: what the ledger held before its current life, plus that life. */
static void port_totals(struct vn_switch *sw, struct sw_port *sp, struct vn_port_counters *out)
{
	port_live(sw, sp, out);
	vn_counters_add(out, &sp->acct->base);
}

static struct sw_port *port_of_entry(struct vn_switch *sw, struct vn_ledger_entry *e)
{
	for (guint i = 0; e->live && i < sw->ports->len; i++) {
		struct sw_port *sp = sw->ports->pdata[i];
		if (sp->acct == e)
			return sp;
	}
	return NULL;
}

static void entry_totals(struct vn_ledger_entry *e, struct vn_port_counters *out, void *ud)
{
	struct vn_switch *sw = ud;
	struct sw_port *sp = port_of_entry(sw, e);

	if (sp)
		port_totals(sw, sp, out);
	else
		*out = e->base;
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
		port_live(sw, sp, &live);
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
	char norm[18];

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

/* ---- JSON views ---- */

static void json_net_uplink(struct vn_switch *sw, struct vn_net *n, JsonBuilder *b, bool detail);

static void json_net(struct vn_switch *sw, struct vn_net *n, JsonBuilder *b, bool detail)
{
	struct vn_fdb_stats fs = {0};

	if (n->fdb)
		vn_fdb_get_stats(n->fdb, &fs);
	json_builder_begin_object(b);
	vn_json_str(b, "name", n->name);
	vn_json_str(b, "type", n->type);
	vn_json_int(b, "ports", n->nr_ports);
	vn_json_int(b, "fdb_entries", (gint64)fs.entries);
	json_net_uplink(sw, n, b, detail);
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
		json_builder_end_object(b);
	}
	json_builder_end_object(b);
}

void vn_switch_json_nets(struct vn_switch *sw, JsonBuilder *b)
{
	json_builder_begin_array(b);
	for (guint i = 0; i < sw->nets->len; i++)
		json_net(sw, sw->nets->pdata[i], b, false);
	json_builder_end_array(b);
}

int vn_switch_json_net(struct vn_switch *sw, const char *name, JsonBuilder *b, GError **err)
{
	struct vn_net *n = name ? find_net(sw, name) : NULL;

	if (!n)
		SET_ERR(ENOENT, "no network '%s'", name ? name : "");
	json_net(sw, n, b, true);
	return 0;
}

/* Every counter of @c as members of the open object: flat fields, then "drops" {reason: n}. */
static void json_counter_members(JsonBuilder *b, const struct vn_port_counters *c)
{
	const struct vn_counter_field *f;
	size_t nf;
	uint64_t total = 0;

	f = vn_counter_fields(&nf);
	for (size_t k = 0; k < nf; k++)
		if (strncmp(f[k].name, "drops.", 6) != 0)
			vn_json_int(b, f[k].name, (gint64)vn_counter_get(c, &f[k]));
	json_builder_set_member_name(b, "drops");
	json_builder_begin_object(b);
	for (int r = 0; r < VN_DROP__MAX; r++) {
		vn_json_int(b, vn_drop_name(r), (gint64)c->drops[r]);
		total += c->drops[r];
	}
	json_builder_end_object(b);
	vn_json_int(b, "drops_total", (gint64)total);
}

static void json_counters(struct vn_switch *sw, struct sw_port *sp, JsonBuilder *b)
{
	struct vn_port_counters c;

	port_totals(sw, sp, &c);
	json_counter_members(b, &c);
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
	json_builder_set_member_name(b, "reflective_relay");
	json_builder_add_boolean_value(
	    b, json_object_get_boolean_member_with_default(sp->args, "reflective_relay", FALSE));
	if (sp->vnet->fwd == VN_FWD_MACVTAP && sp->kind != &vn_uplink_kind)
		vn_json_str(b, "macvtap_mode", vn_mvt_mode_name(sp->vnet->mode));
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
		vn_policy_describe(vn_dp_policy_get(sw->dp, sp->slot), b);
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
		json_counters(sw, sp, b);
		json_builder_end_object(b);
	}
	json_builder_end_object(b);
}

void vn_switch_json_ports(struct vn_switch *sw, JsonBuilder *b)
{
	json_builder_begin_array(b);
	for (guint i = 0; i < sw->ports->len; i++)
		json_port(sw, sw->ports->pdata[i], b, false);
	json_builder_end_array(b);
}

int vn_switch_json_port(struct vn_switch *sw, const char *name, JsonBuilder *b, GError **err)
{
	struct sw_port *sp = name ? find_port(sw, name) : NULL;

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
	char m[18];

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

static void json_vm(struct vn_switch *sw, const char *uuid, JsonBuilder *b)
{
	GPtrArray *entries = vn_ledger_entries(sw->ledger);
	struct vn_port_counters sum = {0};
	const char *name = "";

	json_builder_begin_object(b);
	vn_json_str(b, "vm_uuid", uuid);
	json_builder_set_member_name(b, "ports");
	json_builder_begin_array(b);
	for (guint i = 0; i < entries->len; i++) {
		struct vn_ledger_entry *e = entries->pdata[i];
		struct vn_port_counters c;
		if (strcmp(e->vm_uuid, uuid) != 0)
			continue;
		entry_totals(e, &c, sw);
		vn_counters_add(&sum, &c);
		if (*e->vm_name)
			name = e->vm_name;
		json_builder_add_string_value(b, e->port);
	}
	json_builder_end_array(b);
	vn_json_str(b, "vm_name", name);
	json_counter_members(b, &sum);
	json_builder_end_object(b);
}

int vn_switch_json_stats(struct vn_switch *sw, const char *port, const char *vm, JsonBuilder *b,
			 GError **err)
{
	GPtrArray *entries = vn_ledger_entries(sw->ledger);
	g_autoptr(GPtrArray) vms = g_ptr_array_new();
	struct sw_port *only = NULL;
	struct vn_ledger_stats ls;

	if (port && !(only = find_port(sw, port)))
		SET_ERR(ENOENT, "no port '%s'", port);
	if (vm) {
		bool known = false;
		for (guint i = 0; i < entries->len && !known; i++)
			known =
			    strcmp(((struct vn_ledger_entry *)entries->pdata[i])->vm_uuid, vm) == 0;
		if (!*vm || !known)
			SET_ERR(ENOENT, "no VM '%s' in the ledger", vm);
	}
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "ports");
	json_builder_begin_array(b);
	for (guint i = 0; i < sw->ports->len; i++) {
		struct sw_port *sp = sw->ports->pdata[i];
		if ((only && sp != only) || (vm && strcmp(sp->acct->vm_uuid, vm) != 0))
			continue;
		json_builder_begin_object(b);
		vn_json_str(b, "name", sp->name);
		vn_json_str(b, "net", sp->net);
		vn_json_str(b, "vm_uuid", *sp->acct->vm_uuid ? sp->acct->vm_uuid : NULL);
		vn_json_str(b, "vm_name", *sp->acct->vm_name ? sp->acct->vm_name : NULL);
		json_counters(sw, sp, b);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "vms");
	json_builder_begin_array(b);
	for (guint i = 0; i < entries->len; i++) {
		struct vn_ledger_entry *e = entries->pdata[i];
		bool seen = false;
		if (!*e->vm_uuid || (vm && strcmp(e->vm_uuid, vm) != 0))
			continue;
		for (guint k = 0; k < vms->len && !seen; k++)
			seen = strcmp(vms->pdata[k], e->vm_uuid) == 0;
		if (seen)
			continue;
		g_ptr_array_add(vms, e->vm_uuid);
		json_vm(sw, e->vm_uuid, b);
	}
	json_builder_end_array(b);
	vn_ledger_get_stats(sw->ledger, &ls);
	json_builder_set_member_name(b, "ledger");
	json_builder_begin_object(b);
	vn_json_str(b, "path", sw->ledger_file);
	vn_json_int(b, "entries", ls.entries);
	vn_json_int(b, "max_entries", ls.max_entries);
	vn_json_int(b, "evictions", (gint64)ls.evictions);
	vn_json_int(b, "limit_hits", (gint64)ls.limit_hits);
	vn_json_int(b, "checkpoint_interval", sw->cfg->checkpoint_interval);
	vn_json_int(b, "last_checkpoint", sw->last_checkpoint);
	vn_json_int(b, "checkpoints", (gint64)sw->checkpoints);
	vn_json_int(b, "checkpoint_failures", (gint64)sw->checkpoint_failures);
	vn_json_str(b, "recovered_from", sw->ledger_recovered);
	json_builder_end_object(b);
	if (sw->dp) {
		json_builder_set_member_name(b, "workers");
		json_builder_begin_array(b);
		for (unsigned w = 0; w < vn_dp_nr_workers(sw->dp); w++) {
			struct vn_dp_worker_stats ws;
			vn_dp_worker_stats(sw->dp, w, &ws);
			json_builder_begin_object(b);
			vn_json_int(b, "id", w);
			vn_json_int(b, "loops", (gint64)ws.loops);
			vn_json_int(b, "busy_loops", (gint64)ws.busy);
			vn_json_int(b, "busy_cycles", (gint64)ws.busy_cycles);
			vn_json_int(b, "frames", (gint64)ws.frames);
			vn_json_int(b, "tsc_hz", (gint64)rte_get_tsc_hz());
			vn_json_int(b, "sleeps", (gint64)ws.sleeps);
			vn_json_int(b, "wake_errors", (gint64)ws.wake_errors);
			json_builder_end_object(b);
		}
		json_builder_end_array(b);
	}
	json_builder_set_member_name(b, "limits");
	json_builder_begin_object(b);
	vn_json_int(b, "max_ports", sw->cfg->max_ports);
	vn_json_int(b, "ports_limit_hits", (gint64)sw->ports_limit_hits);
	vn_json_int(b, "max_nets", sw->cfg->max_nets);
	vn_json_int(b, "nets_limit_hits", (gint64)sw->nets_limit_hits);
	json_builder_end_object(b);
	json_builder_end_object(b);
	return 0;
}

int vn_switch_stats_reset(struct vn_switch *sw, const char *vm, const char *port, GError **err)
{
	GPtrArray *entries = vn_ledger_entries(sw->ledger);
	int n = 0;

	if (!vm && !port)
		SET_ERR(EINVAL, "stats reset needs --vm UUID or --port NAME");
	if (port && !find_port(sw, port)) {
		bool known = false;
		for (guint i = 0; i < entries->len && !known; i++)
			known =
			    strcmp(((struct vn_ledger_entry *)entries->pdata[i])->port, port) == 0;
		if (!known)
			SET_ERR(ENOENT, "no port '%s' in the ledger", port);
	}
	for (guint i = 0; i < entries->len;) {
		struct vn_ledger_entry *e = entries->pdata[i];
		struct sw_port *sp;
		if ((vm && strcmp(e->vm_uuid, vm) != 0) || (port && strcmp(e->port, port) != 0)) {
			i++;
			continue;
		}
		n++;
		sp = port_of_entry(sw, e);
		if (sp) { /* a live port starts again from zero */
			memset(&e->base, 0, sizeof(e->base));
			if (sw->dp)
				vn_dp_port_counters(sw->dp, sp->slot, &sp->base);
			i++;
		} else {
			vn_ledger_remove(sw->ledger, e);
		}
	}
	if (vm && n == 0)
		SET_ERR(ENOENT, "no VM '%s' in the ledger", vm);
	VN_INFO("accounting reset for %s%s%s%s: %d entr%s", vm ? "VM " : "", vm ? vm : "",
		port ? " port " : "", port ? port : "", n, n == 1 ? "y" : "ies");
	vn_switch_checkpoint(sw);
	return n;
}

void vn_switch_open_ledger(struct vn_switch *sw, const char *path)
{
	g_autoptr(GError) err = NULL;
	int rc;

	g_free(sw->ledger_file);
	sw->ledger_file = g_strdup(path);
	rc = vn_ledger_read(sw->ledger, path, &err);
	if (rc == -ENOENT) {
		VN_INFO("no accounting ledger at %s: starting a new one", path);
	} else if (rc < 0) {
		g_autofree char *keep = g_strdup_printf("%s.corrupt-%" G_GINT64_FORMAT, path,
							g_get_real_time() / G_USEC_PER_SEC);
		if (rename(path, keep) != 0)
			VN_ERR("cannot keep the damaged ledger as %s: %s", keep, g_strerror(errno));
		VN_ERR("accounting ledger %s is damaged (%s): kept as %s, starting a new ledger",
		       path, err->message, keep);
		g_free(sw->ledger_recovered);
		sw->ledger_recovered = g_steal_pointer(&keep);
	} else {
		VN_INFO("accounting ledger %s: %u entr%s restored", path,
			vn_ledger_entries(sw->ledger)->len,
			vn_ledger_entries(sw->ledger)->len == 1 ? "y" : "ies");
	}
}

int vn_switch_checkpoint(struct vn_switch *sw)
{
	g_autoptr(GError) err = NULL;

	if (!sw->ledger_file)
		return 0;
	if (vn_ledger_write(sw->ledger, sw->ledger_file, entry_totals, sw, &err) < 0) {
		sw->checkpoint_failures++;
		VN_LOG_RL(VN_LOG_ERR, "accounting checkpoint failed: %s", err->message);
		return -EIO;
	}
	sw->checkpoints++;
	sw->last_checkpoint = g_get_real_time() / G_USEC_PER_SEC;
	return 0;
}

/* Prometheus label value escaping: backslash, double quote and newline. */
static void prom_label(GString *s, const char *k, const char *v, bool first)
{
	g_string_append_printf(s, "%s%s=\"", first ? "" : ",", k);
	for (const char *p = v ? v : ""; *p; p++) {
		if (*p == '\\' || *p == '"')
			g_string_append_c(s, '\\');
		if (*p == '\n')
			g_string_append(s, "\\n");
		else
			g_string_append_c(s, *p);
	}
	g_string_append_c(s, '"');
}

struct prom_series {
	const char *port, *uuid, *name; /* port NULL: a VM series */
	struct vn_port_counters c;
};

char *vn_switch_metrics(struct vn_switch *sw)
{
	GPtrArray *entries = vn_ledger_entries(sw->ledger);
	g_autoptr(GArray) series = g_array_new(FALSE, TRUE, sizeof(struct prom_series));
	GString *s = g_string_new(NULL);
	const struct vn_counter_field *f;
	size_t nf;

	f = vn_counter_fields(&nf);
	for (guint i = 0; i < entries->len; i++) {
		struct vn_ledger_entry *e = entries->pdata[i];
		struct prom_series ps = {e->port, e->vm_uuid, e->vm_name};
		struct prom_series *vmser = NULL;

		entry_totals(e, &ps.c, sw);
		g_array_append_val(series, ps);
		if (!*e->vm_uuid)
			continue;
		for (guint k = 0; k < series->len; k++) {
			struct prom_series *o = &g_array_index(series, struct prom_series, k);
			if (!o->port && strcmp(o->uuid, e->vm_uuid) == 0)
				vmser = o;
		}
		if (!vmser) {
			struct prom_series v = {NULL, e->vm_uuid, e->vm_name};
			g_array_append_val(series, v);
			vmser = &g_array_index(series, struct prom_series, series->len - 1);
		}
		vn_counters_add(&vmser->c, &ps.c);
		if (*e->vm_name)
			vmser->name = e->vm_name;
	}
	for (int scope = 0; scope < 2; scope++) { /* 0: per port, 1: per VM */
		const char *pre = scope ? "vnicd_vm_" : "vnicd_port_";
		for (size_t k = 0; k < nf; k++) {
			bool drop = strncmp(f[k].name, "drops.", 6) == 0;
			if (drop && strcmp(f[k].name + 6, vn_drop_name(0)) != 0)
				continue; /* one metric family for all drop reasons */
			g_string_append_printf(s, "# HELP %s%s_total vnicd %s %s\n", pre,
					       drop ? "drops" : f[k].name, scope ? "VM" : "port",
					       drop ? "frames dropped, by reason" : f[k].name);
			g_string_append_printf(s, "# TYPE %s%s_total counter\n", pre,
					       drop ? "drops" : f[k].name);
			for (guint i = 0; i < series->len; i++) {
				struct prom_series *ps =
				    &g_array_index(series, struct prom_series, i);
				if ((scope == 0) != (ps->port != NULL))
					continue;
				for (int r = 0; r < (drop ? VN_DROP__MAX : 1); r++) {
					g_string_append_printf(s, "%s%s_total{", pre,
							       drop ? "drops" : f[k].name);
					if (ps->port)
						prom_label(s, "port", ps->port, true);
					prom_label(s, "vm_uuid", ps->uuid, ps->port == NULL);
					prom_label(s, "vm_name", ps->name, false);
					if (drop)
						prom_label(s, "reason", vn_drop_name(r), false);
					g_string_append_printf(
					    s, "} %" G_GUINT64_FORMAT "\n",
					    drop ? ps->c.drops[r] : vn_counter_get(&ps->c, &f[k]));
				}
			}
		}
	}
	return g_string_free(s, FALSE);
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

/* ---- persistence ---- */

int vn_switch_save(struct vn_switch *sw, const char *path, GError **err)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree char *text = NULL;
	gsize len = 0;

	json_builder_begin_object(b);
	vn_json_int(b, "version", STATE_VERSION);
	json_builder_set_member_name(b, "nets");
	json_builder_begin_array(b);
	for (guint i = 0; i < sw->nets->len; i++) {
		struct vn_net *n = sw->nets->pdata[i];
		struct sw_port *up = net_uplink_sp(sw, n);
		json_builder_begin_object(b);
		vn_json_str(b, "name", n->name);
		vn_json_str(b, "type", n->type);
		if (up) {
			const char *d = NULL;
			struct rte_ether_addr orig;
			vn_arg_str(up->args, "devargs", false, &d, NULL);
			vn_json_str(b, "uplink", d);
			if (up->port && vn_uplink_lent_mac(up->port, &orig)) {
				/* a passthru port has it: given back at restart */
				char m[18];
				vn_mac_format(&orig, m);
				vn_json_str(b, "uplink_own_mac", m);
			}
		}
		if (n->fwd == VN_FWD_MACVTAP) {
			vn_json_str(b, "mode", vn_mvt_mode_name(n->mode));
			vn_json_str(b, "hairpin", vn_hairpin_name(n->hairpin));
			if (n->nopromisc) {
				json_builder_set_member_name(b, "nopromisc");
				json_builder_add_boolean_value(b, TRUE);
			}
		}
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "ports");
	json_builder_begin_array(b);
	for (guint i = 0; i < sw->ports->len; i++) {
		struct sw_port *sp = sw->ports->pdata[i];
		JsonNode *node = json_node_new(JSON_NODE_OBJECT);
		json_node_set_object(node, sp->args);
		json_builder_add_value(b, node);
	}
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
	json_builder_end_array(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	text = json_generator_to_data(gen, &len);
	return vn_file_write_atomic(path, text, len, err);
}

/* The `port set` settings saved with uplink port @po, applied to the uplink its network made. */
static int restore_uplink_settings(struct vn_switch *sw, JsonObject *po, GError **err)
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
	uplink_mac_sync(net_uplink_sp(sw, n));
	net_sync_uplink(sw, n);
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
		if (!no || vn_switch_net_create(sw, no, &e) < 0) {
			VN_ERR("state: network %u not restored: %s", i,
			       e ? e->message : "malformed");
			continue;
		}
		if (own_mac) /* vnicd ended while a passthru port had lent its MAC */
			restore_uplink_mac(sw, vn_obj_str(no, "name"), own_mac);
	}
	for (guint i = 0; i < json_array_get_length(ports); i++) {
		g_autoptr(GError) e = NULL;
		JsonNode *pn = json_array_get_element(ports, i);
		JsonObject *po = JSON_NODE_HOLDS_OBJECT(pn) ? json_node_get_object(pn) : NULL;
		if (po && g_strcmp0(vn_obj_str(po, "kind"), vn_uplink_kind.name) == 0) {
			if (restore_uplink_settings(sw, po, &e) < 0) /* made with its network */
				VN_ERR("state: settings of uplink %s not restored: %s",
				       vn_obj_str(po, "name"), e->message);
			continue;
		}
		if (!po || vn_switch_port_add(sw, po, &e) < 0)
			VN_ERR("state: port %s not restored: %s", po ? vn_obj_str(po, "name") : "?",
			       e ? e->message : "malformed");
	}
	for (guint i = 0; i < json_array_get_length(fdb); i++) {
		g_autoptr(GError) e = NULL;
		JsonObject *fo = json_array_get_object_element(fdb, i);
		if (!fo ||
		    vn_switch_fdb_add(sw, vn_obj_str(fo, "mac"), vn_obj_str(fo, "port"), &e) < 0)
			VN_ERR("state: static FDB entry %u not restored: %s", i,
			       e ? e->message : "malformed");
	}
	return 0;
}

int vn_switch_restore(struct vn_switch *sw, const char *path, GError **err)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) perr = NULL;
	int rc = 0;

	sw->restoring = true;
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
	VN_INFO("restored %u network(s), %u port(s), %u static FDB entr%s from %s", sw->nets->len,
		sw->ports->len, sw->statics->len, sw->statics->len == 1 ? "y" : "ies", path);
out:
	sw->restoring = false;
	if (rc == 0)
		sw_changed(sw);
	return rc;
}

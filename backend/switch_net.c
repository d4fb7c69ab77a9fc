/* SPDX-License-Identifier: MIT */
/* Networks on the control thread: made, changed and removed through their kind; their uplinks. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "switch_priv.h"
#include "vnicd/args.h"
#include "vnicd/log.h"
#include "vnicd/mac.h"
#include "vnicd/nat.h"
#include "vnicd/net.h"
#include "vnicd/overlay.h"
#include "vnicd/uplink.h"

static const char *const net_common_keys[] = {"name", "type", "uplink", "uplink_driver", NULL};

static void net_free(struct vn_net *n)
{
	n->kind->destroy(n);
}

/* Every argument of `net add` is a common one or some kind's. */
static int net_keys_check(JsonObject *args, GError **err)
{
	g_autoptr(GList) keys = json_object_get_members(args);

	for (GList *l = keys; l; l = l->next) {
		const char *k = l->data;
		bool common = false;
		for (const char *const *c = net_common_keys; *c; c++)
			common |= strcmp(*c, k) == 0;
		if (!common && !vn_net_key_known(k)) {
			g_autofree char *opt = g_strdelimit(g_strdup(k), "_", '-');
			SET_ERR(EINVAL, "option --%s does not apply to networks", opt);
		}
	}
	return 0;
}

/* The name of network @name's uplink port: valid, and no port has it. */
static int net_uplink_name_check(struct vn_switch *sw, const char *name, GError **err)
{
	char upname[VN_NAME_MAX + 8];

	snprintf(upname, sizeof(upname), "%s-uplink", name);
	if (!vn_name_valid(upname))
		SET_ERR(EINVAL,
			"network name '%s' is too long for its uplink port '%s' (at most %d "
			"characters)",
			name, upname, VN_NAME_MAX - 1 - 7);
	if (find_port(sw, upname))
		SET_ERR(EEXIST, "a port named '%s' already exists", upname);
	return 0;
}

/* The uplink @devargs of network @name: a valid device, not in use. */
static int net_uplink_check(struct vn_switch *sw, const char *name, const char *devargs,
			    GError **err)
{
	g_autoptr(JsonObject) ua = json_object_new();
	int rc;

	json_object_set_string_member(ua, "devargs", devargs);
	if ((rc = vn_uplink_kind.check(ua, sw->cfg, err)) < 0)
		return rc;
	for (guint i = 0; i < sw->ports->len; i++) {
		struct sw_port *o = sw->ports->pdata[i];
		const char *od = NULL;
		if (o->kind != &vn_uplink_kind)
			continue;
		vn_arg_str(o->args, "devargs", false, &od, NULL);
		if (od && strcmp(od, devargs) == 0)
			SET_ERR(EEXIST, "--uplink '%s' is already the uplink of network '%s'",
				devargs, o->net);
	}
	return 0;
}

/* Return: whether --uplink @v names a kernel interface ("eth1") rather than DPDK devargs. */
static bool uplink_is_ifname(const char *v)
{
	/* devargs have options (','), a driver name (net_...) or a PCI address (':', which
	 * interface names never hold) */
	return *v && strlen(v) < IF_NAMESIZE && !strpbrk(v, ",=:/ ") &&
	       !g_str_has_prefix(v, "net_");
}

/*
 * --uplink IFNAME [--uplink-driver af_packet|af_xdp] (a kernel interface, as libvirt's
 * <source dev='eth1'/> gives it) becomes the devargs net_af_packetN,iface=IFNAME (or
 * net_af_xdpN), N the interface's index (one device name per interface), in @args' "uplink";
 * devargs are left as given (and checked against the allow-list later).
 */
static int net_uplink_resolve(JsonObject *args, GError **err)
{
	const char *up = NULL, *drv = NULL;
	g_autofree char *devargs = NULL;
	unsigned idx;
	int rc;

	if ((rc = vn_arg_str(args, "uplink", false, &up, err)) < 0 ||
	    (rc = vn_arg_str(args, "uplink_driver", false, &drv, err)) < 0)
		return rc;
	if (drv && strcmp(drv, "af_packet") != 0 && strcmp(drv, "af_xdp") != 0)
		SET_ERR(EINVAL, "--uplink-driver '%s': af_packet or af_xdp", drv);
	if (drv && (!up || !uplink_is_ifname(up)))
		SET_ERR(EINVAL, "--uplink-driver goes with --uplink IFNAME (a kernel interface "
				"name), not with DPDK devargs");
	if (!up || !uplink_is_ifname(up))
		return 0;
	idx = if_nametoindex(up);
	if (!idx)
		SET_ERR(ENODEV,
			"--uplink '%s': no such interface (a kernel interface name, or DPDK "
			"devargs such as net_af_packet0,iface=eth1)",
			up);
	devargs = g_strdup_printf("net_%s%u,iface=%s", drv ? drv : "af_packet", idx, up);
	json_object_set_string_member(args, "uplink", devargs);
	json_object_remove_member(args, "uplink_driver");
	return 0;
}

/* Validate the `net add` arguments @args into *@kind and *@devargs; makes nothing. */
static int net_args_check(struct vn_switch *sw, JsonObject *args, const struct vn_net_kind **kind,
			  const char **devargs, GError **err)
{
	const char *name = NULL, *type = NULL;
	int rc;

	if ((rc = vn_arg_str(args, "name", true, &name, err)) < 0 ||
	    (rc = vn_arg_str(args, "type", true, &type, err)) < 0)
		return rc;
	if (!vn_name_valid(name))
		SET_ERR(EINVAL, "invalid network name '%s' (1-31 characters of A-Z a-z 0-9 _ . -)",
			name);
	*kind = vn_net_kind_find(type);
	if (!*kind) {
		g_autofree char *l = vn_net_kind_names();
		SET_ERR(EINVAL, "unsupported network type '%s' (supported: %s)", type, l);
	}
	if ((rc = net_keys_check(args, err)) < 0 || (rc = (*kind)->check(args, err)) < 0 ||
	    (rc = vn_arg_str(args, "uplink", false, devargs, err)) < 0)
		return rc;
	if (*devargs && (rc = net_uplink_name_check(sw, name, err)) < 0)
		return rc;
	if ((rc = net_uplink_resolve(args, err)) < 0 ||
	    (rc = vn_arg_str(args, "uplink", false, devargs, err)) < 0)
		return rc;
	if (*devargs && (rc = net_uplink_check(sw, name, *devargs, err)) < 0)
		return rc;
	return 0;
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
	rc = sw_port_add(sw, a, &vn_uplink_kind, err);
	sw->restoring = restoring;
	if (rc < 0)
		return rc;
	sp = find_port(sw, upname);
	n->uplink = sp->port;
	sw_uplink_mac_sync(sp);
	sw_net_sync_uplink(sw, n);
	return 0;
}

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
	const struct vn_net_kind *kind = NULL;
	struct vn_net_env env = {sw->cfg, sw->dp, &sw->host};
	const char *name = NULL, *devargs = NULL;
	struct vn_net *n = NULL;
	int rc;

	if ((rc = net_args_check(sw, args, &kind, &devargs, err)) < 0)
		return rc;
	vn_arg_str(args, "name", true, &name, NULL);
	if (find_net(sw, name))
		SET_ERR(EEXIST, "network '%s' already exists", name);
	if (sw->nets->len >= sw->cfg->max_nets) {
		sw->nets_limit_hits++;
		SET_ERR(ENOSPC, "network limit reached (max_nets = %u)", sw->cfg->max_nets);
	}
	if ((rc = kind->create(name, sw->next_net_id++, args, &env, &n, err)) < 0)
		return rc;
	g_ptr_array_add(sw->nets, n);
	if (devargs && (rc = net_attach_uplink(sw, n, devargs, err)) < 0) {
		g_ptr_array_remove(sw->nets, n);
		net_free(n);
		return rc;
	}
	vn_log_ctx(VN_LOG_INFO, &(struct vn_log_ctx){.net = name}, "network %s (%s%s%s) added",
		   name, kind->name, devargs ? ", uplink " : "", devargs ? devargs : "");
	sw_changed(sw);
	return 0;
}

int vn_switch_net_del(struct vn_switch *sw, const char *name, GError **err)
{
	struct vn_net *n = name ? find_net(sw, name) : NULL;
	struct sw_port *up;

	if (name && sw_pending_ports_on(sw, name))
		SET_ERR(EBUSY,
			"network '%s' still has %u failed port(s) kept from the state file; "
			"delete them first",
			name, sw_pending_ports_on(sw, name));
	if (!n && name && sw_pending_del(sw, SW_PEND_NET, name) == 0)
		return 0;
	if (!n)
		SET_ERR(ENOENT, "no network '%s'", name ? name : "");
	for (guint i = 0; i < sw->nets->len; i++) {
		struct vn_net *o = sw->nets->pdata[i];
		if (o->kind == &vn_overlay_net_kind &&
		    strcmp(((struct vn_overlay *)o)->underlay, name) == 0)
			SET_ERR(EBUSY,
				"network '%s' is the underlay of overlay '%s'; delete that first",
				name, o->name);
		if (o->kind == &vn_nat_net_kind && strcmp(vn_nat_external_of(o), name) == 0)
			SET_ERR(EBUSY,
				"network '%s' is the external network of NAT network '%s'; delete "
				"that first",
				name, o->name);
	}
	up = sw_net_uplink_port(sw, n);
	if (n->nr_ports > (up ? 1u : 0u))
		SET_ERR(EBUSY, "network '%s' still has %u port(s); delete them first", name,
			n->nr_ports - (up ? 1u : 0u));
	if (up) {
		sw_port_del(sw, up);
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
	vn_log_ctx(VN_LOG_INFO, &(struct vn_log_ctx){.net = name}, "network %s deleted", name);
	sw_changed(sw);
	return 0;
}

/* Every kind's `net set` keys (NULL-terminated; the first is "name"), and, appended to
 * @usage, "--mode M, --hairpin H". */
static GPtrArray *net_set_keys(GString *usage)
{
	GPtrArray *keys = g_ptr_array_new();
	const struct vn_net_kind *k;

	g_ptr_array_add(keys, (gpointer) "name");
	for (size_t i = 0; (k = vn_net_kind_at(i)); i++)
		for (const char *const *s = k->set_keys; s && *s; s++) {
			g_ptr_array_add(keys, (gpointer)*s);
			g_string_append_printf(usage, "%s--%s %c", usage->len ? ", " : "", *s,
					       g_ascii_toupper(**s));
		}
	g_ptr_array_add(keys, NULL);
	return keys;
}

/* A `net set` key of @args that network @n's kind does not take: refused, naming the
 * kind(s) that do, as "--mode and --hairpin apply to macvtap networks". */
static int net_set_kind_check(struct vn_net *n, JsonObject *args, GError **err)
{
	g_autoptr(GList) keys = json_object_get_members(args);

	for (GList *l = keys; l; l = l->next) {
		const struct vn_net_kind *k;
		if (vn_key_listed(l->data, n->kind->set_keys) || strcmp(l->data, "name") == 0)
			continue;
		for (size_t i = 0; (k = vn_net_kind_at(i)); i++) {
			g_autoptr(GString) opts = g_string_new(NULL);
			if (!vn_key_listed(l->data, k->set_keys))
				continue;
			for (const char *const *s = k->set_keys; *s; s++)
				g_string_append_printf(opts, "%s--%s",
						       s == k->set_keys ? ""
						       : s[1]		? ", "
									: " and ",
						       *s);
			SET_ERR(EINVAL, "%s apply to %s networks ('%s' is a %s network)", opts->str,
				k->name, n->name, n->kind->name);
		}
	}
	return 0;
}

int vn_switch_net_set(struct vn_switch *sw, JsonObject *args, GError **err)
{
	g_autoptr(GString) usage = g_string_new(NULL);
	g_autoptr(GPtrArray) keys = net_set_keys(usage);
	const char *name = NULL;
	struct vn_net *n;
	struct sw_port *up;
	int rc;

	if ((rc = vn_args_only(args, (const char *const *)keys->pdata, NULL, "net set", err)) < 0 ||
	    (rc = vn_arg_str(args, "name", true, &name, err)) < 0)
		return rc;
	n = find_net(sw, name);
	if (!n)
		SET_ERR(ENOENT, "no network '%s'", name);
	if (json_object_get_size(args) < 2)
		SET_ERR(EINVAL, "net set %s: nothing to set (%s)", name, usage->str);
	if ((rc = net_set_kind_check(n, args, err)) < 0)
		return rc;
	up = sw_net_uplink_port(sw, n);
	if ((rc = n->kind->set(n, args, n->nr_ports - (up ? 1u : 0u), err)) < 0)
		return rc;
	sw_changed(sw);
	return 0;
}

void sw_json_net_uplink(struct vn_switch *sw, struct vn_net *n, JsonBuilder *b, bool detail)
{
	struct sw_port *up = sw_net_uplink_port(sw, n);

	vn_json_str(b, "uplink", up ? up->name : NULL);
	n->kind->describe(n, b);
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

/* ---- what network kinds may use (struct vn_net_host) ---- */

static struct vn_net *host_net_find(void *sw, const char *name)
{
	return name ? find_net(sw, name) : NULL;
}

static int host_slot_take(void *ud, GError **err)
{
	struct vn_switch *sw = ud;

	for (unsigned s = 0; s < VN_MAX_PORTS_HARD; s++)
		if (!sw->slots[s] && !sw->reserved[s]) {
			sw->reserved[s] = true;
			return (int)s;
		}
	SET_ERR(ENOSPC, "no free port slot");
}

static void host_slot_give(void *ud, uint16_t slot)
{
	((struct vn_switch *)ud)->reserved[slot] = false;
}

static int host_port_add(void *ud, JsonObject *args, const struct vn_port_kind *kind,
			 struct vn_port **out, GError **err)
{
	struct vn_switch *sw = ud;
	bool restoring = sw->restoring;
	struct sw_port *sp;
	int rc;

	sw->restoring = true; /* not saved: its network makes it again */
	rc = sw_port_add(sw, args, kind, err);
	sw->restoring = restoring;
	if (rc < 0)
		return rc;
	sp = find_port(sw, vn_obj_str(args, "name"));
	sp->internal = true;
	*out = sp->port;
	return 0;
}

static void host_port_del(void *ud, const char *name)
{
	struct vn_switch *sw = ud;
	struct sw_port *sp = find_port(sw, name);
	bool restoring = sw->restoring;

	if (!sp)
		return;
	sw->restoring = true;
	sw_port_del(sw, sp);
	sw->restoring = restoring;
}

static void host_publish(void *sw)
{
	sw_publish(sw);
}

static void host_changed(void *sw)
{
	sw_changed(sw);
}

static void host_each_port(void *ud, const struct vn_net *n,
			   void (*cb)(void *ud, const char *name, const char *kind,
				      const struct vn_port *p),
			   void *cb_ud)
{
	struct vn_switch *sw = ud;

	for (guint i = 0; i < sw->ports->len; i++) {
		struct sw_port *sp = sw->ports->pdata[i];
		if (sp->vnet == n && !sp->internal && sp->port)
			cb(cb_ud, sp->name, sp->kind->name, sp->port);
	}
}

void sw_host_init(struct vn_switch *sw)
{
	sw->host = (struct vn_net_host){.sw = sw,
					.mp = sw->mp,
					.net_find = host_net_find,
					.slot_take = host_slot_take,
					.slot_give = host_slot_give,
					.port_add = host_port_add,
					.port_del = host_port_del,
					.publish = host_publish,
					.changed = host_changed,
					.each_port = host_each_port};
}

/* The overlay network @net, or NULL with @err. */
static struct vn_net *overlay_net(struct vn_switch *sw, const char *net, GError **err)
{
	struct vn_net *n = net ? find_net(sw, net) : NULL;

	if (!n)
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "no network '%s'", net ? net : "");
	else if (n->kind != &vn_overlay_net_kind)
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "network '%s' is a %s network: VTEP entries belong to overlays", net,
			    n->kind->name);
	else
		return n;
	return NULL;
}

int vn_switch_vtep_add(struct vn_switch *sw, const char *net, const char *mac, const char *ip,
		       GError **err)
{
	struct vn_net *n = overlay_net(sw, net, err);
	int rc;

	if (!n)
		return -ENOENT;
	if ((rc = vn_overlay_vtep_add(n, mac, ip, err)) < 0)
		return rc;
	sw_changed(sw);
	return 0;
}

int vn_switch_vtep_del(struct vn_switch *sw, const char *net, const char *mac, GError **err)
{
	struct vn_net *n = overlay_net(sw, net, err);
	int rc;

	if (!n)
		return -ENOENT;
	if ((rc = vn_overlay_vtep_del(n, mac, err)) < 0)
		return rc;
	sw_changed(sw);
	return 0;
}

int vn_switch_json_vteps(struct vn_switch *sw, const char *net, JsonBuilder *b, GError **err)
{
	struct vn_net *only = NULL;

	if (net && !(only = overlay_net(sw, net, err)))
		return -ENOENT;
	json_builder_begin_array(b);
	for (guint i = 0; i < sw->nets->len; i++) {
		struct vn_net *n = sw->nets->pdata[i];
		if ((!only || n == only) && n->kind == &vn_overlay_net_kind)
			vn_overlay_vtep_list(n, b);
	}
	json_builder_end_array(b);
	return 0;
}

/* ---- NAT networks: port forwards and connections ---- */

/* The NAT network @net, or NULL with @err. */
static struct vn_net *nat_net(struct vn_switch *sw, const char *net, GError **err)
{
	struct vn_net *n = net ? find_net(sw, net) : NULL;

	if (!n)
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "no network '%s'", net ? net : "");
	else if (n->kind != &vn_nat_net_kind)
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "network '%s' is a %s network: port forwards and connections belong "
			    "to NAT networks",
			    net, n->kind->name);
	else
		return n;
	return NULL;
}

int vn_switch_nat_forward(struct vn_switch *sw, JsonObject *args, bool add, GError **err)
{
	struct vn_net *n = nat_net(sw, vn_obj_str(args, "net"), err);
	int rc;

	if (!n)
		return -ENOENT;
	rc = add ? vn_nat_forward_add(n, args, err) : vn_nat_forward_del(n, args, err);
	if (rc < 0)
		return rc;
	sw_changed(sw);
	return 0;
}

int vn_switch_nat_json(struct vn_switch *sw, const char *net, bool conntrack, JsonBuilder *b,
		       GError **err)
{
	struct vn_net *only = NULL;

	if (net && !(only = nat_net(sw, net, err)))
		return -ENOENT;
	json_builder_begin_array(b);
	for (guint i = 0; i < sw->nets->len; i++) {
		struct vn_net *n = sw->nets->pdata[i];
		if ((only && n != only) || n->kind != &vn_nat_net_kind)
			continue;
		if (conntrack)
			vn_nat_conntrack_list(n, b);
		else
			vn_nat_forward_list(n, b);
	}
	json_builder_end_array(b);
	return 0;
}

int vn_switch_nat_flush(struct vn_switch *sw, const char *net, JsonBuilder *b, GError **err)
{
	struct vn_net *only = NULL;
	unsigned gone = 0;

	if (net && !(only = nat_net(sw, net, err)))
		return -ENOENT;
	for (guint i = 0; i < sw->nets->len; i++) {
		struct vn_net *n = sw->nets->pdata[i];
		if ((!only || n == only) && n->kind == &vn_nat_net_kind)
			gone += vn_nat_conntrack_flush(n);
	}
	json_builder_begin_object(b);
	vn_json_int(b, "removed", gone);
	json_builder_end_object(b);
	return 0;
}

/* Integer member @k of @o, or 0. */
static unsigned int_member(JsonObject *o, const char *k)
{
	JsonNode *v = o ? json_object_get_member(o, k) : NULL;

	if (!v || !JSON_NODE_HOLDS_VALUE(v) || json_node_get_value_type(v) != G_TYPE_INT64)
		return 0;
	return (unsigned)CLAMP(json_node_get_int(v), 0, 65535);
}

unsigned sw_net_guest_mtu(struct vn_switch *sw, struct vn_net *n)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) root = NULL;
	struct sw_port *up = sw_net_uplink_port(sw, n);
	JsonObject *o;
	unsigned mtu;

	/* what `net show` and `port show` of the uplink report */
	json_builder_begin_object(b);
	n->kind->describe(n, b);
	json_builder_set_member_name(b, "uplink_port");
	json_builder_begin_object(b);
	if (up && up->port && up->port->ops->describe)
		up->port->ops->describe(up->port, b);
	json_builder_end_object(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	o = json_node_get_object(root);
	if ((mtu = int_member(o, "guest_mtu")) || (mtu = int_member(o, "mtu")))
		return mtu;
	return int_member(json_object_get_object_member(o, "uplink_port"), "mtu");
}

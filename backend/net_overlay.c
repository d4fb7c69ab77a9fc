/* SPDX-License-Identifier: MIT */
/*
 * The overlay network kind: guests on several hosts in one L2 segment per VNI, carried
 * over an underlay network by VXLAN, Geneve or NVGRE. See overlay.h for the model.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_branch_prediction.h>

#include "vnicd/args.h"
#include "vnicd/bridge.h"
#include "vnicd/config.h"
#include "vnicd/evpn.h"
#include "vnicd/log.h"
#include "vnicd/mac.h"
#include "vnicd/overlay.h"

static const char *const ov_keys[] = {"encap",	      "vni",	 "local",      "underlay",
				      "remote",	      "dstport", "mtu",	       "gateway",
				      "static_vteps", "control", "evpn_netns", NULL};
static const char *const ov_port_keys[] = {"vni", "vni_map", NULL};
static const char *const ov_set_keys[] = {"remote", "control", "evpn_netns", NULL};
static const char *const encap_names[VN_TUN__MAX] = {"vxlan", "geneve", "nvgre"};

static const char *const drop_names[VN_OV_DROP__MAX] = {
    "ok",	   "not_mine",	  "truncated",	  "outer_fragment",  "bad_checksum",
    "bad_flags",   "bad_version", "bad_protocol", "critical_option", "oam",
    "inner_short", "ecn",	  "unknown_vni",  "unknown_remote",  "too_big",
    "unresolved"};

const char *vn_ov_encap_name(unsigned type)
{
	return type < VN_TUN__MAX ? encap_names[type] : "?";
}

const char *vn_ov_drop_name(unsigned why)
{
	return why < VN_OV_DROP__MAX ? drop_names[why] : "?";
}

static struct vn_overlay *ov_of(struct vn_net *n)
{
	return (struct vn_overlay *)n;
}

/* ---- arguments ---- */

struct ov_args {
	int encap;
	guint64 vni, dstport, mtu;
	struct vn_tun_addr local, gateway;
	unsigned prefix;
	const char *local_s, *underlay, *gateway_s, *remote;
};

/* --local IP[/PREFIX] */
static int parse_local(const char *s, struct vn_tun_addr *a, unsigned *prefix, GError **err)
{
	g_autofree char *ip = g_strdup(s);
	char *slash = strchr(ip, '/');
	guint64 p = 0;

	if (slash) {
		*slash = '\0';
		if (!g_ascii_string_to_unsigned(slash + 1, 10, 0, 128, &p, NULL))
			VN_FAIL(err, EINVAL, "invalid --local '%s' (IP or IP/PREFIX)", s);
	}
	if (vn_tun_addr_parse(ip, a) < 0 || p > (a->v6 ? 128u : 32u))
		VN_FAIL(err, EINVAL, "invalid --local '%s' (an IPv4 or IPv6 address)", s);
	*prefix = (unsigned)p;
	return 0;
}

/* Each address of comma-separated @list parses in @a's family (@cb each, when given). */
static int remotes_each(const char *list, const struct vn_tun_addr *local,
			int (*cb)(void *ud, const struct vn_tun_addr *a, GError **err), void *ud,
			GError **err)
{
	g_auto(GStrv) parts = g_strsplit(list, ",", -1);
	int rc;

	for (char **p = parts; *p; p++) {
		struct vn_tun_addr a;
		g_strstrip(*p);
		if (!**p)
			continue;
		if (vn_tun_addr_parse(*p, &a) < 0 || a.v6 != local->v6)
			VN_FAIL(err, EINVAL,
				"invalid --remote '%s' (addresses of --local's family)", *p);
		if (cb && (rc = cb(ud, &a, err)) < 0)
			return rc;
	}
	return 0;
}

static int ov_parse(JsonObject *args, struct ov_args *o, GError **err)
{
	const char *encap = NULL;
	int rc;

	memset(o, 0, sizeof(*o));
	if (json_object_has_member(args, "uplink"))
		VN_FAIL(err, EINVAL, "an overlay has no --uplink: it uses its --underlay's");
	if (!json_object_has_member(args, "encap"))
		VN_FAIL(err, EINVAL, "an overlay needs --type vxlan|geneve|nvgre");
	if (!json_object_has_member(args, "local"))
		VN_FAIL(err, EINVAL, "an overlay needs --local IP (its VTEP address)");
	if (!json_object_has_member(args, "underlay"))
		VN_FAIL(err, EINVAL, "an overlay needs --underlay NET (a network with an uplink)");
	if ((rc = vn_arg_str(args, "encap", true, &encap, err)) < 0 ||
	    (rc = vn_arg_uint(args, "vni", 1, VN_TUN_VNI_MAX, &o->vni, err)) < 0 ||
	    (rc = vn_arg_str(args, "local", true, &o->local_s, err)) < 0 ||
	    (rc = vn_arg_str(args, "underlay", true, &o->underlay, err)) < 0 ||
	    (rc = vn_arg_str(args, "remote", false, &o->remote, err)) < 0 ||
	    (rc = vn_arg_str(args, "gateway", false, &o->gateway_s, err)) < 0 ||
	    (rc = vn_arg_uint(args, "dstport", 1, 65535, &o->dstport, err)) < 0 ||
	    (rc = vn_arg_uint(args, "mtu", 576, 65535, &o->mtu, err)) < 0)
		return rc;
	if (!json_object_has_member(args, "vni"))
		VN_FAIL(err, EINVAL, "an overlay needs --vni N (1-16777215)");
	for (o->encap = 0; o->encap < VN_TUN__MAX; o->encap++)
		if (strcmp(encap, encap_names[o->encap]) == 0)
			break;
	if (o->encap == VN_TUN__MAX)
		VN_FAIL(err, EINVAL, "unknown --type '%s' (vxlan, geneve or nvgre)", encap);
	if (o->encap == VN_TUN_NVGRE && json_object_has_member(args, "dstport"))
		VN_FAIL(err, EINVAL, "--dstport does not apply to nvgre (GRE has no ports)");
	if (!o->dstport)
		o->dstport = o->encap == VN_TUN_GENEVE ? VN_TUN_GENEVE_PORT : VN_TUN_VXLAN_PORT;
	if (!o->mtu)
		o->mtu = 1500;
	if ((rc = parse_local(o->local_s, &o->local, &o->prefix, err)) < 0)
		return rc;
	if (o->gateway_s &&
	    (vn_tun_addr_parse(o->gateway_s, &o->gateway) < 0 || o->gateway.v6 != o->local.v6))
		VN_FAIL(err, EINVAL, "invalid --gateway '%s' (an address of --local's family)",
			o->gateway_s);
	if (o->remote && (rc = remotes_each(o->remote, &o->local, NULL, NULL, err)) < 0)
		return rc;
	return 0;
}

static int ov_check(JsonObject *args, GError **err)
{
	struct vn_evpn_args ea;
	struct ov_args o;
	int rc;

	if ((rc = ov_parse(args, &o, err)) < 0 || (rc = vn_evpn_parse(args, &ea, err)) < 0)
		return rc;
	if (ea.on && o.encap != VN_TUN_VXLAN)
		VN_FAIL(err, EINVAL, "--control evpn needs --type vxlan (FRR's EVPN is VXLAN)");
	if (ea.on && o.remote)
		VN_FAIL(err, EINVAL, "--control evpn takes no --remote: BGP gives the remotes");
	return 0;
}

static uint16_t overhead_of(int encap, bool v6)
{
	uint16_t ip = v6 ? 40 : 20;

	return (uint16_t)(ip + 14 + (encap == VN_TUN_NVGRE ? 8 : 16));
}

/* ---- life cycle ---- */

static int add_remote_cb(void *ud, const struct vn_tun_addr *a, GError **err)
{
	return vn_ov_remote_add(ud, a, true, err) ? 0 : -EINVAL;
}

static void ov_destroy(struct vn_net *n)
{
	struct vn_overlay *ov = ov_of(n);

	vn_evpn_detach(ov, ov->host && ov->host->closing);
	while (ov->nr_rem)
		vn_ov_remote_del(ov, ov->rem[ov->nr_rem - 1]);
	vn_vtep_put(ov);
	if (ov->statics)
		g_ptr_array_unref(ov->statics);
	if (ov->graveyard)
		g_ptr_array_unref(ov->graveyard);
	for (unsigned i = 0; i < VN_MAX_PORTS_HARD; i++)
		g_free(ov->ports[i].vmap);
	g_free(ov->underlay);
	g_free(ov->local_str);
	g_free(ov->gateway_str);
	vn_net_fini(n);
	g_free(ov);
}

static int ov_statics_restore(struct vn_overlay *ov, JsonObject *args, GError **err);

static int ov_create(const char *name, uint16_t id, JsonObject *args, const struct vn_net_env *env,
		     struct vn_net **out, GError **err)
{
	struct vn_overlay *ov = g_new0(struct vn_overlay, 1);
	struct vn_evpn_args ea;
	struct vn_net *u = NULL;
	struct ov_args o;
	int rc;

	if ((rc = ov_check(args, err)) < 0 || (rc = ov_parse(args, &o, err)) < 0 ||
	    (rc = vn_evpn_parse(args, &ea, err)) < 0 ||
	    (rc = vn_net_init(&ov->base, &vn_overlay_net_kind, name, id, env, err)) < 0) {
		g_free(ov);
		return rc;
	}
	ov->type = (uint8_t)o.encap;
	ov->dstport = (uint16_t)o.dstport;
	ov->mtu = (uint16_t)o.mtu;
	ov->overhead = overhead_of(o.encap, o.local.v6);
	ov->underlay = g_strdup(o.underlay);
	ov->local_str = g_strdup(o.local_s);
	ov->gateway_str = g_strdup(o.gateway_s);
	ov->prefix_len = (uint8_t)o.prefix;
	ov->loc = (struct vn_tun_local){.type = ov->type, .addr = o.local, .dstport = ov->dstport};
	ov->vni[0] = (uint32_t)o.vni;
	ov->nr_vni = 1;
	ov->statics = g_ptr_array_new_with_free_func(g_free);
	ov->graveyard = g_ptr_array_new_with_free_func(g_free);
	ov->host = env->host;
	ov->dp = env->dp;
	ov->fdb_aging = env->cfg ? env->cfg->fdb_aging : 300;
	ov->evpn_grace = env->cfg ? MIN(env->cfg->evpn_restart_grace, ov->fdb_aging) : 30;
	if (env->host)
		u = env->host->net_find(env->host->sw, o.underlay);
	if (env->host && !u)
		rc = -ENOENT, g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
					  "no network '%s' (--underlay)", o.underlay);
	else if (u && u->kind == &vn_overlay_net_kind)
		rc = -EINVAL, g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
					  "--underlay '%s' is an overlay itself", o.underlay);
	else if (u && env->dp)
		rc = vn_vtep_get(ov, u, err);
	if (rc == 0 && env->dp && o.remote)
		rc = remotes_each(o.remote, &o.local, add_remote_cb, ov, err);
	if (rc == 0)
		rc = ov_statics_restore(ov, args, err);
	if (rc == 0 && ea.on && env->dp)
		rc = vn_evpn_attach(ov, &ea, ov->evpn_grace, true, err);
	if (rc < 0) {
		ov_destroy(&ov->base);
		return rc;
	}
	*out = &ov->base;
	return 0;
}

/* `net set NAME --remote LIST`: the flooding remotes become LIST (a remote that static
 * entries point at stays, not flooding). */
static int ov_set(struct vn_net *n, JsonObject *args, unsigned guests, GError **err)
{
	struct vn_overlay *ov = ov_of(n);
	const char *list = NULL;
	int rc;

	if ((rc = vn_arg_str(args, "remote", false, &list, err)) < 0 ||
	    (rc = vn_evpn_set(ov, args, list != NULL, err)) < 0)
		return rc;
	if (!list)
		return 0;
	if ((rc = remotes_each(list, &ov->loc.addr, NULL, NULL, err)) < 0)
		return rc;
	if (!ov->dp)
		return 0;
	for (unsigned i = ov->nr_rem; i-- > 0;) {
		struct vn_tun_port *r = ov->rem[i];
		char buf[INET6_ADDRSTRLEN];
		g_auto(GStrv) parts = g_strsplit(list, ",", -1);
		bool keep = false;
		for (char **p = parts; *p; p++)
			keep |= strcmp(g_strstrip(*p), vn_tun_addr_format(&r->ip, buf)) == 0;
		if (keep)
			continue;
		vn_ov_remote_unflood(ov, r);
	}
	if ((rc = remotes_each(list, &ov->loc.addr, add_remote_cb, ov, err)) < 0)
		return rc;
	VN_INFO("network %s: remote VTEPs %s", n->name, list);
	return 0;
}

static void ov_tick(struct vn_net *n, uint64_t now, const struct vn_config *cfg)
{
	struct vn_overlay *ov = ov_of(n);

	if (n->fdb)
		vn_fdb_age(n->fdb, now, cfg->fdb_aging);
	if (ov->graveyard->len && ov->dp) { /* VLAN maps replaced since the last tick */
		vn_dp_synchronize(ov->dp);
		g_ptr_array_set_size(ov->graveyard, 0);
	}
}

/* ---- ports and their VNIs ---- */

/* The segment of @vni in @ov, made when new. Return: it, or -ENOSPC. */
static int seg_take(struct vn_overlay *ov, uint32_t vni)
{
	int seg = vn_ov_seg_of_vni(ov, vni);

	if (seg < 0)
		for (unsigned i = 1; i < VN_OV_MAX_VNIS && seg < 0; i++)
			if (i >= ov->nr_vni || !ov->vni_users[i]) {
				__atomic_store_n(&ov->vni[i], vni, __ATOMIC_RELAXED);
				seg = (int)i;
				if (i >= ov->nr_vni)
					__atomic_store_n(&ov->nr_vni, i + 1, __ATOMIC_RELEASE);
			}
	if (seg >= 0)
		ov->vni_users[seg]++;
	return seg < 0 ? -ENOSPC : seg;
}

/* Release the segments port @c uses (its VNI and those of its VLAN map). */
static void cfg_release(struct vn_overlay *ov, const struct vn_ov_port *c)
{
	int seg = vn_ov_seg_of_vni(ov, c->vni);

	if (seg >= 0 && ov->vni_users[seg])
		ov->vni_users[seg]--;
	for (uint8_t i = 0; c->vmap && i < c->vmap->n; i++)
		if (c->vmap->vlan[i] && (seg = vn_ov_seg_of_vni(ov, c->vmap->key[i])) >= 0 &&
		    ov->vni_users[seg])
			ov->vni_users[seg]--;
}

/* Take the segments of port @c; Return: their kind-byte bits, or -ENOSPC (none kept). */
static int cfg_take(struct vn_overlay *ov, const struct vn_ov_port *c, GError **err)
{
	struct vn_ov_port done = {.vni = c->vni};
	struct vn_vlan_map part = {0};
	int seg = seg_take(ov, c->vni), bits;

	if (seg < 0)
		goto full;
	bits = 1 << seg;
	for (uint8_t i = 0; c->vmap && i < c->vmap->n; i++) {
		if (!c->vmap->vlan[i])
			continue;
		if ((seg = seg_take(ov, c->vmap->key[i])) < 0) {
			done.vmap = &part;
			cfg_release(ov, &done);
			goto full;
		}
		part.key[part.n] = c->vmap->key[i];
		part.vlan[part.n++] = c->vmap->vlan[i];
		bits |= 1 << seg;
	}
	return bits;
full:
	VN_FAIL(err, ENOSPC, "overlay '%s' carries %d VNIs already", ov->base.name, VN_OV_MAX_VNIS);
}

/* --vni-map VLAN:VNI[,VLAN:VNI...] (or "none") of a port whose own VNI is @vni into *@out
 * (NULL for none; g_free it). */
static int vmap_parse(const char *text, uint32_t vni, struct vn_vlan_map **out, GError **err)
{
	g_auto(GStrv) parts = g_strsplit(text, ",", -1);
	g_autofree struct vn_vlan_map *vm = g_new0(struct vn_vlan_map, 1);

	*out = NULL;
	if (strcmp(text, "none") == 0 || !*text)
		return 0;
	vm->key[vm->n] = vni; /* untagged frames: the port's own VNI */
	vm->vlan[vm->n++] = 0;
	for (char **p = parts; *p; p++) {
		guint64 vlan, v;
		g_auto(GStrv) kv = g_strsplit(g_strstrip(*p), ":", 2);
		if (!kv[0] || !kv[1] ||
		    !g_ascii_string_to_unsigned(kv[0], 10, 1, 4094, &vlan, NULL) ||
		    !g_ascii_string_to_unsigned(kv[1], 10, 1, VN_TUN_VNI_MAX, &v, NULL))
			VN_FAIL(err, EINVAL, "invalid --vni-map entry '%s' (VLAN:VNI, VLAN 1-4094)",
				*p);
		for (uint8_t i = 1; i < vm->n; i++)
			if (vm->vlan[i] == vlan || vm->key[i] == v || v == vni)
				VN_FAIL(err, EINVAL, "--vni-map maps a VLAN or a VNI twice ('%s')",
					*p);
		if (vm->n == VN_OV_MAX_VNIS)
			VN_FAIL(err, EINVAL, "--vni-map takes at most %d entries",
				VN_OV_MAX_VNIS - 1);
		vm->key[vm->n] = (uint32_t)v;
		vm->vlan[vm->n++] = (uint16_t)vlan;
	}
	*out = g_steal_pointer(&vm);
	return 0;
}

/* The port's settings after @args (--vni, --vni-map) on top of @cur into *@c. */
static int cfg_parse(struct vn_overlay *ov, const struct vn_ov_port *cur, JsonObject *args,
		     struct vn_ov_port *c, GError **err)
{
	guint64 vni = cur->vni ? cur->vni : ov->vni[0];
	const char *map = NULL;
	int rc;

	if ((rc = vn_arg_uint(args, "vni", 1, VN_TUN_VNI_MAX, &vni, err)) < 0 ||
	    (rc = vn_arg_str(args, "vni_map", false, &map, err)) < 0)
		return rc;
	c->vni = (uint32_t)vni;
	c->vmap = NULL;
	if (map)
		return vmap_parse(map, c->vni, &c->vmap, err);
	if (cur->vmap) { /* kept, with the port's VNI as the untagged one */
		c->vmap = g_memdup2(cur->vmap, sizeof(*cur->vmap));
		c->vmap->key[0] = c->vni;
	}
	return 0;
}

/* Port @slot (staged as @s) gets settings @c (taken already): kind byte, VLAN map. */
static void cfg_apply(struct vn_overlay *ov, uint16_t slot, struct vn_slot *s, struct vn_ov_port *c,
		      int bits)
{
	struct vn_ov_port *p = &ov->ports[slot];

	if (p->vmap)
		g_ptr_array_add(ov->graveyard, p->vmap); /* workers may still read it */
	*p = *c;
	s->kmode = (uint8_t)bits;
	s->vmap = c->vmap;
}

static int ov_join(struct vn_net *n, struct vn_port *port, struct vn_slot *s, JsonObject *args,
		   GError **err)
{
	struct vn_overlay *ov = ov_of(n);
	struct vn_ov_port none = {0}, c = {0};
	int bits, rc;

	if ((rc = cfg_parse(ov, &none, args, &c, err)) < 0)
		return rc;
	if ((bits = cfg_take(ov, &c, err)) < 0) {
		g_free(c.vmap);
		return bits;
	}
	cfg_apply(ov, port->slot, s, &c, bits);
	return 0;
}

static int ov_port_set(struct vn_net *n, struct vn_port *port, struct vn_slot *s, JsonObject *chg,
		       GError **err)
{
	struct vn_overlay *ov = ov_of(n);
	struct vn_ov_port none = {0}, c = {0}, old;
	int bits, rc;

	if ((rc = cfg_parse(ov, port ? &ov->ports[port->slot] : &none, chg, &c, err)) < 0 ||
	    !port) {
		g_free(c.vmap);
		return rc; /* validation only without a port */
	}
	old = ov->ports[port->slot];
	cfg_release(ov, &old);
	if ((bits = cfg_take(ov, &c, err)) < 0) {
		cfg_take(ov, &old, NULL); /* what it had fits again */
		g_free(c.vmap);
		return bits;
	}
	cfg_apply(ov, port->slot, s, &c, bits);
	if (n->fdb)
		vn_fdb_flush(n->fdb, port->slot, false);
	return 0;
}

static void ov_leave(struct vn_net *n, struct vn_port *port, uint16_t slot, bool guest)
{
	struct vn_overlay *ov = ov_of(n);
	struct vn_ov_port *p = &ov->ports[slot];

	cfg_release(ov, p);
	g_free(p->vmap); /* the slot is unpublished: no worker reads it */
	*p = (struct vn_ov_port){0};
	if (n->fdb)
		vn_fdb_flush(n->fdb, slot, true);
}

/* ---- the static part of the VTEP table ---- */

static int static_apply(struct vn_overlay *ov, const struct vn_ov_static *st, GError **err)
{
	struct vn_tun_port *r;

	if (!ov->dp)
		return 0;
	r = vn_ov_remote_add(ov, &st->ip, false, err);
	if (!r)
		return -EINVAL;
	if (vn_fdb_add_static(ov->base.fdb, 0, &st->mac, r->base.slot, vn_dp_now()) < 0)
		VN_FAIL(err, ENOSPC, "the VTEP table of '%s' is full", ov->base.name);
	r->statics++;
	return 0;
}

static int static_parse(struct vn_overlay *ov, const char *mac, const char *ip,
			struct vn_ov_static *st, GError **err)
{
	if (!mac || vn_mac_parse(mac, &st->mac) < 0 || !rte_is_valid_assigned_ether_addr(&st->mac))
		VN_FAIL(err, EINVAL, "invalid MAC '%s' (a unicast aa:bb:cc:dd:ee:ff)",
			mac ? mac : "");
	if (!ip || vn_tun_addr_parse(ip, &st->ip) < 0 || st->ip.v6 != ov->loc.addr.v6)
		VN_FAIL(err, EINVAL, "invalid VTEP address '%s' (of --local's family)",
			ip ? ip : "");
	return 0;
}

static struct vn_ov_static *static_find(struct vn_overlay *ov, const struct rte_ether_addr *m)
{
	for (guint i = 0; i < ov->statics->len; i++) {
		struct vn_ov_static *st = ov->statics->pdata[i];
		if (rte_is_same_ether_addr(&st->mac, m))
			return st;
	}
	return NULL;
}

/* Forget static entry @st (the remote goes too when nothing else keeps it). */
static void static_drop(struct vn_overlay *ov, struct vn_ov_static *st)
{
	struct vn_tun_port *r = ov->dp ? vn_ov_remote_find(ov, &st->ip) : NULL;

	if (ov->dp)
		vn_fdb_del(ov->base.fdb, 0, &st->mac);
	if (r && r->statics && --r->statics == 0 && !r->flood && !r->evpn_refs)
		vn_ov_remote_del(ov, r);
	g_ptr_array_remove(ov->statics, st);
}

int vn_overlay_vtep_add(struct vn_net *n, const char *mac, const char *ip, GError **err)
{
	struct vn_overlay *ov = ov_of(n);
	struct vn_ov_static st, *old;
	int rc;

	if ((rc = static_parse(ov, mac, ip, &st, err)) < 0)
		return rc;
	if ((old = static_find(ov, &st.mac)))
		static_drop(ov, old);
	if ((rc = static_apply(ov, &st, err)) < 0)
		return rc;
	g_ptr_array_add(ov->statics, g_memdup2(&st, sizeof(st)));
	return 0;
}

int vn_overlay_vtep_del(struct vn_net *n, const char *mac, GError **err)
{
	struct vn_overlay *ov = ov_of(n);
	struct rte_ether_addr m;
	struct vn_ov_static *st;

	if (!mac || vn_mac_parse(mac, &m) < 0)
		VN_FAIL(err, EINVAL, "invalid MAC '%s'", mac ? mac : "");
	st = static_find(ov, &m);
	if (!st)
		VN_FAIL(err, ENOENT, "no static VTEP entry for %s in '%s'", mac, n->name);
	static_drop(ov, st);
	return 0;
}

/* Static entries saved with the network ("static_vteps": [{"mac","ip"}]). */
static int ov_statics_restore(struct vn_overlay *ov, JsonObject *args, GError **err)
{
	JsonNode *node = json_object_get_member(args, "static_vteps");
	JsonArray *a;
	int rc;

	if (!node)
		return 0;
	if (!JSON_NODE_HOLDS_ARRAY(node))
		VN_FAIL(err, EINVAL, "'static_vteps' must be a list of {mac, ip}");
	a = json_node_get_array(node);
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonObject *o = json_array_get_object_element(a, i);
		if (!o)
			VN_FAIL(err, EINVAL, "'static_vteps' must be a list of {mac, ip}");
		if ((rc = vn_overlay_vtep_add(&ov->base, vn_obj_str(o, "mac"), vn_obj_str(o, "ip"),
					      err)) < 0)
			return rc;
	}
	return 0;
}

static void ov_port_describe(const struct vn_net *cn, bool uplink, JsonBuilder *b)
{
}

/* ---- forwarding ---- */

/* Return: @d if it holds a port of @net, else -1. */
static inline int valid_dst(const struct vn_dp_table *t, const struct vn_net *net, int d)
{
	if (d >= 0 && d < t->nr_slots && t->slots[d].port && t->slots[d].net == net)
		return d;
	return -1;
}

/* The burst's memo: the last learned source and the last lookup, each with its segment
 * (frames of a burst mostly share both: the FDB's hash is the overlay's main cost), as the
 * bridge's (net_bridge.c). */
struct ov_memo {
	bool have_src, have_dst;
	bool stale; /* a learn of this burst changed the FDB: the bulk's look-ups may be old */
	uint16_t src_seg, dst_seg;
	int dst;
	struct rte_ether_addr src, dmac;
	/* the frame before, when it went to one port (@pto): its addresses (12 bytes) and
	 * segment (-1: none); a frame like it goes there too with one 12-byte compare */
	uint64_t pa;
	uint32_t pb;
	int pseg;
	uint16_t pto;
	uint32_t pvni; /* its VNI */
};

/* Return: true if the frame at @e is 802.1Q or 802.1ad tagged (ov_one() drops those). */
static inline bool vn_ov_tagged(const uint8_t *e)
{
	uint16_t et;

	memcpy(&et, e + 12, 2);
	return et == RTE_BE16(RTE_ETHER_TYPE_VLAN) || et == RTE_BE16(RTE_ETHER_TYPE_QINQ);
}

/* One frame of segment @seg: learn its source, look its destination up, or flood it to the
 * segment's guests (and, from a guest, to every flooding remote: head-end replication). */
static __rte_always_inline void ov_one(const struct vn_fwd_ctx *x, struct vn_overlay *ov,
				       struct ov_memo *mm, struct rte_mbuf *m, int seg, bool remote,
				       struct vn_fwd *f, struct vn_trace *tr,
				       const struct vn_fdb_bulk *bk, uint16_t i)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct vn_dp_table *t = x->t;
	struct vn_fdb *fdb = ov->base.fdb;
	uint16_t in = x->in_slot;
	struct vn_leg *l;
	int d;

	if (unlikely(vn_ov_tagged((const uint8_t *)eth))) {
		VN_TRACE(tr, "forward", "drop", "overlay: a tagged frame and no VLAN map takes it");
		return vn_fwd_drop(f, VN_DROP_POLICY); /* no VNI map takes tagged frames */
	}
	m->hash.usr = ov->vni[seg];
	VN_TRACE(tr, "overlay", "vni", "segment %d: VNI %u", seg, ov->vni[seg]);
	if (!mm->have_src || mm->src_seg != seg ||
	    !rte_is_same_ether_addr(&mm->src, &eth->src_addr)) {
		int ks = bk ? bk->src[i] : -1;
		int rc = tr == NULL && ks >= 0
			     ? vn_fdb_learn_res(fdb, bk->res[ks], &bk->keys[ks], in, x->now)
			     : vn_fwd_learn(x, tr, fdb, (uint16_t)seg, &eth->src_addr);
		if (rc > 0) { /* a move may change the memoised lookup and the bulk's */
			mm->have_dst = false;
			mm->stale = true;
		}
		rte_ether_addr_copy(&eth->src_addr, &mm->src);
		mm->src_seg = (uint16_t)seg;
		mm->have_src = true;
	}
	if (rte_is_unicast_ether_addr(&eth->dst_addr)) {
		if (!mm->have_dst || mm->dst_seg != seg ||
		    !rte_is_same_ether_addr(&mm->dmac, &eth->dst_addr)) {
			int kd = bk ? bk->dst[i] : -1;
			int got = tr == NULL && kd >= 0 && !mm->stale
				      ? vn_fdb_res_port(bk->res[bk->ns + (unsigned)kd])
				      : vn_fwd_lookup(tr, fdb, (uint16_t)seg, &eth->dst_addr);
			mm->dst = valid_dst(t, &ov->base, got);
			if (unlikely(tr != NULL))
				vn_trace_lookup(tr, "FDB/VTEP table", (uint16_t)seg, &eth->dst_addr,
						mm->dst);
			rte_ether_addr_copy(&eth->dst_addr, &mm->dmac);
			mm->dst_seg = (uint16_t)seg;
			mm->have_dst = true;
		}
		d = mm->dst;
		if (d == in) {
			VN_TRACE(tr, "forward", "drop",
				 "overlay: the destination is behind the "
				 "port it came in by");
			return vn_fwd_drop(f, VN_DROP_SAME_PORT);
		}
		if (d >= 0 && remote && t->slots[d].tun) {
			VN_TRACE(tr, "forward", "drop", "overlay: never from a VTEP to a VTEP");
			return vn_fwd_drop(f, VN_DROP_FILTERED); /* never from VTEP to VTEP */
		}
		if (d >= 0) {
			VN_TRACE(tr, "forward", "unicast", "overlay: to %s %s",
				 t->slots[d].tun ? "remote VTEP" : "local port",
				 vn_trace_slot_name(tr, (uint16_t)d));
			return vn_fwd_to(f, (uint16_t)d);
		}
	}
	VN_TRACE(
	    tr, "forward", "flood", "overlay: %s: to the ports of VNI %u%s",
	    rte_is_unicast_ether_addr(&eth->dst_addr) ? "unknown unicast" : "broadcast/multicast",
	    ov->vni[seg], remote ? "" : " and every flooding remote VTEP (head-end replication)");
	f->nlegs = 0;
	l = vn_fwd_leg(f, t->flood[in], t->flood_n[in], in, in, x->in->locality, VN_DROP_NO_DEST);
	l->mask = (uint8_t)((1u << seg) | (remote ? 0 : VN_OV_KMODE_REMOTE));
}

_Static_assert(VN_BURST <= VN_FDB_BULK_FRAMES, "a burst's keys fit one bulk look-up");

/* ov_one() of the fast path, out of line: the loop over a burst's frames keeps its registers
 * for the memo of the frame before. */
static __rte_noinline void ov_one_fast(const struct vn_fwd_ctx *x, struct vn_overlay *ov,
				       struct ov_memo *mm, struct rte_mbuf *m, int seg, bool remote,
				       struct vn_fwd *f, const struct vn_fdb_bulk *bk, uint16_t i)
{
	ov_one(x, ov, mm, m, seg, remote, f, NULL, bk, i);
}

/* The segment of a frame received with VLAN @vid (0: untagged) on a port with map @vm. */
static inline int vmap_seg(const struct vn_overlay *ov, const struct vn_vlan_map *vm, uint32_t vid)
{
	for (uint8_t i = 0; i < vm->n; i++)
		if (vm->vlan[i] == vid)
			return vn_ov_seg_of_vni(ov, vm->key[i]);
	return -1;
}

/* The segment of frame @m arriving by @in (@remote: a VTEP), whose own segment is @seg0
 * when it has no VLAN map; Return: -1 when none takes it (ov_forward_as() drops it). */
static __rte_always_inline int ov_seg(const struct vn_overlay *ov, const struct vn_slot *in,
				      bool remote, int seg0, const struct rte_mbuf *m)
{
	if (unlikely(in->vmap != NULL))
		return vmap_seg(ov, in->vmap, m->hash.usr);
	return remote ? vn_ov_seg_of_vni(ov, m->hash.usr) : seg0;
}

/* The keys of the @n (at most VN_BURST) frames @pkts arriving by @in into @bk, and what the
 * overlay's FDB holds for them (as the bridge's bulk_gather()). A frame no segment takes, a
 * tagged one, and one with the addresses and segment of the frame before have no keys. */
static __rte_noinline void ov_gather(struct vn_overlay *ov, const struct vn_slot *in,
				     struct rte_mbuf *const *pkts, uint16_t n, bool remote,
				     int seg0, struct vn_fdb_bulk *bk)
{
	uint64_t pa = 0;
	uint32_t pb = 0;
	int pseg = -1;
	struct vn_fdb_gather g;

	vn_fdb_gather_init(&g);
	for (uint16_t i = 0; i < n; i++) {
		const struct rte_ether_hdr *eth =
		    rte_pktmbuf_mtod(pkts[i], const struct rte_ether_hdr *);
		int seg = ov_seg(ov, in, remote, seg0, pkts[i]);
		uint64_t a;
		uint32_t b;

		memcpy(&a, eth, 8);
		memcpy(&b, (const uint8_t *)eth + 8, 4);
		if (seg < 0 || vn_ov_tagged((const uint8_t *)eth) ||
		    (a == pa && b == pb && seg == pseg)) {
			vn_fdb_bulk_none(bk, i);
			continue;
		}
		pa = a;
		pb = b;
		pseg = seg;
		vn_fdb_bulk_add(bk, &g, i, (uint16_t)seg, eth,
				rte_is_unicast_ether_addr(&eth->dst_addr));
	}
	vn_fdb_bulk_lookup(bk, &g, ov->base.fdb);
}

/*
 * Put each frame in its segment (the port's VNI, its VLAN map's, or the VNI it was
 * decapsulated with) and decide it (ov_one()). A frame with the addresses and segment of the
 * one before it, which went to one port, goes there too (one 12-byte compare). Unless the
 * burst starts as a steady flow (its second frame's addresses those of the first), its FDB
 * look-ups are made at once first (struct vn_fdb_bulk, as the bridge's); a learn that changes
 * the FDB sends the later look-ups of the burst back to the FDB one by one.
 */
static __rte_always_inline void ov_forward_as(const struct vn_fwd_ctx *x,
					      struct rte_mbuf *const *pkts, uint16_t n,
					      struct vn_fwd *f, struct vn_trace *tr)
{
	struct vn_overlay *ov = ov_of(x->in->net);
	bool remote = x->in->tun != NULL;
	int seg = remote ? 0 : __builtin_ctz(x->in->kmode | 0x80u);
	struct ov_memo mm = {.dst = -1, .pseg = -1};
	const struct vn_vlan_map *vm = x->in->vmap;
	const struct vn_fdb_bulk *bp = NULL;
	struct vn_fdb_bulk bk;

	if (tr == NULL && n > 2 && n <= VN_BURST &&
	    memcmp(rte_pktmbuf_mtod(pkts[1], const uint8_t *),
		   rte_pktmbuf_mtod(pkts[0], const uint8_t *), 12) != 0) {
		ov_gather(ov, x->in, pkts, n, remote, seg, &bk);
		bp = &bk;
	}

	for (uint16_t i = 0; i < n; i++) {
		const uint8_t *e = rte_pktmbuf_mtod(pkts[i], const uint8_t *);
		uint64_t a;
		uint32_t b;

		if (unlikely(vm != NULL)) { /* its tag (hash.usr) says the VNI */
			seg = vmap_seg(ov, vm, pkts[i]->hash.usr);
			if (seg < 0) {
				VN_TRACE(tr, "forward", "drop",
					 "overlay: the port's VLAN map has no VLAN %u",
					 pkts[i]->hash.usr);
				vn_fwd_drop(&f[i], VN_DROP_POLICY);
				continue;
			}
		} else if (remote) {
			seg = vn_ov_seg_of_vni(ov, pkts[i]->hash.usr);
			if (unlikely(seg < 0)) {
				VN_TRACE(tr, "forward", "drop", "overlay: unknown VNI %u",
					 pkts[i]->hash.usr);
				if (likely(tr == NULL))
					vn_ov_count(ov, VN_OV_UNKNOWN_VNI, 1);
				vn_fwd_drop(&f[i], VN_DROP_FILTERED);
				continue;
			}
		}
		memcpy(&a, e, 8);
		memcpy(&b, e + 8, 4);
		if (a == mm.pa && b == mm.pb && seg == mm.pseg && !vn_ov_tagged(e)) {
			pkts[i]->hash.usr = mm.pvni;
			vn_fwd_to(&f[i], mm.pto);
			continue;
		}
		if (tr == NULL)
			ov_one_fast(x, ov, &mm, pkts[i], seg, remote, &f[i], bp, i);
		else
			ov_one(x, ov, &mm, pkts[i], seg, remote, &f[i], tr, bp, i);
		mm.pseg = f[i].nlegs == VN_FWD_TO ? seg : -1; /* only a decision for one port */
		mm.pvni = pkts[i]->hash.usr;
		mm.pa = a;
		mm.pb = b;
		mm.pto = f[i].to;
	}
}

static __rte_noinline void ov_forward_traced(const struct vn_fwd_ctx *x,
					     struct rte_mbuf *const *pkts, uint16_t n,
					     struct vn_fwd *f)
{
	ov_forward_as(x, pkts, n, f, x->trace);
}

static void ov_forward(const struct vn_fwd_ctx *x, struct rte_mbuf *const *pkts, uint16_t n,
		       struct vn_fwd *f)
{
	if (unlikely(x->trace != NULL)) /* a dry run (trace.h): once per burst */
		return ov_forward_traced(x, pkts, n, f);
	ov_forward_as(x, pkts, n, f, NULL);
}

const struct vn_net_kind vn_overlay_net_kind = {
    .name = "overlay",
    .keys = ov_keys,
    .port_keys = ov_port_keys,
    .set_keys = ov_set_keys,
    .check = ov_check,
    .create = ov_create,
    .destroy = ov_destroy,
    .set = ov_set,
    .join = ov_join,
    .port_set = ov_port_set,
    .leave = ov_leave,
    .describe = vn_ov_describe,
    .port_describe = ov_port_describe,
    .persist = vn_ov_persist,
    .tick = ov_tick,
    .forward = ov_forward,
};

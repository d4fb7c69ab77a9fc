/* SPDX-License-Identifier: MIT */
/*
 * The overlay network kind's views: `net show` (the tunnel, the VTEP, remotes with their
 * counters, the VTEP table, drops), `vtep show`, and what is saved. See overlay.h.
 */
#include <stdio.h>
#include <string.h>

#include "vnicd/args.h"
#include "vnicd/bridge.h"
#include "vnicd/evpn.h"
#include "vnicd/mac.h"
#include "vnicd/overlay.h"

struct vtep_walk {
	struct vn_overlay *ov;
	JsonBuilder *b;
};

static int vtep_entry(const struct vn_fdb_entry *e, void *ud)
{
	struct vtep_walk *w = ud;
	const struct vn_slot *s =
	    e->port < VN_MAX_PORTS_HARD ? vn_dp_slot(w->ov->dp, e->port) : NULL;
	char m[VN_MAC_STRLEN], ip[INET6_ADDRSTRLEN];

	if (!s || !s->tun || s->net != &w->ov->base)
		return 0; /* a local port's MAC */
	json_builder_begin_object(w->b);
	vn_json_str(w->b, "net", w->ov->base.name);
	vn_mac_format(&e->mac, m);
	vn_json_str(w->b, "mac", m);
	vn_json_int(w->b, "vni", e->seg < w->ov->nr_vni ? w->ov->vni[e->seg] : 0);
	vn_json_str(w->b, "remote", vn_tun_addr_format(&s->tun->ip, ip));
	vn_json_bool(w->b, "static", e->is_static);
	vn_json_str(w->b, "source",
		    e->is_static ? "static"
		    : vn_evpn_has_remote(w->ov, e->seg < w->ov->nr_vni ? w->ov->vni[e->seg] : 0,
					 e->mac.addr_bytes)
			? "evpn"
			: "learned");
	vn_json_int(w->b, "age", (gint64)e->age);
	json_builder_end_object(w->b);
	return 0;
}

void vn_overlay_vtep_list(struct vn_net *n, JsonBuilder *b)
{
	struct vtep_walk w = {((struct vn_overlay *)n), b};

	if (n->fdb && ((struct vn_overlay *)n)->dp)
		vn_fdb_walk(n->fdb, vn_dp_now(), vtep_entry, &w);
}

/* ---- views ---- */

static void describe_remote(struct vn_overlay *ov, struct vn_tun_port *r, JsonBuilder *b)
{
	struct vn_tun_tx *tx = r->tx;
	struct vn_port_counters c;
	char ip[INET6_ADDRSTRLEN], m[VN_MAC_STRLEN];

	vn_dp_port_counters(ov->dp, r->base.slot, &c);
	json_builder_begin_object(b);
	vn_json_str(b, "ip", vn_tun_addr_format(&r->ip, ip));
	if (tx)
		vn_mac_format((const struct rte_ether_addr *)tx->tmpl.h, m);
	vn_json_str(b, "mac", tx ? m : NULL);
	vn_json_str(b, "state", tx ? "resolved" : "unresolved");
	vn_json_str(b, "via_route", r->via_route ? vn_tun_addr_format(&r->nh, ip) : NULL);
	vn_json_bool(b, "static", r->flood);
	vn_json_bool(b, "flood", r->flood);
	vn_json_int(b, "rx_packets", (gint64)c.rx_packets);
	vn_json_int(b, "rx_bytes", (gint64)c.rx_bytes);
	vn_json_int(b, "tx_packets", (gint64)c.tx_packets);
	vn_json_int(b, "tx_bytes", (gint64)c.tx_bytes);
	vn_json_int(b, "tx_dropped",
		    (gint64)(c.drops[VN_DROP_LINK_DOWN] + c.drops[VN_DROP_QUEUE_FULL] +
			     c.drops[VN_DROP_NO_MBUF]));
	json_builder_end_object(b);
}

void vn_ov_describe(const struct vn_net *cn, JsonBuilder *b)
{
	struct vn_overlay *ov = (struct vn_overlay *)cn;

	vn_json_str(b, "encap", vn_ov_encap_name(ov->type));
	vn_json_int(b, "vni", ov->vni[0]);
	vn_evpn_describe(ov, b);
	json_builder_set_member_name(b, "vnis");
	json_builder_begin_array(b);
	for (unsigned i = 0; i < ov->nr_vni; i++)
		if (i == 0 || ov->vni_users[i])
			json_builder_add_int_value(b, ov->vni[i]);
	json_builder_end_array(b);
	vn_json_str(b, "local", ov->local_str);
	vn_json_str(b, "underlay", ov->underlay);
	if (ov->type != VN_TUN_NVGRE)
		vn_json_int(b, "dstport", ov->dstport);
	vn_json_str(b, "gateway", ov->gateway_str);
	vn_json_int(b, "mtu", ov->mtu);
	vn_json_int(b, "guest_mtu", ov->mtu - ov->overhead);
	if (ov->vtep)
		vn_vtep_describe(ov->vtep, b);
	json_builder_set_member_name(b, "remotes");
	json_builder_begin_array(b);
	for (unsigned i = 0; ov->dp && i < ov->nr_rem; i++)
		describe_remote(ov, ov->rem[i], b);
	json_builder_end_array(b);
	json_builder_set_member_name(b, "vteps");
	json_builder_begin_array(b);
	vn_overlay_vtep_list(&ov->base, b);
	json_builder_end_array(b);
	json_builder_set_member_name(b, "tunnel_drops");
	json_builder_begin_object(b);
	for (unsigned i = VN_TUN_TRUNC; i < VN_OV_DROP__MAX; i++)
		vn_json_int(b, vn_ov_drop_name(i),
			    (gint64)__atomic_load_n(&ov->drops[i], __ATOMIC_RELAXED));
	json_builder_end_object(b);
}

void vn_ov_persist(const struct vn_net *cn, JsonBuilder *b)
{
	const struct vn_overlay *ov = (const struct vn_overlay *)cn;
	g_autoptr(GString) rem = g_string_new(NULL);
	char ip[INET6_ADDRSTRLEN], m[VN_MAC_STRLEN];

	vn_json_str(b, "encap", vn_ov_encap_name(ov->type));
	vn_json_int(b, "vni", ov->vni[0]);
	vn_json_str(b, "local", ov->local_str);
	vn_json_str(b, "underlay", ov->underlay);
	if (ov->type != VN_TUN_NVGRE)
		vn_json_int(b, "dstport", ov->dstport);
	vn_json_int(b, "mtu", ov->mtu);
	if (ov->gateway_str)
		vn_json_str(b, "gateway", ov->gateway_str);
	vn_evpn_persist(ov, b);
	for (unsigned i = 0; !ov->evpn && i < ov->nr_rem; i++)
		if (ov->rem[i]->flood)
			g_string_append_printf(rem, "%s%s", rem->len ? "," : "",
					       vn_tun_addr_format(&ov->rem[i]->ip, ip));
	if (rem->len)
		vn_json_str(b, "remote", rem->str);
	json_builder_set_member_name(b, "static_vteps");
	json_builder_begin_array(b);
	for (guint i = 0; i < ov->statics->len; i++) {
		const struct vn_ov_static *st = ov->statics->pdata[i];
		json_builder_begin_object(b);
		vn_mac_format(&st->mac, m);
		vn_json_str(b, "mac", m);
		vn_json_str(b, "ip", vn_tun_addr_format(&st->ip, ip));
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
}

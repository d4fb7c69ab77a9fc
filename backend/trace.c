/* SPDX-License-Identifier: MIT */
/* The frame trace's records: notes of the pipeline's decisions, dry-run stand-ins, the run. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <rte_spinlock.h>

#include "vnicd/bridge.h"
#include "vnicd/datapath.h"
#include "vnicd/mac.h"
#include "vnicd/net.h"
#include "vnicd/overlay.h"
#include "vnicd/pipeline.h"
#include "vnicd/policy.h"
#include "vnicd/trace.h"
#include "vnicd/tunnel.h"
#include "policy/fastpath.h"
#include "worker.h"

G_STATIC_ASSERT(sizeof(struct vn_meter) <= sizeof(((struct vn_trace *)0)->scratch));
G_STATIC_ASSERT(sizeof(struct vn_storm) <= sizeof(((struct vn_trace *)0)->scratch));

void vn_trace_note(struct vn_trace *tr, const char *step, const char *verdict, const char *fmt, ...)
{
	struct vn_trace_step *s;
	va_list ap;

	if (tr->nsteps == VN_TRACE_MAX_STEPS) {
		tr->truncated = true;
		return;
	}
	s = &tr->steps[tr->nsteps++];
	g_strlcpy(s->step, step, sizeof(s->step));
	g_strlcpy(s->verdict, verdict, sizeof(s->verdict));
	va_start(ap, fmt);
	vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
	va_end(ap);
}

const char *vn_trace_slot_name(const struct vn_trace *tr, uint16_t slot)
{
	const struct vn_port *p = slot < tr->t->nr_slots ? tr->t->slots[slot].port : NULL;

	return p ? p->name : "?";
}

int vn_trace_learn(struct vn_trace *tr, struct vn_fdb *fdb, uint16_t seg,
		   const struct rte_ether_addr *mac, uint16_t port, uint64_t now)
{
	const char *on = vn_trace_slot_name(tr, port);
	int rc = vn_fdb_learn_peek(fdb, seg, mac, port, now);
	int at = vn_fdb_lookup(fdb, seg, mac);
	char m[VN_MAC_STRLEN];

	vn_mac_format(mac, m);
	if (rc == 0 && at == port)
		vn_trace_note(tr, "learn", "known", "source %s is known on port %s (VLAN %u)", m,
			      on, seg);
	else if (rc == 0)
		vn_trace_note(tr, "learn", "static",
			      "source %s is a static entry of port %s (VLAN %u): not moved", m,
			      vn_trace_slot_name(tr, (uint16_t)at), seg);
	else if (rc == 2)
		vn_trace_note(tr, "learn", "move",
			      "would move source %s from port %s to port %s (VLAN %u); dry run", m,
			      vn_trace_slot_name(tr, (uint16_t)at), on, seg);
	else if (rc == 1)
		vn_trace_note(tr, "learn", "new",
			      "would learn source %s on port %s (VLAN %u); dry run", m, on, seg);
	else
		vn_trace_note(tr, "learn", "refused",
			      "source %s would not be learned on port %s: %s", m, on,
			      rc == -EBUSY ? "over its learning rate"
					   : "the table or the port's share of it is full");
	if (rc > 0) {
		tr->learned = true;
		tr->lseg = seg;
		tr->lport = port;
		tr->lmac = *mac;
	}
	return rc;
}

int vn_trace_fdb_lookup(struct vn_trace *tr, struct vn_fdb *fdb, uint16_t seg,
			const struct rte_ether_addr *mac)
{
	if (tr->learned && tr->lseg == seg && rte_is_same_ether_addr(&tr->lmac, mac))
		return tr->lport;
	return vn_fdb_lookup(fdb, seg, mac);
}

void vn_trace_lookup(struct vn_trace *tr, const char *table, uint16_t seg,
		     const struct rte_ether_addr *mac, int dst)
{
	char m[VN_MAC_STRLEN];

	vn_mac_format(mac, m);
	if (dst >= 0)
		vn_trace_note(tr, "lookup", "hit", "%s: %s (VLAN/segment %u) is on port %s", table,
			      m, seg, vn_trace_slot_name(tr, (uint16_t)dst));
	else
		vn_trace_note(tr, "lookup", "miss", "%s: %s (VLAN/segment %u) is not known", table,
			      m, seg);
}

struct vn_meter *vn_trace_meter(struct vn_trace *tr, struct vn_meter *mt)
{
	struct vn_meter *copy = (struct vn_meter *)tr->scratch;

	rte_spinlock_lock(&mt->lock);
	memcpy(copy, mt, sizeof(*mt));
	rte_spinlock_unlock(&mt->lock);
	rte_spinlock_init(&copy->lock);
	return copy;
}

struct vn_storm *vn_trace_storm(struct vn_trace *tr, struct vn_storm *st)
{
	struct vn_storm *copy = (struct vn_storm *)tr->scratch;

	memcpy(copy, st, sizeof(*st));
	copy->tat = __atomic_load_n(&st->tat, __ATOMIC_RELAXED);
	return copy;
}

static const char *cast_name(uint8_t cast)
{
	return cast == VN_UCAST ? "unicast" : cast == VN_BCAST ? "broadcast" : "multicast";
}

/* " IPv4 a > b proto P sport > dport" of @m parsed as @md into @buf. */
static void describe_l34(const struct rte_mbuf *m, const struct vn_meta *md, char *buf, size_t sz)
{
	char a[INET6_ADDRSTRLEN] = "?", b[INET6_ADDRSTRLEN] = "?";
	uint8_t ib[40], pb[4];
	const uint8_t *ip = NULL, *l4 = NULL;
	bool v6 = md->etype == 0x86dd;
	size_t w;

	*buf = '\0';
	if (md->etype == 0x0800)
		ip = rte_pktmbuf_read(m, md->l3_off, 20, ib);
	else if (v6)
		ip = rte_pktmbuf_read(m, md->l3_off, 40, ib);
	if (!ip)
		return;
	inet_ntop(v6 ? AF_INET6 : AF_INET, ip + (v6 ? 8 : 12), a, sizeof(a));
	inet_ntop(v6 ? AF_INET6 : AF_INET, ip + (v6 ? 24 : 16), b, sizeof(b));
	w = (size_t)snprintf(buf, sz, ", %s %s > %s, protocol %u", v6 ? "IPv6" : "IPv4", a, b,
			     md->l4_proto);
	if (md->l4_off && (md->l4_proto == 6 || md->l4_proto == 17) && w < sz)
		l4 = rte_pktmbuf_read(m, md->l4_off, 4, pb);
	if (l4)
		snprintf(buf + w, sz - w, " (%s %u > %u)", md->l4_proto == 6 ? "tcp" : "udp",
			 l4[0] << 8 | l4[1], l4[2] << 8 | l4[3]);
}

void vn_trace_parse(struct vn_trace *tr, const struct rte_mbuf *m, const struct vn_meta *md)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	struct vn_meta l = *md; /* the L3/L4 parse the pipeline does on demand, for the record */
	char s[VN_MAC_STRLEN], d[VN_MAC_STRLEN], tag[40] = "", l34[160];

	vn_mac_format(&eth->src_addr, s);
	vn_mac_format(&eth->dst_addr, d);
	l.cl.tagged = false;
	vn_meta_parse_l34_slow(m, &l);
	describe_l34(m, &l, l34, sizeof(l34));
	if (eth->ether_type == RTE_BE16(VN_TPID_8021Q) ||
	    eth->ether_type == RTE_BE16(VN_TPID_8021AD)) {
		const uint8_t *p = (const uint8_t *)(eth + 1);
		snprintf(tag, sizeof(tag), ", tag 0x%04x VID %u PCP %u",
			 rte_be_to_cpu_16(eth->ether_type), (p[0] & 0xf) << 8 | p[1], p[0] >> 5);
	}
	vn_trace_note(tr, "parse", cast_name(md->cast), "%s > %s%s, ethertype 0x%04x%s, %u bytes",
		      s, d, tag, l.etype, l34, rte_pktmbuf_pkt_len(m));
}

void vn_trace_spoof(struct vn_trace *tr, const struct vn_port_policy *p, const struct rte_mbuf *m,
		    const struct vn_meta *md, bool pass)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	char s[VN_MAC_STRLEN], own[VN_MAC_STRLEN], ip[INET6_ADDRSTRLEN] = "";
	uint8_t b[4];
	const uint8_t *a = NULL;
	bool listed = false;

	vn_mac_format(&eth->src_addr, s);
	vn_mac_format(&p->mac, own);
	if (md->etype == 0x0800 && (md->flags & VN_META_L34) &&
	    (a = rte_pktmbuf_read(m, md->l3_off + 12u, 4, b)) != NULL) {
		inet_ntop(AF_INET, a, ip, sizeof(ip));
		for (unsigned i = 0; i < p->nr_ip4; i++)
			listed |= memcmp(&p->ip4[i], a, 4) == 0;
	}
	if (pass)
		vn_trace_note(tr, "antispoof", "pass",
			      "clean-traffic checks pass: source %s%s%s%s%s", s,
			      p->lock_mac ? " is the port's MAC" : "", *ip ? ", IP " : "", ip,
			      *ip && p->ip_guard ? " is in allowed-ip" : "");
	else if (p->lock_mac && !rte_is_same_ether_addr(&eth->src_addr, &p->mac))
		vn_trace_note(tr, "antispoof", "drop",
			      "source MAC %s is not the port's %s (lock-mac)", s, own);
	else if (*ip && p->ip_guard && !listed)
		vn_trace_note(tr, "antispoof", "drop",
			      "source IP %s is not in the port's allowed-ip", ip);
	else
		vn_trace_note(tr, "antispoof", "drop",
			      "refused by the clean-traffic checks (ARP sender, IPv6 source, ND, "
			      "DHCP server or router advertisement from a guest)");
}

/* The candidates of leg @l and the form each would get the frame in. */
static void trace_leg(struct vn_trace *tr, const struct rte_mbuf *m, const struct vn_meta *md,
		      const struct vn_leg *l)
{
	const struct vn_dp_table *t = tr->t;

	for (uint16_t i = 0; i < l->nd; i++) {
		uint16_t d = l->dst ? l->dst[i] : l->one;
		const struct vn_slot *s = &t->slots[d];
		const char *name = vn_trace_slot_name(tr, d);
		int form;

		if (d == l->skip) {
			vn_trace_note(tr, "egress", "skip", "port %s: the port it came in by",
				      name);
			continue;
		}
		if (l->mask && !(s->kmode & l->mask)) {
			vn_trace_note(
			    tr, "egress", "skip",
			    "port %s: not one the network kind selects (kind byte 0x%02x, "
			    "mask 0x%02x)",
			    name, s->kmode, l->mask);
			continue;
		}
		if (s->vmap) {
			int v = vn_vlan_map_find(s->vmap, m->hash.usr);
			if (v < 0)
				vn_trace_note(tr, "egress", "skip",
					      "port %s: its VLAN map has no key %u", name,
					      m->hash.usr);
			else
				vn_trace_note(tr, "egress", v ? "tagged" : "untagged",
					      "port %s: by its VLAN map, key %u -> VLAN %d", name,
					      m->hash.usr, v);
			continue;
		}
		form = vn_vlan_egress_form(s->pol, &md->cl, m);
		if (form < 0)
			vn_trace_note(tr, "egress", "skip", "port %s: does not carry VLAN %u", name,
				      md->cl.seg);
		else
			vn_trace_note(tr, "egress", form ? "tagged" : "untagged",
				      "port %s: VLAN %u leaves it %s%s", name, md->cl.seg,
				      form ? "tagged" : "untagged",
				      s->tun ? " (then encapsulated: a remote VTEP)" : "");
	}
}

void vn_trace_fwd(struct vn_trace *tr, uint16_t in, const struct rte_mbuf *m,
		  const struct vn_fwd *f)
{
	const struct vn_meta *md = vn_meta_of(m);
	struct vn_leg one;

	if (f->nlegs == 0) {
		vn_trace_note(tr, "forward", "drop", "the network kind drops it (%s)",
			      f->drop == VN_FWD_COUNTED ? "counted by the kind"
							: vn_drop_name(f->drop));
		return;
	}
	if (f->nlegs == VN_FWD_TO) {
		vn_trace_note(tr, "forward", "unicast", "to port %s",
			      vn_trace_slot_name(tr, f->to));
		one = vn_leg_unicast(f->to, in, 0, VN_DROP_POLICY);
		trace_leg(tr, m, md, &one);
		return;
	}
	for (uint8_t i = 0; i < f->nlegs; i++) {
		const struct vn_leg *l = &f->leg[i];
		if (l->dst)
			vn_trace_note(tr, "forward", "flood",
				      "leg %u: to the %u ports of the network but %s", i + 1, l->nd,
				      l->skip >= 0 ? vn_trace_slot_name(tr, (uint16_t)l->skip)
						   : "none");
		else
			vn_trace_note(tr, "forward", "unicast", "leg %u: to port %s", i + 1,
				      vn_trace_slot_name(tr, l->one));
		trace_leg(tr, m, md, l);
	}
}

static void addr_str(bool v6, const uint8_t *a, char out[46])
{
	inet_ntop(v6 ? AF_INET6 : AF_INET, a, out, 46);
}

void vn_trace_encap(struct vn_trace *tr, const struct rte_mbuf *e, uint16_t via, uint32_t vni,
		    const struct vn_tun_tmpl *tmpl)
{
	static const char *const names[VN_TUN__MAX] = {"vxlan", "geneve", "nvgre"};
	struct vn_trace_dest *d;

	if (tr->nenc == VN_TRACE_MAX_ENC)
		return;
	tr->enc[tr->nenc].m = e;
	d = &tr->enc[tr->nenc++].d;
	*d =
	    (struct vn_trace_dest){.encap = true, .encap_type = tmpl->type, .via = via, .vni = vni};
	addr_str(tmpl->v6, tmpl->h + tmpl->l3_off + (tmpl->v6 ? 8 : 12), d->outer_src);
	addr_str(tmpl->v6, tmpl->h + tmpl->l3_off + (tmpl->v6 ? 24 : 16), d->outer_dst);
	vn_trace_note(tr, "encap", names[tmpl->type % VN_TUN__MAX],
		      "for remote VTEP %s: VNI %u, outer %s > %s", vn_trace_slot_name(tr, via), vni,
		      d->outer_src, d->outer_dst);
}

uint16_t vn_trace_tx(struct vn_trace *tr, uint16_t slot, struct rte_mbuf **pkts, uint16_t n)
{
	const struct vn_port *p = tr->t->slots[slot].port;

	if (!p || !p->ops->link_up(p)) {
		vn_trace_note(tr, "deliver", "drop", "port %s: link down (no peer)",
			      vn_trace_slot_name(tr, slot));
		return 0;
	}
	for (uint16_t i = 0; i < n; i++) {
		const uint8_t *f = rte_pktmbuf_mtod(pkts[i], const uint8_t *);
		struct vn_trace_dest d = {.slot = slot, .vlan = -1};
		uint16_t et = (uint16_t)(f[12] << 8 | f[13]);

		for (unsigned k = 0; k < tr->nenc; k++)
			if (tr->enc[k].m == pkts[i])
				d = tr->enc[k].d;
		d.slot = slot;
		d.len = rte_pktmbuf_pkt_len(pkts[i]);
		d.vlan = -1;
		if (et == VN_TPID_8021Q || et == VN_TPID_8021AD) {
			d.vlan = (f[14] & 0xf) << 8 | f[15];
			d.tpid = et;
		}
		if (d.vlan >= 0)
			vn_trace_note(tr, "deliver", "tagged", "port %s: tagged VLAN %d (0x%04x)%s",
				      p->name, d.vlan, d.tpid, d.encap ? ", encapsulated" : "");
		else
			vn_trace_note(tr, "deliver", "untagged", "port %s: untagged%s", p->name,
				      d.encap ? ", encapsulated" : "");
		if (tr->ndest < VN_TRACE_MAX_DESTS)
			tr->dest[tr->ndest++] = d;
	}
	rte_pktmbuf_free_bulk(pkts, n);
	return n;
}

int vn_dp_trace(struct vn_dp *dp, uint16_t slot, struct rte_mbuf *m, struct vn_trace *tr)
{
	g_autofree struct vn_worker *w = g_try_malloc0(sizeof(*w));

	memset(tr, 0, sizeof(*tr));
	if (!w) { /* ~1 MiB: the counters and tx buffers of every slot */
		rte_pktmbuf_free(m);
		return -ENOMEM;
	}
	tr->t = vn_dp_table(dp);
	if (!tr->t || slot >= tr->t->nr_slots || !tr->t->slots[slot].port) {
		rte_pktmbuf_free(m);
		return -ENODEV; /* not published (yet) */
	}
	w->dp = dp;
	w->trace = tr;
	w->wake_fd = -1;
	vn_dp_switch_burst(w, tr->t, slot, &m, 1, vn_dp_now());
	for (unsigned s = 0; s < VN_MAX_PORTS_HARD; s++)
		for (unsigned r = 0; r < VN_DROP__MAX; r++)
			tr->drops[r] += w->ctr[s].drops[r];
	return 0;
}

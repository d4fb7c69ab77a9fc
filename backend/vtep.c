/* SPDX-License-Identifier: MIT */
/*
 * The local VTEP of an underlay network (its port of kind "vtep", its address answered and
 * its neighbours resolved on the control thread) and the remote VTEPs of overlays (slots
 * of their own). See overlay.h for the model.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_ring.h>

#include "vnicd/args.h"
#include "vnicd/log.h"
#include "vnicd/mac.h"
#include "vnicd/neigh.h"
#include "vnicd/netlink.h"
#include "vnicd/bridge.h"
#include "vnicd/overlay.h"
#include "vnicd/trace.h"
#include "vnicd/portkind.h"
#include "vnicd/uplink.h"

#define VTEP_RING 1024	    /* frames to and from the control thread */
#define VTEP_POLL_MS 10	    /* how often the control thread reads what came */
#define VTEP_TICK_MS 200    /* neighbour timers */
#define VTEP_HOLDER_MS 2000 /* how often tap ports' namespaces are asked for the address */

/* The local VTEP: shared by the overlays of one underlay network. */
struct vn_vtep {
	struct vn_net *underlay;
	struct vn_tun_addr local;
	struct rte_ether_addr mac;     /* on the wire: its own, or the holder's (workers read it) */
	struct rte_ether_addr own_mac; /* its port's */
	char holder[VN_NAME_MAX];      /* the tap port whose namespace holds the address, or "" */
	char holder_ns[256];	       /* that port's namespace ("": vnicd's) */
	uint64_t last_holder_check;
	char port_name[VN_NAME_MAX];
	struct vtep_port *port;
	struct vn_neigh *neigh;
	struct vn_overlay *ov[VN_VTEP_MAX_OVERLAYS]; /* workers read it: see vn_vtep_intercept */
	unsigned nr_ov;
	guint poll_src;
	uint64_t last_tick;
	const struct vn_net_host *host;
	uint64_t punt_drops, inject_drops;
};

/* The VTEP's port in the underlay: frames for it go to the control thread (@punt), frames
 * it sends come from there (@inj, with @efd to wake the worker). */
struct vtep_port {
	struct vn_port base;
	struct rte_ring *inj, *punt;
	int efd;
	struct vn_vtep *v;
};

/* ---- addresses ---- */

int vn_tun_addr_parse(const char *s, struct vn_tun_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (s && inet_pton(AF_INET, s, a->a) == 1)
		return 0;
	a->v6 = true;
	if (s && inet_pton(AF_INET6, s, a->a) == 1)
		return 0;
	return -EINVAL;
}

const char *vn_tun_addr_format(const struct vn_tun_addr *a, char *buf)
{
	inet_ntop(a->v6 ? AF_INET6 : AF_INET, a->a, buf, INET6_ADDRSTRLEN);
	return buf;
}

static bool addr_eq(const struct vn_tun_addr *x, const struct vn_tun_addr *y)
{
	return x->v6 == y->v6 && memcmp(x->a, y->a, x->v6 ? 16 : 4) == 0;
}

/* ---- the port kind "vtep" ---- */

static uint16_t vp_rx(struct vn_port *port, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	struct vtep_port *vp = (struct vtep_port *)port;

	return (uint16_t)rte_ring_sc_dequeue_burst(vp->inj, (void **)pkts, n, NULL);
}

/* What the underlay delivers to the VTEP (ARP, ND: mbufs may be shared by a flood; only
 * read) goes to the control thread; what does not fit is refused (counted by the caller). */
static uint16_t vp_tx(struct vn_port *port, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	struct vtep_port *vp = (struct vtep_port *)port;

	return (uint16_t)rte_ring_mp_enqueue_burst(vp->punt, (void **)pkts, n, NULL);
}

static int vp_rx_intr(struct vn_port *port, uint16_t q, bool enable)
{
	return enable ? ((struct vtep_port *)port)->efd : 0;
}

static bool vp_link_up(const struct vn_port *port)
{
	return true;
}

static void vp_describe(const struct vn_port *port, JsonBuilder *b)
{
	const struct vtep_port *vp = (const struct vtep_port *)port;
	char ip[INET6_ADDRSTRLEN];

	if (!vp->v)
		return;
	vn_json_str(b, "vtep_address", vn_tun_addr_format(&vp->v->local, ip));
}

static void vp_destroy(struct vn_port *port)
{
	struct vtep_port *vp = (struct vtep_port *)port;
	struct rte_mbuf *m;

	while (vp->inj && rte_ring_dequeue(vp->inj, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	while (vp->punt && rte_ring_dequeue(vp->punt, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(vp->inj);
	rte_ring_free(vp->punt);
	if (vp->efd >= 0)
		close(vp->efd);
	rte_free(vp);
}

static const struct vn_port_ops vtep_port_ops = {
    .kind = "vtep",
    .rx_burst = vp_rx,
    .tx_burst = vp_tx,
    .rx_intr = vp_rx_intr,
    .link_up = vp_link_up,
    .describe = vp_describe,
    .destroy = vp_destroy,
};

static int vp_check(JsonObject *args, const struct vn_config *cfg, GError **err)
{
	return 0;
}

static int vp_create(const char *name, JsonObject *args, const struct vn_port_env *env,
		     struct vn_port **out, GError **err)
{
	static unsigned seq;
	struct vtep_port *vp = rte_zmalloc("vn_vtep_port", sizeof(*vp), RTE_CACHE_LINE_SIZE);
	char rn[RTE_RING_NAMESIZE];

	if (!vp)
		VN_FAIL(err, ENOMEM, "no memory for VTEP port %s", name);
	vp->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	snprintf(rn, sizeof(rn), "vtepi%u", seq);
	vp->inj = rte_ring_create(rn, VTEP_RING, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	snprintf(rn, sizeof(rn), "vtepp%u", seq++);
	vp->punt = rte_ring_create(rn, VTEP_RING, SOCKET_ID_ANY, RING_F_SC_DEQ);
	if (vp->efd < 0 || !vp->inj || !vp->punt) {
		vp_destroy(&vp->base);
		VN_FAIL(err, ENOMEM, "VTEP port %s: no memory for its rings", name);
	}
	vp->base.ops = &vtep_port_ops;
	snprintf(vp->base.name, sizeof(vp->base.name), "%s", name);
	vp->base.nr_rxq = 1;
	vp->base.nr_txq = 1;
	*out = &vp->base;
	return 0;
}

static char *vp_summary(JsonObject *args)
{
	return g_strdup("local VTEP");
}

/* Not among the kinds users add: the overlay kind makes it. */
const struct vn_port_kind vn_vtep_port_kind = {
    .name = "vtep",
    .check = vp_check,
    .create = vp_create,
    .summary = vp_summary,
};

/* ---- neighbours: what the VTEP sends and learns ---- */

static uint64_t now_ms(void)
{
	return (uint64_t)(g_get_monotonic_time() / 1000);
}

/* The neighbour cache sends @frame out of the VTEP's port. */
static void vtep_send(void *ud, const uint8_t *frame, size_t len)
{
	struct vn_vtep *v = ud;
	struct rte_mbuf *m = rte_pktmbuf_alloc(v->host->mp);
	char *d = m ? rte_pktmbuf_append(m, (uint16_t)len) : NULL;
	uint64_t one = 1;

	if (!d || rte_ring_sp_enqueue(v->port->inj, m) < 0) {
		rte_pktmbuf_free(m);
		v->inject_drops++;
		return;
	}
	memcpy(d, frame, len);
	if (*v->holder) /* the holder's MAC stays its own in the underlay's FDB */
		memcpy(d + RTE_ETHER_ADDR_LEN, &v->own_mac, RTE_ETHER_ADDR_LEN);
	if (write(v->port->efd, &one, sizeof(one)) < 0)
		v->inject_drops++;
}

/* Publish remote @r's outer headers towards next hop @mac (NULL: unresolved, none). */
static void remote_publish(struct vn_tun_port *r, const struct rte_ether_addr *mac)
{
	struct vn_overlay *ov = r->ov;
	struct vn_vtep *v = ov->vtep;
	struct vn_tun_tx *tx = NULL, *old = r->tx;

	if (mac && old && memcmp(mac, old->tmpl.h, RTE_ETHER_ADDR_LEN) == 0 &&
	    memcmp(&v->mac, old->tmpl.h + RTE_ETHER_ADDR_LEN, RTE_ETHER_ADDR_LEN) == 0)
		return; /* unchanged: the template starts with the two MACs */
	if (mac) {
		tx = rte_zmalloc("vn_tun_tx", sizeof(*tx), RTE_CACHE_LINE_SIZE);
		if (!tx || vn_tun_tmpl_build(&tx->tmpl, ov->type, &v->local, &r->ip, ov->dstport,
					     &v->mac, mac) < 0) {
			rte_free(tx);
			return;
		}
		tx->uplink_slot = v->underlay->uplink->slot;
	}
	if (!tx && !old)
		return;
	__atomic_store_n(&r->tx, tx, __ATOMIC_RELEASE);
	if (old) {
		vn_dp_synchronize(ov->dp);
		rte_free(old);
	}
}

/*
 * The next hop of remote @r: --gateway or the address itself as the neighbour cache decides,
 * unless the overlay has no --gateway and the underlay's uplink is a kernel interface whose
 * routes (vnicd's namespace, asked at most every VTEP_HOLDER_MS) send @r through a gateway.
 */
static const struct vn_tun_addr *remote_nh(struct vn_vtep *v, struct vn_tun_port *r, uint64_t now)
{
	int ifindex = v->underlay->uplink ? vn_uplink_ifindex(v->underlay->uplink) : 0;

	if (r->ov->gateway_str || !ifindex)
		return &r->ip;
	if (!r->route_ms || now - r->route_ms >= VTEP_HOLDER_MS) {
		r->route_ms = now;
		r->nh = (struct vn_tun_addr){.v6 = r->ip.v6};
		r->via_route = vn_nl_route_gateway(ifindex, r->ip.v6, r->ip.a, r->nh.a) == 1;
	}
	return r->via_route ? &r->nh : &r->ip;
}

/* Remote @r's next hop's MAC into @mac. Return: 0, or -errno as vn_neigh_lookup(). */
static int remote_lookup(struct vn_vtep *v, struct vn_tun_port *r, struct rte_ether_addr *mac)
{
	uint64_t now = now_ms();

	return vn_neigh_lookup(v->neigh, remote_nh(v, r, now), now, mac);
}

void vn_vtep_resolve(struct vn_tun_port *r)
{
	struct vn_vtep *v = r->ov->vtep;
	struct rte_ether_addr mac;

	if (remote_lookup(v, r, &mac) == 0)
		remote_publish(r, &mac);
}

/* A neighbour's MAC came, changed or went: every remote is looked up again. */
static void vtep_changed(void *ud, const struct vn_tun_addr *ip, const struct rte_ether_addr *mac)
{
	struct vn_vtep *v = ud;
	struct rte_ether_addr nh;

	for (unsigned i = 0; i < v->nr_ov; i++)
		for (unsigned k = 0; k < v->ov[i]->nr_rem; k++) {
			struct vn_tun_port *r = v->ov[i]->rem[k];
			if (remote_lookup(v, r, &nh) == 0)
				remote_publish(r, &nh);
			else
				remote_publish(r, NULL);
		}
}

struct holder_search {
	struct vn_vtep *v;
	char name[VN_NAME_MAX];
	char ns[256];
	struct rte_ether_addr mac;
};

/* Tap port @name of the underlay: does its namespace's interface hold the address? */
static void holder_try(void *ud, const char *name, const char *kind, const struct vn_port *p)
{
	struct holder_search *hs = ud;
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonNode) root = NULL;
	const char *ifname, *ns;
	JsonObject *o;

	if (*hs->name || strcmp(kind, "tap") != 0)
		return;
	json_builder_begin_object(b);
	p->ops->describe(p, b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	o = json_node_get_object(root);
	ifname = vn_obj_str(o, "ifname");
	ns = vn_obj_str(o, "netns");
	if (ifname && vn_nl_addr_held(ns, ifname, hs->v->local.v6, hs->v->local.a, &hs->mac) == 1) {
		g_strlcpy(hs->name, name, sizeof(hs->name));
		g_strlcpy(hs->ns, ns ? ns : "", sizeof(hs->ns));
	}
}

/* Every remote's outer headers again (the VTEP's MAC changed). */
static void remotes_refresh(struct vn_vtep *v)
{
	for (unsigned i = 0; i < v->nr_ov; i++)
		for (unsigned k = 0; k < v->ov[i]->nr_rem; k++) {
			struct vn_tun_port *r = v->ov[i]->rem[k];
			if (r->tx)
				remote_publish(r, (const struct rte_ether_addr *)r->tx->tmpl.h);
		}
}

/*
 * Is the VTEP's address held by a namespace behind a tap port of the underlay? Then that
 * host answers ARP/ND with its MAC and vnicd uses that MAC as the VTEP's (taking only the
 * tunnel traffic to it); else vnicd answers with its own.
 */
static void vtep_find_holder(struct vn_vtep *v)
{
	struct holder_search hs = {.v = v};

	v->host->each_port(v->host->sw, v->underlay, holder_try, &hs);
	g_strlcpy(v->holder_ns, hs.ns, sizeof(v->holder_ns));
	if (strcmp(hs.name, v->holder) == 0 &&
	    (!*hs.name || rte_is_same_ether_addr(&hs.mac, &v->mac)))
		return;
	g_strlcpy(v->holder, hs.name, sizeof(v->holder));
	v->mac = *hs.name ? hs.mac : v->own_mac;
	vn_neigh_set_identity(v->neigh, &v->mac, *hs.name != '\0');
	remotes_refresh(v);
	if (*hs.name)
		VN_INFO("VTEP of %s: its address is held behind port %s (MAC %02x:%02x:%02x:%02x:"
			"%02x:%02x), which answers for it",
			v->underlay->name, hs.name, hs.mac.addr_bytes[0], hs.mac.addr_bytes[1],
			hs.mac.addr_bytes[2], hs.mac.addr_bytes[3], hs.mac.addr_bytes[4],
			hs.mac.addr_bytes[5]);
	else
		VN_INFO("VTEP of %s: vnicd answers for its address itself", v->underlay->name);
	vn_neigh_announce(v->neigh); /* neighbours learn the MAC now in use (not when held) */
}

/* What the underlay sent the VTEP (ARP, ND), and the timers. */
static gboolean vtep_poll(gpointer ud)
{
	struct vn_vtep *v = ud;
	struct rte_mbuf *pk[32];
	uint8_t buf[1600];
	uint64_t now = now_ms();
	unsigned n;

	while ((n = rte_ring_sc_dequeue_burst(v->port->punt, (void **)pk, 32, NULL)) > 0)
		for (unsigned i = 0; i < n; i++) {
			uint32_t len = RTE_MIN(rte_pktmbuf_pkt_len(pk[i]), (uint32_t)sizeof(buf));
			const void *d = rte_pktmbuf_read(pk[i], 0, len, buf);
			if (d)
				vn_neigh_input(v->neigh, d, len, now);
			rte_pktmbuf_free(pk[i]);
		}
	if (now - v->last_holder_check >= VTEP_HOLDER_MS) {
		v->last_holder_check = now;
		vtep_find_holder(v);
	}
	if (now - v->last_tick >= VTEP_TICK_MS) {
		v->last_tick = now;
		vn_neigh_tick(v->neigh, now);
		for (unsigned i = 0; i < v->nr_ov; i++)
			for (unsigned k = 0; k < v->ov[i]->nr_rem; k++)
				if (!v->ov[i]->rem[k]->tx)
					vn_vtep_resolve(v->ov[i]->rem[k]);
	}
	return G_SOURCE_CONTINUE;
}

/* ---- the local VTEP's life ---- */

/* Stage @v (or NULL) as the VTEP of underlay @u's uplink slot and publish it. */
static void uplink_hook(struct vn_vtep *v, struct vn_net *u, struct vn_vtep *set)
{
	struct vn_dp *dp = v->ov[0] ? v->ov[0]->dp : NULL;
	struct vn_slot s;

	if (!dp || !u->uplink)
		return;
	s = *vn_dp_slot(dp, u->uplink->slot);
	s.vtep = set;
	vn_dp_slot_set(dp, u->uplink->slot, &s);
	v->host->publish(v->host->sw);
}

/* A locally administered MAC of its own for the VTEP of @u at @a. */
static void vtep_mac(const struct vn_net *u, const struct vn_tun_addr *a, struct rte_ether_addr *m)
{
	/* rte_hash_crc() loads 8 bytes at a time: hash aligned copies (the same bytes) */
	uint64_t name[(VN_NAME_MAX + 7) / 8] = {0}, addr[2];
	size_t len = strnlen(u->name, sizeof(name));
	uint32_t h;

	memcpy(name, u->name, len);
	memcpy(addr, a->a, sizeof(addr));
	h = rte_hash_crc(addr, sizeof(addr), rte_hash_crc(name, len, 7));

	m->addr_bytes[0] = 0x02;
	m->addr_bytes[1] = 0x76; /* 'v' */
	memcpy(&m->addr_bytes[2], &h, 4);
}

static int vtep_make(struct vn_overlay *ov, struct vn_net *u, struct vn_vtep **out, GError **err)
{
	g_autoptr(JsonObject) a = json_object_new();
	struct vn_vtep *v = g_new0(struct vn_vtep, 1);
	struct vn_neigh_cfg nc = {0};
	struct vn_port *port = NULL;
	char mac[VN_MAC_STRLEN];
	int rc;

	v->underlay = u;
	v->local = ov->loc.addr;
	v->host = ov->host;
	vtep_mac(u, &v->local, &v->own_mac);
	v->mac = v->own_mac;
	if (snprintf(v->port_name, sizeof(v->port_name), "%s-vtep", u->name) >=
	    (int)sizeof(v->port_name)) {
		g_free(v);
		VN_FAIL(err, EINVAL, "underlay name '%s' is too long for its VTEP port", u->name);
	}
	json_object_set_string_member(a, "name", v->port_name);
	json_object_set_string_member(a, "kind", vn_vtep_port_kind.name);
	json_object_set_string_member(a, "net", u->name);
	vn_mac_format(&v->mac, mac);
	json_object_set_string_member(a, "mac", mac);
	if ((rc = v->host->port_add(v->host->sw, a, &vn_vtep_port_kind, &port, err)) < 0) {
		g_free(v);
		return rc;
	}
	v->port = (struct vtep_port *)port;
	v->port->v = v;
	nc.mac = v->mac;
	nc.addr = v->local;
	nc.has_gateway = ov->gateway_str != NULL;
	if (ov->gateway_str)
		vn_tun_addr_parse(ov->gateway_str, &nc.gateway);
	nc.prefix_len = ov->prefix_len;
	nc.max_entries = 1024;
	nc.send = vtep_send;
	nc.changed = vtep_changed;
	nc.ud = v;
	v->neigh = vn_neigh_new(&nc);
	if (!v->neigh) {
		v->host->port_del(v->host->sw, v->port_name);
		g_free(v);
		VN_FAIL(err, EINVAL, "--gateway must be inside --local's prefix");
	}
	*out = v;
	return 0;
}

int vn_vtep_get(struct vn_overlay *ov, struct vn_net *u, GError **err)
{
	struct vn_vtep *v = NULL;
	char have[INET6_ADDRSTRLEN];
	int rc;

	if (!u->uplink)
		VN_FAIL(err, EINVAL,
			"--underlay '%s' has no uplink (the underlay of an overlay "
			"must be a network with --uplink)",
			u->name);
	if (ov->dp)
		v = vn_dp_slot(ov->dp, u->uplink->slot)->vtep;
	if (v && !addr_eq(&v->local, &ov->loc.addr))
		VN_FAIL(err, EINVAL,
			"underlay '%s' already has the VTEP address %s (one per "
			"underlay network)",
			u->name, vn_tun_addr_format(&v->local, have));
	if (v && v->nr_ov &&
	    (v->ov[0]->prefix_len != ov->prefix_len ||
	     g_strcmp0(v->ov[0]->gateway_str, ov->gateway_str) != 0))
		VN_FAIL(err, EINVAL,
			"the VTEP of '%s' has --local %s%s%s: overlays sharing it give the same "
			"prefix and --gateway",
			u->name, v->ov[0]->local_str, v->ov[0]->gateway_str ? " --gateway " : "",
			v->ov[0]->gateway_str ? v->ov[0]->gateway_str : "");
	if (v && v->nr_ov >= VN_VTEP_MAX_OVERLAYS)
		VN_FAIL(err, ENOSPC, "underlay '%s' carries %d overlays already", u->name,
			VN_VTEP_MAX_OVERLAYS);
	if (!v && (rc = vtep_make(ov, u, &v, err)) < 0)
		return rc;
	v->ov[v->nr_ov] = ov;
	__atomic_store_n(&v->nr_ov, v->nr_ov + 1, __ATOMIC_RELEASE);
	ov->vtep = v;
	if (v->nr_ov == 1) {
		uplink_hook(v, u, v);
		vn_uplink_tunnel_gso(u->uplink, true);
		v->poll_src = g_timeout_add(VTEP_POLL_MS, vtep_poll, v);
		vtep_find_holder(v);
		v->last_holder_check = now_ms();
		vn_neigh_announce(v->neigh);
	}
	return 0;
}

void vn_vtep_put(struct vn_overlay *ov)
{
	struct vn_vtep *v = ov->vtep;
	unsigned k = 0;

	if (!v)
		return;
	if (v->host->closing) { /* its port is gone already */
		if (--v->nr_ov == 0) {
			g_source_remove(v->poll_src);
			vn_neigh_free(v->neigh);
			g_free(v);
		}
		ov->vtep = NULL;
		return;
	}
	for (unsigned i = 0; i < v->nr_ov; i++)
		if (v->ov[i] != ov)
			v->ov[k++] = v->ov[i];
	__atomic_store_n(&v->nr_ov, k, __ATOMIC_RELEASE);
	ov->vtep = NULL;
	if (k) {
		vn_dp_synchronize(ov->dp);
		return;
	}
	v->ov[0] = ov; /* for uplink_hook()'s data path */
	uplink_hook(v, v->underlay, NULL);
	if (v->underlay->uplink)
		vn_uplink_tunnel_gso(v->underlay->uplink, false);
	v->ov[0] = NULL;
	g_source_remove(v->poll_src);
	v->host->port_del(v->host->sw, v->port_name);
	vn_neigh_free(v->neigh);
	g_free(v);
}

const char *vn_vtep_holder_netns(struct vn_vtep *v)
{
	vtep_find_holder(v);
	return *v->holder ? v->holder_ns : NULL;
}

const struct rte_ether_addr *vn_vtep_mac(const struct vn_vtep *v)
{
	return &v->mac;
}

void vn_vtep_describe(const struct vn_vtep *v, JsonBuilder *b)
{
	char m[VN_MAC_STRLEN];

	vn_mac_format(&v->mac, m);
	vn_json_str(b, "vtep_mac", m);
	vn_json_str(b, "vtep_port", v->port_name);
	vn_json_str(b, "vtep_holder", *v->holder ? v->holder : NULL);
	vn_neigh_describe(v->neigh, b);
}

/* ---- remote VTEPs ---- */

static uint16_t tun_rx(struct vn_port *port, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	return 0;
}

static uint16_t tun_tx(struct vn_port *port, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	return 0; /* the pipeline encapsulates (vn_tun_flush()) */
}

static bool tun_link_up(const struct vn_port *port)
{
	return __atomic_load_n(&((const struct vn_tun_port *)port)->tx, __ATOMIC_RELAXED) != NULL;
}

static void tun_describe(const struct vn_port *port, JsonBuilder *b)
{
}

static void tun_destroy(struct vn_port *port)
{
	struct vn_tun_port *r = (struct vn_tun_port *)port;

	rte_free(r->tx);
	rte_free(r);
}

static const struct vn_port_ops tun_port_ops = {
    .kind = "tunnel",
    .rx_burst = tun_rx,
    .tx_burst = tun_tx,
    .link_up = tun_link_up,
    .describe = tun_describe,
    .destroy = tun_destroy,
};

struct vn_tun_port *vn_ov_remote_find(struct vn_overlay *ov, const struct vn_tun_addr *ip)
{
	for (unsigned i = 0; i < ov->nr_rem; i++)
		if (addr_eq(&ov->rem[i]->ip, ip))
			return ov->rem[i];
	return NULL;
}

struct vn_tun_port *vn_ov_remote_add(struct vn_overlay *ov, const struct vn_tun_addr *ip,
				     bool flood, GError **err)
{
	struct vn_tun_port *r = vn_ov_remote_find(ov, ip);
	char buf[INET6_ADDRSTRLEN];
	struct vn_slot s = {0};
	int slot;

	if (r || !ov->dp) {
		if (r && flood && !r->flood) {
			r->flood = true;
			s = *vn_dp_slot(ov->dp, r->base.slot);
			s.kmode = VN_OV_KMODE_REMOTE;
			vn_dp_slot_set(ov->dp, r->base.slot, &s);
			ov->host->publish(ov->host->sw);
		}
		return r;
	}
	if (ip->v6 != ov->loc.addr.v6) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "remote VTEP %s is not of --local's address family",
			    vn_tun_addr_format(ip, buf));
		return NULL;
	}
	if (ov->nr_rem >= VN_OV_MAX_REMOTES) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "overlay '%s' has %d remote VTEPs already", ov->base.name,
			    VN_OV_MAX_REMOTES);
		return NULL;
	}
	if ((slot = ov->host->slot_take(ov->host->sw, err)) < 0)
		return NULL;
	r = rte_zmalloc("vn_tun_port", sizeof(*r), RTE_CACHE_LINE_SIZE);
	if (!r) {
		ov->host->slot_give(ov->host->sw, (uint16_t)slot);
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "no memory for a remote VTEP");
		return NULL;
	}
	r->base.ops = &tun_port_ops;
	snprintf(r->base.name, sizeof(r->base.name), "%s", vn_tun_addr_format(ip, buf));
	r->base.slot = (uint16_t)slot;
	r->base.nr_txq = 1;
	r->ov = ov;
	r->ip = *ip;
	r->mp = ov->host->mp;
	r->flood = flood;
	s = (struct vn_slot){.port = &r->base,
			     .net = &ov->base,
			     .locality = VN_LOC_TUNNEL,
			     .kmode = flood ? VN_OV_KMODE_REMOTE : 0,
			     .tun = r};
	vn_dp_slot_set(ov->dp, (uint16_t)slot, &s);
	ov->host->publish(ov->host->sw);
	ov->rem[ov->nr_rem++] = r;
	vn_vtep_resolve(r);
	return r;
}

void vn_ov_remote_unflood(struct vn_overlay *ov, struct vn_tun_port *r)
{
	struct vn_slot s;

	if (!r->statics && !r->evpn_refs) {
		vn_ov_remote_del(ov, r);
		return;
	}
	s = *vn_dp_slot(ov->dp, r->base.slot);
	r->flood = false;
	s.kmode = 0;
	vn_dp_slot_set(ov->dp, r->base.slot, &s);
	ov->host->publish(ov->host->sw);
}

void vn_ov_remote_del(struct vn_overlay *ov, struct vn_tun_port *r)
{
	unsigned k = 0;

	for (unsigned i = 0; i < ov->nr_rem; i++)
		if (ov->rem[i] != r)
			ov->rem[k++] = ov->rem[i];
	ov->nr_rem = k;
	if (ov->host->closing) { /* nothing is published any more */
		tun_destroy(&r->base);
		return;
	}
	vn_dp_slot_set(ov->dp, r->base.slot, NULL);
	ov->host->publish(ov->host->sw); /* waits until no worker sees it */
	if (ov->base.fdb)
		vn_fdb_flush(ov->base.fdb, r->base.slot, true);
	ov->host->slot_give(ov->host->sw, r->base.slot);
	tun_destroy(&r->base);
}

/* ---- data path: tunnel traffic out of the underlay's bursts (worker) ---- */

/* Return: @ov's remote at @ip, or NULL. */
static struct vn_tun_port *remote_at(struct vn_overlay *ov, const struct vn_tun_addr *ip)
{
	unsigned nr = __atomic_load_n(&ov->nr_rem, __ATOMIC_ACQUIRE);

	uint32_t a4;

	if (likely(!ip->v6)) { /* one 4-byte compare per remote, not a call to memcmp() */
		memcpy(&a4, ip->a, 4);
		for (unsigned i = 0; i < nr; i++) {
			struct vn_tun_port *r = ov->rem[i];
			uint32_t b4;
			memcpy(&b4, r->ip.a, 4);
			if (a4 == b4)
				return r;
		}
		return NULL;
	}
	for (unsigned i = 0; i < nr; i++) {
		struct vn_tun_port *r = ov->rem[i];
		if (memcmp(r->ip.a, ip->a, 16) == 0)
			return r;
	}
	return NULL;
}

/* Frame @m, addressed to the VTEP's MAC: decapsulated into *@out from *@slot, dropped
 * (counted, freed), or left to the underlay. Return: 1 taken, 0 dropped, -1 left. */
static __rte_always_inline int vtep_one(struct vn_vtep *v, unsigned nov, struct rte_mbuf *m,
					struct rte_mbuf **out, uint16_t *slot, struct vn_trace *tr)
{
	struct vn_overlay *unknown = NULL;
	struct vn_tun_rx rx;

	for (unsigned j = 0; j < nov; j++) {
		struct vn_overlay *ov = v->ov[j];
		enum vn_tun_err e = vn_tun_parse(m, &ov->loc, &rx);
		struct vn_tun_port *r;
		if (e == VN_TUN_NOT_MINE)
			continue;
		if (e == VN_TUN_OK && vn_ov_seg_of_vni(ov, rx.vni) < 0) {
			unknown = ov; /* another overlay may carry it */
			continue;
		}
		if (e == VN_TUN_OK && !(r = remote_at(ov, &rx.remote)))
			e = (enum vn_tun_err)VN_OV_UNKNOWN_REMOTE;
		if (e == VN_TUN_OK)
			e = vn_tun_decap(m, &rx);
		if (e != VN_TUN_OK) {
			VN_TRACE(tr, "decap", "drop", "tunnel frame for overlay %s dropped: %s",
				 ov->base.name, vn_ov_drop_name(e));
			if (likely(tr == NULL))
				vn_ov_count(ov, e, 1);
			rte_pktmbuf_free(m);
			return 0;
		}
		VN_TRACE(tr, "decap", "vni",
			 "tunnel frame from remote VTEP %s, VNI %u: into overlay %s", r->base.name,
			 rx.vni, ov->base.name);
		m->hash.usr = rx.vni;
		*out = m;
		*slot = r->base.slot;
		return 1;
	}
	if (!unknown)
		return -1;
	VN_TRACE(tr, "decap", "drop", "tunnel frame for a VNI no overlay here carries");
	if (likely(tr == NULL))
		vn_ov_count(unknown, VN_OV_UNKNOWN_VNI, 1);
	rte_pktmbuf_free(m);
	return 0;
}

/* A frame to the holder of the VTEP's address that may answer one of vnicd's requests (ARP,
 * ICMPv6): the holder gets it, the control thread reads it too. */
static void snoop(struct vn_vtep *v, struct rte_mbuf *m)
{
	const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
	bool arp = d[12] == 0x08 && d[13] == 0x06;
	bool icmp6 = d[12] == 0x86 && d[13] == 0xdd && rte_pktmbuf_data_len(m) > 54 && d[20] == 58;

	if (!arp && !icmp6)
		return;
	rte_pktmbuf_refcnt_update(m, 1);
	if (rte_ring_mp_enqueue(v->port->punt, m) < 0)
		rte_pktmbuf_refcnt_update(m, -1);
}

/* vn_vtep_intercept()'s loop; @tr is NULL (a constant) on the fast path. */
static __rte_always_inline uint16_t intercept(struct vn_vtep *v, struct rte_mbuf **pkts, uint16_t n,
					      struct rte_mbuf **out, uint16_t *out_slot,
					      uint16_t *nout, struct vn_trace *tr)
{
	unsigned nov = __atomic_load_n(&v->nr_ov, __ATOMIC_ACQUIRE);
	uint16_t k = 0, o = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		int r = -1;

		if (rte_pktmbuf_data_len(m) >= RTE_ETHER_HDR_LEN &&
		    rte_is_same_ether_addr(&eth->dst_addr, &v->mac)) {
			r = vtep_one(v, nov, m, &out[o], &out_slot[o], tr);
			if (r < 0 && v->holder[0] && !tr) /* a dry run hands nothing over */
				snoop(v, m);
		}
		if (r < 0)
			pkts[k++] = m;
		else
			o = (uint16_t)(o + r);
	}
	*nout = o;
	return k;
}

static __rte_noinline uint16_t intercept_traced(struct vn_vtep *v, struct rte_mbuf **pkts,
						uint16_t n, struct rte_mbuf **out,
						uint16_t *out_slot, uint16_t *nout,
						struct vn_trace *tr)
{
	return intercept(v, pkts, n, out, out_slot, nout, tr);
}

uint16_t vn_vtep_intercept(struct vn_vtep *v, struct rte_mbuf **pkts, uint16_t n,
			   struct rte_mbuf **out, uint16_t *out_slot, uint16_t *nout,
			   struct vn_trace *tr)
{
	if (unlikely(tr != NULL)) /* a dry run (trace.h): once per burst */
		return intercept_traced(v, pkts, n, out, out_slot, nout, tr);
	return intercept(v, pkts, n, out, out_slot, nout, NULL);
}

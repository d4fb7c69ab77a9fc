/* SPDX-License-Identifier: MIT */
/* The uplink port kind: a DPDK ethdev hot-plugged from devargs; its link, MAC, receive filter. */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_spinlock.h>

#include "vnicd/args.h"
#include "vnicd/confine.h"
#include "vnicd/log.h"
#include "vnicd/mac.h"
#include "vnicd/netlink.h"
#include "vnicd/pktq.h"
#include "vnicd/tap.h"
#include "vnicd/uplink.h"

#include "uplink_priv.h"

/* ---- data path ---- */

/*
 * An af_packet socket also reads what the host's own stack sends on the interface; those
 * frames (source: the interface's MAC) never came from the wire and are skipped, as kernel
 * macvlan never sees its lower device's transmissions. Not while a passthru port has lent
 * the interface its MAC: then such a source is the guest's own frame coming back.
 */
static uint16_t uplink_rx(struct vn_port *port, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	struct uplink_port *up = up_of(port);
	uint64_t own = __atomic_load_n(&up->own, __ATOMIC_RELAXED);
	uint16_t got = up->pq ? vn_pktq_rx(up->pq, q, pkts, n,
					   __atomic_load_n(&port->offl_pass, __ATOMIC_ACQUIRE))
			      : rte_eth_rx_burst(up->port_id, q, pkts, n),
		 k = 0;

	if (unlikely(up->wire_end >= 0)) /* as from a NIC: none of the sender's flags */
		for (uint16_t i = 0; i < got; i++) {
			pkts[i]->ol_flags &= RTE_MBUF_F_INDIRECT | RTE_MBUF_F_EXTERNAL;
			pkts[i]->packet_type = 0;
		}
	if (own == NO_SKIP)
		return got;
	for (uint16_t i = 0; i < got; i++) {
		const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(pkts[i], struct rte_ether_hdr *);
		if (rte_pktmbuf_data_len(pkts[i]) >= RTE_ETHER_HDR_LEN &&
		    mac48(&eth->src_addr) == own) {
			up->host_skipped[q]++;
			rte_pktmbuf_free(pkts[i]);
			continue;
		}
		pkts[k++] = pkts[i];
	}
	return k;
}

struct rte_mbuf *vn_mbuf_linearize(struct rte_mbuf *m, struct rte_mempool *mp)
{
	uint32_t len = rte_pktmbuf_pkt_len(m);
	struct rte_mbuf *c;
	const void *from;
	uint8_t *to;

	if (m->nb_segs == 1)
		return m;
	c = rte_pktmbuf_alloc(mp);
	if (!c)
		return NULL;
	if (len > rte_pktmbuf_tailroom(c) ||
	    !(to = (uint8_t *)rte_pktmbuf_append(c, (uint16_t)len)))
		goto out_free;
	from = rte_pktmbuf_read(m, 0, len, to); /* copies across segments into @to */
	if (!from)
		goto out_free; /* segments shorter than pkt_len */
	if (from != to)
		memcpy(to, from, len);
	c->ol_flags = m->ol_flags & (RTE_MBUF_F_TX_OFFLOAD_MASK | RTE_MBUF_F_TX_VLAN);
	c->tx_offload = m->tx_offload;
	c->packet_type = m->packet_type;
	c->vlan_tci = m->vlan_tci;
	c->vlan_tci_outer = m->vlan_tci_outer;
	c->port = m->port;
	rte_pktmbuf_free(m);
	return c;

out_free:
	rte_pktmbuf_free(c);
	return NULL;
}

/*
 * The ethdev cannot send chains (vhost dequeue, the segmenter and overlay headers make
 * them): copy each flat, drop (and count) what cannot be. Dropped frames are taken: they
 * move to the front of @pkts, the rest keep their order behind them. Return: how many.
 */
static uint16_t linearize_burst(struct uplink_port *up, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t w = n, copied = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *l;

		if (likely(pkts[i]->nb_segs == 1))
			continue;
		l = vn_mbuf_linearize(pkts[i], up->mp);
		if (!l)
			rte_pktmbuf_free(pkts[i]);
		else
			copied++;
		pkts[i] = l;
	}
	for (uint16_t i = n; i-- > 0;)
		if (pkts[i])
			pkts[--w] = pkts[i];
	for (uint16_t i = 0; i < w; i++)
		pkts[i] = NULL; /* freed above */
	if (copied)
		__atomic_add_fetch(&up->tx_linearized, copied, __ATOMIC_RELAXED);
	if (w)
		__atomic_add_fetch(&up->tx_linearize_drops, w, __ATOMIC_RELAXED);
	return w;
}

static uint16_t tx_locked(struct uplink_port *up, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t dropped = 0;

	if (up->pq)
		return vn_pktq_tx(up->pq, q, pkts, n);
	if (unlikely(up->linearize))
		dropped = linearize_burst(up, pkts, n);
	return (uint16_t)(dropped + rte_eth_tx_burst(up->port_id, q, pkts + dropped,
						     (uint16_t)(n - dropped)));
}

static uint16_t uplink_tx(struct vn_port *port, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	struct uplink_port *up = up_of(port);
	uint16_t sent;

	/* no carrier: refuse (counted as link_down) rather than fill a ring nobody drains */
	if (!__atomic_load_n(&up->carrier, __ATOMIC_RELAXED))
		return 0;
	q %= up->queues;
	if (!port->tx_shared)
		return tx_locked(up, q, pkts, n);
	rte_spinlock_lock(&up->txlock[q]);
	sent = tx_locked(up, q, pkts, n);
	rte_spinlock_unlock(&up->txlock[q]);
	return sent;
}

/* Arm or disarm the wake-up of rx queue @q (af_packet: our packet sockets' engine). */
static int uplink_rx_intr(struct vn_port *port, uint16_t q, bool enable)
{
	struct uplink_port *up = up_of(port);

	if (!up->pq)
		return -EOPNOTSUPP;
	return vn_pktq_intr(up->pq, q, enable);
}

static bool uplink_link_up(const struct vn_port *port)
{
	return __atomic_load_n(&cup_of(port)->carrier, __ATOMIC_RELAXED);
}

/* ---- link state (control thread) ---- */

static void set_carrier(struct uplink_port *up, bool on, const char *why)
{
	if (__atomic_load_n(&up->carrier, __ATOMIC_RELAXED) == on)
		return;
	__atomic_store_n(&up->carrier, on, __ATOMIC_RELAXED);
	up->carrier_changes++;
	if (on)
		vn_log_ctx(VN_LOG_INFO, &(struct vn_log_ctx){.port = up->base.name},
			   "uplink %s: carrier on (%s): transmission resumes", up->base.name, why);
	else
		vn_log_ctx(
		    VN_LOG_WARN, &(struct vn_log_ctx){.port = up->base.name},
		    "uplink %s: carrier lost (%s): frames to it are dropped (link_down) until "
		    "it returns",
		    up->base.name, why);
}

static void on_klink(void *ud, const struct vn_klink *l)
{
	struct uplink_port *up = ud;
	char why[64];

	up->kl = *l;
	if (up->sees_own_tx && !up->mac_changed && l->present)
		__atomic_store_n(&up->own, mac48(&l->mac), __ATOMIC_RELAXED);
	if (!l->present)
		g_strlcpy(why, "interface removed", sizeof(why));
	else if (!l->admin_up)
		g_strlcpy(why, "interface down", sizeof(why));
	else
		snprintf(why, sizeof(why), "kernel: %s", l->operstate);
	set_carrier(up, l->carrier, why);
}

void vn_uplink_tick(struct vn_port *port)
{
	struct uplink_port *up = up_of(port);
	struct rte_eth_link link;

	if (up->watch) /* netlink reports */
		return;
	if (rte_eth_link_get_nowait(up->port_id, &link) == 0)
		set_carrier(up, link.link_status == RTE_ETH_LINK_UP, "ethdev link");
}

/* ---- description ---- */

static void jmac(JsonBuilder *b, const char *k, const struct rte_ether_addr *m)
{
	char s[RTE_ETHER_ADDR_FMT_SIZE];

	vn_mac_format(m, s);
	vn_json_str(b, k, s);
}

void vn_uplink_describe_link(const struct vn_port *port, JsonBuilder *b)
{
	const struct uplink_port *up = cup_of(port);
	struct rte_ether_addr mac;

	vn_uplink_get_mac(port, &mac);
	vn_json_str(b, "devargs", up->devargs);
	vn_json_str(b, "driver", up->driver);
	vn_json_str(b, "ifname", up->ifindex > 0 ? up->kl.ifname : NULL);
	vn_json_bool(b, "carrier", __atomic_load_n(&up->carrier, __ATOMIC_RELAXED));
	vn_json_int(b, "carrier_changes", (gint64)up->carrier_changes);
	if (up->ifindex > 0) {
		struct vn_klink now;
		bool fresh = vn_klink_get(up->nl, NULL, up->ifindex, &now) == 0;
		vn_json_str(b, "operstate", up->kl.present ? up->kl.operstate : "absent");
		vn_json_int(b, "mtu", up->kl.mtu);
		vn_json_int(b, "promiscuity", fresh ? now.promiscuity : up->kl.promiscuity);
	} else {
		uint16_t mtu = 0;
		rte_eth_dev_get_mtu(up->port_id, &mtu);
		vn_json_int(b, "mtu", mtu);
	}
	jmac(b, "uplink_mac", &mac);
	json_builder_set_member_name(b, "addresses");
	json_builder_begin_array(b);
	if (up->ifindex > 0)
		vn_klink_addresses(up->watch, b);
	json_builder_end_array(b);
	json_builder_set_member_name(b, "filter");
	json_builder_begin_object(b);
	vn_json_str(b, "method",
		    up->way == FILTER_KERNEL ? "kernel unicast list" : "ethdev MAC filter");
	json_builder_set_member_name(b, "unicast");
	json_builder_begin_array(b);
	for (guint i = 0; i < up->uc->len; i++) {
		char s[RTE_ETHER_ADDR_FMT_SIZE];
		vn_mac_format(&g_array_index(up->uc, struct rte_ether_addr, i), s);
		json_builder_add_string_value(b, s);
	}
	json_builder_end_array(b);
	vn_json_bool(b, "promiscuous", up->promisc || up->promisc_fallback);
	vn_json_bool(b, "promiscuous_fallback", up->promisc_fallback);
	vn_json_bool(b, "allmulticast", up->allmulti);
	vn_json_bool(b, "mac_lent", up->mac_changed);
	jmac(b, "original_mac", &up->orig_mac);
	json_builder_end_object(b);
}

static void uplink_describe(const struct vn_port *port, JsonBuilder *b)
{
	const struct uplink_port *up = cup_of(port);
	struct rte_eth_stats st = {0};

	vn_uplink_describe_link(port, b);
	vn_json_int(b, "ethdev_port", up->port_id);
	vn_json_int(b, "queues", up->queues);
	{
		uint64_t skipped = 0;
		for (unsigned q = 0; q < VN_MAX_QUEUES; q++)
			skipped += up->host_skipped[q];
		vn_json_int(b, "host_frames_skipped",
			    (gint64)skipped); /* the host's own, af_packet */
		vn_json_bool(b, "rx_notify",  /* idle workers sleep until frames come */
			     up->pq && vn_pktq_can_notify(up->pq));
	}
	if (up->pq && strcmp(up->kl.kind, "veth") == 0 && (up->xdp_link >= 0 || up->xdp_note[0])) {
		json_builder_set_member_name(b, "veth_xdp"); /* see veth_xdp() */
		json_builder_begin_object(b);
		vn_json_bool(b, "attached", up->xdp_link >= 0);
		vn_json_str(b, "note", up->xdp_note[0] ? up->xdp_note : NULL);
		json_builder_end_object(b);
	}
	if (up->pq) {
		/* the frames go through vnicd's own sockets, not the PMD */
		json_builder_set_member_name(b, "packet_sockets");
		json_builder_begin_object(b);
		/* frames with pending offloads pass whole (every port of the network takes them) */
		vn_json_bool(b, "offload_pass",
			     __atomic_load_n(&up->base.offl_pass, __ATOMIC_RELAXED));
		vn_pktq_describe(up->pq, b);
		json_builder_end_object(b);
		vn_pktq_wire(up->pq, &st);
	} else {
		rte_eth_stats_get(up->port_id, &st);
	}
	/* chains to a device without RTE_ETH_TX_OFFLOAD_MULTI_SEGS are copied flat */
	vn_json_bool(b, "tx_multi_segs", up->pq || up->multi_segs);
	vn_json_int(b, "tx_linearized",
		    (gint64)__atomic_load_n(&up->tx_linearized, __ATOMIC_RELAXED));
	vn_json_int(b, "tx_linearize_drops",
		    (gint64)__atomic_load_n(&up->tx_linearize_drops, __ATOMIC_RELAXED));
	json_builder_set_member_name(b, "wire"); /* the PMD's own counters */
	json_builder_begin_object(b);
	vn_json_int(b, "rx_packets", (gint64)st.ipackets);
	vn_json_int(b, "rx_bytes", (gint64)st.ibytes);
	vn_json_int(b, "tx_packets", (gint64)st.opackets);
	vn_json_int(b, "tx_bytes", (gint64)st.obytes);
	vn_json_int(b, "rx_missed", (gint64)st.imissed);
	vn_json_int(b, "rx_errors", (gint64)st.ierrors);
	vn_json_int(b, "tx_errors", (gint64)st.oerrors);
	vn_json_int(b, "rx_nombuf", (gint64)st.rx_nombuf);
	json_builder_end_object(b);
}

/* ---- life cycle ---- */

/* Ports and kernel interfaces in use by uplinks (each can serve one network only). */
static bool port_taken[RTE_MAX_ETHPORTS];
static GHashTable *ifindex_taken; /* ifindex -> the uplink port */

/* Detach the device vnicd attached for @up (by its rte_device, or by its devargs). */
static void detach(struct uplink_port *up)
{
	struct rte_devargs da;

	if (!up->probed)
		return;
	if (up->wire_end >= 0) {
		vn_wire_detach(up);
		return;
	}
	if (up->dev) {
		if (rte_dev_remove(up->dev) != 0)
			VN_WARN("uplink %s: detaching DPDK device %s failed", up->base.name,
				up->devargs);
		return;
	}
	if (rte_devargs_parse(&da, up->devargs) == 0) {
		rte_eal_hotplug_remove(rte_bus_name(da.bus), da.name);
		rte_devargs_reset(&da);
	}
}

static void uplink_destroy(struct vn_port *port)
{
	struct uplink_port *up = up_of(port);

	vn_klink_unwatch(up->watch);
	if (up->ifindex > 0 && ifindex_taken &&
	    g_hash_table_lookup(ifindex_taken, GINT_TO_POINTER(up->ifindex)) == up)
		g_hash_table_remove(ifindex_taken, GINT_TO_POINTER(up->ifindex));
	if (up->mac_changed)
		vn_uplink_set_mac(port, NULL, NULL);
	if (up->xdp_link >= 0)
		close(up->xdp_link); /* the kernel detaches the program: the peer's TSO is back */
	if (up->pq)
		__atomic_sub_fetch(&vn_offl_sources, 1, __ATOMIC_RELAXED);
	vn_pktq_close(up->pq);
	if (up->mfd >= 0)
		close(up->mfd); /* the kernel drops its memberships */
	else if (up->uc)
		for (guint i = 0; i < up->uc->len; i++)
			up_uc_del(up, &g_array_index(up->uc, struct rte_ether_addr, i));
	rte_eth_dev_stop(up->port_id);
	rte_eth_dev_close(up->port_id);
	detach(up);
	port_taken[up->port_id] = false;
	vn_nl_close(up->nl); /* after the MAC went back */
	if (up->uc)
		g_array_free(up->uc, TRUE);
	VN_INFO("uplink %s: %s detached", port->name, up->devargs);
	rte_free(up);
}

bool vn_uplink_takes_offloads(const struct vn_port *port)
{
	return cup_of(port)->pq != NULL;
}

static const struct vn_port_ops uplink_ops = {
    .kind = "uplink",
    .rx_burst = uplink_rx,
    .tx_burst = uplink_tx,
    .rx_intr = uplink_rx_intr,
    .link_up = uplink_link_up,
    .describe = uplink_describe,
    .destroy = uplink_destroy,
};

/* The value of "iface=" in @devargs (into @out), if any. */
static bool devargs_iface(const char *devargs, char out[IF_NAMESIZE])
{
	g_auto(GStrv) parts = g_strsplit(devargs, ",", -1);

	for (int i = 1; parts[i]; i++)
		if (g_str_has_prefix(parts[i], "iface=")) {
			g_strlcpy(out, parts[i] + 6, IF_NAMESIZE);
			return true;
		}
	return false;
}

static int uplink_check(JsonObject *args, const struct vn_config *cfg, GError **err)
{
	const char *d;
	int rc;

	if ((rc = vn_arg_str(args, "devargs", true, &d, err)) < 0)
		return rc;
	if (!*d || strlen(d) >= DEVARGS_MAX) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "--uplink needs DPDK devargs of 1-%d characters", DEVARGS_MAX - 1);
		return -EINVAL;
	}
	for (const char *p = d; *p; p++)
		if (!g_ascii_isgraph(*p) || *p == '"' || *p == '\'' || *p == '\\') {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "--uplink '%s': devargs hold no spaces, quotes or backslashes",
				    d);
			return -EINVAL;
		}
	(void)cfg;
	if (vn_wire_named(d))
		return vn_wire_check(d, err);
	return vn_devargs_check(d, err); /* only drivers and options that open no files */
}

/* Attach @devargs (or find it when it is already attached): Return: 0 and the port id. */
static int attach(struct uplink_port *up, GError **err)
{
	struct rte_dev_iterator it;
	struct rte_devargs da;
	uint16_t pid;
	bool found = false;
	int rc;

	if (vn_wire_named(up->devargs))
		return vn_wire_attach(up, err);
	if (rte_devargs_parse(&da, up->devargs) != 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "--uplink '%s': no DPDK bus or driver knows this device (expected e.g. "
			    "net_af_packet0,iface=IF, net_af_xdp0,iface=IF, net_tap0,iface=IF or a "
			    "PCI address)",
			    up->devargs);
		return -ENODEV;
	}
	rte_devargs_reset(&da);
	rc = rte_dev_probe(up->devargs);
	if (rc < 0 && rc != -EEXIST) {
		g_set_error(
		    err, G_IO_ERROR, G_IO_ERROR_FAILED,
		    "cannot attach DPDK device '%s': %s (no such driver, a bad argument, or "
		    "a device the driver cannot open; see vnicd's log)",
		    up->devargs, rte_strerror(-rc));
		return rc;
	}
	up->probed = rc == 0;
	RTE_ETH_FOREACH_MATCHING_DEV(pid, up->devargs, &it)
	{
		found = true;
		up->port_id = pid;
		rte_eth_iterator_cleanup(&it);
		break;
	}
	if (!found) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "DPDK device '%s' was attached but is not an Ethernet port",
			    up->devargs);
		detach(up);
		return -ENODEV;
	}
	if (port_taken[up->port_id]) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_EXISTS,
			    "DPDK device '%s' is already the uplink of another network",
			    up->devargs);
		up->probed = false; /* not ours to detach */
		return -EEXIST;
	}
	return 0;
}

/*
 * Configure and start the ethdev with @nq queue pairs on the shared pool; with
 * RTE_ETH_TX_OFFLOAD_MULTI_SEGS when the device offers it (@info), else tx linearises.
 */
static int start(struct uplink_port *up, const struct rte_eth_dev_info *info,
		 struct rte_mempool *mp, uint16_t nq, GError **err)
{
	struct rte_eth_conf conf = {0};
	uint16_t nrx = UPLINK_DESC, ntx = UPLINK_DESC;
	int sock = rte_eth_dev_socket_id(up->port_id);
	const char *what = "configure";
	int rc;

	if (sock < 0)
		sock = SOCKET_ID_ANY;
	up->multi_segs = (info->tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0;
	if (up->multi_segs)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	up->linearize = !up->multi_segs;
	rc = rte_eth_dev_configure(up->port_id, nq, nq, &conf);
	if (rc == 0)
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(up->port_id, &nrx, &ntx);
	for (uint16_t q = 0; rc == 0 && q < nq; q++) {
		what = "set up the queues of";
		rc = rte_eth_rx_queue_setup(up->port_id, q, nrx, (unsigned)sock, NULL, mp);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(up->port_id, q, ntx, (unsigned)sock, NULL);
	}
	if (rc == 0) {
		what = "start";
		rc = rte_eth_dev_start(up->port_id);
	}
	if (rc < 0)
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot %s DPDK device '%s': %s",
			    what, up->devargs, rte_strerror(-rc));
	return rc;
}

/* The kernel interface behind the device, if any: watch it, and open the membership socket. */
static int kernel_side(struct uplink_port *up, const struct rte_eth_dev_info *info, GError **err)
{
	char ifname[IF_NAMESIZE] = "";
	bool kernel_pmd = strcmp(up->driver, "net_af_packet") == 0 ||
			  strcmp(up->driver, "net_af_xdp") == 0 ||
			  strcmp(up->driver, "net_tap") == 0;

	up->mfd = -1;
	up->ifindex = info->if_index > 0 ? (int)info->if_index : 0;
	if (!up->ifindex && kernel_pmd && devargs_iface(up->devargs, ifname))
		up->ifindex = (int)if_nametoindex(ifname);
	if (!up->ifindex) {
		up->way = FILTER_ETHDEV;
		return 0;
	}
	if (!ifindex_taken)
		ifindex_taken = g_hash_table_new(NULL, NULL);
	if (g_hash_table_contains(ifindex_taken, GINT_TO_POINTER(up->ifindex))) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_EXISTS,
			    "--uplink '%s': its interface is already the uplink of another network",
			    up->devargs);
		up->ifindex = 0;
		return -EEXIST;
	}
	g_hash_table_insert(ifindex_taken, GINT_TO_POINTER(up->ifindex), up);
	if (vn_nl_open(NULL, &up->nl, err) < 0)
		return -EIO;
	up->watch = vn_klink_watch(up->nl, up->ifindex, on_klink, up, &up->kl, err);
	if (!up->watch)
		return -EIO;
	up->way = kernel_pmd ? FILTER_KERNEL : FILTER_ETHDEV;
	if (up->way == FILTER_KERNEL) {
		up->mfd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0); /* receives nothing */
		if (up->mfd < 0) {
			int e = errno;
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "uplink: cannot open an AF_PACKET socket: %s", g_strerror(e));
			return -e;
		}
	}
	return 0;
}

/*
 * A veth peer hands its TSO frames over unsegmented (up to 64 KiB), and for one a UDP tunnel
 * made (a kernel vxlan or geneve device over the peer: SKB_GSO_UDP_TUNNEL[_CSUM] | TCPV4/6)
 * the virtio-net header of af_packet (virtio_net_hdr_from_skb()) only says GSO_TCPV4/6,
 * gso_size and csum_start at the inner TCP header: nothing of the tunnel or of an outer
 * UDP checksum to redo per segment. vnicd does not guess: such frames are dropped
 * (`rx_bad_offload`), and TCP from behind the peer's tunnel stalls. A native XDP program on
 * our end makes the veth drop NETIF_F_GSO_SOFTWARE from the peer's features
 * (veth_fix_features() in drivers/net/veth.c): the peer segments in software before the
 * veth, and only MTU-sized frames cross. The program passes every frame; it is held by a BPF
 * link, so the kernel detaches it (and the peer gets its TSO back) when the uplink goes or
 * vnicd exits, kill -9 included. An XDP program already on the interface is left alone.
 */
static void veth_xdp(struct uplink_port *up, const char *name)
{
	struct vn_klink k;
	char emsg[160] = "";
	int fd;

	if (strcmp(up->kl.kind, "veth") != 0)
		return;
	if (vn_klink_get(up->nl, NULL, up->ifindex, &k) == 0 &&
	    k.xdp_attached != XDP_ATTACHED_NONE) {
		snprintf(up->xdp_note, sizeof(up->xdp_note),
			 "an XDP program (id %u) is attached already: left alone", k.xdp_prog_id);
		fd = -EBUSY;
	} else if ((fd = vn_klink_xdp_pass(up->ifindex, emsg, sizeof(emsg))) < 0) {
		snprintf(up->xdp_note, sizeof(up->xdp_note), "%s", emsg);
	}
	if (fd < 0) {
		VN_WARN("uplink %s: veth %s: no XDP program of ours: %s; the peer's TSO frames "
			"of a UDP tunnel will be dropped (rx_bad_offload)",
			name, up->kl.ifname, up->xdp_note);
		return;
	}
	up->xdp_link = fd;
	VN_INFO("uplink %s: veth %s: XDP_PASS program attached (driver mode), so that the peer "
		"segments its TSO frames before the veth",
		name, up->kl.ifname);
}

int vn_uplink_ifindex(const struct vn_port *port)
{
	const struct uplink_port *up = (const struct uplink_port *)port;

	return up->ifindex > 0 ? up->ifindex : 0;
}

void vn_uplink_tunnel_gso(struct vn_port *port, bool on)
{
	struct uplink_port *up = (struct uplink_port *)port;

	if (on && up->xdp_link < 0 && up->pq)
		veth_xdp(up, port->name);
	if (!on && up->xdp_link >= 0) {
		close(up->xdp_link); /* the kernel detaches the program: the peer's TSO is back */
		up->xdp_link = -1;
		VN_INFO("uplink %s: veth %s: XDP_PASS program detached", port->name, up->kl.ifname);
	}
}

/* Uplink @up, started, becomes port @name: its port members, carrier, the log line. */
static void uplink_finish(struct uplink_port *up, const char *name)
{
	up->base.ops = &uplink_ops;
	g_strlcpy(up->base.name, name, sizeof(up->base.name));
	up->base.nr_rxq = up->queues;
	up->base.nr_txq = up->queues;
	up->base.has_mac = true;
	up->base.mac = up->mac;
	if (up->ifindex > 0)
		__atomic_store_n(&up->carrier, up->kl.carrier, __ATOMIC_RELAXED);
	else
		vn_uplink_tick(&up->base);
	if (up->ifindex > 0)
		VN_INFO(
		    "uplink %s: %s (driver %s, ethdev port %u, kernel interface %s, carrier %s)",
		    name, up->devargs, up->driver, up->port_id, up->kl.ifname,
		    up->kl.carrier ? "on" : "off");
	else
		VN_INFO("uplink %s: %s (driver %s, ethdev port %u)", name, up->devargs, up->driver,
			up->port_id);
}

static int uplink_create(const char *name, JsonObject *args, const struct vn_port_env *env,
			 struct vn_port **out, GError **err)
{
	struct uplink_port *up;
	struct rte_eth_dev_info info;
	const char *devargs = NULL;
	char ifname[IF_NAMESIZE];
	uint16_t nq;
	int rc;

	vn_arg_str(args, "devargs", true, &devargs, NULL);
	if (devargs &&
	    (g_str_has_prefix(devargs, "net_af_packet") ||
	     g_str_has_prefix(devargs, "net_af_xdp")) &&
	    devargs_iface(devargs, ifname) && if_nametoindex(ifname) == 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "--uplink '%s': no network interface '%s' in vnicd's namespace",
			    devargs, ifname);
		return -ENODEV;
	}
	up = rte_zmalloc("vn_uplink", sizeof(*up), RTE_CACHE_LINE_SIZE);
	if (!up) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "out of memory");
		return -ENOMEM;
	}
	up->own = NO_SKIP;
	up->mfd = -1;
	up->xdp_link = -1;
	up->wire_end = -1;
	g_strlcpy(up->devargs, devargs ? devargs : "", sizeof(up->devargs));
	if ((rc = attach(up, err)) < 0) {
		rte_free(up);
		return rc;
	}
	port_taken[up->port_id] = true;
	rc = rte_eth_dev_info_get(up->port_id, &info);
	if (rc < 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "DPDK device '%s': no device info",
			    up->devargs);
		goto out_destroy;
	}
	up->dev = info.device;
	g_strlcpy(up->driver, info.driver_name ? info.driver_name : "?", sizeof(up->driver));
	nq = info.max_rx_queues < info.max_tx_queues ? info.max_rx_queues : info.max_tx_queues;
	if (nq > vn_dp_nr_workers(env->dp))
		nq = (uint16_t)vn_dp_nr_workers(env->dp);
	if (nq > VN_MAX_QUEUES)
		nq = VN_MAX_QUEUES;
	up->queues = nq ? nq : 1;
	up->uc = g_array_new(FALSE, FALSE, sizeof(struct rte_ether_addr));
	for (unsigned i = 0; i < VN_MAX_QUEUES; i++)
		rte_spinlock_init(&up->txlock[i]);
	up->mp = env->mp;
	if ((rc = start(up, &info, env->mp, up->queues, err)) < 0)
		goto out_destroy;
	rte_eth_macaddr_get(up->port_id, &up->mac);
	if (up->wire_end >= 0)
		vn_wire_started(up);
	if ((rc = kernel_side(up, &info, err)) < 0)
		goto out_destroy;
	if (up->ifindex > 0 && up->kl.present)
		up->mac = up->kl.mac;
	up->orig_mac = up->mac;
	up->sees_own_tx = up->way == FILTER_KERNEL && strcmp(up->driver, "net_af_packet") == 0;
	up->own = up->sees_own_tx ? mac48(&up->mac) : NO_SKIP;
	if (up->sees_own_tx) {
		/*
		 * The PMD's TPACKET_V2 ring says nothing of a checksum the kernel left to the
		 * device (a veth peer's CHECKSUM_PARTIAL frames, TP_STATUS_CSUMNOTREADY: the
		 * PMD sets no ol_flags) and cuts a GSO frame to its 2 KiB slot: TCP from such a
		 * peer never arrives. Our own PACKET_VNET_HDR sockets carry the frames instead
		 * (vnicd/pktq.h); the stopped ethdev keeps the device's identity, its sockets
		 * closed so that the kernel stops copying every frame into a ring nobody reads.
		 */
		if ((rc = vn_pktq_open(name, up->ifindex, up->queues, env->cfg, env->mp, &up->pq,
				       err)) < 0)
			goto out_destroy;
		rte_eth_dev_stop(up->port_id);
		up->linearize = false; /* the sockets take chains (iovecs) */
		/* it may hand over frames with pending offloads: vhost transmit checks flags */
		__atomic_add_fetch(&vn_offl_sources, 1, __ATOMIC_RELAXED);
	}
	/* multicast: guests' groups are not known here, so the uplink takes all of them */
	if (up->way == FILTER_KERNEL)
		up->allmulti = up_membership(up, PACKET_MR_ALLMULTI, NULL, true) == 0;
	else
		up->allmulti = rte_eth_allmulticast_enable(up->port_id) == 0;

	uplink_finish(up, name);
	*out = &up->base;
	return 0;

out_destroy:
	g_strlcpy(up->base.name, name, sizeof(up->base.name));
	uplink_destroy(&up->base);
	return rc;
}

static char *uplink_summary(JsonObject *args)
{
	const char *d = NULL;

	vn_arg_str(args, "devargs", false, &d, NULL);
	return g_strdup_printf("uplink %s", d ? d : "?");
}

static const char *const uplink_keys[] = {"devargs", NULL};

const struct vn_port_kind vn_uplink_kind = {
    .name = "uplink",
    .keys = uplink_keys,
    .unique_key = "devargs",
    .check = uplink_check,
    .create = uplink_create,
    .summary = uplink_summary,
};

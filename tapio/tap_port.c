/* SPDX-License-Identifier: MIT */
/*
 * The "tap" (vnicd holds the fds) and "vnet" (a guest holds them) kinds of TAP port: their
 * tables, burst I/O, queues and buffers, port show, creation and removal.
 */
#include <errno.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_spinlock.h>

#include "tapio.h"
#include "vnicd/args.h"
#include "vnicd/log.h"
#include "vnicd/mac.h"
#include "vnicd/netlink.h"
#include "vnicd/portkind.h"

#define RXPOOL_PER_QUEUE 128 /* rx buffers per queue: ring/stash + FIFO + slack */
#define RXPOOL_EXTRA 128

/* (namespace, device) pairs in use by ports of either kind; control thread only. */
static GHashTable *in_use;

static char *dev_key(const char *ns, const char *ifname)
{
	return g_strdup_printf("%s/%s", ns ? ns : "", ifname);
}

/* ---- helpers shared with the engines ---- */

int vn_tq_vlan_reinsert(struct rte_mbuf *m, uint16_t tpid, uint16_t tci, struct vn_vnet_meta *meta)
{
	uint8_t *p = (uint8_t *)rte_pktmbuf_prepend(m, 4);
	uint16_t be;

	if (!p)
		return -1;
	memmove(p, p + 4, 12);
	be = rte_cpu_to_be_16(tpid);
	memcpy(p + 12, &be, 2);
	be = rte_cpu_to_be_16(tci);
	memcpy(p + 14, &be, 2);
	if (meta->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		meta->csum_start = (uint16_t)(meta->csum_start + 4);
	return 0;
}

/* ---- data path ---- */

static inline bool link_ok(const struct tap_port *tp)
{
	return (__atomic_load_n(&tp->lflags, __ATOMIC_RELAXED) & IFF_UP) &&
	       __atomic_load_n(&tp->lcarrier, __ATOMIC_RELAXED) &&
	       !__atomic_load_n(&tp->lgone, __ATOMIC_RELAXED);
}

/* vn_offq's fill: the engine's burst read on one queue. */
struct tq_fill {
	struct tq *io;
	const struct tq_engine *eng;
};

static uint16_t tq_fill(void *ctx, struct rte_mbuf **pkts, struct vn_vnet_meta *meta, uint16_t n)
{
	const struct tq_fill *f = ctx;

	return f->eng->rx(f->io, pkts, meta, n);
}

uint16_t vn_tap_q_rx(struct tap_q *q, const struct tq_engine *eng, struct rte_mempool *segmp,
		     struct rte_mbuf **pkts, uint16_t n, bool pass)
{
	struct tq_fill f = {&q->io, eng};

	return vn_offq_rx(&q->oq, tq_fill, &f, segmp, pkts, n, pass);
}

static uint16_t tap_rx_burst(struct vn_port *port, uint16_t qi, struct rte_mbuf **pkts, uint16_t n)
{
	struct tap_port *tp = (struct tap_port *)port;

	return vn_tap_q_rx(&tp->q[qi], tp->eng, tp->mp, pkts, n,
			   __atomic_load_n(&tp->base.offl_pass, __ATOMIC_ACQUIRE));
}

static uint16_t txq(struct tap_port *tp, uint16_t qi, struct rte_mbuf **pkts, uint16_t n)
{
	struct tap_q *q = &tp->q[qi];
	uint16_t k;

	if (tp->base.tx_shared)
		rte_spinlock_lock(&q->txlock);
	k = tp->eng->tx(&q->io, pkts, n);
	if (tp->base.tx_shared)
		rte_spinlock_unlock(&q->txlock);
	return k;
}

static uint16_t tap_tx_burst(struct vn_port *port, uint16_t qi, struct rte_mbuf **pkts, uint16_t n)
{
	struct tap_port *tp = (struct tap_port *)port;
	struct rte_mbuf *b[VN_MAX_QUEUES][VN_BURST];
	uint16_t bn[VN_MAX_QUEUES] = {0};

	if (unlikely(!link_ok(tp)))
		return 0;
	if (tp->vnet || tp->queues == 1 || n > VN_BURST)
		return txq(tp, (uint16_t)(qi % tp->queues), pkts, n);
	/*
	 * Multiqueue TAP: a flow always leaves on the queue of its (symmetric) hash, so the
	 * kernel's flow steering sends its other direction back to vnicd on that queue too.
	 */
	for (uint16_t i = 0; i < n; i++) {
		uint16_t t = (uint16_t)(vn_flow_hash(pkts[i]) % tp->queues);
		b[t][bn[t]++] = pkts[i];
	}
	for (uint16_t t = 0; t < tp->queues; t++) {
		uint16_t k;
		if (!bn[t])
			continue;
		k = txq(tp, t, b[t], bn[t]);
		if (k < bn[t]) {
			tp->q[t].tx_dropped += bn[t] - k;
			rte_pktmbuf_free_bulk(b[t] + k, bn[t] - k);
		}
	}
	return n;
}

static int tap_rx_intr(struct vn_port *port, uint16_t qi, bool enable)
{
	struct tap_port *tp = (struct tap_port *)port;

	if (!tp->eng->intr)
		return -EOPNOTSUPP; /* readv/writev: the worker sleeps on a short timer */
	return tp->eng->intr(&tp->q[qi].io, enable);
}

static bool tap_link_up(const struct vn_port *port)
{
	return link_ok((const struct tap_port *)port);
}

/* ---- port show ---- */

static void tap_describe(const struct vn_port *port, JsonBuilder *b)
{
	const struct tap_port *tp = (const struct tap_port *)port;
	uint32_t fl = __atomic_load_n(&tp->lflags, __ATOMIC_RELAXED);
	struct tq_stats s = {0};
	struct vn_offq_stats os = {0};
	uint64_t td = 0;
	struct rte_ether_addr lmac;
	char mac[VN_MAC_STRLEN];

	vn_json_str(b, "ifname", tp->ifname);
	vn_json_str(b, "netns", tp->netns[0] ? tp->netns : NULL);
	vn_json_int(b, "ifindex", tp->ifindex);
	vn_json_bool(b, "created", tp->created);
	vn_json_bool(b, "io_uring", tp->eng == &vn_tq_uring);
	vn_json_str(b, "io_uring_fallback", tp->fallback[0] ? tp->fallback : NULL);
	vn_json_str(b, "io", tp->eng->mode(&tp->q[0].io));
	/* the kernel sends no carrier change while a device is down: report none then */
	vn_json_bool(b, "carrier",
		     __atomic_load_n(&tp->lcarrier, __ATOMIC_RELAXED) && (fl & IFF_UP));
	vn_json_bool(b, "admin_up", fl & IFF_UP);
	vn_json_bool(b, "deleted", __atomic_load_n(&tp->lgone, __ATOMIC_RELAXED));
	vn_json_int(b, "mtu", __atomic_load_n(&tp->lmtu, __ATOMIC_RELAXED));
	memcpy(lmac.addr_bytes, tp->lmac, sizeof(lmac.addr_bytes));
	vn_mac_format(&lmac, mac);
	vn_json_str(b, "device_mac", mac);
	vn_json_int(b, "queues", tp->queues);
	vn_json_int(b, "link_events", (gint64)tp->link_events);
	vn_json_bool(b, "offload_pass", __atomic_load_n(&tp->base.offl_pass, __ATOMIC_RELAXED));
	if (tp->vnet) {
		if (tp->owner >= 0)
			vn_json_int(b, "owner", tp->owner);
		else
			vn_json_str(b, "owner", NULL);
		vn_json_bool(b, "host_stack_isolated", tp->isolated);
	} else {
		json_builder_set_member_name(b, "offloads");
		json_builder_begin_array(b);
		if (tp->offloads & TUN_F_CSUM)
			json_builder_add_string_value(b, "csum");
		if (tp->offloads & TUN_F_TSO4)
			json_builder_add_string_value(b, "tso4");
		if (tp->offloads & TUN_F_TSO6)
			json_builder_add_string_value(b, "tso6");
		if (tp->offloads & TUN_F_TSO_ECN)
			json_builder_add_string_value(b, "tso_ecn");
		if (tp->offloads & TUN_F_USO4)
			json_builder_add_string_value(b, "uso");
		json_builder_end_array(b);
	}
	json_builder_set_member_name(b, "queue_stats");
	json_builder_begin_array(b);
	for (unsigned i = 0; i < tp->queues; i++) {
		const struct tap_q *q = &tp->q[i];
		const struct tq_stats *x = &q->io.st;
		json_builder_begin_object(b);
		vn_json_int(b, "rx_frames", (gint64)x->rx_frames);
		vn_json_int(b, "tx_frames", (gint64)x->tx_frames);
		json_builder_end_object(b);
		s.rx_frames += x->rx_frames;
		s.rx_truncated += x->rx_truncated;
		s.rx_nombuf += x->rx_nombuf;
		s.rx_errors += x->rx_errors;
		s.rx_rearms += x->rx_rearms;
		s.rx_syscalls += x->rx_syscalls;
		s.tx_frames += x->tx_frames;
		s.tx_errors += x->tx_errors;
		s.tx_syscalls += x->tx_syscalls;
		vn_offq_stats_add(&os, &q->oq);
		td += q->tx_dropped;
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "io_stats");
	json_builder_begin_object(b);
	vn_json_int(b, "rx_frames", (gint64)s.rx_frames);
	vn_json_int(b, "rx_truncated", (gint64)s.rx_truncated);
	vn_json_int(b, "rx_nombuf", (gint64)s.rx_nombuf);
	vn_json_int(b, "rx_errors", (gint64)s.rx_errors);
	vn_json_int(b, "rx_rearms", (gint64)s.rx_rearms);
	vn_offq_stats_json(b, &os);
	vn_json_int(b, "rx_offload_passed", (gint64)os.passed);
	vn_json_int(b, "tx_frames", (gint64)s.tx_frames);
	vn_json_int(b, "tx_errors", (gint64)s.tx_errors);
	vn_json_int(b, "tx_dropped", (gint64)td);
	vn_json_int(b, "rx_syscalls", (gint64)s.rx_syscalls);
	vn_json_int(b, "tx_syscalls", (gint64)s.tx_syscalls);
	json_builder_end_object(b);
}

/* ---- creation and removal ---- */

static GHashTable *registry(void)
{
	if (!in_use)
		in_use = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	return in_use;
}

static GSList *dead_pools;
static guint dead_timer;

static gboolean reap_pools(gpointer ud)
{
	for (GSList *l = dead_pools; l;) {
		GSList *next = l->next;
		if (rte_mempool_in_use_count(l->data) == 0) {
			rte_mempool_free(l->data);
			dead_pools = g_slist_delete_link(dead_pools, l);
		}
		l = next;
	}
	if (dead_pools)
		return G_SOURCE_CONTINUE;
	dead_timer = 0;
	return G_SOURCE_REMOVE;
}

void vn_tap_pool_release(struct rte_mempool *mp)
{
	if (!mp)
		return;
	if (rte_mempool_in_use_count(mp) == 0) {
		rte_mempool_free(mp);
		return;
	}
	dead_pools = g_slist_prepend(dead_pools, mp);
	if (!dead_timer)
		dead_timer = g_timeout_add_seconds(1, reap_pools, NULL);
}

void vn_tap_q_close(struct tap_q *q, const struct tq_engine *eng)
{
	if (q->io.priv)
		eng->close(&q->io);
	q->io.priv = NULL;
	vn_offq_reset(&q->oq);
}

static void close_queues(struct tap_port *tp)
{
	for (unsigned i = 0; i < tp->queues; i++)
		vn_tap_q_close(&tp->q[i], tp->eng);
}

static int open_queues(struct tap_port *tp, GError **err)
{
	for (unsigned i = 0; i < tp->queues; i++) {
		struct tap_q *q = &tp->q[i];
		int rc;
		q->io = (struct tq){.fd = tp->fds[i],
				    .packet = tp->vnet,
				    .idx = (uint16_t)i,
				    .rxmp = tp->rxmp,
				    .eng = tp->eng};
		rte_spinlock_init(&q->txlock);
		rc = tp->eng->open(&q->io, err);
		if (rc < 0) {
			close_queues(tp);
			return rc;
		}
	}
	return 0;
}

static void port_free(struct tap_port *tp)
{
	if (tp->netns[0] || tp->ifname[0]) {
		g_autofree char *k = dev_key(tp->netns, tp->ifname);
		g_hash_table_remove(registry(), k);
	}
	vn_tap_pool_release(tp->rxmp);
	rte_free(tp);
}

static void tap_destroy(struct vn_port *port)
{
	struct tap_port *tp = (struct tap_port *)port;

	vn_klink_unwatch(tp->watch);
	tp->watch = NULL;
	close_queues(tp);
	__atomic_sub_fetch(&vn_offl_sources, 1, __ATOMIC_RELAXED);
	vn_tap_release_fds(tp, port->deleting && tp->created);
	if (port->deleting) {
		vn_tap_undo_device(tp);
		VN_INFO("port %s: device %s %s", port->name, tp->ifname,
			tp->created ? "removed" : (tp->moved ? "moved back" : "left in place"));
	}
	port_free(tp);
}

static const struct vn_port_ops tap_ops = {
    .kind = "tap",
    .rx_burst = tap_rx_burst,
    .tx_burst = tap_tx_burst,
    .rx_intr = tap_rx_intr,
    .link_up = tap_link_up,
    .describe = tap_describe,
    .destroy = tap_destroy,
};

static const struct vn_port_ops vnet_ops = {
    .kind = "vnet",
    .rx_burst = tap_rx_burst,
    .tx_burst = tap_tx_burst,
    .rx_intr = tap_rx_intr,
    .link_up = tap_link_up,
    .describe = tap_describe,
    .destroy = tap_destroy,
};

static int create_pool(struct tap_port *tp, GError **err)
{
	static unsigned seq;
	char name[RTE_MEMPOOL_NAMESIZE];
	unsigned n = tp->queues * RXPOOL_PER_QUEUE + RXPOOL_EXTRA;

	snprintf(name, sizeof(name), "vntap%u", seq++);
	tp->rxmp = rte_pktmbuf_pool_create(name, n, 0, 0, VN_TAP_RXBUF, (int)rte_socket_id());
	if (!tp->rxmp)
		FAIL(ENOMEM, "cannot allocate %u receive buffers of 64 KiB: %s", n,
		     rte_strerror(rte_errno));
	return 0;
}

static void choose_engine(struct tap_port *tp, const struct vn_config *cfg)
{
	static bool said;

	tp->eng = &vn_tq_uring;
	tp->fallback[0] = 0;
	if (cfg && cfg->io_uring && strcmp(cfg->io_uring, "no") == 0)
		g_strlcpy(tp->fallback, "disabled by configuration (io_uring = no)",
			  sizeof(tp->fallback));
	else if (vn_uring_usable(tp->vnet, tp->fallback, sizeof(tp->fallback)))
		return;
	tp->eng = &vn_tq_fallback;
	if (!said) {
		said = true;
		VN_WARN("TAP/vnet ports do not use io_uring: %s; using readv/writev and "
			"recvmmsg/sendmmsg",
			tp->fallback);
	}
}

/* Queues, then the engine; an io_uring set-up failure falls back for the whole port. */
static int start_io(struct tap_port *tp, GError **err)
{
	g_autoptr(GError) e = NULL;

	if (open_queues(tp, tp->eng == &vn_tq_uring ? &e : err) == 0)
		return 0;
	if (tp->eng != &vn_tq_uring)
		return -EIO;
	snprintf(tp->fallback, sizeof(tp->fallback), "%s", e->message);
	VN_WARN("port %s: %s; using %s", tp->base.name, e->message,
		vn_tq_fallback.mode(&(struct tq){.packet = tp->vnet}));
	tp->eng = &vn_tq_fallback;
	return open_queues(tp, err);
}

static struct tap_port *port_alloc(const char *name, bool vnet, const char *ifname, const char *ns,
				   uint16_t queues, const struct vn_port_env *env)
{
	struct tap_port *tp = rte_zmalloc("vn_tap_port", sizeof(*tp), RTE_CACHE_LINE_SIZE);

	if (!tp)
		return NULL;
	tp->base.ops = vnet ? &vnet_ops : &tap_ops;
	g_strlcpy(tp->base.name, name, sizeof(tp->base.name));
	tp->base.nr_rxq = queues;
	tp->base.nr_txq = queues;
	tp->vnet = vnet;
	g_strlcpy(tp->ifname, ifname, sizeof(tp->ifname));
	g_strlcpy(tp->netns, ns ? ns : "", sizeof(tp->netns));
	tp->queues = queues;
	tp->owner = -1;
	tp->mp = env->mp;
	for (unsigned i = 0; i < VN_MAX_QUEUES; i++)
		tp->fds[i] = -1;
	return tp;
}

/* Failure after the device was touched: undo it, then free. */
static void abandon(struct tap_port *tp)
{
	vn_klink_unwatch(tp->watch);
	tp->watch = NULL;
	close_queues(tp);
	vn_tap_release_fds(tp, tp->created);
	vn_tap_undo_device(tp);
	port_free(tp);
}

/* ---- the kinds ---- */

static int tap_kind_check(JsonObject *args, const struct vn_config *cfg, GError **err)
{
	struct tap_args a;

	(void)cfg;
	return vn_tap_get_args(args, false, &a, err);
}

static int vnet_kind_check(JsonObject *args, const struct vn_config *cfg, GError **err)
{
	struct tap_args a;

	(void)cfg;
	return vn_tap_get_args(args, true, &a, err);
}

static int kind_create(bool vnet, const char *name, JsonObject *args, const struct vn_port_env *env,
		       struct vn_port **out, GError **err)
{
	struct tap_args a;
	struct tap_port *tp;
	g_autofree char *key = NULL;
	const char *holder;
	int rc;

	if ((rc = vn_tap_get_args(args, vnet, &a, err)) < 0)
		return rc;
	key = dev_key(a.netns, a.ifname);
	holder = g_hash_table_lookup(registry(), key);
	if (holder)
		FAIL(EEXIST, "device '%s'%s%s is already used by port '%s'", a.ifname,
		     a.netns ? " in namespace " : "", a.netns ? a.netns : "", holder);
	tp = port_alloc(name, vnet, a.ifname, a.netns, (uint16_t)a.queues, env);
	if (!tp)
		FAIL(ENOMEM, "out of memory");
	choose_engine(tp, env->cfg);
	rc = vnet ? vn_vnet_setup(tp, &a, err) : vn_tap_setup(tp, &a, env, err);
	if (rc == 0)
		rc = create_pool(tp, err);
	if (rc == 0)
		rc = start_io(tp, err);
	if (rc < 0) {
		if (err && *err == NULL)
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", g_strerror(-rc));
		abandon(tp);
		return rc;
	}
	g_hash_table_insert(registry(), g_steal_pointer(&key), tp->base.name);
	__atomic_add_fetch(&vn_offl_sources, 1, __ATOMIC_RELAXED);
	VN_DBG("port %s: %s%s%s", name, tp->eng->mode(&tp->q[0].io),
	       tp->fallback[0] ? "; io_uring not used: " : "", tp->fallback);
	*out = &tp->base;
	return 0;
}

static int tap_kind_create(const char *name, JsonObject *args, const struct vn_port_env *env,
			   struct vn_port **out, GError **err)
{
	return kind_create(false, name, args, env, out, err);
}

static int vnet_kind_create(const char *name, JsonObject *args, const struct vn_port_env *env,
			    struct vn_port **out, GError **err)
{
	return kind_create(true, name, args, env, out, err);
}

static char *tap_kind_summary(JsonObject *args)
{
	const char *ifname = NULL, *ns = NULL, *name = NULL;

	vn_arg_str(args, "ifname", false, &ifname, NULL);
	vn_arg_str(args, "name", false, &name, NULL);
	vn_arg_str(args, "netns", false, &ns, NULL);
	return g_strdup_printf("TAP %s%s%s",
			       ifname ? ifname
			       : name ? name
				      : "?",
			       ns ? " in namespace " : "", ns ? ns : "");
}

static char *vnet_kind_summary(JsonObject *args)
{
	const char *ifname = NULL;

	vn_arg_str(args, "ifname", false, &ifname, NULL);
	return g_strdup_printf("guest TAP %s", ifname ? ifname : "?");
}

static const char *const tap_keys[] = {"ifname", "netns", "mtu", NULL};
static const char *const vnet_keys[] = {"ifname", "owner", "mtu", NULL};

const struct vn_port_kind vn_tap_kind = {
    .name = "tap",
    .keys = tap_keys,
    .unique_key = NULL, /* (netns, ifname) pairs are checked in create() */
    .check = tap_kind_check,
    .create = tap_kind_create,
    .summary = tap_kind_summary,
};

const struct vn_port_kind vn_vnet_kind = {
    .name = "vnet",
    .keys = vnet_keys,
    .unique_key = "ifname",
    .check = vnet_kind_check,
    .create = vnet_kind_create,
    .summary = vnet_kind_summary,
};

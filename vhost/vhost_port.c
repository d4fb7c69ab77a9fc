/* SPDX-License-Identifier: MIT */
/* vhost-user ports over librte_vhost: client (reconnecting) or server sockets, multiqueue. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/virtio_net.h>
#include <rte_malloc.h>
#include <rte_spinlock.h>
#include <rte_vhost.h>

#include "vnicd/args.h"
#include "vnicd/confine.h"
#include "vnicd/log.h"
#include "vnicd/portkind.h"
#include "vnicd/tap.h"
#include "vnicd/vhost.h"
#include "vhost_priv.h"

/* A link change, reported to the control thread (DPDK's thread must not touch GLib state). */
struct link_event {
	char name[VN_NAME_MAX];
	int vid;
	bool up;
	uint16_t guest_pairs, queues;
};

static gboolean link_event_run(gpointer ud)
{
	const struct link_event *ev = ud;

	const struct vn_log_ctx lc = {.port = ev->name};

	if (ev->up)
		vn_log_ctx(VN_LOG_INFO, &lc,
			   "port %s: link up (guest connected, vid %d, %u queue pair%s%s)",
			   ev->name, ev->vid, ev->guest_pairs, ev->guest_pairs == 1 ? "" : "s",
			   ev->guest_pairs > ev->queues
			       ? "; more than configured: extra queues not polled"
			       : "");
	else
		vn_log_ctx(VN_LOG_INFO, &lc, "port %s: link down (guest disconnected, vid %d)",
			   ev->name, ev->vid);
	return G_SOURCE_REMOVE;
}

static void post_link_event(const struct vhost_port *vp, int vid, bool up)
{
	struct link_event *ev = g_new0(struct link_event, 1);

	g_strlcpy(ev->name, vp->base.name, sizeof(ev->name));
	ev->vid = vid;
	ev->up = up;
	ev->guest_pairs = vp->guest_pairs;
	ev->queues = vp->queues;
	g_main_context_invoke_full(NULL, G_PRIORITY_DEFAULT, link_event_run, ev, g_free);
}

/*
 * Callers of the library outside the RCU reader set (a worker arming or disarming a queue by
 * token, describe() on the control thread), per vid. When destroy_device returns, the
 * library unmaps the guest's memory and frees the device while get_device(vid) still finds
 * it, with no lock a caller could hold (vhost_destroy_device: free_mem_region(), then
 * vhost_devices[vid] = NULL): a queue armed then reads a used ring that is gone (SIGSEGV in
 * vhost_enable_notify_split). So each connection gets a generation (never 0) that names it
 * for as long as it is ours to use; a caller enters it with vid_enter() and destroy_device
 * retires it (vid_retire), waiting for the callers inside.
 */
static struct vid_guard {
	uint32_t gen;	/* 0: no connection of ours runs on this vid */
	uint32_t users; /* callers inside the library on it */
} vid_guards[RTE_MAX_VHOST_DEVICE];
static uint32_t vid_gens;

/* A new connection on @vid: its generation (new_device, before the vid is published). */
static uint32_t vid_open(int vid)
{
	uint32_t gen;

	do
		gen = __atomic_add_fetch(&vid_gens, 1, __ATOMIC_RELAXED) & 0x7fffffff;
	while (gen == 0);
	__atomic_store_n(&vid_guards[vid].gen, gen, __ATOMIC_SEQ_CST);
	return gen;
}

/* Whether connection @gen still runs on @vid; if so the caller may use it until vid_leave(). */
static bool vid_enter(int vid, uint32_t gen)
{
	struct vid_guard *g;

	if (vid < 0 || vid >= RTE_MAX_VHOST_DEVICE || gen == 0)
		return false;
	g = &vid_guards[vid];
	/* seq_cst, as vid_retire(): it sees us counted, or we see its 0 */
	__atomic_add_fetch(&g->users, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&g->gen, __ATOMIC_SEQ_CST) == gen)
		return true;
	__atomic_sub_fetch(&g->users, 1, __ATOMIC_RELEASE);
	return false;
}

static void vid_leave(int vid)
{
	__atomic_sub_fetch(&vid_guards[vid].users, 1, __ATOMIC_RELEASE);
}

/*
 * No caller enters @vid's connection any more; with @wait, also none is still inside when
 * this returns. Not with the virtqueue locks held (post_msg_handle): a worker inside may be
 * waiting for one. Thread: the library's (destroy_device) or the control thread.
 */
static void vid_retire(int vid, bool wait)
{
	gint64 warn_at = g_get_monotonic_time() + G_USEC_PER_SEC;

	if (vid < 0 || vid >= RTE_MAX_VHOST_DEVICE)
		return;
	__atomic_store_n(&vid_guards[vid].gen, 0, __ATOMIC_SEQ_CST);
	while (wait && __atomic_load_n(&vid_guards[vid].users, __ATOMIC_SEQ_CST) != 0) {
		if (warn_at && g_get_monotonic_time() > warn_at) {
			VN_WARN("vhost device %d: still in use after 1 s", vid);
			warn_at = 0;
		}
		g_usleep(10);
	}
}

/* path -> port, for the callbacks (DPDK's thread). Protected by reg_lock. */
static GMutex reg_lock;
static GHashTable *registry;

static struct vhost_port *reg_find_locked(int vid)
{
	char ifname[PATH_MAX];

	if (!registry || rte_vhost_get_ifname(vid, ifname, sizeof(ifname)) != 0)
		return NULL;
	return g_hash_table_lookup(registry, ifname);
}

/*
 * Every region of the guest memory the library mapped must lie within its file: a front end
 * that declares a region longer than the file behind it and points a descriptor past the
 * file's end makes the worker copying from it die of SIGBUS, and every port with it. (A
 * front end that shrinks its file later is not caught here: QEMU's memfd backend seals its
 * memory against that, hugetlbfs files are QEMU's own.)
 * Return: 0 if they do (or there is no table yet), -EFAULT if one does not.
 */
static int mem_backed(int vid)
{
	struct rte_vhost_memory *mem = NULL;
	int rc = 0;

	if (rte_vhost_get_mem_table(vid, &mem) != 0 || !mem)
		return 0;
	for (uint32_t i = 0; i < mem->nregions && rc == 0; i++) {
		const struct rte_vhost_mem_region *r = &mem->regions[i];
		uint64_t off = r->host_user_addr - (uint64_t)(uintptr_t)r->mmap_addr;
		struct stat st;

		if (fstat(r->fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < off ||
		    (uint64_t)st.st_size - off < r->size)
			rc = -EFAULT;
	}
	free(mem); /* the library's malloc() */
	return rc;
}

/* Refuse connection @vid of @vp (reg_lock held): no worker touches its memory again. */
static void refuse_locked(struct vhost_port *vp, int vid)
{
	if (vp->refused_vid != vid) {
		__atomic_add_fetch(&vp->refused, 1, __ATOMIC_RELAXED);
		VN_LOG_RL(VN_LOG_WARN,
			  "port %s: front end refused: guest memory region larger than its file",
			  vp->base.name);
	}
	vp->refused_vid = vid;
	if (__atomic_load_n(&vp->vid, __ATOMIC_ACQUIRE) == vid) {
		__atomic_store_n(&vp->vid, -1, __ATOMIC_RELEASE);
		vid_retire(vid, false); /* the virtqueue locks may be held: destroy_device waits */
		vn_dp_synchronize(vp->dp); /* no worker is still on the old table */
		__atomic_store_n(&vp->rx_enabled, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&vp->tx_enabled, 0, __ATOMIC_RELEASE);
		vn_vhost_offq_reset(vp);
	}
}

/*
 * After the library handled a message: a memory table (SET_MEM_TABLE, ADD_MEM_REG), also
 * one replacing the table of a running device, is checked before any worker can use it (the
 * library holds every virtqueue's lock until we return). Thread: DPDK's vhost thread.
 */
static enum rte_vhost_msg_result cb_post_msg(int vid, void *msg)
{
	uint32_t req;
	struct vhost_port *vp;

	memcpy(&req, msg, sizeof(req)); /* VhostUserMsg starts with the request */
	if ((req != 5 && req != 37) || mem_backed(vid) == 0)
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	g_mutex_lock(&reg_lock);
	vp = reg_find_locked(vid);
	if (vp)
		refuse_locked(vp, vid);
	g_mutex_unlock(&reg_lock);
	return RTE_VHOST_MSG_RESULT_ERR; /* the library closes the connection (or nacks it) */
}

static const struct rte_vhost_user_extern_ops extern_ops = {.post_msg_handle = cb_post_msg};

static int cb_new_connection(int vid)
{
	if (rte_vhost_extern_callback_register(vid, &extern_ops, NULL) != 0)
		return -1; /* no check of its memory: no connection */
	return 0;
}

static void cb_destroy_connection(int vid)
{
	struct vhost_port *vp;

	g_mutex_lock(&reg_lock);
	vp = reg_find_locked(vid);
	if (vp && vp->refused_vid == vid)
		vp->refused_vid = -1;
	g_mutex_unlock(&reg_lock);
}

static int cb_new_device(int vid)
{
	struct vhost_port *vp;
	uint16_t nvr = rte_vhost_get_vring_num(vid);

	g_mutex_lock(&reg_lock);
	vp = reg_find_locked(vid);
	if (!vp) {
		g_mutex_unlock(&reg_lock);
		return -1;
	}
	if (vp->refused_vid == vid || mem_backed(vid) != 0) {
		refuse_locked(vp, vid);
		g_mutex_unlock(&reg_lock);
		return -1; /* not started: no worker ever sees it */
	}
	for (uint16_t q = 0; q < nvr; q++)
		rte_vhost_enable_guest_notification(vid, q, 0);
	vp->guest_pairs = nvr / 2;
	if (rte_vhost_get_negotiated_features(vid, &vp->features) != 0)
		vp->features = 0;
	if (vp->features & VHOST_HOST_OFFLOADS) {
		__atomic_add_fetch(&vn_offl_sources, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&vp->offloads, 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&vp->gen, vid_open(vid), __ATOMIC_RELEASE);
	__atomic_store_n(&vp->vid, vid, __ATOMIC_RELEASE);
	__atomic_add_fetch(&vp->connects, 1, __ATOMIC_RELAXED);
	post_link_event(vp, vid, true);
	vn_dp_wake(vp->dp); /* sleeping workers start watching the new device */
	g_mutex_unlock(&reg_lock);
	return 0;
}

static void cb_destroy_device(int vid)
{
	struct vhost_port *vp;

	g_mutex_lock(&reg_lock);
	vp = reg_find_locked(vid);
	if (vp) {
		__atomic_store_n(&vp->vid, -1, __ATOMIC_RELEASE);
		/* No worker may still be in a dequeue/enqueue on this vid when we return. */
		vn_dp_synchronize(vp->dp);
		__atomic_store_n(&vp->rx_enabled, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&vp->tx_enabled, 0, __ATOMIC_RELEASE);
		vn_vhost_offq_reset(vp);
		__atomic_add_fetch(&vp->disconnects, 1, __ATOMIC_RELAXED);
		post_link_event(vp, vid, false);
	}
	/* nor outside the reader set (a queue armed by token): the memory goes when we return */
	vid_retire(vid, true);
	g_mutex_unlock(&reg_lock);
}

static int cb_vring_state_changed(int vid, uint16_t vring, int enable)
{
	struct vhost_port *vp;
	uint32_t *mask, bit;

	g_mutex_lock(&reg_lock);
	vp = reg_find_locked(vid);
	if (vp) {
		/*
		 * The front end names any vring it negotiated (up to the library's limit); only
		 * the pairs this port allocated (txlock[], the workers' queues) get a bit.
		 */
		bit = vn_vhost_pair_bit(vring / 2u, vp->queues);
		if (!bit) {
			if (enable)
				__atomic_add_fetch(&vp->vrings_ignored, 1, __ATOMIC_RELAXED);
			VN_DBG("port %s: vring %u %s: beyond the %u queue pairs offered, unused",
			       vp->base.name, vring, enable ? "enabled" : "disabled", vp->queues);
			goto out_unlock;
		}
		/* even vrings: guest RX (we enqueue); odd: guest TX (we dequeue) */
		mask = (vring & 1) ? &vp->rx_enabled : &vp->tx_enabled;
		if (enable) {
			__atomic_or_fetch(mask, bit, __ATOMIC_RELEASE);
			vn_dp_wake(vp->dp);
		} else {
			/*
			 * No wait for the workers here: the library calls this with the virtqueue
			 * lock held, and its dequeue/enqueue try that lock and check the ring's
			 * state themselves. The mask only saves them the call.
			 */
			__atomic_and_fetch(mask, ~bit, __ATOMIC_RELEASE);
		}
		VN_DBG("port %s: vring %u %s", vp->base.name, vring,
		       enable ? "enabled" : "disabled");
	}
out_unlock:
	g_mutex_unlock(&reg_lock);
	return 0;
}

static const struct rte_vhost_device_ops vhost_ops = {
    .new_device = cb_new_device,
    .destroy_device = cb_destroy_device,
    .vring_state_changed = cb_vring_state_changed,
    .new_connection = cb_new_connection,
    .destroy_connection = cb_destroy_connection,
};

static uint16_t vhost_rx_burst(struct vn_port *port, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	struct vhost_port *vp = (struct vhost_port *)port;
	int vid = __atomic_load_n(&vp->vid, __ATOMIC_ACQUIRE);

	if (vid < 0 || !(__atomic_load_n(&vp->rx_enabled, __ATOMIC_ACQUIRE) &
			 vn_vhost_pair_bit(q, vp->queues)))
		return 0;
	if (likely(!__atomic_load_n(&vp->offloads, __ATOMIC_RELAXED)))
		return rte_vhost_dequeue_burst(vid, (uint16_t)(q * 2 + 1), vp->mp, pkts, n);
	return vn_vhost_rx_offloads(vp, vid, q, pkts, n);
}

/*
 * Release the @n frames an enqueue copied. When all are plain (one segment, one reference,
 * direct, of one pool: frames from a dequeue or a TAP read), they go back to their pool in
 * one put, reading only their first cache line; otherwise rte_pktmbuf_free_bulk() walks them.
 */
static inline void release_copied(struct rte_mbuf **pkts, uint16_t n)
{
	struct rte_mempool *mp = n ? pkts[0]->pool : NULL;
	uint16_t i;

	for (i = 0; i < n; i++) {
		const struct rte_mbuf *m = pkts[i];
		if (unlikely(m->pool != mp || m->nb_segs != 1 || rte_mbuf_refcnt_read(m) != 1 ||
			     !RTE_MBUF_DIRECT(m)))
			break;
	}
	if (likely(i == n)) {
		if (n)
			rte_mempool_put_bulk(mp, (void **)pkts, n);
		return;
	}
	rte_pktmbuf_free_bulk(pkts, n);
}

static uint16_t vhost_tx_burst(struct vn_port *port, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	struct vhost_port *vp = (struct vhost_port *)port;
	int vid = __atomic_load_n(&vp->vid, __ATOMIC_ACQUIRE);
	uint32_t en = __atomic_load_n(&vp->tx_enabled, __ATOMIC_ACQUIRE);
	int pair = vn_vhost_tx_pair(en, vp->queues, q); /* < vp->queues: txlock[] holds it */
	uint16_t sent;

	if (vid < 0 || pair < 0)
		return 0;
	q = (uint16_t)pair;
	if (unlikely(__atomic_load_n(&vn_offl_sources, __ATOMIC_RELAXED)) &&
	    __atomic_load_n(&port->offl_pass, __ATOMIC_RELAXED) &&
	    !vn_vhost_tx_takes_all(vp, pkts, n))
		return vn_vhost_tx_completing(vp, vid, q, pkts, n);
	if (port->tx_shared)
		rte_spinlock_lock(&vp->txlock[q]);
	sent = rte_vhost_enqueue_burst(vid, (uint16_t)(q * 2), pkts, n);
	if (port->tx_shared)
		rte_spinlock_unlock(&vp->txlock[q]);
	/* enqueue copied the frames into guest memory: ours to release */
	release_copied(pkts, sent);
	return sent;
}

/*
 * The queue's identity as a token, read while the port is safe to touch: its connection's
 * generation (bits 32..62), vid (16..31) and vring (0..15).
 */
static int64_t vhost_rx_intr_token(struct vn_port *port, uint16_t q)
{
	struct vhost_port *vp = (struct vhost_port *)port;
	int vid = __atomic_load_n(&vp->vid, __ATOMIC_ACQUIRE);
	uint32_t gen = __atomic_load_n(&vp->gen, __ATOMIC_ACQUIRE);

	if (vid < 0 || !(__atomic_load_n(&vp->rx_enabled, __ATOMIC_ACQUIRE) &
			 vn_vhost_pair_bit(q, vp->queues)))
		return -ENOTCONN;
	return ((int64_t)gen << 32) | ((int64_t)(uint16_t)vid << 16) | (uint16_t)(q * 2 + 1);
}

/* Arm @vid's @vring: its kick descriptor, a duplicate of ours (the library may close its). */
static int arm_vring(int vid, uint16_t vring)
{
	struct rte_vhost_vring vr;
	int fd = -EIO;

	if (rte_vhost_enable_guest_notification(vid, vring, 1) != 0)
		return -EIO;
	if (rte_vhost_get_vhost_vring(vid, vring, &vr) == 0 && vr.kickfd >= 0 &&
	    (fd = fcntl(vr.kickfd, F_DUPFD_CLOEXEC, 0)) < 0)
		fd = -errno;
	if (fd < 0)
		rte_vhost_enable_guest_notification(vid, vring, 0);
	return fd;
}

/*
 * Guest kicks on (or off) for one virtqueue. Takes the library's virtqueue lock: the
 * worker calls it outside the RCU reader set (see rx_intr_arm in port.h), inside the
 * connection's vid guard, so that destroy_device waits for it; a connection gone since the
 * token is left alone (-ENOTCONN).
 */
static int vhost_rx_intr_arm(int64_t token, bool enable)
{
	int vid = (int)((token >> 16) & 0xffff);
	uint16_t vring = (uint16_t)(token & 0xffff);
	int rc;

	if (!vid_enter(vid, (uint32_t)(token >> 32)))
		return -ENOTCONN;
	if (enable)
		rc = arm_vring(vid, vring);
	else
		rc = rte_vhost_enable_guest_notification(vid, vring, 0) != 0 ? -EIO : 0;
	vid_leave(vid);
	return rc;
}

static bool vhost_link_up(const struct vn_port *port)
{
	const struct vhost_port *vp = (const struct vhost_port *)port;

	return __atomic_load_n(&vp->vid, __ATOMIC_ACQUIRE) >= 0;
}

static void vhost_describe(const struct vn_port *port, JsonBuilder *b)
{
	const struct vhost_port *vp = (const struct vhost_port *)port;
	int vid = __atomic_load_n(&vp->vid, __ATOMIC_ACQUIRE);
	uint32_t gen = __atomic_load_n(&vp->gen, __ATOMIC_ACQUIRE);
	bool mtu_known = false;
	uint16_t mtu = 0;

	json_builder_set_member_name(b, "path");
	json_builder_add_string_value(b, vp->path);
	json_builder_set_member_name(b, "server");
	json_builder_add_boolean_value(b, vp->server);
	json_builder_set_member_name(b, "queues");
	json_builder_add_int_value(b, vp->queues);
	json_builder_set_member_name(b, "guest_queues");
	json_builder_add_int_value(b, vid >= 0 ? vp->guest_pairs : 0);
	json_builder_set_member_name(b, "rx_queues_enabled");
	json_builder_add_int_value(
	    b, __builtin_popcount(__atomic_load_n(&vp->rx_enabled, __ATOMIC_RELAXED)));
	json_builder_set_member_name(b, "vrings_ignored");
	json_builder_add_int_value(b,
				   (gint64)__atomic_load_n(&vp->vrings_ignored, __ATOMIC_RELAXED));
	vn_json_int(b, "mtu", vp->mtu);
	/* what the front end announced (VHOST_USER_NET_SET_MTU: QEMU's host_mtu); the device
	 * is freed after destroy_device: asked inside its guard */
	if (vid >= 0 && vid_enter(vid, gen)) {
		mtu_known = rte_vhost_get_mtu(vid, &mtu) == 0;
		vid_leave(vid);
	}
	if (mtu_known)
		vn_json_int(b, "guest_mtu", mtu);
	else
		vn_json_str(b, "guest_mtu", NULL);
	vn_vhost_describe_offloads(vp, vid >= 0, b);
	json_builder_set_member_name(b, "refused");
	json_builder_add_int_value(b, (gint64)__atomic_load_n(&vp->refused, __ATOMIC_RELAXED));
	json_builder_set_member_name(b, "connects");
	json_builder_add_int_value(b, (gint64)__atomic_load_n(&vp->connects, __ATOMIC_RELAXED));
	json_builder_set_member_name(b, "disconnects");
	json_builder_add_int_value(b, (gint64)__atomic_load_n(&vp->disconnects, __ATOMIC_RELAXED));
}

static void reg_remove(struct vhost_port *vp)
{
	g_mutex_lock(&reg_lock);
	if (registry && g_hash_table_lookup(registry, vp->path) == vp)
		g_hash_table_remove(registry, vp->path);
	g_mutex_unlock(&reg_lock);
}

static void vp_free(struct vhost_port *vp)
{
	rte_free(vp->oq);
	rte_free(vp);
}

static void vhost_destroy(struct vn_port *port)
{
	struct vhost_port *vp = (struct vhost_port *)port;
	int rc;

	/* May call destroy_device on this thread; the registry lock is not held here. */
	for (int tries = 0; (rc = rte_vhost_driver_unregister(vp->path)) == -EBUSY && tries < 100;
	     tries++)
		usleep(10000);
	if (rc != 0)
		VN_WARN("port %s: unregistering %s failed (%d)", port->name, vp->path, rc);
	reg_remove(vp);
	if (vp->server && vp->sock_ino) {
		struct stat st;
		/* the library unlinks too; remove only the socket we created, never a successor */
		if (lstat(vp->path, &st) == 0 && S_ISSOCK(st.st_mode) &&
		    st.st_dev == vp->sock_dev && st.st_ino == vp->sock_ino)
			unlink(vp->path);
	}
	vn_vhost_offq_reset(vp);
	vp_free(vp);
}

static const struct vn_port_ops vhost_port_ops = {
    .kind = "vhost",
    .rx_burst = vhost_rx_burst,
    .tx_burst = vhost_tx_burst,
    .rx_intr_token = vhost_rx_intr_token,
    .rx_intr_arm = vhost_rx_intr_arm,
    .link_up = vhost_link_up,
    .describe = vhost_describe,
    .destroy = vhost_destroy,
};

/* The checks of `port add` arguments @p before anything is made. */
static int params_check(const struct vn_vhost_params *p, GError **err)
{
	g_autofree char *dir = NULL;
	bool used;
	int rc;

	if (!p->path || p->path[0] != '/' ||
	    strlen(p->path) >= sizeof(((struct vhost_port *)0)->path)) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "bad socket path");
		return -EINVAL;
	}
	/* server mode creates a file: only inside vhost_socket_dirs (symlinks resolved) */
	if (p->server && (rc = vn_socket_path_resolved(p->path, p->socket_dirs, err)) < 0)
		return rc;
	dir = g_path_get_dirname(p->path);
	if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_NOENT,
			    "directory '%s' of the socket path does not exist", dir);
		return -ENOENT;
	}
	if (p->queues < 1 || p->queues > VN_MAX_QUEUES) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "--queues must be 1..%d",
			    VN_MAX_QUEUES);
		return -EINVAL;
	}
	g_mutex_lock(&reg_lock);
	if (!registry)
		registry = g_hash_table_new(g_str_hash, g_str_equal);
	used = g_hash_table_contains(registry, p->path);
	g_mutex_unlock(&reg_lock);
	if (used) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_EXIST,
			    "socket path '%s' is already used by another port", p->path);
		return -EEXIST;
	}
	return p->server ? vn_stale_socket_remove(p->path, err) : 0;
}

/* A port for @p, not registered with the library yet. Return: it, or NULL (no memory). */
static struct vhost_port *vp_alloc(const char *name, const struct vn_vhost_params *p,
				   struct rte_mempool *mp, struct vn_dp *dp)
{
	struct vhost_port *vp = rte_zmalloc("vn_vhost_port", sizeof(*vp), RTE_CACHE_LINE_SIZE);

	if (!vp)
		return NULL;
	vp->oq = rte_zmalloc("vn_vhost_offq", sizeof(*vp->oq) * p->queues, RTE_CACHE_LINE_SIZE);
	if (!vp->oq) {
		rte_free(vp);
		return NULL;
	}
	vp->base.ops = &vhost_port_ops;
	g_strlcpy(vp->base.name, name, sizeof(vp->base.name));
	vp->base.nr_rxq = p->queues;
	vp->base.nr_txq = p->queues;
	g_strlcpy(vp->path, p->path, sizeof(vp->path));
	vp->server = p->server;
	vp->queues = p->queues;
	vp->mtu = p->mtu;
	vp->mp = mp;
	vp->dp = dp;
	vp->vid = -1;
	vp->refused_vid = -1;
	for (unsigned i = 0; i < VN_MAX_QUEUES; i++)
		rte_spinlock_init(&vp->txlock[i]);
	return vp;
}

int vn_vhost_port_create(const char *name, const struct vn_vhost_params *p, struct rte_mempool *mp,
			 struct vn_dp *dp, struct vn_port **out, GError **err)
{
	struct vhost_port *vp;
	uint64_t flags = 0;
	int rc;

	if ((rc = params_check(p, err)) < 0)
		return rc;
	vp = vp_alloc(name, p, mp, dp);
	if (!vp) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_NOMEM, "out of memory");
		return -ENOMEM;
	}
	if (!p->server)
		flags |= RTE_VHOST_USER_CLIENT; /* reconnect is the library's default */
	/* offload requests as rx flags; odd ones (tunnels) the library completes itself */
	flags |= RTE_VHOST_USER_NET_COMPLIANT_OL_FLAGS;
	rc = rte_vhost_driver_register(vp->path, flags);
	if (rc != 0) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
			    "cannot register vhost-user socket '%s'", vp->path);
		vp_free(vp);
		return -EINVAL;
	}
	rte_vhost_driver_disable_features(vp->path, VHOST_DISABLED_FEATURES |
							(p->tso_to_guest ? 0 : VHOST_GUEST_TSO));
	rte_vhost_driver_callback_register(vp->path, &vhost_ops);
	g_mutex_lock(&reg_lock);
	g_hash_table_insert(registry, vp->path, vp);
	g_mutex_unlock(&reg_lock);
	rc = rte_vhost_driver_start(vp->path);
	if (rc != 0) {
		reg_remove(vp);
		rte_vhost_driver_unregister(vp->path);
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
			    "cannot %s vhost-user socket '%s'",
			    p->server ? "listen on" : "connect to", vp->path);
		vp_free(vp);
		return -EIO;
	}
	if (p->server) {
		struct stat st;
		if (lstat(vp->path, &st) == 0 && S_ISSOCK(st.st_mode)) {
			vp->sock_dev = st.st_dev;
			vp->sock_ino = st.st_ino;
		}
	}
	*out = &vp->base;
	return 0;
}

const char *vn_vhost_port_path(const struct vn_port *port)
{
	return ((const struct vhost_port *)port)->path;
}

bool vn_vhost_port_server(const struct vn_port *port)
{
	return ((const struct vhost_port *)port)->server;
}

uint16_t vn_vhost_port_queues(const struct vn_port *port)
{
	return ((const struct vhost_port *)port)->queues;
}

/* ---- the "vhost" port kind: arguments path, server ---- */

static const char *const vhost_keys[] = {"path", "server", "mtu", NULL};

static int vhost_kind_check(JsonObject *args, const struct vn_config *cfg, GError **err)
{
	const char *path;
	bool server = false;
	guint64 mtu = 0;
	int rc;

	if ((rc = vn_arg_str(args, "path", false, &path, err)) < 0 ||
	    (rc = vn_arg_bool(args, "server", &server, err)) < 0 ||
	    (rc = vn_arg_uint(args, "mtu", 68, 65535, &mtu, err)) < 0)
		return rc;
	if (!path || !*path) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "vhost ports need --path SOCKET");
		return -EINVAL;
	}
	if (path[0] != '/') {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "--path must be an absolute socket path");
		return -EINVAL;
	}
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "socket path too long: %zu bytes, at most %zu fit a unix socket",
			    strlen(path), sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		return -ENAMETOOLONG;
	}
	/* vnicd creates (and later removes) the socket of a server port: confined */
	if (server && (rc = vn_socket_path_allowed(path, cfg->vhost_socket_dirs, err)) < 0)
		return rc;
	return 0;
}

static int vhost_kind_create(const char *name, JsonObject *args, const struct vn_port_env *env,
			     struct vn_port **out, GError **err)
{
	struct vn_vhost_params p = {0};
	guint64 queues = 1, mtu = 0;

	vn_arg_str(args, "path", true, &p.path, NULL);
	vn_arg_bool(args, "server", &p.server, NULL);
	vn_arg_uint(args, "queues", 1, VN_MAX_QUEUES, &queues, NULL);
	vn_arg_uint(args, "mtu", 68, 65535, &mtu, NULL);
	p.queues = (uint16_t)queues;
	p.mtu = (uint16_t)mtu;
	p.socket_dirs = env->cfg ? env->cfg->vhost_socket_dirs : NULL;
	p.tso_to_guest = env->cfg && g_strcmp0(env->cfg->vhost_tso_to_guest, "yes") == 0;
	return vn_vhost_port_create(name, &p, env->mp, env->dp, out, err);
}

static char *vhost_kind_summary(JsonObject *args)
{
	const char *path = NULL;
	bool server = false;

	vn_arg_str(args, "path", false, &path, NULL);
	vn_arg_bool(args, "server", &server, NULL);
	return g_strdup_printf("vhost-user %s %s", server ? "server" : "client", path ? path : "?");
}

const struct vn_port_kind vn_vhost_kind = {
    .name = "vhost",
    .keys = vhost_keys,
    .unique_key = "path",
    .check = vhost_kind_check,
    .create = vhost_kind_create,
    .summary = vhost_kind_summary,
};

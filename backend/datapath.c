/* SPDX-License-Identifier: MIT */
/* Workers and tables: poll rx queues into the pipeline, adaptive sleep, RCU-published slots. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>
#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "vnicd/datapath.h"
#include "vnicd/log.h"
#include "vnicd/net.h"
#include "vnicd/pipeline.h"
#include "vnicd/policy.h"
#include "vnicd/uplink.h"
#include "worker.h"

#define IDLE_SPINS 2048 /* empty polls before a worker starts sleeping */
#define SLEEP_MIN_US 8
#define INTR_TIMEOUT_US 100000 /* longest sleep when every queue can notify */
#define WAIT_FDS_MAX 256
#define INJ_RING_SIZE 256		/* injected frames in flight (announcements) */
#define WORKERS_PAST_TIMEOUT_US 1000000 /* longest wait for workers to leave an old table */

static void table_free(struct vn_dp_table *t);

static uint64_t tsc_hz;

uint64_t vn_dp_now(void)
{
	if (unlikely(tsc_hz == 0)) {
		tsc_hz = rte_get_tsc_hz();
		if (tsc_hz == 0) /* EAL not initialised (control-plane tests) */
			return (uint64_t)(g_get_monotonic_time() / G_USEC_PER_SEC);
	}
	return rte_get_tsc_cycles() / tsc_hz;
}

struct vn_dp *vn_dp_create(unsigned nr_workers, unsigned idle_sleep_us)
{
	static unsigned nr_dps;
	char ring[RTE_RING_NAMESIZE];
	struct vn_dp *dp;
	size_t sz;

	if (nr_workers == 0 || nr_workers > VN_MAX_WORKERS) {
		errno = EINVAL;
		return NULL;
	}
	if (vn_pipeline_init() < 0) {
		errno = ENOSPC;
		return NULL;
	}
	dp = rte_zmalloc("vn_dp", sizeof(*dp), RTE_CACHE_LINE_SIZE);
	if (!dp)
		goto out_nomem;
	dp->nr_workers = nr_workers;
	dp->idle_sleep_us = idle_sleep_us;
	sz = rte_rcu_qsbr_get_memsize(nr_workers);
	dp->qsbr = rte_zmalloc("vn_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (!dp->qsbr || rte_rcu_qsbr_init(dp->qsbr, nr_workers) != 0)
		goto out_free;
	for (unsigned i = 0; i < nr_workers; i++) {
		dp->w[i] = rte_zmalloc("vn_worker", sizeof(struct vn_worker), RTE_CACHE_LINE_SIZE);
		if (!dp->w[i])
			goto out_free;
		dp->w[i]->dp = dp;
		dp->w[i]->id = i;
		dp->w[i]->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (dp->w[i]->wake_fd < 0)
			goto out_free;
		dp->w[i]->rxq = rte_zmalloc(
		    "vn_rxq_ctr", sizeof(*dp->w[i]->rxq) * VN_MAX_PORTS_HARD, RTE_CACHE_LINE_SIZE);
		if (!dp->w[i]->rxq)
			goto out_free;
	}
	snprintf(ring, sizeof(ring), "vn_inj%u", __atomic_fetch_add(&nr_dps, 1, __ATOMIC_RELAXED));
	dp->inj = rte_ring_create_elem(ring, sizeof(struct vn_dp_inj), INJ_RING_SIZE, SOCKET_ID_ANY,
				       RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (!dp->inj)
		goto out_free;
	dp->smp = rte_zmalloc("vn_rxq_smp", sizeof(*dp->smp) * VN_MAX_PORTS_HARD, 0);
	if (!dp->smp)
		goto out_free;
	dp->smp_tsc = rte_rdtsc();
	return dp;

out_free:
	vn_dp_free(dp);
out_nomem:
	errno = ENOMEM;
	return NULL;
}

void vn_dp_free(struct vn_dp *dp)
{
	if (!dp)
		return;
	for (unsigned i = 0; i < VN_MAX_WORKERS; i++) {
		if (dp->w[i] && dp->w[i]->wake_fd >= 0)
			close(dp->w[i]->wake_fd);
		if (dp->w[i])
			rte_free(dp->w[i]->rxq);
		rte_free(dp->w[i]);
	}
	table_free(dp->table);
	if (dp->inj) {
		struct vn_dp_inj e;
		while (rte_ring_dequeue_elem(dp->inj, &e, sizeof(e)) == 0)
			rte_pktmbuf_free(e.m);
		rte_ring_free(dp->inj);
	}
	for (unsigned s = 0; s < VN_MAX_PORTS_HARD; s++)
		vn_policy_free(dp->pol[s]);
	rte_free(dp->smp);
	rte_free(dp->qsbr);
	rte_free(dp);
}

struct rte_rcu_qsbr *vn_dp_qsbr(struct vn_dp *dp)
{
	return dp->qsbr;
}

unsigned vn_dp_nr_workers(const struct vn_dp *dp)
{
	return dp->nr_workers;
}

struct vn_worker *vn_dp_worker(struct vn_dp *dp, unsigned id)
{
	return id < dp->nr_workers ? dp->w[id] : NULL;
}

/* Flood lists: one array per network, shared by its ports. */
static void table_flood(struct vn_dp_table *t)
{
	unsigned fill = 0;

	for (unsigned s = 0; s < t->nr_slots; s++) {
		const struct vn_slot *p = &t->slots[s];
		unsigned start = fill, cnt = 0;

		if (!p->port || t->flood[s])
			continue;
		for (unsigned o = s; o < t->nr_slots; o++) {
			if (t->slots[o].port && t->slots[o].net == p->net) {
				t->members[fill++] = (uint16_t)o;
				cnt++;
			}
		}
		for (unsigned i = start; i < start + cnt; i++) {
			t->flood[t->members[i]] = &t->members[start];
			t->flood_n[t->members[i]] = (uint16_t)cnt;
		}
	}
}

/* A table of the staged slots, their rx queues on the workers they are placed on (held ones
 * on none). */
static struct vn_dp_table *table_build(struct vn_dp *dp)
{
	struct vn_dp_table *t = rte_zmalloc("vn_table", sizeof(*t), RTE_CACHE_LINE_SIZE);
	unsigned total_rxq = 0;

	if (!t)
		return NULL;

	t->nr_workers = dp->nr_workers;
	t->gen = __atomic_add_fetch(&dp->gen, 1, __ATOMIC_RELEASE);
	for (unsigned s = 0; s < VN_MAX_PORTS_HARD; s++) {
		if (!dp->staged[s].port)
			continue;
		t->slots[s] = dp->staged[s];
		t->nr_slots = (uint16_t)(s + 1);
		t->nr_pol += t->slots[s].pol != NULL;
		t->nr_vmap += t->slots[s].vmap != NULL;
		total_rxq += t->slots[s].port->nr_rxq;
	}
	t->members =
	    rte_zmalloc("vn_members", sizeof(uint16_t) * (t->nr_slots ? t->nr_slots : 1), 0);
	table_flood(t);
	for (unsigned w = 0; w < dp->nr_workers; w++)
		t->rxqs[w] = rte_zmalloc("vn_rxqs",
					 sizeof(struct vn_dp_rxq) * (total_rxq ? total_rxq : 1), 0);
	if (!t->members || (dp->nr_workers && !t->rxqs[dp->nr_workers - 1])) {
		table_free(t);
		return NULL;
	}
	vn_dp_rxq_placement(dp, t);
	for (unsigned s = 0; s < t->nr_slots; s++) {
		struct vn_port *p = t->slots[s].port;
		if (!p)
			continue;
		for (uint16_t q = 0; q < p->nr_rxq && q < VN_MAX_QUEUES; q++) {
			unsigned o = dp->owner[s][q];
			if (o == 0 || (o & RXQ_HELD) || o > dp->nr_workers)
				continue;
			t->rxqs[o - 1][t->nr_rxqs[o - 1]++] = (struct vn_dp_rxq){p, q};
		}
	}
	return t;
}

static void table_free(struct vn_dp_table *t)
{
	if (!t)
		return;
	for (unsigned w = 0; w < VN_MAX_WORKERS; w++)
		rte_free(t->rxqs[w]);
	rte_free(t->members);
	rte_free(t);
}

void vn_dp_synchronize(struct vn_dp *dp)
{
	rte_rcu_qsbr_synchronize(dp->qsbr, RTE_QSBR_THRID_INVALID);
}

const struct vn_slot *vn_dp_slot(const struct vn_dp *dp, uint16_t slot)
{
	return &dp->staged[slot];
}

void vn_dp_slot_set(struct vn_dp *dp, uint16_t slot, const struct vn_slot *s)
{
	const struct vn_port_policy *pol = dp->staged[slot].pol;

	if (s && s->port)
		dp->staged[slot] = *s;
	else
		memset(&dp->staged[slot], 0, sizeof(dp->staged[slot]));
	dp->staged[slot].pol = pol; /* policies change through vn_dp_policy_set() only */
}

bool vn_dp_workers_past(struct vn_dp *dp, uint64_t gen)
{
	gint64 deadline = g_get_monotonic_time() + WORKERS_PAST_TIMEOUT_US;

	for (;;) {
		bool all = true;
		for (unsigned i = 0; i < dp->nr_workers && all; i++)
			all = !__atomic_load_n(&dp->w[i]->running, __ATOMIC_ACQUIRE) ||
			      __atomic_load_n(&dp->w[i]->gen_seen, __ATOMIC_ACQUIRE) >= gen;
		if (all)
			return true;
		if (g_get_monotonic_time() > deadline)
			return false;
		g_usleep(20);
	}
}

/* Does port @p take frames with pending offloads? vhost-user ports complete what their guest
 * does not take; tap and vnet ports, and af_packet uplinks on vnicd's packet sockets, hand
 * them to the kernel in the virtio-net header, which completes what the device behind does
 * not take. */
static bool port_takes_offloads(const struct vn_port *p)
{
	const char *kind = p->ops->kind;

	return strcmp(kind, "vhost") == 0 || strcmp(kind, "tap") == 0 ||
	       strcmp(kind, "vnet") == 0 ||
	       (strcmp(kind, "uplink") == 0 && vn_uplink_takes_offloads(p));
}

/*
 * May frames received in the network of slot @s of @t keep pending offloads (mbuf tx flags)?
 * Only when it is a bridge all of whose ports take them (port_takes_offloads()) and none
 * edits VLAN tags (an edit would move the headers). An uplink's default policy (a trunk of
 * every VLAN, the untagged LAN untagged) edits none: the other ports, VLAN-unaware, carry
 * only the untagged LAN, which leaves every port untagged.
 */
static bool net_offl_pass(const struct vn_dp_table *t, unsigned s)
{
	const struct vn_slot *sl = &t->slots[s];

	if (!sl->net || strcmp(sl->net->kind->name, "bridge") != 0)
		return false;
	for (uint16_t i = 0; i < t->flood_n[s]; i++) {
		const struct vn_slot *m = &t->slots[t->flood[s][i]];
		if (!m->port || !port_takes_offloads(m->port) || m->vmap || m->tun || m->vtep ||
		    (m->pol && m->pol->vlan_aware && !m->pol->default_uplink))
			return false;
	}
	return true;
}

/*
 * Before table @t is published: ports that lose offload pass-through stop handing over
 * frames with pending offloads, and no worker still switches such a frame (it might reach
 * a port of @t that does not take it). After (@after): ports that gain it start. @pass is
 * by network: indexed by the network's lowest slot, its flood list's first member.
 */
static void offl_pass_update(struct vn_dp *dp, const struct vn_dp_table *t, const uint8_t *pass,
			     bool after)
{
	bool lost = false;

	for (unsigned s = 0; t && s < t->nr_slots; s++) {
		struct vn_port *p = t->slots[s].port;
		bool ok;
		if (!p)
			continue;
		ok = pass[t->flood[s][0]];
		if (after && ok)
			__atomic_store_n(&p->offl_pass, 1, __ATOMIC_RELEASE);
		else if (!after && !ok && __atomic_load_n(&p->offl_pass, __ATOMIC_RELAXED)) {
			__atomic_store_n(&p->offl_pass, 0, __ATOMIC_RELEASE);
			lost = true;
		}
	}
	if (lost)
		vn_dp_synchronize(dp);
}

void vn_dp_commit(struct vn_dp *dp)
{
	struct vn_dp_table *t = table_build(dp), *old;
	uint8_t pass[VN_MAX_PORTS_HARD];

	if (unlikely(!t)) { /* no memory: publish nothing (workers idle) until a commit succeeds */
		dp->commit_failures++;
		VN_ERR("data path: no memory for a new table: forwarding stops until the next "
		       "change");
	}
	for (unsigned s = 0; t && s < t->nr_slots; s++) /* each network once */
		if (t->slots[s].port && t->flood[s][0] == s)
			pass[s] = net_offl_pass(t, s);
	offl_pass_update(dp, t, pass, false);
	old = __atomic_exchange_n(&dp->table, t, __ATOMIC_ACQ_REL);
	offl_pass_update(dp, t, pass, true);

	vn_dp_wake(dp); /* sleeping workers re-arm on the new queues */
	vn_dp_synchronize(dp);
	/*
	 * A worker that slept is quiescent for RCU while it still has the old table's queues
	 * armed, and disarms them (vhost: in the guest's rings) after waking: what the caller
	 * frees next (a port, its device's memory) must wait for that too.
	 */
	if (!vn_dp_workers_past(dp, __atomic_load_n(&dp->gen, __ATOMIC_ACQUIRE)))
		VN_WARN("data path: a worker did not come back from its sleep within 1 s");
	table_free(old);
}

const struct vn_dp_table *vn_dp_table(struct vn_dp *dp)
{
	return __atomic_load_n(&dp->table, __ATOMIC_ACQUIRE);
}

void vn_dp_stop(struct vn_dp *dp)
{
	__atomic_store_n(&dp->stop, 1, __ATOMIC_RELEASE);
	vn_dp_wake(dp);
}

/*
 * Worker 0: the frames the control thread injected, each through the pipeline as received
 * on its slot, if the port that was there still is. Return: frames moved.
 */
static unsigned poll_injected(struct vn_worker *w, const struct vn_dp_table *t, uint64_t now)
{
	struct vn_dp_inj e[VN_BURST];
	unsigned n, moved = 0;

	if (likely(rte_ring_empty(w->dp->inj)))
		return 0;
	n = rte_ring_dequeue_burst_elem(w->dp->inj, e, sizeof(e[0]), VN_BURST, NULL);
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = e[i].m;
		if (e[i].slot >= t->nr_slots || t->slots[e[i].slot].port != e[i].port) {
			rte_pktmbuf_free(m);
			__atomic_fetch_add(&w->dp->inj_drops, 1, __ATOMIC_RELAXED);
			continue;
		}
		vn_dp_switch_burst(w, t, e[i].slot, &m, 1, now);
		moved++;
	}
	return moved;
}

int vn_dp_inject(struct vn_dp *dp, const struct vn_port *port, struct rte_mbuf *m)
{
	struct vn_dp_inj e = {.m = m, .port = port, .slot = port->slot};

	if (rte_ring_enqueue_elem(dp->inj, &e, sizeof(e)) != 0) {
		__atomic_fetch_add(&dp->inj_drops, 1, __ATOMIC_RELAXED);
		rte_pktmbuf_free(m);
		return -ENOBUFS;
	}
	vn_dp_wake(dp);
	return 0;
}

/* vn_dp_now() at TSC @tsc, which the worker read already: no second TSC read, and a division
 * only once a second. */
static inline uint64_t worker_now(struct vn_worker *w, uint64_t tsc)
{
	if (unlikely(tsc >= w->sec_next)) {
		if (unlikely(tsc_hz == 0))
			tsc_hz = rte_get_tsc_hz();
		w->sec_now = tsc / tsc_hz;
		w->sec_next = (w->sec_now + 1) * tsc_hz;
	}
	return w->sec_now;
}

/*
 * Poll every rx queue of worker @w once. Each queue whose burst had frames is charged the
 * TSC time since the previous such stamp (@tsc: when the iteration began): one rdtsc per
 * burst with frames, none for empty polls. Return: frames moved.
 */
static unsigned poll_once(struct vn_worker *w, const struct vn_dp_table *t, uint64_t tsc)
{
	struct rte_mbuf *pkts[VN_BURST];
	const struct vn_dp_rxq *rq = t->rxqs[w->id];
	uint64_t now = worker_now(w, tsc);
	unsigned moved = w->id == 0 ? poll_injected(w, t, now) : 0;

	for (unsigned i = 0; i < t->nr_rxqs[w->id]; i++) {
		struct vn_port *p = rq[i].port;
		uint16_t n = p->ops->rx_burst(p, rq[i].q, pkts, VN_BURST);
		if (n) {
			struct vn_rxq_ctr *c = &w->rxq[p->slot][rq[i].q];
			uint64_t stamp;
			vn_dp_switch_burst(w, t, p->slot, pkts, n, now);
			moved += n;
			stamp = rte_rdtsc();
			c->cycles += stamp - tsc;
			c->frames += n;
			tsc = stamp;
		}
	}
	return moved;
}

/* One rx queue armed for notification while a worker sleeps. */
struct armed_q {
	struct vn_port *port; /* rx_intr kinds: disarmed only if still published */
	uint16_t q, slot;
	int64_t token; /* rx_intr_token kinds: armed/disarmed offline */
	int (*arm)(int64_t token, bool enable);
};

static void go_offline(struct vn_worker *w)
{
	rte_rcu_qsbr_thread_offline(w->dp->qsbr, w->id);
}

static void go_online(struct vn_worker *w)
{
	rte_rcu_qsbr_thread_online(w->dp->qsbr, w->id);
}

/* Arm queue @q of @p's notification: a duplicate of its fd, or -ENOTCONN (nothing can
 * arrive), or another -errno (poll on a timer; the queue is left unarmed). */
static int arm_fd(struct vn_port *p, uint16_t q)
{
	int fd = p->ops->rx_intr ? p->ops->rx_intr(p, q, true) : -ENOTSUP;

	if (fd >= 0 && (fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		fd = -errno;
		p->ops->rx_intr(p, q, false); /* armed, but not in the set */
	}
	return fd;
}

/*
 * Idle: arm rx notifications where ports offer them, check the queues once more (a frame
 * may have come between the last poll and arming), then sleep outside the RCU reader set
 * until a notification, a wake-up (table change, new device) or the timeout: long when
 * every queue can notify, the backoff @sleep_us when one cannot.
 *
 * Kinds whose arming can block on a lock their device's callbacks hold while they wait
 * for the workers (vhost: the virtqueue locks, held by the vhost library around its
 * post_msg_handle callback, which waits for a grace period when it refuses a memory table)
 * give a token while online and are armed and disarmed offline, so such a callback never
 * waits for a worker stuck behind its own lock; the kind keeps its device from going away
 * while a worker arms it by token (vhost: destroy_device waits for it) and hands back a
 * descriptor of the worker's own. rx_intr() descriptors are dup'ed so that a device that
 * goes away meanwhile cannot hand us a reused number.
 * Return: frames moved by the re-check (0 when it slept).
 */
static unsigned worker_sleep(struct vn_worker *w, const struct vn_dp_table *t, unsigned sleep_us)
{
	struct pollfd pfd[WAIT_FDS_MAX];
	struct armed_q armed[WAIT_FDS_MAX];
	const struct vn_dp_rxq *rq = t ? t->rxqs[w->id] : NULL;
	unsigned nr = t ? t->nr_rxqs[w->id] : 0, nfd = 1, narmed = 0, moved = 0;
	bool timer = false, offline_arms = false;
	struct timespec ts;

	pfd[0] = (struct pollfd){.fd = w->wake_fd, .events = POLLIN};
	for (unsigned i = 0; i < nr && narmed < WAIT_FDS_MAX - 1; i++) {
		struct vn_port *p = rq[i].port;
		struct armed_q *a = &armed[narmed];
		int fd;

		*a = (struct armed_q){.port = p, .q = rq[i].q, .slot = p->slot, .token = -1};
		if (p->ops->rx_intr_token && p->ops->rx_intr_arm) {
			a->token = p->ops->rx_intr_token(p, rq[i].q);
			if (a->token == -ENOTCONN)
				continue; /* nothing can arrive; a connect wakes us */
			if (a->token < 0) {
				timer = true;
				continue;
			}
			a->arm = p->ops->rx_intr_arm;
			offline_arms = true;
			pfd[nfd++] = (struct pollfd){.fd = -1, .events = POLLIN};
			narmed++;
			continue;
		}
		fd = arm_fd(p, rq[i].q);
		if (fd == -ENOTCONN)
			continue;
		if (fd < 0) {
			timer = true;
			continue;
		}
		pfd[nfd++] = (struct pollfd){.fd = fd, .events = POLLIN};
		narmed++;
	}
	if (nr > WAIT_FDS_MAX - 1)
		timer = true;
	if (offline_arms) {
		go_offline(w);
		for (unsigned i = 0; i < narmed; i++) {
			int fd;
			if (!armed[i].arm)
				continue;
			fd = armed[i].arm(armed[i].token, true); /* ours to close */
			if (fd < 0 && fd != -ENOTCONN) /* gone since the token: nothing comes */
				timer = true;
			pfd[i + 1].fd = fd; /* poll() ignores negative descriptors */
		}
		go_online(w);
		t = __atomic_load_n(&w->dp->table, __ATOMIC_ACQUIRE);
	}
	if (t)
		moved = poll_once(w, t, rte_rdtsc());
	if (!moved) {
		unsigned us = timer ? sleep_us : INTR_TIMEOUT_US;
		ts.tv_sec = us / 1000000;
		ts.tv_nsec = (long)(us % 1000000) * 1000;
		w->st.sleeps++;
		go_offline(w);
		if (ppoll(pfd, nfd, &ts, NULL) > 0) {
			uint64_t v;
			for (unsigned i = 0; i < nfd; i++)
				if (pfd[i].fd >= 0 && (pfd[i].revents & POLLIN) &&
				    read(pfd[i].fd, &v, sizeof(v)) < 0)
					w->st.wake_errors++;
		}
		go_online(w);
	}
	if (offline_arms) {
		go_offline(w);
		for (unsigned i = 0; i < narmed; i++)
			if (armed[i].arm)
				armed[i].arm(armed[i].token, false);
		go_online(w);
	}
	/*
	 * Offline, we did not hold back port removals: a port deleted meanwhile may be freed.
	 * Only ports still in the table we see now are safe to touch.
	 */
	t = __atomic_load_n(&w->dp->table, __ATOMIC_ACQUIRE);
	for (unsigned i = 0; i < narmed; i++) {
		struct armed_q *a = &armed[i];
		if (!a->arm && t && a->slot < t->nr_slots && t->slots[a->slot].port == a->port)
			a->port->ops->rx_intr(a->port, a->q, false);
		if (pfd[i + 1].fd >= 0)
			close(pfd[i + 1].fd);
	}
	return moved;
}

/* Whether worker @w, idle for @idle polls until @now, polled long enough to sleep: its poll
 * window counts from the IDLE_SPINS-th empty poll. */
static bool polled_enough(struct vn_worker *w, unsigned idle, uint64_t now)
{
	if (idle == IDLE_SPINS)
		w->idle_since = now;
	return now - w->idle_since >= w->poll_window;
}

/*
 * After a sleep of @slept cycles (idle_poll_us, as Linux's haltpoll): when frames were there
 * on waking and the sleep was shorter than @max, polling that long would have caught them
 * without a wake-up: double the window (from @max / 16, up to @max); else halve it, so that
 * it decays to nothing when the queues stay silent.
 */
static void adapt_window(struct vn_worker *w, uint64_t max, uint64_t slept, bool frames)
{
	if (!max)
		return;
	if (frames && slept < max) {
		uint64_t grown = w->poll_window * 2 > max / 16 ? w->poll_window * 2 : max / 16;
		w->poll_window = grown < max ? grown : max;
	} else {
		w->poll_window /= 2;
	}
}

int vn_dp_worker_run(void *arg)
{
	struct vn_worker *w = arg;
	struct vn_dp *dp = w->dp;
	unsigned idle = 0, sleep_us = SLEEP_MIN_US;
	uint64_t tsc = rte_rdtsc();
	const uint64_t stall = rte_get_tsc_hz() / 1000000 * VN_DP_STALL_US;

	rte_rcu_qsbr_thread_register(dp->qsbr, w->id);
	rte_rcu_qsbr_thread_online(dp->qsbr, w->id);
	__atomic_store_n(&w->running, 1, __ATOMIC_RELEASE);
	VN_INFO("worker %u running on lcore %u", w->id, rte_lcore_id());
	while (!__atomic_load_n(&dp->stop, __ATOMIC_ACQUIRE)) {
		const struct vn_dp_table *t = __atomic_load_n(&dp->table, __ATOMIC_ACQUIRE);
		unsigned moved;

		/* done with every older table: its queues are not polled or armed by us any more */
		__atomic_store_n(&w->gen_seen,
				 t ? t->gen : __atomic_load_n(&dp->gen, __ATOMIC_ACQUIRE),
				 __ATOMIC_RELEASE);
		moved = likely(t != NULL) ? poll_once(w, t, tsc) : 0;
		uint64_t now = rte_rdtsc();

		if (unlikely(w->slept)) {
			adapt_window(w, dp->idle_poll_cycles, w->slept, moved != 0);
			w->slept = 0;
		}

		/* time spent on iterations that moved frames: the worker's cost per frame */
		if (moved) {
			w->st.busy_cycles += now - tsc;
			w->st.frames += moved;
			if (unlikely(now - tsc > stall)) {
				w->st.stalls++;
				w->st.stall_cycles += now - tsc;
			}
		}
		tsc = now;
		rte_rcu_qsbr_quiescent(dp->qsbr, w->id);
		w->st.loops++;
		/* no pause instruction on empty polls: it costs ~100+ cycles of latency */
		if (!moved && dp->idle_sleep_us && ++idle >= IDLE_SPINS &&
		    polled_enough(w, idle, now)) {
			/* @t may be freed since the quiescent state: the table of now */
			moved = worker_sleep(w, __atomic_load_n(&dp->table, __ATOMIC_ACQUIRE),
					     sleep_us);
			tsc = rte_rdtsc(); /* the sleep is not work */
			if (!moved)
				w->slept = tsc - now ? tsc - now : 1;
		}
		if (moved) {
			w->st.busy++;
			idle = 0;
			sleep_us = SLEEP_MIN_US;
		} else if (idle >= IDLE_SPINS && sleep_us < dp->idle_sleep_us) {
			sleep_us =
			    sleep_us * 2 > dp->idle_sleep_us ? dp->idle_sleep_us : sleep_us * 2;
		}
	}
	__atomic_store_n(&w->running, 0, __ATOMIC_RELEASE);
	rte_rcu_qsbr_thread_offline(dp->qsbr, w->id);
	rte_rcu_qsbr_thread_unregister(dp->qsbr, w->id);
	return 0;
}

void vn_dp_set_idle_poll(struct vn_dp *dp, unsigned idle_poll_us)
{
	dp->idle_poll_cycles = (uint64_t)idle_poll_us * rte_get_tsc_hz() / 1000000;
}

unsigned vn_dp_worker_poll_window_us(const struct vn_dp *dp, unsigned id)
{
	uint64_t hz = rte_get_tsc_hz();

	return id < dp->nr_workers && hz ? (unsigned)(dp->w[id]->poll_window * 1000000 / hz) : 0;
}

void vn_dp_wake(struct vn_dp *dp)
{
	uint64_t one = 1;

	for (unsigned i = 0; i < dp->nr_workers; i++)
		if (dp->w[i]->wake_fd >= 0 && write(dp->w[i]->wake_fd, &one, sizeof(one)) < 0)
			dp->w[i]->st.wake_errors++;
}

void vn_dp_port_counters(struct vn_dp *dp, uint16_t slot, struct vn_port_counters *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < dp->nr_workers; i++)
		vn_counters_add(out, &dp->w[i]->ctr[slot]);
}

void vn_dp_capture_set(struct vn_dp *dp, uint16_t slot, struct vn_capture *cap)
{
	if (dp->staged[slot].cap == cap)
		return;
	dp->staged[slot].cap = cap;
	vn_dp_commit(dp);
}

struct vn_capture *vn_dp_capture_get(struct vn_dp *dp, uint16_t slot)
{
	return dp->staged[slot].cap;
}

void vn_dp_worker_stats(struct vn_dp *dp, unsigned id, struct vn_dp_worker_stats *out)
{
	if (id < dp->nr_workers)
		*out = dp->w[id]->st;
	else
		memset(out, 0, sizeof(*out));
}

void vn_dp_policy_set(struct vn_dp *dp, uint16_t slot, struct vn_port_policy *pol)
{
	struct vn_port_policy *old = dp->pol[slot];

	dp->pol[slot] = pol;
	dp->staged[slot].pol = pol;
	if (dp->staged[slot].port || old)
		vn_dp_commit(dp); /* no worker sees @old after this */
	vn_policy_free(old);
}

const struct vn_port_policy *vn_dp_policy_get(struct vn_dp *dp, uint16_t slot)
{
	return dp->pol[slot];
}

/* SPDX-License-Identifier: MIT */
/* Packet-socket queues (PACKET_VNET_HDR) on an uplink's kernel interface: see vnicd/pktq.h. */
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_malloc.h>

#include "tapio.h"
#include "vnicd/args.h"
#include "vnicd/log.h"
#include "vnicd/pktq.h"

#define SOCKBUF (4 << 20)
#define RXPOOL_PER_QUEUE 128 /* as tap ports: ring/stash + FIFO + slack */
#define RXPOOL_EXTRA 128

struct vn_pktq {
	const struct tq_engine *eng;
	struct rte_mempool *rxmp;  /* 64 KiB buffers: a whole GSO frame fits */
	struct rte_mempool *segmp; /* segments of GSO frames */
	uint16_t queues;
	int fds[VN_MAX_QUEUES];
	char fallback[192]; /* why io_uring is not used; "" when it is */
	struct tap_q q[VN_MAX_QUEUES];
};

#define FANOUT_IGNORE_OUTGOING 0x4000 /* PACKET_FANOUT_FLAG_IGNORE_OUTGOING (Linux 6.2) */

/* The first queue's socket makes the fanout group *@fanout, which the others join; the group
 * ignores outgoing frames (Linux 6.2+) when @ignore_out and the kernel can. */
static int packet_fanout(int fd, unsigned i, bool ignore_out, int *fanout, GError **err)
{
	socklen_t fl = sizeof(*fanout);
	int type = PACKET_FANOUT_HASH | (ignore_out ? FANOUT_IGNORE_OUTGOING : 0), arg, e;

	if (i > 0) {
		if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, fanout, sizeof(*fanout)) == 0)
			return 0;
		e = errno;
		FAIL(e, "packet fanout: %s", g_strerror(e));
	}
	arg = (type | PACKET_FANOUT_FLAG_UNIQUEID) << 16;
	if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) != 0 &&
	    type != PACKET_FANOUT_HASH) {
		type = PACKET_FANOUT_HASH;
		arg = (type | PACKET_FANOUT_FLAG_UNIQUEID) << 16;
		if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) != 0)
			type = -1;
	}
	if (type < 0 || getsockopt(fd, SOL_PACKET, PACKET_FANOUT, fanout, &fl) != 0) {
		e = errno;
		FAIL(e, "packet fanout: %s", g_strerror(e));
	}
	*fanout = (*fanout & 0xffff) | (type << 16);
	return 0;
}

int vn_packet_socket(int ifindex, const char *what, unsigned i, unsigned n, bool ignore_out,
		     int *fanout, GError **err)
{
	struct sockaddr_ll sll = {
	    .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = ifindex};
	int one = 1, bufsz = SOCKBUF, e, rc;
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		e = errno;
		FAIL(e, "cannot open a packet socket: %s", g_strerror(e));
	}
	if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) != 0) {
		e = errno;
		close(fd);
		FAIL(e, "packet socket options: %s", g_strerror(e));
	}
	/* best effort: not seeing our own frames, skipping the qdisc, bigger buffers */
	if (ignore_out)
		setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsz, sizeof(bufsz)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsz, sizeof(bufsz)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) != 0) {
		e = errno;
		close(fd);
		FAIL(e, "cannot bind a packet socket to '%s': %s", what, g_strerror(e));
	}
	if (n > 1 && (rc = packet_fanout(fd, i, ignore_out, fanout, err)) < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

/*
 * One socket per queue. Unlike a vnet port's, outgoing frames are not ignored: the host's
 * own transmissions on the interface are the uplink's to see (the uplink skips those from
 * the interface's MAC); the kernel never hands a socket (or its fanout group) what it sent.
 */
static int open_socket(struct vn_pktq *pq, unsigned i, int ifindex, int *fanout, GError **err)
{
	char what[24];
	int fd;

	snprintf(what, sizeof(what), "interface %d", ifindex);
	fd = vn_packet_socket(ifindex, what, i, pq->queues, false, fanout, err);
	if (fd < 0)
		return fd;
	pq->fds[i] = fd;
	return 0;
}

static void close_queues(struct vn_pktq *pq)
{
	for (unsigned i = 0; i < pq->queues; i++)
		vn_tap_q_close(&pq->q[i], pq->eng);
}

static int open_queues(struct vn_pktq *pq, GError **err)
{
	for (unsigned i = 0; i < pq->queues; i++) {
		struct tap_q *q = &pq->q[i];
		int rc;
		q->io = (struct tq){.fd = pq->fds[i],
				    .packet = true,
				    .outgoing = true,
				    .idx = (uint16_t)i,
				    .rxmp = pq->rxmp,
				    .eng = pq->eng};
		rte_spinlock_init(&q->txlock);
		rc = pq->eng->open(&q->io, err);
		if (rc < 0) {
			close_queues(pq);
			return rc;
		}
	}
	return 0;
}

void vn_pktq_close(struct vn_pktq *pq)
{
	if (!pq)
		return;
	close_queues(pq);
	for (unsigned i = 0; i < VN_MAX_QUEUES; i++)
		if (pq->fds[i] >= 0)
			close(pq->fds[i]);
	vn_tap_pool_release(pq->rxmp);
	rte_free(pq);
}

int vn_pktq_open(const char *name, int ifindex, uint16_t queues, const struct vn_config *cfg,
		 struct rte_mempool *segmp, struct vn_pktq **out, GError **err)
{
	static unsigned seq;
	g_autoptr(GError) e = NULL;
	char pool[RTE_MEMPOOL_NAMESIZE];
	struct vn_pktq *pq;
	int fanout = 0, rc;
	unsigned n;

	if (queues < 1 || queues > VN_MAX_QUEUES)
		FAIL(EINVAL, "uplink %s: %u queues", name, queues);
	pq = rte_zmalloc("vn_pktq", sizeof(*pq), RTE_CACHE_LINE_SIZE);
	if (!pq)
		FAIL(ENOMEM, "out of memory");
	pq->queues = queues;
	pq->segmp = segmp;
	for (unsigned i = 0; i < VN_MAX_QUEUES; i++)
		pq->fds[i] = -1;
	for (unsigned i = 0; i < queues; i++)
		if ((rc = open_socket(pq, i, ifindex, &fanout, err)) < 0)
			goto out_close;
	n = queues * RXPOOL_PER_QUEUE + RXPOOL_EXTRA;
	snprintf(pool, sizeof(pool), "vnupq%u", seq++);
	pq->rxmp = rte_pktmbuf_pool_create(pool, n, 0, 0, VN_TAP_RXBUF, (int)rte_socket_id());
	if (!pq->rxmp) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
			    "cannot allocate %u receive buffers of 64 KiB: %s", n,
			    rte_strerror(rte_errno));
		rc = -ENOMEM;
		goto out_close;
	}
	pq->eng = &vn_tq_uring;
	if (cfg && cfg->io_uring && strcmp(cfg->io_uring, "no") == 0) {
		g_strlcpy(pq->fallback, "disabled by configuration (io_uring = no)",
			  sizeof(pq->fallback));
		pq->eng = &vn_tq_fallback;
	} else if (!vn_uring_usable(true, pq->fallback, sizeof(pq->fallback))) {
		pq->eng = &vn_tq_fallback; /* the reason is in pq->fallback */
	}
	rc = open_queues(pq, pq->eng == &vn_tq_uring ? &e : err);
	if (rc < 0 && pq->eng == &vn_tq_uring) {
		snprintf(pq->fallback, sizeof(pq->fallback), "%s", e->message);
		VN_WARN("uplink %s: %s; using recvmmsg/sendmmsg", name, e->message);
		pq->eng = &vn_tq_fallback;
		rc = open_queues(pq, err);
	}
	if (rc < 0)
		goto out_close;
	*out = pq;
	return 0;

out_close:
	vn_pktq_close(pq);
	return rc;
}

uint16_t vn_pktq_rx(struct vn_pktq *pq, uint16_t q, struct rte_mbuf **pkts, uint16_t n, bool pass)
{
	return vn_tap_q_rx(&pq->q[q], pq->eng, pq->segmp, pkts, n, pass);
}

uint16_t vn_pktq_tx(struct vn_pktq *pq, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	return pq->eng->tx(&pq->q[q].io, pkts, n);
}

int vn_pktq_intr(struct vn_pktq *pq, uint16_t q, bool enable)
{
	if (!pq->eng->intr)
		return -EOPNOTSUPP; /* recvmmsg: the worker sleeps on a short timer */
	return pq->eng->intr(&pq->q[q].io, enable);
}

void vn_pktq_describe(const struct vn_pktq *pq, JsonBuilder *b)
{
	struct tq_stats s = {0};
	struct vn_offq_stats os = {0};

	for (unsigned i = 0; i < pq->queues; i++) {
		const struct tap_q *q = &pq->q[i];
		s.rx_frames += q->io.st.rx_frames;
		s.rx_truncated += q->io.st.rx_truncated;
		s.rx_nombuf += q->io.st.rx_nombuf;
		s.rx_errors += q->io.st.rx_errors;
		s.tx_frames += q->io.st.tx_frames;
		s.tx_errors += q->io.st.tx_errors;
		vn_offq_stats_add(&os, &q->oq);
	}
	vn_json_bool(b, "io_uring", pq->eng == &vn_tq_uring);
	vn_json_str(b, "io_uring_fallback", pq->fallback[0] ? pq->fallback : NULL);
	vn_json_str(b, "io", pq->eng->mode(&pq->q[0].io));
	vn_json_int(b, "rx_frames", (gint64)s.rx_frames);
	vn_json_int(b, "rx_truncated", (gint64)s.rx_truncated);
	vn_json_int(b, "rx_nombuf", (gint64)s.rx_nombuf);
	vn_json_int(b, "rx_errors", (gint64)s.rx_errors);
	vn_offq_stats_json(b, &os);
	vn_json_int(b, "rx_offload_passed", (gint64)os.passed);
	vn_json_int(b, "tx_frames", (gint64)s.tx_frames);
	vn_json_int(b, "tx_errors", (gint64)s.tx_errors);
}

bool vn_pktq_can_notify(const struct vn_pktq *pq)
{
	return pq->eng->intr != NULL;
}

void vn_pktq_wire(const struct vn_pktq *pq, struct rte_eth_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned i = 0; i < pq->queues; i++) {
		const struct tq_stats *x = &pq->q[i].io.st;
		st->ipackets += x->rx_frames;
		st->opackets += x->tx_frames;
		st->ierrors += x->rx_errors + x->rx_truncated;
		st->oerrors += x->tx_errors;
		st->rx_nombuf += x->rx_nombuf;
	}
}

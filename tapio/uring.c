/* SPDX-License-Identifier: MIT */
/* io_uring engine: reads kept posted into mbufs of a provided-buffer ring, batched writes. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <liburing.h>
#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_malloc.h>

#include "tapio.h"
#include "vnicd/log.h"
#include "vnicd/port.h"

#ifndef IORING_OP_READ_MULTISHOT
#define IORING_OP_READ_MULTISHOT 49 /* Linux 6.7; liburing 2.3 predates it */
#endif
#ifndef IORING_CQE_BUFFER_SHIFT
#define IORING_CQE_BUFFER_SHIFT 16
#endif

#define URX_RING 64   /* provided buffers per rx queue (a power of two) */
#define URX_POSTED 16 /* single-shot reads kept posted when multishot read is missing */
#define URX_CQ 256    /* completion ring of the rx side */
#define UTX_SLOTS 64  /* writes in flight per tx queue */
/* the virtio-net header and up to 39 mbuf segments (a guest's 64 KiB GSO frame, 2 KiB buffers) */
#define UTX_MAXIOV 40
#define UD_RX 0x7278ull	  /* user_data of rx requests */
#define UD_CANCEL 0xc0ull /* user_data of cancellations */
#define BGID 0
#define PKT_CMSG CMSG_SPACE(sizeof(struct tpacket_auxdata))
#define PKT_NAME RTE_ALIGN_CEIL(sizeof(struct sockaddr_ll), 8)
#define RETRY_MS 100 /* after a read error, wait this long before posting again */

static const uint8_t zero_hdr[VN_VNET_HDR_LEN];

struct utx_slot {
	struct rte_mbuf *m;
	struct msghdr msg;
	struct iovec iov[UTX_MAXIOV];
	uint8_t hdr[VN_VNET_HDR_LEN]; /* a frame with pending offloads: its header */
};

struct uq {
	/* rx: polled by one worker */
	struct io_uring rx;
	struct io_uring_buf_ring *br;
	size_t br_bytes;
	struct rte_mbuf *bufs[URX_RING]; /* buffer id -> the mbuf whose data area it is */
	uint32_t prefix;		 /* bytes the kernel writes before the frame */
	uint16_t frame_off;		 /* data_off of a received frame */
	uint32_t buflen;		 /* bytes handed to the kernel per buffer */
	bool multishot;
	uint16_t inflight; /* rx requests the kernel holds */
	uint64_t retry_tsc;
	struct msghdr rmsg; /* recvmsg layout: sockaddr_ll, PKT_CMSG bytes of control */
	int efd;	    /* eventfd signalled on rx completions while a worker sleeps */
	bool rx_ok, tx_ok, br_ok;
	/* tx: serialised by the caller */
	struct io_uring tx;
	uint16_t nfree;
	uint16_t txinflight;
	uint16_t free[UTX_SLOTS];
	struct utx_slot slot[UTX_SLOTS];
};

/* ---- what the host offers, probed once ---- */

static struct {
	gsize once;
	bool ok;
	char why[160];
	bool mshot_read, mshot_recv;
} probe;

static void probe_host(void)
{
	struct io_uring ring;
	struct io_uring_params p = {0};
	struct io_uring_probe *pr;
	struct io_uring_buf_reg reg = {.ring_entries = 1, .bgid = BGID};
	void *mem = NULL;
	int rc = io_uring_queue_init_params(4, &ring, &p);

	if (rc < 0) {
		g_autofree char *dis = NULL;
		if (g_file_get_contents("/proc/sys/kernel/io_uring_disabled", &dis, NULL, NULL))
			g_strstrip(dis);
		if (rc == -EPERM && dis && strcmp(dis, "0") != 0)
			snprintf(probe.why, sizeof(probe.why),
				 "io_uring_setup: %s (sysctl kernel.io_uring_disabled = %s)",
				 g_strerror(-rc), dis);
		else if (rc == -ENOSYS || rc == -EPERM)
			snprintf(probe.why, sizeof(probe.why),
				 "io_uring_setup: %s (kernel without io_uring, or a seccomp/LSM "
				 "policy forbids it)",
				 g_strerror(-rc));
		else
			snprintf(probe.why, sizeof(probe.why), "io_uring_setup: %s",
				 g_strerror(-rc));
		return;
	}
	if (!(p.features & IORING_FEAT_FAST_POLL)) {
		snprintf(probe.why, sizeof(probe.why),
			 "the kernel's io_uring lacks IORING_FEAT_FAST_POLL (Linux 5.7+)");
		goto out;
	}
	if (posix_memalign(&mem, 4096, 4096) != 0)
		goto out;
	memset(mem, 0, 4096);
	reg.ring_addr = (uintptr_t)mem;
	rc = io_uring_register_buf_ring(&ring, &reg, 0);
	if (rc < 0) {
		snprintf(probe.why, sizeof(probe.why),
			 "the kernel's io_uring lacks provided buffer rings (Linux 5.19+): %s",
			 g_strerror(-rc));
		goto out;
	}
	io_uring_unregister_buf_ring(&ring, BGID);
	pr = io_uring_get_probe_ring(&ring);
	if (pr) {
		probe.mshot_read = io_uring_opcode_supported(pr, IORING_OP_READ_MULTISHOT);
		/* multishot recvmsg came with Linux 6.0, as did IORING_OP_SEND_ZC */
		probe.mshot_recv = io_uring_opcode_supported(pr, IORING_OP_SEND_ZC);
		io_uring_free_probe(pr);
	}
	if (g_getenv("VNICD_TAP_POSTED_READS")) /* test knob: the Linux < 6.7 path */
		probe.mshot_read = false;
	probe.ok = true;
out:
	free(mem);
	io_uring_queue_exit(&ring);
}

bool vn_uring_usable(bool packet, char *why, size_t whylen)
{
	if (g_once_init_enter(&probe.once)) {
		probe_host();
		g_once_init_leave(&probe.once, 1);
	}
	if (!probe.ok) {
		g_strlcpy(why, probe.why, whylen);
		return false;
	}
	if (packet && !probe.mshot_recv) {
		g_strlcpy(why, "the kernel's io_uring lacks multishot recvmsg (Linux 6.0+)",
			  whylen);
		return false;
	}
	return true;
}

/* ---- rx ---- */

static inline uint8_t *buf_base(const struct uq *u, const struct rte_mbuf *m)
{
	return (uint8_t *)m->buf_addr + u->frame_off - u->prefix;
}

static inline void br_add(struct uq *u, struct rte_mbuf *m, uint16_t bid, int nth)
{
	io_uring_buf_ring_add(u->br, buf_base(u, m), u->buflen, bid,
			      io_uring_buf_ring_mask(URX_RING), nth);
}

/* Post reads until the kernel holds what the mode wants; one io_uring_enter. */
static void rx_arm(struct tq *q, struct uq *u)
{
	unsigned want = u->multishot ? 1 : URX_POSTED, added = 0;

	while (u->inflight < want) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&u->rx);
		if (!sqe)
			break;
		if (q->packet)
			io_uring_prep_recvmsg_multishot(sqe, q->fd, &u->rmsg, MSG_TRUNC);
		else if (u->multishot)
			io_uring_prep_rw(IORING_OP_READ_MULTISHOT, sqe, q->fd, NULL, 0, 0);
		else
			io_uring_prep_read(sqe, q->fd, NULL, u->buflen, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = BGID;
		io_uring_sqe_set_data64(sqe, UD_RX);
		u->inflight++;
		added++;
	}
	if (added) {
		io_uring_submit(&u->rx);
		q->st.rx_syscalls++;
		q->st.rx_rearms++;
	}
}

/* Locate the frame of a completed read of @res bytes in @m. Return: frame length or -1. */
static int rx_parse(struct tq *q, struct uq *u, struct rte_mbuf *m, int32_t res,
		    struct vn_vnet_meta *meta, uint16_t *tpid, uint16_t *tci)
{
	uint8_t *base = buf_base(u, m);
	struct io_uring_recvmsg_out *o;
	uint32_t plen;

	*tci = 0;
	*tpid = 0;
	if (!q->packet) {
		if ((uint32_t)res > u->buflen) { /* tun reports the length it could not deliver */
			q->st.rx_truncated++;
			return -1;
		}
		if ((uint32_t)res < u->prefix + RTE_ETHER_HDR_LEN) {
			q->st.rx_errors++;
			return -1;
		}
		vn_vnet_meta_decode(base, meta);
		return res - (int32_t)u->prefix;
	}
	o = io_uring_recvmsg_validate(base, res, &u->rmsg);
	if (!o) {
		q->st.rx_errors++;
		return -1;
	}
	if (!q->outgoing && o->namelen >= sizeof(struct sockaddr_ll) &&
	    ((struct sockaddr_ll *)io_uring_recvmsg_name(o))->sll_pkttype == PACKET_OUTGOING)
		return -1; /* the host's own traffic leaving the device, not the guest's */
	RTE_BUILD_BUG_ON((sizeof(struct io_uring_recvmsg_out) + PKT_NAME + PKT_CMSG) % 8);
	if (o->flags & MSG_TRUNC) {
		q->st.rx_truncated++;
		return -1;
	}
	plen = o->payloadlen;
	if (plen < VN_VNET_HDR_LEN + RTE_ETHER_HDR_LEN ||
	    (uint8_t *)io_uring_recvmsg_payload(o, &u->rmsg) !=
		base + u->prefix - VN_VNET_HDR_LEN) {
		q->st.rx_errors++;
		return -1;
	}
	vn_vnet_meta_decode(base + u->prefix - VN_VNET_HDR_LEN, meta);
	for (struct cmsghdr *c = io_uring_recvmsg_cmsg_firsthdr(o, &u->rmsg); c;
	     c = io_uring_recvmsg_cmsg_nexthdr(o, &u->rmsg, c)) {
		struct tpacket_auxdata aux;
		if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA ||
		    c->cmsg_len < CMSG_LEN(sizeof(aux)))
			continue;
		memcpy(&aux, CMSG_DATA(c), sizeof(aux));
		if (aux.tp_status & TP_STATUS_VLAN_VALID) {
			*tci = aux.tp_vlan_tci;
			*tpid = (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux.tp_vlan_tpid
									    : RTE_ETHER_TYPE_VLAN;
		}
	}
	return (int)(plen - VN_VNET_HDR_LEN);
}

static uint16_t urx(struct tq *q, struct rte_mbuf **pkts, struct vn_vnet_meta *meta, uint16_t n)
{
	struct uq *u = q->priv;
	struct io_uring_cqe *cqes[VN_BURST];
	struct rte_mbuf *rep[VN_BURST];
	unsigned cnt, nrep, used = 0, added = 0;
	uint16_t out = 0;
	bool want_more = false;

	if (unlikely(u->inflight < (u->multishot ? 1 : URX_POSTED)) &&
	    rte_get_tsc_cycles() >= u->retry_tsc)
		rx_arm(q, u);
	if (n > VN_BURST)
		n = VN_BURST;
	cnt = io_uring_peek_batch_cqe(&u->rx, cqes, n);
	if (cnt == 0)
		return 0;
	nrep = cnt;
	if (rte_pktmbuf_alloc_bulk(q->rxmp, rep, cnt) != 0)
		for (nrep = 0; nrep < cnt && (rep[nrep] = rte_pktmbuf_alloc(q->rxmp)); nrep++)
			;
	for (unsigned i = 0; i < cnt; i++) {
		const struct io_uring_cqe *c = cqes[i];
		struct rte_mbuf *m;
		uint16_t bid, tpid, tci;
		int flen;

		if (!(c->flags & IORING_CQE_F_MORE)) {
			u->inflight--;
			want_more = true;
		}
		if (!(c->flags & IORING_CQE_F_BUFFER)) {
			if (c->res < 0 && c->res != -ENOBUFS && c->res != -ECANCELED &&
			    c->res !=
				-ENETDOWN) { /* ENETDOWN: the device went down, a link event */
				q->st.rx_errors++;
				u->retry_tsc =
				    rte_get_tsc_cycles() + rte_get_tsc_hz() / 1000 * RETRY_MS;
				VN_LOG_RL(VN_LOG_WARN, "tap queue %u: read failed: %s", q->idx,
					  g_strerror(-c->res));
			}
			continue;
		}
		bid = (uint16_t)(c->flags >> IORING_CQE_BUFFER_SHIFT);
		m = u->bufs[bid % URX_RING];
		flen = rx_parse(q, u, m, c->res, &meta[out], &tpid, &tci);
		if (flen < 0 || used == nrep) {
			if (flen >= 0)
				q->st.rx_nombuf++;
			br_add(u, m, bid, (int)added++); /* the same buffer goes back */
			continue;
		}
		u->bufs[bid % URX_RING] = rep[used];
		br_add(u, rep[used++], bid, (int)added++);
		m->data_off = u->frame_off;
		m->data_len = (uint16_t)flen;
		m->pkt_len = (uint32_t)flen;
		if (tpid && vn_tq_vlan_reinsert(m, tpid, tci, &meta[out]) < 0) {
			rte_pktmbuf_free(m);
			q->st.rx_errors++;
			continue;
		}
		pkts[out++] = m;
	}
	io_uring_cq_advance(&u->rx, cnt);
	if (added)
		io_uring_buf_ring_advance(u->br, (int)added);
	if (used < nrep)
		rte_pktmbuf_free_bulk(rep + used, nrep - used);
	if (want_more && rte_get_tsc_cycles() >= u->retry_tsc)
		rx_arm(q, u);
	q->st.rx_frames += out;
	return out;
}

/* ---- tx ---- */

static void tx_reap(struct tq *q, struct uq *u)
{
	struct io_uring_cqe *cqes[UTX_SLOTS];
	struct rte_mbuf *done[UTX_SLOTS];
	unsigned cnt = io_uring_peek_batch_cqe(&u->tx, cqes, UTX_SLOTS), nd = 0;

	for (unsigned i = 0; i < cnt; i++) {
		uint64_t sl = io_uring_cqe_get_data64(cqes[i]);
		if (sl >= UTX_SLOTS)
			continue; /* a cancellation */
		if (cqes[i]->res < 0) {
			q->st.tx_errors++;
			VN_LOG_RL(VN_LOG_WARN, "tap queue %u: write failed: %s", q->idx,
				  g_strerror(-cqes[i]->res));
		} else {
			q->st.tx_frames++;
		}
		done[nd++] = u->slot[sl].m;
		u->slot[sl].m = NULL;
		u->free[u->nfree++] = (uint16_t)sl;
		u->txinflight--;
	}
	io_uring_cq_advance(&u->tx, cnt);
	if (nd)
		rte_pktmbuf_free_bulk(done, nd);
}

static uint16_t utx(struct tq *q, struct rte_mbuf **pkts, uint16_t n)
{
	struct uq *u = q->priv;
	uint16_t i, queued = 0;

	if (u->txinflight)
		tx_reap(q, u);
	for (i = 0; i < n && u->nfree; i++) {
		struct rte_mbuf *m = pkts[i];
		struct io_uring_sqe *sqe;
		struct utx_slot *s;
		uint16_t sl;
		unsigned j = 1;

		if (unlikely(m->nb_segs > UTX_MAXIOV - 1)) {
			rte_pktmbuf_free(m); /* taken and dropped: too many segments */
			q->st.tx_errors++;
			continue;
		}
		sqe = io_uring_get_sqe(&u->tx);
		if (!sqe)
			break;
		sl = u->free[--u->nfree];
		s = &u->slot[sl];
		s->m = m;
		s->iov[0].iov_base = (void *)zero_hdr;
		s->iov[0].iov_len = sizeof(zero_hdr);
		if (unlikely(m->ol_flags & VN_TX_OFFLOAD_FLAGS)) {
			vn_vnet_hdr_from_mbuf(m, s->hdr);
			s->iov[0].iov_base = s->hdr;
		}
		for (struct rte_mbuf *seg = m; seg; seg = seg->next, j++) {
			s->iov[j].iov_base = rte_pktmbuf_mtod(seg, void *);
			s->iov[j].iov_len = seg->data_len;
		}
		if (q->packet) {
			s->msg.msg_iov = s->iov;
			s->msg.msg_iovlen = j;
			io_uring_prep_sendmsg(sqe, q->fd, &s->msg, 0);
		} else {
			io_uring_prep_writev(sqe, q->fd, s->iov, j, 0);
		}
		io_uring_sqe_set_data64(sqe, sl);
		u->txinflight++;
		queued++;
	}
	if (queued) {
		io_uring_submit(&u->tx); /* tun and packet writes complete inline, mostly */
		q->st.tx_syscalls++;
		tx_reap(q, u);
	}
	return i;
}

/* ---- life cycle ---- */

/* Cancel everything on @ring and wait (up to 2 s) until @pending drops to 0. */
static bool drain(struct io_uring *ring, uint16_t *pending, struct tq *q, struct uq *u, bool rx)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	gint64 deadline = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;

	if (*pending == 0)
		return true;
	if (sqe) {
		io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
		io_uring_sqe_set_data64(sqe, UD_CANCEL);
		io_uring_submit(ring);
	}
	while (*pending && g_get_monotonic_time() < deadline) {
		struct __kernel_timespec ts = {.tv_nsec = 50 * 1000 * 1000};
		struct io_uring_cqe *c;
		if (io_uring_wait_cqe_timeout(ring, &c, &ts) != 0)
			continue;
		if (rx) {
			if (io_uring_cqe_get_data64(c) == UD_RX && !(c->flags & IORING_CQE_F_MORE))
				u->inflight--;
			io_uring_cqe_seen(ring, c);
		} else {
			tx_reap(q, u);
			if (io_uring_cq_ready(ring)) /* a cancellation result */
				io_uring_cq_advance(ring, io_uring_cq_ready(ring));
		}
	}
	return *pending == 0;
}

static void uclose(struct tq *q)
{
	struct uq *u = q->priv;
	bool rx_idle = true;

	if (!u)
		return;
	if (u->rx_ok)
		rx_idle = drain(&u->rx, &u->inflight, q, u, true);
	if (u->efd >= 0) {
		if (u->rx_ok)
			io_uring_unregister_eventfd(&u->rx);
		close(u->efd);
		u->efd = -1;
	}
	if (u->tx_ok) {
		if (u->txinflight)
			tx_reap(q, u);
		if (!drain(&u->tx, &u->txinflight, q, u, false))
			VN_WARN("tap queue %u: %u writes did not finish; their buffers are leaked",
				q->idx, u->txinflight);
		else
			io_uring_queue_exit(&u->tx);
	}
	if (!rx_idle) {
		/* the kernel may still write into the buffers: never give them back */
		VN_WARN("tap queue %u: reads could not be cancelled; buffers are leaked", q->idx);
	} else {
		if (u->br_ok)
			io_uring_unregister_buf_ring(&u->rx, BGID);
		if (u->rx_ok)
			io_uring_queue_exit(&u->rx);
		for (unsigned i = 0; i < URX_RING; i++)
			rte_pktmbuf_free(u->bufs[i]);
		free(u->br);
		rte_free(u);
	}
	q->priv = NULL;
}

static int uopen(struct tq *q, GError **err)
{
	struct io_uring_params p = {.flags = IORING_SETUP_CQSIZE, .cq_entries = URX_CQ};
	struct io_uring_buf_reg reg = {.ring_entries = URX_RING, .bgid = BGID};
	struct uq *u = rte_zmalloc("vn_tapq", sizeof(*u), RTE_CACHE_LINE_SIZE);
	int rc, fl;

	if (!u) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "out of memory");
		return -ENOMEM;
	}
	q->priv = u;
	u->efd = -1;
	/* io_uring waits for readiness itself; a non-blocking fd would make it return EAGAIN */
	fl = fcntl(q->fd, F_GETFL);
	if (fl >= 0 && (fl & O_NONBLOCK))
		fcntl(q->fd, F_SETFL, fl & ~O_NONBLOCK);
	rc = io_uring_queue_init_params(URX_POSTED * 2, &u->rx, &p);
	if (rc < 0)
		goto fail;
	u->rx_ok = true;
	u->br_bytes = URX_RING * sizeof(struct io_uring_buf);
	if (posix_memalign((void **)&u->br, 4096, u->br_bytes) != 0) {
		rc = -ENOMEM;
		goto fail;
	}
	io_uring_buf_ring_init(u->br);
	reg.ring_addr = (uintptr_t)u->br;
	rc = io_uring_register_buf_ring(&u->rx, &reg, 0);
	if (rc < 0)
		goto fail;
	u->br_ok = true;
	if (rte_pktmbuf_alloc_bulk(q->rxmp, u->bufs, URX_RING) != 0) {
		memset(u->bufs, 0, sizeof(u->bufs));
		rc = -ENOBUFS;
		goto fail;
	}
	u->prefix = VN_VNET_HDR_LEN;
	u->frame_off = RTE_PKTMBUF_HEADROOM;
	if (q->packet) {
		/*
		 * io_uring_recvmsg_out, the address, the control messages, the virtio-net
		 * header, the frame: the frame 2 bytes past the headroom puts the rest on 8-byte
		 * boundaries (and the IP header on a 16-byte one)
		 */
		u->rmsg.msg_namelen = PKT_NAME;
		u->rmsg.msg_controllen = PKT_CMSG;
		u->prefix += sizeof(struct io_uring_recvmsg_out) + PKT_NAME + PKT_CMSG;
		u->frame_off = RTE_PKTMBUF_HEADROOM + 2;
	}
	u->buflen = u->bufs[0]->buf_len - u->frame_off + u->prefix;
	for (unsigned i = 0; i < URX_RING; i++)
		br_add(u, u->bufs[i], (uint16_t)i, (int)i);
	io_uring_buf_ring_advance(u->br, URX_RING);
	u->multishot = q->packet || probe.mshot_read;
	/* idle workers sleep on this; it only fires while armed (IORING_CQ_EVENTFD_DISABLED) */
	u->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (u->efd >= 0 && (io_uring_register_eventfd(&u->rx, u->efd) < 0 ||
			    io_uring_cq_eventfd_toggle(&u->rx, false) < 0)) {
		io_uring_unregister_eventfd(&u->rx);
		close(u->efd);
		u->efd = -1;
	}

	p = (struct io_uring_params){.flags = IORING_SETUP_CQSIZE, .cq_entries = UTX_SLOTS * 2};
	rc = io_uring_queue_init_params(UTX_SLOTS, &u->tx, &p);
	if (rc < 0)
		goto fail;
	u->tx_ok = true;
	for (uint16_t i = 0; i < UTX_SLOTS; i++)
		u->free[u->nfree++] = i;
	/* reads are posted by the polling worker on its first rx: task work then runs there */
	return 0;
fail:
	g_set_error(err, G_IO_ERROR, g_io_error_from_errno(-rc), "io_uring set-up of queue %u: %s",
		    q->idx, g_strerror(-rc));
	uclose(q);
	return rc;
}

static int uintr(struct tq *q, bool enable)
{
	struct uq *u = q->priv;

	if (u->efd < 0)
		return -EOPNOTSUPP;
	if (io_uring_cq_eventfd_toggle(&u->rx, enable) < 0)
		return -EIO;
	return enable ? u->efd : 0;
}

static const char *umode(const struct tq *q)
{
	const struct uq *u = q->priv;

	if (q->packet)
		return "io_uring multishot recvmsg, batched sendmsg";
	return u && u->multishot ? "io_uring multishot read, batched writev"
				 : "io_uring posted reads, batched writev";
}

const struct tq_engine vn_tq_uring = {
    .name = "io_uring",
    .open = uopen,
    .rx = urx,
    .tx = utx,
    .close = uclose,
    .intr = uintr,
    .mode = umode,
};

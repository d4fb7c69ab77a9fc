/* SPDX-License-Identifier: MIT */
/* Queue engine without io_uring: readv/writev on TAP fds, recvmmsg/sendmmsg on sockets. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <rte_branch_prediction.h>
#include <rte_malloc.h>

#include "tapio.h"
#include "vnicd/log.h"
#include "vnicd/port.h"

#define FB_MAXIOV 40 /* the header and 39 segments (a guest's 64 KiB GSO frame) */
#define PKT_CMSG CMSG_SPACE(sizeof(struct tpacket_auxdata))

static const uint8_t zero_hdr[VN_VNET_HDR_LEN];

struct fq {
	struct rte_mbuf *stash[VN_BURST]; /* empty buffers for the next reads */
	uint16_t nstash;
	struct mmsghdr msgs[VN_BURST];
	struct iovec iov[VN_BURST][FB_MAXIOV];
	uint8_t hdr[VN_BURST][VN_VNET_HDR_LEN]; /* of frames with pending offloads */
	uint8_t ctl[VN_BURST][PKT_CMSG] __attribute__((aligned(8)));
	struct sockaddr_ll name[VN_BURST];
};

static inline uint8_t *base_of(struct rte_mbuf *m)
{
	return (uint8_t *)m->buf_addr + RTE_PKTMBUF_HEADROOM - VN_VNET_HDR_LEN;
}

static inline uint32_t buflen_of(const struct rte_mbuf *m)
{
	return m->buf_len - RTE_PKTMBUF_HEADROOM + VN_VNET_HDR_LEN;
}

static bool refill(struct tq *q, struct fq *f, uint16_t want)
{
	if (f->nstash >= want)
		return true;
	if (rte_pktmbuf_alloc_bulk(q->rxmp, f->stash + f->nstash, VN_BURST - f->nstash) == 0)
		f->nstash = VN_BURST;
	return f->nstash > 0;
}

static void take(struct rte_mbuf *m, uint32_t flen)
{
	m->data_off = RTE_PKTMBUF_HEADROOM;
	m->data_len = (uint16_t)flen;
	m->pkt_len = flen;
}

/* TAP queue fd: one readv per frame until the queue is empty. */
static uint16_t frx_tun(struct tq *q, struct fq *f, struct rte_mbuf **pkts,
			struct vn_vnet_meta *meta, uint16_t n)
{
	uint16_t out = 0;

	while (out < n) {
		struct rte_mbuf *m;
		struct iovec iov;
		ssize_t r;

		if (!f->nstash && !refill(q, f, 1)) {
			q->st.rx_nombuf++;
			break;
		}
		m = f->stash[f->nstash - 1];
		iov.iov_base = base_of(m);
		iov.iov_len = buflen_of(m);
		r = readv(q->fd, &iov, 1);
		q->st.rx_syscalls++;
		if (r < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				q->st.rx_errors++;
				VN_LOG_RL(VN_LOG_WARN, "tap queue %u: read failed: %s", q->idx,
					  g_strerror(errno));
			}
			break;
		}
		if ((size_t)r > iov.iov_len) {
			q->st.rx_truncated++;
			continue;
		}
		if (r < VN_VNET_HDR_LEN + RTE_ETHER_HDR_LEN) {
			q->st.rx_errors++;
			continue;
		}
		f->nstash--;
		vn_vnet_meta_decode(iov.iov_base, &meta[out]);
		take(m, (uint32_t)r - VN_VNET_HDR_LEN);
		pkts[out++] = m;
	}
	q->st.rx_frames += out;
	return out;
}

/* Packet socket: one recvmmsg for the whole burst. */
static uint16_t frx_pkt(struct tq *q, struct fq *f, struct rte_mbuf **pkts,
			struct vn_vnet_meta *meta, uint16_t n)
{
	uint16_t out = 0, k, keep = 0;
	int r;

	if (!refill(q, f, n)) {
		q->st.rx_nombuf++;
		return 0;
	}
	k = n < f->nstash ? n : f->nstash;
	for (uint16_t i = 0; i < k; i++) {
		struct msghdr *h = &f->msgs[i].msg_hdr;
		memset(h, 0, sizeof(*h));
		f->iov[i][0].iov_base = base_of(f->stash[i]);
		f->iov[i][0].iov_len = buflen_of(f->stash[i]);
		h->msg_iov = f->iov[i];
		h->msg_iovlen = 1;
		h->msg_control = f->ctl[i];
		h->msg_controllen = PKT_CMSG;
		h->msg_name = &f->name[i];
		h->msg_namelen = sizeof(f->name[i]);
	}
	r = recvmmsg(q->fd, f->msgs, k, MSG_DONTWAIT | MSG_TRUNC, NULL);
	q->st.rx_syscalls++;
	if (r <= 0) {
		if (r < 0 && errno != EAGAIN && errno != EINTR && errno != ENETDOWN) {
			q->st.rx_errors++;
			VN_LOG_RL(VN_LOG_WARN, "vnet queue %u: recvmmsg failed: %s", q->idx,
				  g_strerror(errno));
		}
		return 0;
	}
	for (uint16_t i = 0; i < (uint16_t)r; i++) {
		struct msghdr *h = &f->msgs[i].msg_hdr;
		struct rte_mbuf *m = f->stash[i];
		uint32_t len = f->msgs[i].msg_len;
		uint16_t tci = 0, tpid = 0;

		if ((h->msg_flags & MSG_TRUNC) || len > buflen_of(m)) {
			q->st.rx_truncated++;
			f->stash[keep++] = m;
			continue;
		}
		if (len < VN_VNET_HDR_LEN + RTE_ETHER_HDR_LEN) {
			q->st.rx_errors++;
			f->stash[keep++] = m;
			continue;
		}
		if (f->name[i].sll_pkttype == PACKET_OUTGOING &&
		    !q->outgoing) { /* the host's own traffic */
			f->stash[keep++] = m;
			continue;
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
			struct tpacket_auxdata aux;
			if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA ||
			    c->cmsg_len < CMSG_LEN(sizeof(aux)))
				continue;
			memcpy(&aux, CMSG_DATA(c), sizeof(aux));
			if (aux.tp_status & TP_STATUS_VLAN_VALID) {
				tci = aux.tp_vlan_tci;
				tpid = (aux.tp_status & TP_STATUS_VLAN_TPID_VALID)
					   ? aux.tp_vlan_tpid
					   : RTE_ETHER_TYPE_VLAN;
			}
		}
		vn_vnet_meta_decode(base_of(m), &meta[out]);
		take(m, len - VN_VNET_HDR_LEN);
		if (tpid && vn_tq_vlan_reinsert(m, tpid, tci, &meta[out]) < 0) {
			rte_pktmbuf_free(m);
			q->st.rx_errors++;
			continue;
		}
		pkts[out++] = m;
	}
	/* buffers not consumed stay in the stash, after the reused ones */
	memmove(f->stash + keep, f->stash + r, (size_t)(f->nstash - r) * sizeof(f->stash[0]));
	f->nstash = (uint16_t)(keep + f->nstash - r);
	q->st.rx_frames += out;
	return out;
}

static uint16_t frx(struct tq *q, struct rte_mbuf **pkts, struct vn_vnet_meta *meta, uint16_t n)
{
	struct fq *f = q->priv;

	if (n > VN_BURST)
		n = VN_BURST;
	return q->packet ? frx_pkt(q, f, pkts, meta, n) : frx_tun(q, f, pkts, meta, n);
}

/* @hdr: room for the virtio-net header of a frame with pending offloads */
static unsigned fill_iov(struct iovec *iov, struct rte_mbuf *m, uint8_t *hdr)
{
	unsigned j = 1;

	iov[0].iov_base = (void *)zero_hdr;
	iov[0].iov_len = sizeof(zero_hdr);
	if (unlikely(m->ol_flags & VN_TX_OFFLOAD_FLAGS)) {
		vn_vnet_hdr_from_mbuf(m, hdr);
		iov[0].iov_base = hdr;
	}
	for (struct rte_mbuf *s = m; s; s = s->next, j++) {
		iov[j].iov_base = rte_pktmbuf_mtod(s, void *);
		iov[j].iov_len = s->data_len;
	}
	return j;
}

static uint16_t ftx(struct tq *q, struct rte_mbuf **pkts, uint16_t n)
{
	struct fq *f = q->priv;
	uint16_t i = 0;

	if (!q->packet) {
		for (; i < n; i++) {
			struct iovec iov[FB_MAXIOV];
			uint8_t hdr[VN_VNET_HDR_LEN];
			ssize_t r;

			if (unlikely(pkts[i]->nb_segs > FB_MAXIOV - 1)) {
				q->st.tx_errors++;
				rte_pktmbuf_free(pkts[i]);
				continue;
			}
			r = writev(q->fd, iov, (int)fill_iov(iov, pkts[i], hdr));
			q->st.tx_syscalls++;
			if (r < 0 && errno == EAGAIN)
				break;
			if (r < 0) {
				q->st.tx_errors++;
				VN_LOG_RL(VN_LOG_WARN, "tap queue %u: write failed: %s", q->idx,
					  g_strerror(errno));
			} else {
				q->st.tx_frames++;
			}
			rte_pktmbuf_free(pkts[i]);
		}
		return i;
	}
	while (i < n) {
		uint16_t k = (uint16_t)(n - i > VN_BURST ? VN_BURST : n - i), built = 0;
		int r;

		for (uint16_t j = 0; j < k; j++) {
			struct msghdr *h = &f->msgs[built].msg_hdr;
			if (unlikely(pkts[i + j]->nb_segs > FB_MAXIOV - 1))
				break;
			memset(h, 0, sizeof(*h));
			h->msg_iov = f->iov[built];
			h->msg_iovlen = fill_iov(f->iov[built], pkts[i + j], f->hdr[built]);
			built++;
		}
		if (built == 0) { /* too many segments: drop it */
			q->st.tx_errors++;
			rte_pktmbuf_free(pkts[i++]);
			continue;
		}
		r = sendmmsg(q->fd, f->msgs, built, MSG_DONTWAIT);
		q->st.tx_syscalls++;
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			/* the first frame was refused (too big, queue full...): drop it, go on */
			q->st.tx_errors++;
			VN_LOG_RL(VN_LOG_WARN, "vnet queue %u: send failed: %s", q->idx,
				  g_strerror(errno));
			rte_pktmbuf_free(pkts[i++]);
			continue;
		}
		rte_pktmbuf_free_bulk(pkts + i, (unsigned)r);
		q->st.tx_frames += (unsigned)r;
		i = (uint16_t)(i + r);
	}
	return i;
}

static void fclose_q(struct tq *q)
{
	struct fq *f = q->priv;

	if (!f)
		return;
	rte_pktmbuf_free_bulk(f->stash, f->nstash);
	rte_free(f);
	q->priv = NULL;
}

static int fopen_q(struct tq *q, GError **err)
{
	struct fq *f = rte_zmalloc("vn_tapq_fb", sizeof(*f), RTE_CACHE_LINE_SIZE);
	int fl = fcntl(q->fd, F_GETFL);

	if (!f || fl < 0 || fcntl(q->fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		rte_free(f);
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "queue %u set-up failed", q->idx);
		return -ENOMEM;
	}
	q->priv = f;
	return 0;
}

static const char *fmode(const struct tq *q)
{
	return q->packet ? "recvmmsg/sendmmsg" : "readv/writev";
}

const struct tq_engine vn_tq_fallback = {
    .name = "fallback",
    .open = fopen_q,
    .rx = frx,
    .tx = ftx,
    .close = fclose_q,
    .mode = fmode,
};

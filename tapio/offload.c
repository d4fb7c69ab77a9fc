/* SPDX-License-Identifier: MIT */
/* Completes frames that carry a virtio-net header: checksum fill-in, TCP/UDP segmentation. */
#include <errno.h>
#include <stddef.h>
#include <netinet/in.h>
#include <string.h>

#include <linux/virtio_net.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "vnicd/args.h"
#include "vnicd/cksum.h"
#include "vnicd/tap.h"

#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5 /* USO; missing from older uapi headers */
#endif

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

void vn_vnet_meta_decode(const void *hdr, struct vn_vnet_meta *meta)
{
	struct virtio_net_hdr h;

	memcpy(&h, hdr, sizeof(h));
	meta->flags = h.flags;
	meta->gso_type = h.gso_type;
	meta->gso_size = rte_le_to_cpu_16(h.gso_size);
	meta->csum_start = rte_le_to_cpu_16(h.csum_start);
	meta->csum_offset = rte_le_to_cpu_16(h.csum_offset);
}

/* L2 length (up to two VLAN tags) and the EtherType behind it, or -EINVAL. */
static int parse_l2(const uint8_t *p, uint32_t len, uint16_t *ethertype)
{
	uint32_t off = RTE_ETHER_HDR_LEN;
	uint16_t et;

	if (len < RTE_ETHER_HDR_LEN)
		return -EINVAL;
	memcpy(&et, p + 12, 2);
	et = rte_be_to_cpu_16(et);
	for (int tags = 0; (et == RTE_ETHER_TYPE_VLAN || et == RTE_ETHER_TYPE_QINQ) && tags < 2;
	     tags++) {
		if (len < off + 4)
			return -EINVAL;
		memcpy(&et, p + off + 2, 2);
		et = rte_be_to_cpu_16(et);
		off += 4;
	}
	*ethertype = et;
	return (int)off;
}

/* Fill in a partial checksum: sum [start, end), store ~sum at start + offset. */
static int csum_fill(struct rte_mbuf *m, uint16_t start, uint16_t offset)
{
	uint32_t len = rte_pktmbuf_pkt_len(m);
	int64_t sum;
	uint16_t c;

	/* the checksum field lies in the first buffer (the headers do) */
	if ((uint32_t)start + offset + 2 > rte_pktmbuf_data_len(m) || start >= len)
		return -EINVAL;
	sum = vn_cksum_mbuf(m, start, len - start); /* right at odd segment boundaries too */
	if (sum < 0)
		return -EINVAL;
	c = (uint16_t)~sum;
	if (c == 0 && offset == offsetof(struct rte_udp_hdr, dgram_cksum))
		c = 0xffff; /* UDP: 0 means "no checksum"; TCP keeps 0 (RFC 1624) */
	memcpy(rte_pktmbuf_mtod_offset(m, uint8_t *, start + offset), &c, 2);
	return 0;
}

/* Set the lengths and checksums of one complete frame (a segment or a small GSO frame). */
static void fix_headers(struct rte_mbuf *m, const struct vn_gso *g, bool first, bool last,
			uint32_t payload_off, uint16_t seg)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	uint32_t total = rte_pktmbuf_pkt_len(m);
	struct rte_ipv4_hdr *ip4 = (struct rte_ipv4_hdr *)(p + g->l3_off);
	struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(p + g->l3_off);
	uint16_t cs;

	if (g->v6) {
		ip6->payload_len = rte_cpu_to_be_16((uint16_t)(total - g->l3_off - sizeof(*ip6)));
	} else {
		ip4->total_length = rte_cpu_to_be_16((uint16_t)(total - g->l3_off));
		ip4->packet_id = rte_cpu_to_be_16((uint16_t)(g->id0 + seg));
		ip4->hdr_checksum = 0;
		ip4->hdr_checksum = rte_ipv4_cksum(ip4);
	}
	if (g->l4_proto == IPPROTO_TCP) {
		struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(p + g->l4_off);
		th->sent_seq = rte_cpu_to_be_32(g->seq0 + (payload_off - g->hdr_len));
		if (!last)
			th->tcp_flags &= (uint8_t) ~(TCP_FIN | TCP_PSH);
		if (!first)
			th->tcp_flags &= (uint8_t)~TCP_CWR;
		th->cksum = 0;
		cs = vn_l4_cksum_mbuf(m, g->v6 ? NULL : ip4, ip6, g->l4_off, false);
		th->cksum = cs;
	} else {
		struct rte_udp_hdr *uh = (struct rte_udp_hdr *)(p + g->l4_off);
		uh->dgram_len = rte_cpu_to_be_16((uint16_t)(total - g->l4_off));
		uh->dgram_cksum = 0;
		cs = vn_l4_cksum_mbuf(m, g->v6 ? NULL : ip4, ip6, g->l4_off, true);
		uh->dgram_cksum = cs;
	}
}

int vn_offload_prepare(struct rte_mbuf *m, const struct vn_vnet_meta *meta, struct vn_gso *g)
{
	uint8_t gso = meta->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	/* headers are read from the first buffer: @len bounds them, the frame may go on */
	uint32_t len = rte_pktmbuf_data_len(m);
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	uint16_t et;
	int l2;

	if (gso == VIRTIO_NET_HDR_GSO_NONE) {
		if (!(meta->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
			return VN_OFFLOAD_DONE;
		return csum_fill(m, meta->csum_start, meta->csum_offset) < 0 ? -EINVAL
									     : VN_OFFLOAD_DONE;
	}
	if (gso != VIRTIO_NET_HDR_GSO_TCPV4 && gso != VIRTIO_NET_HDR_GSO_TCPV6 &&
	    gso != VIRTIO_NET_HDR_GSO_UDP_L4)
		return -ENOTSUP; /* UFO (IP fragmentation) is not offered */
	if (meta->gso_size < VN_GSO_MIN_MSS)
		return -EINVAL;
	l2 = parse_l2(p, len, &et);
	if (l2 < 0)
		return -EINVAL;
	memset(g, 0, sizeof(*g));
	g->src = m;
	g->cur = m;
	g->end = rte_pktmbuf_pkt_len(m);
	g->mss = meta->gso_size;
	g->l3_off = (uint16_t)l2;
	if (et == RTE_ETHER_TYPE_IPV4) {
		const struct rte_ipv4_hdr *ip = (const void *)(p + l2);
		uint32_t ihl;
		if (len < (uint32_t)l2 + sizeof(*ip) || (ip->version_ihl >> 4) != 4)
			return -EINVAL;
		ihl = (ip->version_ihl & 0xf) * 4u;
		if (ihl < sizeof(*ip) || len < l2 + ihl)
			return -EINVAL;
		if (rte_be_to_cpu_16(ip->fragment_offset) &
		    (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))
			return -EINVAL;
		g->l4_proto = ip->next_proto_id;
		g->id0 = rte_be_to_cpu_16(ip->packet_id);
		g->l4_off = (uint16_t)(l2 + ihl);
		if (gso == VIRTIO_NET_HDR_GSO_TCPV6)
			return -EINVAL;
	} else if (et == RTE_ETHER_TYPE_IPV6) {
		const struct rte_ipv6_hdr *ip = (const void *)(p + l2);
		if (len < (uint32_t)l2 + sizeof(*ip) || (p[l2] >> 4) != 6)
			return -EINVAL;
		g->v6 = true;
		g->l4_proto = ip->proto; /* extension headers are not followed */
		g->l4_off = (uint16_t)(l2 + sizeof(*ip));
		if (gso == VIRTIO_NET_HDR_GSO_TCPV4)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (gso == VIRTIO_NET_HDR_GSO_UDP_L4) {
		if (g->l4_proto != IPPROTO_UDP ||
		    len < (uint32_t)g->l4_off + sizeof(struct rte_udp_hdr))
			return -EINVAL;
		g->hdr_len = (uint16_t)(g->l4_off + sizeof(struct rte_udp_hdr));
	} else {
		const struct rte_tcp_hdr *th = (const void *)(p + g->l4_off);
		uint32_t thl;
		if (g->l4_proto != IPPROTO_TCP || len < (uint32_t)g->l4_off + sizeof(*th))
			return -EINVAL;
		thl = (th->data_off >> 4) * 4u;
		if (thl < sizeof(*th) || len < g->l4_off + thl)
			return -EINVAL;
		g->hdr_len = (uint16_t)(g->l4_off + thl);
		g->seq0 = rte_be_to_cpu_32(th->sent_seq);
	}
	len = g->end;
	if (len <= g->hdr_len)
		return -EINVAL;
	g->off = g->hdr_len;
	if (len - g->hdr_len <= g->mss) {
		/* one segment: complete it in place */
		fix_headers(m, g, true, true, g->hdr_len, 0);
		g->off = g->end;
		return VN_OFFLOAD_DONE;
	}
	return VN_OFFLOAD_SEGMENT;
}

/* Append @len bytes at @src to the chain @head whose last buffer is *@tail. */
static int append(struct rte_mbuf *head, struct rte_mbuf **tail, const uint8_t *src, uint32_t len,
		  struct rte_mempool *mp)
{
	while (len) {
		struct rte_mbuf *t = *tail;
		uint32_t room = rte_pktmbuf_tailroom(t), c;

		if (room == 0) {
			struct rte_mbuf *nm = rte_pktmbuf_alloc(mp);
			if (!nm)
				return -ENOMEM;
			t->next = nm;
			head->nb_segs++;
			*tail = t = nm;
			room = rte_pktmbuf_tailroom(t);
		}
		c = len < room ? len : room;
		memcpy(rte_pktmbuf_mtod_offset(t, uint8_t *, t->data_len), src, c);
		t->data_len = (uint16_t)(t->data_len + c);
		head->pkt_len += c;
		src += c;
		len -= c;
	}
	return 0;
}

/* Append the @len source bytes from frame offset @off (past g->cur's start) to @head. */
static int append_src(struct vn_gso *g, uint32_t off, uint32_t len, struct rte_mbuf *head,
		      struct rte_mbuf **tail, struct rte_mempool *mp)
{
	while (len) {
		uint32_t in, c;

		while (off >= g->cur_off + g->cur->data_len) {
			if (!g->cur->next)
				return -EINVAL; /* pkt_len promised more than the chain holds */
			g->cur_off += g->cur->data_len;
			g->cur = g->cur->next;
		}
		in = off - g->cur_off;
		c = RTE_MIN(len, (uint32_t)g->cur->data_len - in);
		if (append(head, tail, rte_pktmbuf_mtod_offset(g->cur, const uint8_t *, in), c,
			   mp) < 0)
			return -ENOMEM;
		off += c;
		len -= c;
	}
	return 0;
}

int vn_gso_next(struct vn_gso *g, struct rte_mempool *mp, struct rte_mbuf **out, uint16_t n)
{
	const uint8_t *src = rte_pktmbuf_mtod(g->src, const uint8_t *);
	uint16_t done = 0;

	while (done < n && g->off < g->end) {
		uint32_t pl = g->end - g->off < g->mss ? g->end - g->off : g->mss;
		struct rte_mbuf *m = rte_pktmbuf_alloc(mp), *tail = m;

		if (!m)
			return done ? done : -ENOMEM;
		if (rte_pktmbuf_tailroom(m) < g->hdr_len ||
		    append(m, &tail, src, g->hdr_len, mp) < 0 ||
		    append_src(g, g->off, pl, m, &tail, mp) < 0) {
			rte_pktmbuf_free(m);
			return done ? done : -ENOMEM;
		}
		fix_headers(m, g, g->seg == 0, g->off + pl == g->end, g->off, g->seg);
		g->off += pl;
		g->seg++;
		out[done++] = m;
	}
	return done;
}

/* ---- a queue of frames with offload requests ---- */

/* Hand over the next segments of the GSO frame in progress. */
static uint16_t offq_cut(struct vn_offq *q, struct rte_mempool *segmp, struct rte_mbuf **pkts,
			 uint16_t n)
{
	int k = vn_gso_next(&q->gso, segmp, pkts, n);

	if (k < 0) {
		q->gso_nomem++; /* the rest of this frame is lost */
		q->gso.off = q->gso.end;
		k = 0;
	}
	q->gso_segments += (unsigned)k;
	if (vn_gso_done(&q->gso)) {
		rte_pktmbuf_free(q->gso.src);
		q->in_gso = false;
	}
	return (uint16_t)k;
}

uint16_t vn_offq_rx(struct vn_offq *q, vn_offq_fill_fn fill, void *ctx, struct rte_mempool *segmp,
		    struct rte_mbuf **pkts, uint16_t n, bool pass)
{
	uint16_t out = 0;

	while (out < n) {
		struct rte_mbuf *m;
		int rc;

		if (q->in_gso) {
			out = (uint16_t)(out + offq_cut(q, segmp, pkts + out, (uint16_t)(n - out)));
			continue;
		}
		if (q->fcount == 0) {
			q->fcount = fill(ctx, q->fifo, q->fmeta, VN_BURST);
			q->fhead = 0;
			if (q->fcount == 0)
				break;
		}
		m = q->fifo[q->fhead];
		if (pass && vn_offload_mark(m, &q->fmeta[q->fhead]) == 0) {
			q->passed += m->ol_flags != 0;
			q->fhead++;
			q->fcount--;
			pkts[out++] = m;
			continue;
		}
		rc = vn_offload_prepare(m, &q->fmeta[q->fhead], &q->gso);
		if (q->fmeta[q->fhead].flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
			q->csum_filled++;
		q->fhead++;
		q->fcount--;
		if (rc == VN_OFFLOAD_DONE) {
			pkts[out++] = m;
		} else if (rc == VN_OFFLOAD_SEGMENT) {
			q->in_gso = true;
			q->gso_frames++;
		} else {
			q->bad_offload++;
			rte_pktmbuf_free(m);
		}
	}
	return out;
}

void vn_offq_reset(struct vn_offq *q)
{
	if (q->in_gso)
		rte_pktmbuf_free(q->gso.src);
	q->in_gso = false;
	for (uint16_t k = 0; k < q->fcount; k++)
		rte_pktmbuf_free(q->fifo[q->fhead + k]);
	q->fcount = 0;
}

void vn_offq_stats_add(struct vn_offq_stats *acc, const struct vn_offq *q)
{
	acc->bad_offload += q->bad_offload;
	acc->gso_frames += q->gso_frames;
	acc->gso_segments += q->gso_segments;
	acc->csum_filled += q->csum_filled;
	acc->gso_nomem += q->gso_nomem;
	acc->passed += q->passed;
}

void vn_offq_stats_json(JsonBuilder *b, const struct vn_offq_stats *st)
{
	vn_json_int(b, "rx_bad_offload", (gint64)st->bad_offload);
	vn_json_int(b, "rx_gso_frames", (gint64)st->gso_frames);
	vn_json_int(b, "rx_gso_segments", (gint64)st->gso_segments);
	vn_json_int(b, "rx_gso_nomem", (gint64)st->gso_nomem);
	vn_json_int(b, "rx_csum_filled", (gint64)st->csum_filled);
}

/* ---- flow hash ---- */

static inline uint32_t mix32(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x7feb352d;
	h ^= h >> 15;
	h *= 0x846ca68b;
	h ^= h >> 16;
	return h;
}

uint32_t vn_flow_hash(const struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t len = rte_pktmbuf_data_len(m), h = 0, a, b;
	uint16_t et, ports[2] = {0, 0};
	uint8_t proto = 0;
	int l2 = parse_l2(p, len, &et);
	uint32_t l4 = 0;

	if (l2 < 0)
		return 0;
	if (et == RTE_ETHER_TYPE_IPV4 && len >= (uint32_t)l2 + 20) {
		const struct rte_ipv4_hdr *ip = (const void *)(p + l2);
		memcpy(&a, &ip->src_addr, 4);
		memcpy(&b, &ip->dst_addr, 4);
		h = a ^ b;
		proto = ip->next_proto_id;
		if (!(rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_OFFSET_MASK))
			l4 = l2 + (ip->version_ihl & 0xf) * 4u;
	} else if (et == RTE_ETHER_TYPE_IPV6 && len >= (uint32_t)l2 + 40) {
		const struct rte_ipv6_hdr *ip = (const void *)(p + l2);
		for (int i = 0; i < 16; i += 4) {
			memcpy(&a, &ip->src_addr[i], 4);
			memcpy(&b, &ip->dst_addr[i], 4);
			h ^= a ^ b;
		}
		proto = ip->proto;
		l4 = l2 + 40;
	} else {
		for (int i = 0; i < 6; i += 2)
			h ^= (uint32_t)(p[i] ^ p[6 + i]) << 8 | (uint32_t)(p[i + 1] ^ p[7 + i]);
		return mix32(h ^ et);
	}
	if (l4 && (proto == IPPROTO_TCP || proto == IPPROTO_UDP) && len >= l4 + 4)
		memcpy(ports, p + l4, 4);
	return mix32(h ^ proto ^ (uint32_t)(ports[0] ^ ports[1]));
}

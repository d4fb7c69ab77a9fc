/* SPDX-License-Identifier: MIT */
/*
 * TAP-side contract: the virtio-net header that comes with every frame read from a TAP
 * device (or an AF_PACKET socket with PACKET_VNET_HDR), and its completion in software
 * (checksum fill-in, TCP/UDP segmentation) before a frame enters the switch. Used by the
 * "tap" and "vnet" port kinds (tapio/), by vhost-user ports for their guests' offload
 * requests (vhost/, the metadata read off the mbuf's flags) and by the unit tests.
 *
 * Frames the switch receives are complete, so every destination port (vhost-user, TAP,
 * ...) can send them as they are; the one exception is a network whose ports all take
 * pending offloads (vhost-user, tap and vnet ports, no VLAN policy: vn_port.offl_pass), where
 * a guest's or a kernel's offload requests cross as mbuf tx flags (vn_offload_mark(),
 * vn_vhost_offload_mark()): a TAP destination writes them into its virtio-net header
 * (vn_vnet_hdr_from_mbuf()), a vhost-user one gives them to a guest that takes them or
 * completes the frame.
 * A GSO frame is cut into MSS-sized segments whose IPv4 header, TCP and UDP checksums are
 * computed from scratch; a frame that only needs its checksum gets it filled in at
 * csum_start + csum_offset.
 */
#ifndef VNICD_TAP_H
#define VNICD_TAP_H

#include <stdbool.h>
#include <stdint.h>

#include <json-glib/json-glib.h>
#include <rte_mbuf.h>

#include "vnicd/port.h"

#define VN_VNET_HDR_LEN 10 /* sizeof(struct virtio_net_hdr): what tun and AF_PACKET use here */
#define VN_GSO_MIN_MSS 8   /* smaller gso_size values are refused as malformed */

/* mbuf tx flags of a frame with pending offloads (a partial checksum, TCP segmentation) */
#define VN_TX_OFFLOAD_FLAGS (RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG)

/**
 * struct vn_vnet_meta - what the kernel said about one frame (virtio_net_hdr, decoded to
 * host order) plus a VLAN tag that an AF_PACKET socket reported out of band.
 */
struct vn_vnet_meta {
	uint8_t flags;	      /* VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_F_DATA_VALID */
	uint8_t gso_type;     /* VIRTIO_NET_HDR_GSO_* including the ECN bit */
	uint16_t gso_size;    /* MSS of a GSO frame */
	uint16_t csum_start;  /* NEEDS_CSUM: checksum the bytes from here to the end ... */
	uint16_t csum_offset; /* ... and store it at csum_start + csum_offset */
};

/**
 * vn_vnet_meta_decode() - decode the little-endian virtio_net_hdr at @hdr (10 bytes,
 * any alignment) into @meta.
 */
void vn_vnet_meta_decode(const void *hdr, struct vn_vnet_meta *meta);

/*
 * Ports that may hand over frames with offload requests (vhost-user guests that negotiated
 * them, tap and vnet ports), atomic: while there are none no frame in the switch has pending
 * offloads and vhost-user transmit need not look.
 */
extern uint32_t vn_offl_sources;

/**
 * vn_offload_mark() - carry the request @meta of frame @m (its headers in the first buffer)
 * as mbuf tx flags with l2/l3/l4 lengths and tso_segsz, the frame left as it is. Thread: any
 * (touches only @m). Return: 0 (also when @meta asks for nothing), or -ENOTSUP when the
 * request is not one passed on (USO, ECN, offsets that are not the frame's TCP or UDP
 * checksum, a GSO frame without one): the caller completes the frame instead.
 */
int vn_offload_mark(struct rte_mbuf *m, const struct vn_vnet_meta *meta);

/**
 * vn_vnet_hdr_from_mbuf() - the virtio-net header (VN_VNET_HDR_LEN bytes, little-endian) at
 * @hdr for frame @m: its pending offloads (tx flags) as a partial checksum and a TCP GSO
 * request, all zeros when it has none. The frame's checksum field is left as the sender
 * seeded it. Thread: any.
 */
void vn_vnet_hdr_from_mbuf(const struct rte_mbuf *m, void *hdr);

/**
 * struct vn_gso - a GSO frame being cut into segments; owned by whoever called
 * vn_offload_prepare() until vn_gso_done(), then the caller frees @src.
 */
struct vn_gso {
	struct rte_mbuf *src;	    /* the whole frame, its headers in the first buffer */
	const struct rte_mbuf *cur; /* the buffer of src holding byte @off ... */
	uint32_t cur_off;	    /* ... which starts at this frame offset */
	uint32_t off;		    /* next payload byte to emit */
	uint32_t end;		    /* frame length */
	uint16_t l3_off, l4_off, hdr_len;
	uint16_t mss;
	uint16_t seg;	  /* index of the next segment */
	uint8_t l4_proto; /* IPPROTO_TCP or IPPROTO_UDP */
	bool v6;
	uint32_t seq0; /* TCP sequence number of the first payload byte */
	uint16_t id0;  /* IPv4 identification of the first segment */
};

enum vn_offload_result {
	VN_OFFLOAD_DONE = 0,	/* the frame is complete (possibly after a fill-in) */
	VN_OFFLOAD_SEGMENT = 1, /* the frame must be cut with vn_gso_next() */
};

/**
 * vn_offload_prepare() - make frame @m, received with metadata @meta, complete: fill in a
 * partial checksum in place, or set up @g to cut a GSO frame (a GSO frame whose payload
 * fits one segment is completed in place). The caller owns @m exclusively (refcnt 1,
 * direct); it may be a chain (vhost-user guests' GSO frames are) whose first buffer holds
 * the headers. Thread: any; no allocation.
 * Return: VN_OFFLOAD_DONE, VN_OFFLOAD_SEGMENT (@g refers to @m), -EINVAL when the header
 * does not match the frame (bad offsets, wrong protocol, gso_size too small), -ENOTSUP for
 * a GSO type not handled (UFO).
 */
int vn_offload_prepare(struct rte_mbuf *m, const struct vn_vnet_meta *meta, struct vn_gso *g);

/**
 * vn_gso_next() - write up to @n next segments of @g to @out: complete frames allocated
 * from @mp (chained when a segment exceeds one buffer) with correct IPv4/IPv6 lengths,
 * IPv4 identification and header checksum, TCP sequence numbers and flags (FIN/PSH only on
 * the last segment, CWR only on the first), and TCP/UDP checksums.
 * Return: the number of segments written, or -ENOMEM when no buffer could be allocated for
 * the next one (the caller drops the rest of the frame).
 */
int vn_gso_next(struct vn_gso *g, struct rte_mempool *mp, struct rte_mbuf **out, uint16_t n);

/** vn_gso_done() - Return: true once every segment of @g was written. */
static inline bool vn_gso_done(const struct vn_gso *g)
{
	return g->off >= g->end;
}

/**
 * vn_offq_fill_fn - reads up to @n frames into @pkts with their offload metadata in @meta
 * (for the queue behind @ctx). Return: the number read.
 */
typedef uint16_t (*vn_offq_fill_fn)(void *ctx, struct rte_mbuf **pkts, struct vn_vnet_meta *meta,
				    uint16_t n);

/**
 * struct vn_offq - a receive queue whose frames carry offload requests, on their way to
 * the switch as complete frames: a burst read ahead (@fifo, @fmeta) and the GSO frame being
 * cut. Touched only by the queue's polling worker (vn_offq_reset(): when none polls it).
 */
struct vn_offq {
	uint16_t fhead, fcount;
	bool in_gso;
	struct vn_gso gso;
	struct rte_mbuf *fifo[VN_BURST];
	struct vn_vnet_meta fmeta[VN_BURST];
	uint64_t bad_offload, gso_frames, gso_segments, csum_filled, gso_nomem, passed;
};

/**
 * vn_offq_rx() - up to @n complete frames from @q, which reads bursts with @fill(@ctx):
 * checksums left to the receiver filled in, GSO frames cut into segments taken from @segmp;
 * a frame whose offload request is malformed is dropped and counted. With @pass (the port's
 * offl_pass), requests vn_offload_mark() takes cross as tx flags instead (counted in
 * @q->passed), the rest are completed. Thread: the polling worker. Return: the number of
 * frames; ownership passes to the caller.
 */
uint16_t vn_offq_rx(struct vn_offq *q, vn_offq_fill_fn fill, void *ctx, struct rte_mempool *segmp,
		    struct rte_mbuf **pkts, uint16_t n, bool pass);

/** vn_offq_reset() - free the frames @q still holds (the fifo, a GSO source). */
void vn_offq_reset(struct vn_offq *q);

/** struct vn_offq_stats - the counters of one or more vn_offq, summed. */
struct vn_offq_stats {
	uint64_t bad_offload, gso_frames, gso_segments, csum_filled, gso_nomem, passed;
};

/** vn_offq_stats_add() - add @q's counters to @acc. */
void vn_offq_stats_add(struct vn_offq_stats *acc, const struct vn_offq *q);

/**
 * vn_offq_stats_json() - @st as members rx_bad_offload, rx_gso_frames, rx_gso_segments,
 * rx_gso_nomem and rx_csum_filled of the open object of @b.
 */
void vn_offq_stats_json(JsonBuilder *b, const struct vn_offq_stats *st);

/**
 * vn_flow_hash() - a symmetric hash of the frame's flow (IPv4/IPv6 addresses and TCP/UDP
 * ports, the same for both directions; MAC addresses for non-IP frames), used to pick the
 * queue of a multiqueue TAP device so that the kernel steers a flow's replies back to the
 * same queue. Return: the hash. Thread: any.
 */
uint32_t vn_flow_hash(const struct rte_mbuf *m);

#endif

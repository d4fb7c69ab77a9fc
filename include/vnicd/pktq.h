/* SPDX-License-Identifier: MIT */
/*
 * Packet-socket queues on a kernel interface (PACKET_VNET_HDR), for an uplink that would
 * otherwise get frames through DPDK's net_af_packet PMD. The PMD's TPACKET_V2 ring drops
 * what the kernel says about a frame: a checksum still to be completed (CHECKSUM_PARTIAL,
 * TP_STATUS_CSUMNOTREADY) and GSO frames larger than a ring slot (cut to it). These queues
 * read the virtio-net header instead and hand the switch complete frames (tapio/offload.c),
 * or frames with their offloads pending where every port of the network takes those; a
 * frame sent with pending offloads (mbuf tx flags) gets its virtio-net header from them.
 */
#ifndef VNICD_PKTQ_H
#define VNICD_PKTQ_H

#include <stdint.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "vnicd/config.h"

struct vn_pktq;

/**
 * vn_pktq_open() - @queues packet sockets bound to interface @ifindex (a fanout group by
 * flow hash when more than one), their rx buffers and I/O engine (io_uring unless @cfg says
 * no or the host cannot); GSO segments come from @segmp. @name names the port in logs.
 * Thread: control. Return: 0 and *@out (free with vn_pktq_close()), or -errno with @err.
 */
int vn_pktq_open(const char *name, int ifindex, uint16_t queues, const struct vn_config *cfg,
		 struct rte_mempool *segmp, struct vn_pktq **out, GError **err);

/**
 * vn_pktq_rx() - up to @n frames from queue @q: complete, or with @pass their pending
 * offloads (a partial checksum, a TCP GSO frame) left to the destination as mbuf tx flags
 * (vn_offload_mark(); what it cannot describe is still completed). Thread: its polling
 * worker. Return: the number of frames; ownership passes to the caller.
 */
uint16_t vn_pktq_rx(struct vn_pktq *pq, uint16_t q, struct rte_mbuf **pkts, uint16_t n, bool pass);

/**
 * vn_pktq_tx() - send up to @n frames on queue @q (serialised by the caller). The first
 * <return value> mbufs belong to the queue afterwards; the rest stay the caller's.
 */
uint16_t vn_pktq_tx(struct vn_pktq *pq, uint16_t q, struct rte_mbuf **pkts, uint16_t n);

/**
 * vn_pktq_intr() - arm (@enable) or disarm the rx wake-up of queue @q, as
 * vn_port_ops.rx_intr. Return: an fd to wait on, 0, or -errno (-EOPNOTSUPP: none).
 */
int vn_pktq_intr(struct vn_pktq *pq, uint16_t q, bool enable);

/** vn_pktq_can_notify() - Return: whether vn_pktq_intr() can wake a sleeping worker. */
bool vn_pktq_can_notify(const struct vn_pktq *pq);

/**
 * vn_pktq_wire() - what the sockets moved, as ethdev counters into @st (zeroed first):
 * frames as the kernel handed them over (a GSO frame counts once), no byte counts.
 */
void vn_pktq_wire(const struct vn_pktq *pq, struct rte_eth_stats *st);

/** vn_pktq_describe() - I/O and offload counters into the open object of @b. */
void vn_pktq_describe(const struct vn_pktq *pq, JsonBuilder *b);

/** vn_pktq_close() - stop the queues, close the sockets, free everything (NULL: nothing). */
void vn_pktq_close(struct vn_pktq *pq);

#endif

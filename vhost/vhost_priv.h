/* SPDX-License-Identifier: MIT */
/* vhost-user ports, private: the port's state, and its offload paths (vhost_offload.c). */
#ifndef VNICD_VHOST_PRIV_H
#define VNICD_VHOST_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <json-glib/json-glib.h>
#include <linux/virtio_net.h>
#include <rte_spinlock.h>

#include "vnicd/datapath.h"
#include "vnicd/port.h"
#include "vnicd/tap.h"

/*
 * Offloads: a guest may send frames with a partial checksum (VIRTIO_NET_F_CSUM) and TCP GSO
 * frames (HOST_TSO4/6, with ECN), and take them (GUEST_CSUM, GUEST_TSO4/6). Where every
 * port of the network is a vhost-user port (vn_port.offl_pass) such frames cross the switch
 * as they are and the destination completes what its guest does not take; elsewhere vnicd
 * completes them on receipt (tap.h), as it does for TAP ports. No UFO, no GUEST_ECN;
 * GUEST_TSO4/6 only with vhost_tso_to_guest = yes (vn_vhost_params.tso_to_guest).
 */
#define VHOST_DISABLED_FEATURES                                                                    \
	((1ULL << VIRTIO_NET_F_HOST_UFO) | (1ULL << VIRTIO_NET_F_GUEST_ECN) |                      \
	 (1ULL << VIRTIO_NET_F_GUEST_UFO))
#define VHOST_GUEST_TSO ((1ULL << VIRTIO_NET_F_GUEST_TSO4) | (1ULL << VIRTIO_NET_F_GUEST_TSO6))
#define VHOST_HOST_OFFLOADS                                                                        \
	((1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_HOST_TSO4) |                          \
	 (1ULL << VIRTIO_NET_F_HOST_TSO6) | (1ULL << VIRTIO_NET_F_HOST_ECN))

/*
 * Link state machine (vid, rx_enabled, tx_enabled are written by DPDK's vhost thread and
 * read by workers): DOWN (vid < 0) -> new_device -> UP (vid >= 0, queues enabled as the
 * front end enables them) -> destroy_device -> DOWN. Before a device or queue goes away
 * the callback waits for an RCU grace period so that no worker is still inside it.
 */
struct vhost_port {
	struct vn_port base;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool server;
	dev_t sock_dev; /* server mode: the socket the library created (0/0: none seen) */
	ino_t sock_ino;
	uint16_t queues;
	uint16_t mtu; /* configured (port add --mtu), 0: none */
	struct rte_mempool *mp;
	struct vn_dp *dp;
	int vid;		 /* atomic */
	uint32_t gen;		 /* atomic: vid's connection (vid_gens), written before vid */
	uint32_t rx_enabled;	 /* atomic bitmask of guest-TX virtqueues we may dequeue */
	uint32_t tx_enabled;	 /* atomic bitmask of guest-RX virtqueues we may enqueue */
	uint16_t guest_pairs;	 /* queue pairs the front end set up */
	uint32_t offloads;	 /* atomic: the guest negotiated some of VHOST_HOST_OFFLOADS */
	uint64_t features;	 /* what the guest negotiated (valid while vid >= 0) */
	uint64_t rx_passed;	 /* atomic: frames with offloads handed over as they are */
	uint64_t rx_bad_pass;	 /* atomic: ... refused (a request vnicd cannot pass on) */
	uint64_t tx_completed;	 /* atomic: frames completed for a guest not taking offloads */
	uint64_t tx_segments;	 /* atomic: ... the segments of those that were GSO frames */
	uint64_t tx_dropped;	 /* atomic: ... frames or segments lost (no buffer, ring full) */
	struct vn_offq *oq;	 /* [queues]: frames to complete (offloads != 0) */
	uint64_t connects;	 /* atomic */
	uint64_t disconnects;	 /* atomic */
	uint64_t vrings_ignored; /* atomic: enables of vrings beyond the pairs offered */
	uint64_t refused;	 /* atomic: front ends refused (guest memory past its file) */
	int refused_vid;	 /* the connection refused last (until it goes), or -1 */
	rte_spinlock_t txlock[VN_MAX_QUEUES];
};

/**
 * vn_vhost_rx_offloads() - up to @n frames from queue pair @q of guest @vid, which
 * negotiated offloads: passed on as tx flags (offl_pass) or completed (@vp->oq[@q]).
 * Thread: the polling worker.
 */
uint16_t vn_vhost_rx_offloads(struct vhost_port *vp, int vid, uint16_t q, struct rte_mbuf **pkts,
			      uint16_t n);

/** vn_vhost_tx_takes_all() - Return: true when the guest takes every frame of @pkts as it is. */
bool vn_vhost_tx_takes_all(const struct vhost_port *vp, struct rte_mbuf **pkts, uint16_t n);

/**
 * vn_vhost_tx_completing() - send @pkts on queue pair @q of guest @vid, which does not take
 * some of their pending offloads: those frames are completed (GSO frames cut) on the way.
 * Every frame is consumed; what could not be completed or did not fit in the ring is counted
 * in tx_dropped. Thread: a transmitting worker. Return: @n.
 */
uint16_t vn_vhost_tx_completing(struct vhost_port *vp, int vid, uint16_t q, struct rte_mbuf **pkts,
				uint16_t n);

/**
 * vn_vhost_offq_reset() - drop the frames a connection left half-completed and forget its
 * offloads: no worker polls the port (vid < 0, after a grace period). Thread: any.
 */
void vn_vhost_offq_reset(struct vhost_port *vp);

/** vn_vhost_describe_offloads() - the offloads each way (@up: a guest is connected), counters. */
void vn_vhost_describe_offloads(const struct vhost_port *vp, bool up, JsonBuilder *b);

#endif

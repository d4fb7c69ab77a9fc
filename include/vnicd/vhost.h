/* SPDX-License-Identifier: MIT */
/*
 * vhost-user ports: QEMU (or any virtio front end) attached through librte_vhost, with
 * checksum offload and TSO both ways: a guest's offload requests are completed on receipt
 * (tap.h's completion), or, where every port of the network is a vhost-user port
 * (vn_port.offl_pass), passed on as mbuf tx flags and completed by the destination port for
 * a guest that does not take them.
 */
#ifndef VNICD_VHOST_H
#define VNICD_VHOST_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <rte_mempool.h>

#include "vnicd/datapath.h"
#include "vnicd/port.h"
#include "vnicd/tap.h"

/** struct vn_vhost_params - what `vnicctl port add NAME vhost ...` gives. */
struct vn_vhost_params {
	const char *path;	 /* unix socket path */
	bool server;		 /* vnicd listens (else connects and reconnects as client) */
	uint16_t queues;	 /* queue pairs offered/polled, 1..VN_MAX_QUEUES */
	const char *socket_dirs; /* server mode: where its socket may be (vhost_socket_dirs) */
	uint16_t mtu;		 /* the guest's MTU (libvirt's <mtu size=>), 0: not given */
	bool tso_to_guest;	 /* offer GUEST_TSO4/6 (vhost_tso_to_guest): GSO frames reach
				    a guest whole, with librte_vhost's length-less TCP
				    pseudo-header seed, which a Linux guest that cuts the frame
				    again (forwarding it) turns into bad checksums */
};

/**
 * vn_vhost_port_create() - register a vhost-user socket and start connecting/listening.
 * The port reports link down until a front end finished negotiation. @dp is used to wait
 * for workers to leave a queue before the device behind it goes away.
 * Return: 0 and *@out, or -errno with @err naming the problem (bad path, in use, ...).
 * Thread: control.
 */
int vn_vhost_port_create(const char *name, const struct vn_vhost_params *vp, struct rte_mempool *mp,
			 struct vn_dp *dp, struct vn_port **out, GError **err);

/**
 * vn_vhost_offload_meta() - the offload request of frame @m, dequeued from a guest that
 * negotiated offloads (librte_vhost's compliant flags: RX_L4_CKSUM_NONE for a partial
 * checksum, RX_LRO with tso_segsz for a GSO frame), as virtio-net metadata for
 * vn_offload_prepare(); @m's rx flags are cleared. A frame with none gets empty metadata;
 * a request vnicd does not complete (not TCP or UDP, UFO) gets metadata that
 * vn_offload_prepare() refuses. Thread: any (touches only @m).
 */
void vn_vhost_offload_meta(struct rte_mbuf *m, struct vn_vnet_meta *meta);

/* The mbuf tx flags of a frame with pending offloads (a partial checksum, a TCP GSO frame). */
#define VN_VHOST_TX_FLAGS                                                                          \
	(RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IPV6)

/**
 * vn_vhost_offload_mark() - turn the offload request of frame @m (as for
 * vn_vhost_offload_meta()) into mbuf tx flags with l2/l3/l4 lengths and tso_segsz, so that
 * it crosses the switch as it is and a guest that takes offloads gets it so (librte_vhost's
 * enqueue writes the virtio-net header from the flags). Thread: any (touches only @m).
 * Return: 0, or -EINVAL for a request vnicd cannot pass on (not TCP or UDP, GSO of
 * anything but TCP, headers beyond the first buffer): the caller drops @m.
 */
int vn_vhost_offload_mark(struct rte_mbuf *m);

/**
 * vn_vhost_tx_takes() - Return: true when a guest with negotiated @features takes a frame
 * with tx flags @ol_flags as it is (nothing pending, or GUEST_CSUM and, for a GSO frame,
 * GUEST_TSO4/6). Thread: any (pure).
 */
bool vn_vhost_tx_takes(uint64_t ol_flags, uint64_t features);

/**
 * vn_vhost_tx_prepare() - complete frame *@mp, whose pending offloads (tx flags) its
 * destination does not take: a shared frame is copied first (from @pool; *@mp then points
 * to the copy), then as vn_offload_prepare(). Return: VN_OFFLOAD_DONE (*@mp complete),
 * VN_OFFLOAD_SEGMENT (cut it with vn_gso_next(@g), then free *@mp), or -errno (*@mp freed).
 * Thread: the transmitting worker.
 */
int vn_vhost_tx_prepare(struct rte_mbuf **mp, struct rte_mempool *pool, struct vn_gso *g);

/** vn_vhost_port_path() - Return: the socket path of a vhost port. */
const char *vn_vhost_port_path(const struct vn_port *port);

/** vn_vhost_port_server() - Return: true when vnicd is the socket server. */
bool vn_vhost_port_server(const struct vn_port *port);

/** vn_vhost_port_queues() - Return: queue pairs configured. */
uint16_t vn_vhost_port_queues(const struct vn_port *port);

/**
 * vn_vhost_pair_bit() - the bit of queue pair @qp in a port's enabled-queue masks, or 0
 * when the port did not allocate that pair (@qp >= @queues): a front end may set up and
 * enable more pairs than offered (up to what it negotiated), and their vrings stay unused.
 * Thread: any (pure).
 */
static inline uint32_t vn_vhost_pair_bit(uint32_t qp, uint16_t queues)
{
	return qp < queues && qp < 32 ? 1u << qp : 0;
}

/**
 * vn_vhost_tx_pair() - the guest-RX queue pair a worker whose tx queue is @q enqueues on:
 * @q when the front end enabled it, else the lowest enabled pair the port allocated (the
 * guest enabled fewer queues than offered). Bits of @en at or above @queues are ignored.
 * Return: a pair below @queues (and below VN_MAX_QUEUES for @queues <= VN_MAX_QUEUES), or
 * -1 when none is enabled. Thread: any (pure).
 */
static inline int vn_vhost_tx_pair(uint32_t en, uint16_t queues, uint16_t q)
{
	if (queues < 32)
		en &= (1u << queues) - 1;
	if (en == 0)
		return -1;
	if (q < 32 && (en & (1u << q)))
		return q;
	return __builtin_ctz(en);
}

#endif

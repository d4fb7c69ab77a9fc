/* SPDX-License-Identifier: MIT */
/*
 * Port contract: what every kind of port (vhost-user, TAP, uplink, test ring) implements so
 * the data path can move bursts of frames through it without knowing its kind.
 */
#ifndef VNICD_PORT_H
#define VNICD_PORT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include <json-glib/json-glib.h>

#define VN_NAME_MAX 32	       /* port and network names, including the NUL */
#define VN_MAX_QUEUES 16       /* queue pairs per port */
#define VN_MAX_PORTS_HARD 1024 /* compile-time ceiling of the max_ports config key */
#define VN_BURST 32

struct vn_port;

#define VN_HANDOFF_MAX (4 * VN_BURST) /* frames a worker takes back in one burst */
#define VN_HANDOFF_RUNS 8	      /* runs of frames for one slot */

/**
 * struct vn_handoff - frames ports gave back to the worker delivering to them (tx_handoff()),
 * in runs, each to be switched as received on slot @slot by port @port (checked against the
 * table first). A run @alike holds frames of one Ethernet header (addresses and type, no
 * VLAN tag): they may follow the first one's way (struct vn_net_kind's by_l2). Filled with
 * vn_handoff_add(); drained by the worker (pipeline.c).
 */
struct vn_handoff {
	uint16_t n, nruns;
	struct {
		const struct vn_port *port;
		uint16_t slot, first, n;
		bool alike;
	} run[VN_HANDOFF_RUNS];
	struct rte_mbuf *m[VN_HANDOFF_MAX];
};

/**
 * struct vn_port_ops - the burst operations of one port kind (a const table per kind).
 *
 * Threads: rx_burst and tx_burst run on worker threads; a given (port, queue) is polled by
 * exactly one worker for rx, while tx on a queue may be shared by workers (the
 * implementation serialises per burst when port->tx_shared is set). Every other op runs on
 * the control thread. None may block, allocate or log without rate limit in rx/tx.
 */
struct vn_port_ops {
	const char *kind; /* "vhost", "tap", ... as in `vnicctl port add NAME KIND` */

	/**
	 * rx_burst() - receive up to @n frames from queue @q into @pkts.
	 * Ownership of the returned mbufs passes to the caller.
	 * Return: number of frames received (0 when idle, disconnected or disabled).
	 */
	uint16_t (*rx_burst)(struct vn_port *port, uint16_t q, struct rte_mbuf **pkts, uint16_t n);

	/**
	 * tx_burst() - transmit up to @n frames on queue @q (taken modulo the queues the peer
	 * enabled). The port takes ownership of the first <return value> mbufs (it frees
	 * them when done); the caller keeps the rest and counts/frees them. Mbufs may be
	 * shared (refcnt > 1) by a flood: a port must not modify their data.
	 * Return: number of frames taken.
	 */
	uint16_t (*tx_burst)(struct vn_port *port, uint16_t q, struct rte_mbuf **pkts, uint16_t n);

	/**
	 * tx_handoff() - optional, used instead of tx_burst() by workers: the same, for a port
	 * whose frames come back into the data path (a NAT leg's translated frames, received
	 * on the other leg). It may leave frames in @h (vn_handoff_add()): the worker switches
	 * them next, as received on their slot, instead of a queue and a second poll. What does
	 * not fit in @h goes the way tx_burst() sends it. Thread: the worker delivering.
	 */
	uint16_t (*tx_handoff)(struct vn_port *port, uint16_t q, struct rte_mbuf **pkts, uint16_t n,
			       struct vn_handoff *h);

	/**
	 * rx_intr() - optional: arm (@enable) or disarm notification for rx queue @q, so an
	 * idle worker can sleep instead of polling. Arming returns a descriptor that becomes
	 * readable (and is drained with read()) when frames arrive; the worker dups it.
	 * Return: the descriptor (arming), 0 (disarming), -ENOTCONN when nothing can arrive
	 * (no peer; the port calls vn_dp_wake() when one comes), other -errno when the port
	 * cannot notify now (the worker then sleeps on a short timer).
	 * Thread: the worker polling @q.
	 */
	int (*rx_intr)(struct vn_port *port, uint16_t q, bool enable);

	/**
	 * rx_intr_token() / rx_intr_arm() - optional, instead of rx_intr() for kinds whose
	 * arming may block on a lock that the peer library holds while calling back into
	 * vnicd (vhost). rx_intr_token() runs online and returns a token naming the queue
	 * (>= 0), -ENOTCONN when nothing can arrive, other -errno to use the timer.
	 * rx_intr_arm() runs with the worker outside the RCU reader set, so it must touch only
	 * what the token names (never port memory), and the kind must keep what the token
	 * names alive until rx_intr_arm() returns (the port's disconnect waits for it);
	 * arming returns a descriptor of the caller's own to wait on (it closes it),
	 * disarming 0; -ENOTCONN when the queue's peer went away since the token. Thread:
	 * the worker polling the queue.
	 */
	int64_t (*rx_intr_token)(struct vn_port *port, uint16_t q);
	int (*rx_intr_arm)(int64_t token, bool enable);

	/** link_up() - Return: true when a peer is attached and frames can flow. Thread: any. */
	bool (*link_up)(const struct vn_port *port);

	/**
	 * describe() - add the kind-specific members (path, peer state, queues in use, driver
	 * statistics) to the open JSON object in @b. Thread: control.
	 */
	void (*describe)(const struct vn_port *port, JsonBuilder *b);

	/**
	 * destroy() - detach from the peer and free the port. Called on the control thread
	 * only after the port was unpublished and every worker passed a quiescent state.
	 */
	void (*destroy)(struct vn_port *port);
};

/**
 * struct vn_port - the kind-independent part of a port; kinds embed it first. Port I/O facts
 * only: which network a port is in, its locality and its policy are facts of its slot
 * (struct vn_slot, datapath.h). All fields are written by the control thread before
 * publication and immutable after, except what the kind documents as atomic.
 */
struct vn_port {
	const struct vn_port_ops *ops;
	char name[VN_NAME_MAX];
	uint16_t slot;	 /* index in the data-path tables, unique among live ports */
	uint16_t nr_rxq; /* rx queues the workers poll */
	uint16_t nr_txq; /* tx queues the workers spread over */
	bool tx_shared;	 /* several workers may tx on one queue: serialise */
	/*
	 * Atomic, written by the data path's commit: every port of this port's network takes
	 * frames with pending offloads (a partial checksum, a GSO frame, in mbuf tx flags), so
	 * the port's receive may hand them over as they are instead of completing them.
	 */
	uint8_t offl_pass;
	bool has_mac;
	struct rte_ether_addr mac; /* the guest's MAC when given (--mac) */
	bool deleting;		   /* set by `port del` before destroy(): also remove what the
				      port made outside vnicd (a TAP device); unset at shutdown */
};

/* Take @n frames @m into @h, as received by @port on its slot; @alike: they have one
 * Ethernet header (struct vn_handoff). Return: how many it took (all, or none when @h is
 * full); the caller sends the rest its own way. */
static inline uint16_t vn_handoff_add(struct vn_handoff *h, const struct vn_port *port,
				      struct rte_mbuf **m, uint16_t n, bool alike)
{
	if (n > VN_HANDOFF_MAX - h->n)
		return 0;
	if (h->nruns && h->run[h->nruns - 1].port == port) { /* the last run grows */
		h->run[h->nruns - 1].n += n;
		h->run[h->nruns - 1].alike = false; /* not compared */
		memcpy(&h->m[h->n], m, n * sizeof(*m));
		h->n = (uint16_t)(h->n + n);
		return n;
	}
	if (h->nruns == VN_HANDOFF_RUNS)
		return 0;
	h->run[h->nruns].port = port;
	h->run[h->nruns].slot = port->slot;
	h->run[h->nruns].first = h->n;
	h->run[h->nruns].alike = alike;
	h->run[h->nruns++].n = n;
	memcpy(&h->m[h->n], m, n * sizeof(*m));
	h->n = (uint16_t)(h->n + n);
	return n;
}

/**
 * vn_name_valid() - Return: true if @name is 1..31 characters of [A-Za-z0-9_.-]
 * and does not start with '-' or '.'.
 */
bool vn_name_valid(const char *name);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Ring ports: a port kind backed by two rte_rings, for tests and benchmarks of the data
 * path without any peer (Open vSwitch's netdev-dummy idea). The test puts frames on the
 * rx ring and reads what the switch transmitted from the tx ring.
 */
#ifndef VNICD_RINGPORT_H
#define VNICD_RINGPORT_H

#include <rte_ring.h>

#include "vnicd/port.h"

/**
 * vn_ring_port_create() - a port whose rx_burst dequeues from @rx and whose tx_burst
 * enqueues onto @tx (both single-producer/single-consumer rings owned by the caller).
 * Return: the port (free with its destroy op), or NULL on allocation failure.
 */
struct vn_port *vn_ring_port_create(const char *name, struct rte_ring *rx, struct rte_ring *tx);

/** vn_ring_port_set_link() - make link_up() answer @up (tx refuses frames while down). */
void vn_ring_port_set_link(struct vn_port *port, bool up);

#endif

/* SPDX-License-Identifier: MIT */
/* Ring ports: the port contract over a pair of rte_rings, for tests and benchmarks. */
#include <rte_malloc.h>

#include "vnicd/ringport.h"

struct ring_port {
	struct vn_port base;
	struct rte_ring *rx, *tx;
	bool up;
};

static uint16_t ring_rx(struct vn_port *port, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	struct ring_port *rp = (struct ring_port *)port;

	return (uint16_t)rte_ring_dequeue_burst(rp->rx, (void **)pkts, n, NULL);
}

static uint16_t ring_tx(struct vn_port *port, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	struct ring_port *rp = (struct ring_port *)port;

	if (!__atomic_load_n(&rp->up, __ATOMIC_RELAXED))
		return 0;
	return (uint16_t)rte_ring_enqueue_burst(rp->tx, (void **)pkts, n, NULL);
}

static bool ring_link_up(const struct vn_port *port)
{
	return __atomic_load_n(&((const struct ring_port *)port)->up, __ATOMIC_RELAXED);
}

static void ring_describe(const struct vn_port *port, JsonBuilder *b)
{
	const struct ring_port *rp = (const struct ring_port *)port;

	json_builder_set_member_name(b, "rx_ring");
	json_builder_add_string_value(b, rp->rx->name);
	json_builder_set_member_name(b, "tx_ring");
	json_builder_add_string_value(b, rp->tx->name);
}

static void ring_destroy(struct vn_port *port)
{
	rte_free(port);
}

static const struct vn_port_ops ring_port_ops = {
    .kind = "ring",
    .rx_burst = ring_rx,
    .tx_burst = ring_tx,
    .link_up = ring_link_up,
    .describe = ring_describe,
    .destroy = ring_destroy,
};

struct vn_port *vn_ring_port_create(const char *name, struct rte_ring *rx, struct rte_ring *tx)
{
	struct ring_port *rp = rte_zmalloc("vn_ring_port", sizeof(*rp), RTE_CACHE_LINE_SIZE);

	if (!rp)
		return NULL;
	rp->base.ops = &ring_port_ops;
	snprintf(rp->base.name, sizeof(rp->base.name), "%s", name);
	rp->base.nr_rxq = 1;
	rp->base.nr_txq = 1;
	rp->rx = rx;
	rp->tx = tx;
	rp->up = true;
	return &rp->base;
}

void vn_ring_port_set_link(struct vn_port *port, bool up)
{
	__atomic_store_n(&((struct ring_port *)port)->up, up, __ATOMIC_RELAXED);
}

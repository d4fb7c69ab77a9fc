/* SPDX-License-Identifier: MIT */
/*
 * Wires: `--uplink wire:NAME/0` and `--uplink wire:NAME/1` join the uplinks of two networks
 * of one vnicd back to back through a pair of rte_rings. A frame crosses as its mbuf, the way a NIC
 * hands the next host a frame its DMA wrote: no CPU copy, unlike a memif pair. For benchmarks (an
 * overlay's encapsulation and decapsulation without a copy on the wire that a real host never
 * makes) and tests. Each end is a rings-backed ethdev (DPDK's net_ring, rte_eth_from_rings()), so
 * the uplink kind treats it as any other device; its link is up while both ends exist.
 * Control thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_dev.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_hash_crc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "vnicd/log.h"

#include "uplink_priv.h"

#define WIRE_PREFIX "wire:"
#define WIRE_NAME_MAX 15 /* "net_ring_vnw_NAME_E" within RTE_RING_NAMESIZE */
#define WIRE_RING 1024	 /* frames in flight each way */

struct wire {
	struct rte_ring *r[2]; /* r[e]: what end e receives (the other end sends into it) */
	uint16_t port[2];
	bool used[2];
};

static GHashTable *wires; /* name -> struct wire * */

bool vn_wire_named(const char *devargs)
{
	return g_str_has_prefix(devargs, WIRE_PREFIX);
}

/* "wire:NAME/E" into @name and *@end. Return: 0, or -EINVAL with @err set. */
static int wire_parse(const char *devargs, char name[WIRE_NAME_MAX + 1], int *end, GError **err)
{
	const char *v = devargs + strlen(WIRE_PREFIX), *slash = strrchr(v, '/');
	size_t n = slash ? (size_t)(slash - v) : 0;

	if (!slash || (strcmp(slash, "/0") != 0 && strcmp(slash, "/1") != 0)) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "--uplink '%s': a wire's end is wire:NAME/0 or wire:NAME/1", devargs);
		return -EINVAL;
	}
	if (n == 0 || n > WIRE_NAME_MAX) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "--uplink '%s': a wire's name has 1-%d characters", devargs,
			    WIRE_NAME_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_isalnum(v[i]) && v[i] != '-' && v[i] != '_') {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "--uplink '%s': a wire's name holds letters, digits, '-' "
				    "and '_'",
				    devargs);
			return -EINVAL;
		}
	memcpy(name, v, n);
	name[n] = '\0';
	*end = slash[1] - '0';
	return 0;
}

int vn_wire_check(const char *devargs, GError **err)
{
	char name[WIRE_NAME_MAX + 1];
	int e;

	return wire_parse(devargs, name, &e, err);
}

/* Free the frames left in @r (nobody will take them) and, with @free, the ring. */
static void ring_drain(struct rte_ring *r, bool free)
{
	struct rte_mbuf *m[32];
	unsigned n;

	while ((n = rte_ring_dequeue_burst(r, (void **)m, RTE_DIM(m), NULL)) > 0)
		rte_pktmbuf_free_bulk(m, n);
	if (free)
		rte_ring_free(r);
}

static void wire_free(gpointer p)
{
	struct wire *w = p;

	for (int e = 0; e < 2; e++)
		if (w->r[e])
			ring_drain(w->r[e], true);
	g_free(w);
}

/* The wire @name, made with its two rings when it is new. */
static struct wire *wire_get(const char *name, GError **err)
{
	struct wire *w;
	char rn[RTE_RING_NAMESIZE];

	if (!wires)
		wires = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, wire_free);
	if ((w = g_hash_table_lookup(wires, name)))
		return w;
	w = g_new0(struct wire, 1);
	for (int e = 0; e < 2; e++) {
		snprintf(rn, sizeof(rn), "vnw_%s_%d", name, e);
		w->r[e] = rte_ring_create(rn, WIRE_RING, SOCKET_ID_ANY, 0);
		if (!w->r[e]) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "wire %s: cannot make its ring: %s", name,
				    rte_strerror(rte_errno));
			wire_free(w);
			return NULL;
		}
	}
	g_hash_table_insert(wires, g_strdup(name), w);
	return w;
}

int vn_wire_attach(struct uplink_port *up, GError **err)
{
	char name[WIRE_NAME_MAX + 1], dn[RTE_RING_NAMESIZE];
	struct wire *w;
	int e, pid;

	if (wire_parse(up->devargs, name, &e, err) < 0)
		return -EINVAL;
	if (!(w = wire_get(name, err)))
		return -ENOMEM;
	if (w->used[e]) { /* another network's uplink (the switch checks it first) */
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_EXISTS,
			    "--uplink '%s': that end of wire %s is in use", up->devargs, name);
		return -EEXIST;
	}
	ring_drain(w->r[e], false); /* sent while this end was away: nobody was there */
	snprintf(dn, sizeof(dn), "vnw_%s_%d", name, e);
	pid = rte_eth_from_rings(dn, &w->r[e], 1, &w->r[!e], 1, (unsigned)rte_socket_id());
	if (pid < 0) {
		int rc = -rte_errno;
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "--uplink '%s': cannot make the ethdev of its end: %s", up->devargs,
			    rte_strerror(rte_errno));
		if (!w->used[!e])
			g_hash_table_remove(wires, name);
		return rc;
	}
	w->used[e] = true;
	w->port[e] = (uint16_t)pid;
	up->port_id = (uint16_t)pid;
	up->probed = true;
	up->wire_end = (int8_t)e;
	return 0;
}

/* A locally administered MAC for end @e of wire @name: 02:77 ('w'), then a hash. */
static void wire_mac(const char *name, int e, struct rte_ether_addr *mac)
{
	uint32_t h = rte_hash_crc(name, strlen(name), (uint32_t)e + 1);

	mac->addr_bytes[0] = 0x02;
	mac->addr_bytes[1] = 0x77;
	memcpy(&mac->addr_bytes[2], &h, 4);
}

void vn_wire_started(struct uplink_port *up)
{
	char name[WIRE_NAME_MAX + 1];
	struct wire *w;
	int e;

	if (wire_parse(up->devargs, name, &e, NULL) < 0 || !wires ||
	    !(w = g_hash_table_lookup(wires, name)))
		return;
	wire_mac(name, e, &up->mac);
	if (w->used[!e]) { /* the cable is whole: both links up */
		rte_eth_dev_set_link_up(w->port[!e]);
		rte_eth_dev_set_link_up(w->port[e]);
	} else {
		rte_eth_dev_set_link_down(w->port[e]);
	}
}

void vn_wire_detach(struct uplink_port *up)
{
	char name[WIRE_NAME_MAX + 1], dn[RTE_DEV_NAME_MAX_LEN];
	struct wire *w;
	int e = up->wire_end;

	if (e < 0 || wire_parse(up->devargs, name, &e, NULL) < 0 || !wires ||
	    !(w = g_hash_table_lookup(wires, name)) || !w->used[e])
		return;
	snprintf(dn, sizeof(dn), "net_ring_vnw_%s_%d", name, e);
	if (rte_eal_hotplug_remove("vdev", dn) != 0)
		VN_WARN("uplink %s: removing wire end %s failed", up->base.name, dn);
	w->used[e] = false;
	up->wire_end = -1;
	if (!w->used[!e]) {
		g_hash_table_remove(wires, name); /* drains and frees both rings */
		return;
	}
	ring_drain(w->r[e], false);		/* the end goes: what was sent to it is lost */
	rte_eth_dev_set_link_down(w->port[!e]); /* the other end's carrier goes */
}

/* SPDX-License-Identifier: MIT */
/*
 * Private to the uplink port kind (uplink.c: data path, life cycle, description;
 * uplink_filter.c: receive filter and MAC): the port's state.
 */
#ifndef VNICD_UPLINK_PRIV_H
#define VNICD_UPLINK_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>
#include <rte_ether.h>
#include <rte_spinlock.h>

#include "vnicd/netlink.h"
#include "vnicd/port.h"

#define DEVARGS_MAX 256
#define UPLINK_DESC 1024 /* rx/tx descriptors asked for (adjusted to the device) */

/*
 * How the receive filter is kept: on the kernel interface behind an af_packet/af_xdp/tap
 * device (memberships of an AF_PACKET socket: unicast addresses, promiscuous and
 * all-multicast counts, dropped by the kernel when vnicd exits however it exits), or in the
 * ethdev (MAC filter entries, promiscuous mode).
 */
enum filter_way { FILTER_KERNEL, FILTER_ETHDEV };

/*
 * Link state: carrier (atomic) is what workers read; the control thread writes it from
 * netlink notifications (kernel interfaces) or from polling the ethdev once a second.
 */
struct uplink_port {
	struct vn_port base;
	char devargs[DEVARGS_MAX];
	char driver[32];
	uint16_t port_id;
	uint16_t queues;
	bool probed; /* vnicd attached the device (and detaches it) */
	struct rte_device *dev;
	struct rte_mempool *mp;	     /* the shared pool: linearised copies come from it */
	bool multi_segs;	     /* the ethdev sends chains (RTE_ETH_TX_OFFLOAD_MULTI_SEGS) */
	bool linearize;		     /* it does not, and its PMD sends: chains are copied flat */
	uint64_t tx_linearized;	     /* atomic: chains copied into one mbuf */
	uint64_t tx_linearize_drops; /* atomic: chains too long for one mbuf, or no mbuf */
	int ifindex;		     /* kernel interface behind the device, or 0 */
	struct vn_nl *nl;	     /* vnicd's namespace, while there is a kernel interface */
	struct vn_klink_watch *watch;
	struct vn_klink kl; /* the kernel's last word on it */
	uint8_t carrier;    /* atomic */
	uint64_t carrier_changes;
	enum filter_way way;
	int mfd;	       /* FILTER_KERNEL: AF_PACKET socket holding memberships */
	GArray *uc;	       /* struct rte_ether_addr filter entries in force */
	bool promisc;	       /* asked for (vn_uplink_filter) */
	bool promisc_fallback; /* FILTER_ETHDEV: forced by a full or missing MAC filter */
	bool allmulti;
	bool mac_changed;
	struct rte_ether_addr orig_mac, mac;
	bool sees_own_tx; /* af_packet: the host's own frames on the interface come as rx */
	uint64_t own;	  /* atomic: the interface's MAC (48 bits) to skip as source, or NO_SKIP */
	uint64_t host_skipped[VN_MAX_QUEUES]; /* per rx queue, written by its worker */
	struct vn_pktq *pq; /* af_packet: vnicd's own packet sockets carry the frames, or NULL */
	int xdp_link;	    /* af_packet on a veth: our XDP_PASS program's BPF link, or -1 */
	char xdp_note[200]; /* af_packet on a veth: why there is none ("" when there is) */
	rte_spinlock_t txlock[VN_MAX_QUEUES];
	int8_t wire_end; /* an end of a wire (uplink_wire.c): 0 or 1; else -1 */
};

#define NO_SKIP UINT64_MAX

/* uplink_wire.c: --uplink wire:NAME/E, two uplinks of one vnicd joined by a ring pair */
bool vn_wire_named(const char *devargs);
int vn_wire_check(const char *devargs, GError **err);
int vn_wire_attach(struct uplink_port *up, GError **err); /* the ethdev of the end */
void vn_wire_started(struct uplink_port *up); /* its MAC; the links up when both ends are */
void vn_wire_detach(struct uplink_port *up);  /* after the ethdev closed */

static inline uint64_t mac48(const struct rte_ether_addr *m)
{
	uint64_t v = 0;

	memcpy(&v, m->addr_bytes, RTE_ETHER_ADDR_LEN);
	return v;
}

static inline struct uplink_port *up_of(struct vn_port *p)
{
	return (struct uplink_port *)p;
}

static inline const struct uplink_port *cup_of(const struct vn_port *p)
{
	return (const struct uplink_port *)p;
}

/**
 * up_membership() - add (@add) or drop membership @type (PACKET_MR_*, with @mac for
 * unicast) of the socket holding @up's kernel receive filter (uplink_filter.c).
 * Return: 0 or -errno.
 */
int up_membership(struct uplink_port *up, int type, const struct rte_ether_addr *mac, bool add);

/** up_uc_del() - take unicast filter entry @mac of @up away (uplink_filter.c). */
void up_uc_del(struct uplink_port *up, const struct rte_ether_addr *mac);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Uplinks: the "uplink" port kind (a DPDK ethdev given by devargs, with the kernel's view of
 * the interface behind it read through libnl-3). The networks that use them are network
 * kinds (net.h): a bridge network takes an uplink as one more port; a macvtap network
 * (backend/net_macvtap.c) forwards around it by the rules of Linux drivers/net/macvlan.c.
 *
 * Life cycle: an uplink is made with its network (`net add NAME TYPE --uplink DEVARGS`), is
 * a port named NAME-uplink of locality VN_LOC_EXTERNAL, and goes away with the network. The
 * switch (control thread) tells it which unicast MACs are behind it and whether it must be
 * promiscuous (vn_uplink_filter()); a passthru port lends it its MAC (vn_uplink_set_mac()).

 */
#ifndef VNICD_UPLINK_H
#define VNICD_UPLINK_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <json-glib/json-glib.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "vnicd/datapath.h"
#include "vnicd/port.h"
#include "vnicd/portkind.h"

/* ---- the uplink port kind (control thread) ---- */

/**
 * The "uplink" kind: argument "devargs" (a DPDK device: "net_af_packet0,iface=eth1",
 * "net_af_xdp0,iface=eth1", "net_tap0,iface=tap9", or a PCI address). Not offered by
 * `port add`: the switch makes uplinks with their network.
 */
extern const struct vn_port_kind vn_uplink_kind;

/** vn_port_is_uplink() - Return: true if @p is of the uplink kind. */
bool vn_port_is_uplink(const struct vn_port *p);

/**
 * vn_uplink_filter() - receive frames for exactly the unicast MACs @macs (@n of them) besides
 * the uplink's own, or everything when @promisc: a kernel interface gets them as its unicast
 * address list (what macvlan does to its lower device; the kernel itself turns the device
 * promiscuous when it cannot filter), another ethdev as MAC filter entries, falling back to
 * promiscuous mode when it has too few. Only the difference to the current state is applied.
 * Return: 0, or -errno with @err set (the previous state is kept as far as it could be).
 */
int vn_uplink_filter(struct vn_port *up, const struct rte_ether_addr *macs, unsigned n,
		     bool promisc, GError **err);

/**
 * vn_uplink_set_mac() - give the uplink MAC @mac (a passthru port's), or its original MAC
 * back when @mac is NULL. Return: 0, or -errno with @err set.
 */
int vn_uplink_set_mac(struct vn_port *up, const struct rte_ether_addr *mac, GError **err);

/** vn_uplink_get_mac() - the uplink's current MAC into @mac (the kernel's when it has one). */
void vn_uplink_get_mac(const struct vn_port *up, struct rte_ether_addr *mac);

/**
 * vn_uplink_lent_mac() - Return: true while a passthru port's MAC is on the uplink, with the
 * uplink's own MAC in @orig (persisted, so that a restart after a crash can give it back).
 */
bool vn_uplink_lent_mac(const struct vn_port *up, struct rte_ether_addr *orig);

/**
 * vn_uplink_reclaim_mac() - the uplink's own MAC is @orig (from the state of a vnicd that
 * ended while it had lent it): remember it as the original and put it back now (a passthru
 * port restored later lends its MAC again). Return: 0, or -errno with @err set.
 */
int vn_uplink_reclaim_mac(struct vn_port *up, const struct rte_ether_addr *orig, GError **err);

/**
 * vn_uplink_tick() - periodic work: poll the link of an uplink that has no kernel interface
 * (a kernel interface reports through netlink). Called once a second.
 */
void vn_uplink_tick(struct vn_port *up);

/**
 * vn_uplink_describe_link() - add the uplink's link facts as members of the open object in
 * @b (for `net show`): devargs, device, carrier, mtu, mac, addresses, filter.
 */
void vn_uplink_describe_link(const struct vn_port *up, JsonBuilder *b);

/** vn_uplink_ifindex() - Return: the kernel interface of uplink @port (in vnicd's namespace), or 0.
 */
int vn_uplink_ifindex(const struct vn_port *port);

/**
 * vn_uplink_tunnel_gso() - the uplink @port carries tunnel traffic (it is an overlay's
 * underlay: @on) or no longer does. On a veth af_packet uplink this attaches (detaches) an
 * XDP_PASS program so that the veth peer segments UDP-tunnel TSO frames, which af_packet's
 * virtio-net header cannot describe (see veth_xdp() in uplink.c). Thread: control.
 */
void vn_uplink_tunnel_gso(struct vn_port *port, bool on);

/**
 * vn_uplink_takes_offloads() - Return: whether uplink @port sends frames with pending
 * offloads as they are and may receive them so: an af_packet uplink on vnicd's own packet
 * sockets (vnicd/pktq.h), whose virtio-net header tells the kernel (a partial checksum, a
 * GSO frame the kernel or the NIC segments). Thread: any (fixed at creation).
 */
bool vn_uplink_takes_offloads(const struct vn_port *port);

/**
 * vn_mbuf_linearize() - frame @m in a single segment, for a device that cannot send chains.
 * A chained @m is copied into one mbuf from @mp (data, packet type, tx offload flags and
 * lengths, VLAN tags), and its reference released; @m may be shared, its data is only read.
 * Return: @m itself when it has one segment; the copy; NULL when the frame does not fit one
 * mbuf of @mp or none could be had (then @m is untouched and still the caller's).
 * Thread: any (a worker's tx path).
 */
struct rte_mbuf *vn_mbuf_linearize(struct rte_mbuf *m, struct rte_mempool *mp);

#endif

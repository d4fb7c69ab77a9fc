/* SPDX-License-Identifier: MIT */
/*
 * Uplinks and MACVTAP-style networks: the "uplink" port kind (a DPDK ethdev given by devargs,
 * with the kernel's view of the interface behind it read through libnl-3), the forwarding
 * rules of macvtap networks (Linux drivers/net/macvlan.c: vepa, bridge, private, passthru)
 * and VEPA hairpin emulation.
 *
 * Life cycle: an uplink is made with its network (`net add NAME TYPE --uplink DEVARGS`), is
 * a port named NAME-uplink of locality VN_LOC_EXTERNAL, and goes away with the network. The
 * switch (control thread) tells it which unicast MACs are behind it and whether it must be
 * promiscuous (vn_uplink_filter()); a passthru port lends it its MAC (vn_uplink_set_mac()).
 *
 * Macvtap networks do not learn: each port has a MAC (--mac), kept as a static entry of the
 * network's FDB in segment 0 (the kernel's macvlan hash), and the data path calls
 * vn_mvt_forward() for every frame of such a network instead of the learning bridge.
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

/** How a network forwards (struct vn_net.fwd). */
enum vn_net_fwd {
	VN_FWD_BRIDGE = 0,  /* 802.1D learning bridge (an uplink is one more port) */
	VN_FWD_MACVTAP = 1, /* macvlan.c rules around one uplink */
};

/** Mode of a port in a macvtap network; the values are the kernel's MACVLAN_MODE_*. */
enum vn_mvt_mode {
	VN_MVT_PRIVATE = 1,
	VN_MVT_VEPA = 2,
	VN_MVT_BRIDGE = 4,
	VN_MVT_PASSTHRU = 8,
};

/** Who reflects frames between local VEPA ports (struct vn_net.hairpin). */
enum vn_hairpin {
	VN_HAIRPIN_EXTERNAL = 0, /* the adjacent bridge, if it is in hairpin mode */
	VN_HAIRPIN_EMULATED = 1, /* vnicd, as that bridge would */
};

/** vn_mvt_mode_name() - Return: "vepa", "bridge", "private", "passthru" or "?". */
const char *vn_mvt_mode_name(unsigned mode);

/** vn_mvt_mode_parse() - Return: the enum vn_mvt_mode named @s, or -EINVAL. */
int vn_mvt_mode_parse(const char *s);

/** vn_hairpin_name() - Return: "external" or "emulated". */
const char *vn_hairpin_name(unsigned hairpin);

/** vn_hairpin_parse() - Return: the enum vn_hairpin named @s, or -EINVAL. */
int vn_hairpin_parse(const char *s);

/* ---- data path (worker threads) ---- */

struct vn_vlan_cls;

/**
 * vn_mvt_forward() - forward frame @m (@len bytes, destination class @cast, at least an
 * Ethernet header, valid source, admitted by @in's ingress policy and classified @cl) that
 * port @in of a macvtap network received, by the rules of drivers/net/macvlan.c for the
 * modes of the ports involved, with hairpin emulation when the network asks for it. Every
 * destination gets it in its own VLAN form (vn_dp_deliver()); counts on the worker's
 * counters. Takes ownership of @m. Thread: the worker @w.
 */
void vn_mvt_forward(struct vn_worker *w, const struct vn_dp_table *t, struct vn_port *in,
		    struct rte_mbuf *m, const struct vn_vlan_cls *cl, uint8_t cast, uint32_t len);

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

#endif

/* SPDX-License-Identifier: MIT */
/*
 * The host filter of a masquerading NAT network (backend/host_filter.c): a NAT network with
 * --masquerade sends its guests' connections out with the host's own address through an
 * af_packet uplink, and the replies reach the host's protocol stack too, which has no
 * socket for them and would answer TCP with a reset and UDP with a port unreachable. An
 * eBPF program at tc ingress of the uplink's kernel interface (tcx, held by a BPF link;
 * before Linux 6.6 a cls_bpf filter in direct-action mode under a clsact qdisc, priority
 * 0x7a57, handle 1, made by netlink and replacing one a crashed vnicd left) drops the IPv4 TCP and
 * UDP frames to the masquerade address whose destination port NAT uses now, so that only the host
 * stack misses them: packet sockets (vnicd's af_packet uplink) get every frame before tc ingress
 * runs (__netif_receive_skb_core()).
 *
 * Which ports: a BPF array map of one value (struct vn_hf_value), made with BPF_F_MMAPABLE
 * and mapped into vnicd: the address (written by the control thread, which follows the
 * interface) and a count per TCP and UDP port of what holds it, conntrack entries
 * translated to the address (vn_ct_port_ref(), by workers under the table's lock) and port
 * forwards (the control thread, under the same lock). A port with a count above zero is
 * kept from the host stack; every other port, the host's own connections among them, is
 * left alone. Closing the link (vn_hfilter_free(), or vnicd's exit however it exits)
 * detaches the program (a cls_bpf filter is deleted by vn_hfilter_free(); its clsact
 * qdisc stays).
 *
 * Thread: control (all functions). Errors: the filter is best effort; when it cannot be had
 * the network works as before and vn_hfilter_describe() says why.
 */
#ifndef VNICD_HOST_FILTER_H
#define VNICD_HOST_FILTER_H

#include <stdbool.h>
#include <stdint.h>

#include <json-glib/json-glib.h>

/** struct vn_hf_value - the map's value, shared with the program (addresses network order,
 * @ref by port in host order, [0] TCP, [1] UDP). */
struct vn_hf_value {
	uint32_t addr; /* the masquerade address (0: nothing is dropped) */
	uint32_t pad;
	uint32_t ref[2][65536];
};

struct vn_hfilter;

/**
 * vn_hfilter_new() - the map and program for kernel interface @ifindex of vnicd's namespace,
 * attached at its ingress (@what names the network in the log line of a failure). Never
 * fails: a filter that could not be attached has no counts (vn_hfilter_refs() NULL) and a
 * note saying why. Return: the filter (vn_hfilter_free()), or NULL without memory.
 */
struct vn_hfilter *vn_hfilter_new(int ifindex, const char *what);

/** vn_hfilter_free() - detach and free @hf (NULL is fine). No reader of its counts may remain
 * (the conntrack table's pointer to them cleared first). */
void vn_hfilter_free(struct vn_hfilter *hf);

/** vn_hfilter_refs() - Return: the counts (struct vn_hf_value's @ref, 2 x 65536, read by the
 * program) while the filter is attached, else NULL. */
uint32_t *vn_hfilter_refs(struct vn_hfilter *hf);

/** vn_hfilter_set_addr() - the masquerade address is @addr now (network order). */
void vn_hfilter_set_addr(struct vn_hfilter *hf, uint32_t addr);

/** vn_hfilter_describe() - `"host_filter": {attached, ifname, note, ports}` into the open
 * object of @b (@hf NULL: none needed, not attached, the rest null or 0). */
void vn_hfilter_describe(const struct vn_hfilter *hf, JsonBuilder *b);

/**
 * vn_host_ephemeral_overlap() - how many ports of @lo..@hi the host's stack of vnicd's
 * namespace may pick for its own connections (net.ipv4.ip_local_port_range, less
 * net.ipv4.ip_local_reserved_ports); that range in *@elo..*@ehi. Return: the count (0: none,
 * or the sysctls cannot be read).
 */
unsigned vn_host_ephemeral_overlap(uint16_t lo, uint16_t hi, uint16_t *elo, uint16_t *ehi);

#endif

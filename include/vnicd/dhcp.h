/* SPDX-License-Identifier: MIT */
/*
 * The DHCPv4 server of NAT networks (policy/dhcp.c, RFC 2131/2132): DISCOVER -> OFFER,
 * REQUEST -> ACK or NAK, RELEASE, leases of a range kept per client MAC; options subnet
 * mask, router, DNS servers, interface MTU, lease time, server identifier.
 *
 * Control thread only, on plain byte buffers (the frames the gateway leg punts): untagged
 * Ethernet + IPv4 + UDP to port 67. Replies are broadcast (Ethernet and IP), which every
 * client accepts whether or not it has its address yet. Time: ms of a monotonic clock.
 */
#ifndef VNICD_DHCP_H
#define VNICD_DHCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>
#include <json-glib/json-glib.h>
#include <rte_ether.h>

#define VN_DHCP_REPLY_MAX 342  /* Ethernet + IPv4 + UDP + a 300-byte BOOTP message */
#define VN_DHCP_MAX_STATIC 256 /* static leases of one server */

/** struct vn_dhcp_cfg - the server (addresses in network byte order; @lo..@hi the pool). */
struct vn_dhcp_cfg {
	uint32_t server, mask, router, dns; /* @dns 0: no DNS option */
	uint32_t lo, hi;
	uint32_t lease_s; /* [3600] */
	uint16_t mtu;	  /* 0: no MTU option */
};

/** struct vn_dhcp_counters - what the server did (JSON names are the field names). */
struct vn_dhcp_counters {
	uint64_t discovers, offers, requests, acks, naks, releases, malformed, pool_full;
};

typedef struct vn_dhcp vn_dhcp;

/** vn_dhcp_new() - a server of @c (copied). Return: it, or NULL when the pool is empty. */
struct vn_dhcp *vn_dhcp_new(const struct vn_dhcp_cfg *c);

/** vn_dhcp_free() - free @d (NULL allowed). */
void vn_dhcp_free(struct vn_dhcp *d);

/**
 * vn_dhcp_static_add() - client @mac always gets @ip (network order; inside or outside the
 * pool, reserved from it for others). Return: 0, -EEXIST (@ip or @mac given already),
 * -ENOSPC (VN_DHCP_MAX_STATIC).
 */
int vn_dhcp_static_add(struct vn_dhcp *d, const struct rte_ether_addr *mac, uint32_t ip);

/**
 * vn_dhcp_input() - process frame @frame (@len bytes) at @now: a DHCP message to the
 * server is answered into @out (@outlen >= VN_DHCP_REPLY_MAX bytes) from @mac.
 * Return: the reply's length, 0 when there is none to send (not DHCP, not for us, a
 * RELEASE), -EBADMSG when malformed (counted).
 */
int vn_dhcp_input(struct vn_dhcp *d, const uint8_t *frame, size_t len, uint64_t now,
		  const struct rte_ether_addr *mac, uint8_t *out, size_t outlen);

/**
 * vn_dhcp_lease_of() - the address leased (bound, not expired) to @mac at @now.
 * Return: it (network order), or 0.
 */
uint32_t vn_dhcp_lease_of(const struct vn_dhcp *d, const struct rte_ether_addr *mac, uint64_t now);

/** vn_dhcp_changes() - Return: how many times a lease was bound or released so far. */
uint64_t vn_dhcp_changes(const struct vn_dhcp *d);

/**
 * vn_dhcp_describe() - add "leases" ([{mac, ip, state, expires_in}]) and "dhcp_counters"
 * to the open object in @b.
 */
void vn_dhcp_describe(const struct vn_dhcp *d, uint64_t now, JsonBuilder *b);

/**
 * vn_dhcp_save() / vn_dhcp_restore() - the bound leases as a JSON array in the open
 * builder @b ([{mac, ip, expires_in}]) / back from such an array @a at @now.
 */
void vn_dhcp_save(const struct vn_dhcp *d, uint64_t now, JsonBuilder *b);
void vn_dhcp_restore(struct vn_dhcp *d, JsonArray *a, uint64_t now);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(vn_dhcp, vn_dhcp_free)

#endif

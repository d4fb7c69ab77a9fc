/* SPDX-License-Identifier: MIT */
/*
 * Neighbour resolution of the local VTEP on its underlay: ARP (RFC 826) and IPv6 Neighbor
 * Discovery (RFC 4861) wire formats on byte buffers (backend/neigh_wire.c), and a neighbour
 * cache for one local interface identity (backend/neigh.c) that answers requests for our
 * address and resolves the MAC of remote VTEPs or of the gateway towards them.
 *
 * Control thread only (GLib main loop), never per data-path frame: frames are plain byte
 * buffers, untagged Ethernet, built without padding (42 bytes for ARP, 86 for NS/NA).
 * Time is milliseconds of a monotonic clock (uint64_t now_ms), supplied by the caller.
 */
#ifndef VNICD_NEIGH_H
#define VNICD_NEIGH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>
#include <json-glib/json-glib.h>
#include <rte_ether.h>

#include "vnicd/tunnel.h" /* struct vn_tun_addr */

/* ---- wire formats ---------------------------------------------------------------------- */

#define VN_NEIGH_ARP_LEN 42 /* Ethernet + ARP for IPv4 over Ethernet */
#define VN_NEIGH_ND_LEN 86  /* Ethernet + IPv6 + NS/NA + one link-layer address option */
#define VN_NEIGH_FRAME_MAX VN_NEIGH_ND_LEN

/* NA flags (first byte of the NA's reserved word) */
#define VN_ND_NA_ROUTER 0x80
#define VN_ND_NA_SOLICITED 0x40
#define VN_ND_NA_OVERRIDE 0x20

/** enum vn_neigh_kind - what vn_neigh_parse() found. */
enum vn_neigh_kind {
	VN_NEIGH_OTHER = 0, /* neither ARP nor NS/NA (or an ARP opcode other than 1, 2) */
	VN_NEIGH_ARP_REQUEST,
	VN_NEIGH_ARP_REPLY,
	VN_NEIGH_NS,
	VN_NEIGH_NA,
};

/**
 * struct vn_neigh_pkt - a parsed ARP or NS/NA frame. For ARP: @sender_* are sha/spa,
 * @target_* tha/tpa. For ND: @sender_ip is the IPv6 source, @sender_mac the Ethernet
 * source, @target_ip the NS/NA target, @dst_ip the IPv6 destination, @lladdr the source
 * (NS) or target (NA) link-layer address option when @has_lladdr.
 */
struct vn_neigh_pkt {
	uint8_t kind;	  /* enum vn_neigh_kind */
	uint8_t na_flags; /* NA: VN_ND_NA_* */
	bool has_lladdr;
	struct rte_ether_addr eth_dst, eth_src;
	struct rte_ether_addr sender_mac, target_mac, lladdr;
	struct vn_tun_addr sender_ip, target_ip, dst_ip;
};

/**
 * vn_neigh_build_arp_request() - an ARP request from @mac/@sip for @tip into @buf (@len
 * bytes): broadcast, or unicast to @dst when not NULL (a re-probe); tha is zero.
 * Return: the frame length (VN_NEIGH_ARP_LEN), -ENOSPC (@len too small) or -EINVAL (an
 * address is not IPv4).
 */
int vn_neigh_build_arp_request(uint8_t *buf, size_t len, const struct rte_ether_addr *mac,
			       const struct vn_tun_addr *sip, const struct vn_tun_addr *tip,
			       const struct rte_ether_addr *dst);

/**
 * vn_neigh_build_arp_reply() - the ARP reply of @mac/@ip to request @req: unicast to its
 * sha, tha/tpa its sha/spa. Return: the frame length, -ENOSPC or -EINVAL.
 */
int vn_neigh_build_arp_reply(uint8_t *buf, size_t len, const struct rte_ether_addr *mac,
			     const struct vn_tun_addr *ip, const struct vn_neigh_pkt *req);

/**
 * vn_neigh_build_garp() - a gratuitous ARP for @mac/@ip: a broadcast request with spa =
 * tpa = @ip and tha zero (as Linux's arping -U). Return: the frame length, -ENOSPC, -EINVAL.
 */
int vn_neigh_build_garp(uint8_t *buf, size_t len, const struct rte_ether_addr *mac,
			const struct vn_tun_addr *ip);

/**
 * vn_neigh_build_ns() - a Neighbor Solicitation from @mac/@sip for @target, hop limit 255,
 * with a source link-layer address option: to the solicited-node multicast address of
 * @target (ff02::1:ffXX:XXXX, MAC 33:33:ff:XX:XX:XX), or unicast to @target at @dst when
 * @dst is not NULL (a re-probe). Return: the frame length (VN_NEIGH_ND_LEN), -ENOSPC, or
 * -EINVAL (an address is not IPv6).
 */
int vn_neigh_build_ns(uint8_t *buf, size_t len, const struct rte_ether_addr *mac,
		      const struct vn_tun_addr *sip, const struct vn_tun_addr *target,
		      const struct rte_ether_addr *dst);

/**
 * vn_neigh_build_na() - the Neighbor Advertisement of @mac/@ip answering solicitation
 * @ns: to its source with the solicited and override flags, or, when its source is the
 * unspecified address (duplicate address detection), to all-nodes ff02::1 with override
 * only; Ethernet destination the NS's source link-layer option, else its Ethernet source;
 * with a target link-layer address option. Return: the frame length, -ENOSPC or -EINVAL.
 */
int vn_neigh_build_na(uint8_t *buf, size_t len, const struct rte_ether_addr *mac,
		      const struct vn_tun_addr *ip, const struct vn_neigh_pkt *ns);

/**
 * vn_neigh_build_na_unsolicited() - an unsolicited NA announcing @mac for @ip to all-nodes
 * (ff02::1, MAC 33:33:00:00:00:01), override flag set, target link-layer address option.
 * Return: the frame length, -ENOSPC or -EINVAL.
 */
int vn_neigh_build_na_unsolicited(uint8_t *buf, size_t len, const struct rte_ether_addr *mac,
				  const struct vn_tun_addr *ip);

/**
 * vn_neigh_parse() - parse and validate the untagged Ethernet frame @buf (@len bytes, may
 * be padded) into *@p. ARP: htype 1, ptype 0x0800, hlen 6, plen 4, a unicast sha. NS/NA
 * (RFC 4861 7.1): IPv6 next header 58 directly, hop limit 255, payload length within the
 * frame, ICMPv6 code 0, checksum right, at least 24 bytes, target not multicast, source
 * not multicast, options within bounds and none of length zero, a link-layer option
 * unicast; NS from :: only to a solicited-node address and without a source link-layer
 * option; NA to a multicast address not solicited. Thread: any.
 * Return: 0 (@p->kind VN_NEIGH_OTHER for frames that are not ARP or NS/NA at all), or
 * -EBADMSG (an ARP or NS/NA frame failing validation; *@p is then unspecified).
 */
int vn_neigh_parse(const uint8_t *buf, size_t len, struct vn_neigh_pkt *p);

/**
 * vn_neigh_icmp6_csum() - Return: the ICMPv6 checksum (host order, ready to store
 * big-endian) of the @len bytes at @icmp (checksum field as it is) from @src to @dst; a
 * packet whose stored checksum is right gives 0.
 */
uint16_t vn_neigh_icmp6_csum(const uint8_t src[16], const uint8_t dst[16], const uint8_t *icmp,
			     size_t len);

/* ---- the neighbour cache --------------------------------------------------------------- */

/** enum vn_neigh_state - a cache entry's state (JSON names in vn_neigh_state_name()). */
enum vn_neigh_state {
	VN_NEIGH_INCOMPLETE = 0, /* resolving: broadcast/multicast probes, no MAC yet */
	VN_NEIGH_REACHABLE,	 /* confirmed by a reply within the reachable time */
	VN_NEIGH_STALE,		 /* MAC known but unconfirmed: being re-probed */
	VN_NEIGH_FAILED,	 /* no answer: retried after the failed-retry time */
};

/**
 * struct vn_neigh_cfg - one local interface identity and its cache's parameters. Zero
 * timers and limits take Linux-like defaults (in brackets).
 * @prefix_len: on-link prefix of @addr (0: none known). A remote is on-link when in the
 * prefix; otherwise, or for every remote when @prefix_len is 0, its next hop is the
 * gateway when there is one, else the remote itself (treated as on-link).
 * @send: transmit @frame (@len bytes, only valid during the call); must not call the cache.
 * @changed: the MAC of neighbour (next hop) @ip became known or changed (@mac), or was
 * lost (@mac NULL). Called after the cache is consistent; it may call the cache.
 */
struct vn_neigh_cfg {
	struct rte_ether_addr mac;
	struct vn_tun_addr addr;
	uint8_t prefix_len;
	bool has_gateway;
	struct vn_tun_addr gateway; /* same family as @addr, in the prefix when there is one */
	uint32_t max_entries;	    /* [256] */
	uint32_t reachable_ms;	    /* REACHABLE lasts this long after a confirmation [30000] */
	uint32_t retrans_ms;	    /* between probes [1000] */
	uint32_t probes;	    /* probes before FAILED [3] */
	uint32_t failed_retry_ms;   /* FAILED entries are resolved again after this [10000] */
	void (*send)(void *ud, const uint8_t *frame, size_t len);
	void (*changed)(void *ud, const struct vn_tun_addr *ip, const struct rte_ether_addr *mac);
	void *ud;
	bool passive; /* another host holds @addr and answers for it: we only resolve, with
			 @mac (its MAC) as ours */
};

/** struct vn_neigh_counters - what the cache did (JSON names are the field names). */
struct vn_neigh_counters {
	uint64_t requests_sent;	    /* ARP requests and NS, first probes and retransmits */
	uint64_t replies_sent;	    /* ARP replies and solicited NA */
	uint64_t announces_sent;    /* gratuitous ARP and unsolicited NA */
	uint64_t requests_received; /* ARP requests and NS for our address */
	uint64_t replies_received;  /* ARP replies and NA about an entry we track */
	uint64_t resolved;	    /* an entry got a MAC */
	uint64_t mac_changes;	    /* a known MAC changed */
	uint64_t failures;	    /* an entry went FAILED */
	uint64_t table_full;	    /* a resolution refused: max_entries reached */
	uint64_t malformed;	    /* ARP/ND frames failing vn_neigh_parse() */
	uint64_t address_conflicts; /* another MAC claimed our address */
};

/** struct vn_neigh - the cache (opaque); vn_neigh is its g_autoptr() name. */
typedef struct vn_neigh vn_neigh;

/**
 * vn_neigh_new() - a cache for the identity in @cfg (copied). Thread: control.
 * Return: the cache (free with vn_neigh_free()), or NULL when @cfg is invalid (no send
 * callback, a multicast/zero MAC or address, a prefix too long, a gateway of the other
 * family, equal to @addr or outside the prefix).
 */
struct vn_neigh *vn_neigh_new(const struct vn_neigh_cfg *cfg);

/** vn_neigh_free() - free @n (NULL allowed); no callback is called. */
void vn_neigh_free(struct vn_neigh *n);

/**
 * vn_neigh_nexthop() - the next hop of remote @ip in *@nh: the gateway when @ip is
 * off-link, else @ip. Return: 0, or -EINVAL (@ip of the other family, ours, multicast,
 * unspecified or IPv4 broadcast).
 */
int vn_neigh_nexthop(const struct vn_neigh *n, const struct vn_tun_addr *ip,
		     struct vn_tun_addr *nh);

/**
 * vn_neigh_lookup() - the MAC of the next hop of remote @ip into *@mac. Starts resolving
 * an unknown next hop (a broadcast/multicast request via send()); a STALE entry not yet
 * being probed is probed now; a FAILED entry past its retry time is resolved again.
 * Return: 0 (REACHABLE or STALE: *@mac set), -EAGAIN (resolution started or in progress),
 * -EHOSTUNREACH (FAILED, until its retry), -ENOSPC (a new entry would exceed max_entries;
 * counted as table_full), or -EINVAL as vn_neigh_nexthop().
 */
int vn_neigh_lookup(struct vn_neigh *n, const struct vn_tun_addr *ip, uint64_t now_ms,
		    struct rte_ether_addr *mac);

/**
 * vn_neigh_forget() - drop the entry of next hop @ip (a remote VTEP went away), without
 * calling changed(). Return: 0, or -ENOENT.
 */
int vn_neigh_forget(struct vn_neigh *n, const struct vn_tun_addr *ip);

/**
 * vn_neigh_input() - process received frame @frame (@len bytes): answer an ARP request or
 * NS for our address (unicast to the requester, via send()), learn from replies and
 * advertisements about entries we track and from requests whose sender we track (RFC 4861
 * 7.2.5 rules for NA flags), count another MAC claiming our address; frames we send
 * ourselves (our Ethernet source) and unicast frames to another MAC are ignored.
 * Return: true when the frame was ARP/ND for us (answered, or about our address or an
 * entry we track), false otherwise (not ARP/ND, malformed, or about others).
 */
bool vn_neigh_input(struct vn_neigh *n, const uint8_t *frame, size_t len, uint64_t now_ms);

/**
 * vn_neigh_tick() - run the timers due at @now_ms: retransmit probes of INCOMPLETE entries
 * every retrans_ms, FAILED after the configured probes; REACHABLE entries older than
 * reachable_ms go STALE and are re-probed (unicast, the last probe broadcast), FAILED when
 * no answer comes (changed(..., NULL)); FAILED entries are resolved again after
 * failed_retry_ms. Return: when the next timer is due (UINT64_MAX: none).
 */
uint64_t vn_neigh_tick(struct vn_neigh *n, uint64_t now_ms);

/**
 * vn_neigh_set_identity() - from now on our MAC is @mac; @passive: another host holds our
 * address (it answers requests and announces; we only resolve, and its frames are ours).
 */
void vn_neigh_set_identity(struct vn_neigh *n, const struct rte_ether_addr *mac, bool passive);

/** vn_neigh_announce() - send a gratuitous ARP (IPv4) or unsolicited NA (IPv6) for us. */
void vn_neigh_announce(struct vn_neigh *n);

/** vn_neigh_counters() - Return: @n's counters (valid until vn_neigh_free()). */
const struct vn_neigh_counters *vn_neigh_counters(const struct vn_neigh *n);

/** vn_neigh_state_name() - Return: "incomplete", "reachable", "stale" or "failed". */
const char *vn_neigh_state_name(enum vn_neigh_state s);

/**
 * vn_neigh_describe() - add to the object being built in @b the members "neighbours" (an
 * array of {"ip", "mac" or null, "state", "probes"}, ordered by address) and
 * "neighbour_counters" (struct vn_neigh_counters by field name).
 */
void vn_neigh_describe(const struct vn_neigh *n, JsonBuilder *b);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(vn_neigh, vn_neigh_free)

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Tunnel wire formats: VXLAN (RFC 7348), Geneve (RFC 8926) and NVGRE (RFC 7637) over an
 * IPv4 or IPv6 underlay, as per-frame transformations of the data path (policy/tunnel.c).
 * The overlay network kind (backend/net_overlay.c) decides where frames go; these
 * functions only build, check and strip headers. No allocation except the one documented
 * in vn_tun_encap(), no syscall, no log.
 *
 * Outer headers of one remote VTEP are prebuilt once (struct vn_tun_tmpl, control thread)
 * and copied in front of each frame with the per-frame fields patched (lengths, IPv4
 * header checksum, UDP source port from the inner flow, VNI, DSCP/ECN, IPv6 UDP checksum).
 */
#ifndef VNICD_TUNNEL_H
#define VNICD_TUNNEL_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

enum vn_tun_type { VN_TUN_VXLAN = 0, VN_TUN_GENEVE, VN_TUN_NVGRE, VN_TUN__MAX };

#define VN_TUN_VXLAN_PORT 4789
#define VN_TUN_GENEVE_PORT 6081
#define VN_TUN_VNI_MAX 0xffffffu
#define VN_TUN_HDR_MAX 72 /* 14 Ethernet + 40 IPv6 + 8 UDP + 8 VXLAN/Geneve (no options) */

/** struct vn_tun_addr - an underlay address: IPv4 (@v6 false, in @a[0..4)) or IPv6. */
struct vn_tun_addr {
	bool v6;
	uint8_t a[16]; /* network order */
};

/**
 * struct vn_tun_tmpl - the outer headers towards one remote VTEP, ready to copy:
 * Ethernet (next hop's MAC, local VTEP MAC), IPv4 (TTL 64, DF set, checksum of the fixed
 * fields) or IPv6 (hop limit 64), UDP (destination port, source port 0) or GRE (K bit,
 * protocol 0x6558), and the tunnel header with VNI 0.
 */
struct vn_tun_tmpl {
	uint8_t type; /* enum vn_tun_type */
	bool v6;
	uint8_t len; /* bytes of @h in use: the outer headers */
	uint8_t l3_off, l4_off, tun_off;
	uint8_t h[VN_TUN_HDR_MAX];
};

/**
 * vn_tun_tmpl_build() - prebuild @t for @type from @local to @remote (same family), UDP
 * destination port @dstport (ignored for NVGRE), Ethernet @src -> @dst.
 * Return: 0, or -EINVAL (families differ, bad type).
 */
int vn_tun_tmpl_build(struct vn_tun_tmpl *t, enum vn_tun_type type, const struct vn_tun_addr *local,
		      const struct vn_tun_addr *remote, uint16_t dstport,
		      const struct rte_ether_addr *src, const struct rte_ether_addr *dst);

/** vn_tun_tmpl_set_dst() - change the next hop's MAC in @t (a neighbour was resolved). */
void vn_tun_tmpl_set_dst(struct vn_tun_tmpl *t, const struct rte_ether_addr *dst);

/**
 * vn_tun_flow_hash() - Return: a hash of the inner flow of Ethernet frame @m (MACs, and
 * IP addresses, protocol and ports when present; VLAN tags skipped), stable per flow.
 */
uint32_t vn_tun_flow_hash(const struct rte_mbuf *m);

/**
 * vn_tun_encap() - put the outer headers of @t in front of inner Ethernet frame @m, for VNI
 * (VSID for NVGRE) @vni: lengths, UDP source port 49152 + hash % 16384 (NVGRE: FlowID =
 * hash & 0xff), DSCP and ECN copied from an inner IPv4/IPv6 header (RFC 6040 normal
 * mode; 0 otherwise), IPv4 header checksum, IPv4 UDP checksum 0, IPv6 UDP checksum
 * computed over the whole datagram (RFC 6935/6936): from the inner TCP/UDP checksum when
 * the inner frame has one (as Linux's local checksum offload: its transport payload is not
 * read, and a wrong inner checksum makes a wrong outer one), else by reading it all.
 * Nothing is set in ol_flags. When @m
 * is direct, not shared (refcnt 1) and has the headroom, the headers are prepended in
 * place; otherwise they go in one new mbuf from @mp chained in front of @m itself (its
 * segments become the tail of the frame, their data and metadata untouched: a shared @m
 * stays intact for its other owners, whose references it keeps).
 * Return: the frame to send (owning @m's reference), or NULL when no mbuf could be had
 * or the frame is too long for the outer length fields (@m's reference is dropped).
 */
struct rte_mbuf *vn_tun_encap(const struct vn_tun_tmpl *t, uint32_t vni, struct rte_mbuf *m,
			      struct rte_mempool *mp);

/** What decapsulation found wrong with a frame addressed to the local VTEP. */
enum vn_tun_err {
	VN_TUN_OK = 0,
	VN_TUN_NOT_MINE,    /* not tunnel traffic for this VTEP: the underlay forwards it */
	VN_TUN_TRUNC,	    /* an outer header cut short */
	VN_TUN_OUTER_FRAG,  /* an outer IP fragment (never reassembled, RFC 7348 4.3) */
	VN_TUN_BAD_CSUM,    /* IPv6 outer UDP checksum zero or wrong; IPv4 nonzero and wrong */
	VN_TUN_BAD_FLAGS,   /* VXLAN I flag unset; NVGRE without K, with C/S, or version != 0 */
	VN_TUN_BAD_VERSION, /* Geneve version != 0 */
	VN_TUN_BAD_PROTO,   /* Geneve/GRE protocol not 0x6558 (Ethernet) */
	VN_TUN_CRIT_OPT,    /* Geneve C bit: a critical option this VTEP does not know */
	VN_TUN_OAM,	    /* Geneve O bit: a control frame, not for the data path */
	VN_TUN_INNER_SHORT, /* the inner frame is shorter than an Ethernet header */
	VN_TUN_ECN,	    /* RFC 6040: outer CE on a Not-ECT inner frame */
	VN_TUN_ERR__MAX
};

/** vn_tun_err_name() - Return: "truncated", "outer_fragment", ... (JSON counter names). */
const char *vn_tun_err_name(enum vn_tun_err e);

/** struct vn_tun_local - what the local VTEP accepts. */
struct vn_tun_local {
	uint8_t type; /* enum vn_tun_type */
	struct vn_tun_addr addr;
	uint16_t dstport; /* UDP destination port (VXLAN, Geneve) */
};

/** struct vn_tun_rx - a parsed tunnel frame. */
struct vn_tun_rx {
	uint32_t vni;		   /* VNI, or VSID for NVGRE */
	struct vn_tun_addr remote; /* the outer source address */
	uint16_t inner_off;	   /* offset of the inner Ethernet header */
	uint16_t inner_len;	   /* its length (to the end of the outer UDP/IP datagram) */
	uint8_t outer_tos;	   /* outer DSCP/ECN byte (traffic class for IPv6) */
};

/**
 * vn_tun_parse() - is Ethernet frame @m (untagged; any number of segments) tunnel traffic
 * of type @loc->type to @loc (destination address, UDP port or GRE), and is it well formed?
 * A frame whose IP header is too short to show its destination, and a non-first UDP
 * fragment (its port cannot be seen), is VN_TUN_NOT_MINE: the host stack deals with it.
 * Reads only (rte_pktmbuf_read()); the outer IP and UDP checks (lengths, fragments,
 * checksums) come before those of the tunnel header.
 * Return: VN_TUN_OK with @rx filled, VN_TUN_NOT_MINE, or the reason to drop it.
 */
enum vn_tun_err vn_tun_parse(const struct rte_mbuf *m, const struct vn_tun_local *loc,
			     struct vn_tun_rx *rx);

/**
 * vn_tun_decap() - strip the outer headers of @m as @rx found them and apply RFC 6040's
 * decapsulation rule to the inner IP header (outer CE marks an ECT inner frame CE; an
 * inner frame that is not IP passes unchanged). @m is not shared (a received frame); when
 * its first segment ends inside the outer headers (a header mbuf of vn_tun_encap()), the
 * start of the inner frame is copied into it. Trailing bytes past @rx->inner_len go.
 * Return: VN_TUN_OK, VN_TUN_ECN (drop it), or VN_TUN_TRUNC when the first segment could
 * not be reused (indirect or shared).
 */
enum vn_tun_err vn_tun_decap(struct rte_mbuf *m, const struct vn_tun_rx *rx);

/**
 * vn_tun_too_big() - build in a new mbuf from @mp the ICMP "fragmentation needed" (IPv4,
 * type 3 code 4) or ICMPv6 "packet too big" reply to inner Ethernet frame @m (which is not
 * consumed), as Linux does for a bridged tunnel: Ethernet
 * source the frame's destination, IP source the frame's destination address, next-hop MTU
 * @mtu, as much of the offending packet as fits in 576 bytes (IPv4) or 1280 (IPv6).
 * Return: the reply, or NULL when @m is not IP, is itself an ICMP error, carries DF unset
 * (IPv4: the caller may then drop it silently), or no mbuf could be had.
 */
struct rte_mbuf *vn_tun_too_big(const struct rte_mbuf *m, uint16_t mtu, struct rte_mempool *mp);

#endif

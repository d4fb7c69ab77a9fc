/* SPDX-License-Identifier: MIT */
/* Tunnel wire formats (VXLAN, Geneve, NVGRE over IPv4/IPv6): build, check and strip headers. */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <rte_hash_crc.h>
#include <rte_mbuf.h>

#include "policy/tunnel_priv.h"
#include "vnicd/tunnel.h"

#define UDP_SPORT_BASE 49152 /* RFC 7348 5: the dynamic/private port range */
#define VXLAN_FLAG_I 0x08
#define GENEVE_FLAG_O 0x80
#define GENEVE_FLAG_C 0x40
#define GRE_FLAGS_KEY 0x2000 /* K bit only: no checksum, no sequence number, version 0 */
#define ECN_MASK 0x03
#define ECN_CE 0x03

/* ---- templates ---- */

static void tmpl_ip(struct vn_tun_tmpl *t, const struct vn_tun_addr *local,
		    const struct vn_tun_addr *remote, uint8_t proto)
{
	uint8_t *ip = t->h + t->l3_off;

	if (t->v6) {
		ip[0] = 0x60;
		ip[6] = proto;
		ip[7] = 64;
		memcpy(ip + 8, local->a, 16);
		memcpy(ip + 24, remote->a, 16);
		return;
	}
	ip[0] = 0x45;
	ip[6] = 0x40; /* DF (RFC 7348 4.3: no fragmentation) */
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, local->a, 4);
	memcpy(ip + 16, remote->a, 4);
	/* checksum of the fixed fields: vn_tun_encap() adds the TOS and the total length */
	vn_put_csum(ip + 10, rte_raw_cksum(ip, 20));
}

int vn_tun_tmpl_build(struct vn_tun_tmpl *t, enum vn_tun_type type, const struct vn_tun_addr *local,
		      const struct vn_tun_addr *remote, uint16_t dstport,
		      const struct rte_ether_addr *src, const struct rte_ether_addr *dst)
{
	bool gre = type == VN_TUN_NVGRE;
	uint8_t *tun;

	if ((unsigned)type >= VN_TUN__MAX || local->v6 != remote->v6)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	t->type = (uint8_t)type;
	t->v6 = local->v6;
	t->l3_off = RTE_ETHER_HDR_LEN;
	t->l4_off = (uint8_t)(t->l3_off + (t->v6 ? 40 : 20));
	t->tun_off = (uint8_t)(t->l4_off + (gre ? 0 : 8));
	t->len = (uint8_t)(t->tun_off + 8);
	memcpy(t->h, dst, RTE_ETHER_ADDR_LEN);
	memcpy(t->h + 6, src, RTE_ETHER_ADDR_LEN);
	vn_put16(t->h + 12, t->v6 ? VN_ETH_IPV6 : VN_ETH_IPV4);
	tmpl_ip(t, local, remote, gre ? IPPROTO_GRE : IPPROTO_UDP);
	if (!gre)
		vn_put16(t->h + t->l4_off + 2, dstport);
	tun = t->h + t->tun_off;
	if (type == VN_TUN_VXLAN) {
		tun[0] = VXLAN_FLAG_I;
	} else if (type == VN_TUN_GENEVE) {
		vn_put16(tun + 2, VN_ETH_TEB); /* version 0, no options, O and C clear */
	} else {
		vn_put16(tun, GRE_FLAGS_KEY);
		vn_put16(tun + 2, VN_ETH_TEB);
	}
	return 0;
}

void vn_tun_tmpl_set_dst(struct vn_tun_tmpl *t, const struct rte_ether_addr *dst)
{
	memcpy(t->h, dst, RTE_ETHER_ADDR_LEN);
}

/* ---- the inner frame ---- */

static bool has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP ||
	       proto == IPPROTO_UDPLITE || proto == IPPROTO_DCCP;
}

/* Append the 4 bytes of L4 ports at @off of @m to key @k of *@n bytes, when there. */
static void key_ports(const struct rte_mbuf *m, uint32_t off, uint8_t *k, size_t *n)
{
	uint8_t b[4];
	const uint8_t *p = rte_pktmbuf_read(m, off, 4, b);

	if (p) {
		memcpy(k + *n, p, 4);
		*n += 4;
	}
}

/* The hash of flow key @key of @n bytes (zero-padded to 56): CRC32-C over its 8-byte words,
 * four when it fits 32 bytes (IPv4, or no IP), else seven (IPv6), one instruction a word
 * instead of rte_hash_crc()'s loop over the length and its tail; then mixed. */
static inline uint32_t key_hash(const uint64_t *key, size_t n)
{
	uint32_t h = rte_hash_crc_8byte(key[0], 0);

	h = rte_hash_crc_8byte(key[1], h);
	h = rte_hash_crc_8byte(key[2], h);
	h = rte_hash_crc_8byte(key[3], h);
	if (n > 32) {
		h = rte_hash_crc_8byte(key[4], h);
		h = rte_hash_crc_8byte(key[5], h);
		h = rte_hash_crc_8byte(key[6], h);
	}
	/* CRC is linear: flows that differ in a few bits of one word would share low bits
	 * (the source port keeps 14); mixed as MurmurHash3's finaliser mixes */
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	return h ^ h >> 13;
}

/* vn_tun_flow_hash() of any frame, reading its headers wherever they are. */
static __rte_noinline uint32_t flow_hash_any(const struct rte_mbuf *m)
{
	uint64_t key[7] = {0}; /* aligned, zero-padded: key_hash() */
	uint8_t b[40], *k = (uint8_t *)key;
	const uint8_t *p = rte_pktmbuf_read(m, 0, 12, b);
	size_t n = 12;
	uint32_t l3;
	uint16_t et;

	if (!p)
		return 0;
	memcpy(k, p, 12); /* MAC addresses */
	l3 = vn_tun_inner_l3(m, &et);
	if (et == VN_ETH_IPV4 && (p = rte_pktmbuf_read(m, l3, 20, b)) && p[0] >> 4 == 4) {
		memcpy(k + n, p + 12, 8);
		n += 8;
		k[n++] = p[9];
		/* fragments of one datagram stay together: no ports in any of them */
		if (has_ports(p[9]) && !(vn_get16(p + 6) & 0x3fff) && (p[0] & 0xf) >= 5)
			key_ports(m, l3 + (p[0] & 0xfu) * 4, k, &n);
	} else if (et == VN_ETH_IPV6 && (p = rte_pktmbuf_read(m, l3, 40, b)) && p[0] >> 4 == 6) {
		memcpy(k + n, p + 8, 32);
		n += 32;
		k[n++] = p[6];
		if (has_ports(p[6]))
			key_ports(m, l3 + 40, k, &n);
	}
	return key_hash(key, n);
}

static inline uint64_t load32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

uint32_t vn_tun_flow_hash(const struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	uint64_t key[4], ports = 0;

	/* the common case, an untagged IPv4 frame with a 20-byte header and its ports in the
	 * first segment, read in place: the same key as flow_hash_any()'s (MACs, addresses,
	 * protocol, ports; bytes 0-24), its words built in registers from the frame (stored
	 * bytes read back as words would stall store forwarding) */
	if (unlikely(RTE_BYTE_ORDER != RTE_LITTLE_ENDIAN || rte_pktmbuf_data_len(m) < 38 ||
		     p[12] != 0x08 || p[13] != 0 || p[14] != 0x45))
		return flow_hash_any(m);
	if (has_ports(p[23]) && !(vn_get16(p + 20) & 0x3fff))
		ports = load32(p + 34);
	memcpy(&key[0], p, 8);
	key[1] = load32(p + 8) | load32(p + 26) << 32;
	key[2] = load32(p + 30) | (uint64_t)p[23] << 32 | (ports & 0xffffff) << 40;
	key[3] = ports >> 24;
	return key_hash(key, 25);
}

/* The DSCP and ECN of the inner IP header of @m, 0 when it is not IP (RFC 6040 normal mode). */
static uint8_t inner_tos(const struct rte_mbuf *m)
{
	uint8_t b[2];
	const uint8_t *p;
	uint16_t et;
	uint32_t l3;

	p = rte_pktmbuf_mtod(m, const uint8_t *);
	if (rte_pktmbuf_data_len(m) >= 16 && p[12] == 0x08 && p[13] == 0) /* untagged IPv4 */
		return p[14] >> 4 == 4 ? p[15] : 0;
	l3 = vn_tun_inner_l3(m, &et);
	if ((et != VN_ETH_IPV4 && et != VN_ETH_IPV6) || !(p = rte_pktmbuf_read(m, l3, 2, b)))
		return 0;
	if (et == VN_ETH_IPV4)
		return p[0] >> 4 == 4 ? p[1] : 0;
	return p[0] >> 4 == 6 ? (uint8_t)(p[0] << 4 | p[1] >> 4) : 0;
}

/* ---- encapsulation ---- */

/*
 * Room for @len bytes of headers in front of @m: prepended when @m is writable, else a new
 * mbuf from @mp with @m chained behind it (@m's metadata untouched: rte_pktmbuf_chain()
 * would rewrite its pkt_len). Return: the head, or NULL (@m freed).
 */
static struct rte_mbuf *encap_head(struct rte_mbuf *m, uint8_t len, struct rte_mempool *mp)
{
	struct rte_mbuf *h;

	if (RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1 && rte_pktmbuf_headroom(m) >= len) {
		rte_pktmbuf_prepend(m, len);
		return m;
	}
	h = rte_pktmbuf_alloc(mp);
	if (!h || m->nb_segs >= RTE_MBUF_MAX_NB_SEGS || !rte_pktmbuf_append(h, len)) {
		rte_pktmbuf_free(h);
		rte_pktmbuf_free(m);
		return NULL;
	}
	h->next = m;
	h->nb_segs = (uint16_t)(m->nb_segs + 1);
	h->pkt_len = len + m->pkt_len;
	h->port = m->port;
	return h;
}

/* Copy @t's headers to @h: constant sizes (a few vector moves) for the four kinds of header
 * instead of a memcpy() call of a variable size. */
static inline void tmpl_copy(uint8_t *h, const struct vn_tun_tmpl *t)
{
	switch (t->len) {
	case 50: /* VXLAN, Geneve over IPv4 */
		memcpy(h, t->h, 50);
		break;
	case 42: /* NVGRE over IPv4 */
		memcpy(h, t->h, 42);
		break;
	case 70: /* VXLAN, Geneve over IPv6 */
		memcpy(h, t->h, 70);
		break;
	default:
		memcpy(h, t->h, t->len);
	}
}

/* Fill headers @h from @t for an inner frame of @inner bytes. */
static void encap_patch(const struct vn_tun_tmpl *t, uint8_t *h, uint32_t vni, uint32_t hash,
			uint8_t tos, uint32_t inner)
{
	uint8_t *ip = h + t->l3_off, *l4 = h + t->l4_off, *tun = h + t->tun_off;
	uint16_t l3len = (uint16_t)(inner + t->len - t->l3_off);
	uint16_t c;

	tmpl_copy(h, t);
	if (t->v6) {
		ip[0] = (uint8_t)(0x60 | tos >> 4);
		ip[1] = (uint8_t)(tos << 4);
		vn_put16(ip + 4, (uint16_t)(l3len - 40));
	} else {
		ip[1] = tos;
		vn_put16(ip + 2, l3len);
		/* incremental (RFC 1624) over the fixed fields' sum, read from the template (the
		 * copy just stored would stall store forwarding) */
		memcpy(&c, t->h + t->l3_off + 10, 2);
		vn_put_csum(ip + 10,
			    (uint16_t)~c + rte_cpu_to_be_16(tos) + rte_cpu_to_be_16(l3len));
	}
	if (t->type == VN_TUN_NVGRE) {
		vn_put32(tun + 4, (vni & VN_TUN_VNI_MAX) << 8 | (hash & 0xff));
		return;
	}
	vn_put16(l4, (uint16_t)(UDP_SPORT_BASE + hash % 16384));
	vn_put16(l4 + 4, (uint16_t)(l3len - (t->l4_off - t->l3_off)));
	tun[4] = (uint8_t)(vni >> 16);
	tun[5] = (uint8_t)(vni >> 8);
	tun[6] = (uint8_t)vni;
}

/* The checksum field of the TCP or UDP header at @off of @f, or -1 (cut short). */
static int32_t l4_csum_at(const struct rte_mbuf *f, uint32_t off, uint8_t proto)
{
	uint8_t b[2];
	const uint8_t *c = rte_pktmbuf_read(f, off + (proto == IPPROTO_TCP ? 16 : 6), 2, b);

	return c ? vn_get16(c) : -1;
}

/*
 * The raw sum of the @ulen bytes of the UDP datagram at @l4 of frame @f, whose inner frame
 * starts at @in, read without the inner transport payload where the inner frame carries a
 * TCP or UDP checksum (Linux's local checksum offload, LCO): a transport checksum that
 * verifies makes its segment sum to the complement of its pseudo-header's sum, so only the
 * headers in front of the segment and any padding behind it are read. An inner checksum
 * that does not verify thus gives an outer one that does not either: the far end drops the
 * frame, where the inner receiver would have dropped its segment. Return: the sum, or -1
 * when the inner frame has no such checksum (not TCP/UDP on untagged IPv4 or IPv6 without
 * extension headers, a fragment, UDP without a checksum, lengths that disagree).
 */
static int64_t lco_sum(const struct rte_mbuf *f, uint32_t l4, uint32_t ulen, uint32_t in)
{
	uint32_t inner = rte_pktmbuf_pkt_len(f) - in, hl, tl, seg, ph, pad_off;
	uint8_t b[14 + 40], proto;
	const uint8_t *p = inner >= 14 + 40 ? rte_pktmbuf_read(f, in, sizeof(b), b) : NULL;
	int64_t hs, ps = 0;
	int32_t c;
	uint16_t ss;

	if (!p && inner >= 14 + 20) /* a short IPv4 frame */
		p = rte_pktmbuf_read(f, in, 14 + 20, b);
	if (!p || l4 + ulen != rte_pktmbuf_pkt_len(f))
		return -1;
	if (vn_get16(p + 12) == VN_ETH_IPV4 && p[14] >> 4 == 4) {
		hl = (p[14] & 0xfu) * 4, tl = vn_get16(p + 16), proto = p[23];
		if (hl < 20 || (vn_get16(p + 20) & 0x3fff) || tl < hl)
			return -1;
		seg = tl - hl;
		ph = vn_phdr_sum(p + 26, p + 30, 4, proto, seg);
	} else if (vn_get16(p + 12) == VN_ETH_IPV6 && inner >= 14 + 40 && p[14] >> 4 == 6) {
		hl = 40, seg = vn_get16(p + 18), tl = 40 + seg, proto = p[20];
		ph = vn_phdr_sum(p + 22, p + 38, 16, proto, seg);
	} else {
		return -1;
	}
	if ((proto != IPPROTO_TCP && proto != IPPROTO_UDP) || 14 + tl > inner ||
	    seg < (proto == IPPROTO_TCP ? 20u : 8u) ||
	    (c = l4_csum_at(f, in + 14 + hl, proto)) < 0 || (proto == IPPROTO_UDP && c == 0))
		return -1;
	hs = vn_cksum_mbuf(f, l4, in + 14 + hl - l4); /* outer UDP .. inner IP header */
	ss = (uint16_t)~vn_fold(ph);		      /* the inner segment's sum */
	pad_off = in + 14 + tl;
	if (pad_off < l4 + ulen)
		ps = vn_cksum_mbuf(f, pad_off, l4 + ulen - pad_off);
	if (hs < 0 || ps < 0)
		return -1;
	if ((in + 14 + hl - l4) & 1) /* an odd start: its words are the other way round */
		ss = rte_bswap16(ss);
	if ((pad_off - l4) & 1)
		ps = rte_bswap16((uint16_t)ps);
	return hs + ss + ps;
}

/* The IPv6 UDP checksum of frame @f whose headers (from @t) are at @h. */
static void encap_udp6_csum(const struct vn_tun_tmpl *t, struct rte_mbuf *f, uint8_t *h)
{
	uint8_t *ip = h + t->l3_off;
	uint32_t ulen = vn_get16(ip + 4);
	int64_t lco = lco_sum(f, t->l4_off, ulen, t->len);
	uint32_t raw = lco >= 0 ? (uint32_t)lco /* the frame holds it all: */
				: (uint32_t)vn_cksum_mbuf(f, t->l4_off, ulen);

	vn_put_csum(h + t->l4_off + 6, vn_phdr_sum(ip + 8, ip + 24, 16, IPPROTO_UDP, ulen) + raw);
	if (!memcmp(h + t->l4_off + 6, "\0\0", 2)) /* RFC 8200 8.1: 0 is sent as 0xffff */
		vn_put16(h + t->l4_off + 6, 0xffff);
}

struct rte_mbuf *vn_tun_encap(const struct vn_tun_tmpl *t, uint32_t vni, struct rte_mbuf *m,
			      struct rte_mempool *mp)
{
	uint32_t inner = rte_pktmbuf_pkt_len(m), hash;
	struct rte_mbuf *f;
	uint8_t tos, *h;

	if (inner + t->len - t->l3_off > UINT16_MAX) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	hash = vn_tun_flow_hash(m);
	tos = inner_tos(m);
	f = encap_head(m, t->len, mp);
	if (!f)
		return NULL;
	h = rte_pktmbuf_mtod(f, uint8_t *);
	encap_patch(t, h, vni, hash, tos, inner);
	if (t->v6 && t->type != VN_TUN_NVGRE)
		encap_udp6_csum(t, f, h);
	return f;
}

/* ---- parsing ---- */

/* What the outer IP header says. */
struct outer {
	uint32_t l4;	 /* offset of the UDP or GRE header */
	uint32_t end;	 /* offset of the end of the IP datagram */
	uint8_t proto;	 /* upper-layer protocol */
	bool frag;	 /* a fragment */
	bool later_frag; /* a fragment that does not start the datagram */
	bool bad_csum;	 /* IPv4 header checksum wrong */
	const uint8_t *src, *dst;
	uint8_t addr[32]; /* src, dst when the header is not contiguous */
};

static enum vn_tun_err outer_ip4(const struct rte_mbuf *m, const struct vn_tun_local *loc,
				 struct outer *o, struct vn_tun_rx *rx)
{
	uint8_t b[60];
	const uint8_t *p = rte_pktmbuf_read(m, RTE_ETHER_HDR_LEN, 20, b);
	uint32_t ihl, tot;

	if (!p || p[0] >> 4 != 4 || memcmp(p + 16, loc->addr.a, 4))
		return VN_TUN_NOT_MINE;
	o->proto = p[9];
	ihl = (p[0] & 0xfu) * 4;
	tot = vn_get16(p + 2);
	o->frag = vn_get16(p + 6) & 0x3fff;
	o->later_frag = vn_get16(p + 6) & 0x1fff;
	rx->outer_tos = p[1];
	rx->remote.v6 = false;
	memcpy(rx->remote.a, p + 12, 4);
	if (ihl < 20 || tot < ihl || RTE_ETHER_HDR_LEN + tot > rte_pktmbuf_pkt_len(m))
		return VN_TUN_TRUNC;
	if (likely(ihl == 20)) {
		o->bad_csum = vn_ip4_hdr20_sum(p) != 0xffff;
	} else {
		p = rte_pktmbuf_read(m, RTE_ETHER_HDR_LEN, ihl, b); /* options are skipped */
		o->bad_csum = rte_raw_cksum(p, ihl) != 0xffff;
	}
	memcpy(o->addr, p + 12, 8);
	o->src = o->addr;
	o->dst = o->addr + 4;
	o->l4 = RTE_ETHER_HDR_LEN + ihl;
	o->end = RTE_ETHER_HDR_LEN + tot;
	return VN_TUN_OK;
}

/* Walk the IPv6 extension headers from o->l4 (next header @nh) to the upper layer. */
static enum vn_tun_err outer_ip6_ext(const struct rte_mbuf *m, struct outer *o, uint8_t nh)
{
	for (int i = 0; i < 8; i++) {
		uint8_t b[8];
		const uint8_t *p;
		uint32_t len;

		if (nh != IPPROTO_HOPOPTS && nh != IPPROTO_ROUTING && nh != IPPROTO_DSTOPTS &&
		    nh != IPPROTO_FRAGMENT) {
			o->proto = nh;
			return VN_TUN_OK;
		}
		p = rte_pktmbuf_read(m, o->l4, 8, b);
		if (!p || o->l4 + 8 > o->end)
			return VN_TUN_TRUNC;
		len = (p[1] + 1u) * 8;
		if (nh == IPPROTO_FRAGMENT) {
			len = 8;
			o->frag = true;
			o->later_frag |= (vn_get16(p + 2) & 0xfff8) != 0;
		}
		nh = p[0];
		o->l4 += len;
		if (o->l4 > o->end)
			return VN_TUN_TRUNC;
	}
	return VN_TUN_NOT_MINE; /* a chain this long is no tunnel of ours */
}

static enum vn_tun_err outer_ip6(const struct rte_mbuf *m, const struct vn_tun_local *loc,
				 struct outer *o, struct vn_tun_rx *rx)
{
	uint8_t b[40];
	const uint8_t *p = rte_pktmbuf_read(m, RTE_ETHER_HDR_LEN, 40, b);
	uint32_t plen;

	if (!p || p[0] >> 4 != 6 || memcmp(p + 24, loc->addr.a, 16))
		return VN_TUN_NOT_MINE;
	plen = vn_get16(p + 4);
	rx->outer_tos = (uint8_t)(p[0] << 4 | p[1] >> 4);
	rx->remote.v6 = true;
	memcpy(rx->remote.a, p + 8, 16);
	memcpy(o->addr, p + 8, 32);
	o->src = o->addr;
	o->dst = o->addr + 16;
	o->l4 = RTE_ETHER_HDR_LEN + 40;
	o->end = o->l4 + plen;
	if (plen == 0 || o->end > rte_pktmbuf_pkt_len(m)) /* no jumbograms */
		return VN_TUN_TRUNC;
	return outer_ip6_ext(m, o, p[6]);
}

/* The UDP header at o->l4: ours (@port), whole; o->end becomes the end of the datagram. */
static enum vn_tun_err outer_udp(const struct rte_mbuf *m, uint16_t port, struct outer *o)
{
	uint8_t b[8];
	const uint8_t *p = rte_pktmbuf_read(m, o->l4, 8, b);
	uint32_t ulen;

	if (!p || o->l4 + 8 > o->end)
		return VN_TUN_TRUNC;
	if (vn_get16(p + 2) != port)
		return VN_TUN_NOT_MINE;
	if (o->frag)
		return VN_TUN_OK; /* the length is the whole datagram's */
	ulen = vn_get16(p + 4);
	if (ulen < 8 || o->l4 + ulen > o->end)
		return VN_TUN_TRUNC;
	o->end = o->l4 + ulen; /* bytes past it in the IP datagram are ignored */
	return VN_TUN_OK;
}

/* The UDP checksum: optional over IPv4, required over IPv6 (RFC 6935/6936 not taken up). */
static enum vn_tun_err outer_udp_csum(const struct rte_mbuf *m, bool v6, const struct outer *o)
{
	uint8_t b[2];
	const uint8_t *p = rte_pktmbuf_read(m, o->l4 + 6, 2, b);
	uint32_t ulen = o->end - o->l4;
	int64_t raw;

	if (!memcmp(p, "\0\0", 2))
		return v6 ? VN_TUN_BAD_CSUM : VN_TUN_OK;
	raw = vn_cksum_mbuf(m, o->l4, ulen);
	if (raw < 0)
		return VN_TUN_TRUNC;
	if (vn_fold(vn_phdr_sum(o->src, o->dst, v6 ? 16 : 4, IPPROTO_UDP, ulen) + (uint32_t)raw) !=
	    0xffff)
		return VN_TUN_BAD_CSUM;
	return VN_TUN_OK;
}

static enum vn_tun_err tun_geneve(const uint8_t *p, uint32_t *len)
{
	if (p[0] >> 6)
		return VN_TUN_BAD_VERSION;
	if (p[1] & GENEVE_FLAG_O)
		return VN_TUN_OAM;
	if (p[1] & GENEVE_FLAG_C)
		return VN_TUN_CRIT_OPT;
	if (vn_get16(p + 2) != VN_ETH_TEB)
		return VN_TUN_BAD_PROTO;
	*len = 8 + (p[0] & 0x3fu) * 4; /* options skipped: none is critical (no C bit) */
	return VN_TUN_OK;
}

/* The tunnel header @p (8 bytes of it) at offset @off of a datagram ending at @end: checked,
 * VNI and inner offset into @rx. */
static inline enum vn_tun_err tun_hdr_at(const uint8_t *p, uint8_t type, uint32_t off, uint32_t end,
					 struct vn_tun_rx *rx)
{
	uint32_t len = 8;
	enum vn_tun_err e;

	if (type == VN_TUN_VXLAN) {
		if (!(p[0] & VXLAN_FLAG_I))
			return VN_TUN_BAD_FLAGS; /* the other bits are reserved: ignored */
	} else if (type == VN_TUN_GENEVE) {
		e = tun_geneve(p, &len);
		if (e != VN_TUN_OK)
			return e;
	} else {
		if (vn_get16(p) != GRE_FLAGS_KEY)
			return VN_TUN_BAD_FLAGS;
		if (vn_get16(p + 2) != VN_ETH_TEB)
			return VN_TUN_BAD_PROTO;
	}
	rx->vni = (uint32_t)p[4] << 16 | (uint32_t)p[5] << 8 | p[6];
	if (off + len > end)
		return VN_TUN_TRUNC;
	if (end - (off + len) < RTE_ETHER_HDR_LEN)
		return VN_TUN_INNER_SHORT;
	rx->inner_off = (uint16_t)(off + len);
	rx->inner_len = (uint16_t)(end - (off + len));
	return VN_TUN_OK;
}

/* The tunnel header at @off: checked, VNI and inner offset into @rx. */
static enum vn_tun_err tun_hdr(const struct rte_mbuf *m, uint8_t type, uint32_t off, uint32_t end,
			       struct vn_tun_rx *rx)
{
	uint8_t b[8];
	const uint8_t *p = rte_pktmbuf_read(m, off, 8, b);

	if (!p || off + 8 > end)
		return VN_TUN_TRUNC;
	return tun_hdr_at(p, type, off, end, rx);
}

/*
 * The common tunnel frame, read in place: IPv4 without options to @loc, not a fragment, the
 * outer headers in the first segment, a zero UDP checksum (or GRE), a good tunnel header.
 * What the general path accepts, with the same results in @rx, at about half its
 * instructions. Return: true, or false (anything else: the general path decides).
 */
static inline bool parse_fast4(const struct rte_mbuf *m, const struct vn_tun_local *loc,
			       struct vn_tun_rx *rx)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *), *ip = p + RTE_ETHER_HDR_LEN;
	bool udp = loc->type != VN_TUN_NVGRE;
	uint32_t off = RTE_ETHER_HDR_LEN + 20 + (udp ? 8 : 0), end, a, b;
	struct vn_tun_rx r;

	if (rte_pktmbuf_data_len(m) < off + 8 || p[12] != 0x08 || p[13] != 0 || ip[0] != 0x45 ||
	    ip[9] != (udp ? IPPROTO_UDP : IPPROTO_GRE) || (vn_get16(ip + 6) & 0x3fff))
		return false;
	memcpy(&a, ip + 16, 4);
	memcpy(&b, loc->addr.a, 4);
	end = RTE_ETHER_HDR_LEN + vn_get16(ip + 2);
	if (a != b || end > rte_pktmbuf_pkt_len(m) || end < off || vn_ip4_hdr20_sum(ip) != 0xffff)
		return false;
	if (udp) { /* ours, whole, no checksum */
		const uint8_t *u = ip + 20;
		uint32_t ulen = vn_get16(u + 4);
		if (vn_get16(u + 2) != loc->dstport || ulen < 8 || u[6] || u[7] ||
		    RTE_ETHER_HDR_LEN + 20 + ulen > end)
			return false;
		end = RTE_ETHER_HDR_LEN + 20 + ulen;
	}
	if (off + 8 > end || tun_hdr_at(p + off, loc->type, off, end, &r) != VN_TUN_OK)
		return false;
	/* field by field (a struct copy read back a word at a time would stall) */
	rx->vni = r.vni, rx->inner_off = r.inner_off, rx->inner_len = r.inner_len;
	rx->outer_tos = ip[1], rx->remote.v6 = false;
	memcpy(rx->remote.a, ip + 12, 4);
	return true;
}

enum vn_tun_err vn_tun_parse(const struct rte_mbuf *m, const struct vn_tun_local *loc,
			     struct vn_tun_rx *rx)
{
	bool udp = loc->type != VN_TUN_NVGRE;
	struct outer o = {0};
	enum vn_tun_err e;
	uint8_t b[2];
	const uint8_t *p;

	if (!loc->addr.v6 && loc->type < VN_TUN__MAX && parse_fast4(m, loc, rx))
		return VN_TUN_OK;
	p = rte_pktmbuf_read(m, 12, 2, b);
	if (loc->type >= VN_TUN__MAX || !p ||
	    vn_get16(p) != (loc->addr.v6 ? VN_ETH_IPV6 : VN_ETH_IPV4))
		return VN_TUN_NOT_MINE;
	e = loc->addr.v6 ? outer_ip6(m, loc, &o, rx) : outer_ip4(m, loc, &o, rx);
	if (e != VN_TUN_OK)
		return e;
	if (o.proto != (udp ? IPPROTO_UDP : IPPROTO_GRE) || (udp && o.later_frag))
		return VN_TUN_NOT_MINE; /* another protocol, or a UDP port we cannot see */
	if (udp && (e = outer_udp(m, loc->dstport, &o)) != VN_TUN_OK)
		return e;
	if (o.frag)
		return VN_TUN_OUTER_FRAG;
	if (o.bad_csum)
		return VN_TUN_BAD_CSUM;
	if (udp && (e = outer_udp_csum(m, loc->addr.v6, &o)) != VN_TUN_OK)
		return e;
	return tun_hdr(m, loc->type, udp ? o.l4 + 8 : o.l4, o.end, rx);
}

/* ---- decapsulation ---- */

/* Cut @m to its first @len bytes (trailing padding), freeing segments that then hold none. */
static void trim_to(struct rte_mbuf *m, uint32_t len)
{
	struct rte_mbuf *s = m;
	uint32_t left = len;
	uint16_t segs = 1;

	if (m->pkt_len <= len)
		return;
	while (left > s->data_len) {
		left -= s->data_len;
		s = s->next;
		segs++;
	}
	s->data_len = (uint16_t)left;
	rte_pktmbuf_free(s->next);
	s->next = NULL;
	m->nb_segs = segs;
	m->pkt_len = len;
}

/*
 * The first segment of @m ends at or before the inner frame at @off: refill it with the
 * start of the inner frame, taking those bytes and the outer headers off later segments.
 */
static int decap_pull(struct rte_mbuf *m, uint32_t off)
{
	uint16_t hr = m->buf_len > 2 * RTE_PKTMBUF_HEADROOM ? RTE_PKTMBUF_HEADROOM : 0;
	uint32_t inner = m->pkt_len - off, n = RTE_MIN(inner, (uint32_t)(m->buf_len - hr));
	uint32_t drop = off - m->data_len + n;
	uint8_t *d = (uint8_t *)m->buf_addr + hr;
	const void *src;

	if (!RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) != 1)
		return -EBUSY;
	src = rte_pktmbuf_read(m, off, n, d); /* from later segments: no overlap */
	if (src != d)
		memcpy(d, src, n);
	while (drop) {
		struct rte_mbuf *s = m->next;

		if (s->data_len > drop) {
			s->data_off = (uint16_t)(s->data_off + drop);
			s->data_len = (uint16_t)(s->data_len - drop);
			break;
		}
		drop -= s->data_len;
		m->next = s->next;
		m->nb_segs--;
		s->next = NULL;
		s->nb_segs = 1;
		rte_pktmbuf_free_seg(s);
	}
	m->data_off = hr;
	m->data_len = (uint16_t)n;
	m->pkt_len = inner;
	return 0;
}

/* Write @len bytes of @src at offset @off of @m, across segments. */
static void mbuf_write(struct rte_mbuf *m, uint32_t off, const uint8_t *src, uint32_t len)
{
	for (struct rte_mbuf *s = m; s && len; s = s->next) {
		if (off >= s->data_len) {
			off -= s->data_len;
			continue;
		}
		uint32_t n = RTE_MIN(len, (uint32_t)s->data_len - off);
		memcpy(rte_pktmbuf_mtod_offset(s, uint8_t *, off), src, n);
		src += n;
		len -= n;
		off = 0;
	}
}

/* RFC 6040 4.2 for an outer CE mark: an ECT inner IP header becomes CE, Not-ECT drops. */
static enum vn_tun_err ecn_decap(struct rte_mbuf *m)
{
	uint8_t b[20], h[20];
	const uint8_t *p;
	uint16_t et, c;
	uint32_t l3 = vn_tun_inner_l3(m, &et);

	if (et == VN_ETH_IPV6 && (p = rte_pktmbuf_read(m, l3, 2, b)) && p[0] >> 4 == 6) {
		if (!(p[1] & 0x30))
			return VN_TUN_ECN;
		if ((p[1] & 0x30) == 0x30)
			return VN_TUN_OK; /* already CE */
		memcpy(h, p, 2);
		h[1] |= 0x30;
		mbuf_write(m, l3, h, 2);
	} else if (et == VN_ETH_IPV4 && (p = rte_pktmbuf_read(m, l3, 20, b)) && p[0] >> 4 == 4) {
		if (!(p[1] & ECN_MASK))
			return VN_TUN_ECN;
		if ((p[1] & ECN_MASK) == ECN_CE)
			return VN_TUN_OK; /* already CE: the checksum stays as it was */
		memcpy(h, p, 20);
		h[1] |= ECN_CE;
		memcpy(&c, h + 10, 2); /* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') */
		vn_put_csum(h + 10, (uint16_t)~c + (uint16_t)~rte_cpu_to_be_16(p[1]) +
					rte_cpu_to_be_16(h[1]));
		mbuf_write(m, l3, h, 20);
	}
	return VN_TUN_OK;
}

enum vn_tun_err vn_tun_decap(struct rte_mbuf *m, const struct vn_tun_rx *rx)
{
	if (rx->inner_off < m->data_len)
		rte_pktmbuf_adj(m, rx->inner_off);
	else if (decap_pull(m, rx->inner_off) < 0)
		return VN_TUN_TRUNC;
	trim_to(m, rx->inner_len);
	if ((rx->outer_tos & ECN_MASK) == ECN_CE)
		return ecn_decap(m);
	return VN_TUN_OK;
}

const char *vn_tun_err_name(enum vn_tun_err e)
{
	static const char *const names[VN_TUN_ERR__MAX] = {
	    [VN_TUN_OK] = "ok",
	    [VN_TUN_NOT_MINE] = "not_mine",
	    [VN_TUN_TRUNC] = "truncated",
	    [VN_TUN_OUTER_FRAG] = "outer_fragment",
	    [VN_TUN_BAD_CSUM] = "bad_checksum",
	    [VN_TUN_BAD_FLAGS] = "bad_flags",
	    [VN_TUN_BAD_VERSION] = "bad_version",
	    [VN_TUN_BAD_PROTO] = "bad_protocol",
	    [VN_TUN_CRIT_OPT] = "critical_option",
	    [VN_TUN_OAM] = "oam",
	    [VN_TUN_INNER_SHORT] = "inner_short",
	    [VN_TUN_ECN] = "ecn",
	};

	return (unsigned)e < VN_TUN_ERR__MAX ? names[e] : "unknown";
}

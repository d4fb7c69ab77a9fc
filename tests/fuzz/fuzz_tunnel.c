/* SPDX-License-Identifier: MIT */
/* libFuzzer target: arbitrary frames through tunnel parse/decap, and encap round trips. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>
#include <rte_eal.h>
#include <rte_mbuf.h>

#include "fuzzutil.h"
#include "vnicd/log.h"
#include "vnicd/tunnel.h"

#define MAX_FRAME 1900 /* fits one mbuf of the pool with its headroom */

static struct rte_mempool *mp;
static const struct vn_tun_addr a4 = {false, {192, 0, 2, 1}}, b4 = {false, {192, 0, 2, 2}};
static const struct vn_tun_addr a6 = {true, {0x20, 0x01, 0x0d, 0xb8, [15] = 1}},
				b6 = {true, {0x20, 0x01, 0x0d, 0xb8, [15] = 2}};
static const uint16_t ports[VN_TUN__MAX] = {VN_TUN_VXLAN_PORT, VN_TUN_GENEVE_PORT, 0};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	vn_fuzz_eal_init();
	mp = rte_pktmbuf_pool_create("fuzz_mp", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (!mp)
		__builtin_trap();
	return 0;
}

/* An mbuf of @len bytes @p, split in two segments at @split when it is inside. */
static struct rte_mbuf *mk(const uint8_t *p, size_t len, size_t split)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp), *t = NULL;

	if (!m)
		__builtin_trap();
	if (split == 0 || split >= len)
		split = len;
	memcpy(rte_pktmbuf_append(m, (uint16_t)split), p, split);
	if (split < len) {
		t = rte_pktmbuf_alloc(mp);
		if (!t)
			__builtin_trap();
		memcpy(rte_pktmbuf_append(t, (uint16_t)(len - split)), p + split, len - split);
		rte_pktmbuf_chain(m, t);
	}
	return m;
}

/* Trap unless @m holds exactly the @len bytes @p. */
static void same(const struct rte_mbuf *m, const uint8_t *p, size_t len)
{
	size_t off = 0;

	if (rte_pktmbuf_pkt_len(m) != len)
		__builtin_trap();
	for (const struct rte_mbuf *s = m; s; s = s->next) {
		if (off + s->data_len > len ||
		    memcmp(rte_pktmbuf_mtod(s, const uint8_t *), p + off, s->data_len))
			__builtin_trap();
		off += s->data_len;
	}
	if (off != len)
		__builtin_trap();
}

/* The input as a received frame, for every type and address family. */
static void receive(const uint8_t *p, size_t len, size_t split)
{
	for (int type = 0; type < VN_TUN__MAX; type++)
		for (int v6 = 0; v6 < 2; v6++) {
			struct vn_tun_local loc = {(uint8_t)type, v6 ? b6 : b4, ports[type]};
			struct rte_mbuf *m = mk(p, len, split);
			struct vn_tun_rx rx;
			enum vn_tun_err e = vn_tun_parse(m, &loc, &rx);

			if (e >= VN_TUN_ERR__MAX || !vn_tun_err_name(e))
				__builtin_trap();
			if (e == VN_TUN_OK) {
				if (rx.inner_off + rx.inner_len > len || rx.inner_len < 14)
					__builtin_trap();
				e = vn_tun_decap(m, &rx);
				if (e == VN_TUN_OK && rte_pktmbuf_pkt_len(m) != rx.inner_len)
					__builtin_trap();
			}
			rte_pktmbuf_free(m);
		}
}

static uint32_t get16(const uint8_t *p)
{
	return (uint32_t)(p[0] << 8 | p[1]);
}

/* RFC 1071 over @len bytes at @p, from @s (network order words). */
static uint32_t ref_sum(const uint8_t *p, size_t len, uint32_t s)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		s += get16(p + i);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

/*
 * Does inner frame @p carry a TCP or UDP checksum that an IPv6 encapsulation takes as given
 * (local checksum offload, lco_sum() in policy/tunnel.c: untagged IPv4 not a fragment, or
 * IPv6 without extension headers; a UDP checksum not 0; lengths that fit), and is it wrong?
 * Then the outer checksum is wrong too and the far end drops the frame.
 */
static bool lco_wrong(const uint8_t *p, size_t len)
{
	size_t hl, tl, seg;
	uint32_t s;
	uint8_t proto;

	if (len < 34)
		return false;
	if (get16(p + 12) == 0x0800 && p[14] >> 4 == 4) {
		hl = (p[14] & 0xfu) * 4, tl = get16(p + 16), proto = p[23];
		if (hl < 20 || (get16(p + 20) & 0x3fff) || tl < hl)
			return false;
		seg = tl - hl, s = ref_sum(p + 26, 8, 0);
	} else if (get16(p + 12) == 0x86dd && len >= 54 && p[14] >> 4 == 6) {
		hl = 40, seg = get16(p + 18), tl = 40 + seg, proto = p[20];
		s = ref_sum(p + 22, 32, 0);
	} else {
		return false;
	}
	if ((proto != 6 && proto != 17) || 14 + tl > len || seg < (proto == 6 ? 20u : 8u) ||
	    (proto == 17 && get16(p + 14 + hl + 6) == 0))
		return false;
	return ref_sum(p + 14 + hl, seg, s + proto + (uint32_t)seg) != 0xffff;
}

/* The input as an inner frame: encapsulated (in place, behind a header mbuf, or shared),
 * it parses and decapsulates back to itself (over IPv6 UDP tunnels: unless its own
 * transport checksum is wrong, lco_wrong()). */
static void round_trip(const uint8_t *p, size_t len, size_t split, uint8_t how)
{
	for (int type = 0; type < VN_TUN__MAX; type++)
		for (int v6 = 0; v6 < 2; v6++) {
			struct vn_tun_local loc = {(uint8_t)type, v6 ? b6 : b4, ports[type]};
			struct rte_ether_addr s = {{2, 0, 0, 0, 0, 0xa}},
					      d = {{2, 0, 0, 0, 0, 0xb}};
			struct rte_mbuf *orig = mk(p, len, split), *m = orig, *o;
			struct vn_tun_tmpl t;
			struct vn_tun_rx rx;
			enum vn_tun_err e;

			if (vn_tun_tmpl_build(&t, type, v6 ? &a6 : &a4, v6 ? &b6 : &b4, ports[type],
					      &s, &d) < 0)
				__builtin_trap();
			if (how & 2)
				rte_pktmbuf_refcnt_update(m, 1); /* every segment */
			else if (how & 1) /* an indirect frame: a header mbuf in front too */
				m = rte_pktmbuf_clone(m, mp);
			if (!m)
				__builtin_trap();
			o = vn_tun_encap(&t, (uint32_t)len * 2654435761u, m, mp);
			if (!o)
				__builtin_trap();
			e = vn_tun_parse(o, &loc, &rx);
			if (e != (len < 14 ? VN_TUN_INNER_SHORT
				  : v6 && type != VN_TUN_NVGRE && lco_wrong(p, len)
				      ? VN_TUN_BAD_CSUM
				      : VN_TUN_OK))
				__builtin_trap();
			if (how & 2) { /* the other owner's bytes are intact */
				same(m, p, len);
				rte_pktmbuf_free(m);
			}
			if (e == VN_TUN_OK) {
				if (vn_tun_decap(o, &rx) != VN_TUN_OK)
					__builtin_trap();
				same(o, p, len);
			}
			rte_pktmbuf_free(o);
			if (m != orig)
				rte_pktmbuf_free(orig);
		}
}

/* Input: [split byte][frame]; the frame goes in two segments when the split byte says so. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned avail = rte_mempool_avail_count(mp);
	size_t len, split;
	struct rte_mbuf *m, *r;

	if (size < 1)
		return 0;
	len = RTE_MIN(size - 1, (size_t)MAX_FRAME);
	split = data[0] >> 2; /* 0: one segment */
	receive(data + 1, len, split);
	round_trip(data + 1, len, split, data[0]);
	m = mk(data + 1, len, split);
	r = vn_tun_too_big(m, 1280, mp);
	rte_pktmbuf_free(r);
	rte_pktmbuf_free(m);
	if (rte_mempool_avail_count(mp) != avail)
		__builtin_trap(); /* a buffer leaked or was freed twice */
	return 0;
}

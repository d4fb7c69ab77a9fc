/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: arbitrary frames into the neighbour caches of an IPv4 and an IPv6 VTEP
 * that are resolving a few next hops. The first byte advances the fake clock (bits 1..7) and
 * asks (bit 0) for the ICMPv6 checksum to be made right, so that mutated NS/NA get past it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vnicd/neigh.h"

static struct vn_neigh *n4, *n6;
static uint64_t now;
static unsigned runs;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every frame the cache sends must itself parse as what it is. */
static void check_send(void *ud, const uint8_t *frame, size_t len)
{
	struct vn_neigh_pkt p;

	(void)ud;
	if (len > VN_NEIGH_FRAME_MAX || vn_neigh_parse(frame, len, &p) < 0 ||
	    p.kind == VN_NEIGH_OTHER)
		__builtin_trap();
}

static struct vn_neigh *make(bool v6)
{
	struct vn_neigh_cfg cfg = {.mac = {{0x02, 0, 0, 0, 0, 0x01}},
				   .addr = {.v6 = v6},
				   .prefix_len = v6 ? 64 : 24,
				   .has_gateway = true,
				   .gateway = {.v6 = v6},
				   .max_entries = 8,
				   .send = check_send};
	struct rte_ether_addr mac;
	struct vn_neigh *n;

	if (v6) {
		memcpy(cfg.addr.a, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
		memcpy(cfg.gateway.a, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\xfe", 16);
	} else {
		memcpy(cfg.addr.a, "\xc0\x00\x02\x01", 4);
		memcpy(cfg.gateway.a, "\xc0\x00\x02\xfe", 4);
	}
	n = vn_neigh_new(&cfg);
	if (!n)
		__builtin_trap();
	for (uint8_t i = 2; i < 12; i++) { /* on-link next hops, one off-link, and a full table */
		struct vn_tun_addr a = cfg.addr;

		a.a[v6 ? 15 : 3] = i;
		if (i == 11)
			a.a[0] = 0x0a;
		vn_neigh_lookup(n, &a, now, &mac);
	}
	return n;
}

/* Fix the ICMPv6 checksum of untagged IPv6 frame @f (@len bytes) when its lengths allow. */
static void fix_csum(uint8_t *f, size_t len)
{
	size_t plen;
	uint16_t c;

	if (len < 58 || f[12] != 0x86 || f[13] != 0xdd)
		return;
	plen = (size_t)(f[18] << 8 | f[19]);
	if (plen < 4 || plen > len - 54)
		return;
	f[56] = f[57] = 0;
	c = vn_neigh_icmp6_csum(f + 22, f + 38, f + 54, plen);
	f[56] = (uint8_t)(c >> 8);
	f[57] = (uint8_t)c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *f;

	if (!n4 || ++runs % 5000 == 0) { /* bound the state the inputs build up */
		vn_neigh_free(n4);
		vn_neigh_free(n6);
		n4 = make(false);
		n6 = make(true);
	}
	if (size < 1)
		return 0;
	now += (uint64_t)(data[0] >> 1) * 100;
	f = malloc(size - 1 ? size - 1 : 1); /* exact size: ASan catches any overread */
	if (!f)
		return 0;
	memcpy(f, data + 1, size - 1);
	if (data[0] & 1)
		fix_csum(f, size - 1);
	vn_neigh_input(n4, f, size - 1, now);
	vn_neigh_input(n6, f, size - 1, now);
	free(f);
	vn_neigh_tick(n4, now);
	vn_neigh_tick(n6, now);
	return 0;
}

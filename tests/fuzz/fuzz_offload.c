/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: what a TAP device or a PACKET_VNET_HDR socket hands vnicd, a virtio-net
 * header and a frame, through the offload completion (checksum fill-in, TCP/UDP
 * segmentation). Every segment must fit the frame's MSS, the segments must carry exactly the
 * frame's payload, and every buffer must come back to the pool. When the header's hdr_len
 * field (unused by vnicd) is not 0 the frame arrives as a chain, as from a vhost-user guest:
 * its low byte × 8 bytes in the first buffer, its high byte × 7 + 64 in each other.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <rte_mbuf.h>

#include "fuzzutil.h"
#include "vnicd/tap.h"

#define DATA_ROOM 32768
#define BURST 16

static struct rte_mempool *big, *segs;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	vn_fuzz_eal_init();
	big = rte_pktmbuf_pool_create("fuzz_big", 63, 0, 0, DATA_ROOM + RTE_PKTMBUF_HEADROOM, 0);
	segs = rte_pktmbuf_pool_create("fuzz_seg", 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (!big || !segs)
		__builtin_trap();
	return 0;
}

/* Cut @g into segments; Return: the payload bytes they carry (traps on a broken segment). */
static uint64_t cut(struct vn_gso *g)
{
	struct rte_mbuf *out[BURST];
	uint64_t payload = 0;

	while (!vn_gso_done(g)) {
		int n = vn_gso_next(g, segs, out, BURST);
		if (n < 0)
			break; /* no buffer: the rest of the frame is dropped */
		if (n == 0)
			__builtin_trap(); /* no progress */
		for (int i = 0; i < n; i++) {
			uint32_t len = out[i]->pkt_len;
			if (len < g->hdr_len || len - g->hdr_len > g->mss)
				__builtin_trap();
			payload += len - g->hdr_len;
			rte_pktmbuf_free(out[i]);
		}
	}
	return payload;
}

/* @len bytes at @p as a chain: @first bytes in the first buffer, @rest in each other. */
static struct rte_mbuf *chain(const uint8_t *p, size_t len, size_t first, size_t rest)
{
	struct rte_mbuf *head = NULL;

	for (size_t off = 0, n; off < len; off += n) {
		struct rte_mbuf *b = rte_pktmbuf_alloc(segs);
		n = RTE_MIN(head ? rest : first, len - off);
		if (!b || n > rte_pktmbuf_tailroom(b))
			__builtin_trap();
		memcpy(rte_pktmbuf_append(b, (uint16_t)n), p + off, n);
		if (!head)
			head = b;
		else if (rte_pktmbuf_chain(head, b) != 0)
			__builtin_trap();
	}
	return head;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vn_vnet_meta meta;
	struct vn_gso g;
	struct rte_mbuf *m;
	unsigned avail;
	int rc;

	if (size < VN_VNET_HDR_LEN || size - VN_VNET_HDR_LEN > DATA_ROOM)
		return 0;
	vn_vnet_meta_decode(data, &meta);
	if (data[2] && size > VN_VNET_HDR_LEN) {
		m = chain(data + VN_VNET_HDR_LEN, size - VN_VNET_HDR_LEN, data[2] * 8u,
			  data[3] * 7u + 64);
	} else {
		m = rte_pktmbuf_alloc(big);
		if (!m)
			__builtin_trap();
		memcpy(rte_pktmbuf_append(m, (uint16_t)(size - VN_VNET_HDR_LEN)),
		       data + VN_VNET_HDR_LEN, size - VN_VNET_HDR_LEN);
	}
	avail = rte_mempool_avail_count(segs) + m->nb_segs * (m->pool == segs);
	if (vn_offload_mark(m, &meta) == 0 && m->ol_flags) { /* passed on: the header back */
		struct vn_vnet_meta back;
		uint8_t hdr[VN_VNET_HDR_LEN];
		if ((uint32_t)m->l2_len + m->l3_len + m->l4_len > rte_pktmbuf_data_len(m))
			__builtin_trap();
		vn_vnet_hdr_from_mbuf(m, hdr);
		vn_vnet_meta_decode(hdr, &back);
		if (back.csum_start != meta.csum_start || back.csum_offset != meta.csum_offset ||
		    back.gso_type != meta.gso_type ||
		    (meta.gso_type && back.gso_size != meta.gso_size))
			__builtin_trap();
	}
	m->ol_flags = 0;
	rc = vn_offload_prepare(m, &meta, &g);
	if (rc == VN_OFFLOAD_SEGMENT) {
		uint64_t want = g.end - g.hdr_len;
		uint64_t got = cut(&g);
		if (vn_gso_done(&g) && got != want)
			__builtin_trap();
	} else if (rc == VN_OFFLOAD_DONE) {
		(void)vn_flow_hash(m);
	}
	rte_pktmbuf_free(m);
	if (rte_mempool_avail_count(segs) != avail)
		__builtin_trap(); /* a segment was not returned */
	return 0;
}

/* SPDX-License-Identifier: MIT */
/* libFuzzer target: arbitrary frames through the switching pipeline over ring ports. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>
#include <rte_eal.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "fuzzutil.h"
#include "vnicd/bridge.h"
#include "vnicd/datapath.h"
#include "vnicd/log.h"
#include "vnicd/ringport.h"
#include "vnicd/trace.h"
#include "vnicd/macvtap.h"
#include "vnicd/uplink.h"
#include "../unit/testutil.h"

#define NP 8 /* 0-2 net a (2 a reflective relay), 3 net b, 4-7 macvtap net m (4 its uplink) */

static struct rte_mempool *mp;
static struct vn_dp *dp;
static struct vn_port *ports[NP];
static struct rte_ring *rx[NP], *tx[NP];
static struct vn_net *net_a, *net_b, *net_m;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	vn_fuzz_eal_init();
	mp = rte_pktmbuf_pool_create("fuzz_mp", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	dp = vn_dp_create(1, 0);
	net_a = vn_test_net(dp, "a", 0, "{\"type\": \"bridge\"}");
	net_b = vn_test_net(dp, "b", 1, "{\"type\": \"bridge\"}");
	net_m = vn_test_net(dp, "m", 2, "{\"type\": \"macvtap\", \"uplink\": \"x\"}");
	for (unsigned p = 0; p < NP; p++) {
		char n[16];
		snprintf(n, sizeof(n), "frx%u", p);
		rx[p] = rte_ring_create(n, 256, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(n, sizeof(n), "ftx%u", p);
		tx[p] = rte_ring_create(n, 64, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(n, sizeof(n), "fp%u", p);
		ports[p] = vn_ring_port_create(n, rx[p], tx[p]);
		ports[p]->slot = (uint16_t)p;
		struct vn_slot s = {.port = ports[p], .net = p < 3 ? net_a : p < 4 ? net_b : net_m};
		if (p > 4) { /* macvtap ports: vepa, bridge, private; MACs 02:00:00:00:00:0p */
			static const uint8_t modes[] = {VN_MVT_VEPA, VN_MVT_BRIDGE, VN_MVT_PRIVATE};
			struct rte_ether_addr mac = {{0x02, 0, 0, 0, 0, (uint8_t)p}};
			s.kmode = modes[(p - 5) % 3];
			vn_fdb_add_static(net_m->fdb, 0, &mac, (uint16_t)p, 0);
		}
		s.relay = p == 2;
		if (p == 4) { /* the macvtap network's uplink */
			s.locality = VN_LOC_EXTERNAL;
			s.kmode = VN_MVT_UPLINK;
		}
		vn_dp_slot_set(dp, (uint16_t)p, &s);
	}
	net_m->uplink = ports[4];
	vn_dp_commit(dp);
	return 0;
}

/* Input: records of [port byte][length byte][length bytes of frame]. A burst of one frame is
 * traced first (vnicctl trace's dry run) and must go exactly where the trace said. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rte_mbuf *burst[VN_BURST];
	unsigned avail = rte_mempool_avail_count(mp), n = 0, in = 0, sent[NP] = {0};
	static struct vn_trace tr;
	bool traced = false;
	size_t off = 0;

	while (off + 2 <= size && n < VN_BURST) {
		unsigned port = data[off] % NP, len = data[off + 1];
		struct rte_mbuf *m;
		char *p;

		off += 2;
		if (len > size - off)
			len = (unsigned)(size - off);
		if (n && port != in) /* a burst comes from one port */
			break;
		in = port;
		m = rte_pktmbuf_alloc(mp);
		p = m ? rte_pktmbuf_append(m, (uint16_t)len) : NULL;
		if (!p) {
			rte_pktmbuf_free(m);
			break;
		}
		memcpy(p, data + off, len);
		off += len;
		burst[n++] = m;
	}
	/* odd inputs: the macvtap network emulates the hairpin */
	vn_test_net_set(net_m,
			size & 1 ? "{\"hairpin\": \"emulated\"}" : "{\"hairpin\": \"external\"}");
	if (n) { /* the first frame traced first (a dry run: every buffer comes back) */
		struct rte_mbuf *c = rte_pktmbuf_copy(burst[0], mp, 0, UINT32_MAX);
		traced = c != NULL && n == 1;
		if (c && vn_dp_trace(dp, ports[in]->slot, c, &tr) < 0)
			__builtin_trap();
		vn_dp_switch_burst(vn_dp_worker(dp, 0), vn_dp_table(dp), ports[in]->slot, burst,
				   (uint16_t)n, 1);
	}
	for (unsigned p = 0; p < NP; p++) {
		void *o;
		while (rte_ring_dequeue(tx[p], &o) == 0) {
			rte_pktmbuf_free(o);
			sent[p]++;
		}
	}
	for (unsigned d = 0; traced && d < tr.ndest; d++)
		if (tr.dest[d].slot >= NP || sent[tr.dest[d].slot]-- == 0)
			__builtin_trap(); /* the trace says a port the frame did not go to */
	for (unsigned p = 0; traced && p < NP; p++)
		if (sent[p])
			__builtin_trap(); /* the frame went to a port the trace does not say */
	if (rte_mempool_avail_count(mp) != avail)
		__builtin_trap(); /* a buffer leaked or was freed twice */
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * The two legs of a NAT network's router (see nat.h): slots of their own in the NAT network
 * and in the external network, the translation on the workers that deliver to them, and
 * the control thread's side (ARP, DHCP, next-hop resolution).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <rte_malloc.h>

#include "nat_priv.h"
#include "policy/nat_memo.h"
#include "worker.h"
#include "vnicd/args.h"
#include "vnicd/bridge.h"
#include "vnicd/log.h"
#include "vnicd/mac.h"
#include "vnicd/netlink.h"
#include "vnicd/uplink.h"

#define LEG_RING 1024
#define LEG_POLL_MS 10
#define LEG_TICK_MS 200

/* The NAT network's clock (ms): every time it keeps (connections, fragments, leases, DNS
 * queries) is read here. The coarse clock (the last tick's time) suffices for timeouts of
 * seconds and costs 3 ns here against 20 for the precise one (read once a burst by the legs). */
uint64_t nat_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- data path (workers) ---- */

_Static_assert(NAT_LEG_QUEUES >= VN_MAX_WORKERS, "a leg's memo per worker");

static uint16_t leg_rx(struct vn_port *port, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	struct nat_leg *l = (struct nat_leg *)port;

	return (uint16_t)rte_ring_sc_dequeue_burst(l->inj, (void **)pkts, n, NULL);
}

static void kick(struct nat_leg *l)
{
	uint64_t one = 1;

	if (write(l->efd, &one, sizeof(one)) < 0)
		__atomic_fetch_add(&l->inj_drops, 0, __ATOMIC_RELAXED);
}

/* Queue @n frames @m on leg @l (they leave there into its network); what does not fit is
 * dropped (queue_drops). The leg's worker is kicked only when it sleeps on the eventfd
 * (armed by leg_rx_intr(), which polls the ring once more after arming: one of the two
 * sees the other's store). */
static void inject_burst(struct nat_leg *l, struct rte_mbuf **m, unsigned n)
{
	unsigned k = rte_ring_mp_enqueue_burst(l->inj, (void **)m, n, NULL);

	if (unlikely(k < n)) {
		__atomic_fetch_add(&l->inj_drops, n - k, __ATOMIC_RELAXED);
		rte_pktmbuf_free_bulk(m + k, n - k);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (k && __atomic_load_n(&l->armed, __ATOMIC_RELAXED) > 0)
		kick(l);
}

static void inject(struct nat_leg *l, struct rte_mbuf *m)
{
	inject_burst(l, &m, 1);
}

/* What the control thread must see (ARP; DHCP to the gateway leg): Return: true. */
static bool punt_wanted(const struct nat_leg *l, const uint8_t *d, uint32_t len)
{
	if (d[12] == 0x08 && d[13] == 0x06)
		return true;
	if (l->side != 0 || len < 14 + 20 + 8 || d[12] != 0x08 || d[13] != 0 || (d[14] >> 4) != 4 ||
	    (d[23] != 17 && d[23] != 6) || len < 14u + (d[14] & 0xfu) * 4u + 4u ||
	    d[14 + (d[14] & 0xf) * 4 + 2] != 0)
		return false;
	if (d[23] == 6) /* DNS over TCP to the gateway, when it forwards */
		return d[14 + (d[14] & 0xf) * 4 + 3] == 53 && l->nn->dns &&
		       memcmp(d + 30, &l->nn->nat.gw, 4) == 0 &&
		       ((d[20] & 0x3f) | d[21]) == 0; /* not a later fragment */
	if (d[14 + (d[14] & 0xf) * 4 + 3] == 67)      /* DHCP */
		return true;
	/* DNS to the gateway's address, when it forwards */
	return d[14 + (d[14] & 0xf) * 4 + 3] == 53 && l->nn->dns &&
	       memcmp(d + 30, &l->nn->nat.gw, 4) == 0;
}

/* The 6 bytes of a MAC at @p as a word (compared at once, never through memory that the
 * frames' stores may alias). */
static inline uint64_t mac_word(const void *p)
{
	uint32_t a;
	uint16_t b;

	memcpy(&a, p, 4);
	memcpy(&b, (const uint8_t *)p + 4, 2);
	return a | (uint64_t)b << 32;
}

/* The translated frames of one burst, per leg they leave by: to one MAC (alike) or not. */
struct leg_out {
	unsigned n[2];
	bool mixed[2];
	uint64_t dmac[2]; /* the first one's (mac_word()) */
	struct rte_mbuf *m[2][VN_BURST + VN_NAT_MORE];
};

/* Frames to next hop @dw (mac_word()) join @out's side @side: the first says the run's
 * next hop, another one makes it mixed. */
static inline void leg_out_note(struct leg_out *out, int side, uint64_t dw)
{
	if (out->n[side] == 0) {
		out->dmac[side] = dw;
		out->mixed[side] = false;
	} else if (unlikely(out->dmac[side] != dw)) {
		out->mixed[side] = true;
	}
}

/* Translated frame @m leaves by leg @to (side @side) to @dmac: queued in @out. */
static inline void leg_out_put(struct nat_leg *to, struct leg_out *out, int side,
			       struct rte_mbuf *m, const struct rte_ether_addr *dmac)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

	eth->dst_addr = *dmac;
	eth->src_addr = to->mac;
	if (unlikely(out->n[side] == RTE_DIM(out->m[side]))) { /* full (many fragments) */
		inject_burst(to, out->m[side], out->n[side]);
		out->n[side] = 0;
	}
	leg_out_note(out, side, mac_word(dmac));
	out->m[side][out->n[side]++] = m;
}

/* Translate @m (ours alone) at @now with memo @mm and queue it in @out. */
static void leg_nat(struct nat_leg *l, struct rte_mbuf *m, uint64_t now, struct vn_nat_memo *mm,
		    struct leg_out *out)
{
	struct nat_net *nn = l->nn;
	struct vn_nat_res r;
	int side;

	vn_nat_process_memo(&nn->nat, m, l->side == 0, now, &r, mm);
	if (unlikely(r.resolve != 0)) {
		uint64_t v = (uint64_t)r.resolve_side << 32 | r.resolve;
		if (rte_ring_mp_enqueue(nn->resolve, (void *)(uintptr_t)v) < 0)
			__atomic_fetch_add(&nn->resolve_drops, 1, __ATOMIC_RELAXED);
	}
	if (r.where == VN_NAT_HELD) /* an out-of-order fragment: the engine keeps it */
		return;
	if (r.where == VN_NAT_DROPPED) {
		rte_pktmbuf_free(m);
		return;
	}
	side = r.where == VN_NAT_OUTSIDE;
	for (unsigned i = 0; i <= r.nmore; i++) /* and the fragments it released */
		leg_out_put(nn->leg[side], out, side, i ? r.more[i - 1] : m, &r.dmac);
}

_Static_assert(offsetof(struct rte_mbuf, nb_segs) == offsetof(struct rte_mbuf, refcnt) + 2,
	       "refcnt and nb_segs read as one word");

/* Return: true if @m is the caller's alone to edit in place (one reference, one direct
 * segment: refcnt and nb_segs both 1, read as one word). */
static inline bool private_frame(const struct rte_mbuf *m)
{
	uint32_t w;

	memcpy(&w, &m->refcnt, 4);
	return w == (1u | 1u << 16) && RTE_MBUF_DIRECT(m);
}

/*
 * The frames of @pkts from @i on that memo @mm translates whole (to our MAC @mine, ours to
 * edit, of its connection: vn_nat_memo_take()), as long as they do, put in @out with their
 * MACs (one leg, one next hop: the checks of leg_out_put() once for them all). Return: the
 * index of the first frame it did not take (@i: none).
 */
static __rte_always_inline uint16_t leg_memo_run(const struct nat_leg *l, struct vn_nat_memo *mm,
						 uint64_t mine, struct rte_mbuf **pkts, uint16_t i,
						 uint16_t n, struct leg_out *out)
{
	int side = mm->where == VN_NAT_OUTSIDE;
	const struct nat_leg *to = l->nn->leg[side];
	unsigned k = out->n[side], k0 = k;
	struct rte_mbuf **to_m = out->m[side];
	uint8_t macs[2 * RTE_ETHER_ADDR_LEN];

	if (k + (n - i) > RTE_DIM(out->m[side]))
		return i; /* leg_out_put() sends what is there first */
	memcpy(macs, &mm->dmac, RTE_ETHER_ADDR_LEN);
	memcpy(macs + RTE_ETHER_ADDR_LEN, &to->mac, RTE_ETHER_ADDR_LEN);
	for (; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint8_t *d = rte_pktmbuf_mtod(m, uint8_t *);
		if (rte_pktmbuf_data_len(m) < RTE_ETHER_HDR_LEN || mac_word(d) != mine ||
		    !private_frame(m) || vn_nat_memo_take(mm, m, l->side == 0) < 0)
			break;
		memcpy(d, macs, sizeof(macs));
		to_m[k++] = m;
	}
	if (k != k0) {
		leg_out_note(out, side, mac_word(&mm->dmac)); /* out->n[side] still k0 */
		out->n[side] = k;
	}
	return i;
}

/* Frames the leg's network delivers to it (they may be shared by a flood: only read, or
 * copied before an edit), translated frames given back to the worker in @h (when not NULL
 * and with room) else queued on the leg they leave by. Every frame is taken. @mm: the memo,
 * a worker's (with @h) kept from its last burst to its next, else new and flushed. */
static uint16_t leg_deliver(struct vn_port *port, struct rte_mbuf **pkts, uint16_t n,
			    struct vn_handoff *h, struct vn_nat_memo *mm)
{
	struct nat_leg *l = (struct nat_leg *)port;
	struct leg_out out;
	uint64_t now = 0, mine;

	out.n[0] = out.n[1] = 0;
	mine = mac_word(&l->mac);
	if (mm->e) /* kept from this worker's last burst */
		vn_nat_memo_resume(&l->nn->nat, mm, now = nat_now_ms());
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m, *c;
		const uint8_t *d;
		uint32_t len;

		/* the last connection again (never a frame to punt) */
		if (mm->e && (i = leg_memo_run(l, mm, mine, pkts, i, n, &out)) == n)
			break;
		m = pkts[i];
		d = rte_pktmbuf_mtod(m, const uint8_t *);
		len = rte_pktmbuf_data_len(m);
		if (len < RTE_ETHER_HDR_LEN) {
			rte_pktmbuf_free(m);
			continue;
		}
		if (punt_wanted(l, d, len)) {
			if (rte_ring_mp_enqueue(l->punt, m) < 0) {
				__atomic_fetch_add(&l->punt_drops, 1, __ATOMIC_RELAXED);
				rte_pktmbuf_free(m);
			}
			continue;
		}
		if (d[12] != 0x08 || d[13] != 0 || memcmp(d, &l->mac, 6) != 0) {
			__atomic_fetch_add(&l->not_mine, 1, __ATOMIC_RELAXED);
			rte_pktmbuf_free(m);
			continue;
		}
		if (!private_frame(m)) {
			c = rte_pktmbuf_copy(m, m->pool, 0, UINT32_MAX);
			rte_pktmbuf_free(m);
			if (!c || c->nb_segs > 1) {
				rte_pktmbuf_free(c);
				__atomic_fetch_add(&l->inj_drops, 1, __ATOMIC_RELAXED);
				continue;
			}
			m = c;
		}
		if (!now)
			now = nat_now_ms(); /* once a burst */
		leg_nat(l, m, now, mm, &out);
	}
	if (h)
		vn_nat_memo_settle(&l->nn->nat, mm); /* its counters; kept (resumed next time) */
	else
		vn_nat_memo_flush(&l->nn->nat, mm);
	for (int s = 0; s < 2; s++) {
		struct nat_leg *to = l->nn->leg[s];
		if (out.n[s] &&
		    !(h && vn_handoff_add(h, &to->base, out.m[s], out.n[s], !out.mixed[s])))
			inject_burst(to, out.m[s], out.n[s]);
	}
	return n;
}

static uint16_t leg_tx(struct vn_port *port, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	struct vn_nat_memo mm = {.e = NULL};

	return leg_deliver(port, pkts, n, NULL, &mm);
}

/* A worker's (@q: its id): its memo outlives the burst. */
static uint16_t leg_tx_handoff(struct vn_port *port, uint16_t q, struct rte_mbuf **pkts, uint16_t n,
			       struct vn_handoff *h)
{
	struct nat_leg *l = (struct nat_leg *)port;

	return leg_deliver(port, pkts, n, h, &l->memo[q % NAT_LEG_QUEUES].mm);
}

static int leg_rx_intr(struct vn_port *port, uint16_t q, bool enable)
{
	struct nat_leg *l = (struct nat_leg *)port;

	/* then the worker polls once more before it sleeps (see inject_burst()); counted, not
	 * set: a worker that had the queue may disarm after the next one armed */
	__atomic_fetch_add(&l->armed, enable ? 1 : -1, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* the store before the ring's next load */
	return enable ? l->efd : 0;
}

static bool leg_link_up(const struct vn_port *port)
{
	return true;
}

static void leg_describe(const struct vn_port *port, JsonBuilder *b)
{
}

static void leg_destroy(struct vn_port *port)
{
	struct nat_leg *l = (struct nat_leg *)port;
	struct rte_mbuf *m;

	while (l->inj && rte_ring_dequeue(l->inj, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	while (l->punt && rte_ring_dequeue(l->punt, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(l->inj);
	rte_ring_free(l->punt);
	if (l->efd >= 0)
		close(l->efd);
	rte_free(l);
}

static const struct vn_port_ops leg_ops = {
    .kind = "nat",
    .rx_burst = leg_rx,
    .tx_burst = leg_tx,
    .tx_handoff = leg_tx_handoff,
    .rx_intr = leg_rx_intr,
    .link_up = leg_link_up,
    .describe = leg_describe,
    .destroy = leg_destroy,
};

/* ---- control thread ---- */

/* Send @frame out of leg @l (the control thread's frames: ARP, DHCP). */
static void leg_send(struct nat_leg *l, const uint8_t *frame, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(l->nn->host->mp);
	char *d = m ? rte_pktmbuf_append(m, (uint16_t)len) : NULL;

	if (!d) {
		rte_pktmbuf_free(m);
		l->inj_drops++;
		return;
	}
	memcpy(d, frame, len);
	inject(l, m);
}

void nat_leg_send(struct nat_net *nn, int side, const uint8_t *frame, size_t len)
{
	if (nn->leg[side])
		leg_send(nn->leg[side], frame, len);
}

static void send_in(void *ud, const uint8_t *frame, size_t len)
{
	leg_send(((struct nat_net *)ud)->leg[0], frame, len);
}

static void send_out(void *ud, const uint8_t *frame, size_t len)
{
	leg_send(((struct nat_net *)ud)->leg[1], frame, len);
}

static void changed_in(void *ud, const struct vn_tun_addr *ip, const struct rte_ether_addr *mac)
{
	struct nat_net *nn = ud;
	uint32_t a;

	memcpy(&a, ip->a, 4);
	vn_nat_neigh_set(&nn->nat, 0, a, mac);
}

static void changed_out(void *ud, const struct vn_tun_addr *ip, const struct rte_ether_addr *mac)
{
	struct nat_net *nn = ud;
	uint32_t a;

	memcpy(&a, ip->a, 4);
	vn_nat_neigh_set(&nn->nat, 1, a, mac);
}

/* The inside host that sent ARP frame @f is a neighbour of the gateway: mapped. */
static void learn_sender(struct nat_net *nn, const uint8_t *f, size_t len)
{
	struct vn_neigh_pkt p;
	uint32_t a;

	if (vn_neigh_parse(f, len, &p) < 0 || p.kind != VN_NEIGH_ARP_REQUEST || p.sender_ip.v6)
		return;
	memcpy(&a, p.sender_ip.a, 4);
	if (a && (a & nn->nat.mask) == nn->nat.net && a != nn->nat.gw)
		vn_nat_neigh_set(&nn->nat, 0, a, &p.sender_mac);
}

/* An ARP request for a floating IP on the external side: answered with the leg's MAC. */
static void floating_arp(struct nat_net *nn, const uint8_t *f, size_t len)
{
	uint8_t out[VN_NEIGH_ARP_LEN];
	struct vn_neigh_pkt p;
	uint32_t a;
	int n;

	if (vn_neigh_parse(f, len, &p) < 0 || p.kind != VN_NEIGH_ARP_REQUEST || p.target_ip.v6)
		return;
	memcpy(&a, p.target_ip.a, 4);
	if (nat_port_is_floating(nn, a) &&
	    (n = vn_neigh_build_arp_reply(out, sizeof(out), &nn->leg[1]->mac, &p.target_ip, &p)) >
		0)
		leg_send(nn->leg[1], out, (size_t)n);
}

void nat_legs_announce(struct nat_net *nn, uint32_t ip)
{
	struct vn_tun_addr a = {0};
	uint8_t out[VN_NEIGH_ARP_LEN];
	int n;

	memcpy(a.a, &ip, 4);
	if (nn->leg[1] && (n = vn_neigh_build_garp(out, sizeof(out), &nn->leg[1]->mac, &a)) > 0)
		leg_send(nn->leg[1], out, (size_t)n);
}

static void punted(struct nat_net *nn, int side, const uint8_t *f, size_t len, uint64_t now)
{
	uint8_t out[VN_DHCP_REPLY_MAX];
	int n;

	if (f[12] == 0x08 && f[13] == 0x06) {
		if (side == 0)
			learn_sender(nn, f, len);
		else
			floating_arp(nn, f, len);
		vn_neigh_input(nn->neigh[side], f, len, now);
		return;
	}
	if (side == 0 && f[23] == IPPROTO_TCP) { /* to the gateway's port 53: punt_wanted() */
		nat_dns_tcp_input(nn, f, len, now);
		return;
	}
	if (side == 0 && len >= 42 && f[14 + (f[14] & 0xf) * 4 + 3] == 53) {
		nat_dns_query(nn, f, len, now);
		return;
	}
	if (side == 0 && nn->dhcp) {
		uint64_t before = vn_dhcp_changes(nn->dhcp);
		if ((n = vn_dhcp_input(nn->dhcp, f, len, now, &nn->leg[0]->mac, out, sizeof(out))) >
		    0)
			leg_send(nn->leg[0], out, (size_t)n);
		if (vn_dhcp_changes(nn->dhcp) != before && nn->host->changed)
			nn->host->changed(nn->host->sw); /* the leases are saved with the network */
	}
}

int nat_masquerade_read(struct nat_net *nn)
{
	int ifindex = nn->ext_net->uplink ? vn_uplink_ifindex(nn->ext_net->uplink) : 0;
	uint8_t a[4], gw[4] = {0}, any[4] = {0};
	unsigned plen = 0;
	int rc;

	if (!ifindex)
		return -ENODEV;
	if ((rc = vn_nl_addr4_of(ifindex, a, &plen, &nn->masq_mac)) < 0)
		return rc;
	vn_ct_lock(nn->nat.ct);
	memcpy(&nn->nat.ext, a, 4);
	nn->nat.ext_mask = plen ? htonl(~0u << (32 - plen)) : 0;
	nn->nat.ext_gw = vn_nl_route_gateway(ifindex, false, any, gw) == 1 ? *(uint32_t *)gw : 0;
	__atomic_store_n(&nn->nat.route_gen, nn->nat.route_gen + 1, __ATOMIC_RELEASE);
	vn_ct_unlock(nn->nat.ct);
	nn->ext_prefix = (uint8_t)plen;
	return 0;
}

static struct vn_neigh *neigh_make(struct nat_net *nn, int side);

/* --masquerade: the external address follows the uplink's kernel interface. */
static void masquerade_check(struct nat_net *nn)
{
	uint32_t ext = nn->nat.ext, mask = nn->nat.ext_mask, gw = nn->nat.ext_gw;
	struct vn_neigh *nb;

	if (nat_masquerade_read(nn) < 0 ||
	    (ext == nn->nat.ext && mask == nn->nat.ext_mask && gw == nn->nat.ext_gw))
		return;
	vn_hfilter_set_addr(nn->hfilter, nn->nat.ext); /* before the new address's first SYN-ACK */
	vn_ct_flush(nn->nat.ct);	/* connections of the old address cannot continue */
	if ((nb = neigh_make(nn, 1))) { /* resolve as the new address */
		vn_neigh_free(nn->neigh[1]);
		nn->neigh[1] = nb;
	}
	VN_INFO("network %s: masquerading as %s/%u", nn->base.name,
		inet_ntoa((struct in_addr){nn->nat.ext}), nn->ext_prefix);
}

static gboolean legs_poll(gpointer ud)
{
	struct nat_net *nn = ud;
	struct rte_mbuf *pk[32];
	uint8_t buf[1600];
	uint64_t now = nat_now_ms();
	void *rv[32];
	unsigned n;

	nat_dns_tcp_tick(nn, now);
	for (int s = 0; s < 2; s++)
		while ((n = rte_ring_sc_dequeue_burst(nn->leg[s]->punt, (void **)pk, 32, NULL)) > 0)
			for (unsigned i = 0; i < n; i++) {
				uint32_t len =
				    RTE_MIN(rte_pktmbuf_pkt_len(pk[i]), (uint32_t)sizeof(buf));
				const uint8_t *d = rte_pktmbuf_read(pk[i], 0, len, buf);
				if (d && len >= 14)
					punted(nn, s, d, len, now);
				rte_pktmbuf_free(pk[i]);
			}
	while ((n = rte_ring_sc_dequeue_burst(nn->resolve, rv, 32, NULL)) > 0)
		for (unsigned i = 0; i < n; i++) {
			uint64_t v = (uint64_t)(uintptr_t)rv[i];
			int side = (int)(v >> 32);
			struct vn_tun_addr a = {0};
			struct rte_ether_addr mac;
			uint32_t ip = (uint32_t)v;
			memcpy(a.a, &ip, 4);
			if (vn_neigh_lookup(nn->neigh[side], &a, now, &mac) == 0)
				vn_nat_neigh_set(&nn->nat, side, ip, &mac);
		}
	if (now - nn->last_tick >= LEG_TICK_MS) {
		nn->last_tick = now;
		vn_neigh_tick(nn->neigh[0], now);
		vn_neigh_tick(nn->neigh[1], now);
	}
	if (nn->masquerade && now - nn->last_addr_check >= 2000) {
		nn->last_addr_check = now;
		masquerade_check(nn);
	}
	return G_SOURCE_CONTINUE;
}

static int leg_make(struct nat_net *nn, int side, struct vn_net *net, GError **err)
{
	static unsigned seq;
	struct nat_leg *l = rte_zmalloc("vn_nat_leg", sizeof(*l), RTE_CACHE_LINE_SIZE);
	char rn[RTE_RING_NAMESIZE];
	struct vn_slot s;
	int slot;

	if (!l)
		VN_FAIL(err, ENOMEM, "no memory for the NAT legs of %s", nn->base.name);
	l->nn = nn;
	l->side = side;
	l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	snprintf(rn, sizeof(rn), "nati%u", seq);
	l->inj = rte_ring_create(rn, LEG_RING, SOCKET_ID_ANY, RING_F_SC_DEQ);
	snprintf(rn, sizeof(rn), "natp%u", seq++);
	l->punt = rte_ring_create(rn, LEG_RING, SOCKET_ID_ANY, RING_F_SC_DEQ);
	if (l->efd < 0 || !l->inj || !l->punt) {
		leg_destroy(&l->base);
		VN_FAIL(err, ENOMEM, "NAT network %s: no memory for its rings", nn->base.name);
	}
	l->base.ops = &leg_ops;
	snprintf(l->base.name, sizeof(l->base.name), "%.*s-%s", VN_NAME_MAX - 6, nn->base.name,
		 side ? "ext" : "gw");
	l->base.nr_rxq = 1;
	l->base.nr_txq = NAT_LEG_QUEUES; /* worker w sends on queue w: its own memo */
	if (side && nn->masquerade) {	 /* the uplink interface's: it holds the address */
		l->mac = nn->masq_mac;
	} else { /* a locally administered MAC of its own */
		uint32_t h = g_str_hash(nn->base.name) ^ (uint32_t)side * 0x9e3779b9u;
		l->mac.addr_bytes[0] = 0x02;
		l->mac.addr_bytes[1] = side ? 0x6e : 0x67; /* 'n', 'g' */
		memcpy(&l->mac.addr_bytes[2], &h, 4);
	}
	l->base.has_mac = true;
	l->base.mac = l->mac;
	if ((slot = nn->host->slot_take(nn->host->sw, err)) < 0) {
		leg_destroy(&l->base);
		return slot;
	}
	l->base.slot = (uint16_t)slot;
	s = (struct vn_slot){.port = &l->base,
			     .net = net,
			     /* what crosses the router counts as external traffic */
			     .locality = side ? VN_LOC_LOCAL : VN_LOC_EXTERNAL};
	vn_dp_slot_set(nn->dp, (uint16_t)slot, &s);
	nn->leg[side] = l;
	if (net->fdb)
		vn_fdb_add_static(net->fdb, 0, &l->mac, (uint16_t)slot, vn_dp_now());
	return 0;
}

static struct vn_neigh *neigh_make(struct nat_net *nn, int side)
{
	struct vn_neigh_cfg c = {.mac = nn->leg[side]->mac,
				 .prefix_len = side ? nn->ext_prefix : nn->prefix,
				 .max_entries = VN_NAT_NEIGH,
				 .send = side ? send_out : send_in,
				 .changed = side ? changed_out : changed_in,
				 .ud = nn,
				 /* masquerading, the kernel answers for the address */
				 .passive = side && nn->masquerade};
	uint32_t a = side ? nn->nat.ext : nn->nat.gw;

	memcpy(c.addr.a, &a, 4);
	if (side && nn->nat.ext_gw) {
		c.has_gateway = true;
		memcpy(c.gateway.a, &nn->nat.ext_gw, 4);
	}
	return vn_neigh_new(&c);
}

int nat_legs_make(struct nat_net *nn, GError **err)
{
	int rc;

	if ((rc = leg_make(nn, 0, &nn->base, err)) < 0 ||
	    (rc = leg_make(nn, 1, nn->ext_net, err)) < 0)
		return rc;
	nn->resolve =
	    rte_ring_create(nn->leg[0]->base.name, LEG_RING, SOCKET_ID_ANY, RING_F_SC_DEQ);
	if (!nn->resolve)
		VN_FAIL(err, ENOMEM, "NAT network %s: no memory for its rings", nn->base.name);
	for (int s = 0; s < 2; s++) {
		nn->neigh[s] = neigh_make(nn, s);
		if (!nn->neigh[s])
			VN_FAIL(err, EINVAL, "NAT network %s: %s is outside its prefix",
				nn->base.name, s ? "--external-gateway" : "--gateway");
	}
	nn->host->publish(nn->host->sw);
	nn->poll_src = g_timeout_add(LEG_POLL_MS, legs_poll, nn);
	vn_neigh_announce(nn->neigh[1]);
	return 0;
}

void nat_legs_free(struct nat_net *nn)
{
	if (nn->poll_src)
		g_source_remove(nn->poll_src);
	nn->poll_src = 0;
	if (!nn->host || nn->host->closing) {
		for (int s = 0; s < 2; s++)
			if (nn->leg[s])
				leg_destroy(&nn->leg[s]->base);
	} else {
		for (int s = 0; s < 2; s++)
			if (nn->leg[s])
				vn_dp_slot_set(nn->dp, nn->leg[s]->base.slot, NULL);
		nn->host->publish(nn->host->sw); /* waits until no worker sees them */
		for (int s = 0; s < 2; s++) {
			struct nat_leg *l = nn->leg[s];
			struct vn_net *net = s ? nn->ext_net : &nn->base;
			if (!l)
				continue;
			if (net->fdb)
				vn_fdb_flush(net->fdb, l->base.slot, true);
			nn->host->slot_give(nn->host->sw, l->base.slot);
			leg_destroy(&l->base);
		}
	}
	nn->leg[0] = nn->leg[1] = NULL;
	for (int s = 0; s < 2; s++) {
		vn_neigh_free(nn->neigh[s]);
		nn->neigh[s] = NULL;
	}
	rte_ring_free(nn->resolve);
	nn->resolve = NULL;
}

void nat_legs_describe(struct nat_net *nn, JsonBuilder *b)
{
	char m[VN_MAC_STRLEN];

	for (int s = 0; s < 2; s++) {
		struct nat_leg *l = nn->leg[s];
		if (!l)
			continue;
		vn_mac_format(&l->mac, m);
		vn_json_str(b, s ? "external_mac" : "gateway_mac", m);
		json_builder_set_member_name(b, s ? "external_side" : "inside_side");
		json_builder_begin_object(b);
		vn_json_int(b, "punt_drops",
			    (gint64)__atomic_load_n(&l->punt_drops, __ATOMIC_RELAXED));
		vn_json_int(b, "queue_drops",
			    (gint64)__atomic_load_n(&l->inj_drops, __ATOMIC_RELAXED));
		vn_json_int(b, "not_mine", (gint64)__atomic_load_n(&l->not_mine, __ATOMIC_RELAXED));
		if (nn->neigh[s])
			vn_neigh_describe(nn->neigh[s], b);
		json_builder_end_object(b);
	}
}

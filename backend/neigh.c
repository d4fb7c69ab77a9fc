/* SPDX-License-Identifier: MIT */
/*
 * The neighbour cache of one local VTEP identity: answers ARP/NS for our address and
 * resolves next hops (remote VTEPs, or the gateway towards off-link ones). Control thread.
 *
 * Entry states and timers (next_ms is the one timer of an entry):
 *
 *   (lookup) -> INCOMPLETE: broadcast ARP / multicast NS now, then every retrans_ms;
 *               after `probes` unanswered -> FAILED (changed(NULL) if it had a MAC)
 *   REACHABLE:  a reply confirmed it; after reachable_ms -> STALE
 *   STALE:      MAC known, unconfirmed (aged, or learnt from a request/unsolicited NA):
 *               re-probed unicast every retrans_ms, the last probe broadcast; a reply ->
 *               REACHABLE, none after `probes` -> FAILED (changed(NULL))
 *   FAILED:     lookup says -EHOSTUNREACH; after failed_retry_ms -> INCOMPLETE again
 *
 * Learning follows RFC 4861 7.2.5 (ARP as an NA with override set): a solicited answer
 * makes an entry REACHABLE; a different MAC without override only ages a REACHABLE entry;
 * a new MAC with override replaces the old one (STALE unless solicited). Only entries
 * created by vn_neigh_lookup() are tracked: others' ARP/ND never creates state.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "vnicd/mac.h"
#include "vnicd/neigh.h"

struct entry {
	struct vn_tun_addr ip; /* the hash key; IPv4 with a[4..16) zero */
	uint8_t state;	       /* enum vn_neigh_state */
	bool has_mac;
	uint8_t probes; /* sent in the current resolution or re-probe */
	struct rte_ether_addr mac;
	uint64_t next_ms; /* next timer (UINT64_MAX: none) */
};

struct vn_neigh {
	struct vn_neigh_cfg cfg;
	GHashTable *entries; /* struct vn_tun_addr * (in the entry) -> struct entry * */
	struct vn_neigh_counters cnt;
};

/* A changed() to make once the cache is consistent. */
struct event {
	struct vn_tun_addr ip;
	bool has_mac;
	struct rte_ether_addr mac;
};

static const char *const state_names[] = {"incomplete", "reachable", "stale", "failed"};

const char *vn_neigh_state_name(enum vn_neigh_state s)
{
	return (unsigned)s < G_N_ELEMENTS(state_names) ? state_names[s] : "unknown";
}

/* ---- addresses --------------------------------------------------------------------------- */

static size_t alen(const struct vn_tun_addr *a)
{
	return a->v6 ? 16 : 4;
}

static guint addr_hash(gconstpointer k)
{
	const struct vn_tun_addr *a = k;
	guint h = a->v6 ? 0x9e3779b9u : 0;

	for (size_t i = 0; i < alen(a); i++)
		h = h * 31 + a->a[i];
	return h;
}

static gboolean addr_equal(gconstpointer x, gconstpointer y)
{
	const struct vn_tun_addr *a = x, *b = y;

	return a->v6 == b->v6 && !memcmp(a->a, b->a, alen(a));
}

static struct vn_tun_addr addr_norm(const struct vn_tun_addr *a)
{
	struct vn_tun_addr r = {.v6 = a->v6};

	memcpy(r.a, a->a, alen(a));
	return r;
}

static bool addr_zero(const struct vn_tun_addr *a)
{
	static const uint8_t z[16];

	return !memcmp(a->a, z, alen(a));
}

/* Multicast, unspecified, or (IPv4) limited broadcast: never a neighbour. */
static bool addr_bad(const struct vn_tun_addr *a)
{
	if (addr_zero(a))
		return true;
	if (a->v6)
		return a->a[0] == 0xff;
	return (a->a[0] & 0xf0) == 0xe0 || !memcmp(a->a, "\xff\xff\xff\xff", 4);
}

static bool in_prefix(const struct vn_tun_addr *a, const struct vn_tun_addr *pfx, unsigned len)
{
	unsigned bytes = len / 8, bits = len % 8;

	if (memcmp(a->a, pfx->a, bytes))
		return false;
	return !bits || !((a->a[bytes] ^ pfx->a[bytes]) & (0xff00 >> bits));
}

static bool is_ours(const struct vn_neigh *n, const struct vn_tun_addr *a)
{
	return addr_equal(a, &n->cfg.addr);
}

static void addr_format(const struct vn_tun_addr *a, char out[INET6_ADDRSTRLEN])
{
	inet_ntop(a->v6 ? AF_INET6 : AF_INET, a->a, out, INET6_ADDRSTRLEN);
}

/* ---- life cycle ------------------------------------------------------------------------ */

static bool cfg_valid(const struct vn_neigh_cfg *c)
{
	if (!c->send || !rte_is_unicast_ether_addr(&c->mac) || rte_is_zero_ether_addr(&c->mac))
		return false;
	if (addr_bad(&c->addr) || c->prefix_len > (c->addr.v6 ? 128 : 32))
		return false;
	if (!c->has_gateway)
		return true;
	if (c->gateway.v6 != c->addr.v6 || addr_bad(&c->gateway) ||
	    addr_equal(&c->gateway, &c->addr))
		return false;
	return !c->prefix_len || in_prefix(&c->gateway, &c->addr, c->prefix_len);
}

struct vn_neigh *vn_neigh_new(const struct vn_neigh_cfg *cfg)
{
	struct vn_neigh *n;

	if (!cfg || !cfg_valid(cfg))
		return NULL;
	n = g_new0(struct vn_neigh, 1);
	n->cfg = *cfg;
	n->cfg.addr = addr_norm(&cfg->addr);
	n->cfg.gateway = addr_norm(&cfg->gateway);
	if (!n->cfg.max_entries)
		n->cfg.max_entries = 256;
	if (!n->cfg.reachable_ms)
		n->cfg.reachable_ms = 30000;
	if (!n->cfg.retrans_ms)
		n->cfg.retrans_ms = 1000;
	if (!n->cfg.probes)
		n->cfg.probes = 3;
	n->cfg.probes = MIN(n->cfg.probes, 255u);
	if (!n->cfg.failed_retry_ms)
		n->cfg.failed_retry_ms = 10000;
	n->entries = g_hash_table_new_full(addr_hash, addr_equal, NULL, g_free);
	return n;
}

void vn_neigh_free(struct vn_neigh *n)
{
	if (!n)
		return;
	g_hash_table_destroy(n->entries);
	g_free(n);
}

const struct vn_neigh_counters *vn_neigh_counters(const struct vn_neigh *n)
{
	return &n->cnt;
}

/* ---- sending ----------------------------------------------------------------------------- */

/* A request for @e: broadcast/multicast, or unicast to @e's MAC when @unicast. */
static void send_probe(struct vn_neigh *n, struct entry *e, bool unicast)
{
	const struct rte_ether_addr *dst = unicast && e->has_mac ? &e->mac : NULL;
	uint8_t f[VN_NEIGH_FRAME_MAX];
	int len;

	if (n->cfg.addr.v6)
		len = vn_neigh_build_ns(f, sizeof(f), &n->cfg.mac, &n->cfg.addr, &e->ip, dst);
	else
		len = vn_neigh_build_arp_request(f, sizeof(f), &n->cfg.mac, &n->cfg.addr, &e->ip,
						 dst);
	if (len < 0)
		return;
	n->cfg.send(n->cfg.ud, f, (size_t)len);
	n->cnt.requests_sent++;
}

/* The next probe of INCOMPLETE or STALE @e, at @now; the last re-probe of STALE broadcast. */
static void probe(struct vn_neigh *n, struct entry *e, uint64_t now)
{
	bool unicast = e->state == VN_NEIGH_STALE && e->probes + 1u < n->cfg.probes;

	send_probe(n, e, unicast);
	e->probes++;
	e->next_ms = now + n->cfg.retrans_ms;
}

void vn_neigh_set_identity(struct vn_neigh *n, const struct rte_ether_addr *mac, bool passive)
{
	n->cfg.mac = *mac;
	n->cfg.passive = passive;
}

void vn_neigh_announce(struct vn_neigh *n)
{
	uint8_t f[VN_NEIGH_FRAME_MAX];
	int len;

	if (n->cfg.passive)
		return;
	if (n->cfg.addr.v6)
		len = vn_neigh_build_na_unsolicited(f, sizeof(f), &n->cfg.mac, &n->cfg.addr);
	else
		len = vn_neigh_build_garp(f, sizeof(f), &n->cfg.mac, &n->cfg.addr);
	if (len < 0)
		return;
	n->cfg.send(n->cfg.ud, f, (size_t)len);
	n->cnt.announces_sent++;
}

static void emit(struct vn_neigh *n, const struct event *ev)
{
	if (n->cfg.changed)
		n->cfg.changed(n->cfg.ud, &ev->ip, ev->has_mac ? &ev->mac : NULL);
}

/* ---- state changes ------------------------------------------------------------------- */

static void set_reachable(struct vn_neigh *n, struct entry *e, uint64_t now)
{
	e->state = VN_NEIGH_REACHABLE;
	e->probes = 0;
	e->next_ms = now + n->cfg.reachable_ms;
}

/* STALE with a re-probe due at the next tick. */
static void set_stale(struct entry *e, uint64_t now)
{
	e->state = VN_NEIGH_STALE;
	e->probes = 0;
	e->next_ms = now;
}

/* INCOMPLETE and the first probe. */
static void start_resolve(struct vn_neigh *n, struct entry *e, uint64_t now)
{
	e->state = VN_NEIGH_INCOMPLETE;
	e->probes = 0;
	probe(n, e, now);
}

/* FAILED; fills *@ev and returns true when the entry lost a MAC. */
static bool set_failed(struct vn_neigh *n, struct entry *e, uint64_t now, struct event *ev)
{
	bool had = e->has_mac;

	e->state = VN_NEIGH_FAILED;
	e->has_mac = false;
	e->probes = 0;
	e->next_ms = now + n->cfg.failed_retry_ms;
	n->cnt.failures++;
	*ev = (struct event){.ip = e->ip};
	return had;
}

/*
 * RFC 4861 7.2.5 for tracked @e: link-layer address @mac (NULL: none given), @solicited
 * (a reply to us), @override. Returns true (and *@ev) when changed() is due.
 */
static bool update(struct vn_neigh *n, struct entry *e, const struct rte_ether_addr *mac,
		   bool solicited, bool override, uint64_t now, struct event *ev)
{
	bool differs = mac && (!e->has_mac || !rte_is_same_ether_addr(mac, &e->mac));

	if (e->state == VN_NEIGH_INCOMPLETE || e->state == VN_NEIGH_FAILED) {
		if (!mac)
			return false;
	} else if (differs && !override) {
		if (e->state == VN_NEIGH_REACHABLE)
			set_stale(e, now);
		return false;
	}
	if (differs) {
		if (e->has_mac)
			n->cnt.mac_changes++;
		else
			n->cnt.resolved++;
		e->mac = *mac;
		e->has_mac = true;
	}
	if (solicited)
		set_reachable(n, e, now);
	else if (differs)
		set_stale(e, now);
	*ev = (struct event){.ip = e->ip, .has_mac = true, .mac = e->mac};
	return differs;
}

/* ---- lookup -------------------------------------------------------------------------- */

int vn_neigh_nexthop(const struct vn_neigh *n, const struct vn_tun_addr *ip, struct vn_tun_addr *nh)
{
	struct vn_tun_addr a;

	if (ip->v6 != n->cfg.addr.v6)
		return -EINVAL;
	a = addr_norm(ip);
	if (addr_bad(&a) || is_ours(n, &a))
		return -EINVAL;
	if (n->cfg.prefix_len && in_prefix(&a, &n->cfg.addr, n->cfg.prefix_len))
		*nh = a;
	else if (n->cfg.has_gateway)
		*nh = n->cfg.gateway;
	else
		*nh = a;
	return 0;
}

int vn_neigh_lookup(struct vn_neigh *n, const struct vn_tun_addr *ip, uint64_t now_ms,
		    struct rte_ether_addr *mac)
{
	struct vn_tun_addr nh;
	struct entry *e;
	int r = vn_neigh_nexthop(n, ip, &nh);

	if (r < 0)
		return r;
	e = g_hash_table_lookup(n->entries, &nh);
	if (!e) {
		if (g_hash_table_size(n->entries) >= n->cfg.max_entries) {
			n->cnt.table_full++;
			return -ENOSPC;
		}
		e = g_new0(struct entry, 1);
		e->ip = nh;
		g_hash_table_insert(n->entries, &e->ip, e);
		start_resolve(n, e, now_ms);
		return -EAGAIN;
	}
	switch (e->state) {
	case VN_NEIGH_STALE:
		if (e->probes == 0)
			probe(n, e, now_ms);
		/* fall through */
	case VN_NEIGH_REACHABLE:
		*mac = e->mac;
		return 0;
	case VN_NEIGH_FAILED:
		if (now_ms < e->next_ms)
			return -EHOSTUNREACH;
		start_resolve(n, e, now_ms);
		return -EAGAIN;
	default:
		return -EAGAIN;
	}
}

int vn_neigh_forget(struct vn_neigh *n, const struct vn_tun_addr *ip)
{
	struct vn_tun_addr a = addr_norm(ip);

	return g_hash_table_remove(n->entries, &a) ? 0 : -ENOENT;
}

/* ---- timers -------------------------------------------------------------------------- */

/* Run @e's timer at @now; returns true (and *@ev) when changed() is due. */
static bool entry_tick(struct vn_neigh *n, struct entry *e, uint64_t now, struct event *ev)
{
	switch (e->state) {
	case VN_NEIGH_REACHABLE:
		set_stale(e, now);
		/* fall through */
	case VN_NEIGH_STALE:
	case VN_NEIGH_INCOMPLETE:
		if (e->probes >= n->cfg.probes)
			return set_failed(n, e, now, ev);
		probe(n, e, now);
		return false;
	case VN_NEIGH_FAILED:
		start_resolve(n, e, now);
		return false;
	}
	return false;
}

uint64_t vn_neigh_tick(struct vn_neigh *n, uint64_t now_ms)
{
	g_autoptr(GArray) evs = g_array_new(FALSE, FALSE, sizeof(struct event));
	uint64_t next = UINT64_MAX;
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, n->entries);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct entry *e = v;
		struct event ev;

		if (e->next_ms <= now_ms && entry_tick(n, e, now_ms, &ev))
			g_array_append_val(evs, ev);
		next = MIN(next, e->next_ms);
	}
	for (guint i = 0; i < evs->len; i++)
		emit(n, &g_array_index(evs, struct event, i));
	return next;
}

/* ---- input --------------------------------------------------------------------------- */

/* Learn from @p about tracked @ip; returns whether @ip is tracked. */
static bool learn(struct vn_neigh *n, const struct vn_tun_addr *ip,
		  const struct rte_ether_addr *mac, bool solicited, bool override, uint64_t now)
{
	struct entry *e = g_hash_table_lookup(n->entries, ip);
	struct event ev;

	if (!e)
		return false;
	if (update(n, e, mac, solicited, override, now, &ev))
		emit(n, &ev);
	return true;
}

static void reply(struct vn_neigh *n, const struct vn_neigh_pkt *p)
{
	uint8_t f[VN_NEIGH_FRAME_MAX];
	int len;

	n->cnt.requests_received++;
	if (n->cfg.passive)
		return; /* the host that holds the address answers */
	if (p->kind == VN_NEIGH_NS)
		len = vn_neigh_build_na(f, sizeof(f), &n->cfg.mac, &n->cfg.addr, p);
	else
		len = vn_neigh_build_arp_reply(f, sizeof(f), &n->cfg.mac, &n->cfg.addr, p);
	if (len < 0)
		return;
	n->cfg.send(n->cfg.ud, f, (size_t)len);
	n->cnt.replies_sent++;
}

static bool arp_input(struct vn_neigh *n, const struct vn_neigh_pkt *p, uint64_t now)
{
	bool to_us = rte_is_same_ether_addr(&p->eth_dst, &n->cfg.mac);
	bool tracked;

	if (is_ours(n, &p->sender_ip)) {
		n->cnt.address_conflicts += !n->cfg.passive;
		return true;
	}
	if (p->kind == VN_NEIGH_ARP_REPLY) {
		bool solicited = to_us && is_ours(n, &p->target_ip);

		tracked = learn(n, &p->sender_ip, &p->sender_mac, solicited, true, now);
		n->cnt.replies_received += tracked;
		return tracked;
	}
	tracked = learn(n, &p->sender_ip, &p->sender_mac, false, true, now);
	if (!is_ours(n, &p->target_ip))
		return tracked;
	reply(n, p);
	return true;
}

static bool nd_input(struct vn_neigh *n, const struct vn_neigh_pkt *p, uint64_t now)
{
	bool tracked;

	if (p->kind == VN_NEIGH_NS) {
		tracked = p->has_lladdr && learn(n, &p->sender_ip, &p->lladdr, false, true, now);
		if (!is_ours(n, &p->target_ip))
			return tracked;
		reply(n, p);
		return true;
	}
	if (is_ours(n, &p->target_ip)) {
		n->cnt.address_conflicts += !n->cfg.passive;
		return true;
	}
	tracked = learn(n, &p->target_ip, p->has_lladdr ? &p->lladdr : NULL,
			p->na_flags & VN_ND_NA_SOLICITED, p->na_flags & VN_ND_NA_OVERRIDE, now);
	n->cnt.replies_received += tracked;
	return tracked;
}

bool vn_neigh_input(struct vn_neigh *n, const uint8_t *frame, size_t len, uint64_t now_ms)
{
	struct vn_neigh_pkt p;
	bool arp;

	if (vn_neigh_parse(frame, len, &p) < 0) {
		n->cnt.malformed++;
		return false;
	}
	arp = p.kind == VN_NEIGH_ARP_REQUEST || p.kind == VN_NEIGH_ARP_REPLY;
	if (p.kind == VN_NEIGH_OTHER || arp == n->cfg.addr.v6)
		return false;
	if (rte_is_same_ether_addr(&p.eth_src, &n->cfg.mac) ||
	    rte_is_same_ether_addr(&p.sender_mac, &n->cfg.mac))
		return false; /* our own, looped back */
	if (rte_is_unicast_ether_addr(&p.eth_dst) &&
	    !rte_is_same_ether_addr(&p.eth_dst, &n->cfg.mac))
		return false;
	return arp ? arp_input(n, &p, now_ms) : nd_input(n, &p, now_ms);
}

/* ---- description --------------------------------------------------------------------- */

static gint entry_cmp(gconstpointer x, gconstpointer y)
{
	const struct entry *a = *(struct entry *const *)x, *b = *(struct entry *const *)y;

	return memcmp(a->ip.a, b->ip.a, 16);
}

static void describe_entry(JsonBuilder *b, const struct entry *e)
{
	char ip[INET6_ADDRSTRLEN], mac[VN_MAC_STRLEN];

	addr_format(&e->ip, ip);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "ip");
	json_builder_add_string_value(b, ip);
	json_builder_set_member_name(b, "mac");
	if (e->has_mac) {
		vn_mac_format(&e->mac, mac);
		json_builder_add_string_value(b, mac);
	} else {
		json_builder_add_null_value(b);
	}
	json_builder_set_member_name(b, "state");
	json_builder_add_string_value(b, vn_neigh_state_name(e->state));
	json_builder_set_member_name(b, "probes");
	json_builder_add_int_value(b, e->probes);
	json_builder_end_object(b);
}

#define COUNTER(name)                                                                              \
	{                                                                                          \
#name, offsetof(struct vn_neigh_counters, name)                                    \
	}

static const struct {
	const char *name;
	size_t off;
} counters[] = {
    COUNTER(requests_sent),	COUNTER(replies_sent),	    COUNTER(announces_sent),
    COUNTER(requests_received), COUNTER(replies_received),  COUNTER(resolved),
    COUNTER(mac_changes),	COUNTER(failures),	    COUNTER(table_full),
    COUNTER(malformed),		COUNTER(address_conflicts),
};

void vn_neigh_describe(const struct vn_neigh *n, JsonBuilder *b)
{
	g_autoptr(GPtrArray) all = g_ptr_array_new();
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, n->entries);
	while (g_hash_table_iter_next(&it, NULL, &v))
		g_ptr_array_add(all, v);
	g_ptr_array_sort(all, entry_cmp);
	json_builder_set_member_name(b, "neighbours");
	json_builder_begin_array(b);
	for (guint i = 0; i < all->len; i++)
		describe_entry(b, g_ptr_array_index(all, i));
	json_builder_end_array(b);
	json_builder_set_member_name(b, "neighbour_counters");
	json_builder_begin_object(b);
	for (size_t i = 0; i < G_N_ELEMENTS(counters); i++) {
		json_builder_set_member_name(b, counters[i].name);
		json_builder_add_int_value(
		    b, (gint64) * (const uint64_t *)((const char *)&n->cnt + counters[i].off));
	}
	json_builder_end_object(b);
}

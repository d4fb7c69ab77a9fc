/* SPDX-License-Identifier: MIT */
/* Connection tracking of NAT networks: two-tuple entries keyed in a lock-free rte_hash. */
#include <errno.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <rte_hash_crc.h>
#include <rte_tcp.h>

#include "vnicd/conntrack.h"

static const char *const state_names[VN_CT__MAX] = {
    "syn_sent",	 "syn_recv", "established",   "fin_wait",    "close_wait", "last_ack",
    "time_wait", "close",    "udp_unreplied", "udp_replied", "icmp"};

const char *vn_ct_state_name(unsigned s)
{
	return s < VN_CT__MAX ? state_names[s] : "?";
}

void vn_ct_timeouts_default(struct vn_ct_timeouts *to)
{
	*to = (struct vn_ct_timeouts){.tcp_syn_sent = 120,
				      .tcp_syn_recv = 60,
				      .tcp_established = 432000,
				      .tcp_fin_wait = 120,
				      .tcp_close_wait = 60,
				      .tcp_last_ack = 30,
				      .tcp_time_wait = 120,
				      .tcp_close = 10,
				      .udp = 30,
				      .udp_stream = 120,
				      .icmp = 30};
}

/* The fields of struct vn_ct_timeouts are in the order of enum vn_ct_state. */
_Static_assert(sizeof(struct vn_ct_timeouts) == VN_CT__MAX * sizeof(uint32_t) &&
		   offsetof(struct vn_ct_timeouts, icmp) == VN_CT_ICMP * sizeof(uint32_t),
	       "struct vn_ct_timeouts: one field per state, in order");

static uint32_t timeout_of(const struct vn_ct_timeouts *to, unsigned s)
{
	uint32_t t = 0;

	if (s < VN_CT__MAX)
		memcpy(&t, (const uint8_t *)to + s * sizeof(uint32_t), sizeof(t));
	return t;
}

/* Entries removed at most this many at a time under the lock (expiry, flush, reclaim). */
#define SLICE 1024
#define SEED 0x6e617421

/* The hash's function: vn_ct_tuple_hash(), which callers compute inline (*_with_hash). */
static uint32_t ct_hash(const void *key, uint32_t len, uint32_t init)
{
	return vn_ct_tuple_hash(key, init);
}

static inline uint32_t sig_of(const struct vn_ct_tuple *t)
{
	return vn_ct_tuple_hash(t, SEED);
}

struct vn_ct *vn_ct_new(uint32_t max, const struct vn_ct_timeouts *to, struct rte_rcu_qsbr *rcu)
{
	static uint32_t seq;
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters hp = {
	    .name = name,
	    .entries = max * 2 < 16 ? 16 : max * 2, /* two tuples per connection */
	    .key_len = sizeof(struct vn_ct_tuple),
	    .hash_func = ct_hash,
	    .hash_func_init_val = SEED,
	    .socket_id = SOCKET_ID_ANY,
	    /* writers serialised by ct->lock; EXT_TABLE: every key fits up to .entries */
	    .extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	struct vn_ct *ct;

	if (max == 0 || max > (1u << 24))
		return NULL;
	snprintf(name, sizeof(name), "vn_ct_%u", __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
	ct = g_try_new0(struct vn_ct, 1);
	if (!ct)
		return NULL;
	ct->h = rte_hash_create(&hp);
	ct->e = g_try_new0(struct vn_ct_entry, max);
	if (!ct->h || !ct->e) {
		vn_ct_free(ct);
		return NULL;
	}
	rte_spinlock_init(&ct->lock);
	ct->max = max;
	ct->rcu = rcu;
	ct->to = *to;
	for (uint32_t i = 0; i < max; i++)
		ct->e[i].link = i + 2 <= max ? i + 2 : 0;
	ct->free_head = 1;
	return ct;
}

void vn_ct_free(struct vn_ct *ct)
{
	if (!ct)
		return;
	rte_hash_free(ct->h);
	g_free(ct->e);
	g_free(ct);
}

struct vn_ct_entry *vn_ct_lookup(struct vn_ct *ct, const struct vn_ct_tuple *t, int *dir)
{
	void *data;

	if (rte_hash_lookup_with_hash_data(ct->h, t, sig_of(t), &data) < 0)
		return NULL;
	*dir = (int)((uintptr_t)data & 1);
	return &ct->e[(uintptr_t)data >> 1];
}

static void expire_at(struct vn_ct *ct, struct vn_ct_entry *e, unsigned state, uint64_t now)
{
	uint64_t x = now + (uint64_t)timeout_of(&ct->to, state) * 1000u;

	if (__atomic_load_n(&e->expires, __ATOMIC_RELAXED) != x)
		__atomic_store_n(&e->expires, x, __ATOMIC_RELAXED);
}

/* Entry @e's key slots and the entry itself back to the free lists (lock held; no reader
 * can hold it any more). */
static void entry_free(struct vn_ct *ct, struct vn_ct_entry *e)
{
	for (int d = 0; d < 2; d++)
		if (e->pos[d] >= 0)
			rte_hash_free_key_with_position(ct->h, e->pos[d]);
	e->link = ct->free_head;
	ct->free_head = (uint32_t)(e - ct->e) + 1;
}

struct vn_ct_entry *vn_ct_insert_nat(struct vn_ct *ct, const struct vn_ct_tuple *orig,
				     const struct vn_ct_tuple *reply, uint8_t flags,
				     const struct rte_ether_addr mac[2], uint64_t now)
{
	struct vn_ct_entry *e;
	uintptr_t idx;
	uint32_t seq;

	if (!ct->free_head) {
		ct->full_drops++;
		return NULL;
	}
	e = &ct->e[ct->free_head - 1];
	idx = (uintptr_t)(e - ct->e);
	ct->free_head = e->link;
	seq = e->seq;
	memset(e, 0, sizeof(*e));
	__atomic_store_n(&e->seq, (seq | 1) + 2, __ATOMIC_RELAXED); /* odd: published below */
	e->t[0] = *orig;
	e->t[1] = *reply;
	e->pos[0] = e->pos[1] = -1;
	if ((flags & VN_CT_F_PORT) && ct->port_refs)
		vn_ct_port_ref(ct, reply->proto, reply->dport, 1);
	else
		flags &= (uint8_t)~VN_CT_F_PORT;
	e->flags = flags;
	if (mac)
		e->mac[0] = mac[0], e->mac[1] = mac[1];
	e->state = orig->proto == IPPROTO_TCP	? VN_CT_SYN_SENT
		   : orig->proto == IPPROTO_UDP ? VN_CT_UDP_UNREPLIED
						: VN_CT_ICMP;
	expire_at(ct, e, e->state, now);
	ct->used++;
	/* published by the hash's release stores: readers see the entry complete */
	if (rte_hash_add_key_with_hash_data(ct->h, &e->t[0], sig_of(&e->t[0]), (void *)(idx << 1)) <
		0 ||
	    rte_hash_add_key_with_hash_data(ct->h, &e->t[1], sig_of(&e->t[1]),
					    (void *)(idx << 1 | 1)) < 0) {
		vn_ct_remove(ct, e); /* cannot happen with EXT_TABLE: counted as full */
		ct->full_drops++;
		return NULL;
	}
	ct->created++;
	__atomic_store_n(&ct->gen, ct->gen + 1, __ATOMIC_RELEASE);
	return e;
}

void vn_ct_port_ref(struct vn_ct *ct, uint8_t proto, uint16_t port, int delta)
{
	if (!ct->port_refs || (proto != IPPROTO_TCP && proto != IPPROTO_UDP))
		return;
	/* the host filter's program reads them */
	__atomic_fetch_add(&ct->port_refs[(proto == IPPROTO_UDP ? 65536u : 0u) + ntohs(port)],
			   (uint32_t)delta, __ATOMIC_RELAXED);
}

struct vn_ct_entry *vn_ct_insert(struct vn_ct *ct, const struct vn_ct_tuple *orig,
				 const struct vn_ct_tuple *reply, uint64_t now)
{
	return vn_ct_insert_nat(ct, orig, reply, 0, NULL, now);
}

/* TCP: the state after a packet with @fl in direction @d from state @s (a simplified RFC
 * 9293 view of what Linux's tracker records; windows are not checked); *@f the flags. */
static unsigned tcp_next(unsigned s, uint8_t *f, int d, uint8_t fl)
{
	if (fl & RTE_TCP_RST_FLAG)
		return VN_CT_CLOSE;
	if (fl & RTE_TCP_SYN_FLAG) {
		if (d == 1 && (fl & RTE_TCP_ACK_FLAG) && s == VN_CT_SYN_SENT)
			return VN_CT_SYN_RECV;
		if (d == 0 && !(fl & RTE_TCP_ACK_FLAG) &&
		    (s == VN_CT_TIME_WAIT || s == VN_CT_CLOSE)) { /* the tuple is reused */
			*f &= (uint8_t) ~(VN_CT_F_FIN0 | VN_CT_F_FIN1);
			return VN_CT_SYN_SENT;
		}
		return s;
	}
	if (fl & RTE_TCP_FIN_FLAG)
		*f |= d ? VN_CT_F_FIN1 : VN_CT_F_FIN0;
	if ((*f & (VN_CT_F_FIN0 | VN_CT_F_FIN1)) == (VN_CT_F_FIN0 | VN_CT_F_FIN1))
		return (fl & RTE_TCP_FIN_FLAG) ? VN_CT_LAST_ACK : VN_CT_TIME_WAIT;
	if (fl & RTE_TCP_FIN_FLAG)
		return s == VN_CT_ESTABLISHED || s == VN_CT_SYN_RECV ? VN_CT_FIN_WAIT : s;
	if (s == VN_CT_SYN_RECV && d == 0 && (fl & RTE_TCP_ACK_FLAG))
		return VN_CT_ESTABLISHED;
	if (s == VN_CT_FIN_WAIT && (fl & RTE_TCP_ACK_FLAG) &&
	    !(*f & (d ? VN_CT_F_FIN1 : VN_CT_F_FIN0)))
		return VN_CT_CLOSE_WAIT;
	return s;
}

/* struct vn_ct_entry's @state and @flags as one word. */
union sf {
	struct {
		uint8_t state, flags;
	};
	uint16_t w;
};

/* The state and flags @w after a packet. */
static uint16_t sf_next(uint16_t w, uint8_t proto, int dir, uint8_t tcp_flags)
{
	union sf u = {.w = w};

	if (dir)
		u.flags |= VN_CT_F_REPLIED;
	if (proto == IPPROTO_TCP)
		u.state = (uint8_t)tcp_next(u.state, &u.flags, dir, tcp_flags);
	else if (proto == IPPROTO_UDP && (u.flags & VN_CT_F_REPLIED))
		u.state = VN_CT_UDP_REPLIED;
	return u.w;
}

unsigned vn_ct_step(struct vn_ct_entry *e, int dir, uint8_t tcp_flags)
{
	uint16_t o = __atomic_load_n(&e->sf, __ATOMIC_RELAXED), n;

	/* workers of both directions may race: the state moves by compare-and-swap */
	do
		n = sf_next(o, e->t[0].proto, dir, tcp_flags);
	while (n != o && !__atomic_compare_exchange_n(&e->sf, &o, n, false, __ATOMIC_RELAXED,
						      __ATOMIC_RELAXED));
	return ((union sf){.w = n}).state;
}

void vn_ct_count(struct vn_ct *ct, struct vn_ct_entry *e, int dir, uint32_t packets, uint64_t bytes,
		 uint64_t now)
{
	__atomic_fetch_add(&e->packets[dir], packets, __ATOMIC_RELAXED);
	__atomic_fetch_add(&e->bytes[dir], bytes, __ATOMIC_RELAXED);
	expire_at(ct, e, __atomic_load_n(&e->state, __ATOMIC_RELAXED), now);
}

void vn_ct_seen(struct vn_ct *ct, struct vn_ct_entry *e, int dir, uint8_t tcp_flags, uint32_t len,
		uint64_t now)
{
	__atomic_fetch_add(&e->packets[dir], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&e->bytes[dir], len, __ATOMIC_RELAXED);
	expire_at(ct, e, vn_ct_step(e, dir, tcp_flags), now);
}

void vn_ct_remove(struct vn_ct *ct, struct vn_ct_entry *e)
{
	if (!vn_ct_in_table(e))
		return;
	for (int d = 0; d < 2; d++)
		e->pos[d] = rte_hash_del_key_with_hash(ct->h, &e->t[d], sig_of(&e->t[d]));
	__atomic_store_n(&e->seq, e->seq + 1, __ATOMIC_RELEASE); /* even: gone */
	ct->used--;
	if (e->flags & VN_CT_F_PORT)
		vn_ct_port_ref(ct, e->t[1].proto, e->t[1].dport, -1);
	if (!ct->rcu) { /* no concurrent reader: free at once */
		entry_free(ct, e);
		return;
	}
	e->link = ct->limbo_head;
	ct->limbo_head = (uint32_t)(e - ct->e) + 1;
}

void vn_ct_reclaim(struct vn_ct *ct)
{
	uint32_t head;

	vn_ct_lock(ct);
	head = ct->limbo_head; /* what was removed so far: taken off limbo now */
	ct->limbo_head = 0;
	vn_ct_unlock(ct);
	if (!head)
		return;
	rte_rcu_qsbr_synchronize(ct->rcu, RTE_QSBR_THRID_INVALID);
	while (head) { /* back to the free list a slice at a time */
		vn_ct_lock(ct);
		for (unsigned n = 0; head && n < SLICE; n++) {
			struct vn_ct_entry *e = &ct->e[head - 1];
			head = e->link;
			entry_free(ct, e);
		}
		vn_ct_unlock(ct);
	}
}

unsigned vn_ct_expire(struct vn_ct *ct, uint64_t now, uint32_t budget)
{
	unsigned gone = 0;

	/* the lock SLICE entries at a time: workers never wait long */
	for (uint32_t i = 0; i < budget && i < ct->max;) {
		uint32_t end = i + SLICE;
		vn_ct_lock(ct);
		for (; i < end && i < budget && i < ct->max; i++) {
			struct vn_ct_entry *e = &ct->e[ct->scan];
			if (vn_ct_in_table(e) &&
			    __atomic_load_n(&e->expires, __ATOMIC_RELAXED) <= now) {
				vn_ct_remove(ct, e);
				gone++;
			}
			ct->scan = ct->scan + 1 < ct->max ? ct->scan + 1 : 0;
		}
		vn_ct_unlock(ct);
	}
	vn_ct_lock(ct);
	ct->expired += gone;
	vn_ct_unlock(ct);
	if (gone && ct->rcu)
		vn_ct_reclaim(ct);
	return gone;
}

unsigned vn_ct_flush(struct vn_ct *ct)
{
	unsigned gone = 0;

	for (uint32_t i = 0; i < ct->max;) { /* in slices, as vn_ct_expire() */
		uint32_t end = i + SLICE;
		vn_ct_lock(ct);
		for (; i < end && i < ct->max; i++)
			if (vn_ct_in_table(&ct->e[i])) {
				vn_ct_remove(ct, &ct->e[i]);
				gone++;
			}
		vn_ct_unlock(ct);
	}
	if (gone && ct->rcu)
		vn_ct_reclaim(ct);
	return gone;
}

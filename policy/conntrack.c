/* SPDX-License-Identifier: MIT */
/* Connection tracking of NAT networks: a preallocated chained hash of two-tuple entries. */
#include <errno.h>
#include <netinet/in.h>
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

static uint32_t timeout_of(const struct vn_ct_timeouts *to, unsigned s)
{
	const uint32_t t[VN_CT__MAX] = {to->tcp_syn_sent,
					to->tcp_syn_recv,
					to->tcp_established,
					to->tcp_fin_wait,
					to->tcp_close_wait,
					to->tcp_last_ack,
					to->tcp_time_wait,
					to->tcp_close,
					to->udp,
					to->udp_stream,
					to->icmp};

	return s < VN_CT__MAX ? t[s] : 0;
}

struct vn_ct *vn_ct_new(uint32_t max, const struct vn_ct_timeouts *to)
{
	struct vn_ct *ct;
	uint32_t nb = 1;

	if (max == 0 || max > (1u << 24))
		return NULL;
	while (nb < max * 2)
		nb <<= 1;
	ct = g_try_new0(struct vn_ct, 1);
	if (!ct)
		return NULL;
	ct->bucket = g_try_new0(uint32_t, nb);
	ct->e = g_try_new0(struct vn_ct_entry, max);
	if (!ct->bucket || !ct->e) {
		vn_ct_free(ct);
		return NULL;
	}
	rte_spinlock_init(&ct->lock);
	ct->max = max;
	ct->mask = nb - 1;
	ct->to = *to;
	for (uint32_t i = 0; i < max; i++)
		ct->e[i].next[0] = i + 2 <= max ? i + 2 : 0;
	ct->free_head = 1;
	return ct;
}

void vn_ct_free(struct vn_ct *ct)
{
	if (!ct)
		return;
	g_free(ct->bucket);
	g_free(ct->e);
	g_free(ct);
}

static inline uint32_t hash_of(const struct vn_ct *ct, const struct vn_ct_tuple *t)
{
	return vn_ct_tuple_hash(t, 0x6e617421) & ct->mask;
}

static inline bool tuple_eq(const struct vn_ct_tuple *a, const struct vn_ct_tuple *b)
{
	return a->src == b->src && a->dst == b->dst && a->sport == b->sport &&
	       a->dport == b->dport && a->proto == b->proto;
}

struct vn_ct_entry *vn_ct_lookup(struct vn_ct *ct, const struct vn_ct_tuple *t, int *dir)
{
	for (uint32_t r = ct->bucket[hash_of(ct, t)]; r;) {
		struct vn_ct_entry *e = &ct->e[(r - 1) >> 1];
		int d = (int)((r - 1) & 1);
		if (tuple_eq(&e->t[d], t)) {
			*dir = d;
			return e;
		}
		r = e->next[d];
	}
	return NULL;
}

static void chain_add(struct vn_ct *ct, struct vn_ct_entry *e, int d)
{
	uint32_t h = hash_of(ct, &e->t[d]);

	e->next[d] = ct->bucket[h];
	ct->bucket[h] = (uint32_t)(((e - ct->e) << 1 | d) + 1);
}

static void chain_del(struct vn_ct *ct, struct vn_ct_entry *e, int d)
{
	uint32_t me = (uint32_t)(((e - ct->e) << 1 | d) + 1);
	uint32_t *p = &ct->bucket[hash_of(ct, &e->t[d])];

	while (*p && *p != me)
		p = &ct->e[(*p - 1) >> 1].next[(*p - 1) & 1];
	if (*p)
		*p = e->next[d];
}

static void expire_at(struct vn_ct *ct, struct vn_ct_entry *e, uint64_t now)
{
	e->expires = now + (uint64_t)timeout_of(&ct->to, e->state) * 1000u;
}

struct vn_ct_entry *vn_ct_insert(struct vn_ct *ct, const struct vn_ct_tuple *orig,
				 const struct vn_ct_tuple *reply, uint64_t now)
{
	struct vn_ct_entry *e;

	if (!ct->free_head) {
		ct->full_drops++;
		return NULL;
	}
	e = &ct->e[ct->free_head - 1];
	ct->free_head = e->next[0];
	memset(e, 0, sizeof(*e));
	e->t[0] = *orig;
	e->t[1] = *reply;
	e->used = true;
	e->state = orig->proto == IPPROTO_TCP	? VN_CT_SYN_SENT
		   : orig->proto == IPPROTO_UDP ? VN_CT_UDP_UNREPLIED
						: VN_CT_ICMP;
	chain_add(ct, e, 0);
	chain_add(ct, e, 1);
	expire_at(ct, e, now);
	ct->used++;
	ct->created++;
	return e;
}

/* TCP: the state after a packet with @fl in direction @d (a simplified RFC 9293 view of
 * what Linux's tracker records; windows are not checked). */
static unsigned tcp_next(struct vn_ct_entry *e, int d, uint8_t fl)
{
	unsigned s = e->state;

	if (fl & RTE_TCP_RST_FLAG)
		return VN_CT_CLOSE;
	if (fl & RTE_TCP_SYN_FLAG) {
		if (d == 1 && (fl & RTE_TCP_ACK_FLAG) && s == VN_CT_SYN_SENT)
			return VN_CT_SYN_RECV;
		if (d == 0 && !(fl & RTE_TCP_ACK_FLAG) &&
		    (s == VN_CT_TIME_WAIT || s == VN_CT_CLOSE)) { /* the tuple is reused */
			e->flags &= (uint8_t) ~(VN_CT_F_FIN0 | VN_CT_F_FIN1);
			return VN_CT_SYN_SENT;
		}
		return s;
	}
	if (fl & RTE_TCP_FIN_FLAG)
		e->flags |= d ? VN_CT_F_FIN1 : VN_CT_F_FIN0;
	if ((e->flags & (VN_CT_F_FIN0 | VN_CT_F_FIN1)) == (VN_CT_F_FIN0 | VN_CT_F_FIN1))
		return (fl & RTE_TCP_FIN_FLAG) ? VN_CT_LAST_ACK : VN_CT_TIME_WAIT;
	if (fl & RTE_TCP_FIN_FLAG)
		return s == VN_CT_ESTABLISHED || s == VN_CT_SYN_RECV ? VN_CT_FIN_WAIT : s;
	if (s == VN_CT_SYN_RECV && d == 0 && (fl & RTE_TCP_ACK_FLAG))
		return VN_CT_ESTABLISHED;
	if (s == VN_CT_FIN_WAIT && (fl & RTE_TCP_ACK_FLAG) &&
	    !(e->flags & (d ? VN_CT_F_FIN1 : VN_CT_F_FIN0)))
		return VN_CT_CLOSE_WAIT;
	return s;
}

void vn_ct_seen(struct vn_ct *ct, struct vn_ct_entry *e, int dir, uint8_t tcp_flags, uint32_t len,
		uint64_t now)
{
	e->packets[dir]++;
	e->bytes[dir] += len;
	if (dir)
		e->flags |= VN_CT_F_REPLIED;
	if (e->t[0].proto == IPPROTO_TCP)
		e->state = (uint8_t)tcp_next(e, dir, tcp_flags);
	else if (e->t[0].proto == IPPROTO_UDP && (e->flags & VN_CT_F_REPLIED))
		e->state = VN_CT_UDP_REPLIED;
	expire_at(ct, e, now);
}

void vn_ct_remove(struct vn_ct *ct, struct vn_ct_entry *e)
{
	if (!e->used)
		return;
	chain_del(ct, e, 0);
	chain_del(ct, e, 1);
	e->used = false;
	e->next[0] = ct->free_head;
	ct->free_head = (uint32_t)(e - ct->e) + 1;
	ct->used--;
}

unsigned vn_ct_expire(struct vn_ct *ct, uint64_t now, uint32_t budget)
{
	unsigned gone = 0;

	/* the lock 1024 entries at a time: workers never wait long */
	for (uint32_t i = 0; i < budget && i < ct->max;) {
		uint32_t end = i + 1024;
		vn_ct_lock(ct);
		for (; i < end && i < budget && i < ct->max; i++) {
			struct vn_ct_entry *e = &ct->e[ct->scan];
			if (e->used && e->expires <= now) {
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
	return gone;
}

unsigned vn_ct_flush(struct vn_ct *ct)
{
	unsigned gone = 0;

	for (uint32_t i = 0; i < ct->max;) { /* in slices, as vn_ct_expire() */
		uint32_t end = i + 1024;
		vn_ct_lock(ct);
		for (; i < end && i < ct->max; i++)
			if (ct->e[i].used) {
				vn_ct_remove(ct, &ct->e[i]);
				gone++;
			}
		vn_ct_unlock(ct);
	}
	return gone;
}

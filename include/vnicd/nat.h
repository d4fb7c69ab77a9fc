/* SPDX-License-Identifier: MIT */
/*
 * NAT: the translation engine of a NAT network (policy/nat.c) on top of connection
 * tracking (conntrack.h), and the network kind "nat" (backend/net_nat.c) that uses it.
 *
 * The model (README "NAT networks"):
 * - A NAT network is a learning bridge for its guests plus a router: its gateway is a slot
 *   of the network of its own (the "gateway leg", MAC and --gateway address, answering ARP,
 *   DHCP and ping on the control thread), and it has a second slot in the --external
 *   network (the "external leg", its own MAC and the external address, answering ARP for
 *   it and resolving next hops with neigh.h). Neither is a port users see.
 * - IPv4 frames that the guests send to the gateway's MAC are translated by the worker that
 *   delivers them to the gateway leg (vn_nat_process(), from inside) and handed to the
 *   external leg, whose worker switches them into the external network as received from
 *   it; frames the external network delivers to the external leg come back the same way.
 * - Everything here runs on workers except where said. The connection table is read
 *   without a lock (conntrack.h), and so are the neighbour maps: a frame of a tracked
 *   connection (not a fragment, not an ICMP error) is translated with no lock taken. New
 *   connections, fragments, ICMP errors and changes to the port forwards, floating IPs and
 *   neighbour maps take the connection table's lock.
 */
#ifndef VNICD_NAT_H
#define VNICD_NAT_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <json-glib/json-glib.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "vnicd/conntrack.h"
#include "vnicd/net.h"

#define VN_NAT_MAX_FWD 64     /* port forwards of one NAT network (its own and its ports') */
#define VN_NAT_MAX_FLOAT 64   /* floating IPs of one NAT network */
#define VN_NAT_FWD_NET 0xffff /* struct vn_nat_fwd.owner of the network's own forwards */
#define VN_NAT_NEIGH 1024     /* entries of each neighbour map (a power of two) */
#define VN_NAT_PORT_TRIES 256 /* ports tried for one new connection before no_port */
#define VN_NAT_FRAGS 256      /* datagrams in fragments tracked at once (by IP ID) */
#define VN_NAT_FRAG_MS 30000  /* how long the later fragments of one are awaited */
#define VN_NAT_HOLD 64	      /* later fragments held until their first one comes */
#define VN_NAT_HOLD_MS 5000   /* how long one is held at most */
#define VN_NAT_MORE 48	      /* held fragments one first fragment releases at most */

/** enum vn_nat_drop - why the engine dropped a frame (JSON names: vn_nat_drop_name()). */
enum vn_nat_drop {
	VN_NAT_TABLE_FULL = 0, /* a new connection, the table full */
	VN_NAT_NO_PORT,	       /* no free external port (or a forward's tuple in use) */
	VN_NAT_NO_ROUTE,       /* the next hop (or the inside host) is not resolved yet */
	VN_NAT_BAD_ICMP_ERROR, /* an ICMP error quoting no tracked connection, or cut short */
	VN_NAT_NO_CONNECTION,  /* not a tracked connection and not one that may start */
	VN_NAT_FRAGMENT,       /* a later fragment whose first one did not come (in time) */
	VN_NAT_MALFORMED,      /* an IPv4 header or transport header cut short or invalid */
	VN_NAT_UNSUPPORTED,    /* a protocol other than TCP, UDP, ICMP echo and errors */
	VN_NAT_TTL,	       /* TTL exceeded on the way through */
	VN_NAT_DROP__MAX
};

/** struct vn_nat_fwd - a port forward: @proto to external port @ext_port goes to @to:@to_port
 * (network byte order; @to 0: its guest's address is not known yet, it forwards nothing).
 * @owner: the slot of the port it belongs to (`port set --forward`), or VN_NAT_FWD_NET. */
struct vn_nat_fwd {
	uint8_t proto;
	uint16_t ext_port;
	uint32_t to;
	uint16_t to_port;
	uint16_t owner;
};

/** struct vn_nat_float - a floating IP (1:1 NAT): @fip outside is inside host @in (0: not
 * known yet, nothing passes), network byte order. */
struct vn_nat_float {
	uint32_t fip, in;
};

/**
 * struct vn_nat_neigh_e - an IPv4 address's MAC (neighbour maps): @w holds the MAC (its
 * low 48 bits, in memory order) and VN_NAT_NEIGH_VALID, so that workers read it without
 * the lock (written under it: @w cleared, @ip, then @w).
 */
struct vn_nat_neigh_e {
	uint32_t ip;
	uint64_t w;
};
#define VN_NAT_NEIGH_VALID (1ull << 63)

/**
 * struct vn_nat_frag - a datagram in fragments whose first fragment was translated: its
 * later fragments (same source, destination, protocol and ID as they arrive) get the same
 * addresses and go the same way.
 */
struct vn_nat_frag {
	uint32_t src, dst, nsrc, ndst;
	uint16_t id;
	uint8_t proto;
	uint8_t where;
	uint64_t expires;
	struct rte_ether_addr dmac;
};

/**
 * struct vn_nat_held - a later fragment that came before its first one (out of order),
 * held until the first one is translated (then it goes the same way) or @expires (ms;
 * dropped, counted as `fragment`). @m NULL: a free slot. Key as it came: @src, @dst, @id,
 * @proto, from the inside or not.
 */
struct vn_nat_held {
	struct rte_mbuf *m;
	uint32_t src, dst;
	uint16_t id;
	uint8_t proto;
	bool from_inside;
	uint64_t expires;
};

/**
 * struct vn_nat - one NAT network's engine. Addresses in network byte order, the port
 * range in host order. @fwd, @nfwd, @floats, @nfloat and @neigh change under @ct's
 * lock.
 */
struct vn_nat {
	struct vn_ct *ct;
	uint32_t gw, net, mask;		/* the inside: gateway, subnet */
	uint32_t ext, ext_mask, ext_gw; /* the external address, its prefix, next hop (0: none) */
	uint16_t port_lo, port_hi;
	/* @ext is the host's own address (--masquerade): untracked traffic to it is the host's,
	 * only dropped (its stack answers), and SNAT to it counts its ports (VN_CT_F_PORT) */
	bool host_ext;
	struct vn_nat_fwd fwd[VN_NAT_MAX_FWD];
	unsigned nfwd;
	struct vn_nat_float floats[VN_NAT_MAX_FLOAT];
	unsigned nfloat;
	struct vn_nat_neigh_e neigh[2][VN_NAT_NEIGH]; /* [0] inside hosts, [1] outside next hops */
	struct vn_nat_frag frag[VN_NAT_FRAGS];	      /* under the lock */
	struct vn_nat_held held[VN_NAT_HOLD];	      /* under the lock */
	uint64_t frag_held, frag_released;	      /* later fragments held; sent on */
	uint64_t drops[VN_NAT_DROP__MAX];	      /* atomic adds */
	uint64_t translated[2];			      /* [0] to the outside, [1] to the inside */
	uint64_t gateway_echo;			      /* pings of the gateway answered */
	uint64_t reply_win, reply_n; /* ICMP errors and resets sent in this 100-ms window */
	/* changes of what a route depends on (neighbours, the external address and its next
	 * hop), under the lock: a memo kept from an earlier burst is void after one */
	uint32_t route_gen;
};

/** enum vn_nat_where - where a processed frame goes. */
enum vn_nat_where {
	VN_NAT_DROPPED = 0, /* counted; the caller frees it */
	VN_NAT_INSIDE,	    /* out of the gateway leg into the NAT network */
	VN_NAT_OUTSIDE,	    /* out of the external leg into the external network */
	VN_NAT_HELD,	    /* a later fragment before its first one: the engine keeps it */
};

/**
 * struct vn_nat_res - what vn_nat_process() decided: @where, the Ethernet destination @dmac
 * (the source is the leg's MAC: the caller's); @resolve (network order, 0: none): an
 * address whose MAC is wanted on side @resolve_side (0 inside, 1 outside). @more: @nmore
 * held later fragments of the datagram whose first fragment this was, translated: they go
 * where it goes (the caller's now).
 */
struct vn_nat_res {
	int where;
	struct rte_ether_addr dmac;
	uint32_t resolve;
	int resolve_side;
	unsigned nmore;
	struct rte_mbuf *more[VN_NAT_MORE];
};

/**
 * vn_nat_peek() - what vn_nat_process() would do with @m (from the inside or the outside),
 * described in @out (@n bytes), changing nothing: no connection made, no header rewritten,
 * no counter (a dry run: vnicctl trace). Thread: the control thread. Return: 1 if it would
 * pass (translated, or answered by vnicd), 0 if it would be dropped.
 */
int vn_nat_peek(struct vn_nat *nt, struct rte_mbuf *m, bool from_inside, char *out, size_t n);

/** vn_nat_drop_name() - Return: the JSON name of drop reason @why. */
const char *vn_nat_drop_name(unsigned why);

/**
 * vn_nat_process() - translate the untagged Ethernet/IPv4 frame @m (one segment for its
 * headers, not shared: the caller made sure) that came from the inside (@from_inside: a
 * guest sent it to the gateway) or from the outside (to the external address), at @now
 * (ms): tracked, translated in place (addresses, ports or ICMP identifier, TTL, the
 * checksums updated incrementally, RFC 1624; unfinished checksums are completed first),
 * new connections made as SNAT, port forwards and hairpin allow. Its Ethernet header is
 * not touched. Return: @r->where (VN_NAT_DROPPED: counted on @nt, the caller frees @m;
 * VN_NAT_HELD: the engine keeps @m). Held fragments released come in @r->more.
 */
int vn_nat_process(struct vn_nat *nt, struct rte_mbuf *m, bool from_inside, uint64_t now,
		   struct vn_nat_res *r);

/**
 * struct vn_nat_memo - the tracked connection the last frames of a burst belonged to (one
 * caller's, on the lock-free path): the next frames of the same tuple, from the same side,
 * that can change no more than the state of a TCP connection without SYN, FIN or RST (no
 * fragment, no ICMP error) skip the lookup, the route and the checksum arithmetic of the
 * addresses and ports, and their counters (the entry's packets and bytes, its expiry,
 * @nt's translated) are added at once by vn_nat_memo_flush(). Zero it before a burst; it
 * holds an entry only while the worker passes no quiescent state (conntrack.h), unless
 * kept for the next burst: vn_nat_memo_settle() at the end of one, vn_nat_memo_resume() at
 * the start of the next (which forgets it if the entry went or a route changed).
 */
struct vn_nat_memo {
	struct vn_ct_entry *e; /* NULL: none */
	struct vn_ct_tuple t;  /* the tuple it matched */
	struct vn_ct_tuple o;  /* the tuple its frames leave as */
	int d, where;
	bool from_inside;
	struct rte_ether_addr dmac;
	uint64_t dip, dl4; /* checksum deltas: the addresses; the addresses and the ports */
	uint64_t now, bytes;
	uint32_t packets;
	uint32_t seq, rgen;   /* @e's vn_ct_seq() and @nt's route_gen when it was filled */
	struct {	      /* the quick match's words, in header order */
		uint32_t min; /* frame bytes up to the transport header's end */
		uint64_t addrs, to_addrs; /* source and destination: matched, written */
		uint32_t ports;		  /* source and destination ports */
		uint32_t w6, w6_mask;	  /* the header's bytes 6-9 (fragment, TTL, protocol) */
	} q;
};

/**
 * vn_nat_process_memo() - vn_nat_process() with memo @mm (struct vn_nat_memo) of the
 * burst @m is part of: vn_nat_memo_flush() before the burst ends (before the worker's
 * next quiescent state). Same results, counters added at the flush.
 */
int vn_nat_process_memo(struct vn_nat *nt, struct rte_mbuf *m, bool from_inside, uint64_t now,
			struct vn_nat_res *r, struct vn_nat_memo *mm);

/** vn_nat_memo_flush() - add @mm's counters to its entry and to @nt, and forget it. */
void vn_nat_memo_flush(struct vn_nat *nt, struct vn_nat_memo *mm);

/**
 * vn_nat_memo_settle() - add @mm's counters to its entry and to @nt, and keep it for the
 * caller's next burst (vn_nat_memo_resume() then). Before the worker's quiescent state.
 */
void vn_nat_memo_settle(struct vn_nat *nt, struct vn_nat_memo *mm);

/**
 * vn_nat_memo_resume() - at the start of a burst at @now, a memo settled at the end of an
 * earlier one: kept if its entry is the same connection still in the table and no route
 * changed since it was filled, else forgotten. The entry's memory stays the table's while
 * @nt lives, so reading it is safe; once checked, the entry is not reclaimed before the
 * worker's next quiescent state.
 */
static inline void vn_nat_memo_resume(const struct vn_nat *nt, struct vn_nat_memo *mm, uint64_t now)
{
	if (mm->e && (vn_ct_seq(mm->e) != mm->seq ||
		      __atomic_load_n(&nt->route_gen, __ATOMIC_ACQUIRE) != mm->rgen))
		mm->e = NULL;
	mm->now = now;
}

/**
 * vn_nat_hold_expire() - drop the held fragments past their time (@now, ms; all of them
 * with @now UINT64_MAX), counted as `fragment`. Takes the lock. Thread: control.
 */
void vn_nat_hold_expire(struct vn_nat *nt, uint64_t now);

/**
 * vn_nat_neigh_set() - map side @side's (0 inside, 1 outside) address @ip to @mac (NULL:
 * forget it). Takes the lock. Thread: any but a worker holding the lock.
 */
void vn_nat_neigh_set(struct vn_nat *nt, int side, uint32_t ip, const struct rte_ether_addr *mac);

/**
 * vn_nat_csum_adjust() - RFC 1624 eqn. 3: the checksum @hc (as stored) once the @len bytes
 * (even) at @old become those at @new. Return: the new checksum, as stored.
 */
uint16_t vn_nat_csum_adjust(uint16_t hc, const void *old, const void *new, unsigned len);

/* ---- the network kind (backend/net_nat.c; control thread) ---- */

extern const struct vn_net_kind vn_nat_net_kind;

/** vn_nat_external_of() - Return: the --external network's name of NAT network @n. */
const char *vn_nat_external_of(const struct vn_net *n);

/**
 * vn_nat_forward_add() / vn_nat_forward_del() - `nat forward add NET --proto P
 * --external-port N --to IP:PORT` / `nat forward del NET --proto P --external-port N`
 * on NAT network @n, with @args those arguments. Return: 0, or -errno with @err.
 */
int vn_nat_forward_add(struct vn_net *n, JsonObject *args, GError **err);
int vn_nat_forward_del(struct vn_net *n, JsonObject *args, GError **err);

/** vn_nat_forward_list() - @n's port forwards as objects of the open array in @b. */
void vn_nat_forward_list(struct vn_net *n, JsonBuilder *b);

/**
 * vn_nat_trace_leg() - if @slot is one of NAT network @n's legs (its gateway inside, its
 * external address outside), describe in @out what the NAT would do with @m arriving there
 * (vn_nat_peek()). Return: 1 (passes), 0 (dropped), -ENOENT: not a leg of @n.
 */
int vn_nat_trace_leg(struct vn_net *n, uint16_t slot, struct rte_mbuf *m, char *out, size_t len);

/** vn_nat_conntrack_list() - @n's connections as objects of the open array in @b. */
void vn_nat_conntrack_list(struct vn_net *n, JsonBuilder *b);

/** vn_nat_conntrack_flush() - forget every connection of @n. Return: how many went. */
unsigned vn_nat_conntrack_flush(struct vn_net *n);

#endif

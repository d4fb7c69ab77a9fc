/* SPDX-License-Identifier: MIT */
/*
 * Network-kind contract: what every kind of network (the learning bridge, macvtap-style
 * uplink networks, and later overlays and NAT) implements so that the switch can create and
 * describe it and the pipeline can forward through it without knowing its kind. One const
 * table per kind (struct vn_net_kind), as port kinds are (portkind.h).
 *
 * Life cycle (control thread): check() the `net add` arguments, create() the network,
 * join()/leave() its ports (which set the per-slot facts the data path sees: struct
 * vn_slot), set() changes at run time, destroy() once no port is published in it.
 * Data path (worker threads): forward() decides where each frame of a burst goes and
 * returns it as struct vn_fwd (pipeline.h); it never delivers, edits or frees a frame.
 */
#ifndef VNICD_NET_H
#define VNICD_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>
#include <json-glib/json-glib.h>
#include <rte_ether.h>

#include "vnicd/config.h"
#include "vnicd/pipeline.h"
#include "vnicd/port.h"
#include "vnicd/bridge.h"
#include "vnicd/trace.h"

struct vn_fdb;
struct vn_dp;
struct vn_dp_table;
struct vn_slot;
struct vn_net_kind;

/**
 * struct vn_net - a named network (an L2 domain), the kind-independent part; kinds embed it
 * first. Frames never cross networks. Owned by the control thread; workers reach it through
 * the published table's slots.
 */
struct vn_net {
	char name[VN_NAME_MAX];
	uint16_t id;
	const struct vn_net_kind *kind;
	struct vn_fdb *fdb;	/* its MAC table (NULL without a data path) */
	unsigned nr_ports;	/* including its uplink */
	struct vn_port *uplink; /* its uplink (also one of its ports), or NULL */
};

struct vn_port_kind;
struct rte_mempool;

/**
 * struct vn_net_host - what the switch lends a kind that makes ports of its own (an
 * overlay's VTEPs): other networks by name, slots for ports it manages itself, and ports
 * it adds to other networks (not persisted, not removable by users). Control thread.
 */
struct vn_net_host {
	void *sw;
	struct rte_mempool *mp;
	struct vn_net *(*net_find)(void *sw, const char *name);
	/* a free slot reserved (Return: it, or -errno with @err) / given back */
	int (*slot_take)(void *sw, GError **err);
	void (*slot_give)(void *sw, uint16_t slot);
	/* port.add @args of @kind (name, net, mac, ...) made by the kind; *@out: the port */
	int (*port_add)(void *sw, JsonObject *args, const struct vn_port_kind *kind,
			struct vn_port **out, GError **err);
	void (*port_del)(void *sw, const char *name);
	/* publish the staged slots (vn_dp_commit()) */
	void (*publish)(void *sw);
	/* the kind's saved state changed (a NAT network's DHCP leases): save it */
	void (*changed)(void *sw);
	/* @cb for each port of network @n made by users (name, kind, the port) */
	void (*each_port)(void *sw, const struct vn_net *n,
			  void (*cb)(void *ud, const char *name, const char *kind,
				     const struct vn_port *p),
			  void *ud);
	bool closing; /* vnicd is stopping: free what the kind made, call nothing here */
};

/** struct vn_net_env - what a kind may use to build a network. */
struct vn_net_env {
	const struct vn_config *cfg;
	struct vn_dp *dp;		/* NULL: validation only (control-protocol tests) */
	const struct vn_net_host *host; /* NULL with dp */
};

/** struct vn_net_member - one port of a network, as join_check() and uplink_filter() see it. */
struct vn_net_member {
	const char *name;
	const char *mac; /* "aa:bb:..." or NULL */
	bool uplink;
	bool relay;
};

/**
 * struct vn_fwd_ctx - one burst being forwarded: the published table, the ingress slot, the
 * worker's counters (by slot; a kind may count what it does itself, such as a reflection,
 * there) and the FDB clock.
 */
/**
 * struct vn_fwd_memo - what a network kind keeps from one burst of an ingress slot to the
 * next on one worker (the bridge: its last learned source and lookup), valid only while
 * what it was found in is unchanged, which the kind checks (@owner, @gen, the table's
 * @tgen, the FDB clock @now). Only that worker reads or writes it.
 */
struct vn_fwd_seen {
	struct rte_ether_addr src, dst; /* the last source learned, destination looked up */
	uint16_t src_seg, dst_seg;
	int32_t dst_port; /* what the lookup found (-1: nothing valid) */
	bool have_src, have_dst;
};

struct vn_fwd_memo {
	const void *owner; /* what it was filled from (an FDB); NULL: nothing */
	uint64_t gen, tgen, now;
	struct vn_fwd_seen seen;
};

struct vn_fwd_ctx {
	const struct vn_dp_table *t;
	const struct vn_slot *in;
	uint16_t in_slot;
	struct vn_port_counters *ctr;
	uint64_t now;
	struct vn_trace *trace;	  /* a dry run being traced (trace.h), NULL on the fast path */
	struct vn_fwd_memo *memo; /* the ingress slot's on this worker (NULL: none) */
};

/**
 * vn_fwd_learn() - a kind learns source @mac in segment @seg on the ingress slot: with @tr
 * (a dry run, trace.h) only noted. Kinds pass @tr as a parameter of an always-inline body
 * that the fast path instantiates with NULL, so the test costs nothing there.
 * Return: as vn_fdb_learn().
 */
static __rte_always_inline int vn_fwd_learn(const struct vn_fwd_ctx *x, struct vn_trace *tr,
					    struct vn_fdb *fdb, uint16_t seg,
					    const struct rte_ether_addr *mac)
{
	if (unlikely(tr != NULL))
		return vn_trace_learn(tr, fdb, seg, mac, x->in_slot, x->now);
	return vn_fdb_learn(fdb, seg, mac, x->in_slot, x->now);
}

/**
 * vn_fwd_lookup() - a kind looks @mac up in segment @seg: with @tr (a dry run) as the FDB
 * would answer had vn_fwd_learn() learned. Return: as vn_fdb_lookup().
 */
static __rte_always_inline int vn_fwd_lookup(struct vn_trace *tr, struct vn_fdb *fdb, uint16_t seg,
					     const struct rte_ether_addr *mac)
{
	if (unlikely(tr != NULL))
		return vn_trace_fdb_lookup(tr, fdb, seg, mac);
	return vn_fdb_lookup(fdb, seg, mac);
}

struct vn_net_kind {
	const char *name;	      /* "bridge", "macvtap", as in `net add NAME TYPE` */
	const char *const *keys;      /* net.add arguments of the kind, NULL-terminated */
	const char *const *port_keys; /* port.add/port.set arguments of the kind, or NULL */
	const char *const *set_keys;  /* `net set` arguments of the kind (with set()), or NULL */
	bool needs_uplink;	      /* `net add` needs --uplink */
	/* forward() sends frames with one Ethernet header (addresses, type) and metadata from
	 * one slot to one place: frames alike may follow the first (vn_handoff runs) */
	bool by_l2;

	/**
	 * check() - validate the kind's @args of `net add` (uplink presence included) without
	 * making anything. Return: 0, or -errno with @err naming the problem.
	 */
	int (*check)(JsonObject *args, GError **err);

	/**
	 * create() - make network @name (@id unique among live networks) from checked @args,
	 * with its FDB when @env has a data path. Return: 0 and *@out, or -errno with @err.
	 */
	int (*create)(const char *name, uint16_t id, JsonObject *args, const struct vn_net_env *env,
		      struct vn_net **out, GError **err);

	/** destroy() - free @n; no port of it is published any more. */
	void (*destroy)(struct vn_net *n);

	/**
	 * set() - `net set` changes @args (the kind's keys; "name" is there too) while
	 * @guests ports other than the uplink are attached. Optional.
	 * Return: 0, or -errno with @err (nothing changed).
	 */
	int (*set)(struct vn_net *n, JsonObject *args, unsigned guests, GError **err);

	/**
	 * join_check() - may a port with `port add` arguments @args join @n, whose ports are
	 * @m[0..@nm)? *@mac is the port's --mac (NULL: none); a kind may give it one by
	 * pointing *@mac at @inherited. Return: 0, or -errno with @err. Optional.
	 */
	int (*join_check)(const struct vn_net *n, const struct vn_net_member *m, unsigned nm,
			  JsonObject *args, const char **mac, char inherited[18], GError **err);

	/**
	 * join() - port @port (made, not yet published) joins @n at slot @s (port, net and
	 * locality filled in): the kind sets its own facts of the slot from @args (the port's
	 * arguments, kind keys included) and its tables. Nothing is left changed on failure.
	 * Return: 0, or -errno with @err.
	 */
	int (*join)(struct vn_net *n, struct vn_port *port, struct vn_slot *s, JsonObject *args,
		    GError **err);

	/**
	 * port_set() - `port set` changes @chg of the kind's port keys for @port at slot @s
	 * (a staged copy: the caller publishes it). Return: 0, or -errno with @err. Required
	 * when the kind has port_keys.
	 */
	int (*port_set)(struct vn_net *n, struct vn_port *port, struct vn_slot *s, JsonObject *chg,
			GError **err);

	/**
	 * leave() - @port (no longer published) leaves @n: its entries go, what it lent
	 * comes back. @guest: it is not the network's uplink.
	 */
	void (*leave)(struct vn_net *n, struct vn_port *port, uint16_t slot, bool guest);

	/**
	 * uplink_filter() - adjust what @n's uplink must receive: on entry the MACs of its
	 * guests (*@nmacs) and whether any needs everything (*@promisc, @guests: any guest).
	 * Optional (the default: exactly that).
	 */
	void (*uplink_filter)(const struct vn_net *n, bool guests, unsigned *nmacs, bool *promisc);

	/** describe() - add the kind's members to the open object of `net list/show` in @b. */
	void (*describe)(const struct vn_net *n, JsonBuilder *b);

	/** port_describe() - add the kind's members to a port's JSON object. Optional. */
	void (*port_describe)(const struct vn_net *n, bool uplink, JsonBuilder *b);

	/** persist() - add the kind's `net add` arguments (as saved) to the open object in @b. */
	void (*persist)(const struct vn_net *n, JsonBuilder *b);

	/**
	 * fdb_check() - may the FDB of @n take static entries (@flush false) or be flushed
	 * (@flush true)? Return: 0, or -EINVAL with @err saying why not. Optional (yes).
	 */
	int (*fdb_check)(const struct vn_net *n, bool flush, GError **err);

	/** tick() - periodic work, once a second (FDB aging). Optional. */
	void (*tick)(struct vn_net *n, uint64_t now, const struct vn_config *cfg);

	/**
	 * forward() - decide where each of the @n frames of @pkts goes (@f[i] for @pkts[i]),
	 * received on @ctx->in: every frame has passed ingress (valid source, admitted,
	 * classified: vn_meta_of()). Learn what the kind learns (vn_fwd_learn()). With
	 * @ctx->trace (a dry run, trace.h) note each decision and learn nothing; test it once
	 * per call, not per frame. Thread: the worker (the control thread for a trace).
	 */
	void (*forward)(const struct vn_fwd_ctx *ctx, struct rte_mbuf *const *pkts, uint16_t n,
			struct vn_fwd *f);
};

/** The kinds built into vnicd, and every kind by name. */
extern const struct vn_net_kind vn_bridge_net_kind;  /* backend/net_bridge.c */
extern const struct vn_net_kind vn_macvtap_net_kind; /* backend/net_macvtap.c */
extern const struct vn_net_kind vn_overlay_net_kind; /* backend/net_overlay.c */

/** vn_net_kind_find() - Return: the kind named @name, or NULL. */
const struct vn_net_kind *vn_net_kind_find(const char *name);

/** vn_net_kind_at() - Return: the @i-th kind built in, or NULL past the last. */
const struct vn_net_kind *vn_net_kind_at(size_t i);

/** vn_net_kind_names() - Return: "bridge, macvtap" (every kind; g_free it). */
char *vn_net_kind_names(void);

/**
 * vn_net_kind_of_port_key() - Return: the kind that owns port argument @key, or NULL.
 */
const struct vn_net_kind *vn_net_kind_of_port_key(const char *key);

/** vn_net_key_known() - Return: true if some kind takes `net add` argument @key. */
bool vn_net_key_known(const char *key);

/**
 * vn_net_init() - fill in the common part of @n (a kind's create()). With @env's data path,
 * make its FDB of cfg->fdb_max entries. Return: 0, or -errno with @err.
 */
int vn_net_init(struct vn_net *n, const struct vn_net_kind *kind, const char *name, uint16_t id,
		const struct vn_net_env *env, GError **err);

/** vn_net_fini() - free what vn_net_init() made (not @n itself). */
void vn_net_fini(struct vn_net *n);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Overlay networks: the network kind "overlay" (backend/net_overlay.c), its local VTEP on
 * an underlay network (backend/vtep.c) and its remote VTEPs, and the two data-path steps
 * that make tunnels of them (backend/pipeline_tun.c).
 *
 * The model:
 * - An overlay network's guests are ordinary ports; each remote VTEP is one more slot of
 *   the network (struct vn_tun_port, locality tunnel, no rx queue) so that learning, the
 *   FDB (the VTEP table: MAC -> remote slot), flooding (head-end replication to every
 *   flooding remote), counters per remote and capture work as for any port. A frame
 *   delivered to a remote's slot is encapsulated at flush (vn_tun_flush()) and goes out of
 *   the underlay's uplink.
 * - An underlay network has at most one local VTEP (struct vn_vtep: one address), shared
 *   by the overlays on it. It is a port of the underlay (kind "vtep", its own MAC): the
 *   underlay's ARP/ND for it reaches it like any port and is answered by the control
 *   thread (neigh.h), which also resolves the remotes' next hops. Tunnel traffic to it is
 *   taken out of the underlay's uplink bursts before the underlay forwards them
 *   (vn_vtep_intercept()), decapsulated, and switched into the overlay as received from
 *   the remote's slot.
 * - VNIs: an overlay has its own VNI (segment 0) and the VNIs its ports were put in
 *   (`port set --vni`): at most VN_OV_MAX_VNIS, each a segment of its FDB. A guest slot's
 *   kind byte is 1 << its segment; a remote's is VN_OV_KMODE_REMOTE (it carries every VNI).
 *   The VNI of a frame on its way through the overlay is in its mbuf's hash.usr.
 */
#ifndef VNICD_OVERLAY_H
#define VNICD_OVERLAY_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <json-glib/json-glib.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "vnicd/datapath.h"
#include "vnicd/net.h"
#include "vnicd/port.h"
#include "vnicd/tunnel.h"

#define VN_OV_MAX_VNIS 7      /* VNIs of one overlay network (kind-byte bits) */
#define VN_OV_MAX_REMOTES 128 /* remote VTEPs of one overlay network */
#define VN_OV_KMODE_REMOTE 0x80
#define VN_VTEP_MAX_OVERLAYS 16 /* overlays sharing one local VTEP */

/* Overlay drop counters (besides enum vn_tun_err, which they extend). */
enum vn_ov_drop {
	VN_OV_UNKNOWN_VNI = VN_TUN_ERR__MAX, /* tunnel frame for a VNI of no overlay here */
	VN_OV_UNKNOWN_REMOTE,		     /* from an address that is not a remote VTEP */
	VN_OV_TOO_BIG,			     /* would exceed the underlay MTU */
	VN_OV_UNRESOLVED,		     /* the remote's next hop is not resolved yet */
	VN_OV_DROP__MAX
};

struct vn_overlay;
struct vn_evpn;

/** struct vn_tun_tx - a remote's outer headers as the workers use them (replaced whole). */
struct vn_tun_tx {
	struct vn_tun_tmpl tmpl;
	uint16_t uplink_slot; /* where encapsulated frames go: the underlay's uplink */
};

/**
 * struct vn_tun_port - a remote VTEP: a port of the overlay network without queues.
 * @tx is NULL until the next hop is resolved; swapped with an atomic store and the old one
 * freed after an RCU grace period.
 */
struct vn_tun_port {
	struct vn_port base;
	struct vn_overlay *ov;
	struct vn_tun_addr ip;
	struct vn_tun_tx *tx;
	struct rte_mempool *mp; /* header mbufs and ICMP replies */
	bool flood;		/* a --remote: gets broadcast, unknown unicast, multicast */
	bool via_route;		/* reached through @nh, a gateway of the kernel's routes */
	struct vn_tun_addr nh;	/* that gateway */
	uint64_t route_ms;	/* when the routes were last asked (ms) */
	unsigned statics;	/* static VTEP-table entries pointing at it */
	unsigned evpn_refs;	/* EVPN remote MACs behind it (backend/evpn.c) */
	bool evpn_flood;	/* in EVPN's flood list (then @flood too) */
};

/** struct vn_ov_port - a guest port's VNI (0: the network's) and its --vni-map (or NULL). */
struct vn_ov_port {
	uint32_t vni;
	struct vn_vlan_map *vmap;
};

/** struct vn_overlay - an overlay network. */
struct vn_overlay {
	struct vn_net base;
	uint8_t type; /* enum vn_tun_type */
	uint16_t dstport;
	uint16_t mtu;	   /* the underlay's */
	uint16_t overhead; /* bytes of outer headers */
	char *underlay;	   /* its name */
	char *local_str;   /* --local as given */
	char *gateway_str; /* --gateway as given, or NULL */
	struct vn_vtep *vtep;
	struct vn_tun_local loc;
	uint32_t vni[VN_OV_MAX_VNIS]; /* [0]: --vni */
	unsigned vni_users[VN_OV_MAX_VNIS];
	unsigned nr_vni;
	struct vn_tun_port *rem[VN_OV_MAX_REMOTES];
	unsigned nr_rem;
	struct vn_ov_port ports[VN_MAX_PORTS_HARD]; /* by slot */
	GPtrArray *graveyard;			    /* replaced VLAN maps, freed at tick */
	GPtrArray *statics; /* static VTEP-table entries (struct vn_ov_static) */
	uint8_t prefix_len; /* of --local (/N), 0: every remote on-link */
	const struct vn_net_host *host;
	struct vn_dp *dp;
	struct vn_evpn *evpn;		 /* --control evpn (evpn.h), or NULL */
	unsigned evpn_grace;		 /* seconds (config evpn_restart_grace) */
	unsigned fdb_aging;		 /* seconds (config) */
	uint64_t drops[VN_OV_DROP__MAX]; /* atomic adds from the workers */
};

/** The port kind of local VTEPs (backend/vtep.c): made by overlays, not by users. */
extern const struct vn_port_kind vn_vtep_port_kind;

/** struct vn_ov_static - a static VTEP-table entry (`vtep add`): @mac is behind @ip. */
struct vn_ov_static {
	struct rte_ether_addr mac;
	struct vn_tun_addr ip;
};

/**
 * vn_overlay_vtep_add() / vn_overlay_vtep_del() - `vtep add NET MAC IP` / `vtep del NET MAC`
 * on overlay @n (the remote is made, not flooding, when @ip is none yet).
 * Return: 0, or -errno with @err.
 */
int vn_overlay_vtep_add(struct vn_net *n, const char *mac, const char *ip, GError **err);
int vn_overlay_vtep_del(struct vn_net *n, const char *mac, GError **err);

/** vn_overlay_vtep_list() - the VTEP table of @n as objects of the open array in @b. */
void vn_overlay_vtep_list(struct vn_net *n, JsonBuilder *b);

/** vn_ov_count() - count one @why drop on @ov (any thread). */
static inline void vn_ov_count(struct vn_overlay *ov, unsigned why, uint32_t n)
{
	__atomic_fetch_add(&ov->drops[why], n, __ATOMIC_RELAXED);
}

/** vn_ov_drop_name() - Return: the JSON name of drop counter @why. */
const char *vn_ov_drop_name(unsigned why);

/** vn_ov_encap_name() - Return: the `--type` name of enum vn_tun_type @type. */
const char *vn_ov_encap_name(unsigned type);

/**
 * vn_ov_describe() / vn_ov_persist() - the overlay kind's describe() and persist()
 * (backend/net_overlay_view.c). Thread: control.
 */
void vn_ov_describe(const struct vn_net *cn, JsonBuilder *b);
void vn_ov_persist(const struct vn_net *cn, JsonBuilder *b);

/** vn_ov_seg_of_vni() - Return: the segment of @vni in @ov, or -1. Thread: any. */
static inline int vn_ov_seg_of_vni(const struct vn_overlay *ov, uint32_t vni)
{
	for (unsigned i = 0; i < ov->nr_vni; i++)
		if (ov->vni[i] == vni && (i == 0 || ov->vni_users[i]))
			return (int)i;
	return -1;
}

/* ---- the local VTEP (backend/vtep.c; control thread unless said) ---- */

/**
 * vn_vtep_get() - the local VTEP of underlay network @underlay for overlay @ov: made (its
 * port added to the underlay, its address answered) when the underlay has none, shared
 * when it has one with the same address. Return: 0 and ov->vtep set, or -errno with @err.
 */
int vn_vtep_get(struct vn_overlay *ov, struct vn_net *underlay, GError **err);

/** vn_vtep_put() - @ov no longer uses its VTEP; the last user removes it. */
void vn_vtep_put(struct vn_overlay *ov);

/**
 * vn_vtep_resolve() - start or refresh the resolution of remote @r's next hop; its
 * outer headers are published when it resolves.
 */
void vn_vtep_resolve(struct vn_tun_port *r);

/** vn_vtep_describe() - the VTEP's members (vtep_mac, neighbours) in the open object. */
void vn_vtep_describe(const struct vn_vtep *v, JsonBuilder *b);

/**
 * vn_vtep_holder_netns() - look for a tap port of the underlay whose namespace holds the
 * VTEP's address now. Return: that namespace's name ("" for vnicd's own), or NULL: none.
 */
const char *vn_vtep_holder_netns(struct vn_vtep *v);

/** vn_vtep_mac() - Return: the VTEP's MAC. */
const struct rte_ether_addr *vn_vtep_mac(const struct vn_vtep *v);

/**
 * vn_vtep_intercept() - take the tunnel traffic to @v out of the @n frames received in
 * @pkts (compacted: the rest stay, in order, for the underlay; Return: how many stay),
 * decapsulating it into @out[] with @out_slot[] the remote slot each came from (the caller
 * switches them into their overlays once the underlay burst is done; *@nout of them).
 * Malformed tunnel frames are counted on their overlay and freed. With @tr (a dry run,
 * trace.h) decisions are noted and nothing is counted or handed to the control thread.
 * Thread: worker.
 */
struct vn_trace;
uint16_t vn_vtep_intercept(struct vn_vtep *v, struct rte_mbuf **pkts, uint16_t n,
			   struct rte_mbuf **out, uint16_t *out_slot, uint16_t *nout,
			   struct vn_trace *tr);

/* ---- remote VTEPs (backend/vtep.c) ---- */

/**
 * vn_ov_remote_add() - add remote VTEP @ip (a flooding one when @flood) to @ov: a slot of
 * its own, published. Return: the remote (an existing one, made flooding if @flood), or
 * NULL with @err.
 */
struct vn_tun_port *vn_ov_remote_add(struct vn_overlay *ov, const struct vn_tun_addr *ip,
				     bool flood, GError **err);

/**
 * vn_ov_remote_unflood() - @r of @ov no longer gets flooded frames; removed when no static
 * or EVPN entry of the VTEP table points at it.
 */
void vn_ov_remote_unflood(struct vn_overlay *ov, struct vn_tun_port *r);

/** vn_ov_remote_del() - remove remote @r of @ov: unpublished, its FDB entries flushed. */
void vn_ov_remote_del(struct vn_overlay *ov, struct vn_tun_port *r);

/** vn_ov_remote_find() - Return: @ov's remote @ip, or NULL. */
struct vn_tun_port *vn_ov_remote_find(struct vn_overlay *ov, const struct vn_tun_addr *ip);

/** vn_tun_addr_parse() - parse IPv4 or IPv6 @s. Return: 0, or -EINVAL. */
int vn_tun_addr_parse(const char *s, struct vn_tun_addr *a);

/** vn_tun_addr_format() - @a as text into @buf (INET6_ADDRSTRLEN bytes). Return: @buf. */
const char *vn_tun_addr_format(const struct vn_tun_addr *a, char *buf);

/* ---- data path (backend/pipeline_tun.c; worker) ---- */

struct vn_worker;

/**
 * vn_tun_rx() - switch the @n decapsulated frames @m, each received from remote slot
 * @slot[i], into their overlays (runs of one remote as one burst).
 */
void vn_tun_rx(struct vn_worker *w, const struct vn_dp_table *t, struct rte_mbuf **m,
	       const uint16_t *slot, uint16_t n, uint64_t now);

/**
 * vn_tun_flush() - encapsulate the @n frames buffered for remote slot @slot of table @t
 * (@s) and buffer them for the underlay's uplink; frames too big for the underlay get an
 * ICMP error back to their sender. Counts on the remote's slot.
 */
void vn_tun_flush(struct vn_worker *w, const struct vn_dp_table *t, uint16_t slot);

#endif

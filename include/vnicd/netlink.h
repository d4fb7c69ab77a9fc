/* SPDX-License-Identifier: MIT */
/*
 * Kernel links through libnl-3, for every port that has a kernel interface behind it (TAP and
 * vnet ports, uplinks): network namespaces, link look-up and set-up, the ingress drop of vnet
 * devices, and watches fed by one libnl cache manager (route/link, route/addr) per namespace.
 *
 * Namespaces: a struct vn_nl is vnicd's netlink view of one network namespace, the one of the
 * calling thread (@ns NULL) or /var/run/netns/@ns. Opening the same namespace twice (by name or
 * as the thread's own) gives the same context, counted: its request socket, and while something
 * in it is watched its cache manager, were made inside that namespace (setns() on the calling
 * thread, undone before returning) and keep working from anywhere, so no request needs the
 * thread to enter a namespace. A context lives while a handle or a watch refers to it, and
 * keeps its namespace alive that long (as any socket in it would).
 *
 * Watches: the first watch in a namespace makes its cache manager (a dump of links and
 * addresses), polled from the GLib default main context; the last one frees it. Notifications
 * update the caches and call the watches of the interface concerned; after lost notifications
 * (ENOBUFS) the caches are read again and the differences reported. Only the kernel's
 * AF_UNSPEC view of a link is reported (not the bridge or IPv6 per-family messages), and only
 * when libnl sees a difference: it does not compare IFLA_CARRIER, so a carrier change while
 * the interface is down (no IFF_LOWER_UP either way) comes with the next change it does see,
 * at the latest when the interface goes up.
 * Requests (vn_klink_get() and the set-up calls) always ask the kernel, never the cache.
 *
 * Thread: the control thread only. Callbacks run there, from the main loop, and also from
 * within vn_klink_watch() (which first applies the namespace's pending notifications, so that
 * the state it returns is current); they must not add or remove watches.
 * Ownership: a handle (vn_nl_open()) or a watch (vn_klink_watch()) is the caller's until
 * vn_nl_close() / vn_klink_unwatch(); a struct vn_klink is a copy (a callback's @l lives for the
 * call only); nothing here keeps a pointer the caller passed in, except a watch's @ud.
 * Errors: negative errno; GError where the caller shows a message.
 */
#ifndef VNICD_NETLINK_H
#define VNICD_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>
#include <json-glib/json-glib.h>
#include <rte_ether.h>

/* ---- network namespaces ---- */

/**
 * vn_netns_open() - open namespace /var/run/netns/@ns (as made by `ip netns add`), or the
 * calling thread's namespace when @ns is NULL or empty.
 * Return: an fd (O_RDONLY, the caller closes it), or -errno (-EINVAL: not a namespace name).
 */
int vn_netns_open(const char *ns);

/**
 * vn_netns_enter() - move the calling thread into the namespace /var/run/netns/@ns; a NULL or
 * empty @ns stays where it is. For what only works from inside a namespace (opening
 * /dev/net/tun makes or finds devices in the opener's namespace); netlink requests do not need
 * it. Return: a handle for vn_netns_leave() (>= 0, or -1 when nothing changed), or -errno
 * with @err set (-ENOENT: no such namespace).
 */
int vn_netns_enter(const char *ns, GError **err);

/** vn_netns_leave() - return the calling thread to the namespace saved by vn_netns_enter(). */
void vn_netns_leave(int handle);

/**
 * vn_nl_addr_held() - does interface @ifname of namespace @ns (NULL: ours) hold address
 * @addr (4 or 16 bytes, @v6)? A one-shot dump (backend/netlink_addr.c). Return: 1 with the
 * interface's MAC in *@mac, 0 when it does not, -errno when it cannot be asked (-ENODEV:
 * no such interface).
 */
int vn_nl_addr_held(const char *ns, const char *ifname, bool v6, const uint8_t *addr,
		    struct rte_ether_addr *mac);

/**
 * vn_nl_route_gateway() - the main routing table of vnicd's namespace for @dst (4 or 16
 * bytes, @v6), among routes out of interface @ifindex (longest prefix).
 * Return: 1 with the route's gateway in @gw, 0 when @dst is on-link there, -ENOENT when no
 * route out of @ifindex covers it, other -errno.
 */
int vn_nl_route_gateway(int ifindex, bool v6, const uint8_t *dst, uint8_t *gw);

/**
 * vn_nl_addr4_of() - the first IPv4 address of interface @ifindex in vnicd's namespace into
 * @a, its prefix length into *@plen and the interface's MAC into *@mac (a NAT network's
 * --masquerade). Return: 0, -ENOENT when it has none, other -errno.
 */
int vn_nl_addr4_of(int ifindex, uint8_t a[4], unsigned *plen, struct rte_ether_addr *mac);

union bpf_attr;

/**
 * vn_bpf_prog_load() - BPF_PROG_LOAD of @attr. The verifier gives up with EAGAIN when a
 * signal is pending on the calling thread: tried again, up to 5 times (as libbpf does). A
 * log (@attr->log_buf) that does not fit (ENOSPC): loaded again without it.
 * Return: the program's fd, or -errno.
 */
int vn_bpf_prog_load(union bpf_attr *attr);

/**
 * vn_bpf_return_prog() - load a BPF program of @type that returns @ret and nothing else
 * (`r0 = ret; exit`), named @name, with @flags (BPF_F_*) and @license; the verifier's log in
 * @log when given (backend/netlink_xdp.c). Return: the program's fd, or -errno.
 */
int vn_bpf_return_prog(uint32_t type, int32_t ret, uint32_t flags, const char *name,
		       const char *license, char *log, size_t loglen);

/* ---- the netlink view of one namespace ---- */

/** struct vn_nl - netlink context of one namespace (opaque, counted). */
typedef struct vn_nl vn_nl;

/**
 * vn_nl_open() - a handle on the context of namespace @ns (see vn_netns_open()), made on
 * first use. The caller owns the handle and gives it back with vn_nl_close().
 * Return: 0 and *@out, or -errno with @err set (-ENOENT: "network namespace '@ns' does not
 * exist").
 */
int vn_nl_open(const char *ns, struct vn_nl **out, GError **err);

/** vn_nl_close() - give back a handle (NULL is fine); the last reference frees the context. */
void vn_nl_close(struct vn_nl *nl);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(vn_nl, vn_nl_close)

/* ---- links ---- */

/** struct vn_klink - what the kernel says about one interface (RTM_NEWLINK, AF_UNSPEC). */
struct vn_klink {
	int ifindex;
	bool present;	    /* the interface exists (false: it was deleted or left the namespace) */
	bool admin_up;	    /* IFF_UP */
	bool carrier;	    /* present, IFF_UP and carrier: frames can flow */
	bool carrier_raw;   /* IFLA_CARRIER as reported (the kernel keeps it while down) */
	unsigned flags;	    /* IFF_UP, IFF_RUNNING, IFF_LOWER_UP, IFF_NOARP ... */
	char ifname[16];    /* IFNAMSIZ */
	char operstate[16]; /* "up", "down", "lowerlayerdown", ... */
	unsigned mtu;
	unsigned promiscuity; /* IFLA_PROMISCUITY: the kernel's promiscuous count */
	bool has_mac;
	struct rte_ether_addr mac;
	char alias[64]; /* IFLA_IFALIAS ("" when none; a longer one is cut) */
	char kind[16];	/* IFLA_INFO_KIND: "tun", "veth", ... ("" when none) */
	/* kind "tun", filled by vn_klink_get() only (libnl keeps no tun data in its cache): */
	int tun_type;	  /* IFF_TAP or IFF_TUN, else 0 */
	bool tun_mq;	  /* multi-queue TUN/TAP */
	bool tun_persist; /* persistent TUN/TAP */
	/* filled by vn_klink_get() only: */
	uint8_t xdp_attached; /* IFLA_XDP_ATTACHED: XDP_ATTACHED_NONE, _DRV, _SKB, _HW, _MULTI */
	uint32_t xdp_prog_id; /* IFLA_XDP_PROG_ID (0: none, or several programs) */
};

/**
 * vn_klink_get() - ask the kernel of @nl's namespace about the interface named @name (or with
 * index @ifindex when @name is NULL).
 * Return: 0 and *@out, -ENODEV when there is none, or another -errno.
 */
int vn_klink_get(struct vn_nl *nl, const char *name, int ifindex, struct vn_klink *out);

/** struct vn_klink_change - what vn_klink_set() changes; a zeroed field keeps its value. */
struct vn_klink_change {
	const struct rte_ether_addr *mac; /* new MAC, or NULL */
	unsigned mtu;			  /* new MTU, or 0 */
	int8_t up;			  /* +1: set IFF_UP, -1: clear it */
	int8_t noarp;			  /* +1: set IFF_NOARP, -1: clear it */
	const char *alias;		  /* new IFLA_IFALIAS, "" to remove it, or NULL */
	bool move;			  /* move the interface into namespace @netns_fd */
	int netns_fd;			  /* with @move: an fd of the target namespace */
};

/**
 * vn_klink_set() - apply @c to interface @ifindex of @nl's namespace in one RTM_NEWLINK
 * request (libnl builds it).
 * Return: 0, or -errno with @err carrying the kernel's extended message when it gave one.
 */
int vn_klink_set(struct vn_nl *nl, int ifindex, const struct vn_klink_change *c, GError **err);

/** vn_klink_del() - delete interface @ifindex of @nl's namespace. Return: 0 or -errno. */
int vn_klink_del(struct vn_nl *nl, int ifindex);

/**
 * vn_klink_ingress_drop() - attach an ingress qdisc with a drop-everything filter (cls_bpf,
 * else matchall/gact) to interface @ifindex (@on), or remove the ingress qdisc (!@on): frames
 * the interface receives are still seen by packet sockets, but never reach the host's
 * protocol stack. Return: 0 or -errno.
 */
int vn_klink_ingress_drop(struct vn_nl *nl, int ifindex, bool on);

/**
 * vn_klink_xdp_pass() - attach a program that passes every frame (`r0 = XDP_PASS; exit`,
 * multi-buffer aware) to interface @ifindex of the calling thread's namespace in native
 * (driver) mode, through a BPF link: closing the returned fd detaches it, and so does the
 * kernel when the process exits however it exits. An XDP program already there is left
 * alone (-EBUSY). Thread: control.
 * Return: the link's fd, or -errno with the kernel's verdict in @emsg (@elen bytes).
 */
int vn_klink_xdp_pass(int ifindex, char *emsg, size_t elen);

/* ---- watches ---- */

/**
 * Callback of a watch: @l is the interface's new state (!@l->present: deleted, or moved out
 * of the namespace; a watch reports nothing more after that unless the index comes back).
 */
typedef void (*vn_klink_cb)(void *ud, const struct vn_klink *l);

struct vn_klink_watch;

/**
 * vn_klink_watch() - call @cb(@ud, ...) whenever interface @ifindex of @nl's namespace changes
 * (flags, carrier, MTU, MAC, addresses, deletion). The watch holds its own reference on the
 * context; the caller owns the watch and ends it with vn_klink_unwatch().
 * Return: the watch with the current state in *@now (may be NULL), or NULL with @err set
 * (-ENODEV: no such interface; the netlink sockets failed).
 */
struct vn_klink_watch *vn_klink_watch(struct vn_nl *nl, int ifindex, vn_klink_cb cb, void *ud,
				      struct vn_klink *now, GError **err);

/** vn_klink_unwatch() - stop watching (NULL is fine); @cb is not called any more. */
void vn_klink_unwatch(struct vn_klink_watch *w);

/**
 * vn_klink_addresses() - add the addresses of @w's interface ("192.0.2.1/24",
 * "2001:db8::1/64") as string values of the open array in @b, from the namespace's cache.
 */
void vn_klink_addresses(const struct vn_klink_watch *w, JsonBuilder *b);

#endif

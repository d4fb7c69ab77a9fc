/* SPDX-License-Identifier: MIT */
/*
 * Private contract between the files of tapio/: network namespaces and kernel links
 * (netlink.c), the queue I/O engines (uring.c: io_uring; fallback.c: readv/writev and
 * recvmmsg/sendmmsg) and the two port kinds built on them (tap_port.c).
 *
 * A queue ("struct tq") is one file descriptor: a TAP queue fd (tap ports: the frame is
 * read/written with its virtio-net header) or an AF_PACKET socket bound to the device with
 * PACKET_VNET_HDR (vnet ports: same framing, plus the VLAN tag reported in PACKET_AUXDATA).
 * Rx is called by exactly one worker at a time; tx is serialised by the caller.
 */
#ifndef VNICD_TAPIO_H
#define VNICD_TAPIO_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include <gio/gio.h>
#include <glib.h>
#include <rte_mbuf.h>

#include "vnicd/tap.h"

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000 /* <linux/if.h>, which clashes with <net/if.h> */
#endif

/* ---- network namespaces (netlink.c); control thread ---- */

/**
 * vn_netns_enter() - move the calling thread into the namespace /var/run/netns/@ns (as
 * made by `ip netns add`); a NULL or empty @ns stays where it is.
 * Return: a handle for vn_netns_leave() (>= 0, or -1 when nothing changed), or -errno
 * with @err set (-ENOENT: no such namespace).
 */
int vn_netns_enter(const char *ns, GError **err);

/** vn_netns_leave() - return the calling thread to the namespace saved by vn_netns_enter(). */
void vn_netns_leave(int handle);

/** vn_netns_open() - Return: an fd of namespace @ns (O_RDONLY), or -errno. */
int vn_netns_open(const char *ns);

/* ---- links (netlink.c); control thread, in the caller's current namespace ---- */

/** struct vn_link_info - what RTM_NEWLINK said about a device. */
struct vn_link_info {
	int ifindex;
	unsigned flags; /* IFF_UP, IFF_RUNNING, IFF_LOWER_UP, IFF_NOARP ... */
	unsigned mtu;
	bool carrier;
	bool has_mac;
	uint8_t mac[6];
	char name[IFNAMSIZ];
	char kind[16];	  /* IFLA_INFO_KIND: "tun", "veth", ... ("" when none) */
	int tun_type;	  /* IFF_TAP or IFF_TUN for kind "tun", else 0 */
	bool tun_mq;	  /* multi-queue TUN/TAP */
	bool tun_persist; /* persistent TUN/TAP */
	char alias[64];	  /* IFLA_IFALIAS */
};

struct nl_sock;

/** vn_nl_open() - Return: a NETLINK_ROUTE libnl socket in the current namespace, or NULL. */
struct nl_sock *vn_nl_open(void);

/** vn_nl_close() - free a socket from vn_nl_open() (NULL is fine). */
void vn_nl_close(struct nl_sock *sk);

/**
 * vn_link_get() - look up a device by @name (or by @ifindex when @name is NULL).
 * Return: 0 and *@out, -ENODEV when there is none, or another -errno.
 */
int vn_link_get(struct nl_sock *sk, const char *name, int ifindex, struct vn_link_info *out);

/** struct vn_link_change - what vn_link_set() changes; unset fields stay as they are. */
struct vn_link_change {
	const uint8_t *mac; /* 6 bytes, or NULL */
	unsigned mtu;	    /* 0 = keep */
	int up;		    /* 1 = set IFF_UP, 0 = clear it, -1 = keep */
	int noarp;	    /* 1 = set IFF_NOARP, -1 = keep */
	const char *alias;  /* NULL = keep, "" = remove */
	int netns_fd;	    /* >= 0: move the device into that namespace; -1 = stay */
};

/**
 * vn_link_set() - apply @c to device @ifindex in one RTM_NEWLINK request.
 * Return: 0, or -errno with @err carrying the kernel's message when it gave one.
 */
int vn_link_set(struct nl_sock *sk, int ifindex, const struct vn_link_change *c, GError **err);

/** vn_link_del() - delete device @ifindex. Return: 0 or -errno. */
int vn_link_del(struct nl_sock *sk, int ifindex);

/**
 * vn_link_ingress_drop() - attach an ingress qdisc with a matchall/drop filter to device
 * @ifindex (@on), or remove the ingress qdisc (!@on): frames the device receives are still
 * seen by packet sockets, but never reach the host's protocol stack.
 * Return: 0 or -errno.
 */
int vn_link_ingress_drop(struct nl_sock *sk, int ifindex, bool on);

/** Callback of a link watch: @li is the device's new state, @deleted when it went away. */
typedef void (*vn_link_cb)(void *ud, const struct vn_link_info *li, bool deleted);

struct vn_link_watch;

/**
 * vn_link_watch_new() - report every change of device @ifindex in the current namespace
 * (carrier, flags, MTU, MAC, deletion) to @cb on the GLib main context of the calling
 * thread. Return: the watch, or NULL with @err set.
 */
struct vn_link_watch *vn_link_watch_new(int ifindex, vn_link_cb cb, void *ud, GError **err);

/** vn_link_watch_free() - stop watching (NULL is fine). */
void vn_link_watch_free(struct vn_link_watch *w);

/* ---- queue I/O engines ---- */

/** struct tq_stats - per queue; rx_* written by the polling worker, tx_* under the tx lock. */
struct tq_stats {
	uint64_t rx_frames;    /* frames read from the kernel */
	uint64_t rx_truncated; /* larger than a buffer (or than the device allows): dropped */
	uint64_t rx_nombuf;    /* dropped for lack of a replacement buffer */
	uint64_t rx_errors;    /* read errors reported by the kernel */
	uint64_t rx_rearms;    /* io_uring: reads posted again (multishot ended, buffers ran out) */
	uint64_t rx_syscalls;  /* system calls made by the rx path */
	uint64_t tx_frames;    /* frames the kernel accepted */
	uint64_t tx_errors;    /* frames the kernel refused (dropped) */
	uint64_t tx_syscalls;  /* system calls made by the tx path */
};

struct tq_engine;

/** struct tq - one queue of a port. */
struct tq {
	int fd;
	bool packet; /* AF_PACKET socket (vnet) rather than a TAP queue fd */
	uint16_t idx;
	struct rte_mempool *rxmp; /* buffers the kernel reads frames into (VN_TAP_RXBUF bytes) */
	const struct tq_engine *eng;
	void *priv; /* the engine's state */
	struct tq_stats st;
};

/**
 * struct tq_engine - how a queue moves frames. open()/close() run on the control thread;
 * rx() on the polling worker; tx() under the caller's serialisation.
 */
struct tq_engine {
	const char *name;
	/** open() - set up @q (fd, packet, idx, rxmp filled in). Return: 0 or -errno + @err. */
	int (*open)(struct tq *q, GError **err);
	/**
	 * rx() - up to @n frames with their virtio-net metadata (VLAN tags already put back
	 * in the frame). Return: the number of frames; ownership passes to the caller.
	 */
	uint16_t (*rx)(struct tq *q, struct rte_mbuf **pkts, struct vn_vnet_meta *meta, uint16_t n);
	/**
	 * tx() - send up to @n complete frames. The engine takes the first <return value>
	 * mbufs and frees them once the kernel copied them; it never writes to them.
	 */
	uint16_t (*tx)(struct tq *q, struct rte_mbuf **pkts, uint16_t n);
	/** close() - stop all I/O, free every buffer the engine holds; the fd stays open. */
	void (*close)(struct tq *q);
	/**
	 * intr() - optional: arm (@enable) or disarm a wake-up for the rx side; arming
	 * returns an eventfd that becomes readable when frames completed. Return: the fd, 0
	 * (disarmed) or -errno. Thread: the polling worker.
	 */
	int (*intr)(struct tq *q, bool enable);
	/** mode() - Return: a short description of how the queue works ("multishot read"). */
	const char *(*mode)(const struct tq *q);
};

extern const struct tq_engine vn_tq_uring;
extern const struct tq_engine vn_tq_fallback;

/**
 * vn_uring_usable() - whether io_uring can run the queues of a port on this host (probed
 * once: io_uring_setup, IORING_FEAT_FAST_POLL, provided buffer rings; @packet: multishot
 * recvmsg for packet sockets). Return: true, or false with a one-line reason in @why.
 */
bool vn_uring_usable(bool packet, char *why, size_t whylen);

#define VN_TAP_RXBUF 65535 /* data room of the rx buffers: a whole 64 KiB GSO frame fits */

/**
 * vn_tq_vlan_reinsert() - put back a VLAN tag that a packet socket reported out of band,
 * shifting a pending checksum offset. Return: 0, or -1 when @m has no headroom.
 */
int vn_tq_vlan_reinsert(struct rte_mbuf *m, uint16_t tpid, uint16_t tci, struct vn_vnet_meta *meta);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Private contract between the files of tapio/: the queue I/O engines (uring.c: io_uring;
 * fallback.c: readv/writev and recvmmsg/sendmmsg) and the two port kinds built on them
 * (tap_port.c; their devices: tap_dev.c; their arguments: tap_args.c). Namespaces and
 * kernel links are vnicd/netlink.h's.
 *
 * A queue ("struct tq") is one file descriptor: a TAP queue fd (tap ports: the frame is
 * read/written with its virtio-net header) or an AF_PACKET socket bound to the device with
 * PACKET_VNET_HDR (vnet ports: same framing, plus the VLAN tag reported in PACKET_AUXDATA).
 * Rx is called by exactly one worker at a time; tx is serialised by the caller.
 */
#ifndef VNICD_TAPIO_H
#define VNICD_TAPIO_H

#include <linux/if_tun.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include <gio/gio.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <rte_mbuf.h>
#include <rte_spinlock.h>

#include "vnicd/portkind.h"
#include "vnicd/tap.h"

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
	bool packet;   /* AF_PACKET socket (vnet) rather than a TAP queue fd */
	bool outgoing; /* packet: also take the host's frames leaving the device (uplinks) */
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
	 * tx() - send up to @n frames, complete or with pending offloads in their tx flags
	 * (written into their virtio-net header, vn_vnet_hdr_from_mbuf()). The engine takes
	 * the first <return value> mbufs and frees them once the kernel copied them; it never
	 * writes to them.
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

/* ---- the "tap" and "vnet" port kinds ---- */

/* Set *err (GError **err in scope) from errno value @code and return -@code. */
#define FAIL(code, ...)                                                                            \
	do {                                                                                       \
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(code), __VA_ARGS__);            \
		return -(code);                                                                    \
	} while (0)

#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

struct vn_klink_watch;

/*
 * Link state machine of a port (written by the control thread from netlink events, read by
 * workers): the port can carry frames when the device is administratively up and has
 * carrier (tap: vnicd's fds are attached and nobody set `carrier off`; vnet: the guest has
 * the device open) and was not deleted from outside. A deleted device stays deleted: the
 * port must be removed and added again.
 */
struct tap_q {
	struct tq io;
	rte_spinlock_t txlock;
	struct vn_offq oq;   /* rx completion, touched only by the polling worker */
	uint64_t tx_dropped; /* spread over queues by flow and refused by one */
} __rte_cache_aligned;

struct tap_port {
	struct vn_port base;
	bool vnet;
	char ifname[IFNAMSIZ];
	char netns[256]; /* "" = vnicd's own namespace */
	int ifindex;
	bool created;  /* vnicd made the device (removed again on `port del`) */
	bool moved;    /* an existing device vnicd moved into the namespace */
	bool isolated; /* vnet: the host stack never sees the guest's frames */
	uint16_t queues;
	int64_t owner;
	unsigned offloads;	  /* TUN_F_* accepted from the kernel (tap) */
	struct rte_mempool *mp;	  /* segments of GSO frames */
	struct rte_mempool *rxmp; /* this port's rx buffers */
	const struct tq_engine *eng;
	char fallback[192]; /* why io_uring is not used; "" when it is */
	/* link state (atomic) */
	uint32_t lflags, lmtu;
	uint8_t lcarrier, lgone;
	uint8_t lmac[6];
	uint64_t link_events;
	struct vn_klink_watch *watch;
	int fds[VN_MAX_QUEUES];
	struct tap_q q[VN_MAX_QUEUES];
};

/** struct tap_args - the checked `port add` arguments of a tap or vnet port. */
struct tap_args {
	const char *ifname, *netns, *mac;
	guint64 mtu, queues, owner;
	bool has_owner;
};

/**
 * vn_tap_get_args() - check the `port add` arguments @args of a tap port (a vnet port when
 * @vnet) and fill in @a with them and their defaults; @a's strings belong to @args.
 * Thread: control. Return: 0, or -errno with @err.
 */
int vn_tap_get_args(JsonObject *args, bool vnet, struct tap_args *a, GError **err);

/**
 * vn_tap_setup() - find or make the TAP device of tap port @tp (in namespace @a->netns,
 * moving an existing device of vnicd's own namespace into it), attach @tp->queues fds, set
 * offloads, MAC, MTU and up, and watch its link. Thread: control.
 * Return: 0, or -errno with @err (the caller undoes a partial set-up with
 * vn_tap_release_fds() and vn_tap_undo_device()).
 */
int vn_tap_setup(struct tap_port *tp, const struct tap_args *a, const struct vn_port_env *env,
		 GError **err);

/**
 * vn_vnet_setup() - find or make (persistent, given to @a->owner) the TAP device of vnet port
 * @tp, keep it away from the host stack, open @tp->queues packet sockets on it and watch its
 * link. Thread: control. Return: 0, or -errno with @err (undone as for vn_tap_setup()).
 */
int vn_vnet_setup(struct tap_port *tp, const struct tap_args *a, GError **err);

/**
 * vn_tap_q_close() - close queue @q's engine state (@eng) and free the frames it still holds
 * (a GSO source, the fifo); it can be opened again. Thread: control.
 */
void vn_tap_q_close(struct tap_q *q, const struct tq_engine *eng);

/**
 * vn_tap_q_rx() - up to @n complete frames from queue @q (engine @eng): checksums left
 * to the device filled in, GSO frames cut into segments taken from @segmp; a frame whose
 * offload request is malformed is dropped and counted. With @pass (the port's offl_pass) a
 * request is carried as tx flags instead where it can be (vn_offq_rx()). Thread: the
 * polling worker of @q. Return: the number of frames; ownership passes to the caller.
 */
uint16_t vn_tap_q_rx(struct tap_q *q, const struct tq_engine *eng, struct rte_mempool *segmp,
		     struct rte_mbuf **pkts, uint16_t n, bool pass);

/**
 * vn_tap_pool_release() - free an rx pool of 64 KiB buffers (NULL: nothing) once no port
 * holds one of its buffers any more (checked once a second). Thread: control.
 */
void vn_tap_pool_release(struct rte_mempool *mp);

/**
 * vn_tap_release_fds() - close @tp's queue fds; a tap device vnicd made goes away with them
 * when @remove (persist off). Thread: control.
 */
void vn_tap_release_fds(struct tap_port *tp, bool remove);

/**
 * vn_tap_undo_device() - undo what set-up did outside vnicd: remove a vnet device vnicd
 * made, move back a device it moved into a namespace, drop the ingress filter it added to
 * an existing vnet device. Best effort. Thread: control.
 */
void vn_tap_undo_device(struct tap_port *tp);

/**
 * vn_packet_socket() - a PACKET_VNET_HDR socket bound to interface @ifindex (@what names it
 * in errors) for queue @i of @n: with several, the sockets share a hash fanout group
 * (*@fanout, made by queue 0); @ignore_out: not seeing the host's own transmissions
 * (tapio/pktq.c). Return: the fd, or -errno with @err.
 */
int vn_packet_socket(int ifindex, const char *what, unsigned i, unsigned n, bool ignore_out,
		     int *fanout, GError **err);

#endif

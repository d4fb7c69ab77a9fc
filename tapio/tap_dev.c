/* SPDX-License-Identifier: MIT */
/*
 * The kernel side of "tap" and "vnet" ports: finding, making, moving, configuring and watching
 * their TAP devices, and undoing that.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "tapio.h"
#include "vnicd/log.h"
#include "vnicd/mac.h"
#include "vnicd/netlink.h"

#define ALIAS_PREFIX "vnicd:"	    /* IFLA_IFALIAS of the devices vnicd made */
#define MOVED_PREFIX "vnicd-moved:" /* ... of devices it moved into a namespace */

/* ---- link events (control thread) ---- */

static void on_link(void *ud, const struct vn_klink *li)
{
	struct tap_port *tp = ud;
	uint32_t of = tp->lflags, om = tp->lmtu;
	uint8_t oc = tp->lcarrier;
	const struct vn_log_ctx lc = {.port = tp->base.name};

	if (!li->present) {
		if (!tp->lgone)
			vn_log_ctx(
			    VN_LOG_WARN, &lc,
			    "port %s: device %s was deleted%s; remove and add the port again",
			    tp->base.name, tp->ifname,
			    tp->netns[0] ? " or left its namespace" : "");
		__atomic_store_n(&tp->lgone, 1, __ATOMIC_RELAXED);
		tp->link_events++;
		return;
	}
	__atomic_store_n(&tp->lflags, li->flags, __ATOMIC_RELAXED);
	__atomic_store_n(&tp->lmtu, li->mtu, __ATOMIC_RELAXED);
	__atomic_store_n(&tp->lcarrier, li->carrier_raw, __ATOMIC_RELAXED);
	if (li->has_mac)
		memcpy(tp->lmac, li->mac.addr_bytes, 6);
	if ((of ^ li->flags) & IFF_UP)
		vn_log_ctx(VN_LOG_INFO, &lc, "port %s: %s administratively %s", tp->base.name,
			   tp->ifname, li->flags & IFF_UP ? "up" : "down");
	if (oc != li->carrier_raw)
		vn_log_ctx(VN_LOG_INFO, &lc, "port %s: %s carrier %s", tp->base.name, tp->ifname,
			   li->carrier_raw ? "on" : "off");
	if (om != li->mtu)
		vn_log_ctx(VN_LOG_INFO, &lc, "port %s: %s MTU %u -> %u", tp->base.name, tp->ifname,
			   om, li->mtu);
	if (((of ^ li->flags) & IFF_UP) || oc != li->carrier_raw || om != li->mtu)
		tp->link_events++;
}

static void apply_info(struct tap_port *tp, const struct vn_klink *li)
{
	tp->ifindex = li->ifindex;
	tp->lflags = li->flags;
	tp->lmtu = li->mtu;
	tp->lcarrier = li->carrier_raw;
	memcpy(tp->lmac, li->mac.addr_bytes, 6);
}

/* ---- the device ---- */

/* Close the fds; a device vnicd made goes away with them when @remove (tap: persist off). */
void vn_tap_release_fds(struct tap_port *tp, bool remove)
{
	for (unsigned i = 0; i < VN_MAX_QUEUES; i++) {
		if (tp->fds[i] < 0)
			continue;
		if (remove && !tp->vnet && i == 0)
			ioctl(tp->fds[i], TUNSETPERSIST, 0);
		close(tp->fds[i]);
		tp->fds[i] = -1;
	}
}

/* Undo what create did outside vnicd: remove a device it made, move back one it moved. */
void vn_tap_undo_device(struct tap_port *tp)
{
	g_autoptr(vn_nl) nl = NULL;

	if (!tp->created && !tp->moved && !(tp->vnet && tp->isolated))
		return;
	if (vn_nl_open(tp->netns, &nl, NULL) < 0)
		return;
	if (tp->created && tp->vnet) {
		vn_klink_del(nl, tp->ifindex);
	} else if (!tp->created && tp->moved) {
		g_autoptr(GError) e = NULL;
		int self = vn_netns_open(NULL); /* vnicd's own namespace */
		g_autofree char *moved = g_strdup_printf(MOVED_PREFIX "%s", tp->base.name);
		struct vn_klink li;
		struct vn_klink_change c = {.move = true, .netns_fd = self};
		if (vn_klink_get(nl, NULL, tp->ifindex, &li) == 0 && !strcmp(li.alias, moved))
			c.alias = ""; /* our mark goes */
		if (self >= 0 && vn_klink_set(nl, tp->ifindex, &c, &e) < 0)
			VN_WARN("port %s: cannot move %s back: %s", tp->base.name, tp->ifname,
				e->message);
		if (self >= 0)
			close(self);
	} else if (!tp->created && tp->vnet && tp->isolated) {
		vn_klink_ingress_drop(nl, tp->ifindex, false);
	}
}

static bool is_tap(const struct vn_klink *li)
{
	return strcmp(li->kind, "tun") == 0 && li->tun_type == IFF_TAP;
}

/* Is the existing device @li usable for @tp? */
static int check_existing(struct tap_port *tp, const struct vn_klink *li, GError **err)
{
	if (strcmp(li->kind, "tun") != 0)
		FAIL(EEXIST, "'%s' exists and is not a TAP device (it is a%s %s device)",
		     tp->ifname, li->kind[0] && strchr("aeiou", li->kind[0]) ? "n" : "",
		     li->kind[0] ? li->kind : "physical or unknown");
	if (li->tun_type != IFF_TAP)
		FAIL(EEXIST, "'%s' exists and is a TUN device, not a TAP device", tp->ifname);
	if (li->tun_mq != (tp->queues > 1))
		FAIL(EINVAL, "'%s' is %s multiqueue TAP device: %s", tp->ifname,
		     li->tun_mq ? "a" : "not a",
		     li->tun_mq ? "use --queues 2 or more"
				: "use --queues 1 or let vnicd create it");
	return 0;
}

static bool is_ours(const struct tap_port *tp, const struct vn_klink *li)
{
	g_autofree char *alias = g_strdup_printf(ALIAS_PREFIX "%s", tp->base.name);

	return strcmp(li->alias, alias) == 0;
}

/* Open and attach @tp->queues queue fds to the TAP device @tp->ifname (made if missing). */
static int attach_tun(struct tap_port *tp, short extra, GError **err)
{
	struct ifreq ifr;

	for (unsigned i = 0; i < tp->queues; i++) {
		int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), e;
		if (fd < 0) {
			e = errno;
			FAIL(e, "cannot open /dev/net/tun: %s", g_strerror(e));
		}
		memset(&ifr, 0, sizeof(ifr));
		g_strlcpy(ifr.ifr_name, tp->ifname, IFNAMSIZ);
		ifr.ifr_flags = (short)(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | extra |
					(tp->queues > 1 ? IFF_MULTI_QUEUE : 0));
		if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
			e = errno;
			close(fd);
			if (e == EBUSY)
				FAIL(e, "TAP device '%s' is busy (another program has it open)",
				     tp->ifname);
			FAIL(e, "cannot attach to TAP device '%s': %s", tp->ifname, g_strerror(e));
		}
		tp->fds[i] = fd;
	}
	return 0;
}

/* attach_tun() from inside namespace @ns (the device is found or made where /dev/net/tun was
 * opened). */
static int attach_tun_in(struct tap_port *tp, const char *ns, GError **err)
{
	int h = vn_netns_enter(ns, err), rc;

	if (h < -1)
		return h;
	rc = attach_tun(tp, 0, err);
	vn_netns_leave(h);
	return rc;
}

/*
 * @tp->ifname is not in namespace @ns (@nl): an existing TAP device of that name in vnicd's own
 * namespace is attached and moved in (a device of another kind there is none of our business).
 * The move is remembered in the device's alias when it has none, so that a restart knows too.
 * Return: 1 when moved (*@li: the device in @ns), 0 when there is none, or -errno with @err.
 */
static int move_in(struct tap_port *tp, struct vn_nl *nl, const char *ns, struct vn_klink *li,
		   GError **err)
{
	g_autoptr(vn_nl) own = NULL;
	g_autofree char *moved_alias = g_strdup_printf(MOVED_PREFIX "%s", tp->base.name);
	struct vn_klink_change c = {.move = true};
	int rc;

	if (vn_nl_open(NULL, &own, NULL) < 0 || vn_klink_get(own, tp->ifname, 0, li) < 0 ||
	    !is_tap(li))
		return 0; /* made in @ns instead */
	if ((rc = check_existing(tp, li, err)) < 0 || (rc = attach_tun(tp, 0, err)) < 0)
		return rc;
	c.netns_fd = vn_netns_open(ns);
	c.alias = li->alias[0] ? NULL : moved_alias;
	rc = c.netns_fd < 0 ? c.netns_fd : vn_klink_set(own, li->ifindex, &c, err);
	if (c.netns_fd >= 0)
		close(c.netns_fd);
	if (rc < 0) {
		g_prefix_error(err, "cannot move '%s' into namespace '%s': ", tp->ifname, ns);
		return rc;
	}
	tp->moved = true;
	tp->ifindex = li->ifindex;
	if ((rc = vn_klink_get(nl, tp->ifname, 0, li)) < 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "'%s' vanished after the move",
			    tp->ifname);
		return rc;
	}
	return 1;
}

/* Watch @tp's device through @nl and take its current state. Return: 0 or -EIO (@err). */
static int watch_link(struct tap_port *tp, struct vn_nl *nl, GError **err)
{
	struct vn_klink li;

	tp->watch = vn_klink_watch(nl, tp->ifindex, on_link, tp, &li, err);
	if (!tp->watch)
		return -EIO;
	apply_info(tp, &li);
	return 0;
}

int vn_tap_setup(struct tap_port *tp, const struct tap_args *a, const struct vn_port_env *env,
		 GError **err)
{
	g_autoptr(vn_nl) nl = NULL;
	struct vn_klink li;
	g_autofree char *alias = g_strdup_printf(ALIAS_PREFIX "%s", tp->base.name);
	g_autofree char *moved_alias = g_strdup_printf(MOVED_PREFIX "%s", tp->base.name);
	struct rte_ether_addr mac;
	struct vn_klink_change c = {.up = 1};
	int rc;
	unsigned off;

	if ((rc = vn_nl_open(a->netns, &nl, err)) < 0)
		return rc;
	rc = vn_klink_get(nl, tp->ifname, 0, &li);
	if (rc == -ENODEV && a->netns) {
		if ((rc = move_in(tp, nl, a->netns, &li, err)) < 0)
			return rc;
		rc = rc ? 0 : -ENODEV;
	}
	if (rc == 0 && !tp->moved) {
		if ((rc = check_existing(tp, &li, err)) < 0)
			return rc;
		tp->created = is_ours(tp, &li); /* left by an earlier run of vnicd */
		tp->moved = strcmp(li.alias, moved_alias) == 0;
		if ((rc = attach_tun_in(tp, a->netns, err)) < 0)
			return rc;
	} else if (rc == -ENODEV) {
		tp->created = true;
		if ((rc = attach_tun_in(tp, a->netns, err)) < 0) {
			tp->created = false; /* nothing was made */
			return rc;
		}
		if (ioctl(tp->fds[0], TUNSETPERSIST, 1) != 0) /* survives vnicd restarts */
			VN_WARN("port %s: cannot make %s persistent: %s", tp->base.name, tp->ifname,
				g_strerror(errno));
	} else if (rc < 0) {
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(-rc), "cannot look up '%s': %s",
			    tp->ifname, g_strerror(-rc));
		return rc;
	}
	{
		int sz = VN_VNET_HDR_LEN;
		ioctl(tp->fds[0], TUNSETVNETHDRSZ, &sz);
	}
	off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
	if (ioctl(tp->fds[0], TUNSETOFFLOAD, off | TUN_F_USO4 | TUN_F_USO6) == 0)
		tp->offloads = off | TUN_F_USO4 | TUN_F_USO6;
	else if (ioctl(tp->fds[0], TUNSETOFFLOAD, off) == 0)
		tp->offloads = off;
	rc = vn_klink_get(nl, tp->ifname, 0, &li);
	if (rc < 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "'%s' vanished", tp->ifname);
		return rc;
	}
	tp->ifindex = li.ifindex;
	c.mtu = (unsigned)a->mtu;
	c.alias = tp->created ? alias : NULL;
	if (a->mac && vn_mac_parse(a->mac, &mac) == 0)
		c.mac = &mac;
	rc = vn_klink_set(nl, tp->ifindex, &c, err);
	if (rc < 0) {
		g_prefix_error(err, "cannot configure '%s' (MAC/MTU/up): ", tp->ifname);
		return rc;
	}
	if ((rc = watch_link(tp, nl, err)) < 0)
		return rc;
	return 0;
}

static int vnet_sockets(struct tap_port *tp, GError **err)
{
	int fanout = 0;

	for (unsigned i = 0; i < tp->queues; i++) {
		int fd =
		    vn_packet_socket(tp->ifindex, tp->ifname, i, tp->queues, true, &fanout, err);
		if (fd < 0)
			return fd;
		tp->fds[i] = fd;
	}
	return 0;
}

/* Write a /proc/sys file in place (g_file_set_contents() would rename a temporary file). */
static void write_sysctl(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return; /* no IPv6 on this host: nothing to disable */
	if (write(fd, val, strlen(val)) < 0)
		VN_WARN("cannot write %s: %s", path, g_strerror(errno));
	close(fd);
}

int vn_vnet_setup(struct tap_port *tp, const struct tap_args *a, GError **err)
{
	g_autoptr(vn_nl) nl = NULL;
	struct vn_klink li;
	g_autofree char *alias = g_strdup_printf(ALIAS_PREFIX "%s", tp->base.name);
	g_autofree char *v6 = NULL;
	struct vn_klink_change c = {.up = 1, .noarp = 1};
	int rc;

	if ((rc = vn_nl_open(NULL, &nl, err)) < 0)
		return rc;
	rc = vn_klink_get(nl, tp->ifname, 0, &li);
	if (rc == 0) {
		if ((rc = check_existing(tp, &li, err)) < 0)
			return rc;
		tp->created = is_ours(tp, &li);
	} else if (rc == -ENODEV) {
		/* precreate the persistent device QEMU (or libvirt) opens */
		if ((rc = attach_tun(tp, 0, err)) < 0)
			return rc;
		tp->created = true;
		if (a->has_owner && ioctl(tp->fds[0], TUNSETOWNER, (unsigned long)a->owner) != 0) {
			rc = -errno;
			g_set_error(err, G_IO_ERROR, g_io_error_from_errno(-rc),
				    "cannot give '%s' to uid %" G_GUINT64_FORMAT ": %s", tp->ifname,
				    a->owner, g_strerror(-rc));
			return rc;
		}
		if (ioctl(tp->fds[0], TUNSETPERSIST, 1) != 0) {
			rc = -errno;
			g_set_error(err, G_IO_ERROR, g_io_error_from_errno(-rc),
				    "cannot make '%s' persistent: %s", tp->ifname, g_strerror(-rc));
			return rc;
		}
		rc = vn_klink_get(nl, tp->ifname, 0, &li);
		/* the guest opens the device; vnicd works on the netdev */
		vn_tap_release_fds(tp, false);
		if (rc < 0) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "'%s' vanished",
				    tp->ifname);
			return rc;
		}
	} else {
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(-rc), "cannot look up '%s': %s",
			    tp->ifname, g_strerror(-rc));
		return rc;
	}
	tp->ifindex = li.ifindex;
	if (a->has_owner)
		tp->owner = (int64_t)a->owner;
	/* never through the host stack: no IPv6 addresses, no ARP, ingress dropped after taps */
	v6 = g_strdup_printf("/proc/sys/net/ipv6/conf/%s/disable_ipv6", tp->ifname);
	write_sysctl(v6, "1");
	c.alias = tp->created ? alias : NULL;
	c.mtu = (unsigned)a->mtu; /* libvirt's <mtu size=> of the NIC (managed='no': ours) */
	rc = vn_klink_set(nl, tp->ifindex, &c, err);
	if (rc < 0) {
		g_prefix_error(err, "cannot configure '%s': ", tp->ifname);
		return rc;
	}
	tp->isolated = vn_klink_ingress_drop(nl, tp->ifindex, true) == 0;
	if (!tp->isolated)
		VN_WARN(
		    "port %s: cannot add an ingress drop filter to %s (sch_ingress/cls_matchall "
		    "missing?): the host stack also sees the guest's frames",
		    tp->base.name, tp->ifname);
	if ((rc = vnet_sockets(tp, err)) < 0)
		return rc;
	if ((rc = watch_link(tp, nl, err)) < 0)
		return rc;
	return 0;
}

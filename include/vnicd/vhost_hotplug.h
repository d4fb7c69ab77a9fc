/* SPDX-License-Identifier: MIT */
/*
 * Hotplug of vhost-user NICs whose port was not made first (config key vhost_hotplug_dirs).
 *
 * QEMU's netdev_add of a vhost-user NIC does not return until a backend is connected, and
 * libvirt sends DEVICE_ADDED only after that; nothing tells vnicd about the NIC before.
 * With libvirt's mode='server' QEMU binds the socket first: vnicd watches the configured
 * directories (inotify) and connects, as a reconnecting vhost-user client, to every new
 * socket there that no port uses, through a provisional port "hp-<socket name>" in
 * quarantine (no labels; access VLAN VN_HOTPLUG_VLAN with its MAC locked to an address no
 * guest has, so nothing it sends passes and nothing of the network's untagged LAN reaches
 * it). QEMU's netdev_add returns, libvirt adds the device and sends DEVICE_ADDED, and the
 * libvirt listener replaces the provisional port with the NIC's own (the naming rule's
 * name, the domain's labels, the metadata's policy; virt_apply.c). A provisional port whose
 * socket goes away is removed. mode='client' (vnicd listens) cannot work this way: the path
 * is not known before QEMU tries to connect (and QEMU 7.2 then fails, or, with
 * <reconnect>, blocks its main loop retrying).
 *
 * Thread: control (GLib main loop). Requests go through the control protocol's dispatcher.
 */
#ifndef VNICD_VHOST_HOTPLUG_H
#define VNICD_VHOST_HOTPLUG_H

#include <stdbool.h>

#include <glib.h>

#define VN_HOTPLUG_PREFIX "hp-"		   /* provisional ports' names: hp-<socket name> */
#define VN_HOTPLUG_VLAN 4094		   /* their quarantine VLAN */
#define VN_HOTPLUG_MAC "02:00:00:00:00:00" /* their locked MAC: no guest's */
#define VN_HOTPLUG_MAX_DIRS 8

struct vn_switch;
struct vn_hotplug;

/**
 * vn_hotplug_start() - watch the ';'-separated directories @dirs (NULL or "": nothing).
 * A directory that cannot be watched is logged and skipped.
 * Return: the watcher (NULL when there is nothing to watch).
 */
struct vn_hotplug *vn_hotplug_start(struct vn_switch *sw, const char *dirs);

/** vn_hotplug_stop() - stop watching and free @hp (NULL is fine); ports are left. */
void vn_hotplug_stop(struct vn_hotplug *hp);

/** vn_hotplug_port_is_provisional() - is @name a provisional port's name? */
bool vn_hotplug_port_is_provisional(const char *name);

#endif

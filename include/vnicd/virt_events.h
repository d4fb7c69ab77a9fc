/* SPDX-License-Identifier: MIT */
/*
 * vnicd's libvirt listener: keeps vnicd's ports and their policy equal to what the running
 * libvirt domains ask for, without anyone calling vnicctl.
 *
 * Connection (config key libvirt_uri): NULL = "auto": qemu:///system when libvirtd's (or
 * virtqemud's) socket exists, looked for again after 1, 2, 4, 8 s, then every
 * VN_VIRT_AUTO_POLL_S seconds, and quiet while it is absent; "" = off; any other URI =
 * that URI, with failures logged (rate limited) and retried with a backoff of 1, 2, 4 ...
 * VN_VIRT_BACKOFF_MAX_S seconds.
 *
 * Every libvirt call that talks to libvirtd (open, event registration, listing domains,
 * reading their XML and metadata, close) runs on one private worker thread, one job at a
 * time, so the control thread's main loop never waits on libvirtd (libvirtd itself may be
 * waiting on vnicd: a hook blocks a domain's start until vnicd answers it). libvirt's event
 * loop is vnicd's GLib loop (virt_loop.h): the event callbacks run on the control thread,
 * take only the domain's UUID and what the event carries, and queue a job; the job's result
 * comes back to the control thread, which changes the switch through the control protocol's
 * dispatcher (vn_ctl_handle_line()), so validation, persistence and errors are exactly
 * those of a `vnicctl` request.
 *
 * Events: lifecycle STARTED/RESUMED (re-read the domain), STOPPED (remove its ports; the
 * accounting ledger keeps their totals), DEVICE_ADDED (re-read: create the new NIC's port),
 * DEVICE_REMOVED (only the alias comes: the alias -> port map kept per domain names the
 * port to remove), METADATA_CHANGE in namespace VN_DOMXML_NS (virDomainGetMetadata(), then
 * `port.set` on each live port so the policy changes under traffic). On connecting, and on
 * every reconnect after libvirtd closed the connection (events are not replayed), every
 * running domain is re-read ("reconcile"): missing ports are created, policies re-applied,
 * and ports whose vm_uuid label names a domain that no longer runs are removed.
 *
 * Ownership: the listener only creates, changes or removes ports named by the naming rule
 * (<domain>-net<N>, see domxml.h) that carry the vm_uuid label of a libvirt domain, i.e.
 * ports the listener or vnicd-libvirt-hook made. A port with that name but another (or no)
 * vm_uuid label was made by an operator: it is left alone and counted as a conflict. A
 * provisional hotplug port (vhost_hotplug.h) on the socket of a mode='server' NIC whose
 * port is missing is removed, and the NIC's port made in its place. Domains that start
 * migrated, restored or from a snapshot (or resume after a migration) get `port.announce`
 * on each port.
 * Nothing libvirt sends makes vnicd exit: failures are counted and logged.
 */
#ifndef VNICD_VIRT_EVENTS_H
#define VNICD_VIRT_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include <json-glib/json-glib.h>

#include "vnicd/switch.h"

#define VN_VIRT_AUTO_URI "qemu:///system"
#define VN_VIRT_AUTO_POLL_S 10	 /* auto mode: longest wait to look for libvirtd's socket */
#define VN_VIRT_BACKOFF_MAX_S 30 /* longest wait between two connection attempts */
#define VN_VIRT_MAX_DOMAINS 1024 /* running domains followed; more are counted, ignored */
#define VN_VIRT_STOP_WAIT_S 3	 /* longest wait at stop for a libvirt call under way */

struct vn_virt;

/** Counters of the listener (all since vn_virt_start()). */
struct vn_virt_stats {
	bool connected;
	uint64_t connects;	   /* successful connections (first and reconnects) */
	uint64_t connect_failures; /* attempts that failed */
	uint64_t disconnects;	   /* connections lost (close callback) or dropped */
	uint64_t events;	   /* libvirt events received */
	uint64_t reconciles;	   /* full re-scans of the running domains */
	uint64_t requests;	   /* control requests applied */
	uint64_t requests_failed;  /* ... of which refused by vnicd */
	uint64_t xml_errors;	   /* domain XML or metadata vnicd could not parse */
	uint64_t conflicts;	   /* ports left alone: an operator's port has the name */
	uint64_t libvirt_errors;   /* libvirt calls that failed (domain gone, RPC error) */
	uint64_t domains;	   /* running domains followed now */
};

/**
 * vn_virt_start() - start the listener for @uri (NULL: auto, "": off; see above) over
 * switch @sw (which must outlive it). Registers libvirt's event loop on the default main
 * context (vn_virt_loop_register()) and returns at once; connecting happens in the
 * background. Thread: control.
 * Return: the listener, or NULL when @uri is "" (off).
 */
struct vn_virt *vn_virt_start(struct vn_switch *sw, const char *uri);

/**
 * vn_virt_stop() - deregister, close the connection and free @v (NULL is fine). Waits at
 * most VN_VIRT_STOP_WAIT_S for the libvirt call under way; when libvirtd does not answer
 * by then, the worker is left to finish on its own (logged) and vnicd goes on stopping.
 * Thread: control.
 */
void vn_virt_stop(struct vn_virt *v);

/** vn_virt_get_stats() - copy the counters of @v into @st. Thread: control. */
void vn_virt_get_stats(struct vn_virt *v, struct vn_virt_stats *st);

/**
 * vn_virt_reconnect() - drop the connection and connect again at once, as when libvirtd
 * closes it (what an operator's SIGHUP-like "resync" or a test needs). Thread: control.
 */
void vn_virt_reconnect(struct vn_virt *v);

/**
 * vn_virt_json_status() - the `libvirt.status` result: {enabled, uri, auto, connected,
 * COUNTERS of struct vn_virt_stats} of the running listener (the last vn_virt_start() not
 * stopped yet), or {enabled: false}. Thread: control.
 */
void vn_virt_json_status(JsonBuilder *b);

#endif

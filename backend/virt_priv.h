/* SPDX-License-Identifier: MIT */
/* The libvirt listener's state, shared by virt_events.c (connection, jobs, events) and
 * virt_apply.c (making the switch match the domains). Control thread unless marked. */
#ifndef VNICD_VIRT_PRIV_H
#define VNICD_VIRT_PRIV_H

#include <glib.h>
#include <libvirt/libvirt.h>

#include "vnicd/domxml.h"
#include "vnicd/virt_events.h"

/* A running domain the listener follows. */
struct virt_dom {
	char uuid[VN_DOMXML_UUID_LEN];
	struct vn_domxml *dom;	/* its last parsed XML (owned) */
	GHashTable *alias_port; /* libvirt alias -> port name (DEVICE_REMOVED) */
};

/* A running domain as the worker read it (owned strings). */
struct virt_snap {
	char uuid[VIR_UUID_STRING_BUFLEN];
	char *xml;
};

struct vn_virt {
	struct vn_switch *sw;
	char *uri;
	bool auto_mode; /* libvirt_uri not set: qemu:///system when its socket exists */
	bool stopping;
	bool connected;
	bool close_pending; /* the close callback came before the connection's scan result */
	unsigned backoff_s;
	guint retry_src;
	GThreadPool *pool; /* one thread: every call that talks to libvirtd */
	GMutex jobs_lock;
	GCond jobs_done;
	unsigned jobs_pending; /* queued or running, under jobs_lock */
	GHashTable *doms;      /* uuid -> struct virt_dom * */
	GHashTable *moved;     /* uuids that started migrated or restored: announce them */
	struct vn_virt_stats st;
	/* worker thread only */
	virConnectPtr conn;
	int cb_ids[4];
};

/* virt_apply.c */
/** virt_dom_free() - free a struct virt_dom (the doms table's value free function). */
void virt_dom_free(gpointer p);
/** virt_apply_domain() - make the ports of running domain @uuid match its XML @xml. */
void virt_apply_domain(struct vn_virt *v, const char *uuid, const char *xml);
/** virt_apply_metadata() - apply the policy element @meta (NULL: removed) to @uuid's ports.
 * Return: false when the domain is not known yet (the caller re-reads the whole XML). */
bool virt_apply_metadata(struct vn_virt *v, const char *uuid, const char *meta);
/** virt_announce_domain() - port.announce of every port of domain @uuid (it moved here). */
void virt_announce_domain(struct vn_virt *v, const char *uuid);
/** virt_domain_gone() - remove the ports of domain @uuid (it stopped). */
void virt_domain_gone(struct vn_virt *v, const char *uuid);
/** virt_device_removed() - remove the port of @uuid's device @alias. */
void virt_device_removed(struct vn_virt *v, const char *uuid, const char *alias);
/** virt_reconcile() - @snaps (struct virt_snap *) are all the running domains: apply each,
 * and remove the listener's ports of every other domain. */
void virt_reconcile(struct vn_virt *v, GPtrArray *snaps);

#endif

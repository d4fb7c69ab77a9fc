/* SPDX-License-Identifier: MIT */
/*
 * Port kinds: how the arguments of `port add NAME KIND ...` (a JSON object, also what is
 * persisted) become a port of that kind. One const table per kind; the switch looks kinds
 * up by name. Thread: control.
 */
#ifndef VNICD_PORTKIND_H
#define VNICD_PORTKIND_H

#include <glib.h>
#include <json-glib/json-glib.h>
#include <rte_mempool.h>

#include "vnicd/config.h"
#include "vnicd/datapath.h"
#include "vnicd/port.h"

/** struct vn_port_env - what a kind may use to build a port. */
struct vn_port_env {
	const struct vn_config *cfg;
	struct rte_mempool *mp;
	struct vn_dp *dp;
};

struct vn_port_kind {
	const char *name;	 /* "vhost", "tap", "vnet" */
	const char *const *keys; /* kind-specific argument names, NULL-terminated */
	const char *unique_key;	 /* an argument no two ports of this kind may share, or NULL */

	/**
	 * check() - validate @args against @cfg without creating anything (runs without DPDK
	 * in tests). Return: 0, or -errno with @err naming the problem.
	 */
	int (*check)(JsonObject *args, const struct vn_config *cfg, GError **err);

	/**
	 * create() - build the port from checked @args; common fields (slot, net, mac,
	 * tx_shared) are filled in by the caller afterwards.
	 * Return: 0 and *@out, or -errno with @err set; nothing half-made is left behind.
	 */
	int (*create)(const char *name, JsonObject *args, const struct vn_port_env *env,
		      struct vn_port **out, GError **err);

	/** summary() - Return: a short description for the log ("server /run/x.sock"). */
	char *(*summary)(JsonObject *args);
};

/** The kinds built into vnicd. */
extern const struct vn_port_kind vn_vhost_kind;
extern const struct vn_port_kind vn_tap_kind;  /* tapio/tap_port.c */
extern const struct vn_port_kind vn_vnet_kind; /* tapio/tap_port.c */

#endif

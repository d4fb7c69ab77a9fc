/* SPDX-License-Identifier: MIT */
/*
 * Switch model on the control thread: the named networks, the ports in them, static FDB
 * entries, their persistence in the state directory, and publication to the data path.
 * Every function here runs on the control thread.
 */
#ifndef VNICD_SWITCH_H
#define VNICD_SWITCH_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <json-glib/json-glib.h>
#include <rte_mempool.h>

#include "vnicd/config.h"
#include "vnicd/datapath.h"

struct vn_switch;

/**
 * vn_switch_new() - an empty switch over data path @dp. With @dp NULL the switch only
 * validates and records (tests of the control protocol). @cfg must outlive it.
 * Return: the switch (never NULL).
 */
struct vn_switch *vn_switch_new(const struct vn_config *cfg, struct vn_dp *dp,
				struct rte_mempool *mp);

/**
 * vn_switch_set_state_file() - from now on, save to @path after every change (NULL: never):
 * written to PATH.latest-N before the change returns, durable at @path soon after (a
 * vn_saver of vnicd/fileio.h); a previous file's pending save is made first.
 */
void vn_switch_set_state_file(struct vn_switch *sw, const char *path);

/** vn_switch_free() - destroy every port and network, then the switch. */
void vn_switch_free(struct vn_switch *sw);

/** vn_switch_net_add() - make network @name of @type ("bridge"). Return: 0 or -errno (@err). */
int vn_switch_net_add(struct vn_switch *sw, const char *name, const char *type, GError **err);

/**
 * vn_switch_net_create() - make a network from the `net.add` arguments @args: name, type
 * ("bridge" or "macvtap"), [uplink] (DPDK devargs: the network gets port NAME-uplink),
 * macvtap only: [mode] ("vepa" default, "bridge", "private", "passthru"), [hairpin]
 * ("external" default, "emulated"), [nopromisc] (passthru). Nothing is left half-made on
 * failure. Return: 0 or -errno (@err).
 */
int vn_switch_net_create(struct vn_switch *sw, JsonObject *args, GError **err);

/**
 * vn_switch_net_set() - change a macvtap network's [mode] (only while no port is attached)
 * and/or [hairpin] (at once, under traffic) from @args (name, mode, hairpin).
 * Return: 0 or -errno (@err).
 */
int vn_switch_net_set(struct vn_switch *sw, JsonObject *args, GError **err);

/**
 * vn_switch_net_del() - remove a network without ports (its uplink, if any, goes with it).
 * Return: 0 or -errno (@err).
 */
int vn_switch_net_del(struct vn_switch *sw, const char *name, GError **err);

/**
 * vn_switch_port_add() - create, attach and publish a port from the `port.add` arguments
 * @args (name, kind, [net], [mac], [queues], [vm_uuid], [vm_name] and the kind's own, see
 * portkind.h). The arguments are kept (normalised) and persisted. Return: 0 or -errno (@err).
 */
int vn_switch_port_add(struct vn_switch *sw, JsonObject *args, GError **err);

/**
 * vn_switch_port_set() - change the L2 policy of port @args.name with the other members of
 * @args (see vn_policy_spec_merge() in policy.h); applied to the data path at once, while
 * traffic flows, and persisted with the port. Return: 0 or -errno (@err).
 */
int vn_switch_port_set(struct vn_switch *sw, JsonObject *args, GError **err);

/**
 * vn_switch_port_announce() - announce port @args.name's guest where it is now (after a
 * migration or a restore): a RARP for its MAC and gratuitous ARPs for its allowed IPv4
 * addresses, sent into its network as if the guest sent them, three times 0.5 s apart, at
 * once when its link is up, else from its next link-up (switch_announce.c).
 * Return: 0 or -errno (@err: no such port, no MAC).
 */
int vn_switch_port_announce(struct vn_switch *sw, JsonObject *args, GError **err);

/** vn_switch_port_del() - unpublish, flush its FDB entries, destroy. Return: 0 or -errno. */
int vn_switch_port_del(struct vn_switch *sw, const char *name, GError **err);

/**
 * vn_switch_vtep_add() / vn_switch_vtep_del() - a static entry of overlay @net's VTEP table:
 * @mac is behind remote VTEP @ip (`vtep add NET MAC IP`, `vtep del NET MAC`); saved.
 * Return: 0 or -errno (@err).
 */
int vn_switch_vtep_add(struct vn_switch *sw, const char *net, const char *mac, const char *ip,
		       GError **err);
int vn_switch_vtep_del(struct vn_switch *sw, const char *net, const char *mac, GError **err);

/**
 * vn_switch_json_vteps() - the VTEP tables of overlay @net (NULL: every overlay) as one
 * array of {net, mac, vni, remote, static, age} in @b. Return: 0 or -errno (@err).
 */
int vn_switch_json_vteps(struct vn_switch *sw, const char *net, JsonBuilder *b, GError **err);

/**
 * vn_switch_nat_forward() - `nat forward add|del NET ...` (@args: net, proto, external_port,
 * to) on a NAT network; saved. Return: 0, or -errno with @err.
 */
int vn_switch_nat_forward(struct vn_switch *sw, JsonObject *args, bool add, GError **err);

/**
 * vn_switch_nat_json() - the port forwards (or, with @conntrack, the tracked connections)
 * of NAT network @net (NULL: every one) as one array in @b. Return: 0, or -ENOENT.
 */
int vn_switch_nat_json(struct vn_switch *sw, const char *net, bool conntrack, JsonBuilder *b,
		       GError **err);

/** vn_switch_nat_flush() - `nat conntrack flush [NET]`: {"removed": N} in @b. */
int vn_switch_nat_flush(struct vn_switch *sw, const char *net, JsonBuilder *b, GError **err);

/** vn_switch_fdb_add() - static entry @mac -> @port in the port's network. Return: 0/-errno. */
int vn_switch_fdb_add(struct vn_switch *sw, const char *mac, const char *port, GError **err);

/**
 * vn_switch_fdb_flush() - drop learned and static entries of network @net (NULL: all).
 * Return: entries removed, or -errno (@err).
 */
int vn_switch_fdb_flush(struct vn_switch *sw, const char *net, GError **err);

/** vn_switch_tick() - periodic work (FDB aging). Called once a second. */
void vn_switch_tick(struct vn_switch *sw);

/* JSON views for the control protocol; each adds one value to @b. */
void vn_switch_json_nets(struct vn_switch *sw, JsonBuilder *b);
int vn_switch_json_net(struct vn_switch *sw, const char *name, JsonBuilder *b, GError **err);
void vn_switch_json_ports(struct vn_switch *sw, JsonBuilder *b);
int vn_switch_json_port(struct vn_switch *sw, const char *name, JsonBuilder *b, GError **err);
int vn_switch_json_fdb(struct vn_switch *sw, const char *net, JsonBuilder *b, GError **err);
/**
 * vn_switch_json_stats() - per-port totals (ledger base + data path), per-VM totals
 * (including removed ports still in the ledger), ledger and worker state; only port @port
 * or VM @vm when given. Return: 0 or -errno (@err).
 */
int vn_switch_json_stats(struct vn_switch *sw, const char *port, const char *vm, JsonBuilder *b,
			 GError **err);

/**
 * vn_switch_stats_reset() - forget the totals of VM @vm and/or port @port: entries of
 * removed ports leave the ledger, live ports start again from zero. Return: entries
 * reset, or -errno (@err).
 */
int vn_switch_stats_reset(struct vn_switch *sw, const char *vm, const char *port, GError **err);

/**
 * vn_switch_open_ledger() - read the accounting ledger at @path (call before restoring
 * ports, so that they continue their totals). A damaged file is renamed to
 * PATH.corrupt-TIME, reported, and a new ledger started.
 */
void vn_switch_open_ledger(struct vn_switch *sw, const char *path);

/**
 * vn_switch_trace() - the `trace` request: build the frame of @args (port, and frame (hex)
 * or src, dst, vlan, ip "SRC,DST", proto, sport, dport, len), run it through the pipeline
 * in dry-run mode (trace.h) as received on the port, and add {port, net, net_type, frame,
 * steps: [{step, verdict, reason}], truncated, destinations: [{port, vlan, tpid, tagged,
 * len, encap}], drops, verdict} to @b. Return: 0 or -errno (@err).
 */
int vn_switch_trace(struct vn_switch *sw, JsonObject *args, JsonBuilder *b, GError **err);

/** vn_switch_port_slot() - Return: the data-path slot of port @name, or -ENOENT. */
int vn_switch_port_slot(struct vn_switch *sw, const char *name);

/**
 * vn_switch_port_add_kind() - port.add of a port made by @kind, a kind vnicctl does not
 * offer (a benchmark's ring ports): @args as vn_switch_port_add() ("kind" is @kind's name),
 * without the network kind's join checks. Return: 0 or -errno (@err).
 */
struct vn_port_kind;
int vn_switch_port_add_kind(struct vn_switch *sw, JsonObject *args, const struct vn_port_kind *kind,
			    GError **err);

/** vn_switch_dp() - Return: the data path (NULL in validation-only mode). */
struct vn_dp *vn_switch_dp(struct vn_switch *sw);

/**
 * vn_switch_checkpoint() - write the ledger now: to PATH.latest-N before this returns (the
 * page cache: a crash of vnicd loses nothing), durable at PATH by the ledger's saver thread
 * (vnicd/fileio.h) soon after, so the control thread never waits for the disk. Return: 0 or
 * -EIO when PATH.latest-N could not be written (counted, logged; the durable save is still
 * made).
 */
int vn_switch_checkpoint(struct vn_switch *sw);

/** vn_switch_ledger_flush() - wait until the last checkpoint is durable. Return: 0 or -errno. */
int vn_switch_ledger_flush(struct vn_switch *sw);

/**
 * vn_switch_ledger_close() - wait for the ledger's last checkpoint to be durable and stop its
 * saver (vn_switch_free() does it too). Return: 0, or the -errno of that save (logged).
 */
int vn_switch_ledger_close(struct vn_switch *sw);

/**
 * vn_switch_metrics() - Prometheus text exposition of every ledger entry (per port, with
 * port, vm_uuid, vm_name labels) and per-VM sums. Return: the text (g_free it).
 */
char *vn_switch_metrics(struct vn_switch *sw);

/**
 * vn_switch_save() - write networks, ports and static FDB entries to @path atomically
 * (vn_file_write_atomic()). Return: 0 or -errno (@err).
 */
int vn_switch_save(struct vn_switch *sw, const char *path, GError **err);

/**
 * vn_switch_restore() - recreate what vn_switch_save() wrote, or the newer content of a
 * complete PATH.latest-N left by a vnicd that ended before saving it (which then replaces
 * @path; the PATH.latest-N files are removed). A missing file is not an
 * error; an unreadable one is kept aside as PATH.bad and reported. Items that fail are
 * logged and skipped. Return: 0 or -errno (@err).
 */
int vn_switch_restore(struct vn_switch *sw, const char *path, GError **err);

#endif

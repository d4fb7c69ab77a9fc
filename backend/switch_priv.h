/* SPDX-License-Identifier: MIT */
/*
 * The switch's insides, shared by its files (not a contract: include/vnicd/switch.h is):
 * switch.c (model, life cycle, publication), switch_json.c (JSON views), state.c
 * (persistence), switch_stats.c (totals, ledger glue) and metrics.c (Prometheus text).
 * Everything here runs on the control thread.
 */
#ifndef VNICD_SWITCH_PRIV_H
#define VNICD_SWITCH_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "vnicd/accounting.h"
#include "vnicd/net.h"
#include "vnicd/portkind.h"
#include "vnicd/switch.h"

#define DEFAULT_NET "br0"

struct sw_port {
	char *name, *net, *mac;
	const struct vn_port_kind *kind;
	JsonObject *args; /* the port.add arguments, normalised: what is persisted */
	unsigned queues;
	uint16_t slot;
	struct vn_port *port; /* NULL in validation-only mode (no data path) */
	struct vn_net *vnet;
	struct vn_port_counters base; /* counters of the slot when the port took it */
	struct vn_ledger_entry *acct; /* its totals across lives and restarts */
	bool internal;		      /* made by a network kind (a local VTEP): not saved, not
					 removable by users */
	bool ann_pending;	      /* announce at its next link-up (switch_announce.c) */
	uint8_t ann_rounds;	      /* announcement rounds still to send */
	gint64 ann_next;	      /* when the next one is due (monotonic us) */
	uint64_t announcements;	      /* rounds sent */
};

struct sw_static {
	char *mac, *port;
};

struct vn_switch {
	const struct vn_config *cfg;
	struct vn_dp *dp;
	struct rte_mempool *mp;
	GPtrArray *nets;    /* struct vn_net *, creation order */
	GPtrArray *ports;   /* struct sw_port *, creation order */
	GPtrArray *statics; /* struct sw_static *, persisted static FDB entries */
	struct sw_port *slots[VN_MAX_PORTS_HARD];
	bool reserved[VN_MAX_PORTS_HARD]; /* slots a network kind manages itself */
	struct vn_net_host host;	  /* what kinds may use (switch_net.c) */
	uint16_t next_net_id;
	char *state_file;
	int (*save)(struct vn_switch *sw, const char *path, GError **err); /* state.c's */
	struct vn_saver *saver; /* of state_file (vnicd/fileio.h) */
	uint64_t state_gen;	/* of the last state saved (its "generation") */
	bool restoring;
	struct vn_ledger *ledger;
	char *ledger_file;
	struct vn_saver *ledger_saver; /* of ledger_file: checkpoints off the control thread */
	char *ledger_recovered;	       /* where a damaged ledger was kept, if one was found */
	gint64 last_checkpoint;
	uint64_t checkpoints, checkpoint_failures;
	uint64_t ports_limit_hits, nets_limit_hits;
	GPtrArray *pending; /* struct sw_pending *: saved, not made yet (state_pending.c) */
	guint ann_timer;    /* GLib source of switch_announce.c while ports wait, or 0 */
};

/* Set *err (GError **err in scope) and return -@code from the calling function. */
#define SET_ERR(code, ...)                                                                         \
	do {                                                                                       \
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, __VA_ARGS__);                      \
		return -(code);                                                                    \
	} while (0)

/* Return: network @name of @sw, or NULL. */
static inline struct vn_net *find_net(struct vn_switch *sw, const char *name)
{
	for (guint i = 0; i < sw->nets->len; i++) {
		struct vn_net *n = sw->nets->pdata[i];
		if (strcmp(n->name, name) == 0)
			return n;
	}
	return NULL;
}

/* Return: port @name of @sw, or NULL. */
static inline struct sw_port *find_port(struct vn_switch *sw, const char *name)
{
	for (guint i = 0; i < sw->ports->len; i++) {
		struct sw_port *sp = sw->ports->pdata[i];
		if (strcmp(sp->name, name) == 0)
			return sp;
	}
	return NULL;
}

/* ---- switch.c: ports ---- */

/**
 * sw_port_add() - port.add with @args; @own: the kind when the switch makes the port itself
 * (an uplink), else NULL. Return: 0 or -errno (@err).
 */
int sw_port_add(struct vn_switch *sw, JsonObject *args, const struct vn_port_kind *own,
		GError **err);

/** sw_publish() - publish the staged slots to the workers. */
void sw_publish(struct vn_switch *sw);

/** sw_host_init() - fill in @sw->host (switch_net.c). */
void sw_host_init(struct vn_switch *sw);

/** sw_port_del() - unpublish, forget and destroy @sp; the network's uplink follows. */
void sw_port_del(struct vn_switch *sw, struct sw_port *sp);

/* ---- switch_announce.c ---- */

/** sw_announce_stop() - stop announcing (the switch goes away). */
void sw_announce_stop(struct vn_switch *sw);

/* ---- switch_net.c: networks and their uplinks ---- */

/** sw_net_members() - Return: the ports of @n as struct vn_net_member (g_array_unref it). */
GArray *sw_net_members(struct vn_switch *sw, struct vn_net *n);

/** sw_net_uplink_port() - Return: the uplink port of network @n, or NULL. */
struct sw_port *sw_net_uplink_port(struct vn_switch *sw, struct vn_net *n);

/** sw_net_sync_uplink() - tell @n's uplink which MACs to receive (or promiscuity). */
void sw_net_sync_uplink(struct vn_switch *sw, struct vn_net *n);

/**
 * sw_net_guest_mtu() - the largest MTU a guest of @n may have: an overlay's guest MTU, a
 * nat network's --mtu, else the MTU of its uplink's interface. Return: it, or 0 (no limit
 * known).
 */
unsigned sw_net_guest_mtu(struct vn_switch *sw, struct vn_net *n);

/** sw_uplink_mac_sync() - uplink port @sp (may be NULL) shows the MAC it has now. */
void sw_uplink_mac_sync(struct sw_port *sp);

/** sw_json_net_uplink() - the uplink members of network @n's open JSON object in @b. */
void sw_json_net_uplink(struct vn_switch *sw, struct vn_net *n, JsonBuilder *b, bool detail);

/* ---- state.c ---- */

/**
 * sw_changed() - something persisted changed: save the state file now (not while
 * restoring, nor without a state file); a failure is logged.
 */
void sw_changed(struct vn_switch *sw);

/**
 * sw_restore_uplink_settings() - the `port set` settings saved with uplink port @po, applied
 * to the uplink its network made. Return: 0 or -errno (@err).
 */
int sw_restore_uplink_settings(struct vn_switch *sw, JsonObject *po, GError **err);

/* ---- state_pending.c: saved objects that could not be made at start-up ---- */

enum sw_pending_what { SW_PEND_NET, SW_PEND_UPLINK, SW_PEND_PORT, SW_PEND_FDB };

/** sw_pending_init() - an empty set of pending objects in @sw. */
void sw_pending_init(struct vn_switch *sw);

/**
 * sw_pending_add() - keep saved object @args (copied) that failed with @reason: saved
 * again, shown as failed, retried with back-off (1 s doubling to 30 s).
 */
void sw_pending_add(struct vn_switch *sw, enum sw_pending_what what, JsonObject *args,
		    const char *reason);

/** sw_pending_retry() - retry what is due (networks first); saves the state if one was made. */
void sw_pending_retry(struct vn_switch *sw);

/** sw_pending_del() - forget pending @name (and what was kept for it). Return: 0, -ENOENT. */
int sw_pending_del(struct vn_switch *sw, enum sw_pending_what what, const char *name);

/** sw_pending_ports_on() - Return: how many pending ports belong to network @net. */
unsigned sw_pending_ports_on(struct vn_switch *sw, const char *net);

/** sw_pending_persist() - the saved objects of @what pending, into the open array in @b. */
void sw_pending_persist(struct vn_switch *sw, enum sw_pending_what what, JsonBuilder *b);

/** sw_pending_json_list() - pending networks or ports as `net list`/`port list` rows. */
void sw_pending_json_list(struct vn_switch *sw, enum sw_pending_what what, JsonBuilder *b);

/** sw_pending_json_show() - `show` of pending @name into @b. Return: false if none. */
bool sw_pending_json_show(struct vn_switch *sw, enum sw_pending_what what, const char *name,
			  JsonBuilder *b);

/* ---- switch_stats.c ---- */

/** sw_port_live() - counters of @sp's current life (since it took its slot) into *@out. */
void sw_port_live(struct vn_switch *sw, struct sw_port *sp, struct vn_port_counters *out);

/**
 * struct sw_totals - what sw_entry_totals() needs: the switch and an index of its live
 * ports by ledger entry, built once (O(ports)) so that totals of every entry cost O(ledger)
 * rather than O(ledger x ports). Valid while no port is added or removed.
 */
struct sw_totals {
	struct vn_switch *sw;
	GHashTable *port_of; /* struct vn_ledger_entry * -> struct sw_port * (borrowed) */
};

/** sw_totals_init() - index the live ports of @sw into @t. Free with sw_totals_clear(). */
void sw_totals_init(struct sw_totals *t, struct vn_switch *sw);

/** sw_totals_clear() - free the index of @t. */
void sw_totals_clear(struct sw_totals *t);

/**
 * sw_entry_totals() - totals of ledger entry @e (@ud: a struct sw_totals): its live port's
 * totals, or what the ledger holds for a removed port. The callback of vn_ledger_write().
 */
void sw_entry_totals(struct vn_ledger_entry *e, struct vn_port_counters *out, void *ud);

/** sw_json_counters() - every total of port @sp as members of the open object in @b. */
void sw_json_counters(struct vn_switch *sw, struct sw_port *sp, JsonBuilder *b);

/* metrics.c: append label @k="@v" to @s, the value escaped (backslash, quote, newline), after
 * a comma unless @first. */
void sw_prom_label(GString *s, const char *k, const char *v, bool first);

/* metrics_gauges.c: the Prometheus families besides the ledger's, appended to @s. */
void sw_metrics_gauges(struct vn_switch *sw, GString *s);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Accounting ledger: traffic totals per (VM, port) that survive port removal and daemon
 * restarts. The switch keeps one entry per port it ever had (keyed by VM UUID and port
 * name); an entry's base holds the totals from before the port's current life, the data
 * path's counters since then are added on top. The ledger file is written atomically at
 * every checkpoint and at shutdown. Thread: control.
 */
#ifndef VNICD_ACCOUNTING_H
#define VNICD_ACCOUNTING_H

#include <stdbool.h>

#include <glib.h>

#include "vnicd/stats.h"

/** struct vn_ledger_entry - totals of one port of one VM. */
struct vn_ledger_entry {
	char *port;
	char *vm_uuid;		      /* "" when the port has no VM label */
	char *vm_name;		      /* "" when unknown */
	struct vn_port_counters base; /* totals up to the start of the port's current life */
	bool live;		      /* a port of that name and VM exists now */
	gint64 updated;		      /* wall-clock seconds of the last change */
};

struct vn_ledger;

/** vn_ledger_new() - an empty ledger holding at most @max_entries entries. */
struct vn_ledger *vn_ledger_new(unsigned max_entries);

/** vn_ledger_free() - free @l and its entries. */
void vn_ledger_free(struct vn_ledger *l);

/**
 * vn_ledger_attach() - the entry of (@vm_uuid, @port), created if new, marked live; its
 * vm_name is updated when @vm_name is given. When the ledger is full the least recently
 * updated entry that is not live is evicted (and counted); if every entry is live the
 * limit is exceeded rather than losing a live port's totals (counted as a limit hit).
 * Return: the entry (owned by the ledger).
 */
struct vn_ledger_entry *vn_ledger_attach(struct vn_ledger *l, const char *vm_uuid, const char *port,
					 const char *vm_name);

/** vn_ledger_detach() - the port is gone: fold @live into the entry's base, mark not live. */
void vn_ledger_detach(struct vn_ledger *l, struct vn_ledger_entry *e,
		      const struct vn_port_counters *live);

/** vn_ledger_remove() - delete entry @e (it must not be live). */
void vn_ledger_remove(struct vn_ledger *l, struct vn_ledger_entry *e);

/** vn_ledger_entries() - Return: the entries in creation order (array owned by @l). */
GPtrArray *vn_ledger_entries(struct vn_ledger *l);

/** struct vn_ledger_stats - the ledger's own counters. */
struct vn_ledger_stats {
	unsigned entries, max_entries;
	uint64_t evictions;  /* detached entries dropped to make room */
	uint64_t limit_hits; /* live entries created beyond the limit */
};

/** vn_ledger_get_stats() - copy the counters. */
void vn_ledger_get_stats(const struct vn_ledger *l, struct vn_ledger_stats *st);

/**
 * vn_ledger_text() - every entry with its totals as the ledger file's JSON text (@len bytes;
 * g_free() it), with the next generation: the newer of two texts has the higher one.
 * @totals computes an entry's totals (base plus live counters).
 */
char *vn_ledger_text(struct vn_ledger *l,
		     void (*totals)(struct vn_ledger_entry *e, struct vn_port_counters *out,
				    void *ud),
		     void *ud, gsize *len);

/** vn_ledger_generation_at_least() - the next text's generation exceeds @gen. */
void vn_ledger_generation_at_least(struct vn_ledger *l, gint64 gen);

/**
 * vn_ledger_write() - write every entry with its totals to @path atomically (temporary
 * file, fsync, rename, fsync of the directory). @totals computes an entry's totals (base
 * plus live counters). Return: 0, or -errno with @err set.
 */
int vn_ledger_write(struct vn_ledger *l, const char *path,
		    void (*totals)(struct vn_ledger_entry *e, struct vn_port_counters *out,
				   void *ud),
		    void *ud, GError **err);

/**
 * vn_ledger_read() - replace the entries of @l with those in @path (all not live; their
 * totals become their base). Return: 0, -ENOENT when there is no file, or -EINVAL with
 * @err describing why the file is unusable (nothing is changed then).
 */
int vn_ledger_read(struct vn_ledger *l, const char *path, GError **err);

/** vn_uuid_valid() - Return: true if @s is a UUID in the 8-4-4-4-12 hex form. */
bool vn_uuid_valid(const char *s);

#endif

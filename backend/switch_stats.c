/* SPDX-License-Identifier: MIT */
/* The switch's accounting side: port totals across lives, `stats` views, the ledger's file. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_mempool.h>

#include "switch_priv.h"
#include "vnicd/fileio.h"
#include "vnicd/args.h"
#include "vnicd/log.h"

void sw_port_live(struct vn_switch *sw, struct sw_port *sp, struct vn_port_counters *out)
{
	memset(out, 0, sizeof(*out));
	if (!sw->dp)
		return;
	vn_dp_port_counters(sw->dp, sp->slot, out);
	vn_counters_sub(out, &sp->base);
}

/* Totals of a port: what the ledger held before its current life, plus that life. */
static void port_totals(struct vn_switch *sw, struct sw_port *sp, struct vn_port_counters *out)
{
	sw_port_live(sw, sp, out);
	vn_counters_add(out, &sp->acct->base);
}

void sw_totals_init(struct sw_totals *t, struct vn_switch *sw)
{
	t->sw = sw;
	t->port_of = g_hash_table_new(g_direct_hash, g_direct_equal);
	for (guint i = 0; i < sw->ports->len; i++) {
		struct sw_port *sp = sw->ports->pdata[i];
		if (sp->acct)
			g_hash_table_insert(t->port_of, sp->acct, sp);
	}
}

void sw_totals_clear(struct sw_totals *t)
{
	g_clear_pointer(&t->port_of, g_hash_table_unref);
}

void sw_entry_totals(struct vn_ledger_entry *e, struct vn_port_counters *out, void *ud)
{
	struct sw_totals *t = ud;
	struct sw_port *sp = e->live ? g_hash_table_lookup(t->port_of, e) : NULL;

	if (sp)
		port_totals(t->sw, sp, out);
	else
		*out = e->base;
}

/* Every counter of @c as members of the open object: flat fields, then "drops" {reason: n}. */
static void json_counter_members(JsonBuilder *b, const struct vn_port_counters *c)
{
	const struct vn_counter_field *f;
	size_t nf;
	uint64_t total = 0;

	f = vn_counter_fields(&nf);
	for (size_t k = 0; k < nf; k++)
		if (strncmp(f[k].name, "drops.", 6) != 0)
			vn_json_int(b, f[k].name, (gint64)vn_counter_get(c, &f[k]));
	json_builder_set_member_name(b, "drops");
	json_builder_begin_object(b);
	for (int r = 0; r < VN_DROP__MAX; r++) {
		vn_json_int(b, vn_drop_name(r), (gint64)c->drops[r]);
		total += c->drops[r];
	}
	json_builder_end_object(b);
	vn_json_int(b, "drops_total", (gint64)total);
}

void sw_json_counters(struct vn_switch *sw, struct sw_port *sp, JsonBuilder *b)
{
	struct vn_port_counters c;

	port_totals(sw, sp, &c);
	json_counter_members(b, &c);
}

static void json_vm(struct sw_totals *t, const char *uuid, JsonBuilder *b)
{
	GPtrArray *entries = vn_ledger_entries(t->sw->ledger);
	struct vn_port_counters sum = {0};
	const char *name = "";

	json_builder_begin_object(b);
	vn_json_str(b, "vm_uuid", uuid);
	json_builder_set_member_name(b, "ports");
	json_builder_begin_array(b);
	for (guint i = 0; i < entries->len; i++) {
		struct vn_ledger_entry *e = entries->pdata[i];
		struct vn_port_counters c;
		if (strcmp(e->vm_uuid, uuid) != 0)
			continue;
		sw_entry_totals(e, &c, t);
		vn_counters_add(&sum, &c);
		if (*e->vm_name)
			name = e->vm_name;
		json_builder_add_string_value(b, e->port);
	}
	json_builder_end_array(b);
	vn_json_str(b, "vm_name", name);
	json_counter_members(b, &sum);
	json_builder_end_object(b);
}

/* Member "ledger": the ledger's file, size, evictions and checkpoints. */
static void json_ledger(struct vn_switch *sw, JsonBuilder *b)
{
	struct vn_ledger_stats ls;
	struct vn_saver_stats ss = {0};

	vn_ledger_get_stats(sw->ledger, &ls);
	if (sw->ledger_saver)
		vn_saver_stats(sw->ledger_saver, &ss);
	json_builder_set_member_name(b, "ledger");
	json_builder_begin_object(b);
	vn_json_str(b, "path", sw->ledger_file);
	vn_json_int(b, "entries", ls.entries);
	vn_json_int(b, "max_entries", ls.max_entries);
	vn_json_int(b, "evictions", (gint64)ls.evictions);
	vn_json_int(b, "limit_hits", (gint64)ls.limit_hits);
	vn_json_int(b, "checkpoint_interval", sw->cfg->checkpoint_interval);
	vn_json_int(b, "last_checkpoint", sw->last_checkpoint);
	vn_json_int(b, "checkpoints", (gint64)sw->checkpoints);
	vn_json_int(b, "checkpoint_failures", (gint64)(sw->checkpoint_failures + ss.failures));
	vn_json_str(b, "recovered_from", sw->ledger_recovered);
	json_builder_end_object(b);
}

/* Member "state": the state file's durable saves (vnicd/fileio.h, the saver). */
static void json_state(struct vn_switch *sw, JsonBuilder *b)
{
	struct vn_saver_stats st = {0};

	if (sw->saver)
		vn_saver_stats(sw->saver, &st);
	json_builder_set_member_name(b, "state");
	json_builder_begin_object(b);
	vn_json_str(b, "path", sw->state_file);
	vn_json_int(b, "changes", (gint64)st.puts);
	vn_json_int(b, "saves", (gint64)st.saves);
	vn_json_int(b, "coalesced", (gint64)st.coalesced);
	vn_json_int(b, "save_failures", (gint64)st.failures);
	vn_json_int(b, "latest_failures", (gint64)st.latest_failures);
	json_builder_end_object(b);
}

/* Member "queues" of worker @w: the rx queues it polls in table @t (NULL: none yet), with
 * their loads over the last sampled interval. */
static void json_queues(struct vn_dp *dp, const struct vn_dp_table *t, unsigned w, JsonBuilder *b)
{
	json_builder_set_member_name(b, "queues");
	json_builder_begin_array(b);
	for (unsigned i = 0; t && w < G_N_ELEMENTS(t->rxqs) && i < t->nr_rxqs[w]; i++) {
		const struct vn_dp_rxq *r = &t->rxqs[w][i];
		double fps, load = vn_dp_rxq_load(dp, r->port->slot, r->q, &fps);
		json_builder_begin_object(b);
		vn_json_str(b, "port", r->port->name);
		vn_json_int(b, "queue", r->q);
		json_builder_set_member_name(b, "load");
		json_builder_add_double_value(b, load);
		json_builder_set_member_name(b, "frames_ps");
		json_builder_add_double_value(b, fps);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
}

/* Member "rxq": how rx queues are placed on the workers and what re-balancing did. */
static void json_rxq(struct vn_switch *sw, JsonBuilder *b)
{
	struct vn_dp_rxq_stats st;

	vn_dp_rxq_stats(sw->dp, &st);
	json_builder_set_member_name(b, "rxq");
	json_builder_begin_object(b);
	vn_json_str(b, "assign", sw->cfg->rxq_assign);
	vn_json_int(b, "rebalance_interval_ms", sw->cfg->rxq_rebalance_interval_ms);
	vn_json_int(b, "rebalance_threshold", sw->cfg->rxq_rebalance_threshold);
	vn_json_int(
	    b, "interval_ms",
	    (gint64)(st.interval_cycles * 1000 / (rte_get_tsc_hz() ? rte_get_tsc_hz() : 1)));
	vn_json_int(b, "rebalances", (gint64)st.rebalances);
	vn_json_int(b, "queues_moved", (gint64)st.queues_moved);
	vn_json_int(b, "handover_timeouts", (gint64)st.handover_timeouts);
	json_builder_end_object(b);
}

/* Member "workers": each data-path worker's loop counters and the queues it polls. */
static void json_workers(struct vn_switch *sw, JsonBuilder *b)
{
	const struct vn_dp_table *t = vn_dp_table(sw->dp);

	json_builder_set_member_name(b, "workers");
	json_builder_begin_array(b);
	for (unsigned w = 0; w < vn_dp_nr_workers(sw->dp); w++) {
		struct vn_dp_worker_stats ws;
		vn_dp_worker_stats(sw->dp, w, &ws);
		json_builder_begin_object(b);
		vn_json_int(b, "id", w);
		vn_json_int(b, "loops", (gint64)ws.loops);
		vn_json_int(b, "busy_loops", (gint64)ws.busy);
		vn_json_int(b, "busy_cycles", (gint64)ws.busy_cycles);
		vn_json_int(b, "frames", (gint64)ws.frames);
		vn_json_int(b, "stalls", (gint64)ws.stalls);
		vn_json_int(b, "stall_cycles", (gint64)ws.stall_cycles);
		vn_json_int(b, "tsc_hz", (gint64)rte_get_tsc_hz());
		vn_json_int(b, "sleeps", (gint64)ws.sleeps);
		vn_json_int(b, "wake_errors", (gint64)ws.wake_errors);
		json_builder_set_member_name(b, "load");
		json_builder_add_double_value(b, vn_dp_worker_load(sw->dp, w));
		vn_json_int(b, "poll_window_us", vn_dp_worker_poll_window_us(sw->dp, w));
		json_queues(sw->dp, t, w, b);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_rxq(sw, b);
}

int vn_switch_json_stats(struct vn_switch *sw, const char *port, const char *vm, JsonBuilder *b,
			 GError **err)
{
	GPtrArray *entries = vn_ledger_entries(sw->ledger);
	g_autoptr(GPtrArray) vms = g_ptr_array_new();
	struct sw_port *only = NULL;
	struct sw_totals t;

	if (port && !(only = find_port(sw, port)))
		SET_ERR(ENOENT, "no port '%s'", port);
	if (vm) {
		bool known = false;
		for (guint i = 0; i < entries->len && !known; i++)
			known =
			    strcmp(((struct vn_ledger_entry *)entries->pdata[i])->vm_uuid, vm) == 0;
		if (!*vm || !known)
			SET_ERR(ENOENT, "no VM '%s' in the ledger", vm);
	}
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "ports");
	json_builder_begin_array(b);
	for (guint i = 0; i < sw->ports->len; i++) {
		struct sw_port *sp = sw->ports->pdata[i];
		if ((only && sp != only) || (vm && strcmp(sp->acct->vm_uuid, vm) != 0))
			continue;
		json_builder_begin_object(b);
		vn_json_str(b, "name", sp->name);
		vn_json_str(b, "net", sp->net);
		vn_json_str(b, "vm_uuid", *sp->acct->vm_uuid ? sp->acct->vm_uuid : NULL);
		vn_json_str(b, "vm_name", *sp->acct->vm_name ? sp->acct->vm_name : NULL);
		sw_json_counters(sw, sp, b);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "vms");
	json_builder_begin_array(b);
	sw_totals_init(&t, sw);
	for (guint i = 0; i < entries->len; i++) {
		struct vn_ledger_entry *e = entries->pdata[i];
		bool seen = false;
		if (!*e->vm_uuid || (vm && strcmp(e->vm_uuid, vm) != 0))
			continue;
		for (guint k = 0; k < vms->len && !seen; k++)
			seen = strcmp(vms->pdata[k], e->vm_uuid) == 0;
		if (seen)
			continue;
		g_ptr_array_add(vms, e->vm_uuid);
		json_vm(&t, e->vm_uuid, b);
	}
	sw_totals_clear(&t);
	json_builder_end_array(b);
	json_ledger(sw, b);
	json_state(sw, b);
	if (sw->dp)
		json_workers(sw, b);
	json_builder_set_member_name(b, "limits");
	json_builder_begin_object(b);
	vn_json_int(b, "max_ports", sw->cfg->max_ports);
	vn_json_int(b, "ports_limit_hits", (gint64)sw->ports_limit_hits);
	vn_json_int(b, "max_nets", sw->cfg->max_nets);
	vn_json_int(b, "nets_limit_hits", (gint64)sw->nets_limit_hits);
	if (sw->mp) { /* packet buffers (in use: outside the pool, workers' caches counted free) */
		vn_json_int(b, "mbufs", sw->mp->size);
		vn_json_int(b, "mbufs_in_use", rte_mempool_in_use_count(sw->mp));
	}
	json_builder_end_object(b);
	json_builder_end_object(b);
	return 0;
}

int vn_switch_stats_reset(struct vn_switch *sw, const char *vm, const char *port, GError **err)
{
	GPtrArray *entries = vn_ledger_entries(sw->ledger);
	struct sw_totals t;
	int n = 0;

	if (!vm && !port)
		SET_ERR(EINVAL, "stats reset needs --vm UUID or --port NAME");
	if (port && !find_port(sw, port)) {
		bool known = false;
		for (guint i = 0; i < entries->len && !known; i++)
			known =
			    strcmp(((struct vn_ledger_entry *)entries->pdata[i])->port, port) == 0;
		if (!known)
			SET_ERR(ENOENT, "no port '%s' in the ledger", port);
	}
	sw_totals_init(&t, sw);
	for (guint i = 0; i < entries->len;) {
		struct vn_ledger_entry *e = entries->pdata[i];
		struct sw_port *sp;
		if ((vm && strcmp(e->vm_uuid, vm) != 0) || (port && strcmp(e->port, port) != 0)) {
			i++;
			continue;
		}
		n++;
		sp = e->live ? g_hash_table_lookup(t.port_of, e) : NULL;
		if (sp) { /* a live port starts again from zero */
			memset(&e->base, 0, sizeof(e->base));
			if (sw->dp)
				vn_dp_port_counters(sw->dp, sp->slot, &sp->base);
			i++;
		} else {
			vn_ledger_remove(sw->ledger, e);
		}
	}
	sw_totals_clear(&t);
	if (vm && n == 0)
		SET_ERR(ENOENT, "no VM '%s' in the ledger", vm);
	VN_INFO("accounting reset for %s%s%s%s: %d entr%s", vm ? "VM " : "", vm ? vm : "",
		port ? " port " : "", port ? port : "", n, n == 1 ? "y" : "ies");
	vn_switch_checkpoint(sw);
	return n;
}

void vn_switch_open_ledger(struct vn_switch *sw, const char *path)
{
	g_autoptr(GError) err = NULL;
	gint64 latest;
	int rc;

	vn_switch_ledger_close(sw);
	g_free(sw->ledger_file);
	sw->ledger_file = g_strdup(path);
	latest = vn_saver_take_latest(path, "accounting ledger");
	rc = vn_ledger_read(sw->ledger, path, &err);
	if (rc == -ENOENT) {
		VN_INFO("no accounting ledger at %s: starting a new one", path);
	} else if (rc < 0) {
		g_autofree char *keep = g_strdup_printf("%s.corrupt-%" G_GINT64_FORMAT, path,
							g_get_real_time() / G_USEC_PER_SEC);
		if (rename(path, keep) != 0)
			VN_ERR("cannot keep the damaged ledger as %s: %s", keep, g_strerror(errno));
		VN_ERR("accounting ledger %s is damaged (%s): kept as %s, starting a new ledger",
		       path, err->message, keep);
		g_free(sw->ledger_recovered);
		sw->ledger_recovered = g_steal_pointer(&keep);
	} else {
		VN_INFO("accounting ledger %s: %u entr%s restored", path,
			vn_ledger_entries(sw->ledger)->len,
			vn_ledger_entries(sw->ledger)->len == 1 ? "y" : "ies");
	}
	vn_ledger_generation_at_least(sw->ledger, latest); /* this run's texts are newer */
	sw->ledger_saver = vn_saver_new(path);
}

int vn_switch_ledger_flush(struct vn_switch *sw)
{
	return sw->ledger_saver ? vn_saver_flush(sw->ledger_saver) : 0;
}

int vn_switch_ledger_close(struct vn_switch *sw)
{
	int rc = vn_saver_free(g_steal_pointer(&sw->ledger_saver));

	if (rc < 0)
		VN_ERR("accounting ledger %s: the last checkpoint was not saved: %s",
		       sw->ledger_file, g_strerror(-rc));
	return rc;
}

int vn_switch_checkpoint(struct vn_switch *sw)
{
	g_autoptr(GError) err = NULL;
	struct sw_totals t;
	int rc;

	if (!sw->ledger_file)
		return 0;
	sw_totals_init(&t, sw);
	if (sw->ledger_saver) { /* to PATH.latest-N now, durable by the saver's thread */
		gsize len = 0;
		char *text = vn_ledger_text(sw->ledger, sw_entry_totals, &t, &len);
		rc = vn_saver_put(sw->ledger_saver, text, len, &err);
	} else {
		rc = vn_ledger_write(sw->ledger, sw->ledger_file, sw_entry_totals, &t, &err);
	}
	sw_totals_clear(&t);
	if (rc < 0) {
		sw->checkpoint_failures++;
		VN_LOG_RL(VN_LOG_ERR, "accounting checkpoint failed: %s", err->message);
		return -EIO;
	}
	sw->checkpoints++;
	sw->last_checkpoint = g_get_real_time() / G_USEC_PER_SEC;
	return 0;
}

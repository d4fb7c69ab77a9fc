/* SPDX-License-Identifier: MIT */
/* Prometheus families besides the ledger's: port links, workers, tables and their limits. */
#include <string.h>

#include <rte_cycles.h>

#include "switch_priv.h"
#include "vnicd-config.h"
#include "vnicd/datapath.h"
#include "vnicd/log.h"

/* "# HELP NAME HELP" and "# TYPE NAME TYPE" of one family. */
static void family(GString *s, const char *name, const char *type, const char *help)
{
	g_string_append_printf(s, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample "NAME{K="V"} VALUE" with one label (@k NULL: none). */
static void sample1(GString *s, const char *name, const char *k, const char *v, double value)
{
	g_string_append(s, name);
	if (k) {
		g_string_append_c(s, '{');
		sw_prom_label(s, k, v, true);
		g_string_append_c(s, '}');
	}
	g_string_append_printf(s, " %.17g\n", value);
}

/* A family of one unlabelled sample. */
static void scalar(GString *s, const char *name, const char *type, const char *help, double v)
{
	family(s, name, type, help);
	sample1(s, name, NULL, NULL, v);
}

/* vnicd_port_up: each port's link. */
static void ports_up(struct vn_switch *sw, GString *s)
{
	family(s, "vnicd_port_up", "gauge",
	       "Whether the port's link is up (1) or down (0): a guest connected, a TAP "
	       "device up, an uplink with carrier");
	for (guint i = 0; i < sw->ports->len; i++) {
		struct sw_port *sp = sw->ports->pdata[i];
		bool up = sp->port && sp->port->ops->link_up(sp->port);

		g_string_append(s, "vnicd_port_up{");
		sw_prom_label(s, "port", sp->name, true);
		sw_prom_label(s, "net", sp->net, false);
		sw_prom_label(s, "kind", sp->kind->name, false);
		g_string_append_printf(s, "} %d\n", up ? 1 : 0);
	}
}

/* The previous scrape's worker samples: vnicd_worker_busy_ratio is the share since then. */
static struct {
	uint64_t loops, busy_cycles;
	gint64 at; /* monotonic µs, 0: none yet */
	double ratio;
} prev_ws[16];

/* vnicd_worker_*: each data-path worker's loop counters, busy share and rx queues. */
static void workers(struct vn_switch *sw, GString *s)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} ctr[] = {
	    {"vnicd_worker_loops_total", "Poll iterations of the worker",
	     offsetof(struct vn_dp_worker_stats, loops)},
	    {"vnicd_worker_busy_loops_total", "Poll iterations that moved at least one frame",
	     offsetof(struct vn_dp_worker_stats, busy)},
	    {"vnicd_worker_frames_total", "Frames the worker received from its rx queues",
	     offsetof(struct vn_dp_worker_stats, frames)},
	    {"vnicd_worker_sleeps_total", "Times the worker slept for lack of work",
	     offsetof(struct vn_dp_worker_stats, sleeps)},
	    {"vnicd_worker_stalls_total",
	     "Busy iterations over 500 us: the worker was descheduled (its core is shared)",
	     offsetof(struct vn_dp_worker_stats, stalls)},
	};
	unsigned nw = sw->dp ? vn_dp_nr_workers(sw->dp) : 0;
	const struct vn_dp_table *t = sw->dp ? vn_dp_table(sw->dp) : NULL;
	struct vn_dp_worker_stats ws[16];
	double hz = (double)rte_get_tsc_hz();
	gint64 now = g_get_monotonic_time();
	char id[16];

	nw = nw > 16 ? 16 : nw;
	for (unsigned w = 0; w < nw; w++)
		vn_dp_worker_stats(sw->dp, w, &ws[w]);
	for (size_t k = 0; k < G_N_ELEMENTS(ctr); k++) {
		family(s, ctr[k].name, "counter", ctr[k].help);
		for (unsigned w = 0; w < nw; w++) {
			snprintf(id, sizeof(id), "%u", w);
			sample1(s, ctr[k].name, "worker", id,
				(double)*(const uint64_t *)((const char *)&ws[w] + ctr[k].off));
		}
	}
	family(s, "vnicd_worker_busy_seconds_total", "counter",
	       "Seconds the worker spent in iterations that moved frames");
	for (unsigned w = 0; w < nw; w++) {
		snprintf(id, sizeof(id), "%u", w);
		sample1(s, "vnicd_worker_busy_seconds_total", "worker", id,
			hz > 0 ? (double)ws[w].busy_cycles / hz : 0);
	}
	family(s, "vnicd_worker_busy_ratio", "gauge",
	       "Share of time the worker was busy (0..1) since the previous scrape, at least "
	       "one second before");
	for (unsigned w = 0; w < nw; w++) {
		double dt = (double)(now - prev_ws[w].at) / 1e6;

		if (!prev_ws[w].at || dt >= 1.0) {
			if (prev_ws[w].at && hz > 0)
				prev_ws[w].ratio =
				    MIN(1.0, (double)(ws[w].busy_cycles - prev_ws[w].busy_cycles) /
						 hz / dt);
			prev_ws[w].at = now;
			prev_ws[w].busy_cycles = ws[w].busy_cycles;
			prev_ws[w].loops = ws[w].loops;
		}
		snprintf(id, sizeof(id), "%u", w);
		sample1(s, "vnicd_worker_busy_ratio", "worker", id, prev_ws[w].ratio);
	}
	family(s, "vnicd_worker_rx_queues", "gauge", "Port rx queues the worker polls");
	for (unsigned w = 0; w < nw; w++) {
		snprintf(id, sizeof(id), "%u", w);
		sample1(s, "vnicd_worker_rx_queues", "worker", id,
			t && w < t->nr_workers ? t->nr_rxqs[w] : 0);
	}
}

/* Return: integer member @k of object member @o of @obj (NULL @o: of @obj), 0 when absent. */
static gint64 jint(JsonObject *obj, const char *o, const char *k)
{
	JsonNode *n;

	if (o) {
		n = json_object_get_member(obj, o);
		if (!n || !JSON_NODE_HOLDS_OBJECT(n))
			return 0;
		obj = json_node_get_object(n);
	}
	n = json_object_get_member(obj, k);
	return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_INT64
		   ? json_node_get_int(n)
		   : 0;
}

/* Each network as `net show --json` describes it (the same numbers, never two sources). */
static GPtrArray *nets_json(struct vn_switch *sw)
{
	GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify)json_node_unref);

	for (guint i = 0; i < sw->nets->len; i++) {
		struct vn_net *n = sw->nets->pdata[i];
		g_autoptr(JsonBuilder) b = json_builder_new();
		JsonNode *root;

		if (vn_switch_json_net(sw, n->name, b, NULL) < 0)
			continue;
		root = json_builder_get_root(b);
		if (root && JSON_NODE_HOLDS_OBJECT(root))
			g_ptr_array_add(a, root);
		else if (root)
			json_node_unref(root);
	}
	return a;
}

/* vnicd_net_fdb_*: each network's forwarding database and its limit. */
static void fdbs(GPtrArray *nets, GString *s)
{
	static const struct {
		const char *name, *type, *key, *help;
	} f[] = {
	    {"vnicd_net_fdb_entries", "gauge", "entries", "MAC addresses in the network's FDB"},
	    {"vnicd_net_fdb_max", "gauge", "max", "FDB entries the network may hold (fdb_max)"},
	    {"vnicd_net_fdb_learned_total", "counter", "learned", "MAC addresses learned"},
	    {"vnicd_net_fdb_moved_total", "counter", "moved",
	     "MAC addresses moved to another port"},
	    {"vnicd_net_fdb_aged_total", "counter", "aged", "MAC addresses aged out"},
	    {"vnicd_net_fdb_limit_hits_total", "counter", "limit_hits",
	     "MAC addresses not learned because the FDB was full"},
	};

	for (size_t k = 0; k < G_N_ELEMENTS(f); k++) {
		family(s, f[k].name, f[k].type, f[k].help);
		for (guint i = 0; i < nets->len; i++) {
			JsonObject *o = json_node_get_object(nets->pdata[i]);

			if (!json_object_has_member(o, "fdb"))
				continue;
			g_string_append_printf(s, "%s{", f[k].name);
			sw_prom_label(s, "net", json_object_get_string_member(o, "name"), true);
			sw_prom_label(s, "type", json_object_get_string_member(o, "type"), false);
			g_string_append_printf(s, "} %" G_GINT64_FORMAT "\n",
					       jint(o, "fdb", f[k].key));
		}
	}
}

/* Return: array member @k of @o, or NULL. */
static JsonArray *jarr(JsonObject *o, const char *k)
{
	JsonNode *n = json_object_get_member(o, k);

	return n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

/*
 * Family @name (a gauge, @help): per network of @nets with an array member @member, how many
 * of its elements have each "state" of @states (@n of them).
 */
static void by_state(GPtrArray *nets, GString *s, const char *name, const char *help,
		     const char *member, const char *const *states, size_t n)
{
	family(s, name, "gauge", help);
	for (guint i = 0; i < nets->len; i++) {
		JsonObject *o = json_node_get_object(nets->pdata[i]);
		JsonArray *a = jarr(o, member);

		for (size_t st = 0; a && st < n; st++) {
			unsigned count = 0;
			for (guint k = 0; k < json_array_get_length(a); k++) {
				JsonObject *e = json_array_get_object_element(a, k);
				count += g_strcmp0(json_object_get_string_member_with_default(
						       e, "state", ""),
						   states[st]) == 0;
			}
			g_string_append_printf(s, "%s{", name);
			sw_prom_label(s, "net", json_object_get_string_member(o, "name"), true);
			sw_prom_label(s, "state", states[st], false);
			g_string_append_printf(s, "} %u\n", count);
		}
	}
}

/* vnicd_overlay_tunnel_drops_total: each overlay's dropped tunnel frames, by reason. */
static void tunnel_drops(GPtrArray *nets, GString *s)
{
	family(s, "vnicd_overlay_tunnel_drops_total", "counter",
	       "Tunnel frames the overlay dropped, by reason");
	for (guint i = 0; i < nets->len; i++) {
		JsonObject *o = json_node_get_object(nets->pdata[i]);
		JsonNode *d = json_object_get_member(o, "tunnel_drops");
		g_autoptr(GList) keys = NULL;

		if (!d || !JSON_NODE_HOLDS_OBJECT(d))
			continue;
		keys = json_object_get_members(json_node_get_object(d));
		for (GList *l = keys; l; l = l->next) {
			g_string_append(s, "vnicd_overlay_tunnel_drops_total{");
			sw_prom_label(s, "net", json_object_get_string_member(o, "name"), true);
			sw_prom_label(s, "reason", l->data, false);
			g_string_append_printf(s, "} %" G_GINT64_FORMAT "\n",
					       jint(json_node_get_object(d), NULL, l->data));
		}
	}
}

/* vnicd_overlay_*: each overlay's remote VTEPs (resolved or not), neighbours, remote MACs,
 * dropped tunnel frames. */
static void overlays(GPtrArray *nets, GString *s)
{
	static const char *const rstates[] = {"resolved", "unresolved"};
	static const char *const nstates[] = {"incomplete", "reachable", "stale", "failed"};

	by_state(nets, s, "vnicd_overlay_remote_vteps",
		 "Remote VTEPs of the overlay, by the state of their underlay neighbour", "remotes",
		 rstates, G_N_ELEMENTS(rstates));
	by_state(nets, s, "vnicd_overlay_neighbours",
		 "Entries of the overlay VTEP's neighbour cache (ARP/ND on the underlay), by state",
		 "neighbours", nstates, G_N_ELEMENTS(nstates));
	family(s, "vnicd_overlay_remote_macs", "gauge",
	       "Remote MAC addresses in the overlay's VTEP table");
	for (guint i = 0; i < nets->len; i++) {
		JsonObject *o = json_node_get_object(nets->pdata[i]);
		JsonArray *v = jarr(o, "vteps");

		if (v)
			sample1(s, "vnicd_overlay_remote_macs", "net",
				json_object_get_string_member(o, "name"), json_array_get_length(v));
	}
	tunnel_drops(nets, s);
}

/* A sample of NAT network @o's object member @o_key, member @k, as family @name. */
static void nat_sample(GString *s, const char *name, JsonObject *o, const char *o_key,
		       const char *k)
{
	sample1(s, name, "net", json_object_get_string_member(o, "name"),
		(double)jint(o, o_key, k));
}

/* Each NAT network's object member @obj as family @name with label @label per member. */
static void nat_by_key(GPtrArray *nets, GString *s, const char *name, const char *help,
		       const char *obj, const char *label)
{
	family(s, name, "counter", help);
	for (guint i = 0; i < nets->len; i++) {
		JsonObject *o = json_node_get_object(nets->pdata[i]);
		JsonNode *d = json_object_get_member(o, obj);
		g_autoptr(GList) keys = NULL;

		if (!d || !JSON_NODE_HOLDS_OBJECT(d) || !json_object_has_member(o, "conntrack"))
			continue;
		keys = json_object_get_members(json_node_get_object(d));
		for (GList *l = keys; l; l = l->next) {
			g_string_append_printf(s, "%s{", name);
			sw_prom_label(s, "net", json_object_get_string_member(o, "name"), true);
			sw_prom_label(s, label, l->data, false);
			g_string_append_printf(s, "} %" G_GINT64_FORMAT "\n",
					       jint(json_node_get_object(d), NULL, l->data));
		}
	}
}

/* vnicd_nat_*: each NAT network's connection tracking table, translations and drops. */
static void nats(GPtrArray *nets, GString *s)
{
	static const struct {
		const char *name, *type, *key, *help;
	} ct[] = {
	    {"vnicd_nat_conntrack_entries", "gauge", "entries", "Tracked connections"},
	    {"vnicd_nat_conntrack_max", "gauge", "max", "Connection tracking table size"},
	    {"vnicd_nat_conntrack_created_total", "counter", "created", "Connections tracked"},
	    {"vnicd_nat_conntrack_expired_total", "counter", "expired", "Connections expired"},
	    {"vnicd_nat_conntrack_full_drops_total", "counter", "full_drops",
	     "New connections dropped because the table was full"},
	};

	for (size_t f = 0; f < G_N_ELEMENTS(ct); f++) {
		family(s, ct[f].name, ct[f].type, ct[f].help);
		for (guint i = 0; i < nets->len; i++) {
			JsonObject *o = json_node_get_object(nets->pdata[i]);
			if (json_object_has_member(o, "conntrack"))
				nat_sample(s, ct[f].name, o, "conntrack", ct[f].key);
		}
	}
	nat_by_key(nets, s, "vnicd_nat_translated_total",
		   "Frames the NAT network translated, by direction", "translated", "direction");
	nat_by_key(nets, s, "vnicd_nat_drops_total", "Frames the NAT network dropped, by reason",
		   "nat_drops", "reason");
}

/* vnicd_ports, vnicd_nets, the ledger and their limits; the log's suppressed lines. */
static void limits(struct vn_switch *sw, GString *s)
{
	struct vn_ledger_stats ls;

	vn_ledger_get_stats(sw->ledger, &ls);
	scalar(s, "vnicd_ports", "gauge", "Ports (guest ports, uplinks and tunnel endpoints)",
	       sw->ports->len);
	scalar(s, "vnicd_ports_max", "gauge", "Port limit (max_ports)", sw->cfg->max_ports);
	scalar(s, "vnicd_ports_limit_hits_total", "counter",
	       "Ports refused because max_ports were in use", (double)sw->ports_limit_hits);
	scalar(s, "vnicd_nets", "gauge", "Networks", sw->nets->len);
	scalar(s, "vnicd_nets_max", "gauge", "Network limit (max_nets)", sw->cfg->max_nets);
	scalar(s, "vnicd_nets_limit_hits_total", "counter",
	       "Networks refused because max_nets were in use", (double)sw->nets_limit_hits);
	scalar(s, "vnicd_ledger_entries", "gauge", "Entries of the accounting ledger",
	       (double)ls.entries);
	scalar(s, "vnicd_ledger_entries_max", "gauge", "Accounting ledger limit (ledger_max)",
	       (double)ls.max_entries);
	scalar(s, "vnicd_log_suppressed_total", "counter",
	       "Log lines suppressed by the per-message rate limits", (double)vn_log_suppressed());
	family(s, "vnicd_build_info", "gauge", "Always 1; the version of vnicd as a label");
	sample1(s, "vnicd_build_info", "version", VNICD_VERSION, 1);
}

void sw_metrics_gauges(struct vn_switch *sw, GString *s)
{
	g_autoptr(GPtrArray) nets = nets_json(sw);

	ports_up(sw, s);
	workers(sw, s);
	fdbs(nets, s);
	overlays(nets, s);
	nats(nets, s);
	limits(sw, s);
}

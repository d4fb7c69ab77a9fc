/* SPDX-License-Identifier: MIT */
/* vnicctl top: a live view of the busiest ports, VMs and workers, from `stats` once a second. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "vnicctl.h"

#define TOP_INTERVAL_MS 1000
#define TOP_MAX_PORT_ROWS 40

/* Rates of one port or VM between two samples (per second). */
struct rate {
	const char *name, *net, *vm;
	double rx_pps, tx_pps, rx_bps, tx_bps, drops_ps;
};

static struct termios saved_tio;
static bool tio_saved;
static volatile sig_atomic_t stop_asked;
static const char *rev = "", *unrev = ""; /* reverse video on a terminal */

static void on_signal(int sig)
{
	stop_asked = 1;
}

static void restore_terminal(void)
{
	if (!tio_saved)
		return;
	tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
	printf("\033[?25h");
	fflush(stdout);
	tio_saved = false;
}

/* Keys one at a time, without echo; the terminal comes back at exit (or on Ctrl-C). */
static void raw_terminal(void)
{
	struct termios t;
	struct sigaction sa = {.sa_handler = on_signal};

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio) != 0)
		return;
	t = saved_tio;
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	tio_saved = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
	atexit(restore_terminal);
	printf("\033[?25l");
}

/* One `stats` answer (its "result"), owned by the caller; exits when vnicd cannot answer. */
static JsonNode *sample(const char *sock, gint64 *when)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	JsonNode *root = vc_transact(sock, "{\"cmd\":\"stats\"}\n", parser, -1);
	JsonObject *ro = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;

	*when = g_get_monotonic_time();
	if (!ro || !json_object_get_boolean_member_with_default(ro, "ok", FALSE) ||
	    !json_object_has_member(ro, "result")) {
		fprintf(stderr, "vnicctl: error: %s\n",
			ro ? vc_str(ro, "error", "malformed answer") : "malformed answer");
		exit(1);
	}
	return json_node_copy(json_object_get_member(ro, "result"));
}

/* Return: the object of array @arr (member @k of @o) whose @key is @val, or NULL. */
static JsonObject *find_by(JsonObject *o, const char *k, const char *key, const char *val)
{
	JsonArray *a =
	    o && json_object_has_member(o, k) ? json_object_get_array_member(o, k) : NULL;

	for (guint i = 0; a && val && i < json_array_get_length(a); i++) {
		JsonObject *e = json_array_get_object_element(a, i);
		if (g_strcmp0(vc_str(e, key, NULL), val) == 0)
			return e;
	}
	return NULL;
}

/* Return: worker @id of the "workers" array of @o, or NULL. */
static JsonObject *find_by_id(JsonObject *o, gint64 id)
{
	JsonArray *a = o && json_object_has_member(o, "workers")
			   ? json_object_get_array_member(o, "workers")
			   : NULL;

	for (guint i = 0; a && i < json_array_get_length(a); i++)
		if (vc_int(json_array_get_object_element(a, i), "id") == id)
			return json_array_get_object_element(a, i);
	return NULL;
}

/* Rates of @cur since @prev (NULL: none yet, so 0) over @dt seconds. */
static struct rate rate_of(JsonObject *cur, JsonObject *prev, double dt)
{
	struct rate r = {0};
	gint64 d[5];
	static const char *const k[5] = {"rx_packets", "tx_packets", "rx_bytes", "tx_bytes",
					 "drops_total"};

	for (int i = 0; i < 5; i++) {
		d[i] = prev ? vc_int(cur, k[i]) - vc_int(prev, k[i]) : 0;
		if (d[i] < 0) /* reset meanwhile */
			d[i] = 0;
	}
	r.rx_pps = (double)d[0] / dt;
	r.tx_pps = (double)d[1] / dt;
	r.rx_bps = (double)d[2] * 8 / dt;
	r.tx_bps = (double)d[3] * 8 / dt;
	r.drops_ps = (double)d[4] / dt;
	return r;
}

static gint cmp_rate(gconstpointer a, gconstpointer b)
{
	const struct rate *x = a, *y = b;
	double kx = x->rx_pps + x->tx_pps, ky = y->rx_pps + y->tx_pps;

	if (kx != ky)
		return kx < ky ? 1 : -1;
	if (x->rx_bps + x->tx_bps != y->rx_bps + y->tx_bps)
		return x->rx_bps + x->tx_bps < y->rx_bps + y->tx_bps ? 1 : -1;
	return g_strcmp0(x->name, y->name);
}

/* The rates of array @k ("ports" or "vms", keyed by @key) of @cur against @prev, sorted. */
static GArray *rates(JsonObject *cur, JsonObject *prev, const char *k, const char *key, double dt)
{
	JsonArray *a = json_object_has_member(cur, k) ? json_object_get_array_member(cur, k) : NULL;
	GArray *out = g_array_new(FALSE, TRUE, sizeof(struct rate));

	for (guint i = 0; a && i < json_array_get_length(a); i++) {
		JsonObject *e = json_array_get_object_element(a, i);
		struct rate r = rate_of(e, find_by(prev, k, key, vc_str(e, key, NULL)), dt);
		r.name = vc_str(e, key, "?");
		r.net = vc_str(e, "net", "");
		r.vm = vc_str(e, "vm_name", "");
		g_array_append_val(out, r);
	}
	g_array_sort(out, cmp_rate);
	return out;
}

/* "12.3M": @v with a unit prefix, in @buf. */
static const char *human(double v, char buf[16])
{
	static const char *const u[] = {"", "k", "M", "G", "T"};
	int i = 0;

	while (v >= 1000 && i < 4) {
		v /= 1000;
		i++;
	}
	snprintf(buf, 16, i ? "%.1f%s" : "%.0f%s", v, u[i]);
	return buf;
}

static void add_rate_members(JsonBuilder *b, const struct rate *r)
{
	static const char *const k[5] = {"rx_pps", "tx_pps", "rx_bps", "tx_bps", "drops_ps"};
	double v[5] = {r->rx_pps, r->tx_pps, r->rx_bps, r->tx_bps, r->drops_ps};

	for (int i = 0; i < 5; i++) {
		json_builder_set_member_name(b, k[i]);
		json_builder_add_double_value(b, v[i]);
	}
}

/* Busy share (0..1) and frames a second of worker @w of @cur since @prev over @dt seconds. */
static void worker_rate(JsonObject *w, JsonObject *prev, double dt, double *busy, double *fps)
{
	double hz = (double)vc_int(w, "tsc_hz");
	gint64 dc = prev ? vc_int(w, "busy_cycles") - vc_int(prev, "busy_cycles") : 0;
	gint64 df = prev ? vc_int(w, "frames") - vc_int(prev, "frames") : 0;

	*busy = hz > 0 && dc > 0 ? (double)dc / (hz * dt) : 0;
	if (*busy > 1)
		*busy = 1;
	*fps = df > 0 ? (double)df / dt : 0;
}

/* "port:queue port:queue" of worker @w. */
static char *queues_of(JsonObject *w)
{
	JsonArray *q =
	    json_object_has_member(w, "queues") ? json_object_get_array_member(w, "queues") : NULL;
	GString *s = g_string_new(NULL);

	for (guint i = 0; q && i < json_array_get_length(q); i++) {
		JsonObject *e = json_array_get_object_element(q, i);
		g_string_append_printf(s, "%s%s:%" G_GINT64_FORMAT, i ? " " : "",
				       vc_str(e, "port", "?"), vc_int(e, "queue"));
	}
	return g_string_free(s, FALSE);
}

/* Member @arr ("ports" or "vms", keyed by @key) of the sample: their rates. */
static void json_rates(JsonBuilder *b, JsonObject *cur, JsonObject *prev, const char *arr,
		       const char *key, double dt)
{
	g_autoptr(GArray) r = rates(cur, prev, arr, key, dt);

	json_builder_set_member_name(b, arr);
	json_builder_begin_array(b);
	for (guint i = 0; i < r->len; i++) {
		const struct rate *x = &g_array_index(r, struct rate, i);
		json_builder_begin_object(b);
		json_builder_set_member_name(b, key);
		json_builder_add_string_value(b, x->name);
		if (strcmp(arr, "ports") == 0) {
			json_builder_set_member_name(b, "net");
			json_builder_add_string_value(b, x->net);
		}
		json_builder_set_member_name(b, "vm_name");
		json_builder_add_string_value(b, x->vm);
		add_rate_members(b, x);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
}

/* Member "workers" of the sample: busy share, frames a second, queues. */
static void json_worker_rates(JsonBuilder *b, JsonObject *cur, JsonObject *prev, double dt)
{
	JsonArray *ws = json_object_has_member(cur, "workers")
			    ? json_object_get_array_member(cur, "workers")
			    : NULL;

	json_builder_set_member_name(b, "workers");
	json_builder_begin_array(b);
	for (guint i = 0; ws && i < json_array_get_length(ws); i++) {
		JsonObject *w = json_array_get_object_element(ws, i);
		double busy, fps;
		worker_rate(w, find_by_id(prev, vc_int(w, "id")), dt, &busy, &fps);
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "id");
		json_builder_add_int_value(b, vc_int(w, "id"));
		json_builder_set_member_name(b, "busy");
		json_builder_add_double_value(b, busy);
		json_builder_set_member_name(b, "frames_ps");
		json_builder_add_double_value(b, fps);
		json_builder_set_member_name(b, "queues");
		if (json_object_has_member(w, "queues"))
			json_builder_add_value(b,
					       json_node_copy(json_object_get_member(w, "queues")));
		else
			json_builder_add_null_value(b);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
}

/* The sample as one JSON line on stdout. */
static void print_json(JsonObject *cur, JsonObject *prev, double dt)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;
	g_autofree char *text = NULL;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "time");
	json_builder_add_double_value(b, (double)g_get_real_time() / G_USEC_PER_SEC);
	json_builder_set_member_name(b, "interval");
	json_builder_add_double_value(b, dt);
	json_rates(b, cur, prev, "ports", "name", dt);
	json_rates(b, cur, prev, "vms", "vm_uuid", dt);
	json_worker_rates(b, cur, prev, dt);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	text = json_generator_to_data(gen, NULL);
	printf("%s\n", text);
	fflush(stdout);
}

/* Rows of @r (at most @max) under a header naming the first column @what. */
static void print_rows(GArray *r, const char *what, bool ports, guint max)
{
	char b[5][16];

	printf("%s%-16s %-10s %-14s %9s %9s %9s %9s %8s%s\n", rev, what, ports ? "NET" : "",
	       ports ? "VM" : "NAME", "RX pps", "TX pps", "RX bit/s", "TX bit/s", "drops/s", unrev);
	for (guint i = 0; i < r->len && i < max; i++) {
		const struct rate *x = &g_array_index(r, struct rate, i);
		printf("%-16.16s %-10.10s %-14.14s %9s %9s %9s %9s %8s\n", x->name,
		       ports ? x->net : "", x->vm, human(x->rx_pps, b[0]), human(x->tx_pps, b[1]),
		       human(x->rx_bps, b[2]), human(x->tx_bps, b[3]), human(x->drops_ps, b[4]));
	}
	if (r->len > max)
		printf("(%u more)\n", r->len - max);
}

/* One screen: ports by rate, VMs, workers. @clear: redraw from the top left. */
static void print_screen(JsonObject *cur, JsonObject *prev, double dt, bool clear)
{
	g_autoptr(GArray) ports = rates(cur, prev, "ports", "name", dt);
	g_autoptr(GArray) vms = rates(cur, prev, "vms", "vm_uuid", dt);
	JsonArray *ws = json_object_has_member(cur, "workers")
			    ? json_object_get_array_member(cur, "workers")
			    : NULL;
	time_t now = time(NULL);
	char ts[16];

	strftime(ts, sizeof(ts), "%H:%M:%S", localtime(&now));
	if (clear)
		printf("\033[H\033[2J");
	printf("vnicd top - %s, %u ports, %u VMs, interval %.2f s%s\n\n", ts, ports->len, vms->len,
	       dt, clear ? "  (q quits)" : "");
	print_rows(ports, "PORT", true, TOP_MAX_PORT_ROWS);
	if (vms->len) {
		printf("\n");
		print_rows(vms, "VM", false, 10);
	}
	printf("\n%s%-6s %6s %10s  %-40s%s\n", rev, "WORKER", "BUSY", "frames/s", "QUEUES", unrev);
	for (guint i = 0; ws && i < json_array_get_length(ws); i++) {
		JsonObject *w = json_array_get_object_element(ws, i);
		g_autofree char *q = queues_of(w);
		double busy, fps;
		char fb[16];
		worker_rate(w, find_by_id(prev, vc_int(w, "id")), dt, &busy, &fps);
		printf("%-6" G_GINT64_FORMAT " %5.1f%% %10s  %s\n", vc_int(w, "id"), busy * 100,
		       human(fps, fb), q);
	}
	fflush(stdout);
}

/* Wait until @deadline (monotonic µs) or a 'q' on stdin (*@keys: stdin is still readable).
 * Return: true when asked to quit. */
static bool wait_key(gint64 deadline, bool *keys)
{
	for (;;) {
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;
		struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
		char c;
		int r;

		if (stop_asked)
			return true;
		if (left <= 0)
			return false;
		r = poll(&p, *keys ? 1 : 0, (int)left);
		if (r < 0 && errno != EINTR)
			return true;
		if (r <= 0 || !(p.revents & (POLLIN | POLLHUP)))
			continue;
		if (read(STDIN_FILENO, &c, 1) != 1) {
			*keys = false; /* end of input: only the timer now */
			continue;
		}
		if (c == 'q' || c == 'Q')
			return true;
	}
}

int vc_top(const char *sock, bool once, bool json)
{
	g_autoptr(JsonNode) prev = NULL;
	gint64 t_prev, t_cur;
	bool keys = !once && !json;

	if (keys)
		raw_terminal();
	if (isatty(STDOUT_FILENO)) {
		rev = "\033[7m";
		unrev = "\033[0m";
	}
	prev = sample(sock, &t_prev);
	for (;;) {
		g_autoptr(JsonNode) cur = NULL;
		double dt;

		if (wait_key(t_prev + TOP_INTERVAL_MS * 1000, &keys))
			break;
		cur = sample(sock, &t_cur);
		dt = (double)(t_cur - t_prev) / G_USEC_PER_SEC;
		if (json)
			print_json(json_node_get_object(cur), json_node_get_object(prev), dt);
		else
			print_screen(json_node_get_object(cur), json_node_get_object(prev), dt,
				     !once);
		if (once)
			break;
		json_node_unref(prev);
		prev = g_steal_pointer(&cur);
		t_prev = t_cur;
	}
	restore_terminal();
	return 0;
}

/* SPDX-License-Identifier: MIT */
/* vnicctl's private interfaces: talking to vnicd (client.c) and printing its answers (render.c). */
#ifndef VNICCTL_H
#define VNICCTL_H

#include <stdbool.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#define VC_EXIT_USAGE 2	  /* the command line is wrong */
#define VC_EXIT_CONNECT 3 /* vnicd cannot be reached */

/* client.c: the control socket (protocol: include/vnicd/ctl.h). */

/**
 * vc_transact() - send one request line @req to vnicd at @path (with @pass_fd attached through
 * SCM_RIGHTS when >= 0) and read one response line into @parser. Exits with VC_EXIT_CONNECT
 * when vnicd cannot be reached or closes without an answer, with 1 on a malformed answer.
 * Return: the response's root node, owned by @parser.
 */
JsonNode *vc_transact(const char *path, const char *req, JsonParser *parser, int pass_fd);

/**
 * vc_capture() - record both directions of @port into the file @out (opened here, with the
 * caller's rights, and handed to vnicd), at most @count frames / @duration seconds when > 0,
 * @snaplen bytes of each when > 0, until vnicd says it is done or Ctrl-C; progress goes to
 * stderr, the result to stdout (as JSON when @json).
 * Return: the exit status (0 when the capture is done).
 */
int vc_capture(const char *sock, const char *port, const char *out, gint64 count, gint64 duration,
	       gint64 snaplen, bool json);

/**
 * vc_top() - the live view of vnicd at @sock (top.c): ports by rate, VMs, workers, redrawn
 * every second until q (or one screen with @once); with @json one sample object per line a
 * second instead (one with @once). Return: the exit status.
 */
int vc_top(const char *sock, bool once, bool json);

/* render.c: human-readable output of the read commands' results. */

/** vc_str() - Return: string member @k of @o, or @def when missing, null or not a string. */
const char *vc_str(JsonObject *o, const char *k, const char *def);

/** vc_int() - Return: integer member @k of @o, 0 when missing. */
gint64 vc_int(JsonObject *o, const char *k);

/** vc_print_json() - print @n (may be NULL) as pretty JSON and a newline on stdout. */
void vc_print_json(JsonNode *n);

/*
 * Renderers of the verbs table: each prints the "result" @res (never NULL or null) of one
 * command on stdout; @detail is --detail.
 */
/** vc_render_libvirt_status() - the listener's state and counters, "key: value" lines. */
void vc_render_libvirt_status(JsonNode *res, bool detail);

/** vc_render_ping() - "vnicd VERSION". */
void vc_render_ping(JsonNode *res, bool detail);
/** vc_render_log_level() - "log level LEVEL" (and the one it replaced). */
void vc_render_log_level(JsonNode *res, bool detail);
/** vc_render_net_list() - one line per network. */
void vc_render_net_list(JsonNode *res, bool detail);
/** vc_render_net_show() - a network, its FDB counters and its uplink's link. */
void vc_render_net_show(JsonNode *res, bool detail);
/** vc_render_port_list() - one line per port. */
void vc_render_port_list(JsonNode *res, bool detail);
/** vc_render_port_show() - a port: its kind's state, its policy and counters. */
void vc_render_port_show(JsonNode *res, bool detail);
/** vc_render_fdb_show() - one line per FDB entry. */
void vc_render_fdb_show(JsonNode *res, bool detail);

/** vc_render_vtep_show() - one line per remote MAC of an overlay. */
void vc_render_vtep_show(JsonNode *res, bool detail);

/** vc_render_nat_forwards() - one line per port forward of a NAT network. */
void vc_render_nat_forwards(JsonNode *res, bool detail);

/** vc_render_nat_conntrack() - one line per tracked connection of a NAT network. */
void vc_render_nat_conntrack(JsonNode *res, bool detail);
/** vc_render_fdb_flush() - how many entries were removed. */
void vc_render_fdb_flush(JsonNode *res, bool detail);
/** vc_render_stats() - one line per NIC and VM, or (@detail) their counters by class. */
void vc_render_stats(JsonNode *res, bool detail);
/** vc_render_stats_reset() - how many ledger entries were reset. */
void vc_render_stats_reset(JsonNode *res, bool detail);

/** vc_render_trace() - the steps of a trace, then where the frame goes (ofproto/trace style). */
void vc_render_trace(JsonNode *res, bool detail);

/**
 * vc_render_capture() - the end of capture @id of @port into @out: its status @st as one line
 * (or as JSON when @json).
 */
void vc_render_capture(JsonObject *st, gint64 id, const char *port, const char *out, bool json);

#endif

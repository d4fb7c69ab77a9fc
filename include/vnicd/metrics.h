/* SPDX-License-Identifier: MIT */
/* Prometheus endpoint: a minimal HTTP/1.0 server answering GET /metrics on the main loop. */
#ifndef VNICD_METRICS_H
#define VNICD_METRICS_H

#include <glib.h>

#include "vnicd/switch.h"

struct vn_metrics;

/**
 * vn_metrics_start() - listen on @listen ("HOST:PORT", "[V6]:PORT"; port 0 picks a free
 * one; or "unix:/PATH", a stream socket of mode 0660 created here and removed by
 * vn_metrics_stop()) and serve vn_switch_metrics(@sw) at /metrics, at most @max_clients
 * at once.
 * Return: the server, or NULL with @err set. Thread: control.
 */
struct vn_metrics *vn_metrics_start(struct vn_switch *sw, const char *listen, unsigned max_clients,
				    GError **err);

/** vn_metrics_port() - Return: the TCP port actually bound (0 for a Unix socket). */
unsigned vn_metrics_port(const struct vn_metrics *m);

/* ---- the HTTP request parser (no sockets: the server and fuzz_metrics call it) ---- */

#define VN_METRICS_REQ_MAX 8192 /* request bytes kept; a header ending later is refused */

/** What a request asks for, once its header is complete. */
enum vn_http_route {
	VN_HTTP_MORE,	    /* no end of header yet ("\r\n\r\n" or "\n\n") */
	VN_HTTP_TOO_LONG,   /* no end of header in the first VN_METRICS_REQ_MAX bytes: close */
	VN_HTTP_METRICS,    /* GET /metrics or GET /metrics?...: 200 with the exposition */
	VN_HTTP_NOT_FOUND,  /* another GET: 404 */
	VN_HTTP_BAD_METHOD, /* anything else: 405 */
};

/**
 * vn_metrics_http_feed() - append the @n bytes of one read to the request in @req (of
 * which at most VN_METRICS_REQ_MAX bytes are kept) and look for the end of its header in
 * what arrived. The answer does not depend on how the bytes were split into reads. Call it
 * again only after VN_HTTP_MORE. Return: the route, VN_HTTP_MORE or VN_HTTP_TOO_LONG.
 */
enum vn_http_route vn_metrics_http_feed(GString *req, const char *buf, size_t n);

/**
 * vn_metrics_http_reply() - the whole HTTP/1.0 response to route @r (not MORE/TOO_LONG)
 * in @out (replacing its contents); @metrics is the body of VN_HTTP_METRICS.
 */
void vn_metrics_http_reply(GString *out, enum vn_http_route r, const char *metrics);

/** vn_metrics_stop() - close the listener and every connection. */
void vn_metrics_stop(struct vn_metrics *m);

#endif

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

/** vn_metrics_stop() - close the listener and every connection. */
void vn_metrics_stop(struct vn_metrics *m);

#endif

/* SPDX-License-Identifier: MIT */
/* Prometheus: the accounting ledger as exposition text, served by a tiny HTTP server. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>

#include "switch_priv.h"
#include "vnicd/log.h"
#include "vnicd/metrics.h"

#define REQ_MAX 8192

struct conn {
	struct vn_metrics *m;
	int fd;
	guint src, timer;
	GString *in, *out;
	bool replying;
};

struct vn_metrics {
	struct vn_switch *sw;
	int fd;
	guint src;
	unsigned port, max_clients;
	GPtrArray *conns;
	uint64_t requests, refused;
};

static void conn_close(struct conn *c)
{
	if (c->src)
		g_source_remove(c->src);
	if (c->timer)
		g_source_remove(c->timer);
	close(c->fd);
	g_string_free(c->in, TRUE);
	g_string_free(c->out, TRUE);
	g_ptr_array_remove(c->m->conns, c);
	g_free(c);
}

static gboolean conn_timeout(gpointer ud)
{
	struct conn *c = ud;

	c->timer = 0;
	conn_close(c);
	return G_SOURCE_REMOVE;
}

static gboolean conn_io(int fd, GIOCondition cond, gpointer ud);

static void conn_respond(struct conn *c)
{
	const char *status = "404 Not Found", *type = "text/plain";
	g_autofree char *body = NULL;

	if (g_str_has_prefix(c->in->str, "GET /metrics ") ||
	    g_str_has_prefix(c->in->str, "GET /metrics?")) {
		status = "200 OK";
		type = "text/plain; version=0.0.4; charset=utf-8";
		body = vn_switch_metrics(c->m->sw);
		c->m->requests++;
	} else if (!g_str_has_prefix(c->in->str, "GET ")) {
		status = "405 Method Not Allowed";
		body = g_strdup("only GET /metrics\n");
	} else {
		body = g_strdup("see /metrics\n");
	}
	g_string_printf(c->out,
			"HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			"Connection: close\r\n\r\n%s",
			status, type, strlen(body), body);
	c->replying = true;
	g_source_remove(c->src);
	c->src = g_unix_fd_add(c->fd, G_IO_OUT, conn_io, c);
}

static gboolean conn_io(int fd, GIOCondition cond, gpointer ud)
{
	struct conn *c = ud;

	if (c->replying) {
		ssize_t n = send(fd, c->out->str, c->out->len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return G_SOURCE_CONTINUE;
		if (n > 0)
			g_string_erase(c->out, 0, n);
		if (n <= 0 || c->out->len == 0) {
			c->src = 0;
			conn_close(c);
			return G_SOURCE_REMOVE;
		}
		return G_SOURCE_CONTINUE;
	} else {
		char buf[2048];
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return G_SOURCE_CONTINUE;
		if (n <= 0 || c->in->len + (size_t)n > REQ_MAX) {
			c->src = 0;
			conn_close(c);
			return G_SOURCE_REMOVE;
		}
		g_string_append_len(c->in, buf, n);
		if (strstr(c->in->str, "\r\n\r\n") || strstr(c->in->str, "\n\n"))
			conn_respond(c); /* replaced this source */
		return c->replying ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
	}
}

static gboolean on_accept(int lfd, GIOCondition cond, gpointer ud)
{
	struct vn_metrics *m = ud;
	struct conn *c;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return G_SOURCE_CONTINUE;
	if (m->conns->len >= m->max_clients) {
		m->refused++;
		close(fd);
		return G_SOURCE_CONTINUE;
	}
	c = g_new0(struct conn, 1);
	c->m = m;
	c->fd = fd;
	c->in = g_string_new(NULL);
	c->out = g_string_new(NULL);
	c->src = g_unix_fd_add(fd, G_IO_IN | G_IO_HUP | G_IO_ERR, conn_io, c);
	c->timer = g_timeout_add_seconds(10, conn_timeout, c);
	g_ptr_array_add(m->conns, c);
	return G_SOURCE_CONTINUE;
}

struct vn_metrics *vn_metrics_start(struct vn_switch *sw, const char *listen_on,
				    unsigned max_clients, GError **err)
{
	g_autofree char *host = NULL;
	const char *colon = strrchr(listen_on, ':');
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct vn_metrics *m;
	int fd, one = 1, rc;

	if (!colon || colon == listen_on || !colon[1]) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "metrics_listen '%s' is not HOST:PORT", listen_on);
		return NULL;
	}
	host = g_strndup(listen_on, colon - listen_on);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	rc = getaddrinfo(host, colon + 1, &hints, &ai);
	if (rc != 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "metrics_listen '%s': %s",
			    listen_on, gai_strerror(rc));
		return NULL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 16) != 0) {
		int e = errno;
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(e), "metrics_listen %s: %s",
			    listen_on, g_strerror(e));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return NULL;
	}
	freeaddrinfo(ai);
	m = g_new0(struct vn_metrics, 1);
	m->sw = sw;
	m->fd = fd;
	m->max_clients = max_clients;
	m->conns = g_ptr_array_new();
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		m->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
							 : ((struct sockaddr_in *)&ss)->sin_port);
	m->src = g_unix_fd_add(fd, G_IO_IN, on_accept, m);
	return m;
}

unsigned vn_metrics_port(const struct vn_metrics *m)
{
	return m->port;
}

void vn_metrics_stop(struct vn_metrics *m)
{
	if (!m)
		return;
	while (m->conns->len)
		conn_close(m->conns->pdata[0]);
	g_ptr_array_free(m->conns, TRUE);
	g_source_remove(m->src);
	close(m->fd);
	g_free(m);
}

/* ---- the exposition ---- */

/* Prometheus label value escaping: backslash, double quote and newline. */
static void prom_label(GString *s, const char *k, const char *v, bool first)
{
	g_string_append_printf(s, "%s%s=\"", first ? "" : ",", k);
	for (const char *p = v ? v : ""; *p; p++) {
		if (*p == '\\' || *p == '"')
			g_string_append_c(s, '\\');
		if (*p == '\n')
			g_string_append(s, "\\n");
		else
			g_string_append_c(s, *p);
	}
	g_string_append_c(s, '"');
}

struct prom_series {
	const char *port, *uuid, *name; /* port NULL: a VM series */
	struct vn_port_counters c;
};

char *vn_switch_metrics(struct vn_switch *sw)
{
	GPtrArray *entries = vn_ledger_entries(sw->ledger);
	g_autoptr(GArray) series = g_array_new(FALSE, TRUE, sizeof(struct prom_series));
	GString *s = g_string_new(NULL);
	const struct vn_counter_field *f;
	size_t nf;

	f = vn_counter_fields(&nf);
	for (guint i = 0; i < entries->len; i++) {
		struct vn_ledger_entry *e = entries->pdata[i];
		struct prom_series ps = {e->port, e->vm_uuid, e->vm_name};
		struct prom_series *vmser = NULL;

		sw_entry_totals(e, &ps.c, sw);
		g_array_append_val(series, ps);
		if (!*e->vm_uuid)
			continue;
		for (guint k = 0; k < series->len; k++) {
			struct prom_series *o = &g_array_index(series, struct prom_series, k);
			if (!o->port && strcmp(o->uuid, e->vm_uuid) == 0)
				vmser = o;
		}
		if (!vmser) {
			struct prom_series v = {NULL, e->vm_uuid, e->vm_name};
			g_array_append_val(series, v);
			vmser = &g_array_index(series, struct prom_series, series->len - 1);
		}
		vn_counters_add(&vmser->c, &ps.c);
		if (*e->vm_name)
			vmser->name = e->vm_name;
	}
	for (int scope = 0; scope < 2; scope++) { /* 0: per port, 1: per VM */
		const char *pre = scope ? "vnicd_vm_" : "vnicd_port_";
		for (size_t k = 0; k < nf; k++) {
			bool drop = strncmp(f[k].name, "drops.", 6) == 0;
			if (drop && strcmp(f[k].name + 6, vn_drop_name(0)) != 0)
				continue; /* one metric family for all drop reasons */
			g_string_append_printf(s, "# HELP %s%s_total vnicd %s %s\n", pre,
					       drop ? "drops" : f[k].name, scope ? "VM" : "port",
					       drop ? "frames dropped, by reason" : f[k].name);
			g_string_append_printf(s, "# TYPE %s%s_total counter\n", pre,
					       drop ? "drops" : f[k].name);
			for (guint i = 0; i < series->len; i++) {
				struct prom_series *ps =
				    &g_array_index(series, struct prom_series, i);
				if ((scope == 0) != (ps->port != NULL))
					continue;
				for (int r = 0; r < (drop ? VN_DROP__MAX : 1); r++) {
					g_string_append_printf(s, "%s%s_total{", pre,
							       drop ? "drops" : f[k].name);
					if (ps->port)
						prom_label(s, "port", ps->port, true);
					prom_label(s, "vm_uuid", ps->uuid, ps->port == NULL);
					prom_label(s, "vm_name", ps->name, false);
					if (drop)
						prom_label(s, "reason", vn_drop_name(r), false);
					g_string_append_printf(
					    s, "} %" G_GUINT64_FORMAT "\n",
					    drop ? ps->c.drops[r] : vn_counter_get(&ps->c, &f[k]));
				}
			}
		}
	}
	return g_string_free(s, FALSE);
}

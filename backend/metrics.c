/* SPDX-License-Identifier: MIT */
/* Prometheus: the accounting ledger as exposition text, served by a tiny HTTP server. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib-unix.h>

#include "switch_priv.h"
#include "vnicd/log.h"
#include "vnicd/metrics.h"

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
	char *unix_path; /* "unix:PATH": the socket vnicd created, removed at stop */
	dev_t unix_dev;
	ino_t unix_ino;
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

/* The request line decides: GET /metrics, another GET path, or another method. */
static enum vn_http_route http_route(const char *req)
{
	if (g_str_has_prefix(req, "GET /metrics ") || g_str_has_prefix(req, "GET /metrics?"))
		return VN_HTTP_METRICS;
	if (!g_str_has_prefix(req, "GET "))
		return VN_HTTP_BAD_METHOD;
	return VN_HTTP_NOT_FOUND;
}

enum vn_http_route vn_metrics_http_feed(GString *req, const char *buf, size_t n)
{
	size_t old = MIN(req->len, (size_t)VN_METRICS_REQ_MAX);
	size_t from = old > 3 ? old - 3 : 0; /* a terminator may straddle the reads */
	const char *p;

	g_string_truncate(req, old);
	g_string_append_len(req, buf, MIN(n, VN_METRICS_REQ_MAX - old));
	p = req->str + from;
	if (memmem(p, req->len - from, "\r\n\r\n", 4) || memmem(p, req->len - from, "\n\n", 2))
		return http_route(req->str);
	return req->len >= VN_METRICS_REQ_MAX ? VN_HTTP_TOO_LONG : VN_HTTP_MORE;
}

void vn_metrics_http_reply(GString *out, enum vn_http_route r, const char *metrics)
{
	const char *status = "404 Not Found", *type = "text/plain", *body = "see /metrics\n";

	if (r == VN_HTTP_METRICS) {
		status = "200 OK";
		type = "text/plain; version=0.0.4; charset=utf-8";
		body = metrics ? metrics : "";
	} else if (r == VN_HTTP_BAD_METHOD) {
		status = "405 Method Not Allowed";
		body = "only GET /metrics\n";
	}
	g_string_printf(out,
			"HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			"Connection: close\r\n\r\n%s",
			status, type, strlen(body), body);
}

static void conn_respond(struct conn *c, enum vn_http_route r)
{
	g_autofree char *body = NULL;

	if (r == VN_HTTP_METRICS) {
		body = vn_switch_metrics(c->m->sw);
		c->m->requests++;
	}
	vn_metrics_http_reply(c->out, r, body);
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
		enum vn_http_route r;

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return G_SOURCE_CONTINUE;
		r = n > 0 ? vn_metrics_http_feed(c->in, buf, (size_t)n) : VN_HTTP_TOO_LONG;
		if (r == VN_HTTP_TOO_LONG) { /* or the peer went away */
			c->src = 0;
			conn_close(c);
			return G_SOURCE_REMOVE;
		}
		if (r != VN_HTTP_MORE)
			conn_respond(c, r); /* replaced this source */
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

/*
 * "unix:PATH": a stream socket at absolute PATH, mode 0660 (its owner and group may scrape).
 * A socket file left over by an earlier vnicd (nobody accepts on it) is replaced; anything
 * else at PATH is left alone and reported. Return: the listening fd, or -1 with @err set.
 */
static int listen_unix(const char *spec, const char *path, struct stat *st, GError **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	mode_t old;
	int fd, rc, e;

	if (path[0] != '/' || strlen(path) >= sizeof(sa.sun_path)) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "metrics_listen '%s': unix: needs an absolute path shorter than %zu",
			    spec, sizeof(sa.sun_path));
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, st) == 0) {
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		bool stale = S_ISSOCK(st->st_mode) && probe >= 0 &&
			     connect(probe, (struct sockaddr *)&sa, sizeof(sa)) != 0 &&
			     errno == ECONNREFUSED;
		if (probe >= 0)
			close(probe);
		if (!stale) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_EXISTS,
				    "metrics_listen %s: %s exists and is not a stale socket", spec,
				    path);
			return -1;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	old = umask(0177); /* never more open than 0660, even for an instant */
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc != 0)
		goto fail;
	if (chmod(path, 0660) != 0 || lstat(path, st) != 0 || listen(fd, 16) != 0) {
		e = errno;
		unlink(path);
		errno = e;
		goto fail;
	}
	return fd;
fail:
	e = errno;
	g_set_error(err, G_IO_ERROR, g_io_error_from_errno(e), "metrics_listen %s: %s", spec,
		    g_strerror(e));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* "HOST:PORT" or "[V6]:PORT". Return: the listening fd, or -1 with @err set. */
static int listen_inet(const char *listen_on, GError **err)
{
	g_autofree char *host = NULL;
	const char *colon = strrchr(listen_on, ':');
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	int fd, one = 1, rc;

	if (!colon || colon == listen_on || !colon[1]) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "metrics_listen '%s' is not HOST:PORT or unix:/PATH", listen_on);
		return -1;
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
		return -1;
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
		return -1;
	}
	freeaddrinfo(ai);
	return fd;
}

struct vn_metrics *vn_metrics_start(struct vn_switch *sw, const char *listen_on,
				    unsigned max_clients, GError **err)
{
	bool is_unix = g_str_has_prefix(listen_on, "unix:");
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct vn_metrics *m;
	struct stat st;
	int fd;

	fd =
	    is_unix ? listen_unix(listen_on, listen_on + 5, &st, err) : listen_inet(listen_on, err);
	if (fd < 0)
		return NULL;
	m = g_new0(struct vn_metrics, 1);
	m->sw = sw;
	m->fd = fd;
	m->max_clients = max_clients;
	m->conns = g_ptr_array_new();
	if (is_unix) {
		m->unix_path = g_strdup(listen_on + 5);
		m->unix_dev = st.st_dev;
		m->unix_ino = st.st_ino;
	} else if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		m->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
							 : ((struct sockaddr_in *)&ss)->sin_port);
	}
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
	if (m->unix_path) { /* only the socket vnicd created, not whatever replaced it */
		struct stat st;
		if (lstat(m->unix_path, &st) == 0 && S_ISSOCK(st.st_mode) &&
		    st.st_dev == m->unix_dev && st.st_ino == m->unix_ino)
			unlink(m->unix_path);
		g_free(m->unix_path);
	}
	g_free(m);
}

/* ---- the exposition ---- */

void sw_prom_label(GString *s, const char *k, const char *v, bool first)
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
	char *labels; /* the escaped label set, rendered once per series */
};

/*
 * One scrape is linear in the ledger: the live ports are indexed by entry once
 * (sw_totals_init), VM series are found through a hash table keyed by UUID, and each
 * series' labels are escaped once rather than once per metric family.
 */
char *vn_switch_metrics(struct vn_switch *sw)
{
	GPtrArray *entries = vn_ledger_entries(sw->ledger);
	g_autoptr(GArray) series = g_array_new(FALSE, TRUE, sizeof(struct prom_series));
	g_autoptr(GHashTable) vm_ix = g_hash_table_new(g_str_hash, g_str_equal);
	GString *s = g_string_new(NULL);
	const struct vn_counter_field *f;
	struct sw_totals t;
	size_t nf;

	f = vn_counter_fields(&nf);
	sw_totals_init(&t, sw);
	for (guint i = 0; i < entries->len; i++) {
		struct vn_ledger_entry *e = entries->pdata[i];
		struct prom_series ps = {e->port, e->vm_uuid, e->vm_name, {0}, NULL};
		struct prom_series *vmser;
		gpointer k;

		sw_entry_totals(e, &ps.c, &t);
		g_array_append_val(series, ps);
		if (!*e->vm_uuid)
			continue;
		k = g_hash_table_lookup(vm_ix, e->vm_uuid); /* index + 1 of the VM's series */
		if (!k) {
			struct prom_series v = {NULL, e->vm_uuid, e->vm_name, {0}, NULL};
			g_array_append_val(series, v);
			k = GUINT_TO_POINTER(series->len);
			g_hash_table_insert(vm_ix, (gpointer)e->vm_uuid, k);
		}
		vmser = &g_array_index(series, struct prom_series, GPOINTER_TO_UINT(k) - 1);
		vn_counters_add(&vmser->c, &ps.c);
		if (*e->vm_name)
			vmser->name = e->vm_name;
	}
	sw_totals_clear(&t);
	for (guint i = 0; i < series->len; i++) {
		struct prom_series *ps = &g_array_index(series, struct prom_series, i);
		GString *l = g_string_new(NULL);
		if (ps->port)
			sw_prom_label(l, "port", ps->port, true);
		sw_prom_label(l, "vm_uuid", ps->uuid, ps->port == NULL);
		sw_prom_label(l, "vm_name", ps->name, false);
		ps->labels = g_string_free(l, FALSE);
	}
	for (int scope = 0; scope < 2; scope++) { /* 0: per port, 1: per VM */
		const char *pre = scope ? "vnicd_vm_" : "vnicd_port_";
		for (size_t k = 0; k < nf; k++) {
			bool drop = strncmp(f[k].name, "drops.", 6) == 0;
			const char *fam = drop ? "drops" : f[k].name;
			if (drop && strcmp(f[k].name + 6, vn_drop_name(0)) != 0)
				continue; /* one metric family for all drop reasons */
			g_string_append_printf(s, "# HELP %s%s_total vnicd %s %s\n", pre, fam,
					       scope ? "VM" : "port",
					       drop ? "frames dropped, by reason" : f[k].name);
			g_string_append_printf(s, "# TYPE %s%s_total counter\n", pre, fam);
			for (guint i = 0; i < series->len; i++) {
				struct prom_series *ps =
				    &g_array_index(series, struct prom_series, i);
				if ((scope == 0) != (ps->port != NULL))
					continue;
				for (int r = 0; r < (drop ? VN_DROP__MAX : 1); r++) {
					g_string_append(s, pre);
					g_string_append(s, fam);
					g_string_append(s, "_total{");
					g_string_append(s, ps->labels);
					if (drop)
						sw_prom_label(s, "reason", vn_drop_name(r), false);
					g_string_append_printf(
					    s, "} %" G_GUINT64_FORMAT "\n",
					    drop ? ps->c.drops[r] : vn_counter_get(&ps->c, &f[k]));
				}
			}
		}
	}
	for (guint i = 0; i < series->len; i++)
		g_free(g_array_index(series, struct prom_series, i).labels);
	sw_metrics_gauges(sw, s);
	return g_string_free(s, FALSE);
}

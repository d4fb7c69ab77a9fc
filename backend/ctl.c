/* SPDX-License-Identifier: MIT */
/* Control socket: newline-delimited JSON requests, dispatched to the switch on the main loop. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib-unix.h>
#include <json-glib/json-glib.h>

#include "vnicd-config.h"
#include "vnicd/args.h"
#include "vnicd/capture.h"
#include "vnicd/ctl.h"
#include "vnicd/log.h"
#include "vnicd/virt_events.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59 /* Linux 4.13 */
#endif

struct ctl_client {
	struct vn_ctl *ctl;
	int fd;
	guint in_src, out_src;
	struct vn_ctl_frame frame; /* requests received, with their descriptors */
	GString *out;
	gint64 last_request; /* monotonic µs of the last complete request (or of accept) */
	bool closing;
};

struct vn_ctl {
	struct vn_switch *sw;
	char *path;
	int fd;
	guint src, idle_src;
	gid_t gid;
	bool has_gid;
	unsigned max_clients;
	unsigned idle_timeout; /* seconds without a complete request before closing; 0 = never */
	GPtrArray *clients;
	uint64_t refused_limit, refused_cred;
	uint64_t dropped_slow; /* clients closed for not reading their replies (VN_CTL_MAX_OUT) */
	uint64_t dropped_idle; /* clients closed by the idle timeout */
};

/* ---- request handling ---- */

typedef int (*cmd_fn)(struct vn_switch *sw, JsonObject *args, JsonBuilder *b, GError **err);

/* Fetch a string argument into @var or return the error. */
#define ARG_STR(var, key, required)                                                                \
	do {                                                                                       \
		int rc_ = vn_arg_str(a, key, required, &(var), err);                               \
		if (rc_ < 0)                                                                       \
			return rc_;                                                                \
	} while (0)

static int cmd_ping(struct vn_switch *sw, JsonObject *a, JsonBuilder *b, GError **err)
{
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "version");
	json_builder_add_string_value(b, VNICD_VERSION);
	json_builder_end_object(b);
	return 0;
}

static int cmd_net_add(struct vn_switch *sw, JsonObject *a, JsonBuilder *b, GError **err)
{
	json_builder_add_null_value(b);
	return vn_switch_net_create(sw, a, err);
}

static int cmd_net_set(struct vn_switch *sw, JsonObject *a, JsonBuilder *b, GError **err)
{
	json_builder_add_null_value(b);
	return vn_switch_net_set(sw, a, err);
}

static int cmd_net_del(struct vn_switch *sw, JsonObject *a, JsonBuilder *b, GError **err)
{
	const char *name;

	ARG_STR(name, "name", true);
	json_builder_add_null_value(b);
	return vn_switch_net_del(sw, name, err);
}

static int cmd_net_list(struct vn_switch *sw, JsonObject *a, JsonBuilder *b, GError **err)
{
	vn_switch_json_nets(sw, b);
	return 0;
}

static int cmd_net_show(struct vn_switch *sw, JsonObject *a, JsonBuilder *b, GError **err)
{
	const char *name;

	ARG_STR(name, "name", true);
	return vn_switch_json_net(sw, name, b, err);
}

static int cmd_port_add(struct vn_switch *sw, JsonObject *a, JsonBuilder *b, GError **err)
{
	if (!a) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "missing argument 'name'");
		return -EINVAL;
	}
	json_builder_add_null_value(b);
	return vn_switch_port_add(sw, a, err);
}

static int cmd_port_del(struct vn_switch *sw, JsonObject *a, JsonBuilder *b, GError **err)
{
	const char *name;

	ARG_STR(name, "name", true);
	json_builder_add_null_value(b);
	return vn_switch_port_del(sw, name, err);
}

static int cmd_port_set(struct vn_switch *sw, JsonObject *a, JsonBuilder *b, GError **err)
{
	if (!a) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "missing argument 'name'");
		return -EINVAL;
	}
	json_builder_add_null_value(b);
	return vn_switch_port_set(sw, a, err);
}

static int cmd_port_announce(struct vn_switch *sw, JsonObject *a, JsonBuilder *b, GError **err)
{
	if (!a) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "missing argument 'name'");
		return -EINVAL;
	}
	json_builder_add_null_value(b);
	return vn_switch_port_announce(sw, a, err);
}

static int cmd_port_list(struct vn_switch *sw, JsonObject *a, JsonBuilder *b, GError **err)
{
	vn_switch_json_ports(sw, b);
	return 0;
}

static int cmd_port_show(struct vn_switch *sw, JsonObject *a, JsonBuilder *b, GError **err)
{
	const char *name;

	ARG_STR(name, "name", true);
	return vn_switch_json_port(sw, name, b, err);
}

static int cmd_fdb_show(struct vn_switch *sw, JsonObject *a, JsonBuilder *b, GError **err)
{
	const char *net;

	ARG_STR(net, "net", false);
	return vn_switch_json_fdb(sw, net, b, err);
}

static int cmd_fdb_add(struct vn_switch *sw, JsonObject *a, JsonBuilder *b, GError **err)
{
	const char *mac, *port;

	ARG_STR(mac, "mac", true);
	ARG_STR(port, "port", true);
	json_builder_add_null_value(b);
	return vn_switch_fdb_add(sw, mac, port, err);
}

static int cmd_fdb_flush(struct vn_switch *sw, JsonObject *a, JsonBuilder *b, GError **err)
{
	const char *net;
	int n;

	ARG_STR(net, "net", false);
	n = vn_switch_fdb_flush(sw, net, err);
	if (n < 0)
		return n;
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "removed");
	json_builder_add_int_value(b, n);
	json_builder_end_object(b);
	return 0;
}

static int cmd_trace(struct vn_switch *sw, JsonObject *a, JsonBuilder *b, GError **err)
{
	return vn_switch_trace(sw, a, b, err);
}

static int cmd_vtep_add(struct vn_switch *sw, JsonObject *a, JsonBuilder *b, GError **err)
{
	const char *net, *mac, *ip;

	ARG_STR(net, "net", true);
	ARG_STR(mac, "mac", true);
	ARG_STR(ip, "ip", true);
	json_builder_add_null_value(b);
	return vn_switch_vtep_add(sw, net, mac, ip, err);
}

static int cmd_vtep_del(struct vn_switch *sw, JsonObject *a, JsonBuilder *b, GError **err)
{
	const char *net, *mac;

	ARG_STR(net, "net", true);
	ARG_STR(mac, "mac", true);
	json_builder_add_null_value(b);
	return vn_switch_vtep_del(sw, net, mac, err);
}

static int cmd_vtep_show(struct vn_switch *sw, JsonObject *a, JsonBuilder *b, GError **err)
{
	const char *net;

	ARG_STR(net, "net", false);
	return vn_switch_json_vteps(sw, net, b, err);
}

static int cmd_nat_forward_add(struct vn_switch *sw, JsonObject *a, JsonBuilder *b, GError **err)
{
	json_builder_add_null_value(b);
	return vn_switch_nat_forward(sw, a, true, err);
}

static int cmd_nat_forward_del(struct vn_switch *sw, JsonObject *a, JsonBuilder *b, GError **err)
{
	json_builder_add_null_value(b);
	return vn_switch_nat_forward(sw, a, false, err);
}

static int cmd_nat_forward_list(struct vn_switch *sw, JsonObject *a, JsonBuilder *b, GError **err)
{
	const char *net;

	ARG_STR(net, "net", false);
	return vn_switch_nat_json(sw, net, false, b, err);
}

static int cmd_nat_conntrack(struct vn_switch *sw, JsonObject *a, JsonBuilder *b, GError **err)
{
	const char *net;

	ARG_STR(net, "net", false);
	return vn_switch_nat_json(sw, net, true, b, err);
}

static int cmd_nat_conntrack_flush(struct vn_switch *sw, JsonObject *a, JsonBuilder *b,
				   GError **err)
{
	const char *net;

	ARG_STR(net, "net", false);
	return vn_switch_nat_flush(sw, net, b, err);
}

static int cmd_stats(struct vn_switch *sw, JsonObject *a, JsonBuilder *b, GError **err)
{
	const char *port, *vm;

	ARG_STR(port, "port", false);
	ARG_STR(vm, "vm", false);
	return vn_switch_json_stats(sw, port, vm, b, err);
}

/* log.level [level]: set the log level (or only report it). */
static int cmd_log_level(struct vn_switch *sw, JsonObject *a, JsonBuilder *b, GError **err)
{
	const char *name;
	int old = vn_log_get_level(), l;

	ARG_STR(name, "level", false);
	if (name) {
		l = vn_log_parse_level(name);
		if (l < 0) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "'%s' is not a log level (error, warning, info, debug)", name);
			return -EINVAL;
		}
		vn_log_set_level(l);
		if (l != old)
			vn_log(l < VN_LOG_INFO ? l : VN_LOG_INFO, "log level %s (was %s)",
			       vn_log_level_name(l), vn_log_level_name(old));
	}
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "level");
	json_builder_add_string_value(b, vn_log_level_name(vn_log_get_level()));
	if (name) {
		json_builder_set_member_name(b, "previous");
		json_builder_add_string_value(b, vn_log_level_name(old));
	}
	json_builder_end_object(b);
	return 0;
}

static int cmd_stats_reset(struct vn_switch *sw, JsonObject *a, JsonBuilder *b, GError **err)
{
	const char *port, *vm;
	int n;

	ARG_STR(port, "port", false);
	ARG_STR(vm, "vm", false);
	n = vn_switch_stats_reset(sw, vm, port, err);
	if (n < 0)
		return n;
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "reset");
	json_builder_add_int_value(b, n);
	json_builder_end_object(b);
	return 0;
}

/* The file descriptor that came with the request being handled (SCM_RIGHTS), or -1. */
static int *req_fd;

static int cmd_capture_start(struct vn_switch *sw, JsonObject *a, JsonBuilder *b, GError **err)
{
	const char *port;
	guint64 count = 0, duration = 0, snaplen = 0;
	int rc, fd;

	ARG_STR(port, "port", true);
	if ((rc = vn_arg_uint(a, "count", 0, G_MAXINT64, &count, err)) < 0 ||
	    (rc = vn_arg_uint(a, "duration", 0, 86400 * 365, &duration, err)) < 0 ||
	    (rc = vn_arg_uint(a, "snaplen", 0, 65535, &snaplen, err)) < 0)
		return rc;
	if (!req_fd || *req_fd < 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "capture.start needs the output file's descriptor (SCM_RIGHTS)");
		return -EINVAL;
	}
	fd = *req_fd;
	*req_fd = -1; /* the capture owns it now */
	rc = vn_capture_start(sw, port, fd, count, (unsigned)duration, (uint32_t)snaplen, err);
	if (rc < 0)
		return rc;
	return vn_capture_json((unsigned)rc, b, err);
}

static int cmd_capture_status(struct vn_switch *sw, JsonObject *a, JsonBuilder *b, GError **err)
{
	guint64 id = 0;
	int rc;

	if ((rc = vn_arg_uint(a, "id", 1, G_MAXUINT32, &id, err)) < 0)
		return rc;
	return vn_capture_json((unsigned)id, b, err);
}

static int cmd_capture_stop(struct vn_switch *sw, JsonObject *a, JsonBuilder *b, GError **err)
{
	guint64 id = 0;
	int rc;

	if ((rc = vn_arg_uint(a, "id", 1, G_MAXUINT32, &id, err)) < 0 ||
	    (rc = vn_capture_stop((unsigned)id, err)) < 0)
		return rc;
	return vn_capture_json((unsigned)id, b, err);
}

static int cmd_libvirt_status(struct vn_switch *sw, JsonObject *a, JsonBuilder *b, GError **err)
{
	vn_virt_json_status(b);
	return 0;
}

static const struct {
	const char *name;
	cmd_fn fn;
} commands[] = {
    {"ping", cmd_ping},
    {"net.add", cmd_net_add},
    {"net.del", cmd_net_del},
    {"net.list", cmd_net_list},
    {"net.show", cmd_net_show},
    {"net.set", cmd_net_set},
    {"port.add", cmd_port_add},
    {"port.del", cmd_port_del},
    {"port.list", cmd_port_list},
    {"port.show", cmd_port_show},
    {"port.set", cmd_port_set},
    {"port.announce", cmd_port_announce},
    {"fdb.show", cmd_fdb_show},
    {"fdb.add", cmd_fdb_add},
    {"fdb.flush", cmd_fdb_flush},
    {"vtep.add", cmd_vtep_add},
    {"vtep.del", cmd_vtep_del},
    {"vtep.show", cmd_vtep_show},
    {"nat.forward.add", cmd_nat_forward_add},
    {"nat.forward.del", cmd_nat_forward_del},
    {"nat.forward.list", cmd_nat_forward_list},
    {"nat.conntrack", cmd_nat_conntrack},
    {"nat.conntrack.flush", cmd_nat_conntrack_flush},
    {"stats", cmd_stats},
    {"stats.reset", cmd_stats_reset},
    {"log.level", cmd_log_level},
    {"capture.start", cmd_capture_start},
    {"capture.status", cmd_capture_status},
    {"capture.stop", cmd_capture_stop},
    {"trace", cmd_trace},
    {"libvirt.status", cmd_libvirt_status},
};

static char *error_line(const char *msg)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) g = json_generator_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "ok");
	json_builder_add_boolean_value(b, FALSE);
	json_builder_set_member_name(b, "error");
	json_builder_add_string_value(b, msg);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(g, root);
	return json_generator_to_data(g, NULL);
}

/*
 * Deepest [/{ nesting of @line, counted outside strings (a backslash escapes the next
 * character), stopping as soon as it passes @max. json-glib before 1.8 recurses once per
 * level without a limit of its own, so this runs before the parser sees the line.
 */
static unsigned json_depth(const char *line, gsize len, unsigned max)
{
	unsigned depth = 0, deepest = 0;
	bool in_str = false;

	for (gsize i = 0; i < len; i++) {
		char ch = line[i];

		if (in_str) {
			if (ch == '\\')
				i++; /* the escaped character, whatever it is */
			else if (ch == '"')
				in_str = false;
			continue;
		}
		switch (ch) {
		case '"':
			in_str = true;
			break;
		case '[':
		case '{':
			depth++;
			if (depth > deepest)
				deepest = depth;
			if (deepest > max)
				return deepest;
			break;
		case ']':
		case '}':
			if (depth)
				depth--;
			break;
		default:
			break;
		}
	}
	return deepest;
}

char *vn_ctl_handle_line(struct vn_switch *sw, const char *line, gsize len)
{
	g_autoptr(JsonParser) p = json_parser_new();
	g_autoptr(GError) err = NULL;
	g_autoptr(JsonBuilder) b = NULL;
	g_autoptr(JsonGenerator) g = NULL;
	g_autoptr(JsonNode) root = NULL;
	JsonNode *req, *argsn;
	JsonObject *o, *args = NULL;
	const char *cmd;
	cmd_fn fn = NULL;

	if (!g_utf8_validate(line, (gssize)len, NULL))
		return error_line("malformed request: not UTF-8");
	if (json_depth(line, len, VN_CTL_MAX_DEPTH) > VN_CTL_MAX_DEPTH) {
		g_autofree char *m = g_strdup_printf(
		    "malformed request: JSON nested deeper than %d levels", VN_CTL_MAX_DEPTH);
		return error_line(m);
	}
	if (!json_parser_load_from_data(p, line, (gssize)len, &err)) {
		g_autofree char *m = g_strdup_printf("malformed JSON: %s", err->message);
		return error_line(m);
	}
	req = json_parser_get_root(p);
	if (!req || !JSON_NODE_HOLDS_OBJECT(req))
		return error_line("malformed request: expected a JSON object");
	o = json_node_get_object(req);
	cmd = vn_obj_str(o, "cmd");
	if (!cmd)
		return error_line("malformed request: missing string member 'cmd'");
	argsn = json_object_get_member(o, "args");
	if (argsn && !JSON_NODE_HOLDS_NULL(argsn)) {
		if (!JSON_NODE_HOLDS_OBJECT(argsn))
			return error_line("malformed request: 'args' must be an object");
		args = json_node_get_object(argsn);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
		if (strcmp(commands[i].name, cmd) == 0)
			fn = commands[i].fn;
	if (!fn) {
		g_autofree char *m = g_strdup_printf("unknown command '%s'", cmd);
		return error_line(m);
	}
	b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "ok");
	json_builder_add_boolean_value(b, TRUE);
	json_builder_set_member_name(b, "result");
	if (fn(sw, args, b, &err) < 0)
		return error_line(err ? err->message : "failed");
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	g = json_generator_new();
	json_generator_set_root(g, root);
	return json_generator_to_data(g, NULL);
}

char *vn_ctl_handle_request(struct vn_switch *sw, const char *line, gsize len, int *fd)
{
	char *resp;

	req_fd = fd;
	resp = vn_ctl_handle_line(sw, line, len);
	req_fd = NULL;
	return resp;
}

/* ---- socket server ---- */

static void client_close(struct ctl_client *c)
{
	if (c->in_src)
		g_source_remove(c->in_src);
	if (c->out_src)
		g_source_remove(c->out_src);
	close(c->fd);
	vn_ctl_frame_clear(&c->frame);
	g_string_free(c->out, TRUE);
	g_ptr_array_remove(c->ctl->clients, c);
	g_free(c);
}

static gboolean client_writable(int fd, GIOCondition cond, gpointer ud);

/* Write what we can; keep the rest for when the socket drains. Return: false if closed. */
static bool client_flush(struct ctl_client *c)
{
	while (c->out->len) {
		ssize_t n = send(c->fd, c->out->str, c->out->len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			client_close(c);
			return false;
		}
		g_string_erase(c->out, 0, n);
	}
	if (c->out->len && !c->out_src)
		c->out_src = g_unix_fd_add(c->fd, G_IO_OUT, client_writable, c);
	if (!c->out->len && c->closing) {
		client_close(c);
		return false;
	}
	return true;
}

static gboolean client_writable(int fd, GIOCondition cond, gpointer ud)
{
	struct ctl_client *c = ud;

	c->out_src = 0;
	client_flush(c);
	return G_SOURCE_REMOVE;
}

static void client_reply(struct ctl_client *c, char *line)
{
	g_string_append(c->out, line);
	g_string_append_c(c->out, '\n');
	g_free(line);
}

/*
 * A client that keeps sending requests but does not read the replies: once more than
 * VN_CTL_MAX_OUT is waiting for it, close it instead of answering (memory stays bounded by
 * VN_CTL_MAX_OUT plus one reply). Counted; logged the first time, then at debug level.
 * Return: true if @c was closed.
 */
static bool client_drop_if_stuck(struct ctl_client *c)
{
	struct vn_ctl *ctl = c->ctl;

	if (c->out->len <= VN_CTL_MAX_OUT)
		return false;
	if (ctl->dropped_slow++ == 0)
		VN_WARN("control: closing a client that does not read its replies (%zu bytes "
			"pending, limit %u); further ones are logged at debug level",
			c->out->len, (unsigned)VN_CTL_MAX_OUT);
	else
		VN_DBG("control: closing a client that does not read its replies (%zu bytes "
		       "pending, %" G_GUINT64_FORMAT " so far)",
		       c->out->len, ctl->dropped_slow);
	client_close(c);
	return true;
}

static gboolean client_readable(int fd, GIOCondition cond, gpointer ud)
{
	struct ctl_client *c = ud;
	char buf[4096];
	union {
		char b[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = {buf, sizeof(buf)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf.b,
			    .msg_controllen = sizeof(cbuf.b)};
	ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	const char *line;
	gssize len;

	if (n > 0)
		vn_ctl_frame_push(&c->frame, &mh, (size_t)n);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		c->in_src = 0;
		client_close(c);
		return G_SOURCE_REMOVE;
	}
	if (n < 0)
		return G_SOURCE_CONTINUE;
	while ((len = vn_ctl_frame_next(&c->frame, &line)) > 0) {
		if (client_drop_if_stuck(c))
			return G_SOURCE_REMOVE; /* client_close destroyed this source */
		c->last_request = g_get_monotonic_time();
		client_reply(c, vn_ctl_handle_request(c->ctl->sw, line, (gsize)len, &c->frame.fd));
	}
	if (len < 0) {
		client_reply(c, error_line("request line too long"));
		c->closing = true;
		c->in_src = 0; /* this source ends with G_SOURCE_REMOVE */
		client_flush(c);
		return G_SOURCE_REMOVE;
	}
	if (!client_flush(c))
		return G_SOURCE_REMOVE; /* closed: client_close destroyed this source */
	return G_SOURCE_CONTINUE;
}

/*
 * The peer's supplementary groups as they were when it connected (SO_PEERGROUPS, Linux
 * 4.13+): no NSS look-up, which could block the main loop on a slow directory service.
 * Return: 1 if @gid is among them, 0 if not, -ENOPROTOOPT (or another -errno) if the kernel
 * cannot tell.
 */
static int peer_in_group(int fd, gid_t gid)
{
	g_autofree gid_t *groups = NULL;
	socklen_t len = 64 * sizeof(gid_t);

	for (int tries = 0; tries < 3; tries++) {
		g_free(groups);
		groups = g_malloc(len ? len : sizeof(gid_t));
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0) {
			for (size_t i = 0; i < len / sizeof(gid_t); i++)
				if (groups[i] == gid)
					return 1;
			return 0;
		}
		if (errno != ERANGE) /* len now holds the size needed */
			return -errno;
	}
	return -ERANGE;
}

/* Before SO_PEERGROUPS: the groups the user database gives the peer's uid (NSS). */
static bool peer_in_group_nss(uid_t uid, gid_t gid)
{
	struct passwd *pw = getpwuid(uid);
	gid_t groups[256];
	int ng = G_N_ELEMENTS(groups);

	if (pw && getgrouplist(pw->pw_name, pw->pw_gid, groups, &ng) >= 0)
		for (int i = 0; i < ng; i++)
			if (groups[i] == gid)
				return true;
	return false;
}

/* May the peer on @fd use the socket? Its uid goes to @uid (for the root slot). */
static bool peer_allowed(struct vn_ctl *ctl, int fd, uid_t *uid)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	int rc;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0)
		return false;
	*uid = cr.uid;
	if (cr.uid == 0 || cr.uid == geteuid())
		return true;
	if (!ctl->has_gid)
		return false;
	if (cr.gid == ctl->gid)
		return true;
	rc = peer_in_group(fd, ctl->gid);
	if (rc >= 0)
		return rc == 1;
	return peer_in_group_nss(cr.uid, ctl->gid);
}

static void refuse(int fd, const char *msg)
{
	g_autofree char *line = error_line(msg);
	g_autofree char *full = g_strdup_printf("%s\n", line);

	if (send(fd, full, strlen(full), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		VN_DBG("control: refusing a client: %s", g_strerror(errno));
	close(fd);
}

static gboolean ctl_accept(int lfd, GIOCondition cond, gpointer ud)
{
	struct vn_ctl *ctl = ud;
	struct ctl_client *c;
	uid_t uid = (uid_t)-1;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	unsigned limit;

	if (fd < 0)
		return G_SOURCE_CONTINUE;
	if (!peer_allowed(ctl, fd, &uid)) {
		ctl->refused_cred++;
		VN_LOG_RL(VN_LOG_WARN, "control: peer not allowed (uid/gid check)");
		refuse(fd, "permission denied");
		return G_SOURCE_CONTINUE;
	}
	/* the last slot is root's: idle or hostile group members cannot lock root out */
	limit = uid == 0 || ctl->max_clients < 2 ? ctl->max_clients : ctl->max_clients - 1;
	if (ctl->clients->len >= limit) {
		ctl->refused_limit++;
		VN_LOG_RL(VN_LOG_WARN, "control: client limit (%u, the last for root) reached",
			  ctl->max_clients);
		refuse(fd, "too many control clients");
		return G_SOURCE_CONTINUE;
	}
	c = g_new0(struct ctl_client, 1);
	c->ctl = ctl;
	c->fd = fd;
	vn_ctl_frame_init(&c->frame);
	c->out = g_string_new(NULL);
	c->last_request = g_get_monotonic_time();
	c->in_src = g_unix_fd_add(fd, G_IO_IN | G_IO_HUP | G_IO_ERR, client_readable, c);
	g_ptr_array_add(ctl->clients, c);
	return G_SOURCE_CONTINUE;
}

/* Once a second: close the clients without a complete request for idle_timeout seconds. */
static gboolean ctl_idle_sweep(gpointer ud)
{
	struct vn_ctl *ctl = ud;
	gint64 cutoff = g_get_monotonic_time() - (gint64)ctl->idle_timeout * G_USEC_PER_SEC;

	for (guint i = ctl->clients->len; i-- > 0;) {
		struct ctl_client *c = ctl->clients->pdata[i];

		if (c->last_request > cutoff)
			continue;
		ctl->dropped_idle++;
		VN_LOG_RL(VN_LOG_INFO, "control: closing a client idle for %u s (ctl_idle_timeout)",
			  ctl->idle_timeout);
		client_close(c); /* removes pdata[i]; lower indexes stay */
	}
	return G_SOURCE_CONTINUE;
}

struct vn_ctl *vn_ctl_start(struct vn_switch *sw, const char *path, const char *group,
			    unsigned max_clients, unsigned idle_timeout, GError **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	g_autofree char *dir = g_path_get_dirname(path);
	struct vn_ctl *ctl;
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FILENAME_TOO_LONG,
			    "control socket path too long: %s", path);
		return NULL;
	}
	if (g_mkdir_with_parents(dir, 0755) != 0) {
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(errno), "cannot create %s: %s",
			    dir, g_strerror(errno));
		return NULL;
	}
	if (lstat(path, &st) == 0) {
		int probe;
		if (!S_ISSOCK(st.st_mode)) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_EXISTS,
				    "%s exists and is not a socket", path);
			return NULL;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		memcpy(sa.sun_path, path, strlen(path) + 1);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
				    "another vnicd is already serving %s", path);
			return NULL;
		}
		if (probe >= 0)
			close(probe);
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(errno), "socket: %s",
			    g_strerror(errno));
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0) {
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(errno),
			    "cannot listen on %s: %s", path, g_strerror(errno));
		close(fd);
		return NULL;
	}
	ctl = g_new0(struct vn_ctl, 1);
	if (group) {
		struct group *gr = getgrnam(group);
		if (!gr) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
				    "socket_group '%s' does not exist", group);
			close(fd);
			unlink(path);
			g_free(ctl);
			return NULL;
		}
		ctl->gid = gr->gr_gid;
		ctl->has_gid = true;
		if (chown(path, (uid_t)-1, gr->gr_gid) != 0)
			VN_WARN("chown %s: %s", path, g_strerror(errno));
	}
	if (chmod(path, 0660) != 0)
		VN_WARN("chmod %s: %s", path, g_strerror(errno));
	ctl->sw = sw;
	ctl->path = g_strdup(path);
	ctl->fd = fd;
	ctl->max_clients = max_clients;
	ctl->idle_timeout = idle_timeout;
	ctl->clients = g_ptr_array_new();
	ctl->src = g_unix_fd_add(fd, G_IO_IN, ctl_accept, ctl);
	if (idle_timeout)
		ctl->idle_src = g_timeout_add_seconds(1, ctl_idle_sweep, ctl);
	return ctl;
}

void vn_ctl_stop(struct vn_ctl *ctl)
{
	if (!ctl)
		return;
	while (ctl->clients->len)
		client_close(ctl->clients->pdata[0]);
	g_ptr_array_free(ctl->clients, TRUE);
	g_source_remove(ctl->src);
	if (ctl->idle_src)
		g_source_remove(ctl->idle_src);
	close(ctl->fd);
	unlink(ctl->path);
	g_free(ctl->path);
	g_free(ctl);
}

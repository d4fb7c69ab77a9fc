/* SPDX-License-Identifier: MIT */
/* vnicd-libvirt-hook's side of vnicd's control socket: find it, one request, one answer. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "hook.h"
#include "vnicd/domxml.h"

struct hook_conn {
	int fd;
	GString *in; /* bytes read after the last answer */
};

/**
 * hook_socket_path() - where vnicd listens (see hook.h). Return: a new string.
 */
char *hook_socket_path(const char *given, const char *config)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	const char *env = g_getenv("VNICD_SOCKET");
	g_autofree char *v = NULL;

	if (given)
		return g_strdup(given);
	if (env && *env)
		return g_strdup(env);
	if (!config)
		config = g_getenv("VNICD_CONFIG") ? g_getenv("VNICD_CONFIG") : HOOK_DEFAULT_CONFIG;
	if (g_key_file_load_from_file(kf, config, G_KEY_FILE_NONE, NULL))
		v = g_key_file_get_string(kf, "vnicd", "control_socket", NULL);
	if (v && *g_strstrip(v))
		return g_steal_pointer(&v);
	return g_strdup(HOOK_DEFAULT_SOCKET);
}

/**
 * hook_connect() - connect to vnicd at @path. Return: the connection, or NULL with @err.
 */
struct hook_conn *hook_connect(const char *path, GError **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct hook_conn *c;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "vnicd's socket path is too long: %s", path);
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* non-blocking: a unix connect never waits, but a full backlog fails at once */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(e),
			    "cannot reach vnicd at %s: %s", path, g_strerror(e));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	c = g_new0(struct hook_conn, 1);
	c->fd = fd;
	c->in = g_string_new(NULL);
	return c;
}

/* Wait for @events on @c for what is left of @deadline (monotonic us). */
static int wait_fd(struct hook_conn *c, short events, gint64 deadline, GError **err)
{
	for (;;) {
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;
		struct pollfd p = {.fd = c->fd, .events = events};
		int n;

		if (left <= 0) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
				    "vnicd did not answer within %d ms", HOOK_REPLY_TIMEOUT_MS);
			return -ETIMEDOUT;
		}
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR) {
			g_set_error(err, G_IO_ERROR, g_io_error_from_errno(errno), "poll: %s",
				    g_strerror(errno));
			return -errno;
		}
	}
}

static int send_all(struct hook_conn *c, const char *s, size_t len, gint64 deadline, GError **err)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(c->fd, s + off, len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(c, POLLOUT, deadline, err) < 0)
				return -ETIMEDOUT;
		} else {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_CLOSED, "sending to vnicd: %s",
				    g_strerror(errno));
			return -EPIPE;
		}
	}
	return 0;
}

/* One answer line (without its newline) into a new string, or NULL with @err. */
static char *read_line(struct hook_conn *c, gint64 deadline, GError **err)
{
	char buf[16384], *nl;

	while (!(nl = memchr(c->in->str, '\n', c->in->len))) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
		if (n > 0) {
			if (c->in->len + (size_t)n > 16u * 1024 * 1024) {
				g_set_error(err, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
					    "vnicd's answer is too long");
				return NULL;
			}
			g_string_append_len(c->in, buf, n);
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(c, POLLIN, deadline, err) < 0)
				return NULL;
		} else {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_CLOSED,
				    "vnicd closed the connection without an answer");
			return NULL;
		}
	}
	char *line = g_strndup(c->in->str, (gsize)(nl - c->in->str));
	g_string_erase(c->in, 0, nl - c->in->str + 1);
	return line;
}

/**
 * hook_call() - send @req and wait for its answer. Return: the result (a new reference), or
 * NULL with @err.
 */
JsonNode *hook_call(struct hook_conn *c, JsonNode *req, GError **err)
{
	gint64 deadline = g_get_monotonic_time() + HOOK_REPLY_TIMEOUT_MS * 1000;
	g_autofree char *line = vn_domxml_request_line(req);
	g_autofree char *ans = NULL;
	g_autoptr(JsonParser) p = json_parser_new();
	g_autoptr(GError) perr = NULL;
	JsonObject *o;
	JsonNode *res;

	line = g_realloc(line, strlen(line) + 2);
	strcat(line, "\n");
	if (send_all(c, line, strlen(line), deadline, err) < 0 ||
	    !(ans = read_line(c, deadline, err)))
		return NULL;
	if (!json_parser_load_from_data(p, ans, -1, &perr) ||
	    !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "malformed answer from vnicd");
		return NULL;
	}
	o = json_node_get_object(json_parser_get_root(p));
	if (!json_object_get_boolean_member_with_default(o, "ok", FALSE)) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "%s",
			    json_object_get_string_member_with_default(o, "error", "failed"));
		return NULL;
	}
	res = json_object_get_member(o, "result");
	return res ? json_node_copy(res) : json_node_new(JSON_NODE_NULL);
}

/** hook_close() - close and free @c (NULL is fine). */
void hook_close(struct hook_conn *c)
{
	if (!c)
		return;
	close(c->fd);
	g_string_free(c->in, TRUE);
	g_free(c);
}

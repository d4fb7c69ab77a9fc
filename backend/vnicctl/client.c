/* SPDX-License-Identifier: MIT */
/* vnicctl's side of the control socket: one request, one answer; and a capture session. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vnicctl.h"

/* Send @len bytes of @req whole on @fd (the first byte with @pass_fd when >= 0); exit on error. */
static void send_request(int fd, const char *req, size_t len, int pass_fd)
{
	size_t off = 0;

	if (pass_fd >= 0) {
		union {
			char b[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} cbuf;
		struct iovec iov = {(void *)req, 1};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = cbuf.b,
				    .msg_controllen = sizeof(cbuf.b)};
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
		if (sendmsg(fd, &mh, MSG_NOSIGNAL) != 1) {
			fprintf(stderr, "vnicctl: sending to vnicd failed: %s\n",
				g_strerror(errno));
			exit(VC_EXIT_CONNECT);
		}
		off = 1;
	}
	while (off < len) {
		ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (n <= 0) {
			fprintf(stderr, "vnicctl: sending to vnicd failed: %s\n",
				g_strerror(errno));
			exit(VC_EXIT_CONNECT);
		}
		off += (size_t)n;
	}
}

/**
 * vc_transact() - send one request line @req to vnicd at @path (with @pass_fd attached through
 * SCM_RIGHTS when >= 0) and read one response line into @parser. Exits with VC_EXIT_CONNECT
 * when vnicd cannot be reached or closes without an answer, with 1 on a malformed answer.
 * Return: the response's root node, owned by @parser.
 */
JsonNode *vc_transact(const char *path, const char *req, JsonParser *parser, int pass_fd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	g_autoptr(GString) resp = g_string_new(NULL);
	g_autoptr(GError) err = NULL;
	char buf[65536];
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "vnicctl: socket path too long: %s\n", path);
		exit(VC_EXIT_CONNECT);
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "vnicctl: cannot connect to vnicd at %s: %s\n", path,
			g_strerror(errno));
		exit(VC_EXIT_CONNECT);
	}
	send_request(fd, req, strlen(req), pass_fd);
	while (!memchr(resp->str, '\n', resp->len)) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0) {
			fprintf(stderr, "vnicctl: vnicd closed the connection without an answer\n");
			exit(VC_EXIT_CONNECT);
		}
		g_string_append_len(resp, buf, n);
	}
	close(fd);
	if (!json_parser_load_from_data(parser, resp->str, (gssize)resp->len, &err)) {
		fprintf(stderr, "vnicctl: malformed answer from vnicd: %s\n", err->message);
		exit(1);
	}
	return json_parser_get_root(parser);
}

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	interrupted = 1;
}

/* Ask vnicd for {"cmd": cmd, "args": {"id": id}}; exit on error. Return: the result object. */
static JsonObject *capture_call(const char *sock, const char *cmd, gint64 id, JsonParser *p)
{
	g_autofree char *line =
	    g_strdup_printf("{\"cmd\":\"%s\",\"args\":{\"id\":%" G_GINT64_FORMAT "}}\n", cmd, id);
	JsonNode *root = vc_transact(sock, line, p, -1);
	JsonObject *ro = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;

	if (!ro || !json_object_get_boolean_member_with_default(ro, "ok", FALSE)) {
		fprintf(stderr, "vnicctl: error: %s\n",
			ro ? vc_str(ro, "error", "?") : "bad answer");
		exit(1);
	}
	return json_object_get_object_member(ro, "result");
}

/* The capture.start request line for @port with the limits that are > 0. */
static char *capture_start_line(const char *port, gint64 count, gint64 duration, gint64 snaplen)
{
	g_autoptr(GString) req = g_string_new("{\"cmd\":\"capture.start\",\"args\":{\"port\":");
	g_autoptr(JsonNode) n = json_node_new(JSON_NODE_VALUE);
	g_autofree char *q = NULL;

	json_node_set_string(n, port);
	q = json_to_string(n, FALSE);
	g_string_append(req, q);
	if (count > 0)
		g_string_append_printf(req, ",\"count\":%" G_GINT64_FORMAT, count);
	if (duration > 0)
		g_string_append_printf(req, ",\"duration\":%" G_GINT64_FORMAT, duration);
	if (snaplen > 0)
		g_string_append_printf(req, ",\"snaplen\":%" G_GINT64_FORMAT, snaplen);
	g_string_append(req, "}}\n");
	return g_string_free(g_steal_pointer(&req), FALSE);
}

/*
 * Poll capture @id until it is no longer running (Ctrl-C stops it), showing progress on stderr.
 * Return: the exit status.
 */
static int capture_wait(const char *sock, gint64 id, const char *port, const char *out, bool json)
{
	gint64 last_shown = -1;
	bool tty = isatty(2);

	for (;;) {
		g_autoptr(JsonParser) sp = json_parser_new();
		JsonObject *st;
		gint64 secs;

		if (interrupted) {
			capture_call(sock, "capture.stop", id, sp);
			interrupted = 0;
			continue;
		}
		st = capture_call(sock, "capture.status", id, sp);
		secs = (gint64)json_object_get_double_member_with_default(st, "seconds", 0);
		if (strcmp(vc_str(st, "state", "?"), "running") != 0) {
			if (tty && last_shown >= 0)
				fputc('\n', stderr);
			vc_render_capture(st, id, port, out, json);
			if (strcmp(vc_str(st, "state", "?"), "done") != 0) {
				fprintf(stderr, "vnicctl: capture failed: %s\n",
					vc_str(st, "error", "?"));
				return 1;
			}
			return 0;
		}
		if (tty || secs != last_shown) {
			fprintf(stderr,
				"%scapture %" G_GINT64_FORMAT ": %" G_GINT64_FORMAT
				" packets, %" G_GINT64_FORMAT " dropped, %" G_GINT64_FORMAT " s%s",
				tty ? "\r" : "", id, vc_int(st, "packets"), vc_int(st, "dropped"),
				secs, tty ? "   " : "\n");
			last_shown = secs;
		}
		g_usleep(200 * 1000);
	}
}

/**
 * vc_capture() - record both directions of @port into the file @out (opened here, with the
 * caller's rights, and handed to vnicd), at most @count frames / @duration seconds when > 0,
 * @snaplen bytes of each when > 0, until vnicd says it is done or Ctrl-C; progress goes to
 * stderr, the result to stdout (as JSON when @json).
 * Return: the exit status (0 when the capture is done).
 */
int vc_capture(const char *sock, const char *port, const char *out, gint64 count, gint64 duration,
	       gint64 snaplen, bool json)
{
	g_autoptr(JsonParser) p = json_parser_new();
	g_autofree char *req = NULL;
	JsonObject *ro;
	JsonNode *root;
	struct stat made = {0};
	bool created = true;
	gint64 id;
	int fd;

	/*
	 * Neither truncated nor removed before vnicd accepted the capture: vnicd empties a
	 * regular file itself once it has (the fd carries our right to write it); a file this
	 * call created is removed again on refusal, one that was there is left as it was.
	 */
	fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EEXIST) {
		created = false;
		fd = open(out, O_WRONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		fprintf(stderr, "vnicctl: cannot open %s: %s\n", out, g_strerror(errno));
		return 1;
	}
	if (created && fstat(fd, &made) != 0)
		created = false;
	req = capture_start_line(port, count, duration, snaplen);
	root = vc_transact(sock, req, p, fd);
	close(fd);
	ro = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
	if (!ro || !json_object_get_boolean_member_with_default(ro, "ok", FALSE)) {
		struct stat now;

		fprintf(stderr, "vnicctl: error: %s\n",
			ro ? vc_str(ro, "error", "?") : "bad answer");
		if (created && lstat(out, &now) == 0 && now.st_dev == made.st_dev &&
		    now.st_ino == made.st_ino)
			unlink(out);
		return 1;
	}
	id = vc_int(json_object_get_object_member(ro, "result"), "id");
	signal(SIGINT, on_sigint);
	signal(SIGTERM, on_sigint);
	if (count <= 0 && duration <= 0)
		fprintf(stderr, "capturing %s into %s until Ctrl-C\n", port, out);
	return capture_wait(sock, id, port, out, json);
}

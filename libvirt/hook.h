/* SPDX-License-Identifier: MIT */
/* vnicd-libvirt-hook's private interfaces: the control-socket client and `install`. */
#ifndef VNICD_HOOK_H
#define VNICD_HOOK_H

#include <stdbool.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#define HOOK_PROG "vnicd-libvirt-hook"
#define HOOK_REPLY_TIMEOUT_MS 2000 /* longest wait for one answer of vnicd */
#define HOOK_DEFAULT_SOCKET "/run/vnicd/vnicd.sock"
#define HOOK_DEFAULT_CONFIG "/etc/vnicd/vnicd.conf"
#define HOOK_DEFAULT_DIR "/etc/libvirt/hooks"

/* hook_client.c */

/** A connection to vnicd's control socket (protocol: include/vnicd/ctl.h). */
struct hook_conn;

/**
 * hook_socket_path() - where vnicd listens: @given (--socket) when not NULL, else
 * $VNICD_SOCKET, else `control_socket` of group [vnicd] in @config (NULL: $VNICD_CONFIG or
 * HOOK_DEFAULT_CONFIG; a missing file is fine), else HOOK_DEFAULT_SOCKET.
 * Return: a new string.
 */
char *hook_socket_path(const char *given, const char *config);

/**
 * hook_connect() - connect to vnicd at @path. Return: the connection, or NULL with @err
 * (one line: why vnicd cannot be reached).
 */
struct hook_conn *hook_connect(const char *path, GError **err);

/**
 * hook_call() - send @req ({"cmd", "args"}) and wait at most HOOK_REPLY_TIMEOUT_MS for the
 * answer. Return: the "result" node (a new reference; a null node for null) when ok, or
 * NULL with @err: vnicd's error message (G_IO_ERROR_FAILED), or a transport error
 * (G_IO_ERROR_CLOSED, G_IO_ERROR_TIMED_OUT, ...) after which the connection is unusable.
 */
JsonNode *hook_call(struct hook_conn *c, JsonNode *req, GError **err);

/** hook_close() - close and free @c (NULL is fine). */
void hook_close(struct hook_conn *c);

/* hook_install.c */

/**
 * hook_install() - put the hook where libvirtd runs it: @dir/qemu (@dir NULL:
 * HOOK_DEFAULT_DIR) becomes a script that execs this program (with --socket @sock when not
 * NULL); an existing hook that is not ours moves to @dir/qemu.d/ (libvirt runs those after
 * qemu). Idempotent. Reports what it did on stdout, errors on stderr.
 * Return: the exit status.
 */
int hook_install(const char *dir, const char *sock);

#endif

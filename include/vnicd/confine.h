/* SPDX-License-Identifier: MIT */
/* What users may make vnicd (root) open or create: allowed uplink devargs, server socket paths. */
#ifndef VNICD_CONFINE_H
#define VNICD_CONFINE_H

#include <stdbool.h>

#include <glib.h>

/**
 * vn_devargs_check() - whether the uplink devargs @devargs name an allowed DPDK driver with
 * allowed options only (af_packet, af_xdp, tap, memif under /run/vnicd*, a PCI address).
 * Pure string check, no DPDK. Thread: any.
 * Return: 0, or -EINVAL with @err listing what is allowed.
 */
int vn_devargs_check(const char *devargs, GError **err);

/**
 * vn_path_plain() - Return: whether @path is absolute with no empty, "." or ".." component
 * and no trailing '/' (so that a prefix comparison means containment).
 */
bool vn_path_plain(const char *path);

/**
 * vn_socket_path_allowed() - whether server socket @path lies, by its name, inside one of
 * the ';'-separated directories @dirs (the vhost_socket_dirs setting; NULL or "" allows
 * none). Thread: any. Return: 0, or -EPERM (-EINVAL for an unclean path) with @err set.
 */
int vn_socket_path_allowed(const char *path, const char *dirs, GError **err);

/**
 * vn_socket_path_resolved() - vn_socket_path_allowed() after resolving symbolic links in the
 * directory of @path and in @dirs (the directory must exist). Thread: control.
 * Return: 0, -ENOENT (no such directory) or -EPERM with @err set.
 */
int vn_socket_path_resolved(const char *path, const char *dirs, GError **err);

/**
 * vn_stale_socket_remove() - before listening on @path: nothing there is fine; a Unix
 * socket (lstat, not through a symlink) whose non-blocking stream connect is refused
 * (ECONNREFUSED: nobody listens) is a leftover and is unlinked; anything else (a live
 * listener, a datagram socket, a file, a symlink) is left alone and refused. Never blocks.
 * Thread: control. Return: 0, or -EADDRINUSE / -EEXIST with @err set.
 */
int vn_stale_socket_remove(const char *path, GError **err);

#endif

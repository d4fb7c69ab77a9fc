/* SPDX-License-Identifier: MIT */
/* Durable file replacement shared by the state file and the accounting ledger. */
#ifndef VNICD_FILEIO_H
#define VNICD_FILEIO_H

#include <stddef.h>

#include <glib.h>

/**
 * vn_file_write_atomic() - replace @path with the @len bytes at @data (mode 0600 when
 * created): write PATH.tmp, fsync it, rename it over @path, fsync the directory. A reader
 * sees the old file or the new one, never a mix; after a crash at most the last write is
 * lost. The temporary file is removed on failure. Thread: any (not concurrently for one
 * @path). Return: 0, or -errno with @err set (G_FILE_ERROR).
 */
int vn_file_write_atomic(const char *path, const char *data, size_t len, GError **err);

#endif

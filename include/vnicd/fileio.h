/* SPDX-License-Identifier: MIT */
/* Durable file replacement shared by the state file and the accounting ledger. */
#ifndef VNICD_FILEIO_H
#define VNICD_FILEIO_H

#include <stddef.h>
#include <stdint.h>

#include <glib.h>
#include <json-glib/json-glib.h>

/**
 * vn_file_write_atomic() - replace @path with the @len bytes at @data (mode 0600 when
 * created): write PATH.tmp, fsync it, rename it over @path, fsync the directory. A reader
 * sees the old file or the new one, never a mix; after a crash at most the last write is
 * lost. The temporary file is removed on failure. Thread: any (not concurrently for one
 * @path). Return: 0, or -errno with @err set (G_FILE_ERROR).
 */
int vn_file_write_atomic(const char *path, const char *data, size_t len, GError **err);

/*
 * The saver: a file replaced after every change without making the change wait for the
 * disk. vn_saver_put() writes the newest content to a new file PATH.latest-N (no fsync: in
 * the page cache, which a crash of the process does not lose; the previous PATH.latest-N is
 * removed) and returns; the saver's thread then replaces PATH with it by
 * vn_file_write_atomic() and removes PATH.latest-N once that is durable. Contents put while a
 * save runs are coalesced: only the newest one is saved next. A reader after a crash takes
 * the newest complete content of PATH and PATH.latest-* (a host crash can leave a
 * PATH.latest-N empty or short: the content must tell whether it is complete and how new).
 */
#define VN_SAVER_LATEST ".latest-"

struct vn_saver;

struct vn_saver_stats {
	uint64_t puts;		  /* contents put */
	uint64_t saves;		  /* durable saves of PATH */
	uint64_t coalesced;	  /* contents replaced by a newer one before their save */
	uint64_t failures;	  /* saves of PATH that failed (logged) */
	uint64_t latest_failures; /* PATH.latest-N that could not be written */
};

/** vn_saver_new() - a saver of @path with its thread. Thread: control. */
struct vn_saver *vn_saver_new(const char *path);

/**
 * vn_saver_put() - @text (@len bytes, taken: g_free'd by the saver) is the newest content
 * of the file: written to PATH.latest-N before this returns, durable at PATH soon after.
 * Return: 0, or -errno with @err when PATH.latest-N could not be written (the durable save
 * is still made).
 */
int vn_saver_put(struct vn_saver *s, char *text, size_t len, GError **err);

/** vn_saver_flush() - wait until the last content put is saved. Return: 0 or its -errno. */
int vn_saver_flush(struct vn_saver *s);

/** vn_saver_stats() - the saver's counters. */
void vn_saver_stats(struct vn_saver *s, struct vn_saver_stats *st);

/**
 * vn_saver_free() - save what is pending, stop the thread, free @s (NULL: nothing).
 * Return: 0, or the -errno of the last save (its PATH.latest-N is then kept).
 */
int vn_saver_free(struct vn_saver *s);

/**
 * vn_json_generation() - the "generation" member of the JSON object @root, as savers' files
 * carry it to tell which is newer (0 when it has none: an older vnicd), -1 when @root is not
 * an object.
 */
gint64 vn_json_generation(JsonNode *root);

/**
 * vn_saver_take_latest() - at start, after a run that ended without saving its last change
 * durably (killed, or the host crashed): the newest complete @path.latest-N whose generation
 * exceeds @path's replaces it (durably; renamed over it when that write fails, a full disk);
 * then they all go. @what names the file in the log. Return: the newest generation found in
 * them (-1: none), which this run's saves must exceed. Thread: control, before the saver.
 */
gint64 vn_saver_take_latest(const char *path, const char *what);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Durable files: the atomic writer (temporary file, fsync, rename, fsync the directory) and
 * the saver, which replies at once and makes the newest content durable on its own thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "vnicd/fileio.h"
#include "vnicd/log.h"

/* Write the @len bytes at @data to file @path (made or emptied), fsync it if @sync. */
static int write_file(const char *path, const char *data, size_t len, bool sync)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t off = 0;
	int e = 0;

	if (fd < 0)
		return -errno;
	while (off < len && e == 0) {
		ssize_t n = write(fd, data + off, len - off);
		if (n >= 0)
			off += (size_t)n;
		else if (errno != EINTR)
			e = errno;
	}
	if (e == 0 && sync && fsync(fd) != 0)
		e = errno;
	close(fd);
	if (e)
		unlink(path);
	return -e;
}

static int file_error(GError **err, const char *path, int rc)
{
	g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(-rc), "writing %s: %s", path,
		    g_strerror(-rc));
	return rc;
}

int vn_file_write_atomic(const char *path, const char *data, size_t len, GError **err)
{
	g_autofree char *tmp = g_strdup_printf("%s.tmp", path);
	g_autofree char *dir = g_path_get_dirname(path);
	int rc = write_file(tmp, data, len, true);
	int fd;

	if (rc < 0)
		return file_error(err, path, rc);
	if (rename(tmp, path) != 0) {
		rc = -errno;
		unlink(tmp);
		return file_error(err, path, rc);
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
}

/* ---- the saver ---- */

struct vn_saver {
	char *path;
	GMutex lock;
	GCond cond;
	GThread *thread;
	char *text; /* newest content the writer has not taken yet, or NULL */
	size_t len;
	char *latest;	   /* PATH.latest-N holding the newest content, or NULL */
	uint64_t put_seq;  /* contents put */
	uint64_t done_seq; /* the last one the writer finished (saved or failed) */
	int last_rc;
	bool stop;
	struct vn_saver_stats st;
};

/* Under the lock: the newest content is durable at PATH, its PATH.latest-N can go. */
static void drop_latest(struct vn_saver *s)
{
	if (s->latest && s->done_seq == s->put_seq && s->last_rc == 0 && !s->text) {
		unlink(s->latest);
		g_clear_pointer(&s->latest, g_free);
	}
}

static gpointer saver_run(gpointer ud)
{
	struct vn_saver *s = ud;

	g_mutex_lock(&s->lock);
	for (;;) {
		g_autoptr(GError) e = NULL;
		g_autofree char *text = NULL;
		uint64_t seq;
		size_t len;
		int rc;

		while (!s->text && !s->stop)
			g_cond_wait(&s->cond, &s->lock);
		if (!s->text)
			break;
		text = g_steal_pointer(&s->text);
		len = s->len;
		seq = s->put_seq;
		g_mutex_unlock(&s->lock);
		rc = vn_file_write_atomic(s->path, text, len, &e);
		if (rc < 0)
			VN_LOG_RL(VN_LOG_ERR, "saving %s failed: %s", s->path, e->message);
		g_mutex_lock(&s->lock);
		s->done_seq = seq;
		s->last_rc = rc;
		if (rc < 0)
			s->st.failures++;
		else
			s->st.saves++;
		drop_latest(s);
		g_cond_broadcast(&s->cond);
	}
	g_mutex_unlock(&s->lock);
	return NULL;
}

struct vn_saver *vn_saver_new(const char *path)
{
	struct vn_saver *s = g_new0(struct vn_saver, 1);

	s->path = g_strdup(path);
	g_mutex_init(&s->lock);
	g_cond_init(&s->cond);
	s->thread = g_thread_new("vn-saver", saver_run, s);
	return s;
}

int vn_saver_put(struct vn_saver *s, char *text, size_t len, GError **err)
{
	g_autofree char *name = NULL;
	int rc;

	g_mutex_lock(&s->lock);
	name = g_strdup_printf("%s" VN_SAVER_LATEST "%" PRIu64, s->path, s->put_seq + 1);
	/* a new file: not renamed over an old one, which would make ext4 write it out now */
	rc = write_file(name, text, len, false);
	if (rc == 0) { /* the previous one is no longer the newest */
		if (s->latest)
			unlink(s->latest);
		g_free(s->latest);
		s->latest = g_steal_pointer(&name);
	} else {
		s->st.latest_failures++;
		file_error(err, name, rc);
	}
	if (s->text)
		s->st.coalesced++;
	g_free(s->text);
	s->text = text;
	s->len = len;
	s->put_seq++;
	s->st.puts++;
	g_cond_signal(&s->cond);
	g_mutex_unlock(&s->lock);
	return rc;
}

int vn_saver_flush(struct vn_saver *s)
{
	int rc;

	g_mutex_lock(&s->lock);
	while (s->done_seq < s->put_seq)
		g_cond_wait(&s->cond, &s->lock);
	rc = s->last_rc;
	g_mutex_unlock(&s->lock);
	return rc;
}

void vn_saver_stats(struct vn_saver *s, struct vn_saver_stats *st)
{
	g_mutex_lock(&s->lock);
	*st = s->st;
	g_mutex_unlock(&s->lock);
}

int vn_saver_free(struct vn_saver *s)
{
	int rc;

	if (!s)
		return 0;
	g_mutex_lock(&s->lock);
	s->stop = true;
	g_cond_signal(&s->cond);
	g_mutex_unlock(&s->lock);
	g_thread_join(s->thread); /* after the last content was saved */
	rc = s->last_rc;
	g_free(s->latest); /* kept only if its save failed */
	g_free(s->text);
	g_mutex_clear(&s->lock);
	g_cond_clear(&s->cond);
	g_free(s->path);
	g_free(s);
	return rc;
}

/* ---- restoring what a saver left ---- */

gint64 vn_json_generation(JsonNode *root)
{
	JsonObject *o = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;

	if (!o)
		return -1;
	return json_object_has_member(o, "generation") ? json_object_get_int_member(o, "generation")
						       : 0;
}

/* Read and parse @file: its generation, or -1 when it is missing, short or not JSON. */
static gint64 file_generation(const char *file, char **text, gsize *len)
{
	g_autoptr(JsonParser) p = json_parser_new();
	g_autofree char *t = NULL;
	gsize l = 0;

	if (!g_file_get_contents(file, &t, &l, NULL) || !json_parser_load_from_data(p, t, l, NULL))
		return -1;
	if (text)
		*text = g_steal_pointer(&t);
	if (len)
		*len = l;
	return vn_json_generation(json_parser_get_root(p));
}

gint64 vn_saver_take_latest(const char *path, const char *what)
{
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *base = g_path_get_basename(path);
	g_autofree char *prefix = g_strconcat(base, VN_SAVER_LATEST, NULL);
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *best = NULL;
	gsize best_len = 0;
	gint64 best_gen = -1;
	const char *ent, *from = NULL;

	while (d && (ent = g_dir_read_name(d)))
		if (g_str_has_prefix(ent, prefix))
			g_ptr_array_add(found, g_build_filename(dir, ent, NULL));
	for (guint i = 0; i < found->len; i++) {
		g_autofree char *text = NULL;
		gsize len = 0;
		gint64 g = file_generation(found->pdata[i], &text, &len);
		if (g < 0)
			VN_WARN("%s: %s is incomplete (written just before a crash): ignored", what,
				(char *)found->pdata[i]);
		if (g > best_gen) {
			best_gen = g;
			g_free(best);
			best = g_steal_pointer(&text);
			best_len = len;
			from = found->pdata[i];
		}
	}
	if (best && best_gen > file_generation(path, NULL, NULL)) {
		g_autoptr(GError) e = NULL;
		if (vn_file_write_atomic(path, best, best_len, &e) < 0 && rename(from, path) != 0) {
			/* kept; this run's saves take higher generations, so that it never
			 * comes back over them */
			VN_ERR("%s: the newest change in %s not restored: %s", what, from,
			       e->message);
			return best_gen;
		}
		VN_INFO("%s: the newest change was in %s (vnicd ended before it was saved)", what,
			from);
	}
	for (guint i = 0; i < found->len; i++)
		unlink(found->pdata[i]);
	return best_gen;
}

/* SPDX-License-Identifier: MIT */
/*
 * Port capture to pcapng: bounded worker-side copies, non-blocking file writing on the
 * control thread through a bounded output buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <glib-unix.h>
#include <rte_cycles.h>
#include <rte_errno.h>

#include "vnicd/capture.h"
#include "vnicd/datapath.h"
#include "vnicd/log.h"
#include "vnicd/switch.h"

#define CAP_MAX_ACTIVE 4 /* captures running at once */
#define CAP_MAX_KEPT 16	 /* finished captures kept for status queries */
#define CAP_RING 4096	 /* copies in flight per capture */
#define CAP_SNAPLEN_MAX 65535
#define DRAIN_MS 20
/*
 * Output buffered per capture, in bytes. The client's fd is non-blocking (a FIFO or a pipe
 * to a slow reader must never stop the main loop): what the fd does not take now waits
 * here and goes out on G_IO_OUT; when this is full, frames are dropped and counted
 * (dropped_slow_reader).
 */
#define CAP_BUF_MAX (4u << 20)
#define CAP_LINGER_MS 2000 /* after the end, how long buffered output may still go out */

enum cap_state { CAP_RUNNING, CAP_DONE, CAP_FAILED };

struct session {
	unsigned id;
	char *port;
	uint16_t slot;
	int fd;
	struct vn_capture cap;
	struct vn_switch *sw;
	struct vn_dp *dp;
	uint64_t written, bytes;
	uint64_t dropped_slow; /* frames dropped because the output buffer was full */
	GByteArray *buf;       /* output not yet taken by fd, from buf_off */
	gsize buf_off;
	guint out_watch; /* G_IO_OUT on fd while buf has data the fd refused */
	guint linger;	 /* after finish(): closes fd when the rest cannot go out in time */
	gint64 started_us, deadline_us;
	enum cap_state state;
	char *error;
	char *reason;
	guint timer;
};

static GPtrArray *sessions;
static unsigned next_id = 1;

void vn_capture_burst(struct vn_capture *cap, struct rte_mbuf *const *pkts, uint16_t n,
		      uint32_t queue, enum rte_pcapng_direction dir)
{
	struct rte_mbuf *copies[VN_BURST];
	uint64_t ts = rte_get_tsc_cycles();
	unsigned k = 0, put;

	if (__atomic_load_n(&cap->taken, __ATOMIC_RELAXED) >= cap->limit)
		return;
	if (n > VN_BURST)
		n = VN_BURST;
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *c =
		    rte_pcapng_copy(0, queue, pkts[i], cap->mp, cap->snaplen, ts, dir);
		if (likely(c != NULL))
			copies[k++] = c;
	}
	put = rte_ring_enqueue_burst(cap->ring, (void **)copies, k, NULL);
	if (put < k)
		rte_pktmbuf_free_bulk(&copies[put], k - put);
	if (put)
		__atomic_add_fetch(&cap->taken, put, __ATOMIC_RELAXED);
	if (put < n)
		__atomic_add_fetch(&cap->dropped, n - put, __ATOMIC_RELAXED);
}

/* pcapng blocks vnicd writes itself: the section header and one interface (the port). */
static int put_block(GByteArray *a, uint32_t type, const void *body, uint32_t blen)
{
	uint32_t total = 12 + ((blen + 3) & ~3u);
	static const uint8_t zero[4];

	g_byte_array_append(a, (const guint8 *)&type, 4);
	g_byte_array_append(a, (const guint8 *)&total, 4);
	g_byte_array_append(a, body, blen);
	g_byte_array_append(a, zero, ((blen + 3) & ~3u) - blen);
	g_byte_array_append(a, (const guint8 *)&total, 4);
	return 0;
}

static void put_opt(GByteArray *a, uint16_t code, const void *v, uint16_t len)
{
	static const uint8_t zero[4];

	g_byte_array_append(a, (const guint8 *)&code, 2);
	g_byte_array_append(a, (const guint8 *)&len, 2);
	g_byte_array_append(a, v, len);
	g_byte_array_append(a, zero, ((len + 3u) & ~3u) - len);
}

static gboolean on_writable(gint fd, GIOCondition cond, gpointer ud);

static gsize buffered(const struct session *s)
{
	return s->buf ? s->buf->len - s->buf_off : 0;
}

/*
 * Write what the fd takes of the output buffer without blocking; when it refuses the rest,
 * watch it for G_IO_OUT. Thread: main loop. Return: 0, or -errno on an I/O error.
 */
static int flush_out(struct session *s)
{
	while (buffered(s)) {
		ssize_t n = write(s->fd, s->buf->data + s->buf_off, buffered(s));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!s->out_watch)
				s->out_watch = g_unix_fd_add(s->fd, G_IO_OUT | G_IO_ERR | G_IO_HUP,
							     on_writable, s);
			break;
		}
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		s->buf_off += (gsize)n;
	}
	if (!buffered(s)) {
		g_byte_array_set_size(s->buf, 0);
		s->buf_off = 0;
	} else if (s->buf_off >= s->buf->len / 2) {
		g_byte_array_remove_range(s->buf, 0, (guint)s->buf_off);
		s->buf_off = 0;
	}
	return 0;
}

/* The end of the output: stop watching, close the fd, free the buffer. */
static void close_out(struct session *s)
{
	if (s->out_watch)
		g_source_remove(s->out_watch);
	s->out_watch = 0;
	if (s->linger)
		g_source_remove(s->linger);
	s->linger = 0;
	if (s->fd >= 0) {
		if (buffered(s))
			VN_WARN("capture %u of port %s: %zu bytes of output not taken by the "
				"reader, discarded",
				s->id, s->port, buffered(s));
		close(s->fd);
	}
	s->fd = -1;
	if (s->buf)
		g_byte_array_free(s->buf, TRUE);
	s->buf = NULL;
	s->buf_off = 0;
}

static void finish(struct session *s, enum cap_state st, const char *reason);

static gboolean on_writable(gint fd, GIOCondition cond, gpointer ud)
{
	struct session *s = ud;
	int rc;

	(void)fd;
	(void)cond;
	s->out_watch = 0; /* flush_out() adds a new watch if it still has to wait */
	rc = flush_out(s);
	if (rc < 0) {
		if (s->state == CAP_RUNNING) {
			g_free(s->error);
			s->error = g_strdup_printf("writing the capture file: %s", g_strerror(-rc));
			finish(s, CAP_FAILED, "write error");
		}
		s->buf_off = s->buf ? s->buf->len : 0; /* nothing more can go out */
	}
	if (s->state != CAP_RUNNING && (!buffered(s) || rc < 0))
		close_out(s);
	return G_SOURCE_REMOVE;
}

static gboolean on_linger(gpointer ud)
{
	struct session *s = ud;

	s->linger = 0;
	close_out(s);
	return G_SOURCE_REMOVE;
}

static int write_headers(struct session *s)
{
	g_autoptr(GByteArray) out = g_byte_array_new();
	g_autoptr(GByteArray) body = g_byte_array_new();
	const uint32_t magic = 0x1A2B3C4D;
	const uint16_t ver[2] = {1, 0};
	const int64_t seclen = -1;
	const uint16_t linktype[2] = {1 /* Ethernet */, 0};
	const uint8_t tsresol = 9; /* nanoseconds, as rte_pcapng_copy stamps */
	g_autofree char *desc = g_strdup_printf("vnicd port %s", s->port);

	g_byte_array_append(body, (const guint8 *)&magic, 4);
	g_byte_array_append(body, (const guint8 *)ver, 4);
	g_byte_array_append(body, (const guint8 *)&seclen, 8);
	put_opt(body, 4 /* shb_userappl */, "vnicd", 5);
	put_opt(body, 0, NULL, 0);
	put_block(out, 0x0A0D0D0A, body->data, body->len);
	g_byte_array_set_size(body, 0);
	g_byte_array_append(body, (const guint8 *)linktype, 4);
	g_byte_array_append(body, (const guint8 *)&s->cap.snaplen, 4);
	put_opt(body, 2 /* if_name */, s->port, (uint16_t)strlen(s->port));
	put_opt(body, 3 /* if_description */, desc, (uint16_t)strlen(desc));
	put_opt(body, 9 /* if_tsresol */, &tsresol, 1);
	put_opt(body, 0, NULL, 0);
	put_block(out, 0x00000001, body->data, body->len);
	g_byte_array_append(s->buf, out->data, out->len);
	return flush_out(s);
}

/*
 * Move the copies the workers made into the output buffer, up to what the capture may still
 * take and what the buffer holds (the rest is dropped and counted), then write what the fd
 * takes without blocking. Thread: main loop. Return: -errno on I/O error.
 */
static int drain(struct session *s)
{
	struct rte_mbuf *pkts[64];
	unsigned n;

	while ((n = rte_ring_dequeue_burst(s->cap.ring, (void **)pkts, G_N_ELEMENTS(pkts), NULL))) {
		unsigned keep = n, slow = 0;

		if (s->cap.limit != UINT64_MAX && s->written + keep > s->cap.limit)
			keep = (unsigned)(s->cap.limit - s->written);
		for (unsigned i = 0; i < keep; i++) {
			struct rte_mbuf *m = pkts[i];
			uint32_t *epb = rte_pktmbuf_mtod(m, uint32_t *);

			if (buffered(s) + rte_pktmbuf_pkt_len(m) > CAP_BUF_MAX) {
				slow++;
				continue;
			}
			epb[2] = 0; /* interface id: the file has one interface, this port */
			s->bytes += epb[6]; /* original length */
			for (; m; m = m->next)
				g_byte_array_append(s->buf, rte_pktmbuf_mtod(m, const guint8 *),
						    rte_pktmbuf_data_len(m));
			s->written++;
		}
		if (slow) {
			s->dropped_slow += slow;
			__atomic_add_fetch(&s->cap.dropped, slow, __ATOMIC_RELAXED);
			/* not taken after all: --count still counts frames in the file */
			__atomic_sub_fetch(&s->cap.taken, slow, __ATOMIC_RELAXED);
		}
		rte_pktmbuf_free_bulk(pkts, n);
		if (buffered(s) >= CAP_BUF_MAX / 2) {
			int rc = flush_out(s);
			if (rc < 0)
				return rc;
		}
	}
	return flush_out(s);
}

static void finish(struct session *s, enum cap_state st, const char *reason)
{
	int rc;

	if (s->state != CAP_RUNNING)
		return;
	if (vn_dp_capture_get(s->dp, s->slot) == &s->cap)
		vn_dp_capture_set(s->dp, s->slot, NULL); /* waits for the workers */
	rc = drain(s);
	if (rc < 0 && st != CAP_FAILED) {
		st = CAP_FAILED;
		g_free(s->error);
		s->error = g_strdup_printf("writing the capture file: %s", g_strerror(-rc));
	}
	if (s->timer)
		g_source_remove(s->timer);
	s->timer = 0;
	/* what a slow reader has not taken yet may still go out for a while, never on shutdown */
	if (rc < 0 || !buffered(s) || !strcmp(reason, "shutdown"))
		close_out(s);
	else if (!s->linger)
		s->linger = g_timeout_add(CAP_LINGER_MS, on_linger, s);
	rte_ring_free(s->cap.ring);
	rte_mempool_free(s->cap.mp);
	s->cap.ring = NULL;
	s->cap.mp = NULL;
	s->state = st;
	s->reason = g_strdup(reason);
	VN_INFO("capture %u of port %s %s: %" G_GUINT64_FORMAT
		" packets written, %" G_GUINT64_FORMAT " dropped (%s)",
		s->id, s->port, st == CAP_DONE ? "done" : "failed", s->written,
		__atomic_load_n(&s->cap.dropped, __ATOMIC_RELAXED), reason);
}

static gboolean on_drain(gpointer ud)
{
	struct session *s = ud;
	int rc;

	if (vn_dp_capture_get(s->dp, s->slot) != &s->cap) {
		s->timer = 0;
		finish(s, CAP_DONE, "port removed");
		return G_SOURCE_REMOVE;
	}
	rc = drain(s);
	if (rc < 0) {
		s->timer = 0;
		s->error = g_strdup_printf("writing the capture file: %s", g_strerror(-rc));
		finish(s, CAP_FAILED, "write error");
		return G_SOURCE_REMOVE;
	}
	if (s->cap.limit != UINT64_MAX && s->written >= s->cap.limit) {
		s->timer = 0;
		finish(s, CAP_DONE, "count reached");
		return G_SOURCE_REMOVE;
	}
	if (s->deadline_us && g_get_monotonic_time() >= s->deadline_us) {
		s->timer = 0;
		finish(s, CAP_DONE, "duration reached");
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static void session_free(struct session *s)
{
	finish(s, CAP_DONE, "shutdown");
	close_out(s);
	g_free(s->port);
	g_free(s->error);
	g_free(s->reason);
	g_free(s);
}

/*
 * The capture's output @fd, accepted: a regular file emptied only now (vnicctl opens it
 * without O_TRUNC), and non-blocking (a FIFO or a pipe nobody empties must not block the
 * main loop). Return: 0 or -errno (@err).
 */
static int out_prepare(int fd, GError **err)
{
	struct stat st;
	int rc;

	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) < 0)) {
		rc = -errno;
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(-rc),
			    "emptying the capture file: %s", g_strerror(-rc));
		return rc;
	}
	if ((rc = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, rc | O_NONBLOCK) < 0) {
		rc = -errno;
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(-rc),
			    "capture file descriptor: %s", g_strerror(-rc));
		return rc;
	}
	return 0;
}

/* Forget the oldest finished captures while CAP_MAX_KEPT are kept. */
static void sessions_prune(void)
{
	for (guint i = 0; sessions->len >= CAP_MAX_KEPT && i < sessions->len;) {
		struct session *o = sessions->pdata[i];
		if (o->state != CAP_RUNNING) {
			g_ptr_array_remove_index(sessions, i);
			session_free(o);
		} else {
			i++;
		}
	}
}

int vn_capture_start(struct vn_switch *sw, const char *port, int fd, uint64_t count,
		     unsigned duration_s, uint32_t snaplen, GError **err)
{
	struct session *s;
	struct vn_dp *dp = vn_switch_dp(sw);
	char name[RTE_MEMPOOL_NAMESIZE];
	unsigned active = 0;
	int slot, rc;

	if (!sessions)
		sessions = g_ptr_array_new();
	slot = vn_switch_port_slot(sw, port);
	if (slot < 0 || !dp) {
		close(fd);
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no port '%s'", port);
		return -ENOENT;
	}
	for (guint i = 0; i < sessions->len; i++) {
		struct session *o = sessions->pdata[i];
		if (o->state == CAP_RUNNING && o->slot == slot) {
			close(fd);
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_BUSY,
				    "port '%s' is already being captured (capture %u)", port,
				    o->id);
			return -EBUSY;
		}
		active += o->state == CAP_RUNNING;
	}
	if (active >= CAP_MAX_ACTIVE) {
		close(fd);
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_BUSY,
			    "too many captures running (at most %d)", CAP_MAX_ACTIVE);
		return -EBUSY;
	}
	if (snaplen == 0 || snaplen > CAP_SNAPLEN_MAX)
		snaplen = snaplen ? CAP_SNAPLEN_MAX : 2048;
	s = g_new0(struct session, 1);
	s->id = next_id++;
	s->port = g_strdup(port);
	s->slot = (uint16_t)slot;
	s->fd = fd;
	s->buf = g_byte_array_new();
	s->sw = sw;
	s->dp = dp;
	s->cap.snaplen = snaplen;
	s->cap.limit = count ? count : UINT64_MAX;
	snprintf(name, sizeof(name), "cap%u_r", s->id);
	s->cap.ring = rte_ring_create(name, CAP_RING, SOCKET_ID_ANY, RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "cap%u_m", s->id);
	s->cap.mp = rte_pktmbuf_pool_create(name, CAP_RING + 511, 0, 0,
					    (uint16_t)MIN(rte_pcapng_mbuf_size(snaplen), 65535),
					    SOCKET_ID_ANY);
	if (!s->cap.ring || !s->cap.mp) {
		rc = -(rte_errno ? rte_errno : ENOMEM);
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
			    "cannot allocate capture buffers: %s", rte_strerror(-rc));
		goto out_free;
	}
	if ((rc = out_prepare(fd, err)) < 0)
		goto out_free;
	rc = write_headers(s);
	if (rc < 0) {
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(-rc),
			    "writing the capture file: %s", g_strerror(-rc));
		goto out_free;
	}
	s->started_us = g_get_monotonic_time();
	if (duration_s)
		s->deadline_us = s->started_us + (gint64)duration_s * G_USEC_PER_SEC;
	s->state = CAP_RUNNING;
	s->timer = g_timeout_add(DRAIN_MS, on_drain, s);
	s->cap.burst = vn_capture_burst;
	vn_dp_capture_set(dp, s->slot, &s->cap);
	sessions_prune();
	g_ptr_array_add(sessions, s);
	VN_INFO("capture %u of port %s started (count %" G_GUINT64_FORMAT ", duration %u s, "
		"snaplen %u)",
		s->id, port, count, duration_s, snaplen);
	return (int)s->id;

out_free:
	close_out(s);
	rte_ring_free(s->cap.ring);
	rte_mempool_free(s->cap.mp);
	g_free(s->port);
	g_free(s);
	return rc;
}

static struct session *find(unsigned id)
{
	for (guint i = 0; sessions && i < sessions->len; i++)
		if (((struct session *)sessions->pdata[i])->id == id)
			return sessions->pdata[i];
	return NULL;
}

int vn_capture_stop(unsigned id, GError **err)
{
	struct session *s = find(id);

	if (!s) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no capture %u", id);
		return -ENOENT;
	}
	finish(s, CAP_DONE, "stopped");
	return 0;
}

int vn_capture_json(unsigned id, JsonBuilder *b, GError **err)
{
	static const char *const states[] = {"running", "done", "failed"};
	struct session *s = find(id);

	if (!s) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no capture %u", id);
		return -ENOENT;
	}
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "id");
	json_builder_add_int_value(b, s->id);
	json_builder_set_member_name(b, "port");
	json_builder_add_string_value(b, s->port);
	json_builder_set_member_name(b, "state");
	json_builder_add_string_value(b, states[s->state]);
	json_builder_set_member_name(b, "packets");
	json_builder_add_int_value(b, (gint64)s->written);
	json_builder_set_member_name(b, "bytes");
	json_builder_add_int_value(b, (gint64)s->bytes);
	json_builder_set_member_name(b, "dropped");
	json_builder_add_int_value(b, (gint64)__atomic_load_n(&s->cap.dropped, __ATOMIC_RELAXED));
	json_builder_set_member_name(b, "dropped_slow_reader");
	json_builder_add_int_value(b, (gint64)s->dropped_slow);
	json_builder_set_member_name(b, "buffered_bytes");
	json_builder_add_int_value(b, (gint64)buffered(s));
	json_builder_set_member_name(b, "seconds");
	json_builder_add_double_value(b, (double)(g_get_monotonic_time() - s->started_us) / 1e6);
	json_builder_set_member_name(b, "reason");
	if (s->reason)
		json_builder_add_string_value(b, s->reason);
	else
		json_builder_add_null_value(b);
	json_builder_set_member_name(b, "error");
	if (s->error)
		json_builder_add_string_value(b, s->error);
	else
		json_builder_add_null_value(b);
	json_builder_end_object(b);
	return 0;
}

void vn_capture_shutdown(void)
{
	if (!sessions)
		return;
	while (sessions->len)
		session_free(g_ptr_array_steal_index(sessions, 0));
	g_ptr_array_free(sessions, TRUE);
	sessions = NULL;
}

/* SPDX-License-Identifier: MIT */
/* Leveled logging to stderr or systemd's journal, rate-limited per message. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vnicd/log.h"

static int log_level = VN_LOG_INFO;
static const char *const level_names[] = {"error", "warning", "info", "debug"};
static const int syslog_prio[] = {3, 4, 6, 7}; /* LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */

/*
 * Where lines go, decided once by vn_log_init(): stderr as "SECONDS.MS vnicd[LEVEL]: text",
 * or (stderr is the journal's stream: JOURNAL_STREAM names it) "<PRIO>text" (sd-daemon(3)),
 * or datagrams of journald's native protocol with the structured fields.
 */
enum target { T_STDERR, T_STREAM, T_NATIVE };
static enum target target = T_STDERR;
static int journal_fd = -1;

/*
 * Per-message rate limit: a message (its format string) may print VN_LOG_BURST lines per
 * VN_LOG_WINDOW seconds; the rest are counted and summed up in one line when the window ends.
 */
#define VN_LOG_BURST 100
#define VN_LOG_WINDOW 10
#define RL_SLOTS 128

struct rl_slot {
	const char *fmt; /* the key: call sites pass string literals */
	uint64_t window; /* start of the current window, monotonic seconds */
	unsigned printed;
	uint64_t suppressed; /* in this window */
};

static pthread_mutex_t rl_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rl_slot rl_slots[RL_SLOTS];
static uint64_t suppressed_total;

static uint64_t mono_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

void vn_log_set_level(int level)
{
	if (level < VN_LOG_ERR)
		level = VN_LOG_ERR;
	if (level > VN_LOG_DEBUG)
		level = VN_LOG_DEBUG;
	__atomic_store_n(&log_level, level, __ATOMIC_RELAXED);
}

int vn_log_get_level(void)
{
	return __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

int vn_log_parse_level(const char *name)
{
	if (!name)
		return -EINVAL;
	for (int i = 0; i <= VN_LOG_DEBUG; i++)
		if (strcasecmp(name, level_names[i]) == 0)
			return i;
	if (strcasecmp(name, "warn") == 0)
		return VN_LOG_WARN;
	if (strcasecmp(name, "err") == 0)
		return VN_LOG_ERR;
	return -EINVAL;
}

const char *vn_log_level_name(int level)
{
	return level_names[level < 0 ? 0 : level > VN_LOG_DEBUG ? VN_LOG_DEBUG : level];
}

/* Return: whether stderr is the stream JOURNAL_STREAM ("DEV:INODE") names. */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* Return: a datagram socket connected to journald's native socket @path, or -1. */
static int journal_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

void vn_log_init(void)
{
	const char *sock = getenv("VNICD_JOURNAL_SOCKET");

	if (!stderr_is_journal())
		return;
	target = T_STREAM;
	journal_fd = journal_connect(sock && *sock ? sock : "/run/systemd/journal/socket");
	if (journal_fd >= 0)
		target = T_NATIVE;
}

bool vn_log_journal(void)
{
	return target != T_STDERR;
}

/*
 * Return: whether the line of format @fmt may be printed now; *@summary: lines of it
 * suppressed in the window that just ended (0: none).
 */
static bool rl_admit(const char *fmt, uint64_t *summary)
{
	uintptr_t h = (uintptr_t)fmt;
	struct rl_slot *s;
	uint64_t now = mono_seconds();
	bool ok;

	h ^= h >> 17;
	h *= 0x9e3779b97f4a7c15ull;
	s = &rl_slots[(h >> 32) % RL_SLOTS];
	pthread_mutex_lock(&rl_lock);
	*summary = 0;
	if (s->fmt != fmt || now >= s->window + VN_LOG_WINDOW) {
		if (s->fmt == fmt)
			*summary = s->suppressed;
		s->fmt = fmt;
		s->window = now;
		s->printed = 0;
		s->suppressed = 0;
	}
	ok = s->printed < VN_LOG_BURST;
	if (ok) {
		s->printed++;
	} else {
		s->suppressed++;
		__atomic_fetch_add(&suppressed_total, 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&rl_lock);
	return ok;
}

uint64_t vn_log_suppressed(void)
{
	return __atomic_load_n(&suppressed_total, __ATOMIC_RELAXED);
}

/*
 * Add "NAME=value\n" to @iov (at most @max entries; *@n used), when @value is set and is one
 * line (a newline, in a VM's name say, would start another field: such a value is left out).
 */
static void field(struct iovec *iov, int *n, int max, const char *name, const char *value)
{
	if (!value || strchr(value, '\n') || *n + 3 > max)
		return;
	iov[(*n)++] = (struct iovec){(void *)name, strlen(name)};
	iov[(*n)++] = (struct iovec){(void *)value, strlen(value)};
	iov[(*n)++] = (struct iovec){"\n", 1};
}

/* Send @text of @level with the fields of @ctx to the journal, without blocking.
 * Return: 0, or -errno. */
static int emit_native(int level, const struct vn_log_ctx *ctx, const char *text)
{
	char prio[16];
	struct iovec iov[24];
	struct msghdr msg = {.msg_iov = iov};
	int n = 0;

	snprintf(prio, sizeof(prio), "%d", syslog_prio[level]);
	field(iov, &n, 24, "PRIORITY=", prio);
	field(iov, &n, 24, "SYSLOG_IDENTIFIER=", "vnicd");
	field(iov, &n, 24, "MESSAGE=", text);
	if (ctx) {
		field(iov, &n, 24, "VNICD_PORT=", ctx->port);
		field(iov, &n, 24, "VNICD_NETWORK=", ctx->net);
		field(iov, &n, 24, "VNICD_VM=", ctx->vm);
	}
	/* never wait for journald: a worker may be logging; a full queue falls back to stderr */
	msg.msg_iovlen = (size_t)n;
	return sendmsg(journal_fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* Print one finished line @text of @level (0..3) where vn_log_init() decided. */
static void emit(int level, const struct vn_log_ctx *ctx, const char *text)
{
	struct timespec ts;

	if (target == T_NATIVE && emit_native(level, ctx, text) == 0)
		return;
	if (target != T_STDERR) {
		fprintf(stderr, "<%d>%s\n", syslog_prio[level], text);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "%lld.%03ld vnicd[%s]: %s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000000,
		level_names[level], text);
}

/* The body of vn_log() and vn_log_ctx(). */
static void vlog(int level, const struct vn_log_ctx *ctx, const char *fmt, va_list ap)
{
	char buf[1024], note[1200];
	uint64_t summary;

	if (level > vn_log_get_level())
		return;
	level = level < 0 ? 0 : level > VN_LOG_DEBUG ? VN_LOG_DEBUG : level;
	if (!rl_admit(fmt, &summary))
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	for (char *p = buf; *p; p++)
		if (*p == '\n')
			*p = ' ';
	if (summary) {
		snprintf(note, sizeof(note), "%" PRIu64 " more lines like the next one suppressed",
			 summary);
		emit(level, ctx, note);
	}
	emit(level, ctx, buf);
}

void vn_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, NULL, fmt, ap);
	va_end(ap);
}

void vn_log_ctx(int level, const struct vn_log_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, ctx, fmt, ap);
	va_end(ap);
}

bool vn_log_ratelimit(uint64_t *last)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (*last != 0 && (uint64_t)ts.tv_sec < *last + 1) {
		__atomic_fetch_add(&suppressed_total, 1, __ATOMIC_RELAXED);
		return false;
	}
	*last = ts.tv_sec > 0 ? (uint64_t)ts.tv_sec : 1;
	return true;
}

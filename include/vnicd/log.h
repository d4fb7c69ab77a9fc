/* SPDX-License-Identifier: MIT */
/* Logging contract: leveled messages to stderr or the journal, rate-limited per message. */
#ifndef VNICD_LOG_H
#define VNICD_LOG_H

#include <stdint.h>
#include <stdbool.h>

enum vn_log_level {
	VN_LOG_ERR = 0,
	VN_LOG_WARN = 1,
	VN_LOG_INFO = 2,
	VN_LOG_DEBUG = 3,
};

/**
 * vn_log_set_level() - set the most verbose level printed.
 * @level: one of enum vn_log_level. Thread: any.
 */
void vn_log_set_level(int level);

/**
 * vn_log_get_level() - Return: the current level.
 */
int vn_log_get_level(void);

/**
 * vn_log_parse_level() - parse "error", "warning", "info" or "debug".
 * Return: the level, or -EINVAL for an unknown name.
 */
int vn_log_parse_level(const char *name);

/**
 * vn_log_level_name() - Return: the name of @level ("error", ...), static.
 */
const char *vn_log_level_name(int level);

/**
 * vn_log_init() - decide where lines go: when stderr is the journal's stream (JOURNAL_STREAM
 * names it, as systemd sets it), to journald's native socket with structured fields
 * (VNICD_JOURNAL_SOCKET overrides /run/systemd/journal/socket), else to stderr as
 * "<PRIORITY>message" lines (sd-daemon(3)); otherwise to stderr with a time stamp.
 * Thread: call once at start-up, before other threads log.
 */
void vn_log_init(void);

/** vn_log_journal() - Return: whether lines go to the journal (vn_log_init()). */
bool vn_log_journal(void);

/** Structured fields of one log line; any member may be NULL. */
struct vn_log_ctx {
	const char *port; /* the port's name: VNICD_PORT= in the journal */
	const char *net;  /* the network's name: VNICD_NETWORK= */
	const char *vm;	  /* the VM's name or UUID: VNICD_VM= */
};

/**
 * vn_log() - print one line "vnicd[LEVEL]: message" to stderr (see vn_log_init()). A message
 * (one format string) prints at most 100 lines per 10 seconds; the others are counted
 * (vn_log_suppressed()) and their number is logged with the next line let through.
 * Thread: any.
 */
void vn_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** vn_log_ctx() - vn_log() with the structured fields of @ctx (may be NULL). Thread: any. */
void vn_log_ctx(int level, const struct vn_log_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** vn_log_suppressed() - Return: lines suppressed by the rate limits since start. */
uint64_t vn_log_suppressed(void);

/**
 * vn_log_ratelimit() - true at most once a second per @last stamp (one static per call
 * site), so a guest-triggered condition cannot flood the log; a refusal counts in
 * vn_log_suppressed(). Thread: any (racy by design).
 */
bool vn_log_ratelimit(uint64_t *last);

#define VN_ERR(...) vn_log(VN_LOG_ERR, __VA_ARGS__)
#define VN_WARN(...) vn_log(VN_LOG_WARN, __VA_ARGS__)
#define VN_INFO(...) vn_log(VN_LOG_INFO, __VA_ARGS__)
#define VN_DBG(...)                                                                                \
	do {                                                                                       \
		if (vn_log_get_level() >= VN_LOG_DEBUG)                                            \
			vn_log(VN_LOG_DEBUG, __VA_ARGS__);                                         \
	} while (0)
#define VN_LOG_RL(level, ...)                                                                      \
	do {                                                                                       \
		static uint64_t vn_rl_last_;                                                       \
		if (vn_log_ratelimit(&vn_rl_last_))                                                \
			vn_log(level, __VA_ARGS__);                                                \
	} while (0)

#endif

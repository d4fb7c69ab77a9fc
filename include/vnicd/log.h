/* SPDX-License-Identifier: MIT */
/* Logging contract: leveled messages to stderr, with a rate-limited variant for the data path. */
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
 * vn_log() - print one line "vnicd[LEVEL]: message" to stderr. Thread: any.
 */
void vn_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * vn_log_ratelimit() - true at most once a second per @last stamp (one static per call
 * site), so a guest-triggered condition cannot flood the log. Thread: any (racy by design).
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

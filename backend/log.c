/* SPDX-License-Identifier: MIT */
/* Leveled logging to stderr with per-call-site rate limiting. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "vnicd/log.h"

static int log_level = VN_LOG_INFO;
static const char *const level_names[] = {"error", "warning", "info", "debug"};

void vn_log_set_level(int level)
{
	if (level < VN_LOG_ERR)
		level = VN_LOG_ERR;
	if (level > VN_LOG_DEBUG)
		level = VN_LOG_DEBUG;
	log_level = level;
}

int vn_log_get_level(void)
{
	return log_level;
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

void vn_log(int level, const char *fmt, ...)
{
	char buf[1024];
	struct timespec ts;
	va_list ap;

	if (level > log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%lld.%03ld vnicd[%s]: %s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000000,
		level_names[level < 0	? 0
			    : level > 3 ? 3
					: level],
		buf);
}

bool vn_log_ratelimit(uint64_t *last)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (*last != 0 && (uint64_t)ts.tv_sec < *last + 1)
		return false;
	*last = ts.tv_sec > 0 ? (uint64_t)ts.tv_sec : 1;
	return true;
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static enum lw_log_level log_level = LW_LOG_INFO;

void lw_log_set_level(enum lw_log_level level)
{
	log_level = level;
}

bool lw_log_enabled(enum lw_log_level level)
{
	return level <= log_level;
}

void lw_log(enum lw_log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = {
		[LW_LOG_ERROR] = "error: ",
		[LW_LOG_WARN] = "warning: ",
		[LW_LOG_INFO] = "",
		[LW_LOG_DEBUG] = "debug: ",
	};
	va_list ap;

	if (!lw_log_enabled(level))
		return;
	fprintf(stderr, "leakwatch: %s", prefix[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

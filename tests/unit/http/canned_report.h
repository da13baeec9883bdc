/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The report the tests of the HTTP API serve through a provider of their
 * own (tests/unit/http, tests/fuzz/fuzz_http.c): one process, pid 300
 * "leaky", with one heap stack of two frames, as the -f json document the
 * daemon keeps.
 */
#ifndef LW_TEST_CANNED_REPORT_H
#define LW_TEST_CANNED_REPORT_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "report.h"

#define CANNED_PID 300

static struct report_frame canned_frames[] = {
	{ 0x401010, "grow_cache", 0x10, "/src/app.c", 30, "/usr/bin/app", false, NULL, 0, false },
	{ 0x401100, "main", 0x20, "/src/app.c", 50, "/usr/bin/app", false, NULL, 0, false },
};
static struct report_stack canned_stacks[] = {
	{ .bytes = 4096, .allocs = 4, .kind = "heap", .oldest_age_ms = 900, .nframes = 2,
	  .frames = canned_frames },
};
static struct report_process canned_proc = {
	.pid = CANNED_PID, .comm = "leaky", .cmdline = "leaky --rate 1M",
	.outstanding_bytes = 4096, .outstanding_allocs = 4, .stacks_total = 1, .nstacks = 1,
	.stacks = canned_stacks,
};
static struct report canned_report = {
	.final = false, .timestamp = "2026-12-06T00:00:00Z", .duration_s = 30,
	.nprocs = 1, .procs = &canned_proc,
};

/* r as the -f json document, written into *buf the first time. */
static inline const char *canned_json(const struct report *r, char **buf, size_t *len)
{
	struct report_opts o = { .format = REPORT_JSON };
	FILE *f;

	if (!*buf) {
		f = open_memstream(buf, len);
		if (!f || report_write(f, r, &o))
			abort();
		fclose(f);
	}
	return *buf;
}

/* canned_report's document */
static inline const char *canned_report_json(size_t *len)
{
	static char *buf;
	static size_t n;

	canned_json(&canned_report, &buf, &n);
	*len = n;
	return buf;
}

/* A provider's report op that has canned_report for CANNED_PID only. */
static inline int canned_report_op(void *ctx, int pid, const char **json, size_t *len)
{
	if (pid != CANNED_PID)
		return -ENOENT;
	*json = canned_report_json(len);
	return 0;
}

#endif /* LW_TEST_CANNED_REPORT_H */

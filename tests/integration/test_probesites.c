// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Probe sites are chosen from the library's bytes on disk, whatever other
 * tools have probed.  A uprobe registered for every process (bpftrace's,
 * another leakwatch's per-file probes) writes its breakpoint into every
 * mapping of the file that may execute, including leakwatch's own read-only
 * mapping of it; a site decoded from there would start with int3 and lose
 * the move past `free`'s `test %rdi,%rdi` (a single-stepped probe, about
 * 30 times dearer).
 * Ground truth: glibc 2.36's free starts with a 3-byte test (see
 * tests/unit/test_probesite.c), so its site is entry+3.
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"

/* "free at PATH+0xOFF (entry+N)" from leakwatch -v: PATH, OFF and N. */
struct site {
	char path[256];
	unsigned long long off;
	unsigned int plus;
};

static struct site free_site(void)
{
	static const char *const args[] = { "-v", "--", "/bin/true", NULL };
	struct lw_proc *lw = lw_leakwatch_run(args, NULL);
	const char *line = lw->err.data;
	struct site s = { 0 };

	cr_assert_eq(lw->exit_code, 0, "leakwatch -v -- /bin/true: exit %d\n%s", lw->exit_code,
		     lw_tail(&lw->err));
	while ((line = strstr(line, " free at "))) {
		line += strlen(" free at ");
		if (sscanf(line, "%255[^+]+0x%llx (entry+%u)", s.path, &s.off, &s.plus) == 3)
			return s;
	}
	cr_assert_fail("no probe site for free in leakwatch -v:\n%s", lw_tail(&lw->err));
	return s;
}

/* A uprobe at path+off for every process on the machine: perf's uprobe
 * PMU, no BPF program, cpu 0 (the breakpoint goes into every mm alike). */
static int systemwide_uprobe(const char *path, unsigned long long off)
{
	struct perf_event_attr attr = { 0 };
	FILE *f = fopen("/sys/bus/event_source/devices/uprobe/type", "re");
	int type = -1, fd;

	if (!f || fscanf(f, "%d", &type) != 1)
		lw_cannot_run("no perf uprobe PMU (/sys/bus/event_source/devices/uprobe/type)");
	if (f)
		fclose(f);
	attr.size = sizeof(attr);
	attr.type = (uint32_t)type;
	attr.config1 = (uint64_t)(uintptr_t)path;	/* uprobe_path */
	attr.config2 = off;				/* probe_offset */
	fd = (int)syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	cr_assert(fd >= 0, "perf_event_open(uprobe %s+0x%llx, every process): %s", path, off,
		  strerror(errno));
	return fd;
}

LW_TEST(probesites, chosen_from_disk_while_another_tool_probes_the_entry)
{
	struct site before, during;
	int fd;

	lw_require_bpf();
	before = free_site();
	cr_assert_eq(before.plus, 3, "free's site is entry+%u without other probes, expected 3",
		     before.plus);

	fd = systemwide_uprobe(before.path, before.off - before.plus);
	during = free_site();
	close(fd);

	cr_expect_str_eq(during.path, before.path);
	cr_expect_eq(during.plus, 3, "with a breakpoint at free's entry: entry+%u, expected 3",
		     during.plus);
	cr_expect_eq(during.off, before.off, "with a breakpoint at free's entry: +0x%llx, "
		     "expected +0x%llx", during.off, before.off);
}

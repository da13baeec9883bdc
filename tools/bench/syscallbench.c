// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * syscallbench: the cost of one system call, measured inside the process so
 * that a tracer's start-up and tear-down are not counted.
 *
 *   getppid  syscall(SYS_getppid): a syscall that maps nothing, so that a
 *            mapping hook taxes it only if it runs for every syscall
 *   mmap     a 1-page anonymous private mmap, then its munmap (the page is
 *            never touched: no page fault); one op is the pair
 *
 * The ops run untimed for a warm-up first, then timed.  Prints one line:
 * "syscallbench: mode=M n=N ns_per_op=X cpu_ns_per_op=Y", where X is the
 * hot loop's wall time (CLOCK_MONOTONIC) / N and Y the same with the
 * process's CPU time (kernel time included, where the hooks run).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "workload.h"

enum bench_mode { MODE_GETPPID, MODE_MMAP };

static const char *const mode_names[] = {
	[MODE_GETPPID] = "getppid",
	[MODE_MMAP] = "mmap",
};

struct bench_opts {
	enum bench_mode mode;
	uint64_t n;		/* timed ops */
	uint64_t warmup;	/* untimed ops before them */
};

/* N getppid calls; the result goes nowhere, but a syscall is never elided. */
static int run_getppid(uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++) {
		if (syscall(SYS_getppid) < 0)
			return -errno;
	}
	return 0;
}

static int run_mmap(uint64_t n, size_t page)
{
	uint64_t i;

	for (i = 0; i < n; i++) {
		void *p = mmap(NULL, page, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return -errno;
		if (munmap(p, page))
			return -errno;
	}
	return 0;
}

static int run(const struct bench_opts *o, uint64_t n, size_t page)
{
	return o->mode == MODE_GETPPID ? run_getppid(n) : run_mmap(n, page);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: syscallbench [-m getppid|mmap] [-n OPS] [-w WARMUP]\n"
		"  -m  getppid (default): syscall(SYS_getppid);\n"
		"      mmap: a 1-page anonymous mmap, then munmap (one op is the pair)\n"
		"  -n  timed ops (default 1000000)\n"
		"  -w  untimed warm-up ops (default: OPS / 10, at least 1000)\n");
}

static int parse_opts(int argc, char **argv, struct bench_opts *o)
{
	bool warmup_set = false;
	int c;

	*o = (struct bench_opts){ MODE_GETPPID, 1000000, 0 };
	while ((c = getopt(argc, argv, "m:n:w:h")) != -1) {
		switch (c) {
		case 'm':
			if (!strcmp(optarg, "getppid"))
				o->mode = MODE_GETPPID;
			else if (!strcmp(optarg, "mmap"))
				o->mode = MODE_MMAP;
			else
				return -EINVAL;
			break;
		case 'n':
			if (parse_u64(optarg, &o->n) || !o->n)
				return -EINVAL;
			break;
		case 'w':
			if (parse_u64(optarg, &o->warmup))
				return -EINVAL;
			warmup_set = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			return -EINVAL;
		}
	}
	if (optind != argc)
		return -EINVAL;
	if (!warmup_set)
		o->warmup = o->n / 10 < 1000 ? 1000 : o->n / 10;
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t ns, cpu_ns;
	struct bench_opts o;
	long page;
	int err;

	err = parse_opts(argc, argv, &o);
	if (err) {
		if (err < 0)
			usage(stderr);
		return err < 0 ? 2 : 0;
	}
	page = sysconf(_SC_PAGESIZE);
	if (page <= 0) {
		fprintf(stderr, "syscallbench: cannot read the page size\n");
		return 1;
	}
	err = run(&o, o.warmup, page);
	if (!err) {
		cpu_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
		ns = clock_ns(CLOCK_MONOTONIC);
		err = run(&o, o.n, page);
		ns = clock_ns(CLOCK_MONOTONIC) - ns;
		cpu_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu_ns;
	}
	if (err) {
		fprintf(stderr, "syscallbench: %s: %s\n", mode_names[o.mode], strerror(-err));
		return 1;
	}
	printf("syscallbench: mode=%s n=%" PRIu64 " ns_per_op=%.1f cpu_ns_per_op=%.1f\n",
	       mode_names[o.mode], o.n, (double)ns / o.n, (double)cpu_ns / o.n);
	return 0;
}

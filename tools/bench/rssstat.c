// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * rssstat: what the rss_stat tracepoint would cost --watch, against what it
 * reads from /proc instead.  Prints, one line each:
 *   - a page-fault loop (map 64 MiB anonymous, write every page, unmap),
 *     ns per page, with no program and with rssstat.bpf.c on tp_btf/rss_stat
 *     (BENCH_REPS runs interleaved, medians), their ratio, and the program's
 *     hits per page;
 *   - the machine's rss_stat rate over 5 s with nothing running here;
 *   - reading /proc/PID/statm, status and smaps_rollup of every process,
 *     us per process.
 * Usage: rssstat [REPS]  (root)
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "rssstat.skel.h"

#define REGION (64ul << 20)

static double now(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double fault_loop(int rounds)
{
	double t0 = now(CLOCK_MONOTONIC);

	for (int r = 0; r < rounds; r++) {
		char *p = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);

		if (p == MAP_FAILED) {
			perror("mmap");
			exit(1);
		}
		for (size_t i = 0; i < REGION; i += 4096)
			p[i] = 1;
		munmap(p, REGION);
	}
	return (now(CLOCK_MONOTONIC) - t0) / ((double)rounds * REGION / 4096) * 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void proc_reads(void)
{
	static const char *const files[] = { "statm", "status", "smaps_rollup" };
	static char buf[65536];
	int pids[65536], n = 0;
	struct dirent *e;
	DIR *d = opendir("/proc");

	while (d && (e = readdir(d)) && n < 65536)
		if (e->d_name[0] >= '1' && e->d_name[0] <= '9')
			pids[n++] = atoi(e->d_name);
	if (d)
		closedir(d);
	for (int f = 0; f < 3; f++) {
		double t0 = now(CLOCK_PROCESS_CPUTIME_ID);

		for (int r = 0; r < 20; r++)
			for (int k = 0; k < n; k++) {
				char path[64];
				int fd;

				snprintf(path, sizeof(path), "/proc/%d/%s", pids[k], files[f]);
				fd = open(path, O_RDONLY);
				if (fd < 0)
					continue;
				if (read(fd, buf, sizeof(buf)) < 0)
					buf[0] = 0;
				close(fd);
			}
		printf("rssstat: read /proc/PID/%s: %.1f us CPU per process (%d processes)\n",
		       files[f], (now(CLOCK_PROCESS_CPUTIME_ID) - t0) / 20 / n * 1e6, n);
	}
}

int main(int argc, char **argv)
{
	int reps = argc > 1 ? atoi(argv[1]) : 5;
	double off[64], on[64], pages;
	struct rssstat_bpf *skel;
	struct bpf_link *link;
	__u64 h0;

	if (reps < 1 || reps > 64)
		reps = 5;
	skel = rssstat_bpf__open_and_load();
	if (!skel) {
		perror("rssstat: load");
		return 1;
	}
	fault_loop(2);	/* warm */
	for (int r = 0; r < reps; r++) {
		off[r] = fault_loop(8);
		link = bpf_program__attach(skel->progs.rssstat);
		if (!link) {
			perror("rssstat: attach");
			return 1;
		}
		h0 = skel->bss->hits;
		on[r] = fault_loop(8);
		pages = 8.0 * REGION / 4096;
		bpf_link__destroy(link);
		if (r == 0)
			printf("rssstat: %.2f program runs per page faulted and freed\n",
			       (skel->bss->hits - h0) / pages);
	}
	{
		double a = median(off, reps), b = median(on, reps);

		printf("rssstat: page fault+free, ns per page: %.0f without, %.0f with rss_stat "
		       "(%.3fx), medians of %d\n", a, b, b / a, reps);
	}
	link = bpf_program__attach(skel->progs.rssstat);
	h0 = skel->bss->hits;
	sleep(5);
	printf("rssstat: this machine: %.0f rss_stat events a second, nothing else running here\n",
	       (skel->bss->hits - h0) / 5.0);
	bpf_link__destroy(link);
	rssstat_bpf__destroy(skel);
	proc_reads();
	return 0;
}

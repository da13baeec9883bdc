// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "guardian.h"

/* After leakwatch is gone: how long a program that had not yet seen
 * lw_holds_off may take to send its stop, and the sweeps after it. */
#define SETTLE_MS 20
#define SWEEPS 5
#define SWEEP_MS 20

struct guardian {
	pid_t pid;
	int stop_fd;	/* write end: a byte, then EOF, ends the guardian */
};

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* SIGCONT to every process lw_held counts as held; whether there was one. */
static int sweep(int held_fd)
{
	__u32 key, next;
	__u64 n;
	int found = 0;

	for (int err = bpf_map_get_next_key(held_fd, NULL, &next); !err;
	     err = bpf_map_get_next_key(held_fd, &key, &next)) {
		if (!bpf_map_lookup_elem(held_fd, &next, &n) && n) {
			kill((pid_t)next, SIGCONT);
			found = 1;
		}
		key = next;
	}
	return found;
}

/* Close every descriptor but keep[0..n) (ascending), the standard ones
 * going to /dev/null: the guardian holds no link, ring buffer or pipe of
 * leakwatch's, so it keeps nothing of leakwatch alive but the lw_held map. */
static void close_others(const int *keep, int n)
{
	int lo = 3, fd = open("/dev/null", O_RDWR);

	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	for (int i = 0; i < n; i++) {
		if (keep[i] > lo)
			syscall(SYS_close_range, lo, keep[i] - 1, 0);
		lo = keep[i] + 1;
	}
	syscall(SYS_close_range, lo, ~0U, 0);
}

static void sort3(int *a)
{
	for (int i = 0; i < 3; i++)
		for (int j = i + 1; j < 3; j++)
			if (a[j] < a[i]) {
				int x = a[i];

				a[i] = a[j];
				a[j] = x;
			}
}

static __attribute__((noreturn)) void guard(int parent_fd, int stop_fd, int held_fd,
					    volatile uint32_t *holds_off)
{
	struct pollfd pfd[2] = { { parent_fd, POLLIN, 0 }, { stop_fd, POLLIN, 0 } };
	int keep[3] = { parent_fd, stop_fd, held_fd };
	char byte;
	int died, fd;

	prctl(PR_SET_NAME, "leakwatch-guard");
	/* terminal signals are for leakwatch; the guardian must outlive it */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sort3(keep);
	close_others(keep, 3);
	/* the OOM killer takes leakwatch first, never its guardian */
	fd = open("/proc/self/oom_score_adj", O_WRONLY);
	if (fd >= 0) {
		/* best effort: the guardian is small anyway */
		(void)!write(fd, "-1000", 5);
		close(fd);
	}
	while (poll(pfd, 2, -1) < 0 && errno == EINTR)
		;
	/* leakwatch says goodbye with a byte; without it, it died (its end
	 * of the pipe may close before its pidfd says so) */
	died = !(pfd[1].revents & POLLIN) || read(stop_fd, &byte, 1) != 1;
	__atomic_store_n(holds_off, 1, __ATOMIC_SEQ_CST);
	/* a normal end has continued every hold already: nothing to wait for */
	if (!died && !sweep(held_fd))
		_exit(0);
	sleep_ms(SETTLE_MS);
	for (int i = 0; i < SWEEPS; i++) {
		sweep(held_fd);
		sleep_ms(SWEEP_MS);
	}
	_exit(0);
}

struct guardian *guardian__start(int held_fd, volatile uint32_t *holds_off)
{
	struct guardian *g = calloc(1, sizeof(*g));
	int parent_fd, stop[2], err;

	if (!g)
		return NULL;
	/* a pidfd of leakwatch itself, taken before the fork: readable once
	 * leakwatch has exited, whoever reaps it */
	parent_fd = syscall(SYS_pidfd_open, getpid(), 0);
	if (parent_fd < 0) {
		err = -errno;
		free(g);
		errno = -err;
		return NULL;
	}
	if (pipe2(stop, O_CLOEXEC)) {
		err = -errno;
		close(parent_fd);
		free(g);
		errno = -err;
		return NULL;
	}
	g->pid = fork();
	if (g->pid == 0)
		guard(parent_fd, stop[0], held_fd, holds_off);
	err = g->pid < 0 ? -errno : 0;
	close(parent_fd);
	close(stop[0]);
	if (err) {
		close(stop[1]);
		free(g);
		errno = -err;
		return NULL;
	}
	g->stop_fd = stop[1];
	return g;
}

void guardian__stop(struct guardian *g)
{
	if (!g)
		return;
	(void)!write(g->stop_fd, "q", 1);
	close(g->stop_fd);
	while (waitpid(g->pid, NULL, 0) < 0 && errno == EINTR)
		;
	free(g);
}

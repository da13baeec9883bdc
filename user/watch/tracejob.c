// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "procfs.h"
#include "tracejob.h"

#define ERR_MAX 512

struct tracejob {
	pid_t child, target;
	int out_fd, err_fd;	/* -1 once closed */
	char *report;
	size_t len, cap;
	char err_line[ERR_MAX];	/* the last complete line on stderr */
	char err_part[ERR_MAX];	/* the line being read */
	size_t err_part_len;
	bool ready, done, verbose, too_big;
	void (*on_line)(void *ctx, const char *line);
	void *ctx;
	int status;
	double cpu_done;	/* from rusage once reaped */
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

struct tracejob *tracejob__start(const struct tracejob_opts *o)
{
	char pid_s[16], sec_s[32], samp_s[24];
	const char *argv[20];
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, n = 0, saved;
	pid_t parent = getpid();
	struct tracejob *j;

	j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->out_fd = j->err_fd = -1;
	j->target = o->pid;
	j->verbose = o->verbose;
	j->on_line = o->on_line;
	j->ctx = o->ctx;
	snprintf(pid_s, sizeof(pid_s), "%d", (int)o->pid);
	snprintf(sec_s, sizeof(sec_s), "%.3f", o->seconds);
	snprintf(samp_s, sizeof(samp_s), "%llu", (unsigned long long)o->sample_bytes);
	argv[n++] = "leakwatch";
	if (o->oom_only) {
		argv[n++] = "--oom-only";
	} else {
		argv[n++] = "-p";
		argv[n++] = pid_s;
		argv[n++] = "-d";
		argv[n++] = sec_s;
		argv[n++] = "-f";
		argv[n++] = "json";
		argv[n++] = "--no-follow";
	}
	if (o->sample_bytes && !o->oom_only) {
		argv[n++] = "-s";
		argv[n++] = samp_s;
	}
	if (o->postmortem_dir) {
		argv[n++] = "--postmortem-dir";
		argv[n++] = o->postmortem_dir;
	}
	if (o->host_root) {
		argv[n++] = "--host-root";
		argv[n++] = o->host_root;
	}
	argv[n] = NULL;

	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
		goto fail;
	j->child = fork();
	if (j->child < 0)
		goto fail;
	if (j->child == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		/* the daemon killed, even by SIGKILL: the trace ends as -d
		 * would end it, its probes detached */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out[1], 1) < 0 ||
		    dup2(err[1], 2) < 0)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		execv(o->exe, (char *const *)argv);
		_exit(127);
	}
	close_fd(&out[1]);
	close_fd(&err[1]);
	j->out_fd = out[0];
	j->err_fd = err[0];
	fcntl(j->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(j->err_fd, F_SETFL, O_NONBLOCK);
	return j;
fail:
	saved = errno;
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&err[0]);
	close_fd(&err[1]);
	free(j);
	errno = saved;
	return NULL;
}

static void reap(struct tracejob *j, int flags)
{
	struct rusage ru;
	pid_t r;

	if (j->done || j->child <= 0)
		return;
	do
		r = wait4(j->child, &j->status, flags, &ru);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return;
	if (r > 0)
		j->cpu_done = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
			      ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	j->done = true;
}

void tracejob__free(struct tracejob *j)
{
	if (!j)
		return;
	if (!j->done && j->child > 0) {
		kill(j->child, SIGKILL);
		reap(j, 0);
	}
	close_fd(&j->out_fd);
	close_fd(&j->err_fd);
	free(j->report);
	free(j);
}

size_t tracejob__fds(const struct tracejob *j, int fds[2])
{
	size_t n = 0;

	if (j->out_fd >= 0)
		fds[n++] = j->out_fd;
	if (j->err_fd >= 0)
		fds[n++] = j->err_fd;
	return n;
}

static void err_bytes(struct tracejob *j, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] != '\n') {
			if (j->err_part_len < ERR_MAX - 1)
				j->err_part[j->err_part_len++] = buf[i];
			continue;
		}
		j->err_part[j->err_part_len] = '\0';
		if (strstr(j->err_part, ": ready"))
			j->ready = true;
		else if (j->err_part_len)
			memcpy(j->err_line, j->err_part, j->err_part_len + 1);
		if (j->on_line)
			j->on_line(j->ctx, j->err_part);
		if (j->verbose)
			lw_debug("trace of %d: %s\n", (int)j->target, j->err_part);
		j->err_part_len = 0;
	}
}

/* Read fd until it would block; 1 at end of file, 0, or -Exxx. */
static int drain(struct tracejob *j, int fd)
{
	char buf[65536];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		if (n == 0)
			return 1;
		if (fd == j->err_fd) {
			err_bytes(j, buf, (size_t)n);
			continue;
		}
		if (j->len + (size_t)n + 1 > TRACEJOB_MAX_REPORT) {
			j->too_big = true;
			kill(j->child, SIGKILL);
			return -EFBIG;
		}
		if (j->len + (size_t)n + 1 > j->cap) {
			size_t cap = j->cap ? j->cap : 65536;
			char *grown;

			while (cap < j->len + (size_t)n + 1)
				cap *= 2;
			grown = realloc(j->report, cap);
			if (!grown)
				return -ENOMEM;
			j->report = grown;
			j->cap = cap;
		}
		memcpy(j->report + j->len, buf, (size_t)n);
		j->len += (size_t)n;
		j->report[j->len] = '\0';
	}
}

int tracejob__pump(struct tracejob *j)
{
	int err = 0, r;

	if (j->out_fd >= 0) {
		r = drain(j, j->out_fd);
		if (r < 0)
			err = r;
		if (r)
			close_fd(&j->out_fd);
	}
	if (j->err_fd >= 0) {
		r = drain(j, j->err_fd);
		if (r < 0 && !err)
			err = r;
		if (r)
			close_fd(&j->err_fd);
	}
	/* both pipes closed: the child is exiting, or has */
	if (j->out_fd < 0 && j->err_fd < 0)
		reap(j, 0);
	else
		reap(j, WNOHANG);
	return err;
}

void tracejob__stop(struct tracejob *j)
{
	if (!j->done && j->child > 0)
		kill(j->child, SIGTERM);
}

bool tracejob__done(const struct tracejob *j)
{
	return j->done && j->out_fd < 0 && j->err_fd < 0;
}

bool tracejob__ready(const struct tracejob *j)
{
	return j->ready;
}

pid_t tracejob__child(const struct tracejob *j)
{
	return j->child;
}

pid_t tracejob__target(const struct tracejob *j)
{
	return j->target;
}

int tracejob__status(const struct tracejob *j)
{
	return j->status;
}

double tracejob__cpu_seconds(const struct tracejob *j)
{
	char path[64], *text = NULL, *p;
	unsigned long long ut = 0, st = 0;
	double cpu = 0;

	if (j->done)
		return j->cpu_done;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)j->child);
	if (procfs_read_file(path, &text, NULL))
		return 0;
	/* fields 14 and 15 (utime, stime), counted after the ")" that ends
	 * the command name, which may hold spaces and parentheses */
	p = strrchr(text, ')');
	if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			&ut, &st) == 2)
		cpu = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	free(text);
	return cpu;
}

char *tracejob__take_report(struct tracejob *j, size_t *len)
{
	char *r;

	if (!tracejob__done(j) || j->too_big || !WIFEXITED(j->status) ||
	    WEXITSTATUS(j->status) != 0 || !j->report)
		return NULL;
	r = j->report;
	*len = j->len;
	j->report = NULL;
	j->len = j->cap = 0;
	return r;
}

const char *tracejob__error(const struct tracejob *j)
{
	if (j->too_big)
		return "report larger than 64 MiB";
	return j->err_line;
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * session_targets: a front end of the session API (session.h, targets.h)
 * for the integration tests, as a daemon would drive it: commands come on
 * a FIFO the loop watches, one a line, and each is answered with a line on
 * stdout.
 *
 * Usage: session_targets FIFO [leakwatch options, e.g. -o FILE]
 *
 *   trace PID [SAMPLE_BYTES]  "traced PID", or "error PID ERRNO"
 *   report PID FILE           the target's -f json report into FILE:
 *                             "report PID", or "error PID ERRNO"
 *   stop PID                  "stopped PID"
 *   free PID                  "freed PID"
 *   heap                      "heap BYTES": malloc's bytes in use
 *   quit                      ends the session ("bye" first)
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "options.h"
#include "session.h"
#include "targets.h"

#define MAX_TARGETS 64

struct driver {
	const char *fifo;
	int fd;
	struct loop_source *src;
	struct session *s;
	struct session_target *t[MAX_TARGETS];
	char buf[4096];
	size_t len;
};

static struct session_target **find(struct driver *d, pid_t pid)
{
	for (size_t i = 0; i < MAX_TARGETS; i++) {
		if (d->t[i] && session_target__pid(d->t[i]) == pid)
			return &d->t[i];
	}
	return NULL;
}

static void cmd_trace(struct driver *d, pid_t pid, uint64_t sample)
{
	struct session_target_opts o = { .pid = pid, .sample_bytes = sample };
	size_t i;

	for (i = 0; i < MAX_TARGETS && d->t[i]; i++)
		;
	if (i == MAX_TARGETS) {
		printf("error %d full\n", pid);
		return;
	}
	d->t[i] = session__trace(d->s, &o);
	if (d->t[i])
		printf("traced %d\n", pid);
	else
		printf("error %d %s\n", pid, strerrorname_np(errno));
}

static void command(struct driver *d, char *line)
{
	struct session_target **t;
	char file[1024], verb[16];
	unsigned long long sample = 0;
	int pid = 0, n;

	n = sscanf(line, "%15s %d %1023s", verb, &pid, file);
	if (n >= 1 && !strcmp(verb, "quit")) {
		printf("bye\n");
		session__stop(d->s);
	} else if (n >= 1 && !strcmp(verb, "heap")) {
		printf("heap %zu\n", mallinfo2().uordblks);
	} else if (n >= 2 && !strcmp(verb, "trace")) {
		sscanf(line, "%*s %*d %llu", &sample);
		cmd_trace(d, pid, sample);
	} else if (!(t = find(d, pid))) {
		printf("error %d no-target\n", pid);
	} else if (n == 3 && !strcmp(verb, "report")) {
		FILE *f = fopen(file, "w");
		int err = f ? session_target__write_json(d->s, *t, f) : -errno;

		if (f && fclose(f) && !err)
			err = -errno;
		if (err)
			printf("error %d %s\n", pid, strerrorname_np(-err));
		else
			printf("report %d\n", pid);
	} else if (!strcmp(verb, "stop")) {
		session_target__stop(d->s, *t);
		printf("stopped %d\n", pid);
	} else if (!strcmp(verb, "free")) {
		session_target__free(d->s, *t);
		*t = NULL;
		printf("freed %d\n", pid);
	} else {
		printf("error %d bad-command\n", pid);
	}
	fflush(stdout);
}

static int on_fifo(void *ctx, uint32_t events)
{
	struct driver *d = ctx;
	ssize_t n = read(d->fd, d->buf + d->len, sizeof(d->buf) - 1 - d->len);
	char *nl;

	if (n <= 0)
		return n < 0 && errno != EAGAIN ? -errno : 0;
	d->len += n;
	d->buf[d->len] = 0;
	while ((nl = strchr(d->buf, '\n'))) {
		*nl = 0;
		command(d, d->buf);
		d->len -= nl + 1 - d->buf;
		memmove(d->buf, nl + 1, d->len + 1);
	}
	return 0;
}

static int ready(struct session *s, void *ctx)
{
	struct driver *d = ctx;

	d->s = s;
	/* read-write: no EOF when the test closes its end */
	d->fd = open(d->fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (d->fd < 0)
		return -errno;
	d->src = loop__add_fd(session__loop(s), d->fd, EPOLLIN, on_fifo, d);
	if (!d->src)
		return -errno;
	fprintf(stderr, "session_targets: ready\n");
	return 0;
}

static void ending(struct session *s, void *ctx)
{
	struct driver *d = ctx;

	for (size_t i = 0; i < MAX_TARGETS; i++)
		session_target__free(s, d->t[i]);
	loop__remove(session__loop(s), d->src);
	close(d->fd);
}

int main(int argc, char **argv)
{
	struct driver d = { .fd = -1 };
	struct session_hooks hooks = { .ready = ready, .ending = ending, .ctx = &d };
	struct lw_options o;
	char **args;
	int code, err;

	if (argc < 2) {
		fprintf(stderr, "usage: session_targets FIFO [leakwatch options]\n");
		return 2;
	}
	d.fifo = argv[1];
	/* leakwatch's own defaults and checks; a command that is never run
	 * stands for the processes the front end will give */
	args = calloc(argc + 3, sizeof(*args));
	if (!args)
		return 1;
	args[0] = argv[0];
	memcpy(args + 1, argv + 2, (argc - 2) * sizeof(*args));
	args[argc - 1] = "--";
	args[argc] = "true";
	err = options_parse(argc + 1, args, &o);
	if (err)
		return 2;
	o.argv = NULL;
	lw_log_set_level(o.verbose ? LW_LOG_DEBUG : LW_LOG_INFO);
	code = session_run_hooked(&o, &hooks);
	options_free(&o);
	free(args);
	return code;
}

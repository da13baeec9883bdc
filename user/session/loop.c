// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "loop.h"

/* Events taken from epoll at once; more wait for the next round. */
#define LOOP_BATCH 16

enum source_kind { SRC_FD, SRC_TIMER, SRC_SIGNAL };

struct loop_source {
	struct loop *loop;
	struct loop_source *next;
	enum source_kind kind;
	int fd;			/* the loop's own for timers and signals */
	bool dead;		/* removed during a round: freed after it */
	loop_fd_fn fd_fn;
	loop_timer_fn timer_fn;
	loop_signal_fn signal_fn;
	void *ctx;
};

struct loop {
	int epfd;
	struct loop_source *sources;
	struct loop_source *dead;	/* removed while dispatching */
	bool dispatching;
	bool stop;
};

uint64_t loop_now_ns(void)
{
	return lw_now_ns();
}

struct loop *loop__new(void)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int err = errno;

		free(l);
		errno = err;
		return NULL;
	}
	return l;
}

static void source_free(struct loop_source *s)
{
	if (s->kind != SRC_FD && s->fd >= 0)
		close(s->fd);
	free(s);
}

void loop__free(struct loop *l)
{
	struct loop_source *s, *next;

	if (!l)
		return;
	for (s = l->sources; s; s = next) {
		next = s->next;
		source_free(s);
	}
	for (s = l->dead; s; s = next) {
		next = s->next;
		source_free(s);
	}
	close(l->epfd);
	free(l);
}

/* Register s (its fd set) for events; NULL + errno on failure, s freed. */
static struct loop_source *add_source(struct loop *l, struct loop_source *s, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = s };

	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, s->fd, &ev)) {
		int err = errno;

		source_free(s);
		errno = err;
		return NULL;
	}
	s->loop = l;
	s->next = l->sources;
	l->sources = s;
	return s;
}

static struct loop_source *source_new(enum source_kind kind, int fd, void *ctx)
{
	struct loop_source *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->kind = kind;
	s->fd = fd;
	s->ctx = ctx;
	return s;
}

struct loop_source *loop__add_fd(struct loop *l, int fd, uint32_t events, loop_fd_fn fn,
				 void *ctx)
{
	struct loop_source *s = source_new(SRC_FD, fd, ctx);

	if (!s)
		return NULL;
	s->fd_fn = fn;
	return add_source(l, s, events);
}

static struct timespec ts_of(uint64_t ns)
{
	return (struct timespec){ .tv_sec = ns / 1000000000ull, .tv_nsec = ns % 1000000000ull };
}

int loop__timer_set(struct loop_source *s, uint64_t first_ns, uint64_t period_ns)
{
	struct itimerspec its = { .it_interval = ts_of(period_ns), .it_value = ts_of(first_ns) };

	/* 0 would disarm it: "at once" is the next nanosecond */
	if (!first_ns)
		its.it_value.tv_nsec = 1;
	if (s->kind != SRC_TIMER)
		return -EINVAL;
	return timerfd_settime(s->fd, 0, &its, NULL) ? -errno : 0;
}

struct loop_source *loop__add_timer(struct loop *l, uint64_t first_ns, uint64_t period_ns,
				    loop_timer_fn fn, void *ctx)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK), err;
	struct loop_source *s;

	if (fd < 0)
		return NULL;
	s = source_new(SRC_TIMER, fd, ctx);
	if (!s) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	s->timer_fn = fn;
	err = loop__timer_set(s, first_ns, period_ns);
	if (err) {
		source_free(s);
		errno = -err;
		return NULL;
	}
	return add_source(l, s, EPOLLIN);
}

struct loop_source *loop__add_signals(struct loop *l, const sigset_t *set, loop_signal_fn fn,
				      void *ctx)
{
	struct loop_source *s;
	int fd;

	/* blocked first: one that comes between the two calls waits */
	if (sigprocmask(SIG_BLOCK, set, NULL))
		return NULL;
	fd = signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return NULL;
	s = source_new(SRC_SIGNAL, fd, ctx);
	if (!s) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	s->signal_fn = fn;
	return add_source(l, s, EPOLLIN);
}

void loop__remove(struct loop *l, struct loop_source *s)
{
	struct loop_source **pp;

	if (!s)
		return;
	for (pp = &l->sources; *pp && *pp != s; pp = &(*pp)->next)
		;
	if (!*pp)
		return;
	*pp = s->next;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	if (!l->dispatching) {
		source_free(s);
		return;
	}
	/* an event of this round may still point at it */
	s->dead = true;
	s->next = l->dead;
	l->dead = s;
}

void loop__stop(struct loop *l)
{
	l->stop = true;
}

static int run_timer(struct loop_source *s)
{
	uint64_t n = 0;

	if (read(s->fd, &n, sizeof(n)) != sizeof(n))
		return errno == EAGAIN ? 0 : -errno;
	return s->timer_fn(s->ctx, n);
}

static int run_signals(struct loop_source *s)
{
	struct signalfd_siginfo si;
	int err = 0;

	while (!err && !s->dead && read(s->fd, &si, sizeof(si)) == sizeof(si))
		err = s->signal_fn(s->ctx, &si);
	return err;
}

static int dispatch(struct loop_source *s, uint32_t events)
{
	switch (s->kind) {
	case SRC_FD:
		return s->fd_fn(s->ctx, events);
	case SRC_TIMER:
		return run_timer(s);
	case SRC_SIGNAL:
		return run_signals(s);
	}
	return 0;
}

static void free_dead(struct loop *l)
{
	struct loop_source *s, *next;

	for (s = l->dead; s; s = next) {
		next = s->next;
		source_free(s);
	}
	l->dead = NULL;
}

int loop__run(struct loop *l)
{
	struct epoll_event ev[LOOP_BATCH];
	int err = 0, n, i;

	while (!l->stop && !err) {
		n = epoll_wait(l->epfd, ev, LOOP_BATCH, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		l->dispatching = true;
		for (i = 0; i < n && !l->stop && !err; i++) {
			struct loop_source *s = ev[i].data.ptr;

			if (!s->dead)
				err = dispatch(s, ev[i].events);
		}
		l->dispatching = false;
		free_dead(l);
	}
	l->stop = false;
	return err;
}

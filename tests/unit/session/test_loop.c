// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loop.h"

#define MS 1000000ull

struct counts {
	struct loop *l;
	int runs;
	uint64_t expirations;
	int stop_after;
	int ret;
	struct loop_source *other;	/* removed by the callback */
	int sig;
};

static int count_timer(void *ctx, uint64_t n)
{
	struct counts *c = ctx;

	c->runs++;
	c->expirations += n;
	if (c->runs == c->stop_after)
		loop__stop(c->l);
	return c->ret;
}

static struct loop *new_loop(void)
{
	struct loop *l = loop__new();

	cr_assert_not_null(l, "loop__new: %s", strerror(errno));
	return l;
}

Test(loop, periodic_timer_runs_until_stopped)
{
	struct counts c = { .l = new_loop(), .stop_after = 3 };
	uint64_t t0 = loop_now_ns();

	cr_assert_not_null(loop__add_timer(c.l, 0, 2 * MS, count_timer, &c));
	cr_assert_eq(loop__run(c.l), 0);
	cr_assert_eq(c.runs, 3);
	cr_assert_geq(c.expirations, 3);
	/* the first at once, then two periods */
	cr_assert_geq(loop_now_ns() - t0, 4 * MS);
	loop__free(c.l);
}

Test(loop, one_shot_timer_runs_once)
{
	struct counts once = { .l = new_loop() }, stop = { .stop_after = 1 };

	stop.l = once.l;
	cr_assert_not_null(loop__add_timer(once.l, 1 * MS, 0, count_timer, &once));
	cr_assert_not_null(loop__add_timer(once.l, 20 * MS, 0, count_timer, &stop));
	cr_assert_eq(loop__run(once.l), 0);
	cr_assert_eq(once.runs, 1);
	cr_assert_eq(once.expirations, 1);
	cr_assert_eq(stop.runs, 1);
	loop__free(once.l);
}

Test(loop, callback_error_ends_the_run)
{
	struct counts c = { .l = new_loop(), .ret = -EIO };

	cr_assert_not_null(loop__add_timer(c.l, 0, 1 * MS, count_timer, &c));
	cr_assert_eq(loop__run(c.l), -EIO);
	cr_assert_eq(c.runs, 1);
	loop__free(c.l);
}

static int remove_other(void *ctx, uint32_t events)
{
	struct counts *c = ctx;

	c->runs++;
	loop__remove(c->l, c->other);
	loop__stop(c->l);
	return 0;
}

/* Two fds ready in one round, each callback removing the other: the one
 * removed gets no callback, whichever epoll reports first. */
Test(loop, source_removed_during_a_round_gets_no_callback)
{
	struct counts a = { .l = new_loop() }, b;
	int pa[2], pb[2];

	b = a;
	cr_assert_eq(pipe(pa), 0);
	cr_assert_eq(pipe(pb), 0);
	cr_assert_eq(write(pa[1], "x", 1), 1);
	cr_assert_eq(write(pb[1], "x", 1), 1);
	a.other = loop__add_fd(a.l, pb[0], EPOLLIN, remove_other, &b);
	b.other = loop__add_fd(a.l, pa[0], EPOLLIN, remove_other, &a);
	cr_assert(a.other && b.other);
	cr_assert_eq(loop__run(a.l), 0);
	cr_assert_eq(a.runs + b.runs, 1, "%d and %d callbacks", a.runs, b.runs);
	/* the fds are the caller's: still open */
	cr_assert_eq(write(pa[1], "y", 1), 1);
	cr_assert_eq(write(pb[1], "y", 1), 1);
	loop__free(a.l);
	close(pa[0]), close(pa[1]), close(pb[0]), close(pb[1]);
}

static int on_sig(void *ctx, const struct signalfd_siginfo *si)
{
	struct counts *c = ctx;

	c->runs++;
	c->sig = (int)si->ssi_signo;
	loop__stop(c->l);
	return 0;
}

Test(loop, signals_come_through_the_loop)
{
	struct counts c = { .l = new_loop() };
	sigset_t set, now;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	cr_assert_not_null(loop__add_signals(c.l, &set, on_sig, &c));
	/* blocked: raised before the loop runs, it waits for it */
	cr_assert_eq(raise(SIGUSR1), 0);
	cr_assert_eq(loop__run(c.l), 0);
	cr_assert_eq(c.runs, 1);
	cr_assert_eq(c.sig, SIGUSR1);
	loop__free(c.l);
	/* still blocked after the loop */
	cr_assert_eq(sigprocmask(SIG_BLOCK, NULL, &now), 0);
	cr_assert(sigismember(&now, SIGUSR1));
}

Test(loop, timer_rearmed)
{
	struct counts c = { .l = new_loop(), .stop_after = 1 };
	struct loop_source *t = loop__add_timer(c.l, 3600000 * MS, 0, count_timer, &c);

	cr_assert_not_null(t);
	cr_assert_eq(loop__timer_set(t, 1 * MS, 0), 0);
	cr_assert_eq(loop__run(c.l), 0);
	cr_assert_eq(c.runs, 1);
	loop__free(c.l);
}

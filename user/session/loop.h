/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The event loop: one epoll instance that waits for everything a session
 * reacts to, and nothing else wakes leakwatch.
 *
 * Contract:
 * - A source is a file descriptor with a callback (loop__add_fd: a ring
 *   buffer's epoll fd, an HTTP server's epoll fd...), a timer (a timerfd:
 *   loop__add_timer, periodic or one-shot), or the signals
 *   (loop__add_signals: a signalfd).  Sources are added and removed at any
 *   time, from inside callbacks too: a source removed during a round of
 *   events gets no callback after its removal.
 * - The loop owns the timerfds and the signalfd; it never closes an fd
 *   given to loop__add_fd.
 * - Callbacks run on the thread of loop__run, one at a time.  A callback
 *   returns 0, or -Exxx to end loop__run with that error.
 * - loop__stop (from a callback, or before loop__run) ends loop__run
 *   once the current callback returns: it returns 0.
 * - Timers use CLOCK_MONOTONIC (the clock of the BPF records' timestamps).
 *   A periodic timer that fell behind runs once, with the number of
 *   periods that expired.
 * - Signals: loop__add_signals blocks them in the calling thread; call it
 *   before any other thread starts (threads inherit the mask), so that
 *   they reach the signalfd and no handler.  They stay blocked after
 *   loop__free: one that comes while leakwatch writes its last report
 *   must not end it by its default action.
 */
#ifndef LW_LOOP_H
#define LW_LOOP_H

#include <signal.h>
#include <stdint.h>
#include <sys/signalfd.h>

struct loop;
struct loop_source;

/* fd is ready: events holds EPOLLIN... as epoll reported them. */
typedef int (*loop_fd_fn)(void *ctx, uint32_t events);
/* A timer expired, expirations times since it last ran (periodic ones
 * may have fallen behind). */
typedef int (*loop_timer_fn)(void *ctx, uint64_t expirations);
/* A signal of the set given to loop__add_signals. */
typedef int (*loop_signal_fn)(void *ctx, const struct signalfd_siginfo *si);

/* NULL + errno on failure. */
struct loop *loop__new(void);
/* Closes the loop's own fds, frees every source; accepts NULL. */
void loop__free(struct loop *l);

/* Wait for events (EPOLLIN...) on fd.  The source, or NULL + errno. */
struct loop_source *loop__add_fd(struct loop *l, int fd, uint32_t events, loop_fd_fn fn,
				 void *ctx);

/* A timer that first expires after first_ns (0: at once), then every
 * period_ns (0: once).  The source, or NULL + errno. */
struct loop_source *loop__add_timer(struct loop *l, uint64_t first_ns, uint64_t period_ns,
				    loop_timer_fn fn, void *ctx);
/* Re-arm a timer as loop__add_timer would; 0 or -Exxx. */
int loop__timer_set(struct loop_source *s, uint64_t first_ns, uint64_t period_ns);

/* Deliver the signals of set through fn (one signal source per loop).
 * The source, or NULL + errno. */
struct loop_source *loop__add_signals(struct loop *l, const sigset_t *set, loop_signal_fn fn,
				      void *ctx);

/* Remove a source; accepts NULL. */
void loop__remove(struct loop *l, struct loop_source *s);

/* Run until loop__stop (0) or a callback's error (-Exxx). */
int loop__run(struct loop *l);
void loop__stop(struct loop *l);

/* CLOCK_MONOTONIC in ns. */
uint64_t loop_now_ns(void);

#endif /* LW_LOOP_H */

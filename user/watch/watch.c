// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* leakwatch --watch: the daemon, one session (session.h) whose front end
 * it is: its timers on the session's loop, its traces the session's
 * targets, its OOM postmortems the session's OOM watch. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "loop.h"
#include "oomwatch.h"
#include "options.h"
#include "session.h"
#include "watch_int.h"

const char *watch_outcome_name(enum watch_outcome o)
{
	static const char *const names[] = { "completed", "budget", "exited", "error" };

	return o < WATCH_TRACE_OUTCOMES ? names[o] : "?";
}

/* ---- the loop ---- */

static int on_sample(void *ctx, uint64_t expirations)
{
	struct watch *w = ctx;

	watch_sample(w);
	w->c.postmortems_written = session__postmortems(w->s);
	return 0;
}

/* Every second: a trace whose process exited ends (its window need not
 * run out). */
static int on_tick(void *ctx, uint64_t expirations)
{
	watch_check_traces(ctx);
	return 0;
}

/* SIGHUP ends the daemon as SIGTERM does (the session's). */
static int on_hangup(void *ctx, const struct signalfd_siginfo *si)
{
	struct watch *w = ctx;

	lw_info("signal %d: stopping\n", (int)si->ssi_signo);
	session__stop(w->s);
	return 0;
}

/* An OOM postmortem (not a snapshot) is a kill, whether or not its files
 * could be written. */
static void on_postmortem(struct session *s, const struct oomwatch_note *n, void *ctx)
{
	if (n->kind != PM_SNAPSHOT)
		watch_note_kill(ctx, n);
}

static int on_ready(struct session *s, void *ctx)
{
	struct watch *w = ctx;
	uint64_t period = (uint64_t)(w->o.sample_interval_s * 1e9), second = 1000000000ull;
	sigset_t set;
	int err;

	w->s = s;
	w->loop = session__loop(s);
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	w->sample_src = loop__add_timer(w->loop, period, period, on_sample, w);
	w->tick_src = loop__add_timer(w->loop, second, second, on_tick, w);
	w->hup_src = loop__add_signals(w->loop, &set, on_hangup, w);
	if (!w->sample_src || !w->tick_src || !w->hup_src) {
		err = -errno;
		lw_err("cannot start the event loop: %s\n", strerror(-err));
		return err;
	}
	err = w->fe && w->fe->attach ? w->fe->attach(w->loop, w->fe->ctx) : 0;
	if (err) {
		lw_err("cannot serve: %s\n", strerror(-err));
		return err;
	}
	w->t0 = watch_now();
	watch_sample(w);
	lw_info("ready: watching %zu processes and %zu memory cgroups every %g s "
		"(window %g s, min growth %.0f KiB/s, CPU budget %g%% of a core%s)\n",
		(size_t)w->c.processes_watched, w->ncgs, w->o.sample_interval_s,
		w->o.detector.window_s, w->o.detector.min_growth / 1024, w->o.cpu_budget_pct,
		w->o.no_trace ? ", no tracing" : "");
	return 0;
}

/* The session ends (a signal): the traces end with their reports kept,
 * then the daemon leaves the loop. */
static void on_ending(struct session *s, void *ctx)
{
	struct watch *w = ctx;

	if (w->ntraces)
		lw_info("stopping: the traces' reports first\n");
	watch_end_traces(w);
	if (w->fe && w->fe->detach)
		w->fe->detach(w->fe->ctx);
	loop__remove(w->loop, w->sample_src);
	loop__remove(w->loop, w->tick_src);
	loop__remove(w->loop, w->hup_src);
	w->sample_src = w->tick_src = w->hup_src = NULL;
	w->loop = NULL;
	w->s = NULL;
}

/* The session the daemon runs on: no process of its own, the traces'
 * options, the OOM watch with --postmortem-dir. */
static void session_options(const struct watch *w, struct lw_options *lo)
{
	options_defaults(lo);
	lo->format = REPORT_JSON;
	/* a trace is of the suspect alone, as it was found: no fork is
	 * followed, so no fork hold (no hook on every syscall's return) */
	lo->follow = false;
	/* sized for a few sampled processes at a time, allocated once for
	 * the daemon's life: -s 65536 keeps a block per 64 KiB, so 131,072
	 * sampled blocks are 8 GiB of leak; drops are counted */
	lo->ringbuf_bytes = 8 << 20;
	lo->sample_entries = 1 << 17;
	lo->postmortem_dir = w->o.postmortem_dir;
	lo->postmortem_keep = w->o.postmortem_keep;
	lo->host_root = w->o.host_root;
	lo->verbose = w->o.verbose;
}

int watch__run(struct watch *w, const struct watch_frontend *fe)
{
	struct session_hooks hooks = {
		.ready = on_ready, .ending = on_ending, .postmortem = on_postmortem, .ctx = w,
		.no_final_report = true, .maps_while_tracing = true,
	};
	struct lw_options lo;
	sigset_t set;

	/* blocked before the session starts its threads, so that SIGHUP
	 * reaches the signalfd on_ready adds, in every thread */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	w->fe = fe;
	session_options(w, &lo);
	return session_run_hooked(&lo, &hooks);
}

/* ---- construction ---- */

struct watch *watch__new(const struct watch_options *o)
{
	struct identity_opts io = { .host_root = o->host_root };
	struct watch *w;
	int err;

	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->o = *o;
	if (o->host_root && strcmp(o->host_root, "/")) {
		if (asprintf(&w->proc_dir_buf, "%s/proc", o->host_root) < 0) {
			err = -ENOMEM;
			goto fail;
		}
		w->proc_dir = w->proc_dir_buf;
	} else {
		w->proc_dir = "/proc";
	}
	if ((o->host_root ? memcg_find_host_mount(o->host_root, &w->memcg) :
			    memcg_find_mount(&w->memcg)))
		w->memcg.version = MEMCG_NONE;
	w->ids = identities__new(&io);	/* NULL: no container names */
	w->traces = calloc(o->max_traced ? o->max_traced : 1, sizeof(*w->traces));
	w->reports = calloc(WATCH_REPORTS_KEPT, sizeof(*w->reports));
	/* a point per sample over the window, and room to spare */
	w->cpu_cap = (size_t)(WATCH_BUDGET_WINDOW_S / o->sample_interval_s) + 4;
	w->cpu_hist = calloc(w->cpu_cap, sizeof(*w->cpu_hist));
	if (!w->traces || !w->reports || !w->cpu_hist) {
		err = -ENOMEM;
		goto fail;
	}
	return w;
fail:
	watch__free(w);
	errno = -err;
	return NULL;
}

void watch__free(struct watch *w)
{
	if (!w)
		return;
	/* the traces ended with the session (on_ending) */
	watch_procs_free(w);
	watch_reports_free(w);
	for (size_t i = 0; i < w->nkills; i++)
		watch_kill_release(&w->kills[i]);
	free(w->kills);
	identities__free(w->ids);
	memcg_mount__free(&w->memcg);
	free(w->traces);
	free(w->reports);
	free(w->cpu_hist);
	free(w->proc_dir_buf);
	free(w);
}

void watch__counters(const struct watch *w, struct watch_counters *out)
{
	*out = w->c;
}

int watch__map_fill(const struct watch *w,
		    int (*fn)(const char *name, size_t used, size_t cap, void *ctx), void *ctx)
{
	return w->s ? session__map_fill(w->s, fn, ctx) : 0;
}

int watch__drops(const struct watch *w, struct lw_counters *out)
{
	if (!w->s)
		return -EAGAIN;
	session__counters(w->s, out);
	return 0;
}

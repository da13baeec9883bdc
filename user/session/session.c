// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "identity.h"
#include "log.h"
#include "maphooks.h"
#include "procfs.h"
#include "session_int.h"

/* Records submitted without a wake-up (most: see lw_submit) wait at most
 * this long: it bounds the reporting latency. */
#define FLUSH_MS 50
/* The OOM watch's duties (RSS samples, memory thresholds, postmortem
 * warm-up) are rate-limited inside; this is how often it is asked. */
#define OOM_TICK_MS 50

/* Exit status as a shell reports it. */
int status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return LW_EXIT_FAILURE;
}

static int check_system(void)
{
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		lw_err("this kernel exposes no BTF (/sys/kernel/btf/vmlinux): leakwatch needs a "
		       "kernel built with CONFIG_DEBUG_INFO_BTF=y\n");
		return -ENOTSUP;
	}
	return 0;
}

static int start_tracer(struct session *s)
{
	const struct lw_options *o = s->o;
	struct tracer_opts to = {
		.follow = o->follow,
		.ringbuf_bytes = o->ringbuf_bytes,
		.stack_entries = o->stack_entries,
		.unwind_bytes = o->oom_only ? 0 : o->unwind_bytes,
		.sample_bytes = o->sample_bytes,
		/* a front end's targets may have a rate of their own */
		.sampling = s->hooks != NULL,
		.sample_entries = o->sample_entries,
		.legacy_uprobes = o->legacy_uprobes,
		.oom = o->postmortem_dir != NULL,
		.oom_only = o->oom_only,
		.on_oom_early = dispatch_oom_early,
		.kernel = o->kernel,
		.maps = o->maps && !o->oom_only,
		.maps_on_demand = s->hooks && s->hooks->maps_while_tracing,
		.ctx = s,
	};
	const char *why;
	int err;

	dispatch_handlers(to.on);
	if (to.maps) {
		err = map_hook_choose(o->map_hook, &why);
		if (err < 0) {
			lw_err("--mapping-hooks %s: %s%s%s%s; leave it out to choose "
			       "automatically\n", map_hook_name(o->map_hook), why,
			       err == -ENOTSUP ? "" : " (", err == -ENOTSUP ? "" : strerror(-err),
			       err == -ENOTSUP ? "" : ")");
			return err;
		}
		to.map_hook = err;
		s->map_hooks = map_hook_name(to.map_hook);
	}
	s->tracer = tracer__new(&to);
	if (s->tracer && to.unwind_bytes) {
		struct unwinder_opts uo;

		tracer__unwind_opts(s->tracer, &uo);
		s->unwind = unwinder__new(&uo);
		if (!s->unwind)
			return -errno;
	}
	if (s->tracer)
		return 0;
	err = -errno;
	if (err == -ENOTSUP && o->kernel)
		lw_err("--kernel: this kernel has no kmalloc or kfree tracepoint in its BTF "
		       "(run with -v for details)\n");
	else if (err == -EPERM || err == -EACCES)
		lw_err("not allowed to load BPF programs (%s): run leakwatch as root, or with "
		       "CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN\n", strerror(-err));
	else
		lw_err("cannot load the BPF programs: %s (run with -v for the kernel's "
		       "verifier and libbpf messages)\n", strerror(-err));
	return err;
}

/* --kernel: the pseudo-process, its stack store, and the kernel's symbol
 * table, read now: the addresses are only visible to root. */
static int start_kernel(struct session *s)
{
	int err;

	if (!s->o->kernel)
		return 0;
	s->ksyms = kallsyms__load();
	if (!s->ksyms) {
		err = -errno;
		if (err == -EPERM)
			lw_err("--kernel: /proc/kallsyms shows no addresses: run leakwatch as "
			       "root (with kernel.kptr_restrict below 2)\n");
		else
			lw_err("--kernel: cannot read /proc/kallsyms: %s\n", strerror(-err));
		return err;
	}
	s->kprocs = procs__new();
	s->kstacks = stackstore__new(s->o->stack_entries);
	s->kproc = s->kprocs ? procs__add(s->kprocs, 0, "[kernel]", NULL) : NULL;
	if (!s->kstacks || !s->kproc) {
		lw_err("out of memory\n");
		return -ENOMEM;
	}
	s->kproc->attached = true;
	return 0;
}

/* Whether -p pid can be traced; the message names the cause otherwise. */
static int check_pid(pid_t pid)
{
	unsigned int flags = 0;
	char state = 0, *comm = NULL;
	pid_t ppid = 0;
	int err;

	err = procfs_read_stat(pid, &state, &ppid, &flags);
	if (err == -ENOENT || err == -ESRCH) {
		lw_err("no such process: %d\n", pid);
		return -ESRCH;
	}
	if (err) {
		lw_err("cannot read /proc/%d/stat: %s\n", pid, strerror(-err));
		return err;
	}
	procfs_read_comm(pid, &comm);
	if (state == 'Z' || state == 'X') {
		lw_err("process %d (%s) is a zombie: it has exited and holds no memory; its "
		       "parent, process %d, has not reaped it yet\n", pid, comm ? comm : "?", ppid);
		err = -ESRCH;
	} else if (flags & PROCFS_PF_KTHREAD) {
		lw_err("process %d (%s) is a kernel thread: it has no user memory to trace "
		       "(--kernel traces the kernel's allocations)\n", pid, comm ? comm : "?");
		err = -EINVAL;
	} else if (pid == getpid()) {
		lw_err("process %d is this leakwatch: leakwatch does not trace itself\n", pid);
		err = -EINVAL;
	} else if (pid_is_leakwatch(pid)) {
		lw_err("process %d (%s) is another leakwatch: leakwatch does not trace leakwatch\n",
		       pid, comm ? comm : "?");
		err = -EINVAL;
	}
	free(comm);
	return err;
}

int session_attach(struct session *s, struct procs *table, pid_t pid, uint64_t sample_bytes)
{
	const char *prefix = s->o->allocator_prefix;
	struct lw_proc *p;
	int err;

	err = check_pid(pid);
	if (err)
		return err;
	p = follow_add(s, table, pid, NULL);
	if (!p)
		return -ENOMEM;
	err = tracer__track(s->tracer, pid, sample_bytes);
	if (err) {
		lw_err("cannot track process %d: %s\n", pid, strerror(-err));
		return err;
	}
	err = follow_start(s, p);
	/* asked for by name: not finding it is an error */
	if (err == -ENOENT)
		lw_err("process %d: no file it maps defines %smalloc and %sfree "
		       "(--allocator-prefix %s)\n", pid, prefix, prefix, prefix);
	return err;
}

/* -p: every pid must exist and have an allocator before anything starts. */
static int attach_pids(struct session *s)
{
	size_t i;
	int err;

	for (i = 0; i < s->o->npids; i++) {
		err = session_attach(s, s->procs, s->o->pids[i], s->o->sample_bytes);
		if (err)
			return err;
	}
	return 0;
}

/* Whether path is a file that exec could run: 0 or -errno (a directory
 * passes access(X_OK), and exec refuses it only after the probes are up). */
static int check_executable(const char *path)
{
	struct stat st;

	if (access(path, X_OK) || stat(path, &st))
		return -errno;
	return S_ISDIR(st.st_mode) ? -EISDIR : S_ISREG(st.st_mode) ? 0 : -EACCES;
}

/* Whether execvp would find an executable for name (0 or -errno), so that
 * a typo is reported before any probe is set up. */
static int check_command(const char *name)
{
	const char *path = getenv("PATH");
	char *dirs, *dir, *save = NULL, *full;
	int err = -ENOENT, e;

	if (strchr(name, '/'))
		return check_executable(name);
	dirs = strdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	if (!dirs)
		return -ENOMEM;
	for (dir = strtok_r(dirs, ":", &save); dir && err; dir = strtok_r(NULL, ":", &save)) {
		if (asprintf(&full, "%s/%s", *dir ? dir : ".", name) < 0)
			break;
		e = check_executable(full);
		/* execvp goes on past a directory or a file it may not run */
		if (!e)
			err = 0;
		else if (e == -EACCES || e == -EISDIR)
			err = -EACCES;
		free(full);
	}
	free(dirs);
	return err;
}

/* --: fork the command held, attach to it, then let it exec. */
static int launch_command(struct session *s)
{
	char *const *argv = s->o->argv;
	struct lw_proc *p;
	int err;

	err = held_child_spawn(argv, &s->child);
	if (err) {
		lw_err("cannot start %s: %s\n", argv[0], strerror(-err));
		return err;
	}
	s->have_child = true;
	/* until it execs the child is a copy of leakwatch: its libc is the
	 * one the command will map in the usual case of one system libc */
	p = procs__add(s->procs, s->child.pid, argv[0], NULL);
	if (!p)
		return -ENOMEM;
	p->identity = identities__pid(s->ids, s->child.pid);
	err = tracer__track(s->tracer, s->child.pid, s->o->sample_bytes);
	if (err) {
		lw_err("cannot track process %d: %s\n", s->child.pid, strerror(-err));
		return err;
	}
	err = follow_attach(s, p, "command");
	if (err)
		return err;
	p->attached = true;
	return 0;
}

static int release_command(struct session *s)
{
	int err = held_child_release(&s->child);

	if (!err)
		return 0;
	lw_err("cannot run %s: %s\n", s->o->argv[0], strerror(-err));
	return err == -ENOENT ? LW_EXIT_NOT_FOUND : LW_EXIT_CANNOT_EXEC;
}

static bool reap_child(struct session *s)
{
	int status;

	if (!s->have_child || s->child_reaped)
		return s->child_reaped;
	if (waitpid(s->child.pid, &status, WNOHANG) == s->child.pid &&
	    (WIFEXITED(status) || WIFSIGNALED(status))) {
		s->child_reaped = true;
		s->child_status = status;
	}
	return s->child_reaped;
}

/* Whether tracing is over by itself: the command exited, or every process
 * of -p did (--oom-only and --kernel alone have no process to wait for). */
static bool targets_gone(struct session *s)
{
	if (s->have_child)
		return reap_child(s);
	return s->end_when_gone && !procs__live_count(s->procs);
}

/* After records were consumed (n of them, or -Exxx). */
static int consumed(struct session *s, int n)
{
	if (n < 0 && n != -EINTR) {
		lw_err("reading the ring buffer failed: %s\n", strerror(-n));
		loop__stop(s->loop);
		return 0;
	}
	if (targets_gone(s))
		loop__stop(s->loop);
	return 0;
}

/* A ring asked for a wake-up (a hold, or a full eighth of the buffer). */
static int on_rings(void *ctx, uint32_t events)
{
	struct session *s = ctx;

	return consumed(s, tracer__consume(s->tracer));
}

/* The records that asked for no wake-up. */
static int on_flush(void *ctx, uint64_t expirations)
{
	struct session *s = ctx;

	return consumed(s, tracer__consume(s->tracer));
}

static int on_oom_tick(void *ctx, uint64_t expirations)
{
	struct session *s = ctx;

	oomwatch__tick(s->oom, s->procs, now_ns());
	return 0;
}

/* -d: tracing ends. */
static int on_duration(void *ctx, uint64_t expirations)
{
	loop__stop(((struct session *)ctx)->loop);
	return 0;
}

/* -i: exited processes that a report showed go (procs.h), all but the
 * latest KEEP_EXITED, which the final report still lists; their symbols
 * go with them unless their pid lives on in a new process, and then the
 * stacks that only they held. */
#define KEEP_EXITED 64

static void forget_process(struct lw_proc *p, void *ctx)
{
	struct session *s = ctx;

	/* live again: in a new process, the session's or a target's */
	if (!session_proc(s, p->pid, NULL))
		symbolizer__forget_process(s->sym, p->pid);
}

/* -i: a report on stdout. */
static int on_interval(void *ctx, uint64_t expirations)
{
	struct session *s = ctx;
	int err = output_report(s, stdout, false);

	if (!err && fflush(stdout))
		err = -errno;
	/* whoever read the reports is gone: say it once, and end the trace
	 * as -d would */
	if (err == -EPIPE) {
		lw_err("stdout was closed (%s): no report can reach it, tracing stops\n",
		       strerror(-err));
		s->stdout_closed = true;
		loop__stop(s->loop);
	} else if (err) {
		lw_err("cannot write the periodic report to stdout: %s\n", strerror(-err));
	} else if (procs__evict_reported(s->procs, KEEP_EXITED, forget_process, s)) {
		session_sweep_stacks(s);
	}
	/* the report's model and its text were many MiB of small blocks,
	 * freed now between what stays: give their pages back, or the
	 * resident size keeps the largest report ever made, and creeps up as
	 * what stays fragments the heap */
	malloc_trim(0);
	return 0;
}

/*
 * SIGINT, SIGTERM: tracing ends, unless there is a command, which decides
 * when to end: the signal is passed on to it, once while tracing, every
 * time once tracing has ended (-d) and leakwatch waits for it.  SIGCHLD:
 * the command may have exited.
 */
static int on_signal(void *ctx, const struct signalfd_siginfo *si)
{
	struct session *s = ctx;
	int sig = (int)si->ssi_signo;

	if (sig == SIGCHLD) {
		if (s->have_child && reap_child(s))
			loop__stop(s->loop);
		return 0;
	}
	if (!s->have_child) {
		loop__stop(s->loop);
		return 0;
	}
	if (!s->child_reaped && (!s->tracing || !s->forwarded))
		kill(s->child.pid, sig);
	s->forwarded = true;
	return 0;
}

/* Signals reach the loop (a signalfd), blocked from here on in every
 * thread leakwatch starts; a reader gone from a pipe is an error, not
 * an end. */
static int start_loop(struct session *s)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	s->loop = loop__new();
	if (!s->loop || !loop__add_signals(s->loop, &set, on_signal, s)) {
		lw_err("cannot set up the event loop: %s\n", strerror(errno));
		return -errno;
	}
	return 0;
}

/* The sources that feed tracing: the rings, and a timer per duty. */
static int add_tracing_sources(struct session *s)
{
	const struct lw_options *o = s->o;
	uint64_t flush = FLUSH_MS * 1000000ull, interval = (uint64_t)(o->interval_s * 1e9);

	s->rings = loop__add_fd(s->loop, tracer__epoll_fd(s->tracer), EPOLLIN, on_rings, s);
	s->flush = loop__add_timer(s->loop, flush, flush, on_flush, s);
	if (!s->rings || !s->flush)
		return -errno;
	if (s->oom) {
		s->oom_tick = loop__add_timer(s->loop, 0, OOM_TICK_MS * 1000000ull, on_oom_tick,
					      s);
		if (!s->oom_tick)
			return -errno;
	}
	if (interval) {
		s->interval = loop__add_timer(s->loop, interval, interval, on_interval, s);
		if (!s->interval)
			return -errno;
	}
	if (o->duration_s) {
		s->duration = loop__add_timer(s->loop, (uint64_t)(o->duration_s * 1e9), 0,
					      on_duration, s);
		if (!s->duration)
			return -errno;
	}
	return 0;
}

static void remove_tracing_sources(struct session *s)
{
	loop__remove(s->loop, s->rings);
	loop__remove(s->loop, s->flush);
	loop__remove(s->loop, s->oom_tick);
	loop__remove(s->loop, s->interval);
	loop__remove(s->loop, s->duration);
	s->rings = s->flush = s->oom_tick = s->interval = s->duration = NULL;
}

/* Consume until the command exits, every traced process is gone, a
 * signal or the duration says stop. */
static void event_loop(struct session *s)
{
	int err;

	/* -d counts from here, not from a start that loading BPF slowed */
	s->start_ns = now_ns();
	err = add_tracing_sources(s);
	if (err) {
		lw_err("cannot set up the event loop: %s\n", strerror(-err));
		return;
	}
	s->tracing = true;
	err = s->hooks && s->hooks->ready ? s->hooks->ready(s, s->hooks->ctx) : 0;
	if (!err && !targets_gone(s))
		err = loop__run(s->loop);
	if (err)
		lw_err("the event loop failed: %s\n", strerror(-err));
	if (s->hooks && s->hooks->ending)
		s->hooks->ending(s, s->hooks->ctx);
	s->tracing = false;
	remove_tracing_sources(s);
}

/* Tracing ends: consume what is left, and leave no process stopped. */
static void drain(struct session *s)
{
	int err = tracer__end_holds(s->tracer);

	if (err)
		lw_err("a process held for probing may be left stopped (%s): continue it "
		       "with kill -CONT\n", strerror(-err));
	/* the exit record of a process precedes its reaping: everything it
	 * did is in the buffer by now */
	while (tracer__poll(s->tracer, 0) > 0)
		;
	tracer__detach_all(s->tracer);
	s->drained = true;
}

/* -d ended the trace: the command goes on untraced, and its status is
 * leakwatch's; stop signals are still the command's to decide. */
static void wait_command(struct session *s)
{
	int err = 0;

	if (!s->child_reaped) {
		tracer__free(s->tracer);
		s->tracer = NULL;
		if (!reap_child(s))
			err = loop__run(s->loop);
	}
	if (err || !s->child_reaped) {
		while (waitpid(s->child.pid, &s->child_status, 0) < 0 && errno == EINTR)
			;
		s->child_reaped = true;
	}
}

/* Checks and objects every configuration of a session needs; 0, or the
 * exit code (the cause printed). */
static int session_setup(struct session *s)
{
	const struct lw_options *o = s->o;
	int err;

	s->start_ns = now_ns();
	if (start_loop(s))
		return LW_EXIT_FAILURE;
	if (output_check(o))
		return LW_EXIT_USAGE;
	if (o->argv) {
		err = check_command(o->argv[0]);
		if (err) {
			lw_err("cannot run %s: %s\n", o->argv[0], strerror(-err));
			return err == -ENOENT ? LW_EXIT_NOT_FOUND : LW_EXIT_CANNOT_EXEC;
		}
	}
	if (check_system())
		return LW_EXIT_FAILURE;
	s->sym = symbolizer__new(NULL);
	s->procs = procs__new();
	s->stacks = stackstore__new(o->stack_entries);
	s->growth = o->interval_s ? growth__new() : NULL;
	if (!s->sym || !s->procs || !s->stacks || (o->interval_s && !s->growth)) {
		lw_err("out of memory\n");
		return LW_EXIT_FAILURE;
	}
	s->ids = identities__new(&(struct identity_opts){ .host_root = o->host_root });
	if (!s->ids) {
		lw_err("cannot open the host root %s: %s (--host-root)\n",
		       o->host_root ? o->host_root : "/", strerror(errno));
		return LW_EXIT_FAILURE;
	}
	if (output_start_postmortems(s) || start_kernel(s) || start_tracer(s))
		return LW_EXIT_FAILURE;
	return 0;
}

/* The processes of -p or the command, if any; says what is traced. */
static int start_targets(struct session *s)
{
	const struct lw_options *o = s->o;
	size_t nprocs;
	int err;

	if (o->oom_only) {
		lw_info("ready: capturing OOM kills system-wide, postmortems in %s\n",
			o->postmortem_dir);
		return 0;
	}
	if (s->hooks && !o->argv && !o->npids && !o->kernel) {
		/* the front end's targets come later; it says when it is ready */
		lw_debug("tracing: the front end's targets, none yet\n");
		return 0;
	}
	if (o->kernel && !o->argv && !o->npids) {
		lw_info("ready: tracing the kernel's allocations system-wide (%zu kernel "
			"symbols)\n", kallsyms__count(s->ksyms));
		return 0;
	}
	err = o->argv ? launch_command(s) : attach_pids(s);
	if (err) {
		if (err == -ENOMEM)
			lw_err("out of memory\n");
		return LW_EXIT_FAILURE;
	}
	s->end_when_gone = !o->argv && o->npids;
	nprocs = procs__count(s->procs);
	lw_info("ready: tracing %zu process%s%s%s (%s uprobes; mappings: %s)\n", nprocs,
		nprocs == 1 ? "" : "es", o->follow ? " and their children" : "",
		o->kernel ? ", and the kernel's allocations" : "", tracer__probe_api(s->tracer),
		s->map_hooks ? s->map_hooks : "not traced");
	return o->argv ? release_command(s) : 0;
}

/* Trace until the end, then the final report (or, --oom-only, the count
 * of postmortems) and the command's status. */
static int trace(struct session *s)
{
	int code;

	event_loop(s);
	reap_child(s);
	drain(s);
	if (s->o->oom_only) {
		lw_info("%zu OOM postmortem%s written\n", oomwatch__written(s->oom),
			oomwatch__written(s->oom) == 1 ? "" : "s");
		return LW_EXIT_OK;
	}
	if (s->hooks && s->hooks->no_final_report)
		return LW_EXIT_OK;
	code = output_final_report(s) ? LW_EXIT_FAILURE : LW_EXIT_OK;
	/* the command's status, whatever became of the report */
	if (s->have_child) {
		wait_command(s);
		code = status_code(s->child_status);
	}
	return code;
}

static void session_release(struct session *s)
{
	if (s->have_child && !s->child_reaped)
		held_child_abort(&s->child);
	/* a failure after attaching: processes may be held */
	if (s->tracer && !s->drained)
		drain(s);
	session_free_targets(s);
	unwinder__free(s->unwind);
	tracer__free(s->tracer);
	oomwatch__free(s->oom);
	identities__free(s->ids);
	stackstore__free(s->stacks);
	procs__free(s->procs);
	procs__free(s->kprocs);
	stackstore__free(s->kstacks);
	kallsyms__free(s->ksyms);
	symbolizer__free(s->sym);
	growth__free(s->growth);
	loop__free(s->loop);
}

struct loop *session__loop(struct session *s)
{
	return s->loop;
}

size_t session__postmortems(const struct session *s)
{
	return s->oom ? oomwatch__written(s->oom) : 0;
}

void session__stop(struct session *s)
{
	loop__stop(s->loop);
}

int session_run_hooked(const struct lw_options *o, const struct session_hooks *hooks)
{
	struct session s = { .o = o, .hooks = hooks, .child = { .go_fd = -1, .err_fd = -1 } };
	int code;

	code = session_setup(&s);
	code = code ?: start_targets(&s);
	code = code ?: trace(&s);
	session_release(&s);
	return code;
}

int session_run(const struct lw_options *o)
{
	return session_run_hooked(o, NULL);
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "diff.h"
#include "elfsym.h"
#include "identity.h"
#include "kallsyms.h"
#include "launcher.h"
#include "log.h"
#include "loop.h"
#include "mapevent.h"
#include "oomwatch.h"
#include "probes.h"
#include "procfs.h"
#include "procs.h"
#include "report_build.h"
#include "rsswatch.h"
#include "safefile.h"
#include "session.h"
#include "stackstore.h"
#include "symbolizer.h"
#include "tracer.h"
#include "unwinder.h"

/* Records submitted without a wake-up (most: see lw_submit) wait at most
 * this long: it bounds the reporting latency. */
#define FLUSH_MS 50
/* The OOM watch's duties (RSS samples, memory thresholds, postmortem
 * warm-up) are rate-limited inside; this is how often it is asked. */
#define OOM_TICK_MS 50

/*
 * How a forked child is probed (README, "Forks at any rate").  Probes of
 * its own (per process) cost nothing to other processes, but registering
 * them blocks every fork() of the machine for as long as it takes; the
 * per-file probes need no registration per child, but every process that
 * maps the file then pays a breakpoint at each call.  A child gets its own
 * while children come slowly: its parent's previous fork at least
 * OWN_FORK_GAP_MS before, no other hold waiting, and at most OWN_PER_S
 * registrations a second for the whole session (OWN_BURST at once);
 * otherwise the per-file ones.
 */
#define OWN_FORK_GAP_MS 100
#define OWN_PER_S 10
#define OWN_BURST 10

struct session {
	const struct lw_options *o;
	struct tracer *tracer;
	struct symbolizer *sym;
	struct procs *procs;
	struct stackstore *stacks;
	struct unwinder *unwind;	/* NULL: frame pointers only */
	struct oomwatch *oom;		/* --postmortem-dir */
	struct identities *ids;		/* processes' containers, by cgroup */
	/* --kernel: the pseudo-process "[kernel]" (alone in kprocs, so that
	 * it never counts among the processes traced), its stacks, names */
	struct procs *kprocs;
	struct lw_proc *kproc;
	struct stackstore *kstacks;
	struct kallsyms *ksyms;
	struct user_drops udrops;
	bool stdout_closed;	/* a write to stdout found its reader gone */
	struct growth *growth;		/* -i: the stacks of the last report */
	/* children that may still get probes of their own (OWN_PER_S) */
	double own_tokens;
	uint64_t own_tokens_ns;
	/* children came fast: every process is on the per-file links */
	bool per_file;
	uint64_t start_ns;		/* tracing began (ready) */
	bool drained;			/* tracing ended */
	const char *map_hooks;		/* NULL: mappings not traced */

	/* the event loop and the sources of tracing (see trace()) */
	struct loop *loop;
	struct loop_source *rings, *flush, *oom_tick, *interval, *duration;
	bool tracing;		/* the loop consumes records */
	bool end_when_gone;	/* -p: tracing ends with the last process */
	const struct session_hooks *hooks;

	/* -- COMMAND */
	struct held_child child;
	bool have_child;
	bool child_reaped;
	bool forwarded;		/* a stop signal went to the command */
	int child_status;
};

/* The clock of the records' timestamps (bpf_ktime_get_ns). */
static uint64_t now_ns(void)
{
	return loop_now_ns();
}

static const char *pid_comm(const struct lw_proc *p)
{
	return p && p->comm ? p->comm : "?";
}

/* Copy a new stack out of the kernel and let the symbolizer see it while
 * the process is alive (it may have dlopen'd the code since we looked). */
static void note_stack(struct session *s, pid_t pid, int32_t stack_id)
{
	uint64_t ips[LW_MAX_STACK_DEPTH];
	const uint64_t *known;
	int n;

	if (stack_id < 0)
		return;
	n = stackstore__get(s->stacks, stack_id, &known);
	if (n < 0) {
		n = tracer__stack(s->tracer, stack_id, ips, LW_MAX_STACK_DEPTH);
		if (n < 0 || stackstore__put(s->stacks, stack_id, ips, n)) {
			s->udrops.stack_fetch++;
			return;
		}
		known = ips;
	}
	if (stackstore__first_for(s->stacks, stack_id, pid)) {
		symbolizer__note_stack(s->sym, pid, stack_id, known, n);
		if (s->oom)
			oomwatch__note_stack(s->oom, pid, stack_id);
	}
}

/* lib's probes for p: a followed process's are the per-file links, live
 * already when another process of the session needed the same file. */
static int attach_for(struct session *s, struct lw_proc *p, const struct alloc_lib *lib,
		      size_t *nprobes)
{
	if (p->shared)
		return tracer__attach_shared(s->tracer, lib, nprobes);
	return tracer__attach(s->tracer, p->pid, lib, nprobes);
}

/* Attach the C++ operator new probes once pid maps libstdc++ (it may not
 * yet: a command is attached before it execs).  Best effort. */
static void attach_cxx(struct session *s, struct lw_proc *p)
{
	struct alloc_lib lib;
	size_t nprobes = 0;
	int err;

	if (p->cxx_attached || cxx_lib_find(p->pid, s->o->entry_probes, &lib))
		return;
	err = attach_for(s, p, &lib, &nprobes);
	if (err)
		lw_warn("process %d: cannot attach probes to %s: %s; C++ allocations will be "
			"attributed inside libstdc++\n", p->pid, lib.path, strerror(-err));
	else
		lw_debug("process %d: %zu probes on %s\n", p->pid, nprobes, lib.path);
	p->cxx_attached = !err;
	alloc_lib__free(&lib);
}

/*
 * Probe the other allocators (jemalloc, tcmalloc, mimalloc) that pid maps,
 * each kind once: after an exec the probes of the old image stay with the
 * process and serve the same library in the new one.  Best effort: glibc's
 * probes stay, and serve whatever the other allocator does not replace.
 */
static void attach_libs(struct session *s, struct lw_proc *p, bool predict)
{
	struct alloc_lib lib;
	unsigned kind;
	int err;

	while (!(predict ? other_lib_predict : other_lib_find)(p->pid, s->o->entry_probes,
								p->other_attached, &kind, &lib)) {
		size_t nprobes = 0;

		/* never retried: a library that cannot be probed now will
		 * not be probed at the next hold either */
		p->other_attached |= kind;
		err = attach_for(s, p, &lib, &nprobes);
		if (err)
			lw_warn("process %d: cannot attach probes to %s: %s; its allocations are "
				"not traced\n", p->pid, lib.path, strerror(-err));
		else
			lw_debug("process %d: %zu probes on %s%s\n", p->pid, nprobes, lib.path,
				 predict ? " (before it is mapped)" : "");
		alloc_lib__free(&lib);
	}
}

/*
 * --allocator-prefix: probe the prefixed functions in the file that
 * defines them, once per file (an exec'd image may map the same one).
 * Returns 0, or -ENOENT when no file mapped in p defines them (printed
 * when report), or another -Exxx (printed).
 */
static int attach_prefixed(struct session *s, struct lw_proc *p, bool report)
{
	const char *prefix = s->o->allocator_prefix;
	struct alloc_lib lib;
	struct stat st;
	size_t nprobes = 0;
	int err;

	if (!prefix)
		return 0;
	err = prefixed_lib_find(p->pid, prefix, s->o->entry_probes, &lib);
	if (err) {
		if (report && err == -ENOENT)
			lw_warn("process %d (%s): no file it maps defines %smalloc and %sfree "
				"(--allocator-prefix %s): its %s allocations are not traced\n",
				p->pid, pid_comm(p), prefix, prefix, prefix, prefix);
		else if (err != -ENOENT)
			lw_warn("process %d: cannot look for %smalloc: %s\n", p->pid, prefix,
				strerror(-err));
		return err;
	}
	if (stat(lib.open_path, &st)) {
		err = -errno;
	} else if ((uint64_t)st.st_dev == p->prefix_dev && (uint64_t)st.st_ino == p->prefix_ino) {
		err = 0;	/* its probes are live already */
	} else {
		err = attach_for(s, p, &lib, &nprobes);
		if (!err) {
			p->prefix_dev = st.st_dev;
			p->prefix_ino = st.st_ino;
			lw_debug("process %d: %zu %s probes on %s\n", p->pid, nprobes, prefix,
				 lib.path);
		}
	}
	if (err)
		lw_warn("process %d: cannot attach the %s probes to %s: %s\n", p->pid, prefix,
			lib.path, strerror(-err));
	alloc_lib__free(&lib);
	return err;
}

static void find_failed(const char *what, pid_t pid, int err)
{
	if (err == -ENOEXEC)
		lw_err("%s %d: no allocator found: it maps no libc.so and its executable "
		       "defines no malloc (a stripped static binary cannot be traced)\n", what, pid);
	else
		lw_err("%s %d: cannot read its memory map: %s\n", what, pid, strerror(-err));
}

/* Attach lib's probes for p; prints the cause on failure; frees lib. */
static int attach_lib(struct session *s, struct lw_proc *p, struct alloc_lib *lib,
		      const char *what)
{
	pid_t pid = p->pid;
	size_t nprobes = 0;
	int err;

	err = attach_for(s, p, lib, &nprobes);
	if (err) {
		lw_err("%s %d: cannot attach probes to %s: %s%s\n", what, pid, lib->path,
		       strerror(-err),
		       err == -ENOENT ? " (is the kernel built with CONFIG_UPROBE_EVENTS?)" : "");
	} else {
		lw_debug("%s %d: %zu probes on %s\n", what, pid, nprobes, lib->path);
	}
	alloc_lib__free(lib);
	return err;
}

/* A static executable built by Go (no cgo): it has no C allocator. */
static bool static_go(pid_t pid)
{
	struct elf_file *ef;
	char exe[64];
	bool go;

	snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
	ef = elf_file__open(exe);
	if (!ef)
		return false;
	go = !elf_file__is_dynamic(ef) && elf_file__is_go(ef);
	elf_file__close(ef);
	return go;
}

/*
 * Attach the allocator probes for p; prints the cause on failure.  A
 * static Go program has no malloc to probe: its memory is Go's, and its
 * mappings are traced all the same, so that is a note, not a failure.
 */
static int attach_process(struct session *s, struct lw_proc *p, const char *what)
{
	struct alloc_lib lib;
	int err;

	err = alloc_lib_find(p->pid, s->o->entry_probes, &lib);
	if (err == -ENOEXEC && static_go(p->pid)) {
		lw_info("%s %d is a static Go program: it has no C allocator, so heap probes "
			"do not apply; its mappings are traced\n", what, p->pid);
		return 0;
	}
	if (err) {
		find_failed(what, p->pid, err);
		return err;
	}
	return attach_lib(s, p, &lib, what);
}

/* The command line, or NULL while it is not readable yet (exec). */
static char *read_cmdline(pid_t pid)
{
	char *cmdline = NULL;

	if (procfs_read_cmdline(pid, &cmdline) || !*cmdline) {
		free(cmdline);
		return NULL;
	}
	return cmdline;
}

/* pid's code changed (attach, fork, exec, dlopen): the walker's tables. */
static void sync_unwind(struct session *s, pid_t pid)
{
	int err;

	if (!s->unwind)
		return;
	err = unwinder__sync(s->unwind, pid);
	if (err && err != -ENOENT)
		lw_debug("process %d: unwind tables: %s\n", pid, strerror(-err));
}

static struct lw_proc *add_process(struct session *s, pid_t pid, const char *comm)
{
	char *cmdline = read_cmdline(pid), *rcomm = NULL;
	struct lw_proc *p;

	if (!comm && !procfs_read_comm(pid, &rcomm))
		comm = rcomm;
	p = procs__add(s->procs, pid, comm, cmdline);
	free(cmdline);
	free(rcomm);
	if (p) {
		symbolizer__add_process(s->sym, pid);
		sync_unwind(s, pid);
		p->identity = identities__pid(s->ids, pid);
	}
	return p;
}

/* Tell the kernel how p is probed now (enum lw_pid_flags). */
static void set_flags(struct session *s, struct lw_proc *p)
{
	uint32_t flags = LW_PID_TRACED;

	if (p->shared)
		flags |= LW_PID_SHARED;
	if (p->covered)
		flags |= LW_PID_COVERED;
	tracer__set_flags(s->tracer, p->pid, flags);
}

/*
 * A followed process's allocator files, all of them, through the per-file
 * links; then it is covered: its children are served from their first
 * instruction.  Reads its maps, so p is stopped or a copy of a stopped
 * parent.
 */
static void cover(struct session *s, struct lw_proc *p, const char *what)
{
	if (attach_process(s, p, what))
		return;
	p->attached = true;
	attach_cxx(s, p);
	attach_libs(s, p, false);
	attach_prefixed(s, p, false);
	p->covered = true;
}

/*
 * Children came fast: from now on every process of the session is served
 * by the per-file links.  A per-process link left on a file that has
 * per-file links would cost every process that maps the file a return
 * probe at each call (the kernel sets up a session link's return in any
 * process, then runs nothing there), so each process with probes of its
 * own gets the per-file links of its files and is marked LW_PID_SHARED:
 * at that moment its own programs stop serving it and the per-file ones
 * start.  Then the per-process links go, exited processes' too.
 */
static void switch_to_per_file(struct session *s)
{
	size_t i, n = procs__count(s->procs);
	bool *own = calloc(n ? n : 1, sizeof(*own));

	s->per_file = true;
	if (!own) {
		s->udrops.ledger_nomem++;
		return;
	}
	for (i = 0; i < n; i++) {
		struct lw_proc *p = procs__at(s->procs, i);

		own[i] = !p->shared;
		if (p->shared || p->exited || !p->attached)
			continue;
		p->shared = true;
		p->cxx_attached = false;
		p->other_attached = 0;
		p->prefix_dev = p->prefix_ino = 0;
		cover(s, p, "process");
		set_flags(s, p);
	}
	/* (a pid may be listed more than once: it is detached once every
	 * live process of it is on the per-file links) */
	for (i = 0; i < n; i++) {
		if (own[i])
			tracer__detach(s->tracer, procs__at(s->procs, i)->pid);
	}
	free(own);
	lw_debug("children come fast: every process is on the per-file probes now\n");
}

/* Whether a child forked at ts_ns from parent may get probes of its own
 * (see OWN_PER_S); takes one registration from the budget if so. */
static bool own_probes_allowed(struct session *s, uint64_t gap_ns, uint64_t ts_ns)
{
	if (!s->own_tokens_ns)
		s->own_tokens = OWN_BURST;
	else if (ts_ns > s->own_tokens_ns)
		s->own_tokens += (ts_ns - s->own_tokens_ns) / 1e9 * OWN_PER_S;
	if (s->own_tokens > OWN_BURST)
		s->own_tokens = OWN_BURST;
	if (ts_ns > s->own_tokens_ns)
		s->own_tokens_ns = ts_ns;
	/* other holds waiting behind this one: children come fast */
	if (s->per_file || gap_ns < OWN_FORK_GAP_MS * 1000000ull || s->own_tokens < 1 ||
	    tracer__holds_in_flight(s->tracer) > 1)
		return false;
	s->own_tokens -= 1;
	return true;
}

/* A held child that forked slowly: probes of its own, as -p's. */
static bool own_probes(struct session *s, struct lw_proc *p)
{
	p->shared = false;
	if (!attach_process(s, p, "child")) {
		p->attached = true;
		attach_cxx(s, p);
		attach_libs(s, p, false);
		attach_prefixed(s, p, false);
		set_flags(s, p);
		return true;
	}
	p->shared = true;
	return false;
}

/*
 * A forked child.  When its parent was covered, the per-file links of
 * the parent's files serve it from its first instruction and it needs
 * nothing more (LW_EV_FORK_COVERED): that is how a fork storm is followed
 * without a uprobe registration or a hold per child.  Otherwise it was
 * held, if the backlog allowed: it gets probes of its own if children
 * come slowly, else its files get their per-file links (once for the
 * session) and its parent is covered too, being the same copy.
 */
static void on_fork(struct session *s, const struct lw_event *e)
{
	bool held = e->flags & LW_EV_HELD;
	struct lw_proc *p, *parent = procs__live(s->procs, (pid_t)e->aux);
	uint64_t gap_ns = UINT64_MAX;

	/* the second record of a child that stopped itself (before 6.13) */
	p = procs__live(s->procs, e->pid);
	if (p && p->fork_pending) {
		p->fork_pending = false;
	} else if (e->flags & LW_EV_FORK_COVERED && parent) {
		/* not held, maybe gone already: its parent's copy */
		p = procs__add(s->procs, e->pid, e->comm, parent->cmdline);
		if (p && symbolizer__add_fork(s->sym, e->pid, parent->pid))
			symbolizer__add_process(s->sym, e->pid);
	} else {
		p = add_process(s, e->pid, e->comm);
	}
	if (!p) {
		s->udrops.ledger_nomem++;
		goto out;
	}
	p->shared = true;
	/* one address space (CLONE_VM): one heap, whoever frees */
	if (e->flags & LW_EV_SHARED_VM && parent && lw_proc__share_vm(p, parent))
		s->udrops.ledger_nomem++;
	/* the first: the child is known, and alive for the session, from
	 * here; it is probed once it has stopped itself */
	if (e->flags & LW_EV_FORK_PENDING) {
		p->fork_pending = true;
		return;
	}
	/* a copy of its parent until it execs, whose exec hold attaches it
	 * if need be */
	if (!p->cmdline && parent && parent->cmdline)
		p->cmdline = strdup(parent->cmdline);
	if (parent) {
		gap_ns = parent->last_fork_ns && e->ts_ns > parent->last_fork_ns ?
				 e->ts_ns - parent->last_fork_ns : UINT64_MAX;
		parent->last_fork_ns = e->ts_ns;
	}
	if (e->flags & LW_EV_FORK_COVERED || (parent && parent->covered)) {
		p->attached = true;
		p->covered = true;
	} else if (held) {
		if (!own_probes_allowed(s, gap_ns, e->ts_ns) || !own_probes(s, p))
			cover(s, p, "child");
	} else {
		/* not held (the backlog was full): it may be gone, or in
		 * exec, already; what it maps now is probed if it can be */
		lw_debug("child %d of %d ran ahead of its probes\n", e->pid, (int)e->aux);
		cover(s, p, "child");
	}
	if (p->covered) {
		set_flags(s, p);
		/* its parent maps the same files (it was held too, if it
		 * was a child) */
		if (parent && !parent->covered && parent->attached) {
			parent->covered = true;
			set_flags(s, parent);
		}
	}
	if (p->attached)
		lw_debug("following child %d of %d (%s)\n", e->pid, (int)e->aux,
			 !p->shared ? "its own probes" : held ? "held for per-file probes" :
								"per-file probes");
out:
	if (held)
		tracer__continue(s->tracer, e->pid);
	if (!s->per_file && p && p->shared && p->attached)
		switch_to_per_file(s);
}

/*
 * A dynamic image whose process has no probes yet (a child that ran ahead
 * of them, on kernels that cannot hold it at fork): only ld.so is mapped
 * at exec, so probe the libc leakwatch itself uses, as for a command.
 */
static void attach_dynamic(struct session *s, struct lw_proc *p)
{
	struct alloc_lib lib;

	/* leakwatch's libc, probed for the child */
	if (!alloc_lib_find(getpid(), s->o->entry_probes, &lib))
		p->attached = !attach_lib(s, p, &lib, "process");
}

/*
 * A new image without an interpreter (it is held before its first
 * instruction) is a static executable, whose malloc is in itself: the
 * probes already attached are on a libc it does not use.  A dynamic image
 * keeps them (its libc is mapped after this point, from the same file in
 * the usual case).
 */
static void attach_static(struct session *s, struct lw_proc *p)
{
	struct elf_file *ef;
	char exe[64];
	bool dynamic;

	snprintf(exe, sizeof(exe), "/proc/%d/exe", p->pid);
	ef = elf_file__open(exe);
	if (!ef)
		return;
	dynamic = elf_file__is_dynamic(ef);
	elf_file__close(ef);
	if (dynamic && !p->attached)
		attach_dynamic(s, p);
	if (dynamic) {
		/* an allocator in LD_PRELOAD or DT_NEEDED replaces glibc's
		 * malloc from the first call: its probes must be live before
		 * the libraries are mapped, there may be no hold after */
		attach_libs(s, p, true);
		attach_prefixed(s, p, false);
		return;
	}
	tracer__detach(s->tracer, p->pid);
	p->attached = !attach_process(s, p, "static executable");
	p->cxx_attached = false;
	p->other_attached = 0;
	p->prefix_dev = p->prefix_ino = 0;
	attach_prefixed(s, p, false);
}

static void on_exec(struct session *s, struct lw_proc *p, const struct lw_event *e)
{
	char *cmdline = read_cmdline(e->pid);

	/* the old image's blocks are gone with its address space */
	tracer__forget_sampled(s->tracer, e->pid, p->ledger);
	if (lw_proc__reset(p, e->comm, cmdline))
		s->udrops.ledger_nomem++;
	free(cmdline);
	symbolizer__forget_process(s->sym, e->pid);
	symbolizer__add_process(s->sym, e->pid);
	/* the kernel uncovered it: a new image maps other files */
	p->covered = false;
	sync_unwind(s, e->pid);
	lw_debug("process %d exec'd %s\n", e->pid, e->comm);
	attach_static(s, p);
}

/* Exit status as a shell reports it. */
static int status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return LW_EXIT_FAILURE;
}

/* A new image stopped at its first allocation: take its modules and
 * command line now, it may exit before the next poll. */
static void on_held(struct session *s, struct lw_proc *p, pid_t pid)
{
	if (!p->cmdline)
		p->cmdline = read_cmdline(pid);
	/* its modules were read by on_event */
	sync_unwind(s, pid);
	/* the new image's libraries are all mapped by now */
	attach_cxx(s, p);
	attach_libs(s, p, false);
	attach_prefixed(s, p, true);
	/* the kernel uncovered it (exec, new code): a followed process is
	 * covered again now that the files it maps have their per-file links
	 * (its libc's were there, an exec keeps them); one of -p or the
	 * command, or a child with probes of its own, at its next fork,
	 * which is held for it */
	p->covered = p->shared && p->attached;
	set_flags(s, p);
	tracer__continue(s->tracer, pid);
}

/* Whether pid runs leakwatch: this one, or another copy of the same file,
 * or a process calling itself leakwatch.  Tracing one would trace its own
 * ring buffer reads: a loop that feeds itself. */
static bool is_leakwatch(pid_t pid)
{
	struct stat self, st;
	char path[64], *comm = NULL;
	bool same;

	if (pid == getpid())
		return true;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (!stat("/proc/self/exe", &self) && !stat(path, &st) && self.st_dev == st.st_dev &&
	    self.st_ino == st.st_ino)
		return true;
	same = !procfs_read_comm(pid, &comm) && !strcmp(comm, "leakwatch");
	free(comm);
	return same;
}

/* A followed process exec'd leakwatch: held before its first instruction,
 * it is let go untraced, its children not followed, and counted. */
static void skip_leakwatch(struct session *s, struct lw_proc *p)
{
	tracer__untrack(s->tracer, p->pid);
	tracer__detach(s->tracer, p->pid);
	tracer__forget_sampled(s->tracer, p->pid, p->ledger);
	p->skipped = true;
	p->exited = true;	/* as far as tracing goes: nothing more comes */
	s->udrops.leakwatch_skipped++;
	lw_info("process %d exec'd leakwatch: not traced (leakwatch does not trace leakwatch)\n",
		p->pid);
}

/*
 * A free of a block never seen allocated, made by glibc emptying the cache
 * of a thread that exits: tcache_thread_shutdown frees every chunk the
 * thread's cache holds (blocks the program freed already, which glibc kept
 * for reuse) and the cache itself, which glibc allocated inside malloc.
 * Told by free's caller, named from libc's symbols (libc6-dbg).
 */
static bool thread_cache_free(struct session *s, const struct lw_event *e)
{
	const struct sym_frame *f;
	int n, i;

	if (!e->aux)
		return false;
	n = symbolizer__resolve(s->sym, e->pid, e->aux, true, &f);
	for (i = 0; i < n; i++)
		if (f[i].function && !strcmp(f[i].function, "tcache_thread_shutdown"))
			return true;
	return false;
}

static int on_event(void *ctx, const struct lw_event *e, const uint64_t *ips)
{
	struct session *s = ctx;
	int32_t stack_id = e->stack_id;
	struct lw_proc *p;
	int err = 0;

	if (e->type == LW_REC_FORK) {
		on_fork(s, e);
		return 0;
	}
	p = procs__live(s->procs, e->pid);
	if (!p) {
		s->udrops.stray_events++;
		/* unknown or not, a held process must go on */
		if (e->flags & LW_EV_HELD)
			tracer__continue(s->tracer, e->pid);
		return 0;
	}
	if (ips) {	/* a new stack, or one without an id: keep it here */
		stack_id = stackstore__intern(s->stacks, ips, e->nips);
		if (stack_id >= 0 && e->flags & LW_EV_STACK_TRUNCATED)
			stackstore__set_truncated(s->stacks, stack_id);
		if (stack_id >= 0 && e->flags & LW_EV_STACK_DEFINE &&
		    stackstore__name(s->stacks, (uint32_t)e->stack_id, stack_id))
			stack_id = -ENOMEM;
		if (stack_id < 0) {
			s->udrops.stack_fetch++;
			stack_id = LEDGER_NO_STACK;
		}
	} else if (stack_id >= 0) {	/* named by the walker, sent before */
		stack_id = stackstore__named(s->stacks, (uint32_t)stack_id);
		if (stack_id < 0) {
			s->udrops.stack_fetch++;
			stack_id = LEDGER_NO_STACK;
		}
	}
	/* A held process mapped code since its last allocation: its modules
	 * are read before this allocation's stack is bound to them, as the
	 * code may be where other code was (a plugin reloaded). */
	if ((e->flags & LW_EV_HELD) && e->type != LW_REC_EXEC)
		symbolizer__add_process(s->sym, e->pid);
	switch (e->type) {
	case LW_REC_ALLOC:
		note_stack(s, e->pid, stack_id);
		err = ledger__alloc(p->ledger, e->addr, e->size, stack_id, e->ts_ns);
		break;
	case LW_REC_FREE:
		if (ledger__release(p->ledger, e->addr, NULL) == -ENOENT &&
		    thread_cache_free(s, e))
			p->thread_cache_frees++;
		break;
	case LW_REC_REALLOC_BEGIN:
		err = ledger__realloc_begin(p->ledger, e->tid, e->addr);
		break;
	case LW_REC_REALLOC_END:
		if (e->addr)
			note_stack(s, e->pid, stack_id);
		err = ledger__realloc_end(p->ledger, e->tid, e->aux, e->addr, e->size,
					  stack_id, e->ts_ns);
		break;
	case LW_REC_EXEC:
		if (is_leakwatch(e->pid)) {
			skip_leakwatch(s, p);
			if (e->flags & LW_EV_HELD)
				tracer__continue(s->tracer, e->pid);
			return 0;
		}
		on_exec(s, p, e);
		break;
	case LW_REC_EXIT:
		p->exited = true;
		p->exit_code = status_code((int)e->aux);
		if (s->unwind)
			unwinder__forget(s->unwind, e->pid);
		tracer__forget_sampled(s->tracer, e->pid, p->ledger);
		/* its probes go with the tracer: removing them takes a grace
		 * period that would stall the consumer */
		lw_debug("process %d (%s) exited\n", e->pid, pid_comm(p));
		break;
	}
	if (err == -ENOMEM)
		s->udrops.ledger_nomem++;
	if (e->flags & LW_EV_HELD)
		on_held(s, p, e->pid);
	return 0;
}

/* A mapping syscall of a traced process: into its intervals. */
static int on_map(void *ctx, const struct lw_map_event *m, const uint64_t *ips)
{
	struct session *s = ctx;
	struct lw_proc *p = procs__live(s->procs, m->e.pid);
	struct map_origin o = { .ts_ns = m->e.ts_ns };
	int err;

	if (!p) {
		s->udrops.stray_events++;
		return 0;
	}
	if (m->e.type != LW_REC_MUNMAP && m->e.type != LW_REC_MPROTECT) {
		err = mapevent_origin(s->sym, s->stacks, m, ips, s->o->sample_bytes, &o);
		if (err == -ENOMEM)
			s->udrops.stack_fetch++;
		note_stack(s, m->e.pid, o.stack_id);
	}
	err = mapevent_apply(p->maps, m, &o);
	free((char *)o.file);
	if (err == -ENOMEM)
		s->udrops.ledger_nomem++;
	return 0;
}

/* A kernel stack id seen for the first time: copy its frames out now;
 * the kernel's functions are named at report time. */
static int32_t note_kstack(struct session *s, int32_t stack_id, const uint64_t *inline_ips,
			   size_t nips)
{
	uint64_t ips[LW_MAX_STACK_DEPTH];
	const uint64_t *known;
	int n;

	if (inline_ips) {	/* the kernel's table refused it: keep it here */
		stack_id = stackstore__intern(s->kstacks, inline_ips, nips);
		if (stack_id < 0) {
			s->udrops.stack_fetch++;
			return LEDGER_NO_STACK;
		}
		return stack_id;
	}
	if (stack_id < 0 || stackstore__get(s->kstacks, stack_id, &known) >= 0)
		return stack_id;
	n = tracer__kstack(s->tracer, stack_id, ips, LW_MAX_STACK_DEPTH);
	if (n < 0 || stackstore__put(s->kstacks, stack_id, ips, n)) {
		s->udrops.stack_fetch++;
		return LEDGER_NO_STACK;
	}
	return stack_id;
}

/* --kernel: frees are matched by address whoever frees, whatever the
 * context; a free of an object allocated before tracing began counts in
 * the pseudo-process's unknown_frees. */
static int on_kevent(void *ctx, const struct lw_kevent *e, const uint64_t *ips)
{
	struct session *s = ctx;
	struct ledger *l = s->kproc->ledger;
	int32_t stack_id;

	if (e->type == LW_REC_KFREE) {
		ledger__release(l, e->addr, NULL);
		return 0;
	}
	if (e->type != LW_REC_KALLOC)
		return 0;
	stack_id = note_kstack(s, e->stack_id, ips, e->nips);
	if (ledger__alloc(l, e->addr, e->size, stack_id, e->ts_ns) == -ENOMEM)
		s->udrops.ledger_nomem++;
	return 0;
}

/* An OOM kill: the postmortem is written now, before anything else is
 * consumed, while the victim's /proc files are still there. */
static int on_oom(void *ctx, const struct lw_oom_event *e)
{
	struct session *s = ctx;
	struct lw_proc *p = procs__live(s->procs, e->pid);

	if (s->oom)
		oomwatch__on_kill(s->oom, e, p && !p->exited ? p : NULL);
	return 0;
}

/* On the tracer's capture thread: the victim's files, at once. */
static int on_oom_early(void *ctx, const struct lw_oom_event *e)
{
	struct session *s = ctx;

	return s->oom ? oomwatch__capture_early(s->oom, e) : 0;
}

static void on_postmortem(void *ctx, const struct oomwatch_note *n)
{
	const char *what = n->kind == PM_SNAPSHOT ? "memory snapshot" : "OOM postmortem";

	if (n->err) {
		lw_err("cannot write the %s of process %d (%s) to %s: %s\n", what, n->pid,
		       n->comm ? n->comm : "?", ((const struct session *)ctx)->o->postmortem_dir,
		       strerror(-n->err));
		return;
	}
	lw_info("%s of %sprocess %d (%s): %s, written %.1f ms after the %s\n", what,
		n->traced ? "" : "untraced ", n->pid, n->comm ? n->comm : "?", n->path,
		n->latency_ms, n->kind == PM_SNAPSHOT ? "threshold" : "kill");
}

/* -o FILE and --postmortem-dir (created if missing) must take files before
 * anything is traced, not at the end of a long trace or at the first kill. */
static int check_outputs(const struct lw_options *o)
{
	int err;

	if (o->output) {
		err = safefile_check(o->output);
		if (err) {
			lw_err("cannot write the report to %s: %s%s\n", o->output, strerror(-err),
			       err == -EXDEV ? " (a mount point: give a path in its directory)" : "");
			return err;
		}
	}
	if (!o->postmortem_dir)
		return 0;
	if (mkdir(o->postmortem_dir, 0755) && errno != EEXIST) {
		err = -errno;
		lw_err("cannot create the postmortem directory %s: %s\n", o->postmortem_dir,
		       strerror(-err));
		return err;
	}
	err = safefile_check_dir(o->postmortem_dir);
	if (err)
		lw_err("cannot write to the postmortem directory %s: %s\n", o->postmortem_dir,
		       strerror(-err));
	return err;
}

/* --postmortem-dir: the OOM watch, its directory checked by check_outputs. */
static int start_postmortems(struct session *s)
{
	const struct lw_options *o = s->o;
	struct oomwatch_opts wo = {
		.dir = o->postmortem_dir,
		.keep = o->postmortem_keep,
		.snapshot_pct = o->snapshot_pct,
		.sample_bytes = o->sample_bytes,
		.text_top = o->top,
		.early = true,
		.sym = s->sym,
		.stacks = s->stacks,
		.ids = s->ids,
		.host_root = o->host_root,
		.notify = on_postmortem,
		.ctx = s,
	};
	int err;

	if (!o->postmortem_dir)
		return 0;
	s->oom = oomwatch__new(&wo);
	if (!s->oom) {
		err = -errno;
		lw_err("cannot prepare OOM postmortems: %s\n", strerror(-err));
		return err;
	}
	return 0;
}

/* leakwatch's resident memory, in bytes; 0 when /proc cannot say. */
static uint64_t self_rss(void)
{
	uint64_t rss = 0, anon;
	char *text = NULL;

	if (!procfs_read_file("/proc/self/statm", &text, NULL) &&
	    rss_parse_statm(text, (uint64_t)sysconf(_SC_PAGESIZE), &rss, &anon))
		rss = 0;
	free(text);
	return rss;
}

static int write_report(struct session *s, FILE *f, bool final)
{
	const struct lw_options *o = s->o;
	struct report_build_opts bo = {};
	struct report_opts ro = {};
	struct report r;
	int err;

	bo.now_ns = now_ns();
	bo.final = final;
	bo.duration_s = (bo.now_ns - s->start_ns) / 1e9;
	bo.filter.min_size = o->min_size;
	bo.filter.max_size = o->max_size;
	bo.filter.sample_bytes = o->sample_bytes;
	if (o->older_than_ms)
		bo.filter.max_ts_ns = bo.now_ns > o->older_than_ms * 1000000 ?
					      bo.now_ns - o->older_than_ms * 1000000 : 1;
	/* every format but text carries every stack unless --top was given */
	bo.max_stacks = o->format != REPORT_TEXT && !o->top_explicit ? 0 : o->top;
	tracer__drops(s->tracer, bo.bpf_drops);
	bo.kernel_bytes = tracer__kernel_footprint(s->tracer);
	bo.store_bytes = stackstore__footprint(s->stacks);
	bo.rss_bytes = self_rss();
	bo.mapping_hooks = s->map_hooks;
	bo.user = s->udrops;
	if (s->unwind) {
		struct unwinder_stats us;

		unwinder__stats(s->unwind, &us);
		bo.store_bytes += us.user_bytes;
		bo.user.unwind_over_bound = us.files_over_bound;
	}
	bo.kernel = s->kproc;
	bo.kstacks = s->kstacks;
	bo.ksyms = s->ksyms;

	/* -i: every stack is compared with the last report, then the
	 * report is cut to what is shown */
	if (s->growth)
		bo.max_stacks = 0;
	err = report_build(&r, s->procs, s->stacks, s->sym, &bo);
	if (err)
		return err;
	if (s->growth) {
		err = growth__update(s->growth, &r);
		if (err) {
			report_release(&r);
			return err;
		}
		report_truncate(&r, o->format != REPORT_TEXT && !o->top_explicit ? 0 : o->top);
	}
	ro.format = o->format;
	ro.top = o->top;
	err = report_write(f, &r, &ro);
	report_release(&r);
	return err;
}

static int fill_final_report(FILE *f, void *ctx)
{
	return write_report(ctx, f, true);
}

/* The final report goes to -o FILE atomically (see safefile.h).  Should
 * that fail after all, the report is not lost: it goes to stdout. */
static int write_final_report(struct session *s)
{
	const char *path = s->o->output;
	int err;

	if (path) {
		err = safefile_write(path, SAFEFILE_MODE, fill_final_report, s);
		if (!err)
			return 0;
		lw_warn("cannot write the report to %s: %s; writing it to stdout instead\n", path,
			strerror(-err));
	}
	if (s->stdout_closed)	/* already said */
		return -EPIPE;
	err = write_report(s, stdout, true);
	if (!err && fflush(stdout))
		err = -errno;
	if (err)
		lw_err("cannot write the report to stdout: %s\n", strerror(-err));
	return path ? -EIO : err;
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
		.sample_entries = o->sample_entries,
		.legacy_uprobes = o->legacy_uprobes,
		.oom = o->postmortem_dir != NULL,
		.oom_only = o->oom_only,
		.on_oom = on_oom,
		.on_oom_early = on_oom_early,
		.on_event = on_event,
		.kernel = o->kernel,
		.on_kevent = on_kevent,
		.on_map = on_map,
		.maps = o->maps && !o->oom_only,
		.ctx = s,
	};
	const char *why;
	int err;

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
	} else if (is_leakwatch(pid)) {
		lw_err("process %d (%s) is another leakwatch: leakwatch does not trace leakwatch\n",
		       pid, comm ? comm : "?");
		err = -EINVAL;
	}
	free(comm);
	return err;
}

/* -p: every pid must exist and have an allocator before anything starts. */
static int attach_pids(struct session *s)
{
	const struct lw_options *o = s->o;
	size_t i;
	int err;

	for (i = 0; i < o->npids; i++) {
		pid_t pid = o->pids[i];
		struct lw_proc *p;

		err = check_pid(pid);
		if (err)
			return err;
		p = add_process(s, pid, NULL);
		if (!p)
			return -ENOMEM;
		err = tracer__track(s->tracer, pid);
		if (err) {
			lw_err("cannot track process %d: %s\n", pid, strerror(-err));
			return err;
		}
		err = attach_process(s, p, "process");
		if (err)
			return err;
		p->attached = true;
		attach_cxx(s, p);
		attach_libs(s, p, false);
		/* asked for by name: not finding it is an error */
		err = attach_prefixed(s, p, false);
		if (err == -ENOENT)
			lw_err("process %d: no file it maps defines %smalloc and %sfree "
			       "(--allocator-prefix %s)\n", pid, o->allocator_prefix,
			       o->allocator_prefix, o->allocator_prefix);
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
	err = tracer__track(s->tracer, s->child.pid);
	if (err) {
		lw_err("cannot track process %d: %s\n", s->child.pid, strerror(-err));
		return err;
	}
	err = attach_process(s, p, "command");
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

/* -i: a report on stdout. */
static int on_interval(void *ctx, uint64_t expirations)
{
	struct session *s = ctx;
	int err = write_report(s, stdout, false);

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
	}
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
	if (check_outputs(o))
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
	if (start_postmortems(s) || start_kernel(s) || start_tracer(s))
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
	code = write_final_report(s) ? LW_EXIT_FAILURE : LW_EXIT_OK;
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

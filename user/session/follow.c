// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Which probes a traced process gets: at attach, at fork, at exec, at a
 * hold (README: "Forks at any rate"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elfsym.h"
#include "identity.h"
#include "log.h"
#include "probes.h"
#include "procfs.h"
#include "session_int.h"

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

const char *pid_comm(const struct lw_proc *p)
{
	return p && p->comm ? p->comm : "?";
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
void follow_attach_cxx(struct session *s, struct lw_proc *p)
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
void follow_attach_libs(struct session *s, struct lw_proc *p, bool predict)
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
int follow_attach_prefixed(struct session *s, struct lw_proc *p, bool report)
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
int follow_attach(struct session *s, struct lw_proc *p, const char *what)
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

struct lw_proc *follow_add(struct session *s, struct procs *table, pid_t pid, const char *comm)
{
	char *cmdline = read_cmdline(pid), *rcomm = NULL;
	struct lw_proc *p;

	if (!comm && !procfs_read_comm(pid, &rcomm))
		comm = rcomm;
	p = procs__add(table, pid, comm, cmdline);
	free(cmdline);
	free(rcomm);
	if (p) {
		symbolizer__add_process(s->sym, pid);
		sync_unwind(s, pid);
		p->identity = identities__pid(s->ids, pid);
	}
	return p;
}

int follow_start(struct session *s, struct lw_proc *p)
{
	int err;

	/* children came fast already: the per-file links serve it too */
	p->shared = s->per_file;
	err = follow_attach(s, p, "process");
	if (err)
		return err;
	p->attached = true;
	follow_attach_cxx(s, p);
	follow_attach_libs(s, p, false);
	err = follow_attach_prefixed(s, p, false);
	if (p->shared) {
		p->covered = true;
		follow_set_flags(s, p);
	}
	return err;
}

/* Tell the kernel how p is probed now (enum lw_pid_flags). */
void follow_set_flags(struct session *s, struct lw_proc *p)
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
	if (follow_attach(s, p, what))
		return;
	p->attached = true;
	follow_attach_cxx(s, p);
	follow_attach_libs(s, p, false);
	follow_attach_prefixed(s, p, false);
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
static void switch_table(struct session *s, struct procs *table)
{
	size_t i, n = procs__count(table);
	bool *own = calloc(n ? n : 1, sizeof(*own));

	if (!own) {
		s->udrops.ledger_nomem++;
		return;
	}
	for (i = 0; i < n; i++) {
		struct lw_proc *p = procs__at(table, i);

		own[i] = !p->shared;
		if (p->shared || p->exited || !p->attached)
			continue;
		p->shared = true;
		p->cxx_attached = false;
		p->other_attached = 0;
		p->prefix_dev = p->prefix_ino = 0;
		cover(s, p, "process");
		follow_set_flags(s, p);
	}
	/* (a pid may be listed more than once: it is detached once every
	 * live process of it is on the per-file links) */
	for (i = 0; i < n; i++) {
		if (own[i])
			tracer__detach(s->tracer, procs__at(table, i)->pid);
	}
	free(own);
}

static void switch_to_per_file(struct session *s)
{
	struct procs *table;
	size_t i;

	s->per_file = true;
	for (i = 0; (table = session_table(s, i)); i++)
		switch_table(s, table);
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
	if (!follow_attach(s, p, "child")) {
		p->attached = true;
		follow_attach_cxx(s, p);
		follow_attach_libs(s, p, false);
		follow_attach_prefixed(s, p, false);
		follow_set_flags(s, p);
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
void follow_fork(struct session *s, const struct lw_event *e)
{
	bool held = e->flags & LW_EV_HELD;
	struct procs *table = s->procs;
	struct lw_proc *p, *parent = session_proc(s, (pid_t)e->aux, &table);
	uint64_t gap_ns = UINT64_MAX;

	/* the second record of a child that stopped itself (before 6.13) */
	p = session_proc(s, e->pid, NULL);
	if (p && p->fork_pending) {
		p->fork_pending = false;
	} else if (e->flags & LW_EV_FORK_COVERED && parent) {
		/* not held, maybe gone already: its parent's copy */
		p = procs__add(table, e->pid, e->comm, parent->cmdline);
		if (p && symbolizer__add_fork(s->sym, e->pid, parent->pid))
			symbolizer__add_process(s->sym, e->pid);
	} else {
		p = follow_add(s, table, e->pid, e->comm);
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
		follow_set_flags(s, p);
		/* its parent maps the same files (it was held too, if it
		 * was a child) */
		if (parent && !parent->covered && parent->attached) {
			parent->covered = true;
			follow_set_flags(s, parent);
		}
	}
	if (p->attached)
		lw_debug("following child %d of %d (%s)\n", e->pid, (int)e->aux,
			 !p->shared ? "its own probes" : held ? "held for per-file probes" :
								"per-file probes");
out:
	/* (the decoder continues a held child once this returns) */
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
		follow_attach_libs(s, p, true);
		follow_attach_prefixed(s, p, false);
		return;
	}
	tracer__detach(s->tracer, p->pid);
	p->attached = !follow_attach(s, p, "static executable");
	p->cxx_attached = false;
	p->other_attached = 0;
	p->prefix_dev = p->prefix_ino = 0;
	follow_attach_prefixed(s, p, false);
}

void follow_exec(struct session *s, struct lw_proc *p, const struct lw_event *e)
{
	char *cmdline = read_cmdline(e->pid);

	/* the old image's blocks are gone with its address space */
	tracer__forget_sampled(s->tracer, e->pid, p->ledger, session_rate(s, e->pid));
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

/* A new image stopped at its first allocation: take its modules and
 * command line now, it may exit before the next poll.  (The decoder
 * continues it once this returns: holds.h.) */
void follow_held(struct session *s, struct lw_proc *p, pid_t pid)
{
	if (!p->cmdline)
		p->cmdline = read_cmdline(pid);
	/* its modules were read by on_event */
	sync_unwind(s, pid);
	/* the new image's libraries are all mapped by now */
	follow_attach_cxx(s, p);
	follow_attach_libs(s, p, false);
	follow_attach_prefixed(s, p, true);
	/* the kernel uncovered it (exec, new code): a followed process is
	 * covered again now that the files it maps have their per-file links
	 * (its libc's were there, an exec keeps them); one of -p or the
	 * command, or a child with probes of its own, at its next fork,
	 * which is held for it */
	p->covered = p->shared && p->attached;
	follow_set_flags(s, p);
}

/* Whether pid runs leakwatch: this one, or another copy of the same file,
 * or a process calling itself leakwatch.  Tracing one would trace its own
 * ring buffer reads: a loop that feeds itself. */
bool pid_is_leakwatch(pid_t pid)
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
void follow_skip_leakwatch(struct session *s, struct lw_proc *p)
{
	tracer__untrack(s->tracer, p->pid);
	tracer__detach(s->tracer, p->pid);
	tracer__forget_sampled(s->tracer, p->pid, p->ledger, session_rate(s, p->pid));
	p->skipped = true;
	p->exited = true;	/* as far as tracing goes: nothing more comes */
	s->udrops.leakwatch_skipped++;
	lw_info("process %d exec'd leakwatch: not traced (leakwatch does not trace leakwatch)\n",
		p->pid);
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * At a kill, two threads take part.  The capture thread (tracer's, calling
 * oomwatch__capture_early) reads the victim's files the moment the kernel
 * reports the kill: its maps and command line go when it exits, within
 * milliseconds, and its memory cgroup's statistics change as its memory is
 * uncharged.  The main thread (oomwatch__on_kill), once it has consumed
 * every record before the kill, takes those files, adds the ledger and its
 * symbolized stacks, and writes the postmortem.  Without a capture thread
 * the main thread reads the files itself.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "oomwatch.h"
#include "oomwatch_int.h"

static void victim_files_free(struct victim_files *f)
{
	if (!f)
		return;
	free(f->cmdline);
	pm_maps__free(&f->maps);
	free(f->cgroup);
	free(f->kill_memcg);
	memcg_info__free(&f->memcg);
	identity__put(f->identity);
	identity__put(f->kill_identity);
	free(f);
}

struct oomwatch *oomwatch__new(const struct oomwatch_opts *o)
{
	struct oomwatch *w = calloc(1, sizeof(*w));
	long ps = sysconf(_SC_PAGESIZE);
	pthread_condattr_t ca;
	int err;

	if (!w)
		return NULL;
	w->o = *o;
	w->page_size = ps > 0 ? (uint64_t)ps : 4096;
	err = -pthread_mutex_init(&w->lock, NULL);
	if (err)
		goto cleanup_free;
	/* waits are timed on CLOCK_MONOTONIC, the records' clock */
	err = -pthread_condattr_init(&ca);
	err = err ?: -pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	err = err ?: -pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (err) {
		pthread_mutex_destroy(&w->lock);
		goto cleanup_free;
	}
	w->sync_ready = true;
	w->rss = rsswatch__new(OOMWATCH_RSS_SAMPLES, OOMWATCH_RSS_INTERVAL_MS * 1000000ull);
	if (!w->rss) {
		err = -errno;
		goto cleanup;
	}
	err = o->host_root ? memcg_find_host_mount(o->host_root, &w->mount) :
			     memcg_find_mount(&w->mount);
	if (err == -ENOMEM)
		goto cleanup;
	if (err)
		lw_debug("oomwatch: no memory controller found: %s\n", strerror(-err));
	else
		lw_debug("oomwatch: memory controller: cgroup v%d at %s\n", w->mount.version,
			 w->mount.mountpoint ? w->mount.mountpoint : "(none)");
	return w;
cleanup:
	oomwatch__free(w);
	errno = -err;
	return NULL;
cleanup_free:
	free(w);
	errno = -err;
	return NULL;
}

void oomwatch__free(struct oomwatch *w)
{
	size_t i;

	if (!w)
		return;
	while (w->early) {
		struct victim_files *f = w->early;

		w->early = f->next;
		victim_files_free(f);
	}
	if (w->sync_ready) {
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
	}
	for (i = 0; i < w->nw; i++)
		free(w->w[i].cgroup);
	free(w->w);
	free(w->warm);
	rsswatch__free(w->rss);
	memcg_mount__free(&w->mount);
	free(w);
}

size_t oomwatch__written(const struct oomwatch *w)
{
	return w->written;
}

/* Wall-clock time of a CLOCK_MONOTONIC instant. */
struct timespec wall_time(uint64_t mono_ns)
{
	uint64_t now = lw_now_ns(), real = lw_clock_ns(CLOCK_REALTIME);
	uint64_t t = real - (now > mono_ns ? now - mono_ns : 0);

	return (struct timespec){ .tv_sec = t / 1000000000ull, .tv_nsec = t % 1000000000ull };
}

/* "/a/b" from the record's components, innermost first; levels_up drops
 * that many inner components.  malloc'd, NULL when out of memory. */
static char *cgroup_path(const struct lw_oom_event *e, unsigned int levels_up)
{
	size_t len = 1, i, depth = e->depth < LW_CGROUP_DEPTH ? e->depth : LW_CGROUP_DEPTH;
	char *path, *p;

	for (i = levels_up; i < depth; i++)
		len += strnlen(e->cgroup[i], LW_CGROUP_NAME) + 1;
	path = p = malloc(len + 1);
	if (!path)
		return NULL;
	*p = '\0';
	for (i = depth; i-- > levels_up;)
		p += sprintf(p, "/%.*s", LW_CGROUP_NAME, e->cgroup[i]);
	if (p == path)
		strcpy(path, "/");
	return path;
}

static uint64_t pages_to_bytes(const struct oomwatch *w, uint64_t pages)
{
	return pages >= NO_LIMIT_PAGES ? MEMCG_UNLIMITED : pages * w->page_size;
}

/* memcg or global, and how that is known; false when it is not. */
static bool kill_scope(const struct lw_oom_event *e, bool *memcg, const char **source)
{
	if (e->flags & LW_OOM_HAVE_CONTEXT) {
		*memcg = e->flags & LW_OOM_MEMCG_SCOPE;
		*source = "oom_kill_process";
	} else if (e->flags & LW_OOM_HAVE_MEMCG) {
		/* no kprobes: a memcg at its limit is taken for the cause */
		*memcg = e->flags & LW_OOM_AT_LIMIT;
		*source = "page_counters";
	} else {
		return false;
	}
	return true;
}

/* The victim's files, then its memory cgroup's (the kill's memcg when
 * there is one).  Safe on the capture thread: w->mount is only read. */
static void read_victim_files(const struct oomwatch *w, const struct lw_oom_event *e,
			      struct victim_files *f)
{
	struct proc_maps maps = {};
	const char *source;
	bool memcg;
	int err;

	f->pid = e->pid;
	f->ts_ns = e->ts_ns;
	/* the maps first: reading the command line waits for the victim's
	 * mmap lock, which its exit takes to tear the maps down */
	if (!procfs_read_maps(e->pid, &maps) && maps.n && !pm_maps_summarize(&maps, &f->maps))
		f->have_maps = true;
	proc_maps__free(&maps);
	if (procfs_read_cmdline(e->pid, &f->cmdline) || !*f->cmdline) {
		free(f->cmdline);
		f->cmdline = NULL;
	}
	/* the record has the RSS and uid unless the task was out of reach */
	if (!(e->flags & LW_OOM_HAVE_MM))
		f->have_status = !rss_read_status(e->pid, &f->st);

	if (e->flags & LW_OOM_HAVE_MEMCG && !(e->flags & LW_OOM_PATH_TRUNCATED))
		f->cgroup = cgroup_path(e, 0);
	else if (w->mount.version != MEMCG_NONE)
		memcg_read_proc_cgroup(e->pid, w->mount.version, &f->cgroup);
	if (kill_scope(e, &memcg, &source) && memcg && e->flags & LW_OOM_AT_LIMIT)
		f->kill_memcg = cgroup_path(e, e->limit_level);
	/* the runtime removes a container's state soon after its process
	 * died: read it now (the record's paths are absolute; one read from
	 * /proc may be relative to leakwatch's cgroup namespace) */
	if (w->o.ids) {
		f->identity = f->cgroup ?
			identities__cgroup(w->o.ids, f->cgroup,
					   w->mount.version == MEMCG_V1 ? "memory" : "") :
			identities__pid(w->o.ids, e->pid);
		if (f->kill_memcg)
			f->kill_identity = identities__cgroup(w->o.ids, f->kill_memcg, NULL);
	}
	if (w->mount.version == MEMCG_NONE || !(f->kill_memcg ?: f->cgroup))
		return;
	err = memcg_read(&w->mount, f->kill_memcg ?: f->cgroup, &f->memcg);
	if (err)
		lw_debug("oomwatch: cannot read memory cgroup %s: %s\n", f->kill_memcg ?: f->cgroup,
			 strerror(-err));
	f->have_memcg = !err;
}

int oomwatch__capture_early(struct oomwatch *w, const struct lw_oom_event *e)
{
	struct victim_files *f = calloc(1, sizeof(*f)), **pp;
	size_t n = 0;

	if (!f)
		return 0;	/* the main thread reads them itself */
	read_victim_files(w, e, f);
	lw_debug("oomwatch: pid %d: files read %.1f ms after the kill\n", e->pid,
		 (lw_now_ns() - e->ts_ns) / 1e6);
	pthread_mutex_lock(&w->lock);
	f->next = w->early;
	w->early = f;
	/* files whose kill the main thread never heard of (its record lost) */
	for (pp = &w->early; *pp && ++n <= EARLY_MAX; pp = &(*pp)->next)
		;
	while (*pp) {
		struct victim_files *old = *pp;

		*pp = old->next;
		victim_files_free(old);
	}
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

/* The capture thread's files of this kill: waits for them a little when
 * the main thread got there first.  NULL: read them here. */
static struct victim_files *take_early(struct oomwatch *w, const struct lw_oom_event *e)
{
	uint64_t deadline = lw_now_ns() + EARLY_WAIT_NS;
	struct timespec until = { deadline / 1000000000ull, deadline % 1000000000ull };
	struct victim_files *f = NULL, **pp;

	if (!w->o.early)
		return NULL;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		for (pp = &w->early; *pp; pp = &(*pp)->next) {
			if ((*pp)->pid == e->pid && (*pp)->ts_ns == e->ts_ns) {
				f = *pp;
				*pp = f->next;
				break;
			}
		}
		if (f || pthread_cond_timedwait(&w->cond, &w->lock, &until) == ETIMEDOUT)
			break;
	}
	if (!f) {	/* it may have come in with the time-out */
		for (pp = &w->early; *pp; pp = &(*pp)->next) {
			if ((*pp)->pid == e->pid && (*pp)->ts_ns == e->ts_ns) {
				f = *pp;
				*pp = f->next;
				break;
			}
		}
	}
	pthread_mutex_unlock(&w->lock);
	return f;
}

void capture_release(struct capture *c)
{
	victim_files_free(c->files);
	free(c->timeline);
	report_process_release(&c->process);
}

/* Point the model at the files. */
void use_files(struct capture *c, const struct lw_proc *proc)
{
	struct victim_files *f = c->files;

	/* a traced process's command line was read while it lived */
	c->pm.victim.cmdline = proc && proc->cmdline ? proc->cmdline : f->cmdline;
	c->pm.maps = f->have_maps ? &f->maps : NULL;
	c->pm.victim.cgroup = f->cgroup;
	/* a traced process's was read while it lived */
	if (!f->identity && proc)
		f->identity = identity__get(proc->identity);
	if (f->identity) {
		c->pm.victim.container_id = f->identity->container_id;
		c->pm.victim.namespace = f->identity->namespace;
		c->pm.victim.pod = f->identity->pod;
		c->pm.victim.container = f->identity->container;
	}
	c->pm.memcg = f->have_memcg ? &f->memcg : NULL;
	if (f->have_status) {
		c->rss = (struct pm_rss){ f->st.anon, f->st.file, f->st.shmem, f->st.swap,
					  f->st.vm_size, true };
		c->pm.rss = &c->rss;
		c->pm.victim.uid = f->st.uid;
	}
}

/* The RSS timeline so far, with last (when non-NULL) appended. */
void take_timeline(struct oomwatch *w, struct capture *c, pid_t pid,
		   const struct rss_sample *last)
{
	struct rss_sample *t = NULL, *more;
	size_t n = 0;

	if (rsswatch__get(w->rss, pid, &t, &n))
		return;
	if (last) {
		more = realloc(t, (n + 1) * sizeof(*t));
		if (more) {
			t = more;
			t[n++] = *last;
		}
	}
	c->timeline = t;
	c->pm.timeline = t;
	c->pm.ntimeline = n;
	c->pm.timeline_interval_ms = OOMWATCH_RSS_INTERVAL_MS;
}

/* The ledger and its stacks, symbolized: the slow part, so it comes last.
 * Modules the process mapped since it was attached are registered first,
 * while its maps may still be there. */
void take_process(struct oomwatch *w, struct capture *c, const struct lw_proc *proc,
		  uint64_t at_ns)
{
	struct report_build_opts bo = { .now_ns = at_ns };
	int err;

	if (!proc)
		return;
	c->pm.traced = true;
	symbolizer__add_process(w->o.sym, proc->pid);
	bo.filter.sample_bytes = w->o.sample_bytes;
	err = report_build_process(&c->process, proc, w->o.stacks, w->o.sym, &bo);
	if (err) {
		lw_debug("oomwatch: cannot build the stacks of %d: %s\n", proc->pid, strerror(-err));
		return;
	}
	c->pm.process = &c->process;
}

void write_capture(struct oomwatch *w, struct capture *c)
{
	struct pm_write_opts wo = { .dir = w->o.dir, .keep = w->o.keep, .text_top = w->o.text_top };
	struct oomwatch_note n = {
		.kind = c->pm.kind,
		.pid = c->pm.victim.pid,
		.comm = c->pm.victim.comm,
		.namespace = c->pm.victim.namespace,
		.pod = c->pm.victim.pod,
		.container = c->pm.victim.container,
		.traced = c->pm.traced,
	};
	char *path = NULL;

	n.err = postmortem_write(&c->pm, &wo, &path, &n.latency_ms);
	if (!n.err)
		w->written++;
	n.path = path;
	if (w->o.notify)
		w->o.notify(w->o.ctx, &n);
	free(path);
}

static void kill_context(struct oomwatch *w, struct capture *c, const struct lw_oom_event *e)
{
	struct pm_kill *k = &c->pm.kill;
	bool memcg;

	k->trigger_pid = e->trigger_pid;
	k->trigger_tid = e->trigger_tid;
	k->trigger_comm = e->trigger_comm;
	k->order = e->flags & LW_OOM_HAVE_CONTEXT ? (int)e->order : -1;
	if (!kill_scope(e, &memcg, &k->scope_source))
		return;
	k->scope = memcg ? "memcg" : "global";
	k->memcg = c->files->kill_memcg;
	if (!k->memcg)
		return;
	if (c->files->kill_identity)
		k->memcg_container = (struct pm_container){
			.namespace = c->files->kill_identity->namespace,
			.pod = c->files->kill_identity->pod,
			.container = c->files->kill_identity->container,
			.container_id = c->files->kill_identity->container_id,
		};
	k->have_memcg_counters = true;
	k->memcg_limit = pages_to_bytes(w, e->limit_max);
	k->memcg_usage = pages_to_bytes(w, e->limit_usage);
}

void oomwatch__on_kill(struct oomwatch *w, const struct lw_oom_event *e,
		       const struct lw_proc *proc)
{
	struct capture c = {};
	struct rss_sample last = { .ts_ns = e->ts_ns };

	c.pm.kind = PM_OOM_KILL;
	c.pm.event_ns = e->ts_ns;
	c.pm.event_time = wall_time(e->ts_ns);
	c.pm.victim.pid = e->pid;
	memcpy(c.comm, e->comm, LW_COMM_LEN);
	c.pm.victim.comm = c.comm[0] ? c.comm : proc ? proc->comm : NULL;
	c.pm.victim.uid = e->flags & LW_OOM_PID_ONLY ? -1 : (int64_t)e->uid;
	if (e->flags & LW_OOM_HAVE_MM) {
		c.rss.anon = e->rss[LW_RSS_ANON] * w->page_size;
		c.rss.file = e->rss[LW_RSS_FILE] * w->page_size;
		c.rss.shmem = e->rss[LW_RSS_SHMEM] * w->page_size;
		c.rss.swap = e->rss[LW_RSS_SWAP] * w->page_size;
		c.rss.total_vm = e->total_vm * w->page_size;
		c.rss.approximate = true;
		c.pm.rss = &c.rss;
	}

	/* 1. what goes with the victim, read by the capture thread if any */
	c.files = take_early(w, e);
	if (!c.files) {
		c.files = calloc(1, sizeof(*c.files));
		if (!c.files) {
			lw_debug("oomwatch: out of memory for the postmortem of %d\n", e->pid);
			return;
		}
		read_victim_files(w, e, c.files);
	}
	use_files(&c, proc);
	kill_context(w, &c, e);
	if (e->flags & LW_OOM_HAVE_MM) {
		/* the kernel's counts at the kill; /proc's groups if it was read */
		struct pm_maps *m = &c.files->maps;

		m->count = e->map_count;
		m->size_bytes = e->total_vm * w->page_size;
		m->have_kinds = true;
		m->exec_bytes = e->exec_vm * w->page_size;
		m->data_bytes = e->data_vm * w->page_size;
		m->stack_bytes = e->stack_vm * w->page_size;
		m->heap_bytes = e->heap_bytes;
		c.pm.maps = m;
	}

	/* 2. what leakwatch holds itself */
	if (c.pm.rss) {
		last.anon_bytes = c.rss.anon;
		last.rss_bytes = c.rss.anon + c.rss.file + c.rss.shmem;
	}
	take_timeline(w, &c, e->pid, c.pm.rss ? &last : NULL);
	take_process(w, &c, proc, e->ts_ns);
	lw_debug("oomwatch: pid %d: stacks symbolized %.1f ms after the kill\n", e->pid,
		 (lw_now_ns() - e->ts_ns) / 1e6);

	write_capture(w, &c);
	capture_release(&c);
}


// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procs.h"

struct procs {
	struct lw_proc **v;
	size_t n;
	struct lw_proc *last;	/* events come in runs from one process */
};

struct procs *procs__new(void)
{
	return calloc(1, sizeof(struct procs));
}

/* Let go of the ledger and mappings: the last holder frees them. */
static void drop_vm(struct lw_proc *proc)
{
	if (proc->vm_refs && --*proc->vm_refs) {
		proc->vm_refs = NULL;
		proc->ledger = NULL;
		proc->maps = NULL;
		return;
	}
	free(proc->vm_refs);
	proc->vm_refs = NULL;
	ledger__free(proc->ledger);
	proc->ledger = NULL;
	maptrack__free(proc->maps);
	proc->maps = NULL;
}

static void proc_free(struct lw_proc *proc)
{
	if (!proc)
		return;
	free(proc->comm);
	free(proc->cmdline);
	drop_vm(proc);
	free(proc);
}

int lw_proc__share_vm(struct lw_proc *proc, struct lw_proc *owner)
{
	if (proc->ledger == owner->ledger)
		return 0;
	if (!owner->vm_refs) {
		owner->vm_refs = malloc(sizeof(*owner->vm_refs));
		if (!owner->vm_refs)
			return -ENOMEM;
		*owner->vm_refs = 1;
	}
	drop_vm(proc);
	proc->ledger = owner->ledger;
	proc->maps = owner->maps;
	proc->vm_refs = owner->vm_refs;
	++*proc->vm_refs;
	return 0;
}

void procs__free(struct procs *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n; i++)
		proc_free(p->v[i]);
	free(p->v);
	free(p);
}

static int set_str(char **dst, const char *src)
{
	char *s = NULL;

	if (src && !(s = strdup(src)))
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

struct lw_proc *procs__add(struct procs *p, pid_t pid, const char *comm, const char *cmdline)
{
	struct lw_proc *proc, *old, **v;

	v = realloc(p->v, (p->n + 1) * sizeof(*v));
	if (!v)
		return NULL;
	p->v = v;
	proc = calloc(1, sizeof(*proc));
	if (!proc)
		return NULL;
	proc->pid = pid;
	if (lw_proc__reset(proc, comm, cmdline)) {
		proc_free(proc);
		errno = ENOMEM;
		return NULL;
	}
	old = procs__live(p, pid);
	if (old)
		old->exited = true;
	p->v[p->n++] = proc;
	p->last = proc;
	return proc;
}

struct lw_proc *procs__live(struct procs *p, pid_t pid)
{
	size_t i;

	if (p->last && p->last->pid == pid && !p->last->exited)
		return p->last;
	for (i = p->n; i-- > 0;) {
		if (p->v[i]->pid == pid && !p->v[i]->exited) {
			p->last = p->v[i];
			return p->last;
		}
	}
	return NULL;
}

size_t procs__count(const struct procs *p)
{
	return p->n;
}

size_t procs__live_count(const struct procs *p)
{
	size_t i, n = 0;

	for (i = 0; i < p->n; i++)
		n += !p->v[i]->exited;
	return n;
}

struct lw_proc *procs__at(struct procs *p, size_t i)
{
	return i < p->n ? p->v[i] : NULL;
}

int lw_proc__reset(struct lw_proc *proc, const char *comm, const char *cmdline)
{
	struct ledger *l = ledger__new();
	struct maptrack *m = maptrack__new(getpagesize());

	if (!l || !m || set_str(&proc->comm, comm ? comm : "?") ||
	    set_str(&proc->cmdline, cmdline)) {
		ledger__free(l);
		maptrack__free(m);
		return -ENOMEM;
	}
	/* an exec leaves any process that shared the old address space
	 * with it */
	drop_vm(proc);
	proc->ledger = l;
	proc->maps = m;
	return 0;
}

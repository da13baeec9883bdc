// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Report writers: text for people (report_text.c), JSON (schema in
 * report.h) for programs (report_json.c), pprof, folded stacks and the
 * page; here, the checks of the model they share and the choice of writer.
 *
 * Every writer checks the whole model before writing anything, so a bad
 * model (-EINVAL) leaves f untouched.  An I/O failure is its -errno
 * (-ENOSPC names a full disk as such; -EIO if there is none); what was
 * written before it stays written (f is the caller's, we cannot undo).
 */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "report.h"
#include "report_int.h"

/* ---------------------------------------------------------------------- */
/* Model checks                                                           */

int check_model(FILE *f, const struct report *r, const struct report_opts *o)
{
	size_t i, j;

	if (!f || !r || !o)
		return -EINVAL;
	/* timestamp is a fixed array: an unterminated one would be read past */
	if (!memchr(r->timestamp, '\0', sizeof(r->timestamp))) {
		lw_debug("report: timestamp is not NUL-terminated\n");
		return -EINVAL;
	}
	if (r->ndrops && !r->drops)
		return -EINVAL;
	for (i = 0; i < r->ndrops; i++) {
		if (!r->drops[i].name) {
			lw_debug("report: drop counter %zu has no name\n", i);
			return -EINVAL;
		}
	}
	if (r->nprocs && !r->procs)
		return -EINVAL;
	for (i = 0; i < r->nprocs; i++) {
		const struct report_process *p = &r->procs[i];

		if (p->nmappings && !p->mappings)
			return -EINVAL;
		if (p->nstacks && !p->stacks) {
			lw_debug("report: pid %d has %zu stacks but no array\n", p->pid,
				 p->nstacks);
			return -EINVAL;
		}
		for (j = 0; j < p->nstacks; j++) {
			if (p->stacks[j].nframes && !p->stacks[j].frames) {
				lw_debug("report: pid %d stack %zu has frames but no array\n",
					 p->pid, j);
				return -EINVAL;
			}
		}
	}
	return 0;
}

bool report_stack_is_leak(const struct report_process *p, const struct report_stack *s)
{
	size_t i;

	if (!s->kind)
		return true;
	for (i = 0; i < p->nkinds; i++)
		if (p->kinds[i].kind && !strcmp(p->kinds[i].kind, s->kind))
			return p->kinds[i].leak;
	/* no totals by kind: heap only */
	return true;
}

int report_check(const struct report *r)
{
	static const struct report_opts o;

	return check_model(stdout, r, &o);
}

int report_write(FILE *f, const struct report *r, const struct report_opts *opts)
{
	if (!opts)
		return -EINVAL;
	switch (opts->format) {
	case REPORT_TEXT:
		return report_write_text(f, r, opts);
	case REPORT_JSON:
		return report_write_json(f, r, opts);
	case REPORT_PPROF:
		return report_write_pprof(f, r, opts);
	case REPORT_FOLDED:
		return report_write_folded(f, r, opts);
	case REPORT_HTML:
		return report_write_html(f, r, opts);
	}
	return -EINVAL;
}

/* One process, for postmortems: the same checks, the same writers. */
int check_process_model(FILE *f, const struct report_process *p,
			const struct report_opts *o)
{
	struct report r = { .nprocs = 1, .procs = (struct report_process *)p };

	return p ? check_model(f, &r, o) : -EINVAL;
}


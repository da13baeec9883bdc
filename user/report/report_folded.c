// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The report as folded stacks, the input of flamegraph.pl, inferno and
 * speedscope: one line per stack of the report,
 *
 *   comm (pid);[kind];outermost;...;innermost BYTES
 *
 * root first.  The first frame is the process, so that one file can hold
 * a whole machine; stacks of the kinds mmap and brk have a second frame
 * "[kind]".  Inlined calls are frames of their own.  A frame leakwatch could not name is
 * "module+0xADDRESS", or "[unknown]" without a module.
 *
 * Only the kinds that are leaks are written (see "Mappings and kinds" in
 * README.md): without filters (-T, --min-size...) the lines add up to
 * the report's outstanding bytes.
 *
 * The readers split a line at its last space and a stack at ';', so a
 * ';' inside a name (none in C or C++ names, but names come from the
 * traced files) becomes ':', and control characters become '?'.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "log.h"
#include "report.h"

static void put_clean(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s == ';' ? ':' : (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

static void put_frame(FILE *f, const struct report_frame *fr)
{
	const char *slash;

	if (fr->function) {
		put_clean(f, fr->function);
		return;
	}
	if (!fr->module) {
		fputs("[unknown]", f);
		return;
	}
	slash = strrchr(fr->module, '/');
	put_clean(f, slash && slash[1] ? slash + 1 : fr->module);
	fprintf(f, "+0x%" PRIx64, fr->address);
}

int report_write_folded(FILE *f, const struct report *r, const struct report_opts *o)
{
	size_t i, j, k;
	int err;

	if (!f || !o)
		return -EINVAL;
	err = report_check(r);
	if (err)
		return err;
	for (i = 0; i < r->nprocs; i++) {
		const struct report_process *p = &r->procs[i];

		for (j = 0; j < p->nstacks; j++) {
			const struct report_stack *s = &p->stacks[j];

			if (!report_stack_is_leak(p, s))
				continue;
			put_clean(f, p->comm ? p->comm : "?");
			fprintf(f, " (%d)", p->pid);
			if (s->kind && strcmp(s->kind, "heap") && strcmp(s->kind, "kernel")) {
				fputs(";[", f);
				put_clean(f, s->kind);
				fputc(']', f);
			}
			for (k = s->nframes; k-- > 0;) {
				fputc(';', f);
				put_frame(f, &s->frames[k]);
			}
			fprintf(f, " %" PRIu64 "\n", s->bytes);
		}
	}
	if (ferror(f) || fflush(f) == EOF) {
		lw_debug("report: write failed: %s\n", strerror(errno));
		return -EIO;
	}
	return 0;
}

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What changed between two reports: `leakwatch diff OLD.json NEW.json`,
 * and the growth since the previous report that -i reports carry.
 *
 * Stacks are matched by what they are, not by where they were: the
 * process (its comm across two reports, which may come from two runs
 * with other pids; its pid between the reports of one run), the kind, the
 * mapped file of a file-backed mapping, and every frame's function, file,
 * line and whether it was inlined.  A frame without a function is
 * matched by its module (and, within one run, its address).  Stacks of one report that match
 * each other (one call site reached by two pids of one comm) are added
 * up.  No libbpf, no /proc: unit-tested on JSON text.
 */
#ifndef LW_DIFF_H
#define LW_DIFF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "report.h"

/* The identity of a stack of p, as above (by_pid: the pid, else the
 * comm): a malloc'd string, or NULL + errno. */
char *diff_stack_key(const struct report_process *p, const struct report_stack *s, bool by_pid);

/* Fill r from a JSON report of schema version 1 (strings point into
 * json, which must outlive r).  Returns 0, -ENOMEM, or -EINVAL with *why
 * saying what is wrong (a static string).  Release with report_release
 * (report_build.h). */
int diff_report_from_json(struct json_object *json, struct report *r, const char **why);

struct diff_opts {
	enum report_format format;	/* REPORT_TEXT or REPORT_JSON */
	size_t top;			/* stacks listed; 0: all */
	const char *old_name, *new_name;	/* shown as the two sides */
};

/* Write what changed from old to new: per stack bytes_delta and
 * allocs_delta with both sides' values; the stacks that count as leaks
 * (report_stack_is_leak, from each report's "kinds") first, then the
 * rest, each part by growth, the largest first; new and vanished stacks
 * marked.  Returns 0 or -Exxx. */
int diff_write(FILE *f, const struct report *old, const struct report *new,
	       const struct diff_opts *o);

/* `leakwatch diff [-f text|json] [-T N] OLD.json NEW.json`, to stdout:
 * argv[0] is "diff".  Returns the exit status. */
int diff_main(int argc, char **argv);

/* The stacks of the previous -i report, to give the next its growth. */
struct growth;
struct growth *growth__new(void);	/* NULL + errno */
void growth__free(struct growth *g);	/* accepts NULL */
/* Give every process of r its growth[] (malloc'd, freed with r): each
 * stack's change since the stacks given last time (all of them: build r
 * untruncated), then keep r's.  The first call gives every stack its
 * whole size.  0 or -ENOMEM (r then carries no growth). */
int growth__update(struct growth *g, struct report *r);

#endif /* LW_DIFF_H */

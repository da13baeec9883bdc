// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Reports: -i on stdout, the final one to -o FILE or stdout. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "procfs.h"
#include "rsswatch.h"
#include "safefile.h"
#include "session_int.h"

static void on_postmortem(void *ctx, const struct oomwatch_note *n)
{
	const char *what = n->kind == PM_SNAPSHOT ? "memory snapshot" : "OOM postmortem";
	struct session *s = ctx;

	if (s->hooks && s->hooks->postmortem)
		s->hooks->postmortem(s, n, s->hooks->ctx);

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
int output_check(const struct lw_options *o)
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
int output_start_postmortems(struct session *s)
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

/* The userspace counters, as reports and session__counters show them. */
static struct user_drops user_drops(struct session *s)
{
	struct user_drops u = s->udrops;
	struct intake_stats is = tracer__intake_stats(s->tracer);

	u.bad_records = is.malformed + is.unhandled;
	if (s->unwind) {
		struct unwinder_stats us;

		unwinder__stats(s->unwind, &us);
		u.unwind_over_bound = us.files_over_bound;
	}
	return u;
}

void session__counters(struct session *s, struct lw_counters *out)
{
	uint64_t bpf[LW_DROP__COUNT];
	struct user_drops u = user_drops(s);
	struct ledger_counters lc;

	tracer__drops(s->tracer, bpf);
	lw_counters_gather(out, &(struct lw_counter_inputs){
		.bpf_drops = bpf, .user = &u, .procs = s->procs,
		.kernel = s->kproc });
	session_targets_counters(s, &lc);
	lw_counters_add_ledgers(out, &lc);
}

int session__map_fill(struct session *s,
		      int (*fn)(const char *name, size_t used, size_t cap, void *ctx), void *ctx)
{
	int err;

	/* the walker's claims (bpf/unwind.bpf.h): one per stack it named */
	err = fn("stack_ids", stackstore__named_count(s->stacks), s->o->stack_entries, ctx);
	if (!err && s->unwind) {
		struct unwinder_stats us;

		unwinder__stats(s->unwind, &us);
		err = fn("unwind_rows", us.rows, us.rows_cap, ctx);
		err = err ?: fn("unwind_pages", us.pages, us.pages_cap, ctx);
	}
	return err;
}

void output_build_opts(struct session *s, bool final, uint64_t sample_bytes,
			struct report_build_opts *bo)
{
	const struct lw_options *o = s->o;

	*bo = (struct report_build_opts){};
	bo->now_ns = now_ns();
	bo->final = final;
	bo->duration_s = (bo->now_ns - s->start_ns) / 1e9;
	bo->filter.min_size = o->min_size;
	bo->filter.max_size = o->max_size;
	bo->filter.sample_bytes = sample_bytes;
	if (o->older_than_ms)
		bo->filter.max_ts_ns = bo->now_ns > o->older_than_ms * 1000000 ?
					       bo->now_ns - o->older_than_ms * 1000000 : 1;
	/* every format but text carries every stack unless --top was given */
	bo->max_stacks = o->format != REPORT_TEXT && !o->top_explicit ? 0 : o->top;
	tracer__drops(s->tracer, bo->bpf_drops);
	bo->kernel_bytes = tracer__kernel_footprint(s->tracer);
	bo->store_bytes = stackstore__footprint(s->stacks);
	bo->rss_bytes = self_rss();
	bo->mapping_hooks = s->map_hooks;
	bo->user = user_drops(s);
	if (s->unwind) {
		struct unwinder_stats us;

		unwinder__stats(s->unwind, &us);
		bo->store_bytes += us.user_bytes;
	}
}

int output_report(struct session *s, FILE *f, bool final)
{
	const struct lw_options *o = s->o;
	struct report_build_opts bo;
	struct report_opts ro = {};
	struct report r;
	int err;

	output_build_opts(s, final, o->sample_bytes, &bo);
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
	return output_report(ctx, f, true);
}

/* The final report goes to -o FILE atomically (see safefile.h).  Should
 * that fail after all, the report is not lost: it goes to stdout. */
int output_final_report(struct session *s)
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
	err = output_report(s, stdout, true);
	if (!err && fflush(stdout))
		err = -errno;
	if (err)
		lw_err("cannot write the report to stdout: %s\n", strerror(-err));
	return path ? -EIO : err;
}

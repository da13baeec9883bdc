// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The text report, for people: sizes in human units with the exact count,
 * stacks ranked, frames innermost first, and every untrusted string escaped
 * before it reaches a terminal.  Its last line is a contract (see
 * report_write_text).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <json-c/json.h>

#include "log.h"
#include "jsonout.h"
#include "report_int.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Big enough for every report_fmt_bytes() and fmt_age() result. */
#define FMT_LEN 32

/* U+2026, marks a truncated list: one column wide, reads as "and more" */
#define ELLIPSIS "\xe2\x80\xa6"
/* ---------------------------------------------------------------------- */
/* Formatting helpers                                                     */

/* Rounded tenths of v / unit, without overflow for any uint64_t v (unit is
 * at most 2^60, so r * 10 fits). */
static uint64_t tenths(uint64_t v, uint64_t unit)
{
	uint64_t r = v % unit;

	return v / unit * 10 + (r * 10 + unit / 2) / unit;
}

/*
 * Binary units with one decimal, rounded half up.  A value that would
 * round to 1024.0 of a unit is shown in the next one ("1.0 MiB", not
 * "1024.0 KiB"), so the number is always below 1024.  PiB and EiB exist
 * only so that every uint64_t has a spelling.
 */
const char *report_fmt_bytes(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	uint64_t unit = 1024, t;
	size_t u = 0;

	if (!buf || !len)
		return buf;
	if (bytes < 1024) {
		snprintf(buf, len, "%" PRIu64 " B", bytes);
		return buf;
	}
	while (u + 1 < ARRAY_SIZE(units) && bytes / unit >= 1024) {
		unit <<= 10;
		u++;
	}
	t = tenths(bytes, unit);
	if (t >= 10240 && u + 1 < ARRAY_SIZE(units)) {
		unit <<= 10;
		u++;
		t = tenths(bytes, unit);
	}
	snprintf(buf, len, "%" PRIu64 ".%" PRIu64 " %s", t / 10, t % 10, units[u]);
	return buf;
}

/* "40.0 KiB (40960 B)": the rounded size to read, the exact one to compare.
 * Below 1 KiB the two would be the same, so only one is shown. */
static const char *fmt_bytes_exact(uint64_t bytes, char *buf, size_t len)
{
	char human[FMT_LEN];

	if (bytes < 1024)
		return report_fmt_bytes(bytes, buf, len);
	snprintf(buf, len, "%s (%" PRIu64 " B)", report_fmt_bytes(bytes, human, sizeof(human)),
		 bytes);
	return buf;
}

/*
 * Ages: "250 ms" under a second, "2.3 s" up to 120 s, "5.0 min" up to 120
 * minutes, then "2.5 h" (a tracer left running for days would otherwise
 * print thousands of minutes).  Rounded half up; the unit is chosen on the
 * exact value, so 120000 ms is "120.0 s" and 120001 ms is "2.0 min".
 */
static const char *fmt_age(uint64_t ms, char *buf, size_t len)
{
	uint64_t t;
	const char *unit;

	if (ms < 1000) {
		snprintf(buf, len, "%" PRIu64 " ms", ms);
		return buf;
	}
	if (ms <= 120 * 1000) {
		t = tenths(ms, 1000);
		unit = "s";
	} else if (ms <= 120 * 60 * 1000) {
		t = tenths(ms, 60 * 1000);
		unit = "min";
	} else {
		t = tenths(ms, 60 * 60 * 1000);
		unit = "h";
	}
	snprintf(buf, len, "%" PRIu64 ".%" PRIu64 " %s", t / 10, t % 10, unit);
	return buf;
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* "/usr/lib/libc.so.6" -> "libc.so.6"; a path ending in '/' stays whole
 * rather than becoming an empty name. */
static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

/* ---------------------------------------------------------------------- */
/* Text output                                                            */

/* The error of a failed stdio call: its errno, which says what happened
 * (ENOSPC, EPIPE...), or -EIO when it set none. */
static int io_err(void)
{
	return errno > 0 ? -errno : -EIO;
}

/* Remembers the first write error so the writers read straight through
 * instead of testing every call. */
struct out {
	FILE *f;
	int err;
	int sys_errno;
};

__attribute__((format(printf, 2, 3)))
static void out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->err)
		return;
	va_start(ap, fmt);
	n = vfprintf(o->f, fmt, ap);
	va_end(ap);
	if (n < 0) {
		o->sys_errno = errno;
		o->err = io_err();
	}
}

static void out_write(struct out *o, const char *s, size_t n)
{
	if (o->err || !n)
		return;
	if (fwrite(s, 1, n, o->f) != n) {
		o->sys_errno = errno;
		o->err = io_err();
	}
}

/*
 * Strings from traced programs (cmdlines, paths, symbol names) are written
 * so that they cannot break the layout or drive the terminal: control
 * characters and bytes that are not UTF-8 become C-style escapes, and so
 * does the backslash, to keep the escapes unambiguous.  Valid UTF-8 is
 * kept: people read it.
 */
static void out_text(struct out *o, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p && !o->err) {
		const unsigned char *run = p;
		size_t n;

		while ((n = utf8_seq_len(p)) && (n > 1 || (*p >= 0x20 && *p != 0x7f && *p != '\\')))
			p += n;
		out_write(o, (const char *)run, p - run);
		if (!*p)
			break;
		if (*p == '\\')
			out_printf(o, "\\\\");
		else if (*p == '\n')
			out_printf(o, "\\n");
		else if (*p == '\t')
			out_printf(o, "\\t");
		else
			out_printf(o, "\\x%02x", *p);
		p++;
	}
}

/* "      leak_malloc+0x1a (leaky.c:42) [leaky]"; an unknown function is
 * its place in its module ("libfoo.so+0x1139", the module's build ID
 * beside its name, enough to name it offline), else its address.  An
 * inlined frame has no offset: its code lies inside the caller's, so an
 * offset from the inlined function means nothing. */
static void text_frame(struct out *o, const struct report_frame *fr)
{
	bool placed = !fr->function && fr->module && fr->has_module_offset;

	out_printf(o, "      ");
	if (fr->function) {
		out_text(o, fr->function);
		if (!fr->inlined)
			out_printf(o, "+0x%" PRIx64, fr->offset);
	} else if (placed) {
		out_text(o, base_name(fr->module));
		out_printf(o, "+0x%" PRIx64, fr->module_offset);
	} else {
		out_printf(o, "0x%" PRIx64, fr->address);
	}
	if (fr->file) {
		out_printf(o, " (");
		out_text(o, base_name(fr->file));
		if (fr->line > 0)
			out_printf(o, ":%d", fr->line);
		out_printf(o, ")");
	}
	if (fr->module && fr->module[0] == '[') {	/* "[kernel]" */
		out_printf(o, " ");
		out_text(o, fr->module);
	} else if (fr->module) {
		out_printf(o, " [");
		out_text(o, base_name(fr->module));
		if (placed && fr->build_id) {
			out_printf(o, ", build ID ");
			out_text(o, fr->build_id);
		}
		out_printf(o, "]");
	}
	if (fr->inlined)
		out_printf(o, " [inlined]");
	out_printf(o, "\n");
}

static void text_frames(struct out *o, const struct report_stack *st, size_t max_frames);

/* "+1.0 KiB (+1024 B)", "-24 B", "0 B": a change of size. */
const char *report_fmt_delta(int64_t delta, char *buf, size_t len)
{
	char human[FMT_LEN];
	uint64_t mag = delta < 0 ? -(uint64_t)delta : (uint64_t)delta;

	if (!delta)
		snprintf(buf, len, "0 B");
	else if (mag < 1024)
		snprintf(buf, len, "%c%" PRIu64 " B", delta < 0 ? '-' : '+', mag);
	else
		snprintf(buf, len, "%c%s (%c%" PRIu64 " B)", delta < 0 ? '-' : '+',
			 report_fmt_bytes(mag, human, sizeof(human)), delta < 0 ? '-' : '+', mag);
	return buf;
}

/* "  (+1.0 KiB (+1024 B), +16 blocks since the last report)"; a mapping
 * counts calls */
static void text_growth(struct out *o, const struct report_growth *g, bool blocks)
{
	char delta[2 * FMT_LEN];
	bool one = g->allocs_delta == 1 || g->allocs_delta == -1;

	out_printf(o, "  (%s, %s%" PRId64 " %s since the last report)",
		   report_fmt_delta(g->bytes_delta, delta, sizeof(delta)),
		   g->allocs_delta > 0 ? "+" : "", g->allocs_delta,
		   blocks ? (one ? "block" : "blocks") : (one ? "call" : "calls"));
}

/* "  #1  40.0 KiB (40960 B) in 10 blocks, oldest 2.3 s  [heap]" + frames */
static void text_stack(struct out *o, size_t rank, const struct report_stack *st,
		       const struct report_growth *growth, size_t max_frames)
{
	char bytes[2 * FMT_LEN], age[FMT_LEN];

	/* a mapping's allocs are the calls that made what is still mapped */
	bool blocks = !st->kind || !strcmp(st->kind, "heap") || !strcmp(st->kind, "kernel");

	out_printf(o, "  #%zu  %s in %" PRIu64 " %s",
		   rank, fmt_bytes_exact(st->bytes, bytes, sizeof(bytes)), st->allocs,
		   blocks ? plural(st->allocs, "block", "blocks") : plural(st->allocs, "call", "calls"));
	if (st->reserved)
		out_printf(o, " + %s reserved", fmt_bytes_exact(st->reserved, bytes, sizeof(bytes)));
	out_printf(o, ", oldest %s", fmt_age(st->oldest_age_ms, age, sizeof(age)));
	if (st->kind) {
		out_printf(o, "  [");
		out_text(o, st->kind);
		if (st->file) {
			out_printf(o, " ");
			out_text(o, st->file);
		}
		out_printf(o, "]");
	}
	if (growth)
		text_growth(o, growth, blocks);
	out_printf(o, "\n");
	text_frames(o, st, max_frames);
}

/* The frames of a stack, innermost first, at most max_frames (0: all). */
static void text_frames(struct out *o, const struct report_stack *st, size_t max_frames)
{
	size_t i, n = st->nframes;

	/* a stack with no frames is an allocation whose stack was not
	 * captured (counted in the drops); say so rather than print nothing */
	if (!n)
		out_printf(o, "      (no stack trace)\n");
	if (max_frames && n > max_frames)
		n = max_frames;
	for (i = 0; i < n; i++)
		text_frame(o, &st->frames[i]);
	if (n < st->nframes)
		out_printf(o, "      " ELLIPSIS " %zu more %s\n", st->nframes - n,
			   plural(st->nframes - n, "frame", "frames"));
	if (st->truncated)
		out_printf(o, "      " ELLIPSIS " (stack cut here: its outer callers are not "
			   "known)\n");
}

/*
 *   by kind: heap 1.0 KiB (1024 B) in 3 blocks, mmap 8.0 KiB (8192 B) in 1 call
 *   not leaks: allocator 132.0 KiB (135168 B) in 2 calls + 63.9 MiB (66973696 B)
 *   reserved, thread_stack ...
 * Only when the process holds more than heap blocks.
 */
static void text_kinds(struct out *o, const struct report_process *p)
{
	char bytes[2 * FMT_LEN];
	int pass;

	if (p->nkinds < 2)
		return;
	for (pass = 0; pass < 2; pass++) {
		bool leak = pass == 0, first = true;

		for (size_t i = 0; i < p->nkinds; i++) {
			const struct report_kind *k = &p->kinds[i];
			bool heap = i == 0;

			if (k->leak != leak)
				continue;
			out_printf(o, "%s", first ? (leak ? "  by kind: " : "  not leaks: ") : ", ");
			out_text(o, k->kind);
			out_printf(o, " %s in %" PRIu64 " %s",
				   fmt_bytes_exact(k->bytes, bytes, sizeof(bytes)), k->allocs,
				   heap ? plural(k->allocs, "block", "blocks") :
					  plural(k->allocs, "call", "calls"));
			if (k->reserved)
				out_printf(o, " + %s reserved",
					   fmt_bytes_exact(k->reserved, bytes, sizeof(bytes)));
			first = false;
		}
		if (!first)
			out_printf(o, "\n");
	}
}

/*
 * PID 1234 (leaky) exited with 3: 1.0 MiB (1090348 B) outstanding in 267 blocks from 3 stacks
 *   cmdline: ./leaky --size 4096
 *   3 frees of blocks not seen allocated (allocated before tracing began or inside the allocator)
 *   #1 ...
 *   … and 2 more stacks: 2.0 KiB (2048 B)
 */
/* "  container: app, pod shop/web-0, id 1ddb7cf98c3d" (the id shortened
 * as container tools show it), for a process in a container only; the
 * names come from the runtime's files, so they are escaped. */
static void text_container(struct out *o, const struct report_process *p)
{
	if (!p->container_id && !p->pod)
		return;
	out_printf(o, "  container: ");
	out_text(o, p->container ?: "?");
	if (p->pod) {
		out_printf(o, ", pod ");
		out_text(o, p->namespace ?: "?");
		out_printf(o, "/");
		out_text(o, p->pod);
	}
	if (p->container_id)
		out_printf(o, ", id %.12s", p->container_id);
	out_printf(o, "\n");
}

static void text_process(struct out *o, const struct report_process *p,
			 const struct report_opts *opts)
{
	char bytes[2 * FMT_LEN];
	uint64_t shown_bytes = 0, hidden_bytes;
	size_t i, shown = p->nstacks, total;

	out_printf(o, "PID %d", p->pid);
	if (p->comm) {
		out_printf(o, " (");
		out_text(o, p->comm);
		out_printf(o, ")");
	}
	if (p->exited)
		out_printf(o, " exited with %d", p->exit_code);
	else
		out_printf(o, " running");
	out_printf(o, ": %s outstanding in %" PRIu64 " %s from %zu %s\n",
		   fmt_bytes_exact(p->outstanding_bytes, bytes, sizeof(bytes)),
		   p->outstanding_allocs, plural(p->outstanding_allocs, "block", "blocks"),
		   p->stacks_total, plural(p->stacks_total, "stack", "stacks"));
	if (p->cmdline) {
		out_printf(o, "  cmdline: ");
		out_text(o, p->cmdline);
		out_printf(o, "\n");
	}
	text_container(o, p);
	if (p->memory_of)
		out_printf(o, "  shares its address space with PID %d (CLONE_VM): its blocks "
			   "and mappings are counted there\n", p->memory_of);
	text_kinds(o, p);
	if (p->unknown_frees)
		out_printf(o, "  %" PRIu64 " %s of blocks not seen allocated "
			   "(allocated before tracing began or inside the allocator)\n",
			   p->unknown_frees, plural(p->unknown_frees, "free", "frees"));
	if (p->thread_cache_frees)
		out_printf(o, "  %" PRIu64 " %s by glibc emptying the caches of exiting threads "
			   "(blocks it kept for reuse)\n", p->thread_cache_frees,
			   plural(p->thread_cache_frees, "free", "frees"));

	if (opts->top && shown > opts->top)
		shown = opts->top;
	for (i = 0; i < shown; i++) {
		text_stack(o, i + 1, &p->stacks[i], p->growth ? &p->growth[i] : NULL,
			   opts->max_frames);
		shown_bytes += p->stacks[i].bytes;
	}

	/* The caller may already have cut the model's stacks (stacks_total
	 * counts them all), so the hidden stacks' bytes are whatever is
	 * outstanding and not shown above, not a sum over the model. */
	total = p->stacks_total > p->nstacks ? p->stacks_total : p->nstacks;
	if (total > shown) {
		uint64_t all = p->outstanding_bytes;

		/* stacks of every kind are listed, leaks or not */
		for (i = 0; i < p->nkinds; i++)
			all += p->kinds[i].leak ? 0 : p->kinds[i].bytes;
		hidden_bytes = all > shown_bytes ? all - shown_bytes : 0;
		out_printf(o, "  " ELLIPSIS " and %zu more %s: %s\n", total - shown,
			   plural(total - shown, "stack", "stacks"),
			   fmt_bytes_exact(hidden_bytes, bytes, sizeof(bytes)));
	}
}

/*
 * WARNING: 7 events lost, 7 drops: totals may be incomplete (a lost free shows as a leak)
 * drops:
 *   ringbuf_free  5  free not recorded: its block becomes a false leak
 *   stack         2  user stack not captured
 */
static void text_drops(struct out *o, const struct report *r, uint64_t drop_sum)
{
	int name_w = 0, value_w = 0, w;
	size_t i;

	if (!r->lost_events && !drop_sum)
		return;
	out_printf(o, "\nWARNING: %" PRIu64 " %s lost, %" PRIu64 " %s: totals may be incomplete "
		   "(a lost free shows as a leak)\n",
		   r->lost_events, plural(r->lost_events, "event", "events"),
		   drop_sum, plural(drop_sum, "drop", "drops"));
	if (!drop_sum)
		return;

	for (i = 0; i < r->ndrops; i++) {
		if (!r->drops[i].value)
			continue;
		w = (int)strlen(r->drops[i].name);
		name_w = w > name_w ? w : name_w;
		w = snprintf(NULL, 0, "%" PRIu64, r->drops[i].value);
		value_w = w > value_w ? w : value_w;
	}
	out_printf(o, "drops:\n");
	for (i = 0; i < r->ndrops; i++) {
		const struct report_counter *c = &r->drops[i];

		if (!c->value)
			continue;
		out_printf(o, "  %-*s  %*" PRIu64, name_w, c->name, value_w, c->value);
		if (c->meaning) {
			out_printf(o, "  ");
			out_text(o, c->meaning);
		}
		out_printf(o, "\n");
	}
}

/* Flushes (so a buffered f reports its errors now) and turns the first
 * error into the return value. */
static int out_finish(struct out *o)
{
	if (!o->err && fflush(o->f) == EOF) {
		o->sys_errno = errno;
		o->err = io_err();
	}
	if (o->err)
		lw_debug("report: write failed: %s\n", strerror(o->sys_errno));
	return o->err;
}

/* Sum of the drop counters, saturating: they are shown, not computed on. */
static uint64_t sum_drops(const struct report *r)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < r->ndrops; i++)
		sum = sum + r->drops[i].value < sum ? UINT64_MAX : sum + r->drops[i].value;
	return sum;
}

/*
 * Layout:
 *   leakwatch report at <timestamp> after <duration> of tracing[ (interim)]
 *   <blank>
 *   per process, separated by blank lines: header, cmdline, stacks
 *   [<blank> WARNING line, then the non-zero drop counters]
 *   <blank>
 *   the summary line, exactly:
 *     leakwatch: <N> process(es), <bytes> outstanding in <A> block(s);
 *       <L> event(s) lost[, <D> drop(s)]
 *   on one line, where <bytes> is "812 B" or "1.2 MiB (1258291 B)", <N>
 *   <A> the sums over the processes, <L> lost_events and <D> the sum of
 *   the drop counters, present only when non-zero.  Scripts may rely on it.
 */
int report_write_text(FILE *f, const struct report *r, const struct report_opts *opts)
{
	struct out o = { .f = f };
	char bytes[2 * FMT_LEN], age[FMT_LEN];
	uint64_t total_bytes = 0, total_allocs = 0, drop_sum;
	double ms;
	size_t i;
	int err;

	err = check_model(f, r, opts);
	if (err)
		return err;

	out_printf(&o, "leakwatch report");
	if (r->timestamp[0]) {
		out_printf(&o, " at ");
		out_text(&o, r->timestamp);
	}
	ms = r->duration_s * 1000.0;
	if (isfinite(ms) && ms >= 0 && ms < 0x1p63)
		out_printf(&o, " after %s of tracing",
			   fmt_age((uint64_t)(ms + 0.5), age, sizeof(age)));
	out_printf(&o, "%s\n", r->final ? "" : " (interim)");
	if (r->sample_bytes)
		out_printf(&o, "sampled: each byte with probability 1/%" PRIu64
			   "; bytes and blocks below are estimates\n", r->sample_bytes);

	for (i = 0; i < r->nprocs; i++) {
		out_printf(&o, "\n");
		text_process(&o, &r->procs[i], opts);
		total_bytes += r->procs[i].outstanding_bytes;
		total_allocs += r->procs[i].outstanding_allocs;
	}

	drop_sum = sum_drops(r);
	text_drops(&o, r, drop_sum);

	out_printf(&o, "\nleakwatch: %zu %s, %s outstanding in %" PRIu64 " %s; %" PRIu64 " %s lost",
		   r->nprocs, plural(r->nprocs, "process", "processes"),
		   fmt_bytes_exact(total_bytes, bytes, sizeof(bytes)),
		   total_allocs, plural(total_allocs, "block", "blocks"),
		   r->lost_events, plural(r->lost_events, "event", "events"));
	if (drop_sum)
		out_printf(&o, ", %" PRIu64 " %s", drop_sum, plural(drop_sum, "drop", "drops"));
	out_printf(&o, "\n");
	if (r->tracer_user_bytes) {
		char kb[2 * FMT_LEN];

		char rss[2 * FMT_LEN];

		/* the ledgers are only part of it: symbols, libraries and the
		 * heap's own overhead are in the resident size */
		out_printf(&o, "leakwatch itself: ");
		if (r->tracer_rss_bytes)
			out_printf(&o, "%s resident, of which ledgers and stacks ",
				   fmt_bytes_exact(r->tracer_rss_bytes, rss, sizeof(rss)));
		out_printf(&o, "%s for %" PRIu64 " %s",
			   fmt_bytes_exact(r->tracer_user_bytes, bytes, sizeof(bytes)),
			   r->tracer_blocks, plural(r->tracer_blocks, "block", "blocks"));
		if (r->tracer_blocks)
			out_printf(&o, " (%" PRIu64 " B per block)",
				   r->tracer_user_bytes / r->tracer_blocks);
		out_printf(&o, ", kernel buffers %s\n",
			   fmt_bytes_exact(r->tracer_kernel_bytes, kb, sizeof(kb)));
	}

	return out_finish(&o);
}

int report_write_frames_text(FILE *f, const struct report_stack *st, size_t max_frames)
{
	struct out out = { .f = f };

	text_frames(&out, st, max_frames);
	return out.err;
}

void report_write_str_text(FILE *f, const char *s)
{
	struct out out = { .f = f };

	out_text(&out, s);
}
int report_write_process_text(FILE *f, const struct report_process *p,
			      const struct report_opts *o)
{
	struct out out = { .f = f };
	int err = check_process_model(f, p, o);

	if (err)
		return err;
	text_process(&out, p, o);
	return out_finish(&out);
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * leakwatch against an independent oracle, on programs nobody here wrote.
 * The fixtures' ground truth is what their author meant them to do; real
 * programs allocate through paths no fixture imagined (NSS modules, locale
 * data, regex compilers, stdio), so their truth comes from valgrind's
 * memcheck instead: it replaces the allocator and counts every block, a
 * different mechanism from uprobes on glibc's.
 *
 * Each test runs COMMAND under valgrind, then under leakwatch, and demands
 * the same bytes and blocks outstanding at exit, exactly.
 *
 * Both runs get the same environment (plus LC_ALL=C, so that no locale
 * file decides the paths taken) and the same stdout, a harness pipe:
 * stdio sizes its buffer from the stream's st_blksize.  Valgrind's own
 * messages go to a log file, apart from the program's stderr.  What still
 * differs is that valgrind adds LD_PRELOAD to the environment: a program
 * that copies environ (setenv, putenv: git, for one) allocates more under
 * valgrind, so none is used here.  --run-libc-freeres=no and
 * --run-cxx-freeres=no leave glibc's and libstdc++'s memory as a plain run
 * leaves it: nothing frees it at exit.
 *
 * Every program here was checked by hand to give the same numbers in both
 * runs three times over; the numbers themselves depend on the machine
 * (its /etc/passwd, its /usr), so the test measures them each time.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static const char *const oracle_env[] = { "LC_ALL=C", NULL };

struct outstanding {
	int64_t bytes;
	int64_t blocks;
};


/* valgrind's path from $PATH, else /usr/bin's, else NULL. */
static const char *find_valgrind(void)
{
	const char *path = getenv("PATH");

	while (path && *path) {
		size_t len = strcspn(path, ":");
		const char *cand = lw_fmt("%.*s/valgrind", (int)len, path);

		if (len && access(cand, X_OK) == 0)
			return cand;
		path += len + (path[len] == ':');
	}
	return access("/usr/bin/valgrind", X_OK) == 0 ? "/usr/bin/valgrind" : NULL;
}

/* Like lw_require_bpf: without the oracle, skip loudly, or fail under CI. */
static const char *require_valgrind(void)
{
	const char *vg = find_valgrind();

	if (!vg)
		lw_cannot_run("valgrind, the oracle of these tests, is not installed "
			      "(apt-get install valgrind)");
	return vg;
}

/* A number as valgrind prints it: digits grouped by ','; NULL if none. */
static const char *parse_grouped(const char *s, int64_t *out)
{
	const char *start = s;
	int64_t v = 0;

	for (; (*s >= '0' && *s <= '9') || (*s == ',' && s != start); s++)
		if (*s != ',')
			v = v * 10 + (*s - '0');
	if (s == start || s[-1] == ',')
		return NULL;
	*out = v;
	return s;
}

/* "==PID==     in use at exit: 27,457 bytes in 41 blocks", the only one. */
static struct outstanding parse_valgrind_log(const char *log)
{
	static const char key[] = "in use at exit: ";
	const char *at = strstr(log, key), *s;
	struct outstanding o = { -1, -1 };

	cr_assert(at, "no \"%s\" line in valgrind's log:\n%s", key, log);
	cr_assert(!strstr(at + 1, key),
		  "two \"%s\" lines in valgrind's log: it traced more than one process:\n%s",
		  key, log);
	s = parse_grouped(at + strlen(key), &o.bytes);
	cr_assert(s && !strncmp(s, " bytes in ", 10), "unexpected valgrind line: %.*s",
		  (int)strcspn(at, "\n"), at);
	s = parse_grouped(s + 10, &o.blocks);
	cr_assert(s && !strncmp(s, " blocks", 7), "unexpected valgrind line: %.*s",
		  (int)strcspn(at, "\n"), at);
	return o;
}

/* PATH's contents, in memory the harness frees at teardown. */
static const char *read_text(const char *path)
{
	struct lw_buf b = { 0 };
	char chunk[4096];
	const char *copy;
	size_t n;
	FILE *f = fopen(path, "r");

	cr_assert(f, "cannot open %s: %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		char *grown = realloc(b.data, b.len + n + 1);

		cr_assert(grown, "out of memory");
		b.data = grown;
		memcpy(b.data + b.len, chunk, n);
		b.len += n;
		b.data[b.len] = '\0';
	}
	cr_assert(!ferror(f), "reading %s failed", path);
	fclose(f);
	copy = lw_fmt("%s", b.data ? b.data : "");
	free(b.data);
	return copy;
}

/* " ARG ARG..." for messages. */
static const char *join_args(const char *const *argv)
{
	const char *s = "";

	for (; *argv; argv++)
		s = lw_fmt("%s %s", s, *argv);
	return s;
}

/* COMMAND under valgrind: what it still held at exit. */
static struct outstanding run_valgrind(const char *const *command, int exit_code)
{
	const char *log = lw_tmp("valgrind.log");
	const char *argv[32];
	struct lw_proc *vg;
	size_t n = 0;
	int code;

	argv[n++] = require_valgrind();
	argv[n++] = "--run-libc-freeres=no";
	argv[n++] = "--run-cxx-freeres=no";
	argv[n++] = lw_fmt("--log-file=%s", log);
	argv[n++] = "--";
	for (; *command; command++) {
		cr_assert(n < 31, "too many arguments");
		argv[n++] = *command;
	}
	argv[n] = NULL;

	vg = lw_spawn(argv, oracle_env);
	code = lw_wait_exit(vg);
	/* valgrind exits with its client's status */
	cr_assert_eq(code, exit_code, "valgrind%s: exit %d, expected %d.\nstderr:\n%s\nlog:\n%s",
		     join_args(argv + 1), code, exit_code, lw_tail(&vg->err), read_text(log));
	return parse_valgrind_log(read_text(log));
}

/*
 * The check itself.  COMMAND[0] is an absolute path; the program must
 * exit with EXIT_CODE, fork nothing, and leave at least one block behind
 * under the oracle (0 == 0 would also pass with nothing traced at all).
 */
static void expect_oracle_agrees(const char *const *command, int exit_code)
{
	const char *out = lw_tmp("report.json");
	const char *comm = strrchr(command[0], '/') + 1;
	const char *args[32];
	struct outstanding vg;
	struct lw_proc *lw;
	json_object *report, *proc;
	size_t n = 0;

	lw_require_bpf();
	cr_assert(access(command[0], X_OK) == 0, "%s: %s (it comes with an Essential Debian "
		  "package)", command[0], strerror(errno));
	vg = run_valgrind(command, exit_code);
	cr_assert(vg.blocks > 0, "valgrind%s: nothing outstanding at exit, so leakwatch "
		  "agreeing proves nothing: choose a program that keeps memory until exit",
		  join_args(command));

	args[n++] = "-f";
	args[n++] = "json";
	args[n++] = "-o";
	args[n++] = out;
	args[n++] = "--";
	for (const char *const *c = command; *c; c++) {
		cr_assert(n < 31, "too many arguments");
		args[n++] = *c;
	}
	args[n] = NULL;
	lw = lw_leakwatch_run(args, oracle_env);
	cr_assert_eq(lw->exit_code, exit_code, "leakwatch%s: exit %d, expected %d.\nstderr:\n%s",
		     join_args(args), lw->exit_code, exit_code, lw_tail(&lw->err));

	report = lw_report(out);
	lw_expect_no_loss(report);
	cr_assert_eq(json_object_array_length(lw_get(report, "processes")), 1,
		     "%s forks nothing: one process expected", comm);
	proc = lw_only_process(report, comm);
	lw_expect_exited(proc, exit_code);
	cr_assert(lw_int(proc, "outstanding_bytes") == vg.bytes &&
		  lw_int(proc, "outstanding_allocs") == vg.blocks,
		  "%s: valgrind counts %" PRId64 " bytes in %" PRId64 " blocks in use at exit, "
		  "leakwatch %" PRId64 " bytes in %" PRId64 " blocks.\n%s", join_args(command),
		  vg.bytes, vg.blocks, lw_int(proc, "outstanding_bytes"),
		  lw_int(proc, "outstanding_allocs"), lw_describe(proc));
	/*
	 * These programs are single-threaded and traced from their first
	 * instruction, so every free is of a block leakwatch saw allocated.
	 * (A thread that exits is different: glibc's tcache_thread_shutdown
	 * calls free on the thread's tcache, which _int_malloc allocated
	 * without going through malloc, and on every chunk cached in it,
	 * which the program had already freed.)
	 */
	cr_assert_eq(lw_int(proc, "unknown_frees"), 0,
		     "%s: frees of blocks leakwatch never saw allocated.\n%s",
		     join_args(command), lw_describe(proc));
}

/*
 * The counts in the comments below are valgrind --trace-malloc's on a
 * Debian 12 machine, to show what each run goes through; the test does
 * not depend on them.
 */

/* Owner and group names through NSS (libnss_files, loaded by dlopen). */
LW_TEST(oracle, ls_la_usr)
{
	const char *const command[] = { "/usr/bin/ls", "-la", "/usr", NULL };

	expect_oracle_agrees(command, 0);
}

/* Few calls, big blocks: 11 allocations (3 reallocs) of 842 KB in all. */
LW_TEST(oracle, sort_services)
{
	const char *const command[] = { "/usr/bin/sort", "/etc/services", NULL };

	expect_oracle_agrees(command, 0);
}

/* findutils' fts traversal: ~1,650 allocations, all but 10 freed. */
LW_TEST(oracle, find_doc_maxdepth)
{
	const char *const command[] = {
		"/usr/bin/find", "/usr/share/doc", "-maxdepth", "1", NULL
	};

	expect_oracle_agrees(command, 0);
}

/* grep's pattern compilers: 30 of its 81 allocations are reallocs. */
LW_TEST(oracle, grep_recursive)
{
	const char *const command[] = {
		"/usr/bin/grep", "-r", "root", "/etc/passwd", "/etc/group", NULL
	};

	expect_oracle_agrees(command, 0);
}

/* A regex run on every line: ~3,400 allocations, ~1,100 of them reallocs. */
LW_TEST(oracle, sed_regex_substitute)
{
	const char *const command[] = {
		"/usr/bin/sed", "-E", "s/(tcp|udp)/X/g", "/etc/services", NULL
	};

	expect_oracle_agrees(command, 0);
}

/* Two files that differ: exit status 1, in both runs and in the report. */
LW_TEST(oracle, diff_differing_files)
{
	const char *const command[] = { "/usr/bin/diff", "/etc/passwd", "/etc/group", NULL };

	expect_oracle_agrees(command, 1);
}

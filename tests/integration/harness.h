// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Harness for the integration tests: runs the real leakwatch against the
 * fixture programs in tests/fixtures/ and checks its JSON report.
 *
 * Paths come from LW_BUILD_DIR (set by `make test-integration`).  A test that
 * needs BPF calls lw_require_bpf() first: on a machine that cannot run BPF it
 * is skipped with the reason, or fails when CI=true, so CI never passes by
 * skipping everything.
 *
 * Every test runs in its own process (Criterion forks one per test).  The
 * harness registers what it spawns and its scratch directory, and
 * lw_teardown(), the .fini of every LW_TEST, kills and removes them even when
 * an assertion ended the test early.
 */
#ifndef LW_HARNESS_H
#define LW_HARNESS_H

#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* How long any one process may run before the harness kills it and fails. */
#define LW_TIMEOUT_MS (60 * 1000)

/* Criterion's own limit sits above the harness's, for a harness bug. */
#define LW_TEST(suite, name) Test(suite, name, .fini = lw_teardown, .timeout = 240)

/* Whether CI is true (the spellings the Makefile accepts: true, 1, yes). */
bool lw_under_ci(void);
/* This test cannot run here, because WHY: under CI=true it fails, otherwise
 * it is skipped, loudly (stderr and Criterion's skip reason). */
void lw_cannot_run(const char *why);
/* Skips (or under CI=true fails) unless this machine can run leakwatch. */
void lw_require_bpf(void);
void lw_teardown(void);

/* Absolute path of $LW_BUILD_DIR/tests/fixtures/NAME; fails if missing. */
const char *lw_fixture(const char *name);
/* $LW_BUILD_DIR/leakwatch, or $LW_LEAKWATCH when set (make san). */
/* Path of a front end in tests/drivers, built. */
const char *lw_driver(const char *name);
const char *lw_leakwatch(void);
/* A path inside this test's own mkdtemp() directory. */
const char *lw_tmp(const char *name);
/* printf into memory owned by the harness (freed at teardown). */
const char *lw_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct lw_buf {
	char *data;		/* always NUL-terminated */
	size_t len;
	size_t cap;
};

struct lw_proc {
	const char *name;	/* for messages */
	pid_t pid;
	int out_fd;		/* -1 once closed */
	int err_fd;
	struct lw_buf out;	/* everything read from stdout so far */
	struct lw_buf err;
	size_t out_consumed;	/* lw_next_line's position in out */
	bool running;
	int exit_code;		/* exit status, or 128 + signal; valid once !running */
};

/*
 * Starts argv[0] (a path) with stdin from /dev/null and stdout and stderr
 * captured, in a process group of its own, killed if the test process dies.
 * env: NULL-terminated "NAME=VALUE" entries added to the test's environment,
 * from which any LW_TEST_* variable is removed first; may be NULL.
 */
struct lw_proc *lw_spawn(const char *const *argv, const char *const *env);

/* leakwatch with these arguments (NULL-terminated, without argv[0]). */
struct lw_proc *lw_leakwatch_start(const char *const *args, const char *const *env);

/* lw_leakwatch_start, then lw_wait_exit: returns the finished process. */
struct lw_proc *lw_leakwatch_run(const char *const *args, const char *const *env);

/*
 * leakwatch EXTRA... -f json -o FILE -- FIXTURE ARGS..., where COMMAND is
 * the fixture's name (or a path, used as is) and its arguments and FILE is
 * NAME in the test's
 * directory; env as for lw_spawn.  Asserts leakwatch's exit code and that
 * nothing was lost (lw_expect_no_loss); returns the report, and the
 * finished process in *lwp when lwp is not NULL.
 */
json_object *lw_trace(const char *name, const char *const *extra, const char *const *command,
		      const char *const *env, int expect_code, struct lw_proc **lwp);

/* Waits until stderr contains "ready"; fails if the process exits first. */
void lw_wait_ready(struct lw_proc *p);

/* Returns the next stdout line without its '\n'; fails on timeout or exit. */
const char *lw_next_line(struct lw_proc *p);

/*
 * Waits for the process to exit and returns its exit code (128 + signal if
 * killed).  After LW_TIMEOUT_MS it kills the process group and fails.
 */
int lw_wait_exit(struct lw_proc *p);
/* The same with a time limit of its own, for the slow (a JVM under
 * software emulation). */
int lw_wait_exit_within(struct lw_proc *p, int timeout_ms);

void lw_signal(struct lw_proc *p, int sig);
/* Reads what p wrote so far, waiting up to wait_ms (20 at most); notices
 * its exit: for tests that watch a long-running process's output. */
void lw_pump(struct lw_proc *p, int wait_ms);

/* Fails if p is stopped by a signal (state T): a process that leakwatch
 * held for probing and did not continue. */
void lw_expect_not_stopped(struct lw_proc *p);

/* The state letter of pid in /proc/PID/stat (R, S, T, Z...), 0 when it is
 * gone; its process group in *pgrp when pgrp is not NULL. */
char lw_proc_state(pid_t pid, pid_t *pgrp);
/* Whether pid has exited: gone, or a zombie not reaped yet (/proc/PID/stat
 * state Z), for a process the harness started and has not waited for. */
bool lw_pid_exited(pid_t pid);

/*
 * Starts a fixture that writes its pid as its first stdout line (delayed,
 * exiter) and checks that line against the pid it started.
 */
struct lw_proc *lw_start_target(const char *fixture, const char *const *args);

/* The end of a captured buffer, for failure messages. */
const char *lw_tail(const struct lw_buf *b);

/*
 * Loads a JSON report and checks it against schema version 1: every key and
 * type the contract names.  Fails with the reason otherwise.
 */
json_object *lw_report(const char *path);

/* Exactly one process with this comm; fails (listing them) otherwise. */
json_object *lw_only_process(json_object *report, const char *comm);
json_object *lw_process_by_pid(json_object *report, pid_t pid);
int lw_count_comm(json_object *report, const char *comm);
/* The nth (from 0) process with this comm, or NULL. */
json_object *lw_process_by_comm(json_object *report, const char *comm, int nth);

int64_t lw_int(json_object *obj, const char *key);
bool lw_bool(json_object *obj, const char *key);
const char *lw_str(json_object *obj, const char *key);
bool lw_has(json_object *obj, const char *key);
json_object *lw_get(json_object *obj, const char *key);

/* frames[0].function of a stack, or "(null)". */
const char *lw_top_function(json_object *stack);

struct lw_sum {
	int64_t bytes;
	int64_t allocs;
	int stacks;
};

/* Sum over the stacks of PROC whose frames[0].function is FN. */
struct lw_sum lw_sum_function(json_object *proc, const char *fn);

/* A readable list of a process's stacks, for failure messages. */
const char *lw_describe(json_object *proc);

/* Asserts the bytes and blocks of the stacks whose frames[0] is FN. */
void lw_expect_function(json_object *proc, const char *fn, int64_t bytes, int64_t allocs);
/* Asserts that no stack has FN as frames[0]. */
void lw_expect_absent(json_object *proc, const char *fn);
/* The one stack whose frames[0] is FN; fails if there is none or several. */
json_object *lw_stack_of(json_object *proc, const char *fn);
/* A stack of a kind counted in outstanding_* (heap, mmap, brk, kernel),
 * not the allocator's own mappings, thread stacks or libraries. */
bool lw_is_leak_stack(json_object *stack);
/* Asserts that every stack of a leak kind (heap, mmap, brk, kernel) has
 * one of FNS (NULL-terminated) as frames[0]. */
void lw_expect_only(json_object *proc, const char *const *fns);
/* Asserts outstanding_bytes and outstanding_allocs of a process. */
void lw_expect_totals(json_object *proc, int64_t bytes, int64_t allocs);
/* Asserts exited == true and exit_code == CODE. */
void lw_expect_exited(json_object *proc, int code);
/* Whether this kernel's BTF names NAME (a function, a type, an enumerator):
 * the tests' feature probe, as leakwatch's own. */
bool lw_kernel_btf_has(const char *name);

/* Asserts lost_events == 0 and every drop counter == 0. */
void lw_expect_no_loss(json_object *report);

/* Whether TEXT has VALUE as a whole number, plain or with ',' grouping. */
bool lw_text_has_number(const char *text, int64_t value);
/* Whether TEXT has WORD not as part of a longer identifier. */
bool lw_text_has_word(const char *text, const char *word);
bool lw_ends_with(const char *s, const char *suffix);

/* ---- Runs watched over time, streams of reports ---- */

/*
 * Pumps P's output until PATH exists, then once more, so that P->running
 * afterwards tells whether P was still running after PATH appeared.  Fails
 * if P exits without creating PATH, or after LW_TIMEOUT_MS.
 */
void lw_wait_file(struct lw_proc *p, const char *path);

/*
 * Parses TEXT as a sequence of JSON documents separated by whitespace only
 * (how -i writes its interim reports to stdout) and returns them as a JSON
 * array, owned by the harness.  Fails on anything else in TEXT.
 */
json_object *lw_json_stream(const char *text);

/*
 * Checks one report document against schema version 1 like lw_report, except
 * that "final" must be FINAL (false for the interim reports of -i).
 */
void lw_check_report(json_object *report, bool final);

/* Milliseconds on CLOCK_MONOTONIC, to time a run from the test's side. */
int64_t lw_now_ms(void);

/* Brings the loopback interface up if it is down (a kernel booted for the
 * tests may start with it down); fails if it cannot. */
void lw_loopback_up(void);

/* ---- HTTP, to leakwatch --watch on loopback ---- */

struct lw_http_reply {
	int status;
	const char *head;	/* owned by the harness */
	const char *body;
};

/* A connected socket to 127.0.0.1:port (20 s timeouts). */
int lw_http_connect(int port);
void lw_send_all(int fd, const char *s, size_t len);
/* Everything until the server closes; NULL when it timed out. */
char *lw_recv_all(int fd, size_t *len);
/* One raw request (HTTP/1.0: the server closes after the answer). */
struct lw_http_reply lw_http_raw(int port, const char *request, size_t len);
struct lw_http_reply lw_http(int port, const char *method, const char *target);
/* The port a --watch daemon listens on, from its ready line. */
int lw_watch_port(struct lw_proc *p);

/* Waits until p's stderr holds needle, up to timeout_ms: the time it took
 * in ms, or -1. */
int64_t lw_wait_err(struct lw_proc *p, const char *needle, int64_t timeout_ms);

#endif /* LW_HARNESS_H */

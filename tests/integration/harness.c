// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Integration test harness: process control, scratch files and report
 * checks.  See harness.h.
 */
#include "harness.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_PROCS 16
#define MAX_OWNED 256
#define MAX_REPORTS 8
#define TAIL_CHARS 3000

/*
 * Per-test state.  Criterion runs each test in a fresh process, so this
 * starts out zeroed for every test.
 */
static struct lw_proc *procs[MAX_PROCS];
static int nr_procs;
static void *owned[MAX_OWNED];
static int nr_owned;
static char *tmp_dir;
static json_object *reports[MAX_REPORTS];
static int nr_reports;

static void *own(void *p)
{
	cr_assert(p, "out of memory");
	/* Past the table the memory just stays allocated: the test ends soon. */
	if (nr_owned < MAX_OWNED)
		owned[nr_owned++] = p;
	return p;
}

const char *lw_fmt(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	cr_assert(n >= 0, "out of memory");
	return own(s);
}

static bool env_true(const char *name)
{
	const char *v = getenv(name);

	/* The same spellings the Makefile accepts for CI. */
	return v && (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"));
}

static const char *build_dir(void)
{
	const char *dir = getenv("LW_BUILD_DIR");

	cr_assert(dir && *dir,
		  "LW_BUILD_DIR is not set: run these tests with `make test-integration`");
	return dir;
}

static const char *executable(const char *path)
{
	cr_assert(access(path, X_OK) == 0, "%s is not an executable file (%s); run `make`",
		  path, strerror(errno));
	return path;
}

const char *lw_fixture(const char *name)
{
	return executable(lw_fmt("%s/tests/fixtures/%s", build_dir(), name));
}

const char *lw_driver(const char *name)
{
	return executable(lw_fmt("%s/tests/drivers/%s", build_dir(), name));
}

const char *lw_leakwatch(void)
{
	const char *san = getenv("LW_LEAKWATCH");

	/* make san: the same tests against a sanitized build */
	if (san && *san)
		return executable(san);
	return executable(lw_fmt("%s/leakwatch", build_dir()));
}

const char *lw_tmp(const char *name)
{
	if (!tmp_dir) {
		const char *base = getenv("TMPDIR");
		char *tmpl;

		tmpl = (char *)lw_fmt("%s/leakwatch-test.XXXXXX", base && *base ? base : "/tmp");
		cr_assert(mkdtemp(tmpl), "mkdtemp(%s): %s", tmpl, strerror(errno));
		tmp_dir = tmpl;
	}
	return lw_fmt("%s/%s", tmp_dir, name);
}

/* Why this machine cannot run leakwatch, or NULL if it can. */
static const char *bpf_unavailable(void)
{
	union bpf_attr attr;
	int fd;

	if (geteuid() != 0)
		return lw_fmt("not running as root (euid %u)", (unsigned int)geteuid());
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		return lw_fmt("no kernel BTF: /sys/kernel/btf/vmlinux: %s", strerror(errno));
	if (access("/sys/bus/event_source/devices/uprobe/type", R_OK) != 0)
		return lw_fmt("no uprobe PMU: /sys/bus/event_source/devices/uprobe/type: %s",
			      strerror(errno));
	/* Root is not enough inside some containers: ask the kernel itself. */
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 4;
	attr.max_entries = 1;
	fd = (int)syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
	if (fd < 0)
		return lw_fmt("bpf(BPF_MAP_CREATE) failed: %s", strerror(errno));
	close(fd);
	return NULL;
}

bool lw_under_ci(void)
{
	return env_true("CI");
}

void lw_cannot_run(const char *why)
{
	if (lw_under_ci())
		cr_assert_fail("cannot run this integration test: %s. CI=true, so this is a "
			       "failure, not a skip", why);
	/* Criterion shows skip reasons only with --verbose: say it here too. */
	fprintf(stderr, "[SKIP] %s::%s: %s (under CI=true this fails instead)\n",
		criterion_current_suite->name, criterion_current_test->name, why);
	cr_skip_test("SKIPPED: %s (under CI=true this fails instead)", why);
}

void lw_require_bpf(void)
{
	const char *why = bpf_unavailable();

	if (why)
		lw_cannot_run(lw_fmt("%s; integration tests need root and working BPF", why));
}

json_object *lw_trace(const char *name, const char *const *extra, const char *const *command,
		      const char *const *env, int expect_code, struct lw_proc **lwp)
{
	const char *out = lw_tmp(name);
	const char *args[64];
	struct lw_proc *lw;
	json_object *report;
	size_t n = 0;

	for (; extra && *extra; extra++) {
		cr_assert_lt(n, 50, "too many leakwatch arguments");
		args[n++] = *extra;
	}
	args[n++] = "-f";
	args[n++] = "json";
	args[n++] = "-o";
	args[n++] = out;
	args[n++] = "--";
	args[n++] = strchr(*command, '/') ? *command : lw_fixture(*command);
	while (*++command) {
		cr_assert_lt(n, 63, "too many command arguments");
		args[n++] = *command;
	}
	args[n] = NULL;

	lw = lw_leakwatch_run(args, env);
	cr_assert_eq(lw->exit_code, expect_code, "leakwatch exited with %d, expected %d.\n"
		     "stderr:\n%s", lw->exit_code, expect_code, lw_tail(&lw->err));
	report = lw_report(out);
	lw_expect_no_loss(report);
	if (lwp)
		*lwp = lw;
	return report;
}

static void buf_append(struct lw_buf *b, const char *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap < b->len + len + 1)
			cap *= 2;
		b->data = realloc(b->data, cap);
		cr_assert(b->data, "out of memory");
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

const char *lw_tail(const struct lw_buf *b)
{
	if (!b->data)
		return "";
	return b->len > TAIL_CHARS ? b->data + b->len - TAIL_CHARS : b->data;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Child side of lw_spawn: only async-signal-safe calls until execve. */
static void exec_child(const char *const *argv, char *const *envp, int out, int err,
		       pid_t parent)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;
	int devnull;

	setpgid(0, 0);
	/* The test process may die on an assertion: take this process along. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	devnull = open("/dev/null", O_RDONLY);
	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(127);
	/* Whatever the runner blocked or ignored must not leak into the child. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	execve(argv[0], (char *const *)argv, envp);
	_exit(127);
}

static bool env_overridden(const char *entry, const char *const *env)
{
	size_t len = strcspn(entry, "=");

	/* A stray LW_TEST_* in the caller's shell must not change a fixture. */
	if (!strncmp(entry, "LW_TEST_", 8))
		return true;
	for (; env && *env; env++)
		if (!strncmp(entry, *env, len) && (*env)[len] == '=')
			return true;
	return false;
}

static char **make_env(const char *const *env)
{
	size_t n = 0, extra = 0, i = 0;
	char **envp;

	while (environ[n])
		n++;
	while (env && env[extra])
		extra++;
	envp = own(calloc(n + extra + 1, sizeof(*envp)));
	for (size_t k = 0; k < n; k++)
		if (!env_overridden(environ[k], env))
			envp[i++] = environ[k];
	for (size_t k = 0; k < extra; k++)
		envp[i++] = (char *)env[k];
	envp[i] = NULL;
	return envp;
}

struct lw_proc *lw_spawn(const char *const *argv, const char *const *env)
{
	struct lw_proc *p = own(calloc(1, sizeof(*p)));
	char **envp = make_env(env);
	pid_t parent = getpid();
	int out[2], err[2];

	cr_assert(nr_procs < MAX_PROCS, "harness: too many processes in one test");
	cr_assert(pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0, "pipe2: %s",
		  strerror(errno));
	p->name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	p->pid = fork();
	cr_assert(p->pid >= 0, "fork: %s", strerror(errno));
	if (p->pid == 0)
		exec_child(argv, envp, out[1], err[1], parent);
	close(out[1]);
	close(err[1]);
	p->out_fd = out[0];
	p->err_fd = err[0];
	fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(p->err_fd, F_SETFL, O_NONBLOCK);
	p->running = true;
	procs[nr_procs++] = p;
	return p;
}

struct lw_proc *lw_leakwatch_start(const char *const *args, const char *const *env)
{
	const char *argv[64];
	size_t n = 0;

	argv[n++] = lw_leakwatch();
	for (; args && *args; args++) {
		cr_assert(n < 63, "harness: too many arguments");
		argv[n++] = *args;
	}
	argv[n] = NULL;
	return lw_spawn(argv, env);
}

struct lw_proc *lw_leakwatch_run(const char *const *args, const char *const *env)
{
	struct lw_proc *p = lw_leakwatch_start(args, env);

	lw_wait_exit(p);
	return p;
}

static void drain(int *fd, struct lw_buf *b)
{
	char chunk[4096];

	while (*fd >= 0) {
		ssize_t n = read(*fd, chunk, sizeof(chunk));

		if (n > 0) {
			buf_append(b, chunk, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		/* EOF or a real error: this pipe is done. */
		close(*fd);
		*fd = -1;
	}
}

static void reap(struct lw_proc *p, bool block)
{
	int status;
	pid_t r;

	if (!p->running)
		return;
	do
		r = waitpid(p->pid, &status, block ? 0 : WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r != p->pid)
		return;
	p->running = false;
	p->exit_code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

/* Reads whatever the process wrote, waiting up to WAIT_MS; notices its exit. */
static void pump(struct lw_proc *p, int wait_ms)
{
	struct pollfd fds[2];
	int n = 0;

	if (p->out_fd >= 0)
		fds[n++] = (struct pollfd){ .fd = p->out_fd, .events = POLLIN };
	if (p->err_fd >= 0)
		fds[n++] = (struct pollfd){ .fd = p->err_fd, .events = POLLIN };
	/*
	 * Short polls: a child's exit does not wake poll() on its pipes while a
	 * grandchild still holds them open.
	 */
	if (n > 0)
		poll(fds, (nfds_t)n, wait_ms < 20 ? wait_ms : 20);
	else
		usleep(10 * 1000);
	drain(&p->out_fd, &p->out);
	drain(&p->err_fd, &p->err);
	reap(p, false);
}

void lw_pump(struct lw_proc *p, int wait_ms)
{
	pump(p, wait_ms);
}

static void kill_proc(struct lw_proc *p)
{
	if (!p->running)
		return;
	/* The group takes a COMMAND leakwatch started with it. */
	kill(-p->pid, SIGKILL);
	kill(p->pid, SIGKILL);
	reap(p, true);
}

int lw_wait_exit(struct lw_proc *p)
{
	return lw_wait_exit_within(p, LW_TIMEOUT_MS);
}

int lw_wait_exit_within(struct lw_proc *p, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	while (p->running && now_ms() < deadline)
		pump(p, 20);
	if (p->running) {
		kill_proc(p);
		cr_assert_fail("%s (pid %d) still running after %d s: killed.\nstderr:\n%s",
			       p->name, (int)p->pid, timeout_ms / 1000, lw_tail(&p->err));
	}
	/* Output written just before exit; a lingering grandchild must not stall us. */
	drain(&p->out_fd, &p->out);
	drain(&p->err_fd, &p->err);
	return p->exit_code;
}

/* A line that says "ready", alone or after a program's name ("leakwatch:
 * ready: ...", "session_targets: ready"): not any word with "ready" in it
 * ("Address already in use"). */
static bool has_ready_line(const char *text)
{
	const char *at, *line;

	for (at = text; (at = strstr(at, "ready")); at++) {
		for (line = at; line > text && line[-1] != '\n'; line--)
			;
		if (line == at)
			return true;
		if (at - line >= 3 && at[-2] == ':' && at[-1] == ' ' &&
		    !memchr(line, ' ', (size_t)(at - 2 - line)))
			return true;
	}
	return false;
}

void lw_wait_ready(struct lw_proc *p)
{
	int64_t deadline = now_ms() + LW_TIMEOUT_MS;

	while (!(p->err.data && has_ready_line(p->err.data))) {
		if (!p->running)
			cr_assert_fail("%s exited with %d before printing \"ready\".\nstderr:\n%s",
				       p->name, p->exit_code, lw_tail(&p->err));
		if (now_ms() >= deadline) {
			kill_proc(p);
			cr_assert_fail("%s printed no \"ready\" line in %d s.\nstderr:\n%s",
				       p->name, LW_TIMEOUT_MS / 1000, lw_tail(&p->err));
		}
		pump(p, 20);
	}
}

const char *lw_next_line(struct lw_proc *p)
{
	int64_t deadline = now_ms() + LW_TIMEOUT_MS;
	char *start, *nl;

	for (;;) {
		start = p->out.data ? p->out.data + p->out_consumed : NULL;
		nl = start ? strchr(start, '\n') : NULL;
		if (nl)
			break;
		if (!p->running || p->out_fd < 0)
			cr_assert_fail("%s ended its output (exit %d) before a full line.\n"
				       "stdout:\n%s\nstderr:\n%s", p->name, p->exit_code,
				       lw_tail(&p->out), lw_tail(&p->err));
		if (now_ms() >= deadline) {
			kill_proc(p);
			cr_assert_fail("%s wrote no line in %d s", p->name, LW_TIMEOUT_MS / 1000);
		}
		pump(p, 20);
	}
	p->out_consumed = (size_t)(nl + 1 - p->out.data);
	return lw_fmt("%.*s", (int)(nl - start), start);
}

void lw_signal(struct lw_proc *p, int sig)
{
	cr_assert(p->running, "%s (pid %d) exited (%d) before signal %d could be sent",
		  p->name, (int)p->pid, p->exit_code, sig);
	cr_assert(kill(p->pid, sig) == 0, "kill(%d, %d): %s", (int)p->pid, sig,
		  strerror(errno));
}

char lw_proc_state(pid_t pid, pid_t *pgrp)
{
	char path[64], buf[512], *end;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* comm may hold ')': the state follows the last one */
	end = strrchr(buf, ')');
	if (!end || end[1] != ' ')
		return 0;
	if (pgrp && sscanf(end + 2, "%*c %*d %d", pgrp) != 1)
		return 0;
	return end[2];
}

bool lw_pid_exited(pid_t pid)
{
	char state = lw_proc_state(pid, NULL);

	return !state || state == 'Z';
}

void lw_expect_not_stopped(struct lw_proc *p)
{
	char state = lw_proc_state(p->pid, NULL);

	cr_assert(state, "%s (pid %d): no state in /proc/%d/stat", p->name, (int)p->pid,
		  (int)p->pid);
	if (state != 'T')
		return;
	/* go on, so that the test's clean-up can reap it */
	kill(p->pid, SIGCONT);
	cr_assert_fail("%s (pid %d) was left stopped (SIGSTOP): leakwatch held it and never "
		       "continued it", p->name, (int)p->pid);
}

struct lw_proc *lw_start_target(const char *fixture, const char *const *args)
{
	const char *argv[16];
	struct lw_proc *p;
	const char *line;
	size_t n = 0;

	argv[n++] = lw_fixture(fixture);
	for (; args && *args && n < 15; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	p = lw_spawn(argv, NULL);
	line = lw_next_line(p);
	cr_assert(atol(line) == (long)p->pid, "%s printed pid \"%s\", but its pid is %d", fixture,
		  line, (int)p->pid);
	return p;
}

static void remove_tmp_dir(void)
{
	DIR *d;
	struct dirent *e;

	if (!tmp_dir)
		return;
	if (getenv("LW_TEST_KEEP")) {
		fprintf(stderr, "harness: keeping %s\n", tmp_dir);
		return;
	}
	d = opendir(tmp_dir);
	if (d) {
		/* files, and the empty directories that namespaced tests
		 * mounted over in their own namespace */
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
			    unlinkat(dirfd(d), e->d_name, 0) && errno == EISDIR)
				unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
		closedir(d);
	}
	rmdir(tmp_dir);
}

void lw_teardown(void)
{
	/* Most recent first: leakwatch before the process it traces. */
	for (int i = nr_procs - 1; i >= 0; i--) {
		kill_proc(procs[i]);
		if (procs[i]->out_fd >= 0)
			close(procs[i]->out_fd);
		if (procs[i]->err_fd >= 0)
			close(procs[i]->err_fd);
		free(procs[i]->out.data);
		free(procs[i]->err.data);
	}
	nr_procs = 0;
	for (int i = 0; i < nr_reports; i++)
		json_object_put(reports[i]);
	nr_reports = 0;
	remove_tmp_dir();
	for (int i = 0; i < nr_owned; i++)
		free(owned[i]);
	nr_owned = 0;
	tmp_dir = NULL;
}

/* ---- JSON reports ---- */

bool lw_has(json_object *obj, const char *key)
{
	return json_object_object_get_ex(obj, key, NULL);
}

json_object *lw_get(json_object *obj, const char *key)
{
	json_object *v = NULL;

	cr_assert(json_object_object_get_ex(obj, key, &v), "report: key \"%s\" missing in %s",
		  key, json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
	return v;
}

int64_t lw_int(json_object *obj, const char *key)
{
	json_object *v = lw_get(obj, key);

	cr_assert(json_object_is_type(v, json_type_int), "report: \"%s\" is not an integer: %s",
		  key, json_object_to_json_string(v));
	return json_object_get_int64(v);
}

bool lw_bool(json_object *obj, const char *key)
{
	json_object *v = lw_get(obj, key);

	cr_assert(json_object_is_type(v, json_type_boolean), "report: \"%s\" is not a boolean: %s",
		  key, json_object_to_json_string(v));
	return json_object_get_boolean(v);
}

const char *lw_str(json_object *obj, const char *key)
{
	json_object *v = lw_get(obj, key);

	cr_assert(json_object_is_type(v, json_type_string), "report: \"%s\" is not a string: %s",
		  key, json_object_to_json_string(v));
	return json_object_get_string(v);
}

static json_object *get_array(json_object *obj, const char *key)
{
	json_object *v = lw_get(obj, key);

	cr_assert(json_object_is_type(v, json_type_array), "report: \"%s\" is not an array", key);
	return v;
}

static void check_number(json_object *obj, const char *key)
{
	json_object *v = lw_get(obj, key);

	cr_assert(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double),
		  "report: \"%s\" is not a number: %s", key, json_object_to_json_string(v));
}

/* Keys that may be null when the symbolizer does not know the answer. */
static void check_optional(json_object *obj, const char *key, enum json_type type)
{
	json_object *v = lw_get(obj, key);

	cr_assert(v == NULL || json_object_is_type(v, type),
		  "report: frame \"%s\" has the wrong type: %s", key,
		  json_object_to_json_string(v));
}

static void check_frame(json_object *f)
{
	const char *addr = lw_str(f, "address");

	cr_assert(!strncmp(addr, "0x", 2) && addr[2] && strspn(addr + 2,
		  "0123456789abcdefABCDEF") == strlen(addr + 2),
		  "report: frame address \"%s\" is not 0x-hex", addr);
	check_optional(f, "function", json_type_string);
	check_optional(f, "offset", json_type_int);
	check_optional(f, "file", json_type_string);
	check_optional(f, "line", json_type_int);
	check_optional(f, "module", json_type_string);
	check_optional(f, "module_offset", json_type_string);
	check_optional(f, "build_id", json_type_string);
	lw_bool(f, "inlined");
	/* a zero return address is where a frame-pointer walk ended: the
	 * stack is truncated there, not given a frame */
	cr_assert(strcmp(addr, "0x0"), "report: a frame at address 0x0");
	/* the kernel's uretprobe trampoline stands where a function with a
	 * return probe pending returns: its caller belongs there */
	cr_assert(!json_object_get_string(lw_get(f, "module")) ||
		  strcmp(lw_str(f, "module"), "[uprobes]"),
		  "report: a [uprobes] frame (the uretprobe trampoline) at %s", addr);
}

/* 1: a kind counted in outstanding_*, 0: one that is not, -1: unknown. */
static int stack_kind_leaks(const char *kind)
{
	static const char *const leaks[] = { "heap", "kernel", "mmap", "brk" };
	static const char *const others[] = { "allocator", "thread_stack", "loader", "runtime" };

	for (size_t i = 0; i < sizeof(leaks) / sizeof(leaks[0]); i++)
		if (!strcmp(kind, leaks[i]))
			return 1;
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		if (!strcmp(kind, others[i]))
			return 0;
	return -1;
}

bool lw_is_leak_stack(json_object *stack)
{
	return stack_kind_leaks(lw_str(stack, "kind")) > 0;
}

static void check_stack(json_object *s)
{
	json_object *frames = get_array(s, "frames");

	cr_assert(lw_int(s, "bytes") >= 0, "report: negative stack bytes");
	cr_assert(lw_int(s, "allocs") > 0, "report: a stack with no allocations is listed: %s",
		  json_object_to_json_string(s));
	/* heap: the malloc family; kernel: --kernel's pseudo-process; the
	 * rest: mappings (README.md, "Kinds") */
	cr_assert(stack_kind_leaks(lw_str(s, "kind")) >= 0, "report: stack kind \"%s\"",
		  lw_str(s, "kind"));
	if (lw_has(s, "file"))	/* file-backed mappings only */
		lw_str(s, "file");
	/* mappings: their PROT_NONE bytes, apart from the accessible ones */
	if (strcmp(lw_str(s, "kind"), "heap") && strcmp(lw_str(s, "kind"), "kernel"))
		cr_assert(lw_int(s, "reserved_bytes") >= 0, "report: negative reserved_bytes");
	else
		cr_assert(!lw_has(s, "reserved_bytes"), "report: reserved_bytes on a %s stack",
			  lw_str(s, "kind"));
	if (lw_has(s, "truncated"))	/* only on a stack deeper than the walk */
		cr_assert(lw_bool(s, "truncated"), "report: \"truncated\": false is never written");
	check_number(s, "oldest_age_ms");
	cr_assert(json_object_array_length(frames) > 0, "report: a stack without frames");
	for (size_t i = 0; i < json_object_array_length(frames); i++)
		check_frame(json_object_array_get_idx(frames, i));
}

static void check_process(json_object *p)
{
	json_object *stacks = get_array(p, "stacks");
	int64_t shown_bytes = 0;

	lw_int(p, "pid");
	lw_str(p, "comm");
	/* Not fatal: the rest of the report is still worth checking.  The
	 * kernel (--kernel's pid 0) has no command line. */
	cr_expect(lw_int(p, "pid") == 0 ||
		  json_object_is_type(lw_get(p, "cmdline"), json_type_string),
		  "report: pid %" PRId64 " (%s): cmdline is not a string: %s", lw_int(p, "pid"),
		  lw_str(p, "comm"), json_object_to_json_string(lw_get(p, "cmdline")));
	/* its container: strings, or null outside containers */
	check_optional(p, "namespace", json_type_string);
	check_optional(p, "pod", json_type_string);
	check_optional(p, "container", json_type_string);
	check_optional(p, "container_id", json_type_string);
	if (lw_bool(p, "exited"))
		lw_int(p, "exit_code");
	else
		cr_assert(!lw_has(p, "exit_code"), "report: exit_code on a process still running");
	cr_assert(lw_int(p, "outstanding_bytes") >= 0, "report: negative outstanding_bytes");
	cr_assert(lw_int(p, "outstanding_allocs") >= 0, "report: negative outstanding_allocs");
	cr_assert(lw_int(p, "unknown_frees") >= 0, "report: negative unknown_frees");
	cr_assert(lw_int(p, "thread_cache_frees") >= 0, "report: negative thread_cache_frees");
	if (lw_has(p, "memory_of"))	/* CLONE_VM: its memory is counted there */
		cr_assert(lw_int(p, "memory_of") > 0 && !lw_int(p, "outstanding_bytes") &&
			  !json_object_array_length(stacks),
			  "report: pid %" PRId64 " shares its memory but holds some itself",
			  lw_int(p, "pid"));
	cr_assert(lw_int(p, "stacks_total") >= (int64_t)json_object_array_length(stacks),
		  "report: stacks_total %" PRId64 " < %zu stacks listed", lw_int(p, "stacks_total"),
		  json_object_array_length(stacks));
	for (size_t i = 0; i < json_object_array_length(stacks); i++) {
		json_object *s = json_object_array_get_idx(stacks, i);

		check_stack(s);
		if (stack_kind_leaks(lw_str(s, "kind")))
			shown_bytes += lw_int(s, "bytes");
	}
	if (lw_has(p, "kinds")) {
		int64_t leak_bytes = 0, leak_allocs = 0;

		json_object_object_foreach(lw_get(p, "kinds"), name, k) {
			cr_assert_eq(stack_kind_leaks(name), lw_bool(k, "leak"),
				     "report: kinds.%s: leak", name);
			if (strcmp(name, "heap") && strcmp(name, "kernel"))
				cr_assert(lw_int(k, "reserved_bytes") >= 0,
					  "report: kinds.%s: reserved_bytes", name);
			if (!lw_bool(k, "leak"))
				continue;
			leak_bytes += lw_int(k, "bytes");
			leak_allocs += lw_int(k, "allocs");
		}
		cr_assert(leak_bytes == lw_int(p, "outstanding_bytes") &&
			  leak_allocs == lw_int(p, "outstanding_allocs"),
			  "report: pid %" PRId64 ": the leak kinds do not add up to outstanding_*",
			  lw_int(p, "pid"));
	}
	cr_assert(shown_bytes <= lw_int(p, "outstanding_bytes"),
		  "report: pid %" PRId64 " lists %" PRId64 " bytes in stacks but only %" PRId64
		  " outstanding", lw_int(p, "pid"), shown_bytes, lw_int(p, "outstanding_bytes"));
}

/* "mapping_hooks": the hook's name, or null when mappings are not traced */
static void check_mapping_hooks(json_object *r)
{
	json_object *h = lw_get(r, "mapping_hooks");
	const char *name = json_object_get_string(h);

	cr_assert(!h || (json_object_is_type(h, json_type_string) &&
			 (!strcmp(name, "fentry") || !strcmp(name, "kprobe") ||
			  !strcmp(name, "tracepoint"))),
		  "report: mapping_hooks is %s", json_object_to_json_string(h));
}

json_object *lw_report(const char *path)
{
	json_object *r = json_object_from_file(path);

	cr_assert(r, "cannot load JSON report %s: %s", path, json_util_get_last_err());
	if (nr_reports < MAX_REPORTS)
		reports[nr_reports++] = r;
	lw_check_report(r, true);
	return r;
}

static const char *list_processes(json_object *report)
{
	json_object *arr = lw_get(report, "processes");
	const char *s = "";

	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *p = json_object_array_get_idx(arr, i);

		s = lw_fmt("%s\n  pid %" PRId64 " comm \"%s\" cmdline %s", s, lw_int(p, "pid"),
			   lw_str(p, "comm"), json_object_to_json_string(lw_get(p, "cmdline")));
	}
	return *s ? s : " (none)";
}

json_object *lw_process_by_comm(json_object *report, const char *comm, int nth)
{
	json_object *arr = lw_get(report, "processes");

	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *p = json_object_array_get_idx(arr, i);

		if (!strcmp(lw_str(p, "comm"), comm) && nth-- == 0)
			return p;
	}
	return NULL;
}

int lw_count_comm(json_object *report, const char *comm)
{
	int n = 0;

	while (lw_process_by_comm(report, comm, n))
		n++;
	return n;
}

json_object *lw_only_process(json_object *report, const char *comm)
{
	int n = lw_count_comm(report, comm);

	cr_assert_eq(n, 1, "expected one process with comm \"%s\", found %d; processes:%s", comm,
		     n, list_processes(report));
	return lw_process_by_comm(report, comm, 0);
}

json_object *lw_process_by_pid(json_object *report, pid_t pid)
{
	json_object *arr = lw_get(report, "processes");

	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *p = json_object_array_get_idx(arr, i);

		if (lw_int(p, "pid") == pid)
			return p;
	}
	return NULL;
}

const char *lw_top_function(json_object *stack)
{
	json_object *frames, *fn;

	if (!json_object_object_get_ex(stack, "frames", &frames) ||
	    json_object_array_length(frames) == 0)
		return "(no frames)";
	if (!json_object_object_get_ex(json_object_array_get_idx(frames, 0), "function", &fn) ||
	    !json_object_is_type(fn, json_type_string))
		return "(null)";
	return json_object_get_string(fn);
}

struct lw_sum lw_sum_function(json_object *proc, const char *fn)
{
	json_object *stacks = lw_get(proc, "stacks");
	struct lw_sum sum = { 0, 0, 0 };

	for (size_t i = 0; i < json_object_array_length(stacks); i++) {
		json_object *s = json_object_array_get_idx(stacks, i);

		if (strcmp(lw_top_function(s), fn))
			continue;
		sum.bytes += lw_int(s, "bytes");
		sum.allocs += lw_int(s, "allocs");
		sum.stacks++;
	}
	return sum;
}

const char *lw_describe(json_object *proc)
{
	json_object *stacks = lw_get(proc, "stacks");
	const char *s;

	s = lw_fmt("pid %" PRId64 " \"%s\": %" PRId64 " bytes in %" PRId64 " blocks outstanding, "
		   "%" PRId64 " unknown frees, %" PRId64 " stacks (%zu listed):",
		   lw_int(proc, "pid"), lw_str(proc, "comm"), lw_int(proc, "outstanding_bytes"),
		   lw_int(proc, "outstanding_allocs"), lw_int(proc, "unknown_frees"),
		   lw_int(proc, "stacks_total"), json_object_array_length(stacks));
	for (size_t i = 0; i < json_object_array_length(stacks) && i < 40; i++) {
		json_object *st = json_object_array_get_idx(stacks, i);
		json_object *frames = lw_get(st, "frames");
		const char *chain = "";

		for (size_t k = 0; k < json_object_array_length(frames) && k < 4; k++) {
			json_object *f = json_object_array_get_idx(frames, k), *fn = NULL;

			json_object_object_get_ex(f, "function", &fn);
			chain = lw_fmt("%s%s%s", chain, k ? " <- " : "",
				       fn ? json_object_get_string(fn) : "?");
		}
		s = lw_fmt("%s\n  %" PRId64 " bytes in %" PRId64 " blocks: %s", s,
			   lw_int(st, "bytes"), lw_int(st, "allocs"), chain);
	}
	return s;
}

void lw_expect_function(json_object *proc, const char *fn, int64_t bytes, int64_t allocs)
{
	struct lw_sum sum = lw_sum_function(proc, fn);

	cr_assert(sum.bytes == bytes && sum.allocs == allocs,
		  "%s: expected %" PRId64 " bytes in %" PRId64 " blocks, got %" PRId64
		  " bytes in %" PRId64 " blocks (%d stacks).\n%s", fn, bytes, allocs, sum.bytes,
		  sum.allocs, sum.stacks, lw_describe(proc));
}

void lw_expect_absent(json_object *proc, const char *fn)
{
	struct lw_sum sum = lw_sum_function(proc, fn);

	cr_assert(sum.stacks == 0,
		  "%s must not hold memory, but %d stacks with %" PRId64 " bytes in %" PRId64
		  " blocks name it.\n%s", fn, sum.stacks, sum.bytes, sum.allocs, lw_describe(proc));
}

json_object *lw_stack_of(json_object *proc, const char *fn)
{
	json_object *stacks = lw_get(proc, "stacks"), *found = NULL;

	for (size_t i = 0; i < json_object_array_length(stacks); i++) {
		json_object *s = json_object_array_get_idx(stacks, i);

		if (strcmp(lw_top_function(s), fn))
			continue;
		cr_assert(!found, "%s: more than one stack.\n%s", fn, lw_describe(proc));
		found = s;
	}
	cr_assert(found, "%s: no stack.\n%s", fn, lw_describe(proc));
	return found;
}

void lw_expect_only(json_object *proc, const char *const *fns)
{
	json_object *stacks = lw_get(proc, "stacks");

	for (size_t i = 0; i < json_object_array_length(stacks); i++) {
		json_object *s = json_object_array_get_idx(stacks, i);
		const char *top = lw_top_function(s);
		const char *const *f;

		/* the allocator's own mappings, thread stacks, libraries */
		if (!stack_kind_leaks(lw_str(s, "kind")))
			continue;

		for (f = fns; *f && strcmp(*f, top); f++)
			;
		cr_assert(*f, "unexpected stack allocated by \"%s\".\n%s", top, lw_describe(proc));
	}
}

void lw_expect_totals(json_object *proc, int64_t bytes, int64_t allocs)
{
	cr_assert(lw_int(proc, "outstanding_bytes") == bytes &&
		  lw_int(proc, "outstanding_allocs") == allocs,
		  "expected %" PRId64 " bytes in %" PRId64 " blocks outstanding in total.\n%s",
		  bytes, allocs, lw_describe(proc));
}

void lw_expect_exited(json_object *proc, int code)
{
	cr_assert(lw_bool(proc, "exited"), "pid %" PRId64 " (%s) is not reported as exited",
		  lw_int(proc, "pid"), lw_str(proc, "comm"));
	cr_assert_eq(lw_int(proc, "exit_code"), code, "pid %" PRId64 " (%s): exit_code",
		     lw_int(proc, "pid"), lw_str(proc, "comm"));
}

bool lw_kernel_btf_has(const char *name)
{
	static char *btf;
	static size_t len;
	size_t n = strlen(name);
	const char *p;

	if (!btf) {
		FILE *f = fopen("/sys/kernel/btf/vmlinux", "rb");
		size_t cap = 0, got;

		cr_assert(f, "cannot open /sys/kernel/btf/vmlinux: %s", strerror(errno));
		do {
			if (len == cap) {
				cap = cap ? 2 * cap : 8 << 20;
				btf = realloc(btf, cap);
				cr_assert(btf, "out of memory");
			}
			got = fread(btf + len, 1, cap - len, f);
			len += got;
		} while (got);
		fclose(f);
	}
	/* BTF names are NUL-terminated strings in one string section */
	for (p = btf; p && (p = memmem(p, len - (size_t)(p - btf), name, n)); p += n) {
		if (p > btf && p[-1] == '\0' && (size_t)(p - btf) + n < len && p[n] == '\0')
			return true;
	}
	return false;
}

void lw_expect_no_loss(json_object *report)
{
	/* fork_not_held too: every kernel holds a forked child, 6.13+ with
	 * bpf_send_signal_task, older ones by having it stop itself */
	cr_assert_eq(lw_int(report, "lost_events"), 0,
		     "events were lost: every number in this report is suspect");
	json_object_object_foreach(lw_get(report, "drops"), name, count) {
		cr_assert_eq(json_object_get_int64(count), 0,
			     "drops.%s is not 0: every number in this report is suspect", name);
	}
}

static bool is_word(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

bool lw_text_has_number(const char *text, int64_t value)
{
	char plain[32], grouped[40];
	const char *forms[2] = { plain, grouped };
	int len = snprintf(plain, sizeof(plain), "%" PRId64, value);
	int g = 0;

	/* 1234567 -> 1,234,567 */
	for (int i = 0; i < len; i++) {
		if (i && (len - i) % 3 == 0)
			grouped[g++] = ',';
		grouped[g++] = plain[i];
	}
	grouped[g] = '\0';
	for (int k = 0; k < 2; k++) {
		size_t n = strlen(forms[k]);

		/* A whole number: not part of an address, a longer number, a name. */
		for (const char *s = strstr(text, forms[k]); s; s = strstr(s + 1, forms[k]))
			if ((s == text || (!is_word(s[-1]) && s[-1] != ',')) &&
			    !is_word(s[n]) && !(s[n] == ',' && isdigit((unsigned char)s[n + 1])))
				return true;
	}
	return false;
}

bool lw_text_has_word(const char *text, const char *word)
{
	size_t n = strlen(word);

	for (const char *s = strstr(text, word); s; s = strstr(s + 1, word))
		if ((s == text || !is_word(s[-1])) && !is_word(s[n]))
			return true;
	return false;
}

bool lw_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

/* ---- Runs watched over time, streams of reports ---- */

int64_t lw_now_ms(void)
{
	return now_ms();
}

void lw_wait_file(struct lw_proc *p, const char *path)
{
	int64_t deadline = now_ms() + LW_TIMEOUT_MS;

	for (;;) {
		/* Looked at before the pump: its reap then comes after the file. */
		bool exists = access(path, F_OK) == 0;
		bool was_running = p->running;

		pump(p, 20);
		if (exists)
			return;
		if (!was_running)
			cr_assert_fail("%s exited with %d without creating %s.\nstderr:\n%s",
				       p->name, p->exit_code, path, lw_tail(&p->err));
		if (now_ms() >= deadline) {
			kill_proc(p);
			cr_assert_fail("%s created no %s in %d s.\nstderr:\n%s", p->name, path,
				       LW_TIMEOUT_MS / 1000, lw_tail(&p->err));
		}
	}
}

json_object *lw_json_stream(const char *text)
{
	json_tokener *tok = json_tokener_new();
	json_object *docs = json_object_new_array();
	size_t len = strlen(text), pos = 0;

	cr_assert(tok && docs, "out of memory");
	/* Like lw_report's documents: released at teardown while there is room. */
	if (nr_reports < MAX_REPORTS)
		reports[nr_reports++] = docs;
	for (;;) {
		enum json_tokener_error jerr;
		json_object *doc;

		pos += strspn(text + pos, " \t\r\n");
		if (pos == len)
			break;
		json_tokener_reset(tok);
		doc = json_tokener_parse_ex(tok, text + pos, (int)(len - pos));
		jerr = json_tokener_get_error(tok);
		/* A document cut short is an error too: the writer had finished. */
		cr_assert(doc && jerr == json_tokener_success,
			  "JSON document %zu at offset %zu does not parse: %s\n%.300s",
			  json_object_array_length(docs), pos,
			  jerr == json_tokener_continue ? "it is incomplete" :
			  json_tokener_error_desc(jerr), text + pos);
		cr_assert(json_object_is_type(doc, json_type_object),
			  "JSON document %zu at offset %zu is not an object",
			  json_object_array_length(docs), pos);
		json_object_array_add(docs, doc);
		pos += json_tokener_get_parse_end(tok);
	}
	json_tokener_free(tok);
	return docs;
}

void lw_check_report(json_object *r, bool final)
{
	json_object *procs_arr, *summary, *drops;
	int64_t bytes = 0, allocs = 0;

	cr_assert_eq(lw_int(r, "version"), 1, "report: version");
	lw_str(r, "timestamp");
	cr_assert_eq(lw_bool(r, "final"), final, "report: final is not %s",
		     final ? "true" : "false");
	check_number(r, "duration_s");
	cr_assert(lw_int(r, "lost_events") >= 0, "report: negative lost_events");
	check_mapping_hooks(r);
	drops = lw_get(r, "drops");
	cr_assert(json_object_is_type(drops, json_type_object), "report: drops is not an object");
	json_object_object_foreach(drops, name, count) {
		cr_assert(json_object_is_type(count, json_type_int),
			  "report: drops.%s is not an integer", name);
	}
	procs_arr = get_array(r, "processes");
	for (size_t i = 0; i < json_object_array_length(procs_arr); i++) {
		json_object *p = json_object_array_get_idx(procs_arr, i);

		check_process(p);
		bytes += lw_int(p, "outstanding_bytes");
		allocs += lw_int(p, "outstanding_allocs");
	}
	summary = lw_get(r, "summary");
	cr_assert_eq(lw_int(summary, "processes"), (int64_t)json_object_array_length(procs_arr),
		     "report: summary.processes");
	cr_assert_eq(lw_int(summary, "outstanding_bytes"), bytes,
		     "report: summary.outstanding_bytes is not the sum over processes");
	cr_assert_eq(lw_int(summary, "outstanding_allocs"), allocs,
		     "report: summary.outstanding_allocs is not the sum over processes");
}

void lw_loopback_up(void)
{
	char *flags = NULL;
	size_t cap = 0;
	FILE *f = fopen("/sys/class/net/lo/flags", "r");

	if (f && getline(&flags, &cap, f) > 0 && !(strtoul(flags, NULL, 16) & 1))
		cr_assert_eq(system("ip link set lo up"), 0, "cannot bring up lo");
	if (f)
		fclose(f);
	free(flags);
}

/* ---- HTTP (leakwatch --watch) ---- */

int lw_http_connect(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = 20 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "connect to port %d: %s",
		     port, strerror(errno));
	return fd;
}

void lw_send_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		cr_assert(n > 0, "send: %s", strerror(errno));
		s += n;
		len -= (size_t)n;
	}
}

/* Everything until the server closes; NULL when it timed out. */
char *lw_recv_all(int fd, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap + 1);
	ssize_t r;

	cr_assert(buf);
	for (;;) {
		if (n == cap) {
			buf = realloc(buf, (cap *= 2) + 1);
			cr_assert(buf);
		}
		r = recv(fd, buf + n, cap - n, 0);
		if (r == 0)
			break;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return NULL;
		}
		n += (size_t)r;
	}
	buf[n] = 0;
	*len = n;
	return buf;
}

/* One raw request (HTTP/1.0: the server closes after the answer). */
struct lw_http_reply lw_http_raw(int port, const char *request, size_t len)
{
	struct lw_http_reply r = { 0 };
	size_t n;
	char *all, *sep;
	int fd = lw_http_connect(port);

	lw_send_all(fd, request, len);
	all = lw_recv_all(fd, &n);
	close(fd);
	cr_assert(all, "no answer from port %d to %.60s", port, request);
	sep = strstr(all, "\r\n\r\n");
	if (sscanf(all, "HTTP/1.%*d %d", &r.status) != 1 || !sep)
		cr_assert_fail("not an HTTP answer: %.200s", all);
	*sep = 0;
	r.head = lw_fmt("%s", all);
	r.body = lw_fmt("%s", sep + 4);
	free(all);
	return r;
}

struct lw_http_reply lw_http(int port, const char *method, const char *target)
{
	const char *req = lw_fmt("%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", method, target);

	return lw_http_raw(port, req, strlen(req));
}

int lw_watch_port(struct lw_proc *p)
{
	const char *at = strstr(p->err.data, "serving http://127.0.0.1:");
	int port;

	cr_assert(at, "no address on the ready line:\n%s", lw_tail(&p->err));
	port = atoi(at + strlen("serving http://127.0.0.1:"));
	cr_assert(port > 0 && port < 65536);
	return port;
}

/* Waits until p's stderr holds needle, up to timeout_ms; the time it
 * took in ms, or -1. */
int64_t lw_wait_err(struct lw_proc *p, const char *needle, int64_t timeout_ms)
{
	int64_t start = lw_now_ms();

	while (!(p->err.data && strstr(p->err.data, needle))) {
		if (!p->running || lw_now_ms() - start > timeout_ms)
			return -1;
		lw_pump(p, 20);
	}
	return lw_now_ms() - start;
}

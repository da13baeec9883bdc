// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * floor: empty BPF programs on exactly the probe sites leakwatch uses,
 * attached the way leakwatch attaches its own, so that a benchmark can
 * tell what the probes cost from what leakwatch's programs cost.  The
 * sites come from leakwatch's planner (alloc_lib_find); the probe API is
 * chosen by the same feature probe as user/intake/tracer.c: uprobe sessions where
 * the kernel has them (one session link for the allocating functions, one
 * multi-uprobe link for free), else one perf-event uprobe per site plus a
 * uretprobe on the same breakpoint for each allocating function.
 *
 *   floor [-m empty|stack|entry] [-L] [-S] [-v] -p PID [-d SEC]
 *   floor [-m empty|stack|entry] [-L] [-S] [-v] -- COMMAND [ARGS...]
 *
 * Modes: empty (nothing in the programs), stack (the return program takes
 * one user stack into a stack table), entry (empty programs, every probe
 * at the first instruction: free's is single-stepped).  -L forces the
 * perf-event API (leakwatch --legacy-uprobes).  -S adds empty programs on
 * the sys_enter/sys_exit raw tracepoints, leakwatch's mapping hooks where
 * the kernel has no BPF trampolines.  Prints "floor: ready: ..."
 * to stderr once every probe is live.  With -v it lists the sites, and at
 * exit each program's run count and run time (non-zero only with sysctl
 * kernel.bpf_stats_enabled=1).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "floor.skel.h"
#include "log.h"
#include "probes.h"
#include "procfs.h"
#include "uprobe_multi.h"

enum floor_mode { FLOOR_EMPTY, FLOOR_STACK, FLOOR_ENTRY };

static const char *const mode_names[] = {
	[FLOOR_EMPTY] = "empty",
	[FLOOR_STACK] = "stack",
	[FLOOR_ENTRY] = "entry",
};

struct floor_opts {
	enum floor_mode mode;
	bool legacy;		/* perf-event uprobes even where sessions exist */
	bool sys_hooks;		/* -S */
	bool verbose;
	pid_t pid;		/* -p; 0 with a command */
	double duration;	/* -d; 0: until the process exits */
	char **argv;		/* the command after --, or NULL */
};

/* What is attached: libbpf links (perf API) or raw link fds (sessions). */
struct floor_links {
	struct bpf_link **links;
	size_t n;
	int fds[2];
};

static volatile sig_atomic_t stop_signal;
static bool verbose;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: floor [-m empty|stack|entry] [-L] [-S] [-v] -p PID [-d SEC]\n"
		"       floor [-m empty|stack|entry] [-L] [-S] [-v] -- COMMAND [ARGS...]\n"
		"Empty BPF programs on leakwatch's allocator probe sites (see floor.c).\n");
}

static int parse_opts(int argc, char **argv, struct floor_opts *o)
{
	static const struct option long_opts[] = {
		{ "legacy-uprobes", no_argument, NULL, 'L' },
		{ "syscall-hooks", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	size_t nmodes = sizeof(mode_names) / sizeof(mode_names[0]);
	char *end;
	size_t i;
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "+m:p:d:LSvh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			for (i = 0; i < nmodes && strcmp(optarg, mode_names[i]); i++)
				;
			if (i == nmodes)
				return -EINVAL;
			o->mode = i;
			break;
		case 'p':
			o->pid = strtol(optarg, &end, 10);
			if (*end || o->pid <= 0)
				return -EINVAL;
			break;
		case 'd':
			o->duration = strtod(optarg, &end);
			if (*end || o->duration <= 0)
				return -EINVAL;
			break;
		case 'L':
			o->legacy = true;
			break;
		case 'S':
			o->sys_hooks = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			return -EINVAL;
		}
	}
	if (optind < argc)
		o->argv = &argv[optind];
	/* exactly one of -p and a command */
	return !o->pid == !o->argv ? -EINVAL : 0;
}

/* Load only the two programs this mode and API use, and -S's. */
static int choose_programs(struct floor_bpf *skel, enum floor_mode mode, bool session,
			   bool sys_hooks)
{
	struct bpf_program *use[2], *all[] = {
		skel->progs.floor_entry, skel->progs.floor_ret, skel->progs.floor_ret_stack,
		skel->progs.floor_session, skel->progs.floor_session_stack,
		skel->progs.floor_multi,
	};
	size_t i;
	int err = 0;

	if (session) {
		use[0] = mode == FLOOR_STACK ? skel->progs.floor_session_stack
					     : skel->progs.floor_session;
		use[1] = skel->progs.floor_multi;
		err = bpf_program__set_expected_attach_type(use[0],
							    LW_BPF_TRACE_UPROBE_SESSION);
		err = err ?: bpf_program__set_expected_attach_type(use[1],
								   LW_BPF_TRACE_UPROBE_MULTI);
	} else {
		use[0] = skel->progs.floor_entry;
		use[1] = mode == FLOOR_STACK ? skel->progs.floor_ret_stack : skel->progs.floor_ret;
	}
	for (i = 0; i < sizeof(all) / sizeof(all[0]) && !err; i++)
		err = bpf_program__set_autoload(all[i], all[i] == use[0] || all[i] == use[1]);
	err = err ?: bpf_program__set_autoload(skel->progs.floor_sys_enter, sys_hooks);
	return err ?: bpf_program__set_autoload(skel->progs.floor_sys_exit, sys_hooks);
}

/*
 * Fork the command, held on a pipe until its probes are live: it runs
 * nothing of its own before that.  *go is the pipe's write end; writing
 * a byte releases the child, closing it unwritten makes the child exit.
 */
static pid_t spawn_held(char **argv, int *go)
{
	int fds[2];
	pid_t pid;
	char b;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		pid = -errno;
		close(fds[0]);
		close(fds[1]);
		return pid;
	}
	if (!pid) {
		close(fds[1]);
		if (read(fds[0], &b, 1) != 1)
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, "floor: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[0]);
	*go = fds[1];
	return pid;
}

static int add_link(struct floor_links *fl, struct bpf_link *link)
{
	struct bpf_link **links = realloc(fl->links, (fl->n + 1) * sizeof(*links));

	if (!links)
		return -ENOMEM;
	fl->links = links;
	fl->links[fl->n++] = link;
	return 0;
}

static void floor_links__destroy(struct floor_links *fl)
{
	size_t i;

	for (i = 0; i < fl->n; i++)
		bpf_link__destroy(fl->links[i]);
	for (i = 0; i < 2; i++) {
		if (fl->fds[i] >= 0)
			close(fl->fds[i]);
		fl->fds[i] = -1;
	}
	free(fl->links);
	fl->links = NULL;
	fl->n = 0;
}

static void print_site(const struct alloc_lib *lib, const struct alloc_probe *p)
{
	if (verbose)
		fprintf(stderr, "floor: %s at %s+0x%llx (entry+%llu)%s\n", p->symbol, lib->path,
			(unsigned long long)p->site_offset,
			(unsigned long long)(p->site_offset - p->func_offset),
			p->ret_probe ? ", return" : "");
}

/* tracer.c's attach_session with floor's programs: same sites, same links. */
static int attach_session(struct floor_bpf *skel, enum floor_mode mode, pid_t pid,
			  const struct alloc_lib *lib, struct floor_links *fl, size_t *nprobes)
{
	struct bpf_program *alloc = mode == FLOOR_STACK ? skel->progs.floor_session_stack
							: skel->progs.floor_session;
	__u64 offs[LW_FN__COUNT + 1], free_off[LW_FN__COUNT + 1];
	__u32 n = 0, nfree = 0;
	size_t i;
	int fd;

	for (i = 0; i < lib->n; i++) {
		print_site(lib, &lib->probes[i]);
		if (lib->probes[i].fn == LW_FN_FREE)
			free_off[nfree++] = lib->probes[i].site_offset;
		else
			offs[n++] = lib->probes[i].site_offset;
	}
	fd = uprobe_multi_link(bpf_program__fd(alloc), LW_BPF_TRACE_UPROBE_SESSION,
			       lib->open_path, offs, NULL, n, pid);
	if (fd < 0)
		return fd;
	fl->fds[0] = fd;
	if (nfree) {
		fd = uprobe_multi_link(bpf_program__fd(skel->progs.floor_multi),
				       LW_BPF_TRACE_UPROBE_MULTI, lib->open_path, free_off,
				       NULL, nfree, pid);
		if (fd < 0)
			return fd;
		fl->fds[1] = fd;
	}
	*nprobes = n + nfree;
	return 0;
}

/* tracer.c's perf-event attach with floor's programs. */
static int attach_perf(struct floor_bpf *skel, enum floor_mode mode, pid_t pid,
		       const struct alloc_lib *lib, struct floor_links *fl, size_t *nprobes)
{
	struct bpf_program *ret = mode == FLOOR_STACK ? skel->progs.floor_ret_stack
						      : skel->progs.floor_ret;
	struct bpf_link *link;
	size_t i;
	int err = 0;

	for (i = 0; i < lib->n && !err; i++) {
		const struct alloc_probe *p = &lib->probes[i];

		print_site(lib, p);
		link = bpf_program__attach_uprobe(skel->progs.floor_entry, false, pid,
						  lib->open_path, p->site_offset);
		if (!link)
			return -errno;
		err = add_link(fl, link);
		if (err || !p->ret_probe)
			continue;
		/* at the site, as tracer.c does: the instructions skipped leave
		 * [rsp] the return address, and one breakpoint serves both */
		link = bpf_program__attach_uprobe(ret, true, pid, lib->open_path, p->site_offset);
		if (!link)
			return -errno;
		err = add_link(fl, link);
	}
	*nprobes = fl->n;
	return err;
}

static void print_prog_stats(struct floor_bpf *skel)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (!bpf_program__autoload(prog) ||
		    bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
			continue;
		fprintf(stderr, "floor: %s: run_cnt %llu run_time_ns %llu (%.0f ns/run)\n",
			bpf_program__name(prog), (unsigned long long)info.run_cnt,
			(unsigned long long)info.run_time_ns,
			info.run_cnt ? (double)info.run_time_ns / info.run_cnt : 0.0);
	}
}

/* Wait for the command; its exit status the shell's way (128+N: signal N). */
static int wait_command(pid_t child)
{
	int status;

	for (;;) {
		if (waitpid(child, &status, 0) == child)
			break;
		if (errno != EINTR)
			return 1;
		if (stop_signal)
			kill(child, stop_signal);
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* Until pid exits, a signal comes, or the duration has passed. */
static void wait_pid(pid_t pid, double duration)
{
	struct timespec tick = { 0, 100 * 1000 * 1000 };
	double waited = 0;

	while (!stop_signal && (!duration || waited < duration)) {
		if (procfs_process_alive(pid))
			break;
		nanosleep(&tick, NULL);
		waited += 0.1;
	}
}

int main(int argc, char **argv)
{
	struct floor_links links = { .fds = { -1, -1 } };
	struct alloc_lib lib = {};
	struct floor_bpf *skel = NULL;
	struct floor_opts o;
	int err, go = -1, code = 1;
	size_t nprobes = 0;
	bool session;
	pid_t pid = 0;

	err = parse_opts(argc, argv, &o);
	if (err) {
		if (err < 0)
			usage(stderr);
		return err < 0 ? 2 : 0;
	}
	verbose = o.verbose;
	lw_log_set_level(o.verbose ? LW_LOG_DEBUG : LW_LOG_WARN);
	libbpf_set_print(libbpf_print);
	/* no SA_RESTART: a signal must interrupt the waits */
	sigaction(SIGINT, &(struct sigaction){ .sa_handler = on_signal }, NULL);
	sigaction(SIGTERM, &(struct sigaction){ .sa_handler = on_signal }, NULL);

	session = !o.legacy && have_uprobe_session();
	skel = floor_bpf__open();
	err = skel ? choose_programs(skel, o.mode, session, o.sys_hooks) : -errno;
	err = err ?: floor_bpf__load(skel);
	if (err) {
		fprintf(stderr, "floor: cannot load the BPF programs: %s\n", strerror(-err));
		goto cleanup;
	}
	/* -S: links owned by the skeleton, destroyed with it */
	if (o.sys_hooks) {
		skel->links.floor_sys_enter = bpf_program__attach(skel->progs.floor_sys_enter);
		if (skel->links.floor_sys_enter)
			skel->links.floor_sys_exit = bpf_program__attach(skel->progs.floor_sys_exit);
		if (!skel->links.floor_sys_exit) {
			fprintf(stderr, "floor: -S: cannot attach to the sys_enter/sys_exit "
				"tracepoints: %s\n", strerror(errno));
			goto cleanup;
		}
	}
	pid = o.pid;
	if (o.argv) {
		pid = spawn_held(o.argv, &go);
		if (pid < 0) {
			fprintf(stderr, "floor: cannot fork: %s\n", strerror(-pid));
			goto cleanup;
		}
	}
	/* a held child is still floor's image: it maps the same libc */
	err = alloc_lib_find(pid, o.mode == FLOOR_ENTRY, &lib);
	if (err) {
		fprintf(stderr, "floor: pid %d: no allocator probes: %s\n", pid, strerror(-err));
		goto cleanup;
	}
	if (session)
		err = attach_session(skel, o.mode, pid, &lib, &links, &nprobes);
	else
		err = attach_perf(skel, o.mode, pid, &lib, &links, &nprobes);
	if (err) {
		fprintf(stderr, "floor: pid %d: cannot attach to %s: %s\n", pid, lib.path,
			strerror(-err));
		goto cleanup;
	}
	fprintf(stderr, "floor: ready: %zu probes on %s in pid %d (mode %s, %s uprobes; "
		"mappings: %s)\n", nprobes, lib.path, pid, mode_names[o.mode],
		session ? "session" : "perf", o.sys_hooks ? "tracepoint" : "not traced");
	if (o.argv) {
		if (write(go, "g", 1) != 1) {
			fprintf(stderr, "floor: cannot release the command: %s\n", strerror(errno));
			goto cleanup;
		}
		close(go);
		go = -1;
		code = wait_command(pid);
	} else {
		wait_pid(pid, o.duration);
		code = 0;
	}
	if (o.verbose)
		print_prog_stats(skel);
cleanup:
	/* closing go unwritten makes a held child exit without running */
	if (go >= 0) {
		close(go);
		waitpid(pid, NULL, 0);
	}
	floor_links__destroy(&links);
	alloc_lib__free(&lib);
	floor_bpf__destroy(skel);
	return code;
}

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One bounded trace of one process for --watch: leakwatch itself, run as
 * a child (`leakwatch -p PID -s N -d SEC -f json --no-follow`), its -f json
 * report read from a pipe on its stdout.
 *
 * A child of its own keeps a trace's probes, ledgers and symbol tables out
 * of the daemon, so the daemon's memory stays flat however many processes
 * it traces over its life, and a trace's failure is the child's exit
 * status, not the daemon's.  The child runs leakwatch's whole attach path,
 * guardian included: if the daemon is killed, the kernel sends the child
 * SIGTERM (PR_SET_PDEATHSIG) and it detaches and exits; if the child is
 * killed, its guardian lets any held process go.
 *
 * The caller polls tracejob__fds() for input and calls tracejob__pump();
 * once tracejob__done(), tracejob__report() has the JSON (or NULL) and
 * tracejob__error() the child's last message.
 */
#ifndef LW_TRACEJOB_H
#define LW_TRACEJOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A report larger than this is cut off and the trace is an error. */
#define TRACEJOB_MAX_REPORT (64u << 20)

struct tracejob_opts {
	const char *exe;		/* leakwatch's own executable */
	pid_t pid;			/* the process to trace */
	double seconds;			/* -d */
	uint64_t sample_bytes;		/* -s; 0: every allocation */
	const char *postmortem_dir;	/* NULL: none */
	const char *host_root;		/* NULL: none */
	bool verbose;			/* the child's stderr to ours too */
	/* Instead of a trace: `leakwatch --oom-only --postmortem-dir DIR`,
	 * a postmortem of every OOM kill on the machine, until stopped (pid
	 * and seconds unused). */
	bool oom_only;
	/* Each line the child writes to stderr (may be NULL). */
	void (*on_line)(void *ctx, const char *line);
	void *ctx;
};

struct tracejob;

/* Start the child.  NULL + errno. */
struct tracejob *tracejob__start(const struct tracejob_opts *o);
/* Kill the child if it runs (SIGKILL) and reap it; accepts NULL. */
void tracejob__free(struct tracejob *j);

/* The fds to poll for input (stdout and stderr of the child, while open):
 * up to 2 into fds, their number returned. */
size_t tracejob__fds(const struct tracejob *j, int fds[2]);
/* Read what the child wrote, reap it once both pipes are closed.
 * 0 or -Exxx (-EFBIG: report over TRACEJOB_MAX_REPORT, the child is
 * stopped). */
int tracejob__pump(struct tracejob *j);
/* End the trace early: SIGTERM, on which leakwatch writes its final
 * report of what it has and exits. */
void tracejob__stop(struct tracejob *j);

bool tracejob__done(const struct tracejob *j);
/* Whether the child said "ready": its probes went live. */
bool tracejob__ready(const struct tracejob *j);
pid_t tracejob__child(const struct tracejob *j);
pid_t tracejob__target(const struct tracejob *j);
/* The child's exit status (as wait(2)); valid once done. */
int tracejob__status(const struct tracejob *j);
/* The child's CPU time in seconds: from /proc while it runs, from its
 * rusage once reaped. */
double tracejob__cpu_seconds(const struct tracejob *j);
/* The report (NUL-terminated) once done and the child exited 0, else
 * NULL; *len its length.  Ownership passes to the caller. */
char *tracejob__take_report(struct tracejob *j, size_t *len);
/* The child's last line on stderr, or "". */
const char *tracejob__error(const struct tracejob *j);

#endif /* LW_TRACEJOB_H */

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procfs.h"

static void assert_map(const struct proc_map *m, uint64_t start, uint64_t end,
		       const char *perms, uint64_t offset, unsigned int major,
		       unsigned int minor, uint64_t inode, const char *path, bool deleted)
{
	cr_assert_eq(m->start, start, "start %#llx", (unsigned long long)m->start);
	cr_assert_eq(m->end, end, "end %#llx", (unsigned long long)m->end);
	cr_assert_str_eq(m->perms, perms);
	cr_assert_eq(m->offset, offset, "offset %#llx", (unsigned long long)m->offset);
	cr_assert_eq(m->dev_major, major, "major %u", m->dev_major);
	cr_assert_eq(m->dev_minor, minor, "minor %u", m->dev_minor);
	cr_assert_eq(m->inode, inode, "inode %llu", (unsigned long long)m->inode);
	if (path)
		cr_assert_str_eq(m->path, path);
	else
		cr_assert_null(m->path, "path \"%s\"", m->path);
	cr_assert_eq(m->deleted, deleted);
}

static void parse_one(const char *line, struct proc_map *m)
{
	cr_assert_eq(procfs_parse_maps_line(line, m), 0, "cannot parse: %s", line);
}

Test(procfs, maps_line_file)
{
	struct proc_map m;

	parse_one("7f1c2a000000-7f1c2a022000 r--p 00000000 fe:01 1234567"
		  "                    /usr/lib/x86_64-linux-gnu/libc.so.6\n", &m);
	assert_map(&m, 0x7f1c2a000000, 0x7f1c2a022000, "r--p", 0, 0xfe, 1, 1234567,
		   "/usr/lib/x86_64-linux-gnu/libc.so.6", false);
	free(m.path);

	/* without a newline, 8-digit addresses, large offset and device */
	parse_one("00400000-00452000 r-xp 0001a000 103:1f 18446744073709551615 /bin/x", &m);
	assert_map(&m, 0x400000, 0x452000, "r-xp", 0x1a000, 0x103, 0x1f,
		   18446744073709551615ULL, "/bin/x", false);
	free(m.path);
}

Test(procfs, maps_line_anonymous)
{
	struct proc_map m;

	/* the kernel ends anonymous lines with a space, older ones or other
	 * tools may not */
	parse_one("7fe942196000-7fe942199000 rw-p 00000000 00:00 0 \n", &m);
	assert_map(&m, 0x7fe942196000, 0x7fe942199000, "rw-p", 0, 0, 0, 0, NULL, false);
	parse_one("7fe942196000-7fe942199000 ---s 00000000 00:00 0", &m);
	assert_map(&m, 0x7fe942196000, 0x7fe942199000, "---s", 0, 0, 0, 0, NULL, false);
}

Test(procfs, maps_line_pseudo_paths)
{
	static const char *const names[] = { "[heap]", "[stack]", "[vdso]", "[vvar]",
					     "[anon:my arena]" };
	struct proc_map m;
	char line[256];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(line, sizeof(line), "564871c1c000-564871c5e000 rw-p 00000000 00:00 0"
			 "                          %s\n", names[i]);
		parse_one(line, &m);
		assert_map(&m, 0x564871c1c000, 0x564871c5e000, "rw-p", 0, 0, 0, 0, names[i],
			   false);
		free(m.path);
	}
}

Test(procfs, maps_line_spaces_and_deleted)
{
	struct proc_map m;

	parse_one("7f0000000000-7f0000001000 r--s 00002000 08:02 42"
		  "                         /tmp/my dir/a  b.so\n", &m);
	assert_map(&m, 0x7f0000000000, 0x7f0000001000, "r--s", 0x2000, 8, 2, 42,
		   "/tmp/my dir/a  b.so", false);
	free(m.path);

	parse_one("7f0000000000-7f0000001000 r-xp 00000000 08:02 43"
		  "                         /tmp/my dir/lib.so (deleted)\n", &m);
	assert_map(&m, 0x7f0000000000, 0x7f0000001000, "r-xp", 0, 8, 2, 43,
		   "/tmp/my dir/lib.so", true);
	free(m.path);

	parse_one("7f0000000000-7f0000001000 rw-s 00000000 00:01 2049"
		  "                       /memfd:pool (deleted)", &m);
	assert_map(&m, 0x7f0000000000, 0x7f0000001000, "rw-s", 0, 0, 1, 2049,
		   "/memfd:pool", true);
	free(m.path);

	/* " (deleted)" alone is a path, not a suffix of one */
	parse_one("7f0000000000-7f0000001000 r--p 00000000 08:02 44  (deleted)\n", &m);
	assert_map(&m, 0x7f0000000000, 0x7f0000001000, "r--p", 0, 8, 2, 44,
		   "(deleted)", false);
	free(m.path);
}

Test(procfs, maps_line_invalid)
{
	static const char *const bad[] = {
		"",
		"\n",
		"7f00-7f01",
		"7f00 7f01 r--p 00000000 08:02 44",
		"7f00-7f01 r--p 00000000 08:02",
		"7f00-7f01 r--p 00000000 0802 44",
		"7f00-7f01 r-p 00000000 08:02 44",
		"7f00-7f01 r--q 00000000 08:02 44",
		"7f00-7f01 r--p 0000000g 08:02 44",
		"7f00-7f01 r--p 00000000 08:02 4x4 /a",
		"7f00-7f01 r--p 00000000 08:02 -4",
		"7f01-7f00 r--p 00000000 08:02 44",
		"-7f00-7f01 r--p 00000000 08:02 44",
		"7f00-7f01 r--p 00000000 123456789:02 44",
		"17f0000000000000000-7f01 r--p 00000000 08:02 44",
		"7f00-7f01 r--p 00000000 08:02 99999999999999999999",
	};
	struct proc_map m = { .path = (char *)"untouched" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(procfs_parse_maps_line(bad[i], &m), -EINVAL, "accepted: %s", bad[i]);
		cr_assert_str_eq(m.path, "untouched");
	}
}

Test(procfs, maps_text)
{
	const char *text =
		"55d594f06000-55d594f08000 r--p 00000000 fe:00 247134"
		"                     /usr/bin/cat\n"
		"56483c980000-56483c990000 rw-p 00000000 00:00 0 \n"
		"564871c1c000-564871c5e000 rw-p 00000000 00:00 0"
		"                          [heap]\n"
		"7ffd1e7d5000-7ffd1e7d7000 r-xp 00000000 00:00 0"
		"                          [vdso]\n";
	struct proc_maps maps = { 0 };

	cr_assert_eq(procfs_parse_maps(text, &maps), 0);
	cr_assert_eq(maps.n, 4);
	assert_map(&maps.maps[0], 0x55d594f06000, 0x55d594f08000, "r--p", 0, 0xfe, 0, 247134,
		   "/usr/bin/cat", false);
	assert_map(&maps.maps[1], 0x56483c980000, 0x56483c990000, "rw-p", 0, 0, 0, 0, NULL,
		   false);
	assert_map(&maps.maps[2], 0x564871c1c000, 0x564871c5e000, "rw-p", 0, 0, 0, 0, "[heap]",
		   false);
	assert_map(&maps.maps[3], 0x7ffd1e7d5000, 0x7ffd1e7d7000, "r-xp", 0, 0, 0, 0, "[vdso]",
		   false);
	proc_maps__free(&maps);
	cr_assert_null(maps.maps);
	cr_assert_eq(maps.n, 0);
	/* a second free of the zeroed struct, and of NULL, are harmless */
	proc_maps__free(&maps);
	proc_maps__free(NULL);

	cr_assert_eq(procfs_parse_maps("", &maps), 0);
	cr_assert_eq(maps.n, 0);
	proc_maps__free(&maps);
}

Test(procfs, maps_text_invalid_line)
{
	struct proc_maps maps = { .n = 77 };

	cr_assert_eq(procfs_parse_maps("55d594f06000-55d594f08000 r--p 00000000 fe:00 1 /a\n"
				       "garbage\n", &maps), -EINVAL);
	cr_assert_eq(maps.n, 77);
}

/* Many lines: the result array grows several times. */
Test(procfs, maps_text_many_lines)
{
	struct proc_maps maps = { 0 };
	size_t cap = 1000 * 80, len = 0, i;
	char *text = malloc(cap);

	cr_assert_not_null(text);
	for (i = 0; i < 1000; i++)
		len += snprintf(text + len, cap - len, "%zx-%zx r--p %zx 08:02 %zu /lib/%zu.so\n",
				0x10000 + i * 0x1000, 0x11000 + i * 0x1000, i * 0x1000, i, i);
	cr_assert_eq(procfs_parse_maps(text, &maps), 0);
	cr_assert_eq(maps.n, 1000);
	for (i = 0; i < 1000; i++) {
		char path[32];

		snprintf(path, sizeof(path), "/lib/%zu.so", i);
		assert_map(&maps.maps[i], 0x10000 + i * 0x1000, 0x11000 + i * 0x1000, "r--p",
			   i * 0x1000, 8, 2, i, path, false);
	}
	proc_maps__free(&maps);
	free(text);
}

Test(procfs, stat_parse)
{
	char state = 0;
	pid_t ppid = -1;

	cr_assert_eq(procfs_parse_stat("1234 (my (weird) comm) S 1 1234 1234 0 -1 4194560\n",
				       &state, &ppid), 0);
	cr_assert_eq(state, 'S');
	cr_assert_eq(ppid, 1);

	/* ") Z 9 " inside the comm must not be taken for the fields */
	cr_assert_eq(procfs_parse_stat("77 (a) Z 9 (b) R 4321 77 77 0", &state, &ppid), 0);
	cr_assert_eq(state, 'R');
	cr_assert_eq(ppid, 4321);

	cr_assert_eq(procfs_parse_stat("1 (systemd) S 0 1 1 0 -1", &state, &ppid), 0);
	cr_assert_eq(state, 'S');
	cr_assert_eq(ppid, 0);

	cr_assert_eq(procfs_parse_stat("5 () Z 3 5", NULL, NULL), 0);

	cr_assert_eq(procfs_parse_stat("", &state, &ppid), -EINVAL);
	cr_assert_eq(procfs_parse_stat("1234 comm S 1", &state, &ppid), -EINVAL);
	cr_assert_eq(procfs_parse_stat("1234 (comm)", &state, &ppid), -EINVAL);
	cr_assert_eq(procfs_parse_stat("1234 (comm) S", &state, &ppid), -EINVAL);
	cr_assert_eq(procfs_parse_stat("1234 (comm) S x", &state, &ppid), -EINVAL);
	cr_assert_eq(procfs_parse_stat("1234 (comm)  S 1", &state, &ppid), -EINVAL);
}

/* A pid no process can have: pids are below pid_max. */
static pid_t impossible_pid(void)
{
	char *text;
	long max;

	cr_assert_eq(procfs_read_file("/proc/sys/kernel/pid_max", &text, NULL), 0);
	max = strtol(text, NULL, 10);
	free(text);
	cr_assert_gt(max, 0);
	return (pid_t)max;
}

Test(procfs, missing_process)
{
	pid_t pid = impossible_pid();
	struct proc_maps maps = { 0 };
	char *s = (char *)"untouched";

	cr_assert_eq(procfs_read_maps(pid, &maps), -ENOENT);
	cr_assert_eq(maps.n, 0);
	cr_assert_eq(procfs_read_comm(pid, &s), -ENOENT);
	cr_assert_eq(procfs_read_cmdline(pid, &s), -ENOENT);
	cr_assert_str_eq(s, "untouched");
	cr_assert_eq(procfs_process_alive(pid), -ENOENT);
	cr_assert_eq(procfs_read_file("/nonexistent/leakwatch", &s, NULL), -ENOENT);
}

Test(procfs, read_file_exact)
{
	char dir[] = "/tmp/lw-procfs-XXXXXX", path[64];
	size_t n = 100000, len = 0, i;
	char *want = malloc(n), *got = NULL;
	int fd;

	cr_assert_not_null(want);
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	/* bytes of every value, NULs included, longer than any first read */
	for (i = 0; i < n; i++)
		want[i] = (char)(i * 7 + i / 256);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, want, n), (ssize_t)n);
	close(fd);

	cr_assert_eq(procfs_read_file(path, &got, &len), 0);
	cr_assert_eq(len, n);
	cr_assert_eq(memcmp(got, want, n), 0);
	cr_assert_eq(got[n], '\0');
	free(got);

	/* an empty file gives an empty string */
	fd = open(path, O_WRONLY | O_TRUNC);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(procfs_read_file(path, &got, &len), 0);
	cr_assert_eq(len, 0);
	cr_assert_str_eq(got, "");
	free(got);

	unlink(path);
	rmdir(dir);
	free(want);
}

/*
 * A child that execs `sleep 5` with a known environment.  Returns once the
 * exec has happened: the pipe's write end is close-on-exec, so the read
 * sees EOF exactly then (or the errno of a failed exec).
 */
static pid_t spawn_sleep(char *const envp[])
{
	int fds[2], child_errno = 0;
	ssize_t r;
	pid_t pid;

	cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		execvpe("sleep", (char *const[]){ "sleep", "5", NULL }, envp);
		child_errno = errno;
		if (write(fds[1], &child_errno, sizeof(child_errno)) < 0)
			_exit(126);
		_exit(127);
	}
	close(fds[1]);
	do {
		r = read(fds[0], &child_errno, sizeof(child_errno));
	} while (r < 0 && errno == EINTR);
	close(fds[0]);
	cr_assert_eq(r, 0, "exec of sleep failed: %s", strerror(child_errno));
	return pid;
}

Test(procfs, child_comm_cmdline_environ)
{
	size_t big_len = 20000, len, i;
	char *big = malloc(big_len + 1), *s, path[64];
	char *envp[] = { big, "LW_SECOND=two words", "PATH=/usr/bin:/bin", NULL };
	siginfo_t info;
	pid_t pid;

	cr_assert_not_null(big);
	memcpy(big, "LW_BIG=", 7);
	for (i = 7; i < big_len; i++)
		big[i] = 'a' + i % 26;
	big[big_len] = '\0';
	pid = spawn_sleep(envp);

	cr_assert_eq(procfs_read_comm(pid, &s), 0);
	cr_assert_str_eq(s, "sleep");
	free(s);
	cr_assert_eq(procfs_read_cmdline(pid, &s), 0);
	cr_assert_str_eq(s, "sleep 5");
	free(s);
	cr_assert_eq(procfs_process_alive(pid), 0);

	/* environ reports a size of 0 and holds several pages here */
	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	cr_assert_eq(procfs_read_file(path, &s, &len), 0);
	cr_assert_eq(len, big_len + 1 + 20 + 19, "environ of %zu bytes", len);
	cr_assert_eq(memcmp(s, big, big_len + 1), 0);
	cr_assert_eq(memcmp(s + big_len + 1, "LW_SECOND=two words\0PATH=/usr/bin:/bin\0", 20 + 19),
		     0);
	free(s);

	cr_assert_eq(kill(pid, SIGKILL), 0);
	/* wait for the exit but leave the zombie: it is not alive */
	cr_assert_eq(waitid(P_PID, pid, &info, WEXITED | WNOWAIT), 0);
	cr_assert_eq(procfs_process_alive(pid), -ENOENT);
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
	free(big);
}

static const struct proc_map *find_map(const struct proc_maps *maps, uint64_t addr)
{
	size_t i;

	for (i = 0; i < maps->n; i++) {
		if (maps->maps[i].start <= addr && addr < maps->maps[i].end)
			return &maps->maps[i];
	}
	return NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

Test(procfs, self_maps_libc)
{
	struct proc_maps maps = { 0 };
	bool libc_text = false;
	size_t i;

	cr_assert_eq(procfs_read_maps(getpid(), &maps), 0);
	cr_assert_gt(maps.n, 0);
	for (i = 0; i < maps.n; i++) {
		const struct proc_map *m = &maps.maps[i];

		if (m->path && ends_with(m->path, "/libc.so.6") && !strcmp(m->perms, "r-xp"))
			libc_text = true;
	}
	cr_assert(libc_text, "no r-xp mapping of libc.so.6");
	proc_maps__free(&maps);
}

/*
 * Mappings this test makes itself, so that every field is known: a file
 * with spaces in its name mapped at an offset, then unlinked; and a memfd,
 * whose device and inode are those fstat reports.
 */
Test(procfs, self_maps_exact_fields)
{
	char dir[] = "/tmp/lw procfs XXXXXX", path[64];
	long page = sysconf(_SC_PAGESIZE);
	struct proc_maps maps = { 0 };
	const struct proc_map *m;
	char *file_map, *memfd_map;
	struct stat st;
	int fd, mfd;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a file.so", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 4 * page), 0);
	file_map = mmap(NULL, 2 * page, PROT_READ, MAP_PRIVATE, fd, page);
	cr_assert_neq(file_map, MAP_FAILED);
	close(fd);

	mfd = memfd_create("lw pool", MFD_CLOEXEC);
	cr_assert_geq(mfd, 0);
	cr_assert_eq(ftruncate(mfd, page), 0);
	cr_assert_eq(fstat(mfd, &st), 0);
	memfd_map = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	cr_assert_neq(memfd_map, MAP_FAILED);
	close(mfd);

	cr_assert_eq(procfs_read_maps(getpid(), &maps), 0);
	m = find_map(&maps, (uintptr_t)file_map);
	cr_assert_not_null(m);
	cr_assert_eq(m->start, (uintptr_t)file_map);
	cr_assert_eq(m->end, (uintptr_t)file_map + 2 * page);
	cr_assert_str_eq(m->perms, "r--p");
	cr_assert_eq(m->offset, (uint64_t)page);
	cr_assert_str_eq(m->path, path);
	cr_assert_eq(m->deleted, false);

	m = find_map(&maps, (uintptr_t)memfd_map);
	cr_assert_not_null(m);
	assert_map(m, (uintptr_t)memfd_map, (uintptr_t)memfd_map + page, "rw-s", 0,
		   major(st.st_dev), minor(st.st_dev), st.st_ino, "/memfd:lw pool", true);
	proc_maps__free(&maps);

	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(procfs_read_maps(getpid(), &maps), 0);
	m = find_map(&maps, (uintptr_t)file_map);
	cr_assert_not_null(m);
	cr_assert_str_eq(m->path, path);
	cr_assert_eq(m->deleted, true);
	proc_maps__free(&maps);

	munmap(file_map, 2 * page);
	munmap(memfd_map, page);
	rmdir(dir);
}

/* Paths of a process whose root /proc shows as "/srv/jail", as it sees them. */
Test(procfs, unroot)
{
	char *root = NULL;

	cr_assert_str_eq(procfs_unroot("/srv/jail", "/srv/jail/usr/lib/libc.so.6"),
			 "/usr/lib/libc.so.6");
	/* a file outside its root, and a longer name, stay as they are */
	cr_assert_str_eq(procfs_unroot("/srv/jail", "/usr/lib/libc.so.6"), "/usr/lib/libc.so.6");
	cr_assert_str_eq(procfs_unroot("/srv/jail", "/srv/jail2/lib.so"), "/srv/jail2/lib.so");
	cr_assert_str_eq(procfs_unroot("/srv/jail", "/srv/jail"), "/srv/jail");
	cr_assert_str_eq(procfs_unroot("", "/usr/bin/cat"), "/usr/bin/cat");
	cr_assert_str_eq(procfs_unroot(NULL, "/usr/bin/cat"), "/usr/bin/cat");
	cr_assert_null(procfs_unroot("/srv/jail", NULL));

	/* ours is "/": nothing to take away */
	cr_assert_eq(procfs_read_root(getpid(), &root), 0);
	cr_assert_str_eq(root, "");
	free(root);
	cr_assert_eq(procfs_read_root(-1, &root), -ENOENT);
}

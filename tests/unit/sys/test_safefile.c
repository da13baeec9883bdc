// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The one writer of leakwatch's files: symlinks planted at every name it
 * could use (the target, each temporary name it draws, the names older
 * versions used) are never followed; modes are exact; failures leave
 * nothing behind and keep their errno.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "safefile.h"

static char dir[] = "/tmp/lw-safefile.XXXXXX";

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
}

static void teardown(void)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	safefile_set_random(NULL);
	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(dirfd(d), de->d_name, 0);
	if (d)
		closedir(d);
	rmdir(dir);
}

TestSuite(safefile, .init = setup, .fini = teardown);

static const char *in_dir(const char *name)
{
	static char buf[8][256];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static int fill_hello(FILE *f, void *ctx)
{
	return fputs(ctx ? ctx : "hello\n", f) == EOF ? -EIO : 0;
}

static int fill_fails(FILE *f, void *ctx)
{
	fputs("half", f);
	return -ENOSPC;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

static const char *get(const char *path)
{
	static char buf[256];
	FILE *f = fopen(path, "r");
	size_t n;

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static size_t count_entries(void)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	size_t n = 0;

	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	cr_assert_eq(lstat(path, &st), 0, "%s: %s", path, strerror(errno));
	cr_assert(S_ISREG(st.st_mode), "%s is not a regular file", path);
	return st.st_mode & 07777;
}

Test(safefile, writes_0600_whatever_the_umask)
{
	mode_t old = umask(0);

	cr_assert_eq(safefile_write(in_dir("report"), SAFEFILE_MODE, fill_hello, NULL), 0);
	cr_expect_str_eq(get(in_dir("report")), "hello\n");
	cr_expect_eq(mode_of(in_dir("report")), 0600);
	/* a 0644 file it replaces does not lend it its mode */
	put(in_dir("old"), "old\n");
	chmod(in_dir("old"), 0644);
	cr_assert_eq(safefile_write(in_dir("old"), SAFEFILE_MODE, fill_hello, NULL), 0);
	cr_expect_eq(mode_of(in_dir("old")), 0600);
	cr_expect_eq(count_entries(), 2, "nothing else left in the directory");
	umask(old);
}

/* Another user's symlink at the target's name is replaced, its target
 * untouched.  (As root, the test gives the link to nobody: a symlink root
 * owns is followed, see below.) */
Test(safefile, symlink_at_the_target_is_replaced)
{
	put(in_dir("victim"), "precious");
	cr_assert_eq(symlink(in_dir("victim"), in_dir("report")), 0);
	if (geteuid() == 0)
		cr_assert_eq(lchown(in_dir("report"), 65534, 65534), 0, "lchown: %s",
			     strerror(errno));
	cr_assert_eq(safefile_write(in_dir("report"), SAFEFILE_MODE, fill_hello, NULL), 0);
	cr_expect_str_eq(get(in_dir("victim")), "precious");
	cr_expect_eq(mode_of(in_dir("report")), 0600);
	cr_expect_str_eq(get(in_dir("report")), "hello\n");
}

static uint64_t next_name;

static uint64_t counting(void)
{
	return next_name++;
}

static const char *tmp_path(uint64_t r)
{
	static char name[64];

	snprintf(name, sizeof(name), ".leakwatch-%016" PRIx64 ".tmp", r);
	return in_dir(name);
}

/* Symlinks (to a file, to a missing file, dangling into /etc) at the
 * temporary names the writer will draw, and at the names leakwatch used
 * to write (FILE.tmp.PID, .FILE.tmp.PID): none is followed. */
Test(safefile, symlinks_at_every_temporary_name)
{
	char old1[256], old2[256];

	put(in_dir("victim"), "precious");
	next_name = 0;
	safefile_set_random(counting);
	cr_assert_eq(symlink(in_dir("victim"), tmp_path(0)), 0);
	cr_assert_eq(symlink(in_dir("nonexistent"), tmp_path(1)), 0);
	cr_assert_eq(symlink(in_dir("victim"), tmp_path(2)), 0);
	snprintf(old1, sizeof(old1), "%s.tmp.%d", in_dir("report"), (int)getpid());
	snprintf(old2, sizeof(old2), "%s/.report.tmp.%d", dir, (int)getpid());
	cr_assert_eq(symlink(in_dir("victim"), old1), 0);
	cr_assert_eq(symlink(in_dir("victim"), old2), 0);

	cr_assert_eq(safefile_write(in_dir("report"), SAFEFILE_MODE, fill_hello, NULL), 0);
	cr_expect_str_eq(get(in_dir("victim")), "precious");
	cr_expect_eq(access(in_dir("nonexistent"), F_OK), -1, "a dangling link was followed");
	cr_expect_eq(next_name, 4, "three planted names skipped, the fourth taken");
	cr_expect_str_eq(get(in_dir("report")), "hello\n");
	/* the links are still links: the writer created beside them */
	cr_expect_eq(count_entries(), 7);

	/* a directory full of planted names: refused, nothing written */
	next_name = 0;
	safefile_set_random(counting);
	for (uint64_t r = 3; r < 64; r++)
		cr_assert_eq(symlink(in_dir("victim"), tmp_path(r)), 0);
	cr_expect_eq(safefile_write(in_dir("report2"), SAFEFILE_MODE, fill_hello, NULL),
		     -EEXIST);
	cr_expect_str_eq(get(in_dir("victim")), "precious");
	cr_expect_eq(access(in_dir("report2"), F_OK), -1);
}

Test(safefile, failed_fill_leaves_target_untouched)
{
	put(in_dir("report"), "before");
	cr_expect_eq(safefile_write(in_dir("report"), SAFEFILE_MODE, fill_fails, NULL), -ENOSPC);
	cr_expect_str_eq(get(in_dir("report")), "before");
	cr_expect_eq(count_entries(), 1, "the temporary file is removed");
}

Test(safefile, checks_at_start)
{
	cr_expect_eq(safefile_check(in_dir("report")), 0);
	cr_expect_eq(count_entries(), 0, "the check leaves nothing behind");
	cr_expect_eq(safefile_check(in_dir("missing/report")), -ENOENT);
	cr_expect_eq(safefile_check(dir), -EISDIR);
	cr_expect_eq(safefile_check(in_dir("")), -EISDIR, "a path ending in /");
	cr_expect_eq(safefile_check(""), -ENOENT);
	put(in_dir("file"), "x");
	cr_expect_eq(safefile_check(in_dir("file/report")), -ENOTDIR);
	cr_expect_eq(safefile_check_dir(dir), 0);
	cr_expect_eq(safefile_check_dir(in_dir("file")), -ENOTDIR);
	cr_expect_eq(safefile_check_dir(in_dir("missing")), -ENOENT);
	cr_expect_eq(safefile_write_at(dir, "a/b", SAFEFILE_MODE, fill_hello, NULL), -EINVAL);
	cr_expect_eq(safefile_write_at(dir, "..", SAFEFILE_MODE, fill_hello, NULL), -EINVAL);
}

static bool is_chardev(const char *path)
{
	struct stat st;

	return !lstat(path, &st) && S_ISCHR(st.st_mode);
}

/* -o /dev/null: written in place, never replaced by a regular file. */
Test(safefile, device_written_in_place)
{
	cr_assert(is_chardev("/dev/null"));
	cr_expect_eq(safefile_check("/dev/null"), 0);
	cr_expect_eq(safefile_write("/dev/null", SAFEFILE_MODE, fill_hello, NULL), 0);
	cr_expect(is_chardev("/dev/null"), "/dev/null is no longer a device");
}

/* A FIFO: written in place when someone reads it; nobody reading is an
 * error at once (ENXIO), not a writer blocked forever. */
Test(safefile, fifo_written_in_place_or_refused)
{
	char buf[64];
	struct stat st;
	ssize_t n;
	int rd;

	cr_assert_eq(mkfifo(in_dir("fifo"), 0600), 0, "mkfifo: %s", strerror(errno));
	cr_expect_eq(safefile_write(in_dir("fifo"), SAFEFILE_MODE, fill_hello, NULL), -ENXIO);

	rd = open(in_dir("fifo"), O_RDONLY | O_NONBLOCK);
	cr_assert(rd >= 0, "open fifo: %s", strerror(errno));
	cr_expect_eq(safefile_write(in_dir("fifo"), SAFEFILE_MODE, fill_hello, NULL), 0);
	n = read(rd, buf, sizeof(buf) - 1);
	close(rd);
	cr_assert_eq(n, 6, "read %zd bytes from the fifo", n);
	buf[n] = 0;
	cr_expect_str_eq(buf, "hello\n");
	cr_expect(!lstat(in_dir("fifo"), &st) && S_ISFIFO(st.st_mode), "the fifo was replaced");
	cr_expect_eq(count_entries(), 1, "nothing else left in the directory");
}

/* A symlink root owns (/dev/stdout, /proc/self/fd/1) is followed: nobody
 * else can have planted it.  A regular file behind it is rewritten. */
Test(safefile, root_symlink_followed)
{
	struct stat st;

	if (geteuid() != 0) {
		/* CI runs as root: there, not being root is a failure */
		cr_assert(!getenv("CI") || strcmp(getenv("CI"), "true"),
			  "a root-owned symlink needs root, and CI=true: run as root");
		cr_skip_test("needs root to own a symlink (under CI=true this fails instead)");
	}
	put(in_dir("out"), "old contents, longer than the new\n");
	cr_assert_eq(symlink(in_dir("out"), in_dir("link")), 0);
	cr_expect_eq(safefile_check(in_dir("link")), 0);
	cr_expect_eq(safefile_write(in_dir("link"), SAFEFILE_MODE, fill_hello, NULL), 0);
	cr_expect(!lstat(in_dir("link"), &st) && S_ISLNK(st.st_mode), "the link was replaced");
	cr_expect_str_eq(get(in_dir("out")), "hello\n");
	/* to a directory: refused */
	cr_assert_eq(symlink("/tmp", in_dir("dirlink")), 0);
	cr_expect_eq(safefile_check(in_dir("dirlink")), -EISDIR);
}

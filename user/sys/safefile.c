// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "safefile.h"

/* Names drawn before giving up: 64 random bits each, so only a directory
 * full of planted names (or a broken random source) gets that far. */
#define TRIES 64

#define TMP_NAME_LEN 40

static uint64_t (*random_source)(void);

void safefile_set_random(uint64_t (*fn)(void))
{
	random_source = fn;
}

static void tmp_name(char name[TMP_NAME_LEN])
{
	uint64_t r;

	if (random_source) {
		r = random_source();
	} else if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r)) {
		struct timespec ts;

		/* no entropy yet (early boot): unpredictable enough, and
		 * O_EXCL keeps it safe either way */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		r = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40);
	}
	snprintf(name, TMP_NAME_LEN, ".leakwatch-%016" PRIx64 ".tmp", r);
}

/* A new file in dirfd under a fresh random name: fd or -Exxx. */
static int create_tmp(int dirfd, mode_t mode, char name[TMP_NAME_LEN])
{
	int fd = -EEXIST, i;

	for (i = 0; i < TRIES && fd == -EEXIST; i++) {
		tmp_name(name);
		fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd < 0)
			fd = -errno;
	}
	if (fd < 0)
		return fd;
	/* exactly mode: the umask could only have taken bits away */
	if (fchmod(fd, mode)) {
		int err = -errno;

		close(fd);
		unlinkat(dirfd, name, 0);
		return err;
	}
	return fd;
}

static bool is_component(const char *name)
{
	return *name && strcmp(name, ".") && strcmp(name, "..") && !strchr(name, '/');
}

/*
 * What is at name in dirfd.  A stream (a character device such as
 * /dev/null or a terminal, a FIFO, a socket) is written in place: renaming
 * a file over it would put a regular file where the device was.  So is
 * what a symlink owned by root leads to (/dev/stdout, /proc/self/fd/N):
 * root made it, nobody else can have planted it.  Any other symlink, a
 * regular file or nothing: a new file renamed into place.
 */
enum target { TARGET_NEW, TARGET_STREAM, TARGET_DIR };

static enum target target_of(int dirfd, const char *name, bool *follow)
{
	struct stat st;

	*follow = false;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW))
		return TARGET_NEW;
	if (S_ISLNK(st.st_mode) && st.st_uid == 0) {
		if (fstatat(dirfd, name, &st, 0))
			return TARGET_NEW;	/* dangling: replaced */
		*follow = true;
		if (S_ISREG(st.st_mode))
			return TARGET_STREAM;	/* e.g. stdout redirected to a file */
	}
	if (S_ISDIR(st.st_mode))
		return TARGET_DIR;
	if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
		return TARGET_STREAM;
	return TARGET_NEW;
}

static int fill_and_close(FILE *f, safefile_fill_fn fill, void *ctx)
{
	int err = fill(f, ctx);

	if (!err && fflush(f))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

/* In place, without creating anything.  O_NONBLOCK: a FIFO nobody reads
 * is an error (ENXIO), never a leakwatch blocked in open. */
static int write_stream(int dirfd, const char *name, bool follow, safefile_fill_fn fill,
			void *ctx)
{
	int flags = O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC;
	struct stat st;
	FILE *f;
	int fd;

	fd = openat(dirfd, name, flags | (follow ? 0 : O_NOFOLLOW));
	if (fd < 0)
		return -errno;
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) ||
	    (!fstat(fd, &st) && S_ISREG(st.st_mode) && ftruncate(fd, 0))) {
		int err = -errno;

		close(fd);
		return err;
	}
	f = fdopen(fd, "w");
	if (!f) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fill_and_close(f, fill, ctx);
}

static int write_in(int dirfd, const char *name, mode_t mode, safefile_fill_fn fill, void *ctx)
{
	char tmp[TMP_NAME_LEN];
	bool follow;
	FILE *f;
	int fd, err;

	switch (target_of(dirfd, name, &follow)) {
	case TARGET_STREAM:
		return write_stream(dirfd, name, follow, fill, ctx);
	case TARGET_DIR:
		return -EISDIR;
	case TARGET_NEW:
		break;
	}
	fd = create_tmp(dirfd, mode, tmp);
	if (fd < 0)
		return fd;
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		close(fd);
		goto cleanup;
	}
	err = fill(f, ctx);
	if (!err && fflush(f))
		err = -errno;
	/* on disk before the rename: after a crash, the old file or the
	 * whole new one, never an empty one */
	if (!err && fsync(fd))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && renameat(dirfd, tmp, dirfd, name))
		err = -errno;
cleanup:
	if (err)
		unlinkat(dirfd, tmp, 0);
	return err;
}

int safefile_write_at(const char *dir, const char *name, mode_t mode, safefile_fill_fn fill,
		      void *ctx)
{
	int dirfd, err;

	if (!is_component(name))
		return -EINVAL;
	/* (the directory's own path is the user's: /dev/stdout's /dev) */
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	err = write_in(dirfd, name, mode, fill, ctx);
	close(dirfd);
	return err;
}

/* path split into a malloc'd directory and its last component (pointing
 * into path); a path ending in '/' names a directory. */
static int split(const char *path, char **dir, const char **name)
{
	const char *slash = strrchr(path, '/');

	if (!*path)
		return -ENOENT;
	*name = slash ? slash + 1 : path;
	if (!is_component(*name))
		return -EISDIR;
	if (!slash)
		*dir = strdup(".");
	else if (slash == path)
		*dir = strdup("/");
	else
		*dir = strndup(path, (size_t)(slash - path));
	return *dir ? 0 : -ENOMEM;
}

int safefile_write(const char *path, mode_t mode, safefile_fill_fn fill, void *ctx)
{
	const char *name;
	char *dir;
	int err = split(path, &dir, &name);

	if (err)
		return err;
	err = safefile_write_at(dir, name, mode, fill, ctx);
	free(dir);
	return err;
}

/* Whether dirfd takes a new file: one is created and removed. */
static int probe_dir(int dirfd)
{
	char tmp[TMP_NAME_LEN];
	int fd = create_tmp(dirfd, SAFEFILE_MODE, tmp);

	if (fd < 0)
		return fd;
	close(fd);
	unlinkat(dirfd, tmp, 0);
	return 0;
}

int safefile_check_dir(const char *dir)
{
	int dirfd, err;

	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	err = probe_dir(dirfd);
	close(dirfd);
	return err;
}

int safefile_check(const char *path)
{
	struct statx dst, st;
	const char *name;
	bool follow;
	char *dir;
	int dirfd, err = split(path, &dir, &name);

	if (err)
		return err;
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (dirfd < 0)
		return -errno;
	switch (target_of(dirfd, name, &follow)) {
	case TARGET_STREAM:
		goto cleanup;	/* written in place: nothing is created */
	case TARGET_DIR:
		err = -EISDIR;
		goto cleanup;
	case TARGET_NEW:
		break;
	}
	if (statx(dirfd, "", AT_EMPTY_PATH, STATX_MNT_ID, &dst)) {
		err = -errno;
		goto cleanup;
	}
	/* the mount, not st_dev: overlayfs (containers) gives a directory
	 * and the files in it different st_dev */
	if (!statx(dirfd, name, AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_MNT_ID, &st)) {
		if (S_ISDIR(st.stx_mode))
			err = -EISDIR;
		else if ((st.stx_mask & dst.stx_mask & STATX_MNT_ID) &&
			 st.stx_mnt_id != dst.stx_mnt_id)
			err = -EXDEV;	/* a file mounted over: rename fails */
	} else if (errno != ENOENT) {
		err = -errno;
	}
	if (!err)
		err = probe_dir(dirfd);
cleanup:
	close(dirfd);
	return err;
}

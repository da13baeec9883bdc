/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Every file leakwatch writes goes through here.  leakwatch runs as root
 * and writes into directories other users may write to, so a file is
 * never opened by a name someone else could have planted:
 *
 *  - the content goes to a new file created with O_CREAT|O_EXCL|O_NOFOLLOW
 *    under a random name in the target's own directory (a symlink or file
 *    already there makes the create fail, and another name is drawn), with
 *    the mode asked for, whatever the umask;
 *  - once complete and flushed to disk, it is renamed over the target:
 *    readers see the old file or the whole new one, and a symlink at the
 *    target's name is replaced, not followed.
 *
 * Written in place instead, as described at target_of() in safefile.c: a
 * device, FIFO or socket (-o /dev/null), and what a symlink owned by root
 * leads to (-o /dev/stdout).
 *
 * The directory is opened once and every step is relative to it, so a
 * directory renamed meanwhile cannot redirect the rename.  Errors keep
 * their errno (ENOSPC reads "No space left on device").
 */
#ifndef LW_SAFEFILE_H
#define LW_SAFEFILE_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* Reports and postmortems are for root to read unless told otherwise. */
#define SAFEFILE_MODE 0600

/* Writes the content of a file: 0 or -Exxx (the write's errno). */
typedef int (*safefile_fill_fn)(FILE *f, void *ctx);

/*
 * Writes dir/name (name: one path component) as described above.  0 or
 * -Exxx; on failure nothing is left behind and an existing dir/name is
 * untouched.
 */
int safefile_write_at(const char *dir, const char *name, mode_t mode, safefile_fill_fn fill,
		      void *ctx);
/* The same for a path ("report.json", "/var/tmp/r.txt"). */
int safefile_write(const char *path, mode_t mode, safefile_fill_fn fill, void *ctx);

/*
 * Checks at start, before anything is traced, that safefile_write(path)
 * can succeed: its directory exists and takes a new file (one is created
 * and removed), path is not a directory, and path is on the directory's
 * filesystem (not a mount point, which rename cannot replace).  0 or -Exxx
 * (ENOENT, ENOTDIR, EISDIR, EROFS, EACCES, EXDEV...).
 */
int safefile_check(const char *path);
/* The same for a directory that will receive files. */
int safefile_check_dir(const char *dir);

/* Tests only: where the temporary names' 64 random bits come from (NULL:
 * getrandom), so that a test can plant symlinks at the names drawn.  The
 * name is ".leakwatch-%016" PRIx64 ".tmp". */
void safefile_set_random(uint64_t (*fn)(void));

#endif /* LW_SAFEFILE_H */

/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Readers of /proc/PID files.  The parsers work on text so that they are
 * unit-tested on fixed input; the readers open the files of a live process.
 * All return 0 or -Exxx (-ENOENT when the process is gone).
 */
#ifndef LW_PROCFS_H
#define LW_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_map {
	uint64_t start;
	uint64_t end;
	uint64_t offset;
	uint64_t inode;
	unsigned int dev_major;
	unsigned int dev_minor;
	char perms[5];		/* "r-xp" */
	char *path;		/* malloc'd; NULL for anonymous mappings */
	bool deleted;		/* path had a " (deleted)" suffix (removed from path) */
};

struct proc_maps {
	struct proc_map *maps;
	size_t n;
};

/* Parse one line of /proc/PID/maps (up to its newline, if any).
 * Returns 0, -EINVAL or -ENOMEM; *out is written only on success. */
int procfs_parse_maps_line(const char *line, struct proc_map *out);
/* Parse a whole maps text.  Returns 0, -EINVAL or -ENOMEM (out untouched). */
int procfs_parse_maps(const char *text, struct proc_maps *out);
/* pid's mappings, their paths as pid sees them (procfs_unroot). */
int procfs_read_maps(pid_t pid, struct proc_maps *out);
void proc_maps__free(struct proc_maps *m);	/* accepts NULL and zeroed */

/*
 * The kernel prints the paths of /proc/PID/maps and /proc/PID/root as the
 * reader sees them; when pid's root is somewhere else (chroot, or a mount
 * namespace whose root the reader cannot reach), its files carry the path
 * of its root in front.  procfs_read_root gives that prefix, "" when pid's
 * root is the reader's "/"; *out malloc'd.  -ENOENT when pid is gone or a
 * zombie.
 */
int procfs_read_root(pid_t pid, char **out);
/* path as seen by a process whose root reads as root: path without root
 * when it lies below it, else path itself.  Points into path. */
const char *procfs_unroot(const char *root, const char *path);

/* /proc/PID/comm without the newline; *out malloc'd. */
int procfs_read_comm(pid_t pid, char **out);
/* /proc/PID/cmdline with NULs turned into spaces (trailing ones dropped:
 * "sleep\0" "5\0" gives "sleep 5"); *out malloc'd, "" for kernel threads. */
int procfs_read_cmdline(pid_t pid, char **out);

/* Parse the text of /proc/PID/stat for the state letter and parent pid
 * (comm may hold spaces and parentheses: the last ')' ends it). */
int procfs_parse_stat(const char *text, char *state, pid_t *ppid);
/* The flags field of the same text (PF_*: PF_KTHREAD marks a kernel
 * thread, which has no user memory). */
#define PROCFS_PF_KTHREAD 0x00200000u
int procfs_parse_stat_flags(const char *text, unsigned int *flags);
/* pid's state letter, parent and flags (each may be NULL). */
int procfs_read_stat(pid_t pid, char *state, pid_t *ppid, unsigned int *flags);
/* 0 when pid exists and is not a zombie; -ENOENT when it is a zombie or
 * gone; another -Exxx when its stat file cannot be read or parsed. */
int procfs_process_alive(pid_t pid);

/* Whether the comma-separated list [s, s + len) has word (the controllers
 * of a /proc/PID/cgroup line, mount options). */
bool procfs_list_has(const char *s, size_t len, const char *word);

/* Read a whole small file (from /proc or /sys) into a malloc'd string,
 * NUL-terminated; *len (len may be NULL) gets the bytes read, which may
 * include NULs.  Files that report a size of 0 are read until EOF. */
int procfs_read_file(const char *path, char **out, size_t *len);
/* The same from an open file, to its end: at most max bytes (0: no
 * limit), -EFBIG past them. */
int procfs_read_fd(int fd, size_t max, char **out, size_t *len);

#endif /* LW_PROCFS_H */

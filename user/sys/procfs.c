// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * /proc/PID readers and their text parsers.  The parsers take the text as
 * the kernel prints it (fs/proc/task_mmu.c show_map_vma(), fs/proc/array.c
 * do_task_stat()) and check every field instead of trusting sscanf.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "procfs.h"
#include "vec.h"

#define DELETED_SUFFIX " (deleted)"

/* Size of the first read: most /proc files report a size of 0. */
#define READ_CHUNK 4096

/* Parses at least one hex digit at *p, without sign or spaces. */
static int parse_hex(const char **p, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;
	int d;

	for (;; s++) {
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			break;
		if (x > UINT64_MAX >> 4)
			return -EINVAL;
		x = x << 4 | (uint64_t)d;
	}
	if (s == *p)
		return -EINVAL;
	*v = x;
	*p = s;
	return 0;
}

static int parse_dec(const char **p, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;

	for (; *s >= '0' && *s <= '9'; s++) {
		if (x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -EINVAL;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	if (s == *p)
		return -EINVAL;
	*v = x;
	*p = s;
	return 0;
}

static int expect(const char **p, char c)
{
	if (**p != c)
		return -EINVAL;
	(*p)++;
	return 0;
}

int procfs_parse_maps_line(const char *line, struct proc_map *out)
{
	struct proc_map m = { 0 };
	const char *p = line, *path, *eol;
	uint64_t major, minor;
	size_t len, i;

	if (parse_hex(&p, &m.start) || expect(&p, '-') || parse_hex(&p, &m.end) ||
	    expect(&p, ' '))
		return -EINVAL;
	for (i = 0; i < 4; i++) {
		if (!p[i] || !strchr("rwxsp-", p[i]))
			return -EINVAL;
		m.perms[i] = p[i];
	}
	p += 4;
	if (expect(&p, ' ') || parse_hex(&p, &m.offset) || expect(&p, ' ') ||
	    parse_hex(&p, &major) || expect(&p, ':') || parse_hex(&p, &minor) ||
	    expect(&p, ' ') || parse_dec(&p, &m.inode))
		return -EINVAL;
	if (m.end < m.start || major > UINT32_MAX || minor > UINT32_MAX)
		return -EINVAL;
	m.dev_major = major;
	m.dev_minor = minor;

	eol = strchrnul(p, '\n');
	if (p != eol && *p != ' ')
		return -EINVAL;
	/* the kernel pads to a column before the path; the path itself may
	 * hold spaces, so everything after the padding up to the newline is it */
	for (path = p; *path == ' '; path++)
		;
	len = eol - path;
	if (len) {
		if (len > strlen(DELETED_SUFFIX) &&
		    !memcmp(eol - strlen(DELETED_SUFFIX), DELETED_SUFFIX,
			    strlen(DELETED_SUFFIX))) {
			m.deleted = true;
			len -= strlen(DELETED_SUFFIX);
		}
		m.path = strndup(path, len);
		if (!m.path)
			return -ENOMEM;
	}
	*out = m;
	return 0;
}

int procfs_parse_maps(const char *text, struct proc_maps *out)
{
	struct proc_maps res = { 0 };
	const char *line, *eol;
	size_t cap = 0;
	int err = 0;

	for (line = text; *line; line = *eol ? eol + 1 : eol) {
		eol = strchrnul(line, '\n');
		if (eol == line)
			continue;
		if (lw_vec_reserve(res.maps, cap, res.n + 1)) {
			err = -ENOMEM;
			goto cleanup;
		}
		err = procfs_parse_maps_line(line, &res.maps[res.n]);
		if (err) {
			lw_debug("procfs: bad maps line: %.*s\n", (int)(eol - line), line);
			goto cleanup;
		}
		res.n++;
	}
	*out = res;
	return 0;

cleanup:
	proc_maps__free(&res);
	return err;
}

void proc_maps__free(struct proc_maps *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->n; i++)
		free(m->maps[i].path);
	free(m->maps);
	m->maps = NULL;
	m->n = 0;
}

bool procfs_list_has(const char *s, size_t len, const char *word)
{
	size_t wl = strlen(word);
	const char *end = s + len;

	while (s < end) {
		const char *comma = memchr(s, ',', end - s);
		size_t n = comma ? (size_t)(comma - s) : (size_t)(end - s);

		if (n == wl && !memcmp(s, word, wl))
			return true;
		s += n + 1;
	}
	return false;
}

/* A pid's file that has vanished or belongs to an exited process. */
static int gone_to_enoent(int err)
{
	return err == -ESRCH ? -ENOENT : err;
}

int procfs_read_fd(int fd, size_t max, char **out, size_t *len)
{
	size_t cap = READ_CHUNK, n = 0;
	char *buf = NULL, *tmp;
	ssize_t r;
	int err = 0;

	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		/* keep one byte for the terminating NUL */
		if (n + 1 >= cap) {
			if (cap > SIZE_MAX / 2 || (max && n >= max)) {
				err = -EFBIG;
				goto cleanup;
			}
			cap *= 2;
			tmp = realloc(buf, cap);
			if (!tmp) {
				err = -ENOMEM;
				goto cleanup;
			}
			buf = tmp;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = gone_to_enoent(-errno);
			goto cleanup;
		}
		if (r == 0)
			break;
		n += r;
	}
	if (max && n > max) {
		err = -EFBIG;
		goto cleanup;
	}
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	buf = NULL;

cleanup:
	free(buf);
	return err;
}

int procfs_read_file(const char *path, char **out, size_t *len)
{
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return gone_to_enoent(-errno);
	err = procfs_read_fd(fd, 0, out, len);
	close(fd);
	return err;
}

/* Reads /proc/PID/name.  The path is ours and bounded, not user input. */
static int read_pid_file(pid_t pid, const char *name, char **out, size_t *len)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	return procfs_read_file(path, out, len);
}

int procfs_read_root(pid_t pid, char **out)
{
	char link[64], buf[4096];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/root", (int)pid);
	n = readlink(link, buf, sizeof(buf) - 1);
	if (n < 0)
		return gone_to_enoent(-errno);
	/* "/" has nothing to take away */
	if (n == 1 || buf[0] != '/')
		n = 0;
	buf[n] = '\0';
	*out = strdup(buf);
	return *out ? 0 : -ENOMEM;
}

const char *procfs_unroot(const char *root, const char *path)
{
	size_t n = root ? strlen(root) : 0;

	if (!n || !path || strncmp(path, root, n) || path[n] != '/')
		return path;
	return path + n;
}

int procfs_read_maps(pid_t pid, struct proc_maps *out)
{
	char *text = NULL, *root;
	size_t i;
	int err;

	err = read_pid_file(pid, "maps", &text, NULL);
	err = err ?: procfs_parse_maps(text, out);
	/* a zombie has no root, and no mappings either */
	if (!err && !procfs_read_root(pid, &root)) {
		for (i = 0; *root && i < out->n; i++) {
			char *path = out->maps[i].path;
			const char *seen = procfs_unroot(root, path);

			if (seen != path)
				memmove(path, seen, strlen(seen) + 1);
		}
		free(root);
	}
	free(text);
	return err;
}

int procfs_read_comm(pid_t pid, char **out)
{
	size_t len;
	int err;

	err = read_pid_file(pid, "comm", out, &len);
	if (err)
		return err;
	if (len && (*out)[len - 1] == '\n')
		(*out)[len - 1] = '\0';
	return 0;
}

int procfs_read_cmdline(pid_t pid, char **out)
{
	size_t len, i;
	char *s;
	int err;

	err = read_pid_file(pid, "cmdline", &s, &len);
	if (err)
		return err;
	/* every argument ends with a NUL; processes that rewrite their
	 * arguments (setproctitle) leave more of them as padding */
	while (len && s[len - 1] == '\0')
		len--;
	for (i = 0; i < len; i++) {
		if (s[i] == '\0')
			s[i] = ' ';
	}
	s[len] = '\0';
	*out = s;
	return 0;
}

int procfs_parse_stat(const char *text, char *state, pid_t *ppid)
{
	const char *p;
	uint64_t v;

	/* comm is "(...)" and may itself hold ')': the last one closes it */
	p = strrchr(text, ')');
	if (!p || !strchr(text, '('))
		return -EINVAL;
	p++;
	if (expect(&p, ' ') || !*p || *p == ' ')
		return -EINVAL;
	if (state)
		*state = *p;
	p++;
	if (expect(&p, ' ') || parse_dec(&p, &v) || v > INT32_MAX)
		return -EINVAL;
	if (ppid)
		*ppid = (pid_t)v;
	return 0;
}

int procfs_parse_stat_flags(const char *text, unsigned int *flags)
{
	const char *p;
	uint64_t v;
	int i;

	if (procfs_parse_stat(text, NULL, NULL))
		return -EINVAL;
	p = strrchr(text, ')') + 3;	/* past ") S" */
	/* ppid, pgrp, session, tty_nr, tpgid (may be -1), then flags */
	for (i = 0; i < 5; i++) {
		if (expect(&p, ' '))
			return -EINVAL;
		if (*p == '-')
			p++;
		if (parse_dec(&p, &v))
			return -EINVAL;
	}
	if (expect(&p, ' ') || parse_dec(&p, &v) || v > UINT32_MAX)
		return -EINVAL;
	*flags = (unsigned int)v;
	return 0;
}

int procfs_read_stat(pid_t pid, char *state, pid_t *ppid, unsigned int *flags)
{
	char *text = NULL;
	int err;

	err = read_pid_file(pid, "stat", &text, NULL);
	if (err)
		return err;
	err = procfs_parse_stat(text, state, ppid);
	if (!err && flags)
		err = procfs_parse_stat_flags(text, flags);
	free(text);
	return err;
}

int procfs_process_alive(pid_t pid)
{
	char *text = NULL;
	char state;
	int err;

	err = read_pid_file(pid, "stat", &text, NULL);
	if (err)
		return err;
	err = procfs_parse_stat(text, &state, NULL);
	free(text);
	if (err)
		return err;
	/* a zombie has exited, only its parent has not reaped it yet */
	return state == 'Z' || state == 'X' ? -ENOENT : 0;
}

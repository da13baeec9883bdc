// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procfs.h"
#include "procscan.h"

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return x < y ? -1 : x > y;
}

int procscan_list(const char *proc_dir, pid_t **pids, size_t *n)
{
	size_t cap = 0, len = 0;
	pid_t *v = NULL, *grown;
	struct dirent *e;
	DIR *d;
	int err = 0;

	d = opendir(proc_dir);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		const char *s = e->d_name;
		long pid = 0;

		if (*s < '1' || *s > '9')
			continue;
		for (; *s >= '0' && *s <= '9' && pid < (1L << 31); s++)
			pid = pid * 10 + (*s - '0');
		if (*s || pid >= (1L << 31))
			continue;
		if (len == cap) {
			cap = cap ? cap * 2 : 256;
			grown = realloc(v, cap * sizeof(*v));
			if (!grown) {
				err = -ENOMEM;
				goto cleanup;
			}
			v = grown;
		}
		v[len++] = (pid_t)pid;
	}
	qsort(v, len, sizeof(*v), cmp_pid);
	*pids = v;
	*n = len;
	v = NULL;
cleanup:
	free(v);
	closedir(d);
	return err;
}

int procscan_parse_name(const char *status, char name[16])
{
	const char *p;
	size_t n = 0;

	if (strncmp(status, "Name:", 5))
		return -EINVAL;
	p = status + 5;
	while (*p == '\t' || *p == ' ')
		p++;
	/* fs/proc/array.c proc_task_name: "\n" and "\\" are escaped */
	for (; *p && *p != '\n' && n < 15; p++) {
		if (*p == '\\' && p[1] == 'n')
			name[n++] = '\n', p++;
		else if (*p == '\\' && p[1] == '\\')
			name[n++] = '\\', p++;
		else
			name[n++] = *p;
	}
	name[n] = '\0';
	return 0;
}

int procscan_read(const char *proc_dir, pid_t pid, char name[16], struct rss_status *st)
{
	char path[4096], *text = NULL;
	int err;

	if ((size_t)snprintf(path, sizeof(path), "%s/%d/status", proc_dir, (int)pid) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	err = procfs_read_file(path, &text, NULL);
	if (err)
		return err == -ESRCH ? -ENOENT : err;
	err = procscan_parse_name(text, name);
	if (!err)
		err = rss_parse_status(text, st);
	free(text);
	return err;
}

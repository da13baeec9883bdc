// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The --watch sampler: /proc/PID/status's name as the kernel escapes it
 * (fs/proc/array.c), and the listing and reading of this very process. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "procscan.h"

Test(procscan, name_unescaped_and_bounded)
{
	char name[16];

	cr_assert_eq(procscan_parse_name("Name:\tleaker\nUmask:\t0022\n", name), 0);
	cr_assert_str_eq(name, "leaker");
	cr_assert_eq(procscan_parse_name("Name:\ta\\nb\\\\c\n", name), 0);
	cr_assert_str_eq(name, "a\nb\\c");
	cr_assert_eq(procscan_parse_name("Name:\t0123456789abcdefXYZ\n", name), 0);
	cr_assert_str_eq(name, "0123456789abcde");
	cr_assert_eq(procscan_parse_name("Umask:\t0022\n", name), -EINVAL);
}

Test(procscan, lists_and_reads_this_process)
{
	struct rss_status st;
	pid_t *pids = NULL;
	size_t n = 0, i;
	char name[16];
	void *p = malloc(8 << 20);

	for (i = 0; i < (8 << 20); i += 4096)
		((volatile char *)p)[i] = 1;
	cr_assert_eq(procscan_list("/proc", &pids, &n), 0);
	for (i = 0; i < n && pids[i] != getpid(); i++)
		if (i)
			cr_assert_lt(pids[i - 1], pids[i]);
	cr_assert_lt(i, n, "this process is not in /proc's listing");
	cr_assert_eq(procscan_read("/proc", getpid(), name, &st), 0);
	cr_assert_geq(st.anon, 8 << 20);
	cr_assert_eq(procscan_read("/proc", 0, name, &st), -ENOENT);
	cr_assert_eq(procscan_list("/no/such/proc", &pids, &n), -ENOENT);
	free(pids);
	free(p);
}

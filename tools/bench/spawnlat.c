// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * spawnlat: how long an unrelated process takes to start and finish:
 * posix_spawn of /bin/true and its waitpid, COUNT times, GAP_MS apart (or
 * until the process PID has exited, when given).  Prints one line:
 * "N MEDIAN_US MAX_US".
 *
 * Usage: spawnlat COUNT GAP_MS [PID]
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Whether pid is gone or a zombie (not reaped by us). */
static int gone(pid_t pid)
{
	char path[64], state = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 1;
	if (fscanf(f, "%*d (%*[^)]) %c", &state) != 1)
		state = 'Z';
	fclose(f);
	return state == 'Z' || state == 'X';
}

int main(int argc, char **argv)
{
	char *args[] = { "/bin/true", NULL };
	struct timespec gap;
	long count, i;
	pid_t watch;
	double *lat;

	if (argc < 3) {
		fprintf(stderr, "usage: spawnlat COUNT GAP_MS [PID]\n");
		return 2;
	}
	count = atol(argv[1]);
	gap.tv_sec = atol(argv[2]) / 1000;
	gap.tv_nsec = atol(argv[2]) % 1000 * 1000000L;
	watch = argc > 3 ? atoi(argv[3]) : 0;
	lat = calloc(count > 0 ? count : 1, sizeof(*lat));
	if (!lat || count <= 0)
		return 2;
	for (i = 0; i < count && !(watch && gone(watch)); i++) {
		double t0 = now_us();
		pid_t pid;
		int status;

		if (posix_spawn(&pid, args[0], NULL, NULL, args, environ)) {
			perror("spawnlat: posix_spawn");
			return 1;
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "spawnlat: /bin/true failed\n");
			return 1;
		}
		lat[i] = now_us() - t0;
		nanosleep(&gap, NULL);
	}
	if (!i) {
		fprintf(stderr, "spawnlat: nothing measured\n");
		return 1;
	}
	qsort(lat, i, sizeof(*lat), cmp);
	printf("%ld %.0f %.0f\n", i, lat[i / 2], lat[i - 1]);
	return 0;
}

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bigheap N: holds N live 16-byte blocks, allocated flat out from
 * hold_blocks, then exits without freeing them.  The scale check traces it
 * to see that leakwatch keeps up (no lost records) and what leakwatch
 * itself spends per live block.
 */
#include <stdio.h>
#include <stdlib.h>

static void **blocks;

__attribute__((noinline)) static void hold_blocks(long n)
{
	for (long i = 0; i < n; i++)
		blocks[i] = malloc(16);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10000000;

	if (n <= 0) {
		fprintf(stderr, "usage: bigheap N (N > 0)\n");
		return 2;
	}
	blocks = calloc(n, sizeof(*blocks));
	if (!blocks)
		return 1;
	hold_blocks(n);
	return 0;
}

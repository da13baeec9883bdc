/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The hash functions every table in leakwatch uses.  Keys here are heap
 * and code addresses (high bits shared, low bits zero), pids and stack ids
 * (small integers): lw_hash64 spreads every input bit over the whole
 * result, so a table may take its index from the low bits (& mask) or the
 * high bits (multiply-shift) alike.
 */
#ifndef LW_HASH_H
#define LW_HASH_H

#include <stddef.h>
#include <stdint.h>

/* murmur3's 64-bit finalizer (fmix64): a bijection, so distinct keys never
 * collide before the table reduces them. */
static inline uint64_t lw_hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* Two keys into one hash (order matters). */
static inline uint64_t lw_hash_pair(uint64_t a, uint64_t b)
{
	return lw_hash64(a ^ lw_hash64(b));
}

/* FNV-1a over a NUL-terminated string. */
static inline uint64_t lw_hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

#endif /* LW_HASH_H */

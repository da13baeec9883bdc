/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The struct that embeds member at ptr. */
#ifndef LW_CONTAINER_OF_H
#define LW_CONTAINER_OF_H

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - __builtin_offsetof(type, member)))

#endif /* LW_CONTAINER_OF_H */

/*
 * Whether a buffer holds only zero bytes: the test snapshots, migration and
 * forks make of each page or disk chunk to leave it a hole or a zero-page
 * record instead of writing it.
 */
#ifndef NIMBUS_LIB_ZERO_H
#define NIMBUS_LIB_ZERO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline bool bytes_are_zero(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {   /* (memcpy: any alignment) */
		uint64_t w;
		memcpy(&w, p + i, 8);
		if (w)
			return false;
	}
	for (; i < len; i++)
		if (p[i])
			return false;
	return true;
}

#endif

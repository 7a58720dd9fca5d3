/*
 * Human-readable byte sizes: "256M", "1G", "512K", "4096" (bytes when no
 * suffix and the value is not a plain MiB count -- see parse_size), as users
 * type them for --mem and disk sizes.  Binary units (K = 1024).
 */
#ifndef NIMBUS_LIB_SIZE_H
#define NIMBUS_LIB_SIZE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parses s into *bytes.  Accepts an unsigned integer with an optional suffix
 * K, M, G, T (case-insensitive, optional trailing "B" or "iB").  A bare
 * number means `default_unit` bytes per unit (QEMU's -m takes MiB).
 * Returns 0, or -EINVAL (malformed) / -ERANGE (overflows 64 bits).
 */
int parse_size(const char *s, uint64_t default_unit, uint64_t *bytes);

/* Formats bytes as "23.4 GiB" / "256 MiB" / "512 B" into buf. */
const char *format_size(uint64_t bytes, char *buf, size_t len);

#endif

/*
 * The translated-code store of one hart: a bump allocator over one memfd
 * mapped twice, writable at `rw` and executable at `rx`, so no page is ever
 * writable and executable at once (W^X holds on hardened hosts; see
 * code_cache.c for the mprotect fallback).  Code is written through rw and
 * run, and jumped to, at the rx address of the same offset.
 *
 * Eviction is all-at-once (code_cache_reset): translations link to each
 * other by patched jumps, and dropping everything together is the one
 * eviction that can never leave a jump pointing into reused memory.
 */
#ifndef NIMBUS_VMM_CPU_JIT_CODE_CACHE_H
#define NIMBUS_VMM_CPU_JIT_CODE_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct code_cache {
	uint8_t *rw;          /* writable view */
	uint8_t *rx;          /* executable view of the same bytes */
	size_t size, used;
	int fd;               /* -1 once mapped (mprotect mode keeps rw == rx) */
	unsigned resets;      /* times everything was dropped */
};

/* Maps `size` bytes (rounded to pages); 0 or -errno. */
int code_cache_init(struct code_cache *cc, size_t size);
void code_cache_destroy(struct code_cache *cc);

/* The writable address of `n` free bytes (16-byte aligned), or NULL when full. */
uint8_t *code_cache_reserve(struct code_cache *cc, size_t n);
/* Keeps the first `n` bytes of the last reservation. */
void code_cache_commit(struct code_cache *cc, const uint8_t *start, size_t n);
void code_cache_reset(struct code_cache *cc);

static inline uint8_t *code_cache_exec_addr(const struct code_cache *cc, const uint8_t *w)
{
	return cc->rx + (w - cc->rw);
}

static inline uint8_t *code_cache_write_addr(const struct code_cache *cc, const uint8_t *x)
{
	return cc->rw + (x - cc->rx);
}

#endif

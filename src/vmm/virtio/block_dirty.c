/*
 * The dirty-chunk bitmap of a disk under storage migration (block_dirty.h).
 * Words are atomics: the I/O thread sets bits while the copier clears them.
 */
#include "vmm/virtio/block_dirty.h"

#include <errno.h>
#include <stdlib.h>

int block_dirty_init(struct block_dirty *d, uint64_t size)
{
	d->size = size;
	d->chunks = (size + BLOCK_DIRTY_CHUNK - 1) / BLOCK_DIRTY_CHUNK;
	d->bits = calloc(d->chunks / 64 + 1, sizeof *d->bits);
	return d->bits ? 0 : -ENOMEM;
}

void block_dirty_free(struct block_dirty *d)
{
	free((void *)d->bits);
	d->bits = NULL;
}

void block_dirty_mark(struct block_dirty *d, uint64_t off, uint64_t len)
{
	if (!len || off >= d->size)
		return;
	if (len > d->size - off)
		len = d->size - off;
	for (uint64_t c = off / BLOCK_DIRTY_CHUNK; c <= (off + len - 1) / BLOCK_DIRTY_CHUNK; c++)
		atomic_fetch_or(&d->bits[c / 64], 1ull << (c % 64));
}

void block_dirty_mark_all(struct block_dirty *d)
{
	block_dirty_mark(d, 0, d->size);
}

bool block_dirty_take(struct block_dirty *d, uint64_t i)
{
	uint64_t bit = 1ull << (i % 64);
	return i < d->chunks && (atomic_fetch_and(&d->bits[i / 64], ~bit) & bit);
}

uint64_t block_dirty_next(const struct block_dirty *d, uint64_t from)
{
	for (uint64_t w = from / 64; w <= (d->chunks - 1) / 64 && from < d->chunks; w++) {
		uint64_t bits = atomic_load(&d->bits[w]);
		if (w == from / 64)
			bits &= ~0ull << (from % 64);
		if (bits) {
			uint64_t c = w * 64 + (uint64_t)__builtin_ctzll(bits);
			return c < d->chunks ? c : d->chunks;
		}
	}
	return d->chunks;
}

uint64_t block_dirty_count(const struct block_dirty *d)
{
	uint64_t n = 0;
	for (uint64_t w = 0; w < d->chunks / 64 + 1; w++)
		n += (uint64_t)__builtin_popcountll(atomic_load(&d->bits[w]));
	return n;
}

/*
 * Which parts of a disk were written since a point in time: a bitmap with
 * one bit per chunk (BLOCK_DIRTY_CHUNK bytes), for storage migration
 * (`migrate --copy-storage`, docs/migration.md).  The device marks a
 * range after its write, discard or write-zeroes has reached the backend;
 * the copier takes a chunk's bit before it reads the chunk.  So a write the
 * copier's read may have missed always leaves its bit set for the next
 * pass, and a final pass with the device quiesced leaves nothing behind.
 *
 * Marking and taking are lock-free (atomic bit operations), so the copier
 * and the device's I/O thread need no common lock for the bitmap itself.
 */
#ifndef NIMBUS_VMM_VIRTIO_BLOCK_DIRTY_H
#define NIMBUS_VMM_VIRTIO_BLOCK_DIRTY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define BLOCK_DIRTY_CHUNK (256u << 10)   /* as large as one migration frame carries */

struct block_dirty {
	uint64_t size;                  /* the disk's bytes */
	uint64_t chunks;
	_Atomic uint64_t *bits;
};

/* Every chunk clean.  0 or -ENOMEM. */
int block_dirty_init(struct block_dirty *d, uint64_t size);
void block_dirty_free(struct block_dirty *d);
/* Marks every chunk [off, off+len) touches (clipped to the disk). */
void block_dirty_mark(struct block_dirty *d, uint64_t off, uint64_t len);
/* Marks the whole disk (what a first full pass sends). */
void block_dirty_mark_all(struct block_dirty *d);
/* Clears chunk i's bit; true if it was set. */
bool block_dirty_take(struct block_dirty *d, uint64_t i);
/* The first dirty chunk at or after from, or d->chunks if none. */
uint64_t block_dirty_next(const struct block_dirty *d, uint64_t from);
/* How many chunks are dirty now. */
uint64_t block_dirty_count(const struct block_dirty *d);

#endif

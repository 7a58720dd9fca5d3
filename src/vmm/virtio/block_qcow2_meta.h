/*
 * Which host clusters of a qcow2 image hold its metadata: the header
 * cluster, the L1 table, the refcount table, L2 tables and refcount blocks.
 * The qcow2 backend asks it before it trusts an offset read from the image
 * (QEMU's "overlap checks", qcow2_check_metadata_overlap): a data cluster
 * that is metadata, or an L2 table that is the L1 table, means a corrupt or
 * hostile image, and guest data must never be written there.
 *
 * A sorted array of (cluster, kinds) pairs, 8 bytes per metadata cluster:
 * lookups are a binary search.  While the image is opened, clusters are
 * collected unsorted and qmeta_seal() sorts them once (a hostile L1 table
 * of 4 million entries in random order must not cost quadratic time);
 * after that each addition is put in place, which for clusters appended
 * at the end of the file is at the end of the array.
 */
#ifndef NIMBUS_VMM_VIRTIO_BLOCK_QCOW2_META_H
#define NIMBUS_VMM_VIRTIO_BLOCK_QCOW2_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum qmeta_kind {
	QMETA_HEADER = 1 << 0,
	QMETA_L1 = 1 << 1,
	QMETA_RT = 1 << 2,      /* refcount table */
	QMETA_L2 = 1 << 3,
	QMETA_RB = 1 << 4,      /* refcount block */
};

struct qmeta {
	uint64_t *e;            /* cluster << 5 | kinds; once sealed sorted, one per cluster */
	size_t n, cap;
	bool sealed;
};

/* Marks count clusters from first as kind.  0 or -ENOMEM. */
int qmeta_add(struct qmeta *m, uint64_t first, uint64_t count, unsigned kind);
/* Sorts and merges what was added so far; lookups need a sealed map. */
void qmeta_seal(struct qmeta *m);
/* The kinds of metadata in cluster c (0: none). */
unsigned qmeta_kinds(const struct qmeta *m, uint64_t c);
/* "the L1 table" etc., for messages: the first kind in kinds. */
const char *qmeta_name(unsigned kinds);
void qmeta_free(struct qmeta *m);

#endif

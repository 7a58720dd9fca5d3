/* See block_qcow2_meta.h. */
#include "vmm/virtio/block_qcow2_meta.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define KIND_BITS 5
#define KIND_MASK ((1u << KIND_BITS) - 1)

/* Index of the first entry whose cluster is >= c. */
static size_t lower_bound(const struct qmeta *m, uint64_t c)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->e[mid] >> KIND_BITS < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int add_one(struct qmeta *m, uint64_t c, unsigned kind)
{
	size_t i = !m->sealed || (m->n && m->e[m->n - 1] >> KIND_BITS < c) ? m->n : lower_bound(m, c);
	if (m->sealed && i < m->n && m->e[i] >> KIND_BITS == c) {
		m->e[i] |= kind;
		return 0;
	}
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		uint64_t *e = realloc(m->e, cap * sizeof *e);
		if (!e)
			return -ENOMEM;
		m->e = e;
		m->cap = cap;
	}
	memmove(m->e + i + 1, m->e + i, (m->n - i) * sizeof *m->e);
	m->e[i] = c << KIND_BITS | kind;
	m->n++;
	return 0;
}

int qmeta_add(struct qmeta *m, uint64_t first, uint64_t count, unsigned kind)
{
	/* Clusters are below 2^56 / 512: the shift cannot overflow. */
	for (uint64_t i = 0; i < count; i++) {
		int r = add_one(m, first + i, kind & KIND_MASK);
		if (r)
			return r;
	}
	return 0;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

void qmeta_seal(struct qmeta *m)
{
	if (m->sealed)
		return;
	qsort(m->e, m->n, sizeof *m->e, cmp);
	size_t w = 0;
	for (size_t i = 0; i < m->n; i++) {
		if (w && m->e[w - 1] >> KIND_BITS == m->e[i] >> KIND_BITS)
			m->e[w - 1] |= m->e[i] & KIND_MASK;
		else
			m->e[w++] = m->e[i];
	}
	m->n = w;
	m->sealed = true;
}

unsigned qmeta_kinds(const struct qmeta *m, uint64_t c)
{
	size_t i = lower_bound(m, c);
	return i < m->n && m->e[i] >> KIND_BITS == c ? (unsigned)(m->e[i] & KIND_MASK) : 0;
}

const char *qmeta_name(unsigned kinds)
{
	return kinds & QMETA_HEADER ? "the image header" : kinds & QMETA_L1 ? "the L1 table" :
	       kinds & QMETA_RT ? "the refcount table" : kinds & QMETA_L2 ? "an L2 table" :
	       kinds & QMETA_RB ? "a refcount block" : "no metadata";
}

void qmeta_free(struct qmeta *m)
{
	free(m->e);
	memset(m, 0, sizeof *m);
}

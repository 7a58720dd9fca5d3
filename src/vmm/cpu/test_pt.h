/*
 * Test helpers: Sv39/48/57 page tables built in a test machine's RAM
 * (test_asm.h), for the MMU's and the translator's tests.
 */
#ifndef NIMBUS_VMM_CPU_TEST_PT_H
#define NIMBUS_VMM_CPU_TEST_PT_H

#include "vmm/cpu/test_asm.h"

#define PT_POOL (RAM_BASE + 0x600000)

#define V 1ull
#define R 2ull
#define W 4ull
#define X 8ull
#define U 16ull
#define A 64ull
#define D 128ull

struct pt {
	struct tmach *t;
	uint64_t root, next;
	int levels;
};

static inline uint64_t pt_alloc(struct pt *p)
{
	uint64_t a = p->next;
	p->next += 4096;
	for (int i = 0; i < 512; i++)
		tm_w64(p->t, a + 8 * (uint64_t)i, 0);
	return a;
}

static inline void pt_init(struct pt *p, struct tmach *t, int levels)
{
	p->t = t;
	p->next = PT_POOL;
	p->levels = levels;
	p->root = pt_alloc(p);
}

/* Address of the PTE for va at leaf_level, creating tables on the way. */
static inline uint64_t pt_slot(struct pt *p, uint64_t va, int leaf_level)
{
	uint64_t table = p->root;
	for (int i = p->levels - 1; i > leaf_level; i--) {
		uint64_t pa = table + ((va >> (12 + 9 * i)) & 0x1ff) * 8;
		uint64_t pte = tm_r64(p->t, pa);
		if (!(pte & V)) {
			pte = (pt_alloc(p) >> 12) << 10 | V;
			tm_w64(p->t, pa, pte);
		}
		table = ((pte >> 10) & ((1ull << 44) - 1)) << 12;
	}
	return table + ((va >> (12 + 9 * leaf_level)) & 0x1ff) * 8;
}

static inline uint64_t pt_map(struct pt *p, uint64_t va, uint64_t pa, uint64_t flags, int level)
{
	uint64_t slot = pt_slot(p, va, level);
	tm_w64(p->t, slot, (pa >> 12) << 10 | flags | V);
	return slot;
}

static inline uint64_t satp_of(const struct pt *p)
{
	return (uint64_t)(p->levels + 5) << 60 | p->root >> 12;
}

#endif

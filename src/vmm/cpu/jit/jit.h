/*
 * The dynamic translator as the hart sees it.  A hart with a JIT runs each
 * RAM block it looks up through jit_run(): translated on first use,
 * entered with the guest PC's page delta, and left at an instruction
 * boundary with the hart's state exactly as the interpreter would leave it.
 * The interpreter stays the reference and runs everything the translator
 * declines (system instructions, ROM code, single steps shorter than a block).
 *
 * Fields of struct hart that translated code reads or writes: x[], f[],
 * pc, attn, ltlb, stlb (and through a store entry the page's watch byte),
 * jc (the jump cache), mstatus (FS only), and the jit_* fields (jit_budget
 * is in r14 while translated code runs).  Slow paths it calls:
 * mem_load_slow, mem_store_slow, store_hit_code, fp_exec, the atomic and
 * PAUSE helpers, jit_lookup; they set exc_cause/exc_tval on a fault.
 * Everything else (CSRs, traps, xRET, WFI, SFENCE.VMA, FENCE.I) returns to
 * the dispatcher, so privilege and translation never change under
 * translated code.
 */
#ifndef NIMBUS_VMM_CPU_JIT_JIT_H
#define NIMBUS_VMM_CPU_JIT_JIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hart;
struct block;
struct jit;

/* Default code-cache size of one VM, split among its harts. */
#define JIT_DEFAULT_CACHE_MB 64

struct jit_stats {
	uint64_t translations;     /* blocks translated */
	uint64_t traces;           /* of which traces (more than one block) */
	uint64_t rotations;        /* shift-shift-or rotations emitted as one (rotate.c) */
	uint64_t code_bytes;       /* host code bytes emitted */
	uint64_t translate_ns;     /* time spent translating */
	uint64_t resets;           /* whole-cache evictions */
	uint64_t entries;          /* dispatcher entries into translated code */
	uint64_t returns[5];       /* returns to the dispatcher by enum jit_status */
	uint64_t interpreted;      /* blocks the dispatcher interpreted (hart_exec) */
	uint64_t lookups;          /* jit_lookup calls (jump-cache misses) */
};

/* A translator with a code cache of cache_bytes for hart h; NULL on failure. */
struct jit *jit_new(struct hart *h, size_t cache_bytes);
void jit_free(struct jit *j);

/*
 * Runs block b (just looked up and valid at h->pc) as translated code,
 * following chained blocks for at most `budget` instructions.  Returns
 * false if the block is not translatable (the caller interprets it);
 * else true with *steps = instructions retired plus one for a trap taken.
 */
bool jit_run(struct hart *h, struct block *b, uint64_t budget, uint64_t *steps);

/* Block b, not translated, leaves the block table (its slot goes to
 * another): its run count is kept for the next decode of its PC. */
void jit_block_evicted(struct jit *j, const struct block *b);

/* Drops every translation (a block's bytes changed under a flush, tests). */
void jit_flush(struct jit *j);
/* jit_flush, and the pages of the translation tables go back to the kernel
 * (the idle trim, hart.c): their used part was as large as everything
 * translated since the last trim. */
void jit_trim(struct jit *j);

void jit_get_stats(const struct jit *j, struct jit_stats *out);

/* Translated code's guard of a trace's other page missed the fetch TLB:
 * fills it for va (no fault is raised); 0 if the entry is there now. */
int jit_fetch_fill(struct hart *h, uint64_t va);

/* --jit verify: each translated block is rerun in the interpreter and
 * compared (jit/verify.c); 0 or -1 (out of memory). */
int jit_set_verify(struct jit *j);

/* How often a block runs interpreted before it is translated (tests: 1). */
void jit_set_hot(struct jit *j, unsigned runs);

#endif

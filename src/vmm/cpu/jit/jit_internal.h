/*
 * Translator internals shared by the front end (translate.c) and the back
 * end (x86_64.c): the per-hart translator, translations (jit_tb) and their
 * linkable exits.
 *
 * A translation is immutable once emitted, apart from its exits' jumps,
 * which are patched to link straight into another translation of the same
 * guest page.  Translations and code are only ever dropped all together
 * (jit_flush), so no link points into reused memory.
 *
 * Staleness: translated code never checks whether its guest code changed.
 * Every way into it validates the block first (the dispatcher and
 * jit_lookup compare the page's code generation and the hart's epoch, and
 * re-hash or re-decode), except links, which are only ever made from and to
 * blocks validated in the current generation of their one page.  When a
 * page's generation or the epoch moves, a translation of that page is
 * next entered through validation, which finds tb->gen/epoch behind and
 * unlinks its exits first (tb_refresh); so by induction every chain of
 * links is as fresh as its first block.  A chain running while another hart
 * rewrites the page sees the old code until it leaves (at most a budget
 * slice), as the ISA allows before FENCE.I; a store that hits code ends the
 * chain at once (ATTN_RECHECK).
 */
#ifndef NIMBUS_VMM_CPU_JIT_JIT_INTERNAL_H
#define NIMBUS_VMM_CPU_JIT_JIT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm/cpu/hart_internal.h"
#include "vmm/cpu/jit/code_cache.h"
#include "vmm/cpu/jit/jit.h"

/* b->jit for a block the translator declined (its first op is a system op). */
#define JIT_DECLINED ((void *)1)

struct jit_tb;

/* A direct exit to a guest-physical PC in the translation's own page. */
/* Directly linkable exits of a translation: a block's branch has two; a
 * trace of up to four blocks (translate.c) adds a side exit per block. */
#define JIT_MAX_EXITS 5

struct jit_exit {
	uint64_t target_ppc;
	uint8_t *jump_rel32;       /* writable address of the jump to patch */
	uint8_t *tail;             /* writable address of its return to the dispatcher */
	const struct jit_tb *from;
};

struct jit_tb {
	uint32_t gen, epoch;       /* of the block when last validated */
	uint64_t ppc;
	uint32_t pfn;
	uint16_t ninsn;
	uint16_t nbytes;           /* guest bytes translated, and their hash: */
	uint64_t hash;             /* a re-decoded block with both is this code */
	uint8_t nexits;
	uint32_t code_bytes;       /* of host code at `code` */
	const uint8_t *code;       /* executable entry */
	struct jit_exit exit[JIT_MAX_EXITS];
};

/* Entries of struct jit's heat table (a power of two). */
#define JIT_HEAT_BITS 16
#define JIT_HEAT_SIZE (1u << JIT_HEAT_BITS)

struct jit {
	struct hart *h;
	struct code_cache cc;
	struct jit_tb *tbs;
	unsigned ntbs, max_tbs;
	/* Translations by guest-physical PC (open addressing: tb index + 1,
	 * 0 empty; the newest per PC): the block table is direct-mapped, and a
	 * block evicted by a colliding one would otherwise be interpreted and
	 * translated all over again when it comes back.  A slot carries what
	 * jit_lookup checks and enters (tb's ppc, code, page, generation and
	 * epoch, kept equal to tb's): reading tbs[] there was a second cache
	 * miss per lookup, a tenth of a fork/exec-heavy guest's time. */
	struct by_ppc_slot {
		uint64_t ppc;              /* UINT64_MAX: tb was dropped */
		const uint8_t *code;
		uint32_t tb, pfn, gen, epoch;
	} *by_ppc;
	unsigned by_ppc_bits;
	struct insn *insns;        /* copies of instructions helpers are called with */
	unsigned ninsns, max_insns;
	const uint8_t *enter;      /* trampoline: enter(h, code, delta) */
	const uint8_t *epilogue;   /* returns to the dispatcher with eax = status */
	const uint8_t *check_fail; /* entry checks failed */
	const uint8_t *chain_tail; /* an unlinked exit's way out: rax = the struct jit_exit */
	const uint8_t *exit_to[5]; /* leave with a status (enum jit_status): rax = the ppc */
	/* A jump-cache entry's code for a PC with no translation yet (h->pc
	 * stored): back to the dispatcher without asking jit_lookup again;
	 * jit_run puts the translation there once there is one. */
	const uint8_t *untranslated;
	uint8_t *stubs_end;        /* first byte after the stubs */
	struct be *be;             /* the back end's state for one translation */
	unsigned hot;              /* runs before a block is translated */
	/* Runs so far of not yet translated blocks, by a hash of their
	 * physical PC.  Kept here, not in the block: three blocks that take
	 * turns in one two-way set of the block table lose their slot (and a
	 * heat kept there) on every round and would never be translated.  A
	 * collision only makes a block hot early. */
	uint8_t heat[JIT_HEAT_SIZE];
	struct jit_verify *verify; /* --jit verify, else NULL */
	FILE *dump, *perf_map;     /* NIMBUS_JIT_DUMP (translate.c), else NULL */
	bool stats_on;             /* NIMBUS_JIT_STATS: time translations, report at exit */
	bool traces;               /* strings blocks into traces (not NIMBUS_JIT_NO_TRACES) */
	bool loops_only;           /* only traces that loop (not NIMBUS_JIT_ALL_TRACES) */
	struct jit_stats stats;
	struct trace *trace;       /* translate()'s scratch (translate.c) */
	unsigned next_mslot[2];    /* the memory slot the next load [0] or store [1] gets */
};

/* --jit verify (verify.c): around one translated block run by jit_run. */
struct jit_verify;
struct jit_verify *jit_verify_new(void);
void jit_verify_begin(struct hart *h, struct jit_verify *v);
/* Reruns the block in the interpreter and compares; false (hart fatal) on divergence. */
bool jit_verify_end(struct hart *h, struct jit_verify *v, uint64_t steps);

/* Rotations written as two shifts and an OR (rotate.c): per instruction of
 * a block, ROT_HERE (the OR: x[rd] = x[src] rotated right by amount, 32-bit
 * and sign-extended if w32), ROT_DROP (a shift no one can see: no code),
 * ROT_KEEP (a shift of a rotation whose value stays visible). */
enum rot_role { ROT_NONE, ROT_HERE, ROT_DROP, ROT_KEEP };
struct rot_plan {
	uint8_t role, src, amount;
	bool w32;
};
void rotate_plan(const struct block *b, struct rot_plan *plan);

/* Called from translated code: the entry for the block at h->pc, or NULL. */
const void *jit_lookup(struct hart *h);

#endif

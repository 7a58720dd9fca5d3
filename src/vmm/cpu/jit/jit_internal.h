/*
 * Translator internals shared by the front end (translate.c) and the back
 * end (x86_64.c): the per-hart translator, translations (jit_tb) and their
 * linkable exits.
 *
 * A translation is immutable once emitted, apart from its exits' jumps,
 * which are patched to link straight into another translation of the same
 * guest page.  Its entry re-checks the page's code generation and the
 * hart's FENCE.I epoch against tb->gen/epoch (refreshed by the dispatcher
 * each time the block is validated), so a link into code that went stale
 * falls back to the dispatcher instead of running it.  Translations and
 * code are only ever dropped all together (jit_flush), so no link dangles.
 */
#ifndef NIMBUS_VMM_CPU_JIT_JIT_INTERNAL_H
#define NIMBUS_VMM_CPU_JIT_JIT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/cpu/hart_internal.h"
#include "vmm/cpu/jit/code_cache.h"
#include "vmm/cpu/jit/jit.h"

/* b->jit for a block the translator declined (its first op is a system op). */
#define JIT_DECLINED ((void *)1)

struct jit_tb;

/* A direct exit to a guest-physical PC in the translation's own page. */
struct jit_exit {
	uint64_t target_ppc;
	uint8_t *jump_rel32;       /* writable address of the jump to patch */
	const struct jit_tb *from;
};

struct jit_tb {
	uint32_t gen, epoch;       /* read by the entry checks */
	uint64_t ppc;
	uint32_t pfn;
	uint16_t ninsn;
	uint8_t nexits;
	const uint8_t *code;       /* executable entry */
	struct jit_exit exit[2];
};

struct jit {
	struct hart *h;
	struct code_cache cc;
	struct jit_tb *tbs;
	unsigned ntbs, max_tbs;
	struct insn *insns;        /* copies of instructions helpers are called with */
	unsigned ninsns, max_insns;
	const uint8_t *enter;      /* trampoline: enter(h, code, delta) */
	const uint8_t *epilogue;   /* returns to the dispatcher with eax = status */
	const uint8_t *check_fail; /* entry checks failed */
	uint8_t *stubs_end;        /* first byte after the stubs */
	struct be *be;             /* the back end's state for one translation */
	struct jit_stats stats;
};

/* Called from translated code: the entry for the block at h->pc, or NULL. */
const void *jit_lookup(struct hart *h);

#endif

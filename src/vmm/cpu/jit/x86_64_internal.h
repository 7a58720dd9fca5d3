/*
 * The x86-64 back end's private state and the helpers its files share
 * (x86_64.c: blocks, integer code, memory, exits; x86_64_fp.c: F/D inline).
 * Nothing outside src/vmm/cpu/jit/x86_64*.c includes this.
 */
#ifndef NIMBUS_VMM_CPU_JIT_X86_64_INTERNAL_H
#define NIMBUS_VMM_CPU_JIT_X86_64_INTERNAL_H

#include "vmm/cpu/jit/backend.h"
#include "vmm/cpu/jit/jit_internal.h"
#include "vmm/cpu/jit/x86_emit.h"

#include <stddef.h>

#define HOFF(f) ((int32_t)offsetof(struct hart, f))
#define XOFF(r) (HOFF(x) + 8 * (int32_t)(r))
#define FOFF(r) (HOFF(f) + 8 * (int32_t)(r))

/* Emitted size of the longest translation: 64 instructions of at most ~110
 * bytes inline plus slow paths; the reservation is checked, not trusted. */
#define MAX_TB_BYTES 24576
/* Up to three slow paths per instruction (a store: FS off, TLB miss, code
 * page; an F/D op: FS off and the helper), with room to spare. */
#define MAX_SLOW (BLOCK_MAX_INSNS * 4)
/* Extra jumps into one slow path (an F/D op's several checks). */
#define SLOW_MORE_JCC 10

enum slow_kind { SL_LOAD, SL_STORE, SL_CODE, SL_HELPER, SL_INTERP, SL_FP };

struct slow {
	enum slow_kind kind;
	uint32_t dirty;            /* guest registers dirty at the instruction */
	uint32_t narrow;           /* and narrow (struct be) */
	uint8_t *jcc;              /* rel32 of the jump into the slow path */
	uint8_t *more_jcc[SLOW_MORE_JCC];   /* more jumps to the same path */
	unsigned nmore;
	uint8_t *resume;           /* where the slow path rejoins */
	unsigned idx, size, reg;   /* reg: rd for loads, rs2 for stores */
	bool sign, fp;
	uint64_t ppc, next_ppc;    /* the instruction's and the next one's */
	/* SL_FP: the exact helper for the op. */
	be_helper_fn fn;
	const struct insn *insn;
	bool touches_x;
};

struct be {
	struct jit *j;
	struct jit_tb *tb;
	struct x86_buf b;
	uint8_t *start;
	unsigned idx;
	uint64_t ppc, next_ppc;
	unsigned nslow;
	bool failed;
	uint8_t *check_jcc;        /* the entry check's failure, to this block's stub */
	uint8_t *body;             /* after the entry checks and register loads */
	bool loops;                /* branches back to its own start */
	uint32_t loop_dirty;       /* a looping block's registers dirty on entry to the body */
	int8_t host[33];           /* host register caching guest x[i], or -1 */
	uint32_t cached, dirty;    /* guest register masks */
	/* Cached registers whose host register may hold a *W result not yet
	 * sign-extended (its low 32 bits right, the upper ones zero): the
	 * extension is made where a full 64-bit value is read or written
	 * back, so a chain of *W operations pays for it once, if at all.
	 * "May": extending twice is harmless, missing one is not. */
	uint32_t narrow;
	unsigned fp_ok;            /* FPV_* known to hold here (be_fp_guard) */
	/* Last, and not cleared per translation (50 KiB: clearing it was
	 * a third of the cost of translating a block); x64_add_slow fills
	 * each entry it hands out. */
	struct slow slow[MAX_SLOW];
};

/* F/D state an inline op assumes (be_fp_needs, be->fp_ok). */
enum { FPV_DIRTY = 1, FPV_RNE = 4 };

void x64_call_abs(struct x86_buf *b, const void *fn);
/* host = guest register g (x0 reads as zero). */
void x64_ld_x(struct be *be, unsigned host, unsigned g);
/* A host register holding guest g: its cache register, else `tmp` loaded. */
unsigned x64_xreg(struct be *be, unsigned g, unsigned tmp);
/* The same for a reader of the low 32 bits only (*W operands). */
unsigned x64_xreg_lo(struct be *be, unsigned g, unsigned tmp);
/* Guest register g = host (into its cache register, marked dirty, or h->x). */
void x64_st_x(struct be *be, unsigned g, unsigned host);
/* Writes back / reloads cached registers (which: 0 all, 1 callee-saved, 2 caller-saved). */
void x64_write_back(struct be *be, uint32_t mask, int which);
void x64_reload(struct be *be, int which);
uint32_t x64_caller_saved_mask(const struct be *be);
struct slow *x64_add_slow(struct be *be, enum slow_kind k, uint8_t *jcc);
void x64_emit_exit(struct be *be, uint64_t ppc, unsigned retired, enum jit_status st,
		   uint32_t dirty);
/* A copy of `in` that lives as long as the translation (helpers get it). */
const struct insn *x64_insn_copy(struct be *be, const struct insn *in);
/* Emits an SL_FP slow path (x86_64_fp.c). */
void x64_emit_fp_slow(struct be *be, struct slow *s);

#endif

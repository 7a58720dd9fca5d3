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
/* Up to four slow paths per instruction (a store: FS off, memory slot
 * miss, TLB miss, code page; an F/D op: FS off and the helper), with room
 * to spare. */
#define MAX_SLOW (BLOCK_MAX_INSNS * 5)
/* Extra jumps into one slow path (an F/D op's several checks). */
#define SLOW_MORE_JCC 10

enum slow_kind { SL_LOAD, SL_STORE, SL_CODE, SL_HELPER, SL_INTERP, SL_FP, SL_FP_NAN, SL_SLOT,
		 SL_FETCH, SL_AMO, SL_JUMP };

struct slow {
	enum slow_kind kind;
	uint64_t dirty;            /* guest registers dirty at the instruction (FREG_BIT) */
	uint32_t narrow;           /* and narrow (struct be) */
	uint8_t *jcc;              /* rel32 of the jump into the slow path */
	uint8_t *more_jcc[SLOW_MORE_JCC];   /* more jumps to the same path */
	unsigned nmore;
	uint8_t *resume;           /* where the slow path rejoins */
	unsigned idx, size, reg;   /* reg: rd for loads, rs2 for stores */
	bool sign, fp;
	unsigned dst;              /* SL_LOAD: the host register the value goes to */
	unsigned va;               /* SL_LOAD: the host register holding the va */
	int xmm;                   /* SL_LOAD/SL_STORE of an f register cached there, or -1;
				      SL_FP_NAN: the register to give the canonical NaN */
	uint64_t ppc, next_ppc;    /* the instruction's and the next one's */
	/* SL_SLOT: the memory slot's offset in struct hart, whether the
	 * access is a store, and the SL_LOAD/SL_STORE path its TLB miss takes. */
	int32_t slot;
	bool store;
	struct slow *tlb_miss;
	/* SL_FP: the exact helper for the op; SL_AMO: the whole-instruction
	 * helper, its insn, and (resume) where the inline AMO ends. */
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
	uint64_t loop_dirty;       /* a looping block's registers dirty on entry to the body */
	uint8_t *label;            /* a trace's inner loop start (be_loop_label), or NULL */
	unsigned label_idx;
	uint64_t label_ppc;
	int8_t host[33];           /* host register caching guest x[i], or -1 */
	/* xmm register caching guest f[i], or -1: taken at an inline F/D
	 * op's first use and kept to the block's end (never reassigned, so a
	 * slow path's dirty mask and the final assignment agree). */
	int8_t fhost[32];
	unsigned next_xmm;
	uint64_t fpre;             /* f registers loaded at a looping block's entry (FREG_BIT) */
	/* Guest register masks: x[i] is bit i, f[i] bit 32 + i (FREG_BIT). */
	uint64_t cached, dirty;
	uint64_t x_caller_saved;    /* cached x registers in caller-saved host ones (set by be_regs) */
	/* Cached registers whose host register may hold a *W result not yet
	 * sign-extended (its low 32 bits right, the upper ones zero): the
	 * extension is made where a full 64-bit value is read or written
	 * back, so a chain of *W operations pays for it once, if at all.
	 * "May": extending twice is harmless, missing one is not. */
	uint32_t narrow;
	/* Guest registers whose value is known to be a 32-bit one sign-extended
	 * (a *W result, a narrow load, bitwise ops of such): `sext.w` of one
	 * is a copy, and a logical right shift by at least one of its low
	 * half needs no extension.  Known only along straight-line code: it
	 * is emptied at a loop label and by helpers that write registers. */
	uint32_t sx;
	unsigned fp_ok;            /* FPV_* known to hold here (be_fp_guard) */
	/* Last, and not cleared per translation (50 KiB: clearing it was
	 * a third of the cost of translating a block); x64_add_slow fills
	 * each entry it hands out. */
	struct slow slow[MAX_SLOW];
};

/* f[i]'s bit in the register masks. */
#define FREG_BIT(i) (1ull << (32 + (i)))
#define FREGS 0xffffffff00000000ull
/* xmm0 and xmm1 are scratch; f registers are cached from xmm2 up. */
#define XMM_FIRST_CACHE 2
#define XMM_COUNT 16

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
void x64_write_back(struct be *be, uint64_t mask, int which);
void x64_reload(struct be *be, int which);
uint64_t x64_caller_saved_mask(const struct be *be);
struct slow *x64_add_slow(struct be *be, enum slow_kind k, uint8_t *jcc);
void x64_emit_exit(struct be *be, uint64_t ppc, unsigned retired, enum jit_status st,
		   uint64_t dirty);
/* A copy of `in` that lives as long as the translation (helpers get it). */
const struct insn *x64_insn_copy(struct be *be, const struct insn *in);
/* f[i] cached in an xmm register (x86_64_fp.c): its number, or -1 when
 * none is free; x64_freg_for_write takes one without loading it, and the
 * caller marks it dirty.  x64_freg_to_mem makes h->f[i] current (a reader
 * of memory follows); x64_freg_from_mem reloads the cached copy after
 * something wrote h->f[i]. */
int x64_freg(struct be *be, unsigned f);
int x64_freg_for_write(struct be *be, unsigned f);
void x64_freg_to_mem(struct be *be, unsigned f);
void x64_freg_from_mem(struct be *be, unsigned f);
/* Takes and loads an xmm register for f at a translation's entry: its
 * number, or -1 when none is free. */
int x64_freg_preload(struct be *be, unsigned f);
/* Emits an SL_FP or SL_FP_NAN slow path (x86_64_fp.c). */
void x64_emit_fp_slow(struct be *be, struct slow *s);
void x64_emit_fp_nan(struct be *be, struct slow *s);

#endif

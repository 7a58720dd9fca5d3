/*
 * The contract between the translator's front end (translate.c: RISC-V
 * semantics, block structure, exits and chaining) and a host back end
 * (x86_64.c today).  The front end lowers each guest instruction to a few
 * operations on guest registers x0..x31 (x32 is the write sink for rd = x0,
 * see hart_internal.h); a back end turns them into host code and owns the
 * host registers, the guest-register cache, the inline TLB path and the
 * exit stubs.  An aarch64 back end implements the same functions.
 *
 * Guest PCs: translated code is tied to guest-physical addresses only.  The
 * back end keeps `delta` = (virtual PC - physical PC) of the running code
 * in a host register, so the same translation serves every virtual alias of
 * a page; a value derived from the PC is `ppc + delta`.
 *
 * Exits: every way out of a translation leaves the hart exactly as the
 * interpreter would at that instruction boundary: guest registers in
 * h->x, h->pc set, h->instret counting the instructions retired.
 */
#ifndef NIMBUS_VMM_CPU_JIT_BACKEND_H
#define NIMBUS_VMM_CPU_JIT_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

struct hart;
struct insn;
struct jit;
struct jit_tb;
struct jit_exit;

/* Why translated code returned to the dispatcher (jit_enter's result). */
enum jit_status {
	JIT_ST_EXIT = 0,   /* h->pc is the next instruction; nothing pending */
	JIT_ST_TRAP,       /* take h->exc_cause/exc_tval at h->pc */
	JIT_ST_INTERP,     /* run the instruction at h->pc in the interpreter */
	JIT_ST_CHAIN,      /* like EXIT, and h->jit_link names an exit to patch */
	JIT_ST_CHECK,      /* a block's entry checks failed (budget, irq, attention) */
};

enum be_alu {
	BE_ADD, BE_SUB, BE_AND, BE_OR, BE_XOR, BE_SLL, BE_SRL, BE_SRA, BE_SLT, BE_SLTU,
	BE_MUL, BE_MULH, BE_MULHU,
};

enum be_cond { BE_EQ, BE_NE, BE_LT, BE_GE, BE_LTU, BE_GEU };

/* A helper called with (h, insn copy): 0 done, -1 trap set, 1 run in the
 * interpreter, 2 done and leave the block after it (it stored into code),
 * 3 done and go on through the next instruction's block entry (it changed
 * state a translation may assume: interrupt enables, mstatus.FS). */
typedef int (*be_helper_fn)(struct hart *h, const struct insn *in);
/* A pure helper on two 64-bit values (division and friends). */
typedef uint64_t (*be_pure_fn)(uint64_t a, uint64_t b);

struct be;   /* the back end's per-translation state */

/* Starts translating `tb` into the code cache; NULL if the cache is full. */
struct be *be_begin(struct jit *j, struct jit_tb *tb);
/* Finishes; returns false (nothing kept) if the code did not fit. */
bool be_end(struct be *be);

/* Register hints, once before the first instruction: how often each guest
 * register is used, which are read before being written (live in), which
 * are written, and whether the block branches back to its own start; the
 * same for the f registers (use counts and a superset of those written). */
void be_regs(struct be *be, const unsigned uses[32], uint32_t live_in, uint32_t written,
	     bool loops, const unsigned fuses[32], uint32_t fwritten);

/* Instruction `idx` of the block begins at ppc (the next at next_ppc); for
 * exits and traps. */
void be_insn(struct be *be, unsigned idx, uint64_t ppc, uint64_t next_ppc);

/* rd = rs1 op rs2 (w32: 32-bit op, result sign-extended: the *W forms). */
void be_alu(struct be *be, enum be_alu op, bool w32, unsigned rd, unsigned rs1, unsigned rs2);
/* rd = rs1 op imm (no BE_MUL*). Shifts take imm as the shift amount. */
void be_alu_imm(struct be *be, enum be_alu op, bool w32, unsigned rd, unsigned rs1, int64_t imm);
/* rd = rs1 / rs2 or rs1 % rs2 (signed or not; w32: the *W forms), with
 * RISC-V's results for division by zero and overflow (no trap). */
void be_divrem(struct be *be, bool sign, bool rem, bool w32, unsigned rd, unsigned rs1,
	       unsigned rs2);
/* rd = f(rs1, rs2) through a pure C helper (mulhsu). */
void be_pure(struct be *be, be_pure_fn fn, unsigned rd, unsigned rs1, unsigned rs2);
/* rd = rs1 rotated right by n (w32: its low 32 bits, the result
 * sign-extended from bit 31); 0 < n < 32 or 64. */
void be_rotate(struct be *be, bool w32, unsigned rd, unsigned rs1, unsigned n);
/* rd = v */
void be_const(struct be *be, unsigned rd, uint64_t v);
/* rd = the low 32 bits of rs1, zero-extended */
void be_zext32(struct be *be, unsigned rd, unsigned rs1);
/* rd = ppc + delta (a virtual PC value) */
void be_pc_value(struct be *be, unsigned rd, uint64_t ppc);

/* Loads/stores of 1/2/4/8 bytes at x[rs1] + imm through the TLB. */
void be_load(struct be *be, unsigned size, bool sign, unsigned rd, unsigned rs1, int32_t imm);
void be_store(struct be *be, unsigned size, unsigned rs2, unsigned rs1, int32_t imm);
/* Instructions idx..idx+n-1 (at pc[]): n >= 2 integer stores through the
 * same base register at offsets that keep them aligned when the first is
 * (store_group_ok).  One check covers them all when they fall in one page;
 * else each is made as be_store would. */
void be_store_group(struct be *be, const struct insn *in, unsigned n, unsigned idx,
		    const uint64_t *pc);
/* The same for n >= 2 integer loads (load_run: none but the last writes
 * the base register). */
void be_load_group(struct be *be, const struct insn *in, unsigned n, unsigned idx,
		   const uint64_t *pc);
/* FP loads/stores: illegal (interpreter) when mstatus.FS is Off. */
void be_fload(struct be *be, unsigned size, unsigned frd, unsigned rs1, int32_t imm);
void be_fstore(struct be *be, unsigned size, unsigned frs2, unsigned rs1, int32_t imm);

/* Calls fn(h, copy of in); guest registers may change (touches_x), or the
 * helper neither reads nor writes x[] (F/D arithmetic on f registers). */
void be_helper(struct be *be, be_helper_fn fn, const struct insn *in, bool touches_x);
/* An F/D computational instruction: inline where the back end can give
 * the exact RISC-V result and flags, else (and whenever the inline path's
 * conditions fail at run time) through fn as be_helper would call it. */
void be_fp(struct be *be, be_helper_fn fn, const struct insn *in, bool touches_x);
/* The F/D state `in`'s inline path assumes (an opaque mask: mstatus.FS
 * Dirty, fflags.NX set, frm RNE), 0 if none.  be_fp_guard checks the OR of
 * a block's masks once, at its start, so the ops need not each check it;
 * where it does not hold the block leaves for the interpreter before
 * running anything.  Call it before be_regs (once per entry) or, in a
 * looping block that writes fflags/frm, after it (every time round). */
unsigned be_fp_needs(const struct insn *in);
void be_fp_guard(struct be *be, unsigned needs);
/* CSRRW/S/C[I] on fflags, frm or fcsr (csr in->imm 1..3): rd = old value;
 * FS = Off leaves for the interpreter (which raises the exception). */
void be_fcsr(struct be *be, const struct insn *in);
void be_fence(struct be *be);

/* Block ends (the whole block retired).  Targets are physical PCs; `chain`
 * says the target lies in the block's own page (same translation), so the
 * exit may be linked directly. */
void be_branch(struct be *be, enum be_cond c, unsigned rs1, unsigned rs2, uint64_t taken_ppc,
	       uint64_t fall_ppc, bool taken_chain, bool fall_chain);
void be_jump(struct be *be, uint64_t target_ppc, bool chain);
/* A trace's side exit: the branch leaves for out_ppc when it is taken
 * (out_when_taken) or when it falls through (else), and the translation
 * goes on with the other edge's block. */
void be_branch_out(struct be *be, enum be_cond c, unsigned rs1, unsigned rs2, uint64_t out_ppc,
		   bool out_when_taken, bool chain);
/* Instruction idx (at ppc), about to be emitted, starts a loop inside a
 * trace: branches and jumps to ppc from later in the translation loop back
 * here with registers in place (the translation was set up as looping by
 * be_regs). */
void be_loop_label(struct be *be, unsigned idx, uint64_t ppc);
/* pc = (x[rs1] + imm) & ~1 after rd = link (a PC value); an indirect jump. */
void be_jump_reg(struct be *be, unsigned rs1, int32_t imm, unsigned rd, uint64_t link_ppc);
/* AMOSWAP, AMOADD and (with rd = x0) AMOAND/OR/XOR, .W and .D, inline: a
 * host locked instruction on the page its store slot maps.  Misaligned
 * addresses and TLB misses take `helper` (the whole instruction: faults,
 * triggers, code and dirty pages).  False (no code) for the other atomics,
 * which the caller sends to the helper. */
bool be_amo(struct be *be, be_helper_fn helper, const struct insn *in);
/* Leaves with `st` at ppc after `ninsn` retired (ends the block). */
void be_exit(struct be *be, uint64_t ppc, unsigned ninsn, enum jit_status st);
/* With `ninsn` instructions done, go on at h->pc as a helper set it (an
 * xRET's return address): through the jump cache, or to the dispatcher if
 * an interrupt is takeable now. */
void be_go_on_at_pc(struct be *be, unsigned ninsn);

/* Before an instruction straddling the block's page end: unless the next
 * virtual page (next_page_ppc + delta) is in the fetch TLB and its first
 * two bytes are still `upper`, leave for the interpreter here.  (The bytes,
 * not the page: another process may map the same code differently.) */
void be_cross_guard(struct be *be, uint64_t next_page_ppc, uint16_t upper);
/* A trace's entry into its other page (translate.c): the virtual page at
 * head-relative page `at` still maps to physical page pa, whose code
 * generation (*gen_at) is still gen; else the interpreter goes on from
 * here (and, the code changed, the trace is dropped). */
void be_page_guard(struct be *be, uint64_t at, uint64_t pa, const _Atomic uint32_t *gen_at,
		   uint32_t gen);

/* Host-side plumbing the front end needs. */
struct be *be_state_new(void);
void be_state_free(struct be *be);
int be_init_stubs(struct jit *j);
enum jit_status be_enter(struct jit *j, struct hart *h, const void *code, uint64_t delta);
void be_link(struct jit *j, struct jit_exit *e, const void *target_code);
/* Points a linked exit back at its own return to the dispatcher. */
void be_unlink(struct jit_exit *e);

#endif

/*
 * F/D arithmetic inline on the host's SSE unit (the x86-64 back end's be_fp).
 *
 * The hard part of floating point in a translator is not the arithmetic but
 * the flags: reading MXCSR after every operation costs more than the
 * operation.  So the inline path leaves them there: the dispatcher claims
 * the thread's unit for the hart before entering translated code
 * (fp_host_claim: MXCSR then holds only flags already in fflags), inline
 * operations accumulate theirs in MXCSR, and fp_host_settle ORs them into
 * fflags when translated code returns; an inline read of fflags or fcsr
 * does the same first (be_fcsr).  SSE's five flags are IEEE's, as
 * RISC-V's are (fpu.c's tests hold the host unit to the soft definition),
 * tininess and all.  What SSE does differently goes to the exact helper
 * (fp_exec: the interpreter's code), which recomputes from the untouched
 * registers and raises the same flags again:
 *   - NaNs: x86 propagates payloads (or answers its negative default NaN),
 *     RISC-V answers its canonical NaN: every NaN result goes to the
 *     helper, found by one unordered self-compare.  Single-precision
 *     operands must be properly NaN-boxed.
 *   - Conversions to integers out of range (SSE's "integer indefinite");
 *     RISC-V saturates.
 *   - Rounding: only round-to-nearest-even inline, the mode MXCSR keeps
 *     (fp_host.c); a static or dynamic rm of anything else uses the helper,
 *     except truncating conversions to integers, which SSE has as such.
 *   - mstatus.FS must already be Dirty, so the inline path never has to
 *     set it (nor raise the illegal-instruction exception for FS = Off).
 * Spec: unprivileged ISA ch. 11 (F: 11.2 fcsr, 11.3 NaN boxing, 11.6 the
 * flags of each operation) and ch. 12 (D).
 */
#include "vmm/cpu/jit/x86_64_internal.h"
#include "vmm/cpu/jit/x86_emit_sse.h"
#include "vmm/cpu/ops.h"
#include "vmm/cpu/fp_host.h"

#define MSTATUS_FS_DIRTY ((uint32_t)MSTATUS_FS)

/* What the inline path needs checked before it may run (besides FS). */
enum fp_need {
	NEED_RNE = 2,      /* the result depends on the rounding mode */
	NEED_RM = 4,       /* exact, but a reserved dynamic mode is still illegal */
};

static void to_slow(struct be *be, struct slow *s, uint8_t *jcc)
{
	if (s->nmore == SLOW_MORE_JCC) {
		be->failed = true;
		return;
	}
	s->more_jcc[s->nmore++] = jcc;
}

static struct slow *new_fp_slow(struct be *be, be_helper_fn fn, const struct insn *in,
				bool touches_x)
{
	const struct insn *copy = x64_insn_copy(be, in);
	struct slow *s = x64_add_slow(be, SL_FP, NULL);
	s->fn = fn;
	s->insn = copy;
	s->touches_x = touches_x;
	return s;
}

/* The checks an inline F/D op starts with, less what the block's guard
 * (be_fp_guard) or an earlier instruction already established. */
static void emit_preconditions(struct be *be, struct slow *s, const struct insn *in,
			       unsigned need)
{
	struct x86_buf *b = &be->b;
	if (!(be->fp_ok & FPV_DIRTY)) {   /* FS == Dirty */
		x_load(b, false, RAX, RBX, HOFF(mstatus));
		x_f7(b, false, 2, RAX);   /* not eax */
		x_test_ri32(b, RAX, MSTATUS_FS_DIRTY);
		to_slow(be, s, x_jcc32(b, CC_NE));
	}
	if (in->rm != 7 || (be->fp_ok & FPV_RNE))
		return;
	if (need & NEED_RNE) {
		x_cmp_m8(b, RBX, HOFF(frm), 0);
		to_slow(be, s, x_jcc32(b, CC_NE));
	} else if (need & NEED_RM) {
		x_cmp_m8(b, RBX, HOFF(frm), 4);   /* RMM */
		to_slow(be, s, x_jcc32(b, CC_A));
	}
}

/* ---- f registers in xmm registers (x86_64_internal.h) ---- */

static int freg_take(struct be *be, unsigned f)
{
	if (be->fhost[f] >= 0)
		return be->fhost[f];
	if (be->next_xmm == XMM_COUNT)
		return -1;
	be->fhost[f] = (int8_t)be->next_xmm++;
	be->cached |= FREG_BIT(f);
	return -2;   /* taken now: not loaded yet */
}

int x64_freg(struct be *be, unsigned f)
{
	int x = freg_take(be, f);
	if (x == -2) {
		x = be->fhost[f];
		x_sse_rm(&be->b, PFX_SD, false, SSE_LOAD, (unsigned)x, RBX, FOFF(f));
	}
	return x;
}

int x64_freg_preload(struct be *be, unsigned f)
{
	return be->next_xmm == XMM_COUNT ? -1 : x64_freg(be, f);
}

int x64_freg_for_write(struct be *be, unsigned f)
{
	int x = freg_take(be, f);
	return x == -2 ? be->fhost[f] : x;
}

void x64_freg_to_mem(struct be *be, unsigned f)
{
	if (!(be->dirty & FREG_BIT(f)))
		return;
	x_sse_rm(&be->b, PFX_SD, false, SSE_STORE, (unsigned)be->fhost[f], RBX, FOFF(f));
	be->dirty &= ~FREG_BIT(f);
}

void x64_freg_from_mem(struct be *be, unsigned f)
{
	if (be->fhost[f] < 0)
		return;
	x_sse_rm(&be->b, PFX_SD, false, SSE_LOAD, (unsigned)be->fhost[f], RBX, FOFF(f));
	be->dirty &= ~FREG_BIT(f);
}

/*
 * Operands.  Double-precision ones come from their xmm register; single-
 * precision ones from h->f, made current first, because a cached register
 * holds the 64-bit NaN-boxed pattern, which a single-precision op neither
 * reads (it checks the box in memory) nor writes (its result is boxed
 * there, then reloaded).
 */
static enum sse_pfx pfx_of(bool single) { return single ? PFX_SS : PFX_SD; }

/* op dst, f (an xmm register or memory) */
static void f_op(struct be *be, bool single, enum sse_op op, unsigned dst, unsigned f)
{
	struct x86_buf *b = &be->b;
	enum sse_pfx pfx = op == SSE_UCOMI ? (single ? PFX_NONE : PFX_66) : pfx_of(single);
	int x = single ? -1 : x64_freg(be, f);
	if (x >= 0) {
		x_sse_rr(b, op == SSE_MOVAPD ? PFX_66 : pfx, false, op, dst, (unsigned)x);
	} else {
		x64_freg_to_mem(be, f);
		x_sse_rm(b, pfx, false, op == SSE_MOVAPD ? SSE_LOAD : op, dst, RBX, FOFF(f));
	}
}

/* xmm `dst` = f */
static void f_get(struct be *be, bool single, unsigned dst, unsigned f)
{
	f_op(be, single, SSE_MOVAPD, dst, f);
}

/* Single-precision source fs must be NaN-boxed (upper half all ones). */
static void emit_boxed(struct be *be, struct slow *s, unsigned fs)
{
	x64_freg_to_mem(be, fs);
	x_alu_mi(&be->b, false, ALU_CMP, RBX, FOFF(fs) + 4, -1);
	to_slow(be, s, x_jcc32(&be->b, CC_NE));
}

/* f[rd] = xmm0 (single: NaN-boxed) */
static void emit_store_xmm0(struct be *be, unsigned rd, bool single)
{
	struct x86_buf *b = &be->b;
	int x = single ? -1 : x64_freg_for_write(be, rd);
	if (x >= 0) {
		x_sse_rr(b, PFX_66, false, SSE_MOVAPD, (unsigned)x, XMM0);
		be->dirty |= FREG_BIT(rd);
		return;
	}
	x_sse_rm(b, pfx_of(single), false, SSE_STORE, XMM0, RBX, FOFF(rd));
	if (single)
		x_store32_imm(b, RBX, FOFF(rd) + 4, 0xffffffffu);
	x64_freg_from_mem(be, rd);
}

/* f[rd] = rax (single: NaN-boxed eax). */
static void emit_store_f(struct be *be, unsigned rd, bool single)
{
	struct x86_buf *b = &be->b;
	int x = single ? -1 : x64_freg_for_write(be, rd);
	if (x >= 0) {
		x_sse_rr(b, PFX_66, true, SSE_MOVD_TO_X, (unsigned)x, RAX);
		be->dirty |= FREG_BIT(rd);
		return;
	}
	if (single) {
		x_store(b, false, RBX, FOFF(rd), RAX);
		x_store32_imm(b, RBX, FOFF(rd) + 4, 0xffffffffu);
	} else {
		x_store(b, true, RBX, FOFF(rd), RAX);
	}
	x64_freg_from_mem(be, rd);
}

/* rax = f's 64 bits */
static void emit_load_f(struct be *be, unsigned f)
{
	int x = be->fhost[f];
	if (x >= 0)
		x_sse_rr(&be->b, PFX_66, true, SSE_MOVD_FROM_X, (unsigned)x, RAX);
	else
		x_load(&be->b, true, RAX, RBX, FOFF(f));
}

/* An arithmetic result in xmm0: a NaN to the helper, else stored. */
static void emit_result(struct be *be, struct slow *s, const struct insn *in, bool single)
{
	struct x86_buf *b = &be->b;
	x_sse_rr(b, single ? PFX_NONE : PFX_66, false, SSE_UCOMI, XMM0, XMM0);
	to_slow(be, s, x_jcc32(b, CC_P));
	emit_store_xmm0(be, in->rd, single);
}

/*
 * A double-precision op on cached registers, computed in f[rd]'s own xmm
 * register.  That loses an operand when rd is one, but nothing needs it
 * again: when the result is a NaN, RISC-V's is the canonical NaN whatever
 * the operands (11.3), and the flags SSE raised on the way are RISC-V's
 * (invalid for a signaling operand or an invalid operation, nothing else
 * with a NaN result), so the cold path only writes that NaN.  False (no
 * code) where an operand or rd has no xmm register, or rd is the
 * subtrahend or divisor.
 */
static bool emit_binary_in_place(struct be *be, const struct insn *in, enum sse_op op)
{
	struct x86_buf *b = &be->b;
	bool commutes = op == SSE_ADD || op == SSE_MUL;
	int x1 = x64_freg(be, in->rs1);
	int x2 = op == SSE_SQRT ? x1 : x64_freg(be, in->rs2);
	if (x1 < 0 || x2 < 0)
		return false;
	int xd = x64_freg_for_write(be, in->rd);
	if (xd < 0 || (op != SSE_SQRT && xd == x2 && xd != x1 && !commutes))
		return false;
	if (op == SSE_SQRT)
		x_sse_rr(b, PFX_SD, false, SSE_SQRT, (unsigned)xd, (unsigned)x1);
	else if (xd == x1)
		x_sse_rr(b, PFX_SD, false, op, (unsigned)xd, (unsigned)x2);
	else if (xd == x2)   /* commutes */
		x_sse_rr(b, PFX_SD, false, op, (unsigned)xd, (unsigned)x1);
	else {
		x_sse_rr(b, PFX_66, false, SSE_MOVAPD, (unsigned)xd, (unsigned)x1);
		x_sse_rr(b, PFX_SD, false, op, (unsigned)xd, (unsigned)x2);
	}
	x_sse_rr(b, PFX_66, false, SSE_UCOMI, (unsigned)xd, (unsigned)xd);
	struct slow *nan = x64_add_slow(be, SL_FP_NAN, x_jcc32(b, CC_P));
	nan->xmm = xd;
	nan->resume = b->p;
	be->dirty |= FREG_BIT(in->rd);
	return true;
}

void x64_emit_fp_nan(struct be *be, struct slow *s)
{
	struct x86_buf *b = &be->b;
	x_mov_imm(b, RAX, 0x7ff8000000000000ull);
	x_sse_rr(b, PFX_66, true, SSE_MOVD_TO_X, (unsigned)s->xmm, RAX);
	x_patch(b, x_jmp32(b), s->resume);
}

static void emit_binary(struct be *be, struct slow *s, const struct insn *in, bool single,
			enum sse_op op)
{
	if (!single && emit_binary_in_place(be, in, op))
		return;
	if (single) {
		emit_boxed(be, s, in->rs1);
		if (op != SSE_SQRT)
			emit_boxed(be, s, in->rs2);
	}
	if (op == SSE_SQRT) {
		f_op(be, single, SSE_SQRT, XMM0, in->rs1);
	} else {
		f_get(be, single, XMM0, in->rs1);
		f_op(be, single, op, XMM0, in->rs2);
	}
	emit_result(be, s, in, single);
}

/* rd = +-(rs1 * rs2) +- rs3, fused: x86's 231 form with rs3 as the addend. */
static void emit_fused(struct be *be, struct slow *s, const struct insn *in, bool single,
		       enum fma_op op)
{
	struct x86_buf *b = &be->b;
	if (single) {
		emit_boxed(be, s, in->rs1);
		emit_boxed(be, s, in->rs2);
		emit_boxed(be, s, in->rs3);
	}
	f_get(be, single, XMM0, in->rs3);
	f_get(be, single, XMM1, in->rs1);
	int x = single ? -1 : x64_freg(be, in->rs2);
	if (x >= 0)
		x_fma231_rr(b, true, op, XMM0, XMM1, (unsigned)x);
	else
		x_fma231_rm(b, !single, op, XMM0, XMM1, RBX, FOFF(in->rs2));
	emit_result(be, s, in, single);
}

/* FSGNJ/FSGNJN/FSGNJX: sign bit games on the raw bits, no flags. */
static void emit_sign_inject(struct be *be, struct slow *s, const struct insn *in, bool single,
			     unsigned kind)
{
	struct x86_buf *b = &be->b;
	if (single) {
		emit_boxed(be, s, in->rs1);
		emit_boxed(be, s, in->rs2);
	}
	if (in->rs1 == in->rs2 && kind == 0) {   /* fmv */
		emit_load_f(be, in->rs1);
		emit_store_f(be, in->rd, single);
		return;
	}
	emit_load_f(be, in->rs1);
	x_mov_rr(b, true, RDX, RAX);
	emit_load_f(be, in->rs2);
	x_mov_rr(b, true, RCX, RAX);
	if (!single)
		x_shift_ri(b, true, SH_SHR, RCX, 32);   /* the dword holding the sign bit */
	if (kind == 1)
		x_f7(b, false, 2, RCX);                    /* not: FSGNJN */
	x_alu_ri(b, false, ALU_AND, RCX, (int32_t)0x80000000u);
	if (!single)
		x_shift_ri(b, true, SH_SHL, RCX, 32);
	x_mov_rr(b, true, RAX, RDX);
	if (kind != 2) {                                   /* clear rs1's sign */
		x_shift_ri(b, true, SH_SHL, RAX, single ? 33 : 1);
		x_shift_ri(b, true, SH_SHR, RAX, single ? 33 : 1);
	}
	x_alu_rr(b, true, ALU_XOR, RAX, RCX);                   /* or == xor here */
	emit_store_f(be, in->rd, single);
}

/* FEQ/FLT/FLE: ordered operands only (a NaN goes to the helper, which
 * knows which comparisons signal). */
static void emit_compare(struct be *be, struct slow *s, const struct insn *in, bool single,
			 enum x86_cc cc)
{
	struct x86_buf *b = &be->b;
	if (single) {
		emit_boxed(be, s, in->rs1);
		emit_boxed(be, s, in->rs2);
	}
	int x = single ? -1 : x64_freg(be, in->rs1);
	unsigned a = XMM0;
	if (x >= 0)
		a = (unsigned)x;
	else
		f_get(be, single, XMM0, in->rs1);
	f_op(be, single, SSE_UCOMI, a, in->rs2);
	to_slow(be, s, x_jcc32(b, CC_P));
	x_setcc(b, cc, RAX);
	x64_st_x(be, in->rd, RAX);
}

/* FCVT.{S,D}.{W,WU,L}: integer to float. */
static void emit_from_int(struct be *be, const struct insn *in, bool single, unsigned op)
{
	struct x86_buf *b = &be->b;
	bool wide = op != OP_FCVT_D_W && op != OP_FCVT_S_W;
	unsigned src = x64_xreg(be, in->rs1, RAX);
	if (op == OP_FCVT_D_WU || op == OP_FCVT_S_WU) {
		x_mov_rr(b, false, RCX, src);   /* zero-extends: a 64-bit convert is exact */
		src = RCX;
	}
	x_sse_rr(b, pfx_of(single), wide, SSE_CVTSI2, XMM0, src);
	emit_store_xmm0(be, in->rd, single);
}

/* FCVT.{W,L}.{S,D} with RTZ (truncating) or RNE: SSE's out-of-range and
 * NaN answer (the "integer indefinite", the minimum integer) goes to the
 * helper, which knows RISC-V's saturated results and flags. */
static void emit_to_int(struct be *be, struct slow *s, const struct insn *in, bool single,
			bool wide, bool truncate)
{
	struct x86_buf *b = &be->b;
	if (single)
		emit_boxed(be, s, in->rs1);
	enum sse_op op = truncate ? SSE_CVTT2SI : SSE_CVT2SI;
	int x = single ? -1 : x64_freg(be, in->rs1);
	if (x >= 0)
		x_sse_rr(b, PFX_SD, wide, op, RAX, (unsigned)x);
	else
		x_sse_rm(b, pfx_of(single), wide, op, RAX, RBX, FOFF(in->rs1));
	if (wide) {
		x_mov_rr(b, true, RCX, RAX);
		x_alu_ri(b, true, ALU_SUB, RCX, 1);   /* INT64_MIN - 1 overflows */
		to_slow(be, s, x_jcc32(b, CC_O));
	} else {
		x_alu_ri(b, false, ALU_CMP, RAX, (int32_t)0x80000000u);
		to_slow(be, s, x_jcc32(b, CC_E));
		x_movsxd(b, RAX, RAX);
	}
	x64_st_x(be, in->rd, RAX);
}

static bool host_has_fma(void)
{
	static int state;   /* 0 unknown, 1 yes, -1 no (idempotent: races are benign) */
	if (state == 0)
		state = __builtin_cpu_supports("fma") ? 1 : -1;
	return state > 0;
}

/* The rounding mode an op's inline path would use, if it has one:
 * RNE (static 0 or dynamic, checked at run time) or, for conversions to
 * integers, RTZ. */
static bool rm_rne(const struct insn *in) { return in->rm == 0 || in->rm == 7; }

/* Whether `in` runs inline, and what its inline path must check first
 * (NEED_*); -1: through the helper only. */
static int fp_plan(const struct insn *in)
{
	switch (in->op) {
	case OP_FADD_S: case OP_FSUB_S: case OP_FMUL_S: case OP_FDIV_S: case OP_FSQRT_S:
	case OP_FADD_D: case OP_FSUB_D: case OP_FMUL_D: case OP_FDIV_D: case OP_FSQRT_D:
	case OP_FCVT_D_L: case OP_FCVT_S_W: case OP_FCVT_S_WU: case OP_FCVT_S_L:
	case OP_FCVT_S_D:
		return rm_rne(in) ? NEED_RNE : -1;
	case OP_FMADD_S: case OP_FMSUB_S: case OP_FNMSUB_S: case OP_FNMADD_S:
	case OP_FMADD_D: case OP_FMSUB_D: case OP_FNMSUB_D: case OP_FNMADD_D:
		return rm_rne(in) && host_has_fma() ? NEED_RNE : -1;
	case OP_FSGNJ_S: case OP_FSGNJN_S: case OP_FSGNJX_S:
	case OP_FSGNJ_D: case OP_FSGNJN_D: case OP_FSGNJX_D:
	case OP_FMV_X_D: case OP_FMV_X_W: case OP_FMV_D_X: case OP_FMV_W_X:
	case OP_FEQ_S: case OP_FLT_S: case OP_FLE_S:
	case OP_FEQ_D: case OP_FLT_D: case OP_FLE_D:
	case OP_FCVT_D_S:   /* exact; a NaN goes to the helper */
		return 0;
	case OP_FCVT_D_W: case OP_FCVT_D_WU:   /* exact in any rounding mode */
		return NEED_RM;
	case OP_FCVT_W_S: case OP_FCVT_L_S: case OP_FCVT_W_D: case OP_FCVT_L_D:
		if (in->rm == 1)   /* RTZ: SSE's truncating conversion */
			return 0;
		return rm_rne(in) ? NEED_RNE : -1;
	default:
		return -1;
	}
}

unsigned be_fp_needs(const struct insn *in)
{
	if (in->op == OP_FLW || in->op == OP_FLD)
		return FPV_DIRTY;   /* skips the FS check and the FS update */
	int need = fp_plan(in);
	if (need < 0)
		return 0;
	unsigned v = FPV_DIRTY;
	if ((need & NEED_RNE) && in->rm == 7)
		v |= FPV_RNE;
	return v;
}

void be_fp_guard(struct be *be, unsigned needs)
{
	struct x86_buf *b = &be->b;
	struct slow *s = NULL;
	uint8_t *jcc[2];
	unsigned n = 0;
	if (needs & FPV_DIRTY) {
		x_load(b, false, RAX, RBX, HOFF(mstatus));
		x_f7(b, false, 2, RAX);   /* not eax */
		x_test_ri32(b, RAX, MSTATUS_FS_DIRTY);
		jcc[n++] = x_jcc32(b, CC_NE);
	}
	if (needs & FPV_RNE) {
		x_cmp_m8(b, RBX, HOFF(frm), 0);
		jcc[n++] = x_jcc32(b, CC_NE);
	}
	for (unsigned i = 0; i < n; i++) {
		if (!s) {
			/* Nothing of the block ran: the interpreter takes it
			 * from its start (and makes FS Dirty, ...). */
			s = x64_add_slow(be, SL_INTERP, jcc[i]);
			s->ppc = be->tb->ppc;
			s->idx = 0;
		} else {
			to_slow(be, s, jcc[i]);
		}
	}
	be->fp_ok |= needs;
}

void be_fp(struct be *be, be_helper_fn fn, const struct insn *in, bool touches_x)
{
	unsigned op = in->op;
	bool single = op < OP_FMADD_D;
	int need = fp_plan(in);
	if (need < 0) {
		be_helper(be, fn, in, touches_x);
		return;
	}
	struct slow *s = new_fp_slow(be, fn, in, touches_x);
	emit_preconditions(be, s, in, (unsigned)need);
	switch (op) {
	case OP_FADD_S: case OP_FSUB_S: case OP_FMUL_S: case OP_FDIV_S: case OP_FSQRT_S:
	case OP_FADD_D: case OP_FSUB_D: case OP_FMUL_D: case OP_FDIV_D: case OP_FSQRT_D: {
		static const enum sse_op sse[] = { SSE_ADD, SSE_SUB, SSE_MUL, SSE_DIV, SSE_SQRT };
		emit_binary(be, s, in, single, sse[op - (single ? OP_FADD_S : OP_FADD_D)]);
		break;
	}
	case OP_FMADD_S: case OP_FMSUB_S: case OP_FNMSUB_S: case OP_FNMADD_S:
	case OP_FMADD_D: case OP_FMSUB_D: case OP_FNMSUB_D: case OP_FNMADD_D: {
		/* RISC-V negates the product for FNMSUB/FNMADD, as x86's FNM forms do. */
		static const enum fma_op fma[] = { FMA_MADD, FMA_MSUB, FMA_NMADD, FMA_NMSUB };
		emit_fused(be, s, in, single, fma[op - (single ? OP_FMADD_S : OP_FMADD_D)]);
		break;
	}
	case OP_FSGNJ_S: case OP_FSGNJN_S: case OP_FSGNJX_S:
	case OP_FSGNJ_D: case OP_FSGNJN_D: case OP_FSGNJX_D:
		emit_sign_inject(be, s, in, single, op - (single ? OP_FSGNJ_S : OP_FSGNJ_D));
		break;
	case OP_FMV_X_D:
		emit_load_f(be, in->rs1);
		x64_st_x(be, in->rd, RAX);
		break;
	case OP_FMV_X_W:
		emit_load_f(be, in->rs1);
		x_movsxd(&be->b, RAX, RAX);
		x64_st_x(be, in->rd, RAX);
		break;
	case OP_FMV_D_X: case OP_FMV_W_X: {
		unsigned src = x64_xreg(be, in->rs1, RAX);
		if (src != RAX)
			x_mov_rr(&be->b, true, RAX, src);
		emit_store_f(be, in->rd, op == OP_FMV_W_X);
		break;
	}
	case OP_FEQ_S: case OP_FLT_S: case OP_FLE_S:
	case OP_FEQ_D: case OP_FLT_D: case OP_FLE_D: {
		static const enum x86_cc cc[] = { CC_E, CC_B, CC_BE };
		emit_compare(be, s, in, single, cc[op - (single ? OP_FEQ_S : OP_FEQ_D)]);
		break;
	}
	case OP_FCVT_D_W: case OP_FCVT_D_WU:
		emit_from_int(be, in, false, op);
		break;
	case OP_FCVT_D_L: case OP_FCVT_S_W: case OP_FCVT_S_WU: case OP_FCVT_S_L:
		emit_from_int(be, in, op != OP_FCVT_D_L, op);
		break;
	case OP_FCVT_W_S: case OP_FCVT_L_S: case OP_FCVT_W_D: case OP_FCVT_L_D:
		emit_to_int(be, s, in, single, op == OP_FCVT_L_S || op == OP_FCVT_L_D,
			    in->rm == 1);
		break;
	case OP_FCVT_D_S:
		emit_boxed(be, s, in->rs1);
		f_op(be, true, SSE_CVT, XMM0, in->rs1);
		emit_result(be, s, in, false);
		break;
	case OP_FCVT_S_D:
		f_op(be, false, SSE_CVT, XMM0, in->rs1);
		emit_result(be, s, in, true);
		break;
	default:
		break;
	}
	s->resume = be->b.p;
}

/* ldmxcsr with RNE and no flags: after the guest writes fflags, the flags
 * the host unit held may no longer be in them (fp_host's invariant). */
static void emit_mxcsr_fresh(struct be *be)
{
	struct x86_buf *b = &be->b;
	x_store32_imm(b, RBX, HOFF(jit_tmp), 0x1f80u);
	x_rex(b, false, 0, 0, RBX, false);
	x_byte(b, 0x0f);
	x_byte(b, 0xae);
	x_mem(b, 2, RBX, HOFF(jit_tmp));
}

/* fflags |= the flags inline ops left in MXCSR (fp_host_settle, inline):
 * the guest is about to read them. */
static void emit_settle(struct be *be)
{
	struct x86_buf *b = &be->b;
	x_rex(b, false, 0, 0, RBX, false);
	x_byte(b, 0x0f);
	x_byte(b, 0xae);
	x_mem(b, 3, RBX, HOFF(jit_tmp));   /* stmxcsr */
	x_load_ext(b, 1, false, RAX, RBX, HOFF(jit_tmp));
	x_alu_ri(b, false, ALU_AND, RAX, 63);
	x_mov_imm(b, RCX, (uint64_t)(uintptr_t)fp_host_flag_map);
	x_alu_rr(b, true, ALU_ADD, RCX, RAX);
	x_load_ext(b, 1, false, RAX, RCX, 0);
	x_alu_rm(b, false, ALU_OR, RAX, RBX, HOFF(fflags));
	x_store(b, false, RBX, HOFF(fflags), RAX);
}

/*
 * CSRRW/S/C[I] on fflags (1), frm (2) and fcsr (3): the FP code's own CSRs,
 * touched around quiet comparisons (frflags; flt; fsflags) and by libm, so
 * often that ending the block at each would dominate.  Any privilege may
 * access them; only mstatus.FS = Off makes them illegal (the interpreter
 * raises that).  A write sets FS to Dirty.
 */
void be_fcsr(struct be *be, const struct insn *in)
{
	struct x86_buf *b = &be->b;
	unsigned csr = (unsigned)in->imm;
	if (!(be->fp_ok & FPV_DIRTY)) {   /* Dirty is not Off */
		x_load(b, false, RAX, RBX, HOFF(mstatus));
		x_test_ri32(b, RAX, MSTATUS_FS_DIRTY);
		x64_add_slow(be, SL_INTERP, x_jcc32(b, CC_E));
	}
	bool imm = in->op >= OP_CSRRWI;
	unsigned kind = in->op - (imm ? OP_CSRRWI : OP_CSRRW);   /* RW RS RC */
	/* The decoder turns rd x0 into the sink 32: a plain write (fsflags rs)
	 * reads nothing, so it need not settle what MXCSR holds first. */
	bool reads = in->rd != 0 && in->rd != 32;
	if (csr != 2 && (reads || kind != 0))
		emit_settle(be);
	if (csr == 1) {
		x_load(b, false, RDX, RBX, HOFF(fflags));
	} else if (csr == 2) {
		x_load(b, false, RDX, RBX, HOFF(frm));
	} else {
		x_load(b, false, RDX, RBX, HOFF(frm));
		x_shift_ri(b, false, SH_SHL, RDX, 5);
		x_alu_rm(b, false, ALU_OR, RDX, RBX, HOFF(fflags));
	}
	if (kind == 0 || in->rs1 != 0) {
		if (imm)
			x_mov_imm(b, RCX, in->rs1);
		else
			x64_ld_x(be, RCX, in->rs1);
		x_mov_rr(b, false, RAX, kind == 1 ? RDX : RCX);
		if (kind == 1) {
			x_alu_rr(b, false, ALU_OR, RAX, RCX);
		} else if (kind == 2) {
			x_f7(b, false, 2, RAX);   /* not */
			x_alu_rr(b, false, ALU_AND, RAX, RDX);
		}
		if (csr != 2) {
			x_mov_rr(b, false, RCX, RAX);
			x_alu_ri(b, false, ALU_AND, RCX, 0x1f);
			x_store(b, false, RBX, HOFF(fflags), RCX);
			emit_mxcsr_fresh(be);
		}
		if (csr != 1) {
			if (csr == 3)
				x_shift_ri(b, false, SH_SHR, RAX, 5);
			x_alu_ri(b, false, ALU_AND, RAX, 7);
			x_store(b, false, RBX, HOFF(frm), RAX);
		}
		x_alu_mi(b, false, ALU_OR, RBX, HOFF(mstatus), (int32_t)MSTATUS_FS_DIRTY);
		/* What the guard checked about fflags/frm no longer holds. */
		be->fp_ok |= FPV_DIRTY;
		if (csr != 1)
			be->fp_ok &= ~(unsigned)FPV_RNE;
	}
	x64_st_x(be, in->rd, RDX);
}

void x64_emit_fp_slow(struct be *be, struct slow *s)
{
	be->narrow = s->narrow;
	struct x86_buf *b = &be->b;
	/* The exact helper, on registers the fast path did not change. */
	uint64_t saved = x64_caller_saved_mask(be);
	x64_write_back(be, s->touches_x ? s->dirty : s->dirty & saved, 0);
	x_mov_rr(b, true, RDI, RBX);
	x_mov_imm(b, RSI, (uint64_t)(uintptr_t)s->insn);
	x64_call_abs(b, (const void *)s->fn);
	x_test_rr(b, false, RAX, RAX);
	uint8_t *fail = x_jcc32(b, CC_NE);
	x64_reload(be, s->touches_x ? 0 : 2);
	x_patch(b, x_jmp32(b), s->resume);
	x_patch(b, fail, b->p);
	uint64_t live = s->touches_x ? 0 : s->dirty & ~saved;
	x_alu_ri(b, false, ALU_CMP, RAX, 1);
	uint8_t *trap = x_jcc32(b, CC_NE);
	x64_emit_exit(be, s->ppc, s->idx, JIT_ST_INTERP, live);
	x_patch(b, trap, b->p);
	x64_emit_exit(be, s->ppc, s->idx, JIT_ST_TRAP, live);
}

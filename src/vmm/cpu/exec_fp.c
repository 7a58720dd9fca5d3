/*
 * F and D computational instructions: operand unboxing, dynamic rounding
 * mode resolution, the calls into fpu.h's pure arithmetic, NaN-boxing of
 * single-precision results, and fflags accumulation.
 *
 * Rules: with mstatus.FS = Off every F/D instruction is illegal; rm = 7
 * takes frm, and an frm of 5..7 makes the instruction illegal (static rm 5
 * and 6 are rejected at decode).  Writing an f register or raising a flag
 * sets FS to Dirty.  FMV.X.W moves the raw low 32 bits (no unboxing);
 * every other single-precision operand is unboxed (improperly boxed values
 * read as the canonical NaN).  Spec: unprivileged ISA ch. 11-12.
 */
#include "vmm/cpu/fp_host.h"
#include "vmm/cpu/fpu.h"
#include "vmm/cpu/hart_internal.h"
#include "vmm/cpu/ops.h"

static inline uint64_t sx32(uint32_t v) { return (uint64_t)(int64_t)(int32_t)v; }

int fp_exec(struct hart *h, const struct insn *in)
{
	if (!(h->mstatus & MSTATUS_FS))
		return -1;
	unsigned rm = in->rm == 7 ? h->frm : in->rm;
	unsigned fl = 0;
	uint64_t *f = h->f, *x = h->x;
	uint64_t a = f[in->rs1], b = f[in->rs2], c = f[in->rs3];
	uint32_t sa = fp_unbox32(a), sb = fp_unbox32(b), sc = fp_unbox32(c);
	uint64_t fr = 0;       /* f-register result */
	bool to_f = true;

	switch (in->op) {
	/* Ops without a rounding mode need no rm check. */
	case OP_FSGNJ_S: fr = fp_box32((sa & 0x7fffffffu) | (sb & 0x80000000u)); goto write;
	case OP_FSGNJN_S: fr = fp_box32((sa & 0x7fffffffu) | (~sb & 0x80000000u)); goto write;
	case OP_FSGNJX_S: fr = fp_box32(sa ^ (sb & 0x80000000u)); goto write;
	case OP_FSGNJ_D: fr = (a & ~(1ull << 63)) | (b & (1ull << 63)); goto write;
	case OP_FSGNJN_D: fr = (a & ~(1ull << 63)) | (~b & (1ull << 63)); goto write;
	case OP_FSGNJX_D: fr = a ^ (b & (1ull << 63)); goto write;
	case OP_FMIN_S: fr = fp_box32(f32_min(sa, sb, &fl)); goto write;
	case OP_FMAX_S: fr = fp_box32(f32_max(sa, sb, &fl)); goto write;
	case OP_FMIN_D: fr = f64_min(a, b, &fl); goto write;
	case OP_FMAX_D: fr = f64_max(a, b, &fl); goto write;
	case OP_FMV_X_W: x[in->rd] = sx32((uint32_t)a); return 0;
	case OP_FMV_X_D: x[in->rd] = a; return 0;
	case OP_FMV_W_X: fr = fp_box32((uint32_t)x[in->rs1]); goto write;
	case OP_FMV_D_X: fr = x[in->rs1]; goto write;
	case OP_FCLASS_S: x[in->rd] = f32_classify(sa); return 0;
	case OP_FCLASS_D: x[in->rd] = f64_classify(a); return 0;
	case OP_FEQ_S: x[in->rd] = (uint64_t)f32_eq(sa, sb, &fl); to_f = false; goto write;
	case OP_FLT_S: x[in->rd] = (uint64_t)f32_lt(sa, sb, &fl); to_f = false; goto write;
	case OP_FLE_S: x[in->rd] = (uint64_t)f32_le(sa, sb, &fl); to_f = false; goto write;
	case OP_FEQ_D: x[in->rd] = (uint64_t)f64_eq(a, b, &fl); to_f = false; goto write;
	case OP_FLT_D: x[in->rd] = (uint64_t)f64_lt(a, b, &fl); to_f = false; goto write;
	case OP_FLE_D: x[in->rd] = (uint64_t)f64_le(a, b, &fl); to_f = false; goto write;
	case OP_FCVT_D_S: fr = f32_to_f64(sa, &fl); goto write;
	default:
		break;
	}

	if (rm > FP_RMM)
		return -1;
	if (!h->fp_soft) {
		/* Operands as fpu.c takes them: single precision unboxed. */
		bool sp = in->op <= OP_FMV_W_X;
		uint64_t r;
		if (fp_host(h->fp_owner, in->op, sp ? sa : a, sp ? sb : b, sp ? sc : c, rm, &r,
			    &fl)) {
			fr = sp ? fp_box32((uint32_t)r) : r;
			goto write;
		}
	}
	switch (in->op) {
	case OP_FMADD_S: fr = fp_box32(f32_muladd(sa, sb, sc, 0, 0, rm, &fl)); break;
	case OP_FMSUB_S: fr = fp_box32(f32_muladd(sa, sb, sc, 0, 1, rm, &fl)); break;
	case OP_FNMSUB_S: fr = fp_box32(f32_muladd(sa, sb, sc, 1, 0, rm, &fl)); break;
	case OP_FNMADD_S: fr = fp_box32(f32_muladd(sa, sb, sc, 1, 1, rm, &fl)); break;
	case OP_FMADD_D: fr = f64_muladd(a, b, c, 0, 0, rm, &fl); break;
	case OP_FMSUB_D: fr = f64_muladd(a, b, c, 0, 1, rm, &fl); break;
	case OP_FNMSUB_D: fr = f64_muladd(a, b, c, 1, 0, rm, &fl); break;
	case OP_FNMADD_D: fr = f64_muladd(a, b, c, 1, 1, rm, &fl); break;
	case OP_FADD_S: fr = fp_box32(f32_add(sa, sb, rm, &fl)); break;
	case OP_FSUB_S: fr = fp_box32(f32_sub(sa, sb, rm, &fl)); break;
	case OP_FMUL_S: fr = fp_box32(f32_mul(sa, sb, rm, &fl)); break;
	case OP_FDIV_S: fr = fp_box32(f32_div(sa, sb, rm, &fl)); break;
	case OP_FSQRT_S: fr = fp_box32(f32_sqrt(sa, rm, &fl)); break;
	case OP_FADD_D: fr = f64_add(a, b, rm, &fl); break;
	case OP_FSUB_D: fr = f64_sub(a, b, rm, &fl); break;
	case OP_FMUL_D: fr = f64_mul(a, b, rm, &fl); break;
	case OP_FDIV_D: fr = f64_div(a, b, rm, &fl); break;
	case OP_FSQRT_D: fr = f64_sqrt(a, rm, &fl); break;
	case OP_FCVT_S_D: fr = fp_box32(f64_to_f32(a, rm, &fl)); break;
	case OP_FCVT_S_W: fr = fp_box32(i32_to_f32((int32_t)x[in->rs1], rm, &fl)); break;
	case OP_FCVT_S_WU: fr = fp_box32(u32_to_f32((uint32_t)x[in->rs1], rm, &fl)); break;
	case OP_FCVT_S_L: fr = fp_box32(i64_to_f32((int64_t)x[in->rs1], rm, &fl)); break;
	case OP_FCVT_S_LU: fr = fp_box32(u64_to_f32(x[in->rs1], rm, &fl)); break;
	case OP_FCVT_D_W: fr = i32_to_f64((int32_t)x[in->rs1], rm, &fl); break;
	case OP_FCVT_D_WU: fr = u32_to_f64((uint32_t)x[in->rs1], rm, &fl); break;
	case OP_FCVT_D_L: fr = i64_to_f64((int64_t)x[in->rs1], rm, &fl); break;
	case OP_FCVT_D_LU: fr = u64_to_f64(x[in->rs1], rm, &fl); break;
	default:
		to_f = false;
		switch (in->op) {
		case OP_FCVT_W_S: x[in->rd] = sx32((uint32_t)f32_to_i32(sa, rm, &fl)); break;
		case OP_FCVT_WU_S: x[in->rd] = sx32(f32_to_u32(sa, rm, &fl)); break;
		case OP_FCVT_L_S: x[in->rd] = (uint64_t)f32_to_i64(sa, rm, &fl); break;
		case OP_FCVT_LU_S: x[in->rd] = f32_to_u64(sa, rm, &fl); break;
		case OP_FCVT_W_D: x[in->rd] = sx32((uint32_t)f64_to_i32(a, rm, &fl)); break;
		case OP_FCVT_WU_D: x[in->rd] = sx32(f64_to_u32(a, rm, &fl)); break;
		case OP_FCVT_L_D: x[in->rd] = (uint64_t)f64_to_i64(a, rm, &fl); break;
		case OP_FCVT_LU_D: x[in->rd] = f64_to_u64(a, rm, &fl); break;
		default: return -1;
		}
		break;
	}
write:
	if (to_f)
		f[in->rd] = fr;
	if (to_f || fl) {
		h->fflags |= fl;
		h->mstatus |= MSTATUS_FS;
	}
	return 0;
}

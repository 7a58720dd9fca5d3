/*
 * Instruction decoder: RV64GC encodings to struct insn, and basic-block
 * formation.  Compressed instructions decode straight to the operation of
 * their 32-bit expansion (unprivileged ISA ch. 16, "RVC"), so the executor
 * never sees a 16-bit form.  Immediates are sign-extended and register
 * numbers extracted here once; writes to x0 are redirected to the sink x[32].
 *
 * A block holds at most BLOCK_MAX_INSNS instructions from one 4 KiB page and
 * ends after the first instruction for which op_ends_block() holds (but not
 * at one on an FP CSR, see ops.h), or before
 * a 32-bit instruction that straddles the page end (emitted as OP_CROSS).
 * Reserved and unsupported encodings become OP_ILLEGAL with the raw bits.
 */
#include "vmm/cpu/hart_internal.h"
#include "vmm/cpu/ops.h"

#include <string.h>

static inline uint32_t bits(uint32_t v, unsigned hi, unsigned lo)
{
	return (v >> lo) & ((1u << (hi - lo + 1)) - 1);
}

static inline int32_t sext(uint32_t v, unsigned width)
{
	return (int32_t)(v << (32 - width)) >> (32 - width);
}

static bool writes_xrd(unsigned op)
{
	switch (op) {
	case OP_ILLEGAL: case OP_CROSS:
	case OP_BEQ: case OP_BNE: case OP_BLT: case OP_BGE: case OP_BLTU: case OP_BGEU:
	case OP_SB: case OP_SH: case OP_SW: case OP_SD:
	case OP_FENCE: case OP_PAUSE: case OP_FENCE_I: case OP_ECALL: case OP_EBREAK:
	case OP_MRET: case OP_SRET: case OP_WFI: case OP_SFENCE_VMA:
	case OP_FLW: case OP_FLD: case OP_FSW: case OP_FSD:
		return false;
	default:
		break;
	}
	if (op >= OP_FP_FIRST && op <= OP_FP_LAST) {
		switch (op) {
		case OP_FCVT_W_S: case OP_FCVT_WU_S: case OP_FCVT_L_S: case OP_FCVT_LU_S:
		case OP_FMV_X_W: case OP_FEQ_S: case OP_FLT_S: case OP_FLE_S: case OP_FCLASS_S:
		case OP_FCVT_W_D: case OP_FCVT_WU_D: case OP_FCVT_L_D: case OP_FCVT_LU_D:
		case OP_FMV_X_D: case OP_FEQ_D: case OP_FLT_D: case OP_FLE_D: case OP_FCLASS_D:
			return true;
		default:
			return false;
		}
	}
	return true;
}

static unsigned decode_amo(uint32_t raw)
{
	/* funct5 -> word op; unlisted funct5 values stay OP_ILLEGAL (0). */
	static const uint8_t w_ops[32] = {
		[0x02] = OP_LR_W, [0x03] = OP_SC_W, [0x01] = OP_AMOSWAP_W,
		[0x00] = OP_AMOADD_W, [0x04] = OP_AMOXOR_W, [0x0c] = OP_AMOAND_W,
		[0x08] = OP_AMOOR_W, [0x10] = OP_AMOMIN_W, [0x14] = OP_AMOMAX_W,
		[0x18] = OP_AMOMINU_W, [0x1c] = OP_AMOMAXU_W,
	};
	unsigned f3 = bits(raw, 14, 12);
	unsigned op = w_ops[bits(raw, 31, 27)];
	if ((f3 != 2 && f3 != 3) || op == OP_ILLEGAL)
		return OP_ILLEGAL;
	if (op == OP_LR_W && bits(raw, 24, 20) != 0)
		return OP_ILLEGAL;
	return f3 == 3 ? op + (OP_LR_D - OP_LR_W) : op;
}

/* rm is legal statically unless 5 or 6 (7 = dynamic, checked at run time). */
static bool rm_ok(uint32_t raw)
{
	unsigned rm = bits(raw, 14, 12);
	return rm != 5 && rm != 6;
}

static unsigned decode_opfp(uint32_t raw)
{
	unsigned f7 = bits(raw, 31, 25), f3 = bits(raw, 14, 12), rs2 = bits(raw, 24, 20);
	unsigned d = f7 & 1;   /* fmt: 0 = S, 1 = D */
	unsigned base = d ? OP_FMADD_D - OP_FMADD_S : 0;
	switch (f7 >> 1) {
	case 0x00: return rm_ok(raw) ? OP_FADD_S + base : OP_ILLEGAL;
	case 0x02: return rm_ok(raw) ? OP_FSUB_S + base : OP_ILLEGAL;
	case 0x04: return rm_ok(raw) ? OP_FMUL_S + base : OP_ILLEGAL;
	case 0x06: return rm_ok(raw) ? OP_FDIV_S + base : OP_ILLEGAL;
	case 0x16: return rs2 == 0 && rm_ok(raw) ? OP_FSQRT_S + base : OP_ILLEGAL;
	case 0x08:
		if (f3 > 2)
			return OP_ILLEGAL;
		return OP_FSGNJ_S + f3 + base;
	case 0x0a:
		if (f3 > 1)
			return OP_ILLEGAL;
		return OP_FMIN_S + f3 + base;
	case 0x10:   /* fcvt.s.d (f7 0x20, rs2 1) / fcvt.d.s (f7 0x21, rs2 0) */
		if (!rm_ok(raw))
			return OP_ILLEGAL;
		if (!d && rs2 == 1)
			return OP_FCVT_S_D;
		if (d && rs2 == 0)
			return OP_FCVT_D_S;
		return OP_ILLEGAL;
	case 0x28:
		if (f3 == 2) return OP_FEQ_S + base;
		if (f3 == 1) return OP_FLT_S + base;
		if (f3 == 0) return OP_FLE_S + base;
		return OP_ILLEGAL;
	case 0x30:
		if (rs2 > 3 || !rm_ok(raw))
			return OP_ILLEGAL;
		return OP_FCVT_W_S + rs2 + base;
	case 0x34:
		if (rs2 > 3 || !rm_ok(raw))
			return OP_ILLEGAL;
		return OP_FCVT_S_W + rs2 + base;
	case 0x38:
		if (rs2 != 0)
			return OP_ILLEGAL;
		if (f3 == 0) return OP_FMV_X_W + base;
		if (f3 == 1) return OP_FCLASS_S + base;
		return OP_ILLEGAL;
	case 0x3c:
		if (rs2 != 0 || f3 != 0)
			return OP_ILLEGAL;
		return OP_FMV_W_X + base;
	default:
		return OP_ILLEGAL;
	}
}

static unsigned decode_system(uint32_t raw, struct insn *in)
{
	unsigned f3 = bits(raw, 14, 12);
	if (f3 != 0 && f3 != 4) {
		static const unsigned csr_ops[8] = {
			0, OP_CSRRW, OP_CSRRS, OP_CSRRC, 0, OP_CSRRWI, OP_CSRRSI, OP_CSRRCI,
		};
		in->imm = (int32_t)bits(raw, 31, 20);
		return csr_ops[f3];
	}
	if (f3 == 4)
		return OP_ILLEGAL;
	switch (raw) {
	case 0x00000073: return OP_ECALL;
	case 0x00100073: return OP_EBREAK;
	case 0x10200073: return OP_SRET;
	case 0x30200073: return OP_MRET;
	case 0x10500073: return OP_WFI;
	}
	if (bits(raw, 31, 25) == 0x09 && bits(raw, 11, 7) == 0)
		return OP_SFENCE_VMA;
	return OP_ILLEGAL;
}

static unsigned decode32(uint32_t raw, struct insn *in)
{
	unsigned opc = raw & 0x7f, f3 = bits(raw, 14, 12), f7 = bits(raw, 31, 25);
	int32_t imm_i = (int32_t)raw >> 20;
	int32_t imm_s = (int32_t)(raw & 0xfe000000) >> 20 | (int32_t)bits(raw, 11, 7);
	in->rd = (uint8_t)bits(raw, 11, 7);
	in->rs1 = (uint8_t)bits(raw, 19, 15);
	in->rs2 = (uint8_t)bits(raw, 24, 20);
	in->rs3 = (uint8_t)bits(raw, 31, 27);
	in->rm = (uint8_t)f3;
	in->imm = imm_i;
	switch (opc) {
	case 0x37:
		in->imm = (int32_t)(raw & 0xfffff000);
		return OP_LUI;
	case 0x17:
		in->imm = (int32_t)(raw & 0xfffff000);
		return OP_AUIPC;
	case 0x6f:
		in->imm = sext(bits(raw, 31, 31) << 20 | bits(raw, 19, 12) << 12 |
			       bits(raw, 20, 20) << 11 | bits(raw, 30, 21) << 1, 21);
		return OP_JAL;
	case 0x67:
		return f3 == 0 ? OP_JALR : OP_ILLEGAL;
	case 0x63: {
		static const unsigned br[8] = {
			OP_BEQ, OP_BNE, OP_ILLEGAL, OP_ILLEGAL, OP_BLT, OP_BGE, OP_BLTU, OP_BGEU,
		};
		in->imm = sext(bits(raw, 31, 31) << 12 | bits(raw, 7, 7) << 11 |
			       bits(raw, 30, 25) << 5 | bits(raw, 11, 8) << 1, 13);
		return br[f3];
	}
	case 0x03: {
		static const unsigned ld[8] = {
			OP_LB, OP_LH, OP_LW, OP_LD, OP_LBU, OP_LHU, OP_LWU, OP_ILLEGAL,
		};
		return ld[f3];
	}
	case 0x23:
		in->imm = imm_s;
		return f3 < 4 ? OP_SB + f3 : OP_ILLEGAL;
	case 0x13:
		switch (f3) {
		case 0: return OP_ADDI;
		case 2: return OP_SLTI;
		case 3: return OP_SLTIU;
		case 4: return OP_XORI;
		case 6: return OP_ORI;
		case 7: return OP_ANDI;
		case 1:
			in->imm = (int32_t)bits(raw, 25, 20);
			return bits(raw, 31, 26) == 0 ? OP_SLLI : OP_ILLEGAL;
		default:
			in->imm = (int32_t)bits(raw, 25, 20);
			if (bits(raw, 31, 26) == 0)
				return OP_SRLI;
			return bits(raw, 31, 26) == 0x10 ? OP_SRAI : OP_ILLEGAL;
		}
	case 0x1b:
		switch (f3) {
		case 0: return OP_ADDIW;
		case 1:
			in->imm = (int32_t)bits(raw, 24, 20);
			return f7 == 0 ? OP_SLLIW : OP_ILLEGAL;
		case 5:
			in->imm = (int32_t)bits(raw, 24, 20);
			if (f7 == 0)
				return OP_SRLIW;
			return f7 == 0x20 ? OP_SRAIW : OP_ILLEGAL;
		default:
			return OP_ILLEGAL;
		}
	case 0x33: {
		static const unsigned base[8] = {
			OP_ADD, OP_SLL, OP_SLT, OP_SLTU, OP_XOR, OP_SRL, OP_OR, OP_AND,
		};
		if (f7 == 0)
			return base[f3];
		if (f7 == 1)
			return OP_MUL + f3;
		if (f7 == 0x20 && f3 == 0)
			return OP_SUB;
		if (f7 == 0x20 && f3 == 5)
			return OP_SRA;
		return OP_ILLEGAL;
	}
	case 0x3b:
		if (f7 == 0) {
			if (f3 == 0) return OP_ADDW;
			if (f3 == 1) return OP_SLLW;
			if (f3 == 5) return OP_SRLW;
			return OP_ILLEGAL;
		}
		if (f7 == 0x20) {
			if (f3 == 0) return OP_SUBW;
			if (f3 == 5) return OP_SRAW;
			return OP_ILLEGAL;
		}
		if (f7 == 1) {
			static const unsigned mw[8] = {
				OP_MULW, OP_ILLEGAL, OP_ILLEGAL, OP_ILLEGAL,
				OP_DIVW, OP_DIVUW, OP_REMW, OP_REMUW,
			};
			return mw[f3];
		}
		return OP_ILLEGAL;
	case 0x0f:
		/* FENCE ignores its unused fields (they are hints); FENCE.I too.
		 * PAUSE (Zihintpause) is FENCE with pred = W, succ = 0: spin-wait
		 * loops (Linux's cpu_relax) use it, so the host may yield. */
		if (raw == 0x0100000fu)
			return OP_PAUSE;
		if (f3 == 0)
			return OP_FENCE;
		return f3 == 1 ? OP_FENCE_I : OP_ILLEGAL;
	case 0x73:
		return decode_system(raw, in);
	case 0x2f:
		return decode_amo(raw);
	case 0x07:
		if (f3 == 2) return OP_FLW;
		if (f3 == 3) return OP_FLD;
		return OP_ILLEGAL;
	case 0x27:
		in->imm = imm_s;
		if (f3 == 2) return OP_FSW;
		if (f3 == 3) return OP_FSD;
		return OP_ILLEGAL;
	case 0x43: case 0x47: case 0x4b: case 0x4f: {
		unsigned fmt = bits(raw, 26, 25);
		if (fmt > 1 || !rm_ok(raw))
			return OP_ILLEGAL;
		unsigned op = OP_FMADD_S + ((opc - 0x43) >> 2);
		return fmt ? op + (OP_FMADD_D - OP_FMADD_S) : op;
	}
	case 0x53:
		return decode_opfp(raw);
	default:
		return OP_ILLEGAL;
	}
}

/* Register number of a 3-bit compressed register field. */
static inline uint8_t creg(uint32_t v) { return (uint8_t)(8 + v); }

static unsigned decode16(uint32_t c, struct insn *in)
{
	unsigned q = c & 3, f3 = bits(c, 15, 13);
	uint8_t rd = (uint8_t)bits(c, 11, 7), rs2 = (uint8_t)bits(c, 6, 2);
	uint8_t rdp = creg(bits(c, 4, 2)), rs1p = creg(bits(c, 9, 7));
	int32_t imm6 = sext(bits(c, 12, 12) << 5 | bits(c, 6, 2), 6);
	in->rm = 7;
	if (q == 0) {
		uint32_t uw = bits(c, 12, 10) << 3 | bits(c, 6, 6) << 2 | bits(c, 5, 5) << 6;
		uint32_t ud = bits(c, 12, 10) << 3 | bits(c, 6, 5) << 6;
		switch (f3) {
		case 0: {
			uint32_t nz = bits(c, 12, 11) << 4 | bits(c, 10, 7) << 6 |
				      bits(c, 6, 6) << 2 | bits(c, 5, 5) << 3;
			if (nz == 0)
				return OP_ILLEGAL;
			in->rd = rdp; in->rs1 = 2; in->imm = (int32_t)nz;
			return OP_ADDI;
		}
		case 1: in->rd = rdp; in->rs1 = rs1p; in->imm = (int32_t)ud; return OP_FLD;
		case 2: in->rd = rdp; in->rs1 = rs1p; in->imm = (int32_t)uw; return OP_LW;
		case 3: in->rd = rdp; in->rs1 = rs1p; in->imm = (int32_t)ud; return OP_LD;
		case 5: in->rs2 = rdp; in->rs1 = rs1p; in->imm = (int32_t)ud; return OP_FSD;
		case 6: in->rs2 = rdp; in->rs1 = rs1p; in->imm = (int32_t)uw; return OP_SW;
		case 7: in->rs2 = rdp; in->rs1 = rs1p; in->imm = (int32_t)ud; return OP_SD;
		default: return OP_ILLEGAL;
		}
	}
	if (q == 1) {
		switch (f3) {
		case 0: in->rd = rd; in->rs1 = rd; in->imm = imm6; return OP_ADDI;
		case 1:
			if (rd == 0)
				return OP_ILLEGAL;
			in->rd = rd; in->rs1 = rd; in->imm = imm6;
			return OP_ADDIW;
		case 2: in->rd = rd; in->rs1 = 0; in->imm = imm6; return OP_ADDI;
		case 3:
			if (rd == 2) {
				int32_t nz = sext(bits(c, 12, 12) << 9 | bits(c, 6, 6) << 4 |
						  bits(c, 5, 5) << 6 | bits(c, 4, 3) << 7 |
						  bits(c, 2, 2) << 5, 10);
				if (nz == 0)
					return OP_ILLEGAL;
				in->rd = 2; in->rs1 = 2; in->imm = nz;
				return OP_ADDI;
			}
			if (imm6 == 0)
				return OP_ILLEGAL;
			in->rd = rd; in->imm = (int32_t)((uint32_t)imm6 << 12);
			return OP_LUI;
		case 4: {
			unsigned f2 = bits(c, 11, 10);
			in->rd = rs1p; in->rs1 = rs1p; in->rs2 = rdp;
			if (f2 == 0) { in->imm = (int32_t)(bits(c, 12, 12) << 5 | bits(c, 6, 2)); return OP_SRLI; }
			if (f2 == 1) { in->imm = (int32_t)(bits(c, 12, 12) << 5 | bits(c, 6, 2)); return OP_SRAI; }
			if (f2 == 2) { in->imm = imm6; return OP_ANDI; }
			static const unsigned arith[8] = {
				OP_SUB, OP_XOR, OP_OR, OP_AND, OP_SUBW, OP_ADDW, OP_ILLEGAL, OP_ILLEGAL,
			};
			return arith[bits(c, 12, 12) << 2 | bits(c, 6, 5)];
		}
		case 5:
			in->rd = 0;
			in->imm = sext(bits(c, 12, 12) << 11 | bits(c, 11, 11) << 4 |
				       bits(c, 10, 9) << 8 | bits(c, 8, 8) << 10 |
				       bits(c, 7, 7) << 6 | bits(c, 6, 6) << 7 |
				       bits(c, 5, 3) << 1 | bits(c, 2, 2) << 5, 12);
			return OP_JAL;
		default:
			in->rs1 = rs1p; in->rs2 = 0;
			in->imm = sext(bits(c, 12, 12) << 8 | bits(c, 11, 10) << 3 |
				       bits(c, 6, 5) << 6 | bits(c, 4, 3) << 1 |
				       bits(c, 2, 2) << 5, 9);
			return f3 == 6 ? OP_BEQ : OP_BNE;
		}
	}
	/* q == 2 */
	switch (f3) {
	case 0:
		in->rd = rd; in->rs1 = rd; in->imm = (int32_t)(bits(c, 12, 12) << 5 | bits(c, 6, 2));
		return OP_SLLI;
	case 1:
		in->rd = rd; in->rs1 = 2;
		in->imm = (int32_t)(bits(c, 12, 12) << 5 | bits(c, 6, 5) << 3 | bits(c, 4, 2) << 6);
		return OP_FLD;
	case 2:
		if (rd == 0)
			return OP_ILLEGAL;
		in->rd = rd; in->rs1 = 2;
		in->imm = (int32_t)(bits(c, 12, 12) << 5 | bits(c, 6, 4) << 2 | bits(c, 3, 2) << 6);
		return OP_LW;
	case 3:
		if (rd == 0)
			return OP_ILLEGAL;
		in->rd = rd; in->rs1 = 2;
		in->imm = (int32_t)(bits(c, 12, 12) << 5 | bits(c, 6, 5) << 3 | bits(c, 4, 2) << 6);
		return OP_LD;
	case 4:
		if (!bits(c, 12, 12)) {
			if (rs2 == 0) {
				if (rd == 0)
					return OP_ILLEGAL;
				in->rd = 0; in->rs1 = rd; in->imm = 0;
				return OP_JALR;
			}
			in->rd = rd; in->rs1 = 0; in->rs2 = rs2;
			return OP_ADD;
		}
		if (rd == 0 && rs2 == 0)
			return OP_EBREAK;
		if (rs2 == 0) {
			in->rd = 1; in->rs1 = rd; in->imm = 0;
			return OP_JALR;
		}
		in->rd = rd; in->rs1 = rd; in->rs2 = rs2;
		return OP_ADD;
	case 5:
		in->rs1 = 2; in->rs2 = rs2;
		in->imm = (int32_t)(bits(c, 12, 10) << 3 | bits(c, 9, 7) << 6);
		return OP_FSD;
	case 6:
		in->rs1 = 2; in->rs2 = rs2;
		in->imm = (int32_t)(bits(c, 12, 9) << 2 | bits(c, 8, 7) << 6);
		return OP_SW;
	default:
		in->rs1 = 2; in->rs2 = rs2;
		in->imm = (int32_t)(bits(c, 12, 10) << 3 | bits(c, 9, 7) << 6);
		return OP_SD;
	}
}

void decode_insn(uint32_t raw, struct insn *in)
{
	memset(in, 0, sizeof(*in));
	unsigned op;
	if ((raw & 3) == 3) {
		in->len = 4;
		op = decode32(raw, in);
	} else {
		raw &= 0xffff;
		in->len = 2;
		op = decode16(raw, in);
	}
	in->op = (uint16_t)op;
	if (op == OP_ILLEGAL) {
		in->imm = (int32_t)raw;
		return;
	}
	if (in->rd == 0 && writes_xrd(op))
		in->rd = 32;
}

unsigned decode_block(struct hart *h, uint64_t ppc, struct insn *out,
		      bool (*fetch16)(struct hart *, uint64_t, uint16_t *))
{
	unsigned n = 0;
	uint64_t pa = ppc;
	while (n < BLOCK_MAX_INSNS) {
		struct insn *in = &out[n];
		uint16_t lo, hi = 0;
		if (!fetch16(h, pa, &lo))
			break;   /* the fault is raised when execution gets here */
		uint32_t raw = lo;
		if ((lo & 3) == 3) {
			if ((pa & (PAGE_SIZE - 1)) == PAGE_SIZE - 2) {
				memset(in, 0, sizeof(*in));
				in->op = OP_CROSS;
				in->len = 4;
				in->pcoff = (uint16_t)(pa - ppc);
				n++;
				break;
			}
			if (!fetch16(h, pa + 2, &hi))
				break;
			raw |= (uint32_t)hi << 16;
		}
		decode_insn(raw, in);
		in->pcoff = (uint16_t)(pa - ppc);
		n++;
		pa += in->len;
		bool ends = op_ends_block(in->op) &&
			    !(op_is_csr(in->op) && csr_is_fp((unsigned)in->imm));
		if (ends || (pa & (PAGE_SIZE - 1)) == 0)
			break;
	}
	return n;
}

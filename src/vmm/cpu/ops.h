/*
 * The decoded-operation numbers of struct insn.op: one per RV64GC
 * instruction (compressed forms decode to their 32-bit equivalents), plus
 * OP_ILLEGAL (imm holds the raw bits) and OP_CROSS (a 32-bit instruction
 * straddling the page end, fetched and decoded on every execution).
 * Block-ending ops are those for which op_ends_block() is true, except
 * CSR instructions on the FP CSRs (csr_is_fp).
 */
#ifndef NIMBUS_VMM_CPU_OPS_H
#define NIMBUS_VMM_CPU_OPS_H

#include <stdbool.h>

enum op {
	OP_ILLEGAL, OP_CROSS,
	/* RV64I */
	OP_LUI, OP_AUIPC, OP_JAL, OP_JALR,
	OP_BEQ, OP_BNE, OP_BLT, OP_BGE, OP_BLTU, OP_BGEU,
	OP_LB, OP_LH, OP_LW, OP_LD, OP_LBU, OP_LHU, OP_LWU,
	OP_SB, OP_SH, OP_SW, OP_SD,
	OP_ADDI, OP_SLTI, OP_SLTIU, OP_XORI, OP_ORI, OP_ANDI,
	OP_SLLI, OP_SRLI, OP_SRAI,
	OP_ADD, OP_SUB, OP_SLL, OP_SLT, OP_SLTU, OP_XOR, OP_SRL, OP_SRA, OP_OR, OP_AND,
	OP_ADDIW, OP_SLLIW, OP_SRLIW, OP_SRAIW,
	OP_ADDW, OP_SUBW, OP_SLLW, OP_SRLW, OP_SRAW,
	OP_FENCE, OP_PAUSE, OP_FENCE_I, OP_ECALL, OP_EBREAK, OP_MRET, OP_SRET, OP_WFI,
	OP_SFENCE_VMA,
	OP_CSRRW, OP_CSRRS, OP_CSRRC, OP_CSRRWI, OP_CSRRSI, OP_CSRRCI,
	/* M */
	OP_MUL, OP_MULH, OP_MULHSU, OP_MULHU, OP_DIV, OP_DIVU, OP_REM, OP_REMU,
	OP_MULW, OP_DIVW, OP_DIVUW, OP_REMW, OP_REMUW,
	/* A: W then D, same order */
	OP_LR_W, OP_SC_W, OP_AMOSWAP_W, OP_AMOADD_W, OP_AMOXOR_W, OP_AMOAND_W,
	OP_AMOOR_W, OP_AMOMIN_W, OP_AMOMAX_W, OP_AMOMINU_W, OP_AMOMAXU_W,
	OP_LR_D, OP_SC_D, OP_AMOSWAP_D, OP_AMOADD_D, OP_AMOXOR_D, OP_AMOAND_D,
	OP_AMOOR_D, OP_AMOMIN_D, OP_AMOMAX_D, OP_AMOMINU_D, OP_AMOMAXU_D,
	/* F/D loads and stores (executed in exec.c) */
	OP_FLW, OP_FLD, OP_FSW, OP_FSD,
	/* F/D computation (executed by fp_exec); keep OP_FP_FIRST first. */
	OP_FP_FIRST,
	OP_FMADD_S = OP_FP_FIRST, OP_FMSUB_S, OP_FNMSUB_S, OP_FNMADD_S,
	OP_FADD_S, OP_FSUB_S, OP_FMUL_S, OP_FDIV_S, OP_FSQRT_S,
	OP_FSGNJ_S, OP_FSGNJN_S, OP_FSGNJX_S, OP_FMIN_S, OP_FMAX_S,
	OP_FCVT_W_S, OP_FCVT_WU_S, OP_FCVT_L_S, OP_FCVT_LU_S,
	OP_FMV_X_W, OP_FEQ_S, OP_FLT_S, OP_FLE_S, OP_FCLASS_S,
	OP_FCVT_S_W, OP_FCVT_S_WU, OP_FCVT_S_L, OP_FCVT_S_LU, OP_FMV_W_X,
	OP_FMADD_D, OP_FMSUB_D, OP_FNMSUB_D, OP_FNMADD_D,
	OP_FADD_D, OP_FSUB_D, OP_FMUL_D, OP_FDIV_D, OP_FSQRT_D,
	OP_FSGNJ_D, OP_FSGNJN_D, OP_FSGNJX_D, OP_FMIN_D, OP_FMAX_D,
	OP_FCVT_W_D, OP_FCVT_WU_D, OP_FCVT_L_D, OP_FCVT_LU_D,
	OP_FMV_X_D, OP_FEQ_D, OP_FLT_D, OP_FLE_D, OP_FCLASS_D,
	OP_FCVT_D_W, OP_FCVT_D_WU, OP_FCVT_D_L, OP_FCVT_D_LU, OP_FMV_D_X,
	OP_FCVT_S_D, OP_FCVT_D_S,
	OP_FP_LAST = OP_FCVT_D_S,
	OP_COUNT
};

/* fflags, frm and fcsr: the FP code's own CSRs.  Instructions on them do
 * not end a block (they change nothing a decoded or translated block
 * depends on), since libm and quiet comparisons (frflags; flt; fsflags)
 * touch them all the time. */
static inline bool csr_is_fp(unsigned csr) { return csr >= 1 && csr <= 3; }

static inline bool op_is_csr(unsigned op) { return op >= OP_CSRRW && op <= OP_CSRRCI; }

static inline bool op_ends_block(unsigned op)
{
	switch (op) {
	case OP_ILLEGAL: case OP_CROSS: case OP_JAL: case OP_JALR:
	case OP_BEQ: case OP_BNE: case OP_BLT: case OP_BGE: case OP_BLTU: case OP_BGEU:
	case OP_FENCE_I: case OP_ECALL: case OP_EBREAK: case OP_MRET: case OP_SRET:
	case OP_WFI: case OP_SFENCE_VMA:
	case OP_CSRRW: case OP_CSRRS: case OP_CSRRC:
	case OP_CSRRWI: case OP_CSRRSI: case OP_CSRRCI:
		return true;
	default:
		return false;
	}
}

#endif

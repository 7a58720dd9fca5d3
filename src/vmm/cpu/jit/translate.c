/*
 * The translator's front end: RISC-V semantics over decoded blocks, lowered
 * to the back end's operations (backend.h), and the glue between the
 * interpreter's dispatcher and translated code.
 *
 * What is translated: RV64IM, loads and stores (the soft-TLB fast path
 * inline), A (through the interpreter's atomic helper, atomic across
 * harts), F/D (loads/stores inline, arithmetic through fp_exec, so rounding
 * and flags are the interpreter's own), FENCE and PAUSE.  Everything that
 * changes privilege, translation or CSRs ends the translation one
 * instruction early and hands that instruction to the interpreter.
 *
 * Chaining: a branch or jump to the block's own page is linked on first
 * use straight to the target's translation (the page delta is the same);
 * other targets go through jit_lookup, a C probe of the fetch TLB and the
 * block table that never translates (so code is never emitted while
 * translated code runs).  Spec: unprivileged ISA ch. 2, 7, 8, 11, 12.
 */
#include "vmm/cpu/fp_host.h"
#include "vmm/cpu/jit/backend.h"
#include "vmm/cpu/jit/jit_internal.h"
#include "vmm/cpu/ops.h"
#include "vmm/cpu/trigger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* Instructions a translation may run before returning to the dispatcher to
 * poll timers (the interpreter polls every 512 blocks). */
#define JIT_SLICE 8192

/* Runs of a block in the interpreter before it is translated (the most its
 * 8-bit heat counts).  Most code runs a few times or a few dozen (boot,
 * initialisation), and a translation (~5 us: a block of a few instructions
 * and its slow paths, ~700 bytes of code) costs about as much as a hundred
 * or two interpreted runs.  Against 32, a boot translates a third as many
 * blocks (4.9k, not 14.9k): 27 ms of translating, not 72 (6% of its CPU,
 * not 15%), and 3.4 MiB of code, not 10, for the same boot CPU, fork/exec
 * loop and CPU-bound work within their noise (medians, docs/jit.md). */
#define JIT_HOT 255

/* ---- helpers called from translated code ---- */

static int helper_atomic(struct hart *h, const struct insn *in)
{
	int r = hart_exec_atomic(h, in);
	return r == STORE_HIT_CODE ? 2 : r;
}

static int helper_fp(struct hart *h, const struct insn *in)
{
	return fp_exec(h, in) ? 1 : 0;   /* illegal: let the interpreter raise it */
}

/* ECALL: the trap the interpreter would take (every system call passed
 * through the interpreter when ECALL ended translations). */
static int helper_ecall(struct hart *h, const struct insn *in)
{
	(void)in;
	h->exc_cause = EXC_ECALL_U + (h->priv == PRV_M ? 3 : h->priv);
	h->exc_tval = 0;
	return -1;
}

/* SRET, at every return from the kernel to a process: in translated code
 * (the block ends with it) rather than in the interpreter, whose trip cost
 * a fork/exec loop 75k dispatcher rounds.  Where it is illegal (U, or S
 * with mstatus.TSR) the interpreter raises that. */
static int helper_sret(struct hart *h, const struct insn *in)
{
	(void)in;
	if (h->priv < PRV_S || (h->priv == PRV_S && (h->mstatus & MSTATUS_TSR)))
		return 1;
	trap_sret(h);
	return 0;
}

/* SFENCE.VMA: the kernel flushes a page after changing its PTE (a page
 * fault's flush_tlb_page), often right after a call returns, and a block
 * starting with it stayed for the interpreter: 37% of a fork/exec loop's
 * returns to the dispatcher.  Translated code goes on after it through a
 * block entry (3), whose fetch sees the new mappings: a link to the next
 * block would follow the physical page, and the flush may have remapped
 * the very page running.  In U, or S with mstatus.TVM, the interpreter
 * raises the illegal instruction. */
static int helper_sfence_vma(struct hart *h, const struct insn *in)
{
	if (h->priv == PRV_U || (h->priv == PRV_S && (h->mstatus & MSTATUS_TVM)))
		return 1;
	if (in->rs1 != 0)
		tlb_flush_page(h, h->x[in->rs1]);
	else if (in->rs2 != 0)
		tlb_flush_asid(h, h->x[in->rs2]);
	else
		tlb_flush_all(h);
	return 3;
}

static int helper_pause(struct hart *h, const struct insn *in)
{
	(void)in;
	hart_pause(h);
	return 0;
}

/*
 * CSR instructions translated code makes itself, through the interpreter's
 * csr_access (which checks privilege and read-only-ness before any side
 * effect): kernel entry and exit paths are full of sscratch/sepc/scause/
 * sstatus accesses, and ending the block at each sends the rest of it to
 * the interpreter.  Not the counters (translated code keeps instret only
 * per dispatch; time is the clock and fine), satp (a new address space) or
 * the trigger registers (breakpoints): those still end the block.
 */
static bool csr_in_translation(unsigned csr)
{
	if ((csr >= 0xb00 && csr <= 0xb9f) || (csr >= 0xc00 && csr <= 0xc9f))
		return csr == 0xc01;   /* time */
	return csr != 0x180 && csr != 0x320 && !trigger_is_csr(csr);
}

/* Writes with effects beyond the register (interrupt enables and pending
 * bits, mstatus: FS, SUM, MXR, MPRV, PMP, timers): translated code leaves
 * right after them so the dispatcher sees the new state.  The others are
 * plain storage. */
static bool csr_write_leaves(unsigned csr)
{
	switch (csr) {
	case 0x105: case 0x106: case 0x10a:                  /* stvec scounteren senvcfg */
	case 0x140: case 0x141: case 0x142: case 0x143:      /* sscratch sepc scause stval */
	case 0x301: case 0x305: case 0x306:                  /* misa mtvec mcounteren */
	case 0x340: case 0x341: case 0x342: case 0x343:      /* mscratch mepc mcause mtval */
		return false;
	default:
		return true;
	}
}

static int helper_csr(struct hart *h, const struct insn *in)
{
	bool imm = in->op >= OP_CSRRWI;
	unsigned f3 = in->op - OP_CSRRW + 1 + imm;
	unsigned csr = (unsigned)in->imm;
	uint64_t src = imm ? in->rs1 : h->x[in->rs1];
	bool write = (f3 & 3) == 1 || in->rs1 != 0;
	uint64_t old;
	/* --jit verify re-runs the block in the interpreter from a saved
	 * state: a later time would differ, and only plain-storage CSRs are
	 * in what it saves; the rest the interpreter does the once. */
	if (h->jit->verify && (csr == 0xc01 || (write && csr_write_leaves(csr))))
		return 1;
	if (csr_access(h, csr, f3, src, write, &old))
		return 1;   /* illegal: the interpreter raises it */
	h->x[in->rd] = old;   /* rd = x0 names the sink x[32] */
	return write && csr_write_leaves(csr) ? 3 : 0;
}

static uint64_t pure_mulhsu(uint64_t a, uint64_t b)
{
	return (uint64_t)(int64_t)(((__int128)(int64_t)a * (__int128)(unsigned __int128)b) >> 64);
}

/* ---- translation ---- */

/* CSR instructions on fflags, frm and fcsr, which translated code does
 * itself (be_fcsr): they change nothing translation depends on. */
static bool fp_csr(const struct insn *in)
{
	return op_is_csr(in->op) && csr_is_fp((unsigned)in->imm);
}

/* Ops the translator hands to the interpreter (and that end a block). */
static bool interp_only_op(unsigned op)
{
	switch (op) {
	case OP_ILLEGAL: case OP_CROSS: case OP_FENCE_I: case OP_EBREAK:
	case OP_MRET: case OP_WFI:
	case OP_CSRRW: case OP_CSRRS: case OP_CSRRC:
	case OP_CSRRWI: case OP_CSRRSI: case OP_CSRRCI:
		return true;
	default:
		return false;
	}
}

static bool interp_only(const struct insn *in)
{
	if (op_is_csr(in->op))
		return !fp_csr(in) && !csr_in_translation((unsigned)in->imm);
	return interp_only_op(in->op);
}

static bool same_page(uint64_t a, uint64_t b) { return ((a ^ b) & PAGE_MASK) == 0; }

/* F/D ops whose result goes to x[rd]. */
static bool fp_writes_x(unsigned op)
{
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

/* F/D ops whose rs1 names an x register. */
static bool fp_reads_x(unsigned op)
{
	switch (op) {
	case OP_FCVT_S_W: case OP_FCVT_S_WU: case OP_FCVT_S_L: case OP_FCVT_S_LU: case OP_FMV_W_X:
	case OP_FCVT_D_W: case OP_FCVT_D_WU: case OP_FCVT_D_L: case OP_FCVT_D_LU: case OP_FMV_D_X:
		return true;
	default:
		return false;
	}
}

/* F/D ops that read or write an integer register (conversions, moves,
 * compares, classify); the others touch only f registers and fflags. */
static bool fp_touches_x(unsigned op)
{
	return fp_writes_x(op) || fp_reads_x(op);
}

/* Lowers one non-ending instruction; false if it must end the translation. */
static void lower(struct be *be, const struct insn *in, uint64_t pc)
{
	unsigned rd = in->rd, rs1 = in->rs1, rs2 = in->rs2;
	int64_t imm = in->imm;
	switch (in->op) {
	case OP_LUI: be_const(be, rd, (uint64_t)imm); break;
	case OP_AUIPC: be_pc_value(be, rd, pc + (uint64_t)imm); break;

	case OP_LB: be_load(be, 1, true, rd, rs1, (int32_t)imm); break;
	case OP_LH: be_load(be, 2, true, rd, rs1, (int32_t)imm); break;
	case OP_LW: be_load(be, 4, true, rd, rs1, (int32_t)imm); break;
	case OP_LD: be_load(be, 8, false, rd, rs1, (int32_t)imm); break;
	case OP_LBU: be_load(be, 1, false, rd, rs1, (int32_t)imm); break;
	case OP_LHU: be_load(be, 2, false, rd, rs1, (int32_t)imm); break;
	case OP_LWU: be_load(be, 4, false, rd, rs1, (int32_t)imm); break;
	case OP_SB: be_store(be, 1, rs2, rs1, (int32_t)imm); break;
	case OP_SH: be_store(be, 2, rs2, rs1, (int32_t)imm); break;
	case OP_SW: be_store(be, 4, rs2, rs1, (int32_t)imm); break;
	case OP_SD: be_store(be, 8, rs2, rs1, (int32_t)imm); break;
	case OP_FLW: be_fload(be, 4, rd, rs1, (int32_t)imm); break;
	case OP_FLD: be_fload(be, 8, rd, rs1, (int32_t)imm); break;
	case OP_FSW: be_fstore(be, 4, rs2, rs1, (int32_t)imm); break;
	case OP_FSD: be_fstore(be, 8, rs2, rs1, (int32_t)imm); break;

	case OP_ADDI: if (rs1 == 0) be_const(be, rd, (uint64_t)imm);
		      else be_alu_imm(be, BE_ADD, false, rd, rs1, imm);
		      break;
	case OP_SLTI: be_alu_imm(be, BE_SLT, false, rd, rs1, imm); break;
	case OP_SLTIU: be_alu_imm(be, BE_SLTU, false, rd, rs1, imm); break;
	case OP_XORI: be_alu_imm(be, BE_XOR, false, rd, rs1, imm); break;
	case OP_ORI: be_alu_imm(be, BE_OR, false, rd, rs1, imm); break;
	case OP_ANDI: be_alu_imm(be, BE_AND, false, rd, rs1, imm); break;
	case OP_SLLI: be_alu_imm(be, BE_SLL, false, rd, rs1, imm); break;
	case OP_SRLI: be_alu_imm(be, BE_SRL, false, rd, rs1, imm); break;
	case OP_SRAI: be_alu_imm(be, BE_SRA, false, rd, rs1, imm); break;
	case OP_ADDIW: be_alu_imm(be, BE_ADD, true, rd, rs1, imm); break;
	case OP_SLLIW: be_alu_imm(be, BE_SLL, true, rd, rs1, imm); break;
	case OP_SRLIW: be_alu_imm(be, BE_SRL, true, rd, rs1, imm); break;
	case OP_SRAIW: be_alu_imm(be, BE_SRA, true, rd, rs1, imm); break;

	case OP_ADD: be_alu(be, BE_ADD, false, rd, rs1, rs2); break;
	case OP_SUB: be_alu(be, BE_SUB, false, rd, rs1, rs2); break;
	case OP_SLL: be_alu(be, BE_SLL, false, rd, rs1, rs2); break;
	case OP_SLT: be_alu(be, BE_SLT, false, rd, rs1, rs2); break;
	case OP_SLTU: be_alu(be, BE_SLTU, false, rd, rs1, rs2); break;
	case OP_XOR: be_alu(be, BE_XOR, false, rd, rs1, rs2); break;
	case OP_SRL: be_alu(be, BE_SRL, false, rd, rs1, rs2); break;
	case OP_SRA: be_alu(be, BE_SRA, false, rd, rs1, rs2); break;
	case OP_OR: be_alu(be, BE_OR, false, rd, rs1, rs2); break;
	case OP_AND: be_alu(be, BE_AND, false, rd, rs1, rs2); break;
	case OP_ADDW: be_alu(be, BE_ADD, true, rd, rs1, rs2); break;
	case OP_SUBW: be_alu(be, BE_SUB, true, rd, rs1, rs2); break;
	case OP_SLLW: be_alu(be, BE_SLL, true, rd, rs1, rs2); break;
	case OP_SRLW: be_alu(be, BE_SRL, true, rd, rs1, rs2); break;
	case OP_SRAW: be_alu(be, BE_SRA, true, rd, rs1, rs2); break;

	case OP_MUL: be_alu(be, BE_MUL, false, rd, rs1, rs2); break;
	case OP_MULW: be_alu(be, BE_MUL, true, rd, rs1, rs2); break;
	case OP_MULH: be_alu(be, BE_MULH, false, rd, rs1, rs2); break;
	case OP_MULHU: be_alu(be, BE_MULHU, false, rd, rs1, rs2); break;
	case OP_MULHSU: be_pure(be, pure_mulhsu, rd, rs1, rs2); break;
	case OP_DIV: be_divrem(be, true, false, false, rd, rs1, rs2); break;
	case OP_DIVU: be_divrem(be, false, false, false, rd, rs1, rs2); break;
	case OP_REM: be_divrem(be, true, true, false, rd, rs1, rs2); break;
	case OP_REMU: be_divrem(be, false, true, false, rd, rs1, rs2); break;
	case OP_DIVW: be_divrem(be, true, false, true, rd, rs1, rs2); break;
	case OP_DIVUW: be_divrem(be, false, false, true, rd, rs1, rs2); break;
	case OP_REMW: be_divrem(be, true, true, true, rd, rs1, rs2); break;
	case OP_REMUW: be_divrem(be, false, true, true, rd, rs1, rs2); break;

	case OP_FENCE: be_fence(be); break;
	case OP_CSRRW: case OP_CSRRS: case OP_CSRRC:
	case OP_CSRRWI: case OP_CSRRSI: case OP_CSRRCI:
		if (fp_csr(in))
			be_fcsr(be, in);
		else   /* csr_in_translation() ones */
			be_helper(be, helper_csr, in, true);
		break;
	case OP_PAUSE: be_helper(be, helper_pause, in, false); break;
	case OP_SFENCE_VMA: be_helper(be, helper_sfence_vma, in, true); break;
	default:
		if (in->op >= OP_LR_W && in->op <= OP_AMOMAXU_D) {
			if (!be_amo(be, helper_atomic, in))
				be_helper(be, helper_atomic, in, true);
		}
		else   /* OP_FP_FIRST..OP_FP_LAST */
			be_fp(be, helper_fp, in, fp_touches_x(in->op));
		break;
	}
}

static enum be_cond branch_cond(unsigned op)
{
	switch (op) {
	case OP_BEQ: return BE_EQ;
	case OP_BNE: return BE_NE;
	case OP_BLT: return BE_LT;
	case OP_BGE: return BE_GE;
	case OP_BLTU: return BE_LTU;
	default: return BE_GEU;
	}
}

/*
 * Which integer registers an instruction reads, and whether it certainly
 * writes x[rd].  Conservative where an encoding's fields may name f
 * registers: those count as reads (an extra load) and never as writes (a
 * missing load would be a wrong value).
 */
static void insn_regs(const struct insn *in, uint32_t *reads, bool *writes_rd)
{
	unsigned op = in->op;
	*reads = 0;
	*writes_rd = false;
	switch (op) {
	case OP_LUI: case OP_AUIPC: case OP_JAL:
		*writes_rd = true;
		return;
	case OP_FENCE: case OP_PAUSE:
		return;
	case OP_CSRRW: case OP_CSRRS: case OP_CSRRC:
		*reads = 1u << in->rs1;
		*writes_rd = true;
		return;
	case OP_CSRRWI: case OP_CSRRSI: case OP_CSRRCI:
		*writes_rd = true;
		return;
	case OP_JALR:
	case OP_LB: case OP_LH: case OP_LW: case OP_LD: case OP_LBU: case OP_LHU: case OP_LWU:
	case OP_ADDI: case OP_SLTI: case OP_SLTIU: case OP_XORI: case OP_ORI: case OP_ANDI:
	case OP_SLLI: case OP_SRLI: case OP_SRAI:
	case OP_ADDIW: case OP_SLLIW: case OP_SRLIW: case OP_SRAIW:
		*reads = 1u << in->rs1;
		*writes_rd = true;
		return;
	case OP_FLW: case OP_FLD: case OP_FSW: case OP_FSD:
		*reads = 1u << in->rs1;
		return;
	case OP_SB: case OP_SH: case OP_SW: case OP_SD:
	case OP_BEQ: case OP_BNE: case OP_BLT: case OP_BGE: case OP_BLTU: case OP_BGEU:
		*reads = 1u << in->rs1 | 1u << in->rs2;
		return;
	default:
		break;
	}
	if (op >= OP_FP_FIRST && op <= OP_FP_LAST) {
		*reads = 1u << in->rs1;
		*writes_rd = fp_writes_x(op);
		return;
	}
	/* register-register ALU, M and A: rd = f(rs1, rs2) */
	*reads = 1u << in->rs1 | 1u << in->rs2;
	*writes_rd = true;
}

/* Use counts per integer register, the set read before written, the set written. */
static void reg_usage(const struct block *b, unsigned uses[32], uint32_t *live_in,
		      uint32_t *written_out)
{
	uint32_t written = 0, live = 0;
	memset(uses, 0, 32 * sizeof(*uses));
	for (unsigned i = 0; i < b->ninsn && !interp_only(&b->insn[i]); i++) {
		const struct insn *in = &b->insn[i];
		uint32_t rd_mask;
		bool w;
		insn_regs(in, &rd_mask, &w);
		live |= rd_mask & ~written;
		for (unsigned r = 1; r < 32; r++)
			uses[r] += (rd_mask >> r) & 1;
		if (w && in->rd != 0 && in->rd < 32) {
			written |= 1u << in->rd;
			uses[in->rd]++;
		}
	}
	*live_in = live & ~1u;
	*written_out = written;
}

/* F/D ops with an f register in rs2 (the unary ones use the field otherwise). */
static bool fp_reads_rs2(unsigned op)
{
	switch (op) {
	case OP_FSQRT_S: case OP_FSQRT_D:
	case OP_FCVT_W_S: case OP_FCVT_WU_S: case OP_FCVT_L_S: case OP_FCVT_LU_S:
	case OP_FMV_X_W: case OP_FCLASS_S:
	case OP_FCVT_W_D: case OP_FCVT_WU_D: case OP_FCVT_L_D: case OP_FCVT_LU_D:
	case OP_FMV_X_D: case OP_FCLASS_D:
	case OP_FCVT_S_D: case OP_FCVT_D_S:
		return false;
	default:
		return !fp_reads_x(op);
	}
}

/* Use counts per f register and the set written (by F/D ops and loads):
 * a looping translation keeps the most used in host registers from its
 * entry (be_regs).  Generous where in doubt: an extra register costs a
 * load, a missed write would lose a value. */
static void freg_usage(const struct block *b, unsigned fuses[32], uint32_t *fwritten)
{
	memset(fuses, 0, 32 * sizeof(*fuses));
	*fwritten = 0;
	for (unsigned i = 0; i < b->ninsn && !interp_only(&b->insn[i]); i++) {
		const struct insn *in = &b->insn[i];
		unsigned op = in->op;
		if (op == OP_FLW || op == OP_FLD) {
			fuses[in->rd & 31]++;
			*fwritten |= 1u << (in->rd & 31);
		} else if (op == OP_FSW || op == OP_FSD) {
			fuses[in->rs2 & 31]++;
		} else if (op >= OP_FP_FIRST && op <= OP_FP_LAST) {
			if (!fp_writes_x(op)) {
				fuses[in->rd & 31]++;
				*fwritten |= 1u << (in->rd & 31);
			}
			if (!fp_reads_x(op))
				fuses[in->rs1 & 31]++;
			if (fp_reads_rs2(op))
				fuses[in->rs2 & 31]++;
			if (op <= OP_FNMADD_S || (op >= OP_FMADD_D && op <= OP_FNMADD_D))
				fuses[in->rs3 & 31]++;
		}
	}
}

/* What the block's inline F/D paths assume (be_fp_needs), and whether it
 * writes fflags or frm itself (which can undo what its guard checked). */
static unsigned fp_block_needs(const struct block *b, bool *writes_fcsr)
{
	unsigned needs = 0;
	*writes_fcsr = false;
	for (unsigned i = 0; i < b->ninsn && !interp_only(&b->insn[i]); i++) {
		const struct insn *in = &b->insn[i];
		needs |= be_fp_needs(in);
		if (fp_csr(in) && (in->op == OP_CSRRW || in->op == OP_CSRRWI || in->rs1 != 0))
			*writes_fcsr = true;
	}
	return needs;
}

/* Does the block end in a branch or jump back to its own first instruction? */
static bool is_branch(unsigned op)
{
	return op == OP_BEQ || op == OP_BNE || op == OP_BLT || op == OP_BGE || op == OP_BLTU ||
	       op == OP_BGEU;
}

/* Whether a branch or jump of the translation leads back to its start
 * (a trace's last branch may also fall through to it). */
static bool loops_to_itself(const struct block *b, const uint64_t *pc)
{
	for (unsigned i = 0; i < b->ninsn; i++) {
		const struct insn *in = &b->insn[i];
		if ((in->op == OP_JAL || is_branch(in->op)) &&
		    pc[i] + (uint64_t)(int64_t)in->imm == b->ppc)
			return true;
	}
	const struct insn *last = &b->insn[b->ninsn - 1];
	return is_branch(last->op) && pc[b->ninsn - 1] + last->len == b->ppc;
}

/* ---- traces ---- */

/*
 * A trace strings blocks together along the edges their interpreted runs
 * mostly took: a jump's target, a branch's biased side, the fall-through
 * at a page's end, so that a loop of several blocks (gzip's longest_match
 * is three) keeps its registers in host registers and pays no block
 * entries.  The edges not taken leave through side exits.  A trace is
 * never reused for its first block alone (its ninsn differs).
 *
 * Its blocks lie in the head's page and at most one other (a loop a page
 * end splits: busybox sha256's round is).  The head's page is validated
 * as any translation's (its code generation, at every way in); the other
 * is checked by a guard at each entry into it (page_guard): the virtual
 * page that follows the edge must still map to the physical page
 * translated, whose code generation must not have moved.  Its
 * instructions get PCs relative to the head's page ("as if it followed"):
 * pc + delta (r15, the head page's virtual-minus-physical) is then still
 * their virtual PC, for exits, faults and auipc alike, and no exit into
 * it is linked (same_page fails on those PCs).
 */
#define TRACE_MAX_SEGS (JIT_MAX_EXITS - 1)

struct trace {
	struct block whole;                 /* every segment's instructions */
	struct insn insn[BLOCK_MAX_INSNS];
	uint64_t pc[BLOCK_MAX_INSNS];       /* each one's physical PC */
	uint64_t seg_ppc[TRACE_MAX_SEGS];
	unsigned seg_end[TRACE_MAX_SEGS];   /* index past each segment */
	bool seg_taken[TRACE_MAX_SEGS];     /* the edge it goes on by */
	bool seg_other[TRACE_MAX_SEGS];     /* in the other page */
	uint64_t other_at;                  /* the other page by head-relative PC; 0: none */
	uint64_t other_pa;                  /* its physical address */
	uint64_t other_pfn;
	uint32_t other_gen;                 /* its code generation when translated */
	unsigned nseg;
	unsigned loop_seg;                  /* the last block leads back to this one (> 0) */
};

/* A trace goes on along a branch's edge taken at least twice as often as
 * the other (and a few times). */
static bool biased(unsigned way, unsigned other)
{
	return way >= 2 * other + 4;
}

/* Where the trace goes on after b's last instruction, a straight-line one
 * that ends its page: the next page (by fall-through). */
static bool ends_at_page_end(const struct insn *last, uint64_t pc)
{
	return ((pc + last->len) & (PAGE_SIZE - 1)) == 0 && !op_ends_block(last->op) &&
	       !interp_only(last);
}

/* The edges a trace may go on by after b's last instruction (at pc, head-
 * relative), most likely first: a jump's target, the fall-through at a
 * page's end, a branch's two sides (the more often taken one first).
 * Returns how many; `biased` says whether the first is a branch's clearly
 * favoured side (or no branch: then there is no choice). */
static unsigned trace_edges(const struct block *b, uint64_t pc, uint64_t to[2], bool taken[2],
			    bool *biased_first)
{
	const struct insn *last = &b->insn[b->ninsn - 1];
	*biased_first = true;
	if (ends_at_page_end(last, pc)) {
		to[0] = pc + last->len;
		taken[0] = false;
		return 1;
	}
	if (last->op == OP_JAL) {
		to[0] = pc + (uint64_t)(int64_t)last->imm;
		taken[0] = true;
		return 1;
	}
	if (!is_branch(last->op))
		return 0;
	bool t_first = b->taken >= b->fallen;
	*biased_first = t_first ? biased(b->taken, b->fallen) : biased(b->fallen, b->taken);
	for (unsigned k = 0; k < 2; k++) {
		taken[k] = (k == 0) == t_first;
		to[k] = taken[k] ? pc + (uint64_t)(int64_t)last->imm : pc + last->len;
	}
	return 2;
}

/* The block a trace may go on with at head-relative PC t: one hot itself
 * (translated, or half-way there), so that code run a few dozen times
 * (most of a boot) is not translated twice over.  In another page than
 * the head's, that page must be the trace's other one (or become it) and
 * in the fetch TLB now (*other says so).  NULL where the trace must stop. */
static const struct block *trace_block_at(const struct jit *j, uint64_t other_at,
					  uint64_t t, uint64_t head, bool *other)
{
	const struct hart *h = j->h;
	uint64_t pa = t;
	*other = !same_page(t, head);
	if (*other) {
		if (other_at && !same_page(t, other_at))
			return NULL;   /* a third page */
		/* h->pc is the head's virtual PC (translate's caller runs it). */
		uint64_t va = h->pc + (t - head);
		const struct tlb_entry *e = &h->itlb[(va >> PAGE_SHIFT) & TLB_MASK];
		if (e->tag != (va & PAGE_MASK))
			return NULL;
		pa = va + e->addend;
		if (same_page(pa, head) || !bus_in_ram(h->bus, pa & PAGE_MASK, PAGE_SIZE))
			return NULL;
	}
	const struct block *s = btab_set(h, pa);
	s += s[1].ppc == pa;
	if (s->ppc != pa || s->epoch != h->epoch || s->gen != bus_code_gen(h->bus, s->pfn) ||
	    s->ninsn == 0 || s->insn[s->ninsn - 1].op == OP_CROSS ||
	    (!s->jit && s->heat < j->hot / 2))
		return NULL;
	for (unsigned i = 0; i < s->ninsn; i++)
		if (interp_only(&s->insn[i]))
			return NULL;
	return s;
}

/* The greedy trace's next block: along b's one likely edge. */
static const struct block *trace_next(const struct jit *j, struct trace *tr,
				      const struct block *b, uint64_t pc, uint64_t head,
				      bool *taken, uint64_t *at, bool *other)
{
	uint64_t to[2];
	bool tk[2], sure;
	if (!trace_edges(b, pc, to, tk, &sure) || !sure || to[0] == head)
		return NULL;
	*taken = tk[0];
	*at = to[0];
	return trace_block_at(j, tr->other_at, to[0], head, other);
}

/* s's instructions, at head-relative PC at (other: in the other page). */
static void trace_append(struct trace *t, const struct block *s, uint64_t at, bool other)
{
	unsigned n = t->whole.ninsn;
	for (unsigned i = 0; i < s->ninsn; i++) {
		t->insn[n + i] = s->insn[i];
		t->pc[n + i] = at + s->insn[i].pcoff;
	}
	if (other && !t->other_at) {
		t->other_at = at & PAGE_MASK;
		t->other_pa = s->ppc & PAGE_MASK;
		t->other_pfn = s->pfn;
		t->other_gen = s->gen;
	}
	t->seg_other[t->nseg] = other;
	t->seg_ppc[t->nseg] = at;
	t->whole.ninsn = (uint16_t)(n + s->ninsn);
	t->seg_end[t->nseg++] = t->whole.ninsn;
}

/* The translation of b alone, in a trace's shape. */
static void trace_build_one(const struct block *b, struct trace *t)
{
	t->whole = *b;
	t->whole.insn = t->insn;
	t->whole.ninsn = 0;
	t->nseg = 0;
	t->loop_seg = 0;
	t->other_at = 0;
	trace_append(t, b, b->ppc, false);
}

/*
 * A loop back to the head along any edges, the likelier tried first, when
 * the greedy walk found none: the statistics a trace is built from are its
 * blocks' first few dozen runs, and a loop's exit can be the likelier edge
 * then and the rare one later (gzip's longest_match: hash chains are short
 * at the start of a file).  Depth-first over a path of blocks, at most
 * max_segs in all and *budget blocks looked at; trace_build deepens
 * max_segs one block at a time, so the shortest loop is found first and a
 * search stays cheap (most translations of a boot close no loop; unbounded
 * searches of each cost 1% of the boot).  The path holds block pointers
 * only: instructions are copied once, for the loop found, not for every
 * block tried (what remains of the search's cost is the block-table
 * lookups of trace_block_at, cache misses).
 */
#define TRACE_SEARCH_BUDGET 12

struct trace_path {
	const struct block *blk[TRACE_MAX_SEGS];
	uint64_t at[TRACE_MAX_SEGS];     /* each block's head-relative PC */
	bool taken[TRACE_MAX_SEGS];      /* the edge from block i to i + 1 */
	bool other[TRACE_MAX_SEGS];      /* block i is in the other page */
	uint64_t other_at;               /* as struct trace's */
	unsigned n, ninsn;
};

static bool trace_search_loop(const struct jit *j, struct trace_path *p, uint64_t head,
			      unsigned max_segs, unsigned *budget)
{
	const struct block *b = p->blk[p->n - 1];
	uint64_t to[2];
	bool tk[2], sure;
	unsigned n = trace_edges(b, p->at[p->n - 1] + b->insn[b->ninsn - 1].pcoff, to, tk, &sure);
	for (unsigned k = 0; k < n; k++)
		if (to[k] == head)
			return true;
	if (p->n >= max_segs)
		return false;
	for (unsigned k = 0; k < n && *budget; k++) {
		bool seen = false;
		for (unsigned i = 0; i < p->n; i++)
			seen |= p->at[i] == to[k];
		if (seen)
			continue;
		bool other;
		--*budget;
		const struct block *s = trace_block_at(j, p->other_at, to[k], head, &other);
		if (!s || p->ninsn + s->ninsn > BLOCK_MAX_INSNS)
			continue;
		uint64_t other_at = p->other_at;
		if (other && !other_at)
			p->other_at = to[k] & PAGE_MASK;
		p->taken[p->n - 1] = tk[k];
		p->blk[p->n] = s;
		p->at[p->n] = to[k];
		p->other[p->n] = other;
		p->n++;
		p->ninsn += s->ninsn;
		if (trace_search_loop(j, p, head, max_segs, budget))
			return true;
		p->n--;   /* undone */
		p->ninsn -= s->ninsn;
		p->other_at = other_at;
	}
	return false;
}

/* t as the path found: the head, then each block along its edge. */
static void trace_from_path(const struct trace_path *p, struct trace *t)
{
	trace_build_one(p->blk[0], t);
	for (unsigned i = 1; i < p->n; i++) {
		t->seg_taken[t->nseg - 1] = p->taken[i - 1];
		trace_append(t, p->blk[i], p->at[i], p->other[i]);
	}
}

/* The trace from head; false when it is only head. */
static bool trace_build(const struct jit *j, const struct block *head, struct trace *t)
{
	trace_build_one(head, t);
	const struct block *b = head;
	while (t->nseg < TRACE_MAX_SEGS) {
		bool taken, other;
		uint64_t at;
		const struct block *s = trace_next(j, t, b, t->pc[t->whole.ninsn - 1], head->ppc,
						   &taken, &at, &other);
		if (!s || t->whole.ninsn + s->ninsn > BLOCK_MAX_INSNS)
			break;
		unsigned k = 0;
		while (k < t->nseg && t->seg_ppc[k] != at)
			k++;
		if (k < t->nseg) {   /* a loop inside: from the last block back to k */
			/* Not where fcsr is written: the loop would skip the F/D
			 * guard at the trace's entry (a loop to the entry runs it). */
			bool writes_fcsr;
			(void)fp_block_needs(&t->whole, &writes_fcsr);
			if (writes_fcsr)
				return false;
			t->loop_seg = k;
			break;
		}
		t->seg_taken[t->nseg - 1] = taken;
		trace_append(t, s, at, other);
		b = s;
	}
	/* Only a loop is worth it: elsewhere a trace copies blocks that are
	 * translated anyway, for no register kept (a boot: 12% more CPU). */
	if (t->nseg > 1 && (!j->loops_only || t->loop_seg || loops_to_itself(&t->whole, t->pc)))
		return true;
	unsigned budget = TRACE_SEARCH_BUDGET;
	for (unsigned m = 2; m <= TRACE_MAX_SEGS && budget; m++) {
		struct trace_path p = { .blk = { head }, .at = { head->ppc }, .n = 1,
					.ninsn = head->ninsn };
		if (trace_search_loop(j, &p, head->ppc, m, &budget)) {
			trace_from_path(&p, t);
			return t->nseg > 1;
		}
	}
	trace_build_one(head, t);
	return false;
}

/* ---- translations by physical PC ---- */

static unsigned ppc_slot(uint64_t ppc, unsigned bits)
{
	return (unsigned)(((ppc >> 1) * 0x9e3779b97f4a7c15ull) >> (64 - bits));
}

static void by_ppc_put(struct jit *j, unsigned idx)
{
	const struct jit_tb *tb = &j->tbs[idx];
	unsigned mask = (1u << j->by_ppc_bits) - 1;
	for (unsigned i = ppc_slot(tb->ppc, j->by_ppc_bits);; i = (i + 1) & mask) {
		struct by_ppc_slot *e = &j->by_ppc[i];
		if (e->tb == 0 || e->ppc == tb->ppc) {
			*e = (struct by_ppc_slot){ .ppc = tb->ppc, .code = tb->code, .tb = idx + 1,
						   .pfn = tb->pfn, .gen = tb->gen, .epoch = tb->epoch };
			return;
		}
	}
}

/* The table is mapped, not malloc'd: a vCPU thread's malloc arena keeps the
 * pages of freed blocks at its top (malloc_trim does not return them), so
 * the tables outgrown during a boot (16-64 KiB) would stay resident. */
static struct by_ppc_slot *by_ppc_map(unsigned bits)
{
	void *p = mmap(NULL, sizeof(struct by_ppc_slot) << bits, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void by_ppc_free(struct jit *j)
{
	if (j->by_ppc)
		munmap(j->by_ppc, sizeof(*j->by_ppc) << j->by_ppc_bits);
	j->by_ppc = NULL;
	j->by_ppc_bits = 0;
}

/* Files tbs[idx]; grows the table at half full (rebuilt from tbs[], where
 * later translations of a PC come after earlier ones).  Without memory to
 * grow, translations simply are not found again. */
static void by_ppc_add(struct jit *j, unsigned idx)
{
	if (!j->by_ppc || 2 * (idx + 1) > (1u << j->by_ppc_bits)) {
		unsigned bits = j->by_ppc ? j->by_ppc_bits + 1 : 12;
		struct by_ppc_slot *t = by_ppc_map(bits);
		if (!t)
			return;
		by_ppc_free(j);
		j->by_ppc = t;
		j->by_ppc_bits = bits;
		for (unsigned k = 0; k < idx; k++)
			by_ppc_put(j, k);
	}
	by_ppc_put(j, idx);
}

/* The slot of the newest translation at ppc, or NULL. */
static struct by_ppc_slot *by_ppc_slot_of(const struct jit *j, uint64_t ppc)
{
	if (!j->by_ppc)
		return NULL;
	unsigned mask = (1u << j->by_ppc_bits) - 1;
	for (unsigned i = ppc_slot(ppc, j->by_ppc_bits);; i = (i + 1) & mask) {
		struct by_ppc_slot *e = &j->by_ppc[i];
		if (e->tb == 0)
			return NULL;
		if (e->ppc == ppc)
			return e;
	}
}

static struct jit_tb *by_ppc_find(const struct jit *j, uint64_t ppc)
{
	const struct by_ppc_slot *e = by_ppc_slot_of(j, ppc);
	return e ? &j->tbs[e->tb - 1] : NULL;
}

/* tb's slot, if tb is still the newest at its PC, says what tb says. */
static void by_ppc_sync(struct jit *j, const struct jit_tb *tb)
{
	struct by_ppc_slot *e = by_ppc_slot_of(j, tb->ppc);
	if (e && e->tb == (uint32_t)(tb - j->tbs) + 1) {
		e->gen = tb->gen;
		e->epoch = tb->epoch;
	}
}

/* CPU time of this vCPU thread: translation cost, not time preempted.
 * Only with NIMBUS_JIT_STATS: this clock has no vDSO path, and a system
 * call per translation is a measurable share of a boot. */
static uint64_t now_ns(const struct jit *j)
{
	if (!j->stats_on)
		return 0;
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Instructions i and i+1 zero-extend a 32-bit value (RV64GC has no
 * zext.w; compilers shift left and right by 32): one host move. */
static bool zext_w_pair(const struct block *b, unsigned i)
{
	const struct insn *in = &b->insn[i];
	if (in->op != OP_SLLI || in->imm != 32 || in->rd == 0 || i + 1 >= b->ninsn)
		return false;
	const struct insn *nx = &b->insn[i + 1];
	return nx->op == OP_SRLI && nx->imm == 32 && nx->rd == in->rd && nx->rs1 == in->rd;
}

/*
 * A block that ends in a 32-bit instruction straddling its page end
 * (OP_CROSS, which the interpreter re-fetches every time): with the next
 * page in the fetch TLB now, decode the whole instruction for translation
 * behind a guard that checks, at run time, that the next virtual page is
 * still in the fetch TLB (so fetchable here) and holds the same upper
 * half.  False (the block leaves for the interpreter there, as before)
 * if the page is not in the TLB or the instruction cannot be translated.
 */
struct cross {
	struct insn insn;          /* the whole instruction */
	uint64_t next_page_ppc;    /* the first page's end, as a "physical" PC */
	uint16_t upper;            /* the half in the next page */
};

static bool cross_at_end(struct jit *j, const struct block *b, struct cross *c)
{
	const struct insn *last = &b->insn[b->ninsn - 1];
	if (last->op != OP_CROSS)
		return false;
	struct hart *h = j->h;
	struct bus *bus = h->bus;
	uint64_t ppc = b->ppc + last->pcoff;
	uint64_t vpage2 = (h->pc + last->pcoff + 2) & PAGE_MASK;   /* h->pc: b's virtual PC */
	const struct tlb_entry *e = &h->itlb[(vpage2 >> PAGE_SHIFT) & TLB_MASK];
	uint64_t pa;   /* (the interpreter's fetch of the upper half does not fill it) */
	if (e->tag != vpage2 && (!fetch_translate(h, vpage2, &pa) || e->tag != vpage2))
		return false;
	uint64_t pa2 = vpage2 + e->addend;
	if (!bus_in_ram(bus, pa2, 2))
		return false;
	uint16_t lo;
	memcpy(&lo, h->ram + (ppc - bus->ram_base), 2);
	memcpy(&c->upper, h->ram + (pa2 - bus->ram_base), 2);
	decode_insn(lo | (uint32_t)c->upper << 16, &c->insn);
	c->insn.pcoff = last->pcoff;
	c->insn.len = 4;
	c->next_page_ppc = (b->ppc & PAGE_MASK) + PAGE_SIZE;
	/* Jumps and branches too: their targets and link value are virtual
	 * PCs off the block's head, whichever page they fall in (a hot kernel
	 * path had a straddling JAL: 70% of a fork/exec loop's exits to the
	 * interpreter).  Not ECALL, whose trap leaves from the helper. */
	return c->insn.op != OP_ECALL && !interp_only(&c->insn);
}

static unsigned int_store_size(unsigned op)
{
	switch (op) {
	case OP_SB: return 1;
	case OP_SH: return 2;
	case OP_SW: return 4;
	case OP_SD: return 8;
	default: return 0;
	}
}

static unsigned int_load_size(unsigned op)
{
	switch (op) {
	case OP_LB: case OP_LBU: return 1;
	case OP_LH: case OP_LHU: return 2;
	case OP_LW: case OP_LWU: return 4;
	case OP_LD: return 8;
	default: return 0;
	}
}

/* How many integer loads (or stores: size_of says which, 0 for other ops)
 * from instruction i on, before `limit` (a new segment, or a straddling
 * last instruction, which have checks of their own), go through i's base
 * register at offsets that are all aligned if the lowest is aligned to the
 * widest size (be_load_group, be_store_group).  A load that writes the
 * base register ends its run. */
static unsigned access_run(const struct block *b, unsigned i, unsigned limit,
			   unsigned (*size_of)(unsigned op))
{
	const struct insn *first = &b->insn[i];
	if (!size_of(first->op) || first->rs1 == 0)
		return 0;
	unsigned n = 0;
	int32_t lo = first->imm;
	while (i + n < limit && n < 64 && size_of(b->insn[i + n].op) &&
	       b->insn[i + n].rs1 == first->rs1) {
		int32_t l = b->insn[i + n].imm < lo ? b->insn[i + n].imm : lo;
		bool ok = true;   /* every offset so far a multiple of its size from l */
		for (unsigned k = 0; k <= n && ok; k++)
			ok = (b->insn[i + k].imm - l) % (int32_t)size_of(b->insn[i + k].op) == 0 &&
			     (uint32_t)(b->insn[i + k].imm - l) < 4096;
		if (!ok)
			break;
		lo = l;
		n++;
		if (size_of == int_load_size && b->insn[i + n - 1].rd == first->rs1)
			break;
	}
	return n;
}

/* Translates block b; NULL if it cannot be (caller marks it declined) or
 * the cache is full (then *full is set). */
/* NIMBUS_JIT_DUMP=DIR (a developers' tool): DIR/code.bin holds each
 * translation as a 16-byte header (guest physical PC, host code size, both
 * little-endian u64) and its host code, for `objdump -D -b binary -m
 * i386:x86-64`; /tmp/perf-PID.map names JIT samples in `perf report`. */
static void dump_open(struct jit *j)
{
	const char *dir = getenv("NIMBUS_JIT_DUMP");
	if (!dir)
		return;
	char path[4096];
	snprintf(path, sizeof path, "%s/code.bin", dir);
	j->dump = fopen(path, "wb");
	snprintf(path, sizeof path, "/tmp/perf-%d.map", (int)getpid());
	j->perf_map = fopen(path, "a");
}

static void dump_translation(const struct jit *j, const struct jit_tb *tb)
{
	if (j->dump) {
		uint64_t hdr[2] = { tb->ppc, tb->code_bytes };
		fwrite(hdr, sizeof hdr, 1, j->dump);
		fwrite(tb->code, 1, tb->code_bytes, j->dump);
	}
	if (j->perf_map)   /* and the virtual pc it was first entered at */
		fprintf(j->perf_map, "%llx %x guest_%llx_v%llx\n",
			(unsigned long long)(uintptr_t)tb->code, tb->code_bytes,
			(unsigned long long)tb->ppc, (unsigned long long)j->h->pc);
}

static struct jit_tb *translate(struct jit *j, const struct block *b, bool *full)
{
	*full = false;
	if (b->ninsn == 0)
		return NULL;
	struct cross cross;
	bool crosses = cross_at_end(j, b, &cross);
	/* (A block of only a straddling instruction is translated: gzip's
	 * longest_match branches to one, a million times per 16 MiB.) */
	if (interp_only(&b->insn[0]) && !(crosses && b->ninsn == 1))
		return NULL;
	if (j->ntbs == j->max_tbs) {
		*full = true;
		return NULL;
	}
	uint64_t t0 = now_ns(j);
	/* With a straddling last instruction translated, the rest of this
	 * function sees it whole (register use, F/D needs, lowering). */
	struct trace *tr = j->trace;
	bool traced = !crosses && j->traces && trace_build(j, b, tr);
	if (!traced) {
		trace_build_one(b, tr);
		if (crosses)
			tr->insn[b->ninsn - 1] = cross.insn;
	}
	b = &tr->whole;
	struct jit_tb *tb = &j->tbs[j->ntbs];
	*tb = (struct jit_tb){ .ppc = b->ppc, .pfn = b->pfn, .ninsn = b->ninsn,
			       .nbytes = b->nbytes, .hash = b->hash,
			       .gen = b->gen, .epoch = b->epoch };
	unsigned insns_before = j->ninsns;
	struct be *be = be_begin(j, tb);
	if (!be) {
		*full = true;
		return NULL;
	}
	unsigned uses[32];
	uint32_t live_in, written;
	reg_usage(b, uses, &live_in, &written);
	bool loops = loops_to_itself(b, tr->pc) || tr->loop_seg, writes_fcsr;
	unsigned fp_needs = fp_block_needs(b, &writes_fcsr);
	/* A loop that may undo its guard checks it every time round. */
	bool guard_each_round = loops && writes_fcsr;
	struct rot_plan rot[BLOCK_MAX_INSNS];
	rotate_plan(b, rot);
	unsigned fuses[32];
	uint32_t fwritten;
	freg_usage(b, fuses, &fwritten);
	if (fp_needs && !guard_each_round)
		be_fp_guard(be, fp_needs);
	be_regs(be, uses, live_in, written, loops, fuses, fwritten);
	if (fp_needs && guard_each_round)
		be_fp_guard(be, fp_needs);
	unsigned i, seg = 0;
	bool ended = false;
	for (i = 0; i < b->ninsn && !ended; i++) {
		const struct insn *in = &b->insn[i];
		uint64_t pc = tr->pc[i], next = pc + in->len;
		if (i == tr->seg_end[seg] && ++seg == tr->loop_seg)
			be_loop_label(be, i, pc);
		bool goes_on = seg + 1 < tr->nseg && i + 1 == tr->seg_end[seg];   /* into the next segment */
		be_insn(be, i, pc, next);
		if (seg > 0 && i == tr->seg_end[seg - 1] && tr->seg_other[seg] &&
		    !tr->seg_other[seg - 1])
			be_page_guard(be, tr->other_at, tr->other_pa,
				      &j->h->bus->code_gen[tr->other_pfn], tr->other_gen);
		if (crosses && i + 1 == b->ninsn)
			be_cross_guard(be, cross.next_page_ppc, cross.upper);
		if (interp_only(in)) {
			be_exit(be, pc, i, JIT_ST_INTERP);
			ended = true;
			break;
		}
		switch (in->op) {
		case OP_JAL: {
			uint64_t target = pc + (uint64_t)(int64_t)in->imm;
			be_pc_value(be, in->rd, next);
			if (goes_on)
				break;
			be_jump(be, target, same_page(target, b->ppc));
			ended = true;
			break;
		}
		case OP_JALR:
			be_jump_reg(be, in->rs1, in->imm, in->rd, next);
			ended = true;
			break;
		case OP_SRET:
			be_helper(be, helper_sret, in, false);
			be_go_on_at_pc(be, i + 1);
			ended = true;
			break;
		case OP_ECALL:   /* always traps: the exit after it is never taken */
			be_helper(be, helper_ecall, in, false);
			be_exit(be, next, i + 1, JIT_ST_EXIT);
			ended = true;
			break;
		case OP_BEQ: case OP_BNE: case OP_BLT: case OP_BGE: case OP_BLTU: case OP_BGEU: {
			uint64_t target = pc + (uint64_t)(int64_t)in->imm;
			if (goes_on) {
				uint64_t out = tr->seg_taken[seg] ? next : target;
				be_branch_out(be, branch_cond(in->op), in->rs1, in->rs2, out,
					      !tr->seg_taken[seg], same_page(out, b->ppc));
				break;
			}
			be_branch(be, branch_cond(in->op), in->rs1, in->rs2, target, next,
				  same_page(target, b->ppc), same_page(next, b->ppc));
			ended = true;
			break;
		}
		default:
			if (rot[i].role == ROT_DROP)
				break;
			if (rot[i].role == ROT_HERE) {
				be_rotate(be, rot[i].w32, in->rd, rot[i].src, rot[i].amount);
				j->stats.rotations++;
				break;
			}
			unsigned limit = crosses ? b->ninsn - 1 : b->ninsn;
			if (seg < tr->nseg && tr->seg_end[seg] < limit)
				limit = tr->seg_end[seg];
			unsigned run = access_run(b, i, limit, int_store_size);
			if (run >= 2) {
				be_store_group(be, in, run, i, &tr->pc[i]);
				i += run - 1;
				break;
			}
			run = access_run(b, i, limit, int_load_size);
			if (run >= 2) {
				be_load_group(be, in, run, i, &tr->pc[i]);
				i += run - 1;
				break;
			}
			if (zext_w_pair(b, i)) {   /* slli rd, rs, 32; srli rd, rd, 32 */
				be_zext32(be, in->rd, in->rs1);
				i++;
				break;
			}
			lower(be, in, pc);
			break;
		}
	}
	if (!ended) {   /* the block stopped at its size limit or the page end */
		const struct insn *last = &b->insn[b->ninsn - 1];
		uint64_t next = tr->pc[b->ninsn - 1] + last->len;
		be_jump(be, next, same_page(next, b->ppc));
	}
	if (!be_end(be)) {
		j->ninsns = insns_before;
		*full = true;
		return NULL;
	}
	if (unlikely(j->dump || j->perf_map))
		dump_translation(j, tb);
	by_ppc_add(j, j->ntbs);
	j->ntbs++;
	j->stats.translations++;
	j->stats.traces += traced;
	j->stats.translate_ns += now_ns(j) - t0;
	return tb;
}

/* ---- lifecycle ---- */

struct jit *jit_new(struct hart *h, size_t cache_bytes)
{
	/* Mapped, not calloc'd: the heat table alone is 64 KiB, and a heap
	 * that clears it pays 16 page faults at every VM start and restore;
	 * zero pages are paid for as blocks heat up. */
	struct jit *j = hart_zeroed_map(sizeof(*j));
	if (!j)
		return NULL;
	j->h = h;
	j->hot = JIT_HOT;
	const char *hot = getenv("NIMBUS_JIT_HOT");   /* for tests and A/B measurements */
	if (hot && *hot)
		jit_set_hot(j, (unsigned)strtoul(hot, NULL, 10));
	j->stats_on = getenv("NIMBUS_JIT_STATS") != NULL;
	j->traces = getenv("NIMBUS_JIT_NO_TRACES") == NULL;   /* for A/B measurements */
	j->loops_only = getenv("NIMBUS_JIT_ALL_TRACES") == NULL;
	dump_open(j);
	/* One translation per ~256 bytes of code is far more than blocks use. */
	j->max_tbs = (unsigned)(cache_bytes / 256);
	j->max_insns = j->max_tbs;
	j->tbs = calloc(j->max_tbs, sizeof(*j->tbs));
	j->insns = calloc(j->max_insns, sizeof(*j->insns));
	j->be = be_state_new();
	j->trace = malloc(sizeof(*j->trace));
	if (!j->tbs || !j->insns || !j->be || !j->trace || code_cache_init(&j->cc, cache_bytes) != 0 ||
	    be_init_stubs(j) != 0) {
		jit_free(j);
		return NULL;
	}
	return j;
}

void jit_free(struct jit *j)
{
	if (!j)
		return;
	if (j->dump)
		fclose(j->dump);
	if (j->perf_map)
		fclose(j->perf_map);
	if (j->stats_on)
		fprintf(stderr, "jit: hart %u: %llu translations (%llu traces, %llu rotations), "
			"%llu KiB code, %.1f ms translating, %llu entries, %llu resets\n",
			j->h->hartid, (unsigned long long)j->stats.translations,
			(unsigned long long)j->stats.traces,
			(unsigned long long)j->stats.rotations,
			(unsigned long long)j->stats.code_bytes >> 10, j->stats.translate_ns / 1e6,
			(unsigned long long)j->stats.entries, (unsigned long long)j->stats.resets);
	if (j->stats_on)
		fprintf(stderr, "jit: hart %u: returns exit %llu trap %llu interp %llu chain %llu "
			"check %llu; lookups %llu\n", j->h->hartid,
			(unsigned long long)j->stats.returns[JIT_ST_EXIT],
			(unsigned long long)j->stats.returns[JIT_ST_TRAP],
			(unsigned long long)j->stats.returns[JIT_ST_INTERP],
			(unsigned long long)j->stats.returns[JIT_ST_CHAIN],
			(unsigned long long)j->stats.returns[JIT_ST_CHECK],
			(unsigned long long)j->stats.lookups);
	code_cache_destroy(&j->cc);
	free(j->tbs);
	by_ppc_free(j);
	free(j->insns);
	be_state_free(j->be);
	free(j->trace);
	free(j->verify);
	hart_zeroed_unmap(j, sizeof(*j));
}

void jit_flush(struct jit *j)
{
	struct hart *h = j->h;
	for (unsigned i = 0; i < BTAB_SIZE; i++)
		h->btab[i].jit = NULL;
	h->jit_link = NULL;
	jcache_flush(h);
	j->ntbs = 0;
	j->ninsns = 0;
	if (j->by_ppc)
		memset(j->by_ppc, 0, sizeof(*j->by_ppc) << j->by_ppc_bits);
	code_cache_reset(&j->cc);
	j->stats.resets++;
	if (be_init_stubs(j) != 0)
		abort();   /* the stubs fit in any cache jit_new accepted */
}

void jit_trim(struct jit *j)
{
	unsigned ntbs = j->ntbs, ninsns = j->ninsns;
	by_ppc_free(j);   /* rather than cleared: by_ppc_add maps a small one again */
	jit_flush(j);
	if (ntbs > j->ntbs)
		hart_give_back(j->tbs + j->ntbs, (size_t)(ntbs - j->ntbs) * sizeof(*j->tbs));
	if (ninsns > j->ninsns)
		hart_give_back(j->insns + j->ninsns, (size_t)(ninsns - j->ninsns) * sizeof(*j->insns));
}

int jit_set_verify(struct jit *j)
{
	if (!j->verify && !(j->verify = jit_verify_new()))
		return -1;
	return 0;
}

void jit_set_hot(struct jit *j, unsigned runs)
{
	j->hot = runs == 0 ? 1 : runs > UINT8_MAX ? UINT8_MAX : runs;
}

void jit_get_stats(const struct jit *j, struct jit_stats *out)
{
	*out = j->stats;
}

/* ---- running ---- */

/* b was just validated: if that moved its generation or epoch on, links
 * made from tb before may lead to stale code, so they go (see jit_internal.h). */
static void tb_refresh(struct jit *j, struct jit_tb *tb, const struct block *b)
{
	if (tb->gen == b->gen && tb->epoch == b->epoch)
		return;
	for (unsigned k = 0; k < tb->nexits; k++)
		be_unlink(&tb->exit[k]);
	tb->gen = b->gen;
	tb->epoch = b->epoch;
	by_ppc_sync(j, tb);
}

/* Jump-cache entry: virtual PC pc runs `code` with delta pc - ppc.  The
 * kernel's cache (hart_internal.h) takes only global upper-half PCs. */
static void jcache_fill(struct hart *h, uint64_t pc, const void *code, uint64_t delta)
{
	unsigned idx = (unsigned)((pc << 4 & h->jc_index_mask) >> 5);
	struct jcache_entry *jc = &h->jc[idx];
	/* Already there (jit_run fills at every entry): its page is in the
	 * filter since, and the kernel's page walk need not be made again. */
	if (jc->vpc == pc && jc->code == code && jc->delta == delta)
		return;
	if (h->jc == h->jcache_kernel) {
		if ((int64_t)pc >= 0 || idx == 0 || !mmu_fetch_is_global(h, pc))
			return;
		unsigned kb = jkernel_filter_bit(pc);
		h->jkernel_pages[kb / 64] |= 1ull << (kb % 64);
		h->jkernel_dirty |= 1ull << (idx / JKERNEL_PIECE_ENTRIES);
	} else {
		unsigned fb = jcache_filter_bit(pc);
		h->jcache_pages[h->space][fb / 64] |= 1ull << (fb % 64);
	}
	jc->vpc = pc;
	jc->code = code;
	jc->delta = delta;
}

int jit_fetch_fill(struct hart *h, uint64_t va)
{
	uint64_t pa;
	if (!fetch_translate(h, va, &pa))
		return 1;
	return h->itlb[(va >> PAGE_SHIFT) & TLB_MASK].tag == (va & PAGE_MASK) ? 0 : 1;
}

const void *jit_lookup(struct hart *h)
{
	uint64_t pc = h->pc;
	h->jit->stats.lookups++;
	const struct tlb_entry *e = &h->itlb[(pc >> PAGE_SHIFT) & TLB_MASK];
	uint64_t pa;
	if (e->tag == (pc & PAGE_MASK))
		pa = pc + e->addend;
	else if (!fetch_translate(h, pc, &pa))   /* a conflict miss; faults go to the dispatcher */
		return NULL;
	/* The translation by physical PC first: it is good if neither the
	 * page's code nor the hart's epoch moved since it was last validated
	 * (the usual case), and the block need not be read at all.  Else the
	 * block validates it (and cuts links made in an older generation). */
	const struct by_ppc_slot *slot = by_ppc_slot_of(h->jit, pa);
	const uint8_t *code;
	if (slot && slot->epoch == h->epoch && slot->gen == bus_code_gen(h->bus, slot->pfn)) {
		code = slot->code;
	} else {
		struct block *b = btab_set(h, pa);
		b += b[1].ppc == pa;
		if (b->ppc != pa || b->epoch != h->epoch || b->gen != bus_code_gen(h->bus, b->pfn) ||
		    !b->jit || b->jit == JIT_DECLINED) {
			/* Cold code (most misses while booting): the next jump
			 * here goes straight to the dispatcher. */
			jcache_fill(h, pc, h->jit->untranslated, pc - pa);
			return NULL;
		}
		struct jit_tb *tb = b->jit;
		tb_refresh(h->jit, tb, b);
		code = tb->code;
	}
	h->jit_delta = pc - pa;
	jcache_fill(h, pc, code, pc - pa);
	return code;
}

/* Forgets tb (its straddling instruction's second half changed): no
 * lookup finds it and no link leads to it any more, so its block is
 * translated afresh once hot again.  Rare: a scan of every exit will do. */
static void tb_drop(struct jit *j, struct hart *h, struct jit_tb *tb)
{
	h->jit_stale = NULL;
	uint64_t ppc = tb->ppc;
	struct block *set = btab_set(h, ppc);
	for (unsigned w = 0; w < 2; w++)
		if (set[w].jit == tb) {
			set[w].jit = NULL;
			set[w].heat = set[w].runs = 0;
		}
	for (unsigned k = 0; k < j->ntbs; k++)
		for (unsigned x = 0; x < j->tbs[k].nexits; x++)
			if (j->tbs[k].exit[x].target_ppc == ppc)
				be_unlink(&j->tbs[k].exit[x]);
	struct by_ppc_slot *e = by_ppc_slot_of(j, ppc);
	if (e && e->tb == (uint32_t)(tb - j->tbs) + 1)
		e->ppc = UINT64_MAX;   /* found no more (and still a link in its chain) */
	tb->ppc = UINT64_MAX;
	jcache_flush(h);
}

/* Links the exit that just returned JIT_ST_CHAIN to tb, if it leads there. */
static void link_pending(struct jit *j, struct hart *h, const struct jit_tb *tb)
{
	struct jit_exit *e = h->jit_link;
	h->jit_link = NULL;
	if (e && e->target_ppc == tb->ppc && same_page(e->from->ppc, tb->ppc))
		be_link(j, e, tb->code);
}

/* The heat table's entry of a block at ppc (shared by colliding blocks). */
static uint8_t *heat_of(struct jit *j, uint64_t ppc)
{
	return &j->heat[(ppc * 0x9e3779b97f4a7c15ull) >> (64 - JIT_HEAT_BITS)];
}

void jit_block_evicted(struct jit *j, const struct block *b)
{
	if (!b->jit && b->runs)
		*heat_of(j, b->ppc) = (uint8_t)(b->runs < UINT8_MAX ? b->runs : UINT8_MAX);
}

bool jit_run(struct hart *h, struct block *b, uint64_t budget, uint64_t *steps)
{
	struct jit *j = h->jit;
	struct jit_tb *tb = b->jit;
	if (tb == JIT_DECLINED) {
		h->jit_link = NULL;
		return false;
	}
	if (!tb && b->heat == 0) {
		/* Decoded again after its slot was taken: the same bytes at the
		 * same place translate the same (tb_refresh below unlinks what
		 * an older generation linked).  Asked at the first run after a
		 * decode only: a PC is in one slot at a time, so no translation
		 * of it can appear while it stays there untranslated. */
		struct jit_tb *old = by_ppc_find(j, b->ppc);
		if (old && old->hash == b->hash && old->nbytes == b->nbytes && old->ninsn == b->ninsn)
			tb = b->jit = old;
	}
	if (!tb) {
		/* Runs count in the block, whose line the run just brought in.
		 * The hashed table outlives the block: it takes the count when
		 * the block is evicted (jit_block_evicted) and gives it to the
		 * block decoded again (runs 0).  Counting in the table at every
		 * run cost a cache miss each, 1% of a boot. */
		unsigned hv = b->runs ? b->runs : *heat_of(j, b->ppc);
		hv += hv < UINT8_MAX;
		b->runs = (uint16_t)hv;
		b->heat = (uint16_t)hv;   /* the block table's victim choice, warm again */
		if (hv < j->hot) {
			h->jit_link = NULL;
			return false;
		}
		uint8_t *heat = heat_of(j, b->ppc);
		bool full;
		tb = translate(j, b, &full);
		if (!tb && full) {
			jit_flush(j);
			tb = translate(j, b, &full);
		}
		if (!tb) {
			b->jit = JIT_DECLINED;
			h->jit_link = NULL;
			return false;
		}
		b->jit = tb;
		*heat = 0;   /* by_ppc finds it now; the entry may serve another block */
	}
	tb_refresh(j, tb, b);
	if (tb->ninsn > budget) {   /* a trace longer than what is left: its block alone */
		h->jit_link = NULL;
		return false;
	}
	if (h->jit_link)
		link_pending(j, h, tb);

	h->jit_budget = (int64_t)(budget < JIT_SLICE ? budget : JIT_SLICE);
	if (j->verify) {   /* one block at a time, then the interpreter's opinion */
		h->jit_budget = tb->ninsn;
		jit_verify_begin(h, j->verify);
	}
	int64_t budget0 = h->jit_budget;
	h->jit_unretired = 0;
	j->stats.entries++;
	/* Code written by a device or another hart: the jump cache may name
	 * stale translations (direct links are cut by validation, above). */
	uint64_t changes = atomic_load_explicit(&h->bus->code_changes, memory_order_acquire);
	if (unlikely(changes != h->seen_code_changes)) {
		h->seen_code_changes = changes;
		jcache_flush(h);
	}
	fp_host_claim(h->fp_owner);
	/* (An entry jit_lookup left pointing at j->untranslated, now good.) */
	jcache_fill(h, h->pc, tb->code, h->pc - b->ppc);
	enum jit_status st = be_enter(j, h, tb->code, h->pc - b->ppc);
	fp_host_settle(&h->fflags);   /* inline F/D ops leave their flags in the host unit */
	/* Translated code counts instructions only off the budget. */
	uint64_t n = (uint64_t)(budget0 - h->jit_budget - h->jit_unretired);
	h->instret += n;
	switch (st) {
	case JIT_ST_TRAP:
		trap_take(h, h->exc_cause, h->exc_tval);
		n++;
		break;
	case JIT_ST_INTERP:
		h->jit_skip = true;
		break;
	case JIT_ST_CHECK:
		/* Out of budget, an interrupt or an attention request: the
		 * dispatcher sorts it out; poll timers meanwhile. */
		hart_poll_timers(h);
		break;
	case JIT_ST_CHAIN:
	case JIT_ST_EXIT:
		break;
	}
	if (unlikely(h->jit_stale))
		tb_drop(j, h, h->jit_stale);
	if (st != JIT_ST_CHAIN)
		h->jit_link = NULL;
	j->stats.returns[st]++;
	if (j->verify)
		jit_verify_end(h, j->verify, n);
	*steps = n;
	return true;
}

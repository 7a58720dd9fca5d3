/*
 * A minimal x86-64 instruction encoder: just the forms the translator's
 * back end uses, each a few lines over a byte buffer.  Register numbers are
 * the hardware ones (rax = 0 ... r15 = 15); memory operands are
 * [base + disp32] or [base + index*scale + disp32].  The buffer never
 * overruns: once full it sets `full` and swallows further bytes, and the
 * translator discards the whole block (see x86_64.c); `end` lies
 * X86_SLACK bytes short of the memory's end (see x_byte).
 * Reference: Intel SDM vol. 2, "Instruction Format" and the opcode tables.
 */
#ifndef NIMBUS_VMM_CPU_JIT_X86_EMIT_H
#define NIMBUS_VMM_CPU_JIT_X86_EMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

enum x86_reg {
	RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI,
	R8, R9, R10, R11, R12, R13, R14, R15,
};

/* Condition codes (the low nibble of Jcc / SETcc / CMOVcc). */
enum x86_cc {
	CC_O = 0, CC_NO, CC_B, CC_AE, CC_E, CC_NE, CC_BE, CC_A,
	CC_S, CC_NS, CC_P, CC_NP, CC_L, CC_GE, CC_LE, CC_G,
};

/* The /digit of the 0x81/0x83 group and the matching 0x01.. r/m,reg opcode. */
enum x86_alu { ALU_ADD = 0, ALU_OR = 1, ALU_AND = 4, ALU_SUB = 5, ALU_XOR = 6, ALU_CMP = 7 };

/* The /digit of the shift group (0xC1 imm, 0xD3 by CL). */
enum x86_shift { SH_ROR = 1, SH_SHL = 4, SH_SHR = 5, SH_SAR = 7 };

struct x86_buf {
	uint8_t *p, *end;
	bool full;
};

/*
 * Bytes go out as 4-byte stores of a type of their own (the first byte
 * the one meant; the next store overwrites the rest).  A store of bytes
 * may alias anything, the buffer's own p and end included, so the
 * compiler reloaded and rewrote them around every byte: a fifth of a
 * translation's time.  A uint32_t store cannot alias a pointer, and p
 * stays in a register through an instruction.  The buffer's memory must
 * go X86_SLACK bytes past `end` (its makers set end that far short).
 */
#define X86_SLACK 8
typedef uint32_t x86_u32_store __attribute__((aligned(1)));

static inline void x_byte(struct x86_buf *b, unsigned v)
{
	if (b->p < b->end)
		*(x86_u32_store *)(void *)b->p++ = v;
	else
		b->full = true;
}

static inline void x_u32(struct x86_buf *b, uint32_t v)
{
	if (b->p < b->end) {
		*(x86_u32_store *)(void *)b->p = v;
		b->p += 4;
	} else {
		b->full = true;
	}
}

static inline void x_u64(struct x86_buf *b, uint64_t v)
{
	x_u32(b, (uint32_t)v);
	x_u32(b, (uint32_t)(v >> 32));
}

static inline bool fits_i8(int64_t v) { return v >= -128 && v <= 127; }
static inline bool fits_i32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

/* REX prefix; `force` emits it even when empty (byte registers sil/dil). */
static inline void x_rex(struct x86_buf *b, bool w, unsigned reg, unsigned index, unsigned base,
			 bool force)
{
	unsigned rex = 0x40 | (w ? 8 : 0) | ((reg & 8) ? 4 : 0) | ((index & 8) ? 2 : 0) |
		       ((base & 8) ? 1 : 0);
	if (rex != 0x40 || force)
		x_byte(b, rex);
}

/* ModRM (+SIB, +disp) for [base + disp]; `reg` is the register or /digit. */
static inline void x_mem(struct x86_buf *b, unsigned reg, unsigned base, int32_t disp)
{
	unsigned mod = disp == 0 && (base & 7) != RBP ? 0 : fits_i8(disp) ? 1 : 2;
	x_byte(b, (mod << 6) | ((reg & 7) << 3) | (base & 7));
	if ((base & 7) == RSP)
		x_byte(b, 0x24);   /* SIB: no index, base = rsp/r12 */
	if (mod == 1)
		x_byte(b, (uint8_t)disp);
	else if (mod == 2)
		x_u32(b, (uint32_t)disp);
}

/* ModRM + SIB for [base + index*scale + disp]; index must not be rsp. */
static inline void x_mem_idx(struct x86_buf *b, unsigned reg, unsigned base, unsigned index,
			     unsigned scale_log2, int32_t disp)
{
	unsigned mod = disp == 0 && (base & 7) != RBP ? 0 : fits_i8(disp) ? 1 : 2;
	x_byte(b, (mod << 6) | ((reg & 7) << 3) | 4);
	x_byte(b, (scale_log2 << 6) | ((index & 7) << 3) | (base & 7));
	if (mod == 1)
		x_byte(b, (uint8_t)disp);
	else if (mod == 2)
		x_u32(b, (uint32_t)disp);
}

static inline void x_modrm_rr(struct x86_buf *b, unsigned reg, unsigned rm)
{
	x_byte(b, 0xc0 | ((reg & 7) << 3) | (rm & 7));
}

/* op reg, [base+disp] with a one-byte opcode; w = 64-bit operand size. */
static inline void x_op_rm(struct x86_buf *b, bool w, unsigned op, unsigned reg, unsigned base,
			   int32_t disp)
{
	x_rex(b, w, reg, 0, base, false);
	x_byte(b, op);
	x_mem(b, reg, base, disp);
}

static inline void x_op_rr(struct x86_buf *b, bool w, unsigned op, unsigned reg, unsigned rm)
{
	x_rex(b, w, reg, 0, rm, false);
	x_byte(b, op);
	x_modrm_rr(b, reg, rm);
}

/* mov r64, [base+disp] / mov [base+disp], r64 (w=false: 32-bit). */
static inline void x_load(struct x86_buf *b, bool w, unsigned r, unsigned base, int32_t disp)
{
	x_op_rm(b, w, 0x8b, r, base, disp);
}

static inline void x_store(struct x86_buf *b, bool w, unsigned base, int32_t disp, unsigned r)
{
	x_op_rm(b, w, 0x89, r, base, disp);
}

static inline void x_mov_rr(struct x86_buf *b, bool w, unsigned dst, unsigned src)
{
	x_op_rr(b, w, 0x89, src, dst);
}

/* The shortest move of a 64-bit constant into a register. */
static inline void x_mov_imm(struct x86_buf *b, unsigned r, uint64_t v)
{
	if (v == 0) {
		x_op_rr(b, false, 0x31, r, r);   /* xor r32, r32 */
	} else if (v <= UINT32_MAX) {
		x_rex(b, false, 0, 0, r, false);
		x_byte(b, 0xb8 + (r & 7));
		x_u32(b, (uint32_t)v);
	} else if (fits_i32((int64_t)v)) {
		x_rex(b, true, 0, 0, r, false);
		x_byte(b, 0xc7);
		x_modrm_rr(b, 0, r);
		x_u32(b, (uint32_t)v);
	} else {
		x_rex(b, true, 0, 0, r, false);
		x_byte(b, 0xb8 + (r & 7));
		x_u64(b, v);
	}
}

/* mov qword [base+disp], simm32 */
static inline void x_store_imm32(struct x86_buf *b, unsigned base, int32_t disp, int32_t v)
{
	x_rex(b, true, 0, 0, base, false);
	x_byte(b, 0xc7);
	x_mem(b, 0, base, disp);
	x_u32(b, (uint32_t)v);
}

/* ALU reg, reg: dst = dst op src. */
static inline void x_alu_rr(struct x86_buf *b, bool w, enum x86_alu op, unsigned dst, unsigned src)
{
	x_op_rr(b, w, (unsigned)op * 8 + 1, src, dst);
}

/* ALU reg, [base+disp]: reg = reg op mem. */
static inline void x_alu_rm(struct x86_buf *b, bool w, enum x86_alu op, unsigned reg,
			    unsigned base, int32_t disp)
{
	x_op_rm(b, w, (unsigned)op * 8 + 3, reg, base, disp);
}

/* ALU reg, simm32. */
static inline void x_alu_ri(struct x86_buf *b, bool w, enum x86_alu op, unsigned r, int32_t imm)
{
	x_rex(b, w, 0, 0, r, false);
	if (fits_i8(imm)) {
		x_byte(b, 0x83);
		x_modrm_rr(b, op, r);
		x_byte(b, (uint8_t)imm);
	} else {
		x_byte(b, 0x81);
		x_modrm_rr(b, op, r);
		x_u32(b, (uint32_t)imm);
	}
}

/* ALU [base+disp], simm32 (w: qword, else dword). */
static inline void x_alu_mi(struct x86_buf *b, bool w, enum x86_alu op, unsigned base,
			    int32_t disp, int32_t imm)
{
	x_rex(b, w, 0, 0, base, false);
	x_byte(b, fits_i8(imm) ? 0x83 : 0x81);
	x_mem(b, op, base, disp);
	if (fits_i8(imm))
		x_byte(b, (uint8_t)imm);
	else
		x_u32(b, (uint32_t)imm);
}

static inline void x_shift_ri(struct x86_buf *b, bool w, enum x86_shift op, unsigned r,
			      unsigned n)
{
	x_rex(b, w, 0, 0, r, false);
	x_byte(b, 0xc1);
	x_modrm_rr(b, op, r);
	x_byte(b, n);
}

/* shift r by cl */
static inline void x_shift_cl(struct x86_buf *b, bool w, enum x86_shift op, unsigned r)
{
	x_rex(b, w, 0, 0, r, false);
	x_byte(b, 0xd3);
	x_modrm_rr(b, op, r);
}

/* imul dst, src (low 64 or 32 bits) */
static inline void x_imul_rr(struct x86_buf *b, bool w, unsigned dst, unsigned src)
{
	x_rex(b, w, dst, 0, src, false);
	x_byte(b, 0x0f);
	x_byte(b, 0xaf);
	x_modrm_rr(b, dst, src);
}

/* One-operand F7 group on a register: /4 mul, /5 imul (rdx:rax = rax * r). */
static inline void x_f7(struct x86_buf *b, bool w, unsigned digit, unsigned r)
{
	x_rex(b, w, 0, 0, r, false);
	x_byte(b, 0xf7);
	x_modrm_rr(b, digit, r);
}

static inline void x_test_rr(struct x86_buf *b, bool w, unsigned a, unsigned c)
{
	x_op_rr(b, w, 0x85, c, a);
}

/* movsxd dst, src32 */
static inline void x_movsxd(struct x86_buf *b, unsigned dst, unsigned src)
{
	x_op_rr(b, true, 0x63, dst, src);
}

/* Loads of 1/2/4/8 bytes from [base] into r, zero- or sign-extended to 64. */
static inline void x_load_ext(struct x86_buf *b, unsigned size, bool sign, unsigned r,
			      unsigned base, int32_t disp)
{
	switch (size) {
	case 1:
		x_rex(b, sign, r, 0, base, false);
		x_byte(b, 0x0f);
		x_byte(b, sign ? 0xbe : 0xb6);
		x_mem(b, r, base, disp);
		break;
	case 2:
		x_rex(b, sign, r, 0, base, false);
		x_byte(b, 0x0f);
		x_byte(b, sign ? 0xbf : 0xb7);
		x_mem(b, r, base, disp);
		break;
	case 4:
		x_op_rm(b, sign, sign ? 0x63 : 0x8b, r, base, disp);
		break;
	default:
		x_op_rm(b, true, 0x8b, r, base, disp);
		break;
	}
}

/* The same from [base + index]. */
static inline void x_load_ext_idx(struct x86_buf *b, unsigned size, bool sign, unsigned r,
				  unsigned base, unsigned index)
{
	bool w = size == 8 || sign;   /* movsx to 64 bits, movsxd, mov r64 */
	x_rex(b, w, r, index, base, false);
	switch (size) {
	case 1: case 2:
		x_byte(b, 0x0f);
		x_byte(b, size == 1 ? (sign ? 0xbe : 0xb6) : (sign ? 0xbf : 0xb7));
		break;
	case 4:
		x_byte(b, sign ? 0x63 : 0x8b);
		break;
	default:
		x_byte(b, 0x8b);
		break;
	}
	x_mem_idx(b, r, base, index, 0, 0);
}

/* Stores the low 1/2/4/8 bytes of r to [base+disp]. */
static inline void x_store_sz(struct x86_buf *b, unsigned size, unsigned base, int32_t disp,
			      unsigned r)
{
	switch (size) {
	case 1:
		x_rex(b, false, r, 0, base, r >= RSP);   /* REX makes 4..7 sil/dil, not ah.. */
		x_byte(b, 0x88);
		x_mem(b, r, base, disp);
		break;
	case 2:
		x_byte(b, 0x66);
		x_op_rm(b, false, 0x89, r, base, disp);
		break;
	case 4:
		x_op_rm(b, false, 0x89, r, base, disp);
		break;
	default:
		x_op_rm(b, true, 0x89, r, base, disp);
		break;
	}
}

/* lea dst, [base+disp] */
static inline void x_lea(struct x86_buf *b, unsigned dst, unsigned base, int32_t disp)
{
	x_op_rm(b, true, 0x8d, dst, base, disp);
}

/* lea dst, [base+index] */
static inline void x_lea_idx(struct x86_buf *b, unsigned dst, unsigned base, unsigned index)
{
	x_rex(b, true, dst, index, base, false);
	x_byte(b, 0x8d);
	x_mem_idx(b, dst, base, index, 0, 0);
}

/* setcc r8 then movzx r32, r8: r = condition ? 1 : 0 */
static inline void x_setcc(struct x86_buf *b, enum x86_cc cc, unsigned r)
{
	x_rex(b, false, 0, 0, r, r >= RSP);
	x_byte(b, 0x0f);
	x_byte(b, 0x90 + cc);
	x_modrm_rr(b, 0, r);
	x_rex(b, false, r, 0, r, r >= RSP);
	x_byte(b, 0x0f);
	x_byte(b, 0xb6);
	x_modrm_rr(b, r, r);
}

/* cmovcc dst, src (64-bit) */
static inline void x_cmov(struct x86_buf *b, enum x86_cc cc, unsigned dst, unsigned src)
{
	x_rex(b, true, dst, 0, src, false);
	x_byte(b, 0x0f);
	x_byte(b, 0x40 + cc);
	x_modrm_rr(b, dst, src);
}

/* Jumps with a rel32 to be patched; each returns the offset of its rel32. */
static inline uint8_t *x_jcc32(struct x86_buf *b, enum x86_cc cc)
{
	x_byte(b, 0x0f);
	x_byte(b, 0x80 + cc);
	uint8_t *at = b->p;
	x_u32(b, 0);
	return at;
}

static inline uint8_t *x_jmp32(struct x86_buf *b)
{
	x_byte(b, 0xe9);
	uint8_t *at = b->p;
	x_u32(b, 0);
	return at;
}

/* Points the rel32 at `at` (emitted in this buffer) to `target` in the same buffer. */
static inline void x_patch(struct x86_buf *b, uint8_t *at, const uint8_t *target)
{
	if (b->full || !at || at + 4 > b->end)
		return;
	int32_t rel = (int32_t)(target - (at + 4));
	memcpy(at, &rel, 4);
}

/* call/jmp through a register (targets in the host binary are far away). */
static inline void x_call_r(struct x86_buf *b, unsigned r)
{
	x_rex(b, false, 0, 0, r, false);
	x_byte(b, 0xff);
	x_modrm_rr(b, 2, r);
}

static inline void x_jmp_r(struct x86_buf *b, unsigned r)
{
	x_rex(b, false, 0, 0, r, false);
	x_byte(b, 0xff);
	x_modrm_rr(b, 4, r);
}

static inline void x_push(struct x86_buf *b, unsigned r)
{
	x_rex(b, false, 0, 0, r, false);
	x_byte(b, 0x50 + (r & 7));
}

static inline void x_pop(struct x86_buf *b, unsigned r)
{
	x_rex(b, false, 0, 0, r, false);
	x_byte(b, 0x58 + (r & 7));
}

static inline void x_ret(struct x86_buf *b) { x_byte(b, 0xc3); }

#endif

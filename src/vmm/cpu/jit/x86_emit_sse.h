/*
 * Scalar SSE2 and FMA3 encodings for the back end's inline F/D arithmetic
 * (x86_64_fp.c), over x86_emit.h's buffer.  Legacy SSE forms are
 * [prefix] [REX] 0F op ModRM, with the prefix choosing the type (F2:
 * double, F3: single, 66: the move and compare forms); FMA3 is VEX-encoded.
 * xmm8..xmm15 take REX (or VEX) bits as general registers do.
 * Reference: Intel SDM vol. 2, "Instruction Format" and chapter 2.3 (VEX).
 */
#ifndef NIMBUS_VMM_CPU_JIT_X86_EMIT_SSE_H
#define NIMBUS_VMM_CPU_JIT_X86_EMIT_SSE_H

#include "vmm/cpu/jit/x86_emit.h"

enum { XMM0, XMM1, XMM2 };

/* Mandatory prefixes. */
enum sse_pfx { PFX_NONE = 0, PFX_66 = 0x66, PFX_SD = 0xf2, PFX_SS = 0xf3 };

/* Opcodes after 0F. */
enum sse_op {
	SSE_LOAD = 0x10,      /* movsd/movss xmm, m */
	SSE_STORE = 0x11,     /* movsd/movss m, xmm */
	SSE_CVTSI2 = 0x2a,    /* cvtsi2sd/ss xmm, r/m (REX.W: 64-bit integer) */
	SSE_CVTT2SI = 0x2c,   /* cvttsd/ss2si r, xmm/m (truncating) */
	SSE_CVT2SI = 0x2d,    /* cvtsd/ss2si r, xmm/m (MXCSR rounding) */
	SSE_MOVAPD = 0x28,    /* 66 movapd xmm, xmm (register copies) */
	SSE_UCOMI = 0x2e,     /* ucomisd (66) / ucomiss (none) xmm, xmm/m */
	SSE_SQRT = 0x51,
	SSE_ADD = 0x58,
	SSE_MUL = 0x59,
	SSE_CVT = 0x5a,       /* cvtsd2ss (F2) / cvtss2sd (F3) */
	SSE_SUB = 0x5c,
	SSE_DIV = 0x5e,
	SSE_MOVD_TO_X = 0x6e, /* 66 movd/movq xmm, r/m */
	SSE_MOVD_FROM_X = 0x7e, /* 66 movd/movq r/m, xmm */
};

/* op reg, [base+disp] (reg an xmm or a general register, as the op says). */
static inline void x_sse_rm(struct x86_buf *b, enum sse_pfx pfx, bool w, enum sse_op op,
			    unsigned reg, unsigned base, int32_t disp)
{
	if (pfx != PFX_NONE)
		x_byte(b, pfx);
	x_rex(b, w, reg, 0, base, false);
	x_byte(b, 0x0f);
	x_byte(b, op);
	x_mem(b, reg, base, disp);
}

/* op reg, rm (register forms; which is the xmm depends on the op). */
static inline void x_sse_rr(struct x86_buf *b, enum sse_pfx pfx, bool w, enum sse_op op,
			    unsigned reg, unsigned rm)
{
	if (pfx != PFX_NONE)
		x_byte(b, pfx);
	x_rex(b, w, reg, 0, rm, false);
	x_byte(b, 0x0f);
	x_byte(b, op);
	x_modrm_rr(b, reg, rm);
}

/* FMA3 231 forms: dst = +-(a * [base+disp]) +- dst. */
enum fma_op {
	FMA_MADD = 0xb9,      /* a*m + dst */
	FMA_MSUB = 0xbb,      /* a*m - dst */
	FMA_NMADD = 0xbd,     /* -(a*m) + dst */
	FMA_NMSUB = 0xbf,     /* -(a*m) - dst */
};

static inline void x_fma231_rm(struct x86_buf *b, bool dbl, enum fma_op op, unsigned dst,
			       unsigned a, unsigned base, int32_t disp)
{
	x_byte(b, 0xc4);                                   /* three-byte VEX */
	x_byte(b, 0x80 | 0x40 | ((base & 8) ? 0 : 0x20) | 0x02);   /* ~R ~X ~B, map 0F38 */
	x_byte(b, (dbl ? 0x80 : 0) | ((~a & 15) << 3) | 0x01);    /* W, ~vvvv, L=0, pp=66 */
	x_byte(b, op);
	x_mem(b, dst, base, disp);
}

/* The same, dst = +-(a * m) +- dst with m an xmm register; dst below xmm8. */
static inline void x_fma231_rr(struct x86_buf *b, bool dbl, enum fma_op op, unsigned dst,
			       unsigned a, unsigned m)
{
	x_byte(b, 0xc4);
	x_byte(b, 0x80 | 0x40 | ((m & 8) ? 0 : 0x20) | 0x02);
	x_byte(b, (dbl ? 0x80 : 0) | ((~a & 15) << 3) | 0x01);
	x_byte(b, op);
	x_modrm_rr(b, dst, m);
}

/* cmp byte [base+disp], imm8 */
static inline void x_cmp_m8(struct x86_buf *b, unsigned base, int32_t disp, uint8_t imm)
{
	x_rex(b, false, 0, 0, base, false);
	x_byte(b, 0x80);
	x_mem(b, 7, base, disp);
	x_byte(b, imm);
}

/* mov dword [base+disp], imm32 */
static inline void x_store32_imm(struct x86_buf *b, unsigned base, int32_t disp, uint32_t v)
{
	x_rex(b, false, 0, 0, base, false);
	x_byte(b, 0xc7);
	x_mem(b, 0, base, disp);
	x_u32(b, v);
}

/* test r32, imm32 */
static inline void x_test_ri32(struct x86_buf *b, unsigned r, uint32_t imm)
{
	x_rex(b, false, 0, 0, r, false);
	x_byte(b, 0xf7);
	x_modrm_rr(b, 0, r);
	x_u32(b, imm);
}

#endif

/*
 * Host FPU fast path (fp_host.h).  LDMXCSR is slow, so round-to-nearest
 * operations (nearly all of them: it is the host's mode too) leave MXCSR
 * alone and let its sticky flags accumulate, as fflags do: the invariant is
 * that the flags MXCSR holds belong to the hart this thread last ran FP for
 * (mx_owner), so OR-ing all of them into its fflags after each operation is
 * exact.  Outside translated code they are already there; inside it, inline
 * operations leave theirs in MXCSR alone, and fp_host_settle (when the JIT
 * returns, or before translated code reads fflags) ORs them in.  Another
 * hart on the thread, or the guest writing fflags, clears them once.  Other rounding modes load MXCSR with the mode
 * and no flags around the one instruction and restore it.  The VMM itself
 * does no floating point, so nothing else touches these flags.  FMSUB/FNMSUB/FNMADD are one
 * fused multiply-add with operands negated first (the ISA negates the
 * product, then adds), which is exact.  One difference from x86 is patched:
 * infinity times zero plus a quiet NaN is invalid on RISC-V (unprivileged
 * ISA 11.6), silent on x86.
 */
#include "vmm/cpu/fp_host.h"
#include "vmm/cpu/fpu.h"
#include "vmm/cpu/ops.h"

#include <string.h>

#include <stdatomic.h>

static _Atomic uint64_t next_owner = 1;
static _Thread_local uint64_t mx_owner;   /* whose flags MXCSR holds; 0: nobody's */

uint64_t fp_host_new_owner(void)
{
	return atomic_fetch_add(&next_owner, 1);
}

void fp_host_forget(void)
{
	mx_owner = 0;
}

#if defined(__x86_64__)

static unsigned mxcsr_for(unsigned rm)
{
	static const unsigned rc[4] = { 0, 3, 1, 2 };   /* RNE RTZ RDN RUP -> MXCSR.RC */
	return 0x1f80u | rc[rm] << 13;
}

void fp_host_claim(uint64_t owner)
{
	if (mx_owner == owner)
		return;
	unsigned fresh = mxcsr_for(FP_RNE);
	__asm__ volatile("ldmxcsr %0" : : "m"(fresh));
	mx_owner = owner;
}

/* MXCSR's IE ZE OE UE PE (bits 0, 2..5; DE, bit 1, has no RISC-V twin). */
#define F6(c) (uint8_t)(((c) & 1 ? FP_NV : 0) | ((c) & 4 ? FP_DZ : 0) | ((c) & 8 ? FP_OF : 0) | \
			((c) & 16 ? FP_UF : 0) | ((c) & 32 ? FP_NX : 0))
#define F6x8(c) F6(c), F6(c + 1), F6(c + 2), F6(c + 3), F6(c + 4), F6(c + 5), F6(c + 6), F6(c + 7)
const uint8_t fp_host_flag_map[64] = {
	F6x8(0), F6x8(8), F6x8(16), F6x8(24), F6x8(32), F6x8(40), F6x8(48), F6x8(56),
};
#undef F6x8
#undef F6

static unsigned flags_of(unsigned csr)
{
	return fp_host_flag_map[csr & 63];
}

void fp_host_settle(uint32_t *fflags)
{
	unsigned csr;
	__asm__ volatile("stmxcsr %0" : "=m"(csr));
	*fflags |= fp_host_flag_map[csr & 63];
}

#define BIN(name, T, insn)                                                         \
	static T name(T x, T y, unsigned csr, unsigned *after)                     \
	{                                                                          \
		unsigned old;                                                      \
		__asm__ volatile("stmxcsr %[old]\n\tldmxcsr %[csr]\n\t" insn       \
				 " %[y], %[x]\n\tstmxcsr %[after]\n\tldmxcsr %[old]" \
				 : [x] "+x"(x), [old] "=m"(old), [after] "=m"(*after) \
				 : [csr] "m"(csr), [y] "x"(y));                    \
		return x;                                                          \
	}
BIN(add_s, float, "addss")
BIN(sub_s, float, "subss")
BIN(mul_s, float, "mulss")
BIN(div_s, float, "divss")
BIN(sqrt_s, float, "sqrtss")
BIN(add_d, double, "addsd")
BIN(sub_d, double, "subsd")
BIN(mul_d, double, "mulsd")
BIN(div_d, double, "divsd")
BIN(sqrt_d, double, "sqrtsd")

/* Round to nearest with MXCSR left as it is; *after = MXCSR afterwards. */
#define BIN_RNE(name, T, insn)                                                     \
	static T name(T x, T y, unsigned *after)                                   \
	{                                                                          \
		__asm__ volatile(insn " %[y], %[x]\n\tstmxcsr %[after]"             \
				 : [x] "+x"(x), [after] "=m"(*after) : [y] "x"(y));  \
		return x;                                                          \
	}
BIN_RNE(add_s_n, float, "addss")
BIN_RNE(sub_s_n, float, "subss")
BIN_RNE(mul_s_n, float, "mulss")
BIN_RNE(div_s_n, float, "divss")
BIN_RNE(sqrt_s_n, float, "sqrtss")
BIN_RNE(add_d_n, double, "addsd")
BIN_RNE(sub_d_n, double, "subsd")
BIN_RNE(mul_d_n, double, "mulsd")
BIN_RNE(div_d_n, double, "divsd")
BIN_RNE(sqrt_d_n, double, "sqrtsd")

#define FMA(name, T, insn)                                                         \
	__attribute__((target("fma"))) static T name(T a, T b, T c, unsigned csr,   \
						     unsigned *after)               \
	{                                                                          \
		unsigned old;                                                      \
		__asm__ volatile("stmxcsr %[old]\n\tldmxcsr %[csr]\n\t" insn       \
				 " %[b], %[a], %[c]\n\tstmxcsr %[after]\n\tldmxcsr %[old]" \
				 : [c] "+x"(c), [old] "=m"(old), [after] "=m"(*after) \
				 : [csr] "m"(csr), [a] "x"(a), [b] "x"(b));        \
		return c;                                                          \
	}
FMA(fma_s, float, "vfmadd231ss")
FMA(fma_d, double, "vfmadd231sd")

#define FMA_RNE(name, T, insn)                                                     \
	__attribute__((target("fma"))) static T name(T a, T b, T c, unsigned *after) \
	{                                                                          \
		__asm__ volatile(insn " %[b], %[a], %[c]\n\tstmxcsr %[after]"       \
				 : [c] "+x"(c), [after] "=m"(*after)               \
				 : [a] "x"(a), [b] "x"(b));                        \
		return c;                                                          \
	}
FMA_RNE(fma_s_n, float, "vfmadd231ss")
FMA_RNE(fma_d_n, double, "vfmadd231sd")

static float f32(uint64_t v) { float f; uint32_t u = (uint32_t)v; memcpy(&f, &u, 4); return f; }
static double f64(uint64_t v) { double d; memcpy(&d, &v, 8); return d; }

static uint64_t r32(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return (u & 0x7fffffffu) > 0x7f800000u ? F32_CANONICAL_NAN : u;
}

static uint64_t r64(double d)
{
	uint64_t u;
	memcpy(&u, &d, 8);
	return (u & ~(1ull << 63)) > 0x7ff0000000000000ull ? F64_CANONICAL_NAN : u;
}

static bool inf_times_zero(bool d, uint64_t a, uint64_t b)
{
	uint64_t mag = d ? ~(1ull << 63) : 0x7fffffffu, inf = d ? 0x7ff0000000000000ull : 0x7f800000u;
	a &= mag;
	b &= mag;
	return (a == inf && b == 0) || (a == 0 && b == inf);
}

bool fp_host(uint64_t owner, unsigned op, uint64_t a, uint64_t b, uint64_t c, unsigned rm,
	     uint64_t *result, unsigned *flags)
{
	static int fma_state;   /* 0 unknown, 1 yes, -1 no (idempotent, so races are benign) */
	if (rm > FP_RUP)
		return false;
	bool rne = rm == FP_RNE;
	if (rne && mx_owner != owner) {   /* drop another hart's (or stale) flags */
		unsigned fresh = mxcsr_for(FP_RNE);
		__asm__ volatile("ldmxcsr %0" : : "m"(fresh));
		mx_owner = owner;
	}
	unsigned csr = mxcsr_for(rm), after = 0;
	const uint64_t s32 = 1ull << 31, s64 = 1ull << 63;
#define OP2(fast, slow, T, x, y) (rne ? fast(x, y, &after) : slow(x, y, csr, &after))
	switch (op) {
	case OP_FADD_S: *result = r32(OP2(add_s_n, add_s, float, f32(a), f32(b))); break;
	case OP_FSUB_S: *result = r32(OP2(sub_s_n, sub_s, float, f32(a), f32(b))); break;
	case OP_FMUL_S: *result = r32(OP2(mul_s_n, mul_s, float, f32(a), f32(b))); break;
	case OP_FDIV_S: *result = r32(OP2(div_s_n, div_s, float, f32(a), f32(b))); break;
	case OP_FSQRT_S: *result = r32(OP2(sqrt_s_n, sqrt_s, float, f32(a), f32(a))); break;
	case OP_FADD_D: *result = r64(OP2(add_d_n, add_d, double, f64(a), f64(b))); break;
	case OP_FSUB_D: *result = r64(OP2(sub_d_n, sub_d, double, f64(a), f64(b))); break;
	case OP_FMUL_D: *result = r64(OP2(mul_d_n, mul_d, double, f64(a), f64(b))); break;
	case OP_FDIV_D: *result = r64(OP2(div_d_n, div_d, double, f64(a), f64(b))); break;
	case OP_FSQRT_D: *result = r64(OP2(sqrt_d_n, sqrt_d, double, f64(a), f64(a))); break;
#undef OP2
	case OP_FMADD_S: case OP_FMSUB_S: case OP_FNMSUB_S: case OP_FNMADD_S:
	case OP_FMADD_D: case OP_FMSUB_D: case OP_FNMSUB_D: case OP_FNMADD_D: {
		if (fma_state == 0)
			fma_state = __builtin_cpu_supports("fma") ? 1 : -1;
		if (fma_state < 0)
			return false;
		bool d = op >= OP_FMADD_D;
		unsigned k = op - (d ? OP_FMADD_D : OP_FMADD_S);   /* MADD MSUB NMSUB NMADD */
		bool neg_prod = k >= 2, neg_add = k == 1 || k == 3;
		uint64_t sign = d ? s64 : s32;
		a ^= neg_prod ? sign : 0;
		c ^= neg_add ? sign : 0;
		if (rne)
			*result = d ? r64(fma_d_n(f64(a), f64(b), f64(c), &after))
				    : r32(fma_s_n(f32(a), f32(b), f32(c), &after));
		else
			*result = d ? r64(fma_d(f64(a), f64(b), f64(c), csr, &after))
				    : r32(fma_s(f32(a), f32(b), f32(c), csr, &after));
		/* RISC-V: infinity times zero is invalid even when the addend is
		 * a quiet NaN; x86 then raises nothing. */
		if (inf_times_zero(d, a, b))
			after |= 1;
		break;
	}
	default:
		return false;
	}
	*flags = flags_of(after);
	return true;
}

#else

const uint8_t fp_host_flag_map[64];

void fp_host_claim(uint64_t owner)
{
	(void)owner;
}

void fp_host_settle(uint32_t *fflags)
{
	(void)fflags;
}

bool fp_host(uint64_t owner, unsigned op, uint64_t a, uint64_t b, uint64_t c, unsigned rm,
	     uint64_t *result, unsigned *flags)
{
	(void)owner;
	(void)op; (void)a; (void)b; (void)c; (void)rm; (void)result; (void)flags;
	return false;
}

#endif

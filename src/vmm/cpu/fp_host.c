/*
 * Host FPU fast path (fp_host.h).  Each operation loads MXCSR with the
 * guest's rounding mode, all exceptions masked and no flags, runs one SSE
 * instruction, reads the flags back and restores the host's MXCSR, so the
 * VMM's own floating point is never affected.  FMSUB/FNMSUB/FNMADD are one
 * fused multiply-add with operands negated first (the ISA negates the
 * product, then adds), which is exact.  One difference from x86 is patched:
 * infinity times zero plus a quiet NaN is invalid on RISC-V (unprivileged
 * ISA 11.6), silent on x86.
 */
#include "vmm/cpu/fp_host.h"
#include "vmm/cpu/fpu.h"
#include "vmm/cpu/ops.h"

#include <string.h>

#if defined(__x86_64__)

static unsigned mxcsr_for(unsigned rm)
{
	static const unsigned rc[4] = { 0, 3, 1, 2 };   /* RNE RTZ RDN RUP -> MXCSR.RC */
	return 0x1f80u | rc[rm] << 13;
}

static unsigned flags_of(unsigned csr)
{
	return ((csr & 1) ? FP_NV : 0) | ((csr & 4) ? FP_DZ : 0) | ((csr & 8) ? FP_OF : 0) |
	       ((csr & 16) ? FP_UF : 0) | ((csr & 32) ? FP_NX : 0);
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

bool fp_host(unsigned op, uint64_t a, uint64_t b, uint64_t c, unsigned rm, uint64_t *result,
	     unsigned *flags)
{
	static int fma_state;   /* 0 unknown, 1 yes, -1 no (idempotent, so races are benign) */
	if (rm > FP_RUP)
		return false;
	unsigned csr = mxcsr_for(rm), after = 0;
	const uint64_t s32 = 1ull << 31, s64 = 1ull << 63;
	switch (op) {
	case OP_FADD_S: *result = r32(add_s(f32(a), f32(b), csr, &after)); break;
	case OP_FSUB_S: *result = r32(sub_s(f32(a), f32(b), csr, &after)); break;
	case OP_FMUL_S: *result = r32(mul_s(f32(a), f32(b), csr, &after)); break;
	case OP_FDIV_S: *result = r32(div_s(f32(a), f32(b), csr, &after)); break;
	case OP_FSQRT_S: *result = r32(sqrt_s(f32(a), f32(a), csr, &after)); break;
	case OP_FADD_D: *result = r64(add_d(f64(a), f64(b), csr, &after)); break;
	case OP_FSUB_D: *result = r64(sub_d(f64(a), f64(b), csr, &after)); break;
	case OP_FMUL_D: *result = r64(mul_d(f64(a), f64(b), csr, &after)); break;
	case OP_FDIV_D: *result = r64(div_d(f64(a), f64(b), csr, &after)); break;
	case OP_FSQRT_D: *result = r64(sqrt_d(f64(a), f64(a), csr, &after)); break;
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

bool fp_host(unsigned op, uint64_t a, uint64_t b, uint64_t c, unsigned rm, uint64_t *result,
	     unsigned *flags)
{
	(void)op; (void)a; (void)b; (void)c; (void)rm; (void)result; (void)flags;
	return false;
}

#endif

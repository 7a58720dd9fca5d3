/*
 * IEEE 754 binary32/binary64 arithmetic with RISC-V semantics (the F and D
 * chapters of the unprivileged ISA manual): the five rounding modes,
 * accumulated exception flags, the canonical NaN (0x7fc00000 /
 * 0x7ff8000000000000) for every NaN result, saturating float-to-integer
 * conversions, and min/max/compare rules for signalling NaNs.
 *
 * Pure functions on raw bit patterns: no hart state, so they are testable
 * alone and usable from an interpreter or a JIT alike.  `rm` is a resolved
 * rounding mode (0..4, never DYN); `flags` gets FP_* bits OR-ed in.
 */
#ifndef NIMBUS_VMM_CPU_FPU_H
#define NIMBUS_VMM_CPU_FPU_H

#include <stdint.h>

enum fp_rounding { FP_RNE = 0, FP_RTZ = 1, FP_RDN = 2, FP_RUP = 3, FP_RMM = 4 };
enum fp_flag { FP_NX = 1, FP_UF = 2, FP_OF = 4, FP_DZ = 8, FP_NV = 16 };

#define F32_CANONICAL_NAN 0x7fc00000u
#define F64_CANONICAL_NAN 0x7ff8000000000000ull

/* A binary32 value held in a 64-bit f register must be NaN-boxed. */
static inline uint64_t fp_box32(uint32_t v) { return 0xffffffff00000000ull | v; }
static inline uint32_t fp_unbox32(uint64_t r)
{
	return (r >> 32) == 0xffffffffu ? (uint32_t)r : F32_CANONICAL_NAN;
}

/* Arithmetic.  muladd computes (a*b)+c with one rounding; the F{N}MADD/SUB
 * forms negate the product and/or the addend first. */
uint32_t f32_add(uint32_t a, uint32_t b, unsigned rm, unsigned *flags);
uint32_t f32_sub(uint32_t a, uint32_t b, unsigned rm, unsigned *flags);
uint32_t f32_mul(uint32_t a, uint32_t b, unsigned rm, unsigned *flags);
uint32_t f32_div(uint32_t a, uint32_t b, unsigned rm, unsigned *flags);
uint32_t f32_sqrt(uint32_t a, unsigned rm, unsigned *flags);
uint32_t f32_muladd(uint32_t a, uint32_t b, uint32_t c, int negate_product,
		    int negate_addend, unsigned rm, unsigned *flags);
uint32_t f32_min(uint32_t a, uint32_t b, unsigned *flags);
uint32_t f32_max(uint32_t a, uint32_t b, unsigned *flags);
int f32_eq(uint32_t a, uint32_t b, unsigned *flags);   /* quiet */
int f32_lt(uint32_t a, uint32_t b, unsigned *flags);   /* signalling */
int f32_le(uint32_t a, uint32_t b, unsigned *flags);   /* signalling */
unsigned f32_classify(uint32_t a);                     /* FCLASS.S bit mask */

uint64_t f64_add(uint64_t a, uint64_t b, unsigned rm, unsigned *flags);
uint64_t f64_sub(uint64_t a, uint64_t b, unsigned rm, unsigned *flags);
uint64_t f64_mul(uint64_t a, uint64_t b, unsigned rm, unsigned *flags);
uint64_t f64_div(uint64_t a, uint64_t b, unsigned rm, unsigned *flags);
uint64_t f64_sqrt(uint64_t a, unsigned rm, unsigned *flags);
uint64_t f64_muladd(uint64_t a, uint64_t b, uint64_t c, int negate_product,
		    int negate_addend, unsigned rm, unsigned *flags);
uint64_t f64_min(uint64_t a, uint64_t b, unsigned *flags);
uint64_t f64_max(uint64_t a, uint64_t b, unsigned *flags);
int f64_eq(uint64_t a, uint64_t b, unsigned *flags);
int f64_lt(uint64_t a, uint64_t b, unsigned *flags);
int f64_le(uint64_t a, uint64_t b, unsigned *flags);
unsigned f64_classify(uint64_t a);

/* Conversions.  Float-to-integer results saturate as the ISA's table says
 * (NaN converts to the largest value) and raise NV when out of range. */
int32_t f32_to_i32(uint32_t a, unsigned rm, unsigned *flags);
uint32_t f32_to_u32(uint32_t a, unsigned rm, unsigned *flags);
int64_t f32_to_i64(uint32_t a, unsigned rm, unsigned *flags);
uint64_t f32_to_u64(uint32_t a, unsigned rm, unsigned *flags);
int32_t f64_to_i32(uint64_t a, unsigned rm, unsigned *flags);
uint32_t f64_to_u32(uint64_t a, unsigned rm, unsigned *flags);
int64_t f64_to_i64(uint64_t a, unsigned rm, unsigned *flags);
uint64_t f64_to_u64(uint64_t a, unsigned rm, unsigned *flags);
uint32_t i32_to_f32(int32_t v, unsigned rm, unsigned *flags);
uint32_t u32_to_f32(uint32_t v, unsigned rm, unsigned *flags);
uint32_t i64_to_f32(int64_t v, unsigned rm, unsigned *flags);
uint32_t u64_to_f32(uint64_t v, unsigned rm, unsigned *flags);
uint64_t i32_to_f64(int32_t v, unsigned rm, unsigned *flags);
uint64_t u32_to_f64(uint32_t v, unsigned rm, unsigned *flags);
uint64_t i64_to_f64(int64_t v, unsigned rm, unsigned *flags);
uint64_t u64_to_f64(uint64_t v, unsigned rm, unsigned *flags);
uint64_t f32_to_f64(uint32_t a, unsigned *flags);
uint32_t f64_to_f32(uint64_t a, unsigned rm, unsigned *flags);

#endif

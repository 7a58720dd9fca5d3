/*
 * Software IEEE 754-2008 binary32/binary64 arithmetic with the RISC-V F and D
 * extension semantics (unprivileged ISA, chapters "F" and "D": rounding modes,
 * fflags, NaN generation, FMIN/FMAX, FCVT and FCLASS tables).  Integer only:
 * the host FPU and its rounding/flag state are never touched, so results are
 * bit-exact and deterministic on every host, and every function is pure and
 * thread-safe (no state beyond the caller's *flags).
 *
 * Invariants of the internal representation: a finite non-zero operand is
 * unpacked to (sign, e, sig) with value sig * 2^(e-63) and bit 63 of sig set;
 * bits shifted out of sig are OR-ed into bit 0 ("sticky"), which always lies
 * far below the rounding position.  round_pack() is the single place where a
 * result is rounded; it detects tininess after rounding (RISC-V's choice) and
 * raises UF only when the tiny result is also inexact.  Every NaN result is
 * the canonical NaN.
 */
#include "vmm/cpu/fpu.h"

#include <stdbool.h>

typedef unsigned __int128 u128;

/* A binary interchange format: p significand bits (implicit bit included). */
struct fmt {
	unsigned p;     /* precision */
	unsigned width; /* 32 or 64 */
	int emin, emax, bias;
};

static const struct fmt F32 = { 24, 32, -126, 127, 127 };
static const struct fmt F64 = { 53, 64, -1022, 1023, 1023 };

enum kind { K_ZERO, K_FINITE, K_INF, K_QNAN, K_SNAN };

struct unp {
	enum kind kind;
	int sign;
	int e;
	uint64_t sig;
};

#define INLINE static inline __attribute__((always_inline))

INLINE uint64_t sign_bit(const struct fmt *f) { return 1ull << (f->width - 1); }
INLINE uint64_t frac_mask(const struct fmt *f) { return (1ull << (f->p - 1)) - 1; }
INLINE uint64_t inf_bits(const struct fmt *f)
{
	return (sign_bit(f) - 1) & ~frac_mask(f);
}
INLINE uint64_t qnan_bits(const struct fmt *f)
{
	return inf_bits(f) | (1ull << (f->p - 2));
}
INLINE uint64_t max_finite(const struct fmt *f) { return inf_bits(f) - 1; }

INLINE int clz64(uint64_t x) { return __builtin_clzll(x); }

INLINE int clz128(u128 x)
{
	uint64_t hi = (uint64_t)(x >> 64);
	return hi ? clz64(hi) : 64 + clz64((uint64_t)x);
}

INLINE struct unp unpack(const struct fmt *f, uint64_t bits)
{
	struct unp u;
	uint64_t frac = bits & frac_mask(f);
	int bexp = (int)((bits >> (f->p - 1)) & ((1u << (f->width - f->p)) - 1));
	int emax_field = (1 << (f->width - f->p)) - 1;

	u.sign = (int)(bits >> (f->width - 1)) & 1;
	u.e = 0;
	u.sig = 0;
	if (bexp == emax_field) {
		if (frac == 0)
			u.kind = K_INF;
		else
			u.kind = (frac >> (f->p - 2)) & 1 ? K_QNAN : K_SNAN;
	} else if (bexp == 0) {
		if (frac == 0) {
			u.kind = K_ZERO;
		} else {
			int s = clz64(frac);
			u.kind = K_FINITE;
			u.sig = frac << s;
			u.e = f->emin - (int)f->p + 64 - s;
		}
	} else {
		u.kind = K_FINITE;
		u.sig = (frac | (1ull << (f->p - 1))) << (64 - f->p);
		u.e = bexp - f->bias;
	}
	return u;
}

INLINE bool is_nan(enum kind k) { return k == K_QNAN || k == K_SNAN; }

/* Where the discarded bits lie relative to half an ulp. */
enum rclass { R_EXACT, R_BELOW, R_HALF, R_ABOVE };

/* Splits sig into kept = sig >> shift and the class of the discarded part. */
INLINE uint64_t split(uint64_t sig, unsigned shift, enum rclass *rc)
{
	if (shift == 0) {
		*rc = R_EXACT;
		return sig;
	}
	if (shift >= 64) {
		if (sig == 0)
			*rc = R_EXACT;
		else if (shift > 64)
			*rc = R_BELOW;
		else
			*rc = sig < (1ull << 63) ? R_BELOW
			      : sig == (1ull << 63) ? R_HALF : R_ABOVE;
		return 0;
	}
	uint64_t rem = sig & ((1ull << shift) - 1);
	uint64_t half = 1ull << (shift - 1);
	*rc = rem == 0 ? R_EXACT : rem < half ? R_BELOW : rem == half ? R_HALF : R_ABOVE;
	return sig >> shift;
}

INLINE bool round_up(unsigned rm, int sign, enum rclass rc, uint64_t kept)
{
	switch (rm) {
	case FP_RNE:
		return rc == R_ABOVE || (rc == R_HALF && (kept & 1));
	case FP_RMM:
		return rc >= R_HALF;
	case FP_RDN:
		return rc != R_EXACT && sign;
	case FP_RUP:
		return rc != R_EXACT && !sign;
	default: /* FP_RTZ */
		return false;
	}
}

INLINE uint64_t overflow(const struct fmt *f, int sign, unsigned rm, unsigned *flags)
{
	uint64_t s = sign ? sign_bit(f) : 0;
	*flags |= FP_OF | FP_NX;
	if (rm == FP_RTZ || (rm == FP_RDN && !sign) || (rm == FP_RUP && sign))
		return s | max_finite(f);
	return s | inf_bits(f);
}

/* Rounds (-1)^sign * sig * 2^(e-63) (bit 63 of sig set) into format f. */
INLINE uint64_t round_pack(const struct fmt *f, int sign, int e, uint64_t sig,
			   unsigned rm, unsigned *flags)
{
	unsigned shift = 64 - f->p;
	bool tiny = false;
	enum rclass rc;
	uint64_t q;

	if (e > f->emax)
		return overflow(f, sign, rm, flags);
	if (e < f->emin) {
		/* Tiny unless rounding to p bits with an unbounded exponent
		 * carries the value up to 2^emin. */
		tiny = true;
		if (e == f->emin - 1) {
			q = split(sig, shift, &rc);
			if (round_up(rm, sign, rc, q) && q + 1 == (1ull << f->p))
				tiny = false;
		}
		shift += (unsigned)(f->emin - e);
		e = f->emin;
	}
	q = split(sig, shift, &rc);
	if (rc != R_EXACT) {
		*flags |= FP_NX;
		if (tiny)
			*flags |= FP_UF;
	}
	q += round_up(rm, sign, rc, q);
	/* A carry out of the significand bumps the exponent field. */
	uint64_t bits = ((uint64_t)(e + f->bias - 1) << (f->p - 1)) + q;
	if (bits >= inf_bits(f))
		return overflow(f, sign, rm, flags);
	return (sign ? sign_bit(f) : 0) | bits;
}

/* Normalizes a non-zero 128-bit magnitude scaled by 2^(e-127) to 64 bits. */
INLINE uint64_t narrow128(u128 m, int *e)
{
	int s = clz128(m);
	m <<= s;
	*e -= s;
	return (uint64_t)(m >> 64) | ((uint64_t)m != 0);
}

INLINE uint64_t zero_sum_sign(const struct fmt *f, unsigned rm)
{
	return rm == FP_RDN ? sign_bit(f) : 0;
}

INLINE uint64_t nan_result(const struct fmt *f, bool invalid, unsigned *flags)
{
	if (invalid)
		*flags |= FP_NV;
	return qnan_bits(f);
}

/* ---- addition --------------------------------------------------------- */

static inline uint64_t add_core(const struct fmt *f, uint64_t a, uint64_t b,
				int negb, unsigned rm, unsigned *flags)
{
	struct unp x = unpack(f, a), y = unpack(f, b);
	y.sign ^= negb;

	if (is_nan(x.kind) || is_nan(y.kind))
		return nan_result(f, x.kind == K_SNAN || y.kind == K_SNAN, flags);
	if (x.kind == K_INF || y.kind == K_INF) {
		if (x.kind == K_INF && y.kind == K_INF && x.sign != y.sign)
			return nan_result(f, true, flags);
		int s = x.kind == K_INF ? x.sign : y.sign;
		return (s ? sign_bit(f) : 0) | inf_bits(f);
	}
	if (y.kind == K_ZERO) {
		if (x.kind == K_ZERO && x.sign != y.sign)
			return zero_sum_sign(f, rm);
		return a;
	}
	if (x.kind == K_ZERO)
		return (b & ~sign_bit(f)) | (y.sign ? sign_bit(f) : 0);

	if (x.e < y.e || (x.e == y.e && x.sig < y.sig)) {
		struct unp t = x;
		x = y;
		y = t;
	}
	/* Two spare bits on top for the carry; the low bits of both
	 * significands are zero, so nothing is lost by this shift. */
	uint64_t mx = x.sig >> 2, my = y.sig >> 2;
	unsigned d = (unsigned)(x.e - y.e);
	if (d >= 63)
		my = 1;
	else if (d)
		my = (my >> d) | ((my & ((1ull << d) - 1)) != 0);
	uint64_t m;
	if (x.sign == y.sign) {
		m = mx + my;
	} else {
		m = mx - my;
		if (m == 0)
			return zero_sum_sign(f, rm);
	}
	int s = clz64(m);
	return round_pack(f, x.sign, x.e + 2 - s, m << s, rm, flags);
}

/* ---- multiplication, division, square root ---------------------------- */

static inline uint64_t mul_core(const struct fmt *f, uint64_t a, uint64_t b,
				unsigned rm, unsigned *flags)
{
	struct unp x = unpack(f, a), y = unpack(f, b);
	int sign = x.sign ^ y.sign;
	uint64_t s = sign ? sign_bit(f) : 0;

	if (is_nan(x.kind) || is_nan(y.kind))
		return nan_result(f, x.kind == K_SNAN || y.kind == K_SNAN, flags);
	if (x.kind == K_INF || y.kind == K_INF) {
		if (x.kind == K_ZERO || y.kind == K_ZERO)
			return nan_result(f, true, flags);
		return s | inf_bits(f);
	}
	if (x.kind == K_ZERO || y.kind == K_ZERO)
		return s;
	u128 m = (u128)x.sig * y.sig; /* scaled by 2^(x.e+y.e-126) */
	int e = x.e + y.e + 1;
	uint64_t sig = narrow128(m, &e);
	return round_pack(f, sign, e, sig, rm, flags);
}

static inline uint64_t div_core(const struct fmt *f, uint64_t a, uint64_t b,
				unsigned rm, unsigned *flags)
{
	struct unp x = unpack(f, a), y = unpack(f, b);
	int sign = x.sign ^ y.sign;
	uint64_t s = sign ? sign_bit(f) : 0;

	if (is_nan(x.kind) || is_nan(y.kind))
		return nan_result(f, x.kind == K_SNAN || y.kind == K_SNAN, flags);
	if (x.kind == K_INF)
		return y.kind == K_INF ? nan_result(f, true, flags) : s | inf_bits(f);
	if (y.kind == K_INF)
		return s;
	if (y.kind == K_ZERO) {
		if (x.kind == K_ZERO)
			return nan_result(f, true, flags);
		*flags |= FP_DZ;
		return s | inf_bits(f);
	}
	if (x.kind == K_ZERO)
		return s;

	int e = x.e - y.e;
	uint64_t q, r;
	if (f->p <= 24) {
		/* A 24-bit divisor: one 64-bit division yields 40+ bits. */
		uint64_t dv = y.sig >> 40;
		q = x.sig / dv;
		r = x.sig % dv;
		int s = clz64(q);
		q <<= s;
		e += 23 - s;
	} else {
		u128 n = (u128)x.sig << 63;
		if (x.sig < y.sig) {
			n <<= 1;
			e--;
		}
		q = (uint64_t)(n / y.sig);
		r = (uint64_t)(n % y.sig);
	}
	return round_pack(f, sign, e, q | (r != 0), rm, flags);
}

/* floor(sqrt(n)) and whether it is exact, for n < 2^(2*bits), bits <= 62:
 * the digit-by-digit method, one result bit per step.  The partial
 * remainder stays below 2r+1 < 2^(bits+1), so it fits in 64 bits. */
static uint64_t isqrt128(u128 n, unsigned bits, bool *exact)
{
	uint64_t r = 0, rem = 0;
	for (int i = (int)bits - 1; i >= 0; i--) {
		rem = (rem << 2) | (uint64_t)((n >> (2 * i)) & 3);
		uint64_t t = (r << 2) | 1;
		r <<= 1;
		if (rem >= t) {
			rem -= t;
			r |= 1;
		}
	}
	*exact = rem == 0;
	return r;
}

static inline uint64_t sqrt_core(const struct fmt *f, uint64_t a, unsigned rm,
				 unsigned *flags)
{
	struct unp x = unpack(f, a);

	if (is_nan(x.kind))
		return nan_result(f, x.kind == K_SNAN, flags);
	if (x.kind == K_ZERO)
		return a;
	if (x.sign)
		return nan_result(f, true, flags);
	if (x.kind == K_INF)
		return a;

	/* value = mant * 2^E with a p-bit mant; take R = p+2 result bits. */
	unsigned R = f->p + 2;
	uint64_t mant = x.sig >> (64 - f->p);
	int E = x.e - (int)f->p + 1;
	unsigned sh = f->p + 3;
	if ((E - (int)sh) & 1)
		sh++;
	bool exact;
	uint64_t r = isqrt128((u128)mant << sh, R, &exact);
	int e = (E - (int)sh) / 2 + (int)R - 1;
	return round_pack(f, 0, e, (r << (64 - R)) | !exact, rm, flags);
}

/* ---- fused multiply-add ----------------------------------------------- */

static inline uint64_t muladd_core(const struct fmt *f, uint64_t a, uint64_t b,
				   uint64_t c, int negp, int negc, unsigned rm,
				   unsigned *flags)
{
	struct unp x = unpack(f, a), y = unpack(f, b), z = unpack(f, c);
	int ps = x.sign ^ y.sign ^ (negp != 0);
	z.sign ^= (negc != 0);

	/* inf * 0 is invalid even when the addend is a quiet NaN. */
	if ((x.kind == K_INF && y.kind == K_ZERO) ||
	    (x.kind == K_ZERO && y.kind == K_INF))
		return nan_result(f, true, flags);
	if (is_nan(x.kind) || is_nan(y.kind) || is_nan(z.kind))
		return nan_result(f, x.kind == K_SNAN || y.kind == K_SNAN ||
					     z.kind == K_SNAN, flags);
	if (x.kind == K_INF || y.kind == K_INF) {
		if (z.kind == K_INF && z.sign != ps)
			return nan_result(f, true, flags);
		return (ps ? sign_bit(f) : 0) | inf_bits(f);
	}
	if (z.kind == K_INF)
		return (z.sign ? sign_bit(f) : 0) | inf_bits(f);
	if (x.kind == K_ZERO || y.kind == K_ZERO) {
		if (z.kind == K_ZERO)
			return ps == z.sign ? (ps ? sign_bit(f) : 0)
					    : zero_sum_sign(f, rm);
		return (c & ~sign_bit(f)) | (z.sign ? sign_bit(f) : 0);
	}

	/* Exact product, bit 126 leading: value P * 2^(pe-126). */
	u128 P = (u128)x.sig * y.sig;
	int pe = x.e + y.e;
	if (P >> 127) {
		P >>= 1; /* the low 22+ bits are zero: exact */
		pe++;
	}
	if (z.kind == K_ZERO) {
		int e = pe + 1;
		uint64_t sig = narrow128(P, &e);
		return round_pack(f, ps, e, sig, rm, flags);
	}
	u128 C = (u128)z.sig << 63; /* value C * 2^(z.e-126) */
	int ce = z.e, cs = z.sign;
	/* Order so that (P, pe, ps) is the larger magnitude. */
	if (pe < ce || (pe == ce && P < C)) {
		u128 t = P;
		P = C;
		C = t;
		int ti = pe;
		pe = ce;
		ce = ti;
		ti = ps;
		ps = cs;
		cs = ti;
	}
	unsigned d = (unsigned)(pe - ce);
	if (d >= 127)
		C = 1;
	else if (d)
		C = (C >> d) | ((C & (((u128)1 << d) - 1)) != 0);
	u128 m;
	if (ps == cs) {
		m = P + C;
	} else {
		m = P - C;
		if (m == 0)
			return zero_sum_sign(f, rm);
	}
	int e = pe + 1; /* m scaled by 2^(pe-126) = 2^((pe+1)-127) */
	uint64_t sig = narrow128(m, &e);
	return round_pack(f, ps, e, sig, rm, flags);
}

/* ---- min/max and comparisons ------------------------------------------ */

/* Maps a non-NaN encoding to an integer ordered like its value; -0 < +0. */
INLINE int64_t order_key(const struct fmt *f, uint64_t v)
{
	uint64_t mag = v & (sign_bit(f) - 1);
	return (v & sign_bit(f)) ? -(int64_t)mag - 1 : (int64_t)mag;
}

static inline uint64_t minmax_core(const struct fmt *f, uint64_t a, uint64_t b,
				   bool want_max, unsigned *flags)
{
	struct unp x = unpack(f, a), y = unpack(f, b);
	if (x.kind == K_SNAN || y.kind == K_SNAN)
		*flags |= FP_NV;
	if (is_nan(x.kind))
		return is_nan(y.kind) ? qnan_bits(f) : b;
	if (is_nan(y.kind))
		return a;
	bool a_lt_b = order_key(f, a) < order_key(f, b);
	return a_lt_b == want_max ? b : a;
}

/* Returns -1 if unordered, else 0 (lt), 1 (eq), 2 (gt); -0 == +0. */
INLINE int compare(const struct fmt *f, uint64_t a, uint64_t b, bool signalling,
		   unsigned *flags)
{
	struct unp x = unpack(f, a), y = unpack(f, b);
	if (is_nan(x.kind) || is_nan(y.kind)) {
		if (signalling || x.kind == K_SNAN || y.kind == K_SNAN)
			*flags |= FP_NV;
		return -1;
	}
	if (x.kind == K_ZERO && y.kind == K_ZERO)
		return 1;
	int64_t ka = order_key(f, a), kb = order_key(f, b);
	return ka < kb ? 0 : ka == kb ? 1 : 2;
}

static inline unsigned classify_core(const struct fmt *f, uint64_t a)
{
	struct unp x = unpack(f, a);
	bool subnormal = x.kind == K_FINITE && (a & inf_bits(f)) == 0;
	switch (x.kind) {
	case K_INF:
		return x.sign ? 1u << 0 : 1u << 7;
	case K_FINITE:
		if (subnormal)
			return x.sign ? 1u << 2 : 1u << 5;
		return x.sign ? 1u << 1 : 1u << 6;
	case K_ZERO:
		return x.sign ? 1u << 3 : 1u << 4;
	case K_SNAN:
		return 1u << 8;
	default:
		return 1u << 9;
	}
}

/* ---- conversions ------------------------------------------------------ */

/* Float to an integer of `bits` width; returns the raw two's-complement
 * value in the low `bits` bits. */
static inline uint64_t to_int(const struct fmt *f, uint64_t a, unsigned bits,
			      bool is_signed, unsigned rm, unsigned *flags)
{
	struct unp x = unpack(f, a);
	uint64_t umax = bits == 64 ? ~0ull : (1ull << bits) - 1;
	uint64_t smax = umax >> 1, smin = smax + 1; /* magnitudes */
	uint64_t hi = is_signed ? smax : umax;
	uint64_t lo = is_signed ? (0 - smin) & umax : 0;

	if (is_nan(x.kind)) {
		*flags |= FP_NV;
		return hi;
	}
	if (x.kind == K_ZERO)
		return 0;
	if (x.kind == K_INF || x.e >= 64) {
		*flags |= FP_NV;
		return x.sign ? lo : hi;
	}
	enum rclass rc;
	uint64_t q = split(x.sig, (unsigned)(63 - x.e), &rc);
	bool inc = round_up(rm, x.sign, rc, q);
	bool carry = inc && q == ~0ull;
	q += inc;
	/* Range check on the rounded magnitude. */
	uint64_t limit = x.sign ? (is_signed ? smin : 0) : hi;
	if (carry || q > limit) {
		*flags |= FP_NV;
		return x.sign ? lo : hi;
	}
	if (rc != R_EXACT)
		*flags |= FP_NX;
	return (x.sign ? 0 - q : q) & umax;
}

static inline uint64_t from_int(const struct fmt *f, int sign, uint64_t mag,
				unsigned rm, unsigned *flags)
{
	if (mag == 0)
		return 0;
	int s = clz64(mag);
	return round_pack(f, sign, 63 - s, mag << s, rm, flags);
}

static inline uint64_t convert(const struct fmt *to, const struct fmt *from,
			       uint64_t a, unsigned rm, unsigned *flags)
{
	struct unp x = unpack(from, a);
	uint64_t s = x.sign ? sign_bit(to) : 0;
	switch (x.kind) {
	case K_SNAN:
	case K_QNAN:
		return nan_result(to, x.kind == K_SNAN, flags);
	case K_INF:
		return s | inf_bits(to);
	case K_ZERO:
		return s;
	default:
		return round_pack(to, x.sign, x.e, x.sig, rm, flags);
	}
}

/* ---- public entry points ---------------------------------------------- */

uint32_t f32_add(uint32_t a, uint32_t b, unsigned rm, unsigned *flags)
{
	return (uint32_t)add_core(&F32, a, b, 0, rm, flags);
}
uint32_t f32_sub(uint32_t a, uint32_t b, unsigned rm, unsigned *flags)
{
	return (uint32_t)add_core(&F32, a, b, 1, rm, flags);
}
uint32_t f32_mul(uint32_t a, uint32_t b, unsigned rm, unsigned *flags)
{
	return (uint32_t)mul_core(&F32, a, b, rm, flags);
}
uint32_t f32_div(uint32_t a, uint32_t b, unsigned rm, unsigned *flags)
{
	return (uint32_t)div_core(&F32, a, b, rm, flags);
}
uint32_t f32_sqrt(uint32_t a, unsigned rm, unsigned *flags)
{
	return (uint32_t)sqrt_core(&F32, a, rm, flags);
}
uint32_t f32_muladd(uint32_t a, uint32_t b, uint32_t c, int negate_product,
		    int negate_addend, unsigned rm, unsigned *flags)
{
	return (uint32_t)muladd_core(&F32, a, b, c, negate_product, negate_addend,
				     rm, flags);
}
uint32_t f32_min(uint32_t a, uint32_t b, unsigned *flags)
{
	return (uint32_t)minmax_core(&F32, a, b, false, flags);
}
uint32_t f32_max(uint32_t a, uint32_t b, unsigned *flags)
{
	return (uint32_t)minmax_core(&F32, a, b, true, flags);
}
int f32_eq(uint32_t a, uint32_t b, unsigned *flags)
{
	return compare(&F32, a, b, false, flags) == 1;
}
int f32_lt(uint32_t a, uint32_t b, unsigned *flags)
{
	return compare(&F32, a, b, true, flags) == 0;
}
int f32_le(uint32_t a, uint32_t b, unsigned *flags)
{
	int c = compare(&F32, a, b, true, flags);
	return c == 0 || c == 1;
}
unsigned f32_classify(uint32_t a) { return classify_core(&F32, a); }

uint64_t f64_add(uint64_t a, uint64_t b, unsigned rm, unsigned *flags)
{
	return add_core(&F64, a, b, 0, rm, flags);
}
uint64_t f64_sub(uint64_t a, uint64_t b, unsigned rm, unsigned *flags)
{
	return add_core(&F64, a, b, 1, rm, flags);
}
uint64_t f64_mul(uint64_t a, uint64_t b, unsigned rm, unsigned *flags)
{
	return mul_core(&F64, a, b, rm, flags);
}
uint64_t f64_div(uint64_t a, uint64_t b, unsigned rm, unsigned *flags)
{
	return div_core(&F64, a, b, rm, flags);
}
uint64_t f64_sqrt(uint64_t a, unsigned rm, unsigned *flags)
{
	return sqrt_core(&F64, a, rm, flags);
}
uint64_t f64_muladd(uint64_t a, uint64_t b, uint64_t c, int negate_product,
		    int negate_addend, unsigned rm, unsigned *flags)
{
	return muladd_core(&F64, a, b, c, negate_product, negate_addend, rm, flags);
}
uint64_t f64_min(uint64_t a, uint64_t b, unsigned *flags)
{
	return minmax_core(&F64, a, b, false, flags);
}
uint64_t f64_max(uint64_t a, uint64_t b, unsigned *flags)
{
	return minmax_core(&F64, a, b, true, flags);
}
int f64_eq(uint64_t a, uint64_t b, unsigned *flags)
{
	return compare(&F64, a, b, false, flags) == 1;
}
int f64_lt(uint64_t a, uint64_t b, unsigned *flags)
{
	return compare(&F64, a, b, true, flags) == 0;
}
int f64_le(uint64_t a, uint64_t b, unsigned *flags)
{
	int c = compare(&F64, a, b, true, flags);
	return c == 0 || c == 1;
}
unsigned f64_classify(uint64_t a) { return classify_core(&F64, a); }

int32_t f32_to_i32(uint32_t a, unsigned rm, unsigned *flags)
{
	return (int32_t)(uint32_t)to_int(&F32, a, 32, true, rm, flags);
}
uint32_t f32_to_u32(uint32_t a, unsigned rm, unsigned *flags)
{
	return (uint32_t)to_int(&F32, a, 32, false, rm, flags);
}
int64_t f32_to_i64(uint32_t a, unsigned rm, unsigned *flags)
{
	return (int64_t)to_int(&F32, a, 64, true, rm, flags);
}
uint64_t f32_to_u64(uint32_t a, unsigned rm, unsigned *flags)
{
	return to_int(&F32, a, 64, false, rm, flags);
}
int32_t f64_to_i32(uint64_t a, unsigned rm, unsigned *flags)
{
	return (int32_t)(uint32_t)to_int(&F64, a, 32, true, rm, flags);
}
uint32_t f64_to_u32(uint64_t a, unsigned rm, unsigned *flags)
{
	return (uint32_t)to_int(&F64, a, 32, false, rm, flags);
}
int64_t f64_to_i64(uint64_t a, unsigned rm, unsigned *flags)
{
	return (int64_t)to_int(&F64, a, 64, true, rm, flags);
}
uint64_t f64_to_u64(uint64_t a, unsigned rm, unsigned *flags)
{
	return to_int(&F64, a, 64, false, rm, flags);
}

/* Magnitude of a signed value without overflowing on the most negative. */
INLINE uint64_t mag64(int64_t v) { return v < 0 ? 0 - (uint64_t)v : (uint64_t)v; }

uint32_t i32_to_f32(int32_t v, unsigned rm, unsigned *flags)
{
	return (uint32_t)from_int(&F32, v < 0, mag64(v), rm, flags);
}
uint32_t u32_to_f32(uint32_t v, unsigned rm, unsigned *flags)
{
	return (uint32_t)from_int(&F32, 0, v, rm, flags);
}
uint32_t i64_to_f32(int64_t v, unsigned rm, unsigned *flags)
{
	return (uint32_t)from_int(&F32, v < 0, mag64(v), rm, flags);
}
uint32_t u64_to_f32(uint64_t v, unsigned rm, unsigned *flags)
{
	return (uint32_t)from_int(&F32, 0, v, rm, flags);
}
uint64_t i32_to_f64(int32_t v, unsigned rm, unsigned *flags)
{
	return from_int(&F64, v < 0, mag64(v), rm, flags);
}
uint64_t u32_to_f64(uint32_t v, unsigned rm, unsigned *flags)
{
	return from_int(&F64, 0, v, rm, flags);
}
uint64_t i64_to_f64(int64_t v, unsigned rm, unsigned *flags)
{
	return from_int(&F64, v < 0, mag64(v), rm, flags);
}
uint64_t u64_to_f64(uint64_t v, unsigned rm, unsigned *flags)
{
	return from_int(&F64, 0, v, rm, flags);
}
uint64_t f32_to_f64(uint32_t a, unsigned *flags)
{
	return convert(&F64, &F32, a, FP_RNE, flags);
}
uint32_t f64_to_f32(uint64_t a, unsigned rm, unsigned *flags)
{
	return (uint32_t)convert(&F32, &F64, a, rm, flags);
}

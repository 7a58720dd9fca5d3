/*
 * rv64m_random: cross-checks MULH/MULHU/MULHSU/DIV/DIVU/REM/REMU and the
 * W forms against reference results computed without those instructions
 * (32x32 partial products, shift-subtract division), on 2000 pseudo-random
 * operand pairs biased towards edge values (0, +-1, extremes).  Semantics
 * as in unprivileged spec ch. 13.  (A C test: the loop is clearer in C.)
 */
#include "isa.h"

typedef uint64_t u64;
typedef int64_t s64;

#define OP(name, insn) \
static inline u64 name(u64 a, u64 b) { u64 r; __asm__ volatile(insn " %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); return r; }
OP(hw_mulh, "mulh")
OP(hw_mulhu, "mulhu")
OP(hw_mulhsu, "mulhsu")
OP(hw_div, "div")
OP(hw_divu, "divu")
OP(hw_rem, "rem")
OP(hw_remu, "remu")
OP(hw_divw, "divw")
OP(hw_remuw, "remuw")

static u64 rng_state = 0x9e3779b97f4a7c15ull;
static u64 rnd(void)
{
	u64 x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static u64 operand(void)
{
	static const u64 edge[] = { 0, 1, 2, ~0ull, 0x8000000000000000ull, 0x7fffffffffffffffull,
				    0x80000000ull, 0xffffffffull, 0xffffffff80000000ull, 3 };
	u64 r = rnd();
	if ((r & 7) == 0)
		return edge[(r >> 8) % 10];
	if ((r & 7) == 1)
		return r >> (r >> 58);    /* small magnitudes */
	return rnd();
}

/* the high 64 bits of a * b, unsigned, from 32-bit partial products */
static u64 ref_mulhu(u64 a, u64 b)
{
	u64 al = a & 0xffffffff, ah = a >> 32, bl = b & 0xffffffff, bh = b >> 32;
	u64 ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
	u64 mid = (ll >> 32) + (lh & 0xffffffff) + (hl & 0xffffffff);
	return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}
static u64 ref_mulh(u64 a, u64 b)
{
	u64 h = ref_mulhu(a, b);
	if ((s64)a < 0)
		h -= b;
	if ((s64)b < 0)
		h -= a;
	return h;
}
static u64 ref_mulhsu(u64 a, u64 b)
{
	u64 h = ref_mulhu(a, b);
	if ((s64)a < 0)
		h -= b;
	return h;
}
/* unsigned division by shift and subtract; q = ~0, r = a for b = 0 */
static void ref_divu(u64 a, u64 b, u64 *q, u64 *r)
{
	if (b == 0) {
		*q = ~0ull;
		*r = a;
		return;
	}
	u64 qq = 0, rr = 0;
	for (int i = 63; i >= 0; i--) {
		rr = (rr << 1) | ((a >> i) & 1);
		if (rr >= b) {
			rr -= b;
			qq |= 1ull << i;
		}
	}
	*q = qq;
	*r = rr;
}
static void ref_div(u64 a, u64 b, u64 *q, u64 *r)
{
	if (b == 0) {
		*q = ~0ull;
		*r = a;
		return;
	}
	if (a == 0x8000000000000000ull && b == ~0ull) {
		*q = a;
		*r = 0;
		return;
	}
	int na = (s64)a < 0, nb = (s64)b < 0;
	u64 qq, rr;
	ref_divu(na ? -a : a, nb ? -b : b, &qq, &rr);
	*q = (na ^ nb) ? -qq : qq;
	*r = na ? -rr : rr;
}
static u64 sext32(u64 x)
{
	return (u64)(s64)(int32_t)(uint32_t)x;
}

int test_main(void)
{
	for (int i = 0; i < 2000; i++) {
		u64 a = operand(), b = operand(), q, r;
		CHECK(hw_mulhu(a, b), ref_mulhu(a, b));
		CHECK(hw_mulh(a, b), ref_mulh(a, b));
		CHECK(hw_mulhsu(a, b), ref_mulhsu(a, b));
		ref_divu(a, b, &q, &r);
		CHECK(hw_divu(a, b), q);
		CHECK(hw_remu(a, b), r);
		ref_div(a, b, &q, &r);
		CHECK(hw_div(a, b), q);
		CHECK(hw_rem(a, b), r);
		/* W forms on the low words */
		u64 a32 = sext32(a), b32 = sext32(b);
		ref_div(a32, b32, &q, &r);
		if (b32 == 0)
			q = ~0ull;
		else if (a32 == 0xffffffff80000000ull && b32 == ~0ull)
			q = a32;
		CHECK(hw_divw(a, b), sext32(q));
		ref_divu(a & 0xffffffff, b & 0xffffffff, &q, &r);
		CHECK(hw_remuw(a, b), sext32(r));
	}
	return 0;
}

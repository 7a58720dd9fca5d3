/*
 * The host-FPU fast path (fp_host.c) must agree with fpu.c, the definition,
 * bit for bit in results and flags: every operation it takes, the four
 * rounding modes it takes, and random operands biased towards the hard
 * cases (NaNs quiet and signalling, infinities, zeros of both signs,
 * subnormals, values near overflow).
 */
#include "lib/testing.h"
#include "vmm/cpu/fp_host.h"
#include "vmm/cpu/fpu.h"
#include "vmm/cpu/ops.h"

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static uint64_t operand64(uint64_t *s)
{
	static const uint64_t edge[] = {
		0, 1ull << 63, 0x7ff0000000000000ull, 0xfff0000000000000ull,
		0x7ff8000000000000ull, 0x7ff0000000000001ull, 0x0000000000000001ull,
		0x000fffffffffffffull, 0x7fefffffffffffffull, 0x3ff0000000000000ull,
		0x0010000000000000ull, 0xbff0000000000000ull,
	};
	uint64_t r = rnd(s);
	switch (r & 7) {
	case 0: return edge[(r >> 8) % 12];
	case 1: return (r >> 3) & 0x801fffffffffffffull;            /* tiny */
	case 2: return ((r >> 3) & 0x800fffffffffffffull) | 0x7fe0000000000000ull;   /* huge */
	default: return (rnd(s) & 0x8000ffffffffffffull) | (0x3c00000000000000ull + ((r >> 20) & 0x0070000000000000ull));
	}
}

static uint32_t operand32(uint64_t *s)
{
	static const uint32_t edge[] = {
		0, 0x80000000u, 0x7f800000u, 0xff800000u, 0x7fc00000u, 0x7f800001u,
		1, 0x007fffffu, 0x7f7fffffu, 0x3f800000u, 0x00800000u, 0xbf800000u,
	};
	uint64_t r = rnd(s);
	switch (r & 7) {
	case 0: return edge[(r >> 8) % 12];
	case 1: return (uint32_t)(r >> 3) & 0x80ffffffu;
	case 2: return ((uint32_t)(r >> 3) & 0x807fffffu) | 0x7f000000u;
	default: return ((uint32_t)rnd(s) & 0x807fffffu) | (0x30000000u + (((uint32_t)r >> 20) & 0x0f800000u));
	}
}

static uint64_t soft(unsigned op, uint64_t a, uint64_t b, uint64_t c, unsigned rm, unsigned *fl)
{
	uint32_t sa = (uint32_t)a, sb = (uint32_t)b, sc = (uint32_t)c;
	switch (op) {
	case OP_FADD_S: return f32_add(sa, sb, rm, fl);
	case OP_FSUB_S: return f32_sub(sa, sb, rm, fl);
	case OP_FMUL_S: return f32_mul(sa, sb, rm, fl);
	case OP_FDIV_S: return f32_div(sa, sb, rm, fl);
	case OP_FSQRT_S: return f32_sqrt(sa, rm, fl);
	case OP_FMADD_S: return f32_muladd(sa, sb, sc, 0, 0, rm, fl);
	case OP_FMSUB_S: return f32_muladd(sa, sb, sc, 0, 1, rm, fl);
	case OP_FNMSUB_S: return f32_muladd(sa, sb, sc, 1, 0, rm, fl);
	case OP_FNMADD_S: return f32_muladd(sa, sb, sc, 1, 1, rm, fl);
	case OP_FADD_D: return f64_add(a, b, rm, fl);
	case OP_FSUB_D: return f64_sub(a, b, rm, fl);
	case OP_FMUL_D: return f64_mul(a, b, rm, fl);
	case OP_FDIV_D: return f64_div(a, b, rm, fl);
	case OP_FSQRT_D: return f64_sqrt(a, rm, fl);
	case OP_FMADD_D: return f64_muladd(a, b, c, 0, 0, rm, fl);
	case OP_FMSUB_D: return f64_muladd(a, b, c, 0, 1, rm, fl);
	case OP_FNMSUB_D: return f64_muladd(a, b, c, 1, 0, rm, fl);
	default: return f64_muladd(a, b, c, 1, 1, rm, fl);
	}
}

TEST(host_fpu_path_matches_fpu_c_in_results_and_flags)
{
	static const unsigned ops[] = {
		OP_FADD_S, OP_FSUB_S, OP_FMUL_S, OP_FDIV_S, OP_FSQRT_S,
		OP_FMADD_S, OP_FMSUB_S, OP_FNMSUB_S, OP_FNMADD_S,
		OP_FADD_D, OP_FSUB_D, OP_FMUL_D, OP_FDIV_D, OP_FSQRT_D,
		OP_FMADD_D, OP_FMSUB_D, OP_FNMSUB_D, OP_FNMADD_D,
	};
	uint64_t seed = 0x6a09e667f3bcc908ull, checked = 0;
	for (unsigned k = 0; k < sizeof ops / sizeof ops[0]; k++) {
		unsigned op = ops[k];
		bool sp = op <= OP_FMV_W_X;
		for (unsigned i = 0; i < 40000; i++) {
			unsigned rm = i & 3;
			uint64_t a = sp ? operand32(&seed) : operand64(&seed);
			uint64_t b = sp ? operand32(&seed) : operand64(&seed);
			uint64_t c = sp ? operand32(&seed) : operand64(&seed);
			uint64_t hr = 0;
			unsigned hf = 0, sf = 0;
			fp_host_forget();   /* exact flags of this one operation */
			if (!fp_host(1, op, a, b, c, rm, &hr, &hf))
				continue;   /* no host FMA: fpu.c is used, nothing to compare */
			uint64_t sr = soft(op, a, b, c, rm, &sf);
			if (hr != sr || hf != sf) {
				char what[200];
				snprintf(what, sizeof what,
					 "op %u rm %u a %#llx b %#llx c %#llx: host %#llx/%#x, fpu.c %#llx/%#x",
					 op, rm, (unsigned long long)a, (unsigned long long)b,
					 (unsigned long long)c, (unsigned long long)hr, hf,
					 (unsigned long long)sr, sf);
				test_fail(__FILE__, __LINE__, what);
				return;
			}
			checked++;
		}
	}
	EXPECT(checked >= 10 * 40000);   /* at least the non-FMA ops ran */
}

TEST(host_fpu_path_leaves_rmm_to_fpu_c)
{
	uint64_t r;
	unsigned fl;
	EXPECT(!fp_host(1, OP_FADD_D, 0, 0, 0, FP_RMM, &r, &fl));
	EXPECT(!fp_host(1, OP_FCVT_W_D, 0, 0, 0, FP_RNE, &r, &fl));
}

#include "vmm/cpu/test_asm.h"

/* f1 = 0.1, f2 = 1.0 (through x registers); then the program at `at`. */
static uint64_t fp_prog(struct tmach *t, uint64_t at, bool inexact)
{
	tm_org(t, at);
	tm_li(t, 1, 0x3fb999999999999aull);            /* 0.1 */
	tm_li(t, 2, 0x3ff0000000000000ull);            /* 1.0 */
	tm_emit(t, FMV_D_X(1, 1));
	tm_emit(t, FMV_D_X(2, 2));
	if (inexact)
		tm_emit(t, FMUL_D(3, 1, 1, 0));        /* 0.1 * 0.1: NX */
	else
		tm_emit(t, FADD_D(3, 2, 2, 0));        /* 1 + 1: exact */
	tm_emit(t, CSRR(5, 0x001));                    /* x5 = fflags */
	uint64_t stop = t->at;
	tm_emit(t, JAL(0, 0));
	return stop;
}

TEST(host_fpu_flags_are_each_harts_own_and_a_cleared_fflags_stays_clear)
{
	/* Two harts on one thread (as here) share the host's MXCSR: the flags
	 * one raises must never show in the other's fflags, and flags the
	 * guest cleared must not come back with the next exact operation. */
	struct tmach t;
	EXPECT(tm_init(&t, 2) == 0);
	for (int k = 0; k < 2; k++)
		hart_csr_write(t.h[k], 0x300, 1ull << 13);   /* mstatus.FS = Initial */
	/* A: inexact, then the guest clears fflags, then exact: still clear. */
	uint64_t stop_a = fp_prog(&t, RAM_BASE, true);
	hart_set_pc(t.h[0], RAM_BASE);
	tm_run_to(t.h[0], stop_a, 100);
	EXPECT_EQ(hart_get_x(t.h[0], 5), FP_NX);
	hart_csr_write(t.h[0], 0x001, 0);
	stop_a = fp_prog(&t, RAM_BASE + 0x2000, false);
	hart_set_pc(t.h[0], RAM_BASE + 0x2000);
	tm_run_to(t.h[0], stop_a, 100);
	EXPECT_EQ(hart_get_x(t.h[0], 5), 0);

	/* A inexact again, then B exact on the same thread: B's stay clear. */
	stop_a = fp_prog(&t, RAM_BASE, true);
	hart_set_pc(t.h[0], RAM_BASE);
	tm_run_to(t.h[0], stop_a, 100);
	uint64_t stop_b = fp_prog(&t, RAM_BASE + 0x1000, false);
	hart_set_pc(t.h[1], RAM_BASE + 0x1000);
	tm_run_to(t.h[1], stop_b, 100);
	EXPECT_EQ(hart_get_x(t.h[1], 5), 0);
	tm_fini(&t);
}

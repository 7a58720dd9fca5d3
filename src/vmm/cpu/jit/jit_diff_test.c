/*
 * Differential tests of the translator against the interpreter (the
 * reference): two identical machines, one with the JIT and one without,
 * run the same random instruction streams from the same state, and their
 * architectural state is compared after every chunk of steps (registers,
 * pc, privilege, instret, FP state, trap CSRs), and their memory after
 * every round.  Streams mix every translated instruction class with the
 * ones that return to the interpreter (CSRs, ECALL, FENCE.I), traps (bad
 * addresses, misaligned and page-crossing accesses), loops, indirect
 * jumps, cross-page jumps and self-modifying code.
 */
#include "lib/testing.h"
#include <stdlib.h>
#include "vmm/cpu/jit/backend.h"
#include "vmm/cpu/jit/jit.h"
#include "vmm/cpu/test_asm.h"

#define CODE_BASE RAM_BASE                 /* two pages of random code */
#define HANDLER (RAM_BASE + 0x3000)        /* skips the trapping instruction */
#define DATA_BASE (RAM_BASE + 0x100000)    /* 64 KiB the streams load and store */
#define DATA_SIZE 0x10000
#define NCODE (8192 / 4)

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static unsigned reg(uint64_t *s) { return (unsigned)(rnd(s) % 32); }
/* Registers 8..15 hold pointers into the data area. */
static unsigned ptr(uint64_t *s) { return 8 + (unsigned)(rnd(s) % 8); }
static int32_t simm12(uint64_t *s) { return (int32_t)(rnd(s) % 4096) - 2048; }

/* Offsets near the pointers, mostly aligned to `size`, sometimes not. */
static int32_t mem_off(uint64_t *s, unsigned size)
{
	int32_t off = (int32_t)(rnd(s) % 512) - 256;
	if (rnd(s) % 8)
		off &= ~(int32_t)(size - 1);
	return off;
}

static uint32_t random_insn(uint64_t *s, unsigned i)
{
	unsigned rd = reg(s), a = reg(s), b = reg(s);
	/* Never clobber the pointer registers or x30/x31 (the handler's). */
	if ((rd >= 8 && rd <= 15) || rd >= 30)
		rd = 5 + rd % 3;
	switch (rnd(s) % 32) {
	case 0: return LUI(rd, (uint32_t)rnd(s));
	case 1: return AUIPC(rd, (uint32_t)rnd(s) & 0xff000);
	case 2: {   /* a short branch, forward or back: loops and both edges */
		int32_t off = ((int32_t)(rnd(s) % 64) - 24) * 4;
		if (off == 0)
			off = 8;
		unsigned f3 = (unsigned)(rnd(s) % 6);
		f3 = f3 < 2 ? f3 : f3 + 2;
		return rv_b(f3, a, b, off);
	}
	case 3: {   /* jal, sometimes to the other page */
		int32_t off = ((int32_t)(rnd(s) % 128) - 32) * 4;
		if (rnd(s) % 4 == 0)
			off += i < NCODE / 2 ? 4096 : -4096;
		return JAL(rnd(s) % 2 ? 1 : 0, off ? off : 4);
	}
	case 4: return LD(rd, ptr(s), mem_off(s, 8));
	case 5: return LW(rd, ptr(s), mem_off(s, 4));
	case 6: return rnd(s) % 2 ? LBU(rd, ptr(s), mem_off(s, 1)) : LH(rd, ptr(s), mem_off(s, 2));
	case 7: return rnd(s) % 2 ? LWU(rd, ptr(s), mem_off(s, 4)) : LHU(rd, ptr(s), mem_off(s, 2));
	case 8: return SD(b, ptr(s), mem_off(s, 8));
	case 9: return SW(b, ptr(s), mem_off(s, 4));
	case 10: return rnd(s) % 2 ? SB(b, ptr(s), mem_off(s, 1)) : SH(b, ptr(s), mem_off(s, 2));
	case 11: {  /* a load or store through any register: faults */
		return rnd(s) % 2 ? LD(rd, a, simm12(s)) : SW(b, a, simm12(s));
	}
	case 12: {
		static const unsigned f3s[] = { 0, 2, 3, 4, 6, 7 };
		return rv_i(0x13, rd, f3s[rnd(s) % 6], a, simm12(s));
	}
	case 13: {  /* shifts by immediate, 64 and 32-bit */
		unsigned sh = (unsigned)(rnd(s) % 64);
		switch (rnd(s) % 6) {
		case 0: return SLLI(rd, a, sh);
		case 1: return SRLI(rd, a, sh);
		case 2: return SRAI(rd, a, sh);
		case 3: return SLLIW(rd, a, sh % 32);
		case 4: return SRLIW(rd, a, sh % 32);
		default: return SRAIW(rd, a, sh % 32);
		}
	}
	case 14: case 15: {
		static const uint32_t f7f3[][2] = {
			{ 0, 0 }, { 0x20, 0 }, { 0, 1 }, { 0, 2 }, { 0, 3 }, { 0, 4 },
			{ 0, 5 }, { 0x20, 5 }, { 0, 6 }, { 0, 7 },
		};
		unsigned k = (unsigned)(rnd(s) % 10);
		return rv_r(0x33, rd, f7f3[k][1], a, b, f7f3[k][0]);
	}
	case 16: {  /* *W register ops */
		static const uint32_t f7f3[][2] = { { 0, 0 }, { 0x20, 0 }, { 0, 1 }, { 0, 5 }, { 0x20, 5 } };
		unsigned k = (unsigned)(rnd(s) % 5);
		return rv_r(0x3b, rd, f7f3[k][1], a, b, f7f3[k][0]);
	}
	case 17: return ADDIW(rd, a, simm12(s));
	case 18: case 19:  /* M: all of MUL/DIV/REM and the W forms */
		return rnd(s) % 2 ? rv_r(0x33, rd, (unsigned)(rnd(s) % 8), a, b, 1)
				  : rv_r(0x3b, rd, (unsigned)(rnd(s) % 8 < 1 ? 0 : 4 + rnd(s) % 4), a, b, 1);
	case 20: {  /* atomics on aligned data addresses (and sometimes not) */
		unsigned p = ptr(s);
		switch (rnd(s) % 10) {
		case 0: return LR_D(rd, p);
		case 1: return SC_D(rd, p, b);
		case 2: return AMOADD_D(rd, p, b);
		case 3: return AMOSWAP_W(rd, p, b);
		case 4: return AMOMIN_W(rd, p, b);
		case 5: return AMOADD_W(rd, p, b);
		/* inline only without a result: AND/OR/XOR into x0 (and not) */
		case 6: return AMOAND_D(rnd(s) % 2 ? 0 : rd, p, b);
		case 7: return AMOOR_W(rnd(s) % 2 ? 0 : rd, p, b);
		case 8: return AMOXOR_D(rnd(s) % 2 ? 0 : rd, p, b);
		default: return AMOMAXU_D(rd, p, b);
		}
	}
	case 21: {  /* FP loads/stores and arithmetic */
		unsigned fd = reg(s), fa = reg(s), fb = reg(s);
		switch (rnd(s) % 10) {
		case 0: return FLD(fd, ptr(s), mem_off(s, 8));
		case 1: return FLW(fd, ptr(s), mem_off(s, 4));
		case 2: return FSD(fb, ptr(s), mem_off(s, 8));
		case 3: return FSW(fb, ptr(s), mem_off(s, 4));
		case 4: return FADD_D(fd, fa, fb, (unsigned)(rnd(s) % 8));
		case 5: return FMUL_D(fd, fa, fb, 7);
		case 6: return FDIV_S(fd, fa, fb, (unsigned)(rnd(s) % 5));
		case 7: return FCVT_L_D(rd, fa, (unsigned)(rnd(s) % 5));
		case 8: return FMV_D_X(fd, a);
		default: return FEQ_S(rd, fa, fb);
		}
	}
	case 22: {  /* CSRs the interpreter handles (deterministic ones only) */
		static const unsigned csrs[] = { CSR_MSCRATCH, CSR_MINSTRET, CSR_MCYCLE, 0x001, 0x002, 0x003 };
		return CSRRW(rd, csrs[rnd(s) % 6], rnd(s) % 4 ? 0 : a);
	}
	case 23:
		switch (rnd(s) % 8) {
		case 0: return ECALL();
		case 1: return FENCE_I();
		case 2: return FENCE();
		case 3: return 0x0100000fu;   /* pause */
		case 4: return (uint32_t)rnd(s);   /* anything, often illegal */
		default: return SW(b, 7, (int32_t)(rnd(s) % 2048) & ~3);   /* code! */
		}
	case 24: return JALR(rnd(s) % 2 ? 1 : 0, 29, (int32_t)((rnd(s) % 64) * 4));
	default: {
		static const unsigned f3s[] = { 0, 4, 6, 7 };
		return rv_i(0x13, rd, f3s[rnd(s) % 4], a, simm12(s));
	}
	}
}

/*
 * FP-heavy streams: every F/D computational instruction, with operands
 * drawn from values at the edges the inline paths check (zeros, subnormals,
 * the smallest normals, huge values, infinities, quiet and signalling NaNs,
 * integer limits, unboxed singles), rounding modes static and dynamic, and
 * fflags, frm and mstatus.FS changing under them.
 */
static const uint64_t fp_edge[] = {
	0x0000000000000000ull, 0x8000000000000000ull, 0x3ff0000000000000ull,   /* 0 -0 1 */
	0xbff0000000000000ull, 0x3ff8000000000000ull, 0x3fb999999999999aull,   /* -1 1.5 0.1 */
	0x4008000000000000ull, 0x7e37e43c8800759cull, 0xfe37e43c8800759cull,   /* 3 1e300 -1e300 */
	0x01a56e1fc2f8f359ull, 0x0010000000000000ull, 0x0018000000000000ull,   /* 1e-300 min 1.5min */
	0x0000000000000001ull, 0x000fffffffffffffull, 0x7ff0000000000000ull,   /* subnormals inf */
	0xfff0000000000000ull, 0x7ff8000000000000ull, 0x7ff4000000000000ull,   /* -inf qNaN sNaN */
	0x7fefffffffffffffull, 0x43e0000000000000ull, 0xc3e0000000000000ull,   /* max 2^63 -2^63 */
	0x41e0000000000000ull, 0xc1e0000000000000ull, 0x41dfffffffe00000ull,   /* 2^31 -2^31 2^31-1 */
	0x3fe0000000000000ull, 0x4004000000000000ull, 0x4202a05f20000000ull,   /* .5 2.5 1e10 */
	0x1ff0000000000000ull, 0x5ff0000000000000ull, 0x3ca0000000000000ull,   /* 2^-512 2^512 2^-53 */
	/* NaN-boxed singles: 0 -0 1 1.5 0.1 min max 1e30 1e-30 subnormal inf qNaN sNaN 2^31 */
	0xffffffff00000000ull, 0xffffffff80000000ull, 0xffffffff3f800000ull,
	0xffffffff3fc00000ull, 0xffffffff3dcccccdull, 0xffffffff00800000ull,
	0xffffffff7f7fffffull, 0xffffffff7149f2caull, 0xffffffff0da24260ull,
	0xffffffff00000001ull, 0xffffffff7f800000ull, 0xffffffff7fc00000ull,
	0xffffffff7fa00000ull, 0xffffffff4f000000ull,
	0x000000003f800000ull,   /* an unboxed single 1.0: reads as the canonical NaN */
};

static uint64_t fp_value(uint64_t *s)
{
	uint64_t v = fp_edge[rnd(s) % (sizeof fp_edge / sizeof fp_edge[0])];
	if (rnd(s) % 4 == 0)   /* a neighbour: off by a few ulps */
		v += (rnd(s) % 5) - 2;
	return v;
}

static unsigned fp_rm(uint64_t *s)
{
	static const unsigned rms[] = { 0, 0, 0, 7, 7, 7, 1, 2, 3, 4, 5 };
	return rms[rnd(s) % (sizeof rms / sizeof rms[0])];
}

static uint32_t random_fp_insn(uint64_t *s, unsigned i)
{
	unsigned fd = reg(s), fa = reg(s) % 8, fb = reg(s) % 8, fc = reg(s) % 8;
	unsigned rd = 5 + (unsigned)(rnd(s) % 3), xa = 16 + (unsigned)(rnd(s) % 8);
	unsigned fmt = (unsigned)(rnd(s) % 2), rm = fp_rm(s);
	switch (rnd(s) % 24) {
	case 0: case 1: case 2: case 3: {   /* add sub mul div */
		static const unsigned f5[] = { 0x00, 0x01, 0x02, 0x03 };
		return FOP(f5[rnd(s) % 4] << 2 | fmt, fd, fa, fb, rm);
	}
	case 4: return FOP(0x0b << 2 | fmt, fd, fa, 0, rm);                  /* sqrt */
	case 5: case 6: {                                                  /* fused */
		static const unsigned ops[] = { 0x43, 0x47, 0x4b, 0x4f };
		return rv_r(ops[rnd(s) % 4], fd, rm, fa, fb, fmt) | fc << 27;
	}
	case 7: return FOP(0x04 << 2 | fmt, fd, fa, fb, (unsigned)(rnd(s) % 3));   /* sgnj */
	case 8: return FOP(0x04 << 2 | fmt, fd, fa, fa, (unsigned)(rnd(s) % 3));   /* mv neg abs */
	case 9: return FOP(0x05 << 2 | fmt, fd, fa, fb, (unsigned)(rnd(s) % 2));   /* min max */
	case 10: return FOP(0x14 << 2 | fmt, rd, fa, fb, (unsigned)(rnd(s) % 3));  /* compares */
	case 11: return FOP(0x18 << 2 | fmt, rd, fa, (unsigned)(rnd(s) % 4), rm);  /* to int */
	case 12: return FOP(0x1a << 2 | fmt, fd, xa, (unsigned)(rnd(s) % 4), rm);  /* from int */
	case 13: return FOP(0x1c << 2 | fmt, rd, fa, 0, (unsigned)(rnd(s) % 2));   /* mv.x class */
	case 14: return FOP(0x1e << 2 | fmt, fd, xa, 0, 0);                      /* mv from x */
	case 15: return fmt ? FCVT_S_D(fd, fa, rm) : FCVT_D_S(fd, fa, rm);
	case 16: return rnd(s) % 2 ? FLD(fa, ptr(s), mem_off(s, 8)) : FSD(fb, ptr(s), mem_off(s, 8));
	case 17: return rnd(s) % 2 ? FLW(fa, ptr(s), mem_off(s, 4)) : FSW(fb, ptr(s), mem_off(s, 4));
	case 18:   /* fflags: set or clear NX, or write anything */
		switch (rnd(s) % 4) {
		case 0: return CSRRSI(0, 0x001, 1);
		case 1: return CSRRCI(0, 0x001, 1);
		case 2: return CSRRWI(0, 0x001, (unsigned)(rnd(s) % 32));
		default: return CSRRS(rd, rnd(s) % 2 ? 0x001 : 0x003, 0);   /* frflags, frcsr */
		}
	case 19: return CSRRWI(0, 0x002, (unsigned)(rnd(s) % 10 < 7 ? 0 : rnd(s) % 8));   /* frm */
	case 20:   /* mstatus.FS: x30 holds FS's bits; set (Dirty) or clear (Off) */
		return rnd(s) % 6 ? CSRRS(0, CSR_MSTATUS, 30) : CSRRC(0, CSR_MSTATUS, 30);
	default:
		return random_insn(s, i);
	}
}

struct pair {
	struct tmach m[2];   /* [0] interpreter, [1] translator */
};

static int pair_init(struct pair *p)
{
	for (int k = 0; k < 2; k++) {
		if (tm_init(&p->m[k], 1))
			return -1;
		hart_free(p->m[k].h[0]);
		struct hart_config cfg = {
			.hartid = 0, .bus = &p->m[k].bus, .clock = &p->m[k].clk,
			.reset_pc = CODE_BASE, .jit_cache_bytes = k ? (1u << 20) : 0,
		};
		p->m[k].h[0] = hart_new(&cfg);
		if (!p->m[k].h[0])
			return -1;
		if (k)   /* translate everything at once: random streams run little twice */
			jit_set_hot(p->m[k].h[0]->jit, 1);
	}
	return 0;
}

static void pair_fini(struct pair *p)
{
	tm_fini(&p->m[0]);
	tm_fini(&p->m[1]);
}

/* The first difference between the two harts, or NULL. */
static const char *diff(struct hart *a, struct hart *b, char *buf, size_t n)
{
	for (unsigned r = 0; r < 32; r++)
		if (a->x[r] != b->x[r]) {
			snprintf(buf, n, "x%u: interp %#llx jit %#llx (pc %#llx)", r,
				 (unsigned long long)a->x[r], (unsigned long long)b->x[r],
				 (unsigned long long)a->pc);
			return buf;
		}
	for (unsigned r = 0; r < 32; r++)
		if (a->f[r] != b->f[r]) {
			snprintf(buf, n, "f%u: interp %#llx jit %#llx", r,
				 (unsigned long long)a->f[r], (unsigned long long)b->f[r]);
			return buf;
		}
#define CMP(f)                                                                       \
	if (a->f != b->f) {                                                          \
		snprintf(buf, n, #f ": interp %#llx jit %#llx (pc %#llx)",           \
			 (unsigned long long)a->f, (unsigned long long)b->f,          \
			 (unsigned long long)a->pc);                                  \
		return buf;                                                          \
	}
	CMP(pc) CMP(priv) CMP(instret) CMP(fflags) CMP(frm) CMP(mstatus) CMP(mepc)
	CMP(mcause) CMP(mtval) CMP(resv_valid) CMP(mscratch)
#undef CMP
	return NULL;
}

static void load_program(struct pair *p, uint64_t *seed, bool fp)
{
	for (int k = 0; k < 2; k++)
		tm_org(&p->m[k], CODE_BASE);
	for (unsigned i = 0; i < NCODE; i++) {
		uint32_t w = fp ? random_fp_insn(seed, i) : random_insn(seed, i);
		for (int k = 0; k < 2; k++)
			tm_emit(&p->m[k], w);
	}
	/* Trap handler: mepc += 4, then return (x31 is its scratch). */
	static const uint32_t handler[4] = {
		0x34102ff3u,   /* csrr x31, mepc */
		0x004f8f93u,   /* addi x31, x31, 4 */
		0x341f9073u,   /* csrw mepc, x31 */
		0x30200073u,   /* mret */
	};
	for (int k = 0; k < 2; k++) {
		tm_org(&p->m[k], HANDLER);
		for (unsigned i = 0; i < 4; i++)
			tm_emit(&p->m[k], handler[i]);
	}
	uint8_t data[DATA_SIZE];
	for (unsigned i = 0; i < DATA_SIZE; i += 8) {
		uint64_t v = fp ? fp_value(seed) : rnd(seed);
		memcpy(data + i, &v, 8);
	}
	for (int k = 0; k < 2; k++)
		bus_write_guest(&p->m[k].bus, DATA_BASE, data, DATA_SIZE);
}

static void reset_state(struct pair *p, uint64_t *seed, bool fp)
{
	uint64_t regs[32], fregs[32];
	for (unsigned r = 1; r < 32; r++)
		regs[r] = rnd(seed) % 4 ? rnd(seed) % 4096 : rnd(seed);
	for (unsigned r = 8; r < 16; r++)
		regs[r] = DATA_BASE + 512 + (rnd(seed) % (DATA_SIZE - 1024));
	regs[7] = CODE_BASE + (rnd(seed) % 2) * 4096;   /* self-modifying stores */
	regs[29] = CODE_BASE + (rnd(seed) % (8192 - 256) & ~3ull);   /* jalr base */
	for (unsigned r = 0; r < 32; r++)
		fregs[r] = fp ? fp_value(seed) : rnd(seed);
	if (fp) {
		for (unsigned r = 16; r < 24; r++)   /* integers to convert */
			regs[r] = rnd(seed) % 2 ? rnd(seed) % 100000 - 50000 : fp_value(seed);
		regs[30] = 3ull << 13;               /* mstatus.FS (random code never writes x30) */
	}
	uint64_t pc = CODE_BASE + (rnd(seed) % NCODE) * 4;
	for (int k = 0; k < 2; k++) {
		struct hart *h = p->m[k].h[0];
		for (unsigned r = 1; r < 32; r++)
			hart_set_x(h, r, regs[r]);
		for (unsigned r = 0; r < 32; r++)
			hart_set_f(h, r, fregs[r]);
		hart_set_pc(h, pc);
		hart_csr_write(h, CSR_MTVEC, HANDLER);
		hart_csr_write(h, CSR_MSTATUS, 1ull << 13);   /* FS = Initial */
	}
}

static void run_rounds(unsigned rounds, unsigned steps, uint64_t seed, bool fp)
{
	struct pair p;
	EXPECT(pair_init(&p) == 0);
	char buf[200];
	uint64_t total = 0;
	for (unsigned round = 0; round < rounds; round++) {
		load_program(&p, &seed, fp);
		reset_state(&p, &seed, fp);
		for (unsigned done = 0; done < steps;) {
			uint64_t chunk = 1 + rnd(&seed) % 300;
			uint64_t na = hart_step(p.m[0].h[0], chunk);
			uint64_t nb = hart_step(p.m[1].h[0], chunk);
			const char *d = diff(p.m[0].h[0], p.m[1].h[0], buf, sizeof buf);
			if (d || na != nb) {
				char what[300];
				snprintf(what, sizeof what, "round %u after %u steps: %s (steps %llu vs %llu)",
					 round, done, d ? d : "step counts differ",
					 (unsigned long long)na, (unsigned long long)nb);
				test_fail(__FILE__, __LINE__, what);
				pair_fini(&p);
				return;
			}
			if (na == 0)
				break;   /* both stuck (fatal trap loop) */
			done += (unsigned)na;
			total += na;
		}
		const uint8_t *ra = bus_guest_ptr(&p.m[0].bus, RAM_BASE, 0x200000);
		const uint8_t *rb = bus_guest_ptr(&p.m[1].bus, RAM_BASE, 0x200000);
		if (memcmp(ra, rb, 0x200000) != 0) {
			size_t i = 0;
			while (ra[i] == rb[i])
				i++;
			snprintf(buf, sizeof buf, "round %u: memory differs at %#llx", round,
				 (unsigned long long)(RAM_BASE + i));
			test_fail(__FILE__, __LINE__, buf);
			pair_fini(&p);
			return;
		}
	}
	struct jit_stats st;
	EXPECT(hart_jit_stats(p.m[1].h[0], &st));
	EXPECT(st.translations > rounds);   /* the translator really ran */
	EXPECT(total > (uint64_t)rounds * steps / 4);
	pair_fini(&p);
}

TEST(jit_matches_interpreter_on_random_streams)
{
	run_rounds(150, 4000, 0x9e3779b97f4a7c15ull, false);
}

TEST(jit_inline_fp_matches_interpreter_on_edge_values)
{
	uint64_t seed = 0x13198a2e03707344ull;
	if (getenv("JIT_DIFF_SEED"))   /* for longer hunts: any number */
		seed = strtoull(getenv("JIT_DIFF_SEED"), NULL, 0);
	run_rounds(150, 4000, seed, true);
}

/* Seeds that once found bugs: a jump-cache entry kept across code a device
 * rewrote (the next round's program), ANDI with 0 left as a copy, and a
 * store into the running block seen at once by one side only. */
TEST(jit_fp_streams_with_seeds_that_found_bugs)
{
	run_rounds(150, 4000, 229664, true);
	run_rounds(150, 4000, 63365, true);
	run_rounds(150, 4000, 7331037, true);
}

TEST(jit_matches_interpreter_on_long_runs_of_few_programs)
{
	run_rounds(8, 60000, 0x243f6a8885a308d3ull, false);
}

TEST(jit_code_cache_overflow_flushes_and_keeps_running)
{
	/* A tiny cache: every few translations evict everything. */
	struct pair p;
	EXPECT(pair_init(&p) == 0);
	hart_free(p.m[1].h[0]);
	struct hart_config cfg = {
		.hartid = 0, .bus = &p.m[1].bus, .clock = &p.m[1].clk,
		.reset_pc = CODE_BASE, .jit_cache_bytes = 64 << 10,
	};
	p.m[1].h[0] = hart_new(&cfg);
	EXPECT(p.m[1].h[0] != NULL);
	jit_set_hot(p.m[1].h[0]->jit, 1);
	uint64_t seed = 42;
	char buf[200];
	for (unsigned round = 0; round < 20; round++) {
		load_program(&p, &seed, false);
		reset_state(&p, &seed, false);
		for (unsigned i = 0; i < 40; i++) {
			uint64_t na = hart_step(p.m[0].h[0], 250);
			uint64_t nb = hart_step(p.m[1].h[0], 250);
			const char *d = diff(p.m[0].h[0], p.m[1].h[0], buf, sizeof buf);
			if (d)
				test_fail(__FILE__, __LINE__, d);
			EXPECT(!d);
			EXPECT_EQ(na, nb);
		}
	}
	struct jit_stats st;
	EXPECT(hart_jit_stats(p.m[1].h[0], &st));
	EXPECT(st.resets > 0);
	pair_fini(&p);
}

/* Both machines run `steps` more and must then agree; a difference is
 * reported at the caller's line. */
#define STEP_BOTH_AND_COMPARE(p, steps) step_both_and_compare((p), (steps), __LINE__)
static void step_both_and_compare(struct pair *p, uint64_t steps, int line)
{
	for (int k = 0; k < 2; k++)
		hart_step(p->m[k].h[0], steps);
	char buf[200];
	const char *d = diff(p->m[0].h[0], p->m[1].h[0], buf, sizeof buf);
	if (d)
		test_fail(__FILE__, line, d);
	EXPECT(!d);
}

/* A trace test's run: a warm-up, then chunks of 1..max_chunk instructions
 * (a trace longer than a chunk gives way to its first block), then the
 * rest; both machines compared after each.  The translator's stats after. */
static void trace_steps(struct pair *p, uint64_t warm, unsigned max_chunk, uint64_t rest,
			struct jit_stats *st)
{
	STEP_BOTH_AND_COMPARE(p, warm);
	for (unsigned n = 1; n < max_chunk; n++)
		STEP_BOTH_AND_COMPARE(p, n);
	STEP_BOTH_AND_COMPARE(p, rest);
	EXPECT(hart_jit_stats(p->m[1].h[0], st));
}

TEST(jit_links_into_rewritten_code_are_dropped)
{
	/* A two-block loop in one page, linked block to block; then its second
	 * block is rewritten from outside (DMA, or another hart) and both
	 * machines must run the new code from their next entry on. */
	struct pair p;
	EXPECT(pair_init(&p) == 0);
	for (int k = 0; k < 2; k++) {
		struct tmach *t = &p.m[k];
		tm_org(t, CODE_BASE);
		tm_emit(t, ADDI(5, 5, 1));       /* A */
		tm_emit(t, BEQ(0, 0, 8));
		tm_emit(t, ADDI(0, 0, 0));
		tm_emit(t, ADDI(6, 6, 1));       /* B at +12 */
		tm_emit(t, JAL(0, -16));
	}
	for (unsigned round = 0; round < 4; round++) {
		STEP_BOTH_AND_COMPARE(&p, 1000 + round * 7);
		uint32_t w = ADDI(6, 6, (int32_t)(100 * (round + 1)));
		for (int k = 0; k < 2; k++)
			bus_write_guest(&p.m[k].bus, CODE_BASE + 12, &w, 4);
	}
	uint64_t before = hart_get_x(p.m[1].h[0], 6);
	hart_step(p.m[1].h[0], 300);
	EXPECT(hart_get_x(p.m[1].h[0], 6) - before >= 400 * 50);
	pair_fini(&p);
}

TEST(jit_self_loop_faulting_mid_iteration_writes_back_every_register)
{
	/* A block that branches to its own start keeps registers in host
	 * registers around the loop; here its load starts faulting (the walk
	 * leaves RAM) with other registers written by earlier iterations, and
	 * each trap must see them all in h->x, as the interpreter does. */
	struct pair p;
	EXPECT(pair_init(&p) == 0);
	for (int k = 0; k < 2; k++) {
		struct tmach *t = &p.m[k];
		tm_org(t, CODE_BASE);
		tm_emit(t, ADD(6, 6, 8));        /* loop: sum += last value */
		tm_emit(t, ADDI(7, 7, 1));       /* count */
		tm_emit(t, LD(8, 5, 0));         /* faults once x5 leaves RAM */
		tm_emit(t, ADDI(5, 5, 8));
		tm_emit(t, BNE(5, 9, -16));
		tm_emit(t, JAL(0, 0));
		tm_org(t, HANDLER);
		tm_emit(t, 0x34102ff3u);         /* csrr x31, mepc */
		tm_emit(t, 0x004f8f93u);         /* addi x31, x31, 4 */
		tm_emit(t, 0x341f9073u);         /* csrw mepc, x31 */
		tm_emit(t, 0x30200073u);         /* mret */
		struct hart *h = t->h[0];
		hart_set_x(h, 5, RAM_BASE + RAM_SIZE - 400);
		hart_set_x(h, 9, RAM_BASE + RAM_SIZE + 400);
		hart_set_pc(h, CODE_BASE);
		hart_csr_write(h, CSR_MTVEC, HANDLER);
	}
	char buf[200];
	for (unsigned i = 0; i < 60; i++) {
		uint64_t n0 = hart_step(p.m[0].h[0], 7 + i % 5);
		uint64_t n1 = hart_step(p.m[1].h[0], 7 + i % 5);
		const char *d = diff(p.m[0].h[0], p.m[1].h[0], buf, sizeof buf);
		if (d)
			test_fail(__FILE__, __LINE__, d);
		EXPECT(!d);
		EXPECT_EQ(n0, n1);
	}
	uint64_t n0 = hart_step(p.m[0].h[0], 5000);
	uint64_t n1 = hart_step(p.m[1].h[0], 5000);
	const char *d = diff(p.m[0].h[0], p.m[1].h[0], buf, sizeof buf);
	if (d)
		test_fail(__FILE__, __LINE__, d);
	EXPECT(!d);
	EXPECT_EQ(n0, n1);
	EXPECT_EQ(hart_get_x(p.m[1].h[0], 7), 100);   /* 50 in RAM, 50 faulting */
	EXPECT(hart_get_x(p.m[1].h[0], 5) == RAM_BASE + RAM_SIZE + 400);
	pair_fini(&p);
}

/* n hot one-instruction blocks 64 KiB apart (so in one set of the block
 * table), each adding to its own register and jumping to the next, the
 * last back to the first: each must be translated once, and almost every
 * round trip stay in translated code. */
static void blocks_in_one_set(unsigned n)
{
	struct pair p;
	EXPECT(pair_init(&p) == 0);
	struct hart *h = p.m[1].h[0];
	jit_set_hot(h->jit, 32);
	for (int k = 0; k < 2; k++) {
		struct tmach *t = &p.m[k];
		for (unsigned i = 0; i < n; i++) {
			tm_org(t, CODE_BASE + 0x10000 * i);
			tm_emit(t, ADDI(5 + i, 5 + i, 1));
			int32_t next = i + 1 < n ? 0x10000 : -(int32_t)(0x10000 * (n - 1));
			tm_emit(t, JAL(0, next - 4));
		}
	}
	for (unsigned round = 0; round < 20; round++) {
		hart_step(p.m[0].h[0], 500 * n);
		hart_step(h, 500 * n);
	}
	char buf[200];
	const char *d = diff(p.m[0].h[0], h, buf, sizeof buf);
	if (d)
		test_fail(__FILE__, __LINE__, d);
	EXPECT(!d);
	EXPECT(hart_get_x(h, 6) >= 4900);
	struct jit_stats st;
	EXPECT(hart_jit_stats(h, &st));
	/* (Two blocks in two pages that jump to each other make one trace.) */
	EXPECT(st.translations >= 1 && st.translations <= n);
	EXPECT(st.entries < 200);
	pair_fini(&p);
}

TEST(jit_two_hot_blocks_sharing_a_block_table_set_are_each_translated_once)
{
	/* When the table was direct-mapped they evicted each other on every
	 * use, lost their heat and were never translated. */
	blocks_in_one_set(2);
}

TEST(jit_three_blocks_taking_turns_in_one_block_table_set_are_translated)
{
	/* Each evicts another on every round: a run count kept in the slot
	 * went with it, so none was ever translated (busybox sha256sum hit
	 * this once per 64 bytes); counted by physical PC, all three are. */
	blocks_in_one_set(3);
}


TEST(jit_zero_extension_idiom_and_narrow_w_chains_match_the_interpreter)
{
	/* slli 32 + srli 32 is one host move; *W results stay narrow in
	 * their host register until a 64-bit use (add, a branch, an address,
	 * a store of all 8 bytes) or the block's end: each must see the
	 * sign-extended value.  Bitwise ops on narrow values stay narrow. */
	struct pair p;
	EXPECT(pair_init(&p) == 0);
	jit_set_hot(p.m[1].h[0]->jit, 1);
	for (int k = 0; k < 2; k++) {
		struct tmach *t = &p.m[k];
		tm_org(t, CODE_BASE);
		tm_emit(t, LUI(5, 0x80000000));        /* x5 = 0xffffffff80000000 */
		tm_emit(t, ADDI(5, 5, -3));
		tm_emit(t, LUI(9, DATA_BASE));         /* sign-extended: */
		tm_emit(t, SLLI(9, 9, 32));
		tm_emit(t, SRLI(9, 9, 32));            /* x9 = DATA_BASE */
		/* loop: */
		tm_emit(t, SLLI(6, 5, 32));
		tm_emit(t, SRLI(6, 6, 32));            /* x6 = 0x7ffffffd */
		tm_emit(t, ADDW(8, 5, 6));             /* narrow */
		tm_emit(t, ADDW(8, 8, 5));             /* narrow from narrow */
		tm_emit(t, SW(8, 9, 0));               /* low half only */
		tm_emit(t, ADD(10, 10, 8));            /* a 64-bit read */
		tm_emit(t, SLLIW(11, 8, 7));
		tm_emit(t, SD(11, 9, 8));              /* all of it */
		tm_emit(t, LD(12, 9, 8));
		tm_emit(t, XOR(13, 13, 12));
		tm_emit(t, XOR(14, 8, 11));            /* narrow ^ narrow: narrow */
		tm_emit(t, ANDI(14, 14, -5));          /* narrow & imm: narrow */
		tm_emit(t, OR(15, 14, 8));
		tm_emit(t, ADD(10, 10, 15));           /* a 64-bit read of it */
		tm_emit(t, XOR(16, 14, 10));           /* narrow ^ wide (x10 outgrows 32 bits) */
		tm_emit(t, ADDIW(5, 5, 77));
		tm_emit(t, BNE(5, 0, -64));
	}
	for (unsigned round = 0; round < 50; round++)
		STEP_BOTH_AND_COMPARE(&p, 997);
	EXPECT(hart_get_x(p.m[1].h[0], 10) != 0);
	EXPECT_EQ(hart_get_x(p.m[1].h[0], 9), DATA_BASE);
	struct jit_stats st;
	EXPECT(hart_jit_stats(p.m[1].h[0], &st));
	pair_fini(&p);
}

TEST(jit_sign_extension_knowledge_matches_the_interpreter)
{
	/* `sext.w` of a value known sign-extended is a copy, srliw needs no
	 * extension: each case next to one where the extension is needed
	 * (a 64-bit load, lwu, a sum that outgrows 32 bits), and a value
	 * sign-extended before the loop that is not by its back edge. */
	struct pair p;
	EXPECT(pair_init(&p) == 0);
	jit_set_hot(p.m[1].h[0]->jit, 1);
	for (int k = 0; k < 2; k++) {
		struct tmach *t = &p.m[k];
		tm_org(t, CODE_BASE);
		tm_emit(t, LUI(9, DATA_BASE));
		tm_emit(t, SLLI(9, 9, 32));
		tm_emit(t, SRLI(9, 9, 32));            /* x9 = DATA_BASE */
		tm_emit(t, LUI(5, 0x80000000));
		tm_emit(t, ADDI(5, 5, 0x123));         /* x5 = 0xffffffff80000123 */
		tm_emit(t, ADDI(6, 0, 1));
		tm_emit(t, SLLI(6, 6, 32));
		tm_emit(t, ADD(6, 6, 5));              /* x6 = 0x0000000080000123 */
		tm_emit(t, SD(6, 9, 0));
		tm_emit(t, LW(7, 9, 0));               /* sign-extended before the loop */
		tm_emit(t, ADDI(20, 0, 40));
		/* loop: */
		tm_emit(t, ADDIW(8, 7, 0));            /* x7 wide after the first round */
		tm_emit(t, LW(10, 9, 0));
		tm_emit(t, SRLIW(11, 10, 8));          /* bit 31 clear */
		tm_emit(t, SRLIW(12, 5, 1));
		tm_emit(t, XOR(13, 10, 11));
		tm_emit(t, ADDIW(13, 13, 0));          /* known: a copy */
		tm_emit(t, ADDIW(14, 13, 0));
		tm_emit(t, LD(15, 9, 0));
		tm_emit(t, ADDIW(16, 15, 0));          /* 64-bit load: extend */
		tm_emit(t, LWU(17, 9, 0));
		tm_emit(t, ADDIW(17, 17, 0));          /* zero-extended: extend */
		tm_emit(t, XOR(18, 10, 15));
		tm_emit(t, ADDIW(18, 18, 0));          /* sx ^ wide: extend */
		tm_emit(t, LBU(19, 9, 3));
		tm_emit(t, AND(19, 19, 10));
		tm_emit(t, ADDIW(19, 19, 0));
		tm_emit(t, ADD(21, 21, 8));
		tm_emit(t, ADD(21, 21, 14));
		tm_emit(t, ADD(21, 21, 16));
		tm_emit(t, ADD(21, 21, 17));
		tm_emit(t, ADD(21, 21, 18));
		tm_emit(t, ADD(21, 21, 19));
		tm_emit(t, ADD(21, 21, 12));
		tm_emit(t, ADD(7, 7, 5));              /* outgrows 32 bits */
		tm_emit(t, SLLI(7, 7, 1));
		tm_emit(t, ADDI(20, 20, -1));
		tm_emit(t, BNE(20, 0, -4 * 26));
	}
	for (unsigned round = 0; round < 40; round++)
		STEP_BOTH_AND_COMPARE(&p, 53);
	struct jit_stats st;
	EXPECT(hart_jit_stats(p.m[1].h[0], &st));
	EXPECT(st.translations > 0);
	pair_fini(&p);
}

TEST(jit_translates_an_instruction_straddling_a_page_and_sees_its_second_half_change)
{
	/* A hot loop whose addi straddles a page end: translated whole (it
	 * went to the interpreter every time round), behind a run-time check
	 * of the next page's mapping and code generation.  Then the half in
	 * the next page, which holds the immediate, is rewritten from outside:
	 * both machines must add the new immediate from their next round. */
	struct pair p;
	EXPECT(pair_init(&p) == 0);
	struct hart *h = p.m[1].h[0];
	jit_set_hot(h->jit, 4);
	for (int k = 0; k < 2; k++) {
		struct tmach *t = &p.m[k];
		tm_org(t, CODE_BASE);
		tm_emit(t, JAL(0, 0xff0));
		tm_org(t, CODE_BASE + 0xff0);
		tm_emit(t, ADDI(5, 5, 1));          /* loop */
		tm_emit(t, ADDI(7, 7, 2));
		tm_emit(t, ADDI(8, 8, 3));
		tm_emitc(t, 0x0001);                /* c.nop */
		tm_emit(t, ADDI(6, 6, 7));          /* 0xffe..0x1001 */
		tm_emit(t, JAL(0, -0x12));          /* back to the loop */
	}
	for (unsigned round = 0; round < 6; round++) {
		STEP_BOTH_AND_COMPARE(&p, 1000 + round * 7);
		/* round 3 on: the straddling half (bits 16..31: the immediate) changes */
		if (round >= 2) {
			uint32_t w = ADDI(6, 6, (int32_t)(11 * round));
			uint16_t upper = (uint16_t)(w >> 16);
			for (int k = 0; k < 2; k++)
				bus_write_guest(&p.m[k].bus, CODE_BASE + 0x1000, &upper, 2);
		}
	}
	struct jit_stats st;
	EXPECT(hart_jit_stats(h, &st));
	/* The straddling addi left for the interpreter only while it was cold
	 * and once per rewrite, not every time round (~1000 rounds). */
	EXPECT(st.returns[JIT_ST_INTERP] < 100);
	pair_fini(&p);
}

TEST(jit_translates_a_jump_and_a_branch_straddling_a_page_and_sees_their_second_halves_change)
{
	/* A loop that calls through a JAL straddling one page end and whose
	 * inner loop's back edge is a BNE straddling the next: both translated
	 * (a hot kernel path's straddling JAL went to the interpreter every
	 * time), link values and targets reckoned across the page ends.  Then
	 * the halves in the next pages, holding the offsets, are rewritten:
	 * both machines follow the new targets from their next round. */
	struct pair p;
	EXPECT(pair_init(&p) == 0);
	struct hart *h = p.m[1].h[0];
	jit_set_hot(h->jit, 4);
	for (int k = 0; k < 2; k++) {
		struct tmach *t = &p.m[k];
		tm_org(t, CODE_BASE);
		tm_emit(t, JAL(0, 0xff0));
		tm_org(t, CODE_BASE + 0xff0);
		tm_emit(t, ADDI(5, 5, 1));          /* outer loop */
		tm_emit(t, ADDI(7, 7, 2));
		tm_emit(t, ADDI(8, 8, 3));
		tm_emitc(t, 0x0001);                /* c.nop */
		tm_emit(t, JAL(1, 0x12));           /* 0xffe..0x1001: call 0x1010 */
		tm_emit(t, ADDI(10, 0, 20));        /* 0x1002 */
		tm_emit(t, JAL(0, 0xfea));          /* 0x1006: to the inner loop */
		tm_org(t, CODE_BASE + 0x1010);
		tm_emit(t, ADDI(6, 6, 7));
		tm_emit(t, JALR(0, 1, 0));          /* 0x1014: return */
		tm_org(t, CODE_BASE + 0x1ff0);
		tm_emit(t, ADDI(10, 10, -1));       /* inner loop */
		tm_emit(t, ADDI(11, 11, 3));
		tm_emit(t, ADDI(12, 12, 5));
		tm_emitc(t, 0x0001);
		tm_emit(t, BNE(10, 0, -0xe));       /* 0x1ffe..0x2001 */
		tm_emit(t, JAL(0, -0x1012));        /* 0x2002: the outer loop again */
	}
	for (unsigned round = 0; round < 8; round++) {
		STEP_BOTH_AND_COMPARE(&p, 1000 + round * 13);
		if (round < 2)
			continue;
		/* The call now lands on the return itself, or back where it was;
		 * the back edge skips the decrement's neighbour, or not. */
		uint32_t call = JAL(1, round % 2 ? 0x16 : 0x12);
		uint32_t edge = BNE(10, 0, round % 2 ? -0xa : -0xe);
		uint16_t call_hi = (uint16_t)(call >> 16), edge_hi = (uint16_t)(edge >> 16);
		for (int k = 0; k < 2; k++) {
			bus_write_guest(&p.m[k].bus, CODE_BASE + 0x1000, &call_hi, 2);
			bus_write_guest(&p.m[k].bus, CODE_BASE + 0x2000, &edge_hi, 2);
		}
	}
	struct jit_stats st;
	EXPECT(hart_jit_stats(h, &st));
	EXPECT(st.returns[JIT_ST_INTERP] < 100);
	pair_fini(&p);
}

TEST(jit_trace_across_a_page_end_matches_the_interpreter_and_sees_the_other_page_change)
{
	/* A loop that a page end splits (busybox sha256's round is): the
	 * block before the end falls through into the next page, whose block
	 * jumps back.  One trace, behind a guard on the second page's mapping
	 * and code.  The second page's first instruction is then rewritten
	 * from outside, and the fetch TLB emptied under the running trace:
	 * both machines must keep running the same code. */
	struct pair p;
	EXPECT(pair_init(&p) == 0);
	struct hart *h = p.m[1].h[0];
	jit_set_hot(h->jit, 4);
	for (int k = 0; k < 2; k++) {
		struct tmach *t = &p.m[k];
		tm_org(t, CODE_BASE);
		tm_emit(t, JAL(0, 0xfe8));
		tm_org(t, CODE_BASE + 0xfe8);
		tm_emit(t, ADDI(5, 5, 1));          /* loop */
		tm_emit(t, ADDI(7, 7, 2));
		tm_emit(t, XOR(8, 8, 5));
		tm_emit(t, ADDI(6, 6, 3));
		tm_emit(t, SLLI(10, 5, 3));
		tm_emit(t, ADD(11, 11, 10));        /* ends the page */
		tm_emit(t, ADDI(12, 12, 5));        /* the next page */
		tm_emit(t, ADDI(13, 13, 7));
		tm_emit(t, JAL(0, -0x20));          /* back to the loop */
	}
	for (unsigned round = 0; round < 8; round++) {
		STEP_BOTH_AND_COMPARE(&p, 1000 + round * 7);
		if (round == 2 || round == 5) {
			uint32_t w = ADDI(12, 12, (int32_t)(11 * round));
			for (int k = 0; k < 2; k++)
				bus_write_guest(&p.m[k].bus, CODE_BASE + 0x1000, &w, 4);
		}
		if (round == 3)
			tlb_flush_all(h);
	}
	STEP_BOTH_AND_COMPARE(&p, 1);
	STEP_BOTH_AND_COMPARE(&p, 2);
	STEP_BOTH_AND_COMPARE(&p, 5);
	struct jit_stats st;
	EXPECT(hart_jit_stats(h, &st));
	EXPECT(st.traces >= 1);
	/* The loop left for the dispatcher while cold and after each change,
	 * not every time round (~900 rounds): no block entry per page. */
	EXPECT(st.entries < 200);
	pair_fini(&p);
}

/* Both machines: `prog` at CODE_BASE, x9 = limit, pc = CODE_BASE + entry,
 * translations after 32 runs (so interpreted runs count branch edges). */
static void trace_program(struct pair *p, const uint32_t *prog, unsigned n, uint64_t limit,
			  unsigned entry)
{
	jit_set_hot(p->m[1].h[0]->jit, 32);
	for (int k = 0; k < 2; k++) {
		struct tmach *t = &p->m[k];
		tm_org(t, CODE_BASE);
		for (unsigned i = 0; i < n; i++)
			tm_emit(t, prog[i]);
		hart_set_x(t->h[0], 9, limit);
		hart_set_pc(t->h[0], CODE_BASE + entry);
	}
}

/* A loop of two blocks joined by a biased branch (the longest_match
 * shape): translated as one trace that loops to itself, the rare edge a
 * side exit with every dirty register written back.  Stepped in chunks as
 * small as one instruction, the trace (longer than what is left of a
 * chunk) gives way to its first block alone. */
TEST(jit_trace_through_a_biased_branch_matches_the_interpreter)
{
	struct pair p;
	EXPECT(pair_init(&p) == 0);
	struct hart *h = p.m[1].h[0];
	const uint32_t prog[] = {
		ADDI(5, 5, 1),           /* A: x5++ */
		ANDI(6, 5, 15),
		BNE(6, 0, 8),            /*    15 times in 16: to C */
		ADDI(7, 7, 1),           /* B: x7++ (rare) */
		ADDI(8, 8, 2),           /* C: x8 += 2 */
		BLT(5, 9, -20),          /*    while x5 < x9: to A */
		JAL(0, 0),               /* then spin here */
	};
	trace_program(&p, prog, sizeof prog / sizeof prog[0], 3000, 0);
	struct jit_stats st = { 0 };
	trace_steps(&p, 2000, 40, 20000, &st);
	EXPECT_EQ(hart_get_x(h, 5), 3000);
	EXPECT_EQ(hart_get_x(h, 7), 3000 / 16);
	EXPECT(st.traces >= 1);
	pair_fini(&p);
}

/* A loop whose exit edge was the likelier one in the runs its head's
 * trace is built from (the first inner loops are one round long, later
 * ones a hundred), and whose body branches both ways: no chain of biased
 * edges leads round, and the exit's block cannot join a trace (FENCE.I),
 * so only the search for a loop back to the head finds the inner loop. */
TEST(jit_trace_finds_a_loop_whose_exit_was_the_likelier_edge_at_first)
{
	struct pair p;
	EXPECT(pair_init(&p) == 0);
	struct hart *h = p.m[1].h[0];
	const uint32_t prog[] = {
		ADDI(10, 10, 1),         /* O: x10++ */
		ADDI(5, 0, 0),           /*    x5 = 0 */
		ADDI(12, 0, 1),          /*    x12 = 1 ... */
		BLT(10, 13, 8),
		ADDI(12, 0, 100),        /*    ... or 100 from the 40th round */
		ADDI(5, 5, 1),           /* H (+20): x5++ */
		BGE(5, 12, 24),          /*    to E */
		ANDI(6, 5, 1),           /* B: every other time to C */
		BNE(6, 0, 8),
		ADDI(7, 7, 1),
		ADDI(8, 8, 2),           /* C (+40) */
		JAL(0, -24),             /*    to H */
		FENCE_I(),               /* E (+48) */
		BLT(10, 9, -52),         /*    while x10 < x9: to O */
		JAL(0, 0),
	};
	trace_program(&p, prog, sizeof prog / sizeof prog[0], 200, 0);
	for (int k = 0; k < 2; k++)
		hart_set_x(p.m[k].h[0], 13, 40);
	struct jit_stats st = { 0 };
	trace_steps(&p, 3000, 40, 120000, &st);
	EXPECT_EQ(hart_get_x(h, 10), 200);
	EXPECT_EQ(hart_get_x(h, 7), 161 * 49);   /* rounds 40..200, even x5 below 100 */
	EXPECT(st.traces >= 1);
	pair_fini(&p);
}

/* A trace whose last branch falls through to its own start loops in
 * place (registers kept) rather than leaving and coming back. */
TEST(jit_trace_closed_by_a_fall_through_matches_the_interpreter)
{
	struct pair p;
	EXPECT(pair_init(&p) == 0);
	struct hart *h = p.m[1].h[0];
	const uint32_t prog[] = {
		ADDI(8, 8, 2),           /* Y: x8 += 2 */
		BGE(5, 9, 16),           /*    done: to the spin */
		ADDI(5, 5, 1),           /* head: x5++ */
		JAL(0, -12),             /*    to Y */
		JAL(0, 0),               /* spin */
	};
	trace_program(&p, prog, sizeof prog / sizeof prog[0], 5000, 8);
	struct jit_stats st = { 0 };
	trace_steps(&p, 1000, 30, 30000, &st);
	EXPECT_EQ(hart_get_x(h, 5), 5000);
	EXPECT(st.traces >= 1);
	EXPECT(st.entries < 100);
	pair_fini(&p);
}

/* An outer block that becomes hot after the inner loop it enters was
 * translated: its trace holds the inner loop, which loops back to a label
 * inside the trace (budget charged from there), and leaves by a side exit
 * or its last branch's other edge. */
TEST(jit_trace_with_an_inner_loop_matches_the_interpreter)
{
	struct pair p;
	EXPECT(pair_init(&p) == 0);
	struct hart *h = p.m[1].h[0];
	const uint32_t prog[] = {
		ADDI(10, 10, 1),         /* H: x10++ */
		BEQ(0, 0, 8),            /*    to A */
		JAL(0, 0),
		ADDI(5, 5, 1),           /* A (+12): x5++ */
		ANDI(6, 5, 3),
		BNE(6, 0, 8),            /*    3 times in 4: to C */
		ADDI(7, 7, 1),           /* B: x7++ */
		ADDI(8, 8, 2),           /* C (+28): x8 += 2 */
		ANDI(11, 5, 7),
		BNE(11, 0, -24),         /*    7 times in 8: to A */
		BLT(10, 9, -40),         /* D: while x10 < x9: to H */
		JAL(0, 0),
	};
	trace_program(&p, prog, sizeof prog / sizeof prog[0], 2000, 0);
	struct jit_stats st = { 0 };
	trace_steps(&p, 3000, 40, 200000, &st);
	EXPECT_EQ(hart_get_x(h, 10), 2000);
	EXPECT_EQ(hart_get_x(h, 5), 2000 * 8);
	EXPECT(st.traces >= 2);
	pair_fini(&p);
}

/* Runs of stores through one base register (one check for the run when
 * it lies in a page): a hot loop whose base moves by 36 bytes a round, so
 * that the run is sometimes misaligned and sometimes crosses a page end
 * (both done store by store), with the bytes loaded back every round. */
TEST(jit_store_runs_match_the_interpreter_across_pages_and_alignments)
{
	struct pair p;
	EXPECT(pair_init(&p) == 0);
	jit_set_hot(p.m[1].h[0]->jit, 4);
	const uint32_t prog[] = {
		SD(5, 8, 0),
		SW(6, 8, 8),
		SH(7, 8, 12),
		SB(5, 8, 14),
		SB(0, 8, 15),
		SD(6, 8, 16),
		LD(10, 8, 0),
		LD(11, 8, 8),
		LD(12, 8, 16),
		ADD(13, 13, 10),
		XOR(13, 13, 11),
		ADD(13, 13, 12),
		ADDI(8, 8, 36),
		ADDI(5, 5, 3),
		XOR(6, 6, 5),
		ADDI(7, 7, -1),
		BNE(7, 0, -4 * 16),
		JAL(0, 0),
	};
	for (int k = 0; k < 2; k++) {
		struct tmach *t = &p.m[k];
		tm_org(t, CODE_BASE);
		for (unsigned i = 0; i < sizeof prog / sizeof prog[0]; i++)
			tm_emit(t, prog[i]);
		hart_set_x(t->h[0], 8, DATA_BASE + 0x100);
		hart_set_x(t->h[0], 5, 0x0123456789abcdefull);
		hart_set_x(t->h[0], 6, 0xfedcba9876543210ull);
		hart_set_x(t->h[0], 7, 1200);   /* 43 KiB of data: ten page ends */
		hart_set_pc(t->h[0], CODE_BASE);
	}
	for (unsigned round = 0; round < 40; round++)
		STEP_BOTH_AND_COMPARE(&p, 211 + round * 37);
	STEP_BOTH_AND_COMPARE(&p, 30000);
	EXPECT_EQ(hart_get_x(p.m[1].h[0], 7), 0);
	struct jit_stats st;
	EXPECT(hart_jit_stats(p.m[1].h[0], &st));
	EXPECT(st.translations > 0);
	pair_fini(&p);
}

/* The AMOs translated inline (swap and add, and/or/xor into x0, LR and SC;
 * words and doublewords) in a hot loop over aligned data, their memory
 * loaded back every round, then misaligned ones, which trap as in the
 * interpreter. */
TEST(jit_inline_amos_match_the_interpreter)
{
	struct pair p;
	EXPECT(pair_init(&p) == 0);
	jit_set_hot(p.m[1].h[0]->jit, 4);
	const uint32_t prog[] = {
		AMOADD_D(10, 8, 5),
		AMOSWAP_W(11, 8, 6),
		ADDI(12, 8, 8),
		AMOADD_W(13, 12, 5),
		AMOAND_D(0, 12, 6),
		AMOOR_W(0, 12, 5),
		AMOXOR_D(0, 12, 10),
		AMOADD_D(0, 12, 11),
		LR_D(18, 12),
		ADDI(19, 18, 5),
		SC_D(20, 12, 19),          /* stores */
		SC_D(21, 12, 19),          /* fails: the reservation went */
		LR_W(22, 8),
		SC_W(23, 8, 5),
		LD(14, 8, 0),
		LD(15, 12, 0),
		ADD(5, 5, 14),
		XOR(6, 6, 15),
		ADDI(7, 7, -1),
		BNE(7, 0, -4 * 19),
		ADDI(16, 8, 2),
		AMOADD_W(17, 16, 5),       /* misaligned: the handler skips it */
		SC_W(24, 16, 5),           /* misaligned too */
		ADDI(7, 0, 50),
		JAL(0, -4 * 24),
	};
	static const uint32_t handler[4] = {
		0x34102ff3u,   /* csrr x31, mepc */
		0x004f8f93u,   /* addi x31, x31, 4 */
		0x341f9073u,   /* csrw mepc, x31 */
		0x30200073u,   /* mret */
	};
	for (int k = 0; k < 2; k++) {
		struct tmach *t = &p.m[k];
		tm_org(t, CODE_BASE);
		for (unsigned i = 0; i < sizeof prog / sizeof prog[0]; i++)
			tm_emit(t, prog[i]);
		tm_org(t, HANDLER);
		for (unsigned i = 0; i < 4; i++)
			tm_emit(t, handler[i]);
		hart_csr_write(t->h[0], CSR_MTVEC, HANDLER);
		tm_w64(t, DATA_BASE, 0x1111222233334444ull);
		tm_w64(t, DATA_BASE + 8, 0x5555666677778888ull);
		hart_set_x(t->h[0], 8, DATA_BASE);
		hart_set_x(t->h[0], 5, 0x0123456789abcdefull);
		hart_set_x(t->h[0], 6, 0xfedcba98f6543210ull);   /* a negative word */
		hart_set_x(t->h[0], 7, 50);
		hart_set_pc(t->h[0], CODE_BASE);
	}
	for (unsigned round = 0; round < 30; round++)
		STEP_BOTH_AND_COMPARE(&p, 97 + round * 31);
	EXPECT(tm_r64(&p.m[0], DATA_BASE) == tm_r64(&p.m[1], DATA_BASE));
	EXPECT(tm_r64(&p.m[0], DATA_BASE + 8) == tm_r64(&p.m[1], DATA_BASE + 8));
	struct jit_stats st;
	EXPECT(hart_jit_stats(p.m[1].h[0], &st));
	EXPECT(st.translations > 0);
	pair_fini(&p);
}

/* A loop of F/D work in one looping translation: its f registers are
 * loaded at the entry and kept in host registers round the loop (no
 * write-back at the back edge), with what can undo that mixed in: a
 * quiet comparison between frflags and fsflags (which no longer end the
 * block), a single-precision op through memory writing a kept register,
 * a helper (FDIV.S with RTZ), FLD/FSD straight to and from the kept
 * registers, and loads that walk the data. */
TEST(jit_fp_loop_keeping_f_registers_matches_the_interpreter)
{
	struct pair p;
	EXPECT(pair_init(&p) == 0);
	struct hart *h = p.m[1].h[0];
	const uint32_t prog[] = {
		LUI(18, 0x6000),
		CSRRS(0, CSR_MSTATUS, 18),   /* FS = Dirty */
		LUI(14, 0x3ff00000),
		SLLI(14, 14, 32),            /* 1.0 */
		FMV_D_X(4, 14),
		FMV_D_X(5, 14),
		LUI(15, 0x3fc00000),         /* 1.5f */
		FMV_W_X(6, 15),
		FMV_W_X(7, 15),
		/* loop (+36) */
		ANDI(16, 11, 0x7f),
		SLLI(16, 16, 3),
		ADD(10, 16, 17),
		FLD(1, 10, 0),
		FLD(2, 10, 8),
		FMUL_D(3, 1, 2, 7),
		FADD_D(4, 4, 3, 7),
		CSRRS(12, CSR_FFLAGS, 0),    /* frflags */
		FLT_D(13, 4, 5),
		CSRRW(0, CSR_FFLAGS, 12),    /* fsflags */
		FDIV_S(6, 6, 7, 1),
		FSQRT_D(5, 4, 7),
		FADD_D(4, 3, 5, 7),          /* stays near 2.6: no inf or NaN to hide a stale value */
		FSD(4, 10, 1032),
		FSD(3, 10, 1040),
		ADDI(11, 11, 1),
		BLT(11, 9, -68),
		JAL(0, 0),
	};
	double data[130];
	for (unsigned i = 0; i < 130; i++)
		data[i] = 0.5 + i / 128.0;
	for (int k = 0; k < 2; k++) {
		hart_set_x(p.m[k].h[0], 17, DATA_BASE);
		bus_write_guest(&p.m[k].bus, DATA_BASE, data, sizeof data);
	}
	trace_program(&p, prog, sizeof prog / sizeof prog[0], 3000, 0);
	struct jit_stats st = { 0 };
	trace_steps(&p, 2000, 40, 100000, &st);
	EXPECT_EQ(hart_get_x(h, 11), 3000);
	EXPECT(st.translations >= 1);
	EXPECT(st.entries < 300);   /* the loop ran in translated code */
	pair_fini(&p);
}

/* Rotations written as shift, shift, OR (SHA-2's shape, three at once,
 * 32-bit; and a 64-bit one with XOR), each emitted as one host rotate,
 * with shifts dropped only where no one can see them: a shift whose
 * register a load (which may trap) still finds must stay.  Stepped in
 * chunks down to single instructions. */
TEST(jit_rotations_sharing_a_scratch_register_are_each_fused)
{
	/* SHA-256's sigma0 as GCC writes it: the left shifts of two
	 * rotations go through one scratch register (x11), the first written
	 * between the second rotation's right shift and its own left shift. */
	struct pair p;
	EXPECT(pair_init(&p) == 0);
	struct hart *h = p.m[1].h[0];
	const uint32_t prog[] = {
		SRLIW(17, 6, 18),
		SLLIW(11, 6, 25),
		SRLIW(13, 6, 7),
		OR(13, 13, 11),          /* rot 7 */
		SLLIW(11, 6, 14),
		OR(11, 11, 17),          /* rot 18; x17 kept (the loop's exits see it) */
		XOR(13, 13, 11),
		ADDW(6, 6, 13),
		ADDIW(6, 6, 0x35),
		ADDI(9, 9, -1),
		BNE(9, 0, -40),
		JAL(0, 0),
	};
	for (int k = 0; k < 2; k++)
		hart_set_x(p.m[k].h[0], 6, 0x6a09e667);
	trace_program(&p, prog, sizeof prog / sizeof prog[0], 5000, 0);
	struct jit_stats st = { 0 };
	trace_steps(&p, 3000, 40, 100000, &st);
	EXPECT_EQ(hart_get_x(h, 9), 0);
	EXPECT(st.rotations >= 2);   /* both, in the loop's one translation */
	pair_fini(&p);
}

TEST(jit_rotations_from_shifts_match_the_interpreter)
{
	struct pair p;
	EXPECT(pair_init(&p) == 0);
	struct hart *h = p.m[1].h[0];
	const uint32_t prog[] = {
		SRLIW(11, 5, 17),
		SLLIW(13, 5, 15),
		SRLIW(17, 5, 19),
		OR(13, 13, 11),          /* rot 17; x11 written again below: its shift goes */
		SLLIW(11, 5, 13),
		OR(11, 11, 17),          /* rot 19; x17 seen by the load below: kept */
		LW(12, 10, 0),
		XOR(13, 13, 11),
		ADDW(5, 5, 13),
		ADDW(5, 5, 12),
		SRLI(14, 6, 27),
		SLLI(15, 6, 37),
		XOR(16, 15, 14),         /* 64-bit rot 27, as XOR */
		ADD(6, 6, 16),
		MUL(6, 6, 18),
		SRLI(14, 6, 3),
		ADD(6, 6, 14),
		ADD(7, 7, 17),           /* x17 from the kept shift */
		ADDI(9, 9, -1),
		BNE(9, 0, -76),
		JAL(0, 0),
	};
	for (int k = 0; k < 2; k++) {
		hart_set_x(p.m[k].h[0], 5, 0x12345678);
		hart_set_x(p.m[k].h[0], 6, 0x0123456789abcdefull);
		hart_set_x(p.m[k].h[0], 10, DATA_BASE);
		hart_set_x(p.m[k].h[0], 18, 0x9e3779b97f4a7c15ull);
	}
	trace_program(&p, prog, sizeof prog / sizeof prog[0], 5000, 0);
	struct jit_stats st = { 0 };
	trace_steps(&p, 3000, 40, 100000, &st);
	EXPECT_EQ(hart_get_x(h, 9), 0);
	EXPECT(st.rotations >= 3);
	pair_fini(&p);
}

/*
 * The x86-64 back end of the translator (see backend.h for the contract).
 *
 * Host registers: rbx holds the struct hart, r15 the page delta (virtual
 * minus physical PC) of the running code, r14 the instruction budget
 * (h->jit_budget while translated code runs; enter loads it, the epilogue
 * stores it); all callee-saved, so they survive every helper call.
 * instret is not counted in translated code at all: the dispatcher derives
 * it from the budget used, less the instructions an exit did not retire
 * (h->jit_unretired, stored only by exits in the middle of a block), so
 * going from block to block touches no counter in memory.  rax, rcx, rdx,
 * rsi, rdi are scratch.  Guest registers live in h->x between
 * translations; within one, the most used are cached in rbp, r12, r13
 * (callee-saved) and r8-r11, rdi (caller-saved: the
 * cold paths that call C spill the dirty ones first and x64_reload them after).
 * A cached register written in the block is "dirty" until written back;
 * every exit writes back exactly the registers dirty at that instruction,
 * so a trap leaves h->x as the interpreter would.  The stack stays 16-byte
 * aligned inside translated code (enter pushes six registers and reserves
 * 8 bytes), so helpers are plain SysV calls.
 *
 * Layout of a translation: the entry checks, the straight-line body with
 * its fast paths inline, the exit stubs, then the cold slow paths (TLB
 * misses, code-page stores, helper failures) after everything else.
 * Entry check: the instruction budget, at most a slice, so a chained loop
 * cannot starve timers, interrupts, IPIs or pause (see be_begin).  Staleness is not checked here: every way in
 * validates the block first (jit_internal.h).
 */
#include "vmm/cpu/jit/x86_64_internal.h"
#include "vmm/cpu/jit/x86_emit_sse.h"
#include "vmm/cpu/ops.h"

#include <stdlib.h>

/* The generated code scales TLB and jump-cache indices by shifts. */
_Static_assert(sizeof(struct tlb_entry) == 16, "fetch/load TLB entries are 16 bytes");
_Static_assert(sizeof(struct tlb_store_entry) == 32, "store TLB entries are 32 bytes");
_Static_assert(sizeof(struct jcache_entry) == 32, "jump-cache entries are 32 bytes");
/* ... and computes them in 32-bit registers. */
_Static_assert(PAGE_SHIFT + DTLB_BITS <= 32 && TLB_BITS <= DTLB_BITS && JCACHE_BITS + 5 <= 32, "indices fit 32 bits");

/* Cache registers, hottest first; the first three survive calls.  rdi is
 * free in every fast path (it is only a call's first argument, set after
 * the caller-saved cache registers are written back). */
static const uint8_t cache_regs[] = { RBP, R12, R13, R8, R9, R10, R11, RDI };

static bool caller_saved(unsigned host) { return (host >= R8 && host <= R11) || host == RDI; }

/* ---- small emit helpers ---- */

static uint8_t *rx(const struct be *be, const uint8_t *w)
{
	return code_cache_exec_addr(&be->j->cc, w);
}

/* jmp to an executable address outside this translation (the stubs). */
static void jmp_to(struct be *be, const uint8_t *target_rx)
{
	uint8_t *at = x_jmp32(&be->b);
	if (!be->b.full) {
		int32_t rel = (int32_t)(target_rx - (rx(be, at) + 4));
		memcpy(at, &rel, 4);
	}
}

void x64_call_abs(struct x86_buf *b, const void *fn)
{
	x_mov_imm(b, RAX, (uint64_t)(uintptr_t)fn);
	x_call_r(b, RAX);
}

static bool is_narrow(const struct be *be, unsigned g)
{
	return (be->narrow >> g) & 1;
}

/* x[g] is known to be a sign-extended 32-bit value (x0 is). */
static bool is_sx(const struct be *be, unsigned g)
{
	return g == 0 || ((be->sx >> g) & 1);
}

static void set_sx(struct be *be, unsigned g, bool known)
{
	if (g == 0 || g >= 32)
		return;
	be->sx = known ? be->sx | 1u << g : be->sx & ~(1u << g);
}

/* Sign-extends cached register g in place if it may be narrow. */
static void widen(struct be *be, unsigned g)
{
	if (!is_narrow(be, g))
		return;
	x_movsxd(&be->b, (unsigned)be->host[g], (unsigned)be->host[g]);
	be->narrow &= ~(1u << g);
}

/* host = guest register g (x0 reads as zero). */
void x64_ld_x(struct be *be, unsigned host, unsigned g)
{
	if (g == 0)
		x_mov_imm(&be->b, host, 0);
	else if (be->host[g] >= 0) {
		if ((unsigned)be->host[g] == host)
			widen(be, g);
		else if (is_narrow(be, g))   /* as cheap as the move */
			x_movsxd(&be->b, host, (unsigned)be->host[g]);
		else
			x_mov_rr(&be->b, true, host, (unsigned)be->host[g]);
	}
	else
		x_load(&be->b, true, host, RBX, XOFF(g));
}

/* The same where only the low 32 bits of the value will be read. */
static void ld_x_lo(struct be *be, unsigned host, unsigned g)
{
	if (g == 0 || be->host[g] < 0 || (unsigned)be->host[g] != host)
		x64_ld_x(be, host, g);
}

/* A host register holding guest g: its cache register, else `tmp` loaded. */
unsigned x64_xreg(struct be *be, unsigned g, unsigned tmp)
{
	if (g != 0 && be->host[g] >= 0) {
		widen(be, g);
		return (unsigned)be->host[g];
	}
	x64_ld_x(be, tmp, g);
	return tmp;
}

unsigned x64_xreg_lo(struct be *be, unsigned g, unsigned tmp)
{
	if (g != 0 && be->host[g] >= 0)
		return (unsigned)be->host[g];
	x64_ld_x(be, tmp, g);
	return tmp;
}

void x64_st_x(struct be *be, unsigned g, unsigned host)
{
	if (g == 0 || g == 32)
		return;
	be->sx &= ~(1u << g);   /* the caller knows better, and says so after */
	if (be->host[g] >= 0) {
		if ((unsigned)be->host[g] != host)
			x_mov_rr(&be->b, true, (unsigned)be->host[g], host);
		be->dirty |= 1u << g;
		be->narrow &= ~(1u << g);
	} else {
		x_store(&be->b, true, RBX, XOFF(g), host);
	}
}

/* dst = dst op x[g], from the cache register or memory (w: 64-bit op). */
static void alu_x(struct be *be, bool w, enum x86_alu op, unsigned dst, unsigned g)
{
	if (be->host[g] >= 0) {
		if (w)
			widen(be, g);
		x_alu_rr(&be->b, w, op, dst, (unsigned)be->host[g]);
	} else {
		x_alu_rm(&be->b, w, op, dst, RBX, XOFF(g));
	}
}

/* Writes back the cached registers in `mask` whose host register is in `which`
 * (0: all, 1: callee-saved only, 2: caller-saved only), sign-extending
 * narrow ones first.  It leaves be->narrow as it was: the extension was
 * made on this path only, and the other paths from here still need it. */
void x64_write_back(struct be *be, uint64_t mask, int which)
{
	/* Set bits only: every exit and slow path writes back, so this runs
	 * often while translating. */
	for (uint64_t m = mask & be->cached & ~1ull; m; m &= m - 1) {
		unsigned g = (unsigned)__builtin_ctzll(m);
		if (g >= 32) {
			if (which != 1)
				x_sse_rm(&be->b, PFX_SD, false, SSE_STORE,
					 (unsigned)be->fhost[g - 32], RBX, FOFF(g - 32));
			continue;
		}
		unsigned r = (unsigned)be->host[g];
		bool cs = caller_saved(r);
		if ((which == 1 && cs) || (which == 2 && !cs))
			continue;
		if (is_narrow(be, g))
			x_movsxd(&be->b, r, r);
		x_store(&be->b, true, RBX, XOFF(g), r);
	}
}

/* Reloads cached registers (which: as for x64_write_back); f registers
 * first used later in the block too, harmlessly: their xmm registers hold
 * nothing yet. */
void x64_reload(struct be *be, int which)
{
	for (uint64_t m = be->cached & ~1ull; m; m &= m - 1) {
		unsigned g = (unsigned)__builtin_ctzll(m);
		if (g >= 32) {
			if (which != 1)
				x_sse_rm(&be->b, PFX_SD, false, SSE_LOAD,
					 (unsigned)be->fhost[g - 32], RBX, FOFF(g - 32));
			continue;
		}
		bool cs = caller_saved((unsigned)be->host[g]);
		if ((which == 1 && cs) || (which == 2 && !cs))
			continue;
		x_load(&be->b, true, (unsigned)be->host[g], RBX, XOFF(g));
		be->narrow &= ~(1u << g);
	}
}

struct slow *x64_add_slow(struct be *be, enum slow_kind k, uint8_t *jcc)
{
	if (be->nslow == MAX_SLOW) {
		be->failed = true;
		be->nslow = 0;
	}
	struct slow *s = &be->slow[be->nslow++];
	*s = (struct slow){ .kind = k, .jcc = jcc, .idx = be->idx, .ppc = be->ppc,
			    .next_ppc = be->next_ppc, .dirty = be->dirty, .narrow = be->narrow,
			    .xmm = -1, .dst = RAX, .va = RSI };
	return s;
}

/* The instructions of the block (counted off the budget at its entry) that
 * this exit leaves unretired. */
static void emit_unretired(struct be *be, unsigned n)
{
	if (n)
		x_store_imm32(&be->b, RBX, HOFF(jit_unretired), (int32_t)n);
}

/* h->pc = ppc + delta */
static void emit_set_pc(struct be *be, uint64_t ppc)
{
	x_mov_imm(&be->b, RAX, ppc);
	x_alu_rr(&be->b, true, ALU_ADD, RAX, R15);
	x_store(&be->b, true, RBX, HOFF(pc), RAX);
}

/* Leaves translated code: `retired` instructions done, pc = ppc + delta,
 * guest registers in `dirty` written back first. */
void x64_emit_exit(struct be *be, uint64_t ppc, unsigned retired, enum jit_status st,
		      uint64_t dirty)
{
	x64_write_back(be, dirty, 0);
	emit_unretired(be, be->tb->ninsn - retired);
	x_mov_imm(&be->b, RAX, ppc);
	jmp_to(be, be->j->exit_to[st]);
}

/* ---- stubs shared by all translations ---- */

int be_init_stubs(struct jit *j)
{
	struct code_cache *cc = &j->cc;
	uint8_t *w = code_cache_reserve(cc, 512);
	if (!w)
		return -1;
	struct x86_buf b = { .p = w, .end = w + 512 - X86_SLACK };
	j->enter = code_cache_exec_addr(cc, b.p);
	static const unsigned saved[] = { RBX, RBP, R12, R13, R14, R15 };
	for (unsigned i = 0; i < 6; i++)
		x_push(&b, saved[i]);
	x_alu_ri(&b, true, ALU_SUB, RSP, 8);
	x_mov_rr(&b, true, RBX, RDI);
	x_mov_rr(&b, true, R15, RDX);
	x_load(&b, true, R14, RBX, HOFF(jit_budget));
	x_jmp_r(&b, RSI);

	j->epilogue = code_cache_exec_addr(cc, b.p);
	x_store(&b, true, RBX, HOFF(jit_budget), R14);
	x_alu_ri(&b, true, ALU_ADD, RSP, 8);
	for (unsigned i = 6; i-- > 0;)
		x_pop(&b, saved[i]);
	x_ret(&b);

	j->check_fail = code_cache_exec_addr(cc, b.p);
	x_mov_imm(&b, RAX, JIT_ST_CHECK);
	{
		uint8_t *at = x_jmp32(&b);
		int32_t rel = (int32_t)(j->epilogue - (code_cache_exec_addr(cc, at) + 4));
		memcpy(at, &rel, 4);
	}

	/* Shared by every unlinked exit (each would otherwise spell it out,
	 * 42 bytes, against 15 to get here): pc = the exit's target + delta,
	 * h->jit_link = the exit, and the dispatcher links it. */
	j->chain_tail = code_cache_exec_addr(cc, b.p);
	x_store(&b, true, RBX, HOFF(jit_link), RAX);
	x_load(&b, true, RCX, RAX, (int32_t)offsetof(struct jit_exit, target_ppc));
	x_alu_rr(&b, true, ALU_ADD, RCX, R15);
	x_store(&b, true, RBX, HOFF(pc), RCX);
	x_mov_imm(&b, RAX, JIT_ST_CHAIN);
	{
		uint8_t *at = x_jmp32(&b);
		int32_t rel = (int32_t)(j->epilogue - (code_cache_exec_addr(cc, at) + 4));
		memcpy(at, &rel, 4);
	}

	/* Every other exit's common end (x64_emit_exit): pc = rax + delta. */
	_Static_assert(JIT_ST_CHECK == 4, "exit_to[] has one stub per jit_status");
	for (unsigned st = 0; st < 5; st++) {
		j->exit_to[st] = code_cache_exec_addr(cc, b.p);
		x_alu_rr(&b, true, ALU_ADD, RAX, R15);
		x_store(&b, true, RBX, HOFF(pc), RAX);
		x_mov_imm(&b, RAX, st);
		uint8_t *at = x_jmp32(&b);
		int32_t rel = (int32_t)(j->epilogue - (code_cache_exec_addr(cc, at) + 4));
		memcpy(at, &rel, 4);
	}

	j->untranslated = code_cache_exec_addr(cc, b.p);
	x_mov_imm(&b, RAX, JIT_ST_EXIT);
	{
		uint8_t *at = x_jmp32(&b);
		int32_t rel = (int32_t)(j->epilogue - (code_cache_exec_addr(cc, at) + 4));
		memcpy(at, &rel, 4);
	}
	if (b.full)
		return -1;
	code_cache_commit(cc, w, (size_t)(b.p - w));
	j->stubs_end = b.p;
	return 0;
}

enum jit_status be_enter(struct jit *j, struct hart *h, const void *code, uint64_t delta)
{
	int (*fn)(struct hart *, const void *, uint64_t);
	const void *p = j->enter;
	memcpy(&fn, &p, sizeof(fn));
	return (enum jit_status)fn(h, code, delta);
}

void be_link(struct jit *j, struct jit_exit *e, const void *target_code)
{
	const uint8_t *site = code_cache_exec_addr(&j->cc, e->jump_rel32);
	int32_t rel = (int32_t)((const uint8_t *)target_code - (site + 4));
	memcpy(e->jump_rel32, &rel, 4);
}

void be_unlink(struct jit_exit *e)
{
	int32_t rel = (int32_t)(e->tail - (e->jump_rel32 + 4));
	memcpy(e->jump_rel32, &rel, 4);
}

/* ---- a translation ---- */

struct be *be_begin(struct jit *j, struct jit_tb *tb)
{
	struct be *be = j->be;
	uint8_t *w = code_cache_reserve(&j->cc, MAX_TB_BYTES);
	if (!w)
		return NULL;
	memset(be, 0, offsetof(struct be, slow));
	be->j = j;
	be->tb = tb;
	be->b = (struct x86_buf){ .p = w, .end = w + MAX_TB_BYTES - X86_SLACK };
	be->start = w;
	memset(be->host, -1, sizeof(be->host));
	memset(be->fhost, -1, sizeof(be->fhost));
	be->next_xmm = XMM_FIRST_CACHE;
	tb->code = rx(be, w);
	tb->nexits = 0;

	struct x86_buf *b = &be->b;
	/* The budget is the only entry check.  It is at most a slice
	 * (JIT_SLICE instructions), so translated code returns to the
	 * dispatcher that often whatever it runs, and the dispatcher sees
	 * attn (new interrupts, stop and pause requests) then: testing attn
	 * at every block too would cost each block a load and a branch for a
	 * few microseconds less latency.  (A store into code leaves at once
	 * through its own exit.)  A budget that goes negative is not
	 * restored: the dispatcher sets a new one. */
	x_alu_ri(b, true, ALU_SUB, R14, tb->ninsn);
	be->check_jcc = x_jcc32(b, CC_L);
	return be;
}

/*
 * A block that branches back to its own start keeps its registers in host
 * registers around the loop: all its cached registers are loaded on entry
 * and those it writes count as dirty from the start of the body, so every
 * exit writes them back and the back edge need not (see emit_loop_back).
 */
void be_regs(struct be *be, const unsigned uses[32], uint32_t live_in, uint32_t written,
	     bool loops, const unsigned fuses[32], uint32_t fwritten)
{
	be->loops = loops;
	if (loops)
		live_in = ~0u;
	bool taken[32] = { false };
	for (unsigned slot = 0; slot < sizeof(cache_regs); slot++) {
		unsigned best = 0;
		for (unsigned g = 1; g < 32; g++)
			if (!taken[g] && uses[g] > uses[best])
				best = g;
		/* A register used once is worth a host register only in a
		 * loop, where it is loaded once instead of every time round. */
		if (best == 0 || uses[best] < (loops ? 1u : 2u))
			break;
		taken[best] = true;
		be->host[best] = (int8_t)cache_regs[slot];
		be->cached |= 1u << best;
		if (live_in & (1u << best))
			x_load(&be->b, true, cache_regs[slot], RBX, XOFF(best));
		if (caller_saved(cache_regs[slot]))
			be->x_caller_saved |= 1u << best;
	}
	/* A loop's f registers too, so that the body does not load them at
	 * their first use, which would need memory current at the back edge
	 * (emit_loop_back). */
	uint64_t fwritten_bits = (uint64_t)fwritten << 32;
	if (loops) {
		bool ftaken[32] = { false };
		for (;;) {
			unsigned best = 32;
			for (unsigned f = 0; f < 32; f++)
				if (!ftaken[f] && fuses[f] && (best == 32 || fuses[f] > fuses[best]))
					best = f;
			if (best == 32 || x64_freg_preload(be, best) < 0)
				break;
			ftaken[best] = true;
			be->fpre |= FREG_BIT(best);
		}
	}
	be->body = be->b.p;
	if (loops) {
		be->loop_dirty = be->cached & (written | (be->fpre & fwritten_bits));
		be->dirty = be->loop_dirty;
	}
}

static void widen_all(struct be *be)
{
	for (unsigned g = 1; g < 32; g++)
		if (be->host[g] >= 0)
			widen(be, g);
}

/* A back edge to `to`, the code of instruction idx at ppc (the body's start,
 * or a trace's loop label): registers stay put; the budget is checked
 * again for the round from there (a loop must still see interrupts). */
static void emit_loop_back(struct be *be, uint8_t *to, unsigned idx, uint64_t ppc)
{
	struct x86_buf *b = &be->b;
	widen_all(be);   /* the body starts with none narrow */
	/* The body loads each f register not taken at the entry at its
	 * first use: memory must hold it when the body starts again. */
	x64_write_back(be, be->dirty & FREGS & ~be->fpre, 0);
	unsigned round = be->tb->ninsn - idx;
	x_alu_ri(b, true, ALU_SUB, R14, (int32_t)round);
	x_patch(b, x_jcc32(b, CC_GE), to);
	/* out of budget: the next round did not run */
	emit_unretired(be, round);
	x64_write_back(be, be->loop_dirty, 0);
	emit_set_pc(be, ppc);
	jmp_to(be, be->j->check_fail);
}

void be_loop_label(struct be *be, unsigned idx, uint64_t ppc)
{
	widen_all(be);
	be->sx = 0;   /* the back edge comes here with other values */
	be->label = be->b.p;
	be->label_idx = idx;
	be->label_ppc = ppc;
}

void be_insn(struct be *be, unsigned idx, uint64_t ppc, uint64_t next_ppc)
{
	be->idx = idx;
	be->ppc = ppc;
	be->next_ppc = next_ppc;
}

void be_const(struct be *be, unsigned rd, uint64_t v)
{
	if (rd == 0 || rd == 32)
		return;
	if (be->host[rd] >= 0) {
		x_mov_imm(&be->b, (unsigned)be->host[rd], v);
		be->dirty |= 1u << rd;
		be->narrow &= ~(1u << rd);
	} else if (fits_i32((int64_t)v)) {
		x_store_imm32(&be->b, RBX, XOFF(rd), (int32_t)v);
	} else {
		x_mov_imm(&be->b, RAX, v);
		x64_st_x(be, rd, RAX);
	}
	set_sx(be, rd, fits_i32((int64_t)v));
}

void be_pc_value(struct be *be, unsigned rd, uint64_t ppc)
{
	if (rd == 0 || rd == 32)
		return;
	x_mov_imm(&be->b, RAX, ppc);
	x_alu_rr(&be->b, true, ALU_ADD, RAX, R15);
	x64_st_x(be, rd, RAX);
}

/*
 * Two-address arithmetic: the result is computed where rd lives when rd is
 * cached and not also the second source (which the op still has to read),
 * else in rax.  dest_begin copies rs1 there; dest_end sign-extends *W
 * results and files the value under rd.
 */
static unsigned dest_begin(struct be *be, bool w32, unsigned rd, unsigned rs1, unsigned second)
{
	unsigned t = RAX;
	if (rd < 32 && be->host[rd] >= 0 && rd != second)
		t = (unsigned)be->host[rd];
	if (w32)
		ld_x_lo(be, t, rs1);
	else
		x64_ld_x(be, t, rs1);
	return t;
}

/* A *W result computed in rd's own cache register stays narrow there. */
static void dest_end(struct be *be, bool w32, unsigned rd, unsigned t)
{
	bool in_place = rd < 32 && rd != 0 && be->host[rd] >= 0 && (unsigned)be->host[rd] == t;
	if (w32 && !in_place)
		x_movsxd(&be->b, t, t);
	x64_st_x(be, rd, t);
	if (w32 && in_place)
		be->narrow |= 1u << rd;
	if (w32)
		set_sx(be, rd, true);
}

static void finish_w32(struct be *be, bool w32, unsigned rd)
{
	dest_end(be, w32, rd, RAX);
}

void be_zext32(struct be *be, unsigned rd, unsigned rs1)
{
	if (rd == 0 || rd == 32)
		return;
	unsigned t = dest_begin(be, true, rd, rs1, 0);
	x_mov_rr(&be->b, false, t, t);   /* a 32-bit move clears the upper half */
	x64_st_x(be, rd, t);
}

static const enum x86_alu simple_alu[] = {
	[BE_ADD] = ALU_ADD, [BE_SUB] = ALU_SUB, [BE_AND] = ALU_AND,
	[BE_OR] = ALU_OR, [BE_XOR] = ALU_XOR,
};

static const enum x86_shift shift_op[] = {
	[BE_SLL] = SH_SHL, [BE_SRL] = SH_SHR, [BE_SRA] = SH_SAR,
};

void be_alu(struct be *be, enum be_alu op, bool w32, unsigned rd, unsigned rs1, unsigned rs2)
{
	struct x86_buf *b = &be->b;
	if (rd == 0 || rd == 32)
		return;
	unsigned t;
	/* x0 as an operand that changes nothing (c.mv is add rd, x0, rs2): a copy. */
	if (rs1 == 0 && (op == BE_ADD || op == BE_OR || op == BE_XOR)) {
		be_alu_imm(be, BE_ADD, w32, rd, rs2, 0);
		return;
	}
	if (rs2 == 0 && (op == BE_ADD || op == BE_SUB || op == BE_OR || op == BE_XOR)) {
		be_alu_imm(be, BE_ADD, w32, rd, rs1, 0);
		return;
	}
	/* Bitwise ops commute with sign extension: on two sign-extended
	 * values, one or both still narrow (a narrow value is one), a 32-bit
	 * op gives a narrow result without extending either first (SHA-2's
	 * xor chains; sigma1's xor of a rotation and a shift). */
	if ((op == BE_AND || op == BE_OR || op == BE_XOR) && is_sx(be, rs1) && is_sx(be, rs2) &&
	    (is_narrow(be, rs1) || is_narrow(be, rs2)))
		w32 = true;
	/* (and of them too: sign-extended operands, a sign-extended result) */
	bool bitwise_sx = (op == BE_AND || op == BE_OR || op == BE_XOR) && is_sx(be, rs1) &&
			  is_sx(be, rs2);
	switch (op) {
	case BE_ADD: case BE_SUB: case BE_AND: case BE_OR: case BE_XOR:
		t = dest_begin(be, w32, rd, rs1, rs2);
		if (rs2 == 0)
			x_alu_ri(b, !w32, simple_alu[op], t, 0);
		else
			alu_x(be, !w32, simple_alu[op], t, rs2);
		dest_end(be, w32, rd, t);
		if (bitwise_sx)
			set_sx(be, rd, true);
		return;
	case BE_SLL: case BE_SRL: case BE_SRA:
		x64_ld_x(be, RCX, rs2);
		t = dest_begin(be, w32, rd, rs1, rs2);
		x_shift_cl(b, !w32, shift_op[op], t);
		dest_end(be, w32, rd, t);
		return;
	case BE_MUL:
		t = dest_begin(be, w32, rd, rs1, rs2);
		x_imul_rr(b, !w32, t, w32 ? x64_xreg_lo(be, rs2, RCX) : x64_xreg(be, rs2, RCX));
		dest_end(be, w32, rd, t);
		return;
	default:
		break;
	}
	x64_ld_x(be, RAX, rs1);
	switch (op) {
	case BE_SLT: case BE_SLTU:
		x_alu_rr(b, true, ALU_CMP, RAX, x64_xreg(be, rs2, RCX));
		x_setcc(b, op == BE_SLT ? CC_L : CC_B, RAX);
		break;
	case BE_MULH: case BE_MULHU:
		x64_ld_x(be, RCX, rs2);
		x_f7(b, true, op == BE_MULH ? 5 : 4, RCX);
		x_mov_rr(b, true, RAX, RDX);
		break;
	default:
		break;
	}
	finish_w32(be, w32, rd);
}

void be_rotate(struct be *be, bool w32, unsigned rd, unsigned rs1, unsigned n)
{
	if (rd == 0 || rd == 32)
		return;
	unsigned t = dest_begin(be, w32, rd, rs1, 0);
	x_shift_ri(&be->b, !w32, SH_ROR, t, (uint8_t)n);
	dest_end(be, w32, rd, t);
}

void be_alu_imm(struct be *be, enum be_alu op, bool w32, unsigned rd, unsigned rs1, int64_t imm)
{
	struct x86_buf *b = &be->b;
	if (rd == 0 || rd == 32)
		return;
	unsigned t;
	/* As in be_alu: immediates are sign-extended 12-bit values. */
	if ((op == BE_AND || op == BE_OR || op == BE_XOR) && is_narrow(be, rs1) &&
	    imm == (int32_t)imm)
		w32 = true;
	bool bitwise_sx = (op == BE_AND || op == BE_OR || op == BE_XOR) && is_sx(be, rs1) &&
			  imm == (int32_t)imm;
	/* sext.w (addiw rd, rs1, 0) of a value already sign-extended: a copy. */
	if (op == BE_ADD && w32 && imm == 0 && is_sx(be, rs1)) {
		if (rd == rs1)
			return;
		w32 = false;
		bitwise_sx = true;
	}
	switch (op) {
	case BE_ADD: case BE_SUB: case BE_AND: case BE_OR: case BE_XOR:
		t = dest_begin(be, w32, rd, rs1, 0);
		/* x op 0 is x, except for AND (*W forms: dest_end sign-extends). */
		if (imm || op == BE_AND)
			x_alu_ri(b, !w32, simple_alu[op], t, (int32_t)imm);
		dest_end(be, w32, rd, t);
		if (bitwise_sx)
			set_sx(be, rd, true);
		return;
	case BE_SLL: case BE_SRL: case BE_SRA:
		t = dest_begin(be, w32, rd, rs1, 0);
		if (imm)
			x_shift_ri(b, !w32, shift_op[op], t, (unsigned)imm);
		/* srliw by 1 or more clears bit 31: the 32-bit shift's zeroed
		 * upper half is already the sign extension. */
		if (w32 && op == BE_SRL && imm) {
			dest_end(be, false, rd, t);
			set_sx(be, rd, true);
			return;
		}
		dest_end(be, w32, rd, t);
		return;
	default:
		break;
	}
	x64_ld_x(be, RAX, rs1);
	switch (op) {
	case BE_SLT: case BE_SLTU:
		x_alu_ri(b, true, ALU_CMP, RAX, (int32_t)imm);
		x_setcc(b, op == BE_SLT ? CC_L : CC_B, RAX);
		break;
	default:
		be->failed = true;
		return;
	}
	finish_w32(be, w32, rd);
}

void be_pure(struct be *be, be_pure_fn fn, unsigned rd, unsigned rs1, unsigned rs2)
{
	if (rd == 0 || rd == 32)
		return;
	x64_write_back(be, be->dirty, 2);
	x64_ld_x(be, RSI, rs2);   /* first: rs2 may be cached in rdi */
	x64_ld_x(be, RDI, rs1);
	be->dirty &= ~x64_caller_saved_mask(be) | be->loop_dirty;
	x64_call_abs(&be->b, (const void *)fn);
	x64_reload(be, 2);
	x64_st_x(be, rd, RAX);
}

/* (Asked by every slow path: x registers' host registers are fixed from
 * be_regs on, so their part is kept, not recomputed.) */
uint64_t x64_caller_saved_mask(const struct be *be)
{
	return (be->cached & FREGS) | be->x_caller_saved;   /* every xmm register is */
}

/*
 * Division inline: x86 div/idiv trap where RISC-V defines results
 * (unprivileged ISA 7.2): by zero, the quotient is all ones and the
 * remainder the dividend; the most negative number by -1 overflows to
 * itself with remainder 0.  Both go round the instruction.
 */
void be_divrem(struct be *be, bool sign, bool rem, bool w32, unsigned rd, unsigned rs1,
	       unsigned rs2)
{
	struct x86_buf *b = &be->b;
	bool w = !w32;
	x64_ld_x(be, RAX, rs1);
	x64_ld_x(be, RCX, rs2);
	x_test_rr(b, w, RCX, RCX);
	uint8_t *by_zero = x_jcc32(b, CC_E);
	uint8_t *overflow = NULL;
	if (sign) {
		x_alu_ri(b, w, ALU_CMP, RCX, -1);
		uint8_t *normal = x_jcc32(b, CC_NE);
		x_mov_imm(b, RDX, w32 ? 0x80000000u : 1ull << 63);
		x_alu_rr(b, w, ALU_CMP, RAX, RDX);
		overflow = x_jcc32(b, CC_E);
		x_patch(b, normal, b->p);
		x_rex(b, w, 0, 0, 0, false);   /* cqo / cdq */
		x_byte(b, 0x99);
	} else {
		x_mov_imm(b, RDX, 0);
	}
	x_f7(b, w, sign ? 7 : 6, RCX);     /* idiv / div rcx */
	if (rem)
		x_mov_rr(b, true, RAX, RDX);
	uint8_t *done = x_jmp32(b);
	x_patch(b, by_zero, b->p);         /* quotient all ones, remainder the dividend */
	if (!rem)
		x_mov_imm(b, RAX, UINT64_MAX);
	if (overflow) {
		uint8_t *done2 = x_jmp32(b);
		x_patch(b, overflow, b->p);    /* quotient the dividend, remainder 0 */
		if (rem)
			x_mov_imm(b, RAX, 0);
		x_patch(b, done2, b->p);
	}
	x_patch(b, done, b->p);
	dest_end(be, w32, rd, RAX);        /* *W results sign-extend from 32 bits */
}

/* rsi = x[rs1] + imm: the virtual address of a load or store. */
static void emit_va(struct be *be, unsigned rs1, int32_t imm)
{
	if (rs1 == 0) {
		x_mov_imm(&be->b, RSI, (uint64_t)(int64_t)imm);
		return;
	}
	if (be->host[rs1] >= 0) {
		widen(be, rs1);
		x_lea(&be->b, RSI, (unsigned)be->host[rs1], imm);
		return;
	}
	x_load(&be->b, true, RSI, RBX, XOFF(rs1));
	if (imm)
		x_alu_ri(&be->b, true, ALU_ADD, RSI, imm);
}

/* The soft-TLB probe for the va in register va: falls through on a hit
 * with rax pointing at the entry; the returned jump goes to the miss. */
static uint8_t *emit_tlb(struct be *be, bool store, unsigned size, unsigned va)
{
	struct x86_buf *b = &be->b;
	/* The entry's byte offset straight from the page number's low bits
	 * (they lie below bit 32): one shift and one mask, no scaling. */
	unsigned entry_shift = store ? 5 : 4;   /* log2 sizeof the entry */
	x_mov_rr(b, false, RAX, va);
	x_shift_ri(b, false, SH_SHR, RAX, PAGE_SHIFT - entry_shift);
	x_alu_ri(b, false, ALU_AND, RAX, (int32_t)(DTLB_MASK << entry_shift));
	x_alu_rm(b, true, ALU_ADD, RAX, RBX, store ? HOFF(stlb) : HOFF(ltlb));
	/* The page of the access's last byte against the entry of its first:
	 * equal only for an access within one page, aligned or not (an entry
	 * of the next page never sits in this slot). */
	if (size == 1)
		x_mov_rr(b, true, RCX, va);
	else
		x_lea(b, RCX, va, (int32_t)(size - 1));
	x_alu_ri(b, true, ALU_AND, RCX, (int32_t)-(int32_t)PAGE_SIZE);
	x_alu_rm(b, true, ALU_CMP, RCX, RAX, 0);
	return x_jcc32(b, CC_NE);
}

/* A new memory slot (hart_internal.h) for the access being translated, and
 * its check: the va's page (with the bits that make it misaligned) and the
 * current epoch against the slot's tag.  Falls through on a hit; a miss
 * goes to an SL_SLOT path that probes the TLB, refills the slot and comes
 * back to `resume`, which the caller sets where the hit's code begins. */
static struct slow *emit_slot_check(struct be *be, bool store, unsigned size, unsigned va)
{
	struct x86_buf *b = &be->b;
	unsigned i = (be->j->next_mslot[store]++ & (MSLOTS / 2 - 1)) + (store ? MSLOTS / 2 : 0);
	int32_t slot = HOFF(mslot) + (int32_t)(i * sizeof(struct mslot));
	x_mov_rr(b, true, RCX, va);
	x_alu_ri(b, true, ALU_AND, RCX, (int32_t)-(int32_t)PAGE_SIZE | (int32_t)(size - 1));
	x_alu_rm(b, true, ALU_OR, RCX, RBX, HOFF(mslot_epoch));
	x_alu_rm(b, true, ALU_CMP, RCX, RBX, slot);
	struct slow *s = x64_add_slow(be, SL_SLOT, x_jcc32(b, CC_NE));
	s->slot = slot;
	s->store = store;
	s->size = size;
	s->va = va;
	return s;
}

/* A slot miss: the TLB probe, and on its hit the entry copied into the slot
 * under the current epoch; then the access again, through the slot. */
static void emit_slot_refill(struct be *be, struct slow *s)
{
	struct x86_buf *b = &be->b;
	s->tlb_miss->jcc = emit_tlb(be, s->store, s->size, s->va);
	x_load(b, true, RCX, RAX, (int32_t)offsetof(struct tlb_entry, tag));
	x_alu_rm(b, true, ALU_OR, RCX, RBX, HOFF(mslot_epoch));
	x_store(b, true, RBX, s->slot + (int32_t)offsetof(struct mslot, tag), RCX);
	x_load(b, true, RCX, RAX, (int32_t)offsetof(struct tlb_entry, addend));
	x_store(b, true, RBX, s->slot + (int32_t)offsetof(struct mslot, addend), RCX);
	if (s->store) {
		x_load(b, true, RCX, RAX, (int32_t)offsetof(struct tlb_store_entry, watch));
		x_store(b, true, RBX, s->slot + (int32_t)offsetof(struct mslot, watch), RCX);
	}
	x_patch(b, x_jmp32(b), s->resume);
}

/* FS = Off makes F/D loads and stores illegal (Dirty, once checked, is not Off). */
static void emit_fs_check(struct be *be)
{
	struct x86_buf *b = &be->b;
	if (be->fp_ok & FPV_DIRTY)
		return;
	x_load(b, true, RAX, RBX, HOFF(mstatus));
	x_rex(b, false, 0, 0, RAX, false);
	x_byte(b, 0xa9);   /* test eax, imm32 */
	x_u32(b, (uint32_t)MSTATUS_FS);
	x64_add_slow(be, SL_INTERP, x_jcc32(b, CC_E));
}

static void emit_load(struct be *be, unsigned size, bool sign, unsigned reg, unsigned rs1,
		      int32_t imm, bool fp)
{
	struct x86_buf *b = &be->b;
	/* FLD into a cached f register: straight from memory into its xmm
	 * register (no trip through rax, which the load's latency would pay). */
	int x = fp && size == 8 ? x64_freg_for_write(be, reg) : -1;
	/* An x register cached in a host register is loaded into it directly
	 * (the slow path puts the value there too). */
	unsigned dst = !fp && reg != 0 && reg < 32 && be->host[reg] >= 0 ?
		(unsigned)be->host[reg] : RAX;
	/* A load from x[rs1] itself (pointer chasing: `ld a5, 0(a5)`) reads
	 * through rs1's own host register: no copy into rsi on the chain of
	 * dependent loads (the slow path makes it). */
	unsigned va = RSI;
	if (x < 0 && imm == 0 && rs1 != 0 && be->host[rs1] >= 0) {
		widen(be, rs1);
		va = (unsigned)be->host[rs1];
	} else {
		emit_va(be, rs1, imm);
	}
	struct slow *slot = emit_slot_check(be, false, size, va);
	slot->resume = b->p;
	int32_t addend = slot->slot + (int32_t)offsetof(struct mslot, addend);
	if (x >= 0) {
		x_alu_rm(b, true, ALU_ADD, RSI, RBX, addend);
		x_sse_rm(b, PFX_SD, false, SSE_LOAD, (unsigned)x, RSI, 0);
	} else {
		x_load(b, true, RCX, RBX, addend);
		x_load_ext_idx(b, size, sign, dst, va, RCX);
	}
	struct slow *s = x64_add_slow(be, SL_LOAD, NULL);
	slot->tlb_miss = s;
	s->va = va;
	s->resume = b->p;
	s->size = size;
	s->sign = sign;
	s->reg = reg;
	s->fp = fp;
	s->xmm = x;
	s->dst = dst;
	if (fp) {
		if (size == 4) {   /* NaN-box */
			x_mov_imm(b, RCX, 0xffffffff00000000ull);
			x_alu_rr(b, true, ALU_OR, RAX, RCX);
		}
		if (x >= 0) {
			be->dirty |= FREG_BIT(reg);
		} else {
			x_store(b, true, RBX, FOFF(reg), RAX);
			x64_freg_from_mem(be, reg);
		}
		if (!(be->fp_ok & FPV_DIRTY))
			x_alu_mi(b, true, ALU_OR, RBX, HOFF(mstatus), (int32_t)MSTATUS_FS);
		be->fp_ok |= FPV_DIRTY;   /* on every path that goes on */
	} else {
		x64_st_x(be, reg, dst);
		set_sx(be, reg, size < 4 || (size == 4 && sign));
	}
}

void be_load(struct be *be, unsigned size, bool sign, unsigned rd, unsigned rs1, int32_t imm)
{
	emit_load(be, size, sign, rd, rs1, imm, false);
}

void be_fload(struct be *be, unsigned size, unsigned frd, unsigned rs1, int32_t imm)
{
	emit_fs_check(be);
	emit_load(be, size, false, frd, rs1, imm, true);
}

/* After a store of `size` bytes from host address rsi through `slot`:
 * the page's watch byte (code or dirty logging); store_hit_code, out of
 * line, dispatches. */
static void emit_watch_check(struct be *be, const struct slow *slot, unsigned size)
{
	struct x86_buf *b = &be->b;
	x_load(b, true, RCX, RBX, slot->slot + (int32_t)offsetof(struct mslot, watch));
	x_byte(b, 0xf6);                           /* test byte [rcx], BUS_WATCH_ANY */
	x_mem(b, 0, RCX, 0);
	x_byte(b, BUS_WATCH_ANY);
	struct slow *code = x64_add_slow(be, SL_CODE, x_jcc32(b, CC_NE));
	code->size = size;
	code->resume = b->p;
}

static void emit_store(struct be *be, unsigned size, unsigned reg, unsigned rs1, int32_t imm,
		       bool fp)
{
	struct x86_buf *b = &be->b;
	/* A cached f register is stored straight from its xmm register; the
	 * slow path takes the value from there too (s->xmm). */
	int x = fp ? be->fhost[reg] : -1;
	/* A cached x register is stored from its own host register: sb, sh
	 * and sw take its low bytes as they are (narrow or not); sd needs it
	 * extended, done here, before the TLB miss's jump, so that every path
	 * sees the register in the same state. */
	int src = !fp && reg != 0 && be->host[reg] >= 0 ? be->host[reg] : -1;
	if (src >= 0 && size == 8)
		widen(be, reg);
	emit_va(be, rs1, imm);
	if (be->j->verify) {   /* the slow path logs what it overwrites */
		struct slow *s = x64_add_slow(be, SL_STORE, x_jmp32(b));
		s->resume = b->p;
		s->size = size;
		s->reg = reg;
		s->fp = fp;
		s->xmm = x;
		return;
	}
	struct slow *slot = emit_slot_check(be, true, size, RSI);
	slot->resume = b->p;
	x_alu_rm(b, true, ALU_ADD, RSI, RBX, slot->slot + (int32_t)offsetof(struct mslot, addend));
	if (x >= 0) {
		x_sse_rm(b, size == 8 ? PFX_SD : PFX_SS, false, SSE_STORE, (unsigned)x, RSI, 0);
	} else if (src >= 0) {
		x_store_sz(b, size, RSI, 0, (unsigned)src);
	} else {
		if (fp)
			x_load(b, true, RDX, RBX, FOFF(reg));
		else
			x64_ld_x(be, RDX, reg);
		x_store_sz(b, size, RSI, 0, RDX);
	}
	emit_watch_check(be, slot, size);
	struct slow *s = x64_add_slow(be, SL_STORE, NULL);
	slot->tlb_miss = s;
	s->resume = b->p;
	s->size = size;
	s->reg = reg;
	s->fp = fp;
	s->xmm = x;
}

void be_store(struct be *be, unsigned size, unsigned rs2, unsigned rs1, int32_t imm)
{
	emit_store(be, size, rs2, rs1, imm, false);
}

/* A run's check (be_store_group, be_load_group): the bytes [lo, end) off
 * base register rs1 lie in one page and the lowest is aligned to `align`
 * (else one_by_one[] jump), and a slot maps that page; rsi = the host
 * address of the lowest byte after it. */
static struct slow *emit_run_check(struct be *be, unsigned rs1, int32_t lo, int32_t end,
				   unsigned align, bool store, uint8_t *one_by_one[2])
{
	struct x86_buf *b = &be->b;
	emit_va(be, rs1, lo);   /* rsi = the lowest byte's address */
	x_lea(b, RCX, RSI, end - lo - 1);
	x_alu_rr(b, true, ALU_XOR, RCX, RSI);
	x_shift_ri(b, true, SH_SHR, RCX, PAGE_SHIFT);
	one_by_one[0] = x_jcc32(b, CC_NE);   /* the run crosses a page end */
	x_test_ri32(b, RSI, align - 1);
	one_by_one[1] = x_jcc32(b, CC_NE);   /* misaligned: each access decides */
	struct slow *slot = emit_slot_check(be, store, 1, RSI);
	slot->resume = b->p;
	x_alu_rm(b, true, ALU_ADD, RSI, RBX, slot->slot + (int32_t)offsetof(struct mslot, addend));
	return slot;
}

static unsigned store_size(unsigned op)
{
	return op == OP_SB ? 1 : op == OP_SH ? 2 : op == OP_SW ? 4 : 8;
}

/*
 * A run of stores through one base register (a function's prologue saving
 * registers to its frame, memset's unrolled loop): when the run lies in one
 * page, one slot check, one alignment test and one watch check after the
 * last store serve them all, and each store is one host instruction (the
 * kernel's memset was eleven per store).  Otherwise, or on a slot miss the
 * TLB cannot refill, the stores are made one by one, each with its own
 * checks and precise fault.  Both ways leave the registers' state the same:
 * stores change none, and the sources a doubleword store widens are
 * widened first, for both.
 */
void be_store_group(struct be *be, const struct insn *in, unsigned n, unsigned idx,
		    const uint64_t *pc)
{
	struct x86_buf *b = &be->b;
	int32_t lo = in[0].imm, end = in[0].imm;
	unsigned align = 1;
	for (unsigned k = 0; k < n; k++) {
		unsigned size = store_size(in[k].op);
		lo = in[k].imm < lo ? in[k].imm : lo;
		end = in[k].imm + (int32_t)size > end ? in[k].imm + (int32_t)size : end;
		align = size > align ? size : align;
		if (size == 8 && in[k].rs2 != 0 && in[k].rs2 < 32 && be->host[in[k].rs2] >= 0)
			widen(be, in[k].rs2);
	}
	be_insn(be, idx, pc[0], pc[0] + in[0].len);
	uint8_t *one_by_one[2];
	struct slow *slot = NULL;
	if (!be->j->verify) {
		slot = emit_run_check(be, in[0].rs1, lo, end, align, true, one_by_one);
		for (unsigned k = 0; k < n; k++) {
			unsigned src = in[k].rs2;
			int reg = src != 0 && src < 32 && be->host[src] >= 0 ? be->host[src] : -1;
			if (reg < 0) {
				x64_ld_x(be, RDX, src);
				reg = RDX;
			}
			x_store_sz(b, store_size(in[k].op), RSI, in[k].imm - lo, (unsigned)reg);
		}
		be_insn(be, idx + n - 1, pc[n - 1], pc[n - 1] + in[n - 1].len);
		emit_watch_check(be, slot, (unsigned)(end - lo));   /* rsi: the run's first byte */
	}
	uint8_t *done = slot ? x_jmp32(b) : NULL;
	if (slot) {
		x_patch(b, one_by_one[0], b->p);
		x_patch(b, one_by_one[1], b->p);
		struct slow *miss = x64_add_slow(be, SL_JUMP, NULL);
		miss->resume = b->p;
		slot->tlb_miss = miss;
	}
	for (unsigned k = 0; k < n; k++) {
		be_insn(be, idx + k, pc[k], pc[k] + in[k].len);
		emit_store(be, store_size(in[k].op), in[k].rs2, in[k].rs1, in[k].imm, false);
	}
	if (done)
		x_patch(b, done, b->p);
}

static unsigned load_size(unsigned op, bool *sign)
{
	*sign = op == OP_LB || op == OP_LH || op == OP_LW;
	return op == OP_LB || op == OP_LBU ? 1 : op == OP_LH || op == OP_LHU ? 2
	     : op == OP_LW || op == OP_LWU ? 4 : 8;
}

/*
 * A run of loads through one base register (a function's epilogue taking
 * its registers back from the frame): as be_store_group, one check for the
 * run in one page, each load then one host instruction.  The two ways
 * write the same registers in the same order, so they leave the same
 * register state; the second starts from the state the first started from.
 */
void be_load_group(struct be *be, const struct insn *in, unsigned n, unsigned idx,
		   const uint64_t *pc)
{
	struct x86_buf *b = &be->b;
	int32_t lo = in[0].imm, end = in[0].imm;
	unsigned align = 1;
	bool sign;
	for (unsigned k = 0; k < n; k++) {
		unsigned size = load_size(in[k].op, &sign);
		lo = in[k].imm < lo ? in[k].imm : lo;
		end = in[k].imm + (int32_t)size > end ? in[k].imm + (int32_t)size : end;
		align = size > align ? size : align;
	}
	be_insn(be, idx, pc[0], pc[0] + in[0].len);
	uint8_t *one_by_one[2], *done = NULL;
	uint64_t dirty0 = 0;
	uint32_t narrow0 = 0, sx0 = 0;
	struct slow *slot = NULL;
	if (!be->j->verify) {
		slot = emit_run_check(be, in[0].rs1, lo, end, align, false, one_by_one);
		dirty0 = be->dirty;
		narrow0 = be->narrow;
		sx0 = be->sx;
		for (unsigned k = 0; k < n; k++) {
			unsigned size = load_size(in[k].op, &sign), rd = in[k].rd;
			unsigned dst = rd != 0 && rd < 32 && be->host[rd] >= 0 ? (unsigned)be->host[rd] : RAX;
			x_load_ext(b, size, sign, dst, RSI, in[k].imm - lo);
			x64_st_x(be, rd, dst);
			set_sx(be, rd, size < 4 || (size == 4 && sign));
		}
		done = x_jmp32(b);
		x_patch(b, one_by_one[0], b->p);
		x_patch(b, one_by_one[1], b->p);
		struct slow *miss = x64_add_slow(be, SL_JUMP, NULL);
		miss->resume = b->p;
		slot->tlb_miss = miss;
	}
	uint64_t dirty1 = be->dirty;
	uint32_t narrow1 = be->narrow, sx1 = be->sx;
	if (slot) {
		be->dirty = dirty0;
		be->narrow = narrow0;
		be->sx = sx0;
	}
	for (unsigned k = 0; k < n; k++) {
		be_insn(be, idx + k, pc[k], pc[k] + in[k].len);
		unsigned size = load_size(in[k].op, &sign);
		emit_load(be, size, sign, in[k].rd, in[k].rs1, in[k].imm, false);
	}
	if (slot && (be->dirty != dirty1 || be->narrow != narrow1 || be->sx != sx1))
		be->failed = true;   /* the two ways disagree: no translation beats a wrong one */
	if (done)
		x_patch(b, done, b->p);
}

void be_fstore(struct be *be, unsigned size, unsigned frs2, unsigned rs1, int32_t imm)
{
	emit_fs_check(be);
	emit_store(be, size, frs2, rs1, imm, true);
}

/*
 * Linux's atomics (reference counts, bit operations, locks) are AMOs on
 * the kernel's hot paths.  Through the C helper each wrote every cached
 * register back and reloaded it; inline it is one locked instruction (x86's
 * lock prefix is a full fence: stronger than any aq/rl asks, and atomic
 * against the other vCPUs' helpers and inline AMOs alike, which use the
 * host's atomics on the same memory; SC compares values, so an AMO between
 * LR and SC fails it as a store would).  Spec: unprivileged ISA ch. 8.4.
 */
/* The SC's and LR's slow path, and the alignment test before their slot:
 * rsi = x[rs1] on return. */
static struct slow *lrsc_start(struct be *be, be_helper_fn helper, const struct insn *copy,
			       bool store, unsigned size, struct slow **slot)
{
	struct x86_buf *b = &be->b;
	emit_va(be, copy->rs1, 0);
	x_test_ri32(b, RSI, size - 1);
	uint8_t *misaligned = x_jcc32(b, CC_NE);
	*slot = emit_slot_check(be, store, size, RSI);
	(*slot)->resume = b->p;
	struct slow *slow = x64_add_slow(be, SL_AMO, NULL);
	slow->more_jcc[slow->nmore++] = misaligned;
	slow->fn = helper;
	slow->insn = copy;
	(*slot)->tlb_miss = slow;
	x_alu_rm(b, true, ALU_ADD, RSI, RBX, (*slot)->slot + (int32_t)offsetof(struct mslot, addend));
	return slow;
}

/*
 * LR and SC inline (Linux's cmpxchg loops): the reservation is the
 * interpreter's, the physical address and the value LR read, so either may
 * take the other's LR; SC is a locked compare-and-exchange against that
 * value, as in hart_exec_atomic.
 */
static void emit_lrsc(struct be *be, be_helper_fn helper, const struct insn *copy, bool dw,
		      bool sc)
{
	struct x86_buf *b = &be->b;
	const struct bus *bus = be->j->h->bus;
	unsigned size = dw ? 8 : 4, rd = copy->rd;
	struct slow *slot;
	struct slow *slow = lrsc_start(be, helper, copy, sc, size, &slot);
	uint64_t host_to_pa = (uint64_t)(uintptr_t)bus->ram - bus->ram_base;
	if (!sc) {
		unsigned dst = rd != 0 && rd < 32 && be->host[rd] >= 0 ? (unsigned)be->host[rd] : RAX;
		x_load_ext(b, size, !dw, dst, RSI, 0);
		x_store(b, true, RBX, HOFF(resv_val), dst);
		x_mov_imm(b, RCX, host_to_pa);
		x_alu_rr(b, true, ALU_SUB, RSI, RCX);
		x_store(b, true, RBX, HOFF(resv_pa), RSI);
		x_byte(b, 0xc6);                      /* mov byte [rbx + resv_valid], 1 */
		x_mem(b, 0, RBX, HOFF(resv_valid));
		x_byte(b, 1);
		x64_st_x(be, rd, dst);
		set_sx(be, rd, !dw);
		slow->resume = b->p;
		return;
	}
	x64_ld_x(be, RDX, copy->rs2);
	x_mov_imm(b, RCX, host_to_pa);
	x_mov_rr(b, true, RAX, RSI);
	x_alu_rr(b, true, ALU_SUB, RAX, RCX);               /* rax = pa */
	x_alu_rm(b, true, ALU_CMP, RAX, RBX, HOFF(resv_pa));
	uint8_t *other = x_jcc32(b, CC_NE);
	x_byte(b, 0x80);                                    /* cmp byte [rbx + resv_valid], 0 */
	x_mem(b, 7, RBX, HOFF(resv_valid));
	x_byte(b, 0);
	uint8_t *none = x_jcc32(b, CC_E);
	x_load(b, dw, RAX, RBX, HOFF(resv_val));
	x_byte(b, 0xf0);                                    /* lock cmpxchg [rsi], rdx */
	x_rex(b, dw, RDX, 0, RSI, false);
	x_byte(b, 0x0f);
	x_byte(b, 0xb1);
	x_mem(b, RDX, RSI, 0);
	x_setcc(b, CC_NE, RAX);                             /* rax = failed */
	uint8_t *tail = x_jmp32(b);
	x_patch(b, other, b->p);
	x_patch(b, none, b->p);
	x_mov_imm(b, RAX, 1);
	x_patch(b, tail, b->p);
	x_byte(b, 0xc6);                                    /* mov byte [rbx + resv_valid], 0 */
	x_mem(b, 0, RBX, HOFF(resv_valid));
	x_byte(b, 0);
	x64_st_x(be, rd, RAX);
	set_sx(be, rd, true);
	x_test_rr(b, false, RAX, RAX);
	uint8_t *failed = x_jcc32(b, CC_NE);
	emit_watch_check(be, slot, size);   /* stored (rsi: the host address) */
	x_patch(b, failed, b->p);
	slow->resume = b->p;
}

bool be_amo(struct be *be, be_helper_fn helper, const struct insn *in)
{
	struct x86_buf *b = &be->b;
	bool dw = in->op >= OP_LR_D;
	unsigned op = dw ? in->op - (OP_LR_D - OP_LR_W) : in->op;
	bool no_rd = in->rd == 0 || in->rd == 32;
	if (!be->j->verify && (op == OP_LR_W || op == OP_SC_W)) {
		const struct insn *copy = x64_insn_copy(be, in);
		if (copy)
			emit_lrsc(be, helper, copy, dw, op == OP_SC_W);
		return true;
	}
	enum x86_alu alu = op == OP_AMOAND_W ? ALU_AND : op == OP_AMOOR_W ? ALU_OR : ALU_XOR;
	if (be->j->verify || !(op == OP_AMOSWAP_W || op == OP_AMOADD_W ||
			       (no_rd && (op == OP_AMOAND_W || op == OP_AMOOR_W || op == OP_AMOXOR_W))))
		return false;
	const struct insn *copy = x64_insn_copy(be, in);
	if (!copy)
		return true;   /* (the translation is abandoned) */
	unsigned size = dw ? 8 : 4;
	emit_va(be, in->rs1, 0);
	/* Misaligned: the helper raises the exception (the slot check would
	 * let a misaligned access within the page through). */
	x_test_ri32(b, RSI, size - 1);
	uint8_t *misaligned = x_jcc32(b, CC_NE);
	struct slow *slot = emit_slot_check(be, true, size, RSI);
	slot->resume = b->p;
	/* After the slot's path, which aims its TLB miss here when emitted. */
	struct slow *slow = x64_add_slow(be, SL_AMO, NULL);
	slow->more_jcc[slow->nmore++] = misaligned;
	slow->fn = helper;
	slow->insn = copy;
	slot->tlb_miss = slow;
	x_alu_rm(b, true, ALU_ADD, RSI, RBX, slot->slot + (int32_t)offsetof(struct mslot, addend));
	x64_ld_x(be, RDX, in->rs2);
	if (op == OP_AMOSWAP_W) {
		x_op_rm(b, dw, 0x87, RDX, RSI, 0);   /* xchg [rsi], rdx */
	} else if (op == OP_AMOADD_W && !no_rd) {
		x_byte(b, 0xf0);                      /* lock xadd [rsi], rdx */
		x_rex(b, dw, RDX, 0, RSI, false);
		x_byte(b, 0x0f);
		x_byte(b, 0xc1);
		x_mem(b, RDX, RSI, 0);
	} else {
		x_byte(b, 0xf0);                      /* lock add/and/or/xor [rsi], rdx */
		x_op_rm(b, dw, (op == OP_AMOADD_W ? ALU_ADD : alu) * 8 + 1, RDX, RSI, 0);
	}
	if (!no_rd) {
		if (!dw)
			x_movsxd(b, RDX, RDX);
		x64_st_x(be, in->rd, RDX);
		set_sx(be, in->rd, !dw);
	}
	emit_watch_check(be, slot, size);   /* (rsi: the host address) */
	slow->resume = b->p;
	return true;
}

const struct insn *x64_insn_copy(struct be *be, const struct insn *in)
{
	struct jit *j = be->j;
	if (j->ninsns == j->max_insns) {
		be->failed = true;
		return NULL;
	}
	struct insn *copy = &j->insns[j->ninsns++];
	*copy = *in;
	return copy;
}

void be_helper(struct be *be, be_helper_fn fn, const struct insn *in, bool touches_x)
{
	struct x86_buf *b = &be->b;
	const struct insn *copy = x64_insn_copy(be, in);
	if (!copy)
		return;
	/* A helper that reads and writes h->x gets everything written back
	 * before and reloaded after; one that does not only costs the
	 * caller-saved cache registers the call clobbers. */
	uint64_t kept = touches_x ? 0 : be->dirty & ~x64_caller_saved_mask(be);
	x64_write_back(be, be->dirty, touches_x ? 0 : 2);
	be->dirty = be->loop_dirty | kept;
	x_mov_rr(b, true, RDI, RBX);
	x_mov_imm(b, RSI, (uint64_t)(uintptr_t)copy);
	x64_call_abs(b, (const void *)fn);
	x_test_rr(b, false, RAX, RAX);
	struct slow *s = x64_add_slow(be, SL_HELPER, x_jcc32(b, CC_NE));
	s->touches_x = touches_x;
	s->resume = b->p;
	x64_reload(be, touches_x ? 0 : 2);
	if (touches_x)
		be->sx = 0;
}

void be_fence(struct be *be)
{
	x_byte(&be->b, 0x0f);   /* mfence */
	x_byte(&be->b, 0xae);
	x_byte(&be->b, 0xf0);
}

/*
 * With h->pc stored and still in rax: jump to its translation through the
 * jump cache (hart_internal.h), else through jit_lookup in C (which fills
 * the cache), else return to the dispatcher.
 */
static void emit_lookup_jump(struct be *be)
{
	struct x86_buf *b = &be->b;
	/* ((pc >> 1) & (entries - 1)) * 32, as (pc << 4) & ((entries - 1) << 5):
	 * the kernel's cache is larger than a space's. */
	x_mov_rr(b, true, RCX, RAX);
	x_shift_ri(b, true, SH_SHL, RCX, 4);
	x_alu_rm(b, true, ALU_AND, RCX, RBX, HOFF(jc_index_mask));
	x_alu_rm(b, true, ALU_ADD, RCX, RBX, HOFF(jc));
	x_alu_rm(b, true, ALU_CMP, RAX, RCX, (int32_t)offsetof(struct jcache_entry, vpc));
	uint8_t *miss = x_jcc32(b, CC_NE);
	x_load(b, true, R15, RCX, (int32_t)offsetof(struct jcache_entry, delta));
	x_byte(b, 0xff);                         /* jmp [rcx + code] */
	x_mem(b, 4, RCX, (int32_t)offsetof(struct jcache_entry, code));
	x_patch(b, miss, b->p);
	x_mov_rr(b, true, RDI, RBX);
	x64_call_abs(b, (const void *)jit_lookup);
	x_test_rr(b, true, RAX, RAX);
	uint8_t *none = x_jcc32(b, CC_E);
	x_load(b, true, R15, RBX, HOFF(jit_delta));
	x_jmp_r(b, RAX);
	x_patch(b, none, b->p);
	x_mov_imm(b, RAX, JIT_ST_EXIT);
	jmp_to(be, be->j->epilogue);
}

/* With `retired` instructions done, go on at ppc + delta (or, with no ppc,
 * at h->pc as a helper set it) through a block entry, whose checks hold
 * again, or to the dispatcher if an interrupt is takeable now. */
static void emit_go_on(struct be *be, const uint64_t *ppc, unsigned retired, uint64_t dirty)
{
	struct x86_buf *b = &be->b;
	x64_write_back(be, dirty, 0);
	unsigned left = be->tb->ninsn - retired;   /* taken off the budget at entry */
	if (left)
		x_alu_ri(b, true, ALU_ADD, R14, (int32_t)left);
	if (ppc)
		emit_set_pc(be, *ppc);
	else
		x_load(b, true, RAX, RBX, HOFF(pc));
	x_load(b, true, RCX, RBX, HOFF(mip));
	x_alu_rm(b, true, ALU_AND, RCX, RBX, HOFF(take_mask));
	uint8_t *irq = x_jcc32(b, CC_NE);
	emit_lookup_jump(be);
	x_patch(b, irq, b->p);
	x_mov_imm(b, RAX, JIT_ST_EXIT);
	jmp_to(be, be->j->epilogue);
}

/* After a helper that changed state this translation may have assumed (a
 * CSR write with side effects: interrupt enables, mstatus.FS, PMP): cheaper
 * than the dispatcher, as Linux toggles sstatus.SIE and SUM several times
 * per system call. */
static void emit_reenter(struct be *be, uint64_t ppc, unsigned retired, uint64_t dirty)
{
	emit_go_on(be, &ppc, retired, dirty);
}

void be_go_on_at_pc(struct be *be, unsigned ninsn)
{
	emit_go_on(be, NULL, ninsn, be->dirty);
}

/* The end of a path out of the block towards virtual PC ppc + delta. */
static void emit_goto(struct be *be, uint64_t target_ppc, bool chain)
{
	struct x86_buf *b = &be->b;
	struct jit *j = be->j;
	struct jit_tb *tb = be->tb;
	if (be->loops && target_ppc == tb->ppc) {
		emit_loop_back(be, be->body, 0, tb->ppc);
		return;
	}
	if (be->label && target_ppc == be->label_ppc) {
		emit_loop_back(be, be->label, be->label_idx, be->label_ppc);
		return;
	}
	x64_write_back(be, be->dirty, 0);
	if (chain && tb->nexits < JIT_MAX_EXITS) {
		/* h->pc is not stored on a linked path: nothing reads it before
		 * code leaves for the dispatcher, and every way out stores it
		 * (the tail below, each block's own entry-check failure). */
		struct jit_exit *e = &tb->exit[tb->nexits++];
		e->target_ppc = target_ppc;
		e->from = tb;
		uint8_t *rel = x_jmp32(b);
		e->jump_rel32 = rel;
		e->tail = b->p;
		x_patch(b, rel, b->p);   /* unlinked: falls into the tail below */
		x_mov_imm(b, RAX, (uint64_t)(uintptr_t)e);
		jmp_to(be, j->chain_tail);
		return;
	}
	/* Another page or an unknown target: the jump cache, else C. */
	emit_set_pc(be, target_ppc);
	emit_lookup_jump(be);
}

static const enum x86_cc cond_cc[] = {
	[BE_EQ] = CC_E, [BE_NE] = CC_NE, [BE_LT] = CC_L, [BE_GE] = CC_GE,
	[BE_LTU] = CC_B, [BE_GEU] = CC_AE,
};

/* Flags for x[rs1] against x[rs2] (or zero). */
static void emit_branch_compare(struct be *be, unsigned rs1, unsigned rs2)
{
	unsigned a = x64_xreg(be, rs1, RAX);
	if (rs2 == 0)
		x_test_rr(&be->b, true, a, a);
	else
		alu_x(be, true, ALU_CMP, a, rs2);
}

void be_branch(struct be *be, enum be_cond c, unsigned rs1, unsigned rs2, uint64_t taken_ppc,
	       uint64_t fall_ppc, bool taken_chain, bool fall_chain)
{
	struct x86_buf *b = &be->b;
	emit_branch_compare(be, rs1, rs2);
	uint8_t *taken = x_jcc32(b, cond_cc[c]);
	/* each edge writes back what is dirty here */
	uint64_t dirty = be->dirty;
	uint32_t narrow = be->narrow, sx = be->sx;
	emit_goto(be, fall_ppc, fall_chain);
	x_patch(b, taken, b->p);
	be->dirty = dirty;
	be->narrow = narrow;
	be->sx = sx;
	emit_goto(be, taken_ppc, taken_chain);
}

void be_branch_out(struct be *be, enum be_cond c, unsigned rs1, unsigned rs2, uint64_t out_ppc,
		   bool out_when_taken, bool chain)
{
	struct x86_buf *b = &be->b;
	emit_branch_compare(be, rs1, rs2);
	/* x86 condition codes come in pairs that differ in bit 0. */
	enum x86_cc stay = out_when_taken ? cond_cc[c] ^ 1 : cond_cc[c];
	uint8_t *on = x_jcc32(b, stay);
	uint64_t dirty = be->dirty;
	uint32_t narrow = be->narrow, sx = be->sx;
	/* The rest of the trace was taken off the budget at its entry: give
	 * it back, and the ways out (a link, the jump cache, the loop back)
	 * count as from the end of a block. */
	unsigned left = be->tb->ninsn - (be->idx + 1);
	if (left)
		x_alu_ri(b, true, ALU_ADD, R14, (int32_t)left);
	emit_goto(be, out_ppc, chain);
	x_patch(b, on, b->p);
	be->dirty = dirty;
	be->narrow = narrow;
	be->sx = sx;
}

void be_jump(struct be *be, uint64_t target_ppc, bool chain)
{
	emit_goto(be, target_ppc, chain);
}

void be_jump_reg(struct be *be, unsigned rs1, int32_t imm, unsigned rd, uint64_t link_ppc)
{
	struct x86_buf *b = &be->b;
	x64_ld_x(be, RAX, rs1);
	if (imm)
		x_alu_ri(b, true, ALU_ADD, RAX, imm);
	x_alu_ri(b, true, ALU_AND, RAX, -2);
	x_store(b, true, RBX, HOFF(pc), RAX);
	if (rd != 0 && rd != 32) {
		x_mov_imm(b, RCX, link_ppc);
		x_alu_rr(b, true, ALU_ADD, RCX, R15);
		x64_st_x(be, rd, RCX);
	}
	x64_write_back(be, be->dirty, 0);
	emit_lookup_jump(be);
}

/* rsi = the physical address of the page at (head-relative) ppc page_ppc,
 * from the fetch TLB.  A miss (a new address space's empty TLB, mostly)
 * walks the page tables in C and probes again; only a page the walk cannot
 * put in the TLB leaves for the interpreter at this instruction. */
static void emit_fetch_page(struct be *be, uint64_t page_ppc)
{
	struct x86_buf *b = &be->b;
	uint8_t *again = b->p;
	x_mov_imm(b, RSI, page_ppc);
	x_alu_rr(b, true, ALU_ADD, RSI, R15);   /* the virtual page */
	x_mov_rr(b, false, RAX, RSI);
	x_shift_ri(b, false, SH_SHR, RAX, PAGE_SHIFT - 4);   /* 16-byte entries */
	x_alu_ri(b, false, ALU_AND, RAX, (int32_t)(TLB_MASK << 4));
	x_alu_rm(b, true, ALU_ADD, RAX, RBX, HOFF(itlb));
	x_alu_rm(b, true, ALU_CMP, RSI, RAX, (int32_t)offsetof(struct tlb_entry, tag));
	x64_add_slow(be, SL_FETCH, x_jcc32(b, CC_NE))->resume = again;
	x_alu_rm(b, true, ALU_ADD, RSI, RAX, (int32_t)offsetof(struct tlb_entry, addend));
}

/* After a guard's compare: unless cc holds, the guest code translated was
 * rewritten: this translation is dropped (jit_run) and made again, and the
 * interpreter goes on from this instruction. */
static void emit_stale_unless(struct be *be, enum x86_cc cc)
{
	struct x86_buf *b = &be->b;
	uint8_t *same = x_jcc32(b, cc);
	x_mov_imm(b, RAX, (uint64_t)(uintptr_t)be->tb);
	x_store(b, true, RBX, HOFF(jit_stale), RAX);
	x64_add_slow(be, SL_INTERP, x_jmp32(b));
	x_patch(b, same, b->p);
}

void be_cross_guard(struct be *be, uint64_t next_page_ppc, uint16_t upper)
{
	struct x86_buf *b = &be->b;
	const struct bus *bus = be->j->h->bus;
	/* The next page's physical address, then its host one. */
	emit_fetch_page(be, next_page_ppc);
	x_mov_imm(b, RCX, (uint64_t)(uintptr_t)bus->ram - bus->ram_base);
	x_alu_rr(b, true, ALU_ADD, RSI, RCX);
	x_load_ext(b, 2, false, RAX, RSI, 0);
	x_alu_ri(b, false, ALU_CMP, RAX, upper);
	emit_stale_unless(be, CC_E);
}

void be_page_guard(struct be *be, uint64_t at, uint64_t pa, const _Atomic uint32_t *gen_at,
		   uint32_t gen)
{
	struct x86_buf *b = &be->b;
	emit_fetch_page(be, at);   /* the physical page now: the one translated? */
	x_mov_imm(b, RCX, pa);
	x_alu_rr(b, true, ALU_CMP, RSI, RCX);
	x64_add_slow(be, SL_INTERP, x_jcc32(b, CC_NE));
	x_mov_imm(b, RAX, (uint64_t)(uintptr_t)gen_at);
	x_alu_mi(b, false, ALU_CMP, RAX, 0, (int32_t)gen);
	emit_stale_unless(be, CC_E);
}

void be_exit(struct be *be, uint64_t ppc, unsigned ninsn, enum jit_status st)
{
	x64_emit_exit(be, ppc, ninsn, st, be->dirty);
}

static void emit_slow(struct be *be, struct slow *s)
{
	struct x86_buf *b = &be->b;
	be->narrow = s->narrow;
	if (!s->jcc && !s->nmore)   /* nothing goes there (an F/D op all inline) */
		return;
	x_patch(b, s->jcc, b->p);
	for (unsigned i = 0; i < s->nmore; i++)
		x_patch(b, s->more_jcc[i], b->p);
	/* C calls clobber r8-r11: the dirty ones go to h->x first, and the
	 * cached caller-saved registers are reloaded from there after. */
	uint64_t spill = s->dirty & x64_caller_saved_mask(be);
	switch (s->kind) {
	case SL_LOAD: {
		if (s->va != RSI)   /* first: the va's register may be caller-saved */
			x_mov_rr(b, true, RSI, s->va);
		x64_write_back(be, spill, 0);
		x_mov_rr(b, true, RDI, RBX);
		x_mov_imm(b, RDX, s->size);
		x_lea(b, RCX, RBX, HOFF(jit_tmp));
		x64_call_abs(b, (const void *)mem_load_slow);
		x_test_rr(b, false, RAX, RAX);
		uint8_t *fault = x_jcc32(b, CC_NE);
		x64_reload(be, 2);
		if (s->xmm >= 0)
			x_sse_rm(b, PFX_SD, false, SSE_LOAD, (unsigned)s->xmm, RBX, HOFF(jit_tmp));
		else
			x_load_ext(b, s->size, s->sign, s->dst, RBX, HOFF(jit_tmp));
		x_patch(b, x_jmp32(b), s->resume);
		x_patch(b, fault, b->p);
		x64_emit_exit(be, s->ppc, s->idx, JIT_ST_TRAP, s->dirty & ~spill);
		break;
	}
	case SL_STORE: {
		if (s->xmm >= 0)
			x_sse_rr(b, PFX_66, true, SSE_MOVD_FROM_X, (unsigned)s->xmm, RCX);
		else if (s->fp)
			x_load(b, true, RCX, RBX, FOFF(s->reg));
		else
			x64_ld_x(be, RCX, s->reg);
		x64_write_back(be, spill, 0);
		x_mov_rr(b, true, RDI, RBX);
		x_mov_imm(b, RDX, s->size);
		x64_call_abs(b, (const void *)mem_store_slow);
		x_test_rr(b, false, RAX, RAX);
		uint8_t *fault = x_jcc32(b, CC_L);
		uint8_t *code = x_jcc32(b, CC_NE);   /* STORE_HIT_CODE */
		x64_reload(be, 2);
		x_patch(b, x_jmp32(b), s->resume);
		x_patch(b, fault, b->p);
		x64_emit_exit(be, s->ppc, s->idx, JIT_ST_TRAP, s->dirty & ~spill);
		x_patch(b, code, b->p);
		x64_emit_exit(be, s->next_ppc, s->idx + 1, JIT_ST_EXIT, s->dirty & ~spill);
		break;
	}
	case SL_CODE: {
		/* rsi = host address just written to a watched page.  Dirty
		 * logging only: on with the block.  Code: the block ends after
		 * the store (as in the interpreter), and the dispatcher fetches
		 * the next instruction anew, under the new code generation. */
		x64_write_back(be, spill, 0);
		x_mov_rr(b, true, RDI, RBX);
		x_mov_imm(b, RDX, s->size);
		x64_call_abs(b, (const void *)store_hit_code);
		x_test_rr(b, false, RAX, RAX);
		uint8_t *code = x_jcc32(b, CC_NE);
		x64_reload(be, 2);
		x_patch(b, x_jmp32(b), s->resume);
		x_patch(b, code, b->p);
		x64_emit_exit(be, s->next_ppc, s->idx + 1, JIT_ST_EXIT, s->dirty & ~spill);
		break;
	}
	case SL_HELPER: {
		/* Caller-saved registers were written back before the call
		 * (which clobbered them); callee-saved ones may still be dirty. */
		uint64_t live = s->dirty & ~x64_caller_saved_mask(be);
		x_alu_ri(b, false, ALU_CMP, RAX, 1);
		uint8_t *not_interp = x_jcc32(b, CC_NE);
		x64_emit_exit(be, s->ppc, s->idx, JIT_ST_INTERP, live);
		x_patch(b, not_interp, b->p);
		/* One that touches x wrote everything back before the call and
		 * may have written x[rd] since: no cached value is newer. */
		uint64_t after = s->touches_x ? 0 : live;
		x_alu_ri(b, false, ALU_CMP, RAX, 2);
		uint8_t *not_code = x_jcc32(b, CC_NE);
		/* Done, and it stored into code: leave after it. */
		x64_emit_exit(be, s->next_ppc, s->idx + 1, JIT_ST_EXIT, after);
		x_patch(b, not_code, b->p);
		x_alu_ri(b, false, ALU_CMP, RAX, 3);
		uint8_t *trap = x_jcc32(b, CC_NE);
		emit_reenter(be, s->next_ppc, s->idx + 1, after);
		x_patch(b, trap, b->p);
		x64_emit_exit(be, s->ppc, s->idx, JIT_ST_TRAP, live);
		break;
	}
	case SL_INTERP:
		x64_emit_exit(be, s->ppc, s->idx, JIT_ST_INTERP, s->dirty);
		break;
	case SL_JUMP:   /* a slot's TLB miss: the code that does without it */
		x_patch(b, x_jmp32(b), s->resume);
		break;
	case SL_AMO: {
		/* The whole instruction in C, on registers written back; the
		 * cached ones reloaded after (x[rd] included). */
		x64_write_back(be, s->dirty, 0);
		x_mov_rr(b, true, RDI, RBX);
		x_mov_imm(b, RSI, (uint64_t)(uintptr_t)s->insn);
		x64_call_abs(b, (const void *)s->fn);
		x_test_rr(b, false, RAX, RAX);
		uint8_t *not_done = x_jcc32(b, CC_NE);
		x64_reload(be, 0);
		x_patch(b, x_jmp32(b), s->resume);
		x_patch(b, not_done, b->p);
		x_alu_ri(b, false, ALU_CMP, RAX, 2);
		uint8_t *not_code = x_jcc32(b, CC_NE);
		x64_emit_exit(be, s->next_ppc, s->idx + 1, JIT_ST_EXIT, 0);   /* it wrote code */
		x_patch(b, not_code, b->p);
		x_alu_ri(b, false, ALU_CMP, RAX, 1);
		uint8_t *trap = x_jcc32(b, CC_NE);
		x64_emit_exit(be, s->ppc, s->idx, JIT_ST_INTERP, 0);
		x_patch(b, trap, b->p);
		x64_emit_exit(be, s->ppc, s->idx, JIT_ST_TRAP, 0);
		break;
	}
	case SL_FETCH: {   /* rsi: the virtual page the fetch TLB missed */
		x64_write_back(be, spill, 0);
		x_mov_rr(b, true, RDI, RBX);
		x64_call_abs(b, (const void *)jit_fetch_fill);
		x_test_rr(b, false, RAX, RAX);
		uint8_t *fail = x_jcc32(b, CC_NE);
		x64_reload(be, 2);
		x_patch(b, x_jmp32(b), s->resume);
		x_patch(b, fail, b->p);
		x64_emit_exit(be, s->ppc, s->idx, JIT_ST_INTERP, s->dirty & ~spill);
		break;
	}
	case SL_FP:
		x64_emit_fp_slow(be, s);
		break;
	case SL_FP_NAN:
		x64_emit_fp_nan(be, s);
		break;
	case SL_SLOT:
		emit_slot_refill(be, s);
		break;
	}
}

bool be_end(struct be *be)
{
	for (unsigned i = 0; i < be->nslow; i++)
		emit_slow(be, &be->slow[i]);
	/* Entry checks failed: nothing ran; the dispatcher needs this block's
	 * pc (and, out of budget, to know the block's count was taken off it). */
	x_patch(&be->b, be->check_jcc, be->b.p);
	emit_unretired(be, be->tb->ninsn);
	emit_set_pc(be, be->tb->ppc);
	jmp_to(be, be->j->check_fail);
	if (be->b.full || be->failed)
		return false;
	size_t n = (size_t)(be->b.p - be->start);
	code_cache_commit(&be->j->cc, be->start, n);
	be->tb->code_bytes = (uint32_t)n;
	be->j->stats.code_bytes += n;
	return true;
}

/* Mapped as the struct jit is (translate.c): most of it, the slow-path
 * records, is touched only as deep as a translation goes. */
struct be *be_state_new(void)
{
	return hart_zeroed_map(sizeof(struct be));
}

void be_state_free(struct be *be)
{
	if (be)
		hart_zeroed_unmap(be, sizeof(struct be));
}

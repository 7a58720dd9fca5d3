/*
 * The hot path: block lookup by PC and the interpreter over decoded blocks.
 *
 * RAM loads and stores hit the per-context software TLB inline (tag compare,
 * add, host access), aligned or not as long as they stay within one page;
 * a store then tests the page's watch byte (one load, one predictable
 * branch).  Everything else (TLB miss, MMIO, misaligned,
 * page-crossing) calls the cold mmu.c paths, which report an exception in
 * h->exc_cause/exc_tval; the interpreter then takes the trap with pc set to
 * the faulting instruction.  instret counts retired instructions only.
 * Interrupts are taken between blocks; CSR writes end their block so an
 * unmasked interrupt is seen at once.  A block ending in a branch or jump
 * within its page reaches its successor through the block's chain slots.
 * A dynamic translator would hang host code off struct block's `jit` and
 * be entered from run_block below, keeping this lookup and chaining.
 * Spec: unprivileged ISA ch. 2, 7, 8.
 */
#include "vmm/cpu/hart_internal.h"
#include "vmm/cpu/jit/jit.h"
#include "vmm/cpu/ops.h"

#include <string.h>

#define ALWAYS_INLINE inline __attribute__((always_inline))

static ALWAYS_INLINE int mem_ld(struct hart *h, uint64_t va, unsigned size, uint64_t *v)
{
	const struct tlb_entry *e = &h->ltlb[(va >> PAGE_SHIFT) & DTLB_MASK];
	if (likely(e->tag == ((va + size - 1) & PAGE_MASK))) {   /* within one page */
		const void *p = (const void *)(uintptr_t)(va + e->addend);
		switch (size) {
		case 1: *v = *(const uint8_t *)p; break;
		case 2: { uint16_t t; memcpy(&t, p, 2); *v = t; break; }
		case 4: { uint32_t t; memcpy(&t, p, 4); *v = t; break; }
		default: memcpy(v, p, 8); break;
		}
		return 0;
	}
	/* A separate slot for the slow path keeps *v in a register above. */
	uint64_t slow;
	int r = mem_load_slow(h, va, size, &slow);
	*v = slow;
	return r;
}

static ALWAYS_INLINE int mem_st(struct hart *h, uint64_t va, unsigned size, uint64_t v)
{
	const struct tlb_store_entry *e = &h->stlb[(va >> PAGE_SHIFT) & DTLB_MASK];
	if (likely(e->tag == ((va + size - 1) & PAGE_MASK))) {   /* within one page */
		uint8_t *p = (uint8_t *)(uintptr_t)(va + e->addend);
		memcpy(p, &v, size);
		if (unlikely(atomic_load_explicit(e->watch, memory_order_relaxed) & BUS_WATCH_ANY))
			return store_hit_code(h, p, size);
		return 0;
	}
	return mem_store_slow(h, va, size, v);
}

/* Host pointer for an aligned LR/SC/AMO, or NULL with the exception set. */
static ALWAYS_INLINE void *mem_atomic(struct hart *h, uint64_t va, unsigned size,
				      enum access acc, uint64_t *pa)
{
	unsigned i = (va >> PAGE_SHIFT) & DTLB_MASK;
	uint64_t tag = acc == ACC_STORE ? h->stlb[i].tag : h->ltlb[i].tag;
	uint64_t addend = acc == ACC_STORE ? h->stlb[i].addend : h->ltlb[i].addend;
	if (likely(tag == (va & (PAGE_MASK | (size - 1))))) {
		uint8_t *p = (uint8_t *)(uintptr_t)(va + addend);
		*pa = (uint64_t)(p - h->ram) + h->bus->ram_base;
		return p;
	}
	return mem_atomic_slow(h, va, size, acc, pa);
}

/*
 * After a branch to t within the same virtual page as the block's start
 * pc0: the cached successor if still valid, else remember where to record
 * the one the lookup will find.  Only branches and jumps chain: they change
 * neither translation nor privilege, so the page's mapping stays current.
 */
static ALWAYS_INLINE void chain_to(struct hart *h, struct block *b, uint64_t pc0, uint64_t t,
				   unsigned k, struct block **cand, struct block ***link)
{
	if ((t ^ pc0) & PAGE_MASK)
		return;
	uint8_t *count = k ? &b->fallen : &b->taken;
	*count += *count < UINT8_MAX;
	struct block *s = b->chain[k];
	if (s && s->ppc == b->ppc + (t - pc0) && s->epoch == h->epoch &&
	    s->gen == bus_code_gen(h->bus, s->pfn))
		*cand = s;
	else
		*link = &b->chain[k];
}

static ALWAYS_INLINE struct block *block_for_pc(struct hart *h, uint64_t pc)
{
	const struct tlb_entry *e = &h->itlb[(pc >> PAGE_SHIFT) & TLB_MASK];
	if (likely(e->tag == (pc & PAGE_MASK))) {
		uint64_t pa = pc + e->addend;
		struct block *b = btab_set(h, pa);
		b += b[1].ppc == pa;
		if (likely(b->ppc == pa && b->epoch == h->epoch &&
			   b->gen == bus_code_gen(h->bus, b->pfn)))
			return b;
	}
	return block_lookup_slow(h, pc);
}

static inline int64_t sx32(uint64_t v) { return (int64_t)(int32_t)v; }

static uint64_t amo_w(unsigned op, uint32_t *p, uint32_t v)
{
	int32_t old;
	switch (op) {
	case OP_AMOSWAP_W: old = (int32_t)__atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); break;
	case OP_AMOADD_W: old = (int32_t)__atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); break;
	case OP_AMOXOR_W: old = (int32_t)__atomic_fetch_xor(p, v, __ATOMIC_SEQ_CST); break;
	case OP_AMOAND_W: old = (int32_t)__atomic_fetch_and(p, v, __ATOMIC_SEQ_CST); break;
	case OP_AMOOR_W: old = (int32_t)__atomic_fetch_or(p, v, __ATOMIC_SEQ_CST); break;
	default: {
		uint32_t cur = __atomic_load_n(p, __ATOMIC_RELAXED), nv;
		do {
			switch (op) {
			case OP_AMOMIN_W: nv = (int32_t)cur < (int32_t)v ? cur : v; break;
			case OP_AMOMAX_W: nv = (int32_t)cur > (int32_t)v ? cur : v; break;
			case OP_AMOMINU_W: nv = cur < v ? cur : v; break;
			default: nv = cur > v ? cur : v; break;
			}
		} while (!__atomic_compare_exchange_n(p, &cur, nv, true, __ATOMIC_SEQ_CST,
						      __ATOMIC_RELAXED));
		old = (int32_t)cur;
	}
	}
	return (uint64_t)(int64_t)old;
}

static uint64_t amo_d(unsigned op, uint64_t *p, uint64_t v)
{
	switch (op) {
	case OP_AMOSWAP_D: return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
	case OP_AMOADD_D: return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
	case OP_AMOXOR_D: return __atomic_fetch_xor(p, v, __ATOMIC_SEQ_CST);
	case OP_AMOAND_D: return __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST);
	case OP_AMOOR_D: return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST);
	default: {
		uint64_t cur = __atomic_load_n(p, __ATOMIC_RELAXED), nv;
		do {
			switch (op) {
			case OP_AMOMIN_D: nv = (int64_t)cur < (int64_t)v ? cur : v; break;
			case OP_AMOMAX_D: nv = (int64_t)cur > (int64_t)v ? cur : v; break;
			case OP_AMOMINU_D: nv = cur < v ? cur : v; break;
			default: nv = cur > v ? cur : v; break;
			}
		} while (!__atomic_compare_exchange_n(p, &cur, nv, true, __ATOMIC_SEQ_CST,
						      __ATOMIC_RELAXED));
		return cur;
	}
	}
}

int hart_exec_atomic(struct hart *h, const struct insn *in)
{
	uint64_t *x = h->x;
	unsigned op = in->op;
	bool dw = op >= OP_LR_D;
	unsigned size = dw ? 8 : 4;
	unsigned wop = dw ? op - (OP_LR_D - OP_LR_W) : op;
	uint64_t va = x[in->rs1], pa;
	/* Debug triggers: LR is a load, SC a store, an AMO both. */
	if (unlikely(h->trig_armed & TRIG_ARMED_MEM) &&
	    trigger_check_mem(h, va, size, wop == OP_LR_W ? TRIG_LOAD : wop == OP_SC_W ? TRIG_STORE
						  : TRIG_LOAD | TRIG_STORE))
		return -1;
	void *p = mem_atomic(h, va, size, wop == OP_LR_W ? ACC_LOAD : ACC_STORE, &pa);
	if (!p)
		return -1;
	if (wop == OP_LR_W) {
		uint64_t v = dw ? __atomic_load_n((uint64_t *)p, __ATOMIC_SEQ_CST)
				: (uint64_t)sx32(__atomic_load_n((uint32_t *)p, __ATOMIC_SEQ_CST));
		h->resv_valid = true;
		h->resv_pa = pa;
		h->resv_val = v;
		x[in->rd] = v;
		return 0;
	}
	if (unlikely(h->vlog) && wop != OP_LR_W)
		verify_log_store(h, pa, size);   /* --jit verify: before any write */
	if (wop == OP_SC_W) {
		bool ok = false;
		if (h->resv_valid && h->resv_pa == pa) {
			if (dw) {
				uint64_t exp = h->resv_val;
				ok = __atomic_compare_exchange_n((uint64_t *)p, &exp, x[in->rs2], false,
								 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
			} else {
				uint32_t exp = (uint32_t)h->resv_val;
				ok = __atomic_compare_exchange_n((uint32_t *)p, &exp, (uint32_t)x[in->rs2],
								 false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
			}
		}
		h->resv_valid = false;
		x[in->rd] = !ok;
		if (ok && bus_page_watched(h->bus, (uint64_t)((uint8_t *)p - h->ram) >> PAGE_SHIFT))
			return store_hit_code(h, p, size);
		return 0;
	}
	uint64_t old = dw ? amo_d(op, p, x[in->rs2]) : amo_w(op, p, (uint32_t)x[in->rs2]);
	x[in->rd] = old;
	if (bus_page_watched(h->bus, (uint64_t)((uint8_t *)p - h->ram) >> PAGE_SHIFT))
		return store_hit_code(h, p, size);
	return 0;
}

COLD static void raise_illegal(struct hart *h, const struct insn *in, uint64_t ppc)
{
	uint64_t raw = 0;
	if (in->op == OP_ILLEGAL)
		raw = (uint32_t)in->imm;
	else if (bus_load(h->bus, ppc, in->len, &raw) != 0)
		raw = 0;
	h->exc_cause = EXC_ILLEGAL;
	h->exc_tval = raw;
}

static inline bool fs_off(const struct hart *h)
{
	return (h->mstatus & MSTATUS_FS) == 0;
}

/* A 32-bit instruction straddling a page end: fetch, decode, run alone. */
COLD static int exec_cross(struct hart *h, uint64_t pc, struct insn *tmp, uint32_t *raw)
{
	if (fetch_insn_slow(h, pc, raw) != 0)
		return -1;
	decode_insn(*raw, tmp);
	tmp->pcoff = 0;
	return 0;
}

static uint64_t mulhu64(uint64_t a, uint64_t b)
{
	return (uint64_t)(((unsigned __int128)a * b) >> 64);
}

static int64_t mulh64(int64_t a, int64_t b)
{
	return (int64_t)(((__int128)a * b) >> 64);
}

static int64_t mulhsu64(int64_t a, uint64_t b)
{
	return (int64_t)(((__int128)a * (__int128)(unsigned __int128)b) >> 64);
}

/*
 * The interpreter: looks up the block at pc, runs its instructions (at most
 * the remaining budget), and goes on to the next block without returning,
 * checking between blocks for attention requests, timer polls and
 * takeable interrupts.  Returns the steps used: instructions retired, plus
 * one per trapping instruction or interrupt taken.
 */
uint64_t hart_exec(struct hart *h, uint64_t budget)
{
	uint64_t *x = h->x;
	uint64_t done = 0, pc0, v;
	int r;
	struct block *b, *cand = NULL, **link = NULL;
	const struct insn *first, *in, *end;
	struct insn tmp;
	struct block one;
	uint32_t cross_raw = 0;
	if (unlikely(!h->itlb))   /* a new hart's first run (tables_defer) */
		hart_update_ctx(h);

next_block:
	if (unlikely(done >= budget))
		return done;
	if (unlikely(atomic_load_explicit(&h->attn, memory_order_relaxed) | h->local_stop)) {
		if (atomic_load_explicit(&h->attn, memory_order_relaxed) & ATTN_TIMER) {
			atomic_fetch_and(&h->attn, ~(uint32_t)ATTN_TIMER);
			hart_poll_timers(h);
		}
		/* Cleared before mip is read below, so a line raised after
		 * this sets it again. */
		if (atomic_load_explicit(&h->attn, memory_order_relaxed) & (ATTN_IRQ | ATTN_RECHECK))
			atomic_fetch_and(&h->attn, ~(uint32_t)(ATTN_IRQ | ATTN_RECHECK));
		if (h->local_stop || (atomic_load(&h->attn) & ATTN_EXIT))
			return done;
	}
	if (unlikely(--h->poll_countdown == 0))
		hart_poll_timers(h);
	if (unlikely(atomic_load_explicit(&h->mip, memory_order_relaxed) & h->take_mask)) {
		trap_interrupt(h);
		done++;
		cand = NULL;
		link = NULL;
		goto next_block;
	}
	if (cand) {
		b = cand;
	} else {
		b = block_for_pc(h, h->pc);
		if (unlikely(!b)) {   /* the fetch faulted and the trap is taken */
			done++;
			link = NULL;
			goto next_block;
		}
		if (link && b >= h->btab && b < h->btab + BTAB_SIZE)
			*link = b;
	}
	cand = NULL;
	link = NULL;
	/* Translated code runs only where it cannot miss an armed debug
	 * trigger (trigger.h) and the block fits the remaining budget. */
	if (h->jit && !h->trig_armed && b != &h->scratch && b->ninsn <= budget - done) {
		uint64_t n;
		if (!h->jit_skip && jit_run(h, b, budget - done, &n)) {
			done += n;
			goto next_block;
		}
		h->jit_skip = false;
	}
run_block:
	/* The successors last seen, fetched while this block runs: their
	 * checks at its end (chain_to) were a cache miss a block. */
	__builtin_prefetch(b->chain[0]);
	__builtin_prefetch(b->chain[1]);
	pc0 = h->pc;
	first = in = b->insn;
	end = in + (b->ninsn < budget - done ? b->ninsn : budget - done);

#define PC (pc0 + in->pcoff)
#define NEXT (PC + in->len)
#define RETIRE_JUMP(target) do { h->pc = (target); goto retire_end; } while (0)
	/* A store into code ends the block: the next instruction is fetched anew. */
#define STORE(size, value) do {                                             \
		r = mem_st(h, x[in->rs1] + (int64_t)in->imm, (size), (value)); \
		if (unlikely(r != 0)) {                                     \
			if (r < 0) goto trap;                               \
			RETIRE_JUMP(NEXT);                                  \
		}                                                           \
	} while (0)
#define BRANCH_TO(target) do {                                              \
		uint64_t t_ = (target);                                     \
		h->pc = t_;                                                 \
		chain_to(h, b, pc0, t_, t_ == NEXT, &cand, &link);          \
		goto retire_end;                                            \
	} while (0)
	for (; in < end; in++) {
		switch (in->op) {
		case OP_LUI: x[in->rd] = (uint64_t)(int64_t)in->imm; break;
		case OP_AUIPC: x[in->rd] = PC + (int64_t)in->imm; break;
		case OP_JAL: {
			uint64_t t = PC + (int64_t)in->imm;
			x[in->rd] = NEXT;
			BRANCH_TO(t);
		}
		case OP_JALR: {
			uint64_t t = (x[in->rs1] + (int64_t)in->imm) & ~1ull;
			x[in->rd] = NEXT;
			BRANCH_TO(t);
		}
		case OP_BEQ: BRANCH_TO(x[in->rs1] == x[in->rs2] ? PC + (int64_t)in->imm : NEXT);
		case OP_BNE: BRANCH_TO(x[in->rs1] != x[in->rs2] ? PC + (int64_t)in->imm : NEXT);
		case OP_BLT: BRANCH_TO((int64_t)x[in->rs1] < (int64_t)x[in->rs2] ? PC + (int64_t)in->imm : NEXT);
		case OP_BGE: BRANCH_TO((int64_t)x[in->rs1] >= (int64_t)x[in->rs2] ? PC + (int64_t)in->imm : NEXT);
		case OP_BLTU: BRANCH_TO(x[in->rs1] < x[in->rs2] ? PC + (int64_t)in->imm : NEXT);
		case OP_BGEU: BRANCH_TO(x[in->rs1] >= x[in->rs2] ? PC + (int64_t)in->imm : NEXT);

		case OP_LB:
			if (mem_ld(h, x[in->rs1] + (int64_t)in->imm, 1, &v)) goto trap;
			x[in->rd] = (uint64_t)(int64_t)(int8_t)v; break;
		case OP_LH:
			if (mem_ld(h, x[in->rs1] + (int64_t)in->imm, 2, &v)) goto trap;
			x[in->rd] = (uint64_t)(int64_t)(int16_t)v; break;
		case OP_LW:
			if (mem_ld(h, x[in->rs1] + (int64_t)in->imm, 4, &v)) goto trap;
			x[in->rd] = (uint64_t)sx32(v); break;
		case OP_LD:
			if (mem_ld(h, x[in->rs1] + (int64_t)in->imm, 8, &v)) goto trap;
			x[in->rd] = v; break;
		case OP_LBU:
			if (mem_ld(h, x[in->rs1] + (int64_t)in->imm, 1, &v)) goto trap;
			x[in->rd] = v; break;
		case OP_LHU:
			if (mem_ld(h, x[in->rs1] + (int64_t)in->imm, 2, &v)) goto trap;
			x[in->rd] = v; break;
		case OP_LWU:
			if (mem_ld(h, x[in->rs1] + (int64_t)in->imm, 4, &v)) goto trap;
			x[in->rd] = v; break;
		case OP_SB:
			STORE(1, x[in->rs2]);
			break;
		case OP_SH:
			STORE(2, x[in->rs2]);
			break;
		case OP_SW:
			STORE(4, x[in->rs2]);
			break;
		case OP_SD:
			STORE(8, x[in->rs2]);
			break;

		case OP_ADDI: x[in->rd] = x[in->rs1] + (int64_t)in->imm; break;
		case OP_SLTI: x[in->rd] = (int64_t)x[in->rs1] < (int64_t)in->imm; break;
		case OP_SLTIU: x[in->rd] = x[in->rs1] < (uint64_t)(int64_t)in->imm; break;
		case OP_XORI: x[in->rd] = x[in->rs1] ^ (uint64_t)(int64_t)in->imm; break;
		case OP_ORI: x[in->rd] = x[in->rs1] | (uint64_t)(int64_t)in->imm; break;
		case OP_ANDI: x[in->rd] = x[in->rs1] & (uint64_t)(int64_t)in->imm; break;
		case OP_SLLI: x[in->rd] = x[in->rs1] << in->imm; break;
		case OP_SRLI: x[in->rd] = x[in->rs1] >> in->imm; break;
		case OP_SRAI: x[in->rd] = (uint64_t)((int64_t)x[in->rs1] >> in->imm); break;
		case OP_ADD: x[in->rd] = x[in->rs1] + x[in->rs2]; break;
		case OP_SUB: x[in->rd] = x[in->rs1] - x[in->rs2]; break;
		case OP_SLL: x[in->rd] = x[in->rs1] << (x[in->rs2] & 63); break;
		case OP_SLT: x[in->rd] = (int64_t)x[in->rs1] < (int64_t)x[in->rs2]; break;
		case OP_SLTU: x[in->rd] = x[in->rs1] < x[in->rs2]; break;
		case OP_XOR: x[in->rd] = x[in->rs1] ^ x[in->rs2]; break;
		case OP_SRL: x[in->rd] = x[in->rs1] >> (x[in->rs2] & 63); break;
		case OP_SRA: x[in->rd] = (uint64_t)((int64_t)x[in->rs1] >> (x[in->rs2] & 63)); break;
		case OP_OR: x[in->rd] = x[in->rs1] | x[in->rs2]; break;
		case OP_AND: x[in->rd] = x[in->rs1] & x[in->rs2]; break;
		case OP_ADDIW: x[in->rd] = (uint64_t)sx32(x[in->rs1] + (int64_t)in->imm); break;
		case OP_SLLIW: x[in->rd] = (uint64_t)sx32((uint32_t)x[in->rs1] << in->imm); break;
		case OP_SRLIW: x[in->rd] = (uint64_t)sx32((uint32_t)x[in->rs1] >> in->imm); break;
		case OP_SRAIW: x[in->rd] = (uint64_t)(int64_t)((int32_t)x[in->rs1] >> in->imm); break;
		case OP_ADDW: x[in->rd] = (uint64_t)sx32(x[in->rs1] + x[in->rs2]); break;
		case OP_SUBW: x[in->rd] = (uint64_t)sx32(x[in->rs1] - x[in->rs2]); break;
		case OP_SLLW: x[in->rd] = (uint64_t)sx32((uint32_t)x[in->rs1] << (x[in->rs2] & 31)); break;
		case OP_SRLW: x[in->rd] = (uint64_t)sx32((uint32_t)x[in->rs1] >> (x[in->rs2] & 31)); break;
		case OP_SRAW: x[in->rd] = (uint64_t)(int64_t)((int32_t)x[in->rs1] >> (x[in->rs2] & 31)); break;

		case OP_MUL: x[in->rd] = x[in->rs1] * x[in->rs2]; break;
		case OP_MULH: x[in->rd] = (uint64_t)mulh64((int64_t)x[in->rs1], (int64_t)x[in->rs2]); break;
		case OP_MULHSU: x[in->rd] = (uint64_t)mulhsu64((int64_t)x[in->rs1], x[in->rs2]); break;
		case OP_MULHU: x[in->rd] = mulhu64(x[in->rs1], x[in->rs2]); break;
		case OP_DIV: {
			int64_t a = (int64_t)x[in->rs1], d = (int64_t)x[in->rs2];
			x[in->rd] = d == 0 ? UINT64_MAX
				  : (a == INT64_MIN && d == -1) ? (uint64_t)a : (uint64_t)(a / d);
			break;
		}
		case OP_DIVU: {
			uint64_t a = x[in->rs1], d = x[in->rs2];
			x[in->rd] = d == 0 ? UINT64_MAX : a / d;
			break;
		}
		case OP_REM: {
			int64_t a = (int64_t)x[in->rs1], d = (int64_t)x[in->rs2];
			x[in->rd] = d == 0 ? (uint64_t)a
				  : (a == INT64_MIN && d == -1) ? 0 : (uint64_t)(a % d);
			break;
		}
		case OP_REMU: {
			uint64_t a = x[in->rs1], d = x[in->rs2];
			x[in->rd] = d == 0 ? a : a % d;
			break;
		}
		case OP_MULW: x[in->rd] = (uint64_t)sx32(x[in->rs1] * x[in->rs2]); break;
		case OP_DIVW: {
			int32_t a = (int32_t)x[in->rs1], d = (int32_t)x[in->rs2];
			int32_t r = d == 0 ? -1 : (a == INT32_MIN && d == -1) ? a : a / d;
			x[in->rd] = (uint64_t)(int64_t)r;
			break;
		}
		case OP_DIVUW: {
			uint32_t a = (uint32_t)x[in->rs1], d = (uint32_t)x[in->rs2];
			x[in->rd] = (uint64_t)sx32(d == 0 ? UINT32_MAX : a / d);
			break;
		}
		case OP_REMW: {
			int32_t a = (int32_t)x[in->rs1], d = (int32_t)x[in->rs2];
			int32_t r = d == 0 ? a : (a == INT32_MIN && d == -1) ? 0 : a % d;
			x[in->rd] = (uint64_t)(int64_t)r;
			break;
		}
		case OP_REMUW: {
			uint32_t a = (uint32_t)x[in->rs1], d = (uint32_t)x[in->rs2];
			x[in->rd] = (uint64_t)sx32(d == 0 ? a : a % d);
			break;
		}

		case OP_LR_W: case OP_SC_W: case OP_AMOSWAP_W: case OP_AMOADD_W:
		case OP_AMOXOR_W: case OP_AMOAND_W: case OP_AMOOR_W: case OP_AMOMIN_W:
		case OP_AMOMAX_W: case OP_AMOMINU_W: case OP_AMOMAXU_W:
		case OP_LR_D: case OP_SC_D: case OP_AMOSWAP_D: case OP_AMOADD_D:
		case OP_AMOXOR_D: case OP_AMOAND_D: case OP_AMOOR_D: case OP_AMOMIN_D:
		case OP_AMOMAX_D: case OP_AMOMINU_D: case OP_AMOMAXU_D:
			if (unlikely((r = hart_exec_atomic(h, in)) != 0)) {
				if (r < 0) goto trap;
				RETIRE_JUMP(NEXT);
			}
			break;

		case OP_FENCE:
			atomic_thread_fence(memory_order_seq_cst);
			break;
		case OP_PAUSE:
			/* A guest spinning on a lock held by a vCPU the host has not
			 * scheduled: give the host CPU away (cold, spin-waits only). */
			hart_pause(h);
			break;
		case OP_FENCE_I:
			/* Nothing to drop: every write to a page holding code,
			 * by any hart's store or any device, has already bumped
			 * the page's code generation (bus.h), which every
			 * decoded block and translation is checked against, and
			 * this hart's own stores are seen at once.  (Linux issues
			 * FENCE.I at every exec; dropping every block and link
			 * there cost a fork/exec-heavy guest 900 relinks each.) */
			atomic_thread_fence(memory_order_seq_cst);
			RETIRE_JUMP(NEXT);

		case OP_FLW:
			if (fs_off(h)) goto illegal;
			if (mem_ld(h, x[in->rs1] + (int64_t)in->imm, 4, &v)) goto trap;
			h->f[in->rd] = 0xffffffff00000000ull | v;
			h->mstatus |= MSTATUS_FS;
			break;
		case OP_FLD:
			if (fs_off(h)) goto illegal;
			if (mem_ld(h, x[in->rs1] + (int64_t)in->imm, 8, &v)) goto trap;
			h->f[in->rd] = v;
			h->mstatus |= MSTATUS_FS;
			break;
		case OP_FSW:
			if (fs_off(h)) goto illegal;
			STORE(4, h->f[in->rs2]);
			break;
		case OP_FSD:
			if (fs_off(h)) goto illegal;
			STORE(8, h->f[in->rs2]);
			break;

		case OP_CSRRW: case OP_CSRRS: case OP_CSRRC:
		case OP_CSRRWI: case OP_CSRRSI: case OP_CSRRCI: {
			unsigned f3 = in->op - OP_CSRRW + 1 + (in->op >= OP_CSRRWI);
			uint64_t src = in->op >= OP_CSRRWI ? in->rs1 : x[in->rs1];
			bool write = (f3 & 3) == 1 || in->rs1 != 0;
			uint64_t old;
			h->instret += (uint64_t)(in - first);
			first = in;
			h->pc = PC;
			if (csr_access(h, (unsigned)in->imm, f3, src, write, &old))
				goto illegal;
			x[in->rd] = old;
			if (csr_is_fp((unsigned)in->imm))
				break;   /* not a block end (ops.h) */
			RETIRE_JUMP(NEXT);
		}

		case OP_ECALL:
			h->exc_cause = EXC_ECALL_U + (h->priv == PRV_M ? 3 : h->priv);
			h->exc_tval = 0;
			goto trap;
		case OP_EBREAK:
			h->exc_cause = EXC_BREAKPOINT;
			h->exc_tval = PC;
			goto trap;
		case OP_MRET:
			if (h->priv != PRV_M) goto illegal;
			h->instret += (uint64_t)(in - first) + 1;
			trap_mret(h);
			{ done += (uint64_t)(in - b->insn) + 1; goto next_block; }
		case OP_SRET:
			if (h->priv < PRV_S || (h->priv == PRV_S && (h->mstatus & MSTATUS_TSR)))
				goto illegal;
			h->instret += (uint64_t)(in - first) + 1;
			trap_sret(h);
			{ done += (uint64_t)(in - b->insn) + 1; goto next_block; }
		case OP_WFI:
			if (h->priv == PRV_U || (h->priv == PRV_S && (h->mstatus & MSTATUS_TW)))
				goto illegal;
			h->wfi = true;
			h->local_stop = 1;
			RETIRE_JUMP(NEXT);
		case OP_SFENCE_VMA:
			if (h->priv == PRV_U || (h->priv == PRV_S && (h->mstatus & MSTATUS_TVM)))
				goto illegal;
			if (in->rs1 != 0)
				tlb_flush_page(h, x[in->rs1]);
			else if (in->rs2 != 0)
				tlb_flush_asid(h, x[in->rs2]);
			else
				tlb_flush_all(h);
			RETIRE_JUMP(NEXT);

		case OP_CROSS:
			h->pc = PC;
			if (exec_cross(h, PC, &tmp, &cross_raw)) {
				h->instret += (uint64_t)(in - first);
				h->pc = pc0 + in->pcoff;
				trap_take(h, h->exc_cause, h->exc_tval);
				{ done += (uint64_t)(in - b->insn) + 1; goto next_block; }
			}
			/* Run the fetched instruction as a block of its own, here. */
			h->instret += (uint64_t)(in - first);
			done += (uint64_t)(in - b->insn);
			one = (struct block){ .insn = &tmp, .ninsn = 1, .ppc = b->ppc + in->pcoff };
			b = &one;
			goto run_block;

		case OP_ILLEGAL:
			goto illegal;

		default:
			if (in->op >= OP_FP_FIRST && in->op <= OP_FP_LAST) {
				if (fp_exec(h, in)) goto illegal;
				break;
			}
			goto illegal;
		}
	}
	/* Fell off the end: the block (or the step limit) ran out. */
	in--;
	h->pc = NEXT;
	in++;
	h->instret += (uint64_t)(in - first);
	{ done += (uint64_t)(in - b->insn); goto next_block; }

retire_end:
	h->instret += (uint64_t)(in - first) + 1;
	{ done += (uint64_t)(in - b->insn) + 1; goto next_block; }

illegal:
	if (b == &one) {   /* its halves may lie in unrelated physical pages */
		h->exc_cause = EXC_ILLEGAL;
		h->exc_tval = cross_raw;
	} else {
		raise_illegal(h, in, b->ppc + in->pcoff);
	}
trap:
	h->instret += (uint64_t)(in - first);
	h->pc = PC;
	trap_take(h, h->exc_cause, h->exc_tval);
	{ done += (uint64_t)(in - b->insn) + 1; goto next_block; }
#undef PC
#undef NEXT
#undef RETIRE_JUMP
#undef STORE
#undef BRANCH_TO
}


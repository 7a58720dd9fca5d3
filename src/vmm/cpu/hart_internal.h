/*
 * Internals of the RISC-V hart shared by the files of src/vmm/cpu/, plus the
 * small API the unit tests use (hart_step, register and CSR accessors).
 *
 * Structure: instructions are decoded once into blocks (decode.c) held in a
 * per-hart cache keyed by guest-physical PC; exec.c runs blocks (the hot
 * path, including the software-TLB fast path for RAM loads and stores);
 * mmu.c is the cold page walker / PMP / slow memory path; csr.c the CSR file;
 * trap.c trap entry, interrupts and xRET; hart.c the lifecycle, run loop,
 * WFI sleep and the thread-safe interrupt inputs; exec_fp.c the F/D ops.
 *
 * Invariants:
 *  - x[0] is always zero: decode redirects every write to x0 into x[32].
 *  - A TLB entry exists only for a page wholly in RAM whose PMP outcome is
 *    uniform and allowing for its (context, access type); store entries only
 *    once the PTE's D bit is set, load/fetch entries once A is set.
 *  - TLBs are split by context (U, S, S with SUM, M) so privilege, MPRV and
 *    SUM changes only switch pointers, and kept per address space (a
 *    "space", keyed by the whole satp value: mode, ASID and root), so a satp
 *    write switches to that space's TLB (or recycles the oldest) instead of
 *    flushing: entries of one ASID are never used under another.  A global
 *    SFENCE.VMA, MXR changes and PMP writes flush the current space and
 *    retire the others; SFENCE.VMA of one address drops that page from every
 *    space, unless it lies within a superpage some entry came from (then all
 *    go).  (SFENCE.VMA's ASID operand is not needed for correctness: it only
 *    narrows what may be flushed.)
 *  - A cached block is valid while its physical page's code generation
 *    (bus.h) and the hart's epoch (moved only when a snapshot is loaded)
 *    are unchanged, or once its bytes are re-checked against the hash taken
 *    at decode.  Every write to a code page bumps its generation, so FENCE.I
 *    has nothing to drop.
 * Spec: RISC-V unprivileged ISA 20191213, privileged ISA 1.12 (+ Sstc).
 */
#ifndef NIMBUS_VMM_CPU_HART_INTERNAL_H
#define NIMBUS_VMM_CPU_HART_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/clock.h"
#include "vmm/cpu/hart.h"
#include "vmm/cpu/trigger.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
/* Slow paths: kept out of line so the hot loop stays small. */
#define COLD __attribute__((cold, noinline))

enum { PRV_U = 0, PRV_S = 1, PRV_M = 3 };
enum access { ACC_FETCH = 0, ACC_LOAD = 1, ACC_STORE = 2 };

enum {
	EXC_INSN_MISALIGNED = 0, EXC_INSN_ACCESS = 1, EXC_ILLEGAL = 2,
	EXC_BREAKPOINT = 3, EXC_LOAD_MISALIGNED = 4, EXC_LOAD_ACCESS = 5,
	EXC_STORE_MISALIGNED = 6, EXC_STORE_ACCESS = 7, EXC_ECALL_U = 8,
	EXC_ECALL_S = 9, EXC_ECALL_M = 11, EXC_INSN_PAGE = 12,
	EXC_LOAD_PAGE = 13, EXC_STORE_PAGE = 15,
};
#define CAUSE_IRQ (1ull << 63)

#define MSTATUS_SIE (1ull << 1)
#define MSTATUS_MIE (1ull << 3)
#define MSTATUS_SPIE (1ull << 5)
#define MSTATUS_MPIE (1ull << 7)
#define MSTATUS_SPP (1ull << 8)
#define MSTATUS_MPP_SHIFT 11
#define MSTATUS_MPP (3ull << 11)
#define MSTATUS_FS_SHIFT 13
#define MSTATUS_FS (3ull << 13)
#define MSTATUS_MPRV (1ull << 17)
#define MSTATUS_SUM (1ull << 18)
#define MSTATUS_MXR (1ull << 19)
#define MSTATUS_TVM (1ull << 20)
#define MSTATUS_TW (1ull << 21)
#define MSTATUS_TSR (1ull << 22)
#define MSTATUS_UXL (3ull << 32)
#define MSTATUS_SXL (3ull << 34)
#define MSTATUS_SD (1ull << 63)
#define MSTATUS_XL64 ((2ull << 32) | (2ull << 34))

#define MENVCFG_FIOM 1ull
#define MENVCFG_STCE (1ull << 63)

/* Software-written SEIP (mip bit 9 written by M-mode) lives in this hidden
 * bit of the mip word so the external SEIP line and it can be OR-ed. */
#define MIP_SEIP_SW_BIT 41

#define PAGE_SHIFT 12
#define PAGE_SIZE 4096ull
#define PAGE_MASK (~(PAGE_SIZE - 1))

#define TLB_BITS 10
#define TLB_SIZE (1u << TLB_BITS)
#define TLB_MASK (TLB_SIZE - 1)
/* The load and store tables reach 16 MiB, the fetch one 4 MiB: a walk per
 * access went to 7-Zip's 4 MiB dictionary and its hash chains (a tenth of
 * its time in page walks with 4 MiB), where code rarely spans so much. */
#define DTLB_BITS 12
#define DTLB_SIZE (1u << DTLB_BITS)
#define DTLB_MASK (DTLB_SIZE - 1)
#define TLB_INVALID UINT64_MAX

/* fetch: pa = va + addend; load/store: host pointer = va + addend. */
struct tlb_entry {
	uint64_t tag;
	uint64_t addend;
};

enum { CTX_U, CTX_S, CTX_SSUM, CTX_M, NCTX };

#define TLB_SPACES 4
#define TLB_NO_SPACE UINT64_MAX   /* no satp has the reserved MODE 15 */

/*
 * The translator's jump cache: virtual PC -> translated code and its page
 * delta, per address space (as the TLB: a process switch selects another
 * instead of emptying the one in use) and fetch context, probed inline by
 * translated code at indirect and cross-page jumps (jit/jit.h).  An entry
 * is only as fresh as the fetch TLB and the block it came from, so it is
 * flushed with its space's fetch TLB (recycled space, SFENCE.VMA, PMP),
 * when code changes (this hart's stores, or bus->code_changes), and when the
 * translations are dropped.  Empty: vpc odd.  Flushing only marks a cache
 * stale (stale_jc); it is emptied when next selected (tables_select), as
 * the TLB's tables are (stale_tlb): most of a hart's several MiB of them is
 * never used, and emptying them at once wrote every page (1.4 ms of a
 * restore, in page faults).
 */
#define JCACHE_BITS 10   /* 256 missed 20% more in a fork/exec-heavy guest */
#define JCACHE_SIZE (1u << JCACHE_BITS)
/* Bits of the filter of virtual pages with jump-cache entries (SFENCE.VMA of
 * a page no entry came from skips the scan). */
#define JCACHE_FILTER_BITS 4096

/* Upper-half (kernel) and lower-half (user) pages take separate halves of
 * the filter: Linux flushes a user page at every page fault, and the
 * kernel's few hundred code pages would otherwise set enough bits to make
 * those flushes scan the cache. */
static inline unsigned jcache_filter_bit(uint64_t vpc)
{
	uint64_t page = vpc >> 12;
	unsigned half = JCACHE_FILTER_BITS / 2;
	return (unsigned)((page ^ (page >> 11) ^ (page >> 22)) & (half - 1)) |
	       (unsigned)(vpc >> 63) * half;
}
/* Fetch contexts (no SUM for fetches): U, S, M. */
#define JC_CTXS 3
static inline unsigned jcache_ctx(unsigned ictx) { return ictx == CTX_M ? 2 : ictx; }

struct jcache_entry {
	uint64_t vpc;
	const void *code;
	uint64_t delta;
	uint64_t pad;       /* 32 bytes: the index scales by a shift */
};

/*
 * The kernel's jump cache.  An S-mode fetch from a global mapping (PTE G,
 * priv. 4.3.1) translates the same in every address space, so its entry
 * need not die with a space's jump cache, which a fork/exec-heavy guest
 * recycles for each new process: the kernel's jumps were looked up afresh
 * in each (87% of jit_lookup's calls, each a cache miss in the by-PC
 * table).  In S mode under translation the jump cache translated code
 * probes is jcache_kernel, shared by every space, larger than a space's
 * (the kernel's jump targets outnumber a process's), and holding only
 * upper-half PCs whose mappings are global.  It is emptied with every jump
 * cache (jcache_flush), by SFENCE.VMA of a page it holds, and when satp's
 * MODE changes; never by a flush of one ASID, which leaves global
 * mappings alone.  Unlike a space's, its empty entry is zero (vpc 0 is
 * never an upper-half PC; entry 0, where PC 0 would look, holds the odd
 * vpc 1): emptying it writes only the 4 KiB pieces filled since (a bit
 * each in jkernel_dirty), and an idle guest's trim gives it back whole.
 */
#define JKERNEL_BITS 13
#define JKERNEL_SIZE (1u << JKERNEL_BITS)
#define JKERNEL_PIECE_ENTRIES (4096 / 32)   /* 64 pieces: jkernel_dirty's bits */
/* Bits of the filter of pages with kernel jump-cache entries. */
#define JKERNEL_FILTER_BITS 512

static inline unsigned jkernel_filter_bit(uint64_t vpc)
{
	uint64_t page = vpc >> 12;
	return (unsigned)((page ^ (page >> 9) ^ (page >> 18)) & (JKERNEL_FILTER_BITS - 1));
}

/* A store entry also points at its page's watch byte (bus.h), so a store's
 * code-page check is one load and one test. */
struct tlb_store_entry {
	uint64_t tag;
	uint64_t addend;
	const _Atomic uint8_t *watch;
	uint64_t pad;       /* 32 bytes: the index scales by a shift */
};

struct tlb_set {
	struct tlb_entry fetch[TLB_SIZE];
	struct tlb_entry load[DTLB_SIZE];
	struct tlb_store_entry store[DTLB_SIZE];
};
/* Bits of struct hart's tlb_clean words: a bit per 4 KiB piece of a set's
 * tables (fetch from bit 0, load from 8, store from 32). */
#define TLB_CLEAN_FETCH 0
#define TLB_CLEAN_LOAD 8
#define TLB_CLEAN_STORE 32
_Static_assert(TLB_SIZE * sizeof(struct tlb_entry) <= 8 * 4096 &&
	       DTLB_SIZE * sizeof(struct tlb_entry) <= 24 * 4096 &&
	       DTLB_SIZE * sizeof(struct tlb_store_entry) <= 32 * 4096, "clean bits fit");

/*
 * Memory slots of translated code (jit/): each load and store of a
 * translation has one, a copy of the TLB entry its last access hit, checked
 * against the access's page before the TLB is probed at all.  On a hit the
 * host address is one independent load away from the guest one, where the
 * TLB's index arithmetic and two dependent loads put ~10 cycles on every
 * pointer chase and table lookup.  A slot holds only in the epoch it was
 * filled in: its tag is the virtual page ORed with h->mslot_epoch (bits
 * 3-11, which the page of an aligned access never has: a misaligned one
 * never matches and takes the TLB).  Each set of data tables (a space's
 * context: U, S, S with SUM, M) has an epoch of its own, so a trap, its
 * return or a SUM toggle moves between epochs without emptying any slot;
 * a flush of a set's entries gives it a new one (mslots_select,
 * mslots_invalidate, mmu.c).
 * Slots are handed out round robin as translations are made: two hot
 * accesses sharing one only refill it in turn.  Loads take the first half,
 * stores the second: a slot filled from the load TLB (which maps read-only
 * pages too, and has no watch byte) must never serve a store.
 */
#define MSLOT_BITS 13
#define MSLOTS (1u << MSLOT_BITS)
#define MSLOT_EPOCH_STEP 8u      /* bit 3 */
#define MSLOT_EPOCH_END 4096u    /* bit 12: wrapped, every slot emptied */
#define SLOT_PAGE_BITS 4096u     /* a set's filter of the pages its slots may hold */
#define FETCH_PAGE_BITS 1024

struct mslot {
	uint64_t tag;                  /* vpage | epoch; 0 (any epoch is >= 8) empty */
	uint64_t addend;               /* host pointer = va + addend */
	const _Atomic uint8_t *watch;  /* stores: the page's watch byte (bus.h) */
	uint64_t pad;                  /* 32 bytes: the index scales by a shift */
};

/* One decoded instruction.  rd is 32 when the encoding's rd was x0. */
struct insn {
	uint16_t op;
	uint8_t rd, rs1, rs2, rs3;
	uint8_t len;       /* 2 or 4 */
	uint8_t rm;        /* FP rounding mode field */
	uint16_t pcoff;    /* byte offset from the block's first instruction */
	uint16_t pad;
	int32_t imm;       /* immediate, CSR number, or raw bits of an illegal insn */
};

#define BLOCK_MAX_INSNS 64
#define BTAB_BITS 15
#define BTAB_SIZE (1u << BTAB_BITS)
#define POOL_INSNS (1u << 18)

/*
 * A basic block: straight-line instructions from one physical page, ending
 * at the first control transfer or system instruction.  A translator can
 * later hang host code off `jit` without changing the lookup.  A block gone
 * stale by generation or epoch is revalidated, not re-decoded, when its
 * bytes still hash the same (data writes to code pages are frequent under
 * Linux; real changes of code are rare).
 */
struct block {
	uint64_t ppc;      /* guest-physical PC of insn[0]; UINT64_MAX = empty */
	struct insn *insn;
	uint32_t gen;      /* bus_code_gen of the page at decode time */
	uint32_t epoch;    /* hart's epoch at decode time (block_cache_flush) */
	uint32_t pfn;      /* RAM page number (relative to ram_base) */
	uint16_t ninsn;
	uint16_t nbytes;   /* guest bytes covered, for revalidation */
	uint16_t cap;      /* insns allocated at `insn` (reused on re-decode) */
	uint16_t heat;     /* runs so far, cooled by the table's victim choice (mmu.c) */
	/* How often the ending branch went each way while interpreted
	 * (saturating): the translator follows a biased one into a trace. */
	uint8_t taken, fallen;
	uint16_t runs;     /* runs so far, until the translator takes it (jit.h) */
	uint64_t hash;     /* of those bytes at decode time */
	/* Last successors reached by the taken [0] / fall-through [1] edge of
	 * the ending branch, when in the same virtual page (so the same
	 * translation): the next block is found without the TLB or the table,
	 * after re-checking its ppc, epoch and generation. */
	struct block *chain[2];
	void *jit;
};

/* The block table is two-way set associative (a set is two adjacent
 * slots, a block lives in either): direct-mapped, blocks of hot code that
 * collide evict each other on every use, lose their heat and are never
 * translated. */
#define btab_set(h, pa) (&(h)->btab[((pa) >> 1) & (BTAB_SIZE - 2)])

/* attn bits, set from any thread.  ATTN_IRQ: an interrupt line was raised
 * (the dispatcher re-checks mip & take_mask), so translated code need test
 * only this word to notice new interrupts.  ATTN_RECHECK: this hart stored
 * into code; translated code must go back to the dispatcher, which
 * revalidates blocks (set and cleared by the hart itself). */
enum { ATTN_EXIT = 1, ATTN_TIMER = 2, ATTN_IRQ = 4, ATTN_RECHECK = 8 };

struct hart {
	/* Hot state first. */
	uint64_t x[33];
	uint64_t pc;
	struct tlb_entry *itlb, *ltlb;         /* current context */
	struct tlb_store_entry *stlb;
	uint64_t take_mask;        /* mip bits that would be taken now */
	_Atomic uint64_t mip;
	_Atomic uint32_t attn;     /* ATTN_* from any thread */
	uint32_t local_stop;       /* WFI or fatal: leave the exec loop */
	uint64_t instret;
	uint32_t poll_countdown;
	uint32_t epoch;
	uint8_t *ram;
	struct bus *bus;
	struct block *btab;
	struct insn *pool;
	uint32_t pool_used;

	/* The translator (jit/jit.h); NULL runs the interpreter only.  The
	 * jit_* fields are read and written by translated code. */
	struct jit *jit;
	int64_t jit_budget;          /* instructions translated code may still run */
	int64_t jit_unretired;       /* of the last block's count, not retired at exit */
	struct jit_exit *jit_link;   /* exit to link to the next block run */
	struct jit_tb *jit_stale;    /* a translation its own guard found stale */
	uint64_t jit_delta;          /* virtual - physical PC, from jit_lookup */
	uint64_t jit_tmp;            /* the slow load path's result */
	uint64_t mslot_epoch;        /* the memory slots' current epoch (struct mslot) */
	uint64_t mslot_next;         /* the epoch last handed out (mslots_select) */
	struct jcache_entry *jc;     /* the current fetch context's jump cache */
	uint64_t jc_index_mask;      /* its (entries - 1) << 5: an entry's byte offset */
	bool jit_skip;               /* interpret the next block (a helper bailed) */
	struct verify_log *vlog;     /* --jit verify: stores of the block being checked */

	uint64_t f[32];
	uint32_t fflags, frm;
	bool fp_soft;      /* F/D arithmetic in fpu.c only (tests); else the host FPU where exact */
	uint64_t fp_owner; /* this hart's id for the host FPU's flags (fp_host.h) */

	unsigned priv;
	uint64_t mstatus;          /* without SD, which reads derive from FS */
	uint64_t medeleg, mideleg, mie, mtvec, stvec, mscratch, sscratch;
	uint64_t mepc, sepc, mcause, scause, mtval, stval, satp;
	uint64_t menvcfg, senvcfg, mcountinhibit, stimecmp;
	uint32_t mcounteren, scounteren;
	uint64_t cycle_off;        /* mcycle = instret + cycle_off */
	uint64_t cy_frozen, ir_frozen;   /* values held while mcountinhibit.CY/IR */
	_Atomic uint64_t mtimecmp;
	/* Virtual bounds of the superpages TLB entries came from since the last
	 * full flush: SFENCE.VMA of an address inside must flush everything. */
	uint64_t super_lo, super_hi;

	/* PMP: config bytes, addresses, and the decoded [lo, hi) ranges. */
	uint8_t pmpcfg[64];
	uint64_t pmpaddr[64];
	uint64_t pmp_lo[64], pmp_hi[64];
	unsigned pmp_nactive, pmp_end;
	/* The last check's answer as a window: every range within
	 * [pmp_win_lo, pmp_win_hi) is decided by an entry with config
	 * pmp_win_cfg (empty when lo == hi; pmp_recompute empties it).  A
	 * page walk checks four or five ranges in the same region. */
	uint64_t pmp_win_lo, pmp_win_hi;
	uint8_t pmp_win_cfg;

	/* LR/SC reservation (guest-physical). */
	uint64_t resv_pa, resv_val;
	bool resv_valid;

	/* Exception raised by a slow path, taken by the caller. */
	uint64_t exc_cause, exc_tval;

	/* Debug triggers (trigger.h); trig_armed is TRIG_ARMED_* or 0. */
	struct trigger_state trig;
	uint32_t trig_armed;

	/* Trap-loop detection for HART_EXIT_FATAL: exceptions since the last
	 * xRET, and how often in a row the same one recurred. */
	uint64_t loop_pc, loop_cause;
	unsigned loop_count, traps_since_xret;
	uint64_t first_cause, first_pc, first_tval;

	bool wfi;
	bool fatal;
	char err[256];

	_Atomic uint32_t wake_seq;
	_Atomic uint32_t sleeping;

	unsigned hartid;
	const struct vclock *clock;
	uint64_t reset_pc;

	struct block scratch;      /* for code outside RAM, decoded per use */
	struct insn scratch_insn[BLOCK_MAX_INSNS];
	/* The guest bytes a RAM block is decoded and hashed from: one copy,
	 * so the decode and the hash always agree under concurrent writes. */
	uint8_t snap[BLOCK_MAX_INSNS * 4];
	uint64_t snap_pa;
	unsigned snap_len;

	uint64_t space_key[TLB_SPACES];   /* the satp each space translates for */
	unsigned space, space_victim;     /* current space, next to recycle */
	struct tlb_set tlb[TLB_SPACES][NCTX];
	/* Per set, the 4 KiB pieces of its tables known to hold only
	 * TLB_INVALID (TLB_CLEAN_*): emptying a table writes only what was
	 * filled since (a short-lived process fills a few pieces of 48).
	 * 0, a new hart's value, says nothing is known. */
	uint64_t tlb_clean[TLB_SPACES][NCTX];
	/* Each data table set's slot epoch (0: none yet; mmu.c), the pages
	 * its tables took in that epoch (a filter: a bit per hash of the
	 * page), and the context of the set in use. */
	uint64_t slot_epoch[TLB_SPACES][NCTX];
	uint64_t slot_pages[TLB_SPACES][NCTX][SLOT_PAGE_BITS / 64];
	/* And the pages its fetch table took (cleared with the tables): an
	 * SFENCE.VMA of a page looks only in the sets that took it. */
	uint64_t fetch_pages[TLB_SPACES][NCTX][FETCH_PAGE_BITS / 64];
	unsigned slot_dctx;
	struct jcache_entry jcache[TLB_SPACES][JC_CTXS][JCACHE_SIZE];
	uint64_t jcache_pages[TLB_SPACES][JCACHE_FILTER_BITS / 64];
	struct jcache_entry jcache_kernel[JKERNEL_SIZE];
	uint64_t jkernel_dirty;     /* a bit per 4 KiB piece filled since emptied */
	uint64_t jkernel_pages[JKERNEL_FILTER_BITS / 64];
	unsigned jkernel_mode;      /* satp.MODE its entries were made under */
	bool stale_jk;              /* jcache_kernel is emptied when next selected */
	/* Tables emptied when next selected (mmu.c, tables_select): bit
	 * (space * NCTX + ctx) * 3 + TLB_FETCH/LOAD/STORE of a TLB table, bit
	 * space * JC_CTXS + jctx of a jump cache. */
	uint64_t stale_tlb;
	uint32_t stale_jc;
	uint64_t seen_code_changes; /* bus->code_changes when the jump cache was last trusted */

	/* Idle trim (hart.c): the current window's start and time asleep in WFI
	 * (host monotonic ns), and the translator's output at the last trim;
	 * trim_after_load: a snapshot or migration was loaded since, so the
	 * next idle window trims whatever grew (hart_snapshot.c). */
	uint64_t trim_window_start, trim_asleep_ns, trim_code_bytes;
	bool trim_after_load;

	/* Translated code's memory slots (struct mslot), page-aligned so that a
	 * wrapped epoch gives their pages back whole. */
	_Alignas(4096) struct mslot mslot[MSLOTS];
};

/* decode.c */
/* Decodes one 32-bit (or expanded 16-bit) instruction; sets op, regs, imm, len. */
void decode_insn(uint32_t raw, struct insn *out);
/* madvise(DONTNEED) of the whole pages inside [p, p + len) (hart.c). */
void hart_give_back(void *p, size_t len);
/* Fresh zero pages, paid for page by page as they are touched (hart.c):
 * for the hart's and its translator's big tables.  NULL if none. */
void *hart_zeroed_map(size_t bytes);
void hart_zeroed_unmap(void *p, size_t bytes);
/* Decodes a block at physical ppc whose bytes are read through fetch16. */
unsigned decode_block(struct hart *h, uint64_t ppc, struct insn *out,
		      bool (*fetch16)(struct hart *, uint64_t, uint16_t *));

/* exec.c */
/* Runs until `budget` steps are used or the hart needs the outer loop. */
uint64_t hart_exec(struct hart *h, uint64_t budget);
/*
 * Stores, SC and AMOs return 0, -1 with the exception set, or STORE_HIT_CODE:
 * done, and the bytes written held decoded code.  The caller then ends the
 * block after this instruction, so the next one is fetched anew: a store
 * into code is seen by the very next instruction, in the interpreter and in
 * translated code alike (without waiting for FENCE.I, as QEMU does too).
 */
#define STORE_HIT_CODE 1
/* LR/SC/AMO (also the translator's helper). */
int hart_exec_atomic(struct hart *h, const struct insn *in);

/* mmu.c (cold) */
int mmu_translate(struct hart *h, uint64_t va, unsigned size, enum access acc,
		  unsigned priv, uint64_t *pa);
COLD int mem_load_slow(struct hart *h, uint64_t va, unsigned size, uint64_t *out);
COLD int mem_store_slow(struct hart *h, uint64_t va, unsigned size, uint64_t v);
COLD void *mem_atomic_slow(struct hart *h, uint64_t va, unsigned size, enum access acc,
		      uint64_t *pa);
COLD struct block *block_lookup_slow(struct hart *h, uint64_t pc);
COLD int fetch_insn_slow(struct hart *h, uint64_t pc, uint32_t *raw);
/* The physical address of a fetch at pc in RAM, refilling the fetch TLB;
 * false (nothing raised) if it faults or is not RAM. */
COLD bool fetch_translate(struct hart *h, uint64_t pc, uint64_t *pa);
void tlb_flush_all(struct hart *h);
void tables_defer(struct hart *h);
void tlb_flush_page(struct hart *h, uint64_t va);
void tlb_flush_asid(struct hart *h, uint64_t asid);
void tlb_flush_loads(struct hart *h);
/* Empties every memory slot of translated code (a new epoch). */
void mslots_invalidate(struct hart *h);
void mslots_select(struct hart *h, unsigned space, unsigned dctx);
/* After a satp write: the TLB space for the new satp (no flush). */
void tlb_switch_space(struct hart *h);
void jcache_flush(struct hart *h);
/* The kernel's jump cache given back to the host (an idle trim). */
void jkernel_give_back(struct hart *h);
/* Is va's S-mode fetch translation global (a G bit on its walk)?  A peek
 * at the page tables: no fault, no A/D update. */
bool mmu_fetch_is_global(struct hart *h, uint64_t va);
/* hart.c: every decoded block dropped and its pages given back (snapshot load). */
void block_table_clear(struct hart *h);
/* hart.c: drops every translation and decoded block and gives their memory
 * back to the host; the hart's own thread, outside hart_exec. */
void hart_trim_caches(struct hart *h);
void pmp_recompute(struct hart *h);
bool pmp_check(struct hart *h, uint64_t pa, uint64_t len, enum access acc, unsigned priv);
/* A store wrote code at host: invalidate it; returns STORE_HIT_CODE. */
COLD int store_hit_code(struct hart *h, const uint8_t *host, unsigned size);
COLD void block_cache_flush(struct hart *h);

/* csr.c (cold) */
COLD int csr_access(struct hart *h, unsigned csr, unsigned f3, uint64_t src, bool write,
	       uint64_t *old);
uint64_t hart_read_mstatus(const struct hart *h);

/* trap.c (cold) */
COLD void trap_take(struct hart *h, uint64_t cause, uint64_t tval);
COLD void trap_interrupt(struct hart *h);
void hart_update_ctx(struct hart *h);
/* Empties the stale tables the current contexts select (mmu.c). */
void tables_select(struct hart *h, unsigned ictx, unsigned dctx);
int trap_mret(struct hart *h);
int trap_sret(struct hart *h);
uint64_t hart_pending_irqs(const struct hart *h);

/* hart.c */
COLD void hart_poll_timers(struct hart *h);
COLD void hart_pause(struct hart *h);
void hart_update_stip(struct hart *h, uint64_t now);

/* exec_fp.c: returns 0, or -1 for an illegal instruction. */
int fp_exec(struct hart *h, const struct insn *in);

static inline unsigned hart_data_priv(const struct hart *h)
{
	if (h->priv == PRV_M && (h->mstatus & MSTATUS_MPRV))
		return (unsigned)((h->mstatus & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT);
	return h->priv;
}

static inline uint64_t hart_mip_value(uint64_t raw)
{
	return (raw | ((raw >> MIP_SEIP_SW_BIT) & 1) << HART_IRQ_SEIP) & 0xaaa;
}

/*
 * --jit verify's store log (jit/verify.c): while a translated block is being
 * checked, the slow paths record the old bytes of every RAM store, and flag
 * anything that cannot be repeated (MMIO, page-crossing accesses).
 */
#define VERIFY_LOG_MAX 256
struct verify_write {
	uint64_t pa;
	uint8_t size, old[8], now[8];
};
struct verify_log {
	unsigned n;
	bool unsafe;
	struct verify_write w[VERIFY_LOG_MAX];
};
/* Both only when h->vlog is set. */
void verify_log_store(struct hart *h, uint64_t pa, unsigned size);
static inline void verify_unsafe(struct hart *h) { h->vlog->unsafe = true; }

/* ---- Test API ---- */

/*
 * Executes at most n steps (an instruction retired or trapping, or an
 * interrupt taken) and returns the number done; fewer if the hart waits in
 * WFI with nothing pending or hit a fatal state.  Never sleeps.
 */
uint64_t hart_step(struct hart *h, uint64_t n);
uint64_t hart_get_x(const struct hart *h, unsigned r);
void hart_set_x(struct hart *h, unsigned r, uint64_t v);
uint64_t hart_get_f(const struct hart *h, unsigned r);
void hart_set_f(struct hart *h, unsigned r, uint64_t v);
void hart_set_pc(struct hart *h, uint64_t pc);
unsigned hart_priv(const struct hart *h);
bool hart_in_wfi(const struct hart *h);
bool hart_is_fatal(const struct hart *h);
/* CSR access as M-mode (no privilege checks beyond existence); 0 or -1. */
int hart_csr_read(struct hart *h, unsigned csr, uint64_t *v);
int hart_csr_write(struct hart *h, unsigned csr, uint64_t v);

#endif

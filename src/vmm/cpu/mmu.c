/*
 * Cold memory paths: Sv39/Sv48/Sv57 page-table walks with hardware A/D
 * update, PMP, software-TLB fills and flushes, the slow load/store path
 * (TLB misses, MMIO, misaligned and page-crossing accesses), and the
 * block-cache miss path (fetch translation, decode into the pool).
 *
 * Invariants: a TLB entry is installed only for a RAM page whose whole
 * 4 KiB range passes PMP for that context and access type (so per-access
 * PMP checks are unnecessary on hits); superpages are entered one 4 KiB
 * page at a time; an SFENCE.VMA by address inside the span of superpages
 * entered since the last full flush flushes all.
 * A/D bits are set with a compare-and-swap on the PTE in guest RAM, and the
 * walk restarts if the PTE changed under it.
 * Spec: privileged ISA 1.12 sections 3.7 (PMP) and 4.3-4.5 (Sv39/48/57).
 */
#include "vmm/cpu/hart_internal.h"
#include "vmm/cpu/jit/jit.h"
#include "vmm/cpu/ops.h"

#include <string.h>

#define PTE_V (1ull << 0)
#define PTE_R (1ull << 1)
#define PTE_W (1ull << 2)
#define PTE_X (1ull << 3)
#define PTE_U (1ull << 4)
#define PTE_G (1ull << 5)
#define PTE_A (1ull << 6)
#define PTE_D (1ull << 7)
#define PPN_MASK ((1ull << 44) - 1)

#define PMP_R 1
#define PMP_W 2
#define PMP_X 4
#define PMP_A 0x18
#define PMP_L 0x80

static int page_fault(enum access acc)
{
	return acc == ACC_FETCH ? EXC_INSN_PAGE : acc == ACC_LOAD ? EXC_LOAD_PAGE : EXC_STORE_PAGE;
}

static int access_fault(enum access acc)
{
	return acc == ACC_FETCH ? EXC_INSN_ACCESS
	     : acc == ACC_LOAD ? EXC_LOAD_ACCESS : EXC_STORE_ACCESS;
}

void pmp_recompute(struct hart *h)
{
	h->pmp_nactive = 0;
	h->pmp_end = 0;
	h->pmp_win_lo = h->pmp_win_hi = 0;
	for (unsigned i = 0; i < 64; i++) {
		uint64_t lo = 0, hi = 0, a = h->pmpaddr[i];
		switch ((h->pmpcfg[i] & PMP_A) >> 3) {
		case 1:   /* TOR */
			lo = i ? h->pmpaddr[i - 1] << 2 : 0;
			hi = a << 2;
			break;
		case 2:   /* NA4 */
			lo = a << 2;
			hi = lo + 4;
			break;
		case 3: { /* NAPOT: trailing ones give the size */
			unsigned t = (unsigned)__builtin_ctzll(~a);
			lo = (a & ~((1ull << t) - 1)) << 2;
			hi = t + 3 >= 64 ? UINT64_MAX : lo + (1ull << (t + 3));
			break;
		}
		default:
			break;
		}
		h->pmp_lo[i] = lo;
		h->pmp_hi[i] = hi;
		if (h->pmpcfg[i] & PMP_A) {
			h->pmp_nactive++;
			h->pmp_end = i + 1;
		}
	}
}

/*
 * The lowest-numbered entry overlapping [pa, pa+len) decides; a partial
 * overlap fails.  With no active entry every access succeeds (as QEMU does,
 * so bare-metal code that never programs PMP can still drop to S/U mode).
 */
static bool pmp_allows(uint8_t cfg, enum access acc, unsigned priv)
{
	if (priv == PRV_M && !(cfg & PMP_L))
		return true;
	unsigned need = acc == ACC_FETCH ? PMP_X : acc == ACC_LOAD ? PMP_R : PMP_W;
	return (cfg & need) != 0;
}

bool pmp_check(struct hart *h, uint64_t pa, uint64_t len, enum access acc, unsigned priv)
{
	if (h->pmp_nactive == 0)
		return true;
	uint64_t end = pa + len;
	if (pa >= h->pmp_win_lo && end <= h->pmp_win_hi && end > pa)
		return pmp_allows(h->pmp_win_cfg, acc, priv);
	/* The deciding entry's range, less what lower entries (which
	 * [pa, end) misses) cover on either side, is the next window. */
	uint64_t wlo = 0, whi = UINT64_MAX;
	for (unsigned i = 0; i < h->pmp_end; i++) {
		uint8_t cfg = h->pmpcfg[i];
		if (!(cfg & PMP_A))
			continue;
		uint64_t lo = h->pmp_lo[i], hi = h->pmp_hi[i];
		if (end <= lo || pa >= hi) {
			if (pa >= hi)
				wlo = hi > wlo ? hi : wlo;
			else
				whi = lo < whi ? lo : whi;
			continue;
		}
		if (pa < lo || end > hi)
			return false;
		h->pmp_win_lo = lo > wlo ? lo : wlo;
		h->pmp_win_hi = hi < whi ? hi : whi;
		h->pmp_win_cfg = cfg;
		return pmp_allows(cfg, acc, priv);
	}
	return priv == PRV_M;
}

static int walk(struct hart *h, uint64_t va, enum access acc, unsigned priv, uint64_t *pa)
{
	unsigned mode = (unsigned)(h->satp >> 60);
	int levels = mode == 8 ? 3 : mode == 9 ? 4 : 5;
	unsigned vabits = 12 + 9 * (unsigned)levels;
	if ((uint64_t)((int64_t)(va << (64 - vabits)) >> (64 - vabits)) != va)
		return page_fault(acc);
restart:;
	uint64_t base = (h->satp & PPN_MASK) << PAGE_SHIFT;
	for (int i = levels - 1; i >= 0; i--) {
		uint64_t pte_pa = base + ((va >> (12 + 9 * i)) & 0x1ff) * 8;
		if (!pmp_check(h, pte_pa, 8, ACC_LOAD, PRV_S))
			return access_fault(acc);
		/* The hart's own A/D update: noted after the write, as a store. */
		uint64_t *ptep = (uint64_t *)(uintptr_t)bus_guest_ptr(h->bus, pte_pa, 8);
		if (!ptep)
			return access_fault(acc);
		uint64_t pte = __atomic_load_n(ptep, __ATOMIC_ACQUIRE);
		/* Bits 63:54 are reserved, PBMT and N without Svpbmt/Svnapot. */
		if (!(pte & PTE_V) || (!(pte & PTE_R) && (pte & PTE_W)) || (pte >> 54))
			return page_fault(acc);
		if (!(pte & (PTE_R | PTE_X))) {
			/* D, A and U are reserved in a pointer (as Spike and QEMU fault). */
			if (pte & (PTE_D | PTE_A | PTE_U))
				return page_fault(acc);
			base = ((pte >> 10) & PPN_MASK) << PAGE_SHIFT;
			continue;
		}
		/* A leaf: permissions for this access and privilege. */
		if (acc == ACC_FETCH) {
			if (!(pte & PTE_X))
				return page_fault(acc);
			if (priv == PRV_U ? !(pte & PTE_U) : (pte & PTE_U) != 0)
				return page_fault(acc);
		} else {
			if (acc == ACC_LOAD && !(pte & PTE_R) &&
			    !((h->mstatus & MSTATUS_MXR) && (pte & PTE_X)))
				return page_fault(acc);
			if (acc == ACC_STORE && !(pte & PTE_W))
				return page_fault(acc);
			if (priv == PRV_U && !(pte & PTE_U))
				return page_fault(acc);
			if (priv == PRV_S && (pte & PTE_U) && !(h->mstatus & MSTATUS_SUM))
				return page_fault(acc);
		}
		uint64_t ppn = (pte >> 10) & PPN_MASK;
		uint64_t lowmask = (1ull << (9 * i)) - 1;
		if (ppn & lowmask)
			return page_fault(acc);   /* misaligned superpage */
		uint64_t want = pte | PTE_A | (acc == ACC_STORE ? PTE_D : 0);
		if (want != pte) {
			if (!__atomic_compare_exchange_n(ptep, &pte, want, false, __ATOMIC_ACQ_REL,
							 __ATOMIC_ACQUIRE))
				goto restart;
			bus_note_write(h->bus, pte_pa, 8);   /* a write like any other */
		}
		if (i > 0) {
			uint64_t lo = va & ~((1ull << (12 + 9 * i)) - 1);
			uint64_t hi = lo + (1ull << (12 + 9 * i));
			if (lo < h->super_lo)
				h->super_lo = lo;
			if (hi > h->super_hi)
				h->super_hi = hi;
		}
		uint64_t off_mask = (1ull << (12 + 9 * i)) - 1;
		*pa = ((ppn << PAGE_SHIFT) & ~off_mask) | (va & off_mask);
		return 0;
	}
	return page_fault(acc);
}

bool mmu_fetch_is_global(struct hart *h, uint64_t va)
{
	unsigned mode = (unsigned)(h->satp >> 60);
	if (mode < 8 || mode > 10)
		return false;
	int levels = mode == 8 ? 3 : mode == 9 ? 4 : 5;
	uint64_t base = (h->satp & PPN_MASK) << PAGE_SHIFT;
	for (int i = levels - 1; i >= 0; i--) {
		uint64_t pte_pa = base + ((va >> (12 + 9 * i)) & 0x1ff) * 8;
		const uint64_t *ptep = (const uint64_t *)(uintptr_t)bus_guest_ptr(h->bus, pte_pa, 8);
		if (!ptep)
			return false;
		uint64_t pte = __atomic_load_n(ptep, __ATOMIC_ACQUIRE);
		if (!(pte & PTE_V))
			return false;
		if (pte & PTE_G)   /* here and below: global (4.3.1) */
			return true;
		if (pte & (PTE_R | PTE_X))
			return false;   /* a leaf without G */
		base = ((pte >> 10) & PPN_MASK) << PAGE_SHIFT;
	}
	return false;
}

int mmu_translate(struct hart *h, uint64_t va, unsigned size, enum access acc,
		  unsigned priv, uint64_t *pa)
{
	uint64_t p = va;
	if (priv != PRV_M && (h->satp >> 60) != 0) {
		int c = walk(h, va, acc, priv, &p);
		if (c)
			return c;
	}
	if (!pmp_check(h, p, size, acc, priv))
		return access_fault(acc);
	*pa = p;
	return 0;
}

/* Fills the current context's entry for va (tab: the fetch or load table;
 * stores always go to h->stlb). */
/* A page's bit in a set's filter of slot pages (slot_pages). */
static unsigned slot_page_bit(uint64_t va)
{
	return (unsigned)(((va >> PAGE_SHIFT) * 0x9e3779b97f4a7c15ull) >> 52) % SLOT_PAGE_BITS;
}

static void tlb_fill(struct hart *h, struct tlb_entry *tab, uint64_t va, uint64_t pa,
		     enum access acc, unsigned priv)
{
	uint64_t ppage = pa & PAGE_MASK, vpage = va & PAGE_MASK;
	struct bus *bus = h->bus;
	if (!bus_in_ram(bus, ppage, PAGE_SIZE) || !pmp_check(h, ppage, PAGE_SIZE, acc, priv))
		return;
	if (unlikely(h->trig_armed & TRIG_ARMED_MEM) && acc != ACC_FETCH)
		return;   /* keep accesses on the slow path, where triggers are checked */
	unsigned i = (va >> PAGE_SHIFT) & (acc == ACC_FETCH ? TLB_MASK : DTLB_MASK);
	uint64_t addend = acc == ACC_FETCH ? ppage - vpage
			: (uint64_t)(uintptr_t)(bus->ram + (ppage - bus->ram_base)) - vpage;
	/* The 4 KiB of the table this entry lies in is no longer clean. */
	struct tlb_set *set;
	unsigned chunk;
	if (acc == ACC_STORE) {
		set = (struct tlb_set *)((char *)h->stlb - offsetof(struct tlb_set, store));
		chunk = TLB_CLEAN_STORE + i * (unsigned)sizeof(struct tlb_store_entry) / 4096;
	} else if (acc == ACC_FETCH) {
		set = (struct tlb_set *)((char *)tab - offsetof(struct tlb_set, fetch));
		chunk = TLB_CLEAN_FETCH + i * (unsigned)sizeof(struct tlb_entry) / 4096;
	} else {
		set = (struct tlb_set *)((char *)tab - offsetof(struct tlb_set, load));
		chunk = TLB_CLEAN_LOAD + i * (unsigned)sizeof(struct tlb_entry) / 4096;
	}
	(&h->tlb_clean[0][0])[set - &h->tlb[0][0]] &= ~(1ull << chunk);
	unsigned b = slot_page_bit(va);
	if (acc != ACC_FETCH) {   /* the set's memory slots may copy this entry */
		(&h->slot_pages[0][0])[set - &h->tlb[0][0]][b / 64] |= 1ull << (b % 64);
	} else {
		b %= FETCH_PAGE_BITS;
		(&h->fetch_pages[0][0])[set - &h->tlb[0][0]][b / 64] |= 1ull << (b % 64);
	}
	if (acc == ACC_STORE) {
		struct tlb_store_entry *e = &h->stlb[i];
		e->tag = vpage;
		e->addend = addend;
		e->watch = &bus->watch[(ppage - bus->ram_base) >> PAGE_SHIFT];
	} else {
		struct tlb_entry *e = &tab[i];
		e->tag = vpage;
		e->addend = addend;
	}
}

enum { TLB_FETCH, TLB_LOAD, TLB_STORE };

static uint64_t tlb_bit(unsigned s, unsigned c, unsigned t)
{
	return 1ull << ((s * NCTX + c) * 3 + t);
}

/*
 * Memory slot epochs (hart_internal.h): one per set of data tables, handed
 * out in turn when a set is first used after a change of its entries.
 * Moving between sets keeps every slot: a fork/exec-heavy guest traps and
 * returns (U and S use different sets) thousands of times a second, and a
 * new epoch at each emptied every slot each time (a shell loop of fork and
 * exec ran 1.7x slower).  At the wrap the slots are given back and every
 * set's epoch forgotten, as old tags could match again.
 *
 * A set's page filter (slot_pages) holds every page its load and store
 * tables took since they were last emptied, so every page a slot under
 * any of its epochs can hold (slots copy table entries).  It is cleared
 * only with the tables (tlb_flush_space), never with an epoch alone: a
 * set given a new epoch keeps its other entries, and the slots refilled
 * from them must stay in the filter for a later SFENCE.VMA to find.
 */
static uint64_t slot_epoch_next(struct hart *h)
{
	h->mslot_next += MSLOT_EPOCH_STEP;
	if (h->mslot_next >= MSLOT_EPOCH_END) {
		hart_give_back(h->mslot, sizeof h->mslot);
		memset(h->slot_epoch, 0, sizeof h->slot_epoch);
		h->mslot_next = MSLOT_EPOCH_STEP;
	}
	return h->mslot_next;
}

/* A set's slots go: a new epoch when next used. */
static void slots_forget(struct hart *h, unsigned space, unsigned c)
{
	h->slot_epoch[space][c] = 0;
}

void mslots_select(struct hart *h, unsigned space, unsigned dctx)
{
	h->slot_dctx = dctx;
	if (!h->slot_epoch[space][dctx]) {
		uint64_t e = slot_epoch_next(h);
		h->slot_epoch[space][dctx] = e;
	}
	h->mslot_epoch = h->slot_epoch[space][dctx];
}

/* Slots filled from any set may hold what changed. */
void mslots_invalidate(struct hart *h)
{
	memset(h->slot_epoch, 0, sizeof h->slot_epoch);
	mslots_select(h, h->space, h->slot_dctx);
}

/* Every table of space s, stale (hart_update_ctx empties those it selects,
 * before any fill), and its sets' slots and page filters with them. */
static void tlb_flush_space(struct hart *h, unsigned s)
{
	h->stale_tlb |= ((1ull << (NCTX * 3)) - 1) << (s * NCTX * 3);
	for (unsigned c = 0; c < NCTX; c++)
		slots_forget(h, s, c);
	memset(h->slot_pages[s], 0, sizeof h->slot_pages[s]);
	memset(h->fetch_pages[s], 0, sizeof h->fetch_pages[s]);
	if (s == h->space)
		mslots_select(h, s, h->slot_dctx);
}

/* Fills the unclean 4 KiB pieces of one table with TLB_INVALID. */
static void tlb_table_empty(uint64_t *clean, void *table, size_t bytes, unsigned bit0)
{
	for (size_t off = 0; off < bytes; off += 4096) {
		uint64_t bit = 1ull << (bit0 + off / 4096);
		if (!(*clean & bit)) {
			size_t n = bytes - off < 4096 ? bytes - off : 4096;
			memset((char *)table + off, 0xff, n);
			*clean |= bit;
		}
	}
}

/* The kernel's jump cache emptied: its filled pieces back to zero. */
static void jkernel_empty(struct hart *h)
{
	for (uint64_t d = h->jkernel_dirty; d; d &= d - 1)
		memset(&h->jcache_kernel[(unsigned)__builtin_ctzll(d) * JKERNEL_PIECE_ENTRIES], 0,
		       JKERNEL_PIECE_ENTRIES * sizeof h->jcache_kernel[0]);
	h->jkernel_dirty = 0;
	h->jcache_kernel[0].vpc = 1;
	h->stale_jk = false;
}

void jkernel_give_back(struct hart *h)
{
	hart_give_back(h->jcache_kernel, sizeof h->jcache_kernel);
	/* Zero pages now, but for a partial page at either end, which keeps
	 * its bytes: the first and last pieces are emptied when next selected. */
	h->jkernel_dirty = 1ull | 1ull << (JKERNEL_SIZE / JKERNEL_PIECE_ENTRIES - 1);
	h->stale_jk = true;
}

void tables_select(struct hart *h, unsigned ictx, unsigned dctx)
{
	unsigned s = h->space;
	if (likely(!((h->stale_tlb & (tlb_bit(s, ictx, TLB_FETCH) | tlb_bit(s, dctx, TLB_LOAD) |
				      tlb_bit(s, dctx, TLB_STORE))) |
		     (h->stale_jc & (1u << (s * JC_CTXS + jcache_ctx(ictx)))) |
		     (h->stale_jk & (ictx == CTX_S)))))
		return;
	if (h->stale_jk && ictx == CTX_S)
		jkernel_empty(h);
	struct tlb_set *fs = &h->tlb[s][ictx], *ds = &h->tlb[s][dctx];
	uint64_t *fc = &h->tlb_clean[s][ictx], *dc = &h->tlb_clean[s][dctx];
	if (h->stale_tlb & tlb_bit(s, ictx, TLB_FETCH))
		tlb_table_empty(fc, fs->fetch, sizeof fs->fetch, TLB_CLEAN_FETCH);
	if (h->stale_tlb & tlb_bit(s, dctx, TLB_LOAD))
		tlb_table_empty(dc, ds->load, sizeof ds->load, TLB_CLEAN_LOAD);
	if (h->stale_tlb & tlb_bit(s, dctx, TLB_STORE))
		tlb_table_empty(dc, ds->store, sizeof ds->store, TLB_CLEAN_STORE);
	h->stale_tlb &= ~(tlb_bit(s, ictx, TLB_FETCH) | tlb_bit(s, dctx, TLB_LOAD) |
			  tlb_bit(s, dctx, TLB_STORE));
	unsigned jb = s * JC_CTXS + jcache_ctx(ictx);
	if (h->stale_jc & (1u << jb)) {
		memset(h->jcache[s][jcache_ctx(ictx)], 0xff, sizeof h->jcache[s][0]);
		h->stale_jc &= ~(1u << jb);
	}
}

/* Space s's jump caches, stale; its page filter empty with them. */
static void jcache_flush_space(struct hart *h, unsigned s)
{
	h->stale_jc |= ((1u << JC_CTXS) - 1) << (s * JC_CTXS);
	memset(h->jcache_pages[s], 0, sizeof(h->jcache_pages[s]));
}

/* The kernel's jump cache, stale: emptied when next selected. */
static void jkernel_flush(struct hart *h)
{
	h->stale_jk = true;
	memset(h->jkernel_pages, 0, sizeof h->jkernel_pages);
}

/* Empties every jump cache: the one in use now at once, the others when
 * next selected. */
void jcache_flush(struct hart *h)
{
	for (unsigned s = 0; s < TLB_SPACES; s++)
		jcache_flush_space(h, s);
	jkernel_flush(h);
	hart_update_ctx(h);
}

/* Spaces other than the current one are flushed when next used. */
static void retire_other_spaces(struct hart *h)
{
	for (unsigned s = 0; s < TLB_SPACES; s++)
		if (s != h->space)
			h->space_key[s] = TLB_NO_SPACE;
}

void tlb_flush_all(struct hart *h)
{
	tlb_flush_space(h, h->space);
	retire_other_spaces(h);
	jcache_flush(h);   /* (which selects the current tables, emptied) */
	h->super_lo = UINT64_MAX;
	h->super_hi = 0;
}

/* A new hart's tables: all stale and none selected yet (the table
 * pointers NULL), so that the first hart_update_ctx, at a snapshot's load
 * or the first hart_exec, empties only the context the hart runs in.  A
 * restored guest runs in S or U: emptying M's tables at creation as well
 * cost a restore 96 KiB of first-touch faults. */
void tables_defer(struct hart *h)
{
	for (unsigned s = 0; s < TLB_SPACES; s++) {
		tlb_flush_space(h, s);
		jcache_flush_space(h, s);
	}
	retire_other_spaces(h);
	jkernel_flush(h);
	h->itlb = h->ltlb = NULL;
	h->stlb = NULL;
	h->jc = NULL;
	h->super_lo = UINT64_MAX;
	h->super_hi = 0;
}

/* SFENCE.VMA x0, asid: only the spaces of that ASID (global mappings may
 * stay, priv. 4.2.1; no space of another ASID holds this one's pages).
 * Linux flushes a process's ASID at every fork, exec and exit: flushing
 * every space there emptied the TLBs and jump caches of all the others. */
void tlb_flush_asid(struct hart *h, uint64_t asid)
{
	asid &= 0xffff;
	for (unsigned s = 0; s < TLB_SPACES; s++) {
		if (h->space_key[s] == TLB_NO_SPACE || ((h->space_key[s] >> 44) & 0xffff) != asid)
			continue;
		if (s == h->space) {
			tlb_flush_space(h, s);
			jcache_flush_space(h, s);   /* (the superpage range stays: other spaces') */
			hart_update_ctx(h);
		} else {
			h->space_key[s] = TLB_NO_SPACE;   /* emptied when next used */
		}
	}
}

void tlb_flush_loads(struct hart *h)
{
	for (unsigned c = 0; c < NCTX; c++)
		slots_forget(h, h->space, c);
	mslots_select(h, h->space, h->slot_dctx);
	for (unsigned c = 0; c < NCTX; c++)
		h->stale_tlb |= tlb_bit(h->space, c, TLB_LOAD);
	retire_other_spaces(h);
	hart_update_ctx(h);
}

void tlb_switch_space(struct hart *h)
{
	uint64_t key = h->satp;
	if ((unsigned)(key >> 60) != h->jkernel_mode) {   /* other mappings, global or not */
		jkernel_flush(h);
		h->jkernel_mode = (unsigned)(key >> 60);
	}
	if (h->space_key[h->space] == key)
		return;
	unsigned s = 0;
	while (s < TLB_SPACES && h->space_key[s] != key)
		s++;
	if (s == TLB_SPACES) {   /* recycle, round robin, never the current one */
		s = h->space_victim == h->space ? (h->space_victim + 1) % TLB_SPACES
						 : h->space_victim;
		h->space_victim = (s + 1) % TLB_SPACES;
		tlb_flush_space(h, s);
		jcache_flush_space(h, s);   /* it mapped another space's PCs */
		h->space_key[s] = key;
	}
	h->space = s;
	hart_update_ctx(h);   /* (empties what it selects of a stale space) */
}

void tlb_flush_page(struct hart *h, uint64_t va)
{
	if (va >= h->super_lo && va < h->super_hi) {
		tlb_flush_all(h);
		return;
	}
	/* Only the sets whose tables took this page since their epoch began
	 * can have slots holding it: a user page's flush (copy-on-write,
	 * munmap) leaves the kernel's slots alone. */
	unsigned pb = slot_page_bit(va), fpb = pb % FETCH_PAGE_BITS;
	for (unsigned sp = 0; sp < TLB_SPACES; sp++)
		for (unsigned c = 0; c < NCTX; c++)
			if (h->slot_pages[sp][c][pb / 64] & (1ull << (pb % 64)))
				slots_forget(h, sp, c);
	mslots_select(h, h->space, h->slot_dctx);
	uint64_t tag = va & PAGE_MASK;
	unsigned idx = (va >> PAGE_SHIFT) & TLB_MASK, didx = (va >> PAGE_SHIFT) & DTLB_MASK;
	unsigned kb = jkernel_filter_bit(va);
	if ((int64_t)va < 0 && (h->jkernel_pages[kb / 64] & (1ull << (kb % 64))))
		for (unsigned i = 1; i < JKERNEL_SIZE; i++)
			if ((h->jcache_kernel[i].vpc & PAGE_MASK) == tag)
				h->jcache_kernel[i].vpc = 0;
	unsigned fb = jcache_filter_bit(va);
	for (unsigned sp = 0; sp < TLB_SPACES; sp++) {
		if (h->space_key[sp] == TLB_NO_SPACE)
			continue;
		/* (M's fetches are not translated: its jump cache stays.) */
		if (h->jcache_pages[sp][fb / 64] & (1ull << (fb % 64)))
			for (unsigned c = 0; c < JC_CTXS; c++)
				for (unsigned i = 0; i < JCACHE_SIZE && c != jcache_ctx(CTX_M); i++)
					if ((h->jcache[sp][c][i].vpc & PAGE_MASK) == tag)
						h->jcache[sp][c][i].vpc = UINT64_MAX;
		/* Only the sets that took the page (their filters) can hold it:
		 * the other tables' entries are not worth a cache miss each. */
		for (unsigned c = 0; c < NCTX; c++) {
			struct tlb_set *s = &h->tlb[sp][c];
			if (h->fetch_pages[sp][c][fpb / 64] & (1ull << (fpb % 64)))
				if (s->fetch[idx].tag == tag) s->fetch[idx].tag = TLB_INVALID;
			if (!(h->slot_pages[sp][c][pb / 64] & (1ull << (pb % 64))))
				continue;
			if (s->load[didx].tag == tag) s->load[didx].tag = TLB_INVALID;
			if (s->store[didx].tag == tag) s->store[didx].tag = TLB_INVALID;
		}
	}
}

/* This hart sees its own code changes at once: no jump-cache entry, and
 * (ATTN_RECHECK) no linked translation, runs the old code after the store. */
static void own_code_changed(struct hart *h)
{
	jcache_flush(h);
	atomic_fetch_or(&h->attn, ATTN_RECHECK);
}

/* A store hit a watched page (any BUS_WATCH_* bit): the bus logs it dirty
 * and/or invalidates its code; code tells the caller to end the block. */
int store_hit_code(struct hart *h, const uint8_t *host, unsigned size)
{
	if (!(bus_store_hit(h->bus, host, size) & BUS_WATCH_CODE))
		return 0;
	own_code_changed(h);
	return STORE_HIT_CODE;
}

/* Does [pa, pa+size) of RAM overlap a page holding decoded code? */
static bool hits_code(const struct hart *h, uint64_t pa, unsigned size)
{
	const struct bus *bus = h->bus;
	if (!bus_in_ram(bus, pa, size))
		return false;
	uint64_t first = (pa - bus->ram_base) >> PAGE_SHIFT;
	uint64_t last = (pa - bus->ram_base + size - 1) >> PAGE_SHIFT;
	return bus_page_is_code(bus, first) || bus_page_is_code(bus, last);
}

/* Physical access for the slow path: RAM, aligned MMIO, or MMIO byte by byte. */
static int phys_load(struct hart *h, uint64_t pa, unsigned size, uint64_t *v)
{
	if ((pa & (size - 1)) == 0 || bus_in_ram(h->bus, pa, size))
		return bus_load(h->bus, pa, size, v);
	uint64_t r = 0;
	for (unsigned i = 0; i < size; i++) {
		uint64_t b;
		if (bus_load(h->bus, pa + i, 1, &b))
			return -1;
		r |= (b & 0xff) << (8 * i);
	}
	*v = r;
	return 0;
}

static bool hits_code(const struct hart *h, uint64_t pa, unsigned size);
static void own_code_changed(struct hart *h);

static int phys_store(struct hart *h, uint64_t pa, unsigned size, uint64_t v)
{
	if ((pa & (size - 1)) == 0 || bus_in_ram(h->bus, pa, size))
		return bus_store(h->bus, pa, size, v);
	for (unsigned i = 0; i < size; i++)
		if (bus_store(h->bus, pa + i, 1, (v >> (8 * i)) & 0xff))
			return -1;
	return 0;
}

static int raise(struct hart *h, int cause, uint64_t tval)
{
	h->exc_cause = (uint64_t)cause;
	h->exc_tval = tval;
	return -1;
}

/* Translates both parts of a page-crossing access; the second part's fault
 * reports the address of that part (privileged spec, stval). */
static int translate_split(struct hart *h, uint64_t va, unsigned size, enum access acc,
			   uint64_t *pa1, uint64_t *pa2, unsigned *n1)
{
	unsigned priv = acc == ACC_FETCH ? h->priv : hart_data_priv(h);
	*n1 = (unsigned)(PAGE_SIZE - (va & (PAGE_SIZE - 1)));
	int c = mmu_translate(h, va, *n1, acc, priv, pa1);
	if (c)
		return raise(h, c, va);
	c = mmu_translate(h, va + *n1, size - *n1, acc, priv, pa2);
	if (c)
		return raise(h, c, va + *n1);
	return 0;
}

int mem_load_slow(struct hart *h, uint64_t va, unsigned size, uint64_t *out)
{
	uint64_t pa;
	if (unlikely(h->trig_armed & TRIG_ARMED_MEM) && trigger_check_mem(h, va, size, TRIG_LOAD))
		return -1;
	if ((va & (PAGE_SIZE - 1)) + size > PAGE_SIZE) {
		uint64_t pa2, hi;
		unsigned n1;
		if (translate_split(h, va, size, ACC_LOAD, &pa, &pa2, &n1))
			return -1;
		uint64_t r = 0;
		if (unlikely(h->vlog))
			verify_unsafe(h);
		for (unsigned i = 0; i < size; i++) {
			uint64_t a = i < n1 ? pa + i : pa2 + (i - n1);
			if (bus_load(h->bus, a, 1, &hi))
				return raise(h, EXC_LOAD_ACCESS, i < n1 ? va : va + n1);
			r |= (hi & 0xff) << (8 * i);
		}
		*out = r;
		return 0;
	}
	unsigned priv = hart_data_priv(h);
	int c = mmu_translate(h, va, size, ACC_LOAD, priv, &pa);
	if (c)
		return raise(h, c, va);
	tlb_fill(h, h->ltlb, va, pa, ACC_LOAD, priv);
	if (unlikely(h->vlog) && !bus_in_ram(h->bus, pa, size))
		verify_unsafe(h);   /* a device read cannot be repeated */
	if (phys_load(h, pa, size, out))
		return raise(h, EXC_LOAD_ACCESS, va);
	return 0;
}

int mem_store_slow(struct hart *h, uint64_t va, unsigned size, uint64_t v)
{
	uint64_t pa;
	if (unlikely(h->trig_armed & TRIG_ARMED_MEM) && trigger_check_mem(h, va, size, TRIG_STORE))
		return -1;
	if ((va & (PAGE_SIZE - 1)) + size > PAGE_SIZE) {
		uint64_t pa2;
		unsigned n1;
		if (translate_split(h, va, size, ACC_STORE, &pa, &pa2, &n1))
			return -1;
		if (!bus_in_ram(h->bus, pa, n1) && !bus_find_region(h->bus, pa))
			return raise(h, EXC_STORE_ACCESS, va);
		if (!bus_in_ram(h->bus, pa2, size - n1) && !bus_find_region(h->bus, pa2))
			return raise(h, EXC_STORE_ACCESS, va + n1);
		if (unlikely(h->vlog))
			verify_unsafe(h);
		/* The bus invalidates code it overwrites; this hart also
		 * drops what it holds of it (as store_hit_code does). */
		bool code = hits_code(h, pa, n1) || hits_code(h, pa2, size - n1);
		if (unlikely(code))
			own_code_changed(h);
		for (unsigned i = 0; i < size; i++) {
			uint64_t a = i < n1 ? pa + i : pa2 + (i - n1);
			if (bus_store(h->bus, a, 1, (v >> (8 * i)) & 0xff))
				return raise(h, EXC_STORE_ACCESS, i < n1 ? va : va + n1);
		}
		return code ? STORE_HIT_CODE : 0;
	}
	unsigned priv = hart_data_priv(h);
	int c = mmu_translate(h, va, size, ACC_STORE, priv, &pa);
	if (c)
		return raise(h, c, va);
	tlb_fill(h, NULL, va, pa, ACC_STORE, priv);
	if (unlikely(h->vlog))
		verify_log_store(h, pa, size);   /* marks MMIO unsafe */
	bool code = hits_code(h, pa, size);
	if (unlikely(code))
		own_code_changed(h);
	if (phys_store(h, pa, size, v))
		return raise(h, EXC_STORE_ACCESS, va);
	return code ? STORE_HIT_CODE : 0;
}

void *mem_atomic_slow(struct hart *h, uint64_t va, unsigned size, enum access acc,
		      uint64_t *pa)
{
	if (va & (size - 1)) {
		raise(h, acc == ACC_LOAD ? EXC_LOAD_MISALIGNED : EXC_STORE_MISALIGNED, va);
		return NULL;
	}
	unsigned priv = hart_data_priv(h);
	int c = mmu_translate(h, va, size, acc, priv, pa);
	if (c) {
		raise(h, c, va);
		return NULL;
	}
	/* The hart's own access: a write is checked against the watch map
	 * after it is made (hart_exec_atomic), as every store. */
	void *p = (void *)(uintptr_t)bus_guest_ptr(h->bus, *pa, size);
	if (!p) {
		raise(h, acc == ACC_LOAD ? EXC_LOAD_ACCESS : EXC_STORE_ACCESS, va);
		return NULL;
	}
	tlb_fill(h, acc == ACC_LOAD ? h->ltlb : NULL, va, *pa, acc, priv);
	return p;
}

bool fetch_translate(struct hart *h, uint64_t pc, uint64_t *pa)
{
	if (mmu_translate(h, pc, 2, ACC_FETCH, h->priv, pa) != 0 || !bus_in_ram(h->bus, *pa, 2))
		return false;
	tlb_fill(h, h->itlb, pc, *pa, ACC_FETCH, h->priv);
	return true;
}

int fetch_insn_slow(struct hart *h, uint64_t pc, uint32_t *raw)
{
	uint64_t pa, lo, hi;
	int c = mmu_translate(h, pc, 2, ACC_FETCH, h->priv, &pa);
	if (c)
		return raise(h, c, pc);
	if (bus_load(h->bus, pa, 2, &lo))
		return raise(h, EXC_INSN_ACCESS, pc);
	*raw = (uint32_t)lo;
	if ((lo & 3) != 3)
		return 0;
	c = mmu_translate(h, pc + 2, 2, ACC_FETCH, h->priv, &pa);
	if (c)
		return raise(h, c, pc + 2);
	if (bus_load(h->bus, pa, 2, &hi))
		return raise(h, EXC_INSN_ACCESS, pc + 2);
	*raw |= (uint32_t)hi << 16;
	return 0;
}

static bool fetch16_snap(struct hart *h, uint64_t pa, uint16_t *v)
{
	uint64_t off = pa - h->snap_pa;
	if (off + 2 > h->snap_len)
		return false;
	memcpy(v, h->snap + off, 2);
	return true;
}

static bool fetch16_bus(struct hart *h, uint64_t pa, uint16_t *v)
{
	uint64_t t;
	if (bus_load(h->bus, pa, 2, &t))
		return false;
	*v = (uint16_t)t;
	return true;
}

/* A 64-bit hash of the bytes a block was decoded from (not cryptographic:
 * it only has to notice changed code). */
static uint64_t code_hash(const uint8_t *p, unsigned n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
	unsigned i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	if (i < n) {
		uint64_t w = 0;
		memcpy(&w, p + i, n - i);
		h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
		h ^= h >> 29;
	}
	return h;
}

/* Bumping the epoch makes every block stale (a restored snapshot); each is
 * re-hashed against guest memory (and re-decoded if changed) on its next
 * use, and translations have their links cut. */
void block_cache_flush(struct hart *h)
{
	jcache_flush(h);
	if (++h->epoch == 0) {
		for (unsigned i = 0; i < BTAB_SIZE; i++) {
			h->btab[i].ppc = UINT64_MAX;
			h->btab[i].cap = 0;
		}
		h->pool_used = 0;
	}
}

struct block *block_lookup_slow(struct hart *h, uint64_t pc)
{
	struct bus *bus = h->bus;
	uint64_t pa;
	if (unlikely(h->trig_armed & TRIG_ARMED_EXEC))
		return trigger_fetch_block(h, pc);
	int c = mmu_translate(h, pc, 2, ACC_FETCH, h->priv, &pa);
	if (c) {
		trap_take(h, (uint64_t)c, pc);
		return NULL;
	}
	if (!bus_in_ram(bus, pa, 2)) {
		/* Outside RAM (a boot ROM): no code tracking, so decode per use. */
		unsigned n = decode_block(h, pa, h->scratch_insn, fetch16_bus);
		if (n == 0) {
			trap_take(h, EXC_INSN_ACCESS, pc);
			return NULL;
		}
		h->scratch.ppc = pa;
		h->scratch.insn = h->scratch_insn;
		h->scratch.ninsn = (uint16_t)n;
		return &h->scratch;
	}
	tlb_fill(h, h->itlb, pc, pa, ACC_FETCH, h->priv);
	struct block *set = btab_set(h, pa), *b = set + (set[1].ppc == pa);
	uint32_t pfn = (uint32_t)((pa - bus->ram_base) >> PAGE_SHIFT);
	if (b->ppc == pa && b->epoch == h->epoch && b->gen == bus_code_gen(bus, pfn))
		return b;
	/* bus.h protocol: mark, then read the generation, then read the bytes. */
	bus_mark_code(bus, pfn);
	uint32_t gen = bus_code_gen(bus, pfn);
	const uint8_t *host = h->ram + (pa - bus->ram_base);
	if (b->ppc == pa && b->nbytes && code_hash(host, b->nbytes) == b->hash) {
		b->gen = gen;
		b->epoch = h->epoch;
		return b;
	}
	if (b->ppc != pa) {
		/* Neither slot holds it: the colder one goes, and the one that
		 * stays cools, so two blocks that keep coming back to a set
		 * where a third one sits still get their turn. */
		bool empty0 = set[0].ppc == UINT64_MAX || set[0].nbytes == 0;
		bool empty1 = set[1].ppc == UINT64_MAX || set[1].nbytes == 0;
		if (empty0 || empty1) {   /* (all-zero is empty too: block_table_clear) */
			b = empty0 ? &set[0] : &set[1];
		} else {
			b = set[1].heat < set[0].heat ? &set[1] : &set[0];
			struct block *stays = b == set ? &set[1] : &set[0];
			stays->heat -= stays->heat / 4;
			if (h->jit)
				jit_block_evicted(h->jit, b);
		}
	}
	/* Decode aside, then reuse the slot's old storage if it is big enough:
	 * collisions and changed code then do not eat the pool. */
	unsigned avail = (unsigned)(PAGE_SIZE - (pa & (PAGE_SIZE - 1)));
	h->snap_pa = pa;
	h->snap_len = avail < sizeof(h->snap) ? avail : (unsigned)sizeof(h->snap);
	memcpy(h->snap, host, h->snap_len);
	unsigned n = decode_block(h, pa, h->scratch_insn, fetch16_snap);
	if (b->cap < n) {
		if (h->pool_used + n > POOL_INSNS) {
			for (unsigned i = 0; i < BTAB_SIZE; i++) {
				h->btab[i].ppc = UINT64_MAX;
				h->btab[i].cap = 0;
			}
			h->pool_used = 0;
		}
		b->insn = h->pool + h->pool_used;
		b->cap = (uint16_t)n;
		h->pool_used += n;
	}
	struct insn *insn = b->insn;
	memcpy(insn, h->scratch_insn, n * sizeof(*insn));
	b->ppc = pa;
	b->gen = gen;
	b->epoch = h->epoch;
	b->pfn = pfn;
	b->ninsn = (uint16_t)n;
	b->nbytes = (uint16_t)(insn[n - 1].pcoff + insn[n - 1].len);
	if (insn[n - 1].op == OP_CROSS)
		b->nbytes -= 2;   /* only its first half lies in this page */
	b->hash = code_hash(h->snap, b->nbytes);
	b->chain[0] = b->chain[1] = NULL;
	b->jit = NULL;
	b->heat = b->runs = 0;
	b->taken = b->fallen = 0;
	return b;
}

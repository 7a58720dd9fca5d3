/*
 * The CSR file (cold): existence, the privilege and read-only checks encoded
 * in the CSR number, per-CSR gates (FS for the FP CSRs, mcounteren and
 * scounteren for the counters, TVM for satp, STCE for stimecmp), WARL
 * legalization, and the side effects of writes (TLB flushes and context
 * changes, interrupt-mask and timer recomputation).
 *
 * Unknown CSRs, odd pmpcfg numbers on RV64 and the *h counter halves of RV32
 * are illegal.  misa is read-only; UXL/SXL read 64-bit.  mseccfg (Smepmp) is
 * deliberately absent, so firmware never assumes MML semantics we lack.
 * Spec: privileged ISA 1.12 ch. 2 (CSR listing) and ch. 3-4; Sstc 1.0.
 */
#include "vmm/cpu/fp_host.h"
#include "vmm/cpu/hart_internal.h"

#define SSTATUS_MASK (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_FS | \
		      MSTATUS_SUM | MSTATUS_MXR | MSTATUS_UXL | MSTATUS_SD)
#define MSTATUS_WMASK (MSTATUS_SIE | MSTATUS_MIE | MSTATUS_SPIE | MSTATUS_MPIE | \
		       MSTATUS_SPP | MSTATUS_MPP | MSTATUS_FS | MSTATUS_MPRV | \
		       MSTATUS_SUM | MSTATUS_MXR | MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR)
#define SSTATUS_WMASK (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_FS | \
		       MSTATUS_SUM | MSTATUS_MXR)
#define MIE_MASK 0xaaaull
#define MIDELEG_MASK 0x222ull
/* Every exception except ecall-from-M (11) and the reserved 10 and 14. */
#define MEDELEG_MASK 0xb3ffull
#define MISA_VALUE ((2ull << 62) | (1u << 0) | (1u << 2) | (1u << 3) | (1u << 5) | \
		    (1u << 8) | (1u << 12) | (1u << 18) | (1u << 20))
#define SATP_MASK ((0xfull << 60) | (0xffffull << 44) | ((1ull << 44) - 1))
#define PMPADDR_MASK ((1ull << 54) - 1)

uint64_t hart_read_mstatus(const struct hart *h)
{
	uint64_t s = h->mstatus | MSTATUS_XL64;
	if ((s & MSTATUS_FS) == MSTATUS_FS)
		s |= MSTATUS_SD;
	return s;
}

/* cycle and instret, as held while inhibited (mcountinhibit.CY / IR). */
static uint64_t read_cycle(const struct hart *h)
{
	return (h->mcountinhibit & 1) ? h->cy_frozen : h->instret + h->cycle_off;
}

static uint64_t read_instret(const struct hart *h)
{
	return (h->mcountinhibit & 4) ? h->ir_frozen : h->instret;
}

static bool counter_ok(const struct hart *h, unsigned idx)
{
	if (h->priv == PRV_M)
		return true;
	if (!((h->mcounteren >> idx) & 1))
		return false;
	return h->priv != PRV_U || ((h->scounteren >> idx) & 1);
}

/* A just-written mtimecmp (CLINT store earlier in this block) shows in mip
 * at once rather than at the next block boundary. */
static void sync_timers(struct hart *h)
{
	if (atomic_load_explicit(&h->attn, memory_order_relaxed) & ATTN_TIMER) {
		atomic_fetch_and(&h->attn, ~(uint32_t)ATTN_TIMER);
		hart_poll_timers(h);
	}
}

static int csr_read(struct hart *h, unsigned csr, uint64_t *v)
{
	if (csr >= 0xc00 && csr <= 0xc1f) {
		unsigned idx = csr - 0xc00;
		if (!counter_ok(h, idx))
			return -1;
		*v = idx == 0 ? read_cycle(h)
		   : idx == 1 ? vclock_now(h->clock)
		   : idx == 2 ? read_instret(h) : 0;
		return 0;
	}
	if (csr >= 0x3a0 && csr <= 0x3af) {
		if (csr & 1)
			return -1;
		unsigned base = (csr - 0x3a0) / 2 * 8;
		uint64_t r = 0;
		for (unsigned i = 0; i < 8; i++)
			r |= (uint64_t)h->pmpcfg[base + i] << (8 * i);
		*v = r;
		return 0;
	}
	if (csr >= 0x3b0 && csr <= 0x3ef) {
		*v = h->pmpaddr[csr - 0x3b0];
		return 0;
	}
	if ((csr >= 0x323 && csr <= 0x33f) || (csr >= 0xb03 && csr <= 0xb1f)) {
		*v = 0;   /* mhpmevent / mhpmcounter: no events, WARL 0 */
		return 0;
	}
	if (trigger_is_csr(csr))
		return trigger_csr_read(h, csr, v);
	switch (csr) {
	case 0x001: case 0x002: case 0x003:
		if (!(h->mstatus & MSTATUS_FS))
			return -1;
		*v = csr == 0x001 ? h->fflags : csr == 0x002 ? h->frm : (h->frm << 5 | h->fflags);
		return 0;
	case 0x100: *v = hart_read_mstatus(h) & SSTATUS_MASK; return 0;
	case 0x104: *v = h->mie & h->mideleg; return 0;
	case 0x105: *v = h->stvec; return 0;
	case 0x106: *v = h->scounteren; return 0;
	case 0x10a: *v = h->senvcfg; return 0;
	case 0x140: *v = h->sscratch; return 0;
	case 0x141: *v = h->sepc; return 0;
	case 0x142: *v = h->scause; return 0;
	case 0x143: *v = h->stval; return 0;
	case 0x144:
		sync_timers(h);
		*v = hart_mip_value(atomic_load(&h->mip)) & h->mideleg;
		return 0;
	case 0x14d:
		if (h->priv < PRV_M &&
		    (!(h->mcounteren & 2) || !(h->menvcfg & MENVCFG_STCE)))
			return -1;
		*v = h->stimecmp;
		return 0;
	case 0x180:
		if (h->priv == PRV_S && (h->mstatus & MSTATUS_TVM))
			return -1;
		*v = h->satp;
		return 0;
	case 0xf11: case 0xf12: case 0xf13: case 0xf15: *v = 0; return 0;
	case 0xf14: *v = h->hartid; return 0;
	case 0x300: *v = hart_read_mstatus(h); return 0;
	case 0x301: *v = MISA_VALUE; return 0;
	case 0x302: *v = h->medeleg; return 0;
	case 0x303: *v = h->mideleg; return 0;
	case 0x304: *v = h->mie; return 0;
	case 0x305: *v = h->mtvec; return 0;
	case 0x306: *v = h->mcounteren; return 0;
	case 0x30a: *v = h->menvcfg; return 0;
	case 0x320: *v = h->mcountinhibit; return 0;
	case 0x340: *v = h->mscratch; return 0;
	case 0x341: *v = h->mepc; return 0;
	case 0x342: *v = h->mcause; return 0;
	case 0x343: *v = h->mtval; return 0;
	case 0x344:
		sync_timers(h);
		*v = hart_mip_value(atomic_load(&h->mip));
		return 0;
	case 0xb00: *v = read_cycle(h); return 0;
	case 0xb02: *v = read_instret(h); return 0;
	default: return -1;
	}
}

static void write_mstatus(struct hart *h, uint64_t v, uint64_t mask)
{
	uint64_t old = h->mstatus;
	if (((v & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT) == 2)   /* reserved: keep old MPP */
		v = (v & ~MSTATUS_MPP) | (old & MSTATUS_MPP);
	h->mstatus = (old & ~mask) | (v & mask);
	if ((old ^ h->mstatus) & MSTATUS_MXR)
		tlb_flush_loads(h);
	hart_update_ctx(h);
}

static void write_mip(struct hart *h, uint64_t v, uint64_t mask)
{
	uint64_t set = v & mask, clr = ~v & mask;
	if (mask & (1ull << HART_IRQ_SEIP)) {   /* the software-written SEIP */
		set = (set & ~(1ull << HART_IRQ_SEIP)) |
		      ((set >> HART_IRQ_SEIP) & 1) << MIP_SEIP_SW_BIT;
		clr = (clr & ~(1ull << HART_IRQ_SEIP)) |
		      ((clr >> HART_IRQ_SEIP) & 1) << MIP_SEIP_SW_BIT;
	}
	if (set)
		atomic_fetch_or(&h->mip, set);
	if (clr)
		atomic_fetch_and(&h->mip, ~clr);
}

static void write_pmpcfg(struct hart *h, unsigned csr, uint64_t v)
{
	unsigned base = (csr - 0x3a0) / 2 * 8;
	for (unsigned i = 0; i < 8; i++) {
		if (h->pmpcfg[base + i] & 0x80)
			continue;   /* locked */
		uint8_t b = (uint8_t)(v >> (8 * i)) & 0x9f;
		if ((b & 3) == 2)   /* W without R is reserved */
			b &= (uint8_t)~2;
		h->pmpcfg[base + i] = b;
	}
	pmp_recompute(h);
	tlb_flush_all(h);
}

static void write_pmpaddr(struct hart *h, unsigned idx, uint64_t v)
{
	if (h->pmpcfg[idx] & 0x80)
		return;
	if (idx + 1 < 64 && (h->pmpcfg[idx + 1] & 0x80) &&
	    (h->pmpcfg[idx + 1] & 0x18) == 0x08)
		return;   /* the base of a locked TOR entry */
	h->pmpaddr[idx] = v & PMPADDR_MASK;
	pmp_recompute(h);
	tlb_flush_all(h);
}

/* Inhibiting freezes a counter at its value after this instruction;
 * re-enabling resumes from the frozen value. */
static void write_countinhibit(struct hart *h, uint64_t v)
{
	uint64_t old = h->mcountinhibit, on = v & ~old, off = old & ~v;
	if (on & 1)
		h->cy_frozen = h->instret + 1 + h->cycle_off;
	if (off & 1)
		h->cycle_off = h->cy_frozen - (h->instret + 1);
	if (on & 4)
		h->ir_frozen = h->instret + 1;
	if (off & 4) {
		uint64_t cyc = h->instret + h->cycle_off;
		h->instret = h->ir_frozen - 1;
		h->cycle_off = cyc - h->instret;
	}
	h->mcountinhibit = v;
}

static int csr_write(struct hart *h, unsigned csr, uint64_t v)
{
	if (csr >= 0x3a0 && csr <= 0x3af) {
		write_pmpcfg(h, csr, v);
		return 0;
	}
	if (csr >= 0x3b0 && csr <= 0x3ef) {
		write_pmpaddr(h, csr - 0x3b0, v);
		return 0;
	}
	if ((csr >= 0x323 && csr <= 0x33f) || (csr >= 0xb03 && csr <= 0xb1f))
		return 0;
	if (trigger_is_csr(csr)) {
		trigger_csr_write(h, csr, v);
		return 0;
	}
	switch (csr) {
	case 0x001: h->fflags = v & 0x1f; h->mstatus |= MSTATUS_FS; fp_host_forget(); return 0;
	case 0x002: h->frm = v & 7; h->mstatus |= MSTATUS_FS; return 0;
	case 0x003:
		h->fflags = v & 0x1f;
		fp_host_forget();   /* flags the host FPU held are now stale */
		h->frm = (v >> 5) & 7;
		h->mstatus |= MSTATUS_FS;
		return 0;
	case 0x100: write_mstatus(h, v, SSTATUS_WMASK); return 0;
	case 0x104:
		h->mie = (h->mie & ~h->mideleg) | (v & h->mideleg & MIE_MASK);
		hart_update_ctx(h);
		return 0;
	case 0x105: h->stvec = v & ~2ull; return 0;
	case 0x106: h->scounteren = (uint32_t)v; return 0;
	case 0x10a: h->senvcfg = v & MENVCFG_FIOM; return 0;
	case 0x140: h->sscratch = v; return 0;
	case 0x141: h->sepc = v & ~1ull; return 0;
	case 0x142: h->scause = v; return 0;
	case 0x143: h->stval = v; return 0;
	case 0x144: write_mip(h, v, h->mideleg & (1ull << HART_IRQ_SSIP)); return 0;
	case 0x14d:
		h->stimecmp = v;
		hart_update_stip(h, vclock_now(h->clock));
		return 0;
	case 0x180: {
		unsigned mode = (unsigned)(v >> 60);
		if (mode != 0 && mode != 8 && mode != 9 && mode != 10)
			return 0;   /* unsupported MODE: the whole write is ignored */
		h->satp = v & SATP_MASK;
		tlb_switch_space(h);
		return 0;
	}
	case 0x300: write_mstatus(h, v, MSTATUS_WMASK); return 0;
	case 0x301: return 0;
	case 0x302: h->medeleg = v & MEDELEG_MASK; return 0;
	case 0x303:
		h->mideleg = v & MIDELEG_MASK;
		hart_update_ctx(h);
		return 0;
	case 0x304:
		h->mie = v & MIE_MASK;
		hart_update_ctx(h);
		return 0;
	case 0x305: h->mtvec = v & ~2ull; return 0;
	case 0x306: h->mcounteren = (uint32_t)v; return 0;
	case 0x30a:
		h->menvcfg = v & (MENVCFG_FIOM | MENVCFG_STCE);
		hart_update_stip(h, vclock_now(h->clock));
		return 0;
	case 0x320:
		write_countinhibit(h, v & 0xfffffffdull);
		return 0;
	case 0x340: h->mscratch = v; return 0;
	case 0x341: h->mepc = v & ~1ull; return 0;
	case 0x342: h->mcause = v; return 0;
	case 0x343: h->mtval = v; return 0;
	case 0x344: {
		uint64_t mask = (1ull << HART_IRQ_SSIP) | (1ull << HART_IRQ_SEIP);
		if (!(h->menvcfg & MENVCFG_STCE))
			mask |= 1ull << HART_IRQ_STIP;
		write_mip(h, v, mask);
		return 0;
	}
	/* Writes replace this instruction's own increment (priv. 3.1.11):
	 * the next instruction reads the value written. */
	case 0xb00:
		if (h->mcountinhibit & 1)
			h->cy_frozen = v;
		else
			h->cycle_off = v - (h->instret + 1);
		return 0;
	case 0xb02:
		if (h->mcountinhibit & 4) {
			h->ir_frozen = v;
		} else {
			uint64_t cyc = h->instret + h->cycle_off;
			h->instret = v - 1;
			h->cycle_off = cyc - h->instret;
		}
		return 0;
	default:
		return 0;   /* read-only ones never get here (checked by number) */
	}
}

int csr_access(struct hart *h, unsigned csr, unsigned f3, uint64_t src, bool write,
	       uint64_t *old)
{
	if (h->priv < ((csr >> 8) & 3))
		return -1;
	if (write && (csr >> 10) == 3)
		return -1;
	uint64_t v;
	if (csr_read(h, csr, &v))
		return -1;
	if (write) {
		uint64_t base = v;
		if (csr == 0x344) {
			/* CSRRS/CSRRC on mip modify only the software-written SEIP,
			 * never latching the external line into it (priv. 3.1.9). */
			uint64_t sw = (atomic_load(&h->mip) >> MIP_SEIP_SW_BIT) & 1;
			base = (v & ~(1ull << HART_IRQ_SEIP)) | sw << HART_IRQ_SEIP;
		}
		uint64_t nv = (f3 & 3) == 1 ? src : (f3 & 3) == 2 ? (base | src) : (base & ~src);
		csr_write(h, csr, nv);
	}
	*old = v;
	return 0;
}

int hart_csr_read(struct hart *h, unsigned csr, uint64_t *v)
{
	unsigned priv = h->priv;
	h->priv = PRV_M;
	int r = csr_read(h, csr, v);
	h->priv = priv;
	return r;
}

int hart_csr_write(struct hart *h, unsigned csr, uint64_t v)
{
	uint64_t old;
	unsigned priv = h->priv;
	h->priv = PRV_M;
	int r = csr_read(h, csr, &old);
	if (r == 0 && (csr >> 10) != 3)
		csr_write(h, csr, v);
	h->priv = priv;
	hart_update_ctx(h);
	return r || (csr >> 10) == 3 ? -1 : 0;
}

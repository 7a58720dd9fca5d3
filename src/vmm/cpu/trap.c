/*
 * Trap entry (exceptions and interrupts, with medeleg/mideleg delegation and
 * direct/vectored tvec), interrupt selection by the privileged spec's
 * priority order (MEI, MSI, MTI, SEI, SSI, STI), MRET/SRET, and the
 * per-privilege context (TLB set pointers, the mask of takeable interrupts)
 * that must be recomputed whenever priv, mstatus, mie or mideleg change.
 *
 * Exceptions that recur without the guest ever returning from its handler
 * are a hopeless state (see trap_loop_check): the hart stops with
 * HART_EXIT_FATAL and a one-line report.
 * Spec: privileged ISA 1.12 sections 3.1.6-3.1.9, 3.3.2, 4.1.
 */
#include "vmm/cpu/hart_internal.h"

#include <stdio.h>

#define TRAP_LOOP_LIMIT 64
#define TRAP_STORM_LIMIT 100000

void hart_update_ctx(struct hart *h)
{
	unsigned dp = hart_data_priv(h);
	unsigned dctx = dp == PRV_M ? CTX_M : dp == PRV_U ? CTX_U
		      : (h->mstatus & MSTATUS_SUM) ? CTX_SSUM : CTX_S;
	unsigned ictx = h->priv == PRV_M ? CTX_M : h->priv == PRV_U ? CTX_U : CTX_S;
	tables_select(h, ictx, dctx);
	struct tlb_set *sp = h->tlb[h->space];
	h->itlb = sp[ictx].fetch;
	bool kernel = ictx == CTX_S && (h->satp >> 60) >= 8;
	h->jc = kernel ? h->jcache_kernel : h->jcache[h->space][jcache_ctx(ictx)];
	h->jc_index_mask = (uint64_t)((kernel ? JKERNEL_SIZE : JCACHE_SIZE) - 1) << 5;
	mslots_select(h, h->space, dctx);   /* the memory slots copy the tables in use */
	h->ltlb = sp[dctx].load;
	h->stlb = sp[dctx].store;

	uint64_t m = 0;
	if (h->priv < PRV_M || (h->mstatus & MSTATUS_MIE))
		m |= h->mie & ~h->mideleg;
	if (h->priv < PRV_S || (h->priv == PRV_S && (h->mstatus & MSTATUS_SIE)))
		m |= h->mie & h->mideleg;
	if (m & (1ull << HART_IRQ_SEIP))
		m |= 1ull << MIP_SEIP_SW_BIT;
	h->take_mask = m;
}

uint64_t hart_pending_irqs(const struct hart *h)
{
	return hart_mip_value(atomic_load_explicit(&h->mip, memory_order_relaxed)) & h->mie;
}

static const char *cause_name(uint64_t cause)
{
	static const char *const names[16] = {
		"instruction address misaligned", "instruction access fault",
		"illegal instruction", "breakpoint", "load address misaligned",
		"load access fault", "store address misaligned", "store access fault",
		"ecall from U", "ecall from S", "reserved", "ecall from M",
		"instruction page fault", "load page fault", "reserved", "store page fault",
	};
	if (cause & CAUSE_IRQ)
		return "interrupt";
	return cause < 16 ? names[cause] : "unknown";
}

/*
 * A guest that keeps taking exceptions without ever returning from one
 * (no MRET/SRET in between) is stuck: its handler itself faults, or runs
 * into junk that faults.  The same exception at the same pc TRAP_LOOP_LIMIT
 * times in a row, or TRAP_STORM_LIMIT exceptions of any kind, without an
 * xRET, is reported as fatal.  A guest that handles traps (ecall loops,
 * emulation) always returns in between, so it is never caught by this.
 */
COLD static void trap_loop_check(struct hart *h, uint64_t cause, uint64_t epc, uint64_t tval,
				 uint64_t tvec)
{
	if (cause & CAUSE_IRQ)
		return;
	if (h->traps_since_xret++ == 0) {
		h->first_cause = cause;
		h->first_pc = epc;
		h->first_tval = tval;
		h->loop_count = 0;
	}
	if (h->loop_count == 0 || h->loop_pc != epc || h->loop_cause != cause) {
		h->loop_count = 0;
		h->loop_pc = epc;
		h->loop_cause = cause;
	}
	h->loop_count++;
	if (h->loop_count < TRAP_LOOP_LIMIT && h->traps_since_xret < TRAP_STORM_LIMIT)
		return;
	snprintf(h->err, sizeof(h->err),
		 "hart %u: trap loop: %s (cause %llu) at pc 0x%llx tval 0x%llx, "
		 "handler %s=0x%llx traps again without returning; first trap: %s "
		 "(cause %llu) at pc 0x%llx tval 0x%llx",
		 h->hartid, cause_name(cause), (unsigned long long)cause,
		 (unsigned long long)epc, (unsigned long long)tval,
		 h->priv == PRV_M ? "mtvec" : "stvec", (unsigned long long)tvec,
		 cause_name(h->first_cause), (unsigned long long)h->first_cause,
		 (unsigned long long)h->first_pc, (unsigned long long)h->first_tval);
	h->fatal = true;
	h->local_stop = 1;
}

void trap_take(struct hart *h, uint64_t cause, uint64_t tval)
{
	uint64_t epc = h->pc;
	bool irq = (cause & CAUSE_IRQ) != 0;
	unsigned code = (unsigned)(cause & 63);
	uint64_t deleg = irq ? h->mideleg : h->medeleg;
	uint64_t s = h->mstatus, tvec;
	h->resv_valid = false;
	if (h->priv <= PRV_S && ((deleg >> code) & 1)) {
		h->scause = cause;
		h->sepc = epc;
		h->stval = tval;
		s &= ~(MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SIE);
		if (h->mstatus & MSTATUS_SIE)
			s |= MSTATUS_SPIE;
		if (h->priv == PRV_S)
			s |= MSTATUS_SPP;
		h->priv = PRV_S;
		tvec = h->stvec;
	} else {
		h->mcause = cause;
		h->mepc = epc;
		h->mtval = tval;
		s &= ~(MSTATUS_MPIE | MSTATUS_MPP | MSTATUS_MIE);
		if (h->mstatus & MSTATUS_MIE)
			s |= MSTATUS_MPIE;
		s |= (uint64_t)h->priv << MSTATUS_MPP_SHIFT;
		h->priv = PRV_M;
		tvec = h->mtvec;
	}
	h->mstatus = s;
	h->pc = (tvec & ~3ull) + ((tvec & 1) && irq ? 4ull * code : 0);
	hart_update_ctx(h);
	trap_loop_check(h, cause, epc, tval, tvec);
}

void trap_interrupt(struct hart *h)
{
	static const unsigned order[6] = {
		HART_IRQ_MEIP, HART_IRQ_MSIP, HART_IRQ_MTIP,
		HART_IRQ_SEIP, HART_IRQ_SSIP, HART_IRQ_STIP,
	};
	uint64_t pend = hart_pending_irqs(h);
	uint64_t m = pend & ~h->mideleg, sl = pend & h->mideleg;
	if (!(h->priv < PRV_M || (h->mstatus & MSTATUS_MIE)))
		m = 0;
	if (!(h->priv < PRV_S || (h->priv == PRV_S && (h->mstatus & MSTATUS_SIE))))
		sl = 0;
	uint64_t pick = m ? m : sl;
	for (unsigned i = 0; i < 6; i++) {
		if (pick & (1ull << order[i])) {
			trap_take(h, CAUSE_IRQ | order[i], 0);
			return;
		}
	}
}

int trap_mret(struct hart *h)
{
	uint64_t s = h->mstatus;
	unsigned mpp = (unsigned)((s & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT);
	s &= ~(MSTATUS_MIE | MSTATUS_MPP);
	if (h->mstatus & MSTATUS_MPIE)
		s |= MSTATUS_MIE;
	s |= MSTATUS_MPIE;
	if (mpp != PRV_M)
		s &= ~MSTATUS_MPRV;
	h->mstatus = s;
	h->priv = mpp;
	h->pc = h->mepc;
	h->traps_since_xret = 0;
	hart_update_ctx(h);
	return 0;
}

int trap_sret(struct hart *h)
{
	uint64_t s = h->mstatus;
	unsigned spp = (s & MSTATUS_SPP) ? PRV_S : PRV_U;
	s &= ~(MSTATUS_SIE | MSTATUS_SPP | MSTATUS_MPRV);
	if (h->mstatus & MSTATUS_SPIE)
		s |= MSTATUS_SIE;
	s |= MSTATUS_SPIE;
	h->mstatus = s;
	h->priv = spp;
	h->pc = h->sepc;
	h->traps_since_xret = 0;
	hart_update_ctx(h);
	return 0;
}

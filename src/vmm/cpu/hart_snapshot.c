/*
 * Hart state to and from the snapshot stream (hart.h, snap_stream.h).  Each
 * architectural field of struct hart is named here one by one, so the file
 * layout does not follow the struct's (which the JIT owns).  Derived state
 * (decoded PMP ranges, the TLB context pointers, take_mask, armed triggers)
 * is recomputed on load; caches (TLBs, decoded blocks, jump cache,
 * translations) are dropped.  A loaded value outside what the hart can hold
 * (a privilege of 2, fcsr bits that do not exist) fails the load.
 */
#include "vmm/cpu/hart_internal.h"
#include "vmm/cpu/jit/jit.h"
#include "vmm/snap_stream.h"

#include <errno.h>
#include <string.h>

#define CSR_TSELECT 0x7a0
#define CSR_TDATA1 0x7a1
#define CSR_TDATA2 0x7a2

void hart_save(const struct hart *h, struct snap_out *o)
{
	snap_put_u32(o, HART_SNAP_VERSION);
	snap_put_u32(o, h->hartid);
	for (unsigned i = 0; i < 32; i++)
		snap_put_u64(o, h->x[i]);
	snap_put_u64(o, h->pc);
	for (unsigned i = 0; i < 32; i++)
		snap_put_u64(o, h->f[i]);
	snap_put_u32(o, h->fflags);
	snap_put_u32(o, h->frm);
	snap_put_u8(o, (uint8_t)h->priv);
	snap_put_u64(o, h->mstatus);
	snap_put_u64(o, h->medeleg);
	snap_put_u64(o, h->mideleg);
	snap_put_u64(o, h->mie);
	snap_put_u64(o, atomic_load(&h->mip));
	snap_put_u64(o, h->mtvec);
	snap_put_u64(o, h->stvec);
	snap_put_u64(o, h->mscratch);
	snap_put_u64(o, h->sscratch);
	snap_put_u64(o, h->mepc);
	snap_put_u64(o, h->sepc);
	snap_put_u64(o, h->mcause);
	snap_put_u64(o, h->scause);
	snap_put_u64(o, h->mtval);
	snap_put_u64(o, h->stval);
	snap_put_u64(o, h->satp);
	snap_put_u64(o, h->menvcfg);
	snap_put_u64(o, h->senvcfg);
	snap_put_u64(o, h->mcountinhibit);
	snap_put_u32(o, h->mcounteren);
	snap_put_u32(o, h->scounteren);
	snap_put_u64(o, h->instret);
	snap_put_u64(o, h->cycle_off);
	snap_put_u64(o, h->cy_frozen);
	snap_put_u64(o, h->ir_frozen);
	snap_put_u64(o, h->stimecmp);
	snap_put_u64(o, atomic_load(&h->mtimecmp));
	snap_put_bytes(o, h->pmpcfg, sizeof h->pmpcfg);
	for (unsigned i = 0; i < 64; i++)
		snap_put_u64(o, h->pmpaddr[i]);
	snap_put_u8(o, h->resv_valid);
	snap_put_u64(o, h->resv_pa);
	snap_put_u64(o, h->resv_val);
	snap_put_u32(o, h->trig.tselect);
	for (unsigned i = 0; i < TRIG_N; i++) {
		snap_put_u64(o, h->trig.tdata1[i]);
		snap_put_u64(o, h->trig.tdata2[i]);
	}
	snap_put_u8(o, h->wfi);
}

int hart_load(struct hart *h, struct snap_in *in)
{
	if (snap_get_u32(in) != HART_SNAP_VERSION || snap_get_u32(in) != h->hartid)
		snap_in_bad(in);
	for (unsigned i = 0; i < 32; i++)
		h->x[i] = snap_get_u64(in);
	h->x[0] = 0;
	h->pc = snap_get_u64(in);
	for (unsigned i = 0; i < 32; i++)
		h->f[i] = snap_get_u64(in);
	h->fflags = snap_get_u32(in);
	h->frm = snap_get_u32(in);
	h->priv = snap_get_u8(in);
	h->mstatus = snap_get_u64(in);
	h->medeleg = snap_get_u64(in);
	h->mideleg = snap_get_u64(in);
	h->mie = snap_get_u64(in);
	atomic_store(&h->mip, snap_get_u64(in));
	h->mtvec = snap_get_u64(in);
	h->stvec = snap_get_u64(in);
	h->mscratch = snap_get_u64(in);
	h->sscratch = snap_get_u64(in);
	h->mepc = snap_get_u64(in);
	h->sepc = snap_get_u64(in);
	h->mcause = snap_get_u64(in);
	h->scause = snap_get_u64(in);
	h->mtval = snap_get_u64(in);
	h->stval = snap_get_u64(in);
	h->satp = snap_get_u64(in);
	h->menvcfg = snap_get_u64(in);
	h->senvcfg = snap_get_u64(in);
	h->mcountinhibit = snap_get_u64(in);
	h->mcounteren = snap_get_u32(in);
	h->scounteren = snap_get_u32(in);
	h->instret = snap_get_u64(in);
	h->cycle_off = snap_get_u64(in);
	h->cy_frozen = snap_get_u64(in);
	h->ir_frozen = snap_get_u64(in);
	h->stimecmp = snap_get_u64(in);
	atomic_store(&h->mtimecmp, snap_get_u64(in));
	snap_get_bytes(in, h->pmpcfg, sizeof h->pmpcfg);
	for (unsigned i = 0; i < 64; i++)
		h->pmpaddr[i] = snap_get_u64(in);
	h->resv_valid = snap_get_u8(in) != 0;
	h->resv_pa = snap_get_u64(in);
	h->resv_val = snap_get_u64(in);
	uint32_t tselect = snap_get_u32(in);
	uint64_t td1[TRIG_N], td2[TRIG_N];
	for (unsigned i = 0; i < TRIG_N; i++) {
		td1[i] = snap_get_u64(in);
		td2[i] = snap_get_u64(in);
	}
	h->wfi = snap_get_u8(in) != 0;
	if (h->priv != PRV_U && h->priv != PRV_S && h->priv != PRV_M)
		snap_in_bad(in);
	if (h->fflags > 0x1f || h->frm > 7 || tselect >= TRIG_N || (h->pc & 1))
		snap_in_bad(in);
	if (in->overrun)
		return -EINVAL;

	/* Through the CSR path, so the triggers are legalized and armed as a
	 * guest write would. */
	trigger_reset(h);
	for (unsigned i = 0; i < TRIG_N; i++) {
		trigger_csr_write(h, CSR_TSELECT, i);
		trigger_csr_write(h, CSR_TDATA1, td1[i]);
		trigger_csr_write(h, CSR_TDATA2, td2[i]);
	}
	trigger_csr_write(h, CSR_TSELECT, tselect);

	/* Caches and derived state: nothing decoded or translated before the
	 * load may survive it (the RAM under it changed). */
	h->local_stop = 0;
	h->fatal = false;
	h->loop_count = h->traps_since_xret = 0;
	h->jit_skip = false;
	pmp_recompute(h);
	for (unsigned s = 0; s < TLB_SPACES; s++)
		h->space_key[s] = TLB_NO_SPACE;
	h->space = 0;
	h->space_key[0] = h->satp;
	tlb_flush_all(h);
	/* A translator that never ran has nothing to drop, and jit_flush would
	 * write (so fault in) every block slot; the slots are then given back
	 * untouched rather than rewritten: a restore stays O(devices). */
	struct jit_stats js = { 0 };
	if (h->jit)
		jit_get_stats(h->jit, &js);
	if (js.translations)
		jit_flush(h->jit);
	block_table_clear(h);
	block_cache_flush(h);
	h->trim_code_bytes = js.code_bytes;
	h->trim_after_load = true;
	h->trim_window_start = h->trim_asleep_ns = 0;   /* a new window: the load is not idle time */
	hart_update_ctx(h);
	h->poll_countdown = 0;   /* look at the timers at once */
	atomic_fetch_or(&h->attn, ATTN_IRQ);
	return 0;
}

/*
 * `--jit verify`: every translated block is run twice on the live guest,
 * translated and then interpreted from the same state, and the two results
 * are compared; the first divergence stops the hart (HART_EXIT_FATAL) with
 * the instruction's address and both values.
 *
 * How one block is checked: the hart's architectural state is saved, the
 * translation runs exactly one block (the budget allows no chaining), its
 * stores go through the slow path, which logs each old value (verify_log),
 * and a trap is taken as usual.  That result is saved; memory is restored
 * from the log and the state from the snapshot; the interpreter runs the
 * same number of steps with interrupts masked; then registers, the trap
 * CSRs, privilege and every byte the translation stored are compared.
 * A block that touched MMIO is accepted as run (device accesses have side
 * effects and cannot be repeated), and verify mode needs a single vCPU:
 * another vCPU's stores between the two runs would look like divergence.
 */
#include "vmm/cpu/jit/jit_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The state a block (and a trap it takes) can change. */
struct vstate {
	uint64_t x[32], f[32], pc, instret, mstatus;
	uint64_t mepc, mcause, mtval, sepc, scause, stval;
	uint64_t mtvec, stvec, mscratch, sscratch, senvcfg;   /* translated CSR writes */
	uint32_t mcounteren, scounteren;
	uint64_t resv_pa, resv_val, exc_cause, exc_tval;
	uint64_t loop_pc, loop_cause, first_cause, first_pc, first_tval;
	unsigned loop_count, traps_since_xret, priv;
	uint32_t fflags, frm;
	bool resv_valid, fatal;
};

static void save(const struct hart *h, struct vstate *s)
{
	memcpy(s->x, h->x, sizeof(s->x));
	memcpy(s->f, h->f, sizeof(s->f));
#define F(n) s->n = h->n;
	F(pc) F(instret) F(mstatus) F(mepc) F(mcause) F(mtval) F(sepc) F(scause) F(stval)
	F(resv_pa) F(resv_val) F(exc_cause) F(exc_tval) F(loop_pc) F(loop_cause)
	F(first_cause) F(first_pc) F(first_tval) F(loop_count) F(traps_since_xret) F(priv)
	F(fflags) F(frm) F(resv_valid) F(fatal)
	F(mtvec) F(stvec) F(mscratch) F(sscratch) F(senvcfg) F(mcounteren) F(scounteren)
#undef F
}

static void restore(struct hart *h, const struct vstate *s)
{
	memcpy(h->x, s->x, sizeof(s->x));
	memcpy(h->f, s->f, sizeof(s->f));
#define F(n) h->n = s->n;
	F(pc) F(instret) F(mstatus) F(mepc) F(mcause) F(mtval) F(sepc) F(scause) F(stval)
	F(resv_pa) F(resv_val) F(exc_cause) F(exc_tval) F(loop_pc) F(loop_cause)
	F(first_cause) F(first_pc) F(first_tval) F(loop_count) F(traps_since_xret) F(priv)
	F(fflags) F(frm) F(resv_valid) F(fatal)
	F(mtvec) F(stvec) F(mscratch) F(sscratch) F(senvcfg) F(mcounteren) F(scounteren)
#undef F
	hart_update_ctx(h);
}

/* The first difference, as "what: translated X, interpreted Y", or false. */
static bool differ(const struct vstate *j, const struct vstate *i, char *buf, size_t n)
{
	for (unsigned r = 1; r < 32; r++)
		if (j->x[r] != i->x[r]) {
			snprintf(buf, n, "x%u: translated %#llx, interpreted %#llx", r,
				 (unsigned long long)j->x[r], (unsigned long long)i->x[r]);
			return true;
		}
	for (unsigned r = 0; r < 32; r++)
		if (j->f[r] != i->f[r]) {
			snprintf(buf, n, "f%u: translated %#llx, interpreted %#llx", r,
				 (unsigned long long)j->f[r], (unsigned long long)i->f[r]);
			return true;
		}
#define F(name)                                                                          \
	if (j->name != i->name) {                                                        \
		snprintf(buf, n, #name ": translated %#llx, interpreted %#llx",           \
			 (unsigned long long)j->name, (unsigned long long)i->name);      \
		return true;                                                             \
	}
	F(pc) F(instret) F(mstatus) F(priv) F(mepc) F(mcause) F(mtval) F(sepc) F(scause)
	F(stval) F(fflags) F(frm) F(resv_valid)
	F(mtvec) F(stvec) F(mscratch) F(sscratch) F(senvcfg) F(mcounteren) F(scounteren)
#undef F
	return false;
}

void verify_log_store(struct hart *h, uint64_t pa, unsigned size)
{
	struct verify_log *l = h->vlog;
	const uint8_t *p = bus_guest_ptr(h->bus, pa, size);
	if (!p || l->n == VERIFY_LOG_MAX) {
		l->unsafe = true;
		return;
	}
	struct verify_write *w = &l->w[l->n++];
	w->pa = pa;
	w->size = (uint8_t)size;
	memcpy(w->old, p, size);
}

/* What the translation left at every logged place (all of it first: a block
 * may store to one place twice), then the old bytes back, newest first. */
static void undo(struct hart *h, struct verify_log *l)
{
	for (unsigned k = 0; k < l->n; k++) {
		struct verify_write *w = &l->w[k];
		memcpy(w->now, bus_guest_ptr(h->bus, w->pa, w->size), w->size);
	}
	for (unsigned k = l->n; k-- > 0;) {
		struct verify_write *w = &l->w[k];
		memcpy(bus_guest_ptr_w(h->bus, w->pa, w->size), w->old, w->size);
		bus_note_write(h->bus, w->pa, w->size);
	}
}

/* Puts the translation's stores back (when the interpreter's rerun is skipped). */
static void redo(struct hart *h, const struct verify_log *l)
{
	for (unsigned k = 0; k < l->n; k++) {
		const struct verify_write *w = &l->w[k];
		memcpy(bus_guest_ptr_w(h->bus, w->pa, w->size), w->now, w->size);
		bus_note_write(h->bus, w->pa, w->size);
	}
}

struct jit_verify {
	struct vstate before;
	struct verify_log log;
};

struct jit_verify *jit_verify_new(void)
{
	return calloc(1, sizeof(struct jit_verify));
}

void jit_verify_begin(struct hart *h, struct jit_verify *v)
{
	save(h, &v->before);
	v->log.n = 0;
	v->log.unsafe = false;
	h->vlog = &v->log;
}

bool jit_verify_end(struct hart *h, struct jit_verify *v, uint64_t steps)
{
	struct verify_log *l = &v->log;
	h->vlog = NULL;
	if (l->unsafe || steps == 0)
		return true;   /* MMIO (or nothing ran): accepted as run */
	struct vstate jitted, interp;
	save(h, &jitted);
	undo(h, l);
	restore(h, &v->before);

	/* The interpreter alone, no interrupts: exactly the same steps. */
	struct jit *j = h->jit;
	uint64_t mask = h->take_mask;
	h->jit = NULL;
	h->take_mask = 0;
	uint64_t done = 0;
	while (done < steps && !h->fatal) {
		uint64_t d = hart_exec(h, steps - done);
		if (d == 0)
			break;
		done += d;
	}
	h->jit = j;
	h->take_mask = mask;
	if (done < steps && (atomic_load(&h->attn) & ATTN_EXIT)) {
		/* Asked to stop before it finished: keep the translated result. */
		restore(h, &jitted);
		redo(h, l);
		return true;
	}
	hart_update_ctx(h);
	save(h, &interp);

	char what[160];
	bool bad = true;
	if (done != steps)
		snprintf(what, sizeof what, "steps: translated %llu, interpreted %llu",
			 (unsigned long long)steps, (unsigned long long)done);
	else
		bad = differ(&jitted, &interp, what, sizeof what);
	for (unsigned k = 0; !bad && k < l->n; k++) {
		const struct verify_write *w = &l->w[k];
		if (memcmp(bus_guest_ptr(h->bus, w->pa, w->size), w->now, w->size)) {
			snprintf(what, sizeof what, "memory at %#llx", (unsigned long long)w->pa);
			bad = true;
		}
	}
	if (!bad)
		return true;
	snprintf(h->err, sizeof h->err,
		 "jit verify: the block at pc %#llx (privilege %u) diverged after %llu steps: %s",
		 (unsigned long long)v->before.pc, v->before.priv, (unsigned long long)steps, what);
	h->fatal = true;
	h->local_stop = 1;
	return false;
}

/*
 * The Sdtrig trigger module (RISC-V debug specification 1.0, chapter 5
 * "Sdtrig", registers tselect/tdata1/tdata2/tdata3/tinfo and mcontrol,
 * mcontrol6): two address-match triggers, each mcontrol6 (type 6) or
 * mcontrol (type 2), for execute, load and store, with the breakpoint
 * exception as the only action (priv. spec 3.1.15: cause 3, tval the
 * address that matched).  See trigger.h for how the interpreter and a
 * translator find out that a trigger is armed.
 *
 * WARL choices, taken from QEMU 7.2's `virt` hart where the spec allows
 * them, from the spec where QEMU deviates:
 *  - tselect keeps its value on a write of TRIG_N or more (as QEMU).
 *  - tdata1 resets to type 2 with nothing enabled (as QEMU).  Writing a
 *    type other than 2 or 6 (including 0) disables the trigger: type 15,
 *    as the spec asks of triggers supporting several types (QEMU 7.2 keeps
 *    the old value instead, and aborts on types 1, 4, 5, 7).
 *  - Supported fields: m, s, u, execute, store, load; size any, 8, 16, 32
 *    and 64 bits (others read 0); match 0 (equal), 2 (>=) and 3 (<); chain
 *    (not on the last trigger).  dmode, action, select, timing, hit, vs,
 *    vu, uncertain and maskmax are 0: no Debug Mode, breakpoint action,
 *    address compare, "before" timing.  QEMU 7.2 keeps only match 0 and no
 *    chain, so software probing by read-back sees less there.
 *  - tdata2 holds any 64-bit value; tdata3 (textra) reads 0, writes ignored.
 *  - tinfo: version 1 (Sdtrig 1.0) with types 2, 6 and 15 (QEMU 7.2: 2, 6).
 *  - No tcontrol, mcontext or scontext (QEMU 7.2 has none): action-0
 *    triggers fire in M-mode whenever m is set, MIE or not, as on QEMU.
 * Compare values: an execute trigger compares the instruction's address;
 * a load/store compares every byte address of the access (the spec's
 * recommendation for select=0), so tval is the byte address that matched.
 * A chain fires only when all its triggers match the same access; a chain
 * mixing execute with load/store triggers never fires (they are checked
 * at different points of the instruction).
 */
#include "vmm/cpu/hart_internal.h"
#include "vmm/cpu/ops.h"

#include <string.h>

#define CSR_TSELECT 0x7a0
#define CSR_TDATA1 0x7a1
#define CSR_TDATA2 0x7a2
#define CSR_TDATA3 0x7a3
#define CSR_TINFO 0x7a4

#define TYPE_SHIFT 60
#define TYPE_MCONTROL 2ull
#define TYPE_MCONTROL6 6ull
#define TYPE_DISABLED 15ull

/* Fields common to mcontrol and mcontrol6. */
#define TD1_LOAD (1ull << 0)
#define TD1_STORE (1ull << 1)
#define TD1_EXEC (1ull << 2)
#define TD1_U (1ull << 3)
#define TD1_S (1ull << 4)
#define TD1_M (1ull << 6)
#define TD1_MATCH_SHIFT 7
#define TD1_CHAIN (1ull << 11)
#define TD1_KEEP (TD1_LOAD | TD1_STORE | TD1_EXEC | TD1_U | TD1_S | TD1_M)

#define TINFO_VALUE ((1ull << 24) | (1ull << TYPE_MCONTROL) | (1ull << TYPE_MCONTROL6) | \
		     (1ull << TYPE_DISABLED))

/* Access size in bytes per size encoding; 0 = unsupported (or any, for 0). */
static const uint8_t size_bytes[16] = { 0, 1, 2, 4, 0, 8 };

static unsigned td1_type(uint64_t d1) { return (unsigned)(d1 >> TYPE_SHIFT); }

static unsigned td1_size(uint64_t d1)
{
	if (td1_type(d1) == TYPE_MCONTROL6)
		return (unsigned)(d1 >> 16) & 7;
	return ((unsigned)(d1 >> 16) & 3) | ((unsigned)(d1 >> 21) & 3) << 2;   /* sizelo, sizehi */
}

static bool is_match_trigger(uint64_t d1)
{
	return td1_type(d1) == TYPE_MCONTROL || td1_type(d1) == TYPE_MCONTROL6;
}

/* The WARL value tdata1 of trigger idx takes when v is written. */
static uint64_t legalize_tdata1(unsigned idx, uint64_t v)
{
	uint64_t type = v >> TYPE_SHIFT;
	if (type != TYPE_MCONTROL && type != TYPE_MCONTROL6)
		return TYPE_DISABLED << TYPE_SHIFT;
	uint64_t r = type << TYPE_SHIFT | (v & TD1_KEEP);
	unsigned size = td1_size(v);
	if (size < sizeof(size_bytes) && size_bytes[size]) {
		if (type == TYPE_MCONTROL6)
			r |= (uint64_t)size << 16;
		else
			r |= (uint64_t)(size & 3) << 16 | (uint64_t)(size >> 2) << 21;
	}
	unsigned match = (unsigned)(v >> TD1_MATCH_SHIFT) & 15;
	if (match == 2 || match == 3)
		r |= (uint64_t)match << TD1_MATCH_SHIFT;
	/* The last trigger has no successor to chain to. */
	if ((v & TD1_CHAIN) && idx + 1 < TRIG_N)
		r |= TD1_CHAIN;
	return r;
}

static void update_armed(struct hart *h)
{
	uint32_t armed = 0;
	for (unsigned i = 0; i < TRIG_N; i++) {
		uint64_t d1 = h->trig.tdata1[i];
		if (!is_match_trigger(d1) || !(d1 & (TD1_M | TD1_S | TD1_U)))
			continue;
		if (d1 & TD1_EXEC)
			armed |= TRIG_ARMED_EXEC;
		if (d1 & (TD1_LOAD | TD1_STORE))
			armed |= TRIG_ARMED_MEM;
	}
	/* Newly armed: drop the TLB entries that let accesses (data TLBs) or
	 * whole blocks (fetch TLB) bypass the checks in the slow paths. */
	if (armed & ~h->trig_armed)
		tlb_flush_all(h);
	h->trig_armed = armed;
}

void trigger_reset(struct hart *h)
{
	memset(&h->trig, 0, sizeof(h->trig));
	for (unsigned i = 0; i < TRIG_N; i++)
		h->trig.tdata1[i] = TYPE_MCONTROL << TYPE_SHIFT;
	h->trig_armed = 0;
}

bool trigger_is_csr(unsigned csr)
{
	return csr >= CSR_TSELECT && csr <= CSR_TINFO;
}

int trigger_csr_read(struct hart *h, unsigned csr, uint64_t *v)
{
	const struct trigger_state *t = &h->trig;
	switch (csr) {
	case CSR_TSELECT: *v = t->tselect; return 0;
	case CSR_TDATA1: *v = t->tdata1[t->tselect]; return 0;
	case CSR_TDATA2: *v = t->tdata2[t->tselect]; return 0;
	case CSR_TDATA3: *v = 0; return 0;
	case CSR_TINFO: *v = TINFO_VALUE; return 0;
	default: return -1;
	}
}

void trigger_csr_write(struct hart *h, unsigned csr, uint64_t v)
{
	struct trigger_state *t = &h->trig;
	switch (csr) {
	case CSR_TSELECT:
		if (v < TRIG_N)
			t->tselect = (uint32_t)v;
		break;
	case CSR_TDATA1:
		t->tdata1[t->tselect] = legalize_tdata1(t->tselect, v);
		update_armed(h);
		break;
	case CSR_TDATA2:
		t->tdata2[t->tselect] = v;
		break;
	default:
		break;   /* tdata3: no textra conditions; tinfo is read-only */
	}
}

/*
 * Whether trigger i matches an access of `kind` at addr by the current
 * privilege.  len: the access size in bytes (the instruction length for
 * execute; 0 when not known, which only size-any triggers match).  For
 * loads and stores the compare values are addr .. addr+len-1, for execute
 * only addr.  *hit: the compare value that matched.
 */
static bool trigger_matches(const struct hart *h, unsigned i, unsigned kind, uint64_t addr,
			    unsigned len, uint64_t *hit)
{
	uint64_t d1 = h->trig.tdata1[i], t2 = h->trig.tdata2[i];
	if (!is_match_trigger(d1) || !(d1 & kind))
		return false;
	uint64_t mode = h->priv == PRV_M ? TD1_M : h->priv == PRV_S ? TD1_S : TD1_U;
	if (!(d1 & mode))
		return false;
	unsigned size = td1_size(d1);
	if (size && size_bytes[size] != len)
		return false;
	uint64_t last = addr;
	if (kind != TRIG_EXEC && len > 1) {
		last = addr + len - 1;
		if (last < addr)
			last = UINT64_MAX;   /* wrapped: compare up to the top */
	}
	switch ((d1 >> TD1_MATCH_SHIFT) & 15) {
	case 0:
		*hit = t2;
		return t2 >= addr && t2 <= last;
	case 2:
		*hit = addr > t2 ? addr : t2;
		return last >= t2;
	case 3:
		*hit = addr;
		return addr < t2;
	default:
		return false;
	}
}

/* Trigger chains (the chain field of mcontrol/mcontrol6): a chain is a run
 * of triggers with chain = 1 ended by one with chain = 0, and its last
 * trigger fires when every trigger in it matches this access.  mtval is the
 * address that made the first of them match. */
static bool trigger_fires(struct hart *h, unsigned kind, uint64_t addr, unsigned len,
			  uint64_t *tval)
{
	bool all = true;
	uint64_t first = 0;
	bool have_first = false;
	for (unsigned i = 0; i < TRIG_N; i++) {
		uint64_t d1 = h->trig.tdata1[i], hit = 0;
		bool m = trigger_matches(h, i, kind, addr, len, &hit);
		all = all && m;
		if (m && !have_first) {
			first = hit;
			have_first = true;
		}
		if (is_match_trigger(d1) && (d1 & TD1_CHAIN))
			continue;
		if (all) {
			*tval = first;
			return true;
		}
		all = true;
		have_first = false;
	}
	return false;
}

bool trigger_check_mem(struct hart *h, uint64_t va, unsigned size, unsigned kind)
{
	uint64_t tval;
	for (unsigned k = TRIG_LOAD; k <= TRIG_STORE; k <<= 1) {
		if ((kind & k) && trigger_fires(h, k, va, size, &tval)) {
			h->exc_cause = EXC_BREAKPOINT;
			h->exc_tval = tval;
			return true;
		}
	}
	return false;
}

struct block *trigger_fetch_block(struct hart *h, uint64_t pc)
{
	uint32_t raw = 0;
	uint64_t pa, tval;
	if (fetch_insn_slow(h, pc, &raw) != 0) {
		/* A fault in the second half still tells the length. */
		unsigned len = h->exc_tval != pc ? 4 : 0;
		uint64_t cause = h->exc_cause, ftval = h->exc_tval;
		if (trigger_fires(h, TRIG_EXEC, pc, len, &tval))
			trap_take(h, EXC_BREAKPOINT, tval);
		else
			trap_take(h, cause, ftval);
		return NULL;
	}
	unsigned len = (raw & 3) == 3 ? 4 : 2;
	if (trigger_fires(h, TRIG_EXEC, pc, len, &tval)) {
		trap_take(h, EXC_BREAKPOINT, tval);
		return NULL;
	}
	/* Cannot fault: fetch_insn_slow just translated it. */
	if (mmu_translate(h, pc, 2, ACC_FETCH, h->priv, &pa) != 0)
		pa = pc;
	struct insn *in = &h->scratch_insn[0];
	if (len == 4 && (pc & (PAGE_SIZE - 1)) == PAGE_SIZE - 2) {
		/* Straddles a page: OP_CROSS re-fetches both halves itself. */
		memset(in, 0, sizeof(*in));
		in->op = OP_CROSS;
		in->len = 4;
	} else {
		decode_insn(raw, in);
		in->pcoff = 0;
	}
	h->scratch.ppc = pa;
	h->scratch.insn = in;
	h->scratch.ninsn = 1;
	h->scratch.nbytes = (uint16_t)len;
	h->scratch.chain[0] = h->scratch.chain[1] = NULL;
	h->scratch.taken = h->scratch.fallen = 0;
	h->scratch.jit = NULL;
	return &h->scratch;
}

/*
 * The debug trigger module (Sdtrig, RISC-V debug specification 1.0 chapter
 * 5 "Sdtrig"): the CSRs tselect (0x7a0), tdata1 (0x7a1), tdata2 (0x7a2),
 * tdata3 (0x7a3) and tinfo (0x7a4), with TRIG_N triggers of type 6
 * (mcontrol6) or 2 (mcontrol) matching execute, load and store addresses
 * and raising a breakpoint exception (action 0), as QEMU's `virt` hart does.
 * There is no Debug Mode (dmode reads 0) and no tcontrol (QEMU 7.2 has
 * none), so action-0 triggers fire in M-mode whenever their M bit is set.
 *
 * For translators (the JIT) and the interpreter's fast paths, the only
 * field to look at is `struct hart`'s `trig_armed` (TRIG_ARMED_*):
 *  - 0: no trigger can fire; run as usual.
 *  - TRIG_ARMED_EXEC: an execute trigger is enabled in some mode.  Arming
 *    flushed the fetch TLB and block_lookup_slow() then never refills it:
 *    every instruction comes from trigger_fetch_block() as a one-instruction
 *    uncached block (h->scratch, jit == NULL), checked before it runs.  Do
 *    not run or chain translated code while this bit is set.
 *  - TRIG_ARMED_MEM: a load or store trigger is enabled.  Arming flushed the
 *    data TLBs and tlb_fill() leaves them empty, so every load, store and
 *    AMO takes the mmu.c slow path, which checks the address before the
 *    access (a matching store writes nothing).  Generated code must not
 *    access guest memory other than through those slow paths while set.
 * The bit is only ever set by a tdata1 write (a CSR instruction, which ends
 * its block), so checking it on block entry is enough.
 */
#ifndef NIMBUS_VMM_CPU_TRIGGER_H
#define NIMBUS_VMM_CPU_TRIGGER_H

#include <stdbool.h>
#include <stdint.h>

struct hart;
struct block;

#define TRIG_N 2   /* as QEMU's RV_MAX_TRIGGERS */

enum { TRIG_ARMED_EXEC = 1, TRIG_ARMED_MEM = 2 };

/* Access kinds: the bit positions of mcontrol/mcontrol6 load, store, execute. */
enum { TRIG_LOAD = 1, TRIG_STORE = 2, TRIG_EXEC = 4 };

/* Architectural state only (no pointers): tdata3 reads 0, so is not kept. */
struct trigger_state {
	uint64_t tdata1[TRIG_N];
	uint64_t tdata2[TRIG_N];
	uint32_t tselect;
};

/* Reset values: every trigger an mcontrol (type 2) with nothing enabled. */
void trigger_reset(struct hart *h);

/* CSRs 0x7a0-0x7a4 (privilege already checked by number); read: 0 or -1. */
bool trigger_is_csr(unsigned csr);
int trigger_csr_read(struct hart *h, unsigned csr, uint64_t *v);
void trigger_csr_write(struct hart *h, unsigned csr, uint64_t v);

/*
 * A load/store/AMO of `size` bytes at va, `kind` TRIG_LOAD and/or
 * TRIG_STORE: true if a trigger fires, with the breakpoint exception set
 * in h->exc_cause/exc_tval (the caller takes it and skips the access).
 */
bool trigger_check_mem(struct hart *h, uint64_t va, unsigned size, unsigned kind);

/*
 * Block lookup while TRIG_ARMED_EXEC: fetches and decodes the one
 * instruction at pc into h->scratch, or takes the trap (a firing execute
 * trigger, which outranks fetch faults, or the fetch fault) and returns NULL.
 */
struct block *trigger_fetch_block(struct hart *h, uint64_t pc);

#endif

/*
 * The host's floating-point unit as a fast path for F/D arithmetic (x86-64:
 * SSE2, and FMA3 where the CPU has it).  fpu.c stays the definition: its
 * tests check it against this same host unit on random operands, with one
 * adjustment applied here too (a NaN result becomes RISC-V's canonical NaN)
 * and MXCSR's sticky flags mapped to fflags.  Only the rounding modes SSE
 * has (RNE, RTZ, RDN, RUP) take this path; RMM stays in fpu.c.
 */
#ifndef NIMBUS_VMM_CPU_FP_HOST_H
#define NIMBUS_VMM_CPU_FP_HOST_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Computes decoded F/D op `op` (ops.h) on the operands (a, b, c as 64-bit
 * register values, already unboxed for single precision) under rounding
 * mode rm for hart `owner`; true with the f-register result and the flags
 * to OR into fflags (they may repeat flags already there), false if the
 * host path does not do this op or mode (the caller uses fpu.c).
 */
bool fp_host(uint64_t owner, unsigned op, uint64_t a, uint64_t b, uint64_t c, unsigned rm,
	     uint64_t *result, unsigned *flags);

/* A unique owner id for a hart (never 0). */
uint64_t fp_host_new_owner(void);
/* The guest wrote fflags: flags the host unit holds for this thread's hart go. */
void fp_host_forget(void);
/* Hart `owner` is about to run translated code on this thread, whose inline
 * F/D operations leave their flags in the host unit: make the flags it holds
 * that hart's (dropping another's or stale ones), as fp_host's invariant says. */
void fp_host_claim(uint64_t owner);
/* Translated code is done (or about to read fflags): OR the flags its inline
 * operations left in the host unit into the claiming hart's fflags. */
void fp_host_settle(uint32_t *fflags);
/* fflags for the host unit's six status flags (x86: MXCSR bits 0..5). */
extern const uint8_t fp_host_flag_map[64];

#endif

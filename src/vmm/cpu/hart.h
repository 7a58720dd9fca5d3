/*
 * A RISC-V RV64GC hart (hardware thread): the only CPU interface the rest of
 * the VMM sees.  The hart fetches and stores through a struct bus and knows
 * nothing about which devices exist.  Platform interrupt inputs (the mip bits
 * the CLINT and PLIC drive) and the machine-timer comparator come in through
 * the thread-safe calls below; the board wires devices to them.
 *
 * Threading: hart_run() runs on the hart's own vCPU thread.  hart_set_irq(),
 * hart_set_mtimecmp() and hart_request_exit() may be called from any thread.
 */
#ifndef NIMBUS_VMM_CPU_HART_H
#define NIMBUS_VMM_CPU_HART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bus;
struct vclock;
struct hart;

/* mip bit numbers (privileged spec, "Machine Interrupt Registers"). */
enum {
	HART_IRQ_SSIP = 1,
	HART_IRQ_MSIP = 3,
	HART_IRQ_STIP = 5,
	HART_IRQ_MTIP = 7,
	HART_IRQ_SEIP = 9,
	HART_IRQ_MEIP = 11,
};

struct hart_config {
	unsigned hartid;           /* mhartid */
	struct bus *bus;           /* shared by all harts of the VM */
	const struct vclock *clock;/* the `time` CSR; shared, read-only */
	uint64_t reset_pc;         /* M-mode, all registers zero */
	size_t jit_cache_bytes;    /* translated-code cache; 0 = interpreter only */
	bool jit_verify;           /* rerun every translated block in the interpreter */
};

enum hart_exit {
	HART_EXIT_REQUESTED,       /* hart_request_exit() was called */
	HART_EXIT_FATAL,           /* unrecoverable guest state; see hart_error() */
};

struct hart *hart_new(const struct hart_config *cfg);
void hart_free(struct hart *h);

/*
 * Runs the hart until hart_request_exit() or a fatal guest error (e.g. a trap
 * whose handler address itself faults, endlessly).  Sleeps in WFI without
 * spinning until an interrupt is pending or a timer is due.
 */
enum hart_exit hart_run(struct hart *h);

/* Asks hart_run() to return soon; wakes it from WFI. Sticky until hart_run returns. */
void hart_request_exit(struct hart *h);

/* Drives platform interrupt input `bit` (HART_IRQ_*) to level; wakes WFI. */
void hart_set_irq(struct hart *h, unsigned bit, int level);

/* The CLINT's mtimecmp for this hart: MTIP is pending while time >= ticks. */
void hart_set_mtimecmp(struct hart *h, uint64_t ticks);

/* A one-line description of why hart_run() returned HART_EXIT_FATAL. */
const char *hart_error(const struct hart *h);

uint64_t hart_pc(const struct hart *h);
unsigned hart_id(const struct hart *h);
uint64_t hart_instret(const struct hart *h);

struct jit_stats;
/* Translator statistics; false if the hart runs the interpreter only. */
bool hart_jit_stats(const struct hart *h, struct jit_stats *out);

/*
 * Snapshot (hart_snapshot.c): the hart's architectural state as explicit
 * little-endian fields (registers, pc, privilege, every CSR, FP state,
 * reservation, timers, pending interrupts), never its caches.  The hart must
 * not be running (its vCPU parked or not started).  hart_save writes the
 * payload of a section the caller opened; hart_load reads one and flushes
 * the TLBs, the decoded-block cache and the translations.  0 or -errno.
 */
struct snap_out;
struct snap_in;
void hart_save(const struct hart *h, struct snap_out *out);
int hart_load(struct hart *h, struct snap_in *in);
#define HART_SNAP_VERSION 1u

#endif

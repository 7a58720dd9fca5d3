/*
 * The riscv-tests "tohost" exit convention (HTIF device 0, command 0): a
 * program stores 1 to its `tohost` word to pass, (n << 1) | 1 to fail with
 * code n.  The CPU knows nothing of it; the VM's monitor thread polls the
 * word in guest RAM.  Other HTIF requests (a non-zero device/command in bits
 * 63:48, or an even value: a syscall buffer pointer) are not ours and are
 * left untouched; an exit request is cleared once read.
 */
#ifndef NIMBUS_VMM_BOARD_TOHOST_H
#define NIMBUS_VMM_BOARD_TOHOST_H

#include <stdint.h>

struct bus;

enum tohost_result {
	TOHOST_NONE,
	TOHOST_PASS,
	TOHOST_FAIL,   /* *code holds n */
};

enum tohost_result tohost_poll(struct bus *bus, uint64_t addr, int *code);

#endif

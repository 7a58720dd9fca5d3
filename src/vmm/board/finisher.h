/*
 * The SiFive test finisher ("sifive,test0"/"sifive,test1"): one 32-bit
 * register at offset 0.  A guest store of 0x5555 powers off (pass), of
 * 0x3333 | code << 16 fails with `code`, of 0x7777 resets the machine; any
 * other value is ignored and reads return 0 (as QEMU's device).  The device
 * only reports the request through `notify`; the VM decides what it means.
 * Stateless, so it needs no lock and its reset does nothing.
 */
#ifndef NIMBUS_VMM_BOARD_FINISHER_H
#define NIMBUS_VMM_BOARD_FINISHER_H

#include "vmm/bus.h"
#include "vmm/device.h"

enum finisher_event {
	FINISHER_PASS,
	FINISHER_FAIL,
	FINISHER_RESET,
};

#define FINISHER_FAIL_VALUE  0x3333
#define FINISHER_PASS_VALUE  0x5555
#define FINISHER_RESET_VALUE 0x7777

struct finisher {
	/* Called on the storing vCPU thread; code is meaningful for FAIL. */
	void (*notify)(void *ctx, enum finisher_event ev, int code);
	void *ctx;
};

extern const struct mmio_ops finisher_ops;
/* The device type (device.h); obj is the struct finisher. */
extern const struct device_ops finisher_device;

void finisher_init(struct finisher *t,
		      void (*notify)(void *ctx, enum finisher_event ev, int code),
		      void *ctx);
void finisher_reset(struct finisher *t);

#endif

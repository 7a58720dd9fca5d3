/*
 * A pvpanic device on MMIO (QEMU's pvpanic, docs/specs/pvpanic.rst; Linux
 * drivers/misc/pvpanic/pvpanic-mmio.c, compatible "qemu,pvpanic-mmio"): one
 * byte register at offset 0.  Reads return the events the device supports
 * (PANICKED | CRASH_LOADED); a guest kernel writes PANICKED from its panic
 * notifier, before it spins (panic=0) or reboots (panic=N), and
 * CRASH_LOADED when it starts a crash kernel.  The device only reports the
 * event through `notify`; the VM decides what it means (--on-panic).
 * Stateless, so it needs no lock and no reset.
 *
 * QEMU's riscv virt board has no pvpanic: nimbus puts it at
 * VIRT_PVPANIC_BASE (board/virt.h), a hole in QEMU's map next to the RTC,
 * and names it in the FDT only when it is present.
 */
#ifndef NIMBUS_VMM_BOARD_PVPANIC_H
#define NIMBUS_VMM_BOARD_PVPANIC_H

#include "vmm/bus.h"
#include "vmm/device.h"

#define PVPANIC_PANICKED     (1u << 0)
#define PVPANIC_CRASH_LOADED (1u << 1)

struct pvpanic {
	/* Called on the storing vCPU thread with the event bits written. */
	void (*notify)(void *ctx, unsigned events);
	void *ctx;
};

extern const struct mmio_ops pvpanic_ops;
/* The device type (device.h); obj is the struct pvpanic. */
extern const struct device_ops pvpanic_device;

void pvpanic_init(struct pvpanic *p, void (*notify)(void *ctx, unsigned events), void *ctx);

#endif

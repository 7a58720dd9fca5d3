/*
 * The virt board's reset ROM (MROM) at 0x1000: every hart starts here.  It
 * holds the same reset program QEMU's virt machine uses, followed by the
 * OpenSBI fw_dynamic_info block:
 *
 *   0x00 auipc t0, 0               t0 = 0x1000
 *   0x04 addi  a2, t0, 0x28        a2 = &fw_dynamic_info
 *   0x08 csrr  a0, mhartid         a0 = hart id
 *   0x0c ld    a1, 0x20(t0)        a1 = FDT address
 *   0x10 ld    t0, 0x18(t0)        t0 = start address
 *   0x14 jr    t0
 *   0x18 .dword start   0x20 .dword fdt   0x28 struct fw_dynamic_info
 *
 * fw_dynamic_info is OpenSBI's handoff record (docs/firmware/fw_dynamic.md):
 * magic "OSBI", version 2, the next stage's address and privilege mode,
 * options, the preferred boot hart.  The ROM is written only while no hart
 * runs (at boot and reboot), so reads need no lock; guest writes are ignored.
 */
#ifndef NIMBUS_VMM_BOARD_MROM_H
#define NIMBUS_VMM_BOARD_MROM_H

#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/device.h"

#define FW_DYNAMIC_INFO_MAGIC   0x4942534full   /* "OSBI" */
#define FW_DYNAMIC_INFO_VERSION 2
#define FW_DYNAMIC_NEXT_MODE_U  0
#define FW_DYNAMIC_NEXT_MODE_S  1
#define FW_DYNAMIC_NEXT_MODE_M  3

#define MROM_FW_DYNAMIC_OFFSET  0x28

struct fw_dynamic_info {
	uint64_t magic;
	uint64_t version;
	uint64_t next_addr;
	uint64_t next_mode;
	uint64_t options;
	uint64_t boot_hart;
};

struct mrom {
	uint8_t data[MROM_FW_DYNAMIC_OFFSET + sizeof(struct fw_dynamic_info)];
};

extern const struct mmio_ops mrom_ops;
/* The device type (device.h); obj is the struct mrom. */
extern const struct device_ops mrom_device;

/* Writes the reset program: harts jump to `start` with a1 = fdt. */
void mrom_setup(struct mrom *m, uint64_t start, uint64_t fdt,
		const struct fw_dynamic_info *info);

#endif

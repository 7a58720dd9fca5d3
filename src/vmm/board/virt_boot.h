/*
 * Where the virt board puts its boot images, as QEMU 7.2's virt machine
 * does (hw/riscv/boot.c behaviour):
 *
 *   firmware  at RAM base (an ELF at its own physical addresses); the
 *             reset ROM jumps to RAM base;
 *   kernel    with firmware: at the firmware's end rounded up to 2 MiB
 *             (0x80200000 for OpenSBI); with no firmware ("--bios none"):
 *             at RAM base, and the ROM jumps to the kernel's entry in
 *             M-mode; an ELF kernel keeps its own addresses;
 *   initrd    at kernel entry + min(RAM/2, 128 MiB);
 *   FDT       at (min(RAM end, 3 GiB) if RAM starts below 3 GiB, else RAM
 *             end) - FDT size, rounded down to 2 MiB;
 *   fw_dynamic_info: next stage = kernel entry (0 without a kernel), S-mode,
 *             boot hart 0.
 *
 * The plan rejects, with one line naming the image, anything that falls
 * outside RAM or overlaps another image or the FDT (RAM too small).
 */
#ifndef NIMBUS_VMM_BOARD_VIRT_BOOT_H
#define NIMBUS_VMM_BOARD_VIRT_BOOT_H

#include <stdint.h>

#include "lib/err.h"
#include "vmm/board/loader.h"
#include "vmm/board/mrom.h"

struct virt_boot_plan {
	uint64_t start;             /* where the reset ROM jumps */
	uint64_t kernel_entry;      /* 0 without a kernel */
	uint64_t initrd_start, initrd_end;
	uint64_t fdt_addr;
	struct fw_dynamic_info info;
};

/*
 * bios, kernel and initrd may each be NULL (not both bios and kernel).
 * Places the relocatable images and fills plan.  fdt_size: the blob's size.
 */
int virt_boot_plan(struct image *bios, struct image *kernel, struct image *initrd,
		   uint64_t ram_base, uint64_t ram_size, uint64_t fdt_size,
		   struct virt_boot_plan *plan, struct err *err);

#endif

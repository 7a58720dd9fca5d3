/*
 * The flattened device tree of the virt board, built at boot with libfdt,
 * describing exactly the devices nimbus provides, with the node names,
 * properties and phandle wiring of QEMU 7.2's virt machine (compare with
 * `qemu-system-riscv64 -M virt,dumpdtb=x.dtb`): /cpus (timebase 10 MHz,
 * one cpu@N per hart with its riscv,cpu-intc, cpu-map), /memory, /chosen
 * (bootargs, stdout-path, initrd range, rng-seed), /soc with the RTC, UART,
 * test finisher (+ syscon poweroff/reboot nodes), 8 virtio_mmio slots
 * (listed from the highest address down, as QEMU does), PLIC and CLINT.
 * QEMU-only devices (PCIe, flash, fw_cfg, platform bus, PMU node) are absent.
 *
 * The blob's totalsize is VIRT_FDT_TOTAL (1 MiB, like QEMU's), leaving free
 * space inside it for firmware that edits the tree in place (OpenSBI adds
 * reserved-memory nodes); its placement in RAM follows from that size.
 */
#ifndef NIMBUS_VMM_BOARD_VIRT_FDT_H
#define NIMBUS_VMM_BOARD_VIRT_FDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define VIRT_FDT_TOTAL (1u << 20)
#define VIRT_RNG_SEED_LEN 32

/* The ISA the CPU implements, as the device tree states it. */
#define VIRT_CPU_ISA "rv64imafdc_zicsr_zifencei_zicntr_zihintpause_zihpm_sstc"
#define VIRT_CPU_MMU "riscv,sv57"

struct virt_fdt_config {
	unsigned ncpus;
	uint64_t ram_base, ram_size;
	const char *bootargs;                 /* may be NULL */
	bool has_initrd;
	uint64_t initrd_start, initrd_end;
	uint8_t rng_seed[VIRT_RNG_SEED_LEN];
	bool pvpanic;                         /* a pvpanic@102000 node (not in QEMU's tree) */
};

/* Builds the tree into a malloc'ed VIRT_FDT_TOTAL-byte buffer. */
int virt_fdt_build(const struct virt_fdt_config *cfg, void **out, struct err *err);

#endif

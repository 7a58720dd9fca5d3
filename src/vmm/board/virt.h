/*
 * The memory map and interrupt numbers of the board, identical to QEMU's
 * riscv64 `virt` machine (QEMU 7.2, hw/riscv/virt.c as documented by the FDT
 * it generates), so firmware and kernels built for that machine run
 * unchanged.  Only the devices nimbus implements are listed; everything else
 * in QEMU's map (flash, PCIe, fw_cfg, platform bus) is absent and absent
 * from the FDT.
 */
#ifndef NIMBUS_VMM_BOARD_VIRT_H
#define NIMBUS_VMM_BOARD_VIRT_H

#define VIRT_MROM_BASE      0x1000ull
#define VIRT_MROM_SIZE      0xf000ull
#define VIRT_TEST_BASE      0x100000ull
#define VIRT_TEST_SIZE      0x1000ull
#define VIRT_RTC_BASE       0x101000ull
#define VIRT_RTC_SIZE       0x1000ull
#define VIRT_PVPANIC_BASE   0x102000ull   /* nimbus only: QEMU's riscv virt has no pvpanic */
#define VIRT_PVPANIC_SIZE   0x1000ull
#define VIRT_CLINT_BASE     0x2000000ull
#define VIRT_CLINT_SIZE     0x10000ull
#define VIRT_PLIC_BASE      0xc000000ull
#define VIRT_PLIC_SIZE      0x600000ull   /* QEMU sizes it for its 512-hart maximum */
#define VIRT_UART0_BASE     0x10000000ull
#define VIRT_UART0_SIZE     0x100ull
#define VIRT_VIRTIO_BASE    0x10001000ull
#define VIRT_VIRTIO_SIZE    0x1000ull     /* per slot; slot i at BASE + i * SIZE */
#define VIRT_VIRTIO_COUNT   8
#define VIRT_DRAM_BASE      0x80000000ull

/* PLIC source numbers. */
#define VIRT_IRQ_VIRTIO0    1             /* slot i raises source 1 + i */
#define VIRT_IRQ_UART0      10
#define VIRT_IRQ_RTC        11
#define VIRT_PLIC_NDEV      96            /* riscv,ndev: sources 1..96 exist */

#define VIRT_UART0_CLOCK    3686400u
#define VIRT_TIMEBASE_HZ    10000000u

#endif

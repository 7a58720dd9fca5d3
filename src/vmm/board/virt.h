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

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"

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

/* Harts the board wires (CLINT lines, PLIC contexts, FDT cpu nodes). */
#define VM_MAX_CPUS 8

/* PLIC source numbers. */
#define VIRT_IRQ_VIRTIO0    1             /* slot i raises source 1 + i */
#define VIRT_IRQ_UART0      10
#define VIRT_IRQ_RTC        11
#define VIRT_PLIC_NDEV      96            /* riscv,ndev: sources 1..96 exist */

#define VIRT_UART0_CLOCK    3686400u
#define VIRT_TIMEBASE_HZ    10000000u

/*
 * The board's wiring (virt.c): creates the devices of the map above, maps
 * them on the bus, connects their interrupt lines, and adds each to the VM's
 * device list (device.h), which then resets and destroys them.  The harts are
 * the VM's: the board reaches them only through the lines in `hooks`.
 */
struct bus;
struct vclock;
struct vm_config;
struct device_list;
struct virt_board;
struct virtio_device;
struct virt_boot_plan;
struct irq_line;

struct virt_hooks {
	void *ctx;
	/* The line driving mip bit `bit` (HART_IRQ_*) of hart `hart`. */
	struct irq_line (*hart_line)(void *ctx, unsigned hart, unsigned bit);
	/* mtimecmp of hart `hart` (the CLINT's timer line). */
	void (*hart_timer)(void *ctx, unsigned hart, uint64_t ticks);
	/* The test finisher was written: event is a enum finisher_event. */
	void (*finisher)(void *ctx, int event, int code);
	/* pvpanic events (PVPANIC_*). */
	void (*panic)(void *ctx, unsigned events);
	/* The RTC's alarm deadline changed: poll virt_board_rtc_poll again. */
	void (*rtc_kick)(void *ctx);
	/* Where devices log (log.h); must outlive the board. */
	const struct log_sink *log;
};

/* 0, or -errno with err naming the device.  On failure the devices created
 * so far are on `devs` (destroy them with the list), and *out is the board
 * to free after that (or NULL). */
int virt_board_create(const struct vm_config *cfg, struct bus *bus, const struct vclock *clock,
		      const struct virt_hooks *hooks, struct device_list *devs,
		      struct virt_board **out, struct err *err);
/* Frees the board's memory; its devices must already be destroyed (the list). */
/* Stops the virtio devices' shared I/O thread (io_hub.h), which polls the
 * transports' kick descriptors: before the device list destroys them. */
void virt_board_stop_io(struct virt_board *b);
void virt_board_free(struct virt_board *b);

/* Power-on: writes a fresh FDT (bootargs may be NULL) and the reset ROM. */
int virt_board_boot(struct virt_board *b, struct bus *bus, const struct virt_boot_plan *plan,
		    const char *bootargs, bool has_initrd, struct err *err);

/* Fires a due RTC alarm; host ns until the next one, or -1. */
int64_t virt_board_rtc_poll(struct virt_board *b);
/* The virtio-balloon, or NULL. */
struct virtio_device *virt_board_balloon(struct virt_board *b);
/* The i-th --disk / --net device (command-line order), or NULL. */
struct virtio_device *virt_board_disk(struct virt_board *b, unsigned i);
struct virtio_device *virt_board_net(struct virt_board *b, unsigned i);
/* The i-th hot-plug disk slot (vm_config.disk_slots), or NULL. */
struct virtio_device *virt_board_disk_slot(struct virt_board *b, unsigned i);
/* The i-th hot-plug NIC slot (vm_config.net_slots), or NULL. */
struct virtio_device *virt_board_nic_slot(struct virt_board *b, unsigned i);

#endif

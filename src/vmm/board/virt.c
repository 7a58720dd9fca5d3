/*
 * The virt board's wiring (see virt.h): which devices exist, where they sit
 * on the bus, which PLIC source each raises, and the order they are created
 * in, which is the order of the VM's device list: the PLIC first (everything
 * raises its lines through it), then the CLINT, the UART, the RTC, the
 * finisher, pvpanic, the reset ROM and the virtio transports.  Adding a
 * device is one new file and a few lines here.
 */
#include "vmm/board/virt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "vmm/board/clint.h"
#include "vmm/board/finisher.h"
#include "vmm/board/goldfish_rtc.h"
#include "vmm/board/mrom.h"
#include "vmm/board/plic.h"
#include "vmm/board/pvpanic.h"
#include "vmm/board/uart16550.h"
#include "vmm/board/virt_boot.h"
#include "vmm/board/virt_fdt.h"
#include "vmm/board/virtio_slot.h"
#include "vmm/bus.h"
#include "vmm/clock.h"
#include "vmm/cpu/hart.h"
#include "vmm/device.h"
#include "vmm/virtio/mmio.h"
#include "vmm/vm.h"
#include "vmm/vm_virtio.h"
#include "vmm/virtio/io_hub.h"

struct virt_board {
	struct virt_hooks hooks;
	unsigned ncpus;
	bool pvpanic_on;
	struct mrom mrom;
	struct finisher finisher;
	struct pvpanic pvpanic;
	struct goldfish_rtc rtc;
	struct clint clint;
	struct plic plic;
	struct uart16550 uart;
	struct virtio_slot virtio[VIRT_VIRTIO_COUNT];
	struct vm_virtio vio;
};

static void finisher_event(void *ctx, enum finisher_event ev, int code)
{
	struct virt_board *b = ctx;
	b->hooks.finisher(b->hooks.ctx, (int)ev, code);
}

static void timer_line(void *ctx, unsigned idx, uint64_t ticks)
{
	struct virt_board *b = ctx;
	b->hooks.hart_timer(b->hooks.ctx, idx, ticks);
}

static int add(struct device_list *devs, const struct device_ops *ops, void *obj,
	       const char *label, struct err *err)
{
	int rc = device_list_add(devs, ops, obj, label);
	if (rc)
		return err_set(err, rc, "board: %s: too many devices (at most %d)",
			       label ? label : ops->name, DEVICE_LIST_MAX);
	return 0;
}

static int map(struct bus *bus, uint64_t base, uint64_t size, const struct mmio_ops *ops,
	       void *dev, const char *name, struct err *err)
{
	int rc = bus_add_region(bus, base, size, ops, dev, name);
	if (rc)
		return err_set(err, rc, "board: cannot map %s at 0x%llx", name,
			       (unsigned long long)base);
	return 0;
}

/* Takes the attached transports onto the list (it destroys them from then on). */
static int add_virtio(struct virt_board *b, struct device_list *devs, struct err *err)
{
	struct vm_virtio *v = &b->vio;
	unsigned used = v->used;
	for (unsigned i = 0; i < used; i++) {
		struct virtio_device *d = virtio_mmio_device(v->transport[i]);
		if (device_list_add(devs, &virtio_mmio_devtype, v->transport[i], d->label)) {
			/* The rest are still the vio's: let it free them. */
			memmove(v->transport, v->transport + i, (used - i) * sizeof v->transport[0]);
			v->used = used - i;
			vm_virtio_detach(v);
			return err_set(err, -ENOSPC, "board: %s: too many devices (at most %d)",
				       d->label, DEVICE_LIST_MAX);
		}
	}
	v->used = 0;   /* the list owns them now */
	return 0;
}

int virt_board_create(const struct vm_config *cfg, struct bus *bus, const struct vclock *clock,
		      const struct virt_hooks *hooks, struct device_list *devs,
		      struct virt_board **out, struct err *err)
{
	unsigned n = cfg->ncpus;
	int rc;
	struct virt_board *b = calloc(1, sizeof *b);
	*out = b;
	if (!b)
		return err_set(err, -ENOMEM, "board: out of memory");
	b->hooks = *hooks;
	b->ncpus = n;
	b->pvpanic_on = cfg->on_panic == VM_PANIC_EXIT;

	struct irq_line ctx_out[PLIC_MAX_CONTEXTS] = {0};
	for (unsigned h = 0; h < n; h++) {
		ctx_out[2 * h] = hooks->hart_line(hooks->ctx, h, HART_IRQ_MEIP);
		ctx_out[2 * h + 1] = hooks->hart_line(hooks->ctx, h, HART_IRQ_SEIP);
	}
	if ((rc = plic_init(&b->plic, 2 * n, ctx_out)))
		return err_set(err, rc, "board: PLIC: %s", strerror(-rc));
	if ((rc = add(devs, &plic_device, &b->plic, NULL, err))) {
		plic_destroy(&b->plic);
		return rc;
	}

	struct irq_line msip[VM_MAX_CPUS] = {0};
	struct timer_line cmp[VM_MAX_CPUS] = {0};
	for (unsigned h = 0; h < n; h++) {
		msip[h] = hooks->hart_line(hooks->ctx, h, HART_IRQ_MSIP);
		cmp[h] = (struct timer_line){ .set = timer_line, .ctx = b, .idx = h };
	}
	if ((rc = clint_init(&b->clint, n, clock, msip, cmp)))
		return err_set(err, rc, "board: CLINT: %s", strerror(-rc));
	if ((rc = add(devs, &clint_device, &b->clint, NULL, err))) {
		clint_destroy(&b->clint);
		return rc;
	}

	struct irq_line l = plic_source_line(&b->plic, VIRT_IRQ_UART0);
	/* The console is the UART's unless it goes to a virtio-console. */
	struct chardev *uart_con = cfg->virtio_console ? NULL : cfg->console;
	if ((rc = uart16550_init(&b->uart, &l, uart_con)))
		return err_set(err, rc, "board: UART: %s", strerror(-rc));
	if ((rc = add(devs, &uart16550_device, &b->uart, NULL, err))) {
		uart16550_destroy(&b->uart);
		return rc;
	}

	l = plic_source_line(&b->plic, VIRT_IRQ_RTC);
	if ((rc = goldfish_rtc_init(&b->rtc, &l, hooks->rtc_kick, hooks->ctx)))
		return err_set(err, rc, "board: RTC: %s", strerror(-rc));
	if ((rc = add(devs, &goldfish_rtc_device, &b->rtc, NULL, err))) {
		goldfish_rtc_destroy(&b->rtc);
		return rc;
	}

	finisher_init(&b->finisher, finisher_event, b);
	pvpanic_init(&b->pvpanic, hooks->panic, hooks->ctx);
	if ((rc = add(devs, &finisher_device, &b->finisher, NULL, err)) ||
	    (b->pvpanic_on && (rc = add(devs, &pvpanic_device, &b->pvpanic, NULL, err))) ||
	    (rc = add(devs, &mrom_device, &b->mrom, NULL, err)))
		return rc;

	for (unsigned i = 0; i < VIRT_VIRTIO_COUNT; i++) {
		l = plic_source_line(&b->plic, VIRT_IRQ_VIRTIO0 + i);
		virtio_slot_init(&b->virtio[i], VIRT_VIRTIO_BASE + VIRT_VIRTIO_SIZE * i, &l);
	}
	if ((rc = vm_virtio_attach(&b->vio, bus, b->virtio, cfg, hooks->log, err)) ||
	    (rc = add_virtio(b, devs, err)))
		return rc;

	if ((rc = map(bus, VIRT_MROM_BASE, VIRT_MROM_SIZE, &mrom_ops, &b->mrom, "mrom", err)) ||
	    (rc = map(bus, VIRT_TEST_BASE, VIRT_TEST_SIZE, &finisher_ops, &b->finisher,
		      "test", err)) ||
	    (rc = map(bus, VIRT_RTC_BASE, VIRT_RTC_SIZE, &goldfish_rtc_ops, &b->rtc, "rtc", err)) ||
	    (b->pvpanic_on &&
	     (rc = map(bus, VIRT_PVPANIC_BASE, VIRT_PVPANIC_SIZE, &pvpanic_ops, &b->pvpanic,
		       "pvpanic", err))) ||
	    (rc = map(bus, VIRT_CLINT_BASE, VIRT_CLINT_SIZE, &clint_ops, &b->clint, "clint", err)) ||
	    (rc = map(bus, VIRT_PLIC_BASE, VIRT_PLIC_SIZE, &plic_ops, &b->plic, "plic", err)) ||
	    (rc = map(bus, VIRT_UART0_BASE, VIRT_UART0_SIZE, &uart16550_ops, &b->uart,
		      "uart0", err)))
		return rc;
	for (unsigned i = 0; i < VIRT_VIRTIO_COUNT; i++)
		if ((rc = map(bus, b->virtio[i].base, VIRT_VIRTIO_SIZE, &virtio_slot_ops,
			      &b->virtio[i], "virtio-mmio", err)))
			return rc;
	return 0;
}

void virt_board_stop_io(struct virt_board *b)
{
	if (!b)
		return;
	io_hub_stop(b->vio.hub);
	b->vio.hub = NULL;
}

void virt_board_free(struct virt_board *b)
{
	free(b);
}

static void random_seed(uint8_t *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = getrandom(buf + got, len - got, GRND_NONBLOCK);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < len) {   /* no entropy yet: still vary per boot */
		uint64_t x = (uint64_t)vclock_host_ns() ^ (uint64_t)(uintptr_t)buf;
		for (size_t i = got; i < len; i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			buf[i] = (uint8_t)(x >> 56);
		}
	}
}

int virt_board_boot(struct virt_board *b, struct bus *bus, const struct virt_boot_plan *plan,
		    const char *bootargs, bool has_initrd, struct err *err)
{
	struct virt_fdt_config fc = {
		.ncpus = b->ncpus,
		.ram_base = bus->ram_base,
		.ram_size = bus->ram_size,
		.bootargs = bootargs,
		.has_initrd = has_initrd,
		.initrd_start = plan->initrd_start,
		.initrd_end = plan->initrd_end,
		.pvpanic = b->pvpanic_on,
	};
	random_seed(fc.rng_seed, sizeof fc.rng_seed);
	void *fdt;
	int rc = virt_fdt_build(&fc, &fdt, err);
	if (rc)
		return rc;
	rc = bus_write_guest(bus, plan->fdt_addr, fdt, VIRT_FDT_TOTAL);
	free(fdt);
	if (rc)
		return err_set(err, -ENOSPC, "device tree at 0x%llx does not fit in RAM",
			       (unsigned long long)plan->fdt_addr);
	mrom_setup(&b->mrom, plan->start, plan->fdt_addr, &plan->info);
	return 0;
}

int64_t virt_board_rtc_poll(struct virt_board *b)
{
	return goldfish_rtc_poll(&b->rtc);
}

struct virtio_device *virt_board_balloon(struct virt_board *b)
{
	return b->vio.balloon;
}

struct virtio_device *virt_board_disk(struct virt_board *b, unsigned i)
{
	return i < b->vio.ndisks ? b->vio.disk[i] : NULL;
}

struct virtio_device *virt_board_net(struct virt_board *b, unsigned i)
{
	return i < b->vio.nnets ? b->vio.net[i] : NULL;
}

struct virtio_device *virt_board_nic_slot(struct virt_board *b, unsigned i)
{
	return i < b->vio.nnic_slots ? b->vio.nic_slot[i] : NULL;
}

struct virtio_device *virt_board_disk_slot(struct virt_board *b, unsigned i)
{
	return i < b->vio.nslots ? b->vio.slot[i] : NULL;
}

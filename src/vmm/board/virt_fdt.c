/*
 * virt board device tree: written with libfdt's sequential-write API, then
 * opened into a VIRT_FDT_TOTAL-byte blob.  Bindings: Devicetree
 * Specification v0.4 (cpus, memory, chosen), Linux bindings riscv/cpus.yaml,
 * interrupt-controller/sifive,plic-1.0.0.yaml, timer/sifive,clint.yaml,
 * serial/8250.yaml, rtc/google,goldfish-rtc, power/reset/syscon-*.yaml,
 * virtio/mmio.yaml.  See virt_fdt.h.
 */
#include "vmm/board/virt_fdt.h"

#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/board/finisher.h"
#include "vmm/board/virt.h"

#define WORK_SIZE (64u << 10)

/* Phandles: cpu i = 1 + 2i, its interrupt controller 2 + 2i, then these. */
static uint32_t ph_cpu(unsigned i) { return 1 + 2 * i; }
static uint32_t ph_intc(unsigned i) { return 2 + 2 * i; }
static uint32_t ph_plic(unsigned n) { return 1 + 2 * n; }
static uint32_t ph_test(unsigned n) { return 2 + 2 * n; }

struct w {
	void *fdt;
	int rc;   /* first libfdt error */
};

static void chk(struct w *w, int rc)
{
	if (rc < 0 && w->rc == 0)
		w->rc = rc;
}

static void begin(struct w *w, const char *name) { chk(w, fdt_begin_node(w->fdt, name)); }
static void end(struct w *w) { chk(w, fdt_end_node(w->fdt)); }
static void prop_u32(struct w *w, const char *n, uint32_t v) { chk(w, fdt_property_u32(w->fdt, n, v)); }
static void prop_str(struct w *w, const char *n, const char *v) { chk(w, fdt_property_string(w->fdt, n, v)); }
static void prop_empty(struct w *w, const char *n) { chk(w, fdt_property(w->fdt, n, NULL, 0)); }
static void prop_raw(struct w *w, const char *n, const void *v, size_t len)
{
	chk(w, fdt_property(w->fdt, n, v, (int)len));
}

/* A list of NUL-terminated strings given as one buffer with its length. */
static void prop_strs(struct w *w, const char *n, const char *v, size_t len)
{
	prop_raw(w, n, v, len);
}

static void prop_cells(struct w *w, const char *n, const uint32_t *cells, unsigned count)
{
	fdt32_t be[64];
	for (unsigned i = 0; i < count; i++)
		be[i] = cpu_to_fdt32(cells[i]);
	prop_raw(w, n, be, count * sizeof(fdt32_t));
}

static void prop_reg64(struct w *w, uint64_t base, uint64_t size)
{
	const uint32_t c[4] = { (uint32_t)(base >> 32), (uint32_t)base,
				(uint32_t)(size >> 32), (uint32_t)size };
	prop_cells(w, "reg", c, 4);
}

static void prop_u64(struct w *w, const char *n, uint64_t v)
{
	chk(w, fdt_property_u64(w->fdt, n, v));
}

static void node_cpus(struct w *w, const struct virt_fdt_config *cfg)
{
	static const char exts[] = "i\0m\0a\0f\0d\0c\0zicsr\0zifencei\0zicntr\0zihintpause\0zihpm\0sstc";
	char name[32];
	begin(w, "cpus");
	prop_u32(w, "#address-cells", 1);
	prop_u32(w, "#size-cells", 0);
	prop_u32(w, "timebase-frequency", VIRT_TIMEBASE_HZ);
	for (unsigned i = 0; i < cfg->ncpus; i++) {
		snprintf(name, sizeof name, "cpu@%u", i);
		begin(w, name);
		prop_u32(w, "phandle", ph_cpu(i));
		prop_str(w, "device_type", "cpu");
		prop_u32(w, "reg", i);
		prop_str(w, "status", "okay");
		prop_str(w, "compatible", "riscv");
		prop_str(w, "riscv,isa", VIRT_CPU_ISA);
		prop_str(w, "riscv,isa-base", "rv64i");
		prop_strs(w, "riscv,isa-extensions", exts, sizeof exts);
		prop_str(w, "mmu-type", VIRT_CPU_MMU);
		begin(w, "interrupt-controller");
		prop_u32(w, "#interrupt-cells", 1);
		prop_empty(w, "interrupt-controller");
		prop_str(w, "compatible", "riscv,cpu-intc");
		prop_u32(w, "phandle", ph_intc(i));
		end(w);
		end(w);
	}
	begin(w, "cpu-map");
	begin(w, "cluster0");
	for (unsigned i = 0; i < cfg->ncpus; i++) {
		snprintf(name, sizeof name, "core%u", i);
		begin(w, name);
		prop_u32(w, "cpu", ph_cpu(i));
		end(w);
	}
	end(w);
	end(w);
	end(w);
}

static void node_plic_device(struct w *w, const char *name, const char *compat,
			     uint64_t base, uint64_t size, uint32_t irq, unsigned n)
{
	begin(w, name);
	prop_u32(w, "interrupts", irq);
	prop_u32(w, "interrupt-parent", ph_plic(n));
	prop_reg64(w, base, size);
	prop_str(w, "compatible", compat);
}

static void node_soc(struct w *w, const struct virt_fdt_config *cfg)
{
	unsigned n = cfg->ncpus;
	char name[48];
	uint32_t cells[4 * VM_MAX_CPUS];

	begin(w, "soc");
	prop_u32(w, "#address-cells", 2);
	prop_u32(w, "#size-cells", 2);
	prop_str(w, "compatible", "simple-bus");
	prop_empty(w, "ranges");

	snprintf(name, sizeof name, "rtc@%llx", VIRT_RTC_BASE);
	node_plic_device(w, name, "google,goldfish-rtc", VIRT_RTC_BASE, VIRT_RTC_SIZE,
			 VIRT_IRQ_RTC, n);
	end(w);

	snprintf(name, sizeof name, "serial@%llx", VIRT_UART0_BASE);
	node_plic_device(w, name, "ns16550a", VIRT_UART0_BASE, VIRT_UART0_SIZE,
			 VIRT_IRQ_UART0, n);
	prop_u32(w, "clock-frequency", VIRT_UART0_CLOCK);
	end(w);

	static const char test_compat[] = "sifive,test1\0sifive,test0\0syscon";
	snprintf(name, sizeof name, "test@%llx", VIRT_TEST_BASE);
	begin(w, name);
	prop_u32(w, "phandle", ph_test(n));
	prop_reg64(w, VIRT_TEST_BASE, VIRT_TEST_SIZE);
	prop_strs(w, "compatible", test_compat, sizeof test_compat);
	end(w);

	if (cfg->pvpanic) {
		snprintf(name, sizeof name, "pvpanic@%llx", VIRT_PVPANIC_BASE);
		begin(w, name);
		prop_reg64(w, VIRT_PVPANIC_BASE, VIRT_PVPANIC_SIZE);
		prop_str(w, "compatible", "qemu,pvpanic-mmio");
		end(w);
	}

	for (int i = VIRT_VIRTIO_COUNT - 1; i >= 0; i--) {
		uint64_t base = VIRT_VIRTIO_BASE + VIRT_VIRTIO_SIZE * (unsigned)i;
		snprintf(name, sizeof name, "virtio_mmio@%llx", (unsigned long long)base);
		node_plic_device(w, name, "virtio,mmio", base, VIRT_VIRTIO_SIZE,
				 VIRT_IRQ_VIRTIO0 + (unsigned)i, n);
		end(w);
	}

	static const char plic_compat[] = "sifive,plic-1.0.0\0riscv,plic0";
	snprintf(name, sizeof name, "plic@%llx", VIRT_PLIC_BASE);
	begin(w, name);
	prop_u32(w, "phandle", ph_plic(n));
	prop_u32(w, "riscv,ndev", VIRT_PLIC_NDEV);
	prop_reg64(w, VIRT_PLIC_BASE, VIRT_PLIC_SIZE);
	for (unsigned i = 0; i < n; i++) {
		cells[4 * i + 0] = ph_intc(i);
		cells[4 * i + 1] = 11;   /* M-mode external */
		cells[4 * i + 2] = ph_intc(i);
		cells[4 * i + 3] = 9;    /* S-mode external */
	}
	prop_cells(w, "interrupts-extended", cells, 4 * n);
	prop_empty(w, "interrupt-controller");
	prop_strs(w, "compatible", plic_compat, sizeof plic_compat);
	prop_u32(w, "#address-cells", 0);
	prop_u32(w, "#interrupt-cells", 1);
	end(w);

	static const char clint_compat[] = "sifive,clint0\0riscv,clint0";
	snprintf(name, sizeof name, "clint@%llx", VIRT_CLINT_BASE);
	begin(w, name);
	for (unsigned i = 0; i < n; i++) {
		cells[4 * i + 0] = ph_intc(i);
		cells[4 * i + 1] = 3;    /* M-mode software */
		cells[4 * i + 2] = ph_intc(i);
		cells[4 * i + 3] = 7;    /* M-mode timer */
	}
	prop_cells(w, "interrupts-extended", cells, 4 * n);
	prop_reg64(w, VIRT_CLINT_BASE, VIRT_CLINT_SIZE);
	prop_strs(w, "compatible", clint_compat, sizeof clint_compat);
	end(w);

	end(w);
}

static void node_syscon(struct w *w, const char *name, const char *compat, uint32_t value,
			unsigned n)
{
	begin(w, name);
	prop_u32(w, "value", value);
	prop_u32(w, "offset", 0);
	prop_u32(w, "regmap", ph_test(n));
	prop_str(w, "compatible", compat);
	end(w);
}

int virt_fdt_build(const struct virt_fdt_config *cfg, void **out, struct err *err)
{
	*out = NULL;
	if (cfg->ncpus == 0 || cfg->ncpus > VM_MAX_CPUS)
		return err_set(err, -EINVAL, "device tree: %u CPUs (1..%d supported)",
			       cfg->ncpus, VM_MAX_CPUS);
	void *work = malloc(WORK_SIZE);
	void *blob = malloc(VIRT_FDT_TOTAL);
	if (!work || !blob) {
		free(work);
		free(blob);
		return err_set(err, -ENOMEM, "device tree: out of memory");
	}
	struct w w = { .fdt = work };
	chk(&w, fdt_create(work, WORK_SIZE));
	chk(&w, fdt_finish_reservemap(work));
	begin(&w, "");
	prop_u32(&w, "#address-cells", 2);
	prop_u32(&w, "#size-cells", 2);
	prop_str(&w, "compatible", "riscv-virtio");
	prop_str(&w, "model", "riscv-virtio,qemu");

	begin(&w, "chosen");
	if (cfg->bootargs)
		prop_str(&w, "bootargs", cfg->bootargs);
	if (cfg->has_initrd) {
		prop_u64(&w, "linux,initrd-start", cfg->initrd_start);
		prop_u64(&w, "linux,initrd-end", cfg->initrd_end);
	}
	prop_raw(&w, "rng-seed", cfg->rng_seed, VIRT_RNG_SEED_LEN);
	char path[48];
	snprintf(path, sizeof path, "/soc/serial@%llx", VIRT_UART0_BASE);
	prop_str(&w, "stdout-path", path);
	end(&w);

	node_syscon(&w, "poweroff", "syscon-poweroff", FINISHER_PASS_VALUE, cfg->ncpus);
	node_syscon(&w, "reboot", "syscon-reboot", FINISHER_RESET_VALUE, cfg->ncpus);

	char mem[32];
	snprintf(mem, sizeof mem, "memory@%llx", (unsigned long long)cfg->ram_base);
	begin(&w, mem);
	prop_str(&w, "device_type", "memory");
	prop_reg64(&w, cfg->ram_base, cfg->ram_size);
	end(&w);

	node_cpus(&w, cfg);
	node_soc(&w, cfg);
	end(&w);
	chk(&w, fdt_finish(work));
	if (w.rc == 0)
		chk(&w, fdt_open_into(work, blob, VIRT_FDT_TOTAL));
	free(work);
	if (w.rc < 0) {
		free(blob);
		/* Everything but bootargs has a fixed size, so running out of room
		 * means the command line is too long: say so, not only libfdt's code. */
		if (w.rc == -FDT_ERR_NOSPACE && cfg->bootargs)
			return err_set(err, -E2BIG, "device tree: the kernel command line (%zu bytes) "
				       "does not fit in the %u KiB tree", strlen(cfg->bootargs),
				       WORK_SIZE >> 10);
		return err_set(err, -EINVAL, "device tree: libfdt: %s", fdt_strerror(w.rc));
	}
	*out = blob;
	return 0;
}

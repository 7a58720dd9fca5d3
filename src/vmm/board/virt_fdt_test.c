/*
 * Unit tests of the virt device tree: built, parsed back with libfdt and
 * checked node by node against QEMU's layout; phandle wiring of the PLIC,
 * CLINT and syscon nodes; optional /chosen properties.
 */
#include "vmm/board/virt_fdt.h"

#include <libfdt.h>
#include <stdlib.h>
#include <string.h>

#include "lib/testing.h"
#include "vmm/board/virt.h"

static void *build(unsigned ncpus, int extras)
{
	struct virt_fdt_config c = {
		.ncpus = ncpus, .ram_base = 0x80000000, .ram_size = 256u << 20,
	};
	if (extras) {
		c.bootargs = "console=ttyS0 earlycon";
		c.has_initrd = true;
		c.initrd_start = 0x88200000;
		c.initrd_end = 0x88300000;
	}
	for (int i = 0; i < VIRT_RNG_SEED_LEN; i++)
		c.rng_seed[i] = (uint8_t)i;
	void *fdt = NULL;
	struct err e = {0};
	if (virt_fdt_build(&c, &fdt, &e) != 0)
		printf("   %s\n", e.msg);
	return fdt;
}

static const char *str(const void *fdt, const char *path, const char *prop)
{
	int node = fdt_path_offset(fdt, path);
	return node < 0 ? NULL : fdt_getprop(fdt, node, prop, NULL);
}

static uint32_t cell(const void *fdt, const char *path, const char *prop, int i)
{
	int node = fdt_path_offset(fdt, path), len;
	const fdt32_t *p = node < 0 ? NULL : fdt_getprop(fdt, node, prop, &len);
	return p && (i + 1) * 4 <= len ? fdt32_to_cpu(p[i]) : 0xdeadbeef;
}

static int plen(const void *fdt, const char *path, const char *prop)
{
	int node = fdt_path_offset(fdt, path), len = -1;
	if (node >= 0 && !fdt_getprop(fdt, node, prop, &len))
		len = -1;
	return len;
}

static int streq(const char *a, const char *b)
{
	return a && strcmp(a, b) == 0;
}

static int reg_is(const void *fdt, const char *path, uint64_t base, uint64_t size)
{
	return plen(fdt, path, "reg") == 16 && cell(fdt, path, "reg", 0) == base >> 32 &&
	       cell(fdt, path, "reg", 1) == (uint32_t)base &&
	       cell(fdt, path, "reg", 2) == size >> 32 && cell(fdt, path, "reg", 3) == (uint32_t)size;
}

TEST(fdt_header_root_memory)
{
	void *fdt = build(1, 0);
	EXPECT(fdt);
	EXPECT_EQ(fdt_check_header(fdt), 0);
	EXPECT_EQ(fdt_totalsize(fdt), VIRT_FDT_TOTAL);
	EXPECT(streq(str(fdt, "/", "compatible"), "riscv-virtio"));
	EXPECT(streq(str(fdt, "/", "model"), "riscv-virtio,qemu"));
	EXPECT_EQ(cell(fdt, "/", "#address-cells", 0), 2);
	EXPECT_EQ(cell(fdt, "/", "#size-cells", 0), 2);
	EXPECT(streq(str(fdt, "/memory@80000000", "device_type"), "memory"));
	EXPECT(reg_is(fdt, "/memory@80000000", 0x80000000, 256u << 20));
	/* Nothing QEMU has and nimbus lacks. */
	EXPECT(fdt_path_offset(fdt, "/soc/pci@30000000") < 0);
	EXPECT(fdt_path_offset(fdt, "/fw-cfg@10100000") < 0);
	EXPECT(fdt_path_offset(fdt, "/flash@20000000") < 0);
	EXPECT(fdt_path_offset(fdt, "/pmu") < 0);
	free(fdt);
}

TEST(fdt_cpus)
{
	void *fdt = build(3, 0);
	EXPECT(fdt);
	EXPECT_EQ(cell(fdt, "/cpus", "timebase-frequency", 0), 10000000);
	EXPECT_EQ(cell(fdt, "/cpus", "#address-cells", 0), 1);
	EXPECT_EQ(cell(fdt, "/cpus", "#size-cells", 0), 0);
	char p[64];
	for (unsigned i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "/cpus/cpu@%u", i);
		EXPECT(streq(str(fdt, p, "device_type"), "cpu"));
		EXPECT_EQ(cell(fdt, p, "reg", 0), i);
		EXPECT(streq(str(fdt, p, "status"), "okay"));
		EXPECT(streq(str(fdt, p, "compatible"), "riscv"));
		EXPECT(streq(str(fdt, p, "riscv,isa"), "rv64imafdc_zicsr_zifencei_zicntr_zihintpause_zihpm_sstc"));
		EXPECT(streq(str(fdt, p, "mmu-type"), "riscv,sv57"));
		EXPECT(streq(str(fdt, p, "riscv,isa-base"), "rv64i"));
		EXPECT_EQ(fdt_stringlist_count(fdt, fdt_path_offset(fdt, p), "riscv,isa-extensions"), 12);
		uint32_t cpu_ph = cell(fdt, p, "phandle", 0);
		snprintf(p, sizeof p, "/cpus/cpu@%u/interrupt-controller", i);
		EXPECT(streq(str(fdt, p, "compatible"), "riscv,cpu-intc"));
		EXPECT_EQ(plen(fdt, p, "interrupt-controller"), 0);
		EXPECT_EQ(cell(fdt, p, "#interrupt-cells", 0), 1);
		snprintf(p, sizeof p, "/cpus/cpu-map/cluster0/core%u", i);
		EXPECT_EQ(cell(fdt, p, "cpu", 0), cpu_ph);
		EXPECT_EQ(fdt_node_offset_by_phandle(fdt, cpu_ph),
			  fdt_path_offset(fdt, (snprintf(p, sizeof p, "/cpus/cpu@%u", i), p)));
	}
	EXPECT(fdt_path_offset(fdt, "/cpus/cpu@3") < 0);
	free(fdt);
}

TEST(fdt_chosen)
{
	void *fdt = build(1, 0);
	EXPECT(fdt);
	EXPECT(streq(str(fdt, "/chosen", "stdout-path"), "/soc/serial@10000000"));
	EXPECT_EQ(plen(fdt, "/chosen", "rng-seed"), 32);
	EXPECT_EQ(plen(fdt, "/chosen", "bootargs"), -1);
	EXPECT_EQ(plen(fdt, "/chosen", "linux,initrd-start"), -1);
	free(fdt);
	fdt = build(1, 1);
	EXPECT(streq(str(fdt, "/chosen", "bootargs"), "console=ttyS0 earlycon"));
	EXPECT_EQ(plen(fdt, "/chosen", "linux,initrd-start"), 8);
	EXPECT_EQ(cell(fdt, "/chosen", "linux,initrd-start", 1), 0x88200000);
	EXPECT_EQ(cell(fdt, "/chosen", "linux,initrd-end", 1), 0x88300000);
	const uint8_t *seed = fdt_getprop(fdt, fdt_path_offset(fdt, "/chosen"), "rng-seed", NULL);
	EXPECT(seed && seed[5] == 5);
	free(fdt);
}

/* Checks that interrupts-extended pairs (intc of hart i, cause) match. */
static int irqs_ext_ok(const void *fdt, const char *path, unsigned ncpus, uint32_t c0, uint32_t c1)
{
	if (plen(fdt, path, "interrupts-extended") != (int)(16 * ncpus))
		return 0;
	char p[64];
	for (unsigned i = 0; i < ncpus; i++) {
		snprintf(p, sizeof p, "/cpus/cpu@%u/interrupt-controller", i);
		uint32_t ph = cell(fdt, p, "phandle", 0);
		if (cell(fdt, path, "interrupts-extended", 4 * i) != ph ||
		    cell(fdt, path, "interrupts-extended", 4 * i + 1) != c0 ||
		    cell(fdt, path, "interrupts-extended", 4 * i + 2) != ph ||
		    cell(fdt, path, "interrupts-extended", 4 * i + 3) != c1)
			return 0;
	}
	return 1;
}

TEST(fdt_soc_interrupt_controllers)
{
	void *fdt = build(2, 0);
	EXPECT(fdt);
	EXPECT(streq(str(fdt, "/soc", "compatible"), "simple-bus"));
	EXPECT_EQ(plen(fdt, "/soc", "ranges"), 0);
	const char *plic = "/soc/plic@c000000", *clint = "/soc/clint@2000000";
	EXPECT(reg_is(fdt, plic, 0xc000000, 0x600000));
	EXPECT_EQ(cell(fdt, plic, "riscv,ndev", 0), 96);
	EXPECT_EQ(plen(fdt, plic, "interrupt-controller"), 0);
	EXPECT_EQ(cell(fdt, plic, "#interrupt-cells", 0), 1);
	EXPECT_EQ(cell(fdt, plic, "#address-cells", 0), 0);
	EXPECT_EQ(fdt_node_check_compatible(fdt, fdt_path_offset(fdt, plic), "riscv,plic0"), 0);
	EXPECT_EQ(fdt_node_check_compatible(fdt, fdt_path_offset(fdt, plic), "sifive,plic-1.0.0"), 0);
	EXPECT(irqs_ext_ok(fdt, plic, 2, 11, 9));
	EXPECT(reg_is(fdt, clint, 0x2000000, 0x10000));
	EXPECT_EQ(fdt_node_check_compatible(fdt, fdt_path_offset(fdt, clint), "sifive,clint0"), 0);
	EXPECT_EQ(fdt_node_check_compatible(fdt, fdt_path_offset(fdt, clint), "riscv,clint0"), 0);
	EXPECT(irqs_ext_ok(fdt, clint, 2, 3, 7));
	free(fdt);
}

TEST(fdt_soc_devices)
{
	void *fdt = build(1, 0);
	EXPECT(fdt);
	uint32_t plic_ph = cell(fdt, "/soc/plic@c000000", "phandle", 0);
	const char *uart = "/soc/serial@10000000", *rtc = "/soc/rtc@101000", *test = "/soc/test@100000";
	EXPECT(streq(str(fdt, uart, "compatible"), "ns16550a"));
	EXPECT(reg_is(fdt, uart, 0x10000000, 0x100));
	EXPECT_EQ(cell(fdt, uart, "clock-frequency", 0), 3686400);
	EXPECT_EQ(cell(fdt, uart, "interrupts", 0), 10);
	EXPECT_EQ(cell(fdt, uart, "interrupt-parent", 0), plic_ph);
	EXPECT(streq(str(fdt, rtc, "compatible"), "google,goldfish-rtc"));
	EXPECT(reg_is(fdt, rtc, 0x101000, 0x1000));
	EXPECT_EQ(cell(fdt, rtc, "interrupts", 0), 11);
	EXPECT_EQ(cell(fdt, rtc, "interrupt-parent", 0), plic_ph);
	EXPECT(reg_is(fdt, test, 0x100000, 0x1000));
	int tn = fdt_path_offset(fdt, test);
	EXPECT_EQ(fdt_node_check_compatible(fdt, tn, "sifive,test0"), 0);
	EXPECT_EQ(fdt_node_check_compatible(fdt, tn, "syscon"), 0);
	uint32_t test_ph = cell(fdt, test, "phandle", 0);
	EXPECT(streq(str(fdt, "/poweroff", "compatible"), "syscon-poweroff"));
	EXPECT_EQ(cell(fdt, "/poweroff", "regmap", 0), test_ph);
	EXPECT_EQ(cell(fdt, "/poweroff", "offset", 0), 0);
	EXPECT_EQ(cell(fdt, "/poweroff", "value", 0), 0x5555);
	EXPECT(streq(str(fdt, "/reboot", "compatible"), "syscon-reboot"));
	EXPECT_EQ(cell(fdt, "/reboot", "regmap", 0), test_ph);
	EXPECT_EQ(cell(fdt, "/reboot", "value", 0), 0x7777);
	char p[64];
	for (unsigned i = 0; i < 8; i++) {
		snprintf(p, sizeof p, "/soc/virtio_mmio@%x", 0x10001000 + 0x1000 * i);
		EXPECT(streq(str(fdt, p, "compatible"), "virtio,mmio"));
		EXPECT(reg_is(fdt, p, 0x10001000 + 0x1000 * i, 0x1000));
		EXPECT_EQ(cell(fdt, p, "interrupts", 0), 1 + i);
		EXPECT_EQ(cell(fdt, p, "interrupt-parent", 0), plic_ph);
	}
	/* QEMU's order: the highest slot comes first. */
	EXPECT(fdt_path_offset(fdt, "/soc/virtio_mmio@10008000") <
	       fdt_path_offset(fdt, "/soc/virtio_mmio@10001000"));
	/* Every soc child is one of the expected 13. */
	int count = 0, node;
	fdt_for_each_subnode(node, fdt, fdt_path_offset(fdt, "/soc"))
		count++;
	EXPECT_EQ(count, 13);
	free(fdt);
}

TEST(fdt_rejects_bad_cpu_count)
{
	struct virt_fdt_config c = { .ncpus = 0, .ram_base = 0x80000000, .ram_size = 1 << 20 };
	void *fdt;
	struct err e = {0};
	EXPECT(virt_fdt_build(&c, &fdt, &e) < 0);
	EXPECT(fdt == NULL);
	c.ncpus = 9;
	EXPECT(virt_fdt_build(&c, &fdt, &e) < 0);
}

TEST(fdt_oversized_bootargs_named_not_fdt_err_nospace)
{
	char *args = malloc(100 * 1024 + 1);
	EXPECT(args != NULL);
	memset(args, 'a', 100 * 1024);
	args[100 * 1024] = 0;
	struct virt_fdt_config c = {
		.ncpus = 1, .ram_base = 0x80000000, .ram_size = 256u << 20, .bootargs = args,
	};
	void *fdt = NULL;
	struct err e = {0};
	int rc = virt_fdt_build(&c, &fdt, &e);
	free(args);
	free(fdt);
	EXPECT(rc < 0);
	EXPECT(strstr(e.msg, "command line (102400 bytes)") != NULL);
	EXPECT(strstr(e.msg, "FDT_ERR") == NULL);
}

TEST(fdt_pvpanic_node_only_when_present)
{
	struct virt_fdt_config c = { .ncpus = 1, .ram_base = 0x80000000, .ram_size = 256u << 20 };
	void *fdt = NULL;
	struct err e = {0};
	EXPECT_EQ(virt_fdt_build(&c, &fdt, &e), 0);
	EXPECT(fdt_path_offset(fdt, "/soc/pvpanic@102000") < 0);   /* QEMU's tree */
	free(fdt);
	c.pvpanic = true;
	EXPECT_EQ(virt_fdt_build(&c, &fdt, &e), 0);
	int n = fdt_path_offset(fdt, "/soc/pvpanic@102000");
	EXPECT(n >= 0);
	EXPECT_EQ(fdt_node_check_compatible(fdt, n, "qemu,pvpanic-mmio"), 0);
	EXPECT_EQ(cell(fdt, "/soc/pvpanic@102000", "reg", 1), 0x102000);
	EXPECT_EQ(cell(fdt, "/soc/pvpanic@102000", "reg", 3), 0x1000);
	free(fdt);
}

/*
 * Unit tests of boot placement: QEMU's addresses for firmware + Image +
 * initrd + FDT, --bios none, ELF kernels at their own addresses, the
 * 3 GiB FDT rule, and the "RAM too small" errors.
 */
#include "vmm/board/virt_boot.h"

#include <errno.h>
#include <string.h>

#include "lib/testing.h"

#define RAM 0x80000000ull
#define MiB (1ull << 20)

static struct image raw(const char *what, enum image_format f, uint64_t size)
{
	struct image img;
	memset(&img, 0, sizeof img);
	strcpy(img.what, what);
	img.path = (char *)"/x";
	img.format = f;
	img.nseg = 1;
	img.seg[0].filesz = img.seg[0].memsz = size;
	return img;
}

static struct image elf(uint64_t at, uint64_t size, uint64_t entry)
{
	struct image img = raw("kernel", IMAGE_ELF, size);
	img.seg[0].paddr = at;
	img.entry = entry;
	return img;
}

TEST(boot_firmware_kernel_initrd_like_qemu)
{
	struct image fw = raw("--bios", IMAGE_RAW, 115328);   /* Debian's fw_dynamic.bin */
	struct image k = raw("kernel", IMAGE_LINUX, 20 * MiB);
	struct image rd = raw("--initrd", IMAGE_RAW, 3 * MiB);
	struct virt_boot_plan p;
	struct err e = {0};
	EXPECT_EQ(virt_boot_plan(&fw, &k, &rd, RAM, 256 * MiB, 1 * MiB, &p, &e), 0);
	EXPECT_EQ(p.start, RAM);
	EXPECT_EQ(fw.seg[0].paddr, RAM);
	EXPECT_EQ(k.seg[0].paddr, 0x80200000);
	EXPECT_EQ(p.kernel_entry, 0x80200000);
	EXPECT_EQ(p.initrd_start, 0x80200000 + 128 * MiB);
	EXPECT_EQ(p.initrd_end, 0x80200000 + 131 * MiB);
	EXPECT_EQ(p.fdt_addr, 0x8fe00000);                     /* QEMU's, for -m 256M */
	EXPECT_EQ(p.info.magic, 0x4942534f);
	EXPECT_EQ(p.info.version, 2);
	EXPECT_EQ(p.info.next_addr, 0x80200000);
	EXPECT_EQ(p.info.next_mode, 1);
	EXPECT_EQ(p.info.boot_hart, 0);
	/* Small RAM: initrd at half of RAM past the kernel. */
	EXPECT_EQ(virt_boot_plan(&fw, &k, &rd, RAM, 128 * MiB, 1 * MiB, &p, &e), 0);
	EXPECT_EQ(p.initrd_start, 0x80200000 + 64 * MiB);
}

TEST(boot_firmware_only)
{
	struct image fw = raw("--bios", IMAGE_RAW, 3 * MiB);
	struct virt_boot_plan p;
	struct err e = {0};
	EXPECT_EQ(virt_boot_plan(&fw, NULL, NULL, RAM, 64 * MiB, 1 * MiB, &p, &e), 0);
	EXPECT_EQ(p.start, RAM);
	EXPECT_EQ(p.info.next_addr, 0);
	EXPECT_EQ(p.fdt_addr, RAM + 62 * MiB);
}

TEST(boot_bios_none_and_elf_kernel)
{
	struct image k = elf(RAM + 0x1000, 0x2000, RAM + 0x1100);
	struct virt_boot_plan p;
	struct err e = {0};
	EXPECT_EQ(virt_boot_plan(NULL, &k, NULL, RAM, 16 * MiB, 1 * MiB, &p, &e), 0);
	EXPECT_EQ(p.start, RAM + 0x1100);
	EXPECT_EQ(k.seg[0].paddr, RAM + 0x1000);
	EXPECT_EQ(p.info.next_addr, RAM + 0x1100);
	struct image raw_k = raw("kernel", IMAGE_RAW, 0x100);
	EXPECT_EQ(virt_boot_plan(NULL, &raw_k, NULL, RAM, 16 * MiB, 1 * MiB, &p, &e), 0);
	EXPECT_EQ(p.start, RAM);
	EXPECT(virt_boot_plan(NULL, NULL, NULL, RAM, 16 * MiB, 1 * MiB, &p, &e) < 0);
	EXPECT(strstr(e.msg, "nothing to boot"));
}

TEST(boot_fdt_below_3gib)
{
	struct image fw = raw("--bios", IMAGE_RAW, 4096);
	struct virt_boot_plan p;
	struct err e = {0};
	EXPECT_EQ(virt_boot_plan(&fw, NULL, NULL, RAM, 4096 * MiB, 1 * MiB, &p, &e), 0);
	EXPECT_EQ(p.fdt_addr, 0xc0000000 - 2 * MiB);
}

TEST(boot_ram_too_small)
{
	struct image fw = raw("--bios", IMAGE_RAW, 115328);
	struct image k = raw("kernel", IMAGE_LINUX, 30 * MiB);
	struct virt_boot_plan p;
	struct err e = {0};
	EXPECT(virt_boot_plan(&fw, &k, NULL, RAM, 16 * MiB, 1 * MiB, &p, &e) < 0);
	EXPECT(strstr(e.msg, "16 MiB of RAM is too small: kernel /x goes at 0x80200000-0x82000000"));
	struct image k2 = raw("kernel", IMAGE_LINUX, 14 * MiB);
	EXPECT(virt_boot_plan(&fw, &k2, NULL, RAM, 16 * MiB, 1 * MiB, &p, &e) < 0);
	EXPECT(strstr(e.msg, "16 MiB of RAM is too small: kernel /x (0x80200000-0x81000000) "
			     "overlaps device tree (0x80e00000-0x80f00000)"));
	struct image rd = raw("--initrd", IMAGE_RAW, 8 * MiB);
	struct image k3 = raw("kernel", IMAGE_LINUX, 1 * MiB);
	EXPECT(virt_boot_plan(&fw, &k3, &rd, RAM, 16 * MiB, 1 * MiB, &p, &e) < 0);
	EXPECT(strstr(e.msg, "16 MiB of RAM is too small: --initrd /x goes at 0x80a00000-0x81200000"));
	struct image ek = elf(RAM - 0x1000, 0x2000, RAM);   /* an ELF's own address: its fault */
	EXPECT(virt_boot_plan(NULL, &ek, NULL, RAM, 16 * MiB, 1 * MiB, &p, &e) < 0);
	EXPECT(strstr(e.msg, "kernel /x: segment 0x7ffff000-0x80001000 outside RAM"));
	EXPECT(virt_boot_plan(&fw, NULL, NULL, RAM, 512 * 1024, 1 * MiB, &p, &e) < 0);
	EXPECT(strstr(e.msg, "too small for the device tree"));
}

TEST(boot_elf_at_firmware_address_is_not_ram_too_small)
{
	struct image fw = raw("--bios", IMAGE_RAW, 115328);
	struct image k = elf(RAM, 0x3000, RAM);   /* linked at 0x80000000, like an M-mode program */
	struct virt_boot_plan p;
	struct err e = {0};
	EXPECT_EQ(virt_boot_plan(&fw, &k, NULL, RAM, 256 * MiB, 1 * MiB, &p, &e), -EINVAL);
	EXPECT(strstr(e.msg, "too small") == NULL);
	EXPECT(strstr(e.msg, "kernel /x (0x80000000-0x80003000) is an ELF linked over --bios /x"));
	EXPECT(strstr(e.msg, "--bios none"));
	/* The same program with --bios none boots. */
	EXPECT_EQ(virt_boot_plan(NULL, &k, NULL, RAM, 256 * MiB, 1 * MiB, &p, &e), 0);
}

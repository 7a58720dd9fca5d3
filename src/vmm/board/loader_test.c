/*
 * Unit tests of image loading: ELF segments, bss, entry translation and the
 * `tohost` symbol; Linux Image and raw detection and placement; every load
 * error (missing, empty, too large, non-RISC-V, 32-bit, truncated, outside
 * RAM).  ELF files are built byte by byte into temporary files.
 */
#include "vmm/board/loader.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/testing.h"
#include "vmm/bus.h"

#define RAM 0x80000000ull
#define MiB (1ull << 20)

struct elf_spec {
	uint16_t machine;
	uint64_t vbase;            /* vaddr of segment 0; paddr is RAM */
	uint64_t entry_off;
	int with_tohost;
	uint64_t seg0_offset_bump; /* corrupt: push segment 0 past the file */
};

/* Segment 0: 8 bytes of code + 8 bytes bss at RAM; segment 1: 16 bytes bss at RAM+0x1000 holding tohost. */
static size_t build_elf(uint8_t *buf, const struct elf_spec *sp)
{
	memset(buf, 0, 4096);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = sp->machine;
	eh->e_version = EV_CURRENT;
	eh->e_entry = sp->vbase + sp->entry_off;
	eh->e_phoff = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 2;
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	Elf64_Phdr *ph = (Elf64_Phdr *)(buf + eh->e_phoff);
	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x200 + sp->seg0_offset_bump,
			      .p_vaddr = sp->vbase, .p_paddr = RAM, .p_filesz = 8, .p_memsz = 16 };
	ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x208, .p_vaddr = sp->vbase + 0x1000,
			      .p_paddr = RAM + 0x1000, .p_filesz = 0, .p_memsz = 16 };
	memcpy(buf + 0x200, "\x13\x00\x00\x00\x6f\x00\x00\x00", 8);   /* nop; j . */
	size_t end = 0x300;
	if (sp->with_tohost) {
		const char strtab[] = "\0start\0tohost\0";
		memcpy(buf + 0x240, strtab, sizeof strtab);
		Elf64_Sym *sym = (Elf64_Sym *)(buf + 0x260);
		sym[1] = (Elf64_Sym){ .st_name = 1, .st_shndx = 1, .st_value = sp->vbase };
		sym[2] = (Elf64_Sym){ .st_name = 7, .st_shndx = 2, .st_value = sp->vbase + 0x1000 };
		eh->e_shoff = 0x300;
		eh->e_shentsize = sizeof(Elf64_Shdr);
		eh->e_shnum = 3;
		Elf64_Shdr *sh = (Elf64_Shdr *)(buf + 0x300);
		sh[1] = (Elf64_Shdr){ .sh_type = SHT_SYMTAB, .sh_offset = 0x260,
				      .sh_size = 3 * sizeof(Elf64_Sym), .sh_link = 2,
				      .sh_entsize = sizeof(Elf64_Sym) };
		sh[2] = (Elf64_Shdr){ .sh_type = SHT_STRTAB, .sh_offset = 0x240,
				      .sh_size = sizeof strtab };
		end = 0x300 + 3 * sizeof(Elf64_Shdr);
	}
	return end;
}

static void write_tmp(char *path, const void *data, size_t len)
{
	strcpy(path, "/tmp/nimbus-loader-XXXXXX");
	int fd = mkstemp(path);
	if (len && write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
}

static struct elf_spec riscv_spec(void)
{
	return (struct elf_spec){ .machine = EM_RISCV, .vbase = RAM, .entry_off = 4, .with_tohost = 1 };
}

TEST(loader_elf_segments_bss_entry_tohost)
{
	uint8_t buf[4096];
	char path[64];
	struct elf_spec sp = riscv_spec();
	write_tmp(path, buf, build_elf(buf, &sp));
	struct image img;
	struct err e = {0};
	EXPECT_EQ(image_open(&img, "kernel", path, false, 64 * MiB, &e), 0);
	unlink(path);
	EXPECT_EQ(img.format, IMAGE_ELF);
	EXPECT(!image_relocatable(&img));
	EXPECT_EQ(img.nseg, 2);
	EXPECT_EQ(img.entry, RAM + 4);
	EXPECT(img.has_tohost);
	EXPECT_EQ(img.tohost, RAM + 0x1000);
	EXPECT_EQ(image_lo(&img), RAM);
	EXPECT_EQ(image_hi(&img), RAM + 0x1010);
	struct bus bus;
	EXPECT_EQ(bus_init(&bus, RAM, MiB), 0);
	memset(bus.ram, 0xff, 0x2000);
	EXPECT_EQ(image_load(&img, &bus, &e), 0);
	EXPECT_EQ(bus.ram[0], 0x13);
	EXPECT_EQ(bus.ram[4], 0x6f);
	EXPECT_EQ(bus.ram[8], 0);       /* bss */
	EXPECT_EQ(bus.ram[15], 0);
	EXPECT_EQ(bus.ram[16], 0xff);   /* untouched */
	EXPECT_EQ(bus.ram[0x1000], 0);
	bus_destroy(&bus);
	image_free(&img);
}

TEST(loader_elf_virtual_entry_translated)
{
	uint8_t buf[4096];
	char path[64];
	struct elf_spec sp = riscv_spec();
	sp.vbase = 0xffffffff80000000ull;
	write_tmp(path, buf, build_elf(buf, &sp));
	struct image img;
	struct err e = {0};
	EXPECT_EQ(image_open(&img, "kernel", path, false, 64 * MiB, &e), 0);
	unlink(path);
	EXPECT_EQ(img.entry, RAM + 4);
	EXPECT_EQ(img.tohost, RAM + 0x1000);
	image_free(&img);
}

TEST(loader_elf_without_symbols_has_no_tohost)
{
	uint8_t buf[4096];
	char path[64];
	struct elf_spec sp = riscv_spec();
	sp.with_tohost = 0;
	write_tmp(path, buf, build_elf(buf, &sp));
	struct image img;
	struct err e = {0};
	EXPECT_EQ(image_open(&img, "--bios", path, false, 64 * MiB, &e), 0);
	unlink(path);
	EXPECT(!img.has_tohost);
	image_free(&img);
}

static void expect_open_error(const void *data, size_t len, bool raw, uint64_t max,
			      const char *want, int *ok)
{
	char path[64];
	write_tmp(path, data, len);
	struct image img;
	struct err e = {0};
	int rc = image_open(&img, "kernel", path, raw, max, &e);
	*ok = rc < 0 && e.code == rc && strstr(e.msg, want) && strstr(e.msg, path) &&
	      strstr(e.msg, "kernel ") == e.msg && !strchr(e.msg, '\n') && img.data == NULL;
	if (!*ok)
		printf("   got rc %d: %s\n", rc, e.msg);
	unlink(path);
}

TEST(loader_rejects_non_riscv_elf)
{
	uint8_t buf[4096];
	int ok;
	struct elf_spec sp = riscv_spec();
	sp.machine = EM_X86_64;
	expect_open_error(buf, build_elf(buf, &sp), false, 64 * MiB, "not a RISC-V ELF (e_machine 62, x86-64)", &ok);
	EXPECT(ok);
}

TEST(loader_rejects_32bit_elf)
{
	uint8_t buf[4096];
	int ok;
	struct elf_spec sp = riscv_spec();
	build_elf(buf, &sp);
	buf[EI_CLASS] = ELFCLASS32;
	expect_open_error(buf, 0x300, false, 64 * MiB, "32-bit ELF", &ok);
	EXPECT(ok);
}

TEST(loader_rejects_truncated_elf)
{
	uint8_t buf[4096];
	int ok;
	struct elf_spec sp = riscv_spec();
	sp.seg0_offset_bump = 0x10000;
	expect_open_error(buf, build_elf(buf, &sp), false, 64 * MiB, "extends past the file", &ok);
	EXPECT(ok);
	expect_open_error(buf, 40, false, 64 * MiB, "truncated or invalid ELF header", &ok);
	EXPECT(ok);
}

TEST(loader_rejects_empty_too_large_and_missing)
{
	int ok;
	uint8_t buf[8192] = {0};
	expect_open_error(buf, 0, false, 64 * MiB, "empty file", &ok);
	EXPECT(ok);
	expect_open_error(buf, sizeof buf, true, 4096, "do not fit in 0 MiB of RAM", &ok);
	EXPECT(ok);
	struct image img;
	struct err e = {0};
	EXPECT(image_open(&img, "--initrd", "/nonexistent/initrd.img", true, MiB, &e) < 0);
	EXPECT(strcmp(e.msg, "--initrd /nonexistent/initrd.img: No such file or directory") == 0);
}

TEST(loader_segment_outside_ram)
{
	uint8_t buf[4096];
	char path[64];
	struct elf_spec sp = riscv_spec();
	write_tmp(path, buf, build_elf(buf, &sp));
	struct image img;
	struct err e = {0};
	EXPECT_EQ(image_open(&img, "kernel", path, false, 64 * MiB, &e), 0);
	unlink(path);
	EXPECT(image_check(&img, RAM, 0x1000, &e) < 0);   /* segment 1 at RAM+0x1000 */
	EXPECT(strstr(e.msg, "segment 0x80001000-0x80001010 outside RAM 0x80000000-0x80001000"));
	struct bus bus;
	EXPECT_EQ(bus_init(&bus, RAM + 0x100000, MiB), 0);
	EXPECT(image_load(&img, &bus, &e) < 0);
	EXPECT(strstr(e.msg, "segment 0x80000000-0x80000010 outside RAM"));
	bus_destroy(&bus);
	image_free(&img);
}

TEST(loader_linux_image_and_raw)
{
	uint8_t hdr[0x100] = {0};
	char path[64];
	hdr[0] = 0x4d;                                   /* code0: c.li s4,-13 ("MZ") */
	hdr[0x10] = 0x00;
	hdr[0x10 + 1] = 0x30;             /* image_size 0x3000 */
	memcpy(hdr + 0x38, "RSC\x05", 4);
	write_tmp(path, hdr, sizeof hdr);
	struct image img;
	struct err e = {0};
	EXPECT_EQ(image_open(&img, "kernel", path, false, 64 * MiB, &e), 0);
	EXPECT_EQ(img.format, IMAGE_LINUX);
	EXPECT(image_relocatable(&img));
	image_place(&img, RAM + 0x200000);
	EXPECT_EQ(img.entry, RAM + 0x200000);
	EXPECT_EQ(image_hi(&img), RAM + 0x203000);      /* image_size covers bss */
	struct bus bus;
	EXPECT_EQ(bus_init(&bus, RAM, 4 * MiB), 0);
	memset(bus.ram + 0x200000, 0xff, 0x3000);
	EXPECT_EQ(image_load(&img, &bus, &e), 0);
	EXPECT_EQ(bus.ram[0x200000], 0x4d);
	EXPECT_EQ(bus.ram[0x202fff], 0);
	image_free(&img);
	/* The same bytes as an initrd are not interpreted. */
	EXPECT_EQ(image_open(&img, "--initrd", path, true, 64 * MiB, &e), 0);
	EXPECT_EQ(img.format, IMAGE_RAW);
	EXPECT_EQ(image_hi(&img) - image_lo(&img), sizeof hdr);
	image_free(&img);
	unlink(path);
	/* Anything else is a raw binary. */
	write_tmp(path, "\x13\x00\x00\x00", 4);
	EXPECT_EQ(image_open(&img, "--bios", path, false, 64 * MiB, &e), 0);
	unlink(path);
	EXPECT_EQ(img.format, IMAGE_RAW);
	image_place(&img, RAM);
	EXPECT_EQ(image_check(&img, RAM, 4 * MiB, &e), 0);
	EXPECT_EQ(image_load(&img, &bus, &e), 0);
	EXPECT_EQ(bus.ram[0], 0x13);
	image_free(&img);
	bus_destroy(&bus);
}

TEST(a_reboot_reads_the_file_again_and_the_host_copy_is_gone_after_the_first_load)
{
	char path[64];
	write_tmp(path, "\x13\x00\x00\x00\x6f\x00\x00\x00", 8);
	struct image img;
	struct err e = {0};
	EXPECT_EQ(image_open(&img, "--bios", path, false, 64 * MiB, &e), 0);
	image_place(&img, RAM);
	struct bus bus;
	EXPECT_EQ(bus_init(&bus, RAM, 4 * MiB), 0);
	EXPECT_EQ(image_load(&img, &bus, &e), 0);
	EXPECT(img.data == NULL);
	/* A reboot: the guest overwrote its RAM; the file is read again. */
	memset(bus.ram, 0xee, 8);
	EXPECT_EQ(image_load(&img, &bus, &e), 0);
	EXPECT_EQ(bus.ram[0], 0x13);
	EXPECT_EQ(bus.ram[4], 0x6f);
	/* A new file renamed over it: the VM keeps booting the one it opened. */
	char other[64];
	write_tmp(other, "\x73\x00\x10\x00\x6f\x00\x00\x00", 8);
	EXPECT_EQ(rename(other, path), 0);
	memset(bus.ram, 0xee, 8);
	EXPECT_EQ(image_load(&img, &bus, &e), 0);
	EXPECT_EQ(bus.ram[0], 0x13);
	image_free(&img);
	unlink(path);
	bus_destroy(&bus);
}

TEST(a_reboot_refuses_an_image_changed_in_place_naming_it)
{
	char path[64];
	write_tmp(path, "\x13\x00\x00\x00\x6f\x00\x00\x00", 8);
	struct image img;
	struct err e = {0};
	EXPECT_EQ(image_open(&img, "kernel", path, false, 64 * MiB, &e), 0);
	image_place(&img, RAM);
	struct bus bus;
	EXPECT_EQ(bus_init(&bus, RAM, 4 * MiB), 0);
	EXPECT_EQ(image_load(&img, &bus, &e), 0);
	usleep(20000);   /* a later modification time on coarse-grained filesystems */
	FILE *f = fopen(path, "w");   /* in place: same inode, truncated and rewritten */
	EXPECT(f && fwrite("\x73\x00\x10\x00\x6f\x00\x00\x00\x00\x00\x00\x00", 1, 12, f) == 12);
	fclose(f);
	memset(bus.ram, 0xee, 8);
	EXPECT_EQ(image_load(&img, &bus, &e), -ESTALE);
	EXPECT(strstr(e.msg, path) && strstr(e.msg, "changed since"));
	EXPECT_EQ(bus.ram[0], 0xee);
	image_free(&img);
	unlink(path);
	bus_destroy(&bus);
}

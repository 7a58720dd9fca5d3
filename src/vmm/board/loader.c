/*
 * Image loading: file reading, ELF64 program-header and symbol-table
 * parsing with bounds checks on every field, Linux Image header detection
 * (Documentation/riscv/boot-image-header.rst), copying into guest RAM.
 * See loader.h.
 */
#include "vmm/board/loader.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/bus.h"

#define LINUX_IMAGE_MAGIC2_OFF 0x38
#define LINUX_IMAGE_SIZE_OFF   0x10

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* a + b <= limit, without overflow. */
static bool fits(uint64_t a, uint64_t b, uint64_t limit)
{
	return a <= limit && b <= limit - a;
}

static int read_file(struct image *img, uint64_t max_size, struct err *err)
{
	int fd = open(img->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, -errno, "%s %s: %s", img->what, img->path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return err_set(err, -e, "%s %s: %s", img->what, img->path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(err, -EINVAL, "%s %s: not a regular file", img->what, img->path);
	}
	if (st.st_size == 0) {
		close(fd);
		return err_set(err, -EINVAL, "%s %s: empty file", img->what, img->path);
	}
	if ((uint64_t)st.st_size > max_size) {
		close(fd);
		return err_set(err, -EFBIG, "%s %s: %lld bytes do not fit in %llu MiB of RAM",
			       img->what, img->path, (long long)st.st_size,
			       (unsigned long long)(max_size >> 20));
	}
	img->size = (size_t)st.st_size;
	img->id_size = (uint64_t)st.st_size;
	img->id_mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	/* A private copy to validate and place from, dropped after the first load. */
	void *p = mmap(NULL, img->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		close(fd);
		img->size = 0;
		return err_set(err, -ENOMEM, "%s %s: out of memory", img->what, img->path);
	}
	img->data = p;
	size_t got = 0;
	while (got < img->size) {
		ssize_t n = read(fd, img->data + got, img->size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			close(fd);
			return err_set(err, -e, "%s %s: read: %s", img->what, img->path,
				       n < 0 ? strerror(e) : "file shrank while reading");
		}
		got += (size_t)n;
	}
	img->fd = fd;
	return 0;
}

/* The file still holds what was opened: same size and modification time.
 * Not the change time: a file renamed over this one unlinks it, which
 * changes the change time of the very inode we hold, not its contents. */
static int still_same(const struct image *img, struct err *err)
{
	struct stat st;
	if (fstat(img->fd, &st) < 0)
		return err_set(err, -errno, "%s %s: %s", img->what, img->path, strerror(errno));
	if ((uint64_t)st.st_size != img->id_size ||
	    (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec != img->id_mtime_ns)
		return err_set(err, -ESTALE, "%s %s: changed since the VM started; not booting "
			       "it again (replace images by renaming a new file over them)",
			       img->what, img->path);
	return 0;
}

/* Reads [off, off + n) of the file into dst. */
static int reread(const struct image *img, uint8_t *dst, uint64_t off, uint64_t n,
		  struct err *err)
{
	uint64_t got = 0;
	while (got < n) {
		ssize_t r = pread(img->fd, dst + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e = r < 0 ? errno : EIO;
			return err_set(err, -e, "%s %s: read: %s", img->what, img->path,
				       r < 0 ? strerror(e) : "file shrank while reading");
		}
		got += (uint64_t)r;
	}
	return 0;
}

static int elf_bad(struct image *img, struct err *err, const char *why)
{
	return err_set(err, -ENOEXEC, "%s %s: %s", img->what, img->path, why);
}

/* Virtual address -> physical, through the PT_LOAD segment containing it. */
static bool elf_v2p(const Elf64_Phdr *ph, unsigned n, uint64_t va, uint64_t *pa)
{
	for (unsigned i = 0; i < n; i++) {
		if (ph[i].p_type == PT_LOAD && va >= ph[i].p_vaddr &&
		    va - ph[i].p_vaddr < ph[i].p_memsz) {
			*pa = ph[i].p_paddr + (va - ph[i].p_vaddr);
			return true;
		}
	}
	return false;
}

/* Finds `tohost` in the symbol table, if there is a well-formed one. */
static void elf_find_tohost(struct image *img, const Elf64_Ehdr *eh, const Elf64_Phdr *ph)
{
	if (eh->e_shoff == 0 || eh->e_shnum == 0 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    !fits(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr), img->size) ||
	    eh->e_shoff % 8)
		return;
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(img->data + eh->e_shoff);
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_entsize != sizeof(Elf64_Sym) ||
		    sh[i].sh_link >= eh->e_shnum || sh[i].sh_offset % 8 ||
		    !fits(sh[i].sh_offset, sh[i].sh_size, img->size))
			continue;
		const Elf64_Shdr *str = &sh[sh[i].sh_link];
		if (!fits(str->sh_offset, str->sh_size, img->size))
			continue;
		const char *names = (const char *)img->data + str->sh_offset;
		const Elf64_Sym *sym = (const Elf64_Sym *)(img->data + sh[i].sh_offset);
		uint64_t nsym = sh[i].sh_size / sizeof(Elf64_Sym);
		for (uint64_t k = 0; k < nsym; k++) {
			uint64_t name = sym[k].st_name;
			if (name >= str->sh_size || sym[k].st_shndx == SHN_UNDEF)
				continue;
			if (strnlen(names + name, str->sh_size - name) == 6 &&
			    memcmp(names + name, "tohost", 6) == 0) {
				uint64_t pa;
				if (elf_v2p(ph, eh->e_phnum, sym[k].st_value, &pa)) {
					img->has_tohost = true;
					img->tohost = pa;
				}
				return;
			}
		}
	}
}

static int parse_elf(struct image *img, struct err *err)
{
	if (img->size < sizeof(Elf64_Ehdr) || img->data[EI_CLASS] != ELFCLASS64) {
		if (img->size > EI_CLASS && img->data[EI_CLASS] == ELFCLASS32)
			return elf_bad(img, err, "32-bit ELF; nimbus runs RV64 guests");
		return elf_bad(img, err, "truncated or invalid ELF header");
	}
	Elf64_Ehdr eh;
	memcpy(&eh, img->data, sizeof(eh));
	if (eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return elf_bad(img, err, "big-endian ELF; RISC-V is little-endian");
	if (eh.e_machine != EM_RISCV) {
		const char *name = eh.e_machine == EM_X86_64 ? ", x86-64" :
				   eh.e_machine == EM_AARCH64 ? ", AArch64" :
				   eh.e_machine == EM_386 ? ", i386" :
				   eh.e_machine == EM_ARM ? ", ARM" : "";
		char why[64];
		snprintf(why, sizeof why, "not a RISC-V ELF (e_machine %u%s)", eh.e_machine, name);
		return elf_bad(img, err, why);
	}
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
		return elf_bad(img, err, "ELF is not an executable");
	if (eh.e_phnum == 0 || eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff % 8 ||
	    !fits(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), img->size))
		return elf_bad(img, err, "bad ELF program header table");
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(img->data + eh.e_phoff);
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0)
			continue;
		if (ph[i].p_filesz > ph[i].p_memsz || !fits(ph[i].p_offset, ph[i].p_filesz, img->size) ||
		    !fits(ph[i].p_paddr, ph[i].p_memsz, UINT64_MAX))
			return elf_bad(img, err, "ELF segment extends past the file or wraps around");
		if (img->nseg == IMAGE_MAX_SEGS)
			return elf_bad(img, err, "too many ELF load segments");
		img->seg[img->nseg++] = (struct image_seg){
			.paddr = ph[i].p_paddr, .offset = ph[i].p_offset,
			.filesz = ph[i].p_filesz, .memsz = ph[i].p_memsz,
		};
	}
	if (img->nseg == 0)
		return elf_bad(img, err, "ELF has no loadable segments");
	if (!elf_v2p(ph, eh.e_phnum, eh.e_entry, &img->entry))
		img->entry = eh.e_entry;   /* already physical, or caught by image_check */
	img->format = IMAGE_ELF;
	elf_find_tohost(img, &eh, ph);
	return 0;
}

int image_open(struct image *img, const char *what, const char *path, bool raw_only,
	       uint64_t max_size, struct err *err)
{
	memset(img, 0, sizeof(*img));
	img->fd = -1;
	snprintf(img->what, sizeof img->what, "%s", what);
	img->path = strdup(path);
	if (!img->path)
		return err_set(err, -ENOMEM, "%s %s: out of memory", what, path);
	int rc = read_file(img, max_size, err);
	if (rc == 0 && !raw_only && img->size >= 4 && memcmp(img->data, ELFMAG, SELFMAG) == 0) {
		rc = parse_elf(img, err);
	} else if (rc == 0) {
		uint64_t memsz = img->size;
		img->format = IMAGE_RAW;
		if (!raw_only && img->size >= 0x40 &&
		    memcmp(img->data + LINUX_IMAGE_MAGIC2_OFF, "RSC\x05", 4) == 0) {
			img->format = IMAGE_LINUX;
			uint64_t isz = le64(img->data + LINUX_IMAGE_SIZE_OFF);
			if (isz > memsz)
				memsz = isz;
			if (memsz > max_size)
				rc = err_set(err, -EFBIG, "%s %s: Image needs %llu MiB, RAM is %llu MiB",
					     what, path, (unsigned long long)(memsz >> 20),
					     (unsigned long long)(max_size >> 20));
		}
		img->seg[0] = (struct image_seg){ .filesz = img->size, .memsz = memsz };
		img->nseg = 1;
	}
	if (rc)
		image_free(img);
	return rc;
}

void image_free(struct image *img)
{
	free(img->path);
	if (img->data)
		munmap(img->data, img->size);
	if (img->fd >= 0)
		close(img->fd);
	memset(img, 0, sizeof(*img));
	img->fd = -1;
}

bool image_relocatable(const struct image *img)
{
	return img->format != IMAGE_ELF;
}

void image_place(struct image *img, uint64_t addr)
{
	img->seg[0].paddr = addr;
	img->entry = addr;
}

uint64_t image_lo(const struct image *img)
{
	uint64_t lo = UINT64_MAX;
	for (unsigned i = 0; i < img->nseg; i++)
		if (img->seg[i].paddr < lo)
			lo = img->seg[i].paddr;
	return lo;
}

uint64_t image_hi(const struct image *img)
{
	uint64_t hi = 0;
	for (unsigned i = 0; i < img->nseg; i++)
		if (img->seg[i].paddr + img->seg[i].memsz > hi)
			hi = img->seg[i].paddr + img->seg[i].memsz;
	return hi;
}

int image_check(const struct image *img, uint64_t ram_base, uint64_t ram_size, struct err *err)
{
	for (unsigned i = 0; i < img->nseg; i++) {
		const struct image_seg *s = &img->seg[i];
		if (s->paddr < ram_base || !fits(s->paddr - ram_base, s->memsz, ram_size))
			return err_set(err, -ERANGE,
				       "%s %s: segment 0x%llx-0x%llx outside RAM 0x%llx-0x%llx",
				       img->what, img->path, (unsigned long long)s->paddr,
				       (unsigned long long)(s->paddr + s->memsz),
				       (unsigned long long)ram_base,
				       (unsigned long long)(ram_base + ram_size));
	}
	return 0;
}

int image_load(struct image *img, struct bus *bus, struct err *err)
{
	int rc = image_check(img, bus->ram_base, bus->ram_size, err);
	if (rc)
		return rc;
	if (!img->data && (rc = still_same(img, err)))
		return rc;
	for (unsigned i = 0; i < img->nseg; i++) {
		const struct image_seg *s = &img->seg[i];
		uint8_t *dst = bus_guest_ptr_w(bus, s->paddr, s->memsz);
		if (img->data)
			memcpy(dst, img->data + s->offset, s->filesz);
		else if ((rc = reread(img, dst, s->offset, s->filesz, err)))
			return rc;
		memset(dst + s->filesz, 0, s->memsz - s->filesz);
		bus_note_write(bus, s->paddr, s->memsz);
	}
	/* Guest RAM has it now; a reboot reads the file again. */
	if (img->data) {
		munmap(img->data, img->size);
		img->data = NULL;
	}
	return 0;
}

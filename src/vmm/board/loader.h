/*
 * Boot images: firmware, kernel and initrd files, validated, and copied into
 * guest RAM at each (re)boot.  The host copy read to validate a file lives
 * only until its first image_load; the file stays open, and a reboot reads
 * it again from that descriptor (a file replaced by rename keeps the VM's old
 * one; a file changed in place since the VM started is refused by name), so
 * an idle VM does not keep megabytes of kernel and initramfs of its own
 * (docs/density.md).
 *
 * Formats: an ELF (ELF64, little-endian, EM_RISCV) is loaded by the
 * physical addresses of its PT_LOAD segments (bss zeroed) and starts at its
 * entry point, translated from virtual to physical through the segment that
 * contains it; a RISC-V Linux `Image` (magic "RSC\x05" at 0x38) and any
 * other file (raw binary) are position-independent here: the board places
 * them with image_place(), and an Image reserves its header's image_size
 * (which covers its bss).  An ELF that defines the symbol `tohost` reports
 * its physical address (the riscv-tests HTIF convention).
 *
 * Every problem is a one-line struct err naming the role and the file:
 * missing or unreadable file, empty file, a file larger than RAM, a bad or
 * non-RISC-V ELF, a segment outside RAM.  Nothing here touches the bus
 * until image_load(), after image_check() accepted the placement.
 */
#ifndef NIMBUS_VMM_BOARD_LOADER_H
#define NIMBUS_VMM_BOARD_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

struct bus;

enum image_format {
	IMAGE_ELF,
	IMAGE_LINUX,      /* RISC-V Linux Image */
	IMAGE_RAW,
};

struct image_seg {
	uint64_t paddr;
	uint64_t offset;  /* in the file */
	uint64_t filesz;
	uint64_t memsz;   /* >= filesz; the rest is zeroed */
};

#define IMAGE_MAX_SEGS 16

struct image {
	char what[24];            /* role for messages: "kernel", "--bios", ... */
	char *path;
	uint8_t *data;
	size_t size;
	enum image_format format;
	struct image_seg seg[IMAGE_MAX_SEGS];
	unsigned nseg;
	uint64_t entry;           /* physical */
	bool has_tohost;
	uint64_t tohost;          /* physical address of `tohost` */
	int fd;                   /* the file, open for reboots (-1: none) */
	/* What the file was when opened; a reload checks it did not change. */
	uint64_t id_size;
	int64_t id_mtime_ns;
};

/*
 * Reads and validates path.  raw_only: do not interpret the contents (an
 * initrd).  max_size: the RAM size, larger files are refused.  On failure
 * img holds nothing.
 */
int image_open(struct image *img, const char *what, const char *path, bool raw_only,
	       uint64_t max_size, struct err *err);
void image_free(struct image *img);

/* True for formats placed by the board (Image, raw); ELF has fixed addresses. */
bool image_relocatable(const struct image *img);
/* Puts a relocatable image at addr (its entry point). */
void image_place(struct image *img, uint64_t addr);

/* Lowest address and end (exclusive) of what the image occupies in memory. */
uint64_t image_lo(const struct image *img);
uint64_t image_hi(const struct image *img);

/* Checks every segment lies in [ram_base, ram_base + ram_size). */
int image_check(const struct image *img, uint64_t ram_base, uint64_t ram_size, struct err *err);
/* Copies the image into guest RAM (after image_check), then drops the host
 * copy; later calls read the file again.  -ESTALE when it changed since. */
int image_load(struct image *img, struct bus *bus, struct err *err);

#endif

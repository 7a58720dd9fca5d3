/*
 * The system bus of one VM: guest RAM plus a table of MMIO regions.
 *
 * The CPU sees only this bus; the bus knows nothing of device internals.
 * A device registers [base, base+size) with read/write callbacks and gets
 * every access with the offset inside its region, sizes 1, 2, 4 or 8, never
 * crossing the region end.  Callbacks may run concurrently from several vCPU
 * threads (and device I/O threads): a device locks its own state.
 *
 * Guest RAM is one host mapping [ram_base, ram_base + ram_size).  Devices
 * reach it only through bus_guest_ptr(), the single checked door: it returns
 * a host pointer only if the whole guest-physical range lies in RAM, with
 * overflow-safe arithmetic.  Anything that writes guest RAM behind the CPU's
 * back (DMA by a device) calls bus_note_write() so decoded-code caches and
 * dirty tracking see it.
 *
 * Code-page tracking: the CPU's decoded-block cache marks a RAM page as
 * holding code (bus_mark_code); any write to such a page bumps the page's
 * generation and clears the mark, which invalidates the blocks decoded from
 * it in every hart of the VM.  The check on the store path is one load and
 * one predictable branch.
 */
#ifndef NIMBUS_VMM_BUS_H
#define NIMBUS_VMM_BUS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BUS_PAGE_SHIFT 12
#define BUS_WATCH_CODE 1u
#define BUS_MAX_REGIONS 32

struct mmio_ops {
	/* Returns the value read; an offset the device does not implement reads 0. */
	uint64_t (*read)(void *dev, uint64_t offset, unsigned size);
	void (*write)(void *dev, uint64_t offset, unsigned size, uint64_t value);
};

struct bus_region {
	uint64_t base, size;
	const struct mmio_ops *ops;
	void *dev;
	const char *name;
};

struct bus {
	uint8_t *ram;          /* host mapping of guest RAM */
	uint64_t ram_base;     /* guest-physical address of ram[0] */
	uint64_t ram_size;     /* bytes, a multiple of the page size */

	/* The watch map: one byte per RAM page, a bit per client watching
	 * writes to it.  BUS_WATCH_CODE is set while some hart holds blocks
	 * decoded from the page.  A byte, not a bit, so a store's check is
	 * one byte test (the JIT inlines it). */
	_Atomic uint8_t *watch;
	/* One counter per RAM page: bumped by every write to a code page. */
	_Atomic uint32_t *code_gen;

	struct bus_region regions[BUS_MAX_REGIONS];
	unsigned nregions;
};

/* Maps ram_size bytes of zeroed guest RAM at ram_base. 0 or -errno. */
int bus_init(struct bus *bus, uint64_t ram_base, uint64_t ram_size);
void bus_destroy(struct bus *bus);

/* Offers guest RAM to the kernel's same-page merging (KSM, MADV_MERGEABLE)
 * instead of huge pages.  0 or -errno (-EINVAL: a kernel without KSM). */
int bus_ram_mergeable(struct bus *bus);
/*
 * Asks the host for transparent huge pages under guest RAM (as QEMU does
 * for its RAM): the first touch of RAM, by the guest or by a device
 * reading a disk into it, then faults once per 2 MiB instead of once per
 * 4 KiB.  The price: RAM becomes resident in 2 MiB pieces.  Best effort.
 */
void bus_ram_hugepages(struct bus *bus);

/* Adds an MMIO region; fails with -EINVAL if it overlaps RAM or another region. */
int bus_add_region(struct bus *bus, uint64_t base, uint64_t size,
		   const struct mmio_ops *ops, void *dev, const char *name);

/* The region containing gpa, or NULL. */
const struct bus_region *bus_find_region(const struct bus *bus, uint64_t gpa);

/*
 * Loads/stores of 1, 2, 4 or 8 bytes at a guest-physical address, RAM or MMIO
 * (the slow path; the CPU inlines RAM accesses itself).  Return 0, or -1 for
 * an access fault (nothing mapped there, or an access straddling a region end).
 */
int bus_load(struct bus *bus, uint64_t gpa, unsigned size, uint64_t *value);
int bus_store(struct bus *bus, uint64_t gpa, unsigned size, uint64_t value);

static inline bool bus_in_ram(const struct bus *bus, uint64_t gpa, uint64_t len)
{
	uint64_t off = gpa - bus->ram_base;   /* wraps to huge when gpa < base */
	return gpa >= bus->ram_base && off <= bus->ram_size && len <= bus->ram_size - off;
}

/* The one checked door into guest RAM: a host pointer to [gpa, gpa+len), or NULL. */
static inline void *bus_guest_ptr(const struct bus *bus, uint64_t gpa, uint64_t len)
{
	return bus_in_ram(bus, gpa, len) ? bus->ram + (gpa - bus->ram_base) : NULL;
}

/* Copies between host and guest memory; -1 if the range is not wholly in RAM. */
int bus_read_guest(struct bus *bus, uint64_t gpa, void *dst, uint64_t len);
int bus_write_guest(struct bus *bus, uint64_t gpa, const void *src, uint64_t len);

/* Slow path of bus_note_write: invalidates code in the pages of [gpa, gpa+len). */
void bus_invalidate_code(struct bus *bus, uint64_t gpa, uint64_t len);

/* Tells the bus [gpa, gpa+len) of RAM was written other than by a CPU store. */
static inline void bus_note_write(struct bus *bus, uint64_t gpa, uint64_t len)
{
	if (len == 0 || !bus_in_ram(bus, gpa, len))
		return;
	uint64_t first = (gpa - bus->ram_base) >> BUS_PAGE_SHIFT;
	uint64_t last = (gpa - bus->ram_base + len - 1) >> BUS_PAGE_SHIFT;
	for (uint64_t p = first; p <= last; p++) {
		if (atomic_load_explicit(&bus->watch[p], memory_order_relaxed) & BUS_WATCH_CODE) {
			bus_invalidate_code(bus, gpa, len);
			return;
		}
	}
}

/* Marks RAM page number pfn (relative to ram_base) as holding decoded code. */
static inline void bus_mark_code(struct bus *bus, uint64_t pfn)
{
	atomic_fetch_or_explicit(&bus->watch[pfn], BUS_WATCH_CODE, memory_order_relaxed);
}

static inline bool bus_page_is_code(const struct bus *bus, uint64_t pfn)
{
	return atomic_load_explicit(&bus->watch[pfn], memory_order_relaxed) & BUS_WATCH_CODE;
}

static inline uint32_t bus_code_gen(const struct bus *bus, uint64_t pfn)
{
	return atomic_load_explicit(&bus->code_gen[pfn], memory_order_acquire);
}

#endif

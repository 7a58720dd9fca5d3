/*
 * The system bus: guest RAM mapping, MMIO region table, slow-path accesses.
 * See bus.h for the contract.
 */
#include "vmm/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int bus_init(struct bus *bus, uint64_t ram_base, uint64_t ram_size)
{
	memset(bus, 0, sizeof(*bus));
	if (ram_size == 0 || (ram_size & ((1u << BUS_PAGE_SHIFT) - 1)) ||
	    ram_base + ram_size < ram_base)
		return -EINVAL;
	/* MAP_NORESERVE: untouched guest RAM costs the host nothing. */
	void *ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram == MAP_FAILED)
		return -errno;
	uint64_t pages = ram_size >> BUS_PAGE_SHIFT;
	bus->watch = calloc(pages, sizeof(*bus->watch));
	bus->code_gen = calloc(pages, sizeof(*bus->code_gen));
	if (!bus->watch || !bus->code_gen) {
		free(bus->watch);
		free(bus->code_gen);
		munmap(ram, ram_size);
		return -ENOMEM;
	}
	bus->ram = ram;
	bus->ram_base = ram_base;
	bus->ram_size = ram_size;
	return 0;
}

void bus_ram_hugepages(struct bus *bus)
{
	/* The balloon's MADV_DONTNEED of 4 KiB pieces still frees them: the
	 * kernel splits a huge page that is only partly discarded. */
	if (bus->ram)
		(void)madvise(bus->ram, bus->ram_size, MADV_HUGEPAGE);
}

int bus_ram_mergeable(struct bus *bus)
{
	/* KSM scans base pages only: huge pages would hide the guests' identical
	 * kernel and page-cache pages from it. */
	(void)madvise(bus->ram, bus->ram_size, MADV_NOHUGEPAGE);
	return madvise(bus->ram, bus->ram_size, MADV_MERGEABLE) < 0 ? -errno : 0;
}

void bus_destroy(struct bus *bus)
{
	if (bus->ram)
		munmap(bus->ram, bus->ram_size);
	free(bus->watch);
	free(bus->code_gen);
	memset(bus, 0, sizeof(*bus));
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int bus_add_region(struct bus *bus, uint64_t base, uint64_t size,
		   const struct mmio_ops *ops, void *dev, const char *name)
{
	if (size == 0 || base + size < base || bus->nregions == BUS_MAX_REGIONS)
		return -EINVAL;
	if (ranges_overlap(base, size, bus->ram_base, bus->ram_size))
		return -EINVAL;
	for (unsigned i = 0; i < bus->nregions; i++)
		if (ranges_overlap(base, size, bus->regions[i].base, bus->regions[i].size))
			return -EINVAL;
	bus->regions[bus->nregions++] = (struct bus_region){
		.base = base, .size = size, .ops = ops, .dev = dev, .name = name,
	};
	return 0;
}

const struct bus_region *bus_find_region(const struct bus *bus, uint64_t gpa)
{
	for (unsigned i = 0; i < bus->nregions; i++) {
		const struct bus_region *r = &bus->regions[i];
		if (gpa - r->base < r->size)
			return r;
	}
	return NULL;
}

static const struct bus_region *region_for(const struct bus *bus, uint64_t gpa, unsigned size)
{
	const struct bus_region *r = bus_find_region(bus, gpa);
	if (!r || size > r->size - (gpa - r->base))
		return NULL;
	return r;
}

int bus_load(struct bus *bus, uint64_t gpa, unsigned size, uint64_t *value)
{
	const uint8_t *p = bus_guest_ptr(bus, gpa, size);
	if (p) {
		uint64_t v = 0;
		memcpy(&v, p, size);   /* little-endian host, as the guest */
		*value = v;
		return 0;
	}
	const struct bus_region *r = region_for(bus, gpa, size);
	if (!r)
		return -1;
	*value = r->ops->read(r->dev, gpa - r->base, size);
	return 0;
}

int bus_store(struct bus *bus, uint64_t gpa, unsigned size, uint64_t value)
{
	uint8_t *p = bus_guest_ptr(bus, gpa, size);
	if (p) {
		memcpy(p, &value, size);
		bus_note_write(bus, gpa, size);
		return 0;
	}
	const struct bus_region *r = region_for(bus, gpa, size);
	if (!r)
		return -1;
	r->ops->write(r->dev, gpa - r->base, size, value);
	return 0;
}

int bus_read_guest(struct bus *bus, uint64_t gpa, void *dst, uint64_t len)
{
	const void *p = bus_guest_ptr(bus, gpa, len);
	if (!p)
		return -1;
	memcpy(dst, p, len);
	return 0;
}

int bus_write_guest(struct bus *bus, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = bus_guest_ptr(bus, gpa, len);
	if (!p)
		return -1;
	memcpy(p, src, len);
	bus_note_write(bus, gpa, len);
	return 0;
}

void bus_invalidate_code(struct bus *bus, uint64_t gpa, uint64_t len)
{
	uint64_t first = (gpa - bus->ram_base) >> BUS_PAGE_SHIFT;
	uint64_t last = (gpa - bus->ram_base + len - 1) >> BUS_PAGE_SHIFT;
	for (uint64_t p = first; p <= last; p++) {
		uint8_t old = atomic_fetch_and(&bus->watch[p], (uint8_t)~BUS_WATCH_CODE);
		if (old & BUS_WATCH_CODE)
			atomic_fetch_add(&bus->code_gen[p], 1);
	}
}

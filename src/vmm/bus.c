/*
 * The system bus: guest RAM mapping, MMIO region table, slow-path accesses.
 * See bus.h for the contract.
 */
#include "vmm/bus.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

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
	 * kernel splits a huge page that is only partly discarded.  Asked
	 * again of a new shared mapping of RAM (bus_ram_rebase): the advice
	 * belongs to the mapping.  Shared RAM (a memfd) gets huge pages only
	 * as the host's shmem_enabled allows; a private mapping of a file
	 * (a fork's image, a snapshot) none: its copies are small pages. */
	bus->ram_hugepages = true;
	if (bus->ram)
		(void)madvise(bus->ram, bus->ram_size, MADV_HUGEPAGE);
}

/* RAM was mapped anew, shared: the advice of the old mapping again. */
static void ram_remapped(struct bus *bus)
{
	if (bus->ram_hugepages)
		(void)madvise(bus->ram, bus->ram_size, MADV_HUGEPAGE);
}

bool bus_shared_ram_hugepages(void)
{
	char buf[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/shmem_enabled", "re");
	if (!f)
		return false;
	bool ok = fgets(buf, sizeof buf, f) != NULL;
	fclose(f);
	return ok && (strstr(buf, "[always]") || strstr(buf, "[within_size]") ||
		      strstr(buf, "[advise]"));
}

int bus_ram_share(struct bus *bus)
{
	if (bus->ram_shared || bus->ram_from_file)
		return -EINVAL;
	int fd = memfd_create("nimbus-guest-ram", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = ftruncate(fd, (off_t)bus->ram_size) < 0 ? -errno : bus_ram_share_file(bus, fd);
	if (rc)
		close(fd);
	return rc;
}

int bus_ram_share_file(struct bus *bus, int fd)
{
	if (bus->ram_shared || bus->ram_from_file)
		return -EINVAL;
	/* MAP_FIXED over the anonymous mapping, untouched yet: the address
	 * stays the one bus_init chose. */
	void *p = mmap(bus->ram, bus->ram_size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_FIXED | MAP_NORESERVE, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	bus->ram_shared = true;
	bus->ram_fd = fd;
	return 0;
}

int bus_ram_freeze(struct bus *bus)
{
	if (!bus->ram_shared)
		return -EINVAL;
	/* Over the same range: the old mapping's page table entries go in the
	 * same step, so nothing can write the memfd through it afterwards. */
	void *p = mmap(bus->ram, bus->ram_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, bus->ram_fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	bus->ram_shared = false;
	bus->ram_from_file = true;
	return 0;
}

int bus_ram_rebase(struct bus *bus, int fd)
{
	if (!bus->ram_from_file)
		return -EINVAL;
	/* The private copies go with the old mapping: fd holds them now. */
	void *p = mmap(bus->ram, bus->ram_size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_FIXED | MAP_NORESERVE, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	close(bus->ram_fd);
	bus->ram_fd = fd;
	bus->ram_from_file = false;
	bus->ram_shared = true;
	ram_remapped(bus);
	return 0;
}

int bus_ram_discard(struct bus *bus, uint64_t gpa, uint64_t len)
{
	if (!len || !bus_in_ram(bus, gpa, len))
		return -EINVAL;
	void *p = bus->ram + (gpa - bus->ram_base);
	/* Shared: only taking the pages out of the memfd frees them (and
	 * zeroes them); MADV_DONTNEED would only unmap them. */
	int rc = madvise(p, len, bus->ram_shared ? MADV_REMOVE : MADV_DONTNEED);
	return rc < 0 ? -errno : 0;
}

int bus_map_ram_file(struct bus *bus, int fd)
{
	/* Kept: its holes tell which pages are zero without reading them. */
	int keep = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (keep < 0)
		return -errno;
	/* MAP_FIXED over the anonymous mapping: the address the harts and
	 * devices hold stays valid, and the old pages are gone in the same step. */
	void *p = mmap(bus->ram, bus->ram_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;
		close(keep);
		return -e;
	}
	if (bus->ram_from_file || bus->ram_shared)
		close(bus->ram_fd);
	bus->ram_from_file = true;
	bus->ram_shared = false;
	bus->ram_fd = keep;
	return 0;
}

/* The page map entries of RAM pages [first, first + n) into out. */
int bus_keep_pagemap(struct bus *bus)
{
	if (bus->pagemap_kept)
		return 0;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	bus->pagemap_fd = fd;
	bus->pagemap_kept = true;
	return 0;
}

static int pagemap_read(const struct bus *bus, uint64_t first, uint64_t n, uint64_t *out)
{
	int fd = bus->pagemap_kept ? bus->pagemap_fd : open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	uint64_t vpn = ((uintptr_t)bus->ram >> BUS_PAGE_SHIFT) + first;
	int rc = 0;
	for (uint64_t done = 0; done < n && !rc;) {
		uint64_t k = n - done < 512 ? n - done : 512;
		ssize_t r = pread(fd, out + done, k * 8, (off_t)((vpn + done) * 8));
		if (r != (ssize_t)(k * 8))
			rc = r < 0 ? -errno : -EIO;
		done += k;
	}
	if (!bus->pagemap_kept)
		close(fd);
	return rc;
}

/* Bit 63: present; 62: swapped (only a private copy can be); 61: a page of
 * a file (or shared).  Present without 61, or swapped: a private copy, the
 * page written since a file mapping (or any touched anonymous page). */
static bool pm_private(uint64_t e)
{
	return (e >> 62 & 1) || ((e >> 63 & 1) && !(e >> 61 & 1));
}

int bus_ram_touched(const struct bus *bus, uint64_t first, uint64_t n, uint8_t *out)
{
	uint64_t pages = bus->ram_size >> BUS_PAGE_SHIFT;
	if (first > pages || n > pages - first)
		return -EINVAL;
	/* Shared RAM: its memfd holds every page ever written (or read: a
	 * shared mapping has no zero page), and nothing else does. */
	uint64_t *pm = bus->ram_shared ? NULL : malloc(n * 8 + 1);
	if (bus->ram_shared) {
		memset(out, 0, n);
	} else if (!pm || pagemap_read(bus, first, n, pm)) {
		free(pm);
		memset(out, 1, n);   /* no page map: every page may hold data */
		return 0;
	}
	for (uint64_t i = 0; pm && i < n; i++)
		out[i] = bus->ram_from_file ? pm_private(pm[i]) : (pm[i] >> 62) != 0;
	free(pm);
	/* RAM from a file or shared: and wherever the file has data. */
	const uint64_t psz = 1u << BUS_PAGE_SHIFT;
	bool file = bus->ram_from_file || bus->ram_shared;
	for (off_t off = (off_t)(first * psz); file && (uint64_t)off < (first + n) * psz;) {
		off_t data = lseek(bus->ram_fd, off, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			break;   /* holes to the end */
		off_t hole = data < 0 ? -1 : lseek(bus->ram_fd, data, SEEK_HOLE);
		if (data < 0 || hole < 0) {   /* no SEEK_DATA here: all of it may be data */
			memset(out + (off / (off_t)psz - (off_t)first), 1,
			       n - (uint64_t)(off / (off_t)psz - (off_t)first));
			break;
		}
		for (uint64_t pg = (uint64_t)data / psz; pg * psz < (uint64_t)hole && pg < first + n; pg++)
			if (pg >= first)
				out[pg - first] = 1;
		off = hole;
	}
	return 0;
}

int bus_ram_changed_from_file(const struct bus *bus, uint64_t *pages)
{
	uint64_t n = bus->ram_size >> BUS_PAGE_SHIFT;
	if (!bus->ram_from_file)
		return -EINVAL;
	uint64_t *pm = malloc(n * 8 + 1);
	if (!pm)
		return -ENOMEM;
	int rc = pagemap_read(bus, 0, n, pm);
	for (uint64_t i = 0; i < n && !rc; i++)
		if (pm_private(pm[i]))
			pages[i / 64] |= 1ull << (i % 64);
	free(pm);
	return rc;
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
	if (bus->ram_from_file || bus->ram_shared)
		close(bus->ram_fd);
	if (bus->pagemap_kept)
		close(bus->pagemap_fd);
	if (bus->ram)
		munmap(bus->ram, bus->ram_size);
	free(bus->watch);
	free(bus->code_gen);
	free((void *)bus->dirty);
	free((void *)bus->dev_dirty);
	memset(bus, 0, sizeof(*bus));
}

/* ---- dirty logging ---------------------------------------------------- */

static uint64_t npages(const struct bus *bus)
{
	return bus->ram_size >> BUS_PAGE_SHIFT;
}

static void log_page(struct bus *bus, uint64_t pfn, bool device)
{
	uint64_t bit = 1ull << (pfn % 64);
	if (!(atomic_load_explicit(&bus->dirty[pfn / 64], memory_order_relaxed) & bit))
		atomic_fetch_or(&bus->dirty[pfn / 64], bit);
	if (device &&
	    !(atomic_load_explicit(&bus->dev_dirty[pfn / 64], memory_order_relaxed) & bit))
		atomic_fetch_or(&bus->dev_dirty[pfn / 64], bit);
}

void bus_log_range(struct bus *bus, uint64_t gpa, uint64_t len, bool device)
{
	if (!atomic_load(&bus->logging) || !len || !bus_in_ram(bus, gpa, len))
		return;
	uint64_t first = (gpa - bus->ram_base) >> BUS_PAGE_SHIFT;
	uint64_t last = (gpa - bus->ram_base + len - 1) >> BUS_PAGE_SHIFT;
	for (uint64_t p = first; p <= last; p++) {
		/* Disarm, then log: a CPU store need not stop here until the
		 * next collect re-arms the page.  Never the other way round: a
		 * collect between logging and disarming would take the page and
		 * re-arm it, and the disarm would then wipe that re-arm, leaving
		 * the page neither armed nor logged, and every later CPU store
		 * to it unseen (a stale page on the migration target; guest
		 * page tables, which the hart's own A/D updates log through
		 * here, were the victims).  In this order a page is at every
		 * moment armed or logged (as in bus_store_hit). */
		atomic_fetch_and(&bus->watch[p], (uint8_t)~BUS_WATCH_DIRTY);
		log_page(bus, p, device);
	}
}

unsigned bus_store_hit(struct bus *bus, const uint8_t *p, unsigned size)
{
	uint64_t off = (uint64_t)(p - bus->ram);
	uint64_t pfn = off >> BUS_PAGE_SHIFT;
	unsigned w = atomic_load(&bus->watch[pfn]);
	if (w & BUS_WATCH_DIRTY) {
		atomic_fetch_and(&bus->watch[pfn], (uint8_t)~BUS_WATCH_DIRTY);
		if (atomic_load(&bus->logging))
			log_page(bus, pfn, false);
	}
	if (w & BUS_WATCH_CODE)
		bus_invalidate_code(bus, bus->ram_base + off, size);
	return w;
}

static void all_threads_barrier(void);

int bus_dirty_start(struct bus *bus)
{
	uint64_t words = (npages(bus) + 63) / 64;
	if (!bus->dirty) {
		bus->dirty = calloc(words, sizeof(uint64_t));
		bus->dev_dirty = calloc(words, sizeof(uint64_t));
		if (!bus->dirty || !bus->dev_dirty) {
			free((void *)bus->dirty);
			free((void *)bus->dev_dirty);
			bus->dirty = bus->dev_dirty = NULL;
			return -ENOMEM;
		}
	}
	for (uint64_t i = 0; i < words; i++) {
		atomic_store(&bus->dirty[i], 0);
		atomic_store(&bus->dev_dirty[i], 0);
	}
	/* Logging on first, then arm: a store that finds its page armed
	 * disarms it (bus_store_hit), and must then log it.  Armed before
	 * logging was on, the page was disarmed and not logged, and the
	 * vCPU's later stores to it went unseen for the whole migration
	 * (the guest's jiffies page, stale on the target).  A store before
	 * the arming needs no log: the first pass reads the page after. */
	atomic_store(&bus->logging, true);
	for (uint64_t p = 0; p < npages(bus); p++)
		atomic_fetch_or(&bus->watch[p], BUS_WATCH_DIRTY);
	all_threads_barrier();   /* as after a collect: see there */
	return 0;
}

void bus_dirty_stop(struct bus *bus)
{
	if (!atomic_exchange(&bus->logging, false))
		return;
	for (uint64_t p = 0; p < npages(bus); p++)
		atomic_fetch_and(&bus->watch[p], (uint8_t)~BUS_WATCH_DIRTY);
}

/*
 * Why the barrier: a vCPU's store checks the watch byte after writing
 * (exec.c mem_st), and x86 may let that load pass the store.  Re-arming a
 * page and then copying it could miss a store whose check read the old
 * byte but whose data was not visible yet.  membarrier() makes every
 * thread of this process execute a full barrier before it returns, so
 * after it every such store is visible to the copy, and every later check
 * sees the armed bit.
 */
static void all_threads_barrier(void)
{
	static const int cmd_private = 1 << 3;   /* MEMBARRIER_CMD_PRIVATE_EXPEDITED */
	static const int cmd_register = 1 << 4;  /* ..._REGISTER_PRIVATE_EXPEDITED */
	if (syscall(SYS_membarrier, cmd_private, 0) == 0)
		return;
	if (syscall(SYS_membarrier, cmd_register, 0) == 0 &&
	    syscall(SYS_membarrier, cmd_private, 0) == 0)
		return;
	(void)syscall(SYS_membarrier, 1 /* MEMBARRIER_CMD_GLOBAL */, 0);
}

void bus_barrier_prepare(void)
{
	(void)syscall(SYS_membarrier, 1 << 4 /* ..._REGISTER_PRIVATE_EXPEDITED */, 0);
}

uint64_t bus_dirty_collect(struct bus *bus, uint64_t *out, bool final)
{
	uint64_t n = 0, pages = npages(bus);
	for (uint64_t w = 0; w < (pages + 63) / 64; w++) {
		uint64_t bits = atomic_exchange(&bus->dirty[w], 0);
		if (final)
			bits |= atomic_exchange(&bus->dev_dirty[w], 0);
		if (!bits)
			continue;
		out[w] |= bits;
		for (uint64_t b = bits; b; b &= b - 1) {
			uint64_t pfn = w * 64 + (uint64_t)__builtin_ctzll(b);
			atomic_fetch_or(&bus->watch[pfn], BUS_WATCH_DIRTY);
			n++;
		}
	}
	atomic_thread_fence(memory_order_seq_cst);
	all_threads_barrier();
	return n;
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
	/* The CPU's slow store: logged after the write by bus_note_write
	 * (not as a device's, which may write after the door opened). */
	uint8_t *p = bus_in_ram(bus, gpa, size) ? bus->ram + (gpa - bus->ram_base) : NULL;
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
	/* Written before it is logged (bus_note_write): no need for the
	 * write door's keep-until-the-end marking. */
	void *p = bus_in_ram(bus, gpa, len) ? bus->ram + (gpa - bus->ram_base) : NULL;
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
	bool changed = false;
	for (uint64_t p = first; p <= last; p++) {
		uint8_t old = atomic_fetch_and(&bus->watch[p], (uint8_t)~BUS_WATCH_CODE);
		if (old & BUS_WATCH_CODE) {
			atomic_fetch_add(&bus->code_gen[p], 1);
			changed = true;
		}
	}
	if (changed)
		atomic_fetch_add(&bus->code_changes, 1);
}

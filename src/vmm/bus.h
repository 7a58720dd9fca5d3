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
 * reach it only through two checked doors, which return a host pointer only
 * if the whole guest-physical range lies in RAM, with overflow-safe
 * arithmetic: bus_guest_ptr() for reading (a const pointer) and
 * bus_guest_ptr_w() for writing, which marks the pages dirty for migration
 * as it hands them out, so a device cannot write guest RAM unseen by dirty
 * logging (the compiler refuses a write through the read door).  A writer
 * still calls bus_note_write() after writing, so decoded-code caches see it
 * (bus_write_guest does both).
 *
 * Dirty logging (migration, incremental snapshots): while on, every page
 * written since the last bus_dirty_collect() is in the dirty bitmap.  The
 * CPU's stores find out through the watch map: BUS_WATCH_DIRTY is set on
 * every page not yet dirty, a store to such a page takes the slow path once
 * (logs the page, clears the bit) and later stores to it are fast again.
 * Pages handed out by bus_guest_ptr_w are also kept in a second, "device"
 * bitmap collected only at the end (with the VM paused): the device may
 * write them after a round copied them.
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
#define BUS_WATCH_DIRTY 2u
#define BUS_WATCH_ANY (BUS_WATCH_CODE | BUS_WATCH_DIRTY)
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
	/* Bumped with any page's code_gen: a hart that cached jump targets
	 * (the JIT's jump cache) drops them when this moved. */
	_Atomic uint64_t code_changes;

	/* Dirty logging: one bit per page, allocated by the first
	 * bus_dirty_start and kept until bus_destroy (a device may still look
	 * at them as logging stops). */
	atomic_bool logging;
	bool ram_from_file;    /* bus_map_ram_file: absent pages are the file's, not zero */
	/* bus_ram_share: RAM is a MAP_SHARED mapping of a memfd of its own,
	 * which therefore holds exactly what the guest sees. */
	bool ram_shared;
	bool ram_hugepages;    /* bus_ram_hugepages asked: asked again of a rebase's mapping */
	int ram_fd;            /* with ram_from_file or ram_shared: that file (its holes are zero) */
	/* bus_keep_pagemap: /proc/self/pagemap held open, for a VMM that can
	 * open nothing any more (a sandboxed one); otherwise opened per read. */
	bool pagemap_kept;
	int pagemap_fd;
	_Atomic uint64_t *dirty;
	_Atomic uint64_t *dev_dirty;

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
 * Puts guest RAM (not yet touched) in a memfd of its own, mapped MAP_SHARED
 * at the same host address, so that a fork can hand the very pages to its
 * children (bus_ram_freeze) instead of copying them.  The price: the memfd
 * gets huge pages only as the host's shmem_enabled allows (often never),
 * and KSM merges no page of it.  0 or -errno (RAM is then unchanged).
 */
int bus_ram_share(struct bus *bus);
/* The same in fd, a file of ram_size bytes (a tmpfs's, with huge pages:
 * vm_fork_tmpfs.c), which the bus owns from then on.  0 or -errno (RAM
 * unchanged, fd still the caller's). */
int bus_ram_share_file(struct bus *bus, int fd);
/* Whether this host backs shared memory (a memfd) with huge pages when
 * asked (shmem_enabled: always, within_size or advise).  Where it does
 * not, RAM in a memfd runs memory-bound guests slower than anonymous RAM
 * with transparent huge pages (bench/cpu mem: 17%). */
bool bus_shared_ram_hugepages(void);
/*
 * RAM shared (bus_ram_share), with nothing running that could write it:
 * remaps it MAP_PRIVATE over the same memfd, at the same host address, so
 * the memfd stays as it is now, a frozen image of RAM, and this VM's later
 * writes become private copies (ram_from_file, ram_fd still the memfd).
 * The harts' and devices' host addresses stay valid.  0, -EINVAL (RAM is
 * not shared) or -errno (RAM is then unchanged).
 */
int bus_ram_freeze(struct bus *bus);
/*
 * RAM mapped from a file (a fork's image, a snapshot's memory), with
 * nothing running that could write it: maps fd, a memfd of ram_size bytes
 * holding exactly what RAM reads as now, MAP_SHARED in its place at the
 * same host address (ram_shared; the file's descriptor is closed, fd is the
 * bus's from now on).  What lets a VM fork again without a copy.  0,
 * -EINVAL (RAM is not from a file) or -errno (RAM is then unchanged, fd
 * the caller's).
 */
int bus_ram_rebase(struct bus *bus, int fd);
/*
 * Returns guest RAM [gpa, gpa+len) to the host (the balloon): shared RAM's
 * memfd loses the pages (they read as zero again); otherwise the mapping's
 * pages go (MADV_DONTNEED): anonymous RAM reads zero again, RAM mapped
 * from a file (a snapshot's or a fork's image) reads what the file holds.
 * Best effort: 0 or -errno (outside RAM: -EINVAL).
 */
int bus_ram_discard(struct bus *bus, uint64_t gpa, uint64_t len);
/*
 * Replaces guest RAM by a private copy-on-write mapping of fd (a snapshot's
 * memory file, at least ram_size bytes), at the same host address: pages
 * fault in from the file on first touch, writes stay in this process.
 * 0 or -errno (RAM is then unchanged).
 */
int bus_map_ram_file(struct bus *bus, int fd);

/*
 * Which of the n RAM pages from page `first` the guest (or anyone) ever
 * touched: out[i] = 0 only for a page that is certainly zero and was never
 * allocated (so a snapshot need not read it: reading would allocate it).
 * From the kernel's page map; with RAM from a file, a page also counts as
 * touched where the file has data (a hole of it, unwritten, is zero, and
 * reading it would fill the page cache with zeroes).  Without a page map
 * every page counts as touched.  0 or -EINVAL.
 */
int bus_ram_touched(const struct bus *bus, uint64_t first, uint64_t n, uint8_t *out);

/*
 * Opens this process's page map once and keeps it, before a sandbox's jail
 * takes /proc away (its seccomp lists have no open): bus_ram_touched and
 * bus_ram_changed_from_file then read it there.  The descriptor stays bound
 * to this process's memory, whatever its credentials become.  0 or -errno.
 */
int bus_keep_pagemap(struct bus *bus);

/*
 * RAM mapped from a file (bus_map_ram_file): sets in the bitmap `pages` (a
 * bit per RAM page) every page that is no longer the file's, because
 * someone (a vCPU, a device) wrote it since the mapping: the write gave
 * this process a private copy, which the kernel's page map tells from the
 * file's page.  What an incremental snapshot on the snapshot a VM was
 * restored from needs, without dirty logging.  0, -EINVAL (RAM is not
 * from a file) or -errno (no page map).
 */
int bus_ram_changed_from_file(const struct bus *bus, uint64_t *pages);

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

/* The checked door for reading guest RAM: a host pointer to [gpa, gpa+len), or NULL. */
static inline const void *bus_guest_ptr(const struct bus *bus, uint64_t gpa, uint64_t len)
{
	return bus_in_ram(bus, gpa, len) ? bus->ram + (gpa - bus->ram_base) : NULL;
}

/* Slow path of bus_guest_ptr_w and bus_note_write while logging. */
void bus_log_range(struct bus *bus, uint64_t gpa, uint64_t len, bool device);

/* The checked door for writing guest RAM: as bus_guest_ptr, and the pages
 * count as dirty (see above).  Call bus_note_write after writing. */
static inline void *bus_guest_ptr_w(struct bus *bus, uint64_t gpa, uint64_t len)
{
	if (!bus_in_ram(bus, gpa, len))
		return NULL;
	if (__builtin_expect(atomic_load_explicit(&bus->logging, memory_order_relaxed), 0) && len)
		bus_log_range(bus, gpa, len, true);
	return bus->ram + (gpa - bus->ram_base);
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
	if (__builtin_expect(atomic_load_explicit(&bus->logging, memory_order_relaxed), 0))
		bus_log_range(bus, gpa, len, false);
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

/* The CPU's slow path after a store to a watched page (host address p,
 * size bytes within one page): logs it dirty and/or invalidates its code.
 * Returns the watch bits that were set. */
unsigned bus_store_hit(struct bus *bus, const uint8_t *p, unsigned size);

static inline bool bus_page_watched(const struct bus *bus, uint64_t pfn)
{
	return atomic_load_explicit(&bus->watch[pfn], memory_order_relaxed) & BUS_WATCH_ANY;
}

/*
 * Starts dirty logging: every page counts as clean from now on.  0 or
 * -ENOMEM.  Call with the VM paused or from its only writer.
 */
int bus_dirty_start(struct bus *bus);
/* Readies the barrier bus_dirty_start and bus_dirty_collect use
 * (membarrier's registration: an RCU grace period, ~25 ms here, the
 * first time in a process), so that a later snapshot's or migration's
 * pause does not pay for it.  Any thread; once is enough. */
void bus_barrier_prepare(void);
/* Stops it (the watch bits are cleared; the bitmaps stay allocated). */
void bus_dirty_stop(struct bus *bus);
/*
 * Moves the pages dirtied since the last call into out (a bitmap of
 * ram_size / 4096 bits, OR-ed in) and re-arms their watch; with `final`
 * (the VM paused) also every page a device was handed for writing.  After
 * it returns, a store that is not in out is seen by the next call (the
 * vCPUs' stores before it are visible).  Returns the number of pages.
 */
uint64_t bus_dirty_collect(struct bus *bus, uint64_t *out, bool final);

static inline bool bus_page_is_code(const struct bus *bus, uint64_t pfn)
{
	return atomic_load_explicit(&bus->watch[pfn], memory_order_relaxed) & BUS_WATCH_CODE;
}

static inline uint32_t bus_code_gen(const struct bus *bus, uint64_t pfn)
{
	return atomic_load_explicit(&bus->code_gen[pfn], memory_order_acquire);
}

#endif

/*
 * Guest RAM copied into a fork's memory image while the VM stands still
 * (vm_fork_image.c's third way: anonymous RAM, the default where the host
 * gives shared memory no huge pages, or a file mapping with many pages
 * written since).  The pause is this copy, so each step is the cheapest
 * measured (bench/RESULTS.md, 2026-12-03 "fork without --fork-ready"):
 *
 * - which pages RAM has at all: for anonymous RAM on a host without swap,
 *   mincore(2), which reads the page tables only (0.03 ms for 256 MiB,
 *   against 0.4-1 ms for /proc/self/pagemap, which formats an entry per
 *   page); with swap, mincore would miss a page swapped out, so the page
 *   map (bus_ram_touched), as for RAM mapped from a file;
 * - of those, the ones holding data: zero pages are left holes (the
 *   children read zero there all the same);
 * - those into a memfd with pwrite(2), up to 2 MiB a call.  Most of the
 *   time is the kernel's work per 4 KiB page of the memfd (allocated,
 *   charged, added to the page cache: ~2 µs a page here), which the ways
 *   tried around it did not beat: a shared mapping of the memfd populated
 *   (MADV_POPULATE_WRITE) and copied into by one or two threads took
 *   1.6-2x as long (each page is zeroed first, and mapped and unmapped);
 *   a private tmpfs with huge pages copies 15 MiB in ~2-3 ms, but only
 *   with huge pages freed recently: on a host whose free huge pages go
 *   back to its hypervisor (free page reporting, as here), each new one
 *   costs ~6 ms of the hypervisor's faults.
 *
 * The children map the image MAP_PRIVATE; nothing writes it after this copy.
 */
#include "vmm/vm_fork_copy.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "lib/zero.h"
#include "vmm/bus.h"
#include "vmm/vm_internal.h"

/* 1 in touched[i] for each page RAM holds (written, or read: a zero page). */
static void scan_touched(const struct bus *bus, uint8_t *touched, uint64_t n)
{
	struct sysinfo si;
	bool anonymous = !bus->ram_from_file && !bus->ram_shared;
	if (anonymous && sysinfo(&si) == 0 && si.totalswap == 0 &&
	    mincore(bus->ram, bus->ram_size, touched) == 0) {
		for (uint64_t i = 0; i < n; i++)
			touched[i] &= 1;   /* the other bits are reserved */
		return;
	}
	bus_ram_touched(bus, 0, n, touched);
}

int vm_fork_copy_ram(const struct bus *bus, int *image, uint64_t *copied)
{
	const uint64_t page = 1u << BUS_PAGE_SHIFT, n = bus->ram_size / page;
	*image = -1;
	*copied = 0;
	uint8_t *data = malloc(n);
	if (!data)
		return -ENOMEM;
	scan_touched(bus, data, n);
	for (uint64_t i = 0; i < n; i++)
		data[i] = data[i] && !bytes_are_zero(bus->ram + i * page, page);
	int rc = 0, fd = memfd_create("nimbus-fork-image", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)bus->ram_size) < 0)
		rc = -errno;
	else
		rc = vm_ram_write_pages(fd, bus, data, copied);
	if (rc && fd >= 0)
		close(fd);
	else if (!rc)
		*image = fd;
	free(data);
	return rc;
}

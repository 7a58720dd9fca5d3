/*
 * Guest RAM's backings (bus.h) as a fork uses them: RAM shared in a memfd
 * of its own, frozen into a fork's image (the memfd keeps what RAM held,
 * later writes are private copies, at the same host address), given a
 * memfd of its own again (rebase), and the balloon's discard on each: a
 * discard must free the host memory and read zero on shared RAM, where
 * MADV_DONTNEED alone would only unmap the page and keep it in the memfd.
 */
#include "lib/testing.h"
#include "vmm/bus.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define BASE 0x80000000ull
#define PAGES 64u
#define PG 4096u

static uint8_t file_byte(int fd, uint64_t off)
{
	uint8_t b = 0xee;
	return pread(fd, &b, 1, (off_t)off) == 1 ? b : 0xee;
}

/* Whether page pg of fd holds data (is no hole). */
static bool file_has_page(int fd, uint64_t pg)
{
	off_t d = lseek(fd, (off_t)(pg * PG), SEEK_DATA);
	return d >= 0 && (uint64_t)d < (pg + 1) * PG;
}

TEST(bus_ram_shared_then_frozen_keeps_the_image_and_writes_go_private)
{
	struct bus bus;
	EXPECT_EQ(bus_init(&bus, BASE, PAGES * PG), 0);
	uint8_t *at = bus.ram;
	EXPECT_EQ(bus_ram_share(&bus), 0);
	EXPECT(bus.ram == at);
	bus.ram[3 * PG] = 0x33;
	bus.ram[9 * PG + 7] = 0x99;
	/* Shared: the memfd is what RAM holds, and its data is what was touched. */
	EXPECT_EQ(file_byte(bus.ram_fd, 3 * PG), 0x33);
	uint8_t touched[PAGES];
	EXPECT_EQ(bus_ram_touched(&bus, 0, PAGES, touched), 0);
	for (unsigned i = 0; i < PAGES; i++)
		EXPECT_EQ(touched[i], i == 3 || i == 9);

	int image = dup(bus.ram_fd);
	EXPECT_EQ(bus_ram_freeze(&bus), 0);
	EXPECT(bus.ram == at);
	EXPECT(bus.ram_from_file && !bus.ram_shared);
	EXPECT_EQ(bus.ram[3 * PG], 0x33);   /* the same contents */
	bus.ram[3 * PG] = 0x34;
	bus.ram[20 * PG] = 0x20;
	EXPECT_EQ(file_byte(image, 3 * PG), 0x33);   /* the image stays as it was */
	/* (A write to a hole of it puts a zero page there, tmpfs having no
	 * shared zero page: zero still.) */
	EXPECT_EQ(file_byte(image, 20 * PG), 0);
	uint64_t bm[(PAGES + 63) / 64] = { 0 };
	EXPECT_EQ(bus_ram_changed_from_file(&bus, bm), 0);
	EXPECT_EQ(bm[0], (1ull << 3) | (1ull << 20));
	/* A second freeze has nothing shared to freeze. */
	EXPECT_EQ(bus_ram_freeze(&bus), -EINVAL);

	/* Rebase: a memfd holding what RAM reads now becomes RAM, shared. */
	int own = memfd_create("test-ram", MFD_CLOEXEC);
	EXPECT(own >= 0);
	EXPECT_EQ(ftruncate(own, PAGES * PG), 0);
	EXPECT_EQ(pwrite(own, bus.ram, PAGES * PG, 0), (ssize_t)(PAGES * PG));
	EXPECT_EQ(bus_ram_rebase(&bus, own), 0);
	EXPECT(bus.ram == at && bus.ram_shared && !bus.ram_from_file && bus.ram_fd == own);
	EXPECT_EQ(bus.ram[3 * PG], 0x34);
	EXPECT_EQ(bus.ram[9 * PG + 7], 0x99);
	bus.ram[40 * PG] = 0x40;
	EXPECT_EQ(file_byte(own, 40 * PG), 0x40);
	EXPECT_EQ(file_byte(image, 40 * PG), 0);
	EXPECT_EQ(file_byte(image, 3 * PG), 0x33);
	EXPECT_EQ(bus_ram_rebase(&bus, own), -EINVAL);   /* not from a file any more */
	close(image);
	bus_destroy(&bus);
}

TEST(bus_ram_discard_frees_shared_pages_and_they_read_zero)
{
	struct bus bus;
	EXPECT_EQ(bus_init(&bus, BASE, PAGES * PG), 0);
	EXPECT_EQ(bus_ram_share(&bus), 0);
	memset(bus.ram + 4 * PG, 0x5a, 4 * PG);
	EXPECT(file_has_page(bus.ram_fd, 5));
	EXPECT_EQ(bus_ram_discard(&bus, BASE + 5 * PG, 2 * PG), 0);
	/* Out of the memfd (host memory back), zero to the guest. */
	EXPECT(!file_has_page(bus.ram_fd, 5));
	EXPECT(!file_has_page(bus.ram_fd, 6));
	EXPECT(file_has_page(bus.ram_fd, 4));
	EXPECT_EQ(bus.ram[5 * PG], 0);
	EXPECT_EQ(bus.ram[7 * PG - 1], 0);
	EXPECT_EQ(bus.ram[4 * PG], 0x5a);
	EXPECT_EQ(bus.ram[7 * PG], 0x5a);
	EXPECT_EQ(bus_ram_discard(&bus, BASE + PAGES * PG - PG, 2 * PG), -EINVAL);   /* past RAM */
	bus_destroy(&bus);
}

TEST(bus_ram_discard_of_anonymous_ram_reads_zero_of_a_frozen_image_reads_the_image)
{
	struct bus bus;
	EXPECT_EQ(bus_init(&bus, BASE, PAGES * PG), 0);
	bus.ram[2 * PG] = 1;
	EXPECT_EQ(bus_ram_discard(&bus, BASE + 2 * PG, PG), 0);
	EXPECT_EQ(bus.ram[2 * PG], 0);
	bus_destroy(&bus);

	EXPECT_EQ(bus_init(&bus, BASE, PAGES * PG), 0);
	EXPECT_EQ(bus_ram_share(&bus), 0);
	bus.ram[2 * PG] = 1;
	EXPECT_EQ(bus_ram_freeze(&bus), 0);
	bus.ram[2 * PG] = 2;   /* a private copy */
	bus.ram[3 * PG] = 3;
	EXPECT_EQ(bus_ram_discard(&bus, BASE + 2 * PG, 2 * PG), 0);
	/* The private copies go; what shows is the image's (the guest's own
	 * data from the fork), never anyone else's. */
	EXPECT_EQ(bus.ram[2 * PG], 1);
	EXPECT_EQ(bus.ram[3 * PG], 0);
	EXPECT_EQ(file_byte(bus.ram_fd, 2 * PG), 1);   /* the image is untouched */
	uint64_t bm[(PAGES + 63) / 64] = { 0 };
	EXPECT_EQ(bus_ram_changed_from_file(&bus, bm), 0);
	EXPECT_EQ(bm[0], 0);
	bus_destroy(&bus);
}

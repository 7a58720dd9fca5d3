/*
 * The private tmpfs a VM keeps forkable RAM on (vm_fork_tmpfs.c): its files
 * are unlinked, sized, named apart, and get huge pages where a memfd on
 * this host gets none (the point of it: shmem_enabled `never`).
 */
#include "lib/testing.h"
#include "vmm/vm_fork_tmpfs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SIZE (4u << 20)

/* The ShmemPmdMapped kB of this process's mapping at addr (smaps), -1 if
 * none is found. */
static long pmd_mapped_kb(const void *addr)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	if (!f)
		return -1;
	char line[512];
	bool inside = false;
	long kb = -1;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, ' ') < strchr(line, ':'))
			inside = lo == (unsigned long)addr;
		else if (inside && sscanf(line, "ShmemPmdMapped: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

TEST(vm_fork_tmpfs_files_are_unlinked_sized_and_get_huge_pages)
{
	int mnt = vm_fork_tmpfs_mount();
	if (mnt == -EPERM) {
		printf("skip vm_fork_tmpfs_files_are_unlinked_sized_and_get_huge_pages: no "
		       "CAP_SYS_ADMIN to mount a tmpfs\n");
		return;
	}
	EXPECT(mnt >= 0);
	EXPECT(vm_fork_tmpfs_available());
	int a = vm_fork_tmpfs_file(mnt, "nimbus-test", SIZE);
	int b = vm_fork_tmpfs_file(mnt, "nimbus-test", SIZE);
	EXPECT(a >= 0 && b >= 0);
	struct stat sa, sb;
	EXPECT(fstat(a, &sa) == 0 && fstat(b, &sb) == 0);
	EXPECT_EQ(sa.st_size, SIZE);
	EXPECT_EQ(sa.st_nlink, 0);            /* no name left behind */
	EXPECT(sa.st_ino != sb.st_ino);
	EXPECT_EQ(sa.st_blocks, 0);           /* nothing allocated yet */
	/* 2 MiB written through a shared mapping, as a guest fills RAM: one
	 * huge page, mapped whole (at an address 2 MiB aligned, as the file
	 * offset 0 is: room reserved first). */
	const size_t huge = 2u << 20;
	uint8_t *room = mmap(NULL, 2 * huge, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT(room != MAP_FAILED);
	uint8_t *at = (uint8_t *)(((uintptr_t)room + huge - 1) & ~(uintptr_t)(huge - 1));
	uint8_t *q = mmap(at, huge, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, a, 0);
	EXPECT(q == at);
	memset(q, 0x5a, huge);
	long kb = pmd_mapped_kb(q);
	munmap(room, 2 * huge);
	EXPECT_EQ(kb, 2048);
	EXPECT(fstat(a, &sa) == 0);
	EXPECT_EQ(sa.st_blocks * 512, 2u << 20);
	close(a);
	close(b);
	close(mnt);
}

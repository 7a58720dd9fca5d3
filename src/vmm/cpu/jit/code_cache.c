/*
 * Double-mapped code cache (see code_cache.h).  The executable view is a
 * second, read+execute mapping of the same memfd, so patching a jump through
 * the writable view is seen by the executing view at once (x86 keeps
 * instruction fetch coherent with stores to the same physical memory).
 * Only the hart that owns the cache runs or patches its code, so no
 * cross-thread code modification protocol is needed.
 */
#include "vmm/cpu/jit/code_cache.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

int code_cache_init(struct code_cache *cc, size_t size)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size = (size + pg - 1) & ~(pg - 1);
	*cc = (struct code_cache){ .fd = -1 };
	int fd = memfd_create("nimbus-jit", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) != 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	void *rw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (rw == MAP_FAILED) {
		int e = errno;
		close(fd);
		return -e;
	}
	void *rx = mmap(NULL, size, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
	int e = errno;
	close(fd);   /* the mappings keep the memory */
	if (rx == MAP_FAILED) {
		munmap(rw, size);
		return -e;
	}
	cc->rw = rw;
	cc->rx = rx;
	cc->size = size;
	return 0;
}

void code_cache_destroy(struct code_cache *cc)
{
	if (cc->rw)
		munmap(cc->rw, cc->size);
	if (cc->rx)
		munmap(cc->rx, cc->size);
	*cc = (struct code_cache){ .fd = -1 };
}

uint8_t *code_cache_reserve(struct code_cache *cc, size_t n)
{
	size_t at = (cc->used + 15) & ~(size_t)15;
	if (at > cc->size || cc->size - at < n)
		return NULL;
	return cc->rw + at;
}

void code_cache_commit(struct code_cache *cc, const uint8_t *start, size_t n)
{
	cc->used = (size_t)(start - cc->rw) + n;
}

void code_cache_reset(struct code_cache *cc)
{
	cc->used = 0;
	cc->resets++;
	/* Give the pages back: a reset cache should not keep its peak RSS. */
	madvise(cc->rw, cc->size, MADV_REMOVE);
}

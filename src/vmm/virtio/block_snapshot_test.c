/*
 * The throwaway copy-on-write view (--ephemeral disks): writes read back,
 * unwritten sectors come from the base, reads that straddle both sides are
 * stitched, write-zeroes and discard read back as zeroes, and the base file
 * is byte-for-byte unchanged, also after close.
 */
#include "vmm/virtio/block.h"
#include "lib/testing.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIZE (64u * 1024)

static int make_base(char *path, uint8_t *want)
{
	strcpy(path, "/tmp/nimbus-snap-XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	for (unsigned i = 0; i < SIZE; i++)
		want[i] = (uint8_t)(i * 7 + (i >> 9));
	int ok = write(fd, want, SIZE) == SIZE;
	close(fd);
	return ok ? 0 : -1;
}

static int base_equal(const char *path, const uint8_t *want)
{
	static uint8_t got[SIZE];
	int fd = open(path, O_RDONLY);
	int ok = fd >= 0 && pread(fd, got, SIZE, 0) == SIZE && memcmp(got, want, SIZE) == 0 &&
		 lseek(fd, 0, SEEK_END) == SIZE;
	if (fd >= 0)
		close(fd);
	return ok;
}

TEST(snapshot_writes_stay_off_the_base)
{
	static uint8_t base[SIZE], model[SIZE], got[SIZE], w[3 * 512];
	char path[64];
	EXPECT_EQ(make_base(path, base), 0);
	memcpy(model, base, SIZE);
	struct block_backend *raw, *b;
	struct err e = { 0 };
	EXPECT_EQ(block_raw_open(path, true, &raw, &e), 0);
	EXPECT_EQ(block_snapshot_wrap(raw, false, &b, &e), 0);
	EXPECT_EQ(b->size, SIZE);
	EXPECT(!b->readonly);
	/* Writes at sectors 3..5 and 9, as two iovecs. */
	memset(w, 0xa5, sizeof w);
	struct iovec v[2] = { { w, 512 }, { w + 512, 1024 } };
	EXPECT_EQ(b->ops->writev(b, 3 * 512, v, 2), 0);
	memcpy(model + 3 * 512, w, sizeof w);
	memset(w, 0x3c, 512);
	struct iovec one = { w, 512 };
	EXPECT_EQ(b->ops->writev(b, 9 * 512, &one, 1), 0);
	memcpy(model + 9 * 512, w, 512);
	/* A read over both sides, split at an odd place. */
	struct iovec r[2] = { { got, 1000 }, { got + 1000, SIZE - 1000 } };
	EXPECT_EQ(b->ops->readv(b, 0, r, 2), 0);
	EXPECT(memcmp(got, model, SIZE) == 0);
	EXPECT_EQ(b->ops->flush(b), 0);
	EXPECT(base_equal(path, base));
	/* Not whole sectors, or past the end: refused. */
	struct iovec odd = { w, 100 };
	EXPECT_EQ(b->ops->writev(b, 0, &odd, 1), -EINVAL);
	struct iovec past = { w, 1024 };
	EXPECT_EQ(b->ops->readv(b, SIZE - 512, &past, 1), -EINVAL);
	block_backend_close(b);
	EXPECT(base_equal(path, base));
	unlink(path);
}

TEST(snapshot_readonly_refuses_writes)
{
	static uint8_t base[SIZE], w[512];
	char path[64];
	EXPECT_EQ(make_base(path, base), 0);
	struct block_backend *raw, *b;
	struct err e = { 0 };
	EXPECT_EQ(block_raw_open(path, true, &raw, &e), 0);
	EXPECT_EQ(block_snapshot_wrap(raw, true, &b, &e), 0);
	struct iovec v = { w, 512 };
	EXPECT_EQ(b->ops->writev(b, 0, &v, 1), -EROFS);
	block_backend_close(b);
	unlink(path);
}

TEST(snapshot_write_zeroes_and_discard_read_as_zeroes_base_untouched)
{
	static uint8_t base[SIZE], model[SIZE], got[SIZE], w[512];
	char path[64];
	EXPECT_EQ(make_base(path, base), 0);
	memcpy(model, base, SIZE);
	struct block_backend *raw, *b;
	struct err e = { 0 };
	EXPECT_EQ(block_raw_open(path, true, &raw, &e), 0);
	EXPECT_EQ(block_snapshot_wrap(raw, false, &b, &e), 0);
	EXPECT(b->ops->write_zeroes && b->ops->discard);
	/* Zeroes over base data (sectors 2..4), and over a sector written first (8). */
	memset(w, 0x5a, sizeof w);
	struct iovec one = { w, 512 };
	EXPECT_EQ(b->ops->writev(b, 8 * 512, &one, 1), 0);
	EXPECT_EQ(b->ops->write_zeroes(b, 2 * 512, 3 * 512, false), 0);
	memset(model + 2 * 512, 0, 3 * 512);
	EXPECT_EQ(b->ops->discard(b, 8 * 512, 512), 0);
	memset(model + 8 * 512, 0, 512);
	struct iovec all = { got, SIZE };
	EXPECT_EQ(b->ops->readv(b, 0, &all, 1), 0);
	EXPECT(memcmp(got, model, SIZE) == 0);
	EXPECT_EQ(b->ops->write_zeroes(b, 100, 512, false), -EINVAL);
	EXPECT_EQ(b->ops->discard(b, SIZE, 512), -EINVAL);
	block_backend_close(b);
	EXPECT(base_equal(path, base));
	/* Read-only: refused, as writes are. */
	EXPECT_EQ(block_raw_open(path, true, &raw, &e), 0);
	EXPECT_EQ(block_snapshot_wrap(raw, true, &b, &e), 0);
	EXPECT_EQ(b->ops->write_zeroes(b, 0, 512, false), -EROFS);
	block_backend_close(b);
	unlink(path);
}

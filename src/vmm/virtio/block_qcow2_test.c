/*
 * Unit tests of the qcow2 backend against images made by qemu-img (Debian
 * qemu-utils): reads of converted images, writes that allocate clusters, L2
 * tables and refcount blocks (then `qemu-img check` must find no error or
 * leak and `qemu-img convert` must give back our bytes), and the refusals.
 */
#include "vmm/virtio/block.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/testing.h"

struct tmp {
	char dir[64], img[96], raw[96], cmd[512];
};

static int sh(struct tmp *t, const char *fmt, const char *a, const char *b)
{
	snprintf(t->cmd, sizeof t->cmd, fmt, a, b);
	strcat(t->cmd, " >/dev/null 2>&1");
	return system(t->cmd);
}

static int tmp_init(struct tmp *t)
{
	snprintf(t->dir, sizeof t->dir, "/tmp/nimbus-qcow2-XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	snprintf(t->img, sizeof t->img, "%s/a.qcow2", t->dir);
	snprintf(t->raw, sizeof t->raw, "%s/a.raw", t->dir);
	return 0;
}

static void tmp_fini(struct tmp *t)
{
	sh(t, "rm -rf %s", t->dir, "");
}

static void pattern(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((i * 131 + seed * 7 + (i >> 9)) ^ (i >> 13));
}

static int rd(struct block_backend *b, uint64_t off, void *buf, size_t len)
{
	/* Split into two iovecs to exercise slicing. */
	struct iovec v[2] = { { buf, len / 3 }, { (uint8_t *)buf + len / 3, len - len / 3 } };
	return b->ops->readv(b, off, v, 2);
}

static int wr(struct block_backend *b, uint64_t off, const void *buf, size_t len)
{
	struct iovec v = { (void *)buf, len };
	return b->ops->writev(b, off, &v, 1);
}

static int file_equal(const char *path, const uint8_t *want, size_t len)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	uint8_t *got = malloc(len);
	int ok = got && pread(fd, got, len, 0) == (ssize_t)len && memcmp(got, want, len) == 0;
	free(got);
	close(fd);
	return ok;
}

TEST(qcow2_reads_converted_image)
{
	struct tmp t;
	EXPECT_EQ(tmp_init(&t), 0);
	size_t size = 3 << 20;
	uint8_t *img = malloc(size), *got = malloc(size);
	pattern(img, size, 1);
	memset(img + (1 << 20), 0, 256 << 10);   /* a zero run qemu-img leaves unallocated */
	int fd = open(t.raw, O_WRONLY | O_CREAT, 0600);
	EXPECT(write(fd, img, size) == (ssize_t)size);
	close(fd);
	EXPECT_EQ(sh(&t, "qemu-img convert -f raw -O qcow2 -o cluster_size=4096 %s %s", t.raw, t.img), 0);
	struct block_backend *b;
	struct err e;
	struct block_opts o = { .readonly = true, .format = BLOCK_FORMAT_QCOW2 };
	EXPECT_EQ(block_backend_open(t.img, &o, &b, &e), 0);
	EXPECT_EQ(b->size, size);
	EXPECT_EQ(rd(b, 0, got, size), 0);
	EXPECT(memcmp(got, img, size) == 0);
	EXPECT_EQ(rd(b, 4096 * 3 + 100, got, 10000), 0);   /* unaligned, across clusters */
	EXPECT(memcmp(got, img + 4096 * 3 + 100, 10000) == 0);
	EXPECT_EQ(b->ops->writev(b, 0, &(struct iovec){ got, 512 }, 1), -EROFS);
	block_backend_close(b);
	free(img);
	free(got);
	tmp_fini(&t);
}

static void write_and_check(unsigned cluster, size_t size)
{
	struct tmp t;
	EXPECT_EQ(tmp_init(&t), 0);
	char opts[64], sz[32];
	snprintf(opts, sizeof opts, "cluster_size=%u", cluster);
	snprintf(sz, sizeof sz, "%zu", size);
	snprintf(t.cmd, sizeof t.cmd, "qemu-img create -f qcow2 -o %s %s %s >/dev/null", opts, t.img, sz);
	EXPECT_EQ(system(t.cmd), 0);
	uint8_t *want = calloc(1, size), *got = malloc(size), *buf = malloc(size);
	struct block_backend *b;
	struct err e;
	EXPECT_EQ(block_qcow2_open(t.img, false, &b, &e), 0);
	EXPECT_EQ(b->size, size);
	/* Scattered writes: cluster-crossing, the last bytes, overwrites, then most of the disk. */
	struct { uint64_t off; size_t len; } w[] = {
		{ 0, 512 }, { cluster - 512, 2048 }, { size - 1024, 1024 }, { 5 * cluster + 17 * 512, 3 * cluster },
		{ 512, 1024 }, { size / 2, size / 2 - 4096 }, { 4096, size / 4 },
	};
	for (unsigned i = 0; i < sizeof w / sizeof w[0]; i++) {
		pattern(buf, w[i].len, i + 2);
		EXPECT_EQ(wr(b, w[i].off, buf, w[i].len), 0);
		memcpy(want + w[i].off, buf, w[i].len);
	}
	EXPECT_EQ(rd(b, 0, got, size), 0);
	EXPECT(memcmp(got, want, size) == 0);
	EXPECT_EQ(b->ops->flush(b), 0);
	block_backend_close(b);
	/* qemu agrees: no corruption, no leak, same bytes; reopening works. */
	EXPECT_EQ(sh(&t, "qemu-img check %s", t.img, ""), 0);
	EXPECT_EQ(sh(&t, "qemu-img convert -f qcow2 -O raw %s %s", t.img, t.raw), 0);
	EXPECT(file_equal(t.raw, want, size));
	EXPECT_EQ(block_qcow2_open(t.img, false, &b, &e), 0);
	EXPECT_EQ(rd(b, size - 1024, got, 1024), 0);
	EXPECT(memcmp(got, want + size - 1024, 1024) == 0);
	block_backend_close(b);
	free(want);
	free(got);
	free(buf);
	tmp_fini(&t);
}

TEST(qcow2_writes_64k_clusters)
{
	write_and_check(65536, 8 << 20);
}

TEST(qcow2_writes_512b_clusters_new_l2_and_refcount_blocks)
{
	/* 512-byte clusters: 64 entries per L2 table, 256 refcounts per block,
	 * so the writes allocate many of each. */
	write_and_check(512, 2 << 20);
}

static void set_be64(const char *path, off_t off, uint64_t v)
{
	int fd = open(path, O_RDWR);
	v = htobe64(v);
	if (fd >= 0) {
		if (pwrite(fd, &v, 8, off) != 8)
			abort();
		close(fd);
	}
}

TEST(qcow2_refusals)
{
	struct tmp t;
	EXPECT_EQ(tmp_init(&t), 0);
	struct block_backend *b;
	struct err e;
	/* Version 2: readable, not writable. */
	EXPECT_EQ(sh(&t, "qemu-img create -f qcow2 -o compat=0.10 %s 1M", t.img, ""), 0);
	EXPECT_EQ(block_qcow2_open(t.img, false, &b, &e), -ENOTSUP);
	EXPECT(strstr(e.msg, "version 2") != NULL);
	EXPECT_EQ(block_qcow2_open(t.img, true, &b, &e), 0);
	block_backend_close(b);
	/* Backing file. */
	EXPECT_EQ(sh(&t, "qemu-img create -f qcow2 %s 1M", t.raw, ""), 0);
	EXPECT_EQ(sh(&t, "qemu-img create -f qcow2 -F qcow2 -b %s %s", t.raw, t.img), 0);
	EXPECT_EQ(block_qcow2_open(t.img, true, &b, &e), -ENOTSUP);
	EXPECT(strstr(e.msg, "backing") != NULL);
	/* Dirty: read-only is fine, writable is refused. */
	EXPECT_EQ(sh(&t, "qemu-img create -f qcow2 %s 1M", t.img, ""), 0);
	set_be64(t.img, 72, 1);
	EXPECT_EQ(block_qcow2_open(t.img, false, &b, &e), -ENOTSUP);
	EXPECT(strstr(e.msg, "check") != NULL);
	EXPECT_EQ(block_qcow2_open(t.img, true, &b, &e), 0);
	block_backend_close(b);
	/* Unknown incompatible feature, and a raw file. */
	set_be64(t.img, 72, 1ull << 40);
	EXPECT_EQ(block_qcow2_open(t.img, true, &b, &e), -ENOTSUP);
	EXPECT_EQ(sh(&t, "truncate -s 1M %s", t.raw, ""), 0);
	EXPECT_EQ(sh(&t, "rm -f %s && truncate -s 1M %s", t.raw, t.raw), 0);
	EXPECT_EQ(block_qcow2_open(t.raw, true, &b, &e), -EINVAL);
	/* Inconsistent header: L1 too small for the size. */
	EXPECT_EQ(sh(&t, "qemu-img create -f qcow2 %s 1M", t.img, ""), 0);
	set_be64(t.img, 24, 1ull << 50);
	EXPECT_EQ(block_qcow2_open(t.img, true, &b, &e), -EINVAL);
	tmp_fini(&t);
}

TEST(qcow2_dirty_bit_while_open)
{
	struct tmp t;
	EXPECT_EQ(tmp_init(&t), 0);
	EXPECT_EQ(sh(&t, "qemu-img create -f qcow2 %s 1M", t.img, ""), 0);
	struct block_backend *b, *b2;
	struct err e;
	EXPECT_EQ(block_qcow2_open(t.img, false, &b, &e), 0);
	/* A second writer sees the image in use. */
	EXPECT_EQ(block_qcow2_open(t.img, false, &b2, &e), -ENOTSUP);
	block_backend_close(b);
	EXPECT_EQ(block_qcow2_open(t.img, false, &b2, &e), 0);
	block_backend_close(b2);
	uint8_t head[4] = { 'Q', 'F', 'I', 0xfb };
	EXPECT(block_qcow2_probe(head, 4));
	EXPECT(!block_qcow2_probe("RAW!", 4));
	tmp_fini(&t);
}

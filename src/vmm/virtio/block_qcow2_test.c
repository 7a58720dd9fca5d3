/*
 * Unit tests of the qcow2 backend against images made by qemu-img and
 * qemu-io (Debian qemu-utils): reads of converted and compressed images,
 * zero clusters, writes that allocate clusters, L2 tables and refcount
 * blocks and grow the refcount table, copy-on-write overlays over raw and
 * qcow2 backing files (chains, relative names), discard and write-zeroes,
 * a crash without flush, and the refusals (hostile headers, missing
 * backing files, loops).  After every write test `qemu-img check` must find
 * no error or leak and `qemu-img convert` must give back our bytes; backing
 * files must be byte-for-byte unchanged.
 */
#include "vmm/virtio/block.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/testing.h"

struct tmp {
	char dir[64], img[96], raw[96], cmd[1024];
};

static int sh(struct tmp *t, const char *fmt, const char *a, const char *b)
{
	snprintf(t->cmd, sizeof t->cmd, fmt, a, b);
	strcat(t->cmd, " >/dev/null 2>&1");
	return system(t->cmd);
}

/* Runs a shell command (output discarded); its exit status, or -1. */
__attribute__((format(printf, 1, 2))) static int run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	strcpy(cmd, "{ ");
	int n = vsnprintf(cmd + 2, sizeof cmd - 32, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof cmd - 32)
		return -1;
	strcat(cmd, "; } >/dev/null 2>&1");
	int st = system(cmd);
	return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
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

static int write_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	int ok = write(fd, p, n) == (ssize_t)n;
	close(fd);
	return ok ? 0 : -1;
}

static int file_equal(const char *path, const uint8_t *want, size_t len)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	struct stat st;
	uint8_t *got = malloc(len);
	int ok = got && fstat(fd, &st) == 0 && (size_t)st.st_size == len &&
		 pread(fd, got, len, 0) == (ssize_t)len && memcmp(got, want, len) == 0;
	free(got);
	close(fd);
	return ok;
}

/* FNV-1a over a whole file, with its size mixed in; 0 if unreadable. */
static uint64_t file_hash(const char *path)
{
	uint8_t buf[65536];
	uint64_t h = 0xcbf29ce484222325ull;
	int fd = open(path, O_RDONLY);
	ssize_t n;
	if (fd < 0)
		return 0;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		for (ssize_t i = 0; i < n; i++)
			h = (h ^ buf[i]) * 0x100000001b3ull;
	struct stat st;
	if (fstat(fd, &st) == 0)
		h ^= (uint64_t)st.st_size;
	close(fd);
	return h;
}

static void set_be(const char *path, off_t off, uint64_t v, int bytes)
{
	uint8_t b[8];
	for (int i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	int fd = open(path, O_RDWR);
	if (fd >= 0) {
		if (pwrite(fd, b, (size_t)bytes, off) != bytes)
			abort();
		close(fd);
	}
}

static uint64_t get_be(const char *path, off_t off, int bytes)
{
	uint8_t b[8] = {0};
	uint64_t v = 0;
	int fd = open(path, O_RDONLY);
	if (fd >= 0) {
		if (pread(fd, b, (size_t)bytes, off) != bytes)
			memset(b, 0, sizeof b);
		close(fd);
	}
	for (int i = 0; i < bytes; i++)
		v = v << 8 | b[i];
	return v;
}

/* `qemu-img check` finds no corruption and no leak, and convert gives `want`. */
static int qemu_agrees(struct tmp *t, const char *img, const uint8_t *want, size_t size)
{
	char out[128];
	snprintf(out, sizeof out, "%s/convert.raw", t->dir);
	if (run("qemu-img check %s", img) != 0)
		return 0;
	if (run("qemu-img convert -O raw %s %s", img, out) != 0)
		return 0;
	int ok = file_equal(out, want, size);
	unlink(out);
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
	EXPECT_EQ(write_file(t.raw, img, size), 0);
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
	EXPECT_EQ(b->ops->discard(b, 0, 512), -EROFS);
	EXPECT_EQ(rd(b, size - 512, got, 1024), -EINVAL);   /* past the end */
	block_backend_close(b);
	free(img);
	free(got);
	tmp_fini(&t);
}

static void write_and_check(const char *opts, unsigned cluster, size_t size)
{
	struct tmp t;
	EXPECT_EQ(tmp_init(&t), 0);
	EXPECT_EQ(run("qemu-img create -f qcow2 -o %s,cluster_size=%u %s %zu", opts, cluster, t.img, size), 0);
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
	EXPECT(qemu_agrees(&t, t.img, want, size));
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
	write_and_check("refcount_bits=16", 65536, 8 << 20);
}

TEST(qcow2_writes_512b_clusters_new_l2_and_refcount_blocks)
{
	/* 512-byte clusters: 64 entries per L2 table, 256 refcounts per block,
	 * so the writes allocate many of each (and overflow the caches). */
	write_and_check("refcount_bits=16", 512, 2 << 20);
}

TEST(qcow2_writes_1bit_and_64bit_refcounts)
{
	write_and_check("refcount_bits=1", 512, 1 << 20);
	write_and_check("refcount_bits=64", 4096, 2 << 20);
}

TEST(qcow2_refcount_table_grows)
{
	/* 512-byte clusters and 64-bit refcounts: qemu-img makes a one-cluster
	 * refcount table covering 64 * 64 clusters (2 MiB of file); filling an
	 * 8 MiB disk needs it to grow, more than once. */
	struct tmp t;
	EXPECT_EQ(tmp_init(&t), 0);
	size_t size = 8 << 20;
	EXPECT_EQ(run("qemu-img create -f qcow2 -o cluster_size=512,refcount_bits=64 %s %zu", t.img, size), 0);
	uint64_t rt_off = get_be(t.img, 48, 8), rt_clusters = get_be(t.img, 56, 4);
	EXPECT_EQ(rt_clusters, 1);
	uint8_t *want = malloc(size), *got = malloc(size);
	pattern(want, size, 9);
	struct block_backend *b;
	struct err e;
	EXPECT_EQ(block_qcow2_open(t.img, false, &b, &e), 0);
	for (size_t off = 0; off < size; off += 256 << 10)
		EXPECT_EQ(wr(b, off, want + off, 256 << 10), 0);
	EXPECT_EQ(rd(b, 0, got, size), 0);
	EXPECT(memcmp(got, want, size) == 0);
	block_backend_close(b);
	EXPECT(get_be(t.img, 48, 8) != rt_off);
	EXPECT(get_be(t.img, 56, 4) > 1);
	EXPECT(qemu_agrees(&t, t.img, want, size));
	free(want);
	free(got);
	tmp_fini(&t);
}

/*
 * An overlay over `base` (base_len bytes, zeroes beyond), `size` bytes,
 * `cluster`-byte clusters: reads match the base, writes of every shape read
 * back, and after closing qemu agrees.  Leaves the overlay's bytes in want.
 */
static void overlay_roundtrip(struct tmp *t, const char *ov, const uint8_t *base, size_t base_len,
			      size_t size, unsigned cluster, uint8_t *want)
{
	uint8_t *got = malloc(size), *buf = malloc(size);
	struct block_backend *b;
	struct err e;
	memset(want, 0, size);
	memcpy(want, base, base_len < size ? base_len : size);
	EXPECT_EQ(block_qcow2_open(ov, false, &b, &e), 0);
	EXPECT_EQ(b->size, size);
	EXPECT(b->ops->discard && b->ops->write_zeroes);
	EXPECT_EQ(rd(b, 0, got, size), 0);
	EXPECT(memcmp(got, want, size) == 0);
	EXPECT_EQ(rd(b, cluster + 100, got, 3 * cluster), 0);   /* unaligned, through the backing file */
	EXPECT(memcmp(got, want + cluster + 100, 3 * cluster) == 0);
	size_t bend = base_len & ~511ul;
	if (bend + 3072 > size)
		bend = size - 3072;
	struct { uint64_t off; size_t len; } w[] = {
		{ 2 * cluster, cluster },                  /* aligned, one whole cluster */
		{ 5 * cluster + 1024, 3072 },             /* inside a cluster: copy-on-write */
		{ 7 * cluster - 2048, cluster + 4096 },   /* spanning three clusters */
		{ bend - 1024, 4096 },                    /* across the end of the base */
		{ size - 512, 512 },                      /* beyond the base */
		{ 0, 512 },
		{ 5 * cluster + 8192, 512 },              /* again into a written cluster */
	};
	for (unsigned i = 0; i < sizeof w / sizeof w[0]; i++) {
		pattern(buf, w[i].len, i + 40);
		EXPECT_EQ(wr(b, w[i].off, buf, w[i].len), 0);
		memcpy(want + w[i].off, buf, w[i].len);
	}
	EXPECT_EQ(rd(b, 0, got, size), 0);
	EXPECT(memcmp(got, want, size) == 0);
	EXPECT_EQ(b->ops->flush(b), 0);
	block_backend_close(b);
	EXPECT(qemu_agrees(t, ov, want, size));
	EXPECT_EQ(block_qcow2_open(ov, true, &b, &e), 0);
	EXPECT_EQ(rd(b, 0, got, size), 0);
	EXPECT(memcmp(got, want, size) == 0);
	block_backend_close(b);
	free(got);
	free(buf);
}

TEST(qcow2_overlay_on_raw_base)
{
	struct tmp t;
	EXPECT_EQ(tmp_init(&t), 0);
	size_t base_len = (3 << 20) + 4096, size = 4 << 20;
	uint8_t *base = malloc(base_len), *want = malloc(size);
	pattern(base, base_len, 3);
	EXPECT_EQ(write_file(t.raw, base, base_len), 0);
	uint64_t h = file_hash(t.raw);
	EXPECT_EQ(run("qemu-img create -f qcow2 -b %s -F raw %s 4M", t.raw, t.img), 0);
	overlay_roundtrip(&t, t.img, base, base_len, size, 65536, want);
	EXPECT(!test_failed_now());
	EXPECT_EQ(file_hash(t.raw), h);
	EXPECT(file_equal(t.raw, base, base_len));
	free(base);
	free(want);
	tmp_fini(&t);
}

TEST(qcow2_overlay_on_qcow2_chain)
{
	/* base.raw <- mid.qcow2 (4 KiB clusters, some data of its own) <- top.qcow2 */
	struct tmp t;
	EXPECT_EQ(tmp_init(&t), 0);
	size_t base_len = 2 << 20, size = 3 << 20;
	char mid[128], top[128], base_q[128];
	snprintf(base_q, sizeof base_q, "%s/base.qcow2", t.dir);
	snprintf(mid, sizeof mid, "%s/mid.qcow2", t.dir);
	snprintf(top, sizeof top, "%s/top.qcow2", t.dir);
	uint8_t *base = malloc(size), *want = malloc(size);
	pattern(base, base_len, 5);
	memset(base + (1 << 20), 0, 128 << 10);
	EXPECT_EQ(write_file(t.raw, base, base_len), 0);
	EXPECT_EQ(run("qemu-img convert -O qcow2 -o cluster_size=4096 %s %s", t.raw, base_q), 0);
	EXPECT_EQ(run("qemu-img create -f qcow2 -o cluster_size=4096 -b %s -F qcow2 %s %zu", base_q, mid,
		      base_len + (512 << 10)), 0);
	EXPECT_EQ(run("qemu-io -c 'write -P 0xab 12k 20k' -c 'write -P 0xcd 2044k 8k' %s", mid), 0);
	memset(base + (12 << 10), 0xab, 20 << 10);
	memset(base + (2044 << 10), 0xcd, 8 << 10);
	base_len += 512 << 10;
	memset(base + (2 << 20) + (4 << 10), 0, (512 << 10) - (4 << 10));
	EXPECT_EQ(run("qemu-img create -f qcow2 -b %s -F qcow2 %s %zu", mid, top, size), 0);
	uint64_t hb = file_hash(base_q), hm = file_hash(mid), hr = file_hash(t.raw);
	overlay_roundtrip(&t, top, base, base_len, size, 65536, want);
	EXPECT(!test_failed_now());
	EXPECT_EQ(file_hash(base_q), hb);
	EXPECT_EQ(file_hash(mid), hm);
	EXPECT_EQ(file_hash(t.raw), hr);
	EXPECT_EQ(run("qemu-img check %s", mid), 0);
	free(base);
	free(want);
	tmp_fini(&t);
}

TEST(qcow2_overlay_small_clusters_on_compressed_base)
{
	/* A compressed base (as cloud images are shipped) under 512-byte clusters. */
	struct tmp t;
	EXPECT_EQ(tmp_init(&t), 0);
	size_t size = 1 << 20;
	char base_q[128];
	snprintf(base_q, sizeof base_q, "%s/base.qcow2", t.dir);
	uint8_t *base = malloc(size), *want = malloc(size);
	for (size_t i = 0; i < size; i++)   /* compressible but not trivially */
		base[i] = (uint8_t)("nimbus qcow2 "[i % 13] + ((i * 2654435761u) >> 29));
	EXPECT_EQ(write_file(t.raw, base, size), 0);
	EXPECT_EQ(run("qemu-img convert -c -O qcow2 %s %s", t.raw, base_q), 0);
	EXPECT_EQ(run("qemu-img create -f qcow2 -o cluster_size=512 -b %s -F qcow2 %s %zu", base_q, t.img,
		      size), 0);
	uint64_t h = file_hash(base_q);
	overlay_roundtrip(&t, t.img, base, size, size, 512, want);
	EXPECT(!test_failed_now());
	EXPECT_EQ(file_hash(base_q), h);
	free(base);
	free(want);
	tmp_fini(&t);
}

TEST(qcow2_overlay_on_odd_sized_and_empty_raw_bases)
{
	/* Every byte of a base that is not a whole number of sectors counts
	 * (qemu-img rounds the overlay up), and an empty base is just zeroes. */
	struct tmp t;
	EXPECT_EQ(tmp_init(&t), 0);
	uint8_t base[1000], want[4096] = {0}, got[4096];
	pattern(base, sizeof base, 23);
	memcpy(want, base, sizeof base);
	EXPECT_EQ(write_file(t.raw, base, sizeof base), 0);
	EXPECT_EQ(run("qemu-img create -f qcow2 -o cluster_size=512 -b %s -F raw %s", t.raw, t.img), 0);
	struct block_backend *b;
	struct err e;
	EXPECT_EQ(block_qcow2_open(t.img, false, &b, &e), 0);
	EXPECT_EQ(b->size, 1024);
	EXPECT_EQ(rd(b, 0, got, 1024), 0);
	EXPECT(memcmp(got, want, 1024) == 0);
	EXPECT_EQ(wr(b, 0, "x", 0), 0);
	EXPECT_EQ(b->ops->write_zeroes(b, 0, 512, false), 0);   /* zero flag over the base */
	memset(want, 0, 512);
	EXPECT_EQ(rd(b, 0, got, 1024), 0);
	EXPECT(memcmp(got, want, 1024) == 0);
	block_backend_close(b);
	EXPECT(qemu_agrees(&t, t.img, want, 1024));
	EXPECT(file_equal(t.raw, base, sizeof base));
	EXPECT_EQ(run("rm %s && : > %s && qemu-img create -f qcow2 -b %s -F raw %s 4K", t.img, t.raw, t.raw,
		      t.img), 0);
	EXPECT_EQ(block_qcow2_open(t.img, true, &b, &e), 0);
	memset(got, 1, sizeof got);
	EXPECT_EQ(rd(b, 0, got, 4096), 0);
	memset(want, 0, sizeof want);
	EXPECT(memcmp(got, want, 4096) == 0);
	block_backend_close(b);
	tmp_fini(&t);
}

TEST(qcow2_backing_relative_names)
{
	/* Relative backing names are relative to the overlay's directory, not
	 * to the current one, however the overlay itself was named. */
	struct tmp t;
	EXPECT_EQ(tmp_init(&t), 0);
	size_t size = 1 << 20;
	uint8_t *base = malloc(size), *got = malloc(size);
	char path[256], cwd[PATH_MAX];
	pattern(base, size, 11);
	EXPECT_EQ(run("mkdir -p %s/sub %s/other", t.dir, t.dir), 0);
	snprintf(path, sizeof path, "%s/sub/base.raw", t.dir);
	EXPECT_EQ(write_file(path, base, size), 0);
	EXPECT_EQ(run("cd %s && qemu-img create -f qcow2 -b sub/base.raw -F raw ov.qcow2", t.dir), 0);
	EXPECT_EQ(run("cd %s/other && qemu-img create -f qcow2 -b ../sub/base.raw -F raw ov2.qcow2", t.dir), 0);
	struct block_backend *b;
	struct err e;
	snprintf(path, sizeof path, "%s/ov.qcow2", t.dir);
	uint64_t name_off = get_be(path, 8, 8);
	EXPECT_EQ(get_be(path, 16, 4), 12);
	EXPECT_EQ(get_be(path, (off_t)name_off, 4), 0x7375622f);   /* "sub/" as stored */
	EXPECT_EQ(block_qcow2_open(path, true, &b, &e), 0);
	EXPECT_EQ(rd(b, 0, got, size), 0);
	EXPECT(memcmp(got, base, size) == 0);
	block_backend_close(b);
	snprintf(path, sizeof path, "%s/other/ov2.qcow2", t.dir);
	EXPECT_EQ(block_qcow2_open(path, true, &b, &e), 0);
	EXPECT_EQ(rd(b, 0, got, size), 0);
	EXPECT(memcmp(got, base, size) == 0);
	block_backend_close(b);
	/* The overlays named relative to the current directory. */
	EXPECT(getcwd(cwd, sizeof cwd) != NULL);
	EXPECT_EQ(chdir("/tmp"), 0);
	snprintf(path, sizeof path, "%.60s/ov.qcow2", t.dir + 5);   /* "nimbus-qcow2-XXXXXX/ov.qcow2" */
	int r = block_qcow2_open(path, true, &b, &e);
	EXPECT_EQ(chdir(cwd), 0);
	EXPECT_EQ(r, 0);
	EXPECT_EQ(rd(b, 0, got, size), 0);
	EXPECT(memcmp(got, base, size) == 0);
	block_backend_close(b);
	EXPECT_EQ(chdir(t.dir), 0);
	r = block_qcow2_open("other/ov2.qcow2", false, &b, &e);
	EXPECT_EQ(chdir(cwd), 0);
	EXPECT_EQ(r, 0);
	EXPECT_EQ(rd(b, 4096, got, 8192), 0);
	EXPECT(memcmp(got, base + 4096, 8192) == 0);
	EXPECT_EQ(wr(b, 4096 + 512, base, 512), 0);
	block_backend_close(b);
	free(base);
	free(got);
	tmp_fini(&t);
}

TEST(qcow2_backing_missing_named_in_one_line)
{
	struct tmp t;
	EXPECT_EQ(tmp_init(&t), 0);
	EXPECT_EQ(run("truncate -s 1M %s && qemu-img create -f qcow2 -b %s -F raw %s", t.raw, t.raw, t.img), 0);
	EXPECT_EQ(unlink(t.raw), 0);
	struct block_backend *b;
	struct err e;
	EXPECT_EQ(block_qcow2_open(t.img, true, &b, &e), -ENOENT);
	EXPECT(strstr(e.msg, t.raw) != NULL);
	EXPECT(strstr(e.msg, t.img) != NULL);
	EXPECT(strchr(e.msg, '\n') == NULL);
	EXPECT_EQ(block_qcow2_open(t.img, false, &b, &e), -ENOENT);
	/* A backing file of the wrong type. */
	EXPECT_EQ(run("mkdir %s", t.raw), 0);
	EXPECT(block_qcow2_open(t.img, true, &b, &e) < 0);
	EXPECT(strstr(e.msg, t.raw) != NULL);
	tmp_fini(&t);
}

TEST(qcow2_backing_long_name_keeps_the_reason)
{
	/* A 1000-byte backing name (the format allows 1023) that does not
	 * exist: the message must still end with the reason. */
	struct tmp t;
	EXPECT_EQ(tmp_init(&t), 0);
	char name[1001];
	for (int i = 0; i < 1000; i++)
		name[i] = i % 100 == 99 ? '/' : 'n';
	name[1000] = 0;
	EXPECT_EQ(run("cd %s && qemu-img create -f qcow2 -u -b %s -F raw a.qcow2 1M", t.dir, name), 0);
	struct block_backend *b;
	struct err e;
	EXPECT_EQ(block_qcow2_open(t.img, true, &b, &e), -ENOENT);
	size_t n = strlen(e.msg), k = strlen("No such file or directory");
	EXPECT(n > k && strcmp(e.msg + n - k, "No such file or directory") == 0);
	EXPECT(strstr(e.msg, "a.qcow2") != NULL);
	/* and with no recorded format, the advice is not cut either */
	EXPECT_EQ(get_be(t.img, 112, 4), 0xe2792aca);   /* the backing format extension */
	set_be(t.img, 112, 0x12345678, 4);
	EXPECT_EQ(block_qcow2_open(t.img, true, &b, &e), -ENOTSUP);
	EXPECT(strstr(e.msg, "no recorded format") && strstr(e.msg, "-F raw|qcow2"));
	tmp_fini(&t);
}

TEST(qcow2_backing_fifo_socket_device_directory_refused_without_hanging)
{
	struct tmp t;
	EXPECT_EQ(tmp_init(&t), 0);
	struct block_backend *b;
	struct err e;
	alarm(20);   /* a hang is a failure, not a stuck suite */
	struct { const char *make, *fmt, *kind; } c[] = {
		{ "mkfifo %s", "raw", "a FIFO" },
		{ "mkfifo %s", "qcow2", "a FIFO" },
		{ "python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' %s",
		  "raw", "a socket" },
		{ "mkdir %s", "qcow2", "a directory" },
		{ "ln -s /dev/zero %s", "raw", "a character device" },
		{ "ln -s /dev/tty %s", "qcow2", "a character device" },
	};
	for (unsigned i = 0; i < sizeof c / sizeof c[0]; i++) {
		EXPECT_EQ(run("rm -rf %s %s", t.raw, t.img), 0);
		EXPECT_EQ(run(c[i].make, t.raw), 0);
		EXPECT_EQ(run("qemu-img create -f qcow2 -u -b %s -F %s %s 1M", t.raw, c[i].fmt, t.img), 0);
		for (int rw = 0; rw < 2; rw++) {
			int r = block_qcow2_open(t.img, !rw, &b, &e);
			if (r == 0)
				block_backend_close(b);
			EXPECT_EQ(r, strstr(c[i].kind, "directory") ? -EISDIR : -EINVAL);
			EXPECT(strstr(e.msg, t.raw) && strstr(e.msg, c[i].kind));
		}
	}
	/* The top image itself, as a raw disk. */
	EXPECT_EQ(run("rm -rf %s && mkfifo %s", t.raw, t.raw), 0);
	EXPECT_EQ(block_raw_open(t.raw, false, &b, &e), -EINVAL);
	EXPECT(strstr(e.msg, "a FIFO"));
	alarm(0);
	tmp_fini(&t);
}

TEST(qcow2_backing_confined_to_the_image_directory)
{
	struct tmp t;
	EXPECT_EQ(tmp_init(&t), 0);
	struct block_backend *b;
	struct err e;
	struct block_qcow2_opts conf = { .readonly = true, .confine_backing = true };
	/* Inside: beside it and in a subdirectory, relative or absolute. */
	EXPECT_EQ(run("cd %s && mkdir -p sub out && truncate -s 1M base.raw sub/b.raw out/o.raw && "
		      "qemu-img create -q -f qcow2 -b base.raw -F raw a.qcow2", t.dir), 0);
	EXPECT_EQ(block_qcow2_open_opts(t.img, &conf, &b, &e), 0);
	block_backend_close(b);
	EXPECT_EQ(run("cd %s && rm a.qcow2 && qemu-img create -q -f qcow2 -b %s/sub/b.raw -F raw a.qcow2",
		      t.dir, t.dir), 0);
	EXPECT_EQ(block_qcow2_open_opts(t.img, &conf, &b, &e), 0);
	block_backend_close(b);
	/* Outside: an absolute host file, "..", a symlink out; the default still allows them. */
	const char *outside[] = { "/etc/passwd", "../../../etc/passwd", "link.raw" };
	EXPECT_EQ(run("cd %s && mkdir img && ln -s ../out/o.raw img/link.raw", t.dir), 0);
	char top[128];
	snprintf(top, sizeof top, "%s/img/a.qcow2", t.dir);
	for (unsigned i = 0; i < 3; i++) {
		EXPECT_EQ(run("rm -f %s && qemu-img create -q -f qcow2 -u -b %s -F raw %s 1M", top,
			      outside[i], top), 0);
		EXPECT_EQ(block_qcow2_open_opts(top, &conf, &b, &e), -EPERM);
		EXPECT(strstr(e.msg, "outside the image's directory") && strstr(e.msg, outside[i]));
		EXPECT_EQ(block_qcow2_open(top, true, &b, &e), 0);
		block_backend_close(b);
	}
	/* Deeper in a chain: the base of a confined overlay's backing file. */
	EXPECT_EQ(run("cd %s/img && rm a.qcow2 && qemu-img create -q -f qcow2 -u -b ../out/o.raw -F raw "
		      "mid.qcow2 1M && qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 a.qcow2", t.dir), 0);
	EXPECT_EQ(block_qcow2_open_opts(top, &conf, &b, &e), -EPERM);
	EXPECT(strstr(e.msg, "o.raw") && strstr(e.msg, "outside"));
	tmp_fini(&t);
}

TEST(qcow2_backing_loops_and_depth)
{
	struct tmp t;
	EXPECT_EQ(tmp_init(&t), 0);
	struct block_backend *b;
	struct err e;
	/* a -> b -> a, and a -> a. */
	EXPECT_EQ(run("cd %s && qemu-img create -f qcow2 -u -b b.qcow2 -F qcow2 a.qcow2 1M && "
		      "qemu-img create -f qcow2 -u -b a.qcow2 -F qcow2 b.qcow2 1M", t.dir), 0);
	EXPECT_EQ(block_qcow2_open(t.img, true, &b, &e), -ELOOP);
	EXPECT(strstr(e.msg, "loop") != NULL);
	EXPECT_EQ(run("cd %s && rm a.qcow2 && qemu-img create -f qcow2 -u -b ./a.qcow2 -F qcow2 a.qcow2 1M", t.dir), 0);
	EXPECT_EQ(block_qcow2_open(t.img, false, &b, &e), -ELOOP);
	/* The same file as raw backing of itself. */
	EXPECT_EQ(run("cd %s && rm a.qcow2 && qemu-img create -f qcow2 -u -b ./a.qcow2 -F raw a.qcow2 1M", t.dir), 0);
	EXPECT_EQ(block_qcow2_open(t.img, true, &b, &e), -ELOOP);
	/* A chain of 16 images (15 overlays on a raw base) opens, 17 do not. */
	EXPECT_EQ(run("cd %s && truncate -s 1M c0 && for i in $(seq 1 16); do "
		      "qemu-img create -f qcow2 -u -b c$((i-1)) -F $([ $i = 1 ] && echo raw || echo qcow2) c$i 1M "
		      "|| exit 1; done", t.dir), 0);
	char p[128];
	snprintf(p, sizeof p, "%s/c15", t.dir);
	EXPECT_EQ(block_qcow2_open(p, true, &b, &e), 0);
	block_backend_close(b);
	snprintf(p, sizeof p, "%s/c16", t.dir);
	EXPECT_EQ(block_qcow2_open(p, true, &b, &e), -ELOOP);
	EXPECT(strstr(e.msg, "longer than 16 images") && strstr(e.msg, "at most 15 overlays on a base"));
	tmp_fini(&t);
}

TEST(qcow2_backing_hostile_headers)
{
	struct tmp t;
	EXPECT_EQ(tmp_init(&t), 0);
	struct block_backend *b;
	struct err e;
	EXPECT_EQ(run("truncate -s 1M %s", t.raw), 0);
	/* Each case: a fresh overlay, one field changed, open refused. */
	struct { off_t off; int bytes; uint64_t v; int err; const char *msg; } c[] = {
		{ 8, 8, 1ull << 40, -EINVAL, "out of bounds" },      /* name far past the file */
		{ 8, 8, ~0ull, -EINVAL, "out of bounds" },           /* and wrapping */
		{ 8, 8, 16, -EINVAL, "out of bounds" },              /* inside the header */
		{ 16, 4, 1024, -EINVAL, "out of bounds" },           /* longer than 1023 */
		{ 16, 4, 0xffffffff, -EINVAL, "out of bounds" },     /* huge */
		{ 16, 4, 0, -EINVAL, "out of bounds" },
		{ 112, 4, 0x12345678, -ENOTSUP, "format" },          /* no backing format extension */
		{ 116, 4, 0x7fffffff, -EINVAL, "overruns" },         /* its length huge */
		{ 120, 3, 0x766d64, -ENOTSUP, "vmd" },               /* "raw" -> "vmd" */
		{ 100, 4, 4096, -EINVAL, "qcow2" },                  /* header_length past the name */
		{ 100, 4, 1 << 20, -EINVAL, "header" },              /* and past the cluster */
	};
	for (unsigned i = 0; i < sizeof c / sizeof c[0]; i++) {
		EXPECT_EQ(run("rm -f %s && qemu-img create -f qcow2 -b %s -F raw %s", t.img, t.raw, t.img), 0);
		EXPECT_EQ(get_be(t.img, 112, 4), 0xe2792aca);   /* the layout the cases assume */
		EXPECT_EQ(get_be(t.img, 120, 3), 0x726177);      /* "raw" */
		set_be(t.img, c[i].off, c[i].v, c[i].bytes);
		int r = block_qcow2_open(t.img, true, &b, &e);
		if (r != c[i].err || !strstr(e.msg, c[i].msg))
			printf("   case %u: %d %s\n", i, r, e.msg);
		EXPECT_EQ(r, c[i].err);
		EXPECT(strstr(e.msg, c[i].msg) != NULL);
	}
	/* A NUL inside the name. */
	EXPECT_EQ(run("rm -f %s && qemu-img create -f qcow2 -b %s -F raw %s", t.img, t.raw, t.img), 0);
	uint64_t noff = get_be(t.img, 8, 8);
	set_be(t.img, (off_t)noff + 2, 0, 1);
	EXPECT_EQ(block_qcow2_open(t.img, true, &b, &e), -EINVAL);
	tmp_fini(&t);
}

static uint64_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* 64 KiB of 0x11 at guest 0 in a fresh 1 MiB image; fills the offsets. */
static int corrupt_base(struct tmp *t, uint64_t *l1, uint64_t *rt, uint64_t *l2, uint64_t *data)
{
	if (run("rm -f %s && qemu-img create -q -f qcow2 %s 1M && qemu-io -c 'write -P 0x11 0 64k' %s",
		t->img, t->img, t->img))
		return -1;
	*l1 = get_be(t->img, 40, 8);
	*rt = get_be(t->img, 48, 8);
	*l2 = get_be(t->img, (off_t)*l1, 8) & 0x00fffffffffffe00ull;
	*data = get_be(t->img, (off_t)*l2, 8) & 0x00fffffffffffe00ull;
	return *l2 && *data ? 0 : -1;
}

TEST(qcow2_data_at_metadata_or_past_the_file_marks_corrupt_and_fails)
{
	struct tmp t;
	EXPECT_EQ(tmp_init(&t), 0);
	uint64_t l1, rt, l2, data, copied = 1ull << 63;
	uint8_t buf[4096], l1_before[4096], l1_after[4096];
	memset(buf, 0x77, sizeof buf);
	struct block_backend *b;
	struct err e;
	/* Each case: an L2 entry for guest cluster 0 (or 1) pointing where it must not. */
	struct { const char *what; int entry; int target; } c[] = {
		{ "data on the L1 table", 0, 0 },
		{ "data on a refcount block", 0, 1 },
		{ "data on the refcount table", 0, 2 },
		{ "data on its own L2 table", 1, 3 },
		{ "data 10 TiB out", 0, 4 },
	};
	for (unsigned i = 0; i < sizeof c / sizeof c[0]; i++) {
		EXPECT_EQ(corrupt_base(&t, &l1, &rt, &l2, &data), 0);
		uint64_t target[] = { l1, get_be(t.img, (off_t)rt, 8), rt, l2, 10ull << 40 };
		set_be(t.img, (off_t)(l2 + 8 * (uint64_t)c[i].entry), target[c[i].target] | copied, 8);
		uint64_t size = file_size(t.img);
		int fd = open(t.img, O_RDONLY);
		EXPECT(fd >= 0 && pread(fd, l1_before, sizeof l1_before, (off_t)l1) == sizeof l1_before);
		close(fd);
		EXPECT_EQ(block_qcow2_open(t.img, false, &b, &e), 0);
		uint64_t guest = 65536ull * (uint64_t)c[i].entry;
		EXPECT_EQ(wr(b, guest, buf, sizeof buf), -EIO);
		EXPECT_EQ(rd(b, guest, buf, sizeof buf), -EIO);
		EXPECT_EQ(rd(b, 65536 * 8, buf, sizeof buf), -EIO);   /* and every later I/O */
		block_backend_close(b);
		fd = open(t.img, O_RDONLY);
		EXPECT(fd >= 0 && pread(fd, l1_after, sizeof l1_after, (off_t)l1) == sizeof l1_after);
		close(fd);
		if (memcmp(l1_before, l1_after, sizeof l1_after))
			printf("   case %s: the L1 table changed\n", c[i].what);
		EXPECT(memcmp(l1_before, l1_after, sizeof l1_after) == 0);
		EXPECT_EQ(file_size(t.img), size);   /* nothing grew a 10 TiB file */
		EXPECT(get_be(t.img, 72, 8) & 2);    /* the corrupt bit */
		EXPECT_EQ(block_qcow2_open(t.img, false, &b, &e), -ENOTSUP);
		EXPECT(strstr(e.msg, "marked corrupt"));
		/* Read-only, the same image still fails its I/O there. */
		EXPECT_EQ(block_qcow2_open(t.img, true, &b, &e), 0);
		EXPECT_EQ(rd(b, guest, buf, sizeof buf), -EIO);
		block_backend_close(b);
	}
	tmp_fini(&t);
}

TEST(qcow2_metadata_pointing_at_other_metadata_marks_corrupt)
{
	struct tmp t;
	EXPECT_EQ(tmp_init(&t), 0);
	uint64_t l1, rt, l2, data, copied = 1ull << 63;
	uint8_t buf[4096];
	struct block_backend *b;
	struct err e;
	/* An L1 entry naming the refcount table as an L2 table. */
	EXPECT_EQ(corrupt_base(&t, &l1, &rt, &l2, &data), 0);
	set_be(t.img, (off_t)l1, rt | copied, 8);
	EXPECT_EQ(block_qcow2_open(t.img, false, &b, &e), 0);
	EXPECT_EQ(rd(b, 0, buf, sizeof buf), -EIO);
	EXPECT_EQ(wr(b, 0, buf, sizeof buf), -EIO);
	block_backend_close(b);
	EXPECT(get_be(t.img, 72, 8) & 2);
	/* A refcount table entry naming the L1 table as a refcount block:
	 * allocating a cluster must not count it into the L1 table. */
	EXPECT_EQ(corrupt_base(&t, &l1, &rt, &l2, &data), 0);
	set_be(t.img, (off_t)rt, l1, 8);
	uint64_t l1_0 = get_be(t.img, (off_t)l1, 8);
	EXPECT_EQ(block_qcow2_open(t.img, false, &b, &e), 0);
	EXPECT_EQ(wr(b, 65536 * 4, buf, sizeof buf), -EIO);   /* a new cluster */
	block_backend_close(b);
	EXPECT_EQ(get_be(t.img, (off_t)l1, 8), l1_0);
	EXPECT(get_be(t.img, 72, 8) & 2);
	/* A clean image is untouched by all this: no false alarms. */
	EXPECT_EQ(corrupt_base(&t, &l1, &rt, &l2, &data), 0);
	EXPECT_EQ(block_qcow2_open(t.img, false, &b, &e), 0);
	EXPECT_EQ(wr(b, 0, buf, sizeof buf), 0);
	EXPECT_EQ(wr(b, 65536 * 5, buf, sizeof buf), 0);
	EXPECT_EQ(rd(b, 0, buf, sizeof buf), 0);
	block_backend_close(b);
	EXPECT_EQ(get_be(t.img, 72, 8) & 2, 0);
	EXPECT_EQ(run("qemu-img check %s", t.img), 0);
	tmp_fini(&t);
}

TEST(qcow2_zero_clusters)
{
	/* v3 zero flags, with and without a preallocated cluster, in a plain
	 * image and over a backing file (where they hide the base). */
	struct tmp t;
	EXPECT_EQ(tmp_init(&t), 0);
	size_t size = 1 << 20, c = 65536;
	uint8_t *base = malloc(size), *want = malloc(size), *got = malloc(size), buf[3000];
	pattern(base, size, 13);
	EXPECT_EQ(write_file(t.raw, base, size), 0);
	EXPECT_EQ(run("qemu-img create -f qcow2 -b %s -F raw %s", t.raw, t.img), 0);
	EXPECT_EQ(run("qemu-io -c 'write -P 0x11 0 256k' -c 'write -z 0 64k' -c 'write -z -u 64k 64k' "
		      "-c 'write -z -u 512k 128k' %s", t.img), 0);
	memcpy(want, base, size);
	memset(want, 0x11, 256 << 10);
	memset(want, 0, 128 << 10);
	memset(want + (512 << 10), 0, 128 << 10);
	struct block_backend *b;
	struct err e;
	EXPECT_EQ(block_qcow2_open(t.img, false, &b, &e), 0);
	EXPECT_EQ(rd(b, 0, got, size), 0);
	EXPECT(memcmp(got, want, size) == 0);
	/* Partial writes into each kind: preallocated zero, plain zero, zero over the base. */
	uint64_t offs[] = { 1000, c + 3000, 512 * 1024 + 7000 };
	for (unsigned i = 0; i < 3; i++) {
		pattern(buf, sizeof buf, i + 20);
		EXPECT_EQ(wr(b, offs[i] & ~511ull, buf, 2560), 0);
		memcpy(want + (offs[i] & ~511ull), buf, 2560);
	}
	EXPECT_EQ(rd(b, 0, got, size), 0);
	EXPECT(memcmp(got, want, size) == 0);
	block_backend_close(b);
	EXPECT(qemu_agrees(&t, t.img, want, size));
	free(base);
	free(want);
	free(got);
	tmp_fini(&t);
}

TEST(qcow2_compressed_read_and_overwrite)
{
	struct tmp t;
	EXPECT_EQ(tmp_init(&t), 0);
	size_t size = 2 << 20;
	uint8_t *img = malloc(size), *got = malloc(size), buf[8192];
	/* Text-like, low-entropy random, incompressible and zero stretches. */
	uint64_t x = 88172645463325252ull;
	for (size_t i = 0; i < size; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t zone = i / (96 << 10) % 4;
		img[i] = zone == 0 ? (uint8_t)"the quick brown fox jumps over the lazy dog\n"[i % 44]
		       : zone == 1 ? (uint8_t)('a' + (x & 15))
		       : zone == 2 ? (uint8_t)x : 0;
	}
	EXPECT_EQ(write_file(t.raw, img, size), 0);
	struct block_backend *b;
	struct err e;
	for (unsigned cs = 4096; cs <= 65536; cs *= 16) {
		EXPECT_EQ(run("rm -f %s && qemu-img convert -c -O qcow2 -o cluster_size=%u %s %s", t.img, cs,
			      t.raw, t.img), 0);
		EXPECT_EQ(block_qcow2_open(t.img, true, &b, &e), 0);
		EXPECT_EQ(rd(b, 0, got, size), 0);
		EXPECT(memcmp(got, img, size) == 0);
		for (size_t off = 3 * 512; off + 512 <= size; off += 77 * 512) {   /* sector reads */
			EXPECT_EQ(rd(b, off, got, 512), 0);
			EXPECT(memcmp(got, img + off, 512) == 0);
		}
		block_backend_close(b);
	}
	/* Overwrites free the compressed clusters (else qemu-img check sees leaks). */
	EXPECT_EQ(block_qcow2_open(t.img, false, &b, &e), 0);
	pattern(buf, sizeof buf, 30);
	uint64_t offs[] = { 1024, 65536 * 3, 65536 * 5 + 4096, 65536 * 7 - 4096 };
	for (unsigned i = 0; i < 4; i++) {
		EXPECT_EQ(wr(b, offs[i], buf, sizeof buf), 0);
		memcpy(img + offs[i], buf, sizeof buf);
	}
	for (uint64_t off = 65536 * 8; off < 65536 * 24; off += 65536) {   /* whole clusters */
		EXPECT_EQ(wr(b, off, img + size - 65536 - off / 4, 65536), 0);
		memmove(img + off, img + size - 65536 - off / 4, 65536);
	}
	EXPECT_EQ(b->ops->write_zeroes(b, 65536 * 10, 65536 * 2, false), 0);   /* also frees */
	memset(img + 65536 * 10, 0, 65536 * 2);
	EXPECT_EQ(b->ops->write_zeroes(b, 65536 * 25, 65536, true), 0);
	memset(img + 65536 * 25, 0, 65536);
	EXPECT_EQ(rd(b, 0, got, size), 0);
	EXPECT(memcmp(got, img, size) == 0);
	block_backend_close(b);
	EXPECT(qemu_agrees(&t, t.img, img, size));
	free(img);
	free(got);
	tmp_fini(&t);
}

TEST(qcow2_discard_and_write_zeroes)
{
	struct tmp t;
	EXPECT_EQ(tmp_init(&t), 0);
	size_t size = 2 << 20, c = 65536;
	uint8_t *base = malloc(size), *want = malloc(size), *got = malloc(size);
	pattern(base, size, 17);
	EXPECT_EQ(write_file(t.raw, base, size), 0);
	uint64_t h = file_hash(t.raw);
	/* A plain image full of data, and an overlay with some clusters written. */
	for (int overlay = 0; overlay < 2; overlay++) {
		if (overlay) {
			EXPECT_EQ(run("rm -f %s && qemu-img create -f qcow2 -b %s -F raw %s", t.img, t.raw,
				      t.img), 0);
			EXPECT_EQ(run("qemu-io -c 'write -P 0x22 0 512k' %s", t.img), 0);
			memcpy(want, base, size);
			memset(want, 0x22, 512 << 10);
		} else {
			EXPECT_EQ(run("rm -f %s && qemu-img convert -O qcow2 %s %s", t.img, t.raw, t.img), 0);
			memcpy(want, base, size);
		}
		struct block_backend *b;
		struct err e;
		EXPECT_EQ(block_qcow2_open(t.img, false, &b, &e), 0);
		/* write-zeroes: whole clusters (kept and unmapped), a partial one,
		 * a range reaching into the base-only area. */
		EXPECT_EQ(b->ops->write_zeroes(b, c, 2 * c, false), 0);
		EXPECT_EQ(b->ops->write_zeroes(b, 4 * c, c, true), 0);
		EXPECT_EQ(b->ops->write_zeroes(b, 6 * c + 512, 1024, false), 0);
		EXPECT_EQ(b->ops->write_zeroes(b, 7 * c + 4096, 3 * c, true), 0);
		memset(want + c, 0, 2 * c);
		memset(want + 4 * c, 0, c);
		memset(want + 6 * c + 512, 0, 1024);
		memset(want + 7 * c + 4096, 0, 3 * c);
		EXPECT_EQ(rd(b, 0, got, size), 0);
		EXPECT(memcmp(got, want, size) == 0);
		/* A write into a zeroed cluster, then discards (contents are then
		 * undefined: whatever we read must be what qemu reads). */
		pattern(got, 4096, 50);
		EXPECT_EQ(wr(b, c + 8192, got, 4096), 0);
		memcpy(want + c + 8192, got, 4096);
		EXPECT_EQ(b->ops->discard(b, 12 * c, 2 * c), 0);
		EXPECT_EQ(b->ops->discard(b, 3 * 4096, 4096), 0);
		EXPECT_EQ(b->ops->discard(b, size - c, c), 0);
		EXPECT_EQ(rd(b, 0, got, size), 0);
		EXPECT(memcmp(got, want, 3 * 4096) == 0);
		EXPECT(memcmp(got + c, want + c, 11 * c) == 0);   /* untouched by the discards */
		memcpy(want, got, size);
		EXPECT_EQ(b->ops->flush(b), 0);
		block_backend_close(b);
		EXPECT(qemu_agrees(&t, t.img, want, size));
	}
	EXPECT_EQ(file_hash(t.raw), h);
	free(base);
	free(want);
	free(got);
	tmp_fini(&t);
}

TEST(qcow2_crash_without_flush_only_leaks)
{
	/* A writer killed before its flush (a process crash: the page cache
	 * survives, the metadata caches do not) leaves an image qemu-img check
	 * finds free of errors (leaks allowed), with the flushed data intact. */
	struct tmp t;
	EXPECT_EQ(tmp_init(&t), 0);
	/* 512-byte clusters and 64-bit refcounts: 256 L2 tables and 256 refcount
	 * blocks, more than the caches hold, so both are evicted mid-write. */
	size_t size = 8 << 20, half = size / 2;
	uint8_t *base = malloc(size), *got = malloc(size), *buf = malloc(size);
	pattern(base, size, 19);
	EXPECT_EQ(write_file(t.raw, base, size), 0);
	EXPECT_EQ(run("qemu-img create -f qcow2 -o cluster_size=512,refcount_bits=64 -b %s -F raw %s",
		      t.raw, t.img), 0);
	pattern(buf, size, 21);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct block_backend *b;
		struct err e;
		if (block_qcow2_open(t.img, false, &b, &e))
			_exit(1);
		for (size_t off = 0; off < half; off += 3 * 1024)   /* unaligned, COW everywhere */
			if (wr(b, off, buf + off, 1024))
				_exit(1);
		if (b->ops->flush(b))
			_exit(1);
		/* Into the gaps under reachable L2 tables, then fresh ground. */
		for (size_t off = 0; off < half; off += 3 * 1024)
			if (wr(b, off + 2048, buf + off + 2048, 512))
				_exit(1);
		for (size_t off = half; off < size; off += 1536)
			if (wr(b, off, buf + off, 1024))
				_exit(1);
		_exit(0);   /* no flush, no close */
	}
	int st;
	EXPECT_EQ(waitpid(pid, &st, 0), pid);
	EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	int rc = run("qemu-img check %s", t.img);
	EXPECT(rc == 0 || rc == 3);   /* 3: leaked clusters only */
	EXPECT_EQ(run("qemu-img check -r leaks %s", t.img), 0);
	EXPECT_EQ(run("qemu-img check %s", t.img), 0);
	struct block_backend *b;
	struct err e;
	EXPECT_EQ(block_qcow2_open(t.img, true, &b, &e), 0);
	EXPECT_EQ(rd(b, 0, got, size), 0);
	for (size_t off = 0; off < half; off += 3 * 1024) {
		EXPECT(memcmp(got + off, buf + off, 1024) == 0);
		EXPECT(memcmp(got + off + 1024, base + off + 1024, 1024) == 0);
	}
	block_backend_close(b);
	free(base);
	free(got);
	free(buf);
	tmp_fini(&t);
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
	/* Dirty: read-only is fine, writable is refused. */
	EXPECT_EQ(sh(&t, "rm -f %s && qemu-img create -f qcow2 %s 1M", t.img, t.img), 0);
	set_be(t.img, 72, 1, 8);
	EXPECT_EQ(block_qcow2_open(t.img, false, &b, &e), -ENOTSUP);
	EXPECT(strstr(e.msg, "check") != NULL);
	EXPECT_EQ(block_qcow2_open(t.img, true, &b, &e), 0);
	block_backend_close(b);
	/* Unsupported features are named. */
	struct { uint64_t bit; const char *name; } f[] = {
		{ 1ull << 2, "external data file" }, { 1ull << 3, "compression type" },
		{ 1ull << 4, "extended L2" }, { 1ull << 40, "bit 40" },
	};
	for (unsigned i = 0; i < 4; i++) {
		set_be(t.img, 72, f[i].bit, 8);
		EXPECT_EQ(block_qcow2_open(t.img, true, &b, &e), -ENOTSUP);
		EXPECT(strstr(e.msg, f[i].name) != NULL);
	}
	EXPECT_EQ(sh(&t, "rm -f %s && qemu-img create -f qcow2 -o extended_l2=on %s 1M", t.img, t.img), 0);
	EXPECT_EQ(block_qcow2_open(t.img, true, &b, &e), -ENOTSUP);
	EXPECT(strstr(e.msg, "extended L2") != NULL);
	/* Internal snapshots: readable, not writable. */
	EXPECT_EQ(sh(&t, "rm -f %s && qemu-img create -f qcow2 %s 1M", t.img, t.img), 0);
	EXPECT_EQ(sh(&t, "qemu-img snapshot -c snap %s", t.img, ""), 0);
	EXPECT_EQ(block_qcow2_open(t.img, false, &b, &e), -ENOTSUP);
	EXPECT(strstr(e.msg, "snapshots") != NULL);
	EXPECT_EQ(block_qcow2_open(t.img, true, &b, &e), 0);
	block_backend_close(b);
	/* Persistent bitmaps: readable, not writable (they would go stale); an
	 * unknown auto-clear bit is cleared by a writer. */
	EXPECT_EQ(sh(&t, "rm -f %s && qemu-img create -f qcow2 %s 1M", t.img, t.img), 0);
	EXPECT_EQ(sh(&t, "qemu-img bitmap --add %s b0", t.img, ""), 0);
	EXPECT_EQ(block_qcow2_open(t.img, false, &b, &e), -ENOTSUP);
	EXPECT(strstr(e.msg, "bitmaps") != NULL);
	EXPECT_EQ(block_qcow2_open(t.img, true, &b, &e), 0);
	block_backend_close(b);
	EXPECT_EQ(get_be(t.img, 88, 8), 1);
	EXPECT_EQ(sh(&t, "rm -f %s && qemu-img create -f qcow2 %s 1M", t.img, t.img), 0);
	set_be(t.img, 88, 1ull << 33, 8);
	EXPECT_EQ(block_qcow2_open(t.img, false, &b, &e), 0);
	block_backend_close(b);
	EXPECT_EQ(get_be(t.img, 88, 8), 0);
	EXPECT_EQ(sh(&t, "qemu-img check %s", t.img, ""), 0);
	/* A raw file. */
	EXPECT_EQ(sh(&t, "rm -f %s && truncate -s 1M %s", t.raw, t.raw), 0);
	EXPECT_EQ(block_qcow2_open(t.raw, true, &b, &e), -EINVAL);
	/* Inconsistent header: L1 too small for the size. */
	EXPECT_EQ(sh(&t, "rm -f %s && qemu-img create -f qcow2 %s 1M", t.img, t.img), 0);
	set_be(t.img, 24, 1ull << 50, 8);
	EXPECT_EQ(block_qcow2_open(t.img, true, &b, &e), -EINVAL);
	tmp_fini(&t);
}

TEST(qcow2_second_writer_locked_out)
{
	struct tmp t;
	EXPECT_EQ(tmp_init(&t), 0);
	EXPECT_EQ(sh(&t, "qemu-img create -f qcow2 %s 1M", t.img, ""), 0);
	EXPECT_EQ(run("qemu-img create -f qcow2 -b %s -F qcow2 %s", t.img, t.raw), 0);
	struct block_backend *b, *b2;
	struct err e;
	EXPECT_EQ(block_qcow2_open(t.img, false, &b, &e), 0);
	/* A second writer, or an overlay reading it as a base, sees it in use;
	 * no dirty bit is left in the header. */
	EXPECT_EQ(block_qcow2_open(t.img, false, &b2, &e), -EBUSY);
	EXPECT(strstr(e.msg, "in use") != NULL);
	EXPECT_EQ(block_qcow2_open(t.raw, true, &b2, &e), -EBUSY);
	EXPECT_EQ(get_be(t.img, 72, 8), 0);
	block_backend_close(b);
	/* Readers share: two overlays' worth of readers of one base at once. */
	EXPECT_EQ(block_qcow2_open(t.raw, false, &b, &e), 0);
	EXPECT_EQ(block_qcow2_open(t.img, true, &b2, &e), 0);
	block_backend_close(b2);
	EXPECT_EQ(block_qcow2_open(t.img, false, &b2, &e), -EBUSY);   /* base in use by the overlay */
	block_backend_close(b);
	EXPECT_EQ(block_qcow2_open(t.img, false, &b2, &e), 0);
	block_backend_close(b2);
	uint8_t head[4] = { 'Q', 'F', 'I', 0xfb };
	EXPECT(block_qcow2_probe(head, 4));
	EXPECT(!block_qcow2_probe("RAW!", 4));
	tmp_fini(&t);
}

/* 600 random operations on img (size bytes, currently `want`), checked as they go. */
static void random_ops(const char *img, uint8_t *want, size_t size, uint32_t seed)
{
	uint8_t *got = malloc(size), *buf = malloc(256 << 10);
	struct block_backend *b;
	struct err e;
	EXPECT_EQ(block_qcow2_open(img, false, &b, &e), 0);
	uint32_t x = seed;
#define RND(n) (x = x * 1103515245u + 12345u, (uint64_t)(x >> 8) % (n))
	for (unsigned step = 0; step < 600; step++) {
		uint64_t op = RND(16), sectors = size / 512;
		uint64_t off = RND(sectors) * 512, len = (1 + RND(op < 2 ? 512 : 40)) * 512;
		if (len > size - off)
			len = size - off;
		if (op < 9) {
			pattern(buf, len, step);
			EXPECT_EQ(wr(b, off, buf, len), 0);
			memcpy(want + off, buf, len);
		} else if (op < 12) {
			EXPECT_EQ(b->ops->write_zeroes(b, off, len, op & 1), 0);
			memset(want + off, 0, len);
		} else if (op < 14) {
			EXPECT_EQ(b->ops->discard(b, off, len), 0);
			EXPECT_EQ(rd(b, off, want + off, len), 0);   /* undefined: take what we read */
		} else if (op == 14) {
			EXPECT_EQ(b->ops->flush(b), 0);
		} else {
			block_backend_close(b);
			EXPECT_EQ(block_qcow2_open(img, false, &b, &e), 0);
		}
		if (step % 50 == 0 || op == 15) {
			EXPECT_EQ(rd(b, 0, got, size), 0);
			EXPECT(memcmp(got, want, size) == 0);
		} else {
			EXPECT_EQ(rd(b, off, got, len), 0);
			EXPECT(memcmp(got, want + off, len) == 0);
		}
	}
#undef RND
	EXPECT_EQ(rd(b, 0, got, size), 0);
	EXPECT(memcmp(got, want, size) == 0);
	block_backend_close(b);
	free(got);
	free(buf);
}

TEST(qcow2_random_ops_match_a_model)
{
	/* An overlay (4 KiB clusters, 8-bit refcounts) over a compressed qcow2
	 * base; then a compressed image of its own with 512-byte clusters and
	 * 2-bit refcounts.  Across flushes and reopens; qemu agrees after. */
	struct tmp t;
	EXPECT_EQ(tmp_init(&t), 0);
	size_t size = 3 << 20, base_len = 2 << 20;
	char base_q[128];
	snprintf(base_q, sizeof base_q, "%s/base.qcow2", t.dir);
	uint8_t *want = calloc(1, size);
	for (size_t i = 0; i < base_len; i++)
		want[i] = (uint8_t)("overlay "[i % 8] ^ (i >> 12));
	EXPECT_EQ(write_file(t.raw, want, base_len), 0);
	EXPECT_EQ(run("qemu-img convert -c -O qcow2 -o cluster_size=8192 %s %s", t.raw, base_q), 0);
	EXPECT_EQ(run("qemu-img create -f qcow2 -o cluster_size=4096,refcount_bits=8 -b %s -F qcow2 %s %zu",
		      base_q, t.img, size), 0);
	uint64_t h = file_hash(base_q);
	random_ops(t.img, want, size, 2024);
	EXPECT(!test_failed_now());
	EXPECT(qemu_agrees(&t, t.img, want, size));
	EXPECT_EQ(file_hash(base_q), h);
	memset(want, 0, size);
	for (size_t i = 0; i < base_len; i++)
		want[i] = (uint8_t)("overlay "[i % 8] ^ (i >> 12));
	EXPECT_EQ(run("rm %s && qemu-img convert -c -O qcow2 -o cluster_size=512,refcount_bits=2 %s %s",
		      t.img, t.raw, t.img), 0);
	random_ops(t.img, want, base_len, 77);
	EXPECT(!test_failed_now());
	EXPECT(qemu_agrees(&t, t.img, want, base_len));
	free(want);
	tmp_fini(&t);
}


TEST(qcow2_discarded_clusters_are_reused_not_appended)
{
	/* A filesystem's life in small: 2 MiB written into one half of a 4 MiB
	 * volume, trimmed (discard, or write-zeroes that may unmap), then
	 * written into the other half, 20 times.  The file stays near one copy
	 * in size: freed clusters are reused.  (While a discard only punched
	 * holes and kept the mapping, every half stayed allocated and the file
	 * held both.)  qemu-img check finds neither corruption nor leaks. */
	struct tmp t;
	EXPECT_EQ(tmp_init(&t), 0);
	size_t size = 4 << 20, half = size / 2;
	EXPECT_EQ(run("qemu-img create -q -f qcow2 -o cluster_size=4096 %s %zu", t.img, size), 0);
	uint8_t *want = calloc(1, size), *buf = malloc(64 << 10), *got = malloc(4096);
	struct block_backend *b;
	struct err e;
	EXPECT_EQ(block_qcow2_open(t.img, false, &b, &e), 0);
	uint64_t first = 0;
	for (unsigned round = 0; round < 20; round++) {
		size_t base = (round & 1) * half;
		for (size_t off = base; off < base + half; off += 64 << 10) {
			pattern(buf, 64 << 10, round * 1000 + (unsigned)(off >> 16));
			EXPECT_EQ(wr(b, off, buf, 64 << 10), 0);
			memcpy(want + off, buf, 64 << 10);
		}
		EXPECT_EQ(b->ops->flush(b), 0);
		if (round == 0)
			first = file_size(t.img);
		if (round < 19) {
			EXPECT_EQ(round & 2 ? b->ops->write_zeroes(b, base, half, true)
					    : b->ops->discard(b, base, half), 0);
			EXPECT_EQ(b->ops->flush(b), 0);
			memset(want + base, 0, half);
			EXPECT_EQ(rd(b, base, got, 4096), 0);
			EXPECT(!memcmp(got, want + base, 4096));   /* reads as zeroes */
		}
	}
	block_backend_close(b);
	uint64_t last = file_size(t.img);
	if (last > first + (64 << 10))
		printf("   file grew from %llu to %llu bytes\n", (unsigned long long)first,
		       (unsigned long long)last);
	EXPECT(last <= first + (64 << 10));
	EXPECT(qemu_agrees(&t, t.img, want, size));
	free(want);
	free(buf);
	free(got);
	tmp_fini(&t);
}

TEST(qcow2_random_write_discard_snapshot_delete_sequences_stay_clean)
{
	/* Rounds of random writes, write-zeroes, discards, flushes and reopens
	 * (random_ops) on an image of its own and on an overlay; between
	 * rounds a snapshot of the volume is taken (a copy, as `nimbus volume
	 * snapshot` makes one) and an older one deleted.  Every image and
	 * every snapshot passes qemu-img check (no corruption, no leak) and
	 * holds the data of its moment. */
	struct tmp t;
	EXPECT_EQ(tmp_init(&t), 0);
	size_t size = 1 << 20;
	uint8_t *want = calloc(1, size), *snap_want = calloc(1, size);
	char snap[160];
	EXPECT_EQ(run("qemu-img create -q -f qcow2 -o cluster_size=512,refcount_bits=16 %s %zu", t.img,
		      size), 0);
	for (uint32_t round = 0; round < 3; round++) {
		random_ops(t.img, want, size, 9000 + round);
		EXPECT(!test_failed_now());
		EXPECT(qemu_agrees(&t, t.img, want, size));
		snprintf(snap, sizeof snap, "%s/snap%u.qcow2", t.dir, round);
		EXPECT_EQ(run("cp --sparse=always %s %s", t.img, snap), 0);
		memcpy(snap_want, want, size);
		if (round) {
			char old[160];
			snprintf(old, sizeof old, "%s/snap%u.qcow2", t.dir, round - 1);
			EXPECT(unlink(old) == 0);
		}
	}
	EXPECT(qemu_agrees(&t, snap, snap_want, size));
	/* The last snapshot as the base of an overlay that lives on. */
	EXPECT_EQ(run("rm %s && qemu-img create -q -f qcow2 -o cluster_size=4096 -b %s -F qcow2 %s",
		      t.img, snap, t.img), 0);
	memcpy(want, snap_want, size);
	random_ops(t.img, want, size, 4242);
	EXPECT(!test_failed_now());
	EXPECT(qemu_agrees(&t, t.img, want, size));
	EXPECT(qemu_agrees(&t, snap, snap_want, size));   /* the base never changed */
	free(want);
	free(snap_want);
	tmp_fini(&t);
}

/* A volume passed to a sandboxed VMM as an open file (hot-plug): it works as
 * the path does; a descriptor open for reading only is refused for writing,
 * and an image with a backing file is refused (its backing would be opened
 * by path). */
TEST(qcow2_open_from_a_passed_file_refuses_what_it_cannot_serve)
{
	struct tmp t;
	EXPECT_EQ(tmp_init(&t), 0);
	EXPECT_EQ(run("qemu-img create -f qcow2 %s 1M", t.img), 0);
	struct block_backend *b;
	struct err e = { 0 };
	uint8_t buf[4096], back[4096];
	pattern(buf, sizeof buf, 9);
	EXPECT_EQ(block_qcow2_open_fd(open(t.img, O_RDWR | O_CLOEXEC), "disk v", false, &b, &e), 0);
	EXPECT_EQ(b->size, 1u << 20);
	EXPECT_EQ(wr(b, 8192, buf, sizeof buf), 0);
	EXPECT_EQ(rd(b, 8192, back, sizeof back), 0);
	EXPECT(!memcmp(buf, back, sizeof buf));
	block_backend_close(b);
	EXPECT_EQ(run("qemu-img check %s", t.img), 0);
	EXPECT_EQ(block_qcow2_open_fd(open(t.img, O_RDONLY | O_CLOEXEC), "disk v", false, &b, &e),
		  -EBADF);
	EXPECT(strstr(e.msg, "disk v: passed open for reading only"));
	EXPECT_EQ(run("qemu-img create -f qcow2 -b %s -F qcow2 %s/top.qcow2", t.img, t.dir), 0);
	char top[128];
	snprintf(top, sizeof top, "%s/top.qcow2", t.dir);
	EXPECT_EQ(block_qcow2_open_fd(open(top, O_RDWR | O_CLOEXEC), "disk w", false, &b, &e),
		  -ENOTSUP);
	EXPECT(strstr(e.msg, "has a backing file"));
	tmp_fini(&t);
}

/* An overlay made without qemu-img (block_qcow2_create.c) is one qemu-img
 * accepts as its own (check clean, the backing and its format recorded),
 * reads as its raw or qcow2 base, takes writes that leave the base alone,
 * and is never made over an existing file nor of a size the format cannot
 * hold. */
TEST(qcow2_created_overlay_reads_its_base_takes_writes_and_checks_clean)
{
	struct tmp t;
	EXPECT_EQ(tmp_init(&t), 0);
	size_t size = (2 << 20) + 4096 * 3;   /* not a whole cluster */
	uint8_t *base = malloc(size), *got = malloc(size), buf[8192];
	pattern(base, size, 3);
	EXPECT_EQ(write_file(t.raw, base, size), 0);
	uint64_t raw_hash = file_hash(t.raw);
	char top[128], top2[128];
	snprintf(top, sizeof top, "%s/top.qcow2", t.dir);
	snprintf(top2, sizeof top2, "%s/top2.qcow2", t.dir);
	struct err e = { 0 };
	EXPECT_EQ(block_qcow2_create_overlay(top, size, t.raw, BLOCK_FORMAT_RAW, true, &e), 0);
	EXPECT_EQ(run("qemu-img check %s", top), 0);
	EXPECT_EQ(run("qemu-img info %s | grep -q 'backing file format: raw'", top), 0);
	struct block_backend *b;
	struct block_opts o = { .format = BLOCK_FORMAT_QCOW2 };
	EXPECT_EQ(block_backend_open(top, &o, &b, &e), 0);
	EXPECT_EQ(b->size, size);
	EXPECT_EQ(rd(b, 0, got, size), 0);
	EXPECT(!memcmp(got, base, size));
	pattern(buf, sizeof buf, 77);
	EXPECT_EQ(wr(b, 65536 - 4096, buf, sizeof buf), 0);   /* across a cluster boundary */
	memcpy(base + 65536 - 4096, buf, sizeof buf);
	block_backend_close(b);
	EXPECT(qemu_agrees(&t, top, base, size));
	EXPECT_EQ(file_hash(t.raw), raw_hash);
	/* Over a qcow2 base (a chain of two overlays); durable or not alike. */
	EXPECT_EQ(block_qcow2_create_overlay(top2, size, top, BLOCK_FORMAT_QCOW2, false, &e), 0);
	EXPECT_EQ(run("qemu-img check %s", top2), 0);
	EXPECT_EQ(block_backend_open(top2, &o, &b, &e), 0);
	EXPECT_EQ(rd(b, 0, got, size), 0);
	EXPECT(!memcmp(got, base, size));
	block_backend_close(b);
	/* Refusals: an existing file (left as it was), sizes, a name too long. */
	uint64_t top_hash = file_hash(top);
	EXPECT_EQ(block_qcow2_create_overlay(top, size, t.raw, BLOCK_FORMAT_RAW, false, &e),
		  -EEXIST);
	EXPECT(strstr(e.msg, top) != NULL);
	EXPECT_EQ(file_hash(top), top_hash);
	unlink(top2);
	EXPECT_EQ(block_qcow2_create_overlay(top2, 1000, t.raw, BLOCK_FORMAT_RAW, false, &e),
		  -EINVAL);
	EXPECT_EQ(block_qcow2_create_overlay(top2, 1ull << 62, t.raw, BLOCK_FORMAT_RAW, false, &e),
		  -EINVAL);
	char longname[1100];
	memset(longname, 'a', sizeof longname - 1);
	longname[0] = '/';
	longname[sizeof longname - 1] = 0;
	EXPECT_EQ(block_qcow2_create_overlay(top2, size, longname, BLOCK_FORMAT_RAW, false, &e),
		  -ENAMETOOLONG);
	EXPECT_EQ(access(top2, F_OK), -1);   /* nothing left behind */
	free(base);
	free(got);
	tmp_fini(&t);
}

/*
 * Creating an empty qcow2 version 3 overlay on a backing image
 * (docs/interop/qcow2.txt), what `qemu-img create -f qcow2 -b BASE -F FMT`
 * makes, without starting a process: a fork freezes a disk and gives the
 * parent and each child an overlay of its own, and that is on the path the
 * guests wait on (vm_fork_disks.c).
 *
 * Layout, as qemu-img lays it out, 64 KiB clusters: cluster 0 the header,
 * the backing-format extension, the end of extensions and the backing
 * file's name; cluster 1 the refcount table (one entry); cluster 2 its one
 * refcount block (16-bit refcounts: 1 for each of the image's own
 * clusters); clusters 3.. the L1 table, all zero (every guest cluster reads
 * from the backing file).  The L1 clusters are a hole in the file.  So the
 * image has no leak and no error for `qemu-img check`, and the qcow2
 * backend (block_qcow2.c) allocates from cluster 3 + L1 on.
 *
 * The file is created O_EXCL (never over an existing one) and removed again
 * if any step fails.
 */
#include "lib/io.h"
#include "vmm/virtio/block.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLUSTER_BITS 16u
#define CLUSTER      (1u << CLUSTER_BITS)
#define L2_SPAN      ((uint64_t)CLUSTER << (CLUSTER_BITS - 3))   /* guest bytes per L1 entry */
#define HEADER_LEN   112u       /* v3 with the compression type byte, padded to 8 */
#define EXT_BACKING_FMT 0xe2792acau
#define MAX_BACKING_NAME 1023u  /* QEMU's limit, and block_qcow2.c's */
#define MAX_L1_CLUSTERS 512u    /* 32 MiB of L1: QEMU's and block_qcow2.c's limit */

static void put32(uint8_t *p, uint32_t v) { v = htobe32(v); memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { v = htobe64(v); memcpy(p, &v, 8); }

/* Writes the metadata into fd, a new empty file.  0 or -errno. */
static int write_image(int fd, uint64_t size, const char *backing, const char *fmt)
{
	uint64_t l1_size = (size + L2_SPAN - 1) / L2_SPAN;
	uint64_t l1_clusters = (l1_size * 8 + CLUSTER - 1) / CLUSTER;
	uint8_t *c = calloc(3, CLUSTER);
	if (!c)
		return -ENOMEM;
	uint8_t *h = c, *rt = c + CLUSTER, *rb = c + 2 * CLUSTER;
	size_t blen = strlen(backing), flen = strlen(fmt);
	size_t ext_at = HEADER_LEN, end_at = ext_at + 8 + ((flen + 7) & ~(size_t)7);
	size_t name_at = end_at + 8;

	put32(h + 0, 0x514649fbu);              /* "QFI\xfb" */
	put32(h + 4, 3);                        /* version */
	put64(h + 8, name_at);                  /* backing_file_offset */
	put32(h + 16, (uint32_t)blen);          /* backing_file_size */
	put32(h + 20, CLUSTER_BITS);
	put64(h + 24, size);
	put32(h + 36, (uint32_t)l1_size);
	put64(h + 40, 3ull * CLUSTER);          /* l1_table_offset */
	put64(h + 48, 1ull * CLUSTER);          /* refcount_table_offset */
	put32(h + 56, 1);                       /* refcount_table_clusters */
	put32(h + 96, 4);                       /* refcount_order: 16-bit refcounts */
	put32(h + 100, HEADER_LEN);             /* header_length; byte 104: zlib */
	put32(h + ext_at, EXT_BACKING_FMT);
	put32(h + ext_at + 4, (uint32_t)flen);
	memcpy(h + ext_at + 8, fmt, flen);      /* then the end-of-extensions entry: zeroes */
	memcpy(h + name_at, backing, blen);

	put64(rt, 2ull * CLUSTER);              /* the one refcount block */
	for (uint64_t i = 0; i < 3 + l1_clusters; i++) {
		rb[2 * i] = 0;
		rb[2 * i + 1] = 1;
	}
	struct iovec iov = { c, 3 * CLUSTER };
	int rc = io_pxferv(fd, 0, &iov, 1, true);
	free(c);
	if (!rc && ftruncate(fd, (off_t)((3 + l1_clusters) * CLUSTER)) < 0)
		rc = -errno;
	return rc;
}

/* fsync of the directory path is in: its new entry survives a crash. */
static int sync_parent(const char *path)
{
	char copy[PATH_MAX];
	snprintf(copy, sizeof copy, "%s", path);
	int d = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0)
		return -errno;
	int rc = fsync(d) < 0 ? -errno : 0;
	close(d);
	return rc;
}

int block_qcow2_create_overlay(const char *path, uint64_t size, const char *backing,
			       enum block_format backing_format, bool durable, struct err *err)
{
	const char *fmt = backing_format == BLOCK_FORMAT_QCOW2 ? "qcow2" : "raw";
	size_t blen = strlen(backing);
	if (size < 512 || size % 512 ||
	    (size + L2_SPAN - 1) / L2_SPAN * 8 > (uint64_t)MAX_L1_CLUSTERS * CLUSTER)
		return err_set(err, -EINVAL, "%s: a qcow2 overlay of %llu bytes: the size must be a "
			       "multiple of 512, at most %llu TiB", path, (unsigned long long)size,
			       (unsigned long long)((uint64_t)MAX_L1_CLUSTERS * CLUSTER / 8 *
						    L2_SPAN >> 40));
	if (!blen || blen > MAX_BACKING_NAME)
		return err_set(err, -ENAMETOOLONG, "%s: backing file name of %zu bytes (1 to %u)",
			       path, blen, MAX_BACKING_NAME);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return err_set(err, -errno, "%s: %s", path, strerror(errno));
	int rc = write_image(fd, size, backing, fmt);
	if (!rc && durable && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (!rc && durable)
		rc = sync_parent(path);
	if (rc) {
		unlink(path);
		return err_set(err, rc, "%s: writing a qcow2 overlay: %s", path, strerror(-rc));
	}
	return 0;
}

/*
 * Block backends: where a virtio-blk disk's bytes live.  The device model
 * (blk.c) speaks only this interface, so a raw file, a qcow2 image or a
 * network export plug in alike.
 *
 * Offsets and lengths are in bytes; the device only issues whole 512-byte
 * sectors inside [0, size).  The backends here also accept byte-granular
 * reads (a qcow2 overlay reads its backing file that way).  Every call is synchronous, transfers all or
 * fails, and returns 0 or -errno.  Calls come from the device's I/O thread;
 * a backend shared by several devices locks itself.
 */
#ifndef NIMBUS_VMM_VIRTIO_BLOCK_H
#define NIMBUS_VMM_VIRTIO_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "lib/err.h"
#include "vmm/log.h"

struct block_backend;

struct block_backend_ops {
	int (*readv)(struct block_backend *b, uint64_t off, const struct iovec *iov, int cnt);
	int (*writev)(struct block_backend *b, uint64_t off, const struct iovec *iov, int cnt);
	/* Makes every completed write durable. */
	int (*flush)(struct block_backend *b);
	/* Optional (NULL: the device does not offer the feature).  discard may
	 * drop the range's contents; write_zeroes makes it read back as zeroes,
	 * deallocating it if may_unmap. */
	int (*discard)(struct block_backend *b, uint64_t off, uint64_t len);
	int (*write_zeroes)(struct block_backend *b, uint64_t off, uint64_t len, bool may_unmap);
	void (*close)(struct block_backend *b);
	/* Optional: false only where [off, off+len) surely reads as zeroes
	 * (a hole in a sparse file), so copying a disk can skip it without
	 * reading.  NULL: it may hold data anywhere. */
	bool (*may_hold_data)(struct block_backend *b, uint64_t off, uint64_t len);
	/* Optional: fstat of the image file the guest's data lives in (an
	 * --ephemeral layer's base), so a snapshot records the disk's identity
	 * without a path lookup (which a sandboxed VMM may not make). */
	int (*image_stat)(struct block_backend *b, struct stat *st);
};

struct block_backend {
	const struct block_backend_ops *ops;
	uint64_t size;          /* bytes the guest sees */
	bool readonly;          /* writes, discards and write-zeroes are refused */
	const struct log_sink *log;   /* where problems are reported (log.h); NULL = stderr */
};

enum block_format { BLOCK_FORMAT_RAW, BLOCK_FORMAT_QCOW2 };

struct block_opts {
	bool readonly;
	enum block_format format;
	/* qcow2: refuse backing files outside the image's own directory (after
	 * resolving symlinks and ".."), for images from someone untrusted. */
	bool confine_backing;
};

/* Opens path in the given format.  0 or -errno with err naming the path. */
int block_backend_open(const char *path, const struct block_opts *o,
		       struct block_backend **out, struct err *err);

/* The raw format: the file (or block device) is the disk, byte for byte. */
int block_raw_open(const char *path, bool readonly, struct block_backend **out,
		   struct err *err);

/* A raw file as a qcow2 overlay's backing file: read-only, and its size
 * exactly the file's (any number of bytes, even none). */
int block_raw_open_backing(const char *path, struct block_backend **out, struct err *err);

/* The qcow2 format (block_qcow2.c): reads of v2/v3 images (backing files
 * raw or qcow2, compressed clusters), writes to v3 images without internal
 * snapshots.  Backing files are always opened read-only. */
int block_qcow2_open(const char *path, bool readonly, struct block_backend **out,
		     struct err *err);

struct block_qcow2_opts {
	bool readonly;
	/* Tests and fuzzing: a raw file that replaces every backing file the
	 * image names (the name and format are still parsed and checked), so a
	 * hostile image cannot make the backend open files of its choosing.
	 * NULL: the backing file the header names. */
	const char *backing_override;
	/* Every backing file in the chain must resolve (realpath) to a file
	 * inside the directory of the image at path. */
	bool confine_backing;
};

int block_qcow2_open_opts(const char *path, const struct block_qcow2_opts *o,
			  struct block_backend **out, struct err *err);

/*
 * A throwaway copy-on-write view of base (block_snapshot.c; QEMU's
 * -snapshot): base, which the caller opened read-only, is never written;
 * writes go to an unlinked temporary file and are gone at close.  Takes
 * base, also on failure.  Whole 512-byte sectors only.
 */
int block_snapshot_wrap(struct block_backend *base, bool readonly, struct block_backend **out,
			struct err *err);

/*
 * Creates path (never over an existing file) as an empty qcow2 v3 image of
 * size bytes (a multiple of 512) over backing, an absolute path in the
 * given format: every read goes to backing until written (qemu-img create
 * -f qcow2 -b BACKING -F FMT; block_qcow2_create.c).  durable: synced, its
 * directory entry too.  0, or -errno with err naming path (nothing left).
 */
int block_qcow2_create_overlay(const char *path, uint64_t size, const char *backing,
			       enum block_format backing_format, bool durable, struct err *err);

/* A disk of no sectors that offers discard and write-zeroes
 * (block_empty.c): an unfilled hot-plug slot. */
int block_empty_open(struct block_backend **out, struct err *err);
bool block_backend_is_empty(const struct block_backend *b);

/*
 * A qcow2 image from an open file (a volume a client passed to a
 * sandboxed VMM, which may open no path): takes fd, also on failure.  name
 * is for messages.  An image with a backing file is refused (its backing
 * would have to be opened by path).
 */
int block_qcow2_open_fd(int fd, const char *name, bool readonly, struct block_backend **out,
			struct err *err);

/* True if the first bytes of a file look like a qcow2 header (for a
 * "this raw disk is really qcow2" warning). */
bool block_qcow2_probe(const void *head, size_t len);

/*
 * Opens an image file without ever blocking: O_NONBLOCK (a FIFO would wait
 * for a writer, a tty or device might hang) until fstat shows a regular
 * file, or a block device where allow_blkdev, then the flag is cleared.  A
 * FIFO, socket, character device or directory is refused by name.  The fd,
 * or -errno with err naming path.
 */
int block_open_file(const char *path, bool readonly, bool allow_blkdev, struct err *err);

/*
 * Locks an image file against other nimbus processes for as long as fd is
 * open: a writer excludes everyone, readers exclude only writers.  -EBUSY if
 * it is in use; 0 also where the filesystem has no locks.
 */
int block_lock_fd(int fd, bool readonly);

/* Parses "raw" / "qcow2"; -EINVAL for anything else. */
int block_format_parse(const char *name, enum block_format *out);

static inline void block_backend_close(struct block_backend *b)
{
	if (b)
		b->ops->close(b);
}

#endif

/*
 * The empty block backend: a disk of no sectors, what an unfilled
 * hot-plug slot (vm run --disk-slots) holds until a volume is inserted
 * (virtio_blk_insert) and after it is ejected.
 *
 * virtio-mmio cannot announce a new device to a running guest (the guest
 * learns its devices from the device tree it booted with), so hot-plug
 * fills a device the guest already has: it boots seeing a disk of size 0,
 * and learns the real size from a configuration-change interrupt.  The
 * features a guest negotiates at boot stay for the device's life, so this
 * backend offers what a writable qcow2 volume does (discard and
 * write-zeroes): a request can only address [0, 0), which the device
 * answers itself, so none of these is ever called with data.
 */
#include "vmm/virtio/block.h"

#include <errno.h>
#include <stdlib.h>

static int empty_rw(struct block_backend *b, uint64_t off, const struct iovec *iov, int cnt)
{
	(void)b, (void)off, (void)iov, (void)cnt;
	return -EIO;
}

static int empty_flush(struct block_backend *b)
{
	(void)b;
	return 0;
}

static int empty_discard(struct block_backend *b, uint64_t off, uint64_t len)
{
	(void)b, (void)off;
	return len ? -EIO : 0;
}

static int empty_write_zeroes(struct block_backend *b, uint64_t off, uint64_t len, bool unmap)
{
	(void)unmap;
	return empty_discard(b, off, len);
}

static bool empty_may_hold_data(struct block_backend *b, uint64_t off, uint64_t len)
{
	(void)b, (void)off, (void)len;
	return false;
}

static void empty_close(struct block_backend *b)
{
	free(b);
}

static const struct block_backend_ops empty_ops = {
	.readv = empty_rw,
	.writev = empty_rw,
	.flush = empty_flush,
	.discard = empty_discard,
	.write_zeroes = empty_write_zeroes,
	.close = empty_close,
	.may_hold_data = empty_may_hold_data,
};

int block_empty_open(struct block_backend **out, struct err *err)
{
	struct block_backend *b = calloc(1, sizeof *b);
	if (!b)
		return err_set(err, -ENOMEM, "empty disk slot: out of memory");
	b->ops = &empty_ops;
	*out = b;
	return 0;
}

bool block_backend_is_empty(const struct block_backend *b)
{
	return b->ops == &empty_ops;
}

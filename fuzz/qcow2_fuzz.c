/*
 * libFuzzer target: a hostile qcow2 image.  Input: one control byte, then
 * the image file.  The image is opened read-only and read at a few places,
 * then opened writable (when the header allows it) and written (plain
 * writes, write-zeroes, discard), read and flushed.  An image naming a
 * backing file gets a small fixed raw file instead (the name and format are
 * still parsed), so copy-on-write runs but the input cannot make the
 * backend open files of its choosing.  The backend must refuse or answer
 * with an error, never touch memory it does not own or loop.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/virtio/block.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(struct block_backend *b, uint8_t ctl, uint8_t *buf, size_t buflen)
{
	uint64_t sectors = b->size / 512;
	for (unsigned i = 0; i < 4; i++) {
		uint64_t s = (sectors * ((ctl + 61u * i) & 0xff)) / 256;
		size_t len = ((ctl >> (i * 2)) & 3) * 4096 + 512;
		if (len > buflen)
			len = buflen;
		if ((s + len / 512) > sectors)
			continue;
		struct iovec v[2] = { { buf, len / 2 }, { buf + len / 2, len - len / 2 } };
		if (!b->readonly && (i & 1)) {
			memset(buf, (int)i + 1, len);
			b->ops->writev(b, s * 512, v, 2);
		} else if (!b->readonly && (ctl & (0x10 << (i & 2)))) {
			if (ctl & 1)
				b->ops->write_zeroes(b, s * 512, len * 4 < (sectors - s) * 512 ? len * 4 : len,
						     ctl & 2);
			else
				b->ops->discard(b, s * 512, len);
		}
		b->ops->readv(b, s * 512, v, 2);
	}
	b->ops->flush(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	int fd = memfd_create("img", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (write(fd, data + 1, size - 1) != (ssize_t)(size - 1))
		abort();
	static uint8_t buf[16384];   /* harness scratch, not project state */
	int bfd = memfd_create("backing", MFD_CLOEXEC);
	if (bfd < 0)
		abort();
	for (unsigned i = 0; i < 12; i++) {   /* 192 KiB with a recognisable pattern */
		memset(buf, 0x40 + (int)i, sizeof buf);
		if (write(bfd, buf, sizeof buf) != (ssize_t)sizeof buf)
			abort();
	}
	char path[64], backing[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	snprintf(backing, sizeof backing, "/proc/self/fd/%d", bfd);
	struct block_backend *b;
	struct err e;
	struct block_qcow2_opts o = { .readonly = true, .backing_override = backing };
	if (block_qcow2_open_opts(path, &o, &b, &e) == 0) {
		exercise(b, data[0], buf, sizeof buf);
		block_backend_close(b);
	}
	o.readonly = false;
	if (block_qcow2_open_opts(path, &o, &b, &e) == 0) {
		exercise(b, data[0], buf, sizeof buf);
		block_backend_close(b);
	}
	close(bfd);
	close(fd);
	return 0;
}

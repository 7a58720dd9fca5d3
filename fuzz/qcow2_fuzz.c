/*
 * libFuzzer target: a hostile qcow2 image.  Input: one control byte, then
 * the image file.  The image is opened read-only and read at a few places,
 * then opened writable (when the header allows it) and written, read and
 * flushed.  The backend must refuse or answer with an error, never touch
 * memory it does not own or loop.
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
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	static uint8_t buf[16384];   /* harness scratch, not project state */
	struct block_backend *b;
	struct err e;
	if (block_qcow2_open(path, true, &b, &e) == 0) {
		exercise(b, data[0], buf, sizeof buf);
		block_backend_close(b);
	}
	if (block_qcow2_open(path, false, &b, &e) == 0) {
		exercise(b, data[0], buf, sizeof buf);
		block_backend_close(b);
	}
	close(fd);
	return 0;
}

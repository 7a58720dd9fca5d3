/* Block backend selection by format. */
#include "vmm/virtio/block.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

int block_format_parse(const char *name, enum block_format *out)
{
	if (!strcmp(name, "raw"))
		*out = BLOCK_FORMAT_RAW;
	else if (!strcmp(name, "qcow2"))
		*out = BLOCK_FORMAT_QCOW2;
	else
		return -EINVAL;
	return 0;
}

int block_backend_open(const char *path, const struct block_opts *o,
		       struct block_backend **out, struct err *err)
{
	*out = NULL;
	switch (o->format) {
	case BLOCK_FORMAT_RAW:
		return block_raw_open(path, o->readonly, out, err);
	case BLOCK_FORMAT_QCOW2:
		return block_qcow2_open(path, o->readonly, out, err);
	}
	return err_set(err, -EINVAL, "%s: unknown image format", path);
}

/* Readers share-lock one byte far past any data, away from QEMU's lock bytes;
 * a writer write-locks the whole file, so it conflicts with every reader. */
#define READER_LOCK_BYTE (1ll << 62)

int block_lock_fd(int fd, bool readonly)
{
	struct flock fl = { .l_type = readonly ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET };
	if (readonly) {
		fl.l_start = READER_LOCK_BYTE;
		fl.l_len = 1;
	}
	if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	if (errno == EAGAIN || errno == EACCES)
		return -EBUSY;
	return 0;   /* no locks on this filesystem: carry on unprotected */
}

/* Block backend selection by format. */
#include "vmm/virtio/block.h"

#include <errno.h>
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

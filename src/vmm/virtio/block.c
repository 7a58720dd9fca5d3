/* Block backend selection by format. */
#include "vmm/virtio/block.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
	case BLOCK_FORMAT_QCOW2: {
		struct block_qcow2_opts qo = { .readonly = o->readonly,
					       .confine_backing = o->confine_backing };
		return block_qcow2_open_opts(path, &qo, out, err);
	}
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

static const char *file_kind(mode_t m)
{
	return S_ISDIR(m) ? "a directory" : S_ISFIFO(m) ? "a FIFO" : S_ISSOCK(m) ? "a socket" :
	       S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device" : "not a regular file";
}

int block_open_file(const char *path, bool readonly, bool allow_blkdev, struct err *err)
{
	/* stat first to name what it is (open fails on a socket with ENXIO);
	 * the fstat after the open is the check that counts. */
	struct stat st;
	if (stat(path, &st) < 0) {
		int e = errno;
		return err_set(err, -e, "%s: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode) && !(allow_blkdev && S_ISBLK(st.st_mode)))
		return err_set(err, S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL, "%s: is %s, not an image file",
			       path, file_kind(st.st_mode));
	int fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		return err_set(err, -e, "%s: %s%s", path, strerror(e),
			       e == EACCES || e == EROFS ? " (add ,ro for a read-only disk)" : "");
	}
	if (fstat(fd, &st) < 0 || (!S_ISREG(st.st_mode) && !(allow_blkdev && S_ISBLK(st.st_mode)))) {
		close(fd);
		return err_set(err, S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL, "%s: is %s, not an image file",
			       path, file_kind(st.st_mode));
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		int e = errno;
		close(fd);
		return err_set(err, -e, "%s: %s", path, strerror(e));
	}
	return fd;
}

/*
 * Whole transfers over file descriptors: the loops every caller of
 * preadv/pwritev needs (short transfers, EINTR), written once.
 */
#ifndef NIMBUS_LIB_IO_H
#define NIMBUS_LIB_IO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

/*
 * Reads (write = false) or writes the whole iovec array at file offset off,
 * going on after short transfers and EINTR.  The array is consumed: its
 * entries are advanced past what was transferred.  0, -errno, or -EIO if
 * the file ends first.
 */
int io_pxferv(int fd, uint64_t off, struct iovec *iov, int cnt, bool write);

#endif

/*
 * Whole transfers over file descriptors: the loops every caller of
 * preadv/pwritev needs (short transfers, EINTR), written once.
 */
#ifndef NIMBUS_LIB_IO_H
#define NIMBUS_LIB_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/*
 * Reads (write = false) or writes the whole iovec array at file offset off,
 * going on after short transfers and EINTR.  The array is consumed: its
 * entries are advanced past what was transferred.  0, -errno, or -EIO if
 * the file ends first.
 */
int io_pxferv(int fd, uint64_t off, struct iovec *iov, int cnt, bool write);

/* io_pxferv of one buffer: all len bytes at off.  0, -errno, or -EIO. */
int io_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);
int io_pread_all(int fd, void *buf, size_t len, uint64_t off);

/*
 * Sends all n bytes on a socket (MSG_NOSIGNAL), going on after short sends
 * and EINTR, and waiting (up to a second at a time) while a non-blocking
 * socket is full.  0, or -errno once the peer is gone.
 */
int io_send_all(int fd, const void *buf, size_t n);

/*
 * Sends the n bytes of buf with nfds (at most IO_FDS_MAX) descriptors
 * (SCM_RIGHTS) in one sendmsg: how a control request passes the files it
 * names.  0, or -errno (-EMSGSIZE for a short send: the request must go
 * whole with its descriptors).
 */
#define IO_FDS_MAX 8   /* a jailed snapshot's: memory, state and six disks */
int io_send_fds(int sock, const void *buf, size_t n, const int *fds, unsigned nfds);

#endif

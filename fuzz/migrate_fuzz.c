/*
 * libFuzzer target: the target side of live migration (vmm/vm_migrate_recv.h),
 * fed arbitrary bytes as the whole stream from a source: header, then frames
 * of pages, zero pages, hashes, disk sizes, disk data, zero ranges and the
 * state.  It reads them from a socket, as a real target does, into a small
 * RAM (64 pages) and one 1 MiB raw disk image; whatever the bytes, it must
 * refuse or accept without touching memory outside the RAM, its buffers or
 * the image.
 *
 * Input: byte 0 is the mode, the rest is the stream.  Mode bit 0 set: the
 * CRC of every frame is recomputed before the stream is sent (so mutations
 * reach the checks behind the CRC; a frame length past the end ends the walk);
 * clear: sent as is (the CRC check itself is fuzzed).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmm/snap_stream.h"
#include "vmm/vm_migrate_recv.h"
#include "vmm/vm_migrate_wire.h"

#define RAM_PAGES 64u
#define DISK_BYTES (1u << 20)

/* Rewrites each frame's CRC in stream s (header included) in place. */
static void fix_crcs(uint8_t *s, size_t n)
{
	size_t at = MIG_HEADER_BYTES;
	while (at + 5 <= n) {
		uint32_t len = mig_get32(s + at + 1);
		if (len > n - at - 5 || n - at - 5 - len < 4)
			return;
		uint32_t crc = snap_crc32(snap_crc32(0, s + at, 5), s + at + 5, len);
		mig_put32(s + at + 5 + len, crc);
		at += 5 + (size_t)len + 4;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t n = size - 1;
	uint8_t *stream = malloc(n ? n : 1);
	memcpy(stream, data + 1, n);
	if (data[0] & 1)
		fix_crcs(stream, n);

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	int big = 8 << 20;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
	/* As much as the socket takes without blocking; then end of stream. */
	for (size_t at = 0; at < n;) {
		ssize_t w = send(sv[0], stream + at, n - at, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w <= 0)
			break;
		at += (size_t)w;
	}
	shutdown(sv[0], SHUT_WR);

	char disk[] = "/tmp/nimbus-migrate-fuzz-XXXXXX";
	int dfd = mkstemp(disk);
	if (dfd < 0 || ftruncate(dfd, DISK_BYTES) < 0)
		abort();
	close(dfd);
	struct vm_config cfg = { .mem_size = RAM_PAGES * MIG_PAGE, .ncpus = 1, .ndisks = 1 };
	cfg.disks[0] = (struct vm_disk){ .path = disk, .format = "raw" };

	uint8_t *ram = calloc(RAM_PAGES, MIG_PAGE);
	struct vm_incoming in = { 0 };
	struct err e = { 0 };
	if (vm_migrate_read_stream(sv[1], "fuzz", RAM_PAGES * MIG_PAGE, ram, &cfg, &in, &e) == 0 &&
	    (!in.state || !in.state_len))
		abort();   /* accepted without a state */
	if (in.ram && !in.ram_is_vms)
		abort();   /* it was given RAM to fill */
	free(in.state);
	free(ram);
	unlink(disk);
	close(sv[0]);
	close(sv[1]);
	free(stream);
	return 0;
}

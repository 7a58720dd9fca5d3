/*
 * The live-migration stream's wire format (docs/migration.md), shared by
 * the source (vm_migrate.c) and the target's parser (vm_migrate_recv.c):
 * its constants, little-endian fields, whole transfers on a socket, one
 * CRC-checked frame, and the page hash of `migrate --verify`.
 *
 * The stream: a MIG_HEADER_BYTES header ("NIMBMIGR", u32 version, u32
 * arch, u64 ram_size), then frames: u8 type, u32 payload length, payload,
 * u32 CRC-32 of type, length and payload.  Frame types are listed in
 * vm_migrate_recv.h.
 */
#ifndef NIMBUS_VMM_VM_MIGRATE_WIRE_H
#define NIMBUS_VMM_VM_MIGRATE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "vmm/bus.h"
#include "vmm/virtio/block_dirty.h"

#define MIG_MAGIC "NIMBMIGR"
#define MIG_VERSION 1u
#define MIG_HEADER_BYTES 24u
#define MIG_PAGE (1u << BUS_PAGE_SHIFT)
#define MIG_REC (8u + MIG_PAGE)             /* 'P': u64 page number, the page */
#define MIG_PAGES_PER_FRAME 64u
#define MIG_STATE_MAX (64u << 20)           /* 'S': the state file */
#define MIG_DISK_HDR 12u                    /* 'D' and 'E': u32 disk, u64 offset */
#define MIG_DISK_FRAME_MAX (MIG_DISK_HDR + BLOCK_DIRTY_CHUNK)

void mig_put32(uint8_t *b, uint32_t v);
void mig_put64(uint8_t *b, uint64_t v);
uint32_t mig_get32(const uint8_t *b);
uint64_t mig_get64(const uint8_t *b);

/* Whole transfers, going on after short ones and EINTR: 0 or -errno
 * (-ECONNRESET: the peer closed; -ETIMEDOUT: the socket's timeout). */
int mig_send_all(int fd, const void *buf, size_t len);
int mig_recv_all(int fd, void *buf, size_t len);

/* One frame: header, payload, CRC. */
int mig_send_frame(int fd, uint8_t type, const void *payload, uint32_t len);

/* Pages batched into 'P' frames (their bytes) and 'Z' frames (page
 * numbers of zero pages), MIG_PAGES_PER_FRAME at a time; info's counters
 * grow as they go. */
struct vm_migrate_info;
struct mig_sender {
	int fd;
	const uint8_t *ram;
	uint8_t *buf;                  /* MIG_PAGES_PER_FRAME records; the caller's */
	unsigned n;
	uint8_t zero[MIG_PAGES_PER_FRAME * 8];
	unsigned nz;
	struct vm_migrate_info *info;
};
bool mig_page_is_zero(const uint8_t *p);
/* Queues page pfn (as a zero page if zero); sends a frame once one is full. */
int mig_sender_page(struct mig_sender *s, uint64_t pfn, bool zero);
int mig_sender_flush(struct mig_sender *s);

/* The target's answer: 'K', or 'F' with a one-line reason (u16 length). */
int mig_send_answer(int fd, int rc, const char *msg);
/* After an 'F': its reason into err; -EREMOTEIO. */
int mig_read_refusal(int fd, struct err *err);

/* A page's hash for --verify (not cryptographic), and the zero page's. */
uint64_t mig_page_hash(const uint8_t *p);
uint64_t mig_zero_page_hash(void);

#endif
